//! The transaction pool: unconfirmed transactions valid against the UTXO set plus the pool
//! itself (chains of unconfirmed transactions are allowed).
//!
//! A transaction enters only if every rule passes, it pays at least the minimum relay fee
//! rate, and it spends nothing another pool transaction spends (the conflict is named).
//! The pool is bounded in bytes; when full, the lowest fee rate leaves first, with its
//! descendants. Block templates take transactions by fee rate, parents before children.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

use dotcoin_common::consensus::tx::{check_signatures, check_transaction, check_tx_inputs};
use dotcoin_common::consensus::{Coin, UtxoView, ValidationError};
use dotcoin_common::{Amount, Block, OutPoint, PubKey, Transaction, TxOut, Txid};
use thiserror::Error;
use tracing::{debug, info};

use crate::chain::ChainState;
use crate::storage::StoreError;

/// Largest transaction the pool relays.
pub const MAX_STANDARD_TX_SIZE: usize = 100_000;
/// Default minimum relay fee rate, base units per 1000 bytes (1 unit per byte).
pub const DEFAULT_MIN_RELAY_FEE: u64 = 1_000;
/// Default pool bound in bytes.
pub const DEFAULT_MAX_MEMPOOL_BYTES: usize = 50_000_000;

/// Why a transaction was refused.
#[derive(Debug, Error)]
pub enum MempoolError {
    /// It breaks a consensus rule.
    #[error("{0}")]
    Invalid(#[from] ValidationError),
    /// Coinbases only come in blocks.
    #[error("coinbase: a coinbase transaction cannot enter the mempool")]
    Coinbase,
    /// Already in the pool.
    #[error("txn-already-in-mempool: {0}")]
    AlreadyInMempool(Txid),
    /// Already confirmed.
    #[error("txn-already-known: {0} is already in the block chain")]
    AlreadyInChain(Txid),
    /// Spends an output another pool transaction spends.
    #[error(
        "txn-mempool-conflict: {outpoint} is already spent by mempool transaction {conflicting}"
    )]
    Conflict {
        /// The contested outpoint.
        outpoint: OutPoint,
        /// The pool transaction spending it.
        conflicting: Txid,
    },
    /// Pays less than the minimum relay fee rate.
    #[error("min relay fee not met: fee {fee} for {size} bytes is below {min_rate} units/kB")]
    FeeTooLow {
        /// Fee paid.
        fee: Amount,
        /// Transaction size.
        size: usize,
        /// Required rate.
        min_rate: u64,
    },
    /// Larger than the pool relays.
    #[error("tx-size: {size} bytes, limit {max}")]
    TooLarge {
        /// Size.
        size: usize,
        /// Limit.
        max: usize,
    },
    /// The pool is full of transactions paying more.
    #[error("mempool full: fee rate too low to enter a full pool")]
    Full,
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl MempoolError {
    /// Bitcoin Core's RPC code for this rejection: -25 for missing inputs, -27 for a
    /// confirmed transaction, -26 otherwise.
    pub fn rpc_code(&self) -> i32 {
        match self {
            MempoolError::Invalid(ValidationError::MissingOrSpent { .. }) => -25,
            MempoolError::AlreadyInChain(_) => -27,
            MempoolError::Store(_) => -1,
            _ => -26,
        }
    }
}

/// A pool transaction.
#[derive(Debug, Clone)]
pub struct MempoolEntry {
    /// The transaction.
    pub tx: Transaction,
    /// Its txid.
    pub txid: Txid,
    /// Its fee.
    pub fee: Amount,
    /// Its size in bytes.
    pub size: usize,
    /// Unix time it entered.
    pub time: u64,
    /// Chain height when it entered.
    pub height: u32,
    /// The coins it spends, in input order.
    pub spent: Vec<Coin>,
    sequence: u64,
}

impl MempoolEntry {
    /// Fee rate in base units per 1000 bytes.
    pub fn fee_rate_per_kb(&self) -> u64 {
        self.fee.to_sat().saturating_mul(1000) / self.size.max(1) as u64
    }

