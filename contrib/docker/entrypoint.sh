#!/bin/sh
# Starts dotcoind with its configuration from a file and/or the environment.
#
#   file:        /etc/dotcoin/dotcoin.toml if mounted (else <datadir>/dotcoin.toml, as always)
#   environment: DOTCOIN_<FLAG>=value for any dotcoind flag, e.g. DOTCOIN_REGTEST=1,
#                DOTCOIN_ADDNODE="node1:8633 node2:8633" (lists: space or comma separated),
#                DOTCOIN_DASHBOARD=0.0.0.0:8634, DOTCOIN_ESPLORA=0.0.0.0:8636, DOTCOIN_REST=1,
#                DOTCOIN_MINE=1, DOTCOIN_MINERTHREADS=1,
#                DOTCOIN_SEEDNODE="tasks.seed tasks.node" (every address of each name)
#   secrets:     DOTCOIN_RPCAUTH_FILE=/run/secrets/rpcauth: one `user:salt$hash` line per
#                RPC user (contrib/rpcauth.py), as a Docker or Kubernetes secret mounts it
#   arguments:   anything after the image name is passed on to dotcoind as well
#
# DOTCOIN_MINE=1 without DOTCOIN_MINERADDRESS mines to the container's own wallet
# (<datadir>/wallets/default.json, created on first start): each node earns into a wallet
# of its own, which `dotcoin-wallet getbalance` in the container reads.
set -eu
DATADIR=${DOTCOIN_DATADIR:-$HOME/.dotcoin}
set -- --datadir "$DATADIR" "$@"
[ -f /etc/dotcoin/dotcoin.toml ] && set -- --conf /etc/dotcoin/dotcoin.toml "$@"

is_true() { case $1 in 1|true|yes|on) return 0 ;; *) return 1 ;; esac; }
WALLET_NET=""
for var in $(env | sed -n 's/^\(DOTCOIN_[A-Z_]*\)=.*/\1/p' | sort); do
    key=$(echo "${var#DOTCOIN_}" | tr 'A-Z' 'a-z')
    eval "value=\${$var}"
    case $key in
        datadir) ;;
        regtest|mine|rest)
            if is_true "$value"; then
                set -- "--$key" "$@"
                [ "$key" = regtest ] && WALLET_NET=--regtest
            fi ;;
        addnode|connect|debug|seednode|rpcauth)
            for v in $(echo "$value" | tr ',' ' '); do set -- "--$key=$v" "$@"; done ;;
        rpcbind|rpcport|rpcuser|rpcpassword|dashboard|esplora|port|bind|listen|mineraddress|minerthreads|minerinterval|maxinbound|maxinboundperip|maxoutbound|bantime|maxmempool|dbcache|minrelaytxfee)
            set -- "--$key=$value" "$@" ;;
        rpcauth_file)
            [ -r "$value" ] || { echo "dotcoin-entrypoint: cannot read $var=$value" >&2; exit 1; }
            while IFS= read -r line || [ -n "$line" ]; do
                line=${line#rpcauth=}
                case $line in ''|'#'*) ;; *) set -- "--rpcauth=$line" "$@" ;; esac
            done <"$value" ;;
        *) echo "dotcoin-entrypoint: unknown setting $var" >&2; exit 1 ;;
    esac
done

if is_true "${DOTCOIN_MINE:-0}" && [ -z "${DOTCOIN_MINERADDRESS:-}" ]; then
    wallet="dotcoin-wallet $WALLET_NET --datadir $DATADIR"
    $wallet info >/dev/null 2>&1 || $wallet create >/dev/null
    addrfile="$DATADIR/mining-address${WALLET_NET:+.regtest}"
    [ -s "$addrfile" ] || $wallet getnewaddress mining >"$addrfile"
    echo "mining to $(cat "$addrfile") (wallet in $DATADIR)"
    set -- "$@" --mineraddress "$(cat "$addrfile")"
fi
exec dotcoind "$@"
