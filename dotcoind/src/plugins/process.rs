//! One plugin process and the JSON-RPC 2.0 conversation on its stdin and stdout.
//!
//! Three tasks per process: a writer that feeds stdin from a bounded queue, a reader that
//! parses stdout one line per message, and a logger that copies stderr into `debug.log`
//! under the plugin's name. The plugin is untrusted as a peer is: a line longer than
//! [`MAX_MESSAGE`], anything on stdout that is not a JSON-RPC 2.0 message, more unsolicited
//! messages (blank lines included) than the [`FLOOD_BURST`]/[`FLOOD_RATE`] budget allows, or
//! more bytes than the [`OUTPUT_BURST`]/[`OUTPUT_RATE`] budget is a protocol error that ends
//! the process and its process group: the node reads at most [`MAX_MESSAGE`] bytes of a
//! line that never ends, and never parses output faster than the byte budget. A plugin that stops reading its stdin does not hold up the node:
//! notifications for it are dropped and counted, and calls fail at once.

use std::collections::HashMap;
use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use thiserror::Error;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, oneshot, watch};
use tracing::{error, info, warn};

use super::manifest::truncate;

/// Longest line a plugin may write on stdout (a method's result can be large).
pub const MAX_MESSAGE: usize = 16 * 1024 * 1024;
/// Longest stderr line copied to the log; the rest of the line is cut.
pub const MAX_LOG_LINE: usize = 4096;
/// Messages queued for a plugin's stdin before further notifications are dropped.
pub const STDIN_QUEUE: usize = 1024;
/// Unsolicited messages (notifications, replies to unknown ids) a plugin may send at once…
pub const FLOOD_BURST: f64 = 1000.0;
/// …and per second after that.
pub const FLOOD_RATE: f64 = 200.0;
/// Bytes a plugin may write on stdout at once (four largest messages)…
pub const OUTPUT_BURST: f64 = 4.0 * MAX_MESSAGE as f64;
/// …and per second after that.
pub const OUTPUT_RATE: f64 = 8.0 * 1024.0 * 1024.0;
/// Stderr lines per second copied to the log; more are counted and dropped.
pub const LOG_LINES_PER_SEC: u32 = 100;

/// Why a call to a plugin failed.
#[derive(Debug, Clone, Error, PartialEq)]
pub enum CallError {
    /// No answer in time.
    #[error("plugin {plugin:?} did not answer {method:?} within {secs} s")]
    Timeout {
        /// The plugin.
        plugin: String,
        /// The call.
        method: String,
        /// The timeout.
        secs: u64,
    },
    /// The process is gone (or was never usable).
    #[error("plugin {plugin:?} is not running: {reason}")]
    NotRunning {
        /// The plugin.
        plugin: String,
        /// How it ended.
        reason: String,
    },
    /// Its stdin queue is full: it stopped reading.
    #[error("plugin {0:?} is not reading its input (queue of {STDIN_QUEUE} messages full)")]
    NotReading(String),
    /// It answered with a JSON-RPC error.
    #[error("{message}")]
    Rpc {
        /// Its code.
        code: i32,
        /// Its message.
        message: String,
        /// Its data.
        data: Option<Value>,
    },
}

/// Whether the process runs, and if not, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProcState {
    /// Running.
    Running,
    /// Gone: exited, crashed, killed for a protocol error or stopped.
    Ended(String),
}

type Pending = HashMap<u64, (String, oneshot::Sender<Result<Value, CallError>>)>;

/// A running plugin process.
#[derive(Debug)]
pub struct PluginProcess {
    name: String,
    pid: Option<u32>,
    stdin: Mutex<Option<mpsc::Sender<Vec<u8>>>>,
    pending: Mutex<Pending>,
    next_id: AtomicU64,
    state: watch::Sender<ProcState>,
    child: Mutex<Option<Child>>,
    dropped: AtomicU64,
}

/// Sends SIGKILL to process group `pgid` (a plugin started as its group's leader).
#[allow(unsafe_code)]
fn kill_process_group(pgid: u32) {
    // Never 0 (our own group) or 1 (init), whatever a bad pid would say.
    let Ok(pgid) = libc::pid_t::try_from(pgid) else {
        return;
    };
    if pgid <= 1 {
        return;
    }
    // SAFETY: killpg has no memory-safety preconditions: it takes two integers and only
    // sends a signal. The group is the plugin's own, made at spawn with the plugin's pid as
    // its id. Callers signal it before reaping the plugin, or right after its exit: a pid
    // stays reserved while a group of that id has members, so only a group emptied and
    // its id reused by a new group leader in that moment could be hit. An error (the
    // group is gone already) is of no interest.
    unsafe {
        libc::killpg(pgid, libc::SIGKILL);
    }
}

