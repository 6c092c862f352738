"""render.py: an edit changes only what it touches, on every real file and on generated ones."""

from __future__ import annotations

import copy
import difflib
import functools
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import LiteralScalarString

from conftest import CORPUS, STARTER, typed
from ksi_patterns.documents.loading import load_plain, load_roundtrip, to_plain
from ksi_patterns.documents.render import render
from ksi_patterns.errors import InputError


def mapping_documents() -> list[Path]:
    """Every pattern and profile of the corpus and of the starter registry."""
    found = []
    for root in (CORPUS, STARTER):
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*.yaml")):
            if path.name == "ksi-registry.yaml":
                continue
            if isinstance(load_plain(path.read_bytes(), str(path)), dict):
                found.append(path)
    return found


DOCUMENTS = mapping_documents()


def ident(path: Path) -> str:
    root = CORPUS if path.is_relative_to(CORPUS) else STARTER
    return f"{root.name}/{path.relative_to(root)}"


def test_there_are_documents_to_edit() -> None:
    assert len(DOCUMENTS) >= 80


# -- where entries are in the original text --------------------------------------------------------


def span(tree: Any, path: tuple[str, ...], total: int) -> tuple[int, int]:
    """[first line, end) of the entry at `path`: from its key to the next sibling key."""
    start, end = 0, total
    node = tree
    for key in path:
        lines = sorted(node.lc.key(k)[0] for k in node)
        start = node.lc.key(key)[0]
        later = [line for line in lines if line > start]
        end = later[0] if later else end
        node = node[key]
    return start, end


@dataclass
class Edit:
    """One edit: how to apply it to the round-trip tree and to plain data, and the window of the
    original lines it may change (all other lines must survive, in order)."""

    name: str
    apply: Callable[[Any], None]
    window: tuple[int, int]
    inserts_only: bool


@functools.cache
def edits_for(path: Path) -> list[Edit]:
    text = path.read_text(encoding="utf-8")
    tree = load_roundtrip(text, str(path)).tree
    total = len(text.splitlines())
    keys = list(tree)
    found = []

    # 1. set `version`
    def set_version(doc: Any) -> None:
        doc["version"] = "7.8.9"

    if "version" in tree:
        line = tree.lc.key("version")[0]
        found.append(Edit("set-version", set_version, (line, line + 1), False))

    # 2. insert a `lineage` block right after `name`
    def add_lineage(doc: Any) -> None:
        lineage = {
            "parent": "someone@1.2.3",
            "fork_date": "2025-07-10T15:30:00Z",
            "fork_reason": "test: a reason with: a colon",
            "improvements": ["one", "two"],
        }
        if isinstance(doc, CommentedMap):
            doc.insert(list(doc).index("name") + 1, "lineage", lineage)
        else:
            items = list(doc.items())
            doc.clear()
            for key, value in items:
                doc[key] = value
                if key == "name":
                    doc["lineage"] = copy.deepcopy(lineage)

    if "name" in tree and "lineage" not in tree:
        name_line = tree.lc.key("name")[0]
        _start, after_name = span(tree, ("name",), total)
        found.append(Edit("insert-lineage", add_lineage, (name_line + 1, after_name), True))

    # 3. add a tag (where the file keeps its tags)
    def tags_of(doc: Any) -> Any:
        metadata = doc.get("metadata")
        return metadata["tags"] if isinstance(metadata, dict) and "tags" in metadata else None

    def add_tag(doc: Any) -> None:
        tags_of(doc).append("added-by-test")

    tags = tags_of(tree)
    if isinstance(tags, list):
        first, end = span(tree, ("metadata", "tags"), total)
        block = isinstance(tags, CommentedSeq) and not tags.fa.flow_style() and len(tags) > 0
        found.append(Edit("add-tag", add_tag, (first, end), block))

    # 4. append a learning
    learning = {
        "insight": "Shorter prompts cut timeouts: by half",
        "confidence": 0.75,
        "evidence": "12 runs",
        "discovered_by": "test",
    }

    def add_learning(doc: Any) -> None:
        if "learnings" in doc:
            doc["learnings"].append(copy.deepcopy(learning))
        else:
            doc["learnings"] = [copy.deepcopy(learning)]

    if isinstance(tree.get("learnings"), list) and tree["learnings"]:
        found.append(Edit("append-learning", add_learning, span(tree, ("learnings",), total), True))
    elif "learnings" not in tree:
        last_key_line = max(tree.lc.key(k)[0] for k in keys)
        if text.endswith("\n"):
            window = (last_key_line + 1, total)
            found.append(Edit("append-learning", add_learning, window, True))
        else:  # the last entry gains the line break it lacked (and `|-` if it is a block)
            window = (last_key_line, total)
            found.append(Edit("append-learning", add_learning, window, False))
    return found


