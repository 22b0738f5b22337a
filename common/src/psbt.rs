//! Partially signed transactions: BIP174's container (version 0) with BIP371's taproot
//! key-path fields, for dotcoin's transactions.
//!
//! This module owns the binary format, its strict parser and the roles that need no key:
//! combiner ([`Psbt::combine`]), finalizer ([`Psbt::finalize`]), extractor
//! ([`Psbt::extract`]) and the analysis `analyzepsbt` prints ([`Psbt::next_role`]). The
//! signer lives with the keys (the wallet); the updater is whoever knows the spent outputs.
//!
//! What is adapted from Bitcoin:
//! - the global unsigned transaction is dotcoin's consensus encoding with every witness
//!   empty (dotcoin has no scriptSig; a witness is one byte string);
//! - `PSBT_IN_WITNESS_UTXO` holds the spent output in dotcoin's encoding (value, 32-byte
//!   key), and the signature hash needs it for *every* input, as BIP341's does;
//! - `PSBT_IN_TAP_KEY_SIG` is exactly 64 bytes: dotcoin has one signature hash type, so
//!   BIP371's optional 65th (sighash type) byte is refused;
//! - `PSBT_IN_FINAL_SCRIPTWITNESS` holds the input's witness bytes as they go in the
//!   transaction.
//!
//! Every other key (global xpubs, non-witness UTXOs, proprietary `0xFC` keys, types not
//! known here) is kept as an unknown pair and written back byte for byte, sorted by key as
//! Core writes them. The parser trusts no length: each is checked against the bytes left,
//! the whole PSBT is capped at [`MAX_PSBT_SIZE`] and keys at [`MAX_KEY_SIZE`]; errors use
//! Core's texts (`decodepsbt` prefixes them with "TX decode failed ").

use std::collections::BTreeMap;

use base64::Engine;
use thiserror::Error;

use crate::encode::{read_compact_size, write_compact_size, DecodeError, Reader};
use crate::primitives::{Amount, PubKey, Transaction, TxOut};
use crate::{deserialize, serialize};

/// The five bytes every PSBT starts with: "psbt" and 0xff.
pub const PSBT_MAGIC: [u8; 5] = *b"psbt\xff";
/// The largest PSBT accepted, in bytes (decoded): a transaction of the largest block
/// with its spent outputs and signatures fits several times over.
pub const MAX_PSBT_SIZE: usize = 4_000_000;
/// The largest key of a key-value pair accepted (type byte included).
pub const MAX_KEY_SIZE: usize = 4_096;
/// The highest PSBT version understood.
pub const PSBT_HIGHEST_VERSION: u32 = 0;

/// Global key types.
pub const PSBT_GLOBAL_UNSIGNED_TX: u8 = 0x00;
/// Global: the PSBT version.
pub const PSBT_GLOBAL_VERSION: u8 = 0xFB;
/// Any map: a proprietary pair.
pub const PSBT_PROPRIETARY: u8 = 0xFC;
/// Input: the spent output.
pub const PSBT_IN_WITNESS_UTXO: u8 = 0x01;
/// Input: the finished witness.
pub const PSBT_IN_FINAL_SCRIPTWITNESS: u8 = 0x08;
/// Input: the key-path signature (BIP371).
pub const PSBT_IN_TAP_KEY_SIG: u8 = 0x13;
/// Input: a key's origin (BIP371).
pub const PSBT_IN_TAP_BIP32_DERIVATION: u8 = 0x16;
/// Input: the internal key (BIP371).
pub const PSBT_IN_TAP_INTERNAL_KEY: u8 = 0x17;
/// Output: the internal key (BIP371).
pub const PSBT_OUT_TAP_INTERNAL_KEY: u8 = 0x05;
/// Output: a key's origin (BIP371).
pub const PSBT_OUT_TAP_BIP32_DERIVATION: u8 = 0x07;

