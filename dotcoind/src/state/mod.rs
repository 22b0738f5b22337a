//! The chain service: the one writer of the chain state and the mempool, the snapshots
//! readers use instead, and the event stream it feeds (zebra's state service and Bitcoin
//! Core's `ValidationInterface`, in one place).
//!
//! - **One writer.** [`ChainService`] owns [`ChainState`] and [`Mempool`] behind a lock
//!   that only its own methods take: `process_block`, `process_headers`,
//!   `accept_transaction`, `invalidate_block`, `reconsider_block`, `precious_block`. Each
//!   applies the chain's [`ChainUpdate`] to the pool, publishes a new [`Snapshot`], then
//!   the events, in order.
//! - **Readers never wait for it, and see one moment.** A [`Snapshot`] is an `Arc` of the
//!   tip, the block index, the mempool and a [`StoreView`] of the database, all as of the
//!   last change (persistent collections and a RocksDB snapshot: publishing one is O(1)),
//!   on a `watch` channel. RPC, P2P, the dashboard and plugins read only through it: it
//!   has no way to the live store and none to publish, so no reader can mix the tip of
//!   one publication with rows written after it.
//! - **Signatures outside the lock.** A transaction's signatures are verified against a
//!   snapshot before the writer is taken; the writer then runs only the cheap policy
//!   checks.

pub mod events;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use dotcoin_common::consensus::Coin;
use dotcoin_common::primitives::BlockHeader;
use dotcoin_common::{
    Amount, Block, BlockHash, FeeRate, OutPoint, Params, Transaction, TxOut, Txid,
};
use tokio::sync::{broadcast, watch};
use tracing::{info, warn};

use crate::chain::{
    BlockIndex, ChainBlock, ChainError, ChainState, ChainUpdate, IndexEntry, ProcessOutcome,
    SigCache, SigKey,
};
use crate::mempool::{ChainView, Mempool, MempoolEntry, MempoolError, DEFAULT_MEMPOOL_EXPIRY_SECS};
use crate::storage::{
    BlockByHash, Store, StoreError, StoreView, TxLocation, TxLocationByTxid, UtxoByOutpoint,
};
use crate::util::unix_time;
use dotcoin_common::consensus::tx::check_signatures;
pub use events::{BlockFacts, Event, EventBus, Reorg, SeenItem};
use rayon::prelude::*;

/// Options of [`ChainService::open`].
#[derive(Debug, Clone)]
pub struct ChainOptions {
    /// The network datadir (already including `regtest/` for regtest).
    pub datadir: PathBuf,
    /// Network parameters.
    pub params: &'static Params,
    /// Mempool bound in bytes.
    pub max_mempool_bytes: usize,
    /// Minimum relay fee rate.
    pub min_relay_fee: FeeRate,
    /// The database's cache budget in bytes (`--dbcache`).
    pub db_cache_bytes: usize,
}

/// Why the chain service could not open.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
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

/// The chain and pool as of one moment, for readers.
#[derive(Debug, Clone)]
pub struct Snapshot {
    params: &'static Params,
    view: Arc<StoreView>,
    tip: IndexEntry,
    best_header: IndexEntry,
    median_time_past: u32,
    index: BlockIndex,
    mempool: Mempool,
}

impl Snapshot {
    /// The active tip.
    pub fn tip(&self) -> &IndexEntry {
        &self.tip
    }

    /// Height of the active tip.
    pub fn height(&self) -> u32 {
        self.tip.height
    }

    /// Confirmations of something confirmed at `height` as of this snapshot's tip: 1 in
    /// the tip itself. `None` above the tip, which a reader of one snapshot never meets
    /// (rows and tip come from the same publication); checked rather than trusted.
    pub fn confirmations(&self, height: u32) -> Option<u32> {
        self.tip.height.checked_sub(height).map(|d| d + 1)
    }

    /// The most-work header not known invalid.
    pub fn best_header(&self) -> &IndexEntry {
        &self.best_header
    }

    /// Median time past of the tip.
    pub fn median_time_past(&self) -> u32 {
        self.median_time_past
    }

