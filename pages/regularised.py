"""Regularised AEs: a sparse overcomplete code beside the bottleneck, the DAE as a vector field, contraction."""

import streamlit as st

from dashboard.app import navigation, ui
from dashboard.app.cached import regularised as cached
from dashboard.regularised import sparse, toy
from dashboard.viz import plots
from dashboard.viz import regularised_charts as charts

dataset_name, ds = ui.page_header(
    "🧲 Regularised autoencoders",
    "A narrow code is one way to stop an autoencoder from copying its input. Three others: make the code "
    "**sparse**, so that only a few of its many units fire for each image; make the encoder **contractive**, so "
    "that small changes of the input barely move the code; or **corrupt** the input, so that the network must "
    "learn which way the data lie.",
    lesson_page="regularised")
SHAPE_LABELS = {"circle": "Circle", "spiral": "Spiral"}


def _image_scale() -> int:
    return 6 if ds.image_shape[1] > 16 else 20


@st.fragment
def sparse_section() -> None:
    found = cached.report(dataset_name)
    config = sparse.config(dataset_name)
    k_sparse, k_dense = found.sparse_codes.shape[1], found.dense_codes.shape[1]
    n_pixels = int(ds.x_test[0].numel())
    width = (f"more units than the image has pixels ({n_pixels}): an *overcomplete* code" if k_sparse > n_pixels
             else f"{k_sparse // k_dense} times as wide as {sparse.UNDERCOMPLETE}'s")
    st.markdown(
        f"`{sparse.SPARSE}` has a code of **{k_sparse} units**, {width}. It is a *k-sparse* autoencoder "
        f"(Makhzani & Frey, 2014): for each image only its **{config.top_k} largest units** pass to the decoder and "
        f"the rest are set to zero. `{sparse.UNDERCOMPLETE}` is the plain bottleneck: {k_dense} numbers, all used.")
    # A wrapping row, not four columns: beside an open sidebar the numbers take two rows instead of being cut short.
    numbers = st.container(horizontal=True)
    numbers.metric(f"{sparse.SPARSE}: units firing", f"{found.firing.mean():.1f} of {k_sparse}",
                   f"{100 * found.active_fraction:.1f}% per image on average", delta_color="off",
                   delta_arrow="off",
                   help="Mean over the test images of the number of code units with a non-zero value.")
    numbers.metric(f"{sparse.UNDERCOMPLETE}: units in use", f"{k_dense} of {k_dense}", "every unit, every image",
                   delta_color="off", delta_arrow="off")
    numbers.metric(f"{sparse.SPARSE} test MSE", f"{found.sparse_mse.mean():.4f}",
                   f"{found.mse_ratio:.2f}× {sparse.UNDERCOMPLETE}'s", delta_color="off", delta_arrow="off")
    numbers.metric(f"{sparse.UNDERCOMPLETE} test MSE", f"{found.dense_mse.mean():.4f}")
    st.caption(f"Over the {len(found.firing):,} test images of {dataset_name}. A unit *fires* when its value is "
               f"not zero. The code is rectified before the {config.top_k} largest are kept, so an image with fewer "
               f"positive units uses fewer. {found.never_fire} of the {k_sparse} units never fire on a test image.")

    # The source choice sits above the columns: in the narrow controls column beside an open sidebar its two
    # options would be cut short.
    source = st.segmented_control("Image", ["Test set", "Your own"], default="Test set", key="regularised_source")
    controls, shown = st.columns([1, 3], gap="large")
    with controls:
        one, label, index = None, "", None
        if source == "Your own":
            prepared = ui.image_input("regularised_own", ds.image_shape, label="Draw or upload")
            if prepared is not None:
                one, label = sparse.one_image(dataset_name, prepared.tensor), "your image"
        if one is None:
            if source == "Your own":
                st.info("Showing test image #0 until your image is ready.")
                index = 0
            else:
                index = ui.pick_test_index("regularised_image", len(ds.x_test))
            one = cached.test_image(dataset_name, index)
            label = f"test #{index}, class {ds.classes[int(ds.y_test[index])]}"
    sparse_error, dense_error = one.errors()
    with shown:
        st.image(plots.grid_png([[one.image[0], one.dense_hat[0], one.sparse_hat[0]]], scale=_image_scale(),
                                column_labels=["input", sparse.UNDERCOMPLETE, sparse.SPARSE]),
                 caption=f"{label}. Reconstruction MSE: {sparse.UNDERCOMPLETE} {dense_error:.4f}, "
                         f"{sparse.SPARSE} {sparse_error:.4f}.", output_format="PNG")
        st.vega_lite_chart(charts.code_bars_spec(
            one.sparse_code, f"{sparse.SPARSE}: {one.firing} of {k_sparse} units fire", charts.SPARSE_COLOR),
            width="stretch")
        st.vega_lite_chart(charts.code_bars_spec(
            one.dense_code, f"{sparse.UNDERCOMPLETE}: all {k_dense} units carry a value",
            plots.METHOD_COLORS["AE"], height=150), width="stretch")
    left, right = st.columns(2, gap="large")
    with left:
        st.markdown("**How many units fire, image by image**")
        st.vega_lite_chart(charts.firing_histogram_spec(found.firing, k_sparse, one.firing), width="stretch")
        st.caption(f"Test images by the number of units that fire; the dashed line is {label} ({one.firing}).")
    with right:
        st.markdown("**How often each unit fires**")
        st.vega_lite_chart(charts.unit_usage_spec(found.sparse_codes), width="stretch")
        st.caption(f"The share of test images for which each of the {k_sparse} units fires. Different digits call "
                   "on different units, so between them the units cover every digit while each image uses few.")
    parts = cached.loss_parts(dataset_name)
    if len(parts) > 1:  # a penalty was logged beside the reconstruction
        st.vega_lite_chart(charts.loss_parts_spec(parts), width="content")
    st.download_button("Sparse codes of the test set (CSV)", lambda: cached.codes_csv(dataset_name),
                       f"{sparse.SPARSE}-{dataset_name}-codes.csv", "text/csv", key="regularised_codes_csv")