/// Why bytes are not a PSBT, in Core's words.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PsbtError {
    /// Not base64.
    #[error("Invalid base64 PSBT: {0}")]
    Base64(String),
    /// Larger than [`MAX_PSBT_SIZE`].
    #[error("PSBT of {0} bytes is larger than the {MAX_PSBT_SIZE} allowed")]
    TooLarge(usize),
    /// The first five bytes are not [`PSBT_MAGIC`].
    #[error("Invalid PSBT magic bytes")]
    Magic,
    /// A length or field ran past the end, or a value did not fill its stated size.
    #[error("{0}")]
    Decode(String),
    /// A key appears twice in one map.
    #[error("Duplicate Key, {map} key \"{key}\" already provided")]
    DuplicateKey {
        /// "global", "input" or "output".
        map: &'static str,
        /// The key, hex.
        key: String,
    },
    /// A known type's key had extra or missing key data.
    #[error("Size of key was not the expected size for the type {0}")]
    KeySize(&'static str),
    /// A key longer than [`MAX_KEY_SIZE`].
    #[error("Key of {0} bytes is longer than the {MAX_KEY_SIZE} allowed")]
    KeyTooLong(usize),
    /// A known type's value had the wrong length or shape.
    #[error("{0}")]
    Value(String),
    /// A map did not end with its 0x00 separator.
    #[error("Separator is missing at the end of {0}")]
    MissingSeparator(&'static str),
    /// The global map had no unsigned transaction.
    #[error("No unsigned transaction was provided")]
    NoTx,
    /// The unsigned transaction carried witnesses.
    #[error("Unsigned tx does not have empty scriptSigs and scriptWitnesses.")]
    SignedTx,
    /// A version above [`PSBT_HIGHEST_VERSION`].
    #[error("Unsupported version number")]
    Version,
    /// Fewer input maps than inputs.
    #[error("Inputs provided does not match the number of inputs in transaction.")]
    InputCount,
    /// Fewer output maps than outputs.
    #[error("Outputs provided does not match the number of outputs in transaction.")]
    OutputCount,
    /// Bytes after the last output map.
    #[error("extra data after PSBT")]
    TrailingData,
}

impl From<DecodeError> for PsbtError {
    fn from(e: DecodeError) -> Self {
        PsbtError::Decode(e.to_string())
    }
}

/// Where a key came from: the master key's fingerprint and the derivation path.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeySource {
    /// The first four bytes of the master key's hash160.
    pub fingerprint: [u8; 4],
    /// The BIP32 path, hardened steps with the top bit set.
    pub path: Vec<u32>,
}

impl KeySource {
    /// The path as Core prints it: `m/86'/1'/0'/0/5`.
    pub fn path_string(&self) -> String {
        let mut s = String::from("m");
        for step in &self.path {
            if step & 0x8000_0000 != 0 {
                s.push_str(&format!("/{}'", step & 0x7fff_ffff));
            } else {
                s.push_str(&format!("/{step}"));
            }
        }
        s
    }
}

/// BIP371's taproot derivation value: leaf hashes (none for a key-path key) and origin.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TapDerivation {
    /// The script leaves the key appears in.
    pub leaf_hashes: Vec<[u8; 32]>,
    /// Where the key came from.
    pub source: KeySource,
}

/// One input's map.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PsbtInput {
    /// The output this input spends.
    pub witness_utxo: Option<TxOut>,
    /// The finished witness.
    pub final_script_witness: Option<Vec<u8>>,
    /// The key-path signature.
    pub tap_key_sig: Option<[u8; 64]>,
    /// Origins of keys, by x-only key.
    pub tap_bip32_derivation: BTreeMap<PubKey, TapDerivation>,
    /// The internal key.
    pub tap_internal_key: Option<PubKey>,
    /// Every other pair, key (type byte first) to value.
    pub unknown: BTreeMap<Vec<u8>, Vec<u8>>,
}

/// One output's map.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PsbtOutput {
    /// The internal key.
    pub tap_internal_key: Option<PubKey>,
    /// Origins of keys, by x-only key.
    pub tap_bip32_derivation: BTreeMap<PubKey, TapDerivation>,
    /// Every other pair.
    pub unknown: BTreeMap<Vec<u8>, Vec<u8>>,
}

/// A partially signed transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Psbt {
    /// The transaction, every witness empty.
    pub tx: Transaction,
    /// `PSBT_GLOBAL_VERSION` if the PSBT carried one (always 0 here).
    pub version: Option<u32>,
    /// Every other global pair.
    pub unknown: BTreeMap<Vec<u8>, Vec<u8>>,
    /// One map per input.
    pub inputs: Vec<PsbtInput>,
    /// One map per output.
    pub outputs: Vec<PsbtOutput>,
}

/// BIP174's roles, as `analyzepsbt` names the next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Someone must add inputs or outputs.
    Creator,
    /// Someone must add the spent outputs.
    Updater,
    /// Someone must sign.
    Signer,
    /// Someone must finalize.
    Finalizer,
    /// Ready to extract.
    Extractor,
}

impl Role {
    /// Core's lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Role::Creator => "creator",
            Role::Updater => "updater",
            Role::Signer => "signer",
            Role::Finalizer => "finalizer",
            Role::Extractor => "extractor",
        }
    }
}

/// Why two PSBTs cannot be combined.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CombineError {
    /// Nothing to combine.
    #[error("Parameter 'txs' cannot be empty")]
    Empty,
    /// The PSBTs are of different transactions.
    #[error("PSBTs not compatible (different transactions)")]
    Different,
}

fn write_pair(out: &mut Vec<u8>, key: &[u8], value: &[u8]) {
    write_compact_size(out, key.len() as u64);
    out.extend_from_slice(key);
    write_compact_size(out, value.len() as u64);
    out.extend_from_slice(value);
}

fn key_with(ty: u8, data: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(1 + data.len());
    key.push(ty);
    key.extend_from_slice(data);
    key
}

fn encode_derivation(d: &TapDerivation) -> Vec<u8> {
    let mut v = Vec::with_capacity(9 + 32 * d.leaf_hashes.len() + 4 + 4 * d.source.path.len());
    write_compact_size(&mut v, d.leaf_hashes.len() as u64);
    for h in &d.leaf_hashes {
        v.extend_from_slice(h);
    }
    v.extend_from_slice(&d.source.fingerprint);
    for step in &d.source.path {
        v.extend_from_slice(&step.to_le_bytes());
    }
    v
}

