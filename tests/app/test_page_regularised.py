"""AppTest of the Regularised AEs page through the entry point: every control, the numbers shown, bad input."""

from __future__ import annotations

import json

from dashboard.regularised import sparse, toy
from tests.harness.apptest import open_page
from tests.harness.checks import assert_no_exception, texts
from tests.harness.inputs import digit_png


def chart_specs(app) -> list[dict]:
    return [json.loads(element.proto.spec) for element in app.get("vega_lite_chart")]


def metric(app, start: str) -> str:
    return next(m.value for m in app.metric if m.label.startswith(start))


def test_sparse_code_beside_ae16_with_the_page_own_numbers():
    app = open_page("regularised", dataset="digits")
    assert_no_exception(app)
    found = sparse.report("digits")
    width = found.sparse_codes.shape[1]
    assert metric(app, f"{sparse.SPARSE}: units firing") == f"{found.firing.mean():.1f} of {width}"
    assert metric(app, f"{sparse.SPARSE} test MSE") == f"{found.sparse_mse.mean():.4f}"
    assert metric(app, f"{sparse.UNDERCOMPLETE} test MSE") == f"{found.dense_mse.mean():.4f}"
    titles = [spec.get("title") for spec in chart_specs(app)]
    firing = int(found.firing[0])
    assert f"{sparse.SPARSE}: {firing} of {width} units fire" in titles

    before = texts(app)
    app.number_input(key="regularised_image").set_value(7).run()
    assert_no_exception(app)
    assert "test #7" in texts(app) and texts(app) != before
    app.button(key="regularised_image_shuffle").click().run()
    assert_no_exception(app)
    assert app.query_params["image"] not in (None, "")


def test_own_digit_goes_through_both_models_and_bad_files_are_refused():
    app = open_page("regularised", dataset="digits")
    app.button_group(key="regularised_source").set_value("Your own").run()
    assert_no_exception(app)
    assert "until your image is ready" in texts(app)
    app.button_group(key="regularised_own_source").set_value("Upload").run()
    app.file_uploader(key="regularised_own_upload").upload("broken.png", b"not a picture", "image/png").run()
    assert app.error
    assert_no_exception(app)
    app.file_uploader(key="regularised_own_upload").upload("seven.png", digit_png(), "image/png").run()
    assert_no_exception(app)
    assert "your image" in texts(app)


def test_vector_field_controls_and_the_contractive_measure():
    app = open_page("regularised", dataset="digits")
    assert app.button_group(key="regularised_shape").value == toy.DEFAULT_SHAPE
    assert float(metric(app, "Arrows towards").rstrip("%")) >= 90
    app.select_slider(key="regularised_noise").set_value(0.3).run()
    assert_no_exception(app)
    assert app.query_params["sigma"] in ("0.3", ["0.3"])
    app.button_group(key="regularised_shape").set_value("circle").run()
    app.toggle(key="regularised_ideal").set_value(True).run()
    assert_no_exception(app)
    figure = app.get("plotly_chart")[0].proto.spec
    assert "ideal" in figure and "r(x)" in figure
    # At sigma 0.3 the blurred density, not the nearest curve point, sets the direction: agreement is what counts
    assert float(metric(app, "Agreement with the ideal")) >= 0.9

    app.toggle(key="regularised_measure").set_value(True).run()
    assert_no_exception(app)
    table = app.dataframe[0].value
    assert set(table["model"]) == {sparse.UNDERCOMPLETE, sparse.DENOISING, sparse.SPARSE}
    assert (table["reconstruction ‖∂r/∂x‖²"] > 0).all()


def test_a_shared_link_restores_the_field_and_junk_falls_back():
    app = open_page("regularised", query={"shape": "circle", "sigma": "0.2"}, dataset="digits")
    assert_no_exception(app)
    assert app.button_group(key="regularised_shape").value == "circle"
    assert app.select_slider(key="regularised_noise").value == 0.2
    junk = open_page("regularised", query={"shape": "square", "sigma": "7"})
    assert_no_exception(junk)
    assert any("not valid" in w.value for w in junk.warning)
    assert junk.select_slider(key="regularised_noise").value == toy.DEFAULT_NOISE
