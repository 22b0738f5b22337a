//! Functional tests of the wallet service (`dotcoin-wallet serve`), driven with plain
//! JSON-RPC over HTTP (and python-bitcoinlib's `RawProxy`, and `dotcoin-cli`): the seed's
//! flows 2 and 3 across two nodes, a reorg that unconfirms a received payment and
//! confirms it again, encryption with a timed unlock, two wallets at once, the file
//! lock, Core's error codes for hostile parameters, and keys never reaching the node (its
//! files, its logs, its memory) or the service's log.
//!
//! Each service runs in a temporary datadir of its own (the keys must not be in the
//! node's), on a free port it writes to `wallet-service.ports`.

use dotcoin_common::Address;
use std::path::Path;
use std::process::{Command, Stdio};

use dotcoin_functional_tests::{
    files_under, http_request, test_keypair, wait_until, wallet_command, Needles, TestNode,
    WalletServiceProcess, TIMEOUT,
};
use serde_json::{json, Value};

const COIN: u64 = 100_000_000;

/// A running `dotcoin-wallet serve` (the shared [`WalletServiceProcess`]) with the
/// JSON-RPC calls these tests make of it.
struct WalletService(WalletServiceProcess);

impl std::ops::Deref for WalletService {
    type Target = WalletServiceProcess;
    fn deref(&self) -> &WalletServiceProcess {
        &self.0
    }
}

/// A JSON-RPC error: code and message.
type Failure = (i64, String);

impl WalletService {
    /// A service for `node` in a fresh datadir of its own.
    fn start(node: &TestNode, args: &[&str]) -> WalletService {
        WalletService(WalletServiceProcess::start(node, args))
    }

    /// [`WalletService::start`] with extra environment `env`.
    fn start_env(node: &TestNode, args: &[&str], env: &[(&str, &str)]) -> WalletService {
        WalletService(WalletServiceProcess::start_env(node, args, env))
    }

