"""Structural diff of two plain documents: a stable list of `{path, kind, old, new}` changes.

Pure: no git, no files, no CLI. deepdiff does the walking, on plain data only (never on ruamel
objects, whose subclasses it would report as type changes), with `threshold_to_diff_deeper=0` so
that a map with few shared keys is diffed key by key rather than reported as replaced.

Lists are matched, not zipped (zipping reports every item after an insertion as changed):
- lists of maps by an identity key: `name`, `id`, `insight`, or else a key present and unique in
  every item of both lists (the one whose values the two lists share most), as the merge does;
- lists of unique scalars (tags, keywords) by value;
- other lists by a line-diff of the items (difflib), pairing what it replaces position by position.
Identity-matched items whose order changed are reported as `moved` (the fewest such items that
explain the new order); set-like lists (tags, capabilities) have no order, so no moves.
The identity, the strict equality and the moves are worked out in `list_matching`; this
module drives deepdiff with them.

deepdiff takes the identity through `iterable_compare_func`, but its own matching compares every
item with every other and deep-hashes each one (0.4 s for 1,000 items), so the matching step is
replaced by a linear one that also leaves out the pairs that are equal: deepdiff then walks only
what changed. deepdiff is imported inside `diff` (about 90 ms): `ksi --help` must not pay for it.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Collection, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from itertools import zip_longest
from typing import Any, Literal

from ksi_patterns.diff.list_matching import (
    identity_of,
    out_of_order,
    same,
)
from ksi_patterns.documents.model import format_path

Step = str | int  # a map key (always text) or a list index
Kind = Literal["added", "removed", "changed", "type_changed", "moved"]
KINDS: tuple[Kind, ...] = ("added", "removed", "changed", "type_changed", "moved")
# At one path, what was there reads before what is there now (as in a line diff).
_SAME_PATH_ORDER: tuple[Kind, ...] = ("removed", "added", "changed", "type_changed", "moved")

# Lists of scalars under these keys are sets: reordering them is no change.
SET_KEYS = frozenset({"tags", "capabilities_required", "capabilities"})

_REPORT_KINDS: dict[str, Kind] = {
    "values_changed": "changed",
    "type_changes": "type_changed",
    "dictionary_item_added": "added",
    "iterable_item_added": "added",
    "set_item_added": "added",
    "attribute_added": "added",
    "dictionary_item_removed": "removed",
    "iterable_item_removed": "removed",
    "set_item_removed": "removed",
    "attribute_removed": "removed",
}
# Moves come from our own matching (deepdiff reports every item whose index shifted).
_IGNORED_REPORTS = frozenset({"iterable_item_moved"})


@dataclass(frozen=True)
class Change:
    """One difference. `steps` is the path as keys and indexes: in the new document, except for
    a removal, whose path is in the old one. A move's `old` and `new` are the item's indexes."""

    steps: tuple[Step, ...]
    kind: Kind
    old: Any = None
    new: Any = None

    @property
    def path(self) -> str:
        return format_path(self.steps)

    @property
    def top(self) -> str:
        """The top-level key (or `[i]` of a list document) this change is under; '' for the root."""
        return format_path(self.steps[:1])

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "kind": self.kind, "old": self.old, "new": self.new}


def diff(old: Any, new: Any) -> list[Change]:
    """The changes that turn plain document `old` into `new`, in document order."""
    from deepdiff import DeepDiff

    matcher = _Matcher()
    found = _engine()(
        old,
        new,
        threshold_to_diff_deeper=0,
        iterable_compare_func=matcher,
        # 1 and 1.0 are the same number, but true is not 1 (bool is an int subclass in Python).
        ignore_type_in_groups=[(int, float)],
        ignore_type_subclasses=True,
        # Otherwise deepdiff turns a removal and an addition at the same index into a change,
        # which for identity-matched lists says "this item became that one": it did not.
        report_repetition=True,
        view="tree",
    )
    assert isinstance(found, DeepDiff)
    changes = matcher.moves + list(_changes(found))
    order = _DocumentOrder(old, new)
    return sorted(changes, key=order.key)


def without(changes: Iterable[Change], hidden: Collection[str]) -> list[Change]:
    """`changes` minus those at or under any of the dotted `hidden` paths."""
    prefixes = tuple(hidden)
    return [
        change
        for change in changes
        if not any(
            change.path == prefix or change.path.startswith((prefix + ".", prefix + "["))
            for prefix in prefixes
        )
    ]


@dataclass(frozen=True)
class Stat:
    total: int
    by_kind: dict[str, int]
    by_key: dict[str, dict[str, int]]  # top-level key -> kind -> count, in document order

    def to_json(self) -> dict[str, Any]:
        return {"total": self.total, "by_kind": self.by_kind, "by_key": self.by_key}


def stat(changes: Sequence[Change]) -> Stat:
    by_kind: dict[str, int] = {kind: 0 for kind in KINDS}
    by_key: dict[str, dict[str, int]] = {}
    for change in changes:
        by_kind[change.kind] += 1
        counts = by_key.setdefault(change.top, {})
        counts[change.kind] = counts.get(change.kind, 0) + 1
    return Stat(len(changes), by_kind, by_key)


# ---------------------------------------------------------------------------------------------
# deepdiff's report, as changes


def _changes(found: Any) -> Iterable[Change]:
    for report, levels in found.tree.items():
        if report in _IGNORED_REPORTS:
            continue
        kind = _REPORT_KINDS.get(report)
        if kind is None:  # e.g. repetition_change, which needs ignore_order (never used here)
            raise AssertionError(f"unexpected deepdiff report {report!r}")
        for level in levels:
            removed = kind == "removed"
            yield Change(
                _steps(level, new_side=not removed),
                kind,
                None if kind == "added" else level.t1,
                None if removed else level.t2,
            )


def _steps(level: Any, *, new_side: bool) -> tuple[Step, ...]:
    """The path to `level`, read from the child relationships of the levels above it.

    Not `level.path()`: once an item has moved, deepdiff mixes old and new indexes in the paths
    of what follows (deepdiff 9.1); the relationships hold both exactly.
    """
    steps: list[Step] = []
    node = level.all_up
    while node is not level:
        first, second = node.t2_child_rel, node.t1_child_rel
        rel = (first or second) if new_side else (second or first)
        container = node.t2 if rel is first else node.t1
        steps.append(rel.param if isinstance(container, list) else str(rel.param))
        node = node.down
    return tuple(steps)


# ---------------------------------------------------------------------------------------------
# Matching list items


@cache
def _engine() -> Any:
    """DeepDiff with linear, identity-based matching of list items (see the module docstring)."""
    from deepdiff import DeepDiff

    class _DeepDiff(DeepDiff):
        def _get_matching_pairs(self, level: Any, *args: Any, **kwargs: Any) -> Any:
            # Index windows come only from deepdiff's difflib path for scalar lists, which an
            # iterable_compare_func turns off; keep deepdiff's behaviour if that ever changes.
            if args or any(value is not None for value in kwargs.values()):
                return super()._get_matching_pairs(level, *args, **kwargs)
            matcher = self.iterable_compare_func
            assert isinstance(matcher, _Matcher)
            return matcher.pairs(level)

    return _DeepDiff


Pair = tuple[tuple[int, int], tuple[Any, Any]]


@dataclass
class _Matcher:
    """How two lists' items correspond, and which matched items moved.

    Called as deepdiff's `iterable_compare_func` (x, y, level) it says whether two items are the
    same item; `pairs` does the whole list at once in linear time.
    """

    moves: list[Change] = field(default_factory=list)
    _identities: dict[tuple[int, int], Callable[[Any], Hashable] | None] = field(
        default_factory=dict
    )

    def __call__(self, x: Any, y: Any, level: Any) -> bool:
        from deepdiff.helper import CannotCompare

        identity = self._identity(level.t1, level.t2)
        if identity is None:
            raise CannotCompare() from None
        return identity(x) == identity(y)

    def _identity(self, old: list[Any], new: list[Any]) -> Callable[[Any], Hashable] | None:
        # Both lists stay alive for the whole diff, so their ids are stable cache keys.
        cached = (id(old), id(new))
        if cached not in self._identities:
            self._identities[cached] = identity_of(old, new)
        return self._identities[cached]

    def pairs(self, level: Any) -> list[Pair]:
        """deepdiff's matching: ((old index, new index), (old item, new item)), with -1 and
        ListItemRemovedOrAdded for an item on one side only. Equal matched pairs are left out:
        they hold no change, and moves are recorded here."""
        old, new = level.t1, level.t2
        identity = self._identity(old, new) if old and new else None
        if identity is None:
            return _sequence_pairs(old, new)
        by_identity = {identity(item): index for index, item in enumerate(new)}
        matched: list[tuple[int, int]] = []
        out: list[Pair] = []
        for i, item in enumerate(old):
            j = by_identity.pop(identity(item), -1)
            if j < 0:
                out.append(_removed(i, item))
                continue
            matched.append((i, j))
            if not same(item, new[j]):
                out.append(((i, j), (item, new[j])))
        out += [_added(j, new[j]) for j in sorted(by_identity.values())]
        self._record_moves(level, matched)
        return out

    def _record_moves(self, level: Any, matched: list[tuple[int, int]]) -> None:
        moved = out_of_order(matched)
        if not moved:
            return
        where = _steps(level, new_side=True)
        if where and where[-1] in SET_KEYS:
            return
        self.moves += [Change((*where, j), "moved", i, j) for i, j in moved]


def _removed(i: int, item: Any) -> Pair:
    from deepdiff.helper import ListItemRemovedOrAdded

    return ((i, -1), (item, ListItemRemovedOrAdded))


def _added(j: int, item: Any) -> Pair:
    from deepdiff.helper import ListItemRemovedOrAdded

    return ((-1, j), (ListItemRemovedOrAdded, item))


def _sequence_pairs(old: Sequence[Any], new: Sequence[Any]) -> list[Pair]:
    """Lists without identity: a line-diff of the items; replaced runs pair up by position."""
    matcher = difflib.SequenceMatcher(
        None, [_fingerprint(item) for item in old], [_fingerprint(item) for item in new], False
    )
    out: list[Pair] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            # Equal fingerprints can still differ (1 and 1.0 print differently but are equal;
            # the other way round cannot happen), so only truly equal pairs are left out.
            out += [
                ((i, j), (old[i], new[j]))
                for i, j in zip(range(i1, i2), range(j1, j2), strict=True)
                if not same(old[i], new[j])
            ]
            continue
        for i, j in zip_longest(range(i1, i2), range(j1, j2)):
            if j is None:
                out.append(_removed(i, old[i]))
            elif i is None:
                out.append(_added(j, new[j]))
            else:
                out.append(((i, j), (old[i], new[j])))
    return out


def _fingerprint(value: Any) -> str:
    try:
        return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    except (TypeError, ValueError):  # keys of mixed types cannot be sorted
        return repr(value)


# ---------------------------------------------------------------------------------------------
# Document order


class _DocumentOrder:
    """Sort key for changes: keys in the order the new document has them (keys only in the old
    one after those), indexes in number order; a parent before its children."""

    def __init__(self, old: Any, new: Any) -> None:
        self._old = old
        self._new = new
        self._positions: dict[int, dict[str, int]] = {}

    def key(self, change: Change) -> tuple[Any, ...]:
        rank: list[tuple[int, int, str]] = []
        old: Any = self._old
        new: Any = self._new
        for step in change.steps:
            if isinstance(step, int):
                rank.append((1, step, ""))
                # The index is in one document only; the other side stops here.
                if change.kind == "removed":
                    old, new = _child(old, step), None
                else:
                    old, new = None, _child(new, step)
                continue
            rank.append((0, self._position(step, old, new), step))
            old, new = _child(old, step), _child(new, step)
        return (tuple(rank), _SAME_PATH_ORDER.index(change.kind))

    def _position(self, key: str, old: Any, new: Any) -> int:
        in_new = self._index(new)
        if key in in_new:
            return in_new[key]
        return len(in_new) + self._index(old).get(key, 0)

    def _index(self, node: Any) -> dict[str, int]:
        if not isinstance(node, dict):
            return {}
        if id(node) not in self._positions:
            self._positions[id(node)] = {str(key): index for index, key in enumerate(node)}
        return self._positions[id(node)]


def _child(node: Any, step: Step) -> Any:
    if isinstance(node, list) and isinstance(step, int):
        return node[step] if 0 <= step < len(node) else None
    if isinstance(node, dict):
        if step in node:
            return node[step]
        return next((value for key, value in node.items() if str(key) == step), None)
    return None
