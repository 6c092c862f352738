"""Statements from the strategy's lines: the structure (WHEN/DURING/AFTER blocks, IF/ELIF/ELSE
chains, interpretive lines with what is nested under them) and each one-line form (EMIT, TRACK,
SPAWN, AWAIT, CONSIDER) with its quoted names, `key: value` options and `{...}` flow maps. What
cannot be parsed becomes an `Unparsed` statement and a `Problem`."""

from __future__ import annotations

import json
import re
from typing import Any

from ksi_patterns.documents.loading import load_plain
from ksi_patterns.errors import InputError
from ksi_patterns.orchestrator.dsl.lines import LineNode, open_brackets
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
    Track,
    Unparsed,
)

BLOCK_KINDS = ("WHEN", "DURING", "AFTER")
KEYWORDS = (*BLOCK_KINDS, "IF", "ELIF", "ELSE", "EMIT", "TRACK", "SPAWN", "AWAIT", "CONSIDER")

_VERB = re.compile(r"^([A-Z][A-Z0-9_]*)\b(.*)$", re.DOTALL)
_QUOTED = re.compile(r"""^\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^']|'')*)')(.*)$""", re.DOTALL)
_EVENT_NAME = re.compile(r"^[A-Za-z0-9_.-]+(:[A-Za-z0-9_.*-]+)+$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_WITH = re.compile(r"^\s+WITH\b(.*)$", re.DOTALL)


class StatementParser:
    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def problem(self, at: Line, reason: str, *, quiet: bool) -> Unparsed:
        if not quiet:
            self.problems.append(Problem(at.number, at.column, at.text, reason))
        return Unparsed(at, reason)

    def body(self, nodes: list[LineNode], *, quiet: bool = False) -> tuple[Statement, ...]:
        statements: list[Statement] = []
        index = 0
        while index < len(nodes):
            node = nodes[index]
            verb = _verb(node.at.text)
            if verb == "IF":
                chain = [node]
                while index + 1 < len(nodes) and _verb(nodes[index + 1].at.text) in (
                    "ELIF",
                    "ELSE",
                ):
                    index += 1
                    chain.append(nodes[index])
                    if _verb(nodes[index].at.text) == "ELSE" and not _is_else_if(
                        nodes[index].at.text
                    ):
                        break
                statements.append(self.if_chain(chain, quiet=quiet))
            elif verb in ("ELIF", "ELSE"):
                statements.append(
                    self.problem(node.at, f"{verb} without an IF before it", quiet=quiet)
                )
            else:
                statements.append(self.statement(node, quiet=quiet))
            index += 1
        return tuple(statements)

    def statement(self, node: LineNode, *, quiet: bool) -> Statement:
        at = node.at
        match = _VERB.match(at.text)
        if match is None:
            unparsed = self.problem(at, "not a DSL statement", quiet=quiet)
            return Unparsed(at, unparsed.reason, node.count())
        verb, rest = match.group(1), match.group(2)
        if verb in BLOCK_KINDS:
            return self.block(node, verb, rest, quiet=quiet)
        if verb not in KEYWORDS:
            return Interpretive(at, verb, node.count(), self.body(node.children, quiet=True))
        statement = self.simple(at, verb, rest, quiet=quiet)
        if isinstance(statement, Unparsed):
            return Unparsed(at, statement.reason, node.count())
        if node.children:
            first = node.children[0].at
            self.problem(first, f"unexpected indentation under {verb}", quiet=quiet)
        return statement

    def block(self, node: LineNode, kind: str, rest: str, *, quiet: bool) -> Statement:
        label = rest.strip()
        if not label.endswith(":") or not label[:-1].strip():
            reason = f"{kind} needs a name and a colon, e.g. {kind} each_round:"
            return Unparsed(
                node.at, self.problem(node.at, reason, quiet=quiet).reason, node.count()
            )
        if not node.children:
            self.problem(node.at, f"{kind} block has no lines under it", quiet=quiet)
        return Block(node.at, kind, label[:-1].strip(), self.body(node.children, quiet=quiet))

    def if_chain(self, chain: list[LineNode], *, quiet: bool) -> Statement:
        branches: list[Branch] = []
        for node in chain:
            text = node.at.text
            verb = _verb(text)
            if verb == "ELSE" and not _is_else_if(text):
                if text[4:].strip() != ":":
                    self.problem(node.at, "ELSE takes no condition: write ELSE:", quiet=quiet)
                condition = None
            else:
                rest = re.sub(r"^(IF|ELIF|ELSE\s+IF)\b", "", text).strip()
                if not rest.endswith(":") or not rest[:-1].strip():
                    reason = (
                        f"{verb if verb != 'ELSE' else 'ELSE IF'} needs a condition and a colon"
                    )
                    self.problem(node.at, reason, quiet=quiet)
                    condition = rest.rstrip(":").strip() or "false"
                else:
                    condition = rest[:-1].strip()
            if not node.children:
                self.problem(node.at, "branch has no lines under it", quiet=quiet)
            branches.append(Branch(node.at, condition, self.body(node.children, quiet=quiet)))
        return If(chain[0].at, tuple(branches))

    def simple(self, at: Line, verb: str, rest: str, *, quiet: bool) -> Statement:
        try:
            if verb == "EMIT":
                return _emit(at, rest)
            if verb == "TRACK":
                return _track(at, rest)
            if verb == "SPAWN":
                return _spawn(at, rest)
            if verb == "AWAIT":
                target = rest.strip()
                if not target:
                    raise _Bad("AWAIT needs what to wait for, e.g. AWAIT match_results")
                return Await(at, target)
            return _consider(at, rest)
        except _Bad as bad:
            return self.problem(at, str(bad), quiet=quiet)


class _Bad(Exception):
    pass


def _verb(text: str) -> str | None:
    match = _VERB.match(text)
    return match.group(1) if match else None


def _is_else_if(text: str) -> bool:
    return re.match(r"^ELSE\s+IF\b", text) is not None


def _quoted(text: str, what: str) -> tuple[str, str]:
    """The leading quoted string of `text` and what follows it."""
    match = _QUOTED.match(text)
    if match is None:
        raise _Bad(f'{what} must be quoted, e.g. "namespace:action"')
    double, single, rest = match.groups()
    if double is not None:
        try:
            return json.loads(f'"{double}"'), rest
        except ValueError:
            return double, rest
    return single.replace("''", "'"), rest


def _event_name(text: str, verb: str) -> tuple[str, str]:
    event, rest = _quoted(text, f"the event name after {verb}")
    if not _EVENT_NAME.match(event):
        raise _Bad(f"{event!r} is not an event name of the form namespace:action")
    return event, rest


def flow_map(text: str, what: str) -> dict[str, Any]:
    """A YAML flow map (`{mode: "elimination", reduce: "20%"}`) as plain data."""
    text = text.strip()
    if text.startswith("{") and open_brackets(text) > 0:
        raise _Bad(f"{what} is not closed: a }} or ] is missing")
    if not (text.startswith("{") and text.endswith("}")):
        raise _Bad(f"{what} must be a {{...}} map")
    try:
        value = load_plain(text, "strategy")
    except InputError as err:
        reason = err.message.removeprefix("invalid YAML: ")
        raise _Bad(f"{what} is not a valid {{...}} map: {reason}") from None
    if not isinstance(value, dict) or not all(isinstance(key, str) for key in value):
        raise _Bad(f"{what} must be a {{...}} map with names as keys")
    return value


def _emit(at: Line, rest: str) -> Emit:
    event, rest = _event_name(rest, "EMIT")
    if not rest.strip():
        return Emit(at, event, {})
    with_ = _WITH.match(rest)
    if with_ is None:
        raise _Bad(f"unexpected {rest.strip()!r} after the event name (expected WITH {{...}})")
    data = with_.group(1).strip()
    if not data:
        raise _Bad("WITH needs a {...} map")
    if data.startswith("{"):
        return Emit(at, event, flow_map(data, "the data after WITH"))
    if _NAME.match(data):
        return Emit(at, event, None, data_ref=data)
    raise _Bad(f"the data after WITH must be a {{...}} map, not {data!r}")


def _key_value(text: str, key: str, what: str) -> tuple[Any, str]:
    """`key: value rest` -> (value, rest), the value a quoted string or a plain word/number."""
    match = re.match(rf"^\s*{key}\s*:\s*(.*)$", text, re.DOTALL)
    if match is None:
        raise _Bad(f"{what}: expected {key}: ...")
    rest = match.group(1)
    if rest[:1] in "\"'":
        return _quoted(rest, f"the {key}")
    word = re.match(r"^([^\s,]+)(.*)$", rest, re.DOTALL)
    if word is None:
        raise _Bad(f"{what}: {key} has no value")
    return _scalar(word.group(1)), word.group(2)


def _scalar(text: str) -> Any:
    try:
        return load_plain(text, "strategy")
    except InputError:
        return text


def _options(rest: str, what: str) -> dict[str, Any]:
    """What follows WITH: a {...} map or `key: value` pairs separated by commas."""
    rest = rest.strip()
    if not rest:
        return {}
    with_ = _WITH.match(" " + rest)
    if with_ is None:
        raise _Bad(f"unexpected {rest!r} in {what} (expected WITH ...)")
    body = with_.group(1).strip()
    if body.startswith("{"):
        return flow_map(body, f"the map after WITH in {what}")
    if not body or body.endswith(":"):
        raise _Bad(f"WITH in {what} needs key: value pairs or a {{...}} map")
    return flow_map("{" + body + "}", f"the key: value pairs after WITH in {what}")


def _confidence(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise _Bad(f"confidence must be a number from 0 to 1, not {value!r}")
    return float(value)


def _track(at: Line, rest: str) -> Track:
    if rest.strip().startswith("{"):
        options = flow_map(rest, "the map after TRACK")
        decision = options.pop("decision", None)
        if not isinstance(decision, str) or not decision:
            raise _Bad('TRACK {...} needs decision: "name"')
    else:
        decision, rest = _key_value(rest, "decision", "TRACK")
        if not isinstance(decision, str) or not decision:
            raise _Bad('TRACK needs decision: "name"')
        options = _options(rest, "TRACK")
    unknown = set(options) - {"confidence", "context", "outcome"}
    if unknown:
        raise _Bad(f"TRACK takes confidence, context and outcome, not {', '.join(sorted(unknown))}")
    confidence = _confidence(options["confidence"]) if "confidence" in options else None
    context = options.get("context")
    if context is not None and not isinstance(context, dict):
        raise _Bad("TRACK context must be a {...} map")
    outcome = options.get("outcome")
    return Track(at, decision, confidence, context, None if outcome is None else str(outcome))


def _spawn(at: Line, rest: str) -> Spawn:
    match = re.match(r"^\s+([A-Za-z_][A-Za-z0-9_-]*)(.*)$", rest, re.DOTALL)
    if match is None:
        raise _Bad('SPAWN needs a role, e.g. SPAWN judge WITH profile: "base_multi_agent"')
    role, rest = match.groups()
    options = _options(rest, "SPAWN")
    profile = options.pop("profile", None)
    if not isinstance(profile, str) or not profile:
        raise _Bad(f'SPAWN {role} needs WITH profile: "name"')
    purpose = options.pop("purpose", None)
    return Spawn(at, role, profile, None if purpose is None else str(purpose), options)


def _consider(at: Line, rest: str) -> Consider:
    event, rest = _event_name(rest, "CONSIDER")
    if not rest.strip():
        return Consider(at, event, None)
    match = re.match(r"^\s+IF\s+(.+)$", rest, re.DOTALL)
    if match is None:
        raise _Bad(f"unexpected {rest.strip()!r} after the event name (expected IF condition)")
    return Consider(at, event, match.group(1).strip())
