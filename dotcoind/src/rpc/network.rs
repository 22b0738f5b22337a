//! Network calls, as in Bitcoin Core: peers (`getpeerinfo`, `getconnectioncount`,
//! `addnode`, `disconnectnode`), the node's network state (`getnetworkinfo`) and bans
//! (`setban`, `listbanned`, `clearbanned`).

use std::net::IpAddr;

use dotcoin_common::rpc_types::{
    AddedNodeAddress, AddedNodeInfo, BannedEntry, ConnectionType, LocalAddress, NetTotals,
    NetworkInfo, NetworkReach, NodeAddress, PeerInfo, UploadTarget,
};
use dotcoin_common::Amount;
use dotcoin_rpc_server::arg::{Flag, Int, Keyword, KeywordArg, Text, Uint};
use jsonrpsee::core::RpcResult;
use jsonrpsee::proc_macros::rpc;
use jsonrpsee::types::ErrorObjectOwned;

use super::error::{rpc_error, RpcErrorCode};
use super::RpcContext;
use crate::net::message::PROTOCOL_VERSION;
use crate::net::peer::ConnType;
use crate::net::{PeerCommand, PeerCommandError, PeerHandle};
use crate::util::unix_time;

/// Network calls.
#[rpc(server)]
pub trait NetworkRpc {
    /// Every connected peer.
    #[method(name = "getpeerinfo")]
    fn getpeerinfo(&self) -> RpcResult<Vec<PeerInfo>>;
    /// Number of connected peers.
    #[method(name = "getconnectioncount")]
    fn getconnectioncount(&self) -> RpcResult<usize>;
    /// The node's network state.
    #[method(name = "getnetworkinfo")]
    fn getnetworkinfo(&self) -> RpcResult<NetworkInfo>;
    /// Add, remove or try once a peer.
    #[method(name = "addnode")]
    fn addnode(&self, node: Text, command: KeywordArg<AddNodeCommand>) -> RpcResult<()>;
    /// Drop a connection by address or id.
    #[method(name = "disconnectnode")]
    fn disconnectnode(&self, address: Option<Text>, nodeid: Option<Int>) -> RpcResult<()>;
    /// Ban or unban an IP.
    #[method(name = "setban")]
    fn setban(
        &self,
        subnet: Text,
        command: KeywordArg<BanCommand>,
        bantime: Option<Int>,
        absolute: Option<Flag>,
    ) -> RpcResult<()>;
    /// Current bans.
    #[method(name = "listbanned")]
    fn listbanned(&self) -> RpcResult<Vec<BannedEntry>>;
    /// Lift every ban.
    #[method(name = "clearbanned")]
    fn clearbanned(&self) -> RpcResult<()>;
    /// Added nodes and whether each is connected.
    #[method(name = "getaddednodeinfo")]
    fn getaddednodeinfo(&self, node: Option<Text>) -> RpcResult<Vec<AddedNodeInfo>>;
    /// Bytes sent and received.
    #[method(name = "getnettotals")]
    fn getnettotals(&self) -> RpcResult<NetTotals>;
    /// Addresses the node learnt.
    #[method(name = "getnodeaddresses")]
    fn getnodeaddresses(
        &self,
        count: Option<Uint>,
        network: Option<KeywordArg<AddrNetwork>>,
    ) -> RpcResult<Vec<NodeAddress>>;
    /// Pings every peer (the times show in getpeerinfo).
    #[method(name = "ping")]
    fn ping(&self) -> RpcResult<()>;
    /// Turns all P2P activity off or on.
    #[method(name = "setnetworkactive")]
    fn setnetworkactive(&self, state: Flag) -> RpcResult<bool>;
}

/// `addnode`'s commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddNodeCommand {
    /// Keep a connection to the node.
    Add,
    /// Forget it.
    Remove,
    /// Connect once.
    OneTry,
}

impl Keyword for AddNodeCommand {
    const WORDS: &'static [(&'static str, Self)] = &[
        ("add", AddNodeCommand::Add),
        ("remove", AddNodeCommand::Remove),
        ("onetry", AddNodeCommand::OneTry),
    ];

    fn unknown(name: &str, word: &str) -> String {
        format!("{name} '{word}' must be add, remove or onetry")
    }
}

/// `setban`'s commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BanCommand {
    /// Ban the IP.
    Add,
    /// Lift its ban.
    Remove,
}

impl Keyword for BanCommand {
    const WORDS: &'static [(&'static str, Self)] =
        &[("add", BanCommand::Add), ("remove", BanCommand::Remove)];

    fn unknown(name: &str, word: &str) -> String {
        format!("{name} '{word}' must be add or remove")
    }
}

