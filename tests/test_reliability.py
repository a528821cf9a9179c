"""Several processes on one index, faults while the app runs, and a server that is safe to expose:
real app processes, a real `chroma run`, the bundled model, real files."""
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import httpx
import pytest
from gradio_client import Client, handle_file

from app.config import Settings
from app.errors import StoreError
from app.pipeline import Pipeline
from app.ui.served_files import ServedFiles
from index.lock import WriteLock
from tests.conftest import ROOT, SEED, SENTENCE_2004, start_app, start_chroma, stop

KEEPER = "The lighthouse keeper of Varna is named Teodora Lazarova."


def run(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "app", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


def long_document(paragraphs: int = 120) -> str:
    """KEEPER first, then many distinct paragraphs, so that indexing the file takes a while."""
    facts = [f"Depozitul numărul {n} din portul Constanța are {n * 37 % 900 + 100} de containere "
             f"și este administrat de compania Marea {n}." for n in range(paragraphs)]
    return "\n\n".join([KEEPER, *facts]) + "\n"


def test_a_second_writer_waits_for_the_first_and_says_so(docs, tmp_path):
    index = tmp_path / "index"
    lock = WriteLock(index / "write.lock", timeout=5)
    with lock():  # this test process is "the indexer"
        waited = run("index", "--docs", docs, "--index-dir", index, "--lock-timeout", "2")
    assert waited.returncode == 2 and "Traceback" not in waited.stderr
    assert f"Waiting for the indexer in process {os.getpid()}" in waited.stderr
    assert "has been writing the index for more than 2 s" in waited.stderr
    done = run("index", "--docs", docs, "--index-dir", index)
    assert done.returncode == 0 and "14 chunks embedded" in done.stdout


def test_readers_never_see_the_last_write_mark_half_written(tmp_path):
    """A reader that saw the mark empty would take it for another process's write and reload the whole index."""
    import threading

    mark = tmp_path / "last-write"
    lock = WriteLock(tmp_path / "write.lock", timeout=5, mark=mark)
    with lock():
        pass
    seen, done = set(), threading.Event()

    def read() -> None:
        while not done.is_set():
            seen.add(mark.read_text())

    reader = threading.Thread(target=read)
    reader.start()
    for _ in range(300):
        with lock():
            pass
    done.set()
    reader.join()
    assert len(seen) > 1 and all(re.fullmatch(rf"{os.getpid()}:\d+", text) for text in seen), sorted(seen)[:3]


def test_two_index_runs_at_once_embed_each_passage_once(docs, tmp_path):
    (docs / "depozite.md").write_text(long_document(60), encoding="utf-8")
    index = tmp_path / "index"
    command = [sys.executable, "-m", "app", "index", "--docs", str(docs), "--index-dir", str(index)]
    runs = [subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)]
    outputs = [r.communicate(timeout=600) for r in runs]
    assert [r.returncode for r in runs] == [0, 0], outputs
    embedded = sorted(int(out.split(" chunks embedded")[0].split()[-1]) for out, _ in outputs)
    total = Pipeline(Settings(docs=docs, index_dir=index)).store.count()
    assert embedded == [0, total] and total > 14  # both read the files; the one that wrote second found them indexed


def test_a_file_interrupted_mid_write_is_never_searched(docs, tmp_path):
    """kill -9 while the long file is embedded: its written passages stay out of answers until redone."""
    (docs / "depozite.md").write_text(long_document(), encoding="utf-8")
    index = tmp_path / "index"
    indexer = subprocess.Popen([sys.executable, "-m", "app", "index", "--docs", str(docs), "--index-dir", str(index)],
                               cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, bufsize=1)
    seen, deadline = "", time.time() + 300
    # the seed article's 14 passages stored, then a first batch of the long file's
    while not re.search(r"1/2 \[[^]]*, (2\d|3\d) passages embedded", seen):
        chunk = indexer.stderr.read(64)
        assert chunk and time.time() < deadline, seen
        seen = (seen + chunk)[-400:]
    indexer.send_signal(signal.SIGKILL)
    indexer.wait()

    pipeline = Pipeline(Settings(docs=docs, index_dir=index))
    record = pipeline.store.files()["depozite.md"]
    written = pipeline.store._chunks.get(ids=["depozite.md#0"])["ids"]
    assert not record.complete and written == ["depozite.md#0"]  # the passage is stored, not finished
    answer = pipeline.ask("Who is the lighthouse keeper of Varna?")
    assert all(p.chunk.source != "depozite.md" for p in answer.passages)
    assert "depozite.md" not in pipeline.status()

    report = pipeline.index(progress=False)
    assert report.updated == ["depozite.md"]
    answer = pipeline.ask("Who is the lighthouse keeper of Varna?")
    assert answer.text == f"{KEEPER} [1]" and answer.citations[0].passage.chunk.source == "depozite.md"


