"""The page registry: every page's menu entry, address, stored-results module, and whether the quiz must cover it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageSpec:
    """One page of the app; the menu, the quiz's coverage, the precompute, the tour and the click benchmark read it."""

    section: str  # menu group
    path: str  # script path relative to the repository root
    title: str  # menu label and browser-tab title
    icon: str  # emoji shown in the menu
    url_path: str  # the page's address: /<url_path>
    cached: str | None = None  # module under dashboard.app.cached whose precompute(dataset) stores its first visit
    quiz: bool = False  # the quiz must hold at least one question that sends the learner to this page

    @property
    def key(self) -> str:
        return self.url_path

    @property
    def address(self) -> str:
        """The path a browser opens: Streamlit serves the default page at "/", not at /<url_path>."""
        return "" if self.url_path == DEFAULT_PAGE else self.url_path


PAGES = (
    PageSpec("Learn", "pages/overview.py", "Overview", "⏳", "overview", cached="overview", quiz=True),
    PageSpec("Learn", "pages/latent-space.py", "Latent space", "🗺️", "latent-space", cached="latent_space", quiz=True),
    PageSpec("Learn", "pages/vae.py", "VAE", "🎛️", "vae", quiz=True),
    PageSpec("Learn", "pages/regularised.py", "Regularised AEs", "🧲", "regularised", quiz=True),
    PageSpec("Learn", "pages/tour.py", "Tour", "🎬", "tour", cached="tour"),
    PageSpec("Learn", "pages/quiz.py", "Quiz", "❓", "quiz"),
    PageSpec("Use cases", "pages/compression.py", "Compression", "🗜️", "compression", cached="compression", quiz=True),
    PageSpec("Use cases", "pages/denoising.py", "Denoising", "🧹", "denoising", cached="denoising", quiz=True),
    PageSpec("Use cases", "pages/anomaly.py", "Anomaly detection", "🚨", "anomaly", cached="anomaly", quiz=True),
    PageSpec("Use cases", "pages/features.py", "Latent features", "🧩", "features", cached="features", quiz=True),
    PageSpec("Use cases", "pages/sampling.py", "Sampling", "🎲", "sampling", cached="sampling", quiz=True),
    PageSpec("Today", "pages/discrete-codes.py", "Discrete codes", "🧱", "discrete-codes", quiz=True),
    PageSpec("Today", "pages/latent-diffusion.py", "Latent diffusion", "🌫️", "latent-diffusion", quiz=True),
    PageSpec("Today", "pages/interpretability.py", "Interpretability (SAE)", "🔬", "interpretability", quiz=True),
    PageSpec("Lab", "pages/models.py", "Models", "🧪", "models"),
)
DEFAULT_PAGE = "overview"
URL_PATHS = tuple(page.url_path for page in PAGES)


def by_key(key: str) -> PageSpec:
    """The page with this URL path; ValueError names the valid ones."""
    for page in PAGES:
        if page.url_path == key:
            return page
    raise ValueError(f"No page {key!r}; pages: {', '.join(URL_PATHS)}.")
