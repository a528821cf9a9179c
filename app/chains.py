"""The index and the answerer for LangChain: a retriever of cited passages and a Runnable that answers.

    from app.chains import DocumentsRetriever, answer_chain
    retriever = DocumentsRetriever(docs="seeds", k=3)       # the options of the CLI, by their names
    retriever.invoke("Which countries joined NATO in 2004?")  # → [Document(page_content, metadata={source, …})]
    answer_chain(docs="seeds").invoke("Which countries joined NATO in 2004?")  # → the `ask --json` dict

The index is opened (and brought up to date with the documents folder) once per set of options in a process.
"""
import threading
from dataclasses import fields
from pathlib import Path

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import Runnable, RunnableLambda

from app.config import Settings
from app.pipeline import Pipeline

_PIPELINES: dict[Settings, Pipeline] = {}
_LOCK = threading.Lock()


def open_pipeline(**options) -> Pipeline:
    """The pipeline for these Settings options (docs, index_dir, chroma_url, collection, embeddings, answerer, …),
    opened and indexed once per process."""
    known = {f.name for f in fields(Settings)}
    unknown = sorted(set(options) - known)
    if unknown:
        raise TypeError(f"unknown option(s) {', '.join(unknown)}; the options are {', '.join(sorted(known))}")
    for name in ("docs", "index_dir"):
        if options.get(name) is not None:
            options[name] = Path(options[name])
    settings = Settings(**{name: value for name, value in options.items() if value is not None})
    with _LOCK:
        if settings not in _PIPELINES:
            pipeline = Pipeline(settings)
            pipeline.index(progress=False)
            _PIPELINES[settings] = pipeline
        return _PIPELINES[settings]


class DocumentsRetriever(BaseRetriever):
    """The indexed documents as a LangChain retriever: the k passages nearest the query, each a Document whose
    metadata holds its source, page (PDFs; None otherwise), passage number, offsets and score."""

    docs: str = str(Settings.docs)
    index_dir: str = str(Settings.index_dir)
    chroma_url: str | None = None
    collection: str | None = None
    embeddings: str = Settings.embeddings
    k: int = 4
    sources: list[str] | None = None  # only these documents, as `documents` lists them; None: all

    def pipeline(self) -> Pipeline:
        return open_pipeline(docs=self.docs, index_dir=self.index_dir, chroma_url=self.chroma_url,
                             collection=self.collection, embeddings=self.embeddings)

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun,
                                k: int | None = None, sources: list[str] | None = None) -> list[Document]:
        pipeline = self.pipeline()
        question = pipeline.check_question(query)
        chosen = pipeline.check_sources(sources if sources is not None else self.sources)
        found = pipeline.retriever.search(question, k or self.k, chosen)
        return [Document(page_content=p.chunk.text, id=p.chunk.id,
                         metadata={"source": p.chunk.source, "page": p.chunk.page, "passage": p.chunk.number,
                                   "start": p.chunk.start, "end": p.chunk.end, "score": round(p.score, 4)})
                for p in found]


def answer_chain(**options) -> Runnable:
    """The whole answerer as a Runnable: a question (or {"question", "history", "sources"}) → the `ask --json`
    dict (answer, confidence, exact answer, citations with source, page and quote). options: as open_pipeline."""
    def answer(request) -> dict:
        pipeline = open_pipeline(**options)
        if isinstance(request, str):
            return pipeline.ask(request).to_dict()
        history = [tuple(turn) for turn in request.get("history", [])]
        return pipeline.ask(request["question"], history, sources=request.get("sources")).to_dict()

    return RunnableLambda(answer, name="ask_the_documents")
