"""The Chroma store: one collection of chunks per corpus and embedding model, and a record of indexed files."""
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import chromadb
from chromadb.config import Settings

from app.errors import StoreError
from index.chunking import Chunk

FORMAT_VERSION = 1
MAX_BATCH = 5000  # Chroma takes at most 5461 records in one call


@dataclass(frozen=True)
class FileRecord:
    source: str
    sha256: str
    chunks: int
    complete: bool  # False while its chunks are being written: an interrupted file is redone
    engine: str = ""  # the embedding engine that computed its vectors (engines of one model_id agree)


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

    def __init__(self, client: chromadb.ClientAPI, corpus: str, model_id: str, chunking: dict, engine: str = ""):
        name = collection_name(corpus, model_id, chunking)
        self.engine = engine
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
        return {
            m["source"]: FileRecord(m["source"], m["sha256"], m["chunks"], m["complete"], m.get("engine", ""))
            for m in got["metadatas"]
        }

    def _record(self, record: FileRecord) -> None:
        self._files.upsert(
            ids=[record.source], embeddings=[[1.0]], documents=[record.source],
            metadatas=[record.__dict__],
        )

    def replace_file(self, source: str, sha256: str, chunks: list[Chunk], vectors: list[list[float]],
                     previous: FileRecord | None) -> None:
        """Swaps a file's chunks for new ones; the file counts as indexed only once all are written."""
        self._record(FileRecord(source, sha256, max(len(chunks), previous.chunks if previous else 0), False,
                                self.engine))
        self._delete_chunks(source, previous.chunks if previous else 0)
        for i in range(0, len(chunks), MAX_BATCH):
            batch = chunks[i:i + MAX_BATCH]
            self._chunks.upsert(
                ids=[c.id for c in batch],
                embeddings=vectors[i:i + MAX_BATCH],
                documents=[c.text for c in batch],
                metadatas=[{"source": c.source, "number": c.number, "start": c.start, "end": c.end}
                           for c in batch],
            )
        self._record(FileRecord(source, sha256, len(chunks), True, self.engine))

    def remove_file(self, record: FileRecord) -> None:
        self._delete_chunks(record.source, record.chunks)
        self._files.delete(ids=[record.source])

    def _delete_chunks(self, source: str, count: int) -> None:
        ids = [f"{source}#{n}" for n in range(count)]
        for i in range(0, len(ids), MAX_BATCH):
            self._chunks.delete(ids=ids[i:i + MAX_BATCH])

    def count(self) -> int:
        return self._chunks.count()

    def search(self, vector: list[float], k: int) -> list[tuple[Chunk, float]]:
        """The k nearest chunks with their cosine similarity, best first."""
        got = self._chunks.query(query_embeddings=[vector], n_results=k,
                                 include=["documents", "metadatas", "distances"])
        return [
            (Chunk(m["source"], m["number"], m["start"], m["end"], text), 1.0 - distance)
            for text, m, distance in zip(got["documents"][0], got["metadatas"][0], got["distances"][0])
        ]
