"""System prompts: the resolved profile's instructions, then the pattern, then the task."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ksi_patterns.documents.extends import Lookup, resolve
from ksi_patterns.errors import NotFoundError, UsageError
from ksi_patterns.orchestrator.dsl.source import strategy_of

TOOL_NAME = "emit_event"

EMIT_EVENT_TOOL: dict[str, Any] = {
    "name": TOOL_NAME,
    "description": (
        "Emit one event on the KSI event bus; this is the universal action (event:emit). "
        "The result is what the event's handlers returned, as JSON: whether the event was "
        "emitted (a condition may hold it back), when it was scheduled (delay), and each "
        "handler's result or error. Registry operations are composition:* events "
        "(discover, select, fork, merge, diff, track_decision); agent:spawn with "
        '{"profile": "...", "task": "..."} runs a sub-agent and returns its answer.'
    ),
    "input_schema": {
        "type": "object",
        "properties": {
            "event": {
                "type": "string",
                "description": 'The event name, "namespace:action".',
            },
            "data": {"type": "object", "description": "The event's fields."},
            "delay": {
                "type": "number",
                "description": "Seconds to wait before the event is delivered.",
            },
            "condition": {
                "type": "string",
                "description": (
                    "Emit only if this expression over the event data and the session "
                    'metrics holds, e.g. "timeout_rate > 0.3".'
                ),
            },
        },
        "required": ["event"],
    },
}


def profile_prompt(profile: str, lookup: Lookup) -> str:
    """The profile's instructions: its own `prompt`, then its components' inline prompts in
    order, after resolving `extends` (a component replaces its parent's namesake in place)."""
    if lookup(profile) is None:
        raise NotFoundError(f"no profile named {profile!r}")
    resolved = resolve(profile, lookup)
    if resolved.get("type") not in (None, "profile"):
        raise UsageError(f"{profile!r} is a {resolved.get('type')}, not a profile")
    parts: list[str] = []
    if isinstance(resolved.get("prompt"), str):
        parts.append(resolved["prompt"].strip())
    for component in resolved.get("components") or []:
        if not isinstance(component, Mapping):
            continue
        inline = component.get("inline")
        prompt = inline.get("prompt") if isinstance(inline, Mapping) else None
        if isinstance(prompt, str) and prompt.strip():
            parts.append(prompt.strip())
    if not parts:
        raise UsageError(f"profile {profile!r} has no prompt (no `prompt`, no inline prompts)")
    return "\n\n".join(parts)


def orchestrator_prompt(
    profile_text: str,
    pattern: str,
    pattern_yaml: str,
    resolved_pattern: Mapping[str, Any],
    task: str,
    metrics: Mapping[str, Any],
) -> str:
    own_strategy = strategy_of(_plain(pattern_yaml))
    strategy = strategy_of(dict(resolved_pattern))
    parent = resolved_pattern.get("extends")
    sections = [
        profile_text,
        f"# THE PATTERN YOU ARE RUNNING: {pattern}",
        "Carry out its strategy (orchestration_logic.strategy) below: it is the DSL for YOU to "
        "interpret. Act only through the emit_event tool. Track the decisions you make with "
        f'composition:track_decision and "pattern": "{pattern}".',
    ]
    if strategy:
        inherited = "" if own_strategy else f" (inherited from {parent})"
        sections.append(f"## Strategy to interpret{inherited}\n```\n{strategy.rstrip()}\n```")
    else:
        sections.append("## Strategy\nThis pattern has no strategy: follow its description.")
    note = f" It extends {parent}: fields it does not set are inherited." if parent else ""
    sections.append(f"## The whole pattern (YAML){note}\n```yaml\n{pattern_yaml.rstrip()}\n```")
    if metrics:
        shown = "\n".join(f"- {key}: {value!r}" for key, value in metrics.items())
        sections.append(f"## Session metrics (known now)\n{shown}")
    sections.append(f"# YOUR TASK\n{task.strip()}")
    return "\n\n".join(sections)


def agent_prompt(profile_text: str, role: str | None, task: str) -> str:
    sections = [profile_text]
    if role:
        sections.append(f"# YOUR ROLE\n{role}")
    sections.append(f"# YOUR TASK\n{task.strip()}")
    sections.append(
        "When you are done, answer with your result as plain text: it is returned to the "
        "orchestrator that spawned you."
    )
    return "\n\n".join(sections)


def _plain(text: str) -> Any:
    from ksi_patterns.documents.loading import load_plain

    return load_plain(text, "pattern")
