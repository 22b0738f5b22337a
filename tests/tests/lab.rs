//! The network lab (`contrib/lab`, docs/lab.md) against real `dotcoind` processes: a
//! 6-node topology whose links are 200 ms proxies, mined by Poisson miners, whose report
//! shows each link's latency and every node's first-seen times, and a link changed while
//! running; a 5-node lab exported while running and imported on a clean directory; and
//! `addnode … add` connecting without waiting for the connection keeper's tick.

use std::path::{Path, PathBuf};
use std::time::Duration;

use dotcoin_common::{deserialize, serialize, Block, OutPoint, TxOut};
use dotcoin_functional_tests::{
    lab_cli as cli, run_lab, signed_spend, test_keypair, wait_until, TestLab, TestNode, TIMEOUT,
};
use serde_json::{json, Value};

/// Brings the lab in a directory down when dropped.
struct DownOnDrop(PathBuf);

impl Drop for DownOnDrop {
    fn drop(&mut self) {
        let _ = run_lab(&self.0, &["down"]);
    }
}

fn write_topology(dir: &Path, text: &str) -> PathBuf {
    let f = dir.join("topology.in.toml");
    std::fs::write(&f, text).expect("write topology");
    f
}

/// Every node's tip, once they all agree (waits up to `timeout`).
fn synced_tip(lab: &TestLab, timeout: Duration) -> String {
    let mut tip = String::new();
    wait_until("every node on one tip", timeout, || {
        let tips: Vec<Value> = lab.nodes().iter().map(|n| n["tip"].clone()).collect();
        tip = tips[0].as_str().unwrap_or_default().to_owned();
        tips.iter().all(|t| t == &tips[0])
    });
    tip
}

fn min_height(lab: &TestLab) -> u64 {
    lab.nodes()
        .iter()
        .map(|n| n["height"].as_u64().unwrap_or(0))
        .min()
        .unwrap_or(0)
}

/// First announcements the report has on the n1–n2 link since it was set to 300 ms.
fn changed_link_samples(lab: &TestLab) -> u64 {
    let out = lab.ok(&["report"]);
    let Some(text) = out["json"]
        .as_str()
        .and_then(|p| std::fs::read_to_string(p).ok())
    else {
        return 0;
    };
    let report: Value = serde_json::from_str(&text).unwrap_or_default();
    report["links"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|l| l["a"] == "n1" && l["b"] == "n2")
        .flat_map(|l| l["periods"].as_array().cloned().unwrap_or_default())
        .filter(|p| p["configured_ms"].as_f64() == Some(300.0))
        .map(|p| p["samples"].as_u64().unwrap_or(0))
        .sum()
}

