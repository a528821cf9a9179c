"""The MCP server (Gradio's, `--mcp`), driven by the `mcp` Python SDK's own client against the running app."""
import asyncio
import json

import httpx
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from tests.conftest import SEED, SENTENCE_2004, start_app, stop

LOGIN = ("reader", "s3cret-words")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    docs = tmp_path_factory.mktemp("mcp-docs")
    (docs / SEED.name).write_bytes(SEED.read_bytes())
    tmp = tmp_path_factory.mktemp("mcp-app")
    process, url = start_app(tmp / "server.log", "--docs", docs, "--index-dir", tmp / "index", "--mcp",
                             "--auth", ":".join(LOGIN))
    yield url + "gradio_api/mcp/", tmp / "server.log"
    stop(process)


async def _session(url: str, headers: dict, work):
    async with httpx.AsyncClient(headers=headers, timeout=120) as http, \
            streamable_http_client(url, http_client=http) as (read, write, _), ClientSession(read, write) as session:
        await session.initialize()
        return await work(session)


def run(url: str, work, token: str = ":".join(LOGIN)):
    return asyncio.run(_session(url, {"Authorization": f"Bearer {token}"}, work))


def test_the_tools_are_ask_documents_and_collections_with_descriptions_an_agent_can_act_on(served):
    url, _ = served
    tools = {tool.name: tool for tool in run(url, lambda s: s.list_tools()).tools}
    assert sorted(tools) == ["ask", "collections", "documents"]  # nothing that uploads or deletes
    assert "quoting the sentence that answers it" in tools["ask"].description
    assert "abstained" in tools["ask"].description
    assert {"question", "sources", "collection"} <= set(tools["ask"].inputSchema["properties"])
    assert "source name" in tools["documents"].description and "collection" in tools["documents"].inputSchema[
        "properties"]
    assert "separate sets of documents" in tools["collections"].description


def test_ask_gives_the_cited_answer(served):
    url, _ = served
    result = run(url, lambda s: s.call_tool("ask", {"question": "Which countries joined NATO in 2004?"}))
    assert not result.isError
    answer = json.loads(result.content[0].text)
    assert SENTENCE_2004 in answer["answer"] and answer["abstained"] is False and answer["confidence"] > 0.5
    cited = answer["citations"][0]
    assert cited["source"] == SEED.name and SENTENCE_2004 in cited["quote"]["text"]
    listed = json.loads(run(url, lambda s: s.call_tool("documents", {})).content[0].text)
    assert [d["source"] for d in listed] == [SEED.name]


def test_the_hidden_endpoints_cannot_be_called_and_a_missing_login_is_refused(served):
    url, log = served
    result = run(url, lambda s: s.call_tool("delete", {"source": SEED.name}))
    assert result.isError
    listed = json.loads(run(url, lambda s: s.call_tool("documents", {})).content[0].text)
    assert [d["source"] for d in listed] == [SEED.name]  # still there
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic cmVhZGVyOndyb25n"}):
        reply = httpx.post(url, headers={**headers, "Accept": "application/json, text/event-stream"},
                           json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, timeout=30)
        assert reply.status_code == 401 and "A valid API key is required" in reply.text
    with pytest.raises(Exception):  # noqa: B017 - the SDK wraps the 401 in its own exception group
        run(url, lambda s: s.list_tools(), token="wrong")
    assert "Traceback" not in log.read_text()
