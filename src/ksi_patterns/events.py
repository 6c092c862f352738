"""The event bus: `emit(event, data, delay=None, condition=None)`, handlers, and the event log.

This module knows no registry (`handlers` binds registry operations to events). In short:

- Handlers register for an event name or an fnmatch pattern (`composition:fork`,
  `composition:*`, `*`) and run in registration order, synchronously, in the emitting thread.
  A handler is called as `handler(event, bus)`; what it returns becomes its result (made
  JSON-safe: it is the tool result an LLM sees). A handler that raises is caught: its result is
  `{"handler", "ok": False, "error"}` and the others still run. Handlers may emit in turn (at most
  16 levels deep: a loop is refused, not followed forever).
- `condition` is evaluated by `conditions.evaluate` over the event data's keys, then the metrics
  (a metric wins over a data key of the same name), plus `data` and `metrics` themselves. False:
  not emitted. Not evaluable: not emitted, and the Emission says why (`outcome` "condition
  error"). A condition's syntax is checked when the event is emitted, its value when it fires.
- `delay` (seconds, at most an hour) schedules the event on one scheduler thread and returns at
  once; the condition is evaluated when it fires, with the metrics of that moment. `wait()` waits
  for scheduled events; `close()` cancels those still pending (logged as cancelled).
- `emit` never raises for bad input (an invalid name, a bad delay, data that is not a mapping):
  the Emission has outcome "refused" and says why. It is meant to be called with what an LLM
  asked for.
- Every emission (handled, no handler, condition false or in error, scheduled, fired, cancelled,
  refused) is one line of the JSONL log at `log_path`, written with a single `os.write` on a
  file opened with O_APPEND, so that lines of concurrent processes never interleave. Values of
  keys that look like secrets (api_key, token, password, secret, authorization, ...) are written
  as "[redacted]", at any depth.
"""

from __future__ import annotations

import contextlib
import copy
import heapq
import itertools
import json
import math
import os
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from ksi_patterns.errors import KsiError

Handler = Callable[["Event", "EventBus"], Any]
Observer = Callable[["Emission"], None]

MAX_DELAY = 3600.0  # seconds
MAX_NESTING = 16  # events emitted by handlers of events emitted by handlers of ...
MAX_LOG_LINE = 256 * 1024  # bytes; larger data is summarised in the log
MAX_DEPTH = 64  # nesting of data kept in the log and in results
EVENT_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:/-]{0,199}$")
REDACTED = "[redacted]"

# Outcomes of an emission, as `Emission.outcome` and the log's `outcome`.
HANDLED = "handled"
NO_HANDLER = "no handler"
CONDITION_FALSE = "condition false"
CONDITION_ERROR = "condition error"
SCHEDULED = "scheduled"
CANCELLED = "cancelled"
REFUSED = "refused"


class EventError(KsiError):
    """A misuse of the bus by the program (not by what an LLM asked for: that is refused)."""


@dataclass(frozen=True)
class Event:
    name: str
    data: dict[str, Any]
    id: str  # a ULID: sorts by time
    time: str  # when it was emitted, UTC ISO 8601 with milliseconds and Z
    source: str | None = None  # "cli", "orchestrator:<session>", ...

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "data": json_safe(self.data),
            "id": self.id,
            "time": self.time,
            "source": self.source,
        }


@dataclass
class Emission:
    """What became of one `emit`."""

    event: Event
    emitted: bool  # False when the condition was false or in error, or it was only scheduled
    reason: str | None  # "condition false: ...", "scheduled in 2 s", "no handler", ...
    results: list[dict[str, Any]]  # one per handler, in order: {"handler", "ok", "result"|"error"}
    scheduled: bool = False
    outcome: str = HANDLED  # handled, no handler, condition false, condition error, scheduled,
    # cancelled, refused
    error: str | None = None  # the condition's error, or why the event was refused

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [result for result in self.results if not result.get("ok")]

    def to_json(self) -> dict[str, Any]:
        return {
            "event": self.event.to_json(),
            "emitted": self.emitted,
            "scheduled": self.scheduled,
            "outcome": self.outcome,
            "reason": self.reason,
            "error": self.error,
            "results": self.results,
        }


