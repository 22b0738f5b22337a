//! The functional test harness: real `dotcoind` processes on free 127.0.0.1 ports in
//! temporary datadirs, driven by the real `dotcoin-cli` and `dotcoin-wallet`.
//!
//! - [`TestNode`] starts a node (`--rpcport 0 --port 0`: the node picks free ports and writes
//!   them to `dotcoind.ports`, which the harness reads — no guessing, no races), gives an
//!   RPC client, runs the CLI and wallet against it, stops it (RPC or SIGTERM), kills it
//!   with SIGKILL and restarts it on the same datadir; on drop it kills the process and,
//!   if the test is failing, prints the node's `debug.log`.
//! - [`WalletServiceProcess`] starts `dotcoin-wallet serve` for a node, in a datadir of
//!   its own, on a port it reads back the same way.
//! - [`wait_until`] waits for a condition with a timeout; tests never sleep blindly.
//! - [`rawpeer`]: a scripted peer speaking raw P2P frames, for hostile-peer tests.
//! - [`busy_chain`]: regtest blocks full of signed transactions, for sync tests and the
//!   sync benchmark (`busy-chain` binary, `contrib/bench/sync.sh`).
//!
//! The binaries must be built first (`make test` does); the harness finds them next to
//! the test executable's target directory.

pub mod busy_chain;
pub mod rawpeer;

use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use dotcoin_common::primitives::CompactTarget;
use dotcoin_common::{
    deserialize, Amount, Block, BlockHash, BlockHeader, OutPoint, PubKey, Transaction, TxIn, TxOut,
};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

/// Generous bound for conditions on a loaded 2-core machine.
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// Waits until `cond` is true, polling every 20 ms; panics naming `what` after `timeout`.
pub fn wait_until(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        if start.elapsed() > timeout {
            panic!("timed out after {timeout:?} waiting for: {what}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Most calls the node takes in one JSON-RPC batch (`dotcoind`'s `rpc::MAX_BATCH`).
pub const MAX_BATCH: usize = 1000;

/// The workspace root (the folder holding `tests/`, `contrib/`, `docs/`).
///
/// Read from the environment `cargo test` sets when it runs the test, not baked in with
/// `env!`: a target directory cached under `$HOME` is shared by clones at different paths,
/// and cargo does not rebuild a test when only its checkout moved.
pub fn workspace_root() -> PathBuf {
    let tests = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    tests
        .parent()
        .expect("the tests crate sits in the workspace root")
        .to_path_buf()
}

/// The path of a workspace binary (`dotcoind`, `dotcoin-cli`, `dotcoin-wallet`).
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/<test> → target/<profile>/<name>
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target profile directory");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is not built; run `cargo build --workspace --bins` first (make test does)",
        path.display()
    );
    // `cargo test --test rpc` rebuilds the test, not the programs it starts: without this a
    // change to the node would be tested against the binary from before it. Checked once
    // per binary and test process.
    static CHECKED: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let mut checked = CHECKED.lock().unwrap_or_else(|p| p.into_inner());
    if checked.iter().any(|n| n == name) {
        return path;
    }
    let built = std::fs::metadata(&path)
        .and_then(|m| m.modified())
        .expect("the binary's modification time");
    if let Some((newer, _)) = sources_of(name)
        .iter()
        .filter_map(|dir| newest_file(&workspace_root().join(dir)))
        .filter(|(_, t)| *t > built)
        .max_by_key(|(_, t)| *t)
    {
        panic!(
            "{} is older than {}: run `cargo build --workspace --bins` first (make test does)",
            path.display(),
            newer.display()
        );
    }
    checked.push(name.to_owned());
    path
}

/// The source folders a workspace binary is built from.
fn sources_of(name: &str) -> &'static [&'static str] {
    match name {
        "dotcoind" => &["common/src", "dotcoind/src"],
        "dotcoin-cli" => &[
            "common/src",
            "dotcoin-cli/src",
            "dotcoin-cli/rpc-client/src",
        ],
        "dotcoin-wallet" => &[
            "common/src",
            "dotcoin-wallet/src",
            "dotcoin-cli/rpc-client/src",
        ],
        "dotcoin-lab" => &[
            "common/src",
            "contrib/lab/src",
            "dotcoin-cli/rpc-client/src",
        ],
        _ => &[],
    }
}

/// The most recently modified file under `dir`, with its time.
fn newest_file(dir: &Path) -> Option<(PathBuf, std::time::SystemTime)> {
    let mut newest: Option<(PathBuf, std::time::SystemTime)> = None;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(meta) = entry.metadata() else {
                continue;
            };
            if meta.is_dir() {
                stack.push(entry.path());
            } else if let Ok(t) = meta.modified() {
                if newest.as_ref().is_none_or(|(_, n)| t > *n) {
                    newest = Some((entry.path(), t));
                }
            }
        }
    }
    newest
}

/// A JSON-RPC error returned by the node.
#[derive(Debug, Clone, PartialEq)]
pub struct RpcError {
    /// HTTP status.
    pub status: u16,
    /// JSON-RPC error code (0 when the HTTP layer refused, e.g. 401).
    pub code: i64,
    /// Message.
    pub message: String,
}

/// `<datadir>/dotcoind.ports`: the ports the node bound.
#[derive(Debug, Deserialize)]
struct PortsFile {
    /// The RPC port.
    rpc: u16,
    /// The P2P port, absent when the node does not listen.
    p2p: Option<u16>,
    /// The dashboard port, when it runs.
    dashboard: Option<u16>,
}

/// A running (or stopped) `dotcoind`.
#[derive(Debug)]
pub struct TestNode {
    /// Base datadir (the node's data is in `regtest/` below it).
    pub dir: tempfile::TempDir,
    child: Option<Child>,
    /// RPC port of the running process.
    pub rpc_port: u16,
    /// P2P port of the running process (0 until known).
    pub p2p_port: u16,
    /// Dashboard port, when started with `--dashboard` (0 otherwise).
    pub dashboard_port: u16,
    args: Vec<String>,
    network: dotcoin_common::Network,
}

impl TestNode {
    /// Starts a regtest node with extra `args`.
    pub fn start(args: &[&str]) -> TestNode {
        TestNode::start_on(dotcoin_common::Network::Regtest, args)
    }

