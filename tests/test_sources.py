"""Sources opened at the cited place: highlight boxes checked against the PDF's own characters, text documents
marked, questions limited to chosen documents, and files still being indexed named in the answer."""
import base64
import hashlib
import io
import subprocess
import sys
import threading

import pypdfium2 as pdfium
import pytest
from PIL import Image

from app.config import Settings
from app.errors import DocumentError
from app.pipeline import Pipeline
from index.text import sentence_spans
from tests.conftest import ROOT, SEED, SENTENCE_2004
from tests.documents import make_docx, make_pdf, multipage_html, page_html
from tests.test_uploads import PAGES

REPEATED = "The pumps were checked every week."
TWO_COLUMNS = page_html(
    "<style>.cols{columns:2;column-gap:1.2cm}</style><h1>Harbour survey</h1><div class='cols'>"
    + "".join(f"<p>Section {n} of the survey covers the {place} district, where {count} boats were counted in "
              f"the spring. {REPEATED} The harbour master reported {count + 3} moorings free in May.</p>"
              for n, (place, count) in enumerate([("north", 14), ("east", 22), ("south", 9), ("west", 31),
                                                  ("inner", 40), ("outer", 17)], 1))
    + "</div>", "Harbour survey")


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    """A documents folder with a two-column PDF (running header and footer), a four-page report, a Word file
    and the seed article, indexed."""
    from tests.test_uploads import DOCX_BLOCKS

    folder = tmp_path_factory.mktemp("sources-docs")
    make_pdf(TWO_COLUMNS, folder / "survey.pdf")
    make_pdf(multipage_html(PAGES, "Eastport water report"), folder / "report.pdf")
    make_docx(folder / "raport.docx", DOCX_BLOCKS)
    (folder / SEED.name).write_bytes(SEED.read_bytes())
    pipeline = Pipeline(Settings(docs=folder, index_dir=tmp_path_factory.mktemp("sources-index")))
    pipeline.index(progress=False)
    return pipeline


def boxed_text(data: bytes, boxes) -> str:
    """What the PDF's text layer holds inside the boxes, read back by PDFium."""
    document = pdfium.PdfDocument(data)
    try:
        found = [document[box.page].get_textpage().get_text_bounded(box.left, box.bottom, box.right, box.top)
                 for box in boxes]
    finally:
        document.close()
    return " ".join(" ".join(" ".join(found).split()).replace("- ", "-").split())


@pytest.mark.parametrize("name", ["survey.pdf", "report.pdf"])
def test_the_boxes_of_every_sentence_hold_that_sentence_and_nothing_else(library, name):
    from index.formats import pdf

    data = (library.settings.docs / name).read_bytes()
    text, placed = pdf.layout(name, data)
    sentences = [(s, e) for s, e in sentence_spans(text) if text[s:e].strip()]
    assert len(sentences) >= 8
    for start, end in sentences:
        boxes = pdf.boxes(data, placed, start, end)
        assert boxed_text(data, boxes) == " ".join(text[start:end].split()), text[start:end]


def test_a_sentence_the_page_repeats_is_highlighted_only_where_it_is_cited(library):
    from index.formats import pdf

    data = (library.settings.docs / "survey.pdf").read_bytes()
    text, placed = pdf.layout("survey.pdf", data)
    places = [pdf.boxes(data, placed, at, at + len(REPEATED)) for at in _all(text, REPEATED)]
    assert len(places) == 6
    tops = {tuple(round(box.top) for box in boxes) + tuple(round(box.left) for box in boxes) for boxes in places}
    assert len(tops) == 6  # six different places on the page, one for each occurrence


def _all(text: str, part: str) -> list[int]:
    found, at = [], text.find(part)
    while at >= 0:
        found.append(at)
        at = text.find(part, at + 1)
    return found


