"""Compression: the code z as a learned summary, against PCA at the same size and against JPEG and PNG in bytes."""

import dataclasses

import numpy as np
import streamlit as st

from dashboard import compression
from dashboard.app import ui
from dashboard.app.cached import compression as cached
from dashboard.core import zoo
from dashboard.viz import compression_charts as charts

dataset_name, ds = ui.page_header(
    "🗜️ Compression",
    "An autoencoder squeezes each image into a short **code z** and redraws the image from it. "
    "Pick the code size **k** and compare what comes back with **PCA**, the best *linear* summary of the "
    "same size. Further down: where a general-purpose codec wins.",
    lesson_page="compression")

PROJECTION_LABELS = {"native": "as is (k ≤ 3)", "pca": "PCA to 3D", "tsne": "t-SNE to 3D (slow, computed once)"}

# Checked before anything is loaded: fitting PCA on a large downloaded dataset would be wasted when no AE ships.
available_k = [k for k in compression.LATENT_SIZES if f"ae-{k}" in zoo.names(dataset_name)]
if not available_k:
    st.info(f"The compression page needs the shipped `ae-k` models, which exist for mnist-5k and digits but not for "
            f"**{dataset_name}**. Pick one of those in the sidebar, or train models on the **Models** page.",
            icon="🧪")
    st.stop()
all_codecs = cached.codecs(dataset_name)

# ---------------------------------------------------------------- 1 · code size and what it saves
K_DRAWN = "compression_k_drawn"  # the k that the sections below this fragment were drawn with


def shuffle(seed_key: str) -> None:
    """A callback runs before the fragment does, so the batch box and the images of that run agree."""
    st.session_state[seed_key] = int(np.random.default_rng().integers(10_000))


