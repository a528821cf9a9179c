"""Measures index build time for a documents folder and warm `ask` latency over a question file."""
import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.config import Settings  # noqa: E402
from app.evaluation import load_questions  # noqa: E402
from app.pipeline import Pipeline  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--docs", type=Path, default=Path("seeds"))
    parser.add_argument("--questions", type=Path, default=Path("eval/seed_questions.yaml"))
    parser.add_argument("--embeddings", default=Settings.embeddings)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    builds, latencies = [], []
    questions = [q.question for q in load_questions(args.questions)]
    for _ in range(args.rounds):
        index_dir = Path(tempfile.mkdtemp(prefix="bench-index-"))
        try:
            started = time.perf_counter()
            pipeline = Pipeline(Settings(docs=args.docs, index_dir=index_dir, embeddings=args.embeddings))
            report = pipeline.index(progress=False)
            builds.append(time.perf_counter() - started)
            passages = pipeline.store.count()
            pipeline.ask(questions[0])  # warm-up: first query pays one-off costs
            pipeline.embedder.query_vector.cache_clear()  # each round embeds its questions afresh
            for question in questions:
                started = time.perf_counter()
                pipeline.ask(question)
                latencies.append((time.perf_counter() - started) * 1000)
        finally:
            shutil.rmtree(index_dir)
    latencies.sort()
    print(f"documents: {args.docs} ({len(report.added)} files, {passages} passages), "
          f"embeddings: {pipeline.embedder.model_id}")
    print(f"index build (open store + embed + write), median of {args.rounds}: "
          f"{statistics.median(builds):.2f} s (runs: {', '.join(f'{b:.2f}' for b in builds)})")
    print(f"warm ask latency over {len(latencies)} asks: p50 {latencies[len(latencies) // 2]:.1f} ms, "
          f"p95 {latencies[int(len(latencies) * 0.95)]:.1f} ms, max {latencies[-1]:.1f} ms")


if __name__ == "__main__":
    main()
