//! The P2P layer: dotcoind's connections to other nodes.
//!
//! Bird's eye view:
//! - [`codec`] frames bytes (`magic | command | length | checksum | payload`, the size
//!   checked before the payload is read); [`message`] gives the payloads meaning.
//! - [`peer`]: one task per connection (with a reader and a writer task): handshake,
//!   messages, pings, the per-peer share of block download, misbehaviour.
//! - [`manager`]: the peer table, bans, added nodes, learnt addresses, and the node-wide
//!   tasks — listener, connection keeper, relay of accepted blocks and transactions. It is
//!   private to this module: the rest of the node holds a [`PeerHandle`] ([`handle`]),
//!   commands in and events out.
//! - [`sync`]: headers-first download bookkeeping, block locators, serving headers.
//! - [`pipeline`]: a peer's requested blocks on their way to the chain writer, their
//!   signatures checked ahead on all cores.
//!
//! Everything reaches the chain through [`crate::state::ChainService`]: reads from its
//! snapshots, headers, blocks and transactions through its methods on the blocking pool,
//! never across an `.await`.

pub mod codec;
pub mod compact;
pub mod firstseen;
pub mod handle;
pub mod manager;
pub mod message;
pub mod misbehaviour;
pub mod peer;
pub mod pipeline;
pub mod sync;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tracing::info;

pub use handle::{PeerCommand, PeerHandle};
use manager::PeerManager;
pub use manager::{Ban, PeerCommandError};
pub use misbehaviour::{Misbehaviour, BAN_THRESHOLD};

/// Node-unique id of a connection, as `getpeerinfo` shows it.
pub type PeerId = u64;

/// What the P2P layer is configured with.
#[derive(Debug, Clone)]
pub struct NetConfig {
    /// Address to accept peers on, or `None` to not listen.
    pub listen: Option<SocketAddr>,
    /// `--connect`: connect only to these.
    pub connect: Vec<String>,
    /// `--addnode`: connect to these too, and keep reconnecting.
    pub addnode: Vec<String>,
    /// `--seednode`: `HOST:PORT` names resolved again and again, every address each
    /// resolves to going into the address table (Swarm's `tasks.<service>`).
    pub seednode: Vec<String>,
    /// Inbound limit.
    pub max_inbound: usize,
    /// Inbound connections one IP may hold.
    pub max_inbound_per_ip: usize,
    /// Outbound target from learnt addresses.
    pub max_outbound: usize,
    /// Seconds a misbehaving peer stays banned.
    pub bantime: u64,
    /// Plugins, for the `peer_connected` and `mempool_accept` hooks.
    pub plugins: Option<Arc<crate::plugins::PluginHost>>,
    /// How often the connection keeper looks at added nodes and outbound slots
    /// ([`DEFAULT_CONNECTION_TICK`]; longer only in tests).
    pub connection_tick: Duration,

    /// Compact block relay (BIP152): on or off, with or without high-bandwidth peers.
    pub compact: compact::CompactMode,
}

/// How often the connection keeper runs by default.
pub const DEFAULT_CONNECTION_TICK: Duration = Duration::from_millis(250);

/// The P2P layer's running tasks (listener, connection keeper, relay).
#[derive(Debug)]
pub struct NetTasks {
    manager: Arc<PeerManager>,
    tasks: Vec<JoinHandle<()>>,
}

impl NetTasks {
    /// Stops listening, disconnects every peer and waits (briefly) for the tasks to end.
    pub async fn stop(self) {
        self.manager.begin_shutdown();
        for t in self.tasks {
            let _ = tokio::time::timeout(Duration::from_secs(2), t).await;
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
        while !self.manager.peers().is_empty() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        info!(target: "net", "P2P stopped");
    }
}

/// Binds the listener of `net` (if it listens) and starts its tasks.
pub async fn start(net: &PeerHandle) -> std::io::Result<NetTasks> {
    let manager = Arc::clone(net.manager());
    let mut tasks = Vec::new();
    if let Some(addr) = manager.configured_listen() {
        let listener = TcpListener::bind(addr).await?;
        let bound = listener.local_addr()?;
        manager.set_listen_port(bound.port());
        info!(target: "net", addr = %bound, "P2P listening");
        tasks.push(tokio::spawn(manager::listen(
            Arc::clone(&manager),
            listener,
        )));
    }
    tasks.push(tokio::spawn(manager::keep_connections(Arc::clone(
        &manager,
    ))));
    tasks.push(tokio::spawn(manager::relay(Arc::clone(&manager))));
    tasks.push(tokio::spawn(firstseen::track(
        Arc::clone(manager.first_seen()),
        manager.chain().subscribe(),
        manager.shutdown_signal(),
    )));
    Ok(NetTasks { manager, tasks })
}
