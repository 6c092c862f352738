"""What the registry holds, as rows: the listing behind `ksi pattern list`, and the catalog of
document records (through the index cache) behind `ksi pattern discover` and `select`."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from ksi_patterns.documents.loading import load_plain
from ksi_patterns.documents.model import extends_of, lineage_of, stem, tags_of
from ksi_patterns.documents.schema import DocumentKind, kind_of
from ksi_patterns.errors import InputError
from ksi_patterns.registry.registry import Registry

if TYPE_CHECKING:
    from ksi_patterns.finding.index_cache import IndexCache
    from ksi_patterns.finding.records import Record

__all__ = ["Catalog", "Entry", "Located", "branch_refs", "entries", "posting_key", "with_catalog"]

T = TypeVar("T")
Warn = Callable[[str], None]
# The cache keeps every version it has seen; past twice the documents at hand plus this many
# rows it is removed after the run (the next run builds it afresh).
STALE_ROWS = 5000
# A folder tree not listed in the cache is derived from the listing of an earlier commit (found
# among this many first-parent ancestors) and a tree diff, rather than walked.
EARLIER_COMMITS = 8


@dataclass(frozen=True)
class Entry:
    name: str
    kind: str  # orchestration, profile, decision-log
    version: str | None
    description: str
    tags: list[str]
    extends: str | None
    parent: str | None  # lineage parent, NAME@VERSION
    path: str
    blob: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _entry(path: str, blob: str, data: Any) -> Entry | None:
    kind = kind_of(data, path)
    if kind is None or kind == DocumentKind.REGISTRY_CONFIG:
        return None
    if kind == DocumentKind.DECISION_LOG:
        return Entry(
            stem(path), kind.value, None, f"{len(data)} decisions", [], None, None, path, blob
        )
    name = data.get("name")
    version = data.get("version")
    description = data.get("description") or ""
    return Entry(
        name=name if isinstance(name, str) else stem(path),
        kind=kind.value,
        version=str(version) if version is not None else None,
        description=" ".join(str(description).split()),
        tags=tags_of(data),
        extends=extends_of(data),
        parent=lineage_of(data).get("parent"),
        path=path,
        blob=blob,
    )


def entries(
    registry: Registry,
    ref: str = "HEAD",
    *,
    kind: str | None = None,
    tags: list[str] | None = None,
    on_error: Callable[[InputError], None] | None = None,
) -> list[Entry]:
    """Documents at `ref`, sorted by kind then name; unreadable ones go to `on_error`."""
    found = []
    for path, blob in registry.document_paths(ref):
        try:
            data = load_plain(registry.read(path, ref), path)
        except InputError as err:
            if on_error:
                on_error(err)
            continue
        entry = _entry(path, blob, data)
        if entry is None:
            continue
        if kind and entry.kind != kind:
            continue
        if tags and not set(tags) <= set(entry.tags):
            continue
        found.append(entry)
    return sorted(found, key=lambda e: (e.kind != "orchestration", e.kind, e.name, e.path))


# ---------------------------------------------------------------------------------------------
# The catalog: every document blob at some refs, as records (discover, select)


@dataclass(slots=True)
class Located:
    """A document blob and where it is: (ref, path) pairs, the first one shown."""

    record: Record
    locations: list[tuple[str, str]]

    @property
    def path(self) -> str:
        return self.locations[0][1]

    @property
    def name(self) -> str:
        return self.record.name or stem(self.path)

    @property
    def refs(self) -> list[str]:
        return list(dict.fromkeys(ref for ref, _path in self.locations))


@dataclass
class Catalog:
    """The records of the documents at `refs`, read through the index cache when there is one.

    Records come from the cache by blob id; blobs it lacks are parsed from git (and cached).
    Documents and term counts of cached records are fetched on demand, in batches.
    """

    registry: Registry
    refs: list[str]
    located: list[Located]
    cache: IndexCache | None = None
    warnings: list[str] = field(default_factory=list)
    oversized: bool = False  # the cache holds mostly old versions: start it afresh

    @classmethod
    def load(cls, registry: Registry, refs: Sequence[str], cache: IndexCache | None) -> Catalog:
        """The documents under orchestrations/ and profiles/ at `refs` (as document_paths
        lists them). A folder tree the cache has listed costs one row; any other is walked,
        its blobs looked up in the cache, the rest parsed from git, and all of it cached."""
        from ksi_patterns.finding.records import record_of

        store = registry.store
        folders = _document_folders(registry, refs)
        trees = list(dict.fromkeys(tree for _ref, _folder, tree in folders))
        listed = cache.listings(trees) if cache is not None else {}
        walked, earlier = _unlisted(registry, cache, folders, listed)
        first_path = {blob: path for entries in walked.values() for path, blob in reversed(entries)}
        records = {blob: earlier[blob] for blob in first_path if blob in earlier}
        unknown = [blob for blob in first_path if blob not in records]
        if cache is not None and unknown:
            records.update(cache.lookup(unknown))
        parsed = [
            record_of(blob, store.read_blob(blob), path)
            for blob, path in first_path.items()
            if blob not in records
        ]
        records.update((record.blob, record) for record in parsed)
        fresh = {
            tree: [(path, records[blob]) for path, blob in entries]
            for tree, entries in walked.items()
        }
        catalog = cls(registry, list(refs), [], cache)
        stored = cache is not None and bool(fresh) and cache.store(parsed, fresh)
        listed.update(fresh)

        by_blob: dict[str, Located] = {}
        for ref, _folder, tree in folders:
            for path, record in listed[tree]:
                if record.error is not None:
                    catalog.warnings.append(f"warning: skipped {record.input_error(path)}")
                    continue
                known = by_blob.get(record.blob)
                if known is None:
                    by_blob[record.blob] = Located(record, [(ref, path)])
                else:
                    known.locations.append((ref, path))
        catalog.located = list(by_blob.values())
        if stored and parsed and cache is not None:
            blobs = {record.blob for entries in listed.values() for _path, record in entries}
            catalog.oversized = cache.size() > 2 * len(blobs) + STALE_ROWS
        catalog.warnings = list(dict.fromkeys(catalog.warnings))
        return catalog

    def of_kind(self, *kinds: str) -> list[Located]:
        return [item for item in self.located if item.record.kind in kinds]

    def documents(self, items: Sequence[Located], keys: Iterable[str]) -> dict[str, Any]:
        """blob -> the document of each item, for filters on paths starting with `keys`:
        whole when parsed in this run, cut down to those keys when read from the cache."""
        found: dict[str, Any] = {}
        cached: dict[int, str] = {}
        for item in items:
            record = item.record
            if record.document is not None or record.cache_id is None:
                found[record.blob] = record.document
            else:
                cached[record.cache_id] = record.blob
        if cached:
            assert self.cache is not None
            for cache_id, document in self.cache.fields(list(cached), keys).items():
                found[cached[cache_id]] = document
        return found

    def postings(
        self, items: Sequence[Located], terms: Sequence[str]
    ) -> dict[str, dict[int | str, int]]:
        """term -> {key: weighted tf} for each of `terms`, where an item's key is its
        `posting_key`: every item holding the term is there (other documents may be too)."""
        found: dict[str, dict[int | str, int]] = {term: {} for term in terms}
        if self.cache is not None and any(item.record.terms is None for item in items):
            found.update(self.cache.postings(terms))
        for item in items:
            held = item.record.terms
            if held is not None:  # parsed in this run
                key = posting_key(item)
                for term in terms:
                    if term in held:
                        found[term][key] = held[term]
        return found


def posting_key(item: Located) -> int | str:
    """How `Catalog.postings` names an item: its cache row, else its blob."""
    record = item.record
    return record.cache_id if record.cache_id is not None else record.blob


def _document_folders(registry: Registry, refs: Sequence[str]) -> list[tuple[str, str, str]]:
    """(ref, folder, tree id) of every document folder at each of `refs`."""
    from ksi_patterns.documents.model import DOCUMENT_DIRS

    store = registry.store
    folders: list[tuple[str, str, str]] = []
    for ref in refs:
        tip = store.resolve(ref)
        for folder in DOCUMENT_DIRS:
            sub = store.folder_id(folder, tip)
            if sub is not None:
                folders.append((ref, folder, sub))
    return folders


def _unlisted(
    registry: Registry,
    cache: IndexCache | None,
    folders: list[tuple[str, str, str]],
    listed: dict[str, list[tuple[str, Record]]],
) -> tuple[dict[str, list[tuple[str, str]]], dict[str, Record]]:
    """The folder trees the cache has not listed, as tree id -> (path, blob), and the records
    of the blobs in the earlier listings they were derived from (blob -> record)."""
    # From a listing of an earlier commit and a tree diff (after a commit, only what it changed
    # is read), else by walking the tree.
    walked: dict[str, list[tuple[str, str]]] = {}
    earlier: dict[str, Record] = {}
    for ref, folder, tree in folders:
        if tree in listed or tree in walked:
            continue
        base = _earlier_listing(registry, cache, ref, folder) if cache is not None else None
        if base is None:
            walked[tree] = [
                (path, blob)
                for path, blob in registry.store.list_blobs(ref, under=folder)
                if path.endswith((".yaml", ".yml"))
            ]
            continue
        base_tree, base_entries = base
        walked[tree] = _updated(registry, folder, base_tree, base_entries, tree)
        earlier.update((record.blob, record) for _path, record in base_entries)
    return walked, earlier


def _earlier_listing(
    registry: Registry, cache: IndexCache, ref: str, folder: str
) -> tuple[str, list[tuple[str, Record]]] | None:
    """The cached listing of `folder` in the nearest of `ref`'s first-parent ancestors
    (EARLIER_COMMITS at most), with its tree id; None when there is none."""
    store = registry.store
    trees: list[str] = []
    for commit in store.first_parents(ref, EARLIER_COMMITS):
        sub = store.folder_id(folder, commit)
        if sub is not None:
            trees.append(sub)
    return cache.nearest_listing(trees) if trees else None


def _updated(
    registry: Registry,
    folder: str,
    base_tree: str,
    base_entries: list[tuple[str, Record]],
    tree: str,
) -> list[tuple[str, str]]:
    """(path, blob) of the documents in `tree`, from those of `base_tree` and the diff between
    the two trees: the same list `list_blobs` would give, without walking every entry."""
    current = {path: record.blob for path, record in base_entries}
    prefix = folder + "/"
    for change in registry.store.diff_trees(base_tree, tree):
        if change.old_path is not None:
            current.pop(prefix + change.old_path, None)
        if change.new_path is not None and change.new_blob is not None:
            path = prefix + change.new_path
            if path.endswith((".yaml", ".yml")):
                current[path] = change.new_blob
    return sorted(current.items())


def _open_cache(registry: Registry, notes: list[str]) -> IndexCache | None:
    from ksi_patterns.finding.index_cache import CacheUnusable, IndexCache

    try:
        cache = IndexCache.open(registry.store.state_dir)
    except (CacheUnusable, OSError):  # busy, or a read-only repository: go without
        return None
    if cache.rebuilt:
        notes.append(f"warning: {cache.rebuilt}: rebuilt it")
    return cache


def with_catalog(
    registry: Registry,
    refs: Sequence[str],
    work: Callable[[Catalog], T],
    warn: Warn,
    *,
    use_cache: bool = True,
) -> T:
    """`work(catalog)` over the documents at `refs`, the result the same with or without cache.

    A damaged cache is discarded and the work done again on a rebuilt one (then without one);
    a busy cache is left alone and the work done without it. Warnings (unreadable documents,
    a rebuilt cache) go to `warn` once the work has succeeded.
    """
    import gc

    from ksi_patterns.finding.index_cache import CacheCorrupt, CacheUnusable

    notes: list[str] = []
    for attempt in range(3):
        cache = _open_cache(registry, notes) if use_cache and attempt < 2 else None
        # Tens of thousands of small objects and no cycles: the collector would only walk them
        # again and again (a quarter of a warm run over 10,000 patterns).
        collecting = gc.isenabled()
        gc.disable()
        try:
            catalog = Catalog.load(registry, refs, cache)
            result = work(catalog)
        except CacheCorrupt as err:
            if cache is not None:
                cache.discard()
            notes.append(f"warning: {err}: rebuilding it")
            continue
        except CacheUnusable:
            use_cache = False
            continue
        finally:
            if collecting:
                gc.enable()
            if cache is not None:
                cache.close()
        if cache is not None and catalog.oversized:
            cache.discard()
        for note in [*notes, *catalog.warnings]:
            warn(note)
        return result
    raise AssertionError("unreachable: the last attempt runs without a cache")


def branch_refs(registry: Registry) -> list[str]:
    """Every local branch, the checked-out one first (HEAD when there is none)."""
    current = registry.store.current_branch
    branches = registry.store.branches()
    ordered = ([current] if current in branches else []) + [b for b in branches if b != current]
    return ordered or ["HEAD"]
