//! The accept loop of every local HTTP server of the suite (the node's RPC port, the
//! wallet service, the dashboard): what a connection may hold and for how long, so that a
//! hostile local client cannot lock honest ones out.
//!
//! - Sockets are counted per server and per client address ([`Limits`]). A newcomer at a
//!   cap is not refused: the oldest *idle* connection (no request in flight) of its own
//!   address, or else of the server, is closed to make room. A connection with a request
//!   in flight is never closed for a newcomer, so a thousand idle sockets from 127.0.0.1
//!   cost an honest caller from 127.0.0.1 nothing but the eviction of one of them.
//! - WebSocket sessions (jsonrpsee subscriptions) leave the HTTP count once upgraded and
//!   have their own caps, per server and per client; past them the oldest session goes.
//!   WebSockets therefore never take an HTTP caller's place.
//! - Time: hyper's timer bounds a request head and an idle keep-alive wait
//!   (`header_read_timeout`), [`TimedBody`] bounds the whole body of a request, and a
//!   write that makes no progress for as long (a client that never reads its answer or
//!   its notifications) ends the connection.
//! - Accept errors (EMFILE, ENFILE) pause the loop instead of spinning it.
//! - [`ServeHandle::stop`] stops accepting, lets the requests in flight finish (a bounded
//!   grace) and then closes whatever is left, WebSockets included.
//!
//! The registry of connections is a small table under one mutex: it is touched once per
//! accept and per request, and is at most a few hundred rows.

use std::collections::HashMap;
use std::future::{poll_fn, Future};
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};
use tower::Service;
use tracing::{debug, warn};

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// How much one server holds at once, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// HTTP connections at once (WebSocket sessions not included).
    pub max_connections: usize,
    /// HTTP connections at once from one client address.
    pub max_per_client: usize,
    /// WebSocket sessions at once.
    pub max_websockets: usize,
    /// WebSocket sessions at once from one client address.
    pub max_websockets_per_client: usize,
    /// How long a request head, a request body or a stalled write may take, and how long
    /// an idle connection is kept (Core's `-rpcservertimeout`).
    pub timeout: Duration,
}

/// How long [`ServeHandle::stop`] lets requests in flight finish before it closes them.
pub const STOP_GRACE: Duration = Duration::from_secs(5);
/// The pause after a failed accept (out of file descriptors and the like).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// The client's address, in every request's extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerAddr(pub SocketAddr);

/// A request body that ends in [`BodyTimeout`] when it is not all there within the
/// timeout of its request's arrival. (tower-http's body timeout restarts its clock on
/// every frame, so a body sent a byte a second would never trip it.)
#[derive(Debug)]
pub struct TimedBody {
    inner: Incoming,
    deadline: Pin<Box<tokio::time::Sleep>>,
    timeout: Duration,
    expired: bool,
}

impl TimedBody {
    fn new(inner: Incoming, timeout: Duration) -> TimedBody {
        TimedBody {
            inner,
            deadline: Box::pin(tokio::time::sleep(timeout)),
            timeout,
            expired: false,
        }
    }
}

/// A request body that did not arrive within the server's timeout.
#[derive(Debug, Clone, Copy)]
pub struct BodyTimeout(pub Duration);

impl std::fmt::Display for BodyTimeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "request body not received within {} s", self.0.as_secs())
    }
}

impl std::error::Error for BodyTimeout {}

