"""A session's event bus: its wiring (composition handlers, plugins, and `agent:spawn`), emitting
an agent's event and recording what came of it (counts, errors, tracked decisions), and running
the sub-agent session an `agent:spawn` asks for, with the same backend."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ksi_patterns.errors import KsiError, UsageError
from ksi_patterns.orchestrator import prompts
from ksi_patterns.orchestrator.agent import Agent
from ksi_patterns.orchestrator.protocols import SessionError
from ksi_patterns.orchestrator.tools import ToolOutcome, decision_of, outcome_of

if TYPE_CHECKING:
    from ksi_patterns.events.bus import Emission, Event, EventBus
    from ksi_patterns.orchestrator.session import Session


def build_bus(session: Session) -> EventBus:
    """The bus the session's agents emit on: the event log, composition handlers, plugins, and
    `agent:spawn`."""
    from ksi_patterns.composition.plugins import (
        event_log_path,
        load_plugins,
        register_composition_handlers,
    )
    from ksi_patterns.events.bus import EventBus

    bus = EventBus(
        log_path=event_log_path(session.registry),
        metrics=session.metrics,
        source=f"session:{session.id}",
    )
    register_composition_handlers(bus, session.registry)
    load_plugins(bus)

    def agent_spawn(event: Event, bus: EventBus) -> dict[str, Any]:
        return spawn(session, event)

    bus.on("agent:spawn", agent_spawn, name="orchestrator:agent_spawn")
    return bus


def emit(
    session: Session,
    agent: Agent,
    event: str,
    data: Mapping[str, Any],
    *,
    delay: float | None,
    condition: str | None,
    line: int | None,
) -> ToolOutcome:
    """`event` emitted by `agent` on the session's bus, recorded; the result for its tool call."""
    stack = session.agent_stack()
    pushed = not stack or stack[-1] is not agent
    if pushed:
        stack.append(agent)
    try:
        emission = session.bus.emit(event, dict(data), delay=delay, condition=condition)
    except SessionError:
        raise
    except KsiError as err:  # a bad condition, a refused event name
        session.errors += 1
        fields: dict[str, Any] = {"event": event, "data": dict(data), "emitted": False}
        if line is not None:
            fields["line"] = line
        agent.record("event", **fields, reason=err.message, is_error=True, results=[])
        return ToolOutcome({"event": event, "emitted": False, "error": err.message}, True)
    finally:
        if pushed:
            stack.pop()
    if session.fatal is not None:  # a sub-agent's service failed: the session ends with it
        fatal, session.fatal = session.fatal, None
        raise fatal
    outcome = outcome_of(emission)
    if emission.emitted:
        session.events[event] += 1
    elif not emission.scheduled:
        session.not_emitted += 1
    if outcome.is_error:
        session.errors += 1
    fields = {
        "event": event,
        "id": emission.event.id,
        "data": emission.event.data,
        "emitted": emission.emitted,
        "scheduled": emission.scheduled,
        "outcome": emission.outcome,
        "reason": emission.reason,
        "results": emission.results,
        "is_error": outcome.is_error,
    }
    if delay is not None:
        fields["delay"] = delay
    if condition is not None:
        fields["condition"] = condition
    if line is not None:
        fields["line"] = line
    agent.record("event", **fields)
    if event == "composition:track_decision" and emission.emitted and not outcome.is_error:
        _track(session, agent, emission)
    return outcome


def _track(session: Session, agent: Agent, emission: Emission) -> None:
    decision = decision_of(agent.name, emission)
    session.decisions.append(decision)
    fields = decision.to_json()
    fields.pop("agent")
    agent.record("decision", **fields)


def spawn(session: Session, event: Event) -> dict[str, Any]:
    """The `agent:spawn` handler: a sub-agent of the agent whose turn emitted it, run to its end
    with the session's backend; its text is the handler's result."""
    from ksi_patterns.documents.model import check_name

    stack = session.agent_stack()
    if not stack:
        raise UsageError("agent:spawn runs only during an agent's turn (not delayed)")
    parent = stack[-1]
    depth = parent.depth + 1
    if depth > session.limits.max_depth:
        raise UsageError(
            f"agent:spawn refused: {parent.name} is at depth {parent.depth}, and sub-agents "
            f"spawn no deeper than {session.limits.max_depth}"
        )
    data = event.data
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
            f"Act as the {role or 'helper'} of the {session.pattern} pattern for this task: "
            f"{session.options.task}"
        )
    profile_text = prompts.profile_prompt(profile, session.registry.lookup())
    session.spawned += 1
    name = f"{role or profile}#{session.spawned}"
    agent = Agent(
        session,
        name,
        profile,
        role,
        task,
        prompts.agent_prompt(profile_text, role, task),
        depth=depth,
        max_turns=session.limits.sub_agent_turns,
    )
    session.record(
        "agent_start",
        agent=name,
        depth=depth,
        profile=profile,
        role=role,
        task=task,
        parent=parent.name,
        system=agent.system,
    )
    try:
        session.run_agent(agent)
    except SessionError as err:
        # the service failed inside the sub-agent: the whole session ends with it
        session.fatal = err
        raise
    session.record(
        "agent_end",
        agent=name,
        depth=depth,
        turns=agent.turns,
        stop_reason=agent.stop_reason,
        text=agent.final_text,
    )
    session.agents.append(
        {
            "agent": name,
            "profile": profile,
            "role": role,
            "depth": depth,
            "turns": agent.turns,
            "stop_reason": agent.stop_reason,
        }
    )
    return {
        "agent_id": name,
        "profile": profile,
        "role": role,
        "text": agent.final_text,
        "turns": agent.turns,
        "stop_reason": agent.stop_reason,
    }
