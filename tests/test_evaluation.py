"""Metric code against hand-computed values, question-file errors, and the eval command end to end."""
import json
import subprocess
import sys

import pytest

from app.answers import Answer, Citation, Passage
from app.evaluation import EvalFileError, EvalQuestion, QuestionResult, load_questions, score, summarize
from index.chunking import Chunk
from tests.conftest import ROOT


def result(rank=None, cited=0, relevant=0, correct=None, abstained=False, expect_abstain=False,
           latency=10.0, checks=True) -> QuestionResult:
    return QuestionResult("q", "?", "a", abstained, expect_abstain, checks, rank, cited, relevant, correct,
                          latency)


def test_summary_metrics_match_hand_computed_values():
    results = [
        result(rank=1, cited=1, relevant=1, correct=True, latency=10),
        result(rank=3, cited=2, relevant=1, correct=False, latency=20),
        result(rank=None, cited=1, relevant=0, correct=False, latency=30),
        result(rank=2, abstained=True, correct=False, latency=40),  # answerable, but abstained
        result(abstained=True, expect_abstain=True, checks=False, latency=50),
        result(abstained=False, expect_abstain=True, checks=False, latency=60),
    ]
    assert summarize(results) == {
        "questions": 6,
        "answer_accuracy": 0.25,  # 1 of the 4 with answer_contains
        "answer_accuracy_given_hit": round(1 / 3, 4),  # of the 3 whose passage was retrieved
        "hit@1": 0.25, "hit@3": 0.75, "hit@5": 0.75,  # ranks 1, 3, none, 2
        "mrr": round((1 + 1 / 3 + 0 + 1 / 2) / 4, 4),  # 0.4583
        "citation_precision": 0.5,  # 2 relevant of 4 cited
        "abstain_precision": 0.5,  # 2 abstained, 1 rightly
        "abstain_recall": 0.5,  # 2 unanswerable, 1 abstained
        "latency_p50_ms": 35.0, "latency_p95_ms": 57.5,
    }


def test_metrics_with_nothing_to_measure_are_none():
    summary = summarize([result(abstained=False, expect_abstain=True, checks=False)])
    assert summary["hit@1"] is None and summary["abstain_precision"] is None
    assert summary["abstain_recall"] == 0.0


def test_score_matches_ignoring_case_accents_and_cedilla_or_comma():
    chunk = Chunk("a.txt", 0, 0, 40, "Albania şi Croaţia au aderat în 2009.")
    other = Chunk("a.txt", 1, 41, 60, "Altceva.")
    answer = Answer("q", "ALBANIA SI CROATIA [1]", False,
                    [Citation(1, Passage(chunk, 0.9), 0, 37)], [Passage(other, 0.9), Passage(chunk, 0.8)])
    question = EvalQuestion("x", "q", ("croația",), (("Croaţia",), ("Tirana", "albania")))
    scored = score(question, answer, 5.0)
    assert (scored.rank, scored.cited, scored.cited_relevant, scored.answer_correct) == (2, 1, 1, True)


@pytest.mark.parametrize("text, message", [
    ("- id: a\n  question: x\n", "entry 1 (a): field 'expect' must be a mapping"),
    ("- id: a\n  question: ''\n  expect: {abstain: true}\n", "entry 1 (a): field 'question'"),
    ("- question: x\n  expect: {abstain: true}\n", "entry 1: field 'id'"),
    ("- {id: a, question: x, expect: {abstain: yes please}}\n", "field 'expect.abstain' must be true"),
    ("- {id: a, question: x, expect: {passage_contains: [1]}}\n", "field 'expect.passage_contains'"),
    ("- {id: a, question: x, expect: {answer_contains: [[]]}}\n", "field 'expect.answer_contains[0]'"),
    ("- {id: a, question: x, expect: {answer: y}}\n", "unknown field(s) expect.answer"),
    ("- {id: a, question: x, expect: {abstain: true}}\n- {id: a, question: y, expect: {abstain: true}}\n",
     "entry 2: field 'id' must be a unique string"),
    ("- {id: off, question: x, expect: {abstain: true}}\n", "entry 1: field 'id' must be a unique string"),
    ("id: a\n", "must hold a YAML list"),
    ("- [unclosed\n", "is not valid YAML"),
], ids=["no-expect", "empty-question", "no-id", "abstain-type", "passage-type", "empty-group",
        "unknown-field", "duplicate-id", "boolean-id", "not-a-list", "bad-yaml"])
