//! Functional tests of descriptor wallets across the real programs: a wallet made again
//! from its seed words (`dotcoin-wallet restore`, gap-limit scan through the node's
//! address index) equals the original in balance, coins and history; a watch-only
//! wallet holding only the seed wallet's xpub descriptors (`importdescriptors` of its
//! `listdescriptors` output) sees what the seed wallet sees; a wallet file of the
//! random-key format (the fixture) opens, migrates (`migratewallet`) and sends.

use std::io::Write;
use std::path::Path;
use std::process::Stdio;

use dotcoin_functional_tests::{
    http_request, test_keypair, wait_until, wallet_command, workspace_root, TestNode,
    WalletServiceProcess, TIMEOUT,
};
use serde_json::{json, Value};

/// A JSON-RPC error: code and message.
type Failure = (i64, String);

/// Calls `method` on `wallet`'s endpoint (`None`: `/`).
fn call(
    s: &WalletServiceProcess,
    wallet: Option<&str>,
    method: &str,
    params: Value,
) -> Result<Value, Failure> {
    let path = wallet.map_or_else(|| "/".to_owned(), |w| format!("/wallet/{w}"));
    let body = json!({"id": "t", "method": method, "params": params}).to_string();
    let (_, text) = http_request(s.port, "POST", &path, &body, Some(&s.cookie_auth()));
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    match v.get("error").filter(|e| !e.is_null()) {
        Some(e) => Err((
            e["code"].as_i64().expect("code"),
            e["message"].as_str().expect("message").to_owned(),
        )),
        None => Ok(v["result"].clone()),
    }
}

fn rpc(s: &WalletServiceProcess, wallet: Option<&str>, method: &str, params: Value) -> Value {
    call(s, wallet, method, params.clone())
        .unwrap_or_else(|e| panic!("{method} {params} failed: {e:?}"))
}

/// Waits until `wallet` of `s` has processed the node's tip.
fn wait_synced(node: &TestNode, s: &WalletServiceProcess, wallet: Option<&str>) {
    let height = node.rpc("getblockcount", json!([]));
    wait_until("the wallet service to follow the tip", TIMEOUT, || {
        rpc(s, wallet, "getwalletinfo", json!([]))["lastprocessedblock"]["height"] == height
    });
}

/// The wallet's coins, in a canonical order, with the fields that must match.
fn coins(s: &WalletServiceProcess, wallet: Option<&str>) -> Vec<Value> {
    let mut list: Vec<Value> = rpc(s, wallet, "listunspent", json!([0]))
        .as_array()
        .expect("array")
        .iter()
        .map(|u| {
            json!([
                u["txid"],
                u["vout"],
                u["address"],
                u["amount"],
                u["confirmations"]
            ])
        })
        .collect();
    list.sort_by_key(|v| v.to_string());
    list
}

/// The wallet's history, in a canonical order, with the fields that must match.
fn history(s: &WalletServiceProcess, wallet: Option<&str>) -> Vec<Value> {
    let mut list: Vec<Value> = rpc(s, wallet, "listtransactions", json!(["*", 100_000]))
        .as_array()
        .expect("array")
        .iter()
        .map(|e| {
            json!([
                e["txid"],
                e["vout"],
                e["category"],
                e["amount"],
                e["address"],
                e["fee"],
                e["blockhash"],
                e["confirmations"],
                e["generated"]
            ])
        })
        .collect();
    list.sort_by_key(|v| v.to_string());
    list
}

/// `dotcoin-wallet restore` for `node` in `datadir`, the words (and no passphrase) on
/// stdin; its JSON output.
fn restore(node: &TestNode, datadir: &Path, words: &str, extra: &[&str]) -> Value {
    let mut args = vec!["restore"];
    args.extend_from_slice(extra);
    let mut child = wallet_command(node, datadir, &args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn dotcoin-wallet restore");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{words}\n").as_bytes())
        .expect("write the words");
    let out = child.wait_with_output().expect("restore");
    assert!(
        out.status.success(),
        "restore failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("restore prints JSON")
}

