"""Files built to attack their parser: each is read by a limited process of its own and refused with its reason,
while the server goes on answering and nothing of the file reaches the documents folder or the index."""
import os
import re
import signal
import threading
import time
from pathlib import Path

import pytest
from gradio_client import Client, handle_file

from app.config import Settings
from app.pipeline import Pipeline
from index import loading, worker
from index.errors import DocumentError
from index.worker import ReadLimits
from tests.conftest import SEED, SENTENCE_2004, start_app, stop
from tests.documents import (make_billion_laughs_docx, make_deep_html, make_external_entity_docx,
                             make_flate_bomb_pdf, make_many_pages_pdf)

QUESTION = "Which countries joined NATO in 2004?"


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("hostile")
    return {"bomb.pdf": make_flate_bomb_pdf(folder / "bomb.pdf", inflated=2 * 2**30),  # 6 MB of Flate
            "pages.pdf": make_many_pages_pdf(folder / "pages.pdf", pages=100_000),
            "laughs.docx": make_billion_laughs_docx(folder / "laughs.docx"),
            "secret.docx": make_external_entity_docx(folder / "secret.docx", "/etc/passwd"),
            "deep.html": make_deep_html(folder / "deep.html", depth=100_000)}


@pytest.fixture(scope="module")
def app_server(tmp_path_factory):
    """One app over the seed article, started as a user starts it."""
    folder = tmp_path_factory.mktemp("app")
    docs = folder / "docs"
    docs.mkdir()
    (docs / SEED.name).write_bytes(SEED.read_bytes())
    process, url = start_app(folder / "server.log", "--docs", docs, "--index-dir", folder / "index")
    yield url, folder / "server.log", docs, process
    stop(process)


def upload_while_asking(url: str, path: Path, during=None) -> tuple[dict, list[float]]:
    """Uploads path while another client asks the seed question again and again; the upload's report and how long
    each answer took, every one checked. during(asker), when given, is called once while the upload runs."""
    uploader, asker, report = Client(url, verbose=False), Client(url, verbose=False), {}
    thread = threading.Thread(target=lambda: report.update(uploader.predict([handle_file(path)], api_name="/upload")))
    thread.start()
    seconds = []
    while thread.is_alive() or not seconds:
        started = time.perf_counter()
        answer = asker.predict(QUESTION, api_name="/ask")
        seconds.append(time.perf_counter() - started)
        assert answer["answer"] == f"{SENTENCE_2004} [1]"
        if during:
            during(answer)
            during = None
        time.sleep(0.1)
    thread.join()
    return report, seconds


@pytest.mark.parametrize("name, reason", [
    ("bomb.pdf", "needed more than 1024 MB of memory"),  # PDFium inflating 2 GB hits the 1 GB limit
    ("pages.pdf", "has no text layer"),
    ("laughs.docx", "damaged Word document.*amplification"),  # lxml refuses to expand the entities
    ("deep.html", "has no text to index"),  # libxml2 stops nesting at its depth limit
])
def test_a_hostile_file_is_refused_while_the_server_goes_on_answering(app_server, hostile, name, reason):
    """Every answer asked during the read comes back, about 0.4 s each here; the bound is loose (3 s) so that a busy
    machine does not fail it. scripts/load_test.py measures answer times under load."""
    url, log, docs, _ = app_server
    client = Client(url, verbose=False)
    listed, files = client.predict(api_name="/documents"), sorted(docs.iterdir())
    report, seconds = upload_while_asking(url, hostile[name])
    assert report["added"] == [] and [r["name"] for r in report["refused"]] == [name]
    assert re.search(reason, report["refused"][0]["reason"]), report["refused"][0]["reason"]
    assert max(seconds) < 3.0, seconds
    assert client.predict(api_name="/documents") == listed and sorted(docs.iterdir()) == files
    assert "Traceback" not in log.read_text()


