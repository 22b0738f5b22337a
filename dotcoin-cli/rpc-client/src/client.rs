//! The JSON-RPC transport that `dotcoin-cli`, `dotcoin-wallet` and the tests use to talk to
//! `dotcoind`.
//!
//! Bird's eye view:
//! - [`ConnectOptions`] says where the node is and how to authenticate (the same knobs as
//!   `bitcoin-cli`: `rpcconnect`, `rpcport`, `rpcuser`/`rpcpassword` or the cookie, `rpcwait`).
//! - [`RpcClient::call`] sends one JSON-RPC 1.0 request (the shape Bitcoin Core clients send)
//!   with HTTP Basic auth, and reads a 1.0 or 2.0 reply.
//! - [`RpcError`] keeps apart what a caller reacts to differently: the node answered with an
//!   error object, the credentials were refused, the node could not be reached, and so on.
//!
//! It speaks plain HTTP/1.1 through hyper's pooled client rather than jsonrpsee's client,
//! because jsonrpsee only sends 2.0 requests and hides the HTTP status that tells a 401 apart.

use std::net::Ipv6Addr;
use std::path::PathBuf;
use std::time::Duration;

use dotcoin_common::params::{default_base_datadir, network_datadir, Network, COOKIE_FILE};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE};
use hyper::{Request, Uri};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use serde_json::{json, Value};
use tokio::time::Instant;

use crate::auth::{basic_auth_header, read_cookie, Credentials};

/// The `id` of every request; a client sends one request per HTTP exchange, so the id only
/// has to name the sender in the node's logs.
pub const REQUEST_ID: &str = "dotcoin-cli";

/// Bitcoin Core's `RPC_IN_WARMUP`: the node is up but still loading.
pub const RPC_IN_WARMUP: i64 = -28;

/// How long one request may take by default: `bitcoin-cli`'s `-rpcclienttimeout` default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(900);

/// How long `rpcwait` keeps retrying by default. Bitcoin Core waits forever unless told
/// otherwise; a bound means a script whose node never comes up fails instead of hanging.
pub const DEFAULT_RPCWAIT_TIMEOUT: Duration = Duration::from_secs(60);

/// Longest TCP connect attempt; the node is normally local, so a connect that takes longer
/// than this means a wrong or firewalled address, and `rpcwait` should move on and retry.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Pause after the first failed attempt under `rpcwait`; it doubles up to
/// [`MAX_RETRY_DELAY`]. Short at first because a starting node is usually ready within
/// a fraction of a second.
const FIRST_RETRY_DELAY: Duration = Duration::from_millis(50);
const MAX_RETRY_DELAY: Duration = Duration::from_millis(500);

/// Where the node is and how to log in.
#[derive(Clone)]
pub struct ConnectOptions {
    /// Network, which picks the default RPC port and the datadir's subdirectory.
    pub network: Network,
    /// Base datadir (`~/.dotcoin` when `None`); the cookie is read from the network's
    /// directory below it.
    pub datadir: Option<PathBuf>,
    /// Host to connect to: a name, an IPv4 or IPv6 address, optionally with `:port`
    /// (`[v6]:port` for IPv6), as `bitcoin-cli -rpcconnect` takes it.
    pub rpcconnect: String,
    /// Port; overrides a port in `rpcconnect`, and defaults to the network's RPC port.
    pub rpcport: Option<u16>,
    /// User for password authentication (empty when `None`).
    pub rpcuser: Option<String>,
    /// Password; when `None` or empty the cookie file is used instead, as in Bitcoin Core.
    pub rpcpassword: Option<String>,
    /// Retry while the node is unreachable, warming up (`-28`) or has not written its
    /// cookie yet, for at most `rpcwait_timeout`.
    pub rpcwait: bool,
    /// Bound on the total `rpcwait` retrying; `Duration::MAX` waits forever.
    pub rpcwait_timeout: Duration,
    /// Bound on one HTTP exchange; `Duration::MAX` for none.
    pub timeout: Duration,
    /// The URL path requests go to: `/`, or `/wallet/<name>` for one wallet of the wallet
    /// service (Bitcoin Core's multiwallet endpoint).
    pub path: String,
    /// The cookie file to read instead of the node's `.cookie` (the wallet service's
    /// `.wallet-cookie`).
    pub cookie_file: Option<PathBuf>,
}

