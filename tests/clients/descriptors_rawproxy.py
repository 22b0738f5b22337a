"""python-bitcoinlib's RawProxy driving the descriptor-wallet calls as a Bitcoin Core user's
script would, with Core's parameter names (`named`) and result fields: createwallet (a seed
wallet, and a watch-only blank one), listdescriptors, importdescriptors, getwalletinfo's
descriptor fields, getaddressinfo's HD fields, getdescriptorinfo, deriveaddresses, WIF through
dumpprivkey and importprivkey, and migratewallet of a random-key wallet
file. Run by tests/tests/clients.rs with WALLET_URL and NODE_URL (http://user:pass@host:port);
the service's wallets directory holds `legacy.json`, a version-1 wallet, not loaded. Exits
non-zero naming the first check that failed."""

import os

from bitcoin.rpc import JSONRPCError, RawProxy

from checks import check, expect_error

root = RawProxy(service_url=os.environ["WALLET_URL"])
node = RawProxy(service_url=os.environ["NODE_URL"])


def named(proxy, method, **params):
    """A call with named parameters (JSON-RPC 1.1 by-name), as bitcoin-cli -named sends."""
    reply = proxy._batch([{"version": "1.1", "method": method, "params": params, "id": 1}])[0]
    if reply.get("error") is not None:
        raise JSONRPCError(reply["error"])
    return reply["result"]


created = named(root, "createwallet", wallet_name="pyseed")
check(created["name"] == "pyseed" and len(created["mnemonic"].split()) == 12, "createwallet: %r" % created)
watch_created = named(root, "createwallet", wallet_name="pywatch", disable_private_keys=True,
                      blank=True, descriptors=True)
check(watch_created["name"] == "pywatch" and "mnemonic" not in watch_created,
      "watch-only createwallet: %r" % watch_created)
seed = RawProxy(service_url=os.environ["WALLET_URL"] + "/wallet/pyseed")
watch = RawProxy(service_url=os.environ["WALLET_URL"] + "/wallet/pywatch")

listed = named(seed, "listdescriptors", private=False)
check(listed["wallet_name"] == "pyseed" and len(listed["descriptors"]) == 2, "listdescriptors: %r" % listed)
for d in listed["descriptors"]:
    check(set(d) >= {"desc", "timestamp", "active", "internal", "range", "next", "next_index"},
          "listdescriptors fields: %r" % d)
requests = [{"desc": d["desc"], "active": True, "internal": d["internal"], "range": d["range"],
             "next_index": d["next_index"], "timestamp": "now"} for d in listed["descriptors"]]
results = named(watch, "importdescriptors", requests=requests)
check(results == [{"success": True}, {"success": True}], "importdescriptors: %r" % results)
bad = named(watch, "importdescriptors", requests=[{"desc": listed["descriptors"][0]["desc"]}])
check(bad[0]["success"] is False and bad[0]["error"]["code"] == -3, "missing timestamp: %r" % bad)
expect_error(lambda: named(watch, "listdescriptors", private=True), -4, "private of watch-only")

address = seed.getnewaddress()
check(watch.getnewaddress() == address, "the same next address")
info = named(watch, "getaddressinfo", address=address)
check(info["iswatchonly"] is True and info["hdkeypath"] == "m/86h/1h/0h/0/0"
      and info["ismine"] is True and info["solvable"] is True, "getaddressinfo: %r" % info)
winfo = watch.getwalletinfo()
check(winfo["descriptors"] is True and winfo["private_keys_enabled"] is False and winfo["blank"] is True,
      "getwalletinfo: %r" % winfo)
check(seed.getwalletinfo()["keypoolsize_hd_internal"] == 20, "keypoolsize_hd_internal")

receive = next(d["desc"] for d in listed["descriptors"] if not d["internal"])
desc_info = named(seed, "getdescriptorinfo", descriptor=receive)
check(set(desc_info) == {"descriptor", "checksum", "isrange", "issolvable", "hasprivatekeys"}
      and desc_info["isrange"] is True and desc_info["hasprivatekeys"] is False
      and receive.endswith("#" + desc_info["checksum"]), "getdescriptorinfo: %r" % desc_info)
derived = named(seed, "deriveaddresses", descriptor=receive, range=[0, 1])
check(len(derived) == 2 and derived[0] == address, "deriveaddresses: %r" % derived)
wif = named(seed, "dumpprivkey", address=address)
check(wif[0] in "c9" and len(wif) in (51, 52), "dumpprivkey gives WIF: %r" % len(wif))
named(root, "createwallet", wallet_name="pykeys", blank=True)
keys = RawProxy(service_url=os.environ["WALLET_URL"] + "/wallet/pykeys")
named(keys, "importprivkey", privkey=wif, label="imported", rescan=False)
imported = named(keys, "getaddressinfo", address=address)
check(imported["ismine"] is True and imported["labels"] == ["imported"], "importprivkey: %r" % imported)
check(named(seed, "listtransactions", label="*", count=10, skip=0) == [], "listtransactions")

migrated = named(root, "migratewallet", wallet_name="legacy")
check(migrated["wallet_name"] == "legacy" and migrated["backup_path"].endswith(".legacy.bak"),
      "migratewallet: %r" % migrated)
legacy = RawProxy(service_url=os.environ["WALLET_URL"] + "/wallet/legacy")
check(legacy.getwalletinfo()["descriptors"] is True, "migrated")
expect_error(lambda: named(root, "migratewallet", wallet_name="legacy"), -4, "migrate twice")
print("descriptors rawproxy: all checks passed")
