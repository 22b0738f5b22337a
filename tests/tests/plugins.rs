//! Plugins and notifications with real processes: the example plugins under
//! `contrib/plugins/` served through `dotcoin-cli`, plugins that misbehave in every way the
//! protocol allows, the hooks, WebSocket subscriptions through a reorg, and
//! `--blocknotify`.

use std::path::{Path, PathBuf};

use dotcoin_common::sighash::signing::{pubkey_of, sign_transaction};
use dotcoin_common::{serialize, Amount, OutPoint, Transaction, TxIn, TxOut, Txid};
use dotcoin_functional_tests::{
    test_keypair, wait_until, ws_connect, ws_next, ws_subscribe, TestNode, TIMEOUT,
};
use serde_json::{json, Value};

fn contrib_plugins() -> PathBuf {
    dotcoin_functional_tests::workspace_root().join("contrib/plugins")
}

/// Writes an executable Python plugin into `dir`.
fn write_plugin(dir: &Path, name: &str, body: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/usr/bin/env python3\n{body}")).expect("write plugin");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path
}

fn plugin_entry(node: &TestNode, name: &str) -> Option<Value> {
    node.rpc("plugin", json!(["list"]))["plugins"]
        .as_array()
        .expect("plugin list")
        .iter()
        .find(|p| p["name"] == name)
        .cloned()
}

/// A transaction spending a 50 DOT coinbase output of `kp` to itself at `sat_per_vb`.
fn spend_coinbase(
    cb_txid: Txid,
    kp: &secp256k1::Keypair,
    sat_per_vb: u64,
) -> (Transaction, String) {
    let spent = TxOut {
        value: Amount::from_dot(50),
        pubkey: pubkey_of(kp),
    };
    let mut tx = Transaction {
        version: 1,
        inputs: vec![TxIn {
            prevout: OutPoint {
                txid: cb_txid,
                vout: 0,
            },
            witness: vec![],
        }],
        outputs: vec![TxOut {
            value: Amount::from_dot(50),
            pubkey: pubkey_of(kp),
        }],
        lock_time: 0,
    };
    sign_transaction(&mut tx, &[spent], std::slice::from_ref(kp)).expect("sign");
    // Amounts are fixed-width, so the size does not depend on the fee.
    let size = serialize(&tx).len() as u64;
    tx.outputs[0].value = Amount::from_sat(50 * 100_000_000 - sat_per_vb * size);
    sign_transaction(&mut tx, &[spent], std::slice::from_ref(kp)).expect("sign");
    let hex = hex::encode(serialize(&tx));
    (tx, hex)
}

fn coinbase_txid(node: &TestNode, height: u64) -> Txid {
    let hash = node.rpc("getblockhash", json!([height]));
    let block = node.rpc("getblock", json!([hash, 1]));
    block["tx"][0]
        .as_str()
        .expect("txid")
        .parse()
        .expect("txid")
}

fn header_time(node: &TestNode, height: u64) -> i64 {
    let hash = node.rpc("getblockhash", json!([height]));
    node.rpc("getblockheader", json!([hash]))["time"]
        .as_i64()
        .expect("time")
}

/// The statistics `blockstats` must report for heights `from..=to` of the active chain.
fn expected_intervals(node: &TestNode, from: u64, to: u64) -> Vec<i64> {
    let times: Vec<i64> = (from..=to).map(|h| header_time(node, h)).collect();
    times.windows(2).map(|w| w[1] - w[0]).collect()
}

fn check_blockstats(node: &TestNode, blocks: u64) {
    let best = node.rpc("getbestblockhash", json!([]));
    let tip = node
        .rpc("getblockcount", json!([]))
        .as_u64()
        .expect("height");
    // Notifications are asynchronous: wait until the plugin has seen the tip.
    wait_until("blockstats to see the tip", TIMEOUT, || {
        node.rpc("getblockintervalstats", json!([]))["tip_hash"] == best
    });
    let stats = node.cli_typed::<Value>(&["getblockintervalstats"]);
    assert_eq!(stats["blocks"], blocks, "{stats}");
    assert_eq!(stats["tip_height"], tip);
    let intervals = expected_intervals(node, tip + 1 - blocks, tip);
    let iv = &stats["interval_seconds"];
    assert_eq!(iv["count"], intervals.len(), "{stats}");
    assert_eq!(iv["total"], intervals.iter().sum::<i64>());
    assert_eq!(iv["min"], *intervals.iter().min().expect("some"));
    assert_eq!(iv["max"], *intervals.iter().max().expect("some"));
    // Every block so far pays only its subsidy: fees are zero, and counted per block.
    assert_eq!(stats["fees_sat"]["count"], blocks);
}

