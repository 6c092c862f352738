"""What an `agent:spawn` event asks for: the sub-agent's profile, role, task and depth, read from
the event's data and checked against the spawning agent's depth. The session runs the sub-agent;
this module only reads the request and reports on the sub-agent when it ends."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ksi_patterns.errors import UsageError

if TYPE_CHECKING:
    from ksi_patterns.orchestrator.agent import Agent

SPAWN_EVENT = "agent:spawn"  # handled by the session itself, not by a composition handler


@dataclass(frozen=True)
class SpawnRequest:
    profile: str
    role: str | None
    task: str
    depth: int


def read_spawn(
    data: Mapping[str, Any], parent: Agent, *, max_depth: int, pattern: str, session_task: str
) -> SpawnRequest:
    """The sub-agent `parent` asks for with `data`; a UsageError when it may not spawn (too deep)
    or names no valid profile. Without a task, it helps with the session's task."""
    from ksi_patterns.documents.model import check_name

    depth = parent.depth + 1
    if depth > max_depth:
        raise UsageError(
            f"agent:spawn refused: {parent.name} is at depth {parent.depth}, and sub-agents "
            f"spawn no deeper than {max_depth}"
        )
    profile = data.get("profile")
    if not isinstance(profile, str) or not profile:
        raise UsageError('agent:spawn needs "profile": the name of an agent profile')
    check_name(profile, "profile")
    role = data.get("role") if isinstance(data.get("role"), str) else None
    task = next(
        (
            str(data[key])
            for key in ("task", "purpose")
            if isinstance(data.get(key), str) and data[key].strip()
        ),
        None,
    )
    if task is None:
        task = (
            f"Act as the {role or 'helper'} of the {pattern} pattern for this task: {session_task}"
        )
    return SpawnRequest(profile, role, task, depth)


def sub_agent_entry(agent: Agent) -> dict[str, Any]:
    """A finished sub-agent as the summary lists it."""
    return {
        "agent": agent.name,
        "profile": agent.profile,
        "role": agent.role,
        "depth": agent.depth,
        "turns": agent.turns,
        "stop_reason": agent.stop_reason,
    }


def spawn_result(agent: Agent) -> dict[str, Any]:
    """A finished sub-agent as the `agent:spawn` handler's result: its answer, for its parent."""
    return {
        "agent_id": agent.name,
        "profile": agent.profile,
        "role": agent.role,
        "text": agent.final_text,
        "turns": agent.turns,
        "stop_reason": agent.stop_reason,
    }
