//! Transaction building: outputs, change and fee for chosen coins, then signing. Pure.
//!
//! The fee is the fee rate times the size of the *signed* transaction: the builder signs,
//! measures `Transaction::size()`, and if the fee it paid differs from what that size
//! requires (it cannot with today's fixed-size signatures, but the loop does not rely on
//! it) recomputes the change and signs again. Change below the dust threshold is dropped
//! and goes to the fee.

use dotcoin_common::sighash::signing::sign_transaction;
use dotcoin_common::{Amount, FeeRate, PubKey, Transaction, TxIn, TxOut};
use secp256k1::Keypair;

use crate::coinselect::{signed_tx_size, Coin, DUST_THRESHOLD};
use crate::error::WalletError;

/// One payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Payment {
    /// The recipient's key.
    pub pubkey: PubKey,
    /// How much.
    pub amount: Amount,
}

/// A signed transaction and what it pays.
#[derive(Debug, Clone)]
pub struct Built {
    /// The signed transaction; payments first, in order, then the change output if any.
    pub tx: Transaction,
    /// Inputs minus outputs.
    pub fee: Amount,
    /// The change output's value, if there is one.
    pub change: Option<Amount>,
}

fn sat(a: Amount) -> i128 {
    i128::from(a.to_sat())
}

fn amount(v: i128) -> Amount {
    Amount::from_sat(u64::try_from(v).expect("non-negative amount within u64"))
}

/// Builds and signs a transaction spending `coins` to `payments`, change to
/// `change_pubkey`, at `fee_rate`. With `subtract_fee`, the fee comes out
/// of the first payment and everything else over the payments is change.
pub fn build_and_sign(
    coins: &[Coin],
    payments: &[Payment],
    change_pubkey: PubKey,
    fee_rate: FeeRate,
    subtract_fee: bool,
    keys: &[Keypair],
) -> Result<Built, WalletError> {
    build_with(
        coins,
        payments,
        change_pubkey,
        fee_rate,
        subtract_fee,
        &mut |tx, spent| {
            let signed =
                sign_transaction(tx, spent, keys).map_err(|e| WalletError::Build(e.to_string()))?;
            if signed != tx.inputs.len() {
                return Err(WalletError::Build(format!(
                    "signed {signed} of {} inputs: a key is missing",
                    tx.inputs.len()
                )));
            }
            Ok(())
        },
    )
}

/// Builds an unsigned transaction as [`build_and_sign`] would sign it: the fee is for
/// the signed size (each input's 64-byte signature counted), every witness left empty,
/// for a PSBT's signer to fill.
pub fn build_unsigned(
    coins: &[Coin],
    payments: &[Payment],
    change_pubkey: PubKey,
    fee_rate: FeeRate,
    subtract_fee: bool,
) -> Result<Built, WalletError> {
    let mut built = build_with(
        coins,
        payments,
        change_pubkey,
        fee_rate,
        subtract_fee,
        // 64 zero bytes where each signature will go: the size, not the bytes, sets the fee.
        &mut |tx, _| {
            for input in &mut tx.inputs {
                input.witness = vec![0; 64];
            }
            Ok(())
        },
    )?;
    for input in &mut built.tx.inputs {
        input.witness.clear();
    }
    Ok(built)
}

/// What fills a candidate transaction's witnesses, given the outputs it spends.
type Signer<'a> = dyn FnMut(&mut Transaction, &[TxOut]) -> Result<(), WalletError> + 'a;