#[test]
fn example_plugins_serve_methods_follow_reorgs_and_set_policy() {
    let node = TestNode::start(&[
        "--plugin-dir",
        contrib_plugins().to_str().expect("utf-8 path"),
        "--plugin-opt",
        "greeting=Howdy",
        "--plugin-opt",
        "policy-min-feerate=5",
    ]);
    let list = node.rpc("plugin", json!(["list"]));
    for name in ["blockstats", "hello", "policy"] {
        let p = plugin_entry(&node, name).unwrap_or_else(|| panic!("{name} in {list}"));
        assert_eq!(p["status"], "running", "{p}");
    }

    // hello: a method and an option, through the CLI; listed by help.
    assert_eq!(node.cli_ok(&["hello", "Ann"]), "Howdy, Ann!");
    assert_eq!(node.cli_ok(&["hello"]), "Howdy, world!");
    let help = node.cli_ok(&["help"]);
    assert!(
        help.contains("== Plugin hello ==\nhello ( \"name\" )"),
        "{help}"
    );
    assert!(help.contains("== Plugin blockstats =="), "{help}");
    let help = node.cli_ok(&["help", "getblockintervalstats"]);
    assert!(help.contains("Category: Plugin blockstats"), "{help}");

    // blockstats after 20 blocks, then after a 3-block reorg.
    let (kp, addr) = test_keypair();
    node.generate(20, &addr);
    check_blockstats(&node, 20);
    let h18 = node.rpc("getblockhash", json!([18]));
    node.rpc("invalidateblock", json!([h18]));
    let (_, other) = test_keypair();
    node.generate(4, &other);
    check_blockstats(&node, 21);
    let stats = node.rpc("getblockintervalstats", json!([5]));
    assert_eq!(stats["blocks"], 5);
    assert_eq!(stats["reorgs"], 1, "{stats}");
    assert_eq!(stats["last_reorg"]["depth"], 3, "{stats}");
    let err = node
        .try_rpc("getblockintervalstats", json!([0]))
        .expect_err("bad nblocks");
    assert_eq!(err.code, -8, "{err:?}");

    // policy: a transaction under 5 sat/vB is refused with the plugin's reason, one above
    // passes; testmempoolaccept agrees.
    node.generate(100, &other);
    let (_, cheap) = spend_coinbase(coinbase_txid(&node, 1), &kp, 2);
    let err = node
        .try_rpc("sendrawtransaction", json!([cheap]))
        .expect_err("below the policy");
    assert_eq!(err.code, -26, "{err:?}");
    assert!(
        err.message
            .contains("fee rate 2.00 sat/vB is below this node's policy minimum of 5 sat/vB")
            && err.message.contains("plugin policy"),
        "{err:?}"
    );
    let test = node.rpc("testmempoolaccept", json!([[cheap]]));
    assert_eq!(test[0]["allowed"], false);
    assert!(test[0]["reject-reason"]
        .as_str()
        .is_some_and(|r| r.starts_with("plugin-policy")));
    let (tx, generous) = spend_coinbase(coinbase_txid(&node, 2), &kp, 10);
    let txid = node.cli_ok(&["sendrawtransaction", &generous]);
    assert_eq!(txid, tx.txid().to_string());
    let info = node.rpc("getpolicyinfo", json!([]));
    assert!(info["rejected"].as_u64() >= Some(2), "{info}");
    assert!(info["accepted"].as_u64() >= Some(1), "{info}");

    // stop and start at run time.
    assert_eq!(
        node.rpc("plugin", json!(["stop", "hello"]))["stopped"],
        "hello"
    );
    let err = node.try_rpc("hello", json!([])).expect_err("stopped");
    assert_eq!(err.code, -32601, "{err:?}");
    assert!(plugin_entry(&node, "hello").is_none());
    let path = contrib_plugins().join("hello.py");
    let started = node.rpc("plugin", json!(["start", path]));
    assert_eq!(started["status"], "running", "{started}");
    assert_eq!(node.cli_ok(&["hello", "Bo"]), "Howdy, Bo!");
    let err = node
        .try_rpc("plugin", json!(["start", path]))
        .expect_err("already running");
    assert!(err.message.contains("already running"), "{err:?}");
    let err = node
        .try_rpc("plugin", json!(["stop", "nosuch"]))
        .expect_err("unknown");
    assert_eq!(err.code, -8);
    let err = node
        .try_rpc("plugin", json!(["frobnicate"]))
        .expect_err("unknown subcommand");
    assert_eq!(err.code, -8);
    let log = node.debug_log();
    assert!(log.contains("plugin started"), "the start is logged");
}

const MANIFEST_LOOP: &str = r#"
import json, sys
def send(m):
    sys.stdout.write(json.dumps(dict(m, jsonrpc="2.0")) + "\n"); sys.stdout.flush()
"#;

