"""Finds the extractive answerer's abstention threshold on XQuAD, and checks it on the seed questions.

Answerable: English questions on 40 XQuAD articles, asked of those articles (Romanian paragraphs).
Unanswerable: the questions of the 8 held-out articles, asked of the same index.
For each threshold it prints the share of unanswerable questions that abstain (recall) and of
answerable ones that abstain wrongly; the pick maximises their balance (recall - false rate).
"""
import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.config import Settings  # noqa: E402
from app.evaluation import load_questions  # noqa: E402
from app.pipeline import Pipeline  # noqa: E402
from app.xquad import DEFAULT_SOURCE, prepare  # noqa: E402


def best_scores(pipeline: Pipeline, questions: list[str]) -> np.ndarray:
    answerer = pipeline.answerer
    return np.array([answerer.candidates(q, pipeline.retriever.search(q))[0].score for q in questions])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--every", type=int, default=4, help="use every Nth answerable question")
    parser.add_argument("--embeddings", default=Settings.embeddings)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="calibrate-"))
    try:
        docs, answerable, _ = prepare(args.source, work / "in", slice(0, 40))
        _, held_out, _ = prepare(args.source, work / "out", slice(40, None))
        pipeline = Pipeline(Settings(docs=docs, index_dir=work / "index", embeddings=args.embeddings))
        pipeline.index()
        yes = best_scores(pipeline, [q.question for q in load_questions(answerable)][::args.every])
        no = best_scores(pipeline, [q.question for q in load_questions(held_out)])

        seed = Pipeline(Settings(index_dir=work / "seed-index", embeddings=args.embeddings))
        seed.index(progress=False)
        seed_questions = load_questions(Path("eval/seed_questions.yaml"))
        seed_yes = best_scores(seed, [q.question for q in seed_questions if not q.abstain])
        seed_no = best_scores(seed, [q.question for q in seed_questions if q.abstain])
    finally:
        shutil.rmtree(work)

    print(f"XQuAD: {len(yes)} answerable, {len(no)} unanswerable; seed: {len(seed_yes)} and {len(seed_no)}")
    print("threshold  xquad-recall  xquad-false  seed-recall  seed-false")
    thresholds = np.quantile(np.concatenate([yes, no]), np.linspace(0.02, 0.98, 60))
    balance = [np.mean(no < t) - np.mean(yes < t) for t in thresholds]
    for t in thresholds[::4]:
        print(f"{t:9.3f}  {np.mean(no < t):12.3f}  {np.mean(yes < t):11.3f}  "
              f"{np.mean(seed_no < t):11.3f}  {np.mean(seed_yes < t):10.3f}")
    pick = thresholds[int(np.argmax(balance))]
    print(f"balanced optimum: {pick:.3f} (recall {np.mean(no < pick):.3f}, "
          f"false {np.mean(yes < pick):.3f}); in use: {seed.answerer.min_score}")


if __name__ == "__main__":
    main()
