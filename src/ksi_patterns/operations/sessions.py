"""Orchestrator sessions: `orchestrate` runs one; `sessions` and `transcript` read them back."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ksi_patterns.operations.buses import open_bus
from ksi_patterns.registry.registry import Registry

if TYPE_CHECKING:
    from ksi_patterns.events.bus import EventBus
    from ksi_patterns.orchestrator.options import SessionOptions
    from ksi_patterns.orchestrator.pattern import SessionPattern
    from ksi_patterns.orchestrator.session import Session
    from ksi_patterns.orchestrator.summary import Summary
    from ksi_patterns.orchestrator.transcripts import SessionInfo

Observer = Callable[[dict[str, Any]], None]


def session_bus(registry: Registry) -> Callable[[str, Mapping[str, Any]], EventBus]:
    """The buses a session emits on: the registry's event log, the composition handlers and the
    plugins (the session adds its own `agent:spawn`)."""
    return lambda source, metrics: open_bus(registry, source=source, metrics=metrics)


def start_session(
    registry: Registry, options: SessionOptions, *, observers: tuple[Observer, ...] = ()
) -> Session:
    """A session of the orchestrator on `options.pattern`, ready to `run()`; `observers` see
    every transcript record as it is written (a live view)."""
    from ksi_patterns.orchestrator.session import Session

    return Session(registry, options, bus_factory=session_bus(registry), observers=observers)


def orchestrate(
    registry: Registry, options: SessionOptions, *, observers: tuple[Observer, ...] = ()
) -> Summary:
    """Run an orchestrator session to its end: the model (or the simulator) carries out the
    pattern's strategy through events; the transcript is kept, the summary returned."""
    return start_session(registry, options, observers=observers).run()


def system_prompt(
    registry: Registry,
    pattern: str,
    task: str,
    *,
    profile: str | None = None,
    metrics: Mapping[str, Any] | None = None,
) -> SessionPattern:
    """What `orchestrate` would start with: the pattern, resolved, and the orchestrator's system
    prompt (the profile, else the registry's default one; the pattern; the task), for a host
    that is the orchestrator itself (`ksi mcp`'s `orchestrate` prompt)."""
    from ksi_patterns.orchestrator.pattern import chosen_profile, load_pattern

    return load_pattern(registry, pattern, chosen_profile(registry, profile), task, metrics or {})


def sessions(registry: Registry) -> list[SessionInfo]:
    """The registry's sessions, oldest first."""
    from ksi_patterns.orchestrator.transcripts import list_sessions

    return list_sessions(registry.store.state_dir)


def transcript(registry: Registry, session_id: str) -> tuple[Path, list[dict[str, Any]]]:
    """The transcript of session `session_id` (an id, a unique prefix of one, or `last`)."""
    from ksi_patterns.orchestrator.transcripts import find_session, read_records

    path = find_session(registry.store.state_dir, session_id)
    return path, read_records(path)
