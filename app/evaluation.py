"""Runs a question set through the pipeline and scores retrieval, citations, answers and abstention."""
import collections
import math
import re
import string
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml
from tqdm import tqdm

from app.answers import Answer
from app.errors import AppError
from app.answerers.sentence_features import question_type
from index.language import detect
from index.text import fold

METRICS = ("answer_accuracy", "answer_accuracy_given_hit", "span_em", "span_f1", "bold_precision", "bold_coverage",
           "hit@1", "hit@3", "hit@5", "mrr", "citation_precision",
           "answer_words", "abstain_precision", "abstain_recall", "latency_p50_ms", "latency_p95_ms")
SHARES = tuple(m for m in METRICS if m not in ("answer_words", "latency_p50_ms", "latency_p95_ms"))  # 0 to 1
BOLD_F1 = 0.5  # a bolded exact answer counts as right from this F1 against the expected one
BREAKDOWN_METRICS = ("questions", "answer_accuracy", "hit@1", "abstain_recall", "answer_words")
BREAKDOWNS = {"language": "lang", "question_type": "qtype"}  # name → the QuestionResult field grouped on
SPLITS = ("all", "train", "test")
_ENTRY_KEYS = {"id", "question", "expect", "lang", "article"}
_EXPECT_KEYS = {"passage_contains", "answer_contains", "abstain"}
_CITATION_MARKER = re.compile(r"\[\d+(?:\s*,\s*\d+)*\]")
_PUNCTUATION = frozenset(string.punctuation)


class EvalFileError(AppError):
    """The question file does not follow the format."""


@dataclass(frozen=True)
class EvalQuestion:
    id: str
    question: str
    passage_contains: tuple[str, ...] = ()
    answer_contains: tuple[tuple[str, ...], ...] = ()
    abstain: bool = False
    lang: str | None = None  # the question's language code; detected when not given
    article: str | None = None  # the document the question is about: what --split divides on


@dataclass
class QuestionResult:
    id: str
    question: str
    answer: str
    abstained: bool
    expect_abstain: bool
    checks_passages: bool  # the question names text its passages must hold
    rank: int | None  # rank of the first retrieved passage holding that text
    cited: int
    cited_relevant: int
    answer_correct: bool | None  # None when the question sets no answer_contains
    latency_ms: float
    citations: list[dict] = field(default_factory=list)
    lang: str = "und"
    qtype: str = "other"
    expected: str = ""  # the first answer_contains group, else the passage_contains text
    span: str = ""  # the exact answer the answerer gave, if any
    span_em: float | None = None  # against the first answer_contains group (None when it has none)
    span_f1: float | None = None
    bold: bool = False  # the answer shows its exact answer in bold (the reader is likely right)


