"""Who commits: the author or committer signature of new commits, as git would choose it."""

from __future__ import annotations

import os

import pygit2


def git_signature(config: pygit2.Config, role: str) -> pygit2.Signature:
    """`role` ("AUTHOR" or "COMMITTER"): GIT_<role>_NAME/EMAIL, else user.name/email from
    `config`, else `ksi` <ksi@localhost>."""
    name = os.environ.get(f"GIT_{role}_NAME") or _config(config, "user.name") or "ksi"
    email = os.environ.get(f"GIT_{role}_EMAIL") or _config(config, "user.email")
    return pygit2.Signature(name, email or "ksi@localhost")


def _config(config: pygit2.Config, key: str) -> str | None:
    try:
        value = config[key]
    except (KeyError, ValueError):
        return None
    return str(value) if value else None
