"""The `simulate` backend: a deterministic dry run of a pattern's strategy, with no model.

It walks the parsed DSL (see dsl.py) in order, each WHEN/DURING/AFTER block once (one block is
one turn), evaluates IF/ELIF conditions against the session metrics with `conditions.evaluate`,
and emits through the session's bus, so the same handlers run as in a real session: EMIT is the
event, TRACK a `composition:track_decision` for this pattern (committed by the handler), SPAWN an
`agent:spawn` (whose sub-agent, having no model, answers with a fixed note). It does not guess:
interpretive lines (ANALYZE, MONITOR...), conditions over metrics that were not given, data
given by name (`WITH full_context`), CONSIDER (a judgement) and unparseable lines are listed as
skipped, with the reason, instead of being carried out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ksi_patterns.orchestrator import dsl
from ksi_patterns.orchestrator.agent import Agent
from ksi_patterns.orchestrator.protocols import SessionView


class SimulateBackend:
    name = "simulate"

    def __init__(self, session: SessionView) -> None:
        self.session = session

    def run(self, agent: Agent) -> None:
        if agent.depth > 0:
            self._sub_agent(agent)
            return
        _Walk(self.session, agent).run()

    @staticmethod
    def _sub_agent(agent: Agent) -> None:
        text = (
            f"[simulated {agent.profile} agent{f' ({agent.role})' if agent.role else ''}: "
            f"no model in a dry run] task: {agent.task}"
        )
        agent.count_turn(
            content=[{"type": "text", "text": text}], stop_reason="end_turn", label="simulated"
        )
        agent.final_text = text
        agent.stop_reason = "end_turn"


class _Walk:
    def __init__(self, session: SessionView, agent: Agent) -> None:
        self.session = session
        self.agent = agent
        self.metrics: Mapping[str, Any] = session.metrics
        text = dsl.strategy_of(session.pattern_document)
        self.strategy = dsl.parse(text or "")
        self.origin: tuple[int, int] | None = None
        if dsl.strategy_of(_own(session)) is not None:
            self.origin = dsl.strategy_origin(session.pattern_text, session.pattern_path)
        self.context: list[dict[str, Any]] = []  # metrics read by the enclosing conditions

    # -- turns -----------------------------------------------------------------------------

    def run(self) -> None:
        agent = self.agent
        if not self.strategy.statements:
            agent.final_text = f"{self.session.pattern} has no strategy to simulate"
            agent.stop_reason = "end_turn"
            return
        for label, statements in self._turns():
            stop = agent.limit_reached()
            if stop is not None:
                agent.stop_reason = stop
                break
            agent.count_turn(label=label, stop_reason="end_turn")
            self.body(statements)
        else:
            agent.stop_reason = "end_turn"
        emitted = sum(self.session.events.values())
        agent.final_text = (
            f"simulated {agent.turns} block(s) of {self.session.pattern}: {emitted} event(s) "
            f"emitted, {len(self.session.decisions)} decision(s) tracked, "
            f"{len(self.session.skipped)} line(s) skipped"
        )

    def _turns(self) -> list[tuple[str, tuple[dsl.Statement, ...]]]:
        """Each block is a turn; lines between blocks make a turn of their own."""
        turns: list[tuple[str, tuple[dsl.Statement, ...]]] = []
        loose: list[dsl.Statement] = []
        for statement in self.strategy.statements:
            if isinstance(statement, dsl.Block):
                if loose:
                    turns.append(("top level", tuple(loose)))
                    loose = []
                turns.append((f"{statement.kind} {statement.label}", statement.body))
            else:
                loose.append(statement)
        if loose:
            turns.append(("top level", tuple(loose)))
        return turns

    # -- statements ------------------------------------------------------------------------

    def line(self, at: dsl.Line) -> int:
        """The line in the pattern file when known, else the line in the strategy."""
        return at.number if self.origin is None else self.origin[0] + at.number - 1

    def skip(self, at: dsl.Line, reason: str, **fields: Any) -> None:
        self.session.skip(self.line(at), at.text, reason, **fields)

    def body(self, statements: tuple[dsl.Statement, ...]) -> None:
        for statement in statements:
            self.statement(statement)

    def statement(self, statement: dsl.Statement) -> None:
        if isinstance(statement, dsl.Block):  # a block nested in another: walked in place
            self.body(statement.body)
        elif isinstance(statement, dsl.If):
            self.if_chain(statement)
        elif isinstance(statement, dsl.Emit):
            self.emit(statement)
        elif isinstance(statement, dsl.Track):
            self.track(statement)
        elif isinstance(statement, dsl.Spawn):
            self.spawn(statement)
        elif isinstance(statement, dsl.Await):
            self.session.record(
                "awaited", agent=self.agent.name, depth=0, line=self.line(statement.at),
                target=statement.target, note="nothing to wait for in a dry run; went on",
            )  # fmt: skip
        elif isinstance(statement, dsl.Consider):
            self.consider(statement)
        elif isinstance(statement, dsl.Interpretive):
            nested = f" (and {statement.nested} line(s) under it)" if statement.nested else ""
            self.skip(statement.at, f"interpretive, skipped{nested}")
        else:
            nested = f" (and {statement.nested} line(s) under it)" if statement.nested else ""
            self.skip(statement.at, f"unparseable: {statement.reason}{nested}")

    def holds(self, at: dsl.Line, condition: str) -> bool | None:
        """Whether `condition` holds for the metrics; None (and listed) when it cannot be told."""
        from ksi_patterns.events.condition_syntax import ConditionError
        from ksi_patterns.events.conditions import evaluate, variables_in

        try:
            names = variables_in(condition)
        except ConditionError as err:
            self.skip(at, f"condition error: {err.message}")
            return None
        unknown = sorted(names - set(self.metrics))
        if unknown:
            self.skip(at, f"unknown metric{'s' * (len(unknown) > 1)} {', '.join(unknown)}")
            return None
        try:
            value = evaluate(condition, self.metrics)
        except ConditionError as err:
            self.skip(at, f"condition error: {err.message}")
            return None
        self.session.record(
            "condition", agent=self.agent.name, depth=0, line=self.line(at),
            condition=condition, value=value,
            metrics={name: self.metrics[name] for name in sorted(names)},
        )  # fmt: skip
        return value

    def if_chain(self, statement: dsl.If) -> None:
        for branch in statement.branches:
            if branch.condition is None:
                self.body(branch.body)
                return
            value = self.holds(branch.at, branch.condition)
            if value is None:  # not guessed: no branch of this IF is taken
                return
            if value:
                from ksi_patterns.events.conditions import variables_in

                names = sorted(variables_in(branch.condition))
                self.context.append({name: self.metrics[name] for name in names})
                try:
                    self.body(branch.body)
                finally:
                    self.context.pop()
                return

    def decision_context(self) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for layer in self.context:
            merged.update(layer)
        return merged

    def emit(self, statement: dsl.Emit) -> None:
        if statement.data is None:
            self.skip(
                statement.at,
                f"data given by name ({statement.data_ref}), not as a {{...}} map; not emitted",
            )
            return
        data = dict(statement.data)
        if statement.event == "composition:track_decision":
            data.setdefault("pattern", self.session.pattern)
            data.setdefault("context", self.decision_context())
        self.agent.emit(statement.event, data, line=self.line(statement.at))

    def track(self, statement: dsl.Track) -> None:
        data: dict[str, Any] = {
            "pattern": self.session.pattern,
            "decision": statement.decision,
            "context": {**self.decision_context(), **(statement.context or {})},
            "outcome": statement.outcome or "pending",
        }
        if statement.confidence is not None:
            data["confidence"] = statement.confidence
        self.agent.emit("composition:track_decision", data, line=self.line(statement.at))

    def spawn(self, statement: dsl.Spawn) -> None:
        data: dict[str, Any] = {
            **statement.extra,
            "profile": statement.profile,
            "role": statement.role,
            "purpose": statement.purpose
            or f"the {statement.role} of {self.session.pattern}: {self.session.options.task}",
        }
        self.agent.emit("agent:spawn", data, line=self.line(statement.at))

    def consider(self, statement: dsl.Consider) -> None:
        if statement.condition is not None:
            value = self.holds(statement.at, statement.condition)
            if value is None:
                return
            if not value:
                return
        self.skip(
            statement.at,
            f"CONSIDER {statement.event}: a judgement left to the orchestrator; not emitted",
            considered=statement.event,
        )


def _own(session: SessionView) -> Any:
    from ksi_patterns.documents.loading import load_plain

    return load_plain(session.pattern_text, session.pattern_path)
