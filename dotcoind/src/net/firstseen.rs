//! First-seen records: for each header, block and transaction, when this node first saw
//! it, from which peer, and when it finished validating it — what `getblockpropagation`,
//! `gettxpropagation` and `listpropagation` answer, and what the network lab
//! (`contrib/lab`) gathers from every node to measure how a block spread. Each first
//! sighting is also published on the event stream (`first_seen`, docs/events.md).
//!
//! Bounded: the last [`MAX_BLOCKS`] blocks (header and block share one record) and
//! [`MAX_TXS`] transactions, the oldest record dropped first, so a peer flooding
//! announcements costs a fixed amount of memory. Times are Unix milliseconds from the
//! system clock, so records of nodes on one machine compare directly.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use dotcoin_common::{BlockHash, Txid};
use serde::Serialize;
use tokio::sync::{broadcast, watch};

use super::PeerId;
use crate::state::{Event, EventBus, SeenItem};
use crate::util::unix_millis;

/// Most block records kept.
pub const MAX_BLOCKS: usize = 20_000;
/// Most transaction records kept.
pub const MAX_TXS: usize = 50_000;

/// The peer something came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SeenFrom {
    /// Its id, as `getpeerinfo` shows it.
    pub peer: PeerId,
    /// Its address (for an outbound connection, the address we dialled).
    pub addr: String,
    /// Where it accepts connections, when known: the address we dialled, or its IP with
    /// the port its `version` gave.
    pub listen: Option<String>,
    /// `addr`, for the event stream.
    #[serde(skip)]
    pub socket: SocketAddr,
}

/// When a block was first seen, and from whom.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BlockRecord {
    /// Its header, first received (Unix ms; `None`: never as a header alone).
    pub header_ms: Option<u64>,
    /// The peer that sent the header first.
    pub header_from: Option<SeenFrom>,
    /// Its full block, first received from a peer (Unix ms).
    pub block_ms: Option<u64>,
    /// The peer that sent the block first.
    pub block_from: Option<SeenFrom>,
    /// Its data passed the context-free checks and was stored (Unix ms).
    pub stored_ms: Option<u64>,
    /// It was fully validated and joined the active chain (Unix ms).
    pub connected_ms: Option<u64>,
}

impl BlockRecord {
    /// `"peer"` when a peer brought the block or its header, `"local"` otherwise (mined
    /// here, or `submitblock`).
    pub fn source(&self) -> &'static str {
        if self.header_from.is_some() || self.block_from.is_some() {
            "peer"
        } else {
            "local"
        }
    }
}

/// When a transaction was first seen, and from whom.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TxRecord {
    /// First received from a peer (Unix ms).
    pub seen_ms: Option<u64>,
    /// That peer.
    pub from: Option<SeenFrom>,
    /// It entered the mempool (Unix ms).
    pub accepted_ms: Option<u64>,
}

/// A map that keeps its newest `cap` entries.
#[derive(Debug)]
struct Ring<K, V> {
    cap: usize,
    map: HashMap<K, V>,
    order: VecDeque<K>,
}

