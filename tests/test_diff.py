"""The structural diff engine: plain documents in, {path, kind, old, new} records out."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ksi_patterns.diff.list_matching import identity_key
from ksi_patterns.diff.structural import Change, diff, stat, without
from ksi_patterns.documents.loading import load_plain
from ksi_patterns.documents.model import format_path


def records(old: Any, new: Any) -> list[tuple[str, str, Any, Any]]:
    return [(c.path, c.kind, c.old, c.new) for c in diff(old, new)]


def agent(number: int, **extra: Any) -> dict[str, Any]:
    return {"name": f"agent_{number:04d}", "profile": "base", "count": number % 5, **extra}


# -- maps and scalars ----------------------------------------------------------------------------


def test_identical_documents_have_no_changes() -> None:
    doc = {"name": "x", "agents": [agent(1), agent(2)], "metadata": {"tags": ["a", "b"]}}
    assert diff(doc, copy.deepcopy(doc)) == []


def test_scalar_change() -> None:
    assert records({"version": "1.0.0"}, {"version": "1.1.0"}) == [
        ("version", "changed", "1.0.0", "1.1.0")
    ]


def test_key_added_and_removed() -> None:
    old = {"name": "x", "author": "me"}
    new = {"name": "x", "extends": "base"}
    assert records(old, new) == [
        ("extends", "added", None, "base"),
        ("author", "removed", "me", None),
    ]


def test_nested_maps_are_diffed_key_by_key_even_with_few_shared_keys() -> None:
    # deepdiff's default threshold would report the whole map as replaced.
    old = {"performance": {"runs": 3, "avg_score": 0.5, "old_metric": 1}}
    new = {"performance": {"runs": 4, "new_metric": 2, "other": 3}}
    assert records(old, new) == [
        ("performance.runs", "changed", 3, 4),
        ("performance.new_metric", "added", None, 2),
        ("performance.other", "added", None, 3),
        ("performance.avg_score", "removed", 0.5, None),
        ("performance.old_metric", "removed", 1, None),
    ]


def test_multiline_string_change_is_one_record_with_both_texts() -> None:
    old = {"orchestration_logic": {"strategy": "WHEN a:\n  EMIT b\n  EMIT c\n"}}
    new = {"orchestration_logic": {"strategy": "WHEN a:\n  EMIT b2\n  EMIT c\n"}}
    assert records(old, new) == [
        (
            "orchestration_logic.strategy",
            "changed",
            "WHEN a:\n  EMIT b\n  EMIT c\n",
            "WHEN a:\n  EMIT b2\n  EMIT c\n",
        )
    ]


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("3", 3),
        ({"a": 1}, [1]),
        (None, 30),
        (True, 1),  # true is not 1, although Python says True == 1
        (1, False),
    ],
)
def test_type_change(old: Any, new: Any) -> None:
    assert records({"x": old}, {"x": new}) == [("x", "type_changed", old, new)]


def test_int_and_float_are_one_number_type() -> None:
    assert records({"confidence": 1}, {"confidence": 0.9}) == [("confidence", "changed", 1, 0.9)]
    assert diff({"confidence": 1}, {"confidence": 1.0}) == []


def test_bool_inside_identical_looking_items_is_still_seen() -> None:
    # The fast path skips equal items with ==, which says True == 1.
    old = {"agents": [agent(1, enabled=True)]}
    new = {"agents": [agent(1, enabled=1)]}
    assert records(old, new) == [("agents[0].enabled", "type_changed", True, 1)]


# -- lists of maps matched by identity -----------------------------------------------------------


def test_insertion_into_a_keyed_list_is_one_change() -> None:
    old = {"agents": [agent(n) for n in range(10)]}
    new = copy.deepcopy(old)
    new["agents"].insert(0, agent(99))
    assert records(old, new) == [("agents[0]", "added", None, agent(99))]


def test_removal_from_a_keyed_list_is_one_change_at_the_old_index() -> None:
    old = {"agents": [agent(n) for n in range(10)]}
    new = copy.deepcopy(old)
    del new["agents"][3]
    assert records(old, new) == [("agents[3]", "removed", agent(3), None)]


def test_edit_in_a_keyed_list_is_reported_at_the_new_index() -> None:
    old = {"agents": [agent(n) for n in range(10)]}
    new = copy.deepcopy(old)
    new["agents"].insert(0, agent(99))
    new["agents"][6]["count"] = 42  # agent_0005, index 5 in the old list
    assert records(old, new) == [
        ("agents[0]", "added", None, agent(99)),
        ("agents[6].count", "changed", 0, 42),
    ]


def test_reorder_reports_only_the_items_that_moved() -> None:
    old = {"agents": [agent(n) for n in range(10)]}
    new = copy.deepcopy(old)
    new["agents"].append(new["agents"].pop(2))  # agent_0002 to the end
    assert records(old, new) == [("agents[9]", "moved", 2, 9)]


def test_swap_is_one_move() -> None:
    old = {"agents": [agent(n) for n in range(3)]}
    new = {"agents": [agent(1), agent(0), agent(2)]}
    assert [c.kind for c in diff(old, new)] == ["moved"]


def test_moved_and_edited_item_gives_both_records() -> None:
    old = {"agents": [agent(n) for n in range(5)]}
    new = copy.deepcopy(old)
    moved = new["agents"].pop(0)
    moved["profile"] = "judge"
    new["agents"].append(moved)
    assert records(old, new) == [
        ("agents[4]", "moved", 0, 4),
        ("agents[4].profile", "changed", "base", "judge"),
    ]


def test_learnings_are_matched_by_insight() -> None:
    learning = {"insight": "timeouts double", "confidence": 0.8, "evidence": "runs:[1,2]"}
    other = {"insight": "judges disagree", "confidence": 0.6, "evidence": "runs:[3]"}
    new_learning = {"insight": "swiss pairing", "confidence": 0.9, "evidence": "runs:[4]"}
    old = {"learnings": [learning, other]}
    new = {"learnings": [new_learning, {**learning, "confidence": 0.85}, other]}
    assert records(old, new) == [
        ("learnings[0]", "added", None, new_learning),
        ("learnings[1].confidence", "changed", 0.8, 0.85),
    ]


def test_decision_log_entries_are_matched_by_id() -> None:
    entries = [
        {"id": f"01J{n}", "decision": "increased_timeout", "confidence": 0.5} for n in range(4)
    ]
    new = [
        *entries[:2],
        {**entries[2], "outcome": "ok"},
        entries[3],
        {"id": "01JX", "decision": "x"},
    ]
    assert records(entries, new) == [
        ("[2].outcome", "added", None, "ok"),
        ("[4]", "added", None, {"id": "01JX", "decision": "x"}),
    ]


def test_identity_key_is_detected_when_there_is_no_usual_one() -> None:
    old = [{"source": f"s{n}", "target": "t", "mapping": {"a": n}} for n in range(5)]
    new = [old[4], *old[:4]]
    assert identity_key(old, new) == "source"
    assert records({"transformers": old}, {"transformers": new}) == [
        ("transformers[0]", "moved", 4, 0)
    ]


def test_detected_identity_prefers_a_key_whose_values_both_sides_share() -> None:
    # `confidence` is unique in a one-item list, but changing it is no new item.
    old = [{"confidence": 0.5, "evidence": "runs:[1]", "rank": 1}]
    new = [{"confidence": 0.5, "evidence": "runs:[1]", "rank": 2}]
    assert identity_key(old, new) == "evidence"
    assert records({"l": old}, {"l": new}) == [("l[0].rank", "changed", 1, 2)]


def test_items_without_identity_are_aligned_like_lines() -> None:
    steps = [{"do": "a"}, {"do": "b"}, {"do": "a"}]  # `do` repeats: no identity
    new = [{"do": "z"}, *copy.deepcopy(steps)]
    new[2]["do"] = "c"
    changes = records({"steps": steps}, {"steps": new})
    assert changes == [
        ("steps[0]", "added", None, {"do": "z"}),
        ("steps[2].do", "changed", "b", "c"),
    ]


# -- lists of scalars ----------------------------------------------------------------------------


def test_tags_are_a_set_reordering_is_no_change() -> None:
    old = {"metadata": {"tags": ["a", "b", "c"]}}
    assert diff(old, {"metadata": {"tags": ["c", "a", "b"]}}) == []


def test_tag_added_and_removed() -> None:
    old = {"metadata": {"tags": ["a", "b", "c"], "capabilities_required": ["x"]}}
    new = {"metadata": {"tags": ["c", "a", "d"], "capabilities_required": ["y", "x"]}}
    assert records(old, new) == [
        ("metadata.tags[1]", "removed", "b", None),
        ("metadata.tags[2]", "added", None, "d"),
        ("metadata.capabilities_required[0]", "added", None, "y"),
    ]


def test_unique_scalars_outside_sets_report_moves() -> None:
    old = {"use_cases": ["one", "two", "three"]}
    new = {"use_cases": ["two", "three", "one"]}
    assert records(old, new) == [("use_cases[2]", "moved", 0, 2)]


def test_repeated_scalars_are_aligned_like_lines() -> None:
    old = {"lines": ["x", "y", "x", "y"]}
    new = {"lines": ["x", "y", "new", "x", "y"]}
    assert records(old, new) == [("lines[2]", "added", None, "new")]


# -- scale ---------------------------------------------------------------------------------------


def test_a_thousand_item_keyed_list_with_three_edits_gives_three_records() -> None:
    old = {"agents": [agent(n, role=f"role {n}") for n in range(1000)]}
    new = copy.deepcopy(old)
    new["agents"].insert(0, agent(5000))  # shifts every index by one
    del new["agents"][501]  # agent_0500
    new["agents"][800]["role"] = "judge"  # agent_0799
    changes = diff(old, new)
    assert [(c.path, c.kind) for c in changes] == [
        ("agents[0]", "added"),
        ("agents[500]", "removed"),
        ("agents[800].role", "changed"),
    ]


def test_a_thousand_item_keyed_list_reversed_is_fast_and_minimal() -> None:
    old = {"agents": [agent(n) for n in range(1000)]}
    new = {"agents": list(reversed(copy.deepcopy(old["agents"])))}
    changes = diff(old, new)
    assert len(changes) == 999  # all but one item changed places relative to the others
    assert {c.kind for c in changes} == {"moved"}


# -- paths, order, summaries ---------------------------------------------------------------------


def test_paths_quote_keys_that_are_not_plain_words() -> None:
    assert format_path(["metadata", "tags", 3]) == "metadata.tags[3]"
    assert format_path(["routing", "a.b", "c d", 0]) == 'routing["a.b"]["c d"][0]'
    assert format_path([2, "x"]) == "[2].x"
    assert records({"m": {"a.b": 1}}, {"m": {"a.b": 2}}) == [('m["a.b"]', "changed", 1, 2)]


def test_changes_come_in_document_order_parents_first() -> None:
    old = {"name": "x", "version": "1", "zeta": {"b": 1, "a": 1}, "alpha": 1}
    new = {"name": "y", "version": "2", "zeta": {"b": 2, "a": 2}, "alpha": 2}
    assert [c.path for c in diff(old, new)] == ["name", "version", "zeta.b", "zeta.a", "alpha"]


def test_removal_reads_before_addition_at_the_same_index() -> None:
    old = {"learnings": [{"insight": "a"}]}
    new = {"learnings": [{"insight": "b"}]}
    assert [c.kind for c in diff(old, new)] == ["removed", "added"]


def test_records_are_json_with_exactly_four_fields() -> None:
    change = Change(("learnings", 2, "confidence"), "changed", 0.8, 0.9)
    assert change.to_json() == {
        "path": "learnings[2].confidence",
        "kind": "changed",
        "old": 0.8,
        "new": 0.9,
    }
    json.dumps([c.to_json() for c in diff({"a": [1, {"b": None}]}, {"a": [2, {"b": 1}]})])


def test_without_hides_paths_and_everything_under_them() -> None:
    changes = diff(
        {"name": "a", "lineage": {"parent": "p"}, "names": 1, "metadata": {"lineage": {"x": 1}}},
        {"name": "b", "lineage": {"parent": "q"}, "names": 2, "metadata": {"lineage": {"x": 2}}},
    )
    kept = without(changes, ("name", "lineage", "metadata.lineage"))
    assert [c.path for c in kept] == ["names"]


def test_stat_counts_per_kind_and_per_top_level_key() -> None:
    old = {"a": {"x": 1, "y": 2}, "b": [1, 2]}
    new = {"a": {"x": 3}, "b": [1, 2, 3], "c": True}
    summary = stat(diff(old, new))
    assert summary.total == 4
    assert summary.by_kind == {
        "added": 2,
        "removed": 1,
        "changed": 1,
        "type_changed": 0,
        "moved": 0,
    }
    assert summary.by_key == {
        "a": {"changed": 1, "removed": 1},
        "b": {"added": 1},
        "c": {"added": 1},
    }


# -- real files ----------------------------------------------------------------------------------


def at(document: Any, steps: tuple[str | int, ...]) -> Any:
    for step in steps:
        document = document[step]
    return document


def check_records_point_at_their_values(old: Any, new: Any, changes: list[Change]) -> None:
    """Each record's path finds its value: in the new document, or the old one for removals."""
    for change in changes:
        if change.kind == "removed":
            assert at(old, change.steps) == change.old, change
        elif change.kind == "moved":
            container = change.steps[:-1]
            assert at(new, change.steps) == at(new, container)[change.new], change
            assert change.new == change.steps[-1]
        else:
            assert at(new, change.steps) == change.new, change


