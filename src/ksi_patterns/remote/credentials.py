"""Credentials for remotes: which secret to offer when a remote asks for one.

`CredentialPicker` is the answer to libgit2's credentials callback. SSH: the agent, then
`KSI_SSH_KEY`, `~/.ssh/id_ed25519`, `~/.ssh/id_rsa`. HTTPS: a token from `KSI_GIT_TOKEN`,
`GIT_TOKEN` or `GITHUB_TOKEN`, then git's credential helper (`git credential fill`). libgit2 asks
again after every refusal, so the picker offers each candidate once and gives up after MAX_TRIES
refusals with an error naming what it tried.

The rest of a remote's trust lives next door, and is re-exported here for existing callers:
URL redaction and shape in `remote_urls`, SSH host keys against known_hosts in `known_hosts`,
and reading the host key libgit2 offers in `host_key_hook`.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pygit2
from pygit2.enums import CredentialType

from ksi_patterns.errors import KsiError
from ksi_patterns.remote.urls import (
    redact,
    strip_userinfo,
)

__all__ = [
    "HELPER_TIMEOUT",
    "MAX_CALLS",
    "MAX_TRIES",
    "SSH_KEY_FILES",
    "TOKEN_USERNAME",
    "TOKEN_VARIABLES",
    "Candidate",
    "Credential",
    "CredentialPicker",
    "CredentialsError",
    "Helper",
    "git_credential_fill",
    "ssh_candidates",
    "token_candidates",
]

MAX_TRIES = 3  # credentials refused before giving up
MAX_CALLS = 10  # callback calls in all (username-only answers included), against loops
TOKEN_VARIABLES = ("KSI_GIT_TOKEN", "GIT_TOKEN", "GITHUB_TOKEN")
SSH_KEY_FILES = ("id_ed25519", "id_rsa")
TOKEN_USERNAME = "x-access-token"  # GitHub's name for token logins; other hosts accept any name
HELPER_TIMEOUT = 30.0

Credential = pygit2.Username | pygit2.UserPass | pygit2.Keypair


class CredentialsError(KsiError):
    """No credentials, or every credential offered was refused."""


@dataclass(frozen=True)
class Candidate:
    """One credential to offer, with a label that says where it came from (never the secret)."""

    label: str
    kind: CredentialType
    make: Callable[[str | None], Credential]


Helper = Callable[[str, str | None], tuple[str, str] | None]


def git_credential_fill(url: str, username: str | None) -> tuple[str, str] | None:
    """(username, password) from git's credential helpers for an http(s) URL, or None.

    Runs `git credential fill` with terminal prompts off, so it never waits for a person."""
    parts = urlsplit(strip_userinfo(url))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    request = f"protocol={parts.scheme}\nhost={parts.netloc}\n"
    if parts.path.strip("/"):
        request += f"path={parts.path.lstrip('/')}\n"
    if username:
        request += f"username={username}\n"
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
    try:
        done = subprocess.run(
            ["git", "credential", "fill"],
            input=request + "\n",
            capture_output=True,
            text=True,
            env=env,
            timeout=HELPER_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    answer = dict(
        line.split("=", 1) for line in done.stdout.splitlines() if "=" in line and line.strip()
    )
    if answer.get("username") and answer.get("password"):
        return answer["username"], answer["password"]
    return None


def ssh_candidates(env: Mapping[str, str], home: Path) -> list[Candidate]:
    """SSH keys to offer, in order: the agent, KSI_SSH_KEY, ~/.ssh/id_ed25519, ~/.ssh/id_rsa."""
    found: list[Candidate] = []
    passphrase = env.get("KSI_SSH_PASSPHRASE", "")
    if env.get("SSH_AUTH_SOCK"):
        found.append(
            Candidate("the SSH agent", CredentialType.SSH_KEY, lambda user: _agent(user or "git"))
        )
    paths: list[Path] = []
    if env.get("KSI_SSH_KEY"):
        paths.append(Path(env["KSI_SSH_KEY"]).expanduser())
    paths += [home / ".ssh" / name for name in SSH_KEY_FILES]
    seen: set[Path] = set()
    for key in paths:
        if key in seen or not key.is_file():
            continue
        seen.add(key)
        public = key.with_name(key.name + ".pub")
        found.append(
            Candidate(
                f"the key {key}",
                CredentialType.SSH_KEY,
                _keypair(key, public if public.is_file() else None, passphrase),
            )
        )
    return found


def _agent(user: str) -> Credential:
    return pygit2.KeypairFromAgent(user)


def _keypair(
    private: Path, public: Path | None, passphrase: str
) -> Callable[[str | None], Credential]:
    def make(user: str | None) -> Credential:
        return pygit2.Keypair(
            user or "git", str(public) if public else None, str(private), passphrase
        )

    return make


def token_candidates(env: Mapping[str, str]) -> list[Candidate]:
    """HTTPS tokens from the environment, each distinct value once, in TOKEN_VARIABLES order."""
    found: list[Candidate] = []
    seen: set[str] = set()
    for name in TOKEN_VARIABLES:
        token = env.get(name, "").strip()
        if not token or token in seen:
            continue
        seen.add(token)
        found.append(
            Candidate(
                f"the token in ${name}",
                CredentialType.USERPASS_PLAINTEXT,
                _userpass(token),
            )
        )
    return found


def _userpass(token: str) -> Callable[[str | None], Credential]:
    def make(user: str | None) -> Credential:
        return pygit2.UserPass(user or TOKEN_USERNAME, token)

    return make


class CredentialPicker:
    """libgit2's credentials callback: each candidate once, at most MAX_TRIES in all.

    libgit2 calls back after every refusal, so the n-th call means the n-1 earlier answers were
    refused. Environment, home folder and credential helper can be given (tests do).
    """

    def __init__(
        self,
        url: str,
        *,
        env: Mapping[str, str] | None = None,
        home: Path | None = None,
        helper: Helper = git_credential_fill,
        max_tries: int = MAX_TRIES,
    ) -> None:
        self.url = url
        self._env = dict(os.environ if env is None else env)
        self._home = home if home is not None else Path.home()
        self._helper = helper
        self.max_tries = max_tries
        self.calls = 0
        self.tried: list[str] = []
        self._ssh: Iterator[Candidate] | None = None
        self._https: Iterator[Candidate] | None = None

    def __call__(
        self, url: str, username_from_url: str | None, allowed_types: CredentialType
    ) -> Credential:
        self.calls += 1
        allowed = CredentialType(allowed_types)
        secret_kinds = CredentialType.SSH_KEY | CredentialType.USERPASS_PLAINTEXT
        if self.calls > MAX_CALLS:
            raise self._failure()
        if allowed & CredentialType.USERNAME and not allowed & secret_kinds:
            return pygit2.Username(username_from_url or "git")
        if len(self.tried) >= self.max_tries:
            raise self._failure()
        candidate = self._next(allowed, username_from_url)
        if candidate is None:
            raise self._failure()
        self.tried.append(candidate.label)
        return candidate.make(username_from_url)

    def _next(self, allowed: CredentialType, username: str | None) -> Candidate | None:
        if allowed & CredentialType.SSH_KEY:
            if self._ssh is None:
                self._ssh = iter(ssh_candidates(self._env, self._home))
            found = next(self._ssh, None)
            if found is not None:
                return found
        if allowed & CredentialType.USERPASS_PLAINTEXT:
            if self._https is None:
                self._https = self._https_candidates(username)
            return next(self._https, None)
        return None

    def _https_candidates(self, username: str | None) -> Iterator[Candidate]:
        yield from token_candidates(self._env)
        answer = self._helper(self.url, username)  # only asked once the tokens are spent
        if answer is not None:
            user, password = answer
            yield Candidate(
                "git's credential helper",
                CredentialType.USERPASS_PLAINTEXT,
                lambda _user: pygit2.UserPass(user, password),
            )

    def _failure(self) -> CredentialsError:
        where = redact(self.url)
        if not self.tried:
            return CredentialsError(
                f"{where} asks for credentials and none were found: for SSH, load a key into "
                "ssh-agent or set KSI_SSH_KEY; for HTTPS, set KSI_GIT_TOKEN or configure a git "
                "credential helper"
            )
        return CredentialsError(
            f"{where} refused the credentials after {len(self.tried)} attempt(s) "
            f"({', '.join(self.tried)}); check the key or token and its access to the repository"
        )
