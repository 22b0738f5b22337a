#!/usr/bin/env bash
# A local devnet of N dotcoind nodes on this machine, each with its own datadir and wallet,
# linked to each other over 127.0.0.1, that you can split and join to make forks on purpose.
#
#   devnet.sh up [N] [--regtest|--main] [--mine]  start (or resume) N nodes (default 3, main
#                                       network); returns once they are linked and prints
#                                       each node's ports, dashboard and commands
#   devnet.sh down                      stop every node (no process is left behind)
#   devnet.sh status [--follow [SEC]]   a table: height, tip, peers, mempool, difficulty, hash rate
#   devnet.sh partition 1,2 3           split the network into groups that cannot reach each other
#   devnet.sh heal                      join them again; the most-work chain wins everywhere
#   devnet.sh mine NODE N               NODE mines N blocks to its wallet, then waits for its group
#   devnet.sh send FROM TO AMOUNT       FROM's wallet pays AMOUNT DOT to a new address of TO's
#                                       wallet, then waits until FROM's group has it in its mempool
#   devnet.sh sync                      wait until the nodes of each group agree on one tip
#   devnet.sh cli NODE ARGS...          dotcoin-cli against NODE
#   devnet.sh wallet NODE ARGS...       dotcoin-wallet with NODE's wallet
#   devnet.sh info                      print each node's ports, dashboard and commands again
#   devnet.sh faucet ADDR [AMOUNT]      pay ADDR (default 1 DOT) from the faucet (regtest only):
#                                       a wallet service on node 1 with wallet "faucet", started
#                                       and funded (101 blocks) on first use, stopped by `down`
#   devnet.sh up --topology FILE        start the network lab of a topology file instead
#                                       (dotcoin-lab, in $DEVNET_DIR/lab; docs/lab.md):
#                                       links with latency and bandwidth, Poisson miners;
#                                       `down` stops it too
#
# Data lives in $DEVNET_DIR (default ~/.dotcoin-devnet): node1/, node2/, … and devnet.state
# (size, network, ports, partition). `up` again after `down` resumes the same chains and
# wallets. Binaries come from $BIN (default target/debug). Node i takes RPC port
# DEVNET_PORT + 10(i-1), P2P one above, dashboard two above (DEVNET_PORT defaults to the
# network's RPC port: 8632 main, 18632 regtest); DEVNET_PORT=0 lets every node pick free
# ports (the script reads them from each node's dotcoind.ports).
#
# Nodes never connect on their own (--maxoutbound 0): every link is one `addnode` this
# script made, node i to each lower-numbered node of its group, so `partition` can remove
# exactly the links that cross groups and nothing re-creates them until `heal`.
set -euo pipefail

BIN=${BIN:-target/debug}
ROOT=${DEVNET_DIR:-$HOME/.dotcoin-devnet}
STATE=$ROOT/devnet.state
TIMEOUT=${DEVNET_TIMEOUT:-120}

# fd 3: the caller's stderr, which wait_for's quiet polling does not silence.
exec 3>&2
die() { echo "devnet: $*" >&3; exit 1; }
need() { command -v "$1" >/dev/null || die "$1 is needed (make deps installs it)"; }

# ---- state: N, NETWORK (main|regtest), PORT (base or 0), MINE (0|1), PARTS ("1,2 3")
load_state() {
    [ -f "$STATE" ] || die "no devnet in $ROOT: run '$0 up' first"
    # shellcheck source=/dev/null
    . "$STATE"
}
save_state() {
    mkdir -p "$ROOT"
    printf 'N=%s\nNETWORK=%s\nPORT=%s\nMINE=%s\nPARTS=%q\n' "$N" "$NETWORK" "$PORT" "$MINE" "$PARTS" >"$STATE.tmp"
    mv "$STATE.tmp" "$STATE"
}

node_dir() { echo "$ROOT/node$1"; }
net_dir() { if [ "$NETWORK" = regtest ]; then echo "$ROOT/node$1/regtest"; else echo "$ROOT/node$1"; fi; }
net_flag() { [ "$NETWORK" = regtest ] && echo --regtest || true; }
check_node() {
    [[ "$1" =~ ^[0-9]+$ ]] && [ "$1" -ge 1 ] && [ "$1" -le "$N" ] || die "no node '$1' (nodes are 1..$N)"
}

