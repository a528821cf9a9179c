"""Reads files in separate processes with a time and a memory limit, so that a file that makes a parser (PDFium,
lxml, Tesseract: native code) hang, allocate without bound or crash is refused while the server goes on.

A reading process is a fresh interpreter (`python -m index.worker`), never a fork of the server, so it holds none of
the server's threads or locks, and it is kept for the next file once it has read one."""
import os
import resource
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

from index import formats
from index.errors import DocumentError

MAX_TEXT_CHARS = 20_000_000  # about 10,000 pages of text: more is a file built to fill the index
_KEEP_IDLE = 2  # reading processes kept waiting for the next file (two cores)
_FILES_PER_PROCESS = 200  # then a fresh one, so that what a parser leaks does not pile up


@dataclass(frozen=True)
class ReadLimits:
    seconds: float = 30.0  # to read a file; a PDF gets it for each page in turn, so a long scan goes on page by page
    memory_mb: float = 1024.0  # the reading process's address space
    isolated: bool = True  # False: read in this process, without limits (for a caller that trusts its files)


class _Reader:
    """One reading process and the two pipes to it."""

    def __init__(self, memory_mb: float):
        self.memory_mb, self.files = memory_mb, 0
        ask_read, ask_write = os.pipe()
        answer_read, answer_write = os.pipe()
        root = str(Path(__file__).resolve().parents[1])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "index.worker", str(ask_read), str(answer_write), str(int(memory_mb * 2 ** 20))],
            pass_fds=(ask_read, answer_write), env=env, stdin=subprocess.DEVNULL, cwd=root)
        os.close(ask_read)
        os.close(answer_write)
        self.ask, self.answers = Connection(ask_write, readable=False), Connection(answer_read, writable=False)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.ask.close()
        self.answers.close()


_idle: list[_Reader] = []
_idle_lock = threading.Lock()


def warm(limits: "ReadLimits" = None) -> None:
    """Starts a reading process now, so that the first file read does not wait for its interpreter."""
    limits = limits or ReadLimits()
    if limits.isolated:
        _give_back(_take(limits))


def extract(name: str, data: bytes, progress: formats.PageProgress | None = None,
            limits: ReadLimits = ReadLimits()) -> formats.Extracted:
    """formats.extract(name, data, progress) run in a reading process under limits; a DocumentError that says which
    limit was passed when the process is stopped, runs out of memory or dies."""
    if not limits.isolated:
        return formats.extract(name, data, progress)
    reader, kept, page = _take(limits), False, None
    try:
        reader.ask.send((name, data))
        deadline = time.monotonic() + limits.seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not reader.answers.poll(left):
                where = f" (stopped at page {page + 1})" if page is not None else ""
                raise DocumentError(f"{name} took longer than {limits.seconds:g} s to read{where}; it was not "
                                    "added. Split it into smaller files, or raise the limit (--read-timeout).")
            try:
                kind, value = reader.answers.recv()
            except (EOFError, OSError):
                raise DocumentError(_died(name, reader.process.wait(5), limits)) from None
            if kind == "page":
                page, deadline = value[0], time.monotonic() + limits.seconds
                if progress:
                    progress(*value)
                continue
            if kind == "memory":
                raise DocumentError(_too_big(name, limits))
            kept = True  # read, or refused by the parser: the process is well and reads the next file
            if kind == "refused":
                raise DocumentError(value)
            return value
    finally:
        if kept:
            _give_back(reader)
        else:
            reader.close()


def _take(limits: ReadLimits) -> _Reader:
    with _idle_lock:
        while _idle:
            reader = _idle.pop()
            if reader.memory_mb == limits.memory_mb and reader.process.poll() is None:
                return reader
            reader.close()
    return _Reader(limits.memory_mb)


def _give_back(reader: _Reader) -> None:
    reader.files += 1
    with _idle_lock:
        if reader.files < _FILES_PER_PROCESS and len(_idle) < _KEEP_IDLE:
            _idle.append(reader)
            return
    reader.close()


def _too_big(name: str, limits: ReadLimits) -> str:
    return (f"{name} needed more than {limits.memory_mb:g} MB of memory to read; it was not added. Split it into "
            "smaller files, or raise the limit (--read-memory-mb).")


def _died(name: str, status: int | None, limits: ReadLimits) -> str:
    """Why the reading process ended without an answer: killed (the kernel's out-of-memory killer, or a signal), or
    crashed in native code, which running out of its memory limit also causes."""
    if status is not None and status < 0:
        how = signal.Signals(-status).name
        if -status == signal.SIGKILL:
            return f"{name}: the process reading it was killed ({how}), most likely for memory. {_too_big(name, limits)}"
        return (f"{name} made the process reading it crash ({how}): the file is damaged, or needed more than "
                f"{limits.memory_mb:g} MB of memory. It was not added; save or export it again, and add that.")
    return (f"{name}: the process reading it stopped (exit status {status}) before it was read. It was not added; "
            "try again, or save or export the file again.")


def _serve(asks: Connection, answers: Connection, memory_bytes: int) -> None:
    """The reading process: reads each file asked for, sending its pages as they are read, then its text or why
    not; ends when the server closes the pipe."""
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the server, which stops this
    from index.formats import pdf, plain, web, word  # noqa: F401 - loaded before the first file, not during it

    while True:
        try:
            name, data = asks.recv()
        except EOFError:
            return
        answer = _answer(name, data, lambda done, total: answers.send(("page", (done, total))))
        del data
        try:
            answers.send(answer)
        except MemoryError:
            answer = None
            answers.send(("memory", None))
        if answer[0] == "memory":
            return  # what failed may have left the heap half-built: the next file gets a fresh process


def _answer(name: str, data: bytes, progress: formats.PageProgress) -> tuple[str, object]:
    try:
        extracted = formats.extract(name, data, progress)
    except DocumentError as exc:
        return "refused", str(exc)
    except MemoryError:
        return "memory", None  # returned, so the frames that held the memory are gone before anything is sent
    except RecursionError:
        return "refused", (f"{name} nests its elements too deeply to be read. Save or export it again, or convert "
                           "it to another supported type.")
    except Exception as exc:  # noqa: BLE001 - a parser's own error is a file it cannot read, said to the user
        return "refused", (f"{name} could not be read ({type(exc).__name__}: {exc}). Save or export it again, or "
                           "convert it to another supported type.")
    if len(extracted.text) > MAX_TEXT_CHARS:
        return "refused", (f"{name} holds {len(extracted.text):,} characters of text; the limit is "
                           f"{MAX_TEXT_CHARS:,}. Split it into smaller files.")
    return "text", extracted


if __name__ == "__main__":
    ask_fd, answer_fd, limit = (int(arg) for arg in sys.argv[1:4])
    _serve(Connection(ask_fd, writable=False), Connection(answer_fd, readable=False), limit)
