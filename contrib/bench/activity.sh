#!/usr/bin/env bash
# The activity generator's benchmark: TPS transactions a second (default 20) between
# wallets across NODES nodes (default 10) for SECONDS (default 600); passes when at least
# 99 % of (transaction, node) pairs are in the node's mempool within 2 s of being sent.
# Writes the scenario report to $OUT (default /tmp/dotcoin-activity.json; figures:
# in_time_fraction, delay p50/p90/p99, achieved tps) and prints its result.
#   contrib/bench/activity.sh [NODES] [TPS] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
NODES=${1:-10}
TPS=${2:-20}
SECONDS_=${3:-600}
OUT=${OUT:-/tmp/dotcoin-activity.json}
cargo build --workspace --bins
TARGET=${CARGO_TARGET_DIR:-target}/debug
lscpu | grep -m1 'Model name' || true
"$TARGET/dotcoin-scenario" activity --nodes "$NODES" --tps "$TPS" --seconds "$SECONDS_" \
    --within-ms 2000 --min-fraction 0.99 --report "$OUT" --dotcoind "$TARGET/dotcoind"
python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); s = r["steps"][-1]["result"]; print(json.dumps(s, indent=1))' "$OUT"
