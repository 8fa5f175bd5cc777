"""Sampling: decode random codes into new images; why a plain AE samples badly and a VAE or a fitted density helps."""

import pandas as pd
import streamlit as st

from dashboard.app import ui
from dashboard.app.cached import sampling as cached
from dashboard.core import zoo
from dashboard.sampling import samplers
from dashboard.viz import sampling_charts, sampling_figures

dataset_name, ds = ui.page_header(
    "🎲 Sampling",
    "Make **new** images: draw a code z at random and decode it. A plain **AE** only makes digits if z "
    "comes from where its codes really live. Compare six ways of drawing z, see the **holes** in the "
    "latent space, and walk from one digit to another.",
    lesson_page="sampling")

N_SCORED, N_MAP_SAMPLES = cached.N_SCORED, cached.N_MAP_SAMPLES  # samples per scored sampler, per latent map
TEMPERATURES = list(samplers.TEMPERATURES)
COMPONENTS = [1, 2, 3, 5, 10, 20]
CONTROL_WIDTH = 170  # px per slider: a row of three and the seed fits 1280 px and wraps beside an open sidebar
SAMPLER_WIDTH = 128  # px per sampler's cell: all six fit in a row at 1280 px with the sidebar open
SCORED_KEY = "sampling_scored_temperature"  # the temperature the scores were computed at (scoring waits for a click)
DESCRIPTIONS = {
    "AE + N(0, I)": "z from a standard normal: a blind guess at where the AE's codes are.",
    "AE + fitted Gaussian": "z from one Gaussian fitted to the AE's codes: right centre and spread.",
    "AE + Gaussian mixture": "z from a mix of {gaussians} fitted to the AE's codes: follows their clusters.",
    "VAE + N(0, I) prior": "z from N(0, I), the prior the VAE's KL term pulls its codes towards.",
    "VAE + Gaussian mixture": "z from a mix of {gaussians} fitted to the VAE's own codes: where they really went.",
    "AE + latent diffusion": "z walked from noise by a flow model trained on the AE's codes (Latent diffusion page).",
}

shipped = zoo.names(dataset_name)
parsed = [zoo.parse_name(n) for n in shipped]  # (family, latent size) of each shipped model
sizes = sorted({k for family, k in parsed if family == "ae"} & {k for family, k in parsed if family == "vae"})
if not sizes:
    st.info(f"The sampling page needs the shipped `ae-k` and `vae-k` models, which exist for mnist-5k and digits but "
            f"not for **{dataset_name}**. Pick one of those in the sidebar.", icon="🧪")
    st.stop()


@st.cache_data(show_spinner=False, max_entries=64)
def spread_specs(dataset: str, k: int, components: int, temperature: float) -> list[dict]:
    """The class-spread charts as finished specs: building altair charts costs 100+ ms on every rerun."""
    reports = {label: r for label, r in cached.scores(dataset, k, components, temperature).items()
               if label in sampling_figures.SETUP_COLORS}
    return [chart.to_dict() for chart in sampling_charts.class_spread_charts(
        reports, ui.dataset(dataset).classes, sampling_figures.SETUP_COLORS)]


GRIDS, SCORES, SCORE_NOTE = "sampling_grids", "sampling_scores", "sampling_score_note"  # the fragments' keys


def rerun_both() -> None:
    """A change of k or mixture reruns the grids and the scores; a new seed reruns the grids only."""
    st.rerun([GRIDS, SCORES])


def rerun_grids_and_note() -> None:
    """A temperature changes the grids and the 'Score at t' button, not the scores until that button is pressed."""
    st.rerun([GRIDS, SCORE_NOTE])


def next_seed(seed_key: str) -> None:
    """A callback runs before the fragment does, so the seed box and the grids of that run show the new seed."""
    st.session_state[seed_key] = (st.session_state[seed_key] + 1) % 10_000


def score_at(temperature: float) -> None:
    st.session_state[SCORED_KEY] = temperature
    rerun_both()  # the metrics under the grids show the new scores too


