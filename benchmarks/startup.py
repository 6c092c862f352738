"""Start-up cost of `ksi`: whole-process wall time of simple commands against a bare baseline.

What is measured (fresh processes, interleaved, after warm-up runs; median, min, p90 and the
median CPU time of the child; bytecode caching on, as in an installed copy):
- baseline: `python -c "import typer, pygit2, ruamel.yaml"` with the interpreter ksi runs on
  (sys.executable): the floor of any ksi command that reads a registry;
- `ksi --help`;
- `ksi pattern list` and `ksi pattern show adaptive_tournament_v2` against a fresh registry
  made by `ksi registry init` in a scratch folder (XDG_* redirected there, so the user's data
  and default registry are untouched).

Reported against the baseline measured in the same run: list/bare and show/bare, with the target
(within 1.5x; DESIGN.md section 8: start-up is part of the product). Then one
`python -X importtime` run per ksi command shows which heavy modules (anthropic, deepdiff,
jsonschema) were imported, which must be none, and which modules `pattern list` and
`pattern show` import beyond the baseline's, by package.

Informational: the exit status is 0 whatever the figures (non-zero only if a command fails).

    python benchmarks/startup.py [--quick] [--runs N] [--warmups N] [--keep]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    HEAVY_MODULES,
    BenchError,
    Command,
    Timing,
    bench_env,
    bytecode_note,
    contention_note,
    heavy_imported,
    ksi_argv,
    ksi_imports,
    machine_line,
    ms,
    self_time_by_package,
    time_commands,
    traced_imports,
    verdict,
    workspace,
)

TARGET_RATIO = 1.5
SHOWN_PATTERN = "adaptive_tournament_v2"
BASELINE_CODE = "import typer, pygit2, ruamel.yaml"


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="5 runs, 1 warm-up (CI smoke).")
    parser.add_argument("--runs", type=int, help="timed runs per command (default 15)")
    parser.add_argument("--warmups", type=int, help="untimed runs first (default 2)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch workspace")
    args = parser.parse_args(argv)
    args.runs = args.runs or (5 if args.quick else 15)
    args.warmups = args.warmups if args.warmups is not None else (1 if args.quick else 2)
    if args.runs < 2:
        parser.error("--runs must be at least 2")
    if args.warmups < 1:
        parser.error("--warmups must be at least 1 (the first run fills the bytecode cache)")
    return args


def _init_registry(ksi: list[str], registry: Path, env: dict[str, str], cwd: Path) -> None:
    done = subprocess.run(
        [*ksi, "registry", "init", str(registry)],
        env=env,
        cwd=cwd,
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        raise BenchError(f"ksi registry init failed:\n{done.stderr.decode(errors='replace')}")


def _print_table(timings: list[Timing], labels: dict[str, str]) -> None:
    width = max(len(text) for text in labels.values())
    print(f"{'command':<{width}}  {'median':>10}  {'min':>10}  {'p90':>10}  {'cpu med':>10}  runs")
    for timing in timings:
        print(
            f"{labels[timing.label]:<{width}}  {ms(timing.median):>10}  {ms(timing.min):>10}  "
            f"{ms(timing.p90):>10}  {ms(timing.cpu_median):>10}  {len(timing.samples)}"
        )


def _print_ratios(by_label: dict[str, Timing]) -> None:
    bare = by_label["bare"]
    print()
    print(
        f"ratio to the baseline, wall-time medians (target: within {TARGET_RATIO}x); "
        "minimums and CPU medians as checks against machine noise"
    )
    for label, target in (("list", True), ("show", True), ("help", False)):
        timing = by_label[label]
        ratio = timing.median / bare.median
        extra = timing.median - bare.median
        note = verdict(ratio <= TARGET_RATIO) if target else "(no target)"
        cpu_ratio = timing.cpu_median / bare.cpu_median
        print(
            f"  {label}/bare  {ratio:5.2f}x  (+{extra * 1000:3.0f} ms)  {note:<11}  "
            f"min/min {timing.min / bare.min:4.2f}x  cpu/cpu {cpu_ratio:4.2f}x"
        )


def _print_imports(
    ksi_args: dict[str, list[str]], env: dict[str, str], cwd: Path, repeat: int
) -> None:
    print()
    heavy_names = ", ".join(HEAVY_MODULES)
    print(f"heavy modules imported (python -X importtime; must be none of {heavy_names})")
    traced = {
        label: ksi_imports(args, env=env, cwd=cwd, repeat=repeat)
        for label, args in ksi_args.items()
    }
    for label, records in traced.items():
        heavy = heavy_imported(records)
        print(f"  {label:<5} {', '.join(heavy) if heavy else 'none':<30} {verdict(not heavy)}")
    baseline = {
        record.module
        for record in traced_imports(["-c", BASELINE_CODE], env=env, cwd=cwd, repeat=repeat)
    }
    for label in ("list", "show"):
        extra = [record for record in traced[label] if record.module not in baseline]
        total = sum(record.self_us for record in extra)
        print()
        print(
            f"`pattern {label}` imports {len(extra)} modules beyond the baseline's: "
            f"{total / 1000:.0f} ms of self time under importtime (median of {repeat}), by package:"
        )
        for package, self_us in self_time_by_package(extra, 8):
            print(f"  {package:<24} {self_us / 1000:7.1f} ms")


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    ksi = ksi_argv()
    print(f"startup benchmark: {machine_line()}")
    note = bytecode_note()
    if note:
        print(note)
    print(f"ksi: {' '.join(ksi)}; {args.runs} runs after {args.warmups} warm-up(s), interleaved")
    print()
    with workspace("startup", keep=args.keep) as work:
        env = bench_env(work)
        registry = work / "registry"
        ksi_args = {
            "help": ["--help"],
            "list": ["pattern", "list", "--registry", str(registry)],
            "show": ["pattern", "show", SHOWN_PATTERN, "--registry", str(registry)],
        }
        commands = [Command("bare", [sys.executable, "-c", BASELINE_CODE])]
        commands += [Command(label, [*ksi, *rest]) for label, rest in ksi_args.items()]
        labels = {
            "bare": f'python -c "{BASELINE_CODE}"',
            "help": "ksi --help",
            "list": "ksi pattern list",
            "show": f"ksi pattern show {SHOWN_PATTERN}",
        }
        try:
            _init_registry(ksi, registry, env, work)
            timings = time_commands(
                commands, runs=args.runs, warmups=args.warmups, env=env, cwd=work
            )
            _print_table(timings, labels)
            busy = contention_note(timings)
            if busy:
                print(busy)
            _print_ratios({timing.label: timing for timing in timings})
            _print_imports(ksi_args, env, work, repeat=1 if args.quick else 3)
        except BenchError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