impl Body for TimedBody {
    type Data = hyper::body::Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        if self.expired {
            return Poll::Ready(None);
        }
        if let Poll::Ready(frame) = Pin::new(&mut self.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        if self.deadline.as_mut().poll(cx).is_ready() {
            self.expired = true;
            return Poll::Ready(Some(Err(Box::new(BodyTimeout(self.timeout)))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.expired || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// What one connection's requests and its registry row share.
#[derive(Debug)]
struct ConnState {
    /// Requests being answered (their responses not yet all written).
    in_flight: AtomicUsize,
    /// Milliseconds since the registry's epoch of the last request's start or end.
    last_active: AtomicU64,
}

#[derive(Debug)]
struct Entry {
    peer: IpAddr,
    websocket: bool,
    state: Arc<ConnState>,
    kill: CancellationToken,
}

#[derive(Debug, Default)]
struct Table {
    next_id: u64,
    rows: HashMap<u64, Entry>,
}

#[derive(Debug)]
struct Registry {
    name: &'static str,
    limits: Limits,
    epoch: Instant,
    table: Mutex<Table>,
}

impl Registry {
    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    fn table(&self) -> std::sync::MutexGuard<'_, Table> {
        // A panic while holding the lock left plain counters behind: still usable.
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Closes the longest-idle HTTP connection (of `peer` if given); false if none is idle.
    fn evict_idle(&self, table: &mut Table, peer: Option<IpAddr>) -> bool {
        let victim = table
            .rows
            .iter()
            .filter(|(_, e)| !e.websocket && peer.is_none_or(|p| e.peer == p))
            .filter(|(_, e)| e.state.in_flight.load(Ordering::Acquire) == 0)
            .min_by_key(|(id, e)| (e.state.last_active.load(Ordering::Relaxed), **id))
            .map(|(id, _)| *id);
        let Some(id) = victim else { return false };
        if let Some(e) = table.rows.remove(&id) {
            debug!(target: "rpc", server = self.name, peer = %e.peer, "closing an idle connection for a newcomer");
            e.kill.cancel();
        }
        true
    }

    /// Closes the oldest WebSocket session (of `peer` if given) other than `keep`; false
    /// if there is none.
    fn evict_websocket(&self, table: &mut Table, peer: Option<IpAddr>, keep: u64) -> bool {
        let victim = table
            .rows
            .iter()
            .filter(|(id, e)| e.websocket && **id != keep && peer.is_none_or(|p| e.peer == p))
            .min_by_key(|(id, e)| (e.state.last_active.load(Ordering::Relaxed), **id))
            .map(|(id, _)| *id);
        let Some(e) = victim.and_then(|id| table.rows.remove(&id)) else {
            return false;
        };
        debug!(target: "rpc", server = self.name, peer = %e.peer, "closing the oldest WebSocket session for a newcomer");
        e.kill.cancel();
        true
    }

    /// A row for a new connection from `peer`, making room if the caps are reached;
    /// `None` when every connection in the way has a request in flight.
    fn admit(self: &Arc<Self>, peer: IpAddr, done: tokio::sync::mpsc::Sender<()>) -> Option<Slot> {
        let mut table = self.table();
        let http = |t: &Table, p: Option<IpAddr>| {
            t.rows
                .values()
                .filter(|e| !e.websocket && p.is_none_or(|p| e.peer == p))
                .count()
        };
        if http(&table, Some(peer)) >= self.limits.max_per_client
            && !self.evict_idle(&mut table, Some(peer))
        {
            return None;
        }
        if http(&table, None) >= self.limits.max_connections
            && !self.evict_idle(&mut table, Some(peer))
            && !self.evict_idle(&mut table, None)
        {
            return None;
        }
        let id = table.next_id;
        table.next_id += 1;
        let state = Arc::new(ConnState {
            in_flight: AtomicUsize::new(0),
            last_active: AtomicU64::new(self.now_ms()),
        });
        let kill = CancellationToken::new();
        table.rows.insert(
            id,
            Entry {
                peer,
                websocket: false,
                state: Arc::clone(&state),
                kill: kill.clone(),
            },
        );
        Some(Slot {
            registry: Arc::clone(self),
            id,
            state,
            kill,
            _done: done,
        })
    }

    /// Counts a request on connection `id` as in flight, unless the connection was just
    /// closed for a newcomer (under the lock, so eviction never races a starting request).
    fn begin(&self, id: u64, state: &ConnState) -> bool {
        let table = self.table();
        if !table.rows.contains_key(&id) {
            return false;
        }
        state.in_flight.fetch_add(1, Ordering::AcqRel);
        state.last_active.store(self.now_ms(), Ordering::Relaxed);
        true
    }

    /// Connection `id` became a WebSocket session: it leaves the HTTP count and takes a
    /// session place, the oldest session making room when the caps are reached.
    fn upgraded(&self, id: u64) {
        let mut table = self.table();
        let now = self.now_ms();
        let Some(entry) = table.rows.get_mut(&id) else {
            return;
        };
        entry.websocket = true;
        entry.state.last_active.store(now, Ordering::Relaxed);
        let peer = entry.peer;
        let sessions = |t: &Table, p: Option<IpAddr>| {
            t.rows
                .values()
                .filter(|e| e.websocket && p.is_none_or(|p| e.peer == p))
                .count()
        };
        while sessions(&table, Some(peer)) > self.limits.max_websockets_per_client
            && self.evict_websocket(&mut table, Some(peer), id)
        {}
        while sessions(&table, None) > self.limits.max_websockets
            && self.evict_websocket(&mut table, None, id)
        {}
    }

    fn kill_all(&self) {
        let mut table = self.table();
        for (_, e) in table.rows.drain() {
            e.kill.cancel();
        }
    }
}

/// A connection's place in the registry, held by its socket: it is given back when the
/// socket closes, whether it served HTTP or a WebSocket session.
#[derive(Debug)]
struct Slot {
    registry: Arc<Registry>,
    id: u64,
    state: Arc<ConnState>,
    kill: CancellationToken,
    /// Dropped with the slot: [`serve`]'s wait for every connection to end.
    _done: tokio::sync::mpsc::Sender<()>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.registry.table().rows.remove(&self.id);
    }
}

/// The socket of one connection: fails its reads and writes once the registry closes
/// it, and fails a write that makes no progress within the timeout.
struct TrackedIo {
    // Declared first so its row goes before the socket closes.
    slot: Slot,
    stream: TcpStream,
    killed_read: Pin<Box<WaitForCancellationFutureOwned>>,
    killed_write: Pin<Box<WaitForCancellationFutureOwned>>,
    stall: Option<Pin<Box<tokio::time::Sleep>>>,
    timeout: Duration,
}

fn closed_error() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::ConnectionAborted,
        "connection closed by the server",
    )
}

impl TrackedIo {
    fn new(stream: TcpStream, slot: Slot, timeout: Duration) -> TrackedIo {
        TrackedIo {
            killed_read: Box::pin(slot.kill.clone().cancelled_owned()),
            killed_write: Box::pin(slot.kill.clone().cancelled_owned()),
            slot,
            stream,
            stall: None,
            timeout,
        }
    }

    /// A write's outcome, with the stall clock: started by the first `Pending`, cleared
    /// by progress, an error once it runs out.
    fn stall_check<T>(
        &mut self,
        cx: &mut Context<'_>,
        r: Poll<std::io::Result<T>>,
    ) -> Poll<std::io::Result<T>> {
        match r {
            Poll::Ready(r) => {
                self.stall = None;
                Poll::Ready(r)
            }
            Poll::Pending => {
                let timeout = self.timeout;
                let stall = self
                    .stall
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
                if stall.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Err(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "the client does not read",
                    )));
                }
                Poll::Pending
            }
        }
    }
}

