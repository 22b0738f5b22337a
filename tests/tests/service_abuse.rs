//! Hostile local clients against every local server at once: a node serving RPC and the
//! dashboard, mining and connected to a second node, and a wallet service following it.
//! Each case floods or starves the servers the way a local program could (idle sockets,
//! slowloris heads and bodies, huge bodies and batches, WebSocket and event-stream
//! clients that never read, foreign hosts and origins), then checks that honest calls are
//! still answered and that the node kept mining and relaying throughout: its block count
//! rose as the peer saw it, and a block the peer mined still arrived.

use std::io::Write;
use std::net::TcpStream;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use dotcoin_functional_tests::{
    block_at, block_on, http_raw, open_sse, proc_status_kib, raise_nofile_limit, read_until_closed,
    sse_ended, test_keypair, try_http_raw, wait_until, ws_connect, ws_subscribe, TestNode,
    WalletServiceProcess, TIMEOUT,
};
use serde_json::{json, Value};

/// The servers' timeout in these tests (`--rpcservertimeout` of the node and the wallet
/// service, `--dashboardtimeout`).
const SERVER_TIMEOUT_S: u64 = 4;
/// How long an honest call may take while the servers are under attack: a bound on
/// eviction's correctness (it must not wait for any timeout), not a speed figure.
const HONEST: Duration = Duration::from_secs(5);
/// A name the dashboard is configured to answer to.
const ALLOWED_HOST: &str = "dotcoin.test";

struct Net {
    node: TestNode,
    peer: TestNode,
    wallet: WalletServiceProcess,
    peer_addr: String,
}

impl Net {
    fn start() -> Net {
        raise_nofile_limit();
        let (_, miner) = test_keypair();
        let timeout = SERVER_TIMEOUT_S.to_string();
        let node = TestNode::start(&[
            "--maxoutbound",
            "0",
            "--dashboard",
            "127.0.0.1:0",
            "--rpcservertimeout",
            &timeout,
            "--dashboardtimeout",
            &timeout,
            "--dashboardallowhost",
            ALLOWED_HOST,
            "--mine",
            "--mineraddress",
            &miner,
            "--minerthreads",
            "1",
            "--minerinterval",
            "1000",
        ]);
        let peer = TestNode::start(&[
            "--maxoutbound",
            "0",
            "--addnode",
            &format!("127.0.0.1:{}", node.p2p_port),
        ]);
        let wallet = WalletServiceProcess::start(&node, &["--rpcservertimeout", &timeout]);
        let (_, peer_addr) = test_keypair();
        let net = Net {
            node,
            peer,
            wallet,
            peer_addr,
        };
        wait_until("the peer to connect", TIMEOUT, || {
            net.peer
                .rpc("getconnectioncount", json!([]))
                .as_u64()
                .is_some_and(|n| n >= 1)
        });
        net
    }

    /// The invariant of every case: the node mined (the peer sees its chain grow) and
    /// a block the peer mines reaches the node.
    fn assert_mining_and_relaying(&self) {
        let count = |n: &TestNode| n.rpc("getblockcount", json!([])).as_u64().unwrap_or(0);
        let seen = count(&self.peer);
        wait_until("the node's mining to reach the peer", TIMEOUT, || {
            count(&self.peer) > seen
        });
        // Three blocks at once: more work than the node mines meanwhile, so the node
        // fetches them whichever tip it has.
        let hashes = self
            .peer
            .rpc("generatetoaddress", json!([3, self.peer_addr]));
        let last = hashes[2].as_str().expect("block hash").to_owned();
        wait_until("the peer's block to reach the node", TIMEOUT, || {
            self.node.try_rpc("getblockheader", json!([last])).is_ok()
        });
        let height = count(&self.node);
        wait_until("the node to keep mining", TIMEOUT, || {
            count(&self.node) > height
        });
    }
}

/// `f` in a thread, its answer if it comes within `within`.
fn within<T: Send + 'static>(within: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(within)
        .unwrap_or_else(|_| panic!("no answer within {within:?}"))
}

