"""What a diff operand names: NAME, NAME@X.Y.Z, NAME@<rev> or a file, read as plain data.

Used by the diff operation, whatever face asked for it. A bare NAME that is not on
the current branch is read from its fork branch; a fork's parent is read at the fork point.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ksi_patterns.lineage.forks import ParentLink
from ksi_patterns.registry.registry import Registry


@dataclass(frozen=True)
class Document:
    operand: str  # as given, or what stands for it (the parent)
    detail: str  # where it was read from
    data: Any  # plain
    rev: str | None = None  # the git revision it was read at; None for a file
    file: Path | None = None

    @property
    def label(self) -> str:
        """For the ---/+++ header."""
        return f"{self.operand}  ({self.detail})" if self.detail else self.operand


class Operands:
    """Reads operands; opens the registry only when one needs it (two files need none).

    `open_registry(near)` gives the registry, `near` being the file whose parent is looked for
    (its own registry is the right one). Without `files`, only references are read: a request
    from an agent never reads files outside the registry.
    """

    def __init__(
        self,
        open_registry: Callable[[Path | None], Registry],
        *,
        files: bool = True,
        note: Callable[[str], None] = lambda _text: None,
    ) -> None:
        self._open = open_registry
        self._registry: Registry | None = None
        self._files = files
        self._note = note

    def registry(self, near: Path | None = None) -> Registry:
        if self._registry is None:
            self._registry = self._open(near)
        return self._registry

    def read(self, text: str) -> Document:
        from ksi_patterns.errors import NotFoundError, UsageError

        path = Path(text)
        looks_like_path = text.endswith((".yaml", ".yml")) or "/" in text or "\\" in text
        if looks_like_path and not self._files:
            raise UsageError(f"{text!r} is a file path: give NAME, NAME@X.Y.Z or NAME@REV")
        if looks_like_path and path.is_file():
            return _read_file(path)
        if looks_like_path and path.exists():
            raise UsageError(f"{text} is a folder; give a YAML file")
        if "@" not in text and looks_like_path:
            raise NotFoundError(f"no such file: {text}")
        return self._read_reference(text)

    def _read_reference(self, text: str) -> Document:
        from ksi_patterns.documents.loading import load_plain
        from ksi_patterns.registry.references import locate

        registry = self.registry()
        found = locate(registry, text)
        if found.rev == "HEAD":
            _note_uncommitted(registry, found.path, found.data, self._note)
        where = f"{found.rev} " if found.on_fork_branch else ""
        detail = f"{found.path} at {where}{found.short_id}"
        data = load_plain(found.data, f"{found.path}@{found.at or found.rev}")
        return Document(text, detail, data, found.rev)

    def parent_of(self, fork: Document) -> Document:
        """The fork's lineage parent at the fork point (or at its release, or its tip)."""
        from ksi_patterns.documents.model import check_name
        from ksi_patterns.errors import UsageError
        from ksi_patterns.lineage.forks import parent_link

        link = parent_link(fork.data)
        if link is None:
            raise UsageError(f"{fork.operand} has no lineage parent: give two operands (A B)")
        check_name(link.name, "lineage parent name")
        registry = self.registry(near=fork.file)
        fork_ref = fork.rev or "HEAD"
        found = _at_fork_point(registry, link, fork_ref)
        if isinstance(found, Document):
            return found
        return _parent_fallback(registry, link, reason=found, note=self._note)


def _read_file(path: Path) -> Document:
    from ksi_patterns.documents.loading import load_plain
    from ksi_patterns.errors import InputError, Position

    try:
        data = path.read_bytes()
    except OSError as err:
        raise InputError(f"cannot read: {err.strerror or err}", Position(str(path))) from None
    return Document(str(path), "", load_plain(data, str(path)), None, path)


def _note_uncommitted(
    registry: Registry, path: str, committed: bytes, note: Callable[[str], None]
) -> None:
    """NAME means the committed file; say so when the working copy differs from it."""
    root = registry.store.root
    if root is None:
        return
    try:
        working = (root / path).read_bytes()
    except OSError:
        return
    if working != committed:
        note(
            f"note: {path} has uncommitted changes; comparing the committed version "
            f"(give the file path to compare the working copy)"
        )


def _at_fork_point(registry: Registry, link: ParentLink, fork_ref: str) -> Document | str:
    """The parent's file at the fork point, or why there is none."""
    from ksi_patterns.documents.loading import load_plain
    from ksi_patterns.errors import NotFoundError
    from ksi_patterns.lineage.forks import fork_point

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
    return Document(f"{link.name} at the fork point", f"{path} at {base.short_id}", data)


def _resolves(registry: Registry, rev: str) -> bool:
    from ksi_patterns.errors import NotFoundError

    try:
        registry.store.resolve(rev)
    except NotFoundError:
        return False
    return True


def _parent_fallback(
    registry: Registry, link: ParentLink, *, reason: str, note: Callable[[str], None]
) -> Document:
    """The parent at its recorded release tag, else at the current tip, with a note saying so."""
    from ksi_patterns.documents.loading import load_plain
    from ksi_patterns.documents.model import release_tag

    store = registry.store
    tag = release_tag(link.name, link.version) if link.version else None
    if tag is not None and tag in store.tags():
        rev, what = tag, f"its release tag {tag}"
    else:
        rev, what = "HEAD", f"the current tip ({store.resolve('HEAD').short_id})"
    path = registry.find(link.name, rev)
    note(f"note: comparing with {link.name} at {what}: {reason}")
    data = load_plain(store.read(path, rev), f"{path}@{rev}")
    return Document(f"{link.name} at {what}", path, data, rev)
