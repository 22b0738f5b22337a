//! The in-memory block index: every known header with its height, total work and status,
//! the active chain through them, and the chain tips (headers nothing builds on).
//!
//! Its maps are persistent (structurally shared) collections, so the chain writer hands
//! readers a consistent copy of the whole index in O(1) after every change: readers never
//! share a lock with the writer. Every operation the writer runs per block is O(log n) or
//! touches only the blocks concerned; nothing scans the index.

use dotcoin_common::consensus::header::{expected_bits, HeaderContext};
use dotcoin_common::pow::{interval_start, is_retarget_height, median_time_past};
use dotcoin_common::primitives::BlockHeader;
pub use dotcoin_common::rpc_types::ChainTipStatus;
use dotcoin_common::{BlockHash, Params};
use ruint::aliases::U256;

use crate::storage::{status, StoredIndexEntry};

/// What is known of one block, from its status bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockStatus {
    /// Only the header is known.
    HeaderOnly,
    /// The block's data is stored but it was never connected.
    DataStored,
    /// It was connected once: every rule passed.
    Valid,
    /// It broke a rule.
    Failed,
    /// An ancestor broke a rule.
    FailedChild,
}

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

    /// The status bits as one value.
    pub fn block_status(&self) -> BlockStatus {
        if self.status & status::FAILED != 0 {
            BlockStatus::Failed
        } else if self.status & status::FAILED_CHILD != 0 {
            BlockStatus::FailedChild
        } else if self.is_valid() {
            BlockStatus::Valid
        } else if self.have_data() {
            BlockStatus::DataStored
        } else {
            BlockStatus::HeaderOnly
        }
    }
}

/// One entry of `getchaintips`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainTip {
    /// Height of the tip.
    pub height: u32,
    /// Its hash.
    pub hash: BlockHash,
    /// Blocks from the fork point with the active chain.
    pub branchlen: u32,
    /// Its status.
    pub status: ChainTipStatus,
}

/// All known headers, the active chain through them, and the tips.
#[derive(Debug, Clone, Default)]
pub struct BlockIndex {
    entries: imbl::HashMap<BlockHash, IndexEntry>,
    /// `active[h]` is the hash of the active chain's block at height `h`.
    active: imbl::Vector<BlockHash>,
    /// Entries no other entry builds on.
    leaves: imbl::HashSet<BlockHash>,
    /// Each entry's skip pointer: an ancestor at [`skip_height`], so finding any
    /// ancestor takes O(log n) steps instead of a walk over every parent (Core's `pskip`).
    skips: imbl::HashMap<BlockHash, BlockHash>,
}

/// Bitcoin Core's `GetSkipHeight`: clears the lowest set bits so that skips from nearby
/// heights land on few common ancestors, and any height is reached in O(log n) jumps.
fn skip_height(height: u32) -> u32 {
    fn invert_lowest_one(n: u32) -> u32 {
        n & n.wrapping_sub(1)
    }
    if height < 2 {
        0
    } else if height & 1 == 1 {
        invert_lowest_one(invert_lowest_one(height - 1)) + 1
    } else {
        invert_lowest_one(height)
    }
}

impl BlockIndex {
    /// An index of `entries` with the given active chain.
    pub fn new(entries: impl IntoIterator<Item = IndexEntry>, active: Vec<BlockHash>) -> Self {
        let mut index = BlockIndex {
            active: active.into_iter().collect(),
            ..BlockIndex::default()
        };
        let mut entries: Vec<IndexEntry> = entries.into_iter().collect();
        for e in &entries {
            index.entries.insert(e.hash, *e);
            index.leaves.insert(e.hash);
        }
        for e in &entries {
            index.leaves.remove(&e.header.prev_blockhash);
        }
        // Parents before children, so each skip is found through skips already set.
        entries.sort_by_key(|e| e.height);
        for e in &entries {
            index.set_skip(e);
        }
        index
    }

    /// The entry of `hash`.
    pub fn get(&self, hash: &BlockHash) -> Option<&IndexEntry> {
        self.entries.get(hash)
    }

    /// Adds or replaces an entry.
    pub fn insert(&mut self, entry: IndexEntry) {
        if self.entries.insert(entry.hash, entry).is_none() {
            self.leaves.insert(entry.hash);
            self.leaves.remove(&entry.header.prev_blockhash);
            self.set_skip(&entry);
        }
    }

