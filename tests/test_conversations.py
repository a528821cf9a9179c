"""Conversations in the sidebar, in a real Chromium against the real app: kept in the browser without --auth,
on the server per user with it; both through a reload and a server restart."""
import json
import sqlite3

import pytest

from app.conversation import from_record, to_record
from app.conversation_store import ConversationStore
from tests.conftest import SENTENCE_2004, start_app, stop
from tests.test_browser import BOT, CHROMIUM, HEADLESS_FLAGS, answered, playwright


def listed(page) -> list[str]:
    return [label.strip() for label in page.locator("#conversations label").all_inner_texts()]


def opened(page, url: str) -> None:
    """The page at url, once it shows the index's status: what the tests read, not every asset the page loads."""
    page.goto(url, wait_until="domcontentloaded")
    page.locator("#status").get_by_text("1 document").wait_for(timeout=30_000)


def test_an_answer_kept_as_a_record_opens_as_it_was(seed_pipeline):
    answer = seed_pipeline.ask("Which countries joined NATO in 2004?")
    record = json.loads(json.dumps(to_record(answer)))  # as the browser or SQLite keeps it
    assert from_record(record) == type(answer)(**{**answer.__dict__, "passages": []})
    for broken in ({}, {"question": 1, "text": "x", "abstained": False}, {**record, "citations": [{"n": 1}]}):
        with pytest.raises((KeyError, TypeError, ValueError)):
            from_record(broken)


def test_a_pages_changes_apply_one_after_the_other_though_each_event_brings_an_older_state(tmp_path):
    """An answer's save and a rename triggered together each carry the browser state from before both: neither may
    undo the other. Another page, and a page after it is closed, start from what their browser sends."""
    import gradio as gr

    from app.ui.conversations import _Pages

    store, pages = ConversationStore(tmp_path / "conversations.sqlite"), _Pages(size=2)
    before = {"conversations": {"a": {"id": "a", "title": "NATO", "updated": "1", "answers": []}}, "current": "a"}
    page, other = gr.Request(session_hash="page-1"), gr.Request(session_hash="page-2")
    with pages.kept(store, page, before) as kept:
        kept.save({**kept.get("a"), "title": "NATO enlargement"})
    with pages.kept(store, page, before) as kept:  # the answer's save, triggered with the state from before
        kept.save({**kept.get("a"), "updated": "2", "answers": [{"q": 1}]})
    with pages.kept(store, page, before) as kept:
        assert kept.get("a") == {"id": "a", "title": "NATO enlargement", "updated": "2", "answers": [{"q": 1}]}
    with pages.kept(store, other, before) as kept:
        assert kept.get("a")["title"] == "NATO"
    pages.closed(page)
    with pages.kept(store, page, before) as kept:
        assert kept.get("a")["title"] == "NATO"
    for n in range(3):  # a page beyond the pages remembered goes back to what its browser sends
        with pages.kept(store, gr.Request(session_hash=f"page-{n + 3}"), before):
            pass
    with pages.kept(store, other, {"conversations": {}, "current": None}) as kept:
        assert kept.conversations() == []


def test_the_store_keeps_each_users_conversations_apart(tmp_path):
    store = ConversationStore(tmp_path / "conversations.sqlite")
    store.save("alice", {"id": "a1", "title": "NATO", "updated": "2026-01-01T00:00:00", "answers": [{"q": 1}]})
    store.save("bob", {"id": "b1", "title": "Lavrov", "updated": "2026-01-02T00:00:00", "answers": []})
    assert store.conversations("alice") == [{"id": "a1", "title": "NATO", "updated": "2026-01-01T00:00:00"}]
    assert store.get("bob", "a1") is None and store.get("alice", "a1")["answers"] == [{"q": 1}]
    key = store.browser_key()
    assert ConversationStore(tmp_path / "conversations.sqlite").browser_key() == key  # the same after a restart
    store.delete("alice", "a1")
    assert store.conversations("alice") == [] and [c["id"] for c in store.conversations("bob")] == ["b1"]


