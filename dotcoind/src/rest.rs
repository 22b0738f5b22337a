//! Bitcoin Core's REST interface (`doc/REST-interface.md`) under `/rest/` on the HTTP
//! API's port (`--rest`): `tx`, `block`, `block/notxdetails`, `headers`,
//! `blockhashbyheight`, `chaininfo`, `getutxos`, `mempool/info`, `mempool/contents`,
//! each in the formats Core offers (`.bin`, `.hex`, `.json`; `chaininfo` and `mempool`
//! JSON only), with Core's error texts.
//!
//! Core serves REST on its RPC port without authentication; dotcoin serves it on the
//! Esplora port instead, so that the RPC port stays authenticated for every path. The
//! JSON bodies are the RPC results of the same calls (`getrawtransaction`, `getblock`,
//! `getblockheader`, `getblockchaininfo`, `getmempoolinfo`, `getrawmempool`); the binary
//! forms are dotcoin's own encodings (a dotcoin transaction, block and 80-byte header).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use dotcoin_common::{BlockHash, Encodable, OutPoint, Txid};
use dotcoin_rpc_server::arg::{BlockVerbosity, Flag, HashArg, RawTxVerbosity};
use serde_json::json;

use crate::esplora::{api_read, binary, Api, ApiError};
use crate::rpc::blockchain::{BlockchainRpcImpl, BlockchainRpcServer};
use crate::rpc::rawtx::{RawTransactionsRpcImpl, RawTransactionsRpcServer};
use crate::state::Snapshot;

/// Most headers one `headers` request returns (Core's `MAX_REST_HEADERS_RESULTS`).
pub const MAX_REST_HEADERS_RESULTS: u32 = 2000;
/// Most outpoints one `getutxos` request asks about (Core's `MAX_GETUTXOS_OUTPOINTS`).
pub const MAX_GETUTXOS_OUTPOINTS: usize = 15;

/// A REST output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Bin,
    Hex,
    Json,
}

/// Splits `name.ext` into the name and its format, as Core's `ParseDataFormat`.
fn parse_format(param: &str) -> (&str, Option<Format>) {
    let Some((name, ext)) = param.rsplit_once('.') else {
        return (param, None);
    };
    let f = match ext {
        "bin" => Some(Format::Bin),
        "hex" => Some(Format::Hex),
        "json" => Some(Format::Json),
        _ => None,
    };
    (name, f)
}

/// Core's REST error: the status and the message, `text/plain`, ending in CRLF.
fn rest_error(status: StatusCode, msg: impl Into<String>) -> ApiError {
    ApiError(status, format!("{}\r\n", msg.into()))
}

fn no_format() -> ApiError {
    rest_error(
        StatusCode::NOT_FOUND,
        "output format not found (available: .bin, .hex, .json)",
    )
}

fn json_only() -> ApiError {
    rest_error(
        StatusCode::NOT_FOUND,
        "output format not found (available: json)",
    )
}

fn hex_text(bytes: &[u8]) -> Response {
    super::esplora::text(format!("{}\n", hex::encode(bytes)))
}

fn json_body<T: serde::Serialize>(v: &T) -> Response {
    super::esplora::json(v)
}

fn parse_hash<T: std::str::FromStr>(s: &str) -> Result<T, ApiError> {
    s.parse().map_err(|_| {
        rest_error(
            StatusCode::BAD_REQUEST,
            format!("Invalid hash: {}", sanitize(s)),
        )
    })
}

/// Core's `SanitizeString`: what of a client's text is echoed back.
fn sanitize(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric() || " .,;-_/:?@()".contains(*c))
        .take(200)
        .collect()
}

pub(crate) fn router() -> Router<Api> {
    Router::new()
        .route("/tx/{param}", get(tx))
        .route("/block/{param}", get(block))
        .route("/block/notxdetails/{param}", get(block_notxdetails))
        .route("/headers/{*param}", get(headers))
        .route("/blockhashbyheight/{param}", get(blockhashbyheight))
        .route("/chaininfo.json", get(chaininfo))
        .route("/{file}", get(other_file))
        .route("/getutxos/{*param}", get(getutxos))
        .route("/mempool/{param}", get(mempool))
}

