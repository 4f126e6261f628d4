#!/usr/bin/env bash
# CI's shrink on the docker mini-stack (issue #12): a walk of a mini-stack whose fake runs a
# box-only bug (stale-caddy-scheme: the simulated stack, bug-free, does not reproduce it)
# fails, shrinks on the box to the catalogued minimal length, is confirmed and saved; the
# saved file replayed on a stack with the bug fails the same way, and on one without it passes.
# One stack at a time (they share a subnet). Needs Docker (ci.sh starts it).
set -uo pipefail
. "$(dirname -- "$0")/lib.sh"
cd "$REPO_ROOT" || exit 1
CANARY=$REPO_ROOT/target/debug/canary
cargo build --quiet --bin canary || { echo "shrink-ci: cargo build --bin canary failed" >&2; exit 1; }
FAULT=stale-caddy-scheme
MINIMAL=2
WORK=$(mktemp -d "${TMPDIR:-/tmp}/mini-shrink.XXXXXX")
DIR=
down() {
    [ -n "$DIR" ] && { "$MINI_DIR/down.sh" "$DIR" >/dev/null 2>&1 || echo "shrink-ci: teardown of $DIR failed" >&2; }
    DIR=
}
trap 'down; rm -rf "$WORK"' EXIT
fail() { echo "shrink-ci: $*" >&2; exit 1; }

# up NAME [FAULTS]: a stack in $WORK/NAME; sets DIR and BOX (the target flags).
up() {
    DIR=$WORK/$1
    mkdir -p "$DIR"
    "$MINI_DIR/up.sh" "$DIR" --dashboard-port 0 ${2:+--faults "$2"} >"$WORK/$1.up.log" 2>&1 ||
        { tail -n 20 "$WORK/$1.up.log" >&2; fail "up.sh $DIR failed"; }
    local port
    port=$(jq -r '.ports.dashboard' "$DIR/.pithead-fake/settings.json")
    BOX=(--target local --dir "$DIR" --compose "./pithead compose"
        --api-url "http://127.0.0.1:$port/api/state" --ready-timeout 60s)
}

t0=$(date +%s)
up faulty "$FAULT"
rc=0
"$CANARY" run "${BOX[@]}" --seed 7 --no-replay --fail-fast --shrink --regressions "$WORK/found" \
    --out "$WORK/run" >"$WORK/run.log" 2>&1 || rc=$?
mini_log "walk and shrink on the box ($FAULT): exit $rc in $(($(date +%s) - t0)) s"
grep '^shrink:' "$WORK/run.log" >&2
[ "$rc" = 1 ] || { tail -n 30 "$WORK/run.log" >&2; fail "the walk exited $rc, not 1"; }
grep -q -- "-> $MINIMAL steps" "$WORK/run.log" || { tail -n 30 "$WORK/run.log" >&2; fail "not shrunk to $MINIMAL steps"; }
grep -q 'shrink: box restored and verified' "$WORK/run.log" || fail "the box was not restored after the shrink"
files=("$WORK"/found/*.json)
[ "${#files[@]}" = 1 ] && [ -e "${files[0]}" ] || fail "expected one saved regression, found: ${files[*]}"
[ "$(jq '.steps | length' "${files[0]}")" = "$MINIMAL" ] || fail "the saved regression does not have $MINIMAL steps"

rc=0
"$CANARY" replay "${BOX[@]}" "${files[0]}" >"$WORK/replay-faulty.log" 2>&1 || rc=$?
[ "$rc" = 0 ] && grep -q 'still fails the same way' "$WORK/replay-faulty.log" ||
    { tail -n 20 "$WORK/replay-faulty.log" >&2; fail "the replay on the stack with the bug exited $rc"; }
down

up fixed
rc=0
"$CANARY" replay "${BOX[@]}" "${files[0]}" >"$WORK/replay-fixed.log" 2>&1 || rc=$?
[ "$rc" = 1 ] && grep -q 'passes' "$WORK/replay-fixed.log" ||
    { tail -n 20 "$WORK/replay-fixed.log" >&2; fail "the replay on the stack without the bug exited $rc, not 1"; }
down
mini_log "shrink on the mini-stack: $(($(date +%s) - t0)) s"
echo "shrink-ci: OK (shrunk to $MINIMAL steps on the box, saved, replayed with and without the bug)"
