//! Starting and stopping the node: logging, the chain, the miner, P2P, and the wait for a
//! shutdown request (SIGINT, SIGTERM or the `stop` RPC).

use std::sync::Arc;

use thiserror::Error;
use tracing::info;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, reload, EnvFilter};

use crate::config::{log_filter_for, Args, Config, ConfigError};
use crate::dashboard;
use crate::logging::LogControl;
use crate::miner::MinerService;
use crate::net::{self, NetConfig};
use crate::plugins::{notify, HostSettings, PluginHost};
use crate::rpc::{self, RpcAuth, RpcContext};
use crate::state::{ChainOptions, ChainService, EventBus, OpenError};
use tokio::sync::Notify;

/// Why the node stopped with an error.
#[derive(Debug, Error)]
pub enum RunError {
    /// Bad configuration.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The node could not open its data.
    #[error(transparent)]
    Open(#[from] OpenError),
    /// A runtime failure (a port in use, a log file that cannot be written).
    #[error("{0}")]
    Io(String),
}

/// Field formatting for `debug.log`. A type of its own: tracing-subscriber caches a span's
/// formatted fields per formatter type, so with the terminal's `DefaultFields` the file
/// would reuse the terminal's coloured rendering and carry escape codes.
struct PlainFields(fmt::format::DefaultFields);

impl<'w> fmt::FormatFields<'w> for PlainFields {
    fn format_fields<R: tracing_subscriber::field::RecordFields>(
        &self,
        writer: fmt::format::Writer<'w>,
        fields: R,
    ) -> std::fmt::Result {
        self.0.format_fields(writer, fields)
    }
}

/// Makes everything the process creates private to its user, as Bitcoin Core does: files
/// 0600 and directories 0700 (the chain, the cookie, `debug.log`, the dashboard token),
/// whatever the caller's umask.
pub fn private_file_modes() {
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
}

fn init_logging(config: &Config) -> Result<LogControl, RunError> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&config.datadir)
        .map_err(|e| RunError::Io(format!("cannot create {}: {e}", config.datadir.display())))?;
    let log_path = config.datadir.join("debug.log");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(&log_path)
        .map_err(|e| RunError::Io(format!("cannot open {}: {e}", log_path.display())))?;
    let filter = EnvFilter::try_new(log_filter_for(&config.debug_categories))
        .map_err(|e| RunError::Io(format!("bad log filter: {e}")))?;
    let (filter, handle) = reload::Layer::new(filter);
    tracing_subscriber::registry()
        .with(filter)
        .with(fmt::layer().with_writer(std::io::stderr))
        .with(
            fmt::layer()
                .with_ansi(false)
                .fmt_fields(PlainFields(fmt::format::DefaultFields::new()))
                .with_writer(std::sync::Mutex::new(file)),
        )
        .try_init()
        .map_err(|e| RunError::Io(format!("cannot start logging: {e}")))?;
    // A panic anywhere goes into debug.log too, where an operator looks after a crash;
    // the default hook still prints it (and a backtrace, when asked for) to stderr.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let thread = std::thread::current();
        tracing::error!(target: "panic", thread = thread.name().unwrap_or("unnamed"), "{info}");
        default_hook(info);
    }));
    Ok(LogControl::new(
        config.debug_categories.clone(),
        Box::new(move |directives| {
            let filter = EnvFilter::try_new(directives).map_err(|e| e.to_string())?;
            handle.reload(filter).map_err(|e| e.to_string())
        }),
    ))
}

/// Runs the node until it is asked to stop.
pub fn run(args: Args) -> Result<(), RunError> {
    let config = Config::load(args)?;
    private_file_modes();
    let log = Arc::new(init_logging(&config)?);
    info!(network = %config.network, datadir = %config.datadir.display(), "starting dotcoind {}", env!("CARGO_PKG_VERSION"));
    // The servers' socket caps, not the descriptor limit, decide what a flood gets.
    let nofile = dotcoin_rpc_server::serve::raise_fd_limit();
    tracing::debug!(target: "rpc", ?nofile, "open file limit");
    let chain = ChainService::open(
        ChainOptions {
            datadir: config.datadir.clone(),
            params: config.network.params(),
            max_mempool_bytes: config.max_mempool_bytes,
            min_relay_fee: config.min_relay_fee,
            db_cache_bytes: config.db_cache_bytes,
        },
        EventBus::new(),
    )?;
    if let Some(height) = config.test_writer_panic_height {
        chain.set_test_panic_height(height);
    }
    let miner = MinerService::new(Arc::clone(&chain));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("dotcoind-rt")
        .build()
        .map_err(|e| RunError::Io(format!("cannot start runtime: {e}")))?;
    let result = runtime.block_on(serve(Arc::clone(&chain), Arc::clone(&miner), log, &config));
    miner.shutdown();
    chain.flush();
    info!("dotcoind stopped");
    result
}

/// Written after binding, removed at shutdown: the ports actually in use, so scripts and
/// tests that asked for port 0 read them instead of guessing.
pub const PORTS_FILE: &str = "dotcoind.ports";

