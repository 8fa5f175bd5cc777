"""What a visitor feels: each page's main controls clicked in headless Chromium, timed to the finished page."""

from __future__ import annotations

import re
import statistics
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from dashboard.core import pagemap
from tests.harness import server

# Counts the runs that finished (the app's script state going back to notRunning), so a click's own run is seen
# even when it starts and ends between two polls; then waits two frames, so charts have painted.
WATCH_RUNS = """() => {
    if (window.__runsDone !== undefined) return;
    window.__runsDone = 0;
    const app = document.querySelector('[data-testid=stApp]');
    new MutationObserver(() => {
        if (app.getAttribute('data-test-script-state') === 'notRunning') window.__runsDone += 1;
    }).observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
}"""
PAINTED = "() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(() => done(true))))"
# st.image sends a URL over the websocket and the browser fetches the PNG over HTTP: a click's cost counts both.
IMAGES_LOADED = "() => [...document.images].every(img => img.complete)"
MEDIA_PATH = "/media/"
CPU_GOAL_MS = 60.0  # median server CPU per control change, on every page
HEAVY_KB = 100.0  # a click that sends more than this is worth a look


@dataclass(frozen=True)
class Control:
    """One control on one page, and how a visitor changes it (round i of the measurement)."""

    page: str  # the page's address ("" for the Overview)
    name: str
    act: Callable  # (playwright page, round index) -> None


@dataclass
class Cost:
    """What one click (or first visit) cost the server: its CPU time, and what it sent to the browser."""

    cpu_s: float  # user + system seconds of the server process, all threads (not child processes)
    ws_bytes: int = 0  # websocket payloads (ForwardMsg protobufs; Streamlit leaves websocket compression off)
    media_bytes: int = 0  # image files fetched over HTTP because of this click
    by_kind: Counter = field(default_factory=Counter)  # bytes per element kind; "image file" for the HTTP fetches
    largest: tuple[str, int] = ("", 0)  # the largest single message: its label and bytes
    # Elements the server rebuilt, serialised and hashed, then sent as a reference because the browser already had
    # the same bytes: no traffic, but the CPU was spent. Keyed by the element's kind.
    by_reference: Counter = field(default_factory=Counter)

    @property
    def sent_bytes(self) -> int:
        return self.ws_bytes + self.media_bytes


def _label(message) -> tuple[str, str]:
    """(kind, label) of one ForwardMsg: the element's type for a delta, e.g. ("plotly_chart", "plotly_chart[key]")."""
    kind = message.WhichOneof("type") or "empty"
    if kind != "delta":
        return kind, kind
    delta = message.delta
    if delta.WhichOneof("type") != "new_element":
        return "block", delta.WhichOneof("type") or "block"
    element = delta.new_element
    kind = element.WhichOneof("type") or "element"
    element_id = getattr(getattr(element, kind), "id", "") if kind else ""
    user_key = element_id.split("-", 2)[2] if element_id.startswith("$$ID-") and element_id.count("-") >= 2 else ""
    return kind, f"{kind}[{user_key}]" if user_key and user_key != "None" else kind


