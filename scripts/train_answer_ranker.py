"""Fits the extractive answerer on XQuAD: its sentence ranker, second-sentence margin, abstention and bold.

Split by article. Fitted on articles 1-24 (or those --fit-articles names, for a reader that has seen some of them),
reported on articles 25-48; each half has its own index of its Romanian paragraphs, and is asked its English and its
Romanian questions:
- answerable: a question asked of its own half's index;
- off-topic: a question of the other half asked of this half's index;
- near-topic: a question asked of its own index with every passage holding its answer left out;
- unanswerable: SQuAD 2.0's unanswerable questions on this half's paragraphs (English; written to look
  answerable from them), asked of this half's index.
The ranker is a linear model over app.answerers.sentence_features (the span reader's findings among them),
fitted listwise (a softmax over each question's candidate sentences); a second sentence joins the answer
when it ranks within the margin that keeps the fitting half's mean answer under --words. Abstention is one
logistic model over extractive.EVIDENCE for questions in every language (the language is not an input, only
whether it differs from the documents'), fitted on answerable against off-topic, near-topic and unanswerable
questions, its 0.5 point placed to let at most --wrong of the fitting half's answerable questions abstain, among
those in the documents' language and among those in another language alike. --extra adds questions in other
languages to both halves (SQuAD-format files, split by article the same way: each half its own index of its
paragraphs), for example
PIAF's French (piaf/piaf-v1.1.fr.json.gz in the shared datasets of a development checkout; not shipped). The
exact answer is bolded where the reader's margin reaches the lowest point at which --bold-precision of the
fitting half's bolded spans match the expected answer (F1 at least 0.5). --keep-no-reader refits only the
models that use the reader, so that those without it can stay fitted on all of articles 1-24. Writes
app/answerers/sentence_ranker.json; needs scipy (scripts/requirements-train.txt).
"""
import argparse
import gzip
import hashlib
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
from app.answerers.reader import META_FILE, WEIGHTS_FILE  # noqa: E402
from app.config import Settings  # noqa: E402
from app import squad  # noqa: E402
from app.evaluation import BOLD_F1, answer_words, f1, load_questions  # noqa: E402
from app.pipeline import Pipeline  # noqa: E402
from app.xquad import DEFAULT_SOURCE, prepare, unanswerable  # noqa: E402
from index.language import detect  # noqa: E402
from index.text import fold  # noqa: E402

HALVES = {"fit": slice(0, 24), "report": slice(24, 48)}
NEGATIVES = ("near-topic", "off-topic", "unanswerable")


def views(pipeline: Pipeline, answerer, questions, kind: str) -> list[dict]:
    """What the answerer sees for each question: candidate features, which hold the answer, the evidence."""
    out = []
    for q in tqdm(questions, desc=kind, unit="question", leave=False):
        span = fold(q.passage_contains[0]) if q.passage_contains else None
        passages = pipeline.retriever.search(q.question, 10)
        if kind == "near-topic":
            passages = [p for p in passages if span not in fold(p.chunk.text)]
        passages = passages[:5]
        candidates, rows = answerer.candidates(q.question, passages)
        if not candidates:
            continue
        texts = [p.chunk.text[c.start:c.end] for c in candidates for p in [passages[c.passage]]]
        spans = [(passages[c.passage].chunk.text[c.span[0]:c.span[1]] if c.span else None, c.margin)
                 for c in candidates]
        out.append({"question": q.question, "article": q.article, "lang": q.lang or detect(q.question),
                    "rows": rows, "texts": texts, "spans": spans,
                    "gold": q.answer_contains[0] if q.answer_contains else (),
                    "inputs": answerer.evidence(q.question, passages, candidates),
                    "holds": np.array([span is not None and span in fold(t) for t in texts]),
                    "answerable": kind == "answerable"})
    return out


def extra_halves(path: Path, work: Path, articles: int) -> dict[str, tuple[Path, list]]:
    """A SQuAD-format file's first 2 x `articles` articles, split in two: each half's documents folder and
    questions (the first answer expected)."""
    opened = gzip.open(path, "rt", encoding="utf-8") if path.name.endswith(".gz") else open(path, encoding="utf-8")
    with opened as f:
        data = json.load(f)["data"]
    out = {}
    for n, half in enumerate(HALVES):
        part = work / half / path.name.split(".")[0]
        part.mkdir(parents=True, exist_ok=True)
        subset = part / "questions.json"
        subset.write_text(json.dumps({"data": data[n * articles:(n + 1) * articles]}, ensure_ascii=False),
                          encoding="utf-8")
        out[half] = (part / "docs", squad.load(subset, part / "docs"))
    return out


