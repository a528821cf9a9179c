"""The browser app: the chat beside the documents panel, and the named API endpoints, over one Pipeline."""
import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr  # noqa: E402

from app.errors import AppError  # noqa: E402
from app.pipeline import Pipeline  # noqa: E402
from app.collections import Collections  # noqa: E402
from app.conversation_store import ConversationStore  # noqa: E402
from app.ui import api, chat, collection_picker, conversations, documents, server, source_panel  # noqa: E402
from app.ui.admission import Admission  # noqa: E402
from app.ui.keys import BearerKeys  # noqa: E402
from index import worker  # noqa: E402

CSS = chat.CSS + conversations.CSS + documents.CSS + source_panel.CSS

# System fonts: the default theme would fetch web fonts, and the app must work with no internet.
THEME = gr.themes.Default(font=["ui-sans-serif", "system-ui", "sans-serif"],
                          font_mono=["ui-monospace", "monospace"])


def build(collections: Collections | Pipeline, admission: Admission | None = None) -> gr.Blocks:
    """The page and its endpoints over the collections (or one Pipeline: its collection alone); admission bounds the
    calls outside Gradio's queue (by default, the settings' --concurrency and --max-queue)."""
    if isinstance(collections, Pipeline):
        collections = Collections(collections)
    pipeline = collections.default
    admission = admission or Admission(pipeline.settings.concurrency, pipeline.settings.max_queue)
    # Gradio keeps a copy of each file it serves (exports, cited documents): a day's worth is kept.
    with gr.Blocks(title="Ask the documents", delete_cache=(3600, 86400)) as demo:
        gr.Markdown("## Ask the documents")
        collection = collection_picker.build(collections)
        status = gr.HTML(documents.render_status(pipeline), elem_id="status")
        with gr.Row(equal_height=False):
            with gr.Column(scale=5):
                parts = chat.build(collections, collection)
            with gr.Column(scale=4, elem_id="documents-panel"):
                source_panel.build(collections, parts.answers)
                refresh, inputs, panel = documents.build(collections, collection, status, parts.scope,
                                                         parts.searched)
        store = ConversationStore(pipeline.settings.conversations_path)
        opening, starting, closed = conversations.build(store, parts)
        api.build(collections, admission, store)
        demo.load(lambda: gr.update(choices=collections.names()), None, collection, show_progress="hidden",
                  api_visibility="private")
        demo.load(refresh, inputs, panel, api_visibility="private")  # what changed since the page was built
        demo.load(*opening, show_progress="hidden", api_visibility="private")  # the conversation last open
        demo.unload(closed)
        # another collection: its documents, and a new conversation
        collection.change(refresh, inputs, panel, api_visibility="private").then(*starting,
                                                                                 api_visibility="private")
    return demo


def serve(collections: Collections, host: str, port: int, logins: list[tuple[str, str]] = (),
          api_keys: list[str] = (), mcp: bool = False) -> None:
    """Serves the app; with logins, the page and the API ask for one of them. The OpenAI-compatible /v1 routes
    and, with mcp, the MCP server take a bearer token: one of api_keys, or a login as USER:PASSWORD."""
    settings = collections.default.settings
    worker.warm(settings.read_limits)  # the first upload does not wait for a reading process to start
    # one admission for the ways in that Gradio's queue does not see (MCP, /v1), with the queue's bounds
    admission = Admission(settings.concurrency, settings.max_queue)
    demo = build(collections, admission).queue(default_concurrency_limit=settings.concurrency,
                                               max_size=settings.max_queue)
    try:
        demo.launch(server_name=host, server_port=port, css=CSS, js=source_panel.JS, theme=THEME, show_error=True,
                    auth=list(logins) or None, max_file_size=f"{int(settings.max_upload_mb * 1_000_000)}b",
                    mcp_server=mcp,
                    app_kwargs=server.app_kwargs(collections, api.INPUTS, BearerKeys(api_keys, logins),
                                                 api.MCP_TOOLS, admission))
    except OSError as exc:
        raise AppError(f"Cannot serve on {host}:{port}: {exc}. Choose another --port.") from None