#[test]
fn misbehaving_plugins_leave_the_node_running_with_clear_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    // Answers its manifest and init, then exits when its method is called.
    let crash = write_plugin(
        d,
        "crash.py",
        &format!(
            "{MANIFEST_LOOP}
for line in sys.stdin:
    r = json.loads(line)
    if r['method'] == 'getmanifest':
        send({{'id': r['id'], 'result': {{'rpcmethods': [{{'name': 'crashme'}}]}}}})
    elif r['method'] == 'init':
        send({{'id': r['id'], 'result': {{}}}})
    elif r['method'] == 'crashme':
        print('about to crash', file=sys.stderr, flush=True)
        sys.exit(3)
"
        ),
    );
    // Reads everything, answers nothing.
    let silent = write_plugin(d, "silent.py", "import sys\nfor _ in sys.stdin: pass\n");
    // Writes something that is not JSON-RPC.
    let garbage = write_plugin(
        d,
        "garbage.py",
        "import sys\nprint('hello, I am not JSON', flush=True)\nfor _ in sys.stdin: pass\n",
    );
    // Subscribes to everything and answers each notification with a flood of messages.
    let flood = write_plugin(
        d,
        "flood.py",
        &format!(
            "{MANIFEST_LOOP}
for line in sys.stdin:
    r = json.loads(line)
    if r.get('method') == 'getmanifest':
        send({{'id': r['id'], 'result': {{'subscriptions': ['*']}}}})
    elif r.get('method') == 'init':
        send({{'id': r['id'], 'result': {{}}}})
    elif 'id' not in r:
        for i in range(5000):
            send({{'id': 1000000 + i, 'result': 'spam'}})
"
        ),
    );
    // Claims a built-in method's name.
    let clash = write_plugin(
        d,
        "clash.py",
        &format!(
            "{MANIFEST_LOOP}
for line in sys.stdin:
    r = json.loads(line)
    if r['method'] == 'getmanifest':
        send({{'id': r['id'], 'result': {{'rpcmethods': [{{'name': 'getblockcount'}}]}}}})
"
        ),
    );
    // Registers mempool_accept and never answers it.
    let hung_hook = write_plugin(
        d,
        "hunghook.py",
        &format!(
            "{MANIFEST_LOOP}
for line in sys.stdin:
    r = json.loads(line)
    if r['method'] == 'getmanifest':
        send({{'id': r['id'], 'result': {{'hooks': [{{'name': 'mempool_accept'}}], 'failure': 'open'}}}})
    elif r['method'] == 'init':
        send({{'id': r['id'], 'result': {{}}}})
"
        ),
    );
    let mut args = vec!["--plugin-timeout".to_owned(), "2".to_owned()];
    for p in [&crash, &silent, &garbage, &flood, &clash, &hung_hook] {
        args.push("--plugin".into());
        args.push(p.to_str().expect("utf-8").into());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let node = TestNode::start(&args);

    let entry = |name: &str| plugin_entry(&node, name).unwrap_or_else(|| panic!("{name} listed"));
    let failed = |name: &str, why: &str| {
        let e = entry(name);
        assert_eq!(e["status"], "failed", "{e}");
        let err = e["error"].as_str().unwrap_or("");
        assert!(err.contains(why), "{name}: {err}");
    };
    failed(
        "silent",
        "getmanifest failed: plugin \"silent\" did not answer \"getmanifest\" within 2 s",
    );
    failed("garbage", "protocol error: not JSON on stdout");
    failed(
        "clash",
        "method \"getblockcount\" clashes with a built-in RPC method",
    );
    assert_eq!(entry("crash")["status"], "running");
    assert_eq!(
        node.rpc("getblockcount", json!([])),
        0,
        "built-ins still answer"
    );

    // The crash: the pending call fails with the reason, the list says so, and the log has
    // the plugin's last words.
    let crashed_pid = entry("crash")["pid"].clone();
    assert!(crashed_pid.is_u64(), "a running plugin's pid is listed");
    let err = node.try_rpc("crashme", json!([])).expect_err("it crashed");
    assert!(
        err.message
            .contains("plugin \"crash\" is not running: exited"),
        "{err:?}"
    );
    // It is restarted: a new process, the old one's end kept as `last_error`.
    wait_until("the crashed plugin to be restarted", TIMEOUT, || {
        let e = entry("crash");
        e["status"] == "running" && e["restarts"] == 1 && e["pid"] != crashed_pid
    });
    let e = entry("crash");
    assert!(
        e["last_error"].as_str().unwrap_or("").contains("exited"),
        "{e}"
    );
    wait_until("the plugin's stderr in debug.log", TIMEOUT, || {
        node.debug_log().contains("about to crash")
    });

    // The flood: one block's notifications make it answer with thousands of messages.
    let (kp, addr) = test_keypair();
    node.generate(1, &addr);
    wait_until("the flooder to be ended", TIMEOUT, || {
        entry("flood")["last_error"]
            .as_str()
            .unwrap_or("")
            .contains("flooded stdout")
    });

    // The hung hook, which fails open: the transaction still enters the pool after the
    // timeout (continue), and the plugin is killed saying why (then restarted).
    node.generate(100, &addr);
    let (tx, hex) = spend_coinbase(coinbase_txid(&node, 1), &kp, 2);
    assert_eq!(
        node.rpc("sendrawtransaction", json!([hex])),
        tx.txid().to_string()
    );
    wait_until("the hung hook's plugin to be killed", TIMEOUT, || {
        entry("hunghook")["last_error"]
            .as_str()
            .unwrap_or("")
            .contains("did not answer \"mempool_accept\" within 2 s")
    });
    assert_eq!(entry("hunghook")["fails_closed"], false);

    // Start-time errors over RPC.
    let err = node
        .try_rpc("plugin", json!(["start", d.join("missing.py")]))
        .expect_err("no such file");
    assert!(err.message.contains("No such file"), "{err:?}");
    let text = d.join("text.py");
    std::fs::write(&text, "print(1)\n").expect("write");
    let err = node
        .try_rpc("plugin", json!(["start", text]))
        .expect_err("not executable");
    assert!(err.message.contains("not executable"), "{err:?}");
    assert_eq!(node.rpc("getblockcount", json!([])), 101);
}