/// The networks `getnodeaddresses` filters by, by Core's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddrNetwork {
    /// Routable IPv4.
    Ipv4,
    /// Routable IPv6.
    Ipv6,
    /// Loopback, private and link-local addresses.
    NotPubliclyRoutable,
}

impl Keyword for AddrNetwork {
    const WORDS: &'static [(&'static str, Self)] = &[
        ("ipv4", AddrNetwork::Ipv4),
        ("ipv6", AddrNetwork::Ipv6),
        ("not_publicly_routable", AddrNetwork::NotPubliclyRoutable),
    ];

    fn unknown(_name: &str, word: &str) -> String {
        // Core's words.
        format!("Network not recognized: {word}")
    }
}

impl AddrNetwork {
    /// Core's name, as [`network_name`] gives it.
    fn name(self) -> &'static str {
        match self {
            AddrNetwork::Ipv4 => "ipv4",
            AddrNetwork::Ipv6 => "ipv6",
            AddrNetwork::NotPubliclyRoutable => "not_publicly_routable",
        }
    }
}

/// Implementation of [`NetworkRpcServer`].
#[derive(Debug)]
pub struct NetworkRpcImpl {
    ctx: RpcContext,
}

impl NetworkRpcImpl {
    /// A plugin over `ctx`.
    pub fn new(ctx: RpcContext) -> Self {
        NetworkRpcImpl { ctx }
    }

    fn net(&self) -> &PeerHandle {
        &self.ctx.net
    }

    fn send(&self, command: PeerCommand) -> RpcResult<()> {
        self.net().send(command).map_err(command_error)
    }
}

fn command_error(e: PeerCommandError) -> ErrorObjectOwned {
    let code = match e {
        PeerCommandError::AlreadyAdded => RpcErrorCode::NodeAlreadyAdded,
        PeerCommandError::NotAdded => RpcErrorCode::NodeNotAdded,
        PeerCommandError::NotConnected => RpcErrorCode::NodeNotConnected,
        PeerCommandError::AlreadyBanned => RpcErrorCode::NodeAlreadyAdded,
        PeerCommandError::NotBanned => RpcErrorCode::InvalidIpOrSubnet,
    };
    rpc_error(code, e.to_string())
}

/// An IP, accepting Bitcoin Core's single-address subnet forms (`1.2.3.4/32`).
fn parse_ip(s: &str) -> Result<IpAddr, ErrorObjectOwned> {
    let bare = s
        .strip_suffix("/32")
        .or_else(|| s.strip_suffix("/128"))
        .unwrap_or(s);
    bare.parse().map_err(|_| {
        rpc_error(
            RpcErrorCode::InvalidIpOrSubnet,
            format!("Error: Invalid IP/Subnet '{s}'"),
        )
    })
}

fn subnet_of(ip: &IpAddr) -> String {
    match ip {
        IpAddr::V4(_) => format!("{ip}/32"),
        IpAddr::V6(_) => format!("{ip}/128"),
    }
}

/// Core's service bits as `getpeerinfo` prints them: every dotcoin node serves the whole
/// chain (`NODE_NETWORK`); a peer whose `version` has not arrived offers nothing yet.
const NODE_NETWORK: &str = "0000000000000001";
const NO_SERVICES: &str = "0000000000000000";

/// Core's name of the network a peer is reached through.
fn network_name(ip: &IpAddr) -> &'static str {
    let routable = match ip {
        IpAddr::V4(v4) => {
            !(v4.is_loopback() || v4.is_private() || v4.is_link_local() || v4.is_unspecified())
        }
        IpAddr::V6(v6) => !(v6.is_loopback() || v6.is_unspecified()),
    };
    match (routable, ip) {
        (false, _) => "not_publicly_routable",
        (true, IpAddr::V4(_)) => "ipv4",
        (true, IpAddr::V6(_)) => "ipv6",
    }
}

fn numeric_version() -> u64 {
    let parse = |s: &str| s.parse::<u64>().unwrap_or(0);
    parse(env!("CARGO_PKG_VERSION_MAJOR")) * 10_000
        + parse(env!("CARGO_PKG_VERSION_MINOR")) * 100
        + parse(env!("CARGO_PKG_VERSION_PATCH"))
}

