"""Start-up as a user meets it, on a built seed index: a whole `python -m app ask "…"` process, and `python -m app`
until it serves /health; this checkout against another revision (a git worktree of it), runs interleaved in one
session, medians of several runs.

    python scripts/benchmark_startup.py [--against REV] [--runs 7]
"""
import argparse
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "Which countries joined NATO in 2004?"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ask_seconds(tree: Path, index: Path) -> float:
    begun = time.perf_counter()
    subprocess.run([sys.executable, "-m", "app", "ask", "--index-dir", str(index), QUESTION], cwd=tree,
                   check=True, capture_output=True)
    return time.perf_counter() - begun


def serve_seconds(tree: Path, index: Path) -> float:
    port = free_port()
    begun = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "app", "--index-dir", str(index), "--port", str(port)],
                               cwd=tree, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as reply:
                    if reply.status == 200:
                        return time.perf_counter() - begun
            except OSError:
                assert process.poll() is None, "the app exited"
                time.sleep(0.05)
    finally:
        process.terminate()
        process.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--against", default="HEAD~1", help="the revision to compare with (default: %(default)s)")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        other = Path(tmp) / "other"
        subprocess.run(["git", "worktree", "add", "--detach", str(other), args.against], cwd=ROOT, check=True,
                       capture_output=True)
        try:
            trees = {"this checkout": ROOT, args.against: other}
            indexes = {name: Path(tmp) / f"index-{n}" for n, name in enumerate(trees)}
            for name, tree in trees.items():  # builds each index (and the model cache) once
                ask_seconds(tree, indexes[name])
            times = {name: {"ask": [], "serve": []} for name in trees}
            for _ in range(args.runs):
                for name, tree in trees.items():
                    times[name]["ask"].append(ask_seconds(tree, indexes[name]))
                    times[name]["serve"].append(serve_seconds(tree, indexes[name]))
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(other)], cwd=ROOT, capture_output=True)
    print(json.dumps({name: {kind: {"median_s": round(statistics.median(v), 2), "min_s": round(min(v), 2),
                                    "runs": len(v)} for kind, v in found.items()}
                      for name, found in times.items()}, indent=1))


if __name__ == "__main__":
    main()
