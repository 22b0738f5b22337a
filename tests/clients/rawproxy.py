"""python-bitcoinlib's RawProxy against a regtest dotcoind, as a Bitcoin Core user's script
would call it. Run by tests/tests/clients.rs with DOTCOIN_RPC_URL (http://user:pass@host:port)
and DOTCOIN_ADDRESS (a regtest address to mine to); exits non-zero naming the first check
that failed."""

import decimal
import os

from bitcoin.rpc import RawProxy

from checks import check, expect_error


proxy = RawProxy(service_url=os.environ["DOTCOIN_RPC_URL"])
address = os.environ["DOTCOIN_ADDRESS"]

check(proxy.getblockcount() == 0, "a new regtest chain has height 0")
hashes = proxy.generatetoaddress(3, address)
check(len(hashes) == 3 and all(len(h) == 64 for h in hashes), "generatetoaddress: %r" % hashes)
check(proxy.getblockcount() == 3, "getblockcount after mining")

info = proxy.getblockchaininfo()
check(info["chain"] == "regtest", "chain: %r" % info)
check(info["blocks"] == 3 and info["bestblockhash"] == hashes[-1], "tip: %r" % info)

raw = proxy.getblock(hashes[0], 0)
check(isinstance(raw, str) and len(raw) > 160 and int(raw[:8], 16) >= 0, "getblock 0: %r" % raw)
block = proxy.getblock(hashes[0], 1)
check(block["hash"] == hashes[0] and block["height"] == 1, "getblock 1: %r" % block)
check(len(block["tx"]) == 1 and isinstance(block["tx"][0], str), "getblock 1 txids")
check(proxy.getblock(hashes[0]) == block, "getblock's default verbosity is 1")
full = proxy.getblock(hashes[0], 2)
coinbase = full["tx"][0]
check(coinbase["txid"] == block["tx"][0], "getblock 2 transaction: %r" % coinbase)
# The amount arrives as the decimal number the node wrote: 50.00000000, not a float.
check(coinbase["vout"][0]["value"] == decimal.Decimal("50.00000000"), "coinbase value")
check(isinstance(coinbase["vout"][0]["value"], decimal.Decimal), "amounts parse as Decimal")

check(proxy.getrawmempool() == [], "empty mempool")
check(proxy.getrawmempool(True) == {}, "empty verbose mempool")

replies = proxy._batch([
    {"version": "1.1", "method": "getblockcount", "params": [], "id": 1},
    {"version": "1.1", "method": "getblockhash", "params": [1], "id": 2},
    {"version": "1.1", "method": "getblockhash", "params": [99], "id": 3},
])
by_id = {r["id"]: r for r in replies}
check(by_id[1]["result"] == 3 and by_id[1]["error"] is None, "batch getblockcount: %r" % replies)
check(by_id[2]["result"] == hashes[0], "batch getblockhash: %r" % replies)
check(by_id[3]["result"] is None and by_id[3]["error"]["code"] == -8, "batch error: %r" % replies)

expect_error(lambda: proxy.getblockhash(1000), -8, "height out of range")
expect_error(lambda: proxy.nosuchmethod(), -32601, "unknown method")
expect_error(lambda: proxy.getblockhash(1, 2), -8, "surplus parameter")

print("rawproxy: all checks passed")
