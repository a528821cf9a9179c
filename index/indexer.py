"""Brings the store in line with the documents folder, embedding only new and changed files."""
import contextvars
import hashlib
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, nullcontext
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from index.errors import DocumentError
from index.chunking import Chunk, Chunker
from index.embeddings import BATCH_SIZE, Embedder
from index.formats import SUPPORTED_SUFFIXES
from index.loading import Document, find_files, load, source_name
from index.store import ChunkStore, FileRecord
from index.text import answer_sentences
from index.worker import ReadLimits

# Called with (files done, files, passages embedded so far) as indexing goes on.
Progress = Callable[[int, int, int], None]
# Called with (file, pages read so far, its pages) while a paged file is read (OCR takes seconds a page).
Reading = Callable[[str, int, int], None]
READERS = 2  # files read at once, each by a process of its own, while those read before are embedded
T, R = TypeVar("T"), TypeVar("R")


@dataclass
class IndexReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # files of a type that is not indexed
    chunks_embedded: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        parts = [f"{len(self.added)} added", f"{len(self.updated)} updated", f"{len(self.removed)} removed",
                 f"{len(self.unchanged)} unchanged", f"{self.chunks_embedded} chunks embedded"]
        text = ", ".join(parts) + f" in {self.seconds:.1f} s"
        if self.skipped:
            text += f"; skipped (not {', '.join(SUPPORTED_SUFFIXES)}): {', '.join(self.skipped)}"
        return text


def sync(root: Path, store: ChunkStore, embedder: Embedder, chunker: Chunker,
         paths: list[Path] | None = None, progress: bool | Progress = True, force: bool = False,
         reading: Reading | None = None, sentences: bool = False, limits: ReadLimits = ReadLimits(),
         writing: Callable[[], AbstractContextManager] = nullcontext) -> IndexReport:
    """Indexes new and changed files under root (or under paths inside it) and drops deleted ones.

    Files indexed from another documents folder (another app process on a shared Chroma server) are
    left alone.
    The new and changed files are read (and OCR'd) first, outside writing (the index's writer lock), so that a
    long read holds up no other writer; then, under writing, each file's digest decides whether what was read is
    still current (a file changed meanwhile is read again) and the records as they are now decide what is left to
    embed. A bad file changes nothing; a file whose bytes match its record is not read again. With force, unchanged
    files are embedded again too. reading follows the pages of each file read.
    """
    started = time.perf_counter()
    if not root.is_dir():
        raise DocumentError(f"The documents folder {root} does not exist. Create it or point --docs at one.")
    files, unsupported = find_files(root, paths)
    scopes = [source_name(root, p) for p in paths] if paths else ["."]
    report = IndexReport(skipped=[source_name(root, p) for p in unsupported])

    def read(path: Path) -> Document:
        return read_file(root, path, progress, reading, limits)

    records = store.files()
    changed = [path for path in files if force or not _unchanged(records.get(source_name(root, path)), path)]
    documents = list(ReadAhead(changed, read))
    with writing():
        records = store.files()  # another writer may have indexed some of these files meanwhile
        current, gone = [], set()
        for path, doc in zip(changed, documents):
            digest = _digest(path)
            if digest is None:
                gone.add(path)
            else:
                current.append(doc if digest == doc.sha256 else read(path))
        report.unchanged += [source_name(root, path) for path in files if path not in changed]
        write(store, embedder, chunker, current, records, report, progress, force, sentences)

        present = {source_name(root, path) for path in files if path not in gone}
        for source, record in records.items():
            in_scope = any(s == "." or source == s or source.startswith(s + "/") for s in scopes)
            if in_scope and source not in present and record.origin in ("", store.origin):
                store.remove_file(record)
                report.removed.append(source)
    report.seconds = time.perf_counter() - started
    return report


class ReadAhead(Iterator[R]):
    """read(item) for each item, in order, with the next `readers` items being read meanwhile (on threads: each
    read waits on a reading process), so that several files are read at once."""

    def __init__(self, items: list[T], read: Callable[[T], R], readers: int = READERS):
        self._pool = ThreadPoolExecutor(readers, thread_name_prefix="read")
        self._rest, self._read = deque(items), read
        self._pending = deque(self._submit() for _ in range(min(readers, len(items))))

    def _submit(self):
        """The next item's read, in the caller's context (so that, say, a progress bar of the caller's follows it)."""
        return self._pool.submit(contextvars.copy_context().run, self._read, self._rest.popleft())

    def __next__(self) -> R:
        if not self._pending:
            self.close()
            raise StopIteration
        future = self._pending.popleft()
        if self._rest:
            self._pending.append(self._submit())
        try:
            return future.result()
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Stops reading: what is being read is finished, what is not is dropped."""
        self._pool.shutdown(wait=True, cancel_futures=True)


def _digest(path: Path) -> str | None:
    """The file's SHA-256 now; None when it is gone."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return None


