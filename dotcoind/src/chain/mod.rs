//! Chain state: the block index, the active chain and the UTXO set, and the one path every
//! block takes — [`ChainState::process_block`] — whether it comes from the miner, a peer
//! or `submitblock`.
//!
//! Bird's eye view:
//! - headers enter the index first ([`ChainState::accept_header`]), checked against their
//!   parent (proof of work, expected `bits`, median time past, future time);
//! - a block's data is checked without context and stored;
//! - [`ChainState::activate_best_chain`] moves the active chain to the valid chain with
//!   most work: it disconnects to the fork point with undo data and connects the new
//!   branch; a block that fails to connect is marked invalid with its descendants, and the
//!   loop tries again, so the node always ends on the best valid chain;
//! - each connect or disconnect is one atomic batch, so the tip, UTXO set, undo data and
//!   indexes agree after a crash at any instant;
//! - every change is reported as a [`ChainUpdate`]: the caller (the chain writer in
//!   [`crate::state`]) updates the mempool and publishes events from it, so this module
//!   knows nothing of the pool.
//!
//! The best tip comes from a work-ordered candidate set (Bitcoin Core's
//! `setBlockIndexCandidates`), invalidation walks only descendants, and the tips are kept
//! incrementally by the index: the cost per block does not grow with the index.
//!
//! Only the chain writer holds a `ChainState`; readers see [`BlockIndex`] snapshots.

mod index;
mod query;
pub mod sigcache;

pub use index::{BlockIndex, BlockStatus, ChainTip, ChainTipStatus, IndexEntry};
pub use query::{history_page, txids_of, utxo_page, utxo_stats, utxos_of, UtxoStats};
pub use sigcache::{SigCache, SigKey};

use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use dotcoin_common::consensus::block::{check_block, check_block_spends};
use dotcoin_common::consensus::header::{check_header_contextual, HeaderContext};
use dotcoin_common::consensus::tx::{check_signatures, SpentInputs};
use dotcoin_common::consensus::{Coin, UtxoView, ValidationError};
use dotcoin_common::pow::work_from_bits;
use dotcoin_common::primitives::BlockHeader;
use dotcoin_common::{
    Amount, Block, BlockHash, OutPoint, Params, PubKey, Transaction, TxOut, Txid,
};
use rayon::prelude::*;
use ruint::aliases::U256;
use thiserror::Error;
use tracing::{debug, info, warn};

use crate::storage::{
    status, AddressTx, Batch, BlockByHash, BlockIndexByHash, BlockUndo, HashByHeight, Meta,
    MetaKey, SpentCoin, Store, StoreError, Table, TxLocation, TxLocationByTxid, TxidByPubkey,
    UndoByHash, UtxoByOutpoint,
};

/// What a block's signature check does with the signature cache's entries it uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SigCacheUse {
    /// Removes them: the block connects, and a transaction confirms once on a chain.
    Take,
    /// Leaves them: only a question about the block (a BIP23 proposal).
    Peek,
}

/// How far below the active tip's work, in blocks at the tip's difficulty, a header chain
/// may end and still be stored: Core's anti-DoS threshold (`GetAntiDoSWorkThreshold`), a
/// day of blocks. Cheaper chains could only ever matter after a reorg that deep.
pub const LOW_WORK_HORIZON: u64 = 144;

/// The work a header chain must reach before any of it is stored in the block index:
/// the tip's chainwork less [`LOW_WORK_HORIZON`] blocks at the tip's difficulty (never
/// below zero, so a young chain accepts anything that builds on genesis with real work).
/// Core also takes the larger of this and the network's `minimumchainwork`; dotcoin's
/// networks carry no such constant, so the tip alone sets it.
pub fn anti_dos_work_threshold(tip: &IndexEntry) -> U256 {
    let horizon = work_from_bits(tip.header.bits).saturating_mul(U256::from(LOW_WORK_HORIZON));
    tip.chainwork.saturating_sub(horizon)
}

/// Why a header or block was not accepted.
#[derive(Debug, Error)]
pub enum ChainError {
    /// It broke a consensus rule.
    #[error("{0}")]
    Invalid(#[from] ValidationError),
    /// Its parent is unknown (a peer should send headers first).
    #[error("prev-blk-not-found: parent {prev} of {hash} is unknown")]
    Orphan {
        /// The block.
        hash: BlockHash,
        /// Its missing parent.
        prev: BlockHash,
    },
    /// It builds on a block known to be invalid.
    #[error("bad-prevblk: {hash} builds on invalid block {prev}")]
    InvalidAncestor {
        /// The block.
        hash: BlockHash,
        /// The invalid ancestor it builds on.
        prev: BlockHash,
    },
    /// It was already found invalid.
    #[error("duplicate-invalid: {0} is already known to be invalid")]
    KnownInvalid(BlockHash),
    /// `invalidateblock` and friends name a block the index does not hold.
    #[error("block-not-found: {0} is not in the block index")]
    UnknownBlock(BlockHash),
    /// The genesis block cannot be invalidated.
    #[error("genesis-invalidate: the genesis block cannot be invalidated")]
    InvalidateGenesis,
    /// A run of headers whose end carries too little work to ever matter: storing it would
    /// let anyone fill the index with cheap forks.
    #[error(
        "too-little-chainwork: headers ending at {last} carry less work than the active tip minus {LOW_WORK_HORIZON} blocks; not stored"
    )]
    LowWorkHeaders {
        /// The run's last header.
        last: BlockHash,
    },
    /// A block nobody asked for that would not move the tip: not stored.
    #[error(
        "unrequested-low-work: block {0} was not requested and carries no more work than the tip; not stored"
    )]
    UnrequestedLowWork(BlockHash),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ChainError {
    /// Whether a peer that sent this data misbehaved (as opposed to being on another tip).
    pub fn is_misbehaviour(&self) -> bool {
        match self {
            ChainError::Invalid(e) => e.is_malicious(),
            ChainError::InvalidAncestor { .. } | ChainError::KnownInvalid(_) => true,
            // The sender is penalised for these by the P2P layer, lightly: an honest peer
            // on a long-lost fork can send them too.
            ChainError::Orphan { .. }
            | ChainError::UnknownBlock(_)
            | ChainError::InvalidateGenesis
            | ChainError::LowWorkHeaders { .. }
            | ChainError::UnrequestedLowWork(_)
            | ChainError::Store(_) => false,
        }
    }

    /// The short reject reason, without parsing the message.
    pub fn reject_reason(&self) -> &'static str {
        match self {
            ChainError::Invalid(e) => e.reject_reason(),
            ChainError::Orphan { .. } => "prev-blk-not-found",
            ChainError::InvalidAncestor { .. } => "bad-prevblk",
            ChainError::KnownInvalid(_) => "duplicate-invalid",
            ChainError::UnknownBlock(_) => "block-not-found",
            ChainError::InvalidateGenesis => "genesis-invalidate",
            ChainError::LowWorkHeaders { .. } => "too-little-chainwork",
            ChainError::UnrequestedLowWork(_) => "unrequested-low-work",
            ChainError::Store(_) => "database-error",
        }
    }
}

