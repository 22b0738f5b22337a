//! Keeps each loaded wallet's [`History`] up to date with the node, and answers
//! `listtransactions`, `listsinceblock`, `gettransaction` and `abandontransaction` from it.
//!
//! A sync ([`sync`]) is incremental: it reads the node's tip, then
//! - if the record's last processed block left the best chain (a reorg, or
//!   `invalidateblock`), re-reads every mined transaction whose block is no longer at its
//!   height: it goes back to unconfirmed (the node moved it to its mempool) or to the block
//!   that now holds it;
//! - asks the address index which transactions touch the wallet's addresses and fetches
//!   only those the record lacks (on the first open that is the whole history);
//! - re-reads the pending ones (mined since? still in the mempool?);
//! - marks a pending transaction that left the mempool while another wallet transaction
//!   spending one of its inputs is in the mempool or mined as replaced by that one (the
//!   node's full RBF, or a conflicting block): Core's `replaced_by_txid` /
//!   `replaces_txid`, and `walletconflicts` both ways;
//! - records the tip as the last processed block and writes the file if anything changed.
//!
//! The follower runs it on every tip change; the history calls run it too before
//! answering, so a transaction the node accepted a moment ago is listed at once. Entries,
//! times received, replacement and abandonment all come from the record, so they survive
//! restarts and reorgs; the node is asked only what changed.

use std::collections::HashMap;

use dotcoin_common::rpc_types::{BlockHeaderVerbose, DecodedTx, GetBlockVerbose};
use dotcoin_common::wallet_rpc_types::{
    GetTransactionDetail, GetTransactionResult, ListSinceBlockResult, WalletTxEntry,
};
use dotcoin_common::{encode, BlockHash, Txid};
use serde_json::json;
use tracing::{debug, info};

use super::params::{Code, RpcFailure, RpcResult};
use super::{Loaded, Service, WalletHandle};
use crate::history::{self, EntryOptions, History, Mined, Processed, WalletTx};
use crate::node::{self, NodeApi, TxInfo};

/// What a sync saw of the node.
#[derive(Debug, Clone, Copy)]
pub struct ChainView {
    /// Best block height.
    pub tip_height: u32,
    /// Best block.
    pub tip: BlockHash,
    /// Coinbase maturity.
    pub maturity: u32,
}

fn mined_of(info: &TxInfo) -> Option<Mined> {
    match (info.blockhash, info.height) {
        (Some(blockhash), Some(height)) => Some(Mined {
            blockhash,
            height,
            index: info.index.unwrap_or(0),
            blocktime: info.time.unwrap_or(0),
        }),
        _ => None,
    }
}

