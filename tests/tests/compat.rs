//! Bitcoin Core compatibility of a real `dotcoind`: the JSON-RPC wire format in both
//! dialects (legacy 1.0/1.1 and strict 2.0) with Core's HTTP statuses, batches element
//! by element, parameter checks, amounts with 8 decimals and Core-style help.

use dotcoin_common::sighash::signing::{pubkey_of, sign_transaction};
use dotcoin_common::{serialize, Amount, OutPoint, Transaction, TxIn, TxOut};
use dotcoin_functional_tests::{test_keypair, TestNode};
use serde_json::{json, Value};

fn post(node: &TestNode, body: &str) -> (u16, String, Value) {
    let (status, text) = node.http_post(body, Some(&node.cookie_auth()));
    let value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("bad JSON ({e}): {text}"))
    };
    (status, text, value)
}

#[test]
fn wire_format_follows_core_in_both_dialects() {
    let node = TestNode::start(&[]);

    // Legacy (1.0, 1.1, or no version): both result and error, HTTP 200 on success.
    for body in [
        r#"{"jsonrpc":"1.0","id":"x","method":"getblockcount","params":[]}"#,
        r#"{"version":"1.1","id":"x","method":"getblockcount","params":[]}"#,
        r#"{"id":"x","method":"getblockcount"}"#,
    ] {
        let (status, text, v) = post(&node, body);
        assert_eq!(status, 200, "{text}");
        assert_eq!(v, json!({"result": 0, "error": null, "id": "x"}), "{body}");
        assert!(v.get("jsonrpc").is_none(), "{text}");
    }
    // A legacy request without id is answered, with id null.
    let (status, _, v) = post(&node, r#"{"method":"getblockcount","params":[]}"#);
    assert_eq!(status, 200);
    assert_eq!(v, json!({"result": 0, "error": null, "id": null}));
    // Any JSON id comes back as sent.
    let (_, _, v) = post(&node, r#"{"id":{"n":[1]},"method":"getblockcount"}"#);
    assert_eq!(v["id"], json!({"n": [1]}));
    // Legacy errors: HTTP 500, result null; an unknown method is 404.
    let (status, _, v) = post(&node, r#"{"id":1,"method":"getblockhash","params":[1000]}"#);
    assert_eq!(status, 500);
    assert_eq!(v["result"], Value::Null);
    assert_eq!(v["error"]["code"], -8);
    let (status, _, v) = post(&node, r#"{"id":1,"method":"nosuchmethod","params":[]}"#);
    assert_eq!(status, 404);
    assert_eq!(v["error"]["code"], -32601);
    // A wallet call asked of the node points to the wallet program.
    let (status, _, v) = post(&node, r#"{"id":1,"method":"getnewaddress","params":[]}"#);
    assert_eq!(status, 404);
    assert_eq!(v["error"]["code"], -32601);
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("dotcoin-wallet")),
        "{v}"
    );
    // Unparseable body: Core's parse error, HTTP 500.
    let (status, _, v) = post(&node, "{not json");
    assert_eq!(status, 500);
    assert_eq!(v["error"]["code"], -32700);

    // 2.0: only one of result and error, always HTTP 200.
    let (status, text, v) = post(
        &node,
        r#"{"jsonrpc":"2.0","id":7,"method":"getblockcount","params":[]}"#,
    );
    assert_eq!(status, 200);
    assert_eq!(v, json!({"jsonrpc": "2.0", "result": 0, "id": 7}), "{text}");
    let (status, _, v) = post(
        &node,
        r#"{"jsonrpc":"2.0","id":7,"method":"getblockhash","params":[1000]}"#,
    );
    assert_eq!(status, 200);
    assert!(v.get("result").is_none(), "{v}");
    assert_eq!(v["error"]["code"], -8);
    let (status, _, v) = post(&node, r#"{"jsonrpc":"2.0","id":7,"method":"nosuchmethod"}"#);
    assert_eq!(status, 200);
    assert_eq!(v["error"]["code"], -32601);
    // A 2.0 request without id is a notification: no reply.
    let (status, text, _) = post(&node, r#"{"jsonrpc":"2.0","method":"getblockcount"}"#);
    assert_eq!((status, text.as_str()), (204, ""));

    // A batch: each element in its own dialect, notifications left out, HTTP 200.
    let (status, text, v) = post(
        &node,
        r#"[{"id":1,"method":"getblockcount"},
            {"jsonrpc":"2.0","id":2,"method":"getblockhash","params":[1000]},
            {"jsonrpc":"2.0","method":"getblockcount"},
            {"jsonrpc":"1.0","id":4,"method":"nosuchmethod"},
            5]"#,
    );
    assert_eq!(status, 200, "{text}");
    let replies = v.as_array().expect("a batch reply is an array");
    assert_eq!(replies.len(), 4, "{text}");
    assert_eq!(replies[0], json!({"result": 0, "error": null, "id": 1}));
    assert_eq!(replies[1]["jsonrpc"], "2.0");
    assert_eq!(replies[1]["error"]["code"], -8);
    assert!(replies[1].get("result").is_none());
    assert_eq!(replies[2]["id"], 4);
    assert_eq!(replies[2]["error"]["code"], -32601);
    assert_eq!(replies[2]["result"], Value::Null);
    assert_eq!(replies[3]["error"]["code"], -32600, "not an object: {text}");
    // A batch of notifications only: no content.
    let (status, _, _) = post(&node, r#"[{"jsonrpc":"2.0","method":"getblockcount"}]"#);
    assert_eq!(status, 204);
}

#[test]
fn every_wallet_method_asked_of_the_node_points_to_the_wallet_service() {
    let node = TestNode::start(&[]);
    let pointed = |v: &Value| {
        v["error"]["code"] == -32601
            && v["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("dotcoin-wallet serve"))
    };
    let mut failures = Vec::new();
    // Every wallet call the wallet service offers, and Core's others, which it does not.
    for method in dotcoin_rpc_client::WALLET_METHODS
        .iter()
        .chain(dotcoin_rpc_client::CORE_WALLET_METHODS)
    {
        let legacy = json!({"id": 1, "method": method, "params": []}).to_string();
        let (status, text, v) = post(&node, &legacy);
        if status != 404 || !pointed(&v) {
            failures.push(format!("legacy {method}: {status} {text}"));
        }
        let v2 = json!({"jsonrpc": "2.0", "id": 1, "method": method}).to_string();
        let (status, text, v) = post(&node, &v2);
        if status != 200 || !pointed(&v) {
            failures.push(format!("2.0 {method}: {status} {text}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The calls that were once answered with a bare "Method not found".
    for method in [
        "walletlock",
        "walletpassphrasechange",
        "importdescriptors",
        "keypoolrefill",
        "listdescriptors",
        "walletcreatefundedpsbt",
    ] {
        assert!(
            dotcoin_rpc_client::CORE_WALLET_METHODS.contains(&method),
            "{method}"
        );
    }
    // Every call the wallet service offers is one of Core's, so the node's pointer and a
    // Core user's expectation agree.
    for method in dotcoin_rpc_client::WALLET_METHODS {
        assert!(
            dotcoin_rpc_client::CORE_WALLET_METHODS.contains(method),
            "{method}"
        );
    }
    // A name that is no wallet call still gets the bare answer.
    let (_, _, v) = post(&node, r#"{"id":1,"method":"nosuchmethod"}"#);
    assert_eq!(v["error"]["message"], "Method not found");
}

#[test]
fn a_million_call_batch_is_refused_at_the_limit() {
    let node = TestNode::start(&[]);
    // A million calls: refused at the limit, without reading them all into a tree.
    let body = format!("[{}{{}}]", "{},".repeat(999_999));
    let (status, _, v) = post(&node, &body);
    assert_eq!(status, 200);
    assert_eq!(v["error"]["code"], -32010, "{v}");
    // The node answers as before.
    let (_, _, v) = post(&node, r#"{"id":1,"method":"getblockcount"}"#);
    assert_eq!(v["result"], 0);
}

#[test]
fn surplus_and_unknown_parameters_are_refused() {
    let node = TestNode::start(&[]);
    let (status, _, v) = post(
        &node,
        r#"{"id":1,"method":"getblockhash","params":[0,"surplus"]}"#,
    );
    assert_eq!(status, 500);
    assert_eq!(v["error"]["code"], -8, "{v}");
    let message = v["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("\"surplus\""), "{message}");
    let (_, _, v) = post(&node, r#"{"id":1,"method":"getblockcount","params":[1]}"#);
    assert_eq!(v["error"]["code"], -8, "a method without parameters: {v}");
    let (_, _, v) = post(
        &node,
        r#"{"id":1,"method":"getblockhash","params":{"height":0,"hieght":1}}"#,
    );
    assert_eq!(v["error"]["code"], -8);
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("Unknown named parameter hieght")),
        "{v}"
    );
    // Named parameters by Core's names, in any order; gaps take the default.
    let (_, _, genesis) = post(
        &node,
        r#"{"id":1,"method":"getblockhash","params":{"height":0}}"#,
    );
    let hash = genesis["result"].as_str().expect("a hash").to_owned();
    let (_, _, v) = post(
        &node,
        &json!({"id": 1, "method": "getblock", "params": {"verbosity": 0, "blockhash": hash}})
            .to_string(),
    );
    assert!(v["result"].is_string(), "verbosity 0 is hex: {v}");
    // The same through the CLI's -named.
    let out = node.cli_ok(&[
        "-named",
        "getblock",
        &format!("blockhash={hash}"),
        "verbosity=1",
    ]);
    assert!(out.contains("\"nTx\": 1"), "{out}");
    let out = node.cli(&["-named", "getblockhash", "height=0", "nosuch=1"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("error code: -8") && err.contains("nosuch"),
        "{err}"
    );
    // Type errors say the expected type.
    let out = node.cli(&["getblockhash", "\"zero\""]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("error code: -3") && err.contains("number"),
        "{err}"
    );
}

/// Whether `text` holds a JSON number in exponent form (`5.84e-6`) outside strings.
/// `difficulty` is left out: it is a float in Core too (`4.656542373906925e-10`), not an
/// amount.
fn has_exponent_number(text: &str) -> bool {
    let mut in_string = false;
    let mut escaped = false;
    let mut prev_digit = false;
    let mut last_string = String::new();
    let mut current = String::new();
    for c in text.chars() {
        if in_string {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => {
                    in_string = false;
                    last_string = std::mem::take(&mut current);
                }
                c => current.push(c),
            }
            continue;
        }
        if c == '"' {
            in_string = true;
        } else if (c == 'e' || c == 'E') && prev_digit && last_string != "difficulty" {
            return true;
        }
        prev_digit = c.is_ascii_digit() || (prev_digit && c == '.');
    }
    false
}

#[test]
fn amounts_print_with_eight_decimals_never_in_exponent_form() {
    let node = TestNode::start(&[]);
    let (kp, addr) = test_keypair();
    let hashes = node.generate(101, &addr);
    let first = hashes[0].to_string();
    let (_, text, block) = post(
        &node,
        &json!({"id": 1, "method": "getblock", "params": [first, 2]}).to_string(),
    );
    let cb_txid = block["result"]["tx"][0]["txid"]
        .as_str()
        .expect("coinbase txid")
        .to_owned();
    assert!(text.contains("\"value\":50.00000000"), "{text}");

    // Spend the first coinbase paying a fee of 584 base units: 5.84e-6 as a float.
    let (_, other) = test_keypair();
    let other = dotcoin_common::Address::parse_for(&other, dotcoin_common::Network::Regtest)
        .expect("an address we made")
        .pubkey;
    let mut tx = Transaction {
        version: 1,
        inputs: vec![TxIn {
            prevout: OutPoint {
                txid: cb_txid.parse().expect("txid"),
                vout: 0,
            },
            witness: vec![],
        }],
        outputs: vec![TxOut {
            value: Amount::from_sat(50 * 100_000_000 - 584),
            pubkey: other,
        }],
        lock_time: 0,
    };
    let spent = TxOut {
        value: Amount::from_dot(50),
        pubkey: pubkey_of(&kp),
    };
    sign_transaction(&mut tx, &[spent], std::slice::from_ref(&kp)).expect("signs");
    let txid = node.rpc("sendrawtransaction", json!([hex::encode(serialize(&tx))]));
    let txid = txid.as_str().expect("txid");

    for (method, params) in [
        ("getmempoolentry", json!([txid])),
        ("getrawmempool", json!([true])),
        ("getmempoolinfo", json!([])),
        ("getnetworkinfo", json!([])),
        ("gettxoutsetinfo", json!([])),
        ("getrawtransaction", json!([txid, 1])),
        ("decoderawtransaction", json!([hex::encode(serialize(&tx))])),
        ("getrawtransaction", json!([txid, 2])),
        ("getblock", json!([first, 2])),
        ("scantxoutset", json!(["start", [format!("addr({addr})")]])),
        ("getblocktemplate", json!([])),
    ] {
        for dialect in [json!("1.0"), json!("2.0")] {
            let body = json!({"jsonrpc": dialect, "id": 1, "method": method, "params": params});
            let (status, text, _) = post(&node, &body.to_string());
            assert_eq!(status, 200, "{method}: {text}");
            assert!(!has_exponent_number(&text), "{method}: {text}");
        }
    }
    let (_, entry, _) = post(
        &node,
        &json!({"id": 1, "method": "getmempoolentry", "params": [txid]}).to_string(),
    );
    assert!(entry.contains("\"fee\":0.00000584"), "{entry}");
    let (_, info, _) = post(&node, r#"{"id":1,"method":"getmempoolinfo"}"#);
    assert!(info.contains("\"minrelaytxfee\":0.00001000"), "{info}");
    // The CLI prints the node's numbers as they came.
    let out = node.cli_ok(&["getmempoolentry", txid]);
    assert!(out.contains("\"fee\": 0.00000584"), "{out}");
    assert!(!has_exponent_number(&out), "{out}");
}

#[test]
fn help_is_core_style_for_every_method() {
    let node = TestNode::start(&[]);
    let overview = node.cli_ok(&["help"]);
    assert!(overview.contains("== Blockchain =="), "{overview}");
    let methods: Vec<&str> = overview
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with("=="))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(methods.len() > 40, "{overview}");
    for method in methods {
        let text = node.cli_ok(&["help", method]);
        assert!(text.starts_with(method), "{method}: {text}");
        for section in ["Result:", "Examples:", "> dotcoin-cli ", "> curl "] {
            assert!(
                text.contains(section),
                "help {method} lacks {section}:\n{text}"
            );
        }
    }
    let text = node.cli_ok(&["help", "getblock"]);
    assert!(text.contains("Arguments:\n1. blockhash"), "{text}");
    assert!(text.contains("optional, default=1"), "{text}");
}

#[test]
fn exponent_detector_sees_floats_only_outside_strings() {
    assert!(has_exponent_number(r#"{"fee":5.84e-6}"#));
    assert!(has_exponent_number("[1E5]"));
    assert!(!has_exponent_number(r#"{"fee":0.00000584,"hex":"1e5"}"#));
    assert!(!has_exponent_number(r#"{"chainwork":"00e1"}"#));
    assert!(!has_exponent_number(r#"{"difficulty":4.6e-10}"#));
    assert!(has_exponent_number(r#"{"difficulty":1,"fee":1e-5}"#));
}

fn connections(n: &TestNode) -> u64 {
    n.rpc("getconnectioncount", json!([]))
        .as_u64()
        .expect("a count")
}

fn best(n: &TestNode) -> Value {
    n.rpc("getbestblockhash", json!([]))
}

/// Mines one block on `from` and waits until `to` has it: a full round of relay, long
/// enough for each node's connection keeper (which dials learnt addresses) to run often.
fn relay_round(from: &TestNode, to: &TestNode, address: &str) {
    let hash = from.generate(1, address)[0].to_string();
    dotcoin_functional_tests::wait_until(
        "the block to cross the link",
        dotcoin_functional_tests::TIMEOUT,
        || best(to) == json!(hash),
    );
}

#[test]
fn one_addnode_gives_one_link_and_nodes_split_and_join_by_commands() {
    use dotcoin_functional_tests::{wait_until, TIMEOUT};
    // Default outbound slots: each node may dial the addresses it learns, which is how a
    // second link used to appear (B dialling back the A that had dialled it).
    let a = TestNode::start(&[]);
    let b = TestNode::start(&[]);
    let (_, address) = test_keypair();
    let b_addr = format!("127.0.0.1:{}", b.p2p_port);
    let a_addr = format!("127.0.0.1:{}", a.p2p_port);
    a.rpc("addnode", json!([b_addr, "add"]));
    wait_until("A and B to connect", TIMEOUT, || {
        connections(&a) == 1 && connections(&b) == 1
    });
    for _ in 0..3 {
        relay_round(&a, &b, &address);
        relay_round(&b, &a, &address);
    }
    assert_eq!((connections(&a), connections(&b)), (1, 1), "one link each");
    // Adding the other direction too finds the link already there.
    b.rpc("addnode", json!([a_addr, "add"]));
    wait_until("B to see A as connected", TIMEOUT, || {
        b.rpc("getaddednodeinfo", json!([a_addr]))[0]["connected"] == json!(true)
    });
    relay_round(&a, &b, &address);
    assert_eq!(
        (connections(&a), connections(&b)),
        (1, 1),
        "still one link each"
    );
}

#[test]
fn nodes_split_and_join_by_the_documented_commands() {
    use dotcoin_functional_tests::{wait_until, TIMEOUT};
    // Nodes that dial only what they are told to (docs/rpc.md: "Splitting and joining nodes").
    let a = TestNode::start(&["--maxoutbound", "0"]);
    let b = TestNode::start(&["--maxoutbound", "0"]);
    let (_, address) = test_keypair();
    let b_addr = format!("127.0.0.1:{}", b.p2p_port);
    let a_addr = format!("127.0.0.1:{}", a.p2p_port);
    a.rpc("addnode", json!([b_addr, "add"]));
    b.rpc("addnode", json!([a_addr, "add"]));
    wait_until("A and B to connect", TIMEOUT, || {
        connections(&a) == 1 && connections(&b) == 1
    });
    relay_round(&a, &b, &address);
    assert_eq!((connections(&a), connections(&b)), (1, 1), "one link each");

    // Split, as in Core: forget the added node and drop the connection, on both sides.
    for (node, other) in [(&a, &b_addr), (&b, &a_addr)] {
        node.rpc("addnode", json!([other, "remove"]));
    }
    a.rpc("disconnectnode", json!([b_addr]));
    wait_until("the link to drop", TIMEOUT, || {
        connections(&a) == 0 && connections(&b) == 0
    });
    let a_tip = a.generate(2, &address)[1].to_string();
    let b_tip = b.generate(1, &address)[0].to_string();
    assert_ne!(best(&a), best(&b), "two chains while split");
    assert_eq!(best(&b), json!(b_tip));

    // Join: one addnode, and the chain with more work wins on both.
    a.rpc("addnode", json!([b_addr, "add"]));
    wait_until("the nodes to agree on A's chain", TIMEOUT, || {
        best(&a) == json!(a_tip) && best(&b) == json!(a_tip)
    });
    assert_eq!((connections(&a), connections(&b)), (1, 1));
}

/// Spends output 0 of `prev` (`value` base units locked to `kp`) to `to`, paying `fee`.
fn spend(
    kp: &secp256k1::Keypair,
    prev: dotcoin_common::Txid,
    value: u64,
    fee: u64,
    to: dotcoin_common::PubKey,
) -> Transaction {
    let mut tx = Transaction {
        version: 1,
        inputs: vec![TxIn {
            prevout: OutPoint {
                txid: prev,
                vout: 0,
            },
            witness: vec![],
        }],
        outputs: vec![TxOut {
            value: Amount::from_sat(value - fee),
            pubkey: to,
        }],
        lock_time: 0,
    };
    let spent = TxOut {
        value: Amount::from_sat(value),
        pubkey: pubkey_of(kp),
    };
    sign_transaction(&mut tx, &[spent], std::slice::from_ref(kp)).expect("signs");
    tx
}

fn send(node: &TestNode, tx: &Transaction) -> Value {
    node.rpc("sendrawtransaction", json!([hex::encode(serialize(tx))]))
}

fn coinbase_of(node: &TestNode, hash: &dotcoin_common::BlockHash) -> dotcoin_common::Txid {
    node.rpc("getblock", json!([hash.to_string(), 1]))["tx"][0]
        .as_str()
        .expect("coinbase txid")
        .parse()
        .expect("a txid")
}

#[test]
fn added_calls_answer_as_core_defines_them() {
    use dotcoin_functional_tests::{wait_until, TIMEOUT};
    let node = TestNode::start(&[]);
    let (kp, addr) = test_keypair();
    let hashes = node.generate(101, &addr);

    let none = node.rpc("estimatesmartfee", json!([6]));
    assert_eq!(
        none["errors"][0], "Insufficient data or no feerate found",
        "{none}"
    );
    // getrpcinfo lists itself; getmemoryinfo's locked pool is empty (no keys here).
    let info = node.rpc("getrpcinfo", json!([]));
    assert_eq!(info["active_commands"][0]["method"], "getrpcinfo", "{info}");
    assert!(info["logpath"]
        .as_str()
        .is_some_and(|p| p.ends_with("debug.log")));
    assert_eq!(node.rpc("getmemoryinfo", json!([]))["locked"]["used"], 0);
    assert_eq!(
        node.try_rpc("getmemoryinfo", json!(["mallocinfo"]))
            .map_err(|e| e.code),
        Err(-8)
    );
    // echo, validateaddress, getindexinfo, getdeploymentinfo.
    assert_eq!(
        node.rpc("echo", json!(["a", 1, {"b": null}])),
        json!(["a", 1, {"b": null}])
    );
    assert_eq!(node.rpc("echo", json!([])), json!([]));
    let v = node.rpc("validateaddress", json!([addr]));
    assert_eq!(
        (v["isvalid"].clone(), v["address"].clone()),
        (json!(true), json!(addr))
    );
    let v = node.rpc("validateaddress", json!(["dc1pnotanaddress"]));
    assert_eq!(v["isvalid"], json!(false));
    assert!(v["error"].is_string(), "{v}");
    let v = node.rpc("getindexinfo", json!([]));
    assert_eq!(
        v["txindex"],
        json!({"synced": true, "best_block_height": 101})
    );
    assert_eq!(v["addressindex"]["synced"], json!(true));
    let v = node.rpc("getindexinfo", json!(["txindex"]));
    assert!(v.get("addressindex").is_none(), "{v}");
    let v = node.rpc("getdeploymentinfo", json!([]));
    assert_eq!(v["height"], 101);
    assert_eq!(v["deployments"]["taproot"]["active"], json!(true));
    let v = node.rpc("getdeploymentinfo", json!([hashes[0].to_string()]));
    assert_eq!(v["height"], 1);

    assert_eq!(node.rpc("verifychain", json!([])), json!(true));
    assert_eq!(node.rpc("verifychain", json!([4, 0])), json!(true));
    assert_eq!(
        node.try_rpc("verifychain", json!([5])).map_err(|e| e.code),
        Err(-8)
    );
    // scantxoutset: the 101 coinbases paying `addr`.
    let scan = node.rpc("scantxoutset", json!(["start", [format!("addr({addr})")]]));
    assert_eq!(scan["success"], json!(true));
    assert_eq!(
        scan["unspents"].as_array().map(Vec::len),
        Some(101),
        "{scan}"
    );
    assert_eq!(scan["total_amount"], json!(101.0 * 50.0));
    assert_eq!(scan["height"], 101);
    assert_eq!(node.rpc("scantxoutset", json!(["status"])), Value::Null);
    let err = node
        .try_rpc("scantxoutset", json!(["start", ["pkh(02aa)"]]))
        .expect_err("not an addr() descriptor");
    assert_eq!(err.code, -5);
    // createrawtransaction builds what decoderawtransaction reads back.
    let (_, to) = test_keypair();
    let prev = "00000000000000000000000000000000000000000000000000000000000000ef";
    let hex = node.rpc(
        "createrawtransaction",
        json!([[{"txid": prev, "vout": 3}], {to.clone(): 1.5}, 7]),
    );
    let decoded = node.rpc("decoderawtransaction", json!([hex]));
    assert_eq!(decoded["vin"][0]["txid"], prev);
    assert_eq!(decoded["vin"][0]["vout"], 3);
    assert_eq!(decoded["vout"][0]["address"], json!(to));
    assert_eq!(decoded["vout"][0]["value"], json!(1.5));
    assert_eq!(decoded["locktime"], 7);
    let err = node
        .try_rpc(
            "createrawtransaction",
            json!([[{"txid": prev}], {to.clone(): 1}]),
        )
        .expect_err("no vout");
    assert_eq!(err.code, -8);
    let err = node
        .try_rpc("createrawtransaction", json!([[], {"nonsense": 1}]))
        .expect_err("bad address");
    assert_eq!(err.code, -5);

    // A parent and a child in the mempool, and a lone transaction.
    let coin = 50 * 100_000_000;
    let child_kp = dotcoin_common::sighash::signing::generate_keypair();
    let stranger = pubkey_of(&dotcoin_common::sighash::signing::generate_keypair());
    let parent = spend(
        &kp,
        coinbase_of(&node, &hashes[0]),
        coin,
        1000,
        pubkey_of(&child_kp),
    );
    let parent_txid2 = send(&node, &parent);
    let child = spend(&child_kp, parent.txid(), coin - 1000, 2000, stranger);
    let child_txid = send(&node, &child);
    let lone = spend(&kp, coinbase_of(&node, &hashes[1]), coin, 1000, stranger);
    let parent_txid = send(&node, &lone);
    assert_eq!(
        node.rpc("getmempoolancestors", json!([child_txid])),
        json!([parent_txid2])
    );
    assert_eq!(
        node.rpc("getmempooldescendants", json!([parent_txid2])),
        json!([child_txid])
    );
    let verbose = node.rpc("getmempooldescendants", json!([parent_txid2, true]));
    assert_eq!(
        verbose[child_txid.as_str().expect("txid")]["fee"],
        json!(0.00002)
    );
    assert_eq!(
        node.rpc("getmempoolancestors", json!([parent_txid])),
        json!([])
    );
    let err = node
        .try_rpc("getmempoolancestors", json!([prev]))
        .expect_err("not in the pool");
    assert_eq!(err.code, -5);

    // getrawtransaction 2 from the mempool: the child's prevout is its parent's output.
    let v = node.rpc("getrawtransaction", json!([child_txid, 2]));
    assert_eq!(v["fee"], json!(0.00002), "{v}");
    assert_eq!(v["vin"][0]["prevout"]["generated"], json!(false));
    // A long-polled template waits for the mempool or tip to change.
    let template = node.rpc("getblocktemplate", json!([{"rules": ["segwit"]}]));
    assert_eq!(template["capabilities"], json!(["proposal"]));
    assert_eq!(template["transactions"].as_array().map(Vec::len), Some(3));
    let longpollid = template["longpollid"]
        .as_str()
        .expect("longpollid")
        .to_owned();
    std::thread::scope(|scope| {
        let waiting =
            scope.spawn(|| node.rpc("getblocktemplate", json!([{"longpollid": longpollid}])));
        let tip_waiter = scope.spawn(|| node.rpc("waitfornewblock", json!([0])));
        let height_waiter = scope.spawn(|| node.rpc("waitforblockheight", json!([102])));
        // The waits must be running in the node before the block, or a wait that reads
        // the tip after it would wait for the next one: getrpcinfo lists a call while its
        // handler runs. A new block then ends them.
        wait_until("the waits to reach the node", TIMEOUT, || {
            let info = node.rpc("getrpcinfo", json!([]));
            let active: Vec<&str> = info["active_commands"]
                .as_array()
                .map(|a| a.iter().filter_map(|c| c["method"].as_str()).collect())
                .unwrap_or_default();
            ["getblocktemplate", "waitfornewblock", "waitforblockheight"]
                .iter()
                .all(|m| active.contains(m))
        });
        let mined = node.generate(1, &addr)[0].to_string();
        let next = waiting.join().expect("long poll thread");
        assert_eq!(next["height"], 103, "{next}");
        assert_eq!(next["transactions"], json!([]), "the block took them");
        assert_eq!(tip_waiter.join().expect("waiter")["hash"], json!(mined));
        assert_eq!(height_waiter.join().expect("waiter")["height"], 102);
        assert_eq!(
            node.rpc("waitforblock", json!([mined, 1000]))["hash"],
            json!(mined)
        );
    });
    // A wait that times out answers with the current tip.
    let v = node.rpc("waitfornewblock", json!([50]));
    assert_eq!(v["height"], 102);
    let v = node.rpc("waitforblockheight", json!([1000, 50]));
    assert_eq!(v["height"], 102);

    // getblock 2 and getrawtransaction 2 on a confirmed spend: fee and prevout.
    let tip = node.rpc("getbestblockhash", json!([]));
    let block = node.rpc("getblock", json!([tip, 2]));
    let spend = block["tx"]
        .as_array()
        .expect("transactions")
        .iter()
        .find(|t| t["txid"] == child_txid)
        .expect("the child is in the block")
        .clone();
    assert_eq!(spend["fee"], json!(0.00002), "{spend}");
    assert_eq!(spend["vin"][0]["prevout"]["height"], 102);
    assert!(block["tx"][0].get("fee").is_none(), "no fee for a coinbase");
    let parent_v = node.rpc("getrawtransaction", json!([parent_txid2, 2]));
    assert_eq!(parent_v["fee"], json!(0.00001));
    assert_eq!(parent_v["vin"][0]["prevout"]["generated"], json!(true));
    assert_eq!(parent_v["vin"][0]["prevout"]["value"], json!(50.0));
    // getblockstats and estimatesmartfee read the same fees from the undo data.
    let stats = node.rpc("getblockstats", json!([102]));
    assert_eq!(stats["txs"], 4, "{stats}");
    assert_eq!(stats["totalfee"], 4000);
    assert_eq!(
        (stats["minfee"].clone(), stats["maxfee"].clone()),
        (json!(1000), json!(2000))
    );
    assert_eq!(stats["ins"], 3);
    assert_eq!(stats["subsidy"], 50 * 100_000_000u64);
    assert_eq!(
        node.rpc("getblockstats", json!([tip, ["txs", "totalfee"]])),
        json!({"txs": 4, "totalfee": 4000})
    );
    let err = node
        .try_rpc("getblockstats", json!([102, ["nosuchstat"]]))
        .expect_err("unknown statistic");
    assert_eq!(err.code, -8);
    let estimate = node.rpc("estimatesmartfee", json!([2]));
    assert_eq!(estimate["blocks"], 2);
    assert!(estimate["feerate"].as_f64() >= Some(0.00001), "{estimate}");
    let err = node
        .try_rpc("estimatesmartfee", json!([0]))
        .expect_err("target out of range");
    assert_eq!(err.code, -8);
    let plain = node.rpc("getrawtransaction", json!([parent_txid2, 1]));
    assert!(plain.get("fee").is_none() && plain["vin"][0].get("prevout").is_none());
}

#[test]
fn network_calls_added_for_core() {
    use dotcoin_functional_tests::{wait_until, TIMEOUT};
    let a = TestNode::start(&["--maxoutbound", "0"]);
    let b = TestNode::start(&["--maxoutbound", "0"]);
    let b_addr = format!("127.0.0.1:{}", b.p2p_port);
    let err = a
        .try_rpc("getaddednodeinfo", json!([b_addr]))
        .expect_err("not added yet");
    assert_eq!(err.code, -24);
    a.rpc("addnode", json!([b_addr, "add"]));
    wait_until("the link", TIMEOUT, || connections(&a) == 1);
    let info = a.rpc("getaddednodeinfo", json!([]));
    assert_eq!(info[0]["addednode"], json!(b_addr));
    assert_eq!(info[0]["connected"], json!(true));
    assert_eq!(info[0]["addresses"][0]["connected"], json!("outbound"));
    wait_until("traffic to be counted", TIMEOUT, || {
        let t = a.rpc("getnettotals", json!([]));
        t["totalbytessent"].as_u64() > Some(0) && t["totalbytesrecv"].as_u64() > Some(0)
    });
    // B learnt where A listens from A's version.
    wait_until("B to learn A's address", TIMEOUT, || {
        b.rpc("getnodeaddresses", json!([0]))
            .as_array()
            .is_some_and(|l| l.iter().any(|e| e["port"] == json!(a.p2p_port)))
    });
    let learnt = b.rpc("getnodeaddresses", json!([0, "not_publicly_routable"]));
    assert_eq!(learnt[0]["address"], json!("127.0.0.1"), "{learnt}");
    assert_eq!(b.rpc("getnodeaddresses", json!([0, "ipv6"])), json!([]));
    let err = b
        .try_rpc("getnodeaddresses", json!([1, "tor"]))
        .expect_err("unknown network");
    assert_eq!(err.code, -8);
    let peer = &a.rpc("getpeerinfo", json!([]))[0];
    assert_eq!(peer["services"], json!("0000000000000001"));
    assert_eq!(peer["network"], json!("not_publicly_routable"));
    assert!(peer["lastsend"].as_u64() > Some(0) && peer["lastrecv"].as_u64() > Some(0));
    let net = a.rpc("getnetworkinfo", json!([]));
    assert_eq!(net["localservices"], json!("0000000000000001"));
    // ping: an idle link carries a ping and its pong within a second or two.
    let recv_before = a.rpc("getpeerinfo", json!([]))[0]["bytesrecv"].as_u64();
    assert_eq!(a.rpc("ping", json!([])), Value::Null);
    wait_until("the pong", TIMEOUT, || {
        a.rpc("getpeerinfo", json!([]))[0]["bytesrecv"].as_u64() > recv_before
    });
    assert!(a.rpc("getpeerinfo", json!([]))[0]["minping"].is_number());
    // Network off: the link drops and stays down; on: the added node is dialled again.
    assert_eq!(a.rpc("setnetworkactive", json!([false])), json!(false));
    wait_until("the link to drop", TIMEOUT, || {
        connections(&a) == 0 && connections(&b) == 0
    });
    assert_eq!(
        a.rpc("getnetworkinfo", json!([]))["networkactive"],
        json!(false)
    );
    let err = a
        .try_rpc("setnetworkactive", json!(["yes"]))
        .expect_err("not a bool");
    assert_eq!(err.code, -3);
    assert_eq!(a.rpc("setnetworkactive", json!([true])), json!(true));
    wait_until("the added node to be dialled again", TIMEOUT, || {
        connections(&a) == 1 && connections(&b) == 1
    });
    // Totals survive the connection.
    let before = a.rpc("getnettotals", json!([]))["totalbytessent"].as_u64();
    a.rpc("addnode", json!([b_addr, "remove"]));
    a.rpc("disconnectnode", json!([b_addr]));
    wait_until("the link to drop", TIMEOUT, || connections(&a) == 0);
    assert!(a.rpc("getnettotals", json!([]))["totalbytessent"].as_u64() >= before);
}

#[test]
fn node_command_line_takes_core_spellings() {
    let node = TestNode::start(&["-daemon=0", "-mine=0", "-debug=rpc"]);
    assert_eq!(node.rpc("getblockcount", json!([])), json!(0));
    assert_eq!(node.rpc("getgenerate", json!([])), json!(false));
}

#[test]
fn generateblock_mines_the_chosen_transactions() {
    let node = TestNode::start(&[]);
    let (kp, addr) = test_keypair();
    let hashes = node.generate(102, &addr);
    let coin = 50 * 100_000_000;
    let stranger = pubkey_of(&dotcoin_common::sighash::signing::generate_keypair());
    let pooled = spend(&kp, coinbase_of(&node, &hashes[0]), coin, 1000, stranger);
    let pooled_txid = send(&node, &pooled);
    let raw = spend(&kp, coinbase_of(&node, &hashes[1]), coin, 3000, stranger);
    // Another pool transaction that is not chosen stays in the pool.
    let left = spend(&kp, coinbase_of(&node, &hashes[2]), coin, 1000, stranger);
    let left_txid = send(&node, &left);

    // Not submitted: the block comes back as hex and the chain does not move.
    let tip = node.rpc("getbestblockhash", json!([]));
    let unsent = node.rpc("generateblock", json!([addr, [pooled_txid], false]));
    assert!(unsent["hex"].is_string(), "{unsent}");
    assert_eq!(node.rpc("getbestblockhash", json!([])), tip);

    let made = node.rpc(
        "generateblock",
        json!([
            format!("addr({addr})"),
            [pooled_txid, hex::encode(serialize(&raw))]
        ]),
    );
    let hash = made["hash"].clone();
    assert_eq!(node.rpc("getbestblockhash", json!([])), hash);
    let block = node.rpc("getblock", json!([hash, 2]));
    let txids: Vec<Value> = block["tx"]
        .as_array()
        .expect("transactions")
        .iter()
        .map(|t| t["txid"].clone())
        .collect();
    assert_eq!(txids[1..], [pooled_txid, json!(raw.txid().to_string())]);
    // The coinbase claims the chosen fees only.
    assert_eq!(block["tx"][0]["vout"][0]["value"], json!(50.00004));
    assert_eq!(node.rpc("getrawmempool", json!([])), json!([left_txid]));

    let err = node
        .try_rpc(
            "generateblock",
            json!([
                addr,
                ["00000000000000000000000000000000000000000000000000000000000000ef"]
            ]),
        )
        .expect_err("not in the pool");
    assert_eq!(err.code, -5);
    let err = node
        .try_rpc("generateblock", json!(["nonsense", []]))
        .expect_err("bad address");
    assert_eq!(err.code, -5);
}

#[test]
fn getchaintxstats_counts_the_active_chain_through_a_reorg() {
    let node = TestNode::start(&[]);
    let (_, addr) = test_keypair();
    let hashes = node.generate(101, &addr);
    // Genesis and 101 coinbases; the default window is capped at height - 1.
    let s = node.rpc("getchaintxstats", json!([]));
    assert_eq!(s["txcount"], 102, "{s}");
    assert_eq!(s["window_final_block_height"], 101);
    assert_eq!(s["window_block_count"], 100);
    assert_eq!(s["window_tx_count"], 100);
    assert!(s["window_interval"].is_i64(), "{s}");
    let s = node.rpc("getchaintxstats", json!([10, hashes[49].to_string()]));
    assert_eq!(
        (s["txcount"].clone(), s["window_block_count"].clone()),
        (json!(51), json!(10))
    );
    assert_eq!(s["window_tx_count"], 10);
    let s = node.rpc("getchaintxstats", json!([0]));
    assert!(s.get("window_tx_count").is_none(), "{s}");
    for bad in [json!([101]), json!([-1])] {
        assert_eq!(
            node.try_rpc("getchaintxstats", bad).map_err(|e| e.code),
            Err(-8)
        );
    }
    assert_eq!(
        node.try_rpc("getchaintxstats", json!([1, "00".repeat(32)]))
            .map_err(|e| e.code),
        Err(-5)
    );
    // A block off the active chain is refused; the counts follow the new tip.
    let tip = hashes[100].to_string();
    node.rpc("invalidateblock", json!([tip]));
    assert_eq!(node.rpc("getchaintxstats", json!([]))["txcount"], 101);
    assert_eq!(
        node.try_rpc("getchaintxstats", json!([1, tip]))
            .map_err(|e| e.code),
        Err(-8)
    );
    node.generate(2, &addr);
    assert_eq!(node.rpc("getchaintxstats", json!([]))["txcount"], 103);
}

#[test]
fn logging_switches_categories_at_run_time() {
    use dotcoin_functional_tests::{wait_until, TIMEOUT};
    let node = TestNode::start(&[]);
    let all_off = node.rpc("logging", json!([]));
    assert_eq!(all_off["rpc"], json!(false), "{all_off}");
    assert_eq!(all_off.as_object().map(|o| o.len()), Some(6), "{all_off}");
    let handled = |n: &TestNode| n.debug_log().matches("handled").count();
    assert_eq!(handled(&node), 0);

    let on = node.rpc("logging", json!([["rpc", "net"]]));
    assert_eq!(
        (on["rpc"].clone(), on["net"].clone()),
        (json!(true), json!(true))
    );
    node.rpc("getblockcount", json!([]));
    wait_until("rpc debug lines in debug.log", TIMEOUT, || {
        handled(&node) > 0
    });

    let off = node.rpc("logging", json!([[], ["all"]]));
    assert!(
        off.as_object()
            .is_some_and(|o| o.values().all(|v| v == false)),
        "{off}"
    );
    node.rpc("getblockcount", json!([]));
    let before = handled(&node);
    for _ in 0..3 {
        node.rpc("getblockcount", json!([]));
    }
    assert_eq!(handled(&node), before);

    assert_eq!(
        node.try_rpc("logging", json!([["nett"]]))
            .map_err(|e| e.code),
        Err(-8)
    );
    assert_eq!(
        node.try_rpc("logging", json!(["rpc"])).map_err(|e| e.code),
        Err(-3)
    );
}

#[test]
fn getblocktemplate_proposal_checks_a_block_without_its_work() {
    let node = TestNode::start(&[]);
    let (_, addr) = test_keypair();
    node.generate(1, &addr);
    let propose = |hex: &str| {
        node.rpc(
            "getblocktemplate",
            json!([{"mode": "proposal", "data": hex}]),
        )
    };
    let built = node.rpc("generateblock", json!([addr, [], false]));
    let hex = built["hex"].as_str().expect("hex").to_owned();
    assert_eq!(propose(&hex), Value::Null, "a valid block on the tip");

    let mut block: dotcoin_common::Block =
        dotcoin_common::deserialize(&hex::decode(&hex).expect("hex")).expect("block");
    block.header.time += 10 * 3600;
    assert_eq!(
        propose(&hex::encode(serialize(&block))),
        json!("time-too-new")
    );
    block.header.time -= 10 * 3600;
    block.txdata[0].outputs[0].value = Amount::from_dot(51);
    assert_eq!(
        propose(&hex::encode(serialize(&block))),
        json!("bad-txnmrklroot")
    );

    let err = node
        .try_rpc(
            "getblocktemplate",
            json!([{"mode": "proposal", "data": "00"}]),
        )
        .expect_err("not a block");
    assert_eq!(err.code, -22);
    let err = node
        .try_rpc("getblocktemplate", json!([{"mode": "proposal"}]))
        .expect_err("no data");
    assert_eq!(err.code, -3);

    assert_eq!(node.rpc("submitblock", json!([hex])), Value::Null);
    assert_eq!(propose(&hex), json!("duplicate"));
    let stale = node.rpc("generateblock", json!([addr, [], false]))["hex"]
        .as_str()
        .expect("hex")
        .to_owned();
    // Mined to another address, so the new tip is not the stale block itself.
    node.generate(1, &test_keypair().1);
    assert_eq!(propose(&stale), json!("inconclusive-not-best-prevblk"));
}
