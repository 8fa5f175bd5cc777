"""AppTest of the tour through the entry point: every stop's takeaway and live result, next/back, and shared links."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.core import zoo
from dashboard.lesson import hourglass, tour
from dashboard.sampling import samplers
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
    position = 1 + [stop.page for stop in tour.STOPS].index("compression")  # stops may be added before it
    app = open_page("tour", query={"dataset": "digits", "stop": str(position)})
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


# ---------------------------------------------------------------------------------------------------------------
# One source for every number: a stop's highlight quotes exactly what its page shows for the view its link opens
# ---------------------------------------------------------------------------------------------------------------

def _metrics(app: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in app.metric}


def _compression_numbers(app: AppTest, quoted: dict[str, str]) -> dict[str, str]:
    """The rate-distortion sentence: "AE MSE **a**, PCA **b**, so the AE's error is **r** PCA's"."""
    shown = texts(app)
    return {label: value for label, value in quoted.items()
            if any(pattern.format(value) in shown for pattern in ("AE MSE **{}**", "PCA **{}**", "**{}** PCA's"))}


def _denoising_numbers(app: AppTest, quoted: dict[str, str]) -> dict[str, str]:
    metrics = _metrics(app)
    table = {row["method"].split(" (")[0]: row["PSNR (dB)"] for _, row in app.dataframe[0].value.iterrows()}
    return {"Noisy input": f"{table['Noisy input']:.1f} dB", "Median filter": metrics["Median filter PSNR"],
            "DAE": metrics["DAE PSNR"], "DAE gain": f"{table['DAE'] - table['Median filter 3x3']:+.1f} dB"}


def _anomaly_numbers(app: AppTest, quoted: dict[str, str]) -> dict[str, str]:
    metrics = _metrics(app)
    auroc = quoted["AUROC"] if f"**AUROC {quoted['AUROC']}**" in texts(app) else "not on the page"
    return {"AUROC": auroc, "Recall": metrics["Recall"], "Precision": metrics["Precision"],
            "False alarms": metrics["False alarms"]}


def _features_numbers(app: AppTest, quoted: dict[str, str]) -> dict[str, str]:
    shown = {"Raw pixels": _metrics(app)["vs raw pixels"]}
    for kind in ("pca", "ae", "vae"):  # each feature set's accuracy is the page's headline metric when picked
        app.radio(key="features_kind").set_value(kind).run()
        assert_no_exception(app)
        shown[f"{kind.upper()}-{tour.LATENT}"] = _metrics(app)["Test accuracy"]
    return shown


def _sampling_numbers(app: AppTest, quoted: dict[str, str]) -> dict[str, str]:
    scores = [m.value for m in app.metric if m.label.startswith("FID-like at t = 1.0")]
    return {setup.label: value for setup, value in zip(samplers.SETUPS, scores) if setup.label in quoted}


def _latent_space_numbers(app: AppTest, quoted: dict[str, str]) -> dict[str, str]:
    """The holes and readable decodes counted under each map, under the same labels."""
    return {label: value for label, value in _metrics(app).items() if label in quoted}


PAGE_NUMBERS = {"latent-space": _latent_space_numbers, "compression": _compression_numbers,
                "denoising": _denoising_numbers, "anomaly": _anomaly_numbers, "features": _features_numbers,
                "sampling": _sampling_numbers}


@pytest.mark.parametrize("page", list(PAGE_NUMBERS))
def test_a_stop_quotes_the_numbers_its_page_shows(page):
    stop = next(s for s in tour.STOPS if s.page == page)
    quoted = {n.label: n.value for n in tour.highlight(page).numbers}  # the default dataset, as a visitor sees it
    app = open_page(page, query=dict(stop.params))  # the view the stop's "Open this page" link opens
    assert_no_exception(app)
    assert PAGE_NUMBERS[page](app, quoted) == quoted


def test_the_introduction_counts_the_stops_there_are():
    app = open_page("tour", dataset="digits")
    assert_no_exception(app)
    words = {7: "Seven", 8: "Eight", 9: "Nine"}
    assert f"{words.get(N_STOPS, N_STOPS)} stops, one idea each." in texts(app)


def test_the_first_stop_quotes_what_the_overview_shows_and_says_what_it_averages():
    quoted = {n.label: n for n in tour.highlight("overview").numbers}  # the default dataset, as a visitor sees it
    app = open_page("overview")  # test image #0 through ae-16, the tour's model
    assert_no_exception(app)
    shown = _metrics(app)
    assert shown["Error (MSE)"] == quoted["Error, image #0"].value
    assert shown["Code size"] == quoted["Numbers in z"].value
    assert f"x: input ({quoted['Pixels in'].value} pixels" in texts(app)
    assert f"{quoted['Squeeze'].value} fewer numbers" in texts(app)
    # The one number the Overview does not show says what it averages.
    assert "averaged over the ten test digits in the row" in quoted["Mean error, row"].help
    # And the Overview names the loss its model trains on, as the card records it.
    card = zoo.read_card(f"ae-{tour.LATENT}")
    assert f"Loss ({hourglass.LOSS_SHORT[card['config'].get('recon_loss', 'bce')]})" in shown
