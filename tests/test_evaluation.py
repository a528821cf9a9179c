"""Metric code against hand-computed values, question-file errors, and the eval command end to end."""
import json
import os
import subprocess
import sys

import pytest

from app.answers import Answer, Citation, Passage
from app.cli import main, parse_limits
from app.errors import AppError
from app.evaluation import (EvalFileError, EvalQuestion, QuestionResult, answer_words, breakdown, load_questions,
                            exact_match, f1, question_type, score, split, summarize)
from app.report import write_html
from index.chunking import Chunk
from tests.conftest import ROOT, SENTENCE_2004


def result(rank=None, cited=0, relevant=0, correct=None, abstained=False, expect_abstain=False,
           latency=10.0, checks=True, answer="a", em=None, f1=None, bold=False) -> QuestionResult:
    return QuestionResult("q", "?", answer, abstained, expect_abstain, checks, rank, cited, relevant, correct,
                          latency, span_em=em, span_f1=f1, bold=bold)


def test_summary_metrics_match_hand_computed_values():
    results = [
        result(rank=1, cited=1, relevant=1, correct=True, latency=10, answer="Letonia [1]", em=1.0, f1=1.0,
               bold=True),
        result(rank=3, cited=2, relevant=1, correct=False, latency=20,
               answer="Albania și Croația au aderat [1][2].", em=0.0, f1=0.5, bold=True),
        result(rank=None, cited=1, relevant=0, correct=False, latency=30, answer="În 2004 [1, 2]", em=0.0, f1=0.2,
               bold=True),
        result(rank=2, abstained=True, correct=False, latency=40,  # answerable, but abstained
               answer="The documents do not say.", em=0.0, f1=0.0),
        result(abstained=True, expect_abstain=True, checks=False, latency=50, answer="Not found."),
        result(abstained=False, expect_abstain=True, checks=False, latency=60, answer="a b"),
    ]
    assert summarize(results) == {
        "questions": 6,
        "answer_accuracy": 0.25,  # 1 of the 4 with answer_contains
        "answer_accuracy_given_hit": round(1 / 3, 4),  # of the 3 whose passage was retrieved
        "span_em": 0.25, "span_f1": 0.425,  # the exact answers of the 4 answerable ones: (1 + 0.5 + 0.2) / 4
        "bold_precision": round(2 / 3, 4),  # 3 bolded, 2 of them at F1 0.5 or more
        "bold_coverage": 1.0,  # each of the 3 answered answerable questions bolds its exact answer
        "hit@1": 0.25, "hit@3": 0.75, "hit@5": 0.75,  # ranks 1, 3, none, 2
        "mrr": round((1 + 1 / 3 + 0 + 1 / 2) / 4, 4),  # 0.4583
        "citation_precision": 0.5,  # 2 relevant of 4 cited
        "answer_words": 2.5,  # 1, 5, 2 and 2 words in the 4 answers given, markers and "." not counted
        "abstain_precision": 0.5,  # 2 abstained, 1 rightly
        "abstain_recall": 0.5,  # 2 unanswerable, 1 abstained
        "latency_p50_ms": 35.0, "latency_p95_ms": 57.5,
    }


def test_metrics_with_nothing_to_measure_are_none():
    summary = summarize([result(abstained=False, expect_abstain=True, checks=False)])
    assert summary["hit@1"] is None and summary["abstain_precision"] is None
    assert summary["abstain_recall"] == 0.0
    assert summarize([result(abstained=True, answer="Not found.")])["answer_words"] is None


def test_exact_answers_are_scored_as_squad_scores_them():
    assert exact_match("the Slovenia.", "Slovenia") == 1.0 and exact_match("Şapte", "sapte") == 1.0
    assert f1("Letonia și Lituania", "Lituania") == 0.5  # precision 1/3, recall 1
    assert f1("în 2004", "1999") == 0.0 and f1("", "1999") == 0.0


