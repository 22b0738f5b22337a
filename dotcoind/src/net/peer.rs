//! One connection: its shared handle ([`Peer`], what the manager and RPC see) and the
//! task that runs it.
//!
//! Each connection has three tasks: a reader that turns bytes into frames (checking
//! magic, size and checksum; small frames only until the handshake), a writer that drains
//! the outbound queue, and the handler — the handshake (with a timeout), then every
//! message in turn, a ping every [`PING_INTERVAL`] and, each second, the stall check and
//! block requests of [`super::sync`]. Bad input costs the peer misbehaviour points; it
//! never panics the node or blocks other peers (validation runs on the blocking pool,
//! never under an `.await`).
//!
//! Resources a peer can make the node spend are bounded:
//! - the outbound queue in bytes ([`SEND_SOFT_LIMIT`], [`MAX_SEND_QUEUE_BYTES`]);
//!   `getdata` is served lazily, only while the queue is below the soft limit, and while
//!   some is pending the peer's next messages are not read (TCP pushes back on it);
//! - transaction requests in flight ([`MAX_PEER_TX_IN_FLIGHT`]), expired on the tick;
//! - blocks it was not asked for are kept only if they would move the tip;
//! - blocks it was asked for wait in its [`super::pipeline`], at most
//!   [`super::pipeline::PIPELINE_DEPTH`] at a time;
//! - with a plugin's `mempool_accept` hook, its transactions go to a worker task of
//!   their own (in order, at most [`HOOK_QUEUE`] waiting), so a slow hook never holds up
//!   its blocks or its other messages; hook calls are rationed per peer
//!   ([`HOOK_CALL_BURST`], [`HOOK_CALL_RATE`]), a transaction a hook refused since the
//!   tip changed is answered without one, and sending it again unasked costs
//!   misbehaviour points. The worker ends with the connection, and with it any wait on
//!   a hook.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bitcoin_hashes::Hash as _;
use dotcoin_common::{Block, BlockHash, BlockHeader, Transaction, Txid};
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, Notify};
use tracing::{debug, info, info_span, warn, Instrument};

use super::codec::{
    encode_frame, read_frame, CodecError, RawFrame, MAX_HANDSHAKE_PAYLOAD, MAX_PAYLOAD,
};
use super::compact::{
    block_txn, BlockTxn, BlockTxnRequest, HeaderAndShortIds, PartialBlock, ReconstructError,
    SendCmpct, CMPCT_VERSION, MAX_BLOCKTXN_DEPTH, MAX_CMPCTBLOCK_DEPTH,
};
use super::manager::PeerManager;
use super::message::{GetHeaders, Inventory, Message, VersionMessage, MAX_HEADERS};
use super::misbehaviour::Misbehaviour;
use super::pipeline::{self, BlockDone, BlockPipeline, Processed};
use super::sync::{headers_after, locator, presync_headers, HeadersPresync, Presync};
use super::PeerId;
use crate::chain::ChainError;
use crate::mempool::MempoolError;
use crate::util::{unix_millis, unix_time};

/// The handshake must finish within this.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How often a peer is pinged.
pub const PING_INTERVAL: Duration = Duration::from_secs(30);
/// A ping unanswered this long ends the connection.
pub const PING_TIMEOUT: Duration = Duration::from_secs(60);
/// Messages queued for one peer; a peer that lets the queue fill is dropped.
const OUT_QUEUE: usize = 1024;
/// Queued bytes above which `getdata` waits for the socket to drain (Core's
/// `-maxsendbuffer`).
pub const SEND_SOFT_LIMIT: usize = 1_000_000;
/// Queued bytes past which a peer is too slow to keep (a few blocks, and a full
/// mempool's announcements).
pub const MAX_SEND_QUEUE_BYTES: usize = 32_000_000;
/// Transactions asked of one peer and not yet delivered (Core's
/// `MAX_PEER_TX_REQUEST_IN_FLIGHT`); further announcements are ignored until they come.
pub const MAX_PEER_TX_IN_FLIGHT: usize = 100;
/// A transaction request is given up after this.
pub const TX_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// A peer that has data queued and takes none of it for this long is dropped: it is
/// making the node hold its data while reading nothing.
pub const SEND_STALL_TIMEOUT: Duration = Duration::from_secs(20);
/// Frames read ahead of the handler.
const IN_QUEUE: usize = 4;
/// Transactions remembered per peer before the set is reset.
const MAX_KNOWN_TXS: usize = 50_000;
/// `headers` messages that do not connect before that counts as misbehaviour.
const MAX_UNCONNECTING_HEADERS: u32 = 10;
/// Transactions of one peer waiting for the `mempool_accept` hooks; more are dropped
/// (and can be asked of another peer).
pub const HOOK_QUEUE: usize = MAX_PEER_TX_IN_FLIGHT;
/// `mempool_accept` hook calls one peer's transactions may cause at once…
pub const HOOK_CALL_BURST: f64 = 100.0;
/// …and per second after that (Core relays at most 7 transactions a second to a peer).
pub const HOOK_CALL_RATE: f64 = 7.0;

/// How a connection came about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnType {
    /// The peer connected to us.
    Inbound,
    /// `--connect`, `--addnode` or the `addnode` RPC.
    Manual,
    /// A learnt address, to fill outbound slots.
    Outbound,
}

impl ConnType {
    /// Bitcoin Core's `connection_type` name.
    pub fn name(self) -> &'static str {
        match self {
            ConnType::Inbound => "inbound",
            ConnType::Manual => "manual",
            ConnType::Outbound => "outbound-full-relay",
        }
    }
}

/// A connected peer as the rest of the node sees it.
#[derive(Debug)]
pub struct Peer {
    /// Node-unique id.
    pub id: PeerId,
    /// Remote address.
    pub addr: SocketAddr,
    /// Our end of the connection (`getpeerinfo`'s `addrbind`), when the OS told it.
    pub local: Option<SocketAddr>,
    /// How the connection came about.
    pub conn_type: ConnType,
    /// The added-node target this connection serves, if any.
    pub target: Option<String>,
    /// Unix time of connection.
    pub conntime: u64,
    magic: [u8; 4],
    tx: mpsc::Sender<Vec<u8>>,
    /// Bytes queued for the writer.
    queued_bytes: AtomicUsize,
    /// Signalled by the writer when the queue drops below [`SEND_SOFT_LIMIT`].
    drained: Notify,
    /// Unix milliseconds of the last write to the socket, or of the moment the queue
    /// stopped being empty, whichever is later.
    last_progress_ms: AtomicU64,
    /// Unix time the peer last gave us a block that moved the tip (0: never); such
    /// peers are kept when inbound slots run out.
    last_block_time: AtomicU64,
    disconnect: Notify,
    disconnecting: AtomicBool,
    handshaken: AtomicBool,
    remote: Mutex<Option<VersionMessage>>,
    known_txs: Mutex<HashSet<Txid>>,
    best_known: Mutex<Option<(BlockHash, u32)>>,
    /// The last tip announced to this peer by `headers`.
    header_sent: Mutex<Option<BlockHash>>,
    bytes_sent: AtomicU64,
    bytes_recv: AtomicU64,
    ping_micros: AtomicU64,
    /// Smallest ping round trip seen (`u64::MAX`: none yet).
    min_ping_micros: AtomicU64,
    /// The `ping` RPC asked for a ping at the next tick.
    ping_requested: AtomicBool,
    /// Unix time of the last frame sent / received (0: none).
    last_send: AtomicU64,
    last_recv: AtomicU64,
    banscore: AtomicU32,
    synced_blocks: AtomicI64,
    /// BIP152 state: whether the peer speaks compact blocks (sent `sendcmpct` version 2),
    /// asked us for high-bandwidth announcements, and whether we asked it for them.
    cmpct: CmpctState,
    /// Bytes sent and received per command (`getpeerinfo`'s `bytessent_per_msg`,
    /// `bytesrecv_per_msg`).
    per_msg: Mutex<PerMsgBytes>,
}