impl NetworkRpcServer for NetworkRpcImpl {
    fn getpeerinfo(&self) -> RpcResult<Vec<PeerInfo>> {
        let listen = self.net().listen_addr();
        Ok(self
            .net()
            .peers()
            .iter()
            .map(|p| {
                let s = p.stats();
                let handshaken = s.remote.is_some();
                let firsts = self.net().first_seen().counts(p.id);
                PeerInfo {
                    id: p.id,
                    addr: p.addr.to_string(),
                    addrbind: p
                        .local
                        .or(listen.filter(|_| p.inbound()))
                        .map_or_else(String::new, |a| a.to_string()),
                    inbound: p.inbound(),
                    connection_type: match p.conn_type {
                        ConnType::Inbound => ConnectionType::Inbound,
                        ConnType::Manual => ConnectionType::Manual,
                        ConnType::Outbound => ConnectionType::OutboundFullRelay,
                    },
                    version: s.remote.as_ref().map_or(0, |r| r.version),
                    subver: s
                        .remote
                        .as_ref()
                        .map_or(String::new(), |r| r.user_agent.clone()),
                    startingheight: s.remote.as_ref().map_or(-1, |r| i64::from(r.best_height)),
                    synced_headers: s.synced_headers,
                    synced_blocks: s.synced_blocks,
                    bytessent: s.bytes_sent,
                    bytesrecv: s.bytes_recv,
                    conntime: p.conntime,
                    banscore: s.banscore,
                    timeoffset: 0,
                    relaytxes: true,
                    last_transaction: 0,
                    last_block: p.last_block_time(),
                    servicesnames: if handshaken {
                        vec!["NETWORK".into()]
                    } else {
                        Vec::new()
                    },
                    bip152_hb_to: s.bip152_hb_to,
                    bip152_hb_from: s.bip152_hb_from,
                    presynced_headers: -1,
                    inflight: Vec::new(),
                    addr_relay_enabled: true,
                    addr_processed: 0,
                    addr_rate_limited: 0,
                    permissions: Vec::new(),
                    minfeefilter: Amount::ZERO,
                    bytessent_per_msg: s.bytes_sent_per_msg.clone(),
                    bytesrecv_per_msg: s.bytes_recv_per_msg.clone(),
                    transport_protocol_type: "v1".into(),
                    session_id: String::new(),
                    pingtime: s.ping.map(|d| d.as_secs_f64()),
                    minping: s.min_ping.map(|d| d.as_secs_f64()),
                    // Every dotcoin node serves the full chain: Core's NODE_NETWORK.
                    services: if handshaken {
                        NODE_NETWORK
                    } else {
                        NO_SERVICES
                    }
                    .into(),
                    lastsend: s.last_send,
                    lastrecv: s.last_recv,
                    network: network_name(&p.addr.ip()).into(),
                    addnode: p.conn_type == ConnType::Manual,
                    addednode: p.target.clone(),
                    firstseen_blocks: firsts.blocks,
                    firstseen_txs: firsts.txs,
                }
            })
            .collect())
    }

    fn getconnectioncount(&self) -> RpcResult<usize> {
        Ok(self.ctx.net.peer_count())
    }

    fn getnetworkinfo(&self) -> RpcResult<NetworkInfo> {
        let peers = self.net().peers();
        let inbound = peers.iter().filter(|p| p.inbound()).count();
        let localaddresses = self
            .net()
            .listen_addr()
            .map(|a| LocalAddress {
                address: a.ip().to_string(),
                port: a.port(),
                score: 1,
            })
            .into_iter()
            .collect();
        let relay = self.ctx.chain.snapshot().mempool().min_fee_rate();
        Ok(NetworkInfo {
            version: numeric_version(),
            subversion: PeerHandle::user_agent(),
            protocolversion: PROTOCOL_VERSION,
            connections: peers.len() as u64,
            connections_in: inbound as u64,
            connections_out: (peers.len() - inbound) as u64,
            networkactive: self.net().network_active(),
            localservices: NODE_NETWORK.into(),
            localservicesnames: vec!["NETWORK".into()],
            localrelay: true,
            timeoffset: 0,
            networks: NetworkReach::all(),
            relayfee: Amount::from_sat(relay.to_sat_per_kvb()),
            incrementalfee: Amount::from_sat(relay.to_sat_per_kvb()),
            localaddresses,
            warnings: String::new(),
        })
    }

    fn addnode(&self, node: Text, command: KeywordArg<AddNodeCommand>) -> RpcResult<()> {
        let target = node.0;
        self.send(match *command {
            AddNodeCommand::Add => PeerCommand::AddNode(target),
            AddNodeCommand::Remove => PeerCommand::RemoveNode(target),
            AddNodeCommand::OneTry => PeerCommand::ConnectOnce(target),
        })
    }

    fn disconnectnode(&self, address: Option<Text>, nodeid: Option<Int>) -> RpcResult<()> {
        let only_one = || {
            rpc_error(
                RpcErrorCode::InvalidParameter,
                "Only one of address and nodeid should be provided.",
            )
        };
        // Core treats an empty address as not given.
        let address = address.map(|a| a.0).filter(|a| !a.is_empty());
        let id = match (&address, nodeid) {
            (None, Some(n)) => Some(u64::try_from(n.0).map_err(|_| {
                rpc_error(
                    RpcErrorCode::InvalidParameter,
                    "nodeid must not be negative",
                )
            })?),
            (Some(_), Some(_)) => return Err(only_one()),
            _ => None,
        };
        if address.is_none() && id.is_none() {
            return Err(only_one());
        }
        self.send(PeerCommand::Disconnect { address, id })
    }

