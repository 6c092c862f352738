"""A writer process for the concurrency tests of tests/test_decisions.py and test_evolution.py.

usage: decision_writer.py REGISTRY GATE WRITER COUNT MODE PATTERN
  MODE "track": COUNT `track_decision` calls on PATTERN, decision "w<W>-<i>", context
                {writer: W, i: i} (the library function, as the CLI and event handlers call it).
  MODE "run":   COUNT `record_run` calls on PATTERN with score 0.5 and run id "w<W>-<i>".
`run_writers` (used by the tests) starts them, releases them together and collects their reports.
Waits for the file GATE to exist before writing (so that all writers start together) and prints
JSON: the ids written, the work-tree paths left alone, the seconds it took.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from ksi_patterns.evolution.decisions import track_decision
from ksi_patterns.evolution.runs import record_run
from ksi_patterns.registry.registry import open_registry


def run_writers(
    registry: Path, gate: Path, writers: int, count: int, mode: str, pattern: str
) -> list[Any]:
    """Start `writers` processes of decision_writer.py, release them together, collect JSON."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                str(Path(__file__).resolve()),
                str(registry),
                str(gate),
                str(w),
                str(count),
                mode,
                pattern,
            ],
            stdout=subprocess.PIPE,
            env=env,
        )
        for w in range(writers)
    ]
    try:
        deadline = time.monotonic() + 60
        while len(list(gate.parent.glob(gate.name + ".ready-*"))) < writers:
            assert time.monotonic() < deadline, "writers did not start"
            assert all(p.poll() is None for p in procs), "a writer died before starting"
            time.sleep(0.01)
        gate.touch()
        reports = []
        for p in procs:
            out, _ = p.communicate(timeout=300)
            assert p.returncode == 0
            reports.append(json.loads(out))
        return reports
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()


def main() -> None:
    folder, gate, writer, count, mode, pattern = sys.argv[1:7]
    registry = open_registry(folder)
    Path(f"{gate}.ready-{writer}").touch()
    while not Path(gate).exists():
        time.sleep(0.002)
    started = time.perf_counter()
    ids: list[str] = []
    skipped: list[str] = []
    for i in range(int(count)):
        if mode == "track":
            done = track_decision(
                registry,
                pattern,
                f"w{writer}-{i}",
                context={"writer": int(writer), "i": i},
                confidence=0.5,
                agent_id=f"writer_{writer}",
            )
            ids.append(done.entry["id"])
            skipped.extend(done.skipped_worktree_paths)
        else:
            ran = record_run(registry, pattern, 0.5, run_id=f"w{writer}-{i}")
            ids.append(ran.run_id or "")
            skipped.extend(ran.skipped_worktree_paths)
    seconds = time.perf_counter() - started
    print(json.dumps({"ids": ids, "skipped": skipped, "seconds": seconds}))


if __name__ == "__main__":
    main()