@pytest.mark.parametrize("text, words", [
    ("Letonia [1]", 1), ("Albania, Croația [1][2] și Slovenia [3, 4].", 4), ("[1]", 0), ("În 2004 (iunie) [12]", 3),
])
def test_answer_words_leave_out_citation_markers(text, words):
    assert answer_words(text) == words


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
    ("- {id: a, question: x, topic: y, expect: {abstain: true}}\n", "entry 1 (a): unknown field(s) topic"),
    ("- {id: a, question: x, lang: 3, expect: {abstain: true}}\n", "field 'lang' must be a non-empty string"),
    ("- {id: a, question: x, article: '', expect: {abstain: true}}\n",
     "field 'article' must be a non-empty string"),
    ("- {id: a, question: x, expect: {abstain: true}}\n- {id: a, question: y, expect: {abstain: true}}\n",
     "entry 2: field 'id' must be a unique string"),
    ("- {id: off, question: x, expect: {abstain: true}}\n", "entry 1: field 'id' must be a unique string"),
    ("id: a\n", "must hold a YAML list"),
    ("- [unclosed\n", "is not valid YAML"),
], ids=["no-expect", "empty-question", "no-id", "abstain-type", "passage-type", "empty-group",
        "unknown-field", "unknown-top-field", "lang-type", "empty-article", "duplicate-id", "boolean-id",
        "not-a-list", "bad-yaml"])
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

    source = DEFAULT_SOURCE
    docs, path, count = prepare(source, tmp_path, slice(0, 1))
    [article] = docs.iterdir()
    assert article.name == "01_Super_Bowl_50.txt"
    paragraphs = article.read_text(encoding="utf-8").strip().split("\n\n")
    questions = load_questions(path)
    assert len(paragraphs) == 5 and len(questions) == count == 74
    assert questions[0].question == "How many points did the Panthers defense surrender?"
    assert questions[0].passage_contains == ("308",) and "308" in paragraphs[0]
    assert all(any(q.passage_contains[0] in p for p in paragraphs) for q in questions)
    assert {(q.lang, q.article) for q in questions} == {("en", "01_Super_Bowl_50")}


def test_xquad_articles_picks_a_range_of_articles(tmp_path, capsys):
    from app.xquad import DEFAULT_SOURCE

    source = DEFAULT_SOURCE
    assert main(["xquad", "--articles", "25-26", "--out", str(tmp_path)]) == 0
    assert "(2 articles)" in capsys.readouterr().out
    assert sorted(p.stem for p in (tmp_path / "docs").iterdir()) == sorted(
        {q.article for q in load_questions(tmp_path / "questions.yaml")})
    assert all(p.stem.startswith(("25_", "26_")) for p in (tmp_path / "docs").iterdir())
    for bad in ("30-25", "0-3", "x"):
        with pytest.raises(SystemExit):
            main(["xquad", "--articles", bad, "--source", str(source), "--out", str(tmp_path / "bad")])
        assert "articles" in capsys.readouterr().err


def test_xquad_writes_squad2_unanswerable_questions_on_the_chosen_articles(tmp_path):
    """The shipped SQuAD 2.0 questions on XQuAD's paragraphs: each expects an abstention and names its document."""
    from app.xquad import DEFAULT_SOURCE, prepare, unanswerable

    docs, _, _ = prepare(DEFAULT_SOURCE, tmp_path, slice(24, 30))
    path, count = unanswerable(DEFAULT_SOURCE, tmp_path, slice(24, 30))
    questions = load_questions(path)
    assert count == len(questions) == 110
    assert questions[0].question == "In what year was the Satyagraha massacre?"
    assert all(q.abstain and q.lang == "en" for q in questions)
    assert {q.article for q in questions} <= {p.stem for p in docs.iterdir()}
    _, every = unanswerable(DEFAULT_SOURCE, tmp_path / "all")
    assert every == 882


