"""The named HTTP endpoints: /ask, /ask_llm, /source, /upload, /refresh, /documents and /delete, over the
Pipeline's methods."""
import functools
import inspect
import json
from pathlib import Path

import anyio
import gradio as gr

from app.errors import AppError
from app import conversation as conversation_records
from app.collections import Collections
from app.conversation_store import ConversationStore
from app.ui.admission import Admission, Busy


# Each named endpoint's number of inputs, for calls over plain HTTP that leave the optional last ones out
INPUTS: dict[str, int] = {}
# The tools MCP clients see: reading only. Uploading and deleting stay in the page and the HTTP API.
MCP_TOOLS = ["ask", "documents", "collections"]


def _endpoint(fn, name: str) -> None:
    gr.api(fn, api_name=name)
    INPUTS[name] = sum(p.annotation is not gr.Request for p in inspect.signature(fn).parameters.values())


def _as_json_text(fn, admission: Admission):
    """fn for MCP clients: its result as JSON text (Gradio would hand them Python's repr of a dict), once admitted
    (MCP calls skip Gradio's queue); a refused call is an MCP error result that says the server is busy. The call
    waits for its turn in the event loop and takes a worker thread only once admitted."""
    @functools.wraps(fn)
    async def tool(*args, **kwargs) -> str:
        try:
            ticket = admission.admit()
        except Busy as exc:
            raise gr.Error(str(exc), print_exception=False) from None
        async with ticket:
            result = await anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs))
        return json.dumps(result, ensure_ascii=False)

    tool.__signature__ = inspect.signature(fn).replace(return_annotation=str)
    tool.__annotations__ = {**fn.__annotations__, "return": str}
    return tool


