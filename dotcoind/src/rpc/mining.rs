//! Mining calls: one-shot and continuous mining, templates for external miners, block
//! submission and hash-rate figures.

use dotcoin_common::pow::{difficulty, work_from_bits};
use dotcoin_common::rpc_types::{
    BlockTemplate, BlockTemplateTx, GenerateBlockResult, GetBlockTemplateResult, MiningInfo,
    NextBlockInfo, MAX_BLOCK_SIGOPS_COST,
};
use dotcoin_common::{deserialize, serialize, Address, Block, BlockHash, Network, PubKey, Txid};
use dotcoin_rpc_server::arg::{
    Count, Flag, Hex, HexList, Int, JsonObject, Keyword, KeywordArg, Text,
};
use jsonrpsee::core::RpcResult;
use jsonrpsee::proc_macros::rpc;
use jsonrpsee::types::ErrorObjectOwned;
use serde::Deserialize;

use super::error::{rpc_error, RpcErrorCode};
use super::RpcContext;
use crate::chain::ChainError;
use crate::miner::build_template;
use crate::util::unix_time;

/// Mining calls.
#[rpc(server)]
pub trait MiningRpc {
    /// Mine blocks now.
    #[method(name = "generatetoaddress", blocking)]
    fn generatetoaddress(
        &self,
        nblocks: Count,
        address: Text,
        maxtries: Option<Count>,
    ) -> RpcResult<Vec<BlockHash>>;
    /// Mine one block with chosen transactions.
    #[method(name = "generateblock", blocking)]
    fn generateblock(
        &self,
        output: Text,
        transactions: HexList,
        submit: Option<Flag>,
    ) -> RpcResult<GenerateBlockResult>;
    /// Mining state.
    #[method(name = "getmininginfo")]
    fn getmininginfo(&self) -> RpcResult<MiningInfo>;
    /// Network hash rate estimate.
    #[method(name = "getnetworkhashps")]
    fn getnetworkhashps(&self, nblocks: Option<Int>, height: Option<Int>) -> RpcResult<f64>;
    /// Continuous mining on/off.
    #[method(name = "setgenerate", blocking)]
    fn setgenerate(
        &self,
        generate: Flag,
        genproclimit: Option<Int>,
        address: Option<Text>,
    ) -> RpcResult<()>;
    /// Whether continuous mining is on.
    #[method(name = "getgenerate")]
    fn getgenerate(&self) -> RpcResult<bool>;
    /// A template for an external miner (BIP22/23, with long polling).
    #[method(name = "getblocktemplate")]
    async fn getblocktemplate(
        &self,
        template_request: Option<JsonObject<TemplateRequest>>,
    ) -> RpcResult<GetBlockTemplateResult>;
    /// Submit a block.
    #[method(name = "submitblock", blocking)]
    fn submitblock(&self, hexdata: Hex, dummy: Option<Text>) -> RpcResult<Option<String>>;
}

/// `getblocktemplate`'s `template_request` (BIP22/23). Other keys Core clients send
/// (`capabilities`, `rules`) are accepted and ignored: every rule is buried and the
/// capabilities the server has are the ones it announces.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct TemplateRequest {
    /// `template` (the default) or `proposal`.
    #[serde(default)]
    pub mode: Option<KeywordArg<TemplateMode>>,
    /// Long polling: wait until the template differs from the one with this id.
    #[serde(default)]
    pub longpollid: Option<String>,
    /// Proposal mode: the block, hex.
    #[serde(default)]
    pub data: Option<String>,
    /// The rules the client supports.
    #[serde(default)]
    pub rules: Option<Vec<String>>,
    /// The features the client supports.
    #[serde(default)]
    pub capabilities: Option<Vec<String>>,
}

/// `getblocktemplate`'s modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplateMode {
    /// A template to mine on.
    Template,
    /// BIP23: check a block built on the tip.
    Proposal,
}

impl Keyword for TemplateMode {
    const WORDS: &'static [(&'static str, Self)] = &[
        ("template", TemplateMode::Template),
        ("proposal", TemplateMode::Proposal),
    ];

    fn unknown(_name: &str, word: &str) -> String {
        // Core's words.
        format!("Invalid mode: {word}")
    }
}

/// An address of `network` given as parameter `name`.
pub(super) fn parse_address(
    text: &str,
    name: &str,
    network: Network,
) -> Result<Address, ErrorObjectOwned> {
    Address::parse_for(text, network).map_err(|e| {
        rpc_error(
            RpcErrorCode::InvalidAddressOrKey,
            format!("Invalid address '{text}' for parameter '{name}': {e}"),
        )
    })
}

/// Implementation of [`MiningRpcServer`].
#[derive(Debug, Clone)]
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