def test_app_processes_share_one_corpus_on_a_chroma_server(tmp_path):
    """Two app processes, each with its own documents folder, on one `chroma run` and --collection."""
    chroma, url = start_chroma(tmp_path / "chroma")
    folders = {name: tmp_path / name for name in ("a", "b")}
    for folder in folders.values():
        folder.mkdir()
    shutil.copy(SEED, folders["a"] / SEED.name)
    common = ["--chroma-url", url, "--collection", "team", "--index-dir", tmp_path / "unused"]
    apps = {name: start_app(tmp_path / f"{name}.log", "--docs", folder, *common) for name, folder in folders.items()}
    try:
        a, b = (Client(apps[name][1], verbose=False) for name in ("a", "b"))
        note = tmp_path / "depozite.md"
        note.write_text(long_document(3), encoding="utf-8")
        assert b.predict([handle_file(note)], api_name="/upload")["added"] == ["depozite.md"]
        assert (folders["b"] / "depozite.md").exists() and not (folders["a"] / "depozite.md").exists()
        answer = a.predict("Who is the lighthouse keeper of Varna?", api_name="/ask")
        assert answer["citations"][0]["source"] == "depozite.md"
        assert b.predict("Which countries joined NATO in 2004?", api_name="/ask")["answer"] == f"{SENTENCE_2004} [1]"

        # each process's sync keeps the documents the other one holds
        again = run("index", "--docs", folders["a"], *common)
        assert again.returncode == 0 and "0 removed" in again.stdout, again.stdout + again.stderr
        listed = {row["source"] for row in b.predict(api_name="/documents")}
        assert listed == {SEED.name, "depozite.md"}
    finally:
        for process, _ in apps.values():
            stop(process)
        stop(chroma)
    assert not (tmp_path / "unused").exists()


def test_a_chroma_server_that_goes_down_is_a_message_and_answers_resume(docs, tmp_path):
    chroma, url = start_chroma(tmp_path / "chroma")
    port = int(url.rsplit(":", 1)[1])
    app, app_url = start_app(tmp_path / "app.log", "--docs", docs, "--chroma-url", url)
    try:
        client = Client(app_url, verbose=False)
        question = "Which countries joined NATO in 2004?"
        assert client.predict(question, api_name="/ask")["answer"] == f"{SENTENCE_2004} [1]"
        stop(chroma)
        for _ in range(2):  # the app stays up and says the same thing each time
            with pytest.raises(Exception, match="Cannot reach the Chroma server at http://127.0.0.1"):
                client.predict(question, api_name="/ask")
        chroma, _ = start_chroma(tmp_path / "chroma", port)
        assert client.predict(question, api_name="/ask")["answer"] == f"{SENTENCE_2004} [1]"
    finally:
        stop(app)
        stop(chroma)
    assert "Traceback" not in (tmp_path / "app.log").read_text()


def test_an_index_deleted_while_the_app_runs_is_a_message_with_the_rebuild_command(server, tmp_path):
    url, log = server
    client = Client(url, verbose=False)
    assert client.predict("Which countries joined NATO in 2004?", api_name="/ask")["answer"].startswith("Ungaria")
    shutil.rmtree(tmp_path / "index")
    for _ in range(2):
        with pytest.raises(Exception, match=r"is gone .*python -m app index"):
            client.predict("Which countries joined NATO in 2004?", api_name="/ask")
    assert httpx.get(url, timeout=30).status_code == 200  # still serving, no crash loop
    assert "Traceback" not in open(log).read()


@pytest.fixture
def small_disk(tmp_path):
    """An 8 MB tmpfs: room for the seed article's index, not for much more."""
    folder = tmp_path / "small-disk"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(folder)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"mounting a tmpfs needs root: {mounted.stderr.strip()}")
    yield folder
    subprocess.run(["umount", "-l", str(folder)], check=False)


def test_a_full_disk_while_indexing_is_a_clear_error_and_the_index_still_answers(docs, tmp_path, small_disk):
    pipeline = Pipeline(Settings(docs=docs, index_dir=small_disk / "index"))
    pipeline.index(progress=False)
    big = tmp_path / "depozite.md"
    big.write_text(long_document(1500), encoding="utf-8")
    with pytest.raises(StoreError, match="the disk is full"):
        pipeline.upload([("depozite.md", big)])
    assert not (docs / "depozite.md").exists()
    assert pipeline.ask("Which countries joined NATO in 2004?").text == f"{SENTENCE_2004} [1]"
    assert all(p.chunk.source != "depozite.md" for p in pipeline.ask("Who is the lighthouse keeper of Varna?").passages)


