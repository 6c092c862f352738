"""Every command over every case of the hostile corpus (tests/hostile_corpus.py): the exit code
is 0, 1 or 2, never a traceback or a crash; a refusal is one line naming the file; a refused
input writes nothing; nothing hangs (a FIFO) or reads forever (/dev/zero).

`python tests/hostile_corpus.py` prints the census: what each command made of each case.
"""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from conftest import Run, RunFn, commit_all, git, head, snapshot
from hostile_corpus import HOSTILE, SPECIAL, materialize, names

CASES = names()
REGULAR = [case for case in CASES if case not in SPECIAL]
OUTCOME = {0: "accepted", 1: "found", 2: "refused"}
# Read by every reader: never accepted, whatever the command.
UNREADABLE = {
    "malformed", "unclosed_quote", "tab_indent", "two_documents", "duplicate_key", "latin1",
    "utf16", "nul_byte", "binary", "alias_bomb", "deep_flow_66", "deep_pairs", "deep_dashes",
    "deep_flow_1000", "deep_flow_20000", "deep_flow_100000", "deep_block_1000", "deep_json_1000",
    "too_big", "complex_key_list", "complex_key_map", "crlf_markers", "huge_int", *SPECIAL,
}  # fmt: skip
# A link out of the folder is refused where a folder is searched or imported; named on the
# command line (or handed to the merge driver by git) it is followed, as `cat` would.
NAMED_OK = {"link_out"}
# Refused by the merge driver itself (a side it must not read or cannot decode), not merged.
DRIVER_REFUSES = {
    "latin1", "utf16", "nul_byte", "binary", "too_big", "deep_flow_66", "deep_pairs",
    "deep_dashes", "deep_flow_1000", "deep_flow_20000", "deep_flow_100000", "deep_block_1000",
    "deep_json_1000", *SPECIAL,
}  # fmt: skip
VALID = (HOSTILE / "valid.yaml").read_bytes()

census: dict[str, dict[str, str]] = {}  # command -> case -> outcome


def outcome(command: str, case: str, done: Run, error_text: str) -> str:
    """Check the invariants of one run and record what it made of the case."""
    assert "Traceback" not in done.output, done
    assert done.exit_code in OUTCOME, done
    if done.exit_code == 2:
        lines = error_text.splitlines()
        assert len(lines) == 1, done
        assert case in lines[0], done
    found = OUTCOME[done.exit_code]
    census.setdefault(command, {})[case] = found
    return found


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every case as <tmp>/src/orchestrations/<case>.yaml."""
    return materialize(tmp_path_factory.mktemp("hostile") / "src" / "orchestrations")


@pytest.mark.parametrize("case", CASES)
def test_validate_and_show(run: RunFn, corpus: dict[str, Path], case: str) -> None:
    folder = corpus[case].parent
    before = snapshot(folder)
    refused = case in UNREADABLE - NAMED_OK
    done = run("pattern", "validate", corpus[case])
    found = outcome("validate", case, done, done.stdout or done.stderr)
    assert (found == "refused") == refused, done
    done = run("pattern", "show", corpus[case], "--json")
    found = outcome("show", case, done, done.stderr)
    assert found == "refused" if refused else True, done
    assert snapshot(folder) == before


def test_validate_a_folder_reports_each_case_once(run: RunFn, corpus: dict[str, Path]) -> None:
    folder = corpus["valid"].parent
    done = run("pattern", "validate", folder, "--format", "json")
    assert done.exit_code == 2, done
    files = Counter(
        Path(f["file"]).stem for f in done.json()["findings"] if f["rule"] == "unreadable"
    )
    assert files.keys() == UNREADABLE
    assert set(files.values()) == {1}


@pytest.mark.parametrize("case", CASES)
def test_merge_driver(run: RunFn, corpus: dict[str, Path], tmp_path: Path, case: str) -> None:
    base, ours = tmp_path / "base", tmp_path / "ours"
    base.write_bytes(VALID)
    ours.write_bytes(VALID.replace(b"A valid pattern", b"Our pattern"))
    before = ours.read_bytes()
    done = run("merge-driver", base, ours, corpus[case], "7", f"orchestrations/{case}.yaml")
    found = outcome("merge-driver", case, done, done.stderr)
    if case in DRIVER_REFUSES - NAMED_OK:
        assert found == "refused", done
    if found == "refused":
        assert ours.read_bytes() == before


def test_import_skips_every_unreadable_case(
    run: RunFn, corpus: dict[str, Path], tmp_path: Path
) -> None:
    source = corpus["valid"].parent.parent
    registry = tmp_path / "reg"
    assert run("registry", "init", registry, "--empty").exit_code == 0
    tip = head(registry)
    done = run("registry", "import", source, "--json", "--registry", registry)
    assert done.exit_code == 0, done
    report = done.json()
    skipped = {Path(s["path"]).stem: s["reason"] for s in report["skipped"]}
    imported = {Path(path).stem for path in report["imported"]}
    for case in CASES:
        census.setdefault("import", {})[case] = "imported" if case in imported else "skipped"
    assert skipped.keys() >= UNREADABLE, report
    assert "valid" in imported
    assert all("\n" not in reason for reason in skipped.values())
    assert git(registry, "rev-list", "--count", f"{tip}..HEAD").strip() == "1"


@pytest.fixture(scope="module")
def committed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A registry holding every regular case under orchestrations/, committed by plain git,
    and a branch fork/h_CASE per case whose file orchestrations/h_CASE.yaml holds the case."""
    from ksi_patterns.registry.registry import init_registry

    path = tmp_path_factory.mktemp("committed") / "reg"
    init_registry(path)
    cases = materialize(path / "orchestrations", set(REGULAR))
    tip = commit_all(path, "every hostile case")
    for case, file in cases.items():
        git(path, "checkout", "-q", "-b", f"fork/h_{case}", tip)
        (path / "orchestrations" / f"h_{case}.yaml").write_bytes(file.read_bytes())
        commit_all(path, f"fork h_{case}")
    git(path, "checkout", "-q", "main")
    return path


