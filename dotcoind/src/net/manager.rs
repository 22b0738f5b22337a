//! The peer manager: owns the peer table, the ban list, the added-node list and the
//! learnt addresses ("addrman-lite"), and runs the node-wide tasks — the listener, the
//! connection keeper (added nodes with backoff, learnt addresses up to the outbound
//! target) and the relay (announcing accepted blocks and transactions to every peer).
//!
//! Inbound slots are reserved at `accept`, before any task runs, so a burst of
//! connections cannot overshoot the limit; one IP gets at most `max_inbound_per_ip` of
//! them; when all are taken, a newcomer from another IP evicts the youngest connection of
//! the IP holding the most, sparing peers that recently brought us blocks. The learnt
//! address table caps each source's share, so one peer's `addr` spam cannot flush it.
//!
//! Seed names (`--seednode`) are resolved again and again, every A record of each going
//! into the table, so a node behind a name whose members come and go (Docker Swarm's
//! `tasks.<service>`, a Kubernetes headless Service) keeps finding the current ones. An
//! address that fails [`MAX_FAILURES`] attempts in a row is dropped and not relearnt from
//! gossip for [`FORGET_FOR`] (Core's "terrible" addresses): tasks that died leave the
//! table. With every outbound slot taken, a TCP "feeler" still tests one idle address
//! every [`FEELER_INTERVAL`], so dead ones are noticed on a full node too.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use dotcoin_common::{Block, BlockHash, BlockHeader, Params, Txid};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{broadcast, watch};
use tracing::{debug, info, warn};

use super::compact::{self, CompactMode};
use super::message::{Inventory, Message, NetAddress, VersionMessage, MAX_ADDR, MAX_INV};
use super::misbehaviour::{Misbehaviour, BAN_THRESHOLD};
use super::peer::{self, ConnType, Peer};
use super::sync::{BlockSync, PresyncBudget};
use super::{NetConfig, PeerId};
use crate::chain::BlockIndex;
use crate::state::{ChainService, Event};
use crate::util::unix_time;

/// First retry delay of an added node; doubles up to [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// How long a TCP connect may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// A learnt address is not retried sooner than this.
const ADDR_RETRY: Duration = Duration::from_secs(60);
/// Most learnt addresses kept.
const MAX_KNOWN_ADDRS: usize = 2000;
/// Most headers in one announcement; a longer gap makes the peer ask with `getheaders`.
const MAX_ANNOUNCE: u32 = 16;
/// Learnt addresses one source (the IP that told us) may account for.
const MAX_ADDRS_PER_SOURCE: usize = MAX_KNOWN_ADDRS / 4;
/// Inbound peers that recently gave us a block, kept when evicting.
const PROTECTED_BLOCK_RELAYERS: usize = 4;
/// How often the seed names are resolved again.
pub const SEED_RESOLVE_INTERVAL: Duration = Duration::from_secs(10);
/// Most addresses taken from one resolution of one seed name.
const MAX_SEED_ADDRS: usize = MAX_ADDRS_PER_SOURCE;
/// Failed attempts in a row after which an address is dropped.
pub const MAX_FAILURES: u32 = 3;
/// First retry delay of an address that failed; doubles with each further failure.
const FAILED_RETRY: Duration = Duration::from_secs(2);
/// How long a dropped address is not relearnt from other peers' `addr` messages.
const FORGET_FOR: Duration = Duration::from_secs(600);
/// Most dropped addresses remembered (the oldest goes first).
const MAX_FORGOTTEN: usize = 1000;
/// Most of our own addresses remembered (found by dialling ourselves).
const MAX_OWN_ADDRS: usize = 16;
/// With all outbound slots taken, one idle address is tested this often.
const FEELER_INTERVAL: Duration = Duration::from_secs(5);

/// A learnt address.
#[derive(Debug, Clone, Copy)]
struct KnownAddr {
    /// Last time it was said to be up (unix).
    time: u64,
    /// When we last tried it.
    tried: Option<Instant>,
    /// Who told us (`None`: the peer itself, from its `version`, or a seed name).
    source: Option<IpAddr>,
    /// Failed attempts since the last success.
    failures: u32,
}

impl KnownAddr {
    /// Whether it may be tried at `now`: untried, or its retry delay (longer after a
    /// success than after a failure, so a dead address is confirmed quickly) has passed.
    fn due(&self, now: Instant) -> bool {
        let wait = match self.failures {
            0 => ADDR_RETRY,
            n => FAILED_RETRY.saturating_mul(1 << (n - 1).min(8)),
        };
        self.tried.is_none_or(|t| now.duration_since(t) > wait)
    }
}

/// A ban on one IP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ban {
    /// Unix time it was set.
    pub created: u64,
    /// Unix time it ends.
    pub until: u64,
}

/// An address from `--addnode`, `--connect` or the `addnode` RPC.
#[derive(Debug)]
struct AddedNode {
    target: String,
    backoff: Duration,
    next_try: Instant,
    /// A connection attempt or connection is under way.
    busy: bool,
}

#[derive(Debug, Default)]
struct Inner {
    peers: HashMap<PeerId, Arc<Peer>>,
    bans: HashMap<IpAddr, Ban>,
    added: Vec<AddedNode>,
    known_addrs: HashMap<SocketAddr, KnownAddr>,
    /// Addresses dropped after repeated failures, with when: not relearnt from gossip
    /// for [`FORGET_FOR`].
    forgotten: HashMap<SocketAddr, Instant>,
    /// Addresses that turned out to be this node.
    own_addrs: HashSet<SocketAddr>,
    tx_requested: HashMap<Txid, Instant>,
    /// Reserved inbound slots, in all and per IP.
    inbound_total: usize,
    inbound_per_ip: HashMap<IpAddr, usize>,
}

/// An inbound slot, held by the connection's task; dropping it frees the slot.
#[derive(Debug)]
pub(super) struct InboundSlot {
    mgr: Arc<PeerManager>,
    ip: IpAddr,
}

impl Drop for InboundSlot {
    fn drop(&mut self) {
        let mut inner = self.mgr.inner();
        inner.inbound_total = inner.inbound_total.saturating_sub(1);
        if let Some(n) = inner.inbound_per_ip.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                inner.inbound_per_ip.remove(&self.ip);
            }
        }
    }
}

/// Why the `addnode`/`disconnectnode`/`setban` calls refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeerCommandError {
    /// `addnode add` of a node already added.
    #[error("Error: Node already added")]
    AlreadyAdded,
    /// `addnode remove` of a node not added.
    #[error("Error: Node could not be removed. It has not been added previously.")]
    NotAdded,
    /// `disconnectnode` of a node not connected.
    #[error("Node not found in connected nodes")]
    NotConnected,
    /// `setban add` of an IP already banned.
    #[error("Error: IP/Subnet already banned")]
    AlreadyBanned,
    /// `setban remove` of an IP not banned.
    #[error("Error: Unban failed")]
    NotBanned,
}