/// A peer's compact-block negotiation.
#[derive(Debug, Default)]
pub(super) struct CmpctState {
    /// The peer sent `sendcmpct` with our version.
    pub(super) supported: AtomicBool,
    /// The peer wants new blocks as `cmpctblock` at once (it chose us high-bandwidth).
    pub(super) hb_from: AtomicBool,
    /// We asked the peer for high-bandwidth announcements.
    pub(super) hb_to: AtomicBool,
}

/// Bytes per command, sent and received.
#[derive(Debug, Default)]
struct PerMsgBytes {
    sent: std::collections::BTreeMap<String, u64>,
    recv: std::collections::BTreeMap<String, u64>,
}

/// What `getpeerinfo` shows of a peer.
#[derive(Debug, Clone)]
pub struct PeerStats {
    /// The peer's `version`, once received.
    pub remote: Option<VersionMessage>,
    /// Height of the best header the peer sent or announced (-1: none).
    pub synced_headers: i64,
    /// Height of the last block received from the peer (-1: none).
    pub synced_blocks: i64,
    /// Last ping round trip.
    pub ping: Option<Duration>,
    /// Smallest ping round trip seen.
    pub min_ping: Option<Duration>,
    /// Unix time of the last frame sent (0: none).
    pub last_send: u64,
    /// Unix time of the last frame received (0: none).
    pub last_recv: u64,
    /// Bytes sent.
    pub bytes_sent: u64,
    /// Bytes received.
    pub bytes_recv: u64,
    /// Misbehaviour score.
    pub banscore: u32,
    /// We asked the peer for high-bandwidth compact blocks (`bip152_hb_to`).
    pub bip152_hb_to: bool,
    /// The peer asked us for high-bandwidth compact blocks (`bip152_hb_from`).
    pub bip152_hb_from: bool,
    /// Bytes sent per command.
    pub bytes_sent_per_msg: std::collections::BTreeMap<String, u64>,
    /// Bytes received per command.
    pub bytes_recv_per_msg: std::collections::BTreeMap<String, u64>,
}

impl Peer {
    fn new(
        id: PeerId,
        (addr, local): (SocketAddr, Option<SocketAddr>),
        conn_type: ConnType,
        target: Option<String>,
        magic: [u8; 4],
        tx: mpsc::Sender<Vec<u8>>,
    ) -> Peer {
        Peer {
            id,
            addr,
            local,
            conn_type,
            target,
            conntime: unix_time(),
            magic,
            tx,
            queued_bytes: AtomicUsize::new(0),
            drained: Notify::new(),
            last_progress_ms: AtomicU64::new(unix_millis()),
            last_block_time: AtomicU64::new(0),
            disconnect: Notify::new(),
            disconnecting: AtomicBool::new(false),
            handshaken: AtomicBool::new(false),
            remote: Mutex::new(None),
            known_txs: Mutex::new(HashSet::new()),
            best_known: Mutex::new(None),
            header_sent: Mutex::new(None),
            bytes_sent: AtomicU64::new(0),
            bytes_recv: AtomicU64::new(0),
            ping_micros: AtomicU64::new(u64::MAX),
            min_ping_micros: AtomicU64::new(u64::MAX),
            ping_requested: AtomicBool::new(false),
            last_send: AtomicU64::new(0),
            last_recv: AtomicU64::new(0),
            banscore: AtomicU32::new(0),
            synced_blocks: AtomicI64::new(-1),
            cmpct: CmpctState::default(),
            per_msg: Mutex::new(PerMsgBytes::default()),
        }
    }

    /// Whether the peer connected to us.
    pub fn inbound(&self) -> bool {
        self.conn_type == ConnType::Inbound
    }

    /// Whether version and verack were exchanged.
    pub fn is_handshaken(&self) -> bool {
        self.handshaken.load(Ordering::Relaxed)
    }

    /// Queues a message; a peer whose queue is full (in messages or bytes) is too slow
    /// and is dropped.
    pub fn send(&self, msg: Message) -> bool {
        let frame = encode_frame(self.magic, msg.command(), &msg.payload());
        let len = frame.len();
        crate::metrics::p2p_message(crate::metrics::Direction::Sent, msg.command(), len);
        let queued = self.queued_bytes.fetch_add(len, Ordering::SeqCst) + len;
        if queued == len {
            // The stall clock starts now, not at the last write long ago.
            self.last_progress_ms
                .store(unix_millis(), Ordering::Relaxed);
        }
        let result = if queued > MAX_SEND_QUEUE_BYTES {
            Err("send queue over its byte limit")
        } else {
            match self.tx.try_send(frame) {
                Ok(()) => return true,
                Err(mpsc::error::TrySendError::Full(_)) => Err("send queue full"),
                Err(mpsc::error::TrySendError::Closed(_)) => Ok(()),
            }
        };
        self.queued_bytes.fetch_sub(len, Ordering::SeqCst);
        if let Err(why) = result {
            if !self.is_disconnecting() {
                warn!(target: "net", peer = self.id, addr = %self.addr, queued, "{why}; disconnecting slow peer");
            }
            self.disconnect();
        }
        false
    }

    /// Whether enough is queued that serving more data should wait for the socket.
    pub fn send_buffer_full(&self) -> bool {
        self.queued_bytes.load(Ordering::SeqCst) >= SEND_SOFT_LIMIT
    }

    /// Bytes queued for the socket.
    pub fn queued_bytes(&self) -> usize {
        self.queued_bytes.load(Ordering::SeqCst)
    }

    /// Whether data has been queued and none of it written for [`SEND_STALL_TIMEOUT`].
    fn send_stalled(&self) -> bool {
        self.queued_bytes.load(Ordering::SeqCst) > 0
            && unix_millis().saturating_sub(self.last_progress_ms.load(Ordering::Relaxed))
                > SEND_STALL_TIMEOUT.as_millis() as u64
    }

    /// Unix time the peer last gave us a block that moved the tip (0: never).
    pub fn last_block_time(&self) -> u64 {
        self.last_block_time.load(Ordering::Relaxed)
    }

    /// Asks the connection to close.
    pub fn disconnect(&self) {
        self.disconnecting.store(true, Ordering::SeqCst);
        self.disconnect.notify_one();
    }

    /// Whether the connection is closing.
    /// Where the peer accepts connections: the address we dialled for an outbound
    /// connection, its IP with the port its `version` gave for an inbound one (`None`
    /// before the version or when it does not listen).
    pub fn listen_addr(&self) -> Option<SocketAddr> {
        if !self.inbound() {
            return Some(self.addr);
        }
        let remote = self.remote.lock().unwrap_or_else(|p| p.into_inner());
        remote
            .as_ref()
            .filter(|v| v.listen_port != 0)
            .map(|v| SocketAddr::new(self.addr.ip(), v.listen_port))
    }

    /// Sends a ping at the next tick (within a second), unless one is outstanding.
    pub fn request_ping(&self) {
        self.ping_requested.store(true, Ordering::Relaxed);
    }

    /// The node nonce of the peer's `version`, once received.
    pub fn remote_nonce(&self) -> Option<u64> {
        self.remote
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map(|v| v.nonce)
    }

    pub fn is_disconnecting(&self) -> bool {
        self.disconnecting.load(Ordering::SeqCst)
    }

    /// Adds misbehaviour points; returns the new score.
    pub(super) fn add_banscore(&self, points: u32) -> u32 {
        self.banscore.fetch_add(points, Ordering::SeqCst) + points
    }

    /// Records that the peer has `txid`; false if it was already known.
    pub(super) fn mark_known_tx(&self, txid: Txid) -> bool {
        let mut known = self.known_txs.lock().unwrap_or_else(|p| p.into_inner());
        if known.len() >= MAX_KNOWN_TXS {
            known.clear();
        }
        known.insert(txid)
    }

