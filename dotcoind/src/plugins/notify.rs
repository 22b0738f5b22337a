//! `--blocknotify` and `--txnotify`: Bitcoin Core's shell-command notifications.
//!
//! The command runs through `sh -c` with every `%s` replaced by the block hash (once per new
//! active tip, like Core) or the txid (once per transaction entering the mempool). A hash is
//! 64 hex digits, so the substitution cannot inject shell syntax. Commands run in the
//! background, at most [`MAX_RUNNING`] at a time; while that many are still running, newer
//! notifications wait, and if they fall a whole event buffer behind they are skipped with a
//! warning rather than piling up processes.

use std::sync::Arc;

use tokio::sync::{broadcast, Semaphore};
use tracing::{debug, warn};

use crate::state::Event;

/// Notification commands running at once.
pub const MAX_RUNNING: usize = 8;

/// The configured commands.
#[derive(Debug, Clone, Default)]
pub struct NotifyCommands {
    /// `--blocknotify`.
    pub block: Option<String>,
    /// `--txnotify`.
    pub tx: Option<String>,
}

impl NotifyCommands {
    /// Whether there is anything to run.
    pub fn is_empty(&self) -> bool {
        self.block.is_none() && self.tx.is_none()
    }
}

/// Runs the commands for events from `rx` until the stream closes.
pub async fn run(commands: NotifyCommands, mut rx: broadcast::Receiver<Event>) {
    let slots = Arc::new(Semaphore::new(MAX_RUNNING));
    loop {
        let event = match rx.recv().await {
            Ok(e) => e,
            Err(broadcast::error::RecvError::Lagged(n)) => {
                warn!(target: "plugin", "notify commands fell {n} events behind; those were skipped");
                continue;
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        let (template, what, arg) = match (&event, &commands) {
            (Event::TipChanged { hash, .. }, NotifyCommands { block: Some(c), .. }) => {
                (c, "blocknotify", hash.to_string())
            }
            (Event::TxAccepted { txid, .. }, NotifyCommands { tx: Some(c), .. }) => {
                (c, "txnotify", txid.to_string())
            }
            _ => continue,
        };
        let command = template.replace("%s", &arg);
        let Ok(permit) = Arc::clone(&slots).acquire_owned().await else {
            return;
        };
        tokio::spawn(async move {
            let _permit = permit;
            match tokio::process::Command::new("sh")
                .arg("-c")
                .arg(&command)
                .stdin(std::process::Stdio::null())
                .status()
                .await
            {
                Ok(s) if s.success() => debug!(target: "plugin", what, %command, "ran"),
                Ok(s) => warn!(target: "plugin", what, %command, "command failed: {s}"),
                Err(e) => warn!(target: "plugin", what, %command, "cannot run command: {e}"),
            }
        });
    }
}