impl ConnectOptions {
    /// Defaults for `network`: 127.0.0.1 on the network's RPC port, cookie auth from
    /// `~/.dotcoin`, no waiting, [`DEFAULT_TIMEOUT`].
    pub fn new(network: Network) -> ConnectOptions {
        ConnectOptions {
            network,
            datadir: None,
            rpcconnect: "127.0.0.1".to_owned(),
            rpcport: None,
            rpcuser: None,
            rpcpassword: None,
            rpcwait: false,
            rpcwait_timeout: DEFAULT_RPCWAIT_TIMEOUT,
            timeout: DEFAULT_TIMEOUT,
            path: "/".to_owned(),
            cookie_file: None,
        }
    }

    /// These options pointed at the wallet service instead of the node: port
    /// `wallet_port`, or the node's RPC port + [`WALLET_PORT_OFFSET`]; the service's
    /// cookie; and with `wallet`, that wallet's endpoint. The service knows only its own
    /// cookie, so `rpcuser`/`rpcpassword` (the node's) are not sent to it.
    pub fn for_wallet_service(&self, wallet_port: Option<u16>, wallet: Option<&str>) -> Self {
        let mut options = self.clone();
        let node_port = self
            .endpoint()
            .map(|(_, p)| p)
            .unwrap_or(self.network.params().rpc_port);
        options.rpcport = Some(wallet_port.unwrap_or(node_port.saturating_add(WALLET_PORT_OFFSET)));
        options.cookie_file = Some(self.network_datadir().join(WALLET_COOKIE_FILE));
        options.rpcuser = None;
        options.rpcpassword = None;
        options.path = match wallet {
            Some(name) => format!("/wallet/{}", percent_encode(name)),
            None => "/".to_owned(),
        };
        options
    }

    /// The network's data directory: `network_datadir(datadir or ~/.dotcoin, network)`.
    pub fn network_datadir(&self) -> PathBuf {
        let base = self.datadir.clone().unwrap_or_else(default_base_datadir);
        network_datadir(&base, self.network)
    }

    /// Where the node's cookie (or the `cookie_file` given) is expected.
    pub fn cookie_path(&self) -> PathBuf {
        self.cookie_file
            .clone()
            .unwrap_or_else(|| self.network_datadir().join(COOKIE_FILE))
    }

    /// The host (bracketed if IPv6, ready for a URL) and the port to connect to.
    pub fn endpoint(&self) -> Result<(String, u16), RpcError> {
        let invalid = || RpcError::Connect(format!("invalid rpcconnect '{}'", self.rpcconnect));
        let (host, port_in_host) = split_host_port(&self.rpcconnect).ok_or_else(invalid)?;
        let port = self
            .rpcport
            .or(port_in_host)
            .unwrap_or(self.network.params().rpc_port);
        let host = if host.parse::<Ipv6Addr>().is_ok() {
            format!("[{host}]")
        } else {
            host.to_owned()
        };
        Ok((host, port))
    }
}

impl std::fmt::Debug for ConnectOptions {
    // Hand-written so that logging the options never prints the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectOptions")
            .field("network", &self.network)
            .field("datadir", &self.datadir)
            .field("rpcconnect", &self.rpcconnect)
            .field("rpcport", &self.rpcport)
            .field("rpcuser", &self.rpcuser)
            .field("rpcpassword", &self.rpcpassword.as_ref().map(|_| ".."))
            .field("rpcwait", &self.rpcwait)
            .field("rpcwait_timeout", &self.rpcwait_timeout)
            .field("timeout", &self.timeout)
            .field("path", &self.path)
            .field("cookie_file", &self.cookie_file)
            .finish()
    }
}

/// The wallet service's port is the node's RPC port plus this (`dotcoin-wallet serve`).
pub const WALLET_PORT_OFFSET: u16 = 3;

/// The wallet service's cookie file, in the network's datadir.
pub const WALLET_COOKIE_FILE: &str = ".wallet-cookie";

