//! `lockunspent` / `listlockunspent`: coins the wallet's own coin selection leaves alone.
//! A lock with `persistent=true` is kept in the wallet's history file and survives
//! restarts and reloads; any other lives in memory until the wallet unloads. Unlocking
//! removes both kinds, as in Core.

use std::collections::HashSet;

use dotcoin_common::rpc_types::AddressUtxo;
use dotcoin_common::wallet_rpc_types::LockedOutput;
use dotcoin_common::Txid;
use dotcoin_rpc_server::arg::{FromParam, HashArg};
use serde::Deserialize;
use serde_json::Value;

use super::params::{Code, RpcFailure, RpcResult};
use super::{Service, WalletHandle};
use crate::node;

/// One element of `lockunspent`'s `transactions`, as Core reads it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputArg {
    /// The transaction id.
    pub txid: String,
    /// The output number.
    pub vout: i64,
}

fn invalid(message: &str) -> RpcFailure {
    RpcFailure::new(Code::InvalidParameter, message)
}

/// `lockunspent unlock transactions persistent`.
pub async fn lockunspent(
    svc: &Service,
    handle: &WalletHandle,
    unlock: bool,
    transactions: Option<Vec<OutputArg>>,
    persistent: bool,
) -> RpcResult<bool> {
    let mut loaded = handle.lock().await;
    let Some(transactions) = transactions else {
        if unlock {
            loaded.history.memory_locks.clear();
            if !loaded.history.persistent_locks().is_empty() {
                loaded.history.set_persistent_locks(Vec::new());
                loaded.history.save()?;
            }
        }
        return Ok(true);
    };
    super::history::sync(svc, &mut loaded).await?;
    // The coins still unspent, to refuse a lock of a spent one as Core does.
    let utxos = node::address_utxos(&svc.node, &loaded.wallet.watched_addresses()).await?;
    let unspent: HashSet<(String, u32)> = utxos
        .iter()
        .filter(|u| !u.spent_in_mempool)
        .map(|u: &AddressUtxo| (u.txid.to_string(), u.output_index))
        .collect();
    let mut outputs = Vec::with_capacity(transactions.len());
    for o in &transactions {
        let txid = HashArg::<Txid>::from_param(&Value::String(o.txid.clone()), "txid")?.0;
        if o.vout < 0 {
            return Err(invalid("Invalid parameter, vout cannot be negative"));
        }
        let vout = u32::try_from(o.vout)
            .map_err(|_| invalid("Invalid parameter, vout index out of bounds"))?;
        let t = loaded
            .history
            .get(&txid)
            .ok_or_else(|| invalid("Invalid parameter, unknown transaction"))?;
        let n_outputs = t
            .tx()
            .map_err(|e| RpcFailure::new(Code::Wallet, format!("history record: {e}")))?
            .outputs
            .len();
        if vout as usize >= n_outputs {
            return Err(invalid("Invalid parameter, vout index out of bounds"));
        }
        if !unlock && !unspent.contains(&(txid.to_string(), vout)) {
            return Err(invalid("Invalid parameter, expected unspent output"));
        }
        let coin = LockedOutput { txid, vout };
        let locked = loaded.history.is_locked(&coin);
        if unlock && !locked {
            return Err(invalid("Invalid parameter, expected locked output"));
        }
        if !unlock && locked {
            return Err(invalid("Invalid parameter, output already locked"));
        }
        outputs.push(coin);
    }
    // Every element checked first: a refused call changes nothing.
    let mut persistent_locks = loaded.history.persistent_locks().to_vec();
    for coin in outputs {
        if unlock {
            loaded.history.memory_locks.remove(&coin);
            persistent_locks.retain(|c| *c != coin);
        } else if persistent {
            persistent_locks.push(coin);
        } else {
            loaded.history.memory_locks.insert(coin);
        }
    }
    if persistent_locks != loaded.history.persistent_locks() {
        loaded.history.set_persistent_locks(persistent_locks);
        loaded.history.save()?;
    }
    Ok(true)
}

/// `listlockunspent`: every locked coin, persistent or not.
pub async fn listlockunspent(handle: &WalletHandle) -> RpcResult<Vec<LockedOutput>> {
    let loaded = handle.lock().await;
    let h = &loaded.history;
    let mut all: Vec<LockedOutput> = h.memory_locks.iter().copied().collect();
    all.extend(h.persistent_locks().iter().copied());
    all.sort();
    all.dedup();
    Ok(all)
}

/// `utxos` without the locked coins: what coin selection may spend.
pub fn unlocked(h: &crate::history::History, utxos: Vec<AddressUtxo>) -> Vec<AddressUtxo> {
    utxos
        .into_iter()
        .filter(|u| {
            !h.is_locked(&LockedOutput {
                txid: u.txid,
                vout: u.output_index,
            })
        })
        .collect()
}
