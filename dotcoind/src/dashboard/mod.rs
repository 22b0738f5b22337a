//! The live dashboard: an HTTP server (axum) that serves the page embedded from
//! `dashboard/assets/`, JSON views of the node's state, a server-sent event stream fed by
//! the chain service's events, and a few actions for credentialed browsers.
//!
//! - Live updates are the node's events in the one event schema (`docs/events.md`), the
//!   same objects the WebSocket subscriptions and plugins get; the page turns their
//!   satoshis into DOT for display.
//! - Reads come from the same code as the RPC results: the RPC implementations are called
//!   directly where a call exists (`getblockchaininfo`, `getpeerinfo`, the address
//!   index, …), and snapshots of the chain service otherwise (the block tree, the
//!   difficulty series), so the page and `dotcoin-cli` never disagree.
//! - Every `GET` is public data. `POST /api/action/*` needs `Authorization: Bearer
//!   <token>` (the token in the URL dotcoind prints on its terminal and in the datadir's
//!   `.dashboard-token`, random for each run: it grants the dashboard's actions and says
//!   nothing about the RPC password) or the RPC's own Basic credentials.
//!   Credentials travel only in a header, so another site's page cannot forge an action.
//! - No key, wallet data or cookie is ever served; there is nothing to sign.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use dotcoin_common::consensus::MAX_BLOCK_SIZE;
use dotcoin_common::pow::{difficulty, is_retarget_height};
use dotcoin_common::{Address, Amount, BlockHash, OutPoint, Transaction, Txid};
use dotcoin_rpc_server::arg::{
    AddressIndexList, Count, Flag, FromParam, HashArg, Int, KeywordArg, ParamError, Text,
};
use jsonrpsee::types::ErrorObjectOwned;
use serde::Deserialize;
use serde_json::{json, Value};
use std::path::PathBuf;
use tokio::net::TcpListener;
use tokio::sync::broadcast;
use tracing::{info, warn};

use crate::chain::{BlockStatus, IndexEntry};
use crate::rpc::address::{AddressIndexRpcImpl, AddressIndexRpcServer};
use crate::rpc::blockchain::{BlockchainRpcImpl, BlockchainRpcServer};
use crate::rpc::mining::{MiningRpcImpl, MiningRpcServer};
use crate::rpc::network::{AddNodeCommand, NetworkRpcImpl, NetworkRpcServer};
use crate::rpc::RpcContext;
use crate::state::{Event, Snapshot};

const INDEX_HTML: &str = include_str!("assets/index.html");
const APP_JS: &str = include_str!("assets/app.js");
const STYLE_CSS: &str = include_str!("assets/style.css");

/// Reorganisations remembered for the block tree.
const MAX_REORGS: usize = 50;
/// Most heights the tree, block list and difficulty chart cover in one answer.
const MAX_WINDOW: u32 = 2000;

/// What the dashboard's handlers share.
#[derive(Clone)]
struct Dash {
    ctx: RpcContext,
    /// `Bearer` token that authorises actions.
    token: Arc<String>,
    /// `Basic` header of the RPC credentials, also accepted.
    basic: Arc<String>,
    reorgs: Arc<Mutex<VecDeque<Value>>>,
    /// One permit per open event stream (see [`MAX_EVENT_STREAMS`]).
    streams: Arc<tokio::sync::Semaphore>,
}

/// Event streams open at once. Each is a broadcast receiver and a connection held open
/// indefinitely; past this a newcomer gets 503 instead of the node holding any number of
/// them (a browser tab takes one).
pub const MAX_EVENT_STREAMS: usize = 32;

/// The file in the datadir holding the dashboard token (mode 0600, removed at shutdown).
pub const TOKEN_FILE: &str = ".dashboard-token";

/// The running dashboard.
#[derive(Debug)]
pub struct Dashboard {
    addr: SocketAddr,
    token: String,
    token_file: PathBuf,
    task: tokio::task::JoinHandle<()>,
}

impl Dashboard {
    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The URL that grants actions (print it; share it only with who may act).
    pub fn url(&self) -> String {
        format!("http://{}/?token={}", self.addr, self.token)
    }

    /// Stops serving and removes the token file.
    pub fn stop(self) {
        self.task.abort();
        let _ = std::fs::remove_file(&self.token_file);
    }
}

