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
//!   indexes agree after a crash at any instant.
//!
//! The caller holds the one lock around this state (Bitcoin Core's `cs_main`).

mod index;
mod query;

pub use index::{BlockIndex, IndexEntry};
pub use query::{ChainTip, UtxoStats};

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use dotcoin_common::consensus::block::{check_block, check_block_spends};
use dotcoin_common::consensus::header::{check_header_contextual, expected_bits, HeaderContext};
use dotcoin_common::consensus::tx::check_signatures;
use dotcoin_common::consensus::{Coin, UtxoView, ValidationError};
use dotcoin_common::pow::{median_time_past, work_from_bits};
use dotcoin_common::primitives::BlockHeader;
use dotcoin_common::{Block, BlockHash, OutPoint, Params, PubKey, Transaction, Txid};
use rayon::prelude::*;
use thiserror::Error;
use tracing::{debug, info, warn};

use crate::mempool::Mempool;
use crate::storage::{
    status, Batch, BlockByHash, BlockIndexByHash, BlockUndo, Empty, HashByHeight, Meta, MetaKey,
    SpentCoin, Store, StoreError, Table, TxLocation, TxLocationByTxid, TxidByPubkey, UndoByHash,
    UtxoByOutpoint, UtxoByPubkey,
};

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
            ChainError::Orphan { .. } | ChainError::Store(_) => false,
        }
    }
}

/// What `process_block` did with a block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessOutcome {
    /// The block's hash.
    pub hash: BlockHash,
    /// Whether the block was already stored.
    pub duplicate: bool,
    /// Whether the active tip changed.
    pub tip_changed: bool,
    /// Blocks disconnected by a reorganisation (0 when the chain only grew).
    pub disconnected: usize,
}

/// Reads the UTXO set from the store, remembering a database error so it is reported as
/// such instead of as a missing input.
struct StoreView<'a> {
    store: &'a Store,
    error: RefCell<Option<StoreError>>,
}

impl<'a> StoreView<'a> {
    fn new(store: &'a Store) -> Self {
        StoreView {
            store,
            error: RefCell::new(None),
        }
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
        match self.store.get::<UtxoByOutpoint>(outpoint) {
            Ok(c) => c,
            Err(e) => {
                self.error.borrow_mut().get_or_insert(e);
                None
            }
        }
    }
}

/// The chain state.
#[derive(Debug)]
pub struct ChainState {
    params: &'static Params,
    store: Arc<Store>,
    index: BlockIndex,
    next_sequence: u64,
    best_header: BlockHash,
    /// The block that most recently failed to connect, and why.
    last_failure: Option<(BlockHash, ValidationError)>,
}

impl ChainState {
    /// Opens the chain in `store`, creating it from the genesis block when empty. An
    /// existing store resumes at its stored tip: nothing is replayed.
    pub fn open(store: Arc<Store>, params: &'static Params) -> Result<ChainState, ChainError> {
        let stored = store.scan_all::<BlockIndexByHash>()?;
        if stored.is_empty() {
            return ChainState::init_genesis(store, params);
        }
        let mut entries = HashMap::with_capacity(stored.len());
        let mut next_sequence = 0;
        for (hash, s) in &stored {
            let e = IndexEntry::from_stored(*hash, s);
            next_sequence = next_sequence.max(e.sequence + 1);
            entries.insert(*hash, e);
        }
        let tip_bytes = store
            .get::<Meta>(&MetaKey::Tip)?
            .ok_or(StoreError::Corrupt {
                table: Meta::NAME,
                source: dotcoin_common::DecodeError::InvalidValue("no tip recorded"),
            })?;
        let tip: BlockHash =
            dotcoin_common::deserialize(&tip_bytes).map_err(|source| StoreError::Corrupt {
                table: Meta::NAME,
                source,
            })?;
        let tip_height = entries
            .get(&tip)
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
        let mut chain = ChainState {
            params,
            store,
            index: BlockIndex::new(entries, active),
            next_sequence,
            best_header: tip,
            last_failure: None,
        };
        chain.best_header = chain.find_best_header();
        info!(target: "chain", height = tip_height, tip = %tip, headers = chain.index.len(), "loaded chain state");
        Ok(chain)
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
        let mut entries = HashMap::new();
        entries.insert(hash, entry);
        let mut chain = ChainState {
            params,
            store,
            index: BlockIndex::new(entries, Vec::new()),
            next_sequence: 1,
            best_header: hash,
            last_failure: None,
        };
        let mut batch = Batch::default();
        batch.put::<BlockByHash>(&hash, genesis);
        batch.put::<BlockIndexByHash>(&hash, &entry.to_stored());
        chain.store.commit(batch)?;
        chain.connect_block(&hash, Some(genesis), None)?;
        info!(target: "chain", genesis = %hash, network = %params.network, "created new chain");
        Ok(chain)
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
        self.index
            .get(&self.best_header)
            .unwrap_or_else(|| self.tip())
    }

