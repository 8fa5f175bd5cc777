"""The benchmark: each module here adds rows (quality against a baseline, speed) to one markdown table."""

from __future__ import annotations

import importlib
import pkgutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

SectionFn = Callable[[bool], list["Row"]]
_SECTIONS: dict[str, tuple[int, SectionFn]] = {}


@dataclass
class Row:
    """One measured number, the target it is held to (if any) and whether it met it."""

    section: str
    metric: str
    value: float | str
    unit: str = ""
    target: str = ""
    ok: bool | None = None  # None: no target, just reported
    note: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


def section(name: str, order: int = 50) -> Callable[[SectionFn], SectionFn]:
    """Register a function fn(quick) -> rows under a section name; lower order runs first."""
    def register(fn: SectionFn) -> SectionFn:
        _SECTIONS[name] = (order, fn)
        return fn
    return register


def discover() -> dict[str, tuple[int, SectionFn]]:
    """Import every module of this package so that its @section functions register themselves."""
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):
            continue
        try:
            importlib.import_module(f"{__name__}.{info.name}")
        except ImportError as exc:  # e.g. the load client needs requirements-dev; the other sections still run
            missing = str(exc)
            _SECTIONS[info.name] = (99, lambda quick, name=info.name, why=missing: [
                Row(name, "section skipped", "not measured", note=f"missing dependency: {why}")])
    return dict(sorted(_SECTIONS.items(), key=lambda item: item[1][0]))


def run(quick: bool = False, only: list[str] | None = None) -> list[Row]:
    rows: list[Row] = []
    for name, (_, fn) in discover().items():
        if only and name not in only:
            continue
        start = time.perf_counter()
        try:
            rows.extend(fn(quick))
        except Exception as exc:  # one broken section must not hide the others' numbers
            rows.append(Row(name, "section failed", f"{type(exc).__name__}: {exc}", ok=False))
        print(f"[bench] {name}: {time.perf_counter() - start:.1f} s", flush=True)
    return rows


def to_markdown(rows: list[Row]) -> str:
    lines = ["| section | metric | value | target | met | note |", "|---|---|---:|---|:---:|---|"]
    for r in rows:
        value = f"{r.value:.4g}" if isinstance(r.value, float) else str(r.value)
        met = {True: "yes", False: "**no**", None: ""}[r.ok]
        lines.append(f"| {r.section} | {r.metric} | {value} {r.unit} | {r.target} | {met} | {r.note} |")
    return "\n".join(lines)