/// Binds `addr` and serves the dashboard of `ctx`. Actions need a token of 32 bytes from
/// the OS, new for this run, and written to [`TOKEN_FILE`] in the datadir, readable by the
/// node's user only; the RPC credentials `user`/`password` are accepted too. The token is
/// not derived from the password, so the URL that carries it says nothing about the
/// password, and it is never logged.
pub async fn start(
    ctx: RpcContext,
    addr: SocketAddr,
    user: &str,
    password: &str,
    timeout: Duration,
) -> std::io::Result<Dashboard> {
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let mut secret = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut secret);
    let token = hex::encode(secret);
    let token_file =
        dotcoin_rpc_server::auth::write_private_file(ctx.chain.datadir(), TOKEN_FILE, &token)?;
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    );
    let dash = Dash {
        ctx,
        token: Arc::new(token.clone()),
        basic: Arc::new(basic),
        reorgs: Arc::new(Mutex::new(VecDeque::new())),
        streams: Arc::new(tokio::sync::Semaphore::new(MAX_EVENT_STREAMS)),
    };
    tokio::spawn(record_reorgs(dash.clone()));
    let app = router(dash);
    let task = tokio::spawn(serve_bounded(listener, app, timeout));
    info!(
        target: "rpc",
        %addr,
        token_file = %token_file.display(),
        "dashboard listening (its URL with the action token is printed on the terminal)"
    );
    let d = Dashboard {
        addr,
        token,
        token_file,
        task,
    };
    Ok(d)
}

fn router(dash: Dash) -> Router {
    Router::new()
        .route(
            "/",
            get(|| async { page(INDEX_HTML, "text/html; charset=utf-8") }),
        )
        .route(
            "/app.js",
            get(|| async { page(APP_JS, "text/javascript; charset=utf-8") }),
        )
        .route(
            "/style.css",
            get(|| async { page(STYLE_CSS, "text/css; charset=utf-8") }),
        )
        .route("/api/node", get(node))
        .route("/api/tree", get(tree))
        .route("/api/blocks", get(blocks))
        .route("/api/block/{id}", get(block))
        .route("/api/tx/{txid}", get(tx))
        .route("/api/address/{addr}", get(address))
        .route("/api/mempool", get(mempool))
        .route("/api/difficulty", get(difficulty_series))
        .route("/api/peers", get(peers))
        .route("/api/search", get(search))
        .route("/api/events", get(events))
        .route("/api/auth", get(auth))
        .route("/api/action/{name}", post(action))
        .layer(axum::middleware::from_fn(browser_rules))
        .with_state(dash)
}

/// Connections the dashboard holds at once; past this a new one is closed at once (the
/// event streams have their own, smaller cap).
pub const MAX_CONNECTIONS: usize = 128;
/// By default, how long a connection may take to send a request's head, and how long an
/// idle keep-alive connection waits for the next (`--dashboardtimeout`): a slowloris or
/// an idle socket is closed.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// Accepts connections and serves `app` on each, with hyper's timer bounding how long a
/// request head may take (and an idle connection may wait) to `timeout`, at most
/// [`MAX_CONNECTIONS`] at once, and a pause instead of a spin when the process is out of
/// file descriptors.
async fn serve_bounded(listener: TcpListener, app: Router, timeout: Duration) {
    let permits = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        let (stream, _peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // EMFILE/ENFILE and the like: retrying at once would spin a worker.
                warn!(target: "rpc", error = %e, "dashboard accept failed; pausing");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
            // Dropping the stream closes it: the holder of the other sockets waits, not
            // the honest clients already connected.
            continue;
        };
        let service = hyper_util::service::TowerToHyperService::new(app.clone());
        tokio::spawn(async move {
            let mut http = hyper::server::conn::http1::Builder::new();
            http.timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(timeout);
            let conn = http.serve_connection(hyper_util::rt::TokioIo::new(stream), service);
            let _ = conn.await;
            drop(permit);
        });
    }
}

/// Headers on every answer: no framing by another site (clickjacking of the action
/// buttons), scripts, styles and connections from this origin only, no content-type
/// sniffing, and no `Referer` carrying the token in the URL to anywhere.
const SECURITY_HEADERS: [(&str, &str); 4] = [
    ("x-frame-options", "DENY"),
    (
        "content-security-policy",
        "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; \
         form-action 'none'",
    ),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
];

/// Whether a `Host` header names this machine by address or as `localhost`. A DNS name
/// is refused: a page of `evil.example` whose name an attacker re-points at 127.0.0.1
/// (DNS rebinding) would otherwise be same-origin with the dashboard and read it.
fn host_allowed(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        // `[v6]` or `[v6]:port`.
        Some(rest) => rest.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    name.eq_ignore_ascii_case("localhost") || name.parse::<std::net::IpAddr>().is_ok()
}