/// A block that joined or left the active chain, with its data.
#[derive(Debug, Clone)]
pub struct ChainBlock {
    /// Its index entry (as of the change).
    pub entry: IndexEntry,
    /// The block.
    pub block: Arc<Block>,
    /// What its non-coinbase transactions pay in fees (known while connecting and from
    /// the undo data while disconnecting, so nobody reads the undo data again for it).
    pub fees: Amount,
}

/// What one call changed on the active chain, in the order it happened.
#[derive(Debug, Clone)]
pub struct ChainUpdate {
    /// The tip before the call.
    pub old_tip: IndexEntry,
    /// Blocks disconnected, each the tip at the time (newest first within a reorg).
    pub disconnected: Vec<ChainBlock>,
    /// Blocks connected, in order.
    pub connected: Vec<ChainBlock>,
    /// The tip after the call.
    pub tip: IndexEntry,
}

impl ChainUpdate {
    /// An empty update starting at `tip`.
    pub fn new(tip: IndexEntry) -> ChainUpdate {
        ChainUpdate {
            old_tip: tip,
            disconnected: Vec::new(),
            connected: Vec::new(),
            tip,
        }
    }

    /// Whether the active tip moved.
    pub fn tip_changed(&self) -> bool {
        self.old_tip.hash != self.tip.hash
    }
}

/// What `process_block` did with a block.
#[derive(Debug, Clone)]
pub struct ProcessOutcome {
    /// The block's hash.
    pub hash: BlockHash,
    /// Whether the block was already stored.
    pub duplicate: bool,
    /// How the active chain moved.
    pub update: ChainUpdate,
}

impl ProcessOutcome {
    /// Whether the active tip changed.
    pub fn tip_changed(&self) -> bool {
        self.update.tip_changed()
    }
}

/// Reads the UTXO set from the store, remembering a database error so it is reported as
/// such instead of as a missing input.
struct StoreView<'a> {
    store: &'a Store,
    /// The coins a block spends, read in one batch before it is checked: every input's
    /// outpoint was asked for, so an outpoint missing here is not in the set.
    prefetched: Option<HashMap<OutPoint, Coin>>,
    error: RefCell<Option<StoreError>>,
}

impl<'a> StoreView<'a> {
    fn new(store: &'a Store) -> Self {
        StoreView {
            store,
            prefetched: None,
            error: RefCell::new(None),
        }
    }

    /// A view holding every coin `block`'s inputs spend that the store has, read with one
    /// `multi_get` instead of a lookup per input.
    fn prefetched(store: &'a Store, block: &Block) -> Result<Self, StoreError> {
        let outpoints: Vec<OutPoint> = block
            .txdata
            .iter()
            .skip(1)
            .flat_map(|tx| tx.inputs.iter().map(|i| i.prevout))
            .collect();
        let coins = store.multi_get::<UtxoByOutpoint>(&outpoints)?;
        let prefetched = outpoints
            .into_iter()
            .zip(coins)
            .filter_map(|(op, coin)| Some((op, coin?)))
            .collect();
        Ok(StoreView {
            store,
            prefetched: Some(prefetched),
            error: RefCell::new(None),
        })
    }

