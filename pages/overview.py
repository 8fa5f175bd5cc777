"""Overview: the autoencoder's hourglass, traced live on one image the visitor picks or draws."""

import streamlit as st

from dashboard.app import models as app_models
from dashboard.app import ui
from dashboard.core import checkpoints, zoo
from dashboard.lesson import hourglass
from dashboard.viz import plots

dataset_name, ds = ui.page_header(
    "⏳ Latent Lab: what an autoencoder keeps",
    "An autoencoder squeezes an image into a handful of numbers, the **code z**, and rebuilds the image "
    "from those numbers alone. Pick a digit and watch what survives the squeeze.",
    lesson_page="overview")

names = ui.model_names(dataset_name)
if not names:
    st.warning(f"No models exist yet for {dataset_name}. Train one on the Models page, or pick mnist-5k.")
    st.stop()
default_model = "ae-16" if "ae-16" in names else names[0]


def card_for(label: str) -> dict:
    """The picked model's card: the file beside a shipped model, the session's copy for a visitor's own."""
    ref = ui.ref_for(label, dataset_name)
    if ref.is_own:
        return app_models.own_models()[ref].card
    try:
        return zoo.read_card(ref.name, dataset_name)
    except (zoo.ModelNotFound, checkpoints.CheckpointError):
        return {}


def against(value: float, average: float | None, higher_is_better: bool, shown: str) -> dict:
    """A metric's delta in plain words: better or worse than the model's own test average."""
    if average is None:
        return {}
    better = value > average if higher_is_better else value < average
    return {"delta": f"{'better' if better else 'worse'} than average ({shown.format(average)})",
            "delta_color": "normal" if better else "inverse", "delta_arrow": "off"}


