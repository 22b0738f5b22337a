//! Full replace-by-fee: when a transaction spends an output a pool transaction already
//! spends, it replaces that transaction (and everything spending from it) if it is the
//! better deal for a miner and pays for its own relay. No signalling is needed, as in
//! Bitcoin Core since v28 (`doc/policy/mempool-replacements.md`).
//!
//! The rules, in the order Core checks them, each with Core's reject reason and words:
//!
//! 1. It may not spend an output of a transaction it replaces
//!    (`bad-txns-spends-conflicting-tx`).
//! 2. Its fee rate is higher than each directly replaced transaction's (`insufficient fee`).
//! 3. It evicts at most [`MAX_REPLACEMENT_CANDIDATES`] transactions, descendants included
//!    (`too many potential replacements`).
//! 4. Each unconfirmed output it spends was already spent by one of the transactions it
//!    directly replaces (`replacement-adds-unconfirmed`).
//! 5. It pays at least the total fee of everything it evicts (`insufficient fee`) …
//! 6. … plus the incremental relay fee for its own size (`insufficient fee`).
//!
//! The pool calls [`check_replacement`] from its policy checks; removing the originals,
//! recorded as [`RemovalReason::Replaced`](super::RemovalReason::Replaced) with the
//! replacement's txid, happens when the entry is added.

use std::collections::HashSet;
use std::fmt;

use dotcoin_common::{Amount, FeeRate, Transaction, Txid};
use thiserror::Error;

use super::{Mempool, MAX_PACKAGE_COUNT};

/// Most transactions one replacement may evict, descendants included (Core's
/// `MAX_REPLACEMENT_CANDIDATES`).
pub const MAX_REPLACEMENT_CANDIDATES: usize = 100;

/// Why a replacement was refused. Each message is Core's: the reject reason, a comma, and
/// Core's detail with the figures.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ReplacementError {
    /// Rule 1: it spends an output of a transaction it would replace, which could then
    /// never confirm.
    #[error("bad-txns-spends-conflicting-tx, {txid} spends conflicting transaction {conflicting}")]
    SpendsConflicting {
        /// The replacement.
        txid: Txid,
        /// The replaced transaction whose output it spends (or an ancestor's).
        conflicting: Txid,
    },
    /// Rule 2: a miner would rather keep the transaction it replaces directly.
    #[error(
        "insufficient fee, rejecting replacement {txid}; new feerate {} <= old feerate {}",
        CoreFeeRate(*new),
        CoreFeeRate(*old)
    )]
    FeeRateNotHigher {
        /// The replacement.
        txid: Txid,
        /// Its fee rate.
        new: FeeRate,
        /// The fee rate of the directly replaced transaction it does not beat.
        old: FeeRate,
        /// That transaction.
        conflicting: Txid,
    },
    /// Rule 3: it would evict more than [`MAX_REPLACEMENT_CANDIDATES`] transactions.
    #[error(
        "too many potential replacements, rejecting replacement {txid}; too many potential replacements ({count} > {MAX_REPLACEMENT_CANDIDATES})"
    )]
    TooManyReplacements {
        /// The replacement.
        txid: Txid,
        /// How many it would evict (the count stops a little past the limit).
        count: usize,
    },
    /// Rule 4: it spends an unconfirmed output none of the replaced transactions spent.
    #[error(
        "replacement-adds-unconfirmed, replacement {txid} adds unconfirmed input, idx {index}"
    )]
    AddsUnconfirmed {
        /// The replacement.
        txid: Txid,
        /// The input's index.
        index: usize,
    },
    /// Rule 5: it pays less than the transactions it evicts.
    #[error(
        "insufficient fee, rejecting replacement {txid}, less fees than conflicting txs; {} < {}",
        CoreMoney(*fee),
        CoreMoney(*conflicting_fees)
    )]
    LessFees {
        /// The replacement.
        txid: Txid,
        /// Its fee.
        fee: Amount,
        /// The fees of everything it evicts.
        conflicting_fees: Amount,
    },
    /// Rule 6: what it pays above the evicted fees does not pay for relaying it.
    #[error(
        "insufficient fee, rejecting replacement {txid}, not enough additional fees to relay; {} < {}",
        CoreMoney(*additional),
        CoreMoney(*required)
    )]
    RelayFee {
        /// The replacement.
        txid: Txid,
        /// Its fee less the evicted fees.
        additional: Amount,
        /// The incremental relay fee for its size.
        required: Amount,
    },
}

