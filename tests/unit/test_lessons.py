"""What the lessons, glossary, quiz and pages say about the models matches the model cards, and cites real papers."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import torch

from dashboard.core import data, nets, pagemap, zoo
from dashboard.lesson import hourglass, quiz, tour

ROOT = Path(__file__).resolve().parents[2]
ASSETS = ROOT / "assets"
DATASETS = data.OFFLINE_DATASETS
# A card without config.recon_loss was written before the choice existed; the network then ran nets.ModelConfig's
# default, which is what rebuilding it from the card gives.
CARD_DEFAULT_LOSS = nets.ModelConfig().recon_loss


def card_loss(card: dict) -> str:
    return card["config"].get("recon_loss", CARD_DEFAULT_LOSS)


def shipped_cards() -> list[tuple[str, str, dict]]:
    return [(dataset, name, zoo.read_card(name, dataset)) for dataset in DATASETS for name in zoo.names(dataset)]


# ---------------------------------------------------------------------------------------------------------------
# The loss: every statement of what a shipped model trains on is tied to its card
# ---------------------------------------------------------------------------------------------------------------

def test_cards_without_a_loss_field_mean_binary_cross_entropy():
    assert CARD_DEFAULT_LOSS == "bce"


@pytest.mark.parametrize("dataset", DATASETS)
def test_the_overview_names_the_loss_on_each_models_card(dataset, one_torch_thread):
    for name in zoo.names(dataset):
        card = zoo.read_card(name, dataset)
        shown = hourglass.training_loss(zoo.frozen(name, dataset).config)
        kl = " + KL" if card["config"]["family"] == "vae" else ""
        assert shown.label == f"Loss ({hourglass.LOSS_SHORT[card_loss(card)]}{kl})", (dataset, name)
        assert (shown.recon, shown.with_kl) == (card_loss(card), bool(kl)), (dataset, name)


def test_the_overview_shows_the_loss_the_model_trains_on(one_torch_thread):
    ds = data.load("digits")
    x = ds.x_test[:1]
    for name in ("ae-16", "vae-16", "dae-16"):
        model = zoo.frozen(name, "digits")
        torch.manual_seed(hourglass.LOSS_SEED)  # the VAE's own loss draws from the global generator
        with torch.inference_mode():
            expected = float(model.loss(x)[0])
        assert hourglass.walk(model, x).loss == pytest.approx(expected, rel=1e-5, abs=1e-7), name
    vae = zoo.frozen("vae-16", "digits")
    assert hourglass.walk(vae, x).loss == hourglass.walk(vae, x).loss  # a fixed draw: the number does not jump


# Every sentence in the app's teaching text that names a reconstruction loss while talking about training must
# contain one of these claims, and each claim says what it asserts, per (dataset, family), so the cards can check it.
LOSS_CLAIMS = {
    "on mnist-5k the plain and denoising autoencoders train on squared error (MSE) and the VAEs on binary "
    "cross-entropy plus the KL term, and on the 8 × 8 digits every model trains on binary cross-entropy": {
        ("mnist-5k", "ae"): "mse", ("mnist-5k", "dae"): "mse", ("mnist-5k", "vae"): "bce",
        ("digits", "ae"): "bce", ("digits", "dae"): "bce", ("digits", "vae"): "bce"},
}
LOSS = r"binary cross[- ]entropy|\bBCE\b|squared error|\bMSE\b|log-likelihood"
TRAINED = r"\b(?:train\w*|minimi[sz]\w*)\b"
# A loss named as what training minimises: "trains on squared error", "BCE per pixel: what training minimised".
TRAINED_ON = re.compile(rf"{TRAINED}[^.;:]{{0,60}}?(?:{LOSS})|(?:{LOSS})[^.;]{{0,40}}?{TRAINED}", re.IGNORECASE)
SCANNED_CODE = ("pages", "dashboard/app", "dashboard/viz", "dashboard/lesson")


def _strings_of(path: Path) -> list[str]:
    """Every string a Python file shows or builds: literals, and f-strings with {} for their fields."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.JoinedStr):
            found.append("".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.append(node.value)
    return found


def teaching_texts() -> dict[str, list[str]]:
    """Where the app explains things to a visitor, as separate pieces of text: lessons and glossary (paragraphs),
    quiz questions, choices and explanations, tour stops, and every string the pages and the app layer show."""
    texts = {str(p.relative_to(ROOT)): p.read_text(encoding="utf-8").split("\n\n")
             for p in (ASSETS / "lessons").glob("*.md")}
    texts["assets/glossary.md"] = (ASSETS / "glossary.md").read_text(encoding="utf-8").split("\n\n")
    for q in quiz.load():
        texts[f"quiz:{q.id}"] = [q.question, *q.choices, q.explanation]
    for stop in tour.STOPS:
        texts[f"tour:{stop.page}"] = [stop.takeaway, stop.look_at]
    for folder in SCANNED_CODE:
        for path in sorted((ROOT / folder).rglob("*.py")):
            texts[str(path.relative_to(ROOT))] = _strings_of(path)
    return texts


def loss_statements(piece: str) -> list[str]:
    """The sentences of a piece of text that name a loss as what a model trains on or minimises."""
    sentences = re.split(r"(?<=[.!?])\s+", re.sub(r"\s+", " ", piece))
    return [s for s in sentences if TRAINED_ON.search(s)]


def test_the_loss_scanner_finds_the_statements_it_guards_against():
    wrong = ["The models here train on per-pixel binary cross-entropy; the pages report MSE.",
             "Binary cross-entropy per pixel: what training minimised.",
             "The models in this app train with per-pixel binary cross-entropy and the pages report MSE."]
    assert all(loss_statements(text) for text in wrong)
    fine = ["A small autoencoder trained on a few hundred images of one digit tells it from the other nine, and "
            "the structural score and the squared error come out about level.",
            "PCA keeps the best flat view of the data for squared error."]
    assert not any(loss_statements(text) for text in fine)


def test_every_statement_of_a_training_loss_is_a_checked_claim():
    unchecked = []
    for where, pieces in teaching_texts().items():
        for sentence in (s for piece in pieces for s in loss_statements(piece)):
            if not any(claim.casefold() in sentence.casefold() for claim in LOSS_CLAIMS):
                unchecked.append(f"{where}: {sentence}")
    assert not unchecked, ("These sentences say what a model trains on without a claim in LOSS_CLAIMS that the "
                           "cards check; read the loss from the card instead, or add the claim:\n"
                           + "\n".join(unchecked))


def test_each_loss_claim_is_what_the_cards_say():
    cards = shipped_cards()
    glossary = re.sub(r"\s+", " ", (ASSETS / "glossary.md").read_text(encoding="utf-8"))
    for claim, says in LOSS_CLAIMS.items():
        assert claim in glossary, f"the claim is gone from the glossary; drop it from LOSS_CLAIMS: {claim}"
        shipped_pairs = {(dataset, card["config"]["family"]) for dataset, _, card in cards
                         if card["config"].get("family") in nets.FAMILIES}
        assert shipped_pairs <= set(says), f"the claim leaves out {shipped_pairs - set(says)}"
        for dataset, name, card in cards:
            family = card["config"].get("family")
            if (dataset, family) in says:
                assert card_loss(card) == says[dataset, family], f"{dataset}/{name}: the card says {card_loss(card)}"


def test_the_vaes_use_the_beta_the_lessons_name():
    # The glossary and the quiz say "beta = 1, the standard VAE".
    for dataset, name, card in shipped_cards():
        if card["config"].get("family") == "vae":
            assert card["config"].get("beta", 1.0) == 1.0, (dataset, name)


# ---------------------------------------------------------------------------------------------------------------
# Citations: each teaching lesson names the papers it rests on, with the right year
# ---------------------------------------------------------------------------------------------------------------

LESSONS_WITH_PAPERS = ("overview", "latent-space", "compression", "denoising", "anomaly", "features", "sampling")
# First authors as the text writes them, and the year of every paper of theirs the app cites.
PAPERS = {
    "Hinton and Salakhutdinov": {"2006"}, "Goodfellow, Bengio and Courville": {"2016"},
    "Kingma and Welling": {"2014"}, "Hoffman and Johnson": {"2016"}, "Ballé": {"2018"},
    "Vincent, Larochelle": {"2008", "2010"}, "Vincent et al.": {"2008", "2010"}, "Chadebec": {"2022"},
    "Ghosh, Sajjadi": {"2020"}, "Heusel": {"2017"}, "Bengio, Courville and Vincent": {"2013"},
    "Zhou, Bousquet": {"2004"}, "Kingma, Rezende": {"2014"}, "Sakurada and Yairi": {"2014"},
    "Bergmann": {"2019"}, "Wang, Bovik": {"2004"}, "Fawcett": {"2006"}, "van der Maaten and Hinton": {"2008"},
    "Wattenberg": {"2016"},
}


def _read_more(name: str) -> str:
    text = (ASSETS / "lessons" / f"{name}.md").read_text(encoding="utf-8")
    found = [p for p in text.split("\n\n") if p.startswith("**Read more:**")]
    assert len(found) == 1, f"{name}.md needs one paragraph starting with **Read more:**"
    return re.sub(r"\s+", " ", found[0])


@pytest.mark.parametrize("name", LESSONS_WITH_PAPERS)
def test_a_lesson_names_the_papers_it_rests_on(name):
    for entry in _read_more(name).removeprefix("**Read more:**").split(";"):
        authors = next((a for a in PAPERS if entry.strip().startswith(a)), None)
        assert authors, f"{name}.md cites a paper the test does not know: {entry.strip()}"
        year = re.search(r"\((\d{4})\)", entry)
        assert year and year.group(1) in PAPERS[authors], f"{name}.md: {entry.strip()}"


def test_every_citation_in_the_text_carries_its_papers_year():
    texts = {k: re.sub(r"\s+", " ", " ".join(v)) for k, v in teaching_texts().items() if not k.endswith(".py")}
    for where, text in texts.items():
        for authors, years in PAPERS.items():
            for match in re.finditer(re.escape(authors), text):
                year = re.search(r"\b(19|20)\d{2}\b", text[match.end():match.end() + 300])
                assert year and year.group(0) in years, f"{where}: {authors} is cited without its year {years}"



def test_the_tour_lesson_names_the_stop_its_example_link_opens():
    text = (ASSETS / "lessons" / "tour.md").read_text(encoding="utf-8")
    links = re.findall(r"`tour\?stop=(\d+)` opens straight on ([a-z ]+)", text)
    assert links, "the example link is gone; drop this test"
    for number, title in links:
        assert pagemap.by_key(tour.STOPS[int(number) - 1].page).title.lower() == title.strip(), number