/// The P2P layer's shared state, private to [`super`]: the rest of the node holds a
/// [`super::PeerHandle`].
#[derive(Debug)]
pub(super) struct PeerManager {
    chain: Arc<ChainService>,
    config: NetConfig,
    /// Handshaken peers, kept current so `getconnectioncount` takes no lock.
    peer_count: std::sync::atomic::AtomicUsize,
    listen_port: AtomicU16,
    next_id: AtomicU64,
    inner: Mutex<Inner>,
    sync: Mutex<BlockSync>,
    /// Headers buffered below the anti-DoS threshold, across peers.
    presync: PresyncBudget,
    shutdown: watch::Sender<bool>,
    /// Bytes sent and received by connections that have ended (`getnettotals`).
    closed_bytes: [AtomicU64; 2],
    /// This node's random nonce, sent in every `version`: a peer sending it back is
    /// ourselves, and two connections whose peers send the same nonce lead to the same
    /// node (one is dropped, see [`PeerManager::check_version`]).
    node_nonce: u64,
    /// `setnetworkactive`: while false, no connection is made or accepted.
    network_active: std::sync::atomic::AtomicBool,
    /// When each header, block and transaction was first seen (`getblockpropagation`).
    first_seen: Arc<super::firstseen::FirstSeen>,

    /// Peers we asked for high-bandwidth compact blocks, oldest first (at most
    /// [`super::compact::MAX_HB_PEERS`]).
    cmpct_hb: Mutex<std::collections::VecDeque<PeerId>>,
}

impl PeerManager {
    /// A manager over `chain`; nothing runs until [`super::start`].
    pub(super) fn new(chain: Arc<ChainService>, config: NetConfig) -> Arc<PeerManager> {
        let (shutdown, _) = watch::channel(false);
        let first_seen =
            Arc::new(super::firstseen::FirstSeen::default().publishing_to(chain.events().clone()));
        let now = Instant::now();
        let added = config
            .connect
            .iter()
            .chain(&config.addnode)
            .map(|t| AddedNode {
                target: t.clone(),
                backoff: MIN_BACKOFF,
                next_try: now,
                busy: false,
            })
            .collect();
        Arc::new(PeerManager {
            chain,
            config,
            peer_count: std::sync::atomic::AtomicUsize::new(0),
            listen_port: AtomicU16::new(0),
            next_id: AtomicU64::new(0),
            inner: Mutex::new(Inner {
                added,
                ..Inner::default()
            }),
            sync: Mutex::new(BlockSync::default()),
            presync: PresyncBudget::default(),
            shutdown,
            closed_bytes: [AtomicU64::new(0), AtomicU64::new(0)],
            node_nonce: rand::random(),
            network_active: std::sync::atomic::AtomicBool::new(true),
            first_seen,

            cmpct_hb: Mutex::new(std::collections::VecDeque::new()),
        })
    }

    fn inner(&self) -> MutexGuard<'_, Inner> {
        // Every update leaves the tables consistent, so a poisoned lock is still usable.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The download bookkeeping (take the node's state lock first if both are needed).
    pub(super) fn sync(&self) -> MutexGuard<'_, BlockSync> {
        self.sync.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The node-wide bound on pre-sync header buffers.
    pub(super) fn presync_budget(&self) -> &PresyncBudget {
        &self.presync
    }

    /// The chain service.
    pub(super) fn chain(&self) -> &Arc<ChainService> {
        &self.chain
    }

    /// The plugins whose hooks see peers and their transactions.
    pub(super) fn plugins(&self) -> Option<&Arc<crate::plugins::PluginHost>> {
        self.config.plugins.as_ref()
    }

    /// Number of handshaken peers.
    pub(super) fn peer_count(&self) -> usize {
        self.peer_count.load(Ordering::Relaxed)
    }

