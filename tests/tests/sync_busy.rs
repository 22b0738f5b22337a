//! A fresh node syncs a busy chain — blocks full of signed transactions, 20 000 inputs and
//! more — from one peer and ends with the same UTXO set, compared by `gettxoutsetinfo`'s
//! hash of every entry.

use dotcoin_common::encode::serialize;
use dotcoin_common::rpc_types::TxOutSetInfo;
use dotcoin_common::Block;
use dotcoin_functional_tests::busy_chain::{self, BusyChainSpec};
use dotcoin_functional_tests::{wait_until, TestNode, TIMEOUT};
use serde_json::{json, Value};

#[test]
fn fresh_node_syncs_a_busy_chain_to_the_same_utxo_set() {
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
    let height = blocks.len() as u64;
    assert_eq!(source.rpc("getblockcount", json!([])), json!(height));

    let fresh = TestNode::start(&["--connect", &format!("127.0.0.1:{}", source.p2p_port)]);
    wait_until("the fresh node to sync the busy chain", TIMEOUT * 3, || {
        fresh.rpc("getblockcount", json!([])) == json!(height)
    });
    let want: TxOutSetInfo = source.rpc_typed("gettxoutsetinfo", json!([]));
    let got: TxOutSetInfo = fresh.rpc_typed("gettxoutsetinfo", json!([]));
    assert_eq!(got.bestblock, want.bestblock);
    assert_eq!(got.txouts, want.txouts);
    assert_eq!(got.total_amount, want.total_amount);
    assert_eq!(got.hash_serialized, want.hash_serialized);
    // Every busy block left its fan-out and 2-in 2-out outputs: far more than coinbases.
    assert!(want.txouts > stats.blocks as u64 * 10, "{want:?}");
}