    /// Starts a node on `network` with extra `args`.
    pub fn start_on(network: dotcoin_common::Network, args: &[&str]) -> TestNode {
        let dir = tempfile::Builder::new()
            .prefix("dotcoin-test-")
            .tempdir()
            .expect("tempdir");
        let mut node = TestNode {
            dir,
            child: None,
            rpc_port: 0,
            p2p_port: 0,
            dashboard_port: 0,
            args: args.iter().map(|s| s.to_string()).collect(),
            network,
        };
        node.launch();
        node
    }

    /// The network datadir.
    pub fn datadir(&self) -> PathBuf {
        match self.network {
            dotcoin_common::Network::Regtest => self.dir.path().join("regtest"),
            dotcoin_common::Network::Main => self.dir.path().to_path_buf(),
        }
    }

    /// `--regtest`, or nothing on the main network.
    fn network_args(&self) -> &'static [&'static str] {
        match self.network {
            dotcoin_common::Network::Regtest => &["--regtest"],
            dotcoin_common::Network::Main => &[],
        }
    }

    /// The node's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("node is running").id()
    }

    /// Whether the process is running.
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => c.try_wait().ok().flatten().is_none(),
            None => false,
        }
    }

    fn launch(&mut self) {
        let ports_file = self.datadir().join("dotcoind.ports");
        let _ = std::fs::remove_file(&ports_file);
        let stderr = std::fs::File::create(self.dir.path().join("stderr.log")).expect("stderr log");
        let child = Command::new(bin("dotcoind"))
            .args(self.network_args())
            .arg("--datadir")
            .arg(self.dir.path())
            .args(["--rpcport", "0", "--port", "0"])
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("spawn dotcoind");
        self.child = Some(child);
        let mut ports = None;
        wait_until("dotcoind to write its ports file", TIMEOUT, || {
            if !self.is_running() {
                panic!("dotcoind exited during start-up:\n{}", self.stderr_log());
            }
            ports = std::fs::read_to_string(&ports_file)
                .ok()
                .and_then(|s| serde_json::from_str::<PortsFile>(&s).ok());
            ports.is_some()
        });
        let ports = ports.expect("set when the wait ended");
        self.rpc_port = ports.rpc;
        self.p2p_port = ports.p2p.unwrap_or(0);
        self.dashboard_port = ports.dashboard.unwrap_or(0);
    }

    /// What the process wrote to stderr.
    pub fn stderr_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stderr.log")).unwrap_or_default()
    }

    /// The node's `debug.log`.
    pub fn debug_log(&self) -> String {
        std::fs::read_to_string(self.datadir().join("debug.log")).unwrap_or_default()
    }

    /// The `Authorization` header value from the cookie.
    pub fn cookie_auth(&self) -> String {
        let cookie =
            std::fs::read_to_string(self.datadir().join(".cookie")).expect("cookie exists");
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(cookie.trim())
        )
    }

    /// Sends a raw HTTP POST with `body` and `auth` (None: no header); returns status and body.
    pub fn http_post(&self, body: &str, auth: Option<&str>) -> (u16, String) {
        http_request(self.rpc_port, "POST", "/", body, auth)
    }

    /// Calls `method` with `params` over JSON-RPC, authenticated with the cookie.
    pub fn try_rpc(&self, method: &str, params: Value) -> Result<Value, RpcError> {
        let body =
            json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params }).to_string();
        let (status, text) = self.http_post(&body, Some(&self.cookie_auth()));
        if status == 401 {
            return Err(RpcError {
                status,
                code: 0,
                message: "unauthorized".into(),
            });
        }
        let v: Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("bad JSON ({e}): {text}"));
        if let Some(err) = v.get("error").filter(|e| !e.is_null()) {
            return Err(RpcError {
                status,
                code: err["code"].as_i64().unwrap_or(0),
                message: err["message"].as_str().unwrap_or_default().to_owned(),
            });
        }
        Ok(v["result"].clone())
    }

    /// Sends `(method, params)` calls as JSON-RPC batches of at most [`MAX_BATCH`] (the
    /// node refuses larger ones); returns the results in order, panicking on any error.
    pub fn rpc_batch(&self, calls: &[(&str, Value)]) -> Vec<Value> {
        calls
            .chunks(MAX_BATCH)
            .flat_map(|chunk| self.rpc_one_batch(chunk))
            .collect()
    }

    fn rpc_one_batch(&self, calls: &[(&str, Value)]) -> Vec<Value> {
        let reqs: Vec<Value> = calls
            .iter()
            .enumerate()
            .map(|(id, (m, p))| json!({ "jsonrpc": "2.0", "id": id, "method": m, "params": p }))
            .collect();
        let (status, text) =
            self.http_post(&Value::Array(reqs).to_string(), Some(&self.cookie_auth()));
        assert_eq!(status, 200, "batch failed: {text}");
        let mut replies: Vec<Value> =
            serde_json::from_str(&text).expect("batch reply is a JSON array");
        replies.sort_by_key(|r| r["id"].as_u64());
        replies
            .into_iter()
            .map(|r| {
                assert!(
                    r.get("error").is_none_or(Value::is_null),
                    "batch call failed: {r}"
                );
                r["result"].clone()
            })
            .collect()
    }

    /// [`Self::rpc_batch`] of calls that all answer a `T`, decoded.
    pub fn rpc_batch_typed<T: DeserializeOwned>(&self, calls: &[(&str, Value)]) -> Vec<T> {
        self.rpc_batch(calls)
            .into_iter()
            .map(|result| {
                serde_json::from_value(result.clone()).unwrap_or_else(|e| {
                    panic!(
                        "a batch call answered something that is not a {} ({e}): {result}",
                        std::any::type_name::<T>()
                    )
                })
            })
            .collect()
    }

    /// [`Self::rpc`] with the result decoded into `T`, the shared type of the method's
    /// result (`dotcoin_common::rpc_types`).
    pub fn rpc_typed<T: DeserializeOwned>(&self, method: &str, params: Value) -> T {
        let result = self.rpc(method, params.clone());
        serde_json::from_value(result.clone()).unwrap_or_else(|e| {
            panic!(
                "{method} {params} answered something that is not a {} ({e}): {result}",
                std::any::type_name::<T>()
            )
        })
    }

    /// [`Self::try_rpc`] that panics on error.
    pub fn rpc(&self, method: &str, params: Value) -> Value {
        self.try_rpc(method, params.clone())
            .unwrap_or_else(|e| panic!("{method} {params} failed: {e:?}"))
    }

    fn connection_args(&self) -> Vec<String> {
        let mut v: Vec<String> = self.network_args().iter().map(|a| a.to_string()).collect();
        v.extend([
            "--datadir".into(),
            self.dir.path().display().to_string(),
            "--rpcport".into(),
            self.rpc_port.to_string(),
        ]);
        v
    }

    /// Runs the real `dotcoin-cli` against this node.
    pub fn cli(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(bin("dotcoin-cli"));
        cmd.args(self.connection_args())
            .args(args)
            .stdin(Stdio::null());
        output_within(&mut cmd, &format!("dotcoin-cli {args:?}"), COMMAND_TIMEOUT)
    }

    /// Runs `dotcoin-cli` and returns its trimmed stdout, panicking on failure.
    pub fn cli_ok(&self, args: &[&str]) -> String {
        ok_stdout(&format!("dotcoin-cli {args:?}"), &self.cli(args))
    }

    /// Runs `dotcoin-cli` and parses its stdout into `T`, the shared type of the method's
    /// result (`dotcoin_common::rpc_types`). The CLI prints a `null` result as nothing, so
    /// empty output parses as `null` (for an `Option<T>`).
    pub fn cli_typed<T: DeserializeOwned>(&self, args: &[&str]) -> T {
        let s = self.cli_ok(args);
        let json = if s.is_empty() { "null" } else { s.as_str() };
        serde_json::from_str(json).unwrap_or_else(|e| {
            panic!(
                "dotcoin-cli {args:?} printed something that is not a {} ({e}): {s}",
                std::any::type_name::<T>()
            )
        })
    }

    /// Runs the real `dotcoin-wallet` against this node with the wallet in `wallet_dir`.
    pub fn wallet(&self, wallet_dir: &Path, args: &[&str]) -> Output {
        let mut cmd = wallet_command(self, wallet_dir, args);
        cmd.stdout(Stdio::piped());
        output_within(
            &mut cmd,
            &format!("dotcoin-wallet {args:?}"),
            COMMAND_TIMEOUT,
        )
    }

    /// Runs [`Self::wallet`] and returns its trimmed stdout, panicking on failure.
    pub fn wallet_ok(&self, wallet_dir: &Path, args: &[&str]) -> String {
        ok_stdout(
            &format!("dotcoin-wallet {args:?}"),
            &self.wallet(wallet_dir, args),
        )
    }

    /// The password part of the cookie.
    pub fn cookie_password(&self) -> String {
        let cookie =
            std::fs::read_to_string(self.datadir().join(".cookie")).expect("cookie exists");
        cookie
            .trim()
            .split_once(':')
            .map(|(_, p)| p.to_owned())
            .expect("cookie is user:password")
    }

    /// Waits for the process to exit and returns its exit code.
    pub fn wait_exit(&mut self) -> i32 {
        let child = self.child.as_mut().expect("node was started");
        let mut code = None;
        wait_until("dotcoind to exit", TIMEOUT, || match child.try_wait() {
            Ok(Some(status)) => {
                code = Some(status.code().unwrap_or(-1));
                true
            }
            _ => false,
        });
        self.child = None;
        code.expect("set when the wait ended")
    }

    /// Stops the node with the `stop` RPC and returns its exit code.
    pub fn stop(&mut self) -> i32 {
        self.rpc("stop", json!([]));
        self.wait_exit()
    }

    /// Sends SIGTERM and returns the exit code.
    pub fn terminate(&mut self) -> i32 {
        let status = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
        self.wait_exit()
    }

    /// Kills the node with SIGKILL.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts the node again on the same datadir.
    pub fn restart(&mut self) {
        assert!(
            self.child.is_none(),
            "stop or kill the node before restarting it"
        );
        self.launch();
    }

    /// Starts the node again on the same datadir with other extra `args`.
    pub fn restart_with(&mut self, args: &[&str]) {
        self.args = args.iter().map(|s| s.to_string()).collect();
        self.restart();
    }

    /// Mines `n` blocks to `address` and returns their hashes.
    pub fn generate(&self, n: u32, address: &str) -> Vec<BlockHash> {
        self.rpc_typed("generatetoaddress", json!([n, address]))
    }
}

