"""Interpretability (SAE): a sparse autoencoder reads the reference classifier's feature layer, feature by feature."""

import numpy as np
import pandas as pd
import streamlit as st

from dashboard.app import ui
from dashboard.app.cached import interpretability as cached
from dashboard.core import zoo
from dashboard.viz import interpretability_charts as charts
from dashboard.viz import plots

dataset_name, ds = ui.page_header(
    "🔬 Interpretability (SAE)",
    "Since 2024 many people have met autoencoders as a **microscope**. A **sparse autoencoder** (SAE) trained on a "
    "network's activations splits them into many **features**, few active at a time, that each tend to mean one "
    "thing. Here it reads the 64-unit feature layer of the app's reference digit classifier: browse its features, "
    "see which few fire on a digit, switch one off and watch the prediction move, and compare with PCA.",
    lesson_page="interpretability")

try:
    found = cached.catalogue(dataset_name)
except (zoo.ModelNotFound, zoo.CheckpointError):
    ui.needs_shipped("the shipped sparse autoencoder (sae-512) and the reference classifier it reads", dataset_name)

study, scores = found.study, found.study.scores
card = zoo.read_card(cached.SAE_NAME, dataset_name)
k, width = card["config"]["k"], card["config"]["width"]
SCALE = 9 if ds.small_images else 3
alive = [int(f) for f in study.alive]
if not found.source_matches:
    st.warning("The shipped classifier has changed since this SAE was trained on it: rebuild the SAE "
               f"(`{card['rebuild']}`) before trusting the numbers below.", icon="⚠️")

# ---------------------------------------------------------------- the scores, computed on this page
st.subheader(f"The SAE on {len(study.labels):,} test digits")
# One wrapping row, not two rows of three columns: beside an open sidebar the numbers stack rather than clip.
cols = st.container(horizontal=True)
cols.metric("Variance explained", f"{scores['fve']:.3f}",
            help="Fraction of the variance of the 64 activations that the SAE's reconstruction keeps.")
cols.metric("Active per image (L0)", f"{scores['l0']:.1f} of {width}",
            help=f"Features active on an image, on average. TopK keeps the {k} largest latents of each image and "
                 "sets the rest to zero.")
cols.metric("Accuracy kept", f"{scores['accuracy_kept']:.1%}",
            help="The classifier's accuracy with its feature layer replaced by the SAE's reconstruction, "
                 f"as a share of its own ({scores['accuracy']:.1%}).")
cols.metric("Dead features", f"{scores['dead_fraction']:.1%}", help="Never active on any test image.")
cols.metric("Dense features", f"{scores['dense_fraction']:.1%}", help="Active on more than half the test images.")
cols.metric("Median top-10 purity", f"{scores['median_top10_purity'] * 10:.0f} of 10",
            help=f"Over the {scores['features_scored']} features active on at least 10 test images: how many of "
                 "each one's 10 strongest images show its commonest digit (10 of 10: all one class).")
st.caption(f"The SAE has {width} features, {width // study.activations.shape[1]}× the classifier's "
           f"{study.activations.shape[1]} units, and keeps the {k} largest per image (TopK). It trained on the "
           f"classifier's activations of the training digits in {card['train_seconds']:.0f} s on "
           f"{card['device']}; every number above is computed on this page from the test digits.")