def _strings(value, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise EvalFileError(f"{where} must be a non-empty list of strings")
    return tuple(value)


def load_questions(path: Path) -> list[EvalQuestion]:
    """Reads a YAML question list; a malformed entry is an error naming the entry and the field."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EvalFileError(f"No question file at {path}.") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise EvalFileError(f"{path} is not valid YAML: {exc}") from None
    if not isinstance(data, list) or not data:
        raise EvalFileError(f"{path} must hold a YAML list of questions (see eval/seed_questions.yaml).")
    questions, seen = [], set()
    for i, entry in enumerate(data, 1):
        name = f"{path}: entry {i}"
        if not isinstance(entry, dict):
            raise EvalFileError(f"{name} must be a mapping with id, question and expect")
        qid = entry.get("id")
        if isinstance(qid, bool) or not isinstance(qid, (str, int)) or str(qid) in seen:
            raise EvalFileError(f"{name}: field 'id' must be a unique string "
                                "(quote ids such as 'off', 'no' or 'yes': YAML reads them as booleans)")
        name = f"{path}: entry {i} ({qid})"
        seen.add(str(qid))
        unknown = set(entry) - _ENTRY_KEYS
        if unknown:
            raise EvalFileError(f"{name}: unknown field(s) {', '.join(sorted(unknown))}")
        for key in ("lang", "article"):
            if key in entry and not (isinstance(entry[key], str) and entry[key].strip()):
                raise EvalFileError(f"{name}: field '{key}' must be a non-empty string")
        question = entry.get("question")
        if not isinstance(question, str) or not question.strip():
            raise EvalFileError(f"{name}: field 'question' must be a non-empty string")
        expect = entry.get("expect")
        if not isinstance(expect, dict) or not expect:
            raise EvalFileError(f"{name}: field 'expect' must be a mapping "
                                "(passage_contains, answer_contains or abstain)")
        unknown = set(expect) - _EXPECT_KEYS
        if unknown:
            raise EvalFileError(f"{name}: unknown field(s) expect.{', expect.'.join(sorted(unknown))}")
        abstain = expect.get("abstain", False)
        if not isinstance(abstain, bool):
            raise EvalFileError(f"{name}: field 'expect.abstain' must be true or false")
        if abstain and ("passage_contains" in expect or "answer_contains" in expect):
            raise EvalFileError(f"{name}: field 'expect.abstain' cannot go with passage_contains "
                                "or answer_contains")
        passages = _strings(expect["passage_contains"], f"{name}: field 'expect.passage_contains'") \
            if "passage_contains" in expect else ()
        groups = expect.get("answer_contains", [])
        if not isinstance(groups, list):
            raise EvalFileError(f"{name}: field 'expect.answer_contains' must be a list of groups")
        answer = tuple(_strings(g, f"{name}: field 'expect.answer_contains[{j}]'")
                       for j, g in enumerate(groups))
        if not (abstain or passages or answer):
            raise EvalFileError(f"{name}: field 'expect' sets nothing to check")
        questions.append(EvalQuestion(str(qid), question.strip(), passages, answer, abstain,
                                      entry.get("lang", "").strip() or None,
                                      entry.get("article", "").strip() or None))
    return questions


def split(questions: list[EvalQuestion], which: str) -> list[EvalQuestion]:
    """`train`: the questions on the first half of the articles (sorted, rounded up); `test`: the rest."""
    if which == "all":
        return list(questions)
    if which not in SPLITS:
        raise EvalFileError(f"Unknown split '{which}': choose one of {', '.join(SPLITS)}")
    missing = sum(q.article is None for q in questions)
    if missing:
        raise EvalFileError(f"--split {which} divides the questions by article, but {missing} of "
                            f"{len(questions)} have none: add `article` (the document it is about) to each "
                            "question, or use --split all")
    articles = sorted({q.article for q in questions})
    train = set(articles[:math.ceil(len(articles) / 2)])
    return [q for q in questions if (q.article in train) == (which == "train")]


def answer_words(text: str) -> int:
    """Words in an answer, its citation markers and lone punctuation left out."""
    return sum(any(c.isalnum() for c in w) for w in _CITATION_MARKER.sub(" ", text).split())


def normalize_answer(text: str) -> str:
    """SQuAD's answer normalisation (lower case, no punctuation, no English articles, single spaces), accents
    folded as everywhere else here."""
    text = "".join(c for c in fold(text) if c not in _PUNCTUATION)
    return " ".join(re.sub(r"\b(a|an|the)\b", " ", text).split())


def exact_match(prediction: str, gold: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(gold))


def f1(prediction: str, gold: str) -> float:
    """SQuAD's token F1 between a predicted and a gold answer."""
    predicted, expected = normalize_answer(prediction).split(), normalize_answer(gold).split()
    common = sum((collections.Counter(predicted) & collections.Counter(expected)).values())
    if not common:
        return 0.0
    precision, recall = common / len(predicted), common / len(expected)
    return 2 * precision * recall / (precision + recall)


def _contains(text: str, needles) -> bool:
    folded = fold(text)
    return any(fold(n) in folded for n in needles)


def score(question: EvalQuestion, answer: Answer, latency_ms: float) -> QuestionResult:
    rank = None
    if question.passage_contains:
        rank = next((r for r, p in enumerate(answer.passages, 1)
                     if _contains(p.chunk.text, question.passage_contains)), None)
    relevant = sum(_contains(c.passage.chunk.text, question.passage_contains) for c in answer.citations)
    correct = em = span_f1 = None
    span = answer.span.text if answer.span and not answer.abstained else ""
    if question.answer_contains:
        correct = not answer.abstained and all(_contains(answer.text, g) for g in question.answer_contains)
        aliases = question.answer_contains[0]
        em = max(exact_match(span, a) for a in aliases) if span else 0.0
        span_f1 = max(f1(span, a) for a in aliases) if span else 0.0
    return QuestionResult(
        question.id, question.question, answer.text, answer.abstained, question.abstain,
        bool(question.passage_contains), rank, len(answer.citations) if question.passage_contains else 0,
        relevant, correct, latency_ms,
        [c.to_dict() for c in answer.citations],
        question.lang or detect(question.question), question_type(question.question),
        " / ".join(question.answer_contains[0] if question.answer_contains else question.passage_contains),
        span, em, span_f1, answer.bold is not None,
    )


def _ratio(numerator: float, denominator: float) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def summarize(results: list[QuestionResult]) -> dict:
    """The metrics of a run; a metric with nothing to measure is None."""
    ranked = [r for r in results if r.checks_passages]
    answered = [r for r in results if r.answer_correct is not None]
    abstained = [r for r in results if r.abstained]
    unanswerable = [r for r in results if r.expect_abstain]
    latencies = [r.latency_ms for r in results]
    words = [answer_words(r.answer) for r in results if not r.abstained]
    summary = {
        "questions": len(results),
        "answer_accuracy": _ratio(sum(bool(r.answer_correct) for r in answered), len(answered)),
        # the answer step alone: accuracy on the questions whose passage was retrieved
        "answer_accuracy_given_hit": _ratio(sum(bool(r.answer_correct) for r in answered if r.rank),
                                            sum(1 for r in answered if r.rank)),
        # the exact answer against the expected one, SQuAD's way (an abstention scores 0)
        "span_em": _ratio(sum(r.span_em for r in answered), len(answered)),
        "span_f1": _ratio(sum(r.span_f1 for r in answered), len(answered)),
        # bold is a promise: the share of bolded exact answers that match the expected one (F1 at least 0.5),
        # and the share of the answered questions whose answer bolds one
        "bold_precision": _ratio(sum(r.span_f1 >= BOLD_F1 for r in answered if r.bold),
                                 sum(1 for r in answered if r.bold)),
        "bold_coverage": _ratio(sum(1 for r in answered if r.bold and not r.abstained),
                                sum(1 for r in answered if not r.abstained)),
        **{f"hit@{k}": _ratio(sum(r.rank is not None and r.rank <= k for r in ranked), len(ranked))
           for k in (1, 3, 5)},
        "mrr": _ratio(sum(1 / r.rank for r in ranked if r.rank), len(ranked)),
        "citation_precision": _ratio(sum(r.cited_relevant for r in results), sum(r.cited for r in results)),
        "answer_words": round(float(np.mean(words)), 1) if words else None,
        "abstain_precision": _ratio(sum(r.expect_abstain for r in abstained), len(abstained)),
        "abstain_recall": _ratio(sum(r.abstained for r in unanswerable), len(unanswerable)),
        "latency_p50_ms": round(float(np.percentile(latencies, 50)), 1) if latencies else None,
        "latency_p95_ms": round(float(np.percentile(latencies, 95)), 1) if latencies else None,
    }
    return summary


def breakdown(results: list[QuestionResult], key: str) -> dict[str, dict]:
    """The main metrics per value of a result field (`lang`, `qtype`), groups in name order."""
    groups: dict[str, list[QuestionResult]] = {}
    for r in results:
        groups.setdefault(getattr(r, key), []).append(r)
    return {name: {m: summary[m] for m in BREAKDOWN_METRICS}
            for name, summary in ((name, summarize(groups[name])) for name in sorted(groups))}


def breakdowns(results: list[QuestionResult]) -> dict[str, dict[str, dict]]:
    """Every breakdown of BREAKDOWNS: {"language": {...}, "question_type": {...}}."""
    return {title: breakdown(results, key) for title, key in BREAKDOWNS.items()}


def lost(results: list[QuestionResult]) -> list[QuestionResult]:
    """Answerable questions answered wrongly or abstained on."""
    return [r for r in results if not r.expect_abstain and (r.answer_correct is False or r.abstained)]


def losses(results: list[QuestionResult]) -> dict[str, int]:
    """Where answerable questions were lost: retrieval, abstention, or the choice of what to cite."""
    counts = dict.fromkeys(("correct", "passage not retrieved", "retrieved, but abstained",
                            "retrieved, cited the right passage, answer misses the text",
                            "retrieved, cited another passage"), 0)
    for r in results:
        if r.answer_correct is None or not r.checks_passages:
            continue
        if r.answer_correct:
            counts["correct"] += 1
        elif r.rank is None:
            counts["passage not retrieved"] += 1
        elif r.abstained:
            counts["retrieved, but abstained"] += 1
        elif r.cited_relevant:
            counts["retrieved, cited the right passage, answer misses the text"] += 1
        else:
            counts["retrieved, cited another passage"] += 1
    return counts


def run(pipeline, questions: list[EvalQuestion], progress: bool = True) -> list[QuestionResult]:
    results = []
    for question in tqdm(questions, unit="question", desc="Evaluating", disable=not progress):
        started = time.perf_counter()
        answer = pipeline.ask(question.question)
        results.append(score(question, answer, (time.perf_counter() - started) * 1000))
    return results
