"""Fits the extractive answerer on XQuAD: its sentence ranker, second-sentence margin and abstention.

Split by article. Fitted on articles 1-24, reported on articles 25-48; each half has its own index of
its Romanian paragraphs, and is asked its English and its Romanian questions:
- answerable: a question asked of its own half's index;
- off-topic: a question of the other half asked of this half's index;
- near-topic: a question asked of its own index with every passage holding its answer left out.
The ranker is a linear model over app.answerers.sentence_features, fitted listwise (a softmax over each
question's candidate sentences); a second sentence joins the answer when it ranks within the margin
that keeps the fitting half's mean answer under --words; abstention thresholds, one for questions in
the documents' language and one for the rest, let --wrong of the fitting half's answerable questions
abstain. Writes app/answerers/sentence_ranker.json; needs scipy (scripts/requirements-train.txt).
"""
import argparse
import json
import pickle
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
from scipy.optimize import minimize
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.answerers import extractive, sentence_features  # noqa: E402
from app.config import Settings  # noqa: E402
from app.evaluation import answer_words, load_questions  # noqa: E402
from app.pipeline import Pipeline  # noqa: E402
from app.xquad import DEFAULT_SOURCE, prepare  # noqa: E402
from index.text import fold  # noqa: E402

HALVES = {"fit": slice(0, 24), "report": slice(24, None)}


def views(pipeline: Pipeline, answerer, questions, kind: str) -> list[dict]:
    """What the answerer sees for each question: candidate features, which hold the answer, the evidence."""
    out = []
    for q in tqdm(questions, desc=kind, unit="question", leave=False):
        span = fold(q.passage_contains[0])
        passages = pipeline.retriever.search(q.question, 10)
        if kind == "near-topic":
            passages = [p for p in passages if span not in fold(p.chunk.text)]
        passages = passages[:5]
        candidates, rows = answerer.candidates(q.question, passages)
        if not candidates:
            continue
        texts = [p.chunk.text[c.start:c.end] for c in candidates for p in [passages[c.passage]]]
        best, relation = answerer.evidence(q.question, passages, candidates)
        out.append({"question": q.question, "article": q.article, "lang": q.lang, "rows": rows, "texts": texts,
                    "best": best, "relation": relation, "holds": np.array([span in fold(t) for t in texts]),
                    "answerable": kind == "answerable"})
    return out


def collect(source: Path, work: Path, embeddings: str) -> dict[str, dict[str, list[dict]]]:
    questions, docs = {}, {}
    for half, articles in HALVES.items():
        for language in ("en", "ro"):
            docs[half], path, _ = prepare(source, work / half, articles, language)
            questions.setdefault(half, []).extend(load_questions(path))
    size = len(sentence_features.FEATURES)  # the features do not depend on the ranker: any one will do
    neutral = extractive.SentenceRanker(np.zeros(size), np.ones(size), np.zeros(size), 0.0, {})
    seen = {}
    for half, other in (("fit", "report"), ("report", "fit")):
        pipeline = Pipeline(Settings(docs=docs[half], index_dir=work / half / "index", embeddings=embeddings))
        pipeline.index(progress=False)
        answerer = extractive.ExtractiveAnswerer(pipeline.embedder, ranker=neutral)
        seen[half] = {"answerable": views(pipeline, answerer, questions[half], "answerable"),
                      "near-topic": views(pipeline, answerer, questions[half], "near-topic"),
                      "off-topic": views(pipeline, answerer, questions[other], "off-topic")}
        seen[half]["near-topic"] = [v for v in seen[half]["near-topic"] if not v["holds"].any()]
        seen[half]["model_id"] = pipeline.embedder.model_id
    return seen


