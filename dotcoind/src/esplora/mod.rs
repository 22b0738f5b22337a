//! The node's public HTTP read API on its own port (`--esplora`, `--rest`): Blockstream
//! Esplora's endpoints (`API.md`, the shapes block explorers, BDK wallets and
//! mempool.space's clients parse), Bitcoin Core's `/rest/` (in [`crate::rest`]) and a
//! push WebSocket in mempool.space's `track-address` model ([`ws`]).
//!
//! Bird's eye view:
//! - [`start`] binds the port and serves one axum router through the shared accept loop
//!   (`dotcoin_rpc_server::serve`: socket caps per server and per client, header, body and
//!   write-stall timeouts, WebSocket caps). The Esplora routes answer both at `/…` and at
//!   `/api/…` (where mempool.space's clients look).
//! - Every read runs on this server's own small rayon pool ([`ReadPool`], the dashboard's
//!   admission model): a bounded number of reads admitted at once, the rest answered 503
//!   at once; tokio's workers never wait on RocksDB.
//! - Reads answer as of one published [`Snapshot`] of the chain service (tip, mempool,
//!   store view), so a page never mixes two tips.
//! - The server runs on its own tokio runtime and read threads, all at a lower CPU
//!   priority ([`EXPLORER_NICE`]): a flood of explorer reads takes only the CPU that the
//!   node's own work (validation, P2P, mining, its RPC) leaves, so an operator's
//!   `getblockcount` answers at once however hard the public API is hammered.
//! - Everything is public chain data; there is nothing to authenticate.

/// Runs a read of the current snapshot on the API's pool (the Esplora routes and Core's
/// REST share it); the caller has `Api`, `ApiError`, `Response` and `Snapshot` in scope.
macro_rules! api_read {
    ($api:expr, |$snap:ident| $body:expr) => {{
        let api: Api = $api;
        let ctx = api.ctx.clone();
        api.reads
            .read(
                &ctx,
                move |$snap: &Snapshot| -> Result<Response, ApiError> { $body },
            )
            .await
    }};
}
pub(crate) use api_read;

mod routes;
pub mod ws;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use bitcoin_hashes::{sha256, Hash};
use dotcoin_common::{BlockHash, PubKey};
use tokio::net::TcpListener;
use tracing::info;

use crate::rpc::RpcContext;
use crate::state::Snapshot;

/// Threads of the API's read pool.
pub const READ_THREADS: usize = 2;
/// Worker threads of the API's own tokio runtime (accepting, parsing, sending answers).
pub const RUNTIME_THREADS: usize = 2;
/// The nice value of the API's threads: Linux schedules a thread at nice 10 at about a
/// tenth of the weight of one at 0 when both want a core.
pub const EXPLORER_NICE: i32 = 10;
/// Reads admitted at once, running or waiting for a thread; past this a request is
/// answered 503 at once instead of queueing without bound.
pub const MAX_READS: usize = 32;
/// HTTP connections the API holds at once (the shared accept loop closes the
/// longest-idle one for a newcomer at the cap).
pub const MAX_CONNECTIONS: usize = 256;
/// HTTP connections at once from one client address.
pub const MAX_CONNECTIONS_PER_CLIENT: usize = 128;
/// WebSocket sessions at once; past this the oldest is closed for a newcomer.
pub const MAX_WEBSOCKETS: usize = 64;
/// WebSocket sessions at once from one client address.
pub const MAX_WEBSOCKETS_PER_CLIENT: usize = 16;
/// By default, how long a request head or body may take, an idle connection is kept and a
/// write may stall.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// Most bytes of a request body (`POST /tx` carries one transaction's hex).
pub const MAX_BODY: usize = 4 * 1024 * 1024;

/// What the API serves.
#[derive(Debug, Clone)]
pub struct Options {
    /// Esplora's endpoints and the WebSocket.
    pub esplora: bool,
    /// Bitcoin Core's `/rest/` endpoints.
    pub rest: bool,
    /// Request head/body, idle and write-stall timeout.
    pub timeout: Duration,
}

