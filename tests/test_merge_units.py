"""The merge engine's parts and its less common inputs, one behaviour per test."""

from __future__ import annotations

import itertools
import time

import pytest

from ksi_patterns.documents.loading import load_plain
from ksi_patterns.merge import (
    APPEND_UNION,
    ATOMIC,
    DEFAULT_POLICIES,
    KEYED,
    MISSING,
    SET,
    Conflict,
    MergePolicies,
    merge,
)
from ksi_patterns.merge.diff3 import diff3
from ksi_patterns.merge.order import merge_order, union_order

# -- diff3 and ordering --------------------------------------------------------------------------


def test_diff3_takes_the_side_that_changed_each_stretch() -> None:
    base, ours, theirs = list("abcdef"), list("aXcdef"), list("abcdeY")
    chunks = diff3(base, ours, theirs)
    assert [c.take for c in chunks if not c.stable] == ["ours", "theirs"]


def test_diff3_conflicts_where_changes_touch() -> None:
    chunks = diff3(list("abc"), list("aXc"), list("aYc"))
    assert [c.take for c in chunks] == ["ours", "conflict", "ours"]
    inserts = diff3(list("ab"), list("abX"), list("abY"))
    assert inserts[-1].take == "conflict"  # both inserted at the same place


def test_merge_order_keeps_a_reorder_and_places_insertions() -> None:
    base = list("abcde")
    for moved in itertools.permutations(base):
        for at in range(len(base) + 1):
            inserted = [*base[:at], "x", *base[at:]]
            order, clash = merge_order(base, list(moved), inserted, {*base, "x"})
            assert not clash
            assert [item for item in order if item != "x"] == list(moved)


def test_merge_order_is_a_permutation_and_clashes_symmetrically() -> None:
    base = list("abcd")
    for ours in itertools.permutations(base):
        for theirs in itertools.permutations(base):
            order, clash = merge_order(base, list(ours), list(theirs), set(base))
            assert sorted(order) == base
            assert merge_order(base, list(theirs), list(ours), set(base))[1] == clash


def test_merge_order_reports_two_different_moves_of_one_item() -> None:
    _order, clash = merge_order(list("abcd"), list("abdc"), list("adbc"), set("abcd"))
    assert clash


def test_union_order_is_ours_then_theirs_additions() -> None:
    assert union_order(list("abc"), list("abdce"), set("abcde")) == list("abcde")


# -- policies and records ---------------------------------------------------------------------


def test_policies_prefer_the_most_specific_pattern() -> None:
    policies = MergePolicies({("components", "*", "tags"): SET, ("*", "*", "tags"): ATOMIC})
    assert policies.for_path(("components", 3, "tags")) == SET
    assert policies.for_path(("agents", 0, "tags")) == ATOMIC
    assert policies.for_path(("tags",)) is None
    extended = policies.extended({("components", "*", "tags"): KEYED("id")})
    assert extended.for_path(("components", 0, "tags")) == KEYED("id")


def test_default_policies_cover_the_seed_lists() -> None:
    assert DEFAULT_POLICIES.for_path(()) == APPEND_UNION("id")
    assert DEFAULT_POLICIES.for_path(("learnings",)) == APPEND_UNION("insight")
    assert DEFAULT_POLICIES.for_path(("metadata", "tags")) == SET
    assert DEFAULT_POLICIES.for_path(("lineage", "merges")) == APPEND_UNION(("from", "commit"))
    assert DEFAULT_POLICIES.for_path(("components",)) == KEYED("name")


def test_conflict_json_uses_dotted_paths_and_null_for_absent() -> None:
    record = Conflict(("metadata", "tags", 2), "delete-modify", "a", MISSING, "b")
    assert record.to_json() == {
        "path": "metadata.tags[2]",
        "kind": "delete-modify",
        "base": "a",
        "ours": None,
        "theirs": "b",
    }


# -- documents ----------------------------------------------------------------------------------


