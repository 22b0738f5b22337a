//! Blockchain calls: the chain, its blocks and headers, its tips and its UTXO set.

use dotcoin_common::pow::difficulty;
use dotcoin_common::rpc_types::{BlockchainInfo, ChainTipInfo, TxOutInfo, TxOutSetInfo, TxVerbose};
use dotcoin_common::{serialize, Address, OutPoint};
use jsonrpsee::core::RpcResult;
use jsonrpsee::proc_macros::rpc;
use serde_json::Value;

use super::error::{rpc_error, MapRpcError, OkOrRpcError, RpcErrorCode};
use super::json::{block_verbose, header_verbose, GetBlockHeaderResult, GetBlockResult};
use super::params::{blockhash_param, opt_bool, opt_u32, required, txid_param, u32_param};
use super::RpcContext;
use crate::chain::{utxo_stats, ChainError};
use crate::util::unix_time;

/// Blockchain calls.
#[rpc(server, client)]
pub trait BlockchainRpc {
    /// Chain state summary.
    #[method(name = "getblockchaininfo")]
    fn getblockchaininfo(&self) -> RpcResult<BlockchainInfo>;
    /// Tip height.
    #[method(name = "getblockcount")]
    fn getblockcount(&self) -> RpcResult<u32>;
    /// Tip hash.
    #[method(name = "getbestblockhash")]
    fn getbestblockhash(&self) -> RpcResult<String>;
    /// Active chain hash at a height.
    #[method(name = "getblockhash")]
    fn getblockhash(&self, height: Option<Value>) -> RpcResult<String>;
    /// A block.
    #[method(name = "getblock", blocking)]
    fn getblock(
        &self,
        blockhash: Option<Value>,
        verbosity: Option<Value>,
    ) -> RpcResult<GetBlockResult>;
    /// A header.
    #[method(name = "getblockheader")]
    fn getblockheader(
        &self,
        blockhash: Option<Value>,
        verbose: Option<Value>,
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
        txid: Option<Value>,
        n: Option<Value>,
        include_mempool: Option<Value>,
    ) -> RpcResult<Option<TxOutInfo>>;
    /// UTXO set statistics.
    #[method(name = "gettxoutsetinfo", blocking)]
    fn gettxoutsetinfo(&self) -> RpcResult<TxOutSetInfo>;
    /// Marks a block invalid, as if it broke a rule.
    #[method(name = "invalidateblock", blocking)]
    fn invalidateblock(&self, blockhash: Option<Value>) -> RpcResult<()>;
    /// Removes invalidity marks from a block, its ancestors and descendants.
    #[method(name = "reconsiderblock", blocking)]
    fn reconsiderblock(&self, blockhash: Option<Value>) -> RpcResult<()>;
    /// Treats a block as received before others of the same work.
    #[method(name = "preciousblock", blocking)]
    fn preciousblock(&self, blockhash: Option<Value>) -> RpcResult<()>;
}

/// Implementation of [`BlockchainRpcServer`].
#[derive(Debug)]
pub struct BlockchainRpcImpl {
    ctx: RpcContext,
}

impl BlockchainRpcImpl {
    /// A plugin over `ctx`.
    pub fn new(ctx: RpcContext) -> Self {
        BlockchainRpcImpl { ctx }
    }
}