@st.fragment
def code_size_and_batch() -> tuple[int, int]:
    """Sections 1 and 2: the code size, the test batch and its reconstructions; returns k and its bytes."""
    # Wrapping rows, not columns: beside an open sidebar, columns cut the metrics to "3…".
    controls = st.container(horizontal=True, vertical_alignment="bottom")
    k = controls.select_slider("Code size k (numbers per image)", available_k, width=260,
                               key=ui.url_key("compression_k", "k", 16 if 16 in available_k else available_k[-1],
                                              available_k, int),
                               help="The same k is used by the AE, the VAE and PCA, so the comparison is like for "
                                    "like.")
    seed_key = ui.url_key("compression_seed", "batch", 0, range(10_000), int)
    seed = int(controls.number_input("Test batch #", 0, 9_999, step=1, key=seed_key, width=130,
                                     help="Each number picks a fixed set of 8 test images; share the link to show "
                                          "the same ones."))
    controls.button("🎲 Shuffle", key="compression_reshuffle", help="Draw 8 other test images.", on_click=shuffle,
                    args=(seed_key,))
    # Every section below depends on k, so moving it reruns the page; the batch controls rerun only this part.
    drawn, st.session_state[K_DRAWN] = st.session_state.get(K_DRAWN, k), k
    if k != drawn:
        st.rerun()
    sizes = cached.png_sizes(dataset_name, seed)
    code_size = compression.code_bytes(k)
    numbers = st.container(horizontal=True)
    numbers.metric("Pixels", f"{ds.n_pixels}", help="Numbers in one image: one per pixel.")
    numbers.metric("Code", f"{k}", help="Numbers in its code z.")
    numbers.metric("Fewer numbers", f"{compression.value_ratio(ds.image_shape, k):.0f}x")
    numbers.metric("Code bytes", f"{code_size} B",
                   help=f"{k} numbers stored as 16-bit floats, 2 bytes each. Every error on this page is measured "
                        "after that rounding.")
    numbers.metric("PNG bytes", f"{np.median(sizes):.0f} B",
                   help=f"The 8 images below as lossless PNG files (Pillow, optimised): {min(sizes)}-{max(sizes)} "
                        "bytes; the median is shown.")
    st.caption(f"The code is **{np.median(sizes) / code_size:.0f}x smaller** than a typical test image's PNG. "
               "It is lossy, though, and only means something to a receiver that already holds the decoder "
               "(see the last section).")

    # ---------------------------------------------------------------- 2 · reconstructions
    st.subheader(f"What comes back from {k} numbers")
    shown = cached.batch(dataset_name, k, seed)
    vmax = shown.error_scale
    # Each row goes out as one finished PNG (cached): separate images would each be encoded on every rerun, and
    # Streamlit's default JPEG would smear the very pixels this page measures.
    pictures = cached.batch_pictures(dataset_name, k, seed)
    label_col, image_col = st.columns([1, 7])
    label_col.markdown("**Original**")
    image_col.image(pictures["original"], output_format="PNG",
                    caption=" · ".join(f"#{i} ({ds.classes[y]})" for i, y in zip(shown.indices, shown.labels)))
    for result in shown.results:
        label_col, image_col = st.columns([1, 7])
        label_col.markdown(f"**{result.method}**  \n`{result.name}`")
        image_col.image(pictures[result.method], output_format="PNG")
        label_col, image_col = st.columns([1, 7])
        label_col.caption(f"{result.method} error")
        image_col.image(pictures[f"{result.method} error"], output_format="PNG",
                        caption=f"{result.method}: MSE {result.mse.mean():.4f} · PSNR {result.psnr.mean():.1f} dB · "
                                f"SSIM {result.ssim.mean():.3f} (means of the 8)")
    st.caption(f"Error maps show |original − reconstruction| per pixel on one shared scale (black 0, yellow "
               f"{vmax:.2f}), so brighter means worse for every method alike.")
    summary = shown.summary()
    table_col, note_col = st.columns([3, 2], gap="large")
    table_col.dataframe(summary[["method", "model", "mse", "psnr", "ssim"]], hide_index=True, width="stretch",
                        column_config={"mse": st.column_config.NumberColumn("MSE ↓", format="%.4f"),
                                       "psnr": st.column_config.NumberColumn("PSNR (dB) ↑", format="%.1f"),
                                       "ssim": st.column_config.NumberColumn("SSIM ↑", format="%.3f")})
    by_method = summary.set_index("method")
    if "AE" in by_method.index:
        batch_ratio = by_method.loc["AE", "mse"] / by_method.loc["PCA", "mse"]
        note_col.markdown(f"On these {len(shown.indices)} images the AE's error is **{batch_ratio:.2f}x** PCA's with "
                          f"the same {k} numbers. SSIM compares local structure (1 is identical); PSNR turns MSE into "
                          "decibels (higher is better).")
    left, right = st.columns(2)
    # Downloads are built only when clicked (a callable), so reruns don't pay for files nobody asked for.
    left.download_button("⬇️ Images (PNG)", lambda: charts.batch_grid_png(shown),
                         file_name=f"compression_{dataset_name}_k{k}_batch{seed}.png", mime="image/png",
                         key="compression_grid_download", width="stretch")
    right.download_button("⬇️ Scores per image (CSV)", lambda: shown.per_image().to_csv(index=False).encode(),
                          file_name=f"compression_{dataset_name}_k{k}_batch{seed}.csv", mime="text/csv",
                          key="compression_scores_download", width="stretch")
    ui.sync_url(partial=True)  # a fragment rerun skips the entry point, which keeps the link current otherwise
    return k, code_size


k, code_size = code_size_and_batch()

# ---------------------------------------------------------------- 3 · rate-distortion
st.subheader("Error against code size, on the whole test split")
table = cached.rd_table(dataset_name)
chart_col, text_col = st.columns([3, 2], gap="large")
metric = text_col.segmented_control("Measure", ["mse", "psnr"], default="mse", key="compression_rd_metric",
                                    format_func=lambda m: {"mse": "MSE", "psnr": "PSNR"}[m]) or "mse"
chart_col.vega_lite_chart(cached.rd_spec(dataset_name, k, metric), width="stretch")
row = table.set_index(["method", "k"])
if ("AE", k) in row.index:
    ae, pca = row.loc[("AE", k)], row.loc[("PCA", k)]
    text_col.markdown(f"At **k = {k}**, over all {len(ds.x_test):,} test images: AE MSE **{ae['mse']:.4f}**, "
                      f"PCA **{pca['mse']:.4f}**, so the AE's error is **{ae['mse_vs_pca']:.2f}x** PCA's.")
vq_rows = table[table.method == "VQ-VAE"]
vq_text = "" if vq_rows.empty else (
    " The continuous codes count float16 numbers, 16 bits each. The **VQ-VAE** "
    f"({vq_rows.iloc[0]['model']}) stores codebook indices instead, so its rate is in bits of indices (cells × "
    f"log2 K = {vq_rows.iloc[0]['k'] * 16:.0f} bits), drawn at bits ÷ 16 = {vq_rows.iloc[0]['k']:.1f} on this "
    "axis. Neither is entropy coded.")