# The port of kind rpc|p2p|dashboard node $1 bound, from its dotcoind.ports.
port_of() {
    local f
    f="$(net_dir "$1")/dotcoind.ports"
    [ -f "$f" ] || die "node $1 is not running ($f missing)"
    jq -r ".$2 // empty" "$f"
}
# The port to ask for at start: fixed from the base, or 0 (any free port).
wanted_port() { # node offset
    if [ "$PORT" = 0 ]; then echo 0; else echo $((PORT + 10 * ($1 - 1) + $2)); fi
}

cli() { # node args...
    local i=$1; shift
    "$BIN/dotcoin-cli" $(net_flag) --datadir "$(node_dir "$i")" --rpcport "$(port_of "$i" rpc)" "$@"
}
wallet() { # node args...
    local i=$1; shift
    "$BIN/dotcoin-wallet" $(net_flag) --datadir "$(node_dir "$i")" --rpcport "$(port_of "$i" rpc)" "$@"
}

pid_of() { # prints the pid of node $1's dotcoind if it is running
    local f pid
    f="$(node_dir "$1")/dotcoind.pid"
    [ -f "$f" ] || return 1
    pid=$(cat "$f")
    # The pid must still be our dotcoind on this datadir, not a recycled pid.
    kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "--datadir $(node_dir "$1") " \
        && echo "$pid"
}

# Waits up to $TIMEOUT seconds for a command to succeed.
wait_for() { # description command...
    local what=$1; shift
    local deadline=$((SECONDS + TIMEOUT))
    until "$@" >/dev/null 2>&1; do
        [ $SECONDS -lt $deadline ] || die "timed out after ${TIMEOUT}s waiting for $what"
        sleep 0.2
    done
}

group_of() { # node → index of its group (0-based)
    local g=0 grp
    for grp in $PARTS; do
        [[ ",$grp," == *",$1,"* ]] && { echo $g; return; }
        g=$((g + 1))
    done
    echo -1
}
group_members() { # group index → nodes
    local g=0 grp
    for grp in $PARTS; do
        [ $g = "$1" ] && { echo "${grp//,/ }"; return; }
        g=$((g + 1))
    done
}
all_nodes() { seq 1 "$N" | paste -sd, -; }

# ---- links
# node i keeps an added-node link to each lower-numbered node of its group.
link_groups() {
    local i j
    for i in $(seq 1 "$N"); do
        for j in $(seq 1 $((i - 1))); do
            [ "$(group_of "$i")" = "$(group_of "$j")" ] || continue
            cli "$i" addnode "127.0.0.1:$(port_of "$j" p2p)" add >/dev/null 2>&1 || true
        done
    done
}
# Connected devnet nodes of node $1: every devnet connection is outbound from one side,
# to the other's P2P port, so the outbound peers of all nodes name every link.
outbound_links() { # node → "peer-node id" lines
    local i=$1 j p2p
    local peers
    peers=$(cli "$i" getpeerinfo) || return 0
    for j in $(seq 1 "$N"); do
        [ "$j" = "$i" ] && continue
        p2p=$(port_of "$j" p2p 2>/dev/null) || continue
        jq -r --arg a "127.0.0.1:$p2p" '.[] | select(.inbound == false and .addr == $a) | .id' <<<"$peers" \
            | sed "s/^/$j /"
    done
}
linked() { # true when every node is connected to each other node of its group
    local i j
    for i in $(seq 1 "$N"); do
        for j in $(seq 1 $((i - 1))); do
            [ "$(group_of "$i")" = "$(group_of "$j")" ] || continue
            outbound_links "$i" | grep -q "^$j " || return 1
        done
    done
}
# Drops every connection between groups; true when there was none left to drop.
cut_cross_links() {
    local clean=0 i j id
    for i in $(seq 1 "$N"); do
        while read -r j id; do
            [ -n "$j" ] || continue
            [ "$(group_of "$i")" = "$(group_of "$j")" ] && continue
            cli "$i" disconnectnode "" "$id" >/dev/null 2>&1 || true
            clean=1
        done < <(outbound_links "$i")
    done
    return $clean
}
synced() { # true when the nodes of each group share one tip
    local g first tip i
    for g in $(seq 0 $(($(wc -w <<<"$PARTS") - 1))); do
        first=""
        for i in $(group_members "$g"); do
            tip=$(cli "$i" getbestblockhash) || return 1
            [ -z "$first" ] && first=$tip
            [ "$tip" = "$first" ] || return 1
        done
    done
}

