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
    url: str | None = None  # the address of a source added by URL

    @property
    def quote(self) -> str:
        return self.passage.chunk.text[self.quote_start:self.quote_end]

    @property
    def spans(self) -> tuple[tuple[int, int], ...]:
        return ((self.quote_start, self.quote_end), *self.more)

    @property
    def quotes(self) -> list[str]:
        return [self.passage.chunk.text[start:end] for start, end in self.spans]

    @property
    def page(self) -> int | None:
        """The page of the quoted sentence (a passage may run onto the next page)."""
        return self.passage.chunk.page_at(self.quote_start)

    @property
    def where(self) -> str:
        """Where the quote is: its page ("page 4 (passage on pages 3–4)"), or the passage's characters."""
        chunk = self.passage.chunk
        if chunk.page is None:
            return f"characters {chunk.start}–{chunk.end}"
        if chunk.last_page == chunk.page:
            return f"page {self.page}"
        return f"page {self.page} (passage on pages {chunk.page}–{chunk.last_page})"

    def to_dict(self) -> dict:
        chunk = self.passage.chunk
        pages = [chunk.page, chunk.last_page] if chunk.page else None
        return {"n": self.n, "source": chunk.source, "page": self.page, "pages": pages, "text": chunk.text,
                "start": chunk.start, "end": chunk.end, "score": round(self.passage.score, 4),
                "quote": {"text": self.quote, "start": chunk.start + self.quote_start,
                          "end": chunk.start + self.quote_end}, "url": self.url}


@dataclass(frozen=True)
class AnswerSpan:
    """The exact answer (a date, a number, a name) inside a quoted sentence."""

    n: int  # the citation whose passage holds it
    start: int  # offsets in that passage's text
    end: int
    text: str
    confident: bool = True  # the reader is likely right: the answer shows it in bold

    def to_dict(self) -> dict:
        return {"n": self.n, "text": self.text, "start": self.start, "end": self.end, "confident": self.confident}


@dataclass(frozen=True)
class Answer:
    question: str
    text: str
    abstained: bool
    citations: list[Citation] = field(default_factory=list)
    passages: list[Passage] = field(default_factory=list)  # everything retrieved, cited or not
    note: str = ""  # how the answer was made, when that is worth telling (a fallback, say)
    confidence: float | None = None  # 0–1, how surely the documents answer; None when not measured
    span: AnswerSpan | None = None  # the exact answer inside the quote, when the reader found one
    searched: list[str] | None = None  # the documents the question was limited to; None: all of them
    indexing: list[dict] = field(default_factory=list)  # files still being indexed, so not yet searched
    collection: str | None = None  # the collection it was asked of, when not the default

    @property
    def bold(self) -> AnswerSpan | None:
        """The exact answer to show in bold: the reader's span where it is likely right."""
        return self.span if self.span and self.span.confident and not self.abstained else None

    def to_dict(self) -> dict:
        confidence = None if self.confidence is None else round(self.confidence, 3)
        return {"question": self.question, "answer": self.text, "abstained": self.abstained,
                "confidence": confidence, "span": self.span.to_dict() if self.span else None,
                "citations": [c.to_dict() for c in self.citations], "searched": self.searched,
                "indexing": self.indexing}
