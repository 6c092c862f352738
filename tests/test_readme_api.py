"""The README's Python API example runs as written, against a scratch registry."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from conftest import REPO_ROOT, RunFn, git


def readme_python() -> str:
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Python API") :]
    found = re.search(r"```python\n(.*?)```", section, re.S)
    assert found is not None
    return found.group(1)


def test_the_python_api_example_runs(tmp_path: Path, run: RunFn, isolated: Path) -> None:
    registry = tmp_path / "patterns"
    assert run("registry", "init", registry).exit_code == 0
    code = readme_python()
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={
            "KSI_REGISTRY": str(registry),
            "XDG_DATA_HOME": str(isolated),
            "PATH": "/usr/bin:/bin",
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    entry_id, commit, runs, avg = done.stdout.split()
    log = git(registry, "log", "--format=%H %s", "-3").splitlines()
    assert log[0].split(" ", 1)[1].startswith("run(adaptive_tournament_v2)")
    assert log[1] == f"{commit} decision(adaptive_tournament_v2): increased_timeout"
    assert log[2].split(" ", 1)[1].startswith("release(adaptive_tournament_v2)")
    assert (
        entry_id in (registry / "orchestrations/adaptive_tournament_v2_decisions.yaml").read_text()
    )
    assert int(runs) >= 1 and 0 <= float(avg) <= 1