    /// Network parameters.
    pub(super) fn params(&self) -> &'static Params {
        self.chain.params()
    }

    /// The bound P2P port (0 when not listening).
    pub(super) fn listen_port(&self) -> u16 {
        self.listen_port.load(Ordering::Relaxed)
    }

    /// The configured listen address (port 0: any free port).
    pub(super) fn configured_listen(&self) -> Option<SocketAddr> {
        self.config.listen
    }

    pub(super) fn set_listen_port(&self, port: u16) {
        self.listen_port.store(port, Ordering::Relaxed);
    }

    pub(super) fn next_peer_id(&self) -> PeerId {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// The listen address, if listening.
    pub(super) fn listen_addr(&self) -> Option<SocketAddr> {
        self.config
            .listen
            .map(|a| SocketAddr::new(a.ip(), self.listen_port()))
    }

    pub(super) fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }

    /// The user agent sent in `version`.
    pub(super) fn user_agent() -> String {
        format!("/dotcoind:{}/", env!("CARGO_PKG_VERSION"))
    }

    /// Our `version` for a new connection.
    pub(super) fn our_version(&self) -> VersionMessage {
        let nonce = self.node_nonce;
        VersionMessage {
            version: super::message::PROTOCOL_VERSION,
            genesis: self.params().genesis_hash(),
            best_height: self.chain.tip().height,
            timestamp: unix_time(),
            nonce,
            listen_port: self.listen_port(),
            user_agent: Self::user_agent(),
        }
    }

    /// Checks a peer's `version`: same genesis, not ourselves, not a second link to a
    /// node already connected.
    ///
    /// Two links to one node (both sides dialled each other at once, or one node is
    /// known under two names) are told apart by the node nonce. Both ends must drop the
    /// same link, so the rule depends only on what both see: the link dialled by the node
    /// with the smaller nonce stays; between two links dialled by the same node, the older
    /// stays. If the older link is the one to go, it is disconnected here.
    pub(super) fn check_version(&self, peer: &Peer, v: &VersionMessage) -> Result<(), String> {
        let genesis = self.params().genesis_hash();
        if v.genesis != genesis {
            return Err(format!(
                "genesis {} is not ours ({genesis}): another network",
                v.genesis
            ));
        }
        if v.nonce == self.node_nonce {
            if !peer.inbound() {
                // Our own address, from a seed name listing every member: never again.
                let mut inner = self.inner();
                if inner.own_addrs.len() < MAX_OWN_ADDRS {
                    inner.own_addrs.insert(peer.addr);
                }
                inner.known_addrs.remove(&peer.addr);
            }
            return Err("connected to ourselves (own version nonce)".into());
        }
        let dialler = |p: &Peer, remote: u64| if p.inbound() { remote } else { self.node_nonce };
        let new_dialler = dialler(peer, v.nonce);
        for other in self.peers() {
            if other.id == peer.id
                || other.is_disconnecting()
                || other.remote_nonce() != Some(v.nonce)
            {
                continue;
            }
            let old_dialler = dialler(&other, v.nonce);
            if new_dialler < old_dialler {
                info!(target: "net", peer = other.id, addr = %other.addr,
                    "dropping a second link to the same node (the other end dialled it first by rule)");
                other.disconnect();
            } else {
                return Err(format!(
                    "already connected to this node as peer {} ({})",
                    other.id, other.addr
                ));
            }
        }
        Ok(())
    }

    /// Whether P2P networking is on (`setnetworkactive`).
    pub(super) fn network_active(&self) -> bool {
        self.network_active.load(Ordering::SeqCst)
    }

    /// `setnetworkactive`: off drops every connection and makes and accepts none until
    /// it is on again; added nodes stay added and are dialled again then.
    pub(super) fn set_network_active(&self, active: bool) {
        let was = self.network_active.swap(active, Ordering::SeqCst);
        if was != active {
            info!(target: "net", active, "network activity changed");
        }
        if !active {
            for p in self.peers() {
                p.disconnect();
            }
        }
    }

    /// Whether a peer already connected (either direction) listens at `addr`.
    pub(super) fn is_connected_to(&self, addr: SocketAddr) -> bool {
        self.peers()
            .iter()
            .any(|p| !p.is_disconnecting() && p.listen_addr() == Some(addr))
    }

    /// Adds a new connection to the table, or refuses it (shutting down).
    pub(super) fn register(&self, peer: &Arc<Peer>) -> bool {
        if *self.shutdown.borrow() {
            return false;
        }
        self.inner().peers.insert(peer.id, Arc::clone(peer));
        true
    }

    /// The handshake completed: count the peer and remember its listening address.
    pub(super) fn on_handshake(&self, peer: &Peer, remote: &VersionMessage) {
        let mut inner = self.inner();
        if let Some(target) = &peer.target {
            if let Some(a) = inner.added.iter_mut().find(|a| &a.target == target) {
                a.backoff = MIN_BACKOFF;
            }
        }
        if remote.listen_port != 0 {
            let addr = SocketAddr::new(peer.addr.ip(), remote.listen_port);
            // It is up: whatever we concluded about it before no longer holds.
            inner.forgotten.remove(&addr);
            learn(&mut inner.known_addrs, addr, unix_time(), None);
            if let Some(k) = inner.known_addrs.get_mut(&addr) {
                k.failures = 0;
            }
        }
        drop(inner);
        self.update_peer_count();
        self.chain.events().publish(Event::PeerConnected {
            id: peer.id,
            addr: peer.addr,
            inbound: peer.conn_type == super::peer::ConnType::Inbound,
        });
    }

    /// A connection ended.
    pub(super) fn unregister(&self, id: PeerId) {
        let gone = self.inner().peers.remove(&id);
        if let Some(p) = &gone {
            let stats = p.stats();
            self.closed_bytes[0].fetch_add(stats.bytes_sent, Ordering::Relaxed);
            self.closed_bytes[1].fetch_add(stats.bytes_recv, Ordering::Relaxed);
        }
        self.sync().peer_gone(id);
        self.cmpct_hb
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|p| *p != id);
        self.update_peer_count();
        if let Some(p) = gone.filter(|p| p.is_handshaken()) {
            self.chain
                .events()
                .publish(Event::PeerDisconnected { id, addr: p.addr });
        }
    }

    fn update_peer_count(&self) {
        let n = self
            .inner()
            .peers
            .values()
            .filter(|p| p.is_handshaken())
            .count();
        self.peer_count.store(n, Ordering::Relaxed);
    }

    /// Bytes sent and received since start, over every connection, ended or not.
    pub(super) fn net_totals(&self) -> (u64, u64) {
        let (mut sent, mut recv) = (
            self.closed_bytes[0].load(Ordering::Relaxed),
            self.closed_bytes[1].load(Ordering::Relaxed),
        );
        for p in self.inner().peers.values() {
            let s = p.stats();
            sent += s.bytes_sent;
            recv += s.bytes_recv;
        }
        (sent, recv)
    }

    /// Every connected peer, by id.
    pub(super) fn peers(&self) -> Vec<Arc<Peer>> {
        let mut v: Vec<Arc<Peer>> = self.inner().peers.values().cloned().collect();
        v.sort_by_key(|p| p.id);
        v
    }

    fn ready_peers(&self) -> Vec<Arc<Peer>> {
        self.peers()
            .into_iter()
            .filter(|p| p.is_handshaken())
            .collect()
    }

    /// Adds `points` to a peer's score; at [`BAN_THRESHOLD`] it is disconnected and its IP
    /// banned. Only the offending connection is dropped: other peers on the same IP (all
    /// of them, on one test machine) keep being served.
    pub(super) fn misbehaving(&self, peer: &Peer, offence: Misbehaviour) {
        let points = offence.score();
        crate::metrics::misbehaviour(points);
        let reason = offence.to_string();
        let reason = reason.as_str();
        let score = peer.add_banscore(points);
        warn!(target: "net", peer = peer.id, addr = %peer.addr, points, score, reason, "peer misbehaving");
        if score >= BAN_THRESHOLD {
            let now = unix_time();
            self.inner().bans.insert(
                peer.addr.ip(),
                Ban {
                    created: now,
                    until: now + self.config.bantime,
                },
            );
            warn!(target: "net", peer = peer.id, ip = %peer.addr.ip(), bantime = self.config.bantime,
                reason, "banning peer");
            self.chain.events().publish(Event::PeerBanned {
                addr: peer.addr,
                reason: reason.to_owned(),
            });
            peer.disconnect();
        }
    }

    /// Whether `ip` is banned now (expired bans are dropped).
    pub(super) fn is_banned(&self, ip: &IpAddr) -> bool {
        let now = unix_time();
        let mut inner = self.inner();
        inner.bans.retain(|_, b| b.until > now);
        inner.bans.contains_key(ip)
    }

    /// Current bans.
    pub(super) fn bans(&self) -> Vec<(IpAddr, Ban)> {
        let now = unix_time();
        let mut inner = self.inner();
        inner.bans.retain(|_, b| b.until > now);
        let mut v: Vec<(IpAddr, Ban)> = inner.bans.iter().map(|(i, b)| (*i, *b)).collect();
        v.sort_by_key(|(ip, _)| *ip);
        v
    }

    /// `setban <ip> add`: bans `ip` until `until` and drops its connections.
    pub(super) fn ban(&self, ip: IpAddr, until: u64) -> Result<(), PeerCommandError> {
        if self.is_banned(&ip) {
            return Err(PeerCommandError::AlreadyBanned);
        }
        let created = unix_time();
        self.inner().bans.insert(ip, Ban { created, until });
        for p in self.peers().into_iter().filter(|p| p.addr.ip() == ip) {
            p.disconnect();
        }
        info!(target: "net", %ip, until, "banned by setban");
        Ok(())
    }

    /// `setban <ip> remove`.
    pub(super) fn unban(&self, ip: &IpAddr) -> Result<(), PeerCommandError> {
        self.inner()
            .bans
            .remove(ip)
            .map(|_| ())
            .ok_or(PeerCommandError::NotBanned)
    }

    /// `clearbanned`.
    pub(super) fn clear_bans(&self) {
        self.inner().bans.clear();
        info!(target: "net", "ban list cleared");
    }

    /// Seconds a misbehaving peer is banned for.
    pub(super) fn bantime(&self) -> u64 {
        self.config.bantime
    }

    /// `addnode <target> add`: kept from now on, and dialled at once rather than at the
    /// connection keeper's next tick, so a link made by hand is up as soon as the target
    /// answers (as `onetry` is).
    pub(super) fn add_node(self: &Arc<Self>, target: &str) -> Result<(), PeerCommandError> {
        let active = self.network_active() && !self.stopping();
        {
            let mut inner = self.inner();
            if inner.added.iter().any(|a| a.target == target) {
                return Err(PeerCommandError::AlreadyAdded);
            }
            inner.added.push(AddedNode {
                target: target.to_owned(),
                backoff: MIN_BACKOFF,
                next_try: Instant::now(),
                busy: active,
            });
        }
        if active {
            dial_added(self, target.to_owned());
        }
        Ok(())
    }

    /// The first-seen records of headers, blocks and transactions.
    pub(super) fn first_seen(&self) -> &Arc<super::firstseen::FirstSeen> {
        &self.first_seen
    }

    /// `addnode <target> remove`: forgotten, not disconnected (as in Bitcoin Core).
    pub(super) fn remove_node(&self, target: &str) -> Result<(), PeerCommandError> {
        let mut inner = self.inner();
        let before = inner.added.len();
        inner.added.retain(|a| a.target != target);
        if inner.added.len() == before {
            return Err(PeerCommandError::NotAdded);
        }
        Ok(())
    }

    /// `addnode <target> onetry`: one attempt, not kept.
    pub(super) fn connect_once(self: &Arc<Self>, target: &str) {
        let mgr = Arc::clone(self);
        let target = target.to_owned();
        tokio::spawn(async move {
            connect_to(&mgr, &target, ConnType::Manual, None).await;
        });
    }

    /// Added-node targets with whether each is connected.
    pub(super) fn added_nodes(&self) -> Vec<(String, bool)> {
        let peers = self.peers();
        let connected: HashSet<String> = peers.iter().filter_map(|p| p.target.clone()).collect();
        let listening: HashSet<SocketAddr> = peers.iter().filter_map(|p| p.listen_addr()).collect();
        let added: Vec<String> = self
            .inner()
            .added
            .iter()
            .map(|a| a.target.clone())
            .collect();
        added
            .into_iter()
            .map(|t| {
                let on = connected.contains(&t)
                    || t.parse::<SocketAddr>()
                        .is_ok_and(|a| listening.contains(&a));
                (t, on)
            })
            .collect()
    }

    /// `disconnectnode`: by address (`ip:port` as shown by `getpeerinfo`, or the added
    /// target) or by id.
    pub(super) fn disconnect(
        &self,
        address: Option<&str>,
        id: Option<PeerId>,
    ) -> Result<(), PeerCommandError> {
        let found: Vec<Arc<Peer>> = self
            .peers()
            .into_iter()
            .filter(|p| match (address, id) {
                (Some(a), _) => {
                    p.addr.to_string() == a
                        || p.target.as_deref() == Some(a)
                        || p.listen_addr().is_some_and(|l| l.to_string() == a)
                }
                (None, Some(i)) => p.id == i,
                (None, None) => false,
            })
            .collect();
        if found.is_empty() {
            return Err(PeerCommandError::NotConnected);
        }
        for p in found {
            info!(target: "net", peer = p.id, addr = %p.addr, "disconnecting peer on request");
            p.disconnect();
        }
        Ok(())
    }

    /// Remembers addresses from an `addr` message sent by `source`.
    pub(super) fn learn_addrs(&self, addrs: &[NetAddress], source: IpAddr) {
        let own = self.listen_addr();
        let now = Instant::now();
        let mut inner = self.inner();
        for a in addrs {
            let sa = a.socket_addr();
            if sa.port() == 0 || sa.ip().is_unspecified() || Some(sa) == own {
                continue;
            }
            if inner.own_addrs.contains(&sa) || is_forgotten(&inner.forgotten, &sa, now) {
                continue;
            }
            learn(&mut inner.known_addrs, sa, a.time, Some(source));
        }
    }

    /// Takes in the addresses a seed name resolved to. The name speaks for its current
    /// members, so an address dropped before comes back (Swarm may give a new task the
    /// address of a dead one); only our own stay out.
    pub(super) fn learn_seed_addrs(&self, addrs: &[SocketAddr]) {
        let own = self.listen_addr();
        let time = unix_time();
        let mut inner = self.inner();
        for sa in addrs.iter().take(MAX_SEED_ADDRS) {
            if sa.port() == 0 || sa.ip().is_unspecified() || Some(*sa) == own {
                continue;
            }
            if inner.own_addrs.contains(sa) {
                continue;
            }
            inner.forgotten.remove(sa);
            learn(&mut inner.known_addrs, *sa, time, None);
        }
    }

    /// Records the outcome of an attempt to reach `addr`: a success clears its failures,
    /// the [`MAX_FAILURES`]th failure in a row drops it.
    pub(super) fn note_attempt(&self, addr: SocketAddr, ok: bool) {
        let mut inner = self.inner();
        note_attempt(&mut inner, addr, ok, Instant::now());
    }

    /// Learnt addresses with when each was last said to be up (`getnodeaddresses`),
    /// most recent first.
    pub(super) fn known_addrs(&self) -> Vec<(SocketAddr, u64)> {
        let mut list: Vec<(SocketAddr, u64)> = self
            .inner()
            .known_addrs
            .iter()
            .map(|(a, k)| (*a, k.time))
            .collect();
        list.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(&y.0)));
        list
    }

    /// Addresses to answer `getaddr` with.
    pub(super) fn addrs_to_share(&self) -> Vec<NetAddress> {
        let inner = self.inner();
        // Not the ones failing: they may be gone, and spreading them spreads the work
        // of finding out.
        inner
            .known_addrs
            .iter()
            .filter(|(_, k)| k.failures == 0)
            .take(MAX_ADDR)
            .map(|(a, k)| NetAddress::new(*a, k.time))
            .collect()
    }

    /// Whether a transaction should be asked of a peer now (not asked of anyone in the
    /// last [`peer::TX_REQUEST_TIMEOUT`]). O(1): expiry is left to
    /// [`PeerManager::prune_tx_requests`] on a timer.
    pub(super) fn want_tx(&self, txid: &Txid, now: Instant) -> bool {
        let mut inner = self.inner();
        match inner.tx_requested.get(txid) {
            Some(t) if now.duration_since(*t) < peer::TX_REQUEST_TIMEOUT => false,
            _ => {
                inner.tx_requested.insert(*txid, now);
                true
            }
        }
    }

    /// Forgets transaction requests older than [`peer::TX_REQUEST_TIMEOUT`].
    fn prune_tx_requests(&self, now: Instant) {
        self.inner()
            .tx_requested
            .retain(|_, t| now.duration_since(*t) < peer::TX_REQUEST_TIMEOUT);
    }

    /// Reserves an inbound slot for a connection from `ip`, evicting a connection if all
    /// are taken and one can be spared; the reason otherwise.
    pub(super) fn reserve_inbound(self: &Arc<Self>, ip: IpAddr) -> Result<InboundSlot, String> {
        let mut inner = self.inner();
        let from_ip = inner.inbound_per_ip.get(&ip).copied().unwrap_or(0);
        if from_ip >= self.config.max_inbound_per_ip {
            return Err(format!(
                "{from_ip} inbound connections from {ip} already (limit {})",
                self.config.max_inbound_per_ip
            ));
        }
        if inner.inbound_total >= self.config.max_inbound {
            let Some(victim) = eviction_candidate(&inner, ip) else {
                return Err(format!(
                    "inbound limit reached ({}), no connection to evict",
                    self.config.max_inbound
                ));
            };
            info!(target: "net", peer = victim.id, addr = %victim.addr, newcomer = %ip,
                "inbound slots full: evicting the youngest connection of the busiest address");
            victim.disconnect();
        }
        inner.inbound_total += 1;
        *inner.inbound_per_ip.entry(ip).or_default() += 1;
        Ok(InboundSlot {
            mgr: Arc::clone(self),
            ip,
        })
    }

    /// A requested transaction arrived (or was refused): forget the request.
    pub(super) fn tx_arrived(&self, txid: &Txid) {
        self.inner().tx_requested.remove(txid);
    }

    fn stopping(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// Asks every task to stop and every peer to disconnect.
    pub(super) fn begin_shutdown(&self) {
        self.shutdown.send_replace(true);
        for p in self.peers() {
            p.disconnect();
        }
    }

    /// Announces every mempool transaction a peer has not seen to each peer (after a
    /// reorganisation returned transactions to the pool, and to a new peer).
    pub(super) fn announce_mempool(&self, peers: &[Arc<Peer>]) {
        let txids: Vec<Txid> = self
            .chain
            .snapshot()
            .mempool()
            .entries()
            .iter()
            .map(|e| e.txid)
            .collect();
        if txids.is_empty() {
            return;
        }
        for p in peers {
            let fresh: Vec<Inventory> = txids
                .iter()
                .filter(|t| p.mark_known_tx(**t))
                .map(|t| Inventory::Tx(*t))
                .collect();
            for chunk in fresh.chunks(MAX_INV) {
                p.send(Message::Inv(chunk.to_vec()));
            }
        }
    }

    /// How this node uses compact blocks.
    pub(super) fn compact_mode(&self) -> CompactMode {
        self.config.compact
    }

    /// `peer` just gave us a new tip: make it one of the (at most
    /// [`compact::MAX_HB_PEERS`]) peers announcing blocks to us by `cmpctblock` at once,
    /// telling the oldest of them to stop when a fourth comes (Core's
    /// `MaybeSetPeerAsAnnouncingHeaderAndIDs`).
    pub(super) fn select_hb_peer(&self, peer: &Peer) {
        let mode = self.config.compact;
        if !mode.enabled || !mode.high_bandwidth || !peer.cmpct().supported.load(Ordering::Relaxed)
        {
            return;
        }
        let dropped = {
            let mut hb = self.cmpct_hb.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(at) = hb.iter().position(|p| *p == peer.id) {
                // Already one: now the most recent.
                hb.remove(at);
                hb.push_back(peer.id);
                return;
            }
            hb.push_back(peer.id);
            if hb.len() > compact::MAX_HB_PEERS {
                hb.pop_front()
            } else {
                None
            }
        };
        if let Some(old) = dropped.and_then(|id| self.inner().peers.get(&id).cloned()) {
            old.cmpct().hb_to.store(false, Ordering::Relaxed);
            old.send(Message::SendCmpct(compact::SendCmpct {
                announce: false,
                version: compact::CMPCT_VERSION,
            }));
        }
        peer.cmpct().hb_to.store(true, Ordering::Relaxed);
        peer.send(Message::SendCmpct(compact::SendCmpct {
            announce: true,
            version: compact::CMPCT_VERSION,
        }));
        debug!(target: "net", peer = peer.id, "asked for high-bandwidth compact blocks");
    }

    /// Sends `block` as `cmpctblock` to every peer that asked for high-bandwidth
    /// announcements and is not known to have it, except `from`. Called once the block's
    /// header (proof of work included) is accepted and its transactions match the
    /// merkle root, before the block is connected (BIP152's high-bandwidth relay).
    pub(super) fn announce_compact(&self, block: &Block, from: Option<PeerId>) {
        if !self.config.compact.enabled {
            return;
        }
        let hash = block.block_hash();
        let mut cmpct = None;
        for p in self.ready_peers() {
            if Some(p.id) == from
                || !p.wants_cmpct_hb()
                || p.best_known() == Some(hash)
                || p.header_sent() == Some(hash)
            {
                continue;
            }
            let c = cmpct.get_or_insert_with(|| {
                Box::new(compact::HeaderAndShortIds::from_block(
                    block,
                    rand::random(),
                ))
            });
            p.send(Message::CmpctBlock(c.clone()));
            p.set_header_sent(hash);
        }
    }
}