@st.fragment
def field_section() -> None:
    # A wrapping row, not columns: beside an open sidebar the toggle moves to a second row instead of cutting its
    # label short.
    controls = st.container(horizontal=True, vertical_alignment="bottom")
    shape = controls.segmented_control(
        "Toy data", toy.SHAPES, format_func=SHAPE_LABELS.get,
        key=ui.url_key("regularised_shape", "shape", toy.DEFAULT_SHAPE, toy.SHAPES)) or toy.DEFAULT_SHAPE
    noise = controls.select_slider(
        "Training noise σ", toy.NOISE_LEVELS, width=220,
        key=ui.url_key("regularised_noise", "sigma", toy.DEFAULT_NOISE, toy.NOISE_LEVELS, float),
        help="The standard deviation of the Gaussian noise added to every training point (the curve's size is "
             "about 2). One small DAE is trained per setting.")
    ideal = controls.toggle("Show the ideal arrows", key="regularised_ideal",
                            help="σ²·∇log p(x) of the data blurred by the same noise: what a perfect DAE would draw.")
    found, seconds = cached.field(shape, float(noise))
    near = toy.near(float(noise))
    figure = charts.vector_field_figure(found.data, found.grid, found.arrows, found.ideal if ideal else None,
                                        toy.EXTENT)
    st.plotly_chart(figure, width="stretch", key="regularised_field", config={"displayModeBar": False})
    numbers = st.container(horizontal=True)  # side by side, or one under the other where they would clip
    numbers.metric("Arrows towards the curve", f"{100 * found.towards_curve(near):.0f}%",
                   help=f"Share of the grid points within {near:.2f} of the curve (2σ, at most 0.25) whose arrow has "
                        "a component towards it.")
    numbers.metric("Agreement with the ideal", f"{found.agreement(near):.2f}",
                   help=f"Mean cosine between the DAE's arrow and σ²·∇log p(x), over grid points within {near:.2f} of "
                        "the curve; 1 means the same direction everywhere.")
    numbers.metric("Agreement, whole grid", f"{found.agreement():.2f}",
                   help="The same mean cosine over every grid point, far from the curve too.")
    st.caption(f"{len(found.data)} training points, {toy.STEPS} training steps, trained in {seconds:.1f} s on this "
               "server. Each arrow starts at a grid point x and shows r(x) − x, the step the DAE takes from x.")


