"""VAE: the reparameterisation trick, one image's ELBO, β and posterior collapse, a conditional VAE, attributes."""

import numpy as np
import pandas as pd
import streamlit as st

from dashboard.app import ui
from dashboard.app.cached import vae as cached
from dashboard.core import variants
from dashboard.vae import attributes, elbo
from dashboard.viz import plots, vae_charts

dataset_name, ds = ui.page_header(
    "🎛️ The VAE, opened up",
    "A **variational autoencoder** encodes an image into a *distribution* over codes, N(μ, σ²), draws a code z from "
    "it and decodes that. Its loss, the negative **ELBO**, adds to the reconstruction error a **KL** term that pulls "
    "every posterior towards N(0, I), which is why decoding z ~ N(0, I) gives digits. Take one image's ELBO apart, "
    "turn up **β** until dimensions fall silent, ask a **conditional VAE** for a digit, and push a digit along "
    "**slant** and **thickness**.",
    lesson_page="vae")

missing = cached.available(dataset_name)
if missing:
    ui.needs_shipped(f"the shipped VAE page models ({', '.join(missing)})", dataset_name)

BETAS = list(variants.BETAS)
THRESHOLD = elbo.ACTIVE_THRESHOLD
SCALE = cached.scale(dataset_name)

# ---------------------------------------------------------------- the image and the model
st.subheader("1 · An image and a β-VAE")
pick_col, beta_col = st.columns([1, 1], gap="large")
with pick_col:
    source = st.segmented_control("Image", ["Test set", "Your own"], default="Test set", key="vae_source",
                                  help="The ELBO and the attribute sliders below work on this image.")
    image = None
    if source == "Your own":
        prepared = ui.image_input("vae_own", ds.image_shape, label="Draw or upload")
        if prepared is not None:
            image = prepared.tensor[0].numpy()
    if image is None:
        if source == "Your own":
            st.caption("Until then, the page uses a test image.")
        index = ui.pick_test_index("vae_index", len(ds.x_test), default=0)
        image = ds.x_test[index].numpy()  # (C, H, W)
with beta_col:
    beta = st.select_slider("β, the weight of the KL term", BETAS,
                            key=ui.url_key("vae_beta", "beta", 1.0, BETAS, float), format_func=lambda b: f"{b:g}",
                            help="Each stop is a VAE shipped with this β (code size 16, and 2 for the map).")
    name, map_name = variants.beta_name(16, beta), variants.beta_name(2, beta)
    st.caption(f"Model **{name}**: loss = reconstruction + {beta:g} × KL. β = 1 is the plain VAE of Kingma & "
               "Welling; β > 1 is a β-VAE (Higgins et al., 2017).")
    rebuilt = cached.reconstruction(dataset_name, name, image)
    st.image(plots.grid_png([[image[0], rebuilt[0]]], scale=SCALE * 3,
                            column_labels=["the image", "rebuilt"]),
             caption=f"The image and {name}'s reconstruction from its posterior mean μ")

result = cached.image_elbo(dataset_name, name, image)

# ---------------------------------------------------------------- 2 · the reparameterisation trick
st.subheader("2 · The reparameterisation trick: z = μ + σ·ε")
dim = int(np.argmax(result.kl_dims))
graph_col, why_col = st.columns([3, 2], gap="large")
with graph_col:
    eps = float(np.random.default_rng(0).standard_normal())
    st.graphviz_chart(vae_charts.reparam_dot(float(result.mu[dim]), float(result.sigma[dim]), eps, dim + 1))
    st.caption(f"Dimension z{dim + 1} of this image's code (its most informative one), with one draw of ε.")
with why_col:
    st.markdown(
        "The encoder does not output a code but a mean **μ** and a spread **σ** for each dimension. Training needs "
        "the gradient of the loss with respect to μ and σ, but *drawing* z from N(μ, σ²) is a random step with no "
        "gradient: nudging μ does not tell you how the draw would have changed.\n\n"
        "The trick draws the randomness *outside* the network, ε ~ N(0, 1), and computes **z = μ + σ·ε**. Now z is "
        "an ordinary sum and product of μ and σ, so ∂z/∂μ = 1 and ∂z/∂σ = ε, and backpropagation reaches the "
        "encoder (Kingma & Welling, 2014; Rezende et al., 2014).")

