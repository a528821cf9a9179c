"""The converted folder's tokenizer, loaded in milliseconds: Hugging Face `tokenizers` run with only the pieces
that the texts of a call can use.

`Tokenizer.from_file` on tokenizer.json takes about a second, nearly all of it building the Unigram model of
250,002 pieces (a trie and a map of them all). A Unigram model only ever looks up pieces that occur in the string
it reads, and the best path it finds depends on nothing else but the lowest score of its vocabulary (which sets
the unknown character's penalty). So the pieces are kept, sorted, in a table that is memory-mapped rather than
parsed (TABLE_FILE, beside tokenizer.json); each call finds the pieces that occur in the strings its texts give
the model, and runs the same `tokenizers` pipeline read from the same tokenizer.json (normalizer, added tokens,
pre-tokenizer, post-processor, model settings, the scores as their text there) on a vocabulary of those pieces,
the special ones and the lowest-scoring one; its ids are mapped back. Ids and offsets are then those of the full
tokenizer by construction; tests/test_tokenizer.py compares them on XQuAD and hard cases.

Pieces hold "▁" only as their first character (checked when the table is written), so any piece that occurs in
a string lies inside one of its chunks that start at a "▁": only their substrings are looked up, once a chunk.
"""
import json
import os
import tempfile
from json.encoder import encode_basestring_ascii
from pathlib import Path

import numpy as np

TABLE_FILE = "tokenizer.pieces.bin"  # index/e5_convert.py writes it; load() writes it where it is missing
MAGIC = b"TOKPIECES1\n"
SPACE = "\u2581"  # Metaspace's replacement for a space
_ALIGN = 64
_CHUNK_CACHE = 100_000  # distinct chunks whose pieces are remembered


class UnsupportedTokenizer(ValueError):
    """tokenizer.json uses something this module does not reproduce."""


class Encoded:
    """What the callers read of a `tokenizers.Encoding`: ids, and character offsets into the text."""

    __slots__ = ("ids", "offsets")

    def __init__(self, ids: list[int], offsets: list[tuple[int, int]]):
        self.ids = ids
        self.offsets = offsets

    def __len__(self) -> int:
        return len(self.ids)

    def __repr__(self) -> str:
        return f"Encoded(ids={self.ids}, offsets={self.offsets})"


class _Number(float):
    """A float from JSON that keeps its text, so that `tokenizers` later parses the very same digits."""

    text: str


def _number(text: str) -> _Number:
    value = _Number(text)
    value.text = text
    return value


def write_table(folder: Path) -> Path:
    """Writes TABLE_FILE from the folder's tokenizer.json, atomically (other processes may be reading the folder)."""
    folder = Path(folder)
    source = folder / "tokenizer.json"
    size = source.stat().st_size
    config = json.loads(source.read_text(encoding="utf-8"), parse_float=_number)
    model = config.pop("model")
    if model.get("type") != "Unigram" or model.get("byte_fallback"):
        raise UnsupportedTokenizer("only a Unigram model without byte fallback is supported")
    added = config.get("added_tokens") or []
    for token in added:
        if token.get("normalized") or token.get("lstrip") or token.get("rstrip") or token.get("single_word"):
            raise UnsupportedTokenizer(f"added token {token.get('content')!r} is not matched as it is written")
    pieces = [p for p, _ in model["vocab"]]
    scores = [s.text if isinstance(s, _Number) else json.dumps(s) for _, s in model["vocab"]]
    if not pieces or len(set(pieces)) != len(pieces) or "" in pieces:
        raise UnsupportedTokenizer("pieces are missing, empty or repeated")
    if any(SPACE in p[1:] or "\0" in p for p in pieces):
        raise UnsupportedTokenizer("a piece holds '\u2581' after its first character, or NUL")
    max_len = max(map(len, pieces))
    table = np.array(pieces, dtype=f"<U{max_len}")
    order = np.argsort(table, kind="stable")
    lowest = min(range(len(pieces)), key=lambda i: float(model["vocab"][i][1]))
    fixed = sorted({i for i in [model.get("unk_id"), *(t["id"] for t in added), lowest] if i is not None})
    if any(not 0 <= i < len(pieces) for i in fixed) or any(pieces[t["id"]] != t["content"] for t in added):
        raise UnsupportedTokenizer("an added token is not the model's piece of its id")
    position = np.empty(len(pieces), "<i4")
    position[order] = np.arange(len(pieces))
    blocks = {"pieces": table[order], "ids": order.astype("<i4"), "positions": position,
              "scores": np.array([s.encode("ascii") for s in scores])}
    processor = config.get("post_processor")
    if processor is not None and processor.get("type") != "TemplateProcessing":
        raise UnsupportedTokenizer("only a TemplateProcessing post-processor is supported")
    config.pop("truncation", None)
    config.pop("padding", None)
    header = {"config": config, "model": {k: v for k, v in model.items() if k != "vocab"},
              "count": len(pieces), "max_len": max_len, "fixed": {str(i): pieces[i] for i in fixed},
              "source_size": size, "blocks": {}}
    body, offset = [], 0
    for name, array in blocks.items():
        header["blocks"][name] = [offset, array.dtype.str, len(array)]
        data = array.tobytes()
        body.append(data + b"\0" * (-len(data) % _ALIGN))
        offset += len(body[-1])
    head = json.dumps(header, ensure_ascii=True).encode("ascii")
    start = len(MAGIC) + 8 + len(head)
    start += -start % _ALIGN
    target = folder / TABLE_FILE
    with tempfile.NamedTemporaryFile(dir=folder, prefix=f".{TABLE_FILE}-", delete=False) as tmp:
        try:
            tmp.write(MAGIC + start.to_bytes(8, "little") + head + b"\0" * (start - len(MAGIC) - 8 - len(head)))
            for data in body:
                tmp.write(data)
            tmp.close()
            os.replace(tmp.name, target)  # whole or not at all
        finally:
            Path(tmp.name).unlink(missing_ok=True)
    return target


