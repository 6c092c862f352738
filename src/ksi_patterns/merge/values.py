"""The three-way merge of values: round-trip trees (ruamel) or plain Python, walked together.

A pure tree walk with per-path list policies, in the spirit of kyaml's merge3. Ours' containers
are edited in place and returned, so that `render` recognises them and rewrites only what
changed; what comes from theirs is deep-copied so two trees never share a node.

Used for the leaves of the block walk (scalars, flow collections, anything that cannot be cut
into lines) and for whole documents the block walk does not handle (aliases, flow roots).
"""

from __future__ import annotations

import copy
import datetime
from collections.abc import Hashable
from typing import Any

from ruamel.yaml.representer import RoundTripRepresenter
from ruamel.yaml.scalarfloat import ScalarFloat

from ksi_patterns.merge.diff3 import diff3
from ksi_patterns.merge.identity import ItemView, identify
from ksi_patterns.merge.order import merge_order, union_order
from ksi_patterns.merge.policies import AppendUnion, Keyed, MergePolicies, SetPolicy
from ksi_patterns.merge.result import MISSING, Conflict, Path


def kind_of(value: Any) -> str:
    if isinstance(value, dict):
        return "map"
    if isinstance(value, list):
        return "seq"
    return "scalar"


def scalar_key(value: Any) -> Hashable:
    """A scalar as (type, value), so that 1, 1.0, True and "1" are four different values."""
    if value is None:
        return ("null",)
    if isinstance(value, bool):
        return ("bool", bool(value))
    if isinstance(value, int):
        return ("int", int(value))
    if isinstance(value, float):
        return ("float", repr(float(value)))  # repr: nan equals nan here
    if isinstance(value, str):
        return ("str", str(value))
    if isinstance(value, datetime.date):
        return ("time", value.isoformat())
    tag = getattr(value, "tag", None)
    if tag is not None and hasattr(value, "value"):  # ruamel TaggedScalar
        return ("tagged", str(getattr(tag, "value", tag)), scalar_key(value.value))
    return ("other", repr(value))


def canon(value: Any) -> Hashable:
    if isinstance(value, dict):
        return ("map", frozenset((canon(k), canon(v)) for k, v in value.items()))
    if isinstance(value, list):
        return ("seq", tuple(canon(v) for v in value))
    return scalar_key(value)


def same(a: Any, b: Any) -> bool:
    """Equal data, strictly typed (1 is not True), ignoring formatting, comments and key order."""
    if a is b:
        return True
    if isinstance(a, dict):
        return (
            isinstance(b, dict)
            and len(a) == len(b)
            and all(key in b and same(value, b[key]) for key, value in a.items())
        )
    if isinstance(a, list):
        return (
            isinstance(b, list)
            and len(a) == len(b)
            and all(same(x, y) for x, y in zip(a, b, strict=True))
        )
    if isinstance(b, dict | list):
        return False
    return scalar_key(a) == scalar_key(b)


