#!/usr/bin/env bash
# Prints L1: OpenSSL's SHA-256 compressions per second on one core (16 KiB blocks for
# SECONDS seconds, bytes/s ÷ 64), the reference every hashing figure is a ratio to.
set -euo pipefail
openssl speed -evp sha256 -bytes 16384 -seconds "${L1_SECONDS:-3}" 2>/dev/null |
    awk '/^sha256/ { v = $NF; sub(/k$/, "", v); printf "%.0f\n", v * 1000 / 64 }'