    fn take_error(&self) -> Result<(), StoreError> {
        match self.error.borrow_mut().take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

impl UtxoView for StoreView<'_> {
    fn coin(&self, outpoint: &OutPoint) -> Option<Coin> {
        if let Some(coins) = &self.prefetched {
            return coins.get(outpoint).copied();
        }
        match self.store.get::<UtxoByOutpoint>(outpoint) {
            Ok(c) => c,
            Err(e) => {
                self.error.borrow_mut().get_or_insert(e);
                None
            }
        }
    }
}

/// Writes `tx`'s changes to the UTXO set at `height` into `batch`: the coins its inputs
/// spend (`spent`, in input order; empty for a coinbase) deleted with their address-index
/// entries, its outputs created. `new`: the outputs are known not to be stored yet.
fn write_utxo_changes(
    batch: &mut Batch,
    tx: &Transaction,
    txid: Txid,
    spent: &[Coin],
    height: u32,
    new: bool,
) {
    for (input, coin) in tx.inputs.iter().zip(spent) {
        batch.spend_coin(input.prevout, coin.output.pubkey);
    }
    for (vout, out) in tx.outputs.iter().enumerate() {
        let op = OutPoint {
            txid,
            vout: vout as u32,
        };
        let coin = Coin {
            output: *out,
            height,
            is_coinbase: spent.is_empty(),
        };
        batch.create_coin(op, coin, new);
    }
}

/// Orders blocks best first: most work, then the earliest tie-break (arrival order, or
/// `preciousblock`'s override).
type WorkKey = (Reverse<U256>, i128, BlockHash);

/// The chain state.
#[derive(Debug)]
pub struct ChainState {
    params: &'static Params,
    store: Arc<Store>,
    index: BlockIndex,
    next_sequence: u64,
    /// Every header not known invalid, best first: its first element is the best header.
    headers: BTreeSet<(Reverse<U256>, u64, BlockHash)>,
    /// Blocks that could become the tip: stored, with every ancestor stored, not failed.
    /// Blocks worse than the tip are pruned after each activation.
    candidates: BTreeSet<WorkKey>,
    /// Blocks whose data and whose ancestors' data are all stored (Core's `nChainTx > 0`).
    linked: HashSet<BlockHash>,
    /// Children of each block, so invalidation and linking visit only descendants.
    children: HashMap<BlockHash, Vec<BlockHash>>,
    /// `preciousblock` tie-breaks: lower than any arrival order, newest lowest.
    precious: HashMap<BlockHash, i128>,
    next_precious: i128,
    /// The block that most recently failed to connect, and why.
    last_failure: Option<(BlockHash, ValidationError)>,
    /// Transactions whose signatures were checked ahead of connecting (see [`sigcache`]).
    sigcache: Arc<SigCache>,
}

impl ChainState {
    /// Opens the chain in `store`, creating it from the genesis block when empty. An
    /// existing store resumes at its stored tip: nothing is replayed.
    pub fn open(store: Arc<Store>, params: &'static Params) -> Result<ChainState, ChainError> {
        let stored = store.scan_all::<BlockIndexByHash>()?;
        if stored.is_empty() {
            return ChainState::init_genesis(store, params);
        }
        let entries: Vec<IndexEntry> = stored
            .iter()
            .map(|(hash, s)| IndexEntry::from_stored(*hash, s))
            .collect();
        let next_sequence = entries.iter().map(|e| e.sequence + 1).max().unwrap_or(0);
        let tip = store.meta_hash(MetaKey::Tip)?.ok_or(StoreError::Corrupt {
            table: Meta::NAME,
            source: dotcoin_common::DecodeError::InvalidValue("no tip recorded"),
        })?;
        let tip_height = entries
            .iter()
            .find(|e| e.hash == tip)
            .ok_or(StoreError::Corrupt {
                table: BlockIndexByHash::NAME,
                source: dotcoin_common::DecodeError::InvalidValue("tip not in block index"),
            })?
            .height;
        let mut active = Vec::with_capacity(tip_height as usize + 1);
        for (h, hash) in store.scan_all::<HashByHeight>()? {
            if h > tip_height {
                break;
            }
            active.push(hash);
        }
        if active.len() != tip_height as usize + 1 || active.last() != Some(&tip) {
            return Err(StoreError::Corrupt {
                table: HashByHeight::NAME,
                source: dotcoin_common::DecodeError::InvalidValue(
                    "active chain does not reach tip",
                ),
            }
            .into());
        }
        let mut chain = ChainState::empty(store, params, BlockIndex::new(entries, active));
        chain.next_sequence = next_sequence;
        chain.replay_coins()?;
        chain.rebuild_sets();
        info!(target: "chain", height = tip_height, tip = %tip, headers = chain.index.len(), "loaded chain state");
        // A crash between storing a block and connecting it leaves a better stored chain
        // than the tip: carry on where the node stopped instead of waiting for a new block.
        let mut resumed = ChainUpdate::new(*chain.tip());
        chain.activate_into(&mut resumed)?;
        if resumed.tip_changed() {
            info!(target: "chain", height = chain.height(), tip = %chain.tip().hash,
                connected = resumed.connected.len(), "resumed activating the best stored chain");
        }
        Ok(chain)
    }

    /// Brings the UTXO set up to the tip when the coins cache was not flushed before the
    /// node stopped: the set on disk then stands at an ancestor of the tip (the coins
    /// tip), and each block after it is applied again from its undo data.
    fn replay_coins(&mut self) -> Result<(), ChainError> {
        let corrupt = |table, what| StoreError::Corrupt {
            table,
            source: dotcoin_common::DecodeError::InvalidValue(what),
        };
        let Some(coins_tip) = self.store.meta_hash(MetaKey::CoinsTip)? else {
            // A datadir from before the coins cache wrote every block's coins with it: its
            // set stands at the tip. Recorded now, or a crash before the first flush would
            // leave nothing to replay from.
            let mut batch = Batch::default();
            batch.put::<Meta>(
                &MetaKey::CoinsTip,
                &dotcoin_common::serialize(&self.tip().hash),
            );
            self.store.commit(batch)?;
            return Ok(());
        };
        let from = self
            .index
            .get(&coins_tip)
            .filter(|e| self.index.active_hash(e.height) == Some(coins_tip))
            .ok_or(corrupt(
                Meta::NAME,
                "the UTXO set's block is not on the active chain",
            ))?
            .height;
        let tip = self.height();
        if from == tip {
            return Ok(());
        }
        for height in from + 1..=tip {
            let hash = self
                .index
                .active_hash(height)
                .expect("heights up to the tip are active");
            let block = self.store.get::<BlockByHash>(&hash)?.ok_or(corrupt(
                BlockByHash::NAME,
                "a connected block's data is missing",
            ))?;
            let undo = self.store.get::<UndoByHash>(&hash)?.ok_or(corrupt(
                UndoByHash::NAME,
                "a connected block's undo data is missing",
            ))?;
            let mut batch = Batch::default();
            let mut spent = undo.spent.iter();
            for tx in &block.txdata {
                let coins: Vec<Coin> = match tx.is_coinbase() {
                    true => Vec::new(),
                    false => tx
                        .inputs
                        .iter()
                        .map(|input| match spent.next() {
                            Some(s) if s.outpoint == input.prevout => Ok(s.coin),
                            _ => Err(corrupt(
                                UndoByHash::NAME,
                                "undo data does not match its block",
                            )),
                        })
                        .collect::<Result<_, _>>()?,
                };
                // Not new: a flush cut short may have stored some of these outputs, and
                // one spent again here must be deleted from the disk, not forgotten.
                write_utxo_changes(&mut batch, tx, tx.txid(), &coins, height, false);
            }
            self.store.commit_cached(batch, &hash)?;
        }
        self.store.flush_coins()?;
        info!(target: "chain", from, to = tip, "replayed the blocks the UTXO set on disk had not reached");
        Ok(())
    }

