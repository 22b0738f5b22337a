#!/usr/bin/env python3
"""hello: a dotcoind plugin with one method and one option (docs/plugins.md)."""
import json
import sys

greeting = "Hello"


def send(msg):
    print(json.dumps(dict(msg, jsonrpc="2.0")), flush=True)


for line in sys.stdin:
    req = json.loads(line)
    method, params, rid = req["method"], req.get("params") or [], req.get("id")
    if rid is None:
        continue  # a notification; hello subscribes to none
    if method == "getmanifest":
        send({"id": rid, "result": {
            "rpcmethods": [{"name": "hello", "usage": "( \"name\" )",
                            "description": "Greets name (default: world)."}],
            "options": [{"name": "greeting", "type": "string", "default": "Hello",
                         "description": "The word hello greets with."}]}})
    elif method == "init":
        greeting = params["options"]["greeting"]
        send({"id": rid, "result": {}})
    elif method == "hello":
        name = params[0] if isinstance(params, list) and params else \
            params.get("name", "world") if isinstance(params, dict) else "world"
        send({"id": rid, "result": f"{greeting}, {name}!"})
    else:
        send({"id": rid, "error": {"code": -32601, "message": f"no method {method}"}})