impl Drop for TestNode {
    // Showing a failing test's node logs on stderr is the point here.
    #[allow(clippy::print_stderr)]
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            eprintln!(
                "---- debug.log of {} ----\n{}",
                self.dir.path().display(),
                self.debug_log()
            );
            eprintln!("---- stderr ----\n{}", self.stderr_log());
        }
    }
}

/// `dotcoin-wallet` on `network_args` with its files in `datadir`, stdin closed.
fn wallet_program(network_args: &[&str], datadir: &Path) -> Command {
    let mut cmd = Command::new(bin("dotcoin-wallet"));
    cmd.args(network_args)
        .arg("--datadir")
        .arg(datadir)
        .stdin(Stdio::null());
    cmd
}

/// `dotcoin-wallet` for `node` (on its network, authenticated with the node's cookie) in
/// `datadir`, with `args`, stdout discarded: the command every wallet test runs, as a
/// program or a service.
pub fn wallet_command(node: &TestNode, datadir: &Path, args: &[&str]) -> Command {
    let mut cmd = wallet_program(node.network_args(), datadir);
    cmd.args(["--rpcport", &node.rpc_port.to_string()])
        .args(["--rpcuser", "__cookie__", "--rpcpassword"])
        .arg(node.cookie_password())
        .args(args)
        .stdout(Stdio::null());
    cmd
}

/// `dotcoin-wallet` on regtest with `args` for the wallet in `datadir` alone, no node
/// (what works on the file by itself: create, getnewaddress, info, …), stdout and stderr
/// piped.
pub fn wallet_offline_command(datadir: &Path, args: &[&str]) -> Command {
    let mut cmd = wallet_program(&["--regtest"], datadir);
    cmd.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd
}

