"""Document formats on real files: PDFs printed by Chromium, Word files by python-docx, HTML pages."""
import bisect
import io
import re
import zipfile

import pytest
from pypdf import PdfReader

from app.errors import DocumentError
from index.formats import SUPPORTED_SUFFIXES, Extracted, extract, is_supported, pdf
from tests.documents import (make_docx, make_encrypted_pdf, make_pdf, make_scanned_pdf, make_zip_bomb_docx,
                             multipage_html, page_html)

TITLE = "Q3 operations, harbour district"
PAGE_1 = [
    "# Harbour Water Quarterly",
    "The harbour district takes its water from the Coldbrook works, which treated 14.3 million cubic metres "
    "in the third quarter.",
    "Crews inspected every hydrant on the seafront before the summer festival, and replaced nine of them.",
]
PAGE_2 = [
    "## Supply",
    "Lake Merrow stayed above half of its capacity for the whole quarter, although the summer was dry.",
]
ANSWER = "The reservoir at Lake Merrow held 61 percent of its capacity on 29 September."
PAGE_3 = ["## Reservoir levels", f"Levels fell through August. {ANSWER} Rain in October refilled it."]
# Long sentences in long paragraphs, so that page breaks fall inside sentences.
FLOW = [" ".join(f"In week {n} the crews at pumping station {n} flushed {n * 7} hydrants along the northern mains "
                 f"and logged every reading in the quarterly register, which the board reviews at its meeting "
                 f"in the old town hall on the first Monday after the end of quarter {n % 4 + 1}."
                 for n in range(first, first + 5)) for first in range(1, 41, 5)]


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> bytes:
    html = multipage_html(["\n\n".join(PAGE_1), "\n\n".join(PAGE_2), "\n\n".join(PAGE_3), "\n\n".join(FLOW)],
                          title=TITLE)
    return make_pdf(html, tmp_path_factory.mktemp("pdf") / "report.pdf", header_footer=True).read_bytes()


@pytest.fixture(scope="module")
def report_text(report) -> Extracted:
    return extract("reports/q3.pdf", report)


def page_of(extracted: Extracted, offset: int) -> int:
    return bisect.bisect_right(extracted.pages, offset)


def test_pdf_pages_map_offsets_to_the_page_that_holds_them(report, report_text):
    pages = report_text.pages
    assert report_text.kind == "pdf"
    assert len(pages) == len(PdfReader(io.BytesIO(report)).pages) >= 5
    assert pages[0] == 0 and list(pages) == sorted(pages)
    assert page_of(report_text, report_text.text.index(ANSWER)) == 3
    assert report_text.text[pages[1]:pages[2]] == "Supply\n\n" + PAGE_2[1] + "\n\n"
    assert report_text.text[pages[2]:pages[3]] == "Reservoir levels\n\n" + PAGE_3[1] + "\n\n"


def test_pdf_paragraphs_come_out_whole_and_separated_by_blank_lines(report_text):
    text = report_text.text
    assert text[:report_text.pages[1]].split("\n\n")[:3] == ["Harbour Water Quarterly", PAGE_1[1], PAGE_1[2]]
    assert text[report_text.pages[3]:].split("\n\n") == FLOW


def test_pdf_sentences_cut_by_a_page_break_stay_whole(report_text):
    text = report_text.text
    breaks = report_text.pages[4:]  # the flowing pages break inside sentences, joined across by a space
    assert breaks and all(text[start - 1] == " " and text[start - 2] not in ".!?" for start in breaks)
    assert text[report_text.pages[3]:].split("\n\n") == FLOW


def test_pdf_running_headers_footers_and_page_numbers_are_dropped(report_text):
    text = report_text.text
    assert "operations" not in text
    assert "file://" not in text and ".html" not in text
    assert not re.search(r"\b\d+/\d+\b", text)  # neither the footer's 3/6 nor the header's date
    assert not re.search(r"\d:\d\d [AP]M", text)
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f\ufffe\ufffd]", text)


def test_pdf_report_paragraphs_come_out_as_written():
    """The 5-page report of eval/documents: its page 1 ends inside a sentence, its page 2 with a heading."""
    from scripts.make_eval_documents import REPORT, ROOT

    extracted = extract("water_report_2025.pdf", (ROOT / "eval/documents/water_report_2025.pdf").read_bytes())
    paragraphs = extracted.text.split("\n\n")
    written = [" ".join(p.lstrip("# ").split()) for p in REPORT.split("\n\n") if p.strip() != "[[TABLE]]"]
    assert [p for p in paragraphs if p in written] == written
    pages = extracted.pages
    assert len(pages) == 5
    assert extracted.text[pages[1] - 18:pages[1] + 12] == "city used 188,900 cubic metres"
    assert extracted.text[:pages[2]].endswith("of the year.\n\nThe network\n\n")


