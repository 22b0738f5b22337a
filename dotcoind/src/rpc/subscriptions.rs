//! Push notifications over the RPC port's WebSocket (jsonrpsee subscriptions; the upgrade
//! request passes the same Basic authentication as any call).
//!
//! Every item is one event of the node's event schema
//! ([`WireEvent`](dotcoin_common::events::WireEvent), `docs/events.md`), the same object
//! the dashboard's stream, plugins and notify commands get, plus `seq`:
//!
//! - `subscribe_sequence`: Bitcoin Core's ZMQ `sequence` topic — `block_connected` /
//!   `block_disconnected` for the active chain, `tx_accepted` / `tx_removed` for the mempool
//!   (`tx_removed` only for removals other than confirmation, as Core's `R`). A client
//!   applying them in order follows reorgs without polling. The mempool events carry Core's
//!   `mempool_sequence`, the pool's count of changes (a confirmation takes a number too, so
//!   numbers may skip): a client that subscribes first, then calls `getrawmempool false
//!   true`, drops every mempool event numbered below the answer's `mempool_sequence`
//!   (already in that list) and applies the rest, without a gap or a double.
//! - `subscribe_blocks`: `tip_changed` for each new active tip, with the reorg that led to
//!   it, if any.
//! - `subscribe_mempool`: `tx_accepted` and `tx_removed` (every reason).
//!
//! `seq` counts from 0 per subscription. A subscriber that falls more than the event buffer
//! behind, or whose socket does not drain for [`SEND_TIMEOUT`], is closed with an error
//! notification saying so, rather than silently missing events: it then resubscribes and
//! resyncs from `getbestblockhash`.

use std::time::Duration;

use dotcoin_common::events::SubscriptionItem;
use jsonrpsee::core::{async_trait, SubscriptionResult};
use jsonrpsee::proc_macros::rpc;
use jsonrpsee::{PendingSubscriptionSink, SubscriptionMessage};
use tokio::sync::broadcast;

use super::RpcContext;
use crate::mempool::RemovalReason;
use crate::state::Event;

/// How long a subscriber's socket may refuse an item before the subscription is closed.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// WebSocket subscriptions.
#[rpc(server)]
pub trait SubscriptionsRpc {
    /// Block connects/disconnects and mempool adds/removes, in order (Core's ZMQ `sequence`);
    /// items are schema events plus `seq`.
    #[subscription(name = "subscribe_sequence" => "sequence", unsubscribe = "unsubscribe_sequence", item = SubscriptionItem)]
    async fn subscribe_sequence(&self) -> SubscriptionResult;

    /// New active tips, with reorg details.
    #[subscription(name = "subscribe_blocks" => "blocks", unsubscribe = "unsubscribe_blocks", item = SubscriptionItem)]
    async fn subscribe_blocks(&self) -> SubscriptionResult;

    /// Mempool additions and removals.
    #[subscription(name = "subscribe_mempool" => "mempool", unsubscribe = "unsubscribe_mempool", item = SubscriptionItem)]
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
        wanted: fn(&Event) -> bool,
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
            if !wanted(&event) {
                continue;
            }
            let item = SubscriptionItem {
                event: event.to_wire(),
                seq,
            };
            seq += 1;
            let msg = SubscriptionMessage::from_json(&item)?;
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

/// Whether `event` belongs to the `sequence` subscription.
pub fn in_sequence(event: &Event) -> bool {
    match event {
        Event::BlockConnected(_) | Event::BlockDisconnected(_) | Event::TxAccepted { .. } => true,
        Event::TxRemoved { reason, .. } => *reason != RemovalReason::Confirmed,
        _ => false,
    }
}

fn in_blocks(event: &Event) -> bool {
    matches!(event, Event::TipChanged { .. })
}

fn in_mempool(event: &Event) -> bool {
    matches!(event, Event::TxAccepted { .. } | Event::TxRemoved { .. })
}

#[async_trait]
impl SubscriptionsRpcServer for SubscriptionsRpcImpl {
    async fn subscribe_sequence(&self, pending: PendingSubscriptionSink) -> SubscriptionResult {
        self.pump(pending, in_sequence).await
    }

    async fn subscribe_blocks(&self, pending: PendingSubscriptionSink) -> SubscriptionResult {
        self.pump(pending, in_blocks).await
    }

    async fn subscribe_mempool(&self, pending: PendingSubscriptionSink) -> SubscriptionResult {
        self.pump(pending, in_mempool).await
    }
}
