//! The node's PSBT calls, as in Bitcoin Core's `rpc/rawtransaction.cpp`: `decodepsbt`,
//! `combinepsbt`, `finalizepsbt`, `analyzepsbt`, `utxoupdatepsbt` and `converttopsbt`.
//! None needs a key: the node parses, merges, finalizes with signatures someone else
//! made, and (the updater) fills in spent outputs from its UTXO set and mempool.

use dotcoin_common::psbt::Psbt;
use dotcoin_common::psbt_rpc_types::{AnalyzePsbtResult, DecodePsbtResult, FinalizePsbtResult};
use dotcoin_common::{deserialize, serialize, OutPoint, Transaction};
use dotcoin_rpc_server::arg::{AnyJson, Flag, Hex, JsonArray, Text, TextList};
use jsonrpsee::core::RpcResult;
use jsonrpsee::proc_macros::rpc;

use super::error::{rpc_error, MapRpcError, RpcErrorCode};
use super::RpcContext;

/// PSBT calls.
#[rpc(server)]
pub trait PsbtRpc {
    /// The PSBT as JSON.
    #[method(name = "decodepsbt")]
    fn decodepsbt(&self, psbt: Text) -> RpcResult<DecodePsbtResult>;
    /// Merges PSBTs of one transaction.
    #[method(name = "combinepsbt")]
    fn combinepsbt(&self, txs: TextList) -> RpcResult<String>;
    /// Finalizes and (by default) extracts.
    #[method(name = "finalizepsbt")]
    fn finalizepsbt(&self, psbt: Text, extract: Option<Flag>) -> RpcResult<FinalizePsbtResult>;
    /// What the PSBT needs next.
    #[method(name = "analyzepsbt")]
    fn analyzepsbt(&self, psbt: Text) -> RpcResult<AnalyzePsbtResult>;
    /// Fills in spent outputs from the UTXO set and mempool.
    #[method(name = "utxoupdatepsbt", blocking)]
    fn utxoupdatepsbt(
        &self,
        psbt: Text,
        descriptors: Option<JsonArray<AnyJson>>,
    ) -> RpcResult<String>;
    /// A PSBT of a raw transaction.
    #[method(name = "converttopsbt")]
    fn converttopsbt(
        &self,
        hexstring: Hex,
        permitsigdata: Option<Flag>,
        iswitness: Option<Flag>,
    ) -> RpcResult<String>;
}

/// Implementation of [`PsbtRpcServer`].
#[derive(Debug, Clone)]
pub struct PsbtRpcImpl {
    ctx: RpcContext,
}

impl PsbtRpcImpl {
    /// Serves `ctx`.
    pub fn new(ctx: RpcContext) -> Self {
        PsbtRpcImpl { ctx }
    }
}

/// A PSBT from base64, or Core's `-22` "TX decode failed …".
fn decode(text: &str) -> RpcResult<Psbt> {
    Psbt::from_base64(text).map_err(|e| {
        rpc_error(
            RpcErrorCode::Deserialization,
            format!("TX decode failed {e}"),
        )
    })
}

impl PsbtRpcServer for PsbtRpcImpl {
    fn decodepsbt(&self, psbt: Text) -> RpcResult<DecodePsbtResult> {
        let psbt = decode(&psbt)?;
        Ok(DecodePsbtResult::from_psbt(
            &psbt,
            self.ctx.chain.params().network,
        ))
    }

    fn combinepsbt(&self, txs: TextList) -> RpcResult<String> {
        if txs.is_empty() {
            return Err(rpc_error(
                RpcErrorCode::InvalidParameter,
                "Parameter 'txs' cannot be empty",
            ));
        }
        let list = txs
            .iter()
            .map(|t| decode(t))
            .collect::<RpcResult<Vec<Psbt>>>()?;
        let merged = Psbt::combine_all(&list)
            .map_err(|e| rpc_error(RpcErrorCode::InvalidParameter, e.to_string()))?;
        Ok(merged.to_base64())
    }

    fn finalizepsbt(&self, psbt: Text, extract: Option<Flag>) -> RpcResult<FinalizePsbtResult> {
        let mut psbt = decode(&psbt)?;
        let complete = psbt.finalize();
        let extract = extract.is_none_or(|f| *f);
        match psbt.extract().filter(|_| complete && extract) {
            Some(tx) => Ok(FinalizePsbtResult {
                psbt: None,
                hex: Some(hex::encode(serialize(&tx))),
                complete,
            }),
            None => Ok(FinalizePsbtResult {
                psbt: Some(psbt.to_base64()),
                hex: None,
                complete,
            }),
        }
    }

    fn analyzepsbt(&self, psbt: Text) -> RpcResult<AnalyzePsbtResult> {
        Ok(AnalyzePsbtResult::from_psbt(&decode(&psbt)?))
    }

    fn utxoupdatepsbt(
        &self,
        psbt: Text,
        descriptors: Option<JsonArray<AnyJson>>,
    ) -> RpcResult<String> {
        if descriptors.is_some_and(|d| !d.is_empty()) {
            // Descriptors add key origins; the spent outputs need none.
            return Err(rpc_error(
                RpcErrorCode::InvalidParameter,
                "descriptors are not supported here: the spent outputs are filled in without them",
            ));
        }
        let mut psbt = decode(&psbt)?;
        let state = self.ctx.chain.snapshot();
        for (input, txin) in psbt.inputs.iter_mut().zip(&psbt.tx.inputs) {
            if input.witness_utxo.is_some() {
                continue;
            }
            let op: OutPoint = txin.prevout;
            // The UTXO set first, then outputs of transactions still in the mempool.
            let coin = state.coin(&op).map_rpc(RpcErrorCode::Database)?;
            input.witness_utxo = match coin {
                Some(c) => Some(c.output),
                None => state
                    .mempool()
                    .get(&op.txid)
                    .and_then(|e| e.tx.outputs.get(op.vout as usize).copied()),
            };
        }
        Ok(psbt.to_base64())
    }

    fn converttopsbt(
        &self,
        hexstring: Hex,
        permitsigdata: Option<Flag>,
        _iswitness: Option<Flag>,
    ) -> RpcResult<String> {
        let tx: Transaction = deserialize(&hexstring)
            .map_err(|_| rpc_error(RpcErrorCode::Deserialization, "TX decode failed"))?;
        let permit = permitsigdata.is_some_and(|f| *f);
        if !permit && tx.inputs.iter().any(|i| !i.witness.is_empty()) {
            return Err(rpc_error(
                RpcErrorCode::Deserialization,
                "Inputs must not have scriptSigs and scriptWitnesses",
            ));
        }
        Ok(Psbt::from_unsigned_tx(tx).to_base64())
    }
}
