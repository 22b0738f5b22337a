//! Runtime plugins, in Core Lightning's model: an executable that speaks JSON-RPC 2.0 on
//! its stdin and stdout, declares in `getmanifest` the methods it serves, the notifications
//! it wants and the hooks it takes, and is configured by `init`. The protocol is
//! documented message by message in `docs/plugins.md`.
//!
//! Bird's eye view:
//! - [`PluginHost`] owns the plugins: starting (`--plugin`, `--plugin-dir`, RPC `plugin
//!   start`), stopping, the list, and the routing table the RPC server consults for
//!   method names it does not serve itself;
//! - [`process`] runs one plugin process and its stdio conversation, treating everything
//!   the plugin writes as untrusted;
//! - [`PluginHost::run_notifications`] turns the node's event stream into notifications,
//!   each the event in the one schema every transport shares (`docs/events.md`);
//! - the hooks ([`PluginHost::mempool_accept`], [`PluginHost::peer_connected`]) ask plugins
//!   for local decisions with a timeout. When a plugin cannot decide — it is down, did not
//!   answer in time (it is then killed), or answered nonsense — the answer is the one its
//!   manifest chose (`"failure"`, [`manifest::Manifest::fails_closed`]): fail closed
//!   refuses naming the plugin, fail open continues;
//! - a plugin that ends without being asked to (crash, protocol error, hook timeout) is
//!   restarted by its supervisor task with exponential backoff ([`RESTART_FIRST`] doubling
//!   to [`RESTART_MAX`], back to the start once it stayed up [`RESTART_RESET`]);
//! - [`rejects`] remembers what the hooks refused, so a peer relaying it again costs no
//!   hook call; [`PluginHost::run_reorg_rechecks`] puts transactions a reorg returned to
//!   the pool through the hooks after the fact, so the chain writer never waits on one;
//! - [`notify`] runs `--blocknotify` / `--txnotify` commands.

pub mod manifest;
pub mod notify;
pub mod process;
pub mod rejects;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use bitcoin_hashes::Hash as _;
use dotcoin_common::{Amount, FeeRate, Network, Transaction, Txid};
use serde::Serialize;
use serde_json::{json, Value};
use tokio::sync::broadcast;
use tracing::{error, info, warn};

use crate::mempool::MempoolError;
use crate::state::{ChainService, Event};
use manifest::{Manifest, MethodDecl};
use process::{CallError, PluginProcess, ProcState};
use rejects::RecentRejects;

/// How long a plugin may take to exit after its stdin closes before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(3);
/// The wait before the first restart of a plugin that ended…
pub const RESTART_FIRST: Duration = Duration::from_secs(1);
/// …doubling on each failure up to this…
pub const RESTART_MAX: Duration = Duration::from_secs(60);
/// …and back to [`RESTART_FIRST`] for a plugin that stayed up this long.
pub const RESTART_RESET: Duration = Duration::from_secs(60);

/// What the host needs to know about the node.
#[derive(Debug, Clone)]
pub struct HostSettings {
    /// The network, for `init`.
    pub network: Network,
    /// The network datadir: `init`'s `datadir` and the plugins' working directory.
    pub datadir: PathBuf,
    /// `--plugin-opt NAME=VALUE` pairs.
    pub options: Vec<(String, String)>,
    /// How long a plugin may take to answer anything (`--plugin-timeout`).
    pub timeout: Duration,
}

