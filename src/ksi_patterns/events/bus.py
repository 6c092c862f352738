"""The event bus: `emit(event, data, delay=None, condition=None)`, handlers, and the event log.

This module knows no registry: whoever builds a bus may give it a `context` (the composition
handlers find their registry there) that the bus itself never reads. In short:

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

The types live in `types` (Event, Emission, outcomes), the queue of delayed events in
`scheduler`, JSON-safe and redacted values in `values`, and the log in `log`; this module is the
bus (registration, dispatch, conditions, refusals).
"""

from __future__ import annotations

import contextlib
import copy
import math
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from ksi_patterns.errors import KsiError
from ksi_patterns.events.log import log_line, log_record, write_line
from ksi_patterns.events.scheduler import DelayedEvents
from ksi_patterns.events.types import (
    CANCELLED,
    CONDITION_ERROR,
    CONDITION_FALSE,
    NO_HANDLER,
    REFUSED,
    SCHEDULED,
    Emission,
    Event,
    EventError,
    new_event_id,
)
from ksi_patterns.events.values import json_safe, utc_timestamp

Handler = Callable[[Event, "EventBus"], Any]
Observer = Callable[[Emission], None]

MAX_DELAY = 3600.0  # seconds
MAX_NESTING = 16  # events emitted by handlers of events emitted by handlers of ...
EVENT_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:/-]{0,199}$")


@dataclass(frozen=True)
class Registration:
    pattern: str
    name: str
    handler: Handler
    about: Mapping[str, str] = field(default_factory=dict)  # e.g. parameters, announces


class EventBus:
    def __init__(
        self,
        *,
        log_path: Path | None = None,
        metrics: Mapping[str, Any] | None = None,
        source: str | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> None:
        self.log_path = log_path
        self.source = source
        self.context: dict[str, Any] = dict(context or {})  # for handlers; never read here
        self.log_errors: list[str] = []  # why log lines could not be written (last 20)
        self._metrics: dict[str, Any] = dict(metrics or {})
        self._registrations: list[Registration] = []
        self._observers: list[Observer] = []
        self._lock = threading.RLock()
        self._local = threading.local()
        self._delayed = DelayedEvents(
            fire=lambda due: self._fire(due.event, due.condition, due.delay),
            failed=lambda due, err: self._log_error(f"delayed {due.event.name} failed: {err}"),
        )

    # -- handlers ---------------------------------------------------------------------------

    def on(
        self,
        pattern: str,
        handler: Handler,
        *,
        name: str | None = None,
        about: Mapping[str, str] | None = None,
    ) -> None:
        """Call `handler(event, bus)` for every event whose name matches `pattern` (fnmatch:
        `composition:*`, `*`), after the handlers registered before it. `about` describes it
        for listings (`parameters`: what the data may hold, `announces`: what it emits)."""
        if not isinstance(pattern, str) or not pattern.strip():
            raise EventError(f"a handler needs an event name or pattern, not {pattern!r}")
        if not callable(handler):
            raise EventError(f"the handler for {pattern!r} is not callable")
        label = name or _handler_name(handler)
        with self._lock:
            self._registrations.append(Registration(pattern, label, handler, dict(about or {})))

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
        if problem is None and self._delayed.closed:
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
            from ksi_patterns.events.condition_syntax import ConditionError
            from ksi_patterns.events.conditions import evaluate

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
        self._delayed.add(event, condition, delay)
        emission = Emission(
            event, False, f"scheduled in {delay:g} s", [], scheduled=True, outcome=SCHEDULED
        )
        return self._settle(emission, condition, delay)

    def pending(self) -> int:
        """How many delayed events have not fired yet (those firing now included)."""
        return self._delayed.count()

    def wait(self, timeout: float | None = None) -> None:
        """Until every scheduled event has fired (or `timeout` seconds passed). Called from a
        handler running on the scheduler thread, it returns at once (it would wait for itself)."""
        self._delayed.wait(timeout)

    def close(self) -> None:
        """Stop the scheduler; delayed events that have not fired are cancelled (and logged)."""
        for pending in self._delayed.close():
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
        record = log_record(emission, condition, delay)
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
    from ksi_patterns.events.condition_syntax import ConditionError
    from ksi_patterns.events.conditions import check

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