def collect(source: Path, work: Path, embeddings: str, every: int = 1,
            halves: tuple[str, ...] = tuple(HALVES), extra: tuple[Path, ...] = (),
            extra_articles: int = 40, xquad_halves: dict[str, slice] = HALVES) -> dict[str, dict[str, list[dict]]]:
    questions, docs, unanswered = {}, {}, {}
    for half, articles in xquad_halves.items():
        for language in ("en", "ro"):
            docs[half], path, _ = prepare(source, work / half, articles, language)
            questions.setdefault(half, []).extend(load_questions(path))
        path, _ = unanswerable(source, work / half, articles)
        unanswered[half] = load_questions(path)
    size = len(sentence_features.FEATURES)  # the features do not depend on the ranker: any one will do
    neutral = extractive.SentenceRanker(np.zeros(size), np.ones(size), np.zeros(size), 0.0, {})
    reader = extractive.shared_reader()
    corpora = [(docs, questions, unanswered, "index")]
    for path in extra:  # each extra corpus: its own index per half, no unanswerable questions
        halves_of = extra_halves(path, work, extra_articles)
        corpora.append(({h: halves_of[h][0] for h in HALVES}, {h: halves_of[h][1] for h in HALVES},
                        {h: [] for h in HALVES}, f"index-{path.name.split('.')[0]}"))
    seen = {}
    for half, other in (("fit", "report"), ("report", "fit"))[:len(halves)]:
        seen[half] = {kind: [] for kind in ("answerable", *NEGATIVES)}
        for folders, asked, impossible, index_name in corpora:
            pipeline = Pipeline(Settings(docs=folders[half], index_dir=work / half / index_name,
                                         embeddings=embeddings))
            pipeline.index(progress=False)
            answerer = extractive.ExtractiveAnswerer(pipeline.embedder, ranker=neutral, reader=reader)
            seen[half]["answerable"] += views(pipeline, answerer, asked[half][::every], "answerable")
            seen[half]["near-topic"] += [v for v in views(pipeline, answerer, asked[half][1::every], "near-topic")
                                         if not v["holds"].any()]
            seen[half]["off-topic"] += views(pipeline, answerer, asked[other][::every], "off-topic")
            seen[half]["unanswerable"] += views(pipeline, answerer, impossible[half], "unanswerable")
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


def logit(view: dict, calibration: dict) -> float:
    return float(np.dot(calibration["weights"], view["inputs"]) + calibration["bias"])


def fit_abstention(fit: dict, wrong: float) -> dict:
    """Logistic weights over EVIDENCE, answerable against off-topic, near-topic and unanswerable questions
    (each side weighing the same), the bias then moved so that `wrong` of the answerable ones fall below 0.5."""
    positive = [v["inputs"] for v in fit["answerable"]]
    negative = [v["inputs"] for kind in NEGATIVES for v in fit[kind]]
    x = np.array(positive + negative)
    y = np.array([1.0] * len(positive) + [-1.0] * len(negative))
    weight = np.where(y > 0, 0.5 / len(positive), 0.5 / len(negative))
    mean, scale = x.mean(0), x.std(0) + 1e-6
    z = (x - mean) / scale

    def loss(w):  # weighted logistic loss with a little L2
        m = y * (z @ w[:-1] + w[-1])
        g = -y * weight / (1 + np.exp(m))
        return np.sum(weight * np.logaddexp(0, -m)) + 1e-3 * w[:-1] @ w[:-1], \
            np.append(z.T @ g + 2e-3 * w[:-1], g.sum())

    w = minimize(loss, np.zeros(x.shape[1] + 1), jac=True, method="L-BFGS-B").x
    weights = w[:-1] / scale
    raw = np.array(positive) @ weights
    # the 0.5 point lets at most `wrong` abstain among questions in the documents' language and among those in
    # another language alike, so that neither kind pays for the other
    crosses = np.array(positive)[:, extractive.EVIDENCE.index("crosses_languages")] > 0.5
    bias = -min(float(np.quantile(raw[group], wrong)) for group in (crosses, ~crosses) if group.sum() >= 20)
    return {"weights": [round(float(v), 5) for v in weights], "bias": round(bias, 5)}


