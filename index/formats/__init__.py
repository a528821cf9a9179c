"""Document formats by file suffix: each module turns a file's bytes into clean text."""
import importlib
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import PurePath

from index.errors import DocumentError

# suffix → module in this package whose extract(name, data) reads it
_FORMATS = {".pdf": "pdf", ".docx": "word", ".html": "web", ".htm": "web", ".md": "plain", ".txt": "plain"}
SUPPORTED_SUFFIXES = tuple(_FORMATS)
# Called with (pages read so far, pages) while a paged document is read: OCR takes seconds a page.
PageProgress = Callable[[int, int], None]

# Control characters go (except newline and tab), as do invisible marks that split words for search.
_INVISIBLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u200b\ufeff\ufffe\uffff]")
_LIGATURES = str.maketrans({"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st", "ﬆ": "st"})


@dataclass(frozen=True)
class Extracted:
    text: str  # paragraphs separated by one blank line; headings are paragraphs of their own
    kind: str  # "pdf", "docx", "html", "markdown", "text"
    pages: tuple[int, ...] = ()  # offset in text where each page starts; () when the format has no pages


def is_supported(name: str) -> bool:
    return PurePath(name).suffix.lower() in _FORMATS


def extract(name: str, data: bytes, progress: PageProgress | None = None) -> Extracted:
    """The text of a file, read by the module for its suffix; a DocumentError naming the file otherwise.
    progress, when given, follows the pages of a PDF as they are read."""
    suffix = PurePath(name).suffix.lower()
    if suffix not in _FORMATS:
        raise DocumentError(f"{name}: {suffix or 'files without a suffix'} cannot be read; supported types are "
                            f"{', '.join(SUPPORTED_SUFFIXES)}. Convert it to one of them, or move it out of "
                            "the documents folder.")
    if not data:
        raise DocumentError(f"{name} is empty (0 bytes). Add its content, or remove it from the documents folder.")
    reader = importlib.import_module(f"index.formats.{_FORMATS[suffix]}")
    extracted = reader.extract(name, data, progress) if progress and suffix == ".pdf" else reader.extract(name, data)
    if not extracted.text.strip():
        raise DocumentError(f"{name} has no text to index. Add its content, or remove it from the documents "
                            "folder.")
    return extracted


def clean(text: str) -> str:
    """NFC text with Unix newlines, without control characters or ligature glyphs (ﬁ → fi)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x0b", "\n").replace("\x0c", "\n")
    return unicodedata.normalize("NFC", _INVISIBLE.sub("", text).translate(_LIGATURES))


def table_text(rows: list[list[str]]) -> str:
    """A table as lines of " | "-joined cells. Under a header row (the first, every cell filled), each row names
    its columns, "Quarter: Q3 | Revenue: 4.2 M", so that a row read on its own (a passage, a quoted line) still
    says what its numbers are."""
    rows = [[" ".join(cell.split()) for cell in row] for row in rows]
    rows = [row for row in rows if any(row)]
    if len(rows) < 2 or not all(rows[0]) or len(rows[0]) < 2:
        return "\n".join(" | ".join(cell for cell in row if cell) for row in rows)
    header, lines = rows[0], [" | ".join(rows[0])]
    for row in rows[1:]:
        if len(row) != len(header):
            lines.append(" | ".join(cell for cell in row if cell))
        else:
            lines.append(" | ".join(f"{name}: {cell}" for name, cell in zip(header, row) if cell))
    return "\n".join(lines)


def join_blocks(blocks: Iterable[str]) -> str:
    """Blocks (paragraphs, headings, lists, tables) separated by one blank line. Inside a block each
    line's whitespace is collapsed and empty lines are dropped, so a list or table keeps its lines."""
    cleaned = ("\n".join(" ".join(line.split()) for line in clean(block).split("\n") if line.strip())
               for block in blocks)
    return "\n\n".join(block for block in cleaned if block)