impl AsyncRead for TrackedIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if self.slot.kill.is_cancelled() || self.killed_read.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Err(closed_error()));
        }
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for TrackedIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        if self.slot.kill.is_cancelled() || self.killed_write.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Err(closed_error()));
        }
        let r = Pin::new(&mut self.stream).poll_write(cx, buf);
        self.stall_check(cx, r)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        if self.slot.kill.is_cancelled() || self.killed_write.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Err(closed_error()));
        }
        let r = Pin::new(&mut self.stream).poll_flush(cx);
        self.stall_check(cx, r)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// Ends a request's in-flight count when its response is written (or dropped).
#[derive(Debug)]
struct InFlight {
    registry: Arc<Registry>,
    state: Arc<ConnState>,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.state
            .last_active
            .store(self.registry.now_ms(), Ordering::Relaxed);
        self.state.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A response body that keeps its request in flight until it is all written: a stream
/// (server-sent events) is a request in flight for as long as it runs.
#[derive(Debug)]
pub struct TrackedBody<B> {
    inner: B,
    _in_flight: Option<InFlight>,
}

impl<B> Body for TrackedBody<B>
where
    B: Body + Unpin,
{
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let r = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(None) = r {
            self._in_flight = None;
        }
        r
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The per-connection service hyper calls: counts requests in flight, adds
/// [`PeerAddr`], bounds the body, and notes a WebSocket upgrade.
struct ConnService<S> {
    inner: S,
    registry: Arc<Registry>,
    id: u64,
    state: Arc<ConnState>,
    peer: SocketAddr,
    timeout: Duration,
}

impl<S, B> hyper::service::Service<http::Request<Incoming>> for ConnService<S>
where
    S: Service<http::Request<TimedBody>, Response = http::Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Body + Unpin,
{
    type Response = http::Response<TrackedBody<B>>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn call(&self, req: http::Request<Incoming>) -> Self::Future {
        let mut inner = self.inner.clone();
        let registry = Arc::clone(&self.registry);
        let id = self.id;
        let in_flight = registry.begin(id, &self.state).then(|| InFlight {
            registry: Arc::clone(&registry),
            state: Arc::clone(&self.state),
        });
        let timeout = self.timeout;
        let mut req = req.map(|b| TimedBody::new(b, timeout));
        req.extensions_mut().insert(PeerAddr(self.peer));
        Box::pin(async move {
            poll_fn(|cx| inner.poll_ready(cx))
                .await
                .map_err(Into::into)?;
            let resp = inner.call(req).await.map_err(Into::into)?;
            if resp.status() == http::StatusCode::SWITCHING_PROTOCOLS {
                registry.upgraded(id);
            }
            Ok(resp.map(|inner| TrackedBody {
                inner,
                _in_flight: in_flight,
            }))
        })
    }
}

/// A running server: stop it, and wait until every connection has ended.
#[derive(Debug)]
pub struct ServeHandle {
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl ServeHandle {
    /// Stops accepting; requests in flight get [`STOP_GRACE`] to finish.
    pub fn stop(&self) {
        self.stop.cancel();
    }

    /// Stops, then waits until every connection has ended.
    pub async fn stopped(self) {
        self.stop.cancel();
        let _ = self.task.await;
    }
}

/// Serves `listener` under `limits`: `make` gives the service for each new connection
/// from the client at its argument. `name` goes into the log lines.
pub fn serve<M, S, B>(
    listener: TcpListener,
    name: &'static str,
    limits: Limits,
    make: M,
) -> ServeHandle
where
    M: Fn(SocketAddr) -> S + Send + 'static,
    S: Service<http::Request<TimedBody>, Response = http::Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Body + Send + Unpin + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    let stop = CancellationToken::new();
    let registry = Arc::new(Registry {
        name,
        limits,
        epoch: Instant::now(),
        table: Mutex::new(Table::default()),
    });
    let task = tokio::spawn(accept_loop(listener, registry, stop.clone(), make));
    ServeHandle { stop, task }
}

async fn accept_loop<M, S, B>(
    listener: TcpListener,
    registry: Arc<Registry>,
    stop: CancellationToken,
    make: M,
) where
    M: Fn(SocketAddr) -> S + Send + 'static,
    S: Service<http::Request<TimedBody>, Response = http::Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Body + Send + Unpin + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    let (done, mut all_done) = tokio::sync::mpsc::channel::<()>(1);
    let name = registry.name;
    let timeout = registry.limits.timeout;
    loop {
        let accepted = tokio::select! {
            _ = stop.cancelled() => break,
            a = listener.accept() => a,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // EMFILE/ENFILE and the like: retrying at once would spin a worker.
                warn!(target: "rpc", server = name, error = %e, "accept failed; pausing");
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = tokio::time::sleep(ACCEPT_BACKOFF) => continue,
                }
            }
        };
        let Some(slot) = registry.admit(peer.ip(), done.clone()) else {
            // Every connection in the way is busy: the newcomer waits, not them.
            debug!(target: "rpc", server = name, %peer, "connection refused: at the cap, none idle");
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service = ConnService {
            inner: make(peer),
            registry: Arc::clone(&registry),
            id: slot.id,
            state: Arc::clone(&slot.state),
            peer,
            timeout,
        };
        let io = TokioIo::new(TrackedIo::new(stream, slot, timeout));
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut http = hyper::server::conn::http1::Builder::new();
            http.timer(TokioTimer::new())
                .header_read_timeout(timeout)
                .keep_alive(true);
            let conn = http.serve_connection(io, service).with_upgrades();
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => return,
                _ = stop.cancelled() => {}
            }
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        });
    }
    drop(listener);
    drop(done);
    // Requests in flight finish; past the grace, what is left (long calls, WebSocket
    // sessions) is closed.
    if tokio::time::timeout(STOP_GRACE, all_done.recv())
        .await
        .is_err()
    {
        registry.kill_all();
        let _ = tokio::time::timeout(STOP_GRACE, all_done.recv()).await;
    }
    registry.kill_all();
}

