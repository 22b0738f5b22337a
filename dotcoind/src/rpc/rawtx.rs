//! Mempool and raw transaction calls.

use std::collections::BTreeSet;

use dotcoin_common::consensus::ValidationError;
use dotcoin_common::rpc_types::{
    DecodedTx, MempoolEntry as MempoolEntryInfo, MempoolEntryFees, MempoolFees, MempoolInfo,
    TestMempoolAcceptResult, TxVerbose,
};
use dotcoin_common::{deserialize, serialize, Amount, BlockHash, FeeRate, Transaction, Txid};
use dotcoin_rpc_server::arg::{
    amount_from_value, DotPerKvb, Flag, HashArg, Hex, HexList, Json, JsonArray, RawTxVerbosity,
    Uint,
};
use jsonrpsee::core::{async_trait, RpcResult};
use jsonrpsee::proc_macros::rpc;
use jsonrpsee::types::ErrorObjectOwned;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::error::{rpc_error, MapRpcError, OkOrRpcError, RpcErrorCode};
use super::json::{confirmations, GetRawMempoolResult, GetRawTransactionResult};
use super::mining::parse_address;
use super::RpcContext;
use crate::mempool::{MempoolEntry, MempoolError};
use crate::state::Snapshot;

/// Mempool and raw transaction calls.
#[rpc(server)]
pub trait RawTransactionsRpc {
    /// Pool statistics.
    #[method(name = "getmempoolinfo")]
    fn getmempoolinfo(&self) -> RpcResult<MempoolInfo>;
    /// Pool txids or entries.
    #[method(name = "getrawmempool")]
    fn getrawmempool(
        &self,
        verbose: Option<Flag>,
        mempool_sequence: Option<Flag>,
    ) -> RpcResult<GetRawMempoolResult>;
    /// One pool entry.
    #[method(name = "getmempoolentry")]
    fn getmempoolentry(&self, txid: HashArg<Txid>) -> RpcResult<MempoolEntryInfo>;
    /// Submit a signed transaction.
    #[method(name = "sendrawtransaction")]
    async fn sendrawtransaction(
        &self,
        hexstring: Hex,
        maxfeerate: Option<DotPerKvb>,
    ) -> RpcResult<Txid>;
    /// Would the pool accept these?
    #[method(name = "testmempoolaccept")]
    async fn testmempoolaccept(
        &self,
        rawtxs: HexList,
        maxfeerate: Option<DotPerKvb>,
    ) -> RpcResult<Vec<TestMempoolAcceptResult>>;
    /// Decode a transaction.
    #[method(name = "decoderawtransaction")]
    fn decoderawtransaction(&self, hexstring: Hex) -> RpcResult<DecodedTx>;
    /// An unsigned transaction from inputs and outputs.
    #[method(name = "createrawtransaction")]
    fn createrawtransaction(
        &self,
        inputs: JsonArray<RawTxInput>,
        outputs: Json<RawTxOutputs>,
        locktime: Option<Uint>,
    ) -> RpcResult<String>;
    /// A transaction by txid.
    #[method(name = "getrawtransaction", blocking)]
    fn getrawtransaction(
        &self,
        txid: HashArg<Txid>,
        verbose: Option<RawTxVerbosity>,
        blockhash: Option<HashArg<BlockHash>>,
    ) -> RpcResult<GetRawTransactionResult>;
}

/// One input of `createrawtransaction`: the output it spends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct RawTxInput {
    /// The transaction holding the output.
    pub txid: HashArg<Txid>,
    /// The output's index.
    pub vout: Uint,
}

/// The outputs of `createrawtransaction`, in order: Core takes an object
/// `{"address": amount, ...}` or an array of one-key objects `[{"address": amount}, ...]`;
/// amounts are in DOT, and an address may appear once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawTxOutputs(pub Vec<(String, Amount)>);

