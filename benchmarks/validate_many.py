"""`ksi pattern validate` over 1,000 pattern files, against a bare YAML parse of the same files.

What is measured (whole-process wall time and the child's CPU time, fresh processes,
interleaved, after one warm-up run; bytecode caching on, as in an installed copy):
- `ksi pattern validate <folder>` on 1,000 generated, valid and varied pattern files (about 60
  to 120 lines each: a multi-line strategy DSL, agents, performance, learnings, metadata with
  tags; about a third `extends` an earlier one, so `extends` chains are checked too; every
  name matches its file name). The folder is a plain folder, not a git repository.
- baseline: `python -c` that loads the same 1,000 files with ruamel.yaml's safe loader on the C
  parser (YAML(typ="safe", pure=False)), i.e. the floor of any tool that reads them all in a
  fresh process.
Reported: both medians, the ratio, and the target (validate under 3 s).

Then 10 deliberately broken files (schema, name, `extends` and duplicate-name errors; no YAML
syntax errors, which are bad input and exit 2) are added, and one run of
`ksi pattern validate --format json` shows its time, exit code (expected 1) and findings.

Informational: the exit status is 0 whatever the figures (non-zero only if a command fails or a
generated "valid" file is reported invalid). `--profile` adds a cProfile run of the clean
validation (top functions by cumulative time).

    python benchmarks/validate_many.py [--quick] [--runs N] [--count N] [--profile] [--keep]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    BenchError,
    Command,
    as_expected,
    bench_env,
    bytecode_note,
    contention_note,
    ksi_argv,
    ksi_python_argv,
    machine_line,
    ms,
    time_commands,
    verdict,
    workspace,
)

TARGET_SECONDS = 3.0
SEED = 20261125

BASELINE_CODE = """\
import pathlib, sys
from ruamel.yaml import YAML
yaml = YAML(typ="safe", pure=False)
if yaml.Parser.__name__ != "CParser":
    sys.exit(f"not the C parser: {yaml.Parser!r}")
count = 0
for path in sorted(pathlib.Path(sys.argv[1]).rglob("*.yaml")):
    yaml.load(path.read_bytes())
    count += 1
