#!/usr/bin/env bash
# Compact blocks (BIP152) against full blocks on the network lab: 6 nodes (ring + 1 random
# link each), every link 100 ms one way and 10 Mbit/s each way (the lab's proxies), ~960 kB
# blocks of transactions every mempool already holds. The same rounds run with
# --compactblocks=1 and --compactblocks=0; prints p50/p90/max of the delay from the miner
# connecting each block to every other node connecting it, and checks that compact blocks
# at least halve the p90 (tests/tests/lab_compact.rs, ignored in CI).
#
#   contrib/bench/lab-compact.sh                 (ROUNDS blocks per mode, default 8)
#   ROUNDS=20 OUT=/tmp/compact.json contrib/bench/lab-compact.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
export LAB_COMPACT_ROUNDS=${ROUNDS:-8}
export LAB_COMPACT_OUT=${OUT:-/tmp/dotcoin-lab-compact.json}
cargo test --workspace --test lab_compact -- --ignored --nocapture
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg); figures: $LAB_COMPACT_OUT"
