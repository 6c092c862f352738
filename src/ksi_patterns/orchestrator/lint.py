"""`ksi pattern lint`: the strategy's DSL lines that cannot be parsed, its conditions that are not
valid expressions, and the events it emits that no handler would receive.

"Known" events are those with a handler on a bus built as `ksi orchestrate run` builds it: the
composition handlers, the installed plugins (entry points `ksi_patterns.handlers`) and the
session's own `agent:spawn`. Positions are in the pattern file: the strategy block scalar's first
line plus the line's offset inside it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ksi_patterns.errors import Position
from ksi_patterns.orchestrator import dsl

if TYPE_CHECKING:
    from ksi_patterns.registry.registry import Registry

SESSION_HANDLERS = ("agent:spawn",)  # handled by the orchestrator session itself


@dataclass(frozen=True)
class Finding:
    position: Position
    severity: str  # "error" (cannot be parsed, a bad condition) or "warning" (no handler)
    message: str
    text: str

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.position.file,
            "line": self.position.line,
            "column": self.position.column,
            "severity": self.severity,
            "message": self.message,
            "text": self.text,
        }

    def __str__(self) -> str:
        return f"{self.position}: {self.severity}: {self.message}"


@dataclass(frozen=True)
class LintReport:
    name: str
    path: str
    has_strategy: bool
    findings: tuple[Finding, ...]
    events: tuple[str, ...]  # every event the strategy emits, in order of first mention
    interpretive: int  # lines left to the orchestrator (not problems)

    def to_json(self) -> dict[str, Any]:
        return {
            "pattern": self.name,
            "file": self.path,
            "has_strategy": self.has_strategy,
            "clean": not self.findings,
            "findings": [finding.to_json() for finding in self.findings],
            "events": list(self.events),
            "interpretive_lines": self.interpretive,
        }


def known_events(registry: Registry) -> Callable[[str], bool]:
    """Whether an event has a handler on a bus built as a session builds it."""
    from ksi_patterns.operations.buses import open_bus  # TODO(layers): the caller passes this

    bus = open_bus(registry)
    try:
        for event in SESSION_HANDLERS:
            bus.on(event, _session_handler, name=f"orchestrator:{event}")
    finally:
        bus.close()
    return lambda event: bool(bus.handlers_for(event))


def _session_handler(event: Any, bus: Any) -> None:  # stands in for the session's own handler
    return None


def lint_text(text: str, path: str, name: str, is_known: Callable[[str], bool]) -> LintReport:
    from ksi_patterns.documents.loading import load_plain
    from ksi_patterns.events.condition_syntax import ConditionError
    from ksi_patterns.events.conditions import check

    document = load_plain(text, path)
    strategy_text = dsl.strategy_of(document)
    if strategy_text is None:
        return LintReport(name, path, False, (), (), 0)
    origin = dsl.strategy_origin(text, path)
    strategy = dsl.parse(strategy_text)

    def position(line: int, column: int) -> Position:
        if origin is None:  # not a literal block: only the strategy's own line is known
            return Position(path)
        return Position(path, origin[0] + line - 1, origin[1] + column)

    def where(line: int) -> str:
        return "" if origin is not None else f" (strategy line {line})"

    findings: list[Finding] = []
    for problem in strategy.problems:
        findings.append(
            Finding(
                position(problem.line, problem.column),
                "error",
                f"cannot parse: {problem.reason}{where(problem.line)}",
                problem.text,
            )
        )
    for statement in strategy.walk():
        conditions: list[tuple[dsl.Line, str]] = []
        if isinstance(statement, dsl.If):
            conditions = [(b.at, b.condition) for b in statement.branches if b.condition]
        elif isinstance(statement, dsl.Consider) and statement.condition:
            conditions = [(statement.at, statement.condition)]
        for at, condition in conditions:
            try:
                check(condition)
            except ConditionError as err:
                findings.append(
                    Finding(
                        position(at.number, at.column),
                        "error",
                        f"{err.message}{where(at.number)}",
                        at.text,
                    )
                )
    mentions: dict[str, list[dsl.Line]] = {}
    for event, at in strategy.events():
        mentions.setdefault(event, []).append(at)
    for event, places in mentions.items():
        if is_known(event):
            continue
        at = places[0]
        more = f" (and {len(places) - 1} more line(s))" if len(places) > 1 else ""
        findings.append(
            Finding(
                position(at.number, at.column),
                "warning",
                f"event {event!r} has no handler (composition handlers, plugins, "
                f"agent:spawn){more}{where(at.number)}",
                at.text,
            )
        )
    findings.sort(key=lambda f: (f.position.line or 0, f.position.column or 0, f.severity))
    return LintReport(
        name, path, True, tuple(findings), tuple(mentions), len(strategy.interpretive())
    )
