"""Latent space: point anywhere in a 2D code space and watch the decoder draw it; 3D and 16D codes with sliders."""

import numpy as np
import streamlit as st

from dashboard import latent_space
from dashboard.app import ui
from dashboard.app.cached import latent_space as cached
from dashboard.app.latent_map import latent_map, map_marks
from dashboard.core import zoo
from dashboard.lesson import tour
from dashboard.viz import latent_space_figures as figures
from dashboard.viz import plots

dataset_name, ds = ui.page_header(
    "🗺️ Latent space: point anywhere, watch the decoder draw",
    "Each dot is a test digit squeezed into a **code of just two numbers**, so the code space is a flat map. "
    "Move the pointer over a map (on a touch screen, tap it or drag sideways across it) and the decoder draws what "
    "it makes of the spot under it; **click** or tap to pin a point and look closer, and pin a dot to see the real "
    "digit beside its decode. Both maps have **holes**, spots the training codes hardly reach; the numbers under "
    "the maps count them the same way for each model.",
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


def next_sample() -> None:
    st.session_state[SEED_KEY] = st.session_state.get(SEED_KEY, 0) + 1


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
        st.info("**Click or tap anywhere on a map** to pin that point: its exact decode, what a classifier reads in "
                "it, its nearest training digits and how crowded that spot is will appear here, and on a test "
                "digit's dot the real digit too. The link then carries the point, so you can share it.", icon="📍")
        return
    result = cached.pinned(dataset_name, pin_text)
    z1, z2 = result.pin.z
    head, clear = st.columns([5, 1], vertical_alignment="center")
    head.markdown(f"**Pinned on the {result.pin.family.upper()} map ({result.model_name}) at z = ({z1:.2f}, "
                  f"{z2:.2f})**")
    clear.button("✖ Unpin", key="latent_unpin", on_click=clear_pin, width="stretch")
    # One wrapping row of pictures and numbers at their natural widths, the neighbour strips under it: three columns
    # cut the metrics' labels short on a 1024 px laptop.
    top = st.container(horizontal=True, gap="medium", vertical_alignment="top")
    decoded = plots.to_pixels(result.decoded, SCALE)
    side = int(decoded.shape[1])  # a caption wider than its picture would stretch the picture in this row
    top.image(decoded, caption="exact decode at z", output_format="PNG", width=side)
    under = result.digit_on_dot
    if under is not None:
        top.image(plots.to_pixels(ds.x_test[under.index], SCALE), output_format="PNG", width=side,
                  caption=f"real test digit #{under.index} ({ds.classes[under.label]}), {under.distance:.2f} "
                          "from z")
    top.metric("Classifier reads", f"{ds.classes[result.predicted]}", f"{result.confidence:.0%} sure",
               delta_color="off", delta_arrow="off", width="content",
               help="A small CNN trained on the real digits of this dataset looks at the decode. Below about "
                    "60% it is unsure: the decode is not a clear digit.")
    top.metric("Crowding", f"{result.density_percentile:.0%}", "a hole" if result.in_hole else "among the codes",
               delta_color="off", delta_arrow="off", width="content",
               help="Share of training codes that sit in emptier places than this point (a kernel density "
                    "estimate of the training codes). Near 0% the decoder was hardly ever trained here.")
    if under is not None:
        st.caption(f"The pin landed on a test digit's dot: beside what the decoder draws at z is the real digit "
                   f"whose code lies there ({under.distance:.2f} away, in code units). The encoder squeezed it to "
                   "these two numbers, and the decode is all the decoder can rebuild from them.")
    neighbour_strip("Nearest 5 training digits by code", result.code_neighbours,
                    "Training digits whose codes lie closest to z (distance in code units): what the model files "
                    "next to this spot.")
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
        found = {}
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
                grid, _, train_codes = cached.map_data(dataset_name, family)
                found[family] = latent_space.summary(grid, train_codes)
                holes, readable = st.columns(2)
                holes.metric(tour.map_label(family, "holes"), f"{found[family].holes:.0%}",
                             help=tour.MAP_HELP["holes"])
                readable.metric(tour.map_label(family, "readable"), f"{found[family].readable:.0%}",
                                help=tour.MAP_HELP["readable"])
        st.caption(f"Counted the same way on both maps, holes take **{found['ae'].holes:.0%}** of the AE's data "
                   f"box and **{found['vae'].holes:.0%}** of the VAE's. The VAE does not remove its holes: its KL "
                   "term acts on each image's code, not on the codes as a whole. What it changes is where the codes "
                   "sit: packed round the origin at about the scale of N(0, I), while the AE's spread as far as "
                   "training pushed them (read the axes).")
    with pinned_slot:
        show_pinned(st.session_state[PIN_KEY])

    with result_col:
        if own is None:
            st.info("Draw a digit (or upload a photo of one) and it appears on both maps: a black ◆ at its code. On "
                    "the VAE map, dashed ellipses show one and two standard deviations of the encoder's "
                    "uncertainty, and a hollow ◇ one random draw from it. An encoder this sure often has ellipses "
                    "smaller than a dot: they are then drawn enlarged, ×10 or ×100, and the map labels them so "
                    "(σ ×10).", icon="✏️")
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
            button.button("🎲 Resample", key="latent_resample", width="stretch", on_click=next_sample)
            csv = ui.codes_csv(np.stack([ae.mean, vae.mean]), extra={
                "model": ["ae-2", "vae-2"], "sigma1": [np.nan, vae.sigma[0]], "sigma2": [np.nan, vae.sigma[1]]})
            st.download_button("⬇️ Codes (CSV)", csv, file_name=f"{dataset_name}_your_digit_codes.csv",
                               mime="text/csv", key="latent_own_csv",
                               help="Your digit's z1, z2 on each map, and the VAE encoder's σ.")
    ui.sync_url(partial=True)  # a fragment rerun skips the entry point, which keeps the link current otherwise


explore()

# ---------------------------------------------------------------- 4 · three numbers: a point in a room
st.subheader("4 · Three numbers: move a point through the code space")
three_d_models = [name for name in ("ae-3", "vae-3") if name in shipped]


def on_slider_grid(value: float) -> float:
    """A code value on the 3D sliders' 0.05 grid: off the grid, the arrow keys moved the slider nowhere."""
    return round(float(value) * 20) / 20


def jump_to_image(model_name: str, keys: list[str]) -> None:
    """Put the sliders on a random test image's code: a natural place to start exploring from."""
    index = int(np.random.default_rng().integers(len(ds.x_test)))
    code = zoo.codes(model_name, dataset_name, "test")[index]
    for key, value in zip(keys, code):
        st.session_state[key] = on_slider_grid(value)
    st.session_state["latent_3d_from"] = index


@st.fragment
def three_d() -> None:
    if not three_d_models:
        st.info("This view needs the 3-number models (ae-3, vae-3), which this dataset does not ship.")
        return
    model_name = st.segmented_control(
        "Model", three_d_models, key=ui.url_key("latent_3d_model", "m3", three_d_models[0], three_d_models),
        help="ae-3: plain autoencoder with a 3-number code; vae-3: variational.") or three_d_models[0]
    ranges = cached.slider_ranges(dataset_name, model_name)
    keys = [f"latent_3d_{model_name}_z{i + 1}" for i in range(3)]
    start = zoo.codes(model_name, dataset_name, "test")[0]
    for key, value in zip(keys, start):
        st.session_state.setdefault(key, on_slider_grid(value))
    plot_col, control_col = st.columns([3, 2], gap="large")
    with control_col:
        for i, key in enumerate(keys):
            low, high = (float(round(v, 1)) for v in ranges[i])
            st.session_state[key] = min(max(st.session_state[key], low), high)
            st.slider(f"z{i + 1}", low, high, step=0.05, key=key, format="%.2f")
        st.button("🎲 Random test digit", key="latent_3d_jump", on_click=jump_to_image,
                  args=(model_name, keys), width="stretch")
        z = tuple(float(st.session_state[key]) for key in keys)
        image, predicted, confidence = cached.decode_with_verdict(dataset_name, model_name, z)
        picture, words = st.columns([1, 1], vertical_alignment="center")
        picture.image(plots.to_pixels(image, SCALE), caption="decode at z", output_format="PNG")
        words.metric("Classifier reads", ds.classes[predicted], f"{confidence:.0%} sure", delta_color="off",
                     delta_arrow="off")
        origin = st.session_state.get("latent_3d_from")
        words.caption(f"Started from test digit #{origin}." if origin is not None else
                      "Started from test digit #0.")
    with plot_col:
        st.plotly_chart(figures.with_marker(cached.base_3d(dataset_name, model_name), np.asarray(z)),
                        width="stretch", key="latent_3d_plot")
        st.caption(f"The {len(ds.x_test):,} test digits' codes under {model_name}, coloured by class; the magenta "
                   "diamond is the z of the sliders. Drag to rotate. Each slider moves one of the three numbers; "
                   "the decode beside it is computed exactly on every move.")
    ui.sync_url(partial=True)


three_d()

# ---------------------------------------------------------------- 5 · sixteen numbers: principal directions
st.subheader("5 · Sixteen numbers: move along the directions that matter")
big_models = [name for name in ("ae-16", "vae-16") if name in shipped]
N_DIRECTIONS = 4


@st.fragment
def sixteen() -> None:
    if not big_models:
        st.info("This view needs the 16-number models (ae-16, vae-16), which this dataset does not ship.")
        return
    pick_col, model_col = st.columns([2, 1], vertical_alignment="bottom")
    with model_col:
        model_name = st.segmented_control(
            "Model", big_models, key=ui.url_key("latent_pc_model", "m16", big_models[0], big_models),
            help="The 16-number plain autoencoder or VAE.") or big_models[0]
    with pick_col:
        index = ui.pick_test_index("latent_pc_image", len(ds.x_test))
    steps_col, picture_col = st.columns([1, 2], gap="large")
    with steps_col:
        steps = [st.slider(f"Direction {i + 1}", -3.0, 3.0, 0.0, step=0.25, key=f"latent_pc_{i}",
                           help="How far to move along this direction, in standard deviations of the training "
                                "codes along it.") for i in range(N_DIRECTIONS)]
    found_png, shares = cached.direction_strips(dataset_name, model_name, index, THUMB + 1)
    z = cached.moved_code(dataset_name, model_name, index, tuple(steps))
    image, predicted, confidence = cached.decode_with_verdict(dataset_name, model_name, z)
    with picture_col:
        a, b, c = st.columns(3)
        a.image(plots.to_pixels(ds.x_test[index], SCALE), caption=f"test digit #{index}", output_format="PNG")
        start_image, *_ = cached.decode_with_verdict(dataset_name, model_name,
                                                     tuple(map(float, zoo.codes(model_name, dataset_name,
                                                                                "test")[index])))
        b.image(plots.to_pixels(start_image, SCALE), caption="decode of its code", output_format="PNG")
        c.image(plots.to_pixels(image, SCALE), caption=f"moved: reads {ds.classes[predicted]} "
                f"({confidence:.0%})", output_format="PNG")
    strip_col, _ = st.columns([3, 2])
    strip_col.image(found_png, output_format="PNG",
                    caption="Each row moves the code along one direction alone, from −2 to +2 standard deviations "
                            "(the middle column is the digit's own code). Shares of the codes' variance: " +
                            ", ".join(f"direction {i + 1}: {share:.0%}" for i, share in enumerate(shares)) + ".")
    st.caption(f"{model_name} has 16 numbers per code: too many to draw, but the training codes vary more along "
               "some directions than others (principal component analysis finds them, strongest first; the shares "
               "are under the strips). These are the four strongest: moving along them changes the strokes most.")
    ui.sync_url(partial=True)


sixteen()

# ---------------------------------------------------------------- 6 · watch the space form
st.subheader("6 · Watch the space form")
WATCH_PX = 396


@st.fragment
def watch() -> None:
    names = [name for name in ("ae-2", "vae-2", "ae-3", "vae-3") if name in shipped]
    found = {name: cached.snapshots(dataset_name, name) for name in names}
    problems = [text for text in found.values() if isinstance(text, str)]
    found = {name: snap for name, snap in found.items() if not isinstance(snap, str)}
    for text in problems:
        st.warning(text, icon="🚫")
    if not found:
        st.info("This dataset ships no recordings of training to replay.")
        return
    view = st.segmented_control("Code size", ["2 numbers", "3 numbers"], key="latent_watch_view",
                                default="2 numbers") or "2 numbers"
    wanted = [name for name in found if name.endswith("-2" if view.startswith("2") else "-3")]
    if not wanted:
        st.info(f"No {view} models were recorded for this dataset.")
        return
    # The charts' own slider and ▶ Play scrub the epochs in the browser: a server-side scrubber re-sent both
    # 41-frame animations (about 475 kB) on every move, since a figure opened at another epoch is another spec.
    # Side by side where both fit at a width that keeps each chart's legend off its title and its Play button off
    # its slider; one under the other on a narrower page.
    row = st.container(horizontal=True, gap="small")
    for name in wanted:
        snap = found[name]
        last = len(snap.epochs) - 1
        with row.container(width=WATCH_PX):
            st.metric(f"{name} training loss after {last} epochs", "untrained" if last == 0 else
                          f"{snap.loss[last]:.4f}", None if last == 0 else f"{snap.loss[last] - snap.loss[1]:+.4f} "
                          "since epoch 1", delta_color="inverse",
                          help=f"Mean training loss of the last epoch, as {name}'s card records it: "
                               f"{cached.training_loss_words(dataset_name, name)} per pixel"
                               f"{' plus the KL term' if name.startswith('vae') else ''}. Different losses run on "
                               "different scales, so compare a model with its own earlier epochs. The chart's "
                               "title gives the loss of the epoch it shows.")
            st.plotly_chart(cached.training_spec(dataset_name, name), width="stretch",
                            key=f"latent_watch_{name}", config={"displayModeBar": False})
    first = next(iter(found.values()))
    st.caption(
        "Drag a chart's slider to any point of training, or press ▶ Play under it to replay the epochs. "
        f"The same {len(first.indices):,} test digits, encoded by each model before training (epoch 0) and after "
        "every pass over the training images. At first the untrained encoder crams every digit into one tiny "
        "clump (read the axes: about a hundredth wide, or less) where the classes overlap. Early in training the "
        "clump stretches out and digits that look alike pull together; later epochs mostly sharpen the borders "
        "between classes while the loss flattens. "
        "The plain autoencoder's classes drift apart freely and leave gaps between them; the VAE's KL term keeps "
        "pulling its codes back towards the centre, so its clusters stay packed round the origin, gaps and all. "
        "The axes follow the codes, so read their numbers to see how far the space has grown.")
    if not first.card.get("ends_at_shipped_weights", True):
        st.caption("Recorded while retraining the same recipe on the build machine, whose floating-point kernels "
                   "differ from the machine that trained the shipped weights: the final frame is a sibling of the "
                   "maps above, trained the same way, not the identical model.")


watch()
