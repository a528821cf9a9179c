"""PDF: the text layer read with PDFium (scanned pages read by OCR), running headers and footers dropped, lines
joined into paragraphs."""
import hashlib
import io
import json
import logging
import os
import re
import statistics
import threading
from collections import Counter, OrderedDict
from dataclasses import asdict, dataclass
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from index.errors import DocumentError
from index.formats import Extracted, PageProgress, clean, ocr, table_text
from index.text import is_code

_SENTENCE_END = re.compile(r"[.!?…:;][\"'”’»)\]]*$")
# A line that is only a page number: "3", "- 3 -", "Page 3 of 10", "3/10", "Pagina 3 din 10".
_PAGE_NUMBER = re.compile(r"^[-–—\s]*((page|pagina|pag\.|p\.|seite)\s*)?\d+(\s*(/|of|din|de|von)\s*\d+)?[-–—\s]*$",
                          re.IGNORECASE)
# What browsers print above and below each page: "11/28/26, 1:18 PM Title" and "https://… 2/7".
_BROWSER_HEADER = re.compile(r"^\d{1,4}[./-]\d{1,2}[./-]\d{1,4},?\s+\d{1,2}:\d{2}")
_BROWSER_FOOTER = re.compile(r"^(https?|file)://\S*\s+\d+\s*/\s*\d+$")
_HYPHEN = "\ufffe"  # PDFium's mark for a word hyphenated at the end of a line
PDFIUM = threading.Lock()  # PDFium is not thread-safe, and the server reads uploads on several threads
_OCR_PAGES = 512  # scanned pages whose lines are kept, so that showing a page does not read it again
_ocr_cache: "OrderedDict[tuple[str, int], list[Line]]" = OrderedDict()
_ocr_lock = threading.Lock()
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Hyphens:
    """Tells a hyphen the document wrote from one its maker added to break a word at a line's end."""

    added: bool  # whether the maker adds hyphens at all
    words: frozenset[str]  # the document's words, hyphenated ones whole

    def keep(self, head: str, tail: str) -> bool:
        """Whether head- at a line's end and tail at the next line's start are one hyphenated word."""
        head, tail = head.lower(), tail.lower()
        return not self.added or (f"{head}-{tail}" in self.words and head + tail not in self.words)


@dataclass(frozen=True)
class Line:
    text: str
    left: float
    right: float
    bottom: float  # PDF coordinates: y grows upwards
    size: float  # the font's height (ascent to descent)
    indices: tuple[int, ...] = ()  # PDFium's index of each character of text on its page
    # A line read by OCR: each character's box (left, bottom, right, top), None for a space between words
    boxes: tuple[tuple[float, float, float, float] | None, ...] = ()
    table: int = 0  # a table's row: the table's number on its page, from 1


@dataclass(frozen=True)
class PlacedLine:
    """A line of a page where it lies in the extracted text: text[start:start + length]."""

    page: int  # 0-based
    start: int
    indices: tuple[int, ...]  # PDFium's index of each of its characters on the page
    boxes: tuple[tuple[float, float, float, float] | None, ...] = ()  # or, read by OCR, their boxes

    @property
    def length(self) -> int:
        return len(self.boxes) or len(self.indices)


@dataclass(frozen=True)
class Box:
    """A rectangle on a page, in PDF points from the page's bottom left corner."""

    page: int  # 0-based
    left: float
    bottom: float
    right: float
    top: float


def extract(name: str, data: bytes, progress: PageProgress | None = None) -> Extracted:
    """The PDF's text; progress, when given, is called with (pages read, pages) as reading goes on."""
    if b"%PDF-" not in data[:1024]:
        raise DocumentError(f"{name} is not a PDF (it does not start with %PDF-). Save it again as PDF, or give it "
                            "the suffix of its real type.")
    pages, producer = _read(name, data, progress)
    if not any(line.text.strip() for page in pages for line in page):
        if not ocr.available():
            raise DocumentError(f"{name} has no text layer (a scanned PDF?). To read scanned pages by OCR, "
                                f"{ocr.HOW_TO_ENABLE}; then add it again.")
        raise DocumentError(f"{name} has no text layer, and OCR found no text on its pages. Add a sharper scan, or "
                            "the document's text as a .txt file.")
    # Browsers print with Skia and never break words with hyphens of their own (unlike TeX or InDesign)
    return assemble(pages, hyphenates=not producer.startswith("Skia/PDF"))


