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
//!   `Arc`. The maps are persistent (`imbl`): when the writer changes a cache a view still
//!   holds, the clone is O(1) and each change copies only the path it touches, so a view
//!   costs nothing per block however large the cache. A scan sorts the entries it matches
//!   and merges them with RocksDB's iterator; a scan of one address walks only that
//!   address's entries, through an ordered index by key paid.
//! - **Where the UTXO set stands.** The block index, undo data and other indexes are written
//!   per block as before; the UTXO set on disk stands at the block recorded as `coins_tip`
//!   by the last flush. A node stopped without flushing replays the blocks between the two
//!   from their undo data at the next start (`ChainState::open`).

use dotcoin_common::consensus::Coin;
use dotcoin_common::encode::serialize;
use dotcoin_common::{OutPoint, PubKey};
use imbl::{HashMap, OrdSet};

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

/// The coin changes not yet in RocksDB, and the block the UTXO set stands at with them.
#[derive(Debug, Clone, Default)]
pub(super) struct Overlay {
    coins: HashMap<OutPoint, Slot>,
    /// Every cached outpoint by the key its slot pays: the address index's rows in order.
    by_key: OrdSet<(PubKey, OutPoint)>,
    /// The encoded `coins_tip` value the entries bring the UTXO set to; `None` when empty.
    pub(super) tip: Option<Vec<u8>>,
}

/// The least (`0`) or greatest (`0xff`) outpoint, to bound a range of the index.
fn outpoint_bound(byte: u8) -> OutPoint {
    use bitcoin_hashes::Hash;
    OutPoint {
        txid: dotcoin_common::Txid::from_byte_array([byte; 32]),
        vout: if byte == 0 { 0 } else { u32::MAX },
    }
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
    /// Number of cached coins.
    pub(super) fn len(&self) -> usize {
        self.coins.len()
    }

    /// Estimated bytes the entries take.
    pub(super) fn bytes(&self) -> usize {
        self.coins.len() * ENTRY_BYTES
    }

    /// What the cache says about `key` of cached table `table`; `None` when it does not
    /// know (or the key does not decode, which RocksDB then answers).
    pub(super) fn get(&self, table: &str, key: &[u8]) -> Option<Cached> {
        if table == UtxoByOutpoint::NAME {
            let op = OutPoint::from_key(key).ok()?;
            return Some(match self.coins.get(&op)? {
                Slot::Unspent { coin, .. } => Cached::Value(serialize(coin)),
                Slot::Spent { .. } => Cached::Deleted,
            });
        }
        let (pubkey, op) = <(PubKey, OutPoint)>::from_key(key).ok()?;
        Some(match self.coins.get(&op)? {
            Slot::Unspent { coin, .. } if coin.output.pubkey == pubkey => {
                Cached::Value(serialize(&AddressCoin::of(coin)))
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
        // prefix, only that key's entries are visited, through the ordered index.
        let of_one_key: Vec<(OutPoint, Slot)>;
        let entries: Box<dyn Iterator<Item = (&OutPoint, &Slot)> + '_> =
            match <[u8; 32]>::try_from(&prefix[..prefix.len().min(32)]) {
                Ok(paid) if index == 1 => {
                    let paid = PubKey(paid);
                    of_one_key = self
                        .by_key
                        .range((paid, outpoint_bound(0))..=(paid, outpoint_bound(0xff)))
                        .filter_map(|(_, op)| Some((*op, *self.coins.get(op)?)))
                        .collect();
                    Box::new(of_one_key.iter().map(|(op, slot)| (op, slot)))
                }
                _ => Box::new(self.coins.iter()),
            };
        let paid = &prefix[..prefix.len().min(32)];
        let mut rows: Vec<(Vec<u8>, Option<Vec<u8>>)> = entries
            .filter(|(_, slot)| index == 0 || slot.pubkey().0.starts_with(paid))
            .map(|(op, slot)| {
                let write = match *slot {
                    Slot::Unspent { coin, .. } => CoinWrite::Create { coin, fresh: false },
                    Slot::Spent { pubkey } => CoinWrite::Spend { pubkey },
                };
                let (_, key, value) = write.row(op, index == 1);
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
        let mut entries: Vec<(OutPoint, Option<AddressCoin>)> = self
            .by_key
            .range((*key, outpoint_bound(0))..=(*key, outpoint_bound(0xff)))
            .filter_map(|(_, op)| {
                let entry = match self.coins.get(op)? {
                    Slot::Unspent { coin, .. } if coin.output.pubkey == *key => {
                        Some(AddressCoin::of(coin))
                    }
                    Slot::Unspent { .. } | Slot::Spent { .. } => None,
                };
                Some((*op, entry))
            })
            .collect();
        entries.sort_unstable_by_key(|(op, _)| stored_order(op));
        entries
    }

    /// Every cached change, as writes to both tables.
    pub(super) fn writes(&self) -> impl Iterator<Item = Row> + '_ {
        self.coins.iter().flat_map(|(op, slot)| {
            let write = match *slot {
                Slot::Unspent { coin, .. } => CoinWrite::Create { coin, fresh: false },
                Slot::Spent { pubkey } => CoinWrite::Spend { pubkey },
            };
            write.rows(op)
        })
    }

    /// Applies one change.
    pub(super) fn apply(&mut self, op: OutPoint, write: CoinWrite) {
        let old = self.coins.remove(&op);
        if let Some(old) = old {
            self.by_key.remove(&(old.pubkey(), op));
        }
        let new = match (write, old) {
            // Re-created over a spend (a block disconnected and its coins restored): the
            // spent coin is still below, so this one is not fresh whatever the caller knew.
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
        if let Some(new) = new {
            self.by_key.insert((new.pubkey(), op));
            self.coins.insert(op, new);
        }
    }
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
}
