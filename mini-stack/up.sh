#!/usr/bin/env bash
# Brings up a docker mini-stack in DIR: builds the static pithead-fake and the image when
# needed, then sets up the stack dir in docker mode and starts it with Compose.
# Usage: mini-stack/up.sh DIR [pithead-fake setup options, e.g. --dashboard-port 0 --faults a,b]
#        mini-stack/up.sh DIR --pithead CHECKOUT [--dashboard-port N]   (pithead-up.sh)
set -euo pipefail
. "$(dirname -- "$0")/lib.sh"

if [ $# -lt 1 ]; then
    echo "usage: $0 DIR [--dashboard-port N] [--faults a,b] [--no-start] [--daemon-env K=V]..." >&2
    exit 2
fi
dir=$1
shift
# A Pithead checkout (its own CLI and compose file) instead of the fake CLI: pithead-up.sh.
for a in "$@"; do
    [ "$a" = --pithead ] && exec "$(dirname -- "$0")/pithead-up.sh" "$dir" "$@"
done
docker info >/dev/null 2>&1 || { echo "no Docker engine answers (docker info failed)" >&2; exit 1; }
mini_build_binary
mini_build_image
# 8000 like Pithead unless the caller says otherwise (later options win).
# The stack runs the image of this binary, by its own tag (docker.json records it).
PITHEAD_FAKE_ENGINE=docker MINI_IMAGE=$MINI_IMAGE_REF "$MINI_BIN" setup "$dir" --dashboard-port "${DASHBOARD_PORT:-8000}" "$@"
mini_log "up: $dir on $MINI_IMAGE_REF (./pithead there is the fake CLI in docker mode)"
