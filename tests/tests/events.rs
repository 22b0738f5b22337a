//! One event schema on every transport (`docs/events.md`): a node with the dashboard, a
//! plugin subscribed to every topic, `--blocknotify` and `--txnotify` commands, WebSocket
//! subscriptions on the RPC port and a server-sent-event client on the dashboard. A wallet
//! payment enters the mempool and is mined; every consumer must have seen the same JSON
//! object for the transaction and for the block — same fields, same values, amounts in
//! integer satoshis — and the Rust type in `dotcoin_common::events` must decode it.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use dotcoin_common::events::{BlockSummary, WireEvent, EVENT_TYPES};
use dotcoin_common::{deserialize, Amount, BlockHash, Transaction, Txid};
use dotcoin_functional_tests::{
    open_sse, test_keypair, wait_until, ws_connect, ws_subscribe, ws_timed_out, TestNode, TIMEOUT,
};
use serde_json::{json, Value};
use tungstenite::Message;

/// What one consumer has received so far, filled by a reader thread.
type Seen = Arc<Mutex<Vec<Value>>>;

/// The first event in `seen` matching `pred`, waiting up to `TIMEOUT` for it.
fn wait_for(what: &str, seen: &Seen, pred: impl Fn(&Value) -> bool) -> Value {
    let mut found = None;
    wait_until(what, TIMEOUT, || {
        found = seen
            .lock()
            .expect("not poisoned")
            .iter()
            .find(|v| pred(v))
            .cloned();
        found.is_some()
    });
    found.expect("found")
}

/// The dashboard's `/api/events`, read on a thread: each event's data, after checking that
/// its SSE name is its `type`.
fn sse_client(port: u16) -> Seen {
    let mut r = open_sse(port, "/api/events", None);
    let seen = Seen::default();
    let out = Arc::clone(&seen);
    std::thread::spawn(move || {
        let mut name = String::new();
        let mut line = String::new();
        loop {
            line.clear();
            match r.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            let line = line.trim_end();
            if let Some(n) = line.strip_prefix("event: ") {
                name = n.to_owned();
            } else if let Some(data) = line.strip_prefix("data: ") {
                let v: Value = serde_json::from_str(data).expect("SSE data is JSON");
                assert_eq!(v["type"], name.as_str(), "SSE name is the type: {v}");
                out.lock().expect("not poisoned").push(v);
            }
        }
    });
    seen
}

/// A WebSocket subscription on the RPC port, read on a thread: each item, without the
/// subscription's own `seq`.
fn ws_subscription(node: &TestNode, method: &str) -> Seen {
    let mut ws = ws_connect(node, Some(node.cookie_auth())).expect("WebSocket");
    // The subscription is live once its id has come back.
    ws_subscribe(&mut ws, method);
    let seen = Seen::default();
    let out = Arc::clone(&seen);
    std::thread::spawn(move || loop {
        match ws.read() {
            Ok(Message::Text(t)) => {
                let n: Value = serde_json::from_str(&t).expect("json");
                let mut item = n["params"]["result"].clone();
                assert!(item["seq"].is_u64(), "{n}");
                item.as_object_mut().expect("object").remove("seq");
                out.lock().expect("not poisoned").push(item);
            }
            Ok(_) => {}
            Err(e) if ws_timed_out(&e) => {}
            Err(_) => return,
        }
    });
    seen
}

/// JSON lines a file has so far (a missing file has none).
fn json_lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

/// The params of the first notification in the plugin's `log` matching `pred`, waiting up
/// to `TIMEOUT` for it. Every notification's method must be its event's type.
fn wait_in_plugin_log(what: &str, log: &Path, pred: impl Fn(&Value) -> bool) -> Value {
    let mut found = None;
    wait_until(what, TIMEOUT, || {
        let lines = json_lines(log);
        for l in &lines {
            assert_eq!(l["topic"], l["params"]["type"], "{l}");
        }
        found = lines.into_iter().map(|l| l["params"].clone()).find(&pred);
        found.is_some()
    });
    found.expect("found")
}

