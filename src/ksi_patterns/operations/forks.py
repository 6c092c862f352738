"""Forking a pattern, and the family tree of forks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ksi_patterns.documents.model import FORK_IDENTITY_PATHS
from ksi_patterns.errors import UsageError
from ksi_patterns.lineage.forks import Fork, Node, family_tree
from ksi_patterns.lineage.forks import fork as fork_pattern
from ksi_patterns.operations.caller import FROM_CODE, Caller, announce
from ksi_patterns.registry.registry import Registry


def fork(
    registry: Registry,
    parent: str,
    name: str,
    *,
    reason: str,
    author: str | None = None,
    settings: Mapping[str, Any] | Sequence[tuple[str, Any]] = (),
    switch: bool = False,
    caller: Caller = FROM_CODE,
) -> Fork:
    """Create branch `fork/NAME` holding a copy of PARENT renamed NAME, with its lineage and the
    `settings` (dotted path -> value) applied, in one commit that must validate. `switch` moves
    the working tree to the branch when it is clean."""
    if not isinstance(reason, str) or not reason.strip():
        raise UsageError("{field} must say why the fork exists", field="reason")
    pairs = list(settings.items()) if isinstance(settings, Mapping) else list(settings)
    for path, _value in pairs:
        if any(path == owned or path.startswith(owned + ".") for owned in FORK_IDENTITY_PATHS):
            raise UsageError(
                f"{{field}} may not change {path!r}: the fork sets it", field="settings"
            )
    done = fork_pattern(
        registry,
        parent,
        name,
        reason=reason,
        author=author or caller.agent,
        settings=pairs,
        switch=switch,
    )
    announce(registry, caller, "composition:forked", done.to_json())
    return done


def lineage(registry: Registry, name: str | None = None) -> list[Node]:
    """The patterns as a forest of forks (the current branch and every fork/* branch); with
    `name`, only the tree that holds it."""
    return family_tree(registry, name)
