"""Browser test of the lesson pages in headless Chromium: answering the quiz, and tour links good and bad."""

from __future__ import annotations

from pathlib import Path

import pytest

from dashboard.lesson import quiz, tour
from tests.harness import server

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

pytestmark = pytest.mark.browser

def visit(browser_page, path: str):
    base, page = browser_page
    page.goto(f"{base}/{path}")
    server.wait_until_rendered(page)
    return page


def no_exception(page) -> None:
    errors = page.locator("[data-testid=stException]")
    assert errors.count() == 0, errors.first.inner_text()


def test_answering_a_linked_quiz_question_marks_it_and_scores_it(browser_page):
    target = quiz.load()[0]
    page = visit(browser_page, f"quiz?q={target.id}&seed=5")
    no_exception(page)
    shown = quiz.shuffle_choices(target, 5)  # the page shows this question first, with the seed's choice order
    first = page.locator("[data-testid=stRadio]").first
    first.get_by_text(shown.correct_choice, exact=True).click()
    page.get_by_text("Right.", exact=True).wait_for()
    server.wait_until_rendered(page)
    no_exception(page)
    assert "1 right" in page.locator("[data-testid=stMetric]").first.inner_text()
    assert "seed=5" in page.url
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "quiz-answered.png"), full_page=True)


def test_tour_links_open_their_stop_or_fall_back_with_a_notice(browser_page):
    page = visit(browser_page, "tour?stop=2&dataset=digits")
    no_exception(page)
    assert f"Stop 2 of {len(tour.STOPS)}" in page.locator("[data-testid=stMain]").inner_text()

    page = visit(browser_page, "tour?stop=banana")
    no_exception(page)
    main = page.locator("[data-testid=stMain]").inner_text()
    assert "stop=banana" in main and f"Stop 1 of {len(tour.STOPS)}" in main
