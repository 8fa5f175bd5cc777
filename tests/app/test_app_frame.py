"""AppTest of the frame: every page through the entry point, the shared sidebar, Overview and Models."""

from __future__ import annotations

import json

import pytest

from dashboard.app import navigation
from tests.harness.apptest import open_page
from tests.harness.checks import assert_no_exception, texts
from tests.harness.inputs import digit_png


@pytest.mark.parametrize("page", [p.url_path for p in navigation.PAGES])
def test_every_page_opens_through_the_entry_point(page):
    app = open_page(page)
    assert_no_exception(app)
    assert app.sidebar.selectbox(key="dataset").value == "mnist-5k"  # the entry's sidebar framed the page
    assert app.title, f"{page} shows no title"


def test_dataset_choice_survives_a_page_switch():
    app = open_page("overview", dataset="digits")
    assert "64 pixels" in texts(app)
    app.switch_page(navigation.by_key("models").path).run()
    assert_no_exception(app)
    assert app.sidebar.selectbox(key="dataset").value == "digits"
    assert "digits" in texts(app)
    app.switch_page(navigation.by_key("overview").path).run()
    assert app.sidebar.selectbox(key="dataset").value == "digits"
    assert "64 pixels" in texts(app)


def test_overview_reconstruction_changes_with_the_picked_image():
    app = open_page("overview")
    first = {m.label: m.value for m in app.metric}
    assert "784 pixels" in texts(app) and "Code size 16" in texts(app)
    app.number_input(key="overview_image").set_value(7).run()
    assert_no_exception(app)
    second = {m.label: m.value for m in app.metric}
    assert first["Error (MSE)"] != second["Error (MSE)"]
    assert app.query_params["image"] == ["7"] or app.query_params["image"] == "7"


def test_overview_figures_updated_in_place_match_a_fresh_visit():
    # The hourglass and the 3D map are kept per session and updated in place; a stale copy must never show.
    def specs(app):
        return [json.loads(chart.proto.spec) for chart in app.get("plotly_chart")]

    app = open_page("overview")
    before = specs(app)
    app.number_input(key="overview_image").set_value(7).run()
    assert_no_exception(app)
    after = specs(app)
    assert len(after) == 2 and after != before
    assert after == specs(open_page("overview", query={"image": "7"}))


def test_overview_switches_model_and_shows_its_code_size():
    app = open_page("overview")
    app.selectbox(key="overview_model").set_value("ae-2").run()
    assert_no_exception(app)
    assert "Code size 2" in texts(app)
    assert "392x fewer numbers than the image has pixels" in texts(app)


def _chart_trace_types(app) -> set[str]:
    import json

    types = set()
    for element in app.get("plotly_chart"):
        types |= {trace.get("type", "scatter") for trace in json.loads(element.proto.spec)["data"]}
    return types


def test_overview_draws_the_hourglass_flat_until_asked_to_rotate_it():
    app = open_page("overview")
    flat = _chart_trace_types(app)
    assert "heatmap" in flat and "surface" not in flat  # the flat hourglass; the 3D map beside it is scatter3d
    app.toggle(key="overview_hourglass_3d").set_value(True).run()
    assert_no_exception(app)
    assert "surface" in _chart_trace_types(app) and "Drag to rotate" in texts(app)


def test_overview_own_image_upload_path():
    app = open_page("overview")
    app.button_group(key="overview_source").set_value("Your own").run()
    assert_no_exception(app)
    assert "Showing test image #0 until your image is ready." in texts(app)
    app.button_group(key="overview_own_source").set_value("Upload").run()
    assert "Upload a photo or scan of a single digit." in texts(app)

    app.file_uploader(key="overview_own_upload").upload("notes.png", b"this is not an image", "image/png").run()
    assert_no_exception(app)
    assert any("not an image that can be read" in e.value for e in app.error)

    app.file_uploader(key="overview_own_upload").upload("seven.png", digit_png(dark_on_light=True),
                                                         "image/png").run()
    assert_no_exception(app)
    assert not app.error
    assert "inverted" in texts(app) and "Resized from 56 x 56" in texts(app)
    assert "x: input (784 pixels, your image)" in texts(app)


def test_bad_dataset_in_the_link_falls_back_with_a_notice():
    app = open_page("overview", query={"dataset": "cifar-1000"})
    assert_no_exception(app)
    assert app.sidebar.selectbox(key="dataset").value == "mnist-5k"
    assert any("not valid" in w.value for w in app.warning)


def test_link_restores_dataset_and_image():
    app = open_page("overview", query={"dataset": "digits", "image": "5"})
    assert app.sidebar.selectbox(key="dataset").value == "digits"
    assert app.number_input(key="overview_image").value == 5


def test_offline_dataset_choice_falls_back_to_mnist_5k(monkeypatch, tmp_path):
    import socket

    def no_network(*args, **kwargs):
        raise OSError(101, "Network is unreachable")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setenv("LATENT_LAB_DATA", str(tmp_path))
    app = open_page("overview", dataset="fashion-mnist")
    assert_no_exception(app)
    assert any("not available" in w.value for w in app.sidebar.warning)
    assert "784 pixels" in texts(app)  # the pages carried on with mnist-5k


