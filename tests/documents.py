"""Makes real documents for tests: PDFs printed by Chromium, DOCX files by python-docx, and broken ones."""
import html
import io
import shutil
import subprocess
import tempfile
import zipfile
import zlib
from pathlib import Path

from docx import Document as WordDocument
from PIL import Image, ImageDraw
from pypdf import PdfReader, PdfWriter

_CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                   "--disable-component-update", "--no-first-run")


def make_pdf(html_text: str, out: Path, header_footer: bool = True) -> Path:
    """Prints the page with Chromium; with header_footer it adds its date/title header and URL/page footer."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise RuntimeError("Printing test PDFs needs Chromium: apt-get install chromium")
    out = Path(out).resolve()
    with tempfile.TemporaryDirectory(prefix="print-pdf-") as tmp:
        page = Path(tmp) / "page.html"
        page.write_text(html_text, encoding="utf-8")
        flags = [*_CHROMIUM_FLAGS, f"--user-data-dir={tmp}/profile", f"--print-to-pdf={out}"]
        if not header_footer:
            flags.append("--no-pdf-header-footer")
        out.unlink(missing_ok=True)
        run = subprocess.run([chromium, *flags, page.as_uri()], capture_output=True, text=True, timeout=120)
    if run.returncode != 0 or not out.exists():
        raise RuntimeError(f"Chromium did not print {out} (exit {run.returncode}): {run.stderr[-2000:]}")
    return out


def page_html(body: str, title: str = "Report") -> str:
    """A printable page: the body in a plain serif font with paragraph spacing, as a report would look."""
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            "<style>@page{margin:2.2cm 2cm} body{font:12pt/1.5 serif;margin:0} p{margin:0 0 .8em} "
            "h1,h2{margin:.6em 0 .4em} .page{break-after:page}</style></head><body>" + body + "</body></html>")


def paragraphs_html(text: str) -> str:
    """Blank-line-separated paragraphs as HTML; one starting with '# ' or '## ' is a heading."""
    blocks = []
    for paragraph in (p.strip() for p in text.split("\n\n")):
        level = len(paragraph) - len(paragraph.lstrip("#"))
        if level and paragraph[level:level + 1] == " ":
            blocks.append(f"<h{level}>{html.escape(paragraph[level + 1:])}</h{level}>")
        elif paragraph:
            blocks.append(f"<p>{html.escape(paragraph)}</p>")
    return "".join(blocks)


def multipage_html(pages: list[str], title: str = "Report") -> str:
    """Each entry's paragraphs (blank-line-separated text, '# ' headings) on a printed page of its own."""
    sections = [f"<section class='page'>{paragraphs_html(text)}</section>" for text in pages[:-1]]
    sections += [f"<section>{paragraphs_html(text)}</section>" for text in pages[-1:]]
    return page_html("".join(sections), title)


def make_docx(out: Path, blocks: list) -> Path:
    """A Word file from blocks: a string is a paragraph; ("h1"|"h2", text), ("p", text),
    ("list"|"numbered", [items]) and ("table", [[cell, …], …]) with the first row as header."""
    document = WordDocument()
    for block in blocks:
        kind, content = ("p", block) if isinstance(block, str) else block
        if kind in ("h1", "h2", "h3"):
            document.add_heading(content, level=int(kind[1]))
        elif kind == "p":
            document.add_paragraph(content)
        elif kind in ("list", "numbered"):
            for item in content:
                document.add_paragraph(item, style="List Bullet" if kind == "list" else "List Number")
        elif kind == "table":
            table = document.add_table(rows=len(content), cols=len(content[0]))
            table.style = "Table Grid"
            for row, cells in zip(table.rows, content):
                for cell, value in zip(row.cells, cells):
                    cell.text = value
        else:
            raise ValueError(f"unknown block kind {kind!r}")
    document.save(out)
    return Path(out)


def make_scanned_pdf(out: Path) -> Path:
    """An image-only PDF, as a scanner makes: a page picture of dark text-like bars and no text layer."""
    page = Image.new("L", (1240, 1754), 255)  # A4 at 150 dpi
    draw = ImageDraw.Draw(page)
    for line in range(30):
        y = 150 + line * 44
        draw.rectangle((120, y, 1120 - (line * 37) % 300, y + 18), fill=40)
    page.save(out, "PDF", resolution=150)
    return Path(out)


def make_scanned_copy(source: Path, out: Path, dpi: int = 150, pages: list[int] | None = None,
                      degrade: bool = False) -> Path:
    """The PDF as a scanner would give it back: each page (or only those in pages, 0-based) drawn to a greyscale
    image at dpi and stored as a picture with no text layer; the other pages keep their text. With degrade, the
    pictures are a little rotated, noisy and JPEG-compressed, as real scans are."""
    import random

    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(str(source))
    writer = PdfWriter()
    reader = PdfReader(source)
    rng = random.Random(7)
    try:
        for number in range(len(document)):
            if pages is not None and number not in pages:
                writer.add_page(reader.pages[number])
                continue
            image = document[number].render(scale=dpi / 72, grayscale=True).to_pil().convert("L")
            if degrade:
                image = image.rotate(0.6, resample=Image.BICUBIC, fillcolor=255)
                noise = Image.effect_noise(image.size, 18)
                image = Image.blend(image, noise, 0.12)
            buffer = io.BytesIO()
            image.save(buffer, "PDF", resolution=dpi, **({"quality": 60} if degrade else {}))
            if degrade:  # the picture as a JPEG, as scanners store it
                jpeg = io.BytesIO()
                image.save(jpeg, "JPEG", quality=60 + rng.randrange(10))
                buffer = io.BytesIO()
                Image.open(jpeg).save(buffer, "PDF", resolution=dpi)
            writer.add_page(PdfReader(buffer).pages[0])
    finally:
        document.close()
    with open(out, "wb") as file:
        writer.write(file)
    return Path(out)


