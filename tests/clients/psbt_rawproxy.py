"""python-bitcoinlib's RawProxy driving the PSBT calls as a Bitcoin Core user's script would:
walletcreatefundedpsbt and walletprocesspsbt on the wallet service, decodepsbt, analyzepsbt,
combinepsbt, finalizepsbt, utxoupdatepsbt and converttopsbt on the node, with Core's
parameter names where a script would use them (`named`) and Core's result fields. Run by
tests/tests/clients.rs with WALLET_URL and NODE_URL (http://user:pass@host:port) and
DOTCOIN_ADDRESS (someone else's address); exits non-zero naming the first check that failed."""

import decimal
import os

from bitcoin.rpc import JSONRPCError, RawProxy

from checks import check, expect_error


D = decimal.Decimal
wallet = RawProxy(service_url=os.environ["WALLET_URL"])
node = RawProxy(service_url=os.environ["NODE_URL"])
payee = os.environ["DOTCOIN_ADDRESS"]


def named(proxy, method, **params):
    """A call with named parameters (JSON-RPC 1.1 by-name), as bitcoin-cli -named sends."""
    reply = proxy._batch([{"version": "1.1", "method": method, "params": params, "id": 1}])[0]
    if reply.get("error") is not None:
        raise JSONRPCError(reply["error"])
    return reply["result"]


mine = wallet.getnewaddress()
node.generatetoaddress(101, mine)

funded = named(wallet, "walletcreatefundedpsbt", outputs=[{payee: 2}],
               options={"fee_rate": 2, "changePosition": 0})
check(set(funded) == {"psbt", "fee", "changepos"}, "walletcreatefundedpsbt: %r" % funded)
check(funded["changepos"] == 0 and funded["fee"] == D("0.00000382"), "fee and change: %r" % funded)
psbt = funded["psbt"]

decoded = named(node, "decodepsbt", psbt=psbt)
check(decoded["tx"]["vout"][1]["scriptPubKey"]["address"] == payee, "decodepsbt tx: %r" % decoded)
check(decoded["inputs"][0]["witness_utxo"]["amount"] == D("50"), "witness_utxo: %r" % decoded)
check(decoded["fee"] == funded["fee"], "decodepsbt fee")
check(decoded["psbt_version"] == 0 and decoded["unknown"] == {}, "globals: %r" % decoded)
analysis = named(node, "analyzepsbt", psbt=psbt)
check(analysis["next"] == "signer" and analysis["inputs"][0]["has_utxo"], "analyzepsbt: %r" % analysis)

processed = named(wallet, "walletprocesspsbt", psbt=psbt, sign=True, finalize=False)
check(processed["complete"] is True and "hex" not in processed, "walletprocesspsbt: %r" % processed)
combined = named(node, "combinepsbt", txs=[psbt, processed["psbt"]])
final = named(node, "finalizepsbt", psbt=combined, extract=True)
check(final["complete"] is True and isinstance(final["hex"], str), "finalizepsbt: %r" % final)
txid = node.sendrawtransaction(final["hex"])
node.generatetoaddress(1, mine)
check(node.getrawtransaction(txid, 1)["confirmations"] == 1, "mined")

raw = node.createrawtransaction([{"txid": txid, "vout": 1}], {payee: 1})
converted = named(node, "converttopsbt", hexstring=raw, permitsigdata=False)
updated = named(node, "utxoupdatepsbt", psbt=converted)
check(node.decodepsbt(updated)["inputs"][0]["witness_utxo"]["amount"] == D("2"), "utxoupdatepsbt")

expect_error(lambda: node.decodepsbt("AAAA"), -22, "decodepsbt of garbage")
expect_error(lambda: wallet.walletprocesspsbt("AAAA"), -22, "walletprocesspsbt of garbage")
expect_error(lambda: named(wallet, "walletcreatefundedpsbt", outputs={payee: 1}, options={"bogus": 1}),
             -3, "unknown option")
print("psbt rawproxy: all checks passed")