#[test]
fn peer_connected_hook_refuses_peers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let gate = write_plugin(
        dir.path(),
        "gate.py",
        &format!(
            "{MANIFEST_LOOP}
for line in sys.stdin:
    r = json.loads(line)
    if r['method'] == 'getmanifest':
        send({{'id': r['id'], 'result': {{'hooks': [{{'name': 'peer_connected'}}]}}}})
    elif r['method'] == 'init':
        send({{'id': r['id'], 'result': {{}}}})
    elif r['method'] == 'peer_connected':
        p = r['params']['peer']
        send({{'id': r['id'], 'result': {{'result': 'disconnect', 'reason': 'no visitors from ' + p['user_agent']}}}})
"
        ),
    );
    let guarded = TestNode::start(&["--plugin", gate.to_str().expect("utf-8")]);
    let visitor = TestNode::start(&[]);
    let target = format!("127.0.0.1:{}", guarded.p2p_port);
    visitor.rpc("addnode", json!([target, "onetry"]));
    wait_until("the refusal to be logged", TIMEOUT, || {
        guarded
            .debug_log()
            .contains("disconnecting peer: refused by plugin gate: no visitors from")
    });
    wait_until("the refused peer to be gone", TIMEOUT, || {
        guarded.rpc("getpeerinfo", json!([])) == json!([])
    });
}

#[test]
fn websocket_follows_a_reorg_in_order_and_blocknotify_runs_per_tip() {
    let dir = tempfile::tempdir().expect("tempdir");
    let notified = dir.path().join("tips.txt");
    let cmd = format!("echo %s >> {}", notified.display());
    let a = TestNode::start(&["--blocknotify", &cmd]);
    let b = TestNode::start(&[]);
    let (_, addr_a) = test_keypair();
    let (_, addr_b) = test_keypair();

    // A shared start: two blocks of A's, given to B.
    let shared = a.generate(2, &addr_a);
    for h in &shared {
        let raw = a.rpc("getblock", json!([h.to_string(), 0]));
        assert_eq!(b.rpc("submitblock", json!([raw])), Value::Null);
    }
    let a_own = a.generate(3, &addr_a);
    let b_own = b.generate(4, &addr_b);

    // blocknotify: one line per new tip, with its hash.
    let lines = |expect: usize| {
        let mut got = Vec::new();
        wait_until("blocknotify lines", TIMEOUT, || {
            got = std::fs::read_to_string(&notified)
                .unwrap_or_default()
                .lines()
                .map(str::to_owned)
                .collect();
            got.len() >= expect
        });
        got.sort();
        got
    };
    let mut tips: Vec<String> = shared.iter().chain(&a_own).map(|h| h.to_string()).collect();
    tips.sort();
    assert_eq!(lines(5), tips);

    // No credentials, no WebSocket.
    match ws_connect(&a, None) {
        Err(tungstenite::Error::Http(resp)) => assert_eq!(resp.status(), 401),
        other => panic!("unauthenticated upgrade: {:?}", other.map(|_| ())),
    }
    let mut seq = ws_connect(&a, Some(a.cookie_auth())).expect("connect");
    let mut blocks = ws_connect(&a, Some(a.cookie_auth())).expect("connect");
    ws_subscribe(&mut seq, "subscribe_sequence");
    ws_subscribe(&mut blocks, "subscribe_blocks");

    // B's longer branch reaches A: A leaves its three blocks for B's four.
    a.rpc(
        "addnode",
        json!([format!("127.0.0.1:{}", b.p2p_port), "onetry"]),
    );
    let mut got = Vec::new();
    for _ in 0..7 {
        let n = ws_next(&mut seq);
        assert_eq!(n["method"], "sequence", "{n}");
        let item = &n["params"]["result"];
        got.push((
            item["type"].as_str().expect("type").to_owned(),
            item["hash"].as_str().expect("hash").to_owned(),
            item["height"].as_u64().expect("height"),
            item["seq"].as_u64().expect("seq"),
        ));
    }
    let mut want = Vec::new();
    for (i, h) in a_own.iter().enumerate().rev() {
        want.push(("block_disconnected".to_owned(), h.to_string(), 3 + i as u64));
    }
    for (i, h) in b_own.iter().enumerate() {
        want.push(("block_connected".to_owned(), h.to_string(), 3 + i as u64));
    }
    let got_plain: Vec<_> = got
        .iter()
        .map(|(l, h, height, _)| (l.clone(), h.clone(), *height))
        .collect();
    assert_eq!(got_plain, want);
    assert_eq!(
        got.iter().map(|g| g.3).collect::<Vec<_>>(),
        (0..7).collect::<Vec<_>>()
    );
    let tip = ws_next(&mut blocks);
    let item = &tip["params"]["result"];
    assert_eq!(item["hash"], b_own[3].to_string(), "{tip}");
    assert_eq!(item["reorg"]["depth"], 3, "{tip}");
    assert_eq!(item["reorg"]["fork_point"], shared[1].to_string(), "{tip}");

    // The reorg was one new tip: one more blocknotify line, B's tip.
    tips.push(b_own[3].to_string());
    tips.sort();
    assert_eq!(lines(6), tips);
    assert_eq!(
        a.rpc("getbestblockhash", json!([])),
        b_own[3].to_string(),
        "both sides agree"
    );
}