def _unchanged(record: FileRecord | None, path: Path) -> bool:
    """Whether the file's bytes are those its complete record was indexed from: then it is not read again."""
    return bool(record and record.complete and not record.reread and record.sha256 == _digest(path))


def read_file(root: Path, path: Path, progress: bool | Progress = True, reading: Reading | None = None,
              limits: ReadLimits = ReadLimits()) -> Document:
    """One file of the folder, read; a bar shows its pages when reading it takes more than two seconds."""
    source = source_name(root, path)
    with tqdm(unit="page", desc=f"Reading {source}", delay=2, leave=False, disable=progress is not True) as bar:
        def pages(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)
            if reading:
                reading(source, done, total)

        return load(root, path, pages, limits)


def _sentences(chunks: list[Chunk]) -> list[str]:
    """The answering sentences of the chunks: those the extractive answerer scores."""
    return list(dict.fromkeys(c.text[s:e] for c in chunks for s, e in answer_sentences(c.text)))


def keep_sentences(store: ChunkStore, embedder: Embedder, source: str, chunks: list[Chunk],
                   kept: dict[str, np.ndarray]) -> None:
    """Keeps the vectors of the chunks' answering sentences, so that a question never waits for them: those in kept
    (or already in the store) as they are, the others embedded now."""
    texts = _sentences(chunks)
    known = {**store.sentence_vectors(texts), **{t: kept[t] for t in texts if t in kept}}
    missing = [t for t in texts if t not in known]
    for i in range(0, len(missing), BATCH_SIZE):
        batch = missing[i:i + BATCH_SIZE]
        store.add_sentences(source, batch, embedder.embed_documents(batch))
    again = [t for t in texts if t in kept]
    if again:
        store.add_sentences(source, again, np.asarray([kept[t] for t in again], dtype=np.float32))


@dataclass
class _Todo:
    """A new or changed file on its way into the store, with the vectors of its passages known so far."""

    document: Document
    chunks: list[Chunk]
    record: FileRecord | None
    vectors: dict  # passage text → vector: the file's earlier passages', then those embedded

    def embed(self, embedder: Embedder, chunks: list[Chunk]) -> int:
        """Embeds those of the chunks whose text has no vector yet; how many were embedded."""
        missing = list(dict.fromkeys(c.text for c in chunks if c.text not in self.vectors))
        for i in range(0, len(missing), BATCH_SIZE):
            batch = missing[i:i + BATCH_SIZE]
            self.vectors.update(zip(batch, embedder.embed_documents(batch)))
        return len(missing)


def write(store: ChunkStore, embedder: Embedder, chunker: Chunker, documents: Iterable[Document],
          records: dict[str, FileRecord], report: IndexReport, progress: bool | Progress = True,
          force: bool = False, sentences: bool = False, files: int | None = None, hold: bool = False) -> None:
    """Embeds and stores the documents that are new or changed since their records, noting each in report; with
    sentences, their answering sentences' vectors too (see keep_sentences). A changed file's passages (and
    sentences) whose text is as before keep their vectors; report counts the passages embedded.

    documents may be a generator, of `files` documents (for the progress bar)."""
    files = len(documents) if files is None else files
    with tqdm(total=files, unit="file", desc="Indexing", disable=progress is not True or not files) as bar:
        def advance(files_done: int = 0) -> None:
            bar.update(files_done)
            bar.set_postfix_str(f"{report.chunks_embedded} passages embedded")
            if callable(progress):
                progress(bar.n, files, report.chunks_embedded)

        for doc in documents:
            record = records.get(doc.source)
            if record and record.complete and record.sha256 == doc.sha256 and not force and not record.reread:
                report.unchanged.append(doc.source)
                advance(1)
                continue
            (report.updated if record else report.added).append(doc.source)
            if doc.url is None:  # read from the folder: a page added by URL keeps its address
                doc = replace(doc, url=record.url if record else "")
            todo = _Todo(doc, chunker.split(doc), record,
                         store.passage_vectors(doc.source) if record and not force else {})
            _store(store, embedder, todo, report, sentences, advance)


def _store(store: ChunkStore, embedder: Embedder, todo: _Todo, report: IndexReport, sentences: bool,
           advance: Callable[..., None]) -> None:
    """Writes a file's passages a batch at a time (embedding those that are not yet), then its complete record."""
    doc, chunks = todo.document, todo.chunks
    store.check_room(chunks)
    kept_sentences = store.sentence_vectors(_sentences(chunks)) if sentences and todo.record else {}
    store.begin_file(doc, len(chunks), todo.record)
    for i in range(0, len(chunks), BATCH_SIZE):
        batch = chunks[i:i + BATCH_SIZE]
        report.chunks_embedded += todo.embed(embedder, batch)
        store.add_chunks(doc, batch, np.asarray([todo.vectors[c.text] for c in batch], dtype=np.float32))
        if sentences:
            keep_sentences(store, embedder, doc.source, batch, kept_sentences)
        advance()
    store.finish_file(doc, len(chunks))
    advance(1)