    /// The best block the peer is known to have.
    pub fn best_known(&self) -> Option<BlockHash> {
        self.best_known
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .map(|(h, _)| h)
    }

    /// Records `tip` as announced to this peer by `headers`.
    pub(super) fn set_header_sent(&self, tip: BlockHash) {
        *self.header_sent.lock().unwrap_or_else(|p| p.into_inner()) = Some(tip);
    }

    fn set_best_known(&self, hash: BlockHash, height: u32) {
        let mut b = self.best_known.lock().unwrap_or_else(|p| p.into_inner());
        if !matches!(*b, Some((_, h)) if h > height) {
            *b = Some((hash, height));
        }
    }

    /// The peer's `version` message, once the handshake has stored it.
    pub fn remote_version(&self) -> Option<VersionMessage> {
        self.remote
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// A snapshot for `getpeerinfo`.
    pub fn stats(&self) -> PeerStats {
        let ping = self.ping_micros.load(Ordering::Relaxed);
        // One lock, taken and released before the struct is built (a second `lock` in
        // the same expression would wait on the first forever).
        let (bytes_sent_per_msg, bytes_recv_per_msg) = {
            let m = lock(&self.per_msg);
            (m.sent.clone(), m.recv.clone())
        };
        PeerStats {
            remote: self.remote_version(),
            synced_headers: self
                .best_known
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .map_or(-1, |(_, h)| i64::from(h)),
            synced_blocks: self.synced_blocks.load(Ordering::Relaxed),
            ping: (ping != u64::MAX).then(|| Duration::from_micros(ping)),
            min_ping: {
                let min = self.min_ping_micros.load(Ordering::Relaxed);
                (min != u64::MAX).then(|| Duration::from_micros(min))
            },
            last_send: self.last_send.load(Ordering::Relaxed),
            last_recv: self.last_recv.load(Ordering::Relaxed),
            bytes_sent: self.bytes_sent.load(Ordering::Relaxed),
            bytes_recv: self.bytes_recv.load(Ordering::Relaxed),
            banscore: self.banscore.load(Ordering::Relaxed),
            bip152_hb_to: self.cmpct.hb_to.load(Ordering::Relaxed),
            bip152_hb_from: self.cmpct.hb_from.load(Ordering::Relaxed),
            bytes_sent_per_msg,
            bytes_recv_per_msg,
        }
    }

    /// Whether the peer speaks compact blocks with us.
    pub(super) fn cmpct(&self) -> &CmpctState {
        &self.cmpct
    }

    /// Whether the peer wants new blocks as `cmpctblock` at once.
    pub(super) fn wants_cmpct_hb(&self) -> bool {
        self.cmpct.supported.load(Ordering::Relaxed) && self.cmpct.hb_from.load(Ordering::Relaxed)
    }

    /// The last tip announced to this peer (by `headers` or `cmpctblock`).
    pub(super) fn header_sent(&self) -> Option<BlockHash> {
        *self.header_sent.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn count_msg(&self, sent: bool, command: &str, bytes: usize) {
        let mut m = lock(&self.per_msg);
        let map = if sent { &mut m.sent } else { &mut m.recv };
        // Only known commands get their own entry (as in Core, unknown ones share one),
        // so a peer cannot grow the map with invented names.
        let key = if Message::is_known_command(command) {
            command
        } else {
            "*other*"
        };
        match map.get_mut(key) {
            Some(n) => *n += bytes as u64,
            None => {
                map.insert(key.to_owned(), bytes as u64);
            }
        }
    }
}

/// Runs a connection until it ends; returns whether the handshake completed.
pub(super) async fn run_connection(
    mgr: Arc<PeerManager>,
    stream: TcpStream,
    addr: SocketAddr,
    conn_type: ConnType,
    target: Option<String>,
) -> bool {
    let _ = stream.set_nodelay(true);
    let local = stream.local_addr().ok();
    let (rd, wr) = stream.into_split();
    let (tx, rx) = mpsc::channel(OUT_QUEUE);
    let id = mgr.next_peer_id();
    let magic = mgr.params().magic;
    let peer = Arc::new(Peer::new(id, (addr, local), conn_type, target, magic, tx));
    if !mgr.register(&peer) {
        return false;
    }
    let mut writer = tokio::spawn(write_loop(wr, rx, Arc::downgrade(&peer)));
    let (ftx, frx) = mpsc::channel(IN_QUEUE);
    let reader = tokio::spawn(read_loop(rd, ftx, magic));
    let span = info_span!(target: "net", "peer", id, %addr);
    let task = PeerTask {
        mgr: Arc::clone(&mgr),
        peer: Arc::clone(&peer),
        ping: None,
        next_ping: Instant::now(),
        unconnecting: 0,
        answered_getaddr: false,
        asked_headers_from: None,
        presync: None,
        getdata: VecDeque::new(),
        getdata_queued: HashSet::new(),
        tx_in_flight: HashMap::new(),
        blocks: None,
        hooked: None,
        hook_budget: TokenBucket::new(HOOK_CALL_BURST, HOOK_CALL_RATE),
        partial: None,
    };
    let handshaken = task.run(frx).instrument(span).await;
    reader.abort();
    mgr.unregister(id);
    // Let queued messages (a last reply) go out, but not forever: the socket closes when
    // the writer ends.
    drop(peer);
    if tokio::time::timeout(Duration::from_secs(1), &mut writer)
        .await
        .is_err()
    {
        writer.abort();
    }
    debug!(target: "net", peer = id, %addr, "connection closed");
    handshaken
}

async fn read_loop(
    mut rd: OwnedReadHalf,
    out: mpsc::Sender<Result<RawFrame, CodecError>>,
    magic: [u8; 4],
) {
    // Until the peer's `verack` only handshake-sized frames: a stranger gets no
    // megabyte buffers. Decided here, by the reader, so no frame read ahead of the
    // handler slips through under the wrong limit.
    let mut limit = MAX_HANDSHAKE_PAYLOAD;
    loop {
        let frame = read_frame(&mut rd, magic, limit).await;
        if matches!(&frame, Ok(f) if f.command == "verack") {
            limit = MAX_PAYLOAD;
        }
        let failed = frame.is_err();
        if out.send(frame).await.is_err() || failed {
            return;
        }
    }
}

async fn write_loop(
    mut wr: OwnedWriteHalf,
    mut rx: mpsc::Receiver<Vec<u8>>,
    peer: std::sync::Weak<Peer>,
) {
    // Only a weak handle (for statistics): the channel closes when the last `Peer` goes.
    while let Some(frame) = rx.recv().await {
        if wr.write_all(&frame).await.is_err() {
            return;
        }
        if let Some(p) = peer.upgrade() {
            p.bytes_sent
                .fetch_add(frame.len() as u64, Ordering::Relaxed);
            if let Some(cmd) = frame.get(4..16) {
                let cmd = String::from_utf8_lossy(cmd);
                p.count_msg(true, cmd.trim_end_matches('\0'), frame.len());
            }
            p.last_send.store(unix_time(), Ordering::Relaxed);
            p.last_progress_ms.store(unix_millis(), Ordering::Relaxed);
            let left = p.queued_bytes.fetch_sub(frame.len(), Ordering::SeqCst) - frame.len();
            if left < SEND_SOFT_LIMIT {
                p.drained.notify_one();
            }
        }
    }
    let _ = wr.shutdown().await;
}

/// The handler of one connection.
struct PeerTask {
    mgr: Arc<PeerManager>,
    peer: Arc<Peer>,
    /// Outstanding ping: nonce and when it was sent.
    ping: Option<(u64, Instant)>,
    next_ping: Instant,
    unconnecting: u32,
    answered_getaddr: bool,
    /// Our best header when we last sent `getheaders`, until the answer comes.
    asked_headers_from: Option<(BlockHash, u32)>,
    /// This peer's header chain still below the anti-DoS work threshold.
    presync: Option<HeadersPresync>,
    /// `getdata` items not served yet, in order, and the same as a set (duplicates of a
    /// pending item are dropped).
    getdata: VecDeque<Inventory>,
    getdata_queued: HashSet<Inventory>,
    /// Transactions asked of this peer, and when.
    tx_in_flight: HashMap<Txid, Instant>,
    /// Requested blocks on their way to the writer; made at the first one.
    blocks: Option<BlockPipeline>,
    /// The `mempool_accept` worker; made at the first transaction that needs it.
    hooked: Option<HookWorker>,
    hook_budget: TokenBucket,
    /// The compact block this peer sent whose missing transactions we asked for.
    partial: Option<PartialBlock>,
}

/// How the handler leaves the message loop.
enum Flow {
    Continue,
    Stop,
}

impl PeerTask {
    async fn run(mut self, mut frames: mpsc::Receiver<Result<RawFrame, CodecError>>) -> bool {
        let outbound = !self.peer.inbound();
        if outbound {
            self.peer.send(Message::Version(self.mgr.our_version()));
        }
        if !self.handshake(&mut frames, outbound).await {
            return false;
        }
        // A peer that goes while the hook decides frees its slot at once.
        let admitted = tokio::select! {
            a = self.admitted_by_plugins() => a,
            _ = self.peer.disconnect.notified() => false,
        };
        if !admitted {
            return false;
        }
        self.on_connected();
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            if self.peer.is_disconnecting() {
                break;
            }
            tokio::select! {
                // While `getdata` is pending nothing more is read: the reader's queue fills
                // and TCP pushes back on the peer (Core's fPauseRecv).
                f = frames.recv(), if self.getdata.is_empty() => {
                    let Some(f) = f else { break };
                    if let Flow::Stop = self.on_frame(f).await {
                        break;
                    }
                }
                _ = self.peer.drained.notified(), if !self.getdata.is_empty() => {
                    self.serve_getdata();
                }
                Some(done) = next_block_done(&mut self.blocks) => {
                    self.on_block_done(done);
                }
                _ = tick.tick() => {
                    if let Flow::Stop = self.on_tick() {
                        break;
                    }
                }
                _ = self.peer.disconnect.notified() => break,
            }
        }
        true
    }

    /// Exchanges version and verack; false if the peer is refused or too slow.
    async fn handshake(
        &mut self,
        frames: &mut mpsc::Receiver<Result<RawFrame, CodecError>>,
        outbound: bool,
    ) -> bool {
        let deadline = tokio::time::Instant::now() + HANDSHAKE_TIMEOUT;
        let (mut got_version, mut got_verack) = (false, false);
        while !(got_version && got_verack) {
            let frame = tokio::select! {
                f = tokio::time::timeout_at(deadline, frames.recv()) => f,
                _ = self.peer.disconnect.notified() => return false,
            };
            let frame = match frame {
                Err(_) => {
                    info!(target: "net", addr = %self.peer.addr, "disconnecting peer: handshake timeout");
                    return false;
                }
                Ok(None) => return false,
                Ok(Some(Err(e))) => {
                    self.codec_error(e);
                    return false;
                }
                Ok(Some(Ok(frame))) => frame,
            };
            self.count_recv(&frame);
            let msg = match Message::decode(&frame.command, &frame.payload) {
                Ok(Some(m)) => m,
                Ok(None) => continue,
                Err(e) => {
                    self.mgr.misbehaving(
                        &self.peer,
                        Misbehaviour::Malformed {
                            command: frame.command.clone(),
                            error: e.to_string(),
                        },
                    );
                    return false;
                }
            };
            match msg {
                Message::Version(v) if !got_version => {
                    if let Err(why) = self.mgr.check_version(&self.peer, &v) {
                        info!(target: "net", addr = %self.peer.addr, "refusing peer: {why}");
                        return false;
                    }
                    if !outbound {
                        self.peer.send(Message::Version(self.mgr.our_version()));
                    }
                    self.peer.send(Message::Verack);
                    *self.peer.remote.lock().unwrap_or_else(|p| p.into_inner()) = Some(v);
                    got_version = true;
                }
                Message::Verack if got_version => got_verack = true,
                other => {
                    self.mgr
                        .misbehaving(&self.peer, Misbehaviour::BeforeHandshake(other.command()));
                    if self.peer.is_disconnecting() {
                        return false;
                    }
                }
            }
        }
        true
    }

    /// Asks the `peer_connected` hooks whether to keep a peer that finished the handshake.
    async fn admitted_by_plugins(&self) -> bool {
        let Some(host) = self
            .mgr
            .plugins()
            .filter(|h| h.has_hook("peer_connected"))
            .cloned()
        else {
            return true;
        };
        let remote = self
            .peer
            .remote_version()
            .expect("the handshake stored the version");
        let info = serde_json::json!({
            "id": self.peer.id,
            "addr": self.peer.addr.to_string(),
            "inbound": self.peer.inbound(),
            "user_agent": remote.user_agent,
            "version": remote.version,
            "height": remote.best_height,
        });
        match host.peer_connected(info).await {
            Ok(()) => true,
            Err(r) => {
                info!(target: "net", peer = self.peer.id, addr = %self.peer.addr,
                    "disconnecting peer: refused by plugin {}: {}", r.plugin, r.reason);
                false
            }
        }
    }

    /// After the handshake: start header sync, ask for addresses, share the mempool.
    fn on_connected(&mut self) {
        self.peer.handshaken.store(true, Ordering::SeqCst);
        let remote = self
            .peer
            .remote_version()
            .expect("the handshake stored the version");
        self.mgr.on_handshake(&self.peer, &remote);
        info!(target: "net", peer = self.peer.id, addr = %self.peer.addr, kind = self.peer.conn_type.name(),
            agent = %remote.user_agent, height = remote.best_height, "peer connected");
        self.send_getheaders();
        if self.mgr.compact_mode().enabled {
            // Low-bandwidth until the peer proves itself by delivering a new tip.
            self.peer.send(Message::SendCmpct(SendCmpct {
                announce: false,
                version: CMPCT_VERSION,
            }));
        }
        if !self.peer.inbound() {
            self.peer.send(Message::GetAddr);
        }
        self.mgr.announce_mempool(std::slice::from_ref(&self.peer));
    }

    fn count_recv(&self, frame: &RawFrame) {
        crate::metrics::p2p_message(
            crate::metrics::Direction::Received,
            &frame.command,
            frame.wire_len(),
        );
        self.peer
            .bytes_recv
            .fetch_add(frame.wire_len() as u64, Ordering::Relaxed);
        self.peer.count_msg(false, &frame.command, frame.wire_len());
        self.peer.last_recv.store(unix_time(), Ordering::Relaxed);
    }

    fn codec_error(&self, e: CodecError) {
        match e {
            CodecError::Io(_) => {}
            CodecError::WrongMagic { .. } => {
                info!(target: "net", addr = %self.peer.addr, "refusing peer: {e}");
            }
            e => self
                .mgr
                .misbehaving(&self.peer, Misbehaviour::BadFrame(e.to_string())),
        }
    }

    async fn on_frame(&mut self, frame: Result<RawFrame, CodecError>) -> Flow {
        let frame = match frame {
            Ok(f) => f,
            Err(e) => {
                self.codec_error(e);
                return Flow::Stop;
            }
        };
        self.count_recv(&frame);
        match Message::decode(&frame.command, &frame.payload) {
            Ok(Some(msg)) => self.handle(msg).await,
            Ok(None) => {
                debug!(target: "net", command = %frame.command, "ignoring unknown command");
            }
            Err(e) => self.mgr.misbehaving(
                &self.peer,
                Misbehaviour::Malformed {
                    command: frame.command.clone(),
                    error: e.to_string(),
                },
            ),
        }
        if self.peer.is_disconnecting() {
            Flow::Stop
        } else {
            Flow::Continue
        }
    }

    fn on_tick(&mut self) -> Flow {
        let now = Instant::now();
        if let Some((_, sent)) = self.ping {
            if now.duration_since(sent) > PING_TIMEOUT {
                info!(target: "net", peer = self.peer.id, addr = %self.peer.addr, "disconnecting peer: ping timeout");
                return Flow::Stop;
            }
        } else if now >= self.next_ping || self.peer.ping_requested.swap(false, Ordering::Relaxed) {
            let nonce = rand::random();
            self.ping = Some((nonce, now));
            self.next_ping = now + PING_INTERVAL;
            self.peer.send(Message::Ping(nonce));
        }
        if self.peer.send_stalled() {
            info!(target: "net", peer = self.peer.id, addr = %self.peer.addr, queued = self.peer.queued_bytes(),
                "disconnecting peer: it has read nothing of what is queued for it");
            return Flow::Stop;
        }
        let before = self.tx_in_flight.len();
        self.tx_in_flight
            .retain(|_, asked| now.duration_since(*asked) < TX_REQUEST_TIMEOUT);
        let unanswered = before - self.tx_in_flight.len();
        if unanswered > 0 {
            self.mgr
                .misbehaving(&self.peer, Misbehaviour::UnansweredTxRequests(unanswered));
            if self.peer.is_disconnecting() {
                return Flow::Stop;
            }
        }
        let stalled = self.mgr.sync().release_stalled(self.peer.id, now);
        if stalled > 0 {
            info!(target: "net", peer = self.peer.id, blocks = stalled,
                "block download stalled; asking other peers");
        }
        self.request_blocks();
        Flow::Continue
    }

    async fn handle(&mut self, msg: Message) {
        // Everything but a block and a ping waits for the blocks before it, so the peer's
        // messages take effect in the order it sent them (a transaction after the block
        // that confirms its parent, headers after the blocks they extend).
        if !matches!(msg, Message::Block(_) | Message::Ping(_) | Message::Pong(_)) {
            self.drain_blocks().await;
        }
        match msg {
            Message::Version(_) | Message::Verack => {
                self.mgr
                    .misbehaving(&self.peer, Misbehaviour::RepeatedHandshake);
            }
            Message::Ping(n) => {
                self.peer.send(Message::Pong(n));
            }
            Message::Pong(n) => {
                if let Some((nonce, sent)) = self.ping {
                    if nonce == n {
                        let micros = sent.elapsed().as_micros() as u64;
                        self.peer.ping_micros.store(micros, Ordering::Relaxed);
                        self.peer
                            .min_ping_micros
                            .fetch_min(micros, Ordering::Relaxed);
                        self.ping = None;
                    }
                }
            }
            Message::GetAddr => {
                // Answered once per connection, so a peer cannot scrape repeatedly.
                if self.peer.inbound() && !self.answered_getaddr {
                    self.answered_getaddr = true;
                    self.peer.send(Message::Addr(self.mgr.addrs_to_share()));
                }
            }
            Message::Addr(addrs) => self.mgr.learn_addrs(&addrs, self.peer.addr.ip()),
            Message::Inv(items) => self.on_inv(items),
            Message::GetData(items) => self.on_getdata(items),
            Message::NotFound(items) => {
                for item in items {
                    match item {
                        Inventory::Block(h) | Inventory::CompactBlock(h) => {
                            self.mgr.sync().not_found(self.peer.id, &h)
                        }
                        Inventory::Tx(t) => {
                            if self.tx_in_flight.remove(&t).is_some() {
                                self.mgr.tx_arrived(&t);
                            }
                        }
                    }
                }
            }
            Message::GetHeaders(g) => self.on_getheaders(g),
            Message::Headers(h) => self.on_headers(h).await,
            Message::Block(b) => self.on_block(*b).await,
            Message::Tx(t) => self.on_tx(*t).await,
            Message::SendCmpct(c) => {
                // Other versions are ignored, as BIP152 says.
                if c.version == CMPCT_VERSION {
                    let state = self.peer.cmpct();
                    state.supported.store(true, Ordering::Relaxed);
                    state.hb_from.store(c.announce, Ordering::Relaxed);
                }
            }
            Message::CmpctBlock(c) => self.on_cmpctblock(*c).await,
            Message::GetBlockTxn(req) => self.on_getblocktxn(req),
            Message::BlockTxn(b) => self.on_blocktxn(b).await,
        }
    }

    /// `getheaders` from our best header, to this peer; none while a pre-sync waits for
    /// the continuation it asked for (a second request would restart it).
    fn send_getheaders(&mut self) {
        if self.presync.is_some() {
            return;
        }
        let (loc, best) = {
            let snap = self.mgr.chain().snapshot();
            let best = snap.best_header();
            (locator(snap.index(), &best.hash), (best.hash, best.height))
        };
        self.asked_headers_from = Some(best);
        self.peer.send(Message::GetHeaders(GetHeaders {
            locator: loc,
            stop: BlockHash::from_byte_array([0; 32]),
        }));
    }

    /// An announcement: unknown blocks lead to `getheaders`, unknown transactions are
    /// asked for, at most [`MAX_PEER_TX_IN_FLIGHT`] outstanding. Each item costs O(1), on
    /// a snapshot, never the writer.
    fn on_inv(&mut self, items: Vec<Inventory>) {
        let mut want = Vec::new();
        let mut unknown_block = false;
        let now = Instant::now();
        let hooks = self
            .mgr
            .plugins()
            .filter(|h| h.has_hook("mempool_accept"))
            .cloned();
        {
            let state = self.mgr.chain().snapshot();
            for item in &items {
                match item {
                    Inventory::Tx(t) => {
                        self.peer.mark_known_tx(*t);
                        if self.tx_in_flight.len() < MAX_PEER_TX_IN_FLIGHT
                            && !self.tx_in_flight.contains_key(t)
                            && !state.mempool().contains(t)
                            && !hooks.as_ref().is_some_and(|h| h.recently_refused_txid(t))
                            && self.mgr.want_tx(t, now)
                        {
                            self.tx_in_flight.insert(*t, now);
                            want.push(*item);
                        }
                    }
                    Inventory::Block(h) => {
                        if state.index().get(h).is_none() {
                            unknown_block = true;
                        }
                    }
                    // Only asked for with `getdata`, never announced.
                    Inventory::CompactBlock(_) => {}
                }
            }
        }
        if unknown_block {
            self.send_getheaders();
        }
        if !want.is_empty() {
            self.peer.send(Message::GetData(want));
        }
    }

    /// Queues a `getdata`'s items (dropping duplicates of pending ones) and serves what
    /// the send queue has room for; the rest follows as the socket drains.
    fn on_getdata(&mut self, items: Vec<Inventory>) {
        for item in items {
            if self.getdata_queued.insert(item) {
                self.getdata.push_back(item);
            }
        }
        self.serve_getdata();
    }

    /// Serves pending `getdata` items while the send queue is below [`SEND_SOFT_LIMIT`].
    /// Blocks are served from the active chain, or side-chain blocks that were once fully
    /// validated (Core's `BlockRequestAllowed`); never data only stored.
    fn serve_getdata(&mut self) {
        let state = self.mgr.chain().snapshot();
        let mut missing = Vec::new();
        while !self.peer.send_buffer_full() {
            let Some(item) = self.getdata.pop_front() else {
                break;
            };
            self.getdata_queued.remove(&item);
            let found = match item {
                Inventory::Block(h) => state
                    .index()
                    .get(&h)
                    .filter(|e| state.index().is_active(e) || (e.is_valid() && !e.is_failed()))
                    .and_then(|_| state.block(&h).ok().flatten())
                    .map(|b| Message::Block(Box::new(b))),
                Inventory::CompactBlock(h) => serve_compact(&state, &h),
                Inventory::Tx(t) => state
                    .mempool()
                    .get(&t)
                    .map(|e| Message::Tx(Box::new(e.tx.clone()))),
            };
            match found {
                Some(m) => {
                    if !self.peer.send(m) {
                        return;
                    }
                }
                None => missing.push(item),
            }
        }
        if !missing.is_empty() {
            self.peer.send(Message::NotFound(missing));
        }
    }

    fn on_getheaders(&mut self, g: GetHeaders) {
        let headers = {
            let snap = self.mgr.chain().snapshot();
            headers_after(snap.index(), &g.locator, &g.stop, MAX_HEADERS)
        };
        // They continue the peer's own chain, so later announcements can build on them.
        if let Some(last) = headers.last() {
            self.peer.set_header_sent(last.block_hash());
        }
        self.peer.send(Message::Headers(headers));
    }

    async fn on_headers(&mut self, headers: Vec<BlockHeader>) {
        let asked = self.asked_headers_from.take();
        if headers.is_empty() && self.presync.take().is_some() {
            // The continuation of a chain below the threshold is empty: it ends there.
            debug!(target: "net", peer = self.peer.id, "header chain ended below the work threshold; not stored");
            return;
        }
        if headers.is_empty() {
            // Nothing after our locator: the peer's chain ends on our best header chain
            // (at its top, unless the peer is behind, in which case it answers `notfound`
            // and the blocks go to another peer). Either way it can serve that chain, so
            // a peer that connects mid-download joins in instead of idling.
            if let Some((hash, height)) = asked {
                self.peer.set_best_known(hash, height);
                self.request_blocks();
            }
            return;
        }
        if headers
            .windows(2)
            .any(|w| w[1].prev_blockhash != w[0].block_hash())
        {
            self.mgr
                .misbehaving(&self.peer, Misbehaviour::NonContinuousHeaders);
            return;
        }
        self.mgr.first_seen().headers(
            headers.iter().map(BlockHeader::block_hash),
            &super::firstseen::from_peer(&self.peer),
        );
        let full = headers.len() == MAX_HEADERS;
        let (step, abandoned) = {
            let snap = self.mgr.chain().snapshot();
            presync_headers(
                &mut self.presync,
                snap.index(),
                snap.params(),
                self.mgr.presync_budget(),
                headers,
                full,
            )
        };
        if let Some((last, count)) = abandoned {
            // Honest peers answer the continuation asked for; switching to another chain
            // mid-way only restarts the buffer, at a cost.
            self.mgr
                .misbehaving(&self.peer, Misbehaviour::LowWorkHeaders { last, count });
        }
        let headers = match step {
            Presync::Store(headers) => headers,
            Presync::Continue(last) => {
                debug!(target: "net", peer = self.peer.id, %last,
                    buffered = self.presync.as_ref().map_or(0, HeadersPresync::len),
                    "headers below the work threshold; asking for more before storing");
                self.peer.send(Message::GetHeaders(GetHeaders {
                    locator: vec![last],
                    stop: BlockHash::all_zeros(),
                }));
                return;
            }
            Presync::TooLittleWork {
                last,
                count,
                over_budget,
            } => {
                debug!(target: "net", peer = self.peer.id, %last, count, over_budget,
                    "header chain with too little work; not stored");
                // A chain that ends low is an honest peer on a lost fork too (Core does
                // not punish it); one that outgrows the buffer without the work is not.
                if over_budget {
                    self.mgr
                        .misbehaving(&self.peer, Misbehaviour::LowWorkHeaders { last, count });
                }
                return;
            }
            Presync::Ignore => return,
            Presync::Invalid(e) => {
                self.mgr
                    .misbehaving(&self.peer, Misbehaviour::InvalidHeader(e.to_string()));
                return;
            }
        };
        let got = headers.len();
        let chain = Arc::clone(self.mgr.chain());
        let result = tokio::task::spawn_blocking(move || chain.process_headers(&headers)).await;
        let Ok((last, err)) = result else { return };
        let last = last.map(|e| (e.hash, e.height));
        if let Some((hash, height)) = last {
            self.peer.set_best_known(hash, height);
            // Only a run of headers that never connect is suspicious; racing miners make
            // the odd unconnecting announcement normal.
            self.unconnecting = 0;
        }
        match err {
            Some(ChainError::LowWorkHeaders { last }) => {
                // The tip moved between the pre-sync check and the write: not the peer's
                // doing.
                debug!(target: "net", peer = self.peer.id, %last, count = got,
                    "headers fell below the work threshold as the tip moved; not stored");
                return;
            }
            Some(ChainError::Orphan { .. }) if last.is_none() => {
                self.unconnecting += 1;
                if self.unconnecting.is_multiple_of(MAX_UNCONNECTING_HEADERS) {
                    self.mgr
                        .misbehaving(&self.peer, Misbehaviour::UnconnectingHeaders);
                }
                self.send_getheaders();
                return;
            }
            Some(e) if e.is_misbehaviour() => {
                self.mgr
                    .misbehaving(&self.peer, Misbehaviour::InvalidHeader(e.to_string()));
                return;
            }
            Some(e) => {
                debug!(target: "net", peer = self.peer.id, error = %e, "header not accepted");
                return;
            }
            None => {}
        }
        if full {
            if let Some((hash, _)) = last {
                // More may follow: continue from the last one.
                self.peer.send(Message::GetHeaders(GetHeaders {
                    locator: vec![hash],
                    stop: BlockHash::from_byte_array([0; 32]),
                }));
            }
        }
        self.request_blocks();
    }

    /// Fills this peer's download window from the best chain it has announced.
    fn request_blocks(&self) {
        let Some(best) = self.peer.best_known() else {
            return;
        };
        let wanted = {
            let snap = self.mgr.chain().snapshot();
            self.mgr
                .sync()
                .next_requests(snap.index(), self.peer.id, &best, Instant::now())
        };
        if !wanted.is_empty() {
            debug!(target: "net", peer = self.peer.id, blocks = wanted.len(), "requesting blocks");
            let compact = self.wants_compact(&wanted);
            self.peer.send(Message::GetData(
                wanted
                    .into_iter()
                    .map(if compact {
                        Inventory::CompactBlock
                    } else {
                        Inventory::Block
                    })
                    .collect(),
            ));
        }
    }

    async fn on_block(&mut self, block: Block) {
        let hash = block.block_hash();
        self.mgr
            .first_seen()
            .block(hash, &super::firstseen::from_peer(&self.peer));
        let requested = self.mgr.sync().is_in_flight_from(&hash, self.peer.id);
        if requested {
            let chain = self.mgr.chain();
            let pipeline = self
                .blocks
                .get_or_insert_with(|| BlockPipeline::new(Arc::clone(chain)));
            if pipeline.is_full() {
                if let Some(done) = pipeline.next_done().await {
                    self.on_block_done(done);
                }
                if self.peer.is_disconnecting() {
                    return;
                }
            }
            if let Some(pipeline) = self.blocks.as_mut() {
                pipeline.submit(block, hash);
            }
            return;
        }
        // Unsolicited (a new tip announced by its block): on its own, after the blocks
        // before it.
        self.drain_blocks().await;
        let chain = Arc::clone(self.mgr.chain());
        let processed = tokio::task::spawn_blocking(move || {
            pipeline::process(&chain, Arc::new(block), &hash, false)
        })
        .await
        .ok();
        self.on_block_done(BlockDone { hash, processed });
    }

    /// Waits for every block in the pipeline and handles each result.
    async fn drain_blocks(&mut self) {
        while let Some(done) = next_block_done(&mut self.blocks).await {
            self.on_block_done(done);
        }
    }

    /// The writer's verdict on a block from this peer: bookkeeping, misbehaviour, and the
    /// next requests.
    fn on_block_done(&mut self, done: BlockDone) {
        self.on_block_result(done, false);
    }

    /// [`PeerTask::on_block_done`]; `via_compact` for a block rebuilt from a
    /// `cmpctblock`, which, as in Core, costs the peer nothing when it breaks a
    /// consensus rule: high-bandwidth peers relay blocks before validating them.
    fn on_block_result(&mut self, done: BlockDone, via_compact: bool) {
        let BlockDone { hash, processed } = done;
        self.mgr.sync().received(&hash);
        let Some(Processed {
            result,
            height,
            progress: (tip, headers),
        }) = processed
        else {
            return;
        };
        match result {
            Ok(outcome) => {
                if let Some(h) = height {
                    self.peer
                        .synced_blocks
                        .fetch_max(i64::from(h), Ordering::Relaxed);
                    self.peer.set_best_known(hash, h);
                }
                if outcome.tip_changed() {
                    self.peer
                        .last_block_time
                        .store(unix_time(), Ordering::Relaxed);
                    self.mgr.select_hb_peer(&self.peer);
                    self.mgr.sync().log_progress(tip, headers);
                }
            }
            Err(ChainError::Orphan { .. }) => {
                debug!(target: "net", peer = self.peer.id, %hash, "block with unknown parent; asking for headers");
                self.send_getheaders();
            }
            Err(ChainError::UnrequestedLowWork(_)) => {
                debug!(target: "net", peer = self.peer.id, %hash, "unrequested block with no more work than the tip; not stored");
            }
            Err(e) if e.is_misbehaviour() && via_compact => {
                info!(target: "net", peer = self.peer.id, %hash, error = %e,
                    "compact block rebuilt from the mempool is invalid (not the relayer's fault under BIP152)");
            }
            Err(e) if e.is_misbehaviour() => {
                self.mgr.misbehaving(
                    &self.peer,
                    Misbehaviour::InvalidBlock {
                        hash,
                        error: e.to_string(),
                    },
                );
                return;
            }
            Err(e) => {
                info!(target: "net", peer = self.peer.id, %hash, error = %e, "block not accepted");
            }
        }
        self.request_blocks();
    }

    async fn on_tx(&mut self, tx: Transaction) {
        let txid = tx.txid();
        self.mgr
            .first_seen()
            .tx(txid, &super::firstseen::from_peer(&self.peer));
        self.peer.mark_known_tx(txid);
        let requested = self.tx_in_flight.remove(&txid).is_some();
        if let Some(host) = self
            .mgr
            .plugins()
            .filter(|h| h.has_hook("mempool_accept"))
            .cloned()
        {
            self.through_hooks(host, tx, requested);
            return;
        }
        let chain = Arc::clone(self.mgr.chain());
        let result = tokio::task::spawn_blocking(move || chain.accept_transaction(&tx)).await;
        self.mgr.tx_arrived(&txid);
        if let Ok(result) = result {
            tx_verdict(&self.mgr, &self.peer, txid, result);
        }
    }

    /// A transaction for the `mempool_accept` hooks: answered from the reject filter,
    /// dropped over the peer's hook budget, or queued for its worker.
    fn through_hooks(
        &mut self,
        host: Arc<crate::plugins::PluginHost>,
        tx: Transaction,
        requested: bool,
    ) {
        let txid = tx.txid();
        let dropped = |why: &str| {
            debug!(target: "net", peer = self.peer.id, %txid, "transaction dropped: {why}");
            self.mgr.tx_arrived(&txid);
        };
        if host.recently_refused(&tx) {
            dropped("a plugin refused it since the tip changed");
            if !requested {
                self.mgr
                    .misbehaving(&self.peer, Misbehaviour::RefusedTransactionResent(txid));
            }
            return;
        }
        if self.mgr.chain().snapshot().mempool().contains(&txid) {
            dropped("already in the mempool");
            return;
        }
        let worker = self.hooked.get_or_insert_with(|| {
            HookWorker::start(Arc::clone(&self.mgr), Arc::clone(&self.peer), host)
        });
        let wtxid = tx.wtxid();
        if !lock(&worker.pending).insert(wtxid) {
            dropped("the same transaction from this peer is waiting for the hooks");
            return;
        }
        if !self.hook_budget.take() {
            lock(&worker.pending).remove(&wtxid);
            dropped("over this peer's budget of hook calls");
            return;
        }
        if worker.queue.try_send(tx).is_err() {
            lock(&worker.pending).remove(&wtxid);
            dropped("too many of this peer's transactions wait for the hooks");
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// What a peer's transaction earns it once the node decided on it.
fn tx_verdict(mgr: &PeerManager, peer: &Peer, txid: Txid, result: Result<Txid, MempoolError>) {
    match result {
        Ok(_) => debug!(target: "net", peer = peer.id, %txid, "accepted transaction"),
        Err(MempoolError::Invalid(e)) if e.is_malicious() => {
            mgr.misbehaving(
                peer,
                Misbehaviour::InvalidTransaction {
                    txid,
                    error: e.to_string(),
                },
            );
        }
        Err(MempoolError::Coinbase) => {
            mgr.misbehaving(peer, Misbehaviour::CoinbaseAsTransaction(txid));
        }
        Err(e) => {
            debug!(target: "net", peer = peer.id, %txid, error = %e, "transaction not accepted")
        }
    }
}

/// One peer's transactions on their way through the `mempool_accept` hooks, in the order
/// the peer sent them. Dropping it (the connection ended) aborts the task and with it
/// any wait on a hook.
struct HookWorker {
    queue: mpsc::Sender<Transaction>,
    /// Queued or being decided, so a resend of one of them costs nothing.
    pending: Arc<Mutex<HashSet<dotcoin_common::Wtxid>>>,
    task: tokio::task::JoinHandle<()>,
}

impl HookWorker {
    fn start(
        mgr: Arc<PeerManager>,
        peer: Arc<Peer>,
        host: Arc<crate::plugins::PluginHost>,
    ) -> HookWorker {
        let (queue, mut rx) = mpsc::channel::<Transaction>(HOOK_QUEUE);
        let pending = Arc::new(Mutex::new(HashSet::new()));
        let pending2 = Arc::clone(&pending);
        let span = tracing::Span::current();
        let task = tokio::spawn(
            async move {
                while let Some(tx) = rx.recv().await {
                    let (txid, wtxid) = (tx.txid(), tx.wtxid());
                    let result = host
                        .accept_transaction(tx, dotcoin_common::FeeRate::ZERO)
                        .await;
                    lock(&pending2).remove(&wtxid);
                    mgr.tx_arrived(&txid);
                    tx_verdict(&mgr, &peer, txid, result);
                }
            }
            .instrument(span),
        );
        HookWorker {
            queue,
            pending,
            task,
        }
    }
}

impl Drop for HookWorker {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A token bucket: `burst` at once, `rate` a second after that.
#[derive(Debug)]
struct TokenBucket {
    tokens: f64,
    burst: f64,
    rate: f64,
    last: Instant,
}

impl TokenBucket {
    fn new(burst: f64, rate: f64) -> TokenBucket {
        TokenBucket {
            tokens: burst,
            burst,
            rate,
            last: Instant::now(),
        }
    }

    fn take(&mut self) -> bool {
        let now = Instant::now();
        self.tokens =
            (self.tokens + now.duration_since(self.last).as_secs_f64() * self.rate).min(self.burst);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// The next block result of `pipeline`; `None` at once when nothing is outstanding.
async fn next_block_done(pipeline: &mut Option<BlockPipeline>) -> Option<BlockDone> {
    match pipeline {
        Some(p) if p.outstanding() > 0 => p.next_done().await,
        _ => None,
    }
}

/// Compact blocks (BIP152): see [`super::compact`].
impl PeerTask {
    /// Whether to ask for `wanted` as a compact block: one block on top of our tip from a
    /// peer that speaks BIP152 (during a download of many, full blocks are cheaper).
    fn wants_compact(&self, wanted: &[BlockHash]) -> bool {
        if !self.mgr.compact_mode().enabled
            || !self.peer.cmpct().supported.load(Ordering::Relaxed)
            || wanted.len() != 1
        {
            return false;
        }
        let snap = self.mgr.chain().snapshot();
        snap.index()
            .get(&wanted[0])
            .is_some_and(|e| e.header.prev_blockhash == snap.tip().hash)
    }

    /// Asks this peer for the full block after a compact one could not be used.
    fn fall_back_to_block(&mut self, hash: BlockHash, why: &dyn std::fmt::Display) {
        debug!(target: "net", peer = self.peer.id, %hash, "compact block not usable ({why}); asking for the full block");
        self.mgr.sync().claim(&hash, self.peer.id, Instant::now());
        self.peer
            .send(Message::GetData(vec![Inventory::Block(hash)]));
    }

    /// A `cmpctblock`: its header first (an invalid one costs the peer as any invalid
    /// header), then, for a block on top of our tip, the block rebuilt from the mempool,
    /// or one `getblocktxn` for what is missing.
    async fn on_cmpctblock(&mut self, cmpct: HeaderAndShortIds) {
        if !self.mgr.compact_mode().enabled {
            debug!(target: "net", peer = self.peer.id, "compact blocks are off; ignoring cmpctblock");
            return;
        }
        let hash = cmpct.header.block_hash();
        // A `cmpctblock` announces the header: the first one to arrive is this block's
        // first sighting, as a `headers` message would be.
        self.mgr
            .first_seen()
            .headers([hash], &super::firstseen::from_peer(&self.peer));
        let known = {
            let snap = self.mgr.chain().snapshot();
            snap.index()
                .get(&hash)
                .map(|e| e.have_data() || e.is_failed())
        };
        if known == Some(true) {
            return;
        }
        let chain = Arc::clone(self.mgr.chain());
        let header = cmpct.header;
        let Ok((last, err)) =
            tokio::task::spawn_blocking(move || chain.process_headers(&[header])).await
        else {
            return;
        };
        match err {
            Some(ChainError::Orphan { .. }) => {
                self.send_getheaders();
                return;
            }
            Some(e) if e.is_misbehaviour() => {
                self.mgr
                    .misbehaving(&self.peer, Misbehaviour::InvalidHeader(e.to_string()));
                return;
            }
            Some(e) => {
                debug!(target: "net", peer = self.peer.id, %hash, error = %e, "compact block header not accepted");
                return;
            }
            None => {}
        }
        if let Some(e) = last {
            self.peer.set_best_known(e.hash, e.height);
        }
        let snap = self.mgr.chain().snapshot();
        if header.prev_blockhash != snap.tip().hash {
            // Not the next block: fetched as blocks are, after the ones before it.
            self.request_blocks();
            return;
        }
        if !self.mgr.sync().claim(&hash, self.peer.id, Instant::now()) {
            // Another peer was asked for it already.
            return;
        }
        let rebuilt = tokio::task::spawn_blocking(move || {
            let pool = snap.mempool().entries();
            PartialBlock::new(&cmpct, pool.into_iter().map(|e| (e.tx.wtxid(), &e.tx)))
        })
        .await;
        let partial = match rebuilt {
            Ok(Ok(p)) => p,
            Ok(Err(e)) => return self.fall_back_to_block(hash, &e),
            Err(_) => return,
        };
        let missing = partial.missing();
        if missing.is_empty() {
            return self.finish_compact(partial, Vec::new()).await;
        }
        debug!(target: "net", peer = self.peer.id, %hash, missing = missing.len(), "asking for the transactions the mempool lacks");
        self.partial = Some(partial);
        self.peer.send(Message::GetBlockTxn(BlockTxnRequest {
            block_hash: hash,
            indexes: missing,
        }));
    }

    /// A `blocktxn`: the missing transactions of the compact block we are rebuilding. One
    /// for another block (or none) is ignored.
    async fn on_blocktxn(&mut self, answer: BlockTxn) {
        if self
            .partial
            .as_ref()
            .is_none_or(|p| p.block_hash() != answer.block_hash)
        {
            debug!(target: "net", peer = self.peer.id, block = %answer.block_hash, "blocktxn for a block we did not ask about; ignored");
            return;
        }
        let partial = self.partial.take().expect("checked just above");
        self.finish_compact(partial, answer.txs).await;
    }

    /// Completes a compact block with `txs` and hands it to the chain, announcing it to
    /// high-bandwidth peers first; falls back to the full block if it does not match.
    async fn finish_compact(&mut self, partial: PartialBlock, txs: Vec<Transaction>) {
        let hash = partial.block_hash();
        let block = match tokio::task::spawn_blocking(move || partial.fill(txs)).await {
            Ok(Ok(block)) => block,
            Ok(Err(ReconstructError::Invalid(_))) => {
                self.mgr
                    .misbehaving(&self.peer, Misbehaviour::NonMatchingBlockTxn(hash));
                return;
            }
            Ok(Err(e @ ReconstructError::Failed(_))) => return self.fall_back_to_block(hash, &e),
            Err(_) => return,
        };
        // Rebuilt: the block has arrived, as a `block` message would bring it.
        self.mgr
            .first_seen()
            .block(hash, &super::firstseen::from_peer(&self.peer));
        self.mgr.announce_compact(&block, Some(self.peer.id));
        self.drain_blocks().await;
        let chain = Arc::clone(self.mgr.chain());
        let processed = tokio::task::spawn_blocking(move || {
            pipeline::process(&chain, Arc::new(block), &hash, true)
        })
        .await
        .ok();
        self.on_block_result(BlockDone { hash, processed }, true);
    }

    /// A `getblocktxn`: the transactions of a recent block by index; a deeper block whole
    /// (as a `getdata` would get it); indexes past the block cost the peer.
    fn on_getblocktxn(&mut self, req: BlockTxnRequest) {
        let block = {
            let snap = self.mgr.chain().snapshot();
            let Some(entry) = snap.index().get(&req.block_hash) else {
                debug!(target: "net", peer = self.peer.id, block = %req.block_hash, "getblocktxn for an unknown block; ignored");
                return;
            };
            if !snap.index().is_active(entry)
                || snap.height().saturating_sub(entry.height) > MAX_BLOCKTXN_DEPTH
            {
                None
            } else {
                snap.block(&req.block_hash).ok().flatten()
            }
        };
        let Some(block) = block else {
            return self.on_getdata(vec![Inventory::Block(req.block_hash)]);
        };
        match block_txn(&block, &req) {
            Some(answer) => {
                self.peer.send(Message::BlockTxn(answer));
            }
            None => self.mgr.misbehaving(
                &self.peer,
                Misbehaviour::OutOfBoundsBlockTxnIndexes(req.block_hash),
            ),
        }
    }
}

/// `getdata(cmpct)`: a recent active block as `cmpctblock`, a deeper one whole (Core's
/// `MAX_CMPCTBLOCK_DEPTH`); `None` if it cannot be served.
fn serve_compact(state: &crate::state::Snapshot, hash: &BlockHash) -> Option<Message> {
    let entry = state.index().get(hash)?;
    if !(state.index().is_active(entry) || (entry.is_valid() && !entry.is_failed())) {
        return None;
    }
    let block = state.block(hash).ok().flatten()?;
    let recent = state.index().is_active(entry)
        && state.height().saturating_sub(entry.height) <= MAX_CMPCTBLOCK_DEPTH;
    Some(if recent {
        Message::CmpctBlock(Box::new(HeaderAndShortIds::from_block(
            &block,
            rand::random(),
        )))
    } else {
        Message::Block(Box::new(block))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hook_budget_allows_a_burst_then_the_rate() {
        let mut b = TokenBucket::new(HOOK_CALL_BURST, HOOK_CALL_RATE);
        let granted = (0..1000).filter(|_| b.take()).count();
        // The burst, plus what refilled while the loop ran (well under one call).
        assert!(
            granted >= HOOK_CALL_BURST as usize && granted <= HOOK_CALL_BURST as usize + 1,
            "{granted}"
        );
        assert!(!b.take());
        b.last -= Duration::from_secs(1);
        let refilled = (0..1000).filter(|_| b.take()).count();
        assert!(
            refilled >= HOOK_CALL_RATE as usize && refilled <= HOOK_CALL_RATE as usize + 1,
            "{refilled}"
        );
    }
}