impl<'de> Deserialize<'de> for RawTxOutputs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let pairs: Vec<(String, Value)> = match Value::deserialize(d)? {
            Value::Object(map) => map.into_iter().collect(),
            Value::Array(list) => {
                let mut pairs = Vec::with_capacity(list.len());
                for item in list {
                    match item {
                        Value::Object(map) => pairs.extend(map),
                        other => {
                            return Err(D::Error::custom(format!(
                                "Invalid parameter, output is not an object: {other}"
                            )))
                        }
                    }
                }
                pairs
            }
            other => {
                return Err(D::Error::custom(format!(
                    "Expected type object or array, got {other}"
                )))
            }
        };
        if pairs.is_empty() {
            return Err(D::Error::custom("Invalid parameter, outputs are empty"));
        }
        let mut seen = std::collections::HashSet::new();
        let mut outputs = Vec::with_capacity(pairs.len());
        for (address, amount) in pairs {
            if !seen.insert(address.clone()) {
                return Err(D::Error::custom(format!(
                    "Invalid parameter, duplicated address: {address}"
                )));
            }
            let amount = amount_from_value(&amount).map_err(D::Error::custom)?;
            outputs.push((address, amount));
        }
        Ok(RawTxOutputs(outputs))
    }
}

/// Most transactions `testmempoolaccept` takes at once (Core's `MAX_PACKAGE_COUNT`).
pub const MAX_PACKAGE_COUNT: usize = 25;

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

fn decode_tx(bytes: &[u8]) -> Result<Transaction, ErrorObjectOwned> {
    deserialize(bytes).map_err(|e| {
        rpc_error(
            RpcErrorCode::Deserialization,
            format!("TX decode failed: {e}"),
        )
    })
}

/// The pool transactions reachable from `txid` through `next` (its parents or its
/// children), `txid` itself left out.
pub(super) fn reachable(
    state: &Snapshot,
    txid: Txid,
    next: impl Fn(&Snapshot, &Txid) -> Vec<Txid>,
) -> BTreeSet<Txid> {
    let mut seen = BTreeSet::new();
    let mut todo = vec![txid];
    while let Some(t) = todo.pop() {
        for n in next(state, &t) {
            if n != txid && seen.insert(n) {
                todo.push(n);
            }
        }
    }
    seen
}

/// The parents of a pool transaction that are in the pool.
pub(super) fn pool_parents(state: &Snapshot, txid: &Txid) -> Vec<Txid> {
    state
        .mempool()
        .get(txid)
        .map_or_else(Vec::new, |e| state.mempool().parents_of(&e.tx))
}

/// A pool entry as `getmempoolentry` prints it.
pub(super) fn entry_info(state: &Snapshot, e: &MempoolEntry) -> MempoolEntryInfo {
    let pool = state.mempool();
    // Core's package figures count the transaction itself.
    let family = |txids: BTreeSet<Txid>| {
        txids.iter().filter_map(|t| pool.get(t)).chain([e]).fold(
            (0u64, 0u64, Amount::ZERO),
            |(n, size, fee), m| {
                (
                    n + 1,
                    size + m.size as u64,
                    fee.checked_add(m.fee).unwrap_or(fee),
                )
            },
        )
    };
    let (ancestorcount, ancestorsize, ancestor) = family(reachable(state, e.txid, pool_parents));
    let (descendantcount, descendantsize, descendant) =
        family(reachable(state, e.txid, |s, t| s.mempool().children_of(t)));
    let size = e.size as u64;
    MempoolEntryInfo {
        vsize: size,
        weight: 4 * size,
        fee: e.fee,
        fees: MempoolEntryFees {
            base: e.fee,
            modified: e.fee,
            ancestor,
            descendant,
        },
        feerate: e.fee_rate(),
        time: e.time,
        height: e.height,
        descendantcount,
        descendantsize,
        ancestorcount,
        ancestorsize,
        wtxid: e.tx.wtxid(),
        depends: pool.parents_of(&e.tx),
        spentby: pool.children_of(&e.txid),
        bip125_replaceable: false,
        unbroadcast: false,
    }
}