impl ReplacementError {
    /// Core's short reject reason.
    pub fn reject_reason(&self) -> &'static str {
        match self {
            ReplacementError::SpendsConflicting { .. } => "bad-txns-spends-conflicting-tx",
            ReplacementError::FeeRateNotHigher { .. }
            | ReplacementError::LessFees { .. }
            | ReplacementError::RelayFee { .. } => "insufficient fee",
            ReplacementError::TooManyReplacements { .. } => "too many potential replacements",
            ReplacementError::AddsUnconfirmed { .. } => "replacement-adds-unconfirmed",
        }
    }
}

/// An amount as Core's `FormatMoney` writes it: DOT, trailing zeros dropped but two
/// decimals kept (`0.00000191`, `49.00`).
struct CoreMoney(Amount);

impl fmt::Display for CoreMoney {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let full = self.0.to_string();
        let trimmed = full.trim_end_matches('0');
        let keep = full.find('.').map_or(full.len(), |dot| dot + 3);
        f.write_str(&full[..trimmed.len().max(keep)])
    }
}

/// A fee rate as Core's `CFeeRate::ToString` writes it: `0.00001000 DOT/kvB`.
struct CoreFeeRate(FeeRate);

impl fmt::Display for CoreFeeRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} DOT/kvB", Amount::from_sat(self.0.to_sat_per_kvb()))
    }
}

/// What a replacement `tx` (txid `txid`, paying `fee` for `size` bytes) would evict,
/// given the pool transactions it conflicts with directly (`direct`, deduplicated):
/// checks rules 1–6 and returns every transaction it evicts, direct conflicts first.
/// `incremental` is the incremental relay fee rate.
///
/// Every walk is bounded: ancestors by the package limit the caller checked already,
/// descendants by stopping one past [`MAX_REPLACEMENT_CANDIDATES`].
pub(super) fn check_replacement(
    pool: &Mempool,
    tx: &Transaction,
    txid: Txid,
    fee: Amount,
    size: usize,
    direct: &[Txid],
    incremental: FeeRate,
) -> Result<Vec<Txid>, ReplacementError> {
    let direct_set: HashSet<Txid> = direct.iter().copied().collect();
    check_spends_no_conflict(pool, tx, txid, &direct_set)?;
    check_fee_rate(pool, txid, fee, size, direct)?;
    let evicted = all_conflicts(pool, txid, direct)?;
    check_no_new_unconfirmed(pool, tx, txid, direct)?;
    check_pays_for_replacement(pool, txid, fee, size, &evicted, incremental)?;
    Ok(evicted)
}

/// Rule 1: no in-pool ancestor of the replacement is a transaction it directly replaces.
/// (An ancestor among the replaced descendants has a direct conflict as an ancestor too,
/// so the direct ones are enough, as in Core's `EntriesAndTxidsDisjoint`.)
fn check_spends_no_conflict(
    pool: &Mempool,
    tx: &Transaction,
    txid: Txid,
    direct: &HashSet<Txid>,
) -> Result<(), ReplacementError> {
    let mut seen: HashSet<Txid> = HashSet::new();
    let mut stack = pool.parents_of(tx);
    while let Some(t) = stack.pop() {
        if direct.contains(&t) {
            return Err(ReplacementError::SpendsConflicting {
                txid,
                conflicting: t,
            });
        }
        // The package limits already held the ancestors to MAX_PACKAGE_COUNT; the bound
        // only keeps this walk finite should a caller skip them.
        if !seen.insert(t) || seen.len() > MAX_PACKAGE_COUNT {
            continue;
        }
        if let Some(e) = pool.get(&t) {
            stack.extend(pool.parents_of(&e.tx));
        }
    }
    Ok(())
}