/// How a plugin reaches the node's RPC, for `init`.
#[derive(Debug, Clone, Serialize)]
pub struct RpcEndpoint {
    /// `http://127.0.0.1:PORT/`.
    pub url: String,
    /// The cookie file, with cookie authentication.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cookie_file: Option<PathBuf>,
    /// The user, with `rpcuser`/`rpcpassword`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The password, with `rpcuser`/`rpcpassword`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

pub use dotcoin_common::rpc_types::PluginInfo;

#[derive(Debug, Clone)]
struct Entry {
    name: String,
    path: PathBuf,
    manifest: Manifest,
    process: Option<Arc<PluginProcess>>,
    failed: Option<String>,
    started: Instant,
    /// Which start this entry is: its supervisor acts only on its own.
    generation: u64,
    /// Whether a supervisor restarts it when it ends (false for one refused at start).
    supervised: bool,
    restarts: u32,
    /// The wait before the next restart attempt.
    backoff: Duration,
    next_restart: Option<Instant>,
    last_error: Option<String>,
}

impl Entry {
    fn running(&self) -> Option<&Arc<PluginProcess>> {
        self.process.as_ref().filter(|p| p.is_running())
    }

    /// Why it is not running (`None` while it runs).
    fn down_reason(&self) -> Option<String> {
        if let Some(why) = &self.failed {
            return Some(why.clone());
        }
        match self.process.as_ref().map(|p| p.state()) {
            Some(ProcState::Running) => None,
            Some(ProcState::Ended(why)) if self.last_error.is_none() => Some(why),
            _ => Some(
                self.last_error
                    .clone()
                    .unwrap_or_else(|| "not started".into()),
            ),
        }
    }

    fn info(&self) -> PluginInfo {
        let down = self.down_reason();
        let status = match (&self.failed, &down) {
            (Some(_), _) => "failed",
            (None, None) => "running",
            (None, Some(_)) if self.supervised => "restarting",
            (None, Some(_)) => "ended",
        };
        PluginInfo {
            name: self.name.clone(),
            path: self.path.clone(),
            status: status.to_owned(),
            error: down,
            pid: self.running().and_then(|p| p.pid()),
            methods: self
                .manifest
                .rpcmethods
                .iter()
                .map(|m| m.name.clone())
                .collect(),
            subscriptions: self.manifest.subscriptions.clone(),
            hooks: self.manifest.hooks.iter().map(|h| h.name.clone()).collect(),
            notifications_dropped: self.process.as_ref().map_or(0, |p| p.dropped()),
            uptime: self.started.elapsed().as_secs(),
            restarts: self.restarts,
            next_restart_secs: self
                .next_restart
                .filter(|_| self.running().is_none())
                .map(|t| t.saturating_duration_since(Instant::now()).as_secs()),
            last_error: self.last_error.clone(),
            fails_closed: self.manifest.fails_closed(),
        }
    }
}

/// Where a method call goes.
#[derive(Debug)]
pub enum Route {
    /// To this running plugin.
    Live(Arc<PluginProcess>),
    /// To a plugin that is not running; the text says which and why.
    Down(String),
}

/// A hook's refusal: the plugin and its reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The plugin that refused.
    pub plugin: String,
    /// Its reason.
    pub reason: String,
    /// Whether the plugin itself answered so; false for a plugin that fails closed and
    /// could not be asked.
    pub explicit: bool,
}

/// The plugins of one node. See the module docs.
#[derive(Debug)]
pub struct PluginHost {
    settings: HostSettings,
    chain: Arc<ChainService>,
    rpc: OnceLock<RpcEndpoint>,
    builtins: OnceLock<BTreeSet<String>>,
    entries: Mutex<Vec<Entry>>,
    // One start at a time, so two cannot both pass the name-clash checks.
    start_lock: tokio::sync::Mutex<()>,
    next_generation: AtomicU64,
    /// Set at shutdown: nothing is restarted after that.
    closing: AtomicBool,
    rejects: Mutex<RecentRejects>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Runs `f`, a validation that takes the writer or checks signatures, off the async
/// threads; a panic in it becomes an internal error rather than taking the caller down.
async fn validate<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, MempoolError> + Send + 'static,
) -> Result<T, MempoolError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| MempoolError::Internal("validation task failed".into()))?
}

