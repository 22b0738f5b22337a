//! Configuration: command-line flags and `<datadir>/dotcoin.toml`, flags overriding the
//! file. Every key of the file is a flag's long name; an unknown key is an error that
//! names it. `contrib/dotcoin.toml.example` documents them all.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use clap::Parser;
use dotcoin_common::params::{default_base_datadir, network_datadir};
use dotcoin_common::{Address, Network, PubKey};
use serde::Deserialize;
use thiserror::Error;

use crate::mempool::{DEFAULT_MAX_MEMPOOL_BYTES, DEFAULT_MIN_RELAY_FEE};

/// `dotcoind` flags.
#[derive(Debug, Clone, Default, Parser, Deserialize)]
#[command(
    name = "dotcoind",
    version,
    about = "dotcoin node: validates, mines, relays and answers JSON-RPC"
)]
#[serde(deny_unknown_fields)]
pub struct Args {
    /// Use the regression-test network (data in <datadir>/regtest).
    #[arg(long)]
    #[serde(default)]
    pub regtest: bool,
    /// Base data directory [default: ~/.dotcoin].
    #[arg(long, value_name = "DIR")]
    pub datadir: Option<PathBuf>,
    /// Configuration file [default: <datadir>/dotcoin.toml].
    #[arg(long, value_name = "FILE")]
    #[serde(skip)]
    pub conf: Option<PathBuf>,

    /// Mine continuously.
    #[arg(long)]
    #[serde(default)]
    pub mine: bool,
    /// Address that receives mined rewards (required with --mine).
    #[arg(long, value_name = "ADDRESS")]
    pub mineraddress: Option<String>,
    /// Mining threads [default: all cores].
    #[arg(long, value_name = "N")]
    pub minerthreads: Option<usize>,
    /// Pause of the continuous miner after each block it finds, in ms [default: 0].
    #[arg(long, value_name = "MS")]
    pub minerinterval: Option<u64>,
    /// Hashing kernel of the miner: auto (the fastest in a start-up probe), portable,
    /// sha-ni-1, sha-ni-2, sha-ni-4 or sha-ni-8 [default: auto].
    #[arg(long, value_name = "KERNEL")]
    pub minerkernel: Option<String>,

    /// Address the RPC server listens on [default: 127.0.0.1].
    #[arg(long, value_name = "IP")]
    pub rpcbind: Option<IpAddr>,
    /// RPC port [default: 8632, regtest 18632]; 0 picks a free port.
    #[arg(long, value_name = "PORT")]
    pub rpcport: Option<u16>,
    /// RPC user name (instead of the cookie).
    #[arg(long, value_name = "USER")]
    pub rpcuser: Option<String>,
    /// RPC password (with --rpcuser).
    #[arg(long, value_name = "PASSWORD")]
    pub rpcpassword: Option<String>,
    /// A further RPC user as Bitcoin Core's `user:salt$hash`, the password kept only as
    /// a salted HMAC-SHA256 (make one with contrib/rpcauth.py; repeatable).
    #[arg(long, value_name = "USER:SALT$HASH")]
    #[serde(default)]
    pub rpcauth: Vec<String>,
    /// Seconds an RPC connection may take to send a request's head or body, may stay
    /// idle, and a write to it may stall, before it is closed [default: 30].
    #[arg(long, value_name = "SECONDS")]
    pub rpcservertimeout: Option<u64>,

    /// Serve the live dashboard, on ADDR:PORT if given [default: 127.0.0.1, RPC port + 2].
    #[arg(long, value_name = "ADDR:PORT", num_args = 0..=1, default_missing_value = "")]
    pub dashboard: Option<String>,
    /// Seconds a dashboard connection may take to send a request's head, and may stay
    /// idle, before it is closed (as Core's -rpcservertimeout) [default: 10].
    #[arg(long, value_name = "SECONDS")]
    pub dashboardtimeout: Option<u64>,
    /// A further name the dashboard answers to in the `Host` header, besides its address,
    /// `localhost` and `127.0.0.1` (repeatable).
    #[arg(long, value_name = "NAME")]
    #[serde(default)]
    pub dashboardallowhost: Vec<String>,

