//! Propagation calls (dotcoin's own, no Core counterpart): when this node first saw a
//! block or transaction, from which peer, and when it finished validating it — the
//! first-seen records of [`crate::net::firstseen`], which the network lab gathers from
//! every node (`contrib/lab`, docs/lab.md). Times are Unix milliseconds.

use dotcoin_common::{BlockHash, Txid};
use dotcoin_rpc_server::arg::HashArg;
use jsonrpsee::core::RpcResult;
use jsonrpsee::proc_macros::rpc;
use serde_json::{json, Value};

use super::error::{OkOrRpcError, RpcErrorCode};
use super::RpcContext;
use crate::net::firstseen::BlockRecord;

/// Propagation calls.
#[rpc(server)]
pub trait PropagationRpc {
    /// When this node first saw a block (header and block), from whom, and when it was
    /// stored and connected.
    #[method(name = "getblockpropagation")]
    fn getblockpropagation(&self, blockhash: HashArg<BlockHash>) -> RpcResult<Value>;
    /// When this node first saw a transaction, from whom, and when it was accepted.
    #[method(name = "gettxpropagation")]
    fn gettxpropagation(&self, txid: HashArg<Txid>) -> RpcResult<Value>;
    /// Every block record kept, oldest first.
    #[method(name = "listblockpropagation")]
    fn listblockpropagation(&self) -> RpcResult<Vec<Value>>;
}

/// The plugin.
#[derive(Debug)]
pub struct PropagationRpcImpl {
    ctx: RpcContext,
}

impl PropagationRpcImpl {
    /// A plugin over `ctx`.
    pub fn new(ctx: RpcContext) -> Self {
        PropagationRpcImpl { ctx }
    }
}

fn block_json(hash: &BlockHash, r: &BlockRecord) -> Value {
    json!({
        "hash": hash.to_string(),
        "source": r.source(),
        "header_ms": r.header_ms,
        "header_from": r.header_from,
        "block_ms": r.block_ms,
        "block_from": r.block_from,
        "stored_ms": r.stored_ms,
        "connected_ms": r.connected_ms,
    })
}

impl PropagationRpcServer for PropagationRpcImpl {
    fn getblockpropagation(&self, blockhash: HashArg<BlockHash>) -> RpcResult<Value> {
        let hash = *blockhash;
        let r = self.ctx.net.first_seen().block_record(&hash).ok_or_rpc(
            RpcErrorCode::InvalidAddressOrKey,
            "Block not found in first-seen records",
        )?;
        Ok(block_json(&hash, &r))
    }

    fn gettxpropagation(&self, txid: HashArg<Txid>) -> RpcResult<Value> {
        let txid = *txid;
        let r = self.ctx.net.first_seen().tx_record(&txid).ok_or_rpc(
            RpcErrorCode::InvalidAddressOrKey,
            "Transaction not found in first-seen records",
        )?;
        Ok(json!({
            "txid": txid.to_string(),
            "source": if r.from.is_some() { "peer" } else { "local" },
            "seen_ms": r.seen_ms,
            "from": r.from,
            "accepted_ms": r.accepted_ms,
        }))
    }

    fn listblockpropagation(&self) -> RpcResult<Vec<Value>> {
        Ok(self
            .ctx
            .net
            .first_seen()
            .block_records()
            .iter()
            .map(|(h, r)| block_json(h, r))
            .collect())
    }
}
