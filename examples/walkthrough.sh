#!/usr/bin/env bash
# A scripted tour of ksi on the built-in default registry: `make walkthrough` runs it.
#
# It works in a scratch folder (XDG_DATA_HOME points there), so your own default registry
# is neither created nor changed. Run the same commands without that line to use your own.
set -euo pipefail

work=$(mktemp -d "${TMPDIR:-/tmp}/ksi-walkthrough.XXXXXX")
trap 'rm -rf "$work"' EXIT
export XDG_DATA_HOME="$work/data"
unset KSI_REGISTRY

bold=$'\033[1m'; dim=$'\033[2m'; reset=$'\033[0m'
if [[ -n "${NO_COLOR:-}" || ! -t 1 ]]; then bold=""; dim=""; reset=""; fi

say() { printf '\n%s# %s%s\n' "$dim" "$*" "$reset"; }
run() { printf '%s$ %s%s\n' "$bold" "$*" "$reset"; "$@"; }

say "First use: no registry anywhere, so ksi creates the default one from its starter patterns."
run ksi pattern list
run ksi registry info

say "A pattern as written, then with its 'extends' parent applied (tournament_basic's fields as defaults)."
run ksi pattern show adaptive_tournament_v2
ksi pattern show adaptive_tournament_v2 --resolved --json > "$work/resolved.json"
python3 - "$work/resolved.json" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))
print(f"resolved: {len(data)} top-level fields, agents from the parent: {sorted(data.get('agents', {}))}")
PY

say "A team registry of its own: a git repository with the same starter patterns, in one commit."
run ksi registry init "$work/team"
cd "$work/team"
run git log --oneline

say "CI's check: schemas, names, duplicates, 'extends' targets and cycles (exit 1 on problems)."
run ksi pattern validate

say "A new pattern from a skeleton that editors can check against the schema."
run ksi pattern new tournament_swiss --extends tournament_basic \
    --description "Swiss-system pairing for 5-10 participants"
run head -n 8 orchestrations/tournament_swiss.yaml
run ksi pattern validate orchestrations/tournament_swiss.yaml
git add orchestrations/tournament_swiss.yaml && git commit -q -m "tournament_swiss: first draft"

say "A broken file is reported as file:line:col, and validate exits 1."
printf 'name: broken\ntype: orchestration\nversion: one\n' > orchestrations/broken.yaml
run ksi pattern validate orchestrations/ || echo "(exit $?)"
rm orchestrations/broken.yaml

say "A release: the version is bumped in a commit, tagged NAME@X.Y.Z, and readable by that name."
run ksi pattern release tournament_basic --bump minor
run git tag --list
run ksi pattern show tournament_basic@2.1.0 --json | python3 -c "import json,sys; print(json.load(sys.stdin)['version'])"
run git log --oneline

say "Done. Everything above ran in $work (removed on exit)."
