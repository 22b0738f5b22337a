//! Block rules: context-free checks, and the block-level checks made while connecting a
//! block to the UTXO set.

use std::collections::{HashMap, HashSet};

use super::tx::{check_coinbase_height, check_transaction, check_tx_inputs, SpentInputs};
use super::{Coin, UtxoView, ValidationError, MAX_BLOCK_SIZE};
use crate::params::Params;
use crate::primitives::{Amount, Block, BlockHeader, OutPoint, Transaction, TxOut};

/// The serialized block must be at most `MAX_BLOCK_SIZE` bytes.
pub fn check_block_size(block: &Block) -> Result<(), ValidationError> {
    let size = block.size();
    if size > MAX_BLOCK_SIZE {
        return Err(ValidationError::BlockTooLarge {
            size,
            max: MAX_BLOCK_SIZE,
        });
    }
    Ok(())
}

/// The header's merkle root must be the root over the transactions' wtxids, and the list
/// must not be a CVE-2012-2459 mutation.
pub fn check_merkle_root(block: &Block) -> Result<(), ValidationError> {
    let (computed, mutated) = block.compute_merkle_root();
    if computed != block.header.merkle_root {
        return Err(ValidationError::BadMerkleRoot {
            header: block.header.merkle_root,
            computed,
        });
    }
    if mutated {
        return Err(ValidationError::MerkleMutated);
    }
    Ok(())
}

/// The first transaction, and only the first, is a coinbase.
pub fn check_coinbase_position(block: &Block) -> Result<(), ValidationError> {
    match block.txdata.first() {
        Some(tx) if tx.is_coinbase() => {}
        _ => return Err(ValidationError::FirstTxNotCoinbase),
    }
    if let Some(index) = block
        .txdata
        .iter()
        .skip(1)
        .position(Transaction::is_coinbase)
    {
        return Err(ValidationError::MultipleCoinbase { index: index + 1 });
    }
    Ok(())
}

/// The header hash must not exceed the target its `bits` encode, and that target must be
/// a valid one no easier than the network's `pow_limit`.
pub fn check_proof_of_work(header: &BlockHeader, params: &Params) -> Result<(), ValidationError> {
    let target = header
        .bits
        .to_target()
        .map_err(ValidationError::BadBitsEncoding)?;
    if target > params.pow_limit_target() {
        return Err(ValidationError::TargetAbovePowLimit {
            bits: header.bits,
            limit: params.pow_limit,
        });
    }
    let hash = header.block_hash();
    if hash.to_u256() > target {
        return Err(ValidationError::HighHash {
            hash,
            bits: header.bits,
        });
    }
    Ok(())
}

/// All context-free block rules, including every transaction's context-free rules.
pub fn check_block(block: &Block, params: &Params) -> Result<(), ValidationError> {
    check_proof_of_work(&block.header, params)?;
    // The merkle root first: until the transactions are proven to be the ones the header
    // commits to, a failure says nothing about the block, only about whoever sent this
    // body (an honest header with a bogus body must not get the real block marked invalid).
    check_merkle_root(block)?;
    check_block_size(block)?;
    check_coinbase_position(block)?;
    for tx in &block.txdata {
        check_transaction(tx)?;
    }
    Ok(())
}

/// The coinbase may pay at most the subsidy plus the block's fees.
pub fn check_coinbase_value(
    coinbase: &Transaction,
    subsidy: Amount,
    fees: Amount,
) -> Result<(), ValidationError> {
    let max = subsidy
        .checked_add(fees)
        .unwrap_or(crate::primitives::MAX_MONEY);
    let got = coinbase.total_out().unwrap_or(Amount::from_sat(u64::MAX));
    if got > max {
        return Err(ValidationError::CoinbaseTooLarge { got, max });
    }
    Ok(())
}

/// A UTXO view that also sees the outputs created earlier in the same block and hides the
/// ones already spent by it.
struct BlockView<'a, V: UtxoView> {
    base: &'a V,
    created: HashMap<OutPoint, Coin>,
    spent: HashSet<OutPoint>,
}

impl<V: UtxoView> UtxoView for BlockView<'_, V> {
    fn coin(&self, outpoint: &OutPoint) -> Option<Coin> {
        if self.spent.contains(outpoint) {
            return None;
        }
        self.created
            .get(outpoint)
            .copied()
            .or_else(|| self.base.coin(outpoint))
    }
}

/// The effect of connecting a block, before signatures are checked.
#[derive(Debug, Clone)]
pub struct BlockSpend {
    /// Total fees of the block's transactions.
    pub fees: Amount,
    /// Per non-coinbase transaction (block order, from index 1): what it spent.
    pub spent: Vec<SpentInputs>,
}

impl BlockSpend {
    /// The outputs each transaction spends, for signature checks: `(tx index, outputs)`.
    pub fn signature_jobs(&self) -> impl Iterator<Item = (usize, Vec<TxOut>)> + '_ {
        self.spent
            .iter()
            .enumerate()
            .map(|(i, s)| (i + 1, s.outputs()))
    }
}

/// Connects `block` at `height` to `view` without checking signatures: the coinbase
/// height, every input found and matured (outputs of earlier transactions in the block
/// count), no output spent twice in the block, and the coinbase value.
pub fn check_block_spends(
    block: &Block,
    height: u32,
    view: &impl UtxoView,
    params: &Params,
) -> Result<BlockSpend, ValidationError> {
    // Checked again here because the coinbase rules below index its one input.
    let coinbase = block
        .coinbase()
        .filter(|tx| tx.is_coinbase())
        .ok_or(ValidationError::FirstTxNotCoinbase)?;
    check_coinbase_height(coinbase, height)?;
    let mut bv = BlockView {
        base: view,
        created: HashMap::new(),
        spent: HashSet::new(),
    };
    add_outputs(&mut bv.created, coinbase, height, true);
    let mut fees = Amount::ZERO;
    let mut spent = Vec::with_capacity(block.txdata.len().saturating_sub(1));
    for tx in &block.txdata[1..] {
        for input in &tx.inputs {
            if bv.spent.contains(&input.prevout) {
                return Err(ValidationError::DoubleSpendInBlock {
                    outpoint: input.prevout,
                });
            }
        }
        let s = check_tx_inputs(tx, &bv, height, params)?;
        for input in &tx.inputs {
            bv.spent.insert(input.prevout);
        }
        add_outputs(&mut bv.created, tx, height, false);
        fees = fees
            .checked_add(s.fee)
            .ok_or(ValidationError::InputValuesOutOfRange { txid: tx.txid() })?;
        spent.push(s);
    }
    check_coinbase_value(coinbase, params.subsidy(height), fees)?;
    Ok(BlockSpend { fees, spent })
}

fn add_outputs(map: &mut HashMap<OutPoint, Coin>, tx: &Transaction, height: u32, cb: bool) {
    let txid = tx.txid();
    for (vout, output) in tx.outputs.iter().enumerate() {
        map.insert(
            OutPoint {
                txid,
                vout: vout as u32,
            },
            Coin {
                output: *output,
                height,
                is_coinbase: cb,
            },
        );
    }
}
