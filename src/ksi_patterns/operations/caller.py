"""Who asks for an operation, and how what it did is announced.

A write names its actor (a fork's `fork_author`, a decision's `agent_id`, a learning's
`discovered_by`): the request's own value, else the caller's agent (an MCP client's name), else
the registry's `defaults.author`, else the git user. Announcements (`composition:forked`, ...) go
onto the bus the request came on, so that a session sees what its events caused; a request from
a terminal or from code gets a bus of its own, with the event log and the plugins.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ksi_patterns.events.bus import EventBus
    from ksi_patterns.registry.registry import Registry

Warn = Callable[[str], None]
ANNOUNCE_WAIT = 5.0  # seconds an announcement waits for what plugins delayed


@dataclass(frozen=True)
class Caller:
    """The face an operation was asked through."""

    source: str = "api"  # "cli", "mcp", "session:<id>": the event log's `source`
    agent: str | None = None  # who acts, when the request names nobody
    bus: EventBus | None = None  # the bus the request came on (announcements go there)
    warn: Warn | None = None  # where warnings go (plugins that failed, notes)

    def note(self, message: str) -> None:
        if self.warn is not None:
            self.warn(message)


FROM_CODE = Caller()  # a request made through the Python API


def announce(registry: Registry, caller: Caller, event: str, data: Mapping[str, Any]) -> None:
    """Tell the handlers that `event` happened. Never raises: the operation it ends succeeded."""
    if caller.bus is not None:
        caller.bus.emit(event, dict(data))
        return
    from ksi_patterns.operations.buses import open_bus  # only writes announce: reads start faster

    try:
        bus = open_bus(registry, source=caller.source, warn=caller.warn)
        failures: list[str] = []
        bus.observe(
            lambda emission: failures.extend(
                f"warning: handler {result['handler']} failed on {emission.event.name}: "
                f"{result.get('error')}"
                for result in emission.failed
            )
        )
        try:
            bus.emit(event, dict(data))
            bus.wait(ANNOUNCE_WAIT)
        finally:
            bus.close()
        for line in failures:
            caller.note(line)
    except Exception as err:  # an announcement never fails the operation it ends
        caller.note(f"warning: could not announce {event}: {err}")
