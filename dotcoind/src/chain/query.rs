//! Read-only questions about the stored chain for RPC: UTXO set statistics and the
//! address index. They read a [`StoreView`] (the one a published snapshot carries), so
//! they run on any thread without the chain writer and answer as of that snapshot's tip.

use bitcoin_hashes::{sha256, Hash, HashEngine};
use dotcoin_common::{Amount, BlockHash, Encodable, OutPoint, PubKey, Txid};

use crate::storage::{
    AddressCoin, AddressTx, BlockIndexByHash, Meta, MetaKey, StoreError, StoreView, Table,
    TxidByPubkey, UtxoByOutpoint, UtxoByPubkey,
};

/// `gettxoutsetinfo`'s figures, for the tip they were counted at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UtxoStats {
    /// The tip whose UTXO set this is.
    pub tip: BlockHash,
    /// Its height.
    pub height: u32,
    /// Unspent outputs.
    pub txouts: u64,
    /// Transactions with at least one unspent output.
    pub transactions: u64,
    /// Sum of their values.
    pub total_amount: Amount,
    /// SHA-256 over every (outpoint, coin) in key order: equal sets give equal hashes.
    pub hash: sha256::Hash,
    /// Bytes of the serialized entries.
    pub bogosize: u64,
}

/// Statistics and a content hash of the whole UTXO set, counted on one view so the
/// figures and the tip they name agree even while blocks connect.
pub fn utxo_stats(snap: &StoreView) -> Result<UtxoStats, StoreError> {
    let corrupt = |what| StoreError::Corrupt {
        table: Meta::NAME,
        source: dotcoin_common::DecodeError::InvalidValue(what),
    };
    let tip_bytes = snap
        .get::<Meta>(&MetaKey::Tip)?
        .ok_or(corrupt("no tip recorded"))?;
    let tip: BlockHash =
        dotcoin_common::deserialize(&tip_bytes).map_err(|source| StoreError::Corrupt {
            table: Meta::NAME,
            source,
        })?;
    let height = snap
        .get::<BlockIndexByHash>(&tip)?
        .ok_or(corrupt("tip not in block index"))?
        .height;
    let mut engine = sha256::Hash::engine();
    let (mut txouts, mut transactions, mut bogosize) = (0u64, 0u64, 0u64);
    let mut total = Amount::ZERO;
    let mut last_txid: Option<Txid> = None;
    let mut bytes = Vec::with_capacity(128);
    snap.for_each::<UtxoByOutpoint>(&[], |op, coin| {
        bytes.clear();
        op.consensus_encode(&mut bytes);
        coin.consensus_encode(&mut bytes);
        engine.input(&bytes);
        bogosize += bytes.len() as u64;
        txouts += 1;
        total = total.checked_add(coin.output.value).unwrap_or(total);
        if last_txid != Some(op.txid) {
            transactions += 1;
            last_txid = Some(op.txid);
        }
    })?;
    Ok(UtxoStats {
        tip,
        height,
        txouts,
        transactions,
        total_amount: total,
        hash: sha256::Hash::from_engine(engine),
        bogosize,
    })
}

/// Confirmed unspent outputs locked to `key`, from the address index alone (its values
/// hold the amounts: no coin is read).
pub fn utxos_of(
    snap: &StoreView,
    key: &PubKey,
) -> Result<Vec<(OutPoint, AddressCoin)>, StoreError> {
    let mut out = Vec::new();
    snap.for_each::<UtxoByPubkey>(&key.0, |(_, op), coin| out.push((op, coin)))?;
    Ok(out)
}

/// Confirmed transactions touching `key`, by height.
pub fn txids_of(snap: &StoreView, key: &PubKey) -> Result<Vec<(u32, Txid)>, StoreError> {
    let mut out = Vec::new();
    snap.for_each::<TxidByPubkey>(&key.0, |(_, h, txid), _| out.push((h, txid)))?;
    Ok(out)
}

/// A page of an address's unspent outputs, and the cursor of the next.
pub type UtxoPage = (Vec<(OutPoint, AddressCoin)>, Option<OutPoint>);
/// A page of an address's history (height, txid, what it did), and the cursor of the next.
pub type HistoryPage = (Vec<(u32, Txid, AddressTx)>, Option<(u32, Txid)>);

/// At most `limit` of `key`'s confirmed unspent outputs in outpoint order, starting past
/// `after`; with the last one's outpoint when more may follow (the next page's cursor).
pub fn utxo_page(
    snap: &StoreView,
    key: &PubKey,
    after: Option<OutPoint>,
    limit: usize,
) -> Result<UtxoPage, StoreError> {
    let mut out = Vec::with_capacity(limit.min(1024));
    let mut more = false;
    let cursor = after.map(|op| (*key, op));
    snap.walk::<UtxoByPubkey>(&key.0, cursor.as_ref(), false, |(_, op), coin| {
        if out.len() == limit {
            more = true;
            return false;
        }
        out.push((op, coin));
        true
    })?;
    let next = more.then(|| out.last().map(|(op, _)| *op)).flatten();
    Ok((out, next))
}

/// At most `limit` of `key`'s confirmed transactions, newest first (by height, then txid
/// descending), starting past `before`; with the last one's (height, txid) when more may
/// follow.
pub fn history_page(
    snap: &StoreView,
    key: &PubKey,
    before: Option<(u32, Txid)>,
    limit: usize,
) -> Result<HistoryPage, StoreError> {
    let mut out = Vec::with_capacity(limit.min(1024));
    let mut more = false;
    let cursor = before.map(|(h, t)| (*key, h, t));
    snap.walk::<TxidByPubkey>(&key.0, cursor.as_ref(), true, |(_, h, txid), did| {
        if out.len() == limit {
            more = true;
            return false;
        }
        out.push((h, txid, did));
        true
    })?;
    let next = more.then(|| out.last().map(|(h, t, _)| (*h, *t))).flatten();
    Ok((out, next))
}
