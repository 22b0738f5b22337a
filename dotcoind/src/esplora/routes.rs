//! Esplora's endpoints (Blockstream `API.md`), field for field: transactions, addresses
//! and script hashes, blocks, the mempool and fee estimates. Amounts are satoshis, sizes
//! bytes and weight units (`vsize` = weight / 4 rounded up), fee rates sat/vB. Error
//! statuses and texts are electrs' (`src/rest.rs` of its esplora branch).
//!
//! A dotcoin output is taproot-shaped: its `scriptpubkey` is `5120` + its x-only key,
//! type `v1_p2tr`, and its address dotcoin's bech32m address. `/raw` and `/hex` carry
//! dotcoin's own transaction and block encoding. Merkle proofs are over wtxids, which is
//! what a dotcoin header commits to.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use bitcoin_hashes::Hash;
use dotcoin_common::consensus::Coin;
use dotcoin_common::{Address, Block, BlockHash, OutPoint, PubKey, Transaction, TxOut, Txid};
use serde::{Deserialize, Serialize};

use super::{binary, json, text, Api, ApiError};
use crate::chain::IndexEntry;
use crate::state::Snapshot;
use crate::storage::TxidByPubkey;

/// Confirmed transactions per page (`/txs/chain`, `/block/:hash/txs`).
pub const CHAIN_TXS_PER_PAGE: usize = 25;
/// Pool transactions in `/txs` and `/txs/mempool`.
pub const MAX_MEMPOOL_TXS: usize = 50;
/// Blocks in one `/blocks` answer.
pub const BLOCK_LIMIT: u32 = 10;
/// Addresses in one `/address-prefix` answer.
pub const ADDRESS_SEARCH_LIMIT: usize = 10;
/// Index rows one `/address-prefix` search reads at most.
pub const ADDRESS_SEARCH_SCAN: usize = 100_000;
/// Unspent outputs one `/utxo` answer lists at most; a larger set is refused (electrs'
/// `utxos_limit`), so one request cannot build an unbounded answer.
pub const MAX_UTXOS: usize = 50_000;
/// Blocks an address's statistics read at most (one block and its undo data each).
pub const MAX_STATS_BLOCKS: usize = 2_000;
/// History rows a spender search walks at most for one output.
pub const MAX_SPENDER_SCAN: usize = 2_000;
/// Txids one `/mempool/txids` lists at most.
pub const MAX_MEMPOOL_TXIDS: usize = 100_000;
/// Fee-rate histogram bin width, vbytes (electrs' `VSIZE_BIN_WIDTH`).
const VSIZE_BIN_WIDTH: u64 = 50_000;
/// The confirmation targets `/fee-estimates` answers for (electrs' list).
pub const FEE_TARGETS: [u32; 28] = [
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 144,
    504, 1008,
];

pub(super) fn router() -> Router<Api> {
    Router::new()
        .route("/tx", post(broadcast))
        .route("/tx/{txid}", get(tx))
        .route("/tx/{txid}/status", get(tx_status))
        .route("/tx/{txid}/hex", get(tx_hex))
        .route("/tx/{txid}/raw", get(tx_raw))
        .route("/tx/{txid}/merkle-proof", get(merkle_proof))
        .route("/tx/{txid}/merkleblock-proof", get(merkleblock_proof))
        .route("/tx/{txid}/outspend/{vout}", get(outspend))
        .route("/tx/{txid}/outspends", get(outspends))
        .route("/address/{a}", get(address))
        .route("/address/{a}/txs", get(address_txs))
        .route("/address/{a}/txs/chain", get(address_chain))
        .route("/address/{a}/txs/chain/{last}", get(address_chain_after))
        .route("/address/{a}/txs/mempool", get(address_mempool))
        .route("/address/{a}/utxo", get(address_utxo))
        .route("/scripthash/{h}", get(scripthash))
        .route("/scripthash/{h}/txs", get(scripthash_txs))
        .route("/scripthash/{h}/txs/chain", get(scripthash_chain))
        .route(
            "/scripthash/{h}/txs/chain/{last}",
            get(scripthash_chain_after),
        )
        .route("/scripthash/{h}/txs/mempool", get(scripthash_mempool))
        .route("/scripthash/{h}/utxo", get(scripthash_utxo))
        .route("/address-prefix/{prefix}", get(address_prefix))
        .route("/block/{hash}", get(block))
        .route("/block/{hash}/header", get(block_header))
        .route("/block/{hash}/status", get(block_status))
        .route("/block/{hash}/txs", get(block_txs_first))
        .route("/block/{hash}/txs/{start}", get(block_txs))
        .route("/block/{hash}/txids", get(block_txids))
        .route("/block/{hash}/txid/{index}", get(block_txid))
        .route("/block/{hash}/raw", get(block_raw))
        .route("/block-height/{height}", get(block_height))
        .route("/blocks", get(blocks_tip))
        .route("/blocks/{start}", get(blocks))
        .route("/blocks/tip/height", get(tip_height))
        .route("/blocks/tip/hash", get(tip_hash))
        .route("/mempool", get(mempool))
        .route("/mempool/txids", get(mempool_txids))
        .route("/mempool/recent", get(mempool_recent))
        .route("/fee-estimates", get(fee_estimates))
        .route("/v1/fees/recommended", get(fees_recommended))
}

// ---- shapes ----

/// Where a transaction stands (`status`).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct TxStatus {
    confirmed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    block_height: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    block_hash: Option<BlockHash>,
    #[serde(skip_serializing_if = "Option::is_none")]
    block_time: Option<u32>,
}

impl TxStatus {
    const UNCONFIRMED: TxStatus = TxStatus {
        confirmed: false,
        block_height: None,
        block_hash: None,
        block_time: None,
    };

    pub(crate) fn of(block: Option<&IndexEntry>) -> TxStatus {
        match block {
            None => TxStatus::UNCONFIRMED,
            Some(e) => TxStatus {
                confirmed: true,
                block_height: Some(e.height),
                block_hash: Some(e.hash),
                block_time: Some(e.header.time),
            },
        }
    }

    /// The status of something confirmed at `height` on the active chain.
    fn at_height(snap: &Snapshot, height: u32) -> TxStatus {
        let index = snap.index();
        TxStatus::of(index.active_hash(height).and_then(|h| index.get(&h)))
    }
}

/// An output (`vout[]`, `vin[].prevout`).
#[derive(Debug, Clone, Serialize)]
pub struct Vout {
    scriptpubkey: String,
    scriptpubkey_asm: String,
    scriptpubkey_type: &'static str,
    scriptpubkey_address: String,
    value: u64,
}

fn vout(network: dotcoin_common::Network, o: &TxOut) -> Vout {
    let key = hex::encode(o.pubkey.0);
    Vout {
        scriptpubkey: format!("5120{key}"),
        scriptpubkey_asm: format!("OP_PUSHNUM_1 OP_PUSHBYTES_32 {key}"),
        scriptpubkey_type: "v1_p2tr",
        scriptpubkey_address: Address::new(network, o.pubkey).to_string(),
        value: o.value.to_sat(),
    }
}

