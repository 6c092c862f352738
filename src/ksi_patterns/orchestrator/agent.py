"""One conversation of a session: the orchestrator (depth 0) or a spawned sub-agent. An `Agent`
knows its limits, writes its records, and acts through `call_tool` (a model's tool call, checked)
and `emit` (an event on the session's bus); backends drive it.

An agent reaches its session only through `AgentHost`, the little it needs of it (records, the
token budget, emitting), so that this module does not import the session."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from ksi_patterns.orchestrator.tools import ToolOutcome, read_call


class AgentHost(Protocol):
    """What an agent needs of the session it runs in (session.py's `Session` is one)."""

    def record(self, type_: str, **fields: Any) -> None: ...

    def tokens_left(self) -> int:
        """Tokens the whole session may still spend (0 when its limit is reached)."""

    def count_tokens(self, input_tokens: int, output_tokens: int) -> None: ...

    def emit(
        self,
        agent: Agent,
        event: str,
        data: Mapping[str, Any],
        *,
        delay: float | None,
        condition: str | None,
        line: int | None,
    ) -> ToolOutcome: ...


@dataclass
class Agent:
    """One conversation: the orchestrator (depth 0) or a spawned sub-agent."""

    host: AgentHost
    name: str
    profile: str
    role: str | None
    task: str
    system: str
    depth: int
    max_turns: int
    turns: int = 0
    final_text: str = ""
    stop_reason: str | None = None

    # -- limits ----------------------------------------------------------------------------

    def limit_reached(self) -> str | None:
        """`max_turns` or `max_tokens` when the next turn must not start, else None."""
        if self.turns >= self.max_turns:
            return "max_turns"
        if self.host.tokens_left() <= 0:
            return "max_tokens"
        return None

    def tokens_left(self) -> int:
        return self.host.tokens_left()

    # -- records ---------------------------------------------------------------------------

    def record(self, type_: str, **fields: Any) -> None:
        self.host.record(type_, agent=self.name, depth=self.depth, **fields)

    def count_turn(
        self,
        *,
        content: list[dict[str, Any]] | None = None,
        stop_reason: str | None = None,
        input_tokens: int = 0,
        output_tokens: int = 0,
        label: str | None = None,
    ) -> None:
        self.turns += 1
        self.host.count_tokens(input_tokens, output_tokens)
        fields: dict[str, Any] = {"turn": self.turns, "stop_reason": stop_reason}
        if label is not None:
            fields["label"] = label
        if input_tokens or output_tokens:
            fields["usage"] = {"input_tokens": input_tokens, "output_tokens": output_tokens}
        if content is not None:
            fields["content"] = content
        self.record("turn", **fields)

    # -- acting ----------------------------------------------------------------------------

    def call_tool(self, name: str, tool_input: Any, tool_use_id: str | None = None) -> ToolOutcome:
        """A tool call of the model: checked, then emitted. Bad input is an error result."""
        self.record("tool_call", name=name, input=tool_input, tool_use_id=tool_use_id)
        call = read_call(name, tool_input)
        if isinstance(call, str):
            return self._refuse(call)
        return self.emit(call.event, call.data, delay=call.delay, condition=call.condition)

    def _refuse(self, message: str) -> ToolOutcome:
        self.record("tool_error", message=message)
        return ToolOutcome({"error": message}, True)

    def emit(
        self,
        event: str,
        data: Mapping[str, Any],
        *,
        delay: float | None = None,
        condition: str | None = None,
        line: int | None = None,
    ) -> ToolOutcome:
        return self.host.emit(self, event, data, delay=delay, condition=condition, line=line)