/// A running `dotcoin-wallet serve` for a node: a datadir that is not the node's (the keys
/// must not be there), a free port it writes to `wallet-service.ports`, the node's cookie
/// to reach the node, and its own cookie (`.wallet-cookie`) for its clients. The process
/// is killed on drop; a failing test prints its log.
#[derive(Debug)]
pub struct WalletServiceProcess {
    /// The base datadir (the service's files are in `regtest/` below it).
    pub datadir: PathBuf,
    /// The temporary directory holding `datadir`, when the service made its own.
    pub tmp: Option<tempfile::TempDir>,
    child: Option<Child>,
    /// Its RPC port.
    pub port: u16,
    log: PathBuf,
}

impl WalletServiceProcess {
    /// Starts a service for `node` with extra `args` (after `serve`) in a fresh datadir.
    pub fn start(node: &TestNode, args: &[&str]) -> WalletServiceProcess {
        WalletServiceProcess::start_env(node, args, &[])
    }

    /// [`WalletServiceProcess::start`] with extra environment `env`.
    pub fn start_env(node: &TestNode, args: &[&str], env: &[(&str, &str)]) -> WalletServiceProcess {
        let tmp = tempfile::Builder::new()
            .prefix("dotcoin-wallet-service-")
            .tempdir()
            .expect("tempdir");
        let mut s = WalletServiceProcess::start_in(node, tmp.path(), args, env);
        s.tmp = Some(tmp);
        s
    }

    /// A service for `node` in `datadir` (kept by the caller, so a test can restart a
    /// service on the same wallets), with extra `args` and environment `env`.
    pub fn start_in(
        node: &TestNode,
        datadir: &Path,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> WalletServiceProcess {
        static STARTS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let ports = datadir.join("regtest").join("wallet-service.ports");
        let _ = std::fs::remove_file(&ports);
        // One log per start: a restarted service must not overwrite what the last one said.
        let n = STARTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let log = datadir.join(format!("wallet-service-{}-{n}.log", std::process::id()));
        let mut cmd = wallet_command(node, datadir, &["serve", "--port", "0"]);
        cmd.args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.stderr(std::fs::File::create(&log).expect("log file"));
        let mut child = cmd.spawn().expect("spawn dotcoin-wallet serve");
        let mut port = None;
        wait_until(
            "the wallet service to write its ports file",
            TIMEOUT,
            || {
                if let Ok(Some(status)) = child.try_wait() {
                    panic!(
                        "dotcoin-wallet serve exited ({status}):\n{}",
                        std::fs::read_to_string(&log).unwrap_or_default()
                    );
                }
                port = wallet_service_port(&ports);
                port.is_some()
            },
        );
        WalletServiceProcess {
            datadir: datadir.to_path_buf(),
            tmp: None,
            child: Some(child),
            port: port.expect("set when the wait ended"),
            log,
        }
    }

    /// The cookie file its clients authenticate with.
    pub fn cookie_file(&self) -> PathBuf {
        self.datadir.join("regtest").join(".wallet-cookie")
    }

    /// The `Authorization` header its cookie makes.
    pub fn cookie_auth(&self) -> String {
        let cookie = std::fs::read_to_string(self.cookie_file()).expect("the service's cookie");
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(cookie.trim())
        )
    }

    /// What the service wrote to stderr.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Kills the process with SIGKILL (no chance to clean up) and reaps it.
    pub fn kill(&mut self) {
        let mut child = self.child.take().expect("the service is running");
        child.kill().expect("SIGKILL");
        child.wait().expect("reap");
    }

    /// Waits for the process to exit (after a `stop` call) and returns its exit code.
    pub fn wait_exit(&mut self) -> i32 {
        let mut child = self.child.take().expect("the service is running");
        let mut code = None;
        wait_until("the wallet service to exit", TIMEOUT, || {
            code = child
                .try_wait()
                .expect("try_wait")
                .map(|s| s.code().unwrap_or(-1));
            code.is_some()
        });
        code.expect("set when the wait ended")
    }
}

impl Drop for WalletServiceProcess {
    // Showing a failing test's service log on stderr is the point here.
    #[allow(clippy::print_stderr)]
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        if std::thread::panicking() {
            eprintln!("---- wallet service log ----\n{}", self.log());
        }
    }
}

/// One HTTP/1.1 request to 127.0.0.1:`port` (`auth`: the `Authorization` header, if any);
/// returns the status and the (de-chunked) body.
pub fn http_request(
    port: u16,
    method: &str,
    path: &str,
    body: &str,
    auth: Option<&str>,
) -> (u16, String) {
    let auth_line = auth
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n{auth_line}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let (status, _, body) = http_raw(port, &req);
    (status, body)
}

/// `request`, written as is (head and body) to 127.0.0.1:`port`; returns the status, the
/// response head and the (de-chunked) body.
pub fn http_raw(port: u16, request: &str) -> (u16, String, String) {
    try_http_raw(port, request).unwrap_or_else(|e| panic!("HTTP to port {port}: {e}"))
}

/// [`http_raw`] that reports a refused connection or a cut answer instead of failing:
/// for a client racing a process that is being killed.
pub fn try_http_raw(port: u16, request: &str) -> std::io::Result<(u16, String, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(300)))?;
    s.write_all(request.as_bytes())?;
    // Read the head, then the body by its Content-Length when given: some servers
    // (chromedriver) keep the connection open despite `Connection: close`.
    let mut r = std::io::BufReader::new(s);
    let mut head = String::new();
    loop {
        let mut line = String::new();
        let n = std::io::BufRead::read_line(&mut r, &mut line)?;
        if n == 0 || line == "\r\n" {
            break;
        }
        head.push_str(&line);
    }
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("malformed HTTP response: {head}")))?;
    let length = head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case("content-length")
            .then(|| v.trim().parse::<usize>().ok())
            .flatten()
    });
    let mut body = Vec::new();
    match length {
        Some(n) => {
            body.resize(n, 0);
            r.read_exact(&mut body)?;
        }
        None => {
            r.read_to_end(&mut body)?;
        }
    }
    // A body with a length is the body; only one without may be chunked (a plain-text
    // body such as a Prometheus page must not go through the chunk decoder).
    let text = String::from_utf8_lossy(&body);
    let body = match length {
        Some(_) => text.into_owned(),
        None => dechunk(&text),
    };
    Ok((status, head, body))
}

