#!/usr/bin/env python3
"""policy: refuses transactions paying less than a fee rate this node's user sets.

Registers the mempool_accept hook. The node calls it for each transaction that passed all
of the node's own checks, from RPC and from peers alike; answering "reject" keeps the
transaction out of this node's mempool (local policy: it never changes what is valid in a
block). Option `policy-min-feerate` is in sat/vB (1 DOT = 100 000 000 sat); 0 accepts all.
It says "failure": "closed" (the default for this hook, spelled out): while it is down the
node refuses transactions rather than let through what it would have refused, and restarts
it. Standard library only.
"""
import json
import sys

min_feerate = 0
counts = {"accepted": 0, "rejected": 0}


def send(msg):
    sys.stdout.write(json.dumps(dict(msg, jsonrpc="2.0")) + "\n")
    sys.stdout.flush()


def decide(tx):
    rate = tx["fee_sat"] / max(tx["size"], 1)
    if rate < min_feerate:
        counts["rejected"] += 1
        return {"result": "reject",
                "reason": f"fee rate {rate:.2f} sat/vB is below this node's policy minimum "
                          f"of {min_feerate} sat/vB"}
    counts["accepted"] += 1
    return {"result": "continue"}


for line in sys.stdin:
    req = json.loads(line)
    method, params, rid = req.get("method"), req.get("params") or {}, req.get("id")
    if rid is None:
        continue
    if method == "getmanifest":
        send({"id": rid, "result": {
            "hooks": [{"name": "mempool_accept"}],
            "failure": "closed",
            "options": [{"name": "policy-min-feerate", "type": "int", "default": 0,
                         "description": "Lowest fee rate (sat/vB) this node's mempool takes."}],
            "rpcmethods": [{"name": "getpolicyinfo", "usage": "",
                            "description": "The policy's minimum fee rate and its decisions."}],
        }})
    elif method == "init":
        min_feerate = params["options"]["policy-min-feerate"]
        if min_feerate < 0:
            send({"id": rid, "result": {"disable": "policy-min-feerate must not be negative"}})
        else:
            send({"id": rid, "result": {}})
    elif method == "mempool_accept":
        send({"id": rid, "result": decide(params["tx"])})
    elif method == "getpolicyinfo":
        send({"id": rid, "result": dict(counts, min_feerate_sat_per_vb=min_feerate)})
    else:
        send({"id": rid, "error": {"code": -32601, "message": f"no method {method}"}})
