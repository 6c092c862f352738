"""Values the bus hands out and logs: JSON-safe (handler results are the tool results an LLM
sees), with the values of secret-looking keys (and bearer tokens, API keys) redacted."""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ksi_patterns.documents.nesting import MAX_DEPTH  # nesting kept in the log and results

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
