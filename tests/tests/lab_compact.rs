//! Benchmark (ignored in CI; `contrib/bench/lab-compact.sh` runs it): how much compact
//! blocks (BIP152) cut the propagation of ~1 MB blocks whose transactions every mempool
//! already holds, over the lab's 10 Mbit/s, 100 ms links. The same topology runs twice,
//! with `--compactblocks=1` and `--compactblocks=0`: each round fills every mempool with
//! ~960 kB of transactions, has one node mine a block of them, and measures the delay from
//! the miner connecting it to each other node connecting it (`getblockpropagation`). The
//! goal, checked: compact blocks at least halve the p90.
//!
//! `LAB_COMPACT_ROUNDS` (default 8) blocks per mode; `LAB_COMPACT_OUT` names a JSON file
//! for the figures.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use dotcoin_common::{deserialize, serialize, Amount, Block, OutPoint, Transaction, TxOut};
use dotcoin_functional_tests::{bin, lab_cli as cli, signed_spend, test_keypair, wait_until};
use serde_json::{json, Value};

/// Nodes of the ring (plus one random link each).
const NODES: usize = 6;
/// Transactions per block; each a little under [`TX_BYTES`].
const TXS_PER_BLOCK: usize = 16;
/// Each transaction's size: 16 of them make ~960 kB, under the 1 MB block limit, and its
/// hex stays under Linux's 128 KiB limit for one command-line argument.
const TX_BYTES: usize = 60_000;

fn run_lab(dir: &Path, args: &[&str]) -> Output {
    Command::new(bin("dotcoin-lab"))
        .arg("--dir")
        .arg(dir)
        .args(args)
        .output()
        .expect("dotcoin-lab runs")
}

fn lab_ok(dir: &Path, args: &[&str]) -> Value {
    let out = run_lab(dir, args);
    assert!(
        out.status.success(),
        "dotcoin-lab {args:?}: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(dir.join("lab.log")).unwrap_or_default()
    );
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

/// Brings the lab down when dropped.
struct Down<'a>(&'a Path);

impl Drop for Down<'_> {
    fn drop(&mut self) {
        let _ = run_lab(self.0, &["down"]);
    }
}

/// A transaction spending the coinbase at `height` into as many equal outputs as fit in
/// [`TX_BYTES`].
fn big_spend(kp: &secp256k1::Keypair, prev: (OutPoint, TxOut)) -> Transaction {
    let build = |n: u64| {
        let fee = 200_000;
        let each = (prev.1.value.to_sat() - fee) / n;
        let outs = (0..n)
            .map(|_| TxOut {
                value: Amount::from_sat(each),
                pubkey: prev.1.pubkey,
            })
            .collect();
        signed_spend(kp, prev, outs)
    };
    let one = serialize(&build(1)).len();
    let per_output = serialize(&build(2)).len() - one;
    let n = (TX_BYTES - one) / per_output + 1;
    let tx = build(n as u64);
    assert!(serialize(&tx).len() <= TX_BYTES + per_output);
    tx
}

