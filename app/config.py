"""Settings shared by every command: where the documents and the index are, which models to use."""
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from app import answerers, llm
from index import embeddings
from index.chunking import ChunkingParams
from index.worker import ReadLimits


@dataclass(frozen=True)
class Settings:
    docs: Path = Path("seeds")
    index_dir: Path = Path(".rag-index")
    chroma_url: str | None = None
    collection: str | None = None  # the corpus name on a shared Chroma server; default: the docs folder
    collections_dir: Path = Path("collections")  # the named collections' folders (see app.collections)
    embeddings: str = embeddings.DEFAULT
    answerer: str = answerers.DEFAULT  # `extractive`, or an LLM: see app.llm.FORMS
    llm_timeout: float = llm.DEFAULT_TIMEOUT  # seconds an LLM server may take before the fallback
    top_k: int = 5
    min_confidence: float | None = None  # below it the extractive answer abstains; None: the calibrated point
    reader: bool = True  # the extractive answerer's span reader: the exact answer, and the abstention it informs
    sentence_vectors: bool = False  # the passages' sentences embedded at indexing, not at question time
    chunk_tokens: int = ChunkingParams.max_tokens  # a paragraph up to this size stays one passage
    max_upload_mb: float = 20.0  # larger uploaded files are refused
    read_timeout: float = ReadLimits.seconds  # seconds a file (a PDF: each page) may take to read
    read_memory_mb: float = ReadLimits.memory_mb  # memory the process reading a file may use
    fetch_timeout: float = 20.0  # seconds a page added by URL may take to fetch
    allow_private_urls: bool = False  # pages at loopback, private and link-local addresses may be added
    lock_timeout: float = 600.0  # seconds to wait for another process writing the same index
    concurrency: int = 2  # requests of each kind (questions, uploads, …) worked on at once by `serve`
    max_queue: int = 64  # requests waiting in `serve`'s queue; past it, a request is told the server is busy

    @property
    def conversations_path(self) -> Path:
        """Where signed-in users' conversations are kept (and the key of those kept in browsers): beside the index;
        with a Chroma server, in this machine's state folder ($RAG_STATE_DIR, or ~/.local/state/ask-the-documents),
        one file per server and collection."""
        if not self.chroma_url:
            return self.index_dir / "conversations.sqlite"
        state = Path(os.environ.get("RAG_STATE_DIR") or "~/.local/state/ask-the-documents").expanduser()
        key = hashlib.sha1(f"{self.chroma_url} {self.collection or self.docs.resolve()}".encode()).hexdigest()[:12]
        return state / f"conversations-{key}.sqlite"

    @property
    def read_limits(self) -> ReadLimits:
        return ReadLimits(self.read_timeout, self.read_memory_mb)
