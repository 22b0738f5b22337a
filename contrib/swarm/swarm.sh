#!/usr/bin/env bash
# The dotcoin Swarm stack's front end (contrib/swarm/stack.yml; docs/scaling.md).
#
#   swarm.sh up [NODES [MINERS]]  images, `docker swarm init` if this host is in no swarm,
#                                 an rpcauth secret, `docker stack deploy`
#   swarm.sh scale SERVICE=N ...  e.g. `swarm.sh scale node=50` (docker service scale)
#   swarm.sh status               every task on this host: height, tip, peers, dashboard
#   swarm.sh report               every task on every host, from Prometheus's HTTP API
#   swarm.sh down                 `docker stack rm`, wait until its tasks are gone, drop its
#                                 volumes; `docker swarm leave --force` too if `up` made
#                                 the swarm
#
# Environment: STACK [dotcoin]; SWARM_DIR [~/.dotcoin-swarm]: the RPC password (user
# `dotcoin`) and the rpcauth line; SWARM_BUILD [1]: build the images first (PROFILE
# [release], BIN, DOTCOIN_IMAGE as contrib/docker/build-image.sh); ADVERTISE_ADDR
# [127.0.0.1] for `docker swarm init` (a LAN address when other hosts will join); and the
# stack's variables (DOTCOIN_REGTEST, MINER_INTERVAL, PROMETHEUS_PORT, ... in stack.yml).
set -euo pipefail
cd "$(dirname "$0")/../.."
STACK=${STACK:-dotcoin}
SWARM_DIR=${SWARM_DIR:-$HOME/.dotcoin-swarm}
export DOTCOIN_IMAGE=${DOTCOIN_IMAGE:-dotcoin:latest}
export PROMETHEUS_IMAGE=${PROMETHEUS_IMAGE:-dotcoin-prometheus:latest}
export PROMETHEUS_PORT=${PROMETHEUS_PORT:-9090}
export RPCAUTH_FILE=${RPCAUTH_FILE:-$SWARM_DIR/rpcauth}

die() { echo "swarm.sh: $*" >&2; exit 1; }

# This stack's containers on this host: "ID SERVICE" lines (services without the prefix).
containers() {
    docker ps --filter "label=com.docker.stack.namespace=$STACK" \
        --format '{{.ID}} {{.Label "com.docker.swarm.service.name"}}' |
        sed "s/ ${STACK}_/ /" | sort -k2
}

# dotcoin-cli inside a container, on the network the container's node runs.
cli() {
    local id=$1
    shift
    local net=""
    docker inspect -f '{{range .Config.Env}}{{println .}}{{end}}' "$id" |
        grep -qE '^DOTCOIN_REGTEST=(1|true|yes|on)$' && net=--regtest
    docker exec "$id" dotcoin-cli $net "$@"
}

up() {
    local nodes=${1:-${NODES:-4}} miners=${2:-${MINERS:-1}}
    [[ $nodes =~ ^[0-9]+$ && $miners =~ ^[0-9]+$ ]] || die "up NODES MINERS: numbers, not '$nodes' '$miners'"
    if [ "${SWARM_BUILD:-1}" = 1 ]; then
        IMAGE=$DOTCOIN_IMAGE contrib/docker/build-image.sh
        DOCKER_BUILDKIT=0 docker build -q -f contrib/docker/Dockerfile.prometheus \
            -t "$PROMETHEUS_IMAGE" contrib/docker >/dev/null
        echo "built $PROMETHEUS_IMAGE"
    else
        contrib/docker/ensure-docker.sh >/dev/null
    fi
    mkdir -p "$SWARM_DIR"
    chmod 700 "$SWARM_DIR"
    if [ "$(docker info --format '{{.Swarm.LocalNodeState}}')" != active ]; then
        docker swarm init --advertise-addr "${ADVERTISE_ADDR:-127.0.0.1}" >/dev/null
        touch "$SWARM_DIR/swarm-made-here"
        echo "swarm initialised on ${ADVERTISE_ADDR:-127.0.0.1} (docker swarm join-token worker: the command for other hosts)"
    fi
    if [ ! -s "$RPCAUTH_FILE" ]; then
        # The password stays here; the nodes get only its salted hash (a Docker secret).
        local out
        out=$(python3 contrib/rpcauth.py dotcoin)
        (umask 077
         sed -n 's/^rpcauth=//p' <<<"$out" >"$RPCAUTH_FILE"
         sed -n 's/^password: //p' <<<"$out" >"$SWARM_DIR/rpcpassword")
    fi
    NODES=$nodes MINERS=$miners docker stack deploy --prune -c contrib/swarm/stack.yml "$STACK" >/dev/null
    echo "deployed stack $STACK: 1 seed, $nodes nodes, $miners miners, prometheus on :$PROMETHEUS_PORT"
    echo "RPC user dotcoin, password in $SWARM_DIR/rpcpassword"
}

