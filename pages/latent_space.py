"""Latent space: point anywhere in a 2D code space and watch the decoder draw it; 3D and 16D codes with sliders."""

import streamlit as st

from dashboard.app import ui

dataset_name, ds = ui.page_header(
    "🗺️ Latent space: point anywhere and watch the decoder draw",
    "Each dot is a test digit squeezed into a **code of two numbers**. Move the pointer over a map to see what the "
    "decoder draws at that spot; click to pin a point and look closer.",
    lesson_page="latent-space")
st.info("The interactive maps are being built.", icon="🚧")
