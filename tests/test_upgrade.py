"""An index written by this release (tests/fixtures/index-format-4, kept as it was written) opens and answers in
later ones; a format change upgrades it in place, reading again only the kinds of file read differently since and
embedding only passages whose text changed."""
import shutil
from pathlib import Path

import pytest

from app.config import Settings
from app.pipeline import Pipeline
from index import store
from tests.conftest import SENTENCE_2004

FIXTURE = Path(__file__).parent / "fixtures" / "index-format-4"
PUMPS = "When were the Eastport pumps serviced?"


@pytest.fixture
def written(tmp_path) -> Settings:
    """A copy of the kept index and its documents folder (opening an index may write to it)."""
    shutil.copytree(FIXTURE, tmp_path / "kept")
    return Settings(docs=tmp_path / "kept" / "docs", index_dir=tmp_path / "kept" / "index", collection="fixture",
                    sentence_vectors=True)


def counting(pipeline: Pipeline) -> list[str]:
    embedded = []
    real = pipeline.embedder.embed_documents
    pipeline.embedder.embed_documents = lambda texts: embedded.extend(texts) or real(texts)
    return embedded


def test_the_kept_index_opens_and_answers_without_embedding(written):
    assert store.FORMAT_VERSION == 4, "a new format: keep this fixture, and add one written by the new release"
    pipeline = Pipeline(written)
    embedded = counting(pipeline)
    report = pipeline.index(progress=False)
    assert report.unchanged == ["000_f0b8fe8fdb47aa20.txt", "pumps.md"] and report.chunks_embedded == 0
    assert pipeline.ask("Which countries joined NATO in 2004?").text == f"{SENTENCE_2004} [1]"
    assert pipeline.ask(PUMPS).text == "The Eastport pumps were serviced in March 2024 by the city's own crew. [1]"
    assert embedded == []


def test_a_format_change_upgrades_the_index_in_place_and_embeds_nothing_unchanged(written, monkeypatch):
    """As the next release would: format 5 reads Markdown differently; the text file is kept as it is."""
    before = Pipeline(written)
    answers = [before.ask(q).to_dict() for q in ("Which countries joined NATO in 2004?", PUMPS)]
    old = before.store.name
    del before
    monkeypatch.setattr(store, "FORMAT_VERSION", 5)
    monkeypatch.setitem(store.REREAD, 5, frozenset({"markdown"}))

    pipeline = Pipeline(written)  # upgraded here, under the writer lock
    embedded = counting(pipeline)
    assert pipeline.store.name != old and pipeline.store.info["format"] == 5
    assert {c.name for c in pipeline.store._client.list_collections()} == {
        pipeline.store.name, f"{pipeline.store.name}-files", f"{pipeline.store.name}-sentences"}
    records = pipeline.store.files()
    assert records["pumps.md"].reread and not records["000_f0b8fe8fdb47aa20.txt"].reread
    # searched as before while the Markdown file waits to be read again
    assert [pipeline.ask(q).to_dict() for q in ("Which countries joined NATO in 2004?", PUMPS)] == answers

    report = pipeline.index(progress=False)
    assert report.updated == ["pumps.md"] and report.unchanged == ["000_f0b8fe8fdb47aa20.txt"]
    assert report.chunks_embedded == 0 and embedded == []  # its text came out the same: its vectors are kept
    assert not pipeline.store.files()["pumps.md"].reread
    assert [pipeline.ask(q).to_dict() for q in ("Which countries joined NATO in 2004?", PUMPS)] == answers
    assert Pipeline(written).store.earlier_format() is None  # upgraded once
