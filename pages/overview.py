"""Overview: the autoencoder's hourglass, traced live on one image the visitor picks or draws."""

import numpy as np
import plotly.graph_objects as go
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


MAP_KEY = "overview_map"
PANEL_PX = 380  # the hourglass and the map each need this much width to show their labels whole
MAP_FALLBACK = "ae-3"  # drawn when the picked model's code has more than 3 numbers
HOVER_NUMBER = "test image #"
# The name of the picked image, set off from the points with an arrow, on a pale box that reads on either theme.
MARK_LABEL = {"text": "this image", "showarrow": True, "arrowhead": 2, "arrowwidth": 2, "arrowcolor": plots.MARK_COLOR,
              "ax": 46, "ay": -42, "bgcolor": "rgba(255, 255, 255, 0.9)", "bordercolor": plots.MARK_COLOR,
              "borderwidth": 2, "borderpad": 3, "font": {"color": "#1F2933", "size": 12}}
MARK_STYLE = {"size": 16, "color": plots.MARK_COLOR, "symbol": "diamond", "line": {"width": 3, "color": "#FFFFFF"}}


def map_for(label: str, code_size: int) -> tuple[str, str]:
    """(the model whose codes the map draws, the figure's title): the picked one when its code has 2 or 3 numbers,
    else ae-3, and the title says why."""
    if code_size in (2, 3):
        return label, f"{label}: each test image's {code_size}-number code"
    return MAP_FALLBACK, (f"{MAP_FALLBACK}, not {label}: a {code_size}-number code cannot be drawn as a point,<br>"
                          f"so the map shows the 3-number codes of {MAP_FALLBACK}")


def map_codes(label: str) -> np.ndarray:
    """(N_test, k) codes of every test image: stored for a shipped model, encoded now for a visitor's own."""
    ref = ui.ref_for(label, dataset_name)
    if ref.is_own:
        return hourglass.encode_all(ui.require_model(label, dataset_name), ds.x_test)
    return np.asarray(zoo.codes(ref.name, dataset_name))


def flat_map(codes: np.ndarray, title: str, here: np.ndarray) -> go.Figure:
    """A 2-number code as it is, a point on a plane: a click on a 2D chart can be read back, so it loads the image."""
    labels, numbers = ds.y_test.numpy(), np.arange(len(codes))
    figure = go.Figure()
    for index, name in enumerate(ds.classes):
        chosen = labels == index
        figure.add_trace(go.Scatter(
            x=codes[chosen, 0], y=codes[chosen, 1], mode="markers", name=name, customdata=numbers[chosen],
            legendgroup=name, showlegend=False, marker={"size": 5, "color": plots.class_color(index), "opacity": 0.6},
            hovertemplate=f"class {name}<br>{HOVER_NUMBER}: %{{customdata}}<extra></extra>"))
    # The legend shows opaque stand-ins: a swatch takes its trace's opacity, and a thinned red, brown or grey all but
    # vanished on the dark theme. A click on one still hides and shows its class.
    for index, name in enumerate(ds.classes):
        figure.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=name, legendgroup=name,
                                    marker={"size": 8, "color": plots.class_color(index)}, hoverinfo="skip"))
    figure.add_trace(go.Scatter(x=here[:1], y=here[1:2], mode="markers", name="this image", marker=MARK_STYLE,
                                hoverinfo="skip"))
    figure.update_layout(title={"text": title, "x": 0.0, "font": {"size": 13}}, height=480,
                         margin={"l": 0, "r": 0, "t": 40, "b": 0}, annotations=[{**MARK_LABEL, "x": here[0],
                                                                                 "y": here[1]}],
                         xaxis={"title": "z1", "zeroline": False}, yaxis={"title": "z2", "zeroline": False},
                         legend={"orientation": "h", "y": -0.12, "title": {"text": "class "}})
    return figure


def build_map(label: str, title: str, here: np.ndarray) -> go.Figure:
    codes = map_codes(label)
    if codes.shape[1] == 2:
        return flat_map(codes, title, here)
    figure = plots.latent_scatter_3d(codes, ds.y_test.numpy(), ds.classes, title=title,
                                     hover={HOVER_NUMBER: np.arange(len(codes))}, highlight=here[None, :],
                                     highlight_name="this image", height=480)
    # The diamond alone, larger and outlined, so it stands out of the cloud on either theme; its name goes on a
    # label off to one side (a 3D text label sat on the points around it).
    figure.data[-1].update(mode="markers", marker=MARK_STYLE)
    figure.update_layout(margin={"t": 52}, title_font_size=13,
                         scene_annotations=[{**MARK_LABEL, "x": here[0], "y": here[1], "z": here[2]}])
    return figure


def move_mark(figure: go.Figure, here: np.ndarray) -> None:
    """Move the diamond and its label to another image: the test codes stay."""
    if len(here) == 2:
        figure.data[-1].update(x=here[:1], y=here[1:2])
        figure.layout.annotations[0].update(x=here[0], y=here[1])
    else:
        plots.move_highlight(figure, here)
        figure.layout.scene.annotations[0].update(x=here[0], y=here[1], z=here[2])


def load_clicked_image() -> None:
    """A click on a point of the flat map loads that test image into section 1 (the points carry their number)."""
    picked = st.session_state.get(MAP_KEY) or {}
    numbers = [point.get("customdata") for point in picked.get("selection", {}).get("points", [])
               if point.get("customdata") is not None]
    if numbers:  # none: the diamond or an empty spot
        number = numbers[0][0] if isinstance(numbers[0], (list, tuple)) else numbers[0]
        st.session_state["overview_image"] = int(number)
        st.session_state["overview_source"] = "Test set"


