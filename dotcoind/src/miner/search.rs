//! The parallel nonce search: the mining kernels, and the choice among them.
//!
//! The search hashes the first 64 header bytes once (the SHA-256 midstate) and per nonce
//! only the last 16, on a dedicated rayon pool. On a CPU with the SHA extensions the
//! second and third compressions run 1, 2, 4 or 8 nonces at a time (`sha_x86`); elsewhere
//! each nonce goes through `bitcoin_hashes`, the portable path. Which lane count is fastest
//! differs between CPUs by up to 2×, so [`best_kernel`] measures every kernel this CPU has
//! for a few milliseconds the first time one is needed and keeps the fastest. Every worker
//! polls a cancel condition every [`CANCEL_CHECK_INTERVAL`] nonces, so a new tip or a stop
//! ends the search within a fraction of a millisecond of work. When the 2^32 nonces run out
//! the caller rolls the extra-nonce in the coinbase, which changes the merkle root.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

use bitcoin_hashes::{sha256, Hash, HashEngine};
use dotcoin_common::primitives::{BlockHeader, CompactTarget};
use dotcoin_common::Network;
use rayon::prelude::*;
use ruint::aliases::U256;

#[cfg(target_arch = "x86_64")]
use super::sha_x86::ShaNi;

/// Nonces a worker tries between two looks at the cancel condition (a multiple of every
/// kernel's lane count).
pub const CANCEL_CHECK_INTERVAL: u32 = 4096;

/// The most nonces any kernel hashes per call.
pub const LANES: usize = 8;

/// Which hashing code a search uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kernel {
    /// The fastest this CPU has, as [`best_kernel`] measured it.
    Best,
    /// `bitcoin_hashes`, one nonce at a time.
    Portable,
    /// SHA-NI, one nonce per call.
    ShaNi1,
    /// SHA-NI, two nonces per call, interleaved.
    ShaNi2,
    /// SHA-NI, four nonces per call, interleaved.
    ShaNi4,
    /// SHA-NI, eight nonces per call, interleaved.
    ShaNi8,
}

impl Kernel {
    /// Every concrete kernel, in the order the probe tries them.
    pub const ALL: [Kernel; 5] = [
        Kernel::Portable,
        Kernel::ShaNi1,
        Kernel::ShaNi2,
        Kernel::ShaNi4,
        Kernel::ShaNi8,
    ];

    /// The kernel's name, as `--minerkernel` and `getmininginfo` spell it.
    pub fn name(self) -> &'static str {
        match self {
            Kernel::Best => "auto",
            Kernel::Portable => "portable",
            Kernel::ShaNi1 => "sha-ni-1",
            Kernel::ShaNi2 => "sha-ni-2",
            Kernel::ShaNi4 => "sha-ni-4",
            Kernel::ShaNi8 => "sha-ni-8",
        }
    }

    /// Nonces per call.
    pub fn lanes(self) -> usize {
        match self {
            Kernel::Best => best_kernel().kernel.lanes(),
            Kernel::Portable | Kernel::ShaNi1 => 1,
            Kernel::ShaNi2 => 2,
            Kernel::ShaNi4 => 4,
            Kernel::ShaNi8 => 8,
        }
    }

    /// Whether this CPU can run the kernel (`Best` always can).
    pub fn is_available(self) -> bool {
        match self {
            Kernel::Best | Kernel::Portable => true,
            _ => cpu_has_sha_ni(),
        }
    }

    /// The concrete kernels this CPU can run.
    pub fn available() -> Vec<Kernel> {
        Kernel::ALL
            .into_iter()
            .filter(|k| k.is_available())
            .collect()
    }
}

impl fmt::Display for Kernel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Kernel {
    type Err = String;

    fn from_str(s: &str) -> Result<Kernel, String> {
        std::iter::once(Kernel::Best)
            .chain(Kernel::ALL)
            .find(|k| k.name() == s)
            .ok_or_else(|| {
                format!(
                    "unknown miner kernel '{s}' (one of: auto, {})",
                    Kernel::ALL.map(Kernel::name).join(", ")
                )
            })
    }
}

