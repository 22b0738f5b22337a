//! The parallel nonce search: the mining kernel.
//!
//! The search hashes the first 64 header bytes once (the SHA-256 midstate) and per nonce
//! only the last 16, on a dedicated rayon pool. On a CPU with the SHA extensions the
//! second and third compressions run [`LANES`] nonces at a time (`sha_x86`), chosen at run
//! time; elsewhere each nonce goes through `bitcoin_hashes`, the portable path. Every
//! worker polls a cancel condition every [`CANCEL_CHECK_INTERVAL`] nonces, so a new tip or
//! a stop ends the search within a fraction of a millisecond of work. When the 2^32 nonces
//! run out the caller rolls the extra-nonce in the coinbase, which changes the merkle root.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use bitcoin_hashes::{sha256, Hash, HashEngine};
use dotcoin_common::primitives::BlockHeader;
use rayon::prelude::*;
use ruint::aliases::U256;

#[cfg(target_arch = "x86_64")]
use super::sha_x86::ShaNi;

/// Nonces a worker tries between two looks at the cancel condition (a multiple of
/// [`LANES`]).
pub const CANCEL_CHECK_INTERVAL: u32 = 4096;

/// Nonces the multi-lane kernel hashes per call.
#[cfg(target_arch = "x86_64")]
pub const LANES: usize = super::sha_x86::LANES;
/// Nonces the multi-lane kernel hashes per call.
#[cfg(not(target_arch = "x86_64"))]
pub const LANES: usize = 4;

/// Which hashing code a search uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    /// The fastest this CPU has: SHA-NI lanes if present, else portable.
    Best,
    /// `bitcoin_hashes`, one nonce at a time (for comparison in benchmarks and tests).
    Portable,
}

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
    #[cfg(target_arch = "x86_64")]
    lanes: Option<ShaNi>,
}

impl HeaderMidstate {
    /// Prepares `header` for hashing many nonces with the fastest kernel of this CPU.
    pub fn new(header: &BlockHeader) -> HeaderMidstate {
        HeaderMidstate::with_kernel(header, Kernel::Best)
    }

    /// Prepares `header` for hashing many nonces with `kernel`.
    pub fn with_kernel(header: &BlockHeader, kernel: Kernel) -> HeaderMidstate {
        let bytes = header.to_bytes();
        let mut engine = sha256::HashEngine::default();
        engine.input(&bytes[..64]);
        let midstate = engine.midstate();
        let mut tail = [0u8; 16];
        tail.copy_from_slice(&bytes[64..]);
        #[cfg(target_arch = "x86_64")]
        let lanes = match kernel {
            Kernel::Best => ShaNi::new(be_words(&midstate.0), be_words(&tail[..12])),
            Kernel::Portable => None,
        };
        #[cfg(not(target_arch = "x86_64"))]
        let _ = kernel;
        HeaderMidstate {
            midstate,
            tail,
            #[cfg(target_arch = "x86_64")]
            lanes,
        }
    }

    /// Whether this midstate hashes [`LANES`] nonces per call on SHA-NI.
    pub fn uses_sha_ni(&self) -> bool {
        #[cfg(target_arch = "x86_64")]
        return self.lanes.is_some();
        #[cfg(not(target_arch = "x86_64"))]
        false
    }

