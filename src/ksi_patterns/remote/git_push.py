"""Pushes to a remote on a local path go through the user's own `git push`.

libgit2 writes a local remote's refs directly: no `pre-receive` or `update` hook runs and no
server-side check is made, so a bare repository whose hook refuses a push would take it anyway.
`git push` runs `receive-pack` like a server does. `--porcelain` gives one line per ref: a flag
(`!` rejected, `=` up to date, ` `/`*`/`+`/`-` done), `SRC:DST`, and a summary with the reason.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from ksi_patterns.remote.transfer_callbacks import RefUpdate, RemoteError
from ksi_patterns.remote.urls import is_ssh_url, redact, scrub

_REASON = re.compile(r"\(([^()]*)\)\s*$")


def is_local(url: str) -> bool:
    """A path (or file:// URL) rather than a server."""
    return url.startswith("file://") or ("://" not in url and not is_ssh_url(url))


@dataclass
class LocalPush:
    updates: list[RefUpdate] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)  # ref -> reason
    server_said: str = ""  # the remote's hooks, as `remote:` lines


def push_local(git_dir: Path, remote: str, url: str, specs: list[str], timeout: float) -> LocalPush:
    """`git push --porcelain REMOTE SPECS` from `git_dir`, never forced; what each ref became.
    `url` is the remote's, for messages."""
    before = _remote_refs(git_dir, remote, timeout, url)
    done = _git(git_dir, ["push", "--porcelain", remote, *specs], timeout, url)
    result = LocalPush()
    said = [line[8:].strip() for line in done.stderr.splitlines() if line.startswith("remote: ")]
    result.server_said = scrub(" ".join(text for text in said if text))
    for line in done.stdout.splitlines():
        flag, tab, rest = line.partition("\t")
        if not tab or len(flag) != 1:
            continue
        refs, _, summary = rest.partition("\t")
        source, _, target = refs.partition(":")
        if flag == "!":
            found = _REASON.search(summary)
            result.refused[target] = scrub(found.group(1) if found else summary.strip("[] "))
        elif flag != "=":
            new = _git(git_dir, ["rev-parse", "--verify", "-q", source], timeout, url).stdout
            result.updates.append(RefUpdate(target, before.get(target), new.strip() or None))
    if done.returncode != 0 and not result.refused:
        raise RemoteError(f"cannot push to {redact(url)}: {scrub(done.stderr).strip()}")
    return result


def _remote_refs(git_dir: Path, remote: str, timeout: float, url: str) -> dict[str, str]:
    done = _git(git_dir, ["ls-remote", remote], timeout, url)
    refs = {}
    for line in done.stdout.splitlines():
        oid, _, name = line.partition("\t")
        refs[name] = oid
    return refs


def _git(
    git_dir: Path, args: list[str], timeout: float, url: str
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
    try:
        return subprocess.run(
            ["git", "--git-dir", str(git_dir), *args],
            capture_output=True, text=True, timeout=timeout, env=env, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        raise RemoteError(f"cannot push to {redact(url)}: no answer in {timeout:g} s") from None
    except OSError as err:
        raise RemoteError(f"cannot push to {redact(url)}: cannot run git ({err})") from None
