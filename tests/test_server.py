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
