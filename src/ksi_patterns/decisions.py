"""Decision logs: `ksi pattern track-decision` and `ksi pattern decisions`.

A pattern's decision log, `orchestrations/<name>_decisions.yaml`, is an append-only YAML list,
one entry per decision an orchestrator took (DESIGN.md 3 and 5). An entry is appended AS TEXT:
the old content is never parsed, only scanned up to its first list item to learn the item
indentation (`- ` or `  - `), so every earlier entry stays byte-identical and the cost of an
append does not grow with the log beyond hashing the new blob. The entry itself is emitted by
ruamel (a one-item list), so quoting is YAML's own, never hand-rolled.

Each entry carries a ULID `id` (they sort by time and are the identity merges use), a UTC
`timestamp`, and `pattern`, `agent_id`, `decision`, `context`, `outcome`, `confidence`. Entries
written by older tools may lack `id`; readers show them anyway.
"""

from __future__ import annotations

import io
import json
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from fnmatch import fnmatchcase
from functools import cache
from typing import TYPE_CHECKING, Any

from ksi_patterns.documents import MAX_FILE_BYTES, load_plain, load_roundtrip
from ksi_patterns.errors import InputError, NotFoundError, Position, UsageError
from ksi_patterns.model import PATTERNS_DIR, check_name, decisions_path
from ksi_patterns.registry import Registry

if TYPE_CHECKING:
    import pygit2
    from ruamel.yaml import YAML

__all__ = [
    "Stats",
    "Tracked",
    "Updated",
    "append_entry",
    "decision_stats",
    "entry_text",
    "filter_decisions",
    "item_indent",
    "new_entry",
    "parse_confidence",
    "parse_context",
    "parse_context_json",
    "parse_since",
    "read_decisions",
    "track_decision",
    "update_outcome",
]

DEFAULT_INDENT = 2  # a new log is written like the starter registry's: "  - id: ..."
MAX_DECISION_CHARS = 1_000
_SCHEMA_LINE = "# yaml-language-server: $schema={schema}\n"


# ---------------------------------------------------------------------------------------------
# Parsing what the command line gives


def parse_confidence(value: str | float, option: str = "--confidence") -> float:
    """A confidence from 0 to 1 (a number or its text); UsageError otherwise."""
    if isinstance(value, bool):
        raise UsageError(f"{option} {value!r}: expected a number from 0 to 1")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise UsageError(f"{option} {value!r}: expected a number from 0 to 1") from None
    if not math.isfinite(number) or not 0 <= number <= 1:
        raise UsageError(f"{option} {value!r}: expected a number from 0 to 1")
    return number


def _scalar(text: str) -> Any:
    """A `k=v` value: a YAML scalar (so `45` stays a number, `true` a boolean), else the text."""
    if not text.strip():
        return text
    try:
        value = load_plain(text, "--context")
    except InputError:
        return text
    if isinstance(value, dict | list):
        return text  # `[a, b]` or `a: b` stays the text it was: values are scalars
    if value is None and text.strip() not in ("null", "~", "Null", "NULL"):
        return text
    return value


def parse_context(pairs: Sequence[str]) -> dict[str, Any]:
    """`--context k=v ...` as a map; values are YAML scalars. UsageError on `k` without `=`."""
    context: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UsageError(f"--context {pair!r}: expected KEY=VALUE, e.g. avg_response=45")
        if key in context:
            raise UsageError(f"--context {key!r} is given twice")
        context[key] = _scalar(raw)
    return context