def test_pdf_line_end_hyphens_of_a_browser_print_are_kept(tmp_path):
    """Browsers never hyphenate words themselves, so a hyphen at a line's end is the text's own."""
    body = "<p>The Marlow-<br>Heights mains, a well-<br>known fault, were relaid in 2024-<br>2025.</p>"
    data = make_pdf(page_html(body), tmp_path / "lines.pdf", header_footer=False).read_bytes()
    assert extract("lines.pdf", data).text == "The Marlow-Heights mains, a well-known fault, were relaid in 2024-2025."


def test_pdf_words_hyphenated_by_their_typesetter_are_rejoined():
    """Synthetic lines as TeX would set them: its hyphens go, the document's own (well-known) stay."""
    lines = ["The census gathers infor-", "mation on every house-", "hold and its well-", "known routine, a",
             "well-known duty of the office."]
    page = [pdf.Line(text, 72, 520 if n < 4 else 300, 700 - 14 * n, 12) for n, text in enumerate(lines)]
    assert pdf.assemble([page]) == Extracted("The census gathers information on every household and its "
                                             "well-known routine, a well-known duty of the office.", "pdf", (0,))


def report_path(report: bytes, tmp_path):
    path = tmp_path / "plain.pdf"
    path.write_bytes(report)
    return path


def test_pdf_that_opens_with_an_empty_password_is_read(report, report_text, tmp_path):
    protected = make_encrypted_pdf(tmp_path / "protected.pdf", report_path(report, tmp_path), user_password="")
    assert extract("protected.pdf", protected.read_bytes()) == report_text


