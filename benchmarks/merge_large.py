"""Three-way merge of two ~1 MB pattern files, next to `git merge-file` on the same inputs.

What is measured, in one run on the same three files:
- `ksi merge-driver BASE OURS THEIRS` (whole process: start-up, three round-trip loads, the
  structural merge, the render), as `git merge` would run it;
- the engine alone in this process (`ksi_patterns.merge.merge` on the three texts);
- the baseline: `git merge-file -p OURS BASE THEIRS`, git's line merge.

The inputs: a pattern with a long DSL strategy, 600 agents and 5,000 learnings (~1 MB). Ours
edits ten agents, appends 20 learnings and the strategy's start; theirs edits ten other agents,
appends 20 other learnings and the strategy's end. A line merge conflicts on the appended
learnings (both sides add at the same place); ours does not. Target: under 2 s.

    python benchmarks/merge_large.py [--quick]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import time
from pathlib import Path

from _common import (
    Command,
    bench_env,
    ksi_argv,
    machine_line,
    ms,
    run_once,
    time_commands,
    verdict,
    workspace,
)

TARGET_SECONDS = 2.0
AGENTS, LEARNINGS = 600, 5000


def pattern(agents: int, learnings: int, *, edit: str = "", extra: int = 0) -> str:
    """A large pattern; `edit` says which side's edits to apply ("ours", "theirs" or none)."""
    lines = [
        "# yaml-language-server: $schema=https://ksi-patterns.dev/schemas/pattern.schema.json",
        "name: huge_tournament",
        "type: orchestration",
        "version: 1.0.0",
        "description: A very large tournament pattern for the merge benchmark.",
        "orchestration_logic:",
        "  strategy: |",
    ]
    if edit == "ours":
        lines.append('    WHEN warm_up:\n      EMIT "bench:ours" WITH {first: true}')
    for block in range(200):
        lines += [
            f"    WHEN phase_{block}:",
            f"      IF score_{block} > 0.{block % 10}:",
            f'        EMIT "phase:{block}" WITH {{level: {block}}}',
            "      ELSE:",
            f'        TRACK decision: "skip_{block}" WITH confidence: 0.5',
        ]
    if edit == "theirs":
        lines.append('    AFTER all:\n      EMIT "bench:theirs" WITH {last: true}')
    lines.append("agents:")
    for index in range(agents):
        timeout = 30
        if edit == "ours" and index % 30 == 0:
            timeout = 45
        if edit == "theirs" and index % 30 == 15:
            timeout = 60
        lines += [
            f"  - name: agent_{index:04d}",
            "    profile: base_multi_agent",
            f"    timeout: {timeout}",
            f"    purpose: Evaluates candidate {index} against the shared rubric, reports scores",
        ]
    lines.append("learnings:")
    total = learnings + extra
    for index in range(total):
        label = f"{edit}_{index}" if index >= learnings else str(index)
        lines += [
            f"  - insight: Observation {label} about pairing, timeouts and judge agreement",
            f"    confidence: 0.{(index * 7) % 90 + 10}",
            f"    evidence: runs:[{index}, {index + 1}, {index + 2}]",
            "    discovered_by: orchestrator_bench",
        ]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs (a CI smoke test)")
    args = parser.parse_args()
    runs = 3 if args.quick else 7
    git = shutil.which("git")
    if git is None:
        print("git not found: it is the baseline", file=sys.stderr)
        return 2
    print(f"merge benchmark: {machine_line()}")
    with workspace("merge") as work:
        base, ours, theirs = work / "base.yaml", work / "ours.yaml", work / "theirs.yaml"
        base.write_text(pattern(AGENTS, LEARNINGS))
        ours.write_text(pattern(AGENTS, LEARNINGS, edit="ours", extra=20))
        theirs.write_text(pattern(AGENTS, LEARNINGS, edit="theirs", extra=20))
        size = base.stat().st_size
        print(f"inputs: {size / 1e6:.2f} MB (base), {AGENTS} agents, {LEARNINGS:,} learnings\n")

        env = bench_env(work / "home")
        scratch = work / "result.yaml"
        copy = f"cp {ours} {scratch}"
        driver = " ".join([*ksi_argv(), "merge-driver", str(base), str(scratch), str(theirs)])
        # git merge-file exits with its number of conflicts: learn it once, expect it after.
        probe = f"{git} merge-file -p {ours} {base} {theirs} > /dev/null; echo $? >&2"
        _elapsed, _cpu, git_done = run_once(
            Command("probe", ["sh", "-c", probe]), env=env, cwd=work
        )
        git_conflicts = int(git_done.stderr.decode().strip() or 0)
        commands = [
            Command(
                "git merge-file -p (line merge)",
                [git, "merge-file", "-p", str(ours), str(base), str(theirs)],
                git_conflicts,
            ),
            Command("ksi merge-driver (whole process)", ["sh", "-c", f"{copy} && {driver}"]),
        ]
        timings = time_commands(commands, runs=runs, warmups=1, env=env, cwd=work)

        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
        from ksi_patterns.documents.loading import load_plain
        from ksi_patterns.merge import merge

        texts = [path.read_text() for path in (base, ours, theirs)]
        engine: list[float] = []
        result = None
        for _ in range(runs):
            start = time.perf_counter()
            result = merge(*texts)
            engine.append(time.perf_counter() - start)
        assert result is not None
        merged = load_plain(result.text, "merged")
        learned = len(merged["learnings"])

    print(f"{'command':<40}{'median':>11}{'min':>11}{'cpu med':>11}")
    for timing in timings:
        print(
            f"{timing.label:<40}{ms(timing.median):>11}{ms(timing.min):>11}"
            f"{ms(timing.cpu_median):>11}"
        )
    print(
        f"{'merge() in process (engine only)':<40}{ms(statistics.median(engine)):>11}"
        f"{ms(min(engine)):>11}"
    )
    ours_time = timings[1].median
    print(
        f"\nresult: {len(result.conflicts)} conflict(s), {learned} learnings "
        f"({LEARNINGS:,} + 20 + 20 expected); git merge-file: {git_conflicts} conflict(s)"
    )
    print(
        f"ksi / git: {ours_time / timings[0].median:.1f}x;  "
        f"target under {TARGET_SECONDS:.0f} s: {verdict(ours_time < TARGET_SECONDS)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
