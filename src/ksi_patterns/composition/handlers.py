"""The composition events, handled by registry operations: `register(bus)` is the entry point
`composition` of the group `ksi_patterns.handlers` (see pyproject.toml), so every bus ksi builds
gets them the way it gets plugins, and nothing below this face imports it.

Each handler reads its registry from the bus's context, translates the event's data into an
operation (requests.py) and returns the result as JSON (the tool result an LLM sees). Errors
name the event's fields as the event spells them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ksi_patterns.composition import requests
from ksi_patterns.errors import KsiError, UsageError

if TYPE_CHECKING:
    from ksi_patterns.events.bus import EventBus
    from ksi_patterns.events.types import Event
    from ksi_patterns.registry.registry import Registry

Request = Callable[["Registry", Mapping[str, Any], "EventBus"], dict[str, Any]]

# The operations' field names that events spell differently.
EVENT_WORDS = {"settings": "modifications", "kind": "type"}


@dataclass(frozen=True)
class CompositionEvent:
    event: str
    request: Request
    parameters: str  # what the event data may hold, for `ksi event handlers` and prompts
    announces: str | None = None

    @property
    def handler_name(self) -> str:
        return "ksi." + self.event.replace(":", ".")


COMPOSITION_EVENTS = (
    CompositionEvent(
        "composition:discover",
        requests.discover,
        "type, tags, capabilities, metadata_filter {field: value | [values] | {op: value}}, "
        "where [FIELD OP VALUE], ref, all_branches",
    ),
    CompositionEvent(
        "composition:select",
        requests.select,
        "task, requirements {key: value | true} or [KEY], top, ref",
    ),
    CompositionEvent(
        "composition:fork",
        requests.fork,
        "parent, name, reason, modifications {dotted.path: value}, author",
        "composition:forked",
    ),
    CompositionEvent(
        "composition:merge",
        requests.merge,
        "fork (or name), into, branch, resolve (ours|theirs), dry_run",
        "composition:merged",
    ),
    CompositionEvent(
        "composition:diff",
        requests.diff,
        "a (or name), b (default: a's lineage parent at the fork point)",
    ),
    CompositionEvent(
        "composition:track_decision",
        requests.track_decision,
        "pattern, decision, context {}, outcome, confidence, agent_id, branch",
        "composition:decision_tracked",
    ),
    CompositionEvent(
        "composition:learn",
        requests.learn,
        "pattern, insight, confidence, evidence, discovered_by, branch",
        "composition:learned",
    ),
    CompositionEvent(
        "composition:record_run",
        requests.record_run,
        "pattern, score, success, run_id, branch",
        "composition:run_recorded",
    ),
)


def register(bus: EventBus) -> None:
    """Handle the composition events on `bus` with the registry in its context."""
    # One registry operation at a time per bus (a delayed event fires on another thread);
    # re-entrant, as a plugin may emit a composition event while handling an announcement.
    lock = threading.RLock()
    for spec in COMPOSITION_EVENTS:

        def handle(event: Event, bus: EventBus, spec: CompositionEvent = spec) -> dict[str, Any]:
            registry = bus.context.get("registry")
            if registry is None:
                raise UsageError("this bus has no registry: it only lists handlers")
            with lock:
                try:
                    return spec.request(registry, event.data, bus)
                except KsiError as err:
                    raise _worded(err) from None

        about = {"parameters": spec.parameters, "announces": spec.announces or ""}
        bus.on(spec.event, handle, name=spec.handler_name, about=about)


def _worded(err: KsiError) -> KsiError:
    """The error with its field named as the event's data names it."""
    err.template = err.worded(lambda field: repr(EVENT_WORDS.get(field, field)))
    err.field = None
    return err
