"""Splits a document into passages along paragraph and sentence boundaries, within a token limit."""
import re
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import asdict, dataclass

from index.loading import Document
from index.text import ends_sentence, fold

# Lines that link elsewhere ("read also: …") rather than say anything; they never become passages.
_BOILERPLATE = re.compile(
    r"^\W*(citeste si|citeste mai mult|vezi si|read also|read more|see also|related)\s*:", re.IGNORECASE
)


@dataclass(frozen=True)
class ChunkingParams:
    max_tokens: int = 384  # a paragraph up to this size stays whole
    split_tokens: int = 200  # longer paragraphs are cut into pieces of about this size
    min_tokens: int = 24  # shorter paragraphs (headings, bylines) join the next one

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Chunk:
    source: str
    number: int
    start: int  # character offsets in the document's extracted text
    end: int
    text: str
    page: int | None = None  # 1-based page where the chunk starts, for paginated formats (PDF)
    page_starts: tuple[int, ...] = ()  # offsets in text where each further page starts, when it runs onto them

    @property
    def id(self) -> str:
        return f"{self.source}#{self.number}"

    def page_at(self, offset: int) -> int | None:
        """The page holding text[offset], or None for unpaginated formats."""
        return None if self.page is None else self.page + bisect_right(self.page_starts, offset)

    @property
    def last_page(self) -> int | None:
        return None if self.page is None else self.page + len(self.page_starts)


def is_boilerplate(line: str) -> bool:
    return bool(_BOILERPLATE.match(fold(line.strip())))


def paragraph_spans(text: str) -> list[tuple[int, int]]:
    """Spans of paragraphs: blocks between blank lines, or single lines where the text has no blank lines."""
    lines = [(m.start(), m.end()) for m in re.finditer(r"[^\n]*", text) if m.group().strip()]
    lines = [(s, e) for s, e in lines if not is_boilerplate(text[s:e])]
    if not re.search(r"\n[ \t]*\n", text):
        return lines
    paragraphs: list[tuple[int, int]] = []
    for start, end in lines:
        if paragraphs and not text[paragraphs[-1][1]:start].count("\n") > 1:
            paragraphs[-1] = (paragraphs[-1][0], end)
        else:
            paragraphs.append((start, end))
    return paragraphs


class Chunker:
    """Keeps paragraphs whole when they fit, splits long ones at sentence ends, merges tiny ones."""

    def __init__(self, count_tokens: Callable[[str], int], params: ChunkingParams = ChunkingParams()):
        self.count_tokens = count_tokens
        self.params = params
        self._made = None

    @property
    def _splitter(self):
        """LangChain's splitter, made at first use: importing it takes a second that answering never needs."""
        if self._made is None:
            from langchain_text_splitters import RecursiveCharacterTextSplitter

            self._made = RecursiveCharacterTextSplitter(
                chunk_size=self.params.split_tokens,
                chunk_overlap=0,
                length_function=self.count_tokens,
                separators=[r"(?<=[.!?…])\s+", r"(?<=[;:])\s+", r"(?<=,)\s+", r"\s+", ""],
                is_separator_regex=True,
                keep_separator="end",
                add_start_index=True,
                strip_whitespace=True,
            )
        return self._made

    def _pieces(self, text: str, start: int, end: int, size: Callable[[tuple[int, int]], int]
                ) -> list[tuple[int, int]]:
        if size((start, end)) <= self.params.max_tokens:
            return [(start, end)]
        pieces = []
        for doc in self._splitter.create_documents([text[start:end]]):
            offset = start + doc.metadata["start_index"]
            pieces.append((offset, offset + len(doc.page_content)))
        return pieces

    def split(self, document: Document) -> list[Chunk]:
        text, params = document.text, self.params
        counted: dict[tuple[int, int], int] = {}

        def size(span: tuple[int, int]) -> int:  # a span is measured once: tokenizing is most of the work here
            if span not in counted:
                counted[span] = self.count_tokens(text[span[0]:span[1]])
            return counted[span]
        spans: list[tuple[int, int]] = []
        heading = None  # a short line that ends no sentence waits to join the text it introduces
        for paragraph in paragraph_spans(text):
            for piece in self._pieces(text, *paragraph, size):
                if heading and size((heading[0], piece[1])) <= params.max_tokens:
                    piece = (heading[0], piece[1])
                elif heading:
                    spans.append(heading)
                heading = None
                if size(piece) < params.min_tokens and not ends_sentence(text[piece[0]:piece[1]]):
                    heading = piece
                elif spans and min(size(spans[-1]), size(piece)) < params.min_tokens \
                        and document.page_at(spans[-1][0]) == document.page_at(piece[0]) \
                        and size((spans[-1][0], piece[1])) <= params.max_tokens:
                    spans[-1] = (spans[-1][0], piece[1])  # a short paragraph stays with its neighbour
                else:
                    spans.append(piece)
        if heading:
            spans.append(heading)
        return [
            Chunk(source=document.source, number=i, start=s, end=e, text=text[s:e], page=document.page_at(s),
                  page_starts=tuple(p - s for p in document.pages if s < p < e))
            for i, (s, e) in enumerate(spans)
        ]
