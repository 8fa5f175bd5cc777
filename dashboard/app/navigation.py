"""The app's page map: every page's section, file, title, icon and URL path, in menu order."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageSpec:
    """One entry of the navigation menu."""

    section: str  # menu group
    path: str  # script path relative to the repository root
    title: str  # menu label and browser-tab title
    icon: str  # emoji shown in the menu
    url_path: str  # the page's address: /<url_path>

    @property
    def key(self) -> str:
        return self.url_path

    @property
    def address(self) -> str:
        """The path a browser opens: Streamlit serves the default page at "/", not at /<url_path>."""
        return "" if self.url_path == DEFAULT_PAGE else self.url_path


PAGES = [
    PageSpec("Learn", "pages/overview.py", "Overview", "⏳", "overview"),
    PageSpec("Learn", "pages/latent-space.py", "Latent space", "🗺️", "latent-space"),
    PageSpec("Learn", "pages/tour.py", "Tour", "🎬", "tour"),
    PageSpec("Learn", "pages/quiz.py", "Quiz", "❓", "quiz"),
    PageSpec("Use cases", "pages/compression.py", "Compression", "🗜️", "compression"),
    PageSpec("Use cases", "pages/denoising.py", "Denoising", "🧹", "denoising"),
    PageSpec("Use cases", "pages/anomaly.py", "Anomaly detection", "🚨", "anomaly"),
    PageSpec("Use cases", "pages/features.py", "Latent features", "🧩", "features"),
    PageSpec("Use cases", "pages/sampling.py", "Sampling", "🎲", "sampling"),
    PageSpec("Lab", "pages/models.py", "Models", "🧪", "models"),
]
DEFAULT_PAGE = "overview"


def by_key(key: str) -> PageSpec:
    """The page with this URL path; ValueError names the valid ones."""
    for page in PAGES:
        if page.url_path == key:
            return page
    raise ValueError(f"No page {key!r}; pages: {', '.join(p.url_path for p in PAGES)}.")
