//! The dashboard over plain HTTP: every data endpoint's fields against what RPC says, the
//! live event stream, and actions — refused without credentials, done with them.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use dotcoin_common::rpc_types::BlockchainInfo;
use dotcoin_common::BlockHash;
use dotcoin_functional_tests::{
    files_under, http_raw, http_request, open_sse, sse_ended, test_keypair, try_http_raw,
    wait_until, TestNode, TIMEOUT,
};
use serde_json::{json, Value};

fn start() -> TestNode {
    TestNode::start(&["--dashboard", "127.0.0.1:0", "--maxoutbound", "0"])
}

fn get(n: &TestNode, path: &str) -> (u16, Value) {
    let (status, body) = http_request(n.dashboard_port, "GET", path, "", None);
    let v = serde_json::from_str(&body).unwrap_or(Value::String(body));
    (status, v)
}

fn get_ok(n: &TestNode, path: &str) -> Value {
    let (status, v) = get(n, path);
    assert_eq!(status, 200, "GET {path}: {v}");
    v
}

/// The token from the URL the node printed at start-up.
fn token(n: &TestNode) -> String {
    let log = n.stderr_log();
    let at = log.find("?token=").expect("dashboard URL printed");
    log[at + 7..]
        .chars()
        .take_while(|c| c.is_ascii_hexdigit())
        .collect()
}