@dataclass(frozen=True)
class Registration:
    pattern: str
    name: str
    handler: Handler


@dataclass(order=True)
class _Pending:
    due: float
    sequence: int
    event: Event = field(compare=False)
    condition: str | None = field(compare=False)
    delay: float = field(compare=False)


def utc_timestamp(when: datetime | None = None) -> str:
    moment = when or datetime.now(UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_event_id() -> str:
    from ulid import ULID

    return str(ULID())


class EventBus:
    def __init__(
        self,
        *,
        log_path: Path | None = None,
        metrics: Mapping[str, Any] | None = None,
        source: str | None = None,
    ) -> None:
        self.log_path = log_path
        self.source = source
        self.log_errors: list[str] = []  # why log lines could not be written (last 20)
        self._metrics: dict[str, Any] = dict(metrics or {})
        self._registrations: list[Registration] = []
        self._observers: list[Observer] = []
        self._lock = threading.RLock()
        self._local = threading.local()
        self._wake = threading.Condition(threading.Lock())
        self._pending: list[_Pending] = []
        self._sequence = itertools.count()
        self._firing = 0
        self._closed = False
        self._thread: threading.Thread | None = None

    # -- handlers ---------------------------------------------------------------------------

    def on(self, pattern: str, handler: Handler, *, name: str | None = None) -> None:
        """Call `handler(event, bus)` for every event whose name matches `pattern` (fnmatch:
        `composition:*`, `*`), after the handlers registered before it."""
        if not isinstance(pattern, str) or not pattern.strip():
            raise EventError(f"a handler needs an event name or pattern, not {pattern!r}")
        if not callable(handler):
            raise EventError(f"the handler for {pattern!r} is not callable")
        label = name or _handler_name(handler)
        with self._lock:
            self._registrations.append(Registration(pattern, label, handler))

    def registrations(self) -> list[Registration]:
        with self._lock:
            return list(self._registrations)

    def handlers_for(self, event: str) -> list[str]:
        """The names of the handlers `event` would run, in order."""
        return [r.name for r in self._matching(event)]

    def _matching(self, event: str) -> list[Registration]:
        with self._lock:
            return [r for r in self._registrations if fnmatchcase(event, r.pattern)]

    def observe(self, observer: Observer) -> None:
        """Call `observer(emission)` once every emission is settled (handled, refused, scheduled,
        fired, cancelled), in this order, after it was logged. An observer's errors are ignored."""
        with self._lock:
            self._observers.append(observer)

    # -- metrics ----------------------------------------------------------------------------

    @property
    def metrics(self) -> dict[str, Any]:
        return dict(self._metrics)

    def set_metrics(self, metrics: Mapping[str, Any]) -> None:
        """Replace the metrics conditions see (delayed events see those of when they fire)."""
        self._metrics = dict(metrics)

    # -- emitting ---------------------------------------------------------------------------

    def emit(
        self,
        event: str,
        data: Mapping[str, Any] | None = None,
        *,
        delay: float | None = None,
        condition: str | None = None,
    ) -> Emission:
        """Emit `event` now (or after `delay` seconds) if `condition` holds; see the module doc."""
        made = Event(
            name=event if isinstance(event, str) else repr(event),
            data=_copied(data) if isinstance(data, Mapping) else {},
            id=new_event_id(),
            time=utc_timestamp(),
            source=self.source,
        )
        problem = _refusal(event, data, delay, condition)
        if problem is None and self._closed:
            problem = "the event bus is closed"
        if problem is None and self._depth() >= MAX_NESTING:
            problem = f"events nested more than {MAX_NESTING} deep (do handlers emit in a loop?)"
        if problem is not None:
            return self._settle(
                Emission(made, False, f"refused: {problem}", [], outcome=REFUSED, error=problem),
                condition,
                delay,
            )
        if delay:
            if condition is not None:
                failed = _syntax_error(condition)
                if failed is not None:
                    return self._settle(
                        Emission(
                            made,
                            False,
                            f"condition error: {failed}",
                            [],
                            outcome=CONDITION_ERROR,
                            error=failed,
                        ),
                        condition,
                        delay,
                    )
            return self._schedule(made, condition, float(delay))
        return self._fire(made, condition, None)

    def _fire(self, event: Event, condition: str | None, delay: float | None) -> Emission:
        if condition is not None:
            from ksi_patterns.conditions import ConditionError, evaluate

            try:
                holds = evaluate(condition, self._variables(event.data))
            except ConditionError as err:
                return self._settle(
                    Emission(
                        event,
                        False,
                        f"condition error: {err.message}",
                        [],
                        outcome=CONDITION_ERROR,
                        error=err.message,
                    ),
                    condition,
                    delay,
                )
            if not holds:
                reason = f"condition false: {condition}"
                return self._settle(
                    Emission(event, False, reason, [], outcome=CONDITION_FALSE), condition, delay
                )
        registrations = self._matching(event.name)
        if not registrations:
            return self._settle(
                Emission(event, True, NO_HANDLER, [], outcome=NO_HANDLER), condition, delay
            )
        results = []
        self._enter()
        try:
            for registration in registrations:
                results.append(self._run(registration, event))
        finally:
            self._leave()
        failures = sum(1 for result in results if not result["ok"])
        summary = f"{failures} of {len(results)} handler(s) failed" if failures else None
        return self._settle(Emission(event, True, summary, results), condition, delay)

    def _run(self, registration: Registration, event: Event) -> dict[str, Any]:
        try:
            value = registration.handler(event, self)
        except KsiError as err:
            return {"handler": registration.name, "ok": False, "error": str(err)}
        except Exception as err:  # a handler's failure is its result, not the bus's
            return {
                "handler": registration.name,
                "ok": False,
                "error": f"{type(err).__name__}: {err}",
            }
        return {"handler": registration.name, "ok": True, "result": json_safe(value)}

    def _variables(self, data: Mapping[str, Any]) -> dict[str, Any]:
        metrics = self._metrics
        return {**data, **metrics, "data": data, "metrics": metrics}

    def _depth(self) -> int:
        return int(getattr(self._local, "depth", 0))

    def _enter(self) -> None:
        self._local.depth = self._depth() + 1

    def _leave(self) -> None:
        self._local.depth = self._depth() - 1

    def _settle(self, emission: Emission, condition: str | None, delay: float | None) -> Emission:
        self._log(emission, condition, delay)
        with self._lock:
            observers = list(self._observers)
        for observer in observers:
            with contextlib.suppress(Exception):
                observer(emission)
        return emission

    # -- delayed events ---------------------------------------------------------------------

    def _schedule(self, event: Event, condition: str | None, delay: float) -> Emission:
        import time

        pending = _Pending(time.monotonic() + delay, next(self._sequence), event, condition, delay)
        with self._wake:
            heapq.heappush(self._pending, pending)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._scheduler, name="ksi-event-scheduler", daemon=True
                )
                self._thread.start()
            self._wake.notify_all()
        emission = Emission(
            event, False, f"scheduled in {delay:g} s", [], scheduled=True, outcome=SCHEDULED
        )
        return self._settle(emission, condition, delay)

    def _scheduler(self) -> None:
        import time

        while True:
            with self._wake:
                while not self._closed:
                    if self._pending:
                        wait = self._pending[0].due - time.monotonic()
                        if wait <= 0:
                            break
                        self._wake.wait(wait)
                    else:
                        self._wake.wait()
                if self._closed:
                    return
                due = heapq.heappop(self._pending)
                self._firing += 1
            try:
                self._fire(due.event, due.condition, due.delay)
            except Exception as err:  # never let the scheduler die: the log says what failed
                self._log_error(f"delayed {due.event.name} failed: {err}")
            finally:
                with self._wake:
                    self._firing -= 1
                    self._wake.notify_all()

    def pending(self) -> int:
        """How many delayed events have not fired yet (those firing now included)."""
        with self._wake:
            return len(self._pending) + self._firing

    def wait(self, timeout: float | None = None) -> None:
        """Until every scheduled event has fired (or `timeout` seconds passed). Called from a
        handler running on the scheduler thread, it returns at once (it would wait for itself)."""
        if threading.current_thread() is self._thread:
            return
        with self._wake:
            self._wake.wait_for(lambda: not self._pending and not self._firing, timeout)

    def close(self) -> None:
        """Stop the scheduler; delayed events that have not fired are cancelled (and logged)."""
        with self._wake:
            if self._closed:
                return
            self._closed = True
            cancelled = sorted(self._pending)
            self._pending.clear()
            self._wake.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)
        for pending in cancelled:
            reason = f"cancelled: the bus closed before its delay of {pending.delay:g} s was over"
            self._settle(
                Emission(pending.event, False, reason, [], outcome=CANCELLED),
                pending.condition,
                pending.delay,
            )

    def __enter__(self) -> EventBus:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- the log ----------------------------------------------------------------------------

    def _log(self, emission: Emission, condition: str | None, delay: float | None) -> None:
        if self.log_path is None:
            return
        event = emission.event
        record: dict[str, Any] = {
            "time": utc_timestamp(),
            "id": event.id,
            "event": event.name,
            "source": event.source,
            "outcome": emission.outcome,
            "reason": emission.reason,
            "data": redact(event.data),
            "handlers": [
                {key: value for key, value in result.items() if key != "result"}
                for result in emission.results
            ],
            "pid": os.getpid(),
        }
        if condition is not None:
            record["condition"] = condition
        if delay:
            record["delay"] = delay
            record["emitted_at"] = event.time
        try:
            write_line(self.log_path, log_line(record))
        except OSError as err:
            self._log_error(f"cannot write the event log {self.log_path}: {err}")

    def _log_error(self, message: str) -> None:
        self.log_errors = [*self.log_errors[-19:], message]