async fn tx(State(api): State<Api>, Path(param): Path<String>) -> Response {
    let rpc = RawTransactionsRpcImpl::new(api.ctx.clone());
    api_read!(api, |snap| {
        let (name, format) = parse_format(&param);
        let format = format.ok_or_else(no_format)?;
        let txid: Txid = parse_hash(name)?;
        let not_found = || rest_error(StatusCode::NOT_FOUND, format!("{txid} not found"));
        let tx = match snap.mempool().get(&txid) {
            Some(e) => e.tx.clone(),
            None => {
                let loc = snap.tx_location(&txid)?.ok_or_else(not_found)?;
                let block = snap.block(&loc.block)?.ok_or_else(not_found)?;
                block
                    .txdata
                    .into_iter()
                    .nth(loc.index as usize)
                    .ok_or_else(not_found)?
            }
        };
        match format {
            Format::Bin => Ok(binary(dotcoin_common::serialize(&tx))),
            Format::Hex => Ok(hex_text(&dotcoin_common::serialize(&tx))),
            Format::Json => {
                let v = rpc
                    .getrawtransaction(HashArg(txid), Some(RawTxVerbosity(1)), None)
                    .map_err(|_| not_found())?;
                Ok(json_body(&v))
            }
        }
    })
}

fn block_common(
    api: Api,
    param: String,
    verbosity: u32,
) -> impl std::future::Future<Output = Response> {
    let rpc = BlockchainRpcImpl::new(api.ctx.clone());
    async move {
        api_read!(api, |snap| {
            let (name, format) = parse_format(&param);
            let format = format.ok_or_else(no_format)?;
            let hash: BlockHash = parse_hash(name)?;
            let not_found = || rest_error(StatusCode::NOT_FOUND, format!("{hash} not found"));
            let block = snap.block(&hash)?.ok_or_else(not_found)?;
            match format {
                Format::Bin => Ok(binary(dotcoin_common::serialize(&block))),
                Format::Hex => Ok(hex_text(&dotcoin_common::serialize(&block))),
                Format::Json => {
                    let v = rpc
                        .getblock(HashArg(hash), Some(BlockVerbosity(verbosity)))
                        .map_err(|_| not_found())?;
                    Ok(json_body(&v))
                }
            }
        })
    }
}

async fn block(State(api): State<Api>, Path(param): Path<String>) -> Response {
    block_common(api, param, 2).await
}

async fn block_notxdetails(State(api): State<Api>, Path(param): Path<String>) -> Response {
    block_common(api, param, 1).await
}

#[derive(serde::Deserialize)]
struct CountQuery {
    count: Option<String>,
}

async fn headers(
    State(api): State<Api>,
    Path(param): Path<String>,
    Query(q): Query<CountQuery>,
) -> Response {
    let rpc = BlockchainRpcImpl::new(api.ctx.clone());
    api_read!(api, |snap| {
        // `<hash>.<ext>?count=<n>`, or the older `<n>/<hash>.<ext>`.
        let parts: Vec<&str> = param.split('/').collect();
        let (count, last) = match parts.as_slice() {
            [last] => (q.count.clone().unwrap_or_else(|| "5".into()), *last),
            [count, last] => ((*count).to_owned(), *last),
            _ => {
                return Err(rest_error(
                    StatusCode::BAD_REQUEST,
                    "Invalid URI format. Expected /rest/headers/<hash>.<ext>?count=<count>",
                ))
            }
        };
        let (name, format) = parse_format(last);
        let format = format.ok_or_else(no_format)?;
        let n: u32 = match count.parse() {
            Ok(n) if (1..=MAX_REST_HEADERS_RESULTS).contains(&n) => n,
            _ => {
                return Err(rest_error(
                    StatusCode::BAD_REQUEST,
                    format!(
                        "Header count is invalid or out of acceptable range (1-{MAX_REST_HEADERS_RESULTS}): {}",
                        sanitize(&count)
                    ),
                ))
            }
        };
        let hash: BlockHash = parse_hash(name)?;
        let index = snap.index();
        // From the block on along the active chain (Core's `ActiveChain().Next`); an
        // unknown or inactive start gives only itself or nothing, as Core.
        let mut entries = Vec::new();
        if let Some(e) = index.get(&hash) {
            entries.push(*e);
            if index.is_active(e) {
                let mut h = e.height;
                while entries.len() < n as usize {
                    h += 1;
                    match index.active_hash(h).and_then(|x| index.get(&x)) {
                        Some(x) => entries.push(*x),
                        None => break,
                    }
                }
            }
        }
        match format {
            Format::Bin | Format::Hex => {
                let mut bytes = Vec::with_capacity(entries.len() * 80);
                for e in &entries {
                    bytes.extend_from_slice(&e.header.to_bytes());
                }
                Ok(if format == Format::Bin {
                    binary(bytes)
                } else {
                    hex_text(&bytes)
                })
            }
            Format::Json => {
                let mut out = Vec::with_capacity(entries.len());
                for e in &entries {
                    let v = rpc
                        .getblockheader(HashArg(e.hash), Some(Flag(true)))
                        .map_err(|e| ApiError::internal(e.message()))?;
                    out.push(v);
                }
                Ok(json_body(&out))
            }
        }
    })
}