/// Rule 2: the replacement's fee rate is higher than each direct conflict's. Compared as
/// Core compares them: both rates in whole units per kvB, rounded down.
fn check_fee_rate(
    pool: &Mempool,
    txid: Txid,
    fee: Amount,
    size: usize,
    direct: &[Txid],
) -> Result<(), ReplacementError> {
    let new = FeeRate::from_fee_and_size(fee, size);
    for t in direct {
        let Some(e) = pool.get(t) else { continue };
        let old = e.fee_rate();
        if new <= old {
            return Err(ReplacementError::FeeRateNotHigher {
                txid,
                new,
                old,
                conflicting: *t,
            });
        }
    }
    Ok(())
}

/// Rule 3: the direct conflicts and all their descendants, at most
/// [`MAX_REPLACEMENT_CANDIDATES`] of them.
fn all_conflicts(
    pool: &Mempool,
    txid: Txid,
    direct: &[Txid],
) -> Result<Vec<Txid>, ReplacementError> {
    let mut seen: HashSet<Txid> = HashSet::new();
    let mut order = Vec::new();
    let mut stack: Vec<Txid> = direct.iter().rev().copied().collect();
    while let Some(t) = stack.pop() {
        if !pool.contains(&t) || !seen.insert(t) {
            continue;
        }
        order.push(t);
        if order.len() > MAX_REPLACEMENT_CANDIDATES {
            return Err(ReplacementError::TooManyReplacements {
                txid,
                count: order.len() + stack.len(),
            });
        }
        stack.extend(pool.children_of(&t));
    }
    Ok(order)
}

/// Rule 4: every input spending an unconfirmed output spends from a transaction some
/// direct conflict spent from too: a replacement may not pull in new unconfirmed parents,
/// whose fee rate could drag its own down below what it replaced.
fn check_no_new_unconfirmed(
    pool: &Mempool,
    tx: &Transaction,
    txid: Txid,
    direct: &[Txid],
) -> Result<(), ReplacementError> {
    let parents_of_conflicts: HashSet<Txid> = direct
        .iter()
        .filter_map(|t| pool.get(t))
        .flat_map(|e| e.tx.inputs.iter().map(|i| i.prevout.txid))
        .collect();
    for (index, input) in tx.inputs.iter().enumerate() {
        let parent = input.prevout.txid;
        if !parents_of_conflicts.contains(&parent) && pool.contains(&parent) {
            return Err(ReplacementError::AddsUnconfirmed { txid, index });
        }
    }
    Ok(())
}

/// Rules 5 and 6: the replacement pays at least what it evicts, and on top the incremental
/// relay fee for its own size, so that each replacement pays for the bandwidth it uses.
fn check_pays_for_replacement(
    pool: &Mempool,
    txid: Txid,
    fee: Amount,
    size: usize,
    evicted: &[Txid],
    incremental: FeeRate,
) -> Result<(), ReplacementError> {
    // At most 100 fees each below MAX_MONEY: no overflow, but saturate rather than trust it.
    let conflicting_fees = evicted
        .iter()
        .filter_map(|t| pool.get(t))
        .fold(0u64, |sum, e| sum.saturating_add(e.fee.to_sat()));
    let conflicting_fees = Amount::from_sat(conflicting_fees);
    let Some(additional) = fee.checked_sub(conflicting_fees) else {
        return Err(ReplacementError::LessFees {
            txid,
            fee,
            conflicting_fees,
        });
    };
    let required = incremental.fee_for(size);
    if additional < required {
        return Err(ReplacementError::RelayFee {
            txid,
            additional,
            required,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_and_fee_rates_print_as_core_prints_them() {
        assert_eq!(CoreMoney(Amount::from_sat(191)).to_string(), "0.00000191");
        assert_eq!(CoreMoney(Amount::from_sat(100_000)).to_string(), "0.001");
        assert_eq!(CoreMoney(Amount::from_dot(49)).to_string(), "49.00");
        assert_eq!(
            CoreMoney(Amount::from_sat(4_900_000_010)).to_string(),
            "49.0000001"
        );
        assert_eq!(CoreMoney(Amount::ZERO).to_string(), "0.00");
        assert_eq!(
            CoreFeeRate(FeeRate::from_sat_per_kvb(1000)).to_string(),
            "0.00001000 DOT/kvB"
        );
    }
}
