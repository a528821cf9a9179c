"""Pages added by their address: fetched from a real HTTP server on loopback (allowed with --allow-private-urls),
refused at private addresses without it, with the redirects, limits and refresh a user meets."""
import http.server
import json
import re
import shutil
import threading
import time

import pytest

from index import urls
from index.errors import DocumentError
from tests.conftest import SEED
from tests.test_cli import run

FERRY = ("The Eastport ferry crosses the bay {n} times a day in summer. Each crossing takes forty minutes, and the "
         "first boat leaves at six in the morning. Bicycles travel free of charge on every crossing, while cars pay "
         "twelve euros. The ferry company was founded in 1911 by the town council of Eastport.")
HARBOUR = ("The harbour master of Eastport keeps the tide tables. In 2025 the harbour handled 3,150 fishing boats "
           "and 212 cargo ships. The lighthouse at the harbour mouth was automated in 1987 and still flashes "
           "white every ten seconds.")
MUSEUM = ("The maritime museum of Eastport opens from Tuesday to Sunday. Its largest exhibit is a whaling boat "
          "built in 1872. Entry costs six euros for adults, and children under twelve enter free.")


def ferry_page(crossings: int) -> bytes:
    paragraphs = [FERRY.format(n=crossings), HARBOUR, MUSEUM]
    return ("<html><head><title>Eastport visitor guide</title></head><body><h1>Eastport visitor guide</h1>"
            + "".join(f"<p>{p}</p>" for p in paragraphs) + "</body></html>").encode()


class Site:
    """A real HTTP server on a loopback address: path → (status, headers, body); it counts the requests it got."""

    def __init__(self, host: str = "127.0.0.1"):
        self.pages: dict[str, tuple[int, dict, bytes]] = {}
        self.requests: list[str] = []
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                site.requests.append(self.path)
                status, headers, body = site.pages.get(self.path, (404, {}, b"not here"))
                if status == "slow":  # a server that sends a byte a second, for ever
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html")
                    self.end_headers()
                    try:
                        while True:
                            self.wfile.write(b"<p>.")
                            self.wfile.flush()
                            time.sleep(1)
                    except OSError:
                        return
                self.send_response(status)
                for key, value in {"Content-Length": str(len(body)), **headers}.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer((host, 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://{host}:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def html(self, path: str, body: bytes) -> str:
        self.pages[path] = (200, {"Content-Type": "text/html; charset=utf-8"}, body)
        return self.url + path

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def site():
    served = Site()
    yield served
    served.close()


def test_a_page_is_fetched_after_its_redirects_and_named_after_its_address(site):
    site.html("/guide/eastport", ferry_page(8))
    site.pages["/old"] = (301, {"Location": "/guide/eastport"}, b"")
    page = urls.fetch(site.url + "/old", 1_000_000, 10, urls.refuse_none)
    assert page.final_url == site.url + "/guide/eastport" and page.data == ferry_page(8)
    assert page.name == "127.0.0.1_old.html"  # the address asked for, so that adding it again replaces it
    assert urls.page_name("https://example.com/docs/intro.htm?lang=ro", ".html").startswith("example.com_docs_intro-")
    assert urls.page_name("https://example.com/", ".pdf") == "example.com.pdf"


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::ffff:127.0.0.1]", "[::1]", "169.254.169.254",
                                  "10.1.2.3", "192.168.0.1", "100.64.0.1", "0.0.0.0"])
def test_private_and_local_addresses_are_refused_before_connecting(site, host):
    site.html("/", ferry_page(8))
    port = site.url.rsplit(":", 1)[1]
    with pytest.raises(DocumentError, match="private or local address; pages there are refused unless "
                                            "--allow-private-urls is given"):
        urls.fetch(f"http://{host}:{port}/", 1_000_000, 5)
    assert site.requests == []


def test_a_redirect_is_checked_before_it_is_followed(site):
    """The first address is allowed; the one it redirects to is refused, and never connected to."""
    inner = Site("127.0.0.2")  # the whole of 127.0.0.0/8 is loopback on Linux
    try:
        inner.html("/secret", b"<p>internal</p>")
        site.pages["/go"] = (302, {"Location": inner.url + "/secret"}, b"")
        with pytest.raises(DocumentError, match="127.0.0.2 is a private or local address"):
            urls.fetch(site.url + "/go", 1_000_000, 5, lambda address: address == "127.0.0.2")
        assert site.requests == ["/go"] and inner.requests == []
    finally:
        inner.close()


