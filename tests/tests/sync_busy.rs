//! A fresh node syncs a busy chain — blocks full of signed transactions, 20 000 inputs and
//! more — from one peer and ends with the same UTXO set, compared by `gettxoutsetinfo`'s
//! hash of every entry; and does so when it is killed with SIGKILL again and again while
//! it syncs.

use dotcoin_common::encode::serialize;
use dotcoin_common::rpc_types::TxOutSetInfo;
use dotcoin_common::Block;
use dotcoin_functional_tests::busy_chain::{self, BusyChainSpec};
use dotcoin_functional_tests::{wait_until, TestNode, XorShift, TIMEOUT};
use serde_json::{json, Value};

/// A source node holding a busy chain of 140 spending blocks of 160 inputs each.
fn busy_source() -> (TestNode, Vec<Block>, busy_chain::BusyChainStats) {
    let mut blocks: Vec<Block> = vec![];
    let stats = busy_chain::generate(
        BusyChainSpec {
            spend_blocks: 140,
            inputs_per_block: 160,
        },
        |b| blocks.push(b.clone()),
    );
    assert!(stats.inputs >= 20_000, "{stats:?}");

    let source = TestNode::start(&[]);
    for chunk in blocks.chunks(20) {
        let calls: Vec<(&str, Value)> = chunk
            .iter()
            .map(|b| ("submitblock", json!([hex::encode(serialize(b))])))
            .collect();
        // `submitblock` answers null for every block it accepts.
        for reply in source.rpc_batch(&calls) {
            assert!(reply.is_null(), "block refused: {reply}");
        }
    }
    assert_eq!(
        source.rpc("getblockcount", json!([])),
        json!(blocks.len() as u64)
    );
    (source, blocks, stats)
}

/// Asserts that `fresh` ended on `source`'s tip with its UTXO set (by `gettxoutsetinfo`'s
/// hash of every entry); returns the source's figures.
fn assert_same_utxo_set(source: &TestNode, fresh: &TestNode, what: &str) -> TxOutSetInfo {
    let want: TxOutSetInfo = source.rpc_typed("gettxoutsetinfo", json!([]));
    let got: TxOutSetInfo = fresh.rpc_typed("gettxoutsetinfo", json!([]));
    assert_eq!(got.bestblock, want.bestblock, "{what}");
    assert_eq!(got.txouts, want.txouts, "{what}");
    assert_eq!(got.total_amount, want.total_amount, "{what}");
    assert_eq!(got.hash_serialized, want.hash_serialized, "{what}");
    want
}

#[test]
fn fresh_node_syncs_a_busy_chain_to_the_same_utxo_set() {
    let (source, blocks, stats) = busy_source();
    let height = blocks.len() as u64;
    let fresh = TestNode::start(&["--connect", &format!("127.0.0.1:{}", source.p2p_port)]);
    wait_until("the fresh node to sync the busy chain", TIMEOUT * 3, || {
        fresh.rpc("getblockcount", json!([])) == json!(height)
    });
    let want = assert_same_utxo_set(&source, &fresh, "after the sync");
    // Every busy block left its fan-out and 2-in 2-out outputs: far more than coinbases.
    assert!(want.txouts > stats.blocks as u64 * 10, "{want:?}");
}

/// Crash consistency during a sync: the syncing node (with the smallest `--dbcache`, so
/// that its coins cache is flushed in slices many times over) is killed with SIGKILL 20
/// times, each time just after its chain passed a height a few blocks further on, so the
/// kills land while blocks are being connected, their undo data and indexes written and
/// the cache flushed. Each restart must open and go on; the end is the source's UTXO set.
#[test]
fn sigkills_during_a_busy_sync_leave_a_node_that_finishes_it() {
    let (source, blocks, _) = busy_source();
    let height = blocks.len() as u64;
    let mut fresh = TestNode::start(&[
        "--connect",
        &format!("127.0.0.1:{}", source.p2p_port),
        "--dbcache",
        "4",
    ]);
    let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
    let mut mid_sync = 0;
    for round in 0..20 {
        let count = || {
            fresh
                .rpc("getblockcount", json!([]))
                .as_u64()
                .expect("a height")
        };
        let target = (count() + 1 + rng.next() % 12).min(height);
        wait_until(
            &format!("round {round}: the syncing node to pass height {target}"),
            TIMEOUT * 2,
            || count() >= target,
        );
        if count() < height {
            mid_sync += 1;
        }
        fresh.kill();
        fresh.restart();
    }
    wait_until("the node to finish the sync", TIMEOUT * 3, || {
        fresh.rpc("getblockcount", json!([])) == json!(height)
    });
    assert_same_utxo_set(
        &source,
        &fresh,
        &format!("after {mid_sync} kills in the middle of the sync"),
    );
    assert!(
        mid_sync >= 10,
        "{mid_sync} of 20 kills landed before the end of the sync"
    );
}
