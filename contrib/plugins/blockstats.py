#!/usr/bin/env python3
"""blockstats: per-block interval and fee statistics, kept from notifications.

Subscribes to block_connected and block_disconnected (and tip_changed, to count the
reorgs) and answers `getblockintervalstats ( nblocks )` over the node's RPC. It holds the blocks of the
active chain it has seen: a disconnected block leaves, its replacement takes its place,
so the figures follow reorgs without asking the node for anything. The notifications'
fields are the node's event schema (docs/events.md). Standard library only.
"""
import json
import statistics
import sys

blocks = {}  # height -> {"hash", "time", "fees_sat", "tx_count", "size"}
reorgs = []


def send(msg):
    sys.stdout.write(json.dumps(dict(msg, jsonrpc="2.0")) + "\n")
    sys.stdout.flush()


def summary(values):
    if not values:
        return {"count": 0, "total": 0, "mean": None, "median": None, "min": None, "max": None}
    return {
        "count": len(values),
        "total": sum(values),
        "mean": round(statistics.fmean(values), 3),
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
    }


def stats(params):
    n = None
    if isinstance(params, list) and params:
        n = params[0]
    elif isinstance(params, dict):
        n = params.get("nblocks")
    if n is not None and (not isinstance(n, int) or isinstance(n, bool) or n < 1):
        raise ValueError("nblocks must be a positive integer")
    heights = sorted(blocks)
    if n is not None:
        heights = heights[-n:]
    intervals = [blocks[h]["time"] - blocks[h - 1]["time"] for h in heights if h - 1 in blocks]
    fees = [blocks[h]["fees_sat"] for h in heights if blocks[h]["fees_sat"] is not None]
    tip = heights[-1] if heights else None
    return {
        "blocks": len(heights),
        "first_height": heights[0] if heights else None,
        "tip_height": tip,
        "tip_hash": blocks[tip]["hash"] if tip is not None else None,
        "interval_seconds": summary(intervals),
        "fees_sat": summary(fees),
        "transactions": sum(blocks[h]["tx_count"] for h in heights),
        "reorgs": len(reorgs),
        "last_reorg": reorgs[-1] if reorgs else None,
    }


def on_notification(method, p):
    if method == "block_connected":
        blocks[p["height"]] = {k: p.get(k) for k in ("hash", "time", "fees_sat", "tx_count", "size")}
        # A connect at height h means anything above h is no longer on the active chain.
        for h in [h for h in blocks if h > p["height"]]:
            del blocks[h]
    elif method == "block_disconnected":
        if blocks.get(p["height"], {}).get("hash") == p["hash"]:
            del blocks[p["height"]]
    elif method == "tip_changed" and p.get("reorg"):
        reorgs.append(dict(p["reorg"], new_tip=p["hash"], new_height=p["height"], old_tip=p["previous"]))
        del reorgs[:-100]


for line in sys.stdin:
    req = json.loads(line)
    method, params, rid = req.get("method"), req.get("params"), req.get("id")
    if rid is None:
        on_notification(method, params or {})
        continue
    if method == "getmanifest":
        send({"id": rid, "result": {
            "rpcmethods": [{
                "name": "getblockintervalstats",
                "usage": "( nblocks )",
                "description": "Interval (s) and fee (sat) statistics of the last nblocks "
                               "active-chain blocks seen (default: all).",
            }],
            "subscriptions": ["block_connected", "block_disconnected", "tip_changed"],
        }})
    elif method == "init":
        send({"id": rid, "result": {}})
    elif method == "getblockintervalstats":
        try:
            send({"id": rid, "result": stats(params)})
        except ValueError as e:
            send({"id": rid, "error": {"code": -8, "message": str(e)}})
    else:
        send({"id": rid, "error": {"code": -32601, "message": f"no method {method}"}})
