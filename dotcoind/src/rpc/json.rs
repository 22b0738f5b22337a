//! The typed results of the calls whose shape depends on a parameter (hex or verbose), and
//! the builders of headers and blocks as Bitcoin Core shows them. Every field type comes
//! from [`dotcoin_common::rpc_types`], which the clients parse with.

use dotcoin_common::pow::difficulty;
use dotcoin_common::rpc_types::{
    BlockHeaderVerbose, BlockVerbose, GetBlockVerbose, GetBlockVerboseTx, RawMempoolVerbose,
    TxVerbose,
};
use dotcoin_common::{Block, Txid};
use serde::{Deserialize, Serialize};

use crate::chain::IndexEntry;
use crate::state::Snapshot;

/// `getblock`: hex at verbosity 0, txids at 1, transactions at 2.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum GetBlockResult {
    /// Verbosity 0.
    Hex(String),
    /// Verbosity 1.
    Verbose(Box<GetBlockVerbose>),
    /// Verbosity 2.
    VerboseTx(Box<GetBlockVerboseTx>),
}

/// `getblockheader`: hex or JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum GetBlockHeaderResult {
    /// `verbose = false`.
    Hex(String),
    /// `verbose = true`.
    Verbose(Box<BlockHeaderVerbose>),
}

/// `getrawtransaction`: hex or decoded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum GetRawTransactionResult {
    /// `verbose = false`.
    Hex(String),
    /// `verbose = true`.
    Verbose(Box<TxVerbose>),
}

/// `getrawmempool`: txids, or entries by txid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum GetRawMempoolResult {
    /// `verbose = false`, in arrival order.
    Txids(Vec<Txid>),
    /// `verbose = true`.
    Verbose(RawMempoolVerbose),
    /// `verbose = false, mempool_sequence = true`: the txids and the pool's sequence number
    /// they stand at.
    Sequenced {
        /// In arrival order.
        txids: Vec<Txid>,
        /// Every `A`/`R` event numbered below this is reflected in `txids`.
        mempool_sequence: u64,
    },
}

/// Confirmations of a block: tip height - height + 1 on the active chain, -1 off it.
pub fn confirmations(chain: &Snapshot, entry: &IndexEntry) -> i64 {
    if chain.index().is_active(entry) {
        (chain.height() - entry.height) as i64 + 1
    } else {
        -1
    }
}

/// A header as `getblockheader` shows it; `n_tx` is the block's transaction count (0
/// while only the header is known, as Core shows it).
pub fn header_verbose(chain: &Snapshot, entry: &IndexEntry, n_tx: u64) -> BlockHeaderVerbose {
    let h = &entry.header;
    let index = chain.index();
    BlockHeaderVerbose {
        hash: entry.hash,
        confirmations: confirmations(chain, entry),
        height: entry.height,
        version: h.version,
        version_hex: format!("{:08x}", h.version),
        merkleroot: h.merkle_root,
        time: h.time,
        mediantime: dotcoin_common::pow::median_time_past(&index.last_times(&entry.hash)),
        nonce: h.nonce,
        bits: h.bits.to_string(),
        target: format!("{:064x}", h.bits.to_target().unwrap_or_default()),
        difficulty: difficulty(h.bits),
        chainwork: format!("{:064x}", entry.chainwork),
        n_tx,
        previousblockhash: (entry.height > 0).then_some(h.prev_blockhash),
        nextblockhash: index
            .is_active(entry)
            .then(|| index.active_hash(entry.height + 1))
            .flatten(),
    }
}

/// A block as `getblock` shows it, each transaction made by `tx`.
pub fn block_verbose<T>(
    chain: &Snapshot,
    entry: &IndexEntry,
    block: &Block,
    tx: impl Fn(&dotcoin_common::Transaction) -> T,
) -> BlockVerbose<T> {
    let size = block.size() as u64;
    let witnesses: u64 = block
        .txdata
        .iter()
        .map(|t| t.size().saturating_sub(t.base_size()) as u64)
        .sum();
    BlockVerbose {
        header: header_verbose(chain, entry, block.txdata.len() as u64),
        size,
        strippedsize: size - witnesses,
        weight: 4 * size,
        tx: block.txdata.iter().map(tx).collect(),
    }
}

/// The outputs each input of `block` spent, in input order per transaction (empty for
/// the coinbase), from the block's undo data; `None` when the block has none (it is not
/// on the active chain).
pub fn spent_by_block(
    chain: &Snapshot,
    block: &dotcoin_common::Block,
) -> Result<Option<Vec<Vec<dotcoin_common::consensus::Coin>>>, crate::storage::StoreError> {
    let Some(undo) = chain
        .view()
        .get::<crate::storage::UndoByHash>(&block.block_hash())?
    else {
        return Ok(None);
    };
    let mut spent = undo.spent.into_iter().map(|s| s.coin);
    let per_tx = block
        .txdata
        .iter()
        .map(|tx| {
            if tx.is_coinbase() {
                Vec::new()
            } else {
                spent.by_ref().take(tx.inputs.len()).collect()
            }
        })
        .collect();
    Ok(Some(per_tx))
}
