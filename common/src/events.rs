//! The event schema: how the node's events look on every wire that carries them — the
//! WebSocket subscriptions on the RPC port, the dashboard's server-sent events, plugin
//! notifications and the JSON document `--blocknotify`/`--txnotify` commands read on stdin.
//!
//! One [`WireEvent`] per event, tagged with its type name in `"type"`; hashes are
//! Core-style hex strings; every amount is an integer number of satoshis in a field ending
//! in `_sat` (1 DOT = 100 000 000 sat), never a float. The node builds these in one place
//! from its internal event stream, and Rust clients and tests decode them with this same
//! type. `docs/events.md` describes every field and which transport carries which event.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use crate::hashes::{BlockHash, Txid};

/// Every event type name, as it appears in `"type"` (and as the SSE event name and the
/// plugin notification topic).
pub const EVENT_TYPES: [&str; 11] = [
    "block_stored",
    "block_connected",
    "block_disconnected",
    "tip_changed",
    "tx_accepted",
    "tx_removed",
    "peer_connected",
    "peer_disconnected",
    "peer_banned",
    "miner_status",
    "first_seen",
];

/// Where a reorganisation forked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reorg {
    /// Blocks of the old chain that left the active chain.
    pub depth: u32,
    /// Last block common to the old and new chains.
    pub fork_point: BlockHash,
    /// Its height.
    pub fork_height: u32,
}

/// Why a transaction left the mempool (Bitcoin Core's `MemPoolRemovalReason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RemovalReason {
    /// It was included in a connected block.
    Confirmed,
    /// A connected block spent one of its inputs (or an ancestor's).
    Conflict,
    /// The pool was full and it paid the lowest fee rate.
    Evicted,
    /// It stayed longer than the expiry time.
    Expired,
    /// After a reorganisation it no longer fits the new chain.
    Reorg,
    /// A conflicting transaction replaced it (or an ancestor) under the replacement rules
    /// (Bitcoin Core's `REPLACED`); the event's `by` names the replacement.
    Replaced,
}

impl RemovalReason {
    /// Its name in events and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            RemovalReason::Confirmed => "confirmed",
            RemovalReason::Conflict => "conflict",
            RemovalReason::Evicted => "evicted",
            RemovalReason::Expired => "expired",
            RemovalReason::Reorg => "reorg",
            RemovalReason::Replaced => "replaced",
        }
    }
}

/// What a block-level event says about its block; the same for a block joining and
/// leaving the active chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockSummary {
    /// The block.
    pub hash: BlockHash,
    /// Its height.
    pub height: u32,
    /// Its header time (Unix seconds).
    pub time: u32,
    /// Its transactions, coinbase included.
    pub tx_count: u64,
    /// Its serialized size in bytes.
    pub size: u64,
    /// What its non-coinbase transactions pay to their outputs, in sat (Core's
    /// `getblockstats` `total_out`): a block holding one payment has that payment's
    /// `value_out_sat`.
    pub value_out_sat: u64,
    /// What its non-coinbase transactions pay in fees, in sat.
    pub fees_sat: u64,
}

/// One event, as every transport carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum WireEvent {
    /// A block's data passed its context-free checks and was stored (on any branch).
    BlockStored {
        /// The block.
        hash: BlockHash,
        /// Its height.
        height: u32,
    },
    /// A block joined the active chain.
    BlockConnected(BlockSummary),
    /// A block left the active chain (a reorganisation or `invalidateblock`).
    BlockDisconnected(BlockSummary),
    /// The active tip moved; sent after the block events that moved it.
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
        /// Its fee, in sat.
        fee_sat: u64,
        /// What it pays to its outputs, in sat.
        value_out_sat: u64,
        /// Its serialized size in bytes.
        size: u64,
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
        /// The replacement, when `reason` is `replaced`; absent otherwise, so consumers of
        /// the earlier schema read every other removal unchanged.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        by: Option<Txid>,
    },
    /// A peer finished the handshake.
    PeerConnected {
        /// The node's id for it.
        id: u64,
        /// Its address, `ip:port`.
        addr: SocketAddr,
        /// Whether it connected to us.
        inbound: bool,
    },
    /// A connection ended.
    PeerDisconnected {
        /// The node's id for it.
        id: u64,
        /// Its address, `ip:port`.
        addr: SocketAddr,
    },
    /// A peer's address was banned for misbehaving.
    PeerBanned {
        /// The peer's address, `ip:port`.
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
    /// The node saw a header, block or transaction for the first time, from a peer (what
    /// `getblockpropagation` / `gettxpropagation` record).
    FirstSeen(FirstSighting),
}

