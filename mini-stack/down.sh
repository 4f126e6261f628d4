#!/usr/bin/env bash
# Tears down the docker mini-stack of DIR: every container and network of its compose
# project. With --images, also every image labelled canary.mini-stack (shared by all
# mini-stacks, so only when none other is running).
# Usage: mini-stack/down.sh DIR [--images]
set -uo pipefail
. "$(dirname -- "$0")/lib.sh"

if [ $# -lt 1 ]; then
    echo "usage: $0 DIR [--images]" >&2
    exit 2
fi
dir=$1
images=false
[ "${2:-}" = "--images" ] && images=true
rc=0
settings=$dir/.pithead-fake/docker.json
if [ -f "$dir/.mini-pithead/project" ]; then
    # A checkout brought up by pithead-up.sh: its project's containers, networks and volumes,
    # then the image tags it added (untagging only: the fake image keeps its own tag).
    project=$(cat "$dir/.mini-pithead/project")
    filter="label=com.docker.compose.project=$project"
    ids=$(docker ps -aq --filter "$filter")
    if [ -n "$ids" ]; then docker rm -f -v $ids >/dev/null || rc=1; fi
    nets=$(docker network ls -q --filter "$filter")
    if [ -n "$nets" ]; then docker network rm $nets >/dev/null || rc=1; fi
    vols=$(docker volume ls -q --filter "$filter")
    if [ -n "$vols" ]; then docker volume rm $vols >/dev/null || rc=1; fi
    while read -r tag; do
        # Another stack of the same checkout may still run on a tag: leave it then.
        [ -n "$tag" ] || continue
        docker ps -a --format "{{.Image}}" | grep -qxF "$tag" && continue
        docker rmi "$tag" >/dev/null 2>&1 || true
    done <"$dir/.mini-pithead/tags"
    left=$(docker ps -aq --filter "$filter"; docker network ls -q --filter "$filter"; docker volume ls -q --filter "$filter")
    if [ -n "$left" ]; then
        echo "down: containers, networks or volumes of $project remain" >&2
        rc=1
    fi
    mini_log "down: $dir (project $project)"
elif [ -f "$settings" ]; then
    # No binary needed: the project name is in docker.json, everything carries its label.
    project=$(sed -n 's/.*"project": *"\([^"]*\)".*/\1/p' "$settings")
    filter="label=com.docker.compose.project=$project"
    # The fake's renamed leftovers (renamed-leftover-container) carry no compose project.
    leftover="label=canary.mini-stack.leftover=$project"
    ids=$(docker ps -aq --filter "$filter"; docker ps -aq --filter "$leftover")
    if [ -n "$ids" ]; then docker rm -f $ids >/dev/null || rc=1; fi
    nets=$(docker network ls -q --filter "$filter")
    if [ -n "$nets" ]; then docker network rm $nets >/dev/null || rc=1; fi
    left=$(docker ps -aq --filter "$filter"; docker ps -aq --filter "$leftover"; docker network ls -q --filter "$filter")
    if [ -n "$left" ]; then
        echo "down: containers or networks of $project remain" >&2
        rc=1
    fi
    mini_log "down: $dir (project $project)"
else
    mini_log "down: $dir is not a docker mini-stack (no $settings); nothing to remove"
fi
if $images; then
    imgs=$(docker images -q --filter label=canary.mini-stack=1 | sort -u)
    if [ -n "$imgs" ]; then docker rmi -f $imgs >/dev/null || rc=1; fi
    mini_log "down: removed the mini-stack images"
fi
exit $rc