class Traffic:
    """Everything the server sends to one browser tab: websocket frames (decoded in order) and media responses."""

    def __init__(self, page) -> None:
        self.frames: list[bytes | str] = []
        self.media: list = []
        self._decoded: list[tuple[str, str, int]] = []  # (kind, label, bytes) per frame, ref_hash resolved
        self._kind_of_hash: dict[str, tuple[str, int]] = {}  # what the browser has cached, and its size
        page.on("websocket", self._socket)
        page.on("response", self._response)

    # Playwright wraps handlers by setting an attribute on them, so they must be Python functions, not builtins.
    def _socket(self, socket) -> None:
        socket.on("framereceived", self._frame)

    def _frame(self, payload: bytes | str) -> None:
        self.frames.append(payload)

    def _response(self, response) -> None:
        if urlsplit(response.url).path.startswith(MEDIA_PATH):  # not /static/media/: the fonts, fetched once
            self.media.append(response)

    def mark(self) -> tuple[int, int]:
        return len(self.frames), len(self.media)

    def _decode(self) -> None:
        # Decoding waits until the click is timed, and runs in arrival order: a ref_hash points at an earlier frame.
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        for payload in self.frames[len(self._decoded):]:
            if isinstance(payload, str):
                self._decoded.append(("text", "text", len(payload.encode())))
                continue
            message = ForwardMsg()
            try:
                message.ParseFromString(payload)
            except Exception:  # noqa: BLE001 - an unreadable frame still counts its bytes
                self._decoded.append(("undecoded", "undecoded", len(payload)))
                continue
            kind, label = _label(message)
            if kind == "ref_hash":
                kind, size = self._kind_of_hash.get(message.ref_hash, ("unknown", 0))
                self._decoded.append((f"{kind} (reference)", label, -size))  # negative: bytes it stands for
                continue
            if message.hash:
                self._kind_of_hash[message.hash] = (kind, len(payload))
            self._decoded.append((kind, label, len(payload)))

    def cost_since(self, start: tuple[int, int], cpu_s: float) -> Cost:
        self._decode()
        frames_end, media_end = self.mark()
        cost = Cost(cpu_s)
        for (kind, label, size), payload in zip(self._decoded[start[0]:frames_end], self.frames[start[0]:frames_end]):
            if size < 0:
                cost.by_reference[kind.removesuffix(" (reference)")] += -size
                size = len(payload)
                kind = "reference"
            cost.ws_bytes += size
            cost.by_kind[kind] += size
            if size > cost.largest[1]:
                cost.largest = (label, size)
        for response in self.media[start[1]:media_end]:
            length = response.headers.get("content-length")
            size = int(length) if length is not None else len(response.body())
            cost.media_bytes += size
            cost.by_kind["image file"] += size
            if size > cost.largest[1]:
                cost.largest = ("image file", size)
        return cost


def _button(label: str) -> Callable:
    return lambda page, i: page.get_by_role("button", name=label).first.click()


def _buttons(*labels: str) -> Callable:
    """Click the labels in turn (Next, Back, ...), so a stepper stays in range."""
    return lambda page, i: page.get_by_role("button", name=labels[i % len(labels)]).first.click()


def _slider(label: str, steps: str = "RL") -> Callable:
    """Move a slider one step with the keyboard, cycling through steps (R right, L left) so it stays in range.

    "R" alone drags one way, as a visitor does: every value is new, so the browser's message cache cannot stand in
    for a figure it already has, which alternating between two values lets it do.
    """
    def act(page, i):
        thumb = page.locator("[data-testid=stSlider]").filter(has_text=label).locator("[tabindex='0']").first
        key = "ArrowRight" if steps[i % len(steps)] == "R" else "ArrowLeft"
        # At the end of its range a key press changes nothing and starts no run: turn back instead.
        now, low, high = thumb.input_value(), thumb.get_attribute("min"), thumb.get_attribute("max")
        step = float(thumb.get_attribute("step") or 0)
        if now and low and high and abs(float(now) - float(high if key == "ArrowRight" else low)) < step / 2:
            key = "ArrowLeft" if key == "ArrowRight" else "ArrowRight"
        thumb.press(key)
    return act


def _number(label: str, values: tuple[int, ...]) -> Callable:
    def act(page, i):
        box = page.get_by_label(label).first
        value = str(values[i % len(values)])
        if box.input_value() == value:  # another control (a 🎲) may have landed on it: a same value runs nothing
            value = str(values[(i + 1) % len(values)])
        box.fill(value)
        box.press("Enter")
    return act


def _choice(label: str, options: tuple[str, ...]) -> Callable:
    """Pick a segmented-control or radio option by its text (or a pattern for counted labels), cycling."""
    def act(page, i):
        option = options[i % len(options)]
        text = re.compile(option[1:]) if option.startswith("~") else option
        page.get_by_text(text, exact=True).first.click()
    return act