/// The fee of a raw transaction for `generateblock`: its inputs from the UTXO set or from
/// transactions chosen before it, less its outputs.
fn fee_against(
    state: &crate::state::Snapshot,
    before: &[(dotcoin_common::Transaction, dotcoin_common::Amount)],
    tx: &dotcoin_common::Transaction,
) -> RpcResult<dotcoin_common::Amount> {
    let mut paid_in = dotcoin_common::Amount::ZERO;
    for input in &tx.inputs {
        let op = input.prevout;
        let value = match state
            .coin(&op)
            .map_err(|e| rpc_error(RpcErrorCode::Database, e.to_string()))?
        {
            Some(c) => c.output.value,
            None => before
                .iter()
                .find(|(t, _)| t.txid() == op.txid)
                .and_then(|(t, _)| t.outputs.get(op.vout as usize))
                .map(|o| o.value)
                .ok_or_else(|| {
                    rpc_error(
                        RpcErrorCode::Verify,
                        format!(
                            "Transaction {} spends {}:{}, which is not unspent",
                            tx.txid(),
                            op.txid,
                            op.vout
                        ),
                    )
                })?,
        };
        paid_in = paid_in
            .checked_add(value)
            .ok_or_else(|| rpc_error(RpcErrorCode::Verify, "inputs overflow"))?;
    }
    let paid_out = dotcoin_common::Amount::checked_sum(tx.outputs.iter().map(|o| o.value))
        .ok_or_else(|| rpc_error(RpcErrorCode::Verify, "outputs above MAX_MONEY"))?;
    paid_in.checked_sub(paid_out).ok_or_else(|| {
        rpc_error(
            RpcErrorCode::Verify,
            format!("Transaction {} pays out more than it spends", tx.txid()),
        )
    })
}

/// BIP22's `longpollid`: changes whenever the template would (a new tip, or a mempool
/// of another size; a replaced transaction keeps the size and so waits for the next one).
fn longpoll_id(state: &crate::state::Snapshot) -> String {
    format!("{}{}", state.tip().hash, state.mempool().len())
}

impl MiningRpcImpl {
    /// BIP23 proposal mode: null when the block would be valid on the tip (proof of work
    /// aside), else the short reject reason.
    fn proposal(&self, request: &TemplateRequest) -> RpcResult<Option<String>> {
        let data = request
            .data
            .as_deref()
            .ok_or_else(|| rpc_error(RpcErrorCode::Type, "Missing data String key for proposal"))?;
        let bytes = hex::decode(data).map_err(|e| {
            rpc_error(
                RpcErrorCode::Deserialization,
                format!("data is not valid hex: {e}"),
            )
        })?;
        let block: Block = deserialize(&bytes).map_err(|e| {
            rpc_error(
                RpcErrorCode::Deserialization,
                format!("Block decode failed: {e}"),
            )
        })?;
        match self.ctx.chain.check_proposal(&block) {
            Ok(reason) => Ok(reason.map(Into::into)),
            Err(ChainError::Store(e)) => Err(rpc_error(RpcErrorCode::Database, e.to_string())),
            Err(e) => Ok(Some(e.reject_reason().into())),
        }
    }

    fn template(&self, state: &crate::state::Snapshot) -> BlockTemplate {
        // The miner writes the coinbase (coinbasevalue says how much it may claim); the
        // template only selects the transactions, so the key it is built with is never seen.
        let t = build_template(state, PubKey([0; 32]), 0, unix_time());
        let listed = &t.block.txdata[1..];
        // BIP22's depends: 1-based positions in this list of the transactions it spends.
        let position: std::collections::HashMap<_, u32> = listed
            .iter()
            .zip(1..)
            .map(|(tx, i)| (tx.txid(), i))
            .collect();
        let transactions: Vec<BlockTemplateTx> = listed
            .iter()
            .map(|tx| {
                let mut depends: Vec<u32> = tx
                    .inputs
                    .iter()
                    .filter_map(|i| position.get(&i.prevout.txid).copied())
                    .collect();
                depends.sort_unstable();
                depends.dedup();
                BlockTemplateTx {
                    data: hex::encode(serialize(tx)),
                    txid: tx.txid(),
                    hash: tx.wtxid(),
                    depends,
                    fee: state
                        .mempool()
                        .get(&tx.txid())
                        .map_or(0, |e| e.fee.to_sat()),
                    sigops: 0,
                    weight: 4 * tx.size() as u64,
                }
            })
            .collect();
        let params = self.ctx.chain.params();
        let h = &t.block.header;
        BlockTemplate {
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
            weightlimit: 4 * dotcoin_common::consensus::MAX_BLOCK_SIZE as u64,
            sigoplimit: MAX_BLOCK_SIGOPS_COST,
            vbavailable: Default::default(),
            vbrequired: 0,
            coinbaseaux: Default::default(),
            work: format!("{:x}", work_from_bits(h.bits)),
            rules: Vec::new(),
            // Core's list: proposals. Long polling is there too, as in Core, announced by
            // `longpollid` alone.
            capabilities: vec!["proposal".into()],
            longpollid: longpoll_id(state),
            mutable: vec!["time".into(), "transactions".into(), "prevblock".into()],
            noncerange: "00000000ffffffff".into(),
        }
    }
}

fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

#[jsonrpsee::core::async_trait]
impl MiningRpcServer for MiningRpcImpl {
    fn generatetoaddress(
        &self,
        nblocks: Count,
        address: Text,
        maxtries: Option<Count>,
    ) -> RpcResult<Vec<BlockHash>> {
        let network = self.ctx.chain.params().network;
        let addr = parse_address(&address, "address", network)?;
        let maxtries = maxtries.map_or(1_000_000_000u64, |m| u64::from(m.0));
        self.ctx
            .miner
            .generate(*nblocks, addr.pubkey, default_threads(), maxtries)
            .map_err(|e| rpc_error(RpcErrorCode::Misc, e.to_string()))
    }

    fn generateblock(
        &self,
        output: Text,
        transactions: HexList,
        submit: Option<Flag>,
    ) -> RpcResult<GenerateBlockResult> {
        let network = self.ctx.chain.params().network;
        // Core takes an address or a descriptor; addr(<address>) is the one that applies.
        let bare = output
            .strip_prefix("addr(")
            .and_then(|t| t.split('#').next())
            .and_then(|t| t.strip_suffix(')'))
            .unwrap_or(&output);
        let addr = parse_address(bare, "output", network)?;
        let submit = submit.is_none_or(|s| s.0);
        let state = self.ctx.chain.snapshot();
        let mut chosen: Vec<(dotcoin_common::Transaction, dotcoin_common::Amount)> =
            Vec::with_capacity(transactions.len());
        for bytes in transactions.0 {
            // 32 bytes (64 hex digits) name a mempool transaction, as Core's ParseHashStr
            // decides; anything else is a raw transaction.
            let entry = if bytes.len() == 32 {
                let text = hex::encode(&bytes);
                let txid: Txid = text.parse().map_err(|_| {
                    rpc_error(
                        RpcErrorCode::InvalidParameter,
                        "transactions must be hexadecimal",
                    )
                })?;
                state
                    .mempool()
                    .get(&txid)
                    .map(|e| (e.tx.clone(), e.fee))
                    .ok_or_else(|| {
                        rpc_error(
                            RpcErrorCode::InvalidAddressOrKey,
                            format!("Transaction {text} not in mempool."),
                        )
                    })?
            } else {
                let tx: dotcoin_common::Transaction = deserialize(&bytes).map_err(|e| {
                    rpc_error(
                        RpcErrorCode::Deserialization,
                        format!("Transaction decode failed for {}: {e}", hex::encode(&bytes)),
                    )
                })?;
                let fee = fee_against(&state, &chosen, &tx)?;
                (tx, fee)
            };
            chosen.push(entry);
        }
        let block = self
            .ctx
            .miner
            .generate_block(addr.pubkey, chosen, default_threads(), submit)
            .map_err(|e| rpc_error(RpcErrorCode::Verify, format!("Block rejected: {e}")))?
            .ok_or_else(|| rpc_error(RpcErrorCode::Misc, "Shutting down"))?;
        Ok(GenerateBlockResult {
            hash: block.block_hash(),
            hex: (!submit).then(|| hex::encode(serialize(&block))),
        })
    }

    fn getmininginfo(&self) -> RpcResult<MiningInfo> {
        let miner = &self.ctx.miner;
        let nethash = self.network_hashps(120, None);
        let (kernel, kernel_reason) = miner.kernel_info();
        let state = self.ctx.chain.snapshot();
        let tip = state.tip();
        let next_bits = state
            .index()
            .header_context(state.params(), tip, unix_time())
            .expected_bits;
        Ok(MiningInfo {
            blocks: tip.height,
            difficulty: difficulty(tip.header.bits),
            bits: tip.header.bits.to_string(),
            target: format!("{:064x}", tip.header.bits.to_target().unwrap_or_default()),
            networkhashps: nethash,
            hashespersec: miner.hashes_per_sec(),
            generate: miner.is_mining(),
            genproclimit: miner.threads(),
            kernel: kernel.name().into(),
            kernel_reason,
            pooledtx: state.mempool().len() as u64,
            chain: state.params().network.name().into(),
            next: NextBlockInfo {
                height: tip.height + 1,
                bits: next_bits.to_string(),
                difficulty: difficulty(next_bits),
                target: format!("{:064x}", next_bits.to_target().unwrap_or_default()),
            },
            warnings: String::new(),
        })
    }