def read_table(path: Path, source_size: int | None = None) -> tuple[dict, dict] | None:
    """The header and the memory-mapped blocks, or None when the file is not a whole table of a tokenizer.json
    of that size."""
    try:
        with open(path, "rb") as f:
            if f.read(len(MAGIC)) != MAGIC:
                return None
            start = int.from_bytes(f.read(8), "little")
            header = json.loads(f.read(start - len(MAGIC) - 8).rstrip(b"\0"))
        if source_size is not None and header["source_size"] != source_size:
            return None
        raw = np.memmap(path, dtype=np.uint8, mode="r")
        blocks = {}
        for name, (offset, dtype, count) in header["blocks"].items():
            dtype = np.dtype(dtype)
            begin = start + offset
            if begin + dtype.itemsize * count > len(raw):
                return None
            blocks[name] = raw[begin:begin + dtype.itemsize * count].view(dtype)
        return header, blocks
    except (OSError, ValueError, KeyError, TypeError):
        return None


class FastTokenizer:
    """tokenizer.json's tokenizer for the calls the app makes: encode, encode_batch and encode_batch_fast (each
    giving .ids and .offsets as `tokenizers` does) and token_to_id; no padding, no truncation. Safe to call from
    several threads at once."""

    def __init__(self, header: dict, blocks: dict):
        import re

        from tokenizers import Tokenizer

        self._pieces, self._ids = blocks["pieces"], blocks["ids"]
        self._positions, self._scores = blocks["positions"], blocks["scores"]
        self._count, self._max_len = header["count"], header["max_len"]
        self._config, self._model = header["config"], header["model"]
        self._fixed = sorted(int(i) for i in header["fixed"])  # in every vocabulary, first, so kept as they are
        self._chunks: dict[str, np.ndarray] = {}  # the ids of the pieces in each chunk read so far
        self._last = None  # the last vocabulary's ids, its tokenizer and their global ids
        self._specials = sorted((t["content"] for t in self._config.get("added_tokens") or []), key=len, reverse=True)
        self._split = re.compile("|".join(map(re.escape, self._specials))) if self._specials else None
        self._around = self._template()
        self._entries: dict[int, str] = {}  # vocabulary entries written so far, by id
        # the pipeline alone, its vocabulary the fixed pieces: it finds the strings the model will read
        pipeline = Tokenizer.from_str(self._json(np.array(self._fixed, np.int64)))
        self._normalizer, self._pre_tokenizer = pipeline.normalizer, pipeline.pre_tokenizer

    def _template(self) -> tuple[str, str]:
        """tokenizer.json around its vocabulary's list, for a vocabulary that starts with the fixed pieces."""
        local = {g: i for i, g in enumerate(self._fixed)}
        model = dict(self._model)
        if model.get("unk_id") is not None:
            model["unk_id"] = local[int(model["unk_id"])]
        model["vocab"] = "\0vocab\0"
        config = dict(self._config)
        config["added_tokens"] = [{**t, "id": local[int(t["id"])]} for t in config.get("added_tokens") or []]
        if config.get("post_processor"):
            specials = config["post_processor"].get("special_tokens") or {}
            config["post_processor"] = {**config["post_processor"], "special_tokens": {
                k: {**v, "ids": [local[int(i)] for i in v["ids"]]} for k, v in specials.items()}}
        config["truncation"] = config["padding"] = None
        before, after = json.dumps({**config, "model": model}).split('"\\u0000vocab\\u0000"')
        return before + "[", "]" + after

    def _json(self, order: np.ndarray) -> str:
        """tokenizer.json with a vocabulary of these pieces, the fixed ones first (local ids in this order)."""
        known, ids = self._entries, order.tolist()
        new = [g for g in ids if g not in known]
        if new:  # each piece's entry, [piece, score] with the score as its text in tokenizer.json
            names = self._pieces[self._positions[new]].tolist()
            for g, name, score in zip(new, names, self._scores[new].astype(str).tolist()):
                known[g] = f"[{encode_basestring_ascii(name)},{score}]"
        before, after = self._around
        return before + ",".join([known[g] for g in ids]) + after

    def _lookup(self, strings: list[str]) -> np.ndarray:
        """The id of each string among the pieces, -1 where it is none."""
        query = np.array(strings, dtype=self._pieces.dtype)
        at = np.minimum(np.searchsorted(self._pieces, query), self._count - 1)
        return np.where(self._pieces[at] == query, self._ids[at], -1)

    def _segments(self, text: str) -> list[str]:
        """The strings the model reads for a text: each stretch between added tokens, normalized and
        pre-tokenized. Where the text holds an added token the text taken whole is read too: a superset of the
        pieces is harmless, those not used change nothing."""
        parts = [text]
        if self._split is not None and any(s in text for s in self._specials):
            parts += self._split.split(text)
        out = []
        for part in parts:
            if self._normalizer is not None:
                part = self._normalizer.normalize_str(part)
            if self._pre_tokenizer is not None:
                out += [s for s, _ in self._pre_tokenizer.pre_tokenize_str(part)]
            else:
                out.append(part)
        return out

    def _pieces_in(self, texts: list[str]) -> np.ndarray:
        """The sorted ids of every piece that occurs in the strings the model reads for these texts."""
        chunks: dict[str, None] = {}
        for text in texts:
            for segment in self._segments(text):
                first, *rest = segment.split(SPACE)
                if first:
                    chunks[first] = None
                for chunk in rest:
                    chunks[SPACE + chunk] = None
        known, found, new = self._chunks, [np.array(self._fixed, np.int64)], []
        for chunk in chunks:
            ids = known.get(chunk)
            if ids is None:
                new.append(chunk)
            else:
                found.append(ids)
        if new:  # every substring no longer than a piece, looked up at once
            m = self._max_len
            subs = [c[i:j] for c in new for i in range(len(c)) for j in range(i + 1, min(len(c), i + m) + 1)]
            ids = self._lookup(subs)
            if len(known) + len(new) > _CHUNK_CACHE:
                known.clear()
            end = 0
            for chunk in new:
                n = len(chunk)
                start, end = end, end + (n * (n + 1) // 2 if n <= m else m * (m + 1) // 2 + (n - m) * m)
                hits = ids[start:end]
                known[chunk] = hits = hits[hits >= 0]
                found.append(hits)
        return np.unique(np.concatenate(found))

    def _model_for(self, texts: list[str]):
        """A `tokenizers.Tokenizer` whose vocabulary holds every piece these texts can use, and the global id of
        each of its ids."""
        needed = self._pieces_in(texts)
        last = self._last
        if last is not None and len(needed) <= len(last[0]) and \
                np.isin(needed, last[0], assume_unique=True).all():
            return last[1], last[2]
        from tokenizers import Tokenizer

        order = np.concatenate([np.array(self._fixed, np.int64), np.setdiff1d(needed, self._fixed)])
        tokenizer = Tokenizer.from_str(self._json(order))
        self._last = (needed, tokenizer, order)
        return tokenizer, order

    # ------------------------------------------------------------------ the calls

    @staticmethod
    def _mapped(encoding, to_global: np.ndarray) -> Encoded:
        return Encoded(to_global[np.asarray(encoding.ids, dtype=np.int64)].tolist(), encoding.offsets)

    def _run(self, method: str, texts: list[str], add_special_tokens: bool) -> list[Encoded]:
        """`tokenizers`' batch method of that name, on a model of the pieces these texts can use."""
        texts = list(texts)
        tokenizer, to_global = self._model_for(texts)
        encodings = getattr(tokenizer, method)(texts, add_special_tokens=add_special_tokens)
        return [self._mapped(e, to_global) for e in encodings]

    def encode(self, text: str, add_special_tokens: bool = True) -> Encoded:
        return self._run("encode_batch", [text], add_special_tokens)[0]

    def encode_batch(self, texts: list[str], add_special_tokens: bool = True) -> list[Encoded]:
        return self._run("encode_batch", texts, add_special_tokens)

    def encode_batch_fast(self, texts: list[str], add_special_tokens: bool = True) -> list[Encoded]:
        """As `tokenizers`' encode_batch_fast: the ids; its offsets are not tracked."""
        return self._run("encode_batch_fast", texts, add_special_tokens)

    def token_to_id(self, token: str) -> int | None:
        if not token or len(token) > self._max_len:
            return None
        found = int(self._lookup([token])[0])
        return found if found >= 0 else None


def load(folder: Path):
    """The folder's tokenizer: a FastTokenizer on TABLE_FILE, which is written first from tokenizer.json where it is
    missing or out of date; `tokenizers`' own (about a second to load) where the table cannot stand for it."""
    folder = Path(folder)
    source = folder / "tokenizer.json"
    size = source.stat().st_size
    found = read_table(folder / TABLE_FILE, size)
    if found is None:
        try:
            write_table(folder)
            found = read_table(folder / TABLE_FILE, size)
        except (UnsupportedTokenizer, OSError):  # OSError: a read-only folder
            found = None
    if found is not None:
        return FastTokenizer(*found)
    from tokenizers import Tokenizer

    slow = Tokenizer.from_file(str(source))
    slow.no_padding()
    slow.no_truncation()
    return slow
