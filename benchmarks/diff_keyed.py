"""Structural diff of a 1,000-item keyed list, next to git's line tools on the same inputs.

Two versions of a pattern whose `agents` list holds 1,000 maps identified by `name`; the second
has 12 changes: 3 items inserted, 3 removed, 3 edited, 3 moved. Timed in fresh processes,
interleaved, in the same run (median, min and p90):
- `ksi pattern diff a.yaml b.yaml --json` (target: under 1 s, whole process);
- `git diff --no-index --stat a.yaml b.yaml`;
- `git merge-file -p a.yaml b.yaml a.yaml` (a three-way text merge of the same files);
- `ksi --help`, the start-up floor every ksi command pays, to show what the diff itself adds.
Wall time is what the user waits; CPU time (user + system) is the steadier figure when other
processes compete for the cores. Then ksi's record count (it should be the 12 changes, not one
per shifted item) and the in-process cost of the diff alone (parse both files + the engine).

Informational: the exit status is 0 whatever the figures (non-zero only if a command fails).

    python benchmarks/diff_keyed.py [--quick] [--runs N] [--warmups N] [--items N] [--keep]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    BenchError,
    Command,
    Timing,
    bench_env,
    ksi_argv,
    machine_line,
    ms,
    run_once,
    time_commands,
    verdict,
    workspace,
)

TARGET_SECONDS = 1.0
EXPECTED = {"added": 3, "removed": 3, "changed": 3, "moved": 3}

HEADER = """\
# A generated pattern with a long keyed list (benchmarks/diff_keyed.py).
name: keyed_benchmark
type: orchestration
version: 1.0.0
description: A pattern with {count} agents, to time the structural diff.
author: bench
orchestration_logic:
  strategy: |
    WHEN starting:
      SPAWN each agent
      AWAIT results
agents:
"""


def _agent(number: int, *, role: str | None = None) -> dict[str, object]:
    return {
        "name": f"agent_{number:05d}",
        "profile": "base_multi_agent" if number % 3 else "judge",
        "count": 1 + number % 4,
        "timeout": 30 + number % 7 * 5,
        "role": role or f"Handles shard {number} of the evaluation set.",
    }


def _yaml(agents: list[dict[str, object]]) -> str:
    lines = [HEADER.format(count=len(agents))]
    for agent in agents:
        first = True
        for key, value in agent.items():
            text = json.dumps(value) if isinstance(value, str) else str(value)
            lines.append(f"  {'- ' if first else '  '}{key}: {text}\n")
            first = False
    lines.append("metadata:\n  tags: [benchmark, keyed]\n")
    return "".join(lines)


def _versions(items: int) -> tuple[str, str]:
    """The old and new texts: 3 inserts, 3 removals, 3 edits and 3 moves in the new one."""
    old = [_agent(n) for n in range(items)]
    new = [dict(agent) for agent in old]
    for position, number in ((0, 90_001), (items // 2, 90_002), (items, 90_003)):
        new.insert(position, _agent(number))
    for name in (f"agent_{n:05d}" for n in (items // 4, items // 3, items - 5)):
        new = [agent for agent in new if agent["name"] != name]
    for index in (10, items // 2 + 7, items - 20):
        new[index]["role"] = "Edited: now also judges contested matches."
    for source, target in ((5, items - 50), (items // 5, 2), (items - 40, items // 2 + 40)):
        new.insert(target, new.pop(source))
    return _yaml(old), _yaml(new)


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="3 runs, 1 warm-up (CI smoke).")
    parser.add_argument("--runs", type=int, help="timed runs per command (default 5)")
    parser.add_argument("--warmups", type=int, help="untimed runs first (default 2)")
    parser.add_argument("--items", type=int, default=1000, help="list length (default 1000)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch workspace")
    args = parser.parse_args(argv)
    args.runs = args.runs or (3 if args.quick else 5)
    args.warmups = args.warmups if args.warmups is not None else (1 if args.quick else 2)
    if args.runs < 1 or args.items < 100:
        parser.error("--runs must be at least 1 and --items at least 100")
    return args


def _print_table(timings: list[Timing]) -> None:
    width = max(len(timing.label) for timing in timings)
    print(f"{'command':<{width}}  {'median':>10}  {'min':>10}  {'p90':>10}  {'cpu med':>10}  runs")
    for timing in timings:
        print(
            f"{timing.label:<{width}}  {ms(timing.median):>10}  {ms(timing.min):>10}  "
            f"{ms(timing.p90):>10}  {ms(timing.cpu_median):>10}  {len(timing.samples)}"
        )


def _check_records(command: Command, env: dict[str, str], cwd: Path) -> None:
    """ksi's own answer on these inputs: one record per change, not one per shifted item."""
    _elapsed, _cpu, done = run_once(command, env=env, cwd=cwd, capture=True)
    records = json.loads(done.stdout)
    kinds = Counter(record["kind"] for record in records)
    ok = dict(kinds) == EXPECTED
    print(
        f"ksi records: {len(records)} ({', '.join(f'{k} {n}' for k, n in sorted(kinds.items()))}); "
        f"expected {sum(EXPECTED.values())}: {'PASS' if ok else 'DIFFERENT'}"
    )