/// The JSON document a notify command wrote to `path`, once it has written all of it.
fn notified(what: &str, path: &Path) -> Value {
    let mut doc = Value::Null;
    wait_until(what, TIMEOUT, || {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        // `cat` writes the line and its newline: a whole line is a whole document.
        if !text.ends_with('\n') {
            return false;
        }
        doc = serde_json::from_str(&text).expect("a JSON document");
        true
    });
    doc
}

/// A plugin that subscribes to every topic and appends each notification, as
/// `{"topic", "params"}`, to `log`.
fn recorder_plugin(dir: &Path, log: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("recorder.py");
    std::fs::write(
        &path,
        format!(
            r#"#!/usr/bin/env python3
import json, sys
def send(m):
    sys.stdout.write(json.dumps(dict(m, jsonrpc="2.0")) + "\n"); sys.stdout.flush()
log = open({log:?}, "a")
for line in sys.stdin:
    r = json.loads(line)
    if "id" not in r:
        log.write(json.dumps({{"topic": r["method"], "params": r["params"]}}) + "\n"); log.flush()
    elif r["method"] == "getmanifest":
        send({{"id": r["id"], "result": {{"subscriptions": ["*"]}}}})
    else:
        send({{"id": r["id"], "result": {{}}}})
"#
        ),
    )
    .expect("write plugin");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path
}

/// Every number anywhere in `v` is an integer.
fn no_floats(v: &Value) -> bool {
    match v {
        Value::Number(n) => n.is_u64() || n.is_i64(),
        Value::Array(a) => a.iter().all(no_floats),
        Value::Object(o) => o.values().all(no_floats),
        _ => true,
    }
}

