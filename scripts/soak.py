"""Soak test on 127.0.0.1: users ask the seed questions while others upload, ask about and delete documents, in a loop,
for --seconds (default 30 minutes) against one running app.

Starts the app over a copy of seeds/ (or takes --url and --pid of one running on this machine). Each asking user asks
the seed questions in turn; an answer is right when it equals the one the app gave that question alone at the start.
Each uploading user, in a loop, uploads a small PDF, DOCX or HTML file holding a fact of its own, asks for the fact
(right when the answer quotes it), deletes the file and checks that the fact is no longer answered. Every
--sample seconds the server's resident memory and open file descriptors are recorded.

Reports failures, wrong answers, p50/p95 of the questions, the growth of memory and descriptors from the end of
the warm-up (the first 5 minutes, or a sixth of a shorter run) to the end, and memory's trend after the warm-up in
percent per 10 minutes; exits 1 when there is a failure, a wrong answer, a growth above --max-growth (10%), or, over
10 minutes or more after the warm-up, a trend above --max-slope (1%).

    python scripts/soak.py [--seconds 1800] [--askers 4] [--uploaders 2] [--json eval/out/soak.json]
"""
import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.evaluation import load_questions  # noqa: E402
from scripts.load_test import percentile, rss_mb, start_app  # noqa: E402

KINDS = ("pdf", "docx", "html")


