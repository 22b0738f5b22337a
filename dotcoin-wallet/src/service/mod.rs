//! `dotcoin-wallet serve`: the wallet as a service, as btcwallet is for btcd. It serves
//! Bitcoin Core's wallet RPCs on a port of its own (127.0.0.1, the node's RPC port + 3 by
//! default), holds the keys of the wallets it has loaded, and asks the node only for
//! public data and to broadcast, exactly as the command-line wallet does.
//!
//! Bird's eye view:
//! - [`wire`]: the service's side of the Core-wire layer it shares with the node
//!   (`dotcoin_rpc_server`: Basic auth against `<network datadir>/.wallet-cookie`, Core's
//!   1.0/2.0 dialects, batches, limits): its table, the `/wallet/<name>` endpoints and
//!   duplicate-key refusal.
//! - [`methods`]: the method table (names, Core's parameter names, their declared types,
//!   defaults and descriptions) and one typed handler per method, returning the typed
//!   results of `dotcoin_common::wallet_rpc_types`; [`params`]: Core's error codes and
//!   the wallet-specific readers (an address of the network, a label).
//! - [`client`]: `dotcoin-wallet <command>` on a wallet the service holds is sent to
//!   the service as the matching RPC.
//! - [`send`]: `send`, `sendall`, `fundrawtransaction` and the funding path they share
//!   with `walletcreatefundedpsbt` ([`spend`]); [`bump`]: `bumpfee` and `psbtbumpfee`.
//! - [`history`]: each wallet's own transaction record (`crate::history`) kept up to
//!   date with the node, and the history calls answered from it; [`locks`]: coins kept
//!   from coin selection (`lockunspent`).
//! - [`follow`]: follows the node's tip with `waitfornewblock` long polls, noticing
//!   reorgs. The wallet's coins are the node's address index (the same source
//!   the command-line wallet uses), so every answer reflects the node's current best
//!   chain and mempool: a new block or a reorg shows up without any rescan.
//! - [`http`]: `GET /metrics` ([`metrics`]) and `POST /faucet` ([`faucet`], regtest
//!   only) on the same port, answered before the wire layer.
//! - This module: the loaded wallets (each holding its file's OS lock), the cookie and
//!   ports files, start and shutdown.
//!
//! Secrets: a passphrase given to `walletpassphrase` unlocks the wallet's master key for
//! the timeout only; a timer (or `walletlock`, `unloadwallet`, shutdown) drops the key,
//! which wipes it. Nothing is logged but method names.

pub mod bump;
pub mod client;
pub mod descriptors;
pub mod faucet;
pub mod follow;
pub mod history;
pub mod http;
pub mod keys;
pub mod locks;
pub mod methods;
pub mod metrics;
pub mod params;
pub mod send;
pub mod spend;
pub mod unspent;
pub mod wire;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Weak};
use std::time::Duration;

use dotcoin_common::params::{default_base_datadir, network_datadir};
use dotcoin_common::{Amount, BlockHash, Network};
use dotcoin_rpc_server::auth::write_private_file;
use dotcoin_rpc_server::serve::{Limits, ServeHandle};
use jsonrpsee::server::{Server, ServerHandle};
use serde_json::Value;
use tokio::sync::{watch, Notify};
use tracing::{info, warn};

use crate::cli::{Cli, Command};
use crate::crypto::KdfParams;
use crate::error::WalletError;
use crate::node::{NodeApi, NodeError};
use crate::persist::{self, Store, WalletLock};
use crate::wallet::{Wallet, DEFAULT_KEYPOOL_SIZE};
use params::{Code, RpcFailure, RpcResult};

/// The service's cookie file, in the network's datadir beside the node's `.cookie`.
pub const COOKIE_FILE: &str = ".wallet-cookie";
/// Where the service writes the port it bound and its process id (`{"rpc": P, "pid": N}`),
/// like `dotcoind.ports`.
pub const PORTS_FILE: &str = dotcoin_rpc_client::WALLET_PORTS_FILE;
/// The service's default port is the node's RPC port plus this.
pub const PORT_OFFSET: u16 = 3;
/// Core's cap on `walletpassphrase`'s timeout (about three years), in seconds.
pub const MAX_UNLOCK_SECONDS: i64 = 100_000_000;

/// The node, reached with the shared RPC client. Unlike the command-line wallet's
/// [`crate::node::RpcNode`] it is `Sync`, as the server's tasks share it.
#[derive(Debug, Clone)]
pub struct ServiceNode {
    client: dotcoin_rpc_client::RpcClient,
}