/// The inbound connection to drop for a newcomer from `newcomer`: the youngest of the IP
/// holding the most connections, after sparing the peers that most recently brought us
/// blocks and those already leaving. `None` if that IP is the newcomer's own (nothing
/// would be gained) or nothing can be spared.
fn eviction_candidate(inner: &Inner, newcomer: IpAddr) -> Option<Arc<Peer>> {
    let mut candidates: Vec<&Arc<Peer>> = inner
        .peers
        .values()
        .filter(|p| p.inbound() && !p.is_disconnecting())
        .collect();
    candidates.sort_by_key(|p| std::cmp::Reverse(p.last_block_time()));
    let protected = candidates
        .iter()
        .take(PROTECTED_BLOCK_RELAYERS)
        .take_while(|p| p.last_block_time() > 0)
        .count();
    let candidates = &candidates[protected..];
    let mut by_ip: HashMap<IpAddr, Vec<&Arc<Peer>>> = HashMap::new();
    for p in candidates {
        by_ip.entry(p.addr.ip()).or_default().push(p);
    }
    let (ip, group) = by_ip
        .into_iter()
        .max_by_key(|(_, g)| (g.len(), g.iter().map(|p| p.id).max()))?;
    let newcomer_has = inner.inbound_per_ip.get(&newcomer).copied().unwrap_or(0);
    if ip == newcomer || newcomer_has + 1 >= group.len() {
        return None;
    }
    group.into_iter().max_by_key(|p| p.id).map(Arc::clone)
}