def layout(name: str, data: bytes) -> tuple[str, list[PlacedLine]]:
    """The text extract() gives, and where each of its lines lies in it: what a character of the text
    is on the page, for drawing boxes around a quote."""
    pages, producer = _read(name, data)
    kept = _drop_running_lines(pages)
    text = assemble(pages, hyphenates=not producer.startswith("Skia/PDF")).text
    placed, cursor = [], 0
    for number, page in enumerate(kept):
        for line in page:
            core = line.text.rstrip(_HYPHEN + "-")  # a line-end hyphen may have been joined away
            at = text.find(core, cursor) if core else -1
            if at < 0:
                continue
            placed.append(PlacedLine(number, at, line.indices[:len(core)], line.boxes[:len(core)]))
            cursor = at + len(core)
    return text, placed


def boxes(data: bytes, placed: list[PlacedLine], start: int, end: int) -> list[Box]:
    """The boxes of text[start:end] on its pages, one a line, from PDFium's boxes of its characters."""
    wanted = [(line, max(start, line.start) - line.start, min(end, line.start + line.length) - line.start)
              for line in placed if line.start < end and start < line.start + line.length]
    found = [_box(line.page, [b for b in line.boxes[first:last] if b]) for line, first, last in wanted if line.boxes]
    wanted = [(line, first, last) for line, first, last in wanted if not line.boxes]
    if not wanted:
        return [box for box in found if box]
    with PDFIUM:
        document = pdfium.PdfDocument(data)
        try:
            textpages = {}  # page number → (page, its text page): the page must outlive its text page
            for line, first, last in wanted:
                if line.page not in textpages:
                    page = document[line.page]
                    textpages[line.page] = (page, page.get_textpage())
                textpage = textpages[line.page][1]
                found.append(_box(line.page, [textpage.get_charbox(i, loose=True) for i in line.indices[first:last]
                                              if not textpage.get_text_range(i, 1).isspace()]))
            for page, textpage in textpages.values():
                textpage.close()
                page.close()
        finally:
            document.close()
    return sorted((box for box in found if box), key=lambda box: (box.page, -box.top, box.left))


def _box(page: int, chars: list[tuple[float, float, float, float]]) -> Box | None:
    """The box around the characters' boxes (left, bottom, right, top), None for no characters."""
    if not chars:
        return None
    return Box(page, min(c[0] for c in chars), min(c[1] for c in chars), max(c[2] for c in chars),
               max(c[3] for c in chars))


def _read(name: str, data: bytes, progress: PageProgress | None = None) -> tuple[list[list[Line]], str]:
    """The lines of each page, pages without a text layer read by OCR, and the program that made the PDF."""
    with PDFIUM:
        try:
            document = pdfium.PdfDocument(data)  # PDFium tries the empty password by itself
        except pdfium.PdfiumError as exc:
            if getattr(exc, "err_code", None) in (pdfium_c.FPDF_ERR_PASSWORD, pdfium_c.FPDF_ERR_SECURITY):
                raise DocumentError(f"{name} is encrypted with a password. Save a copy without the password "
                                    "(print it to PDF, or remove the protection in a PDF tool) and add that."
                                    ) from None
            raise DocumentError(f"{name} is a damaged PDF that cannot be opened ({exc}). Export or download it "
                                "again.") from None
    try:
        with PDFIUM:
            count, producer = len(document), document.get_metadata_dict().get("Producer", "")
        pages, key, tables = [], None, _Tables(data)
        for number in range(count):
            with PDFIUM:
                page = document[number]
                lines = _lines(page)
                scanned = not lines and _has_images(page)
                drawn = bool(lines) and _has_paths(page)
                page.close()
            if drawn:  # ruled tables are drawn with lines: their rows are read whole, under their header
                lines = tables.rows(number, lines)
            if scanned and ocr.available():
                key = key or hashlib.sha256(data).hexdigest()
                lines = _ocr_lines(document, number, key)
            elif scanned:
                log.warning("%s: page %d has no text layer and OCR is not available (%s)", name, number + 1,
                            ocr.HOW_TO_ENABLE)
            pages.append(lines)
            if progress:
                progress(number + 1, count)
        return pages, producer
    finally:
        tables.close()
        with PDFIUM:
            document.close()


def _has_images(page) -> bool:
    return next(page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=2), None) is not None


def _has_paths(page) -> bool:
    return next(page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_PATH], max_depth=2), None) is not None