    /// Whether `self` pays a lower fee rate than `other` (exact, no rounding).
    fn lower_rate_than(&self, other: &MempoolEntry) -> bool {
        (self.fee.to_sat() as u128) * (other.size as u128)
            < (other.fee.to_sat() as u128) * (self.size as u128)
    }
}

/// The transaction pool.
#[derive(Debug)]
pub struct Mempool {
    entries: HashMap<Txid, MempoolEntry>,
    spends: HashMap<OutPoint, Txid>,
    total_size: usize,
    max_size: usize,
    min_fee_rate: u64,
    next_sequence: u64,
}

/// The UTXO set as the pool sees it: confirmed outputs plus outputs of pool transactions.
struct PoolView<'a> {
    chain: &'a ChainState,
    pool: &'a Mempool,
    error: RefCell<Option<StoreError>>,
}

impl UtxoView for PoolView<'_> {
    fn coin(&self, outpoint: &OutPoint) -> Option<Coin> {
        if let Some(parent) = self.pool.entries.get(&outpoint.txid) {
            return parent
                .tx
                .outputs
                .get(outpoint.vout as usize)
                .map(|out| Coin {
                    output: *out,
                    height: self.chain.height() + 1,
                    is_coinbase: false,
                });
        }
        match self.chain.coin(outpoint) {
            Ok(c) => c,
            Err(e) => {
                self.error.borrow_mut().get_or_insert(e);
                None
            }
        }
    }
}

impl Mempool {
    /// An empty pool bounded to `max_size` bytes, requiring `min_fee_rate` units per kB.
    pub fn new(max_size: usize, min_fee_rate: u64) -> Mempool {
        Mempool {
            entries: HashMap::new(),
            spends: HashMap::new(),
            total_size: 0,
            max_size,
            min_fee_rate,
            next_sequence: 0,
        }
    }

    /// Number of transactions.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the pool is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Total bytes of the pool's transactions.
    pub fn total_size(&self) -> usize {
        self.total_size
    }

    /// The byte bound.
    pub fn max_size(&self) -> usize {
        self.max_size
    }

    /// The minimum relay fee rate, units per kB.
    pub fn min_fee_rate(&self) -> u64 {
        self.min_fee_rate
    }

    /// A pool transaction.
    pub fn get(&self, txid: &Txid) -> Option<&MempoolEntry> {
        self.entries.get(txid)
    }

    /// Whether `txid` is in the pool.
    pub fn contains(&self, txid: &Txid) -> bool {
        self.entries.contains_key(txid)
    }

    /// Every entry, in arrival order.
    pub fn entries(&self) -> Vec<&MempoolEntry> {
        let mut v: Vec<&MempoolEntry> = self.entries.values().collect();
        v.sort_by_key(|e| e.sequence);
        v
    }

    /// The pool transaction spending `outpoint`, if any.
    pub fn spender_of(&self, outpoint: &OutPoint) -> Option<Txid> {
        self.spends.get(outpoint).copied()
    }

