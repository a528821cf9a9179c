from index import embeddings
from index.chunking import Chunker, ChunkingParams, is_boilerplate
from index.loading import Document
from tests.conftest import SEED

e5 = embeddings.get("e5-small")


def chunk(text: str, params: ChunkingParams = ChunkingParams()):
    return Chunker(e5.count_tokens, params).split(Document("doc.txt", text, "x"))


def test_chunks_point_at_their_text_in_the_source_and_skip_read_also_lines():
    text = SEED.read_text(encoding="utf-8")
    chunks = chunk(text)
    assert [c.number for c in chunks] == list(range(len(chunks)))
    for c in chunks:
        assert text[c.start:c.end] == c.text
        assert "Citeşte şi" not in c.text
    assert any(c.text.startswith("Ungaria, Polonia şi Cehia") for c in chunks)
    assert is_boilerplate("Citește și: Criza din Ucraina") and is_boilerplate("Read also: x")


def test_long_paragraph_is_cut_at_sentence_ends_within_the_token_limit():
    sentence = "Rusia a cerut formal revenirea la arhitectura de securitate din anul 1997. "
    text = sentence * 60  # one paragraph of about 1,000 tokens
    params = ChunkingParams(max_tokens=120, split_tokens=100, min_tokens=10)
    chunks = chunk(text, params)
    assert len(chunks) > 5
    for c in chunks:
        assert e5.count_tokens(c.text) <= params.max_tokens
        assert c.text.endswith("1997.") and text[c.start:c.end] == c.text
    assert "".join(c.text + " " for c in chunks) == text


def test_blank_lines_separate_paragraphs_and_short_headings_join_the_next_one():
    text = "# NATO\n\nPrimul paragraf are\nmai multe rânduri despre extinderea NATO în Europa de Est.\n\n" \
           "Al doilea paragraf vorbeşte despre garanţiile de securitate cerute de Rusia în ianuarie."
    chunks = chunk(text, ChunkingParams(max_tokens=100, split_tokens=80, min_tokens=8))
    assert [c.text for c in chunks] == [
        "# NATO\n\nPrimul paragraf are\nmai multe rânduri despre extinderea NATO în Europa de Est.",
        "Al doilea paragraf vorbeşte despre garanţiile de securitate cerute de Rusia în ianuarie.",
    ]


def test_a_passage_running_onto_the_next_page_knows_where_each_page_starts(tmp_path):
    """The water report's page 1 ends inside a sentence: that passage starts on page 1 and ends on page 2."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    from app.answers import Citation, Passage
    from index.loading import read
    from index.store import ChunkStore
    from tests.conftest import ROOT

    document = read("water_report_2025.pdf", (ROOT / "eval/documents/water_report_2025.pdf").read_bytes())
    chunks = Chunker(e5.count_tokens, ChunkingParams()).split(document)
    [spanning] = [c for c in chunks if "city used 188,900 cubic metres" in c.text]
    assert (spanning.page, spanning.last_page) == (1, 2)
    second_page = document.pages[1] - spanning.start
    assert spanning.page_starts == (second_page,)
    assert spanning.page_at(0) == 1 and spanning.page_at(second_page - 1) == 1 and spanning.page_at(second_page) == 2
    assert all(c.page_at(0) == document.page_at(c.start) for c in chunks)

    last_sentence = spanning.text.rindex(". ") + 2  # the passage's last sentence starts on page 2
    citation = Citation(1, Passage(spanning, 0.9), last_sentence, len(spanning.text))
    assert citation.page == 2 and citation.to_dict()["pages"] == [1, 2]
    assert citation.where == "page 2 (passage on pages 1–2)"

    client = chromadb.PersistentClient(str(tmp_path), ChromaSettings(anonymized_telemetry=False))
    store = ChunkStore(client, "report", e5.model_id, ChunkingParams().as_dict(), str(tmp_path))
    store.add_chunks(document, chunks, e5.embed_documents([c.text for c in chunks]))
    store.finish_file(document, len(chunks))
    found = store.search(e5.embed_documents([spanning.text])[0], 1)[0][0]
    assert found == spanning  # page starts survive the store
