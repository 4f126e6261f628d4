#!/usr/bin/env bash
# Times the mini-stack (BENCHMARKS.md "Docker mini-stack"): bring-up, applies that Compose
# turns into recreates, a no-op apply, and teardown. Needs python3 (to edit config.json).
# Usage: mini-stack/bench.sh [ROUNDS]   (default 3 rounds of each flip)
set -euo pipefail
. "$(dirname -- "$0")/lib.sh"
rounds=${1:-3}
dir=$(mktemp -d "${TMPDIR:-/tmp}/mini-bench.XXXXXX")
trap '"$MINI_DIR/down.sh" "$dir" >/dev/null 2>&1; rm -rf "$dir"' EXIT
now() { date +%s.%N; }
ms() { echo "$1 $2" | awk '{printf "%.0f", ($2 - $1) * 1000}'; }
set_cfg() { python3 - "$dir/config.json" "$1" "$2" <<'PY'
import json, sys
path, keys, value = sys.argv[1], sys.argv[2].split("."), sys.argv[3]
c = json.load(open(path))
node = c
for k in keys[:-1]:
    node = node.setdefault(k, {})
node[keys[-1]] = value
json.dump(c, open(path, "w"), indent=2)
PY
}
apply() { local t; t=$(now); "$dir/pithead" apply -y >/dev/null; ms "$t" "$(now)"; }

mini_build_binary
t=$(now); docker rmi -f "$(mini_image_ref)" >/dev/null 2>&1 || true; mini_build_image; echo "image build (binary built): $(ms "$t" "$(now)") ms"
t=$(now); DASHBOARD_PORT=0 "$MINI_DIR/up.sh" "$dir" >/dev/null 2>&1; echo "bring-up (9 containers): $(ms "$t" "$(now)") ms"
for i in $(seq 1 "$rounds"); do
    set_cfg p2pool.pool main; a=$(apply); set_cfg p2pool.pool mini; b=$(apply)
    echo "pool flip (p2pool recreated): $a ms, back: $b ms"
    set_cfg tari.mode remote; a=$(apply); set_cfg tari.mode local; b=$(apply)
    echo "tari local->remote (tor p2pool dashboard recreated, tari removed, monerod restarted): $a ms; remote->local: $b ms"
    echo "no-op apply: $(apply) ms"
done
t=$(now); "$MINI_DIR/down.sh" "$dir" >/dev/null 2>&1; echo "teardown: $(ms "$t" "$(now)") ms"