    /// Every known header and the active chain.
    pub fn index(&self) -> &BlockIndex {
        &self.index
    }

    /// The transaction pool.
    pub fn mempool(&self) -> &Mempool {
        &self.mempool
    }

    /// The confirmed unspent output at `outpoint` as of the snapshot's tip.
    pub fn coin(&self, outpoint: &OutPoint) -> Result<Option<Coin>, StoreError> {
        self.view.get::<UtxoByOutpoint>(outpoint)
    }

    /// Consensus parameters.
    pub fn params(&self) -> &'static Params {
        self.params
    }

    /// The database as of the snapshot's tip: every table, read-only.
    pub fn view(&self) -> &StoreView {
        &self.view
    }

    /// A stored block.
    pub fn block(&self, hash: &BlockHash) -> Result<Option<Block>, StoreError> {
        self.view.get::<BlockByHash>(hash)
    }

    /// Where a transaction confirmed on the snapshot's active chain is.
    pub fn tx_location(&self, txid: &Txid) -> Result<Option<TxLocation>, StoreError> {
        self.view.get::<TxLocationByTxid>(txid)
    }

    /// Validates `tx` as the pool would, signatures included, without the writer:
    /// `testmempoolaccept`, and the first half of [`ChainService::accept_transaction`].
    pub fn check_transaction(&self, tx: &Transaction) -> Result<MempoolEntry, MempoolError> {
        self.mempool.check(tx, self)
    }
}

impl ChainView for Snapshot {
    fn coin(&self, outpoint: &OutPoint) -> Result<Option<Coin>, StoreError> {
        Snapshot::coin(self, outpoint)
    }
    fn is_confirmed(&self, txid: &Txid) -> Result<bool, StoreError> {
        self.view.contains::<TxLocationByTxid>(txid)
    }
    fn height(&self) -> u32 {
        self.tip.height
    }
    fn params(&self) -> &'static Params {
        self.params
    }
}

/// The pool's view of the writer's chain.
struct WriterView<'a>(&'a ChainState);

impl ChainView for WriterView<'_> {
    fn coin(&self, outpoint: &OutPoint) -> Result<Option<Coin>, StoreError> {
        self.0.coin(outpoint)
    }
    fn is_confirmed(&self, txid: &Txid) -> Result<bool, StoreError> {
        Ok(self.0.tx_location(txid)?.is_some())
    }
    fn height(&self) -> u32 {
        self.0.height()
    }
    fn params(&self) -> &'static Params {
        self.0.params()
    }
}

/// What only the writer touches.
#[derive(Debug)]
struct Writer {
    chain: ChainState,
    mempool: Mempool,
}

/// The writer's lock while one call holds it. A panic that unwinds through it stops the
/// process: the chain, the coins cache and the pool may be half-changed in memory, and a
/// node that carried on with them would answer RPC but could connect nothing more (or,
/// worse, flush the half-changed coins at shutdown). Stopping without writing anything
/// further is a crash, which the store survives by construction (one atomic batch per
/// block), so a restart resumes from the last consistent state on disk.
struct WriteGuard<'a>(MutexGuard<'a, Writer>);

impl std::ops::Deref for WriteGuard<'_> {
    type Target = Writer;
    fn deref(&self) -> &Writer {
        &self.0
    }
}

impl std::ops::DerefMut for WriteGuard<'_> {
    fn deref_mut(&mut self) -> &mut Writer {
        &mut self.0
    }
}

impl Drop for WriteGuard<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            // The panic itself is already in debug.log (the hook in `run`); this says what
            // follows. abort, not exit: exit would run RocksDB's static destructors while
            // other threads still use the database.
            tracing::error!(
                target: "chain",
                "the chain writer panicked with its state half-changed: stopping now, \
                 writing nothing more; a restart resumes from the last state on disk"
            );
            std::process::abort();
        }
    }
}

