"""The Chroma store: one collection of chunks per corpus and embedding model, and a record of indexed files."""
import errno
import hashlib
import json
import os
import re
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlparse

import chromadb
import numpy as np
from chromadb.config import Settings
from filelock import FileLock

from index.errors import StoreError
from index.chunking import Chunk
from index.loading import Document

FORMAT_VERSION = 4  # 2: passages record their page and file version, files their type, pages, time and origin;
# 3: table rows name their columns (the text, and so the offsets, of Word and HTML tables changed);
# 4: ruled PDF tables read row by row under their header, scanned PDF pages read by OCR
# What each format changed, for opening an index an earlier release wrote: the kinds of file whose text is read
# differently since. Those files are read again; only their passages whose text changed are embedded again.
REREAD = {2: frozenset({"text", "markdown", "pdf", "docx", "html"}), 3: frozenset({"docx", "html"}),
          4: frozenset({"pdf"})}
WRITTEN_MARK = "last-write"  # a local index's writers leave "PID:time" here when they finish
MAX_BATCH = 5000  # Chroma takes at most 5461 records in one call
LOW_DISK_BYTES = 4 * 2**20  # room a local index keeps free: Chroma cannot even be read once its disk is full
CHUNK_BYTES = 6 * 1024  # what a stored chunk takes besides its text (vector, graph links, log, records)


@dataclass(frozen=True)
class FileRecord:
    source: str
    sha256: str
    chunks: int
    complete: bool  # False while its chunks are being written: an interrupted file is redone
    kind: str = "text"  # the document's format
    pages: int = 0  # page count of paginated formats, 0 for the others
    indexed_at: str = ""  # when its passages were written, ISO 8601 in UTC
    origin: str = ""  # the documents folder (host:path) that holds the file; only its own sync drops it
    engine: str = ""  # the embedding engine that computed its vectors (engines of one model_id agree)
    reread: bool = False  # kept from an earlier format whose reading of this kind changed: read it again
    url: str = ""  # the address a page added by URL was fetched from; "" for a file

    @classmethod
    def read(cls, stored: dict) -> "FileRecord":
        """A record from its stored metadata, leaving out fields that this release does not know."""
        return cls(**{k: v for k, v in stored.items() if k in _RECORD_FIELDS})

    def to_dict(self) -> dict:
        """What a documents list shows of it."""
        return {"source": self.source, "type": self.kind, "pages": self.pages or None,
                "passages": self.chunks, "indexed_at": self.indexed_at, "url": self.url or None}


_RECORD_FIELDS = {f.name for f in fields(FileRecord)}


@dataclass(frozen=True)
class Indexing:
    """A file whose passages are being written: not searched until all of them are. While it is still being
    read (reading), written and total count its pages; after that, its passages."""

    source: str
    written: int
    total: int
    reading: bool = False

    @property
    def percent(self) -> int:
        return min(99, round(100 * self.written / self.total)) if self.total else 0

    @property
    def text(self) -> str:
        if self.reading:
            return (f"{self.source} is still being indexed (reading page {min(self.written + 1, self.total)} of "
                    f"{self.total})" if self.total > 1 else f"{self.source} is still being indexed (reading it)")
        return f"{self.source} is still being indexed ({self.percent}%)"

    def to_dict(self) -> dict:
        return {"source": self.source, "stage": "reading" if self.reading else "embedding", "percent": self.percent}


def open_client(index_dir: Path | None = None, url: str | None = None, fresh: bool = False) -> chromadb.ClientAPI:
    """A Chroma client on a local directory, or on a Chroma server when a URL is given.

    fresh reloads a local index from disk: a client keeps its own copy of the vector index, which does
    not see what another process wrote."""
    settings = Settings(anonymized_telemetry=False)
    try:
        if fresh:
            from chromadb.api.client import SharedSystemClient

            SharedSystemClient.clear_system_cache()
        if url:
            parts = urlparse(url if "://" in url else f"http://{url}")
            return chromadb.HttpClient(
                host=parts.hostname or "localhost",
                port=parts.port or (443 if parts.scheme == "https" else 8000),
                ssl=parts.scheme == "https",
                settings=settings,
            )
        index_dir.mkdir(parents=True, exist_ok=True)
        # the first client on a directory creates Chroma's tables: two processes doing it at once collide
        with FileLock(index_dir / "open.lock", timeout=120):
            return chromadb.PersistentClient(path=str(index_dir), settings=settings)
    except Exception as exc:  # chromadb raises bare Exception/ValueError for connection and disk problems
        where = url or index_dir
        raise StoreError(f"Cannot open the index at {where}: {exc}") from None


