//! Mempool and raw transaction calls.

use dotcoin_common::consensus::ValidationError;
use dotcoin_common::{deserialize, serialize, Transaction};
use jsonrpsee::core::RpcResult;
use jsonrpsee::proc_macros::rpc;
use jsonrpsee::types::ErrorObjectOwned;
use serde_json::{json, Value};

use super::error::{rpc_error, MapRpcError, OkOrRpcError, RpcErrorCode};
use super::json::{confirmations, tx_to_json};
use super::params::{blockhash_param, hex_param, opt_bool, required, txid_param};
use super::RpcContext;
use crate::mempool::{MempoolEntry, MempoolError};
use crate::state::Snapshot;

/// Mempool and raw transaction calls.
#[rpc(server, client)]
pub trait RawTransactionsRpc {
    /// Pool statistics.
    #[method(name = "getmempoolinfo")]
    fn getmempoolinfo(&self) -> RpcResult<Value>;
    /// Pool txids or entries.
    #[method(name = "getrawmempool")]
    fn getrawmempool(&self, verbose: Option<Value>) -> RpcResult<Value>;
    /// One pool entry.
    #[method(name = "getmempoolentry")]
    fn getmempoolentry(&self, txid: Option<Value>) -> RpcResult<Value>;
    /// Submit a signed transaction.
    #[method(name = "sendrawtransaction", blocking)]
    fn sendrawtransaction(
        &self,
        hexstring: Option<Value>,
        maxfeerate: Option<Value>,
    ) -> RpcResult<String>;
    /// Would the pool accept these?
    #[method(name = "testmempoolaccept", blocking)]
    fn testmempoolaccept(&self, rawtxs: Option<Value>) -> RpcResult<Value>;
    /// Decode a transaction.
    #[method(name = "decoderawtransaction")]
    fn decoderawtransaction(&self, hexstring: Option<Value>) -> RpcResult<Value>;
    /// A transaction by txid.
    #[method(name = "getrawtransaction", blocking)]
    fn getrawtransaction(
        &self,
        txid: Option<Value>,
        verbose: Option<Value>,
        blockhash: Option<Value>,
    ) -> RpcResult<Value>;
}

/// Implementation of [`RawTransactionsRpcServer`].
#[derive(Debug)]
pub struct RawTransactionsRpcImpl {
    ctx: RpcContext,
}

impl RawTransactionsRpcImpl {
    /// A plugin over `ctx`.
    pub fn new(ctx: RpcContext) -> Self {
        RawTransactionsRpcImpl { ctx }
    }
}

fn decode_tx(v: Option<Value>, name: &str) -> Result<Transaction, ErrorObjectOwned> {
    let bytes = hex_param(&required(v, name)?, name)?;
    deserialize(&bytes).map_err(|e| {
        rpc_error(
            RpcErrorCode::Deserialization,
            format!("TX decode failed: {e}"),
        )
    })
}

fn entry_json(state: &Snapshot, e: &MempoolEntry) -> Value {
    let pool = state.mempool();
    json!({
        "size": e.size,
        "fee": e.fee,
        "fees": { "base": e.fee },
        "feerate": e.fee_rate_per_kb(),
        "time": e.time,
        "height": e.height,
        "depends": pool.parents_of(&e.tx),
        "spentby": pool.children_of(&e.txid),
        "wtxid": e.tx.wtxid(),
    })
}

/// Bitcoin Core's code for a refused transaction: -25 for missing inputs, -27 for a
/// confirmed transaction, -26 otherwise (the pool itself knows no RPC codes).
fn mempool_reject(e: MempoolError) -> ErrorObjectOwned {
    let code = match &e {
        MempoolError::Invalid(ValidationError::MissingOrSpent { .. }) => RpcErrorCode::Verify,
        MempoolError::AlreadyInChain(_) => RpcErrorCode::AlreadyInChain,
        MempoolError::Store(_) => RpcErrorCode::Misc,
        _ => RpcErrorCode::VerifyRejected,
    };
    rpc_error(code, e.to_string())
}

impl RawTransactionsRpcServer for RawTransactionsRpcImpl {
    fn getmempoolinfo(&self) -> RpcResult<Value> {
        let state = self.ctx.chain.snapshot();
        let p = state.mempool();
        Ok(json!({
            "loaded": true,
            "size": p.len(),
            "bytes": p.total_size(),
            "usage": p.total_size(),
            "maxmempool": p.max_size(),
            "mempoolminfee": p.min_fee_rate() as f64 / 1e8,
            "minrelaytxfee": p.min_fee_rate() as f64 / 1e8,
        }))
    }

    fn getrawmempool(&self, verbose: Option<Value>) -> RpcResult<Value> {
        let verbose = opt_bool(verbose, "verbose", false)?;
        let state = self.ctx.chain.snapshot();
        let entries = state.mempool().entries();
        if !verbose {
            return Ok(json!(entries
                .iter()
                .map(|e| e.txid.to_string())
                .collect::<Vec<_>>()));
        }
        let mut map = serde_json::Map::new();
        for e in entries {
            map.insert(e.txid.to_string(), entry_json(&state, e));
        }
        Ok(Value::Object(map))
    }

