"""Discrete codes: a VQ-VAE turns a digit into a small grid of codebook indices; edit the grid, sample new ones."""

import numpy as np
import pandas as pd
import streamlit as st

from dashboard.app import ui
from dashboard.app.cached import discrete_codes as cached
from dashboard.generators import vq

dataset_name, ds = ui.page_header(
    "🧱 Discrete codes",
    "A **VQ-VAE** describes a digit with a small grid of **whole numbers**, each one the index of a learned "
    "picture piece in a **codebook**. Image generators such as VQ-GAN and DALL·E (2021) work on grids like these. See "
    "what each entry draws, edit a digit's grid, and sample new grids from a small model of them.",
    lesson_page="discrete-codes")

if not cached.ready(dataset_name):
    ui.needs_shipped(f"the shipped VQ-VAE ({vq.NAME}) and its prior", dataset_name)

net = vq.model(dataset_name)
K, (H, W) = net.config.codebook_size, net.grid

st.subheader("1 · The codebook")
book_col, use_col = st.columns([3, 2], gap="large")
with book_col:
    st.image(cached.codebook_png(dataset_name), width="stretch", output_format="PNG")
    st.caption(f"Entries 0 to {K - 1}, in rows of {cached.CODEBOOK_COLUMNS}: each is the average patch of the "
               f"test digits around the cells that pick it (a cell covers {ds.image_shape[-1] // W} x "
               f"{ds.image_shape[-1] // W} pixels; the patch reaches half a cell beyond). Entry "
               f"{cached.background(dataset_name)}, the commonest, is blank background; the others are pieces of "
               "stroke.")
with use_col:
    counts, used, perplexity = cached.usage(dataset_name)
    st.bar_chart(pd.DataFrame({"entry": np.arange(K), "cells": counts}), x="entry", y="cells", height=220)
    numbers = st.container(horizontal=True)  # side by side, or one under the other where they would clip
    numbers.metric("Entries used", f"{used:.0%}", help=f"Share of the {K} entries that at least one cell of the "
                   f"{len(ds.x_test):,} test images picks.")
    numbers.metric("Perplexity", f"{perplexity:.1f}", help="exp(entropy) of how often each entry is picked: the "
                   f"number of equally used entries that would give the same spread (at most {K}).")

st.subheader("2 · A digit as a grid of numbers")


@st.fragment
def editor() -> None:
    pick_col, grid_col, out_col = st.columns([2, 3, 2], gap="medium")
    with pick_col:
        index = ui.pick_test_index("vq_image", len(ds.x_test))
        st.image(cached.image_png(dataset_name, index), caption=f"Test image #{index}", width="stretch",
                 output_format="PNG")
    key = f"vq_grid_{dataset_name}_{index}"
    if key not in st.session_state:
        st.session_state[key] = cached.grid_of(dataset_name, index).copy()
    grid = st.session_state[key]
    with grid_col:
        row_col, col_col, entry_col = st.columns(3)
        row = row_col.selectbox("Row", range(H), key="vq_row")
        col = col_col.selectbox("Column", range(W), key="vq_col")
        entry = entry_col.selectbox("New entry", range(K), key="vq_entry",
                                    help="The codebook entry to put in that cell (pictured in section 1).")
        # A wrapping row of content-wide buttons: in the narrow middle column beside an open sidebar they stack
        # rather than cut their labels short.
        buttons = st.container(horizontal=True, gap="small")
        if buttons.button("✏️ Set the cell", key="vq_set", wrap=True,
                          help="Puts the new entry in the chosen row and column."):
            grid[row, col] = entry
        if buttons.button("↩️ Reset", key="vq_reset", wrap=True, help="Back to the encoder's own grid."):
            grid[:] = cached.grid_of(dataset_name, index)
        original = cached.grid_of(dataset_name, index)
        shown = pd.DataFrame(grid, columns=[str(c) for c in range(W)])
        # A static table: all cells in view on a phone too (a data frame scrolled its last columns away).
        st.table(shown.style.apply(lambda _: np.where(grid != original, "background-color: #FFE08A; "
                                                      "color: #111111", ""), axis=None))
        changed = int((grid != original).sum())
        st.caption(f"The encoder's {H} x {W} grid for this digit: {H * W} numbers of {np.log2(K):.0f} bits each. "
                   f"Edited cells are highlighted ({changed} now).")
    with out_col:
        st.image(cached.decoded_png(dataset_name, grid.copy()), caption="Decoded from the grid", width="stretch",
                 output_format="PNG")


editor()

st.subheader("3 · New grids from a prior")
sample_col, score_col = st.columns([2, 3], gap="large")
with sample_col:
    seed_key = ui.url_key("vq_seed", "seed", 0, range(10_000), int)
    if st.button("🎲 New samples", key="vq_reseed", wrap=True):
        st.session_state[seed_key] = (st.session_state[seed_key] + 1) % 10_000
    seed = int(st.session_state[seed_key])
    st.image(cached.prior_png(dataset_name, seed), width="stretch", output_format="PNG")
    st.caption(f"{cached.GRID_SIDE ** 2} grids drawn cell by cell, in reading order, by a tiny PixelCNN trained "
               f"on the training digits' grids (seed {seed}), then decoded.")
with score_col:
    # Drawing 1,000 grids cell by cell takes seconds on a small CPU, so scoring waits for a click.
    if st.button(f"📏 Score {cached.N_SCORED:,} prior samples", key="vq_score", wrap=True,
                 help="Draws 1,000 grids from the PixelCNN and 1,000 codes from the VAE's prior, and scores both "
                      "with the Sampling page's reference classifier (a few seconds, once per server)."):
        st.session_state["vq_scored"] = True
    if not st.session_state.get("vq_scored"):
        st.caption("Press the button to compare these samples with the VAE prior's on the FID-like score.")
if st.session_state.get("vq_scored"):
    # Under both columns, at full width: in the score column beside an open sidebar the table scrolled sideways.
    reports = cached.prior_scores(dataset_name)
    st.dataframe(pd.DataFrame([{"sampler": label, "FID-like ↓": r.frechet, "confidence ↑": r.mean_confidence,
                                "class balance ↑": r.class_entropy} for label, r in reports.items()]),
                 hide_index=True, width="stretch",
                 column_config={"FID-like ↓": st.column_config.NumberColumn(format="%.1f"),
                                "confidence ↑": st.column_config.NumberColumn(format="%.2f"),
                                "class balance ↑": st.column_config.NumberColumn(format="%.2f")})
    st.caption(f"{cached.N_SCORED:,} samples each (seed 0), scored by the Sampling page's reference classifier. "
               "The VAE row decodes 16-number codes drawn from N(0, I) with vae-16.")

st.subheader("4 · Bits per image")
table = cached.rate_table(dataset_name)
st.dataframe(table, hide_index=True, width="stretch",
             column_config={"bits per image": st.column_config.NumberColumn(format="%.0f"),
                            "test MSE": st.column_config.NumberColumn(format="%.4f"),
                            "PSNR (dB)": st.column_config.NumberColumn(format="%.1f")})
st.caption(f"The VQ-VAE's code costs {H} x {W} cells x log2({K}) = {net.bits:.0f} bits. A plain AE's code is "
           "counted at 16 bits per number (float16), as on the Compression page.")
st.download_button("⬇️ Bits and errors (CSV)", table.to_csv(index=False).encode(),
                   file_name=f"{dataset_name}_discrete_codes_bits.csv", mime="text/csv", key="vq_csv")