/// The outputs a mempool transaction spends, in input order: from the UTXO set, or from
/// its parents in the pool (shown at the next block's height, where they would confirm).
fn mempool_spent(
    state: &Snapshot,
    tx: &Transaction,
) -> Result<Vec<dotcoin_common::consensus::Coin>, ErrorObjectOwned> {
    let mut coins = Vec::with_capacity(tx.inputs.len());
    for input in &tx.inputs {
        let op = input.prevout;
        let coin = match state.coin(&op).map_rpc(RpcErrorCode::Database)? {
            Some(c) => Some(c),
            None => state
                .mempool()
                .get(&op.txid)
                .and_then(|p| p.tx.outputs.get(op.vout as usize))
                .map(|o| dotcoin_common::consensus::Coin {
                    output: *o,
                    height: state.height() + 1,
                    is_coinbase: false,
                }),
        };
        match coin {
            Some(c) => coins.push(c),
            // Not known: no prevouts at all rather than some.
            None => return Ok(Vec::new()),
        }
    }
    Ok(coins)
}

/// `maxfeerate`'s default: Bitcoin Core's 0.10 per kvB, here in DOT.
pub const DEFAULT_MAX_RAW_TX_FEE_RATE: FeeRate = FeeRate::from_sat_per_kvb(10_000_000);

/// Bitcoin Core's code for a refused transaction: -25 for missing inputs, -27 for a
/// confirmed transaction, -26 otherwise (the pool itself knows no RPC codes).
fn mempool_reject(e: MempoolError) -> ErrorObjectOwned {
    if let MempoolError::MaxFeeExceeded { .. } = e {
        // Core's words, then ours with the figures.
        return rpc_error(
            RpcErrorCode::Verify,
            format!("Fee exceeds maximum configured by user (e.g. -maxtxfee, maxfeerate): {e}"),
        );
    }
    let code = match &e {
        MempoolError::Invalid(ValidationError::MissingOrSpent { .. }) => RpcErrorCode::Verify,
        MempoolError::AlreadyInChain(_) => RpcErrorCode::AlreadyInChain,
        MempoolError::Store(_) => RpcErrorCode::Misc,
        _ => RpcErrorCode::VerifyRejected,
    };
    rpc_error(code, e.to_string())
}

#[async_trait]
impl RawTransactionsRpcServer for RawTransactionsRpcImpl {
    fn getmempoolinfo(&self) -> RpcResult<MempoolInfo> {
        let state = self.ctx.chain.snapshot();
        let p = state.mempool();
        let min = Amount::from_sat(p.min_fee_rate().to_sat_per_kvb());
        let pool_min = p.min_fee_at(crate::util::unix_time()).max(p.min_fee_rate());
        let total_fee = Amount::checked_sum(p.entries().iter().map(|e| e.fee))
            .ok_or_else(|| rpc_error(RpcErrorCode::Misc, "pool fees above MAX_MONEY"))?;
        Ok(MempoolInfo {
            loaded: true,
            size: p.len() as u64,
            bytes: p.total_size() as u64,
            usage: p.total_size() as u64,
            total_fee,
            maxmempool: p.max_size() as u64,
            mempoolminfee: Amount::from_sat(pool_min.to_sat_per_kvb()),
            minrelaytxfee: min,
            incrementalrelayfee: min,
            unbroadcastcount: 0,
            fullrbf: false,
        })
    }