    /// Pool transactions this one spends from.
    pub fn parents_of(&self, tx: &Transaction) -> Vec<Txid> {
        let mut v: Vec<Txid> = tx
            .inputs
            .iter()
            .map(|i| i.prevout.txid)
            .filter(|t| self.entries.contains_key(t))
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// Pool transactions spending from this one.
    pub fn children_of(&self, txid: &Txid) -> Vec<Txid> {
        let Some(e) = self.entries.get(txid) else {
            return Vec::new();
        };
        let mut v: Vec<Txid> = (0..e.tx.outputs.len())
            .filter_map(|vout| {
                self.spends.get(&OutPoint {
                    txid: *txid,
                    vout: vout as u32,
                })
            })
            .copied()
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// Outputs of pool transactions locked to `key`.
    pub fn outputs_to(&self, key: &PubKey) -> Vec<(OutPoint, TxOut)> {
        let mut v = Vec::new();
        for e in self.entries() {
            for (vout, out) in e.tx.outputs.iter().enumerate() {
                if out.pubkey == *key {
                    v.push((
                        OutPoint {
                            txid: e.txid,
                            vout: vout as u32,
                        },
                        *out,
                    ));
                }
            }
        }
        v
    }

    /// Pool transactions paying or spending from `key`, in arrival order.
    pub fn txids_touching(&self, key: &PubKey) -> Vec<Txid> {
        self.entries()
            .into_iter()
            .filter(|e| {
                e.tx.outputs.iter().any(|o| o.pubkey == *key)
                    || e.spent.iter().any(|c| c.output.pubkey == *key)
            })
            .map(|e| e.txid)
            .collect()
    }

    /// Validates `tx` against the chain and the pool without adding it; returns its fee.
    pub fn check(
        &self,
        tx: &Transaction,
        chain: &ChainState,
    ) -> Result<MempoolEntry, MempoolError> {
        let txid = tx.txid();
        if self.entries.contains_key(&txid) {
            return Err(MempoolError::AlreadyInMempool(txid));
        }
        if tx.is_coinbase() {
            return Err(MempoolError::Coinbase);
        }
        check_transaction(tx)?;
        let size = tx.size();
        if size > MAX_STANDARD_TX_SIZE {
            return Err(MempoolError::TooLarge {
                size,
                max: MAX_STANDARD_TX_SIZE,
            });
        }
        if chain.tx_location(&txid)?.is_some() {
            return Err(MempoolError::AlreadyInChain(txid));
        }
        for input in &tx.inputs {
            if let Some(conflicting) = self.spends.get(&input.prevout) {
                return Err(MempoolError::Conflict {
                    outpoint: input.prevout,
                    conflicting: *conflicting,
                });
            }
        }
        let view = PoolView {
            chain,
            pool: self,
            error: RefCell::new(None),
        };
        let spent = check_tx_inputs(tx, &view, chain.height() + 1, chain.params());
        if let Some(e) = view.error.borrow_mut().take() {
            return Err(e.into());
        }
        let spent = spent.map_err(MempoolError::Invalid)?;
        let required = self.min_fee_rate.saturating_mul(size as u64).div_ceil(1000);
        if spent.fee.to_sat() < required {
            return Err(MempoolError::FeeTooLow {
                fee: spent.fee,
                size,
                min_rate: self.min_fee_rate,
            });
        }
        check_signatures(tx, &spent.outputs())?;
        Ok(MempoolEntry {
            tx: tx.clone(),
            txid,
            fee: spent.fee,
            size,
            time: crate::util::unix_time(),
            height: chain.height(),
            spent: spent.coins,
            sequence: 0,
        })
    }

    /// Validates and adds `tx`. Returns the entry's txid.
    pub fn accept(&mut self, tx: &Transaction, chain: &ChainState) -> Result<Txid, MempoolError> {
        let entry = self.check(tx, chain)?;
        let txid = entry.txid;
        self.insert(entry);
        self.evict_to_fit();
        if !self.entries.contains_key(&txid) {
            return Err(MempoolError::Full);
        }
        debug!(target: "mempool", %txid, size = tx.size(), pool = self.entries.len(), "accepted transaction");
        Ok(txid)
    }

    fn insert(&mut self, mut entry: MempoolEntry) {
        entry.sequence = self.next_sequence;
        self.next_sequence += 1;
        for input in &entry.tx.inputs {
            self.spends.insert(input.prevout, entry.txid);
        }
        self.total_size += entry.size;
        self.entries.insert(entry.txid, entry);
    }

    /// Removes `txid` and everything spending from it.
    fn remove_with_descendants(&mut self, txid: &Txid) -> usize {
        let mut stack = vec![*txid];
        let mut removed = 0;
        while let Some(t) = stack.pop() {
            stack.extend(self.children_of(&t));
            if let Some(e) = self.entries.remove(&t) {
                for input in &e.tx.inputs {
                    if self.spends.get(&input.prevout) == Some(&t) {
                        self.spends.remove(&input.prevout);
                    }
                }
                self.total_size -= e.size;
                removed += 1;
            }
        }
        removed
    }

    /// While over the byte bound, drops the lowest fee rate transaction and its descendants.
    fn evict_to_fit(&mut self) {
        while self.total_size > self.max_size {
            let Some(worst) = self
                .entries
                .values()
                .reduce(|a, b| if b.lower_rate_than(a) { b } else { a })
                .map(|e| e.txid)
            else {
                break;
            };
            let n = self.remove_with_descendants(&worst);
            info!(target: "mempool", txid = %worst, removed = n, "evicted lowest fee rate");
        }
    }

    /// A block was connected: its transactions leave the pool, and so do pool transactions
    /// spending the same outputs (conflicts), with their descendants.
    pub fn remove_for_block(&mut self, block: &Block) {
        for tx in &block.txdata {
            let txid = tx.txid();
            if let Some(e) = self.entries.remove(&txid) {
                for input in &e.tx.inputs {
                    self.spends.remove(&input.prevout);
                }
                self.total_size -= e.size;
            }
            if tx.is_coinbase() {
                continue;
            }
            for input in &tx.inputs {
                if let Some(conflicting) = self.spends.get(&input.prevout).copied() {
                    let n = self.remove_with_descendants(&conflicting);
                    info!(target: "mempool", txid = %conflicting, removed = n, "removed conflict with block");
                }
            }
        }
    }

    /// After a reorganisation: transactions of disconnected blocks come back (oldest block
    /// first) unless they now conflict or are invalid, and the rest of the pool is checked
    /// again against the new chain.
    pub fn readd_after_reorg(&mut self, disconnected: Vec<Transaction>, chain: &ChainState) {
        let old: Vec<Transaction> = self.entries().into_iter().map(|e| e.tx.clone()).collect();
        self.entries.clear();
        self.spends.clear();
        self.total_size = 0;
        let (mut back, mut dropped) = (0, 0);
        for tx in disconnected.iter().chain(old.iter()) {
            match self.accept(tx, chain) {
                Ok(_) => back += 1,
                Err(MempoolError::AlreadyInChain(_)) | Err(MempoolError::AlreadyInMempool(_)) => {}
                Err(e) => {
                    dropped += 1;
                    debug!(target: "mempool", txid = %tx.txid(), error = %e, "dropped after reorg");
                }
            }
        }
        info!(target: "mempool", back, dropped, pool = self.entries.len(), "mempool rebuilt after reorg");
    }

    /// Transactions for a block template: highest fee rate first, a transaction only after
    /// all its pool parents, within `max_bytes`. Returns them with their fees.
    pub fn select_for_block(&self, max_bytes: usize) -> Vec<(Transaction, Amount)> {
        let mut order: Vec<&MempoolEntry> = self.entries.values().collect();
        order.sort_by(|a, b| {
            if a.lower_rate_than(b) {
                std::cmp::Ordering::Greater
            } else if b.lower_rate_than(a) {
                std::cmp::Ordering::Less
            } else {
                a.sequence.cmp(&b.sequence)
            }
        });
        let mut included: HashSet<Txid> = HashSet::new();
        let mut out = Vec::new();
        let mut used = 0;
        // A child waiting for its parent is revisited in the next pass; passes end when
        // one adds nothing.
        loop {
            let mut progress = false;
            for e in &order {
                if included.contains(&e.txid) || used + e.size > max_bytes {
                    continue;
                }
                let parents_in = e.tx.inputs.iter().all(|i| {
                    !self.entries.contains_key(&i.prevout.txid)
                        || included.contains(&i.prevout.txid)
                });
                if parents_in {
                    included.insert(e.txid);
                    used += e.size;
                    out.push((e.tx.clone(), e.fee));
                    progress = true;
                }
            }
            if !progress {
                break;
            }
        }
        out
    }
}
