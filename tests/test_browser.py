"""The chat in a real browser (Debian's Chromium driven by Playwright) against the real app."""
import re
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


def test_chat_shows_answer_markers_and_the_cited_passage_highlighted(server, page, screenshots):
    url, _ = server
    outside = []  # the app must work with no internet: the page asks nothing of other hosts
    page.on("request", lambda r: None if r.url.startswith((url, "data:", "blob:")) else outside.append(r.url))
    page.goto(url)
    # the status line, once the page's first refresh (which shows a timer meanwhile) is done
    playwright.expect(page.locator("#status")).to_have_text(re.compile(r"^\s*1 document · \d+ passages · e5-small\s*$"))
    bot = ask(page, "Which countries joined NATO in 2004?")
    bot.locator("mark").wait_for(timeout=60_000)
    assert bot.locator("mark").inner_text() == SENTENCE_2004
    text = bot.inner_text()
    assert f"{SENTENCE_2004} [1]" in text and "[1] 000_f0b8fe8fdb47aa20.txt" in text
    assert re.search(r"confidence \d+%", text)  # how surely the documents answer, beside the answer
    bot.screenshot(path=screenshots / "answer.png")
    ask(page, "When did Albania and Croatia become NATO members?")
    exact = page.locator("#chat mark b", has_text="2009")  # the exact answer, bold inside the highlight
    exact.wait_for(timeout=60_000)
    assert exact.inner_text() == "2009"
    highlight = page.locator("#chat mark", has=page.locator("b", has_text="2009"))
    assert "Albania şi Croaţia au devenit membre NATO în 2009" in highlight.first.inner_text()
    assert outside == []


def test_markup_in_a_document_shows_as_text(hostile_docs, server, page):
    url, _ = server
    alerts = []
    page.on("dialog", lambda dialog: (alerts.append(dialog.message), dialog.dismiss()))
    page.goto(url)
    bot = ask(page, "Când a aderat Muntenegru la NATO?")
    bot.locator(".citation").first.wait_for(timeout=60_000)
    assert "<img src=x onerror=alert(1)>" in bot.inner_text()
    assert page.locator("#chat img[src='x']").count() == 0 and alerts == []


@pytest.fixture
def slow_llm(monkeypatch):
    """A stand-in LLM server (tests/llm_servers.py) that streams 200 words, one each 0.25 s;
    Ollama's client finds it through OLLAMA_HOST, set before the app starts."""
    from tests.llm_servers import FakeLLMServer

    llm = FakeLLMServer("slow")
    monkeypatch.setenv("OLLAMA_HOST", llm.url)
    yield llm
    llm.close()


def test_llm_answers_stream_into_the_chat_and_stop_ends_generation(slow_llm, server, page):
    url, _ = server
    page.goto(url)
    page.get_by_text("Answerer settings").click()
    page.locator("#answerer textarea, #answerer input").first.fill(f"openai:slow@{slow_llm.url}/v1")
    page.locator("#answerer textarea, #answerer input").first.press("Enter")
    page.get_by_text(re.compile(r"Answering with\s+openai:slow")).wait_for(timeout=30_000)  # the choice reached the app
    bot = ask(page, "Which countries joined NATO in 2004?")
    page.wait_for_function(
        "() => (document.querySelector('#chat .message.bot:last-of-type, #chat [data-testid=bot]')"
        "?.innerText.match(/word/g) || []).length >= 3", timeout=30_000)
    streamed = bot.inner_text().count("word")
    assert 3 <= streamed < 200  # visible while the reply is still coming
    page.locator("#stop").click()
    assert slow_llm.disconnected.wait(15), "generation went on after Stop"


def test_closing_the_tab_ends_generation(slow_llm, server, page):
    url, log = server
    page.goto(url)
    page.get_by_text("Answerer settings").click()
    page.locator("#answerer textarea, #answerer input").first.fill("ollama:slow")
    page.locator("#answerer textarea, #answerer input").first.press("Enter")
    page.get_by_text(re.compile(r"Answering with\s+ollama:slow")).wait_for(timeout=30_000)  # the choice reached the app
    ask(page, "Which countries joined NATO in 2004?")
    try:
        page.wait_for_function(
            "() => (document.querySelector('#chat')?.innerText.match(/word/g) || []).length >= 3", timeout=30_000)
    except playwright.TimeoutError:
        pytest.fail(f"no streamed words; chat: {page.locator('#chat').inner_text()!r}; "
                    f"LLM requests: {slow_llm.requests!r}; app log: {open(log).read()}")
    page.close()
    assert slow_llm.disconnected.wait(20), "generation went on after the tab closed"


