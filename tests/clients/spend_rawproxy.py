"""python-bitcoinlib's RawProxy driving the wallet service's spending calls as a Bitcoin Core
user's script would: send, bumpfee, psbtbumpfee, fundrawtransaction and sendall, with Core's
parameter names (`named`) and Core's result fields. Run by tests/tests/clients.rs with
WALLET_URL and NODE_URL (http://user:pass@host:port) and DOTCOIN_ADDRESS (someone else's
address); exits non-zero naming the first check that failed."""

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

# A payment at 1 sat/vB: one input, the payment and change, 191 bytes.
sent = named(wallet, "send", outputs=[{payee: 1}], fee_rate=1)
check(set(sent) == {"complete", "txid"} and sent["complete"] is True, "send: %r" % sent)
original = sent["txid"]

bumped = named(wallet, "bumpfee", txid=original, options={"fee_rate": 5})
check(set(bumped) == {"txid", "origfee", "fee", "errors"}, "bumpfee fields: %r" % bumped)
check(bumped["origfee"] == D("0.00000191") and bumped["fee"] == D("0.00000955"), "bumpfee fees: %r" % bumped)
check(bumped["errors"] == [], "bumpfee errors: %r" % bumped)
check(node.getrawmempool() == [bumped["txid"]], "the replacement alone in the mempool")
check(named(wallet, "gettransaction", txid=original)["replaced_by_txid"] == bumped["txid"], "replaced_by_txid")
expect_error(lambda: named(wallet, "bumpfee", txid=original), -4, "bumping a replaced transaction")

as_psbt = named(wallet, "psbtbumpfee", txid=bumped["txid"], options={"fee_rate": 10})
check(set(as_psbt) == {"psbt", "origfee", "fee", "errors"}, "psbtbumpfee fields: %r" % as_psbt)
check(as_psbt["origfee"] == D("0.00000955") and as_psbt["fee"] == D("0.0000191"), "psbtbumpfee fees: %r" % as_psbt)
signed = named(wallet, "walletprocesspsbt", psbt=as_psbt["psbt"])
check(signed["complete"] is True, "walletprocesspsbt: %r" % signed)
third = node.sendrawtransaction(signed["hex"])
node.generatetoaddress(1, mine)
check(node.getrawtransaction(third, 1)["confirmations"] == 1, "the bumped payment mined")

raw = node.createrawtransaction([], {payee: 2})
funded = named(wallet, "fundrawtransaction", hexstring=raw, options={"fee_rate": 2, "changePosition": 0})
check(set(funded) == {"hex", "fee", "changepos"}, "fundrawtransaction fields: %r" % funded)
check(funded["changepos"] == 0 and funded["fee"] == D("0.00000382"), "fundrawtransaction: %r" % funded)
signed = wallet.signrawtransactionwithwallet(funded["hex"])
check(signed["complete"] is True, "signrawtransactionwithwallet")
node.sendrawtransaction(signed["hex"])

everything = named(wallet, "sendall", recipients=[payee], fee_rate=1, options={"add_to_wallet": False})
check(set(everything) == {"complete", "txid", "hex", "psbt"}, "sendall fields: %r" % everything)
check(node.decoderawtransaction(everything["hex"])["txid"] == everything["txid"], "sendall hex")
expect_error(lambda: named(wallet, "sendall", recipients=[{payee: 1}]), -8, "sendall without a remainder address")
expect_error(lambda: named(wallet, "bumpfee", txid="11" * 32), -5, "bumpfee of a stranger's txid")
print("spend rawproxy: all checks passed")