def bolded(view: dict, ranker: extractive.SentenceRanker) -> tuple[float, float] | None:
    """The reader's best span among the answer's sentences, as the answerer picks it: its margin and its F1
    against the expected answer; None when it found none."""
    found = [view["spans"][i] for i in chosen(view, ranker) if view["spans"][i][0] is not None]
    if not found or not view["gold"]:
        return None
    text, margin = max(found, key=lambda s: s[1])
    return margin, max(f1(text, gold) for gold in view["gold"])


def fit_bold(answerable: list[dict], ranker: extractive.SentenceRanker, precision: float) -> float:
    """The lowest reader margin from which `precision` of the spans at or above it are right."""
    found = sorted((b for v in answerable if (b := bolded(v, ranker))), key=lambda b: -b[0])
    right, best = 0, float("inf")
    for n, (margin, score) in enumerate(found, 1):
        right += score >= BOLD_F1
        if right / n >= precision and n >= 20:
            best = margin
    return round(float(best), 3)


def bold_figures(answered: list[dict], ranker: extractive.SentenceRanker) -> dict:
    spans = [b for v in answered if (b := bolded(v, ranker))]
    shown = [score for margin, score in spans if margin >= ranker.bold_margin]
    return {"span_f1": round(float(np.mean([score for _, score in spans] or [0])), 3),
            "bold_precision": round(float(np.mean([s >= BOLD_F1 for s in shown])), 3) if shown else None,
            "bold_coverage": round(len(shown) / len(answered), 3) if answered else None}


