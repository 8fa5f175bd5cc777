"""Which model a page uses: shipped ones, this session's own, and ones trained on demand, named by a ModelRef."""

from __future__ import annotations

from dataclasses import dataclass, field

import streamlit as st
from torch import nn

from dashboard.app import training
from dashboard.app.sidebar import current_dataset, dataset
from dashboard.core import isolated, train, zoo

USER_MODELS_KEY = "user_models"
# On-demand training for datasets without shipped models: bounded so that one visitor cannot hog the server.
ON_DEMAND_EPOCHS = 5
ON_DEMAND_MAX_IMAGES = 10_000
MAX_ON_DEMAND_MODELS = 16


@dataclass(frozen=True)
class ModelRef:
    """A model's identity: its zoo name, its dataset, and for a visitor's own model its number in the session."""

    name: str  # "<family>-<latent size>", as in the zoo, e.g. "ae-16"
    dataset: str  # the dataset it was trained on
    serial: int = 0  # 0 for a shipped model; n for this session's n-th own model

    @property
    def family(self) -> str:
        return zoo.parse_name(self.name)[0]

    @property
    def latent(self) -> int:
        return zoo.parse_name(self.name)[1]

    @property
    def is_own(self) -> bool:
        return self.serial > 0

    @property
    def label(self) -> str:
        """What menus show and links carry: "ae-16", or "ae-16 #2 (yours)" for a visitor's own."""
        return f"{self.name} #{self.serial} (yours)" if self.is_own else self.name


@dataclass
class OwnModel:
    """A model this session trained on the Models page, with its card and its weights for download."""

    model: nn.Module
    card: dict
    weights: bytes = field(repr=False)


def own_models() -> dict[ModelRef, OwnModel]:
    """This session's own trained models, oldest first."""
    return st.session_state.setdefault(USER_MODELS_KEY, {})


def add_own_model(name: str, dataset_name: str, model: nn.Module, card: dict, weights: bytes) -> ModelRef:
    """Keep a freshly trained model in this session, frozen, under the next serial number."""
    ref = ModelRef(name, dataset_name, serial=len(own_models()) + 1)
    own_models()[ref] = OwnModel(training.freeze(model), card, weights)
    return ref


def next_own_label(name: str) -> str:
    """The label the next model this session trains will get."""
    return ModelRef(name, "", serial=len(own_models()) + 1).label


def refs(dataset_name: str | None = None, family: str | None = None, latent: int | None = None) -> list[ModelRef]:
    """Shipped models for the dataset, then this session's own, optionally filtered by family or latent size."""
    dataset_name = dataset_name or current_dataset()
    found = [ModelRef(n, dataset_name) for n in zoo.names(dataset_name)]
    found += [ref for ref in own_models() if ref.dataset == dataset_name]
    return [ref for ref in found
            if (family is None or ref.family == family) and (latent is None or ref.latent == latent)]


def model_names(dataset_name: str | None = None, family: str | None = None, latent: int | None = None) -> list[str]:
    """The labels of refs(): the options of a model picker (plain strings, so they fit in a link)."""
    return [ref.label for ref in refs(dataset_name, family, latent)]


def ref_for(label: str, dataset_name: str | None = None) -> ModelRef:
    """The model a picker's label stands for; a label nobody has is read as a shipped name."""
    dataset_name = dataset_name or current_dataset()
    for ref in own_models():
        if ref.dataset == dataset_name and ref.label == label:
            return ref
    return ModelRef(label, dataset_name)


@st.cache_resource(show_spinner=False)
def _trained_on_demand() -> dict[ModelRef, nn.Module]:
    """Models trained for datasets that ship none; shared by all sessions so each is trained once per server.

    Written only while holding the training slot, so two sessions never write at once.
    """
    return {}


def get_model(label: str | ModelRef, dataset_name: str | None = None) -> nn.Module | None:
    """A model by picker label or ref (own, on-demand, then shipped); None after showing why it is unavailable."""
    ref = label if isinstance(label, ModelRef) else ref_for(label, dataset_name)
    if ref.is_own:
        return own_models()[ref].model
    on_demand = _trained_on_demand().get(ref)
    if on_demand is not None:
        return on_demand
    try:
        return zoo.frozen(ref.name, ref.dataset)
    except zoo.CheckpointError as exc:
        st.error(f"**The checkpoint for `{ref.name}` could not be used.** {exc} "
                 "The file was refused, not loaded. Reinstall the app or retrain it on the Models page.", icon="🚫")
    except zoo.ModelNotFound:
        _offer_on_demand_training(ref)
    except ValueError as exc:  # not a model name at all
        st.error(str(exc), icon="🚫")
    return None


def require_model(label: str | ModelRef, dataset_name: str | None = None) -> nn.Module:
    """Like get_model, but stops the page (after the explanation) when the model is unavailable."""
    model = get_model(label, dataset_name)
    if model is None:
        st.stop()
    return model


def _offer_on_demand_training(ref: ModelRef) -> None:
    ds = dataset(ref.dataset)
    n_images = min(len(ds.x_train), ON_DEMAND_MAX_IMAGES)
    st.info(f"No model `{ref.name}` ships for **{ref.dataset}**. It can be trained here on {n_images:,} images "
            f"for {ON_DEMAND_EPOCHS} epochs, once for everyone using this server.", icon="🛠️")
    if not st.button(f"Train {ref.name} for {ref.dataset} now", key=f"on_demand_{ref.dataset}_{ref.name}"):
        return
    with training.slot() as acquired:
        if not acquired:
            return
        bar = st.progress(0.0, text=f"Training {ref.name}…")
        try:  # in a child process, so the server keeps none of the memory training touches
            result = isolated.train_in_child(
                zoo.config_for(ref.name, ref.dataset), ds.x_train[:n_images],
                train.TrainConfig(epochs=ON_DEMAND_EPOCHS),
                progress=lambda e, n, loss: bar.progress(e / n, text=f"Epoch {e}/{n}: loss {loss:.4f}"))
        except isolated.ChildError as exc:
            st.error(str(exc), icon="🚫")
            return
        store = _trained_on_demand()
        while len(store) >= MAX_ON_DEMAND_MODELS:
            store.pop(next(iter(store)))
        store[ref] = training.freeze(result.model)
    st.rerun()