    fn find_best_header(&self) -> BlockHash {
        self.index
            .entries()
            .filter(|e| !e.is_failed())
            .max_by(|a, b| {
                a.chainwork
                    .cmp(&b.chainwork)
                    .then(b.sequence.cmp(&a.sequence))
            })
            .map(|e| e.hash)
            .unwrap_or(self.tip().hash)
    }

    /// Median time past of the tip.
    pub fn median_time_past(&self) -> u32 {
        median_time_past(&self.index.last_times(&self.tip().hash))
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
        let height = parent.height + 1;
        let interval_first_time = height
            .checked_sub(self.params.retarget_interval)
            .and_then(|h| self.index.ancestor(&parent.hash, h))
            .map(|e| e.header.time)
            .unwrap_or(parent.header.time);
        HeaderContext {
            height,
            expected_bits: expected_bits(
                self.params,
                height,
                parent.header.bits,
                interval_first_time,
                parent.header.time,
            ),
            median_time_past: median_time_past(&self.index.last_times(&parent.hash)),
            now,
        }
    }

    /// Adds a header to the block index after checking its proof of work and its place
    /// after its parent. Known headers are returned as they are.
    pub fn accept_header(
        &mut self,
        header: &BlockHeader,
        now: u64,
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
        let mut batch = Batch::default();
        batch.put::<BlockIndexByHash>(&hash, &entry.to_stored());
        self.store.commit(batch)?;
        self.index.insert(entry);
        if entry.chainwork > self.best_header().chainwork {
            self.best_header = hash;
        }
        debug!(target: "chain", %hash, height = entry.height, "accepted header");
        Ok(entry)
    }