# ---------------------------------------------------------------- 1 · five samplers
# The scores (section 2) do not depend on the seed: a fragment of their own spares each "New samples" click their
# table and five charts.
@st.fragment(key=GRIDS)
def sample_grids() -> None:
    st.subheader("1 · Six ways to draw a code")
    # A wrapping row, not columns: on a laptop with the sidebar open the five controls take two rows instead of
    # cutting their labels short.
    controls = st.container(horizontal=True, vertical_alignment="bottom")
    k = controls.select_slider("Code size k", sizes, width=CONTROL_WIDTH,
                               key=ui.url_key("sampling_k", "k", 16 if 16 in sizes else sizes[-1], sizes, int),
                               help="The AE and the VAE with this many numbers in the code.", on_change=rerun_both)
    components = controls.select_slider(
        "Mixture components", COMPONENTS, key=ui.url_key("sampling_components", "gmm", 10, COMPONENTS, int),
        width=CONTROL_WIDTH,
        help="How many Gaussians each mixture fits to the AE's or the VAE's codes; about one per digit class suits "
             "these data. "
             "With 1 it is the single fitted Gaussian again.", on_change=rerun_both)
    temperature = controls.select_slider(
        "Temperature", TEMPERATURES, key=ui.url_key("sampling_temperature", "t", 1.0, TEMPERATURES, float),
        width=CONTROL_WIDTH,
        help="Scales each sampler's spread around its centre(s), using the same random draws: 1 is the "
             "distribution as fitted or trained, lower stays near typical codes (cleaner, less varied), higher "
             "wanders off (more varied, more broken).", on_change=rerun_grids_and_note)
    seed_key = ui.url_key("sampling_seed", "seed", 0, range(10_000), int)
    seed_box = controls.container(horizontal=True, vertical_alignment="bottom", width="content", gap="xsmall")
    seed = int(seed_box.number_input("Seed", 0, 9_999, step=1, key=seed_key, width=110,
                                     help="The same seed gives the same samples; share the link to show them."))
    seed_box.button("🎲 New samples", key="sampling_reseed", on_click=next_seed, args=(seed_key,))

    # Fixed-width cells in a wrapping row: six across at 1280 px, four and two beside an open sidebar, two on a
    # phone, and never narrower than their metric. The grids go out first and their scores after them: a code
    # size the server has not scored yet takes seconds of classifying samples, and the new grids need none of it.
    row = st.container(horizontal=True, gap="xsmall")
    slots = {}
    for setup in samplers.SETUPS:
        with row.container(width=SAMPLER_WIDTH):
            family, sampler = setup.label.split(" + ", 1)
            st.markdown(f"**{family} +**  \n**{sampler}**")  # two lines for every name, so the grids line up
            if not setup.available(dataset_name, k):
                st.caption(f"Not shipped at k = {k}: its flow models learn the 2- and 16-number codes only.")
                continue
            png = cached.grid_png(dataset_name, setup.label, k, components, seed, temperature)
            st.image(png, width="stretch", output_format="PNG")
            st.caption(DESCRIPTIONS[setup.label].format(
                gaussians=f"{components} Gaussian{'s' if components != 1 else ''}"))
            slots[setup.label] = st.empty()
            # A callable: the file is handed over only when clicked, not registered with every new grid.
            st.download_button("⬇️ PNG", lambda png=png: png,
                               file_name=f"{dataset_name}_{setup.model_name(k)}_{setup.kind}_t{temperature}_seed{seed}.png",
                               mime="image/png", key=f"sampling_png_{setup.kind}_{setup.family}")
            st.space("xsmall")  # the narrow gap that fits six across would crowd a second row's names
    scored_t = st.session_state.setdefault(SCORED_KEY, 1.0)
    reports = cached.scores(dataset_name, k, components, scored_t)
    blind = reports.get(samplers.SETUPS[0].label)
    for setup in samplers.SETUPS:
        report = reports.get(setup.label)
        if report is not None and setup.label in slots:
            closer = "the baseline" if setup is samplers.SETUPS[0] else \
                f"{blind.frechet / report.frechet:.1f}x closer"  # short: the cell leaves little room
            slots[setup.label].metric(f"FID-like at t = {scored_t}", f"{report.frechet:.1f}", closer,
                                      delta_color="off", delta_arrow="off",
                                      help="Lower is better: how far the samples' features are from real test "
                                           "images' (details in section 2). 'x closer' compares with AE + N(0, I).")
    ui.sync_url(partial=True)  # a fragment rerun skips the entry point, which keeps the link current otherwise


