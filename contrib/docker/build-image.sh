#!/usr/bin/env bash
# Builds the runtime image `dotcoin:latest` from binaries already built on this machine,
# so RocksDB is not compiled a second time inside Docker: the runtime-base stage of
# contrib/docker/Dockerfile, then Dockerfile.prebuilt adding the binaries. Starts dockerd
# and makes the base image first if needed (ensure-docker.sh).
#
#   PROFILE  cargo profile whose binaries ship [release]: `make docker-image` builds them.
#            The tests pass PROFILE=debug (the dev profile: every dependency and the node
#            at opt-level 3, overflow checks on), which `make test` has built anyway, so CI
#            does not pay for a release build of RocksDB.
#   BIN      directory of the binaries [$CARGO_TARGET_DIR or target, then /$PROFILE]
#   IMAGE    tag [dotcoin:latest]
set -euo pipefail
cd "$(dirname "$0")/../.."
PROFILE=${PROFILE:-release}
BIN=${BIN:-${CARGO_TARGET_DIR:-target}/$PROFILE}
IMAGE=${IMAGE:-dotcoin:latest}
contrib/docker/ensure-docker.sh
for b in dotcoind dotcoin-cli dotcoin-wallet; do
    [ -x "$BIN/$b" ] || { echo "$BIN/$b not found: build it first (make docker-image does)" >&2; exit 1; }
done
# The legacy builder stops at --target, so the Rust stage is never attempted here.
DOCKER_BUILDKIT=0 docker build -q -f contrib/docker/Dockerfile --target runtime-base \
    -t dotcoin-runtime-base:latest . >/dev/null
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
for b in dotcoind dotcoin-cli dotcoin-wallet; do
    # Debug symbols are most of a debug build's size and no use in the image.
    objcopy --strip-debug "$BIN/$b" "$ctx/$b" 2>/dev/null || cp "$BIN/$b" "$ctx/$b"
done
cp contrib/docker/Dockerfile.prebuilt "$ctx/Dockerfile"
DOCKER_BUILDKIT=0 docker build -q --label "org.dotcoin.profile=$PROFILE" -t "$IMAGE" "$ctx" >/dev/null
echo "built $IMAGE from $BIN ($PROFILE)"
