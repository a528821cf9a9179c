"""The Chroma store: one collection of chunks per corpus and embedding model, and a record of indexed files."""
import hashlib
import json
import re
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlparse

import chromadb
from chromadb.config import Settings

from app.errors import StoreError
from index.chunking import Chunk
from index.loading import Document

FORMAT_VERSION = 2  # 2: passages record their page, files their type, page count and indexing time
MAX_BATCH = 5000  # Chroma takes at most 5461 records in one call


@dataclass(frozen=True)
class FileRecord:
    source: str
    sha256: str
    chunks: int
    complete: bool  # False while its chunks are being written: an interrupted file is redone
    kind: str = "text"  # the document's format
    pages: int = 0  # page count of paginated formats, 0 for the others
    indexed_at: str = ""  # when its passages were written, ISO 8601 in UTC

    def to_dict(self) -> dict:
        """What a documents list shows of it."""
        return {"source": self.source, "type": self.kind, "pages": self.pages or None,
                "passages": self.chunks, "indexed_at": self.indexed_at}


def open_client(index_dir: Path | None = None, url: str | None = None) -> chromadb.ClientAPI:
    """A Chroma client on a local directory, or on a Chroma server when a URL is given."""
    settings = Settings(anonymized_telemetry=False)
    try:
        if url:
            parts = urlparse(url if "://" in url else f"http://{url}")
            return chromadb.HttpClient(
                host=parts.hostname or "localhost",
                port=parts.port or (443 if parts.scheme == "https" else 8000),
                ssl=parts.scheme == "https",
                settings=settings,
            )
        index_dir.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(index_dir), settings=settings)
    except Exception as exc:  # chromadb raises bare Exception/ValueError for connection and disk problems
        where = url or index_dir
        raise StoreError(f"Cannot open the index at {where}: {exc}") from None


def collection_name(corpus: str, model_id: str, chunking: dict) -> str:
    """A Chroma-safe name that changes whenever the corpus, model or chunking does."""
    key = json.dumps([corpus, model_id, chunking, FORMAT_VERSION], sort_keys=True)
    slug = re.sub(r"[^a-zA-Z0-9]+", "-", Path(corpus).name).strip("-")[:40] or "docs"
    return f"{slug}-{hashlib.sha1(key.encode()).hexdigest()[:12]}"


class ChunkStore:
    """Chunks of one corpus embedded by one model; vectors of different models never share a collection."""

    def __init__(self, client: chromadb.ClientAPI, corpus: str, model_id: str, chunking: dict):
        name = collection_name(corpus, model_id, chunking)
        self.info = {
            "corpus": corpus,
            "model_id": model_id,
            "chunking": json.dumps(chunking, sort_keys=True),
            "format": FORMAT_VERSION,
        }
        try:
            self._chunks = client.get_or_create_collection(
                name, metadata={**self.info, "hnsw:space": "cosine"}, embedding_function=None
            )
            self._files = client.get_or_create_collection(
                f"{name}-files", metadata=self.info, embedding_function=None
            )
        except Exception as exc:
            raise StoreError(f"Cannot open the index collection {name}: {exc}") from None
        stored = {k: self._chunks.metadata.get(k) for k in self.info}
        if stored != self.info:
            raise StoreError(
                f"Index collection {name} was built for {stored}, not {self.info}. "
                "Delete the index directory and run `python -m app index` again."
            )

    def files(self) -> dict[str, FileRecord]:
        got = self._files.get(include=["metadatas"])
        return {m["source"]: FileRecord(**m) for m in got["metadatas"]}

    def _record(self, record: FileRecord) -> None:
        self._files.upsert(
            ids=[record.source], embeddings=[[1.0]], documents=[record.source],
            metadatas=[asdict(record)],
        )

    def replace_file(self, document: Document, chunks: list[Chunk], vectors: list[list[float]],
                     previous: FileRecord | None) -> None:
        """Swaps a file's chunks for new ones; the file counts as indexed only once all are written."""
        source, sha256 = document.source, document.sha256
        self._record(FileRecord(source, sha256, max(len(chunks), previous.chunks if previous else 0), False))
        self._delete_chunks(source, previous.chunks if previous else 0)
        for i in range(0, len(chunks), MAX_BATCH):
            batch = chunks[i:i + MAX_BATCH]
            self._chunks.upsert(
                ids=[c.id for c in batch],
                embeddings=vectors[i:i + MAX_BATCH],
                documents=[c.text for c in batch],
                metadatas=[_chunk_metadata(c) for c in batch],
            )
        indexed_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        self._record(FileRecord(source, sha256, len(chunks), True, document.kind, len(document.pages),
                                indexed_at))

    def remove_file(self, record: FileRecord) -> None:
        self._delete_chunks(record.source, record.chunks)
        self._files.delete(ids=[record.source])

    def _delete_chunks(self, source: str, count: int) -> None:
        ids = [f"{source}#{n}" for n in range(count)]
        for i in range(0, len(ids), MAX_BATCH):
            self._chunks.delete(ids=ids[i:i + MAX_BATCH])

    def documents(self) -> list[FileRecord]:
        """The completely indexed files, by name."""
        return sorted((r for r in self.files().values() if r.complete), key=lambda r: r.source)

    def count(self) -> int:
        return self._chunks.count()

    def search(self, vector: list[float], k: int) -> list[tuple[Chunk, float]]:
        """The k nearest chunks with their cosine similarity, best first."""
        got = self._chunks.query(query_embeddings=[vector], n_results=k,
                                 include=["documents", "metadatas", "distances"])
        return [
            (Chunk(m["source"], m["number"], m["start"], m["end"], text, m.get("page")), 1.0 - distance)
            for text, m, distance in zip(got["documents"][0], got["metadatas"][0], got["distances"][0])
        ]


def _chunk_metadata(chunk: Chunk) -> dict:
    metadata = {"source": chunk.source, "number": chunk.number, "start": chunk.start, "end": chunk.end}
    if chunk.page is not None:  # Chroma keeps no None values: unpaginated chunks have no page key
        metadata["page"] = chunk.page
    return metadata
