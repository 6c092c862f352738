"""What a pattern learns from its runs: `ksi pattern learn` and `ksi pattern record-run`.

Both edit the pattern file with a round-trip load and `dump()`, which rewrites only the entries
that changed (render.py), and commit through the store's compare-and-swap: the edit is
recomputed from the fresh tip on every retry, so concurrent writers lose nothing.

- `learn` adds an insight to `learnings` (top level, the seed's place; an older file that keeps
  them only under `metadata.learnings` is updated there). An insight already present, compared
  after whitespace normalization, is updated in place instead of duplicated.
- `record-run` updates `performance` (same rule for `metadata.performance`): `runs` + 1, running
  means `avg_score` and `success_rate`, `last_run`, and `improvements_over_parent` against the
  lineage parent's `avg_score` read at the same tip. A fork that beats its parent by 15 % or more
  over at least 3 runs is a merge candidate. Recent run ids (the last RUN_IDS_KEPT) are kept in
  `performance.run_ids` so that the same run is never counted twice. The figures' arithmetic
  (running means, the parent's score, the written percentage) is in performance.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import ScalarString

from ksi_patterns.documents.loading import RoundTrip, load_roundtrip, locate, to_plain
from ksi_patterns.documents.model import PATTERNS_DIR, check_name
from ksi_patterns.documents.render import render
from ksi_patterns.errors import InputError, NotFoundError, UsageError
from ksi_patterns.evolution.decision_entries import parse_confidence
from ksi_patterns.evolution.decisions import default_agent
from ksi_patterns.evolution.performance import (
    as_stored,
    parent_avg_score,
    percent,
    running_mean,
    stored_number,
)
from ksi_patterns.lineage.forks import utc_now
from ksi_patterns.registry.registry import Registry

if TYPE_CHECKING:
    from ksi_patterns.git.refs import Commit

__all__ = [
    "MERGE_CANDIDATE_GAIN",
    "MERGE_CANDIDATE_RUNS",
    "RUN_IDS_KEPT",
    "Learned",
    "RunRecorded",
    "learn",
    "normalize_insight",
    "record_run",
]

MERGE_CANDIDATE_GAIN = Decimal("0.15")  # the seed's "beats its parent by 15%"
MERGE_CANDIDATE_RUNS = 3  # ... over at least this many runs
RUN_IDS_KEPT = 50  # run ids remembered in performance.run_ids (idempotent record-run)
MAX_INSIGHT_CHARS = 2_000


def _pattern_path(registry: Registry, name: str, ref: str) -> str:
    check_name(name)
    try:
        return registry.find(name, ref, folder=PATTERNS_DIR)
    except NotFoundError:
        raise NotFoundError(f"no pattern named {name!r} at {ref}") from None


def _load(registry: Registry, path: str, tip: Commit | None) -> RoundTrip:
    if tip is None:
        raise NotFoundError("the branch has no commit yet")
    document = load_roundtrip(registry.store.read(path, tip), path)
    if not isinstance(document.tree, dict):
        raise InputError("a pattern must be a mapping", locate(document.tree, (), path))
    return document


def _subject(text: str, limit: int = 60) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _section(tree: CommentedMap, key: str, path: str) -> tuple[str, Any]:
    """(where, node) of `key`: the top-level one, else `metadata.<key>`, else ("<key>", None)."""
    if key in tree:
        return key, tree[key]
    metadata = tree.get("metadata")
    if isinstance(metadata, dict) and key in metadata:
        return f"metadata.{key}", metadata[key]
    return key, None


def _insert_top_level(tree: CommentedMap, key: str, value: Any) -> None:
    """Add `performance` or `learnings` at the top level in the seed's order (performance,
    learnings, metadata): next to the other one, else before `metadata`, else at the end."""
    keys = list(tree)
    if key == "learnings" and "performance" in keys:
        position = keys.index("performance") + 1
    elif key == "performance" and "learnings" in keys:
        position = keys.index("learnings")
    elif "metadata" in keys:
        position = keys.index("metadata")
    else:
        position = len(keys)
    tree.insert(position, key, value)


def _kept_style(old: Any, new: Any) -> Any:
    """`new`, quoted the way `old` was (a double-quoted string stays double-quoted)."""
    if isinstance(old, ScalarString) and isinstance(new, str):
        return type(old)(new)
    return new


# ---------------------------------------------------------------------------------------------
# learn


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
    path = _pattern_path(registry, name, ref)
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
    wanted = normalize_insight(insight)
    outcome: dict[str, Any] = {}

    def changes(tip: Commit | None) -> dict[str, bytes | None]:
        document = _load(registry, path, tip)
        tree = document.tree
        where, learnings = _section(tree, "learnings", path)
        if learnings is not None and not isinstance(learnings, list):
            raise InputError(
                f"`{where}` must be a list of learnings", locate(tree, where.split("."), path)
            )
        if learnings is None or not _is_block_list(learnings):
            fresh = CommentedSeq(learnings or [])
            if where == "learnings":
                if "learnings" in tree:
                    tree["learnings"] = fresh
                else:
                    _insert_top_level(tree, "learnings", fresh)
            else:
                tree["metadata"]["learnings"] = fresh
            learnings = fresh
        action = "added"
        for index, item in enumerate(learnings):
            text = item.get("insight") if isinstance(item, dict) else item
            if not isinstance(text, str) or normalize_insight(text) != wanted:
                continue
            action = "updated"
            if not isinstance(item, dict):  # a bare string insight becomes a full learning
                item = CommentedMap(insight=text)
                learnings[index] = item
            item["confidence"] = value
            if evidence is not None:
                item["evidence"] = _kept_style(item.get("evidence"), evidence)
            if discovered_by is not None or "discovered_by" not in item:
                item["discovered_by"] = _kept_style(item.get("discovered_by"), by)
            outcome["learning"] = to_plain(item)
            break
        else:
            item = CommentedMap(insight=insight, confidence=value)
            if evidence is not None:
                item["evidence"] = evidence
            item["discovered_by"] = by
            learnings.append(item)
            outcome["learning"] = to_plain(item)
        outcome["where"], outcome["action"] = where, action
        return {path: render(document).encode()}

    result = registry.commit(changes, f"learn({name}): {_subject(insight)}", branch)
    return Learned(
        name,
        path,
        outcome["where"],
        outcome["action"],
        outcome["learning"],
        result.commit_id,
        result.skipped_worktree_paths,
    )


def _is_block_list(node: Any) -> bool:
    """A non-empty block list can take a new item in place; `[]` or a flow list is replaced."""
    return isinstance(node, CommentedSeq) and len(node) > 0 and node.fa.flow_style() is False


# ---------------------------------------------------------------------------------------------
# record-run


@dataclass(frozen=True)
class RunRecorded:
    name: str
    path: str
    where: str  # "performance" or "metadata.performance"
    score: float
    success: bool
    run_id: str | None
    runs: int
    avg_score: float
    success_rate: float
    last_run: str
    parent: str | None  # the lineage parent's name, when there is one
    parent_avg_score: float | None
    improvement: float | None  # (avg - parent avg) / parent avg
    improvements_over_parent: str | None  # as written, e.g. "+21.7%"
    merge_candidate: bool
    commit_id: str
    skipped_worktree_paths: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "path": self.path,
            "where": self.where,
            "score": self.score,
            "success": self.success,
            "run_id": self.run_id,
            "runs": self.runs,
            "avg_score": self.avg_score,
            "success_rate": self.success_rate,
            "last_run": self.last_run,
            "parent": self.parent,
            "parent_avg_score": self.parent_avg_score,
            "improvement": self.improvement,
            "improvements_over_parent": self.improvements_over_parent,
            "merge_candidate": self.merge_candidate,
            "commit": self.commit_id,
        }


def parse_score(value: str | float) -> float:
    """A run's score, a number from 0 to 1 like `avg_score` in the seed."""
    return parse_confidence(value, "score")