/// How often a plugin's exit is looked for besides its stdout closing.
const EXIT_POLL: Duration = Duration::from_millis(250);

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl PluginProcess {
    /// Starts `path` with piped stdio in `cwd`.
    pub fn spawn(name: &str, path: &Path, cwd: &Path) -> std::io::Result<Arc<PluginProcess>> {
        let mut child = Command::new(path)
            // Its own process group, so what it starts can be ended with it (kill_group),
            // and a terminal's Ctrl-C goes to dotcoind, which stops it in order.
            .process_group(0)
            .current_dir(cwd)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let stdin = child.stdin.take().expect("stdin was piped");
        let stdout = child.stdout.take().expect("stdout was piped");
        let stderr = child.stderr.take().expect("stderr was piped");
        let (tx, rx) = mpsc::channel(STDIN_QUEUE);
        let proc = Arc::new(PluginProcess {
            name: name.to_owned(),
            pid: child.id(),
            stdin: Mutex::new(Some(tx)),
            pending: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            state: watch::channel(ProcState::Running).0,
            child: Mutex::new(Some(child)),
            dropped: AtomicU64::new(0),
        });
        tokio::spawn(write_stdin(stdin, rx));
        tokio::spawn(log_stderr(name.to_owned(), stderr));
        tokio::spawn(Arc::clone(&proc).read_stdout(stdout));
        tokio::spawn(Arc::clone(&proc).watch_exit());
        Ok(proc)
    }

    /// The plugin's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its process id.
    pub fn pid(&self) -> Option<u32> {
        self.pid
    }

    /// Running, or how it ended.
    pub fn state(&self) -> ProcState {
        self.state.borrow().clone()
    }

    /// Whether it still runs.
    pub fn is_running(&self) -> bool {
        *self.state.borrow() == ProcState::Running
    }

    /// Notifications dropped because it did not read them.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    fn queue(&self, line: Vec<u8>) -> Result<(), CallError> {
        let not_running = || CallError::NotRunning {
            plugin: self.name.clone(),
            reason: match self.state() {
                ProcState::Ended(r) => r,
                ProcState::Running => "its input is closed".into(),
            },
        };
        if !self.is_running() {
            return Err(not_running());
        }
        let guard = lock(&self.stdin);
        let Some(tx) = guard.as_ref() else {
            return Err(not_running());
        };
        tx.try_send(line).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => CallError::NotReading(self.name.clone()),
            mpsc::error::TrySendError::Closed(_) => not_running(),
        })
    }

    /// Sends a notification; false (and counted) if the plugin is not keeping up.
    pub fn notify(&self, method: &str, params: Value) -> bool {
        let mut line = json!({"jsonrpc": "2.0", "method": method, "params": params}).to_string();
        line.push('\n');
        match self.queue(line.into_bytes()) {
            Ok(()) => true,
            Err(_) => {
                if self.dropped.fetch_add(1, Ordering::Relaxed) == 0 && self.is_running() {
                    warn!(target: "plugin", plugin = %self.name,
                        "plugin is not reading its input; dropping notifications");
                }
                false
            }
        }
    }

    /// Calls `method` and waits up to `timeout` for the answer.
    pub async fn call(
        &self,
        method: &str,
        params: Value,
        timeout: Duration,
    ) -> Result<Value, CallError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        lock(&self.pending).insert(id, (method.to_owned(), tx));
        // However this call ends — answered, timed out, or its caller gone (a peer that
        // disconnected while its transaction waited on a hook) — its entry goes.
        let _pending = PendingGuard {
            pending: &self.pending,
            id,
        };
        let mut line =
            json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string();
        line.push('\n');
        self.queue(line.into_bytes())?;
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(result)) => result,
            // The sender went with the pending table: the process ended.
            Ok(Err(_)) => Err(CallError::NotRunning {
                plugin: self.name.clone(),
                reason: match self.state() {
                    ProcState::Ended(r) => r,
                    ProcState::Running => "it stopped answering".into(),
                },
            }),
            Err(_) => Err(CallError::Timeout {
                plugin: self.name.clone(),
                method: method.to_owned(),
                secs: timeout.as_secs(),
            }),
        }
    }

    /// Ends the process (if it still runs) and fails its pending calls with `reason`.
    pub fn kill(&self, reason: &str) {
        self.end(reason.to_owned());
        if let Some(mut child) = lock(&self.child).take() {
            // Before reaping: until then the group id cannot name another process.
            self.kill_group();
            let _ = child.start_kill();
            // Reap it so no zombie is left behind.
            tokio::spawn(async move {
                let _ = child.wait().await;
            });
        }
    }

    /// Closes its stdin (a polite request to exit) and waits up to `grace` for it to go;
    /// kills it after that.
    pub async fn stop(&self, grace: Duration) {
        // First, so the reader seeing stdout close does not report a crash.
        self.end("stopped".into());
        let child = lock(&self.child).take();
        if let Some(mut child) = child {
            if tokio::time::timeout(grace, child.wait()).await.is_err() {
                self.kill_group();
                let _ = child.start_kill();
                let _ = child.wait().await;
            }
            // Whatever it left running in its group goes too.
            self.kill_group();
        }
    }

    /// SIGKILL to the plugin's process group: the plugin and anything it started that
    /// did not leave the group.
    fn kill_group(&self) {
        if let Some(pid) = self.pid {
            kill_process_group(pid);
        }
    }

    /// Waits until the process has ended.
    pub async fn ended(&self) {
        let mut rx = self.state.subscribe();
        let _ = rx.wait_for(|s| *s != ProcState::Running).await;
    }

    fn end(&self, reason: String) {
        let first = self.state.send_if_modified(|s| {
            if *s == ProcState::Running {
                *s = ProcState::Ended(reason.clone());
                true
            } else {
                false
            }
        });
        lock(&self.stdin).take();
        let pending: Vec<_> = lock(&self.pending).drain().collect();
        let reason = match self.state() {
            ProcState::Ended(r) => r,
            ProcState::Running => reason,
        };
        for (_, (_, tx)) in pending {
            let _ = tx.send(Err(CallError::NotRunning {
                plugin: self.name.clone(),
                reason: reason.clone(),
            }));
        }
        if first && reason != "stopped" {
            error!(target: "plugin", plugin = %self.name, "plugin ended: {reason}");
        }
    }

    /// Notices the plugin's exit even while its stdout stays open: a child it started
    /// inherits the pipe, so end of file may never come while that child lives. The
    /// group is killed then, which also closes the pipe for the reader.
    async fn watch_exit(self: Arc<Self>) {
        let mut tick = tokio::time::interval(EXIT_POLL);
        loop {
            tick.tick().await;
            if !self.is_running() {
                return;
            }
            let exited = {
                let mut child = lock(&self.child);
                let Some(c) = child.as_mut() else {
                    return;
                };
                match c.try_wait() {
                    Ok(None) => None,
                    Ok(Some(status)) => {
                        child.take();
                        Some(format!("exited ({status})"))
                    }
                    Err(e) => {
                        child.take();
                        Some(format!("exited (status unknown: {e})"))
                    }
                }
            };
            if let Some(status) = exited {
                // Reaped, but what it started keeps the group (and its id) alive.
                self.kill_group();
                self.end(status);
                return;
            }
        }
    }

    async fn read_stdout(self: Arc<Self>, stdout: impl AsyncRead + Unpin) {
        let mut reader = BufReader::new(stdout);
        let mut budget = FloodBudget::new();
        let mut bytes = FloodBudget::with(OUTPUT_BURST, OUTPUT_RATE);
        let mut line = Vec::new();
        let outcome = loop {
            match read_bounded_line(&mut reader, &mut line, MAX_MESSAGE).await {
                Ok(Line::Eof) => break None,
                Ok(Line::TooLong) => {
                    break Some(format!(
                        "protocol error: a line on stdout longer than {MAX_MESSAGE} bytes"
                    ))
                }
                Ok(Line::Complete) => {}
                Err(e) => break Some(format!("cannot read its stdout: {e}")),
            }
            if !bytes.take_n(line.len() as f64 + 1.0) {
                break Some(format!(
                    "protocol error: flooded stdout with more than {} MiB (budget {} MiB/s)",
                    OUTPUT_BURST as u64 >> 20,
                    OUTPUT_RATE as u64 >> 20
                ));
            }
            if line.iter().all(u8::is_ascii_whitespace) {
                // Costs nothing to parse, but is still output nobody asked for.
                if !budget.take() {
                    break Some(format!(
                        "protocol error: flooded stdout with more than {FLOOD_BURST} blank lines"
                    ));
                }
                continue;
            }
            if let Err(why) = self.on_message(&line, &mut budget) {
                break Some(format!("protocol error: {why}"));
            }
        };
        match outcome {
            Some(reason) => self.kill(&reason),
            None => {
                let child = lock(&self.child).take();
                let status = match child {
                    Some(mut c) => {
                        let status =
                            match tokio::time::timeout(Duration::from_secs(2), c.wait()).await {
                                Ok(Ok(s)) => format!("exited ({s})"),
                                Ok(Err(e)) => format!("exited (status unknown: {e})"),
                                Err(_) => {
                                    self.kill_group();
                                    let _ = c.start_kill();
                                    let _ = c.wait().await;
                                    "closed its stdout and was killed".into()
                                }
                            };
                        self.kill_group();
                        status
                    }
                    None => "exited".into(),
                };
                self.end(status);
            }
        }
    }

    fn on_message(&self, line: &[u8], budget: &mut FloodBudget) -> Result<(), String> {
        let shown = || truncate(&String::from_utf8_lossy(line), 120);
        let msg: Value = serde_json::from_slice(line)
            .map_err(|e| format!("not JSON on stdout ({e}): {:?}", shown()))?;
        let Some(obj) = msg.as_object() else {
            return Err(format!("not a JSON-RPC object on stdout: {:?}", shown()));
        };
        if obj.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
            return Err(format!(
                "message without \"jsonrpc\": \"2.0\": {:?}",
                shown()
            ));
        }
        if let Some(method) = obj.get("method").and_then(Value::as_str) {
            if !budget.take() {
                return Err(format!(
                    "flooded stdout with more than {FLOOD_BURST} unsolicited messages \
                     (budget {FLOOD_RATE}/s)"
                ));
            }
            if obj.contains_key("id") {
                // Calls into the node go through its RPC port (see `init`), not stdio.
                warn!(target: "plugin", plugin = %self.name, method,
                    "plugin sent a request on stdout; use the RPC port given in init");
                return Ok(());
            }
            if method == "log" {
                let p = obj.get("params").cloned().unwrap_or(Value::Null);
                let text = p.get("message").and_then(Value::as_str).unwrap_or("");
                let text = truncate(text, MAX_LOG_LINE);
                match p.get("level").and_then(Value::as_str) {
                    Some("error") => error!(target: "plugin", plugin = %self.name, "{text}"),
                    Some("warn") => warn!(target: "plugin", plugin = %self.name, "{text}"),
                    _ => info!(target: "plugin", plugin = %self.name, "{text}"),
                }
            }
            return Ok(());
        }
        let id = obj.get("id").and_then(Value::as_u64);
        let waiter = id.and_then(|id| lock(&self.pending).remove(&id));
        let Some((method, tx)) = waiter else {
            if !obj.contains_key("result") && !obj.contains_key("error") {
                return Err(format!("neither a request nor a reply: {:?}", shown()));
            }
            // A late answer to a call that timed out, or a made-up id.
            if !budget.take() {
                return Err(format!(
                    "flooded stdout with more than {FLOOD_BURST} replies to unknown ids"
                ));
            }
            return Ok(());
        };
        let result = match (obj.get("result"), obj.get("error")) {
            (Some(r), None) => Ok(r.clone()),
            (None, Some(e)) => Err(CallError::Rpc {
                code: e
                    .get("code")
                    .and_then(Value::as_i64)
                    .and_then(|c| i32::try_from(c).ok())
                    .unwrap_or(-32603),
                message: e
                    .get("message")
                    .and_then(Value::as_str)
                    .map_or_else(|| format!("{method} failed"), |m| truncate(m, 4096)),
                data: e.get("data").cloned(),
            }),
            _ => {
                let _ = tx.send(Err(CallError::Rpc {
                    code: -32603,
                    message: format!("plugin {:?} sent a malformed reply", self.name),
                    data: None,
                }));
                return Err(format!(
                    "a reply needs exactly one of result and error: {:?}",
                    shown()
                ));
            }
        };
        let _ = tx.send(result);
        Ok(())
    }
}

