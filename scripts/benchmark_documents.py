"""Measures reading each document format and indexing a long PDF, as users' uploads are read and indexed.

python scripts/benchmark_documents.py [--pages 100] [--rounds 3]
Parse time per format on eval/documents/; then a PDF of --pages pages printed by Chromium (with its
header and footer) from the XQuAD Romanian paragraphs, uploaded into an empty index: parse, chunk and
embed, with the share of time outside the embedder.
"""
import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app import xquad  # noqa: E402
from app.config import Settings  # noqa: E402
from app.pipeline import Pipeline  # noqa: E402
from index import formats  # noqa: E402
from tests.documents import make_pdf, multipage_html  # noqa: E402


def parse_times(folder: Path, rounds: int) -> list[dict]:
    rows = []
    for path in sorted(folder.iterdir()):
        data = path.read_bytes()
        formats.extract(path.name, data)  # imports the parser once, outside the timing
        times = []
        for _ in range(rounds):
            started = time.perf_counter()
            extracted = formats.extract(path.name, data)
            times.append(time.perf_counter() - started)
        rows.append({"file": path.name, "type": extracted.kind, "kb": round(len(data) / 1024),
                     "pages": len(extracted.pages) or None, "chars": len(extracted.text),
                     "parse_ms": round(statistics.median(times) * 1000, 1)})
    return rows


def long_pdf(pages: int, out: Path) -> Path:
    """pages pages of real prose: the XQuAD Romanian paragraphs, about two to a page."""
    source = json.loads((xquad.DEFAULT_SOURCE / "xquad.ro.json").read_text(encoding="utf-8"))
    paragraphs = [p["context"] for article in source["data"] for p in article["paragraphs"]]
    text = [f"# Capitolul {i + 1}\n\n" + "\n\n".join(paragraphs[(2 * i) % len(paragraphs):(2 * i) % len(paragraphs) + 2])
            for i in range(pages)]
    return make_pdf(multipage_html(text, "Raport"), out)


class TimedEmbedder:
    """Wraps the pipeline's embedder to count the seconds spent embedding passages."""

    def __init__(self, embedder):
        self.inner, self.seconds = embedder, 0.0

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def embed_documents(self, texts):
        started = time.perf_counter()
        try:
            return self.inner.embed_documents(texts)
        finally:
            self.seconds += time.perf_counter() - started


def index_pdf(pdf: Path) -> dict:
    work = Path(tempfile.mkdtemp(prefix="bench-documents-"))
    try:
        (work / "docs").mkdir()
        pipeline = Pipeline(Settings(docs=work / "docs", index_dir=work / "index"))
        timed = TimedEmbedder(pipeline.embedder)
        pipeline.embedder = timed
        started = time.perf_counter()
        data = pdf.read_bytes()
        parsed = formats.extract(pdf.name, data)
        parse = time.perf_counter() - started
        started = time.perf_counter()
        report = pipeline.upload([(pdf.name, pdf)])
        total = time.perf_counter() - started
        return {"pages": len(parsed.pages), "passages": report.passages, "characters": len(parsed.text),
                "parse_s": round(parse, 2), "upload_s": round(total, 1), "embed_s": round(timed.seconds, 1),
                "outside_embedder_share": round(1 - timed.seconds / total, 3),
                "passages_per_s": round(report.passages / total, 1)}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print("file | type | KB | pages | characters | parse ms (median)")
    for row in parse_times(ROOT / "eval/documents", args.rounds):
        print(f"{row['file']} | {row['type']} | {row['kb']} | {row['pages'] or ''} | {row['chars']} | {row['parse_ms']}")
    with tempfile.TemporaryDirectory() as tmp:
        pdf = long_pdf(args.pages, Path(tmp) / f"report-{args.pages}-pages.pdf")
        result = index_pdf(pdf)
    print(f"\n{args.pages}-page PDF uploaded into an empty index: " + json.dumps(result))


if __name__ == "__main__":
    main()