CASES = [(path, edit.name) for path in DOCUMENTS for edit in edits_for(path)]


def check_only_window_changed(
    original: str, edited: str, window: tuple[int, int], inserts_only: bool
) -> None:
    old, new = original.splitlines(), edited.splitlines()
    lo, hi = window
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    changes = [op for op in matcher.get_opcodes() if op[0] != "equal"]
    report = "\n".join(difflib.unified_diff(old, new, "original", "edited", lineterm="", n=2))
    assert changes, "the edit changed nothing"
    for tag, i1, i2, _j1, _j2 in changes:
        assert lo <= i1 and i2 <= hi, f"changed lines {i1 + 1}-{i2} outside {lo + 1}-{hi}\n{report}"
        if inserts_only:
            assert tag == "insert", f"an insertion removed or rewrote lines\n{report}"
    # everything outside the window is the same text, in the same order
    assert new[:lo] == old[:lo]
    assert new[len(new) - (len(old) - hi) :] == old[hi:]


@pytest.mark.parametrize(("path", "edit_name"), CASES, ids=[f"{ident(p)}-{e}" for p, e in CASES])
def test_an_edit_changes_only_what_it_touches(path: Path, edit_name: str) -> None:
    original = path.read_text(encoding="utf-8")
    edit = next(e for e in edits_for(path) if e.name == edit_name)
    document = load_roundtrip(original, str(path))
    expected = load_plain(original, str(path))
    edit.apply(document.tree)
    edit.apply(expected)
    edited = render(document)
    # the same data, types and key order included (lineage right after name)
    assert typed(load_plain(edited, "edited")) == typed(expected)
    check_only_window_changed(original, edited, edit.window, edit.inserts_only)


@pytest.mark.parametrize("path", DOCUMENTS, ids=ident)
def test_all_four_edits_together(path: Path) -> None:
    original = path.read_text(encoding="utf-8")
    document = load_roundtrip(original, str(path))
    expected = load_plain(original, str(path))
    edits = edits_for(path)
    for edit in edits:
        edit.apply(document.tree)
        edit.apply(expected)
    edited = render(document)
    assert typed(load_plain(edited, "edited")) == typed(expected)
    # every original line outside the touched windows survives, in order
    touched = {line for e in edits if not e.inserts_only for line in range(*e.window)}
    kept = [line for number, line in enumerate(original.splitlines()) if number not in touched]
    remaining = iter(edited.splitlines())
    missing = [line for line in kept if not any(line == other for other in remaining)]
    assert missing == []


def test_an_unedited_document_renders_byte_identical() -> None:
    for path in DOCUMENTS:
        original = path.read_text(encoding="utf-8")
        document = load_roundtrip(original, str(path))
        assert render(document) == original, path


def test_an_edit_undone_renders_byte_identical() -> None:
    path = STARTER / "orchestrations" / "tournament_basic.yaml"
    original = path.read_text()
    document = load_roundtrip(original, str(path))
    old = document.tree["version"]
    document.tree["version"] = "9.9.9"
    document.tree["version"] = old
    assert render(document) == original


