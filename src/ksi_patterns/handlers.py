"""Registry operations as event handlers, handler plugins, and announcements.

`events` knows no registry; this module binds the two:

- `register_composition_handlers(bus, registry)` handles the seed's composition events with its
  parameter names (`composition:fork` {parent, name, reason, modifications}, ...; see
  `COMPOSITION_EVENTS`). Each handler returns JSON data (the tool result an LLM sees) and, on
  success, announces what it did through the bus: `composition:forked`, `composition:merged`,
  `composition:decision_tracked`, `composition:learned`, `composition:run_recorded`.
- Optional modules add handlers through the entry-point group `ksi_patterns.handlers`: each entry
  point is a callable `register(bus)`. `load_plugins(bus)` loads them all and reports what each
  registered, or why it failed, without raising.
- `announce(registry, event, data)` is how the CLI's own commands tell plugins what they did
  (`ksi pattern fork` announces `composition:forked` as the event handler does), so a plugin sees
  every fork however it was made. It never fails the command that already succeeded.

Operations from events never switch the working tree, never write conflict markers into it
(a merge with conflicts is refused and reported), and never read files outside the registry.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ksi_patterns.errors import ConflictError, NotFoundError, UsageError
from ksi_patterns.events import Emission, Event, EventBus, json_safe

if TYPE_CHECKING:
    from ksi_patterns.decisions import Tracked
    from ksi_patterns.lineage import Fork
    from ksi_patterns.merging import Outcome
    from ksi_patterns.registry import Registry

GROUP = "ksi_patterns.handlers"
LOG_FILE = "events.jsonl"
BUILT_IN = "built-in"
ANNOUNCE_WAIT = 5.0  # seconds `announce` waits for events that plugins delayed
MAX_CHANGES = 200  # changes a composition:diff result lists (the rest are counted)
Warn = Callable[[str], None]


def event_log_path(registry: Registry) -> Path:
    """`<git-dir>/ksi/events.jsonl`."""
    return registry.store.state_dir / LOG_FILE


# ---------------------------------------------------------------------------------------------
# Reading event data


def _text(data: Mapping[str, Any], *keys: str, required: bool = True) -> str | None:
    """The first of `keys` present, as non-empty text."""
    for key in keys:
        value = data.get(key)
        if value is None:
            continue
        if not isinstance(value, str) or not value.strip():
            raise UsageError(f"{key!r} must be a non-empty text, not {value!r}")
        return value
    if required:
        raise UsageError(f"missing {' or '.join(repr(k) for k in keys)} in the event data")
    return None


def _required(data: Mapping[str, Any], *keys: str) -> str:
    found = _text(data, *keys)
    assert found is not None
    return found


def _mapping(data: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise UsageError(f"{key!r} must be a mapping (JSON object), not {type(value).__name__}")
    return {str(k): v for k, v in value.items()}


def _strings(data: Mapping[str, Any], key: str) -> list[str]:
    """A list of texts, or one text."""
    value = data.get(key)
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return list(value)
    raise UsageError(f"{key!r} must be a text or a list of texts, not {value!r}")


def _flag(data: Mapping[str, Any], key: str, default: bool) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise UsageError(f"{key!r} must be true or false, not {value!r}")
    return value


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
    entry = plan.extra.get("entry") or {}
    return {
        "fork": fork,
        "into": plan.extra.get("parent"),
        "branch": plan.branch,
        "commit": outcome.commit_id,
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
# The composition handlers


def _fork(registry: Registry, data: Mapping[str, Any], bus: EventBus) -> dict[str, Any]:
    from ruamel.yaml.scalarstring import LiteralScalarString

    from ksi_patterns.lineage import fork

    parent = _required(data, "parent")
    name = _required(data, "name")
    reason = _required(data, "reason")
    settings = []
    for path, value in _mapping(data, "modifications").items():
        top = path.split(".", 1)[0]
        if top in ("name", "lineage") or path in ("metadata.lineage", "metadata.name"):
            raise UsageError(f"modifications may not change {path!r}: the fork sets it")
        if isinstance(value, str) and "\n" in value:
            value = LiteralScalarString(value)
        settings.append((path, value))
    author = _text(data, "author", "agent_id", required=False)
    done = fork(
        registry, parent, name, reason=reason, author=author, settings=settings, switch=False
    )
    announcement = forked(done, reason)
    bus.emit("composition:forked", announcement)
    return announcement


def _merge(registry: Registry, data: Mapping[str, Any], bus: EventBus) -> dict[str, Any]:
    from ksi_patterns.fork_merge import Request, merge_fork

    fork = _required(data, "fork", "name")
    resolve = _text(data, "resolve", required=False)
    if resolve not in (None, "ours", "theirs"):
        raise UsageError(f"'resolve' must be 'ours' or 'theirs', not {resolve!r}")
    request = Request(
        fork,
        _text(data, "into", required=False),
        _text(data, "branch", required=False),
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
    if _flag(data, "dry_run", False):
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


@dataclass(frozen=True)
class _Side:
    label: str
    data: Any
    rev: str


def _read(registry: Registry, text: str) -> _Side:
    """NAME (current tip, else its fork branch), NAME@X.Y.Z (a release) or NAME@REV."""
    from ksi_patterns.documents import load_plain
    from ksi_patterns.lineage import fork_branch
    from ksi_patterns.model import parse_reference

    reference = parse_reference(text)
    store = registry.store
    rev = reference.git_ref
    if reference.is_version and rev not in store.tags():
        raise NotFoundError(f"no release {reference}")
    if reference.at is None:
        try:
            registry.find(reference.name, rev)
        except NotFoundError:
            if fork_branch(reference.name) not in store.branches():
                raise
            rev = fork_branch(reference.name)
    commit = store.resolve(rev)
    path = registry.find(reference.name, str(commit.id))
    data = load_plain(store.read(path, commit), f"{path}@{commit.short_id}")
    return _Side(f"{text} ({path} at {commit.short_id})", data, str(commit.id))


def _parent_side(registry: Registry, fork: _Side, name: str) -> _Side:
    """The fork's lineage parent at the fork point, else at its current tip."""
    from ksi_patterns.documents import load_plain
    from ksi_patterns.lineage import fork_point, parent_link

    link = parent_link(fork.data)
    if link is None:
        raise UsageError(f"{name} has no lineage parent: give 'b' to compare it with")
    try:
        base = fork_point(registry, link.commit or "HEAD", fork.rev, link)
        path = registry.find(link.name, str(base.id))
        where = f"the fork point {base.short_id}"
    except NotFoundError:
        base = registry.store.resolve("HEAD")
        path = registry.find(link.name, "HEAD")
        where = f"the current tip {base.short_id}"
    data = load_plain(registry.store.read(path, base), f"{path}@{base.short_id}")
    return _Side(f"{link.name} ({path} at {where})", data, str(base.id))


