//! The coins cache: changes to the UTXO set (`utxo_by_outpoint` and its address index
//! `utxo_by_pubkey`, derived from the same coins) held in memory, and written to RocksDB in
//! slices when the cache outgrows its share of `--dbcache`, when a block connects an hour
//! or more after the last write ([`super::COINS_FLUSH_INTERVAL`]), or when the node stops
//! (Bitcoin Core's `CCoinsViewCache`).
//!
//! - **Fresh coins.** A coin created by the block being connected is *fresh*: nothing is
//!   stored for its outpoint below. Spending it before a flush removes the entry instead of
//!   leaving a deletion to write, so a coin created and spent between two flushes never
//!   reaches RocksDB (Core's `FRESH` flag).
//! - **Readers see it.** Every read of [`Store`](super::Store) of the two tables looks here
//!   first, under a read lock. A view ([`super::StoreView`]) shares the cache through an
//!   `Arc`. The cache is a stack of immutable layers (a block's changes each, merged with
//!   their neighbours as they pile up, as in a log-structured merge tree): the writer adds
//!   a layer rather than changing what a view holds, so a view costs nothing per block
//!   however large the cache, and a lookup visits O(log n) layers. A scan sorts the entries
//!   it matches and merges them with RocksDB's iterator; a scan of one address walks only
//!   that address's entries, through each layer's ordered index by key paid.
//! - **Where the UTXO set stands.** The block index, undo data and other indexes are written
//!   per block as before; the UTXO set on disk stands at the block recorded as `coins_tip`
//!   by the last flush. A node stopped without flushing replays the blocks between the two
//!   from their undo data at the next start (`ChainState::open`).

use dotcoin_common::consensus::Coin;
use dotcoin_common::encode::serialize;
use dotcoin_common::{OutPoint, PubKey};
use std::collections::BTreeSet;
use std::sync::Arc;

use super::{AddressCoin, DbKey, Table, UtxoByOutpoint, UtxoByPubkey};

