"""The named HTTP endpoints: /ask, /ask_llm, /source, /upload, /documents and /delete, over the Pipeline's methods."""
import inspect
from pathlib import Path

import gradio as gr

from app.errors import AppError
from app.pipeline import Pipeline


# Each named endpoint's number of inputs, for calls over plain HTTP that leave the optional last ones out
INPUTS: dict[str, int] = {}


def _endpoint(fn, name: str) -> None:
    gr.api(fn, api_name=name)
    INPUTS[name] = len(inspect.signature(fn).parameters)


def build(pipeline: Pipeline) -> None:
    def ask(question: str, sources: list[str] | None = None) -> dict:
        """Answers a question over the indexed documents: the answer, and the passages it cites.
        sources (optional): the names of the documents to search, as /documents lists them; all when empty."""
        return ask_llm(question, "", sources)

    def ask_llm(question: str, llm: str, sources: list[str] | None = None) -> dict:
        """Answers with the named answerer (`extractive`, or an LLM such as `ollama:llama3.2`); sources
        (optional) limits the search to those documents."""
        try:
            return pipeline.ask(question, answerer=llm or None, sources=sources).to_dict()
        except AppError as exc:
            raise gr.Error(str(exc), print_exception=False) from None

    def source(source: str, page: int | None = None, start: int | None = None, end: int | None = None) -> dict:
        """A document at a cited place. For a PDF: the page (1-based) as a PNG data URL, with the boxes of the
        text from start to end (a citation's quote.start and quote.end) highlighted, in pixels. For the other
        formats: the text around start–end as HTML, that text marked."""
        quotes = [(int(start), int(end))] if start is not None and end is not None else []
        try:
            return pipeline.sources.view(source, page, quotes).to_dict()
        except AppError as exc:
            raise gr.Error(str(exc), print_exception=False) from None

    def documents() -> list[dict]:
        """The indexed documents: source, type, pages, passages, indexed_at."""
        return [record.to_dict() for record in pipeline.documents()]

    def delete(source: str) -> dict:
        """Removes a document, by its source name, from the documents folder and the index."""
        try:
            record = pipeline.remove(source)
        except AppError as exc:
            raise gr.Error(str(exc), print_exception=False) from None
        return {"removed": record.source, "passages": record.chunks}

    def upload(paths: list[str] | None) -> dict:
        """Adds files: what was added, replaced, already indexed, and refused with the reason."""
        try:
            return pipeline.upload([(Path(p).name, Path(p)) for p in paths or []]).to_dict()
        except AppError as exc:
            raise gr.Error(str(exc), print_exception=False) from None

    for fn in (ask, ask_llm, source, documents, delete):
        _endpoint(fn, fn.__name__)
    # A file endpoint goes through a File component, which accepts only files uploaded to this server.
    files, added = gr.File(file_count="multiple", visible=False), gr.JSON(visible=False)
    gr.Button(visible=False).click(upload, files, added, api_name="upload")