def make_encrypted_pdf(out: Path, source: Path | None = None, user_password: str = "secret") -> Path:
    """A PDF (source, or a one-page printed one) encrypted with AES-256; with user_password="" it
    opens without a password, as many protected PDFs do."""
    if source is None:
        source = make_pdf(page_html("<p>This report is confidential.</p>"), Path(out).with_suffix(".plain.pdf"))
    writer = PdfWriter(clone_from=PdfReader(source))
    writer.encrypt(user_password=user_password, owner_password="owner-secret", algorithm="AES-256")
    with open(out, "wb") as file:
        writer.write(file)
    return Path(out)


def make_zip_bomb_docx(out: Path, size: int = 300 * 2**20) -> Path:
    """A real .docx whose word/document.xml is padded to `size` bytes of spaces, compressed to a few
    hundred kilobytes; streamed, so the padding never exists whole in memory or on disk."""
    buffer, document = io.BytesIO(), WordDocument()
    document.add_paragraph("A small document with a very large body.")
    document.save(buffer)
    with zipfile.ZipFile(buffer) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bomb:
        for item in source.infolist():
            data = source.read(item)
            if item.filename != "word/document.xml":
                bomb.writestr(item, data)
                continue
            head, tail = data.split(b"<w:body>")
            info = zipfile.ZipInfo(item.filename, item.date_time)
            info.compress_type = zipfile.ZIP_DEFLATED
            with bomb.open(info, "w", force_zip64=True) as member:
                member.write(head + b"<w:body>")
                block = b" " * 2**20
                for _ in range(size // len(block)):
                    member.write(block)
                member.write(tail)
    return Path(out)


def _raw_pdf(objects: list[bytes], out: Path) -> Path:
    """A PDF of the given objects (numbered from 1; the first is the catalog), with a correct cross-reference
    table, written as it is built."""
    with open(out, "wb") as file:
        file.write(b"%PDF-1.7\n")
        offsets = []
        for number, body in enumerate(objects, 1):
            offsets.append(file.tell())
            file.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
        table = file.tell()
        file.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
        file.write(b"".join(b"%010d 00000 n \n" % offset for offset in offsets))
        file.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, table))
    return Path(out)


def make_flate_bomb_pdf(out: Path, inflated: int = 4 * 2**30) -> Path:
    """A one-page PDF whose content stream is a few MB of Flate that inflates to `inflated` bytes of text-showing
    operators; compressed as it is made, so the inflated stream never exists here."""
    packer, line = zlib.compressobj(9), b"BT /F1 12 Tf 72 720 Td (A line of text that never ends.) Tj ET\n"
    block = line * (2**20 // len(line))
    stream = b"".join(packer.compress(block) for _ in range(inflated // len(block))) + packer.flush()
    return _raw_pdf([b"<< /Type /Catalog /Pages 2 0 R >>",
                     b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                     b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
                     b"/Resources << /Font << /F1 5 0 R >> >> >>",
                     b"<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream" % (len(stream), stream),
                     b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"], out)


def make_many_pages_pdf(out: Path, pages: int = 100_000) -> Path:
    """A PDF of `pages` empty pages."""
    kids = b" ".join(b"%d 0 R" % (3 + i) for i in range(pages))
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>"
    return _raw_pdf([b"<< /Type /Catalog /Pages 2 0 R >>",
                     b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, pages)] + [page] * pages, out)


def make_entity_docx(out: Path, doctype: str, body: str) -> Path:
    """A real .docx whose word/document.xml starts with the given DOCTYPE and holds one paragraph of `body`, which
    may refer to the DOCTYPE's entities ("&lol9;")."""
    buffer, document = io.BytesIO(), WordDocument()
    document.add_paragraph("PLACEHOLDER")
    document.save(buffer)
    with zipfile.ZipFile(buffer) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as crafted:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "word/document.xml":
                declaration, rest = data.split(b"?>", 1)
                data = declaration + b"?>" + doctype.encode() + rest.replace(b"PLACEHOLDER", body.encode())
            crafted.writestr(item, data)
    return Path(out)


def make_billion_laughs_docx(out: Path) -> Path:
    """Ten levels of entities, each ten of the one below: a billion "lol"s if expanded."""
    entities = ['<!ENTITY lol0 "lol">'] + [f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)]
    return make_entity_docx(out, f"<!DOCTYPE w:document [{''.join(entities)}]>", "Laughs: &lol9;")


def make_external_entity_docx(out: Path, target: str = "/etc/passwd") -> Path:
    """An entity that names a file of the server's disk: its text must never reach the index."""
    return make_entity_docx(out, f'<!DOCTYPE w:document [<!ENTITY secret SYSTEM "file://{target}">]>',
                            "The secret is &secret; here.")


def make_deep_html(out: Path, depth: int = 100_000) -> Path:
    """An HTML page of `depth` nested <div>s around one sentence."""
    Path(out).write_text(f"<html><body>{'<div>' * depth}Deep inside the page.{'</div>' * depth}</body></html>",
                         encoding="utf-8")
    return Path(out)