async fn blockhashbyheight(State(api): State<Api>, Path(param): Path<String>) -> Response {
    api_read!(api, |snap| {
        let (name, format) = parse_format(&param);
        let format = format.ok_or_else(no_format)?;
        let height: u32 = name.parse().map_err(|_| {
            rest_error(
                StatusCode::BAD_REQUEST,
                format!("Invalid height: {}", sanitize(name)),
            )
        })?;
        let hash = snap
            .index()
            .active_hash(height)
            .ok_or_else(|| rest_error(StatusCode::NOT_FOUND, "Block height out of range"))?;
        let bytes = dotcoin_common::serialize(&hash);
        Ok(match format {
            Format::Bin => binary(bytes),
            Format::Hex => hex_text(&bytes),
            Format::Json => json_body(&json!({ "blockhash": hash })),
        })
    })
}

/// `chaininfo` in a format Core does not offer for it, or an unknown name.
async fn other_file(Path(file): Path<String>) -> Response {
    let err = match parse_format(&file).0 {
        "chaininfo" => json_only(),
        _ => rest_error(StatusCode::NOT_FOUND, "Not Found"),
    };
    err.into_response()
}

async fn chaininfo(State(api): State<Api>) -> Response {
    let rpc = BlockchainRpcImpl::new(api.ctx.clone());
    api_read!(api, |_snap| {
        let v = rpc
            .getblockchaininfo()
            .map_err(|e| ApiError::internal(e.message()))?;
        Ok(json_body(&v))
    })
}

