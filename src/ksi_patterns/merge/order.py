"""The order of a merged list, computed over the items' identities only.

Which items survive is decided elsewhere (the presence table); here we only place them.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

from ksi_patterns.merge.diff3 import diff3, matches

Id = Hashable


def union_order(ours: Sequence[Id], theirs: Sequence[Id], wanted: set[Id]) -> list[Id]:
    """Ours' order, then theirs' additions in theirs' order (sets and append-only logs)."""
    placed: list[Id] = [item for item in ours if item in wanted]
    seen = set(placed)
    for item in theirs:
        if item in wanted and item not in seen:
            placed.append(item)
            seen.add(item)
    return placed


def merge_order(
    base: Sequence[Id], ours: Sequence[Id], theirs: Sequence[Id], wanted: set[Id]
) -> tuple[list[Id], bool]:
    """Place `wanted` like a text merge over the identity sequences; True if the orders clash.

    Unstable chunks that only one side changed take that side's order. Where both changed the
    same stretch, ours' items come first, then theirs' others, unless both sides reordered the
    same base items differently: then ours' order is kept and the clash is reported. An item
    moved by one side ends up where that side put it.
    """
    base_set = set(base)
    moved_ours = _moved(base, ours)
    moved_theirs = _moved(base, theirs)
    clash = False
    slots: list[tuple[Id, str]] = []  # (id, which side put it there: "both", "ours", "theirs")
    for chunk in diff3(base, ours, theirs):
        in_ours = ours[chunk.ours[0] : chunk.ours[1]]
        in_theirs = theirs[chunk.theirs[0] : chunk.theirs[1]]
        if chunk.stable:
            slots += [(item, "both") for item in in_ours]
        elif chunk.take == "ours":
            source = "both" if list(in_ours) == list(in_theirs) else "ours"
            slots += [(item, source) for item in in_ours]
        elif chunk.take == "theirs":
            slots += [(item, "theirs") for item in in_theirs]
        else:
            kept_o = [item for item in in_ours if item in base_set]
            kept_t = [item for item in in_theirs if item in base_set]
            common = set(kept_o) & set(kept_t)
            if [i for i in kept_o if i in common] != [i for i in kept_t if i in common]:
                clash = True
            slots += [(item, "ours") for item in in_ours]
            taken = set(in_ours)
            slots += [(item, "theirs") for item in in_theirs if item not in taken]

    # An item can show up twice when one side moved it and the other kept it in place.
    chosen: dict[Id, int] = {}
    for index, (item, source) in enumerate(slots):
        if item not in chosen:
            chosen[item] = index
            continue
        previous = slots[chosen[item]][1]
        if item in moved_ours and item in moved_theirs:
            clash = True
            prefer = "ours"
        elif item in moved_theirs:
            prefer = "theirs"
        else:
            prefer = "ours"
        if source == prefer and previous != prefer:
            chosen[item] = index
    keep = set(chosen.values())
    order = [item for index, (item, _s) in enumerate(slots) if index in keep and item in wanted]
    return _place_missing(order, ours, theirs, wanted), clash


def _moved(base: Sequence[Id], side: Sequence[Id]) -> set[Id]:
    """Items of both `base` and `side` that `side` moved (outside a longest common order)."""
    side_set = set(side)
    base_set = set(base)
    kept_base = [item for item in base if item in side_set]
    kept_side = [item for item in side if item in base_set]
    matched = matches(kept_base, kept_side)
    return {item for index, item in enumerate(kept_base) if index not in matched}


def _place_missing(
    order: list[Id], ours: Sequence[Id], theirs: Sequence[Id], wanted: set[Id]
) -> list[Id]:
    """Wanted items the text-like merge dropped (a deletion in conflict with an edit) go back
    after the item that precedes them in the side that still has them."""
    missing = wanted - set(order)
    if not missing:
        return order
    after: dict[Id, list[Id]] = {}  # anchor (None: the start) -> items to put after it
    placed = set(order)
    for side in (ours, theirs):
        anchor: Id = None
        for item in side:
            if item in missing:
                after.setdefault(anchor, []).append(item)
                missing.discard(item)
                placed.add(item)
            if item in placed:
                anchor = item
    result: list[Id] = []

    def put(item: Id) -> None:
        result.append(item)
        for follower in after.pop(item, []):
            put(follower)

    for item in after.pop(None, []):
        put(item)
    for item in order:
        put(item)
    return result