/// The chain service. See the module docs.
#[derive(Debug)]
pub struct ChainService {
    params: &'static Params,
    datadir: PathBuf,
    store: Arc<Store>,
    writer: Mutex<Writer>,
    snapshot: watch::Sender<Arc<Snapshot>>,
    events: EventBus,
    /// The chain's signature cache, filled by [`ChainService::preverify_block`] without
    /// the writer.
    sigcache: Arc<SigCache>,
    /// `--test-writer-panic-height`; 0 (genesis, never connected) is off.
    test_panic_height: std::sync::atomic::AtomicU32,
    /// Transactions a reorg put back into the pool, for the plugins' `mempool_accept`
    /// hooks to look at after the fact (the writer never waits on a hook); only kept once
    /// someone follows them ([`ChainService::follow_readded`]).
    readded: Readded,
}

/// Most re-added transactions waiting for their hook check; past that the oldest are not
/// checked (they stay in the pool, as without plugins).
pub const MAX_READDED_QUEUE: usize = 100_000;

#[derive(Debug, Default)]
struct Readded {
    wanted: std::sync::atomic::AtomicBool,
    queue: Mutex<std::collections::VecDeque<Txid>>,
    signal: tokio::sync::Notify,
}

/// The outputs a block creates, by outpoint: where [`ChainService::preverify_block`] finds
/// the coins a later block spends before this one is connected. Hashed with foldhash
/// (seeded at random per process, as the coins cache): a sync looks up every input in up
/// to [`crate::net::pipeline::PIPELINE_DEPTH`] of these, and SipHash made that a visible
/// share of its CPU.
pub type CreatedOutputs = HashMap<OutPoint, TxOut, foldhash::fast::RandomState>;

/// The outputs `block` creates (one txid per transaction).
pub fn created_outputs(block: &Block) -> CreatedOutputs {
    let mut created = CreatedOutputs::default();
    for tx in &block.txdata {
        let txid = tx.txid();
        for (vout, out) in tx.outputs.iter().enumerate() {
            created.insert(
                OutPoint {
                    txid,
                    vout: vout as u32,
                },
                *out,
            );
        }
    }
    created
}

impl ChainService {
    /// Opens (or creates) the chain in `opts.datadir`, publishing to `events`.
    pub fn open(opts: ChainOptions, events: EventBus) -> Result<Arc<ChainService>, OpenError> {
        std::fs::create_dir_all(&opts.datadir).map_err(|source| OpenError::Io {
            context: format!("cannot create datadir {}", opts.datadir.display()),
            source,
        })?;
        let store = Arc::new(Store::open_with_cache(
            &opts.datadir.join("chainstate"),
            opts.params.network,
            opts.db_cache_bytes,
        )?);
        let chain = ChainState::open(Arc::clone(&store), opts.params)?;
        let sigcache = Arc::clone(chain.sigcache());
        let writer = Writer {
            chain,
            mempool: Mempool::new(opts.max_mempool_bytes, opts.min_relay_fee),
        };
        let snapshot = watch::channel(Arc::new(make_snapshot(&writer))).0;
        Ok(Arc::new(ChainService {
            params: opts.params,
            datadir: opts.datadir,
            store,
            writer: Mutex::new(writer),
            snapshot,
            events,
            sigcache,
            test_panic_height: std::sync::atomic::AtomicU32::new(0),
            readded: Readded::default(),
        }))
    }

