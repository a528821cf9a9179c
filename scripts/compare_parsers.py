"""Compares PDF, HTML and DOCX parsers on generated documents: time and checks of the extracted text.

Needs the parsers it compares against: pip install -r scripts/requirements-compare.txt
"""
import io
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import docx2python  # noqa: E402
import lxml.html  # noqa: E402
import mammoth  # noqa: E402
import pdfplumber  # noqa: E402
import pypdf  # noqa: E402
import pypdfium2 as pdfium  # noqa: E402
import trafilatura  # noqa: E402
from bs4 import BeautifulSoup  # noqa: E402
from readability import Document as Readability  # noqa: E402

import make_eval_documents as corpus  # noqa: E402
from index.formats import clean, join_blocks, pdf, web, word  # noqa: E402
from tests.documents import make_docx, make_pdf, page_html, paragraphs_html  # noqa: E402

_SENTENCES = re.compile(r"(?<=[.!?:;])\s+(?=[A-Z„\"(])")


def flat(text: str) -> str:
    return " ".join(text.split())


def sentences(paragraphs: list[str]) -> list[str]:
    return [s for p in paragraphs for s in _SENTENCES.split(flat(p)) if s]


def in_order(text: str, parts: list[str]) -> bool:
    position = 0
    for part in parts:
        position = text.find(part, position)
        if position < 0:
            return False
    return True


def timed(function, *args, repeat: int = 3):
    """The result and the median time of a few runs, in seconds."""
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = function(*args)
        times.append(time.perf_counter() - started)
    return result, statistics.median(times)


