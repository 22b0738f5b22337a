//! The node's typed event stream (Bitcoin Core's `ValidationInterface`, as a channel): what
//! happened, in the order it happened, for every consumer — the relay, the miner, the
//! dashboard, plugins and notifications.
//!
//! The stream is a bounded broadcast channel. Publishing never waits: a consumer that falls
//! more than [`EVENT_BUFFER`] events behind gets `RecvError::Lagged(n)` on its next read,
//! skips ahead, and resyncs from a [`super::Snapshot`]; the writer is never slowed by it.
//! Events are small (hashes, heights, counts; never a block or a list of its transactions):
//! a consumer that wants a block reads it from the store, so the buffer stays a few hundred
//! kilobytes however large the blocks.

use std::net::SocketAddr;

use dotcoin_common::{Amount, BlockHash, Txid};
use serde::Serialize;
use tokio::sync::broadcast;

use crate::mempool::RemovalReason;

/// Events a consumer may fall behind by before it is told it lagged.
pub const EVENT_BUFFER: usize = 4096;

/// Where a reorganisation forked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Reorg {
    /// Blocks of the old chain that left the active chain.
    pub depth: u32,
    /// Last block common to the old and new chains.
    pub fork_point: BlockHash,
    /// Its height.
    pub fork_height: u32,
}

/// Something that happened in the node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// A block's data passed its context-free checks and was stored (on any branch).
    BlockStored {
        /// The block.
        hash: BlockHash,
        /// Its height.
        height: u32,
    },
    /// A block joined the active chain.
    BlockConnected {
        /// The block (its transactions are in the store).
        hash: BlockHash,
        /// Its height.
        height: u32,
        /// Its number of transactions, coinbase included.
        tx_count: usize,
    },
    /// A block left the active chain (a reorganisation or `invalidateblock`).
    BlockDisconnected {
        /// The block (its transactions are in the store).
        hash: BlockHash,
        /// Its height.
        height: u32,
        /// Its number of transactions, coinbase included.
        tx_count: usize,
    },
    /// The active tip moved; sent after the blocks that moved it.
    TipChanged {
        /// The new tip.
        hash: BlockHash,
        /// Its height.
        height: u32,
        /// The tip before.
        previous: BlockHash,
        /// Set when blocks were disconnected on the way.
        reorg: Option<Reorg>,
    },
    /// A transaction entered the mempool (new, or back from a disconnected block).
    TxAccepted {
        /// The transaction.
        txid: Txid,
        /// Its fee.
        fee: Amount,
        /// Its size in bytes.
        size: usize,
        /// Its number in the pool's sequence (Core's `mempool_sequence`).
        mempool_sequence: u64,
    },
    /// A transaction left the mempool.
    TxRemoved {
        /// The transaction.
        txid: Txid,
        /// Why.
        reason: RemovalReason,
        /// Its number in the pool's sequence; confirmations take one too, as in Core.
        mempool_sequence: u64,
    },
    /// A peer finished the handshake.
    PeerConnected {
        /// The node's id for it.
        id: u64,
        /// Its address.
        addr: SocketAddr,
        /// Whether it connected to us.
        inbound: bool,
    },
    /// A connection ended.
    PeerDisconnected {
        /// The node's id for it.
        id: u64,
        /// Its address.
        addr: SocketAddr,
    },
    /// A peer's address was banned for misbehaving.
    PeerBanned {
        /// The peer's address.
        addr: SocketAddr,
        /// What it did.
        reason: String,
    },
    /// Continuous mining started or stopped.
    MinerStatus {
        /// Whether it is on.
        mining: bool,
        /// Threads searching.
        threads: u64,
    },
}

/// The sending side of the stream, shared by every service that reports events.
#[derive(Debug, Clone)]
pub struct EventBus {
    tx: broadcast::Sender<Event>,
}

impl Default for EventBus {
    fn default() -> Self {
        EventBus::new()
    }
}

impl EventBus {
    /// A stream buffering [`EVENT_BUFFER`] events per consumer.
    pub fn new() -> EventBus {
        EventBus {
            tx: broadcast::channel(EVENT_BUFFER).0,
        }
    }

    /// Publishes `event` to every current subscriber; never blocks.
    pub fn publish(&self, event: Event) {
        // No subscriber is not an error: nobody is listening yet.
        let _ = self.tx.send(event);
    }

    /// A new consumer, seeing every event published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.tx.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_buffer_is_bounded_in_bytes() {
        // Every event is a fixed small size (only `PeerBanned`'s reason is on the heap, and
        // it is one line): the whole buffer stays under a megabyte whatever the blocks.
        assert!(
            std::mem::size_of::<Event>() <= 128,
            "{}",
            std::mem::size_of::<Event>()
        );
        assert!(EVENT_BUFFER * std::mem::size_of::<Event>() < 1 << 20);
    }

    #[test]
    fn a_lagging_consumer_is_told_how_many_it_missed() {
        let bus = EventBus::new();
        let mut rx = bus.subscribe();
        for i in 0..EVENT_BUFFER as u64 + 10 {
            bus.publish(Event::MinerStatus {
                mining: true,
                threads: i,
            });
        }
        assert_eq!(
            rx.try_recv(),
            Err(broadcast::error::TryRecvError::Lagged(10))
        );
        assert_eq!(
            rx.try_recv(),
            Ok(Event::MinerStatus {
                mining: true,
                threads: 10
            })
        );
    }
}