impl PluginHost {
    /// A host with no plugins yet.
    pub fn new(settings: HostSettings, chain: Arc<ChainService>) -> Arc<PluginHost> {
        Arc::new(PluginHost {
            settings,
            chain,
            rpc: OnceLock::new(),
            builtins: OnceLock::new(),
            entries: Mutex::new(Vec::new()),
            start_lock: tokio::sync::Mutex::new(()),
            next_generation: AtomicU64::new(1),
            closing: AtomicBool::new(false),
            rejects: Mutex::new(RecentRejects::default()),
        })
    }

    /// Tells the host how plugins reach the RPC server and which names it serves itself;
    /// called once the server runs, before any plugin starts.
    pub fn set_rpc(&self, endpoint: RpcEndpoint, builtins: BTreeSet<String>) {
        let _ = self.rpc.set(endpoint);
        let _ = self.builtins.set(builtins);
    }

    /// The answer timeout.
    pub fn timeout(&self) -> Duration {
        self.settings.timeout
    }

    /// Starts the plugins given by `--plugin-dir` (each executable file, by name) and
    /// `--plugin`. A plugin that fails is logged and listed as failed; the node goes on.
    pub async fn start_configured(self: &Arc<Self>, paths: &[PathBuf], dirs: &[PathBuf]) {
        let mut all = Vec::new();
        for dir in dirs {
            match plugin_dir_files(dir) {
                Ok(files) => all.extend(files),
                Err(e) => {
                    error!(target: "plugin", dir = %dir.display(), "cannot read plugin dir: {e}")
                }
            }
        }
        all.extend(paths.iter().cloned());
        for path in all {
            if let Err(e) = self.start(&path).await {
                error!(target: "plugin", path = %path.display(), "plugin not started: {e}");
                let mut entries = lock(&self.entries);
                let name = plugin_name(&path);
                entries.retain(|e| e.name != name || e.running().is_some());
                entries.push(Entry {
                    name,
                    path,
                    manifest: Manifest::default(),
                    process: None,
                    failed: Some(e),
                    started: Instant::now(),
                    generation: self.next_generation.fetch_add(1, Ordering::Relaxed),
                    supervised: false,
                    restarts: 0,
                    backoff: RESTART_FIRST,
                    next_restart: None,
                    last_error: None,
                });
            }
        }
        let declared: BTreeSet<String> = lock(&self.entries)
            .iter()
            .flat_map(|e| e.manifest.options.iter().map(|o| o.name.clone()))
            .collect();
        for (k, _) in &self.settings.options {
            if !declared.contains(k) {
                warn!(target: "plugin", "--plugin-opt {k}: no running plugin declares this option");
            }
        }
    }

    /// Starts the plugin at `path`: `getmanifest`, checks, `init`. On any failure the
    /// process is killed and the reason returned.
    pub async fn start(self: &Arc<Self>, path: &Path) -> Result<PluginInfo, String> {
        let _one = self.start_lock.lock().await;
        let path = check_executable(path)?;
        let name = plugin_name(&path);
        if lock(&self.entries)
            .iter()
            .any(|e| e.name == name && e.running().is_some())
        {
            return Err(format!("a plugin named {name:?} is already running"));
        }
        let process = PluginProcess::spawn(&name, &path, &self.settings.datadir)
            .map_err(|e| format!("cannot start {}: {e}", path.display()))?;
        match self.handshake(&name, &process).await {
            Ok(manifest) => {
                let generation = self.next_generation.fetch_add(1, Ordering::Relaxed);
                let entry = Entry {
                    name: name.clone(),
                    path,
                    manifest,
                    process: Some(Arc::clone(&process)),
                    failed: None,
                    started: Instant::now(),
                    generation,
                    supervised: true,
                    restarts: 0,
                    backoff: RESTART_FIRST,
                    next_restart: None,
                    last_error: None,
                };
                let info = entry.info();
                let mut entries = lock(&self.entries);
                entries.retain(|e| e.name != name);
                entries.push(entry);
                drop(entries);
                tokio::spawn(Arc::clone(self).supervise(generation, Some(process)));
                info!(target: "plugin", plugin = %name, methods = ?info.methods,
                    subscriptions = ?info.subscriptions, hooks = ?info.hooks, "plugin started");
                Ok(info)
            }
            Err(e) => {
                process.kill(&e);
                Err(format!("plugin {name:?}: {e}"))
            }
        }
    }

