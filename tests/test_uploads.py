"""Users' own files through the Pipeline: real PDFs (printed by Chromium), DOCX and HTML, real parsers,
the bundled embedding model and a real Chroma in a temp dir."""
import pytest

from app.config import Settings
from app.errors import DocumentError
from app.pipeline import MAX_UPLOAD_FILES, Pipeline
from index.uploads import safe_name
from tests.documents import make_docx, make_encrypted_pdf, make_pdf, make_scanned_pdf, make_zip_bomb_docx, \
    multipage_html

PAGES = [
    "# Harbour water report 2025\n\nThe Eastport water utility serves 41,000 households along the bay. "
    "This report covers the calendar year 2025.",
    "# Supply\n\nThe utility drew most of its water from the Miller reservoir. Average daily demand was "
    "18.4 million litres, slightly below the year before.",
    "# Quality\n\nIn 2025 the laboratory ran 12,480 tests on treated water. Only three samples exceeded "
    "the limit for turbidity, all of them during the April floods.",
    "# Finances\n\nThe board approved a tariff increase of 4.5 percent, which took effect on 1 July 2025.",
]
MENU_HTML = """<!doctype html><html><head><meta charset="utf-8"><title>Opening hours – City Library</title>
<style>nav{float:left}</style><script>var opening = "The library opens at midnight on Sundays.";</script></head>
<body><nav class="menu"><ul><li><a href="/">Home</a></li><li><a href="/hours">Opening hours: see our
calendar</a></li><li><a href="/join">Join the library and borrow ten books</a></li></ul></nav>
<div id="cookie-banner">We use cookies to improve your experience. Accept all cookies?</div>
<main><article><h1>Opening hours</h1>
<p>The Central Library is open from 9:00 to 19:00 on weekdays and from 10:00 to 14:00 on Saturdays.</p>
<p>On public holidays the reading rooms stay closed, but the book return box at the north entrance is
emptied every morning.</p></article></main>
<footer>© 2025 City Library · Privacy policy · Contact us</footer></body></html>"""
DOCX_BLOCKS = [
    ("h1", "Raportul bibliotecii municipale pe anul 2025"),
    "Biblioteca municipală din Brașov a împrumutat 86.500 de cărți cititorilor săi în anul 2025.",
    ("h2", "Evenimente"),
    "Festivalul de lectură pentru copii a avut loc în luna mai și a adunat 1.200 de participanți.",
    ("list", ["Club de carte lunar", "Ateliere de scriere creativă"]),
    ("table", [["Secție", "Cititori"], ["Centrală", "9.400"], ["Filiala Răcădău", "2.150"]]),
]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A four-page PDF with Chromium's own header and footer, an HTML page with a menu, a Romanian DOCX."""
    folder = tmp_path_factory.mktemp("uploads")
    return {
        "report.pdf": make_pdf(multipage_html(PAGES, "Eastport water report"), folder / "report.pdf"),
        "hours.html": _write(folder / "hours.html", MENU_HTML.encode()),
        "raport.docx": make_docx(folder / "raport.docx", DOCX_BLOCKS),
    }


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


@pytest.fixture
def pipeline(docs, tmp_path):
    pipeline = Pipeline(Settings(docs=docs, index_dir=tmp_path / "index"))
    pipeline.index(progress=False)
    return pipeline


def snapshot(pipeline):
    """What a bad upload must leave as it was: the folder's files and the index's records and passages."""
    folder = sorted((p.name, p.read_bytes()) for p in pipeline.settings.docs.iterdir())
    return folder, pipeline.store.files(), pipeline.store.count()