/// An input (`vin[]`).
#[derive(Debug, Clone, Serialize)]
struct Vin {
    txid: Txid,
    vout: u32,
    prevout: Option<Vout>,
    scriptsig: &'static str,
    scriptsig_asm: &'static str,
    witness: Vec<String>,
    is_coinbase: bool,
    sequence: u32,
}

/// A transaction as Esplora shows it.
#[derive(Debug, Clone, Serialize)]
pub struct EsploraTx {
    txid: Txid,
    version: u32,
    locktime: u32,
    vin: Vec<Vin>,
    vout: Vec<Vout>,
    size: usize,
    weight: usize,
    fee: u64,
    status: TxStatus,
}

/// Bitcoin's weight of a transaction: its base bytes count four times, its witness
/// bytes once.
pub fn tx_weight(tx: &Transaction) -> usize {
    tx.base_size() * 3 + tx.size()
}

/// `weight / 4` rounded up.
pub fn vsize(weight: usize) -> usize {
    weight.div_ceil(4)
}

/// `tx` as Esplora shows it; `spent` are the outputs its inputs spent, in input order
/// (`None` when unknown or a coinbase).
pub fn esplora_tx(
    network: dotcoin_common::Network,
    tx: &Transaction,
    txid: Txid,
    spent: Option<&[TxOut]>,
    status: TxStatus,
) -> EsploraTx {
    let coinbase = tx.is_coinbase();
    let spent = spent.filter(|s| s.len() == tx.inputs.len() && !coinbase);
    let fee = spent
        .and_then(|s| {
            let input = dotcoin_common::Amount::checked_sum(s.iter().map(|o| o.value))?;
            input.checked_sub(tx.total_out()?)
        })
        .map_or(0, |f| f.to_sat());
    EsploraTx {
        txid,
        version: tx.version,
        locktime: tx.lock_time,
        vin: tx
            .inputs
            .iter()
            .enumerate()
            .map(|(i, input)| Vin {
                txid: input.prevout.txid,
                vout: input.prevout.vout,
                prevout: spent.map(|s| vout(network, &s[i])),
                scriptsig: "",
                scriptsig_asm: "",
                witness: vec![hex::encode(&input.witness)],
                is_coinbase: coinbase,
                sequence: u32::MAX,
            })
            .collect(),
        vout: tx.outputs.iter().map(|o| vout(network, o)).collect(),
        size: tx.size(),
        weight: tx_weight(tx),
        fee,
        status,
    }
}

// ---- finding things ----

pub(crate) fn parse_txid(s: &str) -> Result<Txid, ApiError> {
    s.parse().map_err(|_| ApiError::bad("Invalid hex string"))
}

pub(crate) fn parse_block_hash(s: &str) -> Result<BlockHash, ApiError> {
    s.parse().map_err(|_| ApiError::bad("Invalid hex string"))
}

/// A transaction found in the pool or on the active chain.
pub(crate) struct Found {
    pub tx: Transaction,
    /// The outputs its inputs spent (empty for a coinbase), when known.
    pub spent: Option<Vec<TxOut>>,
    /// The block holding it, if confirmed, and its place there.
    pub block: Option<(IndexEntry, u32)>,
}

impl Found {
    fn status(&self) -> TxStatus {
        TxStatus::of(self.block.as_ref().map(|(e, _)| e))
    }
}

/// A block, and the coins each of its transactions' inputs spent (from its undo data).
type BlockWithSpent = (Block, Option<Vec<Vec<Coin>>>);
/// A transaction and the outputs its inputs spent, when known.
type TxWithSpent = (Transaction, Option<Vec<TxOut>>);

/// Blocks and their undo data read once per request.
#[derive(Default)]
pub(crate) struct BlockCache {
    blocks: HashMap<BlockHash, BlockWithSpent>,
}

impl BlockCache {
    /// Transaction `i` of block `hash`, with the coins its inputs spent.
    fn tx(
        &mut self,
        snap: &Snapshot,
        hash: BlockHash,
        i: usize,
    ) -> Result<Option<TxWithSpent>, ApiError> {
        let (block, spent) = match self.blocks.entry(hash) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                let Some(block) = snap.block(&hash)? else {
                    return Ok(None);
                };
                let spent = crate::rpc::json::spent_by_block(snap, &block)?;
                e.insert((block, spent))
            }
        };
        let Some(tx) = block.txdata.get(i) else {
            return Ok(None);
        };
        let spent = spent
            .as_ref()
            .and_then(|s| s.get(i))
            .map(|coins| coins.iter().map(|c| c.output).collect());
        Ok(Some((tx.clone(), spent)))
    }
}

/// `txid` in the pool or on the active chain.
pub(crate) fn find_tx(
    snap: &Snapshot,
    txid: &Txid,
    cache: &mut BlockCache,
) -> Result<Option<Found>, ApiError> {
    if let Some(e) = snap.mempool().get(txid) {
        return Ok(Some(Found {
            tx: e.tx.clone(),
            spent: Some(e.spent.iter().map(|c| c.output).collect()),
            block: None,
        }));
    }
    let Some(loc) = snap.tx_location(txid)? else {
        return Ok(None);
    };
    let Some(entry) = snap.index().get(&loc.block).copied() else {
        return Ok(None);
    };
    if !snap.index().is_active(&entry) {
        return Ok(None);
    }
    let Some((tx, spent)) = cache.tx(snap, loc.block, loc.index as usize)? else {
        return Ok(None);
    };
    Ok(Some(Found {
        tx,
        spent,
        block: Some((entry, loc.index)),
    }))
}

fn found_or_404(snap: &Snapshot, txid: &Txid) -> Result<Found, ApiError> {
    find_tx(snap, txid, &mut BlockCache::default())?
        .ok_or_else(|| ApiError::not_found("Transaction not found"))
}

fn found_json(snap: &Snapshot, txid: Txid, f: &Found) -> EsploraTx {
    esplora_tx(
        snap.params().network,
        &f.tx,
        txid,
        f.spent.as_deref(),
        f.status(),
    )
}

// ---- transactions ----

async fn tx(State(api): State<Api>, Path(txid): Path<String>) -> Response {
    api_read!(api, |snap| {
        let txid = parse_txid(&txid)?;
        let f = found_or_404(snap, &txid)?;
        Ok(json(&found_json(snap, txid, &f)))
    })
}

async fn tx_status(State(api): State<Api>, Path(txid): Path<String>) -> Response {
    api_read!(api, |snap| {
        let txid = parse_txid(&txid)?;
        Ok(json(&found_or_404(snap, &txid)?.status()))
    })
}

async fn tx_hex(State(api): State<Api>, Path(txid): Path<String>) -> Response {
    api_read!(api, |snap| {
        let txid = parse_txid(&txid)?;
        let f = found_or_404(snap, &txid)?;
        Ok(text(hex::encode(dotcoin_common::serialize(&f.tx))))
    })
}

