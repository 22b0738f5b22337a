#!/usr/bin/env bash
# A local devnet: three dotcoind nodes on the main (demo) network in a line
# (node1 - node2 - node3), each mining on one thread to its own wallet. Watch blocks
# propagate, forks resolve by work, and difficulty retarget toward 10-second blocks.
# Each serves its dashboard one port above its P2P port (8634, 8644, 8654); the URLs with
# their action tokens are printed below. Ctrl-C stops all three. Data in
# ${DEVNET_DIR:-~/.dotcoin-devnet}/node{1,2,3}.
set -euo pipefail
BIN=${BIN:-target/debug}
ROOT=${DEVNET_DIR:-$HOME/.dotcoin-devnet}
PIDS=()
stop() { echo; echo "stopping devnet"; kill "${PIDS[@]}" 2>/dev/null || true; wait; }
trap stop INT TERM EXIT

for i in 1 2 3; do
    dir="$ROOT/node$i"
    mkdir -p "$dir"
    wallet=("$BIN/dotcoin-wallet" --datadir "$dir")
    "${wallet[@]}" info >/dev/null 2>&1 || "${wallet[@]}" create >/dev/null 2>&1
    addr=$("${wallet[@]}" getnewaddress devnet 2>/dev/null)
    p2p=$((8633 + 10 * (i - 1)))
    rpc=$((8632 + 10 * (i - 1)))
    peer=()
    [ "$i" -gt 1 ] && peer=(--addnode "127.0.0.1:$((p2p - 10))")
    : >"$dir/stderr.log"
    "$BIN/dotcoind" --datadir "$dir" --port "$p2p" --rpcport "$rpc" "${peer[@]}" \
        --dashboard "127.0.0.1:$((p2p + 1))" \
        --mine --mineraddress "$addr" --minerthreads 1 2>>"$dir/stderr.log" &
    PIDS+=($!)
    url=""
    for _ in $(seq 50); do
        url=$(grep -o 'http://127.0.0.1:[0-9]*/?token=[0-9a-f]*' "$dir/stderr.log" | tail -1 || true)
        [ -n "$url" ] && break
        sleep 0.2
    done
    echo "node$i: p2p $p2p, rpc $rpc, mining to $addr"
    echo "        dashboard: ${url:-see $dir/stderr.log}"
    echo "        $BIN/dotcoin-cli --datadir $dir --rpcport $rpc getpeerinfo"
done
echo "watching tips (Ctrl-C to stop)"
while sleep 5; do
    line=""
    for i in 1 2 3; do
        rpc=$((8632 + 10 * (i - 1)))
        tip=$("$BIN/dotcoin-cli" --datadir "$ROOT/node$i" --rpcport "$rpc" getblockchaininfo 2>/dev/null \
            | python3 -c 'import json,sys;d=json.load(sys.stdin);print(d["blocks"], d["bestblockhash"][:12])' 2>/dev/null || echo "-")
        line+="node$i: $tip   "
    done
    echo "$line"
done
