//! Readers see one publication: while the tip is disconnected and reconnected over and
//! over (`invalidateblock` / `reconsiderblock`) and new blocks arrive, readers hammer
//! `gettxout`, `getaddressutxos` and `getblockchaininfo`, and every answer must be whole:
//! no error, and every row of one answer as of one tip.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use dotcoin_common::rpc_types::{AddressUtxo, BlockHeaderVerbose, BlockchainInfo, TxOutInfo};
use dotcoin_common::{Block, BlockHash};
use dotcoin_functional_tests::{test_keypair, TestNode};
use serde_json::json;

/// Tip changes the writer makes (each disconnects or connects a block).
const CHANGES: usize = 300;

#[test]
fn readers_never_mix_two_publications_while_blocks_come_and_go() {
    let node = TestNode::start(&[]);
    let (_, addr) = test_keypair();
    // Every block pays `addr`: the address holds exactly one coinbase output per block
    // of the active chain above genesis, so one answer's rows and tip can be compared.
    node.generate(20, &addr);

    let done = AtomicBool::new(false);
    let reads = AtomicU64::new(0);
    std::thread::scope(|s| {
        let readers: Vec<_> = (0..2)
            .map(|_| {
                s.spawn(|| {
                    while !done.load(Ordering::Relaxed) {
                        check_address_utxos(&node, &addr);
                        check_tip_coinbase(&node);
                        let info: BlockchainInfo = node.rpc_typed("getblockchaininfo", json!([]));
                        assert!(info.blocks <= info.headers, "{info:?}");
                        reads.fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();

        for i in 0..CHANGES {
            let tip: BlockHash = node.rpc_typed("getbestblockhash", json!([]));
            if i % 10 == 9 {
                node.generate(1, &addr);
            } else {
                node.rpc("invalidateblock", json!([tip]));
                node.rpc("reconsiderblock", json!([tip]));
            }
        }
        done.store(true, Ordering::Relaxed);
        for r in readers {
            r.join()
                .expect("a reader saw an error or an inconsistent answer");
        }
    });
    assert!(
        reads.load(Ordering::Relaxed) >= 2,
        "the readers ran while the tip moved"
    );
}

/// One `getaddressutxos` answer: every confirmed row implies the same tip height
/// (height + confirmations - 1), and there is one coinbase row per block up to it.
fn check_address_utxos(node: &TestNode, addr: &str) {
    let utxos: Vec<AddressUtxo> =
        node.rpc_typed("getaddressutxos", json!([{ "addresses": [addr] }]));
    let confirmed: Vec<&AddressUtxo> = utxos.iter().filter(|u| u.height > 0).collect();
    let tips: std::collections::BTreeSet<u32> = confirmed
        .iter()
        .map(|u| {
            assert!(
                u.confirmations >= 1,
                "a confirmed row has confirmations: {u:?}"
            );
            u.height + u.confirmations - 1
        })
        .collect();
    assert_eq!(tips.len(), 1, "rows of one answer from one tip: {tips:?}");
    let tip = *tips.first().expect("one tip");
    assert_eq!(
        confirmed.len() as u32,
        tip,
        "one coinbase output per block up to the tip the rows were read at"
    );
}

/// `gettxout` of the tip's coinbase, read after the tip: absent if that block left the
/// chain meanwhile, otherwise its confirmations agree with the `bestblock` it names.
fn check_tip_coinbase(node: &TestNode) {
    let tip: BlockHash = node.rpc_typed("getbestblockhash", json!([]));
    let raw: String = node.rpc_typed("getblock", json!([tip, 0]));
    let block: Block =
        dotcoin_common::deserialize(&hex::decode(raw).expect("hex")).expect("block decodes");
    let header: BlockHeaderVerbose = node.rpc_typed("getblockheader", json!([tip]));
    let coinbase = block.txdata[0].txid();
    let out: Option<TxOutInfo> = node.rpc_typed("gettxout", json!([coinbase, 0]));
    if let Some(out) = out {
        let best: BlockHeaderVerbose = node.rpc_typed("getblockheader", json!([out.bestblock]));
        assert_eq!(
            i64::from(out.confirmations),
            i64::from(best.height) - i64::from(header.height) + 1,
            "confirmations as of the bestblock the answer names: {out:?}"
        );
    }
}
