"""An index exported to one file and imported elsewhere, into an embedded index and into a `chroma run` server,
answers exactly as it did, and nothing is embedded again."""
import json
import zipfile

import pytest

from app.config import Settings
from app.evaluation import load_questions
from app.pipeline import Pipeline
from app.xquad import DEFAULT_SOURCE, prepare
from index.errors import AppError
from tests.conftest import start_chroma, stop


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """XQuAD's articles 25-30 indexed, their first 50 questions, and the index exported."""
    folder = tmp_path_factory.mktemp("xquad")
    docs, questions, _ = prepare(DEFAULT_SOURCE, folder, slice(24, 30))
    pipeline = Pipeline(Settings(docs=docs, index_dir=folder / "index", sentence_vectors=True))
    pipeline.index(progress=False)
    archive = folder / "xquad-index.zip"
    report = pipeline.export_index(archive)
    assert report.documents == 6 and report.passages == pipeline.store.count()
    asked = [q.question for q in load_questions(questions)[:50]]
    return pipeline, archive, asked, folder


def imported(archive, settings: Settings) -> tuple[Pipeline, list[str]]:
    """A pipeline over an empty index that imports the archive; and every text it embedded as a passage or a
    sentence since it opened (the import, then a sync of its documents folder)."""
    pipeline = Pipeline(settings)
    embedded = []
    real = pipeline.embedder.embed_documents
    pipeline.embedder.embed_documents = lambda texts: embedded.extend(texts) or real(texts)
    report = pipeline.import_index(archive)
    assert (report.documents, report.passages) == (6, pipeline.store.count())
    assert pipeline.index(progress=False).chunks_embedded == 0
    return pipeline, embedded


def answers(pipeline: Pipeline, questions: list[str]) -> list[dict]:
    return [pipeline.ask(q).to_dict() for q in questions]


def test_an_imported_index_answers_fifty_questions_identically_without_embedding(exported, tmp_path):
    original, archive, questions, _ = exported
    pipeline, embedded = imported(archive, Settings(docs=tmp_path / "docs", index_dir=tmp_path / "index",
                                                    sentence_vectors=True))
    assert answers(pipeline, questions) == answers(original, questions)
    assert embedded == []  # the kept sentence vectors came along too
    assert sorted(p.name for p in (tmp_path / "docs").iterdir()) == sorted(
        p.name for p in original.settings.docs.iterdir())


def test_an_index_imported_into_a_chroma_server_answers_identically(exported, tmp_path):
    original, archive, questions, _ = exported
    chroma, url = start_chroma(tmp_path / "chroma")
    try:
        pipeline, embedded = imported(archive, Settings(docs=tmp_path / "docs", chroma_url=url, collection="xquad",
                                                        sentence_vectors=True))
        assert answers(pipeline, questions) == answers(original, questions) and embedded == []
    finally:
        stop(chroma)


def test_an_archive_of_another_model_is_refused_and_nothing_is_written(exported, tmp_path):
    _, archive, _, _ = exported
    pipeline = Pipeline(Settings(docs=tmp_path / "docs", index_dir=tmp_path / "index",
                                 embeddings="sentence-transformers:all-MiniLM-L6-v2"))
    with pytest.raises(AppError) as refused:
        pipeline.import_index(archive)
    assert str(refused.value) == (
        f"{archive} was embedded with {json.loads(zipfile.ZipFile(archive).read('manifest.json'))['model_id']}; "
        f"this index uses {pipeline.store.info['model_id']}. Import it with the same model (--embeddings), or "
        "add the documents and index them again.")
    assert not (tmp_path / "docs").exists() and pipeline.store.count() == 0


def test_an_archive_is_not_imported_over_documents_already_indexed(exported):
    original, archive, _, _ = exported
    with pytest.raises(AppError, match="already holds documents; import into an empty one"):
        original.import_index(archive)


def test_export_and_import_on_the_command_line(exported, tmp_path):
    import subprocess
    import sys

    from tests.conftest import ROOT

    original, _, questions, folder = exported
    archive = tmp_path / "cli.zip"
    common = ["--docs", str(original.settings.docs), "--index-dir", str(folder / "index")]
    done = subprocess.run([sys.executable, "-m", "app", "export", str(archive), *common], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.startswith(f"Wrote {archive} (") and "Traceback" not in done.stderr
    target = ["--docs", str(tmp_path / "docs"), "--index-dir", str(tmp_path / "index")]
    done = subprocess.run([sys.executable, "-m", "app", "import", str(archive), *target], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "6 documents" in done.stdout and "nothing was embedded" in done.stdout
    done = subprocess.run([sys.executable, "-m", "app", "import", str(tmp_path / "missing.zip"), *target],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and done.stderr.strip().endswith(f"error: No file at {tmp_path / 'missing.zip'}.")
    assert "Traceback" not in done.stderr


def test_signed_in_users_conversations_travel_with_the_archive(seed_pipeline, docs, tmp_path):
    from app.conversation import from_record, to_record
    from app.conversation_store import ConversationStore

    answer = seed_pipeline.ask("Which countries joined NATO in 2004?")
    source = Pipeline(Settings(docs=docs, index_dir=tmp_path / "index"))
    source.index(progress=False)
    kept = {"id": "c1", "title": "NATO", "updated": "2026-12-01T10:00:00", "answers": [to_record(answer)]}
    ConversationStore(source.settings.conversations_path).save("alice", kept)
    report = source.export_index(tmp_path / "with-conversations.zip")
    assert "1 conversations" in report.summary("Wrote")

    target = Pipeline(Settings(docs=tmp_path / "docs-elsewhere", index_dir=tmp_path / "index-elsewhere"))
    assert "1 conversations" in target.import_index(tmp_path / "with-conversations.zip").summary("Loaded")
    store = ConversationStore(target.settings.conversations_path)
    assert [c["title"] for c in store.conversations("alice")] == ["NATO"] and store.conversations("bob") == []
    assert from_record(store.get("alice", "c1")["answers"][0]).text == answer.text