fn post(n: &TestNode, action: &str, body: Value, auth: Option<&str>) -> (u16, Value) {
    let (status, text) = http_request(
        n.dashboard_port,
        "POST",
        &format!("/api/action/{action}"),
        &body.to_string(),
        auth,
    );
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[test]
fn data_endpoints_match_rpc() {
    let n = start();
    let (_, addr) = test_keypair();
    let mined = n.generate(12, &addr);
    let info: BlockchainInfo = n.rpc_typed("getblockchaininfo", json!([]));

    let node = get_ok(&n, "/api/node");
    assert_eq!(node["network"], "regtest");
    assert_eq!(node["height"], 12);
    assert_eq!(node["tip"], json!(info.bestblockhash));
    assert_eq!(node["mining"], false);
    assert_eq!(node["mempool_count"], 0);
    for key in [
        "version",
        "difficulty",
        "networkhashps",
        "localhashps",
        "peers",
        "uptime",
        "target_spacing",
        "retarget_interval",
    ] {
        assert!(!node[key].is_null(), "{key} in {node}");
    }

    let tree = get_ok(&n, "/api/tree?depth=5");
    let blocks = tree["blocks"].as_array().expect("blocks");
    assert_eq!(blocks.len(), 6, "heights 7..=12");
    assert!(blocks.iter().all(|b| b["status"] == "active"));
    assert_eq!(tree["tip"], json!(mined[11]));

    let list = get_ok(&n, "/api/blocks?count=3");
    let list = list.as_array().expect("list");
    assert_eq!(list.len(), 3);
    assert_eq!(list[0]["height"], 12);
    assert_eq!(list[0]["hash"], json!(mined[11]));
    assert_eq!(list[0]["miner"], json!(addr));
    assert_eq!(list[0]["tx_count"], 1);
    for key in ["time", "interval", "size", "fees"] {
        assert!(!list[0][key].is_null(), "{key}");
    }

    let by_height = get_ok(&n, "/api/block/5");
    let by_hash = get_ok(&n, &format!("/api/block/{}", mined[4]));
    assert_eq!(by_height, by_hash);
    assert_eq!(by_hash["hash"], json!(mined[4]));
    assert_eq!(by_hash["confirmations"], 8);
    assert_eq!(by_hash["status"], "active");
    assert_eq!(by_hash["next"], json!(mined[5]));
    // How proof of work was met: the hash, read as a number, is at most the target.
    let hash = by_hash["hash_number"].as_str().expect("hash");
    let target = by_hash["target"].as_str().expect("target");
    assert_eq!((hash.len(), target.len()), (64, 64));
    assert!(hash <= target, "{hash} > {target}");
    let cb = by_hash["txs"][0]["txid"]
        .as_str()
        .expect("coinbase txid")
        .to_owned();
    assert_eq!(get(&n, "/api/block/999").0, 404);

    let tx = get_ok(&n, &format!("/api/tx/{cb}"));
    assert_eq!(tx["coinbase"], true);
    assert_eq!(tx["confirmations"], 8);
    assert_eq!(tx["in_mempool"], false);
    assert_eq!(tx["block_height"], 5);
    assert_eq!(tx["outputs"][0]["address"], json!(addr));
    assert_eq!(tx["outputs"][0]["value"], 50.0);

    let a = get_ok(&n, &format!("/api/address/{addr}"));
    assert_eq!(a["utxos"].as_array().map(Vec::len), Some(12));
    assert_eq!(a["history"].as_array().map(Vec::len), Some(12));
    assert_eq!(a["immature"], 600.0, "12 coinbases of 50, none mature");
    assert_eq!(get(&n, "/api/address/nonsense").0, 400);

    let pool = get_ok(&n, "/api/mempool");
    assert_eq!(pool["count"], 0);
    assert!(pool["next_block"]["txids"].as_array().is_some());

    let diff = get_ok(&n, "/api/difficulty?count=5");
    assert_eq!(diff["target_spacing"], 10);
    assert_eq!(diff["points"].as_array().map(Vec::len), Some(5));

    assert_eq!(get_ok(&n, "/api/peers"), json!([]));
    // A peer, with a link to its own dashboard (one port above its P2P port).
    let peer = TestNode::start(&[
        "--maxoutbound",
        "0",
        "--addnode",
        &format!("127.0.0.1:{}", n.p2p_port),
    ]);
    wait_until("peer connected", TIMEOUT, || {
        get_ok(&n, "/api/peers")
            .as_array()
            .is_some_and(|a| !a.is_empty())
    });
    let p = get_ok(&n, "/api/peers")[0].clone();
    assert_eq!(p["inbound"], true);
    assert!(p["addr"]
        .as_str()
        .is_some_and(|a| a.starts_with("127.0.0.1:")));
    assert_eq!(p["banscore"], 0);
    assert_eq!(
        p["dashboard_url"],
        json!(format!("http://127.0.0.1:{}/", peer.p2p_port + 1))
    );
    for key in ["id", "height", "ping_ms"] {
        assert!(p.get(key).is_some(), "{key} in {p}");
    }
    // The peer's log lines carry span fields; debug.log has them without terminal colours.
    wait_until("the peer logged", TIMEOUT, || {
        peer.debug_log().contains("peer connected")
    });
    for log in [n.debug_log(), peer.debug_log()] {
        assert!(log.contains("peer{id="), "span fields are logged");
        assert!(!log.contains('\x1b'), "no escape codes in debug.log");
    }
    assert_eq!(get_ok(&n, "/api/search?q=3")["kind"], "block");
    assert_eq!(get_ok(&n, &format!("/api/search?q={cb}"))["kind"], "tx");
    assert_eq!(
        get_ok(&n, &format!("/api/search?q={addr}"))["kind"],
        "address"
    );
    assert_eq!(get(&n, "/api/search?q=zzz").0, 404);

    // The page and its assets are served, with no external URL in them.
    let (status, html) = http_request(n.dashboard_port, "GET", "/", "", None);
    assert_eq!(status, 200);
    for asset in ["/app.js", "/style.css"] {
        assert_eq!(
            http_request(n.dashboard_port, "GET", asset, "", None).0,
            200
        );
    }
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no CDN"
    );
}

