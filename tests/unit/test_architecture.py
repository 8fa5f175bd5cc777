"""The layout's rules, checked on the source: layers import downwards only, no cycles, small modules, no internals."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "dashboard"
MAX_LINES = 450
# Where each layer sits; a module may import from its own layer and the layers listed after its own.
LAYERS = ["app", "lesson", "viz", "use cases", "core"]
TEST_ONLY = {"pytest", "playwright", "websocket", "psutil", "hypothesis"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def runtime_modules() -> dict[str, Path]:
    """Every module of the app's package."""
    return {module_name(p): p for p in PACKAGE.rglob("*.py")}


def imports_of(path: Path) -> set[str]:
    """Absolute names of every module a file imports, at any depth of the file (lazy imports count too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module_name(path).split(".")
                anchor = anchor if path.name == "__init__.py" else anchor[:-1]
                base = ".".join(anchor[: len(anchor) - node.level + 1] + ([base] if base else []))
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return found


def layer_of(name: str) -> str:
    parts = name.split(".")
    if len(parts) < 2:
        return "core"  # the package's own __init__ only re-exports core faces
    return parts[1] if parts[1] in ("app", "lesson", "viz", "core") else "use cases"


def internal_graph() -> dict[str, set[str]]:
    modules = runtime_modules()
    return {name: {imp for imp in imports_of(path) if imp in modules and imp != name}
            for name, path in modules.items()}


def test_layers_import_downwards_only():
    wrong = []
    for name, targets in internal_graph().items():
        for target in targets:
            if LAYERS.index(layer_of(target)) < LAYERS.index(layer_of(name)):
                wrong.append(f"{name} ({layer_of(name)}) imports {target} ({layer_of(target)})")
    assert not wrong, "\n".join(sorted(wrong))


def test_the_import_graph_has_no_cycle():
    graph = internal_graph()
    state: dict[str, int] = {}  # 1: on the current path, 2: finished

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                cycle = path[path.index(target):] + [target] if target in path else [node, target]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if target not in state:
                visit(target, path + [target])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])


def test_only_the_app_layer_imports_streamlit_and_nothing_imports_its_internals():
    offenders = []
    for name, path in runtime_modules().items():
        imported = imports_of(path)
        if any(i == "streamlit" or i.startswith("streamlit.") for i in imported) and layer_of(name) != "app":
            offenders.append(f"{name} imports streamlit")
    for path in [*PACKAGE.rglob("*.py"), *(ROOT / "pages").glob("*.py"), ROOT / "streamlit_app.py"]:
        if "streamlit.runtime" in path.read_text():
            offenders.append(f"{path.relative_to(ROOT)} uses streamlit.runtime")
    assert not offenders, offenders


def test_nothing_in_the_package_needs_a_test_tool():
    offenders = [f"{module_name(path)} imports {imp}" for path in PACKAGE.rglob("*.py")
                 for imp in imports_of(path) if imp.split(".")[0] in TEST_ONLY]
    assert not offenders, offenders


def test_the_package_never_imports_the_tests_or_the_benchmark():
    """The shipped package stands alone: the tests and the benchmark drive it, never the other way round."""
    offenders = [f"{module_name(path)} imports {imp}" for path in PACKAGE.rglob("*.py")
                 for imp in imports_of(path) if imp.split(".")[0] in ("tests", "bench")]
    assert not offenders, offenders


def test_runtime_modules_stay_readable_in_one_sitting():
    long = {name: n for name, path in runtime_modules().items()
            if (n := len(path.read_text().splitlines())) > MAX_LINES}
    assert not long, long


def test_pages_are_ui_only():
    """Pages hold words, widgets and calls into dashboard: no torch, and the frame check comes first."""
    for page in (ROOT / "pages").glob("*.py"):
        imported = imports_of(page)
        assert not any(i.split(".")[0] == "torch" for i in imported), f"{page.name} imports torch"
        text = page.read_text()
        assert "ui.require_entry_point()" in text or "ui.page_header(" in text, f"{page.name} does not check its frame"


def test_every_module_opens_with_a_one_line_docstring():
    for path in [*PACKAGE.rglob("*.py"), *(ROOT / "pages").glob("*.py"), *(ROOT / "tests").rglob("*.py"),
                 *(ROOT / "bench").rglob("*.py")]:
        docstring = ast.get_docstring(ast.parse(path.read_text()), clean=False)
        assert docstring, f"{path.relative_to(ROOT)} has no docstring"
        assert docstring.splitlines()[0].strip(), f"{path.relative_to(ROOT)}: the docstring's first line is empty"