def load(path: Path) -> Any:
    return load_plain(path.read_bytes(), str(path))


CORPUS_PAIRS = [
    ("evolution_test_base", "evolution_test_improved"),
    ("evolution_test_improved", "evolution_test_advanced"),
    ("adaptive_tournament_v2", "adaptive_tournament_v3"),
    ("game_theory_orchestration", "game_theory_orchestration_v2"),
    ("tournament_orchestration_v1", "adaptive_tournament_v2"),
    ("evolution_test_improved_decisions", "adaptive_tournament_v2_decisions"),
]


@pytest.mark.parametrize(("before", "after"), CORPUS_PAIRS)
def test_corpus_pairs_give_records_that_point_at_their_values(
    corpus: Path, before: str, after: str
) -> None:
    old = load(corpus / "orchestrations" / f"{before}.yaml")
    new = load(corpus / "orchestrations" / f"{after}.yaml")
    changes = diff(old, new)
    assert changes
    check_records_point_at_their_values(old, new, changes)
    assert changes == diff(old, new)  # deterministic


def test_every_corpus_file_equals_itself(corpus: Path) -> None:
    for path in sorted(corpus.rglob("*.yaml")):
        document = load(path)
        assert diff(document, load(path)) == [], path


def test_corpus_edit_is_found_exactly(corpus: Path) -> None:
    old = load(corpus / "orchestrations" / "swarm_optimization_pattern.yaml")
    new = copy.deepcopy(old)
    new["learnings"].insert(1, {"insight": "new one", "confidence": 0.5})
    new["learnings"][3]["confidence"] = 0.11
    new["transformers"].reverse()
    changes = diff(old, new)
    kinds = [(c.path, c.kind) for c in changes if not c.path.startswith("transformers")]
    assert kinds == [("learnings[1]", "added"), ("learnings[3].confidence", "changed")]
    moves = [c for c in changes if c.path.startswith("transformers")]
    assert len(moves) == len(new["transformers"]) - 1
    check_records_point_at_their_values(old, new, changes)