impl NodeApi for ServiceNode {
    async fn call(&self, method: &str, params: Value) -> Result<Value, NodeError> {
        self.client.call(method, params).await.map_err(|e| match e {
            dotcoin_rpc_client::RpcError::Rpc { code, message } => NodeError {
                code: Some(code),
                message,
            },
            other => NodeError {
                code: None,
                message: other.to_string(),
            },
        })
    }
}

/// The node's tip as the follower last saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tip {
    /// Best block.
    pub hash: BlockHash,
    /// Its height.
    pub height: u32,
}

/// A loaded wallet: the document, its file and the file's lock.
#[derive(Debug)]
pub struct Loaded {
    /// The wallet's name.
    pub name: String,
    /// Its file.
    pub store: Store,
    /// The wallet.
    pub wallet: Wallet,
    /// When an unlocked encrypted wallet locks again (Unix seconds).
    pub unlocked_until: Option<u64>,
    /// Bumped by every unlock and lock, so an old relock timer knows it is stale.
    pub unlock_generation: u64,
    /// The wallet's own record of its transactions and its persistent coin locks.
    pub history: crate::history::History,
    _lock: WalletLock,
}

impl Loaded {
    /// Writes staged changes.
    pub fn persist(&mut self) -> Result<(), WalletError> {
        self.store.persist(&mut self.wallet).map(|_| ())
    }

    /// Locks an encrypted wallet now (the master key is wiped as it drops).
    pub fn relock(&mut self) {
        self.wallet.lock();
        self.unlocked_until = None;
        self.unlock_generation += 1;
    }
}

/// A shared handle on one loaded wallet.
pub type WalletHandle = Arc<tokio::sync::Mutex<Loaded>>;

/// The service's state.
#[derive(Debug)]
pub struct Service {
    /// The network.
    pub network: Network,
    /// Base datadir (wallets live in `<network datadir>/wallets/`).
    pub base: PathBuf,
    /// The node.
    pub node: ServiceNode,
    /// Argon2id costs for `encryptwallet` and `walletpassphrasechange`.
    pub kdf: KdfParams,
    /// Highest fee of one transaction.
    pub maxtxfee: Amount,
    /// The follower's view of the node's tip.
    pub tip: watch::Sender<Option<Tip>>,
    /// Notified by `stop`.
    pub shutdown: Notify,
    wallets: std::sync::Mutex<BTreeMap<String, WalletHandle>>,
    /// The faucet, when `--faucetwallet` set one up (regtest only).
    pub faucet: Option<faucet::Faucet>,
}

impl Service {
    /// A service with no wallet loaded.
    pub fn new(
        network: Network,
        base: PathBuf,
        node: dotcoin_rpc_client::ConnectOptions,
        maxtxfee: Amount,
    ) -> Result<Arc<Service>, WalletError> {
        let client = dotcoin_rpc_client::RpcClient::new(&node)
            .map_err(|e| WalletError::Node(e.to_string()))?;
        Ok(Arc::new(Service {
            network,
            base,
            node: ServiceNode { client },
            kdf: KdfParams::DEFAULT,
            maxtxfee,
            tip: watch::Sender::new(None),
            shutdown: Notify::new(),
            wallets: std::sync::Mutex::new(BTreeMap::new()),
            faucet: None,
        }))
    }

    /// [`Service::new`] with a faucet.
    pub fn with_faucet(
        network: Network,
        base: PathBuf,
        node: dotcoin_rpc_client::ConnectOptions,
        maxtxfee: Amount,
        faucet: Option<faucet::Faucet>,
    ) -> Result<Arc<Service>, WalletError> {
        let mut service = Service::new(network, base, node, maxtxfee)?;
        Arc::get_mut(&mut service)
            .expect("a service just made has no other handle")
            .faucet = faucet;
        Ok(service)
    }