async fn tx_raw(State(api): State<Api>, Path(txid): Path<String>) -> Response {
    api_read!(api, |snap| {
        let txid = parse_txid(&txid)?;
        let f = found_or_404(snap, &txid)?;
        Ok(binary(dotcoin_common::serialize(&f.tx)))
    })
}

/// The wtxid leaves of `block`, which its header's merkle root commits to.
fn leaves(block: &Block) -> Vec<dotcoin_common::TxMerkleNode> {
    block
        .txdata
        .iter()
        .map(|t| dotcoin_common::TxMerkleNode::from_raw_hash(t.wtxid().to_raw_hash()))
        .collect()
}

fn parent(
    l: &dotcoin_common::TxMerkleNode,
    r: &dotcoin_common::TxMerkleNode,
) -> dotcoin_common::TxMerkleNode {
    let mut engine = bitcoin_hashes::sha256d::Hash::engine();
    bitcoin_hashes::HashEngine::input(&mut engine, l.as_byte_array());
    bitcoin_hashes::HashEngine::input(&mut engine, r.as_byte_array());
    dotcoin_common::TxMerkleNode::from_raw_hash(bitcoin_hashes::sha256d::Hash::from_engine(engine))
}

/// The sibling hashes from leaf `pos` up to the root (Electrum's merkle branch).
pub fn merkle_branch(
    mut level: Vec<dotcoin_common::TxMerkleNode>,
    mut pos: usize,
) -> Vec<dotcoin_common::TxMerkleNode> {
    let mut branch = Vec::new();
    while level.len() > 1 {
        let sibling = if pos.is_multiple_of(2) {
            *level.get(pos + 1).unwrap_or(&level[pos])
        } else {
            level[pos - 1]
        };
        branch.push(sibling);
        level = level
            .chunks(2)
            .map(|p| parent(&p[0], p.get(1).unwrap_or(&p[0])))
            .collect();
        pos /= 2;
    }
    branch
}

/// The confirmed `txid`'s block, read, and its place there.
fn confirmed_block(snap: &Snapshot, txid: &str) -> Result<(IndexEntry, Block, usize), ApiError> {
    let txid = parse_txid(txid)?;
    let f = found_or_404(snap, &txid)?;
    let (entry, pos) = f
        .block
        .ok_or_else(|| ApiError::not_found("Transaction not found"))?;
    let block = snap
        .block(&entry.hash)?
        .ok_or_else(|| ApiError::not_found("Block not found"))?;
    Ok((entry, block, pos as usize))
}

#[derive(Serialize)]
struct MerkleProof {
    block_height: u32,
    merkle: Vec<dotcoin_common::TxMerkleNode>,
    pos: usize,
}

async fn merkle_proof(State(api): State<Api>, Path(txid): Path<String>) -> Response {
    api_read!(api, |snap| {
        let (entry, block, pos) = confirmed_block(snap, &txid)?;
        Ok(json(&MerkleProof {
            block_height: entry.height,
            merkle: merkle_branch(leaves(&block), pos),
            pos,
        }))
    })
}

/// BIP37's partial merkle tree matching leaf `pos` of `leaves`: the hashes and the
/// flag bits, depth first.
fn partial_tree(
    leaves: &[dotcoin_common::TxMerkleNode],
    pos: usize,
) -> (Vec<dotcoin_common::TxMerkleNode>, Vec<bool>) {
    let n = leaves.len();
    let width = |height: u32| (n + (1 << height) - 1) >> height;
    let mut tree_height = 0;
    while width(tree_height) > 1 {
        tree_height += 1;
    }
    fn hash_at(
        leaves: &[dotcoin_common::TxMerkleNode],
        width: &dyn Fn(u32) -> usize,
        height: u32,
        i: usize,
    ) -> dotcoin_common::TxMerkleNode {
        if height == 0 {
            return leaves[i];
        }
        let left = hash_at(leaves, width, height - 1, i * 2);
        let right = if i * 2 + 1 < width(height - 1) {
            hash_at(leaves, width, height - 1, i * 2 + 1)
        } else {
            left
        };
        parent(&left, &right)
    }
    #[allow(clippy::too_many_arguments)]
    fn build(
        leaves: &[dotcoin_common::TxMerkleNode],
        width: &dyn Fn(u32) -> usize,
        height: u32,
        i: usize,
        pos: usize,
        hashes: &mut Vec<dotcoin_common::TxMerkleNode>,
        bits: &mut Vec<bool>,
    ) {
        let matched = (i << height) <= pos && pos < ((i + 1) << height);
        bits.push(matched);
        if height == 0 || !matched {
            hashes.push(hash_at(leaves, width, height, i));
        } else {
            build(leaves, width, height - 1, i * 2, pos, hashes, bits);
            if i * 2 + 1 < width(height - 1) {
                build(leaves, width, height - 1, i * 2 + 1, pos, hashes, bits);
            }
        }
    }
    let (mut hashes, mut bits) = (Vec::new(), Vec::new());
    build(leaves, &width, tree_height, 0, pos, &mut hashes, &mut bits);
    (hashes, bits)
}

async fn merkleblock_proof(State(api): State<Api>, Path(txid): Path<String>) -> Response {
    api_read!(api, |snap| {
        let (_, block, pos) = confirmed_block(snap, &txid)?;
        let leaves = leaves(&block);
        let (hashes, bits) = partial_tree(&leaves, pos);
        // Bitcoin's `merkleblock` message: header, transaction count, hashes, flag bytes.
        let mut out = block.header.to_bytes().to_vec();
        out.extend_from_slice(&(leaves.len() as u32).to_le_bytes());
        dotcoin_common::encode::write_compact_size(&mut out, hashes.len() as u64);
        for h in &hashes {
            out.extend_from_slice(h.as_byte_array());
        }
        let mut flags = vec![0u8; bits.len().div_ceil(8)];
        for (i, b) in bits.iter().enumerate() {
            if *b {
                flags[i / 8] |= 1 << (i % 8);
            }
        }
        dotcoin_common::encode::write_compact_size(&mut out, flags.len() as u64);
        out.extend_from_slice(&flags);
        Ok(text(hex::encode(out)))
    })
}

/// Whether and by what an output is spent (`/outspend`).
#[derive(Debug, Clone, Serialize)]
struct Outspend {
    spent: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    txid: Option<Txid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    vin: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<TxStatus>,
}

const UNSPENT: Outspend = Outspend {
    spent: false,
    txid: None,
    vin: None,
    status: None,
};