/// The browser's rules, before any handler: a `Host` that is an address or `localhost`
/// (421 otherwise), actions only as JSON (415) and from this origin (403 for another
/// `Origin`), and the security headers on every answer.
async fn browser_rules(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if !host_allowed(host) {
        return with_security_headers(error(
            StatusCode::MISDIRECTED_REQUEST,
            format!(
                "the dashboard answers to its address or localhost, not to host '{}'",
                host.chars().take(100).collect::<String>()
            ),
        ));
    }
    if req.method() == axum::http::Method::POST {
        // A form or a `text/plain` fetch from another page needs no preflight; JSON does.
        let json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|c| c.to_str().ok())
            .is_some_and(|c| {
                c.trim_start()
                    .to_ascii_lowercase()
                    .starts_with("application/json")
            });
        if !json {
            return with_security_headers(error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "actions take Content-Type: application/json",
            ));
        }
        let origin = req
            .headers()
            .get(header::ORIGIN)
            .and_then(|o| o.to_str().ok());
        // A browser sends `Origin` with every POST; another site's differs from ours.
        if let Some(origin) = origin {
            let same = origin
                .strip_prefix("http://")
                .is_some_and(|o| o.eq_ignore_ascii_case(host));
            if !same {
                return with_security_headers(error(
                    StatusCode::FORBIDDEN,
                    "actions are taken only from the dashboard's own page",
                ));
            }
        }
    }
    with_security_headers(next.run(req).await)
}

fn with_security_headers(mut resp: Response) -> Response {
    for (name, value) in SECURITY_HEADERS {
        resp.headers_mut().insert(
            header::HeaderName::from_static(name),
            header::HeaderValue::from_static(value),
        );
    }
    resp
}

fn page(body: &'static str, content_type: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

/// A JSON error reply.
fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

/// An RPC error as a reply: the same message and code `dotcoin-cli` would show.
/// An action's block hash, checked as the RPC wire checks the calls' `blockhash`.
fn action_block_hash(hash: Option<String>) -> Result<HashArg<BlockHash>, ErrorObjectOwned> {
    let hash = hash.ok_or_else(|| ParamError::invalid("missing required parameter 'blockhash'"))?;
    Ok(HashArg::from_param(&Value::from(hash), "blockhash")?)
}

fn rpc_error(e: ErrorObjectOwned) -> Response {
    let status = match e.code() {
        -1 | -20 => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    };
    (
        status,
        Json(json!({ "error": e.message(), "code": e.code() })),
    )
        .into_response()
}

/// The error the RPC wire gives for a parameter an action needs and its body lacks.
fn missing_param(name: &str) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(
        dotcoin_rpc_server::RpcErrorCode::InvalidParameter as i32,
        format!("missing required parameter '{name}'"),
        None::<()>,
    )
}

fn dot(a: Amount) -> Value {
    json!(a.to_dot_f64())
}

fn status_name(s: BlockStatus, active: bool) -> &'static str {
    if active {
        return "active";
    }
    match s {
        BlockStatus::Failed | BlockStatus::FailedChild => "invalid",
        BlockStatus::Valid => "valid-fork",
        BlockStatus::DataStored => "valid-headers",
        BlockStatus::HeaderOnly => "headers-only",
    }
}

fn entry_status(snap: &Snapshot, e: &IndexEntry) -> &'static str {
    status_name(e.block_status(), snap.index().is_active(e))
}

