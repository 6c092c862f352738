"""The hostile corpus: small files kept in tests/hostile/, large and special ones made here.

    cases = materialize(folder)   # {case name: path}, every case as folder/<case>.yaml

Each case is one file a user (or an attacker) could hand to ksi: broken YAML, other encodings,
complex keys, nesting at and past the limit (up to 100,000 levels), a file past the size cap, a
FIFO, a link to /dev/zero, a directory named like a document, links leaving the folder.
`python tests/hostile_corpus.py` prints the corpus and what every command made of each case.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

HOSTILE = Path(__file__).resolve().parent / "hostile"
HEADER = "name: {name}\ntype: orchestration\nversion: 1.0.0\ndescription: d\nmetadata:\n"


def _deep_flow(levels: int) -> Callable[[Path, str], None]:
    def make(path: Path, name: str) -> None:
        path.write_text(HEADER.format(name=name) + "  x: " + "[" * levels + "]" * levels + "\n")

    return make


def _deep_block(levels: int) -> Callable[[Path, str], None]:
    def make(path: Path, name: str) -> None:
        lines = [f"{'  ' * (depth + 1)}k{depth}:" for depth in range(levels)]
        path.write_text(HEADER.format(name=name) + "\n".join(lines) + " 1\n")

    return make


def _deep_json(levels: int) -> Callable[[Path, str], None]:
    def make(path: Path, name: str) -> None:
        path.write_text('{"a": ' * levels + "1" + "}" * levels + "\n")

    return make


def _too_big(path: Path, name: str) -> None:
    with path.open("w") as out:
        out.write(HEADER.format(name=name) + "  text: |\n")
        line = "    " + "x" * 1019 + "\n"
        for _ in range(9 * 1024):
            out.write(line)


def _fifo(path: Path, name: str) -> None:
    os.mkfifo(path)


def _dev_zero(path: Path, name: str) -> None:
    path.symlink_to("/dev/zero")


def _directory(path: Path, name: str) -> None:
    path.mkdir()


def _link_out(path: Path, name: str) -> None:
    outside = path.parent.parent / f"outside-{name}.yaml"
    outside.write_text(HEADER.format(name=name))
    path.symlink_to(outside)


def _dangling(path: Path, name: str) -> None:
    path.symlink_to(path.parent / "no-such-file.yaml")


MADE: dict[str, Callable[[Path, str], None]] = {
    "deep_flow_1000": _deep_flow(1000),
    "deep_flow_20000": _deep_flow(20_000),
    "deep_flow_100000": _deep_flow(100_000),
    "deep_block_1000": _deep_block(1000),
    "deep_json_1000": _deep_json(1000),
    "too_big": _too_big,
    "fifo": _fifo,
    "dev_zero": _dev_zero,
    "directory": _directory,
    "link_out": _link_out,
    "dangling_link": _dangling,
}
# Cases that are not a regular file inside the folder: git cannot hold them as they are.
SPECIAL = frozenset({"fifo", "dev_zero", "directory", "link_out", "dangling_link"})


def kept() -> dict[str, bytes]:
    """The small cases kept in tests/hostile/, by name."""
    return {path.stem: path.read_bytes() for path in sorted(HOSTILE.glob("*.yaml"))}


def names() -> list[str]:
    return [*kept(), *MADE]


def materialize(folder: Path, only: set[str] | None = None) -> dict[str, Path]:
    """Every case (or those in `only`) as folder/<case>.yaml; `folder` must have a parent
    that may hold a few more files (the targets of links leaving it)."""
    folder.mkdir(parents=True, exist_ok=True)
    found: dict[str, Path] = {}
    for name, data in kept().items():
        if only is None or name in only:
            found[name] = folder / f"{name}.yaml"
            found[name].write_bytes(data)
    for name, make in MADE.items():
        if only is None or name in only:
            found[name] = folder / f"{name}.yaml"
            make(found[name], name)
    return found


if __name__ == "__main__":
    import subprocess
    import sys

    here = Path(__file__).with_name("test_hostile.py")
    command = [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", str(here)]
    sys.exit(subprocess.call(command))