/// The running API server.
#[derive(Debug)]
pub struct EsploraServer {
    addr: SocketAddr,
    serving: dotcoin_rpc_server::serve::ServeHandle,
    /// Taken only by `drop`.
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for EsploraServer {
    /// The runtime's threads wind down in the background: the owner is async, where a
    /// runtime must not block on being dropped.
    fn drop(&mut self) {
        self.serving.stop();
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl EsploraServer {
    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops serving (as dropping it does).
    pub fn stop(self) {
        drop(self);
    }
}

/// What the handlers share.
#[derive(Clone)]
pub(crate) struct Api {
    pub(crate) ctx: RpcContext,
    pub(crate) reads: ReadPool,
    /// Script hashes seen on the chain or in the pool, to their keys.
    pub(crate) keys: Arc<KeyBook>,
    /// Fee rates paid per recent block, for `/fee-estimates`.
    pub(crate) fee_rates: Arc<Mutex<HashMap<BlockHash, Vec<u64>>>>,
    /// The last `/utxo` answers.
    pub(crate) utxo_cache: Arc<Mutex<routes::UtxoCache>>,
}

/// Binds `addr` and serves the API of `ctx`.
pub async fn start(
    ctx: RpcContext,
    addr: SocketAddr,
    options: Options,
) -> std::io::Result<EsploraServer> {
    let listener = std::net::TcpListener::bind(addr)?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(RUNTIME_THREADS)
        .enable_all()
        .thread_name("esplora-rt")
        .on_thread_start(lower_priority)
        .build()?;
    // Everything the server spawns (connections, the key book, WebSockets) runs on it.
    let _on_own_runtime = runtime.enter();
    let listener = TcpListener::from_std(listener)?;
    let api = Api {
        ctx,
        reads: ReadPool::new("esplora-read", READ_THREADS, MAX_READS)?,
        keys: Arc::new(KeyBook::default()),
        fee_rates: Arc::new(Mutex::new(HashMap::new())),
        utxo_cache: Arc::new(Mutex::new(routes::UtxoCache::default())),
    };
    if options.esplora {
        tokio::spawn(KeyBook::follow(api.clone()));
    }
    let mut app = Router::new();
    if options.esplora {
        let esplora = routes::router();
        app = app
            .merge(esplora.clone())
            .nest("/api", esplora.merge(ws::router()))
            .merge(ws::router());
    }
    if options.rest {
        app = app.nest("/rest", crate::rest::router());
    }
    let app = app
        .fallback(|| async { text_error(StatusCode::NOT_FOUND, "Not Found") })
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .with_state(api);
    let limits = dotcoin_rpc_server::serve::Limits {
        max_connections: MAX_CONNECTIONS,
        max_per_client: MAX_CONNECTIONS_PER_CLIENT,
        max_websockets: if options.esplora { MAX_WEBSOCKETS } else { 0 },
        max_websockets_per_client: if options.esplora {
            MAX_WEBSOCKETS_PER_CLIENT
        } else {
            0
        },
        timeout: options.timeout,
    };
    let serving =
        dotcoin_rpc_server::serve::serve(listener, "esplora", limits, move |_| app.clone());
    info!(target: "rpc", %addr, esplora = options.esplora, rest = options.rest, "HTTP API listening");
    Ok(EsploraServer {
        addr,
        serving,
        runtime: Some(runtime),
    })
}

/// Puts the calling thread at [`EXPLORER_NICE`]. Linux keeps a nice value per thread, and
/// any thread may lower its own priority; should it fail the server still works, at the
/// normal priority, so the failure is only logged.
#[allow(unsafe_code)]
fn lower_priority() {
    // SAFETY: gettid and setpriority take and return plain integers and touch no memory
    // of ours.
    let done = unsafe {
        let tid = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, EXPLORER_NICE)
    };
    if done != 0 {
        tracing::debug!(target: "rpc", error = %std::io::Error::last_os_error(), "cannot lower the HTTP API thread's priority");
    }
}

/// An answer of the API that is not a success: its status and plain-text body, as
/// electrs' `HttpError` answers.
#[derive(Debug)]
pub(crate) struct ApiError(pub StatusCode, pub String);

impl ApiError {
    pub(crate) fn bad(msg: impl Into<String>) -> ApiError {
        ApiError(StatusCode::BAD_REQUEST, msg.into())
    }
    pub(crate) fn not_found(msg: impl Into<String>) -> ApiError {
        ApiError(StatusCode::NOT_FOUND, msg.into())
    }
    pub(crate) fn internal(msg: impl std::fmt::Display) -> ApiError {
        ApiError(StatusCode::INTERNAL_SERVER_ERROR, msg.to_string())
    }
}

impl From<crate::storage::StoreError> for ApiError {
    fn from(e: crate::storage::StoreError) -> ApiError {
        ApiError::internal(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        text_error(self.0, self.1)
    }
}

pub(crate) fn text_error(status: StatusCode, msg: impl Into<String>) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        msg.into(),
    )
        .into_response()
}

/// A plain-text success (a height, a hash, hex).
pub(crate) fn text(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
}

/// Bytes (`/raw`, Core's `.bin`).
pub(crate) fn binary(body: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, "application/octet-stream")], body).into_response()
}

/// JSON from a serializable value, serialized on the read thread.
pub(crate) fn json<T: serde::Serialize>(v: &T) -> Response {
    match serde_json::to_vec(v) {
        Ok(body) => ([(header::CONTENT_TYPE, "application/json")], body).into_response(),
        Err(e) => ApiError::internal(e).into_response(),
    }
}

/// This server's own threads for its reads (the dashboard's model): never tokio's
/// blocking pool, which block processing and the RPC use, so however many requests
/// arrive they take at most its threads and its admitted requests' memory.
#[derive(Clone)]
pub(crate) struct ReadPool {
    pool: Arc<rayon::ThreadPool>,
    admitted: Arc<tokio::sync::Semaphore>,
    max: usize,
}