/// Remembers `addr`. No source may hold more than [`MAX_ADDRS_PER_SOURCE`] entries; when
/// the table is full, an entry of the source holding the most makes room.
fn learn(
    known: &mut HashMap<SocketAddr, KnownAddr>,
    addr: SocketAddr,
    time: u64,
    source: Option<IpAddr>,
) {
    if let Some(e) = known.get_mut(&addr) {
        e.time = e.time.max(time);
        return;
    }
    if source.is_some() {
        let from_source = known.values().filter(|k| k.source == source).count();
        if from_source >= MAX_ADDRS_PER_SOURCE {
            return;
        }
    }
    if known.len() >= MAX_KNOWN_ADDRS {
        let mut counts: HashMap<Option<IpAddr>, usize> = HashMap::new();
        for k in known.values() {
            *counts.entry(k.source).or_default() += 1;
        }
        let Some((busiest, _)) = counts.into_iter().max_by_key(|(_, n)| *n) else {
            return;
        };
        // The busiest source's oldest entry.
        let victim = known
            .iter()
            .filter(|(_, k)| k.source == busiest)
            .min_by_key(|(_, k)| k.time)
            .map(|(a, _)| *a);
        if let Some(v) = victim {
            known.remove(&v);
        }
    }
    known.insert(
        addr,
        KnownAddr {
            time,
            tried: None,
            source,
            failures: 0,
        },
    );
}

/// Whether `addr` was dropped less than [`FORGET_FOR`] ago.
fn is_forgotten(forgotten: &HashMap<SocketAddr, Instant>, addr: &SocketAddr, now: Instant) -> bool {
    forgotten
        .get(addr)
        .is_some_and(|t| now.duration_since(*t) < FORGET_FOR)
}

/// See [`PeerManager::note_attempt`].
fn note_attempt(inner: &mut Inner, addr: SocketAddr, ok: bool, now: Instant) {
    let Some(k) = inner.known_addrs.get_mut(&addr) else {
        return;
    };
    if ok {
        k.failures = 0;
        return;
    }
    k.failures += 1;
    if k.failures < MAX_FAILURES {
        return;
    }
    inner.known_addrs.remove(&addr);
    debug!(target: "net", %addr, failures = MAX_FAILURES, "dropping an address that keeps failing");
    if inner.forgotten.len() >= MAX_FORGOTTEN {
        inner
            .forgotten
            .retain(|_, t| now.duration_since(*t) < FORGET_FOR);
        if inner.forgotten.len() >= MAX_FORGOTTEN {
            if let Some(oldest) = inner
                .forgotten
                .iter()
                .min_by_key(|(_, t)| **t)
                .map(|(a, _)| *a)
            {
                inner.forgotten.remove(&oldest);
            }
        }
    }
    inner.forgotten.insert(addr, now);
}

