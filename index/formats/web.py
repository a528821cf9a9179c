"""HTML: the page's main content (headings, paragraphs, lists, tables) without menus, banners and footers."""
import re

import lxml.etree
import lxml.html
import trafilatura

from index.errors import DocumentError
from index.formats import Extracted, join_blocks, table_text
from index.formats.plain import decode

_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)""", re.IGNORECASE)
# For pages where trafilatura finds too little (short pages, some documentation): the page's main region
# read whole, without what is never content and without page furniture (by tag, or by id/class name).
_NEVER_CONTENT = ("script", "style", "noscript", "template", "svg", "iframe", "form", "button", "select", "dialog")
_FURNITURE_NAMES = re.compile(r"cookie|consent|gdpr|banner|navbar|menu|sidebar|breadcrumb|footer|share|social|"
                              r"related|newsletter|advert", re.IGNORECASE)
_BLOCKS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "pre", "blockquote", "dt", "dd", "tr", "caption",
           "figcaption", "table", "ul", "ol", "dl", "div", "section", "article", "main", "body"}


def extract(name: str, data: bytes) -> Extracted:
    page = _decode(name, data)
    xml = trafilatura.extract(page, output_format="xml", include_tables=True, include_comments=False,
                              include_images=False, include_links=False, deduplicate=False)
    text = join_blocks(_blocks_from_xml(lxml.etree.fromstring(xml.encode()))) if xml else ""
    declared_main, blocks = _blocks_from_html(page)
    fallback = join_blocks(blocks)
    # trafilatura needs some prose to find the article, and on pages of short, link-heavy paragraphs
    # (documentation) it can drop part of the main region the page declares; then that region is read.
    if len(text) < 200 or (declared_main and len(text) < len(fallback) / 2):
        text = fallback or text
    return Extracted(text, "html")


def _decode(name: str, data: bytes) -> str:
    """The page as UTF-8 text or, failing that, in the character set it declares."""
    try:
        return decode(name, data)
    except DocumentError:
        declared = _CHARSET.search(data[:4096])
        if declared is None:
            raise
        encoding = declared.group(1).decode("ascii")
        try:
            return data.decode(encoding)
        except (LookupError, UnicodeDecodeError):
            raise DocumentError(f"{name} is neither UTF-8 text nor text in the character set it declares "
                                f"({encoding}). Save it again as UTF-8.") from None


def _blocks_from_xml(root) -> list[str]:
    """trafilatura's XML (head, p, list/item, table/row/cell, code, quote) as text blocks."""
    blocks = []
    for element in root.find("main") if root.find("main") is not None else root:
        if element.tag == "list":
            blocks.append("\n".join(f"- {_text(item)}" for item in element.iterchildren("item")))
        elif element.tag == "table":
            blocks.append(table_text([[_text(cell) for cell in row.iter("cell")] for row in element.iter("row")]))
        elif element.tag == "code":
            blocks.append("".join(element.itertext()))
        else:
            blocks.append(_text(element))
    return blocks


def _blocks_from_html(page: str) -> tuple[bool, list[str]]:
    """Whether the page declares its main region (main, role=main, article), and the blocks of that
    region (or of the body) without page furniture."""
    try:
        root = lxml.html.document_fromstring(page)
    except (lxml.etree.ParserError, ValueError):
        return False, []
    for element in list(root.iter(*_NEVER_CONTENT)):
        element.drop_tree()
    main = next(iter(root.xpath("//main | //*[@role='main']")), None)
    if main is None:
        main = max(root.iter("article"), key=lambda article: len(article.text_content()), default=None)
    protected = {main, *main.iterancestors()} if main is not None else set()
    for element in list(root.iter()):
        if not isinstance(element.tag, str) or element in protected or element.getparent() is None:
            continue
        inside_main = main is not None and main in element.iterancestors()
        names = f"{element.get('id', '')} {element.get('class', '')} {element.get('role', '')}"
        if element.tag in ("nav", "aside") or (element.tag in ("header", "footer") and not inside_main) \
                or _FURNITURE_NAMES.search(names):
            element.drop_tree()
    blocks: list[str] = []
    _walk(main if main is not None else root.find("body") if root.find("body") is not None else root, blocks)
    return main is not None, blocks


def _walk(element, blocks: list[str]) -> None:
    """Appends the text of each block element; inline elements and loose text stay inside their block."""
    if element.tag in ("ul", "ol"):
        blocks.append("\n".join(f"- {_text(item)}" for item in element.iterchildren("li")))
        return
    if element.tag == "table":
        blocks.append(table_text([[_text(cell) for cell in row.iterchildren("td", "th")]
                                  for row in element.iter("tr")]))
        return
    if element.tag == "pre":
        blocks.append(element.text_content())
        return
    prefix = "- " if element.tag == "li" else ""
    if not _has_blocks(element):
        blocks.append(prefix + _text(element))
        return
    run = [prefix, element.text or ""]
    for child in element:
        if isinstance(child.tag, str) and (child.tag in _BLOCKS or _has_blocks(child)):
            blocks.append(" ".join("".join(run).split()))
            run = []
            _walk(child, blocks)
        elif isinstance(child.tag, str):
            run.append(child.text_content())
        run.append(child.tail or "")
    blocks.append(" ".join("".join(run).split()))


def _has_blocks(element) -> bool:
    return any(isinstance(child.tag, str) and child.tag in _BLOCKS for child in element.iterdescendants())


def _text(element) -> str:
    return " ".join("".join(element.itertext()).split())
