"""The registry: where it is, how it starts, and how its documents are found by name."""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ksi_patterns.documents.loading import load_plain
from ksi_patterns.documents.model import (
    CONFIG_FILE,
    DOCUMENT_DIRS,
    PATTERNS_DIR,
    check_name,
    is_document_path,
    stem,
)
from ksi_patterns.documents.resources import starter_registry_dir
from ksi_patterns.errors import KsiError, NotFoundError, UsageError
from ksi_patterns.git.commits import ChangeFn, CommitResult
from ksi_patterns.git.store import Store
from ksi_patterns.git.trees import Changes

ENV_VAR = "KSI_REGISTRY"
APP_NAME = "ksi-patterns"

# Every *.yaml merge goes through the structural engine (`ksi merge-driver`), so that a plain
# `git merge` merges patterns and decision logs the way `ksi` does.
GITATTRIBUTES = "*.yaml merge=ksi\n*.yml merge=ksi\n"


def default_registry_path() -> Path:
    from platformdirs import user_data_path

    return user_data_path(APP_NAME) / "registry"


@dataclass
class Registry:
    store: Store

    @property
    def location(self) -> Path:
        return self.store.root or self.store.git_dir

    def read(self, path: str, ref: str = "HEAD") -> bytes:
        return self.store.read(path, ref)

    def commit(
        self,
        changes: Changes | ChangeFn,
        message: str,
        branch: str | None = None,
        *,
        unchecked: Collection[str] = (),
        **options: Any,
    ) -> CommitResult:
        """`Store.commit`, refusing (InputError, nothing written) any document it would write
        that does not validate. `unchecked` paths are logs whose new entries were checked when
        they were made: an append never re-reads the whole log."""
        from ksi_patterns.documents.validation import check_written

        def checked(tip: Any) -> Changes:
            wanted = changes(tip) if callable(changes) else changes
            for path, data in wanted.items():
                if data is not None and path not in unchecked and is_document_path(path):
                    check_written(path, data)
            return wanted

        return self.store.commit(checked, message, branch, **options)

    def config(self, ref: str = "HEAD") -> dict[str, Any]:
        data = load_plain(self.read(CONFIG_FILE, ref), CONFIG_FILE)
        return data if isinstance(data, dict) else {}

    def document_paths(self, ref: str = "HEAD") -> list[tuple[str, str]]:
        """(path, blob id) of every YAML file under orchestrations/ and profiles/ at `ref`."""
        found = []
        for folder in DOCUMENT_DIRS:
            found += [
                (path, blob)
                for path, blob in self.store.list_blobs(ref, under=folder)
                if is_document_path(path)
            ]
        return found

    def find(self, name: str, ref: str = "HEAD", *, folder: str | None = None) -> str:
        """The path of the document called `name` at `ref` (its file name is its name)."""
        check_name(name)
        matches = [
            path
            for path, _blob in self.document_paths(ref)
            if stem(path) == name and (folder is None or path.startswith(folder + "/"))
        ]
        if not matches:
            raise NotFoundError(f"no pattern or profile named {name!r} at {ref}")
        if len(matches) > 1:
            patterns = [path for path in matches if path.startswith(PATTERNS_DIR + "/")]
            if len(patterns) == 1:
                return patterns[0]
            raise UsageError(f"{name!r} is ambiguous at {ref}: {', '.join(sorted(matches))}")
        return matches[0]

    def has(self, name: str, ref: str = "HEAD") -> bool:
        """Whether a document called `name` is at `ref`."""
        try:
            self.find(name, ref)
        except NotFoundError:
            return False
        return True

    def lookup(self, ref: str = "HEAD") -> Callable[[str], Any]:
        """name -> plain document at `ref` (None when missing), for `extends` resolution."""

        def load(name: str) -> Any:
            try:
                path = self.find(name, ref)
            except NotFoundError:
                return None
            return load_plain(self.read(path, ref), path)

        return load


# ---------------------------------------------------------------------------------------------
# Finding the registry


def _is_registry_folder(path: Path) -> bool:
    return (path / CONFIG_FILE).is_file()


