//! Push notifications over the RPC port's WebSocket (jsonrpsee subscriptions; the upgrade
//! request passes the same Basic authentication as any call).
//!
//! - `subscribe_sequence`: Bitcoin Core's ZMQ `sequence` topic — `C`/`D` for a block
//!   connected to / disconnected from the active chain, `A`/`R` for a transaction added to /
//!   removed from the mempool (`R` only for removals other than confirmation, as in Core). A
//!   client applying them in order follows reorgs without polling. `A` and `R` carry Core's
//!   `mempool_sequence`, the pool's count of changes (a confirmation takes a number too, so
//!   `R` numbers may skip): a client that subscribes first, then calls `getrawmempool false
//!   true`, drops every `A`/`R` numbered below the answer's `mempool_sequence` (already in
//!   that list) and applies the rest, without a gap or a double.
//! - `subscribe_blocks`: each new active tip, with the reorg that led to it, if any.
//! - `subscribe_mempool`: additions (with fee and size) and removals (with the reason).
//!
//! Every item carries `seq`, counting from 0 per subscription. A subscriber that falls more
//! than the event buffer behind, or whose socket does not drain for [`SEND_TIMEOUT`], is
//! closed with an error notification saying so, rather than silently missing events: it
//! then resubscribes and resyncs from `getbestblockhash`.

use std::time::Duration;

use jsonrpsee::core::{async_trait, SubscriptionResult};
use jsonrpsee::proc_macros::rpc;
use jsonrpsee::{PendingSubscriptionSink, SubscriptionMessage};
use serde_json::{json, Value};
use tokio::sync::broadcast;

use super::RpcContext;
use crate::mempool::RemovalReason;
use crate::state::Event;

/// How long a subscriber's socket may refuse an item before the subscription is closed.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// WebSocket subscriptions.
#[rpc(server)]
pub trait SubscriptionsRpc {
    /// Block connects/disconnects and mempool adds/removes, in order (Core's ZMQ `sequence`).
    #[subscription(name = "subscribe_sequence" => "sequence", unsubscribe = "unsubscribe_sequence", item = Value)]
    async fn subscribe_sequence(&self) -> SubscriptionResult;

    /// New active tips, with reorg details.
    #[subscription(name = "subscribe_blocks" => "blocks", unsubscribe = "unsubscribe_blocks", item = Value)]
    async fn subscribe_blocks(&self) -> SubscriptionResult;

    /// Mempool additions and removals.
    #[subscription(name = "subscribe_mempool" => "mempool", unsubscribe = "unsubscribe_mempool", item = Value)]
    async fn subscribe_mempool(&self) -> SubscriptionResult;
}

/// Implementation of [`SubscriptionsRpcServer`].
#[derive(Debug)]
pub struct SubscriptionsRpcImpl {
    ctx: RpcContext,
}

impl SubscriptionsRpcImpl {
    /// The subscriptions over `ctx`.
    pub fn new(ctx: RpcContext) -> Self {
        SubscriptionsRpcImpl { ctx }
    }

    async fn pump(
        &self,
        pending: PendingSubscriptionSink,
        item: fn(&Event) -> Option<Value>,
    ) -> SubscriptionResult {
        // Subscribe before accepting, so nothing that happens after the reply is missed.
        let mut rx = self.ctx.chain.subscribe();
        let sink = pending.accept().await?;
        let mut seq: u64 = 0;
        loop {
            let event = tokio::select! {
                e = rx.recv() => e,
                _ = sink.closed() => return Ok(()),
            };
            let event = match event {
                Ok(e) => e,
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    return Err(format!(
                        "subscriber fell {n} events behind and missed them; \
                         resubscribe and resync from getbestblockhash"
                    )
                    .into())
                }
                Err(broadcast::error::RecvError::Closed) => return Ok(()),
            };
            let Some(mut value) = item(&event) else {
                continue;
            };
            value["seq"] = seq.into();
            seq += 1;
            let msg = SubscriptionMessage::from_json(&value)?;
            match sink.send_timeout(msg, SEND_TIMEOUT).await {
                Ok(()) => {}
                Err(jsonrpsee::core::server::SendTimeoutError::Closed(_)) => return Ok(()),
                Err(jsonrpsee::core::server::SendTimeoutError::Timeout(_)) => {
                    return Err(format!(
                        "subscriber did not read for {} s; closed",
                        SEND_TIMEOUT.as_secs()
                    )
                    .into())
                }
            }
        }
    }
}

/// The `sequence` item of an event, if it has one.
pub fn sequence_item(event: &Event) -> Option<Value> {
    Some(match event {
        Event::BlockConnected { hash, height, .. } => {
            json!({"hash": hash.to_string(), "label": "C", "height": height})
        }
        Event::BlockDisconnected { hash, height, .. } => {
            json!({"hash": hash.to_string(), "label": "D", "height": height})
        }
        Event::TxAccepted {
            txid,
            mempool_sequence,
            ..
        } => json!({"hash": txid.to_string(), "label": "A", "mempool_sequence": mempool_sequence}),
        Event::TxRemoved {
            txid,
            reason,
            mempool_sequence,
        } if *reason != RemovalReason::Confirmed => json!({
            "hash": txid.to_string(),
            "label": "R",
            "reason": reason.as_str(),
            "mempool_sequence": mempool_sequence,
        }),
        _ => return None,
    })
}

fn block_item(event: &Event) -> Option<Value> {
    match event {
        Event::TipChanged {
            hash,
            height,
            previous,
            reorg,
        } => Some(json!({
            "hash": hash.to_string(),
            "height": height,
            "previous": previous.to_string(),
            "reorg": reorg.map(|r| json!({
                "depth": r.depth,
                "fork_point": r.fork_point.to_string(),
                "fork_height": r.fork_height,
            })),
        })),
        _ => None,
    }
}

fn mempool_item(event: &Event) -> Option<Value> {
    match event {
        Event::TxAccepted {
            txid,
            fee,
            size,
            mempool_sequence,
        } => Some(json!({
            "type": "added",
            "txid": txid.to_string(),
            "fee_sat": fee.to_sat(),
            "size": size,
            "mempool_sequence": mempool_sequence,
        })),
        Event::TxRemoved {
            txid,
            reason,
            mempool_sequence,
        } => Some(json!({
            "type": "removed",
            "txid": txid.to_string(),
            "reason": reason.as_str(),
            "mempool_sequence": mempool_sequence,
        })),
        _ => None,
    }
}

#[async_trait]
impl SubscriptionsRpcServer for SubscriptionsRpcImpl {
    async fn subscribe_sequence(&self, pending: PendingSubscriptionSink) -> SubscriptionResult {
        self.pump(pending, sequence_item).await
    }

    async fn subscribe_blocks(&self, pending: PendingSubscriptionSink) -> SubscriptionResult {
        self.pump(pending, block_item).await
    }

    async fn subscribe_mempool(&self, pending: PendingSubscriptionSink) -> SubscriptionResult {
        self.pump(pending, mempool_item).await
    }
}
