"""An orchestrator session: one agent (and its sub-agents) acting on a pattern through events.

The session owns what every backend shares: the event bus (made by the caller's bus factory, with
the composition handlers and plugins; the session adds `agent:spawn`, which runs a sub-agent with
the same backend), the limits (options.py: turns per agent, tokens for the whole session, spawn
depth), the counters (tokens, events, errors, decisions, sub-agents), the transcript
(transcripts.py) and the summary (summary.py). A backend (protocols.py) only decides what the
agent does next: `anthropic` asks the model, `simulate` walks the DSL. Both act through
`Agent.call_tool` / `Agent.emit` (agent.py, tools.py), which come back here as `Session.emit`, so
the same handlers run and the same records are kept.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ksi_patterns.errors import KsiError, UsageError
from ksi_patterns.orchestrator import prompts
from ksi_patterns.orchestrator.agent import Agent
from ksi_patterns.orchestrator.backends import make_backend
from ksi_patterns.orchestrator.options import DEFAULT_MODEL, SessionOptions
from ksi_patterns.orchestrator.pattern import chosen_profile, load_pattern, registry_defaults
from ksi_patterns.orchestrator.protocols import BackendFactory, SessionError
from ksi_patterns.orchestrator.spawning import (
    SPAWN_EVENT,
    read_spawn,
    spawn_result,
    sub_agent_entry,
)
from ksi_patterns.orchestrator.summary import Decision, Summary
from ksi_patterns.orchestrator.tools import ToolOutcome, decision_of, event_record, outcome_of
from ksi_patterns.orchestrator.transcripts import TranscriptWriter, new_session_id, sessions_dir

if TYPE_CHECKING:
    from ksi_patterns.events.bus import EventBus
    from ksi_patterns.events.types import Emission, Event
    from ksi_patterns.registry.registry import Registry

DELAYED_EVENTS_GRACE = 5.0  # seconds the session waits at its end for delayed events
TRACK_EVENT = "composition:track_decision"

Observer = Callable[[dict[str, Any]], None]
# Called with the bus's source (`session:<id>`) and the session metrics; returns a bus that
# already has the composition handlers and plugins (the session adds `agent:spawn`).
BusFactory = Callable[[str, Mapping[str, Any]], "EventBus"]


class Session:
    def __init__(
        self,
        registry: Registry,
        options: SessionOptions,
        *,
        bus_factory: BusFactory,
        backend_factory: BackendFactory | None = None,
        observers: tuple[Observer, ...] = (),
    ) -> None:
        """A session of `options.pattern`; its backend is made by `backend_factory`, else the
        one `options.backend` names (backends.py)."""
        from ksi_patterns.documents.model import check_name

        self.registry = registry
        self.options = options
        self.limits = options.limits
        self.pattern = check_name(options.pattern)
        self.metrics = dict(options.metrics)
        self.profile = chosen_profile(registry, options.profile)
        self.model = (
            options.model or registry_defaults(registry).get("model") or DEFAULT_MODEL
            if options.backend != "simulate"
            else options.model
        )
        self.id = new_session_id()
        self.observers = observers
        self._bus_factory = bus_factory
        # the counters: only this class changes them
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
        if backend_factory is None:
            self.backend = make_backend(options.backend, self)
        else:
            self.backend = backend_factory(self)

    # -- tokens and state ------------------------------------------------------------------

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

    def run(self) -> Summary:
        loaded = load_pattern(
            self.registry, self.pattern, self.profile, self.options.task, self.metrics
        )
        self.pattern_path, self.pattern_text = loaded.path, loaded.text
        self.pattern_document = loaded.document
        self.bus = self._bus_factory(f"session:{self.id}", self.metrics)
        self.bus.on(SPAWN_EVENT, self.spawn, name="orchestrator:agent_spawn")
        orchestrator = self._start(loaded.system)
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

    def _start(self, system: str) -> Agent:
        """The transcript opened with its `session_start`, and the orchestrator agent."""
        self._transcript = TranscriptWriter(
            self.transcript_path, secrets=(*self.options.secrets, self.options.api_key)
        )
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
            limits=self.limits.to_json(),
            system=system,
        )
        return orchestrator

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
        """`event` emitted by `agent` on the session's bus, recorded; the result for its tool
        call."""
        stack = self.agent_stack()
        pushed = not stack or stack[-1] is not agent
        if pushed:
            stack.append(agent)
        try:
            emission = self.bus.emit(event, dict(data), delay=delay, condition=condition)
        except SessionError:
            raise
        except KsiError as err:  # a bad condition, a refused event name
            return self._refused(agent, event, data, line, err.message)
        finally:
            if pushed:
                stack.pop()
        if self.fatal is not None:  # a sub-agent's service failed: the session ends with it
            fatal, self.fatal = self.fatal, None
            raise fatal
        outcome = outcome_of(emission)
        if emission.emitted:
            self.events[event] += 1
        elif not emission.scheduled:
            self.not_emitted += 1
        if outcome.is_error:
            self.errors += 1
        fields = event_record(event, emission, outcome, delay=delay, condition=condition, line=line)
        agent.record("event", **fields)
        if event == TRACK_EVENT and emission.emitted and not outcome.is_error:
            self._track(agent, emission)
        return outcome

    def _refused(
        self, agent: Agent, event: str, data: Mapping[str, Any], line: int | None, reason: str
    ) -> ToolOutcome:
        """What an event the bus refused to emit comes to: an error, recorded."""
        self.errors += 1
        fields: dict[str, Any] = {"event": event, "data": dict(data), "emitted": False}
        if line is not None:
            fields["line"] = line
        agent.record("event", **fields, reason=reason, is_error=True, results=[])
        return ToolOutcome({"event": event, "emitted": False, "error": reason}, True)

    def _track(self, agent: Agent, emission: Emission) -> None:
        decision = decision_of(agent.name, emission)
        self.decisions.append(decision)
        fields = decision.to_json()
        fields.pop("agent")
        agent.record("decision", **fields)

    def spawn(self, event: Event, bus: EventBus) -> dict[str, Any]:
        """The `agent:spawn` handler: a sub-agent of the agent whose turn emitted it, run to its
        end with the session's backend; its text is the handler's result."""
        stack = self.agent_stack()
        if not stack:
            raise UsageError("agent:spawn runs only during an agent's turn (not delayed)")
        parent = stack[-1]
        request = read_spawn(
            event.data,
            parent,
            max_depth=self.limits.max_depth,
            pattern=self.pattern,
            session_task=self.options.task,
        )
        profile_text = prompts.profile_prompt(request.profile, self.registry.lookup())
        self.spawned += 1
        agent = Agent(
            self,
            f"{request.role or request.profile}#{self.spawned}",
            request.profile,
            request.role,
            request.task,
            prompts.agent_prompt(profile_text, request.role, request.task),
            depth=request.depth,
            max_turns=self.limits.sub_agent_turns,
        )
        self.record(
            "agent_start", agent=agent.name, depth=agent.depth, profile=agent.profile,
            role=agent.role, task=agent.task, parent=parent.name, system=agent.system,
        )  # fmt: skip
        try:
            self.run_agent(agent)
        except SessionError as err:
            # the service failed inside the sub-agent: the whole session ends with it
            self.fatal = err
            raise
        self.record(
            "agent_end", agent=agent.name, depth=agent.depth, turns=agent.turns,
            stop_reason=agent.stop_reason, text=agent.final_text,
        )  # fmt: skip
        self.agents.append(sub_agent_entry(agent))
        return spawn_result(agent)