def report(seen: dict, ranker: extractive.SentenceRanker, calibration: dict) -> dict:
    """Per question language: accuracy, wrong abstentions, mean words, off- and near-topic abstention, bold."""
    def abstains(v):
        return logit(v, calibration) < 0

    figures = {}
    for language in sorted({v["lang"] for v in seen["answerable"]}):
        mine = {kind: [v for v in seen[kind] if v["lang"] == language] for kind in ("answerable", *NEGATIVES)}
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
            "unanswerable_abstention": round(float(np.mean([abstains(v) for v in mine["unanswerable"]])), 3)
            if mine["unanswerable"] else None,
            **bold_figures(answered, ranker),
        }
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--embeddings", default=Settings.embeddings)
    parser.add_argument("--words", type=float, default=42.0, help="mean answer words to stay under")
    parser.add_argument("--wrong", type=float, default=0.045, help="share of answerable questions let abstain")
    parser.add_argument("--out", type=Path, default=extractive.RANKER_FILE)
    parser.add_argument("--every", type=int, default=1, help="ask every Nth question of each kind (faster)")
    parser.add_argument("--extra", type=Path, action="append", default=[],
                        help="a SQuAD-format file of questions in another language (repeatable)")
    parser.add_argument("--extra-articles", type=int, default=40, help="articles of each --extra file per half")
    parser.add_argument("--bold-precision", type=float, default=0.75,
                        help="share of the fitting half's bolded exact answers that must be right")
    parser.add_argument("--fit-articles", default="1-24", help="XQuAD articles FIRST-LAST to fit on, within 1-24; "
                        "a reader fitted on some of 1-24 (train_reader.py --fitting-articles) needs the others")
    parser.add_argument("--keep-no-reader", action="store_true",
                        help="fit only the models that use the reader; keep those without it as --out has them (they "
                             "read none of its findings, so what the reader has read does not bear on them)")
    parser.add_argument("--fit-only", action="store_true",
                        help="ask only the fitting half; report on it too (the held-out half is left to eval)")
    parser.add_argument("--views", type=Path, help="keep what the answerer saw in this file, and reuse it "
                                                   "when it exists (to refit without asking again)")
    args = parser.parse_args()
    first, last = map(int, args.fit_articles.split("-"))
    if not 1 <= first <= last <= 24:
        parser.error("--fit-articles must lie within 1-24: articles 25-48 are the held-out half")
    xquad_halves = {"fit": slice(first - 1, last), "report": HALVES["report"]}

    # what the views depend on: a --views file made otherwise is refused, not silently fitted on
    made_with = {"source": str(args.source.resolve()), "embeddings": args.embeddings, "every": args.every,
                 "fit_only": args.fit_only, "extra": [str(p.resolve()) for p in args.extra],
                 "extra_articles": args.extra_articles, "fit_articles": [first, last],
                 "reader": {path.name: hashlib.sha256(path.read_bytes()).hexdigest()
                            for path in (WEIGHTS_FILE, META_FILE)}}
    if args.views and args.views.exists():
        kept = pickle.loads(args.views.read_bytes())
        if not isinstance(kept, dict) or kept.get("made_with") != made_with:
            differs = sorted(k for k in made_with if not isinstance(kept, dict)
                             or kept.get("made_with", {}).get(k) != made_with[k])
            sys.exit(f"{args.views} holds views made with other settings ({', '.join(differs)} differ): delete it, "
                     "or name another --views file, to ask the questions again.")
        seen = kept["seen"]
    else:
        work = Path(tempfile.mkdtemp(prefix="train-ranker-"))
        try:
            seen = collect(args.source, work, args.embeddings, args.every,
                           ("fit",) if args.fit_only else tuple(HALVES), tuple(args.extra), args.extra_articles,
                           xquad_halves)
        finally:
            shutil.rmtree(work)
        if args.views:
            args.views.write_bytes(pickle.dumps({"made_with": made_with, "seen": seen}))
    described = (f"XQuAD articles {first}-{last}, English and Romanian questions (every {args.every}), and SQuAD "
                 "2.0's unanswerable questions on them"
                 + "".join(f"; {p.name}: the first {args.extra_articles} articles" for p in args.extra)
                 + ("" if args.fit_only else "; reported on articles 25-48"
                    + "".join(f" and {p.name}'s next {args.extra_articles}" for p in args.extra)))
    models, figures = {}, {}
    if args.keep_no_reader:
        kept = json.loads(args.out.read_text(encoding="utf-8"))
        models["no_reader"] = {**kept["models"]["no_reader"],
                               "fitted_on": kept["models"]["no_reader"].get("fitted_on", kept.get("fitted_on"))}
        figures["no_reader"] = kept["figures"]["no_reader"]
    for variant in ("reader",) if args.keep_no_reader else ("reader", "no_reader"):
        halves = seen if variant == "reader" else without_reader(seen)
        fit = halves["fit"]
        mean, scale, weights = fit_ranker(fit["answerable"])
        margin = 0.0
        for candidate in np.arange(0.0, 3.01, 0.05):
            ranker = extractive.SentenceRanker(mean, scale, weights, float(candidate), {})
            if mean_words(fit["answerable"], ranker) > args.words:
                break
            margin = round(float(candidate), 2)
        ranker = extractive.SentenceRanker(mean, scale, weights, margin, {})
        bold = fit_bold(fit["answerable"], ranker, args.bold_precision) if variant == "reader" else float("inf")
        ranker = extractive.SentenceRanker(mean, scale, weights, margin, {}, bold)
        calibration = fit_abstention(fit, args.wrong)
        models[variant] = {"fitted_on": described, "mean": [round(float(x), 6) for x in mean],
                           "scale": [round(float(x), 6) for x in scale],
                           "weights": [round(float(x), 6) for x in weights], "second_margin": margin,
                           "abstention": {seen["fit"]["model_id"]: calibration},
                           **({"bold_margin": bold} if variant == "reader" else {})}
        figures[variant] = {half: report(halves[half], ranker, calibration) for half in HALVES if half in halves}
    args.out.write_text(json.dumps({
        "embeddings": args.embeddings,
        "features": list(sentence_features.FEATURES), "evidence": list(extractive.EVIDENCE),
        "models": {variant: models[variant] for variant in ("reader", "no_reader")},
        "figures": {variant: figures[variant] for variant in ("reader", "no_reader")},
    }, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(figures, indent=1))
    print(f"Wrote {args.out}")


def without_reader(seen: dict) -> dict:
    """The same views as the answerer sees them with the reader off: its features as for a sentence unread."""
    columns = [sentence_features.FEATURES.index(f) for f in ("reader_read", "reader_margin", "reader_gap",
                                                             "reader_best")]
    unread = np.array([0.0, sentence_features.READER_FLOOR, 0.0, 0.0])
    margin_input = extractive.EVIDENCE.index("reader_margin")
    out = {}
    for half, kinds in seen.items():
        out[half] = {}
        for kind, views in kinds.items():
            if kind == "model_id":
                out[half][kind] = views
                continue
            changed = []
            for view in views:
                rows, inputs = view["rows"].copy(), view["inputs"].copy()
                rows[:, columns] = unread
                inputs[margin_input] = sentence_features.READER_FLOOR
                changed.append({**view, "rows": rows, "inputs": inputs})
            out[half][kind] = changed
    return out


if __name__ == "__main__":
    main()