    /// Network parameters.
    pub fn params(&self) -> &'static Params {
        self.params
    }

    /// The network datadir.
    pub fn datadir(&self) -> &Path {
        &self.datadir
    }

    /// The event stream this service publishes to.
    pub fn events(&self) -> &EventBus {
        &self.events
    }

    /// A new event consumer.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    /// The latest snapshot. Never waits for the writer.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        Arc::clone(&self.snapshot.borrow())
    }

    /// A receiver woken at each new snapshot.
    pub fn watch_snapshots(&self) -> watch::Receiver<Arc<Snapshot>> {
        self.snapshot.subscribe()
    }

    /// The current tip.
    pub fn tip(&self) -> IndexEntry {
        self.snapshot.borrow().tip
    }

    fn write(&self) -> WriteGuard<'_> {
        WriteGuard(
            self.writer.lock().expect(
                "a panic under the writer aborts the process, so the lock is never poisoned",
            ),
        )
    }

    /// Test only (`--test-writer-panic-height`): the writer panics right after connecting
    /// the block at `height`, before the pool, the snapshot and the events follow.
    pub fn set_test_panic_height(&self, height: u32) {
        self.test_panic_height
            .store(height, std::sync::atomic::Ordering::Relaxed);
    }

    /// BIP23's proposal check of `block` against the current tip; see
    /// [`ChainState::check_proposal`]. Holds the writer so the tip cannot move meanwhile.
    pub fn check_proposal(&self, block: &Block) -> Result<Option<&'static str>, ChainError> {
        self.write().chain.check_proposal(block, unix_time())
    }

    /// The signature cache shared with the chain writer.
    pub fn sigcache(&self) -> &Arc<SigCache> {
        &self.sigcache
    }

    /// Checks the signatures of `block`'s transactions on all cores without the writer, so
    /// that connecting it later skips them (see [`crate::chain::sigcache`]). The coins it
    /// spends are looked up in its own outputs, then in `earlier` (the outputs of blocks
    /// received before it that may not be connected yet, newest last), then in the UTXO
    /// set. A transaction whose coins are not all found, or whose signatures fail, is left
    /// to the writer, which decides and reports. Changes nothing else, so the guesses need
    /// not be right: a wrong one only makes a key the writer never asks for.
    ///
    /// Costs what connecting would, so callers run it only for blocks they asked for.
    pub fn preverify_block(
        &self,
        block: &Block,
        own: &CreatedOutputs,
        earlier: &[Arc<CreatedOutputs>],
    ) {
        let Some(txs) = block.txdata.get(1..) else {
            return;
        };
        // Coins from the block itself or the ones before it; the rest in one batch read.
        let mut found = CreatedOutputs::default();
        let mut unknown: Vec<OutPoint> = Vec::new();
        for input in txs.iter().flat_map(|tx| &tx.inputs) {
            let op = input.prevout;
            match own
                .get(&op)
                .or_else(|| earlier.iter().rev().find_map(|c| c.get(&op)))
            {
                Some(out) => {
                    found.insert(op, *out);
                }
                None => unknown.push(op),
            }
        }
        if let Ok(coins) = self.store.multi_get::<UtxoByOutpoint>(&unknown) {
            for (op, coin) in unknown.into_iter().zip(coins) {
                if let Some(coin) = coin {
                    found.insert(op, coin.output);
                }
            }
        }
        let find = |outpoint: &OutPoint| found.get(outpoint).copied();
        txs.par_iter().for_each(|tx| {
            let Some(spent) = tx
                .inputs
                .iter()
                .map(|input| find(&input.prevout))
                .collect::<Option<Vec<TxOut>>>()
            else {
                return;
            };
            let key = SigKey::new(tx, &spent);
            if !self.sigcache.contains(&key) && check_signatures(tx, &spent).is_ok() {
                self.sigcache.insert(key);
            }
        });
    }

    /// Processes a block from anywhere: the miner, a peer, `submitblock`.
    pub fn process_block(&self, block: Arc<Block>) -> Result<ProcessOutcome, ChainError> {
        self.process_block_from_peer(block, true)
    }

    /// [`ChainService::process_block`] for a block from a peer: one it was not asked for
    /// is stored only if it would carry more work than the tip.
    pub fn process_block_from_peer(
        &self,
        block: Arc<Block>,
        requested: bool,
    ) -> Result<ProcessOutcome, ChainError> {
        let hash = block.block_hash();
        let mut w = self.write();
        if !requested {
            w.chain.check_unrequested(&block.header)?;
        }
        let mut update = ChainUpdate::new(*w.chain.tip());
        let had_data = w.chain.index().get(&hash).is_some_and(|e| e.have_data());
        let result = w.chain.process_block(block, unix_time(), &mut update);
        let panic_at = self
            .test_panic_height
            .load(std::sync::atomic::Ordering::Relaxed);
        if panic_at != 0 && update.connected.iter().any(|b| b.entry.height == panic_at) {
            panic!(
                "--test-writer-panic-height: the writer panics after connecting height {panic_at}"
            );
        }
        // Stored for the first time, whether or not it then connected.
        let stored = w
            .chain
            .index()
            .get(&hash)
            .filter(|e| e.have_data() && !had_data)
            .map(|e| Event::BlockStored {
                hash,
                height: e.height,
            });
        // A block that failed after others connected still moved the chain: the pool and
        // the events follow whatever is now true either way.
        self.apply(&mut w, &update, stored);
        drop(w);
        if update.tip_changed() {
            info!(target: "chain", hash = %update.tip.hash, height = update.tip.height,
                disconnected = update.disconnected.len(), "new tip");
        }
        result.map(|duplicate| ProcessOutcome {
            hash,
            duplicate,
            update,
        })
    }

    /// Adds a run of headers to the index with one database write. Returns the last
    /// accepted header and the error that stopped the run, if any.
    pub fn process_headers(
        &self,
        headers: &[BlockHeader],
    ) -> (Option<IndexEntry>, Option<ChainError>) {
        let mut w = self.write();
        let result = w.chain.accept_headers(headers, unix_time());
        self.publish_snapshot(&w);
        result
    }

    /// Validates `tx` and adds it to the pool. The signatures are verified against the
    /// latest snapshot before the writer is taken; under the writer only the policy
    /// checks run again.
    pub fn accept_transaction(&self, tx: &Transaction) -> Result<Txid, MempoolError> {
        self.accept_transaction_capped(tx, FeeRate::ZERO)
    }

    /// [`ChainService::accept_transaction`], refusing a transaction that pays more than
    /// `max_fee_rate` (`sendrawtransaction`'s `maxfeerate`; zero for no limit).
    pub fn accept_transaction_capped(
        &self,
        tx: &Transaction,
        max_fee_rate: FeeRate,
    ) -> Result<Txid, MempoolError> {
        let verified: Option<Vec<TxOut>> = match self.snapshot().check_transaction(tx) {
            Ok(e) => {
                e.check_max_fee_rate(max_fee_rate)?;
                Some(e.spent.iter().map(|c| c.output).collect())
            }
            Err(_) => None,
        };
        self.accept_transaction_checked(tx, verified, max_fee_rate)
    }

    /// The writer's half of [`ChainService::accept_transaction_capped`], for a caller
    /// that checked `tx` against a snapshot itself: `verified` holds the outputs its
    /// signatures were verified against there (`None` to check everything here). Under the
    /// writer only the policy checks run again, unless the pool now resolves other outputs.
    pub fn accept_transaction_checked(
        &self,
        tx: &Transaction,
        verified: Option<Vec<TxOut>>,
        max_fee_rate: FeeRate,
    ) -> Result<Txid, MempoolError> {
        let mut w = self.write();
        let w = &mut *w;
        let view = WriterView(&w.chain);
        let result = match &verified {
            Some(outputs) => w.mempool.accept_verified(tx, outputs, &view),
            // The snapshot was behind the writer: check here, fee cap included.
            None => match w.mempool.check(tx, &view) {
                Ok(e) => e.check_max_fee_rate(max_fee_rate).and_then(|()| {
                    let outputs: Vec<TxOut> = e.spent.iter().map(|c| c.output).collect();
                    w.mempool.accept_verified(tx, &outputs, &view)
                }),
                Err(e) => Err(e),
            },
        };
        if let Ok(txid) = &result {
            let e = w.mempool.get(txid).expect("just accepted");
            // Its signatures were checked against exactly these coins: the block that
            // confirms it connects without checking them again (Core's signature cache).
            let spent: Vec<TxOut> = e.spent.iter().map(|c| c.output).collect();
            self.sigcache.insert(SigKey::new(&e.tx, &spent));
        }
        let events = pool_events(
            &mut w.mempool,
            result.iter().copied(),
            PoolOrder::AddedFirst,
        );
        // The snapshot first: a consumer acting on the event (the relay serving `getdata`)
        // must find the transaction in it.
        self.publish_snapshot(w);
        for e in events {
            self.events.publish(e);
        }
        result
    }

    /// `invalidateblock`.
    pub fn invalidate_block(&self, hash: &BlockHash) -> Result<ChainUpdate, ChainError> {
        self.change(|chain| chain.invalidate_block(hash))
    }

    /// `reconsiderblock`.
    pub fn reconsider_block(&self, hash: &BlockHash) -> Result<ChainUpdate, ChainError> {
        self.change(|chain| chain.reconsider_block(hash))
    }

    /// `preciousblock`.
    pub fn precious_block(&self, hash: &BlockHash) -> Result<ChainUpdate, ChainError> {
        self.change(|chain| chain.precious_block(hash))
    }

    fn change(
        &self,
        f: impl FnOnce(&mut ChainState) -> Result<ChainUpdate, ChainError>,
    ) -> Result<ChainUpdate, ChainError> {
        let mut w = self.write();
        let result = f(&mut w.chain);
        match &result {
            Ok(u) => self.apply(&mut w, u, None),
            Err(_) => self.publish_snapshot(&w),
        }
        result
    }

    /// Brings the pool in line with `update`, then publishes the snapshot and the events
    /// in the order things happened.
    fn apply(&self, w: &mut Writer, update: &ChainUpdate, stored: Option<Event>) {
        let w = &mut *w;
        let mut returned = Vec::new();
        if update.tip_changed() || !update.connected.is_empty() {
            for c in &update.connected {
                w.mempool.remove_for_block(&c.block);
            }
            if !update.disconnected.is_empty() {
                let txs: Vec<Transaction> = update
                    .disconnected
                    .iter()
                    .rev()
                    .flat_map(|d| d.block.txdata.iter().skip(1).cloned())
                    .collect();
                returned = w.mempool.readd_after_reorg(txs, &WriterView(&w.chain));
            }
            w.mempool
                .expire(unix_time().saturating_sub(DEFAULT_MEMPOOL_EXPIRY_SECS));
        }
        let readded = returned.clone();
        let pool = pool_events(&mut w.mempool, returned, PoolOrder::RemovedFirst);
        self.publish_snapshot(w);
        // After the snapshot that holds them: the re-check reads them from it, and one
        // woken earlier would find them missing and skip them as gone.
        if !readded.is_empty() {
            self.queue_readded(&readded);
        }
        if let Some(e) = stored {
            self.events.publish(e);
        }
        for d in &update.disconnected {
            self.events
                .publish(Event::BlockDisconnected(block_facts(d)));
        }
        for c in &update.connected {
            self.events.publish(Event::BlockConnected(block_facts(c)));
        }
        if update.tip_changed() {
            let reorg = w
                .chain
                .index()
                .fork_point(&update.old_tip.hash)
                .filter(|f| f.hash != update.old_tip.hash)
                .map(|f| Reorg {
                    depth: update.old_tip.height - f.height,
                    fork_point: f.hash,
                    fork_height: f.height,
                });
            self.events.publish(Event::TipChanged {
                hash: update.tip.hash,
                height: update.tip.height,
                previous: update.old_tip.hash,
                reorg,
            });
        }
        for e in pool {
            self.events.publish(e);
        }
    }

    /// Starts keeping the transactions reorgs put back into the pool, for
    /// [`ChainService::next_readded`].
    pub fn follow_readded(&self) {
        self.readded
            .wanted
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    fn queue_readded(&self, txids: &[Txid]) {
        if txids.is_empty()
            || !self
                .readded
                .wanted
                .load(std::sync::atomic::Ordering::SeqCst)
        {
            return;
        }
        let mut q = self.readded.queue.lock().unwrap_or_else(|p| p.into_inner());
        let mut skipped = 0usize;
        for t in txids {
            if q.len() >= MAX_READDED_QUEUE {
                q.pop_front();
                skipped += 1;
            }
            q.push_back(*t);
        }
        drop(q);
        if skipped > 0 {
            warn!(target: "mempool", skipped, "too many re-added transactions waiting for their hook check; the oldest stay unchecked");
        }
        self.readded.signal.notify_one();
    }

    /// The transactions reorgs put back into the pool since the last call, oldest first;
    /// waits for some.
    pub async fn next_readded(&self) -> Vec<Txid> {
        loop {
            let taken: Vec<Txid> = self
                .readded
                .queue
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .drain(..)
                .collect();
            if !taken.is_empty() {
                return taken;
            }
            self.readded.signal.notified().await;
        }
    }

    /// Takes `txid` and its descendants out of the pool (a `mempool_accept` hook refused
    /// it after a reorg put it back): removed for [`RemovalReason::Reorg`], as a
    /// transaction that no longer fits after the reorg. Returns how many left.
    ///
    /// [`RemovalReason::Reorg`]: crate::mempool::RemovalReason::Reorg
    pub fn remove_refused(&self, txid: &Txid) -> usize {
        let mut w = self.write();
        let w = &mut *w;
        let n = w.mempool.remove_refused(txid);
        let events = pool_events(&mut w.mempool, [], PoolOrder::RemovedFirst);
        self.publish_snapshot(w);
        for e in events {
            self.events.publish(e);
        }
        n
    }

    fn publish_snapshot(&self, w: &Writer) {
        self.snapshot.send_replace(Arc::new(make_snapshot(w)));
    }

    /// Flushes the database (at shutdown).
    pub fn flush(&self) {
        let w = self.write();
        if let Err(e) = w.chain.store().flush() {
            warn!(target: "chain", error = %e, "flush at shutdown failed");
        }
        info!(target: "chain", height = w.chain.height(), "chain state flushed");
    }
}