    fn getnetworkhashps(&self, nblocks: Option<Int>, height: Option<Int>) -> RpcResult<f64> {
        // Core: zero or negative means since the last difficulty change; more than the
        // chain holds is the whole chain (clamped below).
        let n = match nblocks.map_or(120, |n| n.0) {
            n if n <= 0 => {
                let interval = self.ctx.chain.params().retarget_interval.max(1);
                self.ctx.chain.snapshot().height() % interval + 1
            }
            n => u32::try_from(n).unwrap_or(u32::MAX),
        };
        // -1 (the default) is the tip.
        let h = match height.map(|h| h.0) {
            None | Some(-1) => None,
            Some(h) => Some(u32::try_from(h).map_err(|_| {
                rpc_error(
                    RpcErrorCode::InvalidParameter,
                    format!("parameter 'height' out of range: {h}"),
                )
            })?),
        };
        Ok(self.network_hashps(n, h))
    }

    fn setgenerate(
        &self,
        generate: Flag,
        genproclimit: Option<Int>,
        address: Option<Text>,
    ) -> RpcResult<()> {
        if !*generate {
            self.ctx.miner.stop();
            return Ok(());
        }
        let cores = default_threads();
        let threads = match genproclimit.map(|g| g.0) {
            None | Some(-1) => cores,
            Some(n) => usize::try_from(n).map_err(|_| {
                rpc_error(
                    RpcErrorCode::InvalidParameter,
                    format!("parameter 'genproclimit' out of range: {n}"),
                )
            })?,
        };
        // More threads than cores only adds switching: each core already runs one full
        // nonce search, and an absurd count would spawn that many OS threads.
        if threads > cores {
            return Err(rpc_error(
                RpcErrorCode::InvalidParameter,
                format!(
                    "genproclimit {threads} is more than the {cores} cores of this machine \
                     (-1 uses them all)"
                ),
            ));
        }
        if threads == 0 {
            self.ctx.miner.stop();
            return Ok(());
        }
        let network = self.ctx.chain.params().network;
        let address = address.ok_or_else(|| {
            rpc_error(
                RpcErrorCode::InvalidParameter,
                "missing required parameter 'address'",
            )
        })?;
        let addr = parse_address(&address, "address", network)?;
        // Restart so a new address or thread count takes effect.
        self.ctx.miner.stop();
        self.ctx.miner.start(addr.pubkey, threads);
        Ok(())
    }

    fn getgenerate(&self) -> RpcResult<bool> {
        Ok(self.ctx.miner.is_mining())
    }

    async fn getblocktemplate(
        &self,
        template_request: Option<JsonObject<TemplateRequest>>,
    ) -> RpcResult<GetBlockTemplateResult> {
        let request = template_request.map(|r| r.0).unwrap_or_default();
        if request.mode.is_some_and(|m| m.0 == TemplateMode::Proposal) {
            // Validating a whole block holds the writer: on a blocking thread, never on an
            // async worker that other connections share.
            let this = self.clone();
            return tokio::task::spawn_blocking(move || this.proposal(&request))
                .await
                .map_err(|_| rpc_error(RpcErrorCode::Misc, "proposal check failed"))?
                .map(GetBlockTemplateResult::Proposal);
        }
        // BIP22 long polling: wait until the template would change (a new tip, or the
        // mempool changed), following the chain service's snapshot channel.
        if let Some(id) = request.longpollid {
            let mut rx = self.ctx.chain.watch_snapshots();
            loop {
                if longpoll_id(&rx.borrow_and_update()) != id {
                    break;
                }
                if rx.changed().await.is_err() {
                    break;
                }
            }
        }
        // Selecting and serialising a block's worth of transactions is CPU work too.
        let this = self.clone();
        let template = tokio::task::spawn_blocking(move || {
            let state = this.ctx.chain.snapshot();
            this.template(&state)
        })
        .await
        .map_err(|_| rpc_error(RpcErrorCode::Misc, "template task failed"))?;
        Ok(GetBlockTemplateResult::Template(Box::new(template)))
    }

    fn submitblock(&self, hexdata: Hex, _dummy: Option<Text>) -> RpcResult<Option<String>> {
        let block: Block = deserialize(&hexdata).map_err(|e| {
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
            // Core's short BIP22 reason ("high-hash"); the long explanation goes to the log.
            Err(e) => {
                let long = e.to_string();
                let short = match &e {
                    ChainError::Invalid(v) => v.reject_reason().to_owned(),
                    _ => long.split(':').next().unwrap_or(&long).trim().to_owned(),
                };
                tracing::info!(target: "rpc", reason = %short, "submitblock refused: {long}");
                Ok(Some(short))
            }
        }
    }
}