class _Tables:
    """The ruled tables of a PDF's pages, found by pdfplumber's table finder (opened at the first page that
    draws lines), each row turned into a line that names its columns."""

    def __init__(self, data: bytes):
        self.data, self._document = data, None

    def rows(self, number: int, lines: list[Line]) -> list[Line]:
        """The page's lines, those inside a table replaced by one line a row ("Quarter: Q3 | Revenue: 4.2 M")."""
        import pdfplumber

        if self._document is None:
            self._document = pdfplumber.open(io.BytesIO(self.data))
        page = self._document.pages[number]
        try:
            found = page.find_tables()
        except Exception as exc:  # noqa: BLE001 - a table the finder cannot read stays as the text lines it is
            log.warning("page %d: tables not read (%s)", number + 1, exc)
            return lines
        height = page.height
        for table_number, table in enumerate(found, 1):
            x0, top, x1, bottom = table.bbox
            inside = [i for i, line in enumerate(lines)
                      if x0 - 2 <= line.left and line.right <= x1 + 2 and height - bottom - 2 <= line.bottom <= height - top + 2]
            cells = [[" ".join((cell or "").split()) for cell in row] for row in table.extract()]
            if not inside or len(cells) < 2 or not _is_table(cells):
                continue
            size = statistics.median(lines[i].size for i in inside)
            rows = [_row_line(text, row, table_number, size, height)
                    for text, row in zip(table_text(cells).split("\n"), _filled(table.rows, cells))]
            first = inside[0]
            kept = [line for i, line in enumerate(lines) if i not in set(inside)]
            lines = kept[:first] + rows + kept[first:]
        return lines

    def close(self) -> None:
        if self._document is not None:
            self._document.close()


def _is_table(cells: list[list[str]]) -> bool:
    """Whether a ruled box holds a table: text in two columns or more, not lines of code. Documentation pages
    draw code in bordered, shaded boxes that the table finder takes for tables."""
    columns = {j for row in cells for j, cell in enumerate(row) if cell}
    filled = [cell for row in cells for cell in row if cell]
    code = sum(is_code(cell, 0, len(cell)) for cell in filled)
    return len(columns) >= 2 and code * 2 < len(filled)


def _filled(rows, cells: list[list[str]]) -> list[list[tuple[float, float, float, float]]]:
    """The boxes of each row's non-empty cells (pdfplumber's top-down coordinates), as table_text keeps them."""
    found = []
    for row, texts in zip(rows, cells):
        if any(texts):
            found.append([box for box, text in zip(row.cells, texts) if box and text] or [row.bbox])
    return found


def _row_line(text: str, cells: list[tuple[float, float, float, float]], table: int, size: float,
              height: float) -> Line:
    """A table row as a line; each character's box is the box of the cell it comes from."""
    pieces = text.split(" | ")
    if len(pieces) != len(cells):
        pieces, cells = [text], [(min(c[0] for c in cells), min(c[1] for c in cells), max(c[2] for c in cells),
                                  max(c[3] for c in cells))]
    boxes: list = []
    for piece, (x0, top, x1, bottom) in zip(pieces, cells):
        boxes += [None] * 3 if boxes else []
        boxes += [(x0, height - bottom, x1, height - top)] * len(piece)
    left, right = min(c[0] for c in cells), max(c[2] for c in cells)
    return Line(text, left, right, height - max(c[3] for c in cells) + 0.2 * size, size, boxes=tuple(boxes),
                table=table)


def _ocr_file(key: str, number: int) -> Path:
    from index.e5_convert import cache_dir

    return cache_dir() / "ocr" / f"{key[:40]}-{number}.json"


def _remember(key: str, number: int, lines: list[Line]) -> None:
    with _ocr_lock:
        _ocr_cache[(key, number)] = lines
        while len(_ocr_cache) > _OCR_PAGES:
            _ocr_cache.popitem(last=False)