sample_grids()


# ---------------------------------------------------------------- 2 · their scores
@st.fragment(key=SCORE_NOTE)
def score_note() -> None:
    """What the scores were computed on, and the button to score the temperature shown: a fragment of its own
    inside the scores', so a temperature move redraws this row, not the table and its five charts."""
    temperature, scored_t = st.session_state["sampling_temperature"], st.session_state[SCORED_KEY]
    card = cached.reference_card(dataset_name)
    note, button = st.columns([4, 1], vertical_alignment="center")
    note.markdown(f"A small reference classifier, trained on the {dataset_name} train split "
                  f"({card['test_accuracy']:.1%} test accuracy), looks at {N_SCORED:,} samples per sampler at "
                  f"temperature **{scored_t}** (seed 0). Lower **FID-like** distance means the samples' features "
                  "are spread like real test images'.")
    if temperature != scored_t:
        # A callback runs before the rerun it triggers, so that rerun already scores the new temperature.
        button.button(f"Score at t = {temperature}", key="sampling_score", width="stretch",
                      help="Scoring takes a few seconds, so it waits for this button.",
                      on_click=score_at, args=(temperature,))


@st.fragment(key=SCORES)
def sample_scores() -> None:
    k, components = st.session_state["sampling_k"], st.session_state["sampling_components"]
    scored_t = st.session_state[SCORED_KEY]
    reports = cached.scores(dataset_name, k, components, scored_t)
    st.subheader("2 · How good are the samples?")
    score_note()
    table = pd.DataFrame([{"images": label, "FID-like ↓": r.frechet, "confidence ↑": r.mean_confidence,
                           "classes seen": f"{len(r.class_counts) - r.missing_classes} of {len(r.class_counts)}",
                           "class balance ↑": r.class_entropy} for label, r in reports.items()])
    # Narrow number columns and pinned names: on a phone the table scrolls sideways with the names in view.
    st.dataframe(table, hide_index=True, width="stretch",
                 column_config={"images": st.column_config.TextColumn(pinned=True),
                                "FID-like ↓": st.column_config.NumberColumn(format="%.1f", width="small"),
                                "confidence ↑": st.column_config.NumberColumn(format="%.2f", width="small"),
                                "classes seen": st.column_config.TextColumn(width="small"),
                                "class balance ↑": st.column_config.ProgressColumn(format="%.2f", min_value=0,
                                                                                   max_value=1, width="small")})
    specs = spread_specs(dataset_name, k, components, scored_t)
    st.markdown("**Share of samples per predicted class**")
    charts = st.container(horizontal=True, gap="xsmall")  # a row at 1280 px; more rows when the page is narrower
    for spec in specs:
        charts.vega_lite_chart(spec, width=SAMPLER_WIDTH)
    st.caption("**FID-like** is the Fréchet distance on the 64 features of that small classifier, not the "
               "Inception network of published FIDs, and uses 1,000 samples, so only compare numbers within this "
               "app. *Real train images* is what a perfect sampler would score; the *reconstructions* row is the "
               "decoder's own blur. **Confidence** is the classifier's mean top probability: smudges score low. "
               "**Class balance** is 1 when every class appears equally often (the dashed line in the bars).")
    fid = {label: r.frechet for label, r in reports.items()}
    vae_prior, vae_mixture, ae_mixture = (fid.get(s.label) for s in samplers.SETUPS[3:5] + samplers.SETUPS[2:3])
    if None not in (vae_prior, vae_mixture, ae_mixture) and vae_mixture < vae_prior:
        # Worded from the live numbers, so a retrained VAE cannot leave the page claiming an order it lost.
        last = ("The AE with its mixture ({:.1f}) stays ahead: with both samplers drawing where the codes lie, what "
                "is left is the difference between the two decoders." if ae_mixture < vae_mixture else
                "It even beats the AE with its mixture ({:.1f}): the KL term packed the VAE's codes more tightly, so "
                "a mixture fits them better.").format(ae_mixture)
        st.markdown(
            f"**Why the VAE's own prior is not the best way to sample it.** The KL term pulls the VAE's codes "
            f"*towards* N(0, I), but they never fill it evenly, so some prior draws still land where no training "
            f"image went. A mixture fitted to where the codes really are scores **{vae_mixture:.1f}** against the "
            f"prior's **{vae_prior:.1f}**, as Chadebec, Vincent and Allassonnière found on MNIST (2022). {last}")
    st.download_button("⬇️ Scores (CSV)", lambda: table.to_csv(index=False).encode(),
                       file_name=f"{dataset_name}_sampling_scores_k{k}_t{scored_t}.csv", mime="text/csv",
                       key="sampling_scores_csv")


