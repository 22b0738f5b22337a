//! The column families: each a [`Table`] with a typed key and value.

use bitcoin_hashes::Hash;
use dotcoin_common::consensus::Coin;
use dotcoin_common::encode::{Decodable, DecodeError, Encodable, Reader};
use dotcoin_common::primitives::BlockHeader;
use dotcoin_common::{impl_consensus_encoding, Amount, Block, BlockHash, OutPoint, PubKey, Txid};

/// A column family with typed keys and values.
pub trait Table {
    /// Column family name.
    const NAME: &'static str;
    /// Key type.
    type Key: DbKey;
    /// Value type, stored in consensus encoding.
    type Value: Encodable + Decodable;
}

/// A key's byte form. Big-endian integers keep numeric order equal to byte order.
pub trait DbKey: Sized {
    /// The key bytes.
    fn to_key(&self) -> Vec<u8>;
    /// Parses key bytes.
    fn from_key(bytes: &[u8]) -> Result<Self, DecodeError>;
}

macro_rules! table {
    ($(#[$doc:meta])* $name:ident, $cf:literal, $k:ty => $v:ty) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name;
        impl Table for $name {
            const NAME: &'static str = $cf;
            type Key = $k;
            type Value = $v;
        }
    };
}

table!(
    /// Every known header: the block index.
    BlockIndexByHash, "block_index_by_hash", BlockHash => StoredIndexEntry);
table!(
    /// Full blocks.
    BlockByHash, "block_by_hash", BlockHash => Block);
table!(
    /// The outputs each connected block spent, to disconnect it.
    UndoByHash, "undo_by_hash", BlockHash => BlockUndo);
table!(
    /// The active chain.
    HashByHeight, "hash_by_height", u32 => BlockHash);
table!(
    /// The UTXO set.
    UtxoByOutpoint, "utxo_by_outpoint", OutPoint => Coin);
table!(
    /// Address index of unspent outputs: key ‖ outpoint, with what the coin holds (so a
    /// balance or a page of outputs reads no coin).
    UtxoByPubkey, "utxo_by_pubkey", (PubKey, OutPoint) => AddressCoin);
table!(
    /// Address index of history: key ‖ height ‖ txid, for every transaction paying or
    /// spending from the key, with what it paid to and spent from the key (so a page of
    /// history reads no transaction).
    TxidByPubkey, "txid_by_pubkey", (PubKey, u32, Txid) => AddressTx);
table!(
    /// Transaction index: where each confirmed transaction is.
    TxLocationByTxid, "tx_location_by_txid", Txid => TxLocation);
table!(
    /// Tip, schema version, network.
    Meta, "meta", MetaKey => Vec<u8>);

/// All column families, opened together.
pub const TABLES: [&str; 9] = [
    BlockIndexByHash::NAME,
    BlockByHash::NAME,
    UndoByHash::NAME,
    HashByHeight::NAME,
    UtxoByOutpoint::NAME,
    UtxoByPubkey::NAME,
    TxidByPubkey::NAME,
    TxLocationByTxid::NAME,
    Meta::NAME,
];

/// An address-index entry: the coin at the outpoint, less the key it pays (which is in the
/// row's key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressCoin {
    /// Its value.
    pub value: Amount,
    /// Height of the block that created it.
    pub height: u32,
    /// Whether a coinbase created it.
    pub is_coinbase: bool,
}
impl_consensus_encoding!(AddressCoin, value: Amount, height: u32, is_coinbase: bool);

impl AddressCoin {
    /// The entry of `coin`.
    pub fn of(coin: &Coin) -> AddressCoin {
        AddressCoin {
            value: coin.output.value,
            height: coin.height,
            is_coinbase: coin.is_coinbase,
        }
    }
}

/// An address-history entry: what one confirmed transaction did to one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressTx {
    /// Sum of its outputs paying the key.
    pub received: Amount,
    /// Sum of the coins of the key its inputs spent.
    pub sent: Amount,
}
impl_consensus_encoding!(AddressTx, received: Amount, sent: Amount);

impl AddressTx {
    /// What `tx`, spending `spent` (in input order; empty for a coinbase), did to each key
    /// it paid or spent from, once per key, in key order. Sums saturate: a valid block's
    /// stay below `MAX_MONEY`.
    pub fn of_transaction(
        tx: &dotcoin_common::Transaction,
        spent: &[Coin],
    ) -> Vec<(PubKey, AddressTx)> {
        let mut out: Vec<(PubKey, AddressTx)> = Vec::with_capacity(spent.len() + tx.outputs.len());
        let add = |a: Amount, b: Amount| Amount::from_sat(a.to_sat().saturating_add(b.to_sat()));
        for coin in spent {
            out.push((
                coin.output.pubkey,
                AddressTx {
                    received: Amount::ZERO,
                    sent: coin.output.value,
                },
            ));
        }
        for o in &tx.outputs {
            out.push((
                o.pubkey,
                AddressTx {
                    received: o.value,
                    sent: Amount::ZERO,
                },
            ));
        }
        out.sort_unstable_by_key(|(k, _)| *k);
        out.dedup_by(|later, kept| {
            if later.0 != kept.0 {
                return false;
            }
            kept.1.received = add(kept.1.received, later.1.received);
            kept.1.sent = add(kept.1.sent, later.1.sent);
            true
        });
        out
    }
}

