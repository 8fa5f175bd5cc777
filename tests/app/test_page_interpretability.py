"""AppTest of the Interpretability page through the entry point: scores, feature browser, one image, steering, PCA."""

from __future__ import annotations

from tests.harness.apptest import open_page
from tests.harness.checks import assert_no_exception, texts
from tests.harness.inputs import digit_png


def metric(app, label: str) -> str:
    return next(m.value for m in app.metric if m.label == label)


def test_the_scores_and_the_feature_browser():
    app = open_page("interpretability")
    assert_no_exception(app)
    assert float(metric(app, "Variance explained")) >= 0.9
    assert metric(app, "Active per image (L0)").endswith("of 512")
    picker = app.selectbox(key="interp_feature")
    first = picker.value
    assert app.query_params["feature"] in (str(first), [str(first)])
    last = int(picker.options[-1].split(" ")[0].lstrip("#"))  # labels read "#<feature> · <description> · ..."
    picker.set_value(last).run()
    assert_no_exception(app)
    assert app.selectbox(key="interp_feature").value != first
    app.selectbox(key="interp_class").set_value("7").run()
    assert_no_exception(app)
    shown = app.selectbox(key="interp_feature")
    assert all("7s" in option for option in shown.options)  # every listed feature is mostly about 7s
    assert "Feature #" in texts(app)


def test_a_shared_link_opens_a_feature_and_junk_falls_back():
    app = open_page("interpretability", query={"feature": "99999"})
    assert_no_exception(app)
    assert any("not valid" in w.value for w in app.warning)


def test_one_image_and_steering_move_the_probabilities():
    app = open_page("interpretability")
    app.number_input(key="interp_image").set_value(3).run()
    assert_no_exception(app)
    assert "features fire" in texts(app)
    feature = app.selectbox(key="interp_steer_feature").value
    slider = app.slider(key=f"interp_steer_value_{feature}")
    assert "set to 0.00" in texts(app)  # switched off by default
    slider.set_value(slider.max).run()
    assert_no_exception(app)
    assert f"set to {slider.max:.2f}" in texts(app)
    app.select_slider(key="interp_pca_direction").set_value(3).run()
    assert_no_exception(app)
    assert "Direction 3 carries" in texts(app)


def test_own_image_on_digits_and_a_bad_file_is_refused():
    app = open_page("interpretability", dataset="digits")
    assert_no_exception(app)
    app.button_group(key="interp_source").set_value("Draw or upload").run()
    app.button_group(key="interp_own_source").set_value("Upload").run()
    app.file_uploader(key="interp_own_upload").upload("notes.png", b"not an image", "image/png").run()
    assert_no_exception(app)
    assert app.error
    app.file_uploader(key="interp_own_upload").upload("seven.png", digit_png(), "image/png").run()
    assert_no_exception(app)
    assert "features fire" in texts(app)
