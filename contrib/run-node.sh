#!/usr/bin/env bash
# Starts a dotcoind on the main (demo) network that mines to an address of a local wallet,
# creating the wallet on first use. Data lives in ${DOTCOIN_DATADIR:-~/.dotcoin}.
set -euo pipefail
BIN=${BIN:-target/debug}
DATADIR=${DOTCOIN_DATADIR:-$HOME/.dotcoin}
WALLET=("$BIN/dotcoin-wallet" --datadir "$DATADIR")
if ! "${WALLET[@]}" info >/dev/null 2>&1; then
    "${WALLET[@]}" create >/dev/null
fi
ADDR=$("${WALLET[@]}" getnewaddress "mining")
echo "mining to $ADDR (wallet: ${WALLET[*]})"
echo "try: $BIN/dotcoin-cli --datadir $DATADIR getblockchaininfo"
echo "the dashboard URL (with its action token) is printed below as 'dashboard: http://…'"
exec "$BIN/dotcoind" --datadir "$DATADIR" --dashboard --mine --mineraddress "$ADDR" --minerthreads "${THREADS:-1}" "$@"