# ---------------------------------------------------------------- 1 · feature browser
@st.fragment
def browser() -> None:
    st.subheader("1 · Browse the features")
    pick_col, class_col = st.columns([3, 1], vertical_alignment="bottom")
    focus = class_col.selectbox("Mostly about", ["any digit", *ds.classes], key="interp_class",
                                help="Keep only the features whose top 10 images are mostly this digit.")
    options = alive if focus == "any digit" else [f for f in alive
                                                  if found.top_class[f] == ds.classes.index(focus)]
    if not options:
        st.info(f"No feature's top images are mostly {focus}s.")
        return
    count = (f"{len(alive)} fire on test digits" if focus == "any digit"
             else f"{len(options)} of the {len(alive)} that fire on test digits")
    feature = pick_col.selectbox(f"Feature ({count}; the most frequent first)", options,
                                 key=ui.url_key("interp_feature", "feature",
                                                cached.default_feature(dataset_name, options), options, int),
                                 format_func=found.labels.__getitem__)
    values = study.codes[:, feature]
    grid_col, side_col = st.columns([2, 1], gap="large")
    with grid_col:
        st.markdown(f"**Feature #{feature}: {found.descriptions[feature]}.**")
        st.image(cached.top_grid(dataset_name, feature), output_format="PNG")
        st.caption("The test digits on which this feature fires most strongly, each headed by its true class and "
                   "the feature's activation, above a map of where in it the feature fires, by gradient × input "
                   "(bright: pixels whose ink raises the feature; each map on its own scale).")
    with side_col:
        st.metric("Fires on", f"{(values > 0).mean():.1%}",
                  help="The share of the test digits on which its activation is above zero.")
        st.vega_lite_chart(cached.histogram_spec(dataset_name, feature), width="stretch")
        st.caption("How strongly it fires where it fires at all: its activations above zero.")
    st.markdown("**Effect on the 10 class scores.** Adding one unit of this feature moves each logit by:")
    st.vega_lite_chart(cached.logit_spec(dataset_name, feature), width="stretch")
    st.caption("Exact, because the classifier's last layer is linear: the head applied to the feature's decoder "
               "direction.")
    ui.sync_url(partial=True)


browser()


# ---------------------------------------------------------------- 2 · one image, and steering
@st.fragment
def one_image() -> None:
    st.subheader("2 · Which features fire on one digit")
    source = st.segmented_control("Image", ["Test digit", "Draw or upload"], default="Test digit",
                                  key="interp_source") or "Test digit"
    pick_col, view_col = st.columns([1, 2.4], gap="large")
    with pick_col:
        if source == "Test digit":
            index = ui.pick_test_index("interp_image", len(ds.x_test))
            image, truth = ds.x_test[index], ds.classes[int(ds.y_test[index])]
        else:
            prepared = ui.image_input("interp_own", ds.image_shape, label="Your digit")
            if prepared is None:
                return
            image, truth = prepared.tensor.reshape(ds.image_shape), None
        st.image(plots.to_pixels(image, SCALE * 2), output_format="PNG",
                 caption=f"true class {truth}" if truth is not None else "your digit")
    parts = cached.breakdown(dataset_name, image)
    predicted = int(np.argmax(parts.probabilities))
    with view_col:
        if not len(parts.features):
            st.info("No feature fires on this image: the SAE rebuilds it as the average activation only.")
            return
        st.markdown(f"The classifier says **{ds.classes[predicted]}** ({parts.probabilities[predicted]:.0%}). "
                    f"**{len(parts.features)}** of {width} features fire; together they rebuild "
                    f"{max(parts.fve, 0):.0%} of this digit's activations.")
        descriptions = [found.descriptions[f] for f in parts.features]
        st.vega_lite_chart(charts.share_bars(parts.features, parts.shares, descriptions).to_dict(), width="stretch")
        st.caption("Each bar is one feature's activation as a share of the sum of the active features' "
                   "activations. The strongest three:")
        st.markdown("\n".join(f"- **#{f}** ({share:.0%}): {found.descriptions[f]}"
                               for f, share in zip(parts.features[:3], parts.shares[:3])))

    st.subheader("3 · Steer: change one feature and watch the prediction")
    steer_col, chart_col = st.columns([2, 3], gap="large")
    with steer_col:
        feature = st.selectbox("Feature", [int(f) for f in parts.features], key="interp_steer_feature",
                               format_func=lambda f: f"#{f} · {found.descriptions[f]}",
                               help="The features active on this digit, strongest first.")
        ceiling = float(max(study.codes[:, feature].max(), parts.values.max()) * 2)
        value = st.slider("Set it to", 0.0, round(ceiling, 1), 0.0, step=round(ceiling / 40, 2) or 0.01,
                          key=f"interp_steer_value_{feature}",
                          help="0 switches the feature off (ablation); larger values boost it. Its strongest "
                               "activation on any test digit is half the right end.")
    steered = cached.steer(dataset_name, image, feature, value)
    after = int(np.argmax(steered.after))
    with chart_col:
        st.vega_lite_chart(charts.probability_bars(steered.before, steered.after, ds.classes).to_dict(),
                           width="stretch")
    verdict = ("the prediction stays" if after == predicted else "the prediction changes to")
    st.caption(f"Feature #{feature} was {steered.original:.2f} on this digit; set to {steered.value:.2f}, "
               f"{verdict} **{ds.classes[after]}** ({steered.after[after]:.0%}). The SAE's reconstruction error is "
               "added back, so only the change to this one feature moves the probabilities.")
    ui.sync_url(partial=True)


