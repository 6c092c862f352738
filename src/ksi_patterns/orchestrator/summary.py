"""What a session reports when it ends: the `Summary` (status, turns, tokens, events, errors,
sub-agents, skipped DSL lines) and the `Decision`s tracked during it, both as JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Decision:
    decision: str
    pattern: str | None
    confidence: Any
    agent: str
    result: Any
    commit: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "decision": self.decision,
            "pattern": self.pattern,
            "confidence": self.confidence,
            "agent": self.agent,
            "commit": self.commit,
            "result": self.result,
        }


@dataclass
class Summary:
    session: str
    pattern: str
    backend: str
    model: str | None
    profile: str
    status: str  # completed, stopped (a limit), error, interrupted
    stop_reason: str | None
    turns: int
    sub_agent_turns: int
    tokens_input: int
    tokens_output: int
    events: dict[str, int]
    not_emitted: int
    errors: int
    decisions: list[Decision]
    agents: list[dict[str, Any]]
    skipped: list[dict[str, Any]]
    final_text: str
    transcript: Path
    message: str | None = None
    warnings: list[str] = field(default_factory=list)
    pattern_path: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "session": self.session,
            "pattern": self.pattern,
            "pattern_path": self.pattern_path,
            "backend": self.backend,
            "model": self.model,
            "profile": self.profile,
            "status": self.status,
            "stop_reason": self.stop_reason,
            "turns": self.turns,
            "sub_agent_turns": self.sub_agent_turns,
            "tokens": {
                "input": self.tokens_input,
                "output": self.tokens_output,
                "total": self.tokens_input + self.tokens_output,
            },
            "events": self.events,
            "not_emitted": self.not_emitted,
            "errors": self.errors,
            "decisions": [decision.to_json() for decision in self.decisions],
            "agents": self.agents,
            "skipped": self.skipped,
            "final_text": self.final_text,
            "transcript": str(self.transcript),
            "message": self.message,
            "warnings": self.warnings,
        }