# -- comments travel with their key ---------------------------------------------------------------

COMMENTED = """\
# file header
name: sample
type: orchestration

# about the version
version: 1.0.0  # bumped by release

# the performance block
# (two comment lines)
performance:
  # runs so far
  runs: 3
  avg_score: 0.5
metadata:
  tags:
    - one
    # the second tag
    - two
"""


def edited(mutate: Callable[[Any], None], text: str = COMMENTED) -> str:
    document = load_roundtrip(text, "c.yaml")
    mutate(document.tree)
    return render(document)


def test_deleting_a_key_takes_its_comment_block_with_it() -> None:
    result = edited(lambda t: t.pop("version"))
    assert "# about the version" not in result
    assert "bumped by release" not in result
    assert result == COMMENTED.replace(
        "# about the version\nversion: 1.0.0  # bumped by release\n\n", ""
    )


def test_deleting_the_key_above_leaves_the_next_comment_in_place() -> None:
    result = edited(lambda t: t.pop("type"))
    lines = result.splitlines()
    assert lines.index("# about the version") + 1 == lines.index(
        "version: 1.0.0  # bumped by release"
    )
    assert "type:" not in result
    assert load_plain(result, "r") == {
        k: v for k, v in load_plain(COMMENTED, "c").items() if k != "type"
    }


def test_inserting_a_key_before_a_commented_key_keeps_the_comment_on_that_key() -> None:
    result = edited(lambda t: t.insert(list(t).index("performance"), "author", "ada"))
    lines = result.splitlines()
    author = lines.index("author: ada")
    comment = lines.index("# the performance block")
    assert author < comment
    assert lines[comment : comment + 3] == [
        "# the performance block",
        "# (two comment lines)",
        "performance:",
    ]


def test_moving_a_key_moves_its_comments() -> None:
    def move(tree: Any) -> None:
        value = tree.pop("performance")
        tree.insert(1, "performance", value)

    result = edited(move)
    lines = result.splitlines()
    start = lines.index("# the performance block")
    assert lines[start : start + 6] == [
        "# the performance block",
        "# (two comment lines)",
        "performance:",
        "  # runs so far",
        "  runs: 3",
        "  avg_score: 0.5",
    ]
    assert lines.index("name: sample") < start < lines.index("type: orchestration")
    assert list(load_plain(result, "r")) == ["name", "performance", "type", "version", "metadata"]


def test_reordering_nested_keys_is_an_edit() -> None:
    def swap(tree: Any) -> None:
        performance = tree["performance"]
        runs = performance.pop("runs")
        performance["runs"] = runs

    result = edited(swap)
    assert list(load_plain(result, "r")["performance"]) == ["avg_score", "runs"]
    assert "  avg_score: 0.5\n  # runs so far\n  runs: 3\n" in result


@pytest.mark.parametrize(
    ("written", "new"),
    [("1", True), ("0", False), ("1", 1.0), ("true", 1), ("'1'", 1), ("null", "null")],
)
def test_a_value_of_another_type_is_an_edit_even_when_python_calls_it_equal(
    written: str, new: Any
) -> None:
    text = f"a: {written}\nb: 2\n"
    document = load_roundtrip(text, "t.yaml")
    if written not in ("null", "'1'"):
        assert document.tree["a"] == new  # Python calls the old and new values equal
    document.tree["a"] = new
    assert typed(load_plain(render(document), "r")) == typed({"a": new, "b": 2})


