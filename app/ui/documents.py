"""The documents panel: upload files (several at once, drag and drop) or add pages by URL, see what is indexed,
refresh a page, remove, re-index."""
import html
from pathlib import Path

import gradio as gr

from app.errors import AppError
from app.collections import Collections
from app.pipeline import Pipeline
from app.ui import chat
from index.formats import SUPPORTED_SUFFIXES

CSS = """
#documents-result ul { margin: .2em 0; padding-left: 1.2em; }
#documents-result .refused { color: var(--error-text-color); }
"""
COLUMNS = ["Document", "Type", "Pages", "Passages", "Indexed (UTC)"]
TICK_S = 3  # how often an open page looks whether the indexed documents changed


def render_status(pipeline: Pipeline) -> str:
    return f"<p>{html.escape(pipeline.status())}</p>"


def rows(pipeline: Pipeline) -> list[list]:
    return [[r.source, r.kind, r.pages or "", r.chunks, r.indexed_at.replace("T", " ")[:16]]
            for r in pipeline.documents()]


def render_lines(lines: list[tuple[str, str]]) -> str:
    """(css class, text) pairs as an escaped list: names and reasons come from users' files."""
    items = "".join(f'<li class="{cls}">{html.escape(text)}</li>' for cls, text in lines)
    return f"<ul>{items}</ul>" if items else ""


