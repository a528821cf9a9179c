"""Shared fixtures: the seed article indexed by the real default model into a real Chroma in a temp dir."""
import atexit
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
if "RAG_STATE_DIR" not in os.environ:  # what servers on a Chroma server keep on this machine (conversations)
    os.environ["RAG_STATE_DIR"] = tempfile.mkdtemp(prefix="rag-state-")
    atexit.register(shutil.rmtree, os.environ["RAG_STATE_DIR"], True)
if "RAG_MODEL_CACHE" not in os.environ:  # the converted e5-small, built once per run (and by the servers started)
    os.environ["RAG_MODEL_CACHE"] = tempfile.mkdtemp(prefix="rag-model-cache-")
    atexit.register(shutil.rmtree, os.environ["RAG_MODEL_CACHE"], True)

from app.config import Settings  # noqa: E402
from app.pipeline import Pipeline  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SEED = next((ROOT / "seeds").glob("*.txt"))
SENTENCE_2004 = ("Ungaria, Polonia şi Cehia au aderat la NATO în 1999, urmate de România, Bulgaria, Letonia, "
                 "Lituania, Estonia, Slovacia şi Slovenia în 2004.")


def pytest_addoption(parser):
    parser.addoption("--screenshots", type=Path, help="write the browser tests' screenshots here (the pictures the "
                     "docs show are tests/screenshots/); by default they go to a temporary folder")


@pytest.fixture
def screenshots(request, tmp_path) -> Path:
    """Where the browser tests save their screenshots: --screenshots, or the test's temporary folder, so a test run
    leaves the checkout as it was."""
    folder = request.config.getoption("--screenshots") or tmp_path / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def docs(tmp_path) -> Path:
    """A documents folder holding a copy of the seed article."""
    folder = tmp_path / "docs"
    folder.mkdir()
    shutil.copy(SEED, folder / SEED.name)
    return folder


@pytest.fixture(scope="session")
def seed_pipeline(tmp_path_factory) -> Pipeline:
    folder = tmp_path_factory.mktemp("seed-docs")
    shutil.copy(SEED, folder / SEED.name)
    pipeline = Pipeline(Settings(docs=folder, index_dir=tmp_path_factory.mktemp("seed-index")))
    pipeline.index(progress=False)
    return pipeline


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(log_path: Path, *args, port: int | None = None) -> tuple[subprocess.Popen, str]:
    """`python -m app ARGS` on port (by default a free one), as a user starts it; returns once it serves."""
    port = port or free_port()
    log = open(log_path, "w+")
    process = subprocess.Popen([sys.executable, "-m", "app", "--port", str(port), *map(str, args)], cwd=ROOT,
                               stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 180
    while "Running on" not in open(log.name).read():
        assert process.poll() is None, open(log.name).read()
        assert time.time() < deadline, "the app did not start in 180 s"
        time.sleep(0.5)
    return process, f"http://127.0.0.1:{port}/"


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def server(docs, tmp_path):
    """The app started as a user starts it, on a free port, over the documents in `docs`."""
    log = tmp_path / "server.log"
    process, url = start_app(log, "--docs", docs, "--index-dir", tmp_path / "index")
    yield url, str(log)
    stop(process)


def start_chroma(path: Path, port: int | None = None) -> tuple[subprocess.Popen, str]:
    """A real Chroma server (`chroma run`, from the chromadb package) storing its data in path."""
    chroma = shutil.which("chroma")
    assert chroma, "the chroma command comes with the chromadb package: pip install -r requirements.txt"
    port = port or free_port()
    process = subprocess.Popen([chroma, "run", "--path", str(path), "--port", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                               env={**os.environ, "ANONYMIZED_TELEMETRY": "False"})
    deadline = time.time() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process, f"http://127.0.0.1:{port}"
        except OSError:
            assert process.poll() is None and time.time() < deadline, "chroma run did not start"
            time.sleep(0.3)
