"""Sentence vectors kept at indexing (`--sentence-vectors on`): a question then embeds only itself, the answers are those computed at
question time, and a file's sentences go with the file."""
from app.config import Settings
from app.pipeline import Pipeline
from tests.conftest import SEED

QUESTIONS = ["Which countries joined NATO in 2004?", "Ce țări au aderat la NATO în 1999?", "Who won the 2018 World Cup?"]


def test_kept_sentence_vectors_answer_as_those_embedded_at_question_time(docs, tmp_path, monkeypatch):
    kept = Pipeline(Settings(docs=docs, index_dir=tmp_path / "kept", sentence_vectors=True))
    kept.index(progress=False)
    assert kept.store._sentences.count() > 0
    embedded = []
    real = kept.embedder.embed_documents
    monkeypatch.setattr(kept.embedder, "embed_documents", lambda texts: embedded.extend(texts) or real(texts))
    answers = [kept.ask(q).to_dict() for q in QUESTIONS]
    assert embedded == []  # nothing but the questions themselves was embedded
    monkeypatch.undo()
    late = Pipeline(Settings(docs=docs, index_dir=tmp_path / "late"))
    late.index(progress=False)
    assert late.store._sentences.count() == 0
    assert [late.ask(q).to_dict() for q in QUESTIONS] == answers


def test_a_removed_file_takes_its_sentence_vectors_with_it(docs, tmp_path):
    pipeline = Pipeline(Settings(docs=docs, index_dir=tmp_path / "index", sentence_vectors=True))
    pipeline.index(progress=False)
    assert pipeline.store._sentences.count() > 0
    pipeline.remove(SEED.name)
    assert pipeline.store._sentences.count() == 0