# ---- commands
print_info() {
    local i rpc p2p dash url cli_cmd wallet_cmd flag
    flag=$(net_flag)
    for i in $(seq 1 "$N"); do
        if ! pid_of "$i" >/dev/null; then echo "node$i: not running"; continue; fi
        rpc=$(port_of "$i" rpc); p2p=$(port_of "$i" p2p); dash=$(port_of "$i" dashboard)
        url=$(grep -ao 'http://[0-9.]*:[0-9]*/?token=[0-9a-f]*' "$(node_dir "$i")/stderr.log" | tail -1 \
            | sed "s#http://[0-9.]*:#http://127.0.0.1:#")
        cli_cmd="$BIN/dotcoin-cli${flag:+ $flag} --datadir $(node_dir "$i") --rpcport $rpc"
        wallet_cmd="$BIN/dotcoin-wallet${flag:+ $flag} --datadir $(node_dir "$i") --rpcport $rpc"
        echo "node$i: rpc $rpc, p2p $p2p, pid $(pid_of "$i"), data $(net_dir "$i")"
        echo "  dashboard: ${url:-http://127.0.0.1:$dash/}"
        echo "  esplora:   http://127.0.0.1:$(port_of "$i" esplora)/blocks/tip/height (REST: /rest/chaininfo.json)"
        echo "  cli:       $cli_cmd getblockchaininfo"
        echo "  wallet:    $wallet_cmd getbalance"
    done
    [ "$(wc -w <<<"$PARTS")" -gt 1 ] && echo "partitioned: $PARTS"
    return 0
}

cmd_up() {
    local n="" network="" mine=""
    while [ $# -gt 0 ]; do
        case $1 in
            --regtest) network=regtest ;;
            --main) network=main ;;
            --mine) mine=1 ;;
            [0-9]*) [[ "$1" =~ ^[0-9]+$ ]] && [ "$1" -ge 1 ] && [ "$1" -le 20 ] || die "N must be 1..20, not '$1'"; n=$1 ;;
            *) die "up: unknown argument '$1' (usage: up [N] [--regtest|--main] [--mine])" ;;
        esac
        shift
    done
    need jq
    [ -x "$BIN/dotcoind" ] || die "$BIN/dotcoind not found: build first (make build) or set BIN"
    if [ -f "$STATE" ]; then
        load_state
        if [ -n "$n" ] && [ "$n" != "$N" ]; then
            pid_of 1 >/dev/null && die "the devnet runs with $N nodes: 'down' first"
            N=$n
            PARTS=$(all_nodes)
        fi
        if [ -n "$network" ] && [ "$network" != "$NETWORK" ]; then
            pid_of 1 >/dev/null && die "the devnet runs on $NETWORK: 'down' first"
            NETWORK=$network
        fi
        [ -n "$mine" ] && MINE=1
    else
        N=${n:-3}; NETWORK=${network:-main}; MINE=${mine:-0}; PARTS=$(all_nodes)
        if [ "$NETWORK" = regtest ]; then PORT=${DEVNET_PORT:-18632}; else PORT=${DEVNET_PORT:-8632}; fi
    fi
    save_state

    local i dir addr mining
    for i in $(seq 1 "$N"); do
        dir=$(node_dir "$i")
        mkdir -p "$dir"
        if pid_of "$i" >/dev/null; then continue; fi
        # One wallet per node, next to its node's data; its first address takes the rewards.
        "$BIN/dotcoin-wallet" $(net_flag) --datadir "$dir" info >/dev/null 2>&1 \
            || "$BIN/dotcoin-wallet" $(net_flag) --datadir "$dir" create >/dev/null
        [ -s "$dir/mining-address.$NETWORK" ] \
            || "$BIN/dotcoin-wallet" $(net_flag) --datadir "$dir" getnewaddress mining >"$dir/mining-address.$NETWORK"
        addr=$(cat "$dir/mining-address.$NETWORK")
        mining=()
        if [ "$MINE" = 1 ]; then
            # One thread each; on regtest, where a block takes a hash, a pause after each
            # block keeps the pace watchable.
            mining=(--mine --mineraddress "$addr" --minerthreads 1)
            [ "$NETWORK" = regtest ] && mining+=(--minerinterval 2000)
        fi
        rm -f "$(net_dir "$i")/dotcoind.ports"
        # Detached from this shell: its own session, no terminal, output to a file.
        setsid "$BIN/dotcoind" $(net_flag) --datadir "$dir" \
            --rpcport "$(wanted_port "$i" 0)" --port "$(wanted_port "$i" 1)" \
            --dashboard "127.0.0.1:$(wanted_port "$i" 2)" --maxoutbound 0 "${mining[@]}" \
            --esplora "127.0.0.1:$(wanted_port "$i" 4)" --rest \
            </dev/null >>"$dir/stderr.log" 2>&1 3>&- &
        echo $! >"$dir/dotcoind.pid"
    done
    for i in $(seq 1 "$N"); do
        wait_for "node $i to start (see $(node_dir "$i")/stderr.log)" node_ready "$i"
    done
    link_groups
    wait_for "the nodes to link" linked
    print_info
}
node_ready() {
    pid_of "$1" >/dev/null || die "node $1 exited; see $(node_dir "$1")/stderr.log"
    [ -f "$(net_dir "$1")/dotcoind.ports" ] && cli "$1" getblockcount
}