/// Decodes an HTTP/1.1 chunked body (hyper sends one when the length is not known).
fn dechunk(body: &str) -> String {
    if body.trim_start().starts_with('{') || body.trim_start().starts_with('[') || body.is_empty() {
        return body.to_owned();
    }
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || tail.len() < n {
            break;
        }
        out.push_str(&tail[..n]);
        rest = tail[n..].trim_start_matches("\r\n");
    }
    out
}

/// A fresh regtest address from a key the test controls (for `generatetoaddress`).
pub fn test_keypair() -> (secp256k1::Keypair, String) {
    let kp = dotcoin_common::sighash::signing::generate_keypair();
    let addr = dotcoin_common::Address::new(
        dotcoin_common::Network::Regtest,
        dotcoin_common::sighash::signing::pubkey_of(&kp),
    );
    (kp, addr.to_string())
}

/// Raises `header`'s nonce until its hash meets the target its own `bits` encode, or, with
/// `valid` false, until it does not: the one proof-of-work loop, for blocks built by hand
/// (shared with the crates' own tests and benchmarks, which cannot depend on this one).
pub use dotcoin_common::pow::grind;

/// Opens the server-sent event stream at `path` on 127.0.0.1:`port` (the dashboard's
/// `/api/events`): sends the request, checks for 200, and returns the reader at the start
/// of the stream, which is subscribed once the response has begun. `timeout` bounds each
/// read (`None`: reads wait as long as the stream stays open).
pub fn open_sse(port: u16, path: &str, timeout: Option<Duration>) -> std::io::BufReader<TcpStream> {
    use std::io::BufRead;
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(timeout).expect("timeout");
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n")
            .as_bytes(),
    )
    .expect("request");
    let mut r = std::io::BufReader::new(s);
    let mut line = String::new();
    r.read_line(&mut line).expect("status line");
    assert!(line.contains(" 200 "), "{line}");
    while line != "\r\n" {
        line.clear();
        r.read_line(&mut line).expect("header");
    }
    r
}

/// The active block at `height`, from `getblock` (raw, decoded).
pub fn block_at(node: &TestNode, height: u64) -> Block {
    let hash: BlockHash = node.rpc_typed("getblockhash", json!([height]));
    let raw: String = node.rpc_typed("getblock", json!([hash, 0]));
    deserialize(&hex::decode(raw).expect("hex")).expect("block")
}

/// The coinbase output of the active block at `height`: what a test's key was paid there.
pub fn coinbase_at(node: &TestNode, height: u64) -> (OutPoint, TxOut) {
    let cb = &block_at(node, height).txdata[0];
    (
        OutPoint {
            txid: cb.txid(),
            vout: 0,
        },
        cb.outputs[0],
    )
}

/// A transaction spending `prev` (owned by `kp`) to `outputs`, signed.
pub fn signed_spend(
    kp: &secp256k1::Keypair,
    prev: (OutPoint, TxOut),
    outputs: Vec<TxOut>,
) -> Transaction {
    let mut tx = Transaction {
        version: 1,
        inputs: vec![TxIn {
            prevout: prev.0,
            witness: vec![],
        }],
        outputs,
        lock_time: 0,
    };
    dotcoin_common::sighash::signing::sign_transaction(
        &mut tx,
        &[prev.1],
        std::slice::from_ref(kp),
    )
    .expect("signs");
    tx
}

/// A block built by hand on the block `prev_blockhash`: `txdata` (coinbase first) under a
/// header stamped `time` with `bits`, committing to them, its nonce ground until the hash
/// meets the target (or, with `valid_pow` false, until it does not).
pub fn mine_block(
    prev_blockhash: BlockHash,
    time: u32,
    bits: CompactTarget,
    txdata: Vec<Transaction>,
    valid_pow: bool,
) -> Block {
    let mut header = BlockHeader {
        version: 1,
        prev_blockhash,
        merkle_root: dotcoin_common::merkle::merkle_root_of_txs(&txdata).0,
        time,
        bits,
        nonce: 0,
    };
    grind(&mut header, valid_pow);
    Block { header, txdata }
}

/// A valid regtest block on `prev` at `height` holding only a coinbase, with `tag` as its
/// witness (so sibling blocks differ), that pays the subsidy in `outputs` outputs of equal
/// value: about 40 bytes each, so 24 000 make a block of almost 1 MB.
pub fn block_on(prev: &BlockHeader, height: u32, outputs: usize, tag: u8) -> Block {
    let params = dotcoin_common::Network::Regtest.params();
    let each = params.subsidy(height).to_sat() / outputs as u64;
    let coinbase = Transaction {
        version: 1,
        inputs: vec![TxIn {
            prevout: OutPoint::coinbase(height),
            witness: vec![tag],
        }],
        outputs: (0..outputs)
            .map(|i| TxOut {
                value: Amount::from_sat(each),
                pubkey: PubKey([(i % 251) as u8 + 1; 32]),
            })
            .collect(),
        lock_time: 0,
    };
    mine_block(
        prev.block_hash(),
        prev.time + 1,
        params.pow_limit,
        vec![coinbase],
        true,
    )
}

/// Every file below `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out
}

/// `cargo tree --locked` with `args`, run in the workspace root; its stdout, panicking if it
/// fails.
pub fn cargo_tree(args: &[&str]) -> String {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let out = Command::new(cargo)
        .current_dir(workspace_root())
        .args(["tree", "--locked"])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run cargo tree");
    ok_stdout(&format!("cargo tree {args:?}"), &out)
}

/// `<target>/<profile>/thirdparty/<name>`, next to the binaries under test: where the
/// third-party clients are installed (never into the source tree).
pub fn thirdparty_dir(name: &str) -> PathBuf {
    bin("dotcoind")
        .parent()
        .expect("binaries live in a directory")
        .join("thirdparty")
        .join(name)
}

