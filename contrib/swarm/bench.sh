#!/usr/bin/env bash
# What a network of N nodes costs, measured on this machine (docs/scaling.md; run by hand,
# not in make test): a Swarm stack on the regression-test network whose seed holds a
# BLOCKS-block chain, then NODES node tasks started at once. Prints the time until all of
# them have the seed's tip (from Prometheus, so to within its 5 s scrape interval), the
# RSS and CPU of idle tasks and of a mining task (docker stats), and the bytes one link
# carries per relayed block (getnettotals over a run of mined blocks).
#
#   contrib/swarm/bench.sh [NODES [BLOCKS]]      defaults 50 and 1000
#
# Uses the image DOTCOIN_IMAGE [dotcoin:latest] as it is (build it first: make
# docker-image, or PROFILE=debug contrib/docker/build-image.sh for the dev profile).
set -euo pipefail
cd "$(dirname "$0")/../.."
NODES=${1:-50}
BLOCKS=${2:-1000}
export STACK=${STACK:-dcbench}
export SWARM_DIR=${SWARM_DIR:-$(mktemp -d)}
export SWARM_BUILD=0 DOTCOIN_REGTEST=1 MINER_INTERVAL=${MINER_INTERVAL:-2000}
export PROMETHEUS_PORT=${PROMETHEUS_PORT:-19190} SEED_DASHBOARD_PORT=${SEED_DASHBOARD_PORT:-18734}
S=contrib/swarm/swarm.sh
trap '$S down >/dev/null 2>&1 || true' EXIT

container() { docker ps -q --filter "label=com.docker.swarm.service.name=${STACK}_$1" | head -1; }
cli() { docker exec "$1" dotcoin-cli --regtest "${@:2}"; }
prom() {
    curl -fsS --max-time 10 "http://127.0.0.1:$PROMETHEUS_PORT/api/v1/query" --data-urlencode "query=$1" |
        jq -r '.data.result[0].value[1] // "0"'
}
wait_for() { # what, seconds, command...
    local what=$1 limit=$2
    shift 2
    for _ in $(seq "$limit"); do "$@" && return 0; sleep 1; done
    echo "bench: timed out waiting for $what" >&2
    exit 1
}

echo "CPU: $(lscpu | sed -n 's/^Model name: *//p') ($(nproc) cores), load $(cut -d' ' -f1-3 /proc/loadavg)"
$S up 0 0 >/dev/null
wait_for "the seed" 120 sh -c "[ -n \"\$(docker ps -q --filter label=com.docker.swarm.service.name=${STACK}_seed)\" ]"
seed=$(container seed)
wait_for "the seed's RPC" 120 cli "$seed" getblockcount >/dev/null 2>&1
addr=$(docker exec "$seed" sh -c 'dotcoin-wallet --regtest create >/dev/null 2>&1; dotcoin-wallet --regtest getnewaddress')
cli "$seed" generatetoaddress "$BLOCKS" "$addr" >/dev/null
tip=$(cli "$seed" getbestblockhash)
echo "seed: $BLOCKS blocks, tip $tip"

start=$(date +%s.%N)
$S scale "node=$NODES" >/dev/null
wait_for "$NODES node tasks to run" 600 sh -c "[ \$(docker ps -q --filter label=com.docker.swarm.service.name=${STACK}_node | wc -l) -ge $NODES ]"
running=$(date +%s.%N)
wait_for "all $NODES nodes at height $BLOCKS" 900 \
    sh -c "[ \"\$(curl -fsS 'http://127.0.0.1:$PROMETHEUS_PORT/api/v1/query' --data-urlencode 'query=count(dotcoin_chain_height{job=\"node\"} >= $BLOCKS)' | jq -r '.data.result[0].value[1] // 0')\" = $NODES ]"
synced=$(date +%s.%N)
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", b - a }'; }
echo "tasks running after $(secs "$start" "$running") s; all $NODES synced $BLOCKS blocks after $(secs "$start" "$synced") s ($(secs "$running" "$synced") s after the last started)"

sleep 20
docker stats --no-stream --format '{{.Name}} {{.CPUPerc}} {{.MemUsage}}' |
    grep "^${STACK}_node\." | awk '
    function mib(s) { v = s + 0; if (s ~ /GiB/) v *= 1024; if (s ~ /KiB/) v /= 1024; return v }
    { gsub("%", "", $2); cpu += $2; m = mib($3); mem += m; if (m > max) max = m; n++ }
    END { printf "idle node task (%d): RSS %.1f MiB mean, %.1f max; CPU %.2f %% of a core mean\n", n, mem / n, max, cpu / n }'

# A miner joins; the bytes one idle node exchanges per block, per link.
$S up "$NODES" 1 >/dev/null
wait_for "the miner" 300 sh -c "[ -n \"\$(docker ps -q --filter label=com.docker.swarm.service.name=${STACK}_miner)\" ]"
node=$(container node)
sleep 30
h0=$(cli "$node" getblockcount)
b0=$(cli "$node" getnettotals | jq '.totalbytesrecv + .totalbytessent')
sleep 60
h1=$(cli "$node" getblockcount)
b1=$(cli "$node" getnettotals | jq '.totalbytesrecv + .totalbytessent')
links=$(cli "$node" getconnectioncount)
miner=$(container miner)
docker stats --no-stream --format '{{.CPUPerc}} {{.MemUsage}}' "$miner" |
    awk -v iv="$MINER_INTERVAL" '{ printf "mining task (1 thread, %s ms pause per block): CPU %s of a core, memory %s\n", iv, $1, $2 }'
echo "blocks $((h1 - h0)) in 60 s; node with $links links: $(( (b1 - b0) / (h1 - h0 > 0 ? h1 - h0 : 1) )) bytes per block over all links, $(( (b1 - b0) / (h1 - h0 > 0 ? h1 - h0 : 1) / (links > 0 ? links : 1) )) per link (pings included)"