@st.fragment
def walkthrough() -> None:
    st.subheader("1 · Pick an image")
    # Two columns of controls above the picture, not a narrow column beside it: on a 1024 px laptop with the
    # sidebar open, a quarter of the page cut the buttons' labels short.
    choose, pick = st.columns(2, gap="large")
    with choose:
        model_name = st.selectbox("Model", names, key=ui.url_key("overview_model", "model", default_model, names),
                                  help="ae-k: plain autoencoder with a k-number code; vae-k: variational; "
                                       "dae-k: trained to remove noise.")
        source = st.segmented_control("Image source", ["Test set", "Your own"], default="Test set",
                                      key="overview_source")
    with pick:
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
    st.subheader("2 · Squeeze it through the bottleneck")
    left, middle, right = st.columns([1, 2, 1])
    left.image(plots.to_pixels(trace.x, 8 if ds.image_shape[1] > 16 else 24),
               caption=f"x: input ({trace.n_pixels} pixels, {label})", output_format="PNG")
    middle.vega_lite_chart(plots.code_bars_spec(trace.z, f"z: the code, {len(trace.z)} numbers"), width="stretch")
    right.image(plots.to_pixels(trace.x_hat, 8 if ds.image_shape[1] > 16 else 24),
                caption="x̂: reconstruction from z alone", output_format="PNG")
    card = card_for(model_name)
    scores, history = card.get("metrics", {}), card.get("history") or [None]
    numbers = st.container(horizontal=True, gap="medium")  # they wrap onto two rows rather than cut to "0.0…"
    numbers.metric("Code size", f"{len(trace.z)}", width="content",
                   help=f"{trace.n_pixels} pixels in, {len(trace.z)} numbers in the code: {trace.ratio:.0f}x fewer.")
    numbers.metric("Error (MSE)", f"{trace.mse:.4f}", width="content",
                   **against(trace.mse, scores.get("test_mse"), False, "{:.4f}"),
                   help="Mean squared pixel difference between x and x̂: 0 is a perfect copy, lower is better. "
                        "The average is over every test image, from the model's card.")
    numbers.metric("PSNR", f"{trace.psnr:.1f} dB", width="content",
                   **against(trace.psnr, scores.get("test_psnr"), True, "{:.1f} dB"),
                   help="Peak signal-to-noise ratio, 10 · log10(1 / MSE): higher is better, and 3 dB more is about "
                        "half the squared error. The average is over every test image, from the model's card.")
    numbers.metric(trace.loss_kind.label, f"{trace.loss:.4f}", width="content",
                   delta=None if history[-1] is None else f"last training epoch: {history[-1]:.4f}",
                   delta_color="off", delta_arrow="off",
                   help=f"What {model_name} minimised in training, read from its card: {trace.loss_kind.words}, "
                        "here for this one image. Lower is better; the last epoch's average over the training images "
                        "gives the scale." + (" A VAE's loss draws noise; one fixed draw keeps the number steady."
                                              if trace.loss_kind.with_kl else "")
                        + (" A denoising model met corrupted copies in training; here the image goes in as it is."
                           if model.config.family == "dae" else ""))
    st.caption(f"The code holds {trace.ratio:.0f}x fewer numbers than the image has pixels. {model_name} trains "
               f"on {trace.loss_kind.words}, the Loss figure above.")

    st.subheader("3 · Inside the network and inside the latent space")
    # Side by side where both fit at a readable width, one under the other on a narrower page: in two columns of
    # a 1024 px laptop's page, the hourglass's layer names were cut off.
    inside = st.container(horizontal=True, gap="medium")
    with inside.container(width=PANEL_PX):
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
    with inside.container(width=PANEL_PX):
        map_name, title = map_for(model_name, len(trace.z))
        if map_name == MAP_FALLBACK and MAP_FALLBACK not in ui.model_names(dataset_name):
            st.info(f"The map needs a model with a 2- or 3-number code: pick one in the Model box ({model_name}'s "
                    f"code has {len(trace.z)} numbers, and this dataset has no {MAP_FALLBACK}).")
        else:
            here = np.asarray(trace.z if map_name == model_name else
                              hourglass.encode_one(ui.require_model(map_name, dataset_name), x), dtype=np.float64)
            figure = ui.session_figure("_overview_map_figure", (dataset_name, map_name, title),
                                       lambda: build_map(map_name, title, here))
            move_mark(figure, here)
            if len(here) == 2:
                st.plotly_chart(figure, width="stretch", key=MAP_KEY, on_select=load_clicked_image,
                                selection_mode="points")
                how = ("**Click a point** to load that test image into section 1; pointing at one shows its "
                       "number.")
            else:  # Streamlit reads clicks back from 2D charts only: a 3D point tells its number on hover
                st.plotly_chart(figure, width="stretch", key=MAP_KEY)
                how = ("Drag to rotate. Point at a dot to read its test image number, and type it in section 1 to "
                       "load it (a 3D chart's clicks cannot be read back); ae-2 and vae-2 draw a flat map whose "
                       "points load with a click.")
            st.caption(f"Every test image encoded by {map_name}, whose code has exactly {len(here)} numbers, so it "
                       "can be drawn as a point. Similar digits land near each other although the model never saw "
                       f"a label. The magenta diamond is the image above. {how}")
    ui.sync_url(partial=True)  # a fragment rerun skips the entry point, which keeps the link current otherwise


walkthrough()
st.divider()
st.markdown("**Where next?** Each use case has its own page in the menu on the left. "
            "The **Tour** walks through them in ten minutes, and the **Quiz** checks what stuck.")
