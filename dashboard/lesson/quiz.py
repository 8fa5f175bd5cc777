"""The quiz: questions loaded from assets/quiz.json, checked against a schema, shuffled by seed, and scored."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from dashboard.core import pagemap, paths

QUIZ_PATH = paths.ASSETS_DIR / "quiz.json"
SCHEMA_VERSION = 1

# Pages are named by their url path, the same string st.navigation and st.page_link use; the page registry is the
# one list of them, so a question on a page the app does not have is a schema error.
PAGES = pagemap.URL_PATHS
COVERED_PAGES = tuple(page.url_path for page in pagemap.PAGES if page.quiz)  # each needs a question linking it
USE_CASE_PAGES = tuple(page.url_path for page in pagemap.PAGES if page.section == "Use cases")
# What a question is about; the schema test checks that the lesson's required ideas are all asked about.
TOPICS = (
    "bottleneck",  # what the narrow code forces the network to learn
    "reconstruction-error",  # what a high or low error says about an input
    "ae-sampling",  # why decoding random codes from a plain AE goes wrong
    "vae",  # what the VAE's prior and KL term change
    "uses",  # what autoencoders are for beyond rebuilding their input
    "training",  # how a model is trained or what its loss compares
    "metrics",  # how to read PSNR, SSIM, AUROC and friends
    "limits",  # where a method stops working
    "generators",  # how today's image generators model an autoencoder's codes (discrete codes, latent diffusion)
)
# The default short round, about five minutes: the lesson's four core ideas (what the bottleneck forces, what a
# high reconstruction error says, why a plain AE samples badly, what the code is for), then one question for each
# page those four do not already cover. The full set is one click away.
SHORT_ROUND = ("bottleneck-learns", "high-error-means", "ae-prior-samples", "why-rebuild-input",
               "compression-beats-pca", "dae-training", "features-few-labels", "hover-shows-decoder")
REQUIRED_TOPICS = ("bottleneck", "reconstruction-error", "ae-sampling", "vae", "uses")

_ID_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_FIELDS = {"id", "topic", "page", "question", "choices", "answer", "explanation"}
# Choices that point at other choices stop making sense once the order is shuffled.
_ORDER_DEPENDENT = re.compile(r"\b(all|none|both) of the (above|below)\b|\bneither of\b", re.IGNORECASE)
MIN_CHOICES, MAX_CHOICES = 2, 6
MAX_EXPLANATION_CHARS = 900  # one paragraph: long enough to explain, short enough to read under a question


class QuizError(ValueError):
    """The quiz file breaks the schema; the message lists every problem found, not just the first."""


@dataclass(frozen=True)
class Question:
    """One multiple-choice question; `answer` indexes `choices` and follows it through any shuffle."""

    id: str  # stable slug, unique in the file; answers and links refer to it
    topic: str  # one of TOPICS
    page: str  # url path of the page that shows the idea live (one of PAGES)
    question: str  # the question text, markdown allowed
    choices: tuple[str, ...]  # the options shown, MIN_CHOICES to MAX_CHOICES of them, all different
    answer: int  # index of the correct choice in `choices`
    explanation: str  # one paragraph, shown once the question is answered

    @property
    def correct_choice(self) -> str:
        return self.choices[self.answer]


def _problems_of(item: object, where: str) -> list[str]:
    """Every schema problem of one raw question, each prefixed with where it is."""
    if not isinstance(item, Mapping):
        return [f"{where}: expected an object, got {type(item).__name__}"]
    problems = [f"{where}: missing field {name!r}" for name in sorted(_FIELDS - item.keys())]
    problems += [f"{where}: unknown field {name!r}" for name in sorted(item.keys() - _FIELDS)]
    for name in ("id", "topic", "page", "question", "explanation"):
        if name in item and (not isinstance(item[name], str) or not item[name].strip()):
            problems.append(f"{where}: {name!r} must be a non-empty string")
    if problems:
        return problems

    if not _ID_PATTERN.match(item["id"]):
        problems.append(f"{where}: id {item['id']!r} must be a lowercase slug such as 'vae-prior'")
    if item["topic"] not in TOPICS:
        problems.append(f"{where}: topic {item['topic']!r} is not one of {', '.join(TOPICS)}")
    if item["page"] not in PAGES:
        problems.append(f"{where}: page {item['page']!r} is not one of {', '.join(PAGES)}")
    if "\n\n" in item["explanation"].strip():
        problems.append(f"{where}: the explanation must be one paragraph (no blank lines)")
    if len(item["explanation"]) > MAX_EXPLANATION_CHARS:
        problems.append(f"{where}: the explanation is {len(item['explanation'])} characters; "
                        f"keep it to {MAX_EXPLANATION_CHARS}")

    choices = item["choices"]
    if not isinstance(choices, list) or not all(isinstance(c, str) and c.strip() for c in choices):
        problems.append(f"{where}: 'choices' must be a list of non-empty strings")
        return problems
    if not MIN_CHOICES <= len(choices) <= MAX_CHOICES:
        problems.append(f"{where}: {len(choices)} choices; expected {MIN_CHOICES} to {MAX_CHOICES}")
    if len({c.strip().casefold() for c in choices}) != len(choices):
        problems.append(f"{where}: two choices are the same")
    for choice in choices:
        if _ORDER_DEPENDENT.search(choice):
            problems.append(f"{where}: choice {choice!r} depends on the order, which shuffling changes")
    answer = item["answer"]
    # bool is an int subclass; `true` as an answer index is a typo, not index 1.
    if not isinstance(answer, int) or isinstance(answer, bool):
        problems.append(f"{where}: 'answer' must be an integer index into 'choices'")
    elif not 0 <= answer < len(choices):
        problems.append(f"{where}: answer {answer} is out of range for {len(choices)} choices")
    return problems


def validate(raw: object) -> list[Question]:
    """Check a parsed quiz file against the schema and return its questions; raise QuizError listing all problems."""
    if not isinstance(raw, Mapping):
        raise QuizError("The quiz file must hold a JSON object with 'version' and 'questions'.")
    problems: list[str] = []
    if raw.get("version") != SCHEMA_VERSION:
        problems.append(f"version must be {SCHEMA_VERSION}, got {raw.get('version')!r}")
    items = raw.get("questions")
    if not isinstance(items, list) or not items:
        raise QuizError("; ".join([*problems, "'questions' must be a non-empty list"]))

    seen: set[str] = set()
    for position, item in enumerate(items):
        qid = item.get("id") if isinstance(item, Mapping) else None
        where = f"question {position + 1}" + (f" ({qid})" if isinstance(qid, str) else "")
        problems += _problems_of(item, where)
        if isinstance(qid, str):
            if qid in seen:
                problems.append(f"{where}: duplicate id {qid!r}")
            seen.add(qid)
    if problems:
        raise QuizError("The quiz file is invalid:\n- " + "\n- ".join(problems))

    return [
        Question(
            id=item["id"], topic=item["topic"], page=item["page"], question=item["question"].strip(),
            choices=tuple(c.strip() for c in item["choices"]), answer=item["answer"],
            explanation=item["explanation"].strip(),
        )
        for item in items
    ]


def load(path: Path | str = QUIZ_PATH) -> list[Question]:
    """Read and validate the quiz file; a file that is missing or not JSON raises QuizError too."""
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise QuizError(f"The quiz file {path} is missing.") from exc
    except json.JSONDecodeError as exc:
        raise QuizError(f"The quiz file {path} is not valid JSON: {exc}") from exc
    return validate(raw)


def short_round(questions: Sequence[Question]) -> list[Question]:
    """The questions of the short round, in the file's order (which follows the pages); QuizError if one is gone."""
    known = {q.id for q in questions}
    missing = [qid for qid in SHORT_ROUND if qid not in known]
    if missing:
        raise QuizError(f"The short round names questions the quiz file lacks: {', '.join(missing)}.")
    return [q for q in questions if q.id in SHORT_ROUND]


