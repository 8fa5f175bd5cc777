"""AppTest of the Latent space page through the entry point: maps, pinned links, junk links, uploads, 3D sliders."""

from __future__ import annotations

import json

import pytest

from dashboard import latent_space
from dashboard.app.cached import latent_space as cached
from dashboard.lesson import tour
from tests.harness.apptest import open_page
from tests.harness.checks import assert_no_exception, texts
from tests.harness.inputs import digit_png


def query_value(app, name: str) -> str:
    value = app.query_params[name]
    return value[0] if isinstance(value, list) else value


def components(app, name: str) -> list[dict]:
    """The data each mounted instance of one of the page's components received, in page order."""
    return [json.loads(e.proto.json) for e in app.get("bidi_component") if e.proto.component_name == name]


@pytest.mark.parametrize("dataset", ["digits", pytest.param("mnist-5k", marks=pytest.mark.slow)])
def test_the_page_opens_with_both_maps(dataset):
    app = open_page("latent-space", query={"dataset": dataset})
    assert_no_exception(app)
    maps = components(app, "latent_lab.latent_map")
    assert [m["map"] for m in maps] == ["ae", "vae"]
    assert all(m["n"] == latent_space.GRID_SIDE and m["atlas"].startswith("data:image/png") for m in maps)
    assert sum(len(json.dumps(m)) for m in maps) <= 1.5e6
    shown = texts(app)
    for heading in ("1 · Two maps", "2 · The pinned point", "3 · Your own digit", "4 · Three numbers",
                    "5 · Sixteen numbers"):
        assert heading in shown
    assert "Click or tap anywhere on a map" in shown and query_value(app, "pin") == "none"


def test_each_map_shows_its_holes_counted_the_same_way_as_the_tours_stop():
    app = open_page("latent-space", query={"dataset": "digits"})
    assert_no_exception(app)
    shown = {m.label: m.value for m in app.metric}
    found = {}
    for family in latent_space.MAP_FAMILIES:
        grid, _, codes = cached.map_data("digits", family)  # what the page read
        found[family] = latent_space.summary(grid, codes)
        assert shown[tour.map_label(family, "holes")] == f"{found[family].holes:.0%}"
        assert shown[tour.map_label(family, "readable")] == f"{found[family].readable:.0%}"
    words = texts(app)
    assert (f"holes take **{found['ae'].holes:.0%}** of the AE's data box and **{found['vae'].holes:.0%}** of the "
            "VAE's") in words
    assert "Both maps have **holes**" in words


def test_a_pinned_point_in_the_link_is_restored():
    app = open_page("latent-space", query={"dataset": "digits", "pin": "vae:0.5,-1.2"})
    assert_no_exception(app)
    shown = texts(app)
    assert "Pinned on the VAE map (vae-2) at z = (0.50, -1.20)" in shown
    assert "Nearest 5 training digits by code" in shown and "Nearest 5 training digits by pixels" in shown
    expected = latent_space.pinned(latent_space.Pin("vae", (0.5, -1.2)), "digits")
    first = next(m for m in app.metric if m.label == "Classifier reads")  # the pinned panel comes before 3D's
    assert first.value == str(expected.predicted)
    assert query_value(app, "pin") == "vae:0.500,-1.200"
    marks = components(app, "latent_lab.latent_marks")
    assert marks[1]["pin"] == [0.5, -1.2] and marks[0]["pin"] is None  # drawn on its own map only
    app.button(key="latent_unpin").click().run()
    assert_no_exception(app)
    assert query_value(app, "pin") == "none" and "Click or tap anywhere on a map" in texts(app)


def test_a_pin_on_a_test_digits_dot_shows_the_real_digit_beside_its_decode():
    from dashboard.core import zoo

    code = zoo.codes("vae-2", "digits", "test")[11]
    app = open_page("latent-space", query={"dataset": "digits", "pin": f"vae:{code[0]:.3f},{code[1]:.3f}"})
    assert_no_exception(app)
    expected = cached.pinned("digits", query_value(app, "pin")).digit_on_dot
    assert expected is not None and f"real test digit #{expected.index} (" in texts(app)
    assert "The pin landed on a test digit's dot" in texts(app)


@pytest.mark.parametrize("junk", ["nonsense", "ae:1,2,3", "vae:999,0", "ae:nan,1"])
def test_junk_in_the_link_falls_back_with_a_notice(junk):
    app = open_page("latent-space", query={"dataset": "digits", "pin": junk})
    assert_no_exception(app)
    assert any(f"pin={junk}" in w.value for w in app.warning), [w.value for w in app.warning]
    assert query_value(app, "pin") == "none" and "Click or tap anywhere on a map" in texts(app)


