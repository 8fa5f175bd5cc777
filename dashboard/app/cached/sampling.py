"""Cached accessors of the Sampling page: fitted samplers, sample grids, quality scores, latent maps and paths."""

from __future__ import annotations

import numpy as np
import streamlit as st

from dashboard.core import artifacts, data, threads, zoo
from dashboard.generators import diffusion
from dashboard.sampling import quality, samplers
from dashboard.viz import plots, sampling_figures

GRID_SIDE = 6  # a 6 x 6 grid of samples per sampler
N_SCORED = samplers.N_SCORED  # samples per sampler behind the quality scores, as in the tour and the benchmark
N_MAP_SAMPLES = 500  # samples drawn on the latent maps
DEFAULT_COMPONENTS = 10  # the page's mixture size until the visitor moves its slider
MAP_SIZES = (2, 3)  # latent sizes of the "holes" maps
# Each stored kind's version: bump it when that computation changes (checkpoints, data and parameters are tracked
# by themselves), so the build's old result is computed live until the build stores it anew.
FIT_VERSION = 2
GRID_VERSION = 2
SCORES_VERSION = 2
LATENT_MAP_VERSION = 1


def default_k(dataset: str) -> int:
    """The code size the page opens with: 16 when both an ae-16 and a vae-16 ship, else the largest shared size."""
    parsed = [zoo.parse_name(n) for n in zoo.names(dataset)]
    sizes = sorted({k for f, k in parsed if f == "ae"} & {k for f, k in parsed if f == "vae"})
    return 16 if 16 in sizes or not sizes else sizes[-1]


def scale(dataset: str) -> int:
    """On-screen pixels per image pixel in the grids: tiny digits are blown up more."""
    return 6 if data.load(dataset).small_images else 2


# A stored fit leaves out the Cholesky factors (half a mixture's size): a rebuild derives them as fit() does.
_FACTORS = {"cholesky_": "covariance_", "choleskies_": "covariances_"}  # derived parameter -> what it comes from


def _state(sampler: samplers.LatentSampler) -> dict:
    """A fitted sampler's settings and parameters (numbers and arrays): enough to rebuild it without refitting."""
    return {name: value for name, value in vars(sampler).items() if name not in _FACTORS}


def _rebuilt(kind: str, state: dict) -> samplers.LatentSampler:
    sampler = samplers.make_sampler(kind)
    vars(sampler).update(state)  # stored arrays come back read-only, as fitted_sampler leaves its own
    for factor, covariance in _FACTORS.items():
        if covariance in state:
            setattr(sampler, factor, np.linalg.cholesky(state[covariance]))
            getattr(sampler, factor).setflags(write=False)
    return sampler


def _reads(dataset: str, model_name: str, kind: str) -> list[str]:
    """The shipped files a sampler reads: its autoencoder, and for latent diffusion the flow model of its codes."""
    if kind == "diffusion" and diffusion.available(dataset, model_name):
        return [model_name, diffusion.flow_name(model_name)]
    return [model_name]


@st.cache_resource(show_spinner="Fitting the samplers to the AE's codes (once per server)…", max_entries=64)
def fitted(dataset: str, model_name: str, kind: str, components: int) -> samplers.LatentSampler:
    """A fitted sampler, shared read-only by every session; the build stores the fits the page uses at first."""
    def fit() -> dict:
        return _state(samplers.fitted_sampler(dataset, model_name, kind, components))

    # Only a mixture reads the component count: the other kinds share one stored fit whatever the slider says.
    params = {"model": model_name, "kind": kind, "components": components if kind == "gmm" else None}
    return _rebuilt(kind, artifacts.stored("sampling.fit", dataset, params, _reads(dataset, model_name, kind), fit,
                                           version=FIT_VERSION))


@st.cache_data(show_spinner=False, max_entries=256)
def grid_png(dataset: str, label: str, k: int, components: int, seed: int, temperature: float) -> bytes:
    """One sampler's grid at one temperature as PNG; the build stores those a first visit shows (seed 0, t 1).

    Only the temperature shown is drawn and decoded (36 images, not the 324 of every temperature, most never looked
    at): a decoder maps each code on its own, so these are the very images the whole sweep's batch gave. Another
    temperature decodes its own 36 when the slider reaches it.
    """
    setup = next(s for s in samplers.SETUPS if s.label == label)

    def draw() -> np.ndarray:
        sampler = fitted(dataset, setup.model_name(k), setup.kind, components)  # its own spinner when it must fit
        images = samplers.decode(zoo.frozen(setup.model_name(k), dataset),
                                 sampler.sample(GRID_SIDE ** 2, seed=seed, temperature=temperature))
        return np.frombuffer(sampling_figures.sample_grid_png(images, GRID_SIDE, scale(dataset)), np.uint8)

    params = {"setup": label, "k": k, "components": components, "seed": seed, "temperature": temperature,
              "side": GRID_SIDE, "scale": scale(dataset)}
    return artifacts.stored("sampling.grid", dataset, params, _reads(dataset, setup.model_name(k), setup.kind), draw,
                            version=GRID_VERSION).tobytes()


@st.cache_resource(show_spinner="Loading the reference classifier…", max_entries=4)
def reference_card(dataset: str) -> dict:
    return quality.reference_classifier(dataset)[1]


