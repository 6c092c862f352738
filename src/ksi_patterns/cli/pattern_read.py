"""`ksi pattern list` and `ksi pattern show`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from ksi_patterns.cli import output
from ksi_patterns.cli.options import JsonOption, RegistryOption


def list_patterns(
    kind: Annotated[
        str | None, typer.Option("--type", help="orchestration, profile or decision-log.")
    ] = None,
    tag: Annotated[
        list[str] | None, typer.Option("--tag", help="Only documents with this tag (repeatable).")
    ] = None,
    ref: Annotated[str, typer.Option(help="Branch, tag or commit to list.")] = "HEAD",
    registry: RegistryOption = None,
    json: JsonOption = False,
) -> None:
    """List the patterns, profiles and decision logs of the registry."""
    from ksi_patterns.errors import UsageError
    from ksi_patterns.finding.catalog import entries
    from ksi_patterns.registry.registry import open_registry

    if kind not in (None, "orchestration", "profile", "decision-log"):
        raise UsageError(f"unknown --type {kind!r}: use orchestration, profile or decision-log")
    rows = entries(
        open_registry(registry),
        ref,
        kind=kind,
        tags=tag,
        on_error=lambda err: output.note(f"warning: skipped {err}"),
    )
    if json:
        output.print_json([row.to_json() for row in rows])
        return
    if not rows:
        output.note("No documents match.")
        return
    output.table(
        ["NAME", "TYPE", "VERSION", "TAGS", "DESCRIPTION"],
        [[r.name, r.kind, r.version or "", ", ".join(r.tags), r.description] for r in rows],
    )


def show(
    reference: Annotated[
        str, typer.Argument(metavar="REF", help="NAME, NAME@X.Y.Z, NAME@<rev>, or a file.")
    ],
    resolved: Annotated[
        bool, typer.Option(help="Apply `extends`: the parents' fields as defaults.")
    ] = False,
    registry: RegistryOption = None,
    json: JsonOption = False,
) -> None:
    """Show a pattern or profile as YAML (or JSON)."""
    source, data, lookup = _read(reference, registry)
    if resolved:
        from ksi_patterns.documents.extends import resolve

        name = _resolvable_name(source, data)
        data = resolve(name, _with_self(lookup, name, data))
    if json:
        output.print_json(data)
        return
    text = _yaml_text(data) if resolved else source.text
    _print_yaml(text)


class _Source:
    def __init__(self, path: str, data: bytes) -> None:
        from ksi_patterns.documents.loading import decode

        self.path = path
        self.text = decode(data, path)

    def __str__(self) -> str:
        return self.path


def _read(reference: str, registry_path: Path | None) -> tuple[_Source, Any, Any]:
    """The document behind REF, and a name lookup for `extends` at the same revision."""
    from ksi_patterns.documents.loading import load_plain
    from ksi_patterns.documents.model import parse_reference
    from ksi_patterns.errors import NotFoundError
    from ksi_patterns.registry.registry import enclosing_registry, open_registry

    as_file = Path(reference)
    if reference.endswith((".yaml", ".yml")) and as_file.is_file():
        source = _Source(reference, as_file.read_bytes())
        registry = open_registry(registry_path) if registry_path else enclosing_registry(as_file)
        lookup = registry.lookup() if registry else (lambda name: None)
        return source, load_plain(source.text, source.path), lookup
    ref = parse_reference(reference)
    registry = open_registry(registry_path)
    if ref.is_version and ref.git_ref not in registry.store.tags():
        releases = [tag for tag in registry.store.tags() if tag.startswith(ref.name + "@")]
        known = ", ".join(releases) or "none yet; see `ksi pattern release`"
        raise NotFoundError(f"no release {ref} (releases: {known})")
    path = registry.find(ref.name, ref.git_ref)
    source = _Source(f"{path}@{ref.at}" if ref.at else path, registry.read(path, ref.git_ref))
    return source, load_plain(source.text, source.path), registry.lookup(ref.git_ref)


def _resolvable_name(source: _Source, data: Any) -> str:
    """The document's name, when `name` and `extends` have the types resolution needs."""
    from ksi_patterns.documents.loading import load_roundtrip, locate
    from ksi_patterns.errors import InputError, Position

    if not isinstance(data, dict):
        raise InputError(
            "--resolved needs a pattern or profile: a mapping with a `name`",
            Position(source.path, 1, 1),
        )
    for key in ("name", "extends"):
        value = data.get(key)
        if isinstance(value, str) or (key == "extends" and value is None):
            continue
        where = locate(load_roundtrip(source.text, source.path).tree, (key,), source.path)
        wanted = "a name" if key == "name" else "the parent's name"
        problem = f"must be {wanted}, not {value!r}" if key in data else "is missing"
        raise InputError(f"cannot resolve: `{key}` {problem}", where)
    return str(data["name"])


def _with_self(lookup: Any, name: str, data: Any) -> Any:
    """A lookup that answers `name` with the document being shown (it may not be committed)."""
    return lambda wanted: data if wanted == name else lookup(wanted)


def _yaml_text(data: Any) -> str:
    """Plain data as block YAML, multi-line strings as `|` blocks (as people write them)."""
    import io

    from ruamel.yaml.scalarstring import LiteralScalarString

    from ksi_patterns.documents.loading import Style

    def literal(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: literal(item) for key, item in value.items()}
        if isinstance(value, list):
            return [literal(item) for item in value]
        if isinstance(value, str) and "\n" in value.rstrip("\n"):
            return LiteralScalarString(value)
        return value

    out = io.StringIO()
    Style().yaml().dump(literal(data), out)
    return out.getvalue()


def _print_yaml(text: str) -> None:
    if not sys.stdout.isatty():
        output.plain_text(text)
        return
    console = output.stdout()
    from rich.syntax import Syntax

    console.print(
        Syntax(text, "yaml", theme="ansi_dark", background_color="default", word_wrap=True)
    )
