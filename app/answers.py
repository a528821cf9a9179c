"""What a question turns into: retrieved passages, and an answer that cites some of them."""
from dataclasses import dataclass, field

from index.chunking import Chunk


@dataclass(frozen=True)
class Passage:
    chunk: Chunk
    score: float  # cosine similarity to the question


@dataclass(frozen=True)
class Citation:
    n: int  # the [n] marker in the answer
    passage: Passage
    quote_start: int  # the supporting sentence, as offsets in the passage text
    quote_end: int
    more: tuple[tuple[int, int], ...] = ()  # further quoted spans of the same passage, in reading order

    @property
    def quote(self) -> str:
        return self.passage.chunk.text[self.quote_start:self.quote_end]

    @property
    def spans(self) -> tuple[tuple[int, int], ...]:
        return ((self.quote_start, self.quote_end), *self.more)

    @property
    def quotes(self) -> list[str]:
        return [self.passage.chunk.text[start:end] for start, end in self.spans]

    def to_dict(self) -> dict:
        chunk = self.passage.chunk
        return {"n": self.n, "source": chunk.source, "page": chunk.page, "text": chunk.text,
                "start": chunk.start, "end": chunk.end, "score": round(self.passage.score, 4)}


@dataclass(frozen=True)
class Answer:
    question: str
    text: str
    abstained: bool
    citations: list[Citation] = field(default_factory=list)
    passages: list[Passage] = field(default_factory=list)  # everything retrieved, cited or not
    note: str = ""  # how the answer was made, when that is worth telling (a fallback, say)
    confidence: float | None = None  # 0–1, how surely the documents answer; None when not measured

    def to_dict(self) -> dict:
        confidence = None if self.confidence is None else round(self.confidence, 3)
        return {"question": self.question, "answer": self.text, "abstained": self.abstained,
                "confidence": confidence, "citations": [c.to_dict() for c in self.citations]}
