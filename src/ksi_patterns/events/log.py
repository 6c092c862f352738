"""The event log: one JSONL line per emission, appended with a single write so that concurrent
writers never interleave; data redacted (values.py). Reading it: its tail, and following it."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from ksi_patterns.documents.nesting import check_json_depth
from ksi_patterns.errors import InputError
from ksi_patterns.events.types import Emission
from ksi_patterns.events.values import redact, utc_timestamp

MAX_LOG_LINE = 256 * 1024  # bytes; larger data is summarised in the log
POLL_SECONDS = 0.5  # how often `follow` looks for new lines


def log_record(emission: Emission, condition: str | None, delay: float | None) -> dict[str, Any]:
    """The log's record of `emission`: what was emitted, what became of it, data redacted."""
    event = emission.event
    record: dict[str, Any] = {
        "time": utc_timestamp(),
        "id": event.id,
        "event": event.name,
        "source": event.source,
        "outcome": emission.outcome,
        "reason": emission.reason,
        "data": redact(event.data),
        "handlers": [
            {key: value for key, value in result.items() if key != "result"}
            for result in emission.results
        ],
        "pid": os.getpid(),
    }
    if condition is not None:
        record["condition"] = condition
    if delay:
        record["delay"] = delay
        record["emitted_at"] = event.time
    return record


def log_line(record: Mapping[str, Any]) -> bytes:
    """One JSON line; data too large for a line is replaced by a note of its size."""
    line = json.dumps(record, ensure_ascii=False, separators=(",", ":"), default=str) + "\n"
    encoded = line.encode("utf-8", errors="replace")
    if len(encoded) <= MAX_LOG_LINE:
        return encoded
    slim = dict(record)
    slim["data"] = {"_truncated": True, "_bytes": len(encoded)}
    slim["reason"] = str(slim.get("reason") or "")[:1000] or None
    slim["handlers"] = [
        {k: str(v)[:1000] if k == "error" else v for k, v in h.items()}
        for h in record.get("handlers", [])
    ][:100]
    slim["condition"] = str(slim.get("condition", ""))[:2000] or None
    line = json.dumps(slim, ensure_ascii=False, separators=(",", ":"), default=str) + "\n"
    return line.encode("utf-8", errors="replace")


def write_line(path: Path, line: bytes) -> None:
    """Append `line` with one write on an O_APPEND descriptor: concurrent writers (threads or
    processes) never interleave within a line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags, 0o600)
    try:
        written = os.write(fd, line)
        while written < len(line):  # only on a full disk or a signal; finish the line
            written += os.write(fd, line[written:])
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------------------------
# Reading the log


def tail(
    path: Path, count: int, wanted: Callable[[dict[str, Any]], bool]
) -> tuple[list[dict[str, Any]], int, int]:
    """The last `count` wanted records of the log (oldest first), the log's size (where to
    follow from) and how many unreadable lines were skipped. Reads backwards in blocks, so a
    large log costs what its tail costs."""
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return [], 0, 0
    with handle:
        size = handle.seek(0, 2)
        found: list[dict[str, Any]] = []
        skipped = 0
        position = size
        rest = b""
        while position > 0 and len(found) < count:
            step = min(65536, position)
            position -= step
            handle.seek(position)
            chunk = handle.read(step) + rest
            pieces = chunk.split(b"\n")
            rest = pieces[0] if position > 0 else b""
            complete = pieces[1:] if position > 0 else pieces
            for raw in reversed(complete):
                record = _parse(raw)
                if record is None:
                    skipped += bool(raw.strip())
                    continue
                if wanted(record):
                    found.append(record)
                    if len(found) >= count:
                        break
    return list(reversed(found)), size, skipped


def _parse(raw: bytes) -> dict[str, Any] | None:
    if not raw.strip():
        return None
    try:
        text = raw.decode("utf-8")
        check_json_depth(text, "event log")  # a line nested too deep is skipped like a torn one
        value = json.loads(text)
    except (ValueError, InputError):
        return None
    return value if isinstance(value, dict) else None


def follow(
    path: Path, offset: int, stop_after: float | None = None, poll: float = POLL_SECONDS
) -> Iterator[dict[str, Any]]:
    """Records appended to the log from `offset` on, polling; starts over when the log shrank
    (it was removed or replaced)."""
    deadline = time.monotonic() + stop_after if stop_after is not None else None
    partial = b""
    while deadline is None or time.monotonic() < deadline:
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            size = 0
        if size < offset:
            offset, partial = 0, b""
        if size > offset:
            with path.open("rb") as handle:
                handle.seek(offset)
                chunk = handle.read(size - offset)
            offset += len(chunk)
            *complete, partial = (partial + chunk).split(b"\n")
            for raw in complete:
                record = _parse(raw)
                if record is not None:
                    yield record
            continue
        time.sleep(poll)