    /// P2P port [default: 8633, regtest 18633]; 0 picks a free port.
    #[arg(long, value_name = "PORT")]
    pub port: Option<u16>,
    /// Address the P2P listener binds to [default: 127.0.0.1].
    #[arg(long, value_name = "IP")]
    pub bind: Option<IpAddr>,
    /// Accept inbound peers [default: true].
    #[arg(long, value_name = "BOOL")]
    pub listen: Option<bool>,
    /// Connect only to these peers (repeatable).
    #[arg(long, value_name = "HOST:PORT")]
    #[serde(default)]
    pub connect: Vec<String>,
    /// Also connect to these peers and keep reconnecting (repeatable).
    #[arg(long, value_name = "HOST:PORT")]
    #[serde(default)]
    pub addnode: Vec<String>,
    /// Learn peers from this name: every address it resolves to (all A records), again
    /// every 10 s, as members come and go [port default: the network's] (repeatable).
    #[arg(long, value_name = "HOST[:PORT]")]
    #[serde(default)]
    pub seednode: Vec<String>,
    /// Most inbound peers [default: 32].
    #[arg(long, value_name = "N")]
    pub maxinbound: Option<usize>,
    /// Most inbound peers from one IP address [default: 8].
    #[arg(long, value_name = "N")]
    pub maxinboundperip: Option<usize>,
    /// Outbound peers to aim for from learnt addresses [default: 8].
    #[arg(long, value_name = "N")]
    pub maxoutbound: Option<usize>,
    /// Seconds a misbehaving peer stays banned [default: 86400].
    #[arg(long, value_name = "SECONDS")]
    pub bantime: Option<u64>,

    /// Mempool bound in megabytes [default: 50].
    #[arg(long, value_name = "MB")]
    pub maxmempool: Option<usize>,
    /// Database cache in MiB: half holds UTXO changes not yet written (the coins cache), a
    /// quarter RocksDB's block cache, a quarter its write buffers [default: 32, range
    /// 4–16384].
    #[arg(long, value_name = "MIB")]
    pub dbcache: Option<usize>,
    /// Minimum relay fee rate in base units per 1000 bytes [default: 1000].
    #[arg(long, value_name = "UNITS")]
    pub minrelaytxfee: Option<u64>,

    /// Start the plugin at PATH (repeatable); see docs/plugins.md.
    #[arg(long = "plugin", value_name = "PATH")]
    #[serde(default, rename = "plugin")]
    pub plugins: Vec<PathBuf>,
    /// Start every executable file in DIR as a plugin (repeatable).
    #[arg(long = "plugin-dir", value_name = "DIR")]
    #[serde(default, rename = "plugin-dir")]
    pub plugin_dirs: Vec<PathBuf>,
    /// Set a plugin's option (repeatable), e.g. --plugin-opt greeting=Hi.
    #[arg(long = "plugin-opt", value_name = "NAME=VALUE")]
    #[serde(default, rename = "plugin-opt")]
    pub plugin_opts: Vec<String>,
    /// Seconds a plugin may take to answer the node (manifest, init, hooks, methods) [default: 10].
    #[arg(long = "plugin-timeout", value_name = "SECONDS")]
    #[serde(rename = "plugin-timeout")]
    pub plugin_timeout: Option<u64>,
    /// Run CMD for each new best block, %s replaced by its hash (as Bitcoin Core); its
    /// stdin is the tip_changed event as JSON (docs/events.md).
    #[arg(long, value_name = "CMD")]
    pub blocknotify: Option<String>,
    /// Run CMD for each transaction entering the mempool, %s replaced by its txid; its
    /// stdin is the tx_accepted event as JSON (docs/events.md).
    #[arg(long, value_name = "CMD")]
    pub txnotify: Option<String>,

    /// Debug logging for categories: net, mempool, chain, miner, rpc, plugin, or all (comma-separated).
    #[arg(long, value_name = "CATEGORIES", value_delimiter = ',')]
    #[serde(default)]
    pub debug: Vec<String>,

    /// Accepted for Bitcoin Core's command lines (`-daemon=0`); dotcoind never forks into
    /// the background itself (run it under systemd, or with `&`), so only 0 is allowed.
    #[arg(long, hide = true)]
    #[serde(default)]
    pub daemon: bool,

    /// Test only (hidden, as Core's `-test…` options): the chain writer panics right after
    /// connecting the block at this height, before the pool, snapshot and events follow,
    /// so a test can watch the node stop with its state half-changed in memory.
    #[arg(long = "test-writer-panic-height", hide = true, value_name = "HEIGHT")]
    #[serde(skip)]
    pub test_writer_panic_height: Option<u32>,

    /// Test only (hidden): milliseconds between the connection keeper's rounds (default
    /// 250), so a test can make them rare and see `addnode … add` connect without one.
    #[arg(long = "test-connection-tick", hide = true, value_name = "MS")]
    #[serde(skip)]
    pub test_connection_tick: Option<u64>,

    /// A network lab report (dotcoin-lab, docs/lab.md) the dashboard links to: an
    /// http(s) URL.
    #[arg(long, value_name = "URL")]
    pub labreport: Option<String>,

