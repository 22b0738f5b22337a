//! Blockchain calls: the chain, its blocks and headers, its tips and its UTXO set.

use std::collections::BTreeMap;

use dotcoin_common::pow::difficulty;
use dotcoin_common::rpc_types::{
    BlockStats, BlockStatsSelection, BlockchainInfo, ChainTipInfo, ChainTxStats, Deployment,
    DeploymentInfo, FeeEstimate, IndexInfo, IndexStatus, ScanTxOutSetResult, ScanUnspent,
    ScriptPubKey, TxOutInfo, TxOutSetInfo, TxVerbose, WaitTip,
};
use dotcoin_common::{serialize, Address, BlockHash, OutPoint, Txid};
use dotcoin_rpc_server::arg::{
    BlockVerbosity, Flag, HashArg, HashOrHeight, Int, JsonArray, Text, TextList, Uint,
};
use jsonrpsee::core::RpcResult;
use jsonrpsee::proc_macros::rpc;

use super::error::{rpc_error, MapRpcError, OkOrRpcError, RpcErrorCode};
use super::json::{
    block_verbose, header_verbose, spent_by_block, GetBlockHeaderResult, GetBlockResult,
    GetRawMempoolResult,
};
use super::rawtx::{entry_info, pool_parents, reachable};
use super::RpcContext;
use crate::chain::{utxo_stats, ChainError};
use crate::util::unix_time;

/// Blockchain calls.
#[rpc(server)]
pub trait BlockchainRpc {
    /// Chain state summary.
    #[method(name = "getblockchaininfo")]
    fn getblockchaininfo(&self) -> RpcResult<BlockchainInfo>;
    /// Tip height.
    #[method(name = "getblockcount")]
    fn getblockcount(&self) -> RpcResult<u32>;
    /// Tip hash.
    #[method(name = "getbestblockhash")]
    fn getbestblockhash(&self) -> RpcResult<BlockHash>;
    /// Active chain hash at a height.
    #[method(name = "getblockhash")]
    fn getblockhash(&self, height: Int) -> RpcResult<BlockHash>;
    /// A block.
    #[method(name = "getblock", blocking)]
    fn getblock(
        &self,
        blockhash: HashArg<BlockHash>,
        verbosity: Option<BlockVerbosity>,
    ) -> RpcResult<GetBlockResult>;
    /// A header.
    #[method(name = "getblockheader", blocking)]
    fn getblockheader(
        &self,
        blockhash: HashArg<BlockHash>,
        verbose: Option<Flag>,
    ) -> RpcResult<GetBlockHeaderResult>;
    /// All known tips.
    #[method(name = "getchaintips")]
    fn getchaintips(&self) -> RpcResult<Vec<ChainTipInfo>>;
    /// Tip difficulty.
    #[method(name = "getdifficulty")]
    fn getdifficulty(&self) -> RpcResult<f64>;
    /// One unspent output.
    #[method(name = "gettxout")]
    fn gettxout(
        &self,
        txid: HashArg<Txid>,
        n: Uint,
        include_mempool: Option<Flag>,
    ) -> RpcResult<Option<TxOutInfo>>;
    /// UTXO set statistics.
    #[method(name = "gettxoutsetinfo", blocking)]
    fn gettxoutsetinfo(&self) -> RpcResult<TxOutSetInfo>;
    /// Marks a block invalid, as if it broke a rule.
    #[method(name = "invalidateblock", blocking)]
    fn invalidateblock(&self, blockhash: HashArg<BlockHash>) -> RpcResult<()>;
    /// Removes invalidity marks from a block, its ancestors and descendants.
    #[method(name = "reconsiderblock", blocking)]
    fn reconsiderblock(&self, blockhash: HashArg<BlockHash>) -> RpcResult<()>;
    /// Treats a block as received before others of the same work.
    #[method(name = "preciousblock", blocking)]
    fn preciousblock(&self, blockhash: HashArg<BlockHash>) -> RpcResult<()>;
    /// Waits for the tip to change.
    #[method(name = "waitfornewblock")]
    async fn waitfornewblock(&self, timeout: Option<Uint>) -> RpcResult<WaitTip>;
    /// Waits for a given block to be the tip.
    #[method(name = "waitforblock")]
    async fn waitforblock(
        &self,
        blockhash: HashArg<BlockHash>,
        timeout: Option<Uint>,
    ) -> RpcResult<WaitTip>;
    /// Waits for the tip to reach a height.
    #[method(name = "waitforblockheight")]
    async fn waitforblockheight(&self, height: Uint, timeout: Option<Uint>) -> RpcResult<WaitTip>;
    /// Mempool ancestors of a mempool transaction.
    #[method(name = "getmempoolancestors")]
    fn getmempoolancestors(
        &self,
        txid: HashArg<Txid>,
        verbose: Option<Flag>,
    ) -> RpcResult<GetRawMempoolResult>;
    /// Mempool descendants of a mempool transaction.
    #[method(name = "getmempooldescendants")]
    fn getmempooldescendants(
        &self,
        txid: HashArg<Txid>,
        verbose: Option<Flag>,
    ) -> RpcResult<GetRawMempoolResult>;
    /// The node's indexes and how far they are synced.
    #[method(name = "getindexinfo")]
    fn getindexinfo(&self, index_name: Option<Text>) -> RpcResult<IndexInfo>;
    /// The rules in force at a block.
    #[method(name = "getdeploymentinfo")]
    fn getdeploymentinfo(&self, blockhash: Option<HashArg<BlockHash>>)
        -> RpcResult<DeploymentInfo>;
    /// Per-block statistics: fees, fee rates, sizes.
    #[method(name = "getblockstats", blocking)]
    fn getblockstats(
        &self,
        hash_or_height: HashOrHeight,
        stats: Option<TextList>,
    ) -> RpcResult<BlockStatsSelection>;
    /// Re-checks the last blocks of the active chain against the store.
    #[method(name = "verifychain", blocking)]
    fn verifychain(&self, checklevel: Option<Uint>, nblocks: Option<Uint>) -> RpcResult<bool>;
    /// Unspent outputs paying given addresses.
    #[method(name = "scantxoutset", blocking)]
    fn scantxoutset(
        &self,
        action: Text,
        scanobjects: Option<JsonArray<ScanObject>>,
    ) -> RpcResult<Option<ScanTxOutSetResult>>;
    /// Transaction counts and rate over a window of the active chain.
    #[method(name = "getchaintxstats", blocking)]
    fn getchaintxstats(
        &self,
        nblocks: Option<Int>,
        blockhash: Option<HashArg<BlockHash>>,
    ) -> RpcResult<ChainTxStats>;
    /// A fee rate likely to confirm within conf_target blocks, from recent blocks.
    #[method(name = "estimatesmartfee", blocking)]
    fn estimatesmartfee(
        &self,
        conf_target: Uint,
        estimate_mode: Option<Text>,
    ) -> RpcResult<FeeEstimate>;
}

