//! The transaction pool: unconfirmed transactions valid against the UTXO set plus the pool
//! itself (chains of unconfirmed transactions are allowed).
//!
//! The pool sees the chain only through [`ChainView`], and the chain writer feeds it each
//! block change, so the pool and the chain never import each other. Its maps are
//! persistent collections: the writer publishes a copy to readers in O(1) after every
//! change. Every removal is recorded with its [`RemovalReason`] for the event stream.
//!
//! A transaction enters only if every rule passes and it pays at least the minimum relay
//! fee rate. One spending what pool transactions already spend replaces them, with their
//! descendants, if it passes the replacement rules of [`replace`] (full RBF, as Core v28).
//! The pool is bounded in bytes; when full, the lowest fee rate leaves first, with its
//! descendants. Block templates take transactions by fee rate, parents before children.

use std::cell::RefCell;
use std::collections::HashSet;
use std::sync::Arc;

use dotcoin_common::consensus::tx::{check_signatures, check_transaction, check_tx_inputs};
use dotcoin_common::consensus::{Coin, UtxoView, ValidationError};
use dotcoin_common::{
    Amount, Block, FeeRate, OutPoint, Params, PubKey, Transaction, TxOut, Txid, DUST_THRESHOLD,
};
use thiserror::Error;
use tracing::{debug, info, warn};

use crate::storage::StoreError;

pub mod replace;

pub use replace::{ReplacementError, MAX_REPLACEMENT_CANDIDATES};

/// What the pool needs to know of the active chain.
pub trait ChainView {
    /// The confirmed unspent output at `outpoint`.
    fn coin(&self, outpoint: &OutPoint) -> Result<Option<Coin>, StoreError>;
    /// Whether `txid` is confirmed in the active chain.
    fn is_confirmed(&self, txid: &Txid) -> Result<bool, StoreError>;
    /// Height of the active tip.
    fn height(&self) -> u32;
    /// Consensus parameters.
    fn params(&self) -> &'static Params;
}

/// Why a transaction left the pool: part of the event schema, so defined beside it.
pub use dotcoin_common::events::RemovalReason;

/// Default time a transaction may wait in the pool (Bitcoin Core's two weeks).
pub const DEFAULT_MEMPOOL_EXPIRY_SECS: u64 = 14 * 24 * 60 * 60;