def build(collections: Collections, collection: gr.Dropdown, status: gr.HTML, scope: gr.Dropdown,
          searched: gr.Markdown):
    """The panel of the collection chosen in `collection`; returns a function that brings it, the status line and
    the chat's documents selector (scope, and the line that says what is searched) up to date, with its inputs and
    outputs."""
    pipeline = collections.default
    gr.Markdown("### Documents")
    files = gr.File(label=f"Drop files here or click to choose ({', '.join(SUPPORTED_SUFFIXES)}; "
                          f"up to {pipeline.settings.max_upload_mb:g} MB each)",
                    file_count="multiple", file_types=list(SUPPORTED_SUFFIXES), elem_id="upload", height=150)
    with gr.Row(equal_height=True):
        address = gr.Textbox(placeholder="https://… a web page, PDF or Word document to add", show_label=False,
                             scale=4, elem_id="add-url", max_lines=1)
        fetch = gr.Button("Add page", scale=1, elem_id="add-url-button", min_width=90)
    result = gr.HTML(elem_id="documents-result")
    table = gr.Dataframe(value=rows(pipeline), headers=COLUMNS, interactive=False, wrap=True,
                         column_widths=["38%", "11%", "11%", "13%", "27%"], elem_id="documents")
    with gr.Row():
        choice = gr.Dropdown(choices=[r[0] for r in rows(pipeline)], value=None, label="Document",
                             scale=3, elem_id="remove-choice")
        again = gr.Button("Refresh", scale=1, elem_id="refresh", min_width=80)
        remove = gr.Button("Remove", variant="stop", scale=1, elem_id="remove", min_width=80)
    reindex = gr.Button("Re-index all", elem_id="reindex")

    def refreshed(message: str, chosen: list[str] | None, name: str | None):
        try:
            pipeline = collections.get(name)
        except AppError as exc:  # deleted meanwhile, on another page
            pipeline, message = collections.default, render_lines([("refused", str(exc))])
        current = rows(pipeline)
        names = [r[0] for r in current]
        kept = [name for name in chosen or [] if name in names]
        return (message, current, gr.update(choices=names, value=None), render_status(pipeline),
                gr.update(choices=names, value=kept), chat.scope_text(pipeline, kept))

    def reading_progress(progress: gr.Progress):
        """Shows the pages of a long PDF (scanned pages are read by OCR, seconds each) as they are read."""
        def show(source: str, done: int, total: int) -> None:
            if total > 1:
                progress((done, total), desc=f"Reading {source}", unit="pages")

        return show

    def files_progress(progress: gr.Progress):
        """Counts the files indexed, and the passages embedded so far."""
        def show(done: int, files: int, passages: int) -> None:
            progress((done, files), desc=f"Indexing: {passages} passages embedded", unit="files")

        return show

    def reported(add, chosen: list[str] | None, name: str | None) -> tuple:
        """The panel after add(pipeline) (an upload, a page fetched), which returns an UploadReport."""
        try:
            report = add(collections.get(name))
        except AppError as exc:
            return refreshed(render_lines([("refused", str(exc))]), chosen, name)
        lines = [("added", line) for line in report.summary().splitlines() if not line.startswith("Refused")]
        lines += [("refused", f"Refused {r['name']}: {r['reason']}") for r in report.refused]
        return refreshed(render_lines(lines), chosen, name)

    def on_upload(paths: list[str] | None, chosen: list[str] | None, name: str | None, progress=gr.Progress()):
        paths = [Path(p) for p in paths or []]
        progress(0, desc=f"Reading {len(paths)} file(s)…")
        return *reported(lambda pipeline: pipeline.upload([(p.name, p) for p in paths],
                                                          progress=files_progress(progress),
                                                          reading=reading_progress(progress)), chosen, name), None

    def on_fetch(url: str, chosen: list[str] | None, name: str | None, progress=gr.Progress()):
        if not (url or "").strip():
            return *refreshed(render_lines([("refused", "Type the page's address, https://…")]), chosen, name), url
        progress(0, desc="Fetching the page…")
        return *reported(lambda pipeline: pipeline.add_pages([url], progress=files_progress(progress),
                                                             reading=reading_progress(progress)), chosen, name), ""

    def on_refresh(source: str | None, chosen: list[str] | None, name: str | None, progress=gr.Progress()):
        if not source:
            return refreshed(render_lines([("refused", "Choose a page added by its address to refresh.")]), chosen,
                             name)
        progress(0, desc=f"Fetching {source} again…")
        return reported(lambda pipeline: pipeline.refresh(source, progress=files_progress(progress)), chosen, name)

    def on_remove(source: str | None, chosen: list[str] | None, name: str | None):
        if not source:
            return refreshed(render_lines([("refused", "Choose a document to remove.")]), chosen, name)
        try:
            record = collections.get(name).remove(source)
        except AppError as exc:
            return refreshed(render_lines([("refused", str(exc))]), chosen, name)
        return refreshed(render_lines([("removed", f"Removed {record.source} ({record.chunks} passages).")]),
                         chosen, name)

    def on_reindex(chosen: list[str] | None, name: str | None, progress=gr.Progress()):
        progress(0, desc="Reading the documents…")
        try:
            report = collections.get(name).index(progress=files_progress(progress), force=True,
                                                 reading=reading_progress(progress))
        except AppError as exc:
            return refreshed(render_lines([("refused", str(exc))]), chosen, name)
        return refreshed(render_lines([("added", f"Re-indexed: {report.summary()}")]), chosen, name)

    panel = [result, table, choice, status, scope, searched]
    files.upload(on_upload, [files, scope, collection], [*panel, files], show_progress_on=files,
                 api_visibility="private")
    remove.click(on_remove, [choice, scope, collection], panel, show_progress_on=table, api_visibility="private")
    for trigger in (fetch.click, address.submit):
        trigger(on_fetch, [address, scope, collection], [*panel, address], show_progress_on=table,
                api_visibility="private")
    again.click(on_refresh, [choice, scope, collection], panel, show_progress_on=table, api_visibility="private")
    reindex.click(on_reindex, [scope, collection], panel, show_progress_on=table, api_visibility="private")
    # What another process or the folder watch wrote shows up without a reload: a tick every few seconds looks
    # whether the indexed documents changed, and only then redraws the panel and the status line.
    seen = gr.State(_documents_signature(pipeline, collections.default_name))

    def on_tick(before: tuple, chosen: list[str] | None, name: str | None):
        try:
            now = _documents_signature(collections.get(name), name)
        except AppError:  # the collection was deleted on another page
            now = before
        if now == before:
            return *[gr.skip()] * (len(panel) - 1), before
        table_rows, _, *rest = refreshed("", chosen, name)[1:]
        names = [r[0] for r in table_rows]
        return table_rows, gr.update(choices=names), *rest, now  # a document being picked stays picked

    gr.Timer(TICK_S).tick(on_tick, [seen, scope, collection], [*panel[1:], seen], show_progress="hidden",
                          api_visibility="private")
    return lambda chosen, name: refreshed("", chosen, name)[1:], [scope, collection], panel[1:]


def _documents_signature(pipeline: Pipeline, name: str | None) -> tuple:
    return name or "", tuple((r.source, r.sha256, r.chunks) for r in pipeline.documents())