def test_uploaded_files_are_stored_indexed_and_answer_with_their_page(pipeline, files):
    report = pipeline.upload([(name, path) for name, path in files.items()])
    assert sorted(report.added) == sorted(files) and report.refused == [] and report.passages > 0
    assert all((pipeline.settings.docs / name).read_bytes() == path.read_bytes() for name, path in files.items())
    listed = {r.source: r.to_dict() for r in pipeline.documents()}
    assert listed["report.pdf"]["type"] == "pdf" and listed["report.pdf"]["pages"] == 4
    assert listed["raport.docx"]["type"] == "docx" and listed["raport.docx"]["pages"] is None
    assert listed["hours.html"]["type"] == "html" and listed["hours.html"]["indexed_at"].endswith("+00:00")

    answer = pipeline.ask("How many tests did the laboratory run on treated water in 2025?")
    cited = answer.to_dict()["citations"][0]
    assert "12,480 tests" in answer.text and cited["source"] == "report.pdf" and cited["page"] == 3
    tariff = pipeline.ask("When did the tariff increase take effect?").to_dict()["citations"][0]
    assert "1 July 2025" in tariff["text"] and tariff["page"] == 4

    hours = pipeline.ask("What are the library's opening hours on weekdays?")
    assert "9:00 to 19:00" in hours.text and hours.citations[0].passage.chunk.source == "hours.html"
    for passage in hours.passages:  # the menu, script, cookie banner and footer were never indexed
        assert not any(s in passage.chunk.text for s in ("midnight", "borrow ten books", "cookies", "Privacy"))

    books = pipeline.ask("How many books did the municipal library lend in 2025?")
    cited = books.to_dict()["citations"][0]
    assert "86.500" in books.text and cited["source"] == "raport.docx" and cited["page"] is None

    seed = pipeline.ask("Which countries joined NATO in 2004?").to_dict()["citations"][0]
    assert seed["page"] is None and seed["source"].endswith(".txt")


def test_uploading_the_same_name_again_replaces_it_and_says_so(pipeline, files, tmp_path):
    pipeline.upload([("report.pdf", files["report.pdf"])])
    again = pipeline.upload([("report.pdf", files["report.pdf"])])
    assert again.unchanged == ["report.pdf"] and again.passages == 0
    newer = make_pdf(multipage_html(["The Eastport utility merged with the Westport utility in 2026."]),
                     tmp_path / "newer.pdf", header_footer=False)
    replaced = pipeline.upload([("report.pdf", newer)])
    assert replaced.replaced == ["report.pdf"] and "Replaced: report.pdf" in replaced.summary()
    assert pipeline.store.files()["report.pdf"].pages == 1
    answer = pipeline.ask("Which utility did Eastport merge with?")
    assert "Westport" in answer.text
    assert all("12,480" not in p.chunk.text for p in answer.passages)


def test_removing_a_document_takes_its_answers_away(pipeline, files):
    pipeline.upload([("raport.docx", files["raport.docx"])])
    question = "How many books did the municipal library lend in 2025?"
    assert "86.500" in pipeline.ask(question).text
    removed = pipeline.remove("raport.docx")
    assert removed.source == "raport.docx" and removed.chunks > 0
    assert not (pipeline.settings.docs / "raport.docx").exists()
    assert "raport.docx" not in {r.source for r in pipeline.documents()}
    answer = pipeline.ask(question)
    assert all(p.chunk.source != "raport.docx" for p in answer.passages)
    with pytest.raises(DocumentError, match="No document named 'raport.docx'"):
        pipeline.remove("raport.docx")
    with pytest.raises(DocumentError, match="No document named"):
        pipeline.remove("../../etc/passwd")


def bad_files(folder, files):
    """Each bad upload with the words its refusal must hold."""
    bad = {
        "empty.txt": (b"", "empty"),
        "fake.pdf": (b"<html>This is a web page, not a PDF.</html>", "not a PDF"),
        "fake.docx": (b"PK\x03\x04 not really a zip", "not a"),
        "script.exe": (b"MZ\x90\x00", "not a supported type"),
        "binary.txt": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", "not a UTF-8 text file"),
    }
    paths = {name: (_write(folder / name, data), words) for name, (data, words) in bad.items()}
    paths["scanned.pdf"] = (make_scanned_pdf(folder / "scanned.pdf"), "no text layer")
    paths["locked.pdf"] = (make_encrypted_pdf(folder / "locked.pdf", files["report.pdf"]), "encrypted")
    paths["bomb.docx"] = (make_zip_bomb_docx(folder / "bomb.docx"), "zip bomb")
    return paths


