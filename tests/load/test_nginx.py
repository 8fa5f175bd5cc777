"""Several Streamlit processes behind nginx (deploy/serve.py): sticky sessions, websockets, media, clean shutdown."""

from __future__ import annotations

import http.cookies
import os
import shutil
import signal
import socket
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from deploy import serve
from tests.harness import journeys
from tests.harness.loadclient import XSRF_COOKIE, SessionClient

pytestmark = pytest.mark.load

NGINX = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.path.exists(p)), None)
if NGINX is None:
    pytest.skip("nginx is not installed (Debian: apt-get install -y nginx); the multi-process tests are skipped",
                allow_module_level=True)

BACKEND_HEADER = "X-Latent-Lab-Backend"
ROUTE_COOKIE = "latentlab_route"
DATASET = "digits"  # small and offline: the first Overview run on each process stays short
MAX_CLIENTS = 12  # sessions opened to find two on different processes; all on one would take 2 ** -11 luck
REPEATS = 8  # requests of one session that must all reach one process; without stickiness, 2 ** -7 luck


def get(url: str, cookie: str | None = None) -> tuple[int, dict[str, list[str]], bytes]:
    """GET a loopback URL, optionally with a Cookie header; (status, headers by lower-case name, body)."""
    assert urllib.parse.urlsplit(url).hostname == "127.0.0.1"
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, raw, body = response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        status, raw, body = exc.code, exc.headers, exc.read()
    headers: dict[str, list[str]] = {}
    for name, value in raw.items():
        headers.setdefault(name.lower(), []).append(value)
    return status, headers, body


def set_cookies(headers: dict[str, list[str]]) -> dict[str, str]:
    jar = http.cookies.SimpleCookie()
    for header in headers.get("set-cookie", []):
        jar.load(header)
    return {name: morsel.value for name, morsel in jar.items()}


def session_cookie(client: SessionClient) -> str:
    """The only cookie the protocol client sends (on its websocket and uploads): the XSRF cookie."""
    return f"{XSRF_COOKIE}={client.xsrf_token}"


def media_urls(client: SessionClient) -> list[str]:
    """Paths of the images the session shows from its process's media store."""
    return [image.url for kind, proto in client.elements(main_only=True) if kind == "imgs"
            for image in proto.imgs if image.url.startswith("/media/")]


@pytest.fixture(scope="module")
def cluster():
    with serve.launched(processes=2) as (ready, process):
        yield ready, process


def test_two_sessions_land_on_different_processes_and_keep_their_own_state(cluster):
    ready, _ = cluster
    base, backends = ready["url"], ready["backends"]
    clients: dict[str, SessionClient] = {}  # backend nginx routes to -> one session there
    opened = []
    try:
        for _ in range(MAX_CLIENTS):
            client = SessionClient(base).open()
            opened.append(client)
            routed = {get(f"{base}/_stcore/health", session_cookie(client))[1][BACKEND_HEADER.lower()][0]
                      for _ in range(REPEATS)}
            assert len(routed) == 1, f"one session's requests went to {routed}: nginx is not sticky"
            clients.setdefault(f"http://{routed.pop()}", client)
            if len(clients) == 2:
                break
        assert len(clients) == 2, f"{len(opened)} sessions all went to {list(clients)}: nginx does not balance"
        (home_a, a), (home_b, b) = sorted(clients.items())
        for index, client in enumerate((a, b)):
            result = client.visit(journeys.OVERVIEW, {"dataset": DATASET})
            assert not result.exceptions, result.exceptions
            result = client.set_widget("overview_image", journeys.FIRST_IMAGE + index)
            assert not result.exceptions, result.exceptions
        shown_a, shown_b = journeys.overview_signature(a), journeys.overview_signature(b)
        assert shown_a != shown_b, "two different images gave the same Overview"

        # A rerun on each process still shows that session's image: the state lives with the websocket.
        a.rerun()
        b.rerun()
        assert journeys.overview_signature(a) == shown_a
        assert journeys.overview_signature(b) == shown_b
        assert a.query_params().get("dataset") == b.query_params().get("dataset") == DATASET

        # Where each session really lives, asked of the processes directly: its images are there and only there.
        for client, home in ((a, home_a), (b, home_b)):
            urls = media_urls(client)
            assert urls, "the Overview showed no image from the media store"
            for backend in backends:
                status, _, _ = get(f"{backend}{urls[0]}")
                assert status == (200 if backend == home else 404), (backend, home, urls[0], status)

        # An upload (a PUT with the XSRF header) reaches the process that holds the session.
        for key, value in journeys.UPLOAD_TAB:
            a.set_widget(key, value)
        result = a.upload(journeys.UPLOAD_KEY, "mine.png", journeys.upload_png(3))
        assert not result.exceptions, result.exceptions
        assert any("your image" in text for text in journeys.overview_signature(a))
    finally:
        for client in opened:
            client.close()


