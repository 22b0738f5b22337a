//! Compact block relay (BIP152): the `sendcmpct`, `cmpctblock`, `getblocktxn` and
//! `blocktxn` payloads, short transaction ids, and the reconstruction of a block from a
//! compact one and the mempool.
//!
//! dotcoin follows BIP152's version 2 (short ids over wtxids, the ids the merkle root
//! commits to) adapted to dotcoin's header encoding: the SipHash keys are the first two
//! little-endian 64-bit words of SHA-256 over the 80 header bytes followed by the 8-byte
//! little-endian nonce; a short id is the low 6 bytes of SipHash-2-4 of the wtxid.
//!
//! What the peer handler does with these (see [`super::peer`]):
//! - at the handshake it sends `sendcmpct(0, 2)` (low-bandwidth: announce by `headers`,
//!   the receiver asks with `getdata` of type [`MSG_CMPCT_BLOCK`]);
//! - a peer that delivers a new tip first is asked `sendcmpct(1, 2)`, at most
//!   [`MAX_HB_PEERS`] at a time, the oldest told `sendcmpct(0, 2)` when a fourth comes
//!   (Core's `MaybeSetPeerAsAnnouncingHeaderAndIDs`); such peers send `cmpctblock` for
//!   a new block as soon as its header's proof of work is checked, before the block is
//!   validated;
//! - a `cmpctblock` is filled from the mempool; what is missing is asked with one
//!   `getblocktxn`; a collision or a reconstruction whose merkle root does not match
//!   falls back to `getdata` of the full block, without penalty (short ids collide by
//!   chance), while a full block that is then invalid costs the peer as any invalid block.
//!
//! Every count is capped before anything is allocated: a block holds at most
//! [`MAX_BLOCK_TXS`] transactions, so no message about one may list more.

use std::collections::HashMap;

use bitcoin_hashes::{sha256, Hash};
use dotcoin_common::consensus::MAX_BLOCK_SIZE;
use dotcoin_common::encode::{read_compact_size, write_compact_size, Reader};
use dotcoin_common::{
    Block, BlockHash, BlockHeader, Decodable, DecodeError, Encodable, Transaction, Wtxid,
};
use siphasher::sip::SipHasher24;

/// The compact-block version spoken: 2, short ids over wtxids.
pub const CMPCT_VERSION: u64 = 2;
/// Bytes of a short transaction id.
pub const SHORT_ID_LEN: usize = 6;
/// Peers asked to announce new blocks with `cmpctblock` at once (BIP152: 3).
pub const MAX_HB_PEERS: usize = 3;
/// `getdata(cmpct)` for a block deeper than this is answered with the full block (Core's
/// `MAX_CMPCTBLOCK_DEPTH`).
pub const MAX_CMPCTBLOCK_DEPTH: u32 = 5;
/// `getblocktxn` for a block deeper than this is answered with the full block (Core's
/// `MAX_BLOCKTXN_DEPTH`).
pub const MAX_BLOCKTXN_DEPTH: u32 = 10;
/// The most transactions a block can hold: the block size limit over the smallest
/// transaction encoding. No compact-block message may name more.
pub const MAX_BLOCK_TXS: usize = MAX_BLOCK_SIZE / <Transaction as Decodable>::MIN_SIZE;
/// `getdata` inventory type asking for a `cmpctblock` (BIP152's `MSG_CMPCT_BLOCK`).
pub const MSG_CMPCT_BLOCK: u32 = 4;

/// How the node uses compact blocks (`--compactblocks`, `--cmpcthb`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompactMode {
    /// Speak BIP152 at all: send `sendcmpct`, ask for and reconstruct compact blocks.
    pub enabled: bool,
    /// Ask up to [`MAX_HB_PEERS`] peers for high-bandwidth announcements.
    pub high_bandwidth: bool,
}

impl Default for CompactMode {
    fn default() -> Self {
        CompactMode {
            enabled: true,
            high_bandwidth: true,
        }
    }
}

/// `sendcmpct`: whether the sender wants new blocks announced by `cmpctblock` at once
/// (high-bandwidth) and the version it speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendCmpct {
    /// Announce with `cmpctblock` without waiting to be asked.
    pub announce: bool,
    /// Compact-block version.
    pub version: u64,
}

impl Encodable for SendCmpct {
    fn consensus_encode(&self, out: &mut Vec<u8>) {
        out.push(u8::from(self.announce));
        self.version.consensus_encode(out);
    }
}