def test_xquad_in_romanian_asks_the_romanian_questions(tmp_path, capsys):
    from app.xquad import DEFAULT_SOURCE, prepare

    source = DEFAULT_SOURCE
    _, english, _ = prepare(source, tmp_path / "en", slice(0, 1))
    docs, path, count = prepare(source, tmp_path / "ro", slice(0, 1), language="ro")
    assert path == tmp_path / "ro" / "questions.ro.yaml" and count == 74
    romanian = load_questions(path)
    assert romanian[0].question == "Câte puncte a cedat apărarea echipei Panthers?"
    assert (romanian[0].lang, romanian[0].article, romanian[0].passage_contains) == (
        "ro", "01_Super_Bowl_50", ("308",))
    # the same ids and the same Romanian spans as the English file: only the question's language differs
    assert [(q.id, q.answer_contains) for q in romanian] == [(q.id, q.answer_contains)
                                                               for q in load_questions(english)]
    assert {q.lang for q in romanian} == {"ro"} and {p.name for p in docs.iterdir()} == {"01_Super_Bowl_50.txt"}

    assert main(["xquad", "--language", "ro", "--source", str(source), "--out", str(tmp_path / "all")]) == 0
    assert "(48 articles)" in capsys.readouterr().out
    assert not (tmp_path / "all" / "questions.yaml").exists()
    every = load_questions(tmp_path / "all" / "questions.ro.yaml")
    assert len(every) == 1190 and len({q.article for q in every}) == 48
    assert len(split(every, "train")) + len(split(every, "test")) == 1190
    articles = sorted(p.stem for p in (tmp_path / "all" / "docs").iterdir())
    assert {q.article for q in split(every, "test")} == set(articles[24:])
    with pytest.raises(AppError, match="choose one of en, ro"):
        prepare(source, tmp_path / "de", language="de")


def test_questions_may_name_their_language_and_article(tmp_path):
    path = tmp_path / "q.yaml"
    path.write_text("- id: a\n  question: Când a aderat?\n  lang: ro\n  article: 01_NATO\n  expect: {abstain: true}\n"
                    "- id: b\n  question: When did it join?\n  expect: {abstain: true}\n", encoding="utf-8")
    first, second = load_questions(path)
    assert (first.lang, first.article) == ("ro", "01_NATO")
    assert (second.lang, second.article) == (None, None)


def _on(article: str, qid: str) -> EvalQuestion:
    return EvalQuestion(qid, "?", abstain=True, article=article)


def test_split_gives_train_the_first_half_of_the_sorted_articles_rounded_up():
    questions = [_on("c", "c1"), _on("a", "a1"), _on("b", "b1"), _on("a", "a2"), _on("c", "c2")]
    assert [q.id for q in split(questions, "train")] == ["a1", "b1", "a2"]  # articles a, b of a, b, c
    assert [q.id for q in split(questions, "test")] == ["c1", "c2"]
    assert split(questions, "all") == questions


def test_split_needs_an_article_on_every_question(tmp_path, docs, capsys):
    with pytest.raises(EvalFileError, match=r"1 of 2 have none: add `article`"):
        split([_on("a", "a1"), EvalQuestion("x", "?", abstain=True)], "train")
    path = tmp_path / "q.yaml"
    path.write_text("- {id: a, question: When did it join, expect: {abstain: true}}\n", encoding="utf-8")
    assert main(["eval", str(path), "--split", "test", "--docs", str(docs),
                 "--index-dir", str(tmp_path / "index")]) == 2
    assert "add `article` (the document it is about) to each question" in capsys.readouterr().err
    assert not (tmp_path / "index").exists()  # refused before anything was indexed


@pytest.mark.parametrize("question, kind", [
    ("When did Romania join NATO?", "when"), ("Când a aderat România?", "when"), ("cand a aderat?", "when"),
    ("Whose army was it?", "who"), ("Al cui este planul?", "who"), ("Pe cine a învins?", "who"),
    ("How many countries joined?", "how many"), ("How much did it cost?", "how many"),
    ("Câți membri are NATO?", "how many"), ("Cât a costat?", "how many"),
    ("Where is the headquarters?", "where"), ("Unde se află sediul?", "where"),
    ("Why did it expand?", "why"), ("De ce s-a extins?", "why"),
    ("How did it start?", "how"), ("Cum a început?", "how"),
    ("In which year did it join?", "when"), ("În ce an a aderat?", "when"),
    ("Care țări au aderat?", "what/which"), ("What is NATO?", "what/which"),
    ("Wann ist es beigetreten?", "when"), ("¿Cuántos países?", "how many"),
    ("Name the members of NATO.", "other"), ("Numiți membrii NATO.", "other"),
])
def test_question_type_from_the_first_interrogative_word(question, kind):
    assert question_type(question) == kind