def fit_ranker(answerable: list[dict], l2: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    groups = [(v["rows"], v["holds"]) for v in answerable if v["holds"].any()]
    rows = np.concatenate([g[0] for g in groups])
    mean, scale = rows.mean(0), rows.std(0) + 1e-6
    groups = [((x - mean) / scale, y) for x, y in groups]

    def loss(w):  # minus the log-probability of the sentences holding the answer, softmax per question
        total, grad = 0.0, np.zeros_like(w)
        for x, y in groups:
            s = x @ w
            p = np.exp(s - s.max())
            p /= p.sum()
            held = p[y].sum()
            total -= np.log(held + 1e-12)
            grad -= (np.where(y, p, 0) / (held + 1e-12) - p) @ x
        return (total + l2 * w @ w) / len(groups), (grad + 2 * l2 * w) / len(groups)

    weights = minimize(loss, np.zeros(rows.shape[1]), jac=True, method="L-BFGS-B").x
    return mean, scale, weights


def chosen(view: dict, ranker: extractive.SentenceRanker) -> list[int]:
    return ranker.chosen(ranker.scores(view["rows"]))


def mean_words(answerable: list[dict], ranker) -> float:
    return float(np.mean([sum(answer_words(v["texts"][i]) for i in chosen(v, ranker)) for v in answerable]))


def report(seen: dict, ranker: extractive.SentenceRanker, calibration: dict) -> dict:
    """Per question language: accuracy, wrong abstentions, mean words, off- and near-topic abstention."""
    def abstains(v):
        return v["best"] < calibration[v["relation"]]

    figures = {}
    for language in ("en", "ro"):
        mine = {kind: [v for v in seen[kind] if v["lang"] == language]
                for kind in ("answerable", "near-topic", "off-topic")}
        answered = [v for v in mine["answerable"] if not abstains(v)]
        one = dict(ranker.__dict__, second_margin=0.0)
        figures[language] = {
            "questions": len(mine["answerable"]),
            "answer_accuracy": round(sum(v["holds"][chosen(v, ranker)].any() for v in answered)
                                     / len(mine["answerable"]), 3),
            "one_sentence_accuracy_without_abstention": round(float(np.mean(
                [v["holds"][chosen(v, extractive.SentenceRanker(**one))].any() for v in mine["answerable"]])), 3),
            "wrong_abstention": round(1 - len(answered) / len(mine["answerable"]), 3),
            "answer_words": round(mean_words(answered, ranker), 1),
            "off_topic_abstention": round(float(np.mean([abstains(v) for v in mine["off-topic"]])), 3),
            "near_topic_abstention": round(float(np.mean([abstains(v) for v in mine["near-topic"]])), 3),
        }
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--embeddings", default=Settings.embeddings)
    parser.add_argument("--words", type=float, default=42.0, help="mean answer words to stay under")
    parser.add_argument("--wrong", type=float, default=0.045, help="share of answerable questions let abstain")
    parser.add_argument("--out", type=Path, default=extractive.RANKER_FILE)
    parser.add_argument("--views", type=Path, help="keep what the answerer saw in this file, and reuse it "
                                                   "when it exists (to refit without asking again)")
    args = parser.parse_args()

    if args.views and args.views.exists():
        seen = pickle.loads(args.views.read_bytes())
    else:
        work = Path(tempfile.mkdtemp(prefix="train-ranker-"))
        try:
            seen = collect(args.source, work, args.embeddings)
        finally:
            shutil.rmtree(work)
        if args.views:
            args.views.write_bytes(pickle.dumps(seen))
    fit = seen["fit"]
    mean, scale, weights = fit_ranker(fit["answerable"])
    margin = 0.0
    for candidate in np.arange(0.0, 3.01, 0.05):
        ranker = extractive.SentenceRanker(mean, scale, weights, float(candidate), {})
        if mean_words(fit["answerable"], ranker) > args.words:
            break
        margin = round(float(candidate), 2)
    ranker = extractive.SentenceRanker(mean, scale, weights, margin, {})

    calibration = {}
    for relation in ("same", "cross"):
        best = [v["best"] for v in fit["answerable"] if v["relation"] == relation]
        calibration[relation] = round(float(np.quantile(best, args.wrong)), 4)
    # confidence = sigmoid(slope * (evidence - threshold)): the slope of a logistic fit, answerable vs off-topic
    margins = np.array([v["best"] - calibration[v["relation"]] for v in fit["answerable"] + fit["off-topic"]])
    labels = np.array([1.0] * len(fit["answerable"]) + [0.0] * len(fit["off-topic"]))
    slope = minimize(lambda k: np.sum(np.logaddexp(0, -k[0] * margins * (2 * labels - 1))), [10.0]).x[0]
    calibration["slope"] = round(float(slope), 2)

    previous = json.loads(args.out.read_text(encoding="utf-8")) if args.out.exists() else {}
    abstention = {**previous.get("abstention", {}), fit["model_id"]: calibration}
    figures = {half: report(seen[half], ranker, calibration) for half in HALVES}
    args.out.write_text(json.dumps({
        "fitted_on": "XQuAD articles 1-24, English and Romanian questions; reported on articles 25-48",
        "embeddings": args.embeddings,
        "features": list(sentence_features.FEATURES),
        "mean": [round(float(x), 6) for x in mean], "scale": [round(float(x), 6) for x in scale],
        "weights": [round(float(x), 6) for x in weights],
        "second_margin": margin, "abstention": abstention, "figures": figures,
    }, indent=1) + "\n", encoding="utf-8")
    print(json.dumps({"second_margin": margin, "calibration": calibration, "figures": figures}, indent=1))
    print(f"Wrote {args.out}")


if __name__ == "__main__":
    main()