/// The trimmed stdout of a program run that must have succeeded; else a panic naming it
/// `what`, with its stderr.
pub fn ok_stdout(what: &str, out: &Output) -> String {
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Asserts that the program `what` ran to success, showing its stdout and stderr if not.
pub fn assert_ran(what: &str, out: &Output) {
    assert!(
        out.status.success(),
        "{what} failed:\n--- stdout ---\n{}\n--- stderr ---\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs an install `command` of `what` unless `marker` already exists; a failed install
/// fails the test (`make deps` provides pip and npm).
pub fn install_once(marker: &Path, what: &str, command: &mut Command) {
    if marker.exists() {
        return;
    }
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run the installer of {what} ({e}): run `make deps`"));
    assert!(
        out.status.success() && marker.exists(),
        "installing {what} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// python-bitcoinlib, pinned, installed with pip once into [`thirdparty_dir`]`("python")`:
/// that directory, for `PYTHONPATH`.
pub fn python_bitcoinlib() -> PathBuf {
    const PACKAGE: &str = "python-bitcoinlib==0.12.2";
    let dir = thirdparty_dir("python");
    install_once(
        &dir.join("bitcoin").join("rpc.py"),
        PACKAGE,
        Command::new("python3")
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .arg("--target")
            .arg(&dir)
            .arg(PACKAGE),
    );
    dir
}

/// The RPC port a `wallet-service.ports` file names, once the service has written it.
pub fn wallet_service_port(ports_file: &Path) -> Option<u16> {
    std::fs::read_to_string(ports_file)
        .ok()
        .and_then(|s| serde_json::from_str::<Value>(&s).ok())
        .and_then(|v| v["rpc"].as_u64())
        .and_then(|p| u16::try_from(p).ok())
}

/// A WebSocket connection to a node's RPC port.
pub type Ws = tungstenite::WebSocket<tungstenite::stream::MaybeTlsStream<TcpStream>>;

/// Opens a WebSocket on `node`'s RPC port with `auth` as the `Authorization` header (`None`:
/// none). Reads time out after 500 ms, so a reader can give up: see [`ws_next`].
pub fn ws_connect(node: &TestNode, auth: Option<String>) -> Result<Ws, tungstenite::Error> {
    use tungstenite::client::IntoClientRequest;
    let mut req = format!("ws://127.0.0.1:{}/", node.rpc_port)
        .into_client_request()
        .expect("request");
    if let Some(a) = auth {
        req.headers_mut()
            .insert("Authorization", a.parse().expect("header value"));
    }
    let (ws, _) = tungstenite::connect(req)?;
    if let tungstenite::stream::MaybeTlsStream::Plain(s) = ws.get_ref() {
        s.set_read_timeout(Some(Duration::from_millis(500)))
            .expect("timeout");
    }
    Ok(ws)
}

/// Whether a WebSocket read failed only because no message came within the read timeout.
pub fn ws_timed_out(e: &tungstenite::Error) -> bool {
    matches!(e, tungstenite::Error::Io(e)
        if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut))
}

/// The next JSON text message, waiting up to [`TIMEOUT`].
pub fn ws_next(ws: &mut Ws) -> Value {
    let start = Instant::now();
    loop {
        match ws.read() {
            Ok(tungstenite::Message::Text(t)) => return serde_json::from_str(&t).expect("json"),
            Ok(_) => {}
            Err(e) if ws_timed_out(&e) => {
                assert!(start.elapsed() < TIMEOUT, "no WebSocket message in time");
            }
            Err(e) => panic!("WebSocket read: {e}"),
        }
    }
}

/// Calls the subscription `method` on `ws` and returns the subscription's id; from then on
/// the notifications come.
pub fn ws_subscribe(ws: &mut Ws, method: &str) -> Value {
    ws.send(tungstenite::Message::Text(
        json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": []})
            .to_string()
            .into(),
    ))
    .expect("send");
    let reply = ws_next(ws);
    assert!(
        reply["result"].is_string() || reply["result"].is_number(),
        "{method}: {reply}"
    );
    reply["result"].clone()
}

/// Finds any of `needles` (non-empty, at least 2 bytes each) in `haystack`, indexing the
/// needles by their first two bytes so a large file or memory image is scanned in one pass.
#[derive(Debug)]
pub struct Needles {
    first_two: Vec<bool>,
    set: HashSet<Vec<u8>>,
    len: usize,
}

impl Needles {
    /// Indexes `needles`: all of one length, at least 2 bytes.
    pub fn new(needles: &HashSet<Vec<u8>>) -> Needles {
        let len = needles.iter().next().expect("needles").len();
        assert!(needles.iter().all(|n| n.len() == len && len >= 2));
        let mut first_two = vec![false; 1 << 16];
        for n in needles {
            first_two[usize::from(n[0]) << 8 | usize::from(n[1])] = true;
        }
        Needles {
            first_two,
            set: needles.clone(),
            len,
        }
    }

    /// The forms a wallet's 32-byte `secrets` could leak in: raw bytes, lower-case hex and
    /// upper-case hex.
    pub fn secret_encodings(secrets: &[[u8; 32]]) -> [Needles; 3] {
        [
            Needles::new(&secrets.iter().map(|s| s.to_vec()).collect()),
            Needles::new(&secrets.iter().map(|s| hex::encode(s).into()).collect()),
            Needles::new(
                &secrets
                    .iter()
                    .map(|s| hex::encode_upper(s).into())
                    .collect(),
            ),
        ]
    }

    /// The first needle found in `haystack`.
    pub fn find(&self, haystack: &[u8]) -> Option<Vec<u8>> {
        if haystack.len() < self.len {
            return None;
        }
        (0..=haystack.len() - self.len).find_map(|i| {
            let key = usize::from(haystack[i]) << 8 | usize::from(haystack[i + 1]);
            if self.first_two[key] && self.set.contains(&haystack[i..i + self.len]) {
                Some(haystack[i..i + self.len].to_vec())
            } else {
                None
            }
        })
    }
}

/// Raises this process's open-file limit to its hard limit (tests that hold a thousand
/// sockets); returns the limit in force.
pub fn raise_nofile_limit() -> u64 {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let mut limit = getrlimit(Resource::Nofile);
    if limit.current != limit.maximum {
        limit.current = limit.maximum;
        let _ = setrlimit(Resource::Nofile, limit);
    }
    getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX)
}

/// A field of `/proc/PID/status` in KiB (`VmRSS`, `VmHWM`): a process's memory now and
/// at its peak.
pub fn proc_status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("{field} in /proc/{pid}/status"))
}

impl WalletServiceProcess {
    /// The service's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("service is running").id()
    }
}