#[test]
fn restoring_the_words_recovers_balance_coins_and_history_of_a_1000_address_wallet() {
    let node = &TestNode::start(&[]);
    let original_dir = tempfile::tempdir().expect("tempdir");
    // The original: a thousand receive keys (and change keys) derived ahead.
    let created: Value = serde_json::from_str(
        &node.wallet_ok(original_dir.path(), &["create", "--keypool", "1000"]),
    )
    .expect("create prints JSON");
    let words = created["mnemonic"].as_str().expect("the words").to_owned();
    assert_eq!(words.split(' ').count(), 12, "{created}");
    let original = WalletServiceProcess::start_in(node, original_dir.path(), &[], &[]);

    let descriptors = rpc(&original, None, "listdescriptors", json!([]));
    let receive = descriptors["descriptors"]
        .as_array()
        .expect("descriptors")
        .iter()
        .find(|d| d["active"] == true && d["internal"] == false)
        .expect("an active receive descriptor")["desc"]
        .clone();
    let addresses = rpc(
        &original,
        None,
        "deriveaddresses",
        json!([receive, [0, 999]]),
    );
    let addresses: Vec<String> = serde_json::from_value(addresses).expect("addresses");
    assert_eq!(addresses.len(), 1000);

    // Funds: coinbases to the first key, then payments to keys spread over the range with
    // gaps of up to 18 unused keys (the gap limit is 20), the last at index 999.
    node.generate(3, &addresses[0]);
    let (_, stranger) = test_keypair();
    node.generate(100, &stranger);
    wait_synced(node, &original, None);
    let mut used: Vec<usize> = (19..1000).step_by(19).collect();
    used.push(999);
    for (round, chunk) in used.chunks(20).enumerate() {
        let amounts: serde_json::Map<String, Value> = chunk
            .iter()
            .map(|&i| (addresses[i].clone(), json!(0.01 * (round + 1) as f64)))
            .collect();
        rpc(&original, None, "sendmany", json!(["", amounts]));
        node.generate(1, &stranger);
    }
    // A payment out (a send with change) and one left unconfirmed.
    rpc(&original, None, "sendtoaddress", json!([stranger, 3]));
    node.generate(1, &stranger);
    rpc(&original, None, "sendtoaddress", json!([stranger, 1.5]));
    wait_synced(node, &original, None);
    let balances = rpc(&original, None, "getbalances", json!([]));
    let original_coins = coins(&original, None);
    let original_history = history(&original, None);
    assert!(original_coins.len() > 50, "{}", original_coins.len());
    assert!(original_history.len() > 60, "{}", original_history.len());
    drop(original);

    // The restore: words on stdin, an empty datadir.
    let restored_dir = tempfile::tempdir().expect("tempdir");
    let report = restore(node, restored_dir.path(), &words, &[]);
    assert_eq!(report["receive_used"], 1000, "{report}");
    assert_eq!(report["gap_limit"], 20, "{report}");
    // The figure contrib/bench/restore.sh reports (no assertion on time: the machine may
    // be loaded).
    #[allow(clippy::print_stderr)]
    {
        eprintln!(
            "restore-bench: {} receive and {} change keys used, {} address-index queries, {} s",
            report["receive_used"], report["change_used"], report["queries"], report["seconds"]
        );
    }
    // Change keys: one per send.
    assert!(
        report["change_used"].as_u64().expect("count") >= 2,
        "{report}"
    );
    let restored = WalletServiceProcess::start_in(node, restored_dir.path(), &[], &[]);
    wait_synced(node, &restored, None);
    assert_eq!(rpc(&restored, None, "getbalances", json!([])), balances);
    assert_eq!(coins(&restored, None), original_coins);
    assert_eq!(history(&restored, None), original_history);
    // It hands out the key after the last used one, as the original would.
    assert_eq!(
        rpc(
            &restored,
            None,
            "getaddressinfo",
            json!([rpc(&restored, None, "getnewaddress", json!([]))])
        )["hdkeypath"],
        "m/86h/1h/0h/0/1000"
    );

    // A second restore into the same datadir is refused: the file exists.
    drop(restored);
    let out = wallet_command(node, restored_dir.path(), &["restore"])
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .expect("restore");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("already exists"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Words with a typo are refused, and no file is written.
    let bad_dir = tempfile::tempdir().expect("tempdir");
    let mut typo: Vec<&str> = words.split(' ').collect();
    typo[3] = "notaword";
    let mut child = wallet_command(node, bad_dir.path(), &["restore"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(typo.join(" ").as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("restore");
    assert!(!out.status.success());
    assert!(!bad_dir.path().join("regtest/wallets/default.json").exists());
}

#[test]
fn a_watch_only_wallet_of_the_xpubs_sees_what_the_seed_wallet_sees() {
    let node = &TestNode::start(&[]);
    // Every log line the service can write: the words must be in none.
    let service = WalletServiceProcess::start_env(node, &[], &[("RUST_LOG", "trace")]);
    let created = rpc(
        &service,
        None,
        "createwallet",
        json!({"wallet_name": "seed"}),
    );
    assert_eq!(created["name"], "seed");
    assert_eq!(
        created["mnemonic"]
            .as_str()
            .expect("the words")
            .split(' ')
            .count(),
        12
    );
    let seed = Some("seed");
    let first = rpc(&service, seed, "getnewaddress", json!([]));
    node.generate(101, first.as_str().expect("address"));
    let second = rpc(&service, seed, "getnewaddress", json!([]));
    wait_synced(node, &service, seed);
    rpc(&service, seed, "sendtoaddress", json!([second, 7]));
    node.generate(1, &test_keypair().1);
    wait_synced(node, &service, seed);

    // The watch-only wallet imports the public descriptors as listed.
    rpc(
        &service,
        None,
        "createwallet",
        json!({"wallet_name": "watch", "disable_private_keys": true, "blank": true}),
    );
    let watch = Some("watch");
    let err = call(&service, watch, "getnewaddress", json!([])).expect_err("no keys yet");
    assert_eq!(
        err,
        (-4, "Error: This wallet has no available keys".to_owned())
    );
    let listed = rpc(&service, seed, "listdescriptors", json!([false]));
    assert_eq!(listed["wallet_name"], "seed");
    let requests: Vec<Value> = listed["descriptors"]
        .as_array()
        .expect("descriptors")
        .iter()
        .map(|d| {
            assert!(d["desc"].as_str().expect("desc").contains("tpub"), "{d}");
            json!({
                "desc": d["desc"],
                "active": d["active"],
                "internal": d["internal"],
                "range": d["range"],
                "next_index": d["next_index"],
                "timestamp": d["timestamp"],
            })
        })
        .collect();
    let results = rpc(&service, watch, "importdescriptors", json!([requests]));
    assert_eq!(results, json!([{"success": true}, {"success": true}]));
    wait_synced(node, &service, watch);
    assert_eq!(
        rpc(&service, watch, "getbalances", json!([])),
        rpc(&service, seed, "getbalances", json!([]))
    );
    assert_eq!(coins(&service, watch), coins(&service, seed));
    assert_eq!(
        rpc(&service, watch, "listdescriptors", json!([]))["descriptors"],
        listed["descriptors"]
    );
    // Same next addresses, receive and change.
    for method in ["getnewaddress", "getrawchangeaddress"] {
        assert_eq!(
            rpc(&service, watch, method, json!([])),
            rpc(&service, seed, method, json!([]))
        );
    }
    let info = rpc(&service, watch, "getaddressinfo", json!([second]));
    let seed_info = rpc(&service, seed, "getaddressinfo", json!([second]));
    assert_eq!(info["ismine"], true, "{info}");
    assert_eq!(info["iswatchonly"], true, "{info}");
    assert_eq!(seed_info["iswatchonly"], false, "{seed_info}");
    for field in [
        "hdkeypath",
        "hdmasterfingerprint",
        "desc",
        "witness_program",
        "solvable",
    ] {
        assert_eq!(info[field], seed_info[field], "{field}");
    }
    assert_eq!(seed_info["hdkeypath"], "m/86h/1h/0h/0/1");
    let wi = rpc(&service, watch, "getwalletinfo", json!([]));
    assert_eq!(
        (
            &wi["descriptors"],
            &wi["private_keys_enabled"],
            &wi["blank"]
        ),
        (&json!(true), &json!(false), &json!(true)),
        "{wi}"
    );
    let si = rpc(&service, seed, "getwalletinfo", json!([]));
    assert_eq!(si["private_keys_enabled"], true, "{si}");
    assert_eq!(si["keypoolsize"], 20, "{si}");
    assert_eq!(si["keypoolsize_hd_internal"], 20, "{si}");

    // Core's refusals.
    let err = call(&service, watch, "listdescriptors", json!([true])).expect_err("watch-only");
    assert_eq!(
        err,
        (
            -4,
            "Can't get private descriptor string for watch-only wallets".to_owned()
        )
    );
    let private = rpc(&service, seed, "listdescriptors", json!([true]));
    let xprv_desc = private["descriptors"][0]["desc"]
        .as_str()
        .expect("desc")
        .to_owned();
    assert!(xprv_desc.contains("tprv"), "{xprv_desc}");
    let refused = rpc(
        &service,
        watch,
        "importdescriptors",
        json!([[
            {"desc": xprv_desc, "timestamp": "now"},
            {"desc": listed["descriptors"][0]["desc"], "active": true},
            {"desc": format!("rawtr({})", "ab".repeat(32)), "active": true, "timestamp": 0},
            {"desc": listed["descriptors"][0]["desc"], "range": [5, 2], "timestamp": 0},
            {"desc": "tr(nonsense)", "timestamp": 0}
        ]]),
    );
    let errors: Vec<(i64, String)> = refused
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            assert_eq!(r["success"], false, "{r}");
            (
                r["error"]["code"].as_i64().expect("code"),
                r["error"]["message"].as_str().expect("message").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        errors[0],
        (
            -4,
            "Cannot import private keys to a wallet with private keys disabled".to_owned()
        )
    );
    assert_eq!(
        errors[1],
        (-3, "Missing required timestamp field for key".to_owned())
    );
    assert_eq!(
        errors[2],
        (-8, "Active descriptors must be ranged".to_owned())
    );
    assert_eq!(
        errors[3],
        (
            -8,
            "Range specified as [begin,end] must not have begin after end".to_owned()
        )
    );
    assert_eq!(errors[4].0, -5, "{errors:?}");
    // A public descriptor into a wallet that holds keys: Core's refusal.
    let err = rpc(
        &service,
        seed,
        "importdescriptors",
        json!([[{"desc": listed["descriptors"][0]["desc"], "timestamp": "now"}]]),
    );
    assert_eq!(
        err[0]["error"]["message"],
        "Cannot import descriptor without private keys to a wallet with private keys enabled"
    );
    let words = created["mnemonic"].as_str().expect("the words");
    let log = service.log();
    assert!(
        log.contains("wallet loaded"),
        "the log has the service's events"
    );
    let first_three: Vec<&str> = words.split(' ').take(3).collect();
    assert!(
        !log.contains(&first_three.join(" ")),
        "the words in the service's log"
    );
}

#[test]
fn the_random_key_fixture_opens_migrates_and_sends() {
    let node = &TestNode::start(&[]);
    let dir = tempfile::tempdir().expect("tempdir");
    let wallets = dir.path().join("regtest/wallets");
    std::fs::create_dir_all(&wallets).expect("wallets dir");
    let fixture = workspace_root().join("tests/fixtures/legacy-wallet-v1.json");
    let original = std::fs::read(&fixture).expect("fixture");
    std::fs::write(wallets.join("legacy.json"), &original).expect("copy the fixture");
    let doc: Value = serde_json::from_slice(&original).expect("JSON");
    let fixture_address = doc["keys"][0]["address"]
        .as_str()
        .expect("address")
        .to_owned();

    let service = WalletServiceProcess::start_in(node, dir.path(), &["--wallet", "legacy"], &[]);
    let w = Some("legacy");
    let info = rpc(&service, w, "getwalletinfo", json!([]));
    assert_eq!(
        (&info["walletversion"], &info["descriptors"]),
        (&json!(1), &json!(false))
    );
    node.generate(101, &fixture_address);
    wait_synced(node, &service, w);
    let before = rpc(&service, w, "getbalances", json!([]));
    assert!(before["mine"]["trusted"].as_f64() >= Some(50.0), "{before}");

    let migrated = rpc(
        &service,
        None,
        "migratewallet",
        json!({"wallet_name": "legacy"}),
    );
    assert_eq!(migrated["wallet_name"], "legacy");
    let backup = migrated["backup_path"].as_str().expect("backup path");
    assert_eq!(std::fs::read(backup).expect("the backup"), original);
    let err = call(&service, w, "migratewallet", json!([])).expect_err("twice");
    assert_eq!(
        err,
        (
            -4,
            "Error: This wallet is already a descriptor wallet".to_owned()
        )
    );

    let info = rpc(&service, w, "getwalletinfo", json!([]));
    assert_eq!(
        (&info["walletversion"], &info["descriptors"]),
        (&json!(2), &json!(true))
    );
    let listed = rpc(&service, w, "listdescriptors", json!([]))["descriptors"].clone();
    let listed = listed.as_array().expect("descriptors");
    let keys = doc["keys"].as_array().expect("keys");
    assert_eq!(
        listed.len(),
        keys.len() + 2,
        "one rawtr() per key, two tr() chains"
    );
    for (d, k) in listed.iter().zip(keys) {
        assert!(
            d["desc"].as_str().expect("desc").starts_with(&format!(
                "rawtr({})#",
                k["pubkey"].as_str().expect("pubkey")
            )),
            "{d}"
        );
    }
    let addr_info = rpc(&service, w, "getaddressinfo", json!([fixture_address]));
    assert!(
        addr_info["desc"]
            .as_str()
            .expect("desc")
            .starts_with("rawtr("),
        "{addr_info}"
    );
    assert_eq!(addr_info["labels"], json!(["fixture-receive"]));
    assert_eq!(rpc(&service, w, "getbalances", json!([])), before);

    // It sends from the migrated key, change to the new seed's change chain.
    let (_, payee) = test_keypair();
    let txid = rpc(&service, w, "sendtoaddress", json!([payee, 10]));
    node.generate(1, &test_keypair().1);
    let tx = node.rpc("getrawtransaction", json!([txid, 1]));
    assert_eq!(tx["confirmations"], 1, "{tx}");
    let fresh = rpc(&service, w, "getnewaddress", json!([]));
    assert_eq!(
        rpc(&service, w, "getaddressinfo", json!([fresh]))["hdkeypath"],
        "m/86h/1h/0h/0/0"
    );
    // The file on disk reopens after a restart as the migrated wallet.
    drop(service);
    let service = WalletServiceProcess::start_in(node, dir.path(), &["--wallet", "legacy"], &[]);
    wait_synced(node, &service, w);
    let info = rpc(&service, w, "getwalletinfo", json!([]));
    assert_eq!(info["descriptors"], true);
    let change = rpc(&service, w, "listunspent", json!([0]));
    assert!(
        change
            .as_array()
            .expect("coins")
            .iter()
            .any(|u| u["address"] != fixture_address),
        "the change came back: {change}"
    );
}
