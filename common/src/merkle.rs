//! Merkle roots over wtxids, the commitment in a block header to every transaction and
//! every signature.
//!
//! Bitcoin's tree duplicates the last node of an odd level, which lets two different
//! transaction lists share a root (CVE-2012-2459): `[a, b, c]` and `[a, b, c, c]`. Like
//! Bitcoin Core we compute a `mutated` flag that is set when any level has two identical
//! adjacent nodes, and such a block is invalid.

use bitcoin_hashes::{sha256d, Hash};

use crate::hashes::TxMerkleNode;
use crate::primitives::Transaction;

/// The merkle root of `leaves`, and whether a level held an identical adjacent pair.
/// An empty list has the all-zero root.
pub fn merkle_root(mut level: Vec<TxMerkleNode>) -> (TxMerkleNode, bool) {
    if level.is_empty() {
        return (TxMerkleNode::all_zeros(), false);
    }
    let mut mutated = false;
    while level.len() > 1 {
        let mut next = Vec::with_capacity(level.len().div_ceil(2));
        for pair in level.chunks(2) {
            let left = pair[0];
            let right = if pair.len() == 2 {
                if pair[1] == left {
                    mutated = true;
                }
                pair[1]
            } else {
                left
            };
            let mut engine = sha256d::Hash::engine();
            bitcoin_hashes::HashEngine::input(&mut engine, left.as_byte_array());
            bitcoin_hashes::HashEngine::input(&mut engine, right.as_byte_array());
            next.push(TxMerkleNode::from_raw_hash(sha256d::Hash::from_engine(
                engine,
            )));
        }
        level = next;
    }
    (level[0], mutated)
}

/// The merkle root over the wtxids of `txs`.
pub fn merkle_root_of_txs(txs: &[Transaction]) -> (TxMerkleNode, bool) {
    merkle_root(
        txs.iter()
            .map(|tx| TxMerkleNode::from_raw_hash(tx.wtxid().to_raw_hash()))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(b: u8) -> TxMerkleNode {
        TxMerkleNode::from_byte_array([b; 32])
    }

    #[test]
    fn duplicated_last_pair_has_same_root_but_is_flagged() {
        let (root3, m3) = merkle_root(vec![node(1), node(2), node(3)]);
        let (root4, m4) = merkle_root(vec![node(1), node(2), node(3), node(3)]);
        assert_eq!(root3, root4, "the CVE-2012-2459 collision");
        assert!(!m3);
        assert!(m4);
    }

    #[test]
    fn single_leaf_is_its_own_root() {
        assert_eq!(merkle_root(vec![node(7)]), (node(7), false));
    }
}