def _engine_only(old: Path, new: Path, runs: int) -> float:
    """Median seconds to parse both files and diff them, in this process (imports excluded)."""
    from ksi_patterns.diff.structural import diff
    from ksi_patterns.documents.loading import load_plain

    samples = []
    for _ in range(runs + 1):
        start = time.perf_counter()
        diff(load_plain(old.read_bytes(), str(old)), load_plain(new.read_bytes(), str(new)))
        samples.append(time.perf_counter() - start)
    return statistics.median(samples[1:])  # the first run also pays deepdiff's import


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    git = shutil.which("git")
    if git is None:
        print("error: git is not on PATH", file=sys.stderr)
        return 2
    ksi = ksi_argv()
    print(f"diff benchmark: {machine_line()}")
    print(f"ksi: {' '.join(ksi)}; {args.runs} runs after {args.warmups} warm-up(s), interleaved")
    with workspace("diff-keyed", keep=args.keep) as work:
        env = bench_env(work)
        old, new = work / "a.yaml", work / "b.yaml"
        old_text, new_text = _versions(args.items)
        old.write_text(old_text, encoding="utf-8")
        new.write_text(new_text, encoding="utf-8")
        print(
            f"inputs: {args.items}-item keyed list, {len(old_text):,} and {len(new_text):,} bytes; "
            "12 changes (3 inserted, 3 removed, 3 edited, 3 moved)"
        )
        print()
        ours = Command("ksi pattern diff a.yaml b.yaml --json", [*ksi, *_diff_args()])
        commands = [
            ours,
            Command(
                "git diff --no-index --stat a.yaml b.yaml",
                [git, "diff", "--no-index", "--stat", "a.yaml", "b.yaml"],
                expect_rc=1,  # the files differ
            ),
            Command(
                "git merge-file -p a.yaml b.yaml a.yaml",
                [git, "merge-file", "-p", "a.yaml", "b.yaml", "a.yaml"],
            ),
            Command("ksi --help (start-up floor)", [*ksi, "--help"]),
        ]
        try:
            timings = time_commands(
                commands, runs=args.runs, warmups=args.warmups, env=env, cwd=work
            )
            _print_table(timings)
            print()
            diff_time, floor = timings[0], timings[-1]
            print(
                f"ksi diff, whole process (target < 1 s): {ms(diff_time.median)} wall "
                f"{verdict(diff_time.median < TARGET_SECONDS)}, {ms(diff_time.cpu_median)} CPU "
                f"{verdict(diff_time.cpu_median < TARGET_SECONDS)}"
            )
            added = diff_time.cpu_median - floor.cpu_median
            print(f"  of which beyond `ksi --help` (CPU): {ms(added)}")
            _check_records(ours, env, work)
        except BenchError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        engine = _engine_only(old, new, args.runs)
        print(f"parse both files + diff, in-process: {ms(engine)}")
    return 0


def _diff_args() -> list[str]:
    return ["pattern", "diff", "a.yaml", "b.yaml", "--json"]


if __name__ == "__main__":
    sys.exit(main())
