"""Models: a card for every shipped model, and a bounded "train your own" for this session."""

import json
import math
import time

import pandas as pd
import streamlit as st

from dashboard.app import models, training, ui
from dashboard.core import corrupt, isolated, nets, recipes, snapshots, train, zoo
from dashboard.viz import latent_space_figures, plots, regularised_charts

MAX_EPOCHS = 40
MAX_SECONDS = 180
OVERRUN_SECONDS = 180  # the epoch that crosses MAX_SECONDS, scoring and the child's start; past it the run is killed
LATENT_SIZES = [2, 3, 8, 16, 32, 64]
LIVE_MAP_SECONDS = 0.5  # least time between two redraws of the live code map
BETAS = [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0]
SPARSITY_LABELS = {"none": "none", "l1": "L1 on the code", "topk": "top-k"}
PENALTY_WARMUP_SHARE = 0.3  # penalties ease in over this share of the run (see core.regularisers.warmup)

dataset_name, ds = ui.page_header(
    "🧪 Models",
    "Every network the pages use, with the numbers to judge it by: its error on test digits it never saw, "
    "against PCA with the same code size. Or train your own and use it on every page.",
    lesson_page="models")


def _regulariser_settings(family: str, extras: dict, epochs: int, settings: train.TrainConfig) -> dict:
    """The config overrides for β (VAE) or the code penalties (AE, DAE) the visitor chose."""
    if family == "vae":
        return {"beta": float(extras["beta"])}
    chosen = {"sparsity": extras["sparsity"], "contractive": float(extras["contractive"])}
    if extras["sparsity"] == "l1":
        chosen["sparsity_weight"] = float(extras["l1"])
    elif extras["sparsity"] == "topk":
        chosen["top_k"] = int(extras["topk"])
    if extras["sparsity"] != "none" or chosen["contractive"] > 0:
        n_images = min(len(ds.x_train), models.ON_DEMAND_MAX_IMAGES)
        chosen["penalty_warmup"] = int(PENALTY_WARMUP_SHARE * epochs * math.ceil(n_images / settings.batch_size))
    return chosen


def _loss_chart(card: dict, where) -> None:
    """Each part of the loss per epoch on its own scale when there are several; else the one loss curve."""
    parts = card.get("loss_parts") or {}
    if len(parts) > 1:
        where.vega_lite_chart(regularised_charts.loss_parts_spec(parts), width="content")
    else:
        where.altair_chart(plots.loss_curve(card["history"]), width="stretch")


def _train_own_model(family: str, latent: int, epochs: int, noise: str, level: float, extras: dict) -> None:
    """Train one model for this session in a child process, with a live progress bar and loss curve.

    The caller holds the slot. The child keeps the server from growing with every run a visitor starts.
    """
    name = f"{family}-{latent}"
    settings = train.TrainConfig(epochs=epochs, shift=1 if ds.small_images else 2)
    try:
        # Only the denoising family reads the noise settings; the others carry them unused.
        config = nets.default_config(family, latent, ds.image_shape, noise=noise,
                                     noise_level=min(level, corrupt.LEVEL_RANGES[noise][1]),
                                     **_regulariser_settings(family, extras, epochs, settings))
    except ValueError as exc:
        st.error(f"These settings cannot train: {exc}", icon="🚫")
        return
    label = models.next_own_label(name)
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
        st.dataframe(summary, hide_index=True, width="stretch", height=35 * (len(summary) + 1) + 3, column_config={
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
            st.download_button("Model card (.json)", json.dumps(card, indent=1), f"{picked}.json",
                               "application/json", key="models_card_download")
        with right:
            _loss_chart(card, st)

with tab_train:
    st.markdown(
        f"Train a model in this browser session. It runs on **{train.device_label()}**, is capped at "
        f"{MAX_EPOCHS} epochs, {models.ON_DEMAND_MAX_IMAGES:,} images and {MAX_SECONDS} s, and only one run "
        "trains on the server at a time. Your model is then offered on every page for this session. "
        "It never replaces a shipped model, and it is gone when you close the tab, unless you download it.")
    # Outside the form, so that the settings below follow the family at once.
    family = st.selectbox("Family", nets.FAMILIES, format_func=str.upper, key="models_family")
    with st.form("models_train_form"):
        b, c = st.columns(2)
        latent = b.selectbox("Latent size", LATENT_SIZES, index=3, key="models_latent")
        epochs = c.slider("Epochs", 1, MAX_EPOCHS, 10, key="models_epochs")
        noise, level = corrupt.NOISE_TYPES[0], 0.4
        extras = {"beta": 1.0, "sparsity": "none", "l1": 0.0, "topk": 0, "contractive": 0.0}
        if family == "dae":
            d, e = st.columns(2)
            noise = d.selectbox("Noise type", corrupt.NOISE_TYPES, key="models_noise")
            level = e.slider("Noise level", 0.05, 0.8, 0.4, 0.05, key="models_level",
                             help="Gaussian: noise std; salt-and-pepper: fraction of pixels; mask: block side.")
        if family == "vae":
            extras["beta"] = st.select_slider(
                "β, the weight of the KL term", BETAS, value=1.0, key="models_beta",
                help="Above 1 the codes are pulled harder towards N(0, I) and more dimensions fall silent; "
                     "below 1 reconstructions sharpen and the codes spread out.")
        else:
            d, e, f = st.columns(3)
            extras["sparsity"] = d.selectbox("Sparsity penalty", list(SPARSITY_LABELS),
                                             format_func=SPARSITY_LABELS.get, key="models_sparsity",
                                             help="L1 adds weight × Σ|z_i| to the loss; top-k keeps only the k "
                                                  "largest code units of each image. Both rectify the code.")
            extras["l1"] = e.number_input("L1 weight (L1 only)", 0.0, 1.0, 0.001, 0.0005, format="%.4f",
                                          key="models_l1")
            extras["topk"] = f.number_input("k (top-k only)", 1, max(LATENT_SIZES), 4, key="models_topk",
                                            help="At most the latent size.")
            extras["contractive"] = st.number_input(
                "Contractive penalty weight", 0.0, 10.0, 0.0, 0.01, format="%.3f", key="models_contractive",
                help="Adds weight × ‖∂z/∂x‖², so the code changes little when the input changes a little "
                     "(Rifai et al. 2011). 0: off.")
        submitted = st.form_submit_button("Train", type="primary")

    if st.session_state.pop("models_training_started", False) and not submitted:
        st.warning("The last training run was cancelled before it finished; nothing was kept.", icon="⏹️")

    if submitted:
        with training.slot() as acquired:
            if acquired:
                _train_own_model(family, latent, epochs, noise, level, extras)

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
                _loss_chart(card, right)
