"""Embeddings from a model server (`--embeddings openai:MODEL@URL`, `ollama:MODEL@URL`), through LangChain's
clients, against a loopback stand-in that computes the bundled e5's real vectors (tests/embedding_servers.py)."""
import pytest
import yaml

from app.config import Settings
from app.errors import AppError
from app.pipeline import Pipeline
from index import embeddings
from tests.conftest import ROOT, SEED
from tests.embedding_servers import MODEL, E5EmbeddingServer


@pytest.fixture(scope="module")
def server():
    found = E5EmbeddingServer()
    yield found
    found.close()


def seed_questions() -> list[dict]:
    return yaml.safe_load((ROOT / "eval" / "seed_questions.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("kind", ["openai", "ollama"])
def test_an_index_built_through_a_server_answers_like_the_model_in_process(server, docs, tmp_path, kind):
    url = f"{server.url}/v1" if kind == "openai" else server.url
    remote = Pipeline(Settings(docs=docs, index_dir=tmp_path / "remote", embeddings=f"{kind}:{MODEL}@{url}"))
    local = Pipeline(Settings(docs=docs, index_dir=tmp_path / "local"))
    assert remote.index(progress=False).chunks_embedded == local.index(progress=False).chunks_embedded > 0
    assert remote.health()["embeddings"] == f"{kind}:{MODEL}"
    assert any(len(r.get("input", [])) > 1 for r in server.requests)  # passages go in batches
    questions = seed_questions()
    assert len(questions) >= 10
    for question in questions:
        a, b = remote.ask(question["question"]), local.ask(question["question"])
        assert a.abstained == b.abstained, question["question"]
        assert [c.passage.chunk.id for c in a.citations][:1] == [c.passage.chunk.id for c in b.citations][:1]
        assert a.text == b.text, question["question"]


def test_a_server_that_is_down_or_lacks_the_model_is_said_clearly(server, docs, tmp_path):
    with pytest.raises(AppError, match=r"The embedding server at http://127.0.0.1:9/v1 failed after 3 tries .* Start "
                                       r"it, or check the URL"):
        embeddings.get("openai:multilingual-e5-small@http://127.0.0.1:9/v1")
    with pytest.raises(AppError, match=r"does not serve the model 'no-such-model'"):
        embeddings.get(f"openai:no-such-model@{server.url}/v1")
    with pytest.raises(AppError, match=r"does not serve the model 'no-such-model'.*ollama pull no-such-model"):
        embeddings.get(f"ollama:no-such-model@{server.url}")
    with pytest.raises(AppError, match=r"openai:MODEL@URL"):
        embeddings.get("openai:multilingual-e5-small")


def test_an_index_is_never_queried_with_another_model(server, docs, tmp_path):
    """The collection records the model: the same folder through the server and in-process are two indexes."""
    index = tmp_path / "index"
    remote = Pipeline(Settings(docs=docs, index_dir=index, embeddings=f"openai:{MODEL}@{server.url}/v1"))
    remote.index(progress=False)
    local = Pipeline(Settings(docs=docs, index_dir=index))
    assert local.store.count() == 0 and remote.store.count() > 0
    assert local.index(progress=False).added == [SEED.name]