    fn wallets(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, WalletHandle>> {
        self.wallets.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The loaded wallets' names, sorted.
    pub fn loaded_names(&self) -> Vec<String> {
        self.wallets().keys().cloned().collect()
    }

    /// The wallet a call is for: the endpoint's (`/wallet/<name>`), or the only one.
    pub fn wallet_for(&self, endpoint: Option<&str>) -> RpcResult<WalletHandle> {
        let wallets = self.wallets();
        match endpoint {
            Some(name) => wallets.get(name).cloned().ok_or_else(|| {
                RpcFailure::new(
                    Code::WalletNotFound,
                    "Requested wallet does not exist or is not loaded",
                )
            }),
            None => match wallets.len() {
                1 => Ok(wallets.values().next().cloned().expect("one wallet")),
                0 => Err(RpcFailure::new(
                    Code::WalletNotFound,
                    "No wallet is loaded. Load a wallet using loadwallet or create a new one \
                     with createwallet. (Note: A default wallet is no longer automatically \
                     created)",
                )),
                _ => Err(RpcFailure::new(
                    Code::WalletNotSpecified,
                    "Wallet file not specified (must request wallet RPC through \
                     /wallet/<filename> uri-path).",
                )),
            },
        }
    }

    /// Opens (or with `create`, creates) the wallet `name` and loads it.
    pub fn load(&self, name: &str, create: bool) -> RpcResult<WalletHandle> {
        let new = create.then(|| Wallet::create(self.network, DEFAULT_KEYPOOL_SIZE));
        self.load_or_create(name, new)
    }

    /// Loads the wallet `name` from its file, or with `new`, writes `new` as that wallet
    /// (refused if the file exists) and loads it.
    pub fn load_or_create(&self, name: &str, new: Option<Wallet>) -> RpcResult<WalletHandle> {
        let create = new.is_some();
        if self.wallets().contains_key(name) {
            return Err(RpcFailure::new(
                Code::WalletAlreadyLoaded,
                format!("Wallet \"{name}\" is already loaded."),
            ));
        }
        let path = persist::wallet_path(&self.base, self.network, name)
            .map_err(|e| RpcFailure::new(Code::Wallet, e.to_string()))?;
        let store = Store::new(path.clone());
        let lock = store.lock().map_err(|e| {
            RpcFailure::new(
                Code::Wallet,
                format!("Wallet file verification failed. {e}"),
            )
        })?;
        let wallet = if let Some(mut wallet) = new {
            if path.exists() {
                return Err(RpcFailure::new(
                    Code::Wallet,
                    format!(
                        "Wallet file verification failed. Failed to create database path \
                         '{}'. Database already exists.",
                        path.display()
                    ),
                ));
            }
            store.create(&mut wallet)?;
            wallet
        } else {
            match store.load(self.network) {
                Ok(w) => w,
                Err(WalletError::NotFound(p)) => {
                    return Err(RpcFailure::new(
                        Code::WalletNotFound,
                        format!(
                            "Wallet file verification failed. Failed to load database path \
                             '{}'. Path does not exist.",
                            p.display()
                        ),
                    ))
                }
                Err(e) => {
                    return Err(RpcFailure::new(
                        Code::Wallet,
                        format!("Wallet file verification failed. {e}"),
                    ))
                }
            }
        };
        let history_path = crate::history::history_path(&path);
        if create {
            // A history left by an earlier wallet of the same name is not this one's.
            let _ = std::fs::remove_file(&history_path);
        }
        let history = crate::history::History::open(history_path).map_err(|e| {
            RpcFailure::new(
                Code::Wallet,
                format!("Wallet file verification failed. {e}"),
            )
        })?;
        let handle = Arc::new(tokio::sync::Mutex::new(Loaded {
            name: name.to_owned(),
            store,
            wallet,
            unlocked_until: None,
            unlock_generation: 0,
            history,
            _lock: lock,
        }));
        let mut wallets = self.wallets();
        if wallets.contains_key(name) {
            return Err(RpcFailure::new(
                Code::WalletAlreadyLoaded,
                format!("Wallet \"{name}\" is already loaded."),
            ));
        }
        wallets.insert(name.to_owned(), Arc::clone(&handle));
        info!(target: "wallet", wallet = name, created = create, "wallet loaded");
        Ok(handle)
    }

    /// Unloads `name`: it leaves the table now, and its lock and keys go when the last
    /// call using it ends.
    pub fn unload(&self, name: &str) -> RpcResult<()> {
        match self.wallets().remove(name) {
            Some(_) => {
                info!(target: "wallet", wallet = name, "wallet unloaded");
                Ok(())
            }
            None => Err(RpcFailure::new(
                Code::WalletNotFound,
                "Requested wallet does not exist or is not loaded",
            )),
        }
    }

    /// Locks `handle` again after `seconds` unless it was unlocked or locked since.
    pub fn schedule_relock(handle: &WalletHandle, generation: u64, seconds: u64) {
        let weak: Weak<tokio::sync::Mutex<Loaded>> = Arc::downgrade(handle);
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(seconds)).await;
            if let Some(handle) = weak.upgrade() {
                let mut loaded = handle.lock().await;
                if loaded.unlock_generation == generation {
                    loaded.relock();
                    info!(target: "wallet", wallet = %loaded.name, "unlock timeout: wallet locked");
                }
            }
        });
    }
}