/// Which the pool did first, in [`pool_events`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PoolOrder {
    /// A transaction accepted, then what it evicted.
    AddedFirst,
    /// A block's confirmations and conflicts, then the transactions back from blocks
    /// disconnected.
    RemovedFirst,
}

/// The pool's changes since the last call as events: its removals and `added` (those
/// still in the pool), in `order`. Each takes the pool's next sequence number, before the
/// snapshot holding the changes is published, so that a `getrawmempool` answer's
/// `mempool_sequence` tells a subscriber exactly which events it already reflects.
fn pool_events(
    mempool: &mut Mempool,
    added: impl IntoIterator<Item = Txid>,
    order: PoolOrder,
) -> Vec<Event> {
    let added: Vec<Txid> = added.into_iter().collect();
    let removed = mempool.take_removals();
    let mut events = Vec::with_capacity(added.len() + removed.len());
    let add = |mempool: &mut Mempool, events: &mut Vec<Event>| {
        for txid in &added {
            if let Some((fee, value_out, size)) =
                mempool.get(txid).map(|e| (e.fee, value_out(&e.tx), e.size))
            {
                events.push(Event::TxAccepted {
                    txid: *txid,
                    fee,
                    value_out,
                    size,
                    mempool_sequence: mempool.take_sequence(),
                });
            }
        }
    };
    if order == PoolOrder::AddedFirst {
        add(mempool, &mut events);
    }
    for (txid, reason, replaced_by) in removed {
        events.push(Event::TxRemoved {
            txid,
            reason,
            mempool_sequence: mempool.take_sequence(),
            replaced_by,
        });
    }
    if order == PoolOrder::RemovedFirst {
        add(mempool, &mut events);
    }
    events
}

/// What `tx` pays to its outputs. A transaction in the pool or in a valid block sums in
/// range; the fallback only keeps an event from failing.
fn value_out(tx: &Transaction) -> Amount {
    Amount::checked_sum(tx.outputs.iter().map(|o| o.value)).unwrap_or(Amount::ZERO)
}

/// What the block events say about a block that joined or left the active chain.
fn block_facts(b: &ChainBlock) -> BlockFacts {
    BlockFacts {
        hash: b.entry.hash,
        height: b.entry.height,
        time: b.entry.header.time,
        tx_count: b.block.txdata.len(),
        size: b.block.size(),
        value_out: Amount::checked_sum(b.block.txdata.iter().skip(1).map(value_out))
            .unwrap_or(Amount::ZERO),
        fees: b.fees,
    }
}

fn make_snapshot(w: &Writer) -> Snapshot {
    Snapshot {
        params: w.chain.params(),
        view: Arc::new(w.chain.store().view()),
        tip: *w.chain.tip(),
        best_header: *w.chain.best_header(),
        median_time_past: w.chain.median_time_past(),
        index: w.chain.index().clone(),
        mempool: w.mempool.clone(),
    }
}
