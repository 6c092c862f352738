"""Hostile and broken input through the CLI: one clear line, the right exit code, no traceback,
nothing written.

`show` reports an error as one `ksi: error: FILE:LINE:COL: ...` line on stderr (exit 2).
`validate` is a report: each finding is one `FILE:LINE:COL: message` line on stdout, stderr holds
the one-line summary; unreadable input exits 2, schema errors exit 1.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import Run, RunFn, commit_all, head, snapshot

BOMB = (
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
    "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
    "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
    "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
    "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
    "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
    "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
    "i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n"
)

# (file content, line, column, words the message must contain)
CASES: dict[str, tuple[bytes, int | None, int | None, str]] = {
    "malformed": (
        b"name: bad\ntype: orchestration\ntags: [one, two\nversion: 1.0.0\n",
        4,
        8,
        "invalid YAML",
    ),
    "unclosed-quote": (b'name: bad\ndescription: "never closed\n', 3, 1, "invalid YAML"),
    "tab-indent": (b"name: bad\nmetadata:\n\ttags: []\n", 3, 1, "invalid YAML"),
    "two-documents": (b"name: bad\ntype: orchestration\n---\nname: other\n", 3, 1, "single"),
    "duplicate-key": (
        b"name: bad\ntype: orchestration\nmetadata:\n  tags: []\n  tags: [x]\n",
        5,
        3,
        "duplicate key 'tags'",
    ),
    "non-utf8": (b"name: bad\ntype: orchestration\ndescription: caf\xe9 au lait\n", 3, 17, "0xe9"),
    "latin1-in-key": (b"name: bad\n\xfcber: 1\n", 2, 1, "not UTF-8"),
    "nul-byte": (b"name: bad\ntype: orch\x00estration\n", 2, 11, "NUL"),
    "alias-bomb": (BOMB.encode(), 7, 34, "alias"),
}


def one_error_line(done: Run, where: str) -> str:
    """The single stderr line of a failed `show`; it names the file and position."""
    assert done.exit_code == 2, done
    assert "Traceback" not in done.output
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done
    assert lines[0].startswith(f"ksi: error: {where}"), done
    return lines[0]


def position(line: int | None, column: int | None) -> str:
    return "" if line is None else f":{line}:{column}"


@pytest.fixture
def in_registry(registry_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The registry as cwd; after the test, nothing in it may have changed."""
    monkeypatch.chdir(registry_dir)
    yield registry_dir


@pytest.mark.parametrize("case", list(CASES))
def test_validate_refuses_bad_files_with_their_position(
    run: RunFn, tmp_path: Path, case: str
) -> None:
    data, line, column, words = CASES[case]
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "bad.yaml").write_bytes(data)
    before = snapshot(tmp_path)
    started = time.perf_counter()
    done = run("pattern", "validate", "in/bad.yaml")
    elapsed = time.perf_counter() - started
    assert done.exit_code == 2, done
    assert "Traceback" not in done.output
    out = done.stdout.splitlines()
    assert len(out) == 1, done
    assert out[0].startswith(f"in/bad.yaml{position(line, column)}: "), done
    assert words in out[0]
    assert done.stderr == "1 problem(s) in 1 of 1 file(s)\n"
    assert snapshot(tmp_path) == before
    assert elapsed < 1.0


@pytest.mark.parametrize("case", list(CASES))
def test_show_refuses_a_bad_file_with_its_position(run: RunFn, tmp_path: Path, case: str) -> None:
    data, line, column, words = CASES[case]
    (tmp_path / "bad.yaml").write_bytes(data)
    before = snapshot(tmp_path)
    started = time.perf_counter()
    done = run("pattern", "show", "bad.yaml")
    elapsed = time.perf_counter() - started
    message = one_error_line(done, f"bad.yaml{position(line, column)}: ")
    assert words in message
    assert done.stdout == ""
    assert snapshot(tmp_path) == before
    assert elapsed < 1.0