/// Keys of the meta table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetaKey {
    /// [`super::SCHEMA_VERSION`] at creation.
    SchemaVersion,
    /// Network name.
    Network,
    /// Hash of the active tip.
    Tip,
    /// The block the UTXO set on disk stands at: the tip, or an ancestor of it when the
    /// coins cache was not flushed (see `storage::coins`).
    CoinsTip,
}
impl DbKey for MetaKey {
    fn to_key(&self) -> Vec<u8> {
        match self {
            MetaKey::SchemaVersion => b"schema_version".to_vec(),
            MetaKey::Network => b"network".to_vec(),
            MetaKey::Tip => b"tip".to_vec(),
            MetaKey::CoinsTip => b"coins_tip".to_vec(),
        }
    }
    fn from_key(bytes: &[u8]) -> Result<Self, DecodeError> {
        match bytes {
            b"schema_version" => Ok(MetaKey::SchemaVersion),
            b"network" => Ok(MetaKey::Network),
            b"tip" => Ok(MetaKey::Tip),
            b"coins_tip" => Ok(MetaKey::CoinsTip),
            _ => Err(DecodeError::InvalidValue("unknown meta key")),
        }
    }
}

/// Block status bits.
pub mod status {
    /// The full block is stored.
    pub const HAVE_DATA: u32 = 1;
    /// The block was connected once: all its rules passed.
    pub const VALID: u32 = 2;
    /// The block broke a rule.
    pub const FAILED: u32 = 4;
    /// An ancestor broke a rule.
    pub const FAILED_CHILD: u32 = 8;
}

/// A block index entry as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredIndexEntry {
    /// The header.
    pub header: BlockHeader,
    /// Its height.
    pub height: u32,
    /// Total work of the chain ending here, big-endian.
    pub chainwork: [u8; 32],
    /// [`status`] bits.
    pub status: u32,
    /// Order of arrival: among equal work, the first seen wins.
    pub sequence: u64,
}
impl_consensus_encoding!(
    StoredIndexEntry,
    header: BlockHeader,
    height: u32,
    chainwork: [u8; 32],
    status: u32,
    sequence: u64
);

/// One output a block spent, with what is needed to restore it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpentCoin {
    /// Where it was.
    pub outpoint: OutPoint,
    /// What it was.
    pub coin: Coin,
}
impl_consensus_encoding!(SpentCoin, outpoint: OutPoint, coin: Coin);

/// Undo data of a block: every spent output, in spending order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BlockUndo {
    /// The spent outputs.
    pub spent: Vec<SpentCoin>,
}
impl Encodable for BlockUndo {
    fn consensus_encode(&self, out: &mut Vec<u8>) {
        dotcoin_common::encode::write_compact_size(out, self.spent.len() as u64);
        for s in &self.spent {
            s.consensus_encode(out);
        }
    }
}
impl Decodable for BlockUndo {
    const MIN_SIZE: usize = 1;
    fn consensus_decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let n = r.read_length(SpentCoin::MIN_SIZE)?;
        let mut spent = Vec::with_capacity(n);
        for _ in 0..n {
            spent.push(SpentCoin::consensus_decode(r)?);
        }
        Ok(BlockUndo { spent })
    }
}

/// Where a confirmed transaction is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxLocation {
    /// Its block.
    pub block: BlockHash,
    /// Its position in the block.
    pub index: u32,
}
impl_consensus_encoding!(TxLocation, block: BlockHash, index: u32);

fn reader_done<T>(r: &Reader<'_>, value: T) -> Result<T, DecodeError> {
    if r.remaining() != 0 {
        return Err(DecodeError::TrailingBytes(r.remaining()));
    }
    Ok(value)
}

impl DbKey for BlockHash {
    fn to_key(&self) -> Vec<u8> {
        self.to_byte_array().to_vec()
    }
    fn from_key(bytes: &[u8]) -> Result<Self, DecodeError> {
        dotcoin_common::deserialize(bytes)
    }
}
impl DbKey for Txid {
    fn to_key(&self) -> Vec<u8> {
        self.to_byte_array().to_vec()
    }
    fn from_key(bytes: &[u8]) -> Result<Self, DecodeError> {
        dotcoin_common::deserialize(bytes)
    }
}
impl DbKey for u32 {
    fn to_key(&self) -> Vec<u8> {
        self.to_be_bytes().to_vec()
    }
    fn from_key(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let v = u32::from_be_bytes(r.read_array()?);
        reader_done(&r, v)
    }
}
impl DbKey for OutPoint {
    fn to_key(&self) -> Vec<u8> {
        dotcoin_common::serialize(self)
    }
    fn from_key(bytes: &[u8]) -> Result<Self, DecodeError> {
        dotcoin_common::deserialize(bytes)
    }
}
impl DbKey for (PubKey, OutPoint) {
    fn to_key(&self) -> Vec<u8> {
        let mut k = self.0 .0.to_vec();
        self.1.consensus_encode(&mut k);
        k
    }
    fn from_key(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let key = PubKey(r.read_array()?);
        let op = OutPoint::consensus_decode(&mut r)?;
        reader_done(&r, (key, op))
    }
}
impl DbKey for (PubKey, u32, Txid) {
    fn to_key(&self) -> Vec<u8> {
        let mut k = self.0 .0.to_vec();
        k.extend_from_slice(&self.1.to_be_bytes());
        k.extend_from_slice(self.2.as_byte_array());
        k
    }
    fn from_key(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let key = PubKey(r.read_array()?);
        let height = u32::from_be_bytes(r.read_array()?);
        let txid = Txid::from_byte_array(r.read_array()?);
        reader_done(&r, (key, height, txid))
    }
}
