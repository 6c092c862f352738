"""The composition events: which registry operation handles each, and binding them to a bus.

`register_composition_handlers(bus, registry)` handles the seed's composition events with its
parameter names (`composition:fork` {parent, name, reason, modifications}, ...; see
`COMPOSITION_EVENTS`). Each handler returns JSON data (the tool result an LLM sees); the
operations are in composition_changes.py (they commit and announce) and composition_queries.py
(they only read).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ksi_patterns.composition.changes import (
    handle_fork,
    handle_learn,
    handle_merge,
    handle_record_run,
    handle_track_decision,
)
from ksi_patterns.composition.queries import handle_diff, handle_discover, handle_select
from ksi_patterns.events.bus import EventBus
from ksi_patterns.events.types import Event

if TYPE_CHECKING:
    from ksi_patterns.registry.registry import Registry


Operation = Callable[["Registry", Mapping[str, Any], EventBus], dict[str, Any]]


@dataclass(frozen=True)
class CompositionEvent:
    event: str
    operation: Operation
    parameters: str  # what the event data may hold, for `ksi event handlers` and prompts
    announces: str | None = None

    @property
    def handler_name(self) -> str:
        return "ksi." + self.event.replace(":", ".")


COMPOSITION_EVENTS = (
    CompositionEvent(
        "composition:discover",
        handle_discover,
        "type, tags, capabilities, metadata_filter {field: value | [values] | {op: value}}, "
        "where [FIELD OP VALUE], ref, all_branches",
    ),
    CompositionEvent(
        "composition:select",
        handle_select,
        "task, requirements {key: value | true} or [KEY], top, ref",
    ),
    CompositionEvent(
        "composition:fork",
        handle_fork,
        "parent, name, reason, modifications {dotted.path: value}, author",
        "composition:forked",
    ),
    CompositionEvent(
        "composition:merge",
        handle_merge,
        "fork (or name), into, branch, resolve (ours|theirs), dry_run",
        "composition:merged",
    ),
    CompositionEvent(
        "composition:diff",
        handle_diff,
        "a (or name), b (default: a's lineage parent at the fork point)",
    ),
    CompositionEvent(
        "composition:track_decision",
        handle_track_decision,
        "pattern, decision, context {}, outcome, confidence, agent_id, branch",
        "composition:decision_tracked",
    ),
    CompositionEvent(
        "composition:learn",
        handle_learn,
        "pattern, insight, confidence, evidence, discovered_by, branch",
        "composition:learned",
    ),
    CompositionEvent(
        "composition:record_run",
        handle_record_run,
        "pattern, score, success, run_id, branch",
        "composition:run_recorded",
    ),
)


def register_composition_handlers(bus: EventBus, registry: Registry) -> list[str]:
    """Handle the composition events with registry operations; their handler names."""
    return register_lazily(bus, lambda: registry)


def register_lazily(bus: EventBus, registry: Callable[[], Registry]) -> list[str]:
    """As `register_composition_handlers`, with the registry given by `registry()` when an event
    is handled (`handlers.inventory` lists the handlers of a bus that has no registry)."""
    # One registry operation at a time per bus (a delayed event fires on another thread);
    # re-entrant, as a plugin may emit a composition event while handling an announcement.
    lock = threading.RLock()
    names = []
    for spec in COMPOSITION_EVENTS:

        def handle(event: Event, bus: EventBus, spec: CompositionEvent = spec) -> dict[str, Any]:
            with lock:
                return spec.operation(registry(), event.data, bus)

        bus.on(spec.event, handle, name=spec.handler_name)
        names.append(spec.handler_name)
    return names