    fn getrawmempool(
        &self,
        verbose: Option<Flag>,
        mempool_sequence: Option<Flag>,
    ) -> RpcResult<GetRawMempoolResult> {
        let verbose = verbose.is_some_and(|v| v.0);
        let sequenced = mempool_sequence.is_some_and(|s| s.0);
        if verbose && sequenced {
            // Core's refusal, word for word.
            return Err(rpc_error(
                RpcErrorCode::InvalidParameter,
                "Verbose results cannot contain mempool sequence values.",
            ));
        }
        let state = self.ctx.chain.snapshot();
        let entries = state.mempool().entries();
        if sequenced {
            return Ok(GetRawMempoolResult::Sequenced {
                txids: entries.iter().map(|e| e.txid).collect(),
                mempool_sequence: state.mempool().mempool_sequence(),
            });
        }
        if !verbose {
            return Ok(GetRawMempoolResult::Txids(
                entries.iter().map(|e| e.txid).collect(),
            ));
        }
        Ok(GetRawMempoolResult::Verbose(
            entries
                .into_iter()
                .map(|e| (e.txid, entry_info(&state, e)))
                .collect(),
        ))
    }

    fn getmempoolentry(&self, txid: HashArg<Txid>) -> RpcResult<MempoolEntryInfo> {
        let state = self.ctx.chain.snapshot();
        let e = state.mempool().get(&txid).ok_or_rpc(
            RpcErrorCode::InvalidAddressOrKey,
            "Transaction not in mempool",
        )?;
        Ok(entry_info(&state, e))
    }

    async fn sendrawtransaction(
        &self,
        hexstring: Hex,
        maxfeerate: Option<DotPerKvb>,
    ) -> RpcResult<Txid> {
        let tx = decode_tx(&hexstring)?;
        let max = maxfeerate.map_or(DEFAULT_MAX_RAW_TX_FEE_RATE, |m| m.0);
        let txid = tx.txid();
        if self.ctx.chain.snapshot().mempool().contains(&txid) {
            // Bitcoin Core answers a resubmission with the txid, not an error.
            return Ok(txid);
        }
        // Through the plugins' mempool_accept hooks, if any.
        self.ctx
            .plugins
            .accept_transaction(tx, max)
            .await
            .map_err(mempool_reject)?;
        Ok(txid)
    }

    async fn testmempoolaccept(
        &self,
        rawtxs: HexList,
        maxfeerate: Option<DotPerKvb>,
    ) -> RpcResult<Vec<TestMempoolAcceptResult>> {
        let max = maxfeerate.map_or(DEFAULT_MAX_RAW_TX_FEE_RATE, |m| m.0);
        let items = rawtxs.0;
        // Core's package limit: a caller cannot queue unbounded validation in one call.
        if items.is_empty() || items.len() > MAX_PACKAGE_COUNT {
            return Err(rpc_error(
                RpcErrorCode::InvalidParameter,
                format!("Array must contain between 1 and {MAX_PACKAGE_COUNT} transactions."),
            ));
        }
        let txs = items
            .iter()
            .map(|item| decode_tx(item))
            .collect::<RpcResult<Vec<Transaction>>>()?;
        let chain = std::sync::Arc::clone(&self.ctx.chain);
        // Signature checks are CPU work: off the async threads.
        let checked = tokio::task::spawn_blocking(move || {
            let state = chain.snapshot();
            txs.into_iter()
                .map(|tx| {
                    let r = state
                        .check_transaction(&tx)
                        .and_then(|e| e.check_max_fee_rate(max).map(|()| (e.fee, e.size)));
                    (tx, r)
                })
                .collect::<Vec<_>>()
        })
        .await
        .map_err(|_| rpc_error(RpcErrorCode::Misc, "validation task failed"))?;
        let mut results = Vec::with_capacity(checked.len());
        for (tx, checked) in checked {
            let mut r = TestMempoolAcceptResult {
                txid: tx.txid(),
                wtxid: tx.wtxid(),
                allowed: false,
                vsize: None,
                fees: None,
                reject_reason: None,
            };
            // The plugins' policy is part of what the pool would accept.
            let checked = match checked {
                Ok((fee, size)) => match self.ctx.plugins.mempool_accept(&tx, fee, size).await {
                    Ok(()) => Ok((fee, size)),
                    Err(refusal) => Err(MempoolError::Plugin {
                        plugin: refusal.plugin,
                        reason: refusal.reason,
                    }),
                },
                Err(e) => Err(e),
            };
            match checked {
                Ok((fee, size)) => {
                    r.allowed = true;
                    r.vsize = Some(size as u64);
                    r.fees = Some(MempoolFees {
                        base: fee,
                        effective_feerate: Amount::from_sat(
                            FeeRate::from_fee_and_size(fee, size).to_sat_per_kvb(),
                        ),
                        effective_includes: vec![tx.wtxid()],
                    });
                }
                Err(e) => r.reject_reason = Some(e.to_string()),
            }
            results.push(r);
        }
        Ok(results)
    }