/// Unix time now, in seconds.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The running service.
#[derive(Debug)]
pub struct Running {
    /// The bound address.
    pub addr: SocketAddr,
    serving: ServeHandle,
    handle: ServerHandle,
    cookie: PathBuf,
    ports: PathBuf,
    service: Arc<Service>,
}

impl Running {
    /// Stops serving, locks every wallet and removes the cookie and ports files.
    pub async fn stop(self) {
        let _ = self.handle.stop();
        self.serving.stopped().await;
        for name in self.service.loaded_names() {
            if let Ok(h) = self.service.wallet_for(Some(&name)) {
                h.lock().await.relock();
            }
        }
        let _ = std::fs::remove_file(&self.cookie);
        let _ = std::fs::remove_file(&self.ports);
    }
}

/// Most HTTP connections the service holds at once; at the cap a newcomer closes the
/// longest-idle one.
pub const MAX_CONNECTIONS: usize = 64;
/// Most HTTP connections at once from one client address.
pub const MAX_CONNECTIONS_PER_CLIENT: usize = 48;
/// Starts serving `service` on `addr`: writes the cookie, then the ports file (with this
/// process's id).
pub async fn start(
    service: Arc<Service>,
    addr: SocketAddr,
    timeout: Duration,
) -> Result<Running, WalletError> {
    let dir = network_datadir(&service.base, service.network);
    let user = dotcoin_common::params::COOKIE_USER;
    // The cookie's password before the server exists; the file itself only once it is
    // bound, so a client never reads a cookie for a port nobody serves.
    let password = hex::encode(rand::random::<[u8; 32]>());
    let middleware = tower::ServiceBuilder::new()
        .layer(http::RoutesLayer::new(Arc::clone(&service)))
        .layer(wire::layer(user, &password));
    let rpc_middleware = jsonrpsee::server::middleware::rpc::RpcServiceBuilder::new().layer(
        dotcoin_rpc_server::observe::ObserveLayer::new(|method, elapsed, ok| {
            metrics::global().rpc_call(method, elapsed, ok)
        }),
    );
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| WalletError::Node(format!("cannot listen on {addr}: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| WalletError::Node(format!("cannot read the bound address: {e}")))?;
    let builder = Server::builder()
        // The accept loop's caps decide (per socket, with eviction of idle ones).
        .max_connections((MAX_CONNECTIONS * 2) as u32)
        .max_request_body_size(wire::MAX_BODY as u32)
        .max_response_body_size(wire::MAX_REPLY as u32)
        .http_only()
        .set_http_middleware(middleware)
        .set_rpc_middleware(rpc_middleware)
        .to_service_builder();
    // The cookie, then the ports file (a client that finds the ports file finds the
    // cookie). A ports file left by a killed service goes first, so a client that reads
    // the new cookie never checks it against the dead pid; the new one names this process
    // (clients refuse a cookie whose writer is gone: `dotcoin_rpc_client::check_cookie_writer`).
    let _ = std::fs::remove_file(dir.join(PORTS_FILE));
    let cookie = write_private_file(&dir, COOKIE_FILE, &format!("{user}:{password}"))
        .map_err(|e| WalletError::io("cannot write the wallet cookie", dir.join(COOKIE_FILE), e))?;
    let ports_json = serde_json::json!({ "rpc": addr.port(), "pid": std::process::id() });
    let ports = write_private_file(&dir, PORTS_FILE, &format!("{ports_json}\n"))
        .map_err(|e| WalletError::io("cannot write the ports file", dir.join(PORTS_FILE), e))?;
    let limits = Limits {
        max_connections: MAX_CONNECTIONS,
        max_per_client: MAX_CONNECTIONS_PER_CLIENT,
        max_websockets: 0,
        max_websockets_per_client: 0,
        timeout,
    };
    let (serving, handle) = dotcoin_rpc_server::serve::serve_jsonrpsee(
        listener,
        "wallet",
        limits,
        builder,
        methods::module(Arc::clone(&service)).into(),
    );
    tokio::spawn(follow::follow(Arc::clone(&service)));
    info!(target: "rpc", %addr, "wallet service listening");
    Ok(Running {
        addr,
        serving,
        handle,
        cookie,
        ports,
        service,
    })
}

fn init_logging() {
    let mut filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // The libraries' trace output would hold request bodies (passphrases, dumpprivkey's
    // answer) and headers (the cookie): capped whatever RUST_LOG says.
    for quiet in [
        "jsonrpsee-server=info",
        "jsonrpsee=info",
        "hyper=info",
        "hyper_util=info",
    ] {
        filter = filter.add_directive(quiet.parse().expect("a valid static directive"));
    }
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init();
}

/// `dotcoin-wallet serve`: runs until `stop`, SIGINT or SIGTERM.
pub fn run(cli: &Cli) -> ExitCode {
    let Command::Serve {
        port,
        load,
        maxtxfee,
        rpcservertimeout,
        faucet,
    } = &cli.command
    else {
        return ExitCode::FAILURE;
    };
    init_logging();
    // The service's socket caps, not the descriptor limit, decide what a flood gets.
    let nofile = dotcoin_rpc_server::serve::raise_fd_limit();
    tracing::debug!(target: "rpc", ?nofile, "open file limit");
    let result = (|| -> Result<(), WalletError> {
        let network = if cli.regtest {
            Network::Regtest
        } else {
            Network::Main
        };
        let maxtxfee = dotcoin_rpc_server::arg::amount_from_value(&Value::String(maxtxfee.clone()))
            .map_err(|e| WalletError::BadAmount(format!("--maxtxfee: {}", e.message)))?;
        let base = cli.datadir.clone().unwrap_or_else(default_base_datadir);
        let node_port = cli.rpcport.unwrap_or(network.params().rpc_port);
        let port = match port {
            Some(p) => *p,
            None => node_port.checked_add(PORT_OFFSET).ok_or_else(|| {
                WalletError::Node("the node's RPC port + 3 is not a port: give --port".into())
            })?,
        };
        let mut options = dotcoin_rpc_client::ConnectOptions::new(network);
        options.datadir = Some(base.clone());
        options.rpcconnect = cli.rpcconnect.clone();
        options.rpcport = cli.rpcport;
        options.rpcuser = cli.rpcuser.clone();
        options.rpcpassword = cli.rpcpassword.clone();
        // The node may start after the service, or restart under it.
        options.rpcwait = true;
        options.rpcwait_timeout = Duration::from_secs(5);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| WalletError::Node(format!("cannot start the async runtime: {e}")))?;
        runtime.block_on(async {
            let faucet = faucet.faucet(network).map_err(WalletError::BadAmount)?;
            let faucet_wallet = faucet.as_ref().map(|f| f.wallet.clone());
            let service = Service::with_faucet(network, base, options, maxtxfee, faucet)?;
            let default = &cli.wallet;
            match service.load(default, false) {
                Ok(_) => {}
                Err(f) if f.code == Code::WalletNotFound as i32 => {
                    service.load(default, true).map_err(failure_to_error)?;
                }
                Err(f) => return Err(failure_to_error(f)),
            }
            for name in load.iter().filter(|n| *n != default) {
                service.load(name, false).map_err(failure_to_error)?;
            }
            // The faucet's wallet is loaded (created on first use, as the default one).
            if let Some(name) = faucet_wallet.filter(|n| service.wallet_for(Some(n)).is_err()) {
                match service.load(&name, false) {
                    Ok(_) => {}
                    Err(f) if f.code == Code::WalletNotFound as i32 => {
                        service.load(&name, true).map_err(failure_to_error)?;
                    }
                    Err(f) => return Err(failure_to_error(f)),
                }
            }
            let running = start(
                Arc::clone(&service),
                SocketAddr::from(([127, 0, 0, 1], port)),
                Duration::from_secs(*rpcservertimeout),
            )
            .await?;
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    .map_err(|e| WalletError::Node(format!("cannot watch SIGTERM: {e}")))?;
            tokio::select! {
                _ = service.shutdown.notified() => info!(target: "rpc", "stop requested"),
                _ = tokio::signal::ctrl_c() => info!(target: "rpc", "SIGINT"),
                _ = term.recv() => info!(target: "rpc", "SIGTERM"),
            }
            running.stop().await;
            info!(target: "rpc", "wallet service stopped");
            Ok(())
        })
    })();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            warn!(target: "rpc", "{e}");
            crate::output::print_error(&e);
            ExitCode::FAILURE
        }
    }
}

fn failure_to_error(f: RpcFailure) -> WalletError {
    WalletError::Node(f.message)
}