/// One write to a RocksDB table: (table, encoded key, encoded value or `None` to delete).
pub(super) type Row = (&'static str, Vec<u8>, Option<Vec<u8>>);

/// A change to one coin, as a [`super::Batch`] records it.
#[derive(Debug, Clone, Copy)]
pub(super) enum CoinWrite {
    /// The outpoint holds `coin`. `fresh`: nothing is stored for it below.
    Create {
        /// The coin.
        coin: Coin,
        /// Nothing is stored for the outpoint, in the cache or below.
        fresh: bool,
    },
    /// The coin at the outpoint, paying `pubkey`, is spent.
    Spend {
        /// Whom it paid: its address-index entry goes with it.
        pubkey: PubKey,
    },
}

impl CoinWrite {
    /// The writes to both tables this change makes: (table, key, value or deletion).
    pub(super) fn rows(&self, op: &OutPoint) -> [Row; 2] {
        [self.row(op, false), self.row(op, true)]
    }

    /// The write this change makes to the UTXO set, or (`by_key`) to its address index.
    fn row(&self, op: &OutPoint, by_key: bool) -> Row {
        match (self, by_key) {
            (CoinWrite::Create { coin, .. }, false) => {
                (UtxoByOutpoint::NAME, op.to_key(), Some(serialize(coin)))
            }
            (CoinWrite::Create { coin, .. }, true) => (
                UtxoByPubkey::NAME,
                (coin.output.pubkey, *op).to_key(),
                Some(serialize(&AddressCoin::of(coin))),
            ),
            (CoinWrite::Spend { .. }, false) => (UtxoByOutpoint::NAME, op.to_key(), None),
            (CoinWrite::Spend { pubkey }, true) => {
                (UtxoByPubkey::NAME, (*pubkey, *op).to_key(), None)
            }
        }
    }
}

/// One cached coin.
#[derive(Debug, Clone, Copy)]
enum Slot {
    /// Unspent. `fresh`: nothing is stored for the outpoint below.
    Unspent { coin: Coin, fresh: bool },
    /// Spent; RocksDB may still hold it, paying `pubkey`.
    Spent { pubkey: PubKey },
}

impl Slot {
    /// The key the coin pays.
    fn pubkey(&self) -> PubKey {
        match self {
            Slot::Unspent { coin, .. } => coin.output.pubkey,
            Slot::Spent { pubkey } => *pubkey,
        }
    }
}

/// What one entry is counted as against the budget: the outpoint and the slot (96 bytes),
/// the map's control byte, and some of the slack of a map that is at most 7/8 full. The
/// allocation itself runs ahead of the count after each doubling: a full cache of 16 MiB
/// counted (131 072 coins) has a 262 144-slot table, about 25 MiB. Counting the allocation
/// instead, with the map kept within the budget, was measured slower on the busy-chain sync
/// (3 of 3 pairs, 7–19 %) and no smaller in resident memory after it.
const ENTRY_BYTES: usize = 128;

/// What a cached table says about one key.
pub(super) enum Cached {
    /// The key holds this encoded value.
    Value(Vec<u8>),
    /// The key holds nothing.
    Deleted,
}

/// A map by outpoint. Hashed with foldhash, seeded at random per process: a txid is
/// already a hash, and SipHash (std's default) made every lookup through the layers cost
/// about as much as reading the entry; the random seed keeps an attacker who grinds txids
/// from aiming at one bucket.
type CoinMap<V> = std::collections::HashMap<OutPoint, V, foldhash::fast::RandomState>;

/// One layer's word on an outpoint.
#[derive(Debug, Clone, Copy)]
enum Entry {
    /// The cache holds this slot.
    Slot(Slot),
    /// The cache holds nothing (a fresh coin was spent): older layers are out of date and
    /// RocksDB answers.
    Gone,
}

/// The changes of one block, or of several merged: immutable once shared.
#[derive(Debug, Clone, Default)]
struct Layer {
    coins: CoinMap<Entry>,
    /// Every slot of the layer by the key it pays, sorted: the address index's rows in
    /// order. Built once when the layer is made (a sort, or a linear merge of two sorted
    /// layers) rather than kept as a tree through every change: the tree's inserts and the
    /// copy of it a merge under a held view needs were a tenth of a busy-chain sync's CPU.
    by_key: Vec<(PubKey, OutPoint)>,
}

impl Layer {
    /// A layer of `coins`, its index built by sorting.
    fn new(coins: CoinMap<Entry>) -> Layer {
        let mut by_key: Vec<(PubKey, OutPoint)> = coins
            .iter()
            .filter_map(|(op, e)| match e {
                Entry::Slot(s) => Some((s.pubkey(), *op)),
                Entry::Gone => None,
            })
            .collect();
        by_key.sort_unstable();
        Layer { coins, by_key }
    }

    /// The outpoints of this layer's slots that pay `key`, in the index's order.
    fn paying(&self, key: &PubKey) -> impl Iterator<Item = OutPoint> + '_ {
        let key = *key;
        let start = self.by_key.partition_point(|(k, _)| *k < key);
        self.by_key[start..]
            .iter()
            .take_while(move |(k, _)| *k == key)
            .map(|(_, op)| *op)
    }
}

/// A newer layer is merged into the one below it once that one is at most this many times
/// its size: layers grow geometrically, so a change is copied O(log n) times in all and a
/// lookup visits O(log n) layers.
const MERGE_RATIO: usize = 2;

/// The coin changes not yet in RocksDB, and the block the UTXO set stands at with them.
///
/// Kept as a stack of immutable layers, oldest and largest first, each an `Arc` that the
/// published views share: a block's changes become one new layer, so the writer never
/// copies what a view holds (the persistent map this replaced copied a 32-entry node path
/// for every change of every block, as a view always held the previous version: a fifth
/// of the node's CPU during a busy-chain sync). Layers of like size are merged into new
/// ones as in a log-structured merge tree.
#[derive(Debug, Clone, Default)]
pub(super) struct Overlay {
    layers: Vec<Arc<Layer>>,
    /// Cached outpoints with a slot, as a merged view sees them.
    len: usize,
    /// The encoded `coins_tip` value the entries bring the UTXO set to; `None` when empty.
    pub(super) tip: Option<Vec<u8>>,
}

/// An outpoint's place among one key's address-index rows: its encoding (the txid's bytes,
/// then the output index little-endian), which orders RocksDB's keys, not `OutPoint`'s
/// `Ord` (the index as a number).
pub(super) fn stored_order(op: &OutPoint) -> ([u8; 32], [u8; 4]) {
    use bitcoin_hashes::Hash;
    (op.txid.to_byte_array(), op.vout.to_le_bytes())
}