@pytest.mark.parametrize(
    "text",
    [
        "a: 1\nb: |\n  text\n  more",
        "a: 1\nb: |+  # keep\n  text",
        "a: 1\nb:\n  - x\n  - >\n    folded\n    text",
        "a:\n  b: |2\n     indented\n    text",
        "a: 1\nb: plain",
    ],
)
def test_appending_after_a_block_that_ended_the_file_without_a_newline(text: str) -> None:
    document = load_roundtrip(text, "t.yaml")
    expected = load_plain(text, "t.yaml")
    document.tree["added"] = "value"
    expected["added"] = "value"
    result = render(document)
    assert typed(load_plain(result, "r")) == typed(expected), result
    # every original line is still there, only a block header may have gained `-`
    old_lines, new_lines = text.splitlines(), result.splitlines()
    assert new_lines[-1] == "added: value"
    changed = [(a, b) for a, b in zip(old_lines, new_lines, strict=False) if a != b]
    assert all(b.split("#")[0].rstrip().endswith("-") for _a, b in changed), changed
    assert len(changed) <= 1


def test_deleting_a_nested_key_and_a_list_item_takes_their_comments() -> None:
    def change(tree: Any) -> None:
        tree["performance"].pop("runs")
        tree["metadata"]["tags"].pop(1)

    result = edited(change)
    assert "# runs so far" not in result
    assert "# the second tag" not in result
    assert "# the performance block" in result
    assert load_plain(result, "r")["metadata"]["tags"] == ["one"]


def test_a_changed_scalar_keeps_its_end_of_line_comment() -> None:
    result = edited(lambda t: t.__setitem__("version", "1.0.1"))
    assert "version: 1.0.1  # bumped by release\n" in result
    assert result.replace("1.0.1", "1.0.0") == COMMENTED


# -- a property: random edits on generated documents ----------------------------------------------

KEYS = st.sampled_from(
    ["name", "type", "version", "tags", "runs", "a", "b", "c", "deep", "items", "x-y", "k_2"]
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.floats(allow_nan=False, allow_infinity=False, width=32).map(lambda f: round(f, 3)),
    st.sampled_from(
        ["yes", "no", "on", "2025-07-10", "1.0", "0o17", "null", "", " padded ", "a: b", "#x"]
    ),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), max_size=12),
    st.text(alphabet="ab \n:-#", min_size=1, max_size=20),  # multi-line and YAML-ish text
)


def containers(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.lists(children, min_size=1, max_size=4),
        st.dictionaries(KEYS, children, min_size=1, max_size=4),
    )


EMPTY = st.sampled_from([[], {}]).map(copy.deepcopy)
VALUES = st.recursive(st.one_of(SCALARS, EMPTY), containers, max_leaves=12)
DOCS = st.dictionaries(KEYS, VALUES, min_size=1, max_size=6)


def as_blocks(value: Any) -> Any:
    """Multi-line strings as `|` blocks, as people write them."""
    if isinstance(value, dict):
        return {key: as_blocks(item) for key, item in value.items()}
    if isinstance(value, list):
        return [as_blocks(item) for item in value]
    if isinstance(value, str) and "\n" in value.rstrip("\n") and value.strip() == value.strip(" "):
        return LiteralScalarString(value)
    return value


def dump(data: Any, mapping: int, offset: int, blocks: bool = False) -> str:
    yaml = YAML()
    yaml.indent(mapping=mapping, sequence=offset + 2, offset=offset)
    yaml.width = 4096
    out = io.StringIO()
    yaml.dump(as_blocks(data) if blocks else data, out)
    text = out.getvalue()
    if blocks and typed(load_plain(text, "gen.yaml")) != typed(data):
        return dump(data, mapping, offset)  # ruamel cannot write every string as a block
    return text


