"""Golden merges: tests/merge_golden/<case>/ holds base, ours, theirs and the expected text.

Optional files in a case: conflicts.json (the expected records; none means a clean merge),
fallback.txt (the expected `fallback` reason; none means a structural merge), options.json
(keyword arguments: path_hint, labels).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from ksi_patterns.documents.loading import load_plain
from ksi_patterns.merge import MergeResult, merge

GOLDEN = Path(__file__).resolve().parent / "merge_golden"
CASES = sorted(path.name for path in GOLDEN.iterdir() if path.is_dir())


def _run(case: str, *, swap: bool = False) -> MergeResult:
    folder = GOLDEN / case
    base, ours, theirs = (
        (folder / f"{n}.yaml").read_text("utf-8") for n in ("base", "ours", "theirs")
    )
    options: dict[str, Any] = {}
    if (folder / "options.json").exists():
        options = json.loads((folder / "options.json").read_text("utf-8"))
        if "labels" in options:
            options["labels"] = tuple(options["labels"])
    if swap:
        ours, theirs = theirs, ours
    return merge(base, ours, theirs, **options)


@pytest.mark.parametrize("case", CASES)
def test_golden(case: str) -> None:
    folder = GOLDEN / case
    result = _run(case)
    assert result.text == (folder / "expected.yaml").read_text("utf-8")
    expected_conflicts = []
    if (folder / "conflicts.json").exists():
        expected_conflicts = json.loads((folder / "conflicts.json").read_text("utf-8"))
    assert [c.to_json() for c in result.conflicts] == expected_conflicts
    assert result.clean == (not expected_conflicts)
    reason = (
        (folder / "fallback.txt").read_text("utf-8").strip()
        if (folder / "fallback.txt").exists()
        else None
    )
    if reason is None:
        assert result.fallback is None
    else:
        assert result.fallback is not None and reason in result.fallback


@pytest.mark.parametrize("case", CASES)
def test_golden_merges_are_valid_yaml_exactly_when_clean(case: str) -> None:
    result = _run(case)
    if result.clean and result.fallback is None:
        load_plain(result.text, case)
    if not result.clean:
        assert "\n=======\n" in result.text


def test_comments_move_with_inserted_and_deleted_keys() -> None:
    text = _run("comments_move_with_keys").text
    assert "# How long a match may run\ntimeouts:\n" in text  # ours' new key, its comment above
    assert "  # new players are uncertain\n  k_factor: 32\n" in text  # theirs' new key
    assert "Retired option" not in text  # theirs deleted the key: its comment goes too


def test_keys_added_by_theirs_follow_their_predecessor() -> None:
    keys = list(load_plain(_run("theirs_key_order").text, "x"))
    assert keys == [
        "name",
        "version",
        "author",
        "extends",
        "description",
        "orchestration_logic",
        "metadata",
    ]


def test_reorder_on_one_side_and_edit_on_the_other_both_survive() -> None:
    for swap in (False, True):
        data = load_plain(_run("keyed_reorder_and_edit", swap=swap).text, "x")
        names = [c["name"] for c in data["components"]]
        assert names == ["pattern_awareness", "orchestrator_override", "agent_config", "safety"]
        assert data["components"][1]["inline"]["prompt"] == "Emit JSON events, one per line."


def test_decision_logs_keep_ours_byte_for_byte_and_append_theirs() -> None:
    ours = (GOLDEN / "decision_log_both_append" / "ours.yaml").read_text("utf-8")
    text = _run("decision_log_both_append").text
    assert text.startswith(ours)
    assert [entry["decision"] for entry in load_plain(text, "x")][-2:] == [
        "swiss_pairing",
        "cache_scores",
    ]


def test_alias_bomb_is_refused_fast() -> None:
    folder = GOLDEN / "alias_bomb"
    base, ours, theirs = (
        (folder / f"{n}.yaml").read_text("utf-8") for n in ("base", "ours", "theirs")
    )
    merge(base, ours, theirs)  # warm imports and parsers
    started = time.perf_counter()
    result = merge(base, ours, theirs)
    elapsed = time.perf_counter() - started
    assert elapsed < 0.1, f"{elapsed:.3f} s"
    assert result.fallback is not None and "aliases over the cap" in result.fallback


def test_conflict_markers_wrap_the_whole_entry() -> None:
    text = _run("modify_delete").text
    block = text[text.index("<<<<<<< ours") : text.index(">>>>>>> theirs")]
    ours_part = block[: block.index("||||||| base")]
    assert ours_part.splitlines()[1:] == [
        "routing:",
        "  rules:",
        "    # Hello goes to goodbye",
        '    - pattern: "conversation:message"',
        '      from: "hello"',
        '      to: "goodbye"',
        "    # and back",
        '    - pattern: "conversation:message"',
        '      from: "goodbye"',
        '      to: "hello"',
    ]
    assert block.endswith("=======\n")  # theirs deleted it: an empty section


def test_labels_name_the_sides_in_markers() -> None:
    text = _run("conflict_whole_entry").text
    assert "<<<<<<< main\n" in text and "||||||| merge-base\n" in text
    assert ">>>>>>> fork/debate_v2\n" in text


@pytest.mark.parametrize("case", CASES)
def test_swapping_sides_mirrors_the_conflicts(case: str) -> None:
    forward, backward = _run(case), _run(case, swap=True)
    flip = {"modify-delete": "delete-modify", "delete-modify": "modify-delete"}
    assert sorted((c.path, flip.get(c.kind, c.kind)) for c in backward.conflicts) == sorted(
        (c.path, c.kind) for c in forward.conflicts
    )