# ---------------------------------------------------------------- 3 · this image's ELBO
st.subheader("3 · This image's ELBO, term by term")
# A wrapping row, not four columns: beside an open sidebar the numbers take two rows instead of being cut short.
metric_cols = st.container(horizontal=True)
metric_cols.metric("Reconstruction term", f"{result.recon:.1f} nats",
                   help=f"−log p(x|z): summed binary cross-entropy of the {int(np.prod(ds.image_shape))} pixels, "
                        f"averaged over {elbo.ELBO_SAMPLES} draws of ε. Lower is a better reconstruction.")
metric_cols.metric("KL term", f"{result.kl:.1f} nats",
                   help="KL(q(z|x) ‖ N(0, I)), summed over the dimensions: the nats this image's code spends.")
metric_cols.metric("ELBO", f"{result.elbo:.1f} nats", help="−reconstruction − KL, a lower bound on log p(x).")
n_active = int(result.active().sum())
metric_cols.metric("Active dimensions", f"{n_active} of {len(result.kl_dims)}",
                   help=f"Dimensions whose KL for this image is above {THRESHOLD} nats.")
st.vega_lite_chart(vae_charts.kl_bars_spec(result.kl_dims, THRESHOLD, f"KL of each dimension for this image ({name})"),
                   width="stretch")
st.caption(f"A dimension counts as **active** (orange) when its KL is above {THRESHOLD} nats: it tells the "
           "decoder something about the image. A silent one has μ ≈ 0 and σ ≈ 1 whatever the image: it is the prior. "
           f"The training loss weighs the KL by β = {beta:g}; the ELBO itself always counts it once.")

# ---------------------------------------------------------------- 4 · β and posterior collapse
st.subheader("4 · β: from sharp reconstructions to silent dimensions")
rungs = cached.ladder(dataset_name, 16)
rung = next(r for r in rungs if r.name == name)
left, right = st.columns([1, 1], gap="large")
with left:
    pairs, samples = cached.rung_pngs(dataset_name, name)
    st.image(pairs, caption=f"Test digits (top) and {name}'s reconstructions (bottom)")
    st.image(samples, caption=f"{cached.N_PRIOR_SHOWN} new images: {name} decoding z ~ N(0, I)")
    cols = st.container(horizontal=True)
    cols.metric("Active units", f"{rung.active}/16", help=f"Dimensions whose mean KL is above {THRESHOLD} nats.")
    cols.metric("Mean KL", f"{rung.kl:.1f}", help="Nats per test image, summed over the dimensions.")
    cols.metric("Test MSE", f"{rung.mse:.4f}", help="Squared error of the reconstructions from μ.")
with right:
    st.vega_lite_chart(vae_charts.kl_bars_spec(rung.kl_dims, THRESHOLD, f"Mean KL per dimension ({name}, test split)"),
                       width="stretch")
    st.vega_lite_chart(vae_charts.ladder_spec([r.beta for r in rungs], [r.active for r in rungs], 16),
                       width="stretch")
codes, labels = cached.map_codes(dataset_name, map_name)
map_col, note_col = st.columns([3, 2], gap="large")
with map_col:
    st.vega_lite_chart(vae_charts.map_spec(codes, labels, ds.classes, f"Test codes of {map_name} (posterior means)"),
                       width="stretch")
with note_col:
    spread = codes.std(axis=0)
    st.markdown(
        f"With a code of 2 (**{map_name}**) the map shows the pull of the KL term. At β = {beta:g} the codes spread "
        f"{spread[0]:.2f} along z1 and {spread[1]:.2f} along z2 (the prior: 1, circles at 1σ and 2σ). As β grows "
        "the classes crowd into the prior's disc and overlap; once an axis's spread shrinks to near 0 the decoder "
        "ignores it: that dimension has **collapsed** onto the prior.\n\n"
        "**Posterior collapse** is the extreme: the KL wins, q(z|x) = N(0, I) for every x, and the code says "
        "nothing (Bowman et al., 2016; Lucas et al., 2019). The table below counts the active units at every β.")