@pytest.mark.parametrize("address, message", [
    ("file:///etc/passwd", "not an http(s) address"),
    ("ftp://example.com/file.pdf", "not an http(s) address"),
    ("javascript:alert(1)", "not an http(s) address"),
    ("http://", "names no host"),
    ("https://user:secret@example.com/", "holds a user name or password"),
])
def test_only_http_addresses_are_fetched(address, message):
    with pytest.raises(DocumentError, match=re.escape(message)):
        urls.fetch(address, 1_000_000, 5, urls.refuse_none)


def test_size_time_and_type_limits(site):
    site.pages["/big"] = (200, {"Content-Type": "text/html"}, b"<p>" + b"x" * 3_000_000)
    with pytest.raises(DocumentError, match=r"larger than 1 MB \(--max-upload-mb\)"):
        urls.fetch(site.url + "/big", 1_000_000, 10, urls.refuse_none)
    site.pages["/slow"] = ("slow", {}, b"")
    started = time.monotonic()
    with pytest.raises(DocumentError, match="took longer than 2 s to fetch"):
        urls.fetch(site.url + "/slow", 1_000_000, 2, urls.refuse_none)
    assert time.monotonic() - started < 6
    site.pages["/logo.png"] = (200, {"Content-Type": "image/png"}, b"\x89PNG")
    with pytest.raises(DocumentError, match="is image/png; pages of types"):
        urls.fetch(site.url + "/logo.png", 1_000_000, 10, urls.refuse_none)
    with pytest.raises(DocumentError, match="answered HTTP 404"):
        urls.fetch(site.url + "/missing", 1_000_000, 10, urls.refuse_none)
    site.pages["/loop"] = (302, {"Location": "/loop"}, b"")
    with pytest.raises(DocumentError, match="redirects more than 5 times"):
        urls.fetch(site.url + "/loop", 1_000_000, 10, urls.refuse_none)


def test_add_by_address_on_the_command_line_cites_the_address_and_refreshes_only_what_changed(site, docs,
                                                                                             tmp_path):
    address = site.html("/guide", ferry_page(8))
    where = ["--docs", docs, "--index-dir", tmp_path / "index"]

    refused = run("add", *where, address)  # loopback, without --allow-private-urls
    assert refused.returncode == 1 and "Traceback" not in refused.stderr + refused.stdout
    assert f"Refused {address}: 127.0.0.1 is a private or local address" in refused.stdout
    assert site.requests == [] and sorted(p.name for p in docs.iterdir()) == [SEED.name]

    added = run("add", *where, "--allow-private-urls", address)
    assert added.returncode == 0, added.stderr
    assert "Added: 127.0.0.1_guide.html" in added.stdout
    rows = {row["source"]: row for row in json.loads(run("documents", "--json", *where).stdout)}
    assert rows["127.0.0.1_guide.html"]["url"] == address and rows[SEED.name]["url"] is None
    passages = rows["127.0.0.1_guide.html"]["passages"]
    assert passages >= 2

    asked = run("ask", "--json", *where, "How much does a car pay on the Eastport ferry?")
    cited = json.loads(asked.stdout)["citations"][0]
    assert cited["source"] == "127.0.0.1_guide.html" and cited["url"] == address
    assert "cars pay twelve euros" in cited["quote"]["text"]

    site.html("/guide", ferry_page(11))  # one paragraph changed
    again = run("add", *where, "--allow-private-urls", address)
    assert "Replaced: 127.0.0.1_guide.html" in again.stdout
    embedded = int(again.stdout.split(" passages embedded")[0].rsplit("\n", 1)[-1])
    assert 1 <= embedded < passages  # only the changed passage
    asked = run("ask", "--json", *where, "How many times a day does the Eastport ferry cross the bay?")
    assert "11 times a day" in json.loads(asked.stdout)["citations"][0]["quote"]["text"]

    unchanged = run("add", *where, "--allow-private-urls", address)
    assert "Already indexed: 127.0.0.1_guide.html" in unchanged.stdout

    bad = run("add", *where, "--allow-private-urls", "ftp://example.com/x.pdf", site.url + "/missing")
    assert bad.returncode == 1 and "Traceback" not in bad.stdout + bad.stderr
    assert "Refused ftp://example.com/x.pdf: ftp://example.com/x.pdf is not an http(s) address" in bad.stdout
    assert f"Refused {site.url}/missing: {site.url}/missing answered HTTP 404" in bad.stdout