/// Runs `rounds` blocks on a fresh lab with `flags`; the propagation delays (ms) of every
/// (block, other node) pair and the sizes of the blocks.
fn measure(flags: &str, rounds: usize) -> (Vec<f64>, Vec<u64>) {
    let dir = tempfile::Builder::new()
        .prefix("dotcoin-lab-compact-")
        .tempdir()
        .expect("tempdir");
    let topo = dir.path().join("topology.in.toml");
    std::fs::write(
        &topo,
        format!(
            "[lab]\nflags = [\"{flags}\"]\n\
             [defaults]\nlatency = \"100ms\"\nbandwidth = \"10mbit\"\n\
             [generate]\nkind = \"ring\"\nnodes = {NODES}\nk = 1\nseed = 3\n"
        ),
    )
    .expect("topology");
    lab_ok(dir.path(), &["up", topo.to_str().expect("utf-8")]);
    let _down = Down(dir.path());
    let nodes = lab_ok(dir.path(), &["status"])["nodes"]
        .as_array()
        .cloned()
        .expect("nodes");
    let (kp, addr) = test_keypair();
    let spendable = (rounds * TXS_PER_BLOCK) as u64;
    cli(
        &nodes[0],
        &["generatetoaddress", &(100 + spendable).to_string(), &addr],
    );
    let tip = |n: &Value| cli(n, &["getbestblockhash"]);
    let everywhere = |what: &str, f: &dyn Fn(&Value) -> bool| {
        wait_until(what, Duration::from_secs(180), || nodes.iter().all(f));
    };
    let best = tip(&nodes[0]);
    everywhere("the coinbases everywhere", &|n| tip(n) == best);

    let mut delays = Vec::new();
    let mut sizes = Vec::new();
    let mut next_coinbase = 1u64;
    for round in 0..rounds {
        for _ in 0..TXS_PER_BLOCK {
            let tx = big_spend(&kp, coinbase_at(&nodes[0], next_coinbase));
            next_coinbase += 1;
            cli(
                &nodes[0],
                &["sendrawtransaction", &hex::encode(serialize(&tx))],
            );
        }
        everywhere("every mempool holds the block's transactions", &|n| {
            cli(n, &["getmempoolinfo"])["size"].as_u64() == Some(TXS_PER_BLOCK as u64)
        });
        // Miners take turns, so every link carries blocks both ways.
        let miner = &nodes[round % NODES];
        let hash = cli(miner, &["generatetoaddress", "1", &addr])[0]
            .as_str()
            .expect("hash")
            .to_owned();
        everywhere("the block everywhere", &|n| {
            tip(n).as_str() == Some(hash.as_str())
        });
        let found = cli(miner, &["getblockpropagation", &hash])["connected_ms"]
            .as_f64()
            .expect("the miner's connected time");
        for n in nodes.iter().filter(|n| n["name"] != miner["name"]) {
            let at = cli(n, &["getblockpropagation", &hash])["connected_ms"]
                .as_f64()
                .expect("connected");
            delays.push(at - found);
        }
        sizes.push(
            cli(miner, &["getblock", &hash])["size"]
                .as_u64()
                .expect("size"),
        );
    }
    (delays, sizes)
}

/// The coinbase output of a lab node's active block at `height` (the test key's).
fn coinbase_at(node: &Value, height: u64) -> (OutPoint, TxOut) {
    let hash = cli(node, &["getblockhash", &height.to_string()]);
    let raw = cli(node, &["getblock", hash.as_str().expect("hash"), "0"]);
    let block: Block =
        deserialize(&hex::decode(raw.as_str().expect("hex")).expect("hex")).expect("block");
    let cb = &block.txdata[0];
    (
        OutPoint {
            txid: cb.txid(),
            vout: 0,
        },
        cb.outputs[0],
    )
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn summary(mut delays: Vec<f64>, sizes: &[u64]) -> Value {
    delays.sort_by(f64::total_cmp);
    json!({
        "samples": delays.len(),
        "p50_ms": percentile(&delays, 0.5),
        "p90_ms": percentile(&delays, 0.9),
        "max_ms": delays.last(),
        "mean_block_bytes": sizes.iter().sum::<u64>() / sizes.len().max(1) as u64,
    })
}

#[test]
#[ignore = "a benchmark of several minutes: contrib/bench/lab-compact.sh"]
#[allow(clippy::print_stdout)]
fn compact_blocks_halve_the_p90_propagation_of_1mb_blocks_over_10mbit_100ms_links() {
    let rounds: usize = std::env::var("LAB_COMPACT_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(8);
    let (with, with_sizes) = measure("--compactblocks=1", rounds);
    let (without, without_sizes) = measure("--compactblocks=0", rounds);
    let with = summary(with, &with_sizes);
    let without = summary(without, &without_sizes);
    let figures = json!({
        "nodes": NODES, "links": "ring + 1 random link per node, 100 ms, 10 Mbit/s each way",
        "blocks_per_mode": rounds, "compact": with, "full_blocks": without,
        "p90_ratio": with["p90_ms"].as_f64().unwrap() / without["p90_ms"].as_f64().unwrap(),
    });
    println!("{}", serde_json::to_string_pretty(&figures).expect("json"));
    if let Ok(out) = std::env::var("LAB_COMPACT_OUT") {
        std::fs::write(out, figures.to_string()).expect("write figures");
    }
    for s in [&with, &without] {
        assert!(
            s["mean_block_bytes"].as_u64().unwrap() > 900_000,
            "blocks of ~1 MB: {figures}"
        );
    }
    assert!(
        figures["p90_ratio"].as_f64().unwrap() <= 0.5,
        "compact blocks at least halve the p90: {figures}"
    );
}