def test_each_bad_upload_is_refused_with_its_reason_and_changes_nothing(pipeline, files, tmp_path):
    folder = tmp_path / "bad"
    folder.mkdir()
    bad = bad_files(folder, files)
    before = snapshot(pipeline)
    report = pipeline.upload([(name, path) for name, (path, _) in bad.items()])
    assert report.added == [] and report.passages == 0
    reasons = {r["name"]: r["reason"] for r in report.refused}
    assert set(reasons) == set(bad)
    for name, (_, words) in bad.items():
        assert name in reasons[name] and words.lower() in reasons[name].lower(), reasons[name]
    assert snapshot(pipeline) == before


def test_a_file_over_the_size_limit_is_refused(docs, tmp_path, files):
    pipeline = Pipeline(Settings(docs=docs, index_dir=tmp_path / "index", max_upload_mb=0.01))
    pipeline.index(progress=False)
    before = snapshot(pipeline)
    report = pipeline.upload([("report.pdf", files["report.pdf"])])
    [refused] = report.refused
    assert "limit is 0.01 MB" in refused["reason"] and "--max-upload-mb" in refused["reason"]
    assert snapshot(pipeline) == before


def test_a_good_file_beside_bad_ones_is_still_added(pipeline, files, tmp_path):
    (tmp_path / "empty.md").write_bytes(b"")
    report = pipeline.upload([("empty.md", tmp_path / "empty.md"), ("hours.html", files["hours.html"])])
    assert report.added == ["hours.html"] and [r["name"] for r in report.refused] == ["empty.md"]


@pytest.mark.parametrize("name, stored", [
    ("../../outside.md", "outside.md"),
    ("/etc/cron.d/evil.md", "evil.md"),
    ("..\\..\\windows.md", "windows.md"),
    ("bell\x07and\x1bescape.md", "bellandescape.md"),
    ("right\u202eto\u200bleft.md", "righttoleft.md"),
    ("ｆｕｌｌ／ｗｉｄｔｈ.md", "width.md"),
    ("Raport anual (2025) ș.md", "Raport anual (2025) ș.md"),
])
def test_odd_names_are_stored_under_a_safe_name_inside_the_documents_folder(pipeline, tmp_path, name, stored):
    source = tmp_path / "note.md"
    source.write_text("Muntenegru a aderat la NATO în 2017.", encoding="utf-8")
    assert safe_name(name) == stored
    report = pipeline.upload([(name, source)])
    assert report.added == [stored]
    assert report.renamed == ({} if name == stored else {name: stored})
    assert (pipeline.settings.docs / stored).read_text(encoding="utf-8").startswith("Muntenegru")
    inside = {p.resolve() for p in pipeline.settings.docs.rglob("*")}
    assert not (tmp_path / "outside.md").exists() and (pipeline.settings.docs / stored).resolve() in inside


def test_two_files_of_one_upload_with_the_same_safe_name_are_not_both_kept(pipeline, tmp_path):
    a, b = tmp_path / "a.md", tmp_path / "b.md"
    a.write_text("Prima versiune.", encoding="utf-8")
    b.write_text("A doua versiune.", encoding="utf-8")
    report = pipeline.upload([("x/notes.md", a), ("y/notes.md", b)])
    assert report.added == ["notes.md"] and "rename one of them" in report.refused[0]["reason"]


def test_too_many_files_in_one_upload_are_refused(pipeline, tmp_path):
    (tmp_path / "n.md").write_text("x", encoding="utf-8")
    with pytest.raises(DocumentError, match=f"the limit is {MAX_UPLOAD_FILES}"):
        pipeline.upload([(f"{i}.md", tmp_path / "n.md") for i in range(MAX_UPLOAD_FILES + 1)])


def test_uploads_and_the_index_survive_a_restart(docs, tmp_path, files):
    settings = Settings(docs=docs, index_dir=tmp_path / "index")
    first = Pipeline(settings)
    first.index(progress=False)
    first.upload([("hours.html", files["hours.html"])])
    restarted = Pipeline(settings)
    report = restarted.index(progress=False)
    assert report.chunks_embedded == 0 and "hours.html" in report.unchanged
    assert "9:00 to 19:00" in restarted.ask("When is the library open on weekdays?").text
