"""The one import a page needs from the app layer: shared widgets, URL state, the sidebar's dataset and models."""

from dashboard.app.frame import require_entry_point
from dashboard.app.models import ModelRef, get_model, model_names, ref_for, require_model
from dashboard.app.sidebar import current_dataset, dataset, sidebar
from dashboard.app.urlstate import sync_url, url_key
from dashboard.app.widgets import (
    codes_csv,
    figure_html,
    image_input,
    lesson,
    needs_shipped,
    page_header,
    pick_test_index,
    quiz_links,
    session_figure,
)

__all__ = ["ModelRef", "codes_csv", "current_dataset", "dataset", "figure_html", "get_model", "image_input",
           "lesson", "model_names", "needs_shipped", "page_header", "pick_test_index", "quiz_links", "ref_for",
           "require_entry_point", "require_model", "session_figure", "sidebar", "sync_url", "url_key"]