def parse_context_json(text: str) -> dict[str, Any]:
    """`--context-json '{...}'`: a JSON object; UsageError otherwise."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise UsageError(
            f"--context-json: not JSON ({err.msg} at line {err.lineno} column {err.colno})"
        ) from None
    if not isinstance(value, dict):
        raise UsageError(f"--context-json: expected a JSON object, got {type(value).__name__}")
    return value


def parse_since(text: str) -> datetime:
    """`--since`: an ISO date (midnight UTC) or date-time (UTC when no offset is given)."""
    parsed = _timestamp(text)
    if parsed is None:
        raise UsageError(
            f"--since {text!r}: expected an ISO date or date-time, e.g. 2025-07-10 or "
            "2025-07-10T16:00:00Z"
        )
    return parsed


def _timestamp(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
    elif isinstance(value, str) and value.strip():
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    else:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _check_plain(value: Any, where: str) -> None:
    """Context values must be what YAML and JSON both hold."""
    if value is None or isinstance(value, str | bool | int):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise UsageError(f"{where}: {value} is not a finite number")
        return
    if isinstance(value, Mapping):
        for key, child in value.items():
            if not isinstance(key, str):
                raise UsageError(f"{where}: keys must be strings, not {key!r}")
            _check_plain(child, f"{where}.{key}")
        return
    if isinstance(value, list | tuple):
        for index, child in enumerate(value):
            _check_plain(child, f"{where}[{index}]")
        return
    raise UsageError(f"{where}: {type(value).__name__} is not a YAML value")


def _check_text(value: Any, what: str, *, limit: int = MAX_DECISION_CHARS) -> str:
    if not isinstance(value, str) or not value.strip():
        raise UsageError(f"{what} must be a non-empty text")
    if len(value) > limit:
        raise UsageError(f"{what} is {len(value):,} characters long; at most {limit:,}")
    if "\x00" in value:
        raise UsageError(f"{what} holds a NUL character")
    return value


# ---------------------------------------------------------------------------------------------
# One entry, as data and as text


def new_entry(
    name: str,
    decision: str,
    *,
    agent_id: str,
    context: Mapping[str, Any] | None = None,
    outcome: str | None = None,
    confidence: float | str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """A new log entry with a fresh ULID whose time is the entry's timestamp (UTC, ms)."""
    from ulid import ULID

    check_name(name)
    _check_text(decision, "the decision")
    _check_text(agent_id, "the agent id", limit=200)
    if outcome is not None:
        _check_text(outcome, "the outcome")
    context = dict(context or {})
    _check_plain(context, "context")
    when = (now or datetime.now(UTC)).astimezone(UTC)
    when = when.replace(microsecond=when.microsecond // 1000 * 1000)
    entry: dict[str, Any] = {
        "id": str(ULID.from_datetime(when)),
        "timestamp": when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z",
        "pattern": name,
        "agent_id": agent_id,
        "decision": decision,
        "context": context,
        "outcome": outcome,
    }
    if confidence is not None:
        entry["confidence"] = parse_confidence(confidence)
    return entry


@cache
def _entry_yaml(offset: int) -> YAML:
    from ruamel.yaml import YAML

    yaml = YAML()
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=offset + 2, offset=offset)
    # An unknown outcome is written `null`, as older tools did, rather than left empty.
    yaml.representer.add_representer(
        type(None), lambda rep, _data: rep.represent_scalar("tag:yaml.org,2002:null", "null")
    )
    return yaml


@cache
def _yaml11_resolver() -> Any:
    from ruamel.yaml.resolver import VersionedResolver

    return VersionedResolver(version=(1, 1))


def _quoted_for_old_readers(value: Any) -> Any:
    """Strings that a YAML 1.1 reader (PyYAML, older ksi tools) would take for something else
    (`yes`, `on`, `0.5`, `12:30`) are single-quoted; ruamel quotes what YAML 1.2 needs."""
    if isinstance(value, str):
        from ruamel.yaml.nodes import ScalarNode
        from ruamel.yaml.scalarstring import SingleQuotedScalarString

        tag = _yaml11_resolver().resolve(ScalarNode, value, (True, False))
        if str(tag) != "tag:yaml.org,2002:str" and "\n" not in value:
            return SingleQuotedScalarString(value)
        return value
    if isinstance(value, Mapping):
        return {key: _quoted_for_old_readers(child) for key, child in value.items()}
    if isinstance(value, list | tuple):
        return [_quoted_for_old_readers(child) for child in value]
    return value


def entry_text(entry: Mapping[str, Any], indent: int = 0) -> str:
    """`entry` as the text of one block-list item whose dash sits at column `indent`."""
    offset = 2 if indent >= 2 else 0
    out = io.StringIO()
    _entry_yaml(offset).dump([_quoted_for_old_readers(dict(entry))], out)
    text = out.getvalue()
    if indent == offset:
        return text
    pad = " " * (indent - offset)
    return "".join(pad + line if line.strip() else line for line in text.splitlines(True))