def _ocr_lines(document, number: int, key: str) -> list[Line]:
    """The lines OCR reads on a page, with each character's box in PDF points. Kept in memory and in the app's
    cache folder (RAG_MODEL_CACHE/ocr, by the file's digest), so that a page is read by OCR once, not again when
    its citation is opened after a restart."""
    with _ocr_lock:
        if (key, number) in _ocr_cache:
            _ocr_cache.move_to_end((key, number))
            return _ocr_cache[(key, number)]
    saved = _ocr_file(key, number)
    try:
        lines = [Line(**{**item, "boxes": tuple(tuple(b) if b else None for b in item["boxes"])})
                 for item in json.loads(saved.read_text(encoding="utf-8"))]
    except (OSError, ValueError, TypeError, KeyError):
        pass
    else:
        _remember(key, number, lines)
        return lines
    scale = ocr.DPI / 72
    with PDFIUM:
        page = document[number]
        left, _, _, top = page.get_cropbox()
        image = page.render(scale=scale, grayscale=True).to_pil()
        page.close()
    found = ocr.read(image)
    # A line's font size: the median height of the page's lines of about its height, so that body lines with and
    # without descenders share one size and a heading keeps its own
    heights = [max(w.bottom for w in line.words) - min(w.top for w in line.words) for line in found]
    sizes = [statistics.median(h for h in heights if abs(h - height) <= 0.25 * height) / scale for height in heights]
    lines = []
    for line, size in zip(found, sizes):
        text, boxes = "", []
        for word in line.words:
            piece = clean(word.text)
            if text:
                text += " "
                boxes.append(None)
            text += piece
            boxes += [(left + word.left / scale, top - word.bottom / scale, left + word.right / scale,
                       top - word.top / scale)] * len(piece)
        if text.strip():
            lines.append(Line(text, left + line.words[0].left / scale, left + line.words[-1].right / scale,
                              top - line.baseline / scale, size, boxes=tuple(boxes)))
    _remember(key, number, lines)
    try:
        saved.parent.mkdir(parents=True, exist_ok=True)
        partial = saved.with_suffix(f".{os.getpid()}.partial")
        partial.write_text(json.dumps([asdict(line) for line in lines]), encoding="utf-8")
        os.replace(partial, saved)
    except OSError as exc:  # a read-only cache: the page is read again next time
        log.warning("OCR of page %d not kept in %s: %s", number + 1, saved.parent, exc)
    return lines


def assemble(pages: list[list[Line]], hyphenates: bool = True) -> Extracted:
    """The text of the pages' lines: running headers and footers dropped, paragraphs joined. hyphenates:
    whether the PDF's maker breaks words at line ends with hyphens of its own, which are then removed."""
    pages = _drop_running_lines(pages)
    pitches = _pitches(pages)
    hyphens = _Hyphens(hyphenates, frozenset(
        w.lower() for page in pages for line in page for w in re.findall(r"\w+(?:-\w+)+|\w+", line.text)))
    text, starts, previous = "", [], []
    for page in pages:
        start = None
        for number, body in enumerate(_paragraphs(page, pitches, hyphens)):
            if number == 0 and previous and _runs_on(previous, page[0]):
                text = _join(text, body, hyphens)
                start = len(text) - len(body)
                continue
            text += "\n\n" if text else ""
            start = len(text) if start is None else start
            text += body
        starts.append(len(text) if start is None else start)
        previous = page or previous
    return Extracted(text.replace(_HYPHEN, "-"), "pdf", tuple(starts))