    fn empty(store: Arc<Store>, params: &'static Params, index: BlockIndex) -> ChainState {
        ChainState {
            params,
            store,
            index,
            next_sequence: 0,
            headers: BTreeSet::new(),
            candidates: BTreeSet::new(),
            linked: HashSet::new(),
            children: HashMap::new(),
            precious: HashMap::new(),
            next_precious: -1,
            last_failure: None,
            sigcache: Arc::new(SigCache::default()),
        }
    }

    fn init_genesis(store: Arc<Store>, params: &'static Params) -> Result<ChainState, ChainError> {
        let genesis = params.genesis_block();
        let hash = genesis.block_hash();
        let entry = IndexEntry {
            hash,
            header: genesis.header,
            height: 0,
            chainwork: work_from_bits(genesis.header.bits),
            status: status::HAVE_DATA,
            sequence: 0,
        };
        let mut chain = ChainState::empty(store, params, BlockIndex::new([entry], Vec::new()));
        chain.next_sequence = 1;
        let mut batch = Batch::default();
        batch.put::<BlockByHash>(&hash, genesis);
        batch.put::<BlockIndexByHash>(&hash, &entry.to_stored());
        chain.store.commit(batch)?;
        chain.connect_block(&hash, Some(Arc::new(genesis.clone())))?;
        // From here on the datadir records where its UTXO set stands.
        chain.store.flush_coins()?;
        chain.rebuild_sets();
        info!(target: "chain", genesis = %hash, network = %params.network, "created new chain");
        Ok(chain)
    }

    /// Recomputes the children map, the linked set, the header set and the candidates from
    /// the whole index: at start-up and after `invalidateblock`/`reconsiderblock`, which
    /// may make blocks worse than the tip candidates again.
    fn rebuild_sets(&mut self) {
        let mut entries: Vec<IndexEntry> = self.index.entries().copied().collect();
        entries.sort_by_key(|e| e.height);
        self.children.clear();
        self.linked.clear();
        self.headers.clear();
        self.candidates.clear();
        for e in &entries {
            if e.height > 0 {
                self.children
                    .entry(e.header.prev_blockhash)
                    .or_default()
                    .push(e.hash);
            }
            let parent_linked = e.height == 0 || self.linked.contains(&e.header.prev_blockhash);
            if e.have_data() && parent_linked {
                self.linked.insert(e.hash);
            }
            if !e.is_failed() {
                self.headers.insert(header_key(e));
                if self.linked.contains(&e.hash) {
                    self.candidates.insert(self.work_key(e));
                }
            }
        }
        self.prune_candidates();
    }

    fn work_key(&self, e: &IndexEntry) -> WorkKey {
        let order = self
            .precious
            .get(&e.hash)
            .copied()
            .unwrap_or(e.sequence as i128);
        (Reverse(e.chainwork), order, e.hash)
    }

    /// Drops candidates that sort after the tip: they cannot win until the tip gets worse,
    /// which only `invalidateblock` does, and it rebuilds the set.
    fn prune_candidates(&mut self) {
        let tip_key = self.work_key(self.index.tip());
        let mut worse = self.candidates.split_off(&tip_key);
        if worse.remove(&tip_key) {
            self.candidates.insert(tip_key);
        }
    }

    /// The consensus parameters.
    pub fn params(&self) -> &'static Params {
        self.params
    }

    /// The database.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// The block index.
    pub fn index(&self) -> &BlockIndex {
        &self.index
    }

    /// The active tip.
    pub fn tip(&self) -> &IndexEntry {
        self.index.tip()
    }

    /// Height of the active tip.
    pub fn height(&self) -> u32 {
        self.tip().height
    }

    /// The most-work header that is not known invalid.
    pub fn best_header(&self) -> &IndexEntry {
        self.headers
            .first()
            .and_then(|(_, _, h)| self.index.get(h))
            .unwrap_or_else(|| self.tip())
    }

    /// Median time past of the tip.
    pub fn median_time_past(&self) -> u32 {
        self.index.median_time_past()
    }

    /// The unspent output at `outpoint` in the active chain.
    pub fn coin(&self, outpoint: &OutPoint) -> Result<Option<Coin>, StoreError> {
        self.store.get::<UtxoByOutpoint>(outpoint)
    }

    /// A stored block.
    pub fn block(&self, hash: &BlockHash) -> Result<Option<Block>, StoreError> {
        self.store.get::<BlockByHash>(hash)
    }

    /// Where a confirmed transaction is in the active chain.
    pub fn tx_location(&self, txid: &Txid) -> Result<Option<TxLocation>, StoreError> {
        self.store.get::<TxLocationByTxid>(txid)
    }

    /// The context a header building on `parent` is checked against.
    pub fn header_context(&self, parent: &IndexEntry, now: u64) -> HeaderContext {
        self.index.header_context(self.params, parent, now)
    }

    /// Adds a header to the block index after checking its proof of work and its place
    /// after its parent. Known headers are returned as they are.
    pub fn accept_header(
        &mut self,
        header: &BlockHeader,
        now: u64,
    ) -> Result<IndexEntry, ChainError> {
        let mut batch = Batch::default();
        let entry = self.accept_header_into(header, now, &mut batch)?;
        self.store.commit(batch)?;
        Ok(entry)
    }

