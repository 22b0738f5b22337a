//! The in-memory block index: every known header with its height, total work and status,
//! loaded from the `block_index_by_hash` table at start-up.

use std::collections::{HashMap, HashSet};

use dotcoin_common::primitives::BlockHeader;
use dotcoin_common::BlockHash;
use ruint::aliases::U256;

use crate::storage::{status, StoredIndexEntry};

/// One known header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexEntry {
    /// Its hash.
    pub hash: BlockHash,
    /// The header.
    pub header: BlockHeader,
    /// Its height.
    pub height: u32,
    /// Total work of the chain ending here.
    pub chainwork: U256,
    /// [`status`] bits.
    pub status: u32,
    /// Arrival order.
    pub sequence: u64,
}

impl IndexEntry {
    /// From the stored form.
    pub fn from_stored(hash: BlockHash, s: &StoredIndexEntry) -> IndexEntry {
        IndexEntry {
            hash,
            header: s.header,
            height: s.height,
            chainwork: U256::from_be_bytes(s.chainwork),
            status: s.status,
            sequence: s.sequence,
        }
    }

    /// The stored form.
    pub fn to_stored(&self) -> StoredIndexEntry {
        StoredIndexEntry {
            header: self.header,
            height: self.height,
            chainwork: self.chainwork.to_be_bytes(),
            status: self.status,
            sequence: self.sequence,
        }
    }

    /// Whether the block's data is stored.
    pub fn have_data(&self) -> bool {
        self.status & status::HAVE_DATA != 0
    }

    /// Whether it or an ancestor broke a rule.
    pub fn is_failed(&self) -> bool {
        self.status & (status::FAILED | status::FAILED_CHILD) != 0
    }

    /// Whether it was connected once.
    pub fn is_valid(&self) -> bool {
        self.status & status::VALID != 0
    }
}

/// All known headers, and the active chain through them.
#[derive(Debug, Default)]
pub struct BlockIndex {
    entries: HashMap<BlockHash, IndexEntry>,
    /// `active[h]` is the hash of the active chain's block at height `h`.
    active: Vec<BlockHash>,
}

impl BlockIndex {
    /// An index of `entries` with the given active chain.
    pub fn new(entries: HashMap<BlockHash, IndexEntry>, active: Vec<BlockHash>) -> BlockIndex {
        BlockIndex { entries, active }
    }

    /// The entry of `hash`.
    pub fn get(&self, hash: &BlockHash) -> Option<&IndexEntry> {
        self.entries.get(hash)
    }

    /// Mutable entry of `hash`.
    pub fn get_mut(&mut self, hash: &BlockHash) -> Option<&mut IndexEntry> {
        self.entries.get_mut(hash)
    }

    /// Adds or replaces an entry.
    pub fn insert(&mut self, entry: IndexEntry) {
        self.entries.insert(entry.hash, entry);
    }

    /// Every entry.
    pub fn entries(&self) -> impl Iterator<Item = &IndexEntry> {
        self.entries.values()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the index is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The active tip.
    pub fn tip(&self) -> &IndexEntry {
        let hash = self
            .active
            .last()
            .expect("the active chain always holds genesis");
        &self.entries[hash]
    }

    /// The active chain's hash at `height`.
    pub fn active_hash(&self, height: u32) -> Option<BlockHash> {
        self.active.get(height as usize).copied()
    }

    /// Whether `hash` is on the active chain.
    pub fn is_active(&self, entry: &IndexEntry) -> bool {
        self.active_hash(entry.height) == Some(entry.hash)
    }

    /// Extends the active chain by `hash` (its parent must be the tip).
    pub fn push_active(&mut self, hash: BlockHash) {
        self.active.push(hash);
    }

    /// Removes the active tip.
    pub fn pop_active(&mut self) -> Option<BlockHash> {
        self.active.pop()
    }

    /// The ancestor of `hash` at `height`, walking parents (jumping once on the active
    /// chain, where the answer is a lookup).
    pub fn ancestor(&self, hash: &BlockHash, height: u32) -> Option<&IndexEntry> {
        let mut entry = self.entries.get(hash)?;
        if height > entry.height {
            return None;
        }
        loop {
            if entry.height == height {
                return Some(entry);
            }
            if self.is_active(entry) {
                return self.active_hash(height).and_then(|h| self.entries.get(&h));
            }
            entry = self.entries.get(&entry.header.prev_blockhash)?;
        }
    }

    /// The last common block of `hash`'s chain and the active chain.
    pub fn fork_point(&self, hash: &BlockHash) -> Option<&IndexEntry> {
        let mut entry = self.entries.get(hash)?;
        loop {
            if self.is_active(entry) {
                return Some(entry);
            }
            entry = self.entries.get(&entry.header.prev_blockhash)?;
        }
    }

    /// Times of `hash` and up to 10 ancestors, oldest first: the input of median time past.
    pub fn last_times(&self, hash: &BlockHash) -> Vec<u32> {
        let mut times = Vec::with_capacity(11);
        let mut cur = self.entries.get(hash);
        while let Some(e) = cur {
            times.push(e.header.time);
            if times.len() == 11 {
                break;
            }
            cur = self.entries.get(&e.header.prev_blockhash);
        }
        times.reverse();
        times
    }

    /// Whether `descendant` is `ancestor` or builds on it.
    pub fn descends_from(&self, descendant: &IndexEntry, ancestor: &IndexEntry) -> bool {
        self.ancestor(&descendant.hash, ancestor.height)
            .map(|a| a.hash)
            == Some(ancestor.hash)
    }

    /// Hashes of entries no other entry builds on.
    pub fn leaves(&self) -> Vec<&IndexEntry> {
        let parents: HashSet<BlockHash> = self
            .entries
            .values()
            .map(|e| e.header.prev_blockhash)
            .collect();
        self.entries
            .values()
            .filter(|e| !parents.contains(&e.hash))
            .collect()
    }

    /// The active chain's hashes from `from_height` up, at most `max`.
    pub fn active_range(&self, from_height: u32, max: usize) -> Vec<BlockHash> {
        self.active
            .iter()
            .skip(from_height as usize)
            .take(max)
            .copied()
            .collect()
    }
}