/// Removes a call's entry from the pending table when the call ends, however it ends.
struct PendingGuard<'a> {
    pending: &'a Mutex<Pending>,
    id: u64,
}

impl Drop for PendingGuard<'_> {
    fn drop(&mut self) {
        lock(self.pending).remove(&self.id);
    }
}

/// Token bucket: unsolicited messages, or bytes of output.
struct FloodBudget {
    tokens: f64,
    burst: f64,
    rate: f64,
    last: Instant,
}

impl FloodBudget {
    fn new() -> FloodBudget {
        FloodBudget::with(FLOOD_BURST, FLOOD_RATE)
    }

    fn with(burst: f64, rate: f64) -> FloodBudget {
        FloodBudget {
            tokens: burst,
            burst,
            rate,
            last: Instant::now(),
        }
    }

    fn take(&mut self) -> bool {
        self.take_n(1.0)
    }

    fn take_n(&mut self, n: f64) -> bool {
        let now = Instant::now();
        let refill = now.duration_since(self.last).as_secs_f64() * self.rate;
        self.tokens = (self.tokens + refill).min(self.burst);
        self.last = now;
        if self.tokens >= n {
            self.tokens -= n;
            true
        } else {
            false
        }
    }
}

enum Line {
    Complete,
    TooLong,
    Eof,
}

