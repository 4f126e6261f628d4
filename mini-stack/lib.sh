# Shared by up.sh, down.sh and ci.sh: where things are, and the static build + image.
# shellcheck shell=bash

MINI_DIR=$(CDPATH= cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
REPO_ROOT=$(dirname -- "$MINI_DIR")
MINI_IMAGE=${MINI_IMAGE:-canary-fake:mini}
MINI_TARGET=x86_64-unknown-linux-gnu
# A separate target dir: the static flags would otherwise invalidate the normal build cache.
MINI_TARGET_DIR=${MINI_TARGET_DIR:-$REPO_ROOT/target/static}
MINI_BIN=$MINI_TARGET_DIR/$MINI_TARGET/release/pithead-fake
export MINI_IMAGE

mini_log() { printf '[mini-stack] %s\n' "$*" >&2; }

# Builds the statically linked pithead-fake (a no-op when it is fresh).
mini_build_binary() {
    (cd "$REPO_ROOT" && RUSTFLAGS='-C target-feature=+crt-static' CARGO_TARGET_DIR=$MINI_TARGET_DIR \
        cargo build --quiet --release -p fakes --target "$MINI_TARGET")
}

# Builds the FROM-scratch image unless one built from this very binary exists.
mini_build_image() {
    local sum have ctx
    sum=$(sha256sum "$MINI_BIN" | cut -c1-16)
    have=$(docker image inspect -f '{{index .Config.Labels "canary.mini-stack.binary"}}' "$MINI_IMAGE" 2>/dev/null || true)
    if [ "$have" = "$sum" ]; then
        return 0
    fi
    ctx=$(mktemp -d)
    cp "$MINI_BIN" "$ctx/pithead-fake"
    cp "$MINI_DIR/Dockerfile" "$ctx/Dockerfile"
    mini_log "building image $MINI_IMAGE (binary $sum)"
    docker build --quiet -t "$MINI_IMAGE" --label "canary.mini-stack.binary=$sum" "$ctx" >/dev/null
    local rc=$?
    rm -rf "$ctx"
    return $rc
}