    /// Serve Esplora's HTTP API and the explorer WebSocket, on ADDR:PORT if given
    /// [default: 127.0.0.1, RPC port + 4].
    #[arg(long, value_name = "ADDR:PORT", num_args = 0..=1, default_missing_value = "")]
    pub esplora: Option<String>,
    /// Serve Bitcoin Core's REST interface under /rest/ on the Esplora port (which it
    /// opens, at its default address, without --esplora).
    #[arg(long)]
    #[serde(default)]
    pub rest: bool,

    /// Relay blocks as BIP152 compact blocks (0 sends and asks for full blocks only)
    /// [default: 1].
    #[arg(long, value_name = "0|1", value_parser = clap::builder::BoolishValueParser::new())]
    pub compactblocks: Option<bool>,
    /// Ask up to 3 peers to announce new blocks as compact blocks at once (BIP152's
    /// high-bandwidth mode); 0 keeps every peer in low-bandwidth mode [default: 1].
    #[arg(long, value_name = "0|1", value_parser = clap::builder::BoolishValueParser::new())]
    pub cmpcthb: Option<bool>,
}

impl Args {
    /// Parses a command line written the way Bitcoin Core's are, or with GNU long options:
    /// see [`core_style_args`].
    pub fn parse_core_style<I, T>(args: I) -> Args
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString>,
    {
        Args::parse_from(core_style_args(args))
    }
}

/// Rewrites Bitcoin Core's option spellings into the GNU ones clap reads: `-regtest` is
/// `--regtest`, a switch takes `=1`/`=0` (`-daemon=0`, `--mine=1`) and `-nofoo` is
/// `foo=0`. Everything after a bare `--`, values of options, and arguments that are not
/// UTF-8 pass unchanged; what is then still wrong is clap's to report.
pub fn core_style_args<I, T>(args: I) -> Vec<std::ffi::OsString>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString>,
{
    use clap::CommandFactory;
    let command = Args::command();
    let switch = |name: &str| {
        command.get_arguments().any(|a| {
            a.get_long() == Some(name) && matches!(a.get_action(), clap::ArgAction::SetTrue)
        })
    };
    let known = |name: &str| command.get_arguments().any(|a| a.get_long() == Some(name));
    // `--datadir -x`: the word after an option that takes a value is that value.
    let takes_value =
        |name: &str| known(name) && !switch(name) && name != "dashboard" && name != "esplora";
    let mut out = Vec::new();
    let mut rest_verbatim = false;
    let mut value_next = false;
    for (i, arg) in args.into_iter().map(Into::into).enumerate() {
        let text = match arg.to_str() {
            Some(t) if i > 0 && !rest_verbatim && !value_next => t.to_owned(),
            _ => {
                value_next = false;
                out.push(arg);
                continue;
            }
        };
        if text == "--" {
            rest_verbatim = true;
            out.push(arg);
            continue;
        }
        let body = match text.strip_prefix("--").or_else(|| text.strip_prefix('-')) {
            Some(b) if b.starts_with(|c: char| c.is_ascii_alphabetic()) => b,
            _ => {
                out.push(arg);
                continue;
            }
        };
        let (name, value) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (body, None),
        };
        // Core's negation: -nolisten is listen=0.
        let (name, value) = match name.strip_prefix("no") {
            Some(n) if !known(name) && known(n) && value.is_none() => (n, Some("0")),
            _ => (name, value),
        };
        match value {
            Some(v) if switch(name) => match v {
                "1" | "true" => out.push(format!("--{name}").into()),
                "0" | "false" => {}
                other => out.push(format!("--{name}={other}").into()),
            },
            Some("0") if name == "listen" => out.push("--listen=false".into()),
            Some("1") if name == "listen" => out.push("--listen=true".into()),
            Some(v) => out.push(format!("--{name}={v}").into()),
            None => {
                value_next = takes_value(name);
                out.push(format!("--{name}").into());
            }
        }
    }
    out
}

/// A configuration problem, reported before anything starts.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The file is not valid TOML for dotcoind (unknown key, wrong type).
    #[error("invalid config file {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong, naming the key.
        message: String,
    },
    /// A value is unusable.
    #[error("invalid -{key}: {message}")]
    Invalid {
        /// The option.
        key: &'static str,
        /// Why.
        message: String,
    },
}