@st.cache_data(show_spinner=f"Scoring {N_SCORED:,} samples per sampler with the reference classifier…",
               max_entries=64)
def scores(dataset: str, k: int, components: int, temperature: float) -> dict:
    """{label: QualityReport}: the baselines, then every sampler; the build stores the page's default ones."""
    reference_card(dataset)
    k, components, temperature = int(k), int(components), float(temperature)
    params = {"k": k, "components": components, "temperature": temperature, "n": N_SCORED,
              "seed": samplers.SCORE_SEED}
    models = [n for n in (f"ae-{k}", f"vae-{k}") if n in zoo.names(dataset)] + [quality.FILE_STEM]
    models += _reads(dataset, f"ae-{k}", "diffusion")[1:]
    return artifacts.stored("sampling.scores", dataset, params, models,
                            lambda: samplers.scores(dataset, k, temperature, components), version=SCORES_VERSION)


def map_view(dataset: str, model_name: str, kind: str, seed: int) -> samplers.LatentMap:
    """Test codes and N_MAP_SAMPLES samples at temperature 1 with the holes between them (stored for seed 0)."""
    def compute() -> dict:
        # samplers.latent_map's steps, from this fit (stored by the build) instead of a new one.
        sampler = fitted(dataset, model_name, kind, DEFAULT_COMPONENTS)
        samples = sampler.sample(N_MAP_SAMPLES, seed=seed).double().numpy()  # (M, k)
        in_hole, uncovered, threshold = samplers.holes(zoo.codes(model_name, dataset).astype(np.float64), samples)
        return {"samples": samples, "in_hole": in_hole, "uncovered": uncovered, "threshold": threshold}

    params = {"model": model_name, "kind": kind, "seed": seed, "n": N_MAP_SAMPLES, "components": DEFAULT_COMPONENTS}
    found = artifacts.stored("sampling.latent_map", dataset, params, [model_name], compute,
                             version=LATENT_MAP_VERSION)
    # Only what the sampler adds is stored: the test codes ship already (zoo.codes), the labels with the dataset.
    return samplers.LatentMap(codes=zoo.codes(model_name, dataset).astype(np.float64),
                              labels=data.load(dataset).y_test.numpy(), **found)


# A plotly figure is rebuilt on unpickling, so the finished figure is shared read-only instead.
@st.cache_resource(show_spinner="Drawing the latent map…", max_entries=32)
def latent_map(dataset: str, model_name: str, kind: str, seed: int):
    view = map_view(dataset, model_name, kind, seed)
    figure = sampling_figures.holes_figure(view, data.load(dataset).classes, height=400)
    return view, figure


@st.cache_data(show_spinner="Decoding the latent grid…", max_entries=16)
def manifold_png(dataset: str, model_name: str) -> tuple[bytes, str]:
    small = data.load(dataset).small_images
    model = zoo.frozen(model_name, dataset)
    grid = samplers.manifold_grid(model, zoo.codes(model_name, dataset), n=15)
    return plots.grid_png(grid.rows(), scale=3 if small else 1, gap=1 if small else 0), grid.spacing


@st.cache_data(show_spinner=False, max_entries=64)
def paths(dataset: str, k: int, a: np.ndarray, b: np.ndarray, steps: int, method: str
          ) -> tuple[list, list[bytes], bytes]:
    """Interpolation rows, one PNG per row and one of them all, for two images given as arrays (hashed by value,
    so drawn images cache too)."""
    rows = samplers.interpolation_rows(dataset, k, samplers.as_image(a), samplers.as_image(b), steps, method)
    strips = [samplers.as_rows(row.images, steps)[0] for row in rows]
    path_scale = scale(dataset) + 1
    return rows, [plots.grid_png([strip], scale=path_scale) for strip in strips], plots.grid_png(strips,
                                                                                                scale=path_scale)


def precompute(dataset: str) -> None:
    """The page's heavy first-visit results, for `python -m dashboard.app.precompute`: the default scores and grids,
    the fits behind its grids and maps (reused by every "New samples" click) and the default 2D maps."""
    shipped, k = zoo.names(dataset), default_k(dataset)
    fits = [(setup.model_name(k), setup.kind) for setup in samplers.SETUPS]
    fits += [(f"{family}-{d}", kind) for d in MAP_SIZES for family, kind in
             (("ae", "standard"), ("ae", "gmm"), ("vae", "standard"))]
    fits = [(name, kind) for name, kind in dict.fromkeys(fits) if name in shipped]
    maps = [f"{family}-{MAP_SIZES[0]}" for family in ("ae", "vae") if f"{family}-{MAP_SIZES[0]}" in shipped]
    with threads.as_served():
        for name, kind in fits:
            fitted(dataset, name, kind, DEFAULT_COMPONENTS)
        if f"ae-{k}" in shipped:
            scores(dataset, k, DEFAULT_COMPONENTS, 1.0)
            for setup in samplers.SETUPS:
                if setup.model_name(k) in shipped:
                    grid_png(dataset, setup.label, k, DEFAULT_COMPONENTS, 0, 1.0)
        for name in maps:
            map_view(dataset, name, "standard", 0)
