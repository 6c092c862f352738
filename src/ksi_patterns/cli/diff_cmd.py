"""`ksi pattern diff`: operands to plain documents, the structural diff, and how it is shown."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ksi_patterns.cli import output
from ksi_patterns.cli.options import JsonOption, RegistryOption

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

    from ksi_patterns.diff import Change
    from ksi_patterns.lineage import ParentLink
    from ksi_patterns.registry import Registry

# A fork differs from its parent in these by construction (renamed, lineage written); older
# files keep the lineage under metadata.
FORK_IDENTITY_PATHS = ("name", "lineage", "metadata.lineage")

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
        typer.Option("--all", help="With one operand, also show `name` and `lineage`."),
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
    which). `name` and `lineage` differ there by construction, so they are
    hidden; --all shows them.

    Lists of maps are matched by identity (name, id, insight, or a detected
    key): an insertion is one change, and reordered items are "moved".
    --json prints a list of {path, kind, old, new} records, kind being
    added, removed, changed, type_changed or moved.
    Exit 0; with --exit-code, 1 when there are differences; 2 on bad operands.
    """
    from ksi_patterns.diff import diff as compare
    from ksi_patterns.diff import without

    operands = _Operands(registry)
    if new is None:
        after = operands.read(old)
        before = operands.parent_of(after)
    else:
        before, after = operands.read(old), operands.read(new)
    changes = compare(before.data, after.data)
    if new is None and not show_all:
        shown = without(changes, FORK_IDENTITY_PATHS)
        if len(shown) < len(changes):
            output.note(
                f"note: {len(changes) - len(shown)} change(s) to name/lineage hidden "
                "(a fork differs there by construction); --all shows them"
            )
        changes = shown
    _show(changes, before.label, after.label, stat=stat, as_json=json)
    if exit_code and changes:
        raise typer.Exit(1)


# ---------------------------------------------------------------------------------------------
# Operands


@dataclass(frozen=True)
class _Document:
    operand: str  # as given, or what stands for it (the parent)
    detail: str  # where it was read from
    data: Any  # plain
    rev: str | None = None  # the git revision it was read at; None for a file
    file: Path | None = None

    @property
    def label(self) -> str:
        """For the ---/+++ header."""
        return f"{self.operand}  ({self.detail})" if self.detail else self.operand


class _Operands:
    """Reads operands; opens the registry only when one needs it (two files need none)."""

    def __init__(self, registry_path: Path | None) -> None:
        self._registry_path = registry_path
        self._registry: Registry | None = None

    def registry(self, near: Path | None = None) -> Registry:
        from ksi_patterns.registry import enclosing_registry, open_registry

        if self._registry is None:
            found = None
            if near is not None and self._registry_path is None:
                found = enclosing_registry(near)
            self._registry = found or open_registry(self._registry_path)
        return self._registry

    def read(self, text: str) -> _Document:
        from ksi_patterns.errors import NotFoundError, UsageError

        path = Path(text)
        looks_like_path = text.endswith((".yaml", ".yml")) or "/" in text or "\\" in text
        if looks_like_path and path.is_file():
            return _read_file(path)
        if looks_like_path and path.exists():
            raise UsageError(f"{text} is a folder; give a YAML file")
        if "@" not in text and looks_like_path:
            raise NotFoundError(f"no such file: {text}")
        return self._read_reference(text)

    def _read_reference(self, text: str) -> _Document:
        from ksi_patterns.documents import load_plain
        from ksi_patterns.errors import NotFoundError
        from ksi_patterns.lineage import fork_branch
        from ksi_patterns.model import parse_reference

        ref = parse_reference(text)  # refuses names that are no registry names (../x)
        registry = self.registry()
        store = registry.store
        if ref.is_version and ref.git_ref not in store.tags():
            releases = [tag for tag in store.tags() if tag.startswith(ref.name + "@")]
            known = ", ".join(releases) or "none yet; see `ksi pattern release`"
            raise NotFoundError(f"no release {ref} (releases: {known})")
        rev = ref.git_ref
        where = ""
        if ref.at is None and not _has(registry, ref.name, rev):
            # Forks live on their branch until merged.
            branch = fork_branch(ref.name)
            if branch not in store.branches():
                raise NotFoundError(
                    f"no pattern or profile named {ref.name!r} at HEAD, nor a branch {branch}"
                )
            rev, where = branch, f"{branch} "
        commit = store.resolve(rev)  # NotFoundError naming an unknown branch, tag or commit
        path = registry.find(ref.name, rev)
        data = store.read(path, commit)
        if rev == "HEAD":
            _note_uncommitted(registry, path, data)
        detail = f"{path} at {where}{commit.short_id}"
        return _Document(text, detail, load_plain(data, f"{path}@{ref.at or rev}"), rev)

    def parent_of(self, fork: _Document) -> _Document:
        """The fork's lineage parent at the fork point (or at its release, or its tip)."""
        from ksi_patterns.errors import UsageError
        from ksi_patterns.lineage import parent_link
        from ksi_patterns.model import check_name

        link = parent_link(fork.data)
        if link is None:
            raise UsageError(f"{fork.operand} has no lineage parent: give two operands (A B)")
        check_name(link.name, "lineage parent name")
        registry = self.registry(near=fork.file)
        fork_ref = fork.rev or "HEAD"
        found = _at_fork_point(registry, link, fork_ref)
        if isinstance(found, _Document):
            return found
        return _parent_fallback(registry, link, reason=found)