    /// Restarts the plugin of entry `generation` whenever its process ends, with backoff,
    /// until it is stopped, replaced by a new `plugin start`, or the node shuts down.
    async fn supervise(self: Arc<Self>, generation: u64, mut process: Option<Arc<PluginProcess>>) {
        loop {
            let ended = match &process {
                Some(p) => {
                    p.ended().await;
                    Some(match p.state() {
                        ProcState::Ended(why) => why,
                        ProcState::Running => "ended".into(),
                    })
                }
                // The last restart attempt failed; its reason is recorded already.
                None => None,
            };
            if self.closing.load(Ordering::SeqCst) {
                return;
            }
            let (name, delay) = {
                let mut entries = lock(&self.entries);
                let Some(e) = entries.iter_mut().find(|e| e.generation == generation) else {
                    return; // stopped, or replaced by a new start
                };
                if let Some(why) = ended {
                    if e.started.elapsed() >= RESTART_RESET {
                        e.backoff = RESTART_FIRST;
                    }
                    e.last_error = Some(why);
                }
                let delay = e.backoff;
                e.backoff = (e.backoff * 2).min(RESTART_MAX);
                e.next_restart = Some(Instant::now() + delay);
                (e.name.clone(), delay)
            };
            warn!(target: "plugin", plugin = %name, "plugin is down; restarting in {} s", delay.as_secs());
            tokio::time::sleep(delay).await;
            if self.closing.load(Ordering::SeqCst) {
                return;
            }
            process = match self.respawn(generation).await {
                Ok(p) => Some(p),
                Err(None) => return,
                Err(Some(why)) => {
                    error!(target: "plugin", plugin = %name, "restart failed: {why}");
                    let mut entries = lock(&self.entries);
                    if let Some(e) = entries.iter_mut().find(|e| e.generation == generation) {
                        e.last_error = Some(format!("restart failed: {why}"));
                    }
                    None
                }
            };
        }
    }

    /// One restart of entry `generation`, in place (its hooks keep their order).
    /// `Err(None)`: the entry is gone.
    async fn respawn(&self, generation: u64) -> Result<Arc<PluginProcess>, Option<String>> {
        let _one = self.start_lock.lock().await;
        let (name, path) = {
            let entries = lock(&self.entries);
            let e = entries
                .iter()
                .find(|e| e.generation == generation)
                .ok_or(None)?;
            (e.name.clone(), e.path.clone())
        };
        let process = PluginProcess::spawn(&name, &path, &self.settings.datadir)
            .map_err(|e| Some(format!("cannot start {}: {e}", path.display())))?;
        let manifest = match self.handshake(&name, &process).await {
            Ok(m) => m,
            Err(why) => {
                process.kill(&why);
                return Err(Some(why));
            }
        };
        let mut entries = lock(&self.entries);
        let entry = entries
            .iter_mut()
            .find(|e| e.generation == generation)
            .filter(|_| !self.closing.load(Ordering::SeqCst));
        let Some(e) = entry else {
            drop(entries);
            process.kill("stopped while restarting");
            return Err(None);
        };
        e.manifest = manifest;
        e.process = Some(Arc::clone(&process));
        e.started = Instant::now();
        e.restarts += 1;
        e.next_restart = None;
        info!(target: "plugin", plugin = %name, pid = ?process.pid(), restarts = e.restarts, "plugin restarted");
        Ok(process)
    }

