"""Brings the store in line with the documents folder, embedding only new and changed files."""
import time
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from app.errors import DocumentError
from index.chunking import Chunker
from index.embeddings import BATCH_SIZE, Embedder
from index.loading import find_files, load, source_name
from index.store import ChunkStore


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
            text += f"; skipped (not .txt or .md): {', '.join(self.skipped)}"
        return text


def sync(root: Path, store: ChunkStore, embedder: Embedder, chunker: Chunker,
         paths: list[Path] | None = None, progress: bool = True) -> IndexReport:
    """Indexes new and changed files under root (or under paths inside it) and drops deleted ones.

    Every file is read and checked before anything is written, so a bad file changes nothing.
    """
    started = time.perf_counter()
    if not root.is_dir():
        raise DocumentError(f"The documents folder {root} does not exist. Create it or point --docs at one.")
    files, unsupported = find_files(root, paths)
    documents = [load(root, path) for path in files]
    scopes = [source_name(root, p) for p in paths] if paths else ["."]
    report = IndexReport(skipped=[source_name(root, p) for p in unsupported])
    records = store.files()

    todo = []
    for doc in documents:
        record = records.get(doc.source)
        if record and record.complete and record.sha256 == doc.sha256:
            report.unchanged.append(doc.source)
        else:
            (report.updated if record else report.added).append(doc.source)
            todo.append((doc, chunker.split(doc), record))

    with tqdm(total=sum(len(chunks) for _, chunks, _ in todo), unit="chunk", desc="Embedding",
              disable=not progress or not todo) as bar:
        for doc, chunks, record in todo:
            vectors = []
            for i in range(0, len(chunks), BATCH_SIZE):
                vectors += embedder.embed_documents([c.text for c in chunks[i:i + BATCH_SIZE]])
                bar.update(len(chunks[i:i + BATCH_SIZE]))
            store.replace_file(doc.source, doc.sha256, chunks, vectors, record)
            report.chunks_embedded += len(chunks)

    present = {doc.source for doc in documents}
    for source, record in records.items():
        in_scope = any(s == "." or source == s or source.startswith(s + "/") for s in scopes)
        if in_scope and source not in present:
            store.remove_file(record)
            report.removed.append(source)
    report.seconds = time.perf_counter() - started
    return report
