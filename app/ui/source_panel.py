"""The source panel beside the chat: a cited PDF page drawn with the quoted sentence highlighted, or a
document's text scrolled to the passage; page buttons and the whole file to download."""
import shutil

import gradio as gr

from app.answers import Answer, Citation
from app.errors import AppError
from app.collections import Collections
from app.sources import SourceView
from app.ui.chat import as_text
from app.ui.served_files import ServedFiles

CSS = """
.source-text { white-space: pre-wrap; max-height: 560px; overflow-y: auto; font-size: .92em; }
.source-text mark.passage { background: #e0f2fe; color: inherit; }
.source-text mark.quote { background: #fde68a; color: inherit; }
"""

# A click on a citation or an [n] marker in the chat asks for that source: the "turn:n" of its class goes into a
# hidden box, and a hidden button sends it; a text document is then scrolled to the quote. A page's address link
# opens the page itself.
JS = """
() => {
  document.addEventListener('click', (event) => {
    if (event.target.closest('#chat a.page-link')) return;
    const cited = event.target.closest('#chat .cite, #chat .citation');
    const name = cited && /cited-(\\d+)-(\\d+)/.exec(cited.className);
    if (!name) return;
    event.preventDefault();
    const box = document.querySelector('#source-request textarea, #source-request input');
    box.value = `${name[1]}:${name[2]}`;
    box.dispatchEvent(new Event('input', {bubbles: true}));
    setTimeout(() => document.querySelector('#source-open').click(), 60);
  });
}
"""
SCROLL = ("() => setTimeout(() => document.querySelector('#source-text mark.quote')"
          "?.scrollIntoView({block: 'center'}), 200)")


def caption(view: SourceView, citation: Citation | None) -> str:
    where = f" · page {view.page} of {view.pages}" if view.page else ""
    on_page = citation is not None and (not view.page or citation.page == view.page)
    quote = f"<br><i>{as_text(' '.join(citation.quote.split()))}</i>" if on_page else ""
    n = f"[{citation.n}] " if citation else ""
    return f"<b>{n}{as_text(view.source)}</b>{where}{quote}"


def build(collections: Collections, answers: gr.State) -> None:
    """The panel, hidden until a citation of the conversation's answers is clicked."""
    copies = ServedFiles("ask-the-documents-sources-")

    def open_cited(request: str, answered: list[Answer]):
        """Opens citation "turn:n" of this conversation at the page of its quote."""
        try:
            turn, n = (int(x) for x in (request or "").split(":"))
            citation = next(c for c in answered[turn].citations if c.n == n)
        except (ValueError, IndexError, StopIteration):
            return shown(None, "⚠️ That citation is not in this conversation any more; ask again.")
        chunk = citation.passage.chunk
        return shown({"source": chunk.source, "page": citation.page, "citation": citation,
                      "collection": answered[turn].collection,
                      "quotes": [(chunk.start + start, chunk.start + end) for start, end in citation.spans],
                      "passage": (chunk.start, chunk.end)})

    def turn_page(place: dict | None, step: int):
        if not place or not place.get("page"):
            return shown(place)
        return shown({**place, "page": place["page"] + step})

    def shown(place: dict | None, message: str = ""):
        """The panel's parts: itself, caption, page image, text, page buttons, download, and the place shown."""
        hidden = gr.update(visible=False)
        try:
            if place is None:
                raise AppError(message)
            sources = collections.get(place.get("collection")).sources
            view = sources.view(place["source"], place["page"], place["quotes"], place["passage"])
        except AppError as exc:
            return (gr.update(visible=True), f"⚠️ {as_text(str(exc).removeprefix('⚠️ '))}", hidden, hidden,
                    hidden, hidden, hidden, None)
        path = view.path
        copy = copies.folder() / path.name
        shutil.copyfile(path, copy)
        paged = view.image is not None
        return (gr.update(visible=True), caption(view, place["citation"]),
                gr.update(value=view.image, visible=paged), gr.update(value=view.text_html, visible=not paged),
                gr.update(interactive=paged and view.page > 1, visible=paged),
                gr.update(interactive=paged and view.page < view.pages, visible=paged),
                gr.update(value=str(copy), label=f"Download {path.name}", visible=True),
                {**place, "page": view.page})

    with gr.Column(visible=False, elem_id="source-panel") as panel:
        gr.Markdown("### Source")
        title = gr.HTML(elem_id="source-caption")
        image = gr.Image(type="pil", interactive=False, show_label=False, elem_id="source-page", visible=False,
                         buttons=["fullscreen"])
        text = gr.HTML(elem_id="source-text", visible=False)
        with gr.Row():
            previous = gr.Button("◀ Previous page", size="sm", elem_id="source-previous", visible=False)
            following = gr.Button("Next page ▶", size="sm", elem_id="source-next", visible=False)
            download = gr.DownloadButton("Download", size="sm", elem_id="source-download", visible=False)
            close = gr.Button("Close", size="sm", elem_id="source-close")
    place = gr.State(None)
    request = gr.Textbox(visible="hidden", elem_id="source-request")
    opener = gr.Button(visible="hidden", elem_id="source-open")

    parts = [panel, title, image, text, previous, following, download, place]
    opener.click(open_cited, [request, answers], parts, api_visibility="private").then(
        None, js=SCROLL, api_visibility="private")
    previous.click(lambda at: turn_page(at, -1), place, parts, api_visibility="private")
    following.click(lambda at: turn_page(at, 1), place, parts, api_visibility="private")
    close.click(lambda: gr.update(visible=False), None, panel, api_visibility="private")
