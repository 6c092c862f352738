"""Remotes that stall, histories that share nothing, and hooks of a bare repository on a local
path: each ends as git would end it (or within the time limit), never by hanging."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import RunFn, git, head

LIMIT = "1"  # seconds: KSI_REMOTE_TIMEOUT for the stalled-server tests


@pytest.fixture
def stalled() -> Iterator[str]:
    """A server on 127.0.0.1 that accepts every connection and never answers; its git URL."""
    server = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"git://127.0.0.1:{server.getsockname()[1]}/team.git"
    stop.set()
    thread.join()
    for connection in held:
        connection.close()
    server.close()


@pytest.mark.parametrize("command", ["clone", "pull", "push", "sync"])
def test_a_stalled_server_fails_within_the_limit(
    run: RunFn, registry_dir: Path, stalled: str, tmp_path: Path, command: str
) -> None:
    env = {"KSI_REMOTE_TIMEOUT": LIMIT}
    if command == "clone":
        args: list[str | Path] = ["registry", "clone", stalled, tmp_path / "copy"]
    else:
        assert (
            run("registry", "remote", "add", "origin", stalled, "-R", registry_dir).exit_code == 0
        )
        args = ["registry", command, "origin", "-R", registry_dir]
    tip = head(registry_dir)
    started = time.monotonic()
    done = run(*args, env=env)
    elapsed = time.monotonic() - started
    assert done.exit_code == 2, done
    assert elapsed < 10, elapsed
    [line] = done.stderr.splitlines()
    assert "timed out" in line and "KSI_REMOTE_TIMEOUT" in line, line
    assert "127.0.0.1" in line
    assert head(registry_dir) == tip
    assert not (tmp_path / "copy").exists()


def test_the_limit_is_30_seconds_unless_set(monkeypatch: pytest.MonkeyPatch) -> None:
    from ksi_patterns.errors import UsageError
    from ksi_patterns.remote.timeouts import transfer_timeout

    monkeypatch.delenv("KSI_REMOTE_TIMEOUT", raising=False)
    assert transfer_timeout() == 30.0
    monkeypatch.setenv("KSI_REMOTE_TIMEOUT", "2.5")
    assert transfer_timeout() == 2.5
    for bad in ("0", "-1", "soon", "nan", "inf"):
        monkeypatch.setenv("KSI_REMOTE_TIMEOUT", bad)
        with pytest.raises(UsageError, match="KSI_REMOTE_TIMEOUT"):
            transfer_timeout()


def test_unrelated_histories_are_refused_unless_allowed(
    run: RunFn, registry_dir: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    assert run("registry", "init", other, "--empty").exit_code == 0
    assert run("registry", "remote", "add", "other", other, "-R", registry_dir).exit_code == 0
    tip = head(registry_dir)
    for command in ("pull", "sync"):
        done = run("registry", command, "other", "-R", registry_dir)
        assert done.exit_code == 2, done
        [line] = done.stderr.splitlines()
        assert "unrelated histories" in line and "--allow-unrelated-histories" in line
        assert head(registry_dir) == tip
    done = run("registry", "pull", "other", "--allow-unrelated-histories", "-R", registry_dir)
    assert done.exit_code in (0, 1), done
    parents = git(registry_dir, "log", "-1", "--format=%P").split()
    assert done.exit_code == 1 or head(other) in parents


def test_a_local_bare_remote_runs_its_hooks(run: RunFn, registry_dir: Path, tmp_path: Path) -> None:
    bare = tmp_path / "team.git"
    git(tmp_path, "clone", "-q", "--bare", str(registry_dir), str(bare))
    before = git(bare, "rev-parse", "refs/heads/main").strip()
    hook = bare / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'no pushes on Fridays' >&2\nexit 1\n")
    hook.chmod(0o755)
    assert run("registry", "remote", "add", "origin", bare, "-R", registry_dir).exit_code == 0
    wrote = run(
        "pattern", "track-decision", "tournament_basic", "--decision", "d", "-R", registry_dir
    )
    assert wrote.exit_code == 0, wrote
    done = run("registry", "push", "origin", "-R", registry_dir)
    assert done.exit_code == 1, done
    assert "pre-receive hook declined" in done.stderr and "no pushes on Fridays" in done.stderr
    assert git(bare, "rev-parse", "refs/heads/main").strip() == before
    hook.unlink()
    done = run("registry", "push", "origin", "-R", registry_dir, "--json")
    assert done.exit_code == 0, done
    [pushed] = done.json()["pushed"]
    assert pushed == {"ref": "refs/heads/main", "old": before, "new": head(registry_dir)}
