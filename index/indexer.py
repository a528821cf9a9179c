"""Brings the store in line with the documents folder, embedding only new and changed files."""
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from index.errors import DocumentError
from index.chunking import Chunk, Chunker
from index.embeddings import BATCH_SIZE, Embedder
from index.formats import SUPPORTED_SUFFIXES
from index.loading import Document, find_files, load, source_name
from index.store import ChunkStore, FileRecord
from index.text import answer_sentences

# Called with (passages embedded so far, passages to embed) as indexing goes on.
Progress = Callable[[int, int], None]
# Called with (file, pages read so far, its pages) while a paged file is read (OCR takes seconds a page).
Reading = Callable[[str, int, int], None]


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
         reading: Reading | None = None, sentences: bool = False) -> IndexReport:
    """Indexes new and changed files under root (or under paths inside it) and drops deleted ones.

    Files indexed from another documents folder (another app process on a shared Chroma server) are
    left alone.
    Every file is read and checked before anything is written, so a bad file changes nothing.
    With force, unchanged files are embedded again too. reading follows the pages of each file read.
    """
    started = time.perf_counter()
    if not root.is_dir():
        raise DocumentError(f"The documents folder {root} does not exist. Create it or point --docs at one.")
    files, unsupported = find_files(root, paths)
    documents = [read_file(root, path, progress, reading) for path in files]
    scopes = [source_name(root, p) for p in paths] if paths else ["."]
    report = IndexReport(skipped=[source_name(root, p) for p in unsupported])
    records = store.files()
    write(store, embedder, chunker, documents, records, report, progress, force, sentences)

    present = {doc.source for doc in documents}
    for source, record in records.items():
        in_scope = any(s == "." or source == s or source.startswith(s + "/") for s in scopes)
        if in_scope and source not in present and record.origin in ("", store.origin):
            store.remove_file(record)
            report.removed.append(source)
    report.seconds = time.perf_counter() - started
    return report


def read_file(root: Path, path: Path, progress: bool | Progress = True, reading: Reading | None = None) -> Document:
    """One file of the folder, read; a bar shows its pages when reading it takes more than two seconds."""
    source = source_name(root, path)
    with tqdm(unit="page", desc=f"Reading {source}", delay=2, leave=False, disable=progress is not True) as bar:
        def pages(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)
            if reading:
                reading(source, done, total)

        return load(root, path, pages)


def keep_sentences(store: ChunkStore, embedder: Embedder, source: str, chunks: list[Chunk]) -> None:
    """Embeds the answering sentences of the chunks (those the extractive answerer scores) that the store does not
    keep yet, and keeps them, so that a question never waits for them."""
    texts = list(dict.fromkeys(c.text[s:e] for c in chunks for s, e in answer_sentences(c.text)))
    known = store.sentence_vectors(texts)
    missing = [t for t in texts if t not in known]
    for i in range(0, len(missing), BATCH_SIZE):
        batch = missing[i:i + BATCH_SIZE]
        store.add_sentences(source, batch, embedder.embed_documents(batch))


def write(store: ChunkStore, embedder: Embedder, chunker: Chunker, documents: list[Document],
          records: dict[str, FileRecord], report: IndexReport, progress: bool | Progress = True,
          force: bool = False, sentences: bool = False) -> None:
    """Embeds and stores the documents that are new or changed since their records, noting each in report; with
    sentences, their answering sentences' vectors too (see keep_sentences)."""
    todo = []
    for doc in documents:
        record = records.get(doc.source)
        if record and record.complete and record.sha256 == doc.sha256 and not force:
            report.unchanged.append(doc.source)
        else:
            (report.updated if record else report.added).append(doc.source)
            todo.append((doc, chunker.split(doc), record))

    store.check_room([chunk for _, chunks, _ in todo for chunk in chunks])
    total, done = sum(len(chunks) for _, chunks, _ in todo), 0
    with tqdm(total=total, unit="chunk", desc="Embedding", disable=progress is not True or not todo) as bar:
        for doc, chunks, record in todo:
            store.begin_file(doc, len(chunks), record)
            for i in range(0, len(chunks), BATCH_SIZE):
                batch = chunks[i:i + BATCH_SIZE]
                store.add_chunks(doc, batch, embedder.embed_documents([c.text for c in batch]))
                if sentences:
                    keep_sentences(store, embedder, doc.source, batch)
                bar.update(len(batch))
                done += len(batch)
                if callable(progress):
                    progress(done, total)
            store.finish_file(doc, len(chunks))
            report.chunks_embedded += len(chunks)
