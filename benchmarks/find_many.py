"""`ksi pattern discover` and `ksi pattern select` on a registry of 10,000 patterns, cold and warm,
beside `git ls-tree -r HEAD` on the same repository.

What is measured (whole-process wall time and the child's CPU time, fresh processes, stdout to
/dev/null; bytecode caching on, as in an installed copy):
- the registry: a fresh `ksi registry init --empty` repository, plus 10,000 generated, valid and
  varied patterns in orchestrations/ (the generator of validate_many.py: 60-120 lines each, a
  strategy DSL, performance, learnings, tags, capabilities, selection criteria; a third extend
  and fork an earlier one), committed with one `git add -A && git commit`.
- baselines: `git ls-tree -r HEAD` on that repository (listing the tree's blobs, the floor of any
  tool that finds what a ref holds), and `python -c "import typer, pygit2, ruamel.yaml"` (the
  start-up floor of any ksi command that reads a registry), so that a slow or busy machine shows.
- discover: `ksi pattern discover --tag tournament --where 'performance.avg_score > 0.7' --json`.
- select: `ksi pattern select --task "..." --json`.
- warm: the cache in place (the path that must not read blobs); after a commit: each run follows
  a commit changing one pattern (the folder's listing is derived from the previous listing and a
  tree diff, one blob parsed); cold: the index cache (<git-dir>/ksi/index.sqlite*) deleted before
  each run, so every blob is parsed and the cache written.
Targets: warm discover and warm select under 0.5 s (wall median). The cold and warm outputs are
checked to be identical before timing.

Informational: exits 0 whatever the figures (2 only when a command misbehaves). `--profile`
adds a cProfile listing of one warm run of each.

    python benchmarks/find_many.py [--quick] [--runs N] [--count N] [--profile] [--keep]
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    BenchError,
    Command,
    Timing,
    bench_env,
    bytecode_note,
    contention_note,
    ksi_argv,
    ksi_python_argv,
    machine_line,
    ms,
    run_once,
    time_commands,
    verdict,
    workspace,
)
from validate_many import SEED, pattern_names, pattern_text

TARGET_SECONDS = 0.5
TAG = "tournament"
WHERE = "performance.avg_score > 0.7"
FLOOR_CODE = "import typer, pygit2, ruamel.yaml"
TASK = "Run a debate among several agents and critique the answers when some time out"
CACHE_FILES = ("index.sqlite", "index.sqlite-wal", "index.sqlite-shm", "index.sqlite-journal")


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="2,000 patterns, 2 runs (CI smoke)")
    parser.add_argument("--runs", type=int, help="timed runs of each command (default 5)")
    parser.add_argument("--count", type=int, help="patterns (default 10000; --quick 2000)")
    parser.add_argument("--profile", action="store_true", help="add cProfile runs (warm)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch workspace")
    args = parser.parse_args(argv)
    args.runs = args.runs or (2 if args.quick else 5)
    args.count = args.count or (2000 if args.quick else 10000)
    if args.count < 20:
        parser.error("--count must be at least 20")
    return args


def _git(folder: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=bench", "-c", "user.email=bench@localhost", *args],
        cwd=folder,
        check=True,
        capture_output=True,
    )


def make_registry(ksi: list[str], folder: Path, count: int, env: dict[str, str]) -> None:
    """A registry with `count` patterns, committed in one commit."""
    subprocess.run(
        [*ksi, "registry", "init", "--empty", str(folder)], env=env, check=True, capture_output=True
    )
    rng = random.Random(SEED)
    names = pattern_names(count)
    patterns = folder / "orchestrations"
    patterns.mkdir(exist_ok=True)
    for index, name in enumerate(names):
        (patterns / f"{name}.yaml").write_text(pattern_text(index, names, rng), encoding="utf-8")
    _git(folder, "add", "-A")
    _git(folder, "commit", "-q", "-m", f"{count} generated patterns")


def _drop_cache(folder: Path) -> None:
    for name in CACHE_FILES:
        (folder / ".git" / "ksi" / name).unlink(missing_ok=True)


def _cache_size(folder: Path) -> int:
    return sum(path.stat().st_size for path in (folder / ".git" / "ksi").glob("index.sqlite*"))


def _time_cold(
    commands: list[Command], folder: Path, runs: int, env: dict[str, str]
) -> list[Timing]:
    samples: dict[str, list[float]] = {c.label: [] for c in commands}
    cpu: dict[str, list[float]] = {c.label: [] for c in commands}
    for index in range(runs):
        for command in commands:
            _drop_cache(folder)
            elapsed, cpu_time, _done = run_once(command, env=env, cwd=folder)
            samples[command.label].append(elapsed)
            cpu[command.label].append(cpu_time)
        if sys.stderr.isatty():
            print(f"\r  cold run {index + 1}/{runs}", end="", file=sys.stderr, flush=True)
    if sys.stderr.isatty():
        print(file=sys.stderr)
    return [Timing(c.label, tuple(samples[c.label]), tuple(cpu[c.label])) for c in commands]


def _time_after_commit(
    commands: list[Command], folder: Path, runs: int, env: dict[str, str]
) -> list[Timing]:
    """Each command run once after a commit that changes one pattern (the commit not timed):
    the folder's listing is then derived from the previous one and a tree diff."""
    samples: dict[str, list[float]] = {c.label: [] for c in commands}
    cpu: dict[str, list[float]] = {c.label: [] for c in commands}
    patterns = sorted((folder / "orchestrations").glob("*.yaml"))
    for index in range(runs):
        for number, command in enumerate(commands):
            path = patterns[(index * len(commands) + number) % len(patterns)]
            path.write_text(path.read_text(encoding="utf-8") + f"# edit {index}.{number}\n")
            _git(folder, "commit", "-q", "-a", "-m", f"edit {path.name}")
            elapsed, cpu_time, _done = run_once(command, env=env, cwd=folder)
            samples[command.label].append(elapsed)
            cpu[command.label].append(cpu_time)
    return [Timing(c.label, tuple(samples[c.label]), tuple(cpu[c.label])) for c in commands]


