"""python-bitcoinlib's RawProxy against the wallet service (dotcoin-wallet serve), as a
Bitcoin Core user's script would drive bitcoind's wallet. Run by tests/tests/wallet_service.rs
with WALLET_URL and NODE_URL (http://user:pass@host:port); exits non-zero naming the first
check that failed."""

import decimal
import os

from bitcoin.rpc import RawProxy

from checks import check, expect_error


D = decimal.Decimal
wallet = RawProxy(service_url=os.environ["WALLET_URL"])
node = RawProxy(service_url=os.environ["NODE_URL"])

address = wallet.getnewaddress("py")
check(address.startswith("dcrt1p"), "getnewaddress: %r" % address)
check(wallet.getbalance() == 0, "a new wallet has nothing")
node.generatetoaddress(101, address)
check(wallet.getbalance() == D("100"), "two mature rewards: %r" % wallet.getbalance())
balances = wallet.getbalances()
check(balances["mine"]["immature"] == D("4950"), "immature: %r" % balances)
info = wallet.getwalletinfo()
check(info["walletname"] == "default" and info["txcount"] == 101, "getwalletinfo: %r" % info)
unspent = wallet.listunspent()
check(len(unspent) == 2 and all(u["amount"] == D("50") for u in unspent), "listunspent: %r" % unspent)
check(wallet.getaddressinfo(address)["ismine"] is True, "getaddressinfo")
# listunspent's query_options, Core's keys, positional as python-bitcoinlib sends them.
check(len(wallet.listunspent(1, 9999999, [], True, {"maximumCount": 1})) == 1, "maximumCount")
check(wallet.listunspent(1, 9999999, [], True, {"minimumAmount": 51}) == [], "minimumAmount")
expect_error(lambda: wallet.listunspent(1, 9999999, [], True, {"bogus": 1}), -8, "unknown option")

other = wallet.getnewaddress()
txid = wallet.sendtoaddress(other, 1.5)
check(wallet.gettransaction(txid)["confirmations"] == 0, "pending")
node.generatetoaddress(1, address)
check(wallet.gettransaction(txid)["confirmations"] == 1, "confirmed")
recent = wallet.listtransactions("*", 3)
check(len(recent) == 3 and any(r["txid"] == txid for r in recent), "listtransactions: %r" % recent)
check(len(wallet.listtransactions("*", 2, 1)) == 2, "listtransactions with skip")

expect_error(lambda: wallet.sendtoaddress("bogus", 1), -5, "bad address")
expect_error(lambda: wallet.sendtoaddress(other, 1000000), -6, "insufficient funds")
expect_error(lambda: wallet.getnewaddress("*"), -11, "label *")
expect_error(lambda: wallet.walletlock(), -15, "walletlock of an unencrypted wallet")
expect_error(lambda: wallet.listtransactions("*", -1), -8, "negative count")

# Two wallets: the default endpoint is ambiguous, /wallet/<name> is not.
check(wallet.createwallet("py2")["name"] == "py2", "createwallet")
expect_error(lambda: wallet.getbalance(), -19, "wallet not specified")
second = RawProxy(service_url=os.environ["WALLET_URL"] + "/wallet/py2")
check(second.getbalance() == 0, "the second wallet")
paid = second.getnewaddress()
first = RawProxy(service_url=os.environ["WALLET_URL"] + "/wallet/default")
first.sendtoaddress(paid, 2)
check(second.getbalances()["mine"]["untrusted_pending"] == D("2"), "py2 pending")
second.unloadwallet()
check(wallet.listwallets() == ["default"], "unloaded")

# Full RBF on the node: a wallet-signed spend, replaced by one paying more, and a third
# paying less than the replacement refused with Core's reject reason.
coin = [u for u in wallet.listunspent() if u["amount"] == D("50")][0]
inputs = [{"txid": coin["txid"], "vout": coin["vout"]}]


def signed(amount):
    raw = node.createrawtransaction(inputs, {address: amount})
    done = wallet.signrawtransactionwithwallet(raw)
    check(done["complete"] is True, "signrawtransactionwithwallet: %r" % done)
    return done["hex"]


first_spend = node.sendrawtransaction(signed(49.999))
check(wallet.gettransaction(first_spend)["confirmations"] == 0, "the wallet sees its spend")
replacement = node.sendrawtransaction(signed(49.998))
pool = node.getrawmempool()
check(replacement in pool and first_spend not in pool, "replaced: %r" % pool)
expect_error(lambda: node.sendrawtransaction(signed(49.9985)), -26, "a cheaper replacement")

# The wallet's own history sees the replacement as Core shows it, and abandons the
# dropped original by Core's rules.
gone = wallet.gettransaction(first_spend)
check(gone["replaced_by_txid"] == replacement, "replaced_by_txid: %r" % gone)
check(gone["walletconflicts"] == [replacement], "walletconflicts: %r" % gone)
check(wallet.gettransaction(replacement)["replaces_txid"] == first_spend, "replaces_txid")
check(wallet.abandontransaction(first_spend) is None, "abandontransaction")
check(any(d.get("abandoned") is True for d in wallet.gettransaction(first_spend)["details"]),
      "abandoned in details")
expect_error(lambda: wallet.abandontransaction(replacement), -5, "abandon a pooled tx")

# lockunspent / listlockunspent with Core's object shape.
other_coin = [u for u in wallet.listunspent() if u["txid"] != coin["txid"]][0]
locked = {"txid": other_coin["txid"], "vout": other_coin["vout"]}
check(wallet.lockunspent(False, [locked]) is True, "lockunspent")
check(wallet.listlockunspent() == [locked], "listlockunspent: %r" % wallet.listlockunspent())
check(all(u["txid"] != locked["txid"] or u["vout"] != locked["vout"]
          for u in wallet.listunspent()), "a locked coin is not listed as unspent")
expect_error(lambda: wallet.lockunspent(False, [locked]), -8, "locked twice")
check(wallet.lockunspent(True) is True and wallet.listlockunspent() == [], "unlock all")

# listsinceblock: the replacement, once mined, is newer than the block before it.
before = node.getbestblockhash()
mined = node.generatetoaddress(1, address)[0]
since = wallet.listsinceblock(before, 1, True, True, False)
check(replacement in [t["txid"] for t in since["transactions"]], "listsinceblock: %r" % since)
check(since["lastblock"] == mined and since["removed"] == [], "lastblock/removed: %r" % since)
check(wallet.listsinceblock(mined)["transactions"] == [], "nothing since the tip")
check(wallet.gettransaction(first_spend)["confirmations"] == -1, "conflicted: -1")
print("ok")
