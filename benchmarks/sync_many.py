"""`ksi registry sync` of a large registry, next to `git pull --no-rebase` + `git push`.

The registry: 1,000 patterns and 10,000 decisions (100 decision logs of 100 entries), in a bare
remote. Two clones start from it. Alice changes `performance.runs` in 10 patterns and appends a
decision to each of their 10 decision logs, then pushes. Bob changes `description` in the same
10 patterns and appends his own decision to the same 10 logs: his sync must merge 20 files.

Timed, in one run, each on a fresh copy of the same two repositories (Bob's clone and the remote
after Alice's push), restored before every sample:
- `ksi registry sync` in Bob's clone: fetch, structural merge (decision logs as unions), commit,
  push;
- `git pull --no-rebase` then `git push` with plain git: its line merge conflicts on every
  decision log (both sides appended at the end), so nothing is pushed;
- the same git commands with `ksi merge-driver` registered (what `ksi registry clone` sets up):
  git runs the driver once per file changed on both sides.
Each outcome is reported (merged or conflicted files, pushed or not), not only its time.

    python benchmarks/sync_many.py [--quick] [--keep]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _common import bench_env, ksi_argv, load_line, machine_line, ms, workspace

PATTERNS, LOGS, PER_LOG = 1000, 100, 100
CHANGED = 10  # patterns each side edits; their decision logs get one entry from each side
DATE = "2026-01-01T00:00:00+00:00"


def pattern(index: int) -> str:
    return (
        f"name: bench_{index:04d}\n"
        "type: orchestration\n"
        "version: 1.0.0\n"
        f"description: Benchmark pattern number {index}, a tournament variant.\n"
        "author: bench\n"
        "orchestration_logic:\n"
        "  description: Pairs participants and keeps score.\n"
        "  strategy: |\n"
        "    WHEN round_started:\n"
        f'      EMIT "round:pair" WITH {{size: {index % 7 + 2}}}\n'
        "    IF timeout_rate > 0.2:\n"
        '      EMIT "round:extend" WITH {seconds: 30}\n'
        "performance:\n"
        f"  runs: {index % 50 + 1}\n"
        f"  avg_score: 0.{index % 90 + 10}\n"
        "  success_rate: 0.9\n"
        "metadata:\n"
        f"  tags: [tournament, bench, group_{index % 10}]\n"
    )


def decision(log: int, number: int, agent: str) -> str:
    ident = f"01K{log:05d}{number:05d}{agent[:1].upper()}".ljust(26, "0")
    return (
        f"  - id: {ident}\n"
        f'    timestamp: "2026-01-01T{number // 3600 % 24:02d}:{number // 60 % 60:02d}:'
        f'{number % 60:02d}Z"\n'
        f"    pattern: bench_{log:04d}\n"
        f"    agent_id: {agent}\n"
        f"    decision: decision_{number % 17}\n"
        f"    context: {{round: {number % 9}, participants: {number % 13 + 2}}}\n"
        f"    outcome: outcome_{number % 5}\n"
        "    confidence: 0.8\n"
    )


def git(cwd: Path, *args: str, env: dict[str, str], check: bool = True) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    if check and done.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


def build(work: Path, env: dict[str, str]) -> tuple[Path, Path]:
    """The templates: the bare remote after Alice's push, and Bob's clone with his commit."""
    team = work / "team"
    subprocess.run(
        [*ksi_argv(), "registry", "init", "--empty", str(team)],
        env=env,
        check=True,
        capture_output=True,
    )
    folder = team / "orchestrations"
    folder.mkdir()
    for index in range(PATTERNS):
        (folder / f"bench_{index:04d}.yaml").write_text(pattern(index))
    for log in range(LOGS):
        entries = "".join(decision(log, n, "seed") for n in range(PER_LOG))
        (folder / f"bench_{log:04d}_decisions.yaml").write_text(entries)
    git(team, "add", "-A", env=env)
    git(team, "commit", "-q", "-m", "1,000 patterns, 10,000 decisions", env=env)
    remote = work / "tpl" / "remote.git"
    git(work, "clone", "-q", "--bare", str(team), str(remote), env=env)
    alice, bob = work / "alice", work / "tpl" / "bob"
    git(work, "clone", "-q", str(remote), str(alice), env=env)
    git(work, "clone", "-q", str(remote), str(bob), env=env)
    for index in range(CHANGED):
        path = f"orchestrations/bench_{index:04d}.yaml"
        log = f"orchestrations/bench_{index:04d}_decisions.yaml"
        text = (alice / path).read_text()
        (alice / path).write_text(text.replace("  runs: ", "  runs: 10", 1))
        with (alice / log).open("a") as out:
            out.write(decision(index, PER_LOG, "alice"))
        text = (bob / path).read_text()
        (bob / path).write_text(text.replace("description: ", "description: (bob) ", 1))
        with (bob / log).open("a") as out:
            out.write(decision(index, PER_LOG + 1, "bob"))
    for clone, who in ((alice, "alice"), (bob, "bob")):
        git(clone, "commit", "-q", "-am", f"{who}: 10 patterns, 10 decisions", env=env)
    git(alice, "push", "-q", "origin", "main", env=env)
    return remote, bob


def restore(templates: tuple[Path, Path], where: Path, env: dict[str, str]) -> Path:
    """Fresh copies of the remote and Bob's clone under `where`; Bob's clone."""
    remote, bob = templates
    shutil.rmtree(where, ignore_errors=True)
    shutil.copytree(remote, where / "remote.git", symlinks=True)
    shutil.copytree(bob, where / "bob", symlinks=True)
    git(where / "bob", "remote", "set-url", "origin", str(where / "remote.git"), env=env)
    return where / "bob"


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, int]:
    """Wall and CPU seconds (the child and its children, git's driver runs included), exit code."""
    cpu = children_cpu()
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, check=False)
    return time.perf_counter() - start, children_cpu() - cpu, done.returncode