def _check_outputs(commands: list[Command], folder: Path, env: dict[str, str]) -> list[str]:
    """Each command's output cold and warm must be identical; returns a summary per command."""
    summaries = []
    for command in commands:
        _drop_cache(folder)
        start = time.perf_counter()
        _t, _c, cold = run_once(command, env=env, cwd=folder, capture=True)
        first = time.perf_counter() - start
        _t, _c, warm = run_once(command, env=env, cwd=folder, capture=True)
        if cold.stdout != warm.stdout:
            raise BenchError(f"{command.label}: cold and warm outputs differ")
        summaries.append(
            f"{command.label}: {len(cold.stdout):,} bytes of JSON (first run {ms(first)})"
        )
    return summaries


def _profile(commands: list[Command], folder: Path, env: dict[str, str]) -> None:
    import io
    import pstats

    for command in commands:
        out = folder.parent / f"{command.label}.prof"
        argv = [sys.executable, "-m", "cProfile", "-o", str(out), *ksi_python_argv()]
        subprocess.run(
            [*argv, *command.argv[len(ksi_argv()) :]],
            env=env,
            cwd=folder,
            capture_output=True,
            check=False,
        )
        text = io.StringIO()
        stats = pstats.Stats(str(out), stream=text)
        stats.sort_stats("cumulative").print_stats(20)
        stats.sort_stats("tottime").print_stats(12)
        print()
        print(f"cProfile of one warm {command.label} run (under the profiler's overhead):")
        print(text.getvalue())


def _table(timings: list[Timing], labels: dict[str, str]) -> None:
    width = max(len(label) for label in labels.values())
    header = f"{'median':>10}  {'min':>10}  {'max':>10}  {'cpu med':>10}"
    print(f"{'command':<{width}}  {header}  runs")
    for timing in timings:
        print(
            f"{labels[timing.label]:<{width}}  {ms(timing.median):>10}  {ms(timing.min):>10}  "
            f"{ms(max(timing.samples)):>10}  {ms(timing.cpu_median):>10}  {len(timing.samples)}"
        )


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    ksi = ksi_argv()
    print(f"find benchmark: {machine_line()}")
    note = bytecode_note()
    if note:
        print(note)
    print(f"ksi: {' '.join(ksi)}; {args.runs} runs of each, interleaved")
    with workspace("find", keep=args.keep) as work:
        env = bench_env(work)
        folder = work / "registry"
        try:
            start = time.perf_counter()
            make_registry(ksi, folder, args.count, env)
            print(
                f"registry: {args.count:,} patterns in one commit "
                f"(made in {time.perf_counter() - start:.1f} s)"
            )
            discover = Command(
                "discover",
                [*ksi, "pattern", "discover", "--tag", TAG, "--where", WHERE, "--json"],
            )
            select = Command("select", [*ksi, "pattern", "select", "--task", TASK, "--json"])
            baseline = Command("ls-tree", ["git", "ls-tree", "-r", "HEAD"])
            floor = Command("floor", [sys.executable, "-c", FLOOR_CODE])
            for line in _check_outputs([discover, select], folder, env):
                print(f"  {line}")
            print(f"  cache: {_cache_size(folder) / 1e6:.1f} MB under .git/ksi/")
            print()
            warm = time_commands(
                [baseline, floor, discover, select], runs=args.runs, warmups=1, env=env, cwd=folder
            )
            edited = _time_after_commit([discover, select], folder, args.runs, env)
            cold = _time_cold([discover, select], folder, max(1, min(args.runs, 3)), env)
            labels = {
                "ls-tree": "git ls-tree -r HEAD",
                "floor": f"python -c '{FLOOR_CODE}'",
                "discover": f"discover --tag {TAG} --where '{WHERE}' (warm)",
                "select": "select --task ... (warm)",
            }
            _table(warm, labels)
            _table(
                edited,
                {
                    "discover": "discover (after a commit changing 1 pattern)",
                    "select": "select (after a commit changing 1 pattern)",
                },
            )
            cold_labels = {
                "discover": "discover (cold: cache deleted first)",
                "select": "select (cold: cache deleted first)",
            }
            _table(cold, cold_labels)
            busy = contention_note([*warm, *edited, *cold])
            if busy:
                print(busy)
            bare, start, warm_discover, warm_select = warm
            print()
            for label, timing in (("discover", warm_discover), ("select", warm_select)):
                extra = (timing.median - start.median) * 1000
                print(
                    f"target: warm {label} under {TARGET_SECONDS} s  "
                    f"{verdict(timing.median < TARGET_SECONDS)} ({timing.median:.3f} s wall, "
                    f"{timing.cpu_median:.3f} s CPU; +{extra:.0f} ms over the start-up floor, "
                    f"{timing.median / bare.median:.0f}x ls-tree)"
                )
            for timing in edited:
                print(f"after a commit, {timing.label}: {timing.median:.2f} s (no target)")
            for timing in cold:
                print(f"cold {timing.label}: {timing.median:.2f} s (no target)")
            if args.profile:
                _profile([discover, select], folder, env)
        except BenchError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
