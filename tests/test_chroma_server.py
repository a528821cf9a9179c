"""The index on a real Chroma server (`chroma run`) instead of a local directory."""
import pytest

from app.config import Settings
from app.errors import StoreError
from app.pipeline import Pipeline
from tests.conftest import SENTENCE_2004, start_chroma, stop


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory):
    process, url = start_chroma(tmp_path_factory.mktemp("chroma-server"))
    yield url
    stop(process)


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
