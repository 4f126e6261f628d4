#!/usr/bin/env bash
# Brings a Pithead checkout up in DIR as a deployed, synced box served by canary's fakes
# (issue #13): `up.sh DIR --pithead CHECKOUT [--dashboard-port N]` calls this.
#
# - DIR gets a copy of CHECKOUT, the data dirs, provisioned onions (the fake tor's), a proxy
#   token, DEPLOYMENT_COMPLETED=true, the profiles and a baseline config.json with explicit
#   node credentials.
# - Every image the compose file names is tagged locally to the fake image (nothing is pulled
#   or built). A `name:tag@sha256:…` reference cannot be tagged (Docker refuses digests in
#   tags): its `name:tag` is tagged and the override's `image:` names it for that service.
# - docker-compose.override.yml (Compose's own discovery, so the CLI's `docker compose` without
#   -f reads it) sets the project name (`name:` beats the checkout's `name: pithead`), the
#   fake's entrypoint and command per service, and healthchecks that probe the fake.
# - DIR/.shims holds recording stand-ins for the host tools that change a machine; every call
#   is appended to DIR/.shim-calls.log. Its `docker` is the real one, but for an image pinned
#   by digest on the command line (`docker run --rm caddy:…@sha256:…`): that becomes its tag. DIR/pithead-shimmed runs the checkout's CLI with them
#   first on PATH: `canary run --target local --dir DIR --pithead ./pithead-shimmed`.
# - Then the checkout's own `./pithead apply -y` runs as the baseline.
set -euo pipefail
. "$(dirname -- "$0")/lib.sh"

usage() { echo "usage: $0 DIR --pithead CHECKOUT [--dashboard-port N]" >&2; exit 2; }
[ $# -ge 3 ] || usage
dir=$1; shift
checkout="" port=${DASHBOARD_PORT:-8000}
while [ $# -gt 0 ]; do
    case $1 in
        --pithead) checkout=${2:?}; shift 2 ;;
        --dashboard-port) port=${2:?}; shift 2 ;;
        *) usage ;;
    esac
done
for f in pithead docker-compose.yml config.reference.json; do
    [ -e "$checkout/$f" ] || { echo "$checkout is not a Pithead checkout: no $f" >&2; exit 1; }
done
docker info >/dev/null 2>&1 || { echo "no Docker engine answers (docker info failed)" >&2; exit 1; }
docker compose version >/dev/null 2>&1 || { echo "Compose v2 is missing: run mini-stack/compose-v2.sh" >&2; exit 1; }
mini_build_binary
mini_build_image
img=$MINI_IMAGE_REF

mkdir -p "$dir"
dir=$(cd "$dir" && pwd -P)
cp -a "$checkout/." "$dir/"
cd "$dir"
mkdir -p .mini-pithead data/monero data/tari data/p2pool/stats data/tor data/dashboard data/caddy-logs
project=canarypithead$(printf '%s' "$dir" | sha256sum | cut -c1-10)
echo "$project" >.mini-pithead/project
echo "$img" >.mini-pithead/image

# --- images: every reference the compose file names, served by the fake ---------------------
# Every service of every profile, uninterpolated (.env is not rendered yet).
model=$(docker compose -f docker-compose.yml --profile '*' config --no-interpolate --format json) ||
    { echo "docker compose config of $checkout failed" >&2; exit 1; }
