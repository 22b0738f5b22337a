#!/usr/bin/env bash
# Makes sure Docker can build dotcoin's images on this machine: the daemon is running
# (started in the background if not, as on a fresh CI machine) and the base image
# debian:bookworm-slim exists. Where no registry is reachable the base image is made
# locally with debootstrap from Debian's mirror, once, and reused afterwards.
set -euo pipefail
BASE_IMAGE=${BASE_IMAGE:-debian:bookworm-slim}
SUDO=$([ "$(id -u)" = 0 ] || echo sudo)

if ! docker info >/dev/null 2>&1; then
    command -v dockerd >/dev/null || { echo "dockerd not found: run make deps" >&2; exit 1; }
    echo "starting dockerd (log: /tmp/dockerd.log)"
    $SUDO sh -c 'nohup dockerd >/tmp/dockerd.log 2>&1 &'
    for _ in $(seq 120); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
    docker info >/dev/null 2>&1 || { echo "dockerd did not start; see /tmp/dockerd.log" >&2; exit 1; }
fi

if ! docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
    if ! docker pull "$BASE_IMAGE" >/dev/null 2>&1; then
        echo "no registry: building $BASE_IMAGE with debootstrap (a few minutes, once)"
        root=$(mktemp -d)
        trap '$SUDO rm -rf "$root"' EXIT
        $SUDO debootstrap --variant=minbase bookworm "$root" http://deb.debian.org/debian >/tmp/debootstrap.log 2>&1 \
            || { echo "debootstrap failed; see /tmp/debootstrap.log" >&2; exit 1; }
        $SUDO rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
        $SUDO tar -C "$root" -c . | docker import - "$BASE_IMAGE" >/dev/null
    fi
fi
echo "docker ready, base image $BASE_IMAGE"
