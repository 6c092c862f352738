"""Forks and their parents: `ksi pattern fork`, and where a fork came from.

A fork is a branch `fork/NAME` on which the copy of its parent was committed with a `lineage`
block near the top. The parent's file at the fork point is the base of a later merge.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from ksi_patterns.documents.loading import load_plain, load_roundtrip, with_block_text
from ksi_patterns.documents.model import (
    FORK_BRANCH_PREFIX,
    PATTERNS_DIR,
    check_name,
    fork_branch,
    lineage_of,
    pattern_path,
    stem,
)
from ksi_patterns.documents.render import render
from ksi_patterns.errors import InputError, KsiError, NotFoundError, Position, UsageError
from ksi_patterns.git.refs import Commit
from ksi_patterns.registry.registry import Registry

# Keys that identify a document; the lineage block goes right after those present at the top.
_FRONTMATTER = ("name", "type", "version", "description", "author", "extends")


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Fork:
    name: str
    parent: str  # NAME@VERSION
    path: str
    branch: str
    commit_id: str
    reason: str
    switched: bool  # the working tree moved to the fork's branch
    stayed_because: str | None  # why the working tree did not switch, if it did not

    def to_json(self) -> dict[str, Any]:
        """What `composition:forked` carries."""
        return {
            "name": self.name,
            "parent": self.parent,
            "type": "orchestration",
            "path": self.path,
            "branch": self.branch,
            "commit": self.commit_id,
            "reason": self.reason,
        }


def fork(
    registry: Registry,
    parent: str,
    name: str,
    *,
    reason: str,
    author: str | None = None,
    settings: Sequence[tuple[str, Any]] = (),
    from_ref: str = "HEAD",
    switch: bool = True,
) -> Fork:
    """Create `fork/NAME` from `from_ref` with NAME's file: the parent's, renamed, with lineage."""
    store = registry.store
    check_name(name)
    parent_file = registry.find(parent, from_ref, folder=PATTERNS_DIR)
    if any(stem(path) == name for path, _blob in registry.document_paths(from_ref)):
        raise UsageError(f"{name!r} already exists; choose another name for the fork")
    start = store.resolve(from_ref)
    document = load_roundtrip(store.read(parent_file, start), parent_file)
    if not isinstance(document.tree, CommentedMap):
        raise InputError("a pattern must be a mapping", Position(parent_file))
    version = document.tree.get("version")
    parent_ref = f"{parent}@{version if version is not None else str(start.id)[:12]}"
    defaults = registry.config(from_ref).get("defaults") or {}
    lineage = CommentedMap(
        parent=parent_ref,
        parent_commit=str(start.id),
        fork_date=utc_now(),
        fork_reason=reason,
        fork_author=author or defaults.get("author") or store.signature().name,
        improvements=CommentedSeq(),
    )
    tree = document.tree
    tree["name"] = name
    if "lineage" in tree:
        del tree["lineage"]
    tree.insert(lineage_position(tree), "lineage", lineage)
    _fresh_performance(tree)
    for path, value in settings:
        set_path(tree, path, value)
    path = pattern_path(name)
    branch = fork_branch(name)
    message = f"fork({name}): from {parent_ref}\n\n{reason}\n"
    result = registry.commit(
        {path: render(document).encode()}, message, branch, create_branch_from=start
    )
    switched, stayed = _switch(registry, branch, switch)
    return Fork(name, parent_ref, path, branch, result.commit_id, reason, switched, stayed)


def _fresh_performance(tree: CommentedMap) -> None:
    """A fork is measured on its own runs: the parent's figures would blend into its averages
    and make it look tried when it is not (record-run compares it with the parent)."""
    metadata = tree.get("metadata")
    for holder in (tree, metadata if isinstance(metadata, dict) else None):
        if holder is not None and isinstance(holder.get("performance"), dict):
            holder["performance"] = CommentedMap(runs=0)
            return


def lineage_position(tree: CommentedMap) -> int:
    """Where a `lineage` block goes: right after the identity keys at the top."""
    position = 0
    for index, key in enumerate(tree):
        if key not in _FRONTMATTER:
            break
        position = index + 1
    return position


def _switch(registry: Registry, branch: str, wanted: bool) -> tuple[bool, str | None]:
    store = registry.store
    if not wanted:
        return False, None
    if store.is_bare:
        return False, "the registry is bare"
    try:
        store.checkout_branch(branch)
    except KsiError as err:
        return False, err.message
    return True, None


# ---------------------------------------------------------------------------------------------
# Settings: dotted paths set in the same commit


def set_path(tree: Any, dotted: str, value: Any) -> None:
    """Set a dotted path in a round-trip tree, creating maps on the way; list items by index.
    Multi-line texts are set as `|` blocks, as people write them."""
    value = with_block_text(value)
    steps = dotted.split(".")
    node = tree
    for position, step in enumerate(steps):
        last = position == len(steps) - 1
        if isinstance(node, list):
            if not step.isdigit() or int(step) >= len(node):
                raise UsageError(
                    f"{{field}} {dotted}: {step!r} is not an item of the list there",
                    field="settings",
                )
            key: Any = int(step)
        elif isinstance(node, dict):
            key = step
        else:
            walked = ".".join(steps[:position])
            raise UsageError(
                f"{{field}} {dotted}: {walked} is not a mapping or list", field="settings"
            )
        if last:
            node[key] = value
        else:
            if isinstance(node, dict) and key not in node:
                node[key] = CommentedMap()
            node = node[key]


# ---------------------------------------------------------------------------------------------
# Where a fork came from


@dataclass(frozen=True)
class ParentLink:
    name: str
    version: str | None
    commit: str | None  # the parent's commit at the fork point, when recorded


def parent_link(document: Any) -> ParentLink | None:
    """The lineage parent of a plain document, or None for a document that is no fork."""
    parent = lineage_of(document).get("parent")
    if not isinstance(parent, str) or not parent:
        return None
    name, _, version = parent.partition("@")
    commit = lineage_of(document).get("parent_commit")
    return ParentLink(name, version or None, str(commit) if commit else None)


def fork_point(registry: Registry, parent_ref: str, fork_ref: str, link: ParentLink) -> Commit:
    """The commit whose parent file is the base of a merge: the branches' merge base when the
    fork's history joins the parent's, else the recorded `parent_commit`."""
    store = registry.store
    parent_tip = store.resolve(parent_ref)
    fork_tip = store.resolve(fork_ref)
    base = store.merge_base(parent_tip, fork_tip)
    if base is not None:
        return store.resolve(base)
    if link.commit:
        try:
            return store.resolve(link.commit)
        except NotFoundError:
            pass
    raise NotFoundError(f"cannot find where {link.name} was forked: no common history")


# ---------------------------------------------------------------------------------------------
# The family tree: `ksi pattern lineage`


@dataclass
class Node:
    name: str
    version: str | None
    where: str  # the branch (or HEAD) the document was read from
    parent: str | None  # parent name
    fork_date: str | None
    fork_reason: str | None
    releases: list[str]
    merged_into_parent: list[str]  # dates the parent recorded a merge from this one
    children: list[Node]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "where": self.where,
            "parent": self.parent,
            "fork_date": self.fork_date,
            "fork_reason": self.fork_reason,
            "releases": self.releases,
            "merged_into_parent": self.merged_into_parent,
            "children": [child.to_json() for child in self.children],
        }


def family_tree(registry: Registry, name: str | None = None) -> list[Node]:
    """Patterns as a forest of forks, read from the current branch and every fork/* branch."""
    store = registry.store
    tags = store.tags()
    nodes: dict[str, Node] = {}
    merges: dict[str, list[str]] = {}  # fork name -> merge dates recorded by its parent
    refs = ["HEAD"] + [b for b in store.branches() if b.startswith(FORK_BRANCH_PREFIX)]
    for ref in refs:
        for path, _blob in registry.document_paths(ref):
            if not path.startswith(PATTERNS_DIR + "/") or stem(path) in nodes:
                continue
            try:
                data = load_plain(store.read(path, ref), path)
            except InputError:
                continue
            if not isinstance(data, dict) or data.get("type") != "orchestration":
                continue
            link = parent_link(data)
            lineage = lineage_of(data)
            node_name = stem(path)
            nodes[node_name] = Node(
                name=node_name,
                version=str(data["version"]) if data.get("version") is not None else None,
                where="HEAD" if ref == "HEAD" else ref,
                parent=link.name if link and link.name != node_name else None,
                fork_date=str(lineage.get("fork_date")) if lineage.get("fork_date") else None,
                fork_reason=lineage.get("fork_reason"),
                releases=sorted(t.split("@", 1)[1] for t in tags if t.startswith(node_name + "@")),
                merged_into_parent=[],
                children=[],
            )
            for entry in lineage.get("merges") or []:
                if isinstance(entry, dict) and entry.get("from"):
                    source = str(entry["from"]).partition("@")[0]  # "NAME@VERSION"
                    merges.setdefault(source, []).append(str(entry.get("date", "")))
    roots = []
    for node in sorted(nodes.values(), key=lambda n: (n.fork_date or "", n.name)):
        node.merged_into_parent = merges.get(node.name, [])
        if node.parent in nodes and not _descends(nodes, node.parent, node.name):
            nodes[node.parent].children.append(node)
        else:
            roots.append(node)
    if name is None:
        return roots
    if name not in nodes:
        raise NotFoundError(f"no pattern named {name!r} on the current branch or a fork branch")
    top = nodes[name]
    while top.parent in nodes and top not in roots:
        top = nodes[top.parent]
    return [top]


def _descends(nodes: dict[str, Node], start: str, target: str) -> bool:
    """Whether following parents from `start` reaches `target` (a lineage cycle)."""
    seen = set()
    current: str | None = start
    while current is not None and current in nodes and current not in seen:
        if current == target:
            return True
        seen.add(current)
        current = nodes[current].parent
    return False
