"""Events from outside a session: `emit` one through the registry's handlers (the seed's
`event:emit`), read the event log, list the handlers."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ksi_patterns.documents.nesting import check_value_depth
from ksi_patterns.events.types import CONDITION_ERROR, REFUSED
from ksi_patterns.operations.buses import event_log_path, open_bus
from ksi_patterns.operations.caller import FROM_CODE, Caller
from ksi_patterns.registry.registry import Registry

if TYPE_CHECKING:
    from ksi_patterns.events.types import Emission


@dataclass(frozen=True)
class Emitted:
    """What became of an emitted event, and of every event its handlers emitted in turn."""

    top: Emission
    followers: list[Emission] = field(default_factory=list)
    log_errors: list[str] = field(default_factory=list)  # why log lines could not be written

    @property
    def refusal(self) -> str | None:
        """Why the event asked for was not carried out: refused, or its condition could not be
        evaluated (also when it was delayed and failed when it fired)."""
        asked = [self.top, *(e for e in self.followers if e.event.id == self.top.event.id)]
        bad = next((e for e in asked if e.outcome in (REFUSED, CONDITION_ERROR)), None)
        return None if bad is None else bad.error or bad.reason or bad.outcome

    @property
    def failed(self) -> bool:
        """Whether a handler failed, or an event the handlers emitted was refused."""
        troubled = (REFUSED, CONDITION_ERROR)
        return bool(self.top.failed) or any(
            e.failed or e.outcome in troubled for e in self.followers
        )

    def to_json(self) -> dict[str, Any]:
        return {**self.top.to_json(), "followed_by": [e.to_json() for e in self.followers]}


def emit(
    registry: Registry,
    event: str,
    data: Mapping[str, Any] | None = None,
    *,
    delay: float | None = None,
    condition: str | None = None,
    metrics: Mapping[str, Any] | None = None,
    plugins: bool = True,
    caller: Caller = FROM_CODE,
) -> Emitted:
    """Emit `event` on a bus with the registry's handlers, plugins and event log: handled now,
    or after `delay` seconds (waited for), if `condition` holds over the data and `metrics`."""
    check_value_depth(data, "data")
    check_value_depth(metrics, "metrics")
    bus = open_bus(
        registry,
        source=caller.source,
        metrics=metrics,
        plugins=plugins,
        warn=caller.warn,
        agent=caller.agent,
    )
    settled: list[Emission] = []
    bus.observe(settled.append)
    try:
        top = bus.emit(event, dict(data or {}), delay=delay, condition=condition)
        if top.scheduled:
            caller.note(f"{event}: {top.reason}; waiting…")
        bus.wait()
    finally:
        bus.close()
    return Emitted(top, [e for e in settled if e is not top], list(bus.log_errors))


@dataclass(frozen=True)
class LogTail:
    path: Path
    records: list[dict[str, Any]]
    end: int  # the log's size: where following it starts
    skipped: int  # lines that are not JSON


def event_log(
    registry: Registry, *, count: int = 20, wanted: Callable[[dict[str, Any]], bool] | None = None
) -> LogTail:
    """The last `count` records of the registry's event log that are `wanted`, oldest first."""
    from ksi_patterns.errors import UsageError
    from ksi_patterns.events.log import tail

    if count < 0:
        raise UsageError("{field} must be 0 or more", field="count")
    path = event_log_path(registry)
    records, end, skipped = tail(path, count, wanted or (lambda _record: True))
    return LogTail(path, records, end, skipped)