fn decode_derivation(value: &[u8], what: &'static str) -> Result<TapDerivation, PsbtError> {
    let mut r = Reader::new(value);
    let bad = || PsbtError::Value(format!("{what} has an invalid length"));
    let count = r.read_length(32).map_err(|_| bad())?;
    let mut leaf_hashes = Vec::with_capacity(count);
    for _ in 0..count {
        leaf_hashes.push(r.read_array::<32>().map_err(|_| bad())?);
    }
    // Key origin: a 4-byte fingerprint, then whole 4-byte path steps.
    if r.remaining() < 4 || !(r.remaining() - 4).is_multiple_of(4) {
        return Err(PsbtError::Value(format!(
            "Invalid length for HD key path in {what}"
        )));
    }
    let fingerprint = r.read_array::<4>().map_err(|_| bad())?;
    let mut path = Vec::with_capacity(r.remaining() / 4);
    while r.remaining() > 0 {
        path.push(u32::from_le_bytes(r.read_array::<4>().map_err(|_| bad())?));
    }
    Ok(TapDerivation {
        leaf_hashes,
        source: KeySource { fingerprint, path },
    })
}

fn xonly_key(key: &[u8], what: &'static str) -> Result<PubKey, PsbtError> {
    let bytes: [u8; 32] = key
        .get(1..)
        .and_then(|k| k.try_into().ok())
        .ok_or(PsbtError::KeySize(what))?;
    Ok(PubKey(bytes))
}

fn expect_key_size(key: &[u8], size: usize, what: &'static str) -> Result<(), PsbtError> {
    if key.len() != size {
        return Err(PsbtError::KeySize(what));
    }
    Ok(())
}

fn value_array<const N: usize>(value: &[u8], what: &str) -> Result<[u8; N], PsbtError> {
    value
        .try_into()
        .map_err(|_| PsbtError::Value(format!("{what} is {} bytes, {N} expected", value.len())))
}

/// Reads one map: pairs until the 0x00 separator. `each(key, value)` takes known types;
/// it returns `false` for a type it does not know, which goes to `unknown`.
fn read_map(
    r: &mut Reader<'_>,
    map: &'static str,
    separator: &'static str,
    unknown: &mut BTreeMap<Vec<u8>, Vec<u8>>,
    mut each: impl FnMut(&[u8], &[u8]) -> Result<bool, PsbtError>,
) -> Result<(), PsbtError> {
    let mut seen: std::collections::BTreeSet<Vec<u8>> = std::collections::BTreeSet::new();
    loop {
        if r.remaining() == 0 {
            return Err(PsbtError::MissingSeparator(separator));
        }
        let key_len = r.read_length(1)?;
        if key_len == 0 {
            return Ok(());
        }
        if key_len > MAX_KEY_SIZE {
            return Err(PsbtError::KeyTooLong(key_len));
        }
        let key = r.read_bytes(key_len)?;
        let value_len = r.read_length(1)?;
        let value = r.read_bytes(value_len)?;
        if !seen.insert(key.to_vec()) {
            return Err(PsbtError::DuplicateKey {
                map,
                key: hex::encode(key),
            });
        }
        if !each(key, value)? {
            unknown.insert(key.to_vec(), value.to_vec());
        }
    }
}

impl Psbt {
    /// A PSBT of `tx` (its witnesses dropped) with empty maps.
    pub fn from_unsigned_tx(mut tx: Transaction) -> Psbt {
        for input in &mut tx.inputs {
            input.witness.clear();
        }
        Psbt {
            inputs: vec![PsbtInput::default(); tx.inputs.len()],
            outputs: vec![PsbtOutput::default(); tx.outputs.len()],
            tx,
            version: None,
            unknown: BTreeMap::new(),
        }
    }