/// The resolved configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Network.
    pub network: Network,
    /// Network datadir (with `regtest/` for regtest).
    pub datadir: PathBuf,
    /// Continuous mining target, if `--mine`.
    pub mine: Option<(PubKey, usize)>,
    /// Pause of the continuous miner after each found block.
    pub miner_interval: std::time::Duration,
    /// The miner's hashing kernel (`Best`: the probe's choice).
    pub miner_kernel: crate::miner::Kernel,
    /// RPC listen address.
    pub rpc_addr: SocketAddr,
    /// RPC credentials instead of the cookie.
    pub rpc_auth: Option<(String, String)>,
    /// Further RPC users, `rpcauth` entries.
    pub rpcauth: Vec<dotcoin_rpc_server::RpcAuthEntry>,
    /// P2P listen address, or `None` with `listen = false`.
    pub p2p_listen: Option<SocketAddr>,
    /// `--connect` peers: only these.
    pub connect: Vec<String>,
    /// `--addnode` peers.
    pub addnode: Vec<String>,
    /// `--seednode` names, each `HOST:PORT`.
    pub seednode: Vec<String>,
    /// Where the dashboard listens, if it runs.
    pub dashboard: Option<SocketAddr>,
    /// How long a dashboard connection may take over a request head or stay idle.
    pub dashboard_timeout: std::time::Duration,
    /// Further `Host` names the dashboard answers to (lowercase).
    pub dashboard_allow_hosts: Vec<String>,
    /// How long an RPC connection may take over a request or stay idle.
    pub rpc_server_timeout: std::time::Duration,
    /// Inbound limit.
    pub max_inbound: usize,
    /// Inbound limit per IP.
    pub max_inbound_per_ip: usize,
    /// Outbound target.
    pub max_outbound: usize,
    /// Ban duration in seconds.
    pub bantime: u64,
    /// Mempool bound in bytes.
    pub max_mempool_bytes: usize,
    /// Minimum relay fee rate.
    pub min_relay_fee: dotcoin_common::FeeRate,
    /// The database's cache budget in bytes (`--dbcache`).
    pub db_cache_bytes: usize,
    /// Log categories at debug level (`--debug`), changeable later by the `logging` call.
    pub debug_categories: Vec<&'static str>,
    /// Plugins to start.
    pub plugins: Vec<PathBuf>,
    /// Plugin directories.
    pub plugin_dirs: Vec<PathBuf>,
    /// Plugin options, NAME and VALUE.
    pub plugin_options: Vec<(String, String)>,
    /// How long a plugin may take to answer.
    pub plugin_timeout: std::time::Duration,
    /// `--blocknotify` and `--txnotify`.
    pub notify: crate::plugins::notify::NotifyCommands,
    /// `--test-writer-panic-height`, for tests only.
    pub test_writer_panic_height: Option<u32>,
    /// `--test-connection-tick`, for tests only.
    pub test_connection_tick: Option<std::time::Duration>,
    /// `--labreport`: the lab report the dashboard links to.
    pub lab_report: Option<String>,
    /// Where the HTTP API listens, if it runs, and whether it serves Esplora (else only
    /// `/rest/`).
    pub esplora: Option<(SocketAddr, bool)>,
    /// Whether Core's REST interface is served on the HTTP API's port.
    pub rest: bool,
    /// Compact block relay (`--compactblocks`, `--cmpcthb`).
    pub compact: crate::net::compact::CompactMode,
}

/// `--labreport`: an http(s) URL of at most 2000 characters without spaces, quotes or
/// angle brackets (the dashboard puts it in a link).
fn lab_report_url(url: Option<String>) -> Result<Option<String>, ConfigError> {
    let Some(url) = url else { return Ok(None) };
    let ok = (url.starts_with("http://") || url.starts_with("https://"))
        && url.len() <= 2000
        && !url
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '"' | '\'' | '<' | '>'));
    if !ok {
        return Err(ConfigError::Invalid {
            key: "labreport",
            message: "must be an http:// or https:// URL (at most 2000 characters)".into(),
        });
    }
    Ok(Some(url))
}

/// `--dbcache` in MiB to bytes, within the bounds a node can work with.
fn db_cache_bytes(mib: Option<usize>) -> Result<usize, ConfigError> {
    match mib {
        None => Ok(crate::storage::DEFAULT_DB_CACHE_BYTES),
        Some(m) if (4..=16_384).contains(&m) => Ok(m << 20),
        Some(m) => Err(ConfigError::Invalid {
            key: "dbcache",
            message: format!("{m} MiB is outside 4–16384"),
        }),
    }
}

fn merge<T>(flag: Option<T>, file: Option<T>) -> Option<T> {
    flag.or(file)
}

/// The largest config file read: a config is a few dozen lines, and `--conf` pointing at a
/// device or a huge file must not take the memory (`/dev/zero` never ends).
const MAX_CONFIG_FILE_BYTES: u64 = 1 << 20;

