"""Security and deployment settings: config values, dependency floors, and no unsafe patterns in the code."""

from __future__ import annotations

import re
from pathlib import Path

import tomllib

from dashboard.core import images

ROOT = Path(__file__).resolve().parents[2]
CONFIG = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
SOURCES = [p for folder in ("dashboard", "pages") for p in (ROOT / folder).rglob("*.py")] + [ROOT / "streamlit_app.py"]


def test_server_settings_suit_a_public_link():
    assert CONFIG["server"]["enableXsrfProtection"] is True
    assert CONFIG["server"]["maxUploadSize"] <= 5
    assert CONFIG["server"]["maxUploadSize"] == images.MAX_UPLOAD_MB  # the app's own check matches the server's
    assert CONFIG["server"]["fileWatcherType"] == "none"  # the watcher crashes on torch.classes
    assert CONFIG["client"]["toolbarMode"] == "viewer"
    assert CONFIG["client"]["showErrorDetails"] in ("none", "type", False)
    assert CONFIG["browser"]["gatherUsageStats"] is False


def floor(requirement_file: str, package: str) -> tuple[int, ...]:
    text = (ROOT / requirement_file).read_text()
    match = re.search(rf"^{package}>=([0-9.]+)", text, re.MULTILINE)
    assert match, f"{package} has no lower bound in {requirement_file}"
    return tuple(int(part) for part in match.group(1).split("."))


def test_dependency_floors_are_above_known_cves():
    assert floor("requirements.txt", "streamlit") >= (1, 54)
    assert floor("requirements.txt", "torch") >= (2, 10)
    assert re.search(r"^streamlit-drawable-canvas==\d", (ROOT / "requirements.txt").read_text(), re.MULTILINE)


def test_nothing_is_unpickled_and_no_raw_html_is_injected():
    offenders = []
    for path in SOURCES:
        text = path.read_text()
        for pattern in (r"torch\.load\(", r"\bpickle\.loads?\(", r"\bjoblib\.load\(", r"unsafe_allow_html\s*=\s*True",
                        r"\bst\.html\(", r"weights_only\s*=\s*False"):
            if re.search(pattern, text):
                offenders.append(f"{path.relative_to(ROOT)}: {pattern}")
    assert not offenders, offenders


def requirement_names(requirement_file: str) -> set[str]:
    names = set()
    for line in (ROOT / requirement_file).read_text().splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-"):
            names.add(re.split(r"[<>=!~\[; ]", line, maxsplit=1)[0].lower())
    return names


def test_every_dependency_is_pinned_at_the_version_the_suite_passed_on():
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"constraints.txt: {line!r} is not an exact pin"
            pins[name.lower()] = version
    unpinned = (requirement_names("requirements.txt") | requirement_names("requirements-dev.txt")) - set(pins)
    assert not unpinned, f"not pinned in constraints.txt: {sorted(unpinned)}"
    readme = (ROOT / "README.md").read_text()
    for tag in ("# run command", "# test command"):
        command = readme.split(tag, 1)[1].splitlines()[1]
        assert "-c constraints.txt" in command, f"the README's {tag[2:]} does not install the tested versions"


def exact_pins(requirement_file: str) -> dict[str, str]:
    pins = {}
    for line in (ROOT / requirement_file).read_text().splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-"):
            name, _, version = line.partition("==")
            assert version, f"{requirement_file}: {line!r} is not an exact pin"
            pins[name.lower()] = version
    return pins


def test_the_cpu_only_deploy_pins_what_the_suite_passed_on_with_torch_cpu_and_no_torchvision():
    cloud, tested = exact_pins("requirements-cloud.txt"), exact_pins("constraints.txt")
    missing = requirement_names("requirements.txt") - {"torchvision"} - set(cloud)
    assert not missing, f"requirements-cloud.txt lacks {sorted(missing)}"
    assert "torchvision" not in cloud  # only the online downloads need it, and PyPI's build fails beside torch+cpu
    assert cloud["torch"].endswith("+cpu")
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in (ROOT / "requirements-cloud.txt").read_text()
    differ = {name: (version, tested[name]) for name, version in cloud.items()
              if name != "torch" and name in tested and tested[name] != version}
    assert not differ, f"requirements-cloud.txt and constraints.txt disagree: {differ}"


def test_the_settings_files_name_only_files_and_commands_that_exist():
    """A comment that points at a moved file or module sends its reader nowhere."""
    missing = []
    for name in (".streamlit/config.toml", "Dockerfile", ".dockerignore", "requirements-cloud.txt",
                 "requirements-dev.txt", "pyproject.toml"):
        text = (ROOT / name).read_text()
        for path in re.findall(r"\b((?:dashboard|deploy|pages|tests|bench|assets)/[\w./-]*\w)", text):
            if not (ROOT / path).exists():
                missing.append(f"{name} names {path}")
        for module in re.findall(r"python -m ((?:dashboard|bench|deploy|tests)\b[\w.]*)", text):
            where = ROOT / module.replace(".", "/")
            if not (where.with_suffix(".py").exists() or (where / "__init__.py").exists()):
                missing.append(f"{name} runs python -m {module}")
    assert not missing, missing