def _has(registry: Registry, name: str, rev: str) -> bool:
    from ksi_patterns.errors import NotFoundError

    try:
        registry.find(name, rev)
    except NotFoundError:
        return False
    return True


def _read_file(path: Path) -> _Document:
    from ksi_patterns.documents import load_plain
    from ksi_patterns.errors import InputError, Position

    try:
        data = path.read_bytes()
    except OSError as err:
        raise InputError(f"cannot read: {err.strerror or err}", Position(str(path))) from None
    return _Document(str(path), "", load_plain(data, str(path)), None, path)


def _note_uncommitted(registry: Registry, path: str, committed: bytes) -> None:
    """NAME means the committed file; say so when the working copy differs from it."""
    root = registry.store.root
    if root is None:
        return
    try:
        working = (root / path).read_bytes()
    except OSError:
        return
    if working != committed:
        output.note(
            f"note: {path} has uncommitted changes; comparing the committed version "
            f"(give the file path to compare the working copy)"
        )


def _at_fork_point(registry: Registry, link: ParentLink, fork_ref: str) -> _Document | str:
    """The parent's file at the fork point, or why there is none."""
    from ksi_patterns.documents import load_plain
    from ksi_patterns.errors import NotFoundError
    from ksi_patterns.lineage import fork_point

    store = registry.store
    recorded = link.commit if link.commit and _resolves(registry, link.commit) else None
    try:
        base = fork_point(registry, recorded or "HEAD", fork_ref, link)
    except NotFoundError as err:
        return err.message
    # Without a recorded parent commit, the merge base is a fork point only where the fork's
    # history left the parent's; on the same line of history it is just the fork's tip.
    if recorded is None and base.id == store.resolve(fork_ref).id:
        return "no fork point recorded (no lineage.parent_commit) or found in the history"
    try:
        path = registry.find(link.name, str(base.id))
    except NotFoundError:
        return f"{link.name} is not in the fork point {base.short_id}"
    data = load_plain(store.read(path, base), f"{path}@{base.short_id}")
    return _Document(f"{link.name} at the fork point", f"{path} at {base.short_id}", data)


def _resolves(registry: Registry, rev: str) -> bool:
    from ksi_patterns.errors import NotFoundError

    try:
        registry.store.resolve(rev)
    except NotFoundError:
        return False
    return True


def _parent_fallback(registry: Registry, link: ParentLink, *, reason: str) -> _Document:
    """The parent at its recorded release tag, else at the current tip, with a note saying so."""
    from ksi_patterns.documents import load_plain
    from ksi_patterns.model import release_tag

    store = registry.store
    tag = release_tag(link.name, link.version) if link.version else None
    if tag is not None and tag in store.tags():
        rev, what = tag, f"its release tag {tag}"
    else:
        rev, what = "HEAD", f"the current tip ({store.resolve('HEAD').short_id})"
    path = registry.find(link.name, rev)
    output.note(f"note: comparing with {link.name} at {what}: {reason}")
    data = load_plain(store.read(path, rev), f"{path}@{rev}")
    return _Document(f"{link.name} at {what}", path, data, rev)


# ---------------------------------------------------------------------------------------------
# Output


def _show(
    changes: list[Change], old_label: str, new_label: str, *, stat: bool, as_json: bool
) -> None:
    from ksi_patterns.diff import stat as summarize

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

    from ksi_patterns.diff import stat as summarize

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
    import io

    from ruamel.yaml.scalarstring import LiteralScalarString

    from ksi_patterns.documents import Style

    def literal(node: Any) -> Any:
        if isinstance(node, dict):
            return {key: literal(item) for key, item in node.items()}
        if isinstance(node, list):
            return [literal(item) for item in node]
        if isinstance(node, str) and "\n" in node.rstrip("\n"):
            return LiteralScalarString(node)
        return node

    out = io.StringIO()
    Style().yaml().dump(literal(value), out)
    # A lone scalar dumps with a `...` document-end line.
    return [line for line in out.getvalue().rstrip("\n").splitlines() if line != "..."]


def _type_name(value: Any) -> str:
    names = {dict: "map", list: "list", str: "text", bool: "bool", type(None): "null"}
    return names.get(type(value), type(value).__name__)
