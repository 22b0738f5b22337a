//! The node handle: the chain state and mempool behind one lock (Bitcoin Core's
//! `cs_main`, made explicit), the tip published on a `watch` channel, events broadcast to
//! the relay, and the miner's controls.
//!
//! Everything that changes the chain goes through [`Node::process_block`] or
//! [`Node::accept_transaction`]; RPC, P2P and the miner all hold an `Arc<Node>`. The lock
//! is a `std::sync::Mutex`, never held across an `.await`.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use dotcoin_common::{Block, BlockHash, Params, PubKey, Transaction, Txid};
use tokio::sync::{broadcast, watch};
use tracing::{info, warn};

use crate::chain::{ChainError, ChainState, ProcessOutcome};
use crate::mempool::{Mempool, MempoolError};
use crate::miner::{build_template, search, SearchResult, Template};
use crate::storage::{Store, StoreError};
use crate::util::unix_time;

/// The chain and the pool, changed together under one lock.
#[derive(Debug)]
pub struct NodeState {
    /// Chain state.
    pub chain: ChainState,
    /// Transaction pool.
    pub mempool: Mempool,
}

/// What the tip watch channel carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TipInfo {
    /// Tip hash.
    pub hash: BlockHash,
    /// Tip height.
    pub height: u32,
}

/// Things the relay announces to peers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeEvent {
    /// A block became part of the active chain (or a side chain) and is stored.
    BlockAccepted(BlockHash),
    /// A transaction entered the mempool.
    TxAccepted(Txid),
}

/// Options of [`Node::open`].
#[derive(Debug, Clone)]
pub struct NodeOptions {
    /// The network datadir (already including `regtest/` for regtest).
    pub datadir: PathBuf,
    /// Network parameters.
    pub params: &'static Params,
    /// Mempool bound in bytes.
    pub max_mempool_bytes: usize,
    /// Minimum relay fee rate, units per kB.
    pub min_relay_fee: u64,
}

/// Why the node could not open.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The database failed or belongs elsewhere.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The chain state could not load.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// A filesystem error.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The error.
        source: std::io::Error,
    },
}

/// Miner state shared by the mining threads and RPC.
#[derive(Debug, Default)]
struct MinerControl {
    running: AtomicBool,
    stop: AtomicBool,
    hashes: AtomicU64,
    threads: AtomicU64,
    /// Pause after each found block, in milliseconds (0: none).
    interval_ms: AtomicU64,
    handle: Mutex<Option<JoinHandle<()>>>,
    rate: Mutex<RateWindow>,
}

/// Hashes per second over the last few seconds of mining.
#[derive(Debug, Default)]
struct RateWindow {
    last: Option<(Instant, u64)>,
    rate: f64,
}

/// The node.
#[derive(Debug)]
pub struct Node {
    params: &'static Params,
    datadir: PathBuf,
    state: Mutex<NodeState>,
    tip_tx: watch::Sender<TipInfo>,
    events: broadcast::Sender<NodeEvent>,
    /// Bumped on every tip change; the miner compares it to cancel stale work cheaply.
    tip_generation: AtomicU64,
    miner: MinerControl,
    started: Instant,
    /// Connected peers, kept up to date by the P2P layer.
    peers: std::sync::atomic::AtomicUsize,
}

impl Node {
    /// Opens (or creates) the node's chain in `opts.datadir`.
    pub fn open(opts: NodeOptions) -> Result<Arc<Node>, NodeError> {
        std::fs::create_dir_all(&opts.datadir).map_err(|source| NodeError::Io {
            context: format!("cannot create datadir {}", opts.datadir.display()),
            source,
        })?;
        let store = Arc::new(Store::open(
            &opts.datadir.join("chainstate"),
            opts.params.network,
        )?);
        let chain = ChainState::open(store, opts.params)?;
        let tip = TipInfo {
            hash: chain.tip().hash,
            height: chain.height(),
        };
        let (tip_tx, _) = watch::channel(tip);
        let (events, _) = broadcast::channel(1024);
        Ok(Arc::new(Node {
            params: opts.params,
            datadir: opts.datadir,
            state: Mutex::new(NodeState {
                chain,
                mempool: Mempool::new(opts.max_mempool_bytes, opts.min_relay_fee),
            }),
            tip_tx,
            events,
            tip_generation: AtomicU64::new(0),
            miner: MinerControl::default(),
            started: Instant::now(),
            peers: std::sync::atomic::AtomicUsize::new(0),
        }))
    }