#[test]
fn no_action_without_credentials() {
    let n = start();
    let (_, addr) = test_keypair();
    n.generate(2, &addr);
    let tip: BlockHash = n.rpc_typed("getbestblockhash", json!([]));
    let actions = [
        ("generate", json!({ "nblocks": 1, "address": addr })),
        (
            "setgenerate",
            json!({ "mining": true, "threads": 1, "address": addr }),
        ),
        ("addnode", json!({ "node": "127.0.0.1:1" })),
        ("disconnectnode", json!({ "id": 0 })),
        ("invalidateblock", json!({ "hash": tip })),
        ("reconsiderblock", json!({ "hash": tip })),
    ];
    for auth in [
        None,
        Some("Bearer 00112233445566778899aabbccddeeff"),
        Some("Basic x"),
    ] {
        for (name, body) in &actions {
            let (status, v) = post(&n, name, body.clone(), auth);
            assert_eq!(status, 401, "{name} with {auth:?}: {v}");
        }
    }
    // Nothing changed.
    assert_eq!(n.rpc_typed::<BlockHash>("getbestblockhash", json!([])), tip);
    assert!(!n.rpc_typed::<bool>("getgenerate", json!([])));
    assert_eq!(
        get_ok(&n, "/api/auth"),
        json!({ "authorized": false }),
        "read-only without a token"
    );

    // With the token from the printed URL, or the RPC's own credentials, they work.
    let bearer = format!("Bearer {}", token(&n));
    let (s, _) = http_request(n.dashboard_port, "GET", "/api/auth", "", Some(&bearer));
    assert_eq!(s, 200);
    let (status, v) = post(
        &n,
        "generate",
        json!({ "nblocks": 2, "address": addr }),
        Some(&bearer),
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["result"].as_array().map(Vec::len), Some(2));
    let (status, v) = post(
        &n,
        "generate",
        json!({ "nblocks": 1, "address": addr }),
        Some(&n.cookie_auth()),
    );
    assert_eq!(status, 200, "{v}");
    let new_tip: BlockHash = n.rpc_typed("getbestblockhash", json!([]));
    let (status, _) = post(
        &n,
        "invalidateblock",
        json!({ "hash": new_tip }),
        Some(&bearer),
    );
    assert_eq!(status, 200);
    assert_eq!(n.rpc_typed::<u32>("getblockcount", json!([])), 4);
    let (status, _) = post(
        &n,
        "reconsiderblock",
        json!({ "hash": new_tip }),
        Some(&bearer),
    );
    assert_eq!(status, 200);
    assert_eq!(
        n.rpc_typed::<BlockHash>("getbestblockhash", json!([])),
        new_tip
    );
    // Bad input gets the RPC's error, and a bounded click.
    let (status, v) = post(
        &n,
        "generate",
        json!({ "nblocks": 1, "address": "x" }),
        Some(&bearer),
    );
    assert_eq!((status, v["code"].clone()), (400, json!(-5)), "{v}");
    let (status, _) = post(
        &n,
        "generate",
        json!({ "nblocks": 100_000, "address": addr }),
        Some(&bearer),
    );
    assert_eq!(status, 400);
    let (status, _) = post(&n, "nosuch", json!({}), Some(&bearer));
    assert_eq!(status, 404);
}

/// Opens `/api/events`: the status code, the body's length if it has one, and the stream
/// past its headers.
fn open_events(n: &TestNode) -> (u16, Option<usize>, BufReader<TcpStream>) {
    let mut s = TcpStream::connect(("127.0.0.1", n.dashboard_port)).expect("connect");
    s.set_read_timeout(Some(TIMEOUT)).expect("timeout");
    s.write_all(
        b"GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n",
    )
    .expect("request");
    let mut r = BufReader::new(s);
    let mut line = String::new();
    r.read_line(&mut line).expect("status line");
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("status line {line:?}"));
    let mut length = None;
    loop {
        line.clear();
        r.read_line(&mut line).expect("header");
        if line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().ok();
            }
        }
    }
    (status, length, r)
}

/// dotcoind's `dashboard::MAX_EVENT_STREAMS_PER_CLIENT`.
const MAX_EVENT_STREAMS_PER_CLIENT: usize = 8;

