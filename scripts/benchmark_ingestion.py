"""Ingestion: the cost of reading each file in a limited process of its own, and a 50-file upload (PDF, DOCX and HTML,
SQuAD train paragraphs, each file distinct) read in parallel with embedding against the same files uploaded one
after another, measured in one run (medians of several rounds, each into a fresh index).

    python scripts/benchmark_ingestion.py [--files 50] [--rounds 3] [--scanned] [--json eval/out/ingestion.json]
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

from app.config import Settings  # noqa: E402
from app.pipeline import Pipeline  # noqa: E402
from index import loading, worker  # noqa: E402
from index.e5_convert import cache_dir  # noqa: E402
from index.formats import pdf  # noqa: E402
from app import xquad  # noqa: E402
from index.worker import ReadLimits  # noqa: E402
from tests.documents import (make_docx, make_pdf, make_scanned_copy, multipage_html, page_html,  # noqa: E402
                             paragraphs_html)



def paragraphs(count: int) -> list[str]:
    """Distinct paragraphs: XQuAD's English ones, then its Romanian ones (480 in all)."""
    found = []
    for language in ("en", "ro"):
        data = json.loads((xquad.DEFAULT_SOURCE / f"xquad.{language}.json").read_text(encoding="utf-8"))["data"]
        found += [p["context"] for article in data for p in article["paragraphs"]]
    if len(found) < count:
        raise SystemExit(f"{count} distinct paragraphs asked for, {len(found)} in XQuAD: use fewer --files")
    return found[:count]


def make_files(folder: Path, count: int, scanned: bool = False) -> list[Path]:
    """count files, a third each PDF (two printed pages), DOCX and HTML, of six distinct paragraphs each; with
    scanned, the PDFs are image-only copies, read by OCR."""
    texts, files = paragraphs(6 * count), []
    for n in range(count):
        mine = texts[6 * n:6 * n + 6]
        kind = ("pdf", "docx", "html")[n % 3]
        out = folder / f"file-{n:02d}.{kind}"
        if kind == "pdf":
            make_pdf(multipage_html(["\n\n".join(mine[:3]), "\n\n".join(mine[3:])], f"Report {n}"), out)
            if scanned:
                make_scanned_copy(out, out.with_suffix(".scan.pdf"), dpi=200)
                out.with_suffix(".scan.pdf").replace(out)
        elif kind == "docx":
            make_docx(out, [("h1", f"Report {n}"), *mine])
        else:
            out.write_text(page_html(f"<h1>Report {n}</h1>{paragraphs_html(chr(10).join(mine))}"), encoding="utf-8")
        files.append(out)
    return files


def reading_overhead(files: list[Path], rounds: int) -> dict:
    """Per file: read in this process, and in the (warm) reading process, alternately; medians by format."""
    by_kind: dict[str, dict[str, list[float]]] = {}
    for _ in range(rounds):
        for path in files:
            data, times = path.read_bytes(), by_kind.setdefault(path.suffix[1:], {"in_process": [], "isolated": []})
            for mode, limits in (("in_process", ReadLimits(isolated=False)), ("isolated", ReadLimits())):
                forget_ocr()
                loading.read("warm.md", b"A first file starts the reading process.")
                pdf._ocr_cache.clear()
                started = time.perf_counter()
                loading.read(path.name, data, limits=limits)
                times[mode].append(1000 * (time.perf_counter() - started))
    return {kind: {"in_process_ms": round(statistics.median(t["in_process"]), 1),
                   "isolated_ms": round(statistics.median(t["isolated"]), 1),
                   "overhead_ms": round(statistics.median(t["isolated"]) - statistics.median(t["in_process"]), 1)}
            for kind, t in by_kind.items()}


def forget_ocr() -> None:
    """Scanned pages are read by OCR once and kept (in the reading processes, and on disk): forget them, so that
    every upload reads them."""
    while worker._idle:
        worker._idle.pop().close()
    shutil.rmtree(cache_dir() / "ocr", ignore_errors=True)


def upload_seconds(files: list[Path], tmp: Path, together: bool) -> tuple[float, int]:
    """Seconds to upload the files into a fresh index (models loaded and a reading process started beforehand):
    in one upload, or one upload a file; and the passages embedded."""
    docs = Path(tempfile.mkdtemp(dir=tmp))
    pipeline = Pipeline(Settings(docs=docs, index_dir=Path(tempfile.mkdtemp(dir=tmp))))
    pipeline.index(progress=False)
    pipeline.embedder.embed_documents(["A warm-up passage."])
    forget_ocr()
    loading.read("warm.md", b"A first file starts the reading process.")
    named = [(path.name, path) for path in files]
    started = time.perf_counter()
    reports = [pipeline.upload(named)] if together else [pipeline.upload([item]) for item in named]
    seconds = time.perf_counter() - started
    assert all(not r.refused for r in reports), [r.refused for r in reports]
    return seconds, sum(r.passages for r in reports)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scanned", action="store_true", help="the PDFs as scans, read by OCR")
    parser.add_argument("--json", type=Path, default=ROOT / "eval" / "out" / "ingestion.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "files").mkdir()
        files = make_files(tmp / "files", args.files, args.scanned)
        overhead = reading_overhead(files, args.rounds)
        one_by_one, together, passages = [], [], 0
        for _ in range(args.rounds):  # alternated, so that the machine's noise falls on both alike
            seconds, passages = upload_seconds(files, tmp, together=False)
            one_by_one.append(seconds)
            together.append(upload_seconds(files, tmp, together=True)[0])
    result = {"files": args.files, "scanned_pdfs": args.scanned, "passages": passages, "reading": overhead,
              "one_after_another_s": round(statistics.median(one_by_one), 2),
              "parallel_s": round(statistics.median(together), 2),
              "ratio": round(statistics.median(together) / statistics.median(one_by_one), 3),
              "rounds": {"one_after_another_s": [round(s, 2) for s in one_by_one],
                         "parallel_s": [round(s, 2) for s in together]}}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
