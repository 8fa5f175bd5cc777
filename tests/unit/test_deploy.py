"""The Dockerfile and the nginx launcher's config: what they reference exists and agrees (docker cannot build here)."""

from __future__ import annotations

import fnmatch
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from deploy import serve

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of every Dockerfile line, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


def arguments(name: str) -> list[str]:
    return [rest for word, rest in instructions() if word == name]


def env() -> dict[str, str]:
    return dict(re.findall(r"(\w+)=(\S+)", " ".join(arguments("ENV"))))


def ignored(path: str) -> bool:
    patterns = [p.strip() for p in (ROOT / ".dockerignore").read_text().splitlines()
                if p.strip() and not p.startswith("#")]
    return any(fnmatch.fnmatch(path.rstrip("/"), p.removeprefix("**/")) for p in patterns)


def test_every_copied_file_exists_and_is_not_ignored():
    copies = arguments("COPY")
    assert copies, "the Dockerfile copies nothing"
    for rest in copies:
        *sources, _target = rest.split()
        for source in sources:
            assert (ROOT / source).exists(), f"COPY {source}: no such file in the repository"
            assert not ignored(source), f"COPY {source}: .dockerignore leaves it out of the build context"


def test_the_image_copies_what_the_app_needs_to_start():
    copied = {source.rstrip("/") for rest in arguments("COPY") for source in rest.split()[:-1]}
    needed = {"streamlit_app.py", "pages", "dashboard", "models", "assets", ".streamlit", "deploy",
              "requirements-cloud.txt"}
    assert needed <= copied, f"not copied: {sorted(needed - copied)}"
    assert not copied & {"tests", "bench", "."}, "the image ships the tests or the benchmark"
    assert ignored("tests") and ignored("bench")


def test_cpu_only_torch_from_the_pinned_cloud_requirements():
    assert arguments("FROM") == ["python:3.11-slim"]
    assert any("pip install" in rest and "-r requirements-cloud.txt" in rest for rest in arguments("RUN"))
    assert any("apt-get install" in rest and "nginx" in rest for rest in arguments("RUN"))
    requirements = (ROOT / "requirements-cloud.txt").read_text()
    assert "https://download.pytorch.org/whl/cpu" in requirements
    assert re.search(r"^torch==2\.13\.0\+cpu$", requirements, re.M), "torch is not pinned to its 2.13.0 CPU build"
    assert not re.search(r"^torchvision", requirements, re.M)


def test_the_entry_point_is_the_launcher_and_the_ports_agree():
    assert arguments("ENTRYPOINT") == ['["python", "deploy/serve.py"]']
    assert (ROOT / "deploy" / "serve.py").is_file()
    assert arguments("EXPOSE") == [str(serve.DEFAULT_PORT)]
    settings = env()
    assert settings["LATENT_LAB_PORT"] == str(serve.DEFAULT_PORT)
    assert settings["LATENT_LAB_PROCESSES"] == str(serve.DEFAULT_PROCESSES) == "2"
    assert settings["LATENT_LAB_LISTEN"] == "0.0.0.0"  # a container's published port arrives on its own interface
    assert "USER" in dict(instructions()), "the image runs as root"


def test_the_rendered_config_has_every_backend_on_loopback(tmp_path):
    config = serve.render_config(tmp_path, "127.0.0.1", 8600, [9001, 9002, 9003])
    servers = re.findall(r"^\s*server (\S+) max_fails=0;", config, re.M)
    assert servers == ["127.0.0.1:9001", "127.0.0.1:9002", "127.0.0.1:9003"]
    assert "listen 127.0.0.1:8600;" in config
    assert "hash $route_key consistent;" in config
    assert "proxy_http_version 1.1;" in config and "proxy_set_header Upgrade $http_upgrade;" in config
    assert str(tmp_path / "nginx.pid") in config and "/var/" not in config and "/run/" not in config


def test_nginx_accepts_the_rendered_config(tmp_path):
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if nginx is None:
        pytest.skip("nginx is not installed (Debian: apt-get install -y nginx)")
    config = tmp_path / "nginx.conf"
    config.write_text(serve.render_config(tmp_path, "127.0.0.1", 8600, [9001, 9002]))
    checked = subprocess.run([nginx, "-t", "-p", str(tmp_path), "-e", str(tmp_path / "error.log"), "-c", str(config)],
                             capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stderr