impl Config {
    /// Resolves flags over the config file.
    pub fn load(args: Args) -> Result<Config, ConfigError> {
        let base = args.datadir.clone().unwrap_or_else(default_base_datadir);
        let conf_path = args
            .conf
            .clone()
            .unwrap_or_else(|| base.join("dotcoin.toml"));
        let file = match dotcoin_common::files::read_text_bounded(&conf_path, MAX_CONFIG_FILE_BYTES)
        {
            Ok(text) => toml::from_str::<Args>(&text).map_err(|e| ConfigError::Parse {
                path: conf_path.clone(),
                message: e.message().to_owned(),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && args.conf.is_none() => {
                Args::default()
            }
            Err(source) => {
                return Err(ConfigError::Read {
                    path: conf_path,
                    source,
                })
            }
        };
        Config::resolve(args, file, &base)
    }

    fn resolve(args: Args, file: Args, base: &Path) -> Result<Config, ConfigError> {
        if args.daemon || file.daemon {
            return Err(ConfigError::Invalid {
                key: "daemon",
                message: "dotcoind does not fork into the background; run it under systemd \
                          (contrib/init/dotcoind.service) or with `&`, and use -daemon=0"
                    .into(),
            });
        }
        let network = if args.regtest || file.regtest {
            Network::Regtest
        } else {
            Network::Main
        };
        let params = network.params();
        let base = file
            .datadir
            .clone()
            .filter(|_| args.datadir.is_none())
            .unwrap_or(base.to_path_buf());
        let datadir = network_datadir(&base, network);

        let mine = if args.mine || file.mine {
            let addr = merge(args.mineraddress, file.mineraddress).ok_or(ConfigError::Invalid {
                key: "mineraddress",
                message:
                    "--mine needs --mineraddress (an address from dotcoin-wallet getnewaddress)"
                        .into(),
            })?;
            let addr = Address::parse_for(&addr, network).map_err(|e| ConfigError::Invalid {
                key: "mineraddress",
                message: e.to_string(),
            })?;
            let threads = merge(args.minerthreads, file.minerthreads)
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
            if threads == 0 {
                return Err(ConfigError::Invalid {
                    key: "minerthreads",
                    message: "must be at least 1".into(),
                });
            }
            Some((addr.pubkey, threads))
        } else {
            None
        };

        let miner_kernel = match merge(args.minerkernel, file.minerkernel) {
            None => crate::miner::Kernel::Best,
            Some(name) => {
                let k: crate::miner::Kernel =
                    name.parse().map_err(|message| ConfigError::Invalid {
                        key: "minerkernel",
                        message,
                    })?;
                if !k.is_available() {
                    return Err(ConfigError::Invalid {
                        key: "minerkernel",
                        message: format!("this CPU lacks the SHA extensions {k} needs"),
                    });
                }
                k
            }
        };

        let rpc_ip = merge(args.rpcbind, file.rpcbind).unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
        let rpc_port = merge(args.rpcport, file.rpcport).unwrap_or(params.rpc_port);
        let rpc_auth = match (
            merge(args.rpcuser, file.rpcuser),
            merge(args.rpcpassword, file.rpcpassword),
        ) {
            (Some(u), Some(p)) => Some((u, p)),
            (None, None) => None,
            _ => {
                return Err(ConfigError::Invalid {
                    key: "rpcuser",
                    message: "rpcuser and rpcpassword must be given together".into(),
                })
            }
        };
        let rpcauth = args
            .rpcauth
            .iter()
            .chain(&file.rpcauth)
            .map(|line| {
                line.parse().map_err(|message| ConfigError::Invalid {
                    key: "rpcauth",
                    message,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let dashboard_timeout = match merge(args.dashboardtimeout, file.dashboardtimeout) {
            None => crate::dashboard::HEADER_TIMEOUT,
            Some(s @ 1..=3600) => std::time::Duration::from_secs(s),
            Some(_) => {
                return Err(ConfigError::Invalid {
                    key: "dashboardtimeout",
                    message: "must be 1 to 3600 seconds".into(),
                })
            }
        };
        let rpc_server_timeout = match merge(args.rpcservertimeout, file.rpcservertimeout) {
            None => crate::rpc::SERVER_TIMEOUT,
            Some(s @ 1..=3600) => std::time::Duration::from_secs(s),
            Some(_) => {
                return Err(ConfigError::Invalid {
                    key: "rpcservertimeout",
                    message: "must be 1 to 3600 seconds".into(),
                })
            }
        };
        let dashboard_allow_hosts = args
            .dashboardallowhost
            .iter()
            .chain(&file.dashboardallowhost)
            .map(|name| {
                // A bare name: the port, if any, is not part of what is compared.
                let ok = !name.is_empty()
                    && name.len() <= 253
                    && name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
                if ok {
                    Ok(name.to_ascii_lowercase())
                } else {
                    Err(ConfigError::Invalid {
                        key: "dashboardallowhost",
                        message: format!("{name:?} is not a host name (letters, digits, '.', '-')"),
                    })
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        let dashboard = match merge(args.dashboard, file.dashboard) {
            None => None,
            Some(a) if a.is_empty() => Some(SocketAddr::new(
                IpAddr::V4(Ipv4Addr::LOCALHOST),
                if rpc_port == 0 {
                    0
                } else {
                    rpc_port.saturating_add(2)
                },
            )),
            Some(a) => Some(a.parse().map_err(|e| ConfigError::Invalid {
                key: "dashboard",
                message: format!("{a:?} is not ADDR:PORT: {e}"),
            })?),
        };
        let rest = args.rest || file.rest;
        let esplora_on = args.esplora.is_some() || file.esplora.is_some();
        let esplora = match merge(args.esplora.clone(), file.esplora.clone()) {
            None if !rest => None,
            Some(a) if !a.is_empty() => Some(a.parse().map_err(|e| ConfigError::Invalid {
                key: "esplora",
                message: format!("{a:?} is not ADDR:PORT: {e}"),
            })?),
            _ => Some(SocketAddr::new(
                IpAddr::V4(Ipv4Addr::LOCALHOST),
                if rpc_port == 0 {
                    0
                } else {
                    rpc_port.saturating_add(4)
                },
            )),
        }
        .map(|addr| (addr, esplora_on));
        let listen = merge(args.listen, file.listen).unwrap_or(true);
        let p2p_ip = merge(args.bind, file.bind).unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
        let p2p_port = merge(args.port, file.port).unwrap_or(params.p2p_port);

        let seednode = args
            .seednode
            .iter()
            .chain(&file.seednode)
            .map(|s| seed_target(s, params.p2p_port))
            .collect::<Result<Vec<_>, _>>()?;

        let mut debug = args.debug;
        if debug.is_empty() {
            debug = file.debug;
        }
        let debug_categories = debug_categories(&debug)?;

        let mut plugin_options = Vec::new();
        for opt in file.plugin_opts.iter().chain(&args.plugin_opts) {
            let (k, v) = opt.split_once('=').unwrap_or((opt.as_str(), ""));
            if k.is_empty() {
                return Err(ConfigError::Invalid {
                    key: "plugin-opt",
                    message: format!("{opt:?} is not NAME=VALUE"),
                });
            }
            plugin_options.push((k.to_owned(), v.to_owned()));
        }
        let plugin_timeout = merge(args.plugin_timeout, file.plugin_timeout).unwrap_or(10);
        if !(1..=3600).contains(&plugin_timeout) {
            return Err(ConfigError::Invalid {
                key: "plugin-timeout",
                message: format!("{plugin_timeout} is not between 1 and 3600 seconds"),
            });
        }

        Ok(Config {
            network,
            datadir,
            mine,
            miner_kernel,
            miner_interval: std::time::Duration::from_millis(
                merge(args.minerinterval, file.minerinterval).unwrap_or(0),
            ),
            rpc_addr: SocketAddr::new(rpc_ip, rpc_port),
            rpc_auth,
            rpcauth,
            p2p_listen: listen.then_some(SocketAddr::new(p2p_ip, p2p_port)),
            connect: if args.connect.is_empty() {
                file.connect
            } else {
                args.connect
            },
            addnode: args.addnode.into_iter().chain(file.addnode).collect(),
            seednode,
            dashboard,
            dashboard_timeout,
            dashboard_allow_hosts,
            rpc_server_timeout,
            max_inbound: merge(args.maxinbound, file.maxinbound).unwrap_or(32),
            max_inbound_per_ip: merge(args.maxinboundperip, file.maxinboundperip).unwrap_or(8),
            max_outbound: merge(args.maxoutbound, file.maxoutbound).unwrap_or(8),
            bantime: merge(args.bantime, file.bantime).unwrap_or(86_400),
            max_mempool_bytes: merge(args.maxmempool, file.maxmempool)
                .map_or(DEFAULT_MAX_MEMPOOL_BYTES, |mb| mb.saturating_mul(1_000_000)),
            db_cache_bytes: db_cache_bytes(merge(args.dbcache, file.dbcache))?,
            min_relay_fee: merge(args.minrelaytxfee, file.minrelaytxfee).map_or(
                DEFAULT_MIN_RELAY_FEE,
                dotcoin_common::FeeRate::from_sat_per_kvb,
            ),
            debug_categories,
            plugins: file.plugins.into_iter().chain(args.plugins).collect(),
            plugin_dirs: file
                .plugin_dirs
                .into_iter()
                .chain(args.plugin_dirs)
                .collect(),
            plugin_options,
            plugin_timeout: std::time::Duration::from_secs(plugin_timeout),
            notify: crate::plugins::notify::NotifyCommands {
                block: merge(args.blocknotify, file.blocknotify),
                tx: merge(args.txnotify, file.txnotify),
            },
            test_writer_panic_height: args.test_writer_panic_height,
            lab_report: lab_report_url(merge(args.labreport, file.labreport))?,
            test_connection_tick: args
                .test_connection_tick
                .map(|ms| std::time::Duration::from_millis(ms.clamp(10, 3_600_000))),
            esplora,
            rest,

            compact: crate::net::compact::CompactMode {
                enabled: merge(args.compactblocks, file.compactblocks).unwrap_or(true),
                high_bandwidth: merge(args.cmpcthb, file.cmpcthb).unwrap_or(true),
            },
        })
    }
}

/// A `--seednode` value as `HOST:PORT`, the port defaulting to the network's. Only the
/// shape is checked here: the name is resolved while the node runs, as it may not exist
/// yet (a service's first task).
fn seed_target(seed: &str, default_port: u16) -> Result<String, ConfigError> {
    let invalid = |why: &str| ConfigError::Invalid {
        key: "seednode",
        message: format!("{:?} {why}", seed.chars().take(300).collect::<String>()),
    };
    let seed = seed.trim();
    if seed.is_empty() || seed.len() > 255 {
        return Err(invalid("is not HOST or HOST:PORT"));
    }
    // `[v6]:port`, `v6` alone, `host:port`, `host`.
    let (host, port) = if let Some(rest) = seed.strip_prefix('[') {
        let (h, p) = rest
            .split_once(']')
            .ok_or_else(|| invalid("lacks its closing ]"))?;
        (h, p.strip_prefix(':'))
    } else if seed.matches(':').count() > 1 {
        (seed, None)
    } else {
        match seed.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (seed, None),
        }
    };
    let host_ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':'));
    if !host_ok {
        return Err(invalid("is not a host name or address"));
    }
    let port = match port {
        None => default_port,
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| invalid("has no valid port"))?,
    };
    Ok(if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    })
}

/// Log categories `--debug` accepts.
pub const LOG_CATEGORIES: [&str; 6] = ["net", "mempool", "chain", "miner", "rpc", "plugin"];

/// The categories `--debug` switches on; `all` (or Core's `1`) means every one.
fn debug_categories(debug: &[String]) -> Result<Vec<&'static str>, ConfigError> {
    let mut on: Vec<&'static str> = Vec::new();
    for cat in debug.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
        if cat == "all" || cat == "1" {
            on = LOG_CATEGORIES.to_vec();
            continue;
        }
        let Some(known) = LOG_CATEGORIES.iter().find(|c| **c == cat) else {
            return Err(ConfigError::Invalid {
                key: "debug",
                message: format!(
                    "unknown category '{cat}' (expected {} or all)",
                    LOG_CATEGORIES.join(", ")
                ),
            });
        };
        if !on.contains(known) {
            on.push(known);
        }
    }
    Ok(on)
}

/// The `tracing` filter that logs at info, and at debug for each of `categories`.
pub fn log_filter_for(categories: &[&str]) -> String {
    let mut filter = String::from("info");
    for cat in categories {
        filter.push_str(&format!(",{cat}=debug"));
    }
    filter
}

#[cfg(test)]
fn log_filter(debug: &[String]) -> Result<String, ConfigError> {
    Ok(log_filter_for(&debug_categories(debug)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Args {
        Args::parse_from(std::iter::once("dotcoind").chain(args.iter().copied()))
    }

    #[test]
    fn flags_override_file_and_unknown_key_is_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("dotcoin.toml"),
            "regtest = true\nrpcport = 1234\nport = 999\n",
        )
        .expect("write");
        let d = dir.path().to_str().expect("utf-8 path");
        let c = Config::load(parse(&["--datadir", d, "--rpcport", "4321"])).expect("loads");
        assert_eq!(c.network, Network::Regtest);
        assert_eq!(c.rpc_addr.port(), 4321);
        assert_eq!(c.p2p_listen.expect("listening").port(), 999);
        assert_eq!(c.datadir, dir.path().join("regtest"));

        std::fs::write(dir.path().join("dotcoin.toml"), "rpcprot = 1\n").expect("write");
        let err = Config::load(parse(&["--datadir", d])).expect_err("unknown key");
        assert!(err.to_string().contains("rpcprot"), "{err}");
    }

    #[test]
    fn a_config_file_that_never_ends_is_refused() {
        let err = Config::load(parse(&["--conf", "/dev/zero"])).expect_err("endless");
        assert!(
            matches!(&err, ConfigError::Read { source, .. } if source.kind() == std::io::ErrorKind::InvalidData),
            "{err}"
        );
        assert!(
            err.to_string()
                .contains("cannot read config file /dev/zero: longer than 1048576 bytes"),
            "{err}"
        );
    }

    #[test]
    fn miner_kernel_is_named_or_refused() {
        let resolve =
            |args: &[&str]| Config::resolve(parse(args), Args::default(), Path::new("/x"));
        let c = resolve(&["--regtest"]).expect("default");
        assert_eq!(c.miner_kernel, crate::miner::Kernel::Best);
        let c = resolve(&["--regtest", "--minerkernel", "portable"]).expect("portable");
        assert_eq!(c.miner_kernel, crate::miner::Kernel::Portable);
        let err = resolve(&["--regtest", "--minerkernel", "sha-ni-3"]).expect_err("no such kernel");
        assert!(
            err.to_string().contains("minerkernel") && err.to_string().contains("sha-ni-3"),
            "{err}"
        );
        let two = resolve(&["--regtest", "--minerkernel", "sha-ni-2"]);
        assert_eq!(two.is_ok(), crate::miner::Kernel::ShaNi2.is_available());
    }

    #[test]
    fn mine_needs_an_address_of_this_network() {
        let err = Config::resolve(
            parse(&["--regtest", "--mine"]),
            Args::default(),
            Path::new("/x"),
        )
        .expect_err("no address");
        assert!(err.to_string().contains("mineraddress"), "{err}");
        let main_addr = Address::new(Network::Main, PubKey([2; 32])).to_string();
        let err = Config::resolve(
            parse(&["--regtest", "--mine", "--mineraddress", &main_addr]),
            Args::default(),
            Path::new("/x"),
        )
        .expect_err("wrong network");
        assert!(err.to_string().contains("network"), "{err}");
    }

    #[test]
    fn core_style_command_lines() {
        let args = |a: &[&str]| {
            core_style_args(std::iter::once("dotcoind").chain(a.iter().copied()))
                .into_iter()
                .map(|s| s.into_string().expect("utf-8"))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            args(&["-regtest", "-daemon=0", "-rpcport=1", "--port", "2"]),
            ["dotcoind", "--regtest", "--rpcport=1", "--port", "2"]
        );
        assert_eq!(
            args(&["-mine=1", "-nolisten"]),
            ["dotcoind", "--mine", "--listen=false"]
        );
        assert_eq!(
            args(&["-listen=1", "-debug=net"]),
            ["dotcoind", "--listen=true", "--debug=net"]
        );
        // Values and everything after `--` are left alone.
        assert_eq!(
            args(&["--datadir", "-x", "--", "-y"]),
            ["dotcoind", "--datadir", "-x", "--", "-y"]
        );
        let parsed = Args::parse_core_style(["dotcoind", "-regtest", "-daemon=0", "-mine=0"]);
        assert!(parsed.regtest && !parsed.daemon && !parsed.mine);
        assert!(Args::try_parse_from(core_style_args(["dotcoind", "-bogus=1"])).is_err());
    }

    #[test]
    fn seednode_names_get_the_network_port() {
        let resolve = |a: &[&str]| {
            Config::resolve(parse(a), Args::default(), Path::new("/x")).map(|c| c.seednode)
        };
        assert_eq!(
            resolve(&["--regtest", "--seednode", "tasks.node", "--seednode=seed:9"]).expect("ok"),
            ["tasks.node:18633", "seed:9"]
        );
        assert_eq!(
            resolve(&["--seednode", "[::1]:7", "--seednode", "::1"]).expect("ok"),
            ["[::1]:7", "[::1]:8633"]
        );
        for bad in ["", "seed:0", "seed:x", "a b", "[::1", "seed:70000"] {
            let err = resolve(&["--seednode", bad]).expect_err(bad);
            assert!(err.to_string().contains("seednode"), "{bad}: {err}");
        }
    }

    #[test]
    fn dbcache_is_bounded() {
        assert_eq!(
            db_cache_bytes(None).expect("default"),
            crate::storage::DEFAULT_DB_CACHE_BYTES
        );
        assert_eq!(db_cache_bytes(Some(64)).expect("in range"), 64 << 20);
        for bad in [0, 3, 16_385, usize::MAX] {
            assert!(db_cache_bytes(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn debug_categories() {
        assert_eq!(
            log_filter(&["net".into(), "mempool".into()]).expect("valid"),
            "info,net=debug,mempool=debug"
        );
        assert!(log_filter(&["nett".into()]).is_err());
        assert_eq!(
            log_filter(&["all".into()]).expect("valid"),
            log_filter_for(&LOG_CATEGORIES)
        );
    }
}