def _diff(registry: Registry, data: Mapping[str, Any], _bus: EventBus) -> dict[str, Any]:
    from ksi_patterns.diff import diff, stat, without
    from ksi_patterns.lineage import FORK_OWN_PATHS

    a = _required(data, "a", "name")
    b = _text(data, "b", required=False)
    if b is None:
        new = _read(registry, a)
        old = _parent_side(registry, new, a)
    else:
        old, new = _read(registry, a), _read(registry, b)
    changes = diff(old.data, new.data)
    if b is None:
        changes = without(changes, FORK_OWN_PATHS)
    shown = [change.to_json() for change in changes[:MAX_CHANGES]]
    return {
        "a": old.label,
        "b": new.label,
        "stat": stat(changes).to_json(),
        "changes": json_safe(shown),
        "more": max(0, len(changes) - MAX_CHANGES),
    }


def _branch(registry: Registry, pattern: str, data: Mapping[str, Any]) -> str | None:
    """Where a record about `pattern` goes: `branch` if given; else the checked-out branch,
    unless the pattern is only on its fork branch (a fork made through events, not merged yet)."""
    from ksi_patterns.lineage import fork_branch
    from ksi_patterns.model import check_name

    given = _text(data, "branch", required=False)
    if given is not None:
        return given
    try:
        registry.find(pattern, "HEAD")
    except NotFoundError:
        branch = fork_branch(check_name(pattern))
        if branch in registry.store.branches():
            return branch
    return None


