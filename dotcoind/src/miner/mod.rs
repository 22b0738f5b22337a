//! The miner service: builds templates from chain snapshots, searches nonces on its own
//! rayon pool, and hands found blocks to the chain service like any peer would.
//!
//! It follows the event stream rather than a timer: a listener thread bumps a generation
//! counter when the tip changes (the work is stale at once) or the mempool gains a
//! transaction (a richer template is worth a rebuild, at most once a second). The search
//! polls that counter every [`CANCEL_CHECK_INTERVAL`] nonces per thread, so a new tip stops
//! it within a fraction of a millisecond.

mod search;
#[cfg(target_arch = "x86_64")]
mod sha_x86;
mod template;

pub use search::{
    best_kernel, hash_meets, impossible_header, probe_kernels, search, search_with_kernel,
    HeaderMidstate, Kernel, KernelChoice, SearchResult, CANCEL_CHECK_INTERVAL, LANES,
};
pub use template::{build_template, Template};

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use dotcoin_common::{BlockHash, PubKey};
use tokio::sync::broadcast::error::RecvError;
use tracing::{info, warn};

use crate::chain::ChainError;
use crate::state::{ChainService, Event, EventBus};
use crate::util::unix_time;

/// A template is rebuilt for new mempool transactions at most this often.
const FEE_REBUILD_INTERVAL: Duration = Duration::from_secs(1);

/// Hashes per second over the last few seconds of mining.
#[derive(Debug, Default)]
struct RateWindow {
    last: Option<(Instant, u64)>,
    rate: f64,
}

/// What the listener learns from the event stream.
#[derive(Debug, Default)]
struct Staleness {
    /// Bumped on every tip change.
    tip: AtomicU64,
    /// Bumped on every transaction entering the pool.
    pool: AtomicU64,
}

/// The miner service.
#[derive(Debug)]
pub struct MinerService {
    chain: Arc<ChainService>,
    events: EventBus,
    stale: Arc<Staleness>,
    running: AtomicBool,
    stop: AtomicBool,
    /// Set once at shutdown: every search, `generate` included, ends.
    shutdown: AtomicBool,
    hashes: AtomicU64,
    /// The next template's extra-nonce, shared by every search of this service: two
    /// templates on the same parent, key and second still differ in their coinbase, so
    /// `generatetoaddress` right after `invalidateblock` makes a new block rather than the
    /// one just invalidated.
    extra_nonce: AtomicU64,
    threads: AtomicU64,
    /// Pause after each found block, in milliseconds (0: none).
    interval_ms: AtomicU64,
    handle: Mutex<Option<JoinHandle<()>>>,
    rate: Mutex<RateWindow>,
    /// The kernel `--minerkernel` asked for (`Best`: the start-up probe's choice).
    kernel: Mutex<Kernel>,
}

impl MinerService {
    /// A stopped miner over `chain`, listening to its event stream.
    pub fn new(chain: Arc<ChainService>) -> Arc<MinerService> {
        let stale = Arc::new(Staleness::default());
        let mut rx = chain.subscribe();
        let listener = Arc::clone(&stale);
        std::thread::Builder::new()
            .name("miner-events".into())
            .spawn(move || loop {
                match rx.blocking_recv() {
                    Ok(Event::TipChanged { .. }) | Err(RecvError::Lagged(_)) => {
                        // A lagged listener cannot know what it missed: treat it as a new tip.
                        listener.tip.fetch_add(1, Ordering::SeqCst);
                    }
                    Ok(Event::TxAccepted { .. }) => {
                        listener.pool.fetch_add(1, Ordering::SeqCst);
                    }
                    Ok(_) => {}
                    Err(RecvError::Closed) => break,
                }
            })
            .expect("the OS can start one more thread");
        Arc::new(MinerService {
            events: chain.events().clone(),
            chain,
            stale,
            running: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            shutdown: AtomicBool::new(false),
            hashes: AtomicU64::new(0),
            extra_nonce: AtomicU64::new(0),
            threads: AtomicU64::new(0),
            interval_ms: AtomicU64::new(0),
            handle: Mutex::new(None),
            rate: Mutex::new(RateWindow::default()),
            kernel: Mutex::new(Kernel::Best),
        })
    }

