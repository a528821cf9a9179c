"""glibc's allocator in a long-running server. The server's threads (Gradio's, the request worker threads,
onnxruntime's) each get a malloc arena of their own, up to eight per core, and memory freed by the native
libraries (onnxruntime, Chroma, tokenizers) stays in those arenas: the resident memory then climbs for hours
while Python's own heap barely moves. Two arenas, and handing free pages back to the system every minute, keep it
level (scripts/soak.py; docs/performance.md, Hours of use). Elsewhere than glibc (macOS, musl) nothing is done."""
import ctypes
import ctypes.util
import threading

M_ARENA_MAX = -8  # mallopt's parameter number, from glibc's malloc.h
ARENAS = 2
TRIM_EVERY_S = 60


def _glibc():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


def keep_level() -> None:
    """Limits the arenas (for the threads started from now on) and starts the minutely trim."""
    libc = _glibc()
    if libc is None:
        return
    libc.mallopt(M_ARENA_MAX, ARENAS)
    stop = threading.Event()

    def trim() -> None:
        while not stop.wait(TRIM_EVERY_S):
            libc.malloc_trim(0)

    threading.Thread(target=trim, name="malloc-trim", daemon=True).start()
