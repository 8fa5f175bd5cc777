"""Latent space: point anywhere in a 2D code space and watch the decoder draw it; 3D and 16D codes with sliders."""

import numpy as np
import streamlit as st

from dashboard import latent_space
from dashboard.app import ui
from dashboard.app.cached import latent_space as cached
from dashboard.app.latent_map import latent_map, map_marks
from dashboard.core import zoo
from dashboard.viz import latent_space_figures as figures
from dashboard.viz import plots

dataset_name, ds = ui.page_header(
    "🗺️ Latent space: point anywhere, watch the decoder draw",
    "Each dot is a test digit squeezed into a **code of just two numbers**, so the code space is a flat map. "
    "Move the pointer over a map and the decoder draws what it makes of the spot under it; **click** to pin a "
    "point and look closer. The plain autoencoder's map has holes; the VAE's does not.",
    lesson_page="latent-space")

SCALE = 12 if ds.small_images else 4  # on-screen pixels per image pixel for the big images
THUMB = 8 if ds.small_images else 3  # for the neighbour strips
shipped = zoo.names(dataset_name)
missing = [f"{family}-2" for family in latent_space.MAP_FAMILIES if f"{family}-2" not in shipped]
if missing:
    st.info(f"The maps need the shipped 2-number models (ae-2 and vae-2), which exist for mnist-5k and digits but "
            f"not for **{dataset_name}**. Pick one of those in the sidebar.", icon="🧪")
    st.stop()

PIN_KEY = "latent_pin"
SEED_KEY = "latent_resample_seed"


def clear_pin() -> None:
    st.session_state[PIN_KEY] = latent_space.NO_PIN


def pin_from_link(text: str) -> str:
    """A link's pin, checked against this dataset's maps; anything else raises and falls back with a notice."""
    return text if text == latent_space.NO_PIN else str(latent_space.parse_pin(text, cached.extents(dataset_name)))


def neighbour_strip(title: str, found, caption: str) -> None:
    st.markdown(f"**{title}**")
    st.image([plots.to_pixels(ds.x_train[int(i)], THUMB) for i in found.indices],
             caption=[f"{ds.classes[int(label)]} · {distance:.2f}" for label, distance in
                      zip(found.labels, found.distances)], output_format="PNG")
    st.caption(caption)


def show_pinned(pin_text: str) -> None:
    if pin_text == latent_space.NO_PIN:
        st.info("**Click anywhere on a map** to pin that point: its exact decode, what a classifier reads in it, its "
                "nearest training digits and how crowded that spot is will appear here. The link then carries the "
                "point, so you can share it.", icon="📍")
        return
    result = cached.pinned(dataset_name, pin_text)
    z1, z2 = result.pin.z
    head, clear = st.columns([5, 1], vertical_alignment="center")
    head.markdown(f"**Pinned on the {result.pin.family.upper()} map ({result.model_name}) at z = ({z1:.2f}, "
                  f"{z2:.2f})**")
    clear.button("✖ Unpin", key="latent_unpin", on_click=clear_pin, width="stretch")
    picture, numbers, strips = st.columns([1, 1, 3], gap="medium")
    picture.image(plots.to_pixels(result.decoded, SCALE), caption="exact decode at z", output_format="PNG")
    numbers.metric("Classifier reads", f"{ds.classes[result.predicted]}", f"{result.confidence:.0%} sure",
                   delta_color="off", delta_arrow="off",
                   help="A small CNN trained on the real digits of this dataset looks at the decode. Below about "
                        "60% it is unsure: the decode is not a clear digit.")
    numbers.metric("Crowding", f"{result.density_percentile:.0%}",
                   "a hole" if result.in_hole else "among the codes", delta_color="off", delta_arrow="off",
                   help="Share of training codes that sit in emptier places than this point (a kernel density "
                        "estimate of the training codes). Near 0% the decoder was hardly ever trained here.")
    with strips:
        neighbour_strip("Nearest 5 training digits by code", result.code_neighbours,
                        "Training digits whose codes lie closest to z (distance in code units): what the model "
                        "files next to this spot.")
        neighbour_strip("Nearest 5 training digits by pixels", result.pixel_neighbours,
                        "Training digits whose ink is closest to the decode, dot by dot (distance in pixel units).")
    if result.in_hole:
        st.caption("This point is in a **hole**: fewer training codes around it than around 95% of them. What the "
                   "decoder draws here was never checked against a real digit, so compare the two rows above.")