/// `getrawmempool false true` and `subscribe_sequence` share Bitcoin Core's mempool
/// sequence: a client that subscribes, then takes the list, drops the events numbered below
/// the list's number and applies the rest, holds the pool exactly, with no gap and no
/// double.
#[test]
fn the_mempool_sequence_joins_the_pool_list_to_the_event_stream() {
    let node = TestNode::start(&[]);
    let (kp, addr) = test_keypair();
    node.generate(110, &addr);
    let mut ws = ws_connect(&node, Some(node.cookie_auth())).expect("connect");
    ws_subscribe(&mut ws, "subscribe_sequence");
    // The next sequence item (blocks carry no mempool number).
    let mut next = || {
        let n = ws_next(&mut ws);
        assert_eq!(n["method"], "sequence", "{n}");
        n["params"]["result"].clone()
    };

    assert_eq!(
        node.rpc("getrawmempool", json!([false, true])),
        json!({"txids": [], "mempool_sequence": 1}),
        "an empty pool at Core's first number"
    );
    let err = node
        .try_rpc("getrawmempool", json!([true, true]))
        .expect_err("verbose entries carry no sequence");
    assert_eq!(err.code, -8, "{err:?}");
    assert!(
        err.message.contains("cannot contain mempool sequence"),
        "{err:?}"
    );
    let err = node
        .try_rpc("getrawmempool", json!([false, "yes"]))
        .expect_err("not a bool");
    assert_eq!(err.code, -3, "{err:?}");

    let send = |height: u64| {
        let (tx, hex) = spend_coinbase(coinbase_txid(&node, height), &kp, 2);
        node.rpc("sendrawtransaction", json!([hex]));
        tx.txid().to_string()
    };
    let first = send(1);
    let list = node.rpc("getrawmempool", json!([false, true]));
    assert_eq!(list["txids"], json!([first]));
    assert_eq!(list["mempool_sequence"], 2);
    let second = send(2);

    // The client's side: the list, then every event numbered at or past it.
    let mut pool: Vec<String> = vec![first.clone()];
    let since = list["mempool_sequence"].as_u64().expect("number");
    for want in [(&first, 1), (&second, 2)] {
        let item = next();
        assert_eq!(item["type"], "tx_accepted", "{item}");
        assert_eq!(
            (
                item["txid"].as_str().expect("txid"),
                item["mempool_sequence"].as_u64()
            ),
            (want.0.as_str(), Some(want.1)),
            "{item}"
        );
        if want.1 >= since {
            pool.push(item["txid"].as_str().expect("txid").to_owned());
        }
    }
    let mut now: Vec<String> =
        serde_json::from_value(node.rpc("getrawmempool", json!([]))).expect("txids");
    now.sort();
    pool.sort();
    assert_eq!(pool, now, "the list plus the newer events is the pool");

    // A block confirms both: a `block_connected` and no `tx_removed`, but the two removals
    // take numbers 3 and 4, as in Core, so the next addition is 5.
    let block = node.generate(1, &addr)[0].to_string();
    let item = next();
    assert_eq!(
        (item["type"].as_str(), item["hash"].as_str()),
        (Some("block_connected"), Some(block.as_str()))
    );
    let third = send(3);
    let item = next();
    assert_eq!(
        (
            item["type"].as_str(),
            item["txid"].as_str(),
            item["mempool_sequence"].as_u64()
        ),
        (Some("tx_accepted"), Some(third.as_str()), Some(5)),
        "{item}"
    );
    assert_eq!(
        node.rpc("getrawmempool", json!([false, true])),
        json!({"txids": [third], "mempool_sequence": 6})
    );
}

/// Whether process `pid` still runs (a zombie waiting for its reaper counts as gone).
fn process_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the command name in parentheses.
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| !rest.starts_with('Z') && !rest.starts_with('X')),
        Err(_) => false,
    }
}

