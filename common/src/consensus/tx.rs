//! Transaction rules: context-free shape checks, and checks against a UTXO view (inputs
//! exist, coinbases matured, value balance, signatures).

use std::collections::HashSet;

use bitcoin_hashes::Hash;

use super::{Coin, UtxoView, ValidationError, MAX_COINBASE_WITNESS};
use crate::params::Params;
use crate::primitives::{Amount, Transaction, TxOut, MAX_MONEY};
use crate::sighash::{verify_signature, SighashCache};

/// A transaction must have at least one input.
pub fn check_has_inputs(tx: &Transaction) -> Result<(), ValidationError> {
    if tx.inputs.is_empty() {
        return Err(ValidationError::NoInputs { txid: tx.txid() });
    }
    Ok(())
}

/// A transaction must have at least one output.
pub fn check_has_outputs(tx: &Transaction) -> Result<(), ValidationError> {
    if tx.outputs.is_empty() {
        return Err(ValidationError::NoOutputs { txid: tx.txid() });
    }
    Ok(())
}

/// No outpoint may be spent twice by one transaction.
pub fn check_no_duplicate_inputs(tx: &Transaction) -> Result<(), ValidationError> {
    let mut seen = HashSet::with_capacity(tx.inputs.len());
    for input in &tx.inputs {
        if !seen.insert(input.prevout) {
            return Err(ValidationError::DuplicateInputs {
                txid: tx.txid(),
                outpoint: input.prevout,
            });
        }
    }
    Ok(())
}

/// Each output value, and their total, must be at most `MAX_MONEY`.
pub fn check_output_values(tx: &Transaction) -> Result<(), ValidationError> {
    for (index, out) in tx.outputs.iter().enumerate() {
        if out.value > MAX_MONEY {
            return Err(ValidationError::OutputTooLarge {
                txid: tx.txid(),
                index,
                value: out.value,
            });
        }
    }
    if tx.total_out().is_none() {
        return Err(ValidationError::OutputTotalTooLarge { txid: tx.txid() });
    }
    Ok(())
}

/// A coinbase's witness (miner data) is at most 100 bytes.
pub fn check_coinbase_witness_size(tx: &Transaction) -> Result<(), ValidationError> {
    let len = tx.inputs[0].witness.len();
    if len > MAX_COINBASE_WITNESS {
        return Err(ValidationError::CoinbaseWitnessTooLarge {
            len,
            max: MAX_COINBASE_WITNESS,
        });
    }
    Ok(())
}

/// Only a coinbase may use the null prevout (zero txid).
pub fn check_no_null_prevouts(tx: &Transaction) -> Result<(), ValidationError> {
    for (index, input) in tx.inputs.iter().enumerate() {
        if input.prevout.txid == crate::hashes::Txid::all_zeros() {
            return Err(ValidationError::NullPrevout {
                txid: tx.txid(),
                index,
            });
        }
    }
    Ok(())
}

/// A coinbase's prevout index must equal its block's height, which keeps coinbase txids
/// unique.
pub fn check_coinbase_height(tx: &Transaction, height: u32) -> Result<(), ValidationError> {
    let got = tx.inputs[0].prevout.vout;
    if got != height {
        return Err(ValidationError::CoinbaseHeightMismatch {
            got,
            expected: height,
        });
    }
    Ok(())
}

/// All context-free transaction rules.
pub fn check_transaction(tx: &Transaction) -> Result<(), ValidationError> {
    check_has_inputs(tx)?;
    check_has_outputs(tx)?;
    check_no_duplicate_inputs(tx)?;
    check_output_values(tx)?;
    if tx.is_coinbase() {
        check_coinbase_witness_size(tx)?;
    } else {
        check_no_null_prevouts(tx)?;
    }
    Ok(())
}

/// What a transaction spends, once its inputs are found: the fee and the spent coins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpentInputs {
    /// Inputs minus outputs.
    pub fee: Amount,
    /// The coins spent, in input order.
    pub coins: Vec<Coin>,
}

