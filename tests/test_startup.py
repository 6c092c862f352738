"""Start-up is part of the product: `ksi --help` and simple reads import no heavy modules.

Each check runs `ksi` in a fresh interpreter and records, at exit, which of the heavy modules
were imported; a control command that needs jsonschema shows the probe really sees imports.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO_ROOT

HEAVY = ("anthropic", "deepdiff", "jsonschema", "mcp")  # mcp: the SDK, ~1.7 s; `ksi mcp` only

PROBE = """\
import atexit, json, sys

def _record():
    loaded = sorted(m for m in sys.modules if m.split(".")[0] in {heavy!r})
    with open({out!r}, "w") as handle:
        json.dump({{"loaded": loaded, "ksi": "ksi_patterns.cli.app" in sys.modules}}, handle)

atexit.register(_record)
sys.argv = ["ksi", *{args!r}]
from ksi_patterns.cli.app import main
main()
"""


def imported_by(args: list[str], cwd: Path, tmp_path: Path) -> tuple[int, list[str], str]:
    out = tmp_path / "modules.json"
    out.unlink(missing_ok=True)
    script = PROBE.format(heavy=set(HEAVY), out=str(out), args=args)
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert "Traceback" not in done.stderr, done.stderr
    record = json.loads(out.read_text())
    assert record["ksi"], "the probe did not run ksi"
    return done.returncode, record["loaded"], done.stdout


@pytest.fixture
def registry(registry_dir: Path) -> Path:
    return registry_dir


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["pattern", "--help"],
        ["pattern", "list"],
        ["pattern", "list", "--json"],
        ["pattern", "show", "tournament_basic"],
        ["pattern", "show", "adaptive_tournament_v2", "--resolved", "--json"],
        ["registry", "info"],
        ["mcp", "--help"],
    ],
    ids=" ".join,
)
def test_simple_commands_import_no_heavy_module(
    args: list[str], registry: Path, tmp_path: Path
) -> None:
    code, loaded, stdout = imported_by(args, registry, tmp_path)
    assert code == 0
    assert stdout  # the command did its work
    assert loaded == []


def test_the_probe_sees_a_heavy_import(registry: Path, tmp_path: Path) -> None:
    code, loaded, _stdout = imported_by(["pattern", "validate"], registry, tmp_path)
    assert code == 0
    assert "jsonschema" in loaded


def test_the_installed_entry_point_starts(registry: Path) -> None:
    ksi = Path(sys.executable).with_name("ksi")
    if not ksi.exists():
        ksi = REPO_ROOT / ".venv" / "bin" / "ksi"
    done = subprocess.run(
        [str(ksi), "pattern", "list", "--json"],
        cwd=registry,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "tournament_basic" in {row["name"] for row in json.loads(done.stdout)}
    module = subprocess.run(
        [sys.executable, "-m", "ksi_patterns", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert module.returncode == 0
    assert module.stdout.startswith("ksi ")


COMMAND_PROBE = """\
import atexit, json, sys

def _record():
    loaded = sorted(m for m in sys.modules if m.startswith("ksi_patterns.cli."))
    with open({out!r}, "w") as handle:
        json.dump(loaded, handle)

atexit.register(_record)
sys.argv = ["ksi", *{args!r}]
from ksi_patterns.cli.app import main
main()
"""


@pytest.mark.parametrize(
    ("args", "absent", "present"),
    [
        (["--help"], "ksi_patterns.cli.pattern_read", "ksi_patterns.cli.app"),
        (["pattern", "list"], "ksi_patterns.cli.sync_cmd", "ksi_patterns.cli.pattern_read"),
        (["registry", "info"], "ksi_patterns.cli.orchestrate_cmd", "ksi_patterns.cli.sync_cmd"),
        (["pattern", "list"], "ksi_patterns.cli.mcp_cmd", "ksi_patterns.cli.pattern_read"),
        (["mcp", "--help"], "ksi_patterns.cli.pattern_read", "ksi_patterns.cli.mcp_cmd"),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else value,
)
def test_only_the_group_that_runs_is_built(
    args: list[str], absent: str, present: str, registry: Path, tmp_path: Path
) -> None:
    """Typer builds a command from every registered signature at each start: a group's commands
    are registered only when that group runs."""
    out = tmp_path / "cli-modules.json"
    done = subprocess.run(
        [sys.executable, "-c", COMMAND_PROBE.format(out=str(out), args=args)],
        cwd=registry,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    loaded = json.loads(out.read_text())
    assert present in loaded
    assert absent not in loaded
