"""Quiz: multiple-choice questions on every page's idea, marked at once, with a running score and a fresh try."""

import streamlit as st

from dashboard.app import navigation, ui
from dashboard.core import paths
from dashboard.lesson import quiz

ui.require_entry_point()

SEED_LIMIT = 1_000_000  # seeds run 1..SEED_LIMIT-1; "Try again" steps through them
ATTEMPT_KEY = "quiz_attempt"
ROUND_KEY = "quiz_round"  # bumps on every fresh attempt, so each attempt's radio buttons start empty
FOCUS_KEY = "quiz_focus"  # id of the question a page's "Check yourself" link pointed at
ROUNDS = ("short", "all")


@st.cache_resource(show_spinner=False)
def load_questions() -> list[quiz.Question]:
    """The validated questions, shared by every session (frozen dataclasses, never mutated)."""
    return quiz.load()


def seed_from_link(raw: str) -> int:
    value = int(raw)
    if not 1 <= value < SEED_LIMIT:
        raise ValueError(f"seed {value} is out of range")
    return value


def record(question_id: str, widget_key: str) -> None:
    chosen = st.session_state.get(widget_key)
    if chosen is not None:
        st.session_state[ATTEMPT_KEY].answer(question_id, int(chosen))


def try_again() -> None:
    st.session_state["quiz_seed"] = st.session_state["quiz_seed"] % (SEED_LIMIT - 1) + 1
    st.session_state.pop(FOCUS_KEY, None)


def marked_choice(question: quiz.Question, index: int, feedback: quiz.Feedback) -> str:
    """A choice's text, marked after an answer: ✅ the right one, ❌ a wrong pick."""
    text = question.choices[index]
    if index == feedback.answer:
        return f"✅ **{text}**" + (" · your answer" if index == feedback.chosen else " · the right answer")
    return f"❌ {text} · your answer" if index == feedback.chosen else f"◽ {text}"


def show_feedback(question: quiz.Question, feedback: quiz.Feedback) -> None:
    if feedback.correct:
        st.success("**Right.**", icon="✅")
    else:
        st.error(f"**Not quite.** You picked “{question.choices[feedback.chosen]}”; the answer is "
                 f"“{question.choices[feedback.answer]}”.", icon="❌")
    st.markdown(feedback.explanation)
    page = navigation.by_key(feedback.page)
    st.page_link(page.path, label=f"See it live on the {page.title} page", icon=page.icon)


st.title("❓ Quiz")
st.markdown((paths.ASSETS_DIR / "lessons" / "quiz.md").read_text(encoding="utf-8"))

try:
    all_questions = load_questions()
    short = quiz.short_round(all_questions)
except quiz.QuizError as exc:
    st.error(f"The quiz could not be loaded, so there is nothing to answer yet.\n\n{exc}", icon="🚫")
    st.stop()
ids = {q.id for q in all_questions}
linked = st.query_params.get("q")  # a page's "Check yourself" link; the entry point drops it from the URL after
round_key = ui.url_key("quiz_set", "round", "short", ROUNDS)
if linked in ids and linked not in {q.id for q in short}:
    st.session_state[round_key] = "all"  # the linked question is only in the full set
st.segmented_control("Questions", ROUNDS, key=round_key, width="stretch",
                     format_func=lambda r: f"Short round · {len(short)}" if r == "short"
                     else f"All {len(all_questions)} questions",
                     help="The short round asks the lesson's core ideas and one question per page; "
                          "the full set goes deeper on every page.")
questions = short if st.session_state[round_key] == "short" else all_questions

seed = st.session_state[ui.url_key("quiz_seed", "seed", 1, cast=seed_from_link)]
attempt: quiz.Attempt | None = st.session_state.get(ATTEMPT_KEY)
if attempt is None or attempt.seed != seed or attempt.source != tuple(questions):
    # The file's order follows the pages, so a learner meets the ideas in lesson order; the choices are shuffled.
    attempt = quiz.Attempt(questions, seed, shuffle_order=False)
    st.session_state[ATTEMPT_KEY] = attempt
    st.session_state[ROUND_KEY] = st.session_state.get(ROUND_KEY, 0) + 1
round_number = st.session_state[ROUND_KEY]

if linked is not None:
    if linked in ids:
        st.session_state[FOCUS_KEY] = linked
    else:
        shown_id = linked[:40].replace("`", "")  # the link is untrusted text; keep it inside the code span
        st.warning(f"The link points to a quiz question called `{shown_id}`, which does not exist; "
                   "here is the whole quiz instead.", icon="🔗")
focus = st.session_state.get(FOCUS_KEY)
number_of = {q.id: n for n, q in enumerate(questions, start=1)}  # lesson order, whatever the round
shown = sorted(attempt.questions, key=lambda q: q.id != focus)  # the linked question first, the rest in order

score = attempt.score
right, answered, restart = st.columns([1, 1, 1], vertical_alignment="bottom")
right.metric("Score", f"{score.correct} right" if score.answered else "–",
             help="Only the first answer to each question counts.")
answered.metric("Answered", f"{score.answered} of {score.total}")
restart.button("🔄 Try again", key="quiz_try_again", on_click=try_again, width="stretch",
               help="Clear your answers and start over, with the choices in a new order.")
st.progress(score.answered / score.total)

for question in shown:
    with st.container(border=True):
        if question.id == focus:
            st.caption("🔗 The question the page you came from pointed to.")
        st.markdown(f"**{number_of[question.id]}. {question.question}**")
        widget_key = f"quiz_{round_number}_{question.id}"
        feedback = attempt.feedback(question.id)
        if feedback is None:
            st.radio(question.question, list(range(len(question.choices))), index=None, key=widget_key,
                     format_func=lambda i, q=question: q.choices[i], on_change=record,
                     args=(question.id, widget_key), label_visibility="collapsed")
        else:  # the first answer is final: the choices become a marked list of what was picked and what is right
            st.markdown("\n".join(f"- {marked_choice(question, i, feedback)}" for i in range(len(question.choices))))
        if feedback is not None:
            show_feedback(question, feedback)

if score.finished:
    missed = [q for q in attempt.questions if not attempt.feedback(q.id).correct]
    if missed:
        pages = sorted({navigation.by_key(q.page).title for q in missed})
        st.info(f"**Done: {score.correct} of {score.total} right.** The ones you missed are explained above; "
                f"the {', '.join(pages)} page{'s' if len(pages) > 1 else ''} show{'' if len(pages) > 1 else 's'} "
                "them live. **Try again** starts over with the choices in a new order.", icon="🏁")
    else:
        st.success(f"**Done: all {score.total} right.** Well done.", icon="🏁")

st.caption(f"Quiz #{seed}. Share this page's link and others get the choices in the same order.")
with st.expander("📚 Glossary: the words used on these pages"):
    st.markdown((paths.ASSETS_DIR / "glossary.md").read_text(encoding="utf-8"))
