"""The real app under load: concurrent users while an upload is indexed, and a full queue."""
import json
import subprocess
import sys
import time

import httpx
import pytest
from gradio_client import Client

from tests.conftest import ROOT, SENTENCE_2004, start_app, stop
from tests.llm_servers import FakeLLMServer

QUESTION = "Which countries joined NATO in 2004?"


def test_answers_from_many_threads_are_the_answers_given_alone(seed_pipeline):
    """The serving threads share one pipeline: sentence splitting, embedding and the store."""
    from concurrent.futures import ThreadPoolExecutor

    from app.evaluation import load_questions

    questions = [q.question for q in load_questions(ROOT / "eval" / "seed_questions.yaml")]
    alone = {q: seed_pipeline.ask(q).text for q in questions}
    with ThreadPoolExecutor(8) as pool:
        together = list(pool.map(lambda q: (q, seed_pipeline.ask(q).text), questions * 4))
    assert [(q, alone[q]) for q in questions * 4] == together


def test_users_get_their_own_answers_while_an_upload_is_indexed(tmp_path):
    """scripts/load_test.py, short: 8 users for 10 s over /ask while a 6-page PDF goes through /upload."""
    out = tmp_path / "figures.json"
    done = subprocess.run([sys.executable, "scripts/load_test.py", "--users", "8", "--seconds", "10",
                           "--pages", "6", "--json", str(out)], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    assert out.exists(), done.stdout + done.stderr
    figures = json.loads(out.read_text())
    assert figures["failures"] == 0, figures["failure_examples"]
    assert figures["wrong_answers"] == 0, figures["wrong_examples"]
    assert figures["upload"]["added"] == ["districts.pdf"] and figures["upload"]["refused"] == []
    assert figures["answered"] >= 8 and figures["rss_start_mb"] > 0
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture
def hang():
    """A stand-in LLM server (tests/llm_servers.py) that accepts each request and never answers,
    so that requests stay in the app's queue for as long as the test needs."""
    server = FakeLLMServer("hang")
    yield server
    server.close()


def test_a_full_queue_says_the_server_is_busy(docs, tmp_path, hang):
    log = tmp_path / "server.log"
    process, url = start_app(log, "--docs", docs, "--index-dir", tmp_path / "index", "--concurrency", "1",
                             "--max-queue", "1", "--llm-timeout", "60")
    try:
        spec = f"openai:m@{hang.url}/v1"
        working = Client(url, verbose=False).submit(QUESTION, spec, api_name="/ask_llm")
        deadline = time.time() + 30
        while not hang.requests:  # the first request is being worked on, waiting for the LLM
            assert time.time() < deadline, open(log).read()
            time.sleep(0.1)
        waiting = Client(url, verbose=False).submit(QUESTION, spec, api_name="/ask_llm")
        time.sleep(2)  # the second one waits in the queue, which is now full

        reply = httpx.post(f"{url}gradio_api/call/ask", json={"data": [QUESTION]}, timeout=30)
        assert reply.status_code == 503
        assert reply.json() == {"detail": "The server is busy: its queue of waiting requests "
                                          "is full (--max-queue 1). Try again in a moment."}
        with pytest.raises(Exception, match=r"Queue is full! Please try again\."):
            Client(url, verbose=False).predict(QUESTION, api_name="/ask")

        hang.release.set()  # the LLM gives up: both queued requests end with the extractive answer
        for job in (working, waiting):
            result = job.result(timeout=120)
            assert result["answer"] == f"{SENTENCE_2004} [1]"
        assert Client(url, verbose=False).predict(QUESTION, api_name="/ask")["answer"] == f"{SENTENCE_2004} [1]"
        assert "Traceback" not in open(log).read()
    finally:
        stop(process)


def test_a_minute_of_asking_uploading_and_deleting_fails_nothing_and_leaks_nothing(tmp_path):
    """scripts/soak.py, short: 4 users ask while 2 upload, ask about and delete documents, for 60 s."""
    out = tmp_path / "soak.json"
    done = subprocess.run([sys.executable, "scripts/soak.py", "--seconds", "60", "--sample", "5", "--json", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.exists(), done.stdout + done.stderr
    figures = json.loads(out.read_text())
    assert figures["failures"] == 0, figures["failure_examples"]
    assert figures["wrong_answers"] == 0, figures["wrong_examples"]
    assert figures["questions"] > 20 and figures["upload_cycles"] > 3
    assert figures["rss_growth_percent"] <= 10 and figures["open_files_growth_percent"] <= 10, figures["samples"]
    assert done.returncode == 0, done.stdout + done.stderr


def test_mcp_and_v1_floods_are_admitted_or_told_busy_while_the_page_answers(docs, tmp_path):
    """50 MCP tool calls and 50 /v1 completions at once, through the mcp SDK's and openai's own clients, against
    --concurrency 2 --max-queue 8: each one answers or gets the busy error of its protocol, and an /ask made
    from the page's side meanwhile answers within 3 s."""
    import asyncio
    import threading

    import openai
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    log = tmp_path / "server.log"
    process, url = start_app(log, "--docs", docs, "--index-dir", tmp_path / "index", "--mcp", "--concurrency", "2",
                             "--max-queue", "8")
    busy = "The server is busy"
    try:
        page = Client(url, verbose=False)
        assert page.predict(QUESTION, api_name="/ask")["answer"] == f"{SENTENCE_2004} [1]"  # warm
        started, timed = threading.Event(), {}

        def ask_from_the_page():
            started.wait(120)
            time.sleep(0.5)  # the flood is under way
            began = time.perf_counter()
            timed["answer"] = page.predict(QUESTION, api_name="/ask")["answer"]
            timed["seconds"] = time.perf_counter() - began

        async def over_mcp(session):
            result = await session.call_tool("ask", {"question": QUESTION})
            text = result.content[0].text
            if result.isError:
                assert busy in text, text
                return "busy"
            assert json.loads(text)["answer"] == f"{SENTENCE_2004} [1]", text
            return "answered"

        async def over_v1(client):
            try:
                reply = await client.chat.completions.create(model="extractive",
                                                             messages=[{"role": "user", "content": QUESTION}])
            except openai.APIStatusError as exc:
                assert exc.status_code == 503 and busy in exc.message, exc
                assert int(exc.response.headers["retry-after"]) > 0
                return "busy"
            assert reply.choices[0].message.content.startswith(SENTENCE_2004), reply
            return "answered"

        async def flood():
            async with httpx.AsyncClient(timeout=300) as http, \
                    streamable_http_client(url + "gradio_api/mcp/", http_client=http) as (read, write, _), \
                    ClientSession(read, write) as session:
                await session.initialize()
                v1 = openai.AsyncOpenAI(base_url=url + "v1", api_key="none", max_retries=0, timeout=300)
                calls = [over_mcp(session) for _ in range(50)] + [over_v1(v1) for _ in range(50)]
                started.set()
                outcomes = await asyncio.gather(*calls)
                return outcomes[:50], outcomes[50:]

        side = threading.Thread(target=ask_from_the_page)
        side.start()
        mcp_outcomes, v1_outcomes = asyncio.run(flood())
        side.join(120)
        for outcomes in (mcp_outcomes, v1_outcomes):
            assert set(outcomes) == {"answered", "busy"}, outcomes
        assert mcp_outcomes.count("answered") + v1_outcomes.count("answered") >= 10
        assert timed["answer"] == f"{SENTENCE_2004} [1]" and timed["seconds"] < 3, timed
        # once the flood is over, every way in answers again
        assert page.predict(QUESTION, api_name="/ask")["answer"] == f"{SENTENCE_2004} [1]"
        assert "Traceback" not in log.read_text() and " 500 " not in log.read_text()
    finally:
        stop(process)


def test_admission_is_first_come_first_served_and_a_caller_that_goes_away_leaves_the_line():
    import asyncio

    from app.ui.admission import Admission, Busy

    async def scenario():
        admission = Admission(concurrency=1, max_queue=2)
        first = admission.admit()
        await first.start()
        second, third = admission.admit(), admission.admit()
        with pytest.raises(Busy, match=r"The server is busy: 1 requests are at work and 2 are waiting"):
            admission.admit()
        order = []

        async def wait(ticket, name):
            async with ticket:
                order.append(name)

        waiting_third = asyncio.create_task(wait(third, "third"))
        waiting_second = asyncio.create_task(wait(second, "second"))
        await asyncio.sleep(0.1)
        assert order == [] and admission.load() == {"working": 1, "waiting": 2}
        first.close()
        await asyncio.gather(waiting_second, waiting_third)
        assert order == ["second", "third"] and admission.load() == {"working": 0, "waiting": 0}

        blocker, leaving = admission.admit(), admission.admit()
        await blocker.start()
        task = asyncio.create_task(leaving.start())
        await asyncio.sleep(0.1)
        task.cancel()  # the caller disconnected while it waited
        with pytest.raises(asyncio.CancelledError):
            await task
        assert admission.load() == {"working": 1, "waiting": 0}
        blocker.close()
        dropped = admission.admit()
        await dropped.start()
        del dropped  # a ticket at work dropped without close() (a stream never sent) gives its place back
        assert admission.load() == {"working": 0, "waiting": 0}

    asyncio.run(scenario())