    /// Accepts a run of headers with one database write. Returns the last accepted entry
    /// and the error that stopped the run, if any; headers before the error are kept.
    pub fn accept_headers(
        &mut self,
        headers: &[BlockHeader],
        now: u64,
    ) -> (Option<IndexEntry>, Option<ChainError>) {
        if let Err(e) = self.check_headers_work(headers) {
            return (None, Some(e));
        }
        let mut batch = Batch::default();
        let mut last = None;
        let mut error = None;
        for h in headers {
            match self.accept_header_into(h, now, &mut batch) {
                Ok(e) => last = Some(e),
                Err(e) => {
                    error = Some(e);
                    break;
                }
            }
        }
        if let Err(e) = self.store.commit(batch) {
            return (None, Some(e.into()));
        }
        (last, error)
    }

    /// Refuses a run of new headers whose end would still be below the anti-DoS threshold
    /// ([`anti_dos_work_threshold`]). The P2P layer gathers a peer's headers in a bounded
    /// pre-sync buffer until they reach it (`net::sync::HeadersPresync`) and only then
    /// hands them here, so honest forks deeper than one `headers` message pass; this is the
    /// backstop for every other way headers arrive. The claimed `bits` are checked per
    /// header afterwards, so overstating them gains nothing.
    fn check_headers_work(&self, headers: &[BlockHeader]) -> Result<(), ChainError> {
        let (Some(first), Some(last)) = (headers.first(), headers.last()) else {
            return Ok(());
        };
        let Some(parent) = self.index.get(&first.prev_blockhash) else {
            return Ok(()); // An orphan run: refused header by header.
        };
        if self.index.get(&last.block_hash()).is_some() {
            return Ok(()); // Nothing new at the end: the run only repeats known headers.
        }
        let end_work = headers.iter().fold(parent.chainwork, |w, h| {
            w.saturating_add(work_from_bits(h.bits))
        });
        if end_work < anti_dos_work_threshold(self.tip()) {
            return Err(ChainError::LowWorkHeaders {
                last: last.block_hash(),
            });
        }
        Ok(())
    }

    /// Refuses an unrequested block that would not carry more work than the tip, before
    /// anything of it is stored (Core's `AcceptBlock` rule for unrequested blocks).
    pub fn check_unrequested(&self, header: &BlockHeader) -> Result<(), ChainError> {
        let hash = header.block_hash();
        if self.index.get(&hash).is_some_and(|e| e.have_data()) {
            return Ok(()); // A duplicate: answered as one.
        }
        let Some(parent) = self.index.get(&header.prev_blockhash) else {
            return Ok(()); // An orphan: refused as one, nothing stored.
        };
        if parent.chainwork.saturating_add(work_from_bits(header.bits)) <= self.tip().chainwork {
            return Err(ChainError::UnrequestedLowWork(hash));
        }
        Ok(())
    }

    fn accept_header_into(
        &mut self,
        header: &BlockHeader,
        now: u64,
        batch: &mut Batch,
    ) -> Result<IndexEntry, ChainError> {
        let hash = header.block_hash();
        if let Some(e) = self.index.get(&hash) {
            if e.is_failed() {
                return Err(ChainError::KnownInvalid(hash));
            }
            return Ok(*e);
        }
        dotcoin_common::consensus::block::check_proof_of_work(header, self.params)?;
        let parent = *self
            .index
            .get(&header.prev_blockhash)
            .ok_or(ChainError::Orphan {
                hash,
                prev: header.prev_blockhash,
            })?;
        if parent.is_failed() {
            return Err(ChainError::InvalidAncestor {
                hash,
                prev: parent.hash,
            });
        }
        check_header_contextual(header, &self.header_context(&parent, now), self.params)?;
        let entry = IndexEntry {
            hash,
            header: *header,
            height: parent.height + 1,
            chainwork: parent.chainwork + work_from_bits(header.bits),
            status: 0,
            sequence: self.next_sequence,
        };
        self.next_sequence += 1;
        batch.put::<BlockIndexByHash>(&hash, &entry.to_stored());
        self.index.insert(entry);
        self.children.entry(parent.hash).or_default().push(hash);
        self.headers.insert(header_key(&entry));
        debug!(target: "chain", %hash, height = entry.height, "accepted header");
        Ok(entry)
    }