@pytest.mark.parametrize(
    "args",
    [
        ["pattern", "list"],
        ["pattern", "discover"],
        ["pattern", "select", "--task", "valid pattern"],
    ],
)
def test_a_registry_holding_every_case_still_lists_the_rest(
    run: RunFn, committed: Path, args: list[str]
) -> None:
    done = run(*args, "--json", "--registry", committed)
    assert done.exit_code == 0, done
    assert "Traceback" not in done.output
    shown = json.dumps(done.json())
    assert "tournament_basic" in shown and '"valid"' in shown
    for case in UNREADABLE - SPECIAL:
        assert done.stderr.count(f"orchestrations/{case}.yaml") == 1, (case, done)


@pytest.mark.parametrize("case", REGULAR)
def test_show_and_merge_a_committed_case(run: RunFn, committed: Path, case: str) -> None:
    tip, before = head(committed), snapshot(committed)
    done = run("pattern", "show", case, "--json", "--registry", committed)
    found = outcome("show committed", case, done, done.stderr)
    assert found == "refused" if case in UNREADABLE else True, done
    done = run("pattern", "merge", f"h_{case}", "--into", "valid", "--dry-run", "--json",
               "--registry", committed)  # fmt: skip
    outcome("pattern merge", case, done, done.stderr)
    assert head(committed) == tip
    assert snapshot(committed) == before


@pytest.mark.parametrize("case", CASES)
def test_event_data_from_each_case(
    run: RunFn, registry_dir: Path, corpus: dict[str, Path], case: str
) -> None:
    done = run("event", "emit", "x:y", "--data", f"@{corpus[case]}", "--registry", registry_dir)
    found = outcome("event --data", case, done, done.stderr)
    assert found == "refused", done  # no case is a JSON object


def test_census(corpus: dict[str, Path]) -> None:
    """Print what every command made of each case (run last: `python tests/hostile_corpus.py`)."""
    counts = {command: Counter(found.values()) for command, found in census.items()}
    print(f"\nhostile corpus: {len(CASES)} cases ({len(SPECIAL)} special files)")
    for command, counted in counts.items():
        print(f"  {command:16} " + ", ".join(f"{n} {what}" for what, n in sorted(counted.items())))


def test_a_deep_file_does_not_crash_a_fresh_process(corpus: dict[str, Path]) -> None:
    """The C parser overflowed the C stack on 100,000 levels (exit 139): prove it in a process
    of its own, as a user runs it."""
    deepest = corpus["deep_flow_100000"]
    done = subprocess.run(
        ["ksi", "pattern", "validate", str(deepest)],
        capture_output=True, text=True, timeout=60, check=False,
        env=_env(),
    )  # fmt: skip
    assert done.returncode == 2, done
    assert "nested more than 64 levels deep" in done.stdout


def _env() -> dict[str, str]:
    import os
    import sys

    bin_dir = str(Path(sys.executable).parent)
    return {**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}