/// Whether the cache holds writes of `table`.
pub(super) fn is_cached(table: &str) -> bool {
    table == UtxoByOutpoint::NAME || table == UtxoByPubkey::NAME
}

impl Overlay {
    /// Number of cached coins (unspent or spent, not counting older versions).
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// Estimated bytes the entries take: every layer's, older versions included.
    pub(super) fn bytes(&self) -> usize {
        self.layers.iter().map(|l| l.coins.len()).sum::<usize>() * ENTRY_BYTES
    }

    /// The newest word on `op`: `None` when no layer has one.
    fn entry(&self, op: &OutPoint) -> Option<Entry> {
        self.layers
            .iter()
            .rev()
            .find_map(|l| l.coins.get(op))
            .copied()
    }

    /// The cached slot of `op`, if any.
    fn slot(&self, op: &OutPoint) -> Option<Slot> {
        match self.entry(op)? {
            Entry::Slot(s) => Some(s),
            Entry::Gone => None,
        }
    }

    /// Every cached slot, each outpoint once at its newest.
    fn slots(&self) -> CoinMap<Slot> {
        let mut merged = CoinMap::with_capacity_and_hasher(self.len, Default::default());
        for layer in &self.layers {
            for (op, entry) in &layer.coins {
                match entry {
                    Entry::Slot(s) => merged.insert(*op, *s),
                    Entry::Gone => merged.remove(op),
                };
            }
        }
        merged
    }

    /// What the cache says about `key` of cached table `table`; `None` when it does not
    /// know (or the key does not decode, which RocksDB then answers).
    pub(super) fn get(&self, table: &str, key: &[u8]) -> Option<Cached> {
        if table == UtxoByOutpoint::NAME {
            let op = OutPoint::from_key(key).ok()?;
            return Some(match self.slot(&op)? {
                Slot::Unspent { coin, .. } => Cached::Value(serialize(&coin)),
                Slot::Spent { .. } => Cached::Deleted,
            });
        }
        let (pubkey, op) = <(PubKey, OutPoint)>::from_key(key).ok()?;
        Some(match self.slot(&op)? {
            Slot::Unspent { coin, .. } if coin.output.pubkey == pubkey => {
                Cached::Value(serialize(&AddressCoin::of(&coin)))
            }
            // An outpoint's coin is fixed by its txid: one paying another key is no
            // entry of this key.
            Slot::Unspent { .. } | Slot::Spent { .. } => Cached::Deleted,
        })
    }

    /// The cached rows of `table` whose key starts with `prefix`, in key order: the
    /// encoded key, and the encoded value or `None` for a deletion.
    pub(super) fn rows(&self, table: &str, prefix: &[u8]) -> Vec<(Vec<u8>, Option<Vec<u8>>)> {
        let index = usize::from(table == UtxoByPubkey::NAME);
        // An address-index key starts with the 32-byte key paid: with all of it in the
        // prefix, only that key's entries are visited, through each layer's ordered index.
        let entries: Vec<(OutPoint, Slot)> =
            match <[u8; 32]>::try_from(&prefix[..prefix.len().min(32)]) {
                Ok(paid) if index == 1 => {
                    let paid = PubKey(paid);
                    let ops: BTreeSet<OutPoint> =
                        self.layers.iter().flat_map(|l| l.paying(&paid)).collect();
                    ops.into_iter()
                        .filter_map(|op| Some((op, self.slot(&op)?)))
                        .collect()
                }
                _ => self.slots().into_iter().collect(),
            };
        let paid = &prefix[..prefix.len().min(32)];
        let mut rows: Vec<(Vec<u8>, Option<Vec<u8>>)> = entries
            .into_iter()
            .filter(|(_, slot)| index == 0 || slot.pubkey().0.starts_with(paid))
            .map(|(op, slot)| {
                let write = match slot {
                    Slot::Unspent { coin, .. } => CoinWrite::Create { coin, fresh: false },
                    Slot::Spent { pubkey } => CoinWrite::Spend { pubkey },
                };
                let (_, key, value) = write.row(&op, index == 1);
                (key, value)
            })
            .filter(|(key, _)| key.starts_with(prefix))
            .collect();
        rows.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        rows
    }

