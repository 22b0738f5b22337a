//! Link proxies: one TCP listener per link, forwarding to the far node's P2P port with
//! the link's latency, jitter, bandwidth and loss, all changeable while connections run.
//!
//! This kernel has no `netem`, so the lab shapes links here, in user space, on tokio.
//! Each direction of a connection is a reader and a writer joined by a bounded queue:
//! the reader stamps each chunk with its due time (now + latency ± jitter, never before
//! the previous chunk's, so order is kept, as on one TCP stream), the writer waits for it,
//! then for the token bucket of the link's bandwidth, then writes. TCP never loses bytes,
//! so "loss" is modelled as what a loss does to a TCP stream: the chunk (and everything
//! behind it) arrives one retransmission timeout late (max(200 ms, 3 × latency), Linux's
//! minimum RTO being 200 ms). A cut link resets its connections and refuses new ones
//! until restored.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::Rng;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::topology::LinkParams;

/// Largest chunk read at once.
const CHUNK: usize = 16 * 1024;
/// Chunks queued per direction (at most 4 MiB in flight per direction).
const QUEUE: usize = 256;
/// Linux's minimum retransmission timeout.
const MIN_RTO: Duration = Duration::from_millis(200);

/// What a link is set to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinkState {
    /// Its shaping.
    pub params: LinkParams,
    /// Whether it is cut.
    pub cut: bool,
}

/// A running link proxy.
#[derive(Debug)]
pub struct LinkProxy {
    /// Where the dialling node connects.
    pub listen: SocketAddr,
    state: watch::Sender<LinkState>,
    /// The far node's P2P address (it changes when the nodes restart).
    target: Arc<Mutex<SocketAddr>>,
    /// Local addresses of the proxy's connections to the far node: how that node names
    /// this link's peer in its records.
    upstream_locals: Arc<Mutex<Vec<SocketAddr>>>,
}

impl LinkProxy {
    /// Binds a listener on 127.0.0.1 and forwards every connection to `target`.
    pub async fn start(target: SocketAddr, params: LinkParams) -> std::io::Result<LinkProxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let listen = listener.local_addr()?;
        let (state, rx) = watch::channel(LinkState { params, cut: false });
        let upstream_locals = Arc::new(Mutex::new(Vec::new()));
        let target = Arc::new(Mutex::new(target));
        tokio::spawn(accept_loop(
            listener,
            Arc::clone(&target),
            rx,
            Arc::clone(&upstream_locals),
        ));
        Ok(LinkProxy {
            listen,
            state,
            target,
            upstream_locals,
        })
    }

    /// The link's settings now.
    pub fn state(&self) -> LinkState {
        *self.state.borrow()
    }

    /// Changes the shaping; running connections follow from their next chunk.
    pub fn set_params(&self, params: LinkParams) {
        self.state.send_modify(|s| s.params = params);
    }

    /// Points new connections at `target`.
    pub fn set_target(&self, target: SocketAddr) {
        *self.target.lock().unwrap_or_else(|p| p.into_inner()) = target;
    }

    /// Cuts (`true`) or restores the link.
    pub fn set_cut(&self, cut: bool) {
        self.state.send_modify(|s| s.cut = cut);
    }

    /// The proxy's local addresses towards the far node, newest last.
    pub fn upstream_locals(&self) -> Vec<SocketAddr> {
        self.upstream_locals
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

async fn accept_loop(
    listener: TcpListener,
    target: Arc<Mutex<SocketAddr>>,
    state: watch::Receiver<LinkState>,
    upstream_locals: Arc<Mutex<Vec<SocketAddr>>>,
) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        if state.borrow().cut {
            // Refused: dropped at once, as a cut cable would leave it unanswered.
            drop(client);
            continue;
        }
        let state = state.clone();
        let locals = Arc::clone(&upstream_locals);
        let target = *target.lock().unwrap_or_else(|p| p.into_inner());
        tokio::spawn(async move {
            let Ok(Ok(server)) =
                tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(target)).await
            else {
                return;
            };
            if let Ok(local) = server.local_addr() {
                let mut l = locals.lock().unwrap_or_else(|p| p.into_inner());
                // Bounded: a link reconnecting forever keeps its latest addresses.
                if l.len() >= 64 {
                    l.remove(0);
                }
                l.push(local);
            }
            let _ = client.set_nodelay(true);
            let _ = server.set_nodelay(true);
            run_connection(client, server, state).await;
        });
    }
}