def test_a_cited_pdf_sentence_is_drawn_on_its_page(library):
    answer = library.ask("How many tests did the laboratory run on treated water?")
    citation = answer.to_dict()["citations"][0]
    assert citation["source"] == "report.pdf" and citation["page"] == 3
    quote = citation["quote"]
    view = library.sources.view("report.pdf", 3, [(quote["start"], quote["end"])], (citation["start"],
                                                                                     citation["end"]))
    assert view.page == 3 and view.pages == 4
    quoted = [h for h in view.highlights if h.kind == "quote"]
    assert quoted and all(h.kind == "passage" for h in view.highlights[len(quoted):])
    data = view.to_dict()  # what /source returns
    image = Image.open(io.BytesIO(base64.b64decode(data["image"].split(",", 1)[1])))
    assert image.size == (data["width"], data["height"]) and image.width > 800
    box = data["highlights"][0]
    inside = image.crop((box["left"], box["top"], box["right"], box["bottom"])).convert("RGB")
    assert any(r > 200 and g > 150 and b < 150 for r, g, b in inside.get_flattened_data())  # yellow over the sentence
    elsewhere = library.sources.view("report.pdf", 1, [(quote["start"], quote["end"])])
    assert elsewhere.highlights == []  # the quote is on page 3, not on page 1


def test_a_text_document_opens_with_the_quote_marked(library):
    answer = library.ask("Which countries joined NATO in 2004?")
    cited = answer.citations[0]
    chunk = cited.passage.chunk
    view = library.sources.view(chunk.source, None, [(chunk.start + cited.quote_start, chunk.start + cited.quote_end)],
                                (chunk.start, chunk.end))
    assert view.image is None and f'<mark class="quote">{SENTENCE_2004}' in view.text_html
    word = library.sources.view("raport.docx", None, [(0, 20)])
    assert '<mark class="quote">' in word.text_html and "Raportul" in word.text_html


def test_opening_a_document_that_is_not_indexed_or_has_changed_says_what_to_do(library, tmp_path):
    with pytest.raises(DocumentError, match="No document named 'nope.pdf' is indexed"):
        library.sources.view("nope.pdf", 1)
    with pytest.raises(DocumentError, match="No document named"):
        library.sources.view("../../etc/passwd", 1)


def test_a_question_limited_to_one_document_searches_only_that_one(library):
    question = "How many tests did the laboratory run on treated water?"
    everywhere = library.ask(question)
    assert everywhere.citations[0].passage.chunk.source == "report.pdf" and everywhere.searched is None
    limited = library.ask(question, sources=["survey.pdf", "raport.docx"])
    assert {p.chunk.source for p in limited.passages} <= {"survey.pdf", "raport.docx"} and limited.passages
    assert limited.to_dict()["searched"] == ["raport.docx", "survey.pdf"]
    assert "12,480" not in limited.text
    with pytest.raises(DocumentError, match="No document named 'missing.pdf' is indexed"):
        library.ask(question, sources=["missing.pdf"])


