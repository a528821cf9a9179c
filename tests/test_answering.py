"""Questions on the seed article, answered by the real default model and store."""
import pytest

from app.answerers import NOT_IN_DOCUMENTS
from app.errors import QuestionError
from app.ui.chat import as_text, render_answer
from tests.conftest import SEED, SENTENCE_2004

SEED_TEXT = SEED.read_text(encoding="utf-8")


@pytest.mark.parametrize("question", [
    "Which countries joined NATO in 2004?",
    "Ce țări au aderat la NATO în 2004?",
    "Ce ţări au aderat la NATO în 2004?",
    "Ce tari au aderat la NATO in 2004?",
])
def test_the_2004_question_is_answered_with_its_sentence_and_citation(seed_pipeline, question):
    answer = seed_pipeline.ask(question)
    assert not answer.abstained
    assert answer.text == f"{SENTENCE_2004} [1]"
    [citation] = answer.citations
    chunk = citation.passage.chunk
    assert citation.n == 1 and citation.quote == SENTENCE_2004
    assert chunk.source == SEED.name and SEED_TEXT[chunk.start:chunk.end] == chunk.text
    assert chunk.text.startswith(SENTENCE_2004)
    assert answer.to_dict()["citations"][0] == {
        "n": 1, "source": SEED.name, "page": None, "text": chunk.text, "start": chunk.start, "end": chunk.end,
        "score": round(citation.passage.score, 4)}


def test_a_romanian_question_gets_the_romanian_sentence(seed_pipeline):
    answer = seed_pipeline.ask("Unde vrea SUA să instaleze elemente antirachetă în România?")
    assert "Baza Deveselu" in answer.text and answer.text.endswith("[1]")


@pytest.mark.parametrize("question", [
    "Who won the 2018 World Cup?", "What is the capital of France?", "How do I sort a list in Python?"])
def test_off_topic_questions_abstain(seed_pipeline, question):
    answer = seed_pipeline.ask(question)
    assert answer.abstained and answer.text == NOT_IN_DOCUMENTS and answer.citations == []
    assert answer.passages  # what was looked at is still there to show


@pytest.mark.parametrize("question, message", [
    ("", "The question is empty"),
    ("   \n ", "The question is empty"),
    ("x" * 100_000, "100,000 characters long; the limit is 2,000"),
    ("Ce " * 600, "tokens long; the embedding model reads at most 512"),
], ids=["empty", "blank", "100KB", "over-token-limit"])
def test_bad_questions_get_a_clear_error(seed_pipeline, question, message):
    with pytest.raises(QuestionError, match=message):
        seed_pipeline.ask(question)


def test_the_read_also_line_is_never_an_answer(seed_pipeline):
    answer = seed_pipeline.ask("Criza din Ucraina: războiul se amână?")
    assert "Citeşte" not in answer.text
    assert all("Citeşte" not in p.chunk.text for p in answer.passages)


def test_rendered_answers_escape_passages_and_highlight_the_quote(seed_pipeline):
    html = render_answer(seed_pipeline.ask("Which countries joined NATO in 2004?"))
    assert f"<mark>{SENTENCE_2004}</mark>" in html
    assert f"<b>{as_text(SEED.name)}</b>" in html and "characters 3080–3319" in html
