"""Who commits: the author or committer of new commits, as git would choose it."""

from __future__ import annotations

import os
from dataclasses import dataclass

import pygit2

from ksi_patterns.git.config import config_value


@dataclass(frozen=True)
class Person:
    """An author or committer, as plain values."""

    name: str
    email: str


def git_signature(config: pygit2.Config, role: str) -> pygit2.Signature:
    """`role` ("AUTHOR" or "COMMITTER"): GIT_<role>_NAME/EMAIL, else user.name/email from
    `config`, else `ksi` <ksi@localhost>."""
    name = os.environ.get(f"GIT_{role}_NAME") or config_value(config, "user.name") or "ksi"
    email = os.environ.get(f"GIT_{role}_EMAIL") or config_value(config, "user.email")
    return pygit2.Signature(name, email or "ksi@localhost")
