//! The faucet of `dotcoin-wallet serve` (`POST /faucet`), against a real regtest node:
//! it pays a fresh address (the node's address index shows the coins once mined), refuses
//! the same address again inside its window (429 with `Retry-After`), refuses an amount
//! over its cap and a bad address (400) without using up the client's quota, counts a
//! client's payments per window, and is not served on the main network (the flag stops
//! the service there; a main-network service answers 403).

use std::path::Path;
use std::process::Stdio;

use dotcoin_common::rpc_types::AddressBalance;
use dotcoin_common::Network;
use dotcoin_functional_tests::{
    http_raw, http_request, test_keypair, wait_until, wallet_command, wallet_service_port,
    TestNode, WalletServiceProcess, TIMEOUT,
};
use serde_json::{json, Value};

fn faucet(port: u16, body: &Value) -> (u16, String, Value) {
    let body = body.to_string();
    let request = format!(
        "POST /faucet HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let (status, head, answer) = http_raw(port, &request);
    let v = serde_json::from_str(&answer).unwrap_or_else(|e| panic!("{e}: {answer}"));
    (status, head, v)
}

fn error_text(v: &Value) -> &str {
    v["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error text in {v}"))
}

#[test]
fn the_faucet_pays_once_per_window_within_its_cap_and_only_on_regtest() {
    let node = TestNode::start(&["--maxoutbound", "0"]);
    let svc = WalletServiceProcess::start(
        &node,
        &[
            "--faucetwallet",
            "faucet",
            "--faucetmax",
            "5",
            "--faucetwindow",
            "600",
            "--faucetperclient",
            "3",
        ],
    );
    // Fund the faucet's wallet (created at start): four mature coinbases.
    let (status, body) = http_request(
        svc.port,
        "POST",
        "/wallet/faucet",
        r#"{"jsonrpc":"2.0","id":1,"method":"getnewaddress","params":[]}"#,
        Some(&svc.cookie_auth()),
    );
    assert_eq!(status, 200, "{body}");
    let funding: Value = serde_json::from_str(&body).expect("JSON");
    let funding = funding["result"].as_str().expect("an address").to_owned();
    node.generate(104, &funding);
    let (_, miner) = test_keypair();

    // A fresh address is paid.
    let (_, fresh) = test_keypair();
    let (status, _, paid) = faucet(svc.port, &json!({ "address": fresh, "amount": 1.5 }));
    assert_eq!(status, 200, "{paid}");
    assert_eq!(paid["address"], fresh.as_str());
    let txid = paid["txid"].as_str().expect("a txid").to_owned();
    let mempool = node.rpc("getrawmempool", json!([]));
    assert!(
        mempool.as_array().expect("txids").contains(&json!(txid)),
        "{mempool}"
    );
    node.generate(1, &miner);
    let balance: AddressBalance = node.rpc_typed("getaddressbalance", json!([fresh]));
    assert_eq!(balance.balance, 150_000_000, "{balance:?}");

    // The same address again, inside the window: 429, with when to come back.
    let (status, head, refused) = faucet(svc.port, &json!({ "address": fresh, "amount": 1 }));
    assert_eq!(status, 429, "{refused}");
    let retry = refused["retry_after"].as_u64().expect("retry_after");
    assert!((1..=600).contains(&retry), "{refused}");
    assert!(
        head.to_ascii_lowercase()
            .contains(&format!("retry-after: {retry}\r\n")),
        "{head}"
    );
    assert!(error_text(&refused).contains("window"), "{refused}");

    // Over the cap, and bad addresses: 400, and nothing is paid or counted.
    let (_, other) = test_keypair();
    let (status, _, over) = faucet(svc.port, &json!({ "address": other, "amount": 5.00000001 }));
    assert_eq!(status, 400, "{over}");
    assert!(
        error_text(&over).contains("cap of 5.00000000 DOT"),
        "{over}"
    );
    let main_address =
        dotcoin_common::Address::new(Network::Main, dotcoin_common::PubKey([7; 32])).to_string();
    for bad in [json!("not-an-address"), json!(main_address), json!(42)] {
        let (status, _, v) = faucet(svc.port, &json!({ "address": bad, "amount": 1 }));
        assert_eq!(status, 400, "{bad}: {v}");
    }
    let (status, _, v) = faucet(svc.port, &json!({ "amount": 1 }));
    assert_eq!(status, 400, "{v}");
    assert_eq!(
        http_request(svc.port, "GET", "/faucet", "", None).0,
        405,
        "GET /faucet"
    );

    // The client's quota is 3 a window: the first payment and two more; a fourth
    // address is refused for the client, not the address.
    for _ in 0..2 {
        let (_, a) = test_keypair();
        let (status, _, v) = faucet(svc.port, &json!({ "address": a }));
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["amount"], json!(1.0), "the default amount: {v}");
    }
    let (_, fourth) = test_keypair();
    let (status, _, v) = faucet(svc.port, &json!({ "address": fourth }));
    assert_eq!(status, 429, "{v}");
    assert!(error_text(&v).contains("client"), "{v}");

    // The service's metrics count it.
    let (status, page) = http_request(svc.port, "GET", "/metrics", "", None);
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("dotcoin_wallet_faucet_payments_total 3\n"),
        "{page}"
    );
    assert!(
        page.contains("dotcoin_wallet_faucet_refusals_total{reason=\"rate_limited\"} 2\n"),
        "{page}"
    );
}

#[test]
fn a_service_without_the_flag_says_the_faucet_is_off() {
    let node = TestNode::start(&["--maxoutbound", "0"]);
    let svc = WalletServiceProcess::start(&node, &[]);
    let (_, a) = test_keypair();
    let (status, _, v) = faucet(svc.port, &json!({ "address": a }));
    assert_eq!(status, 404, "{v}");
    assert!(error_text(&v).contains("--faucetwallet"), "{v}");
}

/// A `dotcoin-wallet serve` killed on drop.
struct Serve(std::process::Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_faucet_is_not_served_on_the_main_network() {
    let node = TestNode::start_on(Network::Main, &["--maxoutbound", "0"]);
    let dir = tempfile::tempdir().expect("tempdir");
    // Asked for, it stops the service at start, saying why.
    let out = wallet_command(
        &node,
        dir.path(),
        &["serve", "--port", "0", "--faucetwallet", "faucet"],
    )
    .stderr(Stdio::piped())
    .output()
    .expect("run dotcoin-wallet serve");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{said}");
    assert!(said.contains("refused on the main network"), "{said}");
    assert!(!dir.path().join("wallet-service.ports").exists());

    // A main-network service answers the path with a clear 403.
    let child = wallet_command(&node, dir.path(), &["serve", "--port", "0"])
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn dotcoin-wallet serve");
    let mut serve = Serve(child);
    let ports = dir.path().join("wallet-service.ports");
    let mut port = None;
    wait_until("the main-network service to listen", TIMEOUT, || {
        assert!(
            serve.0.try_wait().expect("try_wait").is_none(),
            "the service exited"
        );
        port = wallet_service_port(Path::new(&ports));
        port.is_some()
    });
    let address = dotcoin_common::Address::new(Network::Main, dotcoin_common::PubKey([7; 32]));
    let (status, _, v) = faucet(
        port.expect("set when the wait ended"),
        &json!({ "address": address.to_string() }),
    );
    assert_eq!(status, 403, "{v}");
    assert!(
        error_text(&v).contains("refused on the main network"),
        "{v}"
    );
}