/// Largest transaction the pool relays.
pub const MAX_STANDARD_TX_SIZE: usize = 100_000;
/// Default minimum relay fee rate, base units per 1000 bytes (1 unit per byte).
pub const DEFAULT_MIN_RELAY_FEE: FeeRate = FeeRate::from_sat_per_kvb(1_000);
/// Default pool bound in bytes.
pub const DEFAULT_MAX_MEMPOOL_BYTES: usize = 50_000_000;
/// Most pool transactions in one package: a transaction with its in-pool ancestors, or
/// with its in-pool descendants (Bitcoin Core's `-limitancestorcount`/`-limitdescendantcount`).
pub const MAX_PACKAGE_COUNT: usize = 25;
/// Most bytes of such a package (Core's 101 kvB).
pub const MAX_PACKAGE_SIZE: usize = 101_000;

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
    /// Spends outputs pool transactions spend, and may not replace them.
    #[error("{0}")]
    Replacement(#[from] ReplacementError),
    /// Pays less than the minimum relay fee rate.
    #[error("min relay fee not met: fee {fee} for {size} bytes is below {min_rate}")]
    FeeTooLow {
        /// Fee paid.
        fee: Amount,
        /// Transaction size.
        size: usize,
        /// Required rate.
        min_rate: FeeRate,
    },
    /// Pays less than the pool's rolling minimum fee rate, which a full pool raised above
    /// what it last evicted ([`Mempool::min_fee_at`]).
    #[error("mempool min fee not met, {fee} < {required}")]
    MinFeeNotMet {
        /// Fee paid.
        fee: Amount,
        /// The fee the rolling minimum asks for this size.
        required: Amount,
    },
    /// An output worth less than the fee to spend it.
    #[error("dust: output {vout} pays {value}, below the dust threshold {DUST_THRESHOLD}")]
    Dust {
        /// The output's index.
        vout: usize,
        /// Its value.
        value: Amount,
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
    /// Pays a higher fee rate than the submitter allowed (`maxfeerate`): almost always a
    /// mistake, like a forgotten change output.
    #[error("max-fee-exceeded: fee rate {rate} is above the maximum {max}")]
    MaxFeeExceeded {
        /// The transaction's fee rate.
        rate: FeeRate,
        /// The allowed maximum.
        max: FeeRate,
    },
    /// The transaction would make a chain of unconfirmed transactions longer or larger
    /// than the package limits: template building and eviction stay bounded.
    #[error("too-long-mempool-chain, {0}")]
    TooLongChain(PackageLimit),
    /// A plugin's `mempool_accept` hook refused it: local policy, not a consensus rule,
    /// so a peer relaying it is not at fault.
    #[error("plugin-policy: {reason} (plugin {plugin})")]
    Plugin {
        /// The plugin.
        plugin: String,
        /// Its reason.
        reason: String,
    },
    /// The validation task died (a panic); the transaction was not added.
    #[error("internal error: {0}")]
    Internal(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl MempoolError {
    /// The short reject reason (Bitcoin Core's), without parsing the message.
    pub fn reject_reason(&self) -> &'static str {
        match self {
            MempoolError::Invalid(e) => e.reject_reason(),
            MempoolError::Coinbase => "coinbase",
            MempoolError::AlreadyInMempool(_) => "txn-already-in-mempool",
            MempoolError::AlreadyInChain(_) => "txn-already-known",
            MempoolError::Replacement(e) => e.reject_reason(),
            MempoolError::FeeTooLow { .. } => "min relay fee not met",
            MempoolError::MinFeeNotMet { .. } => "mempool min fee not met",
            MempoolError::TooLarge { .. } => "tx-size",
            MempoolError::Dust { .. } => "dust",
            MempoolError::Full => "mempool full",
            MempoolError::TooLongChain(_) => "too-long-mempool-chain",
            MempoolError::MaxFeeExceeded { .. } => "max-fee-exceeded",
            MempoolError::Plugin { .. } => "plugin-policy",
            MempoolError::Internal(_) => "internal-error",
            MempoolError::Store(_) => "database-error",
        }
    }
}

/// Which package limit a transaction breaks, in Bitcoin Core's words.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PackageLimit {
    /// Too many in-pool ancestors (the transaction itself counts).
    #[error("too many unconfirmed ancestors [limit: {MAX_PACKAGE_COUNT}]")]
    AncestorCount,
    /// The transaction and its in-pool ancestors are too large.
    #[error("exceeds ancestor size limit [limit: {MAX_PACKAGE_SIZE}]")]
    AncestorSize,
    /// An ancestor would get too many in-pool descendants.
    #[error("too many descendants for tx {0} [limit: {MAX_PACKAGE_COUNT}]")]
    DescendantCount(Txid),
    /// An ancestor's descendants would be too large.
    #[error("exceeds descendant size limit for tx {0} [limit: {MAX_PACKAGE_SIZE}]")]
    DescendantSize(Txid),
}

/// The outputs `entry` spends, in input order: what its signatures commit to.
fn spent_outputs(entry: &MempoolEntry) -> Vec<TxOut> {
    entry.spent.iter().map(|c| c.output).collect()
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
    /// The pool transactions it replaces, with their descendants, direct conflicts first
    /// (empty for a transaction that conflicts with nothing).
    pub replaces: Vec<Txid>,
    sequence: u64,
}

impl MempoolEntry {
    /// Fee rate in base units per 1000 bytes.
    pub fn fee_rate(&self) -> FeeRate {
        FeeRate::from_fee_and_size(self.fee, self.size)
    }

    /// Refuses the entry if it pays more than `max` (none when `max` is zero).
    pub fn check_max_fee_rate(&self, max: FeeRate) -> Result<(), MempoolError> {
        let rate = self.fee_rate();
        if max != FeeRate::ZERO && rate > max {
            return Err(MempoolError::MaxFeeExceeded { rate, max });
        }
        Ok(())
    }

    /// Whether `self` pays a lower fee rate than `other` (exact, no rounding).
    fn lower_rate_than(&self, other: &MempoolEntry) -> bool {
        (self.fee.to_sat() as u128) * (other.size as u128)
            < (other.fee.to_sat() as u128) * (self.size as u128)
    }
}

/// An entry's place in the eviction order: by fee rate (compared exactly, as
/// [`MempoolEntry::lower_rate_than`] does), then by txid so that the order is total.
#[derive(Debug, Clone, Copy)]
struct RateKey {
    fee: u64,
    size: u64,
    txid: Txid,
}

impl RateKey {
    fn of(e: &MempoolEntry) -> RateKey {
        RateKey {
            fee: e.fee.to_sat(),
            size: e.size as u64,
            txid: e.txid,
        }
    }
}

impl Ord for RateKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        let mine = u128::from(self.fee) * u128::from(other.size);
        let theirs = u128::from(other.fee) * u128::from(self.size);
        mine.cmp(&theirs).then_with(|| self.txid.cmp(&other.txid))
    }
}