def test_upload_ask_and_remove_documents_in_the_page(server, page, tmp_path, screenshots):
    """Upload a PDF and a DOCX through the page, watch the progress, ask about both, remove one."""
    from tests.documents import make_docx, make_pdf, multipage_html
    from tests.test_uploads import DOCX_BLOCKS, PAGES

    url, log = server
    pdf = make_pdf(multipage_html(PAGES * 3, "Eastport water report"), tmp_path / "water-report.pdf")
    word = make_docx(tmp_path / "raport-biblioteca.docx", DOCX_BLOCKS)
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto(url)
    page.locator("#status").get_by_text("1 document ·").wait_for(timeout=30_000)  # once the page has loaded

    page.locator("#upload input[type=file]").set_input_files([pdf, word])
    page.wait_for_function(  # the progress shown while the files are read and embedded
        "() => /Reading|Embedding/.test(document.querySelector('#documents-panel').innerText)", timeout=60_000)
    page.screenshot(path=screenshots / "upload.png")
    result = page.locator("#documents-result")
    result.get_by_text("Added").wait_for(timeout=120_000)
    assert "water-report.pdf" in result.inner_text() and "raport-biblioteca.docx" in result.inner_text()
    page.locator("#status").get_by_text("3 documents ·").wait_for(timeout=10_000)  # without a reload
    table = page.locator("#documents").inner_text()
    assert "water-report.pdf" in table and "pdf" in table and "12" in table  # 12 pages
    page.locator("#documents-panel").screenshot(path=screenshots / "documents.png")

    answer = answered(page, "How many tests did the laboratory run on treated water?")
    assert "12,480 tests" in answer and "water-report.pdf" in answer and "page 3" in answer
    answer = answered(page, "How many books did the municipal library lend in 2025?")
    assert "86.500" in answer and "raport-biblioteca.docx" in answer

    page.locator("#remove-choice input").click()
    page.get_by_role("option", name="water-report.pdf").click()
    page.locator("#remove").click()
    result.get_by_text("Removed water-report.pdf").wait_for(timeout=30_000)
    page.locator("#status").get_by_text("2 documents ·").wait_for(timeout=10_000)
    assert "water-report.pdf" not in page.locator("#documents").inner_text()
    assert "water-report.pdf" not in answered(page, "How many tests did the laboratory run on treated water?")
    assert "Traceback" not in open(log).read()


BOT = "#chat .message.bot, #chat [data-testid='bot']"


def answered(page, question: str) -> str:
    """Asks in the chat and waits for the finished answer: cited passages, an abstention or a warning."""
    before = page.locator(BOT).count()
    ask(page, question)
    page.wait_for_function(
        """([selector, before]) => {
             const bots = document.querySelectorAll(selector);
             if (bots.length <= before) return false;
             const last = bots[bots.length - 1];
             return last.querySelector('.citation') || /do not contain|⚠️/.test(last.innerText);
           }""", arg=[BOT, before], timeout=60_000)
    return page.locator(BOT).last.inner_text()


@pytest.fixture
def markdown_docs(docs):
    (docs / "links.md").write_text(
        "Despre Macedonia de Nord: [vezi aici](javascript:alert(1)) ![harta](http://127.0.0.2/x.png) "
        "Macedonia de Nord a aderat la NATO în 2020.\n", encoding="utf-8")
    return docs


def test_markdown_links_and_images_in_a_document_show_as_text(markdown_docs, server, page):
    url, _ = server
    outside, alerts = [], []
    page.on("request", lambda r: None if r.url.startswith((url, "data:", "blob:")) else outside.append(r.url))
    page.on("dialog", lambda dialog: (alerts.append(dialog.message), dialog.dismiss()))
    page.goto(url)
    text = answered(page, "Când a aderat Macedonia de Nord la NATO?")
    assert "[vezi aici](javascript:alert(1))" in text and "![harta](http://127.0.0.2/x.png)" in text
    chat = page.locator("#chat")
    assert chat.locator("a[href^='javascript']").count() == 0
    assert chat.locator("img[src*='127.0.0.2']").count() == 0
    assert outside == [] and alerts == []