/// The methods `dotcoin-wallet serve` answers (its `help` and `stop` aside), the one list
/// of wallet calls: `dotcoin-cli` sends these to the wallet service rather than the node,
/// the node answers them with a pointer to the wallet service, and the wallet service's
/// tests hold it equal to the table it serves.
pub const WALLET_METHODS: &[&str] = &[
    "abandontransaction",
    "backupwallet",
    "bumpfee",
    "createwallet",
    "deriveaddresses",
    "dumpprivkey",
    "encryptwallet",
    "fundrawtransaction",
    "getaddressinfo",
    "getbalance",
    "getbalances",
    "getdescriptorinfo",
    "getnewaddress",
    "getrawchangeaddress",
    "gettransaction",
    "getwalletinfo",
    "importdescriptors",
    "importprivkey",
    "listaddressgroupings",
    "listdescriptors",
    "listlockunspent",
    "listsinceblock",
    "listtransactions",
    "listunspent",
    "listwallets",
    "loadwallet",
    "lockunspent",
    "migratewallet",
    "psbtbumpfee",
    "send",
    "sendall",
    "sendmany",
    "sendtoaddress",
    "signrawtransactionwithwallet",
    "unloadwallet",
    "walletcreatefundedpsbt",
    "walletlock",
    "walletpassphrase",
    "walletpassphrasechange",
    "walletprocesspsbt",
];

/// Bitcoin Core's wallet calls (its `src/wallet/rpc/` tables, v27), those the wallet
/// service offers ([`WALLET_METHODS`]) among them. The node answers the others with
/// "Method not found" saying they are wallet calls the wallet service does not offer.
///
/// Two of Core's utility calls are here too: `deriveaddresses` and `getdescriptorinfo`
/// need the descriptor code, which lives with the keys in `dotcoin-wallet`, so dotcoin
/// serves them on the wallet service and the node points there.
pub const CORE_WALLET_METHODS: &[&str] = &[
    "abandontransaction",
    "abortrescan",
    "addmultisigaddress",
    "backupwallet",
    "bumpfee",
    "createwallet",
    "createwalletdescriptor",
    "deriveaddresses",
    "dumpprivkey",
    "dumpwallet",
    "encryptwallet",
    "fundrawtransaction",
    "getaddressesbylabel",
    "getdescriptorinfo",
    "getaddressinfo",
    "getbalance",
    "getbalances",
    "gethdkeys",
    "getnewaddress",
    "getrawchangeaddress",
    "getreceivedbyaddress",
    "getreceivedbylabel",
    "gettransaction",
    "getunconfirmedbalance",
    "getwalletinfo",
    "importaddress",
    "importdescriptors",
    "importmulti",
    "importprivkey",
    "importprunedfunds",
    "importpubkey",
    "importwallet",
    "keypoolrefill",
    "listaddressgroupings",
    "listdescriptors",
    "listlabels",
    "listlockunspent",
    "listreceivedbyaddress",
    "listreceivedbylabel",
    "listsinceblock",
    "listtransactions",
    "listunspent",
    "listwalletdir",
    "listwallets",
    "loadwallet",
    "lockunspent",
    "migratewallet",
    "newkeypool",
    "psbtbumpfee",
    "removeprunedfunds",
    "rescanblockchain",
    "restorewallet",
    "send",
    "sendall",
    "sendmany",
    "sendtoaddress",
    "sethdseed",
    "setlabel",
    "settxfee",
    "setwalletflag",
    "signmessage",
    "signrawtransactionwithwallet",
    "simulaterawtransaction",
    "unloadwallet",
    "upgradewallet",
    "walletcreatefundedpsbt",
    "walletdisplayaddress",
    "walletlock",
    "walletpassphrase",
    "walletpassphrasechange",
    "walletprocesspsbt",
];

/// Percent-encodes a wallet name for a URL path (everything but unreserved characters).
fn percent_encode(name: &str) -> String {
    name.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Splits `host`, `host:port`, `[v6]`, `[v6]:port` or a bare IPv6 address into host and
/// optional port. `None` if the port is not a number or the brackets do not close.
fn split_host_port(s: &str) -> Option<(&str, Option<u16>)> {
    if s.is_empty() {
        return None;
    }
    if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        return match after {
            "" => Some((host, None)),
            _ => Some((host, Some(after.strip_prefix(':')?.parse().ok()?))),
        };
    }
    match s.split_once(':') {
        // More than one colon and no brackets: a bare IPv6 address, no port.
        Some((_, rest)) if rest.contains(':') => Some((s, None)),
        Some((host, port)) if !host.is_empty() => Some((host, Some(port.parse().ok()?))),
        Some(_) => None,
        None => Some((s, None)),
    }
}