#[test]
fn event_streams_are_capped_and_a_newcomer_ends_the_oldest() {
    let n = start();
    let mut open: Vec<BufReader<TcpStream>> = (0..MAX_EVENT_STREAMS_PER_CLIENT)
        .map(|i| {
            let (status, _, r) = open_events(&n);
            assert_eq!(status, 200, "stream {i}");
            r
        })
        .collect();
    // One more from the same address is admitted, and the client's oldest stream ends
    // (a tab left open somewhere gives way to the one in use).
    let (status, _, newest) = open_events(&n);
    assert_eq!(status, 200, "a stream past the cap");
    let mut oldest = open.remove(0);
    assert!(
        sse_ended(&mut oldest, TIMEOUT),
        "the oldest stream goes on past the cap"
    );
    // The others go on, and the rest of the dashboard still answers.
    assert!(!sse_ended(&mut open[0], Duration::from_millis(500)));
    assert_eq!(get(&n, "/api/node").0, 200);
    open.push(newest);
    assert_eq!(open.len(), MAX_EVENT_STREAMS_PER_CLIENT);
}

#[test]
fn events_stream_live() {
    let n = start();
    let mut r = open_sse(n.dashboard_port, "/api/events", Some(TIMEOUT));
    let mut line = String::new();
    let (_, addr) = test_keypair();
    let mined = n.generate(1, &addr);
    let mut seen = Vec::new();
    wait_until("tip_changed on the stream", Duration::from_secs(30), || {
        line.clear();
        if r.read_line(&mut line).is_err() {
            return false;
        }
        if let Some(name) = line.trim().strip_prefix("event: ") {
            seen.push(name.to_owned());
        }
        if let Some(data) = line.trim().strip_prefix("data: ") {
            if let Ok(v) = serde_json::from_str::<Value>(data) {
                return v["type"] == "tip_changed" && v["hash"] == json!(mined[0]);
            }
        }
        false
    });
    assert!(seen.contains(&"block_connected".to_owned()), "{seen:?}");
}

/// The mode bits of `path`.
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn the_action_token_is_random_private_and_never_logged() {
    // The umask a careless service manager or shell gives: the node must not rely on it.
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o022));
    let mut n = start();
    let datadir = n.datadir();
    let first = token(&n);
    assert_eq!(first.len(), 64, "32 random bytes: {first}");
    // The token is in a file only the node's user can read, and in no other file (the
    // logs, the chain's files): neither is the RPC password. The terminal (stderr.log
    // here) shows the URL by design.
    let file = datadir.join(".dashboard-token");
    assert_eq!(std::fs::read_to_string(&file).expect("token file"), first);
    let password = n.cookie_password();
    let cookie = datadir.join(".cookie");
    let contains =
        |hay: &[u8], needle: &str| hay.windows(needle.len()).any(|w| w == needle.as_bytes());
    let others: Vec<_> = files_under(n.dir.path())
        .into_iter()
        .filter(|p| *p != file && *p != cookie && !p.ends_with("stderr.log"))
        .collect();
    assert!(
        others.iter().any(|p| p.ends_with("debug.log")),
        "{others:?}"
    );
    for other in &others {
        let bytes = std::fs::read(other).expect("read");
        assert!(
            !contains(&bytes, &first),
            "the token reached {}",
            other.display()
        );
        assert!(
            !contains(&bytes, &password),
            "the password reached {}",
            other.display()
        );
    }
    // Everything the node writes is its user's alone.
    assert_eq!(mode(&datadir), 0o700);
    for f in files_under(&datadir) {
        assert_eq!(mode(&f) & 0o077, 0, "{} is readable by others", f.display());
    }
    // It grants actions.
    let auth = format!("Bearer {first}");
    let (status, _) = post(&n, "setgenerate", json!({"mining": false}), Some(&auth));
    assert_eq!(status, 200, "the token from the URL is accepted");
    // Shutdown takes the token file away with the cookie.
    assert_eq!(n.stop(), 0);
    assert!(!file.exists(), "the token file outlives the node");
    // A new run draws a new token; the old one no longer acts.
    n.restart();
    let second = token(&n);
    assert_ne!(second, first);
    let (status, _) = post(&n, "setgenerate", json!({"mining": false}), Some(&auth));
    assert_eq!(status, 401, "a token from an earlier run is refused");
}