/// The one build loop: `sign` fills the witnesses of a candidate transaction (given the
/// spent outputs), whose signed size then sets the fee.
fn build_with(
    coins: &[Coin],
    payments: &[Payment],
    change_pubkey: PubKey,
    fee_rate: FeeRate,
    subtract_fee: bool,
    sign: &mut Signer<'_>,
) -> Result<Built, WalletError> {
    if payments.is_empty() || coins.is_empty() {
        return Err(WalletError::Build("no payments or no coins".into()));
    }
    let fee_of = |size: u64| i128::from(fee_rate.fee_for(size as usize).to_sat());
    let total_in: i128 = coins.iter().map(|c| sat(c.output.value)).sum();
    let paid: i128 = payments.iter().map(|p| sat(p.amount)).sum();
    let spent: Vec<TxOut> = coins.iter().map(|c| c.output).collect();
    let dust = sat(DUST_THRESHOLD);
    let size_fee = |outputs: usize| fee_of(signed_tx_size(coins.len(), outputs));

    // First guess from the exact size model; the loop below checks it against the signed
    // transaction.
    let mut fee = {
        let with_change = size_fee(payments.len() + 1);
        let change = if subtract_fee {
            total_in - paid
        } else {
            total_in - paid - with_change
        };
        if change >= dust {
            with_change
        } else {
            size_fee(payments.len())
        }
    };
    for _ in 0..4 {
        let mut outputs: Vec<TxOut> = payments
            .iter()
            .map(|p| TxOut {
                value: p.amount,
                pubkey: p.pubkey,
            })
            .collect();
        let change = if subtract_fee {
            let first = sat(payments[0].amount) - fee;
            if first < dust {
                return Err(WalletError::AmountTooSmallForFee {
                    amount: payments[0].amount,
                    fee: amount(fee),
                });
            }
            outputs[0].value = amount(first);
            total_in - paid
        } else {
            total_in - paid - fee
        };
        if change < 0 {
            let balance = amount(total_in);
            return Err(WalletError::InsufficientFundsForFee {
                amount: amount(paid),
                fee: amount(fee),
                balance,
            });
        }
        let change_out = (change >= dust).then(|| amount(change));
        if let Some(value) = change_out {
            outputs.push(TxOut {
                value,
                pubkey: change_pubkey,
            });
        }
        let mut tx = Transaction {
            version: 1,
            inputs: coins
                .iter()
                .map(|c| TxIn {
                    prevout: c.outpoint,
                    witness: Vec::new(),
                })
                .collect(),
            outputs,
            lock_time: 0,
        };
        sign(&mut tx, &spent)?;
        let required = fee_of(tx.size() as u64);
        let out_total: i128 = tx.outputs.iter().map(|o| sat(o.value)).sum();
        let actual = total_in - out_total;
        // Done when the fee covers the signed size, and is not more than needed unless
        // the surplus is dust nobody could receive.
        if actual >= required && (change_out.is_none() || actual == required) {
            return Ok(Built {
                tx,
                fee: amount(actual),
                change: change_out,
            });
        }
        fee = required;
    }
    Err(WalletError::Build("fee did not converge".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin_hashes::Hash;
    use dotcoin_common::sighash::signing::{generate_keypair, pubkey_of};
    use dotcoin_common::{OutPoint, Txid};

    #[test]
    fn fee_is_rate_times_signed_size() {
        let key = generate_keypair();
        let coins: Vec<Coin> = (0..3u8)
            .map(|n| Coin {
                outpoint: OutPoint {
                    txid: Txid::from_byte_array([n; 32]),
                    vout: 1,
                },
                output: TxOut {
                    value: Amount::from_sat(1_000_000),
                    pubkey: pubkey_of(&key),
                },
            })
            .collect();
        let to = Payment {
            pubkey: PubKey([9; 32]),
            amount: Amount::from_sat(2_500_000),
        };
        for rate in [1, 2, 7] {
            let built = build_and_sign(
                &coins,
                &[to],
                PubKey([8; 32]),
                FeeRate::from_sat_per_vb(rate),
                false,
                &[key],
            )
            .expect("builds");
            assert_eq!(built.fee.to_sat(), rate * built.tx.size() as u64);
            assert_eq!(built.tx.size() as u64, signed_tx_size(3, 2));
            assert!(built.tx.inputs.iter().all(|i| i.witness.len() == 64));
        }
    }

    #[test]
    fn missing_key_is_an_error() {
        let coins = vec![Coin {
            outpoint: OutPoint {
                txid: Txid::from_byte_array([1; 32]),
                vout: 0,
            },
            output: TxOut {
                value: Amount::from_sat(1_000_000),
                pubkey: PubKey([1; 32]),
            },
        }];
        let to = Payment {
            pubkey: PubKey([9; 32]),
            amount: Amount::from_sat(5_000),
        };
        let err = build_and_sign(
            &coins,
            &[to],
            PubKey([8; 32]),
            FeeRate::from_sat_per_vb(1),
            false,
            &[generate_keypair()],
        )
        .expect_err("no key");
        assert_eq!(
            err.to_string(),
            "cannot build transaction: signed 0 of 1 inputs: a key is missing"
        );
    }
}
