"""Latent features: the encoder as a scikit-learn transformer, feeding a classifier that gets only a few labels."""

import streamlit as st

from dashboard import features
from dashboard.app import ui
from dashboard.app.cached import features as cached
from dashboard.core import zoo
from dashboard.viz import features_charts, plots

dataset_name, ds = ui.page_header(
    "🧩 Latent features",
    "The autoencoders learned their **code z** from images alone, without a single label. Here that code "
    "becomes the input of an ordinary scikit-learn classifier that may see only **a few labelled digits**. "
    "Compare it with the same classifier on **raw pixels** and on **PCA** of the same size. One classifier, "
    "**label spreading**, is *semi-supervised*: it also looks at where the unlabelled training images' codes lie "
    "and passes each label on to its neighbours.",
    lesson_page="features")

KIND_LABELS = {"raw": "Raw pixels", "pca": "PCA", "ae": "AE", "vae": "VAE", "dae": "DAE"}
REFERENCE = "logistic"  # the classifier whose curves are always computed; the benchmark's protocol
SCALE = 10 if ds.small_images else 3  # on-screen pixels per image pixel
N_MISTAKES_SHOWN = 10
MISTAKE_PX = 64  # on-screen width of each: all ten fit one row at 1280 px, and rows of five on a phone

shipped = zoo.names(dataset_name)
if not shipped:
    st.info(f"This page compares the shipped autoencoders' codes, which exist for mnist-5k and digits but not for "
            f"**{dataset_name}**. Pick one of those in the sidebar.", icon="🧪")
    st.stop()
sizes = sorted({zoo.parse_name(m)[1] for m in shipped})
budgets = features.budgets_for(dataset_name)
n_classes, n_train = len(ds.classes), len(ds.y_train)


def budget_text(budget) -> str:
    return f"all ({n_train:,})" if budget == features.ALL else f"{budget} per class"