#[test]
fn browsers_meet_the_same_origin_rules() {
    let n = start();
    let port = n.dashboard_port;
    let get = |host: &str| {
        http_raw(
            port,
            &format!("GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"),
        )
    };
    // An address (any, for port maps and LANs) or localhost is this machine.
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        "[::1]:5000".to_owned(),
        "10.1.2.3:5000".to_owned(),
    ] {
        let (status, head, _) = get(&host);
        assert_eq!(status, 200, "{host}");
        let head = head.to_ascii_lowercase();
        for header in [
            "x-frame-options: deny",
            "content-security-policy: default-src 'self'",
            "frame-ancestors 'none'",
            "x-content-type-options: nosniff",
            "referrer-policy: no-referrer",
        ] {
            assert!(head.contains(header), "{header} in {head}");
        }
    }
    // A DNS name may be an attacker's, re-pointed at this machine (DNS rebinding).
    for host in ["evil.example", "evil.example:8634", "127.0.0.1.nip.io:8634"] {
        let (status, head, body) = get(host);
        assert_eq!(status, 421, "{host}: {body}");
        assert!(head.to_ascii_lowercase().contains("x-frame-options: deny"));
    }
    // An action with the right token, but from another site's page, is refused.
    let token = token(&n);
    let action = |origin: &str, content_type: &str| {
        let body = r#"{"mining": false}"#;
        http_raw(
            port,
            &format!(
                "POST /api/action/setgenerate HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\
                 Origin: {origin}\r\nAuthorization: Bearer {token}\r\n\
                 Content-Type: {content_type}\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{body}",
                body.len()
            ),
        )
        .0
    };
    assert_eq!(action("http://evil.example", "application/json"), 403);
    // A form post needs no preflight from another page: actions take JSON only.
    assert_eq!(
        action(&format!("http://127.0.0.1:{port}"), "text/plain"),
        415
    );
    // Actions are POSTs; without credentials the answer says how to authenticate.
    let (status, _, _) = http_raw(
        port,
        &format!("GET /api/action/generate HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"),
    );
    assert_eq!(status, 405);
    let (status, head, _) = http_raw(
        port,
        &format!(
            "POST /api/action/generate HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\
             Content-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"
        ),
    );
    assert_eq!(status, 401);
    assert!(
        head.to_ascii_lowercase()
            .contains("www-authenticate: bearer"),
        "{head}"
    );
    assert_eq!(
        action(&format!("http://localhost:{port}"), "application/json"),
        403
    );
    assert_eq!(
        action(&format!("http://127.0.0.1:{port}"), "application/json"),
        200
    );
}

/// Whether the server closed `s` (or reset it) before `within`: a read that ends, not one
/// that times out.
fn closed_by_server(s: &mut TcpStream, within: Duration) -> bool {
    s.set_read_timeout(Some(within)).expect("timeout");
    let mut buf = [0u8; 512];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            // A 408 or the like before the close: keep reading to the end.
            Ok(_) => continue,
            Err(e) => {
                return !matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                )
            }
        }
    }
}