# ---------------------------------------------------------------------------------------------
# Checks


def _refusal(event: Any, data: Any, delay: Any, condition: Any) -> str | None:
    """Why an emission cannot be made as asked, or None."""
    if not isinstance(event, str) or not EVENT_NAME.match(event):
        return (
            f"invalid event name {event!r}: letters, digits and _ . : / - "
            "(e.g. composition:fork), at most 200 characters"
        )
    if data is not None and not isinstance(data, Mapping):
        return f"the event data must be a mapping (JSON object), not {type(data).__name__}"
    if delay is not None:
        if isinstance(delay, bool) or not isinstance(delay, int | float):
            return f"delay must be a number of seconds, not {delay!r}"
        if not math.isfinite(delay) or delay < 0 or delay > MAX_DELAY:
            return f"delay must be between 0 and {MAX_DELAY:g} seconds, not {delay!r}"
    if condition is not None and not isinstance(condition, str):
        return f"the condition must be text, not {type(condition).__name__}"
    return None


def _syntax_error(condition: str) -> str | None:
    from ksi_patterns.conditions import ConditionError, check

    try:
        check(condition)
    except ConditionError as err:
        return err.message
    return None


def _handler_name(handler: Handler) -> str:
    module = getattr(handler, "__module__", None)
    name = getattr(handler, "__qualname__", None) or type(handler).__qualname__
    return f"{module}.{name}" if module else str(name)