def test_logins_protect_the_page_and_the_api(docs, tmp_path):
    app, url = start_app(tmp_path / "app.log", "--docs", docs, "--index-dir", tmp_path / "index",
                         "--auth", "alice:wonder land")
    try:
        assert httpx.get(f"{url}gradio_api/info", timeout=30).status_code == 401
        with pytest.raises(Exception):
            Client(url, verbose=False).predict("Which countries joined NATO in 2004?", api_name="/ask")
        client = Client(url, auth=("alice", "wonder land"), verbose=False)
        assert client.predict("Which countries joined NATO in 2004?", api_name="/ask")["answer"].startswith("Ungaria")
        wrong = httpx.post(f"{url}login", data={"username": "alice", "password": "x"}, timeout=30)
        assert wrong.status_code in (400, 401)
    finally:
        stop(app)


@pytest.mark.parametrize("path", [
    "gradio_api/file=/etc/passwd", "gradio_api/file=../../../../etc/passwd", "gradio_api/file=%2Fetc%2Fpasswd",
    "gradio_api/file=..%2F..%2F..%2Fetc%2Fpasswd", "file=/etc/passwd", "gradio_api/file=/proc/self/environ",
])
def test_files_outside_the_app_are_not_served(server, path):
    url, _ = server
    got = httpx.get(f"{url}{path}", timeout=30)
    assert got.status_code in (403, 404) and "root:" not in got.text


def test_serving_beyond_this_machine_without_logins_warns(tmp_path):
    done = run("--host", "0.0.0.0", "--docs", tmp_path / "missing")
    assert "warning: serving on 0.0.0.0 without --auth" in done.stderr
    assert done.returncode == 2 and "Traceback" not in done.stderr  # then the missing folder stops it
    bad = run("--auth", "alice", "--docs", tmp_path / "missing")
    assert bad.returncode == 2 and "use --auth USER:PASSWORD" in bad.stderr


def test_the_app_answers_while_another_process_indexes_and_then_answers_from_it(server, docs, tmp_path):
    url, log = server
    client = Client(url, verbose=False)
    (docs / "depozite.md").write_text(long_document(40), encoding="utf-8")
    indexer = subprocess.Popen([sys.executable, "-m", "app", "index", "--docs", str(docs), "--index-dir",
                                str(tmp_path / "index")], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    asked = 0
    while indexer.poll() is None:
        assert client.predict("Which countries joined NATO in 2004?", api_name="/ask")["answer"] \
            == f"{SENTENCE_2004} [1]"
        asked += 1
    assert indexer.returncode == 0 and asked > 0, indexer.stdout.read()
    answer = client.predict("Who is the lighthouse keeper of Varna?", api_name="/ask")
    assert answer["answer"] == f"{KEEPER} [1]" and answer["citations"][0]["source"] == "depozite.md"
    assert "Traceback" not in open(log).read()


def test_files_offered_for_download_do_not_pile_up_while_the_server_runs():
    """Each export or cited-document copy gets a folder; a new one removes those older than `keep`."""
    served = ServedFiles("test-served-files-", keep=60)
    try:
        first = served.folder()
        (first / "conversation.md").write_text("an export", encoding="utf-8")
        os.utime(first, (time.time() - 120, time.time() - 120))
        second = served.folder()
        third = served.folder()
        assert sorted(served.root.iterdir()) == sorted([second, third])  # the recent ones stay, the old one went
    finally:
        shutil.rmtree(served.root)


def test_a_server_stopped_by_sigterm_leaves_no_temporary_folders(docs, tmp_path, monkeypatch):
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setenv("TMPDIR", str(temp))  # the server's temporary folders, and nobody else's
    app, url = start_app(tmp_path / "app.log", "--docs", docs, "--index-dir", tmp_path / "index")
    ours = [p.name for p in temp.iterdir() if p.name.startswith("ask-the-documents-")]
    assert any(name.startswith("ask-the-documents-exports-") for name in ours)
    stop(app)  # SIGTERM, as systemd and docker stop send it
    assert app.returncode == 0
    assert [p.name for p in temp.iterdir() if p.name.startswith("ask-the-documents-")] == []
    assert "Traceback" not in (tmp_path / "app.log").read_text()
