"""A decision-log entry as YAML text, and appending it to a log without parsing the log.

An entry is appended AS TEXT: the old content is never parsed, only scanned up to its first list
item to learn the item indentation (`- ` or `  - `), so every earlier entry stays byte-identical
and the cost of an append does not grow with the log beyond hashing the new blob. The entry
itself is emitted by ruamel (a one-item list), so quoting is YAML's own, never hand-rolled.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from ksi_patterns.documents.loading import MAX_FILE_BYTES, load_plain, load_roundtrip
from ksi_patterns.documents.render import render
from ksi_patterns.errors import InputError, Position

if TYPE_CHECKING:
    from ruamel.yaml import YAML

DEFAULT_INDENT = 2  # a new log is written like the starter registry's: "  - id: ..."
_SCHEMA_LINE = "# yaml-language-server: $schema={schema}\n"


# ---------------------------------------------------------------------------------------------
# One entry as text


@cache
def _entry_yaml(offset: int) -> YAML:
    from ruamel.yaml import YAML

    yaml = YAML()
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=offset + 2, offset=offset)
    # An unknown outcome is written `null`, as older tools did, rather than left empty.
    yaml.representer.add_representer(
        type(None), lambda rep, _data: rep.represent_scalar("tag:yaml.org,2002:null", "null")
    )
    return yaml


@cache
def _yaml11_resolver() -> Any:
    from ruamel.yaml.resolver import VersionedResolver

    return VersionedResolver(version=(1, 1))


def quoted_for_old_readers(value: Any) -> Any:
    """Strings that a YAML 1.1 reader (PyYAML, older ksi tools) would take for something else
    (`yes`, `on`, `0.5`, `12:30`) are single-quoted; ruamel quotes what YAML 1.2 needs."""
    if isinstance(value, str):
        from ruamel.yaml.nodes import ScalarNode
        from ruamel.yaml.scalarstring import SingleQuotedScalarString

        tag = _yaml11_resolver().resolve(ScalarNode, value, (True, False))
        if str(tag) != "tag:yaml.org,2002:str" and "\n" not in value:
            return SingleQuotedScalarString(value)
        return value
    if isinstance(value, Mapping):
        return {key: quoted_for_old_readers(child) for key, child in value.items()}
    if isinstance(value, list | tuple):
        return [quoted_for_old_readers(child) for child in value]
    return value


def entry_text(entry: Mapping[str, Any], indent: int = 0) -> str:
    """`entry` as the text of one block-list item whose dash sits at column `indent`."""
    offset = 2 if indent >= 2 else 0
    out = io.StringIO()
    _entry_yaml(offset).dump([quoted_for_old_readers(dict(entry))], out)
    text = out.getvalue()
    if indent == offset:
        return text
    pad = " " * (indent - offset)
    return "".join(pad + line if line.strip() else line for line in text.splitlines(True))


# ---------------------------------------------------------------------------------------------
# Appending as text


@dataclass(frozen=True)
class _Shape:
    """What the start of a log says about it."""

    indent: int | None  # column of the first item's dash; None when the log has no item yet
    empty_flow: tuple[int, int] | None  # byte range of an `[]` line to drop, if the log is `[]`


def _lines(data: bytes) -> Iterable[tuple[int, int, int]]:
    """(line number from 1, start, end without the newline) of each line of `data`, lazily."""
    start, number = 0, 1
    while start < len(data):
        end = data.find(b"\n", start)
        end = len(data) if end < 0 else end
        yield number, start, end
        start, number = end + 1, number + 1


def _shape(data: bytes, source: str) -> _Shape:
    """Scan the log from the top up to its first content line (comments and `---` skipped)."""
    skip_bom = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    for number, start, end in _lines(data):
        line = data[start + skip_bom if number == 1 else start : end].rstrip(b"\r")
        body = line.lstrip(b" ")
        if not body.strip() or body.startswith((b"#", b"%")) or body.rstrip() == b"---":
            continue
        column = len(line) - len(body) + 1
        if body == b"-" or body.startswith((b"- ", b"-\t")):
            return _Shape(len(line) - len(body), None)
        if body.split(b"#", 1)[0].strip() == b"[]":
            return _Shape(None, (start, min(end + 1, len(data))))
        raise InputError(
            "cannot append a decision: this file is not a decision log written as a block list "
            "(`- decision: ...`)",
            Position(source, number, column),
        )
    return _Shape(None, None)


def item_indent(data: bytes, source: str = "decision log") -> int | None:
    """The column of the first list item's dash, from the first item line only (no parse)."""
    return _shape(data, source).indent


def _ends_document(data: bytes) -> int | None:
    """The line number of a final `...` (end of document) line, which nothing may follow."""
    tail = data[-512:].rstrip()  # the end only: the cost must not grow with the log
    last = tail[tail.rfind(b"\n") + 1 :]
    if last.strip() == b"..." or last.startswith(b"... "):
        return data.rstrip().count(b"\n") + 1
    return None


def append_entry(old: bytes | None, entry: Mapping[str, Any], source: str) -> bytes:
    """The log `old` (None: no file yet) with `entry` appended as text, in the log's style.

    Only the first item line is looked at (for the indentation) and the end of the file (a
    missing final newline, an end-of-document marker): the old bytes are kept as they are.
    """
    if old is None or not old or old.isspace():  # (isspace stops at the first non-space)
        from ksi_patterns.documents.schema import DocumentKind, schema_id

        head = old or _SCHEMA_LINE.format(schema=schema_id(DocumentKind.DECISION_LOG)).encode()
        if head and not head.endswith(b"\n"):
            head += b"\n"
        return head + entry_text(entry, DEFAULT_INDENT).encode()
    shape = _shape(old, source)
    if (line := _ends_document(old)) is not None:
        raise InputError(
            "cannot append a decision after the end-of-document marker `...`",
            Position(source, line, 1),
        )
    if shape.empty_flow is not None:
        start, end = shape.empty_flow
        old = old[:start] + old[end:]
        shape = _Shape(DEFAULT_INDENT, None)
    indent = DEFAULT_INDENT if shape.indent is None else shape.indent
    text = entry_text(entry, indent).encode()
    if old.endswith(b"\n") or not old:
        new = old + text
    else:
        new = old + b"\n" + text
        new = _checked_unterminated(old, new, entry, source)
    if len(new) > MAX_FILE_BYTES:
        raise InputError(
            f"the decision log would grow past the {MAX_FILE_BYTES:,}-byte limit that readers "
            "accept; move older entries to an archive file first",
            Position(source),
        )
    return new


def _checked_unterminated(old: bytes, new: bytes, entry: Mapping[str, Any], source: str) -> bytes:
    """A log that did not end with a newline (hand-edited): a line break was added before the
    entry. If its last value was a block scalar (`|`), that break would change it, so then the
    entry is appended through a round-trip edit instead, which keeps the value. Runs once: the
    new log ends with a newline."""
    before = load_plain(old, source)
    after = load_plain(new, source)
    if isinstance(after, list) and (after[:-1] == before or (before is None and len(after) == 1)):
        return new
    from ruamel.yaml.comments import CommentedMap

    document = load_roundtrip(old, source)
    if not isinstance(document.tree, list):
        raise InputError("a decision log must be a YAML list", Position(source))
    document.tree.append(CommentedMap(quoted_for_old_readers(dict(entry))))
    return render(document).encode()
