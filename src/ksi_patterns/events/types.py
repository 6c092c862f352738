"""What travels on the event bus: an Event, and the Emission that says what became of emitting
it (with its outcome, one of the constants below)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ksi_patterns.errors import KsiError
from ksi_patterns.events.values import json_safe

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


def new_event_id() -> str:
    from ulid import ULID

    return str(ULID())
