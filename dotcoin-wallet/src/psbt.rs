//! The wallet's PSBT roles: the updater (what it knows of its own inputs and change) and
//! the signer. The container itself is `dotcoin_common::psbt`.
//!
//! The signer checks what it signs: it signs only when every input's spent output is in
//! the PSBT (the signature hash commits to all of them, so a PSBT cannot lie about the
//! amounts spent), and only inputs whose spent output is locked to one of its keys. It
//! never touches an input that is already final.

use dotcoin_common::psbt::Psbt;
use dotcoin_common::{Address, PubKey};

use crate::error::WalletError;
use crate::wallet::Wallet;

fn is_ours(wallet: &Wallet, key: &PubKey) -> bool {
    wallet
        .record(&Address::new(wallet.network(), *key).to_string())
        .is_some()
}

/// The updater: marks the wallet's own keys (inputs it can sign, change outputs) with
/// their internal key. dotcoin's outputs lock to the key as is (Core's `rawtr()`), so the
/// internal key is the output key. Returns how many maps it filled.
pub fn update(wallet: &Wallet, psbt: &mut Psbt) -> usize {
    let mut filled = 0;
    for input in &mut psbt.inputs {
        if let Some(utxo) = input.witness_utxo {
            if input.tap_internal_key.is_none()
                && input.final_script_witness.is_none()
                && is_ours(wallet, &utxo.pubkey)
            {
                input.tap_internal_key = Some(utxo.pubkey);
                filled += 1;
            }
        }
    }
    for (output, txout) in psbt.outputs.iter_mut().zip(&psbt.tx.outputs) {
        if output.tap_internal_key.is_none() && is_ours(wallet, &txout.pubkey) {
            output.tap_internal_key = Some(txout.pubkey);
            filled += 1;
        }
    }
    filled
}

/// What the signer did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signed {
    /// Inputs signed now.
    pub signed: usize,
    /// Whether every input now has a signature or a final witness.
    pub all_signed: bool,
}

/// The signer: a key-path signature on every non-final input spending one of the
/// wallet's keys. Needs the spent output of every input; fails if the wallet is locked.
pub fn sign(wallet: &Wallet, psbt: &mut Psbt) -> Result<Signed, WalletError> {
    let Some(spent) = psbt.spent_outputs() else {
        return Ok(Signed {
            signed: 0,
            all_signed: false,
        });
    };
    let wanted: Vec<usize> = (0..psbt.inputs.len())
        .filter(|&i| {
            psbt.inputs[i].final_script_witness.is_none() && is_ours(wallet, &spent[i].pubkey)
        })
        .collect();
    let mut signed = 0;
    if !wanted.is_empty() {
        let mut tx = psbt.tx.clone();
        wallet.sign_inputs(&mut tx, &spent)?;
        for i in wanted {
            let sig: [u8; 64] = tx.inputs[i]
                .witness
                .as_slice()
                .try_into()
                .map_err(|_| WalletError::Build(format!("input {i} was not signed")))?;
            psbt.inputs[i].tap_key_sig = Some(sig);
            psbt.inputs[i].tap_internal_key = Some(spent[i].pubkey);
            signed += 1;
        }
    }
    let all_signed = psbt
        .inputs
        .iter()
        .all(|i| i.final_script_witness.is_some() || i.tap_key_sig.is_some());
    Ok(Signed { signed, all_signed })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin_hashes::Hash;
    use dotcoin_common::consensus::tx::check_signatures;
    use dotcoin_common::{Amount, Network, OutPoint, Transaction, TxIn, TxOut, Txid};

    #[test]
    fn signs_its_inputs_and_the_finalized_transaction_verifies() {
        let mut wallet = Wallet::create(Network::Regtest, 3);
        let mine = wallet.new_address("").expect("address").pubkey;
        let theirs = PubKey([7; 32]);
        let tx = Transaction {
            version: 1,
            inputs: (0..2u8)
                .map(|n| TxIn {
                    prevout: OutPoint {
                        txid: Txid::from_byte_array([n + 1; 32]),
                        vout: 0,
                    },
                    witness: Vec::new(),
                })
                .collect(),
            outputs: vec![TxOut {
                value: Amount::from_sat(1_000),
                pubkey: theirs,
            }],
            lock_time: 0,
        };
        let mut psbt = Psbt::from_unsigned_tx(tx);
        // Without the spent outputs nothing is signed.
        let none = sign(&wallet, &mut psbt).expect("no error");
        assert_eq!(none.signed, 0);
        assert!(!none.all_signed);
        let spent = TxOut {
            value: Amount::from_sat(5_000),
            pubkey: mine,
        };
        psbt.inputs[0].witness_utxo = Some(spent);
        psbt.inputs[1].witness_utxo = Some(TxOut {
            value: Amount::from_sat(5_000),
            pubkey: theirs,
        });
        assert_eq!(update(&wallet, &mut psbt), 1);
        let done = sign(&wallet, &mut psbt).expect("signs");
        assert_eq!(done.signed, 1, "only the wallet's input");
        assert!(!done.all_signed);
        assert_eq!(psbt.input_signature_valid(0), Some(true));
        assert!(!psbt.finalize(), "input 1 is not signed");
        assert!(psbt.inputs[0].final_script_witness.is_some());
        assert!(psbt.inputs[0].tap_key_sig.is_none());

        // A one-input PSBT of our own: signed, finalized, extracted, and consensus agrees.
        let mut one = Psbt::from_unsigned_tx(Transaction {
            inputs: psbt.tx.inputs[..1].to_vec(),
            ..psbt.tx.clone()
        });
        one.inputs[0].witness_utxo = Some(spent);
        assert!(sign(&wallet, &mut one).expect("signs").all_signed);
        let round = Psbt::from_base64(&one.to_base64()).expect("round trip");
        let mut round = round;
        assert!(round.finalize());
        let signed = round.extract().expect("final");
        check_signatures(&signed, &[spent]).expect("valid signature");
        // A signature over other amounts does not verify: the finalizer refuses it.
        let mut lied = one.clone();
        lied.inputs[0].witness_utxo = Some(TxOut {
            value: Amount::from_sat(4_999),
            pubkey: mine,
        });
        assert!(!lied.finalize());
    }

    #[test]
    fn a_locked_wallet_cannot_sign() {
        let mut wallet = Wallet::create(Network::Regtest, 2);
        let mine = wallet.new_address("").expect("address").pubkey;
        wallet
            .encrypt(b"pw", crate::crypto::KdfParams::INSECURE_FAST)
            .expect("encrypt");
        wallet.lock();
        let mut psbt = Psbt::from_unsigned_tx(Transaction {
            version: 1,
            inputs: vec![TxIn {
                prevout: OutPoint {
                    txid: Txid::from_byte_array([1; 32]),
                    vout: 0,
                },
                witness: Vec::new(),
            }],
            outputs: vec![TxOut {
                value: Amount::from_sat(1),
                pubkey: mine,
            }],
            lock_time: 0,
        });
        psbt.inputs[0].witness_utxo = Some(TxOut {
            value: Amount::from_sat(5),
            pubkey: mine,
        });
        assert!(matches!(
            sign(&wallet, &mut psbt),
            Err(WalletError::PassphraseNeeded { .. })
        ));
    }
}
