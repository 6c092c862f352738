"""An orchestrator session: one agent (and its sub-agents) acting on a pattern through events.

The session owns what every backend shares: the event bus (session_bus.py: composition handlers,
plugins, and `agent:spawn`, which runs a sub-agent session with the same backend), the limits
(options.py: turns per agent, tokens for the whole session, spawn depth), the transcript, and the
summary (summary.py). A backend (protocols.py) only decides what the agent does next: `anthropic`
asks the model, `simulate` walks the DSL. Both act through `Agent.call_tool` / `Agent.emit`
(agent.py, tools.py), so the same handlers run and the same records are kept.

This module holds the run itself: loading the pattern and prompt, running the orchestrator's
conversation, and ending with a summary. The names callers use are importable from here.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ksi_patterns.errors import KsiError, UsageError
from ksi_patterns.orchestrator import prompts, session_bus
from ksi_patterns.orchestrator.agent import Agent
from ksi_patterns.orchestrator.options import (
    DEFAULT_MODEL,
    DEFAULT_PROFILE,
    MAX_SPAWN_DEPTH,
    Limits,
    SessionOptions,
)
from ksi_patterns.orchestrator.protocols import (
    Backend,
    BackendError,
    BackendFactory,
    SessionError,
)
from ksi_patterns.orchestrator.summary import Decision, Summary
from ksi_patterns.orchestrator.tools import ToolOutcome
from ksi_patterns.orchestrator.transcripts import (
    TranscriptWriter,
    new_session_id,
    sessions_dir,
)

if TYPE_CHECKING:
    from ksi_patterns.registry.registry import Registry

__all__ = [
    "DEFAULT_MODEL",
    "DEFAULT_PROFILE",
    "DELAYED_EVENTS_GRACE",
    "MAX_SPAWN_DEPTH",
    "Agent",
    "Backend",
    "BackendError",
    "Decision",
    "Limits",
    "Observer",
    "Session",
    "SessionError",
    "SessionOptions",
    "Summary",
    "ToolOutcome",
]

DELAYED_EVENTS_GRACE = 5.0  # seconds the session waits at its end for delayed events

Observer = Callable[[dict[str, Any]], None]


class Session:
    def __init__(
        self,
        registry: Registry,
        options: SessionOptions,
        backend_factory: BackendFactory,
        *,
        observers: tuple[Observer, ...] = (),
    ) -> None:
        from ksi_patterns.documents.model import check_name

        self.registry = registry
        self.options = options
        self.limits = options.limits
        self.pattern = check_name(options.pattern)
        self.metrics = dict(options.metrics)
        config = _config(registry)
        self.profile = check_name(
            options.profile or config.get("orchestrator_profile") or DEFAULT_PROFILE, "profile"
        )
        self.model = (
            options.model or config.get("model") or DEFAULT_MODEL
            if options.backend != "simulate"
            else options.model
        )
        self.id = new_session_id()
        self.observers = observers
        self.tokens_input = 0
        self.tokens_output = 0
        self.events: Counter[str] = Counter()
        self.not_emitted = 0
        self.errors = 0
        self.decisions: list[Decision] = []
        self.agents: list[dict[str, Any]] = []
        self.skipped: list[dict[str, Any]] = []
        self.warnings: list[str] = []
        self.spawned = 0  # sub-agents started, which numbers their names
        self._local = threading.local()
        # a sub-agent's service failure, raised again where its agent:spawn was emitted
        self.fatal: BaseException | None = None
        self._transcript: TranscriptWriter | None = None
        self.pattern_path = ""
        self.pattern_text = ""
        self.pattern_document: dict[str, Any] = {}
        self.backend = backend_factory(self)

    # -- properties ------------------------------------------------------------------------

    @property
    def tokens_total(self) -> int:
        return self.tokens_input + self.tokens_output

    def tokens_left(self) -> int:
        return max(0, self.limits.max_tokens - self.tokens_total)

    def count_tokens(self, input_tokens: int, output_tokens: int) -> None:
        self.tokens_input += input_tokens
        self.tokens_output += output_tokens

    @property
    def transcript_path(self) -> Path:
        return sessions_dir(self.registry.store.state_dir) / f"{self.id}.jsonl"

    def agent_stack(self) -> list[Agent]:
        """The agents whose turns run on this thread, innermost (the one emitting) last."""
        stack: list[Agent] | None = getattr(self._local, "stack", None)
        if stack is None:
            stack = []
            self._local.stack = stack
        return stack

    # -- records ---------------------------------------------------------------------------

    def record(self, type_: str, **fields: Any) -> None:
        if self._transcript is None:
            return
        written = self._transcript.write(type_, **fields)
        for observer in self.observers:
            observer(written)

    def warn(self, message: str) -> None:
        """A warning worth showing once (the SDK's deprecation notice of a model, say)."""
        if message not in self.warnings:
            self.warnings.append(message)
            self.record("warning", message=message)

    def skip(self, line: int | None, text: str, reason: str, **fields: Any) -> None:
        """A DSL line the simulator did not carry out, and why."""
        entry = {"line": line, "text": text, "reason": reason, **fields}
        self.skipped.append(entry)
        self.record("skipped", **entry)

    # -- the run ---------------------------------------------------------------------------

    def _load(self) -> tuple[str, str]:
        """The pattern's file and text, its resolved document, and the orchestrator's prompt."""
        from ksi_patterns.documents.extends import resolve
        from ksi_patterns.documents.loading import decode, load_plain

        registry = self.registry
        lookup = registry.lookup()
        self.pattern_path = registry.find(self.pattern)
        self.pattern_text = decode(registry.read(self.pattern_path), self.pattern_path)
        document = load_plain(self.pattern_text, self.pattern_path)
        kind = document.get("type") if isinstance(document, dict) else None
        if not self.pattern_path.startswith("orchestrations/") or kind not in (
            None,
            "orchestration",
        ):
            raise UsageError(
                f"{self.pattern!r} ({self.pattern_path}) is not an orchestration pattern"
            )
        self.pattern_document = resolve(self.pattern, lookup)
        profile_text = prompts.profile_prompt(self.profile, lookup)
        system = prompts.orchestrator_prompt(
            profile_text,
            self.pattern,
            self.pattern_text,
            self.pattern_document,
            self.options.task,
            self.metrics,
        )
        return profile_text, system

    def run(self) -> Summary:
        if not self.options.task.strip():
            raise UsageError("--task is empty: say what the session should do")
        _profile_text, system = self._load()
        self.bus = session_bus.build_bus(self)
        self._transcript = TranscriptWriter(self.transcript_path, secrets=self.options.secrets)
        orchestrator = Agent(
            self,
            "orchestrator",
            self.profile,
            None,
            self.options.task,
            system,
            depth=0,
            max_turns=self.limits.max_turns,
        )
        self.record(
            "session_start",
            session=self.id,
            pid=os.getpid(),
            pattern=self.pattern,
            pattern_path=self.pattern_path,
            backend=self.backend.name,
            model=self.model,
            profile=self.profile,
            task=self.options.task,
            metrics=self.metrics,
            limits={
                "max_turns": self.limits.max_turns,
                "max_tokens": self.limits.max_tokens,
                "sub_agent_turns": self.limits.sub_agent_turns,
                "max_depth": self.limits.max_depth,
            },
            system=system,
        )
        status, message = "completed", None
        try:
            self.run_agent(orchestrator)
            if orchestrator.stop_reason in ("max_turns", "max_tokens"):
                status = "stopped"
        except SessionError as err:
            status, message = "error", err.message
            self.record("error", message=err.message)
            self._finish(orchestrator, status, message)
            raise type(err)(
                f"{err.message} (transcript kept: ksi orchestrate show {self.id})"
            ) from None
        except KeyboardInterrupt:
            self._finish(orchestrator, "interrupted", "interrupted")
            raise
        except BaseException as err:
            self._finish(orchestrator, "error", f"{type(err).__name__}: {err}")
            raise
        return self._finish(orchestrator, status, message)

    def run_agent(self, agent: Agent) -> None:
        """`agent`'s conversation, carried out by the backend on top of the agent stack."""
        stack = self.agent_stack()
        stack.append(agent)
        try:
            self.backend.run(agent)
        finally:
            stack.pop()

    def _finish(self, orchestrator: Agent, status: str, message: str | None) -> Summary:
        bus = getattr(self, "bus", None)
        if bus is not None:
            try:
                bus.wait(timeout=DELAYED_EVENTS_GRACE)
            finally:
                bus.close()
        summary = Summary(
            session=self.id,
            pattern=self.pattern,
            backend=self.backend.name,
            model=self.model,
            profile=self.profile,
            status=status,
            stop_reason=orchestrator.stop_reason if status != "error" else "error",
            turns=orchestrator.turns,
            sub_agent_turns=sum(int(agent["turns"]) for agent in self.agents),
            tokens_input=self.tokens_input,
            tokens_output=self.tokens_output,
            events=dict(sorted(self.events.items())),
            not_emitted=self.not_emitted,
            errors=self.errors,
            decisions=self.decisions,
            agents=self.agents,
            skipped=self.skipped,
            final_text=orchestrator.final_text,
            transcript=self.transcript_path,
            message=message,
            warnings=self.warnings,
            pattern_path=self.pattern_path,
        )
        self.record(
            "session_end",
            status=status,
            stop_reason=summary.stop_reason,
            message=message,
            summary={
                key: value
                for key, value in summary.to_json().items()
                if key not in ("skipped", "final_text", "transcript")
            },
        )
        if self._transcript is not None:
            self._transcript.close()
        return summary

    # -- events ----------------------------------------------------------------------------

    def emit(
        self,
        agent: Agent,
        event: str,
        data: Mapping[str, Any],
        *,
        delay: float | None,
        condition: str | None,
        line: int | None,
    ) -> ToolOutcome:
        return session_bus.emit(
            self, agent, event, data, delay=delay, condition=condition, line=line
        )


def _config(registry: Registry) -> dict[str, Any]:
    try:
        defaults = registry.config().get("defaults")
    except KsiError:
        return {}
    return defaults if isinstance(defaults, dict) else {}