def outcome(bob: Path, remote: Path, before: str, env: dict[str, str]) -> str:
    unmerged = git(bob, "diff", "--name-only", "--diff-filter=U", env=env).split()
    pushed = git(remote, "rev-parse", "main", env=env).strip() != before
    if unmerged:
        return f"{len(unmerged)} conflicted files, nothing pushed"
    log = (bob / "orchestrations" / "bench_0000_decisions.yaml").read_text()
    merged = log.count("  - id: ")
    runs = "  runs: 101" in (bob / "orchestrations" / "bench_0000.yaml").read_text()
    return (
        f"clean; bench_0000 log has {merged} entries "
        f"({PER_LOG} + 2 expected), Alice's edit {'kept' if runs else 'LOST'}; "
        f"{'pushed' if pushed else 'NOT pushed'}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one sample each (a CI smoke test)")
    parser.add_argument("--keep", action="store_true", help="keep the workspace")
    args = parser.parse_args()
    runs = 1 if args.quick else 5
    print(machine_line())
    with workspace("sync-many", keep=args.keep) as work:
        env = bench_env(work / "home")
        env.update(
            GIT_AUTHOR_NAME="bench",
            GIT_AUTHOR_EMAIL="bench@example.org",
            GIT_COMMITTER_NAME="bench",
            GIT_COMMITTER_EMAIL="bench@example.org",
            GIT_AUTHOR_DATE=DATE,
            GIT_COMMITTER_DATE=DATE,
            GIT_CONFIG_NOSYSTEM="1",
            GIT_CONFIG_GLOBAL=str(work / "gitconfig"),
        )
        (work / "gitconfig").write_text("[init]\n\tdefaultBranch = main\n")
        start = time.perf_counter()
        templates = build(work, env)
        print(f"set-up: {time.perf_counter() - start:.1f} s ({load_line()})")
        before = git(templates[0], "rev-parse", "main", env=env).strip()
        driver = " ".join([*ksi_argv(), "merge-driver", "%O", "%A", "%B", "%L", "%P"])
        pull_push = "git pull -q --no-rebase origin main && git push -q origin main"
        variants = [
            ("ksi registry sync", [*ksi_argv(), "registry", "sync"], None),
            ("git pull --no-rebase + git push", ["sh", "-c", pull_push], None),
            ("same, with ksi merge-driver set", ["sh", "-c", pull_push], driver),
        ]
        samples: dict[str, list[float]] = {label: [] for label, _, _ in variants}
        cpus: dict[str, list[float]] = {label: [] for label, _, _ in variants}
        results: dict[str, str] = {}
        codes: dict[str, int] = {}
        for _ in range(runs):
            for label, argv, merge_driver in variants:  # interleaved: load drift hits all
                where = work / "run"
                bob = restore(templates, where, env)
                if merge_driver:
                    git(bob, "config", "merge.ksi.driver", merge_driver, env=env)
                elapsed, cpu, code = timed(argv, bob, env)
                samples[label].append(elapsed)
                cpus[label].append(cpu)
                codes[label] = code
                results[label] = outcome(bob, where / "remote.git", before, env)
    print(
        f"\n{PATTERNS:,} patterns, {LOGS * PER_LOG:,} decisions in {LOGS} logs; each side edits "
        f"{CHANGED} patterns (other fields) and appends to their {CHANGED} logs; {runs} sample(s)"
    )
    print(
        f"{'command (in the clone that must merge)':<40}{'median':>11}{'min':>11}{'cpu med':>11}"
        "  exit  outcome"
    )
    for label, _, _ in variants:
        times = samples[label]
        print(
            f"{label:<40}{ms(statistics.median(times)):>11}{ms(min(times)):>11}"
            f"{ms(statistics.median(cpus[label])):>11}  {codes[label]:>4}  {results[label]}"
        )
    ksi_time = statistics.median(samples["ksi registry sync"])
    git_time = statistics.median(samples["git pull --no-rebase + git push"])
    print(f"\nksi / plain git: {ksi_time / git_time:.1f}x (plain git stops on conflicts)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
