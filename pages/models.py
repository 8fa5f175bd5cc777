"""Models: a card for every shipped model, and a bounded "train your own" for this session."""

import json
import time

import pandas as pd
import streamlit as st

from dashboard.app import models, training, ui
from dashboard.core import corrupt, isolated, nets, recipes, snapshots, train, zoo
from dashboard.viz import latent_space_figures, plots

MAX_EPOCHS = 40
MAX_SECONDS = 180
OVERRUN_SECONDS = 180  # the epoch that crosses MAX_SECONDS, scoring and the child's start; past it the run is killed
LATENT_SIZES = [2, 3, 8, 16, 32, 64]
LIVE_MAP_SECONDS = 0.5  # least time between two redraws of the live code map

dataset_name, ds = ui.page_header(
    "🧪 Models",
    "Every network the pages use, with the numbers to judge it by: its error on test digits it never saw, "
    "against PCA with the same code size. Or train your own and use it on every page.",
    lesson_page="models")


def _train_own_model(family: str, latent: int, epochs: int, noise: str, level: float) -> None:
    """Train one model for this session in a child process, with a live progress bar and loss curve.

    The caller holds the slot. The child keeps the server from growing with every run a visitor starts.
    """
    name = f"{family}-{latent}"
    label = models.next_own_label(name)
    # Only the denoising family reads the noise settings; the others carry them unused.
    config = nets.default_config(family, latent, ds.image_shape, noise=noise,
                                 noise_level=min(level, corrupt.LEVEL_RANGES[noise][1]))
    settings = train.TrainConfig(epochs=epochs, shift=1 if ds.small_images else 2)
    st.session_state["models_training_started"] = True
    try:
        with st.status(f"Training {label} on {train.device_label()}…", expanded=True) as status:
            st.button("Cancel training", key="models_cancel", help="Stops after the current epoch.")
            bar = st.progress(0.0, text="Starting…")
            mappable = latent in (2, 3)  # a 2- or 3-number code can be drawn as it forms
            chart_col, map_col = st.columns(2, gap="medium") if mappable else (st.container(), None)
            chart = chart_col.empty()
            live_map = map_col.empty() if mappable else None
            history: list[float] = []
            labels = ds.y_test.numpy()[snapshots.image_indices(len(ds.x_test)).numpy()] if mappable else None

            def report(epoch: int, total: int, loss: float) -> None:
                history.append(loss)
                bar.progress(epoch / total, text=f"Epoch {epoch}/{total}: loss {loss:.4f}")
                chart.altair_chart(plots.loss_curve(history), width="stretch")

            # A chart replaced every few milliseconds never finishes drawing, hence LIVE_MAP_SECONDS between redraws.
            drawn: dict = {"at": 0.0, "codes": None, "loss": None}

            def draw_codes(epoch: int, codes=None, loss: float | None = None, final: bool = False) -> None:
                if codes is not None:
                    drawn["codes"], drawn["loss"] = codes, loss
                if not final and epoch and time.monotonic() - drawn["at"] < LIVE_MAP_SECONDS:
                    return
                drawn["at"] = time.monotonic()
                live_map.plotly_chart(latent_space_figures.live_codes(
                    drawn["codes"], labels, ds.classes, label, epoch, drawn["loss"]),
                    width="stretch", key=f"models_live_map_{epoch}_{final}", config={"displayModeBar": False})

            plan = recipes.Recipe(name, dataset_name, config, settings)
            try:
                result, card, payload = isolated.make_in_child(
                    plan, ds.x_train[:models.ON_DEMAND_MAX_IMAGES], progress=report,
                    on_codes=draw_codes if mappable else None, stop_after_s=MAX_SECONDS,
                    timeout_s=MAX_SECONDS + OVERRUN_SECONDS)
            except isolated.ChildError as exc:
                status.update(label=f"Training {label} failed", state="error")
                st.error(f"{exc} Try again, or with fewer epochs.", icon="🚫")
                return
            if mappable:
                draw_codes(result.epochs_done, final=True)
                map_col.caption(f"Where {len(labels):,} test digits land after each epoch, coloured by class: one "
                                "tiny clump at first, then groups that pull apart as the loss falls.")
            ref = models.add_own_model(name, dataset_name, result.model, card, payload)
            status.update(label=f"{ref.label} is ready ({result.epochs_done} epochs, {result.seconds:.1f} s)"
                          + (" — stopped at the time cap" if result.cancelled else ""), state="complete")
    finally:
        st.session_state.pop("models_training_started", None)


tab_shipped, tab_train = st.tabs(["Shipped models", "Train your own"])