impl Decodable for SendCmpct {
    const MIN_SIZE: usize = 9;
    fn consensus_decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let announce = match r.read_array::<1>()?[0] {
            0 => false,
            1 => true,
            _ => {
                return Err(DecodeError::InvalidValue(
                    "sendcmpct announce is not 0 or 1",
                ))
            }
        };
        Ok(SendCmpct {
            announce,
            version: u64::consensus_decode(r)?,
        })
    }
}

/// The SipHash-2-4 keys of one compact block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShortIdKeys {
    k0: u64,
    k1: u64,
}

impl ShortIdKeys {
    /// BIP152's keys: SHA-256 of the header bytes and the little-endian nonce.
    pub fn new(header: &BlockHeader, nonce: u64) -> ShortIdKeys {
        let mut data = header.to_bytes().to_vec();
        data.extend_from_slice(&nonce.to_le_bytes());
        let h = sha256::Hash::hash(&data).to_byte_array();
        ShortIdKeys {
            k0: u64::from_le_bytes(h[0..8].try_into().expect("8 of 32 bytes")),
            k1: u64::from_le_bytes(h[8..16].try_into().expect("8 of 32 bytes")),
        }
    }

    /// The 48-bit short id of `wtxid`.
    pub fn short_id(&self, wtxid: &Wtxid) -> u64 {
        use std::hash::Hasher;
        let mut s = SipHasher24::new_with_keys(self.k0, self.k1);
        s.write(wtxid.as_byte_array());
        s.finish() & 0xffff_ffff_ffff
    }
}

/// A transaction sent whole inside a `cmpctblock`, at its position in the block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrefilledTx {
    /// Absolute index in the block (differentially encoded on the wire).
    pub index: u16,
    /// The transaction.
    pub tx: Transaction,
}

/// `cmpctblock`: a header, a nonce, the short ids of the transactions the receiver
/// probably has, and the ones it cannot have (the coinbase) in full.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderAndShortIds {
    /// The block's header.
    pub header: BlockHeader,
    /// Chosen by the sender; keys the short ids.
    pub nonce: u64,
    /// Short ids of the transactions not prefilled, in block order.
    pub short_ids: Vec<u64>,
    /// Transactions sent whole, by increasing index.
    pub prefilled: Vec<PrefilledTx>,
}

impl HeaderAndShortIds {
    /// The compact form of `block`: the coinbase prefilled, short ids for the rest.
    pub fn from_block(block: &Block, nonce: u64) -> HeaderAndShortIds {
        let keys = ShortIdKeys::new(&block.header, nonce);
        HeaderAndShortIds {
            header: block.header,
            nonce,
            short_ids: block
                .txdata
                .iter()
                .skip(1)
                .map(|tx| keys.short_id(&tx.wtxid()))
                .collect(),
            prefilled: block
                .txdata
                .first()
                .map(|tx| PrefilledTx {
                    index: 0,
                    tx: tx.clone(),
                })
                .into_iter()
                .collect(),
        }
    }

    /// Transactions in the block.
    pub fn tx_count(&self) -> usize {
        self.short_ids.len() + self.prefilled.len()
    }
}

impl Encodable for HeaderAndShortIds {
    fn consensus_encode(&self, out: &mut Vec<u8>) {
        self.header.consensus_encode(out);
        self.nonce.consensus_encode(out);
        write_compact_size(out, self.short_ids.len() as u64);
        for id in &self.short_ids {
            out.extend_from_slice(&id.to_le_bytes()[..SHORT_ID_LEN]);
        }
        write_compact_size(out, self.prefilled.len() as u64);
        let mut next = 0u64;
        for p in &self.prefilled {
            write_compact_size(out, u64::from(p.index).saturating_sub(next));
            p.tx.consensus_encode(out);
            next = u64::from(p.index) + 1;
        }
    }
}

/// Reads a count of at most [`MAX_BLOCK_TXS`] items of at least `min_size` bytes each.
fn read_tx_count(r: &mut Reader<'_>, min_size: usize) -> Result<usize, DecodeError> {
    let n = read_compact_size(r)?;
    if n > MAX_BLOCK_TXS as u64 || n.saturating_mul(min_size as u64) > r.remaining() as u64 {
        return Err(DecodeError::LengthExceedsInput {
            claimed: n,
            remaining: r.remaining(),
        });
    }
    Ok(n as usize)
}

/// Reads differentially encoded indexes (each the gap after the previous one plus one),
/// checking BIP152's 16-bit bound before adding, so no sum can overflow.
fn read_diff_index(r: &mut Reader<'_>, next: u64) -> Result<u16, DecodeError> {
    let diff = read_compact_size(r)?;
    let index = next
        .checked_add(diff)
        .filter(|i| *i <= u64::from(u16::MAX))
        .ok_or(DecodeError::InvalidValue("indexes overflowed 16 bits"))?;
    Ok(index as u16)
}

