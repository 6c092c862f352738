"""Appending decisions: does the cost of `track-decision` grow with the log?

What is measured, in one run:
- `track_decision()` in this process: N sequential appends to one pattern's decision log in a
  fresh registry, each timed; once checked out (every commit also refreshes the work-tree file
  and the index) and once bare (the commit alone);
- `append_entry()` alone (the text work of an append, no git) on the first and the last log;
- the whole-process CLI, `ksi pattern track-decision`, for a few more appends to the checked-out
  registry's (now long) log, per call: interpreter start-up and imports included;
- the baseline: a shell loop of `printf ENTRY >> log && git commit -q -am ...` in a fresh git
  repository, appending entries of the same shape and size, timed per batch of appends.

Per-append cost is shown for the first and the last tenth of the N appends, as wall time and as
CPU time (user + system; steadier when other processes compete for the cores). An append that
parsed or re-dumped the log would grow with it; ours only copies, hashes and compresses the
new blob (as `git commit` does), which the last/first ratios show.

    python benchmarks/track_decision.py [--quick] [--count N] [--cli N] [--keep]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _common import Command, bench_env, ksi_argv, machine_line, ms, run_once, workspace

PATTERN = "adaptive_tournament_v2"
LOG = f"orchestrations/{PATTERN}_decisions.yaml"

# The baseline's entry: the shape and size of ours (see decisions.entry_text), numbered by $i.
ENTRY_FORMAT = (
    "  - id: 01JZTJR8T06ESRZXP4WV%06d\\n"
    "    timestamp: '2025-07-10T16:30:00.000Z'\\n"
    "    pattern: adaptive_tournament_v2\\n"
    "    agent_id: bench\\n"
    "    decision: increased_timeout\\n"
    "    context:\\n"
    "      avg_response: 45\\n"
    "      i: %d\\n"
    "    outcome: null\\n"
    "    confidence: 0.87\\n"
)
GIT_LOOP = """
set -e
cd "$1"
for i in $(seq "$2" "$3"); do
  printf "$4" "$i" "$i" >> log.yaml
  git commit -q -am "decision(adaptive_tournament_v2): increased_timeout"