    /// The one path for every new block: header checks, context-free block checks, storing
    /// the block, and moving to the best valid chain. Disconnected transactions go back to
    /// `mempool`; confirmed and conflicting ones leave it.
    pub fn process_block(
        &mut self,
        block: &Block,
        now: u64,
        mempool: &mut Mempool,
    ) -> Result<ProcessOutcome, ChainError> {
        let hash = block.block_hash();
        if let Some(e) = self.index.get(&hash) {
            if e.is_failed() {
                return Err(ChainError::KnownInvalid(hash));
            }
            if e.have_data() {
                return Ok(ProcessOutcome {
                    hash,
                    duplicate: true,
                    tip_changed: false,
                    disconnected: 0,
                });
            }
        }
        let entry = self.accept_header(&block.header, now)?;
        if let Err(e) = check_block(block, self.params) {
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
        batch.put::<BlockByHash>(&hash, block);
        batch.put::<BlockIndexByHash>(&hash, &entry.to_stored());
        self.store.commit(batch)?;
        self.index.insert(entry);

        let old_tip = self.tip().hash;
        let disconnected = self.activate_best_chain(Some((hash, block)), mempool)?;
        if self.index.get(&hash).is_some_and(|e| e.is_failed()) {
            return Err(match self.last_failure.take() {
                Some((h, err)) if h == hash => ChainError::Invalid(err),
                Some((h, _)) => ChainError::InvalidAncestor { hash, prev: h },
                None => ChainError::KnownInvalid(hash),
            });
        }
        Ok(ProcessOutcome {
            hash,
            duplicate: false,
            tip_changed: self.tip().hash != old_tip,
            disconnected,
        })
    }
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
    /// The best candidate tip: most work, first seen among equals, not failed, every block
    /// back to the active chain stored. `None` if the tip is already the best.
    fn best_candidate(&self) -> Option<BlockHash> {
        let tip = self.tip();
        let mut candidates: Vec<&IndexEntry> = self
            .index
            .entries()
            .filter(|e| e.have_data() && !e.is_failed() && e.chainwork > tip.chainwork)
            .collect();
        candidates.sort_by(|a, b| {
            b.chainwork
                .cmp(&a.chainwork)
                .then(a.sequence.cmp(&b.sequence))
        });
        candidates.into_iter().map(|e| e.hash).find(|hash| {
            let mut cur = self.index.get(hash);
            while let Some(e) = cur {
                if self.index.is_active(e) {
                    return true;
                }
                if !e.have_data() || e.is_failed() {
                    return false;
                }
                cur = self.index.get(&e.header.prev_blockhash);
            }
            false
        })
    }

    /// Moves the active chain to the best valid chain. `fresh` is a block just received,
    /// so it need not be read back from disk. Returns how many blocks were disconnected.
    pub fn activate_best_chain(
        &mut self,
        fresh: Option<(BlockHash, &Block)>,
        mempool: &mut Mempool,
    ) -> Result<usize, ChainError> {
        let mut disconnected_txs: Vec<Transaction> = Vec::new();
        let mut disconnected = 0;
        while let Some(target) = self.best_candidate() {
            let fork = *self
                .index
                .fork_point(&target)
                .expect("candidates connect to the active chain");
            while self.tip().hash != fork.hash {
                let block = self.disconnect_tip()?;
                disconnected += 1;
                disconnected_txs.extend(block.txdata.into_iter().skip(1));
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
                let given = fresh.filter(|(h, _)| *h == hash).map(|(_, b)| b);
                match self.connect_block(&hash, given, Some(mempool)) {
                    Ok(()) => {}
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
        if disconnected > 0 {
            info!(target: "chain", disconnected, height = self.height(), tip = %self.tip().hash, "reorganised");
            mempool.readd_after_reorg(disconnected_txs, self);
        }
        Ok(disconnected)
    }

    /// Marks `hash` failed and every block building on it failed-child.
    fn mark_invalid(&mut self, hash: &BlockHash) -> Result<(), StoreError> {
        let failed = match self.index.get(hash) {
            Some(e) => *e,
            None => return Ok(()),
        };
        let mut batch = Batch::default();
        let descendants: Vec<BlockHash> = self
            .index
            .entries()
            .filter(|e| e.height > failed.height && self.index.descends_from(e, &failed))
            .map(|e| e.hash)
            .collect();
        for (h, bit) in std::iter::once((*hash, status::FAILED))
            .chain(descendants.into_iter().map(|h| (h, status::FAILED_CHILD)))
        {
            let e = self.index.get_mut(&h).expect("collected from the index");
            e.status |= bit;
            batch.put::<BlockIndexByHash>(&h, &e.to_stored());
        }
        self.store.commit(batch)?;
        self.best_header = self.find_best_header();
        Ok(())
    }

    /// Connects the block `hash` (child of the tip) in one atomic batch.
    fn connect_block(
        &mut self,
        hash: &BlockHash,
        given: Option<&Block>,
        mempool: Option<&mut Mempool>,
    ) -> Result<(), ConnectError> {
        let entry = *self
            .index
            .get(hash)
            .expect("connect_block is called for indexed blocks");
        let loaded;
        let block = match given {
            Some(b) => b,
            None => {
                loaded = self
                    .store
                    .get::<BlockByHash>(hash)?
                    .ok_or(StoreError::Corrupt {
                        table: BlockByHash::NAME,
                        source: dotcoin_common::DecodeError::InvalidValue("block data missing"),
                    })?;
                &loaded
            }
        };
        let height = entry.height;
        let view = StoreView::new(&self.store);
        let spend = check_block_spends(block, height, &view, self.params);
        view.take_error()?;
        let spend = spend.map_err(ConnectError::Invalid)?;

        // Signatures are the expensive part; check them on all cores before any state changes.
        block.txdata[1..]
            .par_iter()
            .zip(spend.spent.par_iter())
            .try_for_each(|(tx, s)| check_signatures(tx, &s.outputs()))
            .map_err(ConnectError::Invalid)?;

        let mut batch = Batch::default();
        let mut undo = BlockUndo::default();
        for (i, tx) in block.txdata.iter().enumerate() {
            let txid = tx.txid();
            let mut touched: Vec<PubKey> = Vec::new();
            if i > 0 {
                for (input, coin) in tx.inputs.iter().zip(&spend.spent[i - 1].coins) {
                    batch.delete::<UtxoByOutpoint>(&input.prevout);
                    batch.delete::<UtxoByPubkey>(&(coin.output.pubkey, input.prevout));
                    touched.push(coin.output.pubkey);
                    undo.spent.push(SpentCoin {
                        outpoint: input.prevout,
                        coin: *coin,
                    });
                }
            }
            for (vout, out) in tx.outputs.iter().enumerate() {
                let op = OutPoint {
                    txid,
                    vout: vout as u32,
                };
                let coin = Coin {
                    output: *out,
                    height,
                    is_coinbase: i == 0,
                };
                batch.put::<UtxoByOutpoint>(&op, &coin);
                batch.put::<UtxoByPubkey>(&(out.pubkey, op), &Empty);
                touched.push(out.pubkey);
            }
            touched.sort_unstable();
            touched.dedup();
            for key in touched {
                batch.put::<TxidByPubkey>(&(key, height, txid), &Empty);
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
        self.store.commit(batch)?;
        self.index.insert(entry);
        self.index.push_active(*hash);
        if let Some(pool) = mempool {
            pool.remove_for_block(block);
        }
        debug!(target: "chain", %hash, height, txs = block.txdata.len(), "connected block");
        Ok(())
    }

    /// Disconnects the tip in one atomic batch, restoring what it spent. Returns the block.
    fn disconnect_tip(&mut self) -> Result<Block, StoreError> {
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
                batch.delete::<UtxoByOutpoint>(&op);
                batch.delete::<UtxoByPubkey>(&(out.pubkey, op));
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
                batch.put::<UtxoByOutpoint>(&s.outpoint, &s.coin);
                batch.put::<UtxoByPubkey>(&(s.coin.output.pubkey, s.outpoint), &Empty);
            }
        }
        batch.delete::<UndoByHash>(&hash);
        batch.delete::<HashByHeight>(&tip.height);
        batch.put::<Meta>(
            &MetaKey::Tip,
            &dotcoin_common::serialize(&tip.header.prev_blockhash),
        );
        self.store.commit(batch)?;
        self.index.pop_active();
        debug!(target: "chain", %hash, height = tip.height, "disconnected block");
        Ok(block)
    }
}