def _selectbox(label: str, options: tuple[str, ...]) -> Callable:
    def act(page, i):
        box = page.locator("[data-testid=stSelectbox]").filter(has_text=label).first
        box.evaluate("el => el.scrollIntoView({block: 'center'})")  # at the screen's edge its list fails to open
        box.click()
        page.get_by_role("option", name=options[i % len(options)], exact=True).click()
    return act


CONTROLS = [
    Control("", "🎲 Random image", _button("🎲 Random image")),
    Control("", "test image number", _number("Test image #", (5, 6))),
    Control("", "model", _selectbox("Model", ("ae-8", "ae-16"))),
    Control("compression", "code size k", _slider("Code size k")),
    Control("compression", "🎲 Shuffle", _button("🎲 Shuffle")),
    Control("denoising", "noise level", _slider("Noise level")),
    Control("denoising", "🎲 New", _button("🎲 New")),
    Control("anomaly", "score", _choice("Anomaly score", ("Pixels", "Both"))),
    Control("features", "labels per class", _slider("Labelled images per class")),
    Control("features", "code size k", _slider("Code size k")),
    Control("sampling", "code size k", _slider("Code size k")),
    Control("sampling", "🎲 New samples", _button("🎲 New samples")),
    Control("latent-space", "3D view z1", _slider("z1", "R")),
    Control("latent-space", "direction 1", _slider("Direction 1", "R")),
    Control("latent-space", "code size view", _choice("Code size", ("3 numbers", "2 numbers"))),
    Control("vae", "β", _slider("β, the weight of the KL term")),
    Control("vae", "push along a direction", _slider("Push (within-class standard deviations)")),
    Control("regularised", "training noise σ", _slider("Training noise σ")),
    Control("discrete-codes", "✏️ set a cell", _buttons("✏️ Set the cell", "↩️ Reset")),
    Control("discrete-codes", "🎲 New samples", _button("🎲 New samples")),
    Control("latent-diffusion", "sampling steps", _slider("Sampling steps")),
    Control("latent-diffusion", "🎲 New noise", _button("🎲 New noise")),
    Control("interpretability", "mostly about", _selectbox("Mostly about", ("3", "7"))),
    Control("interpretability", "steer: set it to", _slider("Set it to", "R")),
    Control("models", "model card", _selectbox("Model card", ("ae-8", "ae-16"))),
    Control("quiz", "questions round", _choice("Questions", (r"~All \d+ questions", r"~Short round · \d+"))),
    Control("tour", "next / back", _buttons("Next →", "← Back")),
]


def _settled_cost(page, process, traffic: Traffic, start: tuple[int, int], cpu_before: float,
                  timeout_ms: float) -> Cost:
    """After the timing stops: let the images the run asked for arrive, then read what the server spent and sent."""
    try:
        page.wait_for_function(IMAGES_LOADED, timeout=min(timeout_ms, 10_000), polling=100)
    except Exception:  # noqa: BLE001 - a broken image must not lose the click's numbers
        pass
    return traffic.cost_since(start, server.cpu_seconds(process) - cpu_before)


def _finished_run(page, act: Callable, i: int, timeout_ms: float, process=None,
                  traffic: Traffic | None = None) -> tuple[float, Cost | None]:
    page.evaluate(WATCH_RUNS)
    before = page.evaluate("() => window.__runsDone")
    mark = traffic.mark() if traffic else (0, 0)
    cpu_before = server.cpu_seconds(process) if process else 0.0
    start = time.perf_counter()
    act(page, i)
    try:
        page.wait_for_function(f"() => window.__runsDone > {before}", timeout=min(timeout_ms, 5_000), polling="raf")
    except Exception:  # noqa: BLE001 - the option picked was the current one (another control set it): no run
        start = time.perf_counter()
        act(page, i + 1)
        page.wait_for_function(f"() => window.__runsDone > {before}", timeout=timeout_ms, polling="raf")
    page.wait_for_selector(server.READY_SELECTOR, timeout=timeout_ms)
    page.evaluate(PAINTED)
    seconds = time.perf_counter() - start
    cost = _settled_cost(page, process, traffic, mark, cpu_before, timeout_ms) if traffic else None
    return seconds, cost


