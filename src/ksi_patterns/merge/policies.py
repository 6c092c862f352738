"""How each list of a document merges, chosen by path.

Maps always merge by key. Lists are where merging needs to know what the list means:
- Keyed: items are maps with an identity field; matched by it, order merged like text.
- SET: unique scalars; base plus additions minus deletions, ours' order then theirs' additions.
- AppendUnion: a log; every entry of either side survives (deletions still apply), ours' entries
  first, then theirs' new ones. Identity by key field, else by the entry's whole content.
- ATOMIC: the list is one value; both sides changing it differently is a conflict.
- KEEP_OURS (any entry, not only lists): never merged, ours' version stays.
A list without a policy is keyed when an identity field can be detected (see `detect_key`),
else merged by position like lines of text (diff3 over its items).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ksi_patterns.merge.result import Path

KeySpec = str | tuple[str, ...]  # one field, or several fields together (`from` + `commit`)
Pattern = tuple[str | int, ...]
WILDCARD = "*"


@dataclass(frozen=True)
class Keyed:
    """Items matched by the first of `keys` that every item of all versions has, uniquely."""

    keys: tuple[KeySpec, ...]


@dataclass(frozen=True)
class SetPolicy:
    """Unique scalars, merged as a set."""


@dataclass(frozen=True)
class AppendUnion:
    """An append-only log: union by `keys` (first that an entry has), else by whole content."""

    keys: tuple[KeySpec, ...] = ()


@dataclass(frozen=True)
class AtomicPolicy:
    """The whole list is one value."""


@dataclass(frozen=True)
class KeepOurs:
    """Not merged at all: the entry stays as ours has it (a fork's name, lineage and own
    measurements when it is merged back into its parent). Applies to any entry, not only lists."""


ListPolicy = Keyed | SetPolicy | AppendUnion | AtomicPolicy | KeepOurs

SET = SetPolicy()
ATOMIC = AtomicPolicy()
KEEP_OURS = KeepOurs()


def KEYED(*keys: KeySpec) -> Keyed:
    """Upper case, to read like SET and ATOMIC in a rule table."""
    return Keyed(tuple(keys))


def APPEND_UNION(*keys: KeySpec) -> AppendUnion:
    return AppendUnion(tuple(keys))


class MergePolicies:
    """Path patterns -> list policies. `"*"` in a pattern matches any one key or list position.

    When several patterns match, the one with the fewest wildcards wins (then the first given).
    """

    def __init__(self, rules: Mapping[Pattern, ListPolicy] | Iterable[tuple[Pattern, ListPolicy]]):
        items = rules.items() if isinstance(rules, Mapping) else rules
        self._exact: dict[Pattern, ListPolicy] = {}
        self._wild: list[tuple[Pattern, ListPolicy]] = []
        for pattern, policy in items:
            pattern = tuple(pattern)
            if WILDCARD in pattern:
                self._wild.append((pattern, policy))
            elif pattern not in self._exact:
                self._exact[pattern] = policy
        self._wild.sort(key=lambda rule: rule[0].count(WILDCARD))  # stable: ties keep order

    def rules(self) -> list[tuple[Pattern, ListPolicy]]:
        return [*self._exact.items(), *self._wild]

    def extended(
        self, rules: Mapping[Pattern, ListPolicy] | Iterable[tuple[Pattern, ListPolicy]]
    ) -> MergePolicies:
        """These policies with `rules` added; the new rules win over existing equal patterns."""
        items = list(rules.items() if isinstance(rules, Mapping) else rules)
        return MergePolicies([*items, *self.rules()])

    @property
    def keeps_ours(self) -> bool:
        """Whether some entries are ours whatever theirs did (then theirs is never taken whole)."""
        return any(isinstance(policy, KeepOurs) for _pattern, policy in self.rules())

    def keep_ours(self, path: Path) -> bool:
        return isinstance(self.for_path(path), KeepOurs)

    def keeps_ours_below(self, path: Path) -> bool:
        """Whether an entry under `path` is KEEP_OURS (then theirs' version of `path` cannot
        be taken whole, even where ours left it alone)."""
        return any(
            isinstance(policy, KeepOurs)
            and len(pattern) > len(path)
            and all(want in (WILDCARD, step) for want, step in zip(pattern, path, strict=False))
            for pattern, policy in self.rules()
        )

    def for_path(self, path: Path) -> ListPolicy | None:
        # List positions never appear in patterns except as "*": compare keys as written.
        found = self._exact.get(path)
        if found is not None:
            return found
        for pattern, policy in self._wild:
            if len(pattern) == len(path) and all(
                want in (WILDCARD, step) for want, step in zip(pattern, path, strict=True)
            ):
                return policy
        return None


def _everywhere(
    paths: Sequence[Pattern], policy: ListPolicy, *, under_metadata: bool = True
) -> list[tuple[Pattern, ListPolicy]]:
    """Rules for `paths`, and for the same paths under `metadata` (where older files keep them)."""
    rules = [(path, policy) for path in paths]
    if under_metadata:
        rules += [(("metadata", *path), policy) for path in paths]
    return rules


DEFAULT_POLICIES = MergePolicies(
    [
        # Decision logs: the document itself is the list (the root path is empty).
        ((), APPEND_UNION("id")),
        *_everywhere([("learnings",)], APPEND_UNION("insight")),
        *_everywhere([("lineage", "merges")], APPEND_UNION(("from", "commit"))),
        *_everywhere([("lineage", "improvements")], APPEND_UNION()),
        *_everywhere([("tags",), ("capabilities_required",), ("use_cases",)], SET),
        (("metadata", "selection_criteria", "task_keywords"), SET),
        (("metadata", "requirements", "required_events"), SET),
        (("metadata", "requirements", "recommended_profiles"), SET),
        (("metadata", "forks"), APPEND_UNION("name")),
        (("mixins",), SET),
        (("components",), KEYED("name")),
        (("components", WILDCARD, "inline", "capabilities"), SET),
        (("agents",), KEYED("name", "id")),
    ]
)

# Field names that name an item; a list of maps without a policy is keyed by the first of these
# that works, else by its items' first field when that one works (identity fields come first).
IDENTITY_FIELDS = ("name", "id", "key", "insight", "title", "label")
