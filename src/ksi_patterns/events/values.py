"""Values the bus hands out and logs: JSON-safe (handler results are the tool results an LLM
sees), with the values of secret-looking keys redacted, and key-shaped strings (API keys, tokens)
and URL passwords scrubbed out of every text."""

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
# Key-shaped strings anywhere in a text: what providers issue (Anthropic, OpenAI, GitHub, AWS,
# Google, Slack), bearer tokens, and the password of a URL. Shapes, not a list of known keys:
# a key typed into `--task` or a metric is caught wherever it sits.
_SECRET_IN_TEXT = re.compile(
    r"(?<![A-Za-z0-9_-])(?:"
    r"sk-ant-[A-Za-z0-9_-]{8,}"
    r"|sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}"
    r"|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}"
    r"|(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}"
    r"|AIza[0-9A-Za-z_-]{30,}|xox[abprs]-[A-Za-z0-9-]{10,}"
    r")"
    r"|(?<=[Bb]earer )[A-Za-z0-9._~+/=-]{8,}"
)
_URL_PASSWORD = re.compile(r"(://[^/\s:@'\"<>]*:)[^/\s@'\"<>]+(?=@)")
_AWS_KEY_ID = re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Z0-9])")
# An AWS secret access key: 40 base64 characters. Alone it looks like any hash; next to a key id
# (in the same text or mapping) it is taken for what it most likely is.
_AWS_SECRET = re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")
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


def scrub_text(text: str, *, aws_nearby: bool = False) -> str:
    """`text` with key-shaped strings (API keys, tokens, AWS key ids and the secrets beside them)
    and URL passwords replaced by "[redacted]"; `aws_nearby`: a key id sits next to this text."""
    if _AWS_KEY_ID.search(text) or aws_nearby:
        text = _AWS_SECRET.sub(REDACTED, text)
    return _URL_PASSWORD.sub(rf"\g<1>{REDACTED}", _SECRET_IN_TEXT.sub(REDACTED, text))


def redact(value: Any, depth: int = 0, *, aws_nearby: bool = False) -> Any:
    """`value` with the values of secret-looking keys replaced by "[redacted]", and key-shaped
    strings and URL passwords scrubbed out of every text (`scrub_text`), at any depth;
    JSON-safe."""
    if depth > MAX_DEPTH:
        return "[nested too deeply]"
    if isinstance(value, Mapping):
        nearby = any(isinstance(v, str) and _AWS_KEY_ID.search(v) for v in value.values())
        return {
            scrub_text(str(key)): REDACTED
            if isinstance(key, str) and is_secret_key(key) and child is not None
            else redact(child, depth + 1, aws_nearby=nearby)
            for key, child in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(child, depth + 1) for child in value]
    if isinstance(value, str):
        return REDACTED if _SECRET_VALUE.match(value) else scrub_text(value, aws_nearby=aws_nearby)
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