def shuffle_choices(question: Question, seed: int) -> Question:
    """The question with its choices in a seeded order; `answer` moves with the correct choice."""
    # Seeding per question id keeps a question's choice order the same wherever it lands in the quiz.
    rng = random.Random(f"{seed}:{question.id}")
    order = list(range(len(question.choices)))
    rng.shuffle(order)
    return replace(question, choices=tuple(question.choices[i] for i in order), answer=order.index(question.answer))


def shuffled(questions: Sequence[Question], seed: int, *, order: bool = True, choices: bool = True) -> list[Question]:
    """The questions in a seeded order, each with seeded choices; the same seed always gives the same quiz."""
    result = list(questions)
    if order:
        random.Random(seed).shuffle(result)
    if choices:
        result = [shuffle_choices(q, seed) for q in result]
    return result


@dataclass(frozen=True)
class Feedback:
    """What the page shows straight after an answer."""

    correct: bool
    chosen: int  # index the user picked, in the order shown
    answer: int  # index of the correct choice, in the order shown
    explanation: str
    page: str  # url path of the page that shows the idea live


@dataclass(frozen=True)
class Score:
    """The running score."""

    correct: int
    answered: int
    total: int

    @property
    def finished(self) -> bool:
        return self.answered == self.total

    @property
    def fraction(self) -> float:
        """Share of answered questions that were right; 0 before the first answer."""
        return self.correct / self.answered if self.answered else 0.0


