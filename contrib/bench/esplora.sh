#!/usr/bin/env bash
# The HTTP API under load: `/address/:a/utxo` for an address of 10 000 unspent outputs
# (median latency of 60 sequential requests), and `getblockcount`'s median and p99 RPC
# latency while 16 clients request that page without pause. Runs the ignored benchmark
# test of tests/tests/esplora.rs against the built binaries (run `make build` first) and
# prints its figures with the CPU.
#
#   contrib/bench/esplora.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
echo "cpu: $(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1)"
cargo test --workspace --test esplora -- --ignored --nocapture bench_utxo_latency 2>&1 |
    grep '^esplora-bench' | tr ' ' '\n' | grep =
