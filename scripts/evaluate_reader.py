"""The span reader alone on XQuAD, its paragraph given: exact match, F1 and sentence accuracy, and how well its
no-answer margin tells a question's own paragraph from another paragraph of the same article (near-topic).

The reader was fitted on SQuAD v1.1 train, PIAF, TyDi QA (English) and FaQuAD, none of which shares an article with
XQuAD, and on no XQuAD question (its only XQuAD-related data are SQuAD 2.0's unanswerable questions on articles 1-24),
so every question here is unseen. A reader fitted with --translated-share has seen articles 1-24 (Romanian
paragraphs): evaluate it with --articles 25-48.
Three settings: English questions over English paragraphs, Romanian over Romanian, and English over Romanian
(the app's cross-lingual case). EM and F1 as SQuAD's evaluation script computes them (accents folded).
For the English questions, also how well the margin tells them from SQuAD 2.0's unanswerable questions on the same
paragraphs (English, or the Romanian translation for en→ro): unanswerable AUC.
"""
import argparse
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.answerers.reader import WEIGHTS_FILE, Reader  # noqa: E402
from app.evaluation import exact_match, f1  # noqa: E402
from app.xquad import DEFAULT_SOURCE, unanswerable_pairs  # noqa: E402
from index.text import sentence_spans  # noqa: E402

SETTINGS = {"en→en": ("en", "en"), "ro→ro": ("ro", "ro"), "en→ro": ("en", "ro")}


def auc(positive: list[float], negative: list[float]) -> float:
    """The chance that an answerable pair's margin beats a negative pair's (ties count half)."""
    pos, neg = np.array(positive)[:, None], np.array(negative)[None, :]
    return float(np.mean((pos > neg) + 0.5 * (pos == neg)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--weights", type=Path, default=WEIGHTS_FILE)
    parser.add_argument("--precision", choices=("float32", "int8"), help="of the fitted layers (default: as the "
                        "weights' reader.json says)")
    parser.add_argument("--every", type=int, default=1, help="read every Nth question")
    parser.add_argument("--articles", default="1-48", help="XQuAD articles FIRST-LAST (default: %(default)s)")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()

    first, last = map(int, args.articles.split("-"))
    data = {lang: json.loads((args.source / f"xquad.{lang}.json").read_text(encoding="utf-8"))["data"][first - 1:last]
            for lang in ("en", "ro")}
    pairs = unanswerable_pairs(args.source, slice(first - 1, last))
    unanswerable = {"en": [(q, en) for q, en, _ in pairs], "ro": [(q, ro) for q, _, ro in pairs]}
    reader = Reader(args.weights, args.precision)
    rng = random.Random(7)
    figures = {}
    for name, (asked, shown) in SETTINGS.items():
        ems, f1s, sentences, answerable, near, seconds = [], [], [], [], [], []
        count = 0
        for article_q, article_p in zip(data[asked], data[shown]):
            contexts = [p["context"] for p in article_p["paragraphs"]]
            for k, (par_q, par_p) in enumerate(zip(article_q["paragraphs"], article_p["paragraphs"])):
                for qa_q, qa_p in zip(par_q["qas"], par_p["qas"]):
                    count += 1
                    if count % args.every:
                        continue
                    context, gold = par_p["context"], qa_p["answers"][0]
                    other = rng.choice([j for j in range(len(contexts)) if j != k]) if len(contexts) > 1 else None
                    texts = [context] + ([contexts[other]] if other is not None else [])
                    spans = [list(sentence_spans(t)) for t in texts]
                    began = time.perf_counter()
                    found = reader.read(qa_q["question"], texts, spans)
                    seconds.append(time.perf_counter() - began)
                    own = [s for s in found[0] if s is not None]
                    best = max(own, key=lambda s: s.margin)
                    predicted = context[best.start:best.end]
                    ems.append(exact_match(predicted, gold["text"]))
                    f1s.append(f1(predicted, gold["text"]))
                    answer_at = context.find(gold["text"])
                    holding = [(s, e) for s, e in spans[0] if s <= answer_at < e]
                    sentences.append(float(bool(holding) and holding[0][0] <= best.start < holding[0][1]))
                    answerable.append(best.margin)
                    if other is not None:
                        near.append(max(s.margin for s in found[1] if s is not None))
        threshold = float(np.quantile(answerable, 0.1))
        figures[name] = {"questions": len(ems), "em": round(100 * np.mean(ems), 1), "f1": round(100 * np.mean(f1s), 1),
                         "sentence_accuracy": round(float(np.mean(sentences)), 3),
                         "near_topic_auc": round(auc(answerable, near), 3),
                         "near_topic_rejected_at_90pct_kept": round(float(np.mean(np.array(near) < threshold)), 3),
                         "seconds_per_question_median": round(float(np.median(seconds)), 4)}
        if asked == "en" and unanswerable[shown]:  # some articles have none
            margins = [max(s.margin for s in reader.read(question, [context], [list(sentence_spans(context))])[0]
                           if s is not None)
                       for question, context in unanswerable[shown][::args.every]]
            figures[name].update({"unanswerable_questions": len(margins),
                                  "unanswerable_auc": round(auc(answerable, margins), 3),
                                  "unanswerable_rejected_at_90pct_kept":
                                      round(float(np.mean(np.array(margins) < threshold)), 3)})
        print(name, json.dumps(figures[name]), flush=True)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
