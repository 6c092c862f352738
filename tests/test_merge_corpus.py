"""Every real file of the ksi corpus, edited in two different places on two sides, merges
cleanly, keeps both edits, and leaves every other byte as it was; random edits on both sides
never lose a change only one side made."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.scalarstring import LiteralScalarString

from ksi_patterns.documents.loading import load_plain, load_roundtrip
from ksi_patterns.documents.render import render
from ksi_patterns.merge import merge

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "ksi-5a58af6"
FILES = sorted(CORPUS.rglob("*.yaml")) if CORPUS.is_dir() else []

pytestmark = pytest.mark.skipif(not FILES, reason=f"corpus not found at {CORPUS}")


def _ids(path: Path) -> str:
    return str(path.relative_to(CORPUS))


def _scalar_lines(text: str) -> list[tuple[int, int, int, str]]:
    """(line, value start, value end, key) of every `key: plain one-line value` in the file."""
    found: list[tuple[int, int, int, str]] = []
    stack: list[Node] = [YAML(typ="safe", pure=True).compose(text)]
    while stack:
        node = stack.pop()
        if isinstance(node, MappingNode):
            for key, value in node.value:
                if (
                    isinstance(key, ScalarNode)
                    and isinstance(value, ScalarNode)
                    and value.style is None
                    and value.value
                    and key.start_mark.line == value.start_mark.line == value.end_mark.line
                ):
                    found.append(
                        (
                            value.start_mark.line,
                            value.start_mark.column,
                            value.end_mark.column,
                            str(key.value),
                        )
                    )
                stack.append(value)
        elif isinstance(node, SequenceNode):
            stack.extend(node.value)
    return sorted(found)


def _edit(text: str, where: tuple[int, int, int, str], new: str) -> str:
    lines = text.splitlines(keepends=True)
    line, start, end, _key = where
    lines[line] = lines[line][:start] + new + lines[line][end:]
    return "".join(lines)


def _pairs(spots: list[tuple[int, int, int, str]]) -> list[tuple[int, int]]:
    """Which two spots ours and theirs edit: far apart, siblings, and in the middle."""
    first = next((i for i, spot in enumerate(spots) if spot[3] == "version"), 0)
    last = len(spots) - 1
    middle = len(spots) // 2
    pairs = {(first, last), (0, 1), (middle, min(middle + 1, last)), (last, first)}
    return sorted((a, b) for a, b in pairs if a != b)


@pytest.mark.parametrize("path", FILES, ids=_ids)
def test_two_edits_on_two_sides_merge_cleanly(path: Path) -> None:
    base = path.read_text(encoding="utf-8")
    plain = load_plain(base, str(path))
    if isinstance(plain, list):
        pytest.skip("decision log: see test_decision_log_appends")
    spots = _scalar_lines(base)
    assert len(spots) >= 2, "a corpus file with fewer than two scalars"
    for a, b in _pairs(spots):
        ours = _edit(base, spots[a], "edited_by_ours")
        theirs = _edit(base, spots[b], "edited_by_theirs")
        expected = _edit(ours, spots[b], "edited_by_theirs")
        result = merge(base, ours, theirs, path_hint=str(path))
        assert result.fallback is None
        assert result.conflicts == []
        assert result.text == expected, (spots[a], spots[b])


def _decision(pattern: str, decision: str, entry_id: str) -> str:
    return (
        f"- id: {entry_id}\n"
        f"  pattern: {pattern}\n"
        f"  decision: {decision}\n"
        "  context:\n"
        "    timeout_rate: 0.2\n"
        "  outcome: success\n"
        "  confidence: 0.8\n"
        "  agent_id: tester\n"
        "  timestamp: '2026-01-01T00:00:00Z'\n"
    )


DECISION_LOGS = [p for p in FILES if p.name.endswith("_decisions.yaml")]


@pytest.mark.parametrize("path", DECISION_LOGS, ids=_ids)
def test_decision_log_appends(path: Path) -> None:
    base = path.read_text(encoding="utf-8")
    if not isinstance(load_plain(base, str(path)), list):
        pytest.skip("named like a decision log but not a list")
    start = base if base.endswith("\n") else base + "\n"
    ours = start + _decision("p", "ours_decision", "01HOURS0000000000000000000")
    theirs = start + _decision("p", "theirs_decision", "01HTHEIRS00000000000000000")
    result = merge(base, ours, theirs, path_hint=str(path))
    assert result.fallback is None
    assert result.conflicts == []
    assert result.text == ours + _decision("p", "theirs_decision", "01HTHEIRS00000000000000000")


@pytest.mark.parametrize("path", FILES, ids=_ids)
def test_unchanged_sides_give_the_other_side_byte_for_byte(path: Path) -> None:
    base = path.read_text(encoding="utf-8")
    edited = base + "\n# an edit\n"
    assert merge(base, base, edited).text == edited
    assert merge(base, edited, base).text == edited
    assert merge(base, edited, edited).text == edited


# -- random edits of real files -------------------------------------------------------------------


def _containers(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], Any]]:
    found = [(path, node)]
    children = node.items() if isinstance(node, dict) else enumerate(node)
    for key, value in children:
        if isinstance(value, dict | list):
            found += _containers(value, (*path, key))
    return found


def _edited(text: str, rng: random.Random, tag: str) -> str:
    """`text` after a few edits of the round-trip tree, written back by render."""
    doc = load_roundtrip(text, "corpus")
    for _ in range(rng.randint(1, 5)):
        _path, node = rng.choice(_containers(doc.tree))
        if isinstance(node, dict) and node:
            key = rng.choice(list(node))
            action = rng.choice(["set", "delete", "add", "text"])
            if action == "set" and not isinstance(node[key], dict | list):
                node[key] = f"{tag}-{rng.randint(0, 99)}"
            elif action == "delete" and len(node) > 1:
                del node[key]
            elif action == "add":
                node[f"{tag}_key{rng.randint(0, 3)}"] = rng.randint(0, 9)
            elif action == "text" and isinstance(node[key], str) and "\n" in node[key]:
                lines = node[key].splitlines(keepends=True)
                lines.insert(rng.randrange(len(lines)), f"{tag} added this line\n")
                node[key] = LiteralScalarString("".join(lines))
        elif isinstance(node, list) and node:
            action = rng.choice(["append", "drop", "swap"])
            if action == "append":
                item = copy.deepcopy(rng.choice(node))
                if isinstance(item, dict) and item:
                    first = next(iter(item))
                    if not isinstance(item[first], dict | list):
                        item[first] = f"{tag}-new-{rng.randint(0, 99)}"
                elif not isinstance(item, list):
                    item = f"{tag}-item-{rng.randint(0, 99)}"
                node.append(item)
            elif action == "drop" and len(node) > 1:
                node.pop(rng.randrange(len(node)))
            elif action == "swap" and len(node) > 1:
                at = rng.randrange(len(node) - 1)
                node[at], node[at + 1] = node[at + 1], node[at]
    return render(doc)


def _flat(value: Any, path: tuple[Any, ...] = ()) -> dict[tuple[Any, ...], str]:
    """Maps opened up key by key; anything else compared whole."""
    if not isinstance(value, dict):
        return {path: json.dumps(value, sort_keys=True, default=str)}
    found = {path: "<map>"}
    for key, child in value.items():
        found.update(_flat(child, (*path, key)))
    return found


@pytest.mark.parametrize("path", FILES, ids=_ids)
def test_random_edits_on_both_sides_lose_nothing(path: Path) -> None:
    base = path.read_text(encoding="utf-8")
    rng = random.Random(_ids(path))
    flip = {"modify-delete": "delete-modify", "delete-modify": "modify-delete"}
    for _round in range(3):
        ours, theirs = _edited(base, rng, "ours"), _edited(base, rng, "theirs")
        result = merge(base, ours, theirs, path_hint=str(path))
        swapped = merge(base, theirs, ours, path_hint=str(path))
        assert result.fallback is None
        assert sorted(
            (tuple(s for s in c.path if not isinstance(s, int)), c.kind) for c in result.conflicts
        ) == sorted(
            (tuple(s for s in c.path if not isinstance(s, int)), flip.get(c.kind, c.kind))
            for c in swapped.conflicts
        )
        if not result.clean:
            assert "<<<<<<< ours\n" in result.text
            continue
        merged = _flat(load_plain(result.text, "merged"))
        flat_b, flat_o, flat_t = (_flat(load_plain(t, "x")) for t in (base, ours, theirs))
        for where in {*flat_b, *flat_o, *flat_t}:
            b, o, t = (flat.get(where, "<absent>") for flat in (flat_b, flat_o, flat_t))
            got = merged.get(where, "<absent>")
            if o == b and t != b:
                assert got == t, where
            elif t == b or o == t:
                assert got == o, where
