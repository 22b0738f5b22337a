//! The parallel nonce search: the mining kernel.
//!
//! The search hashes the first 64 header bytes once (the SHA-256
//! midstate) and per nonce only the last 16, on a dedicated rayon pool. Every worker polls
//! a cancel condition every [`CANCEL_CHECK_INTERVAL`] nonces, so a new tip or a stop ends
//! the search within a fraction of a millisecond of work. When the 2^32 nonces run out the
//! caller rolls the extra-nonce in the coinbase, which changes the merkle root.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use bitcoin_hashes::{sha256, Hash, HashEngine};
use dotcoin_common::primitives::BlockHeader;
use rayon::prelude::*;
use ruint::aliases::U256;

/// Nonces a worker tries between two looks at the cancel condition.
pub const CANCEL_CHECK_INTERVAL: u32 = 4096;

/// How a nonce search ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchResult {
    /// This nonce meets the target.
    Found(u32),
    /// No nonce meets the target: roll the extra-nonce.
    Exhausted,
    /// The cancel condition became true.
    Cancelled,
}

/// Whether a hash (little-endian number) is at most the target (little-endian bytes).
#[inline]
fn meets_target(hash: &[u8; 32], target_le: &[u8; 32]) -> bool {
    for i in (0..32).rev() {
        if hash[i] != target_le[i] {
            return hash[i] < target_le[i];
        }
    }
    true
}

/// The header's first 64 bytes hashed once, and its last 16 bytes with the nonce zeroed.
#[derive(Debug, Clone, Copy)]
pub struct HeaderMidstate {
    midstate: sha256::Midstate,
    tail: [u8; 16],
}

impl HeaderMidstate {
    /// Prepares `header` for hashing many nonces.
    pub fn new(header: &BlockHeader) -> HeaderMidstate {
        let bytes = header.to_bytes();
        let mut engine = sha256::HashEngine::default();
        engine.input(&bytes[..64]);
        let mut tail = [0u8; 16];
        tail.copy_from_slice(&bytes[64..]);
        HeaderMidstate {
            midstate: engine.midstate(),
            tail,
        }
    }

    /// SHA-256d of the header with `nonce`, in internal byte order.
    #[inline]
    pub fn hash_with_nonce(&self, nonce: u32) -> [u8; 32] {
        let mut tail = self.tail;
        tail[12..].copy_from_slice(&nonce.to_le_bytes());
        let mut engine = sha256::HashEngine::from_midstate(self.midstate, 64);
        engine.input(&tail);
        let first = sha256::Hash::from_engine(engine);
        sha256::Hash::hash(first.as_byte_array()).to_byte_array()
    }
}

/// Searches all 2^32 nonces of `header` on the threads of `pool`, each thread a
/// contiguous range. `cancel` is polled every [`CANCEL_CHECK_INTERVAL`] nonces per thread;
/// `hashes` counts the work done.
pub fn search(
    header: &BlockHeader,
    pool: &rayon::ThreadPool,
    cancel: &(dyn Fn() -> bool + Sync),
    hashes: &AtomicU64,
) -> SearchResult {
    let target = match header.bits.to_target() {
        Ok(t) => t,
        Err(_) => return SearchResult::Exhausted,
    };
    let target_le: [u8; 32] = target.to_le_bytes();
    let mid = HeaderMidstate::new(header);
    let threads = pool.current_num_threads().max(1) as u64;
    let chunk = (1u64 << 32) / threads;
    let done = AtomicBool::new(false);
    let cancelled = AtomicBool::new(false);
    let found = pool.install(|| {
        (0..threads).into_par_iter().find_map_any(|t| {
            let start = t * chunk;
            let end = if t + 1 == threads {
                1u64 << 32
            } else {
                start + chunk
            };
            let mut nonce = start;
            while nonce < end {
                if done.load(Ordering::Relaxed) {
                    return None;
                }
                if cancel() {
                    cancelled.store(true, Ordering::Relaxed);
                    done.store(true, Ordering::Relaxed);
                    return None;
                }
                let batch_end = (nonce + CANCEL_CHECK_INTERVAL as u64).min(end);
                for n in nonce..batch_end {
                    let h = mid.hash_with_nonce(n as u32);
                    if meets_target(&h, &target_le) {
                        hashes.fetch_add(n - nonce + 1, Ordering::Relaxed);
                        done.store(true, Ordering::Relaxed);
                        return Some(n as u32);
                    }
                }
                hashes.fetch_add(batch_end - nonce, Ordering::Relaxed);
                nonce = batch_end;
            }
            None
        })
    });
    match found {
        Some(n) => SearchResult::Found(n),
        None if cancelled.load(Ordering::Relaxed) => SearchResult::Cancelled,
        None => SearchResult::Exhausted,
    }
}

/// Whether `hash` meets `target` (for tests and callers holding a `U256`).
pub fn hash_meets(hash: &[u8; 32], target: U256) -> bool {
    meets_target(hash, &target.to_le_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use dotcoin_common::Network;

    #[test]
    fn midstate_hash_equals_plain_hash() {
        let mut header = Network::Main.params().genesis_block().header;
        let mid = HeaderMidstate::new(&header);
        for nonce in [0u32, 1, 75_871, u32::MAX] {
            header.nonce = nonce;
            assert_eq!(
                mid.hash_with_nonce(nonce),
                header.block_hash().to_byte_array()
            );
        }
    }

    #[test]
    fn finds_main_genesis_nonce() {
        let mut header = Network::Main.params().genesis_block().header;
        let expected = header.nonce;
        header.nonce = 0;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .expect("pool");
        let hashes = AtomicU64::new(0);
        assert_eq!(
            search(&header, &pool, &|| false, &hashes),
            SearchResult::Found(expected)
        );
        assert_eq!(hashes.load(Ordering::Relaxed), expected as u64 + 1);
    }

    #[test]
    fn cancel_stops_search() {
        let mut header = Network::Main.params().genesis_block().header;
        // An impossible target: only a zero hash would do.
        header.bits = dotcoin_common::primitives::CompactTarget(0x0300_0001);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .expect("pool");
        let hashes = AtomicU64::new(0);
        let budget = AtomicU64::new(0);
        let cancel = || budget.fetch_add(1, Ordering::Relaxed) > 10;
        assert_eq!(
            search(&header, &pool, &cancel, &hashes),
            SearchResult::Cancelled
        );
        assert!(hashes.load(Ordering::Relaxed) <= 12 * CANCEL_CHECK_INTERVAL as u64);
    }
}
