"""The structured part of the pattern DSL (`orchestration_logic.strategy`), parsed.

The DSL is written for an LLM to interpret, and most of it stays that way. A few line forms have
one obvious meaning, and those are what `simulate` carries out and `ksi pattern lint` checks:

    WHEN x: / DURING x: / AFTER x:        blocks, walked in order, each once
    IF cond: / ELIF cond: / ELSE:          branches (ELSE IF is ELIF); conditions are strings
    EMIT "ns:event" [WITH {flow: map}]     an event (WITH name: a reference, not a literal)
    TRACK decision: "d" [WITH confidence: c | WITH {confidence: c, context: {...}}]
    SPAWN role WITH profile: "p"           (or WITH {profile: "p", purpose: "..."})
    AWAIT something
    CONSIDER "ns:event" [IF cond]

Any other line that starts with an upper-case word (ANALYZE, MONITOR, CALCULATE, APPLY...) is
interpretive: it is kept, with the lines indented under it, as work for the orchestrator. What is
neither is a problem with a 1-based line and column inside the strategy text. `#` starts a comment
outside quotes; a `{` or `[` left open continues the line onto the next ones.

This package is the entry point, `parse`, and the names callers use. The parts: lines.py (the
text as indented lines), parser.py (statements from those lines), statements.py (the
statement types and `Strategy`), source.py (where the strategy is in a pattern file).
"""

from __future__ import annotations

from ksi_patterns.orchestrator.dsl.lines import line_tree, logical_lines, strip_comment
from ksi_patterns.orchestrator.dsl.parser import BLOCK_KINDS, KEYWORDS, StatementParser, flow_map
from ksi_patterns.orchestrator.dsl.source import strategy_of, strategy_origin
from ksi_patterns.orchestrator.dsl.statements import (
    Await,
    Block,
    Branch,
    Consider,
    Emit,
    If,
    Interpretive,
    Line,
    Problem,
    Spawn,
    Statement,
    Strategy,
    Track,
    Unparsed,
)

__all__ = [
    "BLOCK_KINDS",
    "KEYWORDS",
    "Await",
    "Block",
    "Branch",
    "Consider",
    "Emit",
    "If",
    "Interpretive",
    "Line",
    "Problem",
    "Spawn",
    "Statement",
    "Strategy",
    "Track",
    "Unparsed",
    "flow_map",
    "parse",
    "strategy_of",
    "strategy_origin",
    "strip_comment",
]


def parse(text: str) -> Strategy:
    """The strategy text as statements, and the lines that could not be parsed."""
    parser = StatementParser()
    statements = parser.body(line_tree(logical_lines(text)))
    problems = sorted(parser.problems, key=lambda p: (p.line, p.column))
    return Strategy(statements, tuple(problems))