def test_both_sides_adding_the_same_keyed_item_merge_its_fields() -> None:
    base = "components:\n  - name: a\n    x: 1\n"
    result = merge(base, base + "  - name: d\n    x: 4\n", base + "  - name: d\n    y: 5\n")
    assert result.clean
    assert load_plain(result.text, "m")["components"][1] == {"name": "d", "x": 4, "y": 5}


def test_items_without_identity_merge_by_position() -> None:
    base = (
        "routing:\n  rules:\n"
        "    - {pattern: m, from: hello, to: goodbye}\n"
        "    - {pattern: m, from: goodbye, to: hello}\n"
    )
    ours = base.replace("to: goodbye", "to: goodbye2")
    theirs = base.replace("to: hello}", "to: hello2}")
    result = merge(base, ours, theirs)
    assert result.clean
    rules = load_plain(result.text, "m")["routing"]["rules"]
    assert [rule["to"] for rule in rules] == ["goodbye2", "hello2"]


def test_a_log_entry_without_id_edited_on_both_sides_merges_by_field() -> None:
    log = (
        "- pattern: p\n  decision: d1\n  outcome: ok\n  confidence: 0.5\n"
        "- pattern: p\n  decision: d2\n  outcome: ok\n  confidence: 0.6\n"
    )
    ours = log.replace("confidence: 0.5", "confidence: 0.55")
    theirs = log.replace("outcome: ok\n  confidence: 0.5", "outcome: great\n  confidence: 0.5")
    result = merge(log, ours, theirs)
    assert result.clean
    first = load_plain(result.text, "m")[0]
    assert (first["outcome"], first["confidence"]) == ("great", 0.55)


def test_atomic_lists_conflict_as_one_value() -> None:
    base = "metadata:\n  tags:\n    - a\n    - b\n"
    ours, theirs = base + "    - c\n", base.replace("    - a\n", "")
    assert load_plain(merge(base, ours, theirs).text, "m")["metadata"]["tags"] == ["b", "c"]
    atomic = DEFAULT_POLICIES.extended({("metadata", "tags"): ATOMIC})
    result = merge(base, ours, theirs, policies=atomic)
    assert [(c.path, c.kind) for c in result.conflicts] == [(("metadata", "tags"), "both-modified")]


def test_two_different_moves_of_one_item_are_a_list_order_conflict() -> None:
    base = "components:\n" + "".join(f"  - name: {n}\n" for n in "abcd")
    ours = "components:\n" + "".join(f"  - name: {n}\n" for n in "abdc")
    theirs = "components:\n" + "".join(f"  - name: {n}\n" for n in "adbc")
    result = merge(base, ours, theirs)
    assert [(c.path, c.kind) for c in result.conflicts] == [(("components",), "list-order")]
    assert result.text.startswith("<<<<<<< ours\ncomponents:\n")


def test_a_conflict_on_the_first_key_of_a_list_item_keeps_the_dash() -> None:
    base = "components:\n  - name: a\n    x: 1\n  - name: b\n    x: 2\n"
    result = merge(base, base.replace("x: 1", "x: 10"), base.replace("x: 1", "x: 11"))
    assert "  - name: a\n<<<<<<< ours\n    x: 10\n" in result.text
    first_key = "components:\n  - x: 1\n    name: a\n"
    result = merge(
        first_key, first_key.replace("x: 1", "x: 10"), first_key.replace("x: 1", "x: 11")
    )
    assert result.text.startswith("components:\n  -\n<<<<<<< ours\n    x: 10\n")


