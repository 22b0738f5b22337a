//! Bitcoin Core-shaped JSON for transactions, headers and blocks.

use dotcoin_common::pow::difficulty;
use dotcoin_common::{serialize, Address, Block, Network, Transaction};
use serde_json::{json, Value};

use crate::chain::IndexEntry;
use crate::state::Snapshot;

/// A transaction as `getrawtransaction … true` / `decoderawtransaction` show it.
pub fn tx_to_json(tx: &Transaction, network: Network) -> Value {
    let vin: Vec<Value> = tx
        .inputs
        .iter()
        .map(|i| {
            if tx.is_coinbase() {
                json!({ "coinbase": hex::encode(&i.witness), "height": i.prevout.vout })
            } else {
                json!({
                    "txid": i.prevout.txid,
                    "vout": i.prevout.vout,
                    "witness": hex::encode(&i.witness),
                })
            }
        })
        .collect();
    let vout: Vec<Value> = tx
        .outputs
        .iter()
        .enumerate()
        .map(|(n, o)| {
            json!({
                "value": o.value,
                "n": n,
                "address": Address::new(network, o.pubkey).to_string(),
                "pubkey": o.pubkey.to_string(),
            })
        })
        .collect();
    json!({
        "txid": tx.txid(),
        "hash": tx.wtxid(),
        "version": tx.version,
        "size": tx.size(),
        "locktime": tx.lock_time,
        "vin": vin,
        "vout": vout,
        "hex": hex::encode(serialize(tx)),
    })
}

/// Confirmations of a block: tip height - height + 1 on the active chain, -1 off it.
pub fn confirmations(chain: &Snapshot, entry: &IndexEntry) -> i64 {
    if chain.index().is_active(entry) {
        (chain.height() - entry.height) as i64 + 1
    } else {
        -1
    }
}

/// A header as `getblockheader` shows it.
pub fn header_to_json(chain: &Snapshot, entry: &IndexEntry) -> Value {
    let h = &entry.header;
    let mut v = json!({
        "hash": entry.hash,
        "confirmations": confirmations(chain, entry),
        "height": entry.height,
        "version": h.version,
        "versionHex": format!("{:08x}", h.version),
        "merkleroot": h.merkle_root,
        "time": h.time,
        "mediantime": dotcoin_common::pow::median_time_past(&chain.index().last_times(&entry.hash)),
        "nonce": h.nonce,
        "bits": h.bits.to_string(),
        "difficulty": difficulty(h.bits),
        "chainwork": format!("{:064x}", entry.chainwork),
    });
    if entry.height > 0 {
        v["previousblockhash"] = json!(h.prev_blockhash);
    }
    if chain.index().is_active(entry) {
        if let Some(next) = chain.index().active_hash(entry.height + 1) {
            v["nextblockhash"] = json!(next);
        }
    }
    v
}

/// A block as `getblock` shows it at verbosity 1 (txids) or 2 (transactions).
pub fn block_to_json(chain: &Snapshot, entry: &IndexEntry, block: &Block, verbosity: u32) -> Value {
    let mut v = header_to_json(chain, entry);
    let network = chain.params().network;
    v["size"] = json!(block.size());
    v["nTx"] = json!(block.txdata.len());
    v["tx"] = if verbosity >= 2 {
        block
            .txdata
            .iter()
            .map(|tx| tx_to_json(tx, network))
            .collect()
    } else {
        block.txdata.iter().map(|tx| json!(tx.txid())).collect()
    };
    v
}