    /// `key`'s cached address-index entries in the stored key order ([`stored_order`]):
    /// each outpoint with its entry, or `None` where the cache deletes it. What
    /// [`Overlay::rows`] gives for one whole key, without encoding a row only for the
    /// reader to decode it again (a popular address has tens of thousands).
    pub(super) fn key_entries(&self, key: &PubKey) -> Vec<(OutPoint, Option<AddressCoin>)> {
        let mut ops: Vec<OutPoint> = self.layers.iter().flat_map(|l| l.paying(key)).collect();
        ops.sort_unstable_by_key(stored_order);
        // An outpoint changed in several layers is listed by each.
        ops.dedup();
        ops.into_iter()
            .filter_map(|op| {
                let entry = match self.slot(&op)? {
                    Slot::Unspent { coin, .. } if coin.output.pubkey == *key => {
                        Some(AddressCoin::of(&coin))
                    }
                    Slot::Unspent { .. } | Slot::Spent { .. } => None,
                };
                Some((op, entry))
            })
            .collect()
    }

    /// Every cached change, as writes to both tables.
    pub(super) fn writes(&self) -> impl Iterator<Item = Row> {
        self.slots().into_iter().flat_map(|(op, slot)| {
            let write = match slot {
                Slot::Unspent { coin, .. } => CoinWrite::Create { coin, fresh: false },
                Slot::Spent { pubkey } => CoinWrite::Spend { pubkey },
            };
            write.rows(&op)
        })
    }

    /// Applies one change.
    #[cfg(test)]
    pub(super) fn apply(&mut self, op: OutPoint, write: CoinWrite) {
        self.apply_all([(op, write)]);
    }

    /// Applies `changes` in order, as one new layer.
    pub(super) fn apply_all(&mut self, changes: impl IntoIterator<Item = (OutPoint, CoinWrite)>) {
        let mut coins = CoinMap::default();
        for (op, write) in changes {
            let old = match coins.get(&op) {
                Some(Entry::Slot(s)) => Some(*s),
                Some(Entry::Gone) => None,
                None => self.slot(&op),
            };
            let new = match (write, old) {
                // Re-created over a spend (a block disconnected and its coins restored):
                // the spent coin is still below, so this one is not fresh whatever the
                // caller knew.
                (CoinWrite::Create { coin, .. }, Some(Slot::Spent { .. })) => {
                    Some(Slot::Unspent { coin, fresh: false })
                }
                (CoinWrite::Create { coin, .. }, Some(Slot::Unspent { fresh, .. })) => {
                    Some(Slot::Unspent { coin, fresh })
                }
                (CoinWrite::Create { coin, fresh }, None) => Some(Slot::Unspent { coin, fresh }),
                // Created and spent between two flushes: nothing to write.
                (CoinWrite::Spend { .. }, Some(Slot::Unspent { fresh: true, .. })) => None,
                (CoinWrite::Spend { pubkey }, _) => Some(Slot::Spent { pubkey }),
            };
            match (old.is_some(), new.is_some()) {
                (false, true) => self.len += 1,
                (true, false) => self.len -= 1,
                _ => {}
            }
            match new {
                Some(slot) => coins.insert(op, Entry::Slot(slot)),
                // Nothing older to mask: no entry at all.
                None if self.entry(&op).is_none() => coins.remove(&op),
                None => coins.insert(op, Entry::Gone),
            };
        }
        if coins.is_empty() {
            return;
        }
        self.layers.push(Arc::new(Layer::new(coins)));
        self.merge();
    }

    /// Merges the newest layers while the one below is not much larger.
    fn merge(&mut self) {
        while let [.., below, top] = self.layers.as_slice() {
            if below.coins.len() > MERGE_RATIO * top.coins.len() {
                break;
            }
            let top = self.layers.pop().expect("two layers");
            let below = self.layers.pop().expect("two layers");
            let bottom = self.layers.is_empty();
            self.layers
                .push(Arc::new(merge_layers(below, &top, bottom)));
        }
    }
}

