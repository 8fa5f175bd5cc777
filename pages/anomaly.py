"""Anomaly detection: reconstruction error as an anomaly score, and the threshold that turns it into a decision."""

import streamlit as st

from dashboard import anomaly
from dashboard.app import ui
from dashboard.app.cached import anomaly as cached
from dashboard.viz import anomaly_charts, plots

dataset_name, ds = ui.page_header(
    "🚨 Anomaly detection",
    "An autoencoder trained only on **normal** images rebuilds them well and rebuilds anything unusual "
    "badly. Its **reconstruction error is an anomaly score**, and a **threshold** turns that score into a "
    "yes/no flag. The code z adds a second test: an image whose code lands where normal codes rarely go is "
    "suspect too, however well it is rebuilt. Pick a scenario, then move the threshold and watch what each "
    "choice costs.",
    "anomaly")

SCALE = 10 if ds.small_images else 3  # on-screen pixels per image pixel
GALLERY_SIZE = 8
SHOWN_KEY, SLOT_KEY = "_anomaly_results_for", "_anomaly_results_slot"  # the scenario shown, and in which slot

# ---------------------------------------------------------------- 1 · scenario

st.subheader("1 · Pick a scenario")
scenario_keys = list(anomaly.SCENARIOS)
columns = st.columns([2, 1.6, 1.6])
scenario = columns[0].selectbox(
    "Scenario", scenario_keys, format_func=lambda s: anomaly.SCENARIOS[s].title,
    key=ui.url_key("anomaly_scenario", "scenario", "one-class", scenario_keys),
    help="  \n".join(f"**{s.title}**: normal = {s.normal}; anomalous = {s.anomalous}."
                      for s in anomaly.SCENARIOS.values()))
info = anomaly.SCENARIOS[scenario]
digit = corruption = level = None
if info.digit_role:
    digit = columns[1].selectbox(
        info.digit_role.capitalize(), list(range(len(ds.classes))), format_func=lambda c: ds.classes[c],
        key=ui.url_key("anomaly_digit", "digit", 0, list(range(len(ds.classes))), int))
if scenario == "corrupted":
    kinds = list(anomaly.CORRUPTIONS)
    corruption = columns[1].selectbox("Corruption", kinds, format_func=lambda k: anomaly.CORRUPTIONS[k].label,
                                      key=ui.url_key("anomaly_corruption", "corruption", "noise", kinds))
    spec = anomaly.CORRUPTIONS[corruption]
    if spec.low < spec.high:
        level = columns[2].slider("Strength", spec.low, spec.high, spec.default, key=f"anomaly_level_{corruption}",
                                  help=f"{spec.label}: {spec.level_meaning}.")
score_keys = list(anomaly.SCORE_KINDS)
opening_score = anomaly.default_score(scenario)
# Its own row: four buttons need more room than a quarter of the page, and on a phone they wrap instead of clipping.
kind = st.columns([3, 2])[0].segmented_control(
    "Anomaly score", score_keys, format_func=lambda k: anomaly.score_kind(k).short,
    key=ui.url_key("anomaly_score", "score", opening_score, score_keys),
    help="  \n".join(f"**{s.short}**: {s.label}, {s.explanation}." for s in anomaly.SCORES)
    ) or opening_score

# ---------------------------------------------------------------- 2 · threshold (a fragment: a move reruns only this)

RULE_LABELS = {"manual": "Manual: drag the threshold",
               **{k: rule.label for k, rule in anomaly.THRESHOLD_RULES.items()}}


