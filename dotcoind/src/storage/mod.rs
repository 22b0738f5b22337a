//! RocksDB storage: the column families, their typed keys and values, and the atomic
//! batch every state change goes through.
//!
//! Column families are named `value_by_key` and listed once in [`TABLES`]. Values use the
//! consensus encoding from `dotcoin-common`. A schema version and the network magic are
//! written when a datadir is created and checked at every open, so a datadir of another
//! network or an unknown format is refused with a clear error instead of misread. A
//! datadir of the previous format (1, whose address index held no amounts) is upgraded in
//! place at open: the two address-index tables are rewritten from the UTXO set and the
//! stored blocks and undo data, and the version is bumped only once all of it is written,
//! so an upgrade cut short is simply done again.

mod coins;
mod tables;

pub use tables::*;

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::{Duration, Instant};

use coins::{is_cached, Cached, CoinWrite, Overlay};
use dotcoin_common::consensus::Coin;
use dotcoin_common::{OutPoint, PubKey};

use dotcoin_common::encode::{deserialize, serialize, DecodeError};
use dotcoin_common::Network;
use rocksdb::{ColumnFamilyDescriptor, Direction, IteratorMode, Options, WriteBatch, DB};
use thiserror::Error;

/// Bumped with every change of the on-disk format. 2: the address index's values hold
/// amounts ([`AddressCoin`], [`AddressTx`]); 1 held nothing there.
pub const SCHEMA_VERSION: u32 = 2;

/// The format [`Store::open`] upgrades from by reindexing the address index.
const SCHEMA_WITHOUT_AMOUNTS: u32 = 1;

/// Why the store failed.
#[derive(Debug, Error)]
pub enum StoreError {
    /// RocksDB reported an error (I/O, corruption, a full disk).
    #[error("database error: {0}")]
    Rocks(#[from] rocksdb::Error),
    /// Stored bytes did not decode: the database is corrupt.
    #[error("corrupt database entry in {table}: {source}")]
    Corrupt {
        /// Column family.
        table: &'static str,
        /// What failed to decode.
        source: DecodeError,
    },
    /// The datadir was written by another format version.
    #[error("database schema version {found} is not supported (this dotcoind uses {expected}); use a fresh -datadir")]
    SchemaVersion {
        /// Version on disk.
        found: u32,
        /// Version of this build.
        expected: u32,
    },
    /// The datadir belongs to another network.
    #[error("database belongs to network {found}, not {expected}")]
    WrongNetwork {
        /// Network on disk.
        found: String,
        /// Network requested.
        expected: Network,
    },
}

/// Decodes a stored value of table `T`.
fn decode_value<T: Table>(bytes: &[u8]) -> Result<T::Value, StoreError> {
    deserialize(bytes).map_err(|source| StoreError::Corrupt {
        table: T::NAME,
        source,
    })
}

/// Decodes a stored row (key and value) of table `T`.
fn decode_row<T: Table>(k: &[u8], v: &[u8]) -> Result<(T::Key, T::Value), StoreError> {
    let key = T::Key::from_key(k).map_err(|source| StoreError::Corrupt {
        table: T::NAME,
        source,
    })?;
    Ok((key, decode_value::<T>(v)?))
}

/// The node's database.
pub struct Store {
    db: DB,
    /// The UTXO writes not yet in RocksDB (see [`coins`]). Replaced or changed only by a
    /// writer holding `writer`; readers clone the `Arc` and read without the lock.
    coins: RwLock<Arc<Overlay>>,
    /// Bytes the coins cache may hold before it is flushed.
    coins_budget: usize,
    /// The longest the coins cache goes unflushed while blocks connect.
    flush_interval: Duration,
    /// Serialises the writers: [`Store::commit`], [`Store::commit_cached`] and flushes.
    /// Holds when the coins cache was last flushed (or the store opened).
    writer: Mutex<Instant>,
}

/// Takes `m`, whose data stays consistent even if a holder panicked: every writer either
/// replaces the cache whole or fails before touching it.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.db.path())
            .finish()
    }
}

/// One pending write: table, key, and the value (`None` deletes).
type PendingWrite = (&'static str, Vec<u8>, Option<Vec<u8>>);

/// Decoded rows of table `T`, in key order.
pub type Rows<T> = Vec<(<T as Table>::Key, <T as Table>::Value)>;

/// A set of writes applied atomically by [`Store::commit`]. Dropping it discards them.
#[must_use = "a batch does nothing until it is committed"]
#[derive(Default)]
pub struct Batch {
    pending: Vec<PendingWrite>,
    /// Changes to the UTXO set, in order: the coins cache may hold them.
    coins: Vec<(OutPoint, CoinWrite)>,
    /// The encoded `coins_tip` this batch brings the UTXO set to, if it changes it.
    coins_tip: Option<Vec<u8>>,
}

impl std::fmt::Debug for Batch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batch")
            .field("writes", &self.pending.len())
            .finish()
    }
}

impl Batch {
    /// Writes `value` at `key` in table `T`.
    pub fn put<T: Table>(&mut self, key: &T::Key, value: &T::Value) {
        self.pending
            .push((T::NAME, key.to_key(), Some(serialize(value))));
    }

    /// Deletes `key` from table `T`.
    pub fn delete<T: Table>(&mut self, key: &T::Key) {
        self.pending.push((T::NAME, key.to_key(), None));
    }

    /// Adds `coin` to the UTXO set at `op`, with its address-index entry. `new`: the
    /// caller knows no coin is stored at `op` (an output of the transaction being
    /// connected), so the coins cache can forget it outright when it is spent before
    /// reaching the disk.
    pub fn create_coin(&mut self, op: OutPoint, coin: Coin, new: bool) {
        self.coins
            .push((op, CoinWrite::Create { coin, fresh: new }));
    }

    /// Removes the coin at `op`, which pays `pubkey`, from the UTXO set and the address
    /// index.
    pub fn spend_coin(&mut self, op: OutPoint, pubkey: PubKey) {
        self.coins.push((op, CoinWrite::Spend { pubkey }));
    }

    /// Records that this batch brings the UTXO set to block `tip`: [`Store::commit`] writes
    /// it as the coins tip with the batch.
    pub fn set_coins_tip(&mut self, tip: &dotcoin_common::BlockHash) {
        self.coins_tip = Some(serialize(&serialize(tip)));
    }

    /// Number of writes in the batch (a coin change writes two).
    pub fn len(&self) -> usize {
        self.pending.len() + 2 * self.coins.len()
    }

    /// Whether the batch is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Rows per RocksDB write when the coins cache is flushed.
const FLUSH_SLICE: usize = 16_384;

/// The longest the coins cache goes unflushed while blocks connect, as Bitcoin Core writes
/// its chainstate about hourly: on a quiet chain the cache may take days to fill, and
/// everything in it is replayed from undo data after a crash.
pub const COINS_FLUSH_INTERVAL: Duration = Duration::from_secs(60 * 60);

/// The default `--dbcache`: 32 MiB.
pub const DEFAULT_DB_CACHE_BYTES: usize = 32 << 20;

/// Values of the block and undo tables from this size on live in blob files.
const BLOB_MIN_BYTES: u64 = 1024;

/// How many writes and bytes the coins cache holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CoinsCacheUsage {
    /// Cached writes (creations and deletions, both tables).
    pub entries: usize,
    /// Their estimated memory.
    pub bytes: usize,
}

