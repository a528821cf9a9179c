"""Question answering over one corpus: opens the models and the store once, then indexes and answers."""
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from app import answerers
from app.answers import Answer
from app.config import Settings
from app.errors import QuestionError, StoreError
from app.retrieval import Retriever
from index import embeddings
from index.chunking import Chunker, ChunkingParams
from index.indexer import IndexReport, sync
from index.store import ChunkStore, open_client

MAX_QUESTION_CHARS = 2000


class Pipeline:
    def __init__(self, settings: Settings = Settings()):
        self.settings = settings
        self.embedder = embeddings.get(settings.embeddings)
        limit = min(settings.chunk_tokens, self.embedder.max_tokens)
        default = ChunkingParams()
        params = ChunkingParams(limit, min(default.split_tokens, limit), default.min_tokens)
        self.chunker = Chunker(self.embedder.count_tokens, params)
        client = open_client(settings.index_dir, settings.chroma_url)
        self.store = ChunkStore(client, str(settings.docs.resolve()), self.embedder.model_id,
                                params.as_dict(), self.embedder.engine)
        self.retriever = Retriever(self.store, self.embedder, settings.top_k)
        self._answerers: dict[str, answerers.Answerer] = {}
        self.answerer = self.answerer_for(settings.answerer)

    def answerer_for(self, name: str | None) -> answerers.Answerer:
        """The answerer of that name (the configured one for None), created once per process."""
        name = (name or self.settings.answerer).strip()
        if name not in self._answerers:
            self._answerers[name] = answerers.get(name, self.embedder, self.settings.llm_timeout)
        return self._answerers[name]

    def index(self, paths: list[Path] | None = None, progress: bool = True) -> IndexReport:
        return sync(self.settings.docs, self.store, self.embedder, self.chunker, paths, progress)

    def check_question(self, question: str) -> str:
        question = (question or "").strip()
        if not question:
            raise QuestionError("The question is empty: type a question about the documents.")
        if len(question) > MAX_QUESTION_CHARS:
            raise QuestionError(
                f"The question is {len(question):,} characters long; the limit is "
                f"{MAX_QUESTION_CHARS:,}. Ask something shorter."
            )
        tokens = self.embedder.count_query_tokens(question)
        if tokens > self.embedder.max_tokens:
            raise QuestionError(
                f"The question is {tokens} tokens long; the embedding model reads at most "
                f"{self.embedder.max_tokens}. Ask something shorter."
            )
        return question

    def stream(self, question: str, history: list[tuple[str, str]] = (),
               answerer: str | None = None) -> Iterator[str | Answer]:
        """The answer's text as it grows (LLM answerers), then the Answer.

        history holds the earlier (question, answer) turns of the conversation, oldest first.
        """
        question = self.check_question(question)
        chosen = self.answerer_for(answerer)
        if self.store.count() == 0:
            raise StoreError(
                f"Nothing is indexed for {self.settings.docs}: add .txt or .md files there and run "
                "`python -m app index`."
            )
        standalone = chosen.standalone(question, list(history))
        for item in chosen.stream(standalone, self.retriever.search(standalone)):
            if isinstance(item, Answer) and standalone != question:
                note = f"Understood as: {standalone}" + (f" · {item.note}" if item.note else "")
                item = replace(item, question=question, note=note)
            yield item

    def ask(self, question: str, history: list[tuple[str, str]] = (), answerer: str | None = None) -> Answer:
        *_, answer = self.stream(question, history, answerer)
        return answer

    def status(self) -> str:
        files = sorted(s for s, r in self.store.files().items() if r.complete)
        shown = ", ".join(files[:5]) + (f" and {len(files) - 5} more" if len(files) > 5 else "")
        return (f"{len(files)} document(s) in {self.settings.docs}: {shown or 'none'} · "
                f"{self.store.count()} passages · embeddings: {self.embedder.model_id}"
                + (f" ({self.embedder.engine})" if self.embedder.engine != self.embedder.model_id else ""))
