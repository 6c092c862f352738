"""The composition handlers that change the registry, and what their announcements carry.

`composition:fork`, `composition:merge`, `composition:track_decision`, `composition:learn` and
`composition:record_run` each run a registry operation that commits, then announce what they did
through the bus (`composition:forked`, `composition:merged`, `composition:decision_tracked`,
`composition:learned`, `composition:run_recorded`). The CLI's own commands announce the same data
(`forked`, `merged`, `decision_tracked`), so a plugin sees every change however it was made.

They never switch the working tree and never write conflict markers into it: a merge with
conflicts is refused and reported.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ksi_patterns.composition.event_data import get_flag, get_mapping, get_required, get_text
from ksi_patterns.errors import ConflictError, NotFoundError, UsageError
from ksi_patterns.events.bus import EventBus
from ksi_patterns.events.values import json_safe

if TYPE_CHECKING:
    from ksi_patterns.evolution.decisions import Tracked
    from ksi_patterns.lineage.forks import Fork
    from ksi_patterns.lineage.merging import Outcome
    from ksi_patterns.registry.registry import Registry


# ---------------------------------------------------------------------------------------------
# What announcements carry (the CLI commands announce the same)


def forked(done: Fork, reason: str) -> dict[str, Any]:
    return {
        "name": done.name,
        "parent": done.parent,
        "type": "orchestration",
        "path": done.path,
        "branch": done.branch,
        "commit": done.commit_id,
        "reason": reason,
    }


def merged(fork: str, outcome: Outcome) -> dict[str, Any]:
    """What `composition:merged` carries, from the outcome of a pattern merge that committed."""
    plan = outcome.plan
    return merged_fields(fork, plan.branch, outcome.commit_id, plan.extra)


def merged_fields(
    fork: str, branch: str, commit: str | None, details: dict[str, Any]
) -> dict[str, Any]:
    """`composition:merged`'s data; `details` are a pattern merge's extras (parent, entry), as
    a plan or a merge finished with --continue keeps them."""
    entry = details.get("entry") or {}
    return {
        "fork": fork,
        "into": details.get("parent"),
        "branch": branch,
        "commit": commit,
        "source": entry.get("from"),
    }


def decision_tracked(done: Tracked) -> dict[str, Any]:
    entry = done.entry
    return {
        "pattern": done.name,
        "id": entry.get("id"),
        "decision": entry.get("decision"),
        "outcome": entry.get("outcome"),
        "confidence": entry.get("confidence"),
        "agent_id": entry.get("agent_id"),
        "context": json_safe(entry.get("context")),
        "path": done.path,
        "commit": done.commit_id,
    }


# ---------------------------------------------------------------------------------------------
# The handlers


def handle_fork(registry: Registry, data: Mapping[str, Any], bus: EventBus) -> dict[str, Any]:
    from ruamel.yaml.scalarstring import LiteralScalarString

    from ksi_patterns.lineage.forks import fork

    parent = get_required(data, "parent")
    name = get_required(data, "name")
    reason = get_required(data, "reason")
    settings = []
    for path, value in get_mapping(data, "modifications").items():
        top = path.split(".", 1)[0]
        if top in ("name", "lineage") or path in ("metadata.lineage", "metadata.name"):
            raise UsageError(f"modifications may not change {path!r}: the fork sets it")
        if isinstance(value, str) and "\n" in value:
            value = LiteralScalarString(value)
        settings.append((path, value))
    author = get_text(data, "author", "agent_id", required=False)
    done = fork(
        registry, parent, name, reason=reason, author=author, settings=settings, switch=False
    )
    announcement = forked(done, reason)
    bus.emit("composition:forked", announcement)
    return announcement


def handle_merge(registry: Registry, data: Mapping[str, Any], bus: EventBus) -> dict[str, Any]:
    from ksi_patterns.lineage.fork_merge import Request, merge_fork

    fork = get_required(data, "fork", "name")
    resolve = get_text(data, "resolve", required=False)
    if resolve not in (None, "ours", "theirs"):
        raise UsageError(f"'resolve' must be 'ours' or 'theirs', not {resolve!r}")
    request = Request(
        fork,
        get_text(data, "into", required=False),
        get_text(data, "branch", required=False),
        resolve,
    )
    # A merge with conflicts would write markers into the user's working tree: look first.
    preview = merge_fork(registry, request, dry_run=True)
    if not preview.plan.clean:
        places = [
            f"{path}: {conflict.to_json().get('path') or '(whole file)'}"
            for path, found in sorted(preview.plan.conflicts.items())
            for conflict in found
        ]
        raise ConflictError(
            f"merging {fork} has {len(places)} conflict(s) ({'; '.join(places[:10])}); nothing "
            "was written: resolve them with `ksi pattern merge` at a terminal, or emit again "
            "with resolve: ours or theirs"
        )
    if get_flag(data, "dry_run", False):
        plan = preview.plan
        return {"fork": fork, "dry_run": True, "clean": True, "changed": sorted(plan.changes)}
    outcome = merge_fork(registry, request)
    plan = outcome.plan
    if outcome.stopped:
        raise ConflictError(
            f"{plan.branch} moved while merging {fork} and the merge now conflicts: the "
            "conflicts were left in the working tree; finish with `ksi pattern merge --continue`"
        )
    result = {**merged(fork, outcome), "up_to_date": outcome.up_to_date}
    result["changed"] = sorted(plan.changes)
    if outcome.commit_id:
        bus.emit("composition:merged", merged(fork, outcome))
    return result


def _branch(registry: Registry, pattern: str, data: Mapping[str, Any]) -> str | None:
    """Where a record about `pattern` goes: `branch` if given; else the checked-out branch,
    unless the pattern is only on its fork branch (a fork made through events, not merged yet)."""
    from ksi_patterns.documents.model import check_name
    from ksi_patterns.lineage.forks import fork_branch

    given = get_text(data, "branch", required=False)
    if given is not None:
        return given
    try:
        registry.find(pattern, "HEAD")
    except NotFoundError:
        branch = fork_branch(check_name(pattern))
        if branch in registry.store.branches():
            return branch
    return None


def handle_track_decision(
    registry: Registry, data: Mapping[str, Any], bus: EventBus
) -> dict[str, Any]:
    from ksi_patterns.evolution.decision_entries import parse_confidence
    from ksi_patterns.evolution.decisions import track_decision

    pattern = get_required(data, "pattern", "name")
    decision = get_required(data, "decision")
    confidence = data.get("confidence")
    done = track_decision(
        registry,
        pattern,
        decision,
        context=get_mapping(data, "context"),
        outcome=get_text(data, "outcome", required=False),
        confidence=parse_confidence(confidence, "confidence") if confidence is not None else None,
        agent_id=get_text(data, "agent_id", "agent", required=False),
        branch=_branch(registry, pattern, data),
    )
    announcement = decision_tracked(done)
    bus.emit("composition:decision_tracked", announcement)
    return {**json_safe(done.entry), "path": done.path, "commit": done.commit_id}


def handle_learn(registry: Registry, data: Mapping[str, Any], bus: EventBus) -> dict[str, Any]:
    from ksi_patterns.evolution.learn_run import learn

    pattern = get_required(data, "pattern", "name")
    confidence = data.get("confidence")
    if confidence is None:
        raise UsageError("missing 'confidence' (from 0 to 1) in the event data")
    done = learn(
        registry,
        pattern,
        get_required(data, "insight"),
        confidence,
        evidence=get_text(data, "evidence", required=False),
        discovered_by=get_text(data, "discovered_by", "agent_id", required=False),
        branch=_branch(registry, pattern, data),
    )
    result: dict[str, Any] = json_safe(done.to_json())
    bus.emit("composition:learned", {"pattern": pattern, **result})
    return result


def handle_record_run(registry: Registry, data: Mapping[str, Any], bus: EventBus) -> dict[str, Any]:
    from ksi_patterns.evolution.learn_run import parse_score, record_run

    pattern = get_required(data, "pattern", "name")
    score = data.get("score")
    if score is None or isinstance(score, bool):
        raise UsageError("missing 'score' (from 0 to 1) in the event data")
    done = record_run(
        registry,
        pattern,
        parse_score(score),
        success=get_flag(data, "success", True),
        run_id=get_text(data, "run_id", required=False),
        branch=_branch(registry, pattern, data),
    )
    result: dict[str, Any] = json_safe(done.to_json())
    bus.emit("composition:run_recorded", {"pattern": pattern, **result})
    return result