async fn serve(
    chain: Arc<ChainService>,
    miner: Arc<MinerService>,
    log: Arc<LogControl>,
    config: &Config,
) -> Result<(), RunError> {
    let shutdown = Arc::new(Notify::new());
    let plugins = PluginHost::new(
        HostSettings {
            network: config.network,
            datadir: config.datadir.clone(),
            options: config.plugin_options.clone(),
            timeout: config.plugin_timeout,
        },
        Arc::clone(&chain),
    );
    // Subscribed before anything can happen, so plugins and scripts miss nothing.
    tokio::spawn(Arc::clone(&plugins).run_notifications(chain.subscribe()));
    tokio::spawn(Arc::clone(&plugins).run_reorg_rechecks());
    tokio::spawn(crate::metrics::count_events(chain.subscribe()));
    if !config.notify.is_empty() {
        tokio::spawn(notify::run(config.notify.clone(), chain.subscribe()));
    }
    let peers = net::PeerHandle::new(
        Arc::clone(&chain),
        NetConfig {
            listen: config.p2p_listen,
            connect: config.connect.clone(),
            addnode: config.addnode.clone(),
            seednode: config.seednode.clone(),
            max_inbound: config.max_inbound,
            max_inbound_per_ip: config.max_inbound_per_ip,
            max_outbound: config.max_outbound,
            bantime: config.bantime,
            plugins: Some(Arc::clone(&plugins)),
            connection_tick: config
                .test_connection_tick
                .unwrap_or(crate::net::DEFAULT_CONNECTION_TICK),

            compact: config.compact,
        },
    );
    let ctx = RpcContext {
        chain: Arc::clone(&chain),
        miner: Arc::clone(&miner),
        shutdown: Arc::clone(&shutdown),
        net: peers.clone(),
        started: std::time::Instant::now(),
        plugins: Arc::clone(&plugins),
        log,
    };
    let auth = match &config.rpc_auth {
        Some((u, p)) => RpcAuth::UserPassword(u.clone(), p.clone()),
        None => RpcAuth::Cookie,
    };
    let rpc = rpc::start(
        ctx.clone(),
        config.rpc_addr,
        auth,
        config.rpcauth.clone(),
        config.rpc_server_timeout,
    )
    .await
    .map_err(|e| {
        RunError::Io(format!(
            "cannot start RPC server on {}: {e}",
            config.rpc_addr
        ))
    })?;
    let p2p = match net::start(&peers).await {
        Ok(p) => p,
        Err(e) => {
            rpc.stop().await;
            return Err(RunError::Io(format!(
                "cannot listen for peers on {}: {e}",
                config
                    .p2p_listen
                    .map_or_else(|| "-".to_owned(), |a| a.to_string())
            )));
        }
    };
    let esplora_ctx = ctx.clone();
    let dashboard = match config.dashboard {
        Some(addr) => {
            let (user, password) = rpc.credentials();
            let options = dashboard::Options {
                timeout: config.dashboard_timeout,
                allow_hosts: config.dashboard_allow_hosts.clone(),
                lab_report: config.lab_report.clone(),
            };
            match dashboard::start(ctx, addr, user, password, options).await {
                Ok(d) => {
                    // The one line a learner needs, on the terminal only: the URL carries
                    // the token, which must not reach debug.log (the log says where the
                    // token file is).
                    use std::io::Write;
                    let _ = writeln!(std::io::stderr(), "dashboard: {}", d.url());
                    Some(d)
                }
                Err(e) => {
                    p2p.stop().await;
                    rpc.stop().await;
                    return Err(RunError::Io(format!(
                        "cannot start the dashboard on {addr}: {e}"
                    )));
                }
            }
        }
        None => None,
    };
    let esplora = match config.esplora {
        Some((addr, esplora_on)) => {
            let options = crate::esplora::Options {
                esplora: esplora_on,
                rest: config.rest,
                timeout: crate::esplora::TIMEOUT,
            };
            match crate::esplora::start(esplora_ctx, addr, options).await {
                Ok(e) => Some(e),
                Err(e) => {
                    if let Some(d) = dashboard {
                        d.stop();
                    }
                    p2p.stop().await;
                    rpc.stop().await;
                    return Err(RunError::Io(format!(
                        "cannot start the HTTP API (--esplora/--rest) on {addr}: {e}"
                    )));
                }
            }
        }
        None => None,
    };
    // Before the ports file: a script that waits for it finds the plugins' methods.
    plugins
        .start_configured(&config.plugins, &config.plugin_dirs)
        .await;
    let ports_path = config.datadir.join(PORTS_FILE);
    let mut ports = serde_json::json!({ "rpc": rpc.local_addr().port() });
    if config.p2p_listen.is_some() {
        ports["p2p"] = peers.listen_port().into();
    }
    if let Some(d) = &dashboard {
        ports["dashboard"] = d.local_addr().port().into();
    }
    if let Some(e) = &esplora {
        ports["esplora"] = e.local_addr().port().into();
    }
    // Atomically and 0600, like the cookie: a script never reads half a file.
    dotcoin_rpc_server::auth::write_private_file(&config.datadir, PORTS_FILE, &ports.to_string())
        .map_err(|e| RunError::Io(format!("cannot write {}: {e}", ports_path.display())))?;
    miner.set_interval(config.miner_interval);
    miner.set_kernel(config.miner_kernel);
    if let Some((pubkey, threads)) = config.mine {
        miner.start(pubkey, threads);
    }
    tokio::select! {
        _ = wait_for_signal() => {}
        _ = shutdown.notified() => info!("stop requested over RPC, shutting down"),
    }
    // Mining threads hold no async resources; stop them before the runtime winds down.
    // Before the RPC server winds down, so a running `generatetoaddress` returns.
    let m = Arc::clone(&miner);
    let _ = tokio::task::spawn_blocking(move || m.shutdown()).await;
    if let Some(d) = dashboard {
        d.stop();
    }
    if let Some(e) = esplora {
        e.stop();
    }
    plugins.shutdown().await;
    p2p.stop().await;
    rpc.stop().await;
    let _ = std::fs::remove_file(&ports_path);
    Ok(())
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("tokio can install a SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => info!("SIGINT received, shutting down"),
        _ = term.recv() => info!("SIGTERM received, shutting down"),
    }
}
