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
use dotcoin_common::{Address, Amount, BlockHash, OutPoint, Transaction, TxOut, Txid};
use dotcoin_rpc_server::arg::{Count, Flag, FromParam, HashArg, Int, KeywordArg, ParamError, Text};
use jsonrpsee::types::ErrorObjectOwned;
use serde::Deserialize;
use serde_json::{json, Value};
use std::path::PathBuf;
use tokio::net::TcpListener;
use tokio::sync::broadcast;
use tracing::info;

use crate::chain::{history_page, utxo_page};
use crate::chain::{BlockStatus, IndexEntry};
use crate::rpc::address::{address_totals, confirmed_utxo, pool_utxo};
use crate::rpc::blockchain::{BlockchainRpcImpl, BlockchainRpcServer};
use crate::rpc::mining::{MiningRpcImpl, MiningRpcServer};
use crate::rpc::network::{AddNodeCommand, NetworkRpcImpl, NetworkRpcServer};
use crate::rpc::RpcContext;
use crate::state::{Event, Snapshot};
use crate::storage::StoreError;

const INDEX_HTML: &str = include_str!("assets/index.html");
const APP_JS: &str = include_str!("assets/app.js");
const STYLE_CSS: &str = include_str!("assets/style.css");

/// Reorganisations remembered for the block tree.
const MAX_REORGS: usize = 50;
/// Most heights the tree and difficulty chart cover in one answer (index reads only).
const MAX_WINDOW: u32 = 2000;
/// Most blocks the block list covers in one answer: each is a full block read.
const MAX_BLOCK_LIST: u32 = 50;

/// What the dashboard's handlers share.
#[derive(Clone)]
struct Dash {
    ctx: RpcContext,
    /// `Bearer` token that authorises actions.
    token: Arc<String>,
    /// `Basic` header of the RPC credentials, also accepted.
    basic: Arc<String>,
    reorgs: Arc<Mutex<VecDeque<Value>>>,
    /// The open event streams (see [`MAX_EVENT_STREAMS`]).
    streams: Arc<StreamSlots>,
    /// Further `Host` names answered, besides addresses and `localhost`.
    allow_hosts: Arc<Vec<String>>,
    /// Where the `GET` handlers' reads run.
    reads: ReadPool,
    /// The last `/api/mempool` answer and the pool it describes.
    mempool_reply: Arc<Mutex<Option<(MempoolKey, Value)>>>,
    /// The lab report linked from the page (`--labreport`).
    lab_report: Arc<Option<String>>,
}

/// Event streams open at once. Each is a broadcast receiver and a connection held open
/// indefinitely; past this a newcomer ends the oldest stream instead of the node holding
/// any number of them (a browser tab takes one).
pub const MAX_EVENT_STREAMS: usize = 32;
/// Event streams open at once from one client address; past this the client's own
/// oldest stream ends, so one client cannot take every place.
pub const MAX_EVENT_STREAMS_PER_CLIENT: usize = 8;

/// The open event streams, oldest first. Removing a row ends its stream: the stream
/// waits on the other end of the row's channel.
#[derive(Default)]
struct StreamSlots {
    rows: Mutex<StreamRows>,
}

/// The next stream's id, and a row per open stream: its id, its client, and the sender
/// whose drop ends it.
type StreamRows = (
    u64,
    VecDeque<(u64, std::net::IpAddr, tokio::sync::oneshot::Sender<()>)>,
);

/// A stream's place, given back when the stream is dropped.
struct StreamSlot {
    slots: Arc<StreamSlots>,
    id: u64,
}