def test_malformed_question_files_name_the_entry_and_field(tmp_path, text, message):
    path = tmp_path / "q.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(EvalFileError) as error:
        load_questions(path)
    assert message in str(error.value)


def test_the_seed_question_set_is_well_formed():
    questions = load_questions(ROOT / "eval" / "seed_questions.yaml")
    assert len(questions) >= 40 and sum(q.abstain for q in questions) >= 8


def test_eval_command_writes_json_and_report_and_gates_on_minimums(docs, tmp_path):
    questions = tmp_path / "q.yaml"
    questions.write_text(
        "- id: joined-2004\n  question: Which countries joined NATO in 2004?\n"
        "  expect: {passage_contains: [Letonia, Lituania], answer_contains: [[Latvia, Letonia]]}\n"
        "- id: off-topic\n  question: Who won the 2018 World Cup?\n  expect: {abstain: true}\n",
        encoding="utf-8")
    command = [sys.executable, "-m", "app", "eval", questions, "--docs", docs, "--index-dir",
               tmp_path / "index", "--json", tmp_path / "out.json", "--report", tmp_path / "out.html"]
    done = subprocess.run([*map(str, command), "--min", "hit@1=1", "--min", "abstain_recall=1"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    out = json.loads((tmp_path / "out.json").read_text())
    assert out["summary"]["answer_accuracy"] == 1.0 and out["summary"]["abstain_recall"] == 1.0
    assert [r["id"] for r in out["results"]] == ["joined-2004", "off-topic"] and out["results"][0]["rank"] == 1
    page = (tmp_path / "out.html").read_text()
    assert "<svg" in page and "joined-2004" in page and "src=\"http" not in page

    failed = subprocess.run([*map(str, command), "--max", "latency_p50_ms=0.001"], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert failed.returncode == 1 and "latency_p50_ms" in failed.stderr and "is above 0.001" in failed.stderr
    bad = subprocess.run([*map(str, command), "--min", "hit@7=1"], cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert bad.returncode == 2 and "Bad --min 'hit@7=1'" in bad.stderr and "Traceback" not in bad.stderr
    unwritable = subprocess.run([*map(str, command[:-4]), "--json", tmp_path / "missing" / "out.json"],
                                cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert unwritable.returncode == 2 and "Traceback" not in unwritable.stderr
    assert f"error: No such file or directory: {tmp_path / 'missing' / 'out.json'}" in unwritable.stderr


def test_xquad_becomes_a_documents_folder_and_a_question_file(tmp_path):
    from app.xquad import DEFAULT_SOURCE, prepare

    source = ROOT / DEFAULT_SOURCE
    if not source.is_dir():
        pytest.skip(f"XQuAD is not at {source}")
    docs, path, count = prepare(source, tmp_path, slice(0, 1))
    [article] = docs.iterdir()
    assert article.name == "01_Super_Bowl_50.txt"
    paragraphs = article.read_text(encoding="utf-8").strip().split("\n\n")
    questions = load_questions(path)
    assert len(paragraphs) == 5 and len(questions) == count == 74
    assert questions[0].question == "How many points did the Panthers defense surrender?"
    assert questions[0].passage_contains == ("308",) and "308" in paragraphs[0]
    assert all(any(q.passage_contains[0] in p for p in paragraphs) for q in questions)
