"""The agent's one tool, `emit_event`: what its input must be (`read_call`), what its result
says about an emission (`outcome_of`), how the transcript records the emission (`event_record`),
and the decision a `composition:track_decision` result records (`decision_of`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ksi_patterns.orchestrator import prompts
from ksi_patterns.orchestrator.summary import Decision

if TYPE_CHECKING:
    from ksi_patterns.events.types import Emission


@dataclass(frozen=True)
class ToolOutcome:
    """What a tool call returns to the agent: the text of the tool_result and whether it failed."""

    content: dict[str, Any]
    is_error: bool

    @property
    def text(self) -> str:
        return json.dumps(self.content, ensure_ascii=False, default=str)


@dataclass(frozen=True)
class EmitEventCall:
    """An `emit_event` call whose input was checked: what to emit, and how."""

    event: str
    data: dict[str, Any]
    delay: float | None
    condition: str | None


def read_call(name: str, tool_input: Any) -> EmitEventCall | str:
    """The model's tool call as an `emit_event` call, or why it is refused."""
    if name != prompts.TOOL_NAME:
        return f"unknown tool {name!r}: the only tool is {prompts.TOOL_NAME}"
    if not isinstance(tool_input, dict):
        return "emit_event takes an object: {event, data, delay, condition}"
    event = tool_input.get("event")
    data = tool_input.get("data")
    delay = tool_input.get("delay")
    condition = tool_input.get("condition")
    if not isinstance(event, str) or not event.strip():
        return 'emit_event needs "event": a string such as "monitoring:alert"'
    if data is not None and not isinstance(data, dict):
        return '"data" must be an object'
    if delay is not None and (isinstance(delay, bool) or not isinstance(delay, int | float)):
        return '"delay" must be a number of seconds'
    if condition is not None and not isinstance(condition, str):
        return '"condition" must be a string'
    return EmitEventCall(
        event.strip(),
        data or {},
        delay=None if delay is None else float(delay),
        condition=condition or None,
    )


def outcome_of(emission: Emission) -> ToolOutcome:
    """The tool result: the emission as JSON; an error when the event was refused, its
    condition could not be evaluated, or a handler failed."""
    from ksi_patterns.events.types import CONDITION_ERROR, REFUSED

    content: dict[str, Any] = {
        "event": emission.event.name,
        "id": emission.event.id,
        "emitted": emission.emitted,
        "scheduled": emission.scheduled,
        "outcome": emission.outcome,
        "reason": emission.reason,
        "results": emission.results,
    }
    if emission.error:
        content["error"] = emission.error
    failed = emission.outcome in (CONDITION_ERROR, REFUSED) or bool(emission.failed)
    return ToolOutcome(content, failed)


def event_record(
    event: str,
    emission: Emission,
    outcome: ToolOutcome,
    *,
    delay: float | None,
    condition: str | None,
    line: int | None,
) -> dict[str, Any]:
    """The transcript's `event` record of `emission` (the fields an agent adds aside)."""
    fields: dict[str, Any] = {
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
    return fields


def decision_of(agent: str, emission: Emission) -> Decision:
    """The decision `agent` tracked with a `composition:track_decision` emission, with the
    first handler result that did not fail and the commit it names."""
    data = emission.event.data
    result = next((r for r in emission.results if isinstance(r, dict) and not _is_failure(r)), None)
    commit = _find_key(result, ("commit", "commit_id"))
    return Decision(
        decision=str(data.get("decision")),
        pattern=data.get("pattern") if isinstance(data.get("pattern"), str) else None,
        confidence=data.get("confidence"),
        agent=agent,
        result=result,
        commit=None if commit is None else str(commit),
    )


def _is_failure(result: Any) -> bool:
    return isinstance(result, dict) and result.get("ok") is False


def _find_key(value: Any, keys: tuple[str, ...]) -> Any:
    if isinstance(value, dict):
        for key in keys:
            if key in value:
                return value[key]
        for child in value.values():
            found = _find_key(child, keys)
            if found is not None:
                return found
    return None
