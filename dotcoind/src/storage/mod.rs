//! RocksDB storage: the column families, their typed keys and values, and the atomic
//! batch every state change goes through.
//!
//! Column families are named `value_by_key` and listed once in [`TABLES`]. Values use the
//! consensus encoding from `dotcoin-common`. A schema version and the network magic are
//! written when a datadir is created and checked at every open, so a datadir of another
//! network or an older format is refused with a clear error instead of misread.

mod tables;

pub use tables::*;

use std::path::Path;

use dotcoin_common::encode::{deserialize, serialize, DecodeError};
use dotcoin_common::Network;
use rocksdb::{ColumnFamilyDescriptor, Direction, IteratorMode, Options, WriteBatch, DB};
use thiserror::Error;

/// Bumped with every change of the on-disk format.
pub const SCHEMA_VERSION: u32 = 1;

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

    /// Number of writes in the batch.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// Whether the batch is empty.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }
}

/// The default `--dbcache`: 32 MiB.
pub const DEFAULT_DB_CACHE_BYTES: usize = 32 << 20;

impl Store {
    /// Opens (creating if needed) the database at `path` for `network`, with the default
    /// cache.
    pub fn open(path: &Path, network: Network) -> Result<Store, StoreError> {
        Store::open_with_cache(path, network, DEFAULT_DB_CACHE_BYTES)
    }

    /// [`Store::open`] with a cache budget of `cache_bytes`: half for one block cache all
    /// tables share, half for their write buffers together.
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
        opts.set_db_write_buffer_size(cache_bytes / 2);
        let block_cache = rocksdb::Cache::new_lru_cache(cache_bytes / 2);
        let mut table = rocksdb::BlockBasedOptions::default();
        table.set_block_cache(&block_cache);
        // Point reads dominate (UTXO lookups, index entries): a bloom filter per table file
        // spares the reads of files that do not hold the key.
        table.set_bloom_filter(10.0, false);
        let cf_opts = || {
            let mut o = Options::default();
            o.set_block_based_table_factory(&table);
            o.set_write_buffer_size((cache_bytes / 8).clamp(1 << 20, 64 << 20));
            o
        };
        let cfs = TABLES
            .iter()
            .map(|name| ColumnFamilyDescriptor::new(*name, cf_opts()));
        let db = DB::open_cf_descriptors(&opts, path, cfs)?;
        let store = Store { db };
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
                if found != SCHEMA_VERSION {
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
                Ok(())
            }
        }
    }

    fn cf(&self, name: &'static str) -> &rocksdb::ColumnFamily {
        self.db
            .cf_handle(name)
            .expect("every table in TABLES is opened with the database")
    }

    /// Reads `key` from table `T`.
    pub fn get<T: Table>(&self, key: &T::Key) -> Result<Option<T::Value>, StoreError> {
        match self.db.get_pinned_cf(self.cf(T::NAME), key.to_key())? {
            None => Ok(None),
            Some(bytes) => decode_value::<T>(&bytes).map(Some),
        }
    }

    /// Reads every key of `keys` from table `T` in one batched lookup (RocksDB's
    /// `MultiGet`: sorted keys share the memtable and block searches). The answers are in
    /// the order of `keys`.
    pub fn multi_get<T: Table>(
        &self,
        keys: &[T::Key],
    ) -> Result<Vec<Option<T::Value>>, StoreError> {
        let mut encoded: Vec<(Vec<u8>, usize)> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| (k.to_key(), i))
            .collect();
        // RocksDB's default comparator orders keys bytewise.
        encoded.sort_unstable();
        let found = self.db.batched_multi_get_cf(
            self.cf(T::NAME),
            encoded.iter().map(|(k, _)| k.as_slice()),
            true,
        );
        let mut out: Vec<Option<T::Value>> = (0..keys.len()).map(|_| None).collect();
        for ((_, i), value) in encoded.iter().zip(found) {
            if let Some(bytes) = value? {
                out[*i] = Some(decode_value::<T>(&bytes)?);
            }
        }
        Ok(out)
    }

    /// Whether `key` is present in table `T`.
    pub fn contains<T: Table>(&self, key: &T::Key) -> Result<bool, StoreError> {
        Ok(self
            .db
            .get_pinned_cf(self.cf(T::NAME), key.to_key())?
            .is_some())
    }

    /// Every entry of `T` whose key starts with `prefix`, in key order.
    pub fn scan_prefix<T: Table>(&self, prefix: &[u8]) -> Result<Rows<T>, StoreError> {
        let mut out = Vec::new();
        self.snapshot()
            .for_each::<T>(prefix, |key, value| out.push((key, value)))?;
        Ok(out)
    }

    /// Every entry of `T`.
    pub fn scan_all<T: Table>(&self) -> Result<Rows<T>, StoreError> {
        self.scan_prefix::<T>(&[])
    }

    /// A consistent read-only view of the whole database as of now: what a reader that
    /// reads many keys (a UTXO set scan) uses so that a block connected meanwhile does not
    /// show half-applied.
    pub fn snapshot(&self) -> StoreSnapshot<'_> {
        StoreSnapshot {
            store: self,
            snap: self.db.snapshot(),
        }
    }

    /// Applies `batch` atomically: all of it or, after a crash, none of it.
    pub fn commit(&self, batch: Batch) -> Result<(), StoreError> {
        let mut wb = WriteBatch::default();
        for (table, key, value) in batch.pending {
            let cf = self.cf(table);
            match value {
                Some(v) => wb.put_cf(cf, key, v),
                None => wb.delete_cf(cf, key),
            }
        }
        self.db.write(wb)?;
        Ok(())
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

    /// Flushes memtables to disk (at shutdown, so the next start reads SST files).
    pub fn flush(&self) -> Result<(), StoreError> {
        for t in TABLES {
            self.db.flush_cf(self.cf(t))?;
        }
        Ok(())
    }
}

/// A point-in-time view of the [`Store`].
pub struct StoreSnapshot<'a> {
    store: &'a Store,
    snap: rocksdb::Snapshot<'a>,
}

impl std::fmt::Debug for StoreSnapshot<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreSnapshot").finish_non_exhaustive()
    }
}

impl StoreSnapshot<'_> {
    /// Reads `key` from table `T` as of the snapshot.
    pub fn get<T: Table>(&self, key: &T::Key) -> Result<Option<T::Value>, StoreError> {
        match self.snap.get_cf(self.store.cf(T::NAME), key.to_key())? {
            None => Ok(None),
            Some(bytes) => decode_value::<T>(&bytes).map(Some),
        }
    }

    /// Calls `f` with every entry of `T` whose key starts with `prefix`, in key order,
    /// without collecting them: a scan of the whole UTXO set stays in constant memory.
    pub fn for_each<T: Table>(
        &self,
        prefix: &[u8],
        mut f: impl FnMut(T::Key, T::Value),
    ) -> Result<(), StoreError> {
        let iter = self.snap.iterator_cf(
            self.store.cf(T::NAME),
            IteratorMode::From(prefix, Direction::Forward),
        );
        for item in iter {
            let (k, v) = item?;
            if !k.starts_with(prefix) {
                break;
            }
            let (key, value) = decode_row::<T>(&k, &v)?;
            f(key, value);
        }
        Ok(())
    }
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
