"""Properties of the merge over generated documents (nested maps, scalars, sets, keyed lists,
blocks of text), written out by ruamel in a few indentation styles."""

from __future__ import annotations

import copy
import io
import json
import re
import string
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML
from ruamel.yaml.scalarstring import LiteralScalarString

from ksi_patterns.documents.loading import load_plain
from ksi_patterns.merge import merge

SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# -- documents --------------------------------------------------------------------------------

KEYS = ["alpha", "beta", "gamma", "delta", "eps", "zeta", "eta", "theta"]
words = st.text(alphabet=string.ascii_lowercase + string.digits + " :#'-", min_size=1, max_size=10)
scalars = st.one_of(
    st.integers(-3, 1000),
    st.booleans(),
    st.none(),
    words,
    st.floats(allow_nan=False, allow_infinity=False, width=32),
)


@st.composite
def blocks_of_text(draw: st.DrawFn) -> LiteralScalarString:
    count = draw(st.integers(2, 8))
    return LiteralScalarString("".join(f"line {n} of the text\n" for n in range(count)))


tags = st.lists(st.sampled_from([f"tag{n}" for n in range(8)]), unique=True, min_size=1, max_size=5)


@st.composite
def components(draw: st.DrawFn) -> list[dict[str, Any]]:
    names = draw(
        st.lists(
            st.sampled_from(["c1", "c2", "c3", "c4", "c5"]), unique=True, min_size=1, max_size=4
        )
    )
    return [{"name": name, "weight": draw(scalars), "note": draw(words)} for name in names]


def maps(depth: int) -> st.SearchStrategy[dict[str, Any]]:
    values: st.SearchStrategy[Any] = st.one_of(scalars, blocks_of_text())
    if depth > 0:
        values = st.one_of(scalars, blocks_of_text(), maps(depth - 1))
    return st.dictionaries(st.sampled_from(KEYS), values, min_size=1, max_size=5)


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    doc = draw(maps(2))
    if draw(st.booleans()):
        doc["tags"] = draw(tags)
    if draw(st.booleans()):
        doc["components"] = draw(components())
    return doc


STYLES = [(2, 4, 2), (2, 2, 0), (4, 4, 2)]


def dump(doc: Any, style: tuple[int, int, int]) -> str:
    yaml = YAML()
    yaml.width = 4096
    yaml.indent(mapping=style[0], sequence=style[1], offset=style[2])
    out = io.StringIO()
    yaml.dump(doc, out)
    return out.getvalue()


def normal(value: Any) -> Any:
    """Data with every list sorted: merges order additions by who is `ours`."""
    if isinstance(value, dict):
        return {k: normal(v) for k, v in value.items()}
    if isinstance(value, list):
        items = [normal(v) for v in value]
        return sorted(items, key=lambda item: json.dumps(item, sort_keys=True, default=str))
    return value


def conflict_set(result: Any, swapped: bool = False) -> set[tuple[Any, ...]]:
    flip = {"modify-delete": "delete-modify", "delete-modify": "modify-delete"}
    return {
        (
            tuple(step for step in c.path if not isinstance(step, int)),
            flip.get(c.kind, c.kind) if swapped else c.kind,
        )
        for c in result.conflicts
    }


# -- edits ------------------------------------------------------------------------------------