/// Keeps the last reorganisations for the tree (the event stream says when they happen;
/// the index alone cannot).
async fn record_reorgs(dash: Dash) {
    let mut events = dash.ctx.chain.subscribe();
    loop {
        match events.recv().await {
            Ok(Event::TipChanged {
                hash,
                height,
                previous,
                reorg: Some(r),
            }) => {
                let mut reorgs = dash.reorgs.lock().unwrap_or_else(|p| p.into_inner());
                if reorgs.len() == MAX_REORGS {
                    reorgs.pop_front();
                }
                reorgs.push_back(json!({
                    "depth": r.depth,
                    "fork_height": r.fork_height,
                    "fork_hash": r.fork_point,
                    "old_tip": previous,
                    "new_tip": hash,
                    "height": height,
                    "time": crate::util::unix_time(),
                }));
            }
            Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

/// Runs a synchronous read (an RPC implementation, a store read) off the async workers.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    tokio::task::spawn_blocking(f).await.ok()
}

macro_rules! run_blocking {
    ($body:expr) => {
        match blocking(move || $body).await {
            Some(r) => r,
            None => error(StatusCode::INTERNAL_SERVER_ERROR, "internal error"),
        }
    };
}

async fn node(State(d): State<Dash>) -> Response {
    run_blocking!({
        let chain = BlockchainRpcImpl::new(d.ctx.clone());
        let mining = MiningRpcImpl::new(d.ctx.clone());
        let (info, mi) = match (chain.getblockchaininfo(), mining.getmininginfo()) {
            (Ok(i), Ok(m)) => (i, m),
            (Err(e), _) | (_, Err(e)) => return rpc_error(e),
        };
        let snap = d.ctx.chain.snapshot();
        let params = snap.params();
        Json(json!({
            "network": info.chain,
            "version": env!("CARGO_PKG_VERSION"),
            "height": info.blocks,
            "headers": info.headers,
            "tip": info.bestblockhash,
            "difficulty": info.difficulty,
            "chainwork": info.chainwork,
            "networkhashps": mi.networkhashps,
            "localhashps": mi.hashespersec,
            "mining": mi.generate,
            "mining_threads": if mi.generate { mi.genproclimit } else { 0 },
            "mempool_count": snap.mempool().len(),
            "mempool_bytes": snap.mempool().total_size(),
            "peers": d.ctx.net.peer_count(),
            "uptime": d.ctx.started.elapsed().as_secs(),
            "target_spacing": params.target_spacing,
            "retarget_interval": params.retarget_interval,
            "retarget": params.retarget,
        }))
        .into_response()
    })
}

#[derive(Deserialize)]
struct Window {
    depth: Option<u32>,
    count: Option<u32>,
    before: Option<u32>,
}

async fn tree(State(d): State<Dash>, Query(w): Query<Window>) -> Response {
    let depth = w.depth.unwrap_or(60).clamp(1, MAX_WINDOW);
    let snap = d.ctx.chain.snapshot();
    let index = snap.index();
    let best = snap.best_header();
    let low = best.height.saturating_sub(depth);
    let mut seen = std::collections::HashSet::new();
    let mut picked: Vec<IndexEntry> = Vec::new();
    for h in low..=index.height() {
        if let Some(e) = index.active_hash(h).and_then(|h| index.get(&h)) {
            seen.insert(e.hash);
            picked.push(*e);
        }
    }
    // Every branch that reaches into the window, walked down to the active chain.
    for leaf in index.leaves() {
        let mut cur = Some(leaf);
        while let Some(e) = cur {
            if e.height < low || index.is_active(e) || !seen.insert(e.hash) {
                break;
            }
            picked.push(*e);
            cur = index.get(&e.header.prev_blockhash);
        }
    }
    let out: Vec<Value> = picked
        .iter()
        .map(|e| {
            json!({
                "hash": e.hash,
                "prev": e.header.prev_blockhash,
                "height": e.height,
                "status": entry_status(&snap, e),
                "chainwork": format!("{:x}", e.chainwork),
                "time": e.header.time,
                "sequence": e.sequence,
            })
        })
        .collect();
    let reorgs: Vec<Value> = d
        .reorgs
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .cloned()
        .collect();
    Json(json!({ "tip": snap.tip().hash, "blocks": out, "reorgs": reorgs })).into_response()
}

/// The coinbase's first output's address, and the fees (coinbase value minus subsidy).
fn miner_and_fees(snap: &Snapshot, height: u32, coinbase: &Transaction) -> (Value, Amount) {
    let params = snap.params();
    let paid =
        Amount::checked_sum(coinbase.outputs.iter().map(|o| o.value)).unwrap_or(Amount::ZERO);
    let fees = paid
        .checked_sub(params.subsidy(height))
        .unwrap_or(Amount::ZERO);
    let miner = coinbase
        .outputs
        .first()
        .map(|o| json!(Address::new(params.network, o.pubkey).to_string()))
        .unwrap_or(Value::Null);
    (miner, fees)
}

async fn blocks(State(d): State<Dash>, Query(w): Query<Window>) -> Response {
    run_blocking!({
        let snap = d.ctx.chain.snapshot();
        let index = snap.index();
        let top = w
            .before
            .map_or(index.height(), |b| b.saturating_sub(1))
            .min(index.height());
        let count = w.count.unwrap_or(20).clamp(1, 200);
        let mut out = Vec::new();
        for h in (top.saturating_sub(count - 1)..=top).rev() {
            let Some(e) = index.active_hash(h).and_then(|h| index.get(&h)) else {
                continue;
            };
            let Ok(Some(b)) = snap.block(&e.hash) else {
                continue;
            };
            let prev_time = (h > 0)
                .then(|| index.get(&e.header.prev_blockhash).map(|p| p.header.time))
                .flatten();
            let (miner, fees) = miner_and_fees(&snap, h, &b.txdata[0]);
            out.push(json!({
                "height": h,
                "hash": e.hash,
                "time": e.header.time,
                "interval": prev_time.map(|p| i64::from(e.header.time) - i64::from(p)),
                "tx_count": b.txdata.len(),
                "size": dotcoin_common::serialize(&b).len(),
                "fees": dot(fees),
                "miner": miner,
            }));
        }
        Json(out).into_response()
    })
}

/// A block id: a height or a hash.
fn find_block(snap: &Snapshot, id: &str) -> Option<IndexEntry> {
    let index = snap.index();
    if id.len() < 16 && id.chars().all(|c| c.is_ascii_digit()) {
        let h: u32 = id.parse().ok()?;
        return index.active_hash(h).and_then(|h| index.get(&h)).copied();
    }
    let hash: BlockHash = id.parse().ok()?;
    index.get(&hash).copied()
}

async fn block(State(d): State<Dash>, Path(id): Path<String>) -> Response {
    run_blocking!({
        let snap = d.ctx.chain.snapshot();
        let Some(e) = find_block(&snap, &id) else {
            return error(StatusCode::NOT_FOUND, format!("no block {id:?}"));
        };
        let index = snap.index();
        let active = index.is_active(&e);
        let target = e
            .header
            .bits
            .to_target()
            .map(|t| format!("{t:064x}"))
            .unwrap_or_default();
        let mut v = json!({
            "hash": e.hash,
            "height": e.height,
            "status": entry_status(&snap, &e),
            "confirmations": if active { i64::from(index.height() - e.height + 1) } else { -1 },
            "version": e.header.version,
            "prev": e.header.prev_blockhash,
            "next": if active { index.active_hash(e.height + 1).map(|h| json!(h)).unwrap_or(Value::Null) } else { Value::Null },
            "merkle_root": e.header.merkle_root,
            "time": e.header.time,
            "bits": format!("{:08x}", e.header.bits.0),
            "nonce": e.header.nonce,
            "target": target,
            "hash_number": format!("{:064x}", e.hash.to_u256()),
            "difficulty": difficulty(e.header.bits),
            "chainwork": format!("{:x}", e.chainwork),
            "size": Value::Null,
            "tx_count": Value::Null,
            "fees": Value::Null,
            "txs": [],
        });
        if let Ok(Some(b)) = snap.block(&e.hash) {
            let (_, fees) = miner_and_fees(&snap, e.height, &b.txdata[0]);
            v["size"] = json!(dotcoin_common::serialize(&b).len());
            v["tx_count"] = json!(b.txdata.len());
            v["fees"] = dot(fees);
            v["txs"] = b
                .txdata
                .iter()
                .enumerate()
                .map(|(i, t)| {
                    json!({
                        "txid": t.txid(),
                        "fee": if i == 0 { json!(0.0) } else { Value::Null },
                        "size": t.size(),
                        "inputs": t.inputs.len(),
                        "outputs": t.outputs.len(),
                        "value_out": dot(Amount::checked_sum(t.outputs.iter().map(|o| o.value)).unwrap_or(Amount::ZERO)),
                    })
                })
                .collect();
        }
        Json(v).into_response()
    })
}

/// A confirmed transaction and the block holding it, by the transaction index.
fn confirmed_tx(snap: &Snapshot, txid: &Txid) -> Option<(Transaction, IndexEntry)> {
    let loc = snap.tx_location(txid).ok().flatten()?;
    let block = snap.block(&loc.block).ok().flatten()?;
    let tx = block.txdata.get(loc.index as usize)?.clone();
    let entry = *snap.index().get(&loc.block)?;
    Some((tx, entry))
}

async fn tx(State(d): State<Dash>, Path(txid): Path<String>) -> Response {
    run_blocking!({
        let Ok(txid) = txid.parse::<Txid>() else {
            return error(StatusCode::BAD_REQUEST, "not a txid");
        };
        let snap = d.ctx.chain.snapshot();
        let network = snap.params().network;
        let pool = snap.mempool();
        let (tx, spent, block) = if let Some(e) = pool.get(&txid) {
            (
                e.tx.clone(),
                Some(e.spent.iter().map(|c| c.output).collect::<Vec<_>>()),
                None,
            )
        } else if let Some((tx, entry)) = confirmed_tx(&snap, &txid) {
            // What each input spent, from the transaction that created it.
            let spent = (!tx.is_coinbase()).then(|| {
                tx.inputs
                    .iter()
                    .filter_map(|i| {
                        let (prev, _) = confirmed_tx(&snap, &i.prevout.txid)?;
                        prev.outputs.get(i.prevout.vout as usize).copied()
                    })
                    .collect::<Vec<_>>()
            });
            (tx, spent, Some(entry))
        } else {
            return error(StatusCode::NOT_FOUND, format!("no transaction {txid}"));
        };
        let coinbase = tx.is_coinbase();
        let spent = spent.filter(|s| s.len() == tx.inputs.len());
        let fee = spent.as_ref().and_then(|s| {
            let inp = Amount::checked_sum(s.iter().map(|o| o.value))?;
            let out = Amount::checked_sum(tx.outputs.iter().map(|o| o.value))?;
            inp.checked_sub(out)
        });
        let size = tx.size();
        let inputs: Vec<Value> = tx
            .inputs
            .iter()
            .enumerate()
            .map(|(i, input)| {
                let prev = spent.as_ref().and_then(|s| s.get(i));
                json!({
                    "prev_txid": if coinbase { Value::Null } else { json!(input.prevout.txid) },
                    "prev_vout": input.prevout.vout,
                    "address": prev.map(|o| json!(Address::new(network, o.pubkey).to_string())).unwrap_or(Value::Null),
                    "value": prev.map(|o| dot(o.value)).unwrap_or(Value::Null),
                })
            })
            .collect();
        let outputs: Vec<Value> = tx
            .outputs
            .iter()
            .enumerate()
            .map(|(n, o)| {
                let op = OutPoint {
                    txid,
                    vout: n as u32,
                };
                json!({
                    "n": n,
                    "address": Address::new(network, o.pubkey).to_string(),
                    "value": dot(o.value),
                    "spent_by": pool.spender_of(&op),
                })
            })
            .collect();
        let confirmations = block.map_or(0, |b| snap.confirmations(b.height).unwrap_or(0));
        Json(json!({
            "txid": txid,
            "size": size,
            "coinbase": coinbase,
            "fee": fee.map(dot),
            "fee_rate": fee.map(|f| f.to_dot_f64() * 1000.0 / size.max(1) as f64),
            "confirmations": confirmations,
            "in_mempool": block.is_none(),
            "block_hash": block.map(|b| json!(b.hash)).unwrap_or(Value::Null),
            "block_height": block.map(|b| json!(b.height)).unwrap_or(Value::Null),
            "inputs": inputs,
            "outputs": outputs,
        }))
        .into_response()
    })
}

async fn address(State(d): State<Dash>, Path(addr): Path<String>) -> Response {
    run_blocking!({
        let rpc = AddressIndexRpcImpl::new(d.ctx.clone());
        let q = AddressIndexList(vec![addr.clone()]);
        let balance = match rpc.getaddressbalance(q.clone()) {
            Ok(b) => b,
            Err(e) => return rpc_error(e),
        };
        let utxos = match rpc.getaddressutxos(q.clone()) {
            Ok(u) => u,
            Err(e) => return rpc_error(e),
        };
        let history = match rpc.getaddresstxids(q) {
            Ok(h) => h,
            Err(e) => return rpc_error(e),
        };
        let height = d.ctx.chain.snapshot().height();
        let locate = |t: &Txid| {
            d.ctx
                .chain
                .snapshot()
                .tx_location(t)
                .ok()
                .flatten()
                .and_then(|l| {
                    d.ctx
                        .chain
                        .snapshot()
                        .index()
                        .get(&l.block)
                        .map(|e| e.height)
                })
        };
        Json(json!({
            "address": addr,
            "balance": balance.balance as f64 / 1e8,
            "immature": balance.immature as f64 / 1e8,
            "unconfirmed": balance.unconfirmed as f64 / 1e8,
            "utxos": utxos.iter().map(|u| json!({
                "txid": u.txid,
                "vout": u.output_index,
                "value": u.satoshis as f64 / 1e8,
                "height": if u.confirmations == 0 { Value::Null } else { json!(u.height) },
                "confirmations": u.confirmations,
            })).collect::<Vec<_>>(),
            "history": history.iter().rev().map(|t| json!({
                "txid": t,
                "height": locate(t).filter(|h| *h <= height),
            })).collect::<Vec<_>>(),
        }))
        .into_response()
    })
}

async fn mempool(State(d): State<Dash>) -> Response {
    let snap = d.ctx.chain.snapshot();
    let pool = snap.mempool();
    let mut entries = pool.entries();
    entries.sort_by_key(|e| std::cmp::Reverse(e.fee_rate()));
    let next = pool.select_for_block(MAX_BLOCK_SIZE - 1000);
    let next_fees = Amount::checked_sum(next.iter().map(|(_, f)| *f)).unwrap_or(Amount::ZERO);
    Json(json!({
        "count": pool.len(),
        "bytes": pool.total_size(),
        "txs": entries.iter().take(500).map(|e| json!({
            "txid": e.txid,
            "size": e.size,
            "fee": dot(e.fee),
            "fee_rate": e.fee_rate().to_sat_per_kvb() as f64 / 1e8,
            "time": e.time,
        })).collect::<Vec<_>>(),
        "next_block": {
            "txids": next.iter().map(|(t, _)| t.txid()).collect::<Vec<_>>(),
            "fees": dot(next_fees),
            "size": next.iter().map(|(t, _)| t.size()).sum::<usize>(),
        },
    }))
    .into_response()
}

async fn difficulty_series(State(d): State<Dash>, Query(w): Query<Window>) -> Response {
    let snap = d.ctx.chain.snapshot();
    let params = snap.params();
    let index = snap.index();
    let count = w.count.unwrap_or(200).clamp(1, MAX_WINDOW);
    let top = index.height();
    let points: Vec<Value> = (top.saturating_sub(count - 1)..=top)
        .filter_map(|h| index.active_hash(h).and_then(|x| index.get(&x)))
        .map(|e| {
            let prev = (e.height > 0)
                .then(|| index.get(&e.header.prev_blockhash))
                .flatten();
            json!({
                "height": e.height,
                "time": e.header.time,
                "interval": prev.map(|p| i64::from(e.header.time) - i64::from(p.header.time)),
                "difficulty": difficulty(e.header.bits),
                "retarget": is_retarget_height(params, e.height),
            })
        })
        .collect();
    Json(json!({
        "target_spacing": params.target_spacing,
        "retarget_interval": params.retarget_interval,
        "points": points,
    }))
    .into_response()
}

async fn peers(State(d): State<Dash>) -> Response {
    let rpc = NetworkRpcImpl::new(d.ctx.clone());
    let list = match rpc.getpeerinfo() {
        Ok(l) => l,
        Err(e) => return rpc_error(e),
    };
    let out: Vec<Value> = list
        .iter()
        .map(|p| {
            // dotcoind's default ports put the dashboard one above the P2P port (18633 /
            // 18634 on regtest, and so in the devnet): a guess, shown as a link only when
            // the peer told us its listening port.
            let listen_port = d
                .ctx
                .net
                .peers()
                .iter()
                .find(|x| x.id == p.id)
                .and_then(|x| x.stats().remote)
                .map(|r| r.listen_port)
                .filter(|p| *p != 0 && *p != u16::MAX);
            let ip = p.addr.rsplit_once(':').map(|(ip, _)| ip.to_owned());
            json!({
                "id": p.id,
                "addr": p.addr,
                "inbound": p.inbound,
                "height": p.synced_blocks.max(p.startingheight),
                "ping_ms": p.pingtime.map(|s| s * 1000.0),
                "banscore": p.banscore,
                "dashboard_url": match (listen_port, ip) {
                    (Some(port), Some(ip)) => json!(format!("http://{ip}:{}/", port + 1)),
                    _ => Value::Null,
                },
            })
        })
        .collect();
    Json(out).into_response()
}

#[derive(Deserialize)]
struct SearchQuery {
    q: String,
}

async fn search(State(d): State<Dash>, Query(s): Query<SearchQuery>) -> Response {
    let q = s.q.trim().to_owned();
    run_blocking!({
        let snap = d.ctx.chain.snapshot();
        if let Some(e) = find_block(&snap, &q) {
            return Json(json!({ "kind": "block", "id": e.hash })).into_response();
        }
        if let Ok(txid) = q.parse::<Txid>() {
            if snap.mempool().contains(&txid) || snap.tx_location(&txid).ok().flatten().is_some() {
                return Json(json!({ "kind": "tx", "id": txid })).into_response();
            }
        }
        if Address::parse_for(&q, snap.params().network).is_ok() {
            return Json(json!({ "kind": "address", "id": q })).into_response();
        }
        error(StatusCode::NOT_FOUND, format!("nothing matches {q:?}"))
    })
}

/// The event stream as server-sent events: each event's `type` is the SSE event name and
/// the event itself, in the schema every transport shares (`docs/events.md`), the data. A client that falls behind gets a `lagged` event and
/// refreshes; the stream never waits for it. At most [`MAX_EVENT_STREAMS`] at once.
async fn events(State(d): State<Dash>) -> Response {
    let Ok(permit) = Arc::clone(&d.streams).try_acquire_owned() else {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("{MAX_EVENT_STREAMS} event streams are open already; close one"),
        );
    };
    let rx = d.ctx.chain.subscribe();
    // The permit lives in the stream's state: it is released when the client goes and
    // axum drops the stream.
    let stream = futures_util::stream::unfold((rx, permit), |(mut rx, permit)| async move {
        let ev = match rx.recv().await {
            Ok(e) => {
                let e = e.to_wire();
                SseEvent::default()
                    .event(e.type_name())
                    .data(e.to_json().to_string())
            }
            Err(broadcast::error::RecvError::Lagged(n)) => SseEvent::default()
                .event("lagged")
                .data(json!({ "missed": n }).to_string()),
            Err(broadcast::error::RecvError::Closed) => return None,
        };
        Some((Ok::<_, Infallible>(ev), (rx, permit)))
    });
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

/// Whether the request carries the dashboard token or the RPC credentials.
fn authorized(d: &Dash, headers: &HeaderMap) -> bool {
    let Some(h) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let eq = |a: &[u8], b: &[u8]| {
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    };
    match h.strip_prefix("Bearer ") {
        Some(t) => eq(t.trim().as_bytes(), d.token.as_bytes()),
        None => eq(h.as_bytes(), d.basic.as_bytes()),
    }
}

async fn auth(State(d): State<Dash>, headers: HeaderMap) -> Response {
    Json(json!({ "authorized": authorized(&d, &headers) })).into_response()
}

#[derive(Deserialize, Default)]
struct ActionBody {
    nblocks: Option<u32>,
    address: Option<String>,
    mining: Option<bool>,
    threads: Option<u32>,
    node: Option<String>,
    id: Option<u64>,
    hash: Option<String>,
}

/// Most blocks one dashboard click may mine.
const MAX_ACTION_BLOCKS: u32 = 100;

async fn action(
    State(d): State<Dash>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Option<Json<ActionBody>>,
) -> Response {
    if !authorized(&d, &headers) {
        let mut refused = error(
            StatusCode::UNAUTHORIZED,
            "actions need the token from the URL dotcoind printed",
        );
        refused.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer realm=\"dotcoin-dashboard\""),
        );
        return refused;
    }
    let b = body.map(|Json(b)| b).unwrap_or_default();
    info!(target: "rpc", action = %name, "dashboard action");
    run_blocking!({
        let result = match name.as_str() {
            "generate" => {
                let n = b.nblocks.unwrap_or(1);
                if n == 0 || n > MAX_ACTION_BLOCKS {
                    return error(
                        StatusCode::BAD_REQUEST,
                        format!("nblocks must be 1 to {MAX_ACTION_BLOCKS}"),
                    );
                }
                let Some(address) = b.address else {
                    return rpc_error(missing_param("address"));
                };
                MiningRpcImpl::new(d.ctx.clone())
                    .generatetoaddress(Count(n), Text(address), None)
                    .map(|v| json!(v))
            }
            "setgenerate" => MiningRpcImpl::new(d.ctx.clone())
                .setgenerate(
                    Flag(b.mining.unwrap_or(false)),
                    b.threads.map(|t| Int(t.into())),
                    b.address.map(Text),
                )
                .map(|()| Value::Null),
            "addnode" => {
                let Some(node) = b.node else {
                    return rpc_error(missing_param("node"));
                };
                NetworkRpcImpl::new(d.ctx.clone())
                    .addnode(Text(node), KeywordArg(AddNodeCommand::OneTry))
                    .map(|()| Value::Null)
            }
            "disconnectnode" => NetworkRpcImpl::new(d.ctx.clone())
                .disconnectnode(None, b.id.and_then(|i| i64::try_from(i).ok()).map(Int))
                .map(|()| Value::Null),
            "invalidateblock" => action_block_hash(b.hash)
                .and_then(|h| BlockchainRpcImpl::new(d.ctx.clone()).invalidateblock(h))
                .map(|v| json!(v)),
            "reconsiderblock" => action_block_hash(b.hash)
                .and_then(|h| BlockchainRpcImpl::new(d.ctx.clone()).reconsiderblock(h))
                .map(|v| json!(v)),
            _ => return error(StatusCode::NOT_FOUND, format!("no action {name:?}")),
        };
        match result {
            Ok(v) => Json(json!({ "result": v })).into_response(),
            Err(e) => rpc_error(e),
        }
    })
}