st.header("1 · A wide code that is mostly silent")
if sparse.shipped(dataset_name):
    sparse_section()
else:
    st.info(f"The sparse AE ships for mnist-5k and digits only; train models for {dataset_name} on the Models page, "
            "or pick one of those datasets in the sidebar.")

st.header("2 · A denoising autoencoder is a vector field")
st.markdown(
    "Train a small DAE on points near a curve: each step adds Gaussian noise to the points and asks for the clean "
    "ones back. At any place x, the difference **r(x) − x** between its output and its input is an arrow. The "
    "arrows point back to the data, and Alain & Bengio (2014) showed that for small noise they approximate "
    "**σ²·∇log p(x)**, the *score* of the data's density: the direction in which the data become more likely.")
field_section()
st.markdown(
    "Far from the data the DAE saw no noisy points, so its arrows there are extrapolations that nothing checked; at "
    "a small σ that is most of the plane (on the spiral at σ = 0.05, compare them with the ideal arrows). This is "
    "the idea behind diffusion models: Song & Ermon (2019) train one denoiser at many noise "
    "levels, from large to small, and follow its arrows to turn noise into data; Ho et al. (2020) do the same in "
    "a thousand small denoising steps.")
try:
    diffusion = navigation.by_key("latent-diffusion")
except ValueError:
    diffusion = None
if diffusion is not None:
    st.page_link(diffusion.path, label=f"See it generate digits on the {diffusion.title} page", icon=diffusion.icon)

st.header("3 · A contractive penalty")
st.markdown(
    "A contractive autoencoder (Rifai et al., 2011) adds the squared Frobenius norm of the encoder's Jacobian, "
    "‖∂z/∂x‖², to the loss: moving the input a little should barely move the code, except along the directions "
    "the data vary in, which the reconstruction term defends. Training estimates that norm cheaply from a few "
    "random projections per batch; the table below measures it on the shipped models. The norm depends on the "
    "code's scale, so an encoder can also lower it by shrinking every code while the decoder scales back up; "
    "Rifai et al. tie the decoder's weights to the encoder's, which rules that out.")
if st.toggle("Measure it on the shipped models", key="regularised_measure",
             help="Exact encoder Jacobians and estimated reconstruction Jacobians, once per server."):
    measured = cached.contraction(dataset_name)
    if measured.encoder:
        st.dataframe(
            [{"model": name, "encoder ‖∂z/∂x‖²": measured.encoder[name],
              "reconstruction ‖∂r/∂x‖²": measured.reconstruction[name]} for name in measured.encoder],
            hide_index=True, width="content")
        st.caption(f"Means over the first {measured.n_images} test digits. Encoder: exact, one backward pass per "
                   f"code unit. Reconstruction r(x) = decode(encode(x)): estimated from {measured.probes} random "
                   "projections. Codes of different sizes and scales make the encoder column hard to compare "
                   "across models; the reconstruction column is in pixels for all of them. Alain & Bengio (2014) "
                   "showed that a DAE trained with small noise penalises ‖∂r/∂x‖² in effect.")
    else:
        st.info(f"No shipped models to measure for {dataset_name}.")