/// Everything that can go wrong with one call.
#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    /// The node answered with a JSON-RPC error object.
    #[error("RPC error {code}: {message}")]
    Rpc {
        /// Bitcoin Core's error code (`-8` invalid parameter, `-32601` unknown method, …).
        code: i64,
        /// The node's message.
        message: String,
    },
    /// HTTP 401: the node refused the credentials.
    #[error("Authorization failed: Incorrect rpcuser or rpcpassword")]
    Unauthorized,
    /// The node could not be reached; the message names the address and the reason.
    #[error("{0}")]
    Connect(String),
    /// No `rpcpassword` was given and the cookie file could not be read.
    #[error(
        "could not read the RPC cookie {}: {source} (is dotcoind running with this datadir \
         and network? otherwise pass --rpcuser and --rpcpassword)",
        path.display()
    )]
    Cookie {
        /// The cookie file that was tried.
        path: PathBuf,
        /// Why it could not be read.
        source: std::io::Error,
    },
    /// The cookie's writer is no longer running: nothing was sent, since whoever holds
    /// its port now is not it.
    #[error("{program} is not running (stale cookie file {} written by pid {pid})", path.display())]
    StaleCookie {
        /// `dotcoind` or `dotcoin-wallet`.
        program: &'static str,
        /// The cookie file.
        path: PathBuf,
        /// The process id recorded beside it.
        pid: u32,
    },
    /// An HTTP error status with no JSON-RPC reply in the body.
    #[error("server returned HTTP error {0}")]
    Http(u16),
    /// The exchange took longer than [`ConnectOptions::timeout`].
    #[error("no answer from the server {addr} within {after:?}")]
    Timeout {
        /// `host:port` asked.
        addr: String,
        /// The timeout that ran out.
        after: Duration,
    },
    /// The reply was not a JSON-RPC reply.
    #[error("invalid response: {0}")]
    InvalidResponse(String),
    /// The node answered, but the result does not have the shape the typed call expects:
    /// the client and the node disagree on the contract of `method`.
    #[error("unexpected result of {method}: {source}")]
    Decode {
        /// The method whose result could not be decoded.
        method: String,
        /// What did not match.
        source: serde_json::Error,
    },
}

impl RpcError {
    /// Whether `rpcwait` should retry: the node is not up yet (unreachable, still warming
    /// up, or its cookie not written yet). Never a request that may have been executed.
    pub fn is_transient(&self) -> bool {
        match self {
            // A stale cookie too: with `-rpcwait` the program may be starting again.
            RpcError::Connect(_) | RpcError::Cookie { .. } | RpcError::StaleCookie { .. } => true,
            RpcError::Rpc { code, .. } => *code == RPC_IN_WARMUP,
            _ => false,
        }
    }
}

/// A JSON-RPC client for one node. Cheap to clone; clones share the connection pool.
#[derive(Debug, Clone)]
pub struct RpcClient {
    http: Client<HttpConnector, Full<Bytes>>,
    uri: Uri,
    /// `host:port`, for error messages.
    addr: String,
    credentials: Credentials,
    rpcwait: bool,
    rpcwait_timeout: Duration,
    timeout: Duration,
}

