"""The named HTTP endpoints: /ask, /ask_llm, /upload, /documents and /delete, over the Pipeline's methods."""
from pathlib import Path

import gradio as gr

from app.errors import AppError
from app.pipeline import Pipeline


def build(pipeline: Pipeline) -> None:
    def ask(question: str) -> dict:
        """Answers a question over the indexed documents: the answer, and the passages it cites."""
        return ask_llm(question, "")

    def ask_llm(question: str, llm: str) -> dict:
        """Answers with the named answerer (`extractive`, or an LLM such as `ollama:llama3.2`)."""
        try:
            return pipeline.ask(question, answerer=llm or None).to_dict()
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

    gr.api(ask, api_name="ask")
    gr.api(ask_llm, api_name="ask_llm")
    gr.api(documents, api_name="documents")
    gr.api(delete, api_name="delete")
    # A file endpoint goes through a File component, which accepts only files uploaded to this server.
    files, added = gr.File(file_count="multiple", visible=False), gr.JSON(visible=False)
    gr.Button(visible=False).click(upload, files, added, api_name="upload")