    /// BIP23's block proposal: whether `block` would connect on top of the tip, its proof of
    /// work aside (a pool checks a template it built before mining on it). Changes
    /// nothing. `Ok(None)` means valid; `Ok(Some(reason))` that the question does not apply
    /// (a known block, or one not built on the tip), in Core's words.
    pub fn check_proposal(
        &self,
        block: &Block,
        now: u64,
    ) -> Result<Option<&'static str>, ChainError> {
        use dotcoin_common::consensus::block::{
            check_block_size, check_coinbase_position, check_merkle_root,
        };
        if let Some(e) = self.index.get(&block.block_hash()) {
            return Ok(Some(if e.is_failed() {
                "duplicate-invalid"
            } else if e.is_valid() {
                "duplicate"
            } else {
                "duplicate-inconclusive"
            }));
        }
        let tip = *self.tip();
        if block.header.prev_blockhash != tip.hash {
            return Ok(Some("inconclusive-not-best-prevblk"));
        }
        check_header_contextual(&block.header, &self.header_context(&tip, now), self.params)?;
        check_merkle_root(block)?;
        check_block_size(block)?;
        check_coinbase_position(block)?;
        for tx in &block.txdata {
            dotcoin_common::consensus::tx::check_transaction(tx)?;
        }
        let view = StoreView::new(&self.store);
        let spend = check_block_spends(block, tip.height + 1, &view, self.params);
        view.take_error()?;
        let spend = spend?;
        // A proposal leaves the cache as it found it: the block mined from the template
        // still skips what the pool checked.
        self.check_block_signatures(block, &spend.spent, SigCacheUse::Peek)?;
        Ok(None)
    }

    /// The one path for every new block: header checks, context-free block checks, storing
    /// the block, and moving to the best valid chain. Every block connected or
    /// disconnected on the way is recorded in `update`, also when the call fails (the
    /// block itself may be invalid after others connected). Returns whether the block
    /// was already stored.
    pub fn process_block(
        &mut self,
        block: Arc<Block>,
        now: u64,
        update: &mut ChainUpdate,
    ) -> Result<bool, ChainError> {
        let hash = block.block_hash();
        if let Some(e) = self.index.get(&hash) {
            if e.is_failed() {
                return Err(ChainError::KnownInvalid(hash));
            }
            if e.have_data() {
                return Ok(true);
            }
        }
        let entry = self.accept_header(&block.header, now)?;
        if let Err(e) = check_block(&block, self.params) {
            // A merkle mismatch means these transactions are not the ones the header
            // commits to; the header may still be fine, so only the data is refused.
            if !matches!(
                e,
                ValidationError::BadMerkleRoot { .. } | ValidationError::MerkleMutated
            ) {
                self.mark_invalid(&hash)?;
            }
            return Err(e.into());
        }
        let mut entry = entry;
        entry.status |= status::HAVE_DATA;
        let mut batch = Batch::default();
        batch.put::<BlockByHash>(&hash, &block);
        batch.put::<BlockIndexByHash>(&hash, &entry.to_stored());
        self.store.commit(batch)?;
        self.index.insert(entry);
        self.link(&entry);

        let result = self.activate_best_chain(Some((hash, block)), update);
        update.tip = *self.tip();
        result?;
        if self.index.get(&hash).is_some_and(|e| e.is_failed()) {
            return Err(match self.last_failure.take() {
                Some((h, err)) if h == hash => ChainError::Invalid(err),
                Some((h, _)) => ChainError::InvalidAncestor { hash, prev: h },
                None => ChainError::KnownInvalid(hash),
            });
        }
        Ok(false)
    }

    /// A block's data arrived: if its parent is linked, it and every stored descendant
    /// waiting on it become linked and candidates.
    fn link(&mut self, entry: &IndexEntry) {
        let parent_linked = entry.height == 0 || self.linked.contains(&entry.header.prev_blockhash);
        if !parent_linked {
            return;
        }
        let mut stack = vec![entry.hash];
        while let Some(h) = stack.pop() {
            let Some(e) = self.index.get(&h).copied() else {
                continue;
            };
            if !e.have_data() || !self.linked.insert(h) {
                continue;
            }
            if !e.is_failed() {
                self.candidates.insert(self.work_key(&e));
            }
            if let Some(kids) = self.children.get(&h) {
                stack.extend(kids.iter().copied());
            }
        }
    }

    /// The index entry of `hash`, for the calls that name a block.
    fn known(&self, hash: &BlockHash) -> Result<IndexEntry, ChainError> {
        self.index
            .get(hash)
            .copied()
            .ok_or(ChainError::UnknownBlock(*hash))
    }

    /// Activates the best chain into `update` and records where it ended, also on error.
    fn activate_into(&mut self, update: &mut ChainUpdate) -> Result<(), ChainError> {
        let result = self.activate_best_chain(None, update);
        update.tip = *self.tip();
        result
    }

    /// `invalidateblock`: marks `hash` invalid (with its descendants), disconnecting it
    /// first if it is on the active chain, then moves to the best remaining chain.
    pub fn invalidate_block(&mut self, hash: &BlockHash) -> Result<ChainUpdate, ChainError> {
        let entry = self.known(hash)?;
        if entry.height == 0 {
            return Err(ChainError::InvalidateGenesis);
        }
        let mut update = ChainUpdate::new(*self.tip());
        while self.index.is_active(&entry) {
            let (e, block, fees) = self.disconnect_tip()?;
            update.disconnected.push(ChainBlock {
                entry: e,
                block: Arc::new(block),
                fees,
            });
        }
        self.mark_invalid(hash)?;
        self.rebuild_sets();
        self.activate_into(&mut update)?;
        info!(target: "chain", %hash, tip = %update.tip.hash, "block invalidated");
        Ok(update)
    }

    /// `reconsiderblock`: clears the invalid marks of `hash`, its ancestors and its
    /// descendants, then moves to the best chain (which may be the block's again).
    pub fn reconsider_block(&mut self, hash: &BlockHash) -> Result<ChainUpdate, ChainError> {
        let entry = self.known(hash)?;
        let mut batch = Batch::default();
        let mut clear = |index: &mut BlockIndex, h: &BlockHash| {
            if let Some(mut e) = index.get(h).copied() {
                if e.is_failed() {
                    e.status &= !(status::FAILED | status::FAILED_CHILD);
                    batch.put::<BlockIndexByHash>(h, &e.to_stored());
                    index.insert(e);
                }
            }
        };
        let mut stack = vec![entry.hash];
        while let Some(h) = stack.pop() {
            clear(&mut self.index, &h);
            if let Some(kids) = self.children.get(&h) {
                stack.extend(kids.iter().copied());
            }
        }
        let mut cur = entry.header.prev_blockhash;
        while let Some(e) = self.index.get(&cur).copied() {
            if !e.is_failed() {
                break;
            }
            clear(&mut self.index, &cur);
            cur = e.header.prev_blockhash;
        }
        self.store.commit(batch)?;
        self.last_failure = None;
        self.rebuild_sets();
        let mut update = ChainUpdate::new(*self.tip());
        self.activate_into(&mut update)?;
        info!(target: "chain", %hash, tip = %update.tip.hash, "block reconsidered");
        Ok(update)
    }

    /// `preciousblock`: treats `hash` as if it had arrived before every other block of the
    /// same work, so among equal-work tips it wins. Blocks with less work than the tip are
    /// left alone, as in Bitcoin Core. Not persisted: a restart forgets it.
    pub fn precious_block(&mut self, hash: &BlockHash) -> Result<ChainUpdate, ChainError> {
        let entry = self.known(hash)?;
        let mut update = ChainUpdate::new(*self.tip());
        if entry.chainwork < self.tip().chainwork || entry.hash == self.tip().hash {
            return Ok(update);
        }
        let was_candidate = self.candidates.remove(&self.work_key(&entry));
        self.precious.insert(entry.hash, self.next_precious);
        self.next_precious -= 1;
        if was_candidate || (self.linked.contains(&entry.hash) && !entry.is_failed()) {
            self.candidates.insert(self.work_key(&entry));
        }
        self.activate_into(&mut update)?;
        Ok(update)
    }
}

