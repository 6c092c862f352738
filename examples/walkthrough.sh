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

say() { printf '\n%s# %s%s\n' "$dim" "$*" "$reset" >&2; }
run() { printf '%s$ %s%s\n' "$bold" "$*" "$reset" >&2; "$@"; }

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

say "Evolve a pattern: fork it (a branch with lineage), improve the fork, see what changed."
run ksi pattern fork adaptive_tournament_v2 --as tournament_swiss_pairing \
    --reason "Swiss pairing for 5-10 participants"
sed -i 's/timeout_rate > 30%/timeout_rate > 25%/' orchestrations/tournament_swiss_pairing.yaml
git commit -q -am "tournament_swiss_pairing: react to timeouts earlier"
run ksi pattern diff tournament_swiss_pairing

say "Meanwhile the parent moved on main (another field); merge the fork back: a three-way merge."
git checkout -q main
sed -i 's/  runs: 47$/  runs: 48/' orchestrations/adaptive_tournament_v2.yaml
git commit -q -am "adaptive_tournament_v2: one more run"
run ksi pattern merge tournament_swiss_pairing
run git log --oneline --graph -6
run ksi pattern show adaptive_tournament_v2 --json | python3 -c "import json, sys; d = json.load(sys.stdin); print('runs', d['performance']['runs'], '| 25% threshold merged:', 'timeout_rate > 25%' in d['orchestration_logic']['strategy'], '| merges', [m['from'] for m in d['lineage']['merges']])"
run ksi pattern lineage adaptive_tournament_v2

say "Share the team registry: a bare remote, a push, and a teammate's clone of it."
git init -q --bare "$work/remote.git"
run ksi registry remote add origin "$work/remote.git"
run ksi registry push origin
run ksi registry clone "$work/remote.git" "$work/teammate"

say "Both work on adaptive_tournament_v2 at once; sync and pull merge the pattern and its decision log."
run ksi pattern track-decision adaptive_tournament_v2 -R "$work/teammate" \
    --decision added_swiss_round --context round=4 --outcome fewer_ties --confidence 0.8
sed -i 's/  runs: 48$/  runs: 49/' "$work/teammate/orchestrations/adaptive_tournament_v2.yaml"
git -C "$work/teammate" commit -q -am "adaptive_tournament_v2: another run"
run ksi registry sync -R "$work/teammate"
run ksi pattern track-decision adaptive_tournament_v2 \
    --decision shortened_rounds --context avg_response=30 --outcome faster_runs --confidence 0.7
run ksi registry pull origin
run git log --oneline --graph -5
run ksi pattern decisions adaptive_tournament_v2 --json | python3 -c "import json, sys; print('newest decisions:', sorted(d['decision'] for d in json.load(sys.stdin)[-2:]))"
run ksi pattern show adaptive_tournament_v2 --json | python3 -c "import json, sys; print('runs', json.load(sys.stdin)['performance']['runs'])"

say "Find the right pattern: filter on tags and figures, or rank for a task (offline, explained)."
run ksi pattern discover --tag tournament --where 'performance.avg_score > 0.7'
run ksi pattern select --task "Evaluate 15 prompts competitively" --top 3
run ksi pattern select --task "Evaluate 15 prompts competitively" --require timeout_handling --explain

say "Record how a run went and what was learned (commits through compare-and-swap, like every write)."
run ksi pattern record-run adaptive_tournament_v2 --score 0.86 --success
run ksi pattern learn adaptive_tournament_v2 --insight "Swiss rounds cut ties by a third" \
    --confidence 0.7 --evidence "runs:[48,49]"
run git log --oneline -2

say "An orchestrator session, simulated offline: the strategy's DSL against given metrics, through the event bus."
run ksi orchestrate run adaptive_tournament_v2 --backend simulate --task "Evaluate 8 prompts competitively" \
    --metrics 'abilities=[1,5,9]' --metrics timeout_rate=35% --metrics all_scores_similar=true \
    --metrics avg_response=20 --metrics current_timeout=60 --metrics judge_disagreement=0.1 \
    --metrics improved_over_baseline=false
run ksi orchestrate sessions
run ksi pattern decisions adaptive_tournament_v2 --json | python3 -c "import json, sys; print('tracked by the session:', [d['decision'] for d in json.load(sys.stdin)[-2:]])"
run git log --oneline -2
run ksi orchestrate show last | grep -E "\[orchestrator\] (turn|event|decision)" | sed -n 1,12p
say "Lint the DSL: unparseable lines and events no handler receives (this pattern's domain events: warnings, exit 1)."
run ksi pattern lint adaptive_tournament_v2 || true

say "Done. Everything above ran in $work (removed on exit)."
