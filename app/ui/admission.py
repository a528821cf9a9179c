"""Admission for the ways in that Gradio's queue does not see: the OpenAI-compatible /v1 routes and the MCP tools.
They get the same bounds as the queue (--concurrency at work at once, --max-queue waiting); a call past them is
refused at once with a "busy, try again" error in its own protocol instead of waiting without end.

Callers wait in the event loop, first come first served, and only an admitted call takes a worker thread, so a
flood of waiting calls never fills the server's thread pools."""
import asyncio
import threading
from collections import deque

from app.errors import AppError

RETRY_AFTER_S = 2  # what a refused /v1 call is told to wait (Retry-After)
POLL_S = 0.02  # how often a waiting call looks whether its turn has come


class Busy(AppError):
    """Every slot is at work and the waiting line is full."""


class Ticket:
    """A caller's place: in the line until its turn, then at work. close() gives the place back whichever of the
    two it holds, once; a ticket at work dropped without close() gives it back when it is collected."""

    def __init__(self, admission: "Admission"):
        self._admission, self._state = admission, "waiting"

    def _try_start(self) -> bool:
        admission = self._admission
        with admission._lock:
            if self._state != "waiting":
                raise AppError("This place in the line was given back; send the request again.")
            if admission._line[0] is not self or admission._working >= admission.concurrency:
                return False
            admission._line.popleft()
            admission._working += 1
            self._state = "working"
            return True

    async def start(self) -> None:
        """Waits for this ticket's turn; cancelled (the caller went away), it leaves the line."""
        try:
            while not self._try_start():
                await asyncio.sleep(POLL_S)
        except BaseException:
            self.close()
            raise

    async def __aenter__(self) -> "Ticket":
        await self.start()
        return self

    async def __aexit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        admission = self._admission
        with admission._lock:
            if self._state == "working":
                admission._working -= 1
            elif self._state == "waiting":
                admission._line.remove(self)
            self._state = "closed"

    def __del__(self):
        if self._state != "closed":
            self.close()


class Admission:
    """At most `concurrency` calls at work and `max_queue` waiting, over every caller that shares this object."""

    def __init__(self, concurrency: int, max_queue: int):
        self.concurrency, self.max_queue = concurrency, max_queue
        self._working, self._line = 0, deque()
        self._lock = threading.RLock()  # RLock: a ticket collected while the lock is held closes itself

    def message(self) -> str:
        return (f"The server is busy: {self.concurrency} requests are at work and {self.max_queue} are waiting "
                f"(--concurrency, --max-queue). Try again in a few seconds.")

    def admit(self) -> Ticket:
        """A place at the end of the line, without waiting; Busy when the line is full."""
        with self._lock:
            if self._working + len(self._line) >= self.concurrency + self.max_queue:
                raise Busy(self.message())
            ticket = Ticket(self)
            self._line.append(ticket)
            return ticket

    def load(self) -> dict:
        """How many calls are at work and how many wait."""
        with self._lock:
            return {"working": self._working, "waiting": len(self._line)}
