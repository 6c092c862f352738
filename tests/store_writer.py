"""A writer process for the store's concurrency tests (run by tests/test_store.py).

usage: store_writer.py REPO GATE WRITER COUNT MODE
  MODE "append": COUNT commits on the checked-out branch, each adding writers/<W>-<i>.txt and
                 appending one line to shared.log computed from the fresh tip (callable changes).
  MODE "fork":   try to create fork/race-<i> for i < COUNT with a commit on a new branch.
Waits for the file GATE to exist before writing (so all writers start together); prints JSON.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from ksi_patterns.errors import ConflictError
from ksi_patterns.git.refs import Commit
from ksi_patterns.git.store import Store


def main() -> None:
    repo, gate, writer, count, mode = sys.argv[1:6]
    store = Store.open(repo)
    ready = Path(gate + f".ready-{writer}")
    ready.touch()
    while not Path(gate).exists():
        time.sleep(0.002)
    started = time.perf_counter()
    attempts: list[int] = []
    wins: list[int] = []
    skipped: list[str] = []
    for i in range(int(count)):
        if mode == "append":
            line = f"{writer}-{i}\n".encode()

            def changes(
                tip: Commit | None, line: bytes = line, i: int = i
            ) -> dict[str, bytes | None]:
                has_log = tip is not None and store.exists("shared.log", tip)
                shared = store.read("shared.log", tip) if has_log else b""
                return {f"writers/{writer}-{i}.txt": line, "shared.log": shared + line}

            result = store.commit(changes, f"writer {writer} commit {i}")
            attempts.append(result.attempts)
            skipped.extend(result.skipped_worktree_paths)
        else:
            try:
                store.commit(
                    {f"forks/{writer}.txt": b"mine\n"},
                    f"fork {i} by {writer}",
                    f"fork/race-{i}",
                    create_branch_from="main",
                )
                wins.append(i)
            except ConflictError:
                pass
    seconds = time.perf_counter() - started
    print(json.dumps({"attempts": attempts, "wins": wins, "skipped": skipped, "seconds": seconds}))


if __name__ == "__main__":
    main()
