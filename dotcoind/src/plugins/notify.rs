//! `--blocknotify` and `--txnotify`: Bitcoin Core's shell-command notifications.
//!
//! The command runs through `sh -c` with every `%s` replaced by the block hash (once per new
//! active tip, like Core) or the txid (once per transaction entering the mempool). A hash is
//! 64 hex digits, so the substitution cannot inject shell syntax. Beyond Core, the command
//! reads the event that triggered it on stdin: one line of JSON in the event schema
//! (`docs/events.md`) — `tip_changed` for `--blocknotify`, `tx_accepted` for `--txnotify` —
//! the same object the WebSocket, the dashboard and plugins get; a command that does not
//! read it loses nothing. Commands run in the background, at most [`MAX_RUNNING`] at a time;
//! while that many are still running, newer notifications wait, and if they fall a whole
//! event buffer behind they are skipped with a warning rather than piling up processes.

use std::process::Stdio;
use std::sync::Arc;

use tokio::io::AsyncWriteExt;
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
        let mut input = event.to_wire().to_json().to_string();
        input.push('\n');
        let Ok(permit) = Arc::clone(&slots).acquire_owned().await else {
            return;
        };
        tokio::spawn(async move {
            let _permit = permit;
            match run_one(&command, input.as_bytes()).await {
                Ok(s) if s.success() => debug!(target: "plugin", what, %command, "ran"),
                Ok(s) => warn!(target: "plugin", what, %command, "command failed: {s}"),
                Err(e) => warn!(target: "plugin", what, %command, "cannot run command: {e}"),
            }
        });
    }
}

/// Runs `sh -c command` with `input` on its stdin and waits for it.
async fn run_one(command: &str, input: &[u8]) -> std::io::Result<std::process::ExitStatus> {
    let mut child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::piped())
        .spawn()?;
    if let Some(mut stdin) = child.stdin.take() {
        // A command that exits without reading closes the pipe: that is its choice, not
        // a failure. One event is far below a pipe's buffer, so the write never waits on
        // a command that neither reads nor exits.
        let _ = stdin.write_all(input).await;
    }
    child.wait().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_command_reads_the_event_on_stdin() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("got");
        let cmd = format!("cat > {}", out.display());
        let status = run_one(&cmd, b"{\"type\":\"tx_accepted\"}\n")
            .await
            .expect("runs");
        assert!(status.success());
        assert_eq!(
            std::fs::read_to_string(&out).expect("written"),
            "{\"type\":\"tx_accepted\"}\n"
        );
        // One that ignores its input still succeeds.
        assert!(run_one("true", b"{}\n").await.expect("runs").success());
    }
}
