"""Named collections: created, filled, asked, renamed and deleted through every way in (the page in Chromium,
gradio_client, the command line, MCP, the OpenAI client), each with its own documents, the default one untouched."""
import asyncio
import json
import shutil

import pytest
from gradio_client import Client, handle_file

from tests.conftest import SEED, SENTENCE_2004, start_app, stop
from tests.test_cli import run

CONTRACT = ("The lease between Eastport Holdings and the Harbour Bakery runs for seven years from 1 March 2024. "
            "The monthly rent is 4,200 euros, and it rises by two percent each January.")


@pytest.fixture
def contract(tmp_path):
    path = tmp_path / "lease.md"
    path.write_text(f"# Lease\n\n{CONTRACT}\n", encoding="utf-8")
    return path


@pytest.fixture
def served(docs, tmp_path):
    """The app with its collections in a folder of the test's, and MCP on."""
    where = ["--docs", docs, "--index-dir", tmp_path / "index", "--collections-dir", tmp_path / "collections"]
    process, url = start_app(tmp_path / "server.log", *where, "--mcp")
    yield url, tmp_path / "server.log", where
    stop(process)


def test_a_collection_over_the_api_mcp_and_openai_keeps_its_documents_apart(served, contract, tmp_path):
    url, log, where = served
    client = Client(url, verbose=False)
    assert client.predict("contracts", api_name="/create_collection") == {"created": "contracts"}
    added = client.predict([handle_file(contract)], "", "contracts", api_name="/upload")
    assert added["added"] == ["lease.md"] and (tmp_path / "collections" / "contracts" / "lease.md").exists()

    listed = client.predict(api_name="/collections")
    assert listed == [{"name": "default", "documents": 1, "default": True},
                      {"name": "contracts", "documents": 1, "default": False}]
    assert [d["source"] for d in client.predict("contracts", api_name="/documents")] == ["lease.md"]
    assert [d["source"] for d in client.predict(api_name="/documents")] == [SEED.name]  # one argument, as before

    answer = client.predict("What is the monthly rent of the Harbour Bakery?", None, "contracts", api_name="/ask")
    assert "4,200 euros" in answer["answer"] and answer["citations"][0]["source"] == "lease.md"
    elsewhere = client.predict("What is the monthly rent of the Harbour Bakery?", api_name="/ask")
    assert all(c["source"] == SEED.name for c in elsewhere["citations"])  # the default collection never sees it
    assert client.predict("Which countries joined NATO in 2004?", api_name="/ask")["answer"] == f"{SENTENCE_2004} [1]"
    with pytest.raises(Exception, match="No collection is named 'nope'; the collections are default, contracts"):
        client.predict("What is the rent?", None, "nope", api_name="/ask")

    import openai  # the official client: a collection is a model, answerer@collection

    v1 = openai.OpenAI(base_url=f"{url}v1", api_key="unused", max_retries=0)
    assert [m.id for m in v1.models.list().data] == ["extractive", "extractive@contracts"]
    reply = v1.chat.completions.create(model="extractive@contracts",
                                       messages=[{"role": "user", "content": "How long does the bakery's lease run?"}])
    assert "seven years" in reply.choices[0].message.content

    from tests.test_mcp import _session

    def mcp(work):
        return asyncio.run(_session(f"{url}gradio_api/mcp/", {}, work))

    found = mcp(lambda s: s.call_tool("collections", {}))
    assert [c["name"] for c in json.loads(found.content[0].text)] == ["default", "contracts"]
    asked = mcp(lambda s: s.call_tool("ask", {"question": "When does the rent rise?", "collection": "contracts"}))
    assert "January" in json.loads(asked.content[0].text)["answer"]

    assert client.predict("contracts", "leases", api_name="/rename_collection") == {"renamed": "contracts",
                                                                                    "to": "leases"}
    answer = client.predict("What is the monthly rent of the Harbour Bakery?", None, "leases", api_name="/ask")
    assert "4,200 euros" in answer["answer"]  # nothing embedded again: the vectors stay with the collection
    assert run("ask", "--json", "--collection", "leases", *where[2:],
               "What is the monthly rent of the Harbour Bakery?").stdout.count("4,200 euros") >= 1

    assert client.predict("leases", api_name="/delete_collection") == {"deleted": "leases", "documents": 1}
    assert not (tmp_path / "collections" / "leases").exists() and (where[1] / SEED.name).exists()
    assert [c["name"] for c in client.predict(api_name="/collections")] == ["default"]
    with pytest.raises(Exception, match="default collection"):
        client.predict("default", api_name="/delete_collection")
    assert "Traceback" not in log.read_text()