#[test]
fn slow_idle_and_surplus_sockets_are_closed() {
    let n = TestNode::start(&[
        "--dashboard",
        "127.0.0.1:0",
        "--maxoutbound",
        "0",
        "--dashboardtimeout",
        "3",
    ]);
    let port = n.dashboard_port;
    let addr = ("127.0.0.1", port);
    // A head that never ends (slowloris), a socket that never speaks, and idle holders
    // up to the cap for one client address.
    let mut slow = TcpStream::connect(addr).expect("connect");
    slow.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        .expect("part of a head");
    let mut idle = TcpStream::connect(addr).expect("connect");
    let holders: Vec<TcpStream> = (2..96)
        .map(|_| TcpStream::connect(addr).expect("connect"))
        .collect();
    // Past the cap a newcomer is served at once: the longest-idle socket (the slow
    // head, the first accepted) is closed to make room, long before its timeout.
    let (status, _, _) = try_http_raw(
        port,
        &format!("GET /api/node HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"),
    )
    .expect("a newcomer past the cap");
    assert_eq!(status, 200);
    assert!(
        closed_by_server(&mut slow, Duration::from_secs(2)),
        "the longest-idle socket stays open past the cap"
    );
    // The header timeout (3 s here) closes the idle one, well within the minute this
    // waits, and the node serves the honest again.
    assert!(
        closed_by_server(&mut idle, TIMEOUT),
        "the idle socket stays open"
    );
    let honest =
        format!("GET /api/node HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    wait_until(
        "an honest request after the idle holders time out",
        TIMEOUT,
        || try_http_raw(port, &honest).is_ok_and(|(status, _, _)| status == 200),
    );
    drop(holders);
}

/// Every page of `/api/address/<addr>` by the `next` cursors: the pages' outputs
/// (`txid:vout`) and history txids, and the first page.
fn address_pages(n: &TestNode, addr: &str) -> (Vec<String>, Vec<String>, Value, usize) {
    let first = get_ok(n, &format!("/api/address/{addr}"));
    let (mut utxos, mut history) = (Vec::new(), Vec::new());
    let mut pages = 0;
    let mut page = first.clone();
    loop {
        pages += 1;
        assert!(pages < 100, "the cursors end");
        let rows = page["utxos"].as_array().expect("utxos");
        let txs = page["history"].as_array().expect("history");
        // At most a page of confirmed rows, and the pool's on the first page only.
        let confirmed = rows.iter().filter(|u| !u["height"].is_null()).count();
        assert!(confirmed <= 50, "{confirmed} confirmed outputs in one page");
        assert!(txs.iter().filter(|x| !x["height"].is_null()).count() <= 50);
        utxos.extend(
            rows.iter()
                .map(|u| format!("{}:{}", u["txid"].as_str().expect("txid"), u["vout"])),
        );
        history.extend(
            txs.iter()
                .map(|x| x["txid"].as_str().expect("txid").to_owned()),
        );
        let next = page["next"].clone();
        let mut query = Vec::new();
        for cursor in ["utxos_after", "history_before"] {
            if let Some(c) = next[cursor].as_str() {
                query.push(format!("{cursor}={c}"));
            }
        }
        if query.is_empty() {
            break;
        }
        page = get_ok(n, &format!("/api/address/{addr}?{}", query.join("&")));
        // A list whose cursor was not sent starts over: keep only the paged one's rows.
        if next["utxos_after"].is_null() {
            page["utxos"] = json!([]);
        }
        if next["history_before"].is_null() {
            page["history"] = json!([]);
        }
    }
    (utxos, history, first, pages)
}