impl<K: Hash + Eq + Copy, V: Default> Ring<K, V> {
    fn new(cap: usize) -> Self {
        Ring {
            cap,
            map: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    fn entry(&mut self, key: K) -> &mut V {
        if !self.map.contains_key(&key) {
            if self.order.len() >= self.cap {
                if let Some(old) = self.order.pop_front() {
                    self.map.remove(&old);
                }
            }
            self.order.push_back(key);
        }
        self.map.entry(key).or_default()
    }
}

/// Per-peer counts of items this node saw first from that peer (`getpeerinfo`).
#[derive(Debug, Clone, Copy, Default)]
pub struct FirstCounts {
    /// Blocks (or their headers) first seen from the peer.
    pub blocks: u64,
    /// Transactions first seen from the peer.
    pub txs: u64,
}

/// Most peers whose first-seen counts are kept (ids are never reused; the oldest go).
const MAX_COUNTED_PEERS: usize = 4096;

/// The store.
#[derive(Debug)]
pub struct FirstSeen {
    inner: Mutex<Inner>,
    /// Where each first sighting is published as [`Event::FirstSeen`], if anywhere.
    events: Option<EventBus>,
}

#[derive(Debug)]
struct Inner {
    blocks: Ring<BlockHash, BlockRecord>,
    txs: Ring<Txid, TxRecord>,
    counts: Ring<PeerId, FirstCounts>,
}

impl Default for FirstSeen {
    fn default() -> Self {
        FirstSeen::with_capacity(MAX_BLOCKS, MAX_TXS)
    }
}

impl FirstSeen {
    /// A store keeping `blocks` block and `txs` transaction records.
    pub fn with_capacity(blocks: usize, txs: usize) -> FirstSeen {
        FirstSeen {
            inner: Mutex::new(Inner {
                blocks: Ring::new(blocks.max(1)),
                txs: Ring::new(txs.max(1)),
                counts: Ring::new(MAX_COUNTED_PEERS),
            }),
            events: None,
        }
    }

    /// The store, publishing every first sighting on `events`.
    pub fn publishing_to(self, events: EventBus) -> FirstSeen {
        FirstSeen {
            events: Some(events),
            ..self
        }
    }

    /// Publishes first sightings (after the store's lock is released: publishing never
    /// waits, but the lock is held no longer than the records need).
    fn publish(&self, items: impl IntoIterator<Item = SeenItem>, from: &SeenFrom, time_ms: u64) {
        if let Some(bus) = &self.events {
            for item in items {
                bus.publish(Event::FirstSeen {
                    item,
                    peer: from.peer,
                    addr: from.socket,
                    time_ms,
                });
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Headers arrived from `from`.
    pub fn headers(&self, hashes: impl IntoIterator<Item = BlockHash>, from: &SeenFrom) {
        let now = unix_millis();
        let mut firsts = Vec::new();
        {
            let mut inner = self.lock();
            for hash in hashes {
                let r = inner.blocks.entry(hash);
                if r.header_ms.is_none() && r.block_ms.is_none() && r.stored_ms.is_none() {
                    r.header_ms = Some(now);
                    r.header_from = Some(from.clone());
                    firsts.push(SeenItem::Header(hash));
                }
            }
            if !firsts.is_empty() {
                inner.counts.entry(from.peer).blocks += firsts.len() as u64;
            }
        }
        self.publish(firsts, from, now);
    }

    /// A full block arrived from `from`.
    pub fn block(&self, hash: BlockHash, from: &SeenFrom) {
        let now = unix_millis();
        {
            let mut inner = self.lock();
            let r = inner.blocks.entry(hash);
            if r.block_ms.is_some() || r.stored_ms.is_some() {
                return;
            }
            let first = r.header_ms.is_none();
            r.block_ms = Some(now);
            r.block_from = Some(from.clone());
            if first {
                inner.counts.entry(from.peer).blocks += 1;
            }
        }
        self.publish([SeenItem::Block(hash)], from, now);
    }

    /// A transaction arrived from `from`.
    pub fn tx(&self, txid: Txid, from: &SeenFrom) {
        let now = unix_millis();
        {
            let mut inner = self.lock();
            let r = inner.txs.entry(txid);
            if r.seen_ms.is_some() || r.accepted_ms.is_some() {
                return;
            }
            r.seen_ms = Some(now);
            r.from = Some(from.clone());
            inner.counts.entry(from.peer).txs += 1;
        }
        self.publish([SeenItem::Tx(txid)], from, now);
    }

    /// Notes what the node's event stream says: a block stored or connected, a
    /// transaction accepted. Returns the block record when `event` completed a block's
    /// first validation (its first `connected`), for the event stream and `/metrics`.
    pub fn on_event(&self, event: &Event) -> Option<(BlockHash, BlockRecord)> {
        let now = unix_millis();
        let mut inner = self.lock();
        match event {
            Event::BlockStored { hash, .. } => {
                inner.blocks.entry(*hash).stored_ms.get_or_insert(now);
                None
            }
            Event::BlockConnected(facts) => {
                let r = inner.blocks.entry(facts.hash);
                r.stored_ms.get_or_insert(now);
                if r.connected_ms.is_some() {
                    return None;
                }
                r.connected_ms = Some(now);
                Some((facts.hash, r.clone()))
            }
            Event::TxAccepted { txid, .. } => {
                inner.txs.entry(*txid).accepted_ms.get_or_insert(now);
                None
            }
            _ => None,
        }
    }

    /// The record of block `hash`, if kept.
    pub fn block_record(&self, hash: &BlockHash) -> Option<BlockRecord> {
        self.lock().blocks.map.get(hash).cloned()
    }

    /// The record of transaction `txid`, if kept.
    pub fn tx_record(&self, txid: &Txid) -> Option<TxRecord> {
        self.lock().txs.map.get(txid).cloned()
    }

    /// Every block record, oldest first.
    pub fn block_records(&self) -> Vec<(BlockHash, BlockRecord)> {
        let inner = self.lock();
        inner
            .blocks
            .order
            .iter()
            .filter_map(|h| inner.blocks.map.get(h).map(|r| (*h, r.clone())))
            .collect()
    }

    /// Every transaction record, oldest first.
    pub fn tx_records(&self) -> Vec<(Txid, TxRecord)> {
        let inner = self.lock();
        inner
            .txs
            .order
            .iter()
            .filter_map(|t| inner.txs.map.get(t).map(|r| (*t, r.clone())))
            .collect()
    }

    /// What this node saw first from peer `id`.
    pub fn counts(&self, id: PeerId) -> FirstCounts {
        self.lock().counts.map.get(&id).copied().unwrap_or_default()
    }
}

/// `from` for a peer at `addr` that accepts connections at `listen`.
pub fn seen_from(peer: PeerId, addr: SocketAddr, listen: Option<SocketAddr>) -> SeenFrom {
    SeenFrom {
        peer,
        addr: addr.to_string(),
        listen: listen.map(|l| l.to_string()),
        socket: addr,
    }
}

/// `from` for `peer`.
pub(super) fn from_peer(peer: &super::peer::Peer) -> SeenFrom {
    seen_from(peer.id, peer.addr, peer.listen_addr())
}

/// Feeds the node's events into `store` until shutdown.
pub(super) async fn track(
    store: Arc<FirstSeen>,
    mut events: broadcast::Receiver<Event>,
    mut shutdown: watch::Receiver<bool>,
) {
    // Registered now, so `/metrics` shows the series before the first block.
    crate::metrics::block_first_seen_histogram();
    loop {
        let event = tokio::select! {
            e = events.recv() => e,
            _ = shutdown.changed() => break,
        };
        match event {
            Ok(e) => {
                if let Some((_, record)) = store.on_event(&e) {
                    crate::metrics::observe_block_propagation(&record);
                }
            }
            // Missed events leave some records without their validation time; the next
            // ones are recorded as usual.
            Err(broadcast::error::RecvError::Lagged(_)) => {}
            Err(broadcast::error::RecvError::Closed) => break,
        }
    }
}

#[cfg(test)]
mod tests {
    use bitcoin_hashes::Hash as _;

    use super::*;

    fn hash(i: u8) -> BlockHash {
        BlockHash::from_byte_array([i; 32])
    }

    #[test]
    fn the_first_sighting_wins_and_the_store_is_bounded() {
        let store = FirstSeen::with_capacity(3, 3);
        let a = seen_from(1, "127.0.0.1:1000".parse().unwrap(), None);
        let b = seen_from(2, "127.0.0.1:2000".parse().unwrap(), None);
        store.headers([hash(1)], &a);
        store.headers([hash(1)], &b);
        store.block(hash(1), &b);
        let r = store.block_record(&hash(1)).unwrap();
        assert_eq!(r.header_from.as_ref().unwrap().peer, 1);
        assert_eq!(r.block_from.as_ref().unwrap().peer, 2);
        assert_eq!(r.source(), "peer");
        assert_eq!(store.counts(1).blocks, 1);
        assert_eq!(
            store.counts(2).blocks,
            0,
            "the block's header came from peer 1 first"
        );
        for i in 2..=4 {
            store.block(hash(i), &a);
        }
        assert!(
            store.block_record(&hash(1)).is_none(),
            "the oldest record goes first"
        );
        assert_eq!(store.block_records().len(), 3);
    }

    #[test]
    fn each_first_sighting_is_published_once_on_the_event_stream() {
        let bus = EventBus::new();
        let mut rx = bus.subscribe();
        let store = FirstSeen::with_capacity(10, 10).publishing_to(bus);
        let a = seen_from(1, "127.0.0.1:1000".parse().unwrap(), None);
        let b = seen_from(2, "127.0.0.1:2000".parse().unwrap(), None);
        let txid = Txid::from_byte_array([9; 32]);
        store.headers([hash(1), hash(2)], &a);
        store.headers([hash(2), hash(3)], &b);
        store.block(hash(1), &b);
        store.block(hash(1), &a);
        store.tx(txid, &b);
        store.tx(txid, &a);
        // A block already stored (mined here) is no sighting from a peer.
        store.on_event(&Event::BlockStored {
            hash: hash(4),
            height: 4,
        });
        store.headers([hash(4)], &a);
        store.block(hash(4), &a);
        let mut got = Vec::new();
        while let Ok(Event::FirstSeen {
            item,
            peer,
            addr,
            time_ms,
        }) = rx.try_recv()
        {
            assert!(time_ms > 1_600_000_000_000, "Unix ms: {time_ms}");
            assert_eq!(addr.port(), if peer == 1 { 1000 } else { 2000 });
            got.push((item, peer));
        }
        assert_eq!(
            got,
            vec![
                (SeenItem::Header(hash(1)), 1),
                (SeenItem::Header(hash(2)), 1),
                (SeenItem::Header(hash(3)), 2),
                (SeenItem::Block(hash(1)), 2),
                (SeenItem::Tx(txid), 2),
            ]
        );
        assert!(rx.try_recv().is_err(), "nothing more");
    }
}
