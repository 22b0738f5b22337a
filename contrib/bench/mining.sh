#!/usr/bin/env bash
# Live mining rate: a fresh `dotcoind --mine` on the main (demo) network, asked for
# `getmininginfo` every 2 s; prints the median hash rate of those 2-s windows, the node's
# CPU use and the blocks it found, beside L1 (OpenSSL's single-core SHA-256 compressions/s,
# measured first in the same run), so machines of different speed compare by ratio.
#
#   contrib/bench/mining.sh                 (builds nothing: run `make build` first)
#   THREADS=2 DURATION=90 BIN=target/debug contrib/bench/mining.sh
#   L1=27700000 contrib/bench/mining.sh     (skip the OpenSSL run)
set -euo pipefail
BIN=${BIN:-${CARGO_TARGET_DIR:-target}/debug}
THREADS=${THREADS:-2}
DURATION=${DURATION:-90}
HERE=$(cd "$(dirname "$0")" && pwd)
L1=${L1:-$("$HERE/l1.sh")}

DIR=$(mktemp -d)
cleanup() { [ -n "${PID:-}" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$DIR"; }
trap cleanup EXIT

"$BIN/dotcoin-wallet" --datadir "$DIR" create >/dev/null 2>&1
ADDR=$("$BIN/dotcoin-wallet" --datadir "$DIR" getnewaddress 2>/dev/null)
"$BIN/dotcoind" --datadir "$DIR" --rpcport 0 --port 0 --listen false \
    --mine --mineraddress "$ADDR" --minerthreads "$THREADS" 2>"$DIR/stderr.log" &
PID=$!
for _ in $(seq 200); do [ -f "$DIR/dotcoind.ports" ] && break; sleep 0.05; done
[ -f "$DIR/dotcoind.ports" ] || { echo "dotcoind did not start:"; cat "$DIR/stderr.log"; exit 1; }
PORT=$(python3 -c "import json,sys;print(json.load(open(sys.argv[1]))['rpc'])" "$DIR/dotcoind.ports")
CLI=("$BIN/dotcoin-cli" --datadir "$DIR" --rpcport "$PORT")

cpu_ticks() { awk '{print $14 + $15}' "/proc/$PID/stat"; }
TICKS0=$(cpu_ticks)
T0=$(date +%s.%N)
: > "$DIR/windows"
END=$((SECONDS + DURATION))
while [ $SECONDS -lt $END ]; do
    sleep 2
    "${CLI[@]}" getmininginfo >> "$DIR/windows"
done
TICKS1=$(cpu_ticks)
T1=$(date +%s.%N)

python3 - "$DIR/windows" "$L1" "$THREADS" "$TICKS0" "$TICKS1" "$T0" "$T1" "$(getconf CLK_TCK)" <<'PY'
import json, statistics, sys
path, l1, threads, t0, t1, w0, w1, hz = sys.argv[1:]
dec = json.JSONDecoder()
text, infos, i = open(path).read(), [], 0
while i < len(text):
    while i < len(text) and text[i].isspace():
        i += 1
    if i < len(text):
        obj, i = dec.raw_decode(text, i)
        infos.append(obj)
# The first answer covers the start-up (the rate window opens at the first call).
rates = [x["hashespersec"] for x in infos[1:]]
med = statistics.median(rates)
cpu = (int(t1) - int(t0)) / int(hz) / (float(w1) - float(w0)) * 100
print(f"live mining, {threads} threads, {len(rates)} windows of 2 s: median {med/1e6:.2f} M hashes/s "
      f"({med/float(l1):.2f} x L1), min {min(rates)/1e6:.2f} M, max {max(rates)/1e6:.2f} M; "
      f"CPU {cpu:.0f} %; blocks {infos[0]['blocks']} -> {infos[-1]['blocks']}; L1 {float(l1)/1e6:.1f} M; "
      f"kernel {infos[-1].get('kernel')} ({infos[-1].get('kernel_reason')})")
PY