    fn getmempoolentry(&self, txid: Option<Value>) -> RpcResult<Value> {
        let txid = txid_param(&required(txid, "txid")?, "txid")?;
        let state = self.ctx.chain.snapshot();
        let e = state.mempool().get(&txid).ok_or_rpc(
            RpcErrorCode::InvalidAddressOrKey,
            "Transaction not in mempool",
        )?;
        Ok(entry_json(&state, e))
    }

    fn sendrawtransaction(
        &self,
        hexstring: Option<Value>,
        _maxfeerate: Option<Value>,
    ) -> RpcResult<String> {
        let tx = decode_tx(hexstring, "hexstring")?;
        let txid = tx.txid();
        if self.ctx.chain.snapshot().mempool().contains(&txid) {
            // Bitcoin Core answers a resubmission with the txid, not an error.
            return Ok(txid.to_string());
        }
        self.ctx
            .chain
            .accept_transaction(&tx)
            .map_err(mempool_reject)?;
        Ok(txid.to_string())
    }

    fn testmempoolaccept(&self, rawtxs: Option<Value>) -> RpcResult<Value> {
        let list = required(rawtxs, "rawtxs")?;
        let items = list.as_array().ok_or_else(|| {
            rpc_error(
                RpcErrorCode::Type,
                "JSON value is not of expected type array for parameter 'rawtxs'",
            )
        })?;
        let mut results = Vec::with_capacity(items.len());
        let state = self.ctx.chain.snapshot();
        for item in items {
            let tx = decode_tx(Some(item.clone()), "rawtxs")?;
            let mut r = json!({ "txid": tx.txid(), "wtxid": tx.wtxid() });
            match state.check_transaction(&tx) {
                Ok(e) => {
                    r["allowed"] = json!(true);
                    r["vsize"] = json!(e.size);
                    r["fees"] = json!({ "base": e.fee });
                }
                Err(e) => {
                    r["allowed"] = json!(false);
                    r["reject-reason"] = json!(e.to_string());
                }
            }
            results.push(r);
        }
        Ok(json!(results))
    }

    fn decoderawtransaction(&self, hexstring: Option<Value>) -> RpcResult<Value> {
        let tx = decode_tx(hexstring, "hexstring")?;
        let mut v = tx_to_json(&tx, self.ctx.chain.params().network);
        if let Some(o) = v.as_object_mut() {
            o.remove("hex");
        }
        Ok(v)
    }

    fn getrawtransaction(
        &self,
        txid: Option<Value>,
        verbose: Option<Value>,
        blockhash: Option<Value>,
    ) -> RpcResult<Value> {
        let txid = txid_param(&required(txid, "txid")?, "txid")?;
        let verbose = opt_bool(verbose, "verbose", false)?;
        let wanted_block = match blockhash {
            None | Some(Value::Null) => None,
            Some(v) => Some(blockhash_param(&v, "blockhash")?),
        };
        let network = self.ctx.chain.params().network;
        let state = self.ctx.chain.snapshot();
        if wanted_block.is_none() {
            if let Some(e) = state.mempool().get(&txid) {
                return Ok(if verbose {
                    tx_to_json(&e.tx, network)
                } else {
                    json!(hex::encode(serialize(&e.tx)))
                });
            }
        }
        let chain = &state;
        let (block_hash, index) = match wanted_block {
            Some(b) => {
                let block = chain
                    .block(&b)
                    .map_rpc(RpcErrorCode::Database)?
                    .ok_or_rpc(RpcErrorCode::InvalidAddressOrKey, "Block hash not found")?;
                let i = block
                    .txdata
                    .iter()
                    .position(|t| t.txid() == txid)
                    .ok_or_rpc(
                        RpcErrorCode::InvalidAddressOrKey,
                        "No such transaction found in the provided block",
                    )?;
                (b, i)
            }
            None => {
                let loc = chain
                    .tx_location(&txid)
                    .map_rpc(RpcErrorCode::Database)?
                    .ok_or_rpc(
                        RpcErrorCode::InvalidAddressOrKey,
                        "No such mempool or blockchain transaction",
                    )?;
                (loc.block, loc.index as usize)
            }
        };
        let block = chain
            .block(&block_hash)
            .map_rpc(RpcErrorCode::Database)?
            .ok_or_rpc(RpcErrorCode::Database, "block data missing")?;
        let tx = &block.txdata[index];
        if !verbose {
            return Ok(json!(hex::encode(serialize(tx))));
        }
        let mut v = tx_to_json(tx, network);
        if let Some(entry) = chain.index().get(&block_hash) {
            v["blockhash"] = json!(block_hash);
            v["confirmations"] = json!(confirmations(chain, entry).max(0));
            v["time"] = json!(entry.header.time);
            v["blocktime"] = json!(entry.header.time);
        }
        Ok(v)
    }
}
