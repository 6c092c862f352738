"""Delayed events: a queue of events due later, fired in time order on one daemon thread.

The event bus says what to do when an event is due (`fire`: check its condition, run its
handlers) and when that fails (`failed`); this queue knows nothing of handlers, conditions or
the log. Closing it hands back the events that had not fired, for the bus to cancel.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from ksi_patterns.events.types import Event


@dataclass(order=True)
class Pending:
    """A delayed event waiting for its time (`due`, on the monotonic clock)."""

    due: float
    sequence: int
    event: Event = field(compare=False)
    condition: str | None = field(compare=False)
    delay: float = field(compare=False)


class DelayedEvents:
    def __init__(
        self,
        fire: Callable[[Pending], object],
        failed: Callable[[Pending, Exception], object],
    ) -> None:
        self._fire = fire
        self._failed = failed
        self._wake = threading.Condition(threading.Lock())
        self._pending: list[Pending] = []
        self._sequence = itertools.count()
        self._firing = 0
        self.closed = False
        self._thread: threading.Thread | None = None

    def add(self, event: Event, condition: str | None, delay: float) -> None:
        """Fire `event` in `delay` seconds (starting the scheduler thread on first use)."""
        import time

        pending = Pending(time.monotonic() + delay, next(self._sequence), event, condition, delay)
        with self._wake:
            heapq.heappush(self._pending, pending)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="ksi-event-scheduler", daemon=True
                )
                self._thread.start()
            self._wake.notify_all()

    def _run(self) -> None:
        import time

        while True:
            with self._wake:
                while not self.closed:
                    if self._pending:
                        wait = self._pending[0].due - time.monotonic()
                        if wait <= 0:
                            break
                        self._wake.wait(wait)
                    else:
                        self._wake.wait()
                if self.closed:
                    return
                due = heapq.heappop(self._pending)
                self._firing += 1
            try:
                self._fire(due)
            except Exception as err:  # never let the scheduler die: the log says what failed
                self._failed(due, err)
            finally:
                with self._wake:
                    self._firing -= 1
                    self._wake.notify_all()

    def count(self) -> int:
        """How many delayed events have not fired yet (those firing now included)."""
        with self._wake:
            return len(self._pending) + self._firing

    def wait(self, timeout: float | None = None) -> None:
        """Until every delayed event has fired (or `timeout` seconds passed); at once when
        called on the scheduler thread (it would wait for itself)."""
        if threading.current_thread() is self._thread:
            return
        with self._wake:
            self._wake.wait_for(lambda: not self._pending and not self._firing, timeout)

    def close(self) -> list[Pending]:
        """Stop the scheduler thread; the events that had not fired, in time order (none when
        already closed)."""
        with self._wake:
            if self.closed:
                return []
            self.closed = True
            cancelled = sorted(self._pending)
            self._pending.clear()
            self._wake.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)
        return cancelled