def plain(value: Any) -> Any:
    """JSON-ready plain Python for conflict records (MISSING stays MISSING)."""
    if value is MISSING:
        return MISSING
    if isinstance(value, dict):
        return {_plain_key(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    key = scalar_key(value)
    kind = key[0]  # type: ignore[index]
    if kind == "null":
        return None
    if kind in ("bool",):
        return bool(value)
    if kind == "int":
        return int(value)
    if kind == "float":
        return float(value)
    if kind == "str":
        return str(value)
    if kind == "time":
        return value.isoformat()
    if kind == "tagged":
        return plain(value.value)
    return repr(value)


def _plain_key(key: Any) -> Any:
    found = plain(key)
    return found if isinstance(found, str | int | float | bool) or found is None else str(found)


def is_multiline(value: Any) -> bool:
    return isinstance(value, str) and "\n" in value.rstrip("\n")


class _Values:
    """ItemView over round-trip or plain values."""

    def is_map(self, item: Any) -> bool:
        return isinstance(item, dict)

    def is_scalar(self, item: Any) -> bool:
        return not isinstance(item, dict | list)

    def field(self, item: Any, name: str) -> Hashable | None:
        if not isinstance(item, dict) or name not in item:
            return None
        value = item[name]
        return None if isinstance(value, dict | list) else scalar_key(value)

    def first_field(self, item: Any) -> str | None:
        if not isinstance(item, dict) or not item:
            return None
        first = next(iter(item))
        return first if isinstance(first, str) else None

    def canon(self, item: Any) -> Hashable:
        return canon(item)

    def fields(self, item: Any) -> dict[Hashable, Hashable]:
        return {canon(key): canon(value) for key, value in item.items()}


VIEW: ItemView = _Values()


class ValueMerge:
    """One merge of values; `conflicts` collects what it could not decide."""

    def __init__(self, policies: MergePolicies) -> None:
        self.policies = policies
        self.conflicts: list[Conflict] = []

    def conflict(self, path: Path, kind: str, base: Any, ours: Any, theirs: Any) -> None:
        self.conflicts.append(Conflict(path, kind, plain(base), plain(ours), plain(theirs)))

    def merge(self, base: Any, ours: Any, theirs: Any, path: Path) -> Any:
        """The merged value of one slot present in ours and theirs (base may be MISSING).

        On a conflict the result holds ours' value there; the caller marks the whole entry.
        """
        if same(ours, theirs) or self.policies.keep_ours(path):
            return ours
        if base is not MISSING:
            if same(ours, base) and not self.policies.keeps_ours_below(path):
                return _copied(theirs)
            if same(theirs, base):
                return ours
        kind, kind_theirs = kind_of(ours), kind_of(theirs)
        if kind != kind_theirs:
            self.conflict(
                path, "type-changed" if base is not MISSING else "both-added", base, ours, theirs
            )
            return ours
        if base is not MISSING and kind_of(base) != kind:
            base = MISSING  # both turned it into the same kind of thing: as if both added it
        if kind == "map":
            return self._map({} if base is MISSING else base, ours, theirs, path)
        if kind == "seq":
            policy = self.policies.for_path(path)
            if base is MISSING and not isinstance(policy, Keyed | SetPolicy | AppendUnion):
                self.conflict(path, "both-added", base, ours, theirs)
                return ours
            return self._seq([] if base is MISSING else base, ours, theirs, path)
        if (
            base is not MISSING
            and isinstance(base, str)
            and isinstance(ours, str)
            and isinstance(theirs, str)
            and (is_multiline(base) or is_multiline(ours) or is_multiline(theirs))
        ):
            return self._text(base, ours, theirs, path)
        self.conflict(
            path, "both-modified" if base is not MISSING else "both-added", base, ours, theirs
        )
        return ours

    # -- maps -------------------------------------------------------------------------------------

    def _map(self, base: Any, ours: Any, theirs: Any, path: Path) -> Any:
        for key in list(ours.keys()):
            if key in theirs:
                merged = self.merge(base.get(key, MISSING), ours[key], theirs[key], (*path, key))
                if merged is not ours[key]:
                    ours[key] = merged
            elif key in base and not self.policies.keep_ours((*path, key)):  # theirs deleted it
                if same(ours[key], base[key]):
                    del ours[key]
                else:
                    self.conflict((*path, key), "modify-delete", base[key], ours[key], MISSING)
        # Theirs' new keys go after the key theirs has before them that ours has too (ours'
        # first keys come first when both sides wrote the map anew). Inserted from the back,
        # so that the positions computed up front stay right.
        index = {key: at for at, key in enumerate(ours.keys())}
        position = 0 if base else len(index)
        plan: list[tuple[int, int, Any]] = []
        for number, key in enumerate(theirs.keys()):
            if key in index:
                position = index[key] + 1
            elif self.policies.keep_ours((*path, key)):
                continue
            elif key in base:  # ours deleted it
                if not same(theirs[key], base[key]):
                    self.conflict((*path, key), "delete-modify", base[key], MISSING, theirs[key])
            else:
                plan.append((position, number, key))
        for at, _number, key in sorted(plan, key=lambda step: (step[0], step[1]), reverse=True):
            _insert(ours, at, key, _copied(theirs[key]))
        return ours if ours else type(ours)()  # emptied: fresh, as for lists

    # -- lists ------------------------------------------------------------------------------------

    def _seq(self, base: Any, ours: Any, theirs: Any, path: Path) -> Any:
        found = identify(self.policies.for_path(path), base, ours, theirs, VIEW)
        if found.mode == "atomic":
            self.conflict(path, "both-modified", base, ours, theirs)
            return ours
        if found.mode == "positional":
            items = self._positional(base, ours, theirs, found.base, found.ours, found.theirs, path)
        else:
            items = self._by_identity(
                base, ours, theirs, found.mode, found.base, found.ours, found.theirs, path
            )
        if not items:
            # A fresh empty list: ruamel writes comments it kept inside an emptied one as
            # `key:\n  # comment\n[]`, which is not the document we mean.
            return type(ours)()
        # In place, so that ours' list stays the object render knows.
        list.__delitem__(ours, slice(None))
        list.extend(ours, items)
        return ours

    def _by_identity(
        self,
        base: list[Any],
        ours: list[Any],
        theirs: list[Any],
        mode: str,
        ids_b: list[Hashable],
        ids_o: list[Hashable],
        ids_t: list[Hashable],
        path: Path,
    ) -> list[Any]:
        by_b = dict(zip(ids_b, base, strict=True))
        by_o = dict(zip(ids_o, ours, strict=True))
        by_t = dict(zip(ids_t, theirs, strict=True))
        wanted: set[Hashable] = set()
        for key in [*ids_o, *ids_t]:
            in_o, in_t, in_b = key in by_o, key in by_t, key in by_b
            if in_o and in_t:
                wanted.add(key)
            elif in_b:  # deleted by one side: gone, unless the other side changed it
                kept = by_o[key] if in_o else by_t[key]
                if not same(kept, by_b[key]):
                    wanted.add(key)
            else:
                wanted.add(key)
        if mode == "union":
            order = union_order(ids_o, ids_t, wanted)
        else:
            order, clash = merge_order(ids_b, ids_o, ids_t, wanted)
            if clash:
                self.conflict(path, "list-order", base, ours, theirs)
        items: list[Any] = []
        for index, key in enumerate(order):  # conflicted items count: the file shows them
            at = (*path, index)
            b, o, t = by_b.get(key, MISSING), by_o.get(key, MISSING), by_t.get(key, MISSING)
            if o is not MISSING and t is not MISSING:
                items.append(self.merge(b, o, t, at))
            elif o is not MISSING:
                if b is not MISSING:
                    self.conflict(at, "modify-delete", b, o, MISSING)
                items.append(o)
            else:
                if b is not MISSING:
                    self.conflict(at, "delete-modify", b, MISSING, t)
                    continue
                items.append(_copied(t))
        return items

    def _positional(
        self,
        base: list[Any],
        ours: list[Any],
        theirs: list[Any],
        ids_b: list[Hashable],
        ids_o: list[Hashable],
        ids_t: list[Hashable],
        path: Path,
    ) -> list[Any]:
        items: list[Any] = []
        for chunk in diff3(ids_b, ids_o, ids_t):
            o = ours[chunk.ours[0] : chunk.ours[1]]
            t = theirs[chunk.theirs[0] : chunk.theirs[1]]
            b = base[chunk.base[0] : chunk.base[1]]
            if chunk.take == "ours":
                items += o
            elif chunk.take == "theirs":
                items += [_copied(item) for item in t]
            elif len(o) == len(t) == len(b):  # the same items edited on both sides
                for x, y, z in zip(b, o, t, strict=True):
                    items.append(self.merge(x, y, z, (*path, len(items))))
            else:
                self.conflict((*path, len(items)), "both-modified", b, o, t)
                items += o
        return items

    # -- text -------------------------------------------------------------------------------------

    def _text(self, base: str, ours: str, theirs: str, path: Path) -> Any:
        b, o, t = (s.splitlines(keepends=True) for s in (base, ours, theirs))
        out: list[str] = []
        for chunk in diff3(b, o, t):
            if chunk.take == "ours":
                out += o[chunk.ours[0] : chunk.ours[1]]
            elif chunk.take == "theirs":
                out += t[chunk.theirs[0] : chunk.theirs[1]]
            else:
                self.conflict(
                    path,
                    "line-overlap",
                    "".join(b[chunk.base[0] : chunk.base[1]]),
                    "".join(o[chunk.ours[0] : chunk.ours[1]]),
                    "".join(t[chunk.theirs[0] : chunk.theirs[1]]),
                )
                out += o[chunk.ours[0] : chunk.ours[1]]
        merged = "".join(out)
        # Keep ours' scalar style (a literal block stays a literal block).
        return type(ours)(merged) if type(ours) is not str else merged


_FLOATS = RoundTripRepresenter()


def _copied(value: Any) -> Any:
    """A deep copy of a value of theirs, safe to write into ours' tree.

    ruamel writes some floats it read back with other digits (5.21925542501417e+16 comes out
    as 5.21925542501416e+16): those become plain floats, which it writes exactly.
    """
    return exact_floats(copy.deepcopy(value))


def exact_floats(value: Any) -> Any:
    """`value` with each float ruamel would write back with other digits made a plain float
    (in place for containers; unchanged floats compare equal, so render keeps their text)."""
    if isinstance(value, ScalarFloat):
        written = _FLOATS.represent_scalar_float(value).value
        try:
            exact = float(written) == float(value)
        except ValueError:
            exact = False
        return value if exact else float(value)
    if isinstance(value, dict):
        for key, item in value.items():
            fixed = exact_floats(item)
            if fixed is not item:
                value[key] = fixed
    elif isinstance(value, list):
        for index, item in enumerate(value):
            fixed = exact_floats(item)
            if fixed is not item:
                value[index] = fixed
    return value


def _insert(mapping: Any, position: int, key: Any, value: Any) -> None:
    if hasattr(mapping, "insert"):  # CommentedMap
        mapping.insert(position, key, value)
        return
    items = list(mapping.items())
    items.insert(position, (key, value))
    mapping.clear()
    mapping.update(items)
