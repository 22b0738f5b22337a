//! Crash safety: a node mining continuously is killed with SIGKILL at random moments, at
//! least 20 times (mining is switched on over RPC each round, so the kill lands while
//! blocks are being written). After every restart it must open cleanly, and its UTXO set
//! must equal a recount from the blocks it stored.
//!
//! A panic in the chain writer is a crash too: the node must stop (nonzero, the panic in
//! `debug.log`) rather than answer RPC with a writer that can connect nothing more, and a
//! restart must find the same consistent state.

use std::collections::BTreeMap;

use bitcoin_hashes::{sha256, Hash, HashEngine};
use dotcoin_common::consensus::Coin;
use dotcoin_common::rpc_types::TxOutSetInfo;
use dotcoin_common::{serialize, Amount, Block, BlockHash, Network, OutPoint, TxOut};
use dotcoin_functional_tests::{test_keypair, wait_until, TestNode, XorShift, TIMEOUT};
use serde_json::json;

fn height(node: &TestNode) -> u64 {
    node.rpc_typed::<u32>("getblockcount", json!([])).into()
}

/// Rebuilds the UTXO set from the node's blocks and hashes it the way `gettxoutsetinfo`
/// does: every (outpoint, coin) in outpoint-encoding order.
fn recount(node: &TestNode, tip: u64) -> (u64, Amount, String) {
    let mut set: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    let heights: Vec<(&str, serde_json::Value)> =
        (0..=tip).map(|h| ("getblockhash", json!([h]))).collect();
    let hashes: Vec<BlockHash> = node.rpc_batch_typed(&heights);
    let gets: Vec<(&str, serde_json::Value)> =
        hashes.iter().map(|h| ("getblock", json!([h, 0]))).collect();
    for (h, raw) in node
        .rpc_batch_typed::<String>(&gets)
        .into_iter()
        .enumerate()
    {
        let h = h as u64;
        let block: Block = dotcoin_common::deserialize(&hex::decode(raw).expect("hex"))
            .expect("stored block decodes");
        for (i, tx) in block.txdata.iter().enumerate() {
            if i > 0 {
                for input in &tx.inputs {
                    assert!(
                        set.remove(&serialize(&input.prevout)).is_some(),
                        "spent output exists"
                    );
                }
            }
            let txid = tx.txid();
            for (vout, out) in tx.outputs.iter().enumerate() {
                let op = OutPoint {
                    txid,
                    vout: vout as u32,
                };
                let coin = Coin {
                    output: TxOut {
                        value: out.value,
                        pubkey: out.pubkey,
                    },
                    height: h as u32,
                    is_coinbase: i == 0,
                };
                set.insert(serialize(&op), serialize(&coin));
            }
        }
    }
    let mut engine = sha256::Hash::engine();
    let mut total = Amount::ZERO;
    for (k, v) in &set {
        engine.input(k);
        engine.input(v);
        let coin: Coin = dotcoin_common::deserialize(v).expect("coin");
        total = total.checked_add(coin.output.value).expect("no overflow");
    }
    (
        set.len() as u64,
        total,
        sha256::Hash::from_engine(engine).to_string(),
    )
}

fn subsidies_through(tip: u64) -> Amount {
    let p = Network::Regtest.params();
    Amount::checked_sum((0..=tip as u32).map(|h| p.subsidy(h))).expect("in range")
}