# ---------------------------------------------------------------------------------------------
# Appending as text


@dataclass(frozen=True)
class _Shape:
    """What the start of a log says about it."""

    indent: int | None  # column of the first item's dash; None when the log has no item yet
    empty_flow: tuple[int, int] | None  # byte range of an `[]` line to drop, if the log is `[]`


def _lines(data: bytes) -> Iterable[tuple[int, int, int]]:
    """(line number from 1, start, end without the newline) of each line of `data`, lazily."""
    start, number = 0, 1
    while start < len(data):
        end = data.find(b"\n", start)
        end = len(data) if end < 0 else end
        yield number, start, end
        start, number = end + 1, number + 1


def _shape(data: bytes, source: str) -> _Shape:
    """Scan the log from the top up to its first content line (comments and `---` skipped)."""
    skip_bom = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    for number, start, end in _lines(data):
        line = data[start + skip_bom if number == 1 else start : end].rstrip(b"\r")
        body = line.lstrip(b" ")
        if not body.strip() or body.startswith((b"#", b"%")) or body.rstrip() == b"---":
            continue
        column = len(line) - len(body) + 1
        if body == b"-" or body.startswith((b"- ", b"-\t")):
            return _Shape(len(line) - len(body), None)
        if body.split(b"#", 1)[0].strip() == b"[]":
            return _Shape(None, (start, min(end + 1, len(data))))
        raise InputError(
            "cannot append a decision: this file is not a decision log written as a block list "
            "(`- decision: ...`)",
            Position(source, number, column),
        )
    return _Shape(None, None)


def item_indent(data: bytes, source: str = "decision log") -> int | None:
    """The column of the first list item's dash, from the first item line only (no parse)."""
    return _shape(data, source).indent


def _ends_document(data: bytes) -> int | None:
    """The line number of a final `...` (end of document) line, which nothing may follow."""
    tail = data[-512:].rstrip()  # the end only: the cost must not grow with the log
    last = tail[tail.rfind(b"\n") + 1 :]
    if last.strip() == b"..." or last.startswith(b"... "):
        return data.rstrip().count(b"\n") + 1
    return None


def append_entry(old: bytes | None, entry: Mapping[str, Any], source: str) -> bytes:
    """The log `old` (None: no file yet) with `entry` appended as text, in the log's style.

    Only the first item line is looked at (for the indentation) and the end of the file (a
    missing final newline, an end-of-document marker): the old bytes are kept as they are.
    """
    if old is None or not old or old.isspace():  # (isspace stops at the first non-space)
        from ksi_patterns.schema import DocumentKind, schema_id

        head = old or _SCHEMA_LINE.format(schema=schema_id(DocumentKind.DECISION_LOG)).encode()
        if head and not head.endswith(b"\n"):
            head += b"\n"
        return head + entry_text(entry, DEFAULT_INDENT).encode()
    shape = _shape(old, source)
    if (line := _ends_document(old)) is not None:
        raise InputError(
            "cannot append a decision after the end-of-document marker `...`",
            Position(source, line, 1),
        )
    if shape.empty_flow is not None:
        start, end = shape.empty_flow
        old = old[:start] + old[end:]
        shape = _Shape(DEFAULT_INDENT, None)
    indent = DEFAULT_INDENT if shape.indent is None else shape.indent
    text = entry_text(entry, indent).encode()
    if old.endswith(b"\n") or not old:
        new = old + text
    else:
        new = old + b"\n" + text
        new = _checked_unterminated(old, new, entry, source)
    if len(new) > MAX_FILE_BYTES:
        raise InputError(
            f"the decision log would grow past the {MAX_FILE_BYTES:,}-byte limit that readers "
            "accept; move older entries to an archive file first",
            Position(source),
        )
    return new


