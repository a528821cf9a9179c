"""The command line as a user runs it: a real process, the real models, a temp index."""
import json
import subprocess
import sys

from tests.conftest import ROOT, SEED, SENTENCE_2004


def run(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "app", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def test_ask_json_answers_several_questions_in_one_process(docs, tmp_path):
    done = run("ask", "--json", "--docs", docs, "--index-dir", tmp_path / "index",
               "Which countries joined NATO in 2004?", "Who won the 2018 World Cup?")
    assert done.returncode == 0, done.stderr
    first, second = [json.loads(line) for line in done.stdout.splitlines()]
    assert first["answer"] == f"{SENTENCE_2004} [1]" and first["abstained"] is False
    cited = first["citations"][0]
    assert set(cited) == {"n", "source", "page", "pages", "text", "start", "end", "score", "quote", "url"}
    assert cited["url"] is None  # a file; a page added by its address has its address here
    quote = cited["quote"]  # the quoted sentence, by its offsets in the document's text
    seed_text = SEED.read_text(encoding="utf-8")
    assert quote["text"] == SENTENCE_2004 and seed_text[quote["start"]:quote["end"]] == SENTENCE_2004
    assert cited["source"] == SEED.name and cited["page"] is None and cited["pages"] is None
    span = first["span"]  # the exact answer, by its offsets in the cited passage
    assert span["n"] == 1 and cited["text"][span["start"]:span["end"]] == span["text"]
    assert span["text"] and span["text"] in SENTENCE_2004
    assert 0 <= second.pop("confidence") < 0.5 < first["confidence"] <= 1
    assert second == {"question": "Who won the 2018 World Cup?", "abstained": True, "citations": [], "span": None,
                      "answer": "The documents do not contain the answer to this question.", "searched": None,
                      "indexing": []}


def test_index_reports_what_it_did_and_then_that_nothing_changed(docs, tmp_path):
    first = run("index", "--docs", docs, "--index-dir", tmp_path / "index")
    assert first.returncode == 0, first.stderr
    assert "1 added" in first.stdout and "14 chunks embedded" in first.stdout
    assert "1 document · 14 passages · e5-small" in first.stdout
    second = run("index", "--docs", docs, "--index-dir", tmp_path / "index")
    assert "1 unchanged, 0 chunks embedded" in second.stdout


def test_bad_input_gives_a_message_not_a_traceback(docs, tmp_path):
    (docs / "broken.md").write_bytes(b"\xff\xfe\x00binary")
    done = run("ask", "--docs", docs, "--index-dir", tmp_path / "index", "Who met Putin?")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "broken.md is not a UTF-8 text file" in done.stderr

    (docs / "broken.md").unlink()
    done = run("ask", "--docs", docs, "--index-dir", tmp_path / "index", "")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "error: The question is empty" in done.stderr

    done = run("ask", "--embeddings", "glove", "--docs", docs, "--index-dir", tmp_path / "index", "x")
    assert done.returncode == 2 and "Unknown embedding model 'glove'" in done.stderr


def test_add_lists_and_removes_documents(docs, tmp_path):
    from tests.documents import make_pdf, multipage_html

    pdf = make_pdf(multipage_html(["The Eastport utility has 41,000 customers.",
                                   "The Miller reservoir supplied 18.4 million litres a day."]), tmp_path / "r.pdf")
    (tmp_path / "empty.md").write_bytes(b"")
    where = ["--docs", docs, "--index-dir", tmp_path / "index"]
    added = run("add", *where, pdf, tmp_path / "empty.md")
    assert added.returncode == 1 and "Traceback" not in added.stderr  # one file was refused
    assert "Added: r.pdf" in added.stdout and "Refused empty.md: empty.md is empty" in added.stdout
    assert (docs / "r.pdf").exists() and not (docs / "empty.md").exists()

    listed = run("documents", "--json", *where)
    rows = {row["source"]: row for row in json.loads(listed.stdout)}
    assert set(rows) == {SEED.name, "r.pdf"}
    assert rows["r.pdf"]["type"] == "pdf" and rows["r.pdf"]["pages"] == 2 and rows["r.pdf"]["passages"] >= 1
    assert rows[SEED.name] == {**rows[SEED.name], "type": "text", "pages": None, "passages": 14}

    asked = run("ask", "--json", *where, "How much water did the Miller reservoir supply a day?")
    cited = json.loads(asked.stdout)["citations"][0]
    assert cited["source"] == "r.pdf" and cited["page"] == 2

    removed = run("remove", *where, "r.pdf", "nothing.pdf")
    assert removed.returncode == 1 and "Removed r.pdf" in removed.stdout
    assert "No document named 'nothing.pdf'" in removed.stderr and "Traceback" not in removed.stderr
    assert not (docs / "r.pdf").exists()
    assert "r.pdf" not in run("documents", *where).stdout


def test_ask_searches_only_the_documents_named_by_source(docs, tmp_path):
    (docs / "muntenegru.md").write_text("Muntenegru a aderat la NATO în 2017, ca al 29-lea membru.\n",
                                        encoding="utf-8")
    args = ["ask", "--json", "--docs", docs, "--index-dir", tmp_path / "index"]
    done = run(*args, "--source", "muntenegru.md", "Which countries joined NATO in 2004?")
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["searched"] == ["muntenegru.md"] and SENTENCE_2004 not in answer["answer"]
    assert all(c["source"] == "muntenegru.md" for c in answer["citations"])
    both = run(*args, "--source", "muntenegru.md", "--source", SEED.name, "Which countries joined NATO in 2004?")
    assert json.loads(both.stdout)["answer"].startswith(SENTENCE_2004)
    missing = run(*args, "--source", "nope.pdf", "Which countries joined NATO in 2004?")
    assert missing.returncode == 1 and "No document named 'nope.pdf' is indexed" in missing.stderr
    assert "Traceback" not in missing.stderr