impl Store {
    /// Opens (creating if needed) the database at `path` for `network`, with the default
    /// cache.
    pub fn open(path: &Path, network: Network) -> Result<Store, StoreError> {
        Store::open_with_cache(path, network, DEFAULT_DB_CACHE_BYTES)
    }

    /// [`Store::open`] with a cache budget of `cache_bytes`: half for the coins cache, a
    /// quarter for one block cache all tables share, a quarter for their write buffers.
    pub fn open_with_cache(
        path: &Path,
        network: Network,
        cache_bytes: usize,
    ) -> Result<Store, StoreError> {
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        // Bounded memory: a learning node should not take gigabytes.
        opts.set_max_open_files(256);
        // Left at RocksDB's defaults, each of the nine tables had its own 32 MB block cache
        // and two 64 MB memtables: a fresh node grew to 165 MiB resident over a sync. One
        // budget for all of them bounds that; the write buffer manager flushes the largest
        // memtable when the total reaches its half.
        opts.set_db_write_buffer_size(cache_bytes / 4);
        let block_cache = rocksdb::Cache::new_lru_cache(cache_bytes / 4);
        let mut table = rocksdb::BlockBasedOptions::default();
        table.set_block_cache(&block_cache);
        // Point reads dominate (UTXO lookups, index entries): a bloom filter per table file
        // spares the reads of files that do not hold the key.
        table.set_bloom_filter(10.0, false);
        let cf_opts = || {
            let mut o = Options::default();
            o.set_block_based_table_factory(&table);
            o.set_write_buffer_size((cache_bytes / 16).clamp(1 << 20, 64 << 20));
            o
        };
        let cfs = TABLES.iter().map(|name| {
            let mut o = cf_opts();
            if *name == BlockByHash::NAME || *name == UndoByHash::NAME {
                // Blocks and undo data are written once and read by key: kept in blob
                // files, they are not rewritten by every compaction of their table's keys
                // (BlobDB; a sync spent a fifth of its non-signature CPU compacting).
                o.set_enable_blob_files(true);
                o.set_min_blob_size(BLOB_MIN_BYTES);
            }
            ColumnFamilyDescriptor::new(*name, o)
        });
        let db = DB::open_cf_descriptors(&opts, path, cfs)?;
        let store = Store {
            db,
            coins: RwLock::default(),
            coins_budget: cache_bytes / 2,
            flush_interval: COINS_FLUSH_INTERVAL,
            writer: Mutex::new(Instant::now()),
        };
        store.check_or_init_meta(network)?;
        Ok(store)
    }

    fn check_or_init_meta(&self, network: Network) -> Result<(), StoreError> {
        match self.get::<Meta>(&MetaKey::SchemaVersion)? {
            None => {
                let mut batch = Batch::default();
                batch.put::<Meta>(
                    &MetaKey::SchemaVersion,
                    &SCHEMA_VERSION.to_le_bytes().to_vec(),
                );
                batch.put::<Meta>(&MetaKey::Network, &network.name().as_bytes().to_vec());
                self.commit(batch)
            }
            Some(v) => {
                let found = v
                    .as_slice()
                    .try_into()
                    .map(u32::from_le_bytes)
                    .map_err(|_| StoreError::Corrupt {
                        table: Meta::NAME,
                        source: DecodeError::InvalidValue("schema version is not 4 bytes"),
                    })?;
                if found != SCHEMA_VERSION && found != SCHEMA_WITHOUT_AMOUNTS {
                    return Err(StoreError::SchemaVersion {
                        found,
                        expected: SCHEMA_VERSION,
                    });
                }
                let stored = self.get::<Meta>(&MetaKey::Network)?.unwrap_or_default();
                let stored = String::from_utf8_lossy(&stored).into_owned();
                if stored != network.name() {
                    return Err(StoreError::WrongNetwork {
                        found: stored,
                        expected: network,
                    });
                }
                if found == SCHEMA_WITHOUT_AMOUNTS {
                    self.reindex_address_index()?;
                }
                Ok(())
            }
        }
    }

    /// Upgrades a datadir of format 1: rewrites both address-index tables with their
    /// amounts, then records [`SCHEMA_VERSION`]. Runs at open, before anything reads or
    /// writes (the coins cache is empty); each step overwrites rows with the values they
    /// have at the stored tip, so a run cut short by a crash is repeated whole at the next
    /// open.
    fn reindex_address_index(&self) -> Result<(), StoreError> {
        let started = Instant::now();
        tracing::info!(target: "chain", "upgrading the database to schema version {SCHEMA_VERSION}: reindexing the address index with amounts (once)");
        let mut wb = WriteBatch::default();
        let write_full = |wb: &mut WriteBatch| -> Result<(), StoreError> {
            if wb.len() >= FLUSH_SLICE {
                self.db.write(std::mem::take(wb))?;
            }
            Ok(())
        };
        // Unspent outputs: the UTXO set on disk (at the coins tip) gives every row's value.
        let mut utxos = 0u64;
        let by_key = self.cf(UtxoByPubkey::NAME);
        for item in self
            .db
            .iterator_cf(self.cf(UtxoByOutpoint::NAME), IteratorMode::Start)
        {
            let (k, v) = item?;
            let (op, coin) = decode_row::<UtxoByOutpoint>(&k, &v)?;
            wb.put_cf(
                by_key,
                (coin.output.pubkey, op).to_key(),
                serialize(&AddressCoin::of(&coin)),
            );
            utxos += 1;
            write_full(&mut wb)?;
        }
        self.db.write(std::mem::take(&mut wb))?;
        // History: every block of the active chain with the coins it spent.
        let corrupt = |table, what| StoreError::Corrupt {
            table,
            source: DecodeError::InvalidValue(what),
        };
        let (mut blocks, mut history) = (0u64, 0u64);
        let history_cf = self.cf(TxidByPubkey::NAME);
        for item in self
            .db
            .iterator_cf(self.cf(HashByHeight::NAME), IteratorMode::Start)
        {
            let (k, v) = item?;
            let (height, hash) = decode_row::<HashByHeight>(&k, &v)?;
            let block = self.get::<BlockByHash>(&hash)?.ok_or(corrupt(
                BlockByHash::NAME,
                "an active block's data is missing",
            ))?;
            // The genesis block spends nothing and may have no undo record.
            let undo = self.get::<UndoByHash>(&hash)?.unwrap_or_default();
            let mut spent = undo.spent.iter().map(|s| s.coin);
            for tx in &block.txdata {
                let coins: Vec<Coin> = match tx.is_coinbase() {
                    true => Vec::new(),
                    false => spent.by_ref().take(tx.inputs.len()).collect(),
                };
                if coins.len() != tx.inputs.len() && !tx.is_coinbase() {
                    return Err(corrupt(
                        UndoByHash::NAME,
                        "undo data shorter than its block",
                    ));
                }
                let txid = tx.txid();
                for (key, did) in AddressTx::of_transaction(tx, &coins) {
                    wb.put_cf(history_cf, (key, height, txid).to_key(), serialize(&did));
                    history += 1;
                }
                write_full(&mut wb)?;
            }
            blocks += 1;
        }
        self.db.write(std::mem::take(&mut wb))?;
        // Rows still holding the old empty value belong to nothing the tip holds (a flush
        // cut short can leave one); they would not decode.
        let mut dropped = 0u64;
        for table in [UtxoByPubkey::NAME, TxidByPubkey::NAME] {
            let cf = self.cf(table);
            for item in self.db.iterator_cf(cf, IteratorMode::Start) {
                let (k, v) = item?;
                if v.is_empty() {
                    wb.delete_cf(cf, k);
                    dropped += 1;
                    write_full(&mut wb)?;
                }
            }
        }
        wb.put_cf(
            self.cf(Meta::NAME),
            MetaKey::SchemaVersion.to_key(),
            serialize(&SCHEMA_VERSION.to_le_bytes().to_vec()),
        );
        self.db.write(wb)?;
        tracing::info!(target: "chain", utxos, blocks, history, dropped,
            ms = started.elapsed().as_millis() as u64, "address index reindexed");
        Ok(())
    }

