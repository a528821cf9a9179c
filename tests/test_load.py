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