    fn set_skip(&mut self, entry: &IndexEntry) {
        if entry.height < 2 {
            return;
        }
        if let Some(skip) = self
            .ancestor(&entry.header.prev_blockhash, skip_height(entry.height))
            .map(|a| a.hash)
        {
            self.skips.insert(entry.hash, skip);
        }
    }

    /// Every entry, in no order. A full scan: for start-up and rare RPCs only.
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

    /// Height of the active tip.
    pub fn height(&self) -> u32 {
        self.tip().height
    }

    /// The active chain's hash at `height`.
    pub fn active_hash(&self, height: u32) -> Option<BlockHash> {
        self.active.get(height as usize).copied()
    }

    /// Whether `entry` is on the active chain.
    pub fn is_active(&self, entry: &IndexEntry) -> bool {
        self.active_hash(entry.height) == Some(entry.hash)
    }

    /// Extends the active chain by `hash` (its parent must be the tip).
    pub fn push_active(&mut self, hash: BlockHash) {
        self.active.push_back(hash);
    }

    /// Removes the active tip.
    pub fn pop_active(&mut self) -> Option<BlockHash> {
        self.active.pop_back()
    }

    /// The ancestor of `hash` at `height`, walking parents (jumping once on the active
    /// chain, where the answer is a lookup).
    ///
    /// Follows skip pointers where they do not overshoot (Core's `GetAncestor`): O(log n).
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
            let h = entry.height;
            let skip = skip_height(h);
            let skip_prev = skip_height(h - 1);
            let take_skip =
                skip == height || (skip > height && !(skip_prev + 2 < skip && skip_prev >= height));
            let next = match self.skips.get(&entry.hash) {
                Some(s) if take_skip => s,
                _ => &entry.header.prev_blockhash,
            };
            entry = self.entries.get(next)?;
        }
    }

    /// The last common block of `hash`'s chain and the active chain: a binary search over
    /// heights with [`BlockIndex::ancestor`], O(log² n) however long the branch.
    pub fn fork_point(&self, hash: &BlockHash) -> Option<&IndexEntry> {
        let entry = self.entries.get(hash)?;
        if self.is_active(entry) {
            return Some(entry);
        }
        // Invariant: the ancestor at `lo` is active, the one at `hi` is not.
        let (mut lo, mut hi) = (0u32, entry.height.min(self.height() + 1));
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if self.ancestor(hash, mid).is_some_and(|a| self.is_active(a)) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        self.ancestor(hash, lo)
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

    /// Median time past of the tip.
    pub fn median_time_past(&self) -> u32 {
        median_time_past(&self.last_times(&self.tip().hash))
    }

    /// The context a header building on `parent` is checked against.
    pub fn header_context(&self, params: &Params, parent: &IndexEntry, now: u64) -> HeaderContext {
        let height = parent.height + 1;
        let interval_first_time = if is_retarget_height(params, height) {
            let (start, back) = interval_start(params, height);
            self.ancestor(&parent.hash, start)
                .map(|e| e.header.time.saturating_sub(back))
                .unwrap_or(parent.header.time)
        } else {
            parent.header.time
        };
        HeaderContext {
            height,
            expected_bits: expected_bits(
                params,
                height,
                parent.header.bits,
                interval_first_time,
                parent.header.time,
            ),
            median_time_past: median_time_past(&self.last_times(&parent.hash)),
            parent_time: parent.header.time,
            now,
        }
    }

    /// Entries no other entry builds on.
    pub fn leaves(&self) -> impl Iterator<Item = &IndexEntry> {
        self.leaves.iter().filter_map(|h| self.entries.get(h))
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

    /// Every chain tip and its status, active first, then by height. Walks each stale
    /// branch back to the active chain, never the whole index.
    pub fn chain_tips(&self) -> Vec<ChainTip> {
        let tip = *self.tip();
        let mut tips: Vec<ChainTip> = self
            .leaves()
            .filter(|leaf| leaf.hash != tip.hash)
            .map(|leaf| {
                let fork = self.fork_point(&leaf.hash).map_or(0, |f| f.height);
                ChainTip {
                    height: leaf.height,
                    hash: leaf.hash,
                    branchlen: leaf.height - fork,
                    status: self.tip_status(leaf),
                }
            })
            .collect();
        tips.sort_by(|a, b| b.height.cmp(&a.height).then(a.hash.cmp(&b.hash)));
        tips.insert(
            0,
            ChainTip {
                height: tip.height,
                hash: tip.hash,
                branchlen: 0,
                status: ChainTipStatus::Active,
            },
        );
        tips
    }

    fn tip_status(&self, leaf: &IndexEntry) -> ChainTipStatus {
        if self.is_active(leaf) {
            return ChainTipStatus::Active;
        }
        // The branch's status is its weakest block's, back to the active chain.
        let mut weakest = ChainTipStatus::ValidFork;
        let mut cur = Some(leaf);
        while let Some(e) = cur.filter(|e| !self.is_active(e)) {
            let status = match e.block_status() {
                BlockStatus::Failed | BlockStatus::FailedChild => return ChainTipStatus::Invalid,
                BlockStatus::HeaderOnly => ChainTipStatus::HeadersOnly,
                BlockStatus::DataStored => ChainTipStatus::ValidHeaders,
                BlockStatus::Valid => ChainTipStatus::ValidFork,
            };
            weakest = weaker(weakest, status);
            cur = self.entries.get(&e.header.prev_blockhash);
        }
        weakest
    }
}

/// The less validated of two branch statuses.
fn weaker(a: ChainTipStatus, b: ChainTipStatus) -> ChainTipStatus {
    let rank = |s| match s {
        ChainTipStatus::HeadersOnly => 0,
        ChainTipStatus::ValidHeaders => 1,
        _ => 2,
    };
    if rank(b) < rank(a) {
        b
    } else {
        a
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn child_of(parent: &IndexEntry, tag: u32) -> IndexEntry {
        let header = BlockHeader {
            version: 1,
            prev_blockhash: parent.hash,
            merkle_root: parent.header.merkle_root,
            time: parent.header.time + 1,
            bits: parent.header.bits,
            nonce: tag,
        };
        IndexEntry {
            hash: header.block_hash(),
            header,
            height: parent.height + 1,
            chainwork: parent.chainwork + U256::from(1u8),
            status: 0,
            sequence: u64::from(tag),
        }
    }

    /// The ancestor by walking every parent: what the skip pointers must agree with.
    fn walk<'a>(index: &'a BlockIndex, hash: &BlockHash, height: u32) -> Option<&'a IndexEntry> {
        let mut e = index.get(hash)?;
        while e.height > height {
            e = index.get(&e.header.prev_blockhash)?;
        }
        (e.height == height).then_some(e)
    }

    #[test]
    fn skip_pointers_find_the_same_ancestors_and_fork_points_as_a_walk() {
        let genesis_header = dotcoin_common::Network::Regtest
            .params()
            .genesis_block()
            .header;
        let genesis = IndexEntry {
            hash: genesis_header.block_hash(),
            header: genesis_header,
            height: 0,
            chainwork: U256::from(1u8),
            status: 0,
            sequence: 0,
        };
        let mut index = BlockIndex::new([genesis], vec![genesis.hash]);
        // An active chain of 3 000, and branches leaving it every 500 blocks, each 700 long.
        let mut tip = genesis;
        let mut branch_points = Vec::new();
        for h in 1..=3000u32 {
            tip = child_of(&tip, h);
            index.insert(tip);
            index.push_active(tip.hash);
            if h % 500 == 0 {
                branch_points.push(tip);
            }
        }
        let mut branch_tips = Vec::new();
        for (i, start) in branch_points.iter().enumerate() {
            let mut b = *start;
            for j in 0..700u32 {
                b = child_of(&b, 1_000_000 * (i as u32 + 1) + j);
                index.insert(b);
            }
            branch_tips.push((b, *start));
        }
        // Rebuilt from scratch (as at start-up), the pointers must be the same.
        let reloaded = BlockIndex::new(
            index.entries().copied().collect::<Vec<_>>(),
            index.active.iter().copied().collect(),
        );
        for idx in [&index, &reloaded] {
            for (b, start) in &branch_tips {
                for h in (0..=b.height).step_by(37) {
                    assert_eq!(
                        idx.ancestor(&b.hash, h).map(|e| e.hash),
                        walk(idx, &b.hash, h).map(|e| e.hash),
                        "height {h}"
                    );
                }
                assert_eq!(idx.fork_point(&b.hash).map(|e| e.hash), Some(start.hash));
            }
            assert_eq!(idx.fork_point(&tip.hash).map(|e| e.hash), Some(tip.hash));
        }
        for h in [0u32, 1, 2, 3, 1000, 2047, 2048, 2999] {
            assert!(skip_height(h) < h.max(1));
        }
    }
}
