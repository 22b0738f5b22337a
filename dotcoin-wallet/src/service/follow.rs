//! Follows the node's chain: a `waitfornewblock` long poll returns on every new tip (or
//! after its timeout with the current one), and each new tip is published in
//! [`Service::tip`]. A tip that does not extend the last one seen — the old tip is no
//! longer on the best chain — is a reorg, logged with its depth.
//!
//! The wallet's coins are read from the node's address index at each call. Its history is
//! its own record ([`crate::history`]), brought up to each new tip here
//! ([`super::history::sync_all`]): a transaction of a disconnected block goes back to 0
//! confirmations (the node moved it to its mempool) until it is mined again.

use std::sync::Arc;
use std::time::Duration;

use dotcoin_common::BlockHash;
use serde::Deserialize;
use serde_json::json;
use tracing::{debug, info};

use super::{Service, Tip};
use crate::node::{self, NodeApi};

/// How long one long poll waits for a block, in milliseconds.
const POLL_MS: u64 = 10_000;

#[derive(Deserialize)]
struct WaitAnswer {
    hash: BlockHash,
    height: u32,
}

/// Runs forever (until the runtime stops).
///
/// Each round first reads the tip (`getblockchaininfo`): a change since the last round is
/// published at once. Only an unchanged tip is waited on (`waitfornewblock`, which wakes on
/// any tip change, reorgs included). A block landing between the two calls is seen at
/// the latest when the long poll times out.
pub async fn follow(service: Arc<Service>) {
    let mut backoff = Duration::from_millis(100);
    loop {
        let round = async {
            let info = node::blockchain_info(&service.node).await?;
            let current = Tip {
                hash: info.bestblockhash,
                height: info.blocks,
            };
            if *service.tip.borrow() != Some(current) {
                return Ok::<_, crate::WalletError>(current);
            }
            let value = service
                .node
                .call("waitfornewblock", json!([POLL_MS]))
                .await?;
            let w: WaitAnswer = serde_json::from_value(value).map_err(|e| {
                crate::WalletError::Node(format!("unexpected waitfornewblock answer: {e}"))
            })?;
            Ok(Tip {
                hash: w.hash,
                height: w.height,
            })
        };
        match round.await {
            Ok(tip) => {
                backoff = Duration::from_millis(100);
                observe(&service, tip).await;
                // Each wallet's own history catches up with the new tip (reorgs included).
                super::history::sync_all(&service).await;
            }
            Err(e) => {
                debug!(target: "follow", "cannot follow the node: {e}");
                // A retry pause while the node is down, doubling up to 5 s.
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}

/// Publishes a tip, noticing a reorg.
async fn observe(service: &Service, tip: Tip) {
    let previous = *service.tip.borrow();
    if previous == Some(tip) {
        return;
    }
    if let Some(old) = previous {
        let still_best = if old.height <= tip.height {
            match service.node.call("getblockhash", json!([old.height])).await {
                Ok(v) => v.as_str() == Some(old.hash.to_string().as_str()),
                Err(_) => true,
            }
        } else {
            false
        };
        if still_best {
            debug!(target: "follow", height = tip.height, hash = %tip.hash, "new tip");
        } else {
            info!(
                target: "follow",
                old_height = old.height,
                old_hash = %old.hash,
                height = tip.height,
                hash = %tip.hash,
                "reorg: the wallet's view follows the node's new best chain"
            );
        }
    } else {
        info!(target: "follow", height = tip.height, hash = %tip.hash, "following the node");
    }
    service.tip.send_replace(Some(tip));
}
