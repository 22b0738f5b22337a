//! Mining calls: one-shot and continuous mining, templates for external miners, block
//! submission and hash-rate figures.

use dotcoin_common::pow::{difficulty, work_from_bits};
use dotcoin_common::rpc_types::{BlockTemplate, BlockTemplateTx, MiningInfo};
use dotcoin_common::{deserialize, serialize, Block, PubKey};
use jsonrpsee::core::RpcResult;
use jsonrpsee::proc_macros::rpc;
use serde_json::Value;

use super::error::{rpc_error, RpcErrorCode};
use super::params::{address_param, hex_param, opt_bool, opt_u32, required, u32_param};
use super::RpcContext;
use crate::chain::ChainError;
use crate::miner::build_template;
use crate::util::unix_time;

/// Mining calls.
#[rpc(server, client)]
pub trait MiningRpc {
    /// Mine blocks now.
    #[method(name = "generatetoaddress", blocking)]
    fn generatetoaddress(
        &self,
        nblocks: Option<Value>,
        address: Option<Value>,
        maxtries: Option<Value>,
    ) -> RpcResult<Vec<String>>;
    /// Mining state.
    #[method(name = "getmininginfo")]
    fn getmininginfo(&self) -> RpcResult<MiningInfo>;
    /// Network hash rate estimate.
    #[method(name = "getnetworkhashps")]
    fn getnetworkhashps(&self, nblocks: Option<Value>, height: Option<Value>) -> RpcResult<f64>;
    /// Continuous mining on/off.
    #[method(name = "setgenerate", blocking)]
    fn setgenerate(
        &self,
        generate: Option<Value>,
        genproclimit: Option<Value>,
        address: Option<Value>,
    ) -> RpcResult<Value>;
    /// Whether continuous mining is on.
    #[method(name = "getgenerate")]
    fn getgenerate(&self) -> RpcResult<bool>;
    /// A template for an external miner.
    #[method(name = "getblocktemplate")]
    fn getblocktemplate(&self, template_request: Option<Value>) -> RpcResult<BlockTemplate>;
    /// Submit a block.
    #[method(name = "submitblock", blocking)]
    fn submitblock(&self, hexdata: Option<Value>) -> RpcResult<Option<String>>;
}

/// Implementation of [`MiningRpcServer`].
#[derive(Debug)]
pub struct MiningRpcImpl {
    ctx: RpcContext,
}

impl MiningRpcImpl {
    /// A plugin over `ctx`.
    pub fn new(ctx: RpcContext) -> Self {
        MiningRpcImpl { ctx }
    }

    fn network_hashps(&self, nblocks: u32, height: Option<u32>) -> f64 {
        let chain = self.ctx.chain.snapshot();
        let end_h = height.unwrap_or(chain.height()).min(chain.height());
        // Never measured from genesis: its time is when the network was made, not when
        // mining began, and would make the first blocks' rate look tiny.
        let start_h = end_h.saturating_sub(nblocks.max(1)).max(1).min(end_h);
        let (Some(end), Some(start)) = (
            chain.index().active_hash(end_h),
            chain.index().active_hash(start_h),
        ) else {
            return 0.0;
        };
        let (end, start) = (chain.index().get(&end), chain.index().get(&start));
        let (Some(end), Some(start)) = (end, start) else {
            return 0.0;
        };
        let span = end.header.time.saturating_sub(start.header.time).max(1) as f64;
        let work = end.chainwork - start.chainwork;
        f64::from(work) / span
    }
}

fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

impl MiningRpcServer for MiningRpcImpl {
    fn generatetoaddress(
        &self,
        nblocks: Option<Value>,
        address: Option<Value>,
        maxtries: Option<Value>,
    ) -> RpcResult<Vec<String>> {
        let n = u32_param(&required(nblocks, "nblocks")?, "nblocks")?;
        let network = self.ctx.chain.params().network;
        let addr = address_param(&required(address, "address")?, "address", network)?;
        let maxtries = match maxtries {
            None | Some(Value::Null) => 1_000_000_000u64,
            Some(v) => u32_param(&v, "maxtries")? as u64,
        };
        let hashes = self
            .ctx
            .miner
            .generate(n, addr.pubkey, default_threads(), maxtries)
            .map_err(|e| rpc_error(RpcErrorCode::Misc, e.to_string()))?;
        Ok(hashes.into_iter().map(|h| h.to_string()).collect())
    }

