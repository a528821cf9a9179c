"""The real app on a free port, asked over HTTP with gradio_client."""
import pytest
from gradio_client import Client

from tests.conftest import SENTENCE_2004


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
