"""The repository's git config, for the store: reading and setting one key."""

from __future__ import annotations

import pygit2


def config_value(config: pygit2.Config, key: str) -> str | None:
    """The value of `key` (e.g. `user.name`), or None when it is not set."""
    try:
        return str(config[key])
    except (KeyError, ValueError):
        return None
