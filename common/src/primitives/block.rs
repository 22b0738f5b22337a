//! Block headers in Bitcoin's exact 80-byte layout, and blocks.
//!
//! The layout matters for mining: the first 64 bytes (version, previous hash, most of the
//! merkle root) do not change while the nonce does, so miners hash them once (the midstate)
//! and only the last 16 bytes per nonce.

use std::fmt;

use bitcoin_hashes::{sha256d, Hash};

use crate::encode::{Decodable, DecodeError, Encodable, Reader};
use crate::hashes::{BlockHash, TxMerkleNode};
use crate::primitives::Transaction;

/// The size of a serialized header.
pub const HEADER_SIZE: usize = 80;

/// A proof-of-work target in Bitcoin's compact `nBits` form.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct CompactTarget(pub u32);

impl fmt::Debug for CompactTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CompactTarget({:08x})", self.0)
    }
}
/// Hex, as Bitcoin Core shows `bits`.
impl fmt::Display for CompactTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:08x}", self.0)
    }
}
impl Encodable for CompactTarget {
    fn consensus_encode(&self, out: &mut Vec<u8>) {
        self.0.consensus_encode(out)
    }
}
impl Decodable for CompactTarget {
    const MIN_SIZE: usize = 4;
    fn consensus_decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(CompactTarget(u32::consensus_decode(r)?))
    }
}

/// A block header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BlockHeader {
    /// Block format version.
    pub version: u32,
    /// Hash of the previous block's header.
    pub prev_blockhash: BlockHash,
    /// Merkle root over the block's wtxids.
    pub merkle_root: TxMerkleNode,
    /// Seconds since the Unix epoch, as claimed by the miner.
    pub time: u32,
    /// The target this header's hash must not exceed.
    pub bits: CompactTarget,
    /// Varied by miners.
    pub nonce: u32,
}
crate::impl_consensus_encoding!(
    BlockHeader,
    version: u32,
    prev_blockhash: BlockHash,
    merkle_root: TxMerkleNode,
    time: u32,
    bits: CompactTarget,
    nonce: u32
);
crate::encode::impl_vec!(BlockHeader);

impl BlockHeader {
    /// The 80 header bytes.
    pub fn to_bytes(&self) -> [u8; HEADER_SIZE] {
        let mut v = Vec::with_capacity(HEADER_SIZE);
        self.consensus_encode(&mut v);
        v.try_into().expect("a header always encodes to 80 bytes")
    }

    /// SHA-256d of the 80 header bytes.
    pub fn block_hash(&self) -> BlockHash {
        BlockHash::from_raw_hash(sha256d::Hash::hash(&self.to_bytes()))
    }
}

/// A block: a header and its transactions, the coinbase first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// The header.
    pub header: BlockHeader,
    /// The transactions.
    pub txdata: Vec<Transaction>,
}
crate::impl_consensus_encoding!(Block, header: BlockHeader, txdata: Vec<Transaction>);

impl Block {
    /// The header's hash.
    pub fn block_hash(&self) -> BlockHash {
        self.header.block_hash()
    }

    /// The merkle root of the transactions, and whether the tree was mutated by
    /// duplicating its last pair (see [`crate::merkle`]).
    pub fn compute_merkle_root(&self) -> (TxMerkleNode, bool) {
        crate::merkle::merkle_root_of_txs(&self.txdata)
    }

    /// Serialized size in bytes.
    pub fn size(&self) -> usize {
        HEADER_SIZE
            + crate::encode::compact_size_len(self.txdata.len() as u64)
            + self
                .txdata
                .iter()
                .map(Encodable::encoded_size)
                .sum::<usize>()
    }

    /// The coinbase transaction, if the block has any transaction.
    pub fn coinbase(&self) -> Option<&Transaction> {
        self.txdata.first()
    }
}