def test_an_uploaded_digit_lands_on_both_maps_and_resamples():
    app = open_page("latent-space", query={"dataset": "digits"})
    app.segmented_control(key="latent_own_source").set_value("Upload").run()
    app.file_uploader(key="latent_own_upload").upload("notes.png", b"not an image", "image/png").run()
    assert_no_exception(app)
    assert app.error and all(m["own"] is None for m in components(app, "latent_lab.latent_marks"))
    app.file_uploader(key="latent_own_upload").upload("seven.png", digit_png(), "image/png").run()
    assert_no_exception(app)
    ae, vae = components(app, "latent_lab.latent_marks")
    assert ae["own"] is not None and ae["sigma"] is None
    assert vae["own"] is not None and all(s > 0 for s in vae["sigma"]) and vae["sample"] is not None
    captions = [c for image in app.get("image") for c in image.captions]
    assert "your digit" in captions
    app.button(key="latent_resample").click().run()
    assert_no_exception(app)
    again = components(app, "latent_lab.latent_marks")[1]
    assert again["own"] == vae["own"] and again["sample"] != vae["sample"]


def test_the_3d_sliders_change_the_decode():
    app = open_page("latent-space", query={"dataset": "digits"})
    model = app.segmented_control(key="latent_3d_model").value
    before = app.slider(key=f"latent_3d_{model}_z1").value
    decode_before = [i for i in app.get("image") if "decode at z" in i.captions]
    assert decode_before
    app.slider(key=f"latent_3d_{model}_z1").set_value(round(before + 2.0, 2)).run()
    assert_no_exception(app)
    figures = [json.loads(e.proto.spec) for e in app.get("plotly_chart")]
    figure = next(f for f in figures if f["data"] and f["data"][-1].get("name") == "current z")  # section 4's
    marker = figure["data"][-1]
    assert marker["name"] == "current z" and marker["x"][0] == pytest.approx(before + 2.0, abs=1e-6)
    app.segmented_control(key="latent_3d_model").set_value("vae-3").run()
    assert_no_exception(app)
    assert query_value(app, "m3") == "vae-3"


def test_the_16_number_directions_move_the_code():
    app = open_page("latent-space", query={"dataset": "digits"})
    assert "direction 1:" in texts(app)

    def moved_png() -> bytes:
        image = next(i for i in app.get("image") if any(c.startswith("moved: reads") for c in i.captions))
        return image.proto.imgs[0].url

    before = moved_png()
    app.slider(key="latent_pc_0").set_value(3.0).run()
    assert_no_exception(app)
    assert moved_png() != before


def test_the_training_charts_scrub_every_epoch_in_the_browser():
    app = open_page("latent-space", query={"dataset": "digits"})
    assert_no_exception(app)
    assert "6 · Watch the space form" in texts(app)
    labels = [m.label for m in app.metric if "training loss" in m.label]
    assert labels == ["ae-2 training loss after 120 epochs", "vae-2 training loss after 120 epochs"]

    def charts() -> list[dict]:
        return [json.loads(c.proto.spec) for c in app.get("plotly_chart") if c.proto.spec.count('"frames"')]

    before = [c.proto.spec for c in app.get("plotly_chart")]
    assert len(charts()) == 2
    for chart in charts():  # the chart's own slider: every third epoch of 120, opening trained
        steps = chart["layout"]["sliders"][0]["steps"]
        assert len(chart["frames"]) == 41 and [s["label"] for s in steps][-2:] == ["117", "120"]
        assert chart["layout"]["sliders"][0]["active"] == 40 and "epoch 120 · loss" in chart["layout"]["title"]["text"]
        frame = next(f for f in chart["frames"] if f["name"] == "9")
        assert "epoch 9 · loss" in frame["layout"]["title"]["text"] and len(frame["data"]) == 10
    app.segmented_control(key="latent_watch_view").set_value("3 numbers").run()
    assert_no_exception(app)
    assert [m.label for m in app.metric if "training loss" in m.label] == [
        "ae-3 training loss after 120 epochs", "vae-3 training loss after 120 epochs"]
    app.segmented_control(key="latent_watch_view").set_value("2 numbers").run()
    # The same spec as before, whatever ran in between: the browser gets it by reference, not re-sent.
    assert [c.proto.spec for c in app.get("plotly_chart")] == before
