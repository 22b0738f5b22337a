//! The JSON-RPC server (jsonrpsee over HTTP) and its plugins, one file per Bitcoin Core
//! category, each a `#[rpc(server)]` trait merged here into one module.
//!
//! Cross-cutting work happens once, in the Core-wire layer the wallet service shares
//! (`dotcoin_rpc_server`): HTTP Basic authentication against the cookie or
//! `rpcuser`/`rpcpassword`, Bitcoin Core's wire format (1.0/1.1 and 2.0 dialects, batches
//! element by element), the body, batch and reply limits, a tracing span per request, and
//! parameters held against each method's definition in [`spec`] (from which `help` is
//! printed too). Wallet calls asked of the node get a pointer to the wallet service.

pub mod address;
pub mod blockchain;
pub mod control;
pub mod error;
pub mod json;
pub mod mining;
pub mod network;
pub mod plugin;
pub mod propagation;
pub mod psbt;
pub mod rawtx;
pub mod spec;
pub mod subscriptions;
pub mod util;
pub mod zmq;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use dotcoin_rpc_server::serve::{Limits, ServeHandle};
use jsonrpsee::server::{PingConfig, Server, ServerHandle};
use jsonrpsee::RpcModule;
use tokio::sync::Notify;
use tracing::info;

use crate::miner::MinerService;
use crate::state::ChainService;

/// What every plugin gets: the services, and the way to ask the process to stop.
#[derive(Debug, Clone)]
pub struct RpcContext {
    /// The chain service (snapshots for reads, the writer for changes).
    pub chain: Arc<ChainService>,
    /// The miner service.
    pub miner: Arc<MinerService>,
    /// Notified by the `stop` call.
    pub shutdown: Arc<Notify>,
    /// The P2P layer.
    pub net: crate::net::PeerHandle,
    /// When the node started.
    pub started: std::time::Instant,
    /// Runtime plugins.
    pub plugins: Arc<crate::plugins::PluginHost>,
    /// The log categories at debug level.
    pub log: Arc<crate::logging::LogControl>,
}

/// Most calls one JSON-RPC batch may hold; a larger batch is refused whole (-32010).
pub const MAX_BATCH: u32 = 1000;
/// Most bytes of one request body.
pub const MAX_BODY: usize = 16 * 1024 * 1024;
/// Most bytes of one answer (all the replies of a batch together): a batch of a thousand
/// verbose `getblock` calls is refused cleanly (-32011) instead of growing the node.
pub const MAX_REPLY: usize = 64 * 1024 * 1024;

/// Most WebSocket subscriptions one connection may hold.
pub const MAX_SUBSCRIPTIONS_PER_CONNECTION: u32 = 32;
/// Most HTTP connections at once; at the cap a newcomer closes the longest-idle one.
pub const MAX_CONNECTIONS: usize = 128;
/// Most HTTP connections at once from one client address.
pub const MAX_CONNECTIONS_PER_CLIENT: usize = 96;
/// Most WebSocket sessions at once (apart from the HTTP connections); at the cap a
/// newcomer closes the oldest.
pub const MAX_WEBSOCKETS: usize = 64;
/// Most WebSocket sessions at once from one client address.
pub const MAX_WEBSOCKETS_PER_CLIENT: usize = 32;
/// By default, how long a request head or body may take, an idle connection is kept and
/// a write may stall (`--rpcservertimeout`, as Core's `-rpcservertimeout`).
pub const SERVER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// All plugins merged into one module.
pub fn build_module(ctx: RpcContext) -> RpcModule<()> {
    use self::psbt::PsbtRpcServer;
    use address::AddressIndexRpcServer;
    use blockchain::BlockchainRpcServer;
    use control::ControlRpcServer;
    use mining::MiningRpcServer;
    use network::NetworkRpcServer;
    use plugin::PluginRpcServer;
    use rawtx::RawTransactionsRpcServer;
    use subscriptions::SubscriptionsRpcServer;
    use util::UtilRpcServer;
    use zmq::ZmqRpcServer;

    use propagation::PropagationRpcServer;
    let ctx_propagation = ctx.clone();
    let mut module = RpcModule::new(());
    let merges = [
        module.merge(control::ControlRpcImpl::new(ctx.clone()).into_rpc()),
        module.merge(blockchain::BlockchainRpcImpl::new(ctx.clone()).into_rpc()),
        module.merge(address::AddressIndexRpcImpl::new(ctx.clone()).into_rpc()),
        module.merge(rawtx::RawTransactionsRpcImpl::new(ctx.clone()).into_rpc()),
        module.merge(mining::MiningRpcImpl::new(ctx.clone()).into_rpc()),
        module.merge(plugin::PluginRpcImpl::new(ctx.clone()).into_rpc()),
        module.merge(subscriptions::SubscriptionsRpcImpl::new(ctx.clone()).into_rpc()),
        module.merge(network::NetworkRpcImpl::new(ctx.clone()).into_rpc()),
        module.merge(util::UtilRpcImpl::new(ctx.clone()).into_rpc()),
        module.merge(zmq::ZmqRpcImpl.into_rpc()),
        module.merge(propagation::PropagationRpcImpl::new(ctx_propagation).into_rpc()),
        module.merge(psbt::PsbtRpcImpl::new(ctx.clone()).into_rpc()),
    ];
    for m in merges {
        m.expect("method names are unique across plugins");
    }
    module
}