impl Decodable for HeaderAndShortIds {
    const MIN_SIZE: usize = 80 + 8 + 1 + 1;
    fn consensus_decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let header = BlockHeader::consensus_decode(r)?;
        let nonce = u64::consensus_decode(r)?;
        let n = read_tx_count(r, SHORT_ID_LEN)?;
        let mut short_ids = Vec::with_capacity(n);
        for _ in 0..n {
            let b = r.read_array::<SHORT_ID_LEN>()?;
            let mut id = [0u8; 8];
            id[..SHORT_ID_LEN].copy_from_slice(&b);
            short_ids.push(u64::from_le_bytes(id));
        }
        let m = read_tx_count(r, 1 + <Transaction as Decodable>::MIN_SIZE)?;
        if n + m > MAX_BLOCK_TXS {
            return Err(DecodeError::InvalidValue(
                "more transactions than a block can hold",
            ));
        }
        if n + m == 0 {
            return Err(DecodeError::InvalidValue(
                "compact block without transactions",
            ));
        }
        let mut prefilled = Vec::with_capacity(m);
        let mut next = 0u64;
        for _ in 0..m {
            let index = read_diff_index(r, next)?;
            if usize::from(index) >= n + m {
                return Err(DecodeError::InvalidValue("prefilled index out of range"));
            }
            prefilled.push(PrefilledTx {
                index,
                tx: Transaction::consensus_decode(r)?,
            });
            next = u64::from(index) + 1;
        }
        Ok(HeaderAndShortIds {
            header,
            nonce,
            short_ids,
            prefilled,
        })
    }
}

/// `getblocktxn`: the transactions of a block the receiver could not fill, by index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockTxnRequest {
    /// The block.
    pub block_hash: BlockHash,
    /// Absolute indexes, increasing (differentially encoded on the wire).
    pub indexes: Vec<u16>,
}

impl Encodable for BlockTxnRequest {
    fn consensus_encode(&self, out: &mut Vec<u8>) {
        self.block_hash.consensus_encode(out);
        write_compact_size(out, self.indexes.len() as u64);
        let mut next = 0u64;
        for i in &self.indexes {
            write_compact_size(out, u64::from(*i).saturating_sub(next));
            next = u64::from(*i) + 1;
        }
    }
}

impl Decodable for BlockTxnRequest {
    const MIN_SIZE: usize = 33;
    fn consensus_decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let block_hash = BlockHash::consensus_decode(r)?;
        let n = read_tx_count(r, 1)?;
        let mut indexes = Vec::with_capacity(n);
        let mut next = 0u64;
        for _ in 0..n {
            let index = read_diff_index(r, next)?;
            indexes.push(index);
            next = u64::from(index) + 1;
        }
        Ok(BlockTxnRequest {
            block_hash,
            indexes,
        })
    }
}

/// `blocktxn`: the transactions a `getblocktxn` asked for, in its order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockTxn {
    /// The block.
    pub block_hash: BlockHash,
    /// The transactions.
    pub txs: Vec<Transaction>,
}

impl Encodable for BlockTxn {
    fn consensus_encode(&self, out: &mut Vec<u8>) {
        self.block_hash.consensus_encode(out);
        write_compact_size(out, self.txs.len() as u64);
        for tx in &self.txs {
            tx.consensus_encode(out);
        }
    }
}

impl Decodable for BlockTxn {
    const MIN_SIZE: usize = 33;
    fn consensus_decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let block_hash = BlockHash::consensus_decode(r)?;
        let n = read_tx_count(r, <Transaction as Decodable>::MIN_SIZE)?;
        let txs = (0..n)
            .map(|_| Transaction::consensus_decode(r))
            .collect::<Result<_, _>>()?;
        Ok(BlockTxn { block_hash, txs })
    }
}

/// Why a compact block could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReconstructError {
    /// Ambiguous or unmatched by chance (two short ids alike, a merkle root that does
    /// not match what was filled in): not the peer's fault; fetch the full block.
    Failed(&'static str),
    /// The peer's answer does not fit its own block (a `blocktxn` with the wrong number
    /// of transactions): misbehaviour.
    Invalid(&'static str),
}

impl std::fmt::Display for ReconstructError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReconstructError::Failed(why) | ReconstructError::Invalid(why) => f.write_str(why),
        }
    }
}