@pytest.fixture
def private_server(tmp_path):
    """The app as a user starts it, allowed to fetch from loopback, where the test's site is."""
    from tests.conftest import start_app, stop

    docs = tmp_path / "private-docs"
    docs.mkdir()
    shutil.copy(SEED, docs / SEED.name)
    log = tmp_path / "private-server.log"
    process, url = start_app(log, "--docs", docs, "--index-dir", tmp_path / "private-index", "--allow-private-urls")
    yield url, log
    stop(process)


def test_pages_are_added_refreshed_and_cited_over_the_api(site, private_server, server):
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    address = site.html("/guide", ferry_page(8))
    allowed = Client(private_server[0], verbose=False)
    result = allowed.predict(None, f"{address}\nftp://example.com/x", api_name="/upload")
    assert result["added"] == ["127.0.0.1_guide.html"] and result["passages"] >= 2
    assert [r["name"] for r in result["refused"]] == ["ftp://example.com/x"]
    answer = allowed.predict("How much does a car pay on the Eastport ferry?", api_name="/ask")
    assert answer["citations"][0]["url"] == address and "twelve euros" in answer["citations"][0]["quote"]["text"]

    site.html("/guide", ferry_page(11))
    refreshed = allowed.predict("127.0.0.1_guide.html", api_name="/refresh")
    assert refreshed["replaced"] == ["127.0.0.1_guide.html"] and 1 <= refreshed["passages"] < result["passages"]
    assert allowed.predict("127.0.0.1_guide.html", api_name="/refresh")["unchanged"] == ["127.0.0.1_guide.html"]
    with pytest.raises(AppError, match="is a file, not a page added by its address"):
        allowed.predict(SEED.name, api_name="/refresh")

    requests = len(site.requests)  # the default server refuses loopback, and never connects
    refused = Client(server[0], verbose=False).predict(None, address, api_name="/upload")
    assert refused["added"] == [] and "private or local address" in refused["refused"][0]["reason"]
    assert len(site.requests) == requests
    for log in (private_server[1], server[1]):
        assert "Traceback" not in open(log).read()


def test_a_page_added_in_the_browser_is_cited_with_a_link_and_refreshed(site, private_server):
    """In Chromium: type the address, ask, follow the citation's link to the page, change the page, Refresh."""
    from tests.test_browser import CHROMIUM, HEADLESS_FLAGS, answered, playwright

    address = site.html("/guide", ferry_page(8))
    url, log = private_server
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=HEADLESS_FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(url)
        page.locator("#status").get_by_text("1 document").wait_for(timeout=30_000)
        page.locator("#add-url textarea, #add-url input").first.fill(address)
        page.locator("#add-url-button").click()
        result = page.locator("#documents-result")
        result.get_by_text("Added: 127.0.0.1_guide.html").wait_for(timeout=60_000)
        page.locator("#status").get_by_text("2 documents").wait_for(timeout=10_000)

        assert "twelve euros" in answered(page, "How much does a car pay on the Eastport ferry?")
        link = page.locator("#chat a.page-link").last
        assert link.get_attribute("href") == address and link.get_attribute("target") == "_blank"
        with page.context.expect_page() as opened:  # the link opens the page itself, not the source panel
            link.click()
        opened.value.wait_for_load_state()
        assert opened.value.url == address and "Eastport visitor guide" in opened.value.content()

        site.html("/guide", ferry_page(11))
        page.locator("#remove-choice input").click()
        page.get_by_role("option", name="127.0.0.1_guide.html").click()
        page.locator("#refresh").click()
        result.get_by_text("Replaced: 127.0.0.1_guide.html").wait_for(timeout=60_000)
        assert "11 times a day" in answered(page, "How many times a day does the Eastport ferry cross the bay?")

        page.locator("#add-url textarea, #add-url input").first.fill("file:///etc/passwd")
        page.locator("#add-url-button").click()
        result.get_by_text("is not an http(s) address").wait_for(timeout=30_000)
        browser.close()
    assert "Traceback" not in open(log).read()