impl StreamSlots {
    /// A place for a stream of `peer`, ending its oldest stream, or the server's, when
    /// the caps are reached; the receiver fires when this stream is ended in turn.
    fn admit(
        self: &Arc<Self>,
        peer: std::net::IpAddr,
    ) -> (StreamSlot, tokio::sync::oneshot::Receiver<()>) {
        let mut guard = self.rows.lock().unwrap_or_else(|p| p.into_inner());
        let (next, rows) = &mut *guard;
        if rows.iter().filter(|r| r.1 == peer).count() >= MAX_EVENT_STREAMS_PER_CLIENT {
            if let Some(i) = rows.iter().position(|r| r.1 == peer) {
                rows.remove(i);
            }
        }
        while rows.len() >= MAX_EVENT_STREAMS {
            rows.pop_front();
        }
        let id = *next;
        *next += 1;
        let (tx, rx) = tokio::sync::oneshot::channel();
        rows.push_back((id, peer, tx));
        (
            StreamSlot {
                slots: Arc::clone(self),
                id,
            },
            rx,
        )
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut guard = self.slots.rows.lock().unwrap_or_else(|p| p.into_inner());
        guard.1.retain(|r| r.0 != self.id);
    }
}

/// The file in the datadir holding the dashboard token (mode 0600, removed at shutdown).
pub const TOKEN_FILE: &str = ".dashboard-token";

/// The running dashboard.
#[derive(Debug)]
pub struct Dashboard {
    addr: SocketAddr,
    token: String,
    token_file: PathBuf,
    serving: dotcoin_rpc_server::serve::ServeHandle,
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
        self.serving.stop();
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
    options: Options,
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
        streams: Arc::new(StreamSlots::default()),
        allow_hosts: Arc::new(options.allow_hosts),
        reads: ReadPool::new()?,
        mempool_reply: Arc::new(Mutex::new(None)),
        lab_report: Arc::new(options.lab_report.clone()),
    };
    tokio::spawn(record_reorgs(dash.clone()));
    let app = router(dash);
    let limits = dotcoin_rpc_server::serve::Limits {
        max_connections: MAX_CONNECTIONS,
        max_per_client: MAX_CONNECTIONS_PER_CLIENT,
        // The dashboard upgrades no connection.
        max_websockets: 0,
        max_websockets_per_client: 0,
        timeout: options.timeout,
    };
    let serving =
        dotcoin_rpc_server::serve::serve(listener, "dashboard", limits, move |_| app.clone());
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
        serving,
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
        .route(
            "/metrics",
            get(|State(d): State<Dash>| async move { crate::metrics::response(&d.ctx) }),
        )
        .layer(axum::middleware::from_fn_with_state(
            dash.clone(),
            browser_rules,
        ))
        .with_state(dash)
}

/// What the dashboard is started with besides its address and credentials.
#[derive(Debug, Clone)]
pub struct Options {
    /// How long a request head or body may take, an idle connection is kept and a write
    /// may stall (`--dashboardtimeout`).
    pub timeout: Duration,
    /// Further names answered in the `Host` header (`--dashboardallowhost`), lowercase.
    pub allow_hosts: Vec<String>,
    /// A network lab report to link to (`--labreport`).
    pub lab_report: Option<String>,
}

/// HTTP connections the dashboard holds at once; at the cap a newcomer closes the
/// longest-idle one (the shared accept loop, `dotcoin_rpc_server::serve`).
pub const MAX_CONNECTIONS: usize = 128;
/// HTTP connections at once from one client address.
pub const MAX_CONNECTIONS_PER_CLIENT: usize = 96;
/// By default, how long a connection may take to send a request's head, and how long an
/// idle keep-alive connection waits for the next (`--dashboardtimeout`): a slowloris or
/// an idle socket is closed.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

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

