"""Scanned PDFs read by OCR (Tesseract through tesserocr), on scans made as a scanner would: printed pages drawn to
images and stored with no text layer; and ruled PDF tables read row by row under their header."""
import pytest
from rapidfuzz.distance import Levenshtein

from app.config import Settings
from app.errors import DocumentError
from app.pipeline import Pipeline
from app.ui.chat import as_text
from index.formats import extract, ocr, pdf
from index.text import sentence_spans
from tests.documents import make_pdf, make_scanned_copy, multipage_html, page_html
from tests.test_uploads import PAGES

needs_ocr = pytest.mark.skipif(not ocr.available(), reason=f"OCR needs Tesseract's language data: {ocr.HOW_TO_ENABLE}")

SCANNED_PAGES = [
    "# Raport anual 2025\n\nÎn 2025, rețeaua de apă a orașului a fost extinsă cu 40 de kilometri. Şoseaua "
    "principală a fost închisă timp de două săptămâni, iar lucrările s-au încheiat în august.",
    "# Jahresbericht\n\nDie Kläranlage in der Südstadt wurde größer gebaut; über 3.000 Häuser sind jetzt "
    "angeschlossen. Während des Sommers stieg der Verbrauch stark.",
    "# Pumping stations\n\nThe Marlow pumping station was rebuilt in 2023 after the flood. Its capacity rose to "
    "12,000 cubic metres a day, enough for the whole northern district.",
]


@pytest.fixture(autouse=True)
def ocr_cache(tmp_path, monkeypatch):
    """Each test with empty OCR caches: the memory one, and the folder of pages read before (in tmp_path)."""
    pdf._ocr_cache.clear()
    monkeypatch.setattr(pdf, "_ocr_file", lambda key, number: tmp_path / "ocr" / f"{key[:40]}-{number}.json")
    return tmp_path / "ocr"


@pytest.fixture(scope="module")
def printed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ocr")
    return make_pdf(multipage_html(SCANNED_PAGES, "Annual report"), folder / "printed.pdf", header_footer=False)


def _flat(text: str) -> str:
    return " ".join(text.split())


def _cer(found: str, reference: str) -> float:
    return Levenshtein.distance(_flat(found), _flat(reference)) / len(_flat(reference))


@needs_ocr
@pytest.mark.parametrize("degrade", [False, True], ids=["clean", "degraded"])
def test_a_scanned_pdf_is_read_by_ocr_page_by_page(printed, tmp_path, degrade):
    reference = extract("printed.pdf", printed.read_bytes())
    scan = make_scanned_copy(printed, tmp_path / "scan.pdf", degrade=degrade)
    assert extract("printed.pdf", scan.read_bytes()) != reference  # no text layer of its own
    pdf._ocr_cache.clear()
    seen = []
    found = extract("scan.pdf", scan.read_bytes(), progress=lambda done, total: seen.append((done, total)))
    assert seen == [(1, 3), (2, 3), (3, 3)]
    assert len(found.pages) == 3
    for number in range(3):
        def page(extracted, n=number):
            ends = [*extracted.pages[1:], len(extracted.text)]
            return extracted.text[extracted.pages[n]:ends[n]]
        assert _cer(page(found), page(reference)) < 0.02, page(found)
    for word in ("kilometri", "Şoseaua", "săptămâni", "Kläranlage", "größer", "über", "12,000 cubic metres"):
        assert word in found.text


@needs_ocr
def test_only_the_pages_without_a_text_layer_are_read_by_ocr(printed, tmp_path, monkeypatch):
    scan = make_scanned_copy(printed, tmp_path / "mixed.pdf", pages=[1])
    pdf._ocr_cache.clear()
    calls = []
    real = ocr.read
    monkeypatch.setattr(ocr, "read", lambda image: calls.append(image.size) or real(image))
    found = extract("mixed.pdf", scan.read_bytes())
    assert len(calls) == 1
    assert found.text.index("Kläranlage") > found.pages[1] > found.text.index("kilometri")
    assert found.text.index("Marlow") > found.pages[2]
    pdf._ocr_cache.clear()  # as after a restart: the page is not read by OCR again
    assert extract("mixed.pdf", scan.read_bytes()) == found and len(calls) == 1


