"""Session transcripts: one JSONL file per session under `<git-dir>/ksi/sessions/`.

Each line is one record with a `type` and a UTC `time`: `session_start` (pattern, backend,
model, profile, task, limits), `turn` (one model response or simulated block: agent, content,
usage, stop reason), `tool_call`, `event` (the emission and what the handlers returned),
`decision`, `agent_start`/`agent_end` (sub-agents), `skipped` (DSL lines simulate did not carry
out), `error`, and `session_end` (status, stop reason, summary). Records are flushed as they are
written, so a session that dies leaves what it did. Secrets given to the writer never reach the
file: every string is scrubbed of them before it is written, and of anything shaped like an API
key or token, and of URL passwords (events.values.scrub_text).
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from ksi_patterns.errors import InputError, NotFoundError, Position, UsageError
from ksi_patterns.events.values import scrub_text

SESSIONS_DIR = "sessions"
REDACTED = "[redacted]"


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_session_id() -> str:
    """Sortable by start time (to the millisecond) and unique: 20251125T101500.123Z-3f9a1c."""
    moment = datetime.now(UTC)
    return f"{moment:%Y%m%dT%H%M%S}.{moment.microsecond // 1000:03d}Z-{secrets.token_hex(3)}"


def sessions_dir(state_dir: Path) -> Path:
    return state_dir / SESSIONS_DIR


def _scrub(value: Any, hidden: tuple[str, ...]) -> Any:
    if isinstance(value, str):
        for secret in hidden:
            value = value.replace(secret, REDACTED)
        return value
    if isinstance(value, dict):
        return {_scrub(str(k), hidden): _scrub(v, hidden) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v, hidden) for v in value]
    return value


class TranscriptWriter:
    """Appends records to one session's file; scrubs `secrets` out of everything it writes."""

    def __init__(self, path: Path, *, secrets: Iterable[str] = ()) -> None:
        self.path = path
        self._hidden = tuple(sorted({s for s in secrets if s and len(s) >= 4}, key=len)[::-1])
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._file: IO[str] = os.fdopen(descriptor, "a", encoding="utf-8")

    def write(self, type_: str, **fields: Any) -> dict[str, Any]:
        record = {"type": type_, "time": now(), **fields}
        line = json.dumps(_scrub(record, self._hidden), ensure_ascii=False, default=str)
        if self._hidden:  # anything `default=str` turned into text is scrubbed too
            line = _scrub(line, self._hidden)
        line = scrub_text(line)  # keys typed into a task or a metric, URL passwords
        self._file.write(line + "\n")
        self._file.flush()
        return record

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()


# ---------------------------------------------------------------------------------------------
# Reading


def read_records(path: Path) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                if not line.endswith("\n"):  # a session killed in the middle of a write
                    break
                raise InputError("not a JSON record", Position(str(path), number)) from None
            if isinstance(record, dict):
                records.append(record)
    return records


@dataclass(frozen=True)
class SessionInfo:
    id: str
    path: Path
    pattern: str | None
    backend: str | None
    model: str | None
    started: str | None
    ended: str | None
    turns: int
    events: int
    status: str
    stop_reason: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "pattern": self.pattern,
            "backend": self.backend,
            "model": self.model,
            "started": self.started,
            "ended": self.ended,
            "turns": self.turns,
            "events": self.events,
            "status": self.status,
            "stop_reason": self.stop_reason,
            "transcript": str(self.path),
        }


def _alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def summarize(path: Path, records: list[dict[str, Any]] | None = None) -> SessionInfo:
    records = read_records(path) if records is None else records
    start = next((r for r in records if r.get("type") == "session_start"), {})
    end = next((r for r in reversed(records) if r.get("type") == "session_end"), None)
    turns = sum(1 for r in records if r.get("type") == "turn" and not r.get("depth"))
    events = sum(1 for r in records if r.get("type") == "event")
    if end is not None:
        status = str(end.get("status", "ended"))
    else:
        status = "running" if _alive(start.get("pid")) else "interrupted"
    return SessionInfo(
        id=path.stem,
        path=path,
        pattern=start.get("pattern"),
        backend=start.get("backend"),
        model=start.get("model"),
        started=start.get("time"),
        ended=None if end is None else end.get("time"),
        turns=turns,
        events=events,
        status=status,
        stop_reason=None if end is None else end.get("stop_reason"),
    )


def list_sessions(state_dir: Path) -> list[SessionInfo]:
    folder = sessions_dir(state_dir)
    if not folder.is_dir():
        return []
    return [summarize(path) for path in sorted(folder.glob("*.jsonl"))]