    fn cf(&self, name: &'static str) -> &rocksdb::ColumnFamily {
        self.db
            .cf_handle(name)
            .expect("every table in TABLES is opened with the database")
    }

    /// The coins cache as of now, to keep. A point read looks into it under the lock
    /// instead ([`Store::read_coins`]), which spares the reference count.
    fn overlay(&self) -> Arc<Overlay> {
        self.read_coins().clone()
    }

    fn read_coins(&self) -> std::sync::RwLockReadGuard<'_, Arc<Overlay>> {
        self.coins
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Reads the encoded value of `key` in `T`, the coins cache first.
    fn get_raw<T: Table>(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        if is_cached(T::NAME) {
            match self.read_coins().get(T::NAME, key) {
                Some(Cached::Value(v)) => return Ok(Some(v)),
                Some(Cached::Deleted) => return Ok(None),
                None => {}
            }
        }
        Ok(self
            .db
            .get_pinned_cf(self.cf(T::NAME), key)?
            .map(|v| v.to_vec()))
    }

    /// Reads `key` from table `T`.
    pub fn get<T: Table>(&self, key: &T::Key) -> Result<Option<T::Value>, StoreError> {
        match self.get_raw::<T>(&key.to_key())? {
            None => Ok(None),
            Some(bytes) => decode_value::<T>(&bytes).map(Some),
        }
    }

    /// Reads every key of `keys` from table `T` in one batched lookup (RocksDB's
    /// `MultiGet`: sorted keys share the memtable and block searches), after the coins
    /// cache. The answers are in the order of `keys`.
    pub fn multi_get<T: Table>(
        &self,
        keys: &[T::Key],
    ) -> Result<Vec<Option<T::Value>>, StoreError> {
        let mut out: Vec<Option<T::Value>> = (0..keys.len()).map(|_| None).collect();
        let mut encoded: Vec<(Vec<u8>, usize)> = Vec::with_capacity(keys.len());
        {
            let coins = self.read_coins();
            let cached = is_cached(T::NAME);
            for (i, k) in keys.iter().enumerate() {
                let k = k.to_key();
                match cached.then(|| coins.get(T::NAME, &k)).flatten() {
                    Some(Cached::Value(v)) => out[i] = Some(decode_value::<T>(&v)?),
                    Some(Cached::Deleted) => {}
                    None => encoded.push((k, i)),
                }
            }
        }
        // RocksDB's default comparator orders keys bytewise.
        encoded.sort_unstable();
        let found = self.db.batched_multi_get_cf(
            self.cf(T::NAME),
            encoded.iter().map(|(k, _)| k.as_slice()),
            true,
        );
        for ((_, i), value) in encoded.iter().zip(found) {
            if let Some(bytes) = value? {
                out[*i] = Some(decode_value::<T>(&bytes)?);
            }
        }
        Ok(out)
    }

    /// The block hash recorded under `key` of the meta table (the tip, the coins tip).
    pub fn meta_hash(&self, key: MetaKey) -> Result<Option<dotcoin_common::BlockHash>, StoreError> {
        self.get::<Meta>(&key)?
            .map(|bytes| {
                deserialize(&bytes).map_err(|source| StoreError::Corrupt {
                    table: Meta::NAME,
                    source,
                })
            })
            .transpose()
    }

    /// Whether `key` is present in table `T`.
    pub fn contains<T: Table>(&self, key: &T::Key) -> Result<bool, StoreError> {
        Ok(self.get_raw::<T>(&key.to_key())?.is_some())
    }

    /// Every entry of `T` whose key starts with `prefix`, in key order.
    pub fn scan_prefix<T: Table>(&self, prefix: &[u8]) -> Result<Rows<T>, StoreError> {
        let mut out = Vec::new();
        let (snap, coins) = {
            let coins = self.read_coins();
            (self.db.snapshot(), Arc::clone(&coins))
        };
        At {
            store: self,
            snap: &snap,
            coins: &coins,
        }
        .for_each::<T>(prefix, |key, value| out.push((key, value)))?;
        Ok(out)
    }

    /// Every entry of `T`.
    pub fn scan_all<T: Table>(&self) -> Result<Rows<T>, StoreError> {
        self.scan_prefix::<T>(&[])
    }

    /// A consistent read-only view of the whole database as of now, that owns what it
    /// reads from: the chain service publishes one with every snapshot of the tip, so a
    /// reader sees the rows of exactly that tip however many blocks connect meanwhile.
    /// Costs O(1): a RocksDB snapshot (a sequence number) and a share of the coins cache,
    /// which the writer only ever adds immutable layers to.
    pub fn view(self: &Arc<Store>) -> StoreView {
        // Taken together under the cache's lock, which `commit_cached` holds while it
        // writes a block's other tables and changes the cache: the two halves of a block
        // are both in the view or neither is.
        let coins = self.read_coins();
        StoreView {
            snap: OwnedSnapshot::new(Arc::clone(self), |store| store.db.snapshot()),
            coins: Arc::clone(&coins),
        }
    }

    /// Adds `writes` to `wb`.
    fn add_writes(&self, wb: &mut WriteBatch, writes: impl IntoIterator<Item = PendingWrite>) {
        for (table, key, value) in writes {
            let cf = self.cf(table);
            match value {
                Some(v) => wb.put_cf(cf, key, v),
                None => wb.delete_cf(cf, key),
            }
        }
    }