text_col.caption("Each point is one shipped model, or PCA fitted on the same training images, scored on test images "
                 "neither has seen. More numbers buy less error, with diminishing returns; the VAE pays a little "
                 "accuracy for a smoother code (see the Sampling page)." + vq_text)
text_col.download_button("⬇️ Table (CSV)", lambda: table.to_csv(index=False).encode(),
                         file_name=f"rate_distortion_{dataset_name}.csv", mime="text/csv",
                         key="compression_rd_download")


# ---------------------------------------------------------------- 4 · 3D latent view
@st.fragment
def latent_map() -> None:
    st.subheader("The codes of every test image, in 3D")
    controls, figure_col = st.columns([1, 3], gap="medium")  # narrow controls: their buttons wrap, not clip
    with controls:
        choices = [f"{compression.NETWORK_FAMILIES[m]}-{size}" for m in ("AE", "VAE") for size in all_codecs
                   if m in all_codecs[size]]
        name = st.selectbox("Model", choices, key="compression_3d_model",
                            index=choices.index("ae-3") if "ae-3" in choices else 0)
        method, size = ("VAE" if name.startswith("vae") else "AE"), int(name.split("-")[1])
        options = [h for h in compression.PROJECTIONS if h != "native" or size <= 3]
        how = st.radio("Shown", options, key="compression_3d_projection", format_func=PROJECTION_LABELS.get,
                       help="A code with more than 3 numbers has to be flattened to 3D to be drawn. PCA keeps the "
                            "directions of largest spread; t-SNE keeps neighbours together but bends distances.")
        if how not in options:
            how = options[0]
    figure, description = cached.latent_figure(dataset_name, method, size, how)
    with figure_col:
        st.plotly_chart(figure, width="stretch", key="compression_3d_chart")
        st.caption(f"{description}. Colour is the true class, added afterwards: the model never saw labels. "
                   "Hover a point for its class and reconstruction error. Drag to rotate.")
    with controls:
        st.download_button("⬇️ Codes (CSV)", lambda: cached.codes_csv(dataset_name, method, size),
                           file_name=f"codes_{name}_{dataset_name}.csv", mime="text/csv",
                           key="compression_codes_download", width="stretch", wrap=True,
                           help=f"All {len(ds.x_test):,} test images: label, class, the {size} code numbers and "
                                "the reconstruction error.")
        st.download_button("⬇️ Figure (HTML)", lambda: ui.figure_html(figure), file_name=f"latent_3d_{name}.html",
                           mime="text/html", key="compression_figure_download", width="stretch", wrap=True)


latent_map()


# ---------------------------------------------------------------- 5 · your own digit
@st.fragment
def own_digit() -> None:
    st.subheader("Your own digit at every code size")
    input_col, result_col = st.columns([1, 2], gap="large")
    with input_col:
        prepared = ui.image_input("compression_own", ds.image_shape, label="Draw or upload")
    if prepared is None:
        result_col.info("Draw a digit or upload an image: it is rebuilt here by the AE, the VAE and PCA at every "
                        "code size, with its error and its size in bytes.")
        return
    found, mine, pictures = cached.own_results(dataset_name, prepared.tensor.numpy())
    with result_col:
        st.image(pictures["input"], caption=f"your image ({mine.png.n_bytes} B as PNG)", output_format="PNG")
        for method in compression.METHODS:
            if method in pictures:
                scores = " · ".join(f"{r.k}: {r.psnr:.1f} dB" for r in found if r.method == method)
                st.image(pictures[method], caption=f"{method} at k = {scores}", output_format="PNG")
        mine = dataclasses.replace(mine, chosen_k=k)
        nearest = mine.jpeg_nearest_in_bytes()
        st.markdown(f"**In bytes:** the AE's code is {code_size} B at {mine.at_chosen_k().psnr:.1f} dB; the "
                    f"smallest JPEG is {nearest.n_bytes} B at {nearest.psnr:.1f} dB; PNG keeps every pixel in "
                    f"{mine.png.n_bytes} B. Fewest bytes to reach {mine.target_psnr:g} dB: **{mine.winner()}**.")
        with st.expander("Scores at every code size"):
            st.dataframe(compression.every_k_frame(found), hide_index=True, width="stretch")


own_digit()

