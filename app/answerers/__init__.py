"""Answerers turn a question and its retrieved passages into a cited answer; pick one by name."""
from abc import ABC, abstractmethod
from collections.abc import Callable

from app.answers import Answer, Passage
from app.errors import UnknownModelError
from index.embeddings import Embedder

DEFAULT = "extractive"
NOT_IN_DOCUMENTS = "The documents do not contain the answer to this question."


class Answerer(ABC):
    name: str

    @abstractmethod
    def answer(self, question: str, passages: list[Passage]) -> Answer:
        """An answer citing passages by their [n] number, or an abstention."""


def _extractive(arg: str, embedder: Embedder) -> Answerer:
    from app.answerers.extractive import ExtractiveAnswerer

    return ExtractiveAnswerer(embedder)


_FACTORIES: dict[str, Callable[[str, Embedder], Answerer]] = {"extractive": _extractive}


def get(name: str, embedder: Embedder) -> Answerer:
    kind, _, arg = name.partition(":")
    if kind not in _FACTORIES:
        raise UnknownModelError(f"Unknown answerer '{name}'; choose one of: {', '.join(_FACTORIES)}")
    return _FACTORIES[kind](arg, embedder)
