"""What the app tests check on a page: no exception, and all of its visible text in one string."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def assert_no_exception(app: AppTest) -> None:
    """Fail with the app's own error text if any element is an exception."""
    assert not app.exception, [e.value for e in app.exception]


def texts(app: AppTest) -> str:
    """Every markdown, caption, alert, metric and image caption on the page, joined (for `in` checks)."""
    parts = []
    for kind in ("markdown", "caption", "info", "warning", "error", "success", "title", "header", "subheader"):
        parts += [str(e.value) for e in getattr(app, kind)]
    parts += [f"{m.label} {m.value}" for m in app.metric]
    parts += [caption for image in app.get("image") for caption in image.captions]
    return "\n".join(parts)
