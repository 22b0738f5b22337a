//! What a signature commits to, and BIP340 Schnorr helpers.
//!
//! The signature hash is a tagged SHA-256 (`DotcoinSighash`) of the transaction without
//! witnesses, the index of the input being signed, and the value and key of every output
//! the transaction spends. Committing to all spent amounts means an offline signer cannot
//! be lied to about how much it is spending (the lesson of BIP341).

use std::sync::OnceLock;

use bitcoin_hashes::{sha256, Hash, HashEngine};
use secp256k1::{schnorr, Message, Secp256k1, VerifyOnly, XOnlyPublicKey};
use thiserror::Error;

use crate::encode::{write_compact_size, Encodable};
use crate::primitives::{PubKey, Transaction, TxOut};

const SIGHASH_TAG: &[u8] = b"DotcoinSighash";

/// The 32-byte message an input's signature signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sighash(pub [u8; 32]);

/// Why a signature hash could not be computed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SighashError {
    /// The input index is past the end of the inputs.
    #[error("input index {index} out of range for {inputs} inputs")]
    IndexOutOfRange {
        /// Requested index.
        index: usize,
        /// Number of inputs.
        inputs: usize,
    },
    /// A spent output must be given for every input.
    #[error("{given} spent outputs given for {inputs} inputs")]
    SpentCountMismatch {
        /// Spent outputs given.
        given: usize,
        /// Number of inputs.
        inputs: usize,
    },
}

/// Why a signature does not verify.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SignatureError {
    /// A witness must be exactly a 64-byte signature.
    #[error("witness is {0} bytes, a signature is 64")]
    BadLength(usize),
    /// The output's key is not a valid x-only point.
    #[error("output key {0} is not a valid x-only public key")]
    InvalidPubKey(PubKey),
    /// The signature does not match the key and message.
    #[error("signature does not verify against key {0}")]
    Invalid(PubKey),
}

/// Precomputed per-transaction data so signing or verifying many inputs encodes the
/// transaction only once.
#[derive(Clone)]
pub struct SighashCache {
    engine: sha256::HashEngine,
    inputs: usize,
    spent_bytes: Vec<u8>,
}

impl SighashCache {
    /// Prepares to hash inputs of `tx`, which spends `spent` (one output per input).
    pub fn new(tx: &Transaction, spent: &[TxOut]) -> Result<SighashCache, SighashError> {
        if spent.len() != tx.inputs.len() {
            return Err(SighashError::SpentCountMismatch {
                given: spent.len(),
                inputs: tx.inputs.len(),
            });
        }
        let tag = sha256::Hash::hash(SIGHASH_TAG);
        let mut engine = sha256::Hash::engine();
        engine.input(tag.as_byte_array());
        engine.input(tag.as_byte_array());
        let mut buf = Vec::with_capacity(tx.size());
        tx.encode_without_witness(&mut buf);
        engine.input(&buf);
        let mut spent_bytes = Vec::with_capacity(9 + 40 * spent.len());
        write_compact_size(&mut spent_bytes, spent.len() as u64);
        for out in spent {
            out.consensus_encode(&mut spent_bytes);
        }
        Ok(SighashCache {
            engine,
            inputs: tx.inputs.len(),
            spent_bytes,
        })
    }

    /// The signature hash of input `index`.
    pub fn sighash(&self, index: usize) -> Result<Sighash, SighashError> {
        if index >= self.inputs {
            return Err(SighashError::IndexOutOfRange {
                index,
                inputs: self.inputs,
            });
        }
        let mut engine = self.engine.clone();
        engine.input(&(index as u32).to_le_bytes());
        engine.input(&self.spent_bytes);
        Ok(Sighash(sha256::Hash::from_engine(engine).to_byte_array()))
    }
}

impl std::fmt::Debug for SighashCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SighashCache")
            .field("inputs", &self.inputs)
            .finish_non_exhaustive()
    }
}

/// The signature hash of input `index` of `tx`, which spends `spent`.
pub fn signature_hash(
    tx: &Transaction,
    index: usize,
    spent: &[TxOut],
) -> Result<Sighash, SighashError> {
    SighashCache::new(tx, spent)?.sighash(index)
}

fn verify_context() -> &'static Secp256k1<VerifyOnly> {
    static CTX: OnceLock<Secp256k1<VerifyOnly>> = OnceLock::new();
    CTX.get_or_init(Secp256k1::verification_only)
}

/// Checks a BIP340 signature (`witness`) over `sighash` against `pubkey`.
pub fn verify_signature(
    sighash: &Sighash,
    witness: &[u8],
    pubkey: &PubKey,
) -> Result<(), SignatureError> {
    let sig = schnorr::Signature::from_slice(witness)
        .map_err(|_| SignatureError::BadLength(witness.len()))?;
    let key = XOnlyPublicKey::from_slice(&pubkey.0)
        .map_err(|_| SignatureError::InvalidPubKey(*pubkey))?;
    verify_context()
        .verify_schnorr(&sig, &Message::from_digest(sighash.0), &key)
        .map_err(|_| SignatureError::Invalid(*pubkey))
}

/// Key generation and signing. Only the wallet and tests enable this; the node verifies.
#[cfg(feature = "signing")]
pub mod signing {
    use super::*;
    use secp256k1::{All, Keypair, SecretKey};

    fn context() -> &'static Secp256k1<All> {
        static CTX: OnceLock<Secp256k1<All>> = OnceLock::new();
        CTX.get_or_init(Secp256k1::new)
    }

    /// A fresh random key pair.
    pub fn generate_keypair() -> Keypair {
        Keypair::new(context(), &mut rand::thread_rng())
    }

    /// The key pair of a 32-byte secret key.
    pub fn keypair_from_secret(secret: &[u8; 32]) -> Result<Keypair, secp256k1::Error> {
        Ok(Keypair::from_secret_key(
            context(),
            &SecretKey::from_slice(secret)?,
        ))
    }

    /// The x-only public key outputs are locked to.
    pub fn pubkey_of(keypair: &Keypair) -> PubKey {
        PubKey(keypair.x_only_public_key().0.serialize())
    }

    /// A BIP340 signature over `sighash`, with fresh auxiliary randomness.
    pub fn sign(sighash: &Sighash, keypair: &Keypair) -> [u8; 64] {
        let aux: [u8; 32] = rand::random();
        context()
            .sign_schnorr_with_aux_rand(&Message::from_digest(sighash.0), keypair, &aux)
            .serialize()
    }

    /// Signs every input of `tx` whose spent output is locked to one of `keys`.
    /// Returns how many inputs were signed.
    pub fn sign_transaction(
        tx: &mut Transaction,
        spent: &[TxOut],
        keys: &[Keypair],
    ) -> Result<usize, SighashError> {
        let cache = SighashCache::new(tx, spent)?;
        let mut signed = 0;
        for (index, out) in spent.iter().enumerate() {
            if let Some(key) = keys.iter().find(|k| pubkey_of(k) == out.pubkey) {
                tx.inputs[index].witness = sign(&cache.sighash(index)?, key).to_vec();
                signed += 1;
            }
        }
        Ok(signed)
    }
}