def open_files(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def make_document(folder: Path, user: int, round_: int) -> tuple[Path, str, str]:
    """A small file with a fact no other holds: (its path, the question, the number that answers it)."""
    from tests.documents import make_docx, make_pdf, page_html

    number = f"{1000 + 97 * user + round_:,}"
    station = f"station {user}-{round_}"
    fact = f"The pumping {station} of the Eastport utility moved {number} cubic metres of water in May."
    filler = ("The station is inspected every spring by the city's own crew, who check the valves, the meters "
              "and the backup generators, and write what they find in the maintenance log.")
    kind = KINDS[round_ % len(KINDS)]
    path = folder / f"soak-{user}-{round_ % 7}.{kind}"
    if kind == "pdf":
        make_pdf(page_html(f"<p>{fact}</p><p>{filler}</p>"), path)
    elif kind == "docx":
        make_docx(path, [fact, filler])
    else:
        path.write_text(page_html(f"<p>{fact}</p><p>{filler}</p>"), encoding="utf-8")
    return path, f"How many cubic metres of water did the pumping {station} move in May?", number


def run(url: str, pid: int, questions: list[str], seconds: float, askers: int, uploaders: int, sample: float,
        warm_up: float, work: Path) -> dict:
    from gradio_client import Client, handle_file

    client = Client(url, verbose=False)
    alone = {q: client.predict(q, api_name="/ask")["answer"] for q in dict.fromkeys(questions)}
    lock, stop_at = threading.Lock(), time.monotonic() + seconds
    latencies, failures, wrong, samples, cycles = [], [], [], [], [0]

    def fail(what: str, exc: Exception) -> None:
        with lock:
            failures.append(f"{what}: {type(exc).__name__}: {exc}"[:300])

    def asker(number: int) -> None:
        own, k = Client(url, verbose=False), number
        while time.monotonic() < stop_at:
            question = questions[k % len(questions)]
            k += 1
            started = time.perf_counter()
            try:
                answer = own.predict(question, api_name="/ask")["answer"]
            except Exception as exc:  # every failure is counted and shown, whatever it is
                fail(question, exc)
                continue
            with lock:
                latencies.append(1000 * (time.perf_counter() - started))
                if answer != alone[question]:
                    wrong.append(f"{question}: {answer[:100]!r}")

    def uploader(number: int) -> None:
        own, folder, round_ = Client(url, verbose=False), work / f"uploads-{number}", 0
        folder.mkdir()
        while time.monotonic() < stop_at:
            path, question, number_said = make_document(folder, number, round_)
            round_ += 1
            try:
                report = own.predict([handle_file(path)], api_name="/upload")
                answer = own.predict(question, api_name="/ask")["answer"]
                own.predict(path.name, api_name="/delete")
                after = own.predict(question, api_name="/ask")
            except Exception as exc:  # noqa: BLE001 - counted and shown
                fail(f"upload cycle {path.name}", exc)
                continue
            with lock:
                cycles[0] += 1
                if report.get("added") != [path.name] and report.get("replaced") != [path.name]:
                    wrong.append(f"upload {path.name}: {report}")
                if number_said not in answer:
                    wrong.append(f"{question}: {answer[:100]!r}")
                if any(c["source"] == path.name for c in after["citations"]):
                    wrong.append(f"{path.name} still cited after its deletion")

    def sampler() -> None:
        started = time.monotonic()
        while time.monotonic() < stop_at:
            samples.append({"t": round(time.monotonic() - started), "rss_mb": round(rss_mb(pid), 1),
                            "open_files": open_files(pid)})
            time.sleep(sample)

    threads = ([threading.Thread(target=asker, args=(n,)) for n in range(askers)]
               + [threading.Thread(target=uploader, args=(n,)) for n in range(uploaders)]
               + [threading.Thread(target=sampler)])
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    samples.append({"t": round(seconds), "rss_mb": round(rss_mb(pid), 1), "open_files": open_files(pid)})

    def growth(key: str) -> float:
        base = statistics.median(s[key] for s in samples if s["t"] <= warm_up + sample and s["t"] >= warm_up - sample)
        end = statistics.median(s[key] for s in samples[-3:])
        return round(100 * (end - base) / base, 1)

    def slope(key: str) -> float:
        """The least-squares trend after the warm-up, in percent of its start per 10 minutes."""
        after = [(s["t"], s[key]) for s in samples if s["t"] >= warm_up]
        if len(after) < 3:
            return 0.0
        per_second = statistics.linear_regression([t for t, _ in after], [v for _, v in after]).slope
        return round(100 * per_second * 600 / after[0][1], 2)

    return {"seconds": round(seconds), "askers": askers, "uploaders": uploaders, "questions": len(latencies),
            "upload_cycles": cycles[0], "failures": len(failures), "wrong_answers": len(wrong),
            "latency_p50_ms": round(percentile(latencies, 0.5) or 0, 1),
            "latency_p95_ms": round(percentile(latencies, 0.95) or 0, 1),
            "warm_up_s": round(warm_up), "rss_growth_percent": growth("rss_mb"),
            "rss_slope_percent_per_10_min": slope("rss_mb"), "rss_mb_after_warm_up": [
                s["rss_mb"] for s in samples if s["t"] >= warm_up][:1] + [samples[-1]["rss_mb"]],
            "open_files_growth_percent": growth("open_files"),
            "open_files_range": [min(s["open_files"] for s in samples), max(s["open_files"] for s in samples)],
            "samples": samples,
            "failure_examples": failures[:5], "wrong_examples": wrong[:5]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="an app already running on this machine (default: start one)")
    parser.add_argument("--pid", type=int, help="with --url: the app's process id, for its memory and descriptors")
    parser.add_argument("--seconds", type=float, default=1800)
    parser.add_argument("--askers", type=int, default=4)
    parser.add_argument("--uploaders", type=int, default=2)
    parser.add_argument("--sample", type=float, default=10, help="seconds between samples (default: %(default)s)")
    parser.add_argument("--max-growth", type=float, default=10, help="percent (default: %(default)s)")
    parser.add_argument("--max-slope", type=float, default=1, help="percent of memory per 10 minutes after the "
                        "warm-up, checked when that part of the run lasts 10 minutes or more (default: %(default)s)")
    parser.add_argument("--json", type=Path, metavar="OUT.json", help="also write the figures here")
    args = parser.parse_args()
    if args.url and not args.pid:
        parser.error("--url needs --pid, the app's process id on this machine")
    questions = [q.question for q in load_questions(ROOT / "eval" / "seed_questions.yaml")]
    work = Path(tempfile.mkdtemp(prefix="soak-"))
    process = None
    try:
        url, pid = args.url, args.pid
        if url is None:
            docs = work / "docs"
            shutil.copytree(ROOT / "seeds", docs)
            url, process, _ = start_app(docs, work / "index", [])
            pid = process.pid
        figures = run(url if url.endswith("/") else url + "/", pid, questions, args.seconds, args.askers,
                      args.uploaders, args.sample, min(300.0, args.seconds / 6), work)
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)
    summary = {k: v for k, v in figures.items() if k != "samples"}
    print(json.dumps(summary, indent=1, ensure_ascii=False))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, ensure_ascii=False, indent=1), encoding="utf-8")
    grew = (max(figures["rss_growth_percent"], figures["open_files_growth_percent"]) > args.max_growth
            or (figures["seconds"] - figures["warm_up_s"] >= 600
                and figures["rss_slope_percent_per_10_min"] > args.max_slope))
    return 1 if figures["failures"] or figures["wrong_answers"] or grew else 0


if __name__ == "__main__":
    sys.exit(main())
