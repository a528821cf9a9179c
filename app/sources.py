"""The cited place in its document: a PDF page drawn with the quoted sentence highlighted from the
characters' own boxes, or a document's text with the passage and the sentence marked."""
import base64
import hashlib
import html
import io
import threading
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from pathlib import Path

import pypdfium2 as pdfium
from PIL import Image, ImageDraw

from index import loading
from index.errors import DocumentError, not_indexed
from index.formats import pdf
from index.store import ChunkStore, FileRecord
from index.worker import ReadLimits

SCALE = 1.5  # pixels per PDF point: 108 dpi, sharp enough to read a 10-point line
QUOTE_FILL, PASSAGE_FILL = (250, 204, 21, 120), (125, 211, 252, 60)  # translucent yellow, lighter blue
TEXT_AROUND = 20_000  # characters shown on each side of the passage in a document without pages
_LAYOUTS = 8  # PDFs whose line positions are kept between calls


@dataclass(frozen=True)
class Highlight:
    """A box to draw on a page image, in pixels from the top left corner."""

    kind: str  # "quote" (the quoted sentence) or "passage" (the rest of the cited passage)
    left: int
    top: int
    right: int
    bottom: int

    def to_dict(self) -> dict:
        return {"kind": self.kind, "left": self.left, "top": self.top, "right": self.right, "bottom": self.bottom}


@dataclass
class SourceView:
    """One place of a document: a PDF page image with its highlights, or the text around the passage."""

    source: str
    kind: str  # the document's format
    page: int | None = None  # 1-based, for a PDF
    pages: int = 0
    image: Image.Image | None = None  # a PDF page, highlights drawn
    highlights: list[Highlight] = field(default_factory=list)
    text_html: str = ""  # for the other formats: the text, passage and quote marked
    path: Path | None = None  # the file itself, as it was indexed

    def to_dict(self) -> dict:
        """What /source returns: the page image as a PNG data URL, and the highlight boxes on it."""
        found = {"source": self.source, "type": self.kind, "page": self.page, "pages": self.pages or None,
                 "highlights": [h.to_dict() for h in self.highlights]}
        if self.image is not None:
            png = io.BytesIO()
            self.image.save(png, "PNG", optimize=True)
            found |= {"width": self.image.width, "height": self.image.height,
                      "image": "data:image/png;base64," + base64.b64encode(png.getvalue()).decode()}
        else:
            found["html"] = self.text_html
        return found


class Sources:
    """Opens the indexed documents of a folder at a cited place."""

    def __init__(self, docs: Path, store: ChunkStore, limits: ReadLimits = ReadLimits()):
        self.docs, self.store, self.limits = docs, store, limits
        self._layouts: OrderedDict[str, tuple[str, list[pdf.PlacedLine]]] = OrderedDict()
        self._lock = threading.Lock()

    def file(self, source: str) -> tuple[FileRecord, Path, bytes]:
        """The indexed document's record, path and bytes, as they were indexed."""
        record = self.store.files().get((source or "").strip())
        path = (self.docs / (source or "")).resolve()
        if record is None or not record.complete or not path.is_relative_to(self.docs.resolve()):
            raise not_indexed(source)
        try:
            data = path.read_bytes()
        except OSError:
            raise DocumentError(f"{source} is indexed but no longer in {self.docs}; put it back, or run "
                                "`python -m app index` to drop it.") from None
        if hashlib.sha256(data).hexdigest() != record.sha256:
            raise DocumentError(f"{source} has changed since it was indexed; run `python -m app index` (or "
                                "Re-index all) and ask again.")
        return record, path, data

    def view(self, source: str, page: int | None = None, quotes: list[tuple[int, int]] = (),
             passage: tuple[int, int] | None = None) -> SourceView:
        """The document at a page (a PDF) or around the passage (the others). quotes (the quoted sentences) and
        passage are offsets in the document's extracted text, as citations give them; either may be left out."""
        record, path, data = self.file(source)
        quotes = sorted(quotes)
        if record.kind != "pdf":
            return replace(self._text_view(record, data, quotes, passage), path=path)
        pages = record.pages
        page = min(max(int(page or 1), 1), pages) if pages else 1
        _, placed = self._layout(record, data)
        spans = [("quote", quote) for quote in quotes]
        if passage:  # the passage's other lines, around the quotes
            spans += [("passage", span) for span in _around(passage, quotes) if span[0] < span[1]]
        marks = [(kind, box) for kind, span in spans for box in pdf.boxes(data, placed, *span)
                 if box.page == page - 1]
        image, highlights = _render(data, page - 1, marks)
        return SourceView(source, record.kind, page, pages, image, highlights, path=path)

    def _layout(self, record: FileRecord, data: bytes) -> tuple[str, list[pdf.PlacedLine]]:
        with self._lock:
            if record.sha256 in self._layouts:
                self._layouts.move_to_end(record.sha256)
                return self._layouts[record.sha256]
        found = pdf.layout(record.source, data)
        with self._lock:
            self._layouts[record.sha256] = found
            while len(self._layouts) > _LAYOUTS:
                self._layouts.popitem(last=False)
        return found

    def _text_view(self, record: FileRecord, data: bytes, quotes: list[tuple[int, int]],
                   passage: tuple[int, int] | None) -> SourceView:
        text = loading.read(record.source, data, limits=self.limits).text
        start, end = passage or ((quotes[0][0], quotes[-1][1]) if quotes else (0, 0))
        shown_from, shown_to = max(0, start - TEXT_AROUND), min(len(text), end + TEXT_AROUND)
        spans = [*quotes, *([passage] if passage else [])]
        cuts = sorted({shown_from, shown_to, *(x for span in spans for x in span if shown_from <= x <= shown_to)})
        parts = []
        for a, b in zip(cuts, cuts[1:]):
            piece = html.escape(text[a:b])
            if any(q[0] <= a and b <= q[1] for q in quotes):
                piece = f'<mark class="quote">{piece}</mark>'
            elif passage and passage[0] <= a and b <= passage[1]:
                piece = f'<mark class="passage">{piece}</mark>'
            parts.append(piece)
        before = "…" if shown_from > 0 else ""
        after = "…" if shown_to < len(text) else ""
        body = before + "".join(parts) + after
        return SourceView(record.source, record.kind, text_html=f'<div class="source-text">{body}</div>')


def _render(data: bytes, page_index: int, marks: list[tuple[str, pdf.Box]]) -> tuple[Image.Image, list[Highlight]]:
    """The page drawn at SCALE, the boxes filled translucently over it."""
    with pdf.PDFIUM:
        document = pdfium.PdfDocument(data)
        try:
            page = document[page_index]
            left, _, _, top = page.get_cropbox()
            image = page.render(scale=SCALE).to_pil().convert("RGBA")
            page.close()
        finally:
            document.close()
    highlights = [Highlight(kind, round((box.left - left) * SCALE), round((top - box.top) * SCALE),
                            round((box.right - left) * SCALE), round((top - box.bottom) * SCALE))
                  for kind, box in marks]
    overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    for h in highlights:
        draw.rectangle((h.left - 1, h.top - 1, h.right + 1, h.bottom + 1),
                       fill=QUOTE_FILL if h.kind == "quote" else PASSAGE_FILL)
    return Image.alpha_composite(image, overlay).convert("RGB"), highlights


def _around(passage: tuple[int, int], quotes: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The passage without the quotes (sorted): what lies before, between and after them."""
    pieces, at = [], passage[0]
    for start, end in quotes:
        pieces.append((at, min(passage[1], start)))
        at = max(at, end)
    return pieces + [(at, passage[1])]
