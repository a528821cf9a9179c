"""The OpenAI-compatible endpoint, driven by the official `openai` client against the running app."""
import httpx
import openai
import pytest

from tests.conftest import SENTENCE_2004, start_app, stop

KEY = "sk-test-documents"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    from tests.conftest import SEED

    docs = tmp_path_factory.mktemp("openai-docs")
    (docs / SEED.name).write_bytes(SEED.read_bytes())
    tmp = tmp_path_factory.mktemp("openai-app")
    process, url = start_app(tmp / "server.log", "--docs", docs, "--index-dir", tmp / "index", "--api-key", KEY)
    yield url
    stop(process)


@pytest.fixture
def client(served):
    return openai.OpenAI(base_url=served + "v1", api_key=KEY, max_retries=0)


def test_the_models_are_the_answerers(client):
    assert [model.id for model in client.models.list()] == ["extractive"]


def test_a_completion_answers_with_markers_sources_and_citations(client):
    reply = client.chat.completions.create(model="extractive", messages=[
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "Which countries joined NATO in 2004?"}])
    text = reply.choices[0].message.content
    assert SENTENCE_2004 in text and "[1]" in text
    assert "\n\nSources:\n[1] 000_f0b8fe8fdb47aa20.txt, characters " in text
    assert reply.choices[0].finish_reason == "stop" and reply.model == "extractive"
    cited = reply.model_extra["citations"][0]
    assert cited["source"] == "000_f0b8fe8fdb47aa20.txt" and SENTENCE_2004 in cited["quote"]["text"]


def test_a_streamed_completion_gives_the_same_answer(client):
    stream = client.chat.completions.create(model="extractive", stream=True, messages=[
        {"role": "user", "content": "Which countries joined NATO in 2004?"}])
    chunks = list(stream)
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks)
    assert SENTENCE_2004 in text and "Sources:" in text
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert chunks[-1].model_extra["citations"][0]["source"] == "000_f0b8fe8fdb47aa20.txt"


def test_earlier_turns_are_read_for_a_follow_up(client):
    first = client.chat.completions.create(model="extractive", messages=[
        {"role": "user", "content": "Which countries joined NATO in 2004?"}]).choices[0].message.content
    reply = client.chat.completions.create(model="extractive", messages=[
        {"role": "user", "content": "Which countries joined NATO in 2004?"},
        {"role": "assistant", "content": first},
        {"role": "user", "content": "and in 1999?"}])
    assert "Understood as:" in reply.choices[0].message.content
    assert "1999" in reply.model_extra["answer"]["answer"]


def test_a_wrong_key_an_unknown_model_and_a_bad_request_are_refused_clearly(served, client):
    wrong = openai.OpenAI(base_url=served + "v1", api_key="sk-wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError, match="A valid API key is required"):
        wrong.models.list()
    with pytest.raises(openai.AuthenticationError):
        wrong.chat.completions.create(model="extractive", messages=[{"role": "user", "content": "Hi?"}])
    with pytest.raises(openai.NotFoundError, match="GET /v1/models"):
        client.chat.completions.create(model="gpt-9", messages=[{"role": "user", "content": "Hi?"}])
    with pytest.raises(openai.BadRequestError, match="no user message"):
        client.chat.completions.create(model="extractive", messages=[{"role": "system", "content": "Hi"}])
    reply = httpx.post(served + "v1/chat/completions", content="not json", timeout=30,
                       headers={"Authorization": f"Bearer {KEY}"})
    assert reply.status_code == 400 and "not JSON" in reply.json()["error"]["message"]
    assert httpx.get(served + "health", timeout=30).json()["status"] == "ok"  # still serving
