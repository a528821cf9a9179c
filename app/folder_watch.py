"""Keeps the index in line with the documents folder while the server runs (`serve --watch`, the default): a file
added, changed or removed there is indexed within a few seconds, through the same limited readers and under the
same writer lock as `python -m app index`.

The folder is looked at every second (names, sizes and modification times of the supported files: no file is read
for that). A change is acted on once the folder has stayed as it is for --watch-settle seconds, so a file still
being copied in is not read half-written. When a file cannot be read, each changed file is synced on its own, so
that one (said on stderr) holds up no other."""
import sys
import threading
import time
from pathlib import Path

from app.errors import AppError
from app.pipeline import Pipeline
from index.loading import find_files

POLL_S = 1.0


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Each supported file's (size, modification time) by path; empty when the folder is missing."""
    found = {}
    try:
        files, _ = find_files(root)
    except (OSError, AppError):
        return found
    for path in files:
        try:
            stat = path.stat()
        except OSError:
            continue  # removed meanwhile
        found[str(path)] = (stat.st_size, stat.st_mtime_ns)
    return found


class FolderWatch:
    """A daemon thread that syncs the pipeline's documents folder when it changes. syncs counts the syncs run."""

    def __init__(self, pipeline: Pipeline, settle_s: float = 2.0, poll_s: float = POLL_S):
        self.pipeline, self.settle_s, self.poll_s = pipeline, settle_s, poll_s
        self.syncs = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="folder-watch", daemon=True)

    def start(self) -> "FolderWatch":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        root = self.pipeline.settings.docs
        synced, seen = {}, snapshot(root)  # nothing synced yet: the first look brings in what the index lacks
        changed_at = time.monotonic()
        while not self._stop.wait(self.poll_s):
            now = snapshot(root)
            if now != seen:  # still changing: wait until it settles
                seen, changed_at = now, time.monotonic()
                continue
            if now == synced or time.monotonic() - changed_at < self.settle_s:
                continue
            self._sync([Path(p) for p in sorted({*now, *synced}) if now.get(p) != synced.get(p)])
            synced = now
            self.syncs += 1

    def _sync(self, changed: list[Path]) -> None:
        """The changed files in one sync (the others are not even hashed); when a file cannot be read, each on its
        own, so that it holds up no other (it is tried again when it changes)."""
        try:
            self._said(self.pipeline.index(changed, progress=False))
            return
        except AppError:
            pass
        for path in changed:
            try:
                self._said(self.pipeline.index([path], progress=False))
            except AppError as exc:
                print(f"Watching {self.pipeline.settings.docs}: {exc}", file=sys.stderr, flush=True)

    def _said(self, report) -> None:
        if report.added or report.updated or report.removed:
            print(f"Watching {self.pipeline.settings.docs}: {report.summary()}", file=sys.stderr, flush=True)
