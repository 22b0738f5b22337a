//! Transactions a plugin's `mempool_accept` hook refused recently, in the manner of Bitcoin
//! Core's `m_recent_rejects`: a peer relaying one of them again is answered from here, with
//! no hook call. Bounded ([`PER_GENERATION`] entries in each of two generations; when the
//! current one fills, the older is dropped), and emptied when the tip changes, since a
//! plugin's answer may depend on the chain. Exact sets rather than Core's bloom filter: at
//! this size the memory is a few megabytes and no honest transaction is ever mistaken for
//! a refused one.

use std::collections::HashSet;

use dotcoin_common::BlockHash;

/// Entries per generation; at most twice this many are remembered.
pub const PER_GENERATION: usize = 25_000;

/// See the module docs. Keys are 32-byte hashes: the txid and the wtxid of each refusal.
#[derive(Debug, Default)]
pub struct RecentRejects {
    tip: Option<BlockHash>,
    current: HashSet<[u8; 32]>,
    previous: HashSet<[u8; 32]>,
}

impl RecentRejects {
    /// Forgets everything if the tip is no longer `tip`.
    fn follow(&mut self, tip: BlockHash) {
        if self.tip != Some(tip) {
            self.current.clear();
            self.previous.clear();
            self.tip = Some(tip);
        }
    }

    /// Remembers `key` as refused while `tip` is the tip.
    pub fn insert(&mut self, tip: BlockHash, key: [u8; 32]) {
        self.follow(tip);
        if self.current.len() >= PER_GENERATION && !self.current.contains(&key) {
            self.previous = std::mem::take(&mut self.current);
        }
        self.current.insert(key);
    }

    /// Whether `key` was refused since `tip` became the tip.
    pub fn contains(&mut self, tip: BlockHash, key: &[u8; 32]) -> bool {
        self.follow(tip);
        self.current.contains(key) || self.previous.contains(key)
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.current.len() + self.previous.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin_hashes::Hash as _;

    fn key(i: u32) -> [u8; 32] {
        let mut k = [0u8; 32];
        k[..4].copy_from_slice(&i.to_le_bytes());
        k
    }

    #[test]
    fn remembers_within_a_tip_and_forgets_on_a_new_one() {
        let a = BlockHash::from_byte_array([1; 32]);
        let b = BlockHash::from_byte_array([2; 32]);
        let mut r = RecentRejects::default();
        r.insert(a, key(7));
        assert!(r.contains(a, &key(7)));
        assert!(!r.contains(a, &key(8)));
        assert!(!r.contains(b, &key(7)), "a new tip clears it");
        assert!(r.is_empty());
    }

    #[test]
    fn bounded_to_two_generations() {
        let tip = BlockHash::from_byte_array([1; 32]);
        let mut r = RecentRejects::default();
        let n = PER_GENERATION as u32;
        for i in 0..3 * n {
            r.insert(tip, key(i));
            assert!(r.len() <= 2 * PER_GENERATION);
        }
        assert!(r.contains(tip, &key(3 * n - 1)), "the newest are kept");
        assert!(r.contains(tip, &key(n)), "the previous generation too");
        assert!(!r.contains(tip, &key(0)), "the oldest are gone");
        // Inserting a held key does not roll a generation over.
        let before = r.len();
        r.insert(tip, key(3 * n - 1));
        assert_eq!(r.len(), before);
    }
}
