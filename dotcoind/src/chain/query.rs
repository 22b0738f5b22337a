//! Read-only questions about the chain for RPC: chain tips, UTXO set statistics, and the
//! address index.

use bitcoin_hashes::{sha256, Hash, HashEngine};
use dotcoin_common::consensus::Coin;
use dotcoin_common::{Amount, OutPoint, PubKey, Txid};

use super::{ChainState, IndexEntry};
use crate::storage::{StoreError, TxidByPubkey, UtxoByOutpoint, UtxoByPubkey};

/// One entry of `getchaintips`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ChainTip {
    /// Height of the tip.
    pub height: u32,
    /// Its hash.
    pub hash: dotcoin_common::BlockHash,
    /// Blocks from the fork point with the active chain.
    pub branchlen: u32,
    /// `active`, `valid-fork`, `valid-headers`, `headers-only` or `invalid`.
    pub status: &'static str,
}

/// `gettxoutsetinfo`'s figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UtxoStats {
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

impl ChainState {
    /// Every chain tip and its status, active first.
    pub fn chain_tips(&self) -> Vec<ChainTip> {
        let mut tips: Vec<ChainTip> = self
            .index()
            .leaves()
            .into_iter()
            .chain(std::iter::once(self.tip()))
            .map(|leaf| {
                let fork = self.index().fork_point(&leaf.hash).map_or(0, |f| f.height);
                ChainTip {
                    height: leaf.height,
                    hash: leaf.hash,
                    branchlen: leaf.height - fork,
                    status: self.tip_status(leaf),
                }
            })
            .collect();
        tips.sort_by(|a, b| {
            (b.status == "active")
                .cmp(&(a.status == "active"))
                .then(b.height.cmp(&a.height))
        });
        tips.dedup_by(|a, b| a.hash == b.hash);
        tips
    }

    fn tip_status(&self, leaf: &IndexEntry) -> &'static str {
        if self.index().is_active(leaf) {
            return "active";
        }
        if leaf.is_failed() {
            return "invalid";
        }
        let mut all_data = true;
        let mut all_valid = true;
        let mut cur = Some(leaf);
        while let Some(e) = cur {
            if self.index().is_active(e) {
                break;
            }
            all_data &= e.have_data();
            all_valid &= e.is_valid();
            cur = self.index().get(&e.header.prev_blockhash);
        }
        match (all_data, all_valid) {
            (true, true) => "valid-fork",
            (true, false) => "valid-headers",
            _ => "headers-only",
        }
    }

    /// Statistics and a content hash of the whole UTXO set.
    pub fn utxo_stats(&self) -> Result<UtxoStats, StoreError> {
        let mut engine = sha256::Hash::engine();
        let (mut txouts, mut transactions, mut bogosize) = (0u64, 0u64, 0u64);
        let mut total = Amount::ZERO;
        let mut last_txid: Option<Txid> = None;
        for (op, coin) in self.store().scan_all::<UtxoByOutpoint>()? {
            let bytes = [
                dotcoin_common::serialize(&op),
                dotcoin_common::serialize(&coin),
            ]
            .concat();
            engine.input(&bytes);
            bogosize += bytes.len() as u64;
            txouts += 1;
            total = total.checked_add(coin.output.value).unwrap_or(total);
            if last_txid != Some(op.txid) {
                transactions += 1;
                last_txid = Some(op.txid);
            }
        }
        Ok(UtxoStats {
            txouts,
            transactions,
            total_amount: total,
            hash: sha256::Hash::from_engine(engine),
            bogosize,
        })
    }

    /// Confirmed unspent outputs locked to `key`.
    pub fn utxos_of(&self, key: &PubKey) -> Result<Vec<(OutPoint, Coin)>, StoreError> {
        let mut out = Vec::new();
        for ((_, op), _) in self.store().scan_prefix::<UtxoByPubkey>(&key.0)? {
            if let Some(coin) = self.coin(&op)? {
                out.push((op, coin));
            }
        }
        Ok(out)
    }

    /// Confirmed transactions touching `key`, by height.
    pub fn txids_of(&self, key: &PubKey) -> Result<Vec<(u32, Txid)>, StoreError> {
        Ok(self
            .store()
            .scan_prefix::<TxidByPubkey>(&key.0)?
            .into_iter()
            .map(|((_, h, txid), _)| (h, txid))
            .collect())
    }
}