    /// Applies `batch` atomically and durably: all of it or, after a crash, none of it. A
    /// batch that writes the UTXO tables first flushes the coins cache, so that it lands
    /// on the UTXO set the cache has brought to its tip.
    pub fn commit(&self, batch: Batch) -> Result<(), StoreError> {
        let mut last_flush = lock(&self.writer);
        let touches_coins = batch.coins_tip.is_some()
            || !batch.coins.is_empty()
            || batch.pending.iter().any(|(t, ..)| is_cached(t));
        if touches_coins {
            self.flush_coins_locked(&mut last_flush)?;
        }
        let mut wb = WriteBatch::default();
        self.add_writes(&mut wb, batch.pending);
        self.add_writes(
            &mut wb,
            batch.coins.iter().flat_map(|(op, write)| write.rows(op)),
        );
        if let Some(tip) = batch.coins_tip {
            wb.put_cf(self.cf(Meta::NAME), MetaKey::CoinsTip.to_key(), tip);
        }
        self.db.write(wb)?;
        Ok(())
    }

    /// Applies `batch`, a block's connection that brings the UTXO set to `tip`: its writes
    /// to the UTXO tables go to the coins cache, the rest to RocksDB at once. The cache is
    /// flushed when it outgrows its budget. Readers see all of the batch or none of it; a
    /// crash may lose the cached part, which `ChainState::open` replays.
    pub fn commit_cached(
        &self,
        batch: Batch,
        tip: &dotcoin_common::BlockHash,
    ) -> Result<(), StoreError> {
        debug_assert!(
            !batch.pending.iter().any(|(t, ..)| is_cached(t)) && batch.coins_tip.is_none(),
            "UTXO writes go through create_coin and spend_coin, the tip through `tip`"
        );
        let mut last_flush = lock(&self.writer);
        let mut wb = WriteBatch::default();
        self.add_writes(&mut wb, batch.pending);
        let full = {
            let mut coins = self
                .coins
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            self.db.write(wb)?;
            // Changed in place unless a view holds it (the published chain snapshot always
            // does): then `make_mut` clones the list of layers, and the block's changes
            // become a new layer, while the view keeps the old list.
            let overlay = Arc::make_mut(&mut coins);
            overlay.apply_all(batch.coins);
            overlay.tip = Some(serialize(&serialize(tip)));
            overlay.bytes() > self.coins_budget
        };
        if full || last_flush.elapsed() >= self.flush_interval {
            self.flush_coins_locked(&mut last_flush)?;
        }
        Ok(())
    }

    /// Writes the coins cache to RocksDB with the block it brings the UTXO set to, and
    /// empties it.
    pub fn flush_coins(&self) -> Result<(), StoreError> {
        let mut last_flush = lock(&self.writer);
        self.flush_coins_locked(&mut last_flush)
    }

    /// Sets how long the coins cache may go unflushed while blocks connect (by default
    /// [`COINS_FLUSH_INTERVAL`]).
    pub fn set_coins_flush_interval(&mut self, interval: Duration) {
        self.flush_interval = interval;
    }

    fn flush_coins_locked(&self, last_flush: &mut Instant) -> Result<(), StoreError> {
        let started = Instant::now();
        *last_flush = started;
        let overlay = self.overlay();
        let Some(tip) = &overlay.tip else {
            return Ok(());
        };
        // In slices, so that the batch being built and the memtables it fills stay small.
        // A crash between two slices leaves some of the changes on disk with the old coins
        // tip; every change sets a key to its value at the new tip, so the replay from the
        // old tip ends at the same set.
        let mut writes = overlay.writes().peekable();
        while writes.peek().is_some() {
            let mut wb = WriteBatch::default();
            self.add_writes(&mut wb, writes.by_ref().take(FLUSH_SLICE));
            if writes.peek().is_none() {
                wb.put_cf(self.cf(Meta::NAME), MetaKey::CoinsTip.to_key(), tip);
            }
            self.db.write(wb)?;
        }
        if overlay.len() == 0 {
            let mut wb = WriteBatch::default();
            wb.put_cf(self.cf(Meta::NAME), MetaKey::CoinsTip.to_key(), tip);
            self.db.write(wb)?;
        }
        // Under `chain`, the category `--debug` and `logging` switch for the chain state.
        tracing::debug!(target: "chain", entries = overlay.len(), bytes = overlay.bytes(),
            ms = started.elapsed().as_millis() as u64, "flushed the coins cache");
        // Readers between the write and this see the same values in both places.
        *self
            .coins
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::default();
        Ok(())
    }

    /// How much the coins cache holds now.
    pub fn coins_cache_usage(&self) -> CoinsCacheUsage {
        let overlay = self.overlay();
        CoinsCacheUsage {
            entries: overlay.len(),
            bytes: overlay.bytes(),
        }
    }

    /// Bytes the database takes on disk: every file of its directory (tables, write-ahead
    /// log, manifests), as `du` would count them — not only the flushed tables, which
    /// leave out everything still in the log.
    pub fn size_on_disk(&self) -> u64 {
        std::fs::read_dir(self.db.path())
            .map(|dir| {
                dir.filter_map(Result::ok)
                    .filter_map(|e| e.metadata().ok())
                    .filter(std::fs::Metadata::is_file)
                    .map(|m| m.len())
                    .sum()
            })
            .unwrap_or(0)
    }

    /// Flushes the coins cache, then the memtables (at shutdown, so the next start reads
    /// SST files and replays nothing).
    pub fn flush(&self) -> Result<(), StoreError> {
        self.flush_coins()?;
        for t in TABLES {
            self.db.flush_cf(self.cf(t))?;
        }
        Ok(())
    }
}

type RocksSnapshot<'a> = rocksdb::Snapshot<'a>;

self_cell::self_cell!(
    /// A RocksDB snapshot together with the store it reads, so that it can be kept (in a
    /// published chain snapshot) rather than borrowed for one call.
    struct OwnedSnapshot {
        owner: Arc<Store>,
        #[covariant]
        dependent: RocksSnapshot,
    }
);

/// A point-in-time, read-only view of the [`Store`] that owns its handles: RocksDB as of
/// one sequence number and the coins cache as of the same moment. It has no way to write
/// and no way back to the live store, so a reader holding one cannot mix two moments.
pub struct StoreView {
    snap: OwnedSnapshot,
    coins: Arc<Overlay>,
}

impl std::fmt::Debug for StoreView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreView")
            .field("cached_coins", &self.coins.len())
            .finish_non_exhaustive()
    }
}

