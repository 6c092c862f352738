"""How long a transfer may wait for the other side: `KSI_REMOTE_TIMEOUT` seconds (default 30).

A server that accepts the connection and never answers (or stops answering mid-transfer) would
otherwise hold push, pull, clone and sync forever. libgit2 applies the limit to connecting and to
every read and write of a socket, so a slow but moving transfer is not cut off.
"""

from __future__ import annotations

import math
import os

import pygit2

from ksi_patterns.errors import UsageError

DEFAULT_SECONDS = 30.0
ENV = "KSI_REMOTE_TIMEOUT"


def transfer_timeout() -> float:
    """The limit in seconds, from the environment (UsageError when it is not a positive number)."""
    raw = os.environ.get(ENV, "").strip()
    if not raw:
        return DEFAULT_SECONDS
    try:
        seconds = float(raw)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds <= 0:
        raise UsageError(f"{ENV}={raw!r}: expected a number of seconds above 0")
    return seconds


def apply_timeout() -> float:
    """Set libgit2's connect and socket timeouts to the limit; returns it."""
    seconds = transfer_timeout()
    milliseconds = max(1, round(seconds * 1000))
    pygit2.settings.server_connect_timeout = milliseconds
    pygit2.settings.server_timeout = milliseconds
    return seconds


def timed_out_hint(message: str, seconds: float) -> str:
    """`message`, with what to do when it says the other side stopped answering."""
    if "timed out" not in message.lower():
        return message
    return f"{message} (no answer for {seconds:g} s; {ENV} sets the limit)"
