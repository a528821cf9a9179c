"""How often the default answerer abstains on XQuAD questions the index can and cannot answer, per language.

The index holds the Romanian paragraphs of articles 1-40; answerable: those articles' questions; held out:
the questions of articles 41-48, which the index lacks. English and Romanian questions are counted apart.
The answerer was fitted on articles 1-24 (scripts/train_answer_ranker.py), so articles 25-48 are unseen.
"""
import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.config import Settings  # noqa: E402
from app.evaluation import load_questions  # noqa: E402
from app.pipeline import Pipeline  # noqa: E402
from app.xquad import DEFAULT_SOURCE, prepare  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--every", type=int, default=2, help="ask every Nth answerable question")
    parser.add_argument("--embeddings", default=Settings.embeddings)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="abstention-"))
    try:
        print("language  answerable  wrongly abstained  held out  abstained")
        pipeline = None
        for language in ("en", "ro"):
            docs, answerable, _ = prepare(args.source, work / "in", slice(0, 40), language)
            _, held_out, _ = prepare(args.source, work / "out", slice(40, None), language)
            if pipeline is None:
                pipeline = Pipeline(Settings(docs=docs, index_dir=work / "index", embeddings=args.embeddings))
                pipeline.index(progress=False)
            yes = [pipeline.ask(q.question).abstained for q in load_questions(answerable)[::args.every]]
            no = [pipeline.ask(q.question).abstained for q in load_questions(held_out)]
            print(f"{language:8}  {len(yes):10}  {sum(yes) / len(yes):17.3f}  {len(no):8}  {sum(no) / len(no):9.3f}")
    finally:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