def read_differently_since(version: int) -> frozenset[str]:
    """The kinds of file whose text this release reads differently from the release that wrote format version."""
    return frozenset().union(*(REREAD.get(v, ()) for v in range(version + 1, FORMAT_VERSION + 1)))


def _sentence_id(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()


def collection_name(corpus: str, model_id: str, chunking: dict, version: int | None = None) -> str:
    """A Chroma-safe name that changes whenever the corpus, model, chunking or format (this release's by default)
    does."""
    key = json.dumps([corpus, model_id, chunking, version or FORMAT_VERSION], sort_keys=True)
    slug = re.sub(r"[^a-zA-Z0-9]+", "-", Path(corpus).name).strip("-")[:40] or "docs"
    return f"{slug}-{hashlib.sha1(key.encode()).hexdigest()[:12]}"


class ChunkStore:
    """Chunks of one corpus embedded by one model; vectors of different models never share a collection.

    A chunk is searchable only while its file's record is complete and of the same version, so the
    passages of a file being written, or interrupted mid-write, never reach an answer.
    """

    def __init__(self, client: chromadb.ClientAPI, corpus: str, model_id: str, chunking: dict,
                 location: str = "", origin: str = "", reopen: Callable[[], chromadb.ClientAPI] | None = None,
                 engine: str = ""):
        self.name = collection_name(corpus, model_id, chunking)
        self._named = (corpus, model_id, chunking)
        self.location = location  # the index directory or server URL, for messages
        self.origin = origin
        self.engine = engine
        self.info = {
            "corpus": corpus,
            "model_id": model_id,
            "chunking": json.dumps(chunking, sort_keys=True),
            "format": FORMAT_VERSION,
        }
        # A local index is reloaded when another process has written it since (see WriteLock).
        self._reopen = reopen
        self._written = Path(location) / WRITTEN_MARK if reopen else None
        self._seen = self._last_write()
        self._open(client)

    def _open(self, client: chromadb.ClientAPI) -> None:
        self._client = client
        with self._using("opened", follow=False):
            self._chunks = client.get_or_create_collection(
                self.name, metadata={**self.info, "hnsw:space": "cosine"}, embedding_function=None
            )
            self._files = client.get_or_create_collection(
                f"{self.name}-files", metadata=self.info, embedding_function=None
            )
            # The vectors of the passages' sentences, by the sentence's text, for the extractive answerer
            self._sentences = client.get_or_create_collection(
                f"{self.name}-sentences", metadata={**self.info, "hnsw:space": "cosine"}, embedding_function=None
            )
        stored = {k: self._chunks.metadata.get(k) for k in self.info}
        if stored != self.info:
            raise StoreError(
                f"Index collection {self.name} was built for {stored}, not {self.info}. "
                "Delete the index directory and run `python -m app index` again."
            )

    def earlier_format(self) -> int | None:
        """The format of the collections an earlier release wrote for this corpus, model and chunking, while this
        release's are still empty: they are upgraded (see upgrade), not embedded again."""
        with self._using("opened"):
            if self._files.count():
                return None
            for version in range(FORMAT_VERSION - 1, 0, -1):
                try:
                    self._client.get_collection(f"{collection_name(*self._named, version)}-files")
                except Exception:  # noqa: BLE001 - chromadb's NotFoundError differs between its versions
                    continue
                return version
        return None

    def upgrade(self) -> int | None:
        """Moves the records, passages and sentence vectors of an earlier format's collections into this release's,
        marking the files whose kind is read differently since to be read again; then drops the old collections.
        Run under the writer lock; returns the format upgraded from, None when there was none."""
        version = self.earlier_format()
        if version is None:
            return None
        name = collection_name(*self._named, version)
        changed = read_differently_since(version)
        with self._using("upgraded"):
            old = {suffix: self._client.get_collection(name + suffix) for suffix in ("", "-files")}
            try:
                old["-sentences"] = self._client.get_collection(f"{name}-sentences")
            except Exception:  # noqa: BLE001 - older formats kept no sentence vectors
                pass
            records = [FileRecord.read(m) for m in old["-files"].get(include=["metadatas"])["metadatas"]]
            records = [replace(r, reread=r.kind in changed) for r in records]
            passages = _rows(old[""], ["documents", "metadatas", "embeddings"])
            sentences = (_rows(old["-sentences"], ["metadatas", "embeddings"]) if "-sentences" in old
                         else Rows([], [], np.zeros((0, 0), np.float32)))
        self.load(Stored(records, passages, sentences), own=False)
        with self._using("upgraded"):
            for collection in old.values():
                self._client.delete_collection(collection.name)
        return version

    def _last_write(self) -> str:
        try:
            return self._written.read_text() if self._written else ""
        except OSError:
            return ""

    def _follow_other_writers(self) -> None:
        last = self._last_write()
        if last != self._seen:
            self._seen = last
            if not last.startswith(f"{os.getpid()}:"):
                self._open(self._reopen())

    @contextmanager
    def _using(self, doing: str, follow: bool = True) -> Iterator[None]:
        """Turns the store's failures (server down, index deleted, disk full) into a message for users."""
        try:
            if self.location and not self.location.startswith("http") and not Path(self.location).is_dir():
                raise StoreError(f"The index at {self.location} is gone (it was deleted while the app ran). "
                                 "Restart the app, or run `python -m app index`, to build it again.")
            if follow and self._reopen:
                self._follow_other_writers()
            yield
        except StoreError:
            raise
        except Exception as exc:  # chromadb raises bare Exceptions for connection, disk and file problems
            raise StoreError(_explain(self.location, doing, exc)) from None

    def files(self, sources: list[str] | None = None) -> dict[str, FileRecord]:
        """The file records by source: all of them, or only those of sources (read by id, not by a scan)."""
        with self._using("read"):
            got = self._files.get(ids=sources, include=["metadatas"]) if sources is not None else \
                self._files.get(include=["metadatas"])
        return {m["source"]: FileRecord.read(m) for m in got["metadatas"]}

    def _record(self, record: FileRecord) -> None:
        self._files.upsert(
            ids=[record.source], embeddings=[[1.0]], documents=[record.source],
            metadatas=[asdict(record)],
        )

    def begin_file(self, document: Document, chunks: int, previous: FileRecord | None) -> None:
        """Marks a file as being written and drops its old chunks; add_chunks and finish_file follow.

        The record counts the old chunks or the new, whichever are more, so that redoing an
        interrupted file deletes every chunk it may have left."""
        with self._using("written"):
            self._record(FileRecord(document.source, document.sha256,
                                    max(chunks, previous.chunks if previous else 0), False, origin=self.origin,
                                    engine=self.engine, url=document.url or ""))
            self._delete_chunks(document.source, previous.chunks if previous else 0)
            self._sentences.delete(where={"source": document.source})

    def check_room(self, chunks: list[Chunk]) -> None:
        """Refuses to write chunks that would fill a local index's disk, before Chroma fails half-way."""
        if self.location.startswith("http"):
            return
        needed = sum(CHUNK_BYTES + 4 * len(c.text.encode()) for c in chunks) + LOW_DISK_BYTES
        try:
            free = shutil.disk_usage(self.location).free
        except OSError:
            return  # a missing index is reported by the write itself
        if free < needed:
            raise StoreError(
                f"The index at {self.location} could not be written: the disk is full ({free / 2**20:.1f} MB free, "
                f"about {needed / 2**20:.1f} MB needed). Free some space and try again; what was indexed "
                "before is still answered.")

    def add_chunks(self, document: Document, chunks: list[Chunk], vectors: list[list[float]]) -> None:
        """Writes some of a file's chunks; they are not searched until finish_file."""
        self.check_room(chunks)
        with self._using("written"):
            for i in range(0, len(chunks), MAX_BATCH):
                batch = chunks[i:i + MAX_BATCH]
                self._chunks.upsert(
                    ids=[c.id for c in batch],
                    embeddings=vectors[i:i + MAX_BATCH],
                    documents=[c.text for c in batch],
                    metadatas=[_chunk_metadata(c, document.sha256) for c in batch],
                )

    def add_sentences(self, source: str, texts: list[str], vectors: list[list[float]]) -> None:
        """Keeps the vectors of a file's sentences (by their text: a sentence two files share is kept once)."""
        with self._using("written"):
            for i in range(0, len(texts), MAX_BATCH):
                self._sentences.upsert(ids=[_sentence_id(t) for t in texts[i:i + MAX_BATCH]],
                                       embeddings=vectors[i:i + MAX_BATCH],
                                       metadatas=[{"source": source}] * len(texts[i:i + MAX_BATCH]))

    def passage_vectors(self, source: str) -> dict[str, np.ndarray]:
        """The vectors of a file's stored passages, by their text: kept when the file is written again."""
        with self._using("read"):
            got = self._chunks.get(where={"source": source}, include=["documents", "embeddings"])
        return {text: np.asarray(v, dtype=np.float32) for text, v in zip(got["documents"], got["embeddings"])}

    def sentence_vectors(self, texts: list[str]) -> dict[str, np.ndarray]:
        """The kept vectors of those sentences that have one."""
        ids = {_sentence_id(t): t for t in texts}
        with self._using("read"):
            got = self._sentences.get(ids=list(ids), include=["embeddings"])
        return {ids[i]: np.asarray(v, dtype=np.float32) for i, v in zip(got["ids"], got["embeddings"])}

    def finish_file(self, document: Document, chunks: int) -> None:
        """Records the file as indexed: from now on its chunks are searched."""
        indexed_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        with self._using("written"):
            self._record(FileRecord(document.source, document.sha256, chunks, True, document.kind,
                                    len(document.pages), indexed_at, self.origin, self.engine, url=document.url or ""))

    def drop(self) -> None:
        """Deletes the corpus's collections: its passages, records and sentence vectors. Run under the writer lock."""
        with self._using("written"):
            for collection in (self._files, self._chunks, self._sentences):
                self._client.delete_collection(collection.name)

    def remove_file(self, record: FileRecord) -> None:
        with self._using("written"):
            self._delete_chunks(record.source, record.chunks)
            self._sentences.delete(where={"source": record.source})
            self._files.delete(ids=[record.source])

    def _delete_chunks(self, source: str, count: int) -> None:
        ids = [f"{source}#{n}" for n in range(count)]
        for i in range(0, len(ids), MAX_BATCH):
            self._chunks.delete(ids=ids[i:i + MAX_BATCH])

    def dump(self) -> "Stored":
        """What the store keeps of its complete files: their records, passages and sentence vectors."""
        records = [r for r in self.files().values() if r.complete]
        live = {(r.source, r.sha256) for r in records}
        sources = {r.source for r in records}
        with self._using("read"):
            passages = _rows(self._chunks, ["documents", "metadatas", "embeddings"])
            sentences = _rows(self._sentences, ["metadatas", "embeddings"])
        passages = passages.keep([(m["source"], m.get("sha256")) in live for m in passages.metadatas])
        sentences = sentences.keep([m["source"] in sources for m in sentences.metadatas])
        return Stored(records, passages, sentences)

    def load(self, stored: "Stored", own: bool = True) -> None:
        """Writes records, passages and sentence vectors as they are, embedding nothing; each file's record last,
        so that a load cut short leaves no file searched with part of its passages. With own, the files become
        this documents folder's (see FileRecord.origin)."""
        complete = {r.source for r in stored.records if r.complete}
        own = [replace(r, origin=self.origin if own else r.origin, complete=False) for r in stored.records]
        with self._using("written"):
            for record in own:
                self._record(record)
            for rows, collection in ((stored.passages, self._chunks), (stored.sentences, self._sentences)):
                for i in range(0, len(rows.ids), MAX_BATCH):
                    collection.upsert(ids=rows.ids[i:i + MAX_BATCH], embeddings=rows.vectors[i:i + MAX_BATCH],
                                      metadatas=rows.metadatas[i:i + MAX_BATCH],
                                      documents=rows.texts[i:i + MAX_BATCH] if rows.texts else None)
            for record in own:
                self._record(replace(record, complete=record.source in complete))

    def documents(self) -> list[FileRecord]:
        """The completely indexed files, by name."""
        return sorted((r for r in self.files().values() if r.complete), key=lambda r: r.source)

    def in_progress(self) -> list[Indexing]:
        """The files whose records say their passages are being written, with how many are so far."""
        pending = [r for r in self.files().values() if not r.complete]
        found = []
        for record in sorted(pending, key=lambda r: r.source):
            with self._using("read"):
                written = self._chunks.get(where={"$and": [{"source": record.source}, {"sha256": record.sha256}]},
                                           include=[])["ids"]
            found.append(Indexing(record.source, len(written), record.chunks))
        return found

    def count(self) -> int:
        with self._using("read"):
            return self._chunks.count()

    def search(self, vector: list[float], k: int, sources: list[str] | None = None) -> list[tuple[Chunk, float]]:
        """The k nearest searchable chunks with their cosine similarity, best first; only of the named
        sources when sources is given."""
        asked, ids, chosen = 2 * k, None, []
        if sources:  # the chosen files' passages by id: about twice as fast as Chroma's metadata filter
            with self._using("searched"):
                chosen = self._files.get(ids=sorted(set(sources)), include=["metadatas"])["metadatas"]
            ids = [f"{r['source']}#{n}" for r in chosen if r["complete"] for n in range(r["chunks"])]
            if not ids:
                return []
        while True:
            with self._using("searched"):
                got = self._chunks.query(query_embeddings=[vector], n_results=min(asked, len(ids or ()) or asked),
                                         ids=ids, include=["documents", "metadatas", "distances"])
                metadatas = got["metadatas"][0]
                seen = sorted({m["source"] for m in metadatas})
                records = chosen if ids else \
                    self._files.get(ids=seen, include=["metadatas"])["metadatas"] if seen else []
            live = {(r["source"], r["sha256"]) for r in records if r["complete"]}
            found = [
                (Chunk(m["source"], m["number"], m["start"], m["end"], text, m.get("page"),
                       tuple(int(o) for o in m.get("page_starts", "").split(",") if o)), 1.0 - distance)
                for text, m, distance in zip(got["documents"][0], metadatas, got["distances"][0])
                if (m["source"], m.get("sha256")) in live
            ]
            if len(found) >= k or len(metadatas) < asked or asked >= 64 * k:
                return found[:k]
            asked *= 4  # files being written filled the nearest places: look further


@dataclass
class Rows:
    """Records of a collection: ids, metadata, vectors (a float32 array) and, for passages, texts."""

    ids: list[str]
    metadatas: list[dict]
    vectors: np.ndarray
    texts: list[str] | None = None

    def keep(self, wanted: list[bool]) -> "Rows":
        return Rows([i for i, w in zip(self.ids, wanted) if w], [m for m, w in zip(self.metadatas, wanted) if w],
                    self.vectors[np.asarray(wanted, dtype=bool)] if len(self.ids) else self.vectors,
                    [t for t, w in zip(self.texts, wanted) if w] if self.texts is not None else None)


@dataclass
class Stored:
    records: list[FileRecord]
    passages: Rows
    sentences: Rows


def _rows(collection, include: list[str], page: int = MAX_BATCH) -> Rows:
    """Every record of a collection, read a page at a time."""
    ids, metadatas, vectors, texts = [], [], [], []
    while True:
        got = collection.get(include=include, limit=page, offset=len(ids))
        if not got["ids"]:
            break
        ids += got["ids"]
        metadatas += got["metadatas"]
        vectors.append(np.asarray(got["embeddings"], dtype=np.float32))
        texts += got.get("documents") or []
    dimensions = vectors[0].shape[1] if vectors else 0
    return Rows(ids, metadatas, np.concatenate(vectors) if vectors else np.zeros((0, dimensions), np.float32),
                texts if "documents" in include else None)


def _chunk_metadata(chunk: Chunk, sha256: str) -> dict:
    metadata = {"source": chunk.source, "number": chunk.number, "start": chunk.start, "end": chunk.end,
                "sha256": sha256}
    if chunk.page is not None:  # Chroma keeps no None values: unpaginated chunks have no page key
        metadata["page"] = chunk.page
    if chunk.page_starts:  # a list would not do: Chroma keeps scalars
        metadata["page_starts"] = ",".join(map(str, chunk.page_starts))
    return metadata


def _nearly_full(location: str) -> bool:
    """Whether the disk of a local index has (almost) no room left: Chroma's own errors seldom say so."""
    try:
        return not location.startswith("http") and shutil.disk_usage(location).free < LOW_DISK_BYTES
    except OSError:
        return False


def _explain(location: str, doing: str, exc: Exception) -> str:
    reason = str(exc) or type(exc).__name__
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC or "disk is full" in reason or "No space" in reason \
            or doing == "written" and _nearly_full(location):
        return (f"The index at {location} could not be {doing}: the disk is full. Free some space and try "
                "again; what was indexed before is still answered.")
    if location.startswith("http"):
        return (f"Cannot reach the Chroma server at {location} ({reason}). Check that `chroma run` is up "
                "there; questions are answered again as soon as it is.")
    return (f"The index at {location} could not be {doing} ({reason}). If it is damaged, delete it and run "
            "`python -m app index`.")
