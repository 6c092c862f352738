"""`ksi pattern lint`: the strategy's DSL lines that cannot be parsed, its conditions that are not
valid expressions, and the events it emits that no handler would receive.

Which events have a handler is the caller's to say (`handled`: on a bus built as
`ksi orchestrate run` builds it, with the composition handlers and the installed plugins); the
session's own `agent:spawn` is handled too. Positions are in the pattern file: the strategy block
scalar's first line plus the line's offset inside it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from ksi_patterns.errors import Position
from ksi_patterns.orchestrator import dsl
from ksi_patterns.orchestrator.spawning import SPAWN_EVENT

SESSION_HANDLERS = (SPAWN_EVENT,)  # handled by the orchestrator session itself


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


def lint_text(text: str, path: str, name: str, handled: Callable[[str], bool]) -> LintReport:
    """The findings in pattern `name` (file `path`, contents `text`); `handled` says whether an
    event has a handler besides the session's own."""
    from ksi_patterns.documents.loading import load_plain

    strategy_text = dsl.strategy_of(load_plain(text, path))
    if strategy_text is None:
        return LintReport(name, path, False, (), (), 0)
    places = _Places(path, dsl.strategy_origin(text, path))
    strategy = dsl.parse(strategy_text)
    mentions: dict[str, list[dsl.Line]] = {}
    for event, at in strategy.events():
        mentions.setdefault(event, []).append(at)
    findings = [
        *_parse_errors(strategy, places),
        *_condition_errors(strategy, places),
        *_unhandled(mentions, places, handled),
    ]
    findings.sort(key=lambda f: (f.position.line or 0, f.position.column or 0, f.severity))
    return LintReport(
        name, path, True, tuple(findings), tuple(mentions), len(strategy.interpretive())
    )


@dataclass(frozen=True)
class _Places:
    """Strategy lines as places in the pattern file."""

    path: str
    origin: tuple[int, int] | None  # where strategy line 1 is: None unless a literal block

    def position(self, line: int, column: int) -> Position:
        if self.origin is None:  # not a literal block: only the strategy's own line is known
            return Position(self.path)
        return Position(self.path, self.origin[0] + line - 1, self.origin[1] + column)

    def where(self, line: int) -> str:
        return "" if self.origin is not None else f" (strategy line {line})"


def _parse_errors(strategy: dsl.Strategy, places: _Places) -> Iterator[Finding]:
    for problem in strategy.problems:
        yield Finding(
            places.position(problem.line, problem.column),
            "error",
            f"cannot parse: {problem.reason}{places.where(problem.line)}",
            problem.text,
        )


def _condition_errors(strategy: dsl.Strategy, places: _Places) -> Iterator[Finding]:
    from ksi_patterns.events.condition_syntax import ConditionError
    from ksi_patterns.events.conditions import check

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
                yield Finding(
                    places.position(at.number, at.column),
                    "error",
                    f"{err.message}{places.where(at.number)}",
                    at.text,
                )


def _unhandled(
    mentions: dict[str, list[dsl.Line]], places: _Places, handled: Callable[[str], bool]
) -> Iterator[Finding]:
    for event, lines in mentions.items():
        if event in SESSION_HANDLERS or handled(event):
            continue
        at = lines[0]
        more = f" (and {len(lines) - 1} more line(s))" if len(lines) > 1 else ""
        yield Finding(
            places.position(at.number, at.column),
            "warning",
            f"event {event!r} has no handler (composition handlers, plugins, "
            f"agent:spawn){more}{places.where(at.number)}",
            at.text,
        )
