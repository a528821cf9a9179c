"""Answers with an LLM from the numbered passages; checks its citations; falls back to extractive."""
import re
import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import replace

from langchain_core.messages import HumanMessage, SystemMessage

from app import prompts
from app.answerers import NOT_IN_DOCUMENTS, Answerer
from app.answers import Answer, Citation, Passage
from app.llm import ChatBackend
from index.text import content_words, fold, sentence_spans

FENCE = '"""'  # what quotes each passage in prompts/answer_user.txt's {passages}
_MARKER = re.compile(r"\[(\d+)\]")
# Replies that mean "not in the documents", in the languages the prompt asks for.
_NOT_FOUND = (fold(NOT_IN_DOCUMENTS), "not in the documents", "nu contin raspunsul", "nu se gaseste in documente")


class LLMTimeout(TimeoutError):
    """The reply did not end within the backend's timeout (--llm-timeout)."""


def _text(chunk) -> str:
    """A streamed piece: chat models give message chunks, plain LLMs give strings."""
    return chunk if isinstance(chunk, str) else str(chunk.content)


class GenerativeAnswerer(Answerer):
    def __init__(self, backend: ChatBackend, fallback: Answerer):
        self.backend, self.fallback, self.name = backend, fallback, backend.name
        self.system = prompts.load("answer_system", {"not_found"})
        self.user = prompts.load("answer_user", {"passages", "question"})
        self.rewrite = prompts.load("rewrite_question", {"history", "question"})

    def messages(self, question: str, passages: list[Passage]) -> list:
        # A passage cannot end its own quotes: the instructions stay outside what the documents say.
        quoted = "\n\n".join(f'[{n}] {p.chunk.source}\n{FENCE}\n{p.chunk.text.replace(FENCE, "”””")}\n{FENCE}'
                             for n, p in enumerate(passages, 1))
        return [SystemMessage(self.system.format(not_found=NOT_IN_DOCUMENTS)),
                HumanMessage(self.user.format(passages=quoted, question=question))]

    def generate(self, messages: list) -> Iterator[str]:
        """The reply's text as it grows. Past the backend's timeout it stops asking for more (which ends
        a local model's generation between tokens and closes a server's stream) and raises LLMTimeout."""
        deadline = time.monotonic() + self.backend.timeout
        text = ""
        with closing(iter(self.backend.model.stream(messages))) as chunks:
            for chunk in chunks:
                text += _text(chunk)
                yield text
                if time.monotonic() > deadline:
                    break
        if time.monotonic() > deadline:  # also when a local model's own time limit ended the reply
            raise LLMTimeout(f"no reply in time: stopped after {self.backend.timeout:g} s (--llm-timeout)")

    def failure(self, exc: Exception) -> str:
        reason = str(exc).strip() or type(exc).__name__
        if not isinstance(exc, LLMTimeout) and ("timeout" in type(exc).__name__.lower()
                                                or "timed out" in reason.lower()):
            reason = f"no reply in time ({reason}; --llm-timeout {self.backend.timeout:g} s)"
        return (f"The LLM {self.backend.name.split('@')[0]} at {self.backend.where} failed: {reason}. "
                f"{self.backend.hint} Showing the extractive answer instead.")

    def stream(self, question: str, passages: list[Passage]) -> Iterator[str | Answer]:
        if not passages:
            yield Answer(question, NOT_IN_DOCUMENTS, abstained=True)
            return
        text = ""
        try:
            for text in self.generate(self.messages(question, passages)):
                yield text
            if not text.strip():
                raise ValueError("the reply was empty")
        except Exception as exc:  # any backend failure ends in the extractive answer, never a crash
            yield replace(self.fallback.answer(question, passages), note=self.failure(exc))
            return
        yield self.finish(question, passages, text.strip())

    def answer(self, question: str, passages: list[Passage]) -> Answer:
        *_, answer = self.stream(question, passages)
        return answer

    def finish(self, question: str, passages: list[Passage], text: str) -> Answer:
        """Keeps the markers that point to a passage, drops and reports the others."""
        cited = list(dict.fromkeys(int(n) for n in _MARKER.findall(text)))
        valid = [n for n in cited if 1 <= n <= len(passages)]
        dropped = [n for n in cited if n not in valid]
        text = _MARKER.sub(lambda m: m.group() if int(m.group(1)) in valid else "", text)
        text = re.sub(r"[ \t]+([.,;:!?])", r"\1", re.sub(r"[ \t]{2,}", " ", text)).strip()
        notes = []
        if dropped:
            notes.append(f"Dropped citation(s) {', '.join(f'[{n}]' for n in dropped)}: no such passage.")
        abstained = not valid and any(phrase in fold(text) for phrase in _NOT_FOUND)
        if not valid and not abstained:
            notes.append("This answer cites no passage: check it against the documents.")
        citations = [self._citation(n, passages[n - 1], text) for n in valid]
        return Answer(question, text, abstained, citations, passages, note=" ".join(notes))

    @staticmethod
    def _citation(n: int, passage: Passage, answer: str) -> Citation:
        """Highlights the passage's sentence that shares most words with the answer."""
        words = content_words(answer)
        spans = sentence_spans(passage.chunk.text) or [(0, len(passage.chunk.text))]
        start, end = max(spans, key=lambda s: len(words & content_words(passage.chunk.text[s[0]:s[1]])))
        return Citation(n, passage, start, end)

    def standalone(self, question: str, history: list[tuple[str, str]]) -> str:
        """Rewrites a follow-up into a standalone question with the LLM; falls back to the plain rule."""
        if not history:
            return question
        turns = "\n".join(f"User: {q}\nAssistant: {a}" for q, a in history[-3:])
        try:
            *_, reply = self.generate([HumanMessage(self.rewrite.format(history=turns, question=question))])
            rewritten = reply.strip().splitlines()[0].strip() if reply.strip() else ""
        except Exception:  # a failing model is reported when it answers; retrieval still goes on
            rewritten = ""
        return rewritten or super().standalone(question, history)