@dataclass
class Attempt:
    """One run through the quiz: the questions as shown (shuffled by `seed`) and the first answer to each."""

    source: tuple[Question, ...]  # the questions in file order, so every reshuffle starts from the same place
    seed: int = 0  # the seed of the order shown; the same seed gives the same quiz
    shuffle_order: bool = True  # False keeps the file's question order (which follows the pages)
    shuffle_choices: bool = True  # False keeps each question's choices in file order
    answers: dict[str, int] = field(default_factory=dict)  # question id -> chosen index, in the order shown
    questions: list[Question] = field(init=False)  # the questions as shown

    def __post_init__(self):
        self.source = tuple(self.source)
        self.questions = shuffled(self.source, self.seed, order=self.shuffle_order, choices=self.shuffle_choices)

    def question(self, question_id: str) -> Question:
        for q in self.questions:
            if q.id == question_id:
                return q
        raise KeyError(f"No question with id {question_id!r}.")

    def answer(self, question_id: str, chosen: int) -> Feedback:
        """Record an answer and return its feedback; only the first answer to a question counts."""
        q = self.question(question_id)
        if isinstance(chosen, bool) or not isinstance(chosen, int) or not 0 <= chosen < len(q.choices):
            raise ValueError(f"Choice {chosen!r} is out of range for question {question_id!r}.")
        # Locking the first answer keeps the running score honest: no retrying until right.
        self.answers.setdefault(question_id, chosen)
        return self.feedback(question_id)

    def feedback(self, question_id: str) -> Feedback | None:
        """The feedback for an answered question, or None while it is unanswered."""
        q = self.question(question_id)
        if question_id not in self.answers:
            return None
        chosen = self.answers[question_id]
        return Feedback(chosen == q.answer, chosen, q.answer, q.explanation, q.page)

    @property
    def score(self) -> Score:
        correct = sum(self.answers[q.id] == q.answer for q in self.questions if q.id in self.answers)
        return Score(correct, len(self.answers), len(self.questions))

    def try_again(self, seed: int | None = None) -> Attempt:
        """A fresh attempt with no answers: a new seed reshuffles, None keeps the order shown now."""
        return Attempt(self.source, self.seed if seed is None else seed, self.shuffle_order, self.shuffle_choices)


def pages_linked(questions: Iterable[Question]) -> set[str]:
    """The url paths the quiz links to."""
    return {q.page for q in questions}


def coverage_gaps(questions: Iterable[Question], pages: Iterable[str] = COVERED_PAGES) -> list[str]:
    """What the quiz fails to ask about: required topics and pages without a question; empty when complete.

    A page asked for that the registry does not know is reported too, never skipped.
    """
    questions, pages = list(questions), list(pages)
    topics = {q.topic for q in questions}
    linked = pages_linked(questions)
    return ([f"no question on topic {t!r}" for t in REQUIRED_TOPICS if t not in topics]
            + [f"page {p!r} is not in the page registry" for p in pages if p not in PAGES]
            + [f"no question links page {p!r}" for p in pages if p in PAGES and p not in linked])