def _set(node: CommentedMap, key: str, value: Any) -> None:
    node[key] = _kept_style(node.get(key), value)


def record_run(
    registry: Registry,
    name: str,
    score: float | str,
    *,
    success: bool = True,
    run_id: str | None = None,
    branch: str | None = None,
) -> RunRecorded:
    """Count one run of NAME in its `performance`, as a commit `run(NAME): score S`.

    Refuses (UsageError) a `run_id` already among the recent ones in `performance.run_ids`.
    """
    ref = branch or "HEAD"
    path = _pattern_path(registry, name, ref)
    value = Decimal(str(parse_score(score)))
    if run_id is not None and (
        not run_id.strip() or len(run_id) > 200 or any(c in run_id for c in "\n\r\x00")
    ):
        raise UsageError(
            "{field} must be one line of text (at most 200 characters)", field="run_id"
        )
    found: dict[str, Any] = {}

    def changes(tip: Commit | None) -> dict[str, bytes | None]:
        document = _load(registry, path, tip)
        assert tip is not None
        tree = document.tree
        where, performance = _section(tree, "performance", path)
        steps = where.split(".")
        if performance is not None and not isinstance(performance, dict):
            raise InputError(f"`{where}` must be a mapping", locate(tree, steps, path))
        if not isinstance(performance, CommentedMap) or not performance:
            fresh = CommentedMap(performance or {})
            if where == "performance" and "performance" not in tree:
                _insert_top_level(tree, "performance", fresh)
            elif where == "performance":
                tree["performance"] = fresh
            else:
                tree["metadata"]["performance"] = fresh
            performance = fresh

        def position(key: str) -> Any:
            return locate(tree, [*steps, key], path)

        recent = performance.get("run_ids")
        if recent is not None and not isinstance(recent, list):
            raise InputError(f"`{where}.run_ids` must be a list", position("run_ids"))
        if run_id is not None and recent is not None and run_id in [str(r) for r in recent]:
            raise UsageError(
                f"run {run_id!r} is already recorded for {name} ({where}.run_ids); nothing written"
            )
        old_runs = stored_number(performance.get("runs"), f"{where}.runs", position("runs"))
        if old_runs is not None and (old_runs < 0 or old_runs != old_runs.to_integral_value()):
            raise InputError(f"{where}.runs must be a whole number", position("runs"))
        runs = int(old_runs or 0)
        old_avg = stored_number(
            performance.get("avg_score"), f"{where}.avg_score", position("avg_score")
        )
        old_rate = stored_number(
            performance.get("success_rate"), f"{where}.success_rate", position("success_rate")
        )
        avg = running_mean(old_avg, runs, value)
        rate = running_mean(old_rate, runs, Decimal(1 if success else 0))
        runs += 1
        last_run = utc_now()
        _set(performance, "runs", runs)
        _set(performance, "avg_score", as_stored(avg))
        _set(performance, "success_rate", as_stored(rate))
        _set(performance, "last_run", last_run)
        parent, parent_avg = parent_avg_score(registry, document, name, tip)
        improvement: Decimal | None = None
        written: str | None = None
        if parent_avg is not None:
            improvement = (Decimal(repr(as_stored(avg))) - parent_avg) / parent_avg
            written = percent(improvement)
            _set(performance, "improvements_over_parent", written)
        if run_id is not None:
            kept = [*(recent or []), run_id][-RUN_IDS_KEPT:]
            ids = CommentedSeq(kept)
            ids.fa.set_flow_style()
            performance["run_ids"] = ids
        found.update(
            where=where,
            runs=runs,
            avg=as_stored(avg),
            rate=as_stored(rate),
            last_run=last_run,
            parent=parent,
            parent_avg=float(parent_avg) if parent_avg is not None else None,
            improvement=improvement,
            written=written,
        )
        return {path: render(document).encode()}

    shown = f"{float(value):g}"
    result = registry.commit(changes, f"run({name}): score {shown}", branch)
    improvement = found["improvement"]
    candidate = (
        improvement is not None
        and improvement >= MERGE_CANDIDATE_GAIN
        and found["runs"] >= MERGE_CANDIDATE_RUNS
    )
    return RunRecorded(
        name=name,
        path=path,
        where=found["where"],
        score=float(value),
        success=success,
        run_id=run_id,
        runs=found["runs"],
        avg_score=found["avg"],
        success_rate=found["rate"],
        last_run=found["last_run"],
        parent=found["parent"],
        parent_avg_score=found["parent_avg"],
        improvement=float(improvement) if improvement is not None else None,
        improvements_over_parent=found["written"],
        merge_candidate=candidate,
        commit_id=result.commit_id,
        skipped_worktree_paths=result.skipped_worktree_paths,
    )
