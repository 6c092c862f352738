"""YAML in and out: limits, fast plain loads, faithful round-trips, positions.

Two readers over one set of checks:
- `load_plain` gives plain Python (dict, list, str, int, float, bool, None) through the C parser,
  with dates kept as the strings they were written as. Everything that only reads uses it.
- `load_roundtrip` gives ruamel's commented tree plus the style the file was written in, so that
  an edit changes only what it touches and an untouched file dumps byte-identical.

Hostile input is refused before any tree is built: size cap, UTF-8 check, alias expansion cap,
nesting limit (nesting.py).
Errors are InputError with the file, line and column.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import ConstructorError, SafeConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, ScalarNode
from ruamel.yaml.resolver import VersionedResolver
from ruamel.yaml.scalarbool import ScalarBoolean

from ksi_patterns.documents.nesting import check_yaml_depth
from ksi_patterns.errors import InputError, Position

MAX_FILE_BYTES = 8 * 1024 * 1024
# Expanded node count: aliases are cheap to parse but anything that walks the tree pays for the
# expansion (a 368-byte alias bomb expands to a billion nodes).
MAX_EXPANDED_NODES = 1_000_000

Path_ = tuple[str | int, ...]


class _DatesAsStrings(SafeConstructor):
    """A safe constructor that keeps timestamps as written (no datetime, no tz rewriting)."""

    def construct_yaml_timestamp(self, node: Any, values: Any = None) -> Any:
        return self.construct_scalar(node)

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        # A list or map as a key (`? [a, b]`) has no JSON form: every reader that serializes
        # or validates the document would fail on it, so it is refused here, where it is seen.
        for key, _value in node.value if isinstance(node, MappingNode) else ():
            if not isinstance(key, ScalarNode):
                raise ConstructorError(None, None, "a list or map used as a key", key.start_mark)
        return super().construct_mapping(node, deep=deep)


_DatesAsStrings.add_constructor(
    "tag:yaml.org,2002:timestamp", _DatesAsStrings.construct_yaml_timestamp
)


class _Yaml12Resolver(VersionedResolver):
    @property
    def processing_version(self) -> Any:
        return (1, 2)


def _plain_yaml(*, pure: bool) -> YAML:
    yaml = YAML(typ="safe", pure=pure)
    yaml.Constructor = _DatesAsStrings
    # YAML 1.2 rules without the per-scalar version lookup of VersionedResolver (the top cost
    # of loading many files); a `%YAML 1.1` directive is therefore not honoured here.
    yaml.Resolver = _Yaml12Resolver
    return yaml


# The C parser (libyaml) is fast but stricter than YAML 1.2 in places real files rely on
# (`[file:delete]` in a flow sequence): what it refuses is read again by the pure parser,
# whose verdict is final.
_PLAIN = _plain_yaml(pure=False)
_PLAIN_PURE = _plain_yaml(pure=True)
_EVENTS = YAML(typ="safe")
_EVENTS_PURE = YAML(typ="safe", pure=True)


def _events(text: str) -> list[Any]:
    try:
        return list(_EVENTS.parse(text))
    except YAMLError:
        return list(_EVENTS_PURE.parse(text))


# ---------------------------------------------------------------------------------------------
# Input checks shared by both readers


def decode(data: bytes, source: str) -> str:
    """UTF-8 text of `data`, refusing oversized and non-UTF-8 input with a position."""
    if len(data) > MAX_FILE_BYTES:
        raise InputError(
            f"file is {len(data):,} bytes, over the {MAX_FILE_BYTES:,}-byte limit",
            Position(source),
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        column = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
        raise InputError(
            f"not UTF-8 (byte 0x{data[err.start]:02x})", Position(source, line, column)
        ) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\x00" in text:
        line, column = _line_col(text, text.index("\x00"))
        raise InputError("NUL character in a text file", Position(source, line, column))
    return text


def _line_col(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def check_alias_expansion(text: str, source: str) -> None:
    """Refuse documents whose aliases would expand past MAX_EXPANDED_NODES."""
    if "&" not in text:  # no anchor, so no alias can resolve
        return
    sizes: dict[str, int] = {}
    stack: list[list[Any]] = []  # [anchor, accumulated size]
    total = 0
    try:
        for event in _events(text):
            kind = type(event).__name__
            if kind in ("MappingStartEvent", "SequenceStartEvent"):
                stack.append([event.anchor, 0])
                continue
            if kind in ("MappingEndEvent", "SequenceEndEvent"):
                anchor, size = stack.pop()
                size += 1
            elif kind == "ScalarEvent":
                anchor, size = event.anchor, 1
            elif kind == "AliasEvent":
                anchor, size = None, sizes.get(event.anchor, 1)
            else:
                continue
            if anchor:
                sizes[anchor] = size
            if stack:
                stack[-1][1] += size
            total += size if not stack else 0
            if size > MAX_EXPANDED_NODES or total > MAX_EXPANDED_NODES:
                line, column = (event.start_mark.line + 1, event.start_mark.column + 1)
                raise InputError(
                    f"aliases expand to more than {MAX_EXPANDED_NODES:,} nodes (alias bomb?)",
                    Position(source, line, column),
                )
    except MarkedYAMLError as err:
        raise _input_error(err, source) from None


def _input_error(err: YAMLError, source: str) -> InputError:
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    problem = getattr(err, "problem", None) or str(err).splitlines()[0]
    context = getattr(err, "context", None)
    if type(err).__name__ == "DuplicateKeyError":
        found = re.search(r'found duplicate key "([^"]*)"', str(err))
        problem = f"duplicate key {found.group(1)!r}" if found else "duplicate key"
    elif context and "while" not in context:
        problem = f"{context}: {problem}"
    if mark is None:
        return InputError(f"invalid YAML: {problem}", Position(source))
    return InputError(f"invalid YAML: {problem}", Position(source, mark.line + 1, mark.column + 1))


# ---------------------------------------------------------------------------------------------
# Plain reads


def load_plain(data: bytes | str, source: str) -> Any:
    """Parse one YAML document to plain Python, with every input check applied."""
    text = decode(data, source) if isinstance(data, bytes) else data
    check_alias_expansion(text, source)
    check_yaml_depth(text, source)
    try:
        try:
            return _PLAIN.load(text)
        except YAMLError:
            return _PLAIN_PURE.load(text)
    except YAMLError as err:
        raise _input_error(err, source) from None
    except ValueError as err:  # e.g. an int too large, a malformed base-60 number
        raise InputError(f"invalid YAML value: {err}", Position(source)) from None


# ---------------------------------------------------------------------------------------------
# Round-trip reads and writes


@dataclass(frozen=True)
class Style:
    """How a file was written, so that dumping reproduces it."""

    mapping_indent: int = 2
    sequence_indent: int = 4
    sequence_offset: int = 2
    width: int = 4096

    def yaml(self) -> YAML:
        yaml = YAML()
        yaml.preserve_quotes = True
        yaml.width = self.width
        yaml.indent(
            mapping=self.mapping_indent, sequence=self.sequence_indent, offset=self.sequence_offset
        )
        return yaml


_KEY_ONLY = re.compile(r"^(\s*)(?:- )?[^\s#][^:#]*:\s*(#.*)?$")


def detect_style(text: str) -> Style:
    """Guess mapping indent and block-sequence offset from the first nested blocks of `text`."""
    mapping_indent: int | None = None
    sequence_offset: int | None = None
    lines = text.splitlines()
    for number, line in enumerate(lines[:-1]):
        opener = _KEY_ONLY.match(line)
        if not opener:
            continue
        key_col = len(line) - len(line.lstrip(" "))
        if line.lstrip(" ").startswith("- "):
            key_col += 2
        following = next((n for n in lines[number + 1 :] if n.strip()), "")
        indent = len(following) - len(following.lstrip(" "))
        body = following.lstrip(" ")
        if body.startswith("#"):
            continue
        if body.startswith("- ") or body == "-":
            if sequence_offset is None and indent >= key_col:
                sequence_offset = indent - key_col
        elif mapping_indent is None and indent > key_col:
            mapping_indent = indent - key_col
        if mapping_indent is not None and sequence_offset is not None:
            break
    mapping = mapping_indent or 2
    offset = sequence_offset if sequence_offset is not None else 2
    return Style(mapping_indent=mapping, sequence_indent=offset + 2, sequence_offset=offset)


@dataclass(frozen=True)
class Origin:
    """Where a container of a round-trip tree came from: its parent slot and its plain value."""

    node: Any  # held so that its id() stays unique while the document lives
    plain: Any
    parent_id: int | None
    slot: str | int | None


@dataclass
class RoundTrip:
    """A document loaded for editing: its commented tree, its text and how it was written.

    `origins` remembers every container of the tree as loaded, so that `render.render` can tell
    what an edit touched and rewrite only that.
    """

    source: str
    text: str
    tree: Any
    style: Style
    origins: dict[int, Origin] = field(default_factory=dict)


def load_roundtrip(data: bytes | str, source: str) -> RoundTrip:
    """Load for editing, with every input check applied."""
    text = decode(data, source) if isinstance(data, bytes) else data
    check_alias_expansion(text, source)
    check_yaml_depth(text, source)
    style = detect_style(text)
    try:
        tree = style.yaml().load(text)
    except YAMLError as err:
        raise _input_error(err, source) from None
    except ValueError as err:
        raise InputError(f"invalid YAML value: {err}", Position(source)) from None
    origins: dict[int, Origin] = {}
    try:
        _record_origins(tree, None, None, origins)
    except TypeError:  # `? [a, b]`: unhashable as plain data, refused as load_plain does
        raise InputError("invalid YAML: a list or map used as a key", Position(source)) from None
    return RoundTrip(source, text, tree, style, origins)


def _record_origins(
    node: Any, parent_id: int | None, slot: str | int | None, into: dict[int, Origin]
) -> Any:
    """The plain value of `node`, registering each container on the way (one walk, no copies)."""
    if isinstance(node, dict):
        plain: Any = {}
        for key, child in node.items():
            plain[to_plain(key)] = _record_origins(child, id(node), key, into)
    elif isinstance(node, list):
        plain = [_record_origins(child, id(node), index, into) for index, child in enumerate(node)]
    else:
        return to_plain(node)
    into[id(node)] = Origin(node, plain, parent_id, slot)
    return plain


def dump_roundtrip(tree: Any, style: Style | None = None, *, start: str = "") -> str:
    """Write a commented tree back to text, keeping a leading `%YAML`/`---` header of `start`."""
    out = io.StringIO()
    (style or Style()).yaml().dump(tree, out)
    text = out.getvalue()
    if start.startswith("---") and not text.startswith("---"):
        text = start.split("\n", 1)[0] + "\n" + text
    return text


# ---------------------------------------------------------------------------------------------
# Positions and conversions


def locate(tree: Any, path: Iterable[str | int], source: str) -> Position:
    """The position of the deepest node of `path` that exists in a round-trip tree."""
    line, column = 0, 0
    node = tree
    for step in path:
        if isinstance(node, CommentedMap) and step in node:
            line, column = node.lc.key(step)
        elif isinstance(node, CommentedSeq) and isinstance(step, int) and 0 <= step < len(node):
            line, column = node.lc.item(step)
        else:
            break
        node = node[step]
    else:
        return Position(source, line + 1, column + 1)
    if (line, column) == (0, 0) and hasattr(node, "lc"):
        line, column = node.lc.line, node.lc.col
    return Position(source, line + 1, column + 1)


def to_plain(value: Any) -> Any:
    """Round-trip values (CommentedMap, ScalarFloat, TaggedScalar...) as plain Python."""
    if isinstance(value, dict):
        return {to_plain(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, ScalarBoolean):  # an anchored boolean: an int subclass in ruamel
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    if hasattr(value, "value"):  # TaggedScalar
        return to_plain(value.value)
    return value


def with_block_text(value: Any) -> Any:
    """Plain data whose multi-line strings are `|` blocks when dumped (as people write them)."""
    from ruamel.yaml.scalarstring import LiteralScalarString

    if isinstance(value, dict):
        return {key: with_block_text(item) for key, item in value.items()}
    if isinstance(value, list):
        return [with_block_text(item) for item in value]
    if isinstance(value, str) and "\n" in value.rstrip("\n"):
        return LiteralScalarString(value)
    return value


def block_yaml(value: Any) -> str:
    """Plain data as block YAML, multi-line strings as `|` blocks."""
    import io

    out = io.StringIO()
    Style().yaml().dump(with_block_text(value), out)
    return out.getvalue()


def walk(value: Any, path: Path_ = ()) -> Iterator[tuple[Path_, Any]]:
    """Every (path, value) pair of a plain tree, parents before children."""
    yield path, value
    if isinstance(value, dict):
        for key, child in value.items():
            yield from walk(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from walk(child, (*path, index))