@st.fragment
def threshold_panel(key: tuple, kind: str, model, own_score) -> None:
    results = cached.analysis(key, kind, model)
    evaluation, split = results["evaluation"], cached.split_for(*key)
    st.subheader("2 · Set the threshold")
    controls, chart = st.columns([1, 2], gap="large")
    with controls:
        rule = st.radio("Pick the threshold by", list(RULE_LABELS), format_func=RULE_LABELS.get,
                        key=ui.url_key("anomaly_rule", "rule", "percentile", list(RULE_LABELS)))
        low, high = evaluation.score_range()
        signature = (key, kind)
        if rule == "manual":
            if st.session_state.get("anomaly_threshold_for") != signature:
                # A new scenario or score has a new scale, so an old number means nothing there: start from the
                # rule's threshold when the user just left a rule, else from the 99th percentile of training errors.
                start = st.session_state.get("anomaly_last_threshold") if st.session_state.get(
                    "anomaly_last_for") == signature else evaluation.threshold("percentile")
                st.session_state["anomaly_threshold"] = min(max(float(start), low), high)
                st.session_state["anomaly_threshold_for"] = signature
            threshold = st.slider("Threshold", low, high, step=(high - low) / 400, format="%.4f",
                                  key="anomaly_threshold",
                                  help="Images that score above the threshold are flagged as anomalies.")
            st.caption("No rule: you pick the line by eye. Any threshold is a trade between false alarms and "
                       "missed anomalies; the charts show both sides.")
        else:
            st.session_state.pop("anomaly_threshold_for", None)
            spec = anomaly.THRESHOLD_RULES[rule]
            parameter = None
            if spec.parameter:
                parameter = st.slider(spec.parameter.capitalize(), spec.low, spec.high, spec.default, spec.step,
                                      key=f"anomaly_{rule}")
            threshold = evaluation.threshold(rule, parameter)
            st.markdown(f"Threshold = **{threshold:.4f}**")
        st.session_state["anomaly_last_threshold"], st.session_state["anomaly_last_for"] = threshold, signature
    point = evaluation.at(threshold)
    above_train = float((evaluation.train_scores > threshold).mean())
    with chart:
        marks = {"your image": own_score} if own_score is not None else None
        st.vega_lite_chart(anomaly_charts.with_threshold(results["histogram"], threshold, marks), width="stretch")
        st.markdown(f"**Flag an image when its score is above {threshold:.4f}.** {above_train:.1%} of the normal "
                    f"*training* images score above that line, and {point.false_positive_rate:.1%} of the normal "
                    f"*test* images do.")
        if rule != "manual":
            st.info(f"**What this rule assumes.** {anomaly.THRESHOLD_RULES[rule].assumption}", icon="🧭")

    st.subheader("3 · What this threshold does")
    numbers = st.container(horizontal=True)  # six metrics wrap onto two rows rather than cut to "99.…"
    numbers.metric("Flagged", f"{point.flagged:,}", help="Images with a score above the threshold.")
    numbers.metric("False alarms", f"{point.fp:,}", help="Normal images flagged.")
    numbers.metric("Missed", f"{point.fn:,}", help="Anomalies that pass as normal.")
    numbers.metric("Precision", f"{point.precision:.1%}", help="Of the flagged images, the share that are anomalies.")
    numbers.metric("Recall", f"{point.recall:.1%}", help="Of the anomalies, the share that are flagged.")
    numbers.metric("F1", f"{point.f1:.3f}", help="Harmonic mean of precision and recall.")
    matrix, notes = st.columns([3, 2], gap="large")
    n_normal, n_anomalous = point.tn + point.fp, point.tp + point.fn
    with matrix:
        st.markdown(
            "| truth ↓ · decision → | passed (score ≤ threshold) | flagged (score > threshold) |\n"
            "|---|---:|---:|\n"
            f"| **normal** ({n_normal:,}) | {point.tn:,} correctly passed | {point.fp:,} false alarms |\n"
            f"| **anomalous** ({n_anomalous:,}) | {point.fn:,} missed | {point.tp:,} caught |")
    with notes:
        if own_score is not None:
            verdict = "**flagged as an anomaly**" if own_score > threshold else "**passed as normal**"
            st.markdown(f"Your image (score {own_score:.4f}) is {verdict} at this threshold.")
        if point.false_positive_rate >= 0.5 and split.anomaly_rate > 0.5:
            st.warning(f"F1 is {point.f1:.2f} although {point.false_positive_rate:.0%} of the normal images are false "
                       f"alarms. With anomalies this common ({split.anomaly_rate:.0%} of the test set), flagging "
                       f"every image already reaches F1 {2 * split.anomaly_rate / (1 + split.anomaly_rate):.2f}, so "
                       "F1 barely punishes false alarms here. Watch the false-alarm count instead.", icon="⚠️")
        # A callable defers building the file to the click, so moving the threshold does not pay for it.
        st.download_button("⬇️ Scores and flags (CSV)", lambda: anomaly.scores_csv(split, evaluation, threshold),
                           file_name=f"anomaly_scores_{split.scenario}.csv", mime="text/csv", key="anomaly_csv",
                           wrap=True)

    roc, pr = st.columns(2, gap="large")
    roc.vega_lite_chart(anomaly_charts.with_operating_point(results["roc"], "roc", point), width="stretch")
    pr.vega_lite_chart(anomaly_charts.with_operating_point(results["pr"], "pr", point), width="stretch")
    st.caption(f"Left: recall (share of anomalies flagged) against the false-alarm rate (share of normal images "
               f"flagged). Right: precision (share of flagged images that are anomalies) against recall. "
               f"The violet dot is the current threshold. **AUROC {evaluation.auroc:.3f}**: a random anomaly "
               f"outscores a random normal image {evaluation.auroc:.1%} of the time, whatever the threshold. "
               f"Average precision {evaluation.average_precision:.3f} summarises the right-hand curve; the "
               f"dashed lines are a detector that guesses.")
    ui.sync_url(partial=True)  # a fragment rerun skips the entry point, which keeps the link current otherwise


