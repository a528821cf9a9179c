"""Measures what the source panel and scoped questions cost, and how exactly the highlights fit.

    python scripts/benchmark_sources.py [PDF ...] [--passages 10000] [--out results.json]

- Highlight fit: every sentence of each PDF (eval/documents/*.pdf when none is named) is boxed as a quote would
  be, and PDFium reads back the text inside the boxes; a sentence counts when that text is the sentence.
- Page render: opening a cited page (text layout on the first call, then the page drawn with its highlights).
- Filtered search: the store's search over N passages (10 files of N/10, plus one of 100), unfiltered and limited
  to one file, to the small file, and to half of the files; vectors are unit vectors near the stored ones.
"""
import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.config import Settings  # noqa: E402
from app.pipeline import Pipeline  # noqa: E402
from index.chunking import Chunk  # noqa: E402
from index.formats import pdf  # noqa: E402
from index.loading import Document  # noqa: E402
from index.text import sentence_spans  # noqa: E402


def _ms(times: list[float]) -> dict:
    times = sorted(1000 * t for t in times)
    return {"p50_ms": round(times[len(times) // 2], 1), "p95_ms": round(times[int(0.95 * (len(times) - 1))], 1)}


def highlight_fit(path: Path) -> dict:
    data = path.read_bytes()
    text, placed = pdf.layout(path.name, data)
    document = pdfium.PdfDocument(data)
    fitted, total, misses = 0, 0, []
    for start, end in sentence_spans(text):
        wanted = " ".join(text[start:end].split())
        if not wanted:
            continue
        total += 1
        found = [document[b.page].get_textpage().get_text_bounded(b.left, b.bottom, b.right, b.top)
                 for b in pdf.boxes(data, placed, start, end)]
        got = " ".join(" ".join(found).split())
        if got == wanted or got.replace("- ", "-") == wanted:
            fitted += 1
        else:
            misses.append({"sentence": wanted[:120], "boxed": got[:120]})
    document.close()
    return {"pdf": path.name, "sentences": total, "fitted": fitted, "fit": round(fitted / total, 4),
            "misses": misses[:5]}


def render_times(path: Path, folder: Path) -> dict:
    docs = folder / "docs"
    docs.mkdir()
    (docs / path.name).write_bytes(path.read_bytes())
    pipeline = Pipeline(Settings(docs=docs, index_dir=folder / "index"))
    pipeline.index(progress=False)
    record = pipeline.store.files()[path.name]
    text, _ = pdf.layout(path.name, path.read_bytes())
    quote = next((s, e) for s, e in sentence_spans(text) if text[s:e].strip())
    begun = time.perf_counter()
    pipeline.sources.view(path.name, 1, [quote])
    first = time.perf_counter() - begun
    pages = []
    for page in range(1, record.pages + 1):
        begun = time.perf_counter()
        pipeline.sources.view(path.name, page, [quote])
        pages.append(time.perf_counter() - begun)
    return {"pdf": path.name, "pages": record.pages, "first_open_ms": round(1000 * first, 1), **_ms(pages)}


def filtered_search(passages: int, folder: Path, queries: int = 200) -> dict:
    pipeline = Pipeline(Settings(docs=folder / "docs", index_dir=folder / "index"))
    rng = np.random.default_rng(0)
    dims = len(pipeline.embedder.query_vector("dimension probe"))
    files = {f"part{n}.txt": passages // 10 for n in range(10)} | {"small.txt": 100}
    stored = []
    for source, count in files.items():
        vectors = rng.normal(size=(count, dims)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        document = Document(source, "", f"synthetic-{source}")
        chunks = [Chunk(source, i, 0, 10, f"passage {i} of {source}") for i in range(count)]
        pipeline.store.begin_file(document, count, None)
        for i in range(0, count, 1000):
            pipeline.store.add_chunks(document, chunks[i:i + 1000], vectors[i:i + 1000].tolist())
        pipeline.store.finish_file(document, count)
        stored.append(vectors)
    everything = np.concatenate(stored)
    picked = everything[rng.integers(0, len(everything), queries)]
    asked = picked + rng.normal(0, 0.03, picked.shape).astype(np.float32)
    asked /= np.linalg.norm(asked, axis=1, keepdims=True)
    scopes = {"all": None, "one file": ["part0.txt"], "small file (100)": ["small.txt"],
              "half the files": [f"part{n}.txt" for n in range(5)]}
    k = pipeline.settings.top_k
    for vector in asked[:20]:  # warm-up
        pipeline.store.search(vector.tolist(), k)
    found = {}
    for name, sources in scopes.items():
        times = []
        for vector in asked:
            begun = time.perf_counter()
            hits = pipeline.store.search(vector.tolist(), k, sources)
            times.append(time.perf_counter() - begun)
            assert len(hits) == k and (sources is None or all(c.source in sources for c, _ in hits))
        found[name] = _ms(times)
    base = found["all"]["p50_ms"]
    for name in scopes:
        found[name]["vs_all"] = round(found[name]["p50_ms"] / base, 2)
    return {"passages": pipeline.store.count(), **found}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("pdfs", nargs="*", type=Path)
    parser.add_argument("--passages", type=int, default=10_000)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    pdfs = args.pdfs or sorted(Path("eval/documents").glob("*.pdf"))
    results = {"highlights": [highlight_fit(p) for p in pdfs]}
    with tempfile.TemporaryDirectory() as folder:
        results["render"] = [render_times(p, Path(tempfile.mkdtemp(dir=folder))) for p in pdfs]
        results["filtered_search"] = filtered_search(args.passages, Path(tempfile.mkdtemp(dir=folder)))
    text = json.dumps(results, indent=1, ensure_ascii=False)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