def _scored() -> list[QuestionResult]:
    """Four questions scored against hand-made answers: two English, two Romanian (one detected, one given)."""
    chunk = Chunk("nato.txt", 0, 0, len(SENTENCE_2004), SENTENCE_2004)
    cited = Answer("q", "Letonia, Lituania, Estonia [1]", False, [Citation(1, Passage(chunk, 0.9), 0, 10)],
                   [Passage(chunk, 0.9)])
    abstained = Answer("q", "Nu am găsit răspunsul.", True, [], [Passage(chunk, 0.4)])
    return [
        score(EvalQuestion("joined-2004", "Which countries joined NATO in 2004?", ("Letonia",),
                           (("Letonia", "Latvia"),)), cited, 10.0),
        score(EvalQuestion("off-topic", "Who won the 2018 World Cup?", abstain=True), abstained, 20.0),
        score(EvalQuestion("romania", "Când a aderat România la NATO?", ("România",), (("2004",),)),
              cited, 30.0),
        score(EvalQuestion("count", "Câte țări au aderat în 2004?", ("Slovenia",), (("șapte", "7"),), lang="ro"),
              abstained, 40.0),
    ]


def test_breakdown_by_language_and_question_type():
    results = _scored()
    assert [(r.lang, r.qtype) for r in results] == [
        ("en", "what/which"), ("en", "who"), ("ro", "when"), ("ro", "how many")]
    assert [r.expected for r in results] == ["Letonia / Latvia", "", "2004", "șapte / 7"]
    assert breakdown(results, "lang") == {
        "en": {"questions": 2, "answer_accuracy": 1.0, "hit@1": 1.0, "abstain_recall": 1.0, "answer_words": 3.0},
        "ro": {"questions": 2, "answer_accuracy": 0.0, "hit@1": 1.0, "abstain_recall": None, "answer_words": 3.0},
    }
    assert list(breakdown(results, "qtype")) == ["how many", "what/which", "when", "who"]
    assert breakdown(results, "qtype")["who"] == {
        "questions": 1, "answer_accuracy": None, "hit@1": None, "abstain_recall": 1.0, "answer_words": None}


def test_html_report_has_histograms_breakdowns_lost_questions_and_dashes(tmp_path):
    results = _scored()
    summary = summarize(results)
    assert summary["abstain_precision"] == 0.5 and summary["mrr"] == 1.0
    summary["abstain_precision"] = None  # as when nothing was abstained on
    page_path = tmp_path / "report.html"
    write_html(page_path, tmp_path / "q.yaml", {"default": results}, {"default": summary})
    page = page_path.read_text(encoding="utf-8")
    assert "<td>abstain_precision</td><td>–</td>" in page
    assert page.count("<svg") == 3 and "Rank histogram" in page and "Latency histogram" in page
    assert "not retrieved" in page and "src=\"http" not in page
    assert "<h3>By language</h3>" in page and "<h3>By question type</h3>" in page
    lost = page[page.index("<h2>Lost questions</h2>"):page.index("<h2>Questions</h2>")]
    # the Romanian ones: one answered without the expected year, one abstained on
    assert "2 of 3 answerable questions" in lost and "joined-2004" not in lost and "off-topic" not in lost
    assert "<td>Când a aderat România la NATO?</td>" in lost and "<td>2004</td>" in lost
    assert "<td>(abstained) Nu am găsit răspunsul.</td><td>–</td><td>șapte / 7</td>" in lost