/// `top` laid over `below`; `bottom`: nothing lies under `below`, so a `Gone` masks
/// nothing and is dropped.
fn merge_layers(below: Arc<Layer>, top: &Layer, bottom: bool) -> Layer {
    // Copied unless no view holds it any more.
    let (mut coins, below_index) = match Arc::try_unwrap(below) {
        Ok(l) => (l.coins, Ok(l.by_key)),
        Err(shared) => (shared.coins.clone(), Err(shared)),
    };
    let below_index: &[(PubKey, OutPoint)] = match &below_index {
        Ok(v) => v,
        Err(shared) => &shared.by_key,
    };
    for (op, entry) in &top.coins {
        match entry {
            Entry::Gone if bottom => coins.remove(op),
            _ => coins.insert(*op, *entry),
        };
    }
    if bottom {
        coins.retain(|_, e| matches!(e, Entry::Slot(_)));
    }
    // The index: the rows of `below` whose outpoint `top` leaves alone, and all of `top`'s,
    // both sorted and disjoint, merged in one pass.
    let mut by_key = Vec::with_capacity(below_index.len() + top.by_key.len());
    let mut kept = below_index
        .iter()
        .filter(|(_, op)| !top.coins.contains_key(op))
        .peekable();
    let mut new = top.by_key.iter().peekable();
    loop {
        let next = match (kept.peek(), new.peek()) {
            (Some(a), Some(b)) if a <= b => kept.next(),
            (_, Some(_)) => new.next(),
            (Some(_), None) => kept.next(),
            (None, None) => break,
        };
        by_key.extend(next.copied());
    }
    Layer { coins, by_key }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin_hashes::Hash;
    use dotcoin_common::{Amount, TxOut, Txid};

    fn op(n: u8) -> OutPoint {
        OutPoint {
            txid: Txid::from_byte_array([n; 32]),
            vout: u32::from(n),
        }
    }

    fn coin(key: u8) -> Coin {
        Coin {
            output: TxOut {
                value: Amount::from_sat(5),
                pubkey: PubKey([key; 32]),
            },
            height: 3,
            is_coinbase: false,
        }
    }

    fn create(o: &mut Overlay, n: u8, fresh: bool) {
        o.apply(
            op(n),
            CoinWrite::Create {
                coin: coin(n),
                fresh,
            },
        );
    }

    fn spend(o: &mut Overlay, n: u8) {
        o.apply(
            op(n),
            CoinWrite::Spend {
                pubkey: PubKey([n; 32]),
            },
        );
    }

    fn state(o: &Overlay, n: u8) -> Option<bool> {
        match o.get(UtxoByOutpoint::NAME, &op(n).to_key())? {
            Cached::Value(v) => {
                assert_eq!(v, serialize(&coin(n)));
                Some(true)
            }
            Cached::Deleted => Some(false),
        }
    }

    #[test]
    fn fresh_coins_vanish_when_spent_and_others_leave_a_deletion() {
        let mut o = Overlay::default();
        create(&mut o, 1, true);
        create(&mut o, 2, false);
        spend(&mut o, 3);
        assert_eq!(o.len(), 3);
        assert_eq!(o.bytes(), 3 * ENTRY_BYTES);
        spend(&mut o, 1);
        spend(&mut o, 2);
        assert_eq!(state(&o, 1), None, "a fresh coin leaves nothing");
        assert_eq!(state(&o, 2), Some(false), "a stored one leaves a deletion");
        assert_eq!(state(&o, 3), Some(false));
        assert_eq!(o.len(), 2);

        // Restored over a spend, a coin is not fresh even if the caller says so: the
        // spent one is still below, and spending it again must be written.
        create(&mut o, 3, true);
        assert_eq!(state(&o, 3), Some(true));
        spend(&mut o, 3);
        assert_eq!(state(&o, 3), Some(false));
        assert_eq!(o.writes().count(), 4, "two deletions in each table");
    }

    #[test]
    fn the_address_index_follows_the_coins() {
        let mut o = Overlay::default();
        create(&mut o, 1, true);
        spend(&mut o, 2);
        let own = (PubKey([1; 32]), op(1)).to_key();
        let other = (PubKey([9; 32]), op(1)).to_key();
        assert!(matches!(
            o.get(UtxoByPubkey::NAME, &own),
            Some(Cached::Value(v)) if v == serialize(&AddressCoin::of(&coin(1)))
        ));
        assert!(matches!(
            o.get(UtxoByPubkey::NAME, &other),
            Some(Cached::Deleted)
        ));
        let rows = o.rows(UtxoByPubkey::NAME, &[1; 32]);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].0, own);
        assert_eq!(o.rows(UtxoByPubkey::NAME, &own[..40]).len(), 1);
        assert_eq!(o.rows(UtxoByPubkey::NAME, &other[..40]).len(), 0);
        assert_eq!(o.rows(UtxoByPubkey::NAME, &[1; 16]).len(), 1);
        let all = o.rows(UtxoByPubkey::NAME, &[]);
        assert_eq!(all.len(), 2);
        assert!(all[0].0 < all[1].0, "in key order");
        assert_eq!(all[1].1, None, "the spent coin's entry is a deletion");
        let by_outpoint = o.rows(UtxoByOutpoint::NAME, &[]);
        assert_eq!(by_outpoint.len(), 2);
        assert!(by_outpoint[0].0 < by_outpoint[1].0);
    }

    /// The old single-map cache, as the reference the layers must agree with.
    fn model_apply(m: &mut std::collections::HashMap<OutPoint, Slot>, op: OutPoint, w: CoinWrite) {
        let old = m.remove(&op);
        let new = match (w, old) {
            (CoinWrite::Create { coin, .. }, Some(Slot::Spent { .. })) => {
                Some(Slot::Unspent { coin, fresh: false })
            }
            (CoinWrite::Create { coin, .. }, Some(Slot::Unspent { fresh, .. })) => {
                Some(Slot::Unspent { coin, fresh })
            }
            (CoinWrite::Create { coin, fresh }, None) => Some(Slot::Unspent { coin, fresh }),
            (CoinWrite::Spend { .. }, Some(Slot::Unspent { fresh: true, .. })) => None,
            (CoinWrite::Spend { pubkey }, _) => Some(Slot::Spent { pubkey }),
        };
        if let Some(new) = new {
            m.insert(op, new);
        }
    }

    fn sorted_writes(o: &Overlay) -> Vec<Row> {
        let mut w: Vec<Row> = o.writes().collect();
        w.sort();
        w
    }

    #[test]
    fn layers_agree_with_one_map_and_a_kept_copy_never_changes() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let mut o = Overlay::default();
        let mut model = std::collections::HashMap::new();
        let mut kept: Option<(Overlay, Vec<Row>)> = None;
        for block in 0..400 {
            let changes: Vec<(OutPoint, CoinWrite)> = (0..1 + next(12))
                .map(|_| {
                    let n = next(60) as u8;
                    let write = match next(3) {
                        0 => CoinWrite::Create {
                            coin: coin(n),
                            fresh: next(2) == 0,
                        },
                        _ => CoinWrite::Spend {
                            pubkey: PubKey([n; 32]),
                        },
                    };
                    (op(n), write)
                })
                .collect();
            for (op, w) in &changes {
                model_apply(&mut model, *op, *w);
            }
            o.apply_all(changes);
            assert_eq!(o.len(), model.len(), "block {block}");
            for n in 0..60u8 {
                let want = model.get(&op(n)).map(|s| matches!(s, Slot::Unspent { .. }));
                assert_eq!(state(&o, n), want, "block {block}, coin {n}");
                let key = (PubKey([n; 32]), op(n)).to_key();
                let by_key = model
                    .get(&op(n))
                    .map(|s| match s {
                        Slot::Unspent { coin, .. } => Some(serialize(&AddressCoin::of(coin))),
                        Slot::Spent { .. } => None,
                    })
                    .map(|v| vec![(key, v)])
                    .unwrap_or_default();
                assert_eq!(
                    o.rows(UtxoByPubkey::NAME, &[n; 32]),
                    by_key,
                    "block {block}"
                );
            }
            for (i, layer) in o.layers.iter().enumerate() {
                assert_eq!(
                    layer.by_key,
                    Layer::new(layer.coins.clone()).by_key,
                    "block {block}, layer {i}: the index is its slots, sorted"
                );
            }
            assert!(
                o.layers.len() <= 2 + 2 * (usize::BITS - o.bytes().leading_zeros()) as usize,
                "{} layers for {} entries",
                o.layers.len(),
                o.bytes() / ENTRY_BYTES
            );
            if block == 50 {
                kept = Some((o.clone(), sorted_writes(&o)));
            }
        }
        let mut want: Vec<Row> = model
            .iter()
            .flat_map(|(op, slot)| {
                let w = match *slot {
                    Slot::Unspent { coin, .. } => CoinWrite::Create { coin, fresh: false },
                    Slot::Spent { pubkey } => CoinWrite::Spend { pubkey },
                };
                w.rows(op)
            })
            .collect();
        want.sort();
        assert_eq!(sorted_writes(&o), want);
        let (kept, then) = kept.expect("kept at block 50");
        assert_eq!(sorted_writes(&kept), then, "a view's copy is never changed");
    }
}