/// The spender of output `vout` of `f` (`txid`).
fn outspend_of(
    snap: &Snapshot,
    txid: Txid,
    f: &Found,
    vout: u32,
    cache: &mut BlockCache,
) -> Result<Outspend, ApiError> {
    let op = OutPoint { txid, vout };
    let pool = snap.mempool();
    if let Some(spender) = pool.spender_of(&op) {
        let vin = pool
            .get(&spender)
            .and_then(|e| e.tx.inputs.iter().position(|i| i.prevout == op))
            .map(|i| i as u32);
        return Ok(Outspend {
            spent: true,
            txid: Some(spender),
            vin,
            status: Some(TxStatus::UNCONFIRMED),
        });
    }
    let Some((created, _)) = f.block else {
        return Ok(UNSPENT);
    };
    let Some(out) = f.tx.outputs.get(vout as usize) else {
        return Ok(UNSPENT);
    };
    if snap.coin(&op)?.is_some() {
        return Ok(UNSPENT);
    }
    // Spent in a block: the spender is in the history of the output's key from the
    // creating block on, among the rows that spent from the key.
    let key = out.pubkey;
    let from = (key, created.height, Txid::all_zeros());
    let mut candidates = Vec::new();
    let mut walked = 0usize;
    snap.view()
        .walk::<TxidByPubkey>(&key.0, Some(&from), false, |(_, h, t), did| {
            walked += 1;
            if did.sent.to_sat() > 0 {
                candidates.push((h, t));
            }
            walked < MAX_SPENDER_SCAN
        })?;
    for (_, t) in candidates {
        let Some(spender) = find_tx(snap, &t, cache)? else {
            continue;
        };
        if let Some(vin) = spender.tx.inputs.iter().position(|i| i.prevout == op) {
            return Ok(Outspend {
                spent: true,
                txid: Some(t),
                vin: Some(vin as u32),
                status: Some(spender.status()),
            });
        }
    }
    // Spent, by a transaction past the bounded search.
    Ok(Outspend {
        spent: true,
        txid: None,
        vin: None,
        status: None,
    })
}

async fn outspend(State(api): State<Api>, Path((txid, vout)): Path<(String, String)>) -> Response {
    api_read!(api, |snap| {
        let txid = parse_txid(&txid)?;
        let vout: u32 = vout.parse().map_err(|_| ApiError::bad("Invalid vout"))?;
        let mut cache = BlockCache::default();
        let f = find_tx(snap, &txid, &mut cache)?
            .ok_or_else(|| ApiError::not_found("Transaction not found"))?;
        if vout as usize >= f.tx.outputs.len() {
            return Err(ApiError::not_found("Output not found"));
        }
        Ok(json(&outspend_of(snap, txid, &f, vout, &mut cache)?))
    })
}

async fn outspends(State(api): State<Api>, Path(txid): Path<String>) -> Response {
    api_read!(api, |snap| {
        let txid = parse_txid(&txid)?;
        let mut cache = BlockCache::default();
        let f = find_tx(snap, &txid, &mut cache)?
            .ok_or_else(|| ApiError::not_found("Transaction not found"))?;
        let all = (0..f.tx.outputs.len() as u32)
            .map(|v| outspend_of(snap, txid, &f, v, &mut cache))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(json(&all))
    })
}

async fn broadcast(State(api): State<Api>, body: Bytes) -> Response {
    use crate::rpc::rawtx::{RawTransactionsRpcImpl, RawTransactionsRpcServer};
    let rpc_error = |code: i32, message: &str| {
        ApiError::bad(format!(
            "sendrawtransaction RPC error: {}",
            serde_json::json!({ "code": code, "message": message })
        ))
    };
    let hex_text = match std::str::from_utf8(&body) {
        Ok(t) => t.trim(),
        Err(_) => return rpc_error(-22, "TX decode failed").into_response(),
    };
    let Ok(bytes) = hex::decode(hex_text) else {
        return rpc_error(-22, "TX decode failed").into_response();
    };
    let rpc = RawTransactionsRpcImpl::new(api.ctx.clone());
    match rpc
        .sendrawtransaction(dotcoin_rpc_server::arg::Hex(bytes), None)
        .await
    {
        Ok(txid) => text(txid.to_string()),
        Err(e) => rpc_error(e.code(), e.message()).into_response(),
    }
}

// ---- addresses and script hashes ----

/// What an address route names: the address or script hash as given, and its key (none
/// for a script hash no output has paid).
struct Target {
    field: &'static str,
    name: String,
    key: Option<PubKey>,
}

fn address_target(snap: &Snapshot, a: &str) -> Result<Target, ApiError> {
    let addr = Address::parse_for(a, snap.params().network)
        .map_err(|_| ApiError::bad("Invalid Bitcoin address"))?;
    Ok(Target {
        field: "address",
        name: addr.to_string(),
        key: Some(addr.pubkey),
    })
}

fn scripthash_target(api: &Api, snap: &Snapshot, h: &str) -> Result<Target, ApiError> {
    let bytes = hex::decode(h).map_err(|_| ApiError::bad("Invalid hex string"))?;
    let hash: [u8; 32] = bytes
        .try_into()
        .map_err(|_| ApiError::bad("Invalid scripthash"))?;
    let key = api.keys.get(&hash).or_else(|| {
        // A key only the pool has paid yet.
        snap.mempool()
            .entries()
            .iter()
            .flat_map(|e| e.tx.outputs.iter().map(|o| o.pubkey))
            .find(|k| super::scripthash(k) == hash)
    });
    Ok(Target {
        field: "scripthash",
        name: hex::encode(hash),
        key,
    })
}

/// Esplora's `chain_stats` / `mempool_stats`.
#[derive(Debug, Default, Clone, Copy, Serialize)]
struct Stats {
    funded_txo_count: u64,
    funded_txo_sum: u64,
    spent_txo_count: u64,
    spent_txo_sum: u64,
    tx_count: u64,
}

impl Stats {
    fn add(&mut self, key: &PubKey, tx: &Transaction, spent: &[TxOut]) {
        for o in tx.outputs.iter().filter(|o| o.pubkey == *key) {
            self.funded_txo_count += 1;
            self.funded_txo_sum = self.funded_txo_sum.saturating_add(o.value.to_sat());
        }
        for o in spent.iter().filter(|o| o.pubkey == *key) {
            self.spent_txo_count += 1;
            self.spent_txo_sum = self.spent_txo_sum.saturating_add(o.value.to_sat());
        }
        self.tx_count += 1;
    }
}

fn address_stats(snap: &Snapshot, t: &Target) -> Result<Response, ApiError> {
    let mut chain = Stats::default();
    let mut pool_stats = Stats::default();
    if let Some(key) = t.key {
        // The history index says which transactions touched the key; the counts of
        // outputs need the transactions themselves: each block is read once.
        let mut rows = Vec::new();
        snap.view()
            .for_each::<TxidByPubkey>(&key.0, |(_, _, txid), _| rows.push(txid))?;
        let mut cache = BlockCache::default();
        for txid in rows {
            if cache.blocks.len() > MAX_STATS_BLOCKS {
                return Err(ApiError::bad("Too many history entries"));
            }
            if let Some(f) = find_tx(snap, &txid, &mut cache)? {
                if f.block.is_some() {
                    chain.add(&key, &f.tx, f.spent.as_deref().unwrap_or(&[]));
                }
            }
        }
        let pool = snap.mempool();
        for txid in pool.txids_touching(&key) {
            if let Some(e) = pool.get(&txid) {
                let spent: Vec<TxOut> = e.spent.iter().map(|c| c.output).collect();
                pool_stats.add(&key, &e.tx, &spent);
            }
        }
    }
    let mut v = serde_json::Map::new();
    v.insert(t.field.into(), serde_json::Value::String(t.name.clone()));
    v.insert(
        "chain_stats".into(),
        serde_json::to_value(chain).map_err(ApiError::internal)?,
    );
    v.insert(
        "mempool_stats".into(),
        serde_json::to_value(pool_stats).map_err(ApiError::internal)?,
    );
    Ok(json(&v))
}

