"""What a list item is: the identity that matches it across base, ours and theirs.

Shared by the two walkers (over parsed nodes and over round-trip values) through `ItemView`,
which answers the few questions identity needs about an item.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from ksi_patterns.merge.diff3 import matches
from ksi_patterns.merge.policies import (
    IDENTITY_FIELDS,
    AppendUnion,
    AtomicPolicy,
    Keyed,
    KeySpec,
    ListPolicy,
    SetPolicy,
)

Mode = Literal["keyed", "union", "positional", "atomic"]


class ItemView(Protocol):
    def is_map(self, item: Any) -> bool: ...

    def is_scalar(self, item: Any) -> bool: ...

    def field(self, item: Any, name: str) -> Hashable | None:
        """The identity value of scalar field `name` of a map item; None if absent or not scalar."""
        ...

    def first_field(self, item: Any) -> str | None: ...

    def canon(self, item: Any) -> Hashable:
        """A hashable form of the whole item: equal for equal data, whatever the formatting."""
        ...

    def fields(self, item: Any) -> dict[Hashable, Hashable]:
        """A map item's fields, each value in `canon` form."""
        ...


@dataclass(frozen=True)
class Identities:
    """How to merge a list (`mode`) and each version's item identities, in list order."""

    mode: Mode
    base: list[Hashable]
    ours: list[Hashable]
    theirs: list[Hashable]


def identify(
    policy: ListPolicy | None,
    base: Sequence[Any],
    ours: Sequence[Any],
    theirs: Sequence[Any],
    view: ItemView,
) -> Identities:
    versions = (base, ours, theirs)
    if isinstance(policy, AtomicPolicy):
        return Identities("atomic", [], [], [])
    if isinstance(policy, SetPolicy):
        if all(view.is_scalar(item) for items in versions for item in items):
            ids = [[view.canon(item) for item in items] for items in versions]
            if all(len(set(each)) == len(each) for each in ids):
                return Identities("union", *ids)
        return _positional(versions, view)  # not a set after all: never drop duplicates
    if isinstance(policy, AppendUnion):
        return _with_renames("union", _union_ids(policy.keys, versions, view), versions, view)
    everything = [item for items in versions for item in items]
    if everything and all(view.is_map(item) for item in everything):
        specs: Sequence[KeySpec] = (
            policy.keys if isinstance(policy, Keyed) else _candidates(everything, view)
        )
        for spec in specs:
            keyed = _keyed_ids(spec, versions, view)
            if keyed is not None:
                return _with_renames("keyed", keyed, versions, view)
    return _positional(versions, view)


def _candidates(items: Sequence[Any], view: ItemView) -> list[KeySpec]:
    """Identity fields worth trying when no policy names one."""
    firsts = {view.first_field(item) for item in items}
    found: list[KeySpec] = list(IDENTITY_FIELDS)
    if len(firsts) == 1:
        (first,) = firsts
        if first is not None and first not in found:
            found.append(first)
    return found


def _key_of(item: Any, spec: KeySpec, view: ItemView) -> Hashable | None:
    fields = (spec,) if isinstance(spec, str) else spec
    values = []
    for name in fields:
        value = view.field(item, name)
        if value is None:
            return None
        values.append(value)
    return ("key", *values)


def _keyed_ids(
    spec: KeySpec, versions: Sequence[Sequence[Any]], view: ItemView
) -> tuple[list[Hashable], list[Hashable], list[Hashable]] | None:
    out: list[list[Hashable]] = []
    for items in versions:
        ids = [_key_of(item, spec, view) for item in items]
        if any(found is None for found in ids) or len(set(ids)) != len(ids):
            return None
        out.append([found for found in ids if found is not None])
    return out[0], out[1], out[2]


def _union_ids(
    specs: Sequence[KeySpec], versions: Sequence[Sequence[Any]], view: ItemView
) -> tuple[list[Hashable], list[Hashable], list[Hashable]]:
    """Each entry by the first key field it has, else by its content (duplicates numbered)."""
    out: list[list[Hashable]] = []
    for items in versions:
        keyed: list[Hashable | None] = []
        for item in items:
            found = None
            if view.is_map(item):
                found = next(
                    (key for spec in specs if (key := _key_of(item, spec, view)) is not None),
                    None,
                )
            keyed.append(found)
        repeated = {key for key, count in Counter(keyed).items() if count > 1}
        seen: Counter[Hashable] = Counter()
        ids: list[Hashable] = []
        for item, key in zip(items, keyed, strict=True):
            if key is None or key in repeated:
                content = ("content", view.canon(item))
                seen[content] += 1
                key = (*content, seen[content])  # the second identical entry is another entry
            ids.append(key)
        out.append(ids)
    return out[0], out[1], out[2]


def _with_renames(
    mode: Mode,
    ids: tuple[list[Hashable], list[Hashable], list[Hashable]],
    versions: Sequence[Sequence[Any]],
    view: ItemView,
) -> Identities:
    """Take an item whose identity one side edited (the same place, most fields unchanged) as
    the base item edited, not as one item deleted and another added: then an edit of another
    field by the other side merges with it instead of clashing with a deletion."""
    ids_b, ids_o, ids_t = ids
    base, ours, theirs = versions
    renamed_o = _renames(ids_b, ids_o, ids_t, base, ours, view)
    renamed_t = _renames(ids_b, ids_t, ids_o, base, theirs, view)
    return Identities(mode, ids_b, renamed_o, renamed_t)


def _renames(
    ids_b: list[Hashable],
    ids_s: list[Hashable],
    ids_other: list[Hashable],
    base: Sequence[Any],
    side: Sequence[Any],
    view: ItemView,
) -> list[Hashable]:
    base_set, side_set, other_set = set(ids_b), set(ids_s), set(ids_other)
    out = list(ids_s)
    for (b_start, b_end), (s_start, s_end) in _gaps(matches(ids_b, ids_s), len(ids_b), len(ids_s)):
        if b_end - b_start != s_end - s_start:
            continue
        for b_index, s_index in zip(range(b_start, b_end), range(s_start, s_end), strict=True):
            old, new = ids_b[b_index], ids_s[s_index]
            if old in side_set or new in base_set or new in other_set:
                continue
            if _similar(base[b_index], side[s_index], view):
                out[s_index] = old
    return out


def _gaps(
    matched: dict[int, int], len_a: int, len_b: int
) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """The unmatched stretches between matched items, in both sequences."""
    found = []
    a = b = 0
    for i in [*sorted(matched), len_a]:
        j = matched[i] if i < len_a else len_b
        if i > a or j > b:
            found.append(((a, i), (b, j)))
        a, b = i + 1, j + 1
    return found


def _similar(old: Any, new: Any, view: ItemView) -> bool:
    """Maps that kept at least half of the old one's fields (one of them at least) unchanged."""
    if not (view.is_map(old) and view.is_map(new)):
        return False
    before, after = view.fields(old), view.fields(new)
    kept = sum(1 for key, value in before.items() if after.get(key) == value)
    return kept >= 1 and 2 * kept >= len(before)


def _positional(versions: Sequence[Sequence[Any]], view: ItemView) -> Identities:
    ids = [[view.canon(item) for item in items] for items in versions]
    return Identities("positional", *ids)