# ---------------------------------------------------------------- 6 · the honest limit
st.subheader("Where learned compression stops")
st.markdown(f"A {code_size}-byte code is tiny, but the decoder on the other end "
            f"({compression.decoder_bytes(all_codecs[k]['AE'].model) / 1e6:.2f} MB of weights) only knows how to "
            "draw digits like the ones it was trained on. Give it something else and a general codec usually wins. "
            "Below, every size is measured on this page with Pillow.")
kind = st.segmented_control("Try an image unlike the training digits", compression.PROBE_KINDS, default="letter",
                            key="compression_probe") or "letter"
typical, usual_winner, usual_count = cached.typical_probe(dataset_name, kind)
# One picker per kind, opening on the example that shows what the table says happens to most images of that kind.
example_index = st.segmented_control("Example", list(range(1, cached.PROBES_PER_KIND + 1)), default=typical + 1,
                                     key=f"compression_probe_example_{dataset_name}_{kind}") or typical + 1
example = cached.probe_example(dataset_name, kind, k, example_index - 1)
learned_point, jpeg = example.comparison.at_chosen_k(), example.comparison.jpeg_nearest_in_bytes()
pictures, chart_col = st.columns([2, 3], gap="large")
with pictures:
    st.image(cached.probe_pictures(dataset_name, kind, k, example_index - 1), width="stretch", output_format="PNG",
             caption=f"original: PNG {example.comparison.png.n_bytes} B · "
                     f"AE k={k}: {learned_point.n_bytes} B, {learned_point.psnr:.1f} dB · "
                     f"JPEG q={jpeg.setting.removeprefix('quality ')}: {jpeg.n_bytes} B, {jpeg.psnr:.1f} dB")
    cheapest = example.comparison.cheapest()
    costs = [f"{name} {point.n_bytes} B ({point.setting})" if point else f"{name} never"
             for name, point in cheapest.items()]
    usual = f"{usual_winner} wins on {usual_count} of the {cached.PROBES_PER_KIND} {kind} images"
    st.markdown(f"**This image**, fewest bytes to reach {example.comparison.target_psnr:g} dB: {', '.join(costs)}. "
                f"Winner: **{example.comparison.winner()}**. "
                + (f"Typical: {usual}." if example.comparison.winner() == usual_winner
                   else f"**This one is an exception**: {usual}."))
    st.caption("JPEG bytes count its image data only: with its standard tables at a known quality, the receiver "
               "can rebuild the tables itself, just as it must already hold the AE's decoder.")
chart_col.vega_lite_chart(cached.codec_spec(dataset_name, kind, k, example_index - 1), width="stretch")
summary = cached.probe_summary(dataset_name, k)
st.markdown(f"**Who reaches {compression.DEFAULT_TARGET_PSNR:g} dB in the fewest bytes**, on "
            f"{cached.PROBES_PER_KIND} images of each kind (AE at any k up to {max(available_k)}, JPEG at any "
            "quality, PNG):")
st.dataframe(
    summary[["kind", "learned_wins", "jpeg_wins", "code_psnr", "jpeg_small_bytes", "jpeg_small_psnr", "png_bytes"]],
    hide_index=True, width="stretch",
    column_config={
        "kind": "image",
        # Narrow bars, so that on a phone both verdict columns show before the table needs a sideways swipe.
        "learned_wins": st.column_config.ProgressColumn("AE wins", format="percent", min_value=0, max_value=1,
                                                        width=80),
        "jpeg_wins": st.column_config.ProgressColumn("JPEG wins", format="percent", min_value=0, max_value=1,
                                                     width=80),
        "code_psnr": st.column_config.NumberColumn(f"AE k={k}: dB at {code_size} B", format="%.1f"),
        "jpeg_small_bytes": st.column_config.NumberColumn("smallest JPEG (B)", format="%.0f"),
        "jpeg_small_psnr": st.column_config.NumberColumn("its dB", format="%.1f"),
        "png_bytes": st.column_config.NumberColumn("PNG (B)", format="%.0f"),
    })
wins = summary.set_index("kind")["learned_wins"]
st.caption(f"On test digits the AE gets there first on {wins['test digit']:.0%} of images; on the other kinds on "
           f"at most {wins.drop('test digit').max():.0%}, because the AE cannot draw what it never saw. The verdict "
           "also depends on the target: asking for less quality favours the AE's tiny codes. Figures in the "
           "table are medians per kind.")