fn post(port: u16, path: &str, body: &str, auth: Option<&str>) -> String {
    let auth_line = auth
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n{auth_line}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// An honest call to each server, each answered within [`HONEST`].
fn honest_calls_answered(net: &Net) {
    let (rpc, dash, wallet) = (net.node.rpc_port, net.node.dashboard_port, net.wallet.port);
    let node_auth = net.node.cookie_auth();
    let wallet_auth = net.wallet.cookie_auth();
    let call = r#"{"jsonrpc":"2.0","id":1,"method":"getblockcount","params":[]}"#;
    let (status, _, body) = within(HONEST, move || {
        http_raw(rpc, &post(rpc, "/", call, Some(&node_auth)))
    });
    assert_eq!(status, 200, "node RPC: {body}");
    assert!(body.contains("\"result\""), "{body}");
    let (status, _, body) = within(HONEST, move || {
        http_raw(
            dash,
            &format!(
                "GET /api/node HTTP/1.1\r\nHost: 127.0.0.1:{dash}\r\nConnection: close\r\n\r\n"
            ),
        )
    });
    assert_eq!(status, 200, "dashboard: {body}");
    let call = r#"{"jsonrpc":"2.0","id":1,"method":"getwalletinfo","params":[]}"#;
    let (status, _, body) = within(HONEST, move || {
        http_raw(wallet, &post(wallet, "/", call, Some(&wallet_auth)))
    });
    assert_eq!(status, 200, "wallet service: {body}");
    assert!(body.contains("walletname"), "{body}");
}

fn closed_now(s: &TcpStream) -> bool {
    s.set_nonblocking(true).expect("nonblocking");
    let mut b = [0u8; 1];
    let closed = match s.peek(&mut b) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => e.kind() != std::io::ErrorKind::WouldBlock,
    };
    s.set_nonblocking(false).expect("blocking");
    closed
}

#[test]
fn idle_sockets_on_every_server_cannot_lock_out_honest_callers() {
    let net = Net::start();
    let ports = [net.node.rpc_port, net.node.dashboard_port, net.wallet.port];
    // 1 200 sockets from 127.0.0.1 that never speak, over the three servers: far past
    // every cap (128, 128 and 64 sockets; 96, 96 and 48 per client).
    let mut idle: Vec<(u16, TcpStream)> = Vec::new();
    for i in 0..1200 {
        let port = ports[i % 3];
        idle.push((
            port,
            TcpStream::connect(("127.0.0.1", port)).expect("connect"),
        ));
    }
    // Each newcomer past a cap closed the longest-idle socket instead of being refused.
    wait_until("the surplus idle sockets to be closed", TIMEOUT, || {
        ports.iter().zip([96usize, 96, 48]).all(|(port, cap)| {
            let mine: Vec<&TcpStream> = idle
                .iter()
                .filter(|(p, _)| p == port)
                .map(|(_, s)| s)
                .collect();
            let open = mine.iter().filter(|s| !closed_now(s)).count();
            open <= cap
        })
    });
    // With the sockets still held, an honest caller from the same address is answered
    // at once, on each server.
    honest_calls_answered(&net);
    net.assert_mining_and_relaying();
    drop(idle);
}

/// Writes `head` then `trickle` one byte a second, until the server closes; returns the
/// socket's reading half.
fn trickle(port: u16, head: String, trickle: &'static [u8]) -> TcpStream {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.write_all(head.as_bytes()).expect("head");
    let mut w = s.try_clone().expect("clone");
    std::thread::spawn(move || {
        for b in trickle.iter().cycle().take(120) {
            if w.write_all(&[*b]).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_secs(1));
        }
    });
    s
}

