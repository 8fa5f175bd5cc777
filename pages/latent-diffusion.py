"""Latent diffusion: a flow-matching model walks noise down to an autoencoder's codes, as Stable Diffusion does."""

import streamlit as st

from dashboard.app import ui
from dashboard.app.cached import latent_diffusion as cached
from dashboard.generators import diffusion

dataset_name, ds = ui.page_header(
    "🌫️ Latent diffusion",
    "Many of today's image generators, Stable Diffusion among them, pair an autoencoder with a generative model of "
    "its **codes**. Here a small "
    "**flow-matching** model (a close cousin of diffusion) learned where the AE's codes live. Start from pure "
    "noise and it moves every point, step by step, into the digit clusters; the AE's decoder turns the result "
    "into images.",
    lesson_page="latent-diffusion")

if not cached.ready(dataset_name):
    ui.needs_shipped("the shipped flow models over ae-2 and ae-16", dataset_name)

CLASS_CHOICES = [-1, *range(len(ds.classes))]
STEPS, GUIDANCE = list(diffusion.STEP_CHOICES), list(diffusion.GUIDANCE_CHOICES)
CONTROL_WIDTH = 190  # px per control: three and the button fit one row at 1280 px and wrap beside an open sidebar


def scoreboard(steps: int, guidance: float, label: int) -> None:
    found = cached.scores(dataset_name, steps, guidance, label)
    report, copy = found["report"], found["copy"]
    real = found["baselines"]["Real train images"]
    rebuilt = found["baselines"].get(f"{cached.CODE_BASE} reconstructions")
    # One wrapping row, not a grid of columns: in the narrow score column the numbers stack rather than clip.
    numbers = st.container(horizontal=True)
    numbers.metric("FID-like ↓", f"{report.frechet:.1f}",
                   help="Fréchet distance on the reference classifier's features, as on the Sampling page "
                        f"({cached.N_SCORED:,} samples, seed 0). Lower is closer to real test digits.")
    if rebuilt is not None:
        numbers.metric(f"{cached.CODE_BASE} rebuilt", f"{rebuilt.frechet:.1f}",
                       help="The decoder's own blur: real training digits encoded and decoded. Samples from this "
                            "decoder can hardly beat it unless they are more typical than real digits.")
    numbers.metric("Real digits", f"{real.frechet:.1f}", help="Real train images: what a perfect sampler would "
                   "score with this many samples (not 0: two finite samples of one distribution differ).")
    gap = diffusion.class_share_gap(report.class_counts)
    numbers.metric("Largest class gap", f"{gap:.1%}", help="How far the most over- or under-drawn digit's share "
                   f"is from 1/{len(ds.classes)}, as the reference classifier reads the samples.")
    numbers.metric("Nearest train code", f"{copy.generated_median:.2f}",
                   f"{copy.generated_median - copy.test_median:+.2f} vs test", delta_color="off", delta_arrow="off",
                   help="Median distance from a generated code to its nearest training code. A model that copied "
                        "its training codes would sit closer to them than unseen test codes do "
                        f"({copy.test_median:.2f}).")
    numbers.metric("Net passes", f"{steps} × {1 if guidance == 0 else 2}",
                   help="Steps × network evaluations per step for each sample: guidance runs the net with and "
                        "without the label.")
    verdict = "sit closer to the training codes than test codes do: a sign of copying" if copy.copies else \
        "are no closer to the training codes than unseen test codes are: no sign of copying"
    st.markdown(f"At these settings the samples score **{report.frechet:.1f}** and {verdict}. The "
                "Sampling page scores this sampler (steps 20, guidance 1, every class) beside the others.")