def _track_decision(registry: Registry, data: Mapping[str, Any], bus: EventBus) -> dict[str, Any]:
    from ksi_patterns.decisions import parse_confidence, track_decision

    pattern = _required(data, "pattern", "name")
    decision = _required(data, "decision")
    confidence = data.get("confidence")
    done = track_decision(
        registry,
        pattern,
        decision,
        context=_mapping(data, "context"),
        outcome=_text(data, "outcome", required=False),
        confidence=parse_confidence(confidence, "confidence") if confidence is not None else None,
        agent_id=_text(data, "agent_id", "agent", required=False),
        branch=_branch(registry, pattern, data),
    )
    announcement = decision_tracked(done)
    bus.emit("composition:decision_tracked", announcement)
    return {**json_safe(done.entry), "path": done.path, "commit": done.commit_id}


def _learn(registry: Registry, data: Mapping[str, Any], bus: EventBus) -> dict[str, Any]:
    from ksi_patterns.evolution import learn

    pattern = _required(data, "pattern", "name")
    confidence = data.get("confidence")
    if confidence is None:
        raise UsageError("missing 'confidence' (from 0 to 1) in the event data")
    done = learn(
        registry,
        pattern,
        _required(data, "insight"),
        confidence,
        evidence=_text(data, "evidence", required=False),
        discovered_by=_text(data, "discovered_by", "agent_id", required=False),
        branch=_branch(registry, pattern, data),
    )
    result: dict[str, Any] = json_safe(done.to_json())
    bus.emit("composition:learned", {"pattern": pattern, **result})
    return result


def _record_run(registry: Registry, data: Mapping[str, Any], bus: EventBus) -> dict[str, Any]:
    from ksi_patterns.evolution import parse_score, record_run

    pattern = _required(data, "pattern", "name")
    score = data.get("score")
    if score is None or isinstance(score, bool):
        raise UsageError("missing 'score' (from 0 to 1) in the event data")
    done = record_run(
        registry,
        pattern,
        parse_score(score),
        success=_flag(data, "success", True),
        run_id=_text(data, "run_id", required=False),
        branch=_branch(registry, pattern, data),
    )
    result: dict[str, Any] = json_safe(done.to_json())
    bus.emit("composition:run_recorded", {"pattern": pattern, **result})
    return result


def _discover(registry: Registry, data: Mapping[str, Any], _bus: EventBus) -> dict[str, Any]:
    import json

    from ksi_patterns.catalog import Query, branch_refs, with_catalog
    from ksi_patterns.catalog import discover as run_discover
    from ksi_patterns.filters import parse_metadata_filter, parse_where

    kind = _text(data, "type", "kind", required=False)
    if kind not in (None, "orchestration", "profile"):
        raise UsageError(f"unknown 'type' {kind!r}: orchestration or profile")
    conditions = [parse_where(text) for text in _strings(data, "where")]
    metadata_filter = _mapping(data, "metadata_filter")
    if metadata_filter:
        conditions += parse_metadata_filter(json.dumps(metadata_filter))
    query = Query(
        kind,
        tuple(_strings(data, "tags") + _strings(data, "tag")),
        tuple(_strings(data, "capabilities") + _strings(data, "capability")),
        tuple(conditions),
    )
    all_branches = _flag(data, "all_branches", False)
    ref = _text(data, "ref", required=False)
    refs = branch_refs(registry) if all_branches else [ref or "HEAD"]
    notes: list[str] = []
    rows, warnings = with_catalog(
        registry, refs, lambda catalog: run_discover(catalog, query), notes.append
    )
    return {
        "patterns": [json_safe(row.to_json()) for row in rows],
        "count": len(rows),
        "warnings": [*notes, *warnings],
    }