/// Opens an outbound connection to `target` and runs it until it ends. Returns whether
/// the handshake completed.
async fn connect_to(
    mgr: &Arc<PeerManager>,
    target: &str,
    conn_type: ConnType,
    added: Option<String>,
) -> bool {
    if !mgr.network_active() {
        return false;
    }
    // Never a second link to a node already connected in either direction: one
    // `addnode` on one side gives one connection, as in Core.
    if let Ok(Some(addr)) = tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::lookup_host(target))
        .await
        .map(|r| r.ok().and_then(|mut a| a.next()))
    {
        if mgr.is_connected_to(addr) {
            debug!(target: "net", %target, "already connected to it; not dialling");
            return true;
        }
    }
    let stream = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(target)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            debug!(target: "net", %target, error = %e, "connect failed");
            return false;
        }
        Err(_) => {
            debug!(target: "net", %target, "connect timed out");
            return false;
        }
    };
    let addr = match stream.peer_addr() {
        Ok(a) => a,
        Err(_) => return false,
    };
    if conn_type == ConnType::Outbound && mgr.is_banned(&addr.ip()) {
        return false;
    }
    peer::run_connection(Arc::clone(mgr), stream, addr, conn_type, added).await
}

/// Accepts inbound connections until shutdown.
pub(super) async fn listen(mgr: Arc<PeerManager>, listener: TcpListener) {
    let mut shutdown = mgr.shutdown_signal();
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.changed() => break,
        };
        let (stream, addr) = match accepted {
            Ok(x) => x,
            Err(e) => {
                warn!(target: "net", error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        if !mgr.network_active() {
            debug!(target: "net", %addr, "refusing inbound connection: network is inactive");
            continue;
        }
        if mgr.is_banned(&addr.ip()) {
            info!(target: "net", %addr, "refusing inbound connection: IP is banned");
            continue;
        }
        let slot = match mgr.reserve_inbound(addr.ip()) {
            Ok(slot) => slot,
            Err(why) => {
                info!(target: "net", %addr, "refusing inbound connection: {why}");
                continue;
            }
        };
        let m = Arc::clone(&mgr);
        tokio::spawn(async move {
            let _slot = slot;
            peer::run_connection(m, stream, addr, ConnType::Inbound, None).await;
        });
    }
}

/// Keeps added nodes connected (retrying with exponential backoff) and, unless
/// `--connect` restricts the node, fills outbound slots from learnt addresses.
pub(super) async fn keep_connections(mgr: Arc<PeerManager>) {
    let mut shutdown = mgr.shutdown_signal();
    let mut tick = tokio::time::interval(mgr.config.connection_tick);
    let mut next_seed_lookup = Instant::now();
    let mut next_feeler = Instant::now();
    let seed_lookup_busy = Arc::new(std::sync::atomic::AtomicBool::new(false));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.changed() => break,
        }
        if mgr.stopping() {
            break;
        }
        if !mgr.network_active() {
            continue;
        }
        let now = Instant::now();
        if !mgr.config.seednode.is_empty()
            && mgr.config.connect.is_empty()
            && now >= next_seed_lookup
            && !seed_lookup_busy.swap(true, Ordering::SeqCst)
        {
            next_seed_lookup = now + SEED_RESOLVE_INTERVAL;
            let m = Arc::clone(&mgr);
            let busy = Arc::clone(&seed_lookup_busy);
            tokio::spawn(async move {
                resolve_seeds(&m).await;
                busy.store(false, Ordering::SeqCst);
            });
        }
        let due: Vec<String> = {
            let mut inner = mgr.inner();
            inner
                .added
                .iter_mut()
                .filter(|a| !a.busy && a.next_try <= now)
                .map(|a| {
                    a.busy = true;
                    a.target.clone()
                })
                .collect()
        };
        for target in due {
            dial_added(&mgr, target);
        }
        mgr.prune_tx_requests(now);
        if mgr.config.connect.is_empty() && !fill_outbound(&mgr, now) && now >= next_feeler {
            next_feeler = now + FEELER_INTERVAL;
            feeler(&mgr, now);
        }
    }
}

/// Connects to the added node `target` (already marked busy) and, when the connection
/// fails or ends, schedules its next attempt with backoff.
fn dial_added(mgr: &Arc<PeerManager>, target: String) {
    let m = Arc::clone(mgr);
    tokio::spawn(async move {
        let ok = connect_to(&m, &target, ConnType::Manual, Some(target.clone())).await;
        let mut inner = m.inner();
        if let Some(a) = inner.added.iter_mut().find(|a| a.target == target) {
            a.busy = false;
            if ok {
                a.backoff = MIN_BACKOFF;
            }
            a.next_try = Instant::now() + a.backoff;
            if !ok {
                a.backoff = (a.backoff * 2).min(MAX_BACKOFF);
            }
        }
    });
}

/// Resolves every seed name and takes in every address each resolves to.
async fn resolve_seeds(mgr: &Arc<PeerManager>) {
    for seed in &mgr.config.seednode {
        match tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::lookup_host(seed.as_str())).await {
            Ok(Ok(addrs)) => {
                let addrs: Vec<SocketAddr> = addrs.take(MAX_SEED_ADDRS).collect();
                debug!(target: "net", %seed, found = addrs.len(), "seed name resolved");
                mgr.learn_seed_addrs(&addrs);
            }
            // A name with no members yet (the first task of a service) is normal.
            Ok(Err(e)) => debug!(target: "net", %seed, error = %e, "seed name did not resolve"),
            Err(_) => debug!(target: "net", %seed, "seed name lookup timed out"),
        }
    }
}

/// Addresses of connected peers (inbound ones by where they listen, so a node that
/// dialled us is not dialled back).
fn connected_addrs(peers: &[Arc<Peer>]) -> HashSet<SocketAddr> {
    peers
        .iter()
        .flat_map(|p| [Some(p.addr), p.listen_addr()])
        .flatten()
        .collect()
}

/// Dials a learnt address if an outbound slot is free; returns whether one was (false:
/// every slot is taken).
fn fill_outbound(mgr: &Arc<PeerManager>, now: Instant) -> bool {
    let peers = mgr.peers();
    let outbound = peers
        .iter()
        .filter(|p| p.conn_type == ConnType::Outbound)
        .count();
    if outbound >= mgr.config.max_outbound {
        return false;
    }
    let connected = connected_addrs(&peers);
    let candidate = {
        let mut inner = mgr.inner();
        let pick = inner
            .known_addrs
            .iter()
            .filter(|(a, _)| !connected.contains(a))
            .filter(|(a, _)| !inner.bans.contains_key(&a.ip()))
            .filter(|(_, k)| k.due(now))
            .map(|(a, _)| *a)
            .next();
        if let Some(a) = pick {
            if let Some(e) = inner.known_addrs.get_mut(&a) {
                e.tried = Some(now);
            }
        }
        pick
    };
    if let Some(addr) = candidate {
        let m = Arc::clone(mgr);
        tokio::spawn(async move {
            let ok = connect_to(&m, &addr.to_string(), ConnType::Outbound, None).await;
            m.note_attempt(addr, ok);
        });
    }
    true
}

