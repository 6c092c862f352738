"""How the items of two lists correspond, for the structural diff: pure, no deepdiff.

- `identity_of`: what identifies an item across two lists. Maps by an identity key (`name`,
  `id`, `insight`, or else a key present and unique in every item of both lists, the one whose
  values the two lists share most, as the merge does); unique scalars by value; else nothing.
- `same`: equal as the diff sees it (true is not 1).
- `out_of_order`: of the matched index pairs, the fewest whose moving explains the new order.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from itertools import pairwise
from typing import Any

IDENTITY_KEYS = ("name", "id", "insight")


def identity_of(old: Sequence[Any], new: Sequence[Any]) -> Callable[[Any], Hashable] | None:
    """What identifies an item across two lists, or None when the lists have no identity."""
    items = [*old, *new]
    if all(isinstance(item, dict) for item in items):
        key = identity_key(old, new)
        return None if key is None else (lambda item: _scalar_identity(item[key]))
    if all(_is_scalar(item) for item in items):
        for side in (old, new):
            if len({_scalar_identity(item) for item in side}) != len(side):
                return None
        return _scalar_identity
    return None


def identity_key(old: Sequence[dict[Any, Any]], new: Sequence[dict[Any, Any]]) -> Any:
    """The key that identifies the maps of two lists: `name`, `id` or `insight` when present and
    unique on each side; else, of the keys present and unique on each side with text or integer
    values, the one whose values the two lists share most (a key that merely happens to be
    unique, like a changed `confidence` in a one-item list, shares none). None if there is none.
    """
    candidates = [key for key in old[0] if _identifies(key, old) and _identifies(key, new)]
    for key in IDENTITY_KEYS:
        if key in candidates:
            return key
    best, shared_most = None, 0
    for key in candidates:
        shared = len({item[key] for item in old} & {item[key] for item in new})
        if shared > shared_most:
            best, shared_most = key, shared
    return best


def _identifies(key: Any, items: Sequence[dict[Any, Any]]) -> bool:
    values = []
    for item in items:
        value = item.get(key)
        if not isinstance(value, str | int) or isinstance(value, bool):
            return False
        values.append(value)
    return len(set(values)) == len(values)


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _scalar_identity(value: Any) -> Hashable:
    # True == 1 == 1.0 in Python; only the two numbers are the same value here.
    return (type(value) is bool, value)


def same(a: Any, b: Any) -> bool:
    """Equal as the diff sees it: == (fast, in C), but true is not 1."""
    return bool(a == b) and _strictly_same(a, b)


def _strictly_same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b)
    if isinstance(a, dict):
        return all(_strictly_same(value, b[key]) for key, value in a.items())
    if isinstance(a, list):
        return all(_strictly_same(x, y) for x, y in zip(a, b, strict=True))
    return True  # == already held


def out_of_order(matched: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The matched (old, new) index pairs outside a longest run whose new indexes increase:
    the fewest items whose moving explains the new order."""
    if all(a[1] < b[1] for a, b in pairwise(matched)):
        return []
    # Patience sorting: tails[k] is the index (into matched) ending the best run of length k+1.
    tails: list[int] = []
    before: list[int] = [-1] * len(matched)
    for position, (_i, j) in enumerate(matched):
        low, high = 0, len(tails)
        while low < high:
            middle = (low + high) // 2
            if matched[tails[middle]][1] < j:
                low = middle + 1
            else:
                high = middle
        before[position] = tails[low - 1] if low else -1
        if low == len(tails):
            tails.append(position)
        else:
            tails[low] = position
    kept: set[int] = set()
    position = tails[-1]
    while position >= 0:
        kept.add(position)
        position = before[position]
    return [pair for position, pair in enumerate(matched) if position not in kept]