@pytest.fixture
def report_docs(docs):
    """The seed article and a four-page PDF report, in one documents folder."""
    from tests.documents import make_pdf, multipage_html
    from tests.test_uploads import PAGES

    make_pdf(multipage_html(PAGES, "Eastport water report"), docs / "water-report.pdf")
    return docs


def test_a_citation_opens_its_pdf_page_with_the_sentence_highlighted(report_docs, server, page, screenshots):
    url, log = server
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.goto(url)
    answer = answered(page, "How many tests did the laboratory run on treated water?")
    assert "12,480 tests" in answer and "water-report.pdf" in answer
    page.locator(BOT).last.locator(".cite").first.click()  # the [1] after the answer
    page.locator("#source-page img").wait_for(timeout=30_000)
    caption = page.locator("#source-caption").inner_text()
    assert "water-report.pdf · page 3 of 4" in caption and "12,480 tests" in caption
    page.screenshot(path=screenshots / "source.png")
    page.locator("#source-next").click()
    page.get_by_text("page 4 of 4").wait_for(timeout=30_000)
    assert page.locator("#source-next").is_disabled()
    with page.expect_download() as download:  # the whole PDF
        page.locator("#source-download").click()
    assert download.value.suggested_filename == "water-report.pdf"
    assert open(download.value.path(), "rb").read() == (report_docs / "water-report.pdf").read_bytes()

    answer = answered(page, "Which countries became members of NATO in 2004?")  # a text document opens as text
    assert SENTENCE_2004 in answer
    page.locator(BOT).last.locator(".citation").first.click()
    page.locator("#source-text mark.quote").wait_for(timeout=30_000)
    marked = page.locator("#source-text mark.quote").inner_text()  # what the answer quotes, as it quotes it
    assert marked.startswith(SENTENCE_2004) and marked in answer
    assert page.locator("#source-page img").is_hidden()
    assert "Traceback" not in open(log).read()


def test_a_question_limited_to_one_document_never_cites_the_other(report_docs, server, page):
    url, _ = server
    page.goto(url)
    assert "Searching all 2 document(s)" in page.locator("#scope-status").inner_text()
    page.locator("#scope input").click()
    page.get_by_role("option", name="water-report.pdf").click()
    page.get_by_text("Searching 1 of 2 document(s): water-report.pdf").wait_for(timeout=10_000)
    page.locator("#question textarea").click()  # closes the list
    answer = answered(page, "Which countries became members of NATO in 2004?")
    assert SENTENCE_2004 not in answer and "000_f0b8fe8fdb47aa20.txt" not in answer
    answer = answered(page, "How many tests did the laboratory run on treated water?")
    assert "12,480 tests" in answer  # the choice holds for the rest of the conversation


def test_the_conversation_is_saved_as_markdown_and_json(report_docs, server, page):
    import json

    url, _ = server
    page.goto(url)
    assert page.locator("#export-md").is_disabled()
    answered(page, "How many tests did the laboratory run on treated water?")
    answered(page, "Who won the 2018 World Cup?")
    page.wait_for_function("() => !document.querySelector('#export-md').disabled", timeout=10_000)
    with page.expect_download() as download:
        page.locator("#export-md").click()
    markdown = open(download.value.path(), encoding="utf-8").read()
    assert "## 1. How many tests did the laboratory run on treated water?" in markdown
    assert "[1] water-report.pdf, page 3" in markdown and "> In 2025 the laboratory ran 12,480 tests" in markdown
    assert "## 2. Who won the 2018 World Cup?" in markdown and "do not contain the answer" in markdown
    with page.expect_download() as download:
        page.locator("#export-json").click()
    saved = json.loads(open(download.value.path(), encoding="utf-8").read())
    first, second = saved["answers"]
    assert first["citations"][0]["source"] == "water-report.pdf" and first["citations"][0]["page"] == 3
    assert "12,480" in first["span"]["text"] and second["abstained"] is True