scale() {
    [ $# -gt 0 ] || die "scale SERVICE=N ..."
    local args=()
    for s in "$@"; do
        [[ $s =~ ^(seed|node|miner)=[0-9]+$ ]] || die "scale: '$s' is not node=N, miner=N or seed=N"
        args+=("${STACK}_$s")
    done
    docker service scale --detach "${args[@]}"
}

status() {
    printf '%-10s %-15s %7s  %-16s %5s  %s\n' TASK ADDRESS HEIGHT TIP PEERS DASHBOARD
    local id service
    while read -r id service; do
        [ -n "$id" ] || continue
        [ "$service" = prometheus ] && continue
        local slot ip height tip peers port
        slot=$(docker inspect -f '{{index .Config.Labels "com.docker.swarm.task.name"}}' "$id" |
            sed "s/^${STACK}_//; s/\.\([0-9]*\)\..*/.\1/")
        ip=$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}' "$id" | awk '{print $1}')
        height=$(cli "$id" getblockcount 2>/dev/null || echo -)
        tip=$(cli "$id" getbestblockhash 2>/dev/null | cut -c1-16 || true)
        peers=$(cli "$id" getconnectioncount 2>/dev/null || echo -)
        port=$(docker port "$id" 8634/tcp 2>/dev/null | head -1 || true)
        printf '%-10s %-15s %7s  %-16s %5s  %s\n' "$slot" "$ip" "$height" "${tip:--}" "$peers" "${port:+http://${port/0.0.0.0/127.0.0.1}/}"
    done < <(containers)
}

report() {
    local api="http://127.0.0.1:$PROMETHEUS_PORT/api/v1/query"
    query() { curl -fsS --max-time 10 "$api" --data-urlencode "query=$1"; }
    local up height headers age inb outb
    up=$(query up) || die "Prometheus is not answering on :$PROMETHEUS_PORT"
    height=$(query dotcoin_chain_height)
    headers=$(query dotcoin_header_height)
    age=$(query dotcoin_tip_age_seconds)
    inb=$(query 'dotcoin_peers{direction="inbound"}')
    outb=$(query 'dotcoin_peers{direction="outbound"}')
    printf '%-6s %-21s %3s %7s %7s %8s %5s %5s\n' JOB INSTANCE UP HEIGHT HEADERS TIP_AGE IN OUT
    jq -rn --argjson up "$up" --argjson h "$height" --argjson hd "$headers" --argjson a "$age" \
        --argjson i "$inb" --argjson o "$outb" '
        def by($r): [$r.data.result[] | {key: .metric.instance, value: .value[1]}] | from_entries;
        (by($h)) as $H | (by($hd)) as $HD | (by($a)) as $A | (by($i)) as $I | (by($o)) as $O |
        $up.data.result | sort_by(.metric.job, .metric.instance)[] | .metric.instance as $n |
        [.metric.job, $n, .value[1], ($H[$n] // "-"), ($HD[$n] // "-"), ($A[$n] // "-"),
         ($I[$n] // "-"), ($O[$n] // "-")] | @tsv' |
        while IFS=$'\t' read -r job inst u h hd a i o; do
            printf '%-6s %-21s %3s %7s %7s %8s %5s %5s\n' "$job" "$inst" "$u" "$h" "$hd" "$a" "$i" "$o"
        done
    jq -r '"\(.data.result | length) targets, \([.data.result[] | select(.value[1] == "1")] | length) up"' <<<"$up"
}

down() {
    docker stack rm "$STACK" >/dev/null 2>&1 || true
    # `stack rm` returns before the tasks stop; the network and volumes go after them.
    for _ in $(seq 120); do
        [ -z "$(docker ps -aq --filter "label=com.docker.stack.namespace=$STACK")" ] && break
        sleep 1
    done
    for _ in $(seq 30); do
        docker network ls -q --filter "label=com.docker.stack.namespace=$STACK" | grep -q . || break
        sleep 1
    done
    docker volume ls -q --filter "label=com.docker.stack.namespace=$STACK" | xargs -r docker volume rm >/dev/null 2>&1 || true
    if [ -e "$SWARM_DIR/swarm-made-here" ]; then
        docker swarm leave --force >/dev/null 2>&1 || true
        rm -f "$SWARM_DIR/swarm-made-here"
        echo "left the swarm"
    fi
    echo "stack $STACK removed"
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case $cmd in
    up) up "$@" ;;
    scale) scale "$@" ;;
    status) status ;;
    report) report ;;
    down) down ;;
    *) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