/// How clients authenticate.
#[derive(Debug, Clone)]
pub enum RpcAuth {
    /// `rpcuser`/`rpcpassword` from the config.
    UserPassword(String, String),
    /// A random cookie written to the datadir.
    Cookie,
}

/// The running server: its address and what to clean up when it stops.
#[derive(Debug)]
pub struct RpcServer {
    serving: ServeHandle,
    handle: ServerHandle,
    addr: SocketAddr,
    cookie: Option<PathBuf>,
    /// `dotcoind.pid`, written with the cookie: clients check the cookie's writer is alive.
    pid_file: Option<PathBuf>,
    user: String,
    password: String,
}

impl RpcServer {
    /// The bound address (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The credentials clients must present (what the dashboard derives its token from).
    pub fn credentials(&self) -> (&str, &str) {
        (&self.user, &self.password)
    }

    /// Stops the server and removes the cookie.
    pub async fn stop(self) {
        // WebSocket sessions get their close frame; then the connections wind down.
        let _ = self.handle.stop();
        self.serving.stopped().await;
        if let Some(c) = self.cookie {
            let _ = std::fs::remove_file(&c);
        }
        if let Some(p) = self.pid_file {
            let _ = std::fs::remove_file(&p);
        }
    }
}

/// Starts the server on `addr` with `auth`, accepting the users of `rpcauth` too;
/// `timeout` bounds request heads and bodies, idle connections and stalled writes.
pub async fn start(
    ctx: RpcContext,
    addr: SocketAddr,
    auth: RpcAuth,
    rpcauth: Vec<dotcoin_rpc_server::RpcAuthEntry>,
    timeout: std::time::Duration,
) -> std::io::Result<RpcServer> {
    let datadir = ctx.chain.datadir().to_path_buf();
    let mut pid_file = None;
    let (user, password, cookie) = match auth {
        RpcAuth::UserPassword(u, p) => (u, p, None),
        RpcAuth::Cookie => {
            // The pid first: a client that finds the new cookie finds its writer too.
            pid_file = Some(dotcoin_rpc_server::auth::write_private_file(
                &datadir,
                dotcoin_rpc_client::NODE_PID_FILE,
                &format!("{}\n", std::process::id()),
            )?);
            let (path, pw) = dotcoin_rpc_server::auth::write_cookie(
                &datadir,
                dotcoin_common::params::COOKIE_FILE,
                dotcoin_common::params::COOKIE_USER,
            )?;
            (
                dotcoin_common::params::COOKIE_USER.to_owned(),
                pw,
                Some(path),
            )
        }
    };
    let wire = dotcoin_rpc_server::CoreWireLayer::new(
        spec::NodeTable,
        dotcoin_rpc_server::Credentials::new(&user, &password).with_rpcauth(rpcauth),
        dotcoin_rpc_server::WireConfig {
            max_body: MAX_BODY,
            max_batch: MAX_BATCH as usize,
            max_reply: MAX_REPLY,
            wallet_endpoints: false,
            // WebSocket upgrades (subscriptions) are jsonrpsee's to answer.
            pass_non_post: true,
            wallet_methods: dotcoin_rpc_client::WALLET_METHODS,
            core_wallet_methods: dotcoin_rpc_client::CORE_WALLET_METHODS,
        },
    );
    let middleware = tower::ServiceBuilder::new().layer(wire);
    let host = Arc::clone(&ctx.plugins);
    let rpc_middleware = jsonrpsee::server::middleware::rpc::RpcServiceBuilder::new()
        // Outermost, so plugin methods are timed too (as "other").
        .layer(dotcoin_rpc_server::observe::ObserveLayer::new(
            crate::metrics::rpc_call,
        ))
        .layer_fn(move |service| plugin::PluginRouter::new(service, Arc::clone(&host)));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let builder = Server::builder()
        // The accept loop's caps decide (per socket, with eviction); jsonrpsee's own
        // count is of calls and sessions together, so it is set out of their way.
        .max_connections(((MAX_CONNECTIONS + MAX_WEBSOCKETS) * 2) as u32)
        .max_subscriptions_per_connection(MAX_SUBSCRIPTIONS_PER_CONNECTION)
        // An unbounded batch lets one request queue unbounded work and reply memory.
        .set_batch_request_config(jsonrpsee::server::BatchRequestConfig::Limit(MAX_BATCH))
        .max_request_body_size(MAX_BODY as u32)
        .max_response_body_size(MAX_REPLY as u32)
        // A WebSocket client that stops answering pings is closed.
        .enable_ws_ping(
            PingConfig::new()
                .ping_interval(timeout / 2)
                .inactive_limit(timeout)
                .max_failures(2),
        )
        .set_http_middleware(middleware)
        .set_rpc_middleware(rpc_middleware)
        .to_service_builder();
    let module = build_module(ctx.clone());
    ctx.plugins.set_rpc(
        crate::plugins::RpcEndpoint {
            url: format!("http://{addr}/"),
            cookie_file: cookie.clone(),
            user: cookie.is_none().then(|| user.clone()),
            password: cookie.is_none().then(|| password.clone()),
        },
        module.method_names().map(str::to_owned).collect(),
    );
    let limits = Limits {
        max_connections: MAX_CONNECTIONS,
        max_per_client: MAX_CONNECTIONS_PER_CLIENT,
        max_websockets: MAX_WEBSOCKETS,
        max_websockets_per_client: MAX_WEBSOCKETS_PER_CLIENT,
        timeout,
    };
    let (serving, handle) =
        dotcoin_rpc_server::serve::serve_jsonrpsee(listener, "rpc", limits, builder, module.into());
    info!(target: "rpc", %addr, "RPC server listening");
    Ok(RpcServer {
        serving,
        handle,
        addr,
        cookie,
        pid_file,
        user,
        password,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_help_cli_table_and_typed_client_list_the_same_methods() {
        let dir = tempfile::tempdir().expect("tempdir");
        let chain = crate::state::ChainService::open(
            crate::state::ChainOptions {
                datadir: dir.path().to_path_buf(),
                params: dotcoin_common::Network::Regtest.params(),
                max_mempool_bytes: 1_000_000,
                min_relay_fee: dotcoin_common::FeeRate::from_sat_per_kvb(1000),
                db_cache_bytes: crate::storage::DEFAULT_DB_CACHE_BYTES,
            },
            crate::state::EventBus::new(),
        )
        .expect("open");
        let ctx = RpcContext {
            miner: crate::miner::MinerService::new(Arc::clone(&chain)),
            net: crate::net::PeerHandle::new(
                Arc::clone(&chain),
                crate::net::NetConfig {
                    listen: None,
                    connect: vec![],
                    addnode: vec![],
                    seednode: vec![],
                    max_inbound: 0,
                    max_inbound_per_ip: 0,
                    max_outbound: 0,
                    bantime: 60,
                    plugins: None,
                    connection_tick: crate::net::DEFAULT_CONNECTION_TICK,

                    compact: Default::default(),
                },
            ),
            plugins: crate::plugins::PluginHost::new(
                crate::plugins::HostSettings {
                    network: dotcoin_common::Network::Regtest,
                    datadir: dir.path().to_path_buf(),
                    options: vec![],
                    timeout: std::time::Duration::from_secs(1),
                },
                Arc::clone(&chain),
            ),
            chain,
            shutdown: Arc::new(Notify::new()),
            started: std::time::Instant::now(),
            log: Arc::new(crate::logging::LogControl::detached()),
        };
        use std::collections::BTreeSet;

        use dotcoin_rpc_client::api::{contract_mismatches, names_in_help, Service};

        // The four lists of the node's methods, each read from where it is used: what the
        // server registers, what `help` prints, `dotcoin-cli`'s conversion table and the
        // typed client; and each method's parameters against the table's. WebSocket-only
        // methods (subscriptions) are in the first two only: the CLI and the typed client
        // speak HTTP.
        let module = build_module(ctx);
        let websocket_only: BTreeSet<&str> = spec::SPECS
            .iter()
            .filter(|s| s.category == "Subscriptions")
            .map(|s| s.name)
            .collect();
        let registered: BTreeSet<&str> = module.method_names().collect();
        let overview = control::help_overview(&[]);
        let helped = names_in_help(&overview);
        assert_eq!(registered, helped, "registered vs help");
        fn http<'a>(set: &BTreeSet<&'a str>, websocket_only: &BTreeSet<&str>) -> BTreeSet<&'a str> {
            set.iter()
                .filter(|m| !websocket_only.contains(*m))
                .copied()
                .collect()
        }
        let found = contract_mismatches(
            Service::Node,
            &http(&registered, &websocket_only),
            &http(&helped, &websocket_only),
            dotcoin_rpc_client::methods::NODE_METHODS,
            |m| {
                spec::find(m).map(|s| {
                    s.args
                        .iter()
                        .map(|a| (a.main_name(), a.cli_string))
                        .collect()
                })
            },
        );
        assert!(found.is_empty(), "{}", found.join("\n"));
        for s in spec::SPECS {
            let text = spec::help_text(s);
            for section in ["Result:", "Examples:", "> dotcoin-cli ", "> curl "] {
                assert!(
                    text.contains(section),
                    "help {} lacks {section}:\n{text}",
                    s.name
                );
            }
            assert!(
                s.args.is_empty() || text.contains("Arguments:\n1. "),
                "help {} lacks its arguments:\n{text}",
                s.name
            );
        }
    }
}
