"""The index on a real Chroma server (`chroma run`) instead of a local directory."""
import os
import shutil
import socket
import subprocess
import time

import pytest

from app.config import Settings
from app.errors import StoreError
from app.pipeline import Pipeline
from tests.conftest import SENTENCE_2004, free_port


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory):
    chroma = shutil.which("chroma")
    assert chroma, "the chroma command comes with the chromadb package: pip install -r requirements.txt"
    port = free_port()
    process = subprocess.Popen(
        [chroma, "run", "--path", str(tmp_path_factory.mktemp("chroma-server")), "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, env={**os.environ, "ANONYMIZED_TELEMETRY": "False"})
    deadline = time.time() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert process.poll() is None and time.time() < deadline, "chroma run did not start"
            time.sleep(0.3)
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=30)


def test_index_and_answer_through_a_chroma_server(docs, tmp_path, chroma_url):
    settings = Settings(docs=docs, index_dir=tmp_path / "unused", chroma_url=chroma_url)
    first = Pipeline(settings)
    assert first.index(progress=False).chunks_embedded == 14
    again = Pipeline(settings)  # a second process would find the same collections on the server
    assert again.index(progress=False).chunks_embedded == 0
    assert again.ask("Which countries joined NATO in 2004?").text == f"{SENTENCE_2004} [1]"
    assert not (tmp_path / "unused").exists()


def test_an_unreachable_chroma_server_is_a_clear_error(docs, tmp_path):
    with pytest.raises(StoreError, match=r"Cannot open the index at http://127\.0\.0\.1:9"):
        Pipeline(Settings(docs=docs, index_dir=tmp_path, chroma_url="http://127.0.0.1:9"))