/// One of `scantxoutset`'s scan objects: a descriptor, or an object holding one.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum ScanObject {
    /// `"addr(<address>)"`.
    Desc(String),
    /// `{"desc": "addr(<address>)"}` (Core's `range` is meaningless for an address).
    Object {
        /// The descriptor.
        #[serde(default)]
        desc: String,
    },
}

/// One non-coinbase transaction of a block with what it paid.
struct PaidTx {
    size: u64,
    fee: u64,
    ins: usize,
    witnessed: bool,
}

impl PaidTx {
    /// Base units per 1000 bytes.
    fn rate_kvb(&self) -> u64 {
        self.fee.saturating_mul(1000) / self.size.max(1)
    }
}

/// The non-coinbase transactions of an active-chain block with their fees, from its
/// undo data (`None` for a block off the active chain, which has none).
fn paid_txs(
    chain: &crate::state::Snapshot,
    block: &dotcoin_common::Block,
) -> RpcResult<Option<Vec<PaidTx>>> {
    let Some(spent) = spent_by_block(chain, block).map_rpc(RpcErrorCode::Database)? else {
        return Ok(None);
    };
    Ok(Some(
        block
            .txdata
            .iter()
            .zip(&spent)
            .filter(|(tx, _)| !tx.is_coinbase())
            .map(|(tx, coins)| {
                let paid_in: u64 = coins.iter().map(|c| c.output.value.to_sat()).sum();
                let paid_out: u64 = tx.outputs.iter().map(|o| o.value.to_sat()).sum();
                PaidTx {
                    size: tx.size() as u64,
                    fee: paid_in.saturating_sub(paid_out),
                    ins: tx.inputs.len(),
                    witnessed: tx.inputs.iter().any(|i| !i.witness.is_empty()),
                }
            })
            .collect(),
    ))
}

fn median(sorted: &[u64]) -> u64 {
    match sorted.len() {
        0 => 0,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2,
    }
}

/// Core's fee rate percentiles of a block: from `(rate, size)` pairs, the rate below
/// which 10, 25, 50, 75 and 90 % of the bytes pay (Core weighs by weight, which is
/// 4 × size here, so the cut points are the same). All zero for no transactions.
fn feerate_percentiles(mut scores: Vec<(u64, u64)>) -> [u64; 5] {
    let mut result = [0; 5];
    scores.sort_unstable();
    let Some(&(last, _)) = scores.last() else {
        return result;
    };
    let total: u64 = scores.iter().map(|s| s.1).sum();
    let cuts = [0.1, 0.25, 0.5, 0.75, 0.9].map(|p| total as f64 * p);
    let mut next = 0;
    let mut cumulative = 0u64;
    for (rate, size) in scores {
        cumulative += size;
        while next < cuts.len() && cumulative as f64 >= cuts[next] {
            result[next] = rate;
            next += 1;
        }
    }
    result[next..].fill(last);
    result
}

/// Bytes one UTXO set entry takes as stored (outpoint and coin): every entry has the
/// same size, as every output is a value and a 32-byte key.
fn utxo_entry_size() -> i64 {
    use bitcoin_hashes::Hash as _;
    let coin = dotcoin_common::consensus::Coin {
        output: dotcoin_common::TxOut {
            value: dotcoin_common::Amount::ZERO,
            pubkey: dotcoin_common::PubKey([0; 32]),
        },
        height: 0,
        is_coinbase: false,
    };
    let op = OutPoint {
        txid: dotcoin_common::Txid::all_zeros(),
        vout: 0,
    };
    (serialize(&op).len() + serialize(&coin).len()) as i64
}

/// The tip as the wait calls report it.
fn wait_tip(tip: &crate::chain::IndexEntry) -> WaitTip {
    WaitTip {
        hash: tip.hash,
        height: tip.height,
    }
}