/// Orders headers for the best-header choice: most work, then first seen.
fn header_key(e: &IndexEntry) -> (Reverse<U256>, u64, BlockHash) {
    (Reverse(e.chainwork), e.sequence, e.hash)
}

/// Why connecting a block failed.
enum ConnectError {
    Invalid(ValidationError),
    Store(StoreError),
}

impl From<ConnectError> for ChainError {
    fn from(e: ConnectError) -> Self {
        match e {
            ConnectError::Invalid(v) => ChainError::Invalid(v),
            ConnectError::Store(s) => ChainError::Store(s),
        }
    }
}

impl From<StoreError> for ConnectError {
    fn from(e: StoreError) -> Self {
        ConnectError::Store(e)
    }
}

impl ChainState {
    /// The best candidate tip if it is better than the tip. Every candidate is linked and
    /// not failed, and failure marks all descendants, so the first one needs no walk.
    fn best_candidate(&self) -> Option<BlockHash> {
        let tip_key = self.work_key(self.tip());
        let best = self.candidates.first()?;
        (*best < tip_key).then_some(best.2)
    }

    /// Moves the active chain to the best valid chain, recording every block it
    /// disconnects and connects in `update`. `fresh` is a block just received, so it need
    /// not be read back from disk.
    pub fn activate_best_chain(
        &mut self,
        fresh: Option<(BlockHash, Arc<Block>)>,
        update: &mut ChainUpdate,
    ) -> Result<(), ChainError> {
        let mut disconnected = 0;
        while let Some(target) = self.best_candidate() {
            let fork = *self
                .index
                .fork_point(&target)
                .expect("candidates connect to the active chain");
            while self.tip().hash != fork.hash {
                let (entry, block, fees) = self.disconnect_tip()?;
                disconnected += 1;
                update.disconnected.push(ChainBlock {
                    entry,
                    block: Arc::new(block),
                    fees,
                });
            }
            let mut path = Vec::new();
            let mut cur = *self.index.get(&target).expect("candidate is indexed");
            while cur.hash != fork.hash {
                path.push(cur.hash);
                cur = *self
                    .index
                    .get(&cur.header.prev_blockhash)
                    .expect("ancestors are indexed");
            }
            for hash in path.into_iter().rev() {
                let given = fresh
                    .as_ref()
                    .filter(|(h, _)| *h == hash)
                    .map(|(_, b)| Arc::clone(b));
                let started = std::time::Instant::now();
                match self.connect_block(&hash, given) {
                    Ok((block, fees)) => {
                        crate::metrics::block_validated(started.elapsed());
                        update.connected.push(ChainBlock {
                            entry: *self.tip(),
                            block,
                            fees,
                        })
                    }
                    Err(ConnectError::Invalid(e)) => {
                        warn!(target: "chain", %hash, error = %e, "block failed to connect; marking invalid");
                        self.mark_invalid(&hash)?;
                        self.last_failure = Some((hash, e));
                        break;
                    }
                    Err(ConnectError::Store(e)) => return Err(e.into()),
                }
            }
        }
        self.prune_candidates();
        if disconnected > 0 {
            info!(target: "chain", disconnected, height = self.height(), tip = %self.tip().hash, "reorganised");
        }
        Ok(())
    }

    /// Marks `hash` failed and every block building on it failed-child, visiting only
    /// its descendants.
    fn mark_invalid(&mut self, hash: &BlockHash) -> Result<(), StoreError> {
        if self.index.get(hash).is_none() {
            return Ok(());
        }
        let mut batch = Batch::default();
        let mut stack = vec![(*hash, status::FAILED)];
        while let Some((h, bit)) = stack.pop() {
            let Some(mut e) = self.index.get(&h).copied() else {
                continue;
            };
            self.headers.remove(&header_key(&e));
            self.candidates.remove(&self.work_key(&e));
            e.status |= bit;
            batch.put::<BlockIndexByHash>(&h, &e.to_stored());
            self.index.insert(e);
            if let Some(kids) = self.children.get(&h) {
                stack.extend(kids.iter().map(|k| (*k, status::FAILED_CHILD)));
            }
        }
        self.store.commit(batch)?;
        Ok(())
    }

    /// Checks the signatures of every transaction of `block` but the coinbase, spending
    /// `spent`, before any state changes: those the signature cache holds are skipped
    /// (checked while the block waited for the writer), the rest are spread over all cores.
    fn check_block_signatures(
        &self,
        block: &Block,
        spent: &[SpentInputs],
        cache: SigCacheUse,
    ) -> Result<(), ValidationError> {
        // Looked up on this thread first: when every transaction was pre-verified there is
        // nothing to hand to rayon, whose threads may be busy pre-verifying later blocks.
        let unchecked: Vec<(&Transaction, Vec<TxOut>)> = block.txdata[1..]
            .iter()
            .zip(spent)
            .map(|(tx, s)| (tx, s.outputs()))
            .filter(|(tx, outs)| {
                let key = SigKey::new(tx, outs);
                !match cache {
                    SigCacheUse::Take => self.sigcache.take(&key),
                    SigCacheUse::Peek => self.sigcache.contains(&key),
                }
            })
            .collect();
        match unchecked.len() {
            0 => Ok(()),
            1 => check_signatures(unchecked[0].0, &unchecked[0].1),
            _ => unchecked
                .par_iter()
                .try_for_each(|(tx, outs)| check_signatures(tx, outs)),
        }
    }