: >.mini-pithead/tags
declare -A digest_alias=()
for ref in $(jq -r '.services[].image // empty' <<<"$model" | sort -u); do
    case $ref in *'${'*) echo "image reference with a variable is not served: $ref" >&2; exit 1 ;; esac
    tag=${ref%@sha256:*}
    case ${tag##*/} in *:*) ;; *) tag=$tag:latest ;; esac
    [ "$tag" != "$ref" ] && digest_alias[$ref]=$tag
    docker tag "$img" "$tag"
    echo "$tag" >>.mini-pithead/tags
done

# --- the baseline box: .env and config.json -----------------------------------------------
onion() { docker run --rm --entrypoint /bin/cat "$img" "/var/lib/tor/$1/hostname"; }
cat >.env <<EOV
COMPOSE_PROFILES=local_node,local_tari
DEPLOYMENT_COMPLETED=true
HOST_IP=127.0.0.1
DASHBOARD_PORT=$port
MONERO_ONION_ADDRESS=$(onion monero)
TARI_ONION_ADDRESS=$(onion tari)
P2POOL_ONION_ADDRESS=$(onion p2pool)
DASHBOARD_ONION_ADDRESS=$(onion dashboard)
PROXY_AUTH_TOKEN=$(openssl rand -hex 32)
EOV
chmod 600 .env
cat >config.json <<'EOJ'
{
  "monero": {
    "wallet_address": "44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A",
    "node_username": "standin-node-user", "node_password": "standin-node-password-5a1f"
  },
  "tari": { "wallet_address": "12FPQNjDAtJNdVdbHYWJWBSGHyD5ZF6mMq6EvZ6cCwZ3uynpxkTWMKBg9cqYLFPvvujhEnzfCMw3zokLwkbR5xoN4c5" },
  "p2pool": { "pool": "mini" }
}
EOJ

# --- the override: project name, the fake per service, its health -------------------------
services=$(jq -r '.services | keys[]' <<<"$model")
{
    echo "# Written by canary's mini-stack/pithead-up.sh: the fakes behind this checkout's compose file."
    echo "name: $project"
    echo "services:"
    for svc in $services; do
        p=8080
        [ "$svc" = dashboard ] && p=8000
        echo "  $svc:"
        img_of=$(jq -r --arg s "$svc" '.services[$s].image // ""' <<<"$model")
        [ -n "${digest_alias[$img_of]:-}" ] && echo "    image: ${digest_alias[$img_of]}"
        echo "    entrypoint: [\"/pithead-fake\"]"
        echo "    command: [daemon, $svc, --port, \"$p\"]"
        echo "    read_only: false"
        echo "    user: \"0:0\""
        echo "    stop_grace_period: 3s"
        echo "    labels: { canary.mini-stack: \"1\" }"
        echo "    healthcheck: { test: [\"CMD\", \"/pithead-fake\", \"probe\", \"$p\"], interval: 1s, timeout: 2s, retries: 3, start_period: 0s }"
        echo "    environment:"
        echo "      FAKE_BIND: 0.0.0.0"
        if [ "$svc" = dashboard ]; then
            for peer in monerod tari p2pool xmrig-proxy; do
                up=$(tr 'a-z-' 'A-Z_' <<<"$peer")
                echo "      FAKE_${up}_HOST: $peer"
                echo "      FAKE_${up}_PORT: \"8080\""
            done
            echo "      NODE_DOWN_AFTER_SEC: \"5\""
            echo "      NODE_RECOVERY_AFTER_SEC: \"15\""
            echo "    networks: [mining_net]"
        fi
    done
} >docker-compose.override.yml

# --- shims: the host tools that change a machine, recorded, never run ------------------------
mkdir -p .shims
for tool in systemctl iptables ip6tables iptables-save iptables-restore nft sysctl apt-get apt \
    useradd usermod timedatectl update-grub reboot shutdown passwd chpasswd mount umount; do
    cat >".shims/$tool" <<EOS
#!/bin/sh
# Recording stand-in (canary mini-stack): the call is logged, the host is left alone.
printf '%s %s\n' "\$(date -u +%FT%TZ)" "$tool \$*" >>"$dir/.shim-calls.log"
exit 0
EOS
done
cat >.shims/sudo <<EOS
#!/bin/sh
# Recording sudo: logs the call, drops sudo's own options and runs the command as this user
# (the tools above are shims too, since .shims is first on PATH).
printf '%s %s\n' "\$(date -u +%FT%TZ)" "sudo \$*" >>"$dir/.shim-calls.log"
while [ \$# -gt 0 ]; do case \$1 in -n|-E|-H|-S) shift ;; -u|-g) shift 2 ;; --) shift; break ;; *) break ;; esac; done
[ \$# -eq 0 ] && exit 0
exec "\$@"
EOS
# docker stays real. Only an image reference pinned by digest, which cannot be tagged locally
# (e.g. the CLI's `docker run --rm caddy:…@sha256:… caddy hash-password`), is passed on as the
# name:tag the fake image is tagged under; each such rewrite is logged.
for ref in "${!digest_alias[@]}"; do printf '%s %s\n' "$ref" "${digest_alias[$ref]}"; done >.mini-pithead/digest-aliases
cat >.shims/docker <<EOS
#!/usr/bin/env bash
args=()
for a in "\$@"; do
    while read -r ref tag; do
        if [ "\$a" = "\$ref" ]; then
            printf '%s %s\n' "\$(date -u +%FT%TZ)" "docker: \$ref served as \$tag" >>"$dir/.shim-calls.log"
            a=\$tag
            break
        fi
    done <"$dir/.mini-pithead/digest-aliases"
    args+=("\$a")
done
exec $(command -v docker) "\${args[@]}"
EOS
chmod +x .shims/*
cat >pithead-shimmed <<'EOS'
#!/bin/sh
# The checkout's CLI with the recording host shims first on PATH (canary --pithead ./pithead-shimmed).
here=$(cd "$(dirname "$0")" && pwd -P)
PATH="$here/.shims:$PATH" exec "$here/pithead" "$@"
EOS
chmod +x pithead-shimmed

mini_log "baseline: ./pithead apply -y in $dir (project $project, fake image $img)"
t0=$(date +%s)
./pithead-shimmed apply -y
mini_log "up: $dir in $(($(date +%s) - t0)) s of apply; run canary with --pithead ./pithead-shimmed --api-url http://127.0.0.1:$port/api/state"
