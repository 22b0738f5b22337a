//! The signature cache: transactions whose signatures are known to verify against given
//! spent outputs (Bitcoin Core's `CSignatureCache`, per transaction instead of per input).
//!
//! Verifying signatures is most of the cost of connecting a block. During a sync the
//! network layer checks the signatures of blocks still waiting for the chain writer
//! ([`crate::state::ChainService::preverify_block`]), on every core, while the writer
//! stores the blocks before them; the writer then finds those transactions here and skips
//! their signatures.
//!
//! An entry is the SHA-256 of the transaction's wtxid (which commits to every byte of the
//! transaction, signatures included) and of every output it spends. A BIP340 signature
//! check is a function of exactly those bytes, so a hit means the same check succeeded
//! before, wherever its spent outputs were looked up then: a guess of the outputs from a
//! block not yet connected, or a coin spent since, gives a different key and is simply
//! never hit. Only successes are stored.
//!
//! Bounded: at most [`SIGCACHE_ENTRIES`] keys, oldest dropped first. A hit removes the key,
//! since a transaction confirms once on a chain.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use bitcoin_hashes::{sha256, Hash, HashEngine};
use dotcoin_common::encode::Encodable;
use dotcoin_common::{Transaction, TxOut};

/// Most transactions the cache remembers (about 100 bytes each): a few hundred blocks ahead
/// of the writer during a sync, far more than the download window lets in.
pub const SIGCACHE_ENTRIES: usize = 64 * 1024;

/// What identifies one successful signature check of a whole transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SigKey([u8; 32]);

impl SigKey {
    /// The key of `tx` spending `spent` (one output per input, in input order).
    pub fn new(tx: &Transaction, spent: &[TxOut]) -> SigKey {
        let mut engine = sha256::HashEngine::default();
        engine.input(b"dotcoin/sigcache/v1");
        engine.input(tx.wtxid().as_byte_array());
        let mut buf = Vec::with_capacity(spent.len() * 40);
        (spent.len() as u64).consensus_encode(&mut buf);
        for out in spent {
            out.consensus_encode(&mut buf);
        }
        engine.input(&buf);
        SigKey(sha256::Hash::from_engine(engine).to_byte_array())
    }
}

#[derive(Debug, Default)]
struct Inner {
    /// Each key with the sequence number of its insertion.
    keys: HashMap<SigKey, u64>,
    /// Insertion order, for eviction. May hold keys taken since, or inserted again later
    /// (then the sequence number tells the stale entry from the live one).
    order: VecDeque<(SigKey, u64)>,
    next: u64,
}

/// See the module docs. Shared by the chain writer and the pre-verifiers.
#[derive(Debug)]
pub struct SigCache {
    inner: Mutex<Inner>,
    capacity: usize,
}

impl Default for SigCache {
    fn default() -> Self {
        SigCache::with_capacity(SIGCACHE_ENTRIES)
    }
}

impl SigCache {
    /// A cache of at most `capacity` keys.
    pub fn with_capacity(capacity: usize) -> SigCache {
        SigCache {
            inner: Mutex::new(Inner::default()),
            capacity: capacity.max(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // Every operation leaves the two collections consistent enough (a stale key in
        // `order` is allowed), so a panic elsewhere does not poison the cache's meaning.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records a successful check.
    pub fn insert(&self, key: SigKey) {
        let mut inner = self.lock();
        if inner.keys.contains_key(&key) {
            return;
        }
        let seq = inner.next;
        inner.next += 1;
        inner.keys.insert(key, seq);
        inner.order.push_back((key, seq));
        while inner.order.len() > self.capacity {
            if let Some((old, old_seq)) = inner.order.pop_front() {
                if inner.keys.get(&old) == Some(&old_seq) {
                    inner.keys.remove(&old);
                }
            }
        }
    }

    /// Whether the check `key` succeeded before; forgets it if so.
    pub fn take(&self, key: &SigKey) -> bool {
        self.lock().keys.remove(key).is_some()
    }

    /// Whether `key` is cached, leaving it there.
    pub fn contains(&self, key: &SigKey) -> bool {
        self.lock().keys.contains_key(key)
    }

    /// Keys held now.
    pub fn len(&self) -> usize {
        self.lock().keys.len()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin_hashes::Hash;
    use dotcoin_common::primitives::{OutPoint, PubKey, TxIn};
    use dotcoin_common::{Amount, Txid};

    fn tx(witness: u8) -> Transaction {
        Transaction {
            version: 1,
            inputs: vec![TxIn {
                prevout: OutPoint {
                    txid: Txid::from_byte_array([7; 32]),
                    vout: 0,
                },
                witness: vec![witness; 64],
            }],
            outputs: vec![],
            lock_time: 0,
        }
    }

    fn out(value: u64, key: u8) -> TxOut {
        TxOut {
            value: Amount::from_sat(value),
            pubkey: PubKey([key; 32]),
        }
    }

    #[test]
    fn key_commits_to_signatures_and_every_spent_output() {
        let base = SigKey::new(&tx(1), &[out(5, 1)]);
        assert_eq!(base, SigKey::new(&tx(1), &[out(5, 1)]));
        assert_ne!(base, SigKey::new(&tx(2), &[out(5, 1)]), "witness");
        assert_ne!(base, SigKey::new(&tx(1), &[out(6, 1)]), "spent value");
        assert_ne!(base, SigKey::new(&tx(1), &[out(5, 2)]), "spent key");
        assert_ne!(base, SigKey::new(&tx(1), &[]), "spent count");
    }

    #[test]
    fn a_hit_is_taken_once_and_the_oldest_key_goes_first() {
        let cache = SigCache::with_capacity(2);
        let keys: Vec<SigKey> = (0..3).map(|i| SigKey::new(&tx(i), &[])).collect();
        cache.insert(keys[0]);
        cache.insert(keys[1]);
        assert!(cache.take(&keys[0]));
        assert!(!cache.take(&keys[0]), "taken already");
        cache.insert(keys[0]);
        cache.insert(keys[2]);
        assert_eq!(cache.len(), 2);
        assert!(!cache.contains(&keys[1]), "evicted as the oldest");
        assert!(cache.contains(&keys[0]) && cache.contains(&keys[2]));
    }
}
