"""Learnings: `ksi pattern learn` adds an insight to a pattern (or updates the same one).

An insight goes into `learnings` (top level, the seed's place; an older file that keeps them
only under `metadata.learnings` is updated there). An insight already present, compared after
whitespace normalization, is updated in place instead of duplicated. The edit is a round-trip
one that rewrites only what changed, recomputed from the fresh tip on every compare-and-swap
retry, so concurrent writers lose nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from ksi_patterns.documents.loading import locate, to_plain
from ksi_patterns.documents.render import render
from ksi_patterns.errors import InputError, UsageError
from ksi_patterns.evolution.decision_entries import parse_confidence
from ksi_patterns.evolution.decisions import default_agent
from ksi_patterns.evolution.pattern_edits import (
    insert_top_level,
    kept_style,
    load_pattern,
    pattern_path,
    section_of,
    subject_line,
)
from ksi_patterns.registry.registry import Registry

if TYPE_CHECKING:
    from ksi_patterns.git.refs import Commit

MAX_INSIGHT_CHARS = 2_000


def normalize_insight(text: str) -> str:
    """The form insights are compared in: runs of whitespace made one space, ends trimmed."""
    return " ".join(text.split())


@dataclass(frozen=True)
class Learned:
    name: str
    path: str
    where: str  # "learnings" or "metadata.learnings"
    action: str  # "added" or "updated"
    learning: dict[str, Any]
    commit_id: str
    skipped_worktree_paths: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "path": self.path,
            "where": self.where,
            "action": self.action,
            "learning": self.learning,
            "commit": self.commit_id,
        }


def learn(
    registry: Registry,
    name: str,
    insight: str,
    confidence: float | str,
    *,
    evidence: str | None = None,
    discovered_by: str | None = None,
    branch: str | None = None,
) -> Learned:
    """Add an insight to NAME's learnings, or update the one with the same text, in a commit
    `learn(NAME): INSIGHT` with compare-and-swap."""
    ref = branch or "HEAD"
    path = pattern_path(registry, name, ref)
    if not isinstance(insight, str) or not normalize_insight(insight):
        raise UsageError("{field} must be a non-empty text", field="insight")
    if len(insight) > MAX_INSIGHT_CHARS:
        raise UsageError(
            f"{{field}} is {len(insight):,} characters long; at most 2,000", field="insight"
        )
    value = parse_confidence(confidence)
    if evidence is not None and not evidence.strip():
        raise UsageError("{field} must be a non-empty text when given", field="evidence")
    by = discovered_by if discovered_by else default_agent(registry, ref)
    outcome: dict[str, Any] = {}

    def changes(tip: Commit | None) -> dict[str, bytes | None]:
        document = load_pattern(registry, path, tip)
        where, learnings = _learnings_of(document.tree, path)
        item, action = _learning(learnings, insight, value, evidence, discovered_by, by)
        outcome.update(learning=to_plain(item), where=where, action=action)
        return {path: render(document).encode()}

    result = registry.commit(changes, f"learn({name}): {subject_line(insight)}", branch)
    return Learned(
        name,
        path,
        outcome["where"],
        outcome["action"],
        outcome["learning"],
        result.commit_id,
        result.skipped_worktree_paths,
    )


def _learnings_of(tree: CommentedMap, path: str) -> tuple[str, CommentedSeq]:
    """Where the learnings are, and the list to edit: a block list, made one when it was
    missing, empty or written inline."""
    where, learnings = section_of(tree, "learnings", path)
    if learnings is not None and not isinstance(learnings, list):
        raise InputError(
            f"`{where}` must be a list of learnings", locate(tree, where.split("."), path)
        )
    if isinstance(learnings, CommentedSeq) and _is_block_list(learnings):
        return where, learnings
    fresh = CommentedSeq(learnings or [])
    if where != "learnings":
        tree["metadata"]["learnings"] = fresh
    elif "learnings" in tree:
        tree["learnings"] = fresh
    else:
        insert_top_level(tree, "learnings", fresh)
    return where, fresh


def _learning(
    learnings: CommentedSeq,
    insight: str,
    confidence: float,
    evidence: str | None,
    discovered_by: str | None,
    by: str,
) -> tuple[CommentedMap, str]:
    """The learning with `insight`'s text, updated, or a new one appended; and which it was."""
    wanted = normalize_insight(insight)
    for index, item in enumerate(learnings):
        text = item.get("insight") if isinstance(item, dict) else item
        if not isinstance(text, str) or normalize_insight(text) != wanted:
            continue
        if not isinstance(item, dict):  # a bare string insight becomes a full learning
            item = CommentedMap(insight=text)
            learnings[index] = item
        item["confidence"] = confidence
        if evidence is not None:
            item["evidence"] = kept_style(item.get("evidence"), evidence)
        if discovered_by is not None or "discovered_by" not in item:
            item["discovered_by"] = kept_style(item.get("discovered_by"), by)
        return item, "updated"
    fresh = CommentedMap(insight=insight, confidence=confidence)
    if evidence is not None:
        fresh["evidence"] = evidence
    fresh["discovered_by"] = by
    learnings.append(fresh)
    return fresh, "added"


def _is_block_list(node: Any) -> bool:
    """A non-empty block list can take a new item in place; `[]` or a flow list is replaced."""
    return isinstance(node, CommentedSeq) and len(node) > 0 and node.fa.flow_style() is False