st.dataframe(pd.DataFrame({"β": [f"{r.beta:g}" for r in rungs], "model": [r.name for r in rungs],
                           "active units (of 16)": [r.active for r in rungs],
                           "mean KL (nats)": [round(r.kl, 2) for r in rungs],
                           "reconstruction term (nats)": [round(r.recon, 1) for r in rungs],
                           "test MSE": [round(r.mse, 5) for r in rungs]}), hide_index=True, width="stretch")

# ---------------------------------------------------------------- 5 · conditional VAE
st.subheader("5 · A conditional VAE: ask for a digit")


@st.fragment
def conditional_panel() -> None:
    controls, shown = st.columns([1, 3], gap="large")
    with controls:
        digit = st.selectbox("Digit", list(range(len(ds.classes))), key=ui.url_key("vae_digit", "digit", 7,
                                                                                   list(range(len(ds.classes))), int))
        seed_key = "vae_cvae_seed"
        if st.button("🎲 New samples", key="vae_cvae_new", width="stretch", wrap=True):
            st.session_state[seed_key] = st.session_state.get(seed_key, 0) + 1
        seed = st.session_state.get(seed_key, 0)
    png, score = cached.cvae_digit(dataset_name, int(digit), seed)
    with shown:
        st.image(png, caption=f"{variants.CVAE} decoding z ~ N(0, I) with the label {digit}; above each, the reference "
                              "classifier's verdict and confidence")
        cols = st.container(horizontal=True)
        cols.metric(f"Read as {digit}", f"{score.accuracy:.1%}",
                    help=f"Of 1,000 images asked for {digit}, the share the reference classifier reads as {digit}.")
        cols.metric("FID-like score", f"{score.frechet:.1f}",
                    help=f"Fréchet distance to the test images of {digit} in the classifier's features. Lower "
                         "is closer.")
        cols.metric("Real images", f"{score.real_frechet:.1f}",
                    help=f"The FID-like score of the real training images of {digit}: what a perfect sampler "
                         "would get with these few images.")
    beta_c = cached.cvae_beta(dataset_name)
    st.caption("The encoder and the decoder are both told the label (Sohn et al., 2015), so the code is free to "
               "hold the style (slant, width, thickness) and the label picks the digit. Nothing forces it to leave "
               "the class out, though: where a code drawn from the prior still carries a class of its own, it fights "
               + (f"the label. This cVAE was trained at β = {beta_c:g}, which makes every nat the code spends costly, "
                  "so it drops what the label gives for free. The price is blur: compare the FID-like score with the "
                  "real images'." if beta_c > 1 else
                  f"the label. This cVAE was trained at β = {beta_c:g}; on these tiny images that was enough for it "
                  "to leave the class to the label."))


conditional_panel()

# ---------------------------------------------------------------- 6 · latent arithmetic
st.subheader("6 · Latent arithmetic: slant and thickness")