def table(title: str, header: list[str], rows: list[list]) -> None:
    print(f"\n### {title}\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(str(cell) for cell in row) + " |")


# PDF ------------------------------------------------------------------------------------------------------

def pypdf_raw(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)


def plumber_raw(data: bytes) -> str:
    with pdfplumber.open(io.BytesIO(data)) as document:
        return "\n".join(page.extract_text() or "" for page in document.pages)


def pdfium_raw(data: bytes) -> str:
    document, texts = pdfium.PdfDocument(data), []
    try:
        for page in document:
            textpage = page.get_textpage()
            texts.append(textpage.get_text_range())
            textpage.close()
        return "\f".join(texts)
    finally:
        document.close()


def pypdf_lines(data: bytes) -> list[list[pdf.Line]]:
    """pypdf's layout mode, which keeps vertical gaps as blank lines: one row of text is one unit high."""
    pages = []
    for page in pypdf.PdfReader(io.BytesIO(data)).pages:
        rows = page.extract_text(extraction_mode="layout").split("\n")
        pages.append([pdf.Line(clean(row).strip(), len(row) - len(row.lstrip()), len(row.rstrip()), -number, 1.0)
                      for number, row in enumerate(rows) if row.strip()])
    return pages


def plumber_lines(data: bytes) -> list[list[pdf.Line]]:
    with pdfplumber.open(io.BytesIO(data)) as document:
        return [[pdf.Line(clean(line["text"]), line["x0"], line["x1"], page.height - line["bottom"],
                          line["bottom"] - line["top"]) for line in page.extract_text_lines(return_chars=False)]
                for page in document.pages]


def pdfium_lines(data: bytes) -> list[list[pdf.Line]]:
    document = pdfium.PdfDocument(data)
    try:
        return [pdf._lines(page) for page in document]
    finally:
        document.close()


def pdf_checks(text: str, data: bytes, source: list[str]) -> list[str]:
    """Sentences kept whole, those a page break cuts kept whole, and paragraphs kept exact."""
    wanted = sentences(source)
    pages = [flat(page.replace("\ufffe", "-")) for page in pdfium_raw(data).split("\f")]
    across = [s for s in wanted if not any(s in page for page in pages)]
    paragraphs = set(text.split("\n\n"))
    return [f"{sum(s in flat(text) for s in wanted)}/{len(wanted)}",
            f"{sum(s in flat(text) for s in across)}/{len(across)}",
            f"{sum(p in paragraphs for p in source)}/{len(source)}"]


def compare_pdf(tmp: Path) -> None:
    report = make_pdf(corpus.report_html(), tmp / "report.pdf").read_bytes()
    copies = [corpus.REPORT.replace("[[TABLE]]", "").replace("2025", str(2025 + i)) for i in range(30)]
    long = make_pdf(page_html("".join(map(paragraphs_html, copies)), corpus.REPORT_TITLE), tmp / "long.pdf")
    long = long.read_bytes()
    n_report, n_long = len(pypdf.PdfReader(io.BytesIO(report)).pages), len(pypdf.PdfReader(io.BytesIO(long)).pages)
    paragraphs = lambda text: [flat(re.sub(r"^#+ ", "", p)) for p in text.split("\n\n") if p.strip()]  # noqa: E731
    report_source = paragraphs(corpus.REPORT.replace("[[TABLE]]", ""))
    long_source = [p for copy in copies for p in paragraphs(copy)]
    methods = {
        "pypdf extract_text": pypdf_raw, "pdfplumber extract_text": plumber_raw,
        "pypdfium2 get_text_range": pdfium_raw,
        "pypdf layout + our layout rules": lambda d: pdf.assemble(pypdf_lines(d), hyphenates=False).text,
        "pdfplumber lines + our layout rules": lambda d: pdf.assemble(plumber_lines(d), hyphenates=False).text,
        "pypdfium2 + our layout rules (chosen)": lambda d: pdf.extract("report.pdf", d).text,
    }
    rows = []
    for label, method in methods.items():
        text, seconds = timed(method, report)
        long_text, long_seconds = timed(method, long, repeat=1)
        checks = zip(pdf_checks(text, report, report_source), pdf_checks(long_text, long, long_source))
        rows.append([
            label, f"{1000 * seconds / n_report:.1f}", f"{1000 * long_seconds / n_long:.1f}",
            *(f"{a}; {b}" for a, b in checks),
            "yes" if corpus.REPORT_TITLE in text or "file://" in text or re.search(r"\b\d/\d\b", text) else "no",
            len(re.findall(r"[\x00-\x08\x0b\x0e-\x1f\x7f\ufffd\ufffe]", text + long_text)),
            "yes" if re.search("[ﬀ-ﬆ]", text + long_text) else "no",
        ])
    table(f"PDF: a {n_report}-page report printed by Chromium with its header and footer; a {n_long}-page one "
          "(checks give report; long one)",
          ["method", "ms/page (report)", f"ms/page ({n_long} pages)", "sentences intact",
           "sentences cut by a page break, intact", "paragraphs exact", "header/footer/page no. left",
           "control/junk chars", "ligature glyphs"], rows)


# HTML -----------------------------------------------------------------------------------------------------

NEWS_ARTICLE = [
    ("h1", "Harbour ferry returns to service after six-month refit"),
    ("p", "The Port Averill harbour ferry Marigold returned to service on Monday morning after a six-month "
          "refit that cost the city 2.3 million dollars. The first crossing left the Quay Street pier at 6:40 "
          "with 112 passengers on board."),
    ("p", "The refit replaced both diesel engines with a hybrid drive, which the operator says will cut fuel use "
          "by about a third. The ferry can now cross the harbour on battery power alone when it approaches the "
          "residential moorings at Fenwick Point."),
    ("h2", "Timetable changes"),
    ("p", "From 1 March the ferry will run every 20 minutes during the morning and evening peaks, instead of every "
          "30 minutes. The last crossing on weekdays moves from 22:10 to 23:30."),
    ("p", "Season tickets bought before the refit remain valid until the end of June, the operator said."),
    ("h2", "Passengers welcome the return"),
    ("p", "Regular passengers said the crossing was quieter than before. Amira Haddad, who commutes from Fenwick "
          "Point to the hospital, said the bus replacement service had added forty minutes to her journey."),
]

NEWS_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Harbour ferry returns to service after six-month refit | Averill Evening Post</title>
<style>.menu li{display:inline} .sidebar{float:right;width:30%} body{font-family:Georgia,serif}</style>
<script>var adSlots=['top-banner','sidebar-mpu'];function loadAds(){console.log('ads loaded')}</script>
</head><body>
<div id="cookie-consent" class="cookie-banner">We and our 143 partners use cookies to personalise ads.
<button>Accept and continue</button> <button>Manage preferences</button></div>
<header><div class="masthead">Averill Evening Post</div>
<ul class="menu"><li><a href="/news">News</a></li><li><a href="/sport">Sport</a></li>
<li><a href="/business">Business</a></li><li><a href="/opinion">Opinion</a></li><li><a href="/weather">Weather</a></li>
<li><a href="/subscribe">Subscribe</a></li></ul>
<div class="ticker">Breaking: Council approves new budget for road repairs</div></header>
<div class="sidebar"><h3>Most read</h3><ol><li><a href="/a">Lottery winner from Eastgate claims prize</a></li>
<li><a href="/b">Five things to do this weekend</a></li><li><a href="/c">Stadium plans rejected again</a></li></ol>
<div class="newsletter">Get the morning briefing in your inbox. <input placeholder="Email"><button>Sign up</button>
</div></div>
<article><div class="byline">By Daniel Ortiz, Transport correspondent. Published 24 February 2025</div>
[[ARTICLE]]
<div class="share">Share this article: Facebook Twitter Email</div>
<div class="related"><h3>Related stories</h3><ul><li><a href="/r1">Bridge closure: what commuters need to know</a></li>
<li><a href="/r2">Ferry operator fined over safety lapses in 2023</a></li></ul></div></article>
<section class="comments"><h3>Comments (2)</h3><div class="comment">Finally! It was about time they fixed it.
</div><div class="comment">Still too expensive for families, if you ask me.</div></section>
<footer><p>Averill Evening Post, 12 Harbour Street. All rights reserved.</p><a href="/privacy">Privacy</a>
<a href="/contact">Contact us</a></footer>
<script>loadAds();document.getElementById('cookie-consent').style.display='block';</script>
</body></html>"""

API_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>tidewell.sync - Tidewell API</title>
<style>div.sphinxsidebar{width:230px}</style><script src="_static/searchtools.js"></script></head><body>
<div class="related" role="navigation"><ul><li><a href="index.html">Tidewell API</a> &#187;</li>
<li><a href="modules.html">Module index</a></li></ul></div>
<div class="document"><div class="body" role="main"><section id="module-tidewell.sync">
<h1>tidewell.sync</h1>
<dl class="py function"><dt><code>tidewell.sync.run(folder, retries=5)</code></dt>
<dd><p>Runs one sync of <a href="#">folder</a> now. See <a href="#">Retries</a>.</p>
<p>Returns a <a href="#">SyncResult</a>.</p></dd></dl>
<dl class="py function"><dt><code>tidewell.sync.pause(folder)</code></dt>
<dd><p>Pauses <a href="#">folder</a> until <a href="#">resume()</a> is called.</p></dd></dl>
</section></div></div>
<div class="sphinxsidebar" role="navigation"><h3>Navigation</h3><ul><li><a href="cli.html">Command line</a></li>
<li><a href="config.html">Configuration file</a></li></ul><div id="searchbox"><h3>Quick search</h3></div></div>
<div class="footer">Copyright 2025, Tidewell Labs. Created using Sphinx.</div></body></html>"""


def news_html() -> str:
    body = "".join(f"<{tag}>{text}</{tag}>" for tag, text in NEWS_ARTICLE)
    return NEWS_PAGE.replace("[[ARTICLE]]", body)


def walk_text(root) -> str:
    blocks: list[str] = []
    web._walk(root, blocks)
    return join_blocks(blocks)


def soup_text(page: str, furniture: tuple[str, ...]) -> str:
    soup = BeautifulSoup(page, "lxml")
    for element in soup(furniture):
        element.decompose()
    return soup.get_text("\n", strip=True)


def compare_html() -> None:
    docs = lxml.html.fragment_fromstring(corpus.DOCS_BODY, create_parent="div")
    pages = {
        "news article": (news_html(), [t for _, t in NEWS_ARTICLE], [t for k, t in NEWS_ARTICLE if k != "p"],
                         {"menu": ["Subscribe", "Most read", "Five things to do"], "cookie": ["143 partners"],
                          "script/style": ["loadAds", "font-family"], "footer": ["All rights reserved"],
                          "comments/related": ["Finally!", "Related stories"]}),
        "documentation page": (corpus.docs_html(),
                               [flat(e.text_content()) for e in docs.iter("p", "li", "h1", "h2")],
                               [flat(e.text_content()) for e in docs.iter("h1", "h2")],
                               {"menu": ["Pricing", "Sign in", "Installing Tidewell"],
                                "cookie": ["We use cookies"], "script/style": ["dataLayer", "font-family"],
                                "footer": ["All rights reserved"], "comments/related": ["Was this page helpful"]}),
        "API reference (Sphinx-like)": (API_PAGE, ["tidewell.sync", "Runs one sync of folder now.",
                                                   "Returns a SyncResult.", "Pauses folder until resume() is called."],
                                        ["tidewell.sync"],
                                        {"menu": ["Module index", "Quick search"], "cookie": [],
                                         "script/style": ["sphinxsidebar"], "footer": ["Created using Sphinx"],
                                         "comments/related": []}),
    }
    methods = {
        "trafilatura (txt)": lambda page: trafilatura.extract(page, include_tables=True) or "",
        "readability-lxml": lambda page: walk_text(lxml.html.fromstring(Readability(page).summary(html_partial=True))),
        "BeautifulSoup get_text": lambda page: soup_text(page, ("script", "style")),
        "BeautifulSoup, nav/header/footer/aside dropped": lambda page: soup_text(
            page, ("script", "style", "nav", "header", "footer", "aside", "form")),
        "trafilatura XML + main-region fallback (chosen)": lambda page: web.extract("page.html", page.encode()).text,
    }
    for title, (page, body, headings, leaks) in pages.items():
        wanted = sentences(body)
        rows = []
        for label, method in methods.items():
            text, seconds = timed(method, page)
            lines = {flat(line) for line in text.split("\n")}
            rows.append([label, f"{1000 * seconds:.1f}", f"{sum(s in flat(text) for s in wanted)}/{len(wanted)}",
                         "yes" if in_order(flat(text), [s for s in wanted if s in flat(text)]) else "no",
                         f"{sum(h in lines for h in headings)}/{len(headings)}",
                         *(", ".join(s for s in snippets if s in text) or "-" for snippets in leaks.values())])
        table(f"HTML: {title}", ["method", "ms", "body sentences", "in order", "headings on own line",
                                 *(f"{kind} leaked" for kind in leaks)], rows)


# DOCX -----------------------------------------------------------------------------------------------------

def compare_docx(tmp: Path) -> None:
    data = make_docx(tmp / "report.docx", corpus.LIBRARY).read_bytes()
    paragraphs = [t for kind, t in corpus.LIBRARY if kind in ("p", "h1", "h2")]
    ordered = [t for kind, content in corpus.LIBRARY if kind != "table"
               for t in (content if kind == "list" else [content])]
    headings = [t for kind, t in corpus.LIBRARY if kind in ("h1", "h2")]
    items = [item for kind, content in corpus.LIBRARY if kind == "list" for item in content]
    rows_wanted = [row for kind, content in corpus.LIBRARY if kind == "table" for row in content]
    methods = {
        "docx2python": lambda d: docx2python.docx2python(io.BytesIO(d)).text,
        "mammoth raw text": lambda d: mammoth.extract_raw_text(io.BytesIO(d)).value,
        "mammoth Markdown": lambda d: mammoth.convert_to_markdown(io.BytesIO(d)).value,
        "python-docx + our walk (chosen)": lambda d: word.extract("report.docx", d).text,
    }
    rows = []
    for label, method in methods.items():
        text, seconds = timed(method, data)
        lines = [flat(line) for line in text.split("\n")]
        plain = flat(text.replace("\\", ""))
        marked = sum(any(re.match(r"^(-|\*|•|--)\s*" + re.escape(i), line) for line in lines) for i in items)
        rows.append([
            label, f"{1000 * seconds:.1f}", f"{sum(p in plain for p in paragraphs)}/{len(paragraphs)}",
            "yes" if in_order(plain, [p for p in ordered if p in plain]) else "no",
            f"{sum(any(line.strip('# ') == h for line in lines) for h in headings)}/{len(headings)}",
            f"{marked}/{len(items)}",
            f"{sum(any(in_order(line, list(row)) for line in lines) for row in rows_wanted)}/{len(rows_wanted)}",
        ])
    table("DOCX: Romanian report (headings, paragraphs, bullet list, 5-row table)",
          ["method", "ms", "paragraphs", "reading order", "headings on own line", "list items marked",
           "table rows on one line"], rows)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="compare-parsers-") as tmp:
        compare_pdf(Path(tmp))
        compare_html()
        compare_docx(Path(tmp))


if __name__ == "__main__":
    main()