impl RpcClient {
    /// A client for the node `opts` describes.
    ///
    /// Credentials: `rpcuser`/`rpcpassword` when a non-empty password is given, otherwise
    /// the cookie in the network's datadir. Without `rpcwait` a missing cookie is an error
    /// here; with it, the cookie may appear later (the node is still starting).
    pub fn new(opts: &ConnectOptions) -> Result<RpcClient, RpcError> {
        let (host, port) = opts.endpoint()?;
        let addr = format!("{host}:{port}");
        let path = if opts.path.starts_with('/') {
            opts.path.as_str()
        } else {
            "/"
        };
        let uri: Uri = format!("http://{addr}{path}")
            .parse()
            .map_err(|e| RpcError::Connect(format!("invalid rpcconnect '{addr}': {e}")))?;

        let credentials = match opts.rpcpassword.as_deref() {
            Some(password) if !password.is_empty() => Credentials::UserPassword(basic_auth_header(
                opts.rpcuser.as_deref().unwrap_or(""),
                password,
            )),
            _ => {
                let path = opts.cookie_path();
                if !opts.rpcwait {
                    read_cookie(&path)?;
                }
                Credentials::Cookie(path)
            }
        };

        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(opts.timeout.min(CONNECT_TIMEOUT)));
        connector.set_nodelay(true);
        let http = Client::builder(TokioExecutor::new()).build(connector);

        Ok(RpcClient {
            http,
            uri,
            addr,
            credentials,
            rpcwait: opts.rpcwait,
            rpcwait_timeout: opts.rpcwait_timeout,
            timeout: opts.timeout,
        })
    }

    /// `host:port` this client talks to.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Calls `method` with `params` (a JSON array of positional or an object of named
    /// parameters; `null` is sent as `[]`) and returns the result.
    pub async fn call(&self, method: &str, params: Value) -> Result<Value, RpcError> {
        let raw = self.call_raw(method, params).await?;
        serde_json::from_str(raw.get())
            .map_err(|e| RpcError::InvalidResponse(format!("result is not JSON: {e}")))
    }

    /// [`call`](Self::call), with the result as the node wrote it: numbers keep their
    /// text (`0.00000584`, not a float's `5.84e-6`), as `bitcoin-cli` prints them.
    pub async fn call_raw(&self, method: &str, params: Value) -> Result<Box<RawValue>, RpcError> {
        let params = if params.is_null() { json!([]) } else { params };
        let request = json!({
            "jsonrpc": "1.0",
            "id": REQUEST_ID,
            "method": method,
            "params": params,
        });
        let body = Bytes::from(request.to_string());
        if !self.rpcwait {
            return self.call_once(body).await;
        }

        // Retry only while the node is not up yet; see `RpcError::is_transient`.
        let deadline = Instant::now().checked_add(self.rpcwait_timeout);
        let mut delay = FIRST_RETRY_DELAY;
        loop {
            match self.call_once(body.clone()).await {
                Err(e) if e.is_transient() => {
                    let pause = match deadline {
                        Some(deadline) => {
                            let left = deadline.saturating_duration_since(Instant::now());
                            if left.is_zero() {
                                return Err(e);
                            }
                            delay.min(left)
                        }
                        None => delay,
                    };
                    tokio::time::sleep(pause).await;
                    delay = (delay * 2).min(MAX_RETRY_DELAY);
                }
                other => return other,
            }
        }
    }

    /// [`call`](Self::call), then deserializes the result into `T`; a result of another
    /// shape is [`RpcError::Decode`] naming `method`.
    pub async fn call_typed<T: DeserializeOwned>(
        &self,
        method: &str,
        params: Value,
    ) -> Result<T, RpcError> {
        let result = self.call(method, params).await?;
        decode_result(method, result)
    }

    /// One call: one HTTP exchange, sent again once when the pooled connection it went out
    /// on turned out to be closed by the server before it read the request.
    ///
    /// A server that caps its sockets closes the longest-idle one, which can be this
    /// client's kept-alive connection at the moment a request is written to it; the reset
    /// then comes before any answer. The server evicts only idle connections, so the request
    /// was not acted on and sending it again on a fresh connection is safe, for a
    /// `sendrawtransaction` as for a read.
    async fn call_once(&self, body: Bytes) -> Result<Box<RawValue>, RpcError> {
        match self.exchange(body.clone()).await {
            Err(Exchange::Stale(_)) => self.exchange(body).await.map_err(Exchange::into_error),
            other => other.map_err(Exchange::into_error),
        }
    }

    /// One HTTP exchange, no retries.
    async fn exchange(&self, body: Bytes) -> Result<Box<RawValue>, Exchange> {
        let request = Request::post(self.uri.clone())
            .header(
                AUTHORIZATION,
                self.credentials.header().map_err(Exchange::Failed)?,
            )
            .header(CONTENT_TYPE, "application/json")
            .body(Full::new(body))
            .expect("the URI was validated in new() and base64 is a valid header value");

        let exchange = async {
            let response = self.http.request(request).await.map_err(|e| {
                let error = self.transport_error(e.is_connect(), &e);
                if !e.is_connect() && reset_before_answer(&e) {
                    Exchange::Stale(error)
                } else {
                    Exchange::Failed(error)
                }
            })?;
            let status = response.status().as_u16();
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|e| Exchange::Failed(self.transport_error(false, &e)))?
                .to_bytes();
            Ok::<_, Exchange>((status, body))
        };
        let (status, body) = tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| {
                Exchange::Failed(RpcError::Timeout {
                    addr: self.addr.clone(),
                    after: self.timeout,
                })
            })??;
        parse_reply_raw(status, &body).map_err(Exchange::Failed)
    }

    fn transport_error(&self, connect: bool, error: &dyn std::error::Error) -> RpcError {
        // hyper's outer errors only say "client error (Connect)"; the innermost cause says
        // what happened ("Connection refused").
        let mut cause = error;
        while let Some(next) = cause.source() {
            cause = next;
        }
        if connect {
            RpcError::Connect(format!(
                "Could not connect to the server {} ({cause}). Is dotcoind running, and are \
                 the RPC port and network (--rpcport, --regtest) right?",
                self.addr
            ))
        } else {
            RpcError::InvalidResponse(format!(
                "no response from the server {}: {cause}",
                self.addr
            ))
        }
    }
}

