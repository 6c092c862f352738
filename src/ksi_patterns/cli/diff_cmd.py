"""`ksi pattern diff`: the structural diff of two operands (operands.py), and how it is shown."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from ksi_patterns.cli import output
from ksi_patterns.cli.options import JsonOption, RegistryOption

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

    from ksi_patterns.diff.structural import Change


_MARKS = {"added": "+", "removed": "-", "changed": "~", "type_changed": "!", "moved": ">"}
_STYLES = {
    "added": "green",
    "removed": "red",
    "changed": "yellow",
    "type_changed": "magenta",
    "moved": "cyan",
}
_INLINE_WIDTH = 100  # containers whose JSON is longer are shown as YAML blocks


def diff(
    old: Annotated[
        str,
        typer.Argument(
            metavar="A", help="NAME, NAME@X.Y.Z, NAME@<rev> or a file: the old side (or the fork)."
        ),
    ],
    new: Annotated[
        str | None,
        typer.Argument(
            metavar="[B]", help="The new side; without it, A is compared with its lineage parent."
        ),
    ] = None,
    show_all: Annotated[
        bool,
        typer.Option("--all", help="With one operand, also show name, lineage, performance."),
    ] = False,
    stat: Annotated[
        bool, typer.Option("--stat", help="Only a summary: counts per kind and per top-level key.")
    ] = False,
    exit_code: Annotated[
        bool, typer.Option("--exit-code", help="Exit 1 when there are differences, 0 when none.")
    ] = False,
    registry: RegistryOption = None,
    json: JsonOption = False,
) -> None:
    """Structural diff of two patterns, or of a fork and its lineage parent.

    A and B: NAME (the current branch's tip; a fork not merged yet is read
    from its branch fork/NAME), NAME@X.Y.Z (a release), NAME@REV (a branch
    or commit), or the path of a YAML file.

    With only A: A is a fork, compared with its lineage parent's file at the
    fork point (else at the parent's release, else at its tip; a note says
    which). `name`, `lineage` and `performance` differ there by
    construction, so they are hidden; --all shows them.

    Lists of maps are matched by identity (name, id, insight, or a detected
    key): an insertion is one change, and reordered items are "moved".
    --json prints a list of {path, kind, old, new} records, kind being
    added, removed, changed, type_changed or moved.
    Exit 0; with --exit-code, 1 when there are differences; 2 on bad operands.
    """
    from ksi_patterns.operations.diffs import diff as compare
    from ksi_patterns.registry.registry import opener

    done = compare(
        opener(registry), old, new, show_all=show_all, files=True, caller=output.caller()
    )
    if done.hidden:
        output.note(
            f"note: {done.hidden} change(s) to name/lineage/performance hidden "
            "(a fork differs there by construction); --all shows them"
        )
    _show(done.changes, done.old.label, done.new.label, stat=stat, as_json=json)
    if exit_code and done.changes:
        raise typer.Exit(1)


# ---------------------------------------------------------------------------------------------
# Output


def _show(
    changes: list[Change], old_label: str, new_label: str, *, stat: bool, as_json: bool
) -> None:
    from ksi_patterns.diff.structural import stat as summarize

    if as_json:
        if stat:
            output.print_json(summarize(changes).to_json())
        else:
            output.print_json([change.to_json() for change in changes])
        return
    if not changes:
        output.note("No differences.")
        return
    console = output.stdout()
    if stat:
        _print_stat(console, changes)
    else:
        _print_tree(console, changes, old_label, new_label)


def _print_stat(console: Console, changes: list[Change]) -> None:
    """Like `git diff --stat`: a line per top-level key, then the totals."""
    from rich.text import Text

    from ksi_patterns.diff.structural import stat as summarize

    summary = summarize(changes)
    labels = {key: key or "(document)" for key in summary.by_key}
    width = max(len(label) for label in labels.values())
    count_width = max(len(str(sum(counts.values()))) for counts in summary.by_key.values())
    for key, counts in summary.by_key.items():
        line = Text(f" {labels[key]:<{width}} | {sum(counts.values()):>{count_width}} ")
        for kind, count in counts.items():
            line.append(f" {_MARKS[kind]}{count}", style=_STYLES[kind])
        console.print(line)
    parts = [
        f"{count} {kind.replace('_', ' ')}" for kind, count in summary.by_kind.items() if count
    ]
    keys = len(summary.by_key)
    console.print(
        f" {summary.total} change{'s' * (summary.total != 1)} under {keys} "
        f"key{'s' * (keys != 1)}: {', '.join(parts)}",
        markup=False,
    )


def _print_tree(console: Console, changes: list[Change], old_label: str, new_label: str) -> None:
    """The changes grouped by top-level key, paths relative to it."""
    from rich.text import Text

    console.print(Text(f"--- {old_label}", style="bold"))
    console.print(Text(f"+++ {new_label}", style="bold"))
    groups: dict[str, list[Change]] = {}
    for change in changes:  # already in document order; dicts keep it
        groups.setdefault(change.top, []).append(change)
    for top, group in groups.items():
        if len(group) == 1 and len(group[0].steps) <= 1:
            _print_change(console, group[0], top or "(document)", indent="")
            continue
        console.print(Text(f"{top}:", style="bold"))
        for change in group:
            relative = change.path[len(top) :].lstrip(".")
            _print_change(console, change, relative or "(itself)", indent="  ")


def _print_change(console: Console, change: Change, where: str, *, indent: str) -> None:
    from rich.text import Text

    style = _STYLES[change.kind]
    line = Text(indent)
    line.append(f"{_MARKS[change.kind]} {where}:", style=style)
    if change.kind == "moved":
        line.append(f" moved from [{change.old}] to [{change.new}]")
        console.print(line)
        return
    if change.kind == "changed" and _multiline(change.old, change.new):
        console.print(line)
        for diff_line in _line_diff(str(change.old), str(change.new), indent + "    "):
            console.print(diff_line)
        return
    values = [change.old] if change.kind == "removed" else [change.new]
    if change.kind in ("changed", "type_changed"):
        values = [change.old, change.new]
    inline = [_inline(value) for value in values]
    if all(text is not None for text in inline):
        line.append(" " + " -> ".join(text for text in inline if text is not None))
        if change.kind == "type_changed":
            kinds = " -> ".join(_type_name(value) for value in values)
            line.append(f"  ({kinds})", style="dim")
        console.print(line)
        return
    console.print(line)
    for position, value in enumerate(values):
        if len(values) == 2:
            label = "was" if position == 0 else "now"
            console.print(Text(f"{indent}    {label} ({_type_name(value)}):", style="dim"))
        for block_line in _block(value):
            console.print(Text(f"{indent}    {block_line}"), markup=False)


def _multiline(*values: Any) -> bool:
    return all(isinstance(value, str) for value in values) and any(
        "\n" in value.rstrip("\n") for value in values
    )


def _line_diff(old: str, new: str, indent: str) -> list[Text]:
    """A unified line diff (3 lines of context), coloured +/-."""
    import difflib

    from rich.text import Text

    lines = difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=3)
    out = []
    for line in list(lines)[2:]:  # skip the ---/+++ file header
        style = {"@": "cyan", "+": "green", "-": "red"}.get(line[:1], "")
        out.append(Text(indent + line, style=style))
    return out


def _inline(value: Any) -> str | None:
    """`value` on one line (JSON), or None when it wants a block (multi-line, long)."""
    import json

    if isinstance(value, str) and "\n" in value.rstrip("\n"):
        return None
    text = json.dumps(value, ensure_ascii=False, default=str)
    if isinstance(value, dict | list) and len(text) > _INLINE_WIDTH:
        return None
    return text


def _block(value: Any) -> list[str]:
    """`value` as block YAML lines, multi-line strings as `|` blocks."""
    from ksi_patterns.documents.loading import block_yaml

    # A lone scalar dumps with a `...` document-end line.
    return [line for line in block_yaml(value).rstrip("\n").splitlines() if line != "..."]


def _type_name(value: Any) -> str:
    names = {dict: "map", list: "list", str: "text", bool: "bool", type(None): "null"}
    return names.get(type(value), type(value).__name__)