    fn setban(
        &self,
        subnet: Text,
        command: KeywordArg<BanCommand>,
        bantime: Option<Int>,
        absolute: Option<Flag>,
    ) -> RpcResult<()> {
        let ip = parse_ip(&subnet)?;
        match *command {
            BanCommand::Add => {
                // Core reads bantime as an int64 (the wire refuses larger numbers as "JSON
                // integer out of range"), and a ban computed from one can never outlast
                // what it can say.
                let secs = match bantime {
                    None => 0,
                    Some(t) => u64::try_from(t.0).map_err(|_| {
                        rpc_error(
                            RpcErrorCode::InvalidParameter,
                            "bantime must not be negative",
                        )
                    })?,
                };
                let absolute = absolute.is_some_and(|a| a.0);
                let now = unix_time();
                let until = match (secs, absolute) {
                    (0, _) => now + self.net().bantime(),
                    (t, true) => t,
                    (t, false) => now.saturating_add(t).min(i64::MAX as u64),
                };
                if until <= now {
                    return Err(rpc_error(
                        RpcErrorCode::InvalidParameter,
                        "Error: Absolute timestamp is in the past",
                    ));
                }
                self.send(PeerCommand::Ban { ip, until })
            }
            BanCommand::Remove => self.send(PeerCommand::Unban(ip)),
        }
    }

    fn listbanned(&self) -> RpcResult<Vec<BannedEntry>> {
        let now = unix_time();
        Ok(self
            .net()
            .bans()
            .iter()
            .map(|(ip, b)| BannedEntry {
                address: subnet_of(ip),
                ban_created: b.created,
                banned_until: b.until,
                ban_duration: b.until.saturating_sub(b.created),
                time_remaining: b.until.saturating_sub(now),
            })
            .collect())
    }

    fn clearbanned(&self) -> RpcResult<()> {
        self.send(PeerCommand::ClearBans)
    }

    fn getaddednodeinfo(&self, node: Option<Text>) -> RpcResult<Vec<AddedNodeInfo>> {
        let wanted = node.map(|n| n.0);
        let peers = self.net().peers();
        let list: Vec<AddedNodeInfo> = self
            .net()
            .added_nodes()
            .into_iter()
            .filter(|(target, _)| wanted.as_ref().is_none_or(|w| w == target))
            .map(|(target, connected)| AddedNodeInfo {
                addresses: peers
                    .iter()
                    .filter(|p| p.target.as_deref() == Some(target.as_str()))
                    .map(|p| AddedNodeAddress {
                        address: p.addr.to_string(),
                        connected: "outbound".into(),
                    })
                    .collect(),
                addednode: target,
                connected,
            })
            .collect();
        if let (Some(w), true) = (wanted, list.is_empty()) {
            return Err(rpc_error(
                RpcErrorCode::NodeNotAdded,
                format!("Error: Node has not been added: {w}"),
            ));
        }
        Ok(list)
    }

    fn getnodeaddresses(
        &self,
        count: Option<Uint>,
        network: Option<KeywordArg<AddrNetwork>>,
    ) -> RpcResult<Vec<NodeAddress>> {
        // Core: 0 means all.
        let count = match count.map_or(1, |c| c.0) {
            0 => usize::MAX,
            n => n as usize,
        };
        let wanted = network.map(|n| n.0.name());
        Ok(self
            .net()
            .known_addrs()
            .into_iter()
            .filter(|(a, _)| wanted.is_none_or(|w| w == network_name(&a.ip())))
            .take(count)
            .map(|(a, time)| NodeAddress {
                time,
                services: 1,
                address: a.ip().to_string(),
                port: a.port(),
                network: network_name(&a.ip()).into(),
            })
            .collect())
    }

    fn ping(&self) -> RpcResult<()> {
        self.send(PeerCommand::PingAll)
    }

    fn setnetworkactive(&self, state: Flag) -> RpcResult<bool> {
        self.send(PeerCommand::SetNetworkActive(*state))?;
        Ok(self.net().network_active())
    }

    fn getnettotals(&self) -> RpcResult<NetTotals> {
        let (sent, recv) = self.net().net_totals();
        Ok(NetTotals {
            totalbytesrecv: recv,
            totalbytessent: sent,
            timemillis: unix_time() * 1000,
            uploadtarget: UploadTarget::none(),
        })
    }
}
