"""The event log and the JSON the bus hands out: one JSONL line per emission, appended with a
single write so that concurrent writers never interleave; values of secret-looking keys (and
bearer tokens, API keys) redacted at any depth; any value made JSON-safe (handler results are
the tool results an LLM sees)."""

from __future__ import annotations

import itertools
import json
import math
import os
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ksi_patterns.events.types import Emission

MAX_LOG_LINE = 256 * 1024  # bytes; larger data is summarised in the log
MAX_DEPTH = 64  # nesting of data kept in the log and in results
REDACTED = "[redacted]"

_SECRET_WORDS = frozenset(
    {
        "token", "password", "passwd", "passphrase", "secret", "authorization", "apikey",
        "credential", "credentials", "cookie", "pwd",
    }
)  # fmt: skip
_SECRET_PAIRS = frozenset({("api", "key"), ("private", "key"), ("access", "key")})
_SECRET_VALUE = re.compile(r"^(Bearer\s+\S+|sk-ant-[A-Za-z0-9_-]{8,}.*)$", re.IGNORECASE)
_WORD_SPLIT = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])")


def utc_timestamp(when: datetime | None = None) -> str:
    moment = when or datetime.now(UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


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


def is_secret_key(key: str) -> bool:
    """api_key, apiKey, X-Api-Key, access_token, password, client_secret, Authorization: yes;
    max_tokens, tokens_used: no (the word must be whole)."""
    words = [word.lower() for word in _WORD_SPLIT.split(key) if word]
    if any(word in _SECRET_WORDS for word in words):
        return True
    return any(pair in _SECRET_PAIRS for pair in itertools.pairwise(words))


def redact(value: Any, depth: int = 0) -> Any:
    """`value` with the values of secret-looking keys (and bearer tokens, API keys) replaced by
    "[redacted]", at any depth; JSON-safe."""
    if depth > MAX_DEPTH:
        return "[nested too deeply]"
    if isinstance(value, Mapping):
        return {
            str(key): REDACTED
            if isinstance(key, str) and is_secret_key(key) and child is not None
            else redact(child, depth + 1)
            for key, child in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(child, depth + 1) for child in value]
    if isinstance(value, str) and _SECRET_VALUE.match(value):
        return REDACTED
    return json_safe(value, depth)


def json_safe(value: Any, depth: int = 0) -> Any:
    """`value` as JSON data: objects with `to_json()` give that, other objects their text."""
    if depth > MAX_DEPTH:
        return "[nested too deeply]"
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Mapping):
        return {str(key): json_safe(child, depth + 1) for key, child in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=repr) if isinstance(value, set | frozenset) else value
        return [json_safe(child, depth + 1) for child in items]
    to_json = getattr(value, "to_json", None)
    if callable(to_json):
        return json_safe(to_json(), depth + 1)
    if isinstance(value, datetime):
        return utc_timestamp(value) if value.tzinfo else value.isoformat()
    return str(value)


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