#[test]
fn sigkill_while_mining_leaves_a_consistent_node() {
    let (_, addr) = test_keypair();
    // No `--mine`: a restart would mine again during the recount, and on an idle machine the
    // chain then grew to tens of thousands of blocks, each recount slower than the last,
    // until the block times reached the two-hour future limit and the miner had to wait
    // for the clock (two minutes of the test run instead of seconds).
    let mut node = TestNode::start(&[]);
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    for round in 0..20 {
        node.rpc("setgenerate", json!([true, 1, addr]));
        let start = height(&node);
        let target = start + 1 + rng.next() % 40;
        wait_until("the miner to make progress", TIMEOUT, || {
            height(&node) >= target
        });
        node.kill();
        node.restart();
        // Restarted without mining, so the recount sees the same chain as the stats.
        let info: TxOutSetInfo = node.rpc_typed("gettxoutsetinfo", json!([]));
        let tip = u64::from(info.height);
        assert_eq!(
            tip,
            height(&node),
            "round {round}: nothing mines after a restart"
        );
        assert_eq!(
            info.txouts,
            tip + 1,
            "round {round}: one coinbase output per block"
        );
        assert_eq!(
            info.total_amount,
            subsidies_through(tip),
            "round {round}: the set holds exactly the subsidies"
        );
        let (txouts, total, hash) = recount(&node, tip);
        assert_eq!(info.txouts, txouts, "round {round}");
        assert_eq!(info.total_amount, total, "round {round}");
        assert_eq!(
            info.hash_serialized, hash,
            "round {round}: UTXO set equals a recount"
        );
    }
    node.rpc("setgenerate", json!([false]));
    let tip = height(&node);
    let info: TxOutSetInfo = node.rpc_typed("gettxoutsetinfo", json!([]));
    assert_eq!(u64::from(info.height), tip);
    let (txouts, total, hash) = recount(&node, tip);
    assert_eq!(info.txouts, txouts);
    assert_eq!(info.total_amount, total);
    assert_eq!(
        info.hash_serialized, hash,
        "UTXO set equals a recount from the blocks"
    );
    assert_eq!(node.stop(), 0);
}

/// Checks the restarted node's UTXO set against a recount from its blocks.
fn assert_consistent(node: &TestNode, what: &str) -> u64 {
    let info: TxOutSetInfo = node.rpc_typed("gettxoutsetinfo", json!([]));
    let tip = u64::from(info.height);
    assert_eq!(tip, height(node), "{what}: stats at the tip");
    assert_eq!(info.total_amount, subsidies_through(tip), "{what}");
    let (txouts, total, hash) = recount(node, tip);
    assert_eq!(info.txouts, txouts, "{what}");
    assert_eq!(info.total_amount, total, "{what}");
    assert_eq!(
        info.hash_serialized, hash,
        "{what}: UTXO set equals a recount"
    );
    tip
}

#[test]
fn a_panic_in_the_writer_stops_the_node_and_a_restart_finds_it_intact() {
    const PANIC_HEIGHT: u32 = 8;
    let (_, addr) = test_keypair();
    let mut node = TestNode::start(&["--test-writer-panic-height", &PANIC_HEIGHT.to_string()]);
    node.generate(PANIC_HEIGHT - 1, &addr);
    // The call that connects the switch's height never answers: the process is gone.
    let out = node.cli(&["generatetoaddress", "3", &addr]);
    assert!(
        !out.status.success(),
        "the node stops while connecting the block"
    );
    let code = node.wait_exit();
    assert_ne!(code, 0, "a writer panic is a failure exit");
    let log = node.debug_log();
    assert!(
        log.contains("--test-writer-panic-height: the writer panics after connecting height 8"),
        "the panic message is in debug.log:\n{log}"
    );
    assert!(
        log.contains("the chain writer panicked"),
        "debug.log says the node stopped because of it:\n{log}"
    );

    node.restart_with(&[]);
    let tip = assert_consistent(&node, "after the writer panic");
    assert!(
        (u64::from(PANIC_HEIGHT) - 1..=u64::from(PANIC_HEIGHT)).contains(&tip),
        "the chain is where the panic left it on disk, not rolled further back: {tip}"
    );
    // The writer works again: the panic height connects this time.
    node.generate(3, &addr);
    assert_eq!(height(&node), tip + 3);
    assert_consistent(&node, "after mining on");
    assert_eq!(node.stop(), 0);
}
