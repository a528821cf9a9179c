"""Answerers turn a question and its retrieved passages into a cited answer; pick one by name."""
import re
from abc import ABC, abstractmethod
from collections.abc import Iterator

from app import llm
from app.answers import Answer, Passage
from index import text
from index.embeddings import Embedder

DEFAULT = "extractive"
NOT_IN_DOCUMENTS = "The documents do not contain the answer to this question."
FOLLOW_UP_WORDS = 6  # a question this short after another one may be its follow-up
_NUMBER = re.compile(r"\b\d+\b")
# How a follow-up starts ("And in 2009?", "What about Romania?", "Și în 2009?"), folded, and the words that
# point back to what was said before (English and Romanian).
_CONTINUING = re.compile(r"^(and|but|also|then|what about|how about|si|dar|iar|sau|ce zici de)\b")
_POINTING_BACK = frozenset("""he she it they them him his her its their this that these those there then
    el ea ei ele lui acesta aceasta acestia acestea asta acolo atunci""".split())


def is_follow_up(question: str) -> bool:
    """Whether a short question leans on the one before: it starts as a continuation, points back with a
    pronoun, or names fewer than two things of its own ("When?", "Who is he?", "And in 2009?")."""
    words = re.findall(r"\w+", text.fold(question))
    if len(words) > FOLLOW_UP_WORDS:
        return False
    return bool(_CONTINUING.match(" ".join(words))) or any(w in _POINTING_BACK for w in words) \
        or len(text.content_words(question)) < 2


class Answerer(ABC):
    name: str

    @abstractmethod
    def answer(self, question: str, passages: list[Passage]) -> Answer:
        """An answer citing passages by their [n] number, or an abstention."""

    def stream(self, question: str, passages: list[Passage]) -> Iterator[str | Answer]:
        """The answer's text as it grows, then the Answer; answerers that cannot stream yield only that."""
        yield self.answer(question, passages)

    def standalone(self, question: str, history: list[tuple[str, str]]) -> str:
        """The question to retrieve with: a short follow-up takes the previous question as context.

        history holds the earlier (question, answer) turns, oldest first.
        """
        if not history or not is_follow_up(question):
            return question
        previous = history[-1][0]
        new, old = _NUMBER.findall(question), _NUMBER.findall(previous)
        if len(new) == 1 and len(old) == 1:  # "and in 2009?" after "… joined NATO in 2004?"
            return _NUMBER.sub(new[0], previous)
        return f"{previous} {question}"


def get(name: str, embedder: Embedder, timeout: float = llm.DEFAULT_TIMEOUT,
        min_confidence: float | None = None, fallback: Answerer | None = None, reader: bool = True) -> Answerer:
    """`extractive`, or an LLM by one of app.llm.FORMS, which falls back to extractive when it fails.

    min_confidence: below it the extractive answerer says the documents do not answer (None: calibrated).
    reader: whether the extractive answerer runs the span reader (the exact answer, and its abstention).
    fallback: the extractive answerer to use, when one exists already (its sentence vectors are
    remembered once); else one is made.
    """
    from app.answerers.extractive import DEFAULT_MIN_CONFIDENCE, ExtractiveAnswerer

    extractive = fallback if fallback is not None else ExtractiveAnswerer(
        embedder, DEFAULT_MIN_CONFIDENCE if min_confidence is None else min_confidence, use_reader=reader)
    if name == "extractive":
        return extractive
    from app.answerers.generative import GenerativeAnswerer

    return GenerativeAnswerer(llm.get(name, timeout), extractive)
