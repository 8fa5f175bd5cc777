"""AppTest of the quiz page through the entry point: feedback, running score, try again and links to one question."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from dashboard.app import navigation
from dashboard.lesson import quiz
from tests.harness.apptest import open_page
from tests.harness.checks import assert_no_exception, texts

N_QUESTIONS = len(quiz.load())
N_SHORT = len(quiz.SHORT_ROUND)


def metrics(app: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in app.metric}


def radio_for(app: AppTest, question: quiz.Question):
    return app.radio(key=f"quiz_{app.session_state['quiz_round']}_{question.id}")


def answered_keys(app: AppTest, attempt: quiz.Attempt) -> list[str]:
    shown = {r.key for r in app.radio}
    return [q.id for q in attempt.questions if f"quiz_{app.session_state['quiz_round']}_{q.id}" not in shown]


def test_the_short_round_comes_first_and_the_full_set_is_one_click_away():
    app = open_page("quiz")
    assert_no_exception(app)
    attempt: quiz.Attempt = app.session_state["quiz_attempt"]
    assert [q.id for q in attempt.questions] == [q.id for q in quiz.short_round(quiz.load())]
    assert metrics(app)["Answered"] == f"0 of {N_SHORT}" and 6 <= N_SHORT <= 10
    assert {q.page for q in attempt.questions} >= set(quiz.USE_CASE_PAGES)  # one per use case at least
    assert app.query_params["round"] in ("short", ["short"])
    app.segmented_control(key="quiz_set").set_value("all").run()
    assert_no_exception(app)
    assert metrics(app)["Answered"] == f"0 of {N_QUESTIONS}"
    assert app.query_params["round"] in ("all", ["all"])


def test_answers_get_instant_feedback_and_a_running_score():
    app = open_page("quiz", query={"round": "all"})
    assert_no_exception(app)
    assert metrics(app) == {"Score": "–", "Answered": f"0 of {N_QUESTIONS}"}
    attempt: quiz.Attempt = app.session_state["quiz_attempt"]
    first, second = attempt.questions[:2]
    # The page shows the questions in the file's order (the order the pages teach), choices shuffled by seed.
    assert [q.id for q in attempt.questions] == [q.id for q in quiz.load()]
    assert radio_for(app, first).options == list(first.choices)

    radio_for(app, first).set_value(first.answer).run()
    assert_no_exception(app)
    assert metrics(app) == {"Score": "1 right", "Answered": f"1 of {N_QUESTIONS}"}
    assert [s.value for s in app.success] == ["**Right.**"]
    assert first.explanation in texts(app)
    assert answered_keys(app, attempt) == [first.id]  # the first answer is final: no radio to change it
    assert f"✅ **{first.correct_choice}** · your answer" in texts(app)
    links = app.get("page_link")
    assert [link.proto.label for link in links] == [f"See it live on the {navigation.by_key(first.page).title} page"]

    wrong = (second.answer + 1) % len(second.choices)
    radio_for(app, second).set_value(wrong).run()
    assert_no_exception(app)
    assert f"❌ {second.choices[wrong]} · your answer" in texts(app)  # what was picked, and what was right
    assert f"✅ **{second.correct_choice}** · the right answer" in texts(app)
    assert metrics(app) == {"Score": "1 right", "Answered": f"2 of {N_QUESTIONS}"}
    [error] = app.error
    assert "Not quite" in error.value and f"the answer is “{second.correct_choice}”" in error.value
    assert f"You picked “{second.choices[wrong]}”" in error.value
    assert second.explanation in texts(app)

    seed_before = app.session_state["quiz_seed"]
    app.button(key="quiz_try_again").click().run()
    assert_no_exception(app)
    assert metrics(app) == {"Score": "–", "Answered": f"0 of {N_QUESTIONS}"}
    assert not app.success and not app.error
    fresh: quiz.Attempt = app.session_state["quiz_attempt"]
    assert fresh.seed == seed_before + 1 and app.query_params["seed"] in (str(fresh.seed), [str(fresh.seed)])
    assert [q.choices for q in fresh.questions] != [q.choices for q in attempt.questions]
    assert all(radio_for(app, q).value is None and not radio_for(app, q).disabled for q in fresh.questions)


def test_a_full_round_ends_with_a_summary():
    app = open_page("quiz", query={"round": "all"})
    attempt: quiz.Attempt = app.session_state["quiz_attempt"]
    for n, question in enumerate(attempt.questions):
        # All right but the last, which is answered wrong.
        last = n == len(attempt.questions) - 1
        radio_for(app, question).set_value((question.answer + 1) % len(question.choices) if last
                                           else question.answer).run()
    assert_no_exception(app)
    assert metrics(app) == {"Score": f"{N_QUESTIONS - 1} right", "Answered": f"{N_QUESTIONS} of {N_QUESTIONS}"}
    summary = texts(app)
    assert f"Done: {N_QUESTIONS - 1} of {N_QUESTIONS} right." in summary
    assert navigation.by_key(attempt.questions[-1].page).title in summary


def test_a_page_link_to_one_question_puts_it_first_and_keeps_the_seed():
    target = quiz.load()[7]
    assert target.id not in quiz.SHORT_ROUND  # so the link must open the full set
    app = open_page("quiz", query={"q": target.id, "seed": "42"})
    assert_no_exception(app)
    assert app.radio[0].key.endswith(target.id)
    assert "pointed to" in app.caption[0].value
    assert f"**8. {target.question}**" in texts(app)  # numbered in lesson order
    attempt: quiz.Attempt = app.session_state["quiz_attempt"]
    assert attempt.seed == 42
    assert [q.choices for q in attempt.questions] == [q.choices for q in quiz.shuffled(quiz.load(), 42, order=False)]
    assert "seed" in app.query_params and "q" not in app.query_params