    async fn handshake(&self, name: &str, process: &PluginProcess) -> Result<Manifest, String> {
        let t = self.settings.timeout;
        let value = process
            .call("getmanifest", json!({}), t)
            .await
            .map_err(|e| format!("getmanifest failed: {e}"))?;
        let manifest = Manifest::from_value(value)?;
        self.check_clashes(name, &manifest)?;
        let options = manifest.option_values(&self.settings.options)?;
        let rpc = self.rpc.get().cloned();
        let reply = process
            .call(
                "init",
                json!({
                    "options": options,
                    "configuration": {
                        "network": self.settings.network.name(),
                        "datadir": self.settings.datadir,
                        "rpc": rpc,
                        "plugin": { "name": name },
                    },
                }),
                t,
            )
            .await
            .map_err(|e| format!("init failed: {e}"))?;
        if let Some(why) = reply.get("disable") {
            return Err(format!(
                "disabled itself in init: {}",
                why.as_str().unwrap_or("no reason given")
            ));
        }
        Ok(manifest)
    }

    fn check_clashes(&self, name: &str, m: &Manifest) -> Result<(), String> {
        let builtins = self.builtins.get();
        let entries = lock(&self.entries);
        let others: Vec<&Entry> = entries
            .iter()
            .filter(|e| e.name != name && e.running().is_some())
            .collect();
        for method in &m.rpcmethods {
            if builtins.is_some_and(|b| b.contains(&method.name)) {
                return Err(format!(
                    "method {:?} clashes with a built-in RPC method",
                    method.name
                ));
            }
            if let Some(o) = others
                .iter()
                .find(|e| e.manifest.method(&method.name).is_some())
            {
                return Err(format!(
                    "method {:?} clashes with plugin {:?}",
                    method.name, o.name
                ));
            }
        }
        for opt in &m.options {
            if let Some(o) = others
                .iter()
                .find(|e| e.manifest.options.iter().any(|x| x.name == opt.name))
            {
                return Err(format!(
                    "option {:?} clashes with plugin {:?}",
                    opt.name, o.name
                ));
            }
        }
        Ok(())
    }

    /// Stops the plugin called `name` (sending `shutdown` if it subscribed) and forgets it.
    pub async fn stop(&self, name: &str) -> Result<PluginInfo, String> {
        let entry = {
            let mut entries = lock(&self.entries);
            let i = entries
                .iter()
                .position(|e| e.name == name)
                .ok_or_else(|| format!("no plugin named {name:?}"))?;
            entries.remove(i)
        };
        if let Some(p) = entry.running() {
            if entry.manifest.subscribes("shutdown") {
                p.notify("shutdown", json!({}));
            }
            p.stop(STOP_GRACE).await;
            info!(target: "plugin", plugin = %name, "plugin stopped");
        }
        Ok(entry.info())
    }

    /// Every plugin, in start order.
    pub fn list(&self) -> Vec<PluginInfo> {
        lock(&self.entries).iter().map(Entry::info).collect()
    }

    /// Where `method` goes, if a plugin declared it.
    pub fn route(&self, method: &str) -> Option<Route> {
        let entries = lock(&self.entries);
        let e = entries
            .iter()
            .find(|e| e.failed.is_none() && e.manifest.method(method).is_some())?;
        Some(match e.running() {
            Some(p) => Route::Live(Arc::clone(p)),
            None => Route::Down(format!(
                "method {method:?} belongs to plugin {:?}, which is not running: {}",
                e.name,
                e.info().error.unwrap_or_else(|| "ended".into())
            )),
        })
    }

    /// `help` lines of the running plugins: (plugin, method).
    pub fn help_entries(&self) -> Vec<(String, MethodDecl)> {
        lock(&self.entries)
            .iter()
            .filter(|e| e.running().is_some())
            .flat_map(|e| {
                e.manifest
                    .rpcmethods
                    .iter()
                    .map(|m| (e.name.clone(), m.clone()))
            })
            .collect()
    }

    /// Whether `hook` has a say: a running plugin registered it, or one that fails closed
    /// and is down (it refuses until it is back).
    pub fn has_hook(&self, hook: &str) -> bool {
        lock(&self.entries)
            .iter()
            .any(|e| e.manifest.hooks(hook) && (e.running().is_some() || e.manifest.fails_closed()))
    }