impl PartialOrd for RateKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for RateKey {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == std::cmp::Ordering::Equal
    }
}

impl Eq for RateKey {}

/// The transaction pool.
#[derive(Debug, Clone)]
pub struct Mempool {
    entries: imbl::HashMap<Txid, Arc<MempoolEntry>>,
    /// Every entry by fee rate, lowest first: what a full pool evicts next, found without
    /// a scan of the pool (a flood of evicting transactions made each one cost O(pool)).
    by_rate: imbl::OrdSet<RateKey>,
    spends: imbl::HashMap<OutPoint, Txid>,
    total_size: usize,
    max_size: usize,
    min_fee_rate: FeeRate,
    next_sequence: u64,
    /// Bitcoin Core's mempool sequence: the number the next announced addition or removal
    /// takes ([`Mempool::take_sequence`]). A snapshot's pool reflects exactly the changes
    /// numbered below its value.
    mempool_sequence: u64,
    /// Removals not yet collected by [`Mempool::take_removed`], each with its
    /// replacement for [`RemovalReason::Replaced`].
    removed: Vec<(Txid, RemovalReason, Option<Txid>)>,
    /// Bitcoin Core's rolling minimum fee rate, units per kB: raised by eviction to the
    /// evicted package's rate plus the incremental relay fee, halving every
    /// [`ROLLING_FEE_HALFLIFE`] once a block has come since the last raise.
    rolling_min: f64,
    /// Unix time `rolling_min` was last brought up to date.
    rolling_updated: u64,
    /// Whether a block has been connected since the last raise (before one, no decay).
    block_since_bump: bool,
}

/// Core's `ROLLING_FEE_HALFLIFE`: the rolling minimum fee halves in 12 hours (in 6 while the
/// pool is under half full, in 3 under a quarter).
pub const ROLLING_FEE_HALFLIFE: u64 = 12 * 60 * 60;