def leaf_paths(doc: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths of map entries holding scalars or text (not lists), and of component fields."""
    found: list[tuple[Any, ...]] = []
    if isinstance(doc, dict):
        for key, value in doc.items():
            if isinstance(value, dict):
                found += leaf_paths(value, (*path, key))
            elif isinstance(value, list):
                if key == "components":
                    for index in range(len(value)):
                        found += [(*path, key, index, field) for field in ("weight", "note")]
            else:
                found.append((*path, key))
    return found


def get(doc: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        doc = doc[step]
    return doc


def put(doc: Any, path: tuple[Any, ...], value: Any) -> None:
    get(doc, path[:-1])[path[-1]] = value


def related(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    shorter = min(len(a), len(b))
    return a[:shorter] == b[:shorter]


@st.composite
def edit(draw: st.DrawFn, doc: dict[str, Any], path: tuple[Any, ...], tag: str) -> dict[str, Any]:
    """`doc` with the value at `path` changed (to a new scalar, text, or deleted)."""
    out = copy.deepcopy(doc)
    old = get(out, path)
    choice = draw(st.sampled_from(["scalar", "delete", "text"]))
    if isinstance(old, str) and "\n" in old and choice == "text":
        lines = old.splitlines(keepends=True)
        lines[draw(st.integers(0, len(lines) - 1))] = f"{tag} changed this line\n"
        put(out, path, LiteralScalarString("".join(lines)))
    elif choice == "delete" and not isinstance(path[-1], int) and path[-2:-1] != ("components",):
        if isinstance(path[-1], str) and len(path) >= 3 and path[-3] == "components":
            put(out, path, f"{tag} value")  # component fields stay (the item keeps its shape)
        else:
            del get(out, path[:-1])[path[-1]]
    else:
        put(out, path, f"{tag} value")
    return out


# -- properties -------------------------------------------------------------------------------


@SETTINGS
@given(documents(), documents(), st.sampled_from(STYLES))
def test_one_side_changed_gives_that_side(base_doc: Any, other_doc: Any, style: Any) -> None:
    base, other = dump(base_doc, style), dump(other_doc, style)
    assert merge(base, other, base).text == other
    assert merge(base, base, other).text == other
    assert merge(base, other, other).text == other


@SETTINGS
@given(documents(), documents(), documents(), st.sampled_from(STYLES))
def test_swapping_sides_gives_the_same_data_and_conflicts(
    base_doc: Any, ours_doc: Any, theirs_doc: Any, style: Any
) -> None:
    base, ours, theirs = (dump(d, style) for d in (base_doc, ours_doc, theirs_doc))
    forward = merge(base, ours, theirs)
    backward = merge(base, theirs, ours, labels=("theirs", "base", "ours"))
    assert forward.fallback is None and backward.fallback is None
    assert conflict_set(forward) == conflict_set(backward, swapped=True)
    if forward.clean:
        assert normal(load_plain(forward.text, "f")) == normal(load_plain(backward.text, "b"))
    else:
        assert "<<<<<<< ours" in forward.text and ">>>>>>> theirs" in forward.text


@SETTINGS
@given(st.data(), documents(), st.sampled_from(STYLES))
def test_disjoint_edits_both_survive_without_conflict(
    data: st.DataObject, base_doc: Any, style: Any
) -> None:
    paths = leaf_paths(base_doc)
    assume(len(paths) >= 2)
    first = data.draw(st.sampled_from(paths))
    others = [p for p in paths if not related(p, first)]
    assume(others)
    second = data.draw(st.sampled_from(others))
    ours_doc = data.draw(edit(base_doc, first, "ours"))
    theirs_doc = data.draw(edit(base_doc, second, "theirs"))
    expected = data.draw(st.just(copy.deepcopy(ours_doc)))
    # Replay theirs' edit on ours' data: the same change at `second`.
    if _exists(theirs_doc, second):
        put(expected, second, copy.deepcopy(get(theirs_doc, second)))
    else:
        del get(expected, second[:-1])[second[-1]]
    base, ours, theirs = (dump(d, style) for d in (base_doc, ours_doc, theirs_doc))
    result = merge(base, ours, theirs)
    assert result.conflicts == [], result.text
    assert result.fallback is None
    assert load_plain(result.text, "merged") == json.loads(json.dumps(expected))


def _exists(doc: Any, path: tuple[Any, ...]) -> bool:
    try:
        get(doc, path)
    except (KeyError, IndexError):
        return False
    return True


@SETTINGS
@given(st.data(), documents(), st.sampled_from(STYLES))
def test_divergent_edits_of_one_scalar_give_one_conflict(
    data: st.DataObject, base_doc: Any, style: Any
) -> None:
    paths = [
        p
        for p in leaf_paths(base_doc)
        if not isinstance(get(base_doc, p), str) or "\n" not in get(base_doc, p)
    ]
    assume(paths)
    path = data.draw(st.sampled_from(paths))
    ours_doc, theirs_doc = copy.deepcopy(base_doc), copy.deepcopy(base_doc)
    put(ours_doc, path, "ours value")
    put(theirs_doc, path, "theirs value")
    base, ours, theirs = (dump(d, style) for d in (base_doc, ours_doc, theirs_doc))
    result = merge(base, ours, theirs)
    assert [(c.path, c.kind) for c in result.conflicts] == [(path, "both-modified")]
    assert result.conflicts[0].ours == "ours value"
    assert result.conflicts[0].theirs == "theirs value"
    assert "<<<<<<< ours" in result.text


# -- random edits on both sides ----------------------------------------------------------------


@st.composite
def mutated(draw: st.DrawFn, doc: dict[str, Any], tag: str) -> dict[str, Any]:
    """`doc` after a few random edits of the kinds people make to patterns."""
    out = copy.deepcopy(doc)
    for _ in range(draw(st.integers(1, 4))):
        maps_in = [p for p in _map_paths(out)]
        target = get(out, draw(st.sampled_from(maps_in)))
        action = draw(
            st.sampled_from(["set", "delete", "add", "text", "components", "tags", "nested"])
        )
        keys = list(target)
        if action == "set" and keys:
            target[draw(st.sampled_from(keys))] = draw(scalars)
        elif action == "delete" and len(keys) > 1:
            del target[draw(st.sampled_from(keys))]
        elif action == "add":
            target[draw(st.sampled_from([*KEYS, "new1", "new2"]))] = draw(scalars)
        elif action == "nested":
            target[draw(st.sampled_from(KEYS))] = draw(maps(1))
        elif action == "text":
            texts = [k for k in keys if isinstance(target[k], str) and "\n" in target[k]]
            if texts:
                key = draw(st.sampled_from(texts))
                lines = target[key].splitlines(keepends=True)
                at = draw(st.integers(0, len(lines)))
                if draw(st.booleans()) and at < len(lines):
                    lines[at] = f"{tag} edited line {at}\n"
                else:
                    lines.insert(at, f"{tag} added line {at}\n")
                target[key] = LiteralScalarString("".join(lines))
        elif action == "components" and isinstance(out.get("components"), list):
            items = out["components"]
            how = draw(st.sampled_from(["shuffle", "append", "drop", "field"]))
            if how == "shuffle":
                out["components"] = draw(st.permutations(items))
            elif how == "append":
                name = f"{tag}-{len(items)}"
                items.append({"name": name, "weight": draw(scalars), "note": draw(words)})
            elif how == "drop" and len(items) > 1:
                items.pop(draw(st.integers(0, len(items) - 1)))
            elif items:
                items[draw(st.integers(0, len(items) - 1))]["note"] = f"{tag} note"
        elif action == "tags" and isinstance(out.get("tags"), list):
            found = out["tags"]
            if draw(st.booleans()) or len(found) < 2:
                new = f"{tag}-tag{len(found)}"
                if new not in found:
                    found.insert(draw(st.integers(0, len(found))), new)
            else:
                found.pop(draw(st.integers(0, len(found) - 1)))
    return out


def _map_paths(doc: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    for key, value in doc.items():
        if isinstance(value, dict):
            found += _map_paths(value, (*path, key))
    return found


ABSENT = object()


def flatten(doc: Any, path: tuple[Any, ...] = ()) -> dict[tuple[Any, ...], Any]:
    """Every map entry by path; components by name, tags as members, other lists whole."""
    out: dict[tuple[Any, ...], Any] = {}
    for key, value in doc.items():
        here = (*path, key)
        if isinstance(value, dict):
            out[here] = "<map>"
            out.update(flatten(value, here))
        elif here == ("components",) and isinstance(value, list):
            out[here] = "<components>"
            for item in value:
                out.update(flatten({k: v for k, v in item.items()}, (*here, item["name"])))
        elif here == ("tags",) and isinstance(value, list):
            out[here] = "<tags>"
            out.update({(*here, member): True for member in value})
        else:
            out[here] = json.dumps(value, sort_keys=True)
    return out


KEY_LINE = re.compile(r"^( *)(?:- )?[a-z0-9]+:")


@st.composite
def commented(draw: st.DrawFn, text: str, tag: str) -> str:
    """`text` with a comment line above some of its keys (as people annotate patterns)."""
    lines = text.splitlines(keepends=True)
    keys = [i for i, line in enumerate(lines) if KEY_LINE.match(line)]
    if not keys:
        return text
    for index in sorted(draw(st.sets(st.sampled_from(keys), max_size=3)), reverse=True):
        indent = KEY_LINE.match(lines[index]).group(1)  # type: ignore[union-attr]
        lines.insert(index, f"{indent}# {tag} note {index}\n")
    return "".join(lines)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), documents(), st.sampled_from(STYLES))
def test_edits_on_both_sides_lose_nothing(data: st.DataObject, base_doc: Any, style: Any) -> None:
    ours_doc = data.draw(mutated(base_doc, "ours"))
    theirs_doc = data.draw(mutated(base_doc, "theirs"))
    base = data.draw(commented(dump(base_doc, style), "base"))
    ours = data.draw(commented(dump(ours_doc, style), "ours"))
    theirs = data.draw(commented(dump(theirs_doc, style), "theirs"))
    result = merge(base, ours, theirs)
    swapped = merge(base, theirs, ours)
    assert result.fallback is None
    assert conflict_set(result) == conflict_set(swapped, swapped=True)
    if not result.clean:
        assert "<<<<<<< ours" in result.text
        return
    merged = load_plain(result.text, "merged")
    assert normal(merged) == normal(load_plain(swapped.text, "swapped"))
    flat_b, flat_o, flat_t, flat_m = (
        flatten(json.loads(json.dumps(d))) for d in (base_doc, ours_doc, theirs_doc, merged)
    )
    for path in {*flat_b, *flat_o, *flat_t}:
        b, o, t = (flat.get(path, ABSENT) for flat in (flat_b, flat_o, flat_t))
        got = flat_m.get(path, ABSENT)
        if o == b and t != b:  # only theirs changed it
            assert got == t, (path, b, o, t)
        elif t == b or o == t:  # only ours changed it, or both the same way
            assert got == o, (path, b, o, t)
