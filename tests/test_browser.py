"""The chat in a real browser (Debian's Chromium driven by Playwright) against the real app."""
import shutil

import pytest

from tests.conftest import SENTENCE_2004

playwright = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
HEADLESS_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update"]


@pytest.fixture
def page():
    if not CHROMIUM:
        pytest.fail("Chromium is not installed: apt-get install chromium (.ci/run does this)")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=HEADLESS_FLAGS)
        yield browser.new_page()
        browser.close()


@pytest.fixture
def hostile_docs(docs):
    (docs / "hostile.md").write_text(
        "Despre Muntenegru: <img src=x onerror=alert(1)> Muntenegru a aderat la NATO în 2017.\n",
        encoding="utf-8")
    return docs


def ask(page, question: str):
    page.locator("#question textarea").fill(question)
    page.locator("#question textarea").press("Enter")
    bot = page.locator("#chat .message.bot, #chat [data-testid='bot']").last
    bot.wait_for(timeout=60_000)
    return bot


def test_chat_shows_answer_markers_and_the_cited_passage_highlighted(server, page):
    url, _ = server
    page.goto(url)
    assert "1 document(s)" in page.locator("#status").inner_text()
    assert "multilingual-e5-small" in page.locator("#status").inner_text()
    bot = ask(page, "Which countries joined NATO in 2004?")
    bot.locator("mark").wait_for(timeout=60_000)
    assert bot.locator("mark").inner_text() == SENTENCE_2004
    text = bot.inner_text()
    assert f"{SENTENCE_2004} [1]" in text and "[1] 000_f0b8fe8fdb47aa20.txt" in text


def test_markup_in_a_document_shows_as_text(hostile_docs, server, page):
    url, _ = server
    alerts = []
    page.on("dialog", lambda dialog: (alerts.append(dialog.message), dialog.dismiss()))
    page.goto(url)
    bot = ask(page, "Când a aderat Muntenegru la NATO?")
    bot.locator(".citation").first.wait_for(timeout=60_000)
    assert "<img src=x onerror=alert(1)>" in bot.inner_text()
    assert page.locator("#chat img[src='x']").count() == 0 and alerts == []
