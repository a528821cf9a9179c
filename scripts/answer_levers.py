"""What each part of the extractive answerer adds on XQuAD: accuracy, mean answer words, abstention.

Runs the English and the Romanian questions (python -m app xquad, both languages) over one index of
the 48 articles with four answerers, each adding one part to the one before:
1. the previous answerer: the sentence with the best evidence score, one threshold for all questions;
2. the learned sentence ranker picks the sentence;
3. a second sentence when it ranks close to the first;
4. thresholds per language relation, with names and numbers the passages lack (the default).
With --split test only the articles the ranker was not fitted on are asked (25-48).
"""
import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app import evaluation  # noqa: E402
from app.answerers import extractive, sentence_features  # noqa: E402
from app.config import Settings  # noqa: E402
from app.pipeline import Pipeline  # noqa: E402

FEATURES = sentence_features.FEATURES


def previous_ranker() -> extractive.SentenceRanker:
    """Orders sentences by the evidence score itself: half sentence similarity, half passage score, shared words."""
    weights = np.zeros(len(FEATURES))
    weights[FEATURES.index("similarity")] = 1 - extractive.ExtractiveAnswerer.PASSAGE_WEIGHT
    weights[FEATURES.index("passage_score")] = extractive.ExtractiveAnswerer.PASSAGE_WEIGHT
    weights[FEATURES.index("word_overlap")] = extractive.ExtractiveAnswerer.OVERLAP_WEIGHT
    return extractive.SentenceRanker(np.zeros(len(FEATURES)), np.ones(len(FEATURES)), weights, 0.0, {})


class OneThreshold(extractive.ExtractiveAnswerer):
    """The evidence score against one threshold, whatever the question's language."""

    @staticmethod
    def evidence(question, passages, candidates):
        return max(c.score for c in candidates), "cross"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--xquad", type=Path, default=Path("eval/xquad"))
    parser.add_argument("--index-dir", type=Path, default=Path(".rag-index-xquad"))
    parser.add_argument("--split", default="all", choices=("all", "test"))
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()

    pipeline = Pipeline(Settings(docs=args.xquad / "docs", index_dir=args.index_dir))
    pipeline.index(progress=False)
    embedder, fitted = pipeline.embedder, extractive.SentenceRanker.load()
    previous = embedder.answer_threshold  # the one threshold the previous answerer used, whatever the language
    one = {"same": previous, "cross": previous,
           "slope": fitted.abstention[embedder.model_id]["slope"]}
    steps = {
        "1 previous: best evidence score, one threshold": (OneThreshold, previous_ranker()),
        "2 + learned sentence ranker": (OneThreshold, replace(fitted, second_margin=0.0)),
        "3 + a close second sentence": (OneThreshold, fitted),
        "4 + thresholds per language relation (default)": (extractive.ExtractiveAnswerer, fitted),
    }
    figures = {}
    for language, file in (("en", "questions.yaml"), ("ro", "questions.ro.yaml")):
        questions = evaluation.split(evaluation.load_questions(args.xquad / file), args.split)
        for step, (kind, ranker) in steps.items():
            answerer = kind(embedder, ranker=ranker)
            if kind is OneThreshold:
                answerer.calibration = one
            pipeline._answerers["extractive"] = answerer
            results = evaluation.run(pipeline, questions, progress=False)
            summary = evaluation.summarize(results)
            abstained = sum(r.abstained for r in results) / len(results)
            figures.setdefault(language, {})[step] = {**summary, "abstained": round(abstained, 4),
                                                      "losses": evaluation.losses(results)}
            print(f"{language}  {step:50}  accuracy {summary['answer_accuracy']:.3f}  "
                  f"words {summary['answer_words']:5.1f}  abstained {abstained:.3f}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