def test_media_follows_the_session_cookie_through_nginx(cluster):
    ready, _ = cluster
    base, backends = ready["url"], ready["backends"]
    with SessionClient(base) as mine:
        mine.visit(journeys.OVERVIEW, {"dataset": DATASET})
        urls = media_urls(mine)
        assert urls
        answers = [get(f"{base}{urls[0]}", session_cookie(mine)) for _ in range(REPEATS)]
        assert [status for status, _, _ in answers] == [200] * REPEATS, [status for status, _, _ in answers]
        _, headers, body = answers[0]
        assert headers["content-type"][0].startswith("image/png") and body.startswith(b"\x89PNG")
        home = f"http://{headers[BACKEND_HEADER.lower()][0]}"
        assert home in backends
        assert get(f"{home}{urls[0]}")[2] == body  # the very bytes the session's own process serves
        # The same image asked for by a browser keyed to the other process is not found there: the 200 above was
        # stickiness, not luck.
        for _ in range(MAX_CLIENTS):
            with SessionClient(base) as other:
                status, headers, _ = get(f"{base}{urls[0]}", session_cookie(other))
                if headers[BACKEND_HEADER.lower()][0] != home.removeprefix("http://"):
                    assert status == 404, status
                    break
        else:
            pytest.fail(f"{MAX_CLIENTS} other sessions all went to {home}")


def test_a_browser_keeps_its_process_although_the_xsrf_cookie_changes(cluster):
    """A browser gets nginx's route cookie on its first response and is keyed by it from then on.

    Streamlit re-sends the XSRF cookie on every health check (the frontend's first request of every connection
    and reconnection) with a new random mask, so a key made of that cookie alone would move a reconnecting browser.
    """
    ready, _ = cluster
    base = ready["url"]
    status, headers, _ = get(f"{base}/")
    assert status == 200
    route = set_cookies(headers).get(ROUTE_COOKIE)
    assert route, f"no {ROUTE_COOKIE} cookie on the first response: {headers.get('set-cookie')}"
    home = headers[BACKEND_HEADER.lower()][0]
    jar = {ROUTE_COOKIE: route}
    xsrf_values = set()
    for path in ("/_stcore/health", "/_stcore/health", "/_stcore/host-config", "/_stcore/health", "/"):
        status, headers, _ = get(f"{base}{path}", "; ".join(f"{k}={v}" for k, v in jar.items()))
        assert status == 200, (path, status)
        assert headers[BACKEND_HEADER.lower()][0] == home, f"{path} went to another process"
        fresh = set_cookies(headers)
        assert ROUTE_COOKIE not in fresh, "the route cookie is set again although the browser sent it"
        if XSRF_COOKIE in fresh:
            xsrf_values.add(fresh[XSRF_COOKIE])
        jar.update(fresh)
    assert len(xsrf_values) >= 2, "Streamlit no longer re-masks the XSRF cookie; the route cookie may be moot"

    # New browsers are spread over both processes.
    homes = {get(f"{base}/_stcore/health")[1][BACKEND_HEADER.lower()][0] for _ in range(16)}
    assert len(homes) == 2, homes


def _alive(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _refuses(url: str) -> bool:
    parts = urllib.parse.urlsplit(url)
    with socket.socket() as sock:
        sock.settimeout(2)
        return sock.connect_ex((parts.hostname, parts.port)) != 0


def test_sigterm_stops_every_process_and_frees_every_port():
    import psutil

    with serve.launched(processes=2) as (ready, process):
        tree = [process.pid] + [child.pid for child in psutil.Process(process.pid).children(recursive=True)]
        assert set(ready["pids"]) <= set(tree)
        assert len(tree) >= 5, tree  # the launcher, two Streamlit processes, nginx's master and its worker
        assert get(f"{ready['url']}/_stcore/health")[0] == 200
    assert process.returncode == 0, process.returncode
    deadline = time.monotonic() + 5
    while any(_alive(pid) for pid in tree) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in tree if _alive(pid)], "processes left running after SIGTERM"
    assert all(_refuses(url) for url in [ready["url"], *ready["backends"]])


def test_a_crashed_process_stops_the_whole_launcher():
    """A half-working cluster sends some viewers to a dead process: the launcher exits, a supervisor restarts it."""
    import psutil

    with serve.launched(processes=2) as (ready, process):
        tree = [child.pid for child in psutil.Process(process.pid).children(recursive=True)]
        os.kill(ready["pids"][0], signal.SIGKILL)
        process.wait(timeout=serve.STOP_TIMEOUT_S + 10)
        assert process.returncode == 1, process.returncode
    deadline = time.monotonic() + 5
    while any(_alive(pid) for pid in tree) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in tree if _alive(pid)], "processes left running after one crashed"
