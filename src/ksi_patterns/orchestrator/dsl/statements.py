"""The parsed pattern DSL: where a statement is (`Line`), the statement types (`Block`, `If`
with its `Branch`es, `Emit`, `Track`, `Spawn`, `Await`, `Consider`, `Interpretive`, `Unparsed`),
and `Strategy`, the statements of a strategy with the `Problem`s found parsing it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Line:
    """Where a statement is: 1-based line and column inside the strategy text."""

    number: int
    column: int
    text: str  # the statement as written, comment removed, continuation lines joined
    last: int  # the last strategy line it covers (itself and any continuation lines)


@dataclass(frozen=True)
class Emit:
    at: Line
    event: str
    data: dict[str, Any] | None  # None when WITH names something instead of giving a map
    data_ref: str | None = None


@dataclass(frozen=True)
class Track:
    at: Line
    decision: str
    confidence: float | None = None
    context: dict[str, Any] | None = None
    outcome: str | None = None


@dataclass(frozen=True)
class Spawn:
    at: Line
    role: str
    profile: str
    purpose: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Await:
    at: Line
    target: str


@dataclass(frozen=True)
class Consider:
    at: Line
    event: str
    condition: str | None


@dataclass(frozen=True)
class Interpretive:
    """A line for the orchestrator to carry out in its own way, with the lines nested under it."""

    at: Line
    verb: str
    nested: int  # how many lines are indented under it
    body: tuple[Statement, ...] = ()  # those lines parsed leniently (for events they mention)


@dataclass(frozen=True)
class Unparsed:
    at: Line
    reason: str
    nested: int = 0


@dataclass(frozen=True)
class Branch:
    at: Line
    condition: str | None  # None for ELSE
    body: tuple[Statement, ...]


@dataclass(frozen=True)
class If:
    at: Line
    branches: tuple[Branch, ...]  # IF, then ELIFs, then an optional ELSE (condition None)


@dataclass(frozen=True)
class Block:
    at: Line
    kind: str  # WHEN, DURING or AFTER
    label: str
    body: tuple[Statement, ...]


Statement = Block | If | Emit | Track | Spawn | Await | Consider | Interpretive | Unparsed


@dataclass(frozen=True)
class Problem:
    line: int
    column: int
    text: str
    reason: str


@dataclass(frozen=True)
class Strategy:
    statements: tuple[Statement, ...]
    problems: tuple[Problem, ...]

    def walk(self) -> Iterator[Statement]:
        """Every statement, parents before children, including those under interpretive lines."""
        yield from _walk(self.statements)

    def events(self) -> list[tuple[str, Line]]:
        """(event name, where) of every event the strategy emits, spawns, tracks or considers."""
        found: list[tuple[str, Line]] = []
        for statement in self.walk():
            if isinstance(statement, Emit | Consider):
                found.append((statement.event, statement.at))
            elif isinstance(statement, Track):
                found.append(("composition:track_decision", statement.at))
            elif isinstance(statement, Spawn):
                found.append(("agent:spawn", statement.at))
        return found

    def interpretive(self) -> list[Interpretive]:
        return [s for s in _walk(self.statements, lenient=False) if isinstance(s, Interpretive)]


def _walk(statements: tuple[Statement, ...], *, lenient: bool = True) -> Iterator[Statement]:
    for statement in statements:
        yield statement
        if isinstance(statement, Block):
            yield from _walk(statement.body, lenient=lenient)
        elif isinstance(statement, If):
            for branch in statement.branches:
                yield from _walk(branch.body, lenient=lenient)
        elif isinstance(statement, Interpretive) and lenient:
            yield from _walk(statement.body, lenient=lenient)