/// Whether the server closed `s` (end of stream or reset) within `within`; whatever it
/// sent before closing (a 408, say) is read and passed over. Returns what was read.
pub fn read_until_closed(s: &mut TcpStream, within: Duration) -> Option<Vec<u8>> {
    let deadline = Instant::now() + within;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return None;
        }
        s.set_read_timeout(Some(left.min(Duration::from_millis(500))))
            .expect("timeout");
        match s.read(&mut buf) {
            Ok(0) => return Some(got),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return Some(got),
        }
    }
}

/// Whether the server ended the event stream `r` (see [`open_sse`]) within `within`: the
/// chunked body's last chunk, or the connection closed.
pub fn sse_ended(r: &mut std::io::BufReader<TcpStream>, within: Duration) -> bool {
    use std::io::BufRead;
    let deadline = Instant::now() + within;
    let mut line = String::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        r.get_ref().set_read_timeout(Some(left)).expect("timeout");
        line.clear();
        match r.read_line(&mut line) {
            Ok(0) => return true,
            Ok(_) if line == "0\r\n" => return true,
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return false
            }
            Err(_) => return true,
        }
    }
}

/// Serialises the tests that drive the machine's one Docker daemon (the compose devnet,
/// the Swarm stack), across test binaries and worktrees: held until dropped.
pub fn docker_lock() -> std::fs::File {
    let path = std::env::temp_dir().join("dotcoin-docker-tests.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    file.lock()
        .unwrap_or_else(|e| panic!("lock {}: {e}", path.display()));
    file
}

/// A TCP port free on 127.0.0.1 right now (for a program that cannot be told to pick one).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

/// The port of `node`'s HTTP API (`--esplora`/`--rest`), from its `dotcoind.ports`.
pub fn esplora_port(node: &TestNode) -> u16 {
    let text = std::fs::read_to_string(node.datadir().join("dotcoind.ports")).expect("ports file");
    let v: Value = serde_json::from_str(&text).expect("ports JSON");
    v["esplora"]
        .as_u64()
        .and_then(|p| u16::try_from(p).ok())
        .expect("the node serves --esplora or --rest")
}

/// One HTTP/1.1 request to 127.0.0.1:`port` whose answer carries a `Content-Length` (the
/// HTTP API's do): the status, the head and the body's bytes as sent (no de-chunking,
/// no UTF-8 decoding, so plain-text and binary answers arrive intact).
pub fn http_exchange(port: u16, method: &str, path: &str, body: &[u8]) -> (u16, String, Vec<u8>) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(TIMEOUT)).expect("timeout");
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).expect("request head");
    s.write_all(body).expect("request body");
    let mut r = std::io::BufReader::new(s);
    let mut head = String::new();
    loop {
        let mut line = String::new();
        let n = std::io::BufRead::read_line(&mut r, &mut line).expect("response head");
        if n == 0 || line == "\r\n" {
            break;
        }
        head.push_str(&line);
    }
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("malformed HTTP response: {head}"));
    let length = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().ok())
                .flatten()
        })
        .unwrap_or_else(|| panic!("no Content-Length in {head}"));
    let mut out = vec![0u8; length];
    r.read_exact(&mut out).expect("response body");
    (status, head, out)
}

/// The BIP39 seed of `words` and `passphrase` (PBKDF2-HMAC-SHA512, 2048 rounds, salt
/// `"mnemonic" + passphrase`): the bytes a key-isolation test looks for.
pub fn bip39_seed(words: &str, passphrase: &str) -> [u8; 64] {
    use bitcoin_hashes::{sha512, Hash as _, Hmac, HmacEngine};
    let mac = |data: &[u8]| -> [u8; 64] {
        let mut engine = HmacEngine::<sha512::Hash>::new(words.as_bytes());
        bitcoin_hashes::HashEngine::input(&mut engine, data);
        Hmac::<sha512::Hash>::from_engine(engine).to_byte_array()
    };
    let mut salt = format!("mnemonic{passphrase}").into_bytes();
    salt.extend_from_slice(&1u32.to_be_bytes());
    let mut u = mac(&salt);
    let mut out = u;
    for _ in 1..2048 {
        u = mac(&u);
        for (o, b) in out.iter_mut().zip(u) {
            *o ^= b;
        }
    }
    out
}

/// Scans the writable memory of process `pid` (heap, stacks, anonymous maps) for
/// `needles`; returns what it found. Panics if it could read less than 1 MiB (the scan
/// would prove nothing).
pub fn scan_process_memory(pid: u32, needles: &[&Needles]) -> Vec<Vec<u8>> {
    use std::os::unix::fs::FileExt;
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).expect("maps");
    let mem = std::fs::File::open(format!("/proc/{pid}/mem")).expect("open the process memory");
    let mut hits = Vec::new();
    let mut scanned = 0usize;
    for line in maps.lines() {
        let mut parts = line.split_whitespace();
        let (Some(range), Some(perms)) = (parts.next(), parts.next()) else {
            continue;
        };
        if !perms.starts_with("rw") {
            continue;
        }
        let Some((start, end)) = range.split_once('-') else {
            continue;
        };
        let (Ok(start), Ok(end)) = (u64::from_str_radix(start, 16), u64::from_str_radix(end, 16))
        else {
            continue;
        };
        let mut offset = start;
        while offset < end {
            let len = (end - offset).min(16 << 20) as usize;
            let mut buf = vec![0u8; len];
            if mem.read_exact_at(&mut buf, offset).is_ok() {
                scanned += len;
                for n in needles {
                    hits.extend(n.find(&buf));
                }
            }
            // Overlap so a needle across two chunks is not missed.
            offset += (len as u64).saturating_sub(128).max(1);
        }
    }
    assert!(scanned > 1 << 20, "read {scanned} bytes of memory");
    hits
}

