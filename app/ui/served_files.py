"""Folders for the files the page offers for download (conversation exports, copies of cited documents)."""
import atexit
import shutil
import tempfile
import time
from pathlib import Path


class ServedFiles:
    """Each file handed to Gradio gets a folder of its own under one root, and folders older than `keep` seconds
    go when a new one is made: Gradio copies a file it serves into its own cache as soon as the event returns, so
    an old folder is no longer read, and a long-running server keeps only the last few minutes of them."""

    def __init__(self, prefix: str, keep: float = 300.0):
        self.root = Path(tempfile.mkdtemp(prefix=prefix))
        self.keep = keep
        atexit.register(shutil.rmtree, self.root, True)  # the process's own folder goes with it

    def folder(self) -> Path:
        cutoff = time.time() - self.keep
        for old in self.root.iterdir():
            try:
                if old.stat().st_mtime < cutoff:
                    shutil.rmtree(old, ignore_errors=True)
            except FileNotFoundError:  # removed by a concurrent call
                pass
        return Path(tempfile.mkdtemp(dir=self.root))
