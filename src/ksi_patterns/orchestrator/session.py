"""An orchestrator session: one agent (and its sub-agents) acting on a pattern through events.

The session owns what every backend shares: the event bus (composition handlers, plugins, and
`agent:spawn`, which runs a sub-agent session with the same backend), the limits (turns per agent,
tokens for the whole session, spawn depth), the transcript, and the summary. A backend only
decides what the agent does next: `anthropic` asks the model, `simulate` walks the DSL. Both act
through `Agent.call_tool` / `Agent.emit`, so the same handlers run and the same records are kept.
"""

from __future__ import annotations

import json
import os
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ksi_patterns.errors import KsiError, UsageError
from ksi_patterns.orchestrator import prompts
from ksi_patterns.orchestrator.transcripts import (
    TranscriptWriter,
    new_session_id,
    sessions_dir,
)

if TYPE_CHECKING:
    from ksi_patterns.events import Emission, Event, EventBus
    from ksi_patterns.registry import Registry

DEFAULT_MODEL = "claude-sonnet-5-5"
DEFAULT_PROFILE = "base_orchestrator"
MAX_SPAWN_DEPTH = 2  # the orchestrator is depth 0; its sub-agents 1; theirs 2, who spawn no more
DELAYED_EVENTS_GRACE = 5.0  # seconds the session waits at its end for delayed events


class SessionError(KsiError):
    """The session could not go on (the model's service failed, a limit was misconfigured);
    the transcript is kept and named in the message."""


class BackendError(SessionError):
    """The backend's service failed: authentication, rate limit, overload, connection."""


@dataclass(frozen=True)
class Limits:
    max_turns: int = 20  # the orchestrator's turns
    max_tokens: int = 200_000  # input + output, the whole session (sub-agents included)
    sub_agent_turns: int = 8  # each sub-agent's own turn limit
    max_depth: int = MAX_SPAWN_DEPTH

    def __post_init__(self) -> None:
        for name in ("max_turns", "max_tokens", "sub_agent_turns"):
            if getattr(self, name) < 1:
                raise UsageError(f"--{name.replace('_', '-')} must be at least 1")


@dataclass(frozen=True)
class ToolOutcome:
    """What a tool call returns to the agent: the text of the tool_result and whether it failed."""

    content: dict[str, Any]
    is_error: bool

    @property
    def text(self) -> str:
        return json.dumps(self.content, ensure_ascii=False, default=str)


class Backend(Protocol):
    name: str

    def run(self, agent: Agent) -> None:
        """Carry out `agent`'s conversation until it ends or a limit stops it; set
        `agent.final_text` and `agent.stop_reason`. Raise BackendError when the service fails."""


Observer = Callable[[dict[str, Any]], None]


@dataclass
class Agent:
    """One conversation: the orchestrator (depth 0) or a spawned sub-agent."""

    session: Session
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
        if self.session.tokens_total >= self.session.limits.max_tokens:
            return "max_tokens"
        return None

    def tokens_left(self) -> int:
        return max(0, self.session.limits.max_tokens - self.session.tokens_total)

    # -- records ---------------------------------------------------------------------------

    def record(self, type_: str, **fields: Any) -> None:
        self.session.record(type_, agent=self.name, depth=self.depth, **fields)

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
        self.session.tokens_input += input_tokens
        self.session.tokens_output += output_tokens
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
        if name != prompts.TOOL_NAME:
            return self._refuse(f"unknown tool {name!r}: the only tool is {prompts.TOOL_NAME}")
        if not isinstance(tool_input, dict):
            return self._refuse("emit_event takes an object: {event, data, delay, condition}")
        event = tool_input.get("event")
        data = tool_input.get("data")
        delay = tool_input.get("delay")
        condition = tool_input.get("condition")
        if not isinstance(event, str) or not event.strip():
            return self._refuse('emit_event needs "event": a string such as "monitoring:alert"')
        if data is not None and not isinstance(data, dict):
            return self._refuse('"data" must be an object')
        if delay is not None and (isinstance(delay, bool) or not isinstance(delay, int | float)):
            return self._refuse('"delay" must be a number of seconds')
        if condition is not None and not isinstance(condition, str):
            return self._refuse('"condition" must be a string')
        return self.emit(
            event.strip(),
            data or {},
            delay=None if delay is None else float(delay),
            condition=condition or None,
        )

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
        return self.session.emit(self, event, data, delay=delay, condition=condition, line=line)


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


