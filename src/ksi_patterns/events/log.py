"""The event log: one JSONL line per emission, appended with a single write so that concurrent
writers never interleave; data redacted (values.py)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ksi_patterns.events.types import Emission
from ksi_patterns.events.values import redact, utc_timestamp

MAX_LOG_LINE = 256 * 1024  # bytes; larger data is summarised in the log


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