def test_windows_line_ends_stay_windows_line_ends() -> None:
    base = "a: 1\r\nb: |\r\n  x\r\n  y\r\n"
    result = merge(base, base.replace("x\r", "x0\r"), base.replace("y\r", "y0\r"))
    assert (
        result.text == "a: 1\r\nb: |\r\n<<<<<<< ours\r\n  x0\r\n  y\r\n||||||| base\r\n  x\r\n"
        "  y\r\n=======\r\n  x\r\n  y0\r\n>>>>>>> theirs\r\n"
    )
    clean = merge(base, base.replace("a: 1", "a: 2"), base + "c: 3\n")
    assert clean.text == "a: 2\r\nb: |\r\n  x\r\n  y\r\nc: 3\r\n"


def test_a_closing_document_marker_stays_last() -> None:
    base = "%YAML 1.2\n---\na: 1\nb: 2\n...\n"
    result = merge(base, base.replace("b: 2", "b: 2\nd: 4"), base.replace("b: 2", "b: 2\nc: 3"))
    assert result.text == "%YAML 1.2\n---\na: 1\nb: 2\nc: 3\nd: 4\n...\n"


def test_documents_with_aliases_merge_as_values() -> None:
    base = "x: &x {p: 1}\ny: *x\nz: 1\n"
    result = merge(base, base.replace("z: 1", "z: 2"), base.replace("{p: 1}", "{p: 1, q: 2}"))
    assert result.clean
    assert load_plain(result.text, "m") == {"x": {"p": 1, "q": 2}, "y": {"p": 1, "q": 2}, "z": 2}
    clash = merge(base, base.replace("z: 1", "z: 2"), base.replace("z: 1", "z: 3"))
    assert [(c.path, c.kind) for c in clash.conflicts] == [(("z",), "both-modified")]
    assert clash.text.startswith("<<<<<<< ours\nx: &x {p: 1}\n")  # the whole document


def test_scalar_flow_and_empty_documents() -> None:
    assert merge("{a: 1, b: 2}\n", "{a: 5, b: 2}\n", "{a: 1, b: 3}\n").text == "{a: 5, b: 3}\n"
    assert load_plain(merge("", "a: 1\n", "b: 2\n").text, "m") == {"a": 1, "b": 2}
    scalar = merge("hello\n", "hello ours\n", "hello theirs\n")
    assert [(c.path, c.kind) for c in scalar.conflicts] == [((), "both-modified")]
    emptied = merge("a: 1\nb: 2\n", "b: 2\n", "a: 1\n")
    assert emptied.clean and load_plain(emptied.text, "m") == {}


@pytest.mark.parametrize(
    ("ours", "reason"),
    [
        ("a: [\n", "not valid YAML: "),
        ("a: 1\n---\nb: 2\n", "expected a single document"),
        ("a: 1\na: 2\n", "duplicate key 'a' at x.yaml:2:1 (ours)"),
        ("a: " + "[" * 300 + "]" * 300 + "\n", "nested"),
        ("a: 1\n>>>>>>> theirs\n", "conflict markers already present (ours)"),
    ],
)
def test_unreadable_input_falls_back_to_lines(ours: str, reason: str) -> None:
    result = merge("a: 1\n", ours, "a: 3\n", path_hint="x.yaml")
    assert result.fallback is not None and reason in result.fallback
    assert "<<<<<<< ours\n" in result.text
    assert [c.kind for c in result.conflicts] == ["line-overlap"]


def test_a_line_fallback_without_overlap_is_clean() -> None:
    base = "a: 1\nb: 2\nc: 3\nd: 4\n"
    result = merge(base, "a: 1\na: 9\nb: 2\nc: 3\nd: 4\n", base.replace("d: 4", "d: 5"))
    assert result.fallback is not None and result.clean
    assert result.text == "a: 1\na: 9\nb: 2\nc: 3\nd: 5\n"


def test_oversized_input_is_refused_quickly() -> None:
    big = "a: " + "x" * (9 * 1024 * 1024) + "\n"
    started = time.perf_counter()
    result = merge("a: 1\n", big, "a: 2\n")
    assert time.perf_counter() - started < 2
    assert result.fallback is not None and "bytes" in result.fallback