/// Serves a jsonrpsee server built with `Server::builder()…to_service_builder()`: one
/// service per connection (its own connection id), all stopped by one stop handle.
pub fn serve_jsonrpsee<R, H>(
    listener: TcpListener,
    name: &'static str,
    limits: Limits,
    builder: jsonrpsee::server::TowerServiceBuilder<R, H>,
    methods: jsonrpsee::Methods,
) -> (ServeHandle, jsonrpsee::server::ServerHandle)
where
    R: Clone + Send + 'static,
    H: Clone + Send + 'static,
    jsonrpsee::server::TowerService<R, H>: Service<
            jsonrpsee::server::HttpRequest,
            Response = jsonrpsee::server::HttpResponse,
            Error = BoxError,
        > + Clone
        + Send
        + 'static,
    <jsonrpsee::server::TowerService<R, H> as Service<jsonrpsee::server::HttpRequest>>::Future:
        Send + 'static,
{
    let (stop_handle, server_handle) = jsonrpsee::server::stop_channel();
    let handle = serve(listener, name, limits, move |_peer| JsonRpsee {
        inner: builder.clone().build(methods.clone(), stop_handle.clone()),
    });
    (handle, server_handle)
}

/// jsonrpsee's service takes its own body type.
#[derive(Clone)]
struct JsonRpsee<S> {
    inner: S,
}