def test_collections_on_the_command_line(docs, contract, tmp_path):
    where = ["--docs", docs, "--index-dir", tmp_path / "index", "--collections-dir", tmp_path / "collections"]
    added = run("add", "--collection", "contracts", *where[2:], contract)
    assert added.returncode == 0 and "Added: lease.md" in added.stdout
    asked = run("ask", "--json", "--collection", "contracts", *where[2:], "What is the monthly rent?")
    assert json.loads(asked.stdout)["citations"][0]["source"] == "lease.md"
    assert run("index", *where).returncode == 0
    listed = run("documents", "--json", *where)  # the default collection, as before
    assert [d["source"] for d in json.loads(listed.stdout)] == [SEED.name]
    archive = tmp_path / "contracts.zip"  # a collection travels on its own
    assert run("export", "--collection", "contracts", *where[2:], archive).returncode == 0
    loaded = run("import", "--collection", "copy", *where[2:], archive)
    assert loaded.returncode == 0 and "1 documents" in loaded.stdout, loaded.stderr
    asked = run("ask", "--json", "--collection", "copy", *where[2:], "What is the monthly rent?")
    assert json.loads(asked.stdout)["citations"][0]["source"] == "lease.md"
    missing = run("ask", "--collection", "nope", *where[2:], "What is the rent?")
    assert missing.returncode == 2 and "No collection is named 'nope'" in missing.stderr
    assert "Traceback" not in missing.stderr


def choose(page, collection: str) -> None:
    """Picks a collection in the selector, typing its name to find it as a user of a long list would."""
    picker = page.locator("#collection input")
    picker.click()
    picker.fill(collection)
    page.get_by_role("option", name=collection, exact=True).click(timeout=60_000)


def test_collections_in_the_browser(served, contract, tmp_path):
    """Create one, upload to it, ask, switch back, delete it once confirmed."""
    from tests.test_browser import BOT, CHROMIUM, HEADLESS_FLAGS, answered, playwright

    url, log, _ = served
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=HEADLESS_FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(url)
        page.locator("#status").get_by_text("1 document").wait_for(timeout=30_000)
        page.locator("#manage-collections").get_by_text("Manage collections").click()
        page.locator("#collection-name input, #collection-name textarea").first.fill("contracts")
        page.locator("#create-collection").click()
        page.locator("#collections-result").get_by_text("Created contracts").wait_for(timeout=30_000)
        page.locator("#status").get_by_text("0 documents").wait_for(timeout=30_000)  # switched to it

        page.locator("#upload input[type=file]").set_input_files([contract])
        page.locator("#documents-result").get_by_text("Added: lease.md").wait_for(timeout=60_000)
        assert "4,200 euros" in answered(page, "What is the monthly rent of the Harbour Bakery?")

        choose(page, "default")
        page.wait_for_function(f"() => !document.querySelector('#documents').innerText.includes('lease.md') && "
                               f"document.querySelector('#documents').innerText.includes('{SEED.name}')", timeout=60_000)
        page.locator("#status").get_by_text("1 document").wait_for(timeout=30_000)
        page.wait_for_function(f"() => document.querySelectorAll(\"{BOT}\").length === 0",
                               timeout=60_000)  # a new conversation
        assert SENTENCE_2004 in answered(page, "Which countries joined NATO in 2004?")

        choose(page, "contracts")
        page.wait_for_function("() => document.querySelector('#documents').innerText.includes('lease.md')",
                               timeout=60_000)
        page.locator("#delete-collection").click()
        page.locator("#keep-collection").click()  # changed my mind: nothing is deleted
        assert (tmp_path / "collections" / "contracts" / "lease.md").exists()
        page.locator("#delete-collection").click()
        page.locator("#confirm-delete-collection").click()
        page.locator("#collections-result").get_by_text("Deleted contracts and its 1 document(s)").wait_for(
            timeout=30_000)
        page.locator("#status").get_by_text("1 document").wait_for(timeout=30_000)
        assert not (tmp_path / "collections" / "contracts").exists()
        browser.close()
    assert "Traceback" not in log.read_text()