def test_an_answer_names_the_files_still_being_indexed(docs, tmp_path):
    """A writer thread holds the index with half of a file's passages written, as a long upload would."""
    from index import loading

    pipeline = Pipeline(Settings(docs=docs, index_dir=tmp_path / "index"))
    pipeline.index(progress=False)
    document = loading.read("report.txt", ("The plant treated 4.2 million litres in March. " * 60).encode())
    chunks = pipeline.chunker.split(document)
    assert len(chunks) >= 2
    halfway, finish = threading.Event(), threading.Event()

    def upload():
        with pipeline._writing():
            pipeline.store.begin_file(document, len(chunks), None)
            half = chunks[:len(chunks) // 2]
            pipeline.store.add_chunks(document, half, pipeline.embedder.embed_documents([c.text for c in half]))
            halfway.set()
            finish.wait(60)

    writer = threading.Thread(target=upload)
    writer.start()
    try:
        assert halfway.wait(60)
        answer = pipeline.ask("How many litres did the plant treat in March?")
        percent = round(100 * (len(chunks) // 2) / len(chunks))
        assert answer.to_dict()["indexing"] == [{"source": "report.txt", "stage": "embedding", "percent": percent}]
        assert f"report.txt is still being indexed ({percent}%); ask again when it is done" in answer.note
        with pytest.raises(DocumentError, match=r"report.txt is still being indexed \(\d+%\)"):
            pipeline.ask("How many litres?", sources=["report.txt"])
    finally:
        finish.set()
        writer.join()
    assert pipeline.indexing() == []  # no writer at work: nothing is said to be in progress
    assert pipeline.ask("Which countries joined NATO in 2004?").indexing == []


def test_an_answer_names_a_file_still_being_read(docs, tmp_path):
    """An upload whose reading is held at its second page (as a long OCR would be): the answer says so."""
    pipeline = Pipeline(Settings(docs=docs, index_dir=tmp_path / "index"))
    pipeline.index(progress=False)
    report = make_pdf(multipage_html(PAGES, "Eastport water report"), tmp_path / "long-report.pdf")
    reached, finish = threading.Event(), threading.Event()

    def reading(source, done, total):
        if done == 2:
            reached.set()
            finish.wait(60)

    uploader = threading.Thread(target=lambda: pipeline.upload([("long-report.pdf", report)], reading=reading))
    uploader.start()
    try:
        assert reached.wait(60)
        answer = pipeline.ask("How many tests did the laboratory run on treated water?")
        assert answer.to_dict()["indexing"] == [{"source": "long-report.pdf", "stage": "reading", "percent": 50}]
        assert "long-report.pdf is still being indexed (reading page 3 of 4); ask again when it is done" in answer.note
        # the read holds no writer lock: another upload, and an `index` run in another process, are written meanwhile
        assert not pipeline._writing.busy()
        other = tmp_path / "hours.md"
        other.write_text("# Library\n\nThe library opens at 9:00 on weekdays.", encoding="utf-8")
        assert pipeline.upload([("hours.md", other)]).added == ["hours.md"]
        (docs / "note.md").write_text("# Note\n\nThe pool closes in August for repairs.", encoding="utf-8")
        run = subprocess.run([sys.executable, "-m", "app", "index", "--docs", str(docs), "--index-dir",
                              str(tmp_path / "index"), "--lock-timeout", "30"], cwd=ROOT, capture_output=True,
                             text=True, timeout=300)
        assert run.returncode == 0 and "Waiting for the indexer" not in run.stderr, run.stderr
        assert reached.is_set() and uploader.is_alive()  # still held at page 2
    finally:
        finish.set()
        uploader.join()
    assert pipeline.indexing() == []
    assert "12,480 tests" in pipeline.ask("How many tests did the laboratory run on treated water?").text
    assert {"hours.md", "note.md", "long-report.pdf"} <= {record.source for record in pipeline.documents()}


def test_a_file_changed_while_it_was_read_is_read_again_under_the_lock(docs, tmp_path):
    """`index` reads outside the writer lock; what it writes is the file as it is when the lock is taken."""
    pipeline = Pipeline(Settings(docs=docs, index_dir=tmp_path / "index"))
    pipeline.index(progress=False)
    august, october = (make_pdf(page_html(f"<p>The pool closes in {month} for repairs.</p>"),
                                tmp_path / f"{month}.pdf") for month in ("August", "October"))
    notice = docs / "notice.pdf"
    notice.write_bytes(august.read_bytes())
    edited = []

    def reading(source, done, total):
        if source == "notice.pdf" and not edited:  # the file is replaced while it is being read
            notice.write_bytes(october.read_bytes())
            edited.append(source)

    report = pipeline.index(progress=False, reading=reading)
    assert edited and report.added == ["notice.pdf"]
    record = pipeline.store.files()["notice.pdf"]
    assert record.sha256 == hashlib.sha256(notice.read_bytes()).hexdigest()
    assert "October" in pipeline.ask("When does the pool close for repairs?").text


def test_a_table_row_keeps_its_header_and_answers_from_it(docs, tmp_path):
    make_docx(docs / "results.docx", [
        ("h1", "Quarterly results 2025"), "The company reports its revenue by quarter.",
        ("table", [["Quarter", "Revenue"], ["Q1", "3.1 M"], ["Q2", "3.6 M"], ["Q3", "4.2 M"], ["Q4", "4.0 M"]]),
    ])
    (docs / "fleet.html").write_text(
        "<html><body><main><h1>Fleet</h1><p>The harbour keeps these boats.</p><table>"
        "<tr><th>Boat</th><th>Length</th></tr><tr><td>Marigold</td><td>38 m</td></tr>"
        "<tr><td>Heron</td><td>24 m</td></tr></table></main></body></html>", encoding="utf-8")
    pipeline = Pipeline(Settings(docs=docs, index_dir=tmp_path / "index"))
    pipeline.index(progress=False)
    answer = pipeline.ask("What was the Q3 revenue?", sources=["results.docx"])
    assert not answer.abstained and "Quarter: Q3 | Revenue: 4.2 M" in answer.text
    answer = pipeline.ask("How long is the Heron?", sources=["fleet.html"])
    assert not answer.abstained and "Boat: Heron | Length: 24 m" in answer.text
