"""AppTest of the anomaly page through the entry point: scenarios, the threshold, rules, own images, links."""

from __future__ import annotations

import re
import urllib.error

import pytest

from dashboard import anomaly
from dashboard.app import training
from dashboard.app.cached import anomaly as cached
from dashboard.core import data
from tests.harness.apptest import open_page
from tests.harness.checks import assert_no_exception, texts
from tests.harness.inputs import digit_png

CONFUSION = re.compile(r"(\d[\d,]*) correctly passed \| (\d[\d,]*) false alarms \|\n"
                       r"\| \*\*anomalous\*\* \((\d[\d,]*)\) \| (\d[\d,]*) missed \| (\d[\d,]*) caught")


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def confusion(app) -> dict[str, int]:
    match = CONFUSION.search(texts(app))
    assert match, "confusion matrix not found"
    tn, fp, n_anomalous, fn, tp = (int(v.replace(",", "")) for v in match.groups())
    assert fn + tp == n_anomalous
    return {"tn": tn, "fp": fp, "fn": fn, "tp": tp}


def metric(app, label: str) -> str:
    return next(m.value for m in app.metric if m.label == label)


def test_threshold_scenarios_and_own_image():
    app = open_page("anomaly", dataset="digits")
    assert_no_exception(app)
    assert "Normal: digit 0. Anomalous: every other digit." in texts(app)
    assert app.radio(key="anomaly_rule").value == "percentile"
    assert "Assumes the training images are all normal" in texts(app)

    # Moving the threshold up flags fewer images, and the counts stay consistent with each other.
    app.radio(key="anomaly_rule").set_value("manual").run()
    slider = app.slider(key="anomaly_threshold")
    low, high = slider.min, slider.max
    seen = []
    for fraction in (0.05, 0.3, 0.9):
        app.slider(key="anomaly_threshold").set_value(low + fraction * (high - low)).run()
        assert_no_exception(app)
        counts = confusion(app)
        assert int(metric(app, "Flagged").replace(",", "")) == counts["tp"] + counts["fp"]
        seen.append(counts)
    assert len({c["tn"] + c["fp"] for c in seen}) == 1 and len({c["tp"] + c["fn"] for c in seen}) == 1
    flagged = [c["tp"] + c["fp"] for c in seen]
    assert flagged[0] > flagged[1] >= flagged[2]
    assert seen[0]["fp"] >= seen[1]["fp"] >= seen[2]["fp"]

    # The best-F1 rule needs no knob and says what it assumes.
    app.radio(key="anomaly_rule").set_value("best-f1").run()
    assert_no_exception(app)
    assert "labelled anomalies" in texts(app)

    app.selectbox(key="anomaly_scenario").set_value("corrupted").run()
    app.selectbox(key="anomaly_corruption").set_value("rotation").run()
    assert_no_exception(app)
    assert "Anomalous: the same kind of digits with rotation" in texts(app)
    assert re.search(r"\| One-Class SVM \| [01]\.\d{3} \| [01]\.\d{3} \|", texts(app)), "baseline table missing"
    assert "| IsolationForest |" in texts(app) and "| PCA reconstruction error |" in texts(app)

    # Your own input: a drawn-looking "7" is scored, a non-image is refused with a clear message.
    app.selectbox(key="anomaly_scenario").set_value("own").run()
    app.button_group(key="anomaly_own_source").set_value("Upload").run()
    app.file_uploader(key="anomaly_own_upload").upload("seven.png", digit_png(), "image/png").run()
    assert_no_exception(app)
    assert "Your image's score" in texts(app)
    assert re.search(r"Your image \(score [\d.]+\) is \*\*(flagged as an anomaly|passed as normal)\*\*", texts(app))
    app.file_uploader(key="anomaly_own_upload").upload("notes.png", b"not an image at all", "image/png").run()
    assert_no_exception(app)
    assert any("not an image that can be read" in e.value for e in app.error)


def test_shared_link_junk_and_offline_fashion(monkeypatch, tmp_path):
    monkeypatch.setenv(data.CACHE_ENV, str(tmp_path))  # Fashion-MNIST is certainly not cached here

    def offline(*args, **kwargs):
        raise urllib.error.URLError("network is unreachable")

    monkeypatch.setattr(data.urllib.request, "urlopen", offline)
    app = open_page("anomaly", query={"dataset": "digits", "scenario": "corrupted", "corruption": "inversion",
                                      "score": "nonsense"})
    assert_no_exception(app)
    assert app.sidebar.selectbox(key="dataset").value == "digits"
    assert app.selectbox(key="anomaly_scenario").value == "corrupted"
    assert "Anomalous: the same kind of digits with inversion" in texts(app)
    assert any("score=nonsense" in w.value for w in app.warning)

    app.selectbox(key="anomaly_scenario").set_value("ood").run()
    assert_no_exception(app)
    assert "Fashion-MNIST is not on this machine yet" in texts(app)
    app.button(key="anomaly_ood_download").click().run()
    assert_no_exception(app)
    assert any("could not be downloaded" in e.value for e in app.error)