# ---------------------------------------------------------------- the scenario's results
# All of them in one of two slots, and a new scenario takes the other one: the old slot is then sent empty, which
# clears the previous scenario's results at once (a new container in the same slot would keep them on screen, faded,
# for the seconds a detector trains or images are scored). A run of the same scenario (another score, your own
# drawing) refills its slot in place, so the page does not jump.
scenario_key = (dataset_name, scenario, digit, corruption, level)
if st.session_state.get(SHOWN_KEY) != scenario_key:
    st.session_state[SHOWN_KEY] = scenario_key
    st.session_state[SLOT_KEY] = 1 - st.session_state.get(SLOT_KEY, 1)
slots = [st.empty(), st.empty()]
results_slot = slots[st.session_state[SLOT_KEY]].container()
with results_slot:
    if scenario == "ood" and not anomaly.ood_available():
        st.warning("**Fashion-MNIST is not on this machine yet.** This scenario tests clothing images against the "
                   "digit model, so it needs that dataset (about 30 MB, downloaded once).", icon="📡")
        if not st.button("Download Fashion-MNIST and run this scenario", key="anomaly_ood_download"):
            ui.sync_url(partial=True)  # st.stop() skips the entry point's sync: the link would keep the last scenario
            st.stop()
        bar = st.progress(0.0, text="Downloading Fashion-MNIST…")
        try:
            anomaly.download_ood(progress=lambda fraction, text: bar.progress(min(fraction, 1.0), text=text))
        except anomaly.ScenarioUnavailable as exc:
            bar.empty()
            st.error(str(exc), icon="📡")
            st.stop()
        bar.empty()
    key = scenario_key
    try:
        split = cached.split_for(*key)
    except anomaly.ScenarioUnavailable as exc:
        st.error(str(exc), icon="📡")
        st.stop()
    # What the scenario is, before the detector is trained or its images scored: that can take seconds, under
    # this line, with each step named by its progress bar or spinner.
    st.markdown(f"**{split.description}**  \nDetector: {info.model}. Test set: {len(split.y_test):,} images, "
                f"{split.y_test.sum():,} of them anomalous. Score: {anomaly.score_kind(kind).label}.")
    model = cached.detector(dataset_name, scenario, digit)
    results = cached.analysis(key, kind, model)
    evaluation = results["evaluation"]

    # ------------------------------------------------------------ your own image (scored before the threshold panel)

    own = None
    own_box = st.container(border=True) if scenario == "own" else st.expander(
        "✏️ Score your own image against this detector", expanded=False)
    with own_box:
        if scenario == "own":
            st.markdown("**Draw or upload anything**: a digit, a letter, a scribble. The detector has only seen clean "
                        "digits, so it should rebuild digits well and everything else badly.")
        left, right = st.columns([1, 2], gap="large")
        with left:
            prepared = ui.image_input("anomaly_own", ds.image_shape, label="Draw or upload")
        with right:
            if prepared is not None:
                own = anomaly.explain(model, prepared.tensor, kind, cached.reference(key, model))[0]
                vmax = float(own.error_map.max()) or None
                pictures = st.columns(3)
                pictures[0].image(plots.to_pixels(own.x[0], SCALE * 2), caption="your image (as the model sees it)")
                pictures[1].image(plots.to_pixels(own.x_hat[0], SCALE * 2), caption="reconstruction")
                pictures[2].image(plots.heatmap_pixels(own.error_map, vmax, SCALE * 2), caption="error map")
                rank = evaluation.rank_of(own.score)
                st.metric("Your image's score", f"{own.score:.4f}",
                          help="Higher means the detector rebuilt it worse.")
                st.caption(f"It scores higher than {rank:.0%} of the normal test images. The verdict at the current "
                           "threshold is shown below, and its score is the green dashed line in the histogram.")

    threshold_panel(key, kind, model, None if own is None else own.score)

    # ---------------------------------------------------------------- 4 · galleries and the latent view

    st.subheader("4 · The images behind the numbers")
    shown = cached.galleries(key, kind, model, GALLERY_SIZE, SCALE)
    for name, (pixels, caption) in shown.items():
        st.markdown(f"**The {GALLERY_SIZE} {name} test images.** Rows: input, reconstruction, error map "
                    "(brighter = larger error, on one colour scale for both galleries).")
        st.image(pixels, caption=f"truth (score): {caption}", output_format="PNG")

    figure, description = cached.latent_view(key, kind, model)
    view, words = st.columns([2, 1], gap="large")
    with view:
        st.plotly_chart(figure, width="stretch", key="anomaly_latent")
    with words:
        st.markdown("**The detector's latent space.** Each point is a test image's code z, shown as "
                    f"{description}. Colour is the anomaly score's rank (red = most anomalous); diamonds are the true "
                    "anomalies.")
        st.markdown("Anomalies that land among the normal codes are the hard ones: the model squeezes them into a "
                    "familiar code and rebuilds a normal-looking image from it, so the error is what gives them away, "
                    "not the position alone.")
        st.download_button("⬇️ 3D view (HTML)", lambda: ui.figure_html(figure), file_name="anomaly_latent_3d.html",
                           mime="text/html", key="anomaly_latent_html", wrap=True)

    # ---------------------------------------------------------------- 5 · baselines

    st.subheader("5 · Against classical detectors")
    st.markdown(anomaly_charts.table_markdown(cached.comparison(key, model)))
    baseline_config = anomaly.BaselineConfig()
    st.caption("Same training images, same test images, fixed settings (no tuning on test labels). PCA keeps "
               f"{baseline_config.pca_components} components, as many numbers as the on-demand detectors' code; "
               "IsolationForest "
               f"and the One-Class SVM (RBF kernel, at most {baseline_config.svm_max_train:,} training images) work on "
               "raw pixels. AUROC and average precision are computed from each method's continuous score, not from "
               "yes/no flags.")

    # ---------------------------------------------------------------- 6 · which shipped model (shipped-model scenarios)

    if not info.trains_model:
        st.subheader("6 · Which shipped model makes the best detector?")
        st.markdown(
            f"This scenario uses **{anomaly.SHIPPED_MODEL}** with the "
            f"**{anomaly.score_kind(anomaly.DEFAULT_SCORE).label}** score, because it separated test digits from the "
            "*Not digits* probe set best of every shipped model and score. Why the code size matters: a code of k "
            "numbers can only keep what the training digits share, so a letter or a scribble is squeezed into the "
            "nearest digit-like code and comes back as a digit, with a large error. A wider code keeps enough to copy "
            "strokes it never saw: it rebuilds anomalies better too, so they stand out less. Too tight, and even the "
            "digits come back blurred.")
        sizes = cached.code_sizes(dataset_name)
        if len(sizes):
            st.markdown(anomaly_charts.code_size_markdown(sizes))
            st.caption("The plain autoencoders, by code size: median pixel error on the scenario's test digits and "
                       "on the probes (letters, symbols, scribbles). The ratio is how much worse a probe is rebuilt "
                       "than a digit: the larger, the easier to flag. AUROC uses the pixel error alone.")
        table = cached.shipped_detectors(dataset_name, compute=False)
        if table is None:
            if st.button("Measure every shipped model and score on the probe set", key="anomaly_measure_models"):
                table = cached.shipped_detectors(dataset_name, compute=True)
        if table is not None:
            st.markdown(anomaly_charts.detector_markdown(table, anomaly.SHIPPED_MODEL, anomaly.DEFAULT_SCORE))
            st.caption(f"AUROC on {table.attrs.get('n_digits', 0):,} test digits against "
                       f"{table.attrs.get('n_probes', 0):,} probes; the page's detector is in bold. Columns: "
                       f"{anomaly_charts.score_columns(table)}; code density fits a Gaussian mixture to each model's "
                       "codes of the training digits.")