def _lines(page) -> list[Line]:
    """The page's text lines in reading order, each with its box (from its first and last character)."""
    textpage = page.get_textpage()
    try:
        text = textpage.get_text_range()
        lines, start, index = [], 0, 0
        # PDFium counts a character outside the BMP as two; walk its indices beside the string's.
        indices = []
        for char in text:
            indices.append(index)
            index += 2 if ord(char) > 0xFFFF else 1
        indices.append(index)
        # PDFium ends a line at a line break, or at the hyphen of a word it rejoined (kept as a mark here)
        for match in re.finditer(r"\r\n|\n|\r|\ufffe", text + "\n"):
            segment = text[start:match.start()]
            first = len(segment) - len(segment.lstrip())
            last = len(segment.rstrip())
            if last > first:
                left, bottom, _, top = textpage.get_charbox(indices[start + first], loose=True)
                right = textpage.get_charbox(indices[start + last - 1], loose=True)[2]
                mark = _HYPHEN if match.group() == _HYPHEN else ""
                line = clean(segment).strip()
                ours = indices[start + first:start + last]
                if len(line) != len(ours):  # cleaning changed its length (ﬁ → fi): spread the indices
                    ours = [ours[k * len(ours) // len(line)] for k in range(len(line))]
                lines.append(Line(line + mark, left, right, bottom, top - bottom,
                                  tuple(ours) + ((indices[match.start()],) if mark else ())))
            start = match.end()
        return lines
    finally:
        textpage.close()


def _key(text: str) -> str:
    return re.sub(r"\d+", "#", " ".join(text.lower().split()))


def _edges(page: list[Line], depth: int) -> list[Line]:
    """The lines nearest the top and the bottom of the page, where running headers and footers sit."""
    by_height = sorted(page, key=lambda line: line.bottom)
    return by_height[:depth] + by_height[-depth:] if len(by_height) > 2 * depth else by_height


def _is_running(line: Line, outermost: bool, repeated: set[str]) -> bool:
    if _key(line.text) in repeated:
        return True
    return outermost and any(pattern.match(line.text) for pattern in (_PAGE_NUMBER, _BROWSER_HEADER, _BROWSER_FOOTER))


def _drop_running_lines(pages: list[list[Line]]) -> list[list[Line]]:
    """Drops running headers and footers: lines near the top or bottom that repeat (digits aside) on
    most pages, and the outermost lines when they are page numbers or a browser's print header or footer."""
    counts = Counter(key for page in pages for key in {_key(line.text) for line in _edges(page, 3)})
    repeated = {key for key, n in counts.items() if n >= 2 and n >= len(pages) / 2}
    kept = []
    for page in pages:
        near = {id(line) for line in _edges(page, 2)}
        outermost = {id(line) for line in _edges(page, 1)}
        kept.append([line for line in page
                     if id(line) not in near or not _is_running(line, id(line) in outermost, repeated)])
    return kept


def _pitches(pages: list[list[Line]]) -> dict[int, float]:
    """The usual distance between baselines of consecutive lines, per font size (rounded to a point)."""
    gaps: dict[int, list[float]] = {}
    for page in pages:
        for above, below in zip(page, page[1:]):
            gap = above.bottom - below.bottom
            if not above.table and not below.table and abs(above.size - below.size) < 0.1 * above.size and 0 < gap < 3 * above.size:
                gaps.setdefault(round(above.size), []).append(gap)
    return {size: statistics.median(values) for size, values in gaps.items()}


def _is_short(line: Line, page: list[Line]) -> bool:
    """Whether the line stops well before the width of the page's (or its column's) full lines."""
    widths = sorted(other.right - other.left for other in page)
    return line.right - line.left < 0.75 * widths[int(0.9 * (len(widths) - 1))]


def _paragraphs(page: list[Line], pitches: dict[int, float], hyphens: _Hyphens) -> list[str]:
    """Joins a page's lines into paragraphs, which break at vertical gaps, font size changes, and after
    a sentence's end at an indent or a short line; pieces of one row are joined with " | "."""
    if not page:
        return []
    paragraphs = [page[0].text]
    for above, below in zip(page, page[1:]):
        if above.table or below.table:  # a table's rows are lines of one paragraph of their own
            if above.table == below.table:
                paragraphs[-1] += "\n" + below.text
            else:
                paragraphs.append(below.text)
            continue
        gap = above.bottom - below.bottom
        pitch = pitches.get(round(above.size), 1.2 * above.size)
        ends_sentence = bool(_SENTENCE_END.search(above.text))
        if abs(gap) < 0.3 * above.size and below.left > above.right:
            paragraphs[-1] += (" | " if below.left - above.right > above.size else " ") + below.text
        elif (abs(above.size - below.size) > 0.15 * above.size or gap <= 0 or gap > 1.3 * pitch
              or (ends_sentence and (_is_short(above, page) or below.left > above.left + above.size))):
            paragraphs.append(below.text)
        else:
            paragraphs[-1] = _join(paragraphs[-1], below.text, hyphens)
    return paragraphs


def _runs_on(page: list[Line], first: Line) -> bool:
    """Whether the page's last paragraph reads on into the next page's first line: its last line ends no
    sentence, fills the line (a heading does not) and is set in the same size."""
    last = page[-1]
    return (not last.table and not first.table and not _SENTENCE_END.search(last.text) and abs(last.size - first.size) <= 0.15 * last.size
            and not _is_short(last, page))


def _join(text: str, line: str, hyphens: _Hyphens) -> str:
    """Adds a line to its paragraph with a space, or none after a hyphen. A word hyphenated before a
    lowercase letter is rejoined (infor-mation) unless the hyphen is the document's own (well-known);
    before a capital or a digit the hyphen stays (Marlow-Heights, 2024-2025)."""
    head = re.search(r"(\w+)(\ufffe|(?<=\w)-)$", text[-100:])
    if not head:
        return f"{text} {line}" if text else line
    tail = re.match(r"[^\W\d_]+", line)
    hyphen = "" if tail and line[0].islower() and not hyphens.keep(head.group(1), tail.group()) else "-"
    return text[:-1] + hyphen + line
