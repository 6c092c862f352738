"""Facts about parsed YAML nodes: the fast parser, tags, identities, values, key checks.

The C parser composes the node graph (no round-trip objects) with every node's position; what
the merge asks of a node (is it the same data as that one, what is its identity field) is
answered here, cheaply, so that a 1 MB document is read and compared in a fraction of a second.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.constructor import SafeConstructor
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.resolver import VersionedResolver
from ruamel.yaml.tag import Tag

from ksi_patterns.documents.nesting import MAX_DEPTH


class Unreadable(Exception):
    """The document cannot be merged structurally; the message says why (for `fallback`)."""


class _Resolver(VersionedResolver):
    """ruamel's YAML 1.2 tag resolution, made cheap: the stock resolver looks the YAML version
    up twice and goes through lazy regex wrappers for every scalar, which costs more than the
    C parser itself. Tags here only tell values apart, so 1.2 rules for every file are fine.
    """

    _table: dict[Any, list[tuple[Tag, Any]]] | None = None

    @property
    def processing_version(self) -> Any:
        return (1, 2)

    def _implicit(self) -> dict[Any, list[tuple[Tag, Any]]]:
        if self._table is None:
            table: dict[Any, list[tuple[Tag, Any]]] = {}
            anywhere = self.versioned_resolver.get(None, [])
            for first, rules in self.versioned_resolver.items():
                if first is None:
                    continue
                table[first] = [
                    (Tag(suffix=tag), _unwrap(regexp).match) for tag, regexp in [*rules, *anywhere]
                ]
            table[None] = [(Tag(suffix=tag), _unwrap(regexp).match) for tag, regexp in anywhere]
            self._table = table
        return self._table

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is ScalarNode and implicit[0] and not self.yaml_path_resolvers:
            table = self._implicit()
            rules = table.get(value[0] if value else "")
            for tag, match in rules if rules is not None else table[None]:
                if match(value):
                    return tag
            return self.DEFAULT_SCALAR_TAG
        return super().resolve(kind, value, implicit)


def _unwrap(regexp: Any) -> Any:
    """The compiled pattern inside ruamel's LazyEval wrapper (each attribute access through
    the wrapper costs a Python call)."""
    lazy = getattr(regexp, "lazy_self", None)
    return lazy() if callable(lazy) else regexp


def _composer(*, pure: bool) -> YAML:
    yaml = YAML(typ="safe", pure=pure)
    yaml.Resolver = _Resolver
    return yaml


COMPOSE = _composer(pure=False)
COMPOSE_PURE = _composer(pure=True)
_MERGE_TAG = "tag:yaml.org,2002:merge"
_NULL_TAG = "tag:yaml.org,2002:null"
_BOOL_TAG = "tag:yaml.org,2002:bool"
# The walks recurse; real documents nest a dozen levels. Deeper input is merged as text.


class _TextDates(SafeConstructor):
    """Dates as written (conflict records show what the file says)."""

    def construct_yaml_timestamp(self, node: Any, values: Any = None) -> Any:
        return self.construct_scalar(node)


_TextDates.add_constructor("tag:yaml.org,2002:timestamp", _TextDates.construct_yaml_timestamp)
_CONSTRUCT = YAML(typ="safe", pure=True)
_CONSTRUCT.Constructor = _TextDates


def node_value(node: Node) -> Any:
    """The plain Python value of a parsed node (for conflict records)."""
    return _CONSTRUCT.constructor.construct_document(node)


def canon(node: Node, memo: dict[int, Hashable]) -> Hashable:
    """Equal for equal data whatever the quoting or layout (memoised per node in `memo`)."""
    found = memo.get(id(node))
    if found is not None:
        return found
    if isinstance(node, ScalarNode):
        made: Hashable = scalar_identity(node)
    elif isinstance(node, SequenceNode):
        made = ("seq", tag_of(node), tuple(canon(item, memo) for item in node.value))
    else:
        made = (
            "map",
            tag_of(node),
            frozenset((canon(k, memo), canon(v, memo)) for k, v in node.value),
        )
    memo[id(node)] = made
    return made


def tag_of(node: Node) -> str:
    """A node's tag as text. `node.tag` URI-decodes on every call, which costs more than the
    parse itself on large files; a resolved tag is already plain text."""
    tag = node.ctag
    if tag is None:
        return ""
    if tag.handle is None and isinstance(tag.suffix, str):
        return tag.suffix
    return str(tag)


def is_block(node: Node | None) -> bool:
    return isinstance(node, MappingNode | SequenceNode) and not node.flow_style


def scalar_identity(node: ScalarNode) -> Hashable:
    tag = tag_of(node)
    if tag == _NULL_TAG:
        return ("null",)
    if tag == _BOOL_TAG:
        return (tag, str(node.value).lower())
    return (tag, node.value)


def key_step(node: ScalarNode) -> Any:
    """A key as a path step: text, or a number when the file wrote a number."""
    if tag_of(node) == "tag:yaml.org,2002:int":
        try:
            return int(node.value)
        except ValueError:
            return node.value
    return node.value


def check_keys(root: Node, source: str) -> bool:
    """Refuse duplicate keys; True when aliases or merge keys make the document plain-only."""
    seen: set[int] = set()
    plain_only = False
    stack: list[tuple[Node, int]] = [(root, 0)]
    while stack:
        node, depth = stack.pop()
        if id(node) in seen:
            plain_only = True  # the same node reached twice: an alias
            continue
        seen.add(id(node))
        if depth > MAX_DEPTH:
            mark = node.start_mark
            where = f"{source}:{mark.line + 1}:{mark.column + 1}"
            raise Unreadable(f"nested deeper than {MAX_DEPTH} levels at {where}")
        if isinstance(node, MappingNode):
            texts: set[Any] = set()
            for key_node, value in node.value:
                stack.append((key_node, depth + 1))
                stack.append((value, depth + 1))
                if not isinstance(key_node, ScalarNode):
                    plain_only = True  # a map or list as a key: only the value walk takes it
                    continue
                if key_node.value == "<<" and tag_of(key_node) == _MERGE_TAG:
                    plain_only = True
                if key_node.value in texts:  # rare: only then are tags worth comparing
                    others = {
                        scalar_identity(k)
                        for k, _v in node.value
                        if isinstance(k, ScalarNode) and k is not key_node
                    }
                    if scalar_identity(key_node) in others:
                        mark = key_node.start_mark
                        raise Unreadable(
                            f"duplicate key {key_node.value!r} at "
                            f"{source}:{mark.line + 1}:{mark.column + 1}"
                        )
                texts.add(key_node.value)
        elif isinstance(node, SequenceNode):
            stack.extend((item, depth + 1) for item in node.value)
    return plain_only


class NodeView:
    """The questions list identity asks about items (identity.ItemView), over parsed nodes."""

    def __init__(self, memo: dict[int, Hashable]) -> None:
        self.memo = memo

    def is_map(self, item: Any) -> bool:
        return isinstance(item, MappingNode)

    def is_scalar(self, item: Any) -> bool:
        return isinstance(item, ScalarNode)

    def field(self, item: Any, name: str) -> Hashable | None:
        for key, value in item.value:
            if isinstance(key, ScalarNode) and key.value == name:
                return canon(value, self.memo) if isinstance(value, ScalarNode) else None
        return None

    def first_field(self, item: Any) -> str | None:
        if not item.value or not isinstance(item.value[0][0], ScalarNode):
            return None
        return str(item.value[0][0].value)

    def canon(self, item: Any) -> Hashable:
        return canon(item, self.memo)

    def fields(self, item: Any) -> dict[Hashable, Hashable]:
        return {canon(key, self.memo): canon(value, self.memo) for key, value in item.value}
