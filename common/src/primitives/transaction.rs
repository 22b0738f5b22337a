//! Transactions: inputs that unlock earlier outputs with a Schnorr signature, and outputs
//! locked to a 32-byte x-only public key.
//!
//! The txid hashes the transaction without witnesses, so a signature can never change it;
//! the wtxid hashes it with witnesses, and blocks commit to wtxids.

use std::fmt;
use std::str::FromStr;

use bitcoin_hashes::{sha256d, Hash};

use crate::encode::{impl_vec, write_compact_size, Decodable, DecodeError, Encodable, Reader};
use crate::hashes::{Txid, Wtxid};
use crate::impl_consensus_encoding;
use crate::primitives::Amount;

/// A 32-byte BIP340 x-only public key, the lock of an output. Stored as bytes: whether the
/// bytes are a valid curve point matters only when a signature is checked against them.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct PubKey(pub [u8; 32]);

impl fmt::Debug for PubKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PubKey({self})")
    }
}
impl fmt::Display for PubKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}
impl FromStr for PubKey {
    type Err = hex::FromHexError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out)?;
        Ok(PubKey(out))
    }
}
impl Encodable for PubKey {
    fn consensus_encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0);
    }
    fn encoded_size(&self) -> usize {
        32
    }
}
impl Decodable for PubKey {
    const MIN_SIZE: usize = 32;
    fn consensus_decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(PubKey(r.read_array()?))
    }
}

macro_rules! impl_hash_encoding {
    ($($t:ty),*) => {$(
        impl Encodable for $t {
            fn consensus_encode(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(self.as_byte_array());
            }
            fn encoded_size(&self) -> usize { 32 }
        }
        impl Decodable for $t {
            const MIN_SIZE: usize = 32;
            fn consensus_decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
                Ok(<$t>::from_byte_array(r.read_array()?))
            }
        }
    )*};
}
impl_hash_encoding!(
    Txid,
    Wtxid,
    crate::hashes::BlockHash,
    crate::hashes::TxMerkleNode
);
impl_vec!(crate::hashes::BlockHash, Txid);

/// A reference to one output of an earlier transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OutPoint {
    /// The transaction that created the output.
    pub txid: Txid,
    /// The output's index in that transaction (for a coinbase: the block height).
    pub vout: u32,
}
impl_consensus_encoding!(OutPoint, txid: Txid, vout: u32);

impl OutPoint {
    /// The prevout of the coinbase at `height`: a zero txid and the height, which makes
    /// every coinbase txid unique.
    pub fn coinbase(height: u32) -> OutPoint {
        OutPoint {
            txid: Txid::all_zeros(),
            vout: height,
        }
    }
}

/// `txid:vout`, as Bitcoin Core prints outpoints.
impl fmt::Display for OutPoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.txid, self.vout)
    }
}

/// A transaction input.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TxIn {
    /// The output being spent.
    pub prevout: OutPoint,
    /// A 64-byte Schnorr signature, or for a coinbase up to 100 bytes of miner data.
    pub witness: Vec<u8>,
}
impl_consensus_encoding!(TxIn, prevout: OutPoint, witness: Vec<u8>);

/// A transaction output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TxOut {
    /// How much the output holds.
    pub value: Amount,
    /// The key whose signature may spend it.
    pub pubkey: PubKey,
}
impl_consensus_encoding!(TxOut, value: Amount, pubkey: PubKey);
impl_vec!(TxIn, TxOut);

/// A transaction.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Transaction {
    /// Format version (1).
    pub version: u32,
    /// The outputs it spends.
    pub inputs: Vec<TxIn>,
    /// The outputs it creates.
    pub outputs: Vec<TxOut>,
    /// Kept for layout compatibility with Bitcoin; not enforced.
    pub lock_time: u32,
}

impl Transaction {
    /// Appends the encoding without witnesses: what the txid and signatures commit to.
    pub fn encode_without_witness(&self, out: &mut Vec<u8>) {
        self.version.consensus_encode(out);
        write_compact_size(out, self.inputs.len() as u64);
        for input in &self.inputs {
            input.prevout.consensus_encode(out);
        }
        self.outputs.consensus_encode(out);
        self.lock_time.consensus_encode(out);
    }

    /// The transaction id (without witnesses).
    pub fn txid(&self) -> Txid {
        let mut buf = Vec::with_capacity(64 + 44 * self.inputs.len() + 40 * self.outputs.len());
        self.encode_without_witness(&mut buf);
        Txid::from_raw_hash(sha256d::Hash::hash(&buf))
    }

    /// The witness transaction id (with witnesses).
    pub fn wtxid(&self) -> Wtxid {
        Wtxid::from_raw_hash(sha256d::Hash::hash(&crate::encode::serialize(self)))
    }

    /// Whether this is a coinbase: one input whose prevout has the zero txid.
    pub fn is_coinbase(&self) -> bool {
        self.inputs.len() == 1 && self.inputs[0].prevout.txid == Txid::all_zeros()
    }

    /// The sum of the outputs, `None` if it overflows or exceeds `MAX_MONEY`.
    pub fn total_out(&self) -> Option<Amount> {
        Amount::checked_sum(self.outputs.iter().map(|o| o.value))
    }

    /// Serialized size in bytes, witnesses included.
    pub fn size(&self) -> usize {
        self.encoded_size()
    }

    /// Serialized size without witnesses (Core's stripped size): the bytes the txid
    /// commits to.
    pub fn base_size(&self) -> usize {
        let witnesses: usize = self.inputs.iter().map(|i| i.witness.encoded_size()).sum();
        self.size() - witnesses
    }
}

impl Encodable for Transaction {
    fn consensus_encode(&self, out: &mut Vec<u8>) {
        self.version.consensus_encode(out);
        self.inputs.consensus_encode(out);
        self.outputs.consensus_encode(out);
        self.lock_time.consensus_encode(out);
    }
    fn encoded_size(&self) -> usize {
        let ins: usize = self
            .inputs
            .iter()
            .map(|i| 36 + i.witness.encoded_size())
            .sum();
        4 + crate::encode::compact_size_len(self.inputs.len() as u64)
            + ins
            + crate::encode::compact_size_len(self.outputs.len() as u64)
            + 40 * self.outputs.len()
            + 4
    }
}
impl Decodable for Transaction {
    const MIN_SIZE: usize = 10;
    fn consensus_decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Transaction {
            version: u32::consensus_decode(r)?,
            inputs: Vec::<TxIn>::consensus_decode(r)?,
            outputs: Vec::<TxOut>::consensus_decode(r)?,
            lock_time: u32::consensus_decode(r)?,
        })
    }
}
impl_vec!(Transaction);
