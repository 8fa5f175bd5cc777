"""AppTest of the tour through the entry point: every stop's takeaway and live result, next/back, and shared links."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from dashboard.lesson import tour
from tests.harness.apptest import open_page
from tests.harness.checks import assert_no_exception, texts

N_STOPS = len(tour.STOPS)



def stop_param(app: AppTest) -> str:
    value = app.query_params["stop"]
    return value[0] if isinstance(value, list) else value


def test_stepping_through_the_tour_shows_each_takeaway_and_result():
    app = open_page("tour", dataset="digits")
    assert_no_exception(app)
    assert app.button(key="tour_back").disabled
    for number, stop in enumerate(tour.STOPS, start=1):
        shown = texts(app)
        assert f"Stop {number} of {N_STOPS}: {stop.title}" in shown
        assert stop.takeaway in shown and stop.look_at in shown
        assert not app.warning, [w.value for w in app.warning]  # the live result was computed, not skipped
        if stop.page == "quiz":
            assert {m.label: m.value for m in app.metric} == {"Your quiz score": "not started"}
        else:
            assert len(app.metric) >= 3 and all(m.value for m in app.metric)
            captions = [c for image in app.get("image") for c in image.captions]
            assert captions == [label for label, _ in tour.highlight(stop.page, "digits").rows], stop.page
        assert stop_param(app) == str(number)
        if number < N_STOPS:
            app.button(key="tour_next").click().run()
            assert_no_exception(app)
    assert app.button(key="tour_next").disabled

    app.button(key="tour_back").click().run()
    assert f"Stop {N_STOPS - 1} of {N_STOPS}: {tour.STOPS[-2].title}" in texts(app)
    app.select_slider(key="tour_stop").set_value(2).run()
    assert_no_exception(app)
    assert tour.STOPS[1].takeaway in texts(app) and stop_param(app) == "2"


def test_the_numbers_shown_are_the_live_ones():
    app = open_page("tour", query={"dataset": "digits", "stop": "2"})
    assert_no_exception(app)
    expected = tour.highlight("compression", "digits")
    assert {m.label: m.value for m in app.metric} == {n.label: n.value for n in expected.numbers}


def test_a_shared_link_opens_its_stop_and_a_bad_one_falls_back():
    app = open_page("tour", query={"stop": "3", "dataset": "digits"})
    assert_no_exception(app)
    assert f"Stop 3 of {N_STOPS}: {tour.STOPS[2].title}" in texts(app)
    assert app.sidebar.selectbox(key="dataset").value == "digits"

    for junk in ("99", "two"):
        app = open_page("tour", query={"stop": junk, "dataset": "digits"})
        assert_no_exception(app)
        assert any(f"stop={junk}" in w.value for w in app.warning)
        assert f"Stop 1 of {N_STOPS}" in texts(app) and stop_param(app) == "1"