    /// Mines `n` blocks paying `pubkey` on `threads` threads (what `generatetoaddress`
    /// does). Stops early if `max_tries` nonces per block run out or the node shuts down,
    /// returning the blocks mined so far.
    pub fn generate(
        &self,
        n: u32,
        pubkey: PubKey,
        threads: usize,
        max_tries: u64,
    ) -> Result<Vec<BlockHash>, ChainError> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads.max(1))
            .thread_name(|i| format!("generate-{i}"))
            .build()
            .expect("a thread pool of a few threads can be built");
        // `n` comes from a caller (up to u32::MAX): reserve for a sane number, grow past it.
        let mut hashes = Vec::with_capacity(n.min(1024) as usize);
        while hashes.len() < n as usize && !self.shutdown.load(Ordering::SeqCst) {
            let Some(template) = self.next_template(pubkey) else {
                continue;
            };
            let start = self.hashes.load(Ordering::Relaxed);
            let cancel = || {
                self.shutdown.load(Ordering::Relaxed)
                    || self.hashes.load(Ordering::Relaxed) - start >= max_tries
            };
            let mut block = template.block;
            match search_with_kernel(&block.header, self.kernel(), &pool, &cancel, &self.hashes) {
                SearchResult::Found(nonce) => {
                    block.header.nonce = nonce;
                    if self.is_known(&block) {
                        continue;
                    }
                    let outcome = self.chain.process_block(Arc::new(block))?;
                    hashes.push(outcome.hash);
                }
                SearchResult::Exhausted => continue,
                SearchResult::Cancelled => break,
            }
        }
        Ok(hashes)
    }

    /// Mines one block holding exactly `txs` (with their fees, in order) after a coinbase
    /// paying `pubkey` (`generateblock`); with `submit` it goes through `process_block`
    /// like any block. `None` if the node shuts down first.
    pub fn generate_block(
        &self,
        pubkey: PubKey,
        txs: Vec<(dotcoin_common::Transaction, dotcoin_common::Amount)>,
        threads: usize,
        submit: bool,
    ) -> Result<Option<dotcoin_common::Block>, ChainError> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads.max(1))
            .thread_name(|i| format!("generateblock-{i}"))
            .build()
            .expect("a thread pool of a few threads can be built");
        while !self.shutdown.load(Ordering::SeqCst) {
            let template = template::build_block_with(
                &self.chain.snapshot(),
                pubkey,
                txs.clone(),
                self.extra_nonce.fetch_add(1, Ordering::Relaxed),
                unix_time(),
            );
            let cancel = || self.shutdown.load(Ordering::Relaxed);
            let mut block = template.block;
            match search_with_kernel(&block.header, self.kernel(), &pool, &cancel, &self.hashes) {
                SearchResult::Found(nonce) => {
                    block.header.nonce = nonce;
                    if self.is_known(&block) {
                        continue;
                    }
                    if submit {
                        self.chain.process_block(Arc::new(block.clone()))?;
                    }
                    return Ok(Some(block));
                }
                SearchResult::Exhausted => continue,
                SearchResult::Cancelled => break,
            }
        }
        Ok(None)
    }

    /// Starts continuous mining to `pubkey` on `threads` threads, or changes nothing if
    /// already mining.
    pub fn start(self: &Arc<Self>, pubkey: PubKey, threads: usize) {
        let mut handle = self.handle.lock().unwrap_or_else(|p| p.into_inner());
        if self.running.load(Ordering::SeqCst) {
            return;
        }
        self.stop.store(false, Ordering::SeqCst);
        self.running.store(true, Ordering::SeqCst);
        self.threads.store(threads as u64, Ordering::SeqCst);
        let miner = Arc::clone(self);
        *handle = Some(
            std::thread::Builder::new()
                .name("miner".into())
                .spawn(move || miner.mine_loop(pubkey, threads))
                .expect("the OS can start one more thread"),
        );
        info!(target: "miner", threads, "started mining");
        self.events.publish(Event::MinerStatus {
            mining: true,
            threads: threads as u64,
        });
    }

    /// Stops continuous mining and waits for the miner thread to end.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        let handle = self.handle.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(h) = handle {
            if h.join().is_err() {
                warn!(target: "miner", "miner thread panicked");
            }
            info!(target: "miner", "stopped mining");
            self.events.publish(Event::MinerStatus {
                mining: false,
                threads: 0,
            });
        }
        self.running.store(false, Ordering::SeqCst);
    }

    /// Whether [`MinerService::shutdown`] was called: the node is stopping, and other
    /// long RPC calls (`waitfor*`) end too.
    pub fn is_shut_down(&self) -> bool {
        self.shutdown.load(Ordering::SeqCst)
    }

    /// Ends every search for good, `generate` calls included (at node shutdown).
    pub fn shutdown(&self) {
        self.shutdown.store(true, Ordering::SeqCst);
        self.stop();
    }

    /// Whether continuous mining is on.
    pub fn is_mining(&self) -> bool {
        self.running.load(Ordering::SeqCst)
    }

    /// Threads of continuous mining (0 when off).
    pub fn threads(&self) -> u64 {
        if self.is_mining() {
            self.threads.load(Ordering::SeqCst)
        } else {
            0
        }
    }

    /// The local miner's hash rate over the last measurement window.
    pub fn hashes_per_sec(&self) -> f64 {
        let total = self.hashes.load(Ordering::Relaxed);
        let mut w = self.rate.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        match w.last {
            Some((t, h)) if now.duration_since(t) >= Duration::from_millis(500) => {
                w.rate = (total - h) as f64 / now.duration_since(t).as_secs_f64();
                w.last = Some((now, total));
            }
            None => w.last = Some((now, total)),
            _ => {}
        }
        if self.is_mining() {
            w.rate
        } else {
            0.0
        }
    }

    /// Total hashes tried since start.
    pub fn total_hashes(&self) -> u64 {
        self.hashes.load(Ordering::Relaxed)
    }

    /// Sets the pause of continuous mining after each found block. Regtest finds a block in
    /// a hash or two, so without a pause a miner makes thousands a second; a pause gives a
    /// watchable pace and lets several miners race at a rate their peers can follow.
    pub fn set_interval(&self, interval: Duration) {
        self.interval_ms
            .store(interval.as_millis() as u64, Ordering::SeqCst);
    }

    /// Sets the hashing kernel (`Best`: the start-up probe's choice).
    pub fn set_kernel(&self, kernel: Kernel) {
        *self.kernel.lock().expect("kernel lock") = kernel;
    }

    /// The kernel the searches use: the one set, or the probe's choice.
    pub fn kernel(&self) -> Kernel {
        match *self.kernel.lock().expect("kernel lock") {
            Kernel::Best => best_kernel().kernel,
            k => k,
        }
    }

    /// The kernel the searches use and why it was chosen.
    pub fn kernel_info(&self) -> (Kernel, String) {
        match *self.kernel.lock().expect("kernel lock") {
            Kernel::Best => {
                let choice = best_kernel();
                (choice.kernel, choice.reason())
            }
            k => (k, "set by --minerkernel".into()),
        }
    }

    /// A template on the current tip with a fresh extra-nonce, or `None` (after a short
    /// pause) while the clock has to catch up with the chain's block times.
    fn next_template(&self, pubkey: PubKey) -> Option<Template> {
        let extra_nonce = self.extra_nonce.fetch_add(1, Ordering::Relaxed);
        let template = build_template(&self.chain.snapshot(), pubkey, extra_nonce, unix_time());
        if self.too_far_ahead(template.block.header.time) {
            std::thread::sleep(Duration::from_millis(100));
            return None;
        }
        Some(template)
    }

    /// Whether the block index already has `block`: found again after a restart (the
    /// extra-nonce starts over) on the same parent, key and second as one since
    /// invalidated. Submitting it would only fail as a duplicate; the caller mines on with
    /// the next extra-nonce instead.
    fn is_known(&self, block: &dotcoin_common::Block) -> bool {
        let hash = block.block_hash();
        let known = self.chain.snapshot().index().get(&hash).is_some();
        if known {
            info!(target: "miner", %hash, "found a block the index already has; mining on with a new extra-nonce");
        }
        known
    }

    /// Whether a block with `time` would be too far ahead of the clock to be accepted
    /// soon. On regtest a miner makes thousands of blocks a second and each must be later
    /// than the median of the last 11, so block times outrun the clock; past the
    /// future-time limit every block would be refused (`time-too-new`), so the miner waits
    /// for the clock instead. The margin leaves room for peers whose clocks lag.
    fn too_far_ahead(&self, time: u32) -> bool {
        let max_ahead = u64::from(self.chain.params().max_future_block_time);
        let limit = unix_time() + max_ahead;
        time as u64 + (max_ahead / 2).min(60) > limit
    }

    fn mine_loop(self: Arc<Self>, pubkey: PubKey, threads: usize) {
        let pool = match rayon::ThreadPoolBuilder::new()
            .num_threads(threads.max(1))
            .thread_name(|i| format!("miner-{i}"))
            .build()
        {
            Ok(p) => p,
            Err(e) => {
                warn!(target: "miner", error = %e, "cannot start mining threads");
                self.running.store(false, Ordering::SeqCst);
                return;
            }
        };
        while !self.stop.load(Ordering::SeqCst) {
            // Read the counters before the snapshot, so a change after them is never missed.
            let tip_gen = self.stale.tip.load(Ordering::SeqCst);
            let pool_gen = self.stale.pool.load(Ordering::SeqCst);
            let Some(template) = self.next_template(pubkey) else {
                continue;
            };
            let built = Instant::now();
            let cancel = || {
                self.stop.load(Ordering::Relaxed)
                    || self.stale.tip.load(Ordering::Relaxed) != tip_gen
                    || (self.stale.pool.load(Ordering::Relaxed) != pool_gen
                        && built.elapsed() >= FEE_REBUILD_INTERVAL)
            };
            let mut block = template.block;
            if let SearchResult::Found(nonce) =
                search_with_kernel(&block.header, self.kernel(), &pool, &cancel, &self.hashes)
            {
                block.header.nonce = nonce;
                if self.is_known(&block) {
                    continue;
                }
                match self.chain.process_block(Arc::new(block)) {
                    Ok(o) => info!(target: "miner", hash = %o.hash, height = template.height,
                        fees = %template.fees, "mined block"),
                    Err(e) => warn!(target: "miner", error = %e, "mined block rejected"),
                }
                self.pause_after_block();
            }
        }
        self.running.store(false, Ordering::SeqCst);
    }

    fn pause_after_block(&self) {
        let until = Instant::now() + Duration::from_millis(self.interval_ms.load(Ordering::SeqCst));
        // Short steps so a stop request is not held up by a long pause.
        while Instant::now() < until && !self.stop.load(Ordering::SeqCst) {
            std::thread::sleep((until - Instant::now()).min(Duration::from_millis(10)));
        }
    }
}