#[test]
fn address_pages_add_up_to_the_address_index_rpcs() {
    let n = start();
    let (kp, addr) = test_keypair();
    let pk = dotcoin_common::Address::parse_for(&addr, dotcoin_common::Network::Regtest)
        .expect("address")
        .pubkey;
    let other = dotcoin_common::PubKey([7; 32]);
    n.generate(130, &addr);
    let pay = |height: u64, keep: u64| {
        let prev = dotcoin_functional_tests::coinbase_at(&n, height);
        let out = |value, pubkey| dotcoin_common::TxOut {
            value: dotcoin_common::Amount::from_sat(value),
            pubkey,
        };
        dotcoin_functional_tests::signed_spend(
            &kp,
            prev,
            vec![out(keep, pk), out(4_999_000_000 - keep, other)],
        )
    };
    let hex = |tx: &dotcoin_common::Transaction| hex::encode(dotcoin_common::serialize(tx));
    // A confirmed spend (history with both sides) and one waiting in the pool.
    let confirmed = pay(1, 2_000_000_000);
    n.rpc("sendrawtransaction", json!([hex(&confirmed)]));
    n.generate(1, &addr);
    let pending = pay(2, 1_000_000_000);
    n.rpc("sendrawtransaction", json!([hex(&pending)]));

    let (utxos, history, first, pages) = address_pages(&n, &addr);
    assert!(
        pages >= 3,
        "131 outputs take three pages of 50, not {pages}"
    );
    let set = |v: &[String]| v.iter().cloned().collect::<std::collections::BTreeSet<_>>();
    assert_eq!(set(&utxos).len(), utxos.len(), "no output on two pages");
    assert_eq!(
        set(&history).len(),
        history.len(),
        "no transaction on two pages"
    );

    let q = json!([{ "addresses": [addr] }]);
    let rpc_utxos: Vec<String> = n
        .rpc("getaddressutxos", q.clone())
        .as_array()
        .expect("list")
        .iter()
        .map(|u| format!("{}:{}", u["txid"].as_str().expect("txid"), u["outputIndex"]))
        .collect();
    let rpc_txids: Vec<String> =
        serde_json::from_value(n.rpc("getaddresstxids", q.clone())).expect("txids");
    assert_eq!(set(&utxos), set(&rpc_utxos));
    assert_eq!(set(&history), set(&rpc_txids));
    assert_eq!(first["utxo_count"], json!(rpc_utxos.len()));
    assert_eq!(first["tx_count"], json!(rpc_txids.len()));
    let balance = n.rpc("getaddressbalance", q);
    let dot = |v: &Value| v.as_f64().expect("number") / 1e8;
    assert_eq!(first["balance"].as_f64(), Some(dot(&balance["balance"])));
    assert_eq!(first["immature"].as_f64(), Some(dot(&balance["immature"])));
    assert_eq!(
        first["unconfirmed"].as_f64(),
        Some(dot(&balance["unconfirmed"]))
    );
    assert_eq!(first["received"].as_f64(), Some(dot(&balance["received"])));
    assert_eq!(
        first["unconfirmed"],
        10.0 - 50.0,
        "the pool's payment less its spend"
    );

    // The history rows carry what each transaction did to the address.
    let spend_row = history_row(&n, &addr, &confirmed.txid().to_string());
    assert_eq!(
        (spend_row["received"].as_f64(), spend_row["sent"].as_f64()),
        (Some(20.0), Some(50.0))
    );
    assert_eq!(spend_row["height"], 131);

    // The transaction page resolves what its input spent from the block's undo data.
    let tx = get_ok(&n, &format!("/api/tx/{}", confirmed.txid()));
    assert_eq!(tx["inputs"][0]["value"], 50.0);
    assert_eq!(tx["inputs"][0]["address"], json!(addr));
    assert_eq!(tx["value_in"], 50.0);
    assert_eq!(tx["fee"], 0.01);
    assert_eq!(
        (tx["more_inputs"].clone(), tx["input_count"].clone()),
        (json!(false), json!(1))
    );

    // Cursors are checked, not trusted.
    for bad in ["utxos_after=zz", "history_before=1", "utxos_after=00:x"] {
        assert_eq!(
            get(&n, &format!("/api/address/{addr}?{bad}")).0,
            400,
            "{bad}"
        );
    }
}

/// The history row of `txid` on `addr`'s pages.
fn history_row(n: &TestNode, addr: &str, txid: &str) -> Value {
    let mut path = format!("/api/address/{addr}");
    loop {
        let page = get_ok(n, &path);
        if let Some(row) = page["history"]
            .as_array()
            .expect("history")
            .iter()
            .find(|x| x["txid"] == txid)
        {
            return row.clone();
        }
        let Some(c) = page["next"]["history_before"].as_str() else {
            panic!("{txid} not in the history of {addr}");
        };
        path = format!("/api/address/{addr}?history_before={c}");
    }
}