def _told(fn):
    """fn with the app's errors turned into Gradio's, which reach the caller as their message (no traceback)."""
    @functools.wraps(fn)
    def told(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except AppError as exc:
            raise gr.Error(str(exc), print_exception=False) from None

    return told


def _user(request: gr.Request | None) -> str:
    """The signed-in user; conversations are kept on the server only for users of a server started with --auth."""
    user = getattr(request, "username", None)
    if not user:
        raise gr.Error("Without --auth, conversations are kept in each browser, not on the server; start the server "
                       "with --auth USER:PASSWORD to keep them here and read them over the API.", print_exception=False)
    return user


def build(collections: Collections, admission: Admission, store: ConversationStore) -> None:
    """The endpoints; admission bounds the MCP tools, which run outside Gradio's queue. Those over documents take an
    optional last argument, the collection (the default one when left out); store holds the signed-in users'
    conversations."""
    @_told
    def ask(question: str, sources: list[str] | None = None, collection: str | None = None) -> dict:
        """Answers a question from the indexed documents (reports, articles, manuals the user added), quoting
        the sentence that answers it, with citations: each cited passage's source file, page (for PDFs), the quoted
        sentence and its score, and a confidence from 0 to 1. When the documents do not answer, "abstained" is
        true and the answer says so: do not answer from elsewhere then. Ask one question at a time, in English
        or Romanian; call `documents` first to see what can be asked about.

        Args:
            question: the question, in full (up to 2,000 characters), e.g. "Which countries joined NATO in 2004?"
            sources: only these documents are searched, by their names as `documents` lists them; all when empty
            collection: the collection to ask, as `collections` lists them; the default one when empty
        Returns:
            {"answer", "abstained", "confidence", "span" (the exact answer), "citations": [{"n", "source", "page",
            "text", "quote": {"text", "start", "end"}, "score", "url"}], "searched", "indexing"}
        """
        return collections.get(collection).ask(question, sources=sources).to_dict()

    @_told
    def ask_llm(question: str, llm: str, sources: list[str] | None = None, collection: str | None = None) -> dict:
        """Answers with the named answerer (`extractive`, or an LLM such as `ollama:llama3.2`); sources
        (optional) limits the search to those documents, collection (optional) names the collection."""
        return collections.get(collection).ask(question, answerer=llm or None, sources=sources).to_dict()

    @_told
    def source(source: str, page: int | None = None, start: int | None = None, end: int | None = None,
               collection: str | None = None) -> dict:
        """A document at a cited place. For a PDF: the page (1-based) as a PNG data URL, with the boxes of the
        text from start to end (a citation's quote.start and quote.end) highlighted, in pixels. For the other
        formats: the text around start–end as HTML, that text marked."""
        quotes = [(int(start), int(end))] if start is not None and end is not None else []
        return collections.get(collection).sources.view(source, page, quotes).to_dict()

    @_told
    def documents(collection: str | None = None) -> list[dict]:
        """Lists the documents that `ask` answers from: each one's source name (to pass to `ask` as sources),
        type (pdf, docx, html, markdown, text), pages, number of passages, when it was indexed, and the address of
        a page added by URL.

        Args:
            collection: the collection to list, as `collections` lists them; the default one when empty
        Returns:
            [{"source", "type", "pages", "passages", "indexed_at", "url"}]
        """
        return [record.to_dict() for record in collections.get(collection).documents()]

    @_told
    def collections_() -> list[dict]:
        """Lists the collections (separate sets of documents) that `ask` and `documents` can be given: each one's
        name, number of documents, and whether it is the default (asked when no collection is named).

        Returns:
            [{"name", "documents", "default"}]
        """
        return [{"name": name, "documents": len(collections.get(name).documents()),
                 "default": name == collections.default_name} for name in collections.names()]

    @_told
    def delete(source: str, collection: str | None = None) -> dict:
        """Removes a document, by its source name, from the documents folder and the index."""
        record = collections.get(collection).remove(source)
        return {"removed": record.source, "passages": record.chunks}

    @_told
    def upload(paths: list[str] | None, addresses: str | None = None, collection: str | None = None) -> dict:
        """Adds files, and the pages at the http(s) addresses (one a line, optional): what was added, replaced,
        already indexed, and refused with the reason. Adding an address again fetches it again."""
        pipeline = collections.get(collection)
        report = pipeline.upload([(Path(p).name, Path(p)) for p in paths or []])
        if addresses and addresses.split():
            report = report.merged(pipeline.add_pages(addresses.split()))
        return report.to_dict()

    @_told
    def refresh(source: str, collection: str | None = None) -> dict:
        """Fetches a page added by its address again, by its source name; only what changed is embedded again."""
        return collections.get(collection).refresh(source).to_dict()

    @_told
    def create_collection(name: str) -> dict:
        """Creates an empty collection of that name."""
        return {"created": collections.create(name).settings.docs.name}

    @_told
    def rename_collection(name: str, new_name: str) -> dict:
        """Renames a collection (not the default one); its documents and passages stay as they are."""
        collections.rename(name, new_name)
        return {"renamed": name, "to": " ".join(new_name.split())}

    @_told
    def delete_collection(name: str) -> dict:
        """Deletes a collection (not the default one): its documents folder and its passages, nothing else."""
        return {"deleted": name, "documents": collections.delete(name)}

    def conversations(request: gr.Request) -> list[dict]:
        """The signed-in user's conversations, the latest first: [{"id", "title", "updated"}]."""
        return store.conversations(_user(request))

    def conversation(conversation_id: str, kind: str = "json", request: gr.Request = None) -> dict | str:
        """One of the signed-in user's conversations: as JSON, {"id", "title", "updated", "answers": [the `ask`
        answer of each question]}, or with kind "markdown", as the page's Markdown export."""
        kept = store.get(_user(request), conversation_id)
        if kept is None:
            raise gr.Error(f"You have no conversation '{conversation_id}'; /conversations lists yours.",
                           print_exception=False)
        answered = [conversation_records.from_record(record) for record in kept["answers"]]
        if kind == "markdown":
            return conversation_records.to_markdown(answered, kept["title"])
        return {**{k: kept[k] for k in ("id", "title", "updated")}, "answers": [a.to_dict() for a in answered]}

    collections_.__name__ = "collections"
    # The MCP tools first: Gradio names a tool by its function, and the first endpoint of a function gets the plain
    # name. They run outside the queue, because Gradio's queued path calls the app back over HTTP without the
    # login that --auth asks for; the MCP route has its own (app.ui.server.McpGate).
    for fn in (ask, documents, collections_):
        gr.api(_as_json_text(fn, admission), api_name=f"mcp_{fn.__name__}", queue=False)
    for fn in (ask, ask_llm, source, documents, collections_, delete, refresh, create_collection, rename_collection,
               delete_collection, conversations, conversation):
        _endpoint(fn, fn.__name__)
    # A file endpoint goes through a File component, which accepts only files uploaded to this server.
    files, added = gr.File(file_count="multiple", visible=False), gr.JSON(visible=False)
    addresses, collection = gr.Textbox(value="", visible=False), gr.Textbox(value="", visible=False)
    gr.Button(visible=False).click(upload, [files, addresses, collection], added, api_name="upload")
    INPUTS["upload"] = 3
