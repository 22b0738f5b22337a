//! The wallet service killed with SIGKILL while a client works it: an address is on disk
//! before it is handed out, and a change key before its transaction leaves the wallet, so
//! after every restart each address the client was given, and each output of each pooled
//! transaction (all of them pay the wallet itself here), is still the wallet's.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use dotcoin_functional_tests::{try_http_raw, wait_until, TestNode, WalletServiceProcess, TIMEOUT};
use serde_json::{json, Value};

const ADDRESS_KILLS: usize = 8;
const SEND_KILLS: usize = 6;

/// One call to the service; `None` when it is not there to answer (killed) or refuses.
fn call(port: u16, auth: &str, method: &str, params: Value) -> Option<Value> {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).to_string();
    let request = format!(
        "POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: {auth}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let (status, _, text) = try_http_raw(port, &request).ok()?;
    if status != 200 {
        return None;
    }
    serde_json::from_str::<Value>(&text)
        .ok()?
        .get("result")
        .cloned()
}

/// Every address in `addresses` is the wallet's, as the restarted service says.
fn all_mine(service: &WalletServiceProcess, addresses: &[String]) {
    let auth = service.cookie_auth();
    for a in addresses {
        let info = call(service.port, &auth, "getaddressinfo", json!([a]))
            .unwrap_or_else(|| panic!("getaddressinfo {a}"));
        assert_eq!(info["ismine"], true, "{a} was handed out and is lost");
    }
}

/// Every output of every transaction in the node's pool, by address.
fn pooled_outputs(node: &TestNode) -> Vec<String> {
    let pool: Vec<String> = node.rpc_typed("getrawmempool", json!([]));
    pool.iter()
        .flat_map(|txid| {
            let tx = node.rpc("getrawtransaction", json!([txid, true]));
            tx["vout"]
                .as_array()
                .expect("outputs")
                .iter()
                .map(|o| {
                    o["scriptPubKey"]["address"]
                        .as_str()
                        .expect("address")
                        .to_owned()
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Runs `work` on a thread against the service until it is killed, once the work has
/// done `at_least` calls (`done` counts them); returns what the work recorded.
fn kill_while(
    service: &mut WalletServiceProcess,
    at_least: usize,
    work: impl FnOnce(u16, String, Arc<Mutex<Vec<String>>>, Arc<AtomicBool>) + Send + 'static,
) -> Vec<String> {
    let record = Arc::new(Mutex::new(Vec::new()));
    let running = Arc::new(AtomicBool::new(true));
    let thread = {
        let (port, auth) = (service.port, service.cookie_auth());
        let (record, running) = (Arc::clone(&record), Arc::clone(&running));
        std::thread::spawn(move || work(port, auth, record, running))
    };
    wait_until("the client's calls before the kill", TIMEOUT, || {
        record.lock().expect("record").len() >= at_least || !running.load(Ordering::SeqCst)
    });
    assert!(
        running.load(Ordering::SeqCst),
        "the client stopped before the kill"
    );
    service.kill();
    thread.join().expect("client thread");
    let got = record.lock().expect("record").clone();
    got
}

#[test]
fn sigkills_during_getnewaddress_lose_no_address() {
    let node = TestNode::start(&[]);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut handed_out = Vec::new();
    for round in 0..ADDRESS_KILLS {
        let mut service = WalletServiceProcess::start_in(&node, dir.path(), &[], &[]);
        all_mine(&service, &handed_out);
        // A kill at a different point of the loop each round.
        let got = kill_while(
            &mut service,
            2 + 3 * round,
            |port, auth, record, running| {
                while let Some(a) = call(port, &auth, "getnewaddress", json!([])) {
                    record
                        .lock()
                        .expect("record")
                        .push(a.as_str().expect("an address").to_owned());
                }
                running.store(false, Ordering::SeqCst);
            },
        );
        handed_out.extend(got);
    }
    let service = WalletServiceProcess::start_in(&node, dir.path(), &[], &[]);
    all_mine(&service, &handed_out);
    assert!(
        handed_out.len() >= ADDRESS_KILLS * 2,
        "{}",
        handed_out.len()
    );
}

#[test]
fn sigkills_during_sends_to_itself_lose_no_output() {
    let node = TestNode::start(&[]);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut handed_out = Vec::new();
    {
        let service = WalletServiceProcess::start_in(&node, dir.path(), &[], &[]);
        let auth = service.cookie_auth();
        let funded = call(service.port, &auth, "getnewaddress", json!([])).expect("address");
        let funded = funded.as_str().expect("an address").to_owned();
        node.generate(120, &funded);
        wait_until("the wallet to see its rewards", TIMEOUT, || {
            call(service.port, &auth, "getbalance", json!([]))
                .and_then(|b| b.as_f64())
                .is_some_and(|b| b > 100.0)
        });
        handed_out.push(funded);
    }
    let (_, other) = dotcoin_functional_tests::test_keypair();
    for round in 0..SEND_KILLS {
        let mut service = WalletServiceProcess::start_in(&node, dir.path(), &[], &[]);
        all_mine(&service, &handed_out);
        all_mine(&service, &pooled_outputs(&node));
        // The change of the last round confirms, so every round has coins to send.
        node.generate(1, &other);
        let got = kill_while(&mut service, 2 + round, |port, auth, record, running| {
            while let Some(to) = call(port, &auth, "getnewaddress", json!([])) {
                let to = to.as_str().expect("an address").to_owned();
                record.lock().expect("record").push(to.clone());
                if call(port, &auth, "sendtoaddress", json!([to, 0.1])).is_none() {
                    break;
                }
            }
            running.store(false, Ordering::SeqCst);
        });
        handed_out.extend(got);
    }
    let service = WalletServiceProcess::start_in(&node, dir.path(), &[], &[]);
    all_mine(&service, &handed_out);
    let outputs = pooled_outputs(&node);
    assert!(!outputs.is_empty(), "the sends reached the pool");
    all_mine(&service, &outputs);
}