    /// SHA-256d of the header with the nonces `first`, `first + 1`, … (wrapping), in
    /// internal byte order.
    #[inline]
    pub fn hash_lanes(&self, first: u32) -> [[u8; 32]; LANES] {
        #[cfg(target_arch = "x86_64")]
        if let Some(k) = &self.lanes {
            return k.hash_lanes(first).map(|words| digest_bytes(&words));
        }
        std::array::from_fn(|l| self.hash_with_nonce(first.wrapping_add(l as u32)))
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

/// Big-endian 32-bit words of `bytes` (a multiple of 4 long).
#[cfg(target_arch = "x86_64")]
fn be_words<const N: usize>(bytes: &[u8]) -> [u32; N] {
    std::array::from_fn(|i| {
        u32::from_be_bytes(
            bytes[4 * i..4 * i + 4]
                .try_into()
                .expect("a 4-byte slice of a buffer of N words"),
        )
    })
}

/// A digest's state words as bytes, in internal order.
#[cfg(target_arch = "x86_64")]
#[inline]
fn digest_bytes(words: &[u32; 8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (chunk, w) in out.chunks_exact_mut(4).zip(words) {
        chunk.copy_from_slice(&w.to_be_bytes());
    }
    out
}

/// Searches all 2^32 nonces of `header` on the threads of `pool`, each thread a
/// contiguous range, with the fastest kernel of this CPU. `cancel` is polled every
/// [`CANCEL_CHECK_INTERVAL`] nonces per thread; `hashes` counts the work done.
pub fn search(
    header: &BlockHeader,
    pool: &rayon::ThreadPool,
    cancel: &(dyn Fn() -> bool + Sync),
    hashes: &AtomicU64,
) -> SearchResult {
    search_with_kernel(header, Kernel::Best, pool, cancel, hashes)
}

/// Nonces `start..end` of one batch: the first that meets the target, checked in order.
#[inline]
fn scan_batch(mid: &HeaderMidstate, target_le: &[u8; 32], start: u64, end: u64) -> Option<u64> {
    #[cfg(target_arch = "x86_64")]
    if let Some(k) = &mid.lanes {
        // The hash read as a little-endian number has its top 32 bits in the last state
        // word, byte-swapped: comparing that first skips the full compare for almost
        // every nonce.
        let top = u32::from_le_bytes(target_le[28..].try_into().expect("the last 4 bytes of 32"));
        let mut n = start;
        while n < end {
            let tops = k.top_words(n as u32);
            for (l, word) in tops.iter().enumerate() {
                let nonce = n + l as u64;
                // A candidate is hashed again in full: rare except on regtest, where
                // about every other hash meets the target anyway.
                if nonce < end
                    && word.swap_bytes() <= top
                    && meets_target(&mid.hash_with_nonce(nonce as u32), target_le)
                {
                    return Some(nonce);
                }
            }
            n += LANES as u64;
        }
        return None;
    }
    (start..end).find(|&n| meets_target(&mid.hash_with_nonce(n as u32), target_le))
}

/// [`search`] with a chosen kernel.
pub fn search_with_kernel(
    header: &BlockHeader,
    kernel: Kernel,
    pool: &rayon::ThreadPool,
    cancel: &(dyn Fn() -> bool + Sync),
    hashes: &AtomicU64,
) -> SearchResult {
    let target = match header.bits.to_target() {
        Ok(t) => t,
        Err(_) => return SearchResult::Exhausted,
    };
    let target_le: [u8; 32] = target.to_le_bytes();
    let mid = HeaderMidstate::with_kernel(header, kernel);
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
                if let Some(n) = scan_batch(&mid, &target_le, nonce, batch_end) {
                    hashes.fetch_add(n - nonce + 1, Ordering::Relaxed);
                    done.store(true, Ordering::Relaxed);
                    return Some(n as u32);
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
    use bitcoin_hashes::sha256d;
    use dotcoin_common::primitives::CompactTarget;
    use dotcoin_common::{BlockHash, Network, TxMerkleNode};
    use rand::{Rng, RngCore};

    fn random_header(rng: &mut impl RngCore, bits: u32) -> BlockHeader {
        let mut prev = [0u8; 32];
        let mut merkle = [0u8; 32];
        rng.fill_bytes(&mut prev);
        rng.fill_bytes(&mut merkle);
        BlockHeader {
            version: rng.next_u32(),
            prev_blockhash: BlockHash::from_byte_array(prev),
            merkle_root: TxMerkleNode::from_byte_array(merkle),
            time: rng.next_u32(),
            bits: CompactTarget(bits),
            nonce: rng.next_u32(),
        }
    }

    /// SHA-256d of the whole 80 bytes, the way every other part of the node hashes them.
    fn reference(header: &BlockHeader, nonce: u32) -> [u8; 32] {
        let mut h = *header;
        h.nonce = nonce;
        sha256d::Hash::hash(&h.to_bytes()).to_byte_array()
    }

    #[test]
    fn best_kernel_is_sha_ni_where_the_cpu_has_it() {
        let header = Network::Main.params().genesis_block().header;
        #[cfg(target_arch = "x86_64")]
        assert_eq!(
            HeaderMidstate::new(&header).uses_sha_ni(),
            std::is_x86_feature_detected!("sha")
                && std::is_x86_feature_detected!("sse4.1")
                && std::is_x86_feature_detected!("ssse3")
        );
        assert!(!HeaderMidstate::with_kernel(&header, Kernel::Portable).uses_sha_ni());
    }

    #[test]
    fn lanes_equal_bitcoin_hashes_on_random_headers_and_nonces() {
        let mut rng = rand::thread_rng();
        for i in 0..300 {
            let bits = rng.next_u32();
            let header = random_header(&mut rng, bits);
            // Random first nonces, and first nonces that put the 2^32 wrap after every lane.
            let firsts = [rng.next_u32(), 0, u32::MAX - (i % LANES) as u32];
            for kernel in [Kernel::Best, Kernel::Portable] {
                let mid = HeaderMidstate::with_kernel(&header, kernel);
                for first in firsts {
                    let got = mid.hash_lanes(first);
                    for (l, hash) in got.iter().enumerate() {
                        let nonce = first.wrapping_add(l as u32);
                        assert_eq!(*hash, reference(&header, nonce), "{kernel:?} lane {l}");
                        assert_eq!(*hash, mid.hash_with_nonce(nonce));
                    }
                }
            }
        }
    }

    #[test]
    fn batch_scan_finds_the_first_hit_at_every_lane_position() {
        // Regtest's limit: about half of all hashes meet it, so hits land on every lane.
        let bits = Network::Regtest.params().pow_limit.0;
        let mut rng = rand::thread_rng();
        let mut lanes_hit = [false; LANES];
        for _ in 0..400 {
            let header = random_header(&mut rng, bits);
            let target_le = header.bits.to_target().expect("valid bits").to_le_bytes();
            // Ranges of any length and alignment, some ending at the top of the nonce space.
            let start = if rng.gen_bool(0.2) {
                (1u64 << 32) - rng.gen_range(1..3 * LANES as u64)
            } else {
                u64::from(rng.next_u32())
            };
            let end = (start + rng.gen_range(1..4 * LANES as u64)).min(1 << 32);
            let expected =
                (start..end).find(|&n| meets_target(&reference(&header, n as u32), &target_le));
            for kernel in [Kernel::Best, Kernel::Portable] {
                let mid = HeaderMidstate::with_kernel(&header, kernel);
                assert_eq!(
                    scan_batch(&mid, &target_le, start, end),
                    expected,
                    "{kernel:?}"
                );
            }
            if let Some(n) = expected {
                lanes_hit[((n - start) % LANES as u64) as usize] = true;
            }
        }
        assert_eq!(lanes_hit, [true; LANES]);
    }

    #[test]
    fn searches_agree_across_kernels_and_thread_counts() {
        let mut rng = rand::thread_rng();
        // About one hash in 2^12 meets it: a hit within each thread's first batches.
        let header = {
            let mut h = random_header(&mut rng, 0x1f0f_ffff);
            h.nonce = 0;
            h
        };
        for threads in [1, 3] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("pool");
            for kernel in [Kernel::Best, Kernel::Portable] {
                let hashes = AtomicU64::new(0);
                match search_with_kernel(&header, kernel, &pool, &|| false, &hashes) {
                    SearchResult::Found(n) => {
                        let mut h = header;
                        h.nonce = n;
                        assert!(hash_meets(
                            &h.block_hash().to_byte_array(),
                            h.bits.to_target().expect("valid bits")
                        ));
                    }
                    other => panic!("{kernel:?} on {threads} threads: {other:?}"),
                }
            }
        }
    }

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