    /// The plugins with `hook`, in start order: the running ones, and the down ones that
    /// fail closed with why they are down.
    fn hooked(&self, hook: &str) -> Vec<(String, bool, Result<Arc<PluginProcess>, String>)> {
        lock(&self.entries)
            .iter()
            .filter(|e| e.manifest.hooks(hook))
            .filter_map(|e| {
                let closed = e.manifest.fails_closed();
                match e.running() {
                    Some(p) => Some((e.name.clone(), closed, Ok(Arc::clone(p)))),
                    None if closed => {
                        let why = e.down_reason().unwrap_or_else(|| "ended".into());
                        let when = match e.next_restart {
                            Some(t) if e.supervised => format!(
                                "; restarting in {} s",
                                t.saturating_duration_since(Instant::now()).as_secs()
                            ),
                            _ => String::new(),
                        };
                        Some((e.name.clone(), closed, Err(format!("{why}{when}"))))
                    }
                    None => None,
                }
            })
            .collect()
    }

    /// Asks each plugin with `hook`, in start order, until one refuses. A plugin that
    /// cannot decide refuses if it fails closed and is passed over if it fails open.
    async fn run_hook(&self, hook: &str, refuse: &str, params: Value) -> Result<(), Refusal> {
        for (name, closed, process) in self.hooked(hook) {
            let failure = match process {
                Err(why) => format!("plugin {name:?} is not running ({why})"),
                Ok(p) => match crate::metrics::hook_answer(
                    hook,
                    p.call(hook, params.clone(), self.settings.timeout).await,
                ) {
                    Ok(v) => match hook_verdict(&v, refuse) {
                        Ok(None) => continue,
                        Ok(Some(reason)) => {
                            return Err(Refusal {
                                plugin: name,
                                reason,
                                explicit: true,
                            })
                        }
                        Err(why) => format!("plugin {name:?} gave a bad {hook} answer: {why}"),
                    },
                    Err(e @ CallError::Timeout { .. }) => {
                        // A hook blocks a decision; one that hangs would hang every later
                        // one. Its supervisor restarts it.
                        p.kill(&format!("{e}; killed"));
                        e.to_string()
                    }
                    Err(e) => e.to_string(),
                },
            };
            if closed {
                warn!(target: "plugin", plugin = %name, hook, "{failure}; it fails closed: refused");
                return Err(Refusal {
                    plugin: name,
                    reason: format!("{failure}; it fails closed"),
                    explicit: false,
                });
            }
            warn!(target: "plugin", plugin = %name, hook, "{failure}; it fails open: continuing");
        }
        Ok(())
    }

    /// The tip the reject filter follows.
    fn tip(&self) -> dotcoin_common::BlockHash {
        self.chain.snapshot().tip().hash
    }

    /// Whether a `mempool_accept` hook refused `tx` (by txid or wtxid) since the tip last
    /// changed: a peer relaying it again is answered without asking.
    pub fn recently_refused(&self, tx: &Transaction) -> bool {
        let tip = self.tip();
        let mut r = lock(&self.rejects);
        r.contains(tip, tx.wtxid().as_byte_array()) || r.contains(tip, tx.txid().as_byte_array())
    }

    /// [`PluginHost::recently_refused`] by txid alone, for announcements.
    pub fn recently_refused_txid(&self, txid: &Txid) -> bool {
        let tip = self.tip();
        lock(&self.rejects).contains(tip, txid.as_byte_array())
    }

    fn remember_refused(&self, tx: &Transaction) {
        let tip = self.tip();
        let mut r = lock(&self.rejects);
        r.insert(tip, tx.wtxid().to_byte_array());
        r.insert(tip, tx.txid().to_byte_array());
    }