    fn getmininginfo(&self) -> RpcResult<MiningInfo> {
        let miner = &self.ctx.miner;
        let nethash = self.network_hashps(120, None);
        let state = self.ctx.chain.snapshot();
        let tip = state.tip();
        Ok(MiningInfo {
            blocks: tip.height,
            difficulty: difficulty(tip.header.bits),
            bits: tip.header.bits.to_string(),
            target: format!("{:064x}", tip.header.bits.to_target().unwrap_or_default()),
            networkhashps: nethash,
            hashespersec: miner.hashes_per_sec(),
            generate: miner.is_mining(),
            genproclimit: miner.threads(),
            pooledtx: state.mempool().len() as u64,
            chain: state.params().network.name().into(),
        })
    }

    fn getnetworkhashps(&self, nblocks: Option<Value>, height: Option<Value>) -> RpcResult<f64> {
        let n = opt_u32(nblocks, "nblocks", 120)?;
        let h = match height {
            None | Some(Value::Null) => None,
            Some(v) if v.as_i64() == Some(-1) => None,
            Some(v) => Some(u32_param(&v, "height")?),
        };
        Ok(self.network_hashps(n, h))
    }

    fn setgenerate(
        &self,
        generate: Option<Value>,
        genproclimit: Option<Value>,
        address: Option<Value>,
    ) -> RpcResult<Value> {
        let on = opt_bool(Some(required(generate, "generate")?), "generate", false)?;
        if !on {
            self.ctx.miner.stop();
            return Ok(Value::Null);
        }
        let threads = match genproclimit {
            None | Some(Value::Null) => default_threads(),
            Some(v) if v.as_i64() == Some(-1) => default_threads(),
            Some(v) => u32_param(&v, "genproclimit")? as usize,
        };
        if threads == 0 {
            self.ctx.miner.stop();
            return Ok(Value::Null);
        }
        let network = self.ctx.chain.params().network;
        let addr = address_param(&required(address, "address")?, "address", network)?;
        // Restart so a new address or thread count takes effect.
        self.ctx.miner.stop();
        self.ctx.miner.start(addr.pubkey, threads);
        Ok(Value::Null)
    }

    fn getgenerate(&self) -> RpcResult<bool> {
        Ok(self.ctx.miner.is_mining())
    }

    fn getblocktemplate(&self, _template_request: Option<Value>) -> RpcResult<BlockTemplate> {
        let state = self.ctx.chain.snapshot();
        // The coinbase is the miner's to write; the template pays an all-zero key that
        // external miners replace (coinbasevalue says how much they may claim).
        let t = build_template(&state, PubKey([0; 32]), 0, unix_time());
        let transactions: Vec<BlockTemplateTx> = t.block.txdata[1..]
            .iter()
            .map(|tx| BlockTemplateTx {
                data: hex::encode(serialize(tx)),
                txid: tx.txid(),
                hash: tx.wtxid(),
                fee: state
                    .mempool()
                    .get(&tx.txid())
                    .map_or(0, |e| e.fee.to_sat()),
            })
            .collect();
        let params = self.ctx.chain.params();
        let h = &t.block.header;
        Ok(BlockTemplate {
            version: h.version,
            previousblockhash: h.prev_blockhash,
            transactions,
            coinbasevalue: params.subsidy(t.height).to_sat() + t.fees.to_sat(),
            target: format!("{:064x}", h.bits.to_target().unwrap_or_default()),
            mintime: state.median_time_past() + 1,
            curtime: h.time,
            bits: h.bits.to_string(),
            height: t.height,
            sizelimit: dotcoin_common::consensus::MAX_BLOCK_SIZE as u64,
            work: format!("{:x}", work_from_bits(h.bits)),
        })
    }

    fn submitblock(&self, hexdata: Option<Value>) -> RpcResult<Option<String>> {
        let bytes = hex_param(&required(hexdata, "hexdata")?, "hexdata")?;
        let block: Block = deserialize(&bytes).map_err(|e| {
            rpc_error(
                RpcErrorCode::Deserialization,
                format!("Block decode failed: {e}"),
            )
        })?;
        // Bitcoin Core answers null on success and the reject reason as a string otherwise.
        match self.ctx.chain.process_block(std::sync::Arc::new(block)) {
            Ok(o) if o.duplicate => Ok(Some("duplicate".into())),
            Ok(_) => Ok(None),
            Err(ChainError::Store(e)) => Err(rpc_error(RpcErrorCode::Database, e.to_string())),
            Err(e) => Ok(Some(e.to_string())),
        }
    }
}
