#!/bin/sh
# Healthy when dotcoind answers RPC through dotcoin-cli, on whichever network and port it
# bound (read from its dotcoind.ports).
set -eu
DATADIR=${DOTCOIN_DATADIR:-$HOME/.dotcoin}
for net in "" regtest; do
    ports="$DATADIR${net:+/$net}/dotcoind.ports"
    [ -f "$ports" ] || continue
    rpc=$(sed -n 's/.*"rpc":\([0-9]*\).*/\1/p' "$ports")
    exec dotcoin-cli ${net:+--regtest} --datadir "$DATADIR" --rpcport "$rpc" getblockcount
done
echo "dotcoind has not bound its ports yet" >&2
exit 1
