"""Sentence vectors kept at indexing (`--sentence-vectors on`) against embedding them at question time
(`off`): the indexing cost, on the XQuAD Romanian paragraphs, and the warm answer latency over 10,000 distinct
passages (SQuAD train paragraphs), measured in one run.

At 10,000 passages the passage vectors are random unit vectors (so every question retrieves passages it has not
seen before, as a large corpus does), and with `on` each passage's sentences are stored with random vectors too:
the latency of looking them up, or of embedding them, does not depend on what the vectors hold.

    python scripts/benchmark_sentence_vectors.py [--passages 10000] [--questions 200]
"""
import argparse
import gzip
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from app import xquad  # noqa: E402
from app.config import Settings  # noqa: E402
from app.pipeline import Pipeline  # noqa: E402
from index.chunking import Chunk  # noqa: E402
from index.loading import Document  # noqa: E402
from index.text import answer_sentences  # noqa: E402

SQUAD = ROOT.parent / "shared" / "datasets" / "squad" / "train-v1.1.en.json.gz"  # not shipped: see --squad


def percentiles(ms: list[float]) -> dict:
    ms = sorted(ms)
    return {"p50_ms": round(statistics.median(ms), 1), "p95_ms": round(ms[int(0.95 * (len(ms) - 1))], 1)}


def indexing_cost(tmp: Path, articles: int) -> dict:
    docs, _, _ = xquad.prepare(xquad.DEFAULT_SOURCE, tmp / "xquad", slice(0, articles))
    out = {}
    for keep in (False, True):
        pipeline = Pipeline(Settings(docs=docs, index_dir=tmp / f"index-{keep}", sentence_vectors=keep))
        started = time.perf_counter()
        report = pipeline.index(progress=False)
        out["on" if keep else "off"] = {"seconds": round(time.perf_counter() - started, 1),
                                        "passages": report.chunks_embedded,
                                        "sentences": pipeline.store._sentences.count()}
    out["ratio"] = round(out["on"]["seconds"] / out["off"]["seconds"], 2)
    return out


def latency_at_scale(tmp: Path, passages: int, questions: int, reader: bool = True, squad: Path = SQUAD) -> dict:
    data = json.load(gzip.open(squad))
    paragraphs, asked = [], []
    for article in data["data"]:
        for paragraph in article["paragraphs"]:
            if len(paragraphs) < passages and paragraph["context"] not in paragraphs[-1:]:
                paragraphs.append(paragraph["context"])
                asked += [qa["question"] for qa in paragraph["qas"][:1]]
    paragraphs = list(dict.fromkeys(paragraphs))[:passages]
    rng = np.random.default_rng(0)
    picked = rng.choice(len(asked), size=min(questions, len(asked)), replace=False)
    asked = [asked[i] for i in picked]
    out = {"passages": len(paragraphs), "questions": len(asked)}
    for keep in (False, True):
        pipeline = Pipeline(Settings(docs=tmp / "squad", index_dir=tmp / f"scale-{keep}", sentence_vectors=keep,
                                     reader=reader))
        dim = len(pipeline.embedder.query_vector("dimension"))
        for first in range(0, len(paragraphs), 1000):
            texts = paragraphs[first:first + 1000]
            part = Document(f"part{first // 1000}.txt", "", f"squad-{first}")
            chunks = [Chunk(part.source, n, 0, len(t), t) for n, t in enumerate(texts)]
            vectors = rng.normal(size=(len(chunks), dim)).astype(np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            pipeline.store.begin_file(part, len(chunks), None)
            pipeline.store.add_chunks(part, chunks, vectors.tolist())
            if keep:
                sentences = list(dict.fromkeys(t[s:e] for t in texts for s, e in answer_sentences(t)))
                kept = rng.normal(size=(len(sentences), dim)).astype(np.float32)
                kept /= np.linalg.norm(kept, axis=1, keepdims=True)
                pipeline.store.add_sentences(part.source, sentences, kept.tolist())
            pipeline.store.finish_file(part, len(chunks))
        pipeline.ask("What is this about?")  # warm: models loaded, first search done
        ms = []
        for question in asked:
            begun = time.perf_counter()
            pipeline.ask(question)
            ms.append((time.perf_counter() - begun) * 1000)
        out["on" if keep else "off"] = {**percentiles(ms), "sentences_kept": pipeline.store._sentences.count()}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--passages", type=int, default=10_000)
    parser.add_argument("--squad", type=Path, default=SQUAD, help="SQuAD v1.1 train (train-v1.1.en.json.gz, "
                        "87,599 questions; not shipped), whose paragraphs and questions make the large corpus")
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--articles", type=int, default=48, help="XQuAD articles indexed for the indexing cost")
    parser.add_argument("--reader", choices=("on", "off"), default="on", help="the span reader, as --reader")
    parser.add_argument("--latency-only", action="store_true", help="leave the indexing cost out")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-sentences-") as tmp:
        results = {} if args.latency_only else {"indexing": indexing_cost(Path(tmp), args.articles)}
        results["latency"] = latency_at_scale(Path(tmp), args.passages, args.questions, args.reader == "on",
                                              args.squad)
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