/// What a first sighting was of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SeenKind {
    /// A block's header (in `headers`, or a `cmpctblock`).
    Header,
    /// A whole block (a `block`, or one rebuilt from a `cmpctblock`).
    Block,
    /// A transaction.
    Tx,
}

/// A `first_seen` event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirstSighting {
    /// Header, block or transaction.
    pub kind: SeenKind,
    /// The block's hash or the txid, hex as Core shows it.
    pub hash: bitcoin_hashes::sha256d::Hash,
    /// The node's id for the peer it came from.
    pub peer: u64,
    /// That peer's address, `ip:port`.
    pub addr: SocketAddr,
    /// When it arrived, Unix milliseconds (the propagation records' unit).
    pub time_ms: u64,
}

impl FirstSighting {
    /// The block hash, for a header or block.
    pub fn block_hash(&self) -> Option<BlockHash> {
        (self.kind != SeenKind::Tx).then(|| BlockHash::from_raw_hash(self.hash))
    }

    /// The txid, for a transaction.
    pub fn txid(&self) -> Option<Txid> {
        (self.kind == SeenKind::Tx).then(|| Txid::from_raw_hash(self.hash))
    }
}

impl WireEvent {
    /// The type name, as in `"type"` (one of [`EVENT_TYPES`]).
    pub fn type_name(&self) -> &'static str {
        match self {
            WireEvent::BlockStored { .. } => "block_stored",
            WireEvent::BlockConnected(_) => "block_connected",
            WireEvent::BlockDisconnected(_) => "block_disconnected",
            WireEvent::TipChanged { .. } => "tip_changed",
            WireEvent::TxAccepted { .. } => "tx_accepted",
            WireEvent::TxRemoved { .. } => "tx_removed",
            WireEvent::PeerConnected { .. } => "peer_connected",
            WireEvent::PeerDisconnected { .. } => "peer_disconnected",
            WireEvent::PeerBanned { .. } => "peer_banned",
            WireEvent::MinerStatus { .. } => "miner_status",
            WireEvent::FirstSeen(_) => "first_seen",
        }
    }

    /// The event as a JSON object, `"type"` first among its fields.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("an event has string keys and no float")
    }
}