def test_a_busy_training_slot_is_a_notice_and_the_next_run_trains(monkeypatch):
    monkeypatch.setattr(cached, "TRAINING_WAIT_S", 0.1)
    with training.slot() as acquired:  # another visitor's training run
        assert acquired
        app = open_page("anomaly", query={"dataset": "digits", "scenario": "novelty", "digit": "6"})
    assert_no_exception(app)
    assert any("Another training run is using this server" in w.value for w in app.warning)
    # The scenario is named at once, before its detector is trained; its results wait for the detector.
    assert "Anomalous: 6, which the model never saw" in texts(app)
    assert not [h for h in app.subheader if "Set the threshold" in h.value]
    app.run()  # the slot is free now, and nothing was cached while it was busy
    assert_no_exception(app)
    assert "Anomalous: 6, which the model never saw." in texts(app)
    assert [h for h in app.subheader if "Set the threshold" in h.value]


def shown_rule(app, before: str | None) -> str | None:
    """The option a browser shows on the rule radio after this run, given what it showed before it.

    A radio that stays on the page keeps what it showed (or what was clicked) unless the run sends a value; one that
    was gone mounts at its first option unless the run sends a value.
    """
    radios = [r for r in app.radio if r.key == "anomaly_rule"]
    if not radios:
        return None
    proto = radios[0].proto
    if proto.set_value:
        return proto.raw_value
    return before if before is not None else proto.options[proto.default]


def check_rule_agrees(app, shown: str | None, scenario: str) -> None:
    """The radio as shown, the rule the page applies, its knob, its explanation and the link all say the same."""
    assert_no_exception(app)
    link = {k: v[0] if isinstance(v, list) else v for k, v in app.query_params.items()}
    assert link["scenario"] == scenario
    if shown is None:  # the radio is not on the page (Fashion-MNIST is missing); the link keeps the rule it will use
        return
    radio = app.radio(key="anomaly_rule")
    rule = radio.value
    assert shown == radio.options[radio.index], f"the radio shows {shown!r} but the page applies {rule!r}"
    assert link["rule"] == rule
    manual_slider = [s for s in app.slider if s.key == "anomaly_threshold"]
    assumptions = [i.value for i in app.info if "What this rule assumes" in i.value]
    if rule == "manual":
        assert manual_slider and not assumptions
    else:
        assert not manual_slider
        assert assumptions == [f"**What this rule assumes.** {anomaly.THRESHOLD_RULES[rule].assumption}"]


def test_the_rule_shown_is_the_rule_used_across_scenario_switches(monkeypatch, tmp_path):
    """Issue 14, bug 1: Corrupted → Best F1 → Out of distribution → Your own input showed "Manual" but applied Best F1.

    The scenario without Fashion-MNIST ends its run early (st.stop), which skips Streamlit's widget cleanup: the radio
    left the page but its value stayed, and it came back at its first option while the script still read Best F1.
    """
    monkeypatch.setenv(data.CACHE_ENV, str(tmp_path))  # Fashion-MNIST is certainly not cached here
    app = open_page("anomaly", query={"dataset": "digits"})  # one run, so the radio mounts in it
    shown = shown_rule(app, None)
    check_rule_agrees(app, shown, "one-class")

    steps = [("scenario", "corrupted"), ("rule", "best-f1"), ("scenario", "ood"), ("scenario", "own"),
             ("rule", "manual"), ("scenario", "ood"), ("scenario", "corrupted"), ("rule", "sigma"),
             ("scenario", "ood"), ("scenario", "own")]
    scenario = "one-class"
    for what, value in steps:
        if what == "scenario":
            scenario = value
            app.selectbox(key="anomaly_scenario").set_value(value).run()
            shown = shown_rule(app, shown)
        else:
            clicked = app.radio(key="anomaly_rule").options[["manual", *anomaly.THRESHOLD_RULES].index(value)]
            app.radio(key="anomaly_rule").set_value(value).run()
            shown = shown_rule(app, clicked)
        check_rule_agrees(app, shown, scenario)
        if scenario == "ood":
            assert "Fashion-MNIST is not on this machine yet" in texts(app)


def test_not_digits_scores_and_the_shipped_model_table():
    app = open_page("anomaly", query={"dataset": "digits", "scenario": "not-digits"})
    assert_no_exception(app)
    shown = texts(app)
    assert "Anomalous: letters and symbols typeset in twelve fonts" in shown
    assert app.button_group(key="anomaly_score").value == anomaly.default_score("not-digits") == "combined"
    assert f"This scenario uses **{anomaly.SHIPPED_MODEL}**" in shown
    # The code-size table: one row per plain autoencoder, every probe rebuilt worse than the digits.
    rows = re.findall(r"\| (ae-(\d+)) \| [\d.]+ \| [\d.]+ \| ([\d.]+)x \| [01]\.\d{3} \|", shown)
    assert [int(k) for _, k, _ in rows] == sorted(int(k) for _, k, _ in rows) and len(rows) >= 3
    assert all(float(ratio) > 1 for _, _, ratio in rows)
    # The comparison table lists the AE under every score, the code density and the combined one included.
    for kind in anomaly.SCORE_KINDS.values():
        assert f"AE, {kind.label}" in shown

    app.button_group(key="anomaly_score").set_value("code").run()
    assert_no_exception(app)
    assert "Score: Code density (GMM on z)." in texts(app)

    app.button(key="anomaly_measure_models").click().run()
    assert_no_exception(app)
    table = texts(app)
    assert f"| {anomaly.SHIPPED_MODEL} |" in table and re.search(r"\*\*[01]\.\d{3}\*\*", table)
    assert "the page's detector is in bold" in table
