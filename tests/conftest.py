"""Shared fixtures: the seed article indexed by the real default model into a real Chroma in a temp dir."""
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from app.config import Settings  # noqa: E402
from app.pipeline import Pipeline  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SEED = next((ROOT / "seeds").glob("*.txt"))
SENTENCE_2004 = ("Ungaria, Polonia şi Cehia au aderat la NATO în 1999, urmate de România, Bulgaria, Letonia, "
                 "Lituania, Estonia, Slovacia şi Slovenia în 2004.")


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


def start_app(docs: Path, folder: Path, *options: str):
    """The app started as a user starts it, on a free port, over the documents in `docs`; yields its URL,
    its log file and its process, and stops it afterwards."""
    port = free_port()
    log = open(folder / "server.log", "w+")
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "--port", str(port), "--docs", str(docs), "--index-dir",
         str(folder / "index"), *options], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 180
    while "Running on" not in open(log.name).read():
        assert process.poll() is None, open(log.name).read()
        assert time.time() < deadline, "the app did not start in 180 s"
        time.sleep(0.5)
    yield url, log.name, process
    process.terminate()
    process.wait(timeout=30)


@pytest.fixture
def server(docs, tmp_path):
    """The app started as a user starts it, on a free port, over the documents in `docs`."""
    for url, log, _ in start_app(docs, tmp_path):
        yield url, log