@pytest.mark.parametrize("make, message", [
    (lambda report, tmp: make_encrypted_pdf(tmp / "secret.pdf", report_path(report, tmp)).read_bytes(),
     "secret.pdf is encrypted with a password. Save a copy without the password"),
    (lambda report, tmp: make_scanned_pdf(tmp / "secret.pdf").read_bytes(),
     "secret.pdf has no text layer"),
    (lambda report, tmp: report[:len(report) // 2],
     "secret.pdf is a damaged PDF that cannot be opened"),
    (lambda report, tmp: b"PK\x03\x04 this is a zip archive, not a PDF",
     "secret.pdf is not a PDF"),
], ids=["encrypted", "scanned", "truncated", "not-a-pdf"])
def test_unreadable_pdfs_are_named_with_what_to_do(report, tmp_path, make, message):
    with pytest.raises(DocumentError, match=message):
        extract("secret.pdf", make(report, tmp_path))


ARTICLE_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Ferry back | Post</title>
<style>body { font-family: Georgia } .menu li { display: inline }</style>
<script>var adSlots = ['top']; function loadAds() { console.log('ads loaded') }</script></head><body>
<div id="cookie-banner" class="cookie-consent">We use cookies to personalise ads. <button>Accept all</button></div>
<header><div class="logo">Averill Post</div><nav><ul class="menu"><li><a href="/news">News</a></li>
<li><a href="/sport">Sport</a></li><li><a href="/weather">Weather forecast</a></li></ul></nav></header>
<aside class="sidebar"><h3>Most read</h3><ul><li><a href="/a">Lottery winner claims prize</a></li></ul></aside>
<main><article>
<h1>Harbour ferry returns after its refit</h1>
<p>The harbour ferry Marigold returned to service on Monday after a six-month refit that cost 2.3 million
dollars. The first crossing left the Quay Street pier at 6:40 with 112 passengers on board.</p>
<h2>New timetable</h2>
<p>From 1 March the ferry runs every 20 minutes at peak times, instead of every 30 minutes, and the last
crossing on weekdays moves from 22:10 to 23:30.</p>
<p>Season tickets bought before the refit stay valid until the end of June, the operator said on Monday.</p>
</article></main>
<footer><p>Averill Post, 12 Harbour Street. All rights reserved.</p><a href="/privacy">Privacy</a></footer>
<script>loadAds(); document.getElementById('cookie-banner').hidden = false;</script>
</body></html>"""


def test_html_keeps_the_article_with_headings_and_drops_page_furniture():
    extracted = extract("news/ferry.html", ARTICLE_PAGE.encode())
    assert extracted == Extracted(
        "Harbour ferry returns after its refit\n\n"
        "The harbour ferry Marigold returned to service on Monday after a six-month refit that cost 2.3 million "
        "dollars. The first crossing left the Quay Street pier at 6:40 with 112 passengers on board.\n\n"
        "New timetable\n\n"
        "From 1 March the ferry runs every 20 minutes at peak times, instead of every 30 minutes, and the last "
        "crossing on weekdays moves from 22:10 to 23:30.\n\n"
        "Season tickets bought before the refit stay valid until the end of June, the operator said on Monday.",
        "html")


def test_html_short_page_keeps_its_main_region_with_lists_and_tables():
    page = ("<html><head><meta charset='windows-1250'><title>Program</title></head><body>"
            "<nav><a href='/'>Acasă</a> <a href='/despre'>Despre noi</a></nav><main><h1>Program de lucru</h1>"
            "<p>Biblioteca din Valea Albă e deschisă şi sâmbăta.</p><ul><li>luni–vineri: 8–20</li>"
            "<li>sâmbătă: 9–14</li></ul><table><tr><th>Filiala</th><th>Telefon</th></tr>"
            "<tr><td>Nord</td><td>0231 555 010</td></tr></table></main>"
            "<footer>© Biblioteca Municipală</footer></body></html>")
    extracted = extract("program.htm", page.encode("cp1250"))
    assert extracted.text == ("Program de lucru\n\nBiblioteca din Valea Albă e deschisă şi sâmbăta.\n\n"
                              "- luni–vineri: 8–20\n- sâmbătă: 9–14\n\nFiliala | Telefon\nFiliala: Nord | Telefon: 0231 555 010")


LIBRARY = [
    ("h1", "Raport de activitate 2024"),
    "Biblioteca a avut 12.870 de cititori activi, dintre care 4.150 de copii.",
    ("h2", "Programe pentru tineri"),
    "Pentru adolescenți am organizat:",
    ("list", ["atelierul de programare „Cod și cafea”;", "clubul de șah."]),
    ("table", [("Secția", "Cititori", "Împrumuturi"), ("Sediul central", "6.940", "55.210"),
               ("Filiala Nord", "3.010", "22.480")]),
    "Filiala Podgoria s-a redeschis pe 15 octombrie 2024, după renovare.",
]


def test_docx_keeps_headings_paragraphs_lists_and_tables_in_reading_order(tmp_path):
    data = make_docx(tmp_path / "raport.docx", LIBRARY).read_bytes()
    assert extract("rapoarte/raport.docx", data) == Extracted(
        "Raport de activitate 2024\n\n"
        "Biblioteca a avut 12.870 de cititori activi, dintre care 4.150 de copii.\n\n"
        "Programe pentru tineri\n\n"
        "Pentru adolescenți am organizat:\n\n"
        "- atelierul de programare „Cod și cafea”;\n- clubul de șah.\n\n"
        "Secția | Cititori | Împrumuturi\nSecția: Sediul central | Cititori: 6.940 | Împrumuturi: 55.210\n"
        "Secția: Filiala Nord | Cititori: 3.010 | Împrumuturi: 22.480\n\n"
        "Filiala Podgoria s-a redeschis pe 15 octombrie 2024, după renovare.",
        "docx")


def test_docx_zip_bomb_is_refused_before_it_is_unpacked(tmp_path):
    bomb = make_zip_bomb_docx(tmp_path / "bomb.docx")
    assert bomb.stat().st_size < 1_000_000
    with pytest.raises(DocumentError, match=r"bomb.docx would unpack to 315 MB.*looks like a zip bomb"):
        extract("bomb.docx", bomb.read_bytes())


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.parametrize("name, data, message", [
    ("sheet.xlsx", b"PK", r"sheet.xlsx: .xlsx cannot be read; supported types are "
                          r"\.pdf, \.docx, \.html, \.htm, \.md, \.txt\. Convert it"),
    ("README", b"text", "README: files without a suffix cannot be read"),
    ("empty.pdf", b"", r"empty.pdf is empty \(0 bytes\)"),
    ("blank.md", b" \n\t\n", "blank.md has no text to index"),
    ("letter.docx", "Dragă Ioana, mulțumim.".encode(), "letter.docx is not a Word document .a .docx file is a zip"),
    ("letter.docx", zip_bytes({"content.xml": b"<x/>"}), "letter.docx is not a Word document .the archive holds "
                                                        "no word/document.xml"),
    ("letter.docx", zip_bytes({"word/document.xml": b"<w:document"}), "letter.docx is a damaged Word document"),
    ("notes.txt", "café au lait".encode("latin-1"),
     r"notes.txt is not a UTF-8 text file \(byte 3: invalid continuation"),
    ("notes.txt", "notes".encode("utf-16"), r"notes.txt is not a UTF-8 text file \(byte 3: NUL byte\)"),
    ("page.html", "<p>café</p>".encode("latin-1"), "page.html is not a UTF-8 text file"),
], ids=["unsupported", "no-suffix", "empty", "blank", "docx-not-zip", "docx-no-document", "docx-damaged", "latin-1-txt",
        "utf-16-txt", "latin-1-html"])
def test_unreadable_files_are_named_with_what_to_do(name, data, message):
    with pytest.raises(DocumentError, match=message):
        extract(name, data)


def test_text_and_markdown_are_cleaned_but_kept_as_written():
    data = "\ufeffTitlu\r\n\r\nS\u0327ir de\x07 caractere\u200b,\ttab ﬁnal\n".encode()
    assert extract("a.txt", data) == Extracted("Titlu\n\nŞir de caractere,\ttab final\n", "text")
    assert extract("b.MD", "# Titlu\n\nS\u0327ir".encode()) == Extracted("# Titlu\n\nŞir", "markdown")


def test_supported_suffixes_ignore_case():
    assert SUPPORTED_SUFFIXES == (".pdf", ".docx", ".html", ".htm", ".md", ".txt")
    assert is_supported("Report.PDF") and is_supported("a/b/page.htm")
    assert not is_supported("notes.doc") and not is_supported("README")