def _copied(data: Mapping[str, Any]) -> dict[str, Any]:
    """The event's own copy of `data` (a later change by the caller does not reach a delayed
    event); keys become text."""
    try:
        copied = copy.deepcopy(dict(data))
    except Exception:  # objects that cannot be copied are shared
        copied = dict(data)
    return {str(key): value for key, value in copied.items()}


# ---------------------------------------------------------------------------------------------
# JSON, secrets and the log file

_SECRET_WORDS = frozenset(
    {
        "token", "password", "passwd", "passphrase", "secret", "authorization", "apikey",
        "credential", "credentials", "cookie", "pwd",
    }
)  # fmt: skip
_SECRET_PAIRS = frozenset({("api", "key"), ("private", "key"), ("access", "key")})
_SECRET_VALUE = re.compile(r"^(Bearer\s+\S+|sk-ant-[A-Za-z0-9_-]{8,}.*)$", re.IGNORECASE)
_WORD_SPLIT = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])")


def is_secret_key(key: str) -> bool:
    """api_key, apiKey, X-Api-Key, access_token, password, client_secret, Authorization: yes;
    max_tokens, tokens_used: no (the word must be whole)."""
    words = [word.lower() for word in _WORD_SPLIT.split(key) if word]
    if any(word in _SECRET_WORDS for word in words):
        return True
    return any(pair in _SECRET_PAIRS for pair in itertools.pairwise(words))