/// Pool transactions touching `key`, newest first, at most [`MAX_MEMPOOL_TXS`].
fn mempool_txs(snap: &Snapshot, key: &PubKey) -> Vec<EsploraTx> {
    let pool = snap.mempool();
    let network = snap.params().network;
    let mut entries: Vec<_> = pool
        .txids_touching(key)
        .into_iter()
        .filter_map(|t| pool.get(&t))
        .collect();
    entries.sort_by_key(|e| std::cmp::Reverse((e.time, e.txid)));
    entries
        .into_iter()
        .take(MAX_MEMPOOL_TXS)
        .map(|e| {
            let spent: Vec<TxOut> = e.spent.iter().map(|c| c.output).collect();
            esplora_tx(network, &e.tx, e.txid, Some(&spent), TxStatus::UNCONFIRMED)
        })
        .collect()
}

/// Up to [`CHAIN_TXS_PER_PAGE`] confirmed transactions touching `key`, newest first,
/// after `last_seen` when given (empty when it is not in the key's history).
fn chain_txs(
    snap: &Snapshot,
    key: &PubKey,
    last_seen: Option<Txid>,
) -> Result<Vec<EsploraTx>, ApiError> {
    let mut cache = BlockCache::default();
    let before = match last_seen {
        None => None,
        Some(t) => match find_tx(snap, &t, &mut cache)?.and_then(|f| f.block) {
            Some((e, _)) => Some((e.height, t)),
            None => return Ok(Vec::new()),
        },
    };
    let (rows, _) = crate::chain::history_page(snap.view(), key, before, CHAIN_TXS_PER_PAGE)?;
    let network = snap.params().network;
    let mut out = Vec::with_capacity(rows.len());
    for (_, txid, _) in rows {
        if let Some(f) = find_tx(snap, &txid, &mut cache)? {
            out.push(esplora_tx(
                network,
                &f.tx,
                txid,
                f.spent.as_deref(),
                f.status(),
            ));
        }
    }
    Ok(out)
}

#[derive(Deserialize)]
struct AfterTxid {
    after_txid: Option<String>,
}

fn txs_page(snap: &Snapshot, t: &Target, after: Option<String>) -> Result<Response, ApiError> {
    let Some(key) = t.key else {
        return Ok(json(&Vec::<EsploraTx>::new()));
    };
    match after {
        Some(a) => Ok(json(&chain_txs(snap, &key, Some(parse_txid(&a)?))?)),
        None => {
            let mut out = mempool_txs(snap, &key);
            out.extend(chain_txs(snap, &key, None)?);
            Ok(json(&out))
        }
    }
}

fn chain_page(snap: &Snapshot, t: &Target, last: Option<String>) -> Result<Response, ApiError> {
    let last = last.as_deref().map(parse_txid).transpose()?;
    match t.key {
        None => Ok(json(&Vec::<EsploraTx>::new())),
        Some(key) => Ok(json(&chain_txs(snap, &key, last)?)),
    }
}

fn mempool_page(snap: &Snapshot, t: &Target) -> Result<Response, ApiError> {
    match t.key {
        None => Ok(json(&Vec::<EsploraTx>::new())),
        Some(key) => Ok(json(&mempool_txs(snap, &key))),
    }
}