/// Tests one idle learnt address with a bare TCP connect (closed at once): failing ones
/// first, then untried, then the longest untried. Only whether it answers counts.
fn feeler(mgr: &Arc<PeerManager>, now: Instant) {
    let connected = connected_addrs(&mgr.peers());
    let candidate = {
        let mut inner = mgr.inner();
        let pick = inner
            .known_addrs
            .iter()
            .filter(|(a, _)| !connected.contains(a))
            .filter(|(a, _)| !inner.bans.contains_key(&a.ip()))
            .filter(|(_, k)| k.due(now))
            .min_by_key(|(_, k)| (k.failures == 0, k.tried.is_some(), k.tried))
            .map(|(a, _)| *a);
        if let Some(a) = pick {
            if let Some(e) = inner.known_addrs.get_mut(&a) {
                e.tried = Some(now);
            }
        }
        pick
    };
    if let Some(addr) = candidate {
        let m = Arc::clone(mgr);
        tokio::spawn(async move {
            let ok = matches!(
                tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr)).await,
                Ok(Ok(_))
            );
            debug!(target: "net", %addr, ok, "feeler");
            m.note_attempt(addr, ok);
        });
    }
}

/// Announces what the node accepts, from the event stream: each new tip as `headers` to
/// every peer not known to have it, new mempool transactions as `inv` to every peer that
/// has not announced them. After a lag it announces the current tip, which covers
/// whatever it missed.
pub(super) async fn relay(mgr: Arc<PeerManager>) {
    let mut events = mgr.chain.subscribe();
    let mut shutdown = mgr.shutdown_signal();
    let mut last_announced: BlockHash = mgr.chain.tip().hash;
    loop {
        let event = tokio::select! {
            e = events.recv() => e,
            _ = shutdown.changed() => break,
        };
        match event {
            Ok(Event::TxAccepted { txid, .. }) => {
                for p in mgr.ready_peers() {
                    if p.mark_known_tx(txid) {
                        p.send(Message::Inv(vec![Inventory::Tx(txid)]));
                    }
                }
            }
            Ok(Event::TipChanged { .. }) | Err(broadcast::error::RecvError::Lagged(_)) => {
                let Some((tip, headers, reorg)) = tip_announcement(&mgr, &last_announced) else {
                    continue;
                };
                last_announced = tip;
                // A peer gets `headers` only when they connect to what it has (what it told
                // us, or what we last announced to it); otherwise, as when the relay fell
                // more than MAX_ANNOUNCE blocks behind, it gets an `inv` of the tip and asks
                // for the headers itself, as in Bitcoin Core. An unconnecting `headers`
                // message would count against us at the peer.
                let peers = mgr.ready_peers();
                // A one-block step goes to high-bandwidth peers as `cmpctblock` (those
                // that had it before validation are skipped below).
                if matches!(&headers, Some(h) if h.len() == 1) {
                    if let Ok(Some(block)) = mgr.chain.snapshot().block(&tip) {
                        mgr.announce_compact(&block, None);
                    }
                }
                let snap = mgr.chain.snapshot();
                for p in &peers {
                    let known = [p.best_known(), p.header_sent()];
                    match announcement(snap.index(), headers.as_deref(), &tip, &known) {
                        Announcement::Nothing => {}
                        Announcement::Headers(h) => {
                            p.send(Message::Headers(h.to_vec()));
                            p.set_header_sent(tip);
                        }
                        Announcement::Inv => {
                            debug!(target: "net", peer = p.id, %tip, best_known = ?known[0],
                                header_sent = ?known[1], "announcing the tip by inv: the headers would not connect to what the peer has");
                            p.send(Message::Inv(vec![Inventory::Block(tip)]));
                        }
                    }
                }
                drop(snap);
                if reorg {
                    mgr.announce_mempool(&peers);
                }
            }
            Ok(_) => {}
            Err(broadcast::error::RecvError::Closed) => break,
        }
    }
}

/// How to tell one peer of a new tip.
#[derive(Debug, PartialEq, Eq)]
enum Announcement<'a> {
    /// The peer has it already.
    Nothing,
    /// These headers: the ones it lacks, the first connecting to a block it has.
    Headers(&'a [BlockHeader]),
    /// An `inv` of the tip; it asks with `getheaders`.
    Inv,
}

/// What to send a peer of the new `tip`, given the active chain's `headers` since the
/// last announcement (`None`: too many) and `known`, the blocks the peer is known to have
/// (the best one it told us of, the last tip we announced to it): as Core's
/// `PeerHasHeader`, the peer has every ancestor of those too. Headers it has are left
/// out and the rest go as `headers` when the first of them connects to a block it has;
/// comparing only the first header's parent with those two blocks would send an `inv`
/// (three crossings of the link before the peer has the header, not one) whenever the
/// peer already had some of the headers, or the tip came back from another branch.
fn announcement<'a>(
    index: &BlockIndex,
    headers: Option<&'a [BlockHeader]>,
    tip: &BlockHash,
    known: &[Option<BlockHash>],
) -> Announcement<'a> {
    // Every peer has the genesis block: the handshake checked it is on our network.
    let has = |hash: &BlockHash| {
        index.get(hash).is_some_and(|e| {
            e.height == 0
                || known
                    .iter()
                    .flatten()
                    .any(|k| index.ancestor(k, e.height).is_some_and(|a| a.hash == *hash))
        })
    };
    if has(tip) {
        return Announcement::Nothing;
    }
    let Some(headers) = headers else {
        return Announcement::Inv;
    };
    let lacking = headers
        .iter()
        .position(|h| !has(&h.block_hash()))
        .unwrap_or(headers.len());
    match headers.get(lacking) {
        Some(first) if has(&first.prev_blockhash) => Announcement::Headers(&headers[lacking..]),
        _ => Announcement::Inv,
    }
}