/// How one HTTP exchange failed.
enum Exchange {
    /// The connection was reset or closed before any answer came: a pooled connection the
    /// server had just closed.
    Stale(RpcError),
    /// Anything else.
    Failed(RpcError),
}

impl Exchange {
    fn into_error(self) -> RpcError {
        match self {
            Exchange::Stale(e) | Exchange::Failed(e) => e,
        }
    }
}

/// Whether `error` is a connection the server reset or closed before answering.
fn reset_before_answer(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(error);
    while let Some(e) = cause {
        if let Some(h) = e.downcast_ref::<hyper::Error>() {
            if h.is_incomplete_message() || h.is_canceled() {
                return true;
            }
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::ConnectionAborted
                    | std::io::ErrorKind::BrokenPipe
            ) {
                return true;
            }
        }
        cause = e.source();
    }
    false
}

/// Deserializes the result of `method` into `T`, or [`RpcError::Decode`].
pub fn decode_result<T: DeserializeOwned>(method: &str, result: Value) -> Result<T, RpcError> {
    serde_json::from_value(result).map_err(|source| RpcError::Decode {
        method: method.to_owned(),
        source,
    })
}

/// Reads a reply: a JSON-RPC 1.0 (`result` and `error`, one null) or 2.0 (`result` or
/// `error`) object. Bitcoin Core answers errors with HTTP 404/500 and the error object in
/// the body, so the body is looked at whatever the status, except 401, which has none.
#[cfg(test)]
pub(crate) fn parse_reply(status: u16, body: &[u8]) -> Result<Value, RpcError> {
    let raw = parse_reply_raw(status, body)?;
    serde_json::from_str(raw.get())
        .map_err(|e| RpcError::InvalidResponse(format!("result is not JSON: {e}")))
}