/// The UTXO set as the pool sees it: confirmed outputs plus outputs of pool transactions.
struct PoolView<'a> {
    chain: &'a dyn ChainView,
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
    /// An empty pool bounded to `max_size` bytes, requiring `min_fee_rate`.
    pub fn new(max_size: usize, min_fee_rate: FeeRate) -> Mempool {
        Mempool {
            entries: imbl::HashMap::new(),
            by_rate: imbl::OrdSet::new(),
            spends: imbl::HashMap::new(),
            total_size: 0,
            max_size,
            min_fee_rate,
            next_sequence: 0,
            // Core's first number too.
            mempool_sequence: 1,
            removed: Vec::new(),
            rolling_min: 0.0,
            rolling_updated: 0,
            block_since_bump: false,
        }
    }

    /// The rolling minimum at `now` (unix seconds), units per kB, unrounded: decayed since
    /// its last update when a block has come since the last raise, and 0 once it falls
    /// below half the incremental relay fee (Core's `GetMinFee`, without its rounding).
    fn rolling_min_at(&self, now: u64) -> f64 {
        if !self.block_since_bump || self.rolling_min == 0.0 {
            return self.rolling_min;
        }
        // Core updates at most every 10 seconds.
        if now <= self.rolling_updated + 10 {
            return self.rolling_min;
        }
        let mut halflife = ROLLING_FEE_HALFLIFE as f64;
        if self.total_size < self.max_size / 4 {
            halflife /= 4.0;
        } else if self.total_size < self.max_size / 2 {
            halflife /= 2.0;
        }
        let rate = self.rolling_min / 2f64.powf((now - self.rolling_updated) as f64 / halflife);
        if rate < self.min_fee_rate.to_sat_per_kvb() as f64 / 2.0 {
            return 0.0;
        }
        rate
    }

    /// The pool's minimum fee rate at `now` (unix seconds), from eviction alone: zero
    /// until a full pool has evicted something, then the evicted package's rate plus the
    /// incremental relay fee (this node's relay fee), decaying once a block has come
    /// (Bitcoin Core's `GetMinFee`). `getmempoolinfo`'s `mempoolminfee` is the larger of
    /// this and the relay fee.
    pub fn min_fee_at(&self, now: u64) -> FeeRate {
        let rate = self.rolling_min_at(now);
        if rate == 0.0 {
            return FeeRate::ZERO;
        }
        FeeRate::from_sat_per_kvb(rate.round() as u64).max(self.min_fee_rate)
    }

    /// An evicted package paid `rate`: the rolling minimum rises to it if below.
    fn track_package_removed(&mut self, rate: FeeRate) {
        let rate = rate.to_sat_per_kvb() as f64;
        if rate > self.rolling_min {
            self.rolling_min = rate;
            self.block_since_bump = false;
        }
    }

    /// The number the next announced change of the pool will take (`getrawmempool`'s
    /// `mempool_sequence`): every change numbered below it is in this pool.
    pub fn mempool_sequence(&self) -> u64 {
        self.mempool_sequence
    }

    /// Numbers one announced addition or removal: the chain writer numbers the pool's
    /// changes as it turns them into events, before it publishes the snapshot holding them.
    pub fn take_sequence(&mut self) -> u64 {
        let n = self.mempool_sequence;
        self.mempool_sequence += 1;
        n
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
    pub fn min_fee_rate(&self) -> FeeRate {
        self.min_fee_rate
    }

    /// A pool transaction.
    pub fn get(&self, txid: &Txid) -> Option<&MempoolEntry> {
        self.entries.get(txid).map(|e| &**e)
    }

    /// Whether `txid` is in the pool.
    pub fn contains(&self, txid: &Txid) -> bool {
        self.entries.contains_key(txid)
    }

    /// Every entry, in arrival order.
    pub fn entries(&self) -> Vec<&MempoolEntry> {
        let mut v: Vec<&MempoolEntry> = self.entries.values().map(|e| &**e).collect();
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

    /// Validates `tx` against the chain and the pool without adding it, signatures
    /// included; returns the entry it would make.
    pub fn check(
        &self,
        tx: &Transaction,
        chain: &dyn ChainView,
    ) -> Result<MempoolEntry, MempoolError> {
        let entry = self.check_policy(tx, chain)?;
        check_signatures(tx, &spent_outputs(&entry))?;
        Ok(entry)
    }

    /// Every check of [`Mempool::check`] but the signatures, which are the expensive part:
    /// the writer runs this under its lock, after the signatures were verified outside it.
    pub fn check_policy(
        &self,
        tx: &Transaction,
        chain: &dyn ChainView,
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
        if let Some((vout, out)) = tx
            .outputs
            .iter()
            .enumerate()
            .find(|(_, o)| o.value < DUST_THRESHOLD)
        {
            return Err(MempoolError::Dust {
                vout,
                value: out.value,
            });
        }
        if chain.is_confirmed(&txid)? {
            return Err(MempoolError::AlreadyInChain(txid));
        }
        let mut conflicts: Vec<Txid> = Vec::new();
        for input in &tx.inputs {
            if let Some(conflicting) = self.spends.get(&input.prevout) {
                if !conflicts.contains(conflicting) {
                    conflicts.push(*conflicting);
                }
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
        if spent.fee < self.min_fee_rate.fee_for(size) {
            return Err(MempoolError::FeeTooLow {
                fee: spent.fee,
                size,
                min_rate: self.min_fee_rate,
            });
        }
        let required = self.min_fee_at(crate::util::unix_time()).fee_for(size);
        if spent.fee < required {
            return Err(MempoolError::MinFeeNotMet {
                fee: spent.fee,
                required,
            });
        }
        self.check_package(tx, size)
            .map_err(MempoolError::TooLongChain)?;
        let replaces = if conflicts.is_empty() {
            Vec::new()
        } else {
            // Core's incremental relay fee is this node's relay fee (`getnetworkinfo`'s
            // `incrementalfee` says so).
            replace::check_replacement(
                self,
                tx,
                txid,
                spent.fee,
                size,
                &conflicts,
                self.min_fee_rate,
            )?
        };
        Ok(MempoolEntry {
            tx: tx.clone(),
            txid,
            fee: spent.fee,
            size,
            time: crate::util::unix_time(),
            height: chain.height(),
            spent: spent.coins,
            replaces,
            sequence: 0,
        })
    }

    /// Checks the package limits for `tx` of `size` bytes: its in-pool ancestors, and the
    /// descendants each of them would have. Every walk stops at the limit, so a hostile
    /// chain costs at most [`MAX_PACKAGE_COUNT`]² steps.
    fn check_package(&self, tx: &Transaction, size: usize) -> Result<(), PackageLimit> {
        let mut ancestors: HashSet<Txid> = HashSet::new();
        let mut stack = self.parents_of(tx);
        let mut ancestor_size = size;
        while let Some(t) = stack.pop() {
            let Some(e) = self.entries.get(&t) else {
                continue;
            };
            if !ancestors.insert(t) {
                continue;
            }
            if ancestors.len() + 1 > MAX_PACKAGE_COUNT {
                return Err(PackageLimit::AncestorCount);
            }
            ancestor_size += e.size;
            if ancestor_size > MAX_PACKAGE_SIZE {
                return Err(PackageLimit::AncestorSize);
            }
            stack.extend(self.parents_of(&e.tx));
        }
        for a in &ancestors {
            let (count, bytes) = self.descendants_bounded(a);
            if count + 1 > MAX_PACKAGE_COUNT {
                return Err(PackageLimit::DescendantCount(*a));
            }
            if bytes + size > MAX_PACKAGE_SIZE {
                return Err(PackageLimit::DescendantSize(*a));
            }
        }
        Ok(())
    }

    /// Count and bytes of `txid` with its in-pool descendants, the walk stopping once the
    /// count passes [`MAX_PACKAGE_COUNT`].
    fn descendants_bounded(&self, txid: &Txid) -> (usize, usize) {
        let mut seen: HashSet<Txid> = HashSet::new();
        let mut stack = vec![*txid];
        let mut bytes = 0;
        while let Some(t) = stack.pop() {
            if seen.len() > MAX_PACKAGE_COUNT {
                break;
            }
            let Some(e) = self.entries.get(&t) else {
                continue;
            };
            if !seen.insert(t) {
                continue;
            }
            bytes += e.size;
            stack.extend(self.children_of(&t));
        }
        (seen.len(), bytes)
    }

    /// Validates and adds `tx`. Returns the entry's txid.
    pub fn accept(
        &mut self,
        tx: &Transaction,
        chain: &dyn ChainView,
    ) -> Result<Txid, MempoolError> {
        let entry = self.check(tx, chain)?;
        self.add(entry)
    }

    /// Adds `tx` whose signatures were verified against `verified` (the outputs it
    /// spends, as seen in a recent snapshot). An outpoint names one output forever, so if
    /// the pool's view resolves the same outputs the signatures need no second check.
    pub fn accept_verified(
        &mut self,
        tx: &Transaction,
        verified: &[TxOut],
        chain: &dyn ChainView,
    ) -> Result<Txid, MempoolError> {
        let entry = self.check_policy(tx, chain)?;
        if spent_outputs(&entry) != verified {
            check_signatures(tx, &spent_outputs(&entry))?;
        }
        self.add(entry)
    }

    fn add(&mut self, entry: MempoolEntry) -> Result<Txid, MempoolError> {
        let txid = entry.txid;
        let size = entry.size;
        // A replacement that a full pool then evicts must not have evicted the originals:
        // the maps are persistent, so keeping the pool as it was costs O(1).
        let before = (!entry.replaces.is_empty()).then(|| self.clone());
        let mut replaced = 0;
        for t in &entry.replaces {
            if self.remove_one(t, RemovalReason::Replaced, Some(txid)) {
                replaced += 1;
            }
        }
        if replaced > 0 {
            info!(target: "mempool", %txid, replaced, "replaced conflicting transactions");
        }
        self.insert(entry);
        self.evict_to_fit();
        if !self.entries.contains_key(&txid) {
            match before {
                Some(b) => *self = b,
                // It never was in the pool as far as anyone outside knows.
                None => self.removed.retain(|(t, _, _)| *t != txid),
            }
            return Err(MempoolError::Full);
        }
        debug!(target: "mempool", %txid, size, pool = self.entries.len(), "accepted transaction");
        Ok(txid)
    }

    fn insert(&mut self, mut entry: MempoolEntry) {
        entry.sequence = self.next_sequence;
        self.next_sequence += 1;
        for input in &entry.tx.inputs {
            self.spends.insert(input.prevout, entry.txid);
        }
        self.total_size += entry.size;
        self.by_rate.insert(RateKey::of(&entry));
        self.entries.insert(entry.txid, Arc::new(entry));
    }

    /// Removes `txid` and everything spending from it, recording `reason`.
    fn remove_with_descendants(&mut self, txid: &Txid, reason: RemovalReason) -> usize {
        self.remove_package(txid, reason).0
    }

    /// Removes `txid` with its descendants: how many, and their total fee and size.
    fn remove_package(&mut self, txid: &Txid, reason: RemovalReason) -> (usize, Amount, usize) {
        let mut stack = vec![*txid];
        let (mut removed, mut fee, mut size) = (0, Amount::ZERO, 0);
        while let Some(t) = stack.pop() {
            stack.extend(self.children_of(&t));
            if let Some(e) = self.entries.get(&t) {
                fee = fee.checked_add(e.fee).unwrap_or(fee);
                size += e.size;
            }
            if self.remove_one(&t, reason, None) {
                removed += 1;
            }
        }
        (removed, fee, size)
    }

    fn remove_one(&mut self, txid: &Txid, reason: RemovalReason, by: Option<Txid>) -> bool {
        let Some(e) = self.entries.remove(txid) else {
            return false;
        };
        self.by_rate.remove(&RateKey::of(&e));
        for input in &e.tx.inputs {
            if self.spends.get(&input.prevout) == Some(txid) {
                self.spends.remove(&input.prevout);
            }
        }
        self.total_size -= e.size;
        self.removed.push((*txid, reason, by));
        true
    }

    /// Removes `txid` and its descendants as no longer fitting after a reorg: a plugin's
    /// `mempool_accept` hook refused it once a reorg had put it back. Returns how many left.
    pub fn remove_refused(&mut self, txid: &Txid) -> usize {
        self.remove_with_descendants(txid, RemovalReason::Reorg)
    }

    /// Every removal since the last call, in order, with its reason.
    pub fn take_removed(&mut self) -> Vec<(Txid, RemovalReason)> {
        self.take_removals()
            .into_iter()
            .map(|(t, r, _)| (t, r))
            .collect()
    }

    /// [`Mempool::take_removed`] with, for each [`RemovalReason::Replaced`], the
    /// transaction that replaced it.
    pub fn take_removals(&mut self) -> Vec<(Txid, RemovalReason, Option<Txid>)> {
        std::mem::take(&mut self.removed)
    }

    /// While over the byte bound, drops the lowest fee rate transaction and its descendants.
    fn evict_to_fit(&mut self) {
        while self.total_size > self.max_size {
            let Some(lowest) = self.by_rate.get_min().copied() else {
                break;
            };
            let worst = lowest.txid;
            if !self.entries.contains_key(&worst) {
                // Never expected: the index and the pool change together. Should they
                // disagree, the stale key goes, rather than this loop spinning on it.
                warn!(target: "mempool", txid = %worst, "eviction index named a transaction not in the pool");
                self.by_rate.remove(&lowest);
                continue;
            }
            let (n, fee, size) = self.remove_package(&worst, RemovalReason::Evicted);
            // Core's TrimToSize: what comes next must beat the package that went, by the
            // incremental relay fee.
            let rate = FeeRate::from_fee_and_size(fee, size).to_sat_per_kvb();
            self.track_package_removed(FeeRate::from_sat_per_kvb(
                rate.saturating_add(self.min_fee_rate.to_sat_per_kvb()),
            ));
            info!(target: "mempool", txid = %worst, removed = n, min_fee = %self.min_fee_at(crate::util::unix_time()), "evicted lowest fee rate");
        }
    }

    /// Drops transactions that entered before `cutoff` (unix time), with descendants.
    pub fn expire(&mut self, cutoff: u64) -> usize {
        let old: Vec<Txid> = self
            .entries
            .values()
            .filter(|e| e.time < cutoff)
            .map(|e| e.txid)
            .collect();
        let mut n = 0;
        for txid in old {
            n += self.remove_with_descendants(&txid, RemovalReason::Expired);
        }
        if n > 0 {
            info!(target: "mempool", removed = n, "expired old transactions");
        }
        n
    }

    /// A block was connected: its transactions leave the pool, and so do pool transactions
    /// spending the same outputs (conflicts), with their descendants.
    pub fn remove_for_block(&mut self, block: &Block) {
        // Core restarts the rolling minimum's clock at every block and lets it decay from
        // then on; the decay so far is kept.
        let now = crate::util::unix_time();
        self.rolling_min = self.rolling_min_at(now);
        self.rolling_updated = now;
        self.block_since_bump = true;
        for tx in &block.txdata {
            let txid = tx.txid();
            self.remove_one(&txid, RemovalReason::Confirmed, None);
            if tx.is_coinbase() {
                continue;
            }
            for input in &tx.inputs {
                if let Some(conflicting) = self.spends.get(&input.prevout).copied() {
                    let n = self.remove_with_descendants(&conflicting, RemovalReason::Conflict);
                    info!(target: "mempool", txid = %conflicting, removed = n, "removed conflict with block");
                }
            }
        }
    }

    /// After a reorganisation: transactions of disconnected blocks come back (oldest block
    /// first) unless they now conflict or are invalid, and the rest of the pool is checked
    /// again against the new chain. Returns the transactions that newly entered the pool;
    /// pool transactions that no longer fit are recorded as removed for [`RemovalReason::Reorg`].
    pub fn readd_after_reorg(
        &mut self,
        disconnected: Vec<Transaction>,
        chain: &dyn ChainView,
    ) -> Vec<Txid> {
        let old: Vec<Arc<MempoolEntry>> = {
            let mut v: Vec<Arc<MempoolEntry>> = self.entries.values().cloned().collect();
            v.sort_by_key(|e| e.sequence);
            v
        };
        let old_ids: HashSet<Txid> = self.entries.keys().copied().collect();
        let mark = self.removed.len();
        self.entries.clear();
        self.by_rate.clear();
        self.spends.clear();
        self.total_size = 0;
        let (mut back, mut dropped) = (Vec::new(), 0);
        // A pool transaction's signatures were checked against the outputs it spends; if
        // it still resolves the same outputs only the policy checks run again.
        let candidates = disconnected
            .iter()
            .map(|tx| (tx, None))
            .chain(old.iter().map(|e| (&e.tx, Some(spent_outputs(e)))));
        for (tx, verified) in candidates {
            let result = match verified {
                Some(outs) => self.accept_verified(tx, &outs, chain),
                None => self.accept(tx, chain),
            };
            match result {
                Ok(txid) => {
                    if !old_ids.contains(&txid) {
                        back.push(txid);
                    }
                }
                Err(MempoolError::AlreadyInChain(_)) | Err(MempoolError::AlreadyInMempool(_)) => {}
                Err(e) => {
                    dropped += 1;
                    debug!(target: "mempool", txid = %tx.txid(), error = %e, "dropped after reorg");
                }
            }
        }
        // Only what was in the pool before leaves it, once: a transaction back from a
        // disconnected block that a later one evicted was never in the pool as far as
        // anyone outside knows, and a pool transaction evicted after it re-entered is not
        // also dropped for the reorg.
        let mut reported: HashSet<Txid> = HashSet::new();
        let during: Vec<(Txid, RemovalReason, Option<Txid>)> = self
            .removed
            .drain(mark..)
            .filter(|(t, _, _)| old_ids.contains(t) && reported.insert(*t))
            .collect();
        self.removed.extend(during);
        for txid in old_ids {
            if !self.entries.contains_key(&txid) && !reported.contains(&txid) {
                self.removed.push((txid, RemovalReason::Reorg, None));
            }
        }
        back.retain(|t| self.entries.contains_key(t));
        info!(target: "mempool", back = back.len(), dropped, pool = self.entries.len(), "mempool rebuilt after reorg");
        back
    }

    /// Transactions for a block template: highest fee rate first, a transaction only after
    /// all its pool parents, within `max_bytes`. Returns them with their fees.
    ///
    /// A heap holds the transactions whose pool parents are all in the template, best fee
    /// rate on top; taking one may make its children ready. O(n log n) whatever the shape
    /// of the pool's chains.
    pub fn select_for_block(&self, max_bytes: usize) -> Vec<(Transaction, Amount)> {
        use std::collections::{BinaryHeap, HashMap};
        let mut waiting: HashMap<Txid, usize> = HashMap::new();
        let mut ready = BinaryHeap::new();
        for e in self.entries.values() {
            let parents = self.parents_of(&e.tx).len();
            if parents == 0 {
                ready.push(ByFeeRate(e));
            } else {
                waiting.insert(e.txid, parents);
            }
        }
        let mut out = Vec::new();
        let mut used = 0;
        while let Some(ByFeeRate(e)) = ready.pop() {
            if used + e.size > max_bytes {
                // Its descendants never become ready, which is right: they need it.
                continue;
            }
            used += e.size;
            out.push((e.tx.clone(), e.fee));
            for child in self.children_of(&e.txid) {
                if let Some(n) = waiting.get_mut(&child) {
                    *n -= 1;
                    if *n == 0 {
                        waiting.remove(&child);
                        if let Some(c) = self.entries.get(&child) {
                            ready.push(ByFeeRate(c));
                        }
                    }
                }
            }
        }
        out
    }
}

/// Heap order for template selection: higher fee rate first, then earlier arrival.
struct ByFeeRate<'a>(&'a MempoolEntry);

impl PartialEq for ByFeeRate<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == std::cmp::Ordering::Equal
    }
}

