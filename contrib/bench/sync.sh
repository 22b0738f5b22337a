#!/usr/bin/env bash
# Initial sync of a busy chain: a fresh regtest node syncs from PEERS peers (default 1),
# each holding the same 2 100 blocks with 320 000 signed inputs; prints inputs/s, blocks/s,
# the fresh node's resident memory before and after, and how many blocks each peer sent.
#
# The chain is made once by `busy-chain generate` (tests/src/busy_chain.rs) and loaded
# into a source node once; both are cached in $BENCH_CACHE (default
# ~/.cache/dotcoin-bench), so a rerun costs only the sync.
#
#   contrib/bench/sync.sh                    (builds nothing: run `make build` first)
#   SPEND_BLOCKS=2000 INPUTS_PER_BLOCK=160 DBCACHE=… contrib/bench/sync.sh
#   PEERS=3 contrib/bench/sync.sh            (3 source nodes, each on a copy of the datadir)
set -euo pipefail
BIN=${BIN:-${CARGO_TARGET_DIR:-target}/debug}
SPEND_BLOCKS=${SPEND_BLOCKS:-2000}
PEERS=${PEERS:-1}
[ "$PEERS" -ge 1 ] || { echo "PEERS must be at least 1"; exit 1; }
INPUTS_PER_BLOCK=${INPUTS_PER_BLOCK:-160}
CACHE=${BENCH_CACHE:-$HOME/.cache/dotcoin-bench}/busy-$SPEND_BLOCKS-$INPUTS_PER_BLOCK
mkdir -p "$CACHE"

DIR=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$DIR"; }
trap cleanup EXIT

# Starts dotcoind on datadir $1 with extra flags; sets PID and PORTS (rpc p2p).
start() {
    local datadir=$1; shift
    "$BIN/dotcoind" --regtest --datadir "$datadir" --rpcport 0 --port 0 "$@" 2>>"$datadir.stderr" &
    PID=$!
    PIDS+=("$PID")
    for _ in $(seq 600); do [ -f "$datadir/regtest/dotcoind.ports" ] && break; sleep 0.05; done
    [ -f "$datadir/regtest/dotcoind.ports" ] || { echo "dotcoind did not start:"; cat "$datadir.stderr"; exit 1; }
    PORTS=$(python3 -c "import json,sys;p=json.load(open(sys.argv[1]));print(p['rpc'],p['p2p'])" "$datadir/regtest/dotcoind.ports")
}
stop() { kill "$1"; wait "$1" 2>/dev/null || true; }
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
# User + system CPU time of a process so far, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

if [ ! -f "$CACHE/stats.json" ]; then
    echo "generating the busy chain once into $CACHE" >&2
    "$BIN/busy-chain" generate "$CACHE/blocks.dat" "$SPEND_BLOCKS" "$INPUTS_PER_BLOCK" > "$DIR/stats.json"
    rm -rf "$CACHE/source"
    start "$DIR/load"
    read -r RPC _ <<< "$PORTS"
    "$BIN/busy-chain" submit "$CACHE/blocks.dat" "$RPC" "$DIR/load/regtest/.cookie"
    stop "$PID"
    rm -f "$DIR/load/regtest/dotcoind.ports"
    mv "$DIR/load" "$CACHE/source"
    mv "$DIR/stats.json" "$CACHE/stats.json"
fi

CONNECT=()
SOURCE_PIDS=()
SOURCE_RPCS=()
for i in $(seq "$PEERS"); do
    cp -r "$CACHE/source" "$DIR/source$i"
    start "$DIR/source$i"
    read -r rpc p2p <<< "$PORTS"
    CONNECT+=(--connect "127.0.0.1:$p2p")
    SOURCE_PIDS+=("$PID")
    SOURCE_RPCS+=("$rpc")
