"""Shared fixtures: an isolated environment per test, the CLI in-process, real registries.

Every test gets its own XDG_DATA_HOME (where the default registry lives on Linux), no
KSI_REGISTRY, and runs from its own tmp_path, so that nothing reaches the user's real data.
"""

from __future__ import annotations

import functools
import json
import subprocess
import sys
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import typer
import typer.main
from typer.testing import CliRunner

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "ksi-5a58af6"
REPO_ROOT = Path(__file__).resolve().parents[1]
STARTER = REPO_ROOT / "registry"


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Own data home, no KSI_REGISTRY, cwd in tmp_path."""
    data_home = tmp_path / "xdg-data"
    data_home.mkdir()
    monkeypatch.setenv("XDG_DATA_HOME", str(data_home))
    monkeypatch.delenv("KSI_REGISTRY", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.chdir(tmp_path)
    return data_home


@pytest.fixture
def corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.skip(f"corpus not found at {CORPUS}")
    return CORPUS


@dataclass(frozen=True)
class Run:
    """What one `ksi` invocation did."""

    args: tuple[str, ...]
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def json(self) -> Any:
        return json.loads(self.stdout)

    def __repr__(self) -> str:  # shown by pytest when an assertion on a Run fails
        return (
            f"Run(ksi {' '.join(self.args)!s} -> exit {self.exit_code}\n"
            f"--- stdout ---\n{self.stdout}--- stderr ---\n{self.stderr})"
        )


RunFn = Callable[..., Run]


@functools.cache
def _command(app: typer.Typer) -> Any:
    """Typer rebuilds the click command from the annotations on every call (~40 ms); tests
    register every group once and build the command once. main() then runs that very object.
    """
    from ksi_patterns.cli.app import register_all

    register_all()
    return _build_command(app)


_build_command = typer.main.get_command


def invoke(args: tuple[str, ...], env: Mapping[str, str | None] | None, input: str | None) -> Run:
    """`ksi ARGS` in this process, through `main()` (where KsiError becomes an exit code).

    An exception other than SystemExit escaping main() is a bug in the CLI: the test fails with
    the traceback and what was printed so far.
    """
    from ksi_patterns.cli.app import main

    runner = CliRunner()
    exit_code = 0
    crash: str | None = None
    with runner.isolation(input=input, env=env) as (out, err, _mixed):
        saved_argv = sys.argv
        sys.argv = ["ksi", *args]
        try:
            with mock.patch.object(typer.main, "get_command", _command):
                main()
        except SystemExit as done:
            code = done.code
            if code is None:
                exit_code = 0
            elif isinstance(code, int):
                exit_code = code
            else:
                sys.stderr.write(f"{code}\n")
                exit_code = 1
        except BaseException:
            crash = traceback.format_exc()
        finally:
            sys.argv = saved_argv
            sys.stdout.flush()
            sys.stderr.flush()
            stdout = out.getvalue().decode("utf-8", "replace")
            stderr = err.getvalue().decode("utf-8", "replace")
    if crash is not None:
        pytest.fail(
            f"ksi {' '.join(args)} raised instead of exiting:\n{crash}\n"
            f"--- stdout ---\n{stdout}--- stderr ---\n{stderr}",
            pytrace=False,
        )
    return Run(tuple(args), exit_code, stdout, stderr)


@pytest.fixture
def run() -> RunFn:
    """run("pattern", "list", env={...}, input=...) -> Run(exit_code, stdout, stderr)."""

    def _run(
        *args: str | Path, env: Mapping[str, str | None] | None = None, input: str | None = None
    ) -> Run:
        return invoke(tuple(str(a) for a in args), env, input)

    return _run


@pytest.fixture
def registry_dir(tmp_path: Path, run: RunFn) -> Path:
    """A fresh `ksi registry init` (starter patterns) in tmp_path/registry."""
    path = tmp_path / "registry"
    done = run("registry", "init", path)
    assert done.exit_code == 0, done
    return path


def git(cwd: Path, *args: str) -> str:
    """The real git, for checks that must not go through our own code."""
    done = subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True, timeout=60
    )
    return done.stdout


def commit_all(path: Path, message: str) -> str:
    """`git add -A && git commit` with the real git; returns the new HEAD."""
    git(path, "add", "-A")
    git(
        path,
        "-c",
        "user.name=Test",
        "-c",
        "user.email=test@example.org",
        "commit",
        "-q",
        "-m",
        message,
    )
    return head(path)


def head(path: Path) -> str:
    return git(path, "rev-parse", "HEAD").strip()


def typed(value: Any) -> Any:
    """`value` in a form where == also compares types and key order (1, 1.0 and True differ)."""
    if isinstance(value, dict):
        return ("map", [(typed(k), typed(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("seq", [typed(v) for v in value])
    return (type(value).__name__, value)


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` outside .git, with its content (to prove nothing was written)."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(folder).parts
    }
