"""The git layer: the only door to pygit2 (DESIGN.md 7).

Everything above it talks to git through `store.Store` and gets plain values back: `refs.Commit`,
`identity.Person`, `history.CommitInfo`, `commits.CommitResult`, `trees.FileChange`,
`merges.TreeMerge` and `merges.FileVersions`. No other package imports pygit2, except remote/
for transport, which gets the raw repository from `Store.transport_repository()`.

Modules:
- `store`: the `Store` facade: reads at refs, commits, branches and tags, ancestry and merges,
  config, the work tree.
- `commits`: compare-and-swap commits: one try, and the retries and queue around it.
- `refs`: revisions (`Rev`) and the `Commit` value; resolving, checking, creating and moving
  references.
- `trees`: path checks, lookups, listings and diffs of trees, and building one in memory.
- `merges`: merge bases, ancestry, and libgit2's merge of two commits as plain values.
- `history`: the commits that changed one file.
- `worktree`: refreshing work-tree files after a commit, status, checkout.
- `identity`: who commits (`Person`, and the signature git would choose).
- `config`: reading the repository's git config.
- `locks`: the file locks writers queue on.
"""