/// A plugin runs in a process group of its own: what it started ends with it, whether it
/// is stopped or crashes.
#[test]
fn what_a_plugin_starts_ends_with_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let parent = |name: &str| {
        let pidfile = d.join(format!("{name}.child"));
        let path = write_plugin(
            d,
            &format!("{name}.py"),
            &format!(
                "{MANIFEST_LOOP}
import subprocess
for line in sys.stdin:
    r = json.loads(line)
    if r['method'] == 'getmanifest':
        send({{'id': r['id'], 'result': {{'rpcmethods': [{{'name': '{name}_crash'}}]}}}})
    elif r['method'] == 'init':
        child = subprocess.Popen(['sleep', '300'])
        open({pidfile:?}, 'w').write(str(child.pid))
        send({{'id': r['id'], 'result': {{}}}})
    elif r['method'] == '{name}_crash':
        sys.exit(3)
"
            ),
        );
        (path, pidfile)
    };
    let (stopped, stopped_pidfile) = parent("stopped");
    let (crashing, crashing_pidfile) = parent("crashing");
    let node = TestNode::start(&[
        "--plugin",
        stopped.to_str().expect("utf-8"),
        "--plugin",
        crashing.to_str().expect("utf-8"),
    ]);
    let child_of = |pidfile: &Path| -> u32 {
        let mut pid = 0;
        wait_until("the plugin's child started", TIMEOUT, || {
            pid = std::fs::read_to_string(pidfile)
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or(0);
            pid != 0
        });
        assert!(process_alive(pid), "child {pid} runs");
        pid
    };
    let stopped_child = child_of(&stopped_pidfile);
    let crashing_child = child_of(&crashing_pidfile);

    node.rpc("plugin", json!(["stop", "stopped"]));
    wait_until("a stopped plugin's child ends", TIMEOUT, || {
        !process_alive(stopped_child)
    });

    let err = node
        .try_rpc("crashing_crash", json!([]))
        .expect_err("the plugin exits instead of answering");
    assert!(!err.message.is_empty(), "{err:?}");
    wait_until("a crashed plugin's child ends", TIMEOUT, || {
        !process_alive(crashing_child)
    });
    assert_eq!(node.rpc("getblockcount", json!([])), 0, "the node runs on");
}

/// A `mempool_accept` plugin driven by files in `dir`: it appends each txid it is asked
/// about to `calls`, refuses the txids listed in `refuse` (`*`: all), holds its answer
/// while `hold` exists until `release` appears (writing `pending` first and `answered`
/// after), exits in `init` while `down` exists, and exits when `NAME_crash` is called.
/// It declares no `failure`, so it fails closed.
const POLICY_PLUGIN: &str = r#"
import json, os, sys, time
def send(m):
    sys.stdout.write(json.dumps(dict(m, jsonrpc="2.0")) + "\n"); sys.stdout.flush()
D = @DIR@
def path(n): return os.path.join(D, n)
def has(n): return os.path.exists(path(n))
for line in sys.stdin:
    r = json.loads(line)
    m = r.get('method')
    if m == 'getmanifest':
        send({'id': r['id'], 'result': {'rpcmethods': [{'name': '@NAME@_crash'}],
                                        'hooks': [{'name': 'mempool_accept'}]}})
    elif m == 'init':
        if has('down'):
            sys.exit(1)
        send({'id': r['id'], 'result': {}})
    elif m == '@NAME@_crash':
        sys.exit(3)
    elif m == 'mempool_accept':
        txid = r['params']['tx']['txid']
        with open(path('calls'), 'a') as f:
            f.write(txid + '\n')
        held = has('hold')
        if held:
            open(path('pending'), 'w').write(txid)
            deadline = time.time() + 150
            while not has('release') and time.time() < deadline:
                time.sleep(0.05)
        refuse = open(path('refuse')).read().split() if has('refuse') else []
        if '*' in refuse or txid in refuse:
            send({'id': r['id'], 'result': {'result': 'reject', 'reason': 'on the refuse list'}})
        else:
            send({'id': r['id'], 'result': {'result': 'continue'}})
        if held:
            open(path('answered'), 'w').write(txid)
"#;

/// Writes [`POLICY_PLUGIN`] as `NAME.py` working on files in `dir`.
fn policy_plugin(dir: &Path, name: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let body = POLICY_PLUGIN
        .replace("@DIR@", &format!("{:?}", dir.to_str().expect("utf-8")))
        .replace("@NAME@", name);
    let path = dir.join(format!("{name}.py"));
    std::fs::write(&path, format!("#!/usr/bin/env python3\n{body}")).expect("write plugin");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path
}

/// The txids the policy plugin in `dir` was asked about, in order.
fn hook_calls(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("calls"))
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn mempool(node: &TestNode) -> Vec<String> {
    serde_json::from_value(node.rpc("getrawmempool", json!([]))).expect("txids")
}

fn height(node: &TestNode) -> u64 {
    node.rpc("getblockcount", json!([]))
        .as_u64()
        .expect("height")
}

