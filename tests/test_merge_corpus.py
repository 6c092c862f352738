"""Every real file of the ksi corpus, edited in two different places on two sides, merges
cleanly, keeps both edits, and leaves every other byte as it was."""

from __future__ import annotations

from pathlib import Path

import pytest
from ruamel.yaml import YAML
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ksi_patterns.documents import load_plain
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