def own_digit(column) -> tuple[dict, dict | None]:
    """The visitor's digit and where it lands: marks for each map, and what to show beside the input."""
    with column:
        prepared = ui.image_input("latent_own", ds.image_shape, label="Draw or upload a digit")
    if prepared is None:
        return {}, None
    image = prepared.tensor.numpy()
    codes = cached.own_codes(dataset_name, image)
    vae = codes["vae"]
    seed = st.session_state.setdefault(SEED_KEY, 0)
    sample_z, sample_image = cached.resampled(dataset_name, vae.mean, vae.sigma, seed)
    marks = {"ae": {"own": codes["ae"].mean}, "vae": {"own": vae.mean, "sigma": vae.sigma, "sample": sample_z}}
    return marks, {"image": image, "codes": codes, "sample": (sample_z, sample_image), "seed": seed}


@st.fragment
def explore() -> None:
    ui.url_key(PIN_KEY, "pin", latent_space.NO_PIN, cast=pin_from_link)
    try:
        pin_from_link(st.session_state[PIN_KEY])
    except ValueError:  # a pin from another dataset's map
        clear_pin()

    st.subheader("1 · Two maps of the same digits")
    st.caption("Both models squeeze each digit into two numbers (z1, z2) and were trained on the same images. "
               "Dots: test digits, coloured by class. Shading: where the training codes crowd (**density**), or "
               "the digit a classifier reads in the decode at each spot (**classifier**; pale where it is unsure). "
               "The picture beside each map is read from a 64 × 64 grid of decodes made once; a pinned point is "
               "decoded exactly.")
    maps_slot = st.container()
    st.subheader("2 · The pinned point")
    pinned_slot = st.container()

    st.subheader("3 · Your own digit on the maps")
    input_col, result_col = st.columns([1, 2], gap="large")
    marks, own = own_digit(input_col)

    with maps_slot:
        for column, family in zip(st.columns(2, gap="large"), latent_space.MAP_FAMILIES):
            with column:
                clicked = latent_map(cached.map_payload(dataset_name, family), key=f"latent_map_{family}")
                if clicked is not None:
                    st.session_state[PIN_KEY] = str(latent_space.Pin(family, clicked))
                pin = latent_space.parse_pin(st.session_state[PIN_KEY]) \
                    if st.session_state[PIN_KEY] != latent_space.NO_PIN else None
                from_here = pin is not None and pin.family == family
                map_marks(figures.marks_payload(family, pin.z if from_here else None, **marks.get(family, {})),
                          key=f"latent_marks_{family}")
    with pinned_slot:
        show_pinned(st.session_state[PIN_KEY])

    with result_col:
        if own is None:
            st.info("Draw a digit (or upload a photo of one) and it appears on both maps: a black ◆ at its code. On "
                    "the VAE map, dashed ellipses show one and two standard deviations of the encoder's "
                    "uncertainty, and a hollow ◇ one random draw from it.", icon="✏️")
        else:
            ae, vae = own["codes"]["ae"], own["codes"]["vae"]
            sample_z, sample_image = own["sample"]
            shown = st.columns(4)
            shown[0].image(plots.to_pixels(own["image"], SCALE), caption="your digit", output_format="PNG")
            shown[1].image(plots.to_pixels(ae.decoded, SCALE), caption=f"AE at ({ae.mean[0]:.2f}, {ae.mean[1]:.2f})",
                           output_format="PNG")
            shown[2].image(plots.to_pixels(vae.decoded, SCALE), caption=f"VAE at μ = ({vae.mean[0]:.2f}, "
                           f"{vae.mean[1]:.2f})", output_format="PNG")
            shown[3].image(plots.to_pixels(sample_image, SCALE), caption=f"VAE at z = ({sample_z[0]:.2f}, "
                           f"{sample_z[1]:.2f})", output_format="PNG")
            note, button = st.columns([3, 1], vertical_alignment="center")
            note.caption(f"The VAE's encoder is unsure by σ = ({vae.sigma[0]:.2f}, {vae.sigma[1]:.2f}). **Resample** "
                         "draws z = μ + σ·ε again, with fresh noise ε, and decodes it: the wobble is the "
                         "uncertainty the VAE was trained with. A plain AE has one fixed code and nothing to resample.")
            if button.button("🎲 Resample", key="latent_resample", width="stretch"):
                st.session_state[SEED_KEY] = own["seed"] + 1
                st.rerun(scope="fragment")
            csv = ui.codes_csv(np.stack([ae.mean, vae.mean]), extra={
                "model": ["ae-2", "vae-2"], "sigma1": [np.nan, vae.sigma[0]], "sigma2": [np.nan, vae.sigma[1]]})
            st.download_button("⬇️ Codes (CSV)", csv, file_name=f"{dataset_name}_your_digit_codes.csv",
                               mime="text/csv", key="latent_own_csv",
                               help="Your digit's z1, z2 on each map, and the VAE encoder's σ.")
    ui.sync_url(partial=True)  # a fragment rerun skips the entry point, which keeps the link current otherwise


explore()