cmd_down() {
    [ -f "$STATE" ] || { echo "no devnet in $ROOT"; return 0; }
    load_state
    local i pid pids=()
    stop_faucet
    for i in $(seq 1 "$N"); do
        if pid=$(pid_of "$i"); then
            kill -TERM "$pid" 2>/dev/null || true
            pids+=("$i:$pid")
        fi
    done
    local deadline=$((SECONDS + 60)) entry
    for entry in "${pids[@]}"; do
        i=${entry%%:*}; pid=${entry#*:}
        while kill -0 "$pid" 2>/dev/null; do
            if [ $SECONDS -ge $deadline ]; then
                echo "node$i did not stop in 60 s: killing it" >&2
                kill -KILL "$pid" 2>/dev/null || true
            fi
            sleep 0.1
        done
        rm -f "$(node_dir "$i")/dotcoind.pid"
        echo "node$i stopped"
    done
}

status_table() {
    local i info mi mp peers
    printf '%-6s %-8s %7s  %-16s %5s %8s %12s %12s\n' node group height tip peers mempool difficulty hashrate
    for i in $(seq 1 "$N"); do
        if ! pid_of "$i" >/dev/null; then printf '%-6s %s\n' "node$i" "down"; continue; fi
        info=$(cli "$i" getblockchaininfo 2>/dev/null) || { printf '%-6s %s\n' "node$i" "not answering"; continue; }
        mi=$(cli "$i" getmininginfo 2>/dev/null || echo '{}')
        mp=$(cli "$i" getmempoolinfo 2>/dev/null || echo '{}')
        peers=$(cli "$i" getconnectioncount 2>/dev/null || echo "?")
        printf '%-6s %-8s %7s  %-16s %5s %8s %12s %12s\n' "node$i" "$(($(group_of "$i") + 1))" \
            "$(jq -r .blocks <<<"$info")" "$(jq -r '.bestblockhash[0:16]' <<<"$info")" "$peers" \
            "$(jq -r '.size // "?"' <<<"$mp")" "$(jq -r '.difficulty | . * 1e6 | round / 1e6' <<<"$info")" \
            "$(jq -r '.networkhashps // 0 | if . >= 1e6 then "\(. / 1e4 | round / 100) MH/s" elif . >= 1e3 then "\(. / 10 | round / 100) kH/s" else "\(round) H/s" end' <<<"$mi")"
    done
}

cmd_status() {
    load_state
    need jq
    if [ "${1:-}" = --follow ]; then
        local every=${2:-5}
        while true; do
            echo "---- $(date +%T)"
            status_table
            sleep "$every"
        done
    fi
    status_table
}

cmd_partition() {
    load_state
    need jq
    [ $# -ge 2 ] || die "usage: partition GROUP GROUP... (e.g. partition 1,2 3)"
    local seen=",," grp i
    for grp in "$@"; do
        [[ "$grp" =~ ^[0-9]+(,[0-9]+)*$ ]] || die "'$grp' is not a comma-separated list of nodes"
        for i in ${grp//,/ }; do
            check_node "$i"
            [[ "$seen" == *",$i,"* ]] && die "node $i is in two groups"
            seen="$seen$i,"
        done
    done
    for i in $(seq 1 "$N"); do
        [[ "$seen" == *",$i,"* ]] || die "node $i is in no group (list every node 1..$N)"
    done
    PARTS="$*"
    save_state
    local j
    # Forget the links that cross groups on both ends, so nothing reconnects them...
    for i in $(seq 1 "$N"); do
        for j in $(seq 1 "$N"); do
            [ "$i" = "$j" ] || [ "$(group_of "$i")" = "$(group_of "$j")" ] && continue
            cli "$i" addnode "127.0.0.1:$(port_of "$j" p2p)" remove >/dev/null 2>&1 || true
        done
    done
    # ...then drop the connections, until two passes a second apart find none (a connect
    # already under way when the link was forgotten may still complete once).
    local clean=0
    local deadline=$((SECONDS + TIMEOUT))
    while [ $clean -lt 2 ]; do
        [ $SECONDS -lt $deadline ] || die "connections between groups keep coming back"
        if cut_cross_links; then clean=$((clean + 1)); else clean=0; fi
        sleep 1
    done
    link_groups
    wait_for "each group to link" linked
    echo "partitioned: $(for g in "$@"; do echo -n "[${g//,/ }] "; done)"
}

cmd_heal() {
    load_state
    need jq
    PARTS=$(all_nodes)
    save_state
    link_groups
    wait_for "the nodes to link" linked
    wait_for "the nodes to agree on one tip" synced
    echo "healed: every node at height $(cli 1 getblockcount), tip $(cli 1 getbestblockhash)"
}

cmd_mine() {
    load_state
    [ $# = 2 ] || die "usage: mine NODE N"
    check_node "$1"
    [[ "$2" =~ ^[0-9]+$ ]] && [ "$2" -ge 1 ] && [ "$2" -le 1000 ] || die "N must be 1..1000, not '$2'"
    cli "$1" generatetoaddress "$2" "$(cat "$(node_dir "$1")/mining-address.$NETWORK")"
    wait_for "node $1's group to sync" synced
}

cmd_send() {
    load_state
    need jq
    [ $# = 3 ] || die "usage: send FROM TO AMOUNT"
    check_node "$1"; check_node "$2"
    [[ "$3" =~ ^[0-9]+(\.[0-9]{1,8})?$ ]] || die "AMOUNT must be DOT with up to 8 decimals, not '$3'"
    local to txid i
    to=$(wallet "$2" getnewaddress "from node$1")
    txid=$(wallet "$1" send "$to" "$3")
    echo "$txid"
    for i in $(group_members "$(group_of "$1")"); do
        wait_for "$txid in node $i's mempool" in_mempool "$i" "$txid"
    done
}
in_mempool() { cli "$1" getrawmempool | jq -e --arg t "$2" 'index($t) != null'; }

# ---- faucet: `dotcoin-wallet serve --faucetwallet faucet` on node 1 (regtest only)
FAUCET_WALLET=faucet
faucet_ports() { echo "$(net_dir 1)/wallet-service.ports"; }
faucet_pid() { # the faucet service's pid, if it runs
    local f pid
    f=$(faucet_ports)
    [ -f "$f" ] || return 1
    pid=$(jq -r '.pid // empty' "$f" 2>/dev/null) || return 1
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null \
        && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "--faucetwallet" \
        && echo "$pid"
}
faucet_port() { faucet_pid >/dev/null && jq -r '.rpc // empty' "$(faucet_ports)"; }
stop_faucet() {
    local pid deadline=$((SECONDS + 30))
    pid=$(faucet_pid) || return 0
    kill -TERM "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do
        [ $SECONDS -lt $deadline ] || { kill -KILL "$pid" 2>/dev/null || true; }
        sleep 0.1
    done
    echo "faucet stopped"
}
faucet_rpc() { # method params-json → result (the service's cookie, given on stdin, not argv)
    local port
    port=$(faucet_port) || die "the faucet service is not running"
    printf 'user = "%s"\n' "$(cat "$(net_dir 1)/.wallet-cookie")" \
        | curl -sf -K - -H 'Content-Type: application/json' \
            -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$1\",\"params\":$2}" \
            "http://127.0.0.1:$port/wallet/$FAUCET_WALLET" | jq -r '.result'
}
cmd_faucet() {
    load_state; need jq; need curl
    [ $# -ge 1 ] && [ $# -le 2 ] || die "usage: faucet ADDR [AMOUNT]"
    [ "$NETWORK" = regtest ] || die "the faucet is served on regtest only, not on the main network this devnet runs (start one with: $0 up --regtest)"
    if ! faucet_pid >/dev/null; then
        setsid "$BIN/dotcoin-wallet" --regtest --datadir "$(node_dir 1)" --rpcport "$(port_of 1 rpc)" \
            --wallet "$FAUCET_WALLET" serve --port 0 --faucetwallet "$FAUCET_WALLET" \
            </dev/null >>"$(net_dir 1)/faucet.log" 2>&1 3>&- &
        wait_for "the faucet service to start (see $(net_dir 1)/faucet.log)" faucet_port
    fi
    local trusted
    trusted=$(faucet_rpc getbalance '[]')
    if awk -v b="$trusted" -v a="${2:-1}" 'BEGIN { exit !(b < a + 1) }'; then
        echo "funding the faucet: node 1 mines 101 blocks to it"
        cli 1 generatetoaddress 101 "$(faucet_rpc getnewaddress '[]')" >/dev/null
        wait_for "the nodes to agree on tips" synced
    fi
    local body answer code
    body=$(jq -cn --arg a "$1" --arg m "${2:-}" '{address: $a} + (if $m == "" then {} else {amount: $m} end)')
    answer=$(curl -s -w '\n%{http_code}' -H 'Content-Type: application/json' -d "$body" \
        "http://127.0.0.1:$(faucet_port)/faucet")
    code=${answer##*$'\n'}; answer=${answer%$'\n'*}
    [ "$code" = 200 ] || die "faucet: HTTP $code: $(jq -r '.error // .' <<<"$answer" 2>/dev/null || echo "$answer")"
    jq -r '"paid \(.amount) DOT to \(.address) in \(.txid)"' <<<"$answer"
}

case ${1:-} in
    up) shift
        if [ "${1:-}" = --topology ]; then
            [ $# = 2 ] || die "usage: up --topology FILE"
            [ -x "$BIN/dotcoin-lab" ] || die "$BIN/dotcoin-lab not found: build first (make build) or set BIN"
            exec "$BIN/dotcoin-lab" --dir "$ROOT/lab" up "$2" --bin "$BIN"
        fi
        cmd_up "$@" ;;
    down)
        if [ -f "$ROOT/lab/lab.json" ] && [ -x "$BIN/dotcoin-lab" ]; then
            "$BIN/dotcoin-lab" --dir "$ROOT/lab" down
        fi
        cmd_down ;;
    status) shift; cmd_status "$@" ;;
    partition) shift; cmd_partition "$@" ;;
    heal) cmd_heal ;;
    mine) shift; cmd_mine "$@" ;;
    send) shift; cmd_send "$@" ;;
    sync) load_state; need jq; wait_for "the nodes to agree on tips" synced ;;
    cli) shift; load_state; [ $# -ge 1 ] || die "usage: cli NODE ARGS..."; check_node "$1"; cli "$@" ;;
    wallet) shift; load_state; [ $# -ge 1 ] || die "usage: wallet NODE ARGS..."; check_node "$1"; wallet "$@" ;;
    info) load_state; print_info ;;
    faucet) shift; cmd_faucet "$@" ;;
    *) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 2 ;;
esac