/// [`parse_reply`] with the result's JSON text kept as the node wrote it.
pub(crate) fn parse_reply_raw(status: u16, body: &[u8]) -> Result<Box<RawValue>, RpcError> {
    if status == 401 {
        return Err(RpcError::Unauthorized);
    }
    let reply = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(reply)) if reply.contains_key("result") || reply.contains_key("error") => {
            reply
        }
        _ if status >= 400 => return Err(RpcError::Http(status)),
        _ if body.is_empty() => {
            return Err(RpcError::InvalidResponse(
                "empty reply from the server".into(),
            ))
        }
        _ => {
            let text = String::from_utf8_lossy(body);
            let shown: String = text.chars().take(200).collect();
            return Err(RpcError::InvalidResponse(format!(
                "not a JSON-RPC reply: {shown}"
            )));
        }
    };
    match reply.get("error") {
        None | Some(Value::Null) => {
            #[derive(serde::Deserialize)]
            struct RawReply {
                #[serde(default)]
                result: Option<Box<RawValue>>,
            }
            let raw: RawReply = serde_json::from_slice(body)
                .map_err(|e| RpcError::InvalidResponse(format!("not a JSON-RPC reply: {e}")))?;
            Ok(raw
                .result
                .unwrap_or_else(|| RawValue::from_string("null".into()).expect("null is JSON")))
        }
        Some(error) => match error.get("code").and_then(Value::as_i64) {
            Some(code) => Err(RpcError::Rpc {
                code,
                message: error
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
            }),
            None => Err(RpcError::InvalidResponse(format!(
                "malformed error object: {error}"
            ))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wallet_service_is_the_node_port_plus_three_with_its_cookie() {
        let mut opts = ConnectOptions::new(Network::Regtest);
        opts.datadir = Some("/d".into());
        opts.rpcpassword = Some("node-password".into());
        let w = opts.for_wallet_service(None, None);
        assert_eq!(w.endpoint().expect("endpoint").1, 18635);
        assert_eq!(w.cookie_path(), PathBuf::from("/d/regtest/.wallet-cookie"));
        assert_eq!(
            w.rpcpassword, None,
            "the node's password is not sent to the wallet"
        );
        assert_eq!(w.path, "/");
        opts.rpcport = Some(20000);
        let w = opts.for_wallet_service(None, Some("a b/c"));
        assert_eq!(w.endpoint().expect("endpoint").1, 20003);
        assert_eq!(w.path, "/wallet/a%20b%2Fc");
        let w = opts.for_wallet_service(Some(7), Some("bob"));
        assert_eq!(w.endpoint().expect("endpoint").1, 7);
        assert_eq!(w.path, "/wallet/bob");
        assert_eq!(opts.cookie_path(), PathBuf::from("/d/regtest/.cookie"));
    }

    #[test]
    fn defaults_follow_the_network() {
        let opts = ConnectOptions::new(Network::Regtest);
        assert_eq!(opts.endpoint().unwrap(), ("127.0.0.1".to_owned(), 18632));
        let opts = ConnectOptions::new(Network::Main);
        assert_eq!(opts.endpoint().unwrap(), ("127.0.0.1".to_owned(), 8632));
    }

    #[test]
    fn cookie_path_is_below_the_network_datadir() {
        let mut opts = ConnectOptions::new(Network::Regtest);
        opts.datadir = Some("/x".into());
        assert_eq!(opts.cookie_path(), PathBuf::from("/x/regtest/.cookie"));
        opts.network = Network::Main;
        assert_eq!(opts.cookie_path(), PathBuf::from("/x/.cookie"));
    }

    #[test]
    fn rpcconnect_forms() {
        let endpoint = |connect: &str, port: Option<u16>| {
            let mut opts = ConnectOptions::new(Network::Regtest);
            opts.rpcconnect = connect.to_owned();
            opts.rpcport = port;
            opts.endpoint()
        };
        let ok = |h: &str, p: u16| Ok::<_, ()>((h.to_owned(), p));
        assert_eq!(endpoint("node", None).map_err(drop), ok("node", 18632));
        assert_eq!(endpoint("node:1234", None).map_err(drop), ok("node", 1234));
        // -rpcport wins over a port in -rpcconnect, as in bitcoin-cli.
        assert_eq!(
            endpoint("node:1234", Some(99)).map_err(drop),
            ok("node", 99)
        );
        assert_eq!(endpoint("::1", None).map_err(drop), ok("[::1]", 18632));
        assert_eq!(endpoint("[::1]", None).map_err(drop), ok("[::1]", 18632));
        assert_eq!(endpoint("[::1]:7", None).map_err(drop), ok("[::1]", 7));
        for bad in ["", "node:x", ":5", "[::1", "[::1]x", "node:99999"] {
            assert!(
                matches!(endpoint(bad, None), Err(RpcError::Connect(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn debug_hides_the_password() {
        let mut opts = ConnectOptions::new(Network::Regtest);
        opts.rpcpassword = Some("hunter2".into());
        assert!(!format!("{opts:?}").contains("hunter2"));
    }

    #[test]
    fn replies_in_both_shapes() {
        // 1.0: both fields, error null.
        let v = parse_reply(200, br#"{"result":5,"error":null,"id":"x"}"#).unwrap();
        assert_eq!(v, json!(5));
        // 2.0: result only.
        let v = parse_reply(200, br#"{"jsonrpc":"2.0","result":"ab","id":"x"}"#).unwrap();
        assert_eq!(v, json!("ab"));
        // A null result is a result.
        let v = parse_reply(200, br#"{"result":null,"error":null,"id":1}"#).unwrap();
        assert_eq!(v, Value::Null);
    }

    #[test]
    fn error_objects_whatever_the_status() {
        for status in [200, 404, 500] {
            let err = parse_reply(
                status,
                br#"{"jsonrpc":"2.0","error":{"code":-32601,"message":"Method not found"},"id":1}"#,
            )
            .unwrap_err();
            assert!(
                matches!(&err, RpcError::Rpc { code: -32601, message } if message == "Method not found"),
                "{status}: {err:?}"
            );
        }
        let err = parse_reply(500, br#"{"result":null,"error":"boom","id":1}"#).unwrap_err();
        assert!(matches!(err, RpcError::InvalidResponse(_)), "{err:?}");
    }

    #[test]
    fn http_statuses_without_a_reply() {
        assert!(matches!(parse_reply(401, b""), Err(RpcError::Unauthorized)));
        // Even if some proxy put JSON in a 401 body, 401 means the credentials.
        assert!(matches!(
            parse_reply(401, br#"{"result":1}"#),
            Err(RpcError::Unauthorized)
        ));
        assert!(matches!(
            parse_reply(403, b"Forbidden"),
            Err(RpcError::Http(403))
        ));
        assert!(matches!(parse_reply(500, b""), Err(RpcError::Http(500))));
        assert!(matches!(
            parse_reply(200, b""),
            Err(RpcError::InvalidResponse(_))
        ));
        assert!(matches!(
            parse_reply(200, b"<html>"),
            Err(RpcError::InvalidResponse(_))
        ));
        assert!(matches!(
            parse_reply(200, b"[1,2]"),
            Err(RpcError::InvalidResponse(_))
        ));
    }

    #[test]
    fn a_result_of_the_wrong_shape_names_the_method() {
        let err = decode_result::<u32>("getblockcount", json!("ten")).unwrap_err();
        assert!(
            matches!(&err, RpcError::Decode { method, .. } if method == "getblockcount"),
            "{err:?}"
        );
        assert!(err
            .to_string()
            .starts_with("unexpected result of getblockcount: "));
        assert_eq!(
            decode_result::<u32>("getblockcount", json!(10)).unwrap(),
            10
        );
    }

    #[test]
    fn transient_errors() {
        assert!(RpcError::Connect("x".into()).is_transient());
        assert!(RpcError::Rpc {
            code: RPC_IN_WARMUP,
            message: "Loading".into()
        }
        .is_transient());
        assert!(!RpcError::Rpc {
            code: -8,
            message: "x".into()
        }
        .is_transient());
        assert!(!RpcError::Unauthorized.is_transient());
        assert!(!RpcError::Timeout {
            addr: "x".into(),
            after: Duration::ZERO
        }
        .is_transient());
    }

    #[test]
    fn new_without_cookie_names_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let mut opts = ConnectOptions::new(Network::Regtest);
        opts.datadir = Some(dir.path().to_path_buf());
        match RpcClient::new(&opts) {
            Err(RpcError::Cookie { path, .. }) => {
                assert_eq!(path, dir.path().join("regtest").join(".cookie"))
            }
            other => panic!("expected a cookie error, got {other:?}"),
        }
        // With rpcwait the cookie may still come; with a password it is not needed.
        opts.rpcwait = true;
        RpcClient::new(&opts).unwrap();
        opts.rpcwait = false;
        opts.rpcpassword = Some("p".into());
        RpcClient::new(&opts).unwrap();
        // An empty password means "use the cookie", as in Bitcoin Core.
        opts.rpcpassword = Some(String::new());
        assert!(matches!(
            RpcClient::new(&opts),
            Err(RpcError::Cookie { .. })
        ));
    }
}