one_image()


# ---------------------------------------------------------------- 4 · against PCA
st.subheader("4 · Sparse features against PCA's dense directions")
n_pca = found.n_pca
pca_scored = found.pca_purity[~np.isnan(found.pca_purity)]
sae_scored = found.purity[~np.isnan(found.purity)]
cols = st.container(horizontal=True)  # side by side, or one under the other where they would clip
cols.metric("SAE: median top-10 purity", f"{np.median(sae_scored) * 10:.0f} of 10",
            help=f"{len(sae_scored)} features active on at least 10 test digits.")
cols.metric("PCA: median top-10 purity", f"{np.median(pca_scored) * 10:.0f} of 10",
            help=f"The first {len(pca_scored)} directions, each scored at its purer end (its 10 highest or "
                 "its 10 lowest digits).")
sae_clean, pca_clean = float(np.mean(sae_scored == 1.0)), float(np.mean(pca_scored == 1.0))
median_rate = float(np.median(study.firing_rate[study.firing_rate > 0]))
st.caption(f"Scored the same way, {sae_clean:.0%} of the SAE's features have all 10 top digits of one class, "
           f"and {pca_clean:.0%} of PCA's first {n_pca} directions do at their purer end: the classifier's layer "
           "is trained to separate digits, so its main directions sort them at the extremes too. The bigger "
           "difference is density. Every digit has a non-zero coordinate on "
           f"every PCA direction; the median SAE feature is active on {median_rate:.1%} of the digits. PCA's "
           f"first {n_pca} directions explain {found.pca_fve:.3f} of the variance with all {n_pca} numbers used "
           f"for every digit; the SAE explains {scores['fve']:.3f} with about {n_pca} of its {width} features, "
           "chosen per digit.")
st.vega_lite_chart(cached.purity_spec(dataset_name), width="stretch")
direction = st.select_slider("PCA direction", list(range(1, n_pca + 1)), value=1, key="interp_pca_direction",
                             help="Directions are ordered by how much of the variance they carry.") - 1
high, low = cached.pca_ends(dataset_name, direction)
st.image(cached.pca_grid(dataset_name, direction), output_format="PNG")
st.caption(f"Direction {direction + 1} carries {found.pca.explained[direction]:.1%} of the variance. Its 10 highest "
           f"digits (top row) are {', '.join(ds.classes[c] for c in high)}; its 10 lowest (bottom row) are "
           f"{', '.join(ds.classes[c] for c in low)}.")

table = pd.DataFrame({"feature": range(width), "fires on (share of test digits)": study.firing_rate,
                      "commonest class in top 10": [ds.classes[c] if c >= 0 else "" for c in found.top_class],
                      "top-10 purity": found.purity, "description": found.descriptions})
st.download_button("Download every feature's summary (CSV)", table.to_csv(index=False).encode(),
                   f"sae-features-{dataset_name}.csv", "text/csv", key="interp_download")