/// The hook waits (here until the test releases it, longer than the whole wait below),
/// yet the block that confirms the very transaction it is deciding on — sent by the same
/// peer, after it — is connected meanwhile: the peer's transactions wait for hooks in a
/// task of their own, and the chain writer never waits on a hook.
#[test]
fn a_slow_mempool_accept_hook_does_not_delay_blocks_from_the_peer() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let plugin = policy_plugin(d, "slow");
    let a = TestNode::start(&[
        "--plugin",
        plugin.to_str().expect("utf-8"),
        "--plugin-timeout",
        "300",
    ]);
    let b = TestNode::start(&["--addnode", &format!("127.0.0.1:{}", a.p2p_port)]);
    let (kp, addr) = test_keypair();
    b.generate(101, &addr);
    wait_until("A to sync B's chain", TIMEOUT, || height(&a) == 101);

    std::fs::write(d.join("hold"), "").expect("hold");
    let (tx, hex) = spend_coinbase(coinbase_txid(&b, 1), &kp, 2);
    b.rpc("sendrawtransaction", json!([hex]));
    wait_until(
        "A's hook to be deciding on B's transaction",
        TIMEOUT,
        || std::fs::read_to_string(d.join("pending")).is_ok_and(|t| t == tx.txid().to_string()),
    );
    let block = b.generate(1, &addr);
    wait_until(
        "A to connect B's block while the hook decides",
        TIMEOUT,
        || height(&a) == 102,
    );
    assert_eq!(a.rpc("getbestblockhash", json!([])), block[0].to_string());
    assert!(
        !d.join("answered").exists(),
        "the block was connected while the hook was still deciding"
    );

    std::fs::write(d.join("release"), "").expect("release");
    wait_until("the hook to answer", TIMEOUT, || {
        d.join("answered").exists()
    });
    // Answered `continue`, but the transaction is in the chain by now: not in the pool.
    wait_until("A to settle", TIMEOUT, || mempool(&a).is_empty());
    assert_eq!(hook_calls(d), vec![tx.txid().to_string()]);
    assert_eq!(height(&a), 102);
}

/// A plugin with a `mempool_accept` hook fails closed: while it is down (crashed, and its
/// restarts failing) transactions are refused naming it; once it is back (a new process)
/// it decides again.
#[test]
fn a_fail_closed_plugin_refuses_while_down_and_is_restarted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let plugin = policy_plugin(d, "guard");
    let node = TestNode::start(&["--plugin", plugin.to_str().expect("utf-8")]);
    let (kp, addr) = test_keypair();
    node.generate(102, &addr);
    let entry = || plugin_entry(&node, "guard").expect("listed");
    assert_eq!(entry()["fails_closed"], true, "{}", entry());
    let first_pid = entry()["pid"].as_u64().expect("pid");

    let (tx1, hex1) = spend_coinbase(coinbase_txid(&node, 1), &kp, 2);
    assert_eq!(
        node.rpc("sendrawtransaction", json!([hex1])),
        tx1.txid().to_string()
    );

    // Down, and kept down: its restarts exit in init while `down` exists.
    std::fs::write(d.join("down"), "").expect("down");
    node.try_rpc("guard_crash", json!([]))
        .expect_err("it exits instead of answering");
    let (tx2, hex2) = spend_coinbase(coinbase_txid(&node, 2), &kp, 2);
    let err = node
        .try_rpc("sendrawtransaction", json!([hex2]))
        .expect_err("refused while the plugin is down");
    assert!(err.message.contains("plugin-policy"), "{err:?}");
    assert!(err.message.contains("(plugin guard)"), "{err:?}");
    assert!(err.message.contains("fails closed"), "{err:?}");
    assert_eq!(mempool(&node), vec![tx1.txid().to_string()]);
    let e = entry();
    assert_eq!(e["status"], "restarting", "{e}");
    assert!(
        e["last_error"].as_str().unwrap_or("").contains("exited"),
        "{e}"
    );
    wait_until("a failed restart to be recorded", TIMEOUT, || {
        entry()["last_error"]
            .as_str()
            .unwrap_or("")
            .contains("restart failed")
    });

    std::fs::remove_file(d.join("down")).expect("up again");
    wait_until("the plugin to be restarted", TIMEOUT, || {
        let e = entry();
        e["status"] == "running" && e["pid"].as_u64().is_some_and(|p| p != first_pid)
    });
    assert!(entry()["restarts"].as_u64().expect("restarts") >= 1);
    assert_eq!(
        node.rpc("sendrawtransaction", json!([hex2])),
        tx2.txid().to_string(),
        "the restarted plugin decides again"
    );
    assert_eq!(
        hook_calls(d),
        vec![tx1.txid().to_string(), tx2.txid().to_string()]
    );
}