class Session:
    def __init__(
        self,
        registry: Registry,
        options: SessionOptions,
        backend_factory: Callable[[Session], Backend],
        *,
        observers: tuple[Observer, ...] = (),
    ) -> None:
        from ksi_patterns.model import check_name

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
        self._spawned = 0
        self._local = threading.local()
        self._fatal: BaseException | None = None
        self._transcript: TranscriptWriter | None = None
        self.pattern_path = ""
        self.pattern_text = ""
        self.pattern_document: dict[str, Any] = {}
        self.backend = backend_factory(self)

    # -- properties ------------------------------------------------------------------------

    @property
    def tokens_total(self) -> int:
        return self.tokens_input + self.tokens_output

    @property
    def transcript_path(self) -> Path:
        return sessions_dir(self.registry.store.state_dir) / f"{self.id}.jsonl"

    def _stack(self) -> list[Agent]:
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
        from ksi_patterns.documents import decode, load_plain
        from ksi_patterns.resolve import resolve

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

    def _bus(self) -> EventBus:
        from ksi_patterns.events import EventBus
        from ksi_patterns.handlers import (
            event_log_path,
            load_plugins,
            register_composition_handlers,
        )

        bus = EventBus(
            log_path=event_log_path(self.registry),
            metrics=self.metrics,
            source=f"session:{self.id}",
        )
        register_composition_handlers(bus, self.registry)
        load_plugins(bus)
        bus.on("agent:spawn", self._spawn, name="orchestrator:agent_spawn")
        return bus

    def run(self) -> Summary:
        if not self.options.task.strip():
            raise UsageError("--task is empty: say what the session should do")
        _profile_text, system = self._load()
        self.bus = self._bus()
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
            self._run_agent(orchestrator)
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

    def _run_agent(self, agent: Agent) -> None:
        stack = self._stack()
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
        stack = self._stack()
        pushed = not stack or stack[-1] is not agent
        if pushed:
            stack.append(agent)
        try:
            emission = self.bus.emit(event, dict(data), delay=delay, condition=condition)
        except SessionError:
            raise
        except KsiError as err:  # a bad condition, a refused event name
            self.errors += 1
            fields: dict[str, Any] = {"event": event, "data": dict(data), "emitted": False}
            if line is not None:
                fields["line"] = line
            agent.record("event", **fields, reason=err.message, is_error=True, results=[])
            return ToolOutcome({"event": event, "emitted": False, "error": err.message}, True)
        finally:
            if pushed:
                stack.pop()
        if self._fatal is not None:  # a sub-agent's service failed: the session ends with it
            fatal, self._fatal = self._fatal, None
            raise fatal
        outcome = self._outcome(emission)
        if emission.emitted:
            self.events[event] += 1
        elif not emission.scheduled:
            self.not_emitted += 1
        if outcome.is_error:
            self.errors += 1
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
            self._decision(agent, emission)
        return outcome

    @staticmethod
    def _outcome(emission: Emission) -> ToolOutcome:
        """The tool result: the emission as JSON; an error when the event was refused, its
        condition could not be evaluated, or a handler failed."""
        from ksi_patterns.events import CONDITION_ERROR, REFUSED

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

    def _decision(self, agent: Agent, emission: Emission) -> None:
        data = emission.event.data
        result = next(
            (r for r in emission.results if isinstance(r, dict) and not _is_failure(r)), None
        )
        commit = _find_key(result, ("commit", "commit_id"))
        decision = Decision(
            decision=str(data.get("decision")),
            pattern=data.get("pattern") if isinstance(data.get("pattern"), str) else None,
            confidence=data.get("confidence"),
            agent=agent.name,
            result=result,
            commit=None if commit is None else str(commit),
        )
        self.decisions.append(decision)
        fields = decision.to_json()
        fields.pop("agent")
        agent.record("decision", **fields)

    # -- agent:spawn -----------------------------------------------------------------------

    def _spawn(self, event: Event, bus: EventBus) -> dict[str, Any]:
        from ksi_patterns.model import check_name

        stack = self._stack()
        if not stack:
            raise UsageError("agent:spawn runs only during an agent's turn (not delayed)")
        parent = stack[-1]
        depth = parent.depth + 1
        if depth > self.limits.max_depth:
            raise UsageError(
                f"agent:spawn refused: {parent.name} is at depth {parent.depth}, and sub-agents "
                f"spawn no deeper than {self.limits.max_depth}"
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
                f"Act as the {role or 'helper'} of the {self.pattern} pattern for this task: "
                f"{self.options.task}"
            )
        profile_text = prompts.profile_prompt(profile, self.registry.lookup())
        self._spawned += 1
        name = f"{role or profile}#{self._spawned}"
        agent = Agent(
            self,
            name,
            profile,
            role,
            task,
            prompts.agent_prompt(profile_text, role, task),
            depth=depth,
            max_turns=self.limits.sub_agent_turns,
        )
        self.record(
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
            self._run_agent(agent)
        except SessionError as err:
            # the service failed inside the sub-agent: the whole session ends with it
            self._fatal = err
            raise
        self.record(
            "agent_end",
            agent=name,
            depth=depth,
            turns=agent.turns,
            stop_reason=agent.stop_reason,
            text=agent.final_text,
        )
        self.agents.append(
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


def _config(registry: Registry) -> dict[str, Any]:
    try:
        defaults = registry.config().get("defaults")
    except KsiError:
        return {}
    return defaults if isinstance(defaults, dict) else {}
