#!/usr/bin/env bash
# CI's replay of regressions/ on the docker mini-stack (issue #12): each saved regression is
# replayed with `canary replay --target local` on a mini-stack whose fake runs the faults the
# regression was found with, so a regression found with a fault must fail the same way there
# (and one saved as fixed must pass). Each stack is torn down after its file. A file that
# says it cannot be replayed on a box (`replays_on`) is not run: its SKIPPED line and reason
# are printed here, loudly, every time.
# Needs Docker (ci.sh starts it). Env: MINI_REGRESSIONS (default regressions/).
set -uo pipefail
. "$(dirname -- "$0")/lib.sh"
cd "$REPO_ROOT" || exit 1
REGS=${MINI_REGRESSIONS:-$REPO_ROOT/regressions}
CANARY=$REPO_ROOT/target/debug/canary
cargo build --quiet --bin canary || { echo "replay-ci: cargo build --bin canary failed" >&2; exit 1; }
fail=0
n=0
skipped=0
t_all=$(date +%s)
for file in "$REGS"/*.json; do
    [ -e "$file" ] || continue
    n=$((n + 1))
    faults=$(jq -r '.faults | join(",")' "$file") || { echo "replay-ci: $file is not JSON" >&2; fail=1; continue; }
    # Not replayable on a local box (canary replay would print the same SKIPPED): no stack.
    if jq -e '.replays_on and (.replays_on.targets | index("local") | not)' "$file" >/dev/null; then
        skipped=$((skipped + 1))
        echo "replay-ci: SKIPPED $(basename "$file"): $(jq -r '"not replayable on local (only on \(.replays_on.targets | join(", "))): \(.replays_on.reason)"' "$file")" >&2
        continue
    fi
    dir=$(mktemp -d "${TMPDIR:-/tmp}/mini-replay.XXXXXX")
    t0=$(date +%s)
    if "$MINI_DIR/up.sh" "$dir" --dashboard-port 0 ${faults:+--faults "$faults"} >"$dir.up.log" 2>&1; then
        port=$(jq -r '.ports.dashboard' "$dir/.pithead-fake/settings.json")
        rc=0
        "$CANARY" replay --target local --dir "$dir" --compose "./pithead compose" \
            --api-url "http://127.0.0.1:$port/api/state" --ready-timeout 60s "$file" >"$dir.replay.log" 2>&1 || rc=$?
        mini_log "replay $(basename "$file") (faults: ${faults:-none}): exit $rc in $(($(date +%s) - t0)) s"
        if [ "$rc" != 0 ]; then
            tail -n 20 "$dir.replay.log" >&2
            fail=1
        fi
    else
        tail -n 20 "$dir.up.log" >&2
        echo "replay-ci: up.sh $dir --faults $faults failed" >&2
        fail=1
    fi
    "$MINI_DIR/down.sh" "$dir" >/dev/null 2>&1 || { echo "replay-ci: teardown of $dir failed" >&2; fail=1; }
    rm -rf "$dir" "$dir.up.log" "$dir.replay.log"
done
mini_log "replay of $n regressions: $(($(date +%s) - t_all)) s"
[ "$fail" = 0 ] && echo "replay-ci: OK ($((n - skipped)) regressions replayed on the mini-stack, $skipped SKIPPED as not replayable there)"
exit $fail
