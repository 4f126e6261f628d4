#!/usr/bin/env bash
# CI's walk of a Pithead checkout's own CLI and compose file on the fakes (issue #13), with
# the stand-in checkout (standin/): canary did not write its model from it.
#
# 1. The stand-in: up.sh DIR --pithead standin, a seeded pairwise walk with the lifecycle
#    operations through ./pithead-shimmed, must pass.
# 2. A variant whose CLI refuses tari.mode=off (older builds): canary detects it from the CLI's
#    --help (model variant no-tari-off) and the walk passes; run as --variant newest it must
#    end exit 1 with the refused applies as drift verdicts; with --skip-value tari.mode=off it
#    passes again.
# 3. The host is unchanged: iptables-save, ip6tables-save and the systemd units are the same
#    before and after, and the shim log recorded the CLI's host calls.
# 4. Every teardown leaves no container, network, volume or image tag of the stacks.
# Needs Docker and Compose v2 (ci.sh installs both). Env: MINI_SEED, MINI_OUT.
set -uo pipefail
. "$(dirname -- "$0")/lib.sh"
cd "$REPO_ROOT" || exit 1
SEED=${MINI_SEED:-20261125}
OUT=${MINI_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/pithead-walk.XXXXXX")}
mkdir -p "$OUT" || exit 1
CANARY=$REPO_ROOT/target/debug/canary
WORK=$(mktemp -d "${TMPDIR:-/tmp}/pithead-ci.XXXXXX")
fail=0
bad() { echo "pithead-ci: FAILED: $*" >&2; fail=1; }
dirs=()
cleanup() {
    for d in "${dirs[@]}"; do "$MINI_DIR/down.sh" "$d" >/dev/null 2>&1; done
    rm -rf "$WORK"
}
trap cleanup EXIT

# The host's firewall and units, without packet counters.
host_state() {
    { command -v iptables-save >/dev/null && iptables-save 2>/dev/null | grep -v '^#' | sed -E 's/\[[0-9]+:[0-9]+\]//'
      command -v ip6tables-save >/dev/null && ip6tables-save 2>/dev/null | grep -v '^#' | sed -E 's/\[[0-9]+:[0-9]+\]//'
      systemctl list-unit-files --no-legend 2>/dev/null | sort
      ls /etc/systemd/system 2>/dev/null; } >"$1"
}
command -v iptables-save >/dev/null || {
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq iptables >/dev/null 2>&1 || sudo -n apt-get install -y -qq iptables >/dev/null 2>&1 ||
        mini_log "iptables is not installable here: the firewall comparison covers nothing"
}
host_state "$WORK/host-before"

cargo build --quiet --bin canary || { echo "pithead-ci: cargo build --bin canary failed" >&2; exit 1; }

# up DIR CHECKOUT PORT; walk DIR PORT OUTDIR [canary args]
up() {
    dirs+=("$1")
    local t0=$(date +%s)
    "$MINI_DIR/up.sh" "$1" --pithead "$2" --dashboard-port "$3" >"$1.up.log" 2>&1 ||
        { tail -n 20 "$1.up.log" >&2; bad "up.sh $1 --pithead $2"; return 1; }
    mini_log "bring-up of $2: $(($(date +%s) - t0)) s"
}
walk() {
    local dir=$1 port=$2 out=$3 t0=$(date +%s) rc=0
    shift 3
    "$CANARY" run --target local --dir "$dir" --pithead ./pithead-shimmed \
        --api-url "http://127.0.0.1:$port/api/state" --operations lifecycle --seed "$SEED" \
        --strength 2 --ready-timeout 30s --out "$out" "$@" >"$out.log" 2>&1 || rc=$?
    cp "$dir/.shim-calls.log" "$out/shim-calls.log" 2>/dev/null
    mini_log "walk $out: exit $rc, $(grep -c '^step ' "$out.log") steps in $(($(date +%s) - t0)) s"
    return $rc
}
down() {
    local t0=$(date +%s) project
    project=$(cat "$1/.mini-pithead/project")
    "$MINI_DIR/down.sh" "$1" >/dev/null || bad "down.sh $1"
    [ -z "$(docker ps -aq --filter "label=com.docker.compose.project=$project")$(docker network ls -q --filter "label=com.docker.compose.project=$project")$(docker volume ls -q --filter "label=com.docker.compose.project=$project")" ] ||
        bad "containers, networks or volumes of $project remain after down"
    while read -r tag; do
        docker image inspect "$tag" >/dev/null 2>&1 && ! docker ps -a --format '{{.Image}}' | grep -qxF "$tag" &&
            bad "image tag $tag remains after down"
    done <"$1/.mini-pithead/tags"
    mini_log "teardown of $1: $(($(date +%s) - t0)) s"
}

# --- 1. the stand-in --------------------------------------------------------------------------
box=$WORK/standin
if up "$box" "$MINI_DIR/standin" 18581; then
    walk "$box" 18581 "$OUT/standin" || { tail -n 15 "$OUT/standin.log" >&2; bad "the stand-in walk"; }
    grep -q 'iptables' "$box/.shim-calls.log" || bad "the shim log recorded no iptables call"
    grep -q 'served as caddy:' "$box/.shim-calls.log" || bad "the CLI's docker run of the digest-pinned caddy image was not served"
    cp "$box/build/caddy/Caddyfile" "$OUT/standin/Caddyfile" 2>/dev/null
    down "$box"
fi

# --- 2. a variant without tari.mode=off ---------------------------------------------------------
variant=$WORK/checkout-no-tari-off
cp -a "$MINI_DIR/standin" "$variant"
sed -i 's/^TARI_MODES="local remote off"$/TARI_MODES="local remote"/' "$variant/pithead"
grep -q '^TARI_MODES="local remote"$' "$variant/pithead" || bad "the variant's sed did not apply"
box=$WORK/variant
if up "$box" "$variant" 18582; then
    # The box says which variant it is: the walk runs as no-tari-off and passes.
    walk "$box" 18582 "$OUT/variant-detected" || bad "the walk of the detected variant"
    grep -q '^variant no-tari-off (detected' "$OUT/variant-detected.log" || bad "the run did not detect variant no-tari-off"
    [ "$(jq -r 'select(.event=="manifest") | .variant' "$OUT/variant-detected/journal.jsonl")" = no-tari-off ] ||
        bad "the manifest does not record variant no-tari-off"
    rc=0
    walk "$box" 18582 "$OUT/variant" --variant newest || rc=$?
    [ "$rc" = 1 ] || bad "the variant walk as --variant newest exited $rc, not 1"
    grep -q "warning: --variant newest was given, but the box answers like variant 'no-tari-off'" "$OUT/variant.log" ||
        bad "no warning that the box answers like another variant"
    # The refused applies are drift verdicts carrying the CLI's message, counted in the
    # reports, and the walk goes on from where the box stayed: every other verdict passes.
    drift=$(jq -r '.runs[0].verdicts_drift' "$OUT/variant/summary.json")
    [ "${drift:-0}" -gt 0 ] 2>/dev/null || bad "variant: summary.json counts no drift verdict"
    grep -c 'type="drift"' "$OUT/variant/junit.xml" >/dev/null || bad "variant: junit.xml has no drift failure"
    jq -r 'select(.event=="verdict" and .check=="drift") | .observed.message' "$OUT/variant/journal.jsonl" |
        grep -q 'must be "local" or "remote"' || bad "variant: no drift verdict carries the CLI's refusal"
    others=$(jq -r 'select(.event=="verdict" and .passed==false and .check!="drift") | "\(.step):\(.check)"' "$OUT/variant/journal.jsonl" | tr '\n' ' ')
    [ -z "$others" ] || bad "variant: failures besides the $drift drift verdicts: $others"
    # Saved regressions that set tari.mode=off are left out of the replay, by name.
    walk "$box" 18582 "$OUT/variant-skip" --variant newest --skip-value tari.mode=off || bad "the variant walk with --skip-value tari.mode=off"
    grep -q '^DROPPED tari.mode=off' "$OUT/variant-skip.log" || bad "the run did not say tari.mode=off was dropped"
    grep -q 'left out for a dropped value' "$OUT/variant-skip.log" || bad "the replay did not leave out the regressions that set tari.mode=off"
    down "$box"
fi

# --- 3. the host ----------------------------------------------------------------------------------
host_state "$WORK/host-after"
diff -u "$WORK/host-before" "$WORK/host-after" >&2 || bad "the host's firewall or units changed during the walks"
[ "$fail" = 0 ] && echo "pithead-ci: OK (reports in $OUT)"
exit $fail
