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
//!
//! [`Event`] is the node's own form; whatever leaves the process (WebSocket, SSE, plugins,
//! notify commands) is its [`WireEvent`], made by [`Event::to_wire`] and nowhere else, so
//! every transport carries the same fields in the same units (`docs/events.md`).

use std::net::SocketAddr;

use dotcoin_common::events::{BlockSummary, FirstSighting, SeenKind, WireEvent};
use dotcoin_common::{Amount, BlockHash, Txid};
use tokio::sync::broadcast;

pub use dotcoin_common::events::{RemovalReason, Reorg};

/// Events a consumer may fall behind by before it is told it lagged.
pub const EVENT_BUFFER: usize = 4096;

/// A block joining or leaving the active chain, as the events report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockFacts {
    /// The block (its transactions are in the store).
    pub hash: BlockHash,
    /// Its height.
    pub height: u32,
    /// Its header time.
    pub time: u32,
    /// Its number of transactions, coinbase included.
    pub tx_count: usize,
    /// Its serialized size in bytes.
    pub size: usize,
    /// What its non-coinbase transactions pay to their outputs.
    pub value_out: Amount,
    /// What its non-coinbase transactions pay in fees.
    pub fees: Amount,
}

impl BlockFacts {
    fn to_wire(self) -> BlockSummary {
        BlockSummary {
            hash: self.hash,
            height: self.height,
            time: self.time,
            tx_count: self.tx_count as u64,
            size: self.size as u64,
            value_out_sat: self.value_out.to_sat(),
            fees_sat: self.fees.to_sat(),
        }
    }
}

/// Something that happened in the node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A block's data passed its context-free checks and was stored (on any branch).
    BlockStored {
        /// The block.
        hash: BlockHash,
        /// Its height.
        height: u32,
    },
    /// A block joined the active chain.
    BlockConnected(BlockFacts),
    /// A block left the active chain (a reorganisation or `invalidateblock`).
    BlockDisconnected(BlockFacts),
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
        /// What it pays to its outputs.
        value_out: Amount,
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
        /// The transaction that replaced it, for [`RemovalReason::Replaced`].
        replaced_by: Option<Txid>,
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
    /// A header, block or transaction seen for the first time, from a peer
    /// (`crate::net::firstseen`).
    FirstSeen {
        /// What was seen.
        item: SeenItem,
        /// The node's id for the peer.
        peer: u64,
        /// Its address.
        addr: SocketAddr,
        /// When, Unix milliseconds.
        time_ms: u64,
    },
}

/// What a [`Event::FirstSeen`] saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeenItem {
    /// A block's header.
    Header(BlockHash),
    /// A whole block.
    Block(BlockHash),
    /// A transaction.
    Tx(Txid),
}

impl Event {
    /// The event as every transport outside the process carries it.
    pub fn to_wire(&self) -> WireEvent {
        match self.clone() {
            Event::BlockStored { hash, height } => WireEvent::BlockStored { hash, height },
            Event::BlockConnected(b) => WireEvent::BlockConnected(b.to_wire()),
            Event::BlockDisconnected(b) => WireEvent::BlockDisconnected(b.to_wire()),
            Event::TipChanged {
                hash,
                height,
                previous,
                reorg,
            } => WireEvent::TipChanged {
                hash,
                height,
                previous,
                reorg,
            },
            Event::TxAccepted {
                txid,
                fee,
                value_out,
                size,
                mempool_sequence,
            } => WireEvent::TxAccepted {
                txid,
                fee_sat: fee.to_sat(),
                value_out_sat: value_out.to_sat(),
                size: size as u64,
                mempool_sequence,
            },
            Event::TxRemoved {
                txid,
                reason,
                mempool_sequence,
                replaced_by,
            } => WireEvent::TxRemoved {
                txid,
                reason,
                mempool_sequence,
                by: replaced_by,
            },
            Event::PeerConnected { id, addr, inbound } => {
                WireEvent::PeerConnected { id, addr, inbound }
            }
            Event::PeerDisconnected { id, addr } => WireEvent::PeerDisconnected { id, addr },
            Event::PeerBanned { addr, reason } => WireEvent::PeerBanned { addr, reason },
            Event::MinerStatus { mining, threads } => WireEvent::MinerStatus { mining, threads },
            Event::FirstSeen {
                item,
                peer,
                addr,
                time_ms,
            } => {
                let (kind, hash) = match item {
                    SeenItem::Header(h) => (SeenKind::Header, h.to_raw_hash()),
                    SeenItem::Block(h) => (SeenKind::Block, h.to_raw_hash()),
                    SeenItem::Tx(t) => (SeenKind::Tx, t.to_raw_hash()),
                };
                WireEvent::FirstSeen(FirstSighting {
                    kind,
                    hash,
                    peer,
                    addr,
                    time_ms,
                })
            }
        }
    }
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
    fn the_wire_form_carries_satoshis_and_hex() {
        use bitcoin_hashes::Hash;
        let txid = Txid::from_byte_array([3; 32]);
        let e = Event::TxAccepted {
            txid,
            fee: Amount::from_sat(382),
            value_out: Amount::from_sat(4_999_999_618),
            size: 191,
            mempool_sequence: 7,
        };
        assert_eq!(
            e.to_wire().to_json(),
            serde_json::json!({
                "type": "tx_accepted",
                "txid": txid.to_string(),
                "fee_sat": 382,
                "value_out_sat": 4_999_999_618u64,
                "size": 191,
                "mempool_sequence": 7,
            })
        );
        let hash = BlockHash::from_byte_array([4; 32]);
        let facts = BlockFacts {
            hash,
            height: 102,
            time: 1_765_110_000,
            tx_count: 2,
            size: 451,
            value_out: Amount::from_sat(4_999_999_618),
            fees: Amount::from_sat(382),
        };
        let wire = Event::BlockDisconnected(facts).to_wire();
        assert_eq!(
            wire,
            WireEvent::BlockDisconnected(BlockSummary {
                hash,
                height: 102,
                time: 1_765_110_000,
                tx_count: 2,
                size: 451,
                value_out_sat: 4_999_999_618,
                fees_sat: 382,
            })
        );
        assert_eq!(wire.to_json()["type"], "block_disconnected");
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