@st.fragment
def attribute_panel() -> None:
    controls, strip = st.columns([1, 3], gap="large")
    with controls:
        attribute = st.radio("Direction", cached.offered(dataset_name), key="vae_attribute", horizontal=True,
                             help="On 8x8 digits only slant: a stroke one or two pixels wide has no thickness to "
                                  "measure." if ds.small_images else None)
        reach = cached.REACH[attribute]
        push = st.select_slider("Push (within-class standard deviations)", [float(s) for s in cached.steps(attribute)],
                                value=0.0, key=f"vae_push_{attribute}", format_func=lambda s: f"{s:+.2f}")
    images, values, predicted, confidence = cached.pushed(dataset_name, image, attribute)
    stop = int(np.argmin(np.abs(cached.steps(attribute) - push)))
    with controls:
        st.image(plots.to_pixels(images[stop], SCALE * 3), caption=f"pushed {push:+.2f}")
    with strip:
        headings = [f"{s:+.2f}: {p}" for s, p in zip(cached.steps(attribute), predicted)]
        st.image(plots.grid_png([list(images)], scale=SCALE + 1, column_labels=headings),
                 caption=f"The image's vae-16 code moved along the {attribute} direction, from −{reach:g} to "
                         f"+{reach:g}; above each, the push and the classifier's verdict.")
        cols = st.container(horizontal=True)
        change = values[stop] - values[len(values) // 2]
        cols.metric(f"Measured {attribute}", f"{values[stop]:.2f}",
                    help=f"In {attributes.UNITS[attribute]}, measured on the pushed image.")
        cols.metric("Change", f"{change:+.2f}", help="From the unmoved code's image.")
        cols.metric("Classifier says", f"{predicted[stop]}",
                    help=f"The reference classifier's verdict, {confidence[stop]:.0%} sure.")
        st.vega_lite_chart(vae_charts.attribute_spec(cached.steps(attribute), values, attribute,
                                                     attributes.UNITS[attribute]), width="stretch")
    direction = cached.directions(dataset_name)[attribute]
    st.caption(f"Slant is −μ11/μ02 from the image's second moments (the shear that would stand it upright); "
               f"thickness is 2 × ink area / ink boundary length. The direction is fitted on 1 in {cached.FIT_EVERY} "
               f"training digits of this dataset: vae-16's codes regressed on the attribute within each class, so "
               f"it changes the attribute rather than the digit. The codes predict {direction.r2:.0%} of the "
               f"attribute's within-class variance.")


attribute_panel()

# ---------------------------------------------------------------- 7 · does the prior sample well?
st.subheader("7 · Does the VAE's prior beat one Gaussian on a plain AE's codes?")
st.markdown("“VAEs fix sampling” is a claim about the prior: decode z ~ N(0, I) and you get digits. A plain AE has "
            "no prior, but one Gaussian fitted to its codes is a cheap stand-in. Score both on the Sampling page's "
            "FID-like distance (1,000 samples each, lower is better).")
if st.toggle("Score the samplers (a few seconds, once per server)", key="vae_score_priors"):
    rows = cached.prior_rows(dataset_name)
    st.dataframe(pd.DataFrame({"sampler": [r.label for r in rows], "FID-like (lower is better)":
                               [round(r.frechet, 1) for r in rows],
                               "mean confidence": [f"{r.mean_confidence:.0%}" for r in rows]}),
                 hide_index=True, width="stretch")
    gaussian, vae = rows[0], rows[1]
    ae_rebuilt, vae_rebuilt = rows[-2], rows[-1]
    best = min(rows[1:-2], key=lambda r: r.frechet)
    if vae.frechet < gaussian.frechet:
        st.success(f"Here the VAE's prior wins: {vae.frechet:.1f} against {gaussian.frechet:.1f}.")
    else:
        sharp = vae_rebuilt.frechet < 1.5 * ae_rebuilt.frechet
        verdict = (f"but {best.label} does, at {best.frechet:.1f}: a smaller β keeps more detail in the codes. "
                   if best.frechet < gaussian.frechet else
                   f"and neither does any β-VAE's (the best is {best.label} at {best.frechet:.1f}). ")
        st.warning(f"Here vae-16's prior does **not** win: it scores {vae.frechet:.1f} against {gaussian.frechet:.1f} "
                   f"for one Gaussian on ae-16's codes, " + verdict
                   + (f"vae-16's decoder is not the problem: its reconstructions score {vae_rebuilt.frechet:.1f}, "
                      f"close to ae-16's {ae_rebuilt.frechet:.1f}. " if sharp else
                      f"Part of it is blur: vae-16's reconstructions score {vae_rebuilt.frechet:.1f} against "
                      f"ae-16's {ae_rebuilt.frechet:.1f}. ")
                   + "The KL term only pulls the codes *towards* N(0, I); they never fill it exactly, and prior "
                     "draws that land where few codes lie decode to odd digits. A density fitted to the codes "
                     "after training follows where they really are (see the Sampling page).", icon="⚖️")
