"""Load journeys: many concurrent protocol-level sessions on a real server, checked for errors and leaks."""

from __future__ import annotations

import io
import re
import subprocess
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace

from dashboard.app import navigation
from dashboard.core import data
from dashboard.lesson import quiz
from tests.harness.loadclient import ClientConfig, LoadClientError, RunResult, SessionClient, element_texts

SECTION = "load: sessions"
DATASETS = ("mnist-5k", "digits")  # sessions alternate, so both image sizes run side by side
FIRST_IMAGE = 10  # session i picks test image FIRST_IMAGE + i: distinct per session, valid for both datasets
QUIZ_SEED_BASE = 100  # session i opens the quiz with seed QUIZ_SEED_BASE + i
TRAIN_EPOCHS = 1  # the one session that trains its own model keeps it cheap
OVERVIEW_SIGNATURE_KINDS = ("metric", "imgs")  # what the Overview shows for one picked image
UPLOAD_TAB = (("overview_source", "Your own"), ("overview_own_source", "Upload"))  # Overview widgets to the uploader
UPLOAD_KEY = "overview_own_upload"
WARM_UP_TIMEOUT_S = 300.0  # a page's first run fits baselines and detectors once per server; it may be slow
MEMORY_VISITS = 200  # short sessions between the two RSS readings
FIRST_VISITORS = 4  # sessions that reach a fresh server at the same instant


@dataclass(frozen=True)
class LoadPlan:
    """What a load run does."""

    sessions: int = 20  # concurrent sessions, one thread each
    datasets: tuple[str, ...] = DATASETS  # session i uses datasets[i % len(datasets)]
    pages: tuple[str, ...] = tuple(spec.url_path for spec in navigation.PAGES)  # url paths visited, menu order
    train: bool = True  # one digits session trains a 1-epoch model on the Models page; the others must not see it
    time_limit_s: float = 480.0  # the whole run fails after this, whatever is still going
    client: ClientConfig = field(default_factory=ClientConfig)  # per-session bounds


@dataclass
class SessionReport:
    """What one session saw: its runs, and every way it saw something that was not its own or went wrong."""

    index: int
    dataset: str
    image: int
    runs: list[RunResult] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    trained: str | None = None  # name of the model this session trained, if it was the trainer


@dataclass
class LoadReport:
    sessions: list[SessionReport]
    seconds: float
    references: dict[tuple[str, str, int], tuple[str, ...]]  # (what, dataset, session) -> a lone session's Overview

    @property
    def problems(self) -> list[str]:
        return [f"session {s.index} ({s.dataset}): {p}" for s in self.sessions for p in s.problems]

    def latencies(self, cause: str, pages: tuple[str, ...] = ()) -> list[float]:
        """Seconds per run for one cause ("widget", "visit" or "rerun"), optionally only on some pages."""
        return [r.seconds for s in self.sessions for r in s.runs if r.cause == cause and (not pages or r.page in pages)]


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) by linear interpolation; nan for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def public_path(spec: navigation.PageSpec) -> str:
    """The address a visitor opens: st.navigation serves the default page at the root, not at /<url_path>."""
    return "" if spec.url_path == navigation.DEFAULT_PAGE else spec.url_path


OVERVIEW = public_path(navigation.by_key("overview"))


def _specs(plan: LoadPlan) -> list[navigation.PageSpec]:
    return [spec for spec in navigation.PAGES if spec.url_path in plan.pages]


def session_dataset(index: int, datasets: tuple[str, ...] = DATASETS) -> str:
    return datasets[index % len(datasets)]


def overview_signature(client: SessionClient) -> tuple[str, ...]:
    """The numbers and captions the Overview shows for the picked image: equal inputs must give equal output."""
    return tuple(text for kind, proto in client.elements(main_only=True) if kind in OVERVIEW_SIGNATURE_KINDS
                 for text in element_texts(kind, proto))