def reading_processes(server_pid: int) -> list[int]:
    """The server's reading processes (`python -m index.worker`), found in /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            stat, command = (entry / "stat").read_text(), (entry / "cmdline").read_bytes()
        except (OSError, ValueError):
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == server_pid and b"index.worker" in command:
            found.append(int(entry.name))
    return found


def test_a_reading_process_killed_mid_parse_is_a_refusal_and_the_server_goes_on(app_server, hostile):
    """SIGSEGV, as a crash in native code would end it, sent while the 100,000 pages are being read."""
    url, log, docs, process = app_server
    listed = Client(url, verbose=False).predict(api_name="/documents")

    def crash_when_reading(answer: dict) -> None:
        deadline = time.time() + 60
        while not any(item["stage"] == "reading" for item in answer.get("indexing", [])):
            assert time.time() < deadline, "the upload was never seen being read"
            time.sleep(0.05)
            answer = Client(url, verbose=False).predict(QUESTION, api_name="/ask")
        for pid in reading_processes(process.pid):
            os.kill(pid, signal.SIGSEGV)

    report, seconds = upload_while_asking(url, hostile["pages.pdf"], crash_when_reading)
    assert [r["name"] for r in report["refused"]] == ["pages.pdf"]
    assert "made the process reading it crash (SIGSEGV)" in report["refused"][0]["reason"]
    assert max(seconds) < 1.0, seconds
    client = Client(url, verbose=False)
    assert client.predict(api_name="/documents") == listed and not (docs / "pages.pdf").exists()
    # the next upload gets a fresh reading process
    note = docs.parent / "note.md"
    note.write_text("The Eastport pumps were serviced in March 2024.", encoding="utf-8")
    assert client.predict([handle_file(note)], api_name="/upload")["added"] == ["note.md"]
    assert "March 2024" in client.predict("When were the Eastport pumps serviced?", api_name="/ask")["answer"]
    client.predict("note.md", api_name="/delete")


def test_an_external_entity_never_brings_a_file_of_the_server_into_the_index(hostile, docs, tmp_path):
    pipeline = Pipeline(Settings(docs=docs, index_dir=tmp_path / "index"))
    pipeline.index(progress=False)
    report = pipeline.upload([("secret.docx", hostile["secret.docx"])])
    assert report.added == ["secret.docx"]
    stored = pipeline.store._chunks.get(include=["documents"])["documents"]
    assert "The secret is" in "\n".join(stored)
    assert not any("root:" in text for text in stored)


def test_a_file_past_the_time_limit_is_refused_with_the_option_to_raise_it(tmp_path):
    slow = make_flate_bomb_pdf(tmp_path / "slow.pdf", inflated=32 * 2**20)  # about 5 s for PDFium's one page
    with pytest.raises(DocumentError) as refused:
        loading.read("slow.pdf", slow.read_bytes(), limits=ReadLimits(seconds=1))
    assert str(refused.value) == ("slow.pdf took longer than 1 s to read; it was not added. Split it into smaller "
                                  "files, or raise the limit (--read-timeout).")


def test_a_scanned_pdf_gets_the_time_limit_for_each_page(tmp_path):
    """Pages that come one after another keep the reading going past the limit for the whole file."""
    pages = make_many_pages_pdf(tmp_path / "pages.pdf", pages=20_000)
    seen = []
    with pytest.raises(DocumentError, match="has no text layer"):  # read to the end, not stopped by the limit
        loading.read("pages.pdf", pages.read_bytes(), lambda done, total: seen.append(done),
                     limits=ReadLimits(seconds=0.5))
    assert seen[-1] == 20_000


def test_the_memory_limit_can_be_raised_and_lowered(tmp_path):
    slow = make_flate_bomb_pdf(tmp_path / "slow.pdf", inflated=32 * 2**20)
    with pytest.raises(DocumentError, match="needed more than 200 MB of memory"):
        loading.read("slow.pdf", slow.read_bytes(), limits=ReadLimits(seconds=60, memory_mb=200))
    assert loading.read("slow.pdf", slow.read_bytes(), limits=ReadLimits(seconds=60, memory_mb=2048)).text == (
        "A line of text that never ends.")


def test_a_reading_process_is_kept_for_the_next_file_and_replaced_when_it_dies(tmp_path):
    note = b"The Eastport pumps were serviced in March 2024."
    while worker._idle:
        worker._idle.pop().close()
    loading.read("a.md", note)
    [kept] = worker._idle
    loading.read("b.md", note)
    assert worker._idle == [kept] and kept.files == 2  # the same process read both
    kept.process.kill()
    kept.process.wait()
    assert loading.read("c.md", note).text == note.decode()  # a fresh one, without an error
    assert worker._idle[0] is not kept