/// Whether the CPU has every instruction the SHA-NI kernels use.
fn cpu_has_sha_ni() -> bool {
    #[cfg(target_arch = "x86_64")]
    return std::is_x86_feature_detected!("sha")
        && std::is_x86_feature_detected!("sse2")
        && std::is_x86_feature_detected!("ssse3")
        && std::is_x86_feature_detected!("sse4.1");
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// What the start-up probe measured and chose.
#[derive(Debug, Clone)]
pub struct KernelChoice {
    /// The fastest kernel.
    pub kernel: Kernel,
    /// Every kernel this CPU has with the hashes per second it reached on all cores (best
    /// of the probe's rounds), in [`Kernel::ALL`]'s order.
    pub rates: Vec<(Kernel, f64)>,
    /// The threads the probe ran on.
    pub threads: usize,
}

impl KernelChoice {
    /// One line saying what was chosen and why, for logs and `getmininginfo`.
    pub fn reason(&self) -> String {
        let rates: Vec<String> = self
            .rates
            .iter()
            .map(|(k, r)| format!("{k} {:.2} M/s", r / 1e6))
            .collect();
        format!(
            "fastest in a start-up probe on {} thread{}: {}",
            self.threads,
            if self.threads == 1 { "" } else { "s" },
            rates.join(", ")
        )
    }
}

/// Nonces each kernel hashes per probe round; rounds alternate the kernels so a burst of
/// load elsewhere on the machine does not favour one of them.
const PROBE_HASHES: u64 = 1 << 14;
const PROBE_ROUNDS: usize = 5;

/// Measures `kernels` on `pool` and returns the fastest.
pub fn probe_kernels(kernels: &[Kernel], pool: &rayon::ThreadPool) -> KernelChoice {
    let header = impossible_header();
    let mut best = vec![0f64; kernels.len()];
    for _ in 0..PROBE_ROUNDS {
        for (i, &k) in kernels.iter().enumerate() {
            let hashes = AtomicU64::new(0);
            let cancel = || hashes.load(Ordering::Relaxed) >= PROBE_HASHES;
            let start = Instant::now();
            search_with_kernel(&header, k, pool, &cancel, &hashes);
            let secs = start.elapsed().as_secs_f64().max(1e-9);
            best[i] = best[i].max(hashes.load(Ordering::Relaxed) as f64 / secs);
        }
    }
    let rates: Vec<(Kernel, f64)> = kernels.iter().copied().zip(best).collect();
    let kernel = rates
        .iter()
        .copied()
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(k, _)| k)
        .unwrap_or(Kernel::Portable);
    KernelChoice {
        kernel,
        rates,
        threads: pool.current_num_threads(),
    }
}

/// The kernel [`Kernel::Best`] stands for: measured once per process on as many threads
/// as the machine has cores (about 50 ms), the first time it is asked for.
pub fn best_kernel() -> &'static KernelChoice {
    static CHOICE: OnceLock<KernelChoice> = OnceLock::new();
    CHOICE.get_or_init(|| {
        let available = Kernel::available();
        if available.len() == 1 {
            return KernelChoice {
                kernel: available[0],
                rates: vec![(available[0], 0.0)],
                threads: 0,
            };
        }
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("kernel-probe-{i}"))
            .build()
            .expect("a thread pool of a few threads can be built");
        probe_kernels(&available, &pool)
    })
}