def test_models_page_shows_cards_and_trains_a_session_model():
    app = open_page("models", dataset="digits")
    assert_no_exception(app)
    table = app.dataframe[0].value
    assert {"ae-16", "vae-2", "dae-16"} <= set(table["model"])
    app.selectbox(key="models_card").set_value("vae-16").run()
    assert "`vae-16`" in texts(app)
    app.selectbox(key="models_family").set_value("ae")
    app.selectbox(key="models_latent").set_value(3)
    app.slider(key="models_epochs").set_value(2)
    form_submit = [b for b in app.button if b.label == "Train"][0]
    form_submit.click().run()
    assert_no_exception(app)
    assert "Your models" in texts(app)
    assert "ae-3 #1 (yours)" in texts(app)
    app.switch_page(navigation.by_key("overview").path).run()
    assert "ae-3 #1 (yours)" in app.selectbox(key="overview_model").options
    app.selectbox(key="overview_model").set_value("ae-3 #1 (yours)").run()
    assert_no_exception(app)
    assert "Code size 3" in texts(app)


def test_models_page_draws_the_code_map_live_while_a_two_number_model_trains():
    import json

    app = open_page("models", dataset="digits")
    app.selectbox(key="models_family").set_value("vae")
    app.selectbox(key="models_latent").set_value(2)
    app.slider(key="models_epochs").set_value(2)
    [b for b in app.button if b.label == "Train"][0].click().run()
    assert_no_exception(app)
    maps = [json.loads(c.proto.spec) for c in app.get("plotly_chart")]
    titles = [m["layout"].get("title", {}).get("text", "") for m in maps]
    assert any("vae-2 #1 (yours) · epoch 2 · loss" in t for t in titles), titles
    live = maps[[i for i, t in enumerate(titles) if "epoch 2" in t][0]]
    assert sum(len(trace["x"]["bdata"]) if isinstance(trace["x"], dict) else len(trace["x"])
               for trace in live["data"]) > 0
    assert "Where 359 test digits land after each epoch" in texts(app)


def test_models_page_trains_with_a_penalty_and_plots_each_part_of_the_loss():
    app = open_page("models", dataset="digits")
    assert not [w for w in app.select_slider if w.key == "models_beta"]  # β is the VAE's alone
    app.selectbox(key="models_family").set_value("vae").run()
    assert app.select_slider(key="models_beta").value == 1.0
    assert not [w for w in app.selectbox if w.key == "models_sparsity"]  # a VAE takes no code penalty
    app.selectbox(key="models_family").set_value("ae").run()
    app.selectbox(key="models_latent").set_value(8)
    app.selectbox(key="models_sparsity").set_value("topk")
    app.number_input(key="models_topk").set_value(20)  # larger than the code
    [b for b in app.button if b.label == "Train"][0].click().run()
    assert_no_exception(app)
    assert any("top_k must be between 1 and the code size 8" in e.value for e in app.error)
    assert "Your models" not in texts(app)
    app.selectbox(key="models_sparsity").set_value("l1")
    app.number_input(key="models_l1").set_value(0.01)
    app.slider(key="models_epochs").set_value(2)
    [b for b in app.button if b.label == "Train"][0].click().run()
    assert_no_exception(app)
    assert "ae-8 #1 (yours)" in texts(app)
    import pyarrow

    charts = [c for c in app.get("vega_lite_chart")
              if json.loads(c.proto.spec).get("title") == "each part of the loss per epoch"]
    assert charts, "no loss-parts chart"
    # Streamlit sends a chart's top-level data as an Arrow table beside the spec.
    rows = pyarrow.ipc.open_stream(charts[-1].proto.data.data).read_pandas().to_dict("records")
    assert {"reconstruction", "sparsity penalty"} <= {row["part"] for row in rows}
    assert sum(row["part"] == "reconstruction" for row in rows) == 2  # one point per epoch


def test_overview_map_follows_a_two_or_three_number_model_and_says_why_otherwise():
    def map_spec(app):
        return json.loads(app.get("plotly_chart")[1].proto.spec)

    app = open_page("overview")  # ae-16: too many numbers to draw, so the map shows ae-3 and its title says so
    spec = map_spec(app)
    assert "ae-3, not ae-16" in spec["layout"]["title"]["text"]
    assert {trace["type"] for trace in spec["data"]} == {"scatter3d"}
    assert any("test image #" in trace.get("hovertemplate", "") for trace in spec["data"])  # a number to type
    app.selectbox(key="overview_model").set_value("vae-3").run()
    assert_no_exception(app)
    assert map_spec(app)["layout"]["title"]["text"].startswith("vae-3: each test image's 3-number code")
    app.selectbox(key="overview_model").set_value("ae-2").run()
    assert_no_exception(app)
    flat = map_spec(app)
    assert flat["layout"]["title"]["text"].startswith("ae-2") and {t["type"] for t in flat["data"]} == {"scatter"}
    marked = flat["data"][-1]  # the diamond sits on the image's own 2-number code
    assert marked["name"] == "this image" and "Click a point" in texts(app)