/// `getrawtransaction`, with "not found" as `None`.
async fn fetch(svc: &Service, txid: &Txid) -> RpcResult<Option<TxInfo>> {
    match node::raw_transaction(&svc.node, txid).await {
        Ok(info) => Ok(Some(info)),
        // RPC_INVALID_ADDRESS_OR_KEY: neither in the mempool nor in a block.
        Err(crate::WalletError::NodeRpc { code: -5, .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

async fn block_hash_at(svc: &Service, height: u32) -> RpcResult<Option<BlockHash>> {
    match svc.node.call("getblockhash", json!([height])).await {
        Ok(v) => Ok(serde_json::from_value(v).ok()),
        Err(e) if e.code == Some(-8) => Ok(None),
        Err(e) => Err(RpcFailure::new(Code::Misc, e.message)),
    }
}

/// Brings `loaded`'s record up to the node's current state (see the module docs).
pub async fn sync(svc: &Service, loaded: &mut Loaded) -> RpcResult<ChainView> {
    let info = node::blockchain_info(&svc.node).await?;
    let view = ChainView {
        tip_height: info.blocks,
        tip: info.bestblockhash,
        maturity: info.coinbase_maturity,
    };
    let h = &mut loaded.history;
    let mut changed = false;

    // Blocks that left the best chain.
    let reorged = match h.last_block() {
        Some(last) if last.hash != view.tip => {
            block_hash_at(svc, last.height).await? != Some(last.hash)
        }
        _ => false,
    };
    if reorged {
        let mut at_height: HashMap<u32, Option<BlockHash>> = HashMap::new();
        let mined: Vec<(Txid, Mined)> = h
            .txs()
            .iter()
            .filter_map(|t| t.mined.map(|m| (t.txid, m)))
            .collect();
        for (txid, m) in mined {
            let current = match at_height.get(&m.height) {
                Some(c) => *c,
                None => {
                    let c = block_hash_at(svc, m.height).await?;
                    at_height.insert(m.height, c);
                    c
                }
            };
            if current == Some(m.blockhash) {
                continue;
            }
            let now = fetch(svc, &txid).await?;
            if let Some(t) = h.get_mut(&txid) {
                t.mined = now.as_ref().and_then(mined_of);
                t.in_mempool = now.is_some() && t.mined.is_none();
                changed = true;
                info!(target: "wallet", %txid, "reorg: transaction's block left the best chain");
            }
        }
    }

    // New transactions touching the wallet's addresses.
    let txids = node::address_txids(&svc.node, &loaded.wallet.watched_addresses()).await?;
    let h = &mut loaded.history;
    for txid in txids {
        if h.get(&txid).is_some() {
            continue;
        }
        let Some(info) = fetch(svc, &txid).await? else {
            continue;
        };
        let mined = mined_of(&info);
        changed |= h.insert(WalletTx {
            txid,
            hex: hex::encode(encode::serialize(&info.tx)),
            mined,
            time_received: info.received.unwrap_or_else(super::now),
            in_mempool: mined.is_none(),
            replaced_by: None,
            replaces: None,
            abandoned: false,
        });
    }

    // Pending ones: mined, still pending, or gone.
    let pending: Vec<Txid> = h
        .txs()
        .iter()
        .filter(|t| t.mined.is_none())
        .map(|t| t.txid)
        .collect();
    for txid in &pending {
        let now = fetch(svc, txid).await?;
        let mined = now.as_ref().and_then(mined_of);
        let in_mempool = now.is_some() && mined.is_none();
        if let Some(t) = h.get_mut(txid) {
            if t.mined != mined || t.in_mempool != in_mempool {
                t.mined = mined;
                t.in_mempool = in_mempool;
                changed = true;
            }
        }
    }

    // Replacements: a pending one gone from the pool whose conflict is pooled or mined.
    for txid in &pending {
        let Some(t) = h.get(txid) else { continue };
        if t.mined.is_some() || t.in_mempool || t.replaced_by.is_some() {
            continue;
        }
        let winner = h
            .conflicts_of(txid)
            .into_iter()
            .find(|c| h.get(c).is_some_and(|c| c.mined.is_some() || c.in_mempool));
        if let Some(by) = winner {
            if let Some(t) = h.get_mut(txid) {
                t.replaced_by = Some(by);
            }
            if let Some(w) = h.get_mut(&by) {
                if w.replaces.is_none() {
                    w.replaces = Some(*txid);
                }
            }
            info!(target: "wallet", %txid, %by, "wallet transaction replaced");
            changed = true;
        }
    }

    let processed = Processed {
        hash: view.tip,
        height: view.tip_height,
    };
    if h.last_block() != Some(processed) {
        h.set_last_block(processed);
        changed = true;
    }
    if changed {
        h.save()?;
        debug!(target: "wallet", wallet = %loaded.name, txs = h.txs().len(), "history synced");
    }
    Ok(view)
}

/// Syncs every loaded wallet (the follower, on each tip change).
pub async fn sync_all(svc: &Service) {
    for name in svc.loaded_names() {
        let Ok(handle) = svc.wallet_for(Some(&name)) else {
            continue;
        };
        let mut loaded = handle.lock().await;
        if let Err(e) = sync(svc, &mut loaded).await {
            debug!(target: "wallet", wallet = %name, "history sync failed: {}", e.message);
        }
    }
}

fn options(view: ChainView, include_change: bool) -> EntryOptions {
    EntryOptions {
        tip_height: view.tip_height,
        maturity: view.maturity,
        include_change,
    }
}

/// The record's transactions oldest first: mined ones in chain order, then the others by
/// when the wallet saw them (the record holds them in the order it learned of them, which
/// for a payment sent before the follower caught up is not the chain's).
fn in_order(h: &History) -> Vec<&WalletTx> {
    let mut txs: Vec<&WalletTx> = h.txs().iter().collect();
    txs.sort_by_key(|t| match t.mined {
        Some(m) => (0, m.height, m.index, 0),
        None => (1, 0, 0, t.time_received),
    });
    txs
}

/// Every entry of the record, oldest first.
fn all_entries(loaded: &Loaded, opts: EntryOptions) -> Vec<WalletTxEntry> {
    let h = &loaded.history;
    let ours = history::our_keys(&loaded.wallet);
    in_order(h)
        .into_iter()
        .flat_map(|t| history::entries(&loaded.wallet, &ours, h, t, opts).0)
        .collect()
}

/// `listtransactions label count skip`.
pub async fn listtransactions(
    svc: &Service,
    handle: &WalletHandle,
    label: Option<String>,
    count: i64,
    skip: i64,
) -> RpcResult<Vec<WalletTxEntry>> {
    if count < 0 {
        return Err(RpcFailure::new(Code::InvalidParameter, "Negative count"));
    }
    if skip < 0 {
        return Err(RpcFailure::new(Code::InvalidParameter, "Negative from"));
    }
    let mut loaded = handle.lock().await;
    let view = sync(svc, &mut loaded).await?;
    let mut entries: Vec<WalletTxEntry> = all_entries(&loaded, options(view, false))
        .into_iter()
        .filter(|e| label.is_none() || e.label == label)
        .collect();
    // The most recent `count` after skipping the `skip` most recent, oldest first.
    let end = entries
        .len()
        .saturating_sub(usize::try_from(skip).unwrap_or(usize::MAX));
    let start = end.saturating_sub(usize::try_from(count).unwrap_or(usize::MAX));
    entries.truncate(end);
    Ok(entries.split_off(start))
}

/// `gettransaction txid include_watchonly verbose`.
pub async fn gettransaction(
    svc: &Service,
    handle: &WalletHandle,
    txid: Txid,
    verbose: bool,
) -> RpcResult<GetTransactionResult> {
    let mut loaded = handle.lock().await;
    let view = sync(svc, &mut loaded).await?;
    let h = &loaded.history;
    let t = h.get(&txid).ok_or_else(not_wallet_tx)?;
    let tx = t
        .tx()
        .map_err(|e| RpcFailure::new(Code::Wallet, format!("history record: {e}")))?;
    let ours = history::our_keys(&loaded.wallet);
    let (entries, amount, fee) =
        history::entries(&loaded.wallet, &ours, h, t, options(view, false));
    let info = match entries.first() {
        Some(e) => e.tx.clone(),
        None => {
            // A spend of the wallet's coins paying only its change still has its info.
            let (e, _, _) = history::entries(&loaded.wallet, &ours, h, t, options(view, true));
            e.first().map(|e| e.tx.clone()).ok_or_else(not_wallet_tx)?
        }
    };
    let details = entries
        .iter()
        .map(|e| GetTransactionDetail {
            address: e.address.clone(),
            category: e.category.clone(),
            amount: e.amount,
            label: e.label.clone(),
            vout: e.vout,
            fee: e.fee,
            abandoned: e.abandoned,
        })
        .collect();
    Ok(GetTransactionResult {
        amount,
        fee,
        tx: info,
        details,
        hex: t.hex.clone(),
        decoded: verbose.then(|| DecodedTx::from_tx(&tx, svc.network)),
    })
}

fn not_wallet_tx() -> RpcFailure {
    RpcFailure::new(
        Code::InvalidAddressOrKey,
        "Invalid or non-wallet transaction id",
    )
}

/// `listsinceblock blockhash target_confirmations include_watchonly include_removed
/// include_change`, as Core answers it.
pub async fn listsinceblock(
    svc: &Service,
    handle: &WalletHandle,
    blockhash: Option<BlockHash>,
    target_confirmations: i64,
    include_removed: bool,
    include_change: bool,
) -> RpcResult<ListSinceBlockResult> {
    if target_confirmations < 1 {
        return Err(RpcFailure::new(Code::InvalidParameter, "Invalid parameter"));
    }
    let mut loaded = handle.lock().await;
    let view = sync(svc, &mut loaded).await?;
    // The given block's depth: from it (on the best chain) or from where its branch
    // forks off; the blocks of its branch above the fork are the removed ones.
    let mut depth: Option<i64> = None;
    let mut removed_txids: Vec<Txid> = Vec::new();
    if let Some(hash) = blockhash {
        let header: BlockHeaderVerbose =
            node::call_typed(&svc.node, "getblockheader", json!([hash, true]))
                .await
                .map_err(|_| RpcFailure::new(Code::InvalidAddressOrKey, "Block not found"))?;
        let mut cursor = header;
        // A stale branch is walked back to the fork, at most as many blocks as it has.
        let mut steps = 0u32;
        while cursor.confirmations < 0 {
            let block: GetBlockVerbose =
                node::call_typed(&svc.node, "getblock", json!([cursor.hash, 1])).await?;
            if include_removed {
                removed_txids.extend(block.tx.iter().copied());
            }
            let Some(prev) = cursor.previousblockhash else {
                break;
            };
            cursor = node::call_typed(&svc.node, "getblockheader", json!([prev, true])).await?;
            steps += 1;
            if steps > view.tip_height.saturating_add(1) {
                return Err(RpcFailure::new(
                    Code::Misc,
                    "stale branch longer than the chain",
                ));
            }
        }
        depth = Some(i64::from(view.tip_height) + 1 - i64::from(cursor.height));
    }
    let opts = options(view, include_change);
    let h = &loaded.history;
    let ours = history::our_keys(&loaded.wallet);
    let mut transactions = Vec::new();
    for t in in_order(h) {
        let d = h.depth(t, view.tip_height);
        if depth.is_none_or(|depth| d.abs() < depth) {
            transactions.extend(history::entries(&loaded.wallet, &ours, h, t, opts).0);
        }
    }
    let mut removed = Vec::new();
    for txid in &removed_txids {
        if let Some(t) = h.get(txid) {
            removed.extend(history::entries(&loaded.wallet, &ours, h, t, opts).0);
        }
    }
    let last_height = i64::from(view.tip_height) + 1 - target_confirmations;
    let lastblock = if last_height <= 0 {
        block_hash_at(svc, 0).await?
    } else {
        block_hash_at(svc, u32::try_from(last_height).unwrap_or(0)).await?
    }
    .unwrap_or(view.tip);
    Ok(ListSinceBlockResult {
        transactions,
        removed,
        lastblock,
    })
}

/// `abandontransaction txid`: Core's rules — a wallet transaction neither mined (nor
/// conflicted by a mined one) nor in the node's mempool, not abandoned already.
pub async fn abandontransaction(svc: &Service, handle: &WalletHandle, txid: Txid) -> RpcResult<()> {
    let mut loaded = handle.lock().await;
    let view = sync(svc, &mut loaded).await?;
    let h = &loaded.history;
    let t = h.get(&txid).ok_or_else(not_wallet_tx)?;
    let in_mempool = svc
        .node
        .call("getmempoolentry", json!([txid]))
        .await
        .is_ok();
    if t.abandoned || h.depth(t, view.tip_height) != 0 || in_mempool {
        return Err(RpcFailure::new(
            Code::InvalidAddressOrKey,
            "Transaction not eligible for abandonment",
        ));
    }
    if let Some(t) = loaded.history.get_mut(&txid) {
        t.abandoned = true;
        t.in_mempool = false;
    }
    loaded.history.save()?;
    info!(target: "wallet", wallet = %loaded.name, %txid, "transaction abandoned");
    Ok(())
}

/// Records a transaction the wallet just broadcast, so it is listed before the next sync.
pub fn record_sent(h: &mut History, tx: &dotcoin_common::Transaction) -> RpcResult<()> {
    if h.insert(WalletTx {
        txid: tx.txid(),
        hex: hex::encode(encode::serialize(tx)),
        mined: None,
        time_received: super::now(),
        in_mempool: true,
        replaced_by: None,
        replaces: None,
        abandoned: false,
    }) {
        h.save()?;
    }
    Ok(())
}