/// `dotcoin-cli` against a node of a `dotcoin-lab` network (a node as `dotcoin-lab status`
/// lists it: its `datadir` and `rpc_port`); the result as JSON, or as a string when it is
/// not JSON. Panics, with the command's stderr, when the call fails.
pub fn lab_cli(node: &Value, args: &[&str]) -> Value {
    let mut cmd = Command::new(bin("dotcoin-cli"));
    cmd.arg("--regtest")
        .arg("--datadir")
        .arg(node["datadir"].as_str().expect("datadir"))
        .arg("--rpcport")
        .arg(node["rpc_port"].to_string())
        .args(args);
    let out = output_within(&mut cmd, &format!("dotcoin-cli {args:?}"), COMMAND_TIMEOUT);
    assert!(
        out.status.success(),
        "dotcoin-cli {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    serde_json::from_str(&text).unwrap_or(Value::String(text))
}

/// How long a test waits for one run of a program under test (a CLI call, a wallet
/// command) before it kills it and fails: far above any call's time on a loaded machine,
/// far below CI's limit, so a hung call fails its test instead of the whole run.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(300);

/// Runs `cmd` like [`Command::output`] (stdin empty, stdout and stderr captured), but kills
/// it and panics naming `what` when it runs longer than `timeout`.
pub fn output_within(cmd: &mut Command, what: &str, timeout: Duration) -> Output {
    use std::sync::{Arc, Mutex};
    type Captured = Arc<Mutex<Vec<u8>>>;
    // Read while it runs (a full pipe would stop the program before it can exit), into a
    // buffer shared with this thread: after a timeout a grandchild may still hold the
    // pipe open, so what was read so far is taken without waiting for its end.
    fn drain(pipe: Option<impl Read + Send + 'static>) -> (Captured, std::thread::JoinHandle<()>) {
        let buf = Captured::default();
        let filled = Arc::clone(&buf);
        let reader = std::thread::spawn(move || {
            let Some(mut p) = pipe else { return };
            let mut chunk = [0u8; 8192];
            while let Ok(n @ 1..) = p.read(&mut chunk) {
                filled
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .extend_from_slice(&chunk[..n]);
            }
        });
        (buf, reader)
    }
    let taken =
        |buf: &Captured| std::mem::take(&mut *buf.lock().unwrap_or_else(|e| e.into_inner()));
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    let (stdout, out_reader) = drain(child.stdout.take());
    let (stderr, err_reader) = drain(child.stderr.take());
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "{what} still ran after {timeout:?}; killed it. stderr:\n{}",
                    String::from_utf8_lossy(&taken(&stderr))
                );
            }
            Err(e) => panic!("cannot wait for {what}: {e}"),
        }
    };
    // The program exited: its pipes end unless it left a child holding them.
    let _ = out_reader.join();
    let _ = err_reader.join();
    Output {
        status,
        stdout: taken(&stdout),
        stderr: taken(&stderr),
    }
}

/// A small deterministic generator (xorshift64): a test's random moments vary from step to
/// step and the test stays reproducible.
#[derive(Debug, Clone)]
pub struct XorShift(pub u64);

impl XorShift {
    /// The next value (the seed must not be 0).
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// A network lab (`dotcoin-lab`, docs/lab.md) in a temporary directory, brought down when
/// dropped.
#[derive(Debug)]
pub struct TestLab {
    dir: tempfile::TempDir,
}

impl TestLab {
    /// A lab directory named `prefix…` under the temporary directory; nothing runs yet.
    pub fn new(prefix: &str) -> TestLab {
        TestLab {
            dir: tempfile::Builder::new()
                .prefix(prefix)
                .tempdir()
                .expect("tempdir"),
        }
    }

    /// The lab's directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Runs `dotcoin-lab --dir DIR ARGS…`.
    pub fn run(&self, args: &[&str]) -> Output {
        run_lab(self.path(), args)
    }

    /// [`TestLab::run`] that must succeed (else a panic with its stderr and the lab's
    /// log); its stdout as JSON, or null.
    pub fn ok(&self, args: &[&str]) -> Value {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "dotcoin-lab {args:?} failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(self.path().join("lab.log")).unwrap_or_default()
        );
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
    }

    /// The nodes `status` lists.
    pub fn nodes(&self) -> Vec<Value> {
        self.ok(&["status"])["nodes"]
            .as_array()
            .cloned()
            .expect("nodes")
    }

    /// The complete JSON lines of the lab's `file` (`mined.jsonl`, `selfish.jsonl`); a last
    /// line still being written (no line end yet) is left out.
    pub fn lines(&self, file: &str) -> Vec<Value> {
        std::fs::read_to_string(self.path().join(file))
            .unwrap_or_default()
            .split_inclusive('\n')
            .filter(|l| l.ends_with('\n'))
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect()
    }
}

impl Drop for TestLab {
    fn drop(&mut self) {
        let _ = self.run(&["down"]);
    }
}

/// Runs `dotcoin-lab --dir DIR ARGS…` (with [`COMMAND_TIMEOUT`]).
pub fn run_lab(dir: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(bin("dotcoin-lab"));
    cmd.arg("--dir").arg(dir).args(args);
    output_within(&mut cmd, &format!("dotcoin-lab {args:?}"), COMMAND_TIMEOUT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_within_returns_what_a_program_printed_however_much() {
        let out = output_within(
            Command::new("sh").args(["-c", "head -c 1000000 /dev/zero; echo err >&2"]),
            "sh",
            COMMAND_TIMEOUT,
        );
        assert!(out.status.success());
        assert_eq!(out.stdout.len(), 1_000_000, "a full pipe does not stall it");
        assert_eq!(out.stderr, b"err\n");
    }

    #[test]
    fn output_within_kills_a_program_that_hangs() {
        let started = Instant::now();
        let panic = std::panic::catch_unwind(|| {
            output_within(
                Command::new("sh").args(["-c", "echo waiting >&2; exec sleep 600"]),
                "a hung sh",
                Duration::from_millis(200),
            )
        })
        .expect_err("a program past its time fails the call");
        let msg = panic.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(msg.contains("a hung sh still ran after"), "{msg}");
        assert!(msg.contains("waiting"), "its stderr is shown: {msg}");
        // Not a timing assertion: the call returned instead of waiting out the sleep.
        assert!(started.elapsed() < Duration::from_secs(600));
    }
}