impl<S> Service<http::Request<TimedBody>> for JsonRpsee<S>
where
    S: Service<jsonrpsee::server::HttpRequest>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<TimedBody>) -> S::Future {
        self.inner.call(req.map(jsonrpsee::server::HttpBody::new))
    }
}

/// Raises this process's open-file limit to its hard limit, so that the servers' caps,
/// not the descriptor limit, decide what a flood of sockets gets. Returns the limit in
/// force afterwards.
pub fn raise_fd_limit() -> Option<u64> {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let mut limit = getrlimit(Resource::Nofile);
    if limit.current != limit.maximum {
        limit.current = limit.maximum;
        if setrlimit(Resource::Nofile, limit).is_err() {
            return getrlimit(Resource::Nofile).current;
        }
    }
    limit.current
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A service that answers `/slow` only once `release` is notified, anything else at once.
    #[derive(Clone)]
    struct Slow {
        release: Arc<tokio::sync::Notify>,
    }

    impl Service<http::Request<TimedBody>> for Slow {
        type Response = http::Response<http_body_util::Full<hyper::body::Bytes>>;
        type Error = std::convert::Infallible;
        type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, req: http::Request<TimedBody>) -> Self::Future {
            let release = Arc::clone(&self.release);
            Box::pin(async move {
                if req.uri().path() == "/slow" {
                    release.notified().await;
                }
                Ok(http::Response::new(http_body_util::Full::from("ok")))
            })
        }
    }

    /// A service that reads the whole body and says how that went.
    #[derive(Clone)]
    struct ReadBody;

    impl Service<http::Request<TimedBody>> for ReadBody {
        type Response = http::Response<http_body_util::Empty<hyper::body::Bytes>>;
        type Error = std::convert::Infallible;
        type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, req: http::Request<TimedBody>) -> Self::Future {
            Box::pin(async move {
                let status = match http_body_util::BodyExt::collect(req.into_body()).await {
                    Ok(_) => http::StatusCode::OK,
                    Err(e) if e.is::<BodyTimeout>() => http::StatusCode::REQUEST_TIMEOUT,
                    Err(_) => http::StatusCode::BAD_REQUEST,
                };
                let mut resp = http::Response::new(http_body_util::Empty::new());
                *resp.status_mut() = status;
                Ok(resp)
            })
        }
    }

    async fn closed(s: &mut TcpStream) -> bool {
        let mut buf = [0u8; 256];
        loop {
            match tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => return true,
                Ok(Ok(_)) => continue,
                Err(_) => return false,
            }
        }
    }

    async fn still_open(s: &mut TcpStream) -> bool {
        let mut buf = [0u8; 1];
        tokio::time::timeout(Duration::from_millis(300), s.read(&mut buf))
            .await
            .is_err()
    }

    #[tokio::test]
    async fn a_newcomer_at_the_cap_closes_the_longest_idle_never_a_busy_one() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let release = Arc::new(tokio::sync::Notify::new());
        let limits = Limits {
            max_connections: 2,
            max_per_client: 2,
            max_websockets: 0,
            max_websockets_per_client: 0,
            timeout: Duration::from_secs(60),
        };
        let slow = Slow {
            release: Arc::clone(&release),
        };
        let handle = serve(listener, "test", limits, move |_| slow.clone());
        // The first connection has a request in flight, the second is idle.
        let mut busy = TcpStream::connect(addr).await.expect("connect");
        busy.write_all(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .expect("request");
        tokio::time::sleep(Duration::from_millis(200)).await;
        let mut idle = TcpStream::connect(addr).await.expect("connect");
        tokio::time::sleep(Duration::from_millis(200)).await;
        // A newcomer at the cap is served; the idle one makes room, the busy one stays,
        // although it is the older.
        let mut newcomer = TcpStream::connect(addr).await.expect("connect");
        newcomer
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .expect("request");
        let mut answer = String::new();
        newcomer.read_to_string(&mut answer).await.expect("answer");
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(closed(&mut idle).await, "the idle connection stays open");
        assert!(
            still_open(&mut busy).await,
            "the busy connection was closed"
        );
        // Every place busy: a further newcomer is the one that waits (closed).
        let mut second = TcpStream::connect(addr).await.expect("connect");
        second
            .write_all(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .expect("request");
        tokio::time::sleep(Duration::from_millis(200)).await;
        let mut refused = TcpStream::connect(addr).await.expect("connect");
        assert!(closed(&mut refused).await, "a newcomer past busy places");
        assert!(
            still_open(&mut busy).await,
            "the busy connection was closed"
        );
        // Its request done, the busy connection is answered.
        release.notify_waiters();
        let mut buf = [0u8; 64];
        let n = busy.read(&mut buf).await.expect("answer");
        assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
        handle.stopped().await;
    }

    #[tokio::test]
    async fn a_body_sent_a_byte_at_a_time_runs_out_of_time() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let limits = Limits {
            max_connections: 4,
            max_per_client: 4,
            max_websockets: 0,
            max_websockets_per_client: 0,
            timeout: Duration::from_millis(500),
        };
        let read_body = ReadBody;
        let handle = serve(listener, "test", limits, move |_| read_body.clone());
        let mut s = TcpStream::connect(addr).await.expect("connect");
        s.write_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n")
            .await
            .expect("head");
        // A byte every 200 ms: each arrives well within the timeout, the whole does not.
        for _ in 0..4 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if s.write_all(b" ").await.is_err() {
                break;
            }
        }
        let mut answer = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut answer)).await;
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        handle.stopped().await;
    }
}
