"""One nesting limit for every reader: YAML files, JSON given on a command line or in a log, and
values handed to the API.

Every reader below walks trees recursively (constructors, to_plain, jsonschema, deepdiff, the
merge walks, CEL): a document nested thousands of levels deep overflows Python's recursion limit
(a traceback) or, in the C parser, the C stack (a segfault). So depth is measured before any tree
is built, from the text (a cheap bound first, the parser's flat event stream only when the bound
is too high) and refused with the file, line and column of the first level too deep.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping
from typing import Any

from ksi_patterns.errors import InputError, Position, UsageError

# Real patterns nest under 10 levels (the KSI corpus: 8). Readers use a few stack frames per
# level; 64 leaves every one of them far below Python's recursion limit.
MAX_DEPTH = 64

# A block collection starts after its line's indentation and `- `, `? `, `: ` indicators; two
# nested levels need at least one more column (a list under a key may share the key's column).
_BLOCK_PREFIX = re.compile(r"^[ \t?:-]{" + str(MAX_DEPTH // 4 - 1) + "}", re.MULTILINE)
_JSON_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}\n]')


def too_deep(source: str, line: int | None = None, column: int | None = None) -> InputError:
    return InputError(f"nested more than {MAX_DEPTH} levels deep", Position(source, line, column))


def _may_be_deep(text: str) -> bool:
    """False when `text` cannot nest past MAX_DEPTH: each `[`/`{` opens at most two levels (a
    flow list of `a: b` pairs), each column of block prefix at most two."""
    flow = text.count("[") + text.count("{")
    return flow > MAX_DEPTH // 4 or _BLOCK_PREFIX.search(text) is not None


def check_yaml_depth(text: str, source: str) -> None:
    """Refuse YAML nested deeper than MAX_DEPTH, at the first level too deep.

    Text the fast parser refuses is measured again by the pure one (as the loaders fall back to
    it); text neither parser takes is left to the loader, which reports the syntax error.
    """
    if not _may_be_deep(text):
        return
    from ruamel.yaml.error import YAMLError

    for parser in _parsers():
        try:
            _count_levels(parser.parse(text), source)
            return
        except YAMLError:
            continue


@functools.cache
def _parsers() -> tuple[Any, Any]:
    """The fast and the pure event parsers (ruamel is imported only when text may be deep: the
    JSON and value checks are used by the event bus, which does without it)."""
    from ruamel.yaml import YAML

    return YAML(typ="safe"), YAML(typ="safe", pure=True)


def _count_levels(events: Iterator[Any], source: str) -> None:
    from ruamel.yaml import events as kinds

    opens = {kinds.MappingStartEvent, kinds.SequenceStartEvent}
    closes = {kinds.MappingEndEvent, kinds.SequenceEndEvent}
    depth = 0
    for event in events:
        kind = type(event)
        if kind in opens:
            depth += 1
            if depth > MAX_DEPTH:
                mark = event.start_mark
                raise too_deep(source, mark.line + 1, mark.column + 1)
        elif kind in closes:
            depth -= 1


def check_json_depth(text: str, source: str) -> None:
    """Refuse JSON text nested deeper than MAX_DEPTH (strings skipped), at the first level too
    deep. Malformed text is left to the JSON parser."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return
    depth, line, line_start = 0, 1, 0
    for token in _JSON_TOKENS.finditer(text):
        first = token.group()[0]
        if first == "\n":
            line, line_start = line + 1, token.end()
        elif first in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise too_deep(source, line, token.start() - line_start + 1)
        elif first in "]}":
            depth -= 1


def check_value_depth(value: Any, field: str) -> None:
    """Refuse a request's value `field` (a mapping, lists) nested deeper than MAX_DEPTH,
    without recursion. The same container reached twice counts once (no cycle runs forever)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    seen: set[int] = set()
    while stack:
        item, depth = stack.pop()
        if not isinstance(item, Mapping | list | tuple) or id(item) in seen:
            continue
        seen.add(id(item))
        if depth >= MAX_DEPTH:
            raise UsageError(f"{{field}}: nested more than {MAX_DEPTH} levels deep", field=field)
        children = item.values() if isinstance(item, Mapping) else item
        stack.extend((child, depth + 1) for child in children)
