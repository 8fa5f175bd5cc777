"""The click harness's accounting of what the server sends: element kinds, references, the per-control summary."""

from collections import Counter

from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from tests.harness import clicks


class FakePage:
    """Just enough of a Playwright page for Traffic to subscribe to its events."""

    def __init__(self):
        self.handlers = {}

    def on(self, event, handler):
        self.handlers[event] = handler


class FakeResponse:
    def __init__(self, url, length):
        self.url, self.headers = url, {"content-length": str(length)}


def _plotly(spec: str, key: str = "the_map") -> ForwardMsg:
    message = ForwardMsg()
    message.hash = f"hash-{len(spec)}"
    chart = message.delta.new_element.plotly_chart
    chart.spec, chart.id = spec, f"$$ID-abc123-{key}"
    return message


def test_frames_are_summed_by_element_kind_and_references_name_what_they_stand_for():
    page = FakePage()
    traffic = clicks.Traffic(page)
    frames = []
    page.handlers["websocket"](type("Socket", (), {"on": lambda self, event, handler: frames.append(handler)})())
    receive = frames[0]
    start = traffic.mark()
    figure = _plotly("x" * 5000).SerializeToString()
    receive(figure)
    done = ForwardMsg()
    done.script_finished = 1
    receive(done.SerializeToString())
    page.handlers["response"](FakeResponse("http://127.0.0.1:1/media/abc.png", 1234))
    page.handlers["response"](FakeResponse("http://127.0.0.1:1/static/media/font.woff2", 99_999))  # not the click's
    first = traffic.cost_since(start, cpu_s=0.05)
    assert first.by_kind["plotly_chart"] == len(figure)
    assert first.largest == ("plotly_chart[the_map]", len(figure))
    assert first.media_bytes == 1234 and first.by_kind["image file"] == 1234
    assert first.sent_bytes == len(figure) + len(done.SerializeToString()) + 1234

    start = traffic.mark()
    reference = ForwardMsg()
    reference.ref_hash = "hash-5000"
    receive(reference.SerializeToString())
    second = traffic.cost_since(start, cpu_s=0.2)
    assert second.by_reference == Counter({"plotly_chart": len(figure)})
    assert second.ws_bytes == len(reference.SerializeToString()) and "plotly_chart" not in second.by_kind


def test_summary_takes_medians_and_flags_the_cpu_goal():
    costs = [clicks.Cost(cpu_s, ws_bytes=n, by_kind=Counter({"imgs": n}), largest=("imgs", n))
             for cpu_s, n in ((0.05, 1000), (0.07, 3000), (0.09, 2000))]
    summary = clicks.summarise([0.5, 0.7, 0.6], costs)
    assert summary.seconds == 0.6 and round(summary.cpu_ms) == 70 and not summary.cpu_ok
    assert summary.sent_kb == 2.0 and summary.top_kind == "imgs" and summary.largest_kb == 3.0


def test_the_click_benchmark_covers_every_registered_page_in_menu_order():
    """The page registry drives the benchmark: a page without a control (or a control for no page) is an error."""
    assert clicks.pages_in_menu_order(clicks.CONTROLS)[0] == ""  # the Overview, served at the root
    missing_one = [c for c in clicks.CONTROLS if c.page != "quiz"]
    try:
        clicks.pages_in_menu_order(missing_one)
    except ValueError as exc:
        assert "quiz" in str(exc)
    else:
        raise AssertionError("a registered page without a control was skipped silently")