/// Waits until `done` holds for the tip, or `timeout_ms` (0: no limit) passes; returns
/// the tip then. Follows the chain service's snapshot channel, the one every reader uses.
async fn wait_for_tip(
    ctx: &RpcContext,
    timeout_ms: u32,
    mut done: impl FnMut(&crate::chain::IndexEntry) -> bool,
) -> WaitTip {
    let mut rx = ctx.chain.watch_snapshots();
    let wait = async {
        loop {
            let tip = *rx.borrow_and_update().tip();
            if done(&tip) {
                return tip;
            }
            // The node stopping ends the wait too: the RPC server waits for its calls
            // before it closes, so a `waitforblockheight` with no timeout would otherwise
            // hold `stop` forever. The miner's flag is set first thing at shutdown.
            tokio::select! {
                changed = rx.changed() => {
                    if changed.is_err() {
                        // The chain service is gone: answer with what we saw last.
                        return tip;
                    }
                }
                () = tokio::time::sleep(std::time::Duration::from_millis(200)) => {
                    if ctx.miner.is_shut_down() {
                        return tip;
                    }
                }
            }
        }
    };
    let tip = if timeout_ms == 0 {
        wait.await
    } else {
        match tokio::time::timeout(std::time::Duration::from_millis(timeout_ms.into()), wait).await
        {
            Ok(tip) => tip,
            Err(_) => ctx.chain.tip(),
        }
    };
    wait_tip(&tip)
}

/// The mempool transactions reachable from `txid` through `next` (parents or children),
/// `txid` itself left out; -5 when `txid` is not in the pool.
fn mempool_closure(
    state: &crate::state::Snapshot,
    txid: dotcoin_common::Txid,
    next: impl Fn(&crate::state::Snapshot, &dotcoin_common::Txid) -> Vec<dotcoin_common::Txid>,
) -> RpcResult<Vec<dotcoin_common::Txid>> {
    if state.mempool().get(&txid).is_none() {
        return Err(rpc_error(
            RpcErrorCode::InvalidAddressOrKey,
            "Transaction not in mempool",
        ));
    }
    Ok(reachable(state, txid, next).into_iter().collect())
}

fn mempool_list(
    state: &crate::state::Snapshot,
    txids: Vec<dotcoin_common::Txid>,
    verbose: bool,
) -> GetRawMempoolResult {
    if !verbose {
        return GetRawMempoolResult::Txids(txids);
    }
    GetRawMempoolResult::Verbose(
        txids
            .into_iter()
            .filter_map(|t| state.mempool().get(&t).map(|e| (t, entry_info(state, e))))
            .collect(),
    )
}

/// Implementation of [`BlockchainRpcServer`].
#[derive(Debug)]
pub struct BlockchainRpcImpl {
    ctx: RpcContext,
    /// Transactions in the active chain up to and including each height, with that
    /// height's hash so a reorg is noticed: `getchaintxstats` reads each block once.
    chain_tx: std::sync::Mutex<Vec<(dotcoin_common::BlockHash, u64)>>,
}