#[test]
fn every_transport_carries_the_same_events() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let plugin_log = d.join("plugin.jsonl");
    let plugin = recorder_plugin(d, &plugin_log);
    let block_cmd = format!("cat > {}/block-%s.json", d.display());
    let tx_cmd = format!("cat > {}/tx-%s.json", d.display());
    let node = TestNode::start(&[
        "--dashboard",
        "127.0.0.1:0",
        "--maxoutbound",
        "0",
        "--plugin",
        plugin.to_str().expect("utf-8"),
        "--blocknotify",
        &block_cmd,
        "--txnotify",
        &tx_cmd,
    ]);
    let sse = sse_client(node.dashboard_port);
    let sequence = ws_subscription(&node, "subscribe_sequence");
    let tips = ws_subscription(&node, "subscribe_blocks");

    // A wallet with a mature coinbase pays 12.5 DOT to someone else.
    let wallet_dir = tempfile::tempdir().expect("tempdir");
    let wallet = |args: &[&str]| node.wallet_ok(wallet_dir.path(), args);
    wallet(&["create"]);
    let mine_to = wallet(&["getnewaddress"]);
    node.generate(101, &mine_to);
    let (_, payee) = test_keypair();
    let txid: Txid = wallet(&["send", &payee, "12.5"])
        .parse()
        .expect("send prints the txid");

    // The transaction: the same object from all five consumers.
    let is_tx = |v: &Value| v["type"] == "tx_accepted" && v["txid"] == txid.to_string();
    let from_sse = wait_for("tx_accepted over SSE", &sse, is_tx);
    let from_ws = wait_for("tx_accepted over WebSocket", &sequence, is_tx);
    let from_plugin = wait_in_plugin_log("tx_accepted to the plugin", &plugin_log, is_tx);
    let from_txnotify = notified("txnotify", &d.join(format!("tx-{txid}.json")));
    assert_eq!(from_ws, from_sse, "WebSocket and SSE");
    assert_eq!(from_plugin, from_sse, "plugin and SSE");
    assert_eq!(from_txnotify, from_sse, "txnotify and SSE");

    // Its values are the transaction's, in satoshis.
    let raw: String = node.rpc_typed("getrawtransaction", json!([txid]));
    let tx: Transaction = deserialize(&hex::decode(raw).expect("hex")).expect("tx");
    let paid: u64 = tx.outputs.iter().map(|o| o.value.to_sat()).sum();
    assert!(tx
        .outputs
        .iter()
        .any(|o| o.value == Amount::from_sat(1_250_000_000)));
    let fee: Amount =
        serde_json::from_value(node.rpc("getmempoolentry", json!([txid]))["fees"]["base"].clone())
            .expect("fee in DOT");
    let WireEvent::TxAccepted {
        fee_sat,
        value_out_sat,
        size,
        ..
    } = serde_json::from_value(from_sse.clone()).expect("decodes as the schema type")
    else {
        panic!("not tx_accepted: {from_sse}");
    };
    assert_eq!(value_out_sat, paid, "{from_sse}");
    assert_eq!(fee_sat, fee.to_sat(), "{from_sse}");
    assert!(fee_sat > 0, "{from_sse}");
    assert_eq!(size, dotcoin_common::serialize(&tx).len() as u64);

    // The block that confirms it: `block_connected` from the three that carry it, and the
    // new tip from all four that do.
    let (_, miner) = test_keypair();
    let hash: BlockHash = node.generate(1, &miner)[0];
    let is_block = |v: &Value| v["type"] == "block_connected" && v["hash"] == hash.to_string();
    let block_sse = wait_for("block_connected over SSE", &sse, is_block);
    let block_ws = wait_for("block_connected over WebSocket", &sequence, is_block);
    let block_plugin = wait_in_plugin_log("block_connected to the plugin", &plugin_log, is_block);
    assert_eq!(block_ws, block_sse, "WebSocket and SSE");
    assert_eq!(block_plugin, block_sse, "plugin and SSE");
    let block: BlockSummary = match serde_json::from_value(block_sse.clone()) {
        Ok(WireEvent::BlockConnected(b)) => b,
        other => panic!("not block_connected: {other:?}"),
    };
    assert_eq!(
        (block.height, block.tx_count),
        (102, 2),
        "the coinbase and the payment"
    );
    assert_eq!(block.value_out_sat, value_out_sat, "the payment's outputs");
    assert_eq!(block.fees_sat, fee_sat, "the payment's fee");

    let is_tip = |v: &Value| v["type"] == "tip_changed" && v["hash"] == hash.to_string();
    let tip_sse = wait_for("tip_changed over SSE", &sse, is_tip);
    let tip_ws = wait_for("tip_changed over WebSocket", &tips, is_tip);
    let tip_plugin = wait_in_plugin_log("tip_changed to the plugin", &plugin_log, is_tip);
    let tip_notify = notified("blocknotify", &d.join(format!("block-{hash}.json")));
    assert_eq!(tip_ws, tip_sse, "WebSocket and SSE");
    assert_eq!(tip_plugin, tip_sse, "plugin and SSE");
    assert_eq!(tip_notify, tip_sse, "blocknotify and SSE");
    assert_eq!(tip_sse["height"], block.height, "{tip_sse}");
    assert!(tip_sse["reorg"].is_null(), "{tip_sse}");

    // Everything the dashboard streamed decodes as the schema type, with no float in it.
    let all = sse.lock().expect("not poisoned").clone();
    assert!(
        all.len() > 300,
        "101 blocks' worth of events: {}",
        all.len()
    );
    for v in &all {
        assert!(no_floats(v), "a float in {v}");
        let e: WireEvent = serde_json::from_value(v.clone())
            .unwrap_or_else(|err| panic!("{v} does not decode: {err}"));
        assert!(EVENT_TYPES.contains(&e.type_name()));
        assert_eq!(&e.to_json(), v, "decodes and encodes back to the same");
    }
}