    fn createrawtransaction(
        &self,
        inputs: JsonArray<RawTxInput>,
        outputs: Json<RawTxOutputs>,
        locktime: Option<Uint>,
    ) -> RpcResult<String> {
        let network = self.ctx.chain.params().network;
        let mut tx = Transaction {
            version: 1,
            inputs: inputs
                .iter()
                .map(|input| dotcoin_common::TxIn {
                    prevout: dotcoin_common::OutPoint {
                        txid: *input.txid,
                        vout: *input.vout,
                    },
                    witness: Vec::new(),
                })
                .collect(),
            outputs: Vec::with_capacity(outputs.0 .0.len()),
            lock_time: locktime.map_or(0, |l| l.0),
        };
        for (address, value) in &outputs.0 .0 {
            tx.outputs.push(dotcoin_common::TxOut {
                value: *value,
                pubkey: parse_address(address, "outputs", network)?.pubkey,
            });
        }
        Ok(hex::encode(serialize(&tx)))
    }

    fn decoderawtransaction(&self, hexstring: Hex) -> RpcResult<DecodedTx> {
        let tx = decode_tx(&hexstring)?;
        Ok(DecodedTx::from_tx(&tx, self.ctx.chain.params().network))
    }

    fn getrawtransaction(
        &self,
        txid: HashArg<Txid>,
        verbose: Option<RawTxVerbosity>,
        blockhash: Option<HashArg<BlockHash>>,
    ) -> RpcResult<GetRawTransactionResult> {
        let txid = txid.0;
        // Core's verbosity: 0/false hex, 1/true JSON, 2 JSON with fee and prevouts.
        let verbosity = verbose.map_or(0, |v| v.0);
        let verbose = verbosity > 0;
        let wanted_block = blockhash.map(|b| b.0);
        let network = self.ctx.chain.params().network;
        let state = self.ctx.chain.snapshot();
        if wanted_block.is_none() {
            if let Some(e) = state.mempool().get(&txid) {
                return Ok(if verbose {
                    let mut v = TxVerbose::from_tx(&e.tx, network);
                    if verbosity >= 2 {
                        v = v.with_prevouts(&mempool_spent(&state, &e.tx)?, network);
                    }
                    GetRawTransactionResult::Verbose(Box::new(v))
                } else {
                    GetRawTransactionResult::Hex(hex::encode(serialize(&e.tx)))
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
            return Ok(GetRawTransactionResult::Hex(hex::encode(serialize(tx))));
        }
        let mut v = TxVerbose::from_tx(tx, network);
        if verbosity >= 2 {
            if let Some(spent) =
                super::json::spent_by_block(chain, &block).map_rpc(RpcErrorCode::Database)?
            {
                v = v.with_prevouts(&spent[index], network);
            }
        }
        if let Some(entry) = chain.index().get(&block_hash) {
            v = v.in_block(
                block_hash,
                confirmations(chain, entry).max(0) as u32,
                entry.header.time,
            );
            if wanted_block.is_some() {
                v.in_active_chain = Some(chain.index().is_active(entry));
            }
        }
        Ok(GetRawTransactionResult::Verbose(Box::new(v)))
    }
}
