"""What a session is given: `SessionOptions` (pattern, task, backend and its settings, profile,
model, metrics, secrets), its `Limits` (turns, tokens, spawn depth) and the defaults they fall
back to."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ksi_patterns.errors import UsageError

DEFAULT_MODEL = "claude-sonnet-5-5"
DEFAULT_PROFILE = "base_orchestrator"
MAX_SPAWN_DEPTH = 2  # the orchestrator is depth 0; its sub-agents 1; theirs 2, who spawn no more


@dataclass(frozen=True)
class Limits:
    max_turns: int = 20  # the orchestrator's turns
    max_tokens: int = 200_000  # input + output, the whole session (sub-agents included)
    sub_agent_turns: int = 8  # each sub-agent's own turn limit
    max_depth: int = MAX_SPAWN_DEPTH

    def __post_init__(self) -> None:
        for name in ("max_turns", "max_tokens", "sub_agent_turns"):
            if getattr(self, name) < 1:
                raise UsageError("{field} must be at least 1", field=name)

    def to_json(self) -> dict[str, int]:
        return asdict(self)


@dataclass
class SessionOptions:
    pattern: str
    task: str
    backend: str = "simulate"
    profile: str | None = None  # default: the registry's defaults.orchestrator_profile
    model: str | None = None  # default: the registry's defaults.model
    limits: Limits = field(default_factory=Limits)
    metrics: dict[str, Any] = field(default_factory=dict)
    secrets: tuple[str, ...] = ()  # never written to the transcript
    # the anthropic backend's: its key (a secret too), retries of a failed request, streaming
    api_key: str = field(default="", repr=False)
    max_retries: int = 2
    stream: bool = False