impl BlockchainRpcImpl {
    /// A plugin over `ctx`.
    pub fn new(ctx: RpcContext) -> Self {
        BlockchainRpcImpl {
            ctx,
            chain_tx: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// Transactions in the active chain of `chain` from genesis up to `height` inclusive.
    fn chain_tx_count(&self, chain: &crate::state::Snapshot, height: u32) -> RpcResult<u64> {
        let mut counts = self.chain_tx.lock().unwrap_or_else(|p| p.into_inner());
        // Drop what a reorg replaced: the cached hash at a height no longer active.
        while let Some((hash, _)) = counts.last() {
            let h = counts.len() as u32 - 1;
            if chain.index().active_hash(h) == Some(*hash) {
                break;
            }
            counts.pop();
        }
        while counts.len() as u32 <= height {
            let h = counts.len() as u32;
            let hash = chain.index().active_hash(h).ok_or_else(|| {
                rpc_error(RpcErrorCode::Misc, format!("no active block at height {h}"))
            })?;
            let n = chain
                .block(&hash)
                .map_rpc(RpcErrorCode::Database)?
                .ok_or_rpc(RpcErrorCode::Misc, "Block not available (header only)")?
                .txdata
                .len() as u64;
            let total = counts.last().map_or(0, |c| c.1) + n;
            counts.push((hash, total));
        }
        Ok(counts[height as usize].1)
    }
}

/// Whether a node with this tip time is still catching up: its tip is more than a day old.
pub fn in_initial_download(tip_time: u32, headers: u32, blocks: u32) -> bool {
    headers > blocks + 1 || (tip_time as u64) + 24 * 60 * 60 < unix_time()
}

#[jsonrpsee::core::async_trait]
impl BlockchainRpcServer for BlockchainRpcImpl {
    fn getblockchaininfo(&self) -> RpcResult<BlockchainInfo> {
        let chain = self.ctx.chain.snapshot();
        let tip = *chain.tip();
        let headers = chain.best_header().height.max(tip.height);
        Ok(BlockchainInfo {
            chain: chain.params().network.name().into(),
            blocks: tip.height,
            headers,
            bestblockhash: tip.hash,
            bits: tip.header.bits.to_string(),
            target: format!("{:064x}", tip.header.bits.to_target().unwrap_or_default()),
            difficulty: difficulty(tip.header.bits),
            time: tip.header.time,
            mediantime: chain.median_time_past(),
            verificationprogress: if headers == 0 {
                1.0
            } else {
                tip.height as f64 / headers as f64
            },
            initialblockdownload: in_initial_download(tip.header.time, headers, tip.height),
            chainwork: format!("{:064x}", tip.chainwork),
            size_on_disk: chain.view().size_on_disk(),
            pruned: false,
            warnings: String::new(),
            coinbase_maturity: chain.params().coinbase_maturity,
        })
    }

    fn getblockcount(&self) -> RpcResult<u32> {
        Ok(self.ctx.chain.tip().height)
    }

    fn getbestblockhash(&self) -> RpcResult<BlockHash> {
        Ok(self.ctx.chain.tip().hash)
    }

    fn getblockhash(&self, height: Int) -> RpcResult<BlockHash> {
        let state = self.ctx.chain.snapshot();
        // Core reads an int64 and answers every height off the chain, negative or past
        // the tip, with the same -8.
        u32::try_from(*height)
            .ok()
            .and_then(|h| state.index().active_hash(h))
            .ok_or_rpc(RpcErrorCode::InvalidParameter, "Block height out of range")
    }

    fn getblock(
        &self,
        blockhash: HashArg<BlockHash>,
        verbosity: Option<BlockVerbosity>,
    ) -> RpcResult<GetBlockResult> {
        let hash = *blockhash;
        let verbosity = verbosity.map_or(1, |v| *v);
        // Core's 3 adds prevouts to 2; here 2 already has them, so 3 is the same.
        if verbosity > 3 {
            return Err(rpc_error(
                RpcErrorCode::InvalidParameter,
                "verbosity must be 0, 1, 2 or 3",
            ));
        }
        let chain = self.ctx.chain.snapshot();
        let entry = *chain
            .index()
            .get(&hash)
            .ok_or_rpc(RpcErrorCode::InvalidAddressOrKey, "Block not found")?;
        let block = chain
            .block(&hash)
            .map_rpc(RpcErrorCode::Database)?
            .ok_or_rpc(RpcErrorCode::Misc, "Block not available (header only)")?;
        let network = chain.params().network;
        Ok(match verbosity {
            0 => GetBlockResult::Hex(hex::encode(serialize(&block))),
            1 => GetBlockResult::Verbose(Box::new(block_verbose(&chain, &entry, &block, |tx| {
                tx.txid()
            }))),
            _ => {
                let mut verbose =
                    block_verbose(&chain, &entry, &block, |tx| TxVerbose::from_tx(tx, network));
                // Core's verbosity 2 (and 3): fee and prevout from the undo data.
                if let Some(spent) =
                    spent_by_block(&chain, &block).map_rpc(RpcErrorCode::Database)?
                {
                    verbose.tx = verbose
                        .tx
                        .into_iter()
                        .zip(&spent)
                        .map(|(v, coins)| v.with_prevouts(coins, network))
                        .collect();
                }
                GetBlockResult::VerboseTx(Box::new(verbose))
            }
        })
    }

    fn getblockheader(
        &self,
        blockhash: HashArg<BlockHash>,
        verbose: Option<Flag>,
    ) -> RpcResult<GetBlockHeaderResult> {
        let hash = *blockhash;
        let verbose = verbose.is_none_or(|v| *v);
        let state = self.ctx.chain.snapshot();
        let entry = *state
            .index()
            .get(&hash)
            .ok_or_rpc(RpcErrorCode::InvalidAddressOrKey, "Block not found")?;
        if !verbose {
            return Ok(GetBlockHeaderResult::Hex(hex::encode(
                entry.header.to_bytes(),
            )));
        }
        // Core's nTx: the block's count, 0 while only the header is known.
        let n_tx = state
            .block(&hash)
            .map_rpc(RpcErrorCode::Database)?
            .map_or(0, |b| b.txdata.len() as u64);
        Ok(GetBlockHeaderResult::Verbose(Box::new(header_verbose(
            &state, &entry, n_tx,
        ))))
    }

    fn getchaintips(&self) -> RpcResult<Vec<ChainTipInfo>> {
        Ok(self
            .ctx
            .chain
            .snapshot()
            .index()
            .chain_tips()
            .into_iter()
            .map(|t| ChainTipInfo {
                height: t.height,
                hash: t.hash,
                branchlen: t.branchlen,
                status: t.status,
            })
            .collect())
    }

    fn getdifficulty(&self) -> RpcResult<f64> {
        let state = self.ctx.chain.snapshot();
        Ok(difficulty(state.tip().header.bits))
    }

    fn gettxout(
        &self,
        txid: HashArg<Txid>,
        n: Uint,
        include_mempool: Option<Flag>,
    ) -> RpcResult<Option<TxOutInfo>> {
        let txid = *txid;
        let vout = *n;
        let include_mempool = include_mempool.is_none_or(|f| *f);
        let op = OutPoint { txid, vout };
        let state = self.ctx.chain.snapshot();
        let network = self.ctx.chain.params().network;
        let tip = *state.tip();
        if include_mempool && state.mempool().spender_of(&op).is_some() {
            return Ok(None);
        }
        let (out, confirmations, coinbase) =
            match state.coin(&op).map_rpc(RpcErrorCode::Database)? {
                Some(c) => (
                    c.output,
                    super::address::confirmations(&state, c.height)?,
                    c.is_coinbase,
                ),
                None => match state.mempool().get(&txid).filter(|_| include_mempool) {
                    Some(e) => match e.tx.outputs.get(vout as usize) {
                        Some(o) => (*o, 0, false),
                        None => return Ok(None),
                    },
                    None => return Ok(None),
                },
            };
        Ok(Some(TxOutInfo {
            bestblock: tip.hash,
            confirmations,
            value: out.value,
            address: Address::new(network, out.pubkey).to_string(),
            pubkey: out.pubkey.to_string(),
            script_pub_key: ScriptPubKey::for_key(&out.pubkey, network),
            coinbase,
        }))
    }

    fn gettxoutsetinfo(&self) -> RpcResult<TxOutSetInfo> {
        let state = self.ctx.chain.snapshot();
        let store = state.view();
        let stats = utxo_stats(store).map_rpc(RpcErrorCode::Database)?;
        Ok(TxOutSetInfo {
            height: stats.height,
            bestblock: stats.tip,
            transactions: stats.transactions,
            txouts: stats.txouts,
            bogosize: stats.bogosize,
            hash_serialized: stats.hash.to_string(),
            hash_serialized_3: stats.hash.to_string(),
            total_amount: stats.total_amount,
            disk_size: store.size_on_disk(),
        })
    }

    fn invalidateblock(&self, blockhash: HashArg<BlockHash>) -> RpcResult<()> {
        mark_block(blockhash, |h| self.ctx.chain.invalidate_block(h))
    }

    fn reconsiderblock(&self, blockhash: HashArg<BlockHash>) -> RpcResult<()> {
        mark_block(blockhash, |h| self.ctx.chain.reconsider_block(h))
    }

    fn preciousblock(&self, blockhash: HashArg<BlockHash>) -> RpcResult<()> {
        mark_block(blockhash, |h| self.ctx.chain.precious_block(h))
    }

    async fn waitfornewblock(&self, timeout: Option<Uint>) -> RpcResult<WaitTip> {
        let timeout = timeout.map_or(0, |t| *t);
        let start = self.ctx.chain.tip().hash;
        Ok(wait_for_tip(&self.ctx, timeout, |tip| tip.hash != start).await)
    }

    async fn waitforblock(
        &self,
        blockhash: HashArg<BlockHash>,
        timeout: Option<Uint>,
    ) -> RpcResult<WaitTip> {
        let hash = *blockhash;
        let timeout = timeout.map_or(0, |t| *t);
        Ok(wait_for_tip(&self.ctx, timeout, |tip| tip.hash == hash).await)
    }

    async fn waitforblockheight(&self, height: Uint, timeout: Option<Uint>) -> RpcResult<WaitTip> {
        let height = *height;
        let timeout = timeout.map_or(0, |t| *t);
        Ok(wait_for_tip(&self.ctx, timeout, |tip| tip.height >= height).await)
    }

    fn getmempoolancestors(
        &self,
        txid: HashArg<Txid>,
        verbose: Option<Flag>,
    ) -> RpcResult<GetRawMempoolResult> {
        let txid = *txid;
        let verbose = verbose.is_some_and(|v| *v);
        let state = self.ctx.chain.snapshot();
        let found = mempool_closure(&state, txid, pool_parents)?;
        Ok(mempool_list(&state, found, verbose))
    }

    fn getmempooldescendants(
        &self,
        txid: HashArg<Txid>,
        verbose: Option<Flag>,
    ) -> RpcResult<GetRawMempoolResult> {
        let txid = *txid;
        let verbose = verbose.is_some_and(|v| *v);
        let state = self.ctx.chain.snapshot();
        let found = mempool_closure(&state, txid, |s, t| s.mempool().children_of(t))?;
        Ok(mempool_list(&state, found, verbose))
    }

    fn getindexinfo(&self, index_name: Option<Text>) -> RpcResult<IndexInfo> {
        let wanted = |name: &str| index_name.as_ref().is_none_or(|w| w.as_str() == name);
        // Both indexes are written in the same atomic batch as the block that changes
        // them, so they are always synced to the tip.
        let status = IndexStatus {
            synced: true,
            best_block_height: self.ctx.chain.tip().height,
        };
        Ok(IndexInfo {
            txindex: wanted("txindex").then_some(status),
            addressindex: wanted("addressindex").then_some(status),
        })
    }

    fn getdeploymentinfo(
        &self,
        blockhash: Option<HashArg<BlockHash>>,
    ) -> RpcResult<DeploymentInfo> {
        let state = self.ctx.chain.snapshot();
        let entry = match blockhash {
            None => *state.tip(),
            Some(hash) => *state
                .index()
                .get(&hash)
                .ok_or_rpc(RpcErrorCode::InvalidAddressOrKey, "Block not found")?,
        };
        // dotcoin has had one rule set since genesis: every rule is "buried" at height 0,
        // as Core reports deployments whose activation height is fixed in the code.
        let deployments: BTreeMap<String, Deployment> = DEPLOYMENTS
            .iter()
            .map(|(name, rule)| {
                (
                    (*name).to_owned(),
                    Deployment {
                        kind: "buried".into(),
                        active: true,
                        height: 0,
                        rule: (*rule).to_owned(),
                    },
                )
            })
            .collect();
        Ok(DeploymentInfo {
            hash: entry.hash,
            height: entry.height,
            deployments,
        })
    }

    fn getchaintxstats(
        &self,
        nblocks: Option<Int>,
        blockhash: Option<HashArg<BlockHash>>,
    ) -> RpcResult<ChainTxStats> {
        let chain = self.ctx.chain.snapshot();
        let entry = match blockhash {
            None => *chain.tip(),
            Some(hash) => {
                let entry = *chain
                    .index()
                    .get(&hash)
                    .ok_or_rpc(RpcErrorCode::InvalidAddressOrKey, "Block not found")?;
                if !chain.index().is_active(&entry) {
                    return Err(rpc_error(
                        RpcErrorCode::InvalidParameter,
                        "Block is not in main chain",
                    ));
                }
                entry
            }
        };
        // Core's default window: a month of blocks at the target spacing.
        let month = 30 * 24 * 60 * 60 / chain.params().target_spacing.max(1);
        let window = match nblocks {
            None => month.min(entry.height.saturating_sub(1)),
            Some(n) => {
                let n = *n;
                if n < 0 || (n > 0 && n >= i64::from(entry.height)) {
                    return Err(rpc_error(
                        RpcErrorCode::InvalidParameter,
                        "Invalid block count: should be between 0 and the block's height - 1",
                    ));
                }
                n as u32
            }
        };
        let txcount = self.chain_tx_count(&chain, entry.height)?;
        let mut out = ChainTxStats {
            time: entry.header.time,
            txcount,
            window_final_block_hash: entry.hash,
            window_final_block_height: entry.height,
            window_block_count: window,
            window_tx_count: None,
            window_interval: None,
            txrate: None,
        };
        if window > 0 {
            let start_height = entry.height - window;
            let start = chain
                .index()
                .ancestor(&entry.hash, start_height)
                .ok_or_rpc(RpcErrorCode::Misc, "window start not in the index")?;
            let window_tx = txcount - self.chain_tx_count(&chain, start_height)?;
            let mtp = |hash| {
                i64::from(dotcoin_common::pow::median_time_past(
                    &chain.index().last_times(hash),
                ))
            };
            let interval = mtp(&entry.hash) - mtp(&start.hash);
            out.window_tx_count = Some(window_tx);
            out.window_interval = Some(interval);
            if interval > 0 {
                out.txrate = Some(window_tx as f64 / interval as f64);
            }
        }
        Ok(out)
    }

    fn getblockstats(
        &self,
        hash_or_height: HashOrHeight,
        stats: Option<TextList>,
    ) -> RpcResult<BlockStatsSelection> {
        let chain = self.ctx.chain.snapshot();
        let (entry, block) = self.block_at(&chain, hash_or_height)?;
        let txs = paid_txs(&chain, &block)?.ok_or_else(|| {
            rpc_error(
                RpcErrorCode::Misc,
                "Block is not on the active chain: its undo data (fees) is not kept",
            )
        })?;
        let mut fees: Vec<u64> = txs.iter().map(|t| t.fee).collect();
        let mut rates: Vec<u64> = txs.iter().map(|t| t.rate_kvb() / 1000).collect();
        let mut sizes: Vec<u64> = txs.iter().map(|t| t.size).collect();
        fees.sort_unstable();
        rates.sort_unstable();
        sizes.sort_unstable();
        let n = txs.len() as u64;
        let totalfee: u64 = fees.iter().sum();
        let total_size: u64 = sizes.iter().sum();
        let ins = txs.iter().map(|t| t.ins as u64).sum::<u64>();
        let outs = block
            .txdata
            .iter()
            .map(|t| t.outputs.len() as u64)
            .sum::<u64>();
        let total_out: u64 = block
            .txdata
            .iter()
            .filter(|t| !t.is_coinbase())
            .flat_map(|t| &t.outputs)
            .map(|o| o.value.to_sat())
            .sum();
        let swtotal_size: u64 = txs.iter().filter(|t| t.witnessed).map(|t| t.size).sum();
        let utxo_increase = outs as i64 - ins as i64;
        let utxo_size_inc = utxo_increase * utxo_entry_size();
        let all = BlockStats {
            avgfee: totalfee.checked_div(n).unwrap_or(0),
            avgfeerate: (totalfee * 1000)
                .checked_div(total_size)
                .map_or(0, |r| r / 1000),
            avgtxsize: total_size.checked_div(n).unwrap_or(0),
            blockhash: entry.hash,
            feerate_percentiles: feerate_percentiles(
                txs.iter().map(|t| (t.rate_kvb() / 1000, t.size)).collect(),
            ),
            height: entry.height,
            ins,
            maxfee: fees.last().copied().unwrap_or(0),
            maxfeerate: rates.last().copied().unwrap_or(0),
            maxtxsize: sizes.last().copied().unwrap_or(0),
            medianfee: median(&fees),
            mediantime: dotcoin_common::pow::median_time_past(
                &chain.index().last_times(&entry.hash),
            ),
            mediantxsize: median(&sizes),
            minfee: fees.first().copied().unwrap_or(0),
            minfeerate: rates.first().copied().unwrap_or(0),
            mintxsize: sizes.first().copied().unwrap_or(0),
            outs,
            subsidy: self.ctx.chain.params().subsidy(entry.height).to_sat(),
            swtotal_size,
            swtotal_weight: 4 * swtotal_size,
            swtxs: txs.iter().filter(|t| t.witnessed).count() as u64,
            time: entry.header.time,
            total_out,
            total_size,
            total_weight: 4 * total_size,
            totalfee,
            txs: block.txdata.len() as u64,
            utxo_increase,
            utxo_size_inc,
            utxo_increase_actual: utxo_increase,
            utxo_size_inc_actual: utxo_size_inc,
        };
        // The names Core accepts are the fields of the full answer, so the two cannot drift.
        all.select(stats.as_deref().map(Vec::as_slice))
            .map_err(|bad| {
                rpc_error(
                    RpcErrorCode::InvalidParameter,
                    format!("Invalid selected statistic '{bad}'"),
                )
            })
    }

    fn verifychain(&self, checklevel: Option<Uint>, nblocks: Option<Uint>) -> RpcResult<bool> {
        let level = checklevel.map_or(3, |l| *l);
        if level > 4 {
            return Err(rpc_error(
                RpcErrorCode::InvalidParameter,
                format!("checklevel must be 0 to 4 (got {level})"),
            ));
        }
        let chain = self.ctx.chain.snapshot();
        let tip = chain.height();
        let n = match nblocks.map_or(6, |n| *n) {
            0 => tip,
            n => n.min(tip),
        };
        let params = self.ctx.chain.params();
        for h in (tip + 1 - n..=tip).rev() {
            let Some(hash) = chain.index().active_hash(h) else {
                return Ok(false);
            };
            let fail = |why: String| {
                tracing::warn!(target: "chain", height = h, %hash, "verifychain: {why}");
                Ok(false)
            };
            // Level 0: the block is stored and is the block the index names.
            let block = match chain.block(&hash).map_rpc(RpcErrorCode::Database)? {
                Some(b) => b,
                None => return fail("block data missing".into()),
            };
            if block.block_hash() != hash {
                return fail(format!("stored block hashes to {}", block.block_hash()));
            }
            // Level 1: its context-free rules (size, merkle root, coinbase, proof of work).
            if level >= 1 {
                if let Err(e) = dotcoin_common::consensus::block::check_block(&block, params) {
                    return fail(e.to_string());
                }
            }
            // Level 2 and up: its undo data is there and matches its inputs one for one
            // (what a disconnect would restore).
            if level >= 2 {
                let inputs: usize = block
                    .txdata
                    .iter()
                    .filter(|t| !t.is_coinbase())
                    .map(|t| t.inputs.len())
                    .sum();
                let spent = spent_by_block(&chain, &block)
                    .map_rpc(RpcErrorCode::Database)?
                    .unwrap_or_default();
                let restored: usize = spent.iter().map(Vec::len).sum();
                if restored != inputs {
                    return fail(format!(
                        "undo data restores {restored} outputs for {inputs} inputs"
                    ));
                }
                // An output spent at height h was created at h or before.
                if spent.iter().flatten().any(|c| c.height > h) {
                    return fail("undo data names an output from a later block".into());
                }
            }
        }
        Ok(true)
    }

    fn scantxoutset(
        &self,
        action: Text,
        scanobjects: Option<JsonArray<ScanObject>>,
    ) -> RpcResult<Option<ScanTxOutSetResult>> {
        match action.as_str() {
            // Scans run to completion within the call: there is never one to report or stop.
            "status" => return Ok(None),
            "abort" => {
                return Err(rpc_error(
                    RpcErrorCode::InvalidParameter,
                    "no scan in progress to abort (scans finish within their call)",
                ))
            }
            "start" => {}
            other => {
                return Err(rpc_error(
                    RpcErrorCode::InvalidParameter,
                    format!("Invalid action '{other}'"),
                ))
            }
        }
        // Required for "start" only, so the wire cannot hold the call to it.
        let objects = scanobjects.ok_or_rpc(
            RpcErrorCode::InvalidParameter,
            "missing required parameter 'scanobjects'",
        )?;
        let network = self.ctx.chain.params().network;
        let mut wanted = Vec::with_capacity(objects.len());
        for o in objects.iter() {
            let (ScanObject::Desc(desc) | ScanObject::Object { desc }) = o;
            // Core's descriptors, of which only addr() has a meaning here: an output is a
            // key, so every other script kind is empty.
            let inner = desc
                .split('#')
                .next()
                .and_then(|d| d.strip_prefix("addr("))
                .and_then(|d| d.strip_suffix(')'))
                .ok_or_else(|| {
                    rpc_error(
                        RpcErrorCode::InvalidAddressOrKey,
                        format!("scan object '{desc}' is not addr(<address>)"),
                    )
                })?;
            let addr = dotcoin_common::Address::parse_for(inner, network).map_err(|e| {
                rpc_error(
                    RpcErrorCode::InvalidAddressOrKey,
                    format!("Invalid address '{inner}': {e}"),
                )
            })?;
            wanted.push((format!("addr({inner})"), addr));
        }
        let state = self.ctx.chain.snapshot();
        let mut unspents = Vec::new();
        for (desc, addr) in &wanted {
            for (op, coin) in crate::chain::utxos_of(state.view(), &addr.pubkey)
                .map_rpc(RpcErrorCode::Database)?
            {
                let blockhash = state.index().active_hash(coin.height).ok_or_else(|| {
                    rpc_error(
                        RpcErrorCode::Misc,
                        format!("no active block at height {}", coin.height),
                    )
                })?;
                unspents.push(ScanUnspent {
                    txid: op.txid,
                    vout: op.vout,
                    script_pub_key: ScriptPubKey::for_key(&addr.pubkey, network).hex,
                    desc: desc.clone(),
                    amount: coin.value,
                    coinbase: coin.is_coinbase,
                    height: coin.height,
                    blockhash,
                });
            }
        }
        let total = dotcoin_common::Amount::checked_sum(unspents.iter().map(|u| u.amount))
            .ok_or_else(|| rpc_error(RpcErrorCode::Misc, "total above MAX_MONEY"))?;
        Ok(Some(ScanTxOutSetResult {
            success: true,
            txouts: unspents.len() as u64,
            height: state.height(),
            bestblock: state.tip().hash,
            unspents,
            total_amount: total,
        }))
    }

    fn estimatesmartfee(
        &self,
        conf_target: Uint,
        estimate_mode: Option<Text>,
    ) -> RpcResult<FeeEstimate> {
        let target = *conf_target;
        if !(1..=1008).contains(&target) {
            return Err(rpc_error(
                RpcErrorCode::InvalidParameter,
                format!("Invalid conf_target, must be between 1 and 1008 (got {target})"),
            ));
        }
        match &estimate_mode {
            None => {}
            Some(mode) => match mode.to_ascii_lowercase().as_str() {
                "unset" | "economical" | "conservative" => {}
                other => {
                    return Err(rpc_error(
                        RpcErrorCode::InvalidParameter,
                        format!("Invalid estimate_mode parameter, must be one of: \"unset\", \"economical\", \"conservative\" (got {other})"),
                    ))
                }
            },
        }
        // The fee rates paid in the recent blocks: twice the target, at least 6.
        let chain = self.ctx.chain.snapshot();
        let window = (target * 2).max(6);
        let mut rates = Vec::new();
        let tip = chain.height();
        for h in (tip.saturating_sub(window - 1)..=tip).rev() {
            let Some(hash) = chain.index().active_hash(h) else {
                continue;
            };
            let Some(block) = chain.block(&hash).map_rpc(RpcErrorCode::Database)? else {
                continue;
            };
            if let Some(txs) = paid_txs(&chain, &block)? {
                rates.extend(txs.iter().map(PaidTx::rate_kvb));
            }
        }
        if rates.is_empty() {
            return Ok(FeeEstimate {
                feerate: None,
                errors: Some(vec!["Insufficient data or no feerate found".into()]),
                blocks: target,
            });
        }
        rates.sort_unstable();
        // A near target asks for a rate that most recent transactions paid; a far one
        // settles for the median.
        let quantile = match target {
            1..=2 => 0.9,
            3..=6 => 0.75,
            _ => 0.5,
        };
        let i = ((rates.len() - 1) as f64 * quantile).round() as usize;
        let floor = chain.mempool().min_fee_rate().to_sat_per_kvb();
        let rate = rates[i].max(floor);
        Ok(FeeEstimate {
            feerate: Some(dotcoin_common::Amount::from_sat(rate)),
            errors: None,
            blocks: target,
        })
    }
}

impl BlockchainRpcImpl {
    fn block_at(
        &self,
        chain: &crate::state::Snapshot,
        hash_or_height: HashOrHeight,
    ) -> RpcResult<(crate::chain::IndexEntry, dotcoin_common::Block)> {
        let hash = match hash_or_height {
            HashOrHeight::Height(h) => chain.index().active_hash(h).ok_or_else(|| {
                rpc_error(
                    RpcErrorCode::InvalidParameter,
                    format!(
                        "Target block height {h} after current tip {}",
                        chain.height()
                    ),
                )
            })?,
            HashOrHeight::Hash(hash) => hash,
        };
        let entry = *chain
            .index()
            .get(&hash)
            .ok_or_rpc(RpcErrorCode::InvalidAddressOrKey, "Block not found")?;
        let block = chain
            .block(&hash)
            .map_rpc(RpcErrorCode::Database)?
            .ok_or_rpc(RpcErrorCode::Misc, "Block not available (header only)")?;
        Ok((entry, block))
    }
}

/// The rules in force, by the name Core's deployments (or their nearest) have.
const DEPLOYMENTS: &[(&str, &str)] = &[
    (
        "bip34",
        "the coinbase input commits to the block height (prevout index = height)",
    ),
    (
        "segwit",
        "txids leave out witnesses; the merkle root commits to wtxids",
    ),
    (
        "taproot",
        "outputs are x-only keys spent with BIP340 Schnorr signatures",
    ),
];

/// The block-marking calls: parse the hash, run `f`, map its error as Bitcoin Core does.
fn mark_block(
    blockhash: HashArg<BlockHash>,
    f: impl FnOnce(&BlockHash) -> Result<crate::chain::ChainUpdate, ChainError>,
) -> RpcResult<()> {
    f(&blockhash).map_err(chain_change_error)?;
    Ok(())
}

/// Bitcoin Core's codes for the block-marking calls: -5 for an unknown block, -1 otherwise.
fn chain_change_error(e: ChainError) -> jsonrpsee::types::ErrorObjectOwned {
    match e {
        ChainError::UnknownBlock(_) => {
            rpc_error(RpcErrorCode::InvalidAddressOrKey, "Block not found")
        }
        ChainError::Store(e) => rpc_error(RpcErrorCode::Database, e.to_string()),
        other => rpc_error(RpcErrorCode::Misc, other.to_string()),
    }
}