# -- properties ----------------------------------------------------------------------------------


def test_random_edits_to_keyed_lists_give_records_that_point_at_their_values() -> None:
    operations = st.lists(
        st.tuples(
            st.sampled_from(["insert", "delete", "edit", "move"]),
            st.integers(0, 40),
            st.integers(0, 40),
        ),
        max_size=12,
    )

    @settings(max_examples=150, deadline=None)
    @given(operations)
    def check(ops: list[tuple[str, int, int]]) -> None:
        old = {"agents": [agent(n, tags=["a", f"t{n}"]) for n in range(30)]}
        new = copy.deepcopy(old)
        items = new["agents"]
        for number, (op, a, b) in enumerate(ops):
            if op == "insert":
                items.insert(a % (len(items) + 1), agent(1000 + number))
            elif items and op == "delete":
                del items[a % len(items)]
            elif items and op == "edit":
                items[a % len(items)]["count"] = 100 + b
            elif items and op == "move":
                items.insert(b % len(items), items.pop(a % len(items)))
        changes = diff(old, new)
        check_records_point_at_their_values(old, new, changes)
        inserted = sum(1 for op, _a, _b in ops if op == "insert")
        assert sum(1 for c in changes if c.kind == "added") <= inserted
        assert sum(1 for c in changes if c.kind != "moved") <= len(ops)

    check()


def test_moves_are_the_fewest_that_explain_the_order() -> None:
    old = {"l": [agent(n) for n in range(8)]}
    order = [0, 1, 5, 2, 3, 4, 6, 7]  # only agent_0005 moved
    new = {"l": [agent(n) for n in order]}
    assert records(old, new) == [("l[2]", "moved", 5, 2)]
    # the reported moves leave an increasing run of the rest
    moved = {c.old for c in diff(old, new)}
    rest = [n for n in order if n not in moved]
    assert all(a < b for a, b in pairwise(rest))


# -- start-up ------------------------------------------------------------------------------------


def test_importing_the_engine_does_not_import_deepdiff() -> None:
    code = "import sys, ksi_patterns.diff.structural; print('deepdiff' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "False"