def test_without_ocr_a_scanned_pdf_says_how_to_enable_it(printed, tmp_path, monkeypatch):
    monkeypatch.setattr(ocr.ENGINE, "_found", ("", ""))  # as on a machine without Tesseract's language data
    pdf._ocr_cache.clear()
    scan = make_scanned_copy(printed, tmp_path / "scan.pdf")
    with pytest.raises(DocumentError, match=r"scan.pdf has no text layer \(a scanned PDF\?\). To read scanned "
                                            r"pages by OCR, install Tesseract's language data .*apt-get install "
                                            "tesseract-ocr-eng tesseract-ocr-ron tesseract-ocr-deu"):
        extract("scan.pdf", scan.read_bytes())
    mixed = extract("mixed.pdf", make_scanned_copy(printed, tmp_path / "mixed.pdf", pages=[1]).read_bytes())
    assert "kilometri" in mixed.text and "Marlow" in mixed.text and "Kläranlage" not in mixed.text


@needs_ocr
def test_ocr_highlights_lie_where_the_printed_sentences_are(printed, tmp_path):
    """Each sentence's boxes from the OCR's word boxes, against the boxes of the same sentence's characters in
    the printed PDF the scan was made from (same page size, not rotated): every line within 3 points."""
    data = printed.read_bytes()
    scan = make_scanned_copy(printed, tmp_path / "scan.pdf").read_bytes()
    text, placed = pdf.layout("printed.pdf", data)
    scanned_text, scanned_placed = pdf.layout("scan.pdf", scan)
    checked = 0
    for start, end in sentence_spans(text):
        sentence = text[start:end].strip()
        at = scanned_text.find(sentence)
        if len(sentence) < 20 or at < 0:
            continue
        expected = pdf.boxes(data, placed, start, end)
        found = pdf.boxes(scan, scanned_placed, at, at + len(sentence))
        assert len(found) == len(expected), sentence
        for a, b in zip(found, expected):
            assert a.page == b.page
            assert max(abs(a.left - b.left), abs(a.right - b.right), abs(a.top - b.top),
                       abs(a.bottom - b.bottom)) < 3, (sentence, a, b)
        checked += 1
    assert checked >= 4


@needs_ocr
def test_a_scanned_report_answers_with_its_page(docs, tmp_path):
    printed = make_pdf(multipage_html(PAGES, "Eastport water report"), tmp_path / "report.pdf")
    make_scanned_copy(printed, docs / "scanned-report.pdf", degrade=True)
    pipeline = Pipeline(Settings(docs=docs, index_dir=tmp_path / "index"))
    pipeline.index(progress=False)
    answer = pipeline.ask("How many tests did the laboratory run on treated water?").to_dict()
    cited = answer["citations"][0]
    assert "12,480 tests" in answer["answer"]
    assert cited["source"] == "scanned-report.pdf" and cited["page"] == 3
    view = pipeline.sources.view("scanned-report.pdf", 3, [(cited["quote"]["start"], cited["quote"]["end"])])
    assert [h.kind for h in view.highlights] == ["quote"]


