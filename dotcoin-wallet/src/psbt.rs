//! The wallet's PSBT roles: the updater (what it knows of its own inputs and change) and
//! the signer. The container itself is `dotcoin_common::psbt`.
//!
//! The signer checks what it signs: it signs only when every input's spent output is in
//! the PSBT (the signature hash commits to all of them, so a PSBT cannot lie about the
//! amounts spent), and only inputs whose spent output is locked to one of its keys. It
//! never touches an input that is already final.

use bitcoin::bip32::{ChildNumber, DerivationPath, Fingerprint};
use dotcoin_common::psbt::{KeySource, Psbt, TapDerivation};
use dotcoin_common::sighash::signing::pubkey_of;
use dotcoin_common::{Address, PubKey};
use secp256k1::Keypair;

use crate::error::WalletError;
use crate::wallet::Wallet;

fn is_ours(wallet: &Wallet, key: &PubKey) -> bool {
    wallet
        .record(&Address::new(wallet.network(), *key).to_string())
        .is_some()
}

/// The internal key of one of the wallet's output keys and, for a key of an extended
/// key, its BIP371 derivation (master fingerprint and full path). A random key (or a
/// `rawtr()` one) is its own internal key.
fn internal_of(wallet: &Wallet, key: &PubKey) -> (PubKey, Option<(PubKey, TapDerivation)>) {
    match wallet.key_origin_of(key) {
        Some((internal, fp, path)) => (
            internal,
            Some((
                internal,
                TapDerivation {
                    leaf_hashes: Vec::new(),
                    source: KeySource {
                        fingerprint: fp.to_bytes(),
                        path: path.into_iter().map(|c| u32::from(*c)).collect(),
                    },
                },
            )),
        ),
        None => (*key, None),
    }
}

/// The updater: marks the wallet's own keys (inputs it can sign, change outputs) with
/// their internal key and, for keys of a seed or an xpub, their BIP32 origin
/// (`PSBT_IN_TAP_BIP32_DERIVATION`), so an offline signer holding the seed finds the key.
/// Returns how many maps it filled.
pub fn update(wallet: &Wallet, psbt: &mut Psbt) -> usize {
    let mut filled = 0;
    for input in &mut psbt.inputs {
        if let Some(utxo) = input.witness_utxo {
            if input.tap_internal_key.is_none()
                && input.final_script_witness.is_none()
                && is_ours(wallet, &utxo.pubkey)
            {
                let (internal, derivation) = internal_of(wallet, &utxo.pubkey);
                input.tap_internal_key = Some(internal);
                if let Some((k, d)) = derivation {
                    input.tap_bip32_derivation.insert(k, d);
                }
                filled += 1;
            }
        }
    }
    for (output, txout) in psbt.outputs.iter_mut().zip(&psbt.tx.outputs) {
        if output.tap_internal_key.is_none() && is_ours(wallet, &txout.pubkey) {
            let (internal, derivation) = internal_of(wallet, &txout.pubkey);
            output.tap_internal_key = Some(internal);
            if let Some((k, d)) = derivation {
                output.tap_bip32_derivation.insert(k, d);
            }
            filled += 1;
        }
    }
    filled
}

/// The key pair that signs input `i` found by the input's BIP32 derivations: a held
/// master (or xprv) derives the internal key they name, and its `tr()` tweak (or the key
/// itself, for `rawtr()`) must be the spent output's key.
fn key_by_origin(
    signer: &crate::hd::HdSigner,
    derivations: &std::collections::BTreeMap<PubKey, TapDerivation>,
    spent_key: &PubKey,
) -> Option<Keypair> {
    derivations.iter().find_map(|(internal, d)| {
        let path = DerivationPath::from(
            d.source
                .path
                .iter()
                .map(|&n| ChildNumber::from(n))
                .collect::<Vec<_>>(),
        );
        let key = signer.key_for(Fingerprint::from(d.source.fingerprint), &path)?;
        if pubkey_of(&key) != *internal {
            return None;
        }
        let tweaked = crate::hd::tweaked(&key);
        if pubkey_of(&tweaked) == *spent_key {
            Some(tweaked)
        } else if pubkey_of(&key) == *spent_key {
            Some(key)
        } else {
            None
        }
    })
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
    if !wallet.private_keys_enabled() {
        // A watch-only wallet signs nothing: the PSBT goes on to the offline signer.
        return Ok(Signed {
            signed: 0,
            all_signed: psbt
                .inputs
                .iter()
                .all(|i| i.final_script_witness.is_some() || i.tap_key_sig.is_some()),
        });
    }
    let Some(spent) = psbt.spent_outputs() else {
        return Ok(Signed {
            signed: 0,
            all_signed: false,
        });
    };
    let mut wanted: Vec<usize> = (0..psbt.inputs.len())
        .filter(|&i| {
            psbt.inputs[i].final_script_witness.is_none() && is_ours(wallet, &spent[i].pubkey)
        })
        .collect();
    // Inputs the wallet has no record of but whose BIP32 origin its seed derives: keys
    // further along a chain than this copy of the wallet has handed out.
    let mut by_origin = Vec::new();
    let mut signer = None;
    for (i, (input, spent_out)) in psbt.inputs.iter().zip(&spent).enumerate() {
        if input.final_script_witness.is_some()
            || wanted.contains(&i)
            || input.tap_bip32_derivation.is_empty()
        {
            continue;
        }
        if signer.is_none() {
            signer = Some(wallet.hd_signer()?);
        }
        let s = signer.as_ref().expect("just set");
        if let Some(key) = key_by_origin(s, &input.tap_bip32_derivation, &spent_out.pubkey) {
            by_origin.push(key);
            wanted.push(i);
        }
    }
    let mut signed = 0;
    if !wanted.is_empty() {
        let mut tx = psbt.tx.clone();
        wallet.sign_inputs(&mut tx, &spent)?;
        if !by_origin.is_empty() {
            dotcoin_common::sighash::signing::sign_transaction(&mut tx, &spent, &by_origin)
                .map_err(|e| WalletError::Build(e.to_string()))?;
        }
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
