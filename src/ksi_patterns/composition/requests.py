"""Each composition event as a call of its operation: the event's data in, the result's JSON out.

The parameter names are the seed's (`composition:fork` takes `parent`, `name`, `reason`,
`modifications`...). Nothing here decides anything: reading the data's fields is
event_data.py's, the rules are the operations'. Done through events, a fork never switches the
working tree, a merge never writes conflict markers into it (a conflicting merge is refused,
nothing written), a diff reads no file outside the registry, and what an operation announces
goes onto the bus the request came on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ksi_patterns.composition.event_data import (
    get_flag,
    get_mapping,
    get_required,
    get_text,
    get_texts,
)
from ksi_patterns.operations.caller import Caller

if TYPE_CHECKING:
    from ksi_patterns.events.bus import EventBus
    from ksi_patterns.registry.registry import Registry

MAX_CHANGES = 200  # changes a composition:diff result lists (the rest are counted)


def _caller(bus: EventBus, data: Mapping[str, Any], *keys: str) -> Caller:
    """The event's emitter as the operation's caller: who acts, when the data names nobody, is
    the agent the bus was opened for (an MCP client emitting through `emit_event`)."""
    agent = get_text(data, *keys, required=False) if keys else None
    known = bus.context.get("agent")
    fallback = known if isinstance(known, str) else None
    return Caller(source=bus.source or "events", agent=agent or fallback, bus=bus)


def fork(registry: Registry, data: Mapping[str, Any], bus: EventBus) -> dict[str, Any]:
    from ksi_patterns.operations.forks import fork as run

    done = run(
        registry,
        get_required(data, "parent"),
        get_required(data, "name"),
        reason=get_required(data, "reason"),
        author=get_text(data, "author", "agent_id", required=False),
        settings=get_mapping(data, "modifications"),
        caller=_caller(bus, data),
    )
    return done.to_json()


def merge(registry: Registry, data: Mapping[str, Any], bus: EventBus) -> dict[str, Any]:
    from ksi_patterns.operations.merges import merge_fork

    merged = merge_fork(
        registry,
        get_required(data, "fork", "name"),
        into=get_text(data, "into", required=False),
        branch=get_text(data, "branch", required=False),
        resolve=get_text(data, "resolve", required=False),
        dry_run=get_flag(data, "dry_run", False),
        leave_conflicts=False,
        caller=_caller(bus, data),
    )
    return merged.to_json()


def diff(registry: Registry, data: Mapping[str, Any], bus: EventBus) -> dict[str, Any]:
    from ksi_patterns.operations.diffs import diff as run

    done = run(
        registry,
        get_required(data, "a", "name"),
        get_text(data, "b", required=False),
        caller=_caller(bus, data),
    )
    return done.to_json(limit=MAX_CHANGES)


def track_decision(registry: Registry, data: Mapping[str, Any], bus: EventBus) -> dict[str, Any]:
    from ksi_patterns.operations.decisions import track_decision as run

    done = run(
        registry,
        get_required(data, "pattern", "name"),
        get_required(data, "decision"),
        context=get_mapping(data, "context"),
        outcome=get_text(data, "outcome", required=False),
        confidence=data.get("confidence"),
        agent_id=get_text(data, "agent_id", "agent", required=False),
        branch=get_text(data, "branch", required=False),
        caller=_caller(bus, data),
    )
    return done.to_json()


def learn(registry: Registry, data: Mapping[str, Any], bus: EventBus) -> dict[str, Any]:
    from ksi_patterns.errors import UsageError
    from ksi_patterns.operations.learnings import learn as run

    confidence = data.get("confidence")
    if confidence is None:
        raise UsageError("missing 'confidence' (from 0 to 1) in the event data")
    done = run(
        registry,
        get_required(data, "pattern", "name"),
        get_required(data, "insight"),
        confidence,
        evidence=get_text(data, "evidence", required=False),
        discovered_by=get_text(data, "discovered_by", "agent_id", required=False),
        branch=get_text(data, "branch", required=False),
        caller=_caller(bus, data),
    )
    return done.to_json()


def record_run(registry: Registry, data: Mapping[str, Any], bus: EventBus) -> dict[str, Any]:
    from ksi_patterns.errors import UsageError
    from ksi_patterns.operations.runs import record_run as run

    score = data.get("score")
    if score is None:
        raise UsageError("missing 'score' (from 0 to 1) in the event data")
    done = run(
        registry,
        get_required(data, "pattern", "name"),
        score,
        success=get_flag(data, "success", True),
        run_id=get_text(data, "run_id", required=False),
        branch=get_text(data, "branch", required=False),
        caller=_caller(bus, data),
    )
    return done.to_json()


def discover(registry: Registry, data: Mapping[str, Any], bus: EventBus) -> dict[str, Any]:
    from ksi_patterns.operations.finding import discover as run

    return run(
        registry,
        kind=get_text(data, "type", "kind", required=False),
        tags=get_texts(data, "tags") + get_texts(data, "tag"),
        capabilities=get_texts(data, "capabilities") + get_texts(data, "capability"),
        where=get_texts(data, "where"),
        metadata_filter=get_mapping(data, "metadata_filter"),
        ref=get_text(data, "ref", required=False),
        all_branches=get_flag(data, "all_branches", False),
    ).to_json()


def select(registry: Registry, data: Mapping[str, Any], bus: EventBus) -> dict[str, Any]:
    from ksi_patterns.events.values import json_safe
    from ksi_patterns.operations.finding import select as run

    wanted = data.get("requirements")
    requirements = wanted if isinstance(wanted, Mapping) else get_texts(data, "requirements")
    selection = run(
        registry,
        get_required(data, "task"),
        requirements=requirements,
        top=data.get("top", 5),
        ref=get_text(data, "ref", required=False) or "HEAD",
    )
    result: dict[str, Any] = json_safe(selection.to_json())
    return result
