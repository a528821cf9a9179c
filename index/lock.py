"""One writer at a time per index, across the threads and processes that share it; readers never wait."""
import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from index.errors import StoreError


class WriteLock:
    def __init__(self, path: Path, timeout: float, mark: Path | None = None):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path, self.timeout, self.mark = path, timeout, mark
        self._holder = path.with_name(path.name + ".pid")  # who holds it, for the waiting message
        self._threads = threading.RLock()
        self._file = FileLock(path, thread_local=False)

    @contextmanager
    def __call__(self) -> Iterator[None]:
        with self._threads:
            try:
                self._file.acquire(timeout=0)
            except Timeout:
                print(f"Waiting for the indexer in process {self._who()} to finish (at most "
                      f"{self.timeout:g} s, --lock-timeout)…", file=sys.stderr, flush=True)
                try:
                    self._file.acquire(timeout=self.timeout)
                except Timeout:
                    raise StoreError(
                        f"Another process ({self._who()}) has been writing the index for more than "
                        f"{self.timeout:g} s ({self.path}). Try again when it has finished, or raise "
                        "--lock-timeout.") from None
            except OSError as exc:  # after Timeout, which is an OSError too
                raise StoreError(f"Cannot lock the index at {self.path.parent} ({exc.strerror or exc}). If it was "
                                 "deleted, restart the app or run `python -m app index` to build it again.") from None
            try:
                self._holder.write_text(str(os.getpid()))
                yield
            finally:
                if self.mark:  # readers in other processes reload what was written
                    # replaced whole, so that a reader never sees it empty or half-written
                    written = self.mark.with_name(f"{self.mark.name}.{os.getpid()}.partial")
                    written.write_text(f"{os.getpid()}:{time.time_ns()}")
                    os.replace(written, self.mark)
                self._file.release()

    def busy(self) -> bool:
        """Whether a writer, in this process or another, holds the lock now."""
        if not self._threads.acquire(blocking=False):
            return True  # another thread of this process is writing
        try:
            try:
                self._file.acquire(timeout=0)
            except Timeout:
                return True
            except OSError:
                return False
            self._file.release()
            return False
        finally:
            self._threads.release()

    def _who(self) -> str:
        try:
            return self._holder.read_text().strip() or "unknown"
        except OSError:
            return "unknown"