@st.fragment
def reverse_process() -> None:
    st.subheader("1 · Noise flowing into the digit clusters")
    # A wrapping row, not columns: beside an open sidebar the controls take two rows instead of cutting their
    # labels short.
    controls = st.container(horizontal=True, vertical_alignment="bottom")
    steps = controls.select_slider(
        "Sampling steps", STEPS, width=CONTROL_WIDTH,
        key=ui.url_key("diffusion_steps", "steps", diffusion.DEFAULT_STEPS, STEPS, int),
        help="How many Euler steps walk the noise down to the codes. Few steps take big strides along the "
             "learned velocity and cut its curves short; more steps follow it closely (and cost more).")
    guidance = controls.select_slider(
        "Guidance", GUIDANCE, width=CONTROL_WIDTH,
        key=ui.url_key("diffusion_guidance", "guide", diffusion.DEFAULT_GUIDANCE, GUIDANCE, float),
        help="Classifier-free guidance: 0 ignores the class each sample was asked for, 1 follows it as trained, "
             "above 1 pushes further toward that class (cleaner, less varied digits).")
    label = controls.selectbox(
        "Class", CLASS_CHOICES, width=CONTROL_WIDTH, key=ui.url_key("diffusion_class", "class", -1, CLASS_CHOICES, int),
        format_func=lambda c: "every digit in turn" if c < 0 else f"only {ds.classes[c]}",
        help="The digit each sample is asked for. With guidance 0 the label is ignored.")
    seed_key = ui.url_key("diffusion_seed", "seed", 0, range(10_000), int)
    if controls.button("🎲 New noise", key="diffusion_reseed", wrap=True):
        st.session_state[seed_key] = (st.session_state[seed_key] + 1) % 10_000
    seed = int(st.session_state[seed_key])

    map_col, side_col = st.columns([3, 2], gap="large")
    with map_col:
        st.markdown(f"**{cached.N_MAP} samples on the map of {cached.MAP_BASE}** (seed {seed})")
        st.plotly_chart(cached.reverse_figure(dataset_name, steps, guidance, label, seed), width="stretch",
                        key="diffusion_map", config={"displayModeBar": False})
        st.caption("Drag the slider under the map, or press ▶ Play, to watch the reverse process: at step 0 the "
                   "diamonds are pure noise (t = 1); each step moves them along the learned velocity until t = 0. "
                   "Faint dots: the test images' codes, by class. A diamond's colour is the class it was asked for "
                   "(black: no class). Your browser plays every step: scrubbing asks the server for nothing.")
    with side_col:
        st.markdown("**Decoded on the way** (four samples, noise on the left)")
        st.image(cached.steps_png(dataset_name, cached.MAP_BASE, steps, guidance, label, seed), width="stretch",
                 output_format="PNG")
        st.caption(f"Each row is one sample's code at a few of the {steps} steps, drawn by {cached.MAP_BASE}'s "
                   "decoder. At t = 1 the code is noise and the decoder draws whatever lies at that random spot "
                   "of the map; as the code moves into its cluster, the picture turns into the digit it ends as.")
        holes = cached.holes(dataset_name, steps, guidance, label)
        numbers = st.container(horizontal=True)  # side by side, or one under the other where they would clip
        numbers.metric("Flow: in holes", f"{holes['flow']:.0%}",
                       help=f"Share of {cached.N_HOLES} flow samples (seed 0) farther from every test code of "
                            f"{cached.MAP_BASE} than 95% of test codes are from their nearest neighbour: the "
                            "Sampling page's definition of a hole.")
        numbers.metric("VAE prior: in holes", f"{holes['prior']:.0%}",
                       help=f"The same count for {cached.N_HOLES} draws from N(0, I) decoded by {cached.VAE_MAP}, "
                            "measured against vae-2's own test codes.")

    st.subheader("2 · The same walk in 16 numbers")
    grid_col, score_col = st.columns([2, 3], gap="large")
    with grid_col:
        png = cached.grid_png(dataset_name, steps, guidance, label, seed)
        st.image(png, width="stretch", output_format="PNG")
        st.caption(f"{cached.GRID_SIDE ** 2} codes from the flow model over {cached.CODE_BASE}, decoded by it. Each "
                   "cell was asked for a class, every digit equally often (unless a class is picked above).")
        st.download_button("⬇️ Samples (PNG)", png, file_name=f"{dataset_name}_latent_diffusion_s{steps}_"
                           f"g{guidance}_seed{seed}.png", mime="image/png", key="diffusion_png")
    with score_col:
        # Scoring 1,000 samples and their yardsticks takes a few seconds on a small CPU: it waits for a click, and
        # then follows the controls.
        if st.button(f"📏 Score {cached.N_SCORED:,} samples", key="diffusion_score", wrap=True,
                     help="Draws 1,000 codes at these settings and scores their images with the Sampling page's "
                          "reference classifier, beside real digits and ae-16's reconstructions."):
            st.session_state["diffusion_scored"] = True
        if st.session_state.get("diffusion_scored"):
            scoreboard(steps, guidance, label)
        else:
            st.caption("Press the button for the FID-like score, the class balance and the copying check at "
                       f"these settings. Each sample costs {steps} × {1 if guidance == 0 else 2} network passes "
                       "(guidance runs the net with and without the label).")
        st.page_link("pages/sampling.py", label="Compare on the Sampling page",
                     icon="🎲")
    ui.sync_url(partial=True)


reverse_process()

st.subheader("3 · One denoiser for every noise level")
left, right = st.columns([3, 2], gap="large")
with left:
    st.image(cached.denoiser_png(dataset_name, 0), width="stretch", output_format="PNG")
with right:
    st.markdown(
        "Top row: one test digit's 16-number code, pushed part of the way to noise (more to the right). Bottom "
        "row: the flow model's one-step guess of the clean code from each, decoded. That guess, z_t − t·v, is a "
        "**denoising autoencoder's** job; the flow model does it at every noise level with one network. "
        "Sampling chains these guesses: many small steps, each from a slightly cleaner code.")
    st.page_link("pages/denoising.py", label="The Denoising page", icon="🧹")
