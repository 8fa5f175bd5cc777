"""Shareable links: every page restores its view from the URL, and bad values fall back to defaults with a notice."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.app import navigation
from tests.harness.apptest import open_page
from tests.harness.checks import assert_no_exception

JUNK = "%3Cscript%3E'; DROP"  # not a value any control accepts
FAST_PAGES = ("overview", "tour", "quiz")  # cheap to open; the other pages run in the slow suite
# A non-default view per page, as a visitor would share it; every parameter named here must round-trip.
SHARED_VIEWS = {
    "overview": {"dataset": "digits", "model": "vae-16", "image": "7"},
    "tour": {"dataset": "digits", "stop": "5"},
    "quiz": {"seed": "9"},
    "compression": {"k": "8"},
    "features": {"labels": "50"},
}


def params(app: AppTest) -> dict[str, str]:
    return {k: v[0] if isinstance(v, list) else v for k, v in app.query_params.items()}


def link_warnings(app: AppTest) -> list[str]:
    return [w.value for w in app.warning if "link" in w.value.lower()]


def _with_speed_mark(pages) -> list:
    return [pytest.param(page, marks=() if page in FAST_PAGES else pytest.mark.slow) for page in pages]


@pytest.mark.parametrize("page", _with_speed_mark(p.url_path for p in navigation.PAGES))
def test_every_page_writes_its_view_to_the_url_and_survives_junk(page):
    app = open_page(page)
    assert_no_exception(app)
    defaults = params(app)
    assert defaults.get("dataset") == "mnist-5k", defaults  # the shared sidebar is bound on every page

    again = open_page(page, query=defaults)  # the page's own link restores the same view, silently
    assert_no_exception(again)
    assert params(again) == defaults and not link_warnings(again)

    broken = open_page(page, query={key: JUNK for key in defaults})
    assert_no_exception(broken)
    assert params(broken) == defaults  # every control fell back to its default
    notices = "\n".join(link_warnings(broken))
    for key in defaults:
        assert f"{key}=" in notices, f"no notice for the bad {key!r} in the link"


@pytest.mark.parametrize("page", _with_speed_mark(SHARED_VIEWS))
def test_a_shared_link_restores_a_non_default_view(page):
    view = SHARED_VIEWS[page]
    app = open_page(page, query=view)
    assert_no_exception(app)
    shown = params(app)
    missing = [key for key in view if key not in shown]
    assert not missing, f"{page} dropped {missing} from its URL"
    assert {key: shown[key] for key in view} == view
    assert not link_warnings(app)
    assert app.sidebar.selectbox(key="dataset").value == view.get("dataset", "mnist-5k")


def test_overview_link_shows_the_linked_image_and_model():
    app = open_page("overview", query=SHARED_VIEWS["overview"])
    assert app.number_input(key="overview_image").value == 7
    assert app.selectbox(key="overview_model").value == "vae-16"
    assert "64 pixels" in "\n".join(c for image in app.get("image") for c in image.captions)


def test_unknown_parameters_are_dropped_and_unknown_datasets_fall_back():
    app = open_page("quiz", query={"dataset": "imagenet", "zoom": "11"})
    assert_no_exception(app)
    assert app.sidebar.selectbox(key="dataset").value == "mnist-5k"
    assert any("dataset=imagenet" in w for w in link_warnings(app))
    assert "zoom" not in params(app)
