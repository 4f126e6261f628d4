# Shared by up.sh, down.sh and ci.sh: where things are, and the static build + image.
# shellcheck shell=bash

MINI_DIR=$(CDPATH= cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
REPO_ROOT=$(dirname -- "$MINI_DIR")
# The image name; the image built and run is this name with the binary's hash in its tag
# (canary-fake:mini-<hash>), see mini_build_image.
MINI_IMAGE=${MINI_IMAGE:-canary-fake:mini}
MINI_TARGET=x86_64-unknown-linux-gnu
# A separate target dir: the static flags would otherwise invalidate the normal build cache.
MINI_TARGET_DIR=${MINI_TARGET_DIR:-$REPO_ROOT/target/static}
MINI_BIN=$MINI_TARGET_DIR/$MINI_TARGET/release/pithead-fake

mini_log() { printf '[mini-stack] %s\n' "$*" >&2; }

# Builds the statically linked pithead-fake (a no-op when it is fresh).
mini_build_binary() {
    (cd "$REPO_ROOT" && RUSTFLAGS='-C target-feature=+crt-static' CARGO_TARGET_DIR=$MINI_TARGET_DIR \
        cargo build --quiet --release -p fakes --target "$MINI_TARGET")
}

# The image of this very binary: MINI_IMAGE with the binary's hash in its tag. A tag shared
# by every checkout (canary-fake:mini) would be re-pointed by another checkout's build while
# this stack runs, and the next recreate would start that other binary.
mini_binary_sum() { sha256sum "$MINI_BIN" | cut -c1-16; }
mini_image_ref() {
    local sum
    sum=$(mini_binary_sum) || return 1
    case $MINI_IMAGE in
        *:*) printf '%s-%s\n' "$MINI_IMAGE" "$sum" ;;
        *) printf '%s:%s\n' "$MINI_IMAGE" "$sum" ;;
    esac
}

# Builds the FROM-scratch image of the binary unless it exists; sets MINI_IMAGE_REF to it
# (what a stack set up afterwards runs).
mini_build_image() {
    local ref sum ctx rc
    ref=$(mini_image_ref) || return 1
    # The label also names the image layout (bin-links: /bin/test, cat, caddy).
    sum="$(mini_binary_sum)+bin-links"
    MINI_IMAGE_REF=$ref
    export MINI_IMAGE_REF
    if [ "$(docker image inspect -f '{{index .Config.Labels "canary.mini-stack.binary"}}' "$ref" 2>/dev/null)" = "$sum" ]; then
        return 0
    fi
    ctx=$(mktemp -d)
    cp "$MINI_BIN" "$ctx/pithead-fake"
    cp "$MINI_DIR/Dockerfile" "$ctx/Dockerfile"
    mkdir "$ctx/bin"
    for tool in test cat caddy; do ln -s /pithead-fake "$ctx/bin/$tool"; done
    mini_log "building image $ref"
    docker build --quiet -t "$ref" --label "canary.mini-stack.binary=$sum" "$ctx" >/dev/null
    rc=$?
    rm -rf "$ctx"
    return $rc
}