    /// The signature cache this chain consults (shared with pre-verifiers).
    pub fn sigcache(&self) -> &Arc<SigCache> {
        &self.sigcache
    }

    /// Connects the block `hash` (child of the tip) in one atomic batch. Returns the block
    /// and its fees.
    fn connect_block(
        &mut self,
        hash: &BlockHash,
        given: Option<Arc<Block>>,
    ) -> Result<(Arc<Block>, Amount), ConnectError> {
        let entry = *self
            .index
            .get(hash)
            .expect("connect_block is called for indexed blocks");
        let block =
            match given {
                Some(b) => b,
                None => Arc::new(self.store.get::<BlockByHash>(hash)?.ok_or(
                    StoreError::Corrupt {
                        table: BlockByHash::NAME,
                        source: dotcoin_common::DecodeError::InvalidValue("block data missing"),
                    },
                )?),
            };
        let height = entry.height;
        let view = StoreView::prefetched(&self.store, &block)?;
        let spend = check_block_spends(&block, height, &view, self.params);
        view.take_error()?;
        let spend = spend.map_err(ConnectError::Invalid)?;

        self.check_block_signatures(&block, &spend.spent, SigCacheUse::Take)
            .map_err(ConnectError::Invalid)?;

        let mut batch = Batch::default();
        let mut undo = BlockUndo::default();
        for (i, tx) in block.txdata.iter().enumerate() {
            let txid = tx.txid();
            let spent: &[Coin] = match i {
                0 => &[],
                _ => &spend.spent[i - 1].coins,
            };
            undo.spent
                .extend(tx.inputs.iter().zip(spent).map(|(input, coin)| SpentCoin {
                    outpoint: input.prevout,
                    coin: *coin,
                }));
            // New outputs: a txid is unique on a chain (coinbases commit to their height,
            // every other transaction spends coins only once).
            write_utxo_changes(&mut batch, tx, txid, spent, height, true);
            for (key, did) in AddressTx::of_transaction(tx, spent) {
                batch.put::<TxidByPubkey>(&(key, height, txid), &did);
            }
            batch.put::<TxLocationByTxid>(
                &txid,
                &TxLocation {
                    block: *hash,
                    index: i as u32,
                },
            );
        }
        batch.put::<UndoByHash>(hash, &undo);
        batch.put::<HashByHeight>(&height, hash);
        batch.put::<Meta>(&MetaKey::Tip, &dotcoin_common::serialize(hash));
        let mut entry = entry;
        entry.status |= status::VALID | status::HAVE_DATA;
        batch.put::<BlockIndexByHash>(hash, &entry.to_stored());
        self.store.commit_cached(batch, hash)?;
        self.index.insert(entry);
        self.index.push_active(*hash);
        debug!(target: "chain", %hash, height, txs = block.txdata.len(), "connected block");
        Ok((block, spend.fees))
    }

    /// Disconnects the tip in one atomic batch, restoring what it spent. Returns the block
    /// and its fees.
    fn disconnect_tip(&mut self) -> Result<(IndexEntry, Block, Amount), StoreError> {
        let tip = *self.tip();
        let hash = tip.hash;
        let corrupt = |what| StoreError::Corrupt {
            table: UndoByHash::NAME,
            source: dotcoin_common::DecodeError::InvalidValue(what),
        };
        let block = self
            .store
            .get::<BlockByHash>(&hash)?
            .ok_or(corrupt("block data missing"))?;
        let undo = self
            .store
            .get::<UndoByHash>(&hash)?
            .ok_or(corrupt("undo data missing"))?;
        let mut batch = Batch::default();
        let mut spent = undo.spent.iter();
        for tx in &block.txdata {
            let txid = tx.txid();
            let mut touched: Vec<PubKey> = Vec::new();
            for (vout, out) in tx.outputs.iter().enumerate() {
                let op = OutPoint {
                    txid,
                    vout: vout as u32,
                };
                batch.spend_coin(op, out.pubkey);
                touched.push(out.pubkey);
            }
            if !tx.is_coinbase() {
                for _ in &tx.inputs {
                    let s = spent
                        .next()
                        .ok_or(corrupt("undo data shorter than the block"))?;
                    touched.push(s.coin.output.pubkey);
                }
            }
            touched.sort_unstable();
            touched.dedup();
            for key in touched {
                batch.delete::<TxidByPubkey>(&(key, tip.height, txid));
            }
            batch.delete::<TxLocationByTxid>(&txid);
        }
        // Restore in a second pass so an output created and spent in this block, which the
        // first pass deleted, is not resurrected.
        for s in &undo.spent {
            if s.coin.height != tip.height {
                batch.create_coin(s.outpoint, s.coin, false);
            }
        }
        batch.delete::<UndoByHash>(&hash);
        batch.delete::<HashByHeight>(&tip.height);
        batch.set_coins_tip(&tip.header.prev_blockhash);
        batch.put::<Meta>(
            &MetaKey::Tip,
            &dotcoin_common::serialize(&tip.header.prev_blockhash),
        );
        self.store.commit(batch)?;
        self.index.pop_active();
        debug!(target: "chain", %hash, height = tip.height, "disconnected block");
        // The block was valid when connected, so these sums are in range; a corrupt undo
        // record only makes the reported fee zero, never the disconnection fail.
        let spent = Amount::checked_sum(undo.spent.iter().map(|s| s.coin.output.value));
        let paid = Amount::checked_sum(
            block
                .txdata
                .iter()
                .skip(1)
                .flat_map(|t| t.outputs.iter().map(|o| o.value)),
        );
        let fees = spent
            .zip(paid)
            .and_then(|(s, p)| s.checked_sub(p))
            .unwrap_or(Amount::ZERO);
        Ok((tip, block, fees))
    }
}