def upload_png(index: int) -> bytes:
    """A 28x28 digit-like PNG that differs for every session index (a stroke whose place and length vary)."""
    from PIL import Image, ImageDraw

    image = Image.new("L", (28, 28), 0)
    draw = ImageDraw.Draw(image)
    column, top = 7 + index % 14, 4 + (index // 14) % 8
    draw.rectangle([column, top, column + 2, 23], fill=255)
    draw.line([column - 4, top + 2, column, top], fill=255, width=2)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _check(report: SessionReport, client: SessionClient, result: RunResult, what: str) -> None:
    report.runs.append(result)
    for error in result.exceptions:
        report.problems.append(f"{what}: exception element: {error[:300]}")
    if result.not_found:
        report.problems.append(f"{what}: the server answered 'page not found' for /{result.page}")
    seen = client.query_params().get("dataset")
    if result.kind == "full" and seen != report.dataset:
        report.problems.append(f"{what}: the URL says dataset={seen}, this session chose {report.dataset}")
    caption = data.DESCRIPTIONS[report.dataset]
    if result.kind == "full" and caption not in client.texts():
        report.problems.append(f"{what}: the sidebar does not describe {report.dataset}")


OWN_MODEL = re.compile(r"[a-z]+-\d+ #\d+ \(yours\)")  # how ui.model_names shows a session's own model


def _own_models(client: SessionClient) -> set[str]:
    """Every name of a session-trained model the page shows, in text or in a picker."""
    names = {match for text in client.texts() for match in OWN_MODEL.findall(text)}
    return names | {option for widget in client.widgets().values() for option in widget.options
                    if OWN_MODEL.fullmatch(option)}


def _metric_number(client: SessionClient, label: str) -> int | None:
    """The first whole number in the value of the metric with this label ("1 right" -> 1; "–" -> 0)."""
    for kind, proto in client.elements(main_only=True):
        if kind == "metric" and proto.label == label:
            found = re.search(r"\d+", proto.body)
            return int(found.group()) if found else 0
    return None


def _answer_first_question(report: SessionReport, client: SessionClient) -> None:
    """Answer the first quiz question, right in even sessions and wrong in odd ones, and check the score."""
    seed = client.query_params().get("seed")
    if seed != str(QUIZ_SEED_BASE + report.index):
        report.problems.append(f"quiz: the URL says seed={seed}, this session's link asked for "
                               f"{QUIZ_SEED_BASE + report.index}")
    radios = [w for key, w in client.widgets().items() if w.kind == "radio" and re.fullmatch(r"quiz_\d+_.+", key)]
    if not radios:
        report.problems.append("quiz: no question to answer")
        return
    question_id = radios[0].key.split("_", 2)[2]
    question = {q.id: q for q in quiz.load()}[question_id]
    wrong = [c for c in question.choices if c != question.correct_choice]
    right = report.index % 2 == 0
    result = client.set_widget(radios[0].key, question.correct_choice if right else wrong[0])
    _check(report, client, result, "quiz answer")
    score, answered = _metric_number(client, "Score"), _metric_number(client, "Answered")
    if (score, answered) != (int(right), 1):
        report.problems.append(f"quiz: after one {'right' if right else 'wrong'} answer the page shows score "
                               f"{score}, answered {answered}")


def _train_own_model(report: SessionReport, client: SessionClient) -> None:
    client.stage("models_epochs", TRAIN_EPOCHS)
    result = client.submit_form("models_train_form", timeout_s=max(client.config.run_timeout_s, 240))
    _check(report, client, result, "train")
    own = _own_models(client)
    if len(own) != 1:
        report.problems.append(f"train: after training one model the Models page shows {sorted(own) or 'none'}")
    report.trained = min(own) if own else None


def _check_overview(report: SessionReport, client: SessionClient, what: str, expected: tuple[str, ...] | None,
                    marker: str) -> None:
    shown = overview_signature(client)
    if not any(marker in text for text in shown):
        report.problems.append(f"{what}: the Overview shows {shown}, nothing with '{marker}'")
    elif expected is not None and shown != expected:
        report.problems.append(f"{what}: the Overview shows {shown}; a lone session saw {expected}")


def journey(base: str, index: int, plan: LoadPlan, references: dict[tuple[str, str, int], tuple[str, ...]],
            trained: threading.Event, trainer: int | None, deadline: float) -> SessionReport:
    """One visitor: every page, its own dataset, test image, upload, quiz seed and answer; checks at each step.

    The trainer trains a model on the Models page; every other session reaches the Models page only after that,
    and must not see it.
    """
    dataset = session_dataset(index, plan.datasets)
    report = SessionReport(index, dataset, FIRST_IMAGE + index)
    try:
        with SessionClient(base, plan.client) as client:
            if client.xsrf_token is None:
                report.problems.append("the server issued no XSRF cookie: XSRF protection is off")
            _check(report, client, client.visit(OVERVIEW, {"dataset": dataset}), "overview")
            _check(report, client, client.set_widget("overview_image", report.image), "overview image")
            _check_overview(report, client, f"image {report.image}", references.get(("image", dataset, index)),
                            "x: input")
            for key, value in UPLOAD_TAB:
                _check(report, client, client.set_widget(key, value), f"overview {key}")
            _check(report, client, client.upload(UPLOAD_KEY, f"session-{index}.png", upload_png(index)),
                   "overview upload")
            _check_overview(report, client, "own upload", references.get(("upload", dataset, index)), "your image")
            if index == 0:
                refused = client.put_file(client.request_upload_url("no-token.png", 30).upload_url, "no-token.png",
                                          upload_png(index), "image/png", send_token=False)
                if refused != 403:
                    report.problems.append(f"an upload without the XSRF header got HTTP {refused}, not 403")
            for spec in _specs(plan):
                if time.monotonic() > deadline:
                    report.problems.append("ran out of time before visiting every page")
                    break
                if spec.url_path == "overview":
                    continue  # visited first
                if spec.url_path == "models" and trainer is not None and index != trainer:
                    trained.wait(timeout=max(0.0, deadline - time.monotonic()))
                query = {"dataset": dataset, "seed": QUIZ_SEED_BASE + index} if spec.url_path == "quiz" else None
                _check(report, client, client.visit(public_path(spec), query), spec.url_path)
                if spec.url_path == "quiz":
                    _answer_first_question(report, client)
                if spec.url_path == "models" and index == trainer:
                    _train_own_model(report, client)
                    trained.set()
                elif spec.url_path == "models" and _own_models(client):
                    report.problems.append(f"sees another session's trained model: {sorted(_own_models(client))}")
    except (LoadClientError, KeyError, ValueError) as exc:
        report.problems.append(f"{type(exc).__name__}: {exc}")
    finally:
        if index == trainer:
            trained.set()  # never leave the other sessions waiting for a trainer that failed
    return report


def reference_signatures(base: str, plan: LoadPlan, time_limit_s: float = 300.0,
                         ) -> dict[tuple[str, str, int], tuple[str, ...]]:
    """One lone session per dataset (side by side): what the Overview shows for every image the sessions will pick.

    They also warm the server's caches on every page (the slow first runs get WARM_UP_TIMEOUT_S each), so the
    load phase measures a warm server. A lone session that already fails stops the load run with its errors.
    """
    config = replace(plan.client, run_timeout_s=max(plan.client.run_timeout_s, WARM_UP_TIMEOUT_S))

    def warm(dataset: str) -> dict[tuple[str, str, int], tuple[str, ...]]:
        found = {}
        mine = [index for index in range(plan.sessions) if session_dataset(index, plan.datasets) == dataset]
        with SessionClient(base, config) as client:
            client.visit(OVERVIEW, {"dataset": dataset})
            for index in mine:
                client.set_widget("overview_image", FIRST_IMAGE + index)
                found[("image", dataset, index)] = overview_signature(client)
            for key, value in UPLOAD_TAB:
                client.set_widget(key, value)
            for index in mine:
                client.upload(UPLOAD_KEY, f"session-{index}.png", upload_png(index))
                found[("upload", dataset, index)] = overview_signature(client)
            for spec in _specs(plan):
                client.visit(public_path(spec))
            if client.exceptions or client.not_found:
                raise LoadClientError(f"a lone {dataset} session already fails: {client.exceptions[:3]}, "
                                      f"pages not found: {client.not_found}")
        return found

    with SessionClient(base, config) as first:  # a fresh server's very first run, alone (it reruns itself once)
        first.visit(OVERVIEW, {"dataset": plan.datasets[0]})
    pool = ThreadPoolExecutor(max_workers=len(plan.datasets), thread_name_prefix="load-warm")
    futures = [pool.submit(warm, dataset) for dataset in plan.datasets]
    done, not_done = wait(futures, timeout=time_limit_s)
    pool.shutdown(wait=False, cancel_futures=True)  # a stuck session ends when the server stops
    if not_done:
        raise LoadClientError(f"warming up every page took longer than {time_limit_s:.0f} s")
    return {key: value for future in futures for key, value in future.result().items()}


class ServerLog:
    """Reads the server's output as it comes (a full pipe would block the server) and keeps the last lines."""

    def __init__(self, process: subprocess.Popen, keep_lines: int = 400) -> None:
        self.lines: deque[str] = deque(maxlen=keep_lines)
        self._thread = threading.Thread(target=self._drain, args=(process,), daemon=True, name="load-server-log")
        self._thread.start()

    def _drain(self, process: subprocess.Popen) -> None:
        if process.stdout is None:
            return
        for raw in iter(process.stdout.readline, b""):
            self.lines.append(raw.decode(errors="replace").rstrip())

    def tail(self, lines: int = 60) -> str:
        return "\n".join(list(self.lines)[-lines:])


def run_load(base: str, plan: LoadPlan, references: dict[tuple[str, str, int], tuple[str, ...]]) -> LoadReport:
    """Every session's journey at once, one thread each; sessions still going at the time limit are failures."""
    deadline = time.monotonic() + plan.time_limit_s
    trained = threading.Event()
    # A digits trainer: its model is quick to train, and half the sessions share its dataset, where a leak would show.
    trainer = next((i for i in range(plan.sessions) if session_dataset(i, plan.datasets) == "digits"),
                   None) if plan.train else None
    start = time.perf_counter()
    pool = ThreadPoolExecutor(max_workers=plan.sessions, thread_name_prefix="load-session")
    futures = [pool.submit(journey, base, i, plan, references, trained, trainer, deadline)
               for i in range(plan.sessions)]
    done, not_done = wait(futures, timeout=max(1.0, deadline - time.monotonic()))
    pool.shutdown(wait=False, cancel_futures=True)
    reports = [f.result() for f in futures if f in done]
    for i, future in enumerate(futures):
        if future in not_done:
            reports.append(SessionReport(i, session_dataset(i, plan.datasets), FIRST_IMAGE + i,
                                         problems=[f"still running after {plan.time_limit_s:.0f} s"]))
    return LoadReport(sorted(reports, key=lambda r: r.index), time.perf_counter() - start, references)


def first_visitors(base: str, sessions: int, client: ClientConfig, path: str = OVERVIEW) -> list[str]:
    """A fresh server whose first visitors all arrive at once (a woken-up cloud app): what each one saw go wrong."""
    config = replace(client, run_timeout_s=max(client.run_timeout_s, WARM_UP_TIMEOUT_S))
    clients = [SessionClient(base, config).open() for _ in range(sessions)]
    start_together = threading.Barrier(sessions, timeout=config.connect_timeout_s)
    problems: list[str] = []

    def arrive(i: int) -> None:
        try:
            start_together.wait()
            result = clients[i].visit(path, {"dataset": session_dataset(i)})
            problems.extend(f"first visitor {i}: {error[:300]}" for error in result.exceptions)
            if not clients[i].widgets():
                problems.append(f"first visitor {i}: the page drew no widgets")
        except (LoadClientError, threading.BrokenBarrierError) as exc:
            problems.append(f"first visitor {i}: {type(exc).__name__}: {exc}")
        finally:
            clients[i].close()

    threads = [threading.Thread(target=arrive, args=(i,), name=f"load-first-{i}") for i in range(sessions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=config.run_timeout_s + config.connect_timeout_s)
    return problems


def visits_for_memory(base: str, visits: int, concurrency: int, plan: LoadPlan) -> list[str]:
    """`visits` short sessions, `concurrency` at a time: open, Overview with an image, one more page, close."""
    pages = [public_path(spec) for spec in _specs(plan) if public_path(spec) != OVERVIEW] or [OVERVIEW]
    problems: list[str] = []

    def visit(i: int) -> None:
        try:
            with SessionClient(base, plan.client) as session:
                session.visit(OVERVIEW, {"dataset": session_dataset(i, plan.datasets)})
                session.set_widget("overview_image", i % 300)
                session.visit(pages[i % len(pages)])
                problems.extend(f"visit {i}: {e[:200]}" for e in session.exceptions + session.not_found)
        except (LoadClientError, KeyError, ValueError) as exc:
            problems.append(f"visit {i}: {type(exc).__name__}: {exc}")

    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="load-visit") as pool:
        list(pool.map(visit, range(visits)))
    return problems


def summary_lines(report: LoadReport) -> list[str]:
    """The run in a few lines: latency percentiles overall, then the median page visit per page."""
    widget, pages = report.latencies("widget"), report.latencies("visit")
    per_page = ", ".join(f"/{spec_path or ''} {1000 * percentile(report.latencies('visit', (spec_path,)), 50):.0f}"
                         for spec_path in dict.fromkeys(r.page for s in report.sessions for r in s.runs
                                                        if r.cause == "visit"))
    return [f"{len(report.sessions)} sessions in {report.seconds:.1f} s, {sum(len(s.runs) for s in report.sessions)} "
            f"runs, {len(report.problems)} problems",
            f"rerun after moving a control: n={len(widget)} p50={1000 * percentile(widget, 50):.0f} ms "
            f"p95={1000 * percentile(widget, 95):.0f} ms",
            f"page visit: n={len(pages)} p50={1000 * percentile(pages, 50):.0f} ms "
            f"p95={1000 * percentile(pages, 95):.0f} ms",
            f"median page visit by page (ms): {per_page}"]


def report_warm_up(started: float, report: LoadReport) -> float:
    return time.perf_counter() - started - report.seconds


def server_ttl() -> int:
    from streamlit import config

    return int(config.get_option("server.disconnectedSessionTTL"))
