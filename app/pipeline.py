"""Question answering over one corpus: opens the models and the store once, then indexes and answers."""
import hashlib
import json
import re
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from app import answerers
from app.answers import Answer, Citation
from app.config import Settings
from app.conversation_store import ConversationStore
from app.errors import AppError, DocumentError, QuestionError, StoreError, not_indexed
from app.retrieval import Retriever
from app.sources import Sources
from index import archive, embeddings, formats, loading, uploads, urls
from index.chunking import Chunker, ChunkingParams
from index.indexer import IndexReport, Progress, ReadAhead, Reading, sync, write
from index.lock import WriteLock
from index.store import WRITTEN_MARK, ChunkStore, FileRecord, Indexing, open_client

MAX_QUESTION_CHARS = 2000
CONVERSATIONS = "conversations.json"  # the member of an exported archive that holds the conversations
MAX_UPLOAD_FILES = 50  # files in one upload
# What undecodable bytes become on the command line (surrogateescape), or "\ud800" sent over JSON
_SURROGATE = re.compile("[\ud800-\udfff]")


class Pipeline:
    def __init__(self, settings: Settings = Settings(), models: "Pipeline | None" = None):
        """models: another Pipeline whose embedder and answerers this one shares (another collection's)."""
        self.settings = settings
        self.embedder = models.embedder if models else embeddings.get(settings.embeddings)
        limit = min(settings.chunk_tokens, self.embedder.max_tokens)
        default = ChunkingParams()
        params = ChunkingParams(limit, min(default.split_tokens, limit), default.min_tokens)
        self.chunker = Chunker(self.embedder.count_tokens, params)
        client = open_client(settings.index_dir, settings.chroma_url)
        corpus = settings.collection or str(settings.docs.resolve())
        location = settings.chroma_url or str(settings.index_dir)
        reopen = None if settings.chroma_url else lambda: open_client(settings.index_dir, fresh=True)
        self.store = ChunkStore(client, corpus, self.embedder.model_id, params.as_dict(), location,
                                origin=f"{socket.gethostname()}:{settings.docs.resolve()}", reopen=reopen,
                                engine=self.embedder.engine)
        mark = None if settings.chroma_url else settings.index_dir / WRITTEN_MARK
        self._writing = WriteLock(_lock_path(settings, corpus), settings.lock_timeout, mark)
        if self.store.earlier_format():  # an index an earlier release wrote: upgraded, not embedded again
            with self._writing():
                self.store.upgrade()
        self.retriever = Retriever(self.store, self.embedder, settings.top_k)
        self.sources = Sources(settings.docs, self.store, settings.read_limits)
        self._answerers: dict[str, answerers.Answerer] = models._answerers if models else {}
        self._reading: dict[str, Indexing] = {}  # files this process is reading now, by name
        self._reading_lock = threading.Lock()

    def writing(self):
        """The index's writer lock, as a context manager (see index.lock.WriteLock)."""
        return self._writing()

    @property
    def answerer(self) -> answerers.Answerer:
        """The configured answerer, created on first use: commands that only index never load its models."""
        return self.answerer_for(None)

    def answerer_for(self, name: str | None) -> answerers.Answerer:
        """The answerer of that name (the configured one for None), created once per process."""
        name = (name or self.settings.answerer).strip()
        if name not in self._answerers:
            fallback = None if name == "extractive" else self.answerer_for("extractive")
            self._answerers[name] = answerers.get(name, self.embedder, self.settings.llm_timeout,
                                                   self.settings.min_confidence, fallback, self.settings.reader)
            if hasattr(self._answerers[name], "stored_vectors"):  # the extractive answerer reads kept sentences
                self._answerers[name].stored_vectors = self.store.sentence_vectors
        return self._answerers[name]

    def index(self, paths: list[Path] | None = None, progress: bool | Progress = True,
              force: bool = False, reading: Reading | None = None) -> IndexReport:
        """Brings the index in line with the documents folder; with force, every file is embedded again.
        reading, when given, follows the pages of each file as it is read."""
        follow, seen = self._following(reading), set()

        def pages(source: str, done: int, total: int) -> None:
            seen.add(source)
            follow(source, done, total)

        try:  # files are read outside the writer lock, which sync takes to write
            return sync(self.settings.docs, self.store, self.embedder, self.chunker, paths, progress, force,
                        pages, self.settings.sentence_vectors, self.settings.read_limits, self._writing)
        finally:
            with self._reading_lock:  # a file that failed to read is no longer being read
                for source in seen:
                    self._reading.pop(source, None)

    def _following(self, reading: Reading | None) -> Reading:
        """A page counter that also tells questions asked meanwhile which files are still being read."""
        def follow(source: str, done: int, total: int) -> None:
            with self._reading_lock:
                if done < total:
                    self._reading[source] = Indexing(source, done, total, reading=True)
                else:
                    self._reading.pop(source, None)
            if reading:
                reading(source, done, total)

        return follow

    def upload(self, files: list[tuple[str, Path]], progress: bool | Progress = False,
               reading: Reading | None = None, addresses: dict[str, str] | None = None) -> uploads.UploadReport:
        """Adds files, given as (name as uploaded, where its bytes are), to the documents folder and the index.

        Each file is checked on its own: a refused one is reported with the reason and changes nothing.
        When storing fails, the documents folder and the index are put back as they were. reading, when given,
        follows the pages of each file as it is read; addresses gives the URL of each file that is a fetched page.
        """
        started, report = time.perf_counter(), uploads.UploadReport()
        if len(files) > MAX_UPLOAD_FILES:
            raise DocumentError(f"{len(files)} files in one upload; the limit is {MAX_UPLOAD_FILES}. "
                                "Upload them in smaller groups.")
        chosen: dict[str, tuple[str, Path]] = {}  # stored name → (name as uploaded, its bytes' path)
        for name, path in files:
            stored = uploads.safe_name(name)
            if stored in chosen:
                report.refused.append({"name": name, "reason": f"{name}: another file of this upload has the name "
                                                               f"{stored}; rename one of them."})
            else:
                chosen[stored] = (name, path)

        def read(stored: str) -> tuple[str, tuple[loading.Document, bytes] | DocumentError]:
            try:
                return stored, self._read_upload(stored, chosen[stored][1], reading)
            except DocumentError as exc:
                return stored, exc
            finally:
                with self._reading_lock:
                    self._reading.pop(stored, None)

        if chosen:
            read_all = list(ReadAhead(list(chosen), read))  # read (and OCR'd) without the writer lock
            with self._writing():  # which is taken only to write
                self._store_uploads(read_all, chosen, report, progress, addresses or {})
        report.seconds = time.perf_counter() - started
        return report

    def _read_upload(self, stored: str, path: Path, reading: Reading | None) -> tuple[loading.Document, bytes]:
        if not formats.is_supported(stored):
            raise DocumentError(f"{stored} is not a supported type; upload "
                                f"{', '.join(formats.SUPPORTED_SUFFIXES)} files.")
        size, limit = path.stat().st_size, self.settings.max_upload_mb
        if size > limit * 1_000_000:
            raise DocumentError(f"{stored} is {size / 1_000_000:.1f} MB; the limit is {limit:g} MB "
                                "(--max-upload-mb). Split it, or raise the limit.")
        if (self.settings.docs / stored).resolve().parent != self.settings.docs.resolve():
            raise DocumentError(f"{stored} cannot be stored in the documents folder; rename it.")
        data = path.read_bytes()
        follow = self._following(reading)
        follow(stored, 0, 1)
        return loading.read(stored, data, lambda done, total: follow(stored, done, total),
                            self.settings.read_limits), data

    def _store_uploads(self, read: list[tuple[str, tuple[loading.Document, bytes] | DocumentError]],
                       chosen: dict[str, tuple[str, Path]], report: uploads.UploadReport,
                       progress: bool | Progress, addresses: dict[str, str]) -> None:
        """Stores each file that was read; a refused one is noted. A file whose stored record already has the
        bytes read (another writer stored them meanwhile) is reported unchanged."""
        docs, placed, written = self.settings.docs, uploads.Placed(), []
        indexed = IndexReport()

        def accepted() -> Iterator[loading.Document]:
            for stored, outcome in read:
                name = chosen[stored][0]
                if isinstance(outcome, DocumentError):
                    report.refused.append({"name": name, "reason": str(outcome)})
                    continue
                if stored != name:
                    report.renamed[name] = stored
                document, data = outcome
                docs.mkdir(parents=True, exist_ok=True)
                placed.write(docs / stored, data)
                written.append(stored)
                yield replace(document, url=addresses.get(name, ""))

        try:
            write(self.store, self.embedder, self.chunker, accepted(), self.store.files(), indexed, progress,
                  sentences=self.settings.sentence_vectors, files=len(chosen))
        except BaseException:
            placed.undo()  # the folder as it was; the index follows it, or redoes it at the next sync
            try:
                sync(docs, self.store, self.embedder, self.chunker, [docs / s for s in written], progress=False)
            except AppError:
                pass  # the files' records stay incomplete, so their passages are never searched
            raise
        report.added += indexed.added
        report.replaced += indexed.updated
        report.unchanged += indexed.unchanged
        report.passages += indexed.chunks_embedded

    def add_pages(self, addresses: list[str], progress: bool | Progress = False,
                  reading: Reading | None = None) -> uploads.UploadReport:
        """Fetches the page at each address (see index.urls) and adds it as `upload` adds a file, under a name made
        from its address; adding an address again fetches it again and embeds only the passages that changed. A
        page that cannot be fetched is refused with the reason and changes nothing."""
        addresses = [a.strip() for a in addresses if a and a.strip()]
        if len(addresses) > MAX_UPLOAD_FILES:
            raise DocumentError(f"{len(addresses)} addresses at once; the limit is {MAX_UPLOAD_FILES}. Add them in "
                                "smaller groups.")
        refused, pages = [], []
        for address in addresses:
            try:
                pages.append(self._fetch(address))
            except DocumentError as exc:
                refused.append({"name": address, "reason": str(exc)})
        report = self._add_fetched(pages, progress, reading)
        report.refused[:0] = refused
        return report

    def refresh(self, source: str, progress: bool | Progress = False,
                reading: Reading | None = None) -> uploads.UploadReport:
        """Fetches a page added by URL again; only the passages that changed are embedded again."""
        record = self.store.files().get((source or "").strip())
        if record is None:
            raise not_indexed(source)
        if not record.url:
            raise DocumentError(f"{record.source} is a file, not a page added by its address; upload it again to "
                                "replace it.")
        page = self._fetch(record.url)
        if page.name != record.source:
            raise DocumentError(f"{record.url} now serves another type of document than {record.source}; remove "
                                "it and add the address again.")
        return self._add_fetched([page], progress, reading)

    def _fetch(self, address: str) -> urls.Page:
        settings = self.settings
        return urls.fetch(address, int(settings.max_upload_mb * 1_000_000), settings.fetch_timeout,
                          urls.refuse_none if settings.allow_private_urls else urls.is_private)

    def _add_fetched(self, pages: list[urls.Page], progress: bool | Progress,
                     reading: Reading | None) -> uploads.UploadReport:
        with tempfile.TemporaryDirectory(prefix="ask-the-documents-pages-") as folder:
            files = []
            for n, page in enumerate(pages):
                path = Path(folder) / f"{n}.page"
                path.write_bytes(page.data)
                files.append((page.name, path))
            return self.upload(files, progress, reading, {page.name: page.url for page in pages})

    def export_index(self, out: Path) -> archive.ArchiveReport:
        """Writes the index and its documents to one archive file (see index.archive), with the signed-in users'
        conversations."""
        extra = {}
        if self.settings.conversations_path.exists():
            kept = ConversationStore(self.settings.conversations_path).dump()
            extra[CONVERSATIONS] = json.dumps(kept, ensure_ascii=False).encode()
        report = archive.export_index(self.store, self.settings.docs, out, extra)
        if extra:
            report.notes.append(f"{len(kept)} conversations")
        return report

    def import_index(self, path: Path) -> archive.ArchiveReport:
        """Loads an archive into this empty index and its documents into the documents folder, embedding nothing;
        and its signed-in users' conversations, beside those kept here."""
        with self._writing():
            report = archive.import_index(self.store, self.settings.docs, path)
        kept = archive.member(path, CONVERSATIONS)
        if kept:
            added = ConversationStore(self.settings.conversations_path).load(json.loads(kept))
            report.notes.append(f"{added} conversations")
        return report

    def documents(self) -> list[FileRecord]:
        """The indexed documents, by name."""
        return self.store.documents()

    def remove(self, source: str) -> FileRecord:
        """Removes a document from the documents folder and from the index."""
        source = (source or "").strip()
        record = self.store.files().get(source)
        path = (self.settings.docs / source).resolve()
        if record is None or not path.is_relative_to(self.settings.docs.resolve()):
            raise not_indexed(source)
        with self._writing():
            path.unlink(missing_ok=True)
            self.store.remove_file(record)
        return record

    def check_question(self, question: str) -> str:
        """The question cleaned (control characters out, whitespace collapsed), or a QuestionError."""
        if _SURROGATE.search(question or ""):
            raise QuestionError("The question holds bytes that are not valid text (not UTF-8, or a broken "
                                "character); type it again, or set your terminal to UTF-8.")
        question = " ".join(formats.clean(question or "").split())
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

    def check_sources(self, sources: list[str] | None) -> list[str] | None:
        """The documents a question is limited to (None: all of them), each checked to be indexed."""
        names = sorted({name.strip() for name in sources or [] if name and name.strip()})
        if not names:
            return None
        indexed = {record.source for record in self.documents()}
        pending = {p.source: p for p in self.indexing()}
        for name in names:
            if name in pending:
                raise DocumentError(f"{pending[name].text}; ask again when it is done.")
            if name not in indexed:
                raise not_indexed(name, " (the /documents endpoint over HTTP)")
        return names

    def indexing(self) -> list[Indexing]:
        """The files being indexed right now, by this process or another, with how far along they are: those
        still being read by this process, then those whose passages are being written."""
        with self._reading_lock:
            found = sorted(self._reading.values(), key=lambda item: item.source)
        if not self._writing.busy():
            return found  # an incomplete record with no writer at work is an interrupted file, redone by `index`
        read = {item.source for item in found}
        return found + [item for item in self.store.in_progress() if item.source not in read]

    def stream(self, question: str, history: list[tuple[str, str]] = (), answerer: str | None = None,
               sources: list[str] | None = None) -> Iterator[str | Answer]:
        """The answer's text as it grows (LLM answerers), then the Answer.

        history holds the earlier (question, answer) turns of the conversation, oldest first; sources, when
        given, are the only documents searched.
        """
        question = self.check_question(question)
        chosen = self.answerer_for(answerer)
        sources = self.check_sources(sources)
        if self.store.count() == 0:
            raise StoreError(
                f"Nothing is indexed for {self.settings.docs}: upload documents in the browser, or add "
                f"files there ({', '.join(formats.SUPPORTED_SUFFIXES)}) and run `python -m app index`."
            )
        standalone = chosen.standalone(question, list(history))
        passages = self.retriever.search(standalone, sources=sources)
        pending = self.indexing()
        for item in chosen.stream(standalone, passages):
            if isinstance(item, Answer):
                notes = [f"Understood as: {standalone}"] if standalone != question else []
                notes += [item.note] if item.note else []
                notes += [_pending_note(pending)] if pending else []
                item = replace(item, question=question, note=" · ".join(notes), searched=sources,
                               indexing=[p.to_dict() for p in pending], citations=self._linked(item.citations))
            yield item

    def _linked(self, citations: list[Citation]) -> list[Citation]:
        """The citations, those of pages added by URL with their address: only the cited files' records are read."""
        cited = sorted({c.passage.chunk.source for c in citations})
        addresses = {s: r.url for s, r in self.store.files(cited).items() if r.url} if cited else {}
        return [replace(c, url=addresses.get(c.passage.chunk.source)) for c in citations]

    def ask(self, question: str, history: list[tuple[str, str]] = (), answerer: str | None = None,
            sources: list[str] | None = None) -> Answer:
        *_, answer = self.stream(question, history, answerer, sources)
        return answer

    def health(self) -> dict:
        """What monitoring reads: the indexed documents and passages, the embedding model and what computes it, and
        the documents folder."""
        return {"status": "ok", "documents": len(self.documents()), "passages": self.store.count(),
                "embeddings": self.embedder.model_id, "engine": self.embedder.engine,
                "answerer": self.settings.answerer, "docs": str(self.settings.docs)}

    def status(self) -> str:
        """One line: how many documents and passages, and which embedding model (in short; /health has it whole)."""
        documents, passages = len(self.documents()), self.store.count()
        model = self.embedder.engine.split("@")[0].split(":", 1)[-1].rstrip("/").split("/")[-1]
        return (f"{documents} document{'s' * (documents != 1)} · {passages} passage{'s' * (passages != 1)} · "
                f"{model}")


def _pending_note(pending: list[Indexing]) -> str:
    return "; ".join(p.text for p in pending) + "; ask again when it is done"


def _lock_path(settings: Settings, corpus: str) -> Path:
    """The index directory's own lock file; for a Chroma server, one per server and corpus on this machine."""
    if not settings.chroma_url:
        return settings.index_dir / "write.lock"
    key = hashlib.sha1(f"{settings.chroma_url} {corpus}".encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"ask-the-documents-{key}.lock"