impl SpentInputs {
    /// The spent outputs, in input order, as the signature hash needs them.
    pub fn outputs(&self) -> Vec<TxOut> {
        self.coins.iter().map(|c| c.output).collect()
    }
}

/// Coinbase outputs may be spent only `coinbase_maturity` blocks after their block.
pub fn check_coinbase_maturity(
    outpoint: &crate::primitives::OutPoint,
    coin: &Coin,
    spend_height: u32,
    params: &Params,
) -> Result<(), ValidationError> {
    if coin.is_coinbase {
        let confirmations = spend_height.saturating_sub(coin.height);
        if confirmations < params.coinbase_maturity {
            return Err(ValidationError::PrematureCoinbaseSpend {
                outpoint: *outpoint,
                confirmations,
                required: params.coinbase_maturity,
            });
        }
    }
    Ok(())
}

/// Inputs must cover outputs; returns the fee.
pub fn check_value_balance(tx: &Transaction, coins: &[Coin]) -> Result<Amount, ValidationError> {
    let inputs = Amount::checked_sum(coins.iter().map(|c| c.output.value))
        .ok_or(ValidationError::InputValuesOutOfRange { txid: tx.txid() })?;
    let outputs = tx
        .total_out()
        .ok_or(ValidationError::OutputTotalTooLarge { txid: tx.txid() })?;
    inputs
        .checked_sub(outputs)
        .ok_or(ValidationError::InputsBelowOutputs {
            txid: tx.txid(),
            inputs,
            outputs,
        })
}

/// Finds every input of a non-coinbase `tx` in `view`, checks maturity at `spend_height`
/// and the value balance. Signatures are checked separately ([`check_signatures`]) so the
/// node can spread them over cores.
pub fn check_tx_inputs(
    tx: &Transaction,
    view: &impl UtxoView,
    spend_height: u32,
    params: &Params,
) -> Result<SpentInputs, ValidationError> {
    let mut coins = Vec::with_capacity(tx.inputs.len());
    for input in &tx.inputs {
        let coin = view
            .coin(&input.prevout)
            .ok_or(ValidationError::MissingOrSpent {
                outpoint: input.prevout,
            })?;
        check_coinbase_maturity(&input.prevout, &coin, spend_height, params)?;
        coins.push(coin);
    }
    let fee = check_value_balance(tx, &coins)?;
    Ok(SpentInputs { fee, coins })
}

/// Every input must carry a valid BIP340 signature, by the key of the output it spends,
/// over the input's signature hash.
pub fn check_signatures(tx: &Transaction, spent: &[TxOut]) -> Result<(), ValidationError> {
    if let Some(input) = tx.inputs.get(spent.len()) {
        // An input without a known spent output cannot be signed for.
        return Err(ValidationError::MissingOrSpent {
            outpoint: input.prevout,
        });
    }
    let cache = SighashCache::new(tx, &spent[..tx.inputs.len()])
        .expect("one spent output per input, checked above");
    for (index, (input, out)) in tx.inputs.iter().zip(spent).enumerate() {
        let sighash = cache
            .sighash(index)
            .expect("index < inputs, checked by the cache");
        verify_signature(&sighash, &input.witness, &out.pubkey).map_err(|source| {
            ValidationError::BadSignature {
                txid: tx.txid(),
                index,
                source,
            }
        })?;
    }
    Ok(())
}

/// Everything a transaction entering the mempool must pass: context-free rules, inputs
/// against `view`, and signatures. Returns the fee and spent coins.
pub fn check_transaction_full(
    tx: &Transaction,
    view: &impl UtxoView,
    spend_height: u32,
    params: &Params,
) -> Result<SpentInputs, ValidationError> {
    check_transaction(tx)?;
    let spent = check_tx_inputs(tx, view, spend_height, params)?;
    check_signatures(tx, &spent.outputs())?;
    Ok(spent)
}