/// A block being rebuilt from a `cmpctblock`: its slots, filled or waiting.
#[derive(Debug, Clone)]
pub struct PartialBlock {
    header: BlockHeader,
    slots: Vec<Option<Transaction>>,
}

impl PartialBlock {
    /// Fills what `cmpct` prefills and what `pool` (wtxid and transaction) matches by
    /// short id. Two transactions of `pool` with one short id leave their slot empty,
    /// to be asked for; two equal short ids in the block itself fail.
    pub fn new<'a>(
        cmpct: &HeaderAndShortIds,
        pool: impl IntoIterator<Item = (Wtxid, &'a Transaction)>,
    ) -> Result<PartialBlock, ReconstructError> {
        let total = cmpct.tx_count();
        let mut slots: Vec<Option<Transaction>> = vec![None; total];
        let mut prefilled = vec![false; total];
        for p in &cmpct.prefilled {
            // The decoder checked each index is in range and above the previous one.
            let i = usize::from(p.index);
            slots[i] = Some(p.tx.clone());
            prefilled[i] = true;
        }
        let mut by_id: HashMap<u64, usize> = HashMap::with_capacity(cmpct.short_ids.len());
        let mut ids = cmpct.short_ids.iter();
        for (i, _) in prefilled.iter().enumerate().filter(|(_, p)| !**p) {
            let id = ids
                .next()
                .expect("short ids fill exactly the slots not prefilled");
            if by_id.insert(*id, i).is_some() {
                return Err(ReconstructError::Failed("duplicate short ids in the block"));
            }
        }
        if by_id.is_empty() {
            return Ok(PartialBlock {
                header: cmpct.header,
                slots,
            });
        }
        let keys = ShortIdKeys::new(&cmpct.header, cmpct.nonce);
        let mut collided = vec![false; total];
        for (wtxid, tx) in pool {
            let Some(&i) = by_id.get(&keys.short_id(&wtxid)) else {
                continue;
            };
            if collided[i] {
                continue;
            }
            match &slots[i] {
                None => slots[i] = Some(tx.clone()),
                Some(_) => {
                    // Two pool transactions share the id: neither can be trusted.
                    slots[i] = None;
                    collided[i] = true;
                }
            }
        }
        Ok(PartialBlock {
            header: cmpct.header,
            slots,
        })
    }

    /// The block's hash.
    pub fn block_hash(&self) -> BlockHash {
        self.header.block_hash()
    }

    /// Indexes still missing, increasing.
    pub fn missing(&self) -> Vec<u16> {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.is_none())
            .map(|(i, _)| i as u16)
            .collect()
    }

    /// Fills the missing slots with `txs` (in `missing` order) and returns the block if
    /// its merkle root matches the header.
    pub fn fill(mut self, txs: Vec<Transaction>) -> Result<Block, ReconstructError> {
        let missing = self.missing();
        if txs.len() != missing.len() {
            return Err(ReconstructError::Invalid(
                "blocktxn does not have the transactions asked for",
            ));
        }
        for (i, tx) in missing.into_iter().zip(txs) {
            self.slots[usize::from(i)] = Some(tx);
        }
        let block = Block {
            header: self.header,
            txdata: self.slots.into_iter().flatten().collect(),
        };
        let (root, mutated) = block.compute_merkle_root();
        if root != block.header.merkle_root || mutated {
            return Err(ReconstructError::Failed(
                "reconstructed block does not match its merkle root",
            ));
        }
        Ok(block)
    }
}