def test_eval_command_asks_one_split_reports_breakdowns_and_gates_on_answer_words(docs, tmp_path, capsys):
    questions = tmp_path / "q.yaml"
    questions.write_text(
        "- id: off-topic\n  question: Who won the 2018 World Cup?\n  article: a-sport\n  expect: {abstain: true}\n"
        "- id: joined-2004\n  question: Care țări au aderat la NATO în 2004?\n  article: b-nato\n"
        "  expect: {passage_contains: [Letonia], answer_contains: [[Letonia]]}\n", encoding="utf-8")
    command = ["eval", str(questions), "--docs", str(docs), "--index-dir", str(tmp_path / "index"),
               "--split", "test", "--json", str(tmp_path / "out.json")]
    assert main([*command, "--max", "answer_words=45", "--report", str(tmp_path / "out.html")]) == 0
    printed = capsys.readouterr().out
    assert "split test: 1 of 2 questions, on 1 of 2 articles" in printed
    assert "by language:" in printed and "by question type:" in printed
    out = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    [asked] = out["results"]
    assert out["split"] == "test" and asked["id"] == "joined-2004" and asked["answer_correct"] is True
    assert (asked["lang"], asked["qtype"], asked["expected"]) == ("ro", "what/which", "Letonia")
    words = out["summary"]["answer_words"]
    assert words == answer_words(asked["answer"]) and 0 < words <= 45
    assert out["breakdowns"] == {
        "language": {"ro": {"questions": 1, "answer_accuracy": 1.0, "hit@1": 1.0, "abstain_recall": None,
                            "answer_words": words}},
        "question_type": {"what/which": {"questions": 1, "answer_accuracy": 1.0, "hit@1": 1.0,
                                         "abstain_recall": None, "answer_words": words}}}
    page = (tmp_path / "out.html").read_text(encoding="utf-8")
    assert "Care țări au aderat la NATO în 2004?" in page and "Who won the 2018 World Cup?" not in page
    assert "None: every answerable question was answered correctly." in page
    assert parse_limits(["answer_words=45"], "--max") == {"answer_words": 45.0}
    assert main([*command, "--max", f"answer_words={words - 1:g}"]) == 1
    assert f"answer_words = {words} is above" in capsys.readouterr().err


def test_eval_reads_a_squad_file_and_makes_its_paragraphs_the_corpus(tmp_path):
    """SQuAD v2.0's shape: aliases for the answer, and a question the paragraphs cannot answer."""
    seed_paragraph = SENTENCE_2004 + " Albania şi Croaţia au urmat în 2009, Muntenegru în 2017."
    squad = {"version": "v2.0", "data": [
        {"title": "NATO enlargement", "paragraphs": [{"context": seed_paragraph, "qas": [
            {"id": "q2004", "question": "Which countries joined NATO in 2004?", "is_impossible": False,
             "answers": [{"text": "România, Bulgaria, Letonia, Lituania, Estonia, Slovacia şi Slovenia",
                          "answer_start": 53}, {"text": "Slovacia şi Slovenia", "answer_start": 100}]},
            {"id": "off", "question": "Who won the 2018 World Cup?", "is_impossible": True, "answers": []}]}]},
        {"title": "Lakes", "paragraphs": [{"context": "Lake Merrow holds 41 million cubic metres of water.",
                                            "qas": []}]}]}
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(squad, ensure_ascii=False), encoding="utf-8")
    command = [sys.executable, "-m", "app", "eval", path, "--index-dir", tmp_path / "index",
               "--json", tmp_path / "out.json"]
    done = subprocess.run(list(map(str, command)), cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    written = sorted(p.name for p in (tmp_path / "eval/out/mine/docs").iterdir())
    assert written == ["01_NATO_enlargement.txt", "02_Lakes.txt"]
    out = json.loads((tmp_path / "out.json").read_text())
    assert [(r["id"], r["expect_abstain"]) for r in out["results"]] == [("q2004", False), ("off", True)]
    assert out["results"][0]["answer_correct"] and out["results"][1]["abstained"]
    assert out["summary"]["span_f1"] > 0