done
"""


@dataclass(frozen=True)
class Cost:
    """Per-append seconds over a window of appends."""

    wall: float
    cpu: float


def _children_cpu() -> float:
    usage = os.times()
    return usage.children_user + usage.children_system


def git_baseline(folder: Path, count: int, window: int, env: dict[str, str]) -> tuple[Cost, Cost]:
    """Per-append cost (mean) of the first and last `window` appends of a `git commit` loop."""
    folder.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main", str(folder)], check=True, env=env)
    (folder / "log.yaml").write_text("# decision log\n")
    subprocess.run(["git", "-C", str(folder), "add", "log.yaml"], check=True, env=env)
    subprocess.run(["git", "-C", str(folder), "commit", "-q", "-m", "start"], check=True, env=env)

    def batch(first: int, last: int) -> Cost:
        cpu, start = _children_cpu(), time.perf_counter()
        subprocess.run(
            ["bash", "-c", GIT_LOOP, "loop", str(folder), str(first), str(last), ENTRY_FORMAT],
            check=True,
            env=env,
        )
        number = last - first + 1
        return Cost((time.perf_counter() - start) / number, (_children_cpu() - cpu) / number)

    head = batch(1, window)
    if count - window > window:
        batch(window + 1, count - window)
    tail = batch(count - window + 1, count)
    return head, tail


def timed(call: Callable[[int], object], count: int) -> list[Cost]:
    """Wall and CPU seconds of `call(i)` for i in range(count), each on its own."""
    costs = []
    for i in range(count):
        wall, cpu = time.perf_counter(), time.process_time()
        call(i)
        costs.append(Cost(time.perf_counter() - wall, time.process_time() - cpu))
    return costs


def median(costs: list[Cost]) -> Cost:
    return Cost(statistics.median(c.wall for c in costs), statistics.median(c.cpu for c in costs))


def library_appends(registry: Any, count: int) -> list[Cost]:
    """The cost of each of `count` sequential `track_decision()` calls on one pattern."""
    from ksi_patterns.evolution.decisions import track_decision

    def append(i: int) -> object:
        return track_decision(
            registry,
            PATTERN,
            "increased_timeout",
            context={"avg_response": 45, "i": i},
            confidence=0.87,
            agent_id="bench",
        )

    return timed(append, count)


def text_append_cost(log: bytes, count: int) -> Cost:
    """Median cost of `append_entry()` alone (the text work, no git) on the log `log`."""
    from ksi_patterns.evolution.decision_entries import new_entry
    from ksi_patterns.evolution.decision_text import append_entry

    entry = new_entry(PATTERN, "increased_timeout", agent_id="bench", context={"i": 1})
    return median(timed(lambda _i: append_entry(log, entry, LOG), max(50, count // 10)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer appends (a CI smoke test)")
    parser.add_argument("--count", type=int, help="in-process appends (default 1000; quick 200)")
    parser.add_argument("--cli", type=int, help="whole-process CLI appends (default 50; quick 10)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    args = parser.parse_args()
    count = args.count or (200 if args.quick else 1000)
    cli_count = args.cli or (10 if args.quick else 50)
    window = max(1, count // 10)
    if shutil.which("git") is None or shutil.which("bash") is None:
        print("git and bash are needed: they are the baseline", file=sys.stderr)
        return 2

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from ksi_patterns.registry.registry import init_registry

    print(f"track-decision benchmark: {machine_line()}")
    with workspace("track-decision", keep=args.keep) as work:
        env = bench_env(work / "home")
        env.update(
            GIT_AUTHOR_NAME="bench",
            GIT_AUTHOR_EMAIL="bench@example.org",
            GIT_COMMITTER_NAME="bench",
            GIT_COMMITTER_EMAIL="bench@example.org",
        )
        os.environ.update({k: env[k] for k in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL")})
        folder = work / "registry"
        registry = init_registry(folder)
        log = folder / LOG
        first_log = log.read_bytes()

        checked_out = library_appends(registry, count)
        last_log = log.read_bytes()
        bare = library_appends(init_registry(work / "bare.git", bare=True), count)
        text_head = text_append_cost(first_log, count)
        text_tail = text_append_cost(last_log, count)

        # ksi, whole process, on the now long log.
        command = Command(
            "ksi pattern track-decision",
            [
                *ksi_argv(),
                "pattern",
                "track-decision",
                PATTERN,
                "--decision",
                "increased_timeout",
                "--context",
                "avg_response=45",
                "--confidence",
                "0.87",
                "--agent",
                "bench",
                "--registry",
                str(folder),
            ],
        )
        for _ in range(2):  # warm-ups: fill the bytecode cache
            run_once(command, env=env, cwd=work)
        cli = [run_once(command, env=env, cwd=work)[:2] for _ in range(cli_count)]
        final_size = log.stat().st_size

        git_head, git_tail = git_baseline(work / "git-loop", count, window, env)
        git_size = (work / "git-loop" / "log.yaml").stat().st_size

    grown = len(last_log) - len(first_log)
    print(
        f"{count} appends to {LOG}: {len(first_log) / 1024:.1f} KiB -> "
        f"{len(last_log) / 1024:.1f} KiB (~{grown / count:.0f} B per entry); "
        f"the git loop's log ends at {git_size / 1024:.1f} KiB\n"
    )
    first, last = f"first {window}", f"last {window}"
    print(
        f"{'per append':<44}{first:>11}{last:>11}{'ratio':>7}"
        f"{'cpu ' + first:>15}{'cpu ' + last:>14}{'ratio':>7}"
    )
    rows = [
        ("ksi track_decision(), checked out (median)", median(checked_out[:window]),
         median(checked_out[-window:])),
        ("ksi track_decision(), bare (median)", median(bare[:window]), median(bare[-window:])),
        ("append_entry() alone: text, no git (median)", text_head, text_tail),
        ("printf >> log && git commit -am (mean)", git_head, git_tail),
    ]  # fmt: skip
    for label, head, tail in rows:
        print(
            f"{label:<44}{ms(head.wall):>11}{ms(tail.wall):>11}{tail.wall / head.wall:>6.2f}x"
            f"{ms(head.cpu):>15}{ms(tail.cpu):>14}{tail.cpu / max(head.cpu, 1e-9):>6.2f}x"
        )
    walls = [wall for wall, _cpu in cli]
    cpus = [cpu for _wall, cpu in cli]
    p90 = statistics.quantiles(walls, n=10, method="inclusive")[-1] if len(walls) > 1 else walls[0]
    print(
        f"\nksi pattern track-decision, whole process, {cli_count} calls on the "
        f"{final_size / 1024:.0f} KiB log: median {ms(statistics.median(walls)).strip()}, "
        f"min {ms(min(walls)).strip()}, p90 {ms(p90).strip()}, "
        f"cpu median {ms(statistics.median(cpus)).strip()} per call"
    )
    tail_ratio = median(checked_out[-window:]).cpu / git_tail.cpu
    print(f"in-process ksi (checked out) / git loop, cpu over the last {window}: {tail_ratio:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
