//! The P2P layer as the rest of the node sees it: a small handle that takes commands in
//! (`addnode`, `disconnectnode`, `setban`, `setnetworkactive`, …) and answers questions
//! about the peer table; what then happens to peers goes out as events on the node's one
//! event stream ([`crate::state::Event`]'s `PeerConnected`, `PeerDisconnected`,
//! `PeerBanned`). The peer manager behind it — its tables, its locks and its tasks — is
//! private to [`super`], so RPC, the dashboard and start-up cannot reach into it.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use tokio::sync::broadcast;

use super::manager::{Ban, PeerCommandError, PeerManager};
use super::peer::Peer;
use super::{NetConfig, PeerId};
use crate::state::{ChainService, Event};

/// What the node asks of its P2P layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerCommand {
    /// `addnode … add`: keep a connection to `target`, reconnecting with backoff.
    AddNode(String),
    /// `addnode … remove`: stop keeping it (and drop it if connected).
    RemoveNode(String),
    /// `addnode … onetry`: one connection attempt to `target`.
    ConnectOnce(String),
    /// `disconnectnode`: drop the peer at `address`, or with `id`.
    Disconnect {
        /// The peer's address as `getpeerinfo` shows it.
        address: Option<String>,
        /// The peer's id.
        id: Option<PeerId>,
    },
    /// `setban … add`: refuse `ip` until the unix time `until`, dropping its connections.
    Ban {
        /// The address banned.
        ip: IpAddr,
        /// Unix time the ban ends.
        until: u64,
    },
    /// `setban … remove`.
    Unban(IpAddr),
    /// `clearbanned`.
    ClearBans,
    /// `setnetworkactive`: while false, no connection is made or accepted.
    SetNetworkActive(bool),
    /// `ping`: every peer is pinged at its next turn.
    PingAll,
}

/// The handle. Cheap to clone; every clone drives the same P2P layer.
#[derive(Debug, Clone)]
pub struct PeerHandle {
    manager: Arc<PeerManager>,
}

impl PeerHandle {
    /// The P2P layer for `chain` with `config`; nothing runs until [`super::start`].
    pub fn new(chain: Arc<ChainService>, config: NetConfig) -> PeerHandle {
        PeerHandle {
            manager: PeerManager::new(chain, config),
        }
    }

    pub(super) fn manager(&self) -> &Arc<PeerManager> {
        &self.manager
    }

    /// Carries out `command`.
    pub fn send(&self, command: PeerCommand) -> Result<(), PeerCommandError> {
        let m = &self.manager;
        match command {
            PeerCommand::AddNode(target) => m.add_node(&target),
            PeerCommand::RemoveNode(target) => m.remove_node(&target),
            PeerCommand::ConnectOnce(target) => {
                m.connect_once(&target);
                Ok(())
            }
            PeerCommand::Disconnect { address, id } => m.disconnect(address.as_deref(), id),
            PeerCommand::Ban { ip, until } => m.ban(ip, until),
            PeerCommand::Unban(ip) => m.unban(&ip),
            PeerCommand::ClearBans => {
                m.clear_bans();
                Ok(())
            }
            PeerCommand::SetNetworkActive(active) => {
                m.set_network_active(active);
                Ok(())
            }
            PeerCommand::PingAll => {
                for p in m.peers() {
                    p.request_ping();
                }
                Ok(())
            }
        }
    }

    /// What happens to peers (and to everything else): the node's event stream.
    pub fn events(&self) -> broadcast::Receiver<Event> {
        self.manager.chain().subscribe()
    }

    /// The connected peers, oldest first (read-only: statistics and identity).
    pub fn peers(&self) -> Vec<Arc<Peer>> {
        self.manager.peers()
    }

    /// Handshaken peers, without taking the peer table's lock.
    pub fn peer_count(&self) -> usize {
        self.manager.peer_count()
    }

    /// The bans in force.
    pub fn bans(&self) -> Vec<(IpAddr, Ban)> {
        self.manager.bans()
    }

    /// How long a ban lasts when none is given, in seconds (`--bantime`).
    pub fn bantime(&self) -> u64 {
        self.manager.bantime()
    }

    /// The added nodes, and whether each is connected.
    pub fn added_nodes(&self) -> Vec<(String, bool)> {
        self.manager.added_nodes()
    }

    /// Learnt addresses and when each was last said to be up (unix time).
    pub fn known_addrs(&self) -> Vec<(SocketAddr, u64)> {
        self.manager.known_addrs()
    }

    /// Bytes sent and received since start, ended connections included.
    pub fn net_totals(&self) -> (u64, u64) {
        self.manager.net_totals()
    }

    /// Whether connections are made and accepted (`setnetworkactive`).
    pub fn network_active(&self) -> bool {
        self.manager.network_active()
    }

    /// The address peers reach this node at, when it listens.
    pub fn listen_addr(&self) -> Option<SocketAddr> {
        self.manager.listen_addr()
    }

    /// The bound P2P port (0 until the listener runs, or when not listening).
    pub fn listen_port(&self) -> u16 {
        self.manager.listen_port()
    }

    /// When each header, block and transaction was first seen, and from whom.
    pub fn first_seen(&self) -> &Arc<super::firstseen::FirstSeen> {
        self.manager.first_seen()
    }

    /// This node's user agent (`/dotcoind:0.1.0/`).
    pub fn user_agent() -> String {
        PeerManager::user_agent()
    }
}