sample_scores()

# ---------------------------------------------------------------- 3 · holes in the latent space
st.subheader("3 · Holes in the latent space")
map_sizes = [d for d in (2, 3) if d in sizes]


@st.fragment
def holes() -> None:
    if not map_sizes:
        st.info("This view needs the 2D and 3D models (ae-2, vae-2, ae-3, vae-3), which this dataset lacks.")
        return
    left, right = st.columns([1, 2], vertical_alignment="bottom")
    dims = left.segmented_control("Latent space", map_sizes, format_func=lambda d: f"{d}D",
                                  key=ui.url_key("sampling_dims", "space", map_sizes[0], map_sizes, int))
    kind = right.segmented_control("AE samples drawn from", ["standard", "gmm"],
                                   format_func={"standard": "N(0, I)", "gmm": "its fitted mixture"}.get,
                                   key="sampling_map_kind", default="standard")
    dims = dims or map_sizes[0]
    kind = kind or "standard"
    st.caption(f"Coloured dots: the test images' codes, by class. On top, {N_MAP_SAMPLES} sampled codes: black dots "
               "with a white rim where they land among the test codes, red crosses where they land in a **hole**, "
               "farther from every real code than 95% of real codes are from their nearest neighbour. Temperature 1, "
               "seed 0.")
    columns = st.columns(2, gap="large")
    for column, family in zip(columns, ("ae", "vae")):
        model_name = f"{family}-{dims}"
        if model_name not in shipped:
            column.info(f"{model_name} is not shipped for this dataset.")
            continue
        with column:
            used = kind if family == "ae" else "standard"
            view, figure = cached.latent_map(dataset_name, model_name, used, 0)
            sampler_name = "N(0, I)" if used == "standard" else "its fitted mixture"
            st.markdown(f"**{family.upper()} ({model_name}), z drawn from {sampler_name}**")
            st.plotly_chart(figure, width="stretch", key=f"sampling_map_{family}")
            numbers = st.container(horizontal=True)  # side by side, or one under the other where they would clip
            numbers.metric("Samples in holes", f"{view.hole_fraction:.0%}",
                           help="Share of sampled codes far from every real code: they decode to images the model "
                                "never learned to draw.")
            numbers.metric("Data covered", f"{view.coverage:.0%}",
                           help="Share of real codes with a sample nearby: low when the sampler only reaches part of "
                                "where the data lives.")
            if dims == 2:
                png, spacing = cached.manifold_png(dataset_name, model_name)
                st.image(png, width="stretch", output_format="PNG")
                st.caption("The decoder on a 15 x 15 grid of codes. " + (
                    "Spaced by the inverse normal CDF: each cell holds the same share of the N(0, I) prior, so "
                    "this is what the prior's samples look like." if spacing == "normal" else
                    "Spaced over the range of the AE's own codes (5th to 95th percentile): no prior says where "
                    "its codes should be, and between the clusters it draws blends and blobs."))
            # A callable is only run on click: the standalone HTML inlines plotly.js (megabytes).
            st.download_button("⬇️ Map (HTML)", lambda figure=figure: ui.figure_html(figure),
                               file_name=f"{dataset_name}_{model_name}_map.html", mime="text/html",
                               key=f"sampling_map_html_{family}")