def _open(page, base: str, address: str, by_menu: bool, timeout_ms: float = 240_000) -> None:
    """Open a page as a visitor does: the first by its address, the next ones from the sidebar's menu (a page
    change inside the app, where an address typed anew reloads the whole app in the browser), until painted."""
    if not by_menu:
        page.goto(f"{base}/{address}")
        server.wait_until_rendered(page, timeout_ms)
    else:  # each page opens with its own title: wait for the new one, then for its run to finish
        previous = page.locator("[data-testid=stMain] h1").first.inner_text()
        page.locator(f"[data-testid=stSidebarNav] a[href$='/{address}']").first.click()
        page.wait_for_function("previous => { const h = document.querySelector('[data-testid=stMain] h1'); "
                               "return h !== null && h.innerText !== previous; }", arg=previous,
                               timeout=timeout_ms, polling="raf")
        page.wait_for_selector(server.READY_SELECTOR, timeout=timeout_ms)
    page.evaluate(PAINTED)


def pages_in_menu_order(controls: list[Control]) -> list[str]:
    """The addresses to visit: every registered page, in menu order; a page without a control is an error."""
    addresses = [spec.address for spec in pagemap.PAGES]
    missing = [spec.url_path for spec in pagemap.PAGES if spec.address not in {c.page for c in controls}]
    unknown = sorted({c.page for c in controls} - set(addresses))
    if missing or unknown:
        raise ValueError(f"Click controls out of step with the page registry: no control for {missing}, "
                         f"controls for unregistered pages {unknown}.")
    return addresses


def measure(repeats: int = 5, controls: list[Control] | None = None, timeout_ms: float = 120_000) -> dict:
    """On one fresh server: each registered page's first visit (in menu order, from the sidebar's menu after the
    first), then each of its controls' click times.

    Returns {"first_visit_s": {page: s}, "clicks_s": {(page, control): [s, ...]}, "errors": {(page, control): msg},
    "first_visit_cost": {page: Cost}, "clicks_cost": {(page, control): [Cost, ...]},
    "warm_first_visit_s": {page: s}} (the last: a second visitor's first visits, once the server is warm).
    A control that cannot be found is reported in errors rather than failing the others.
    """
    from playwright.sync_api import sync_playwright

    controls = controls or CONTROLS
    found: dict = {"first_visit_s": {}, "clicks_s": {}, "errors": {}, "first_visit_cost": {}, "clicks_cost": {}}
    with server.running_app() as (base, process), sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=server.chromium_path(), headless=True,
                                          args=server.CHROMIUM_ARGS)
        page = chromium.new_page(viewport={"width": 1280, "height": 900})
        traffic = Traffic(page)
        for number, address in enumerate(pages_in_menu_order(controls) if controls is CONTROLS
                                         else dict.fromkeys(c.page for c in controls)):
            mark, cpu_before = traffic.mark(), server.cpu_seconds(process)
            start = time.perf_counter()
            _open(page, base, address, by_menu=number > 0)
            found["first_visit_s"][address or "overview"] = time.perf_counter() - start
            found["first_visit_cost"][address or "overview"] = _settled_cost(page, process, traffic, mark,
                                                                             cpu_before, timeout_ms)
            for control in (c for c in controls if c.page == address):
                key = (address or "overview", control.name)
                try:
                    _finished_run(page, control.act, 0, timeout_ms)  # warm: the first change may fill a cache
                    runs = [_finished_run(page, control.act, i + 1, timeout_ms, process, traffic)
                            for i in range(repeats)]
                    found["clicks_s"][key] = [seconds for seconds, _ in runs]
                    found["clicks_cost"][key] = [cost for _, cost in runs]
                except Exception as exc:  # noqa: BLE001 - one missing control must not hide the others' times
                    found["errors"][key] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:160]}"
        # A second visitor on the now warm server: a new tab is a new session, so each page is its first visit.
        visitor = chromium.new_context(viewport={"width": 1280, "height": 900}).new_page()
        found["warm_first_visit_s"] = {}
        for number, address in enumerate(pages_in_menu_order(controls) if controls is CONTROLS
                                         else dict.fromkeys(c.page for c in controls)):
            start = time.perf_counter()
            _open(visitor, base, address, by_menu=number > 0)
            found["warm_first_visit_s"][address or "overview"] = time.perf_counter() - start
        chromium.close()
    return found


