"""Benchmark rows for the lesson pages: quiz coverage, the tour's length, and both pages' rerun times."""

from __future__ import annotations

from dashboard.app import navigation
from dashboard.lesson import quiz, tour
from tests.harness.apptest import rerun_ms

from . import Row, section

TOUR_TARGET_MS = 300  # a presenter presses Next; anything slower than a blink shows
QUIZ_TARGET_MS = 200  # an answer should be marked before the eye moves to the feedback


@section("lesson: content", order=80)
def content(quick: bool) -> list[Row]:
    """What the quiz and the tour cover, checked against the pages that exist."""
    questions = quiz.load()
    pages = [p.url_path for p in navigation.PAGES]
    use_cases = [p for p in quiz.USE_CASE_PAGES if p in pages]
    gaps = quiz.coverage_gaps(questions, use_cases)
    stops = tour.available(pages)
    minutes = sum(stop.minutes for stop in stops)
    return [
        Row("lesson: content", "quiz questions", len(questions), "", ">= 10", len(questions) >= 10),
        Row("lesson: content", "required topics and use-case pages without a question", len(gaps), "", "0",
            not gaps, "; ".join(gaps)),
        Row("lesson: content", "tour stops / planned length", f"{len(stops)} / {minutes:g}", "min",
            f"<= {tour.DEMO_MINUTES:g} min", minutes <= tour.DEMO_MINUTES, " -> ".join(s.page for s in stops)),
    ]


@section("lesson: speed", order=81)
def speed(quick: bool) -> list[Row]:
    """Server-side reruns after the main widget changes, caches warm (AppTest through the entry point)."""
    def answer(app, i):
        question = app.session_state["quiz_attempt"].questions[i + 1]  # i = -1 warms up on the first question
        app.radio(key=f"quiz_{app.session_state['quiz_round']}_{question.id}").set_value(question.answer)

    quiz_ms = rerun_ms("quiz", answer)

    # --quick steps through the tour on the tiny digits set; the full run uses the default dataset of a demo.
    dataset = "digits" if quick else None
    numbers = [2, 3, 4, 5, 6, 7, 1]

    def step(app, i):
        if i < 0:  # visit every stop once so that each live result is cached, as after a rehearsal
            for number in numbers:
                app.select_slider(key="tour_stop").set_value(number).run()
        app.select_slider(key="tour_stop").set_value(numbers[(i + 1) % len(numbers)])

    tour_ms = rerun_ms("tour", step, dataset=dataset)
    scope = "digits" if quick else "mnist-5k"
    return [
        Row("lesson: speed", "quiz: server-side rerun after answering (median)", quiz_ms, "ms",
            f"<= {QUIZ_TARGET_MS}", quiz_ms <= QUIZ_TARGET_MS, "AppTest, 5 answers"),
        Row("lesson: speed", "tour: server-side rerun after moving to another stop (median)", tour_ms, "ms",
            f"<= {TOUR_TARGET_MS}", tour_ms <= TOUR_TARGET_MS, f"AppTest on {scope}, every stop's result cached"),
    ]