/// Answers a `getblocktxn` from `block`: the transactions asked for, or `None` if an
/// index is out of range.
pub fn block_txn(block: &Block, req: &BlockTxnRequest) -> Option<BlockTxn> {
    let txs = req
        .indexes
        .iter()
        .map(|i| block.txdata.get(usize::from(*i)).cloned())
        .collect::<Option<Vec<_>>>()?;
    Some(BlockTxn {
        block_hash: req.block_hash,
        txs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use dotcoin_common::encode::{deserialize, serialize};

    fn block_with(n: usize) -> Block {
        let mut block = dotcoin_common::Network::Regtest
            .params()
            .genesis_block()
            .clone();
        let base = block.txdata[0].clone();
        for i in 0..n {
            let mut tx = base.clone();
            tx.lock_time = i as u32 + 1;
            tx.inputs[0].prevout.vout = i as u32 + 7;
            block.txdata.push(tx);
        }
        block.header.merkle_root = block.compute_merkle_root().0;
        block
    }

    #[test]
    fn compact_blocks_round_trip_and_rebuild_from_the_pool() {
        let block = block_with(5);
        let cmpct = HeaderAndShortIds::from_block(&block, 42);
        let back: HeaderAndShortIds = deserialize(&serialize(&cmpct)).expect("decodes");
        assert_eq!(back, cmpct);
        // Everything in the pool: complete at once.
        let pool: Vec<(Wtxid, &Transaction)> =
            block.txdata[1..].iter().map(|t| (t.wtxid(), t)).collect();
        let partial = PartialBlock::new(&cmpct, pool.clone()).expect("no collision");
        assert!(partial.missing().is_empty());
        assert_eq!(partial.fill(vec![]).expect("matches"), block);
        // Two missing: asked by index, filled, checked.
        let partial = PartialBlock::new(&cmpct, pool[1..4].to_vec()).expect("no collision");
        assert_eq!(partial.missing(), vec![1, 5]);
        let req = BlockTxnRequest {
            block_hash: block.block_hash(),
            indexes: partial.missing(),
        };
        let req_back: BlockTxnRequest = deserialize(&serialize(&req)).expect("decodes");
        assert_eq!(req_back, req);
        let answer = block_txn(&block, &req).expect("in range");
        let answer_back: BlockTxn = deserialize(&serialize(&answer)).expect("decodes");
        assert_eq!(answer_back, answer);
        assert_eq!(partial.clone().fill(answer.txs.clone()).expect("ok"), block);
        // Wrong count: the peer's fault; wrong transactions: a failed match.
        assert!(matches!(
            partial.clone().fill(vec![]),
            Err(ReconstructError::Invalid(_))
        ));
        let swapped = vec![answer.txs[1].clone(), answer.txs[0].clone()];
        assert!(matches!(
            partial.fill(swapped),
            Err(ReconstructError::Failed(_))
        ));
        assert!(block_txn(
            &block,
            &BlockTxnRequest {
                block_hash: req.block_hash,
                indexes: vec![6]
            }
        )
        .is_none());
    }

    #[test]
    fn duplicate_ids_fail_and_pool_collisions_are_asked_for() {
        let block = block_with(3);
        let mut cmpct = HeaderAndShortIds::from_block(&block, 1);
        let keys = ShortIdKeys::new(&block.header, 1);
        let tx = &block.txdata[1];
        // A second pool transaction claiming the same short id: the slot is asked for.
        let other = &block.txdata[2];
        let pool = vec![(tx.wtxid(), tx), (tx.wtxid(), other)];
        let partial = PartialBlock::new(&cmpct, pool).expect("builds");
        assert!(partial.missing().contains(&1));
        assert_eq!(keys.short_id(&tx.wtxid()), cmpct.short_ids[0]);
        cmpct.short_ids[1] = cmpct.short_ids[0];
        assert!(matches!(
            PartialBlock::new(&cmpct, vec![]),
            Err(ReconstructError::Failed(_))
        ));
    }

    #[test]
    fn hostile_counts_and_indexes_are_refused_before_allocating() {
        let block = block_with(1);
        // A short-id count past what a block can hold.
        let mut p = serialize(&block.header);
        p.extend_from_slice(&0u64.to_le_bytes());
        write_compact_size(&mut p, MAX_BLOCK_TXS as u64 + 1);
        assert!(deserialize::<HeaderAndShortIds>(&p).is_err());
        // A count the bytes cannot back.
        let mut p = serialize(&block.header);
        p.extend_from_slice(&0u64.to_le_bytes());
        write_compact_size(&mut p, 1000);
        assert!(deserialize::<HeaderAndShortIds>(&p).is_err());
        // getblocktxn whose differential indexes overflow 16 bits.
        let mut p = serialize(&block.block_hash());
        write_compact_size(&mut p, 2);
        write_compact_size(&mut p, 65_535);
        write_compact_size(&mut p, 0);
        assert_eq!(
            deserialize::<BlockTxnRequest>(&p),
            Err(DecodeError::InvalidValue("indexes overflowed 16 bits"))
        );
        let mut p = serialize(&block.block_hash());
        write_compact_size(&mut p, 1);
        write_compact_size(&mut p, u64::MAX);
        assert!(deserialize::<BlockTxnRequest>(&p).is_err());
        // A prefilled index past the block's transactions.
        let mut cmpct = HeaderAndShortIds::from_block(&block, 0);
        cmpct.prefilled[0].index = 2;
        assert!(deserialize::<HeaderAndShortIds>(&serialize(&cmpct)).is_err());
        assert!(deserialize::<SendCmpct>(&[2, 2, 0, 0, 0, 0, 0, 0, 0]).is_err());
    }
}
