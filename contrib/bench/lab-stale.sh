#!/usr/bin/env bash
# Stale rate against theory on real nodes: the lab topology
# contrib/lab/topologies/stale-bench.toml (20 nodes, ring + 2 random links per node,
# equal hash shares, Bitcoin's 100 ms links / 10 s blocks scaled to 10 ms / 1 s — same
# τ/T), Poisson miners until BLOCKS blocks are mined, then the report: measured stale
# rate beside 1 − e^(−τ/T) from the measured τ. Prints the report's summary; the full
# report (JSON and HTML with plots) stays in $OUT (default /tmp/dotcoin-lab-stale).
#
#   contrib/bench/lab-stale.sh                   (builds nothing: run `make build` first)
#   BLOCKS=600 TOPOLOGY=my.toml contrib/bench/lab-stale.sh
set -euo pipefail
BIN=${BIN:-${CARGO_TARGET_DIR:-target}/debug}
BLOCKS=${BLOCKS:-300}
TOPOLOGY=${TOPOLOGY:-$(dirname "$0")/../lab/topologies/stale-bench.toml}
OUT=${OUT:-/tmp/dotcoin-lab-stale}
DIR=$(mktemp -d)
LAB=("$BIN/dotcoin-lab" --dir "$DIR")
cleanup() { "${LAB[@]}" down >/dev/null 2>&1 || true; rm -rf "$DIR"; }
trap cleanup EXIT

"${LAB[@]}" up "$TOPOLOGY" --bin "$BIN" >/dev/null
start=$SECONDS
# mined.jsonl gets one line per block found, stale ones included.
until [ "$(wc -l <"$DIR/mined.jsonl" 2>/dev/null || echo 0)" -ge "$BLOCKS" ]; do
    sleep 2
    [ $((SECONDS - start)) -lt $((BLOCKS * 20)) ] || { echo "too slow: $(wc -l <"$DIR/mined.jsonl") blocks" >&2; exit 1; }
done
"${LAB[@]}" mine off >/dev/null
# Let the last blocks spread before the records are read.
sleep 5
"${LAB[@]}" report --out "$OUT" >/dev/null
python3 - "$OUT/report.json" "$((SECONDS - start))" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))["summary"]
p = s["propagation_ms"]
print(f"blocks mined        {s['blocks_mined']} in {sys.argv[2]} s ({s['measured_interval_ms']:.0f} ms apart, T = {s['block_interval_ms']:.0f} ms)")
print(f"stale               {s['stale_blocks']} = {s['stale_rate']:.4f}")
print(f"tau (measured)      {s['tau_ms']:.1f} ms")
print(f"1 - exp(-tau/T)     {s['theoretical_stale_rate']:.4f}   (with the measured interval: {s['theoretical_stale_rate_measured_interval']:.4f})")
print(f"measured / theory   {s['stale_rate'] / s['theoretical_stale_rate']:.2f}")
print(f"propagation p50/p90/max  {p['p50']:.0f} / {p['p90']:.0f} / {p['max']:.0f} ms")
print(f"reorg depths        {s['reorg_depths']}")
PY
echo "report: $OUT/report.html"