@st.fragment
def walkthrough() -> None:
    controls, picture = st.columns([1, 3], gap="large")
    with controls:
        st.subheader("1 · Pick an image")
        model_name = st.selectbox("Model", names, key=ui.url_key("overview_model", "model", default_model, names),
                                  help="ae-k: plain autoencoder with a k-number code; vae-k: variational; "
                                       "dae-k: trained to remove noise.")
        source = st.segmented_control("Image source", ["Test set", "Your own"], default="Test set",
                                      key="overview_source")
        if source == "Your own":
            prepared = ui.image_input("overview_own", ds.image_shape, label="Draw or upload")
            if prepared is None:
                st.info("Showing test image #0 until your image is ready.")
                x, label = ds.x_test[:1], str(ds.classes[int(ds.y_test[0])])
            else:
                x, label = prepared.tensor, "your image"
        else:
            index = ui.pick_test_index("overview_image", len(ds.x_test))
            x, label = ds.x_test[index:index + 1], f"class {ds.classes[int(ds.y_test[index])]}"
    model = ui.require_model(model_name, dataset_name)
    trace = hourglass.walk(model, x)
    with picture:
        st.subheader("2 · Squeeze it through the bottleneck")
        left, middle, right = st.columns([1, 2, 1])
        left.image(plots.to_pixels(trace.x, 8 if ds.image_shape[1] > 16 else 24),
                   caption=f"x: input ({trace.n_pixels} pixels, {label})", output_format="PNG")
        middle.vega_lite_chart(plots.code_bars_spec(trace.z, f"z: the code, {len(trace.z)} numbers"),
                               width="stretch")
        right.image(plots.to_pixels(trace.x_hat, 8 if ds.image_shape[1] > 16 else 24),
                    caption="x̂: reconstruction from z alone", output_format="PNG")
        card = card_for(model_name)
        scores, history = card.get("metrics", {}), card.get("history") or [None]
        size, a, b, c = st.columns(4)
        size.metric("Code size", f"{len(trace.z)}", help=f"{trace.n_pixels} pixels in, {len(trace.z)} "
                    f"numbers in the code: {trace.ratio:.0f}x fewer.")
        a.metric("Error (MSE)", f"{trace.mse:.4f}", **against(trace.mse, scores.get("test_mse"), False, "{:.4f}"),
                 help="Mean squared pixel difference between x and x̂: 0 is a perfect copy, lower is better. "
                      "The average is over every test image, from the model's card.")
        b.metric("PSNR", f"{trace.psnr:.1f} dB", **against(trace.psnr, scores.get("test_psnr"), True, "{:.1f} dB"),
                 help="Peak signal-to-noise ratio, 10 · log10(1 / MSE): higher is better, and 3 dB more is about "
                      "half the squared error. The average is over every test image, from the model's card.")
        c.metric(trace.loss_kind.label, f"{trace.loss:.4f}",
                 delta=None if history[-1] is None else f"last training epoch: {history[-1]:.4f}",
                 delta_color="off", delta_arrow="off",
                 help=f"What {model_name} minimised in training, read from its card: {trace.loss_kind.words}, here "
                      "for this one image. Lower is better; the last epoch's average over the training images gives "
                      "the scale." + (" A VAE's loss draws noise; one fixed draw keeps the number steady."
                                      if trace.loss_kind.with_kl else "")
                      + (" A denoising model met corrupted copies in training; here the image goes in as it is."
                         if model.config.family == "dae" else ""))
        st.caption(f"The code holds {trace.ratio:.0f}x fewer numbers than the image has pixels. {model_name} trains "
                   f"on {trace.loss_kind.words}, the loss on the right.")

    st.subheader("3 · Inside the network and inside the latent space")
    hourglass_col, map_col = st.columns(2, gap="large")
    with hourglass_col:
        # The flat view redraws at once; the 3D one takes seconds per click on a machine without a GPU.
        rotate = st.toggle("Rotate it in 3D", key="overview_hourglass_3d",
                           help="The same planes as stacked 3D surfaces you can drag around. Slower to redraw.")
        if rotate:
            figure = plots.hourglass_3d(trace.stages, height=480)
        else:  # the same network draws the same planes: only their colours change from image to image
            figure = ui.session_figure("_overview_hourglass_figure", (dataset_name, model_name,
                                                                      plots.hourglass_shape(trace.stages)),
                                       lambda: plots.hourglass_2d(trace.stages, height=480))
            plots.refresh_hourglass_2d(figure, trace.stages)
        st.plotly_chart(figure, width="stretch", key="overview_hourglass_3d_chart" if rotate else "overview_hourglass")
        st.caption("Each plane is one layer of the network, input at the top, reconstruction at the bottom; its width "
                   "follows how many numbers the layer holds. The conv layers hold more numbers than the image (many "
                   "small maps), then everything narrows to the code z and widens again. Colour shows how strongly "
                   "each part fires for this image." + (" Drag to rotate." if rotate else ""))
    with map_col:
        if "ae-3" in ui.model_names(dataset_name):
            codes = zoo.codes("ae-3", dataset_name)
            here = hourglass.encode_one(ui.require_model("ae-3", dataset_name), x)
            figure = ui.session_figure("_overview_map_figure", dataset_name, lambda: plots.latent_scatter_3d(
                codes, ds.y_test.numpy(), ds.classes, highlight=here[None, :], highlight_name="this image",
                height=480))
            plots.move_highlight(figure, here)  # the 1,000 codes stay; only the diamond moves
            st.plotly_chart(figure, width="stretch", key="overview_map")
            st.caption("Every test image encoded by ae-3, whose code has exactly 3 numbers, so it can be drawn as "
                       "a point. Similar digits land near each other although the model never saw a label. "
                       "The black diamond is the image above.")
        else:
            st.info("The 3D map needs the ae-3 model, which this dataset does not have yet.")
    ui.sync_url(partial=True)  # a fragment rerun skips the entry point, which keeps the link current otherwise


walkthrough()
st.divider()
st.markdown("**Where next?** Each use case has its own page in the menu on the left. "
            "The **Tour** walks through them in ten minutes, and the **Quiz** checks what stuck.")