/// Shapes both directions until either side closes or the link is cut.
async fn run_connection(
    client: TcpStream,
    server: TcpStream,
    mut state: watch::Receiver<LinkState>,
) {
    let (cr, cw) = client.into_split();
    let (sr, sw) = server.into_split();
    let up = tokio::spawn(direction(cr, sw, state.clone()));
    let down = tokio::spawn(direction(sr, cw, state.clone()));
    let cut = async {
        loop {
            if state.borrow_and_update().cut {
                return;
            }
            if state.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = cut => {}
        _ = wait_both(&up, &down) => {}
    }
    // Aborting drops both halves of both sockets: each end sees the connection reset.
    up.abort();
    down.abort();
}

async fn wait_both(a: &tokio::task::JoinHandle<()>, b: &tokio::task::JoinHandle<()>) {
    // Either direction ending (EOF or error) ends the connection.
    while !a.is_finished() && !b.is_finished() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One direction: read, stamp, queue; wait, pace, write.
async fn direction(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    state: watch::Receiver<LinkState>,
) {
    let (tx, mut rx) = mpsc::channel::<(Instant, Vec<u8>)>(QUEUE);
    let reader_state = state.clone();
    let reader = async move {
        let mut last_due = Instant::now();
        loop {
            let mut buf = vec![0u8; CHUNK];
            let n = match from.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            buf.truncate(n);
            let p = reader_state.borrow().params;
            let due = (Instant::now() + delay(&p)).max(last_due);
            last_due = due;
            if tx.send((due, buf)).await.is_err() {
                break;
            }
        }
    };
    let writer = async move {
        let mut next_free = Instant::now();
        while let Some((due, chunk)) = rx.recv().await {
            tokio::time::sleep_until(due).await;
            let rate = state.borrow().params.bandwidth;
            if rate > 0 {
                // Token bucket with a one-chunk burst: the chunk leaves once the link has
                // had time to carry it.
                let start = next_free.max(Instant::now());
                next_free = start + Duration::from_secs_f64(chunk.len() as f64 / rate as f64);
                tokio::time::sleep_until(next_free).await;
            }
            if to.write_all(&chunk).await.is_err() {
                break;
            }
        }
        let _ = to.shutdown().await;
    };
    tokio::join!(reader, writer);
}

/// One chunk's delay: latency ± jitter, plus a retransmission timeout when "lost".
fn delay(p: &LinkParams) -> Duration {
    let mut rng = rand::thread_rng();
    let mut d = p.latency.as_secs_f64();
    let j = p.jitter.as_secs_f64();
    if j > 0.0 {
        d += rng.gen_range(-j..=j);
    }
    if p.loss > 0.0 && rng.gen_bool(p.loss.clamp(0.0, 1.0)) {
        d += MIN_RTO.as_secs_f64().max(3.0 * p.latency.as_secs_f64());
    }
    Duration::from_secs_f64(d.max(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bytes_arrive_in_order_after_the_latency_and_a_cut_resets() {
        let echo = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let target = echo.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((s, _)) = echo.accept().await {
                tokio::spawn(async move {
                    let (mut r, mut w) = s.into_split();
                    let _ = tokio::io::copy(&mut r, &mut w).await;
                });
            }
        });
        let params = LinkParams {
            latency: Duration::from_millis(100),
            ..LinkParams::default()
        };
        let proxy = LinkProxy::start(target, params).await.unwrap();
        let mut c = TcpStream::connect(proxy.listen).await.unwrap();
        let started = std::time::Instant::now();
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        c.write_all(&data).await.unwrap();
        let mut back = vec![0u8; data.len()];
        c.read_exact(&mut back).await.unwrap();
        // Through the proxy twice (there and back): at least two latencies.
        assert!(started.elapsed() >= Duration::from_millis(200));
        assert_eq!(back, data);
        proxy.set_cut(true);
        let mut one = [0u8; 1];
        let r = tokio::time::timeout(Duration::from_secs(10), c.read(&mut one)).await;
        assert!(
            matches!(r, Ok(Ok(0)) | Ok(Err(_))),
            "the cut ends the connection: {r:?}"
        );
    }
}