with tab_shipped:
    cards = []
    for name in zoo.names(dataset_name):
        try:
            cards.append(zoo.read_card(name, dataset_name))
        except zoo.CheckpointError as exc:
            st.error(f"`{name}`: {exc}", icon="🚫")
    if not cards:
        st.info(f"No models ship for {dataset_name}. Train one in the next tab, or pick mnist-5k or digits.")
    else:
        summary = pd.DataFrame([{
            "model": c["name"], "latent size": c["config"]["latent_dim"],
            "parameters": c["parameters"], "test MSE": c["metrics"]["test_mse"],
            "PCA MSE (same size)": c["metrics"]["pca_mse"],
            "vs PCA": c["metrics"]["test_mse"] / c["metrics"]["pca_mse"], "epochs": c["epochs"],
            "train time (s)": c["train_seconds"], "device": c["device"]} for c in cards])
        st.dataframe(summary, hide_index=True, width="stretch", height=36 * (len(summary) + 1) + 4, column_config={
            "parameters": st.column_config.NumberColumn(format="localized"),
            "test MSE": st.column_config.NumberColumn(format="%.5f"),
            "PCA MSE (same size)": st.column_config.NumberColumn(format="%.5f"),
            "vs PCA": st.column_config.ProgressColumn(
                format="%.2fx", min_value=0.0, max_value=1.5,
                help="Model error divided by PCA's at the same code size: below 1 means the network wins."),
        })
        st.caption(f"Test split of {dataset_name}: {len(ds.x_test):,} images never seen in training. "
                   "MSE is per pixel, pixels in [0, 1].")
        card_names = [c["name"] for c in cards]
        picked = st.selectbox("Model card", card_names, key="models_card",
                              index=card_names.index("ae-16") if "ae-16" in card_names else 0)
        card = next(c for c in cards if c["name"] == picked)
        left, right = st.columns([2, 3], gap="large")
        with left:
            config = card["config"]
            st.markdown(f"#### `{card['name']}`")
            st.markdown(
                f"- **Family:** {config['family'].upper()}, code of **{config['latent_dim']}** numbers\n"
                f"- **Layers:** conv widths {config['channels']}, dense {config['hidden']}, "
                f"{card['parameters']:,} parameters\n"
                f"- **Data:** {card['dataset']}, {card['n_train']:,} train / {card['n_test']:,} test, "
                f"split seed {card['split_seed']}\n"
                f"- **Training:** {card['epochs']} epochs in {card['train_seconds']:.1f} s on {card['device']}, "
                f"torch {card['torch_version']}\n"
                f"- **Test MSE:** {card['metrics']['test_mse']:.5f} (PCA: {card['metrics']['pca_mse']:.5f}), "
                f"PSNR {card['metrics']['test_psnr']:.1f} dB\n"
                f"- **Weights sha256:** `{card['sha256'][:16]}…`")
            if config["family"] == "dae":
                st.caption(f"Trained on inputs corrupted with `{config['noise']}` noise, clean targets.")
            st.download_button("Download model card (JSON)", json.dumps(card, indent=1), f"{picked}.json",
                               "application/json", key="models_card_download")
        with right:
            st.altair_chart(plots.loss_curve(card["history"]), width="stretch")

with tab_train:
    st.markdown(
        f"Train a model in this browser session. It runs on **{train.device_label()}**, is capped at "
        f"{MAX_EPOCHS} epochs, {models.ON_DEMAND_MAX_IMAGES:,} images and {MAX_SECONDS} s, and only one run "
        "trains on the server at a time. Your model is then offered on every page for this session. "
        "It never replaces a shipped model, and it is gone when you close the tab, unless you download it.")
    with st.form("models_train_form"):
        a, b, c = st.columns(3)
        family = a.selectbox("Family", nets.FAMILIES, format_func=str.upper, key="models_family")
        latent = b.selectbox("Latent size", LATENT_SIZES, index=3, key="models_latent")
        epochs = c.slider("Epochs", 1, MAX_EPOCHS, 10, key="models_epochs")
        d, e = st.columns(2)
        noise = d.selectbox("Noise type (DAE only)", corrupt.NOISE_TYPES, key="models_noise")
        level = e.slider("Noise level (DAE only)", 0.05, 0.8, 0.4, 0.05, key="models_level",
                         help="Gaussian: noise std; salt-and-pepper: fraction of pixels; mask: block side.")
        submitted = st.form_submit_button("Train", type="primary")

    if st.session_state.pop("models_training_started", False) and not submitted:
        st.warning("The last training run was cancelled before it finished; nothing was kept.", icon="⏹️")

    if submitted:
        with training.slot() as acquired:
            if acquired:
                _train_own_model(family, latent, epochs, noise, level)

    own = {ref: entry for ref, entry in models.own_models().items() if ref.dataset == dataset_name}
    if own:
        st.subheader("Your models")
        for ref, entry in own.items():
            card = entry.card
            with st.container(border=True):
                left, right = st.columns([2, 3])
                left.markdown(f"**{ref.label}** · {card['epochs']} epochs · {card['train_seconds']:.1f} s on "
                              f"{card['device']}\n\nTest MSE {card['metrics']['test_mse']:.5f} "
                              f"(PCA {card['metrics']['pca_mse']:.5f})")
                stem = f"{ref.name}-yours-{ref.serial}"
                left.download_button("Weights (.safetensors)", entry.weights, f"{stem}.safetensors",
                                     key=f"models_dl_w_{ref.serial}")
                left.download_button("Model card (.json)", json.dumps(card, indent=1), f"{stem}.json",
                                     key=f"models_dl_c_{ref.serial}")
                right.altair_chart(plots.loss_curve(card["history"]), width="stretch")