def _open_at(path: Path, origin: str) -> Registry:
    if not path.exists():
        raise NotFoundError(
            f"{path} ({origin}) does not exist; create it with `ksi registry init {path}`"
        )
    try:
        store = Store.open(path)
    except KsiError:
        raise NotFoundError(f"{path} ({origin}) is not a git repository") from None
    try:
        committed = store.exists(CONFIG_FILE)
    except KsiError:  # a repository without a commit yet
        committed = False
    if not (_is_registry_folder(path) or committed):
        raise NotFoundError(
            f"{path} ({origin}) is not a ksi registry: no {CONFIG_FILE}; "
            f"create one with `ksi registry init {path}`"
        )
    return Registry(store)


def enclosing_registry(path: Path) -> Registry | None:
    """The registry whose folder holds `path`, if any (no fallbacks)."""
    start = path.resolve()
    for folder in (start, *start.parents):
        if _is_registry_folder(folder):
            return _open_at(folder, "enclosing folder")
    return None


def opener(explicit: str | os.PathLike[str] | None = None) -> Callable[[Path | None], Registry]:
    """Opens the registry for a document near a path (the registry holding it, unless one was
    named), or, given no path, the registry `open_registry` finds; only when called."""

    def open_near(near: Path | None) -> Registry:
        found = enclosing_registry(near) if near is not None and not explicit else None
        return found or open_registry(explicit)

    return open_near


def open_registry(
    explicit: str | os.PathLike[str] | None = None, cwd: Path | None = None
) -> Registry:
    """--registry, else $KSI_REGISTRY, else the nearest enclosing registry, else the default one."""
    if explicit:
        return _open_at(Path(explicit).expanduser(), "--registry")
    if os.environ.get(ENV_VAR):
        return _open_at(Path(os.environ[ENV_VAR]).expanduser(), ENV_VAR)
    enclosing = enclosing_registry(cwd or Path.cwd())
    if enclosing is not None:
        return enclosing
    default = default_registry_path()
    if not _is_registry_folder(default):
        init_registry(default)
    return _open_at(default, "default registry")


# ---------------------------------------------------------------------------------------------
# Creating one


def starter_files(*, empty: bool = False) -> dict[str, bytes]:
    """The starter registry shipped with the package, as repository paths and contents.
    With `empty`, only its configuration."""
    root = starter_registry_dir()
    files = {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }
    if empty:
        files = {CONFIG_FILE: files[CONFIG_FILE]}
    files[".gitattributes"] = GITATTRIBUTES.encode()
    return files


def merge_driver_command() -> str:
    """The command git runs for `merge=ksi` files (this interpreter, so no PATH is needed)."""
    return f"{shlex.quote(sys.executable)} -m ksi_patterns merge-driver %O %A %B %L %P"


def install_merge_driver(store: Store) -> None:
    """Register `ksi merge-driver` in the repository config; .gitattributes routes YAML to it."""
    store.set_config("merge.ksi.name", "ksi structural YAML merge")
    store.set_config("merge.ksi.driver", merge_driver_command())


def init_registry(
    path: str | os.PathLike[str],
    *,
    name: str | None = None,
    bare: bool = False,
    empty: bool = False,
) -> Registry:
    """A new git repository holding the starter registry in one commit. Refuses to overwrite."""
    target = Path(path).expanduser()
    if _is_registry_folder(target) or (target / "HEAD").is_file() or (target / ".git").exists():
        raise UsageError(f"{target} already holds a git repository or registry; not overwriting it")
    if target.exists() and not target.is_dir():
        raise UsageError(f"{target} exists and is not a folder")
    if target.is_dir() and any(target.iterdir()):
        raise UsageError(f"{target} is not empty; choose a new or empty folder")
    files = starter_files(empty=empty)
    if name is not None:
        config = files[CONFIG_FILE].decode()
        files[CONFIG_FILE] = config.replace(
            "name: default", f"name: {check_name(name, 'registry name')}", 1
        ).encode()
    target.mkdir(parents=True, exist_ok=True)
    store = Store.init(target, bare=bare)
    store.commit(files, "Initial registry: starter patterns and profiles", branch="main")
    install_merge_driver(store)
    return Registry(store)