impl Eq for ByFeeRate<'_> {}

impl PartialOrd for ByFeeRate<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ByFeeRate<'_> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        let (a, b) = (self.0, other.0);
        if a.lower_rate_than(b) {
            std::cmp::Ordering::Less
        } else if b.lower_rate_than(a) {
            std::cmp::Ordering::Greater
        } else {
            b.sequence.cmp(&a.sequence)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::RateKey;
    use bitcoin_hashes::Hash as _;

    fn key(fee: u64, size: u64, id: u8) -> RateKey {
        RateKey {
            fee,
            size,
            txid: dotcoin_common::Txid::from_byte_array([id; 32]),
        }
    }

    #[test]
    fn the_eviction_order_compares_rates_exactly_then_txids() {
        // As f64 these two rates are one number (2^53 + 1 rounds to 2^53).
        assert!(key((1 << 53) + 1, 1, 1) > key(1 << 53, 1, 9));
        assert!(key(1, 3, 9) < key(333_333_333, 999_999_998, 1));
        // Equal rates at different sizes: the txid decides.
        assert!(key(2, 200, 1) < key(1, 100, 2));
        assert!(key(1, 100, 2) > key(2, 200, 1));
        assert_eq!(key(5, 10, 3), key(5, 10, 3));
        // Fees and sizes at their limits do not overflow.
        assert!(key(u64::MAX, 1, 1) > key(u64::MAX - 1, 1, 1));
        let mut set = imbl::OrdSet::new();
        for k in [key(30, 10, 1), key(10, 10, 2), key(20, 10, 3)] {
            set.insert(k);
        }
        assert_eq!(set.get_min().map(|k| k.fee), Some(10));
    }
}