@st.fragment
def explore() -> None:
    # ---------------------------------------------------------------- 1 · the setting and its accuracy
    st.subheader("1 · Train a classifier on a few labels")
    controls, results = st.columns([1, 2.3], gap="large")
    with controls:
        budget = st.select_slider(
            "Labelled images per class", budgets, format_func=budget_text,
            key=ui.url_key("features_budget", "labels", 10 if 10 in budgets else budgets[0], budgets,
                           lambda raw: raw if raw == features.ALL else int(raw)),
            help="Drawn at random from the training split, the same number from every class. The codes were "
                 "learned from all training images, but without their labels.")
        classifier = st.selectbox("Classifier", list(features.CLASSIFIERS), format_func=features.CLASSIFIERS.get,
                                  key=ui.url_key("features_classifier", "clf", REFERENCE, list(features.CLASSIFIERS)),
                                  help="The first four learn from the labelled images only. Label spreading is "
                                       "semi-supervised: it builds a 7-nearest-neighbour graph of every training "
                                       "image's features, labelled or not, and lets the few labels flow along it.")
        k = st.select_slider("Code size k", sizes, key=ui.url_key("features_k", "k", 16 if 16 in sizes else sizes[-1],
                                                                    sizes, int),
                             help="PCA and the autoencoders all summarise each image in k numbers.")
        kinds = ["raw", "pca", *(zoo.parse_name(m)[0] for m in features.comparison_sets(dataset_name, k)[2:])]
        kind = st.radio("Features", kinds, format_func=KIND_LABELS.get, horizontal=True,
                        key=ui.url_key("features_kind", "features", "ae" if "ae" in kinds else kinds[0], kinds),
                        help="Raw pixels: the image itself. PCA: the best linear summary in k numbers. AE / VAE / "
                             "DAE: the code z of a plain, variational or denoising autoencoder.")
        seed = st.number_input("Label draw #", 0, len(features.SEEDS) - 1, step=1,
                               key=ui.url_key("features_draw", "draw", 0, range(len(features.SEEDS)), int),
                               help="Which random set of labelled images to use. The chart averages all "
                                    f"{len(features.SEEDS)} draws.")
    feature_set = "raw" if kind == "raw" else f"{kind}-{k}"
    name = features.feature_set_label(feature_set)
    with st.spinner(f"Fitting {features.CLASSIFIERS[classifier]} on {budget_text(budget)}…"):
        result = cached.evaluation(dataset_name, feature_set, classifier, budget, int(seed))
        raw = cached.evaluation(dataset_name, "raw", classifier, budget, int(seed))
    width = features.feature_width(feature_set, dataset_name)

    with results:
        # A wrapping row: beside the controls, four metrics in columns were cut to "85…" on a laptop.
        numbers = st.container(horizontal=True)
        numbers.metric("Test accuracy", f"{result.accuracy:.1%}", help=f"{name} features, on all "
                       f"{len(ds.y_test):,} test images, which the classifier never saw.")
        if feature_set != "raw":
            numbers.metric("vs raw pixels", f"{raw.accuracy:.1%}",
                           f"{100 * (result.accuracy - raw.accuracy):+.1f} pts",
                           help="The same classifier on the same labelled images, fed the pixels themselves.")
        else:
            numbers.metric("vs raw pixels", "—", help="Pick PCA, AE or VAE features to compare with raw pixels.")
        numbers.metric("Labels used", f"{result.n_labels:,}", help=f"of {n_train:,} training images")
        numbers.metric("Input size", f"{width}", help=f"Numbers per image fed to the classifier; each image has "
                       f"{ds.n_pixels} pixels.")
        if classifier in features.SEMI_SUPERVISED:
            st.caption(f"Semi-supervised: label spreading also saw the features of the other "
                       f"{n_train - result.n_labels:,} training images, without their labels. The test images stay "
                       "out of it until they are scored.")

        table = cached.accuracy_curves(dataset_name, classifier, k, budgets, compute=classifier == REFERENCE)
        shown = classifier
        if table is None:
            table, shown = cached.accuracy_curves(dataset_name, REFERENCE, k, budgets, compute=True), REFERENCE
        marked = (result.n_labels, result.accuracy) if shown == classifier else None
        title = f"{features.CLASSIFIERS[shown]}: accuracy against labels"
        st.vega_lite_chart(cached.accuracy_spec(dataset_name, shown, k, budgets, table, title, marked),
                           width="stretch")
        if shown != classifier:
            note, button = st.columns([3, 1], vertical_alignment="center")
            note.caption(f"These curves are for {features.CLASSIFIERS[REFERENCE]}, which is quick to compute. "
                         f"Curves for {features.CLASSIFIERS[classifier]} take a while (every feature set × budget × "
                         "draw), once for everyone on this server.")
            if button.button("Compute them", key="features_compute_curves", width="stretch"):
                cached.accuracy_curves(dataset_name, classifier, k, budgets, compute=True)
                st.rerun()  # redraw the chart above with the new curves
        else:
            st.caption(f"Each point is the mean over {len(features.SEEDS)} random label draws; error bars span one "
                       "standard deviation (with every label there is only one draw). The magenta ring is your "
                       "setting.")

    # ---------------------------------------------------------------- 2 · where it goes wrong
    st.subheader("2 · Where it goes wrong")
    matrix_col, view_col = st.columns([2, 3], gap="large")
    wrong = features.misclassified(result)
    with matrix_col:
        st.vega_lite_chart(cached.confusion_spec(result.confusion, ds.classes), width="stretch")
        st.caption(f"{len(wrong)} of {len(ds.y_test):,} test images misclassified. Rows are the true digit, "
                   "columns the prediction: off-diagonal cells are the confusions.")
    with view_col:
        figure, description = cached.misclassified_map(dataset_name, feature_set, result.predictions, wrong)
        st.plotly_chart(figure, width="stretch", key="features_map")
        st.caption(f"Test images in the {name} feature space ({description}), coloured by their true class. "
                   "Magenta crosses mark the misclassified ones: mostly where two classes meet.")
    if len(wrong):
        st.markdown("**Some misclassified test images** (true class → prediction)")
        # A wrapping row of small pictures: ten columns stacked into one tall strip on a phone.
        mistakes = st.container(horizontal=True, gap="xsmall")
        for i in wrong[:N_MISTAKES_SHOWN]:
            mistakes.image(plots.to_pixels(ds.x_test[i], SCALE), width=MISTAKE_PX,
                           caption=f"{ds.classes[int(ds.y_test[i])]} → {ds.classes[int(result.predictions[i])]}")

    # ---------------------------------------------------------------- 3 · your own digit
    st.subheader("3 · Your own digit")
    input_col, answer_col = st.columns([1, 2], gap="large")
    with input_col:
        prepared = ui.image_input("features_own", ds.image_shape, label="Draw or upload")
    with answer_col:
        if prepared is None:
            st.info("Draw or upload a digit to see what this pipeline predicts for it.")
        else:
            probabilities = features.predict_image(result, prepared.tensor)
            top = int(probabilities.argmax())
            picture, verdict = st.columns([1, 3])
            picture.image(plots.to_pixels(prepared.tensor[0], SCALE * 2), caption="what the model sees")
            verdict.metric("Prediction", ds.classes[top], f"{probabilities[top]:.0%} sure", delta_color="off")
            st.altair_chart(features_charts.probability_chart(probabilities, ds.classes), width="stretch")
            st.caption(f"Probabilities from the pipeline above: {name} features, then "
                       f"{features.CLASSIFIERS[classifier]} trained on {result.n_labels:,} labels."
                       + (" The SVM's probabilities come from temperature scaling fitted on the same labels."
                          if classifier == "svm" else ""))

    # ---------------------------------------------------------------- 4 · reuse it
    st.subheader("4 · Reuse the pipeline")
    st.code(features.pipeline_code(dataset_name, feature_set, classifier, budget, int(seed)), language="python")
    st.caption("Run this in Python at the project root: it prints the test accuracy shown above. "
               "`AutoencoderFeatures` is a real scikit-learn transformer, so it also works in `GridSearchCV`, "
               "`cross_val_score` and `clone`.")
    stem = f"features_{dataset_name}_{feature_set}"
    downloads = st.container(horizontal=True)
    downloads.download_button("⬇️ Features (CSV)", lambda: features.features_frame(result).to_csv(index=False).encode(),
                              file_name=f"{stem}.csv", mime="text/csv", key="features_csv",
                              help=f"All {len(ds.y_train) + len(ds.y_test):,} images: split, label, whether the "
                                   "label was used, the test prediction and the feature values.")
    downloads.download_button("⬇️ Accuracy table (CSV)", table.to_csv(index=False).encode(),
                              file_name=f"features_{dataset_name}_{shown}_k{k}_accuracy.csv", mime="text/csv",
                              key="features_table_csv",
                              help="The numbers behind the chart: mean and std of test accuracy per feature set "
                                   "and label budget.")

explore()
st.markdown("These codes are **dense**: every one of the k numbers is non-zero for every digit, so no single number "
            "means one thing. A *sparse* autoencoder does the opposite, with many more features and only a few active "
            "per digit, which makes each one readable.")
st.page_link("pages/interpretability.py", label="Read a network one feature at a time on the Interpretability (SAE) "
             "page", icon="🔬")
