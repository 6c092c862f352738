"""A real `git daemon` on 127.0.0.1 serving bare repositories under one folder, pushes allowed.

    with GitDaemon.start(base) as daemon:
        url = daemon.url("team.git")      # git://127.0.0.1:PORT/team.git

It behaves like a server: pushes go through `git receive-pack`, so hooks in the bare repository
run and refusals come back over the protocol (unlike a push to a local path).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

START_TIMEOUT = 10.0  # seconds for the daemon to accept connections
PORT_TRIES = 3  # another process may take the free port between our probe and the daemon


def unavailable() -> str | None:
    """Why `git daemon` cannot run here (a reason for pytest.skip), or None when it can."""
    try:
        done = subprocess.run(
            ["git", "daemon", "--help"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"git is not runnable: {exc}"
    text = done.stdout + done.stderr
    if done.returncode != 0 and "--reuseaddr" not in text and "daemon" not in text.lower():
        return f"`git daemon` is not installed (git daemon --help: exit {done.returncode})"
    if "not a git command" in text:
        return "`git daemon` is not installed with this git"
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


@dataclass
class GitDaemon:
    base: Path
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def url(self, name: str) -> str:
        return f"git://127.0.0.1:{self.port}/{name}"

    @classmethod
    @contextlib.contextmanager
    def start(cls, base: Path) -> Iterator[GitDaemon]:
        daemon = cls._launch(base)
        try:
            yield daemon
        finally:
            daemon.stop()

    @classmethod
    def _launch(cls, base: Path) -> GitDaemon:
        log = base.parent / f"{base.name}-daemon.log"
        last = ""
        for _ in range(PORT_TRIES):
            port = _free_port()
            with log.open("wb") as sink:
                process = subprocess.Popen(
                    [
                        "git",
                        "daemon",
                        "--reuseaddr",
                        f"--base-path={base}",
                        "--export-all",
                        "--enable=receive-pack",
                        "--listen=127.0.0.1",
                        f"--port={port}",
                    ],
                    stdin=subprocess.DEVNULL,
                    stdout=sink,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # its own process group: teardown ends its children
                )
            daemon = cls(base, port, process, log)
            deadline = time.monotonic() + START_TIMEOUT
            while time.monotonic() < deadline and process.poll() is None:
                if _accepts(port):
                    return daemon
                time.sleep(0.05)
            daemon.stop()
            last = log.read_text(errors="replace")
        raise RuntimeError(f"git daemon did not start on 127.0.0.1: {last.strip()[-500:]}")

    def stop(self) -> None:
        """End the daemon and the connection handlers it forked (its process group)."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