@pytest.fixture(scope="module")
def bad_registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One registry with every bad case committed as orchestrations/bad_<case>.yaml."""
    from ksi_patterns.registry.registry import init_registry

    path = tmp_path_factory.mktemp("bad") / "reg"
    init_registry(path)
    for case, (data, *_rest) in CASES.items():
        (path / "orchestrations" / f"bad_{case}.yaml").write_bytes(data)
    commit_all(path, "every bad case")
    return path


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("extra", [[], ["--resolved"], ["--json"]])
def test_show_refuses_a_bad_committed_document(
    run: RunFn, bad_registry: Path, case: str, extra: list[str]
) -> None:
    _data, line, column, words = CASES[case]
    tip, before = head(bad_registry), snapshot(bad_registry)
    done = run("pattern", "show", f"bad_{case}", *extra, "--registry", bad_registry)
    where = f"orchestrations/bad_{case}.yaml{position(line, column)}: "
    message = one_error_line(done, where)
    assert words in message
    assert head(bad_registry) == tip
    assert snapshot(bad_registry) == before


@pytest.mark.parametrize("case", ["malformed", "duplicate-key", "non-utf8", "alias-bomb"])
def test_a_bad_parent_stops_resolution_with_its_position(
    run: RunFn, in_registry: Path, case: str
) -> None:
    data, line, column, _words = CASES[case]
    (in_registry / "orchestrations" / "bad.yaml").write_bytes(data)
    (in_registry / "orchestrations" / "kid.yaml").write_text(
        "name: kid\ntype: orchestration\nextends: bad\n"
    )
    commit_all(in_registry, "bad parent")
    done = run("pattern", "show", "kid", "--resolved")
    one_error_line(done, f"orchestrations/bad.yaml{position(line, column)}: ")


@pytest.mark.parametrize("command", ["show", "release"])
def test_release_and_show_refuse_a_bad_document_and_write_nothing(
    run: RunFn, in_registry: Path, command: str
) -> None:
    data, line, column, _ = CASES["alias-bomb"]
    (in_registry / "orchestrations" / "bad.yaml").write_bytes(data)
    tip = commit_all(in_registry, "bomb")
    done = run("pattern", command, "bad")
    one_error_line(done, f"orchestrations/bad.yaml{position(line, column)}: ")
    assert head(in_registry) == tip
    assert not (in_registry / ".git" / "refs" / "tags").exists() or not list(
        (in_registry / ".git" / "refs" / "tags").iterdir()
    )


def test_a_50_megabyte_file_is_refused_fast(run: RunFn, tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    with big.open("wb") as out:
        out.write(b"name: big\ntype: orchestration\ndescription: |\n")
        chunk = b"  " + b"x" * 1022 + b"\n"
        for _ in range(50 * 1024):
            out.write(chunk)
    assert big.stat().st_size > 50 * 1024 * 1024
    for args in (("validate", "big.yaml"), ("show", "big.yaml"), ("show", str(big), "--json")):
        started = time.perf_counter()
        done = run("pattern", *args)
        assert time.perf_counter() - started < 1.0
        assert done.exit_code == 2, done
        assert "Traceback" not in done.output
        text = done.stdout if args[0] == "validate" else done.stderr
        (line,) = text.splitlines()
        assert re.search(
            r"big\.yaml: file is 52,\d{3},\d{3} bytes, over the 8,388,608-byte limit", line
        )


# -- wrong types: valid YAML, wrong shape ----------------------------------------------------------

WRONG_TYPES = (
    "name: wrong\n"
    "type: orchestration\n"
    "version: [1, 0]\n"
    "performance:\n"
    "  runs: lots\n"
    "learnings: {insight: not a list}\n"
)


def test_validate_reports_wrong_types_at_their_place_with_exit_1(
    run: RunFn, tmp_path: Path
) -> None:
    (tmp_path / "wrong.yaml").write_text(WRONG_TYPES)
    done = run("pattern", "validate", "wrong.yaml")
    assert done.exit_code == 1
    assert "Traceback" not in done.output
    assert done.stdout.splitlines() == [
        "wrong.yaml:3:1: version: [1, 0] is not of type 'string'",
        "wrong.yaml:5:3: performance.runs: 'lots' is not of type 'integer'",
        "wrong.yaml:6:1: learnings: {'insight': 'not a list'} is not of type 'array'",
    ]


def test_show_displays_a_wrongly_typed_document_as_written(run: RunFn, tmp_path: Path) -> None:
    (tmp_path / "wrong.yaml").write_text(WRONG_TYPES)
    done = run("pattern", "show", "wrong.yaml")
    assert done.exit_code == 0
    assert done.stdout == WRONG_TYPES


@pytest.mark.parametrize(
    ("text", "where", "words"),
    [
        ("name: 5\ntype: orchestration\n", ":1:1: ", "name"),
        ("type: orchestration\nversion: 1.0.0\n", ":1:1: ", "name"),
        ("name: odd\ntype: orchestration\nextends: [a, b]\n", ":3:1: ", "extends"),
        ("name: odd\ntype: orchestration\nextends: 7\n", ":3:1: ", "extends"),
        ("- just\n- a list\n", ":1:1: ", "name"),
        ("just a string\n", ":1:1: ", "name"),
    ],
    ids=["name-int", "no-name", "extends-list", "extends-int", "a-list", "a-scalar"],
)
def test_show_resolved_refuses_wrong_types_with_their_position(
    run: RunFn, tmp_path: Path, text: str, where: str, words: str
) -> None:
    (tmp_path / "odd.yaml").write_text(text)
    done = run("pattern", "show", "odd.yaml", "--resolved")
    message = one_error_line(done, f"odd.yaml{where}")
    assert words in message


def test_a_wrongly_typed_extends_up_the_chain_is_an_error(run: RunFn, in_registry: Path) -> None:
    (in_registry / "orchestrations" / "mid.yaml").write_text(
        "name: mid\ntype: orchestration\nextends: {name: top}\n"
    )
    (in_registry / "orchestrations" / "low.yaml").write_text(
        "name: low\ntype: orchestration\nextends: mid\n"
    )
    commit_all(in_registry, "odd chain")
    done = run("pattern", "show", "low", "--resolved")
    message = one_error_line(done, "")
    assert "mid" in message and "extends" in message


# -- names that would become paths --------------------------------------------------------------

BAD_NAMES = [
    "../../etc/passwd",
    "../x",
    "..",
    "a/b",
    "orchestrations/../../x",
    "/etc/passwd",
    "/tmp/x",
    "a\x00b",
    "x\x00/../../etc/passwd",
    "evil\n",
    "a\nb",
    "UPPER",
    "-dash-first",
    "a" * 101,
    "",
]


def _ids(name: str) -> str:
    return repr(name)[:30]


@pytest.mark.parametrize("name", BAD_NAMES, ids=_ids)
def test_show_refuses_names_that_are_not_names(run: RunFn, in_registry: Path, name: str) -> None:
    before = snapshot(in_registry)
    done = run("pattern", "show", "--", name)
    assert done.exit_code == 2, done
    assert "Traceback" not in done.output
    assert len(done.stderr.splitlines()) == 1
    assert "invalid" in done.stderr
    assert done.stdout == ""
    assert snapshot(in_registry) == before


@pytest.mark.parametrize("name", BAD_NAMES, ids=_ids)
@pytest.mark.parametrize("extra", [[], ["--commit"], ["--profile"], ["--stdout"]])
def test_new_refuses_names_that_are_not_names(
    run: RunFn, in_registry: Path, tmp_path: Path, name: str, extra: list[str]
) -> None:
    before, outside, tip = snapshot(in_registry), snapshot(tmp_path), head(in_registry)
    done = run("pattern", "new", *extra, "--", name)
    assert done.exit_code == 2, done
    assert "Traceback" not in done.output
    assert len(done.stderr.splitlines()) == 1
    assert "invalid pattern name" in done.stderr
    assert done.stdout == ""
    assert head(in_registry) == tip
    assert snapshot(in_registry) == before
    assert snapshot(tmp_path) == outside
    assert not Path("/tmp/x.yaml").exists() or name != "/tmp/x"


@pytest.mark.parametrize("name", ["../x", "a/b", "/etc/passwd", "a\x00b"], ids=_ids)
def test_new_refuses_a_parent_that_is_not_a_name(run: RunFn, in_registry: Path, name: str) -> None:
    before = snapshot(in_registry)
    done = run("pattern", "new", "fine_name", "--extends", name)
    assert done.exit_code == 2, done
    assert "invalid pattern name" in done.stderr
    assert snapshot(in_registry) == before


@pytest.mark.parametrize("name", ["../x", "a/b", "/etc/passwd", "a\x00b"], ids=_ids)
def test_release_refuses_names_that_are_not_names(run: RunFn, in_registry: Path, name: str) -> None:
    tip = head(in_registry)
    done = run("pattern", "release", "--", name)
    assert done.exit_code == 2, done
    assert "invalid pattern name" in done.stderr
    assert head(in_registry) == tip


@pytest.mark.parametrize(
    "at", ["../../etc", "refs/../../x", "main\x00", "-x", "HEAD:ksi-registry.yaml", "@{-1}"]
)
def test_show_at_a_revision_that_is_not_one(run: RunFn, in_registry: Path, at: str) -> None:
    done = run("pattern", "show", f"tournament_basic@{at}")
    assert done.exit_code == 2, done
    assert "Traceback" not in done.output
    assert len(done.stderr.splitlines()) == 1
    assert done.stdout == ""


def test_show_a_folder_named_like_a_file(run: RunFn, tmp_path: Path) -> None:
    (tmp_path / "dir.yaml").mkdir()
    done = run("pattern", "show", "dir.yaml")
    assert done.exit_code == 2
    assert "Traceback" not in done.output
    assert len(done.stderr.splitlines()) == 1