#[test]
fn six_nodes_over_200ms_links_report_their_latency_and_a_changed_link_shows() {
    let lab = TestLab::new("dotcoin-lab-");
    // n1 mines half the blocks, so the n1–n2 link carries many first announcements.
    let topo = write_topology(
        lab.path(),
        "[lab]\nblock_interval = \"2s\"\n\
         [defaults]\nlatency = \"200ms\"\n\
         [generate]\nkind = \"ring\"\nnodes = 6\nk = 1\nseed = 11\n\
         [[node]]\nname = \"n1\"\nhashshare = 0.5\n",
    );
    lab.ok(&["up", topo.to_str().unwrap()]);
    assert_eq!(lab.nodes().len(), 6);
    wait_until("eight blocks everywhere", Duration::from_secs(120), || {
        min_height(&lab) >= 8
    });
    lab.ok(&["link", "n1", "n2", "--latency", "300ms"]);
    let changed_at = min_height(&lab);
    // Which blocks cross n1–n2 first is up to the Poisson miners: mine on until the
    // report holds two first announcements over the changed link (asking for a report
    // only when a new block has arrived everywhere).
    let mut seen_height = changed_at;
    wait_until(
        "eight blocks after the change, two of them first over the changed link",
        Duration::from_secs(300),
        || {
            let h = min_height(&lab);
            if h < changed_at + 8 || h == seen_height {
                return false;
            }
            seen_height = h;
            changed_link_samples(&lab) >= 2
        },
    );
    lab.ok(&["mine", "off"]);
    // Two tips of equal work stay split until a block extends one: n1 mines it. A block
    // mined elsewhere just before mining stopped may still be crossing the 200 ms links
    // and tie with n1's, so n1 mines again until every node is on one tip.
    let (_, addr) = test_keypair();
    let deadline = std::time::Instant::now() + TIMEOUT;
    loop {
        cli(&lab.nodes()[0], &["generatetoaddress", "1", &addr]);
        let settle = std::time::Instant::now() + Duration::from_secs(10);
        let agreed = loop {
            let tips: Vec<Value> = lab.nodes().iter().map(|n| n["tip"].clone()).collect();
            if tips.iter().all(|t| t == &tips[0]) {
                break true;
            }
            if std::time::Instant::now() > settle {
                break false;
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        if agreed {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the nodes never agreed on one tip: {:?}",
            lab.nodes()
        );
    }

    let out = lab.ok(&["report"]);
    let report: Value = serde_json::from_str(
        &std::fs::read_to_string(out["json"].as_str().expect("json path")).expect("report.json"),
    )
    .expect("report is JSON");
    let html = std::fs::read_to_string(out["html"].as_str().expect("html path")).expect("html");
    assert!(html.contains("<svg") && html.contains("propagation"));

    // Every node has first-seen times for every block of the active chain.
    let blocks = report["blocks"].as_array().expect("blocks");
    assert!(blocks.len() >= 16, "{} blocks", blocks.len());
    for b in blocks.iter().filter(|b| b["stale"] == json!(false)) {
        let delays = b["delays_ms"].as_object().expect("delays");
        assert_eq!(delays.len(), 5, "the five other nodes: {b}");
        for (node, d) in delays {
            let v = d["validated"].as_f64();
            assert!(v.is_some_and(|v| v > 0.0), "{node} has no time for {b}");
        }
    }
    // Each link's header delay, per configured latency, within 20 %.
    let mut checked = 0;
    let mut saw_change = false;
    for link in report["links"].as_array().expect("links") {
        for p in link["periods"].as_array().expect("periods") {
            let conf = p["configured_ms"].as_f64().unwrap();
            let median = p["median_ms"].as_f64().unwrap();
            if p["samples"].as_u64().unwrap() < 2 {
                continue;
            }
            assert!(
                (median - conf).abs() <= 0.2 * conf,
                "link {}–{}: configured {conf} ms, measured median {median} ms ({})",
                link["a"],
                link["b"],
                p
            );
            checked += 1;
            if link["a"] == "n1" && link["b"] == "n2" && conf == 300.0 {
                saw_change = true;
            }
        }
    }
    assert!(
        checked >= 4,
        "too few links carried first announcements: {}",
        report["links"]
    );
    assert!(
        saw_change,
        "the n1–n2 link at 300 ms shows: {}",
        report["links"]
    );
    let summary = &report["summary"];
    assert!(summary["tau_ms"].as_f64().unwrap() >= 200.0, "{summary}");
    assert!(
        summary["theoretical_stale_rate"].as_f64().is_some(),
        "{summary}"
    );
}

#[test]
fn an_exported_running_lab_imports_with_the_same_tips_and_mempools() {
    let lab = TestLab::new("dotcoin-lab-");
    let topo = write_topology(
        lab.path(),
        "[defaults]\nlatency = \"5ms\"\n[generate]\nkind = \"ring\"\nnodes = 5\n",
    );
    lab.ok(&["up", topo.to_str().unwrap()]);
    let nodes = lab.nodes();
    // Coins for a key the test holds, then two spends of them in every mempool.
    let (kp, addr) = test_keypair();
    cli(&nodes[0], &["generatetoaddress", "102", &addr]);
    // Every node at the tip first: a node still behind would refuse the spends as
    // immature, and not ask for them again.
    let tip = synced_tip(&lab, TIMEOUT);
    let mut txids = Vec::new();
    for height in [1, 2] {
        let hash = cli(&nodes[0], &["getblockhash", &height.to_string()]);
        let raw = cli(&nodes[0], &["getblock", hash.as_str().unwrap(), "0"]);
        let block: Block = deserialize(&hex::decode(raw.as_str().unwrap()).unwrap()).unwrap();
        let cb = &block.txdata[0];
        let prev = (
            OutPoint {
                txid: cb.txid(),
                vout: 0,
            },
            cb.outputs[0],
        );
        let out = TxOut {
            value: dotcoin_common::Amount::from_sat(cb.outputs[0].value.to_sat() - 10_000),
            ..cb.outputs[0]
        };
        let tx = signed_spend(&kp, prev, vec![out]);
        txids.push(cli(
            &nodes[0],
            &["sendrawtransaction", &hex::encode(serialize(&tx))],
        ));
    }
    assert_eq!(synced_tip(&lab, TIMEOUT), tip);
    let mempools = |nodes: &[Value]| -> Vec<Vec<String>> {
        nodes
            .iter()
            .map(|n| {
                let mut m: Vec<String> = cli(n, &["getrawmempool"])
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|t| t.as_str().unwrap().to_owned())
                    .collect();
                m.sort();
                m
            })
            .collect()
    };
    wait_until("both spends in every mempool", TIMEOUT, || {
        mempools(&lab.nodes()).iter().all(|m| m.len() == 2)
    });
    let before = mempools(&lab.nodes());

    let archive = lab.path().join("lab.tar.gz");
    lab.ok(&["export", archive.to_str().unwrap()]);
    // Still running after the export, with the same state.
    assert_eq!(synced_tip(&lab, TIMEOUT), tip);
    assert_eq!(mempools(&lab.nodes()), before);
    lab.ok(&["down"]);

    let copy = TestLab::new("dotcoin-lab-");
    let target = copy.path().join("imported");
    let out = run_lab(
        copy.path(),
        &[
            "import",
            archive.to_str().unwrap(),
            target.to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _imported = DownOnDrop(target.clone());
    let up = run_lab(&target, &["up"]);
    assert!(
        up.status.success(),
        "{}",
        String::from_utf8_lossy(&up.stderr)
    );
    let status = run_lab(&target, &["status"]);
    let nodes: Vec<Value> = serde_json::from_slice::<Value>(&status.stdout).unwrap()["nodes"]
        .as_array()
        .cloned()
        .unwrap();
    for n in &nodes {
        assert_eq!(n["tip"].as_str(), Some(tip.as_str()), "{n}");
        assert!(n["datadir"]
            .as_str()
            .unwrap()
            .starts_with(target.to_str().unwrap()));
    }
    assert_eq!(mempools(&nodes), before);
}

#[test]
fn addnode_add_connects_without_waiting_for_the_connection_tick() {
    // Rounds of the connection keeper ten minutes apart: the first runs at start, so a
    // connection within the test's timeout can only come from `addnode` itself.
    let args = ["--maxoutbound", "0", "--test-connection-tick", "600000"];
    let a = TestNode::start(&args);
    let b = TestNode::start(&args);
    let target = format!("127.0.0.1:{}", b.p2p_port);
    a.rpc("addnode", json!([target, "add"]));
    wait_until("a connected to b", TIMEOUT, || {
        a.rpc("getconnectioncount", json!([])) == json!(1)
    });
    let info = a.rpc("getaddednodeinfo", json!([target]));
    assert_eq!(info[0]["connected"], json!(true), "{info}");
}