print(count)
"""

# ---------------------------------------------------------------------------------------------
# Generating realistic patterns

FAMILIES = (
    "tournament",
    "pipeline",
    "consensus",
    "debate",
    "review",
    "research",
    "routing",
    "ensemble",
    "critique",
    "planner",
)
VARIANTS = ("basic", "adaptive", "swiss", "weighted", "staged", "robust", "fast", "hybrid")
EVENTS = (
    "orchestration:configure",
    "evaluation:prompt",
    "evaluation:adjust_complexity",
    "evaluation:set_timeout",
    "evaluation:rejudge",
    "monitoring:alert",
    "composition:track_decision",
    "agent:broadcast",
    "state:checkpoint",
    "pipeline:advance_stage",
)
METRICS = (
    "timeout_rate",
    "score_variance",
    "avg_response",
    "judge_disagreement",
    "queue_depth",
    "error_rate",
    "token_spend",
)
TAGS = (
    "adaptive",
    "evaluation",
    "competition",
    "ranking",
    "multi-agent",
    "pattern-aware",
    "pipeline",
    "consensus",
    "voting",
    "research",
    "planning",
    "review",
    "routing",
    "quality-aware",
    "low-latency",
    "cost-aware",
)
CAPABILITIES = (
    "agent:spawn",
    "evaluation:prompt",
    "composition:track_decision",
    "timeout_handling",
    "state:write",
    "message:broadcast",
)
AUTHORS = ("orchestrator_7f3e", "orchestrator_a41c", "orchestrator_0b9d", "alice", "ci-bot")
PROFILES = ("base_multi_agent", "base_orchestrator")


def pattern_names(count: int) -> list[str]:
    return [
        f"{FAMILIES[i % len(FAMILIES)]}_{VARIANTS[(i // len(FAMILIES)) % len(VARIANTS)]}_{i:04d}"
        for i in range(count)
    ]


def _strategy(rng: random.Random) -> list[str]:
    lines = ["WHEN starting_run:", "  ANALYZE participant_capabilities"]
    lines += [
        f'  SPAWN {role} WITH profile: "{rng.choice(PROFILES)}"' for role in ("worker", "judge")
    ]
    threshold = rng.choice((0.2, 0.3, 0.4))
    lines += [
        f"  IF variance(abilities) > {threshold}:",
        f'    EMIT "{EVENTS[0]}" WITH {{mode: "elimination"}}',
        "  ELSE:",
        f'    EMIT "{EVENTS[0]}" WITH {{mode: "round_robin"}}',
        "",
        "DURING each_round:",
        "  CALCULATE pairings from the current standings",
        f'  EMIT "{EVENTS[1]}" WITH {{judges_per_match: {rng.randint(1, 5)}}}',
        "  AWAIT round_results",
        f"  MONITOR metrics: {', '.join(rng.sample(METRICS, 4))}",
    ]
    for _ in range(rng.randint(0, 3)):
        metric = rng.choice(METRICS)
        event = rng.choice(EVENTS[2:])
        decision = f"adjusted_{metric}"
        lines += [
            "",
            f"  IF {metric} > {rng.randint(10, 60)}%:",
            f'    EMIT "{event}" WITH {{reduce: "{rng.randint(5, 40)}%"}}',
            f'    TRACK decision: "{decision}" WITH confidence: {rng.uniform(0.5, 0.95):.2f}',
        ]
    lines += [
        "",
        "AFTER completion:",
        "  CALCULATE performance_metrics",
        f'  EMIT "{rng.choice(EVENTS)}" WITH {{format: "ranked_table"}}',
        "  IF improved_over_baseline:",
        '    CONSIDER "composition:fork" IF confidence > 0.9',
    ]
    return lines


def pattern_text(index: int, names: list[str], rng: random.Random) -> str:
    """One valid pattern, named after its file, about 60-120 lines."""
    name = names[index]
    parent = names[rng.randrange(index)] if index >= 10 and rng.random() < 0.33 else None
    family = name.split("_")[0]
    version = f"{rng.randint(0, 3)}.{rng.randint(0, 12)}.{rng.randint(0, 9)}"
    author = rng.choice(AUTHORS)
    out = [
        "# yaml-language-server: $schema=https://ksi-patterns.dev/schemas/pattern.schema.json",
        f"# Generated for benchmarks/validate_many.py (pattern {index} of {len(names)}).",
        f"name: {name}",
        "type: orchestration",
        f'version: "{version}"',
        "description: >-",
        f"  A {family} pattern that coordinates several agents, adapts its rounds to",
        "  what it measures, and records each adaptation for the next version.",
        f"author: {author}",
    ]
    if parent is not None:
        out += [
            f"extends: {parent}",
            "",
            "lineage:",
            f"  parent: {parent}@1.0.0",
            f'  fork_date: "2026-{rng.randint(1, 10):02d}-{rng.randint(1, 28):02d}T12:00:00Z"',
            f'  fork_reason: "Tune {rng.choice(METRICS)} handling"',
            f"  fork_author: {author}",
            "  improvements:",
        ]
        out += [f'    - "Improved {metric} handling"' for metric in rng.sample(METRICS, 2)]
    out += [
        "",
        "orchestration_logic:",
        "  description: |",
        f"    Split the work among the agents, watch {rng.choice(METRICS)} between rounds and",
        "    adapt the next round to it; keep every adaptation with its context.",
        "  strategy: |",
    ]
    out += [f"    {line}" if line else "" for line in _strategy(rng)]
    out += ["", "agents:"]
    for role in rng.sample(
        ("coordinator", "worker", "judge", "critic", "scribe"), rng.randint(1, 3)
    ):
        out += [
            f"  {role}:",
            f"    profile: {rng.choice(PROFILES)}",
            f"    count: {rng.randint(1, 6)}",
            f"    role: The {role} of the {family}.",
        ]
    runs = rng.randint(0, 400)
    out += [
        "",
        "performance:",
        f"  runs: {runs}",
        f"  avg_score: {rng.uniform(0.4, 0.95):.3f}",
        f"  success_rate: {rng.uniform(0.5, 1.0):.2f}",
        f"  timeout_rate: {rng.uniform(0.0, 0.3):.2f}",
        f'  last_run: "2026-11-{rng.randint(1, 24):02d}T{rng.randint(0, 23):02d}:15:00Z"',
        "",
        "learnings:",
    ]
    for _ in range(rng.randint(1, 3)):
        runs_cited = sorted(rng.sample(range(1, max(runs, 8) + 1), 3))
        out += [
            f'  - insight: "{rng.choice(METRICS)} above {rng.randint(5, 50)}% calls for '
            f'{rng.choice(("smaller tests", "more judges", "longer timeouts", "re-pairing"))}"',
            f"    confidence: {rng.uniform(0.5, 0.99):.2f}",
            f'    evidence: "runs:{runs_cited}"',
            f'    discovered_by: "{rng.choice(AUTHORS)}"',
        ]
    low = rng.randint(2, 6)
    out += ["", "metadata:", "  tags:"]
    out += [f"    - {tag}" for tag in [family, *rng.sample(TAGS, rng.randint(2, 6))]]
    out += ["  capabilities_required:"]
    out += [f"    - {cap}" for cap in rng.sample(CAPABILITIES, rng.randint(2, 4))]
    out += [
        "  use_cases:",
        f"    - Run a {family} over prompts whose quality is unknown in advance",
        "    - Compare agents when some of them may time out",
        "  selection_criteria:",
        "    task_keywords:",
    ]
    out += [f"      - {word}" for word in (family, *rng.sample(TAGS, 3))]
    out += [
        f"    min_participants: {low}",
        f"    max_participants: {low * rng.randint(2, 16)}",
        f"    complexity: {rng.choice(('low', 'medium', 'high'))}",
    ]
    return "\n".join(out) + "\n"


def write_patterns(folder: Path, count: int) -> list[str]:
    """`count` valid patterns in `folder` (no git); returns their names."""
    rng = random.Random(SEED)
    names = pattern_names(count)
    folder.mkdir(parents=True)
    for index, name in enumerate(names):
        (folder / f"{name}.yaml").write_text(pattern_text(index, names, rng), encoding="utf-8")
    return names


def write_broken(folder: Path, names: list[str]) -> int:
    """10 invalid files among the valid ones; returns how many files were written."""
    rng = random.Random(SEED + 1)
    sample = names[10]

    def variant(new_name: str, old: str, new: str) -> str:
        # pattern 5 has no `extends` or `lineage` (only patterns from index 10 may), so both can
        # be added without making a duplicate key
        text = pattern_text(5, names, rng).replace(f"name: {names[5]}", f"name: {new_name}", 1)
        if old not in text:
            raise AssertionError(f"cannot break {new_name}: {old!r} not in the text")
        return text.replace(old, new, 1)

    broken = {
        "broken_version": ("version: ", 'version: "1.2"\nx_old_version: '),
        "broken_confidence": ("    confidence: ", "    confidence: 1.7\n    x_confidence: "),
        "broken_runs": ("  runs: ", "  runs: -3\n  x_runs: "),
        "broken_tags": ("  tags:\n", '  tags: "not a list"\n  x_tags:\n'),
        "broken_fork_date": ("author: ", 'lineage:\n  fork_date: "last tuesday"\nauthor: '),
        "broken_extends_missing": ("author: ", "extends: no_such_pattern\nauthor: "),
        "broken_cycle_a": ("author: ", "extends: broken_cycle_b\nauthor: "),
        "broken_cycle_b": ("author: ", "extends: broken_cycle_a\nauthor: "),
    }
    for name, (old, new) in broken.items():
        (folder / f"{name}.yaml").write_text(variant(name, old, new), encoding="utf-8")
    # a file whose name field disagrees with its file name
    (folder / "broken_name_mismatch.yaml").write_text(
        variant("broken_name_elsewhere", "author: ", "author: "), encoding="utf-8"
    )
    # a second document with the name of an existing one (in a subfolder, so the file name fits)
    (folder / "dup").mkdir()
    (folder / "dup" / f"{sample}.yaml").write_text(variant(sample, "author: ", "author: "))
    return len(broken) + 2


# ---------------------------------------------------------------------------------------------
# Measuring


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="2 runs (CI smoke).")
    parser.add_argument("--runs", type=int, help="timed runs of each command (default 5)")
    parser.add_argument("--count", type=int, default=1000, help="pattern files (default 1000)")
    parser.add_argument("--profile", action="store_true", help="add a cProfile run")
    parser.add_argument("--keep", action="store_true", help="keep the scratch workspace")
    args = parser.parse_args(argv)
    args.runs = args.runs or (2 if args.quick else 5)
    if args.count < 20:
        parser.error("--count must be at least 20")
    return args


def _corpus_line(folder: Path) -> str:
    files = sorted(folder.rglob("*.yaml"))
    texts = [path.read_text(encoding="utf-8") for path in files]
    lines = [text.count("\n") for text in texts]
    extending = sum("\nextends: " in text for text in texts)
    size = sum(len(text.encode()) for text in texts)
    return (
        f"corpus: {len(files)} files, {size / 1024:.0f} KiB, lines per file "
        f"min {min(lines)} / median {statistics.median(lines):.0f} / max {max(lines)}, "
        f"{extending} with extends"
    )


def _check_clean(ksi: list[str], folder: Path, env: dict[str, str], cwd: Path) -> None:
    done = subprocess.run(
        [*ksi, "pattern", "validate", "--format", "json", str(folder)],
        env=env,
        cwd=cwd,
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        raise BenchError(
            f"the generated files should be valid but validate exited {done.returncode}:\n"
            f"{done.stdout.decode(errors='replace')[:3000]}{done.stderr.decode(errors='replace')}"
        )


def _check_baseline(folder: Path, count: int, env: dict[str, str], cwd: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", BASELINE_CODE, str(folder)],
        env=env,
        cwd=cwd,
        capture_output=True,
        check=False,
    )
    loaded = done.stdout.decode(errors="replace").strip()
    if done.returncode != 0 or loaded != str(count):
        raise BenchError(
            f"the baseline should load {count} files but printed {loaded!r} "
            f"(exit {done.returncode}):\n{done.stderr.decode(errors='replace')}"
        )


def _broken_run(ksi: list[str], folder: Path, env: dict[str, str], cwd: Path, files: int) -> None:
    argv = [*ksi, "pattern", "validate", "--format", "json", str(folder)]
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        raise BenchError(
            f"validate --format json printed no JSON (exit {done.returncode}):\n"
            f"{done.stderr.decode(errors='replace')}"
        ) from None
    findings = report["findings"]
    bad_files = {finding["file"] for finding in findings}
    rules = Counter(finding["rule"] for finding in findings)
    print()
    print(f"with {files} broken files mixed in ({report['files']} files), one run:")
    print(f"  time        {ms(elapsed)}")
    print(f"  exit code   {done.returncode}  (expected 1)  {as_expected(done.returncode == 1)}")
    expected_rules = {
        "schema",
        "name-mismatch",
        "duplicate-name",
        "extends-missing",
        "extends-cycle",
    }
    ok = len(bad_files) == files and set(rules) == expected_rules
    print(
        f"  findings    {len(findings)} in {len(bad_files)} files "
        f"(expected: {files} files, rules {', '.join(sorted(expected_rules))})  {as_expected(ok)}"
    )
    print(f"  by rule     {', '.join(f'{rule} {n}' for rule, n in sorted(rules.items()))}")


def _profile(folder: Path, env: dict[str, str], cwd: Path) -> None:
    out = cwd / "validate.prof"
    argv = [sys.executable, "-m", "cProfile", "-o", str(out), *ksi_python_argv()]
    subprocess.run(
        [*argv, "pattern", "validate", str(folder)],
        env=env,
        cwd=cwd,
        capture_output=True,
        check=False,
    )
    import io
    import pstats

    text = io.StringIO()
    stats = pstats.Stats(str(out), stream=text)
    stats.sort_stats("cumulative").print_stats(25)
    stats.sort_stats("tottime").print_stats(15)
    print()
    print("cProfile of the clean validation (one run, under the profiler's overhead):")
    print(text.getvalue())


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    ksi = ksi_argv()
    print(f"validate benchmark: {machine_line()}")
    note = bytecode_note()
    if note:
        print(note)
    print(f"ksi: {' '.join(ksi)}; {args.runs} runs after 1 warm-up, interleaved")
    with workspace("validate", keep=args.keep) as work:
        env = bench_env(work)
        folder = work / "patterns"
        try:
            names = write_patterns(folder, args.count)
            print(_corpus_line(folder))
            print()
            _check_clean(ksi, folder, env, work)
            _check_baseline(folder, args.count, env, work)
            commands = [
                Command("bare", [sys.executable, "-c", BASELINE_CODE, str(folder)]),
                Command("validate", [*ksi, "pattern", "validate", str(folder)]),
            ]
            timings = time_commands(commands, runs=args.runs, warmups=1, env=env, cwd=work)
            labels = {
                "bare": f"python -c <load {args.count} files, ruamel safe C loader>",
                "validate": f"ksi pattern validate <folder of {args.count}>",
            }
            width = max(len(label) for label in labels.values())
            header = f"{'median':>10}  {'min':>10}  {'max':>10}  {'cpu med':>10}"
            print(f"{'command':<{width}}  {header}  runs")
            for timing in timings:
                print(
                    f"{labels[timing.label]:<{width}}  {ms(timing.median):>10}  "
                    f"{ms(timing.min):>10}  {ms(max(timing.samples)):>10}  "
                    f"{ms(timing.cpu_median):>10}  {len(timing.samples)}"
                )
            busy = contention_note(timings)
            if busy:
                print(busy)
            bare, validate = timings
            extra = validate.median - bare.median
            print()
            print(
                f"validate/bare  {validate.median / bare.median:.2f}x wall "
                f"(+{extra * 1000:.0f} ms, {extra / args.count * 1e6:.0f} us per file); "
                f"{validate.cpu_median / bare.cpu_median:.2f}x CPU"
            )
            print(
                f"target: validate under {TARGET_SECONDS:.0f} s  "
                f"{verdict(validate.median < TARGET_SECONDS)} ({validate.median:.2f} s wall, "
                f"{validate.cpu_median:.2f} s CPU)"
            )
            if args.profile:
                _profile(folder, env, work)
            broken = write_broken(folder, names)
            _broken_run(ksi, folder, env, work, broken)
        except BenchError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