holes()

# ---------------------------------------------------------------- 4 · interpolation
st.subheader("4 · Walk from one digit to another")
st.markdown("Encode two images, walk between their codes in small steps and decode each step. The **pixel blend** "
            "row fades one image into the other without any model, for comparison.")


def endpoint(column, name: str, default_index: int):
    """The image at one end of the path: a test image or the visitor's own; None until it is ready."""
    with column:
        source = st.segmented_control(f"Image {name}", ["Test image", "Your own"], default="Test image",
                                      key=f"sampling_{name.lower()}_source")
        if source == "Your own":
            prepared = ui.image_input(f"sampling_own_{name.lower()}", ds.image_shape, label="Draw or upload")
            return None if prepared is None else prepared.tensor
        index = ui.pick_test_index(f"sampling_{name.lower()}", len(ds.x_test), default=default_index)
        st.caption(f"Test image #{index}: class {ds.classes[int(ds.y_test[index])]}")
        return ds.x_test[index:index + 1]


@st.fragment
def interpolation() -> None:
    first, second = samplers.default_pair(ds.y_test)
    col_a, col_b = st.columns(2, gap="medium")
    x_a = endpoint(col_a, "A", first)
    x_b = endpoint(col_b, "B", second)
    # The path's settings get a wrapping row of their own: in a third column they were cut short beside the sidebar.
    options = st.container(horizontal=True, vertical_alignment="bottom")
    k = options.select_slider("Code size k", sizes, width=CONTROL_WIDTH,
                              key=ui.url_key("sampling_path_k", "pathk", 16 if 16 in sizes else sizes[-1], sizes, int),
                              help="The AE and the VAE whose codes the path walks through.")
    method = options.segmented_control("Path", list(samplers.INTERPOLATION_METHODS),
                                       format_func={"linear": "Straight line", "slerp": "Arc (slerp)"}.get,
                                       key=ui.url_key("sampling_method", "path", "linear",
                                                      list(samplers.INTERPOLATION_METHODS)),
                                       help="Straight line: equal steps from z_A to z_B. Arc: spherical "
                                            "interpolation, which keeps the length of z typical, as a VAE's "
                                            "N(0, I) prior expects, instead of cutting through the middle.")
    steps = options.select_slider("Steps", list(range(5, 13)), key="sampling_steps", value=9, width=CONTROL_WIDTH)
    if x_a is None or x_b is None:
        st.info("Draw or upload both images (or pick test images) to see the paths.")
        return
    method = method or "linear"
    rows, row_pngs, strip_png = cached.paths(dataset_name, k, samplers.as_array(x_a), samplers.as_array(x_b), steps,
                                             method)
    for row, png in zip(rows, row_pngs):
        label_col, image_col = st.columns([1, 7], vertical_alignment="center")
        label_col.markdown(f"**{row.label}**" + (f"  \n{row.label.lower()}-{k}" if row.label != "Pixel blend" else
                                                 "  \nno model"))
        image_col.image(png, width="stretch", output_format="PNG")
        image_col.caption("Classifier reads: " + " → ".join(
            f"{ds.classes[p]} ({c:.0%})" for p, c in zip(row.predicted, row.confidence)))
    st.caption("The reference classifier names a digit in every frame, even in the pixel blend's double exposures, "
               "so it cannot judge these paths: judge them by eye. A good path changes the shape step by step; "
               "where the classifier's reading flips, the frame is halfway between two digits.")
    st.download_button("⬇️ Paths (PNG)", strip_png, file_name=f"{dataset_name}_paths_k{k}_{method}.png",
                       mime="image/png", key="sampling_paths_png")


interpolation()