def test_conversations_are_kept_in_the_browser_through_a_reload_and_a_restart(docs, tmp_path):
    where = ["--docs", docs, "--index-dir", tmp_path / "index"]
    app, url = start_app(tmp_path / "app.log", *where)
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch_persistent_context(tmp_path / "profile", executable_path=CHROMIUM,
                                                       args=HEADLESS_FLAGS, viewport={"width": 1400, "height": 900})
        try:
            page = browser.pages[0]
            opened(page, url)
            assert listed(page) == []
            assert SENTENCE_2004 in answered(page, "Which countries joined NATO in 2004?")
            page.locator("#conversations label", has_text="Which countries joined NATO in 2004?").wait_for()
            page.locator("#new-conversation").click()
            page.wait_for_function(f"() => document.querySelectorAll(\"{BOT}\").length === 0")
            assert "Lavrov" in answered(page, "Cine este Serghei Lavrov?")
            page.wait_for_function("() => document.querySelectorAll('#conversations label').length === 2")
            assert listed(page) == ["Cine este Serghei Lavrov?", "Which countries joined NATO in 2004?"]

            page.reload()  # the conversation last open comes back
            page.locator(BOT).first.wait_for(timeout=30_000)
            assert "Lavrov" in page.locator("#chat").inner_text() and len(listed(page)) == 2

            page.locator("#conversations label", has_text="NATO").click()
            page.locator("#chat").get_by_text("Slovacia").first.wait_for(timeout=10_000)
            assert "Lavrov" not in page.locator("#chat").inner_text()
            follow_up = answered(page, "and in 2009?")  # read with this conversation's question, not the other's
            assert "Albania şi Croaţia au devenit membre NATO în 2009" in follow_up
            page.wait_for_function(  # kept: the conversation answered last moves to the top of the list
                "() => document.querySelector('#conversations label')?.innerText.includes('NATO in 2004')")
            page.locator("#conversation-name input, #conversation-name textarea").first.fill("NATO enlargement")
            page.locator("#rename-conversation").click()
            page.locator("#conversations label", has_text="NATO enlargement").wait_for(timeout=10_000)
            with page.expect_download() as download:  # the conversation open is the one saved
                page.locator("#export-md").click()
            markdown = open(download.value.path(), encoding="utf-8").read()
            assert "## 1. Which countries joined NATO in 2004?" in markdown and "## 2. and in 2009?" in markdown

            stop(app)
            app, url = start_app(tmp_path / "app-again.log", *where, port=url.rsplit(":", 1)[1].strip("/"))
            opened(page, url)  # the same address: a browser keeps what each address stored
            page.locator(BOT).first.wait_for(timeout=30_000)
            assert listed(page) == ["NATO enlargement", "Cine este Serghei Lavrov?"]
            assert "Albania şi Croaţia" in page.locator("#chat").inner_text()  # the one last open

            page.locator("#delete-conversation").click()
            page.locator("#confirm-delete").click()
            page.wait_for_function("() => document.querySelectorAll('#conversations label').length === 1")
            assert listed(page) == ["Cine este Serghei Lavrov?"] and page.locator(BOT).count() == 0
            page.reload()
            page.locator("#conversations label").first.wait_for(timeout=30_000)
            assert listed(page) == ["Cine este Serghei Lavrov?"]
        finally:
            browser.close()
            stop(app)
    for log in ("app.log", "app-again.log"):
        assert "Traceback" not in (tmp_path / log).read_text()


def test_with_logins_each_user_sees_only_their_own_conversations_from_any_browser(docs, tmp_path):
    where = ["--docs", docs, "--index-dir", tmp_path / "index", "--auth", "alice:wonder", "--auth", "bob:builder"]
    app, url = start_app(tmp_path / "app.log", *where)

    def signed_in(browser, user: str, password: str):
        context = browser.new_context(viewport={"width": 1400, "height": 900})  # a browser with nothing kept
        assert context.request.post(f"{url}login", form={"username": user, "password": password}).ok
        page = context.new_page()
        opened(page, url)
        return page

    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=HEADLESS_FLAGS)
        try:
            alice = signed_in(browser, "alice", "wonder")
            assert SENTENCE_2004 in answered(alice, "Which countries joined NATO in 2004?")
            alice.locator("#conversations label").first.wait_for()
            bob = signed_in(browser, "bob", "builder")
            bob.wait_for_timeout(1000)
            assert listed(bob) == [] and bob.locator(BOT).count() == 0
            assert "Lavrov" in answered(bob, "Cine este Serghei Lavrov?")
            bob.locator("#conversations label").first.wait_for()  # kept

            stop(app)
            app, url = start_app(tmp_path / "app-again.log", *where)
            alice = signed_in(browser, "alice", "wonder")  # another browser, after a restart
            alice.locator(BOT).first.wait_for(timeout=30_000)
            assert listed(alice) == ["Which countries joined NATO in 2004?"]
            assert SENTENCE_2004 in alice.locator("#chat").inner_text()
        finally:
            browser.close()
            stop(app)
    with sqlite3.connect(tmp_path / "index" / "conversations.sqlite") as db:
        rows = db.execute("SELECT user, title FROM conversations ORDER BY user").fetchall()
    assert rows == [("alice", "Which countries joined NATO in 2004?"), ("bob", "Cine este Serghei Lavrov?")]


def test_a_signed_in_users_conversations_are_read_over_the_api(seed_pipeline, docs, tmp_path):
    from gradio_client import Client

    where = ["--docs", docs, "--index-dir", tmp_path / "index", "--auth", "alice:wonder"]
    store = ConversationStore(tmp_path / "index" / "conversations.sqlite")  # as the page keeps them
    answer = seed_pipeline.ask("Which countries joined NATO in 2004?")
    store.save("alice", {"id": "c1", "title": "NATO", "updated": "2026-12-01T10:00:00.000+00:00",
                         "answers": [to_record(answer)]})
    store.save("bob", {"id": "c2", "title": "Lavrov", "updated": "2026-12-01T11:00:00.000+00:00", "answers": []})
    app, url = start_app(tmp_path / "app.log", *where)
    try:
        alice = Client(url, auth=("alice", "wonder"), verbose=False)
        assert alice.predict(api_name="/conversations") == [
            {"id": "c1", "title": "NATO", "updated": "2026-12-01T10:00:00.000+00:00"}]
        kept = alice.predict("c1", api_name="/conversation")
        assert kept["title"] == "NATO" and kept["answers"][0]["answer"] == f"{SENTENCE_2004} [1]"
        markdown = alice.predict("c1", "markdown", api_name="/conversation")
        assert markdown.startswith("# NATO: conversation") and "## 1. Which countries joined NATO in 2004?" in markdown
        with pytest.raises(Exception, match="You have no conversation 'c2'"):  # bob's
            alice.predict("c2", api_name="/conversation")
    finally:
        stop(app)
    assert "Traceback" not in (tmp_path / "app.log").read_text()