/// Reads one `\n`-terminated line into `buf` without ever holding more than `max` bytes.
async fn read_bounded_line<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    buf: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<Line> {
    buf.clear();
    let n = reader.take(max as u64 + 1).read_until(b'\n', buf).await?;
    if n == 0 {
        return Ok(Line::Eof);
    }
    if buf.last() == Some(&b'\n') {
        buf.pop();
        return Ok(Line::Complete);
    }
    if buf.len() > max {
        return Ok(Line::TooLong);
    }
    // The last line, without a newline.
    Ok(Line::Complete)
}

async fn write_stdin(mut stdin: tokio::process::ChildStdin, mut rx: mpsc::Receiver<Vec<u8>>) {
    while let Some(line) = rx.recv().await {
        if stdin.write_all(&line).await.is_err() || stdin.flush().await.is_err() {
            break;
        }
    }
}

async fn log_stderr(name: String, stderr: impl AsyncRead + Unpin) {
    let mut reader = BufReader::new(stderr);
    let mut line = Vec::new();
    let (mut window, mut in_window, mut skipped) = (Instant::now(), 0u32, 0u64);
    loop {
        line.clear();
        // Cut long lines: read the rest and drop it.
        let n = match (&mut reader)
            .take(MAX_LOG_LINE as u64)
            .read_until(b'\n', &mut line)
            .await
        {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if n == MAX_LOG_LINE && line.last() != Some(&b'\n') {
            let mut rest = Vec::new();
            loop {
                rest.clear();
                match (&mut reader)
                    .take(64 * 1024)
                    .read_until(b'\n', &mut rest)
                    .await
                {
                    Ok(0) | Err(_) => break,
                    Ok(_) if rest.last() == Some(&b'\n') => break,
                    Ok(_) => {}
                }
            }
        }
        if window.elapsed() >= Duration::from_secs(1) {
            if skipped > 0 {
                warn!(target: "plugin", plugin = %name, "{skipped} stderr lines not logged (more than {LOG_LINES_PER_SEC}/s)");
            }
            (window, in_window, skipped) = (Instant::now(), 0, 0);
        }
        in_window += 1;
        if in_window > LOG_LINES_PER_SEC {
            skipped += 1;
            continue;
        }
        let text = String::from_utf8_lossy(&line);
        info!(target: "plugin", plugin = %name, "{}", text.trim_end());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bounded_lines() {
        let data: &[u8] = b"short\nexactly10!\n0123456789abc\nlast";
        let mut r = BufReader::new(data);
        let mut buf = Vec::new();
        assert!(matches!(
            read_bounded_line(&mut r, &mut buf, 10).await.expect("read"),
            Line::Complete
        ));
        assert_eq!(buf, b"short");
        assert!(matches!(
            read_bounded_line(&mut r, &mut buf, 10).await.expect("read"),
            Line::Complete
        ));
        assert_eq!(buf, b"exactly10!");
        assert!(matches!(
            read_bounded_line(&mut r, &mut buf, 10).await.expect("read"),
            Line::TooLong
        ));
        assert!(buf.len() <= 11);
    }

    fn script(dir: &Path, body: &str) -> std::path::PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let p = dir.join("p.sh");
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).expect("write");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        p
    }

    #[tokio::test]
    async fn a_plugin_that_does_not_read_loses_notifications_not_the_node() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = PluginProcess::spawn("deaf", &script(dir.path(), "sleep 60"), dir.path())
            .expect("spawn");
        let sent = (0..STDIN_QUEUE * 4)
            .filter(|i| p.notify("tx_accepted", json!({ "txid": "00".repeat(32), "n": i })))
            .count();
        assert!(sent < STDIN_QUEUE * 4, "some were dropped");
        assert_eq!(p.dropped() as usize, STDIN_QUEUE * 4 - sent);
        let err = p
            .call("anything", json!([]), Duration::from_secs(30))
            .await
            .expect_err("queue full");
        assert_eq!(err, CallError::NotReading("deaf".into()));
        p.kill("test over");
        assert_eq!(p.state(), ProcState::Ended("test over".into()));
    }

    #[tokio::test]
    async fn an_exit_fails_the_pending_call_with_the_status() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = PluginProcess::spawn(
            "quitter",
            &script(dir.path(), "read line; exit 7"),
            dir.path(),
        )
        .expect("spawn");
        let err = p
            .call("getmanifest", json!({}), Duration::from_secs(30))
            .await
            .expect_err("it exits");
        match err {
            CallError::NotRunning { plugin, reason } => {
                assert_eq!(plugin, "quitter");
                assert!(reason.contains("exit status: 7"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
        p.ended().await;
        assert!(!p.is_running());
    }

    #[tokio::test]
    async fn replies_are_matched_and_errors_passed_on() {
        let dir = tempfile::tempdir().expect("tempdir");
        let body = r#"read a; echo '{"jsonrpc":"2.0","id":1,"result":{"ok":true}}'
read b; echo '{"jsonrpc":"2.0","id":2,"error":{"code":-8,"message":"bad arg"}}'
read c; echo '{"jsonrpc":"2.0","id":3}'
sleep 5"#;
        let p =
            PluginProcess::spawn("echoer", &script(dir.path(), body), dir.path()).expect("spawn");
        let t = Duration::from_secs(30);
        assert_eq!(p.call("a", json!([]), t).await, Ok(json!({"ok": true})));
        assert_eq!(
            p.call("b", json!([]), t).await,
            Err(CallError::Rpc {
                code: -8,
                message: "bad arg".into(),
                data: None
            })
        );
        // Neither result nor error: a protocol error that ends the plugin.
        assert!(p.call("c", json!([]), t).await.is_err());
        p.ended().await;
        match p.state() {
            ProcState::Ended(r) => assert!(r.contains("exactly one of result and error"), "{r}"),
            ProcState::Running => panic!("still running"),
        }
    }

    #[test]
    fn flood_budget_runs_out_and_refills() {
        let mut b = FloodBudget::new();
        let granted = (0..(FLOOD_BURST as usize + 10))
            .filter(|_| b.take())
            .count();
        assert!(granted >= FLOOD_BURST as usize && granted < FLOOD_BURST as usize + 10);
        b.last -= Duration::from_secs(1);
        assert!(b.take());
        let mut bytes = FloodBudget::with(100.0, 10.0);
        assert!(
            bytes.take_n(60.0) && !bytes.take_n(60.0),
            "the burst is spent"
        );
        bytes.last -= Duration::from_secs(2);
        assert!(bytes.take_n(60.0), "refilled at the rate");
    }

    #[tokio::test]
    async fn a_dropped_call_leaves_nothing_pending() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = PluginProcess::spawn("mute", &script(dir.path(), "sleep 60"), dir.path())
            .expect("spawn");
        let call = p.call("anything", json!([]), Duration::from_secs(60));
        // Polled once (queued and pending), then dropped as a cancelled peer's wait is.
        assert!(tokio::time::timeout(Duration::from_millis(50), call)
            .await
            .is_err());
        assert!(lock(&p.pending).is_empty(), "the entry went with the call");
        p.kill("test over");
    }
}