    /// A service for `node` in `datadir`, with extra environment `env`.
    fn start_in(
        node: &TestNode,
        datadir: &Path,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> WalletService {
        WalletService(WalletServiceProcess::start_in(node, datadir, args, env))
    }

    /// POSTs a raw body to `path`; the HTTP status and the parsed reply.
    fn post(&self, path: &str, body: &str) -> (u16, Value) {
        let (status, text) = http_request(self.port, "POST", path, body, Some(&self.cookie_auth()));
        let v = serde_json::from_str(&text).unwrap_or_else(|e| panic!("bad JSON ({e}): {text}"));
        (status, v)
    }

    /// Calls `method` on `wallet`'s endpoint (`None`: `/`) with a JSON-RPC 1.0 request.
    fn call(&self, wallet: Option<&str>, method: &str, params: Value) -> Result<Value, Failure> {
        let path = wallet.map_or_else(|| "/".to_owned(), |w| format!("/wallet/{w}"));
        let body = json!({"id": "t", "method": method, "params": params}).to_string();
        let (_, v) = self.post(&path, &body);
        match v.get("error").filter(|e| !e.is_null()) {
            Some(e) => Err((
                e["code"].as_i64().expect("code"),
                e["message"].as_str().expect("message").to_owned(),
            )),
            None => Ok(v["result"].clone()),
        }
    }

    fn rpc(&self, method: &str, params: Value) -> Value {
        self.at(None, method, params)
    }

    fn at(&self, wallet: Option<&str>, method: &str, params: Value) -> Value {
        self.call(wallet, method, params.clone())
            .unwrap_or_else(|e| panic!("{method} {params} on {wallet:?} failed: {e:?}"))
    }

    /// The error code of a call that must fail.
    fn code(&self, wallet: Option<&str>, method: &str, params: Value) -> i64 {
        match self.call(wallet, method, params.clone()) {
            Ok(v) => panic!("{method} {params} succeeded: {v}"),
            Err((code, _)) => code,
        }
    }

    /// Stops the service with the `stop` call and waits for it to exit.
    fn stop(&mut self) {
        self.rpc("stop", json!([]));
        self.0.wait_exit();
    }
}

/// An amount in a result, in base units.
fn sat(v: &Value) -> u64 {
    let f = v.as_f64().unwrap_or_else(|| panic!("not an amount: {v}"));
    (f * COIN as f64).round() as u64
}

fn mempool(node: &TestNode) -> Vec<String> {
    node.rpc_typed("getrawmempool", json!([]))
}

/// Mines 101 blocks to a new address of the service's only wallet: 100 DOT spendable.
fn fund(node: &TestNode, service: &WalletService, wallet: Option<&str>) -> String {
    let address = service.at(wallet, "getnewaddress", json!(["rewards"]));
    let address = address.as_str().expect("address").to_owned();
    node.generate(101, &address);
    address
}

#[test]
fn seed_flows_over_json_rpc() {
    let node_a = &TestNode::start(&[]);
    let node_b = &TestNode::start(&["--addnode", &format!("127.0.0.1:{}", node_a.p2p_port)]);
    wait_until("the two nodes to connect", TIMEOUT, || {
        node_a.rpc_typed::<u64>("getconnectioncount", json!([])) == 1
    });
    let a = WalletService::start(node_a, &[]);
    let b = WalletService::start(node_b, &[]);

    // ---- Flow 2: mine and earn.
    let addr_a = a.rpc("getnewaddress", json!(["rewards"]));
    let addr_a = addr_a.as_str().expect("address");
    assert!(addr_a.starts_with("dcrt1p"), "{addr_a}");
    assert_eq!(sat(&a.rpc("getbalance", json!([]))), 0);
    // Amounts print as JSON numbers with exactly 8 decimals.
    let (_, raw) = http_request(
        a.port,
        "POST",
        "/",
        r#"{"id":1,"method":"getbalance"}"#,
        Some(&a.cookie_auth()),
    );
    assert!(raw.contains(r#""result":0.00000000"#), "{raw}");

    node_a.generate(2, addr_a);
    let balances = a.rpc("getbalances", json!([]));
    assert_eq!(sat(&balances["mine"]["immature"]), 100 * COIN);
    assert_eq!(sat(&balances["mine"]["trusted"]), 0);
    node_a.generate(99, addr_a);
    assert_eq!(sat(&a.rpc("getbalance", json!([]))), 100 * COIN);
    let balances = a.rpc("getbalances", json!([]));
    assert_eq!(sat(&balances["mine"]["immature"]), 99 * 50 * COIN);
    let unspent = a.rpc("listunspent", json!([]));
    assert_eq!(unspent.as_array().expect("array").len(), 2, "{unspent}");
    // The follower catches up with the node's tip.
    wait_until("the service to follow the tip", TIMEOUT, || {
        a.rpc("getwalletinfo", json!([]))["lastprocessedblock"]["height"] == 101
    });

    // ---- Flow 3: send 90 to wallet B on the other node, watch it confirm.
    wait_until("node B to sync", TIMEOUT, || {
        node_b.rpc_typed::<u64>("getblockcount", json!([])) == 101
    });
    let addr_b = b.rpc("getnewaddress", json!([]));
    let txid = a.rpc("sendtoaddress", json!([addr_b, 90]));
    let txid = txid.as_str().expect("txid").to_owned();
    wait_until("the payment to reach node B's mempool", TIMEOUT, || {
        mempool(node_b).contains(&txid)
    });
    let pending = b.rpc("getbalances", json!([]));
    assert_eq!(sat(&pending["mine"]["untrusted_pending"]), 90 * COIN);
    assert_eq!(
        sat(&b.rpc("getbalance", json!([]))),
        0,
        "untrusted until mined"
    );
    let list = b.rpc("listtransactions", json!([]));
    assert_eq!(list[0]["category"], "receive");
    assert_eq!(sat(&list[0]["amount"]), 90 * COIN);
    assert_eq!(list[0]["confirmations"], 0);
    // A's change is its own: trusted at once.
    let fee = {
        let tx = a.rpc("gettransaction", json!([txid]));
        assert_eq!(tx["confirmations"], 0);
        (tx["fee"].as_f64().expect("fee") * -(COIN as f64)).round() as u64
    };
    assert!(fee > 0 && fee < COIN / 100, "fee {fee}");
    assert_eq!(sat(&a.rpc("getbalance", json!([]))), 10 * COIN - fee);

    let (_, miner) = test_keypair();
    node_a.generate(1, &miner);
    wait_until("node B to receive the block", TIMEOUT, || {
        node_b.rpc_typed::<u64>("getblockcount", json!([])) == 102
    });
    assert_eq!(sat(&b.rpc("getbalance", json!([]))), 90 * COIN);
    let tx = b.rpc("gettransaction", json!([txid]));
    assert_eq!(tx["confirmations"], 1);
    assert_eq!(tx["details"][0]["category"], "receive");
    let sent = a.rpc("listtransactions", json!(["*", 1]));
    assert_eq!(sent.as_array().expect("array").len(), 1);
    assert_eq!(sent[0]["category"], "send");
    assert_eq!(
        sat(&json!(-sent[0]["amount"].as_f64().expect("amount"))),
        90 * COIN
    );
    assert_eq!(sent[0]["confirmations"], 1);
}

#[test]
fn a_reorg_unconfirms_a_received_payment_and_it_confirms_again() {
    let node = &TestNode::start(&[]);
    let service = WalletService::start(node, &[]);
    service.rpc("createwallet", json!(["bob"]));
    fund(node, &service, Some("default"));
    let to_bob = service.at(Some("bob"), "getnewaddress", json!([]));
    let txid = service.at(Some("default"), "sendtoaddress", json!([to_bob, 5]));
    let (_, miner) = test_keypair();
    let first = node.generate(1, &miner)[0].to_string();
    let tx = service.at(Some("bob"), "gettransaction", json!([txid]));
    assert_eq!(tx["confirmations"], 1);
    assert_eq!(tx["blockhash"], first);
    assert_eq!(
        sat(&service.at(Some("bob"), "getbalance", json!([]))),
        5 * COIN
    );

    // Disconnect the block: the payment is back in the mempool, unconfirmed.
    node.rpc("invalidateblock", json!([first]));
    let tx = service.at(Some("bob"), "gettransaction", json!([txid]));
    assert_eq!(tx["confirmations"], 0, "{tx}");
    assert!(tx.get("blockhash").is_none(), "{tx}");
    let balances = service.at(Some("bob"), "getbalances", json!([]));
    assert_eq!(sat(&balances["mine"]["trusted"]), 0);
    assert_eq!(sat(&balances["mine"]["untrusted_pending"]), 5 * COIN);
    let list = service.at(Some("bob"), "listtransactions", json!([]));
    assert_eq!(list[0]["confirmations"], 0);
    wait_until("the follower to notice the reorg", TIMEOUT, || {
        service.log().contains("reorg")
    });

    // A competing block (another miner: not the invalid block again) mines it again.
    let (_, other_miner) = test_keypair();
    let second = node.generate(1, &other_miner)[0].to_string();
    assert_ne!(first, second);
    let tx = service.at(Some("bob"), "gettransaction", json!([txid]));
    assert_eq!(tx["confirmations"], 1);
    assert_eq!(tx["blockhash"], second);
    assert_eq!(
        sat(&service.at(Some("bob"), "getbalance", json!([]))),
        5 * COIN
    );
}

#[test]
fn encryption_and_timed_unlock() {
    let node = &TestNode::start(&[]);
    let service = WalletService::start(node, &[]);
    let address = service.rpc("getnewaddress", json!([]));
    let secret = service.rpc("dumpprivkey", json!([address]));
    let secret = secret.as_str().expect("hex").to_owned();
    assert!(service
        .rpc("encryptwallet", json!(["first pass"]))
        .as_str()
        .expect("message")
        .starts_with("wallet encrypted"));
    let file = service.datadir.join("regtest/wallets/default.json");
    let doc = std::fs::read_to_string(&file).expect("wallet file");
    assert!(!doc.contains(&secret), "secret sealed on disk");
    assert_eq!(service.rpc("getwalletinfo", json!([]))["unlocked_until"], 0);

    // Locked: no key leaves, nothing is signed; pool keys are still handed out.
    assert_eq!(service.code(None, "dumpprivkey", json!([address])), -13);
    assert_eq!(
        service.code(None, "sendtoaddress", json!([address, 1])),
        -13
    );
    assert_eq!(
        service.code(None, "importprivkey", json!([hex::encode([7u8; 32])])),
        -13
    );
    service.rpc("getnewaddress", json!([]));
    assert_eq!(
        service.code(None, "walletpassphrase", json!(["wrong", 60])),
        -14
    );
    assert_eq!(service.code(None, "walletpassphrase", json!(["", 60])), -8);
    assert_eq!(
        service.code(None, "walletpassphrase", json!(["first pass", -1])),
        -8
    );
    assert_eq!(
        service.code(None, "walletpassphrase", json!(["first pass", "60"])),
        -3
    );

    // Unlocked: the key is there until the timeout (long enough for a loaded machine).
    service.rpc("walletpassphrase", json!(["first pass", 600]));
    assert_eq!(
        service.rpc("dumpprivkey", json!([address])),
        secret.as_str()
    );
    let until = service.rpc("getwalletinfo", json!([]))["unlocked_until"]
        .as_u64()
        .expect("a time");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    assert!(
        until > now + 500 && until <= now + 600,
        "unlocked_until {until}, now {now}"
    );
    // A new unlock replaces the timeout: 1 second, then locked again by itself.
    service.rpc("walletpassphrase", json!(["first pass", 1]));
    wait_until("the unlock to time out", TIMEOUT, || {
        service.call(None, "dumpprivkey", json!([address])).is_err()
    });
    assert_eq!(service.code(None, "dumpprivkey", json!([address])), -13);
    assert_eq!(service.rpc("getwalletinfo", json!([]))["unlocked_until"], 0);

    // walletlock ends an unlock early.
    service.rpc("walletpassphrase", json!(["first pass", 600]));
    service.rpc("walletlock", json!([]));
    assert_eq!(service.code(None, "dumpprivkey", json!([address])), -13);

    // A new passphrase replaces the old one.
    assert_eq!(
        service.code(None, "walletpassphrasechange", json!(["wrong", "second"])),
        -14
    );
    service.rpc("walletpassphrasechange", json!(["first pass", "second"]));
    assert_eq!(
        service.code(None, "walletpassphrase", json!(["first pass", 60])),
        -14
    );
    service.rpc("walletpassphrase", json!(["second", 60]));
    assert_eq!(
        service.rpc("dumpprivkey", json!([address])),
        secret.as_str()
    );
    assert_eq!(service.code(None, "encryptwallet", json!(["again"])), -15);

    let log = service.log();
    for needle in ["first pass", "second", secret.as_str()] {
        assert!(!log.contains(needle), "{needle:?} in the service's log");
    }
}

#[test]
fn two_wallets_at_once_and_the_file_lock() {
    let node = &TestNode::start(&[]);
    let service = WalletService::start(node, &[]);
    assert_eq!(service.rpc("listwallets", json!([])), json!(["default"]));
    let mut created = service.rpc("createwallet", json!(["bob"]));
    // The seed words, shown this once.
    let words = created
        .as_object_mut()
        .expect("object")
        .remove("mnemonic")
        .expect("the words");
    assert_eq!(words.as_str().expect("words").split(' ').count(), 12);
    assert_eq!(created, json!({"name": "bob", "warnings": []}));
    assert_eq!(
        service.rpc("listwallets", json!([])),
        json!(["bob", "default"])
    );
    // Two wallets: calls must name one.
    assert_eq!(service.code(None, "getbalance", json!([])), -19);
    assert_eq!(service.code(Some("nope"), "getbalance", json!([])), -18);
    fund(node, &service, Some("default"));
    let to_bob = service.at(Some("bob"), "getnewaddress", json!([]));
    service.at(Some("default"), "sendtoaddress", json!([to_bob, 7]));
    let bob = service.at(Some("bob"), "getbalances", json!([]));
    assert_eq!(sat(&bob["mine"]["untrusted_pending"]), 7 * COIN);
    let info = service.at(Some("bob"), "getwalletinfo", json!([]));
    assert_eq!(info["walletname"], "bob");
    assert_eq!(info["txcount"], 1);

    assert_eq!(service.code(None, "loadwallet", json!(["bob"])), -35);
    assert_eq!(service.code(None, "loadwallet", json!(["ghost"])), -18);
    assert_eq!(service.code(None, "createwallet", json!(["default"])), -35);
    assert_eq!(
        service.code(Some("bob"), "unloadwallet", json!(["default"])),
        -8
    );

    // While the service holds the wallets, no other process may open them.
    let second = wallet_command(node, &service.datadir, &["serve", "--port", "0"])
        .stderr(Stdio::piped())
        .output()
        .expect("run a second service");
    assert!(!second.status.success());
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(stderr.contains("in use by another"), "{stderr}");
    let cli = wallet_command(
        node,
        &service.datadir,
        &["--wallet", "bob", "listaddresses"],
    )
    .stderr(Stdio::piped())
    .output()
    .expect("run the command-line wallet");
    assert!(!cli.status.success(), "listaddresses has no RPC: refused");
    assert!(
        String::from_utf8_lossy(&cli.stderr).contains("in use by another"),
        "{}",
        String::from_utf8_lossy(&cli.stderr)
    );
    // Commands with an RPC are answered by the service that holds the file.
    let cli = wallet_command(
        node,
        &service.datadir,
        &["--wallet", "bob", "getnewaddress", "x"],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .output()
    .expect("run the command-line wallet");
    let forwarded = dotcoin_functional_tests::ok_stdout("the command-line wallet", &cli);
    let info = service.at(Some("bob"), "getaddressinfo", json!([forwarded]));
    assert_eq!(
        (info["ismine"].clone(), info["labels"].clone()),
        (json!(true), json!(["x"]))
    );
    let cli = wallet_command(node, &service.datadir, &["--wallet", "bob", "getbalance"])
        .stdout(Stdio::piped())
        .output()
        .expect("run the command-line wallet");
    let text = String::from_utf8_lossy(&cli.stdout);
    assert!(text.contains("\"untrusted_pending\": 7.00000000"), "{text}");

    // Unloaded, bob's file is free again; loaded again, its coins are there.
    service.at(Some("bob"), "unloadwallet", json!([]));
    assert_eq!(service.rpc("listwallets", json!([])), json!(["default"]));
    assert_eq!(service.code(None, "createwallet", json!(["bob"])), -4);
    let listed = wallet_command(
        node,
        &service.datadir,
        &["--wallet", "bob", "listaddresses"],
    )
    .output()
    .expect("run the command-line wallet");
    assert!(listed.status.success(), "the lock is released on unload");
    service.rpc("loadwallet", json!(["bob"]));
    let bob = service.at(Some("bob"), "getbalances", json!([]));
    assert_eq!(sat(&bob["mine"]["untrusted_pending"]), 7 * COIN);
}

#[test]
fn dotcoin_cli_routes_wallet_calls_to_the_service() {
    let node = &TestNode::start(&[]);
    // In the node's datadir, where dotcoin-cli looks for both cookies.
    let datadir = node.dir.path().to_path_buf();
    let service = WalletService::start_in(node, &datadir, &[], &[]);
    let port = service.port.to_string();
    let address = node.cli_ok(&["-walletport", &port, "getnewaddress", "cli"]);
    assert!(address.starts_with("dcrt1p"), "{address}");
    assert_eq!(
        node.cli_ok(&["-walletport", &port, "getbalance"]),
        "0.00000000"
    );
    node.cli_ok(&["-walletport", &port, "createwallet", "carol"]);
    let info = node.cli_ok(&["-walletport", &port, "-rpcwallet=carol", "getwalletinfo"]);
    let info: Value = serde_json::from_str(&info).expect("JSON");
    assert_eq!(info["walletname"], "carol");
    // Node calls still go to the node.
    assert_eq!(
        node.cli_ok(&["-walletport", &port, "-rpcwallet=carol", "getblockcount"]),
        "0"
    );
    let out = node.cli(&["-walletport", &port, "-rpcwallet=nope", "getbalance"]);
    assert_eq!(out.status.code(), Some(18));
    assert!(String::from_utf8_lossy(&out.stderr).contains("error code: -18"));
    let out = node.cli(&["-walletport", &port, "getbalance"]);
    assert_eq!(out.status.code(), Some(19), "two wallets: name one");

    // `stop` ends the service, which takes its cookie along.
    let mut service = service;
    service.stop();
    assert!(!datadir.join("regtest/.wallet-cookie").exists());
}

#[test]
fn hostile_parameters_get_core_error_codes() {
    let node = &TestNode::start(&[]);
    let service = WalletService::start(node, &[]);
    let mine = fund(node, &service, None);
    let (_, other) = test_keypair();
    let main_net = Address::new(
        dotcoin_common::Network::Main,
        mine.parse::<Address>().expect("address").pubkey,
    )
    .to_string();
    let cases: Vec<(&str, Value, i64)> = vec![
        ("getnewaddress", json!([5]), -3),
        ("getnewaddress", json!(["*"]), -11),
        ("getnewaddress", json!(["", "legacy"]), -5),
        ("getbalance", json!(["x"]), -32),
        ("getbalance", json!(["*", -1]), -8),
        ("sendtoaddress", json!(["not-an-address", 1]), -5),
        ("sendtoaddress", json!([main_net, 1]), -5),
        ("sendtoaddress", json!([other]), -1),
        ("sendtoaddress", json!([other, -1]), -3),
        ("sendtoaddress", json!([other, 0]), -3),
        ("sendtoaddress", json!([other, "abc"]), -3),
        ("sendtoaddress", json!([other, true]), -3),
        ("sendtoaddress", json!([other, 1.123456789]), -3),
        ("sendtoaddress", json!([other, 1e300]), -3),
        ("sendtoaddress", json!([other, 1_000_000]), -6),
        ("sendtoaddress", json!([other, 0.000001]), -6),
        ("sendtoaddress", json!([other, 1, 5]), -3),
        ("sendtoaddress", json!([other, 1, "", "", "yes"]), -3),
        (
            "sendtoaddress",
            json!({"address": other, "amount": 1, "fee_rate": -1}),
            -3,
        ),
        (
            "sendtoaddress",
            json!({"address": other, "amount": 1, "fee_rate": 0.5}),
            -6,
        ),
        // maxtxfee: 10 000 sat/vB on a few hundred bytes is far over 0.10 DOT.
        (
            "sendtoaddress",
            json!({"address": other, "amount": 1, "fee_rate": 100_000}),
            -6,
        ),
        (
            "sendtoaddress",
            json!({"address": other, "amount": 1, "fee_rate": 2, "conf_target": 6}),
            -8,
        ),
        (
            "sendtoaddress",
            json!({"address": other, "amount": 1, "estimate_mode": "fast"}),
            -8,
        ),
        ("sendtoaddress", json!({"address": other, "bogus": 1}), -8),
        ("sendmany", json!(["", {}]), -8),
        ("sendmany", json!(["x", {other.clone(): 1}]), -8),
        ("sendmany", json!(["", [other]]), -3),
        ("sendmany", json!(["", {other.clone(): "lots"}]), -3),
        ("sendmany", json!(["", {"bogus": 1}]), -5),
        (
            "sendmany",
            json!(["", {other.clone(): 1}, 1, "", [mine.clone()]]),
            -8,
        ),
        ("listtransactions", json!(["*", -1]), -8),
        ("listtransactions", json!(["*", 10, -1]), -8),
        ("listtransactions", json!(["*", "ten"]), -3),
        ("listunspent", json!([1, 9, ["bogus"]]), -5),
        (
            "listunspent",
            json!([1, 9, [mine.clone(), mine.clone()]]),
            -8,
        ),
        ("gettransaction", json!(["zz"]), -8),
        ("gettransaction", json!(["00".repeat(32)]), -5),
        ("gettransaction", json!([5]), -3),
        ("walletpassphrase", json!(["pw", 10]), -15),
        ("walletlock", json!([]), -15),
        ("walletpassphrasechange", json!(["a", "b"]), -15),
        ("encryptwallet", json!([""]), -8),
        ("dumpprivkey", json!(["bogus"]), -5),
        ("dumpprivkey", json!([other]), -4),
        ("importprivkey", json!(["zz"]), -5),
        ("importprivkey", json!(["00".repeat(32)]), -5),
        ("importprivkey", json!([hex::encode([9u8; 32]), "*"]), -11),
        ("getaddressinfo", json!(["bogus"]), -5),
        ("signrawtransactionwithwallet", json!(["zz"]), -22),
        ("signrawtransactionwithwallet", json!(["00"]), -22),
        ("backupwallet", json!([""]), -4),
        ("loadwallet", json!(["../escape"]), -4),
        ("createwallet", json!(["x", false, false, "", true]), -4),
        ("createwallet", json!(["x", true, false, "pass"]), -4),
        ("unloadwallet", json!(["ghost"]), -18),
        ("getwalletinfo", json!([1]), -1),
        ("getdescriptorinfo", json!(["wpkh(00)"]), -5),
        (
            "getdescriptorinfo",
            json!([format!("{RAWTR}#aaaaaaaa")]),
            -5,
        ),
        ("deriveaddresses", json!([RAWTR, 3]), -8),
        ("nosuchmethod", json!([]), -32601),
    ];
    let mut failures = Vec::new();
    for (method, params, code) in &cases {
        match service.call(None, method, params.clone()) {
            Err((got, _)) if got == *code => {}
            other => failures.push(format!("{method} {params}: expected {code}, got {other:?}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // A repeated address in sendmany is refused, not silently overwritten.
    let body =
        format!(r#"{{"id":1,"method":"sendmany","params":["",{{"{other}":1,"{other}":2}}]}}"#);
    let (status, v) = service.post("/", &body);
    assert_eq!(status, 500);
    assert_eq!(v["error"]["code"], -8, "{v}");
    assert!(v["error"]["message"]
        .as_str()
        .expect("message")
        .contains("duplicated address"));
    assert!(mempool(node).is_empty(), "nothing was sent");

    // The wire: 2.0 replies, unknown method 404, no credentials 401, garbage -32700.
    let (status, v) = service.post("/", r#"{"jsonrpc":"2.0","id":7,"method":"getbalance"}"#);
    assert_eq!(
        (status, v["id"].clone(), v["jsonrpc"].clone()),
        (200, json!(7), json!("2.0"))
    );
    let (status, _) = service.post("/", r#"{"id":1,"method":"nosuchmethod"}"#);
    assert_eq!(status, 404);
    let (status, _) = http_request(service.port, "POST", "/", "{}", None);
    assert_eq!(status, 401);
    let (status, v) = service.post("/", "{not json");
    assert_eq!((status, v["error"]["code"].clone()), (500, json!(-32700)));
    let (status, _) = http_request(
        service.port,
        "POST",
        "/elsewhere",
        "{}",
        Some(&service.cookie_auth()),
    );
    assert_eq!(status, 404);
    let (status, v) = service.post(
        "/",
        r#"[{"jsonrpc":"2.0","id":1,"method":"listwallets"},{"jsonrpc":"2.0","id":2,"method":"walletlock"}]"#,
    );
    assert_eq!(status, 200);
    assert_eq!(v[0]["result"], json!(["default"]));
    assert_eq!(v[1]["error"]["code"], -15);

    // After all that, the wallet still works and sends with a chosen fee rate.
    let txid = service.rpc(
        "sendtoaddress",
        json!({"address": other, "amount": 1, "fee_rate": 3, "subtractfeefromamount": true}),
    );
    assert!(mempool(node).contains(&txid.as_str().expect("txid").to_owned()));
    let txid = service.rpc(
        "sendmany",
        json!(["", {other.clone(): 0.5, mine.clone(): 0.25}]),
    );
    assert!(mempool(node).contains(&txid.as_str().expect("txid").to_owned()));
}

#[test]
fn keys_never_reach_the_node_or_the_service_log() {
    // Every log category at debug level, in the node and in the service.
    let node = TestNode::start(&["--debug", "all"]);
    let service = WalletService::start_env(&node, &[], &[("RUST_LOG", "trace")]);
    let mine = fund(&node, &service, None);
    let other = service.rpc("getnewaddress", json!(["other"]));
    service.rpc("sendtoaddress", json!([other, 12.5]));
    service.rpc(
        "sendmany",
        json!(["", {other.as_str().expect("address"): 1}]),
    );
    service.rpc("importprivkey", json!([hex::encode([3u8; 32]), "imported"]));

    // The secrets: every key of the file, and dumpprivkey of each handed-out address.
    let file = service.datadir.join("regtest/wallets/default.json");
    let doc: Value =
        serde_json::from_slice(&std::fs::read(&file).expect("wallet file")).expect("JSON");
    // A key of the seed has no secret in the file: its signing key comes from
    // dumpprivkey; an imported key's is in the file.
    let mut secrets: Vec<[u8; 32]> = Vec::new();
    for key in doc["keys"].as_array().expect("keys") {
        let dumped = service.rpc("dumpprivkey", json!([key["address"]]));
        let payload = bitcoincore_rpc::bitcoin::base58::decode_check(dumped.as_str().expect("WIF"))
            .expect("base58");
        let bytes: [u8; 32] = payload[1..33].try_into().expect("32 bytes");
        assert_eq!(dumped, regtest_wif(&bytes));
        if let Some(plain) = key["secret"].as_str() {
            assert_eq!(plain, hex::encode(bytes));
        }
        secrets.push(bytes);
    }
    // And the seed: its words, its BIP39 seed bytes.
    let words = doc["seed"]["words"].as_str().expect("the words").to_owned();
    secrets.push(
        dotcoin_functional_tests::bip39_seed(&words, "")[..32]
            .try_into()
            .expect("32"),
    );
    assert!(secrets.len() > 20);
    let [raw, hex_lower, hex_upper] = Needles::secret_encodings(&secrets);
    let word_run = Needles::new(&[words.into_bytes()].into_iter().collect());
    // Positive control: the scan finds what the node holds, the public key rewards pay.
    let pubkey = mine.parse::<Address>().expect("address").pubkey.0.to_vec();
    let control = Needles::new(&[pubkey].into_iter().collect());

    // The node's memory, while it runs.
    let hits = dotcoin_functional_tests::scan_process_memory(
        node.pid(),
        &[&raw, &hex_lower, &hex_upper, &word_run],
    );
    assert!(
        hits.is_empty(),
        "wallet secrets in the node's memory: {}",
        hits.len()
    );
    assert!(
        !dotcoin_functional_tests::scan_process_memory(node.pid(), &[&control]).is_empty(),
        "the memory scan finds the rewarded public key"
    );

    // The service's log.
    let log = service.log();
    assert!(log.contains("sent"), "the log has the service's events");
    for n in [&hex_lower, &hex_upper, &word_run] {
        assert!(
            n.find(log.as_bytes()).is_none(),
            "a secret in the service's log"
        );
    }

    // The node's files, after a clean stop.
    let mut node = node;
    assert_eq!(node.stop(), 0);
    let mut control_found = false;
    for f in files_under(node.dir.path()) {
        let bytes = std::fs::read(&f).expect("read node file");
        for n in [&raw, &hex_lower, &hex_upper, &word_run] {
            assert!(
                n.find(&bytes).is_none(),
                "a wallet secret in {}",
                f.display()
            );
        }
        control_found |= control.find(&bytes).is_some();
    }
    assert!(control_found, "the file scan finds the rewarded public key");
}

#[test]
fn python_bitcoinlib_rawproxy_drives_the_wallet_service() {
    let dir = dotcoin_functional_tests::python_bitcoinlib();
    let node = TestNode::start(&[]);
    let service = WalletService::start(&node, &[]);
    let cookie =
        std::fs::read_to_string(service.datadir.join("regtest/.wallet-cookie")).expect("cookie");
    let node_cookie = std::fs::read_to_string(node.datadir().join(".cookie")).expect("cookie");
    let script =
        dotcoin_functional_tests::workspace_root().join("tests/clients/wallet_rawproxy.py");
    let out = Command::new("python3")
        .arg(script)
        .env("PYTHONPATH", &dir)
        .env(
            "WALLET_URL",
            format!("http://{}@127.0.0.1:{}", cookie.trim(), service.port),
        )
        .env(
            "NODE_URL",
            format!("http://{}@127.0.0.1:{}", node_cookie.trim(), node.rpc_port),
        )
        .output()
        .expect("run python3");
    dotcoin_functional_tests::assert_ran("RawProxy script", &out);
}

#[test]
fn listunspent_applies_cores_query_options() {
    let node = TestNode::start(&[]);
    let service = WalletService::start(&node, &[]);
    let address = service.rpc("getnewaddress", json!([]));
    // Three mature coinbases of 50 DOT, and immature ones behind them.
    node.generate(3, address.as_str().expect("address"));
    let (_, other) = test_keypair();
    node.generate(100, &other);
    wait_until("the service to follow the tip", TIMEOUT, || {
        service.rpc("getwalletinfo", json!([]))["lastprocessedblock"]["height"] == 103
    });
    // A 10 DOT output to itself beside 40 DOT of change, confirmed.
    let own = service.rpc("getnewaddress", json!([]));
    service.rpc("sendtoaddress", json!([own, 10]));
    node.generate(1, &other);
    let count = |params: Value| -> usize {
        service
            .rpc("listunspent", params)
            .as_array()
            .expect("array")
            .len()
    };
    assert_eq!(
        count(json!([])),
        4,
        "two coinbases, the payment and the change"
    );
    let window = service.rpc(
        "listunspent",
        json!([1, 9_999_999, [], true, {"minimumAmount": 5, "maximumAmount": 45}]),
    );
    let values: Vec<u64> = window
        .as_array()
        .expect("array")
        .iter()
        .map(|u| sat(&u["amount"]))
        .collect();
    assert_eq!(values.len(), 2, "{window}");
    assert!(
        values.iter().all(|v| (5 * COIN..=45 * COIN).contains(v)),
        "{window}"
    );
    assert_eq!(
        count(json!([1, 9_999_999, [], true, {"maximumCount": 3}])),
        3
    );
    assert_eq!(
        count(json!([1, 9_999_999, [], true, {"maximumCount": 0}])),
        4
    );
    // Named, as python-bitcoinlib and Core scripts send it; the output that reaches the
    // sum is the last listed.
    let sum = service.rpc(
        "listunspent",
        json!({"query_options": {"minimumSumAmount": 55}}),
    );
    let listed: Vec<u64> = sum
        .as_array()
        .expect("array")
        .iter()
        .map(|u| sat(&u["amount"]))
        .collect();
    let total: u64 = listed.iter().sum();
    assert!(total >= 55 * COIN, "{sum}");
    assert!(
        total - listed.last().expect("one at least") < 55 * COIN,
        "stops at the output reaching the sum: {sum}"
    );
    // A fresh coinbase: listed only on request.
    node.generate(1, address.as_str().expect("address"));
    let immature = json!([0, 9_999_999, [], true, {"include_immature_by_default": true}]);
    assert_eq!(count(json!([0])), 4);
    assert_eq!(count(immature), 5);
    // An unknown key is refused, not ignored.
    assert_eq!(
        service.code(
            None,
            "listunspent",
            json!([1, 9_999_999, [], true, {"minimumamount": 1}])
        ),
        -8
    );
}

/// A secret's WIF on regtest (version byte 0xef, compressed flag), as `dumpprivkey` writes it.
fn regtest_wif(secret: &[u8; 32]) -> String {
    let mut payload = vec![0xef];
    payload.extend_from_slice(secret);
    payload.push(0x01);
    bitcoincore_rpc::bitcoin::base58::encode_check(&payload)
}

/// An un-ranged descriptor: BIP386's x-only key as is.
const RAWTR: &str = "rawtr(a34b99f22c790c4e36b2b3c2c35a36db06226e41c692fc82b8b56ac1c540c5bd)";
