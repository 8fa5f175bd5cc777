"""Unit tests of the quiz file's schema, seeded shuffling, scoring, the tour data and the lesson text files."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest

from dashboard.core import pagemap
from dashboard.lesson import quiz, tour

ASSETS = Path(__file__).resolve().parents[2] / "assets"


@pytest.fixture(scope="module")
def questions():
    return quiz.load()


@pytest.fixture
def raw():
    return json.loads(quiz.QUIZ_PATH.read_text(encoding="utf-8"))


# ---- the shipped quiz file -------------------------------------------------------------------------------------


def test_shipped_quiz_is_valid_and_long_enough(questions):
    assert len(questions) >= 12
    for q in questions:
        assert q.page in quiz.PAGES
        assert q.topic in quiz.TOPICS
        assert 0 <= q.answer < len(q.choices)
        assert len(set(q.choices)) == len(q.choices)
        assert "\n\n" not in q.explanation
    assert len({q.id for q in questions}) == len(questions)


def test_shipped_quiz_covers_the_required_ideas_and_every_page_the_registry_names(questions):
    assert quiz.coverage_gaps(questions) == []
    linked = quiz.pages_linked(questions)
    assert set(quiz.COVERED_PAGES) <= linked
    assert linked <= set(quiz.PAGES)


def test_the_quiz_reads_its_pages_from_the_page_registry():
    assert quiz.PAGES == pagemap.URL_PATHS
    assert quiz.COVERED_PAGES == tuple(p.url_path for p in pagemap.PAGES if p.quiz)
    assert set(quiz.USE_CASE_PAGES) <= set(quiz.COVERED_PAGES)


def test_a_page_missing_from_the_registry_is_a_gap_not_a_skip(questions):
    assert "page 'gan' is not in the page registry" in quiz.coverage_gaps(questions, ["overview", "gan"])


def test_answers_are_not_all_in_one_position(questions):
    # Without shuffling the file order is shown, and "always the first choice" would give the game away.
    assert len({q.answer for q in questions}) >= 3


def _length_rank(q: quiz.Question) -> int:
    """How many other choices are strictly shorter than the right one: 0 shortest, len - 1 strictly longest."""
    return sum(len(c) < len(q.correct_choice) for i, c in enumerate(q.choices) if i != q.answer)


def test_no_right_answer_can_be_spotted_by_its_length(questions):
    # "Pick the longest answer" is the oldest test-taking trick; it must do no better than chance here.
    for q in questions:
        longest_other = max(len(c) for i, c in enumerate(q.choices) if i != q.answer)
        assert len(q.correct_choice) <= 1.3 * longest_other, f"{q.id}: the right answer stands out by its length"
    clearly_longer = [q.id for q in questions if len(q.correct_choice) > 1.15 * max(
        len(c) for i, c in enumerate(q.choices) if i != q.answer)]
    assert len(clearly_longer) <= 2, clearly_longer
    ranks = [_length_rank(q) for q in questions]
    longest = sum(rank == len(q.choices) - 1 for rank, q in zip(ranks, questions))
    shortest = ranks.count(0)
    assert longest <= len(questions) / 3 and shortest <= len(questions) / 3, (longest, shortest)


HEDGES = re.compile(r"\b(probably|usually|often|may|might|tends?|likely|mostly|roughly|about)\b", re.I)
ABSOLUTES = re.compile(r"\b(always|never|certainly|exactly|any|every|all|only|perfect|guaranteed)\b", re.I)


def test_no_right_answer_can_be_spotted_by_its_hedging(questions):
    # The other classic tell: the one careful answer among confident-sounding wrong ones.
    for q in questions:
        wrong = [c for i, c in enumerate(q.choices) if i != q.answer]
        lone_hedge = (HEDGES.search(q.correct_choice) and not ABSOLUTES.search(q.correct_choice)
                      and not any(HEDGES.search(c) for c in wrong))
        assert not (lone_hedge and all(ABSOLUTES.search(c) for c in wrong)), q.id


def test_coverage_gaps_names_what_is_missing(questions):
    without_vae = [q for q in questions if q.topic != "vae" and q.page != "features"]
    gaps = quiz.coverage_gaps(without_vae)
    assert "no question on topic 'vae'" in gaps
    assert "no question links page 'features'" in gaps


# ---- schema violations ------------------------------------------------------------------------------------------


def _invalid(raw, match):
    with pytest.raises(quiz.QuizError, match=match):
        quiz.validate(raw)


def test_missing_and_unknown_fields_are_rejected(raw):
    del raw["questions"][0]["explanation"]
    raw["questions"][1]["hint"] = "extra"
    with pytest.raises(quiz.QuizError) as error:
        quiz.validate(raw)
    message = str(error.value)
    # Both problems are reported at once, so an author fixes the file in one pass.
    assert "missing field 'explanation'" in message and "unknown field 'hint'" in message


def test_answer_out_of_range_is_rejected(raw):
    q = raw["questions"][2]
    q["answer"] = len(q["choices"])
    _invalid(raw, "out of range")
    q["answer"] = -1
    _invalid(raw, "out of range")


def test_boolean_and_string_answers_are_rejected(raw):
    raw["questions"][0]["answer"] = True
    _invalid(raw, "'answer' must be an integer")
    raw["questions"][0]["answer"] = "1"
    _invalid(raw, "'answer' must be an integer")


def test_duplicate_ids_are_rejected(raw):
    raw["questions"][3]["id"] = raw["questions"][0]["id"]
    _invalid(raw, "duplicate id")


def test_unknown_page_and_topic_are_rejected(raw):
    raw["questions"][0]["page"] = "gan"
    _invalid(raw, "page 'gan' is not one of")
    raw["questions"][0]["page"] = "overview"
    raw["questions"][0]["topic"] = "diffusion"
    _invalid(raw, "topic 'diffusion' is not one of")


def test_bad_choices_are_rejected(raw):
    base = copy.deepcopy(raw)
    raw["questions"][0]["choices"] = ["only one"]
    raw["questions"][0]["answer"] = 0
    _invalid(raw, "1 choices")
    raw = copy.deepcopy(base)
    raw["questions"][0]["choices"][1] = raw["questions"][0]["choices"][0].upper()
    _invalid(raw, "two choices are the same")
    raw = copy.deepcopy(base)
    raw["questions"][0]["choices"][1] = "All of the above"
    _invalid(raw, "depends on the order")
    raw = copy.deepcopy(base)
    raw["questions"][0]["choices"][1] = ""
    _invalid(raw, "list of non-empty strings")


def test_explanation_must_be_one_paragraph(raw):
    raw["questions"][0]["explanation"] = "First paragraph.\n\nSecond paragraph."
    _invalid(raw, "one paragraph")
    raw["questions"][0]["explanation"] = "x" * (quiz.MAX_EXPLANATION_CHARS + 1)
    _invalid(raw, "characters")


def test_bad_ids_version_and_shape_are_rejected(raw):
    raw["questions"][0]["id"] = "Has Spaces"
    _invalid(raw, "lowercase slug")
    _invalid({**raw, "version": 2}, "version must be 1")
    _invalid({"version": 1, "questions": []}, "non-empty list")
    _invalid([1, 2], "JSON object")
    _invalid({"version": 1, "questions": ["not an object"]}, "expected an object")


def test_load_reports_missing_and_broken_files(tmp_path):
    with pytest.raises(quiz.QuizError, match="missing"):
        quiz.load(tmp_path / "nope.json")
    broken = tmp_path / "broken.json"
    broken.write_text('{"version": 1, "questions": [', encoding="utf-8")
    with pytest.raises(quiz.QuizError, match="not valid JSON"):
        quiz.load(broken)


# ---- seeded shuffling -------------------------------------------------------------------------------------------


def _layout(qs):
    return [(q.id, q.choices, q.answer) for q in qs]


def test_same_seed_gives_the_same_quiz(questions):
    assert _layout(quiz.shuffled(questions, 7)) == _layout(quiz.shuffled(questions, 7))


def test_different_seeds_give_different_orders(questions):
    layouts = {tuple(_layout(quiz.shuffled(questions, seed))) for seed in range(5)}
    assert len(layouts) == 5
    orders = {tuple(q.id for q in quiz.shuffled(questions, seed)) for seed in range(5)}
    assert len(orders) > 1


def test_shuffling_moves_the_answer_with_its_choice(questions):
    by_id = {q.id: q for q in questions}
    moved = 0
    for seed in range(20):
        for q in quiz.shuffled(questions, seed):
            original = by_id[q.id]
            assert q.correct_choice == original.correct_choice
            assert sorted(q.choices) == sorted(original.choices)
            assert (q.question, q.explanation, q.page) == (original.question, original.explanation, original.page)
            moved += q.answer != original.answer
    assert moved > 0  # the test would be empty if choices never moved


def test_choice_order_does_not_depend_on_question_position(questions):
    # A question's choices must look the same whichever slot the question lands in.
    reversed_first = quiz.shuffled(list(reversed(questions)), 3)
    assert {q.id: q.choices for q in quiz.shuffled(questions, 3)} == {q.id: q.choices for q in reversed_first}


def test_shuffling_can_be_switched_off(questions):
    assert _layout(quiz.shuffled(questions, 1, order=False, choices=False)) == _layout(questions)
    kept_order = quiz.shuffled(questions, 1, order=False)
    assert [q.id for q in kept_order] == [q.id for q in questions]


def test_shuffling_does_not_change_the_input(questions):
    before = _layout(questions)
    quiz.shuffled(questions, 11)
    assert _layout(questions) == before


# ---- scoring ----------------------------------------------------------------------------------------------------


def _wrong(q):
    return (q.answer + 1) % len(q.choices)


def test_running_score_counts_right_and_wrong_answers(questions):
    attempt = quiz.Attempt(questions, seed=4)
    assert attempt.score == quiz.Score(0, 0, len(questions))
    first, second, third = attempt.questions[:3]

    feedback = attempt.answer(first.id, first.answer)
    assert feedback.correct and feedback.chosen == feedback.answer == first.answer
    assert feedback.explanation == first.explanation and feedback.page == first.page
    assert attempt.score == quiz.Score(1, 1, len(questions))

    feedback = attempt.answer(second.id, _wrong(second))
    assert not feedback.correct and feedback.answer == second.answer
    assert attempt.score == quiz.Score(1, 2, len(questions))
    assert attempt.score.fraction == pytest.approx(0.5)

    assert attempt.feedback(third.id) is None
    assert not attempt.score.finished


def test_only_the_first_answer_counts(questions):
    attempt = quiz.Attempt(questions, seed=0)
    q = attempt.questions[0]
    attempt.answer(q.id, _wrong(q))
    again = attempt.answer(q.id, q.answer)
    assert not again.correct and again.chosen == _wrong(q)
    assert attempt.score.correct == 0 and attempt.score.answered == 1


def test_answers_are_scored_in_the_order_shown(questions):
    # The page records the index of the button pressed, so scoring must use the shuffled choices.
    attempt = quiz.Attempt(questions, seed=9)
    for q in attempt.questions:
        shown_index = q.choices.index(q.correct_choice)
        assert attempt.answer(q.id, shown_index).correct
    assert attempt.score == quiz.Score(len(questions), len(questions), len(questions))
    assert attempt.score.finished and attempt.score.fraction == 1.0


def test_bad_answers_raise(questions):
    attempt = quiz.Attempt(questions, seed=0)
    q = attempt.questions[0]
    with pytest.raises(ValueError):
        attempt.answer(q.id, len(q.choices))
    with pytest.raises(ValueError):
        attempt.answer(q.id, True)
    with pytest.raises(KeyError):
        attempt.answer("no-such-question", 0)
    assert attempt.score.answered == 0


def test_try_again_resets_the_score(questions):
    attempt = quiz.Attempt(questions, seed=2)
    for q in attempt.questions[:5]:
        attempt.answer(q.id, q.answer)
    same = attempt.try_again()
    assert same.score == quiz.Score(0, 0, len(questions))
    assert _layout(same.questions) == _layout(attempt.questions)

    reshuffled = attempt.try_again(seed=3)
    assert reshuffled.score.answered == 0 and reshuffled.seed == 3
    assert _layout(reshuffled.questions) == _layout(quiz.Attempt(questions, seed=3).questions)
    assert _layout(reshuffled.questions) != _layout(attempt.questions)
    assert attempt.score.answered == 5  # the old attempt is left alone


def test_unshuffled_attempt_shows_the_file_order(questions):
    attempt = quiz.Attempt(questions, shuffle_order=False, shuffle_choices=False)
    assert _layout(attempt.questions) == _layout(questions)


def test_attempt_can_keep_the_question_order_and_shuffle_only_choices(questions):
    attempt = quiz.Attempt(questions, seed=5, shuffle_order=False)
    assert [q.id for q in attempt.questions] == [q.id for q in questions]
    assert [q.choices for q in attempt.questions] != [q.choices for q in questions]
    again = attempt.try_again(seed=6)
    assert [q.id for q in again.questions] == [q.id for q in questions] and not again.shuffle_order
    assert [q.choices for q in again.questions] != [q.choices for q in attempt.questions]


# ---- the tour -----------------------------------------------------------------------------------------------------


def test_tour_is_well_formed_and_fits_the_demo():
    assert tour.validate() == []
    assert [stop.page for stop in tour.STOPS] == [
        "overview", "latent-space", "compression", "denoising", "anomaly", "features", "sampling", "quiz"]
    assert sum(stop.minutes for stop in tour.STOPS) <= tour.DEMO_MINUTES


def test_tour_validation_catches_bad_stops():
    bad = tour.Stop(page="gan", title="", takeaway="Two sentences. Not one.", look_at="x", minutes=0)
    problems = tour.validate([bad, tour.STOPS[0], tour.STOPS[0]])
    text = " | ".join(problems)
    for expected in ("unknown page", "empty title", "one sentence", "minutes must be positive", "visited twice"):
        assert expected in text
    long_tour = [tour.Stop(p, "t", "One.", "x", 3.0) for p in ("overview", "compression", "denoising", "anomaly")]
    assert any("more than" in p for p in tour.validate(long_tour))
    assert tour.validate([]) == ["the tour has no stops"]


def test_a_stop_on_a_page_the_app_lacks_is_an_error_not_a_skip():
    with pytest.raises(tour.TourError, match="denoising"):
        tour.available(["quiz", "overview", "sampling"])
    assert tour.available(pagemap.URL_PATHS) == list(tour.STOPS)
    assert tour.checked() == list(tour.STOPS)
    unknown = tour.Stop(page="gan", title="GANs", takeaway="One sentence.", look_at="x", minutes=1.0)
    with pytest.raises(tour.TourError, match="not in the page registry"):
        tour.checked([tour.STOPS[0], unknown])


def test_tour_position_stays_in_range():
    assert tour.clamp(-1, 7) == 0 and tour.clamp(3, 7) == 3 and tour.clamp(7, 7) == 6


# ---- lesson text ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["overview", "models", "quiz", "tour"])
def test_lesson_files_exist_and_are_short_plain_markdown(name):
    text = (ASSETS / "lessons" / f"{name}.md").read_text(encoding="utf-8")
    paragraphs = [p for p in text.split("\n\n")
                  if p.strip() and not p.lstrip().startswith(("-", "**Try", "**Read more"))]
    assert 1 <= len(paragraphs) <= 3
    assert "<script" not in text.lower()


def test_glossary_defines_the_required_terms():
    text = (ASSETS / "glossary.md").read_text(encoding="utf-8")
    terms = re.findall(r"^\*\*(.+?)\*\*:", text, flags=re.MULTILINE)
    required = ["Latent", "Bottleneck", "Reconstruction loss", "KL term", "ELBO", "PSNR", "SSIM", "AUROC",
                "Encoder", "Decoder", "Denoising autoencoder", "VAE", "Prior", "PCA", "t-SNE"]
    for term in required:
        assert any(t.startswith(term) for t in terms), term
    assert terms == sorted(terms, key=str.casefold), "keep the glossary alphabetical"


def test_every_tour_stop_but_the_quiz_has_a_live_result():
    assert set(tour.HIGHLIGHTS) == {stop.page for stop in tour.STOPS} - {"quiz"}
    assert tour.highlight("quiz") is None and tour.highlight("models") is None


def test_a_highlight_shows_real_numbers_and_images():
    result = tour.highlight("compression", "digits")
    card = tour.zoo.read_card("ae-16", "digits")
    ratio = card["metrics"]["test_mse"] / card["metrics"]["pca_mse"]
    assert [n.value for n in result.numbers][-1] == f"{ratio:.2f}x"
    assert [label for label, _ in result.rows] == ["Original", "AE, 16 numbers", "PCA, 16 numbers"]
    original = result.rows[0][1]
    assert original.shape == (tour.N_SHOWN, 1, 8, 8)
    assert sorted(tour.data.load("digits").y_test[tour._one_per_class(tour.data.load("digits"), 1)].tolist()) == \
        list(range(10))  # one digit of each class, not ten zeros


# Numbers a lesson may state: arithmetic and examples that no retrained model can change. Anything measured on
# the shipped models (an AUROC, an accuracy, a FID, a dB gain) is phrased without a number in the lessons; the
# pages and the benchmark show those numbers from the models themselves, so the text cannot drift from them.
LESSON_NUMBERS_ALLOWED = {
    "anomaly": ["as 0.35", "90%", "0.95"],  # a threshold example; F1 when 90% of images are anomalous (arithmetic)
    "compression": ["49 times"],  # 784 pixels / 16 numbers
    "latent-diffusion": ["48 times", "15%"],  # 786,432 / 16,384 numbers; the label dropout the recipe sets
    "overview": ["49 times"],
}
MEASURED_NUMBER = re.compile(r"\d+\.\d+|\d+ ?%|\d+(?:\.\d+)? ?dB|\b\d+ times|\b\d+x\b")


@pytest.mark.parametrize("path", sorted((ASSETS / "lessons").glob("*.md")), ids=lambda p: p.stem)
def test_lessons_state_no_number_measured_on_the_shipped_models(path):
    text = path.read_text(encoding="utf-8")
    allowed = LESSON_NUMBERS_ALLOWED.get(path.stem, [])
    for phrase in allowed:
        assert phrase in text, f"{path.name}: the allowed phrase {phrase!r} is gone; drop it from the list"
        text = text.replace(phrase, "")
    found = MEASURED_NUMBER.findall(text)
    assert not found, (f"{path.name} states {found}: a number measured on the models goes stale when they are "
                       "retrained; say it in words and let the page show the number")
