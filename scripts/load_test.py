"""Load test on 127.0.0.1: concurrent users ask the seed questions over /ask while a PDF is uploaded and indexed.

Starts the app (or takes --url of one running on this machine), asks each question once alone for its
reference answers, then runs --users users for --seconds (at most --max-requests requests) while one
multi-page PDF goes through /upload, and reports requests, failures, wrong answers, p50/p95 latency
and the server's resident memory before and after. An answer is right when it equals the one the app
gives that question alone, before or after the upload.
"""
import argparse
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.evaluation import load_questions  # noqa: E402

LOCAL = ("127.0.0.1", "localhost")


def rss_mb(pid: int | None) -> float | None:
    """Resident memory of a process, from /proc (Linux)."""
    if pid is None:
        return None
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return None


def report_pages(count: int) -> list[str]:
    """The pages of a made-up utility report: a heading and three paragraphs of figures each."""
    pages = []
    for n in range(1, count + 1):
        pages.append(
            f"# District {n}\n\n"
            f"In district {n} the Eastport utility served {1200 + 37 * n:,} households through "
            f"{14 + n % 9} pumping stations, and its crews replaced {3 + n % 5} kilometres of pipe.\n\n"
            f"The laboratory took {40 + n * 3} samples of treated water in district {n}; all but "
            f"{n % 4} met the limits for nitrates, lead and coliform bacteria.\n\n"
            f"Complaints about pressure fell to {n * 2 + 5} in the year, after the valve on street {n} "
            "was rebuilt and the reservoir above the district was cleaned.")
    return pages


def start_app(docs: Path, index_dir: Path, options: list[str]) -> tuple[str, subprocess.Popen, Path]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = index_dir.parent / "server.log"
    process = subprocess.Popen([sys.executable, "-m", "app", "--port", str(port), "--docs", str(docs),
                                "--index-dir", str(index_dir), *options], cwd=ROOT,
                               stdout=open(log, "w"), stderr=subprocess.STDOUT)
    deadline = time.time() + 180
    while "Running on" not in log.read_text():
        if process.poll() is not None or time.time() > deadline:
            process.kill()
            raise SystemExit(f"the app did not start:\n{log.read_text()[-2000:]}")
        time.sleep(0.5)
    return f"http://127.0.0.1:{port}/", process, log


def percentile(values: list[float], q: float) -> float | None:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * q))] if values else None


def run(url: str, pid: int | None, questions: list[str], users: int, seconds: float, max_requests: int,
        pdf: Path) -> dict:
    from gradio_client import Client, handle_file

    client = Client(url, verbose=False)
    before = {q: client.predict(q, api_name="/ask")["answer"] for q in dict.fromkeys(questions)}
    rss_start = rss_mb(pid)
    latencies, failures, wrong, lock = [], [], [], threading.Lock()
    issued = iter(range(max_requests))
    stop_at = time.monotonic() + seconds
    results: list[tuple[str, dict]] = []
    upload: dict = {}

    def user(number: int) -> None:
        own = Client(url, verbose=False)
        k = number
        while time.monotonic() < stop_at:
            with lock:
                if next(issued, None) is None:
                    return
            question = questions[k % len(questions)]
            k += users
            started = time.perf_counter()
            try:
                result = own.predict(question, api_name="/ask")
            except Exception as exc:  # every failure is counted and shown, whatever it is
                with lock:
                    failures.append(f"{question}: {type(exc).__name__}: {exc}")
                continue
            with lock:
                latencies.append((time.perf_counter() - started) * 1000)
                results.append((question, result))

    def uploader() -> None:
        started = time.perf_counter()
        try:
            upload.update(Client(url, verbose=False).predict([handle_file(pdf)], api_name="/upload"))
        except Exception as exc:
            upload["error"] = f"{type(exc).__name__}: {exc}"
        upload["seconds"] = round(time.perf_counter() - started, 1)

    threads = [threading.Thread(target=uploader)] + [threading.Thread(target=user, args=(n,))
                                                     for n in range(users)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    rss_end = rss_mb(pid)
    after = {q: client.predict(q, api_name="/ask")["answer"] for q in dict.fromkeys(questions)}
    for question, result in results:
        if result["question"] != question or result["answer"] not in (before[question], after[question]):
            wrong.append(f"{question}: got {result['question']!r} → {result['answer'][:80]!r}")
    return {
        "users": users, "seconds": round(elapsed, 1), "requests": len(results) + len(failures),
        "answered": len(results), "failures": len(failures), "wrong_answers": len(wrong),
        "requests_per_second": round(len(results) / elapsed, 1),
        "latency_p50_ms": round(percentile(latencies, 0.5) or 0, 1),
        "latency_p95_ms": round(percentile(latencies, 0.95) or 0, 1),
        "latency_max_ms": round(max(latencies, default=0), 1),
        "rss_start_mb": rss_start and round(rss_start, 1), "rss_end_mb": rss_end and round(rss_end, 1),
        "upload": upload, "failure_examples": failures[:5], "wrong_examples": wrong[:5],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="an app already running on this machine (default: start one)")
    parser.add_argument("--pid", type=int, help="with --url: the app's process id, for its memory")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--max-requests", type=int, default=20_000, help="stop after this many (default: %(default)s)")
    parser.add_argument("--pages", type=int, default=60, help="pages of the uploaded PDF (default: %(default)s)")
    parser.add_argument("--questions", type=Path, default=ROOT / "eval" / "seed_questions.yaml")
    parser.add_argument("--app-option", action="append", default=[], metavar="OPTION",
                        help="passed to the started app, e.g. --app-option=--concurrency=4")
    parser.add_argument("--json", type=Path, metavar="OUT.json", help="also write the figures here")
    args = parser.parse_args()
    if args.url and urlparse(args.url).hostname not in LOCAL:
        parser.error("--url must be an app on this machine (127.0.0.1)")
    if not 1 <= args.users <= 200 or not 0 < args.seconds <= 600:
        parser.error("--users must be 1-200 and --seconds at most 600")

    from tests.documents import make_pdf, multipage_html

    questions = [q.question for q in load_questions(args.questions)]
    work = Path(tempfile.mkdtemp(prefix="load-test-"))
    process = None
    try:
        pdf = make_pdf(multipage_html(report_pages(args.pages), "Eastport districts"), work / "districts.pdf")
        url, pid = (args.url if args.url.endswith("/") else args.url + "/", args.pid) if args.url else (None, None)
        if url is None:
            docs = work / "docs"
            shutil.copytree(ROOT / "seeds", docs)
            url, process, _ = start_app(docs, work / "index", args.app_option)
            pid = process.pid
        figures = run(url, pid, questions, args.users, args.seconds, args.max_requests, pdf)
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(figures, indent=1, ensure_ascii=False))
    if args.json:
        args.json.write_text(json.dumps(figures, ensure_ascii=False), encoding="utf-8")
    upload_ok = "error" not in figures["upload"] and figures["upload"].get("added")
    return 0 if not figures["failures"] and not figures["wrong_answers"] and upload_ok else 1


if __name__ == "__main__":
    sys.exit(main())
