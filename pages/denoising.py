"""Denoising: a DAE against a plain AE and classical filters, with noise sliders, a sweep and a 3D code view."""

import pandas as pd
import streamlit as st

from dashboard import denoising
from dashboard.app import ui
from dashboard.app.cached import denoising as cached
from dashboard.core import corrupt, zoo
from dashboard.viz import denoising_charts, plots

NOISE_LABELS = {"gaussian": "Gaussian", "salt-pepper": "Salt & pepper", "mask": "Block"}
LEVEL_HELP = {"gaussian": "Standard deviation of the noise added to every pixel (pixels run from 0 to 1).",
              "salt-pepper": "Fraction of pixels flipped to pure black or pure white.",
              "mask": "Side of the blanked square, as a fraction of the image side."}

dataset_name, ds = ui.page_header(
    "🧹 Denoising",
    "Train an autoencoder on **corrupted inputs with clean targets** and it learns to clean. "
    "Pick a kind of noise and a strength, and compare the DAE with a plain AE and classical filters.",
    lesson_page="denoising")

try:
    dae_options = denoising.dae_names(dataset_name)
    default_dae = denoising.default_dae(dataset_name)
    denoising.plain_ae_name(denoising.DenoiseConfig(dataset=dataset_name, dae=default_dae))
except Exception as exc:  # noqa: BLE001 - any missing model means the page cannot compare; say why and stop
    st.info(f"Denoising needs a shipped DAE and plain AE for {dataset_name}: {exc} Pick mnist-5k or digits.")
    st.stop()


def denoise_level(raw: str, noise: str) -> float:
    """A level from a shared link, checked against the slider's range (ValueError falls back to the default).

    A level belongs to the noise type in the same link: each type has its own slider, seeded from the link once, and
    the first time the visitor switches to another type the link still names the previous one, whose level (0.02 of
    Gaussian, say) would be a nearly clean grid of salt and pepper. That type opens at its own default instead.
    """
    linked_noise = st.query_params.get("noise", denoising.DEFAULT_NOISE)
    if linked_noise in corrupt.NOISE_TYPES and linked_noise != noise:
        return denoising.DEFAULT_LEVELS[noise]  # another type's level; a junk type leaves the level to be checked
    value = round(float(raw), 2)
    if not max(corrupt.LEVEL_RANGES[noise][0], 0.02) <= value <= corrupt.LEVEL_RANGES[noise][1]:
        raise ValueError(f"{value} is outside the range")
    return value


def next_seed(seed_key: str) -> None:
    """A callback runs before the fragment does, so that run already draws the new noise."""
    st.session_state[seed_key] = int(st.session_state[seed_key]) + 1