/// `first_seen`: a node tells its event stream when a transaction, a header and a block
/// first reach it from a peer, naming the peer as `getpeerinfo` does, at the time its
/// propagation record keeps — and only once, however many peers bring it.
#[test]
fn a_node_reports_the_first_sighting_of_a_tx_header_and_block_from_a_peer() {
    use dotcoin_common::{serialize, TxOut};
    use dotcoin_functional_tests::{coinbase_at, signed_spend};
    let a = TestNode::start(&["--maxoutbound", "0"]);
    let (kp, addr) = test_keypair();
    a.generate(101, &addr);
    let b = TestNode::start(&["--dashboard", "127.0.0.1:0", "--maxoutbound", "0"]);
    b.rpc(
        "addnode",
        json!([format!("127.0.0.1:{}", a.p2p_port), "onetry"]),
    );
    let tip = |n: &TestNode| n.rpc_typed::<BlockHash>("getbestblockhash", json!([]));
    wait_until("b synced with a", TIMEOUT, || tip(&b) == tip(&a));
    let peer: Value = b.rpc("getpeerinfo", json!([]))[0].clone();
    let sse = sse_client(b.dashboard_port);

    // Subscribed: a transaction, then a block holding it, from a.
    let prev = coinbase_at(&a, 1);
    let out = TxOut {
        value: Amount::from_sat(prev.1.value.to_sat() - 10_000),
        pubkey: prev.1.pubkey,
    };
    let tx = signed_spend(&kp, prev, vec![out]);
    let txid: Txid = a.rpc_typed("sendrawtransaction", json!([hex::encode(serialize(&tx))]));
    wait_until("b has the transaction", TIMEOUT, || {
        b.rpc("getrawmempool", json!([]))
            .as_array()
            .is_some_and(|m| m.contains(&json!(txid.to_string())))
    });
    let block = a.generate(1, &addr)[0];
    wait_until("b has the block", TIMEOUT, || tip(&b) == block);

    let sighting = |kind: &'static str, hash: String| {
        move |v: &Value| v["type"] == "first_seen" && v["kind"] == kind && v["hash"] == hash
    };
    let tx_seen = wait_for("first_seen tx", &sse, sighting("tx", txid.to_string()));
    let header_seen = wait_for(
        "first_seen header",
        &sse,
        sighting("header", block.to_string()),
    );
    let block_seen = wait_for(
        "first_seen block",
        &sse,
        sighting("block", block.to_string()),
    );
    for v in [&tx_seen, &header_seen, &block_seen] {
        assert_eq!(v["peer"], peer["id"], "the peer's getpeerinfo id: {v}");
        assert_eq!(v["addr"], peer["addr"], "the peer's getpeerinfo addr: {v}");
        let WireEvent::FirstSeen(s) = serde_json::from_value(v.clone()).expect("decodes") else {
            panic!("a first_seen event: {v}")
        };
        assert!(s.time_ms > 1_600_000_000_000, "Unix ms: {v}");
    }
    // The times are the propagation records' own.
    let rec = b.rpc("getblockpropagation", json!([block]));
    assert_eq!(header_seen["time_ms"], rec["header_ms"], "{rec}");
    assert_eq!(block_seen["time_ms"], rec["block_ms"], "{rec}");
    let rec = b.rpc("gettxpropagation", json!([txid]));
    assert_eq!(tx_seen["time_ms"], rec["seen_ms"], "{rec}");
    // One sighting each: nothing else was first seen of them.
    let all = sse.lock().expect("not poisoned").clone();
    let of = |h: String| {
        all.iter()
            .filter(|v| v["type"] == "first_seen" && v["hash"] == h)
            .count()
    };
    assert_eq!(of(txid.to_string()), 1, "{all:?}");
    assert_eq!(of(block.to_string()), 2, "a header and a block: {all:?}");
}