    /// The `mempool_accept` hook for a transaction that passed every other check.
    pub async fn mempool_accept(
        &self,
        tx: &Transaction,
        fee: Amount,
        size: usize,
    ) -> Result<(), Refusal> {
        if !self.has_hook("mempool_accept") {
            return Ok(());
        }
        let hex = hex::encode(dotcoin_common::encode::serialize(tx));
        let params = json!({
            "tx": {
                "txid": tx.txid().to_string(),
                "wtxid": tx.wtxid().to_string(),
                "hex": hex,
                "size": size,
                "fee_sat": fee.to_sat(),
                "feerate_sat_per_vb": fee.to_sat() as f64 / size.max(1) as f64,
                "inputs": tx.inputs.len(),
                "outputs": tx.outputs.len(),
            }
        });
        let verdict = self.run_hook("mempool_accept", "reject", params).await;
        if matches!(&verdict, Err(r) if r.explicit) {
            self.remember_refused(tx);
        }
        verdict
    }

    /// The `peer_connected` hook, after a peer's handshake.
    pub async fn peer_connected(&self, peer: Value) -> Result<(), Refusal> {
        self.run_hook("peer_connected", "disconnect", json!({ "peer": peer }))
            .await
    }

    /// Accepts `tx` into the mempool, asking the `mempool_accept` hooks first: the node's
    /// own checks run, then the plugins see a transaction the pool would take, then it is
    /// added. Without hooks this is [`ChainService::accept_transaction_capped`].
    pub async fn accept_transaction(
        &self,
        tx: Transaction,
        max_fee_rate: FeeRate,
    ) -> Result<Txid, MempoolError> {
        let chain = Arc::clone(&self.chain);
        if !self.has_hook("mempool_accept") {
            return validate(move || chain.accept_transaction_capped(&tx, max_fee_rate)).await;
        }
        let tx2 = tx.clone();
        let (fee, size, verified) = validate(move || {
            let e = chain.snapshot().check_transaction(&tx2)?;
            e.check_max_fee_rate(max_fee_rate)?;
            let verified: Vec<dotcoin_common::TxOut> = e.spent.iter().map(|c| c.output).collect();
            Ok((e.fee, e.size, verified))
        })
        .await?;
        self.mempool_accept(&tx, fee, size)
            .await
            .map_err(|r| MempoolError::Plugin {
                plugin: r.plugin,
                reason: r.reason,
            })?;
        // The signatures were verified above: the writer runs only the policy checks again.
        let chain = Arc::clone(&self.chain);
        validate(move || chain.accept_transaction_checked(&tx, Some(verified), max_fee_rate)).await
    }

    /// Follows the event stream and notifies subscribed plugins until `shutdown`. The
    /// topic is the event's type and the params the event itself (`docs/events.md`).
    pub async fn run_notifications(self: Arc<Self>, mut rx: broadcast::Receiver<Event>) {
        loop {
            let event = match rx.recv().await {
                Ok(e) => e.to_wire(),
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    warn!(target: "plugin", "plugin notifications fell {n} events behind; those were not sent");
                    continue;
                }
                Err(broadcast::error::RecvError::Closed) => return,
            };
            let topic = event.type_name();
            let targets: Vec<Arc<PluginProcess>> = lock(&self.entries)
                .iter()
                .filter(|e| e.manifest.subscribes(topic))
                .filter_map(|e| e.running().cloned())
                .collect();
            if targets.is_empty() {
                continue;
            }
            let params = event.to_json();
            for p in targets {
                p.notify(topic, params.clone());
            }
        }
    }

    /// Puts the transactions reorgs return to the pool through the `mempool_accept` hooks,
    /// after the fact: the writer re-adds them without waiting on any plugin, then each
    /// one a hook refuses (or a fail-closed plugin cannot decide) leaves the pool again
    /// with its descendants. Runs until the node stops.
    pub async fn run_reorg_rechecks(self: Arc<Self>) {
        self.chain.follow_readded();
        loop {
            let txids = self.chain.next_readded().await;
            if self.closing.load(Ordering::SeqCst) {
                return;
            }
            if !self.has_hook("mempool_accept") {
                continue;
            }
            for txid in txids {
                // Gone already (mined again, evicted, or a refused parent took it along).
                let Some((tx, fee, size)) = self
                    .chain
                    .snapshot()
                    .mempool()
                    .get(&txid)
                    .map(|e| (e.tx.clone(), e.fee, e.size))
                else {
                    continue;
                };
                if let Err(r) = self.mempool_accept(&tx, fee, size).await {
                    let n = self.chain.remove_refused(&txid);
                    info!(target: "plugin", plugin = %r.plugin, %txid, removed = n,
                        "transaction back from a reorg refused: {}", r.reason);
                }
            }
        }
    }

    /// Sends `shutdown` to subscribed plugins and stops every plugin.
    pub async fn shutdown(&self) {
        self.closing.store(true, Ordering::SeqCst);
        let entries: Vec<Entry> = lock(&self.entries).clone();
        let stops = entries.iter().filter_map(|e| {
            let p = e.running()?.clone();
            if e.manifest.subscribes("shutdown") {
                p.notify("shutdown", json!({}));
            }
            Some(async move { p.stop(STOP_GRACE).await })
        });
        futures_util::future::join_all(stops).await;
    }
}