    /// Network parameters.
    pub fn params(&self) -> &'static Params {
        self.params
    }

    /// The network datadir.
    pub fn datadir(&self) -> &std::path::Path {
        &self.datadir
    }

    /// Seconds since start.
    pub fn uptime(&self) -> u64 {
        self.started.elapsed().as_secs()
    }

    /// Number of connected peers.
    pub fn peer_count(&self) -> usize {
        self.peers.load(Ordering::Relaxed)
    }

    /// Records the number of connected peers (the P2P layer calls this).
    pub fn set_peer_count(&self, n: usize) {
        self.peers.store(n, Ordering::Relaxed);
    }

    /// Locks the state. Keep the guard short and never across an `.await`.
    pub fn state(&self) -> MutexGuard<'_, NodeState> {
        // A panic while holding the lock leaves state that every write keeps consistent on
        // disk; continuing with it is what a restart would do.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A receiver of tip changes.
    pub fn subscribe_tip(&self) -> watch::Receiver<TipInfo> {
        self.tip_tx.subscribe()
    }

    /// A receiver of relay events.
    pub fn subscribe_events(&self) -> broadcast::Receiver<NodeEvent> {
        self.events.subscribe()
    }

    /// The current tip.
    pub fn tip(&self) -> TipInfo {
        *self.tip_tx.borrow()
    }

    fn publish_tip(&self, state: &NodeState) {
        let tip = TipInfo {
            hash: state.chain.tip().hash,
            height: state.chain.height(),
        };
        self.tip_generation.fetch_add(1, Ordering::SeqCst);
        self.tip_tx.send_replace(tip);
    }

    /// Processes a block from anywhere: the miner, a peer, `submitblock`.
    pub fn process_block(&self, block: &Block) -> Result<ProcessOutcome, ChainError> {
        let mut guard = self.state();
        let state = &mut *guard;
        let outcome = state
            .chain
            .process_block(block, unix_time(), &mut state.mempool)?;
        if outcome.tip_changed {
            self.publish_tip(state);
            info!(target: "chain", hash = %state.chain.tip().hash, height = state.chain.height(),
                txs = block.txdata.len(), "new tip");
        }
        drop(guard);
        if !outcome.duplicate {
            let _ = self.events.send(NodeEvent::BlockAccepted(outcome.hash));
        }
        Ok(outcome)
    }

    /// Adds a transaction to the mempool and announces it.
    pub fn accept_transaction(&self, tx: &Transaction) -> Result<Txid, MempoolError> {
        let txid = {
            let mut guard = self.state();
            let state = &mut *guard;
            state.mempool.accept(tx, &state.chain)?
        };
        let _ = self.events.send(NodeEvent::TxAccepted(txid));
        Ok(txid)
    }

    /// Mines `n` blocks paying `pubkey` on the calling thread plus `threads - 1` helpers
    /// (what `generatetoaddress` does). Stops early if `max_tries` nonces per block run out.
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
        let mut hashes = Vec::with_capacity(n as usize);
        let mut extra_nonce = 0u64;
        while hashes.len() < n as usize {
            let Some(template) = self.next_template(pubkey, &mut extra_nonce) else {
                continue;
            };
            let start = self.miner.hashes.load(Ordering::Relaxed);
            let cancel = || self.miner.hashes.load(Ordering::Relaxed) - start >= max_tries;
            let mut block = template.block;
            match search(&block.header, &pool, &cancel, &self.miner.hashes) {
                SearchResult::Found(nonce) => {
                    block.header.nonce = nonce;
                    let outcome = self.process_block(&block)?;
                    hashes.push(outcome.hash);
                }
                SearchResult::Exhausted => continue,
                SearchResult::Cancelled => break,
            }
        }
        Ok(hashes)
    }

    /// Starts continuous mining to `pubkey` on `threads` threads, or changes nothing if
    /// already mining.
    pub fn start_mining(self: &Arc<Self>, pubkey: PubKey, threads: usize) {
        let mut handle = self.miner.handle.lock().unwrap_or_else(|p| p.into_inner());
        if self.miner.running.load(Ordering::SeqCst) {
            return;
        }
        self.miner.stop.store(false, Ordering::SeqCst);
        self.miner.running.store(true, Ordering::SeqCst);
        self.miner.threads.store(threads as u64, Ordering::SeqCst);
        let node = Arc::clone(self);
        *handle = Some(
            std::thread::Builder::new()
                .name("miner".into())
                .spawn(move || node.mine_loop(pubkey, threads))
                .expect("the OS can start one more thread"),
        );
        info!(target: "miner", threads, "started mining");
    }

    /// Stops continuous mining and waits for the miner thread to end.
    pub fn stop_mining(&self) {
        self.miner.stop.store(true, Ordering::SeqCst);
        let handle = self
            .miner
            .handle
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(h) = handle {
            if h.join().is_err() {
                warn!(target: "miner", "miner thread panicked");
            }
            info!(target: "miner", "stopped mining");
        }
        self.miner.running.store(false, Ordering::SeqCst);
    }

    /// Whether continuous mining is on.
    pub fn is_mining(&self) -> bool {
        self.miner.running.load(Ordering::SeqCst)
    }

    /// Threads of continuous mining (0 when off).
    pub fn mining_threads(&self) -> u64 {
        if self.is_mining() {
            self.miner.threads.load(Ordering::SeqCst)
        } else {
            0
        }
    }

    /// The local miner's hash rate over the last measurement window.
    pub fn hashes_per_sec(&self) -> f64 {
        let total = self.miner.hashes.load(Ordering::Relaxed);
        let mut w = self.miner.rate.lock().unwrap_or_else(|p| p.into_inner());
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
        self.miner.hashes.load(Ordering::Relaxed)
    }

    /// A template on the current tip with a fresh extra-nonce, or `None` (after a short
    /// pause) while the clock has to catch up with the chain's block times.
    fn next_template(&self, pubkey: PubKey, extra_nonce: &mut u64) -> Option<Template> {
        let template = {
            let state = self.state();
            build_template(
                &state.chain,
                &state.mempool,
                pubkey,
                *extra_nonce,
                unix_time(),
            )
        };
        *extra_nonce += 1;
        if self.too_far_ahead(template.block.header.time) {
            std::thread::sleep(Duration::from_millis(100));
            return None;
        }
        Some(template)
    }

    /// Whether a block with `time` would be too far ahead of the clock to be accepted
    /// soon. On regtest a miner makes thousands of blocks a second and each must be later
    /// than the median of the last 11, so block times outrun the clock; past the
    /// future-time limit every block would be refused (`time-too-new`), so the miner waits
    /// for the clock instead. The margin leaves room for peers whose clocks lag.
    fn too_far_ahead(&self, time: u32) -> bool {
        let limit = unix_time() + self.params.max_future_block_time as u64;
        time as u64 + 60 > limit
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
                self.miner.running.store(false, Ordering::SeqCst);
                return;
            }
        };
        let mut extra_nonce = 0u64;
        while !self.miner.stop.load(Ordering::SeqCst) {
            let generation = self.tip_generation.load(Ordering::SeqCst);
            let Some(template) = self.next_template(pubkey, &mut extra_nonce) else {
                continue;
            };
            let started = Instant::now();
            // Rebuild now and then so new transactions and a fresh time get in.
            let cancel = || {
                self.miner.stop.load(Ordering::Relaxed)
                    || self.tip_generation.load(Ordering::Relaxed) != generation
                    || started.elapsed() > Duration::from_secs(5)
            };
            let mut block = template.block;
            if let SearchResult::Found(nonce) =
                search(&block.header, &pool, &cancel, &self.miner.hashes)
            {
                block.header.nonce = nonce;
                match self.process_block(&block) {
                    Ok(o) => info!(target: "miner", hash = %o.hash, height = template.height,
                        fees = %template.fees, "mined block"),
                    Err(e) => warn!(target: "miner", error = %e, "mined block rejected"),
                }
                self.pause_after_block();
            }
        }
        self.miner.running.store(false, Ordering::SeqCst);
    }

    /// Sets the pause of continuous mining after each found block. Regtest finds a block in
    /// a hash or two, so without a pause a miner makes thousands a second; a pause gives a
    /// watchable pace and lets several miners race at a rate their peers can follow.
    pub fn set_mining_interval(&self, interval: Duration) {
        self.miner
            .interval_ms
            .store(interval.as_millis() as u64, Ordering::SeqCst);
    }

    fn pause_after_block(&self) {
        let until =
            Instant::now() + Duration::from_millis(self.miner.interval_ms.load(Ordering::SeqCst));
        // Short steps so a stop request is not held up by a long pause.
        while Instant::now() < until && !self.miner.stop.load(Ordering::SeqCst) {
            std::thread::sleep((until - Instant::now()).min(Duration::from_millis(10)));
        }
    }

    /// Stops mining and flushes the database.
    pub fn shutdown(&self) {
        self.stop_mining();
        let state = self.state();
        if let Err(e) = state.chain.store().flush() {
            warn!(target: "chain", error = %e, "flush at shutdown failed");
        }
        info!(target: "chain", height = state.chain.height(), "chain state flushed");
    }
}