def test_the_searched_line_of_a_collection_deleted_meanwhile_is_left_as_it_is(seed_pipeline):
    """The documents selector of a page can change just as its collection is deleted (on that page or another)."""
    import gradio as gr

    from app.collections import Collections
    from app.ui.chat import searched_line

    collections = Collections(seed_pipeline)
    assert searched_line(collections, [], None) == "Searching all 1 document(s)."
    assert searched_line(collections, [], "contracts") == gr.skip()


@pytest.fixture(autouse=True)
def _no_collections_left_in_the_repository():
    """The tests keep their collections in their own folders, never in the checkout's."""
    from tests.conftest import ROOT

    before = (ROOT / "collections").exists()
    yield
    if not before and (ROOT / "collections").exists():
        shutil.rmtree(ROOT / "collections")
        pytest.fail("a test wrote collections/ into the checkout")


def test_a_collection_on_a_chroma_server(docs, contract, tmp_path):
    """Collections of a server whose index is a `chroma run`: each its own Chroma collection there."""
    from tests.conftest import start_chroma

    chroma, chroma_url = start_chroma(tmp_path / "chroma")
    app, url = start_app(tmp_path / "server.log", "--docs", docs, "--chroma-url", chroma_url,
                         "--collections-dir", tmp_path / "collections", "--index-dir", tmp_path / "unused")
    try:
        client = Client(url, verbose=False)
        client.predict("contracts", api_name="/create_collection")
        assert client.predict([handle_file(contract)], "", "contracts", api_name="/upload")["added"] == ["lease.md"]
        answer = client.predict("What is the monthly rent of the Harbour Bakery?", None, "contracts", api_name="/ask")
        assert "4,200 euros" in answer["answer"]
        assert client.predict("Which countries joined NATO in 2004?", api_name="/ask")["answer"] == \
            f"{SENTENCE_2004} [1]"
        assert client.predict("contracts", api_name="/delete_collection") == {"deleted": "contracts", "documents": 1}
    finally:
        stop(app)
        stop(chroma)
    assert not (tmp_path / "unused").exists() and "Traceback" not in (tmp_path / "server.log").read_text()


def test_a_file_dropped_into_a_collections_folder_is_indexed_and_answered_over_the_api(served, tmp_path):
    import time

    url, log, _ = served
    client = Client(url, verbose=False)
    client.predict("contracts", api_name="/create_collection")
    (tmp_path / "collections" / "contracts" / "lease.md").write_text(f"# Lease\n\n{CONTRACT}\n", encoding="utf-8")
    deadline = time.monotonic() + 60
    while [d["source"] for d in client.predict("contracts", api_name="/documents")] != ["lease.md"]:
        assert time.monotonic() < deadline, "the folder watch did not index the file within 60 s"
        time.sleep(1)
    answer = client.predict("What is the monthly rent of the Harbour Bakery?", None, "contracts", api_name="/ask")
    assert "4,200 euros" in answer["answer"]
    assert [d["source"] for d in client.predict(api_name="/documents")] == [SEED.name]
    assert "Traceback" not in log.read_text()