#[test]
fn slowloris_heads_and_bodies_are_timed_out() {
    let net = Net::start();
    let (rpc, dash, wallet) = (net.node.rpc_port, net.node.dashboard_port, net.wallet.port);
    let started = Instant::now();
    let slow_head = |port: u16| {
        trickle(
            port,
            format!("POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Slow: "),
            b"a",
        )
    };
    let slow_body = |port: u16, path: &str, auth: &str| {
        trickle(
            port,
            format!(
                "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nAuthorization: {auth}\r\nContent-Length: 100000\r\n\r\n["
            ),
            b" ",
        )
    };
    let node_auth = net.node.cookie_auth();
    let wallet_auth = net.wallet.cookie_auth();
    let mut heads = [slow_head(rpc), slow_head(dash), slow_head(wallet)];
    let mut rpc_body = slow_body(rpc, "/", &node_auth);
    let mut dash_body = slow_body(dash, "/api/action/generate", &node_auth);
    let mut wallet_body = slow_body(wallet, "/", &wallet_auth);
    // Meanwhile honest callers are served.
    honest_calls_answered(&net);
    let bound = Duration::from_secs(SERVER_TIMEOUT_S) + TIMEOUT;
    for (i, s) in heads.iter_mut().enumerate() {
        assert!(
            read_until_closed(s, bound).is_some(),
            "slow head {i} still open after {:?}",
            started.elapsed()
        );
    }
    // A body is bounded as a whole, not per byte: 408 and the connection closed.
    for (what, s) in [("node", &mut rpc_body), ("wallet", &mut wallet_body)] {
        let got =
            read_until_closed(s, bound).unwrap_or_else(|| panic!("{what}: slow body still open"));
        let text = String::from_utf8_lossy(&got);
        assert!(text.starts_with("HTTP/1.1 408"), "{what}: {text}");
    }
    // The dashboard's action cannot read its body in time either: answered and closed.
    assert!(
        read_until_closed(&mut dash_body, bound).is_some(),
        "dashboard: slow body still open"
    );
    honest_calls_answered(&net);
    net.assert_mining_and_relaying();
}

/// Sends a `declared`-length head (or chunked, with `None`) and then up to 200 MiB of
/// body; returns the status line the server answered and how many body bytes it took.
fn send_huge(port: u16, auth: &str, declared: Option<u64>) -> (String, u64) {
    const TOTAL: u64 = 200 * 1024 * 1024;
    let framing = match declared {
        Some(n) => format!("Content-Length: {n}"),
        None => "Transfer-Encoding: chunked".to_owned(),
    };
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.write_all(
        format!(
            "POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nAuthorization: {auth}\r\n{framing}\r\n\r\n"
        )
        .as_bytes(),
    )
    .expect("head");
    let mut reader = s.try_clone().expect("clone");
    let writer = std::thread::spawn(move || {
        let chunk = vec![b' '; 256 * 1024];
        let framed: Vec<u8> = if declared.is_some() {
            chunk.clone()
        } else {
            let mut c = format!("{:x}\r\n", chunk.len()).into_bytes();
            c.extend_from_slice(&chunk);
            c.extend_from_slice(b"\r\n");
            c
        };
        s.set_write_timeout(Some(Duration::from_secs(20)))
            .expect("timeout");
        let mut sent = 0u64;
        while sent < TOTAL {
            if s.write_all(&framed).is_err() {
                break;
            }
            sent += chunk.len() as u64;
        }
        sent
    });
    let got = read_until_closed(&mut reader, TIMEOUT).unwrap_or_default();
    let sent = writer.join().expect("writer");
    let text = String::from_utf8_lossy(&got);
    (text.lines().next().unwrap_or("").to_owned(), sent)
}

