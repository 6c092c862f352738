"""Shared helpers for the benchmark scripts: fresh-process timing, summaries, a scratch workspace.

Every figure is whole-process wall time (`time.perf_counter` around `subprocess.run`), so
interpreter start-up, imports and exit are all included: that is what a user (or shell
completion, which runs the program on every TAB) pays. Standard library only.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
WORK_DIR = BENCH_DIR / ".work"  # gitignored (/benchmarks/.work/)

# Imported by nothing that only reads: see DESIGN.md section 8.
HEAVY_MODULES = ("anthropic", "deepdiff", "jsonschema")


def ksi_argv() -> list[str]:
    """How to run `ksi` with the interpreter running this script.

    The console script next to `sys.executable` first (what `pip install -e .` makes in a venv),
    then `ksi` on PATH, then `python -m ksi_patterns`.
    """
    beside = Path(sys.executable).parent / ("ksi.exe" if os.name == "nt" else "ksi")
    if beside.is_file():
        return [str(beside)]
    on_path = shutil.which("ksi")
    if on_path:
        return [on_path]
    return [sys.executable, "-m", "ksi_patterns"]


def ksi_python_argv() -> list[str]:
    """Arguments after `python [-X ...]` that run ksi, so interpreter flags can be added."""
    argv = ksi_argv()
    if argv[0] == sys.executable:
        return argv[1:]
    script = Path(argv[0])
    if script.suffix == ".exe":  # a Windows launcher cannot be run by python itself
        return ["-m", "ksi_patterns"]
    return [str(script)]


@dataclass(frozen=True)
class Timing:
    """Wall times (seconds) of repeated fresh-process runs of one command, and their CPU times.

    Wall time is what the user waits; CPU time (user + system of the child) barely moves when
    other processes compete for the cores, so it is the steadier figure on a busy machine.
    """

    label: str
    samples: tuple[float, ...]
    cpu: tuple[float, ...] = ()

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu) if self.cpu else math.nan

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def min(self) -> float:
        return min(self.samples)

    @property
    def p90(self) -> float:
        if len(self.samples) < 2:
            return self.samples[0]
        return statistics.quantiles(self.samples, n=10, method="inclusive")[-1]


@dataclass(frozen=True)
class Command:
    label: str
    argv: Sequence[str]
    expect_rc: int = 0


class BenchError(RuntimeError):
    """A benchmarked command did not behave as expected (wrong exit code)."""


def _children_cpu() -> float:
    """User + system CPU seconds of all waited-for child processes so far (nan off Unix)."""
    try:
        import resource
    except ImportError:
        return math.nan
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_once(
    command: Command, *, env: Mapping[str, str], cwd: Path, capture: bool = False
) -> tuple[float, float, subprocess.CompletedProcess[bytes]]:
    """Wall and CPU time of one fresh-process run; BenchError on an unexpected exit code."""
    out = subprocess.PIPE if capture else subprocess.DEVNULL
    cpu_before = _children_cpu()
    start = time.perf_counter()
    done = subprocess.run(
        list(command.argv), env=dict(env), cwd=cwd, stdout=out, stderr=subprocess.PIPE, check=False
    )
    elapsed = time.perf_counter() - start
    cpu = _children_cpu() - cpu_before
    if done.returncode != command.expect_rc:
        raise BenchError(
            f"{command.label}: exit {done.returncode} (expected {command.expect_rc}): "
            f"{' '.join(command.argv)}\n{done.stderr.decode(errors='replace')[-2000:]}"
        )
    return elapsed, cpu, done


def time_commands(
    commands: Sequence[Command],
    *,
    runs: int,
    warmups: int,
    env: Mapping[str, str],
    cwd: Path,
    progress: bool = True,
) -> list[Timing]:
    """Time each command `runs` times after `warmups` untimed runs, in fresh processes.

    Runs are interleaved (a, b, c, a, b, c, ...) so that drift in machine load during the
    benchmark falls on every command alike rather than on whichever ran last.
    """
    for _ in range(warmups):
        for command in commands:
            run_once(command, env=env, cwd=cwd)
    samples: dict[str, list[float]] = {command.label: [] for command in commands}
    cpu: dict[str, list[float]] = {command.label: [] for command in commands}
    for index in range(runs):
        for command in commands:
            elapsed, cpu_time, _done = run_once(command, env=env, cwd=cwd)
            samples[command.label].append(elapsed)
            cpu[command.label].append(cpu_time)
        if progress and sys.stderr.isatty():
            print(f"\r  run {index + 1}/{runs}", end="", file=sys.stderr, flush=True)
    if progress and sys.stderr.isatty():
        print(file=sys.stderr)
    return [
        Timing(command.label, tuple(samples[command.label]), tuple(cpu[command.label]))
        for command in commands
    ]


def bench_env(home: Path) -> dict[str, str]:
    """The current environment with user data, config and cache redirected under `home`.

    Leaves the user's default registry alone, and removes what would change the measurement
    ($KSI_REGISTRY, import-time tracing, colour forcing, PYTHONDONTWRITEBYTECODE).
    """
    env = dict(os.environ)
    for name in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"):
        folder = home / name.lower()
        folder.mkdir(parents=True, exist_ok=True)
        env[name] = str(folder)
    for name in (
        "KSI_REGISTRY",
        "PYTHONPROFILEIMPORTTIME",
        "PYTHONDEVMODE",
        "FORCE_COLOR",
        "PYTHONDONTWRITEBYTECODE",
    ):
        env.pop(name, None)
    # Bytecode caching on, as in an installed copy (pip compiles site-packages; an editable
    # checkout caches on first import), but kept in the workspace so that nothing is written
    # next to the sources. The warm-up runs fill it, for the baseline and ksi alike.
    env["PYTHONPYCACHEPREFIX"] = str(home / "pycache")
    env["NO_COLOR"] = "1"
    env["COLUMNS"] = "160"
    return env


@contextmanager
def workspace(name: str, *, keep: bool = False) -> Iterator[Path]:
    """A fresh folder under benchmarks/.work/ (gitignored), removed afterwards unless `keep`."""
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=WORK_DIR))
    try:
        yield folder
    finally:
        if keep:
            print(f"kept workspace: {folder}", file=sys.stderr)
        else:
            shutil.rmtree(folder, ignore_errors=True)


_IMPORTTIME = re.compile(r"^import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)\s*$")


@dataclass(frozen=True)
class ImportRecord:
    module: str
    self_us: int
    cumulative_us: int
    depth: int  # 0: imported directly by the program (not from inside another import)


def import_times(stderr: str) -> list[ImportRecord]:
    """Parse `python -X importtime` output (stderr) into records, in import order."""
    records = []
    for line in stderr.splitlines():
        match = _IMPORTTIME.match(line)
        if match:
            self_us, cumulative_us, indent, module = match.groups()
            depth = (len(indent) - 1) // 2
            records.append(ImportRecord(module, int(self_us), int(cumulative_us), depth))
    return records


def traced_imports(
    python_args: Sequence[str], *, env: Mapping[str, str], cwd: Path, repeat: int = 1
) -> list[ImportRecord]:
    """The modules `python <python_args>` imports, under `python -X importtime`.

    With `repeat` > 1, the run is repeated and each module's times are the median over the runs
    (one traced run on a busy machine is noisy).
    """
    argv = [sys.executable, "-X", "importtime", *python_args]
    runs: list[list[ImportRecord]] = []
    for _ in range(max(1, repeat)):
        done = subprocess.run(
            argv, env=dict(env), cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        if done.returncode != 0:
            raise BenchError(f"exit {done.returncode}: {' '.join(argv)}")
        runs.append(import_times(done.stderr.decode(errors="replace")))
    if len(runs) == 1:
        return runs[0]
    by_module: dict[str, list[ImportRecord]] = {}
    for records in runs:
        for record in records:
            by_module.setdefault(record.module, []).append(record)
    return [
        ImportRecord(
            record.module,
            int(statistics.median(r.self_us for r in by_module[record.module])),
            int(statistics.median(r.cumulative_us for r in by_module[record.module])),
            record.depth,
        )
        for record in runs[0]
    ]


def ksi_imports(
    args: Sequence[str], *, env: Mapping[str, str], cwd: Path, repeat: int = 1
) -> list[ImportRecord]:
    """The modules `ksi <args>` imports (see traced_imports)."""
    return traced_imports([*ksi_python_argv(), *args], env=env, cwd=cwd, repeat=repeat)


def heavy_imported(records: Sequence[ImportRecord]) -> list[str]:
    """Which of HEAVY_MODULES (or their submodules) appear among `records`."""
    names = {record.module for record in records}
    return [
        heavy
        for heavy in HEAVY_MODULES
        if any(name == heavy or name.startswith(heavy + ".") for name in names)
    ]


def self_time_by_package(records: Sequence[ImportRecord], count: int) -> list[tuple[str, int]]:
    """The `count` top-level packages whose own module bodies cost most: (package, self us).

    Self times add up to the whole import time, so this says where it goes (typer vs click vs
    rich vs pygit2 ...) regardless of which module pulled a package in.
    """
    totals: dict[str, int] = {}
    for record in records:
        package = record.module.split(".")[0]
        totals[package] = totals.get(package, 0) + record.self_us
    return sorted(totals.items(), key=lambda item: -item[1])[:count]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f} ms"


def verdict(ok: bool) -> str:
    """Against a performance target."""
    return "PASS" if ok else "OVER"


def as_expected(ok: bool) -> str:
    """Against an expected behaviour (exit code, findings)."""
    return "ok" if ok else "UNEXPECTED"


def contention_note(timings: Sequence[Timing]) -> str | None:
    """A warning when wall time ran well past CPU time: the processes waited for a core."""
    worst = max(timing.median / timing.cpu_median for timing in timings)
    if math.isnan(worst) or worst < 1.15:
        return None
    return (
        f"note: wall time ran up to {worst:.2f}x the CPU time: other processes were competing "
        "for the cores, so wall figures are inflated; the CPU column is the steadier one"
    )


def bytecode_note() -> str | None:
    """A note when the caller's environment disables bytecode caching (the benchmark does not)."""
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        return (
            "note: PYTHONDONTWRITEBYTECODE is set here; the benchmark turns bytecode caching on "
            "(PYTHONPYCACHEPREFIX in its workspace) so that figures match an installed copy"
        )
    return None


def machine_line() -> str:
    """One line naming the interpreter and machine the figures were taken on."""
    impl = sys.implementation.name
    version = ".".join(str(part) for part in sys.version_info[:3])
    return (
        f"{impl} {version} on {sys.platform}, {os.cpu_count()} CPU(s), {load_line()}; "
        f"{sys.executable}"
    )


def load_line() -> str:
    """The 1-minute load average (a busy machine makes wall times noisy), where known."""
    try:
        return f"load {os.getloadavg()[0]:.2f}"
    except (AttributeError, OSError):
        return "load unknown"