/// `Ok(None)` for continue, `Ok(Some(reason))` for a refusal (`refuse` is the hook's word
/// for it), `Err` for an answer that is neither.
fn hook_verdict(v: &Value, refuse: &str) -> Result<Option<String>, String> {
    match v.get("result").and_then(Value::as_str) {
        Some("continue") => Ok(None),
        Some(r) if r == refuse => Ok(Some(
            v.get("reason")
                .and_then(Value::as_str)
                .map_or_else(|| "no reason given".to_owned(), |s| manifest::truncate(s, 500)),
        )),
        _ => Err(format!(
            "expected {{\"result\": \"continue\"}} or {{\"result\": \"{refuse}\", \"reason\": …}}, got {}",
            manifest::truncate(&v.to_string(), 200)
        )),
    }
}

/// A plugin's name: its file name without extension.
pub fn plugin_name(path: &Path) -> String {
    path.file_stem()
        .map_or_else(|| "plugin".into(), |s| s.to_string_lossy().into_owned())
}

fn check_executable(path: &Path) -> Result<PathBuf, String> {
    use std::os::unix::fs::PermissionsExt;
    let abs = path
        .canonicalize()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let meta = std::fs::metadata(&abs).map_err(|e| format!("{}: {e}", abs.display()))?;
    if !meta.is_file() {
        return Err(format!("{} is not a file", abs.display()));
    }
    if meta.permissions().mode() & 0o111 == 0 {
        return Err(format!("{} is not executable (chmod +x it)", abs.display()));
    }
    Ok(abs)
}

/// Executable files of a plugin directory, by name; hidden files are skipped.
fn plugin_dir_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    use std::os::unix::fs::PermissionsExt;
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| e.path())
        .filter(|p| {
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
        .collect();
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hook_verdicts() {
        assert_eq!(
            hook_verdict(&json!({"result": "continue"}), "reject"),
            Ok(None)
        );
        assert_eq!(
            hook_verdict(
                &json!({"result": "reject", "reason": "too cheap"}),
                "reject"
            ),
            Ok(Some("too cheap".into()))
        );
        assert!(hook_verdict(&json!({"result": "disconnect"}), "reject").is_err());
        assert!(hook_verdict(&json!("continue"), "reject").is_err());
    }

    #[test]
    fn plugin_names() {
        assert_eq!(plugin_name(Path::new("/x/hello.py")), "hello");
        assert_eq!(plugin_name(Path::new("policy")), "policy");
    }

    #[test]
    fn refuses_non_executables() {
        let dir = tempfile::tempdir().expect("tempdir");
        let f = dir.path().join("p.py");
        std::fs::write(&f, "#!/bin/sh\n").expect("write");
        let err = check_executable(&f).expect_err("not executable");
        assert!(err.contains("not executable"), "{err}");
        assert!(check_executable(dir.path()).is_err());
        assert!(check_executable(&dir.path().join("missing")).is_err());
        assert!(plugin_dir_files(dir.path()).expect("dir").is_empty());
    }
}
