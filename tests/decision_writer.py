"""A writer process for the concurrency tests of tests/test_decisions.py and test_evolution.py.

usage: decision_writer.py REGISTRY GATE WRITER COUNT MODE PATTERN
  MODE "track": COUNT `track_decision` calls on PATTERN, decision "w<W>-<i>", context
                {writer: W, i: i} (the library function, as the CLI and event handlers call it).
  MODE "run":   COUNT `record_run` calls on PATTERN with score 0.5 and run id "w<W>-<i>".
Waits for the file GATE to exist before writing (so that all writers start together) and prints
JSON: the ids written, the work-tree paths left alone, the seconds it took.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from ksi_patterns.decisions import track_decision
from ksi_patterns.evolution import record_run
from ksi_patterns.registry import open_registry


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