/// A header no nonce can solve (only an all-zero hash would meet its target): a search
/// on it runs until cancelled.
pub fn impossible_header() -> BlockHeader {
    let mut h = Network::Main.params().genesis_block().header;
    h.bits = CompactTarget(0x0300_0001);
    h
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

/// The kernel a midstate hashes with, holding what it precomputed.
#[derive(Debug, Clone, Copy)]
enum Engine {
    Portable,
    #[cfg(target_arch = "x86_64")]
    Ni1(ShaNi<1>),
    #[cfg(target_arch = "x86_64")]
    Ni2(ShaNi<2>),
    #[cfg(target_arch = "x86_64")]
    Ni4(ShaNi<4>),
    #[cfg(target_arch = "x86_64")]
    Ni8(ShaNi<8>),
}

/// The header's first 64 bytes hashed once, and its last 16 bytes with the nonce zeroed.
#[derive(Debug, Clone, Copy)]
pub struct HeaderMidstate {
    midstate: sha256::Midstate,
    tail: [u8; 16],
    engine: Engine,
}

impl HeaderMidstate {
    /// Prepares `header` for hashing many nonces with the fastest kernel of this CPU.
    pub fn new(header: &BlockHeader) -> HeaderMidstate {
        HeaderMidstate::with_kernel(header, Kernel::Best)
    }

    /// Prepares `header` for hashing many nonces with `kernel` (the portable one where the
    /// CPU lacks what `kernel` needs).
    pub fn with_kernel(header: &BlockHeader, kernel: Kernel) -> HeaderMidstate {
        let bytes = header.to_bytes();
        let mut engine = sha256::HashEngine::default();
        engine.input(&bytes[..64]);
        let midstate = engine.midstate();
        let mut tail = [0u8; 16];
        tail.copy_from_slice(&bytes[64..]);
        let kernel = match kernel {
            Kernel::Best => best_kernel().kernel,
            k => k,
        };
        #[cfg(target_arch = "x86_64")]
        let engine = {
            let (m, t) = (be_words(&midstate.0), be_words(&tail[..12]));
            match kernel {
                Kernel::ShaNi1 => ShaNi::new(m, t).map(Engine::Ni1),
                Kernel::ShaNi2 => ShaNi::new(m, t).map(Engine::Ni2),
                Kernel::ShaNi4 => ShaNi::new(m, t).map(Engine::Ni4),
                Kernel::ShaNi8 => ShaNi::new(m, t).map(Engine::Ni8),
                Kernel::Best | Kernel::Portable => None,
            }
            .unwrap_or(Engine::Portable)
        };
        #[cfg(not(target_arch = "x86_64"))]
        let engine = {
            let _ = kernel;
            Engine::Portable
        };
        HeaderMidstate {
            midstate,
            tail,
            engine,
        }
    }

    /// The kernel this midstate hashes with.
    pub fn kernel(&self) -> Kernel {
        match self.engine {
            Engine::Portable => Kernel::Portable,
            #[cfg(target_arch = "x86_64")]
            Engine::Ni1(_) => Kernel::ShaNi1,
            #[cfg(target_arch = "x86_64")]
            Engine::Ni2(_) => Kernel::ShaNi2,
            #[cfg(target_arch = "x86_64")]
            Engine::Ni4(_) => Kernel::ShaNi4,
            #[cfg(target_arch = "x86_64")]
            Engine::Ni8(_) => Kernel::ShaNi8,
        }
    }

    /// Whether this midstate hashes on SHA-NI.
    pub fn uses_sha_ni(&self) -> bool {
        self.kernel() != Kernel::Portable
    }

    /// SHA-256d of the header with the nonces `first`, `first + 1`, … (wrapping), one per
    /// lane of the kernel, in internal byte order.
    pub fn hash_lanes(&self, first: u32) -> Vec<[u8; 32]> {
        #[cfg(target_arch = "x86_64")]
        {
            let bytes = |words: &[[u32; 8]]| words.iter().map(digest_bytes).collect();
            match &self.engine {
                Engine::Ni1(k) => return bytes(&k.hash_lanes(first)),
                Engine::Ni2(k) => return bytes(&k.hash_lanes(first)),
                Engine::Ni4(k) => return bytes(&k.hash_lanes(first)),
                Engine::Ni8(k) => return bytes(&k.hash_lanes(first)),
                Engine::Portable => {}
            }
        }
        vec![self.hash_with_nonce(first)]
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
    match &mid.engine {
        Engine::Ni1(k) => return scan_lanes(k, mid, target_le, start, end),
        Engine::Ni2(k) => return scan_lanes(k, mid, target_le, start, end),
        Engine::Ni4(k) => return scan_lanes(k, mid, target_le, start, end),
        Engine::Ni8(k) => return scan_lanes(k, mid, target_le, start, end),
        Engine::Portable => {}
    }
    (start..end).find(|&n| meets_target(&mid.hash_with_nonce(n as u32), target_le))
}

/// [`scan_batch`] on an `N`-lane SHA-NI kernel.
#[cfg(target_arch = "x86_64")]
#[inline]
fn scan_lanes<const N: usize>(
    k: &ShaNi<N>,
    mid: &HeaderMidstate,
    target_le: &[u8; 32],
    start: u64,
    end: u64,
) -> Option<u64> {
    // The hash read as a little-endian number has its top 32 bits in the last state word,
    // byte-swapped: comparing that first skips the full compare for almost every nonce.
    let top = u32::from_le_bytes(target_le[28..].try_into().expect("the last 4 bytes of 32"));
    let mut n = start;
    while n < end {
        let tops = k.top_words(n as u32);
        for (l, word) in tops.iter().enumerate() {
            let nonce = n + l as u64;
            // A candidate is hashed again in full: rare except on regtest, where about
            // every other hash meets the target anyway.
            if nonce < end
                && word.swap_bytes() <= top
                && meets_target(&mid.hash_with_nonce(nonce as u32), target_le)
            {
                return Some(nonce);
            }
        }
        n += N as u64;
    }
    None
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

    /// Every kernel this CPU runs, and `Best`.
    fn kernels() -> Vec<Kernel> {
        let mut k = Kernel::available();
        k.push(Kernel::Best);
        k
    }

    #[test]
    fn sha_ni_kernels_run_where_the_cpu_has_them() {
        let header = Network::Main.params().genesis_block().header;
        let has = cpu_has_sha_ni();
        #[cfg(target_arch = "x86_64")]
        assert_eq!(
            has,
            std::is_x86_feature_detected!("sha")
                && std::is_x86_feature_detected!("sse4.1")
                && std::is_x86_feature_detected!("ssse3")
        );
        for k in Kernel::ALL {
            let mid = HeaderMidstate::with_kernel(&header, k);
            let expected = if has || k == Kernel::Portable {
                k
            } else {
                Kernel::Portable
            };
            assert_eq!(mid.kernel(), expected);
            assert_eq!(mid.hash_lanes(0).len(), expected.lanes());
        }
        assert!(!HeaderMidstate::with_kernel(&header, Kernel::Portable).uses_sha_ni());
        // The probe chose among what this CPU has, and measured every one of them.
        let choice = best_kernel();
        assert!(choice.kernel.is_available() && choice.kernel != Kernel::Best);
        assert_eq!(HeaderMidstate::new(&header).kernel(), choice.kernel);
        let probed: Vec<Kernel> = choice.rates.iter().map(|(k, _)| *k).collect();
        assert_eq!(probed, Kernel::available());
        assert!(choice.reason().contains(choice.kernel.name()));
    }

    #[test]
    fn kernel_names_parse_back() {
        for k in std::iter::once(Kernel::Best).chain(Kernel::ALL) {
            assert_eq!(k.name().parse::<Kernel>(), Ok(k));
        }
        let err = "sha-ni-3".parse::<Kernel>().unwrap_err();
        assert!(
            err.contains("sha-ni-3") && err.contains("sha-ni-8"),
            "{err}"
        );
    }

    #[test]
    fn the_probe_picks_the_fastest_it_measured() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .expect("pool");
        let choice = probe_kernels(&[Kernel::Portable], &pool);
        assert_eq!(choice.kernel, Kernel::Portable);
        assert!(choice.rates[0].1 > 0.0);
        let all = probe_kernels(&Kernel::available(), &pool);
        let max = all.rates.iter().map(|(_, r)| *r).fold(0.0, f64::max);
        assert_eq!(
            all.rates
                .iter()
                .find(|(k, _)| *k == all.kernel)
                .map(|x| x.1),
            Some(max)
        );
    }

    #[test]
    fn every_kernel_equals_bitcoin_hashes_on_random_headers_and_nonces() {
        let mut rng = rand::thread_rng();
        for i in 0..300 {
            let bits = rng.next_u32();
            let header = random_header(&mut rng, bits);
            // Random first nonces, and first nonces that put the 2^32 wrap after every lane.
            let firsts = [rng.next_u32(), 0, u32::MAX - (i % LANES) as u32];
            for kernel in kernels() {
                let mid = HeaderMidstate::with_kernel(&header, kernel);
                for first in firsts {
                    let got = mid.hash_lanes(first);
                    assert_eq!(got.len(), mid.kernel().lanes());
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
        for kernel in kernels() {
            let lanes = HeaderMidstate::with_kernel(&random_header(&mut rng, bits), kernel)
                .kernel()
                .lanes();
            let mut lanes_hit = vec![false; lanes];
            // A first hit at lane position p needs p misses before it (about 2^-p), so the
            // wide kernels' last lanes take thousands of ranges to reach.
            for round in 0..100_000 {
                if round >= 400 && lanes_hit.iter().all(|&h| h) {
                    break;
                }
                let header = random_header(&mut rng, bits);
                let target_le = header.bits.to_target().expect("valid bits").to_le_bytes();
                // Ranges of any length and alignment, some ending at the top of the nonce
                // space.
                let start = if rng.gen_bool(0.2) {
                    (1u64 << 32) - rng.gen_range(1..3 * LANES as u64)
                } else {
                    u64::from(rng.next_u32())
                };
                let end = (start + rng.gen_range(1..4 * LANES as u64)).min(1 << 32);
                let expected =
                    (start..end).find(|&n| meets_target(&reference(&header, n as u32), &target_le));
                let mid = HeaderMidstate::with_kernel(&header, kernel);
                assert_eq!(
                    scan_batch(&mid, &target_le, start, end),
                    expected,
                    "{kernel:?}"
                );
                if let Some(n) = expected {
                    lanes_hit[((n - start) % lanes as u64) as usize] = true;
                }
            }
            assert!(lanes_hit.iter().all(|&h| h), "{kernel:?}: {lanes_hit:?}");
        }
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
            for kernel in kernels() {
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
