"""Learnings: `learn` adds an insight to a pattern (or updates the same insight)."""

from __future__ import annotations

from ksi_patterns.events.values import json_safe
from ksi_patterns.evolution.learnings import Learned
from ksi_patterns.evolution.learnings import learn as add_learning
from ksi_patterns.operations.caller import FROM_CODE, Caller, announce
from ksi_patterns.registry.references import record_branch
from ksi_patterns.registry.registry import Registry


def learn(
    registry: Registry,
    pattern: str,
    insight: str,
    confidence: float | str,
    *,
    evidence: str | None = None,
    discovered_by: str | None = None,
    branch: str | None = None,
    caller: Caller = FROM_CODE,
) -> Learned:
    """Add `insight` to PATTERN's learnings, or update the learning with the same text, in a
    commit `learn(PATTERN): INSIGHT` (a fork not merged yet: on its own branch)."""
    done = add_learning(
        registry,
        pattern,
        insight,
        confidence,
        evidence=evidence,
        discovered_by=discovered_by or caller.agent,
        branch=record_branch(registry, pattern, branch),
    )
    data = {"pattern": pattern, **json_safe(done.to_json())}
    announce(registry, caller, "composition:learned", data)
    return done
