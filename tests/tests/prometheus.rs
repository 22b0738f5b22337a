//! Debian's Prometheus scraping a devnet: three regtest nodes linked in a line and a
//! wallet service, each a target of a real `prometheus` started by the test (its own
//! free 127.0.0.1 port, a temporary TSDB, a 2 s scrape interval). Its HTTP API must report
//! every target `up`, and the three nodes' `dotcoin_chain_height` equal once a mined block
//! has reached them all. `promtool check metrics` (Prometheus's own linter, shipped in the
//! same package) must accept each node's and the wallet service's `/metrics` page.
//!
//! The Makefile's `deps` installs the package; without it the test says so and skips.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use dotcoin_functional_tests::{
    free_port, http_request, try_http_raw, wait_until, TestNode, WalletServiceProcess, TIMEOUT,
};
use serde_json::{json, Value};

/// `prometheus` and `promtool` from Debian's package, or `None` (the test is skipped).
fn prometheus_binaries() -> Option<(PathBuf, PathBuf)> {
    let found = |name: &str| {
        ["/usr/bin", "/usr/local/bin"]
            .iter()
            .map(|d| Path::new(d).join(name))
            .find(|p| p.is_file())
    };
    Some((found("prometheus")?, found("promtool")?))
}

/// A running Prometheus, killed on drop.
struct Prometheus {
    child: Child,
    port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    fn start(binary: &Path, jobs: &[(&str, Vec<u16>)]) -> Prometheus {
        let dir = tempfile::Builder::new()
            .prefix("dotcoin-prometheus-")
            .tempdir()
            .expect("tempdir");
        let mut config = String::from(
            "global:\n  scrape_interval: 2s\n  scrape_timeout: 2s\n  evaluation_interval: 1s\nscrape_configs:\n",
        );
        for (job, ports) in jobs {
            let targets: Vec<String> = ports.iter().map(|p| format!("'127.0.0.1:{p}'")).collect();
            config.push_str(&format!(
                "  - job_name: {job}\n    metrics_path: /metrics\n    static_configs:\n      - targets: [{}]\n",
                targets.join(", ")
            ));
        }
        let config_file = dir.path().join("prometheus.yml");
        std::fs::write(&config_file, config).expect("write prometheus.yml");
        let port = free_port();
        let log = dir.path().join("prometheus.log");
        let child = Command::new(binary)
            .arg(format!("--config.file={}", config_file.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("spawn prometheus");
        Prometheus {
            child,
            port,
            log,
            _dir: dir,
        }
    }

    /// The instant vector `query` evaluates to: (instance, value) pairs; empty while
    /// Prometheus is not answering yet.
    fn query(&mut self, query: &str) -> Vec<(String, String)> {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!(
                "prometheus exited ({status}):\n{}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
        }
        let request = format!(
            "GET /api/v1/query?query={query} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n",
            self.port
        );
        let Ok((200, _, body)) = try_http_raw(self.port, &request) else {
            return Vec::new();
        };
        let v: Value = serde_json::from_str(&body).expect("the query API answers JSON");
        assert_eq!(v["status"], "success", "{v}");
        v["data"]["result"]
            .as_array()
            .expect("an instant vector")
            .iter()
            .map(|r| {
                (
                    r["metric"]["instance"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    r["value"][1].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    }
}

impl Drop for Prometheus {
    // Showing a failing test's Prometheus log on stderr is the point here.
    #[allow(clippy::print_stderr)]
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!(
                "---- prometheus log ----\n{}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
        }
    }
}

/// `promtool check metrics` on `page`: its verdict and what it said.
fn promtool_check(promtool: &Path, page: &str) -> (bool, String) {
    let mut child = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn promtool");
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(page.as_bytes())
        .expect("write the page to promtool");
    let out = child.wait_with_output().expect("promtool ran");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn metrics_page(port: u16) -> String {
    let (status, body) = http_request(port, "GET", "/metrics", "", None);
    assert_eq!(status, 200, "{body}");
    body
}

#[test]
#[allow(clippy::print_stderr)] // the skip notice
fn prometheus_scrapes_a_three_node_devnet_and_promtool_accepts_every_page() {
    let Some((prometheus, promtool)) = prometheus_binaries() else {
        eprintln!(
            "SKIPPED: Debian's prometheus package is not installed (`make deps` installs it: \
             apt-get install prometheus)"
        );
        return;
    };
    let args = ["--dashboard", "127.0.0.1:0", "--maxoutbound", "0"];
    let nodes: Vec<TestNode> = (0..3).map(|_| TestNode::start(&args)).collect();
    // A line: 0 — 1 — 2.
    for pair in nodes.windows(2) {
        let addr = format!("127.0.0.1:{}", pair[0].p2p_port);
        pair[1].rpc("addnode", json!([addr, "onetry"]));
    }
    wait_until("the line of nodes to link up", TIMEOUT, || {
        nodes[1].rpc("getconnectioncount", json!([])) == json!(2)
    });
    let wallet = WalletServiceProcess::start(&nodes[0], &[]);
    // Some traffic for the RPC, P2P and wallet series.
    wallet_rpc(&wallet, "getbalance", json!([]));
    let (_, miner) = dotcoin_functional_tests::test_keypair();
    nodes[0].generate(1, &miner);
    // Event counters follow the event stream, a moment after the RPC's answer.
    wait_until("node 0 to count the block it mined", TIMEOUT, || {
        metrics_page(nodes[0].dashboard_port).contains("\ndotcoin_blocks_connected_total 1\n")
    });

    // Prometheus's linter accepts every page.
    let mut pages: Vec<(String, String)> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (format!("node {i}"), metrics_page(n.dashboard_port)))
        .collect();
    pages.push(("wallet service".into(), metrics_page(wallet.port)));
    for (what, page) in &pages {
        let (ok, said) = promtool_check(&promtool, page);
        assert!(
            ok,
            "promtool check metrics refused the {what}'s page: {said}\n{page}"
        );
    }
    let node_page = &pages[1].1;
    let families = node_page
        .lines()
        .filter(|l| l.starts_with("# TYPE dotcoin_"))
        .count();
    assert!(
        families >= 25,
        "{families} series on a node's page:\n{node_page}"
    );
    // Node 1 was asked addnode once, and has met both its neighbours.
    for wanted in [
        "dotcoin_rpc_calls_total{method=\"addnode\",result=\"ok\"} 1\n",
        "dotcoin_p2p_messages_total{command=\"version\",direction=\"received\"} 2\n",
        "dotcoin_p2p_messages_total{command=\"version\",direction=\"sent\"} 2\n",
        "dotcoin_peers{direction=\"inbound\"} 1\n",
        "dotcoin_peers{direction=\"outbound\"} 1\n",
    ] {
        assert!(
            node_page.contains(wanted),
            "{wanted:?} not on:\n{node_page}"
        );
    }
    let wallet_page = &pages[3].1;
    assert!(
        wallet_page
            .contains("dotcoin_wallet_rpc_calls_total{method=\"getbalance\",result=\"ok\"} 1"),
        "{wallet_page}"
    );
    assert!(
        wallet_page.contains("dotcoin_wallet_balance_satoshis{"),
        "{wallet_page}"
    );

    let node_ports: Vec<u16> = nodes.iter().map(|n| n.dashboard_port).collect();
    let mut prom = Prometheus::start(
        &prometheus,
        &[
            ("dotcoind", node_ports.clone()),
            ("dotcoin-wallet", vec![wallet.port]),
        ],
    );
    let instances: Vec<String> = node_ports
        .iter()
        .chain([&wallet.port])
        .map(|p| format!("127.0.0.1:{p}"))
        .collect();
    wait_until("Prometheus to report every target up", TIMEOUT, || {
        let up = prom.query("up");
        instances
            .iter()
            .all(|i| up.iter().any(|(inst, v)| inst == i && v == "1"))
    });
    // A block mined on one end of the line reaches the other; Prometheus sees the three
    // heights equal at the new height.
    let height = nodes[0]
        .rpc("getblockcount", json!([]))
        .as_u64()
        .expect("height")
        + 1;
    nodes[2].generate(1, &miner);
    wait_until(
        "the three scraped heights to be equal after the block",
        TIMEOUT,
        || {
            let heights = prom.query("dotcoin_chain_height");
            heights.len() == 3 && heights.iter().all(|(_, v)| *v == height.to_string())
        },
    );
}

fn wallet_rpc(wallet: &WalletServiceProcess, method: &str, params: Value) -> Value {
    let body = json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params });
    let (status, answer) = http_request(
        wallet.port,
        "POST",
        "/",
        &body.to_string(),
        Some(&wallet.cookie_auth()),
    );
    assert_eq!(status, 200, "{answer}");
    serde_json::from_str::<Value>(&answer).expect("JSON")["result"].clone()
}