/// `getutxos`' answer: which outpoints are unspent (Core's bitmap) and their coins.
async fn getutxos(State(api): State<Api>, Path(param): Path<String>) -> Response {
    api_read!(api, |snap| {
        let (path, format) = parse_format(&param);
        let format = format.ok_or_else(no_format)?;
        let mut parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
        let check_mempool = parts.first() == Some(&"checkmempool");
        if check_mempool {
            parts.remove(0);
        }
        if parts.is_empty() {
            return Err(rest_error(StatusCode::BAD_REQUEST, "Error: empty request"));
        }
        if parts.len() > MAX_GETUTXOS_OUTPOINTS {
            return Err(rest_error(
                StatusCode::BAD_REQUEST,
                format!(
                    "Error: max outpoints exceeded (max: {MAX_GETUTXOS_OUTPOINTS}, tried: {})",
                    parts.len()
                ),
            ));
        }
        let outpoints = parts
            .iter()
            .map(|p| {
                let (txid, n) = p.split_once('-')?;
                Some(OutPoint {
                    txid: txid.parse().ok()?,
                    vout: n.parse().ok()?,
                })
            })
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| rest_error(StatusCode::BAD_REQUEST, "Parse error"))?;
        let pool = snap.mempool();
        let mut hits = Vec::with_capacity(outpoints.len());
        let mut coins = Vec::new();
        for op in &outpoints {
            let coin = if check_mempool && pool.spender_of(op).is_some() {
                None
            } else if let Some(c) = snap.coin(op)? {
                Some(c)
            } else if check_mempool {
                pool.get(&op.txid)
                    .and_then(|e| e.tx.outputs.get(op.vout as usize))
                    .map(|o| dotcoin_common::consensus::Coin {
                        output: *o,
                        // Core's MEMPOOL_HEIGHT.
                        height: 0x7FFF_FFFF,
                        is_coinbase: false,
                    })
            } else {
                None
            };
            hits.push(coin.is_some());
            coins.extend(coin);
        }
        let mut bitmap = vec![0u8; hits.len().div_ceil(8)];
        for (i, hit) in hits.iter().enumerate() {
            if *hit {
                bitmap[i / 8] |= 1 << (i % 8);
            }
        }
        let tip = snap.tip();
        match format {
            Format::Bin | Format::Hex => {
                // Core's layout: height, tip hash, bitmap (a byte vector), then each coin
                // as (version dummy, height, output) — the output in dotcoin's encoding.
                let mut out = Vec::new();
                (tip.height as i32).consensus_encode(&mut out);
                tip.hash.consensus_encode(&mut out);
                bitmap.consensus_encode(&mut out);
                dotcoin_common::encode::write_compact_size(&mut out, coins.len() as u64);
                for c in &coins {
                    0u32.consensus_encode(&mut out);
                    c.height.consensus_encode(&mut out);
                    c.output.consensus_encode(&mut out);
                }
                Ok(if format == Format::Bin {
                    binary(out)
                } else {
                    hex_text(&out)
                })
            }
            Format::Json => {
                let network = snap.params().network;
                let bits: String = hits.iter().map(|h| if *h { '1' } else { '0' }).collect();
                let utxos: Vec<_> = coins
                    .iter()
                    .map(|c| {
                        let key = hex::encode(c.output.pubkey.0);
                        json!({
                            "height": c.height,
                            "value": c.output.value.to_dot_f64(),
                            "scriptPubKey": {
                                "asm": format!("1 {key}"),
                                "hex": format!("5120{key}"),
                                "address": dotcoin_common::Address::new(network, c.output.pubkey).to_string(),
                                "type": "witness_v1_taproot",
                            },
                        })
                    })
                    .collect();
                Ok(json_body(&json!({
                    "chainHeight": tip.height,
                    "chaintipHash": tip.hash,
                    "bitmap": bits,
                    "utxos": utxos,
                })))
            }
        }
    })
}

#[derive(serde::Deserialize)]
struct MempoolQuery {
    verbose: Option<String>,
    mempool_sequence: Option<String>,
}

async fn mempool(
    State(api): State<Api>,
    Path(param): Path<String>,
    Query(q): Query<MempoolQuery>,
) -> Response {
    let rpc = RawTransactionsRpcImpl::new(api.ctx.clone());
    api_read!(api, |_snap| {
        let (name, format) = parse_format(&param);
        if name != "info" && name != "contents" {
            return Err(rest_error(StatusCode::NOT_FOUND, "Not Found"));
        }
        if format != Some(Format::Json) {
            return Err(json_only());
        }
        if name == "info" {
            let v = rpc
                .getmempoolinfo()
                .map_err(|e| ApiError::internal(e.message()))?;
            return Ok(json_body(&v));
        }
        let flag = |v: &Option<String>, name: &str, default: bool| match v.as_deref() {
            None => Ok(default),
            Some("true") => Ok(true),
            Some("false") => Ok(false),
            Some(_) => Err(rest_error(
                StatusCode::BAD_REQUEST,
                format!("The \"{name}\" query parameter must be either \"true\" or \"false\"."),
            )),
        };
        let verbose = flag(&q.verbose, "verbose", true)?;
        let sequence = flag(&q.mempool_sequence, "mempool_sequence", false)?;
        if verbose && sequence {
            return Err(rest_error(
                StatusCode::BAD_REQUEST,
                "Verbose results cannot contain mempool sequence values. (hint: set \"verbose=false\")",
            ));
        }
        let v = rpc
            .getrawmempool(Some(Flag(verbose)), Some(Flag(sequence)))
            .map_err(|e| ApiError::internal(e.message()))?;
        Ok(json_body(&v))
    })
}