impl StoreView {
    fn at(&self) -> At<'_> {
        At {
            store: self.snap.borrow_owner(),
            snap: self.snap.borrow_dependent(),
            coins: &self.coins,
        }
    }

    /// Reads `key` from table `T` as of the view.
    pub fn get<T: Table>(&self, key: &T::Key) -> Result<Option<T::Value>, StoreError> {
        self.at().get::<T>(key)
    }

    /// Whether `key` is present in table `T` as of the view.
    pub fn contains<T: Table>(&self, key: &T::Key) -> Result<bool, StoreError> {
        Ok(self.at().get_raw::<T>(&key.to_key())?.is_some())
    }

    /// Calls `f` with every entry of `T` whose key starts with `prefix`, in key order,
    /// without collecting them: a scan of the whole UTXO set stays in constant memory
    /// (besides the coins cache, which it merges in).
    pub fn for_each<T: Table>(
        &self,
        prefix: &[u8],
        f: impl FnMut(T::Key, T::Value),
    ) -> Result<(), StoreError> {
        self.at().for_each::<T>(prefix, f)
    }

    /// Every entry of `T` whose key starts with `prefix`, in key order.
    pub fn scan_prefix<T: Table>(&self, prefix: &[u8]) -> Result<Rows<T>, StoreError> {
        let mut out = Vec::new();
        self.for_each::<T>(prefix, |key, value| out.push((key, value)))?;
        Ok(out)
    }

    /// Calls `f` with the entries of `T` whose key starts with `prefix`, in key order or
    /// (`reverse`) the opposite, starting past the key `after` (exclusive) when given,
    /// until `f` returns `false`: what a page of an index reads.
    pub fn walk<T: Table>(
        &self,
        prefix: &[u8],
        after: Option<&T::Key>,
        reverse: bool,
        f: impl FnMut(T::Key, T::Value) -> bool,
    ) -> Result<(), StoreError> {
        let after = after.map(DbKey::to_key);
        self.at().walk::<T>(prefix, after.as_deref(), reverse, f)
    }

    /// Calls `f` with `key`'s unspent outputs from the address index in key order until it
    /// returns `false`: what `walk::<UtxoByPubkey>` over the whole key gives, typed from
    /// the coins cache without a round trip through encoded rows (an Esplora `/utxo`
    /// answer reads every row of an address).
    pub fn address_coins(
        &self,
        key: &PubKey,
        f: impl FnMut(OutPoint, AddressCoin) -> bool,
    ) -> Result<(), StoreError> {
        self.at().address_coins(key, f)
    }

    /// Bytes the database takes on disk now (not a figure of the view's moment).
    pub fn size_on_disk(&self) -> u64 {
        self.snap.borrow_owner().size_on_disk()
    }
}

/// Reads as of one RocksDB snapshot and one coins cache: what a kept [`StoreView`] and a
/// one-off scan of the live store share.
struct At<'a> {
    store: &'a Store,
    snap: &'a rocksdb::Snapshot<'a>,
    coins: &'a Overlay,
}