    /// The binary form.
    pub fn serialize(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256 + 150 * self.inputs.len());
        out.extend_from_slice(&PSBT_MAGIC);
        write_pair(&mut out, &[PSBT_GLOBAL_UNSIGNED_TX], &serialize(&self.tx));
        if let Some(v) = self.version {
            write_pair(&mut out, &[PSBT_GLOBAL_VERSION], &v.to_le_bytes());
        }
        for (k, v) in &self.unknown {
            write_pair(&mut out, k, v);
        }
        out.push(0);
        for input in &self.inputs {
            if let Some(utxo) = &input.witness_utxo {
                write_pair(&mut out, &[PSBT_IN_WITNESS_UTXO], &serialize(utxo));
            }
            if let Some(w) = &input.final_script_witness {
                write_pair(&mut out, &[PSBT_IN_FINAL_SCRIPTWITNESS], w);
            }
            if let Some(sig) = &input.tap_key_sig {
                write_pair(&mut out, &[PSBT_IN_TAP_KEY_SIG], sig);
            }
            for (key, d) in &input.tap_bip32_derivation {
                let k = key_with(PSBT_IN_TAP_BIP32_DERIVATION, &key.0);
                write_pair(&mut out, &k, &encode_derivation(d));
            }
            if let Some(key) = &input.tap_internal_key {
                write_pair(&mut out, &[PSBT_IN_TAP_INTERNAL_KEY], &key.0);
            }
            for (k, v) in &input.unknown {
                write_pair(&mut out, k, v);
            }
            out.push(0);
        }
        for output in &self.outputs {
            if let Some(key) = &output.tap_internal_key {
                write_pair(&mut out, &[PSBT_OUT_TAP_INTERNAL_KEY], &key.0);
            }
            for (key, d) in &output.tap_bip32_derivation {
                let k = key_with(PSBT_OUT_TAP_BIP32_DERIVATION, &key.0);
                write_pair(&mut out, &k, &encode_derivation(d));
            }
            for (k, v) in &output.unknown {
                write_pair(&mut out, k, v);
            }
            out.push(0);
        }
        out
    }

    /// The base64 form, as the RPCs carry it.
    pub fn to_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.serialize())
    }

    /// Parses the base64 form.
    pub fn from_base64(text: &str) -> Result<Psbt, PsbtError> {
        // Four base64 characters per three bytes: refuse before decoding anything huge.
        if text.len() / 4 * 3 > MAX_PSBT_SIZE {
            return Err(PsbtError::TooLarge(text.len() / 4 * 3));
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|e| PsbtError::Base64(e.to_string()))?;
        Psbt::deserialize(&bytes)
    }

    /// Parses the binary form (strictly: see the module docs).
    pub fn deserialize(bytes: &[u8]) -> Result<Psbt, PsbtError> {
        if bytes.len() > MAX_PSBT_SIZE {
            return Err(PsbtError::TooLarge(bytes.len()));
        }
        let mut r = Reader::new(bytes);
        if r.read_bytes(5).ok() != Some(&PSBT_MAGIC[..]) {
            return Err(PsbtError::Magic);
        }
        let mut tx: Option<Transaction> = None;
        let mut version = None;
        let mut unknown = BTreeMap::new();
        read_map(
            &mut r,
            "global",
            "the global map",
            &mut unknown,
            |key, value| {
                match key[0] {
                    PSBT_GLOBAL_UNSIGNED_TX => {
                        expect_key_size(key, 1, "Global Unsigned TX")?;
                        let t: Transaction = deserialize(value)?;
                        if t.inputs.iter().any(|i| !i.witness.is_empty()) {
                            return Err(PsbtError::SignedTx);
                        }
                        tx = Some(t);
                    }
                    PSBT_GLOBAL_VERSION => {
                        expect_key_size(key, 1, "Global PSBT Version")?;
                        let v = u32::from_le_bytes(value_array::<4>(value, "Global PSBT Version")?);
                        if v > PSBT_HIGHEST_VERSION {
                            return Err(PsbtError::Version);
                        }
                        version = Some(v);
                    }
                    _ => return Ok(false),
                }
                Ok(true)
            },
        )?;
        let tx = tx.ok_or(PsbtError::NoTx)?;
        let mut inputs = Vec::with_capacity(tx.inputs.len());
        for _ in 0..tx.inputs.len() {
            if r.remaining() == 0 {
                return Err(PsbtError::InputCount);
            }
            inputs.push(read_input(&mut r)?);
        }
        let mut outputs = Vec::with_capacity(tx.outputs.len());
        for _ in 0..tx.outputs.len() {
            if r.remaining() == 0 {
                return Err(PsbtError::OutputCount);
            }
            outputs.push(read_output(&mut r)?);
        }
        if r.remaining() != 0 {
            return Err(PsbtError::TrailingData);
        }
        Ok(Psbt {
            tx,
            version,
            unknown,
            inputs,
            outputs,
        })
    }

    /// The spent outputs of every input, if every input has one.
    pub fn spent_outputs(&self) -> Option<Vec<TxOut>> {
        self.inputs.iter().map(|i| i.witness_utxo).collect()
    }

    /// Inputs minus outputs, once every spent output is known (`None` otherwise, or if
    /// the outputs exceed the inputs).
    pub fn fee(&self) -> Option<Amount> {
        let spent = self.spent_outputs()?;
        let inputs = Amount::checked_sum(spent.iter().map(|o| o.value))?;
        inputs.checked_sub(self.tx.total_out()?)
    }

    /// BIP174's combiner: the union of `others`' pairs into `self`. All must be of the
    /// same transaction.
    pub fn combine(&mut self, other: &Psbt) -> Result<(), CombineError> {
        if self.tx.txid() != other.tx.txid() {
            return Err(CombineError::Different);
        }
        for (k, v) in &other.unknown {
            self.unknown.entry(k.clone()).or_insert_with(|| v.clone());
        }
        for (mine, theirs) in self.inputs.iter_mut().zip(&other.inputs) {
            mine.witness_utxo = mine.witness_utxo.or(theirs.witness_utxo);
            if mine.final_script_witness.is_none() {
                mine.final_script_witness = theirs.final_script_witness.clone();
            }
            mine.tap_key_sig = mine.tap_key_sig.or(theirs.tap_key_sig);
            mine.tap_internal_key = mine.tap_internal_key.or(theirs.tap_internal_key);
            for (k, d) in &theirs.tap_bip32_derivation {
                mine.tap_bip32_derivation
                    .entry(*k)
                    .or_insert_with(|| d.clone());
            }
            for (k, v) in &theirs.unknown {
                mine.unknown.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        for (mine, theirs) in self.outputs.iter_mut().zip(&other.outputs) {
            mine.tap_internal_key = mine.tap_internal_key.or(theirs.tap_internal_key);
            for (k, d) in &theirs.tap_bip32_derivation {
                mine.tap_bip32_derivation
                    .entry(*k)
                    .or_insert_with(|| d.clone());
            }
            for (k, v) in &theirs.unknown {
                mine.unknown.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        Ok(())
    }

    /// Combines a list, as `combinepsbt` does.
    pub fn combine_all(list: &[Psbt]) -> Result<Psbt, CombineError> {
        let (first, rest) = list.split_first().ok_or(CombineError::Empty)?;
        let mut out = first.clone();
        for p in rest {
            out.combine(p)?;
        }
        Ok(out)
    }

    /// Whether input `index` has a verified key-path signature (or final witness) for
    /// its spent output; `None` when the spent outputs are not all known.
    pub fn input_signature_valid(&self, index: usize) -> Option<bool> {
        let spent = self.spent_outputs()?;
        let input = self.inputs.get(index)?;
        let witness: &[u8] = match (&input.final_script_witness, &input.tap_key_sig) {
            (Some(w), _) => w,
            (None, Some(sig)) => sig,
            (None, None) => return Some(false),
        };
        let sighash = crate::sighash::signature_hash(&self.tx, index, &spent).ok()?;
        Some(crate::sighash::verify_signature(&sighash, witness, &spent[index].pubkey).is_ok())
    }

    /// BIP174's finalizer: every input with a valid key-path signature gets its final
    /// witness, and the fields only signing needed are dropped. Returns whether every
    /// input is now final.
    pub fn finalize(&mut self) -> bool {
        for index in 0..self.inputs.len() {
            if self.inputs[index].final_script_witness.is_some() {
                continue;
            }
            if self.inputs[index].tap_key_sig.is_none()
                || self.input_signature_valid(index) != Some(true)
            {
                continue;
            }
            let input = &mut self.inputs[index];
            input.final_script_witness = input.tap_key_sig.take().map(|s| s.to_vec());
            input.tap_bip32_derivation.clear();
            input.tap_internal_key = None;
        }
        self.is_final()
    }

    /// Whether every input has its final witness.
    pub fn is_final(&self) -> bool {
        self.inputs.iter().all(|i| i.final_script_witness.is_some())
    }

    /// BIP174's extractor: the signed transaction, once every input is final.
    pub fn extract(&self) -> Option<Transaction> {
        let mut tx = self.tx.clone();
        for (txin, input) in tx.inputs.iter_mut().zip(&self.inputs) {
            txin.witness = input.final_script_witness.clone()?;
        }
        Some(tx)
    }

    /// The role input `index` needs next (Core's `analyzepsbt` per-input `next`).
    pub fn input_next_role(&self, index: usize) -> Role {
        let input = &self.inputs[index];
        if input.final_script_witness.is_some() {
            return Role::Extractor;
        }
        if input.witness_utxo.is_none() {
            return Role::Updater;
        }
        if input.tap_key_sig.is_some() {
            return Role::Finalizer;
        }
        Role::Signer
    }

    /// The role the whole PSBT needs next: the earliest any input needs.
    pub fn next_role(&self) -> Role {
        if self.tx.inputs.is_empty() || self.tx.outputs.is_empty() {
            return Role::Creator;
        }
        (0..self.inputs.len())
            .map(|i| self.input_next_role(i))
            .min()
            .unwrap_or(Role::Extractor)
    }

    /// The size the transaction will have once signed (every input's witness a 64-byte
    /// signature, or its final witness).
    pub fn estimated_size(&self) -> usize {
        let mut tx = self.tx.clone();
        for (txin, input) in tx.inputs.iter_mut().zip(&self.inputs) {
            txin.witness = input
                .final_script_witness
                .clone()
                .unwrap_or_else(|| vec![0; 64]);
        }
        tx.size()
    }
}

fn read_input(r: &mut Reader<'_>) -> Result<PsbtInput, PsbtError> {
    let mut input = PsbtInput::default();
    let mut unknown = BTreeMap::new();
    read_map(r, "input", "an input map", &mut unknown, |key, value| {
        match key[0] {
            PSBT_IN_WITNESS_UTXO => {
                expect_key_size(key, 1, "Input Witness UTXO")?;
                input.witness_utxo = Some(deserialize::<TxOut>(value)?);
            }
            PSBT_IN_FINAL_SCRIPTWITNESS => {
                expect_key_size(key, 1, "Input Final scriptWitness")?;
                input.final_script_witness = Some(value.to_vec());
            }
            PSBT_IN_TAP_KEY_SIG => {
                expect_key_size(key, 1, "Input Taproot Key Path Signature")?;
                if value.len() < 64 {
                    return Err(PsbtError::Value(
                        "Input Taproot key path signature is shorter than 64 bytes".into(),
                    ));
                }
                if value.len() > 64 {
                    // BIP371 allows a 65th sighash-type byte; dotcoin has one type.
                    return Err(PsbtError::Value(
                        "Input Taproot key path signature is longer than 64 bytes".into(),
                    ));
                }
                input.tap_key_sig = Some(value_array::<64>(value, "signature")?);
            }
            PSBT_IN_TAP_BIP32_DERIVATION => {
                let k = xonly_key(key, "Input Taproot BIP32 Keypath")?;
                let d = decode_derivation(value, "Input Taproot BIP32 keypath")?;
                input.tap_bip32_derivation.insert(k, d);
            }
            PSBT_IN_TAP_INTERNAL_KEY => {
                expect_key_size(key, 1, "Input Taproot Internal Key")?;
                input.tap_internal_key = Some(PubKey(value_array::<32>(
                    value,
                    "Input Taproot internal key",
                )?));
            }
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    input.unknown = unknown;
    Ok(input)
}

fn read_output(r: &mut Reader<'_>) -> Result<PsbtOutput, PsbtError> {
    let mut output = PsbtOutput::default();
    let mut unknown = BTreeMap::new();
    read_map(r, "output", "an output map", &mut unknown, |key, value| {
        match key[0] {
            PSBT_OUT_TAP_INTERNAL_KEY => {
                expect_key_size(key, 1, "Output Taproot Internal Key")?;
                output.tap_internal_key = Some(PubKey(value_array::<32>(
                    value,
                    "Output Taproot internal key",
                )?));
            }
            PSBT_OUT_TAP_BIP32_DERIVATION => {
                let k = xonly_key(key, "Output Taproot BIP32 Keypath")?;
                let d = decode_derivation(value, "Output Taproot BIP32 keypath")?;
                output.tap_bip32_derivation.insert(k, d);
            }
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    output.unknown = unknown;
    Ok(output)
}

/// Whether `key` (type byte first) is a proprietary key, and if so its identifier,
/// subtype and key data (Core's `decodepsbt` `proprietary` entries).
pub fn proprietary_parts(key: &[u8]) -> Option<(Vec<u8>, u64, Vec<u8>)> {
    if key.first() != Some(&PSBT_PROPRIETARY) {
        return None;
    }
    let mut r = Reader::new(&key[1..]);
    let len = r.read_length(1).ok()?;
    let identifier = r.read_bytes(len).ok()?.to_vec();
    let subtype = read_compact_size(&mut r).ok()?;
    let rest = r.read_bytes(r.remaining()).ok()?.to_vec();
    Some((identifier, subtype, rest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::primitives::{OutPoint, TxIn};
    use crate::Txid;
    use bitcoin_hashes::Hash;

    fn tx(inputs: u8, outputs: u8) -> Transaction {
        Transaction {
            version: 1,
            inputs: (0..inputs)
                .map(|n| TxIn {
                    prevout: OutPoint {
                        txid: Txid::from_byte_array([n + 1; 32]),
                        vout: u32::from(n),
                    },
                    witness: Vec::new(),
                })
                .collect(),
            outputs: (0..outputs)
                .map(|n| TxOut {
                    value: Amount::from_sat(1000 * (u64::from(n) + 1)),
                    pubkey: PubKey([n + 7; 32]),
                })
                .collect(),
            lock_time: 0,
        }
    }

    fn full() -> Psbt {
        let mut p = Psbt::from_unsigned_tx(tx(2, 2));
        p.inputs[0].witness_utxo = Some(TxOut {
            value: Amount::from_sat(5000),
            pubkey: PubKey([3; 32]),
        });
        p.inputs[0].tap_key_sig = Some([9; 64]);
        p.inputs[0].tap_internal_key = Some(PubKey([3; 32]));
        p.inputs[0].tap_bip32_derivation.insert(
            PubKey([3; 32]),
            TapDerivation {
                leaf_hashes: vec![[4; 32]],
                source: KeySource {
                    fingerprint: [1, 2, 3, 4],
                    path: vec![0x8000_0056, 0x8000_0001, 0x8000_0000, 0, 5],
                },
            },
        );
        p.inputs[1].final_script_witness = Some(vec![1; 64]);
        p.inputs[1].unknown.insert(vec![0x42, 1, 2], vec![3, 4]);
        p.outputs[1].tap_internal_key = Some(PubKey([8; 32]));
        p.outputs[1].tap_bip32_derivation.insert(
            PubKey([8; 32]),
            TapDerivation {
                leaf_hashes: vec![],
                source: KeySource {
                    fingerprint: [9; 4],
                    path: vec![1],
                },
            },
        );
        p.outputs[0]
            .unknown
            .insert(vec![0xFC, 3, b'a', b'b', b'c', 1, 0xee], vec![5]);
        p.unknown.insert(vec![0x01, 0xaa], vec![0xbb; 3]);
        p.version = Some(0);
        p
    }

    /// Builds raw PSBT bytes from pairs: global pairs, then per-map pairs.
    fn raw(global: &[(&[u8], &[u8])], maps: &[&[(&[u8], &[u8])]]) -> Vec<u8> {
        let mut out = PSBT_MAGIC.to_vec();
        for (k, v) in global {
            write_pair(&mut out, k, v);
        }
        out.push(0);
        for m in maps {
            for (k, v) in *m {
                write_pair(&mut out, k, v);
            }
            out.push(0);
        }
        out
    }

    fn err(bytes: &[u8]) -> String {
        Psbt::deserialize(bytes).expect_err("refused").to_string()
    }

    #[test]
    fn round_trips_every_field_byte_for_byte() {
        let p = full();
        let bytes = p.serialize();
        let back = Psbt::deserialize(&bytes).expect("parses");
        assert_eq!(back, p);
        assert_eq!(back.serialize(), bytes);
        let b64 = p.to_base64();
        assert!(b64.starts_with("cHNidP8"), "{b64}");
        assert_eq!(Psbt::from_base64(&b64).expect("base64"), p);
        assert_eq!(
            proprietary_parts(&[0xFC, 3, b'a', b'b', b'c', 1, 0xee]),
            Some((b"abc".to_vec(), 1, vec![0xee]))
        );
        assert_eq!(
            p.inputs[0].tap_bip32_derivation[&PubKey([3; 32])]
                .source
                .path_string(),
            "m/86'/1'/0'/0/5"
        );
    }

    #[test]
    fn unknown_pairs_survive_in_any_map() {
        let t = serialize(&tx(1, 1));
        let bytes = raw(
            &[(&[0], &t), (&[0x77, 1], &[2, 3]), (&[0xFC, 0, 0], &[])],
            &[&[(&[0x99], &[1; 70])], &[(&[0x55, 0], &[])]],
        );
        let p = Psbt::deserialize(&bytes).expect("parses");
        assert_eq!(p.unknown.len(), 2);
        assert_eq!(p.inputs[0].unknown[&vec![0x99]], vec![1; 70]);
        assert_eq!(p.outputs[0].unknown[&vec![0x55, 0]], Vec::<u8>::new());
        assert_eq!(p.serialize(), bytes, "sorted as written: byte for byte");
    }

    #[test]
    fn each_malformation_is_refused_with_cores_words() {
        let t = serialize(&tx(1, 1));
        let mut signed = tx(1, 1);
        signed.inputs[0].witness = vec![1; 64];
        let signed = serialize(&signed);
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (b"psbu\xff\x00".to_vec(), "Invalid PSBT magic bytes"),
            (b"ps".to_vec(), "Invalid PSBT magic bytes"),
            (raw(&[], &[]), "No unsigned transaction was provided"),
            (
                raw(&[(&[0], &t), (&[0], &t)], &[&[], &[]]),
                "Duplicate Key, global key \"00\" already provided",
            ),
            (
                raw(&[(&[0, 1], &t)], &[&[], &[]]),
                "Size of key was not the expected size for the type Global Unsigned TX",
            ),
            (
                raw(&[(&[0], &signed)], &[&[], &[]]),
                "Unsigned tx does not have empty scriptSigs and scriptWitnesses.",
            ),
            (
                raw(&[(&[0], &t), (&[0xFB], &1u32.to_le_bytes())], &[&[], &[]]),
                "Unsupported version number",
            ),
            (
                raw(&[(&[0], &t)], &[]),
                "Inputs provided does not match the number of inputs in transaction.",
            ),
            (
                raw(&[(&[0], &t)], &[&[]]),
                "Outputs provided does not match the number of outputs in transaction.",
            ),
            (
                {
                    let mut b = raw(&[(&[0], &t)], &[&[], &[]]);
                    b.push(0);
                    b
                },
                "extra data after PSBT",
            ),
            (
                raw(&[(&[0], &t)], &[&[(&[0x13], &[1; 63])], &[]]),
                "Input Taproot key path signature is shorter than 64 bytes",
            ),
            (
                raw(&[(&[0], &t)], &[&[(&[0x13], &[1; 65])], &[]]),
                "Input Taproot key path signature is longer than 64 bytes",
            ),
            (
                raw(&[(&[0], &t)], &[&[(&[0x01], &[1; 39])], &[]]),
                "unexpected end of input",
            ),
            (
                raw(&[(&[0], &t)], &[&[(&[0x01], &[1; 41])], &[]]),
                "trailing bytes",
            ),
            (
                raw(&[(&[0], &t)], &[&[(&[0x17], &[1; 31])], &[]]),
                "Input Taproot internal key is 31 bytes, 32 expected",
            ),
            (
                raw(&[(&[0], &t)], &[&[(&[0x16, 1], &[0, 1, 2, 3, 4])], &[]]),
                "Size of key was not the expected size for the type Input Taproot BIP32 Keypath",
            ),
            (
                raw(&[(&[0], &t)], &[&[(&[0x16; 33], &[0, 1, 2, 3])], &[]]),
                "Invalid length for HD key path in Input Taproot BIP32 keypath",
            ),
            (
                raw(&[(&[0], &t)], &[&[(&[0x16; 33], &[2, 1, 2, 3])], &[]]),
                "Input Taproot BIP32 keypath has an invalid length",
            ),
            (
                raw(&[(&[0], &t)], &[&[(&[0x42], &[1]), (&[0x42], &[2])], &[]]),
                "Duplicate Key, input key \"42\" already provided",
            ),
            (
                raw(&[(&[0], &t)], &[&[], &[(&[0x05, 0], &[1; 32])]]),
                "Size of key was not the expected size for the type Output Taproot Internal Key",
            ),
            (
                raw(
                    &[(&[0], &t)],
                    &[&[], &[(&[0x05], &[1; 32]), (&[0x05], &[1; 32])]],
                ),
                "Duplicate Key, output key \"05\" already provided",
            ),
            (
                {
                    let mut b = raw(&[(&[0], &t)], &[&[], &[(&[0x42], &[1])]]);
                    b.pop();
                    b
                },
                "Separator is missing at the end of an output map",
            ),
            (
                // No bytes at all for the last map: Core counts the maps, as here.
                {
                    let mut b = raw(&[(&[0], &t)], &[&[], &[]]);
                    b.pop();
                    b
                },
                "Outputs provided does not match the number of outputs in transaction.",
            ),
            (b"psbt\xff\x01\x00".to_vec(), "unexpected end of input"),
            (
                {
                    // A key length far past the input: refused before allocating.
                    let mut b = PSBT_MAGIC.to_vec();
                    b.extend_from_slice(&[0xfe, 0xff, 0xff, 0xff, 0x7f]);
                    b
                },
                "exceeds what the remaining",
            ),
            (
                {
                    let mut b = PSBT_MAGIC.to_vec();
                    write_compact_size(&mut b, 5000);
                    b.extend_from_slice(&[0x50; 5000]);
                    b.extend_from_slice(&[0, 0]);
                    b
                },
                "Key of 5000 bytes is longer than the 4096 allowed",
            ),
        ];
        for (bytes, needle) in cases {
            let got = err(&bytes);
            assert!(got.contains(needle), "{needle:?} not in {got:?}");
        }
        let huge = vec![0u8; MAX_PSBT_SIZE + 1];
        assert!(err(&huge).contains("larger than"));
        let text = "A".repeat(MAX_PSBT_SIZE / 3 * 4 + 8);
        assert!(matches!(
            Psbt::from_base64(&text),
            Err(PsbtError::TooLarge(_))
        ));
        assert!(matches!(
            Psbt::from_base64("not base64!"),
            Err(PsbtError::Base64(_))
        ));
    }

    #[test]
    fn combine_takes_the_union_and_refuses_another_transaction() {
        let base = Psbt::from_unsigned_tx(tx(2, 1));
        let mut a = base.clone();
        a.inputs[0].witness_utxo = Some(TxOut {
            value: Amount::from_sat(10),
            pubkey: PubKey([1; 32]),
        });
        let mut b = base.clone();
        b.inputs[1].tap_key_sig = Some([2; 64]);
        b.outputs[0].unknown.insert(vec![0x66], vec![1]);
        let c = Psbt::combine_all(&[a.clone(), b.clone()]).expect("same tx");
        assert!(c.inputs[0].witness_utxo.is_some());
        assert_eq!(c.inputs[1].tap_key_sig, Some([2; 64]));
        assert_eq!(c.outputs[0].unknown.len(), 1);
        let other = Psbt::from_unsigned_tx(tx(1, 1));
        assert_eq!(
            Psbt::combine_all(&[a, other]).expect_err("different"),
            CombineError::Different
        );
        assert_eq!(
            Psbt::combine_all(&[]).expect_err("empty"),
            CombineError::Empty
        );
    }

    #[test]
    fn roles_move_from_updater_to_extractor() {
        let mut p = Psbt::from_unsigned_tx(tx(1, 1));
        assert_eq!(p.next_role(), Role::Updater);
        assert_eq!(p.fee(), None);
        p.inputs[0].witness_utxo = Some(TxOut {
            value: Amount::from_sat(5000),
            pubkey: PubKey([3; 32]),
        });
        assert_eq!(p.next_role(), Role::Signer);
        assert_eq!(p.fee(), Some(Amount::from_sat(4000)));
        p.inputs[0].tap_key_sig = Some([0; 64]);
        assert_eq!(p.next_role(), Role::Finalizer);
        // A signature that does not verify is not finalized.
        assert!(!p.finalize());
        assert_eq!(p.extract(), None);
        assert_eq!(p.estimated_size(), p.tx.size() + 64);
        assert_eq!(Psbt::from_unsigned_tx(tx(0, 1)).next_role(), Role::Creator);
    }
}