done
start "$DIR/fresh" "${CONNECT[@]}" ${DBCACHE:+--dbcache "$DBCACHE"}
read -r FRESH_RPC _ <<< "$PORTS"
FRESH_PID=$PID
IDLE_RSS=$(rss_kib "$FRESH_PID")
CLI=("$BIN/dotcoin-cli" --regtest --datadir "$DIR/fresh" --rpcport "$FRESH_RPC")
WANT=$(python3 -c "import json,sys;print(json.load(open(sys.argv[1]))['blocks'])" "$CACHE/stats.json")
T0=$(date +%s.%N)
FRESH_CPU0=$(cpu_ticks "$FRESH_PID")
SOURCE_CPU0=0
for p in "${SOURCE_PIDS[@]}"; do SOURCE_CPU0=$((SOURCE_CPU0 + $(cpu_ticks "$p"))); done
# One long poll rather than a getblockcount process every 0.1 s, whose start-ups would take
# CPU from the node being measured.
height() { python3 -c "import json,sys;print(json.load(sys.stdin)['height'])"; }
while [ "$("${CLI[@]}" waitforblockheight "$WANT" 60000 | height)" != "$WANT" ]; do :; done
T1=$(date +%s.%N)
FRESH_CPU=$(( $(cpu_ticks "$FRESH_PID") - FRESH_CPU0 ))
SOURCE_CPU=$((-SOURCE_CPU0))
for p in "${SOURCE_PIDS[@]}"; do SOURCE_CPU=$((SOURCE_CPU + $(cpu_ticks "$p"))); done
SYNCED_RSS=$(rss_kib "$FRESH_PID")
WANT_HASH=$("$BIN/dotcoin-cli" --regtest --datadir "$DIR/source1" --rpcport "${SOURCE_RPCS[0]}" gettxoutsetinfo | python3 -c "import json,sys;print(json.load(sys.stdin)['hash_serialized'])")
GOT_HASH=$("${CLI[@]}" gettxoutsetinfo | python3 -c "import json,sys;print(json.load(sys.stdin)['hash_serialized'])")
[ "$WANT_HASH" = "$GOT_HASH" ] || { echo "UTXO set differs after sync: $GOT_HASH vs $WANT_HASH"; exit 1; }
# Blocks each source sent (its getpeerinfo's `bytessent_per_msg` has no count, so the
# fresh node's view of its peers' `block` bytes stands in; a peer that sent none shows 0).
SENT=$("${CLI[@]}" getpeerinfo | python3 -c "
import json, sys
peers = json.load(sys.stdin)
print(' '.join(str(p.get('bytesrecv_per_msg', {}).get('block', 0)) for p in peers))")
for p in "${SOURCE_PIDS[@]}"; do stop "$p"; done

python3 - "$CACHE/stats.json" "$T0" "$T1" "$IDLE_RSS" "$SYNCED_RSS" "$FRESH_CPU" "$SOURCE_CPU" "$(getconf CLK_TCK)" "$PEERS" "$SENT" <<'PY'
import json, sys
stats = json.load(open(sys.argv[1]))
secs = float(sys.argv[3]) - float(sys.argv[2])
peers = int(sys.argv[9])
print(f"sync of {stats['blocks']} blocks, {stats['inputs']} signed inputs, "
      f"{stats['bytes']/1e6:.1f} MB: {secs:.1f} s, {stats['inputs']/secs:.0f} inputs/s, "
      f"{stats['blocks']/secs:.0f} blocks/s; fresh node RSS {int(sys.argv[4])/1024:.1f} MiB "
      f"before, {int(sys.argv[5])/1024:.1f} MiB after; CPU fresh node "
      f"{int(sys.argv[6])/int(sys.argv[8])/secs*100:.0f} %, source node"
      f"{'s' if peers > 1 else ''} {int(sys.argv[7])/int(sys.argv[8])/secs*100:.0f} %; "
      f"from {peers} peer{'s' if peers > 1 else ''}, block MB received from each: "
      + ", ".join(f"{int(b)/1e6:.1f}" for b in sys.argv[10].split()))
PY
