#!/usr/bin/env bash
# RPC throughput: requests/s for `getblockcount` and for `getblock <hash> 2` on a block of
# 1 000 transactions, with 1 and 16 concurrent clients, measured by wrk from a second
# process. Reads run on chain snapshots, and heavy ones on blocking threads, so 16 clients
# use both cores.
#
#   contrib/bench/rpc.sh            (builds nothing: run `make build` first)
#   DURATION=10s NTX=1000 BIN=target/debug contrib/bench/rpc.sh
set -euo pipefail
BIN=${BIN:-${CARGO_TARGET_DIR:-target}/debug}
DURATION=${DURATION:-10s}
NTX=${NTX:-1000}
command -v wrk >/dev/null || { echo "installing wrk"; apt-get install -y -qq wrk >/dev/null; }

DIR=$(mktemp -d)
cleanup() { [ -n "${PID:-}" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$DIR"; }
trap cleanup EXIT

"$BIN/dotcoind" --regtest --datadir "$DIR" --rpcport 0 --port 0 2>"$DIR/stderr.log" &
PID=$!
for _ in $(seq 200); do [ -f "$DIR/regtest/dotcoind.ports" ] && break; sleep 0.05; done
PORT=$(python3 -c "import json,sys;print(json.load(open(sys.argv[1]))['rpc'])" "$DIR/regtest/dotcoind.ports")
CLI=("$BIN/dotcoin-cli" --regtest --datadir "$DIR" --rpcport "$PORT")
WALLET=("$BIN/dotcoin-wallet" --regtest --datadir "$DIR" --rpcport "$PORT")

"${WALLET[@]}" create >/dev/null 2>&1
ADDR=$("${WALLET[@]}" getnewaddress 2>/dev/null)
# One mature coinbase per send: the wallet spends confirmed coins first, so no send builds
# on another's unconfirmed change (a chain of them stops at the mempool's 25-transaction
# package limit), and one block takes them all.
"${CLI[@]}" generatetoaddress $((NTX + 100)) "$ADDR" >/dev/null
DEST=$("${WALLET[@]}" getnewaddress 2>/dev/null)
# Each send's backup reminder would flood the report: its stderr is shown only on failure.
for _ in $(seq "$NTX"); do
    "${WALLET[@]}" send "$DEST" 0.01 >/dev/null 2>"$DIR/send.err" || { cat "$DIR/send.err" >&2; exit 1; }
done
HASH=$("${CLI[@]}" generatetoaddress 1 "$ADDR" | python3 -c "import json,sys;print(json.load(sys.stdin)[0])")
NTX=$("${CLI[@]}" getblock "$HASH" | python3 -c "import json,sys;print(json.load(sys.stdin)['nTx'])")
echo "block $HASH has $NTX transactions"

AUTH="Basic $(base64 -w0 < "$DIR/regtest/.cookie")"
cat > "$DIR/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = os.getenv("BODY")
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = os.getenv("AUTH")
LUA

run() {
    local name=$1 body=$2 conns=$3
    local threads=$((conns < 2 ? 1 : 2)) rps
    rps=$(BODY="$body" AUTH="$AUTH" wrk -t"$threads" -c"$conns" -d"$DURATION" -s "$DIR/post.lua" "http://127.0.0.1:$PORT/" \
        | awk '/Requests\/sec/ {print $2}')
    printf '%-22s %3s clients  %10s req/s\n' "$name" "$conns" "$rps"
}
for c in 1 16; do
    run getblockcount '{"jsonrpc":"2.0","id":1,"method":"getblockcount","params":[]}' "$c"
    run "getblock ($NTX tx, 2)" "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"getblock\",\"params\":[\"$HASH\",2]}" "$c"
done