/// Whether a `Host` header names this machine by address, as `localhost`, or by one of
/// the configured names (`allow`, lowercase). Any other DNS name is refused: a page of
/// `evil.example` whose name an attacker re-points at 127.0.0.1 (DNS rebinding) would
/// otherwise be same-origin with the dashboard and read it.
fn host_allowed(host: &str, allow: &[String]) -> bool {
    let name = match host.strip_prefix('[') {
        // `[v6]` or `[v6]:port`.
        Some(rest) => rest.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    name.eq_ignore_ascii_case("localhost")
        || name.parse::<std::net::IpAddr>().is_ok()
        || allow.iter().any(|a| a.eq_ignore_ascii_case(name))
}

/// The browser's rules, before any handler: a `Host` that is an address, `localhost` or
/// a configured name (421 otherwise), actions only as JSON (415) and from this origin
/// (403 for another `Origin`), and the security headers on every answer.
async fn browser_rules(
    State(d): State<Dash>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if !host_allowed(host, &d.allow_hosts) {
        return with_security_headers(error(
            StatusCode::MISDIRECTED_REQUEST,
            format!(
                "the dashboard answers to its address, localhost or a --dashboardallowhost name, not to host '{}'",
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

/// Threads of the dashboard's read pool.
pub const READ_THREADS: usize = 2;
/// Reads admitted at once, running or waiting for a thread; past this a `GET` is answered
/// 503 at once.
pub const MAX_READS: usize = 16;

/// The dashboard's own threads for its `GET` handlers' reads (store scans, block reads,
/// JSON building): never tokio's blocking pool, which block processing and the RPC
/// use, so however many page loads arrive they take at most [`READ_THREADS`] cores and
/// [`MAX_READS`] requests' memory, and the node's own work never waits behind them.
#[derive(Clone)]
struct ReadPool {
    pool: Arc<rayon::ThreadPool>,
    admitted: Arc<tokio::sync::Semaphore>,
}

impl ReadPool {
    fn new() -> std::io::Result<ReadPool> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(READ_THREADS)
            .thread_name(|i| format!("dashboard-read-{i}"))
            .build()
            .map_err(std::io::Error::other)?;
        Ok(ReadPool {
            pool: Arc::new(pool),
            admitted: Arc::new(tokio::sync::Semaphore::new(MAX_READS)),
        })
    }

    /// Runs `f` on the pool; an error reply when the pool is full or `f` panicked. The
    /// permit goes with the job, not the request: a client that hangs up does not free
    /// a place its read still takes.
    async fn run(&self, f: impl FnOnce() -> Response + Send + 'static) -> Response {
        let Ok(permit) = Arc::clone(&self.admitted).try_acquire_owned() else {
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("the dashboard is answering {MAX_READS} reads already; retry shortly"),
            );
        };
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.pool.spawn(move || {
            // A panic in a rayon job would abort the process.
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
            drop(permit);
            let _ = tx.send(r);
        });
        match rx.await {
            Ok(Ok(r)) => r,
            _ => error(StatusCode::INTERNAL_SERVER_ERROR, "internal error"),
        }
    }
}

/// Runs a read handler's body on the dashboard's [`ReadPool`].
macro_rules! run_read {
    ($d:expr, $body:expr) => {{
        let reads = $d.reads.clone();
        reads.run(move || $body).await
    }};
}

async fn node(State(d): State<Dash>) -> Response {
    run_read!(d, {
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
            "lab_report": *d.lab_report,
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
    run_read!(d, {
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
    })
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
    run_read!(d, {
        let snap = d.ctx.chain.snapshot();
        let index = snap.index();
        let top = w
            .before
            .map_or(index.height(), |b| b.saturating_sub(1))
            .min(index.height());
        let count = w.count.unwrap_or(20).clamp(1, MAX_BLOCK_LIST);
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
    run_read!(d, {
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

/// Inputs and outputs `/api/tx` lists: a transaction as large as a block has thousands.
pub const MAX_TX_ROWS: usize = 100;

/// A confirmed transaction, the block holding it, and the coins its inputs spent (from
/// the block's undo data: one read for all of them, not one block per input).
#[allow(clippy::type_complexity)]
fn confirmed_tx(
    snap: &Snapshot,
    txid: &Txid,
) -> Result<Option<(Transaction, IndexEntry, Option<Vec<TxOut>>)>, StoreError> {
    let Some(loc) = snap.tx_location(txid)? else {
        return Ok(None);
    };
    let Some(mut block) = snap.block(&loc.block)? else {
        return Ok(None);
    };
    let Some(entry) = snap.index().get(&loc.block).copied() else {
        return Ok(None);
    };
    let i = loc.index as usize;
    if i >= block.txdata.len() {
        return Ok(None);
    }
    let spent = crate::rpc::json::spent_by_block(snap, &block)?
        .and_then(|mut per_tx| per_tx.get_mut(i).map(std::mem::take))
        .map(|coins| coins.iter().map(|c| c.output).collect::<Vec<_>>());
    let tx = block.txdata.swap_remove(i);
    Ok(Some((tx, entry, spent)))
}

async fn tx(State(d): State<Dash>, Path(txid): Path<String>) -> Response {
    run_read!(d, {
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
        } else {
            match confirmed_tx(&snap, &txid) {
                Ok(Some((tx, entry, spent))) => (tx, spent, Some(entry)),
                Ok(None) => return error(StatusCode::NOT_FOUND, format!("no transaction {txid}")),
                Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
            }
        };
        let coinbase = tx.is_coinbase();
        let spent = spent.filter(|s| s.len() == tx.inputs.len() && !coinbase);
        let value_in = spent
            .as_ref()
            .and_then(|s| Amount::checked_sum(s.iter().map(|o| o.value)));
        let value_out = Amount::checked_sum(tx.outputs.iter().map(|o| o.value));
        let fee = value_in.zip(value_out).and_then(|(i, o)| i.checked_sub(o));
        let size = tx.size();
        let inputs: Vec<Value> = tx
            .inputs
            .iter()
            .take(MAX_TX_ROWS)
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
            .take(MAX_TX_ROWS)
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
            "value_in": value_in.map(dot),
            "value_out": value_out.map(dot),
            "confirmations": confirmations,
            "in_mempool": block.is_none(),
            "block_hash": block.map(|b| json!(b.hash)).unwrap_or(Value::Null),
            "block_height": block.map(|b| json!(b.height)).unwrap_or(Value::Null),
            "input_count": tx.inputs.len(),
            "output_count": tx.outputs.len(),
            "more_inputs": tx.inputs.len() > MAX_TX_ROWS,
            "more_outputs": tx.outputs.len() > MAX_TX_ROWS,
            "inputs": inputs,
            "outputs": outputs,
        }))
        .into_response()
    })
}

/// Rows of an address's outputs, and of its history, in one `/api/address` answer (and
/// at most as many again from the mempool, on the first page).
pub const ADDRESS_PAGE: usize = 50;

/// Where a page of `/api/address` starts: the `next` cursors of the previous answer.
#[derive(Debug, Default, Deserialize)]
pub struct AddressQuery {
    /// Confirmed outputs past this `txid:vout`, in outpoint order.
    pub utxos_after: Option<String>,
    /// Confirmed history before this `height:txid`, newest first.
    pub history_before: Option<String>,
}

/// Why `/api/address` did not answer a page: the status and the JSON error body.
#[derive(Debug)]
pub struct PageError(pub StatusCode, pub Value);

fn parse_outpoint(s: &str) -> Option<OutPoint> {
    let (txid, vout) = s.split_once(':')?;
    Some(OutPoint {
        txid: txid.parse().ok()?,
        vout: vout.parse().ok()?,
    })
}

fn parse_history_cursor(s: &str) -> Option<(u32, Txid)> {
    let (height, txid) = s.split_once(':')?;
    Some((height.parse().ok()?, txid.parse().ok()?))
}

fn sat_dot(sat: u64) -> Value {
    dot(Amount::from_sat(sat))
}

/// One page of `/api/address/<addr>` as of `snap`: the totals (from one walk of each
/// address index, whose values hold the amounts: no coin, block or transaction-location
/// read), at most [`ADDRESS_PAGE`] confirmed outputs and history rows from the cursors
/// of `q`, and the cursors of the next page. The mempool's outputs and transactions of
/// the address (at most [`ADDRESS_PAGE`] each) come first on the first page.
pub fn address_page(snap: &Snapshot, addr: &str, q: &AddressQuery) -> Result<Value, PageError> {
    let bad = |what: &str| PageError(StatusCode::BAD_REQUEST, json!({ "error": what }));
    let rpc_error = |e: ErrorObjectOwned| {
        let status = match e.code() {
            -1 | -20 => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        };
        PageError(status, json!({ "error": e.message(), "code": e.code() }))
    };
    let address = Address::parse_for(addr, snap.params().network).map_err(|e| {
        rpc_error(ErrorObjectOwned::owned(
            dotcoin_rpc_server::RpcErrorCode::InvalidAddressOrKey as i32,
            format!("Invalid address '{addr}' for parameter 'addresses': {e}"),
            None::<()>,
        ))
    })?;
    let key = address.pubkey;
    let utxos_after = match q.utxos_after.as_deref() {
        None => None,
        Some(c) => Some(parse_outpoint(c).ok_or_else(|| bad("utxos_after is txid:vout"))?),
    };
    let history_before = match q.history_before.as_deref() {
        None => None,
        Some(c) => {
            Some(parse_history_cursor(c).ok_or_else(|| bad("history_before is height:txid"))?)
        }
    };
    let totals = address_totals(snap, &address).map_err(rpc_error)?;
    let db = |e: StoreError| {
        PageError(
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({ "error": e.to_string() }),
        )
    };
    let pool = snap.mempool();
    let mut utxos: Vec<Value> = Vec::new();
    if utxos_after.is_none() {
        for (op, out) in pool.outputs_to(&key).into_iter().take(ADDRESS_PAGE) {
            let u = pool_utxo(snap, &address, op, &out);
            utxos.push(json!({
                "txid": u.txid, "vout": u.output_index, "value": sat_dot(u.satoshis),
                "height": Value::Null, "confirmations": 0, "coinbase": false,
                "spent_in_mempool": u.spent_in_mempool,
            }));
        }
    }
    let (page, utxos_next) = utxo_page(snap.view(), &key, utxos_after, ADDRESS_PAGE).map_err(db)?;
    for (op, coin) in page {
        let u = confirmed_utxo(snap, &address, op, &coin).map_err(rpc_error)?;
        utxos.push(json!({
            "txid": u.txid, "vout": u.output_index, "value": sat_dot(u.satoshis),
            "height": u.height, "confirmations": u.confirmations, "coinbase": u.coinbase,
            "immature": u.immature, "spent_in_mempool": u.spent_in_mempool,
        }));
    }
    let pool_txids = pool.txids_touching(&key);
    let mut history: Vec<Value> = Vec::new();
    if history_before.is_none() {
        // Newest first, as the confirmed rows below.
        for txid in pool_txids.iter().rev().take(ADDRESS_PAGE) {
            history.push(json!({ "txid": txid, "height": Value::Null }));
        }
    }
    let (page, history_next) =
        history_page(snap.view(), &key, history_before, ADDRESS_PAGE).map_err(db)?;
    for (height, txid, did) in page {
        history.push(json!({
            "txid": txid, "height": height,
            "received": dot(did.received), "sent": dot(did.sent),
        }));
    }
    let b = &totals.balance;
    Ok(json!({
        "address": addr,
        "balance": sat_dot(b.balance),
        "immature": sat_dot(b.immature),
        "unconfirmed": b.unconfirmed as f64 / 1e8,
        "received": sat_dot(b.received),
        "utxo_count": totals.confirmed_utxos + totals.pool_utxos,
        "tx_count": totals.confirmed_txs + pool_txids.len() as u64,
        "page_size": ADDRESS_PAGE,
        "utxos": utxos,
        "history": history,
        "next": {
            "utxos_after": utxos_next.map(|op| format!("{}:{}", op.txid, op.vout)),
            "history_before": history_next.map(|(h, t)| format!("{h}:{t}")),
        },
    }))
}

async fn address(
    State(d): State<Dash>,
    Path(addr): Path<String>,
    Query(q): Query<AddressQuery>,
) -> Response {
    run_read!(d, {
        let snap = d.ctx.chain.snapshot();
        match address_page(&snap, &addr, &q) {
            Ok(v) => Json(v).into_response(),
            Err(PageError(status, body)) => (status, Json(body)).into_response(),
        }
    })
}

/// Transactions `/api/mempool` lists, best fee rate first, and txids of the projected
/// next block it lists.
pub const MEMPOOL_LIST: usize = 100;

/// What a `/api/mempool` answer describes: the tip and the pool's change count.
type MempoolKey = (BlockHash, u64, usize);

async fn mempool(State(d): State<Dash>) -> Response {
    run_read!(d, {
        let snap = d.ctx.chain.snapshot();
        let pool = snap.mempool();
        let key = (snap.tip().hash, pool.mempool_sequence(), pool.len());
        // The projected block is a template build over the whole pool: made once per
        // change of the pool, however many page loads ask in between.
        if let Some((k, v)) = &*d.mempool_reply.lock().unwrap_or_else(|p| p.into_inner()) {
            if *k == key {
                return Json(v.clone()).into_response();
            }
        }
        let mut entries = pool.entries();
        let by_rate = |a: &&crate::mempool::MempoolEntry, b: &&crate::mempool::MempoolEntry| {
            b.fee_rate().cmp(&a.fee_rate())
        };
        if entries.len() > MEMPOOL_LIST {
            entries.select_nth_unstable_by(MEMPOOL_LIST, by_rate);
            entries.truncate(MEMPOOL_LIST);
        }
        entries.sort_by(by_rate);
        let next = pool.select_for_block(MAX_BLOCK_SIZE - 1000);
        let next_fees = Amount::checked_sum(next.iter().map(|(_, f)| *f)).unwrap_or(Amount::ZERO);
        let in_next: std::collections::HashSet<Txid> = next.iter().map(|(t, _)| t.txid()).collect();
        let v = json!({
            "count": pool.len(),
            "bytes": pool.total_size(),
            "txs": entries.iter().map(|e| json!({
                "txid": e.txid,
                "size": e.size,
                "fee": dot(e.fee),
                "fee_rate": e.fee_rate().to_sat_per_kvb() as f64 / 1e8,
                "time": e.time,
                "in_next": in_next.contains(&e.txid),
            })).collect::<Vec<_>>(),
            "next_block": {
                "count": next.len(),
                "txids": next.iter().take(MEMPOOL_LIST).map(|(t, _)| t.txid()).collect::<Vec<_>>(),
                "fees": dot(next_fees),
                "size": next.iter().map(|(t, _)| t.size()).sum::<usize>(),
            },
        });
        *d.mempool_reply.lock().unwrap_or_else(|p| p.into_inner()) = Some((key, v.clone()));
        Json(v).into_response()
    })
}

async fn difficulty_series(State(d): State<Dash>, Query(w): Query<Window>) -> Response {
    run_read!(d, {
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
    })
}

async fn peers(State(d): State<Dash>) -> Response {
    run_read!(d, {
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
    })
}

#[derive(Deserialize)]
struct SearchQuery {
    q: String,
}

async fn search(State(d): State<Dash>, Query(s): Query<SearchQuery>) -> Response {
    let q = s.q.trim().to_owned();
    run_read!(d, {
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
/// the event itself, in the schema every transport shares (`docs/events.md`), the data.
/// A client that falls behind gets a `lagged` event and refreshes; the stream never
/// waits for it (the broadcast channel is bounded, and a client that stops reading is
/// closed once a write to it stalls for the timeout). At most [`MAX_EVENT_STREAMS`] at
/// once and [`MAX_EVENT_STREAMS_PER_CLIENT`] per client address: a newcomer past them
/// ends the client's, or else the server's, oldest stream.
async fn events(
    State(d): State<Dash>,
    axum::Extension(peer): axum::Extension<dotcoin_rpc_server::serve::PeerAddr>,
) -> Response {
    let (slot, ended) = d.streams.admit(peer.0.ip());
    let rx = d.ctx.chain.subscribe();
    // The slot lives in the stream's state: it is given back when the client goes and
    // axum drops the stream; `ended` fires when a newcomer takes the place.
    let stream =
        futures_util::stream::unfold((rx, slot, ended), |(mut rx, slot, mut ended)| async move {
            let received = tokio::select! {
                _ = &mut ended => return None,
                r = rx.recv() => r,
            };
            let ev = match received {
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
            Some((Ok::<_, Infallible>(ev), (rx, slot, ended)))
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