def test_a_ruled_pdf_table_row_keeps_its_header_and_answers_from_it(docs, tmp_path):
    table = ("<style>table{border-collapse:collapse} td,th{border:1px solid #444;padding:4px 10px}</style>"
             "<h1>Quarterly results 2025</h1><p>The company reports its revenue and staff by quarter.</p>"
             "<table><tr><th>Quarter</th><th>Revenue</th><th>Staff</th></tr>"
             + "".join(f"<tr><td>{q}</td><td>{r}</td><td>{s}</td></tr>"
                       for q, r, s in [("Q1", "3.1 M", 40), ("Q2", "3.6 M", 42), ("Q3", "4.2 M", 45),
                                       ("Q4", "4.0 M", 47)])
             + "</table><p>Revenue grew in three of the four quarters.</p>")
    printed = make_pdf(page_html(table), docs / "results.pdf")
    extracted = extract("results.pdf", printed.read_bytes())
    assert "Quarter | Revenue | Staff\nQuarter: Q1 | Revenue: 3.1 M | Staff: 40\n" in extracted.text
    assert "Revenue grew in three" in extracted.text.split("Staff: 47")[1]
    pipeline = Pipeline(Settings(docs=docs, index_dir=tmp_path / "index"))
    pipeline.index(progress=False)
    answer = pipeline.ask("What was the Q3 revenue?", sources=["results.pdf"])
    assert not answer.abstained and "Quarter: Q3 | Revenue: 4.2 M" in answer.text
    cited = answer.to_dict()["citations"][0]
    text, placed = pdf.layout("results.pdf", printed.read_bytes())
    row = text.index("Quarter: Q3")
    boxes = pdf.boxes(printed.read_bytes(), placed, row, row + len("Quarter: Q3 | Revenue: 4.2 M | Staff: 45"))
    assert len(boxes) == 1 and cited["page"] == 1  # the row, drawn as one box across its cells


def test_code_in_bordered_boxes_is_read_as_code_not_as_a_table(docs, tmp_path):
    """A page printed from a documentation site: code in shaded, bordered boxes (one with line numbers, which the
    table finder takes for a table of two columns), and a real ruled table."""
    box = "border:1px solid #ac9;background:#eeffcc;padding:2px 6px;font-family:monospace;white-space:pre"
    listing = [">>> while True:", "...     pass  # Busy-wait for keyboard interrupt (Ctrl+C)", "..."]
    page = ("<style>table{border-collapse:collapse} th,td.cell{border:1px solid #444;padding:4px 10px}</style>"
            "<h1>4.5. pass Statements</h1>"
            "<p>The pass statement does nothing. It can be used when a statement is required syntactically but "
            "the program requires no action. For example:</p><table>"
            + "".join(f"<tr><td style='{box};color:#888'>{n}</td><td style='{box}'>{as_text(line)}</td></tr>"
                      for n, line in enumerate(listing, 1))
            + f"</table><p>This is commonly used for creating minimal classes:</p>"
            f"<pre style='{box}'>&gt;&gt;&gt; class MyEmptyClass:\n...     pass\n...</pre>"
            "<p>The table below lists the statements.</p>"
            "<table><tr><th>Statement</th><th>Effect</th></tr>"
            "<tr><td class=cell>pass</td><td class=cell>does nothing</td></tr>"
            "<tr><td class=cell>break</td><td class=cell>leaves the loop</td></tr></table>")
    printed = make_pdf(page_html(page), docs / "tutorial.pdf")
    extracted = extract("tutorial.pdf", printed.read_bytes())
    assert "|" not in extracted.text.split("The table below")[0]  # the boxed code is no table
    assert "1 >>> while True:" in extracted.text
    assert "Statement | Effect\nStatement: pass | Effect: does nothing\nStatement: break | Effect: leaves the loop" \
        in extracted.text  # while the real table keeps its header
    pipeline = Pipeline(Settings(docs=docs, index_dir=tmp_path / "index"))
    pipeline.index(progress=False)
    assert all("| |" not in p.chunk.text for p in pipeline.retriever.search("pass statement", 10))
    answer = pipeline.ask("What does the pass statement do?", sources=["tutorial.pdf"])
    assert not answer.abstained and not answer.text.startswith("|")
    assert answer.text.startswith("The pass statement does nothing.")
    assert all(mark not in quote for c in answer.citations for quote in c.quotes for mark in (">>>", "Busy-wait"))