def _select(registry: Registry, data: Mapping[str, Any], _bus: EventBus) -> dict[str, Any]:
    from ksi_patterns.catalog import with_catalog
    from ksi_patterns.filters import parse_path
    from ksi_patterns.ranking import Requirement, parse_requirement
    from ksi_patterns.ranking import select as run_select

    task = _required(data, "task")
    wanted = data.get("requirements")
    requirements: list[Requirement] = []
    if isinstance(wanted, Mapping):
        for key, value in wanted.items():
            source = f"requirement {key!r}"
            requirements.append(Requirement(str(key), parse_path(str(key), source), value, source))
    elif wanted is not None:
        requirements = [parse_requirement(text) for text in _strings(data, "requirements")]
    top = data.get("top", 5)
    if isinstance(top, bool) or not isinstance(top, int) or not 1 <= top <= 50:
        raise UsageError(f"'top' must be a whole number from 1 to 50, not {top!r}")
    ref = _text(data, "ref", required=False) or "HEAD"
    notes: list[str] = []
    selection = with_catalog(
        registry, [ref], lambda catalog: run_select(catalog, task, requirements, top), notes.append
    )
    result: dict[str, Any] = json_safe(selection.to_json())
    result["notes"] = [*notes, *selection.notes]
    return result


Operation = Callable[["Registry", Mapping[str, Any], EventBus], dict[str, Any]]


@dataclass(frozen=True)
class CompositionEvent:
    event: str
    operation: Operation
    parameters: str  # what the event data may hold, for `ksi event handlers` and prompts
    announces: str | None = None

    @property
    def handler_name(self) -> str:
        return "ksi." + self.event.replace(":", ".")


COMPOSITION_EVENTS = (
    CompositionEvent(
        "composition:discover",
        _discover,
        "type, tags, capabilities, metadata_filter {field: value | [values] | {op: value}}, "
        "where [FIELD OP VALUE], ref, all_branches",
    ),
    CompositionEvent(
        "composition:select", _select, "task, requirements {key: value | true} or [KEY], top, ref"
    ),
    CompositionEvent(
        "composition:fork",
        _fork,
        "parent, name, reason, modifications {dotted.path: value}, author",
        "composition:forked",
    ),
    CompositionEvent(
        "composition:merge",
        _merge,
        "fork (or name), into, branch, resolve (ours|theirs), dry_run",
        "composition:merged",
    ),
    CompositionEvent(
        "composition:diff", _diff, "a (or name), b (default: a's lineage parent at the fork point)"
    ),
    CompositionEvent(
        "composition:track_decision",
        _track_decision,
        "pattern, decision, context {}, outcome, confidence, agent_id, branch",
        "composition:decision_tracked",
    ),
    CompositionEvent(
        "composition:learn",
        _learn,
        "pattern, insight, confidence, evidence, discovered_by, branch",
        "composition:learned",
    ),
    CompositionEvent(
        "composition:record_run",
        _record_run,
        "pattern, score, success, run_id, branch",
        "composition:run_recorded",
    ),
)


def register_composition_handlers(bus: EventBus, registry: Registry) -> list[str]:
    """Handle the composition events with registry operations; their handler names."""
    return _register(bus, lambda: registry)


def _register(bus: EventBus, registry: Callable[[], Registry]) -> list[str]:
    # One registry operation at a time per bus (a delayed event fires on another thread);
    # re-entrant, as a plugin may emit a composition event while handling an announcement.
    lock = threading.RLock()
    names = []
    for spec in COMPOSITION_EVENTS:

        def handle(event: Event, bus: EventBus, spec: CompositionEvent = spec) -> dict[str, Any]:
            with lock:
                return spec.operation(registry(), event.data, bus)

        bus.on(spec.event, handle, name=spec.handler_name)
        names.append(spec.handler_name)
    return names


# ---------------------------------------------------------------------------------------------
# Plugins


@dataclass(frozen=True)
class PluginReport:
    """What one entry point of the `ksi_patterns.handlers` group did when loaded."""

    name: str
    value: str  # module:attribute
    distribution: str | None  # "package 1.2.3"
    ok: bool
    error: str | None = None
    handlers: tuple[tuple[str, str], ...] = field(default=())  # (pattern, handler name)

    @property
    def origin(self) -> str:
        return f"plugin {self.name} ({self.distribution or self.value})"

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": self.value,
            "distribution": self.distribution,
            "ok": self.ok,
            "error": self.error,
            "handlers": [{"pattern": p, "handler": h} for p, h in self.handlers],
        }