def _checked_unterminated(old: bytes, new: bytes, entry: Mapping[str, Any], source: str) -> bytes:
    """A log that did not end with a newline (hand-edited): a line break was added before the
    entry. If its last value was a block scalar (`|`), that break would change it, so then the
    entry is appended through a round-trip edit instead, which keeps the value. Runs once: the
    new log ends with a newline."""
    before = load_plain(old, source)
    after = load_plain(new, source)
    if isinstance(after, list) and (after[:-1] == before or (before is None and len(after) == 1)):
        return new
    from ruamel.yaml.comments import CommentedMap

    document = load_roundtrip(old, source)
    if not isinstance(document.tree, list):
        raise InputError("a decision log must be a YAML list", Position(source))
    document.tree.append(CommentedMap(_quoted_for_old_readers(dict(entry))))
    return document.dump().encode()


# ---------------------------------------------------------------------------------------------
# track-decision


@dataclass(frozen=True)
class Tracked:
    """One decision appended to a log."""

    name: str
    path: str
    entry: dict[str, Any]
    commit_id: str
    created: bool  # the log did not exist before
    skipped_worktree_paths: tuple[str, ...] = ()


def _require_pattern(registry: Registry, name: str, ref: str) -> str:
    """The path of pattern `name` at `ref`; NotFoundError when there is no such pattern."""
    check_name(name)
    try:
        path = registry.find(name, ref, folder=PATTERNS_DIR)
    except NotFoundError:
        raise NotFoundError(f"no pattern named {name!r} at {ref}") from None
    data = load_plain(registry.read(path, ref), path)
    if not isinstance(data, dict):
        raise NotFoundError(f"{path} is not a pattern (a pattern is a mapping)")
    return path


def _read_at(registry: Registry, path: str, tip: pygit2.Commit | None) -> bytes | None:
    if tip is None:
        return None
    try:
        return registry.store.read(path, tip)
    except NotFoundError:
        return None


def default_agent(registry: Registry, ref: str = "HEAD") -> str:
    """Who decided, when not said: the registry's `defaults.author`, else the git author."""
    defaults = registry.config(ref).get("defaults")
    author = defaults.get("author") if isinstance(defaults, dict) else None
    return str(author) if author else registry.store.signature().name


def _subject(text: str, limit: int = 72) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def track_decision(
    registry: Registry,
    name: str,
    decision: str,
    *,
    context: Mapping[str, Any] | None = None,
    outcome: str | None = None,
    confidence: float | str | None = None,
    agent_id: str | None = None,
    branch: str | None = None,
    now: datetime | None = None,
) -> Tracked:
    """Append a decision to NAME's log as a commit `decision(NAME): DECISION` on `branch`
    (default: the checked-out one), with compare-and-swap: on a lost race the entry is
    appended again to the fresh tip's log."""
    ref = branch or "HEAD"
    _require_pattern(registry, name, ref)
    path = decisions_path(name)
    entry = new_entry(
        name,
        decision,
        agent_id=agent_id if agent_id is not None else default_agent(registry, ref),
        context=context,
        outcome=outcome,
        confidence=confidence,
        now=now,
    )
    created = False

    def changes(tip: pygit2.Commit | None) -> dict[str, bytes | None]:
        nonlocal created
        old = _read_at(registry, path, tip)
        created = old is None
        return {path: append_entry(old, entry, path)}

    result = registry.store.commit(changes, f"decision({name}): {_subject(decision)}", branch)
    return Tracked(name, path, entry, result.commit_id, created, result.skipped_worktree_paths)


@dataclass(frozen=True)
class Updated:
    """An entry whose outcome was filled in."""

    name: str
    path: str
    entry: dict[str, Any]
    old_outcome: Any
    commit_id: str
    skipped_worktree_paths: tuple[str, ...] = ()