#[test]
fn a_200_mib_body_is_refused_unread() {
    let net = Net::start();
    let node_pid = net.node.pid();
    let wallet_pid = net.wallet.pid();
    let before = (
        proc_status_kib(node_pid, "VmRSS"),
        proc_status_kib(wallet_pid, "VmRSS"),
    );
    let node_auth = net.node.cookie_auth();
    let wallet_auth = net.wallet.cookie_auth();
    for (port, auth) in [
        (net.node.rpc_port, &node_auth),
        (net.wallet.port, &wallet_auth),
    ] {
        for declared in [Some(200 * 1024 * 1024), None] {
            let (status, sent) = send_huge(port, auth, declared);
            assert!(
                status.starts_with("HTTP/1.1 413"),
                "port {port}, {declared:?}: {status:?}"
            );
            // The server stopped reading at its limit (16 MiB, the wallet's 4 MiB),
            // plus what the sockets' buffers held.
            assert!(
                sent < 100 * 1024 * 1024,
                "port {port}, {declared:?}: the server took {sent} bytes"
            );
        }
    }
    let after = (
        proc_status_kib(node_pid, "VmRSS"),
        proc_status_kib(wallet_pid, "VmRSS"),
    );
    // At most the body limit held once (and its copy), not the 200 MiB.
    assert!(
        after.0 < before.0 + 64 * 1024,
        "node RSS {} -> {} KiB",
        before.0,
        after.0
    );
    assert!(
        after.1 < before.1 + 32 * 1024,
        "wallet RSS {} -> {} KiB",
        before.1,
        after.1
    );
    honest_calls_answered(&net);
    net.assert_mining_and_relaying();
}

#[test]
fn a_million_call_batch_is_refused_with_the_batch_error() {
    let net = Net::start();
    let node_pid = net.node.pid();
    let before = proc_status_kib(node_pid, "VmRSS");
    // 3 MB of body: under the body limits, a thousand times the batch limit.
    let mut batch = String::with_capacity(3_000_002);
    batch.push('[');
    for i in 0..1_000_000 {
        if i > 0 {
            batch.push(',');
        }
        batch.push_str("{}");
    }
    batch.push(']');
    let batch = std::sync::Arc::new(batch);
    for (port, auth) in [
        (net.node.rpc_port, net.node.cookie_auth()),
        (net.wallet.port, net.wallet.cookie_auth()),
    ] {
        let body = std::sync::Arc::clone(&batch);
        let (status, _, reply) = within(TIMEOUT, move || {
            http_raw(port, &post(port, "/", &body, Some(&auth)))
        });
        assert_eq!(status, 200, "{reply}");
        let reply: Value = serde_json::from_str(&reply).expect("JSON reply");
        assert_eq!(reply["error"]["code"], -32010, "{reply}");
    }
    let after = proc_status_kib(node_pid, "VmRSS");
    assert!(
        after < before + 64 * 1024,
        "node RSS {before} -> {after} KiB"
    );
    honest_calls_answered(&net);
    net.assert_mining_and_relaying();
}

#[test]
fn a_batch_of_verbose_blocks_stops_at_the_reply_limit() {
    let net = Net::start();
    // A block of 20 000 outputs: about 800 kB raw, megabytes as verbose JSON, so a
    // thousand of them is far past the 64 MiB answer limit.
    let height = net
        .node
        .rpc("getblockcount", json!([]))
        .as_u64()
        .expect("count");
    let prev = block_at(&net.node, height);
    let big = block_on(&prev.header, height as u32 + 1, 20_000, 7);
    let hex = hex::encode(dotcoin_common::serialize(&big));
    let submitted = net.node.rpc("submitblock", json!([hex]));
    assert!(
        submitted.is_null() || submitted == "inconclusive",
        "{submitted}"
    );
    let hash = big.block_hash().to_string();
    let calls: Vec<Value> = (0..1000)
        .map(|id| json!({"jsonrpc": "2.0", "id": id, "method": "getblock", "params": [hash, 2]}))
        .collect();
    let body = Value::Array(calls).to_string();
    let port = net.node.rpc_port;
    let auth = net.node.cookie_auth();
    let before = proc_status_kib(net.node.pid(), "VmRSS");
    let (status, _, reply) = within(TIMEOUT, move || {
        http_raw(port, &post(port, "/", &body, Some(&auth)))
    });
    assert_eq!(status, 200, "{}", &reply[..reply.len().min(300)]);
    let reply: Value = serde_json::from_str(&reply).expect("JSON reply");
    assert_eq!(reply["error"]["code"], -32011, "{reply}");
    let after = proc_status_kib(net.node.pid(), "VmRSS");
    assert!(
        after < before + 256 * 1024,
        "node RSS {before} -> {after} KiB"
    );
    honest_calls_answered(&net);
    net.assert_mining_and_relaying();
}