impl At<'_> {
    fn get_raw<T: Table>(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        if is_cached(T::NAME) {
            match self.coins.get(T::NAME, key) {
                Some(Cached::Value(v)) => return Ok(Some(v)),
                Some(Cached::Deleted) => return Ok(None),
                None => {}
            }
        }
        Ok(self.snap.get_cf(self.store.cf(T::NAME), key)?)
    }

    fn get<T: Table>(&self, key: &T::Key) -> Result<Option<T::Value>, StoreError> {
        match self.get_raw::<T>(&key.to_key())? {
            None => Ok(None),
            Some(bytes) => decode_value::<T>(&bytes).map(Some),
        }
    }

    fn for_each<T: Table>(
        &self,
        prefix: &[u8],
        mut f: impl FnMut(T::Key, T::Value),
    ) -> Result<(), StoreError> {
        self.walk::<T>(prefix, None, false, |k, v| {
            f(k, v);
            true
        })
    }

    fn address_coins(
        &self,
        key: &PubKey,
        mut f: impl FnMut(OutPoint, AddressCoin) -> bool,
    ) -> Result<(), StoreError> {
        let mut cached = self.coins.key_entries(key).into_iter().peekable();
        let mode = IteratorMode::From(&key.0, Direction::Forward);
        for item in self
            .snap
            .iterator_cf(self.store.cf(UtxoByPubkey::NAME), mode)
        {
            let (k, v) = item?;
            if !k.starts_with(&key.0) {
                break;
            }
            let ((_, op), coin) = decode_row::<UtxoByPubkey>(&k, &v)?;
            let order = coins::stored_order(&op);
            // Cached entries up to this one first; for this one, the cache's write wins.
            let mut shadowed = false;
            while let Some((cached_op, entry)) =
                cached.next_if(|(c, _)| coins::stored_order(c) <= order)
            {
                shadowed |= cached_op == op;
                if let Some(entry) = entry {
                    if !f(cached_op, entry) {
                        return Ok(());
                    }
                }
            }
            if !shadowed && !f(op, coin) {
                return Ok(());
            }
        }
        for (cached_op, entry) in cached {
            if let Some(entry) = entry {
                if !f(cached_op, entry) {
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// Calls `f` with the entries of `T` whose key starts with `prefix`, in key order
    /// (`reverse`: from the greatest), from the first one past the encoded key `after` in
    /// that direction, until `f` returns `false`: a page costs what it reads, not the
    /// whole prefix (besides the coins cache's entries of the prefix, which it merges in).
    fn walk<T: Table>(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        reverse: bool,
        mut f: impl FnMut(T::Key, T::Value) -> bool,
    ) -> Result<(), StoreError> {
        // Past the cursor in the walk's direction.
        let past = |k: &[u8]| match after {
            None => true,
            Some(a) if reverse => k < a,
            Some(a) => k > a,
        };
        let mut rows = match is_cached(T::NAME) {
            true => self.coins.rows(T::NAME, prefix),
            false => Vec::new(),
        };
        rows.retain(|(k, _)| past(k));
        if reverse {
            rows.reverse();
        }
        let mut cached = rows.into_iter().peekable();
        // Whether cached key `a` comes no later than stored key `b` in the walk.
        let not_after = |a: &[u8], b: &[u8]| if reverse { a >= b } else { a <= b };
        let mut emit = |key: &[u8], value: &[u8]| -> Result<bool, StoreError> {
            let (key, value) = decode_row::<T>(key, value)?;
            Ok(f(key, value))
        };
        let successor = prefix_successor(prefix);
        // A cursor outside the prefix's range only narrows it to nothing or to all of it.
        let mode = match (reverse, after) {
            (false, Some(a)) if a > prefix => IteratorMode::From(a, Direction::Forward),
            (false, _) => IteratorMode::From(prefix, Direction::Forward),
            (true, Some(a)) if successor.as_deref().is_none_or(|s| a < s) => {
                IteratorMode::From(a, Direction::Reverse)
            }
            (true, _) => match &successor {
                Some(s) => IteratorMode::From(s, Direction::Reverse),
                None => IteratorMode::End,
            },
        };
        for item in self.snap.iterator_cf(self.store.cf(T::NAME), mode) {
            let (k, v) = item?;
            if !k.starts_with(prefix) {
                // A reverse seek lands on the key it was given when present: the
                // prefix's successor, above the range. Anything else is past the end.
                if reverse && successor.as_deref() == Some(&*k) {
                    continue;
                }
                break;
            }
            if !past(&k) {
                // The cursor itself, where the seek landed.
                continue;
            }
            // Cached keys up to this one first; for this one, the cache's write wins.
            let mut shadowed = false;
            while let Some((ck, value)) = cached.next_if(|(ck, _)| not_after(ck, &k)) {
                shadowed |= ck.as_slice() == &*k;
                if let Some(value) = value {
                    if !emit(&ck, &value)? {
                        return Ok(());
                    }
                }
            }
            if !shadowed && !emit(&k, &v)? {
                return Ok(());
            }
        }
        for (ck, value) in cached {
            if let Some(value) = value {
                if !emit(&ck, &value)? {
                    return Ok(());
                }
            }
        }
        Ok(())
    }
}

/// The least key greater than every key starting with `prefix`; `None` when there is none
/// (an empty prefix, or all `0xff`).
fn prefix_successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut s = prefix.to_vec();
    while let Some(last) = s.pop() {
        if last != 0xff {
            s.push(last + 1);
            return Some(s);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin_hashes::Hash;
    use dotcoin_common::BlockHash;

    #[test]
    fn refuses_other_network_and_schema() {
        let dir = tempfile::tempdir().expect("tempdir");
        drop(Store::open(dir.path(), Network::Regtest).expect("create"));
        let err = Store::open(dir.path(), Network::Main).expect_err("other network");
        assert!(matches!(err, StoreError::WrongNetwork { .. }), "{err}");

        let store = Store::open(dir.path(), Network::Regtest).expect("reopen");
        let mut b = Batch::default();
        b.put::<Meta>(&MetaKey::SchemaVersion, &99u32.to_le_bytes().to_vec());
        store.commit(b).expect("write");
        drop(store);
        let err = Store::open(dir.path(), Network::Regtest).expect_err("old schema");
        assert!(
            matches!(err, StoreError::SchemaVersion { found: 99, .. }),
            "{err}"
        );
    }

    #[test]
    fn multi_get_answers_in_the_order_asked_and_reports_corrupt_values() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path(), Network::Regtest).expect("create");
        let hashes: Vec<BlockHash> = (0..4u8)
            .map(|i| BlockHash::from_byte_array([i; 32]))
            .collect();
        let mut b = Batch::default();
        // Heights whose key order differs from the order they are asked in.
        for (h, hash) in [(300u32, hashes[0]), (2, hashes[1]), (70_000, hashes[2])] {
            b.put::<HashByHeight>(&h, &hash);
        }
        store.commit(b).expect("write");
        let asked = [70_000u32, 5, 2, 300, 70_000];
        let got = store.multi_get::<HashByHeight>(&asked).expect("read");
        assert_eq!(
            got,
            vec![
                Some(hashes[2]),
                None,
                Some(hashes[1]),
                Some(hashes[0]),
                Some(hashes[2])
            ]
        );
        assert!(store
            .multi_get::<HashByHeight>(&[])
            .expect("empty")
            .is_empty());

        // A value that does not decode is an error, not a missing key.
        let mut b = Batch::default();
        b.pending
            .push((HashByHeight::NAME, 9u32.to_key(), Some(b"short".to_vec())));
        store.commit(b).expect("write");
        let err = store
            .multi_get::<HashByHeight>(&[2, 9])
            .expect_err("corrupt");
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
    }

    #[test]
    fn reads_see_the_coins_cache_and_a_flush_keeps_what_they_saw() {
        use dotcoin_common::{Amount, TxOut, Txid};
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Arc::new(Store::open(dir.path(), Network::Regtest).expect("create"));
        let op = |n: u8| OutPoint {
            txid: Txid::from_byte_array([n; 32]),
            vout: 0,
        };
        let coin = |k: u8| Coin {
            output: TxOut {
                value: Amount::from_sat(1),
                pubkey: PubKey([k; 32]),
            },
            height: 1,
            is_coinbase: false,
        };
        let (seven, tip) = (PubKey([7; 32]), BlockHash::from_byte_array([5; 32]));
        // On disk: coins 1 and 2. Cached: 1 spent, 3 created, 4 created and spent.
        let mut b = Batch::default();
        b.create_coin(op(1), coin(7), false);
        b.create_coin(op(2), coin(8), false);
        store.commit(b).expect("write");
        let mut b = Batch::default();
        b.spend_coin(op(1), seven);
        b.create_coin(op(3), coin(7), true);
        b.create_coin(op(4), coin(7), true);
        b.spend_coin(op(4), seven);
        b.put::<HashByHeight>(&1, &tip);
        store.commit_cached(b, &tip).expect("cached");
        assert_eq!(store.coins_cache_usage().entries, 2, "coin 4 left nothing");
        assert_eq!(
            store.get::<HashByHeight>(&1).expect("read"),
            Some(tip),
            "other tables are written at once"
        );
        let check = |store: &Store| {
            assert_eq!(store.get::<UtxoByOutpoint>(&op(1)).expect("read"), None);
            assert_eq!(
                store.get::<UtxoByOutpoint>(&op(3)).expect("read"),
                Some(coin(7))
            );
            assert_eq!(
                store
                    .multi_get::<UtxoByOutpoint>(&[op(4), op(3), op(2), op(1)])
                    .expect("read"),
                vec![None, Some(coin(7)), Some(coin(8)), None]
            );
            assert!(store
                .contains::<UtxoByPubkey>(&(seven, op(3)))
                .expect("read"));
            assert!(!store
                .contains::<UtxoByPubkey>(&(seven, op(1)))
                .expect("read"));
            let of_seven: Vec<OutPoint> = store
                .scan_prefix::<UtxoByPubkey>(&seven.0)
                .expect("scan")
                .into_iter()
                .map(|((_, op), _)| op)
                .collect();
            assert_eq!(of_seven, vec![op(3)]);
            let all: Vec<OutPoint> = store
                .scan_all::<UtxoByOutpoint>()
                .expect("scan")
                .into_iter()
                .map(|(op, _)| op)
                .collect();
            assert_eq!(all, vec![op(2), op(3)], "merged in key order");
        };
        check(&store);
        assert_eq!(store.get::<Meta>(&MetaKey::CoinsTip).expect("read"), None);
        store.flush_coins().expect("flush");
        assert_eq!(store.coins_cache_usage().entries, 0);
        check(&store);
        assert_eq!(
            store.get::<Meta>(&MetaKey::CoinsTip).expect("read"),
            Some(serialize(&tip)),
            "the flush records where the set on disk stands"
        );

        // A view keeps its moment while the cache changes under it.
        let snap = store.view();
        let mut b = Batch::default();
        b.spend_coin(op(3), seven);
        store.commit_cached(b, &tip).expect("cached");
        assert_eq!(
            snap.get::<UtxoByOutpoint>(&op(3)).expect("read"),
            Some(coin(7))
        );
        assert_eq!(store.get::<UtxoByOutpoint>(&op(3)).expect("read"), None);
    }

    #[test]
    fn the_coins_cache_is_flushed_when_its_interval_has_passed() {
        use dotcoin_common::{Amount, TxOut, Txid};
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = Store::open(dir.path(), Network::Regtest).expect("create");
        let coin = Coin {
            output: TxOut {
                value: Amount::from_sat(1),
                pubkey: PubKey([7; 32]),
            },
            height: 1,
            is_coinbase: false,
        };
        let connect = |store: &Store, n: u8| {
            let op = OutPoint {
                txid: Txid::from_byte_array([n; 32]),
                vout: 0,
            };
            let tip = BlockHash::from_byte_array([n; 32]);
            let mut b = Batch::default();
            b.create_coin(op, coin, true);
            store.commit_cached(b, &tip).expect("cached");
            tip
        };
        // Far below the budget and within the hour: the block stays in the cache.
        connect(&store, 1);
        assert_eq!(store.coins_cache_usage().entries, 1, "the new coin");
        assert_eq!(store.get::<Meta>(&MetaKey::CoinsTip).expect("read"), None);

        // Once the interval has passed, the next block's connection writes everything.
        store.set_coins_flush_interval(Duration::ZERO);
        let tip = connect(&store, 2);
        assert_eq!(store.coins_cache_usage().entries, 0);
        assert_eq!(
            store.get::<Meta>(&MetaKey::CoinsTip).expect("read"),
            Some(serialize(&tip))
        );
        assert_eq!(
            store.scan_all::<UtxoByOutpoint>().expect("scan").len(),
            2,
            "both blocks' coins on disk"
        );
    }

    /// A datadir of format 1 (address-index rows with empty values) opens as format 2
    /// with every row's amounts, rebuilt from the UTXO set and the blocks' undo data.
    #[test]
    fn a_format_1_datadir_is_reindexed_with_amounts_at_open() {
        use dotcoin_common::{Amount, Block, Transaction, TxIn, TxOut, Txid};
        let dir = tempfile::tempdir().expect("tempdir");
        let (a, b) = (PubKey([0xa; 32]), PubKey([0xb; 32]));
        let out = |key, dot| TxOut {
            value: Amount::from_dot(dot),
            pubkey: key,
        };
        let coinbase = |height: u32, key| Transaction {
            version: 1,
            inputs: vec![TxIn {
                prevout: OutPoint {
                    txid: Txid::all_zeros(),
                    vout: height,
                },
                witness: Vec::new(),
            }],
            outputs: vec![out(key, 50)],
            lock_time: 0,
        };
        let genesis = Block {
            header: Network::Regtest.params().genesis_block().header,
            txdata: vec![coinbase(0, a)],
        };
        let paid_a = OutPoint {
            txid: genesis.txdata[0].txid(),
            vout: 0,
        };
        let spend = Transaction {
            version: 1,
            inputs: vec![TxIn {
                prevout: paid_a,
                witness: Vec::new(),
            }],
            outputs: vec![out(b, 30), out(a, 19)],
            lock_time: 0,
        };
        let mut header = genesis.header;
        header.prev_blockhash = genesis.block_hash();
        let one = Block {
            header,
            txdata: vec![coinbase(1, b), spend.clone()],
        };
        let coin = |o: TxOut, height, is_coinbase| Coin {
            output: o,
            height,
            is_coinbase,
        };
        let op = |tx: &Transaction, vout| OutPoint {
            txid: tx.txid(),
            vout,
        };
        let utxos = [
            (op(&one.txdata[0], 0), coin(out(b, 50), 1, true)),
            (op(&spend, 0), coin(out(b, 30), 1, false)),
            (op(&spend, 1), coin(out(a, 19), 1, false)),
        ];
        let stale = OutPoint {
            txid: Txid::from_byte_array([9; 32]),
            vout: 0,
        };
        {
            let store = Store::open(dir.path(), Network::Regtest).expect("create");
            // Written as today's code wrote them, with empty index values.
            let mut w = Batch::default();
            let mut raw = |table, key: Vec<u8>, value: Vec<u8>| {
                w.pending.push((table, key, Some(value)));
            };
            for (height, block) in [(0u32, &genesis), (1, &one)] {
                raw(
                    HashByHeight::NAME,
                    height.to_key(),
                    serialize(&block.block_hash()),
                );
                raw(
                    BlockByHash::NAME,
                    block.block_hash().to_key(),
                    serialize(block),
                );
                for (i, tx) in block.txdata.iter().enumerate() {
                    let mut keys: Vec<PubKey> = tx.outputs.iter().map(|o| o.pubkey).collect();
                    if i > 0 {
                        keys.push(a);
                    }
                    for key in keys {
                        raw(
                            TxidByPubkey::NAME,
                            (key, height, tx.txid()).to_key(),
                            Vec::new(),
                        );
                    }
                }
            }
            let undo = BlockUndo {
                spent: vec![SpentCoin {
                    outpoint: paid_a,
                    coin: coin(out(a, 50), 0, true),
                }],
            };
            raw(
                UndoByHash::NAME,
                one.block_hash().to_key(),
                serialize(&undo),
            );
            for (o, c) in &utxos {
                raw(UtxoByOutpoint::NAME, o.to_key(), serialize(c));
                raw(
                    UtxoByPubkey::NAME,
                    (c.output.pubkey, *o).to_key(),
                    Vec::new(),
                );
            }
            raw(UtxoByPubkey::NAME, (a, stale).to_key(), Vec::new());
            raw(
                Meta::NAME,
                MetaKey::SchemaVersion.to_key(),
                serialize(&1u32.to_le_bytes().to_vec()),
            );
            store.commit(w).expect("write format 1");
        }

        let store = Arc::new(Store::open(dir.path(), Network::Regtest).expect("upgrade"));
        assert_eq!(
            store.get::<Meta>(&MetaKey::SchemaVersion).expect("read"),
            Some(SCHEMA_VERSION.to_le_bytes().to_vec())
        );
        let view = store.view();
        let of = |key: PubKey| view.scan_prefix::<UtxoByPubkey>(&key.0).expect("scan");
        assert_eq!(
            of(a),
            vec![((a, op(&spend, 1)), AddressCoin::of(&utxos[2].1))],
            "amounts filled in, the stale row dropped"
        );
        let mut expected_b: Rows<UtxoByPubkey> = utxos[..2]
            .iter()
            .map(|(o, c)| ((b, *o), AddressCoin::of(c)))
            .collect();
        expected_b.sort_by_key(|(k, _)| k.to_key());
        assert_eq!(of(b), expected_b);
        let did = |received, sent| AddressTx {
            received: Amount::from_dot(received),
            sent: Amount::from_dot(sent),
        };
        let history = |key: PubKey| view.scan_prefix::<TxidByPubkey>(&key.0).expect("scan");
        assert_eq!(
            history(a),
            vec![
                ((a, 0, genesis.txdata[0].txid()), did(50, 0)),
                ((a, 1, spend.txid()), did(19, 50)),
            ]
        );
        let mut expected_b = vec![
            ((b, 1, one.txdata[0].txid()), did(50, 0)),
            ((b, 1, spend.txid()), did(30, 0)),
        ];
        expected_b.sort_by_key(|(k, _)| k.to_key());
        assert_eq!(history(b), expected_b);
        // Pages walk the same rows, either way, from any cursor.
        let mut newest_first = Vec::new();
        view.walk::<TxidByPubkey>(&b.0, None, true, |k, _| {
            newest_first.push(k);
            true
        })
        .expect("walk");
        assert_eq!(newest_first, vec![expected_b[1].0, expected_b[0].0]);
        let mut after_first = Vec::new();
        view.walk::<TxidByPubkey>(&b.0, Some(&expected_b[0].0), false, |k, _| {
            after_first.push(k);
            true
        })
        .expect("walk");
        assert_eq!(after_first, vec![expected_b[1].0]);
        drop(view);
        drop(store);
        // Opening again does nothing more.
        drop(Store::open(dir.path(), Network::Regtest).expect("reopen"));
    }

    /// A page walks the coins cache and the disk merged, forwards and backwards, from a
    /// cursor, and stops where it is told.
    #[test]
    fn walks_merge_the_coins_cache_in_either_direction() {
        use dotcoin_common::{Amount, TxOut, Txid};
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Arc::new(Store::open(dir.path(), Network::Regtest).expect("create"));
        let key = PubKey([7; 32]);
        let op = |n: u8| OutPoint {
            txid: Txid::from_byte_array([n; 32]),
            vout: 0,
        };
        let coin = |k: PubKey| Coin {
            output: TxOut {
                value: Amount::from_sat(1),
                pubkey: k,
            },
            height: 1,
            is_coinbase: false,
        };
        // Disk: 2, 4, 6 and another key's 5 and 0xff. Cache: 3 and 7 created, 4 spent.
        let mut b = Batch::default();
        for n in [2, 4, 6] {
            b.create_coin(op(n), coin(key), false);
        }
        b.create_coin(op(5), coin(PubKey([6; 32])), false);
        b.create_coin(op(0xff), coin(PubKey([8; 32])), false);
        store.commit(b).expect("write");
        let mut b = Batch::default();
        b.create_coin(op(3), coin(key), true);
        b.create_coin(op(7), coin(key), true);
        b.spend_coin(op(4), key);
        store
            .commit_cached(b, &BlockHash::from_byte_array([1; 32]))
            .expect("cached");
        let view = store.view();
        let walk = |after: Option<u8>, reverse: bool, limit: usize| {
            let mut got = Vec::new();
            let cursor = after.map(|n| (key, op(n)));
            view.walk::<UtxoByPubkey>(&key.0, cursor.as_ref(), reverse, |(_, o), _| {
                got.push(o.txid.to_byte_array()[0]);
                got.len() < limit
            })
            .expect("walk");
            got
        };
        assert_eq!(walk(None, false, 99), vec![2, 3, 6, 7]);
        assert_eq!(walk(None, true, 99), vec![7, 6, 3, 2]);
        assert_eq!(walk(Some(3), false, 99), vec![6, 7]);
        assert_eq!(walk(Some(6), true, 99), vec![3, 2]);
        assert_eq!(
            walk(Some(4), true, 99),
            vec![3, 2],
            "a cursor gone from the index"
        );
        assert_eq!(walk(None, false, 2), vec![2, 3]);
        assert_eq!(walk(Some(7), false, 99), Vec::<u8>::new());
        assert_eq!(walk(Some(2), true, 99), Vec::<u8>::new());
        // A cursor of another key narrows to nothing or to everything, never elsewhere.
        let other = (PubKey([0; 32]), op(9));
        let mut got = 0;
        view.walk::<UtxoByPubkey>(&key.0, Some(&other), false, |_, _| {
            got += 1;
            true
        })
        .expect("walk");
        assert_eq!(got, 4);
        // The typed walk of a whole key gives what the generic one does, and stops.
        let mut typed = Vec::new();
        view.address_coins(&key, |o, _| {
            typed.push(o.txid.to_byte_array()[0]);
            true
        })
        .expect("typed");
        assert_eq!(typed, vec![2, 3, 6, 7]);
        let mut first = Vec::new();
        view.address_coins(&key, |o, _| {
            first.push(o.txid.to_byte_array()[0]);
            first.len() < 3
        })
        .expect("typed");
        assert_eq!(first, vec![2, 3, 6]);
    }

    /// A key's outputs of one transaction come in the stored order (output index little
    /// endian), from the cache and from the disk alike, so the two merge without loss.
    #[test]
    fn typed_address_walk_orders_output_indexes_as_stored() {
        use dotcoin_common::{Amount, TxOut, Txid};
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Arc::new(Store::open(dir.path(), Network::Regtest).expect("create"));
        let key = PubKey([7; 32]);
        let op = |vout: u32| OutPoint {
            txid: Txid::from_byte_array([1; 32]),
            vout,
        };
        let coin = |sat: u64| Coin {
            output: TxOut {
                value: Amount::from_sat(sat),
                pubkey: key,
            },
            height: 1,
            is_coinbase: false,
        };
        // 1 and 256 on disk, 2 and 257 cached, 256 spent in the cache.
        let mut b = Batch::default();
        for vout in [1, 256] {
            b.create_coin(op(vout), coin(u64::from(vout)), false);
        }
        store.commit(b).expect("write");
        let mut b = Batch::default();
        for vout in [2, 257] {
            b.create_coin(op(vout), coin(u64::from(vout)), true);
        }
        b.spend_coin(op(256), key);
        store
            .commit_cached(b, &BlockHash::from_byte_array([1; 32]))
            .expect("cached");
        let view = store.view();
        let mut generic = Vec::new();
        view.walk::<UtxoByPubkey>(&key.0, None, false, |(_, o), c| {
            generic.push((o.vout, c.value.to_sat()));
            true
        })
        .expect("walk");
        let mut typed = Vec::new();
        view.address_coins(&key, |o, c| {
            typed.push((o.vout, c.value.to_sat()));
            true
        })
        .expect("typed");
        // Little-endian: 257 (01 01 …) sorts between 1 (01 00 …) and 2 (02 00 …).
        assert_eq!(generic, vec![(1, 1), (257, 257), (2, 2)]);
        assert_eq!(typed, generic);
    }

    #[test]
    fn batch_is_atomic_and_typed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path(), Network::Regtest).expect("create");
        let h = BlockHash::from_byte_array([3; 32]);
        let mut b = Batch::default();
        b.put::<HashByHeight>(&7, &h);
        assert_eq!(
            store.get::<HashByHeight>(&7).expect("read"),
            None,
            "not before commit"
        );
        store.commit(b).expect("commit");
        assert_eq!(store.get::<HashByHeight>(&7).expect("read"), Some(h));
    }
}