def test_a_long_float_from_theirs_keeps_its_digits() -> None:
    base = "a: 0\n"
    result = merge(base, "a:\n  alpha: 0\n", "a:\n  beta: 5.21925542501417e+16\n")
    assert load_plain(result.text, "m") == {"a": {"alpha": 0, "beta": 5.21925542501417e16}}


# -- decision logs: the appended-tails path -----------------------------------------------------

LOG = "- id: A\n  decision: first\n- id: B\n  decision: second\n"


def test_a_log_appended_on_both_sides_is_ours_then_theirs_tail() -> None:
    ours = LOG + "- id: C\n  decision: ours\n"
    theirs = LOG + "- id: D\n  decision: theirs\n"
    assert merge(LOG, ours, theirs).text == ours + "- id: D\n  decision: theirs\n"


def test_an_entry_appended_on_both_sides_is_kept_once() -> None:
    same = LOG + "- id: C\n  decision: both\n"
    ours = same + "- id: E\n  decision: ours\n"
    result = merge(LOG, ours, same)
    assert result.clean and result.text == ours


def test_the_same_id_appended_with_different_content_merges_by_field() -> None:
    ours = LOG + "- id: C\n  decision: ours\n  outcome: ok\n"
    theirs = LOG + "- id: C\n  decision: theirs\n  outcome: ok\n"
    result = merge(LOG, ours, theirs)
    assert [(c.path, c.kind) for c in result.conflicts] == [((2, "decision"), "both-added")]


def test_a_log_edited_and_appended_takes_the_full_merge() -> None:
    ours = LOG.replace("decision: first", "decision: first, amended") + "- id: C\n  decision: c\n"
    theirs = LOG + "# a note\n- id: D\n  decision: d\n"
    result = merge(LOG, ours, theirs)
    assert result.clean
    assert [e["decision"] for e in load_plain(result.text, "m")] == [
        "first, amended",
        "second",
        "c",
        "d",
    ]
    assert "# a note\n- id: D" in result.text


def test_keep_ours_entries_are_never_merged() -> None:
    from ksi_patterns.merge import DEFAULT_POLICIES, KEEP_OURS, merge

    policies = DEFAULT_POLICIES.extended(
        [(("name",), KEEP_OURS), (("metadata", "performance"), KEEP_OURS)]
    )
    base = "name: parent\ndescription: old\nmetadata:\n  tags: [a]\n  performance:\n    runs: 5\n"
    # Ours left everything alone: theirs may still not be taken whole.
    theirs = "name: fork\ndescription: new\nmetadata:\n  tags: [a]\n  performance:\n    runs: 0\n"
    result = merge(base, base, theirs, policies=policies)
    assert result.clean
    assert result.text == base.replace("description: old", "description: new")
    # Ours changed one of them too: still ours, and no conflict.
    ours = base.replace("runs: 5", "runs: 6")
    result = merge(base, ours, theirs, policies=policies)
    assert result.clean
    assert result.text == ours.replace("description: old", "description: new")
    # Without the policy the same inputs conflict on runs and take theirs' name.
    plain = merge(base, ours, theirs)
    assert [c.kind for c in plain.conflicts] == ["both-modified"]


def test_one_definition_of_markers_left_behind() -> None:
    """The engine (falls back to lines) and --continue (refuses) see the same leftovers: an
    opening or closing marker line; `=======` alone is a valid line of a YAML block scalar."""
    from ksi_patterns.merge.markers import first_marker_line, has_markers, take_side

    block = "note: |\n  above\n  =======\n  below\n"
    assert not has_markers(block) and first_marker_line(block) is None
    left = "a: 1\n<<<<<<< ours\nb: 2\n=======\nb: 3\n>>>>>>> theirs\n"
    assert has_markers(left) and first_marker_line(left) == 2
    assert take_side(left, "ours") == "a: 1\nb: 2\n"
    assert take_side(left, "theirs") == "a: 1\nb: 3\n"
