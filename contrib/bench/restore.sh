#!/bin/sh
# Times `dotcoin-wallet restore` of a 1000-address wallet (used keys spread up to the
# gap limit of 20) against a regtest node: runs the restore test of tests/wallet_hd.rs and
# prints the figure it measured, with the CPU. The test itself checks equality only.
set -eu
cd "$(dirname "$0")/../.."
cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
out=$(cargo test --workspace --test wallet_hd restoring_the_words -- --nocapture 2>&1) || {
    printf '%s\n' "$out" | tail -40
    exit 1
}
printf '%s\n' "$out" | grep '^restore-bench:'
echo "CPU: $cpu ($(nproc) cores)"
