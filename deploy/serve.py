"""Serve Latent Lab from N `streamlit run` processes behind nginx, with sticky sessions: python deploy/serve.py."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = Path(__file__).with_name("nginx.conf.template")
DEFAULT_PORT = 8501  # the port Streamlit itself uses, so links and docs stay the same behind nginx
DEFAULT_PROCESSES = 2
READY_TIMEOUT_S = 120.0  # each process imports torch and the app's packages before it answers
STOP_TIMEOUT_S = 10.0
READY_FILE = "ready.json"  # written to the work dir once nginx answers


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def render_config(prefix: Path, listen: str, port: int, backend_ports: list[int]) -> str:
    """The nginx configuration: the template with this run's temp dir, public address and backends filled in."""
    servers = "\n".join(f"        server 127.0.0.1:{p} max_fails=0;" for p in backend_ports)
    return TEMPLATE.read_text().format(prefix=prefix, listen=listen, port=port, upstream_servers=servers)


def wait_healthy(url: str, process: subprocess.Popen, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the process exited with code {process.returncode} before it answered")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass  # not listening yet
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} did not answer within {timeout_s:.0f} s")
        time.sleep(0.2)


class Stop(Exception):
    """SIGTERM or SIGINT arrived: stop everything."""


def _raise_stop(signum: int, _frame: object) -> None:
    raise Stop(signal.Signals(signum).name)


def stop_all(processes: list[subprocess.Popen]) -> None:
    """Terminate every child, then kill the ones that do not end in time; nothing is left running."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    deadline = time.monotonic() + STOP_TIMEOUT_S
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def serve(processes: int, port: int, listen: str, nginx: str, python: str, workdir: Path | None = None) -> int:
    """Start the app processes and nginx, then wait; returns an exit code once a signal or a dead child ends it."""
    if processes < 1:
        raise ValueError("need at least one Streamlit process")
    prefix = Path(workdir or tempfile.mkdtemp(prefix="latent-lab-serve-"))
    prefix.mkdir(parents=True, exist_ok=True)
    # When root runs this, nginx's workers drop to "nobody" and must reach the temp dirs that nginx creates here.
    prefix.chmod(0o755)
    # One cookie secret for all processes: a signed cookie (st.login) must verify on whichever process gets it.
    env = {**os.environ, "STREAMLIT_SERVER_COOKIE_SECRET":
           os.environ.get("STREAMLIT_SERVER_COOKIE_SECRET") or secrets.token_hex(32)}
    backend_ports: list[int] = []
    while len(backend_ports) < processes:  # the OS may hand a just-released port out twice
        candidate = free_port()
        if candidate != port and candidate not in backend_ports:
            backend_ports.append(candidate)
    children: list[subprocess.Popen] = []
    previous = {s: signal.signal(s, _raise_stop) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        for i, backend in enumerate(backend_ports):
            # Logs go to files: a pipe nobody reads fills up and stalls the server.
            with open(prefix / f"streamlit-{i}.log", "wb") as log:
                children.append(subprocess.Popen(
                    [python, "-m", "streamlit", "run", str(ROOT / "streamlit_app.py"), "--server.port", str(backend),
                     "--server.address", "127.0.0.1", "--server.headless", "true",
                     "--browser.gatherUsageStats", "false"],
                    cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
        for backend, child in zip(backend_ports, children):
            wait_healthy(f"http://127.0.0.1:{backend}", child, READY_TIMEOUT_S)
        config = prefix / "nginx.conf"
        config.write_text(render_config(prefix, listen, port, backend_ports))
        # -e: nginx opens its error log before it reads the config; the default path is root-only.
        children.append(subprocess.Popen([nginx, "-p", str(prefix), "-e", str(prefix / "error.log"),
                                          "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT))
        wait_healthy(f"http://{'127.0.0.1' if listen in ('0.0.0.0', '') else listen}:{port}", children[-1], 30)
        # What is running where, for scripts that start this launcher (tests, benchmark) and for people debugging.
        (prefix / READY_FILE).write_text(json.dumps({
            "url": f"http://{listen}:{port}", "backends": [f"http://127.0.0.1:{p}" for p in backend_ports],
            "pids": [child.pid for child in children]}))
        plural = "es" if processes != 1 else ""
        print(f"Latent Lab: http://{listen}:{port} -> {processes} Streamlit process{plural} on 127.0.0.1:"
              f"{', '.join(map(str, backend_ports))}; logs in {prefix}", flush=True)
        while True:
            for i, child in enumerate(children):
                if child.poll() is not None:
                    name = "nginx" if i == len(children) - 1 else f"streamlit process {i}"
                    print(f"{name} exited with code {child.returncode}; stopping (logs in {prefix})", flush=True)
                    return 1
            time.sleep(0.5)
    except Stop:
        return 0
    except (RuntimeError, TimeoutError) as exc:
        print(f"could not start: {exc}; logs in {prefix}", file=sys.stderr, flush=True)
        return 1
    finally:
        for sig in previous:
            signal.signal(sig, signal.SIG_IGN)  # a second Ctrl+C must not interrupt the shutdown halfway
        stop_all(children)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def launched(processes: int = DEFAULT_PROCESSES, port: int | None = None, timeout_s: float = 2 * READY_TIMEOUT_S,
             python: str | None = None) -> Iterator[tuple[dict, subprocess.Popen]]:
    """Run this launcher as a child process on loopback; yield (its ready.json, the process), stop it on exit.

    Stopping is what a container runtime does: SIGTERM, then a bounded wait.
    """
    workdir = Path(tempfile.mkdtemp(prefix="latent-lab-serve-"))
    command = [python or sys.executable, str(Path(__file__).resolve()), "--processes", str(processes),
               "--port", str(port or free_port()), "--listen", "127.0.0.1", "--workdir", str(workdir)]
    if python:
        command += ["--python", python]
    with open(workdir / "serve.log", "wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout_s
        while not (workdir / READY_FILE).exists():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the launcher did not come up (exit code {process.poll()}):\n"
                                   f"{(workdir / 'serve.log').read_text(errors='replace')[-2000:]}")
            time.sleep(0.2)
        yield json.loads((workdir / READY_FILE).read_text()), process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT_S + 10)
        except subprocess.TimeoutExpired:
            process.kill()  # the launcher itself hung; its children are then the caller's to find
            process.wait()
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--processes", type=int, default=int(os.environ.get("LATENT_LAB_PROCESSES", DEFAULT_PROCESSES)),
                        help="Streamlit processes to run (env LATENT_LAB_PROCESSES; default %(default)s)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("LATENT_LAB_PORT", DEFAULT_PORT)),
                        help="the port nginx listens on (env LATENT_LAB_PORT; default %(default)s)")
    parser.add_argument("--listen", default=os.environ.get("LATENT_LAB_LISTEN", "127.0.0.1"),
                        help="the address nginx listens on (env LATENT_LAB_LISTEN; 0.0.0.0 in Docker; "
                             "default %(default)s)")
    parser.add_argument("--nginx", default=shutil.which("nginx") or "/usr/sbin/nginx", help="the nginx binary")
    parser.add_argument("--python", default=sys.executable, help="the interpreter that runs streamlit")
    parser.add_argument("--workdir", type=Path, help="where config, pid and logs go (default: a new temp dir)")
    args = parser.parse_args()
    if not Path(args.nginx).exists():
        sys.exit(f"nginx not found at {args.nginx} (Debian: apt-get install -y nginx)")
    sys.exit(serve(args.processes, args.port, args.listen, args.nginx, args.python, args.workdir))


if __name__ == "__main__":
    main()