def redact(value: Any, depth: int = 0) -> Any:
    """`value` with the values of secret-looking keys (and bearer tokens, API keys) replaced by
    "[redacted]", at any depth; JSON-safe."""
    if depth > MAX_DEPTH:
        return "[nested too deeply]"
    if isinstance(value, Mapping):
        return {
            str(key): REDACTED
            if isinstance(key, str) and is_secret_key(key) and child is not None
            else redact(child, depth + 1)
            for key, child in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(child, depth + 1) for child in value]
    if isinstance(value, str) and _SECRET_VALUE.match(value):
        return REDACTED
    return json_safe(value, depth)


def json_safe(value: Any, depth: int = 0) -> Any:
    """`value` as JSON data: objects with `to_json()` give that, other objects their text."""
    if depth > MAX_DEPTH:
        return "[nested too deeply]"
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Mapping):
        return {str(key): json_safe(child, depth + 1) for key, child in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=repr) if isinstance(value, set | frozenset) else value
        return [json_safe(child, depth + 1) for child in items]
    to_json = getattr(value, "to_json", None)
    if callable(to_json):
        return json_safe(to_json(), depth + 1)
    if isinstance(value, datetime):
        return utc_timestamp(value) if value.tzinfo else value.isoformat()
    return str(value)


def log_line(record: Mapping[str, Any]) -> bytes:
    """One JSON line; data too large for a line is replaced by a note of its size."""
    line = json.dumps(record, ensure_ascii=False, separators=(",", ":"), default=str) + "\n"
    encoded = line.encode("utf-8", errors="replace")
    if len(encoded) <= MAX_LOG_LINE:
        return encoded
    slim = dict(record)
    slim["data"] = {"_truncated": True, "_bytes": len(encoded)}
    slim["reason"] = str(slim.get("reason") or "")[:1000] or None
    slim["handlers"] = [
        {k: str(v)[:1000] if k == "error" else v for k, v in h.items()}
        for h in record.get("handlers", [])
    ][:100]
    slim["condition"] = str(slim.get("condition", ""))[:2000] or None
    line = json.dumps(slim, ensure_ascii=False, separators=(",", ":"), default=str) + "\n"
    return line.encode("utf-8", errors="replace")


def write_line(path: Path, line: bytes) -> None:
    """Append `line` with one write on an O_APPEND descriptor: concurrent writers (threads or
    processes) never interleave within a line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags, 0o600)
    try:
        written = os.write(fd, line)
        while written < len(line):  # only on a full disk or a signal; finish the line
            written += os.write(fd, line[written:])
    finally:
        os.close(fd)