def containers_in(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = []
    if isinstance(value, dict | list):
        found.append(path)
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, child in items:
            found.extend(containers_in(child, (*path, key)))
    return found


def at(value: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        value = value[step]
    return value


EDIT = st.tuples(
    st.sampled_from(["set", "add", "delete", "append", "move"]),
    st.integers(0, 10**6),
    KEYS,
    st.recursive(st.one_of(SCALARS, EMPTY), containers, max_leaves=3),
)


def apply_edit(tree: Any, plain: Any, edit: tuple[str, int, str, Any]) -> None:
    """Apply one edit to both the round-trip tree and the plain data, at the same place."""
    kind, pick, key, given_value = edit
    value = copy.deepcopy(given_value)  # the tree and the plain mirror never share a container
    places = containers_in(plain)
    path = places[pick % len(places)]
    target, mirror = at(tree, path), at(plain, path)
    if isinstance(mirror, dict):
        keys = list(mirror)
        if kind == "move" and len(keys) > 1:  # a key (and its comments) to the front
            moved = keys[pick % len(keys)]
            for mapping in (target, mirror):
                if isinstance(mapping, CommentedMap):
                    mapping.insert(0, moved, mapping.pop(moved))
                else:
                    mapping.update([(k, mapping.pop(k)) for k in keys if k != moved])
        elif kind == "delete" and len(keys) > 1:
            victim = keys[pick % len(keys)]
            del target[victim]
            del mirror[victim]
        elif kind == "set" and keys:
            chosen = keys[pick % len(keys)]
            target[chosen] = copy.deepcopy(value)
            mirror[chosen] = value
        else:  # add (or a set/delete that cannot apply)
            target[key] = copy.deepcopy(value)
            mirror[key] = value
    else:
        if kind == "move" and len(mirror) > 1:
            index = pick % len(mirror)
            target.insert(0, target.pop(index))
            mirror.insert(0, mirror.pop(index))
        elif kind == "delete" and len(mirror) > 1:
            index = pick % len(mirror)
            del target[index]
            del mirror[index]
        elif kind == "set" and mirror:
            index = pick % len(mirror)
            target[index] = copy.deepcopy(value)
            mirror[index] = value
        else:
            target.append(copy.deepcopy(value))
            mirror.append(value)


def decorate(text: str, comments: list[bool], unterminated: bool) -> str:
    """`text` with comment lines above some entries, end-of-line comments on some, and perhaps
    no final line break; each change is kept only where it leaves the data as it was."""
    expected = typed(load_plain(text, "gen.yaml"))
    lines = text.splitlines(keepends=True)
    for number in reversed(range(len(lines))):
        if not comments[number % len(comments)]:
            continue
        line = lines[number]
        indent = line[: len(line) - len(line.lstrip(" "))]
        for candidate in (
            [*lines[:number], f"{indent}# about the next entry\n", *lines[number:]],
            [*lines[:number], line.rstrip("\n") + "  # at the end\n", *lines[number + 1 :]],
        ):
            try:
                same = typed(load_plain("".join(candidate), "gen.yaml")) == expected
            except InputError:
                same = False
            if same:
                lines = candidate
                break
    decorated = "".join(lines)
    if unterminated and typed(load_plain(decorated.rstrip("\n"), "gen.yaml")) == expected:
        decorated = decorated.rstrip("\n")
    return decorated


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=DOCS,
    mapping=st.sampled_from([2, 4]),
    offset=st.sampled_from([0, 2]),
    blocks=st.booleans(),
    comments=st.lists(st.booleans(), min_size=1, max_size=8),
    unterminated=st.booleans(),
    edits=st.lists(EDIT, min_size=1, max_size=4),
)
def test_random_edits_render_to_the_expected_data(
    data: dict[str, Any],
    mapping: int,
    offset: int,
    blocks: bool,
    comments: list[bool],
    unterminated: bool,
    edits: list[tuple[str, int, str, Any]],
) -> None:
    text = decorate(dump(data, mapping, offset, blocks), comments, unterminated)
    assert typed(load_plain(text, "gen.yaml")) == typed(data)
    document = load_roundtrip(text, "gen.yaml")
    plain = load_plain(text, "gen.yaml")
    assert plain == to_plain(document.tree)
    assert render(document) == text  # untouched: byte-identical
    for edit in edits:
        apply_edit(document.tree, plain, edit)
    result = render(document)
    assert typed(load_plain(result, "rendered.yaml")) == typed(plain), result
