"""AppTest of the Latent features page through the entry point: controls, accuracy shown, own digit, shared links."""

from __future__ import annotations

import json

import pyarrow

from dashboard import features
from dashboard.app.cached import features as cached
from dashboard.core import data
from dashboard.viz import features_charts
from dashboard.viz.compression_charts import vega_spec
from tests.harness.apptest import open_page
from tests.harness.checks import assert_no_exception, texts
from tests.harness.inputs import digit_png


def metric(app, label: str) -> str:
    return next(m.value for m in app.metric if m.label == label)


def shown_accuracy(dataset: str, feature_set: str, classifier: str, budget, seed: int = 0) -> str:
    return f"{features.evaluate(dataset, feature_set, classifier, budget, seed).accuracy:.1%}"


def test_budget_classifier_and_features_change_the_accuracy_shown():
    app = open_page("features")
    assert_no_exception(app)
    assert metric(app, "Test accuracy") == shown_accuracy("mnist-5k", "ae-16", "logistic", 10)
    assert metric(app, "vs raw pixels") == shown_accuracy("mnist-5k", "raw", "logistic", 10)
    assert metric(app, "Labels used") == "100" and metric(app, "Input size") == "16"
    assert "Each point is the mean over 5 random label draws" in texts(app)
    assert "AutoencoderFeatures('ae-16', dataset='mnist-5k')" in app.code[0].value

    app.select_slider(key="features_budget").set_value(50).run()
    assert_no_exception(app)
    assert metric(app, "Test accuracy") == shown_accuracy("mnist-5k", "ae-16", "logistic", 50)
    assert metric(app, "Labels used") == "500"

    app.selectbox(key="features_classifier").set_value("knn").run()
    assert_no_exception(app)
    assert metric(app, "Test accuracy") == shown_accuracy("mnist-5k", "ae-16", "knn", 50)
    assert "KNeighborsClassifier(" in app.code[0].value
    assert "Curves for k-nearest neighbours take a while" in texts(app)  # the quick reference curves meanwhile
    app.button(key="features_compute_curves").click().run()
    assert_no_exception(app)
    assert "Each point is the mean over 5 random label draws" in texts(app)

    app.radio(key="features_kind").set_value("pca").run()
    assert metric(app, "Test accuracy") == shown_accuracy("mnist-5k", "pca-16", "knn", 50)
    assert "FrozenEstimator(pca)" in app.code[0].value

    app.radio(key="features_kind").set_value("vae").run()  # k stays 16: another k means new curves (slow)
    assert_no_exception(app)
    assert metric(app, "Test accuracy") == shown_accuracy("mnist-5k", "vae-16", "knn", 50)

    app.radio(key="features_kind").set_value("raw").run()
    assert metric(app, "Input size") == "784" and metric(app, "vs raw pixels") == "—"
    assert app.query_params["clf"] in ("knn", ["knn"]) and app.query_params["features"] in ("raw", ["raw"])


def test_own_digit_is_classified_and_bad_files_get_a_message():
    app = open_page("features")
    app.button_group(key="features_own_source").set_value("Upload").run()
    assert "Draw or upload a digit to see what this pipeline predicts for it." in texts(app)

    app.file_uploader(key="features_own_upload").upload("seven.png", digit_png(), "image/png").run()
    assert_no_exception(app)
    prediction = metric(app, "Prediction")
    assert prediction in [str(d) for d in range(10)]
    assert "Probabilities from the pipeline above: AE-16 features" in texts(app)

    app.selectbox(key="features_classifier").set_value("svm").run()
    assert_no_exception(app)
    assert "temperature scaling" in texts(app)

    app.file_uploader(key="features_own_upload").upload("notes.png", b"not an image at all", "image/png").run()
    assert_no_exception(app)
    assert any("not an image that can be read" in e.value for e in app.error)


def test_digits_and_a_shared_link_with_a_junk_value():
    app = open_page("features", query={"dataset": "digits", "clf": "forest", "labels": "lots", "k": "8"})
    assert_no_exception(app)
    assert app.sidebar.selectbox(key="dataset").value == "digits"  # the entry point's sidebar framed the page
    assert any("`labels=lots` is not valid here" in w.value for w in app.warning)
    assert app.selectbox(key="features_classifier").value == "forest"
    assert app.select_slider(key="features_k").value == 8
    assert metric(app, "Test accuracy") == shown_accuracy("digits", "ae-8", "forest", 10)
    assert metric(app, "Input size") == "8"
    assert "These codes are **dense**" in texts(app)
    assert any("Interpretability (SAE)" in element.proto.label for element in app.get("page_link"))
    app.select_slider(key="features_budget").set_value(features.ALL).run()
    assert_no_exception(app)
    assert metric(app, "Labels used") == "1,438"


def test_charts_after_a_budget_change_equal_new_ones():
    """The page reuses chart marks and its 3D figure between clicks; what it sends must equal freshly built charts."""
    app = open_page("features", query={"dataset": "digits"})
    for budget in (100, 50):
        app.select_slider(key="features_budget").set_value(budget).run()
        assert_no_exception(app)
    ds = data.load("digits")
    result = features.evaluate("digits", "ae-16", "logistic", 50, 0)
    specs = [json.loads(c.proto.spec) for c in app.get("vega_lite_chart")]
    table = cached.accuracy_curves("digits", "logistic", 16, features.budgets_for("digits"), compute=False)
    title = f"{features.CLASSIFIERS['logistic']}: accuracy against labels"
    chart = features_charts.accuracy_chart(table, title, (result.n_labels, result.accuracy))
    assert json.loads(json.dumps(vega_spec(chart)))["layer"] == next(s for s in specs if s["title"] == title)["layer"]
    confusion = json.loads(json.dumps(vega_spec(features_charts.confusion_chart(result.confusion, ds.classes))))
    element = next(c for c in app.get("vega_lite_chart") if json.loads(c.proto.spec)["title"] == confusion["title"])
    assert json.loads(element.proto.spec)["layer"] == confusion["layer"]
    # Streamlit sends a chart's top-level data as an Arrow table beside the spec: the altair chart's cells.
    cells = pyarrow.ipc.open_stream(element.proto.data.data).read_pandas().to_dict("records")
    assert json.loads(json.dumps(cells)) == confusion["data"]["values"]
    points, _ = cached.projection.__wrapped__("digits", "ae-16")
    fresh = features_charts.misclassified_map(points, ds.y_test.numpy(), ds.classes, result.predictions,
                                              features.misclassified(result))
    shown = next(json.loads(c.proto.spec) for c in app.get("plotly_chart"))
    assert shown["data"] == json.loads(fresh.to_json())["data"]