impl ReadPool {
    pub(crate) fn new(name: &'static str, threads: usize, max: usize) -> std::io::Result<ReadPool> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(move |i| format!("{name}-{i}"))
            .start_handler(|_| lower_priority())
            .build()
            .map_err(std::io::Error::other)?;
        Ok(ReadPool {
            pool: Arc::new(pool),
            admitted: Arc::new(tokio::sync::Semaphore::new(max)),
            max,
        })
    }

    /// Runs `f` on the pool: `None` when the pool is full or `f` panicked. The permit
    /// goes with the job, not the request, so a client that hangs up does not free a
    /// place its read still takes.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let Ok(permit) = Arc::clone(&self.admitted).try_acquire_owned() else {
            return Err(ApiError(
                StatusCode::SERVICE_UNAVAILABLE,
                format!(
                    "the API is answering {} reads already; retry shortly",
                    self.max
                ),
            ));
        };
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.pool.spawn(move || {
            // A panic in a rayon job would abort the process.
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
            drop(permit);
            let _ = tx.send(r);
        });
        match rx.await {
            Ok(Ok(r)) => Ok(r),
            _ => Err(ApiError::internal("internal error")),
        }
    }

    /// Runs a read of the current snapshot and turns its result into the answer.
    pub(crate) async fn read(
        &self,
        ctx: &RpcContext,
        f: impl FnOnce(&Snapshot) -> Result<Response, ApiError> + Send + 'static,
    ) -> Response {
        let chain = Arc::clone(&ctx.chain);
        match self.run(move || f(&chain.snapshot())).await {
            Ok(Ok(r)) => r,
            Ok(Err(e)) | Err(e) => e.into_response(),
        }
    }
}

/// An output's Esplora script hash: SHA-256 of its script (`5120` + key), shown
/// byte-reversed as Electrum does.
pub fn scripthash(key: &PubKey) -> [u8; 32] {
    let mut script = [0u8; 34];
    script[0] = 0x51;
    script[1] = 0x20;
    script[2..].copy_from_slice(&key.0);
    let mut h = sha256::Hash::hash(&script).to_byte_array();
    h.reverse();
    h
}

/// The keys behind script hashes: a hash cannot be inverted, so the keys the chain has
/// paid are hashed once as they appear (a walk of the address index at start, then each
/// connected block). A key only in the pool is found by a pass over the pool.
#[derive(Default)]
pub(crate) struct KeyBook {
    keys: Mutex<HashMap<[u8; 32], PubKey>>,
}

impl KeyBook {
    pub(crate) fn get(&self, hash: &[u8; 32]) -> Option<PubKey> {
        self.keys
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(hash)
            .copied()
    }

    fn add(&self, keys: impl IntoIterator<Item = PubKey>) {
        let mut map = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        for k in keys {
            map.entry(scripthash(&k)).or_insert(k);
        }
    }

    /// Fills the book from the address index, then from each connected block.
    async fn follow(api: Api) {
        let mut events = api.ctx.chain.subscribe();
        let book = Arc::clone(&api.keys);
        let chain = Arc::clone(&api.ctx.chain);
        // One walk of the history index: every key the chain has paid or spent from.
        let _ = api
            .reads
            .run(move || {
                let snap = chain.snapshot();
                let mut last: Option<PubKey> = None;
                let mut batch = Vec::new();
                let _ =
                    snap.view()
                        .for_each::<crate::storage::TxidByPubkey>(&[], |(k, _, _), _| {
                            if last != Some(k) {
                                last = Some(k);
                                batch.push(k);
                            }
                        });
                book.add(batch);
            })
            .await;
        loop {
            match events.recv().await {
                Ok(crate::state::Event::BlockConnected(facts)) => {
                    let chain = Arc::clone(&api.ctx.chain);
                    let book = Arc::clone(&api.keys);
                    let _ = api
                        .reads
                        .run(move || {
                            if let Ok(Some(b)) = chain.snapshot().block(&facts.hash) {
                                book.add(
                                    b.txdata
                                        .iter()
                                        .flat_map(|t| t.outputs.iter().map(|o| o.pubkey)),
                                );
                            }
                        })
                        .await;
                }
                Ok(_) => {}
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                    // Missed blocks: walk the index again (a resync from a snapshot).
                    let chain = Arc::clone(&api.ctx.chain);
                    let book = Arc::clone(&api.keys);
                    let _ =
                        api.reads
                            .run(move || {
                                let snap = chain.snapshot();
                                let mut keys = Vec::new();
                                let _ = snap.view().for_each::<crate::storage::TxidByPubkey>(
                                    &[],
                                    |(k, _, _), _| keys.push(k),
                                );
                                keys.dedup();
                                book.add(keys);
                            })
                            .await;
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            }
        }
    }
}