/// The new tip, the active chain's headers since `last` (`None` when there are more than
/// [`MAX_ANNOUNCE`]), and whether `last` left the active chain; `None` if the tip did not
/// move.
fn tip_announcement(
    mgr: &PeerManager,
    last: &BlockHash,
) -> Option<(BlockHash, Option<Vec<BlockHeader>>, bool)> {
    let snap = mgr.chain.snapshot();
    let index = snap.index();
    let tip = index.tip();
    if tip.hash == *last {
        return None;
    }
    let fork = index.fork_point(last).map_or(0, |e| e.height);
    let reorg = index.get(last).is_some_and(|e| !index.is_active(e));
    let from = fork + 1;
    if tip.height + 1 - from > MAX_ANNOUNCE {
        return Some((tip.hash, None, reorg));
    }
    let headers = index
        .active_range(from, (tip.height + 1 - from) as usize)
        .iter()
        .filter_map(|h| index.get(h).map(|e| e.header))
        .collect();
    Some((tip.hash, Some(headers), reorg))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(i: u32) -> SocketAddr {
        SocketAddr::new(IpAddr::from(i.to_be_bytes()), 8633)
    }

    #[test]
    fn failing_addresses_are_dropped_and_not_relearnt_from_gossip() {
        let mut inner = Inner::default();
        let now = Instant::now();
        let (dead, alive) = (addr(1), addr(2));
        for a in [dead, alive] {
            learn(&mut inner.known_addrs, a, 100, None);
        }
        // A success between failures starts the count again.
        for _ in 0..MAX_FAILURES - 1 {
            note_attempt(&mut inner, alive, false, now);
        }
        note_attempt(&mut inner, alive, true, now);
        note_attempt(&mut inner, alive, false, now);
        assert_eq!(inner.known_addrs[&alive].failures, 1);
        // A failing address is retried sooner than a good one, and sooner after fewer
        // failures.
        inner.known_addrs.get_mut(&alive).expect("known").tried = Some(now);
        assert!(inner.known_addrs[&alive].due(now + FAILED_RETRY + Duration::from_millis(1)));
        assert!(!inner.known_addrs[&alive].due(now + FAILED_RETRY / 2));
        for i in 1..MAX_FAILURES {
            note_attempt(&mut inner, dead, false, now);
            assert_eq!(inner.known_addrs[&dead].failures, i);
        }
        note_attempt(&mut inner, dead, false, now);
        assert!(!inner.known_addrs.contains_key(&dead));
        assert!(inner.known_addrs.contains_key(&alive));
        assert!(is_forgotten(&inner.forgotten, &dead, now));
        assert!(!is_forgotten(&inner.forgotten, &dead, now + FORGET_FOR));
        // The forgotten list stays bounded however many addresses die.
        for i in 0..2 * MAX_FORGOTTEN as u32 {
            let a = addr(1000 + i);
            learn(&mut inner.known_addrs, a, 100, None);
            for _ in 0..MAX_FAILURES {
                note_attempt(&mut inner, a, false, now);
            }
        }
        assert_eq!(inner.forgotten.len(), MAX_FORGOTTEN);
        assert_eq!(inner.known_addrs.len(), 1);
    }

    #[test]
    fn one_source_cannot_flush_the_address_table() {
        let mut known = HashMap::new();
        let honest: Vec<IpAddr> = (1..=3u8).map(|i| IpAddr::from([10, 0, 0, i])).collect();
        // Three honest sources fill most of the table.
        for (s, src) in honest.iter().enumerate() {
            for i in 0..MAX_ADDRS_PER_SOURCE as u32 {
                learn(
                    &mut known,
                    addr(1_000_000 * (s as u32 + 1) + i),
                    100,
                    Some(*src),
                );
            }
        }
        assert_eq!(known.len(), 3 * MAX_ADDRS_PER_SOURCE);
        // A spammer sends ten times the table's size: it gets its quarter, no more.
        let spammer = IpAddr::from([6, 6, 6, 6]);
        for i in 0..10 * MAX_KNOWN_ADDRS as u32 {
            learn(&mut known, addr(50_000_000 + i), 200, Some(spammer));
        }
        fn from(known: &HashMap<SocketAddr, KnownAddr>, src: IpAddr) -> usize {
            known.values().filter(|k| k.source == Some(src)).count()
        }
        assert_eq!(from(&known, spammer), MAX_ADDRS_PER_SOURCE);
        for src in &honest {
            assert_eq!(from(&known, *src), MAX_ADDRS_PER_SOURCE);
        }
        assert!(known.len() <= MAX_KNOWN_ADDRS);
        // A new source still gets in when the table is full: the busiest source's
        // oldest entry makes room.
        let newcomer = IpAddr::from([10, 0, 0, 9]);
        learn(&mut known, addr(90_000_000), 300, Some(newcomer));
        assert_eq!(from(&known, newcomer), 1);
        assert_eq!(known.len(), MAX_KNOWN_ADDRS);
        // Hearing of a known address again only refreshes its time.
        learn(&mut known, addr(90_000_000), 400, Some(spammer));
        assert_eq!(known[&addr(90_000_000)].time, 400);
        assert_eq!(from(&known, newcomer), 1);
    }

    /// A chain of `n` blocks after regtest's genesis, all active; its entries in order.
    fn chain_index(n: u32) -> (BlockIndex, Vec<crate::chain::IndexEntry>) {
        let genesis_header = dotcoin_common::Network::Regtest
            .params()
            .genesis_block()
            .header;
        let genesis = crate::chain::IndexEntry {
            hash: genesis_header.block_hash(),
            header: genesis_header,
            height: 0,
            chainwork: ruint::aliases::U256::from(1u8),
            status: 0,
            sequence: 0,
        };
        let mut index = BlockIndex::new([genesis], vec![genesis.hash]);
        let mut entries = vec![genesis];
        for h in 1..=n {
            let e = child_of(entries.last().unwrap(), h);
            index.insert(e);
            index.push_active(e.hash);
            entries.push(e);
        }
        (index, entries)
    }

    fn child_of(parent: &crate::chain::IndexEntry, tag: u32) -> crate::chain::IndexEntry {
        let header = BlockHeader {
            version: 1,
            prev_blockhash: parent.hash,
            merkle_root: parent.header.merkle_root,
            time: parent.header.time + 1,
            bits: parent.header.bits,
            nonce: tag,
        };
        crate::chain::IndexEntry {
            hash: header.block_hash(),
            header,
            height: parent.height + 1,
            chainwork: parent.chainwork + ruint::aliases::U256::from(1u8),
            status: 0,
            sequence: u64::from(tag),
        }
    }

    #[test]
    fn a_new_tip_goes_as_the_headers_the_peer_lacks_when_they_connect_to_what_it_has() {
        // Active chain 0..=5, and a losing branch leaving it at 3 (block 4').
        let (mut index, c) = chain_index(5);
        let side = child_of(&c[3], 1004);
        index.insert(side);
        let hdr =
            |from: usize, to: usize| c[from..=to].iter().map(|e| e.header).collect::<Vec<_>>();
        let tip = c[5].hash;

        // The plain step: the peer has the parent.
        let h = hdr(5, 5);
        assert_eq!(
            announcement(&index, Some(&h), &tip, &[Some(c[4].hash), None]),
            Announcement::Headers(&h[..])
        );
        // Two blocks since the last announcement, the first of which the peer told us
        // of: only the one it lacks (before, this was an `inv`).
        let h = hdr(4, 5);
        assert_eq!(
            announcement(&index, Some(&h), &tip, &[Some(c[4].hash), Some(c[3].hash)]),
            Announcement::Headers(&h[1..])
        );
        // The tip came back from another branch: the peer was told of 4' and has its
        // ancestor 3, where the headers start (before, an `inv`).
        let h = hdr(4, 5);
        assert_eq!(
            announcement(&index, Some(&h), &tip, &[None, Some(side.hash)]),
            Announcement::Headers(&h[..])
        );
        // A peer known to have a block below the start has its ancestors too, but the
        // headers would not connect: an `inv`, and it asks.
        assert_eq!(
            announcement(&index, Some(&h), &tip, &[Some(c[2].hash), None]),
            Announcement::Inv
        );
        // Nothing known of the peer, or too many headers: an `inv`.
        assert_eq!(
            announcement(&index, Some(&h), &tip, &[None, None]),
            Announcement::Inv
        );
        // ... except the genesis block, which every peer has: the first block goes as
        // `headers` to a peer that has told us nothing yet.
        let first = hdr(1, 1);
        assert_eq!(
            announcement(&index, Some(&first), &c[1].hash, &[None, None]),
            Announcement::Headers(&first[..])
        );
        assert_eq!(
            announcement(&index, None, &tip, &[Some(c[4].hash), None]),
            Announcement::Inv
        );
        // The peer has the tip (it told us, or a descendant's ancestor): nothing.
        assert_eq!(
            announcement(&index, Some(&h), &tip, &[Some(tip), None]),
            Announcement::Nothing
        );
        assert_eq!(
            announcement(&index, Some(&h), &c[4].hash, &[None, Some(tip)]),
            Announcement::Nothing
        );
    }
}
