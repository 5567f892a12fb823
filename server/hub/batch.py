"""Group commit for frequent terminal events (heartbeats, broadcast acknowledgements).

Each event waits for the transaction that stores it, so an ack still means "stored"; but
events that arrive while a transaction is being written are stored together in the next
one. One terminal event then costs a share of a transaction instead of a whole one, which
is what lets one worker keep up with 5,000 heartbeats every 5 s (docs/benchmarks.md).

No background task: the first waiting event writes the batch (it "leads"); when its own
batch is done it hands the lead to the oldest event still waiting.

`linger_s`: how long a leader waits for company before it writes. It must be more than
nothing: under gevent a SQLite transaction blocks the whole worker, so events arriving
meanwhile are not even read, and a leader that wrote at once would write batches of one.
A few milliseconds let the worker read and queue what has arrived; while the queue keeps
growing (a fleet answering one nudge) the leader keeps waiting, up to `max_linger_s`, so
a burst is written in a few large batches rather than dozens of small ones, each paying
the batch's fixed cost. Heartbeats linger longer (an ack a moment later costs nothing,
and 200 heartbeats a second in batches of dozens cost a tenth of the CPU of one
transaction each).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

log = logging.getLogger(__name__)
MAX_BATCH = 2000  # bounds one transaction (SQLite's parameter limits, lock time)


@dataclass
class Slot:
    terminal_id: int
    data: Any
    at: datetime
    credential: str | None = None  # the hash of the one the socket connected with
    result: dict | None = None
    lead: bool = False
    done: threading.Event = field(default_factory=threading.Event)


class GroupCommit:
    @staticmethod
    def sleep(seconds: float) -> None:
        """Looked up at each call (gevent patches time.sleep at startup); tests replace it."""
        time.sleep(seconds)

    def __init__(self, write: Callable[[list[Slot]], None], linger_s: float = 0.005,
                 max_linger_s: float = 0.05) -> None:
        """`write(batch)` stores the batch in one transaction and sets every slot's result."""
        self._write = write
        self.linger_s = linger_s
        self.max_linger_s = max(linger_s, max_linger_s)
        self._lock = threading.Lock()
        self._queue: list[Slot] = []
        self._writing = False

    def submit(self, terminal_id: int, data: Any, at: datetime,
               credential: str | None = None) -> dict:
        slot = Slot(terminal_id, data, at, credential)
        with self._lock:
            self._queue.append(slot)
            slot.lead = not self._writing
            self._writing = True
        if not slot.lead:
            slot.done.wait()
        if slot.lead:  # the first in line, or handed the lead while waiting
            self._drain(slot)
        assert slot.result is not None
        return slot.result

    def _gather(self) -> None:
        """Linger for company, and keep lingering while a burst is still arriving (a
        fleet answering one nudge): each batch has a fixed cost (the credential check,
        the street's schedules), so a burst is cheapest in a few large batches."""
        seen, waited = -1, 0.0
        while (len(self._queue) != seen and len(self._queue) < MAX_BATCH
               and waited < self.max_linger_s):
            seen = len(self._queue)
            self.sleep(self.linger_s)  # under gevent: other greenlets run meanwhile
            waited += self.linger_s

    def _drain(self, me: Slot) -> None:
        while True:
            self._gather()
            with self._lock:
                batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
                if not batch:
                    self._writing = False
                    return
            self._run(batch)
            if me.result is not None:
                break
        with self._lock:  # my answer is ready: the oldest waiting event leads from here
            if self._queue:
                nxt = self._queue[0]
                nxt.lead = True
                nxt.done.set()
            else:
                self._writing = False

    def _run(self, batch: list[Slot]) -> None:
        try:
            self._write(batch)
        except Exception:
            # One bad event must not cost the others their answer: store them one by one.
            log.exception("batch of %d failed; storing its events one by one", len(batch))
            for slot in batch:
                slot.result = None
                try:
                    self._write([slot])
                except Exception:
                    log.exception("terminal event failed")
                    slot.result = {"ok": False, "error": "internal error; the server logged it"}
        for slot in batch:
            if slot.result is None:
                slot.result = {"ok": False, "error": "internal error; the server logged it"}
            if not slot.lead:
                slot.done.set()
