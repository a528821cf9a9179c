"""Word (.docx): paragraphs, headings, list items and tables in reading order, read with python-docx."""
import io
import zipfile

import docx
from docx.table import Table

from index.errors import DocumentError
from index.formats import Extracted, join_blocks, table_text

# A .docx is a zip archive: refuse one that would unpack to more than this, or that packs a large member
# unusually tightly (a zip bomb), before anything is decompressed.
MAX_UNPACKED = 200 * 10**6
MAX_RATIO = 200
_RATIO_FROM = 10**6  # members smaller than this cannot hurt whatever their ratio


def extract(name: str, data: bytes) -> Extracted:
    _check_archive(name, data)
    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises whatever its zip and XML layers raise
        raise DocumentError(f"{name} is a damaged Word document that cannot be read ({exc}). Open and save it "
                            "again in Word or LibreOffice.") from None
    blocks, items = [], []
    for block in document.iter_inner_content():
        if not isinstance(block, Table) and _is_list_item(block):
            items += [f"- {block.text}"] if block.text.strip() else []
            continue
        if items:
            blocks.append("\n".join(items))
            items = []
        blocks.append(_table(block) if isinstance(block, Table) else block.text)
    if items:
        blocks.append("\n".join(items))
    return Extracted(join_blocks(blocks), "docx")


def _check_archive(name: str, data: bytes) -> None:
    try:
        members = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except zipfile.BadZipFile:
        raise DocumentError(f"{name} is not a Word document (a .docx file is a zip archive, and this is not "
                            "one). Save it again as .docx (Word 2007 or later), or give it the suffix of its "
                            "real type.") from None
    if "word/document.xml" not in {member.filename for member in members}:
        raise DocumentError(f"{name} is not a Word document (the archive holds no word/document.xml). Save it "
                            "again as .docx, or give it the suffix of its real type.")
    unpacked = sum(member.file_size for member in members)
    ratio = max((m.file_size / max(m.compress_size, 1) for m in members if m.file_size >= _RATIO_FROM), default=0)
    if unpacked > MAX_UNPACKED or ratio > MAX_RATIO:
        raise DocumentError(f"{name} would unpack to {unpacked / 10**6:,.0f} MB, parts of it compressed "
                            f"{ratio:,.0f} times (the limits are {MAX_UNPACKED // 10**6} MB and {MAX_RATIO} times): "
                            "it looks like a zip bomb and was not opened. Save the document again without "
                            "embedded files, or split it.")


def _is_list_item(paragraph) -> bool:
    """A numbered or bulleted paragraph: numbering set on the paragraph or by its style (List Bullet)."""
    style = paragraph.style
    if paragraph._p.pPr is not None and paragraph._p.pPr.numPr is not None:
        return True
    while style is not None:
        if style.element.pPr is not None and style.element.pPr.numPr is not None:
            return True
        style = style.base_style
    return False


def _table(table: Table) -> str:
    """Row by row (formats.table_text), each under its header; a merged cell counts once."""
    rows = []
    for row in table.rows:
        cells, seen = [], []
        for cell in row.cells:
            if not any(cell._tc is element for element in seen):
                seen.append(cell._tc)
                cells.append(_cell_text(cell))
        rows.append(cells)
    return table_text(rows)


def _cell_text(cell) -> str:
    return " ".join(_table(part).replace("\n", " ") if isinstance(part, Table) else part.text
                    for part in cell.iter_inner_content())