def test_a_question_asked_during_an_upload_says_the_file_is_still_being_indexed(server, page, tmp_path):
    from tests.documents import make_pdf, multipage_html
    from tests.test_uploads import PAGES

    url, _ = server
    districts = [f"# District {n}\n\nDistrict {n} of Eastport used {1000 + 37 * n:,} cubic metres of water a day in "
                 f"2025, and its {n % 7 + 2} pumping stations were inspected in the spring." for n in range(80)]
    big = make_pdf(multipage_html(PAGES + districts, "Eastport water report"), tmp_path / "big-report.pdf")
    page.goto(url)
    page.locator("#upload input[type=file]").set_input_files([big])
    page.wait_for_function(
        "() => /[1-9][0-9]* passages embedded/.test(document.querySelector('#documents-panel').innerText)",
        timeout=60_000)
    answer = answered(page, "How many tests did the laboratory run on treated water?")
    assert re.search(r"big-report\.pdf is still being indexed \(\d+%\); ask again when it is done", answer)
    page.locator("#documents-result").get_by_text("Added").wait_for(timeout=180_000)
    answer = answered(page, "How many tests did the laboratory run on treated water?")
    assert "12,480 tests" in answer and "still being indexed" not in answer


def test_an_uploaded_scanned_pdf_is_read_by_ocr_and_cited_by_page(server, page, tmp_path):
    from index.formats import ocr
    from tests.documents import make_pdf, make_scanned_copy, multipage_html
    from tests.test_uploads import PAGES

    if not ocr.available():
        pytest.skip(f"OCR needs Tesseract's language data: {ocr.HOW_TO_ENABLE}")
    url, log = server
    printed = make_pdf(multipage_html(PAGES, "Eastport water report"), tmp_path / "printed.pdf")
    scanned = make_scanned_copy(printed, tmp_path / "scanned-report.pdf", degrade=True)
    page.goto(url)
    page.locator("#upload input[type=file]").set_input_files([scanned])
    page.locator("#documents-result").get_by_text("Added: scanned-report.pdf").wait_for(timeout=120_000)
    answer = answered(page, "How many tests did the laboratory run on treated water?")
    assert "12,480 tests" in answer and "scanned-report.pdf" in answer and "page 3" in answer
    page.locator(BOT).last.locator(".cite").first.click()
    page.locator("#source-page img").wait_for(timeout=30_000)
    assert "scanned-report.pdf · page 3 of 4" in page.locator("#source-caption").inner_text()
    assert "Traceback" not in open(log).read()


def test_a_question_asked_while_a_scan_is_read_names_the_page_being_read(server, page, tmp_path):
    from tests.documents import make_pdf, make_scanned_copy, multipage_html
    from tests.test_uploads import PAGES

    url, _ = server
    printed = make_pdf(multipage_html(PAGES * 2, "Eastport water report"), tmp_path / "printed.pdf")
    scan = make_scanned_copy(printed, tmp_path / "scan.pdf")  # 8 pages without text: each is read by OCR
    page.goto(url)
    page.locator("#upload input[type=file]").set_input_files([scan])
    page.wait_for_function("() => /Reading scan\\.pdf/.test(document.querySelector('#documents-panel').innerText)",
                           timeout=60_000)
    answer = answered(page, "How many tests did the laboratory run on treated water?")
    assert re.search(r"scan\.pdf is still being indexed \(reading page [1-8] of 8\); ask again when it is done",
                     answer), answer
    page.locator("#documents-result").get_by_text("Added").wait_for(timeout=300_000)
    answer = answered(page, "How many tests did the laboratory run on treated water?")
    assert "12,480 tests" in answer and "still being indexed" not in answer


def test_a_file_dropped_into_the_folder_shows_up_in_the_open_page(docs, server, page):
    url, _ = server
    page.goto(url)
    page.locator("#status").get_by_text("1 document").wait_for(timeout=30_000)
    (docs / "pool.md").write_text("# Pool\n\nThe town pool closes in August for repairs.", encoding="utf-8")
    page.locator("#documents").get_by_text("pool.md").wait_for(timeout=30_000)  # no reload
    page.locator("#status").get_by_text("2 documents").wait_for(timeout=10_000)
    assert "August" in answered(page, "When does the town pool close for repairs?")
    (docs / "pool.md").unlink()
    page.locator("#status").get_by_text("1 document").wait_for(timeout=30_000)
    assert page.locator("#documents").get_by_text("pool.md").count() == 0