/// One item of a WebSocket subscription: the event, and `seq`, the subscription's own
/// count of items from 0.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionItem {
    /// The event, its fields at the top level.
    #[serde(flatten)]
    pub event: WireEvent,
    /// The item's number in its subscription.
    pub seq: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin_hashes::Hash;

    fn one_of_each() -> Vec<WireEvent> {
        let hash = BlockHash::from_byte_array([7; 32]);
        let txid = Txid::from_byte_array([9; 32]);
        let addr: SocketAddr = "127.0.0.1:18633".parse().expect("addr");
        let block = BlockSummary {
            hash,
            height: 3,
            time: 1_700_000_000,
            tx_count: 2,
            size: 400,
            value_out_sat: 4_999_990_000,
            fees_sat: 10_000,
        };
        vec![
            WireEvent::BlockStored { hash, height: 3 },
            WireEvent::BlockConnected(block),
            WireEvent::BlockDisconnected(block),
            WireEvent::TipChanged {
                hash,
                height: 3,
                previous: BlockHash::from_byte_array([1; 32]),
                reorg: Some(Reorg {
                    depth: 1,
                    fork_point: BlockHash::from_byte_array([2; 32]),
                    fork_height: 1,
                }),
            },
            WireEvent::TxAccepted {
                txid,
                fee_sat: 382,
                value_out_sat: 9_000_000_000,
                size: 191,
                mempool_sequence: 1,
            },
            WireEvent::TxRemoved {
                txid,
                reason: RemovalReason::Confirmed,
                mempool_sequence: 2,
                by: None,
            },
            WireEvent::PeerConnected {
                id: 4,
                addr,
                inbound: true,
            },
            WireEvent::PeerDisconnected { id: 4, addr },
            WireEvent::PeerBanned {
                addr,
                reason: "invalid block".into(),
            },
            WireEvent::MinerStatus {
                mining: true,
                threads: 2,
            },
            WireEvent::FirstSeen(FirstSighting {
                kind: SeenKind::Header,
                hash: hash.to_raw_hash(),
                peer: 4,
                addr,
                time_ms: 1_700_000_000_123,
            }),
        ]
    }

    #[test]
    fn every_event_is_tagged_with_its_type_and_decodes_back() {
        let events = one_of_each();
        assert_eq!(
            events.iter().map(WireEvent::type_name).collect::<Vec<_>>(),
            EVENT_TYPES,
            "one example per type, in EVENT_TYPES order"
        );
        for e in events {
            let json = e.to_json();
            assert_eq!(json["type"], e.type_name(), "{json}");
            let back: WireEvent = serde_json::from_value(json.clone()).expect("decodes");
            assert_eq!(back, e, "{json}");
        }
    }

    #[test]
    fn hashes_are_hex_and_amounts_are_integer_sats() {
        let txid = Txid::from_byte_array([9; 32]);
        let json = WireEvent::TxAccepted {
            txid,
            fee_sat: 382,
            value_out_sat: 9_000_000_000,
            size: 191,
            mempool_sequence: 1,
        }
        .to_json();
        assert_eq!(json["txid"], txid.to_string());
        assert_eq!(json["txid"].as_str().map(str::len), Some(64));
        // The float a DOT amount would be (3.82e-06) is exactly what the schema rules out.
        assert!(
            json["fee_sat"].is_u64() && json["value_out_sat"].is_u64(),
            "{json}"
        );
        for e in one_of_each() {
            for (k, v) in e.to_json().as_object().expect("object") {
                assert!(!v.is_f64(), "{k} is a float in {e:?}");
            }
        }
    }

    #[test]
    fn a_removal_reason_serializes_as_its_name() {
        for r in [
            RemovalReason::Confirmed,
            RemovalReason::Conflict,
            RemovalReason::Evicted,
            RemovalReason::Expired,
            RemovalReason::Reorg,
            RemovalReason::Replaced,
        ] {
            assert_eq!(serde_json::to_value(r).expect("serializes"), r.as_str());
        }
    }

    #[test]
    fn a_replacement_names_its_replacer_and_other_removals_stay_as_before() {
        let txid = Txid::from_byte_array([9; 32]);
        let by = Txid::from_byte_array([3; 32]);
        let replaced = WireEvent::TxRemoved {
            txid,
            reason: RemovalReason::Replaced,
            mempool_sequence: 5,
            by: Some(by),
        };
        let json = replaced.to_json();
        assert_eq!(json["reason"], "replaced", "{json}");
        assert_eq!(json["by"], by.to_string(), "{json}");
        let back: WireEvent = serde_json::from_value(json).expect("decodes");
        assert_eq!(back, replaced);
        // A removal of any other kind carries no `by`, and one written before the field
        // existed still decodes.
        let old = serde_json::json!({
            "type": "tx_removed", "txid": txid.to_string(), "reason": "expired",
            "mempool_sequence": 2
        });
        let decoded: WireEvent = serde_json::from_value(old.clone()).expect("old form decodes");
        assert_eq!(decoded.to_json(), old);
    }

    #[test]
    fn a_first_sighting_names_its_kind_and_shows_hashes_as_core_does() {
        let txid = Txid::from_byte_array([9; 32]);
        let e = WireEvent::FirstSeen(FirstSighting {
            kind: SeenKind::Tx,
            hash: txid.to_raw_hash(),
            peer: 2,
            addr: "127.0.0.1:18444".parse().expect("addr"),
            time_ms: 1_700_000_000_123,
        });
        assert_eq!(
            e.to_json(),
            serde_json::json!({"type": "first_seen", "kind": "tx", "hash": txid.to_string(),
                               "peer": 2, "addr": "127.0.0.1:18444", "time_ms": 1_700_000_000_123u64})
        );
        let WireEvent::FirstSeen(s) = e else {
            unreachable!()
        };
        assert_eq!((s.txid(), s.block_hash()), (Some(txid), None));
        let b = FirstSighting {
            kind: SeenKind::Block,
            ..s
        };
        assert_eq!(
            b.block_hash().map(|h| h.to_raw_hash()),
            Some(txid.to_raw_hash())
        );
    }
}