def median(values: list[float]) -> float:
    return statistics.median(values)


@dataclass(frozen=True)
class Summary:
    """One control's clicks in a few numbers: medians, and the element kind that sent the most."""

    seconds: float
    cpu_ms: float
    sent_kb: float
    top_kind: str  # the kind with the most bytes per click (mean over the clicks)
    top_kind_kb: float
    largest: str  # the largest single message over all clicks, and its kB
    largest_kb: float
    by_reference_kb: float  # median kB rebuilt but sent by reference

    @property
    def cpu_ok(self) -> bool:
        return self.cpu_ms <= CPU_GOAL_MS


def summarise(seconds: list[float], costs: list[Cost]) -> Summary:
    per_kind: Counter = Counter()
    for cost in costs:
        per_kind.update(cost.by_kind)
    top_kind, top_bytes = per_kind.most_common(1)[0] if per_kind else ("", 0)
    largest, largest_bytes = max((cost.largest for cost in costs), key=lambda pair: pair[1], default=("", 0))
    return Summary(median(seconds), 1000 * median([c.cpu_s for c in costs]),
                   median([c.sent_bytes for c in costs]) / 1000, top_kind, top_bytes / len(costs) / 1000,
                   largest, largest_bytes / 1000, median([sum(c.by_reference.values()) for c in costs]) / 1000)


def tables(found: dict) -> str:
    """Markdown: one table per page, its first visit, then a line per control."""
    lines = []
    for page, visit in found["first_visit_s"].items():
        cost = found["first_visit_cost"][page]
        lines += [f"\n### {page}", f"First visit: {visit:.2f} s, server CPU {1000 * cost.cpu_s:.0f} ms, sent "
                  f"{cost.sent_bytes / 1000:.0f} kB (largest {cost.largest[0]} {cost.largest[1] / 1000:.0f} kB)\n",
                  "| control | click to painted (s) | server CPU (ms) | ≤ 60 ms | sent (kB) | top kind (kB/click) "
                  "| largest message (kB) | rebuilt, sent by reference (kB) |", "|---|---:|---:|:-:|---:|---|---|---:|"]
        for (where, control), costs in found["clicks_cost"].items():
            if where != page:
                continue
            s = summarise(found["clicks_s"][(where, control)], costs)
            lines.append(f"| {control} | {s.seconds:.2f} | {s.cpu_ms:.0f} | {'ok' if s.cpu_ok else '**miss**'} "
                         f"| {s.sent_kb:.1f} | {s.top_kind} {s.top_kind_kb:.1f} | {s.largest} {s.largest_kb:.1f} "
                         f"| {s.by_reference_kb:.1f} |")
        for (where, control), message in found["errors"].items():
            if where == page:
                lines.append(f"| {control} | not measured: {message} | | | | | | |")
    warm = found.get("warm_first_visit_s", {})
    if warm:
        lines.append("\nA second visitor's first visits on the warm server: "
                     + ", ".join(f"{page} {seconds:.2f} s" for page, seconds in warm.items()))
    return "\n".join(lines)


if __name__ == "__main__":  # PYTHONPATH=. python -m tests.harness.clicks [repeats]
    import sys

    print(tables(measure(repeats=int(sys.argv[1]) if len(sys.argv) > 1 else 5)))