def update_outcome(
    registry: Registry,
    name: str,
    entry_id: str,
    outcome: str,
    *,
    branch: str | None = None,
) -> Updated:
    """Set the `outcome` of entry `entry_id` (round-trip edit: only that entry is rewritten)."""
    from ruamel.yaml.scalarstring import ScalarString

    from ksi_patterns.documents import to_plain

    ref = branch or "HEAD"
    _require_pattern(registry, name, ref)
    _check_text(outcome, "the outcome")
    path = decisions_path(name)
    found: dict[str, Any] = {}

    def changes(tip: pygit2.Commit | None) -> dict[str, bytes | None]:
        old = _read_at(registry, path, tip)
        if old is None:
            raise NotFoundError(f"{name} has no decision log ({path})")
        document = load_roundtrip(old, path)
        if not isinstance(document.tree, list):
            raise InputError("a decision log must be a YAML list", Position(path, 1, 1))
        for item in document.tree:
            if isinstance(item, dict) and str(item.get("id", "")) == entry_id:
                found["old"] = to_plain(item.get("outcome"))
                current = item.get("outcome")
                if isinstance(current, ScalarString):  # keep the quoting the log chose
                    item["outcome"] = type(current)(outcome)
                else:
                    item["outcome"] = _quoted_for_old_readers(outcome)
                found["entry"] = to_plain(item)
                return {path: document.dump().encode()}
        raise NotFoundError(f"no decision with id {entry_id!r} in {path}")

    message = f"decision({name}): outcome of {entry_id}: {_subject(outcome, 40)}"
    result = registry.store.commit(changes, message, branch)
    return Updated(
        name,
        path,
        found["entry"],
        found["old"],
        result.commit_id,
        result.skipped_worktree_paths,
    )


# ---------------------------------------------------------------------------------------------
# Reading: `ksi pattern decisions`


def read_decisions(registry: Registry, name: str, ref: str = "HEAD") -> list[dict[str, Any]]:
    """The entries of NAME's log at `ref` (plain data, in log order); [] when it has none.

    Items that are not mappings are skipped; InputError when the log is not a list."""
    path = decisions_path(name)
    store = registry.store
    if not store.exists(path, ref):
        _require_pattern(registry, name, ref)
        return []
    data = load_plain(store.read(path, ref), path)
    if data is None:
        return []
    if not isinstance(data, list):
        raise InputError("a decision log must be a YAML list", Position(path, 1, 1))
    return [item for item in data if isinstance(item, dict)]


def filter_decisions(
    entries: Iterable[Mapping[str, Any]],
    *,
    since: datetime | None = None,
    agent: str | None = None,
    decision: str | None = None,
    outcome: str | None = None,
) -> list[dict[str, Any]]:
    """Entries at or after `since` whose agent, decision and outcome match (globs allowed).

    With `since`, an entry without a readable timestamp is left out."""
    chosen = []
    for entry in entries:
        if since is not None:
            when = _timestamp(entry.get("timestamp"))
            if when is None or when < since:
                continue
        if not _matches(entry.get("agent_id"), agent):
            continue
        if not _matches(entry.get("decision"), decision):
            continue
        if not _matches(entry.get("outcome"), outcome):
            continue
        chosen.append(dict(entry))
    return chosen


def _matches(value: Any, wanted: str | None) -> bool:
    if wanted is None:
        return True
    if value is None:
        return wanted in ("null", "none", "")
    return fnmatchcase(str(value), wanted)


def confidence_of(entry: Mapping[str, Any]) -> float | None:
    """An entry's confidence as a number; older tools wrote some as quoted text ('0.85')."""
    value = entry.get("confidence")
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


@dataclass(frozen=True)
class Stats:
    count: int
    decisions: dict[str, int]  # decision -> count, most frequent first
    outcomes: dict[str, int]  # outcome -> count ("(none)" for an outcome not known yet)
    mean_confidence: float | None
    with_confidence: int  # entries whose confidence could be read as a number

    def to_json(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "decisions": self.decisions,
            "outcomes": self.outcomes,
            "mean_confidence": self.mean_confidence,
            "with_confidence": self.with_confidence,
        }


NO_OUTCOME = "(none)"


def decision_stats(entries: Sequence[Mapping[str, Any]]) -> Stats:
    """Counts per decision and per outcome, and the mean confidence."""
    decisions = Counter(str(entry.get("decision")) for entry in entries)
    outcomes = Counter(
        NO_OUTCOME if entry.get("outcome") is None else str(entry.get("outcome"))
        for entry in entries
    )
    confidences = [c for entry in entries if (c := confidence_of(entry)) is not None]
    mean = math.fsum(confidences) / len(confidences) if confidences else None
    return Stats(
        count=len(entries),
        decisions=dict(decisions.most_common()),
        outcomes=dict(outcomes.most_common()),
        mean_confidence=mean,
        with_confidence=len(confidences),
    )