/// 200 MiB on stdout without a newline: the node reads at most one message's worth, then
/// kills the plugin with everything it started, and goes on; the plugin is restarted.
#[test]
fn a_plugin_writing_200_mib_without_a_newline_is_stopped_with_its_children() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let children = d.join("children");
    let flood = write_plugin(
        d,
        "endless.py",
        &format!(
            "{MANIFEST_LOOP}
import subprocess, time
for line in sys.stdin:
    r = json.loads(line)
    if r['method'] == 'getmanifest':
        send({{'id': r['id'], 'result': {{'rpcmethods': [{{'name': 'endless_line'}}]}}}})
    elif r['method'] == 'init':
        child = subprocess.Popen(['sleep', '300'])
        with open({children:?}, 'a') as f:
            f.write(str(child.pid) + '\\n')
        send({{'id': r['id'], 'result': {{}}}})
    elif r['method'] == 'endless_line':
        chunk = 'x' * (1 << 20)
        for _ in range(200):
            sys.stdout.write(chunk)
        sys.stdout.flush()
        time.sleep(300)
"
        ),
    );
    let node = TestNode::start(&["--plugin", flood.to_str().expect("utf-8")]);
    let pids = || -> Vec<u32> {
        std::fs::read_to_string(&children)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect()
    };
    let child = pids()[0];
    assert!(process_alive(child), "its child runs");
    let rss_before = dotcoin_functional_tests::rawpeer::rss_kb(node.pid());

    let err = node
        .try_rpc("endless_line", json!([]))
        .expect_err("the plugin is killed instead");
    assert!(err.message.contains("longer than"), "{err:?}");
    wait_until("the plugin's child to end with it", TIMEOUT, || {
        !process_alive(child)
    });
    assert_eq!(height(&node), 0, "the node answers");
    let (_, addr) = test_keypair();
    node.generate(1, &addr);
    assert_eq!(height(&node), 1, "and mines");
    // One line's worth was held at most, not the 200 MiB.
    let rss_after = dotcoin_functional_tests::rawpeer::rss_kb(node.pid());
    assert!(
        rss_after < rss_before + 100 * 1024,
        "{rss_before} kB -> {rss_after} kB"
    );
    wait_until("the plugin to be restarted", TIMEOUT, || {
        let e = plugin_entry(&node, "endless").expect("listed");
        e["status"] == "running" && e["restarts"] == 1
    });
    let e = plugin_entry(&node, "endless").expect("listed");
    assert!(
        e["last_error"]
            .as_str()
            .unwrap_or("")
            .contains("longer than"),
        "{e}"
    );
}

/// A peer sending a transaction a plugin refused, again and again: one hook call, then
/// answers from the reject filter and misbehaviour points until it is banned.
#[test]
fn a_refused_transaction_resent_by_a_peer_costs_one_hook_call_and_a_ban() {
    use dotcoin_functional_tests::rawpeer;
    use std::io::Write;
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    std::fs::write(d.join("refuse"), "*").expect("refuse all");
    let plugin = policy_plugin(d, "wall");
    let node = TestNode::start(&["--plugin", plugin.to_str().expect("utf-8")]);
    let (kp, addr) = test_keypair();
    node.generate(101, &addr);
    let (tx, _) = spend_coinbase(coinbase_txid(&node, 1), &kp, 2);
    let frame = rawpeer::regtest_frame("tx", &serialize(&tx));

    let mut peer = rawpeer::handshake(&node);
    peer.write_all(&frame).expect("send the transaction");
    wait_until("the hook to be asked", TIMEOUT, || hook_calls(d).len() == 1);
    let mut sent = 1;
    while sent < 1000 && peer.write_all(&frame).is_ok() {
        sent += 1;
    }
    rawpeer::expect_disconnect(&mut peer);
    assert_eq!(
        hook_calls(d),
        vec![tx.txid().to_string()],
        "{sent} sends, one hook call"
    );
    assert!(mempool(&node).is_empty());
    let banned = node.rpc("listbanned", json!([])).to_string();
    assert!(banned.contains("127.0.0.1"), "{banned}");
    wait_until("the misbehaviour to be logged", TIMEOUT, || {
        node.debug_log()
            .contains("refused by a plugin, sent again unasked")
    });
}

/// Transactions a reorg returns to the pool go through the hooks: the writer re-adds them
/// and the refused ones leave again; the others stay.
#[test]
fn a_reorg_readd_goes_through_the_hook() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let plugin = policy_plugin(d, "readd");
    let node = TestNode::start(&["--plugin", plugin.to_str().expect("utf-8")]);
    let (kp, addr) = test_keypair();
    node.generate(102, &addr);
    let (refused, hex_r) = spend_coinbase(coinbase_txid(&node, 1), &kp, 2);
    let (kept, hex_k) = spend_coinbase(coinbase_txid(&node, 2), &kp, 2);
    node.rpc("sendrawtransaction", json!([hex_r]));
    node.rpc("sendrawtransaction", json!([hex_k]));
    let block = node.generate(1, &addr);
    assert!(mempool(&node).is_empty(), "both confirmed");

    // The policy changes; then the block is disconnected.
    std::fs::write(d.join("refuse"), refused.txid().to_string()).expect("refuse");
    node.rpc("invalidateblock", json!([block[0].to_string()]));
    let (r, k) = (refused.txid().to_string(), kept.txid().to_string());
    wait_until("both to be asked about again", TIMEOUT, || {
        let calls = hook_calls(d);
        calls.iter().filter(|t| **t == r).count() == 2
            && calls.iter().filter(|t| **t == k).count() == 2
    });
    wait_until("the refused one to leave the pool", TIMEOUT, || {
        mempool(&node) == vec![k.clone()]
    });
    assert_eq!(height(&node), 102);
}