def plugin_entry_points() -> list[metadata.EntryPoint]:
    """The installed entry points of the group, by name (discovery reads package metadata:
    only when a bus is being built, never at `ksi --help`)."""
    found = metadata.entry_points(group=GROUP)
    return sorted(found, key=lambda ep: (ep.name, ep.value))


def load_plugins(
    bus: EventBus, entry_points: Sequence[metadata.EntryPoint] | None = None
) -> list[PluginReport]:
    """Call every plugin's `register(bus)`; a plugin that fails to import or register is
    reported (and what it registered before failing is kept), never raised."""
    reports = []
    try:
        points = list(entry_points) if entry_points is not None else plugin_entry_points()
    except Exception as err:  # unreadable package metadata
        return [PluginReport("(entry points)", GROUP, None, False, f"{type(err).__name__}: {err}")]
    for point in points:
        before = len(bus.registrations())
        dist = getattr(point, "dist", None)
        distribution = f"{dist.name} {dist.version}" if dist is not None else None
        error = None
        try:
            register = point.load()
            if not callable(register):
                raise TypeError(f"{point.value} is not callable")
            register(bus)
        except Exception as err:
            error = f"{type(err).__name__}: {err}"
        added = tuple((r.pattern, r.name) for r in bus.registrations()[before:])
        reports.append(
            PluginReport(point.name, point.value, distribution, error is None, error, added)
        )
    return reports


# ---------------------------------------------------------------------------------------------
# Buses for the CLI


def build_bus(
    registry: Registry,
    *,
    source: str = "cli",
    metrics: Mapping[str, Any] | None = None,
    plugins: bool = True,
    warn: Warn | None = None,
) -> EventBus:
    """A bus logging to the registry's event log, with the composition handlers and (unless
    `plugins` is false) the plugins; plugins that fail are reported to `warn`."""
    bus = EventBus(log_path=event_log_path(registry), metrics=metrics, source=source)
    register_composition_handlers(bus, registry)
    if plugins:
        for report in load_plugins(bus):
            if not report.ok and warn is not None:
                warn(f"warning: handler {report.origin} failed to load: {report.error}")
    return bus


def announce(
    registry: Registry, event: str, data: Mapping[str, Any], *, warn: Warn | None = None
) -> Emission | None:
    """Emit `event` on a bus with the event log and the plugins, as a CLI command's last step:
    wait (at most ANNOUNCE_WAIT s) for what plugins delay; tell `warn` about handlers that
    failed. Never raises: the command it ends has already succeeded."""
    try:
        bus = build_bus(registry, warn=warn)
        failures: list[str] = []

        def watch(emission: Emission) -> None:
            failures.extend(
                f"warning: handler {result['handler']} failed on {emission.event.name}: "
                f"{result.get('error')}"
                for result in emission.failed
            )

        bus.observe(watch)
        try:
            emission = bus.emit(event, data)
            bus.wait(ANNOUNCE_WAIT)
        finally:
            bus.close()
        if warn is not None:
            for line in failures:
                warn(line)
        return emission
    except Exception as err:  # an announcement never fails the command it ends
        if warn is not None:
            warn(f"warning: could not announce {event}: {err}")
        return None


@dataclass(frozen=True)
class HandlerInfo:
    pattern: str
    name: str
    origin: str
    parameters: str | None = None
    announces: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "pattern": self.pattern,
            "handler": self.name,
            "origin": self.origin,
            "parameters": self.parameters,
            "announces": self.announces,
        }


def inventory() -> tuple[list[HandlerInfo], list[PluginReport]]:
    """Every handler a CLI bus has (built-in, then plugins), and how each plugin loaded. Opens no
    registry."""

    def no_registry() -> Registry:
        raise UsageError("this bus only lists handlers")

    bus = EventBus()
    try:
        _register(bus, no_registry)
        found = [
            HandlerInfo(spec.event, spec.handler_name, BUILT_IN, spec.parameters, spec.announces)
            for spec in COMPOSITION_EVENTS
        ]
        reports = load_plugins(bus)
    finally:
        bus.close()
    for report in reports:
        found += [HandlerInfo(pattern, name, report.origin) for pattern, name in report.handlers]
    return found, reports