/// Whether a node with this tip time is still catching up: its tip is more than a day old.
pub fn in_initial_download(tip_time: u32, headers: u32, blocks: u32) -> bool {
    headers > blocks + 1 || (tip_time as u64) + 24 * 60 * 60 < unix_time()
}

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
            difficulty: difficulty(tip.header.bits),
            mediantime: chain.median_time_past(),
            verificationprogress: if headers == 0 {
                1.0
            } else {
                tip.height as f64 / headers as f64
            },
            initialblockdownload: in_initial_download(tip.header.time, headers, tip.height),
            chainwork: format!("{:064x}", tip.chainwork),
            size_on_disk: chain.store().size_on_disk(),
            pruned: false,
            coinbase_maturity: chain.params().coinbase_maturity,
        })
    }

    fn getblockcount(&self) -> RpcResult<u32> {
        Ok(self.ctx.chain.tip().height)
    }

    fn getbestblockhash(&self) -> RpcResult<String> {
        Ok(self.ctx.chain.tip().hash.to_string())
    }

    fn getblockhash(&self, height: Option<Value>) -> RpcResult<String> {
        let height = u32_param(&required(height, "height")?, "height")?;
        let state = self.ctx.chain.snapshot();
        state
            .index()
            .active_hash(height)
            .map(|h| h.to_string())
            .ok_or_rpc(RpcErrorCode::InvalidParameter, "Block height out of range")
    }

    fn getblock(
        &self,
        blockhash: Option<Value>,
        verbosity: Option<Value>,
    ) -> RpcResult<GetBlockResult> {
        let hash = blockhash_param(&required(blockhash, "blockhash")?, "blockhash")?;
        // Bitcoin Core accepts true/false for verbosity too.
        let verbosity = match verbosity {
            Some(Value::Bool(b)) => u32::from(b),
            other => opt_u32(other, "verbosity", 1)?,
        };
        if verbosity > 2 {
            return Err(rpc_error(
                RpcErrorCode::InvalidParameter,
                "verbosity must be 0, 1 or 2",
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
            _ => GetBlockResult::VerboseTx(Box::new(block_verbose(&chain, &entry, &block, |tx| {
                TxVerbose::from_tx(tx, network)
            }))),
        })
    }

    fn getblockheader(
        &self,
        blockhash: Option<Value>,
        verbose: Option<Value>,
    ) -> RpcResult<GetBlockHeaderResult> {
        let hash = blockhash_param(&required(blockhash, "blockhash")?, "blockhash")?;
        let verbose = opt_bool(verbose, "verbose", true)?;
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
        Ok(GetBlockHeaderResult::Verbose(Box::new(header_verbose(
            &state, &entry,
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
        txid: Option<Value>,
        n: Option<Value>,
        include_mempool: Option<Value>,
    ) -> RpcResult<Option<TxOutInfo>> {
        let txid = txid_param(&required(txid, "txid")?, "txid")?;
        let vout = u32_param(&required(n, "n")?, "n")?;
        let include_mempool = opt_bool(include_mempool, "include_mempool", true)?;
        let op = OutPoint { txid, vout };
        let state = self.ctx.chain.snapshot();
        let network = self.ctx.chain.params().network;
        let tip = *state.tip();
        if include_mempool && state.mempool().spender_of(&op).is_some() {
            return Ok(None);
        }
        let (out, confirmations, coinbase) =
            match state.coin(&op).map_rpc(RpcErrorCode::Database)? {
                Some(c) => (c.output, tip.height - c.height + 1, c.is_coinbase),
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
            coinbase,
        }))
    }

    fn gettxoutsetinfo(&self) -> RpcResult<TxOutSetInfo> {
        let store = self.ctx.chain.store();
        let stats = utxo_stats(store).map_rpc(RpcErrorCode::Database)?;
        Ok(TxOutSetInfo {
            height: stats.height,
            bestblock: stats.tip,
            transactions: stats.transactions,
            txouts: stats.txouts,
            bogosize: stats.bogosize,
            hash_serialized: stats.hash.to_string(),
            total_amount: stats.total_amount,
            disk_size: store.size_on_disk(),
        })
    }

    fn invalidateblock(&self, blockhash: Option<Value>) -> RpcResult<()> {
        mark_block(blockhash, |h| self.ctx.chain.invalidate_block(h))
    }

    fn reconsiderblock(&self, blockhash: Option<Value>) -> RpcResult<()> {
        mark_block(blockhash, |h| self.ctx.chain.reconsider_block(h))
    }

    fn preciousblock(&self, blockhash: Option<Value>) -> RpcResult<()> {
        mark_block(blockhash, |h| self.ctx.chain.precious_block(h))
    }
}

/// The block-marking calls: parse the hash, run `f`, map its error as Bitcoin Core does.
fn mark_block(
    blockhash: Option<Value>,
    f: impl FnOnce(&dotcoin_common::BlockHash) -> Result<crate::chain::ChainUpdate, ChainError>,
) -> RpcResult<()> {
    let hash = blockhash_param(&required(blockhash, "blockhash")?, "blockhash")?;
    f(&hash).map_err(chain_change_error)?;
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