/// The key's unspent outputs as of the pool: confirmed ones not spent by a pool
/// transaction, then the pool's outputs to it not spent in the pool either. Built as
/// text directly (one status string per height, not per row): a popular address has
/// tens of thousands.
fn utxo_json(snap: &Snapshot, key: &PubKey) -> Result<Vec<u8>, ApiError> {
    let pool = snap.mempool();
    let mut out = String::with_capacity(4096);
    out.push('[');
    let mut rows = 0usize;
    let mut too_many = false;
    let mut status_at: HashMap<u32, String> = HashMap::new();
    // Rows come in outpoint order, so runs of one height are common but not the rule.
    let mut last_status: Option<(u32, String)> = None;
    let row = |out: &mut String, op: &OutPoint, status: &str, value: u64| {
        // Past the opening bracket, a row follows another.
        if out.len() > 1 {
            out.push(',');
        }
        let mut digits = itoa::Buffer::new();
        out.push_str(r#"{"txid":""#);
        push_txid_hex(out, op);
        out.push_str(r#"","vout":"#);
        out.push_str(digits.format(op.vout));
        out.push_str(r#","status":"#);
        out.push_str(status);
        out.push_str(r#","value":"#);
        out.push_str(digits.format(value));
        out.push('}');
    };
    snap.view().address_coins(key, |op, coin| {
        if rows == MAX_UTXOS {
            too_many = true;
            return false;
        }
        if pool.spender_of(&op).is_none() {
            if last_status.as_ref().is_none_or(|(h, _)| *h != coin.height) {
                let status = status_at.entry(coin.height).or_insert_with(|| {
                    serde_json::to_string(&TxStatus::at_height(snap, coin.height))
                        .unwrap_or_default()
                });
                last_status = Some((coin.height, status.clone()));
            }
            if let Some((_, status)) = &last_status {
                row(&mut out, &op, status, coin.value.to_sat());
            }
            rows += 1;
        }
        true
    })?;
    if too_many {
        return Err(ApiError::bad("Too many history entries"));
    }
    for (op, o) in pool.outputs_to(key) {
        if pool.spender_of(&op).is_none() {
            row(&mut out, &op, r#"{"confirmed":false}"#, o.value.to_sat());
        }
    }
    out.push(']');
    Ok(out.into_bytes())
}

/// Appends `op`'s txid as Esplora shows it (byte-reversed hex), without the allocation a
/// `hex::encode` per row of a 10 000-row answer would cost.
fn push_txid_hex(out: &mut String, op: &OutPoint) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = [0u8; 64];
    for (i, b) in op.txid.as_byte_array().iter().rev().enumerate() {
        text[2 * i] = DIGITS[usize::from(b >> 4)];
        text[2 * i + 1] = DIGITS[usize::from(b & 0x0f)];
    }
    // Hex digits are ASCII.
    out.push_str(std::str::from_utf8(&text).unwrap_or_default());
}

/// Answers kept by [`utxo_list`]: at most this many addresses' lists…
const UTXO_CACHE_ENTRIES: usize = 16;
/// …and at most this many bytes of them.
const UTXO_CACHE_BYTES: usize = 64 * 1024 * 1024;

/// The last `/utxo` answers, each for the tip and pool it was read at: a popular
/// address asked for again before the next block or pool change is answered from here
/// (the dashboard keeps its `/api/mempool` answer the same way).
#[derive(Default)]
pub(crate) struct UtxoCache {
    rows: std::collections::VecDeque<(PubKey, BlockHash, u64, Bytes)>,
}

fn utxo_list(api: &Api, snap: &Snapshot, t: &Target) -> Result<Response, ApiError> {
    let Some(key) = t.key else {
        return Ok(json(&Vec::<u8>::new()));
    };
    let (tip, seq) = (snap.tip().hash, snap.mempool().mempool_sequence());
    let hit = api
        .utxo_cache
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .rows
        .iter()
        .find(|r| r.0 == key && r.1 == tip && r.2 == seq)
        .map(|r| r.3.clone());
    let body = match hit {
        Some(b) => b,
        None => {
            let body = Bytes::from(utxo_json(snap, &key)?);
            let mut cache = api.utxo_cache.lock().unwrap_or_else(|p| p.into_inner());
            cache.rows.retain(|r| r.0 != key && r.1 == tip);
            cache.rows.push_back((key, tip, seq, body.clone()));
            while cache.rows.len() > UTXO_CACHE_ENTRIES
                || cache.rows.iter().map(|r| r.3.len()).sum::<usize>() > UTXO_CACHE_BYTES
            {
                cache.rows.pop_front();
            }
            body
        }
    };
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response())
}

async fn address(State(api): State<Api>, Path(a): Path<String>) -> Response {
    api_read!(api, |snap| address_stats(snap, &address_target(snap, &a)?))
}

async fn address_txs(
    State(api): State<Api>,
    Path(a): Path<String>,
    Query(q): Query<AfterTxid>,
) -> Response {
    api_read!(api, |snap| txs_page(
        snap,
        &address_target(snap, &a)?,
        q.after_txid
    ))
}

async fn address_chain(State(api): State<Api>, Path(a): Path<String>) -> Response {
    api_read!(api, |snap| chain_page(
        snap,
        &address_target(snap, &a)?,
        None
    ))
}

async fn address_chain_after(
    State(api): State<Api>,
    Path((a, last)): Path<(String, String)>,
) -> Response {
    api_read!(api, |snap| chain_page(
        snap,
        &address_target(snap, &a)?,
        Some(last)
    ))
}

async fn address_mempool(State(api): State<Api>, Path(a): Path<String>) -> Response {
    api_read!(api, |snap| mempool_page(snap, &address_target(snap, &a)?))
}

async fn address_utxo(State(api): State<Api>, Path(a): Path<String>) -> Response {
    let c = api.clone();
    api_read!(api, |snap| utxo_list(&c, snap, &address_target(snap, &a)?))
}

async fn scripthash(State(api): State<Api>, Path(h): Path<String>) -> Response {
    let a = api.clone();
    api_read!(api, |snap| address_stats(
        snap,
        &scripthash_target(&a, snap, &h)?
    ))
}

async fn scripthash_txs(
    State(api): State<Api>,
    Path(h): Path<String>,
    Query(q): Query<AfterTxid>,
) -> Response {
    let a = api.clone();
    api_read!(api, |snap| txs_page(
        snap,
        &scripthash_target(&a, snap, &h)?,
        q.after_txid
    ))
}

async fn scripthash_chain(State(api): State<Api>, Path(h): Path<String>) -> Response {
    let a = api.clone();
    api_read!(api, |snap| chain_page(
        snap,
        &scripthash_target(&a, snap, &h)?,
        None
    ))
}

async fn scripthash_chain_after(
    State(api): State<Api>,
    Path((h, last)): Path<(String, String)>,
) -> Response {
    let a = api.clone();
    api_read!(api, |snap| chain_page(
        snap,
        &scripthash_target(&a, snap, &h)?,
        Some(last)
    ))
}

async fn scripthash_mempool(State(api): State<Api>, Path(h): Path<String>) -> Response {
    let a = api.clone();
    api_read!(api, |snap| mempool_page(
        snap,
        &scripthash_target(&a, snap, &h)?
    ))
}

async fn scripthash_utxo(State(api): State<Api>, Path(h): Path<String>) -> Response {
    let a = api.clone();
    api_read!(api, |snap| utxo_list(
        &a,
        snap,
        &scripthash_target(&a, snap, &h)?
    ))
}

const BECH32_CHARSET: &str = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

/// Addresses the chain has paid or spent from that start with `prefix`: the characters
/// after `<hrp>1p` are the key's leading bits, five per character, so the search is a
/// range of the key-ordered history index.
fn search_prefix(snap: &Snapshot, prefix: &str) -> Result<Vec<String>, ApiError> {
    let network = snap.params().network;
    let lead = format!("{}1p", network.params().address_hrp);
    let prefix = prefix.to_ascii_lowercase();
    let Some(data) = prefix.strip_prefix(&lead) else {
        return Ok(Vec::new());
    };
    let mut bits: Vec<bool> = Vec::new();
    for c in data.chars().take(51) {
        let v = BECH32_CHARSET
            .find(c)
            .ok_or_else(|| ApiError::bad("Invalid Bitcoin address"))?;
        for b in (0..5).rev() {
            bits.push(v & (1 << b) != 0);
        }
    }
    let whole = bits.len() / 8;
    let bytes: Vec<u8> = (0..whole)
        .map(|i| (0..8).fold(0u8, |acc, b| acc << 1 | u8::from(bits[i * 8 + b])))
        .collect();
    let matches = |k: &PubKey| {
        bits.iter()
            .enumerate()
            .all(|(i, b)| (k.0[i / 8] >> (7 - i % 8)) & 1 == u8::from(*b))
    };
    let mut found: Vec<PubKey> = Vec::new();
    let mut scanned = 0usize;
    snap.view()
        .walk::<TxidByPubkey>(&bytes, None, false, |(k, _, _), _| {
            scanned += 1;
            if found.last() != Some(&k) && matches(&k) {
                found.push(k);
            }
            found.len() < ADDRESS_SEARCH_LIMIT && scanned < ADDRESS_SEARCH_SCAN
        })?;
    Ok(found
        .into_iter()
        .map(|k| Address::new(network, k).to_string())
        .collect())
}

async fn address_prefix(State(api): State<Api>, Path(prefix): Path<String>) -> Response {
    api_read!(api, |snap| Ok(json(&search_prefix(snap, &prefix)?)))
}

// ---- blocks ----

/// A block as Esplora shows it.
#[derive(Debug, Serialize)]
pub struct EsploraBlock {
    id: BlockHash,
    height: u32,
    version: u32,
    timestamp: u32,
    tx_count: usize,
    size: usize,
    weight: usize,
    merkle_root: dotcoin_common::TxMerkleNode,
    previousblockhash: Option<BlockHash>,
    mediantime: u32,
    nonce: u32,
    bits: u32,
    difficulty: f64,
}

fn median_time(snap: &Snapshot, e: &IndexEntry) -> u32 {
    let index = snap.index();
    let mut times = Vec::with_capacity(11);
    let mut cur = Some(e);
    while let Some(x) = cur {
        times.push(x.header.time);
        if times.len() == 11 || x.height == 0 {
            break;
        }
        cur = index.get(&x.header.prev_blockhash);
    }
    times.reverse();
    dotcoin_common::pow::median_time_past(&times)
}

fn esplora_block(snap: &Snapshot, e: &IndexEntry, b: &Block) -> EsploraBlock {
    let size = dotcoin_common::serialize(b).len();
    let witness: usize = b.txdata.iter().map(|t| t.size() - t.base_size()).sum();
    EsploraBlock {
        id: e.hash,
        height: e.height,
        version: e.header.version,
        timestamp: e.header.time,
        tx_count: b.txdata.len(),
        size,
        weight: (size - witness) * 4 + witness,
        merkle_root: e.header.merkle_root,
        previousblockhash: (e.height > 0).then_some(e.header.prev_blockhash),
        mediantime: median_time(snap, e),
        nonce: e.header.nonce,
        bits: e.header.bits.0,
        difficulty: dotcoin_common::pow::difficulty(e.header.bits),
    }
}

/// The block `hash` names, with its data.
fn find_block(snap: &Snapshot, hash: &str) -> Result<(IndexEntry, Block), ApiError> {
    let hash = parse_block_hash(hash)?;
    let e = snap
        .index()
        .get(&hash)
        .copied()
        .ok_or_else(|| ApiError::not_found("Block not found"))?;
    let b = snap
        .block(&hash)?
        .ok_or_else(|| ApiError::not_found("Block not found"))?;
    Ok((e, b))
}

async fn block(State(api): State<Api>, Path(hash): Path<String>) -> Response {
    api_read!(api, |snap| {
        let (e, b) = find_block(snap, &hash)?;
        Ok(json(&esplora_block(snap, &e, &b)))
    })
}

async fn block_header(State(api): State<Api>, Path(hash): Path<String>) -> Response {
    api_read!(api, |snap| {
        let hash = parse_block_hash(&hash)?;
        let e = snap
            .index()
            .get(&hash)
            .copied()
            .ok_or_else(|| ApiError::not_found("Block not found"))?;
        Ok(text(hex::encode(e.header.to_bytes())))
    })
}

#[derive(Serialize)]
struct BlockStatusJson {
    in_best_chain: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    height: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_best: Option<BlockHash>,
}

async fn block_status(State(api): State<Api>, Path(hash): Path<String>) -> Response {
    api_read!(api, |snap| {
        let hash = parse_block_hash(&hash)?;
        let index = snap.index();
        let e = index
            .get(&hash)
            .copied()
            .ok_or_else(|| ApiError::not_found("Block not found"))?;
        let active = index.is_active(&e);
        Ok(json(&BlockStatusJson {
            in_best_chain: active,
            height: active.then_some(e.height),
            next_best: if active {
                index.active_hash(e.height + 1)
            } else {
                None
            },
        }))
    })
}

fn block_txs_page(snap: &Snapshot, hash: &str, start: &str) -> Result<Response, ApiError> {
    let start: usize = start
        .parse()
        .map_err(|_| ApiError::bad("Invalid start index"))?;
    let (e, b) = find_block(snap, hash)?;
    if start >= b.txdata.len() {
        return Err(ApiError::not_found("start index out of range"));
    }
    if !start.is_multiple_of(CHAIN_TXS_PER_PAGE) {
        return Err(ApiError::bad(format!(
            "start index must be a multipication of {CHAIN_TXS_PER_PAGE}"
        )));
    }
    let spent = crate::rpc::json::spent_by_block(snap, &b)?;
    let network = snap.params().network;
    let status = if snap.index().is_active(&e) {
        TxStatus::of(Some(&e))
    } else {
        TxStatus::UNCONFIRMED
    };
    let out: Vec<EsploraTx> = b
        .txdata
        .iter()
        .enumerate()
        .skip(start)
        .take(CHAIN_TXS_PER_PAGE)
        .map(|(i, t)| {
            let s: Option<Vec<TxOut>> = spent
                .as_ref()
                .and_then(|s| s.get(i))
                .map(|c| c.iter().map(|c| c.output).collect());
            esplora_tx(network, t, t.txid(), s.as_deref(), status)
        })
        .collect();
    Ok(json(&out))
}

async fn block_txs_first(State(api): State<Api>, Path(hash): Path<String>) -> Response {
    api_read!(api, |snap| block_txs_page(snap, &hash, "0"))
}

async fn block_txs(
    State(api): State<Api>,
    Path((hash, start)): Path<(String, String)>,
) -> Response {
    api_read!(api, |snap| block_txs_page(snap, &hash, &start))
}

async fn block_txids(State(api): State<Api>, Path(hash): Path<String>) -> Response {
    api_read!(api, |snap| {
        let (_, b) = find_block(snap, &hash)?;
        Ok(json(&b.txdata.iter().map(|t| t.txid()).collect::<Vec<_>>()))
    })
}

async fn block_txid(
    State(api): State<Api>,
    Path((hash, index)): Path<(String, String)>,
) -> Response {
    api_read!(api, |snap| {
        let index: usize = index.parse().map_err(|_| ApiError::bad("Invalid index"))?;
        let (_, b) = find_block(snap, &hash)?;
        let t = b
            .txdata
            .get(index)
            .ok_or_else(|| ApiError::not_found("tx index out of range"))?;
        Ok(text(t.txid().to_string()))
    })
}

async fn block_raw(State(api): State<Api>, Path(hash): Path<String>) -> Response {
    api_read!(api, |snap| {
        let (_, b) = find_block(snap, &hash)?;
        Ok(binary(dotcoin_common::serialize(&b)))
    })
}

async fn block_height(State(api): State<Api>, Path(height): Path<String>) -> Response {
    api_read!(api, |snap| {
        let height: u32 = height
            .parse()
            .map_err(|_| ApiError::bad("Invalid height"))?;
        let hash = snap
            .index()
            .active_hash(height)
            .ok_or_else(|| ApiError::not_found("Block not found"))?;
        Ok(text(hash.to_string()))
    })
}

fn blocks_from(snap: &Snapshot, start: u32) -> Result<Response, ApiError> {
    let index = snap.index();
    let top = start.min(index.height());
    let mut out = Vec::new();
    for h in (top.saturating_sub(BLOCK_LIMIT - 1)..=top).rev() {
        let Some(e) = index.active_hash(h).and_then(|h| index.get(&h)).copied() else {
            continue;
        };
        if let Some(b) = snap.block(&e.hash)? {
            out.push(esplora_block(snap, &e, &b));
        }
    }
    Ok(json(&out))
}

async fn blocks_tip(State(api): State<Api>) -> Response {
    api_read!(api, |snap| blocks_from(snap, snap.height()))
}

async fn blocks(State(api): State<Api>, Path(start): Path<String>) -> Response {
    api_read!(api, |snap| {
        let start: u32 = start.parse().map_err(|_| ApiError::bad("Invalid height"))?;
        blocks_from(snap, start)
    })
}

async fn tip_height(State(api): State<Api>) -> Response {
    text(api.ctx.chain.snapshot().height().to_string())
}

async fn tip_hash(State(api): State<Api>) -> Response {
    text(api.ctx.chain.snapshot().tip().hash.to_string())
}

// ---- mempool and fees ----

#[derive(Serialize)]
struct MempoolJson {
    count: usize,
    vsize: u64,
    total_fee: u64,
    fee_histogram: Vec<(f64, u64)>,
}

async fn mempool(State(api): State<Api>) -> Response {
    api_read!(api, |snap| {
        let mut rows: Vec<(f64, u64, u64)> = snap
            .mempool()
            .entries()
            .iter()
            .map(|e| {
                let vs = vsize(tx_weight(&e.tx)) as u64;
                (e.fee.to_sat() as f64 / vs.max(1) as f64, vs, e.fee.to_sat())
            })
            .collect();
        let vsize_total = rows.iter().map(|r| r.1).sum();
        let total_fee = rows.iter().map(|r| r.2).sum();
        rows.sort_by(|a, b| b.0.total_cmp(&a.0));
        let mut histogram = Vec::new();
        let mut bin = 0u64;
        let mut last_rate = 0.0;
        for (rate, vs, _) in &rows {
            if bin > 0 && bin + vs > VSIZE_BIN_WIDTH && *rate != last_rate {
                histogram.push((last_rate, bin));
                bin = 0;
            }
            bin += vs;
            last_rate = *rate;
        }
        if bin > 0 {
            histogram.push((last_rate, bin));
        }
        Ok(json(&MempoolJson {
            count: rows.len(),
            vsize: vsize_total,
            total_fee,
            fee_histogram: histogram,
        }))
    })
}

async fn mempool_txids(State(api): State<Api>) -> Response {
    api_read!(api, |snap| {
        let ids: Vec<Txid> = snap
            .mempool()
            .entries()
            .iter()
            .take(MAX_MEMPOOL_TXIDS)
            .map(|e| e.txid)
            .collect();
        Ok(json(&ids))
    })
}

#[derive(Serialize)]
struct RecentTx {
    txid: Txid,
    fee: u64,
    vsize: usize,
    value: u64,
}

async fn mempool_recent(State(api): State<Api>) -> Response {
    api_read!(api, |snap| {
        let entries = snap.mempool().entries();
        let out: Vec<RecentTx> = entries
            .iter()
            .rev()
            .take(10)
            .map(|e| RecentTx {
                txid: e.txid,
                fee: e.fee.to_sat(),
                vsize: vsize(tx_weight(&e.tx)),
                value: e.tx.total_out().map_or(0, |a| a.to_sat()),
            })
            .collect();
        Ok(json(&out))
    })
}

/// Fee rates (sat/kvB) paid by the non-coinbase transactions of active block `e`,
/// remembered per block so that a new tip reads only the new block.
fn block_rates(api: &Api, snap: &Snapshot, hash: BlockHash) -> Result<Vec<u64>, ApiError> {
    if let Some(r) = api
        .fee_rates
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(&hash)
    {
        return Ok(r.clone());
    }
    let mut rates = Vec::new();
    if let Some(b) = snap.block(&hash)? {
        if let Some(spent) = crate::rpc::json::spent_by_block(snap, &b)? {
            for (t, s) in b.txdata.iter().zip(&spent).skip(1) {
                let input = dotcoin_common::Amount::checked_sum(s.iter().map(|c| c.output.value));
                if let Some(fee) = input.zip(t.total_out()).and_then(|(i, o)| i.checked_sub(o)) {
                    rates.push(
                        fee.to_sat().saturating_mul(1000) / vsize(tx_weight(t)).max(1) as u64,
                    );
                }
            }
        }
    }
    api.fee_rates
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(hash, rates.clone());
    Ok(rates)
}

/// Fee rates in sat/vB by confirmation target: the rate most (near targets) or half (far
/// ones) of the transactions of the last `2 × target` blocks (at least 6) paid, never
/// below the pool's minimum — `estimatesmartfee`'s rule, in Esplora's unit.
fn estimates(api: &Api, snap: &Snapshot) -> Result<Vec<(u32, f64)>, ApiError> {
    let window = 2 * FEE_TARGETS[FEE_TARGETS.len() - 1];
    let tip = snap.height();
    let index = snap.index();
    let mut per_block = Vec::new();
    let mut keep = std::collections::HashSet::new();
    for h in (tip.saturating_sub(window - 1)..=tip).rev() {
        let Some(hash) = index.active_hash(h) else {
            continue;
        };
        keep.insert(hash);
        per_block.push(block_rates(api, snap, hash)?);
    }
    api.fee_rates
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .retain(|h, _| keep.contains(h));
    let floor = snap.mempool().min_fee_rate().to_sat_per_kvb();
    let mut out = Vec::new();
    for target in FEE_TARGETS {
        let blocks = (target * 2).max(6) as usize;
        let mut rates: Vec<u64> = per_block.iter().take(blocks).flatten().copied().collect();
        if rates.is_empty() {
            continue;
        }
        rates.sort_unstable();
        let quantile = match target {
            1..=2 => 0.9,
            3..=6 => 0.75,
            _ => 0.5,
        };
        let i = ((rates.len() - 1) as f64 * quantile).round() as usize;
        out.push((target, rates[i].max(floor) as f64 / 1000.0));
    }
    Ok(out)
}

async fn fee_estimates(State(api): State<Api>) -> Response {
    let a = api.clone();
    api_read!(api, |snap| {
        let map: serde_json::Map<String, serde_json::Value> = estimates(&a, snap)?
            .into_iter()
            .map(|(t, r)| (t.to_string(), serde_json::json!(r)))
            .collect();
        Ok(json(&map))
    })
}

/// mempool.space's `/v1/fees/recommended` (what its clients read for fees), from the
/// same estimates; sat/vB.
async fn fees_recommended(State(api): State<Api>) -> Response {
    let a = api.clone();
    api_read!(api, |snap| {
        let est = estimates(&a, snap)?;
        let floor = snap.mempool().min_fee_rate().to_sat_per_vb_ceil() as f64;
        let at = |t: u32| {
            est.iter()
                .find(|(x, _)| *x >= t)
                .map_or(floor, |(_, r)| r.ceil().max(floor))
        };
        Ok(json(&serde_json::json!({
            "fastestFee": at(1),
            "halfHourFee": at(3),
            "hourFee": at(6),
            "economyFee": at(144),
            "minimumFee": floor,
        })))
    })
}