@st.fragment
def lab() -> None:
    # A wrapping row, not columns: beside an open sidebar the four controls take two rows instead of clipping.
    controls = st.container(horizontal=True, vertical_alignment="bottom")
    noise = controls.segmented_control(
        "Noise type", corrupt.NOISE_TYPES, format_func=NOISE_LABELS.get,
        key=ui.url_key("denoising_noise", "noise", denoising.DEFAULT_NOISE, corrupt.NOISE_TYPES))
    noise = noise or denoising.DEFAULT_NOISE
    low, high = corrupt.LEVEL_RANGES[noise]
    level_key = f"denoising_level_{noise}"
    # One slider per noise type, each kept for the whole session: a level set for Gaussian noise is still there
    # after a look at another type, though only the shown type's slider is drawn.
    level = controls.slider("Noise level", max(low, 0.02), high, step=0.02, help=LEVEL_HELP[noise], width=220,
                            key=ui.url_key(level_key, "level", denoising.DEFAULT_LEVELS[noise],
                                           cast=lambda raw: denoise_level(raw, noise)),
                            persist_state="session")
    dae_name = controls.selectbox("Denoising model", dae_options, width=160,
                                  key=ui.url_key("denoising_dae", "dae", default_dae, dae_options),
                                  help="DAEs with larger codes keep more detail but also let more noise through.")
    seed_key = ui.url_key("denoising_seed", "seed", 0, cast=int)
    controls.button("🎲 New noise", key="denoising_reseed", help="Draw new noise on other test digits.",
                    on_click=next_seed, args=(seed_key,))
    seed = int(st.session_state[seed_key])
    config = denoising.DenoiseConfig(dataset=dataset_name, dae=dae_name)

    result = cached.comparison(noise, float(level), seed, config)
    labels = result.column_labels(config)
    st.subheader("Side by side")
    plain, noisy_psnr = result.score("plain-ae"), result.score(denoising.NOISY_KEY).psnr
    dae_psnr = result.score("dae").psnr
    if plain.psnr < noisy_psnr:
        outcome = f"worse than the noisy input it was given ({plain.psnr:.1f} dB against {noisy_psnr:.1f} dB)"
    elif plain.psnr - noisy_psnr < 1.0:
        outcome = f"barely better than its input ({plain.psnr - noisy_psnr:+.1f} dB)"
    else:  # a strong plain AE cleans some noise by itself; the point is then how far the DAE goes beyond it
        outcome = (f"better than its input ({plain.psnr - noisy_psnr:+.1f} dB), but "
                   + (f"{dae_psnr - plain.psnr:.1f} dB behind the DAE" if dae_psnr > plain.psnr
                      else "level with the DAE at this setting"))
    # The plain AE's blobs look like a rendering bug unless the page says, right here, what they are.
    ae_name = denoising.plain_ae_name(config)
    k_ae, k_dae = zoo.parse_name(ae_name)[1], zoo.parse_name(dae_name)[1]
    st.caption(f"The **AE** column is a plain autoencoder ({ae_name}) trained on clean "
               "digits only, there as the control. It never saw noise, so it treats the noise as part of the "
               f"digit and rebuilds it, often as white blobs: {outcome}. The **DAE** ({dae_name}) learned from "
               f"noisy inputs with clean targets; its code holds {k_dae} numbers, the AE's {k_ae}.")
    st.image(cached.labelled_grid(noise, float(level), seed, config), output_format="PNG")
    # A callable: the larger PNG is drawn (and sent) only when the button is clicked, not at every change.
    st.download_button("Download this grid (PNG)", lambda: cached.grid_download(noise, float(level), seed, config),
                       f"denoising-{noise}-{level:g}.png", "image/png", key="denoising_grid_download")

    scores = pd.DataFrame(result.records())
    best = scores.iloc[1:]["PSNR (dB)"].idxmax()
    dae_score, median_score = result.score("dae"), result.score("median")
    a, b, c = st.columns(3)
    a.metric("DAE PSNR", f"{dae_score.psnr:.1f} dB",
             f"{dae_score.psnr - result.score(denoising.NOISY_KEY).psnr:+.1f} dB vs noisy input")
    b.metric("Median filter PSNR", f"{median_score.psnr:.1f} dB",
             f"{median_score.psnr - result.score(denoising.NOISY_KEY).psnr:+.1f} dB vs noisy input")
    c.metric("Best method here", scores.loc[best, "method"].split(" (")[0])
    st.dataframe(scores, hide_index=True, width="stretch", column_config={
        "PSNR (dB)": st.column_config.NumberColumn(format="%.2f", help="Higher is better."),
        "gain (dB)": st.column_config.NumberColumn(format="%+.2f", help="PSNR gained over the noisy input."),
        "SSIM": st.column_config.NumberColumn(format="%.3f", help="Structural similarity; 1 is identical.")})
    st.caption(f"Scores over {result.n_scored} test digits with noise drawn from seed {seed}; the grid shows "
               f"{len(result.clean)} of them. PSNR compares each output with the clean digit.")

    chart_col, view_col = st.columns(2, gap="large")
    with chart_col:
        st.subheader("Where each method breaks")
        curve = cached.sweep(noise, config)
        st.vega_lite_chart(cached.sweep_spec(noise, NOISE_LABELS[noise], float(level), config), width="stretch")
        trained_text = ("The green band is the range of this noise the DAE saw in training."
                        if curve.trained is not None else "The DAE never saw this kind of noise in training.")
        st.caption(f"PSNR against noise level on {curve.n_images} test digits. The dashed line is your level. "
                   f"{trained_text} Past it, every method keeps losing PSNR, the DAE included.")
    with view_col:
        st.subheader("What noise does to the code")
        view = cached.latent_view(noise, float(level), seed, config)
        # One 3D view at a time: a browser without a GPU takes about a second to redraw each, at every change.
        shifts = {"dae": view.dae, "plain": view.plain}
        shown = st.segmented_control("Codes of", list(shifts), default="dae", key="denoising_view_model",
                                     format_func=lambda key: f"{'DAE' if key == 'dae' else 'Plain AE'} "
                                                             f"({shifts[key].model})") or "dae"
        shift = shifts[shown]
        # Kept per session and refilled in place: a new seed or level moves the points, not the figure's make-up.
        figure = ui.session_figure(f"_denoising_view_figure_{shown}", dataset_name, lambda: plots.paired_codes_3d(
            shift.clean_3d, shift.noisy_3d, view.labels, ds.classes, height=380))
        plots.refresh_paired_codes(figure, shift.clean_3d, shift.noisy_3d, view.labels, ds.classes)
        st.plotly_chart(figure, width="stretch", key=f"denoising_view_{shown}")
        st.metric("How far noise moved the codes", f"{shift.mean_shift:.2f}",
                  help="Mean distance from each noisy code to its clean code, divided by the typical "
                       "distance between two different clean digits. Lower means the model ignores the noise.")
        st.caption(f"Each line joins a digit's clean code to its noisy copy's, drawn on {view.dae.axes}. "
                   f"Plain AE: {view.plain.mean_shift:.2f}, DAE: {view.dae.mean_shift:.2f}. "
                   "The DAE pulls noisy inputs back towards where the clean digit lives.")
        st.markdown("A DAE learns r(x) − x, an arrow toward the data; diffusion trains such a denoiser at every "
                    "noise level and walks pure noise down to new samples.")
        st.page_link("pages/latent-diffusion.py", label="From denoising to diffusion: the Latent diffusion page",
                     icon="🌫️")

    st.subheader("Your own image")
    prepared = ui.image_input("denoising_own", ds.image_shape, label="Draw or upload a digit, then add the noise "
                                                                      "chosen above")
    if prepared is not None:
        own = denoising.compare(prepared.tensor, noise, float(level), seed, config, with_ssim=False)
        st.image(plots.grid_png(own.rows(), scale=4, column_labels=[denoising_charts.short_name(label)
                                                                     for label in labels]), output_format="PNG")
        st.caption("PSNR against your clean image: " + ", ".join(
            f"{score.label.split(' (')[0]} {score.psnr:.1f} dB" for score in own.scores))
    ui.sync_url(partial=True)  # a fragment rerun skips the entry point, which keeps the link current otherwise


lab()
