"""The index as a LangChain retriever, checked by LangChain's own standard tests, and the answerer as a Runnable."""
import re
import shutil
import tempfile
from pathlib import Path

import pytest
from langchain_core.documents import Document
from langchain_core.runnables import Runnable
from langchain_tests.integration_tests import RetrieversIntegrationTests

from app.chains import DocumentsRetriever, answer_chain
from tests.conftest import ROOT, SEED, SENTENCE_2004

INDEX = Path(tempfile.mkdtemp(prefix="chains-index-"))  # one index for the module, as a user's would be


class TestDocumentsRetriever(RetrieversIntegrationTests):
    @property
    def retriever_constructor(self) -> type[DocumentsRetriever]:
        return DocumentsRetriever

    @property
    def retriever_constructor_params(self) -> dict:
        return {"docs": str(ROOT / "seeds"), "index_dir": str(INDEX)}

    @property
    def retriever_query_example(self) -> str:
        return "Which countries joined NATO in 2004?"


def test_the_passages_carry_their_source_page_passage_and_score():
    retriever = DocumentsRetriever(docs=str(ROOT / "seeds"), index_dir=str(INDEX), k=3)
    found = retriever.invoke("Which countries joined NATO in 2004?")
    assert len(found) == 3 and all(isinstance(doc, Document) for doc in found)
    assert SENTENCE_2004 in found[0].page_content
    meta = found[0].metadata
    assert meta["source"] == SEED.name and meta["page"] is None and isinstance(meta["passage"], int)
    assert 0 < meta["score"] <= 1 and found[0].page_content == SEED.read_text(encoding="utf-8")[meta["start"]:meta["end"]]
    assert [doc.metadata["score"] for doc in found] == sorted((doc.metadata["score"] for doc in found), reverse=True)


def test_the_answerer_is_a_runnable_that_gives_the_ask_json_shape():
    chain = answer_chain(docs=str(ROOT / "seeds"), index_dir=str(INDEX))
    assert isinstance(chain, Runnable)
    answer = chain.invoke("Which countries joined NATO in 2004?")
    assert SENTENCE_2004 in answer["answer"] and answer["citations"][0]["source"] == SEED.name
    follow_up = chain.invoke({"question": "and in 1999?", "history": [("Which countries joined NATO in 2004?",
                                                                      answer["answer"])]})
    assert "1999" in follow_up["answer"]
    assert chain.batch(["Who won the 2018 World Cup?"])[0]["abstained"] is True


def test_the_docs_example_runs(tmp_path, monkeypatch):
    page = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    section = page.split("\n## LangChain\n", 1)[1].split("\n## ", 1)[0]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    shutil.copytree(ROOT / "seeds", tmp_path / "seeds")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(code, "docs/api.md", "exec"), namespace)  # noqa: S102 - the docs' own example
    assert SENTENCE_2004 in namespace["answer"]["answer"]
    assert namespace["passages"][0].metadata["source"] == SEED.name


def test_unknown_options_and_bad_questions_are_refused_clearly():
    from app.chains import open_pipeline
    from app.errors import DocumentError, QuestionError

    with pytest.raises(TypeError, match="unknown option"):
        open_pipeline(doc="seeds")
    retriever = DocumentsRetriever(docs=str(ROOT / "seeds"), index_dir=str(INDEX))
    with pytest.raises(QuestionError):
        retriever.invoke("   ")
    with pytest.raises(DocumentError, match="No document named 'missing.pdf'"):
        retriever.invoke("Which countries joined NATO?", sources=["missing.pdf"])
