#!/bin/sh
# Time to verdict on the fake box for every fault of `pithead-fake faults` (issue #16): one
# `canary run --target local --seed 1` per fault, with the default --ready-timeout (10 min),
# operations on (the fake's failover on short timers, windows scaled to match). Prints, per
# fault: exit code, seconds to the first failed verdict (the journal's wall_ms), seconds for
# the whole run including the restore, and the first failed check.
#
#   cargo build -p canary -p fakes && benches/box_verdicts.sh [target/debug]
#
# FAULTS="a b" limits the faults; EXTRA="--supply subnet_cold_apply=yes" adds run flags.
set -u
BIN=${1:-target/debug}
printf 'fault\texit\tfirst_fail_s\trun_s\tfirst_failed_check\n'
for f in ${FAULTS:-$("$BIN/pithead-fake" faults)}; do
  d=$(mktemp -d)
  "$BIN/pithead-fake" setup "$d/box" --dashboard-port 0 --faults "$f" \
    --daemon-env NODE_DOWN_AFTER_SEC=3 --daemon-env NODE_RECOVERY_AFTER_SEC=5 >/dev/null 2>&1
  port=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ports"]["dashboard"])' \
    "$d/box/.pithead-fake/settings.json")
  start=$(date +%s.%N)
  "$BIN/canary" run --target local --dir "$d/box" --seed 1 --no-replay \
    --api-url "http://127.0.0.1:$port/api/state" --operations all --op-timescale 1/30 \
    --out "$d/run" ${EXTRA:-} >"$d/out" 2>&1
  code=$?
  end=$(date +%s.%N)
  python3 - "$d/run/journal.jsonl" "$f" "$code" "$start" "$end" <<'PY'
import json, sys
path, fault, code, start, end = sys.argv[1:]
first, check = "-", "-"
try:
    for line in open(path):
        e = json.loads(line)
        if e.get("event") == "verdict" and not e.get("passed", True):
            first, check = "%.1f" % (e["wall_ms"] / 1000), e["check"]
            break
except OSError:
    pass
print("%s\t%s\t%s\t%.1f\t%s" % (fault, code, first, float(end) - float(start), check))
PY
  "$BIN/pithead-fake" teardown "$d/box" >/dev/null 2>&1
  rm -rf "$d"
done