#[test]
fn websocket_and_event_stream_clients_that_never_read_leave_honest_calls_answered() {
    let net = Net::start();
    let auth = net.node.cookie_auth();
    // 500 subscribed WebSocket clients that never read again: each past the caps (64,
    // 32 per client) closes the oldest session; HTTP callers keep their own places.
    let mut sockets = Vec::new();
    for _ in 0..500 {
        let mut ws = ws_connect(&net.node, Some(auth.clone())).expect("WebSocket");
        ws_subscribe(&mut ws, "subscribe_blocks");
        sockets.push(ws);
    }
    honest_calls_answered(&net);
    // 100 event-stream clients that never read: each past the caps (32, 8 per client)
    // ends the oldest stream.
    let streams: Vec<_> = (0..100)
        .map(|_| open_sse(net.node.dashboard_port, "/api/events", None))
        .collect();
    honest_calls_answered(&net);
    // Most of the first streams were ended by the newcomers.
    let mut streams = streams;
    let mut ended = 0;
    for r in &mut streams[..50] {
        if sse_ended(r, TIMEOUT) {
            ended += 1;
        }
    }
    assert_eq!(ended, 50, "the oldest event streams stay open");
    // A new subscriber still gets its notifications.
    let mut fresh = ws_connect(&net.node, Some(auth)).expect("WebSocket");
    ws_subscribe(&mut fresh, "subscribe_blocks");
    let note = dotcoin_functional_tests::ws_next(&mut fresh);
    assert!(note["params"]["result"].is_object(), "{note}");
    net.assert_mining_and_relaying();
    drop((sockets, streams));
}

fn dashboard_get(port: u16, path: &str, host: &str) -> (u16, String) {
    let (status, _, body) = try_http_raw(
        port,
        &format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"),
    )
    .expect("dashboard");
    (status, body)
}

#[test]
fn the_dashboard_answers_only_its_hosts() {
    let net = Net::start();
    let port = net.node.dashboard_port;
    assert_eq!(dashboard_get(port, "/api/node", "evil.example").0, 421);
    assert_eq!(
        dashboard_get(port, "/api/node", &format!("evil.example:{port}")).0,
        421
    );
    for host in [
        format!("{ALLOWED_HOST}:{port}"),
        "DOTCOIN.TEST".to_owned(),
        format!("localhost:{port}"),
        format!("127.0.0.1:{port}"),
    ] {
        let (status, body) = dashboard_get(port, "/api/node", &host);
        assert_eq!(status, 200, "{host}: {body}");
    }
    net.assert_mining_and_relaying();
}

#[test]
fn actions_refuse_other_origins_and_other_methods() {
    let net = Net::start();
    let port = net.node.dashboard_port;
    let auth = net.node.cookie_auth();
    let body = r#"{"nblocks":1,"address":"x"}"#;
    let (status, _, reply) = http_raw(
        port,
        &format!(
            "POST /api/action/generate HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nOrigin: http://evil.example\r\nContent-Type: application/json\r\nAuthorization: {auth}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    );
    assert_eq!(status, 403, "{reply}");
    // The action routes (`router` in dotcoind/src/dashboard/mod.rs) take POST only.
    for action in [
        "generate",
        "setgenerate",
        "addnode",
        "disconnectnode",
        "invalidateblock",
        "reconsiderblock",
    ] {
        let (status, body) = dashboard_get(port, &format!("/api/action/{action}"), "127.0.0.1");
        assert_eq!(status, 405, "GET {action}: {body}");
    }
    net.assert_mining_and_relaying();
}