def find_session(state_dir: Path, wanted: str) -> Path:
    """The transcript of session `wanted`: its id, a unique prefix of it, or `last`."""
    folder = sessions_dir(state_dir)
    paths = sorted(folder.glob("*.jsonl")) if folder.is_dir() else []
    if wanted == "last":
        if not paths:
            raise NotFoundError(
                "no orchestrator sessions yet; start one with `ksi orchestrate run`"
            )
        return paths[-1]
    if not wanted or "/" in wanted or "\\" in wanted or "\x00" in wanted:
        raise UsageError(f"{wanted!r} is not a session id")
    matches = [path for path in paths if path.stem.startswith(wanted)]
    exact = [path for path in matches if path.stem == wanted]
    if exact:
        return exact[0]
    if not matches:
        raise NotFoundError(f"no session {wanted!r}; `ksi orchestrate sessions` lists them")
    if len(matches) > 1:
        shown = ", ".join(path.stem for path in matches[:5])
        raise UsageError(f"{wanted!r} matches {len(matches)} sessions ({shown}); give more of it")
    return matches[0]


def iter_lines(records: list[dict[str, Any]]) -> Iterator[str]:
    """A transcript replayed as readable lines."""
    for record in records:
        yield from _describe(record)


def _short(value: Any, limit: int = 200) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _describe(record: dict[str, Any]) -> Iterator[str]:
    get = record.get
    kind = get("type")
    depth = int(get("depth") or 0)
    prefix = f"{str(get('time', ''))[11:23]} {'  ' * depth}"
    who = f"[{get('agent')}] " if get("agent") else ""
    if kind == "session_start":
        yield from _describe_start(record, prefix)
    elif kind == "turn":
        yield from _describe_turn(record, prefix, who)
    elif kind == "event":
        yield from _describe_event(record, prefix, who)
    else:
        yield prefix + _describe_other(record, who)


def _describe_start(record: dict[str, Any], prefix: str) -> Iterator[str]:
    get = record.get
    model = f" ({get('model')})" if get("model") else ""
    yield (
        f"{prefix}session {get('session')}: {get('pattern')} on {get('backend')}{model}, "
        f"profile {get('profile')}"
    )
    yield f"{prefix}task: {_short(get('task'), 500)}"
    if get("metrics"):
        yield f"{prefix}metrics: {_short(get('metrics'))}"


def _describe_turn(record: dict[str, Any], prefix: str, who: str) -> Iterator[str]:
    get = record.get
    usage = get("usage") or {}
    label = f" ({get('label')})" if get("label") else ""
    stop = f": stop {get('stop_reason')}" if get("stop_reason") else ""
    tokens = (
        f", {usage.get('input_tokens', 0)}+{usage.get('output_tokens', 0)} tokens" if usage else ""
    )
    yield f"{prefix}{who}turn {get('turn')}{label}{stop}{tokens}"
    for block in get("content") or []:
        if block.get("type") == "text" and str(block.get("text", "")).strip():
            yield f"{prefix}  says: {_short(block['text'], 500)}"


def _describe_event(record: dict[str, Any], prefix: str, who: str) -> Iterator[str]:
    get = record.get
    state = "emitted" if get("emitted") else f"not emitted ({get('reason')})"
    if get("emitted") and get("outcome") == "no handler":
        state = "emitted (no handler)"
    if get("scheduled"):
        state = "scheduled"
    if get("is_error"):
        state += ", error"
    where = f" (line {get('line')})" if get("line") else ""
    data = _short(get("data"), 120)
    yield f"{prefix}{who}event {get('event')} {data}: {state}{where}"
    for result in get("results") or []:
        yield f"{prefix}  -> {_short(result)}"


def _describe_other(record: dict[str, Any], who: str) -> str:
    """The one line of any other record, after its time and indentation."""
    get = record.get
    kind = get("type")
    if kind == "tool_call":
        return f"{who}tool {get('name')}: {_short(get('input'))}"
    if kind == "tool_error":
        return f"{who}tool call refused: {get('message')}"
    if kind == "decision":
        confidence = f" (confidence {get('confidence')})" if get("confidence") is not None else ""
        commit = f", commit {str(get('commit'))[:10]}" if get("commit") else ""
        return f"{who}decision {get('decision')} on {get('pattern')}{confidence}{commit}"
    if kind == "agent_start":
        return f"spawned {get('agent')} (profile {get('profile')}): {_short(get('task'))}"
    if kind == "agent_end":
        return f"{who}finished: {get('stop_reason')}: {_short(get('text'), 300)}"
    if kind == "skipped":
        return f"line {get('line')}: skipped: {_short(get('text'), 100)} ({get('reason')})"
    if kind == "condition":
        value = str(get("value")).lower()
        return f"line {get('line')}: {get('condition')} -> {value} ({_short(get('metrics'), 120)})"
    if kind == "awaited":
        return f"line {get('line')}: AWAIT {get('target')}: {get('note')}"
    if kind == "error":
        return f"error: {get('message')}"
    if kind == "warning":
        return f"warning: {get('message')}"
    if kind == "session_end":
        message = f", {get('message')}" if get("message") else ""
        return f"session {get('status')}: stop {get('stop_reason')}{message}"
    rest = {k: v for k, v in record.items() if k not in ("type", "time")}
    return f"{kind}: {_short(rest)}"
