//! Headers-first block download: which blocks to ask which peer for.
//!
//! Headers arrive first and go into the block index, so the node knows the best header
//! chain before it has the blocks. [`BlockSync`] then hands each peer the lowest missing
//! blocks of the best chain *that peer* has announced, at most [`WINDOW`] in flight per
//! peer, so several peers download in parallel. A block asked for longer than
//! [`STALL_TIMEOUT`] ago is taken back and given to another peer. Blocks may arrive in
//! any order: their headers are indexed, and the chain connects them in order as the
//! gaps fill.
//!
//! Before any of a peer's headers enter the index, their chain must carry enough work
//! to matter (Core's anti-DoS threshold, [`crate::chain::anti_dos_work_threshold`]).
//! A chain that gets there within one `headers` message is stored at once; a longer one
//! (an honest fork deeper than 2 000 blocks) waits in the peer's [`HeadersPresync`]
//! buffer, bounded per peer and node-wide, until it does. Below the threshold nothing
//! is stored: cheap forks cost the node a bounded buffer and a hash per header.
//!
//! Lock order: the node's state lock first, then this one; never the other way round.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dotcoin_common::consensus::ValidationError;
use dotcoin_common::pow::work_from_bits;
use dotcoin_common::{BlockHash, BlockHeader, Params};
use ruint::aliases::U256;
use tracing::info;

use super::message::MAX_HEADERS;
use super::PeerId;
use crate::chain::{anti_dos_work_threshold, BlockIndex};

/// Blocks in flight per peer.
pub const WINDOW: usize = 16;
/// How far past the active tip blocks are requested.
pub const LOOKAHEAD: u32 = 1024;
/// Heights [`BlockSync::next_requests`] looks at in one step.
const SCAN_CHUNK: u32 = 128;
/// A block not delivered this long after the request is asked of another peer.
pub const STALL_TIMEOUT: Duration = Duration::from_secs(10);
/// How often download progress is logged.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Copy)]
struct InFlight {
    peer: PeerId,
    since: Instant,
}

/// Download bookkeeping shared by all peer tasks.
#[derive(Debug)]
pub struct BlockSync {
    in_flight: HashMap<BlockHash, InFlight>,
    per_peer: HashMap<PeerId, usize>,
    /// Blocks a peer stalled on, so it is not handed them again at once.
    stalled: HashMap<BlockHash, (PeerId, Instant)>,
    last_log: Instant,
    last_log_height: u32,
}

impl Default for BlockSync {
    fn default() -> Self {
        BlockSync {
            in_flight: HashMap::new(),
            per_peer: HashMap::new(),
            stalled: HashMap::new(),
            last_log: Instant::now(),
            last_log_height: 0,
        }
    }
}

impl BlockSync {
    /// Blocks to ask `peer` for now, marked in flight: the lowest missing blocks on the
    /// chain ending at `peer_best` (a header the peer sent us), when that chain has more
    /// work than our tip.
    pub fn next_requests(
        &mut self,
        index: &BlockIndex,
        peer: PeerId,
        peer_best: &BlockHash,
        now: Instant,
    ) -> Vec<BlockHash> {
        let busy = self.per_peer.get(&peer).copied().unwrap_or(0);
        let free = WINDOW.saturating_sub(busy);
        if free == 0 {
            return Vec::new();
        }
        let Some(best) = index.get(peer_best) else {
            return Vec::new();
        };
        if best.is_failed() || best.chainwork <= index.tip().chainwork {
            return Vec::new();
        }
        let Some(fork) = index.fork_point(&best.hash) else {
            return Vec::new();
        };
        let limit = index.height().saturating_add(LOOKAHEAD).min(best.height);
        self.stalled
            .retain(|_, (_, t)| now.duration_since(*t) < STALL_TIMEOUT * 2);
        // The peer's chain above the fork, lowest first, in slices of SCAN_CHUNK heights:
        // the blocks just above the tip are usually in flight or stored already, so the
        // first slice nearly always fills the window, and a call costs a slice, not the
        // whole lookahead (this runs after every block).
        let mut picked: Vec<BlockHash> = Vec::with_capacity(free);
        let mut low = fork.height.saturating_add(1);
        while picked.len() < free && low <= limit {
            let high = limit.min(low.saturating_add(SCAN_CHUNK - 1));
            let mut slice = Vec::with_capacity((high - low + 1) as usize);
            let mut cur = index.ancestor(&best.hash, high);
            while let Some(e) = cur.filter(|e| e.height >= low) {
                slice.push(e);
                cur = index.get(&e.header.prev_blockhash);
            }
            for e in slice.into_iter().rev() {
                if picked.len() == free {
                    break;
                }
                let wanted = !e.have_data()
                    && !self.in_flight.contains_key(&e.hash)
                    && !matches!(self.stalled.get(&e.hash), Some((p, _)) if *p == peer);
                if wanted {
                    picked.push(e.hash);
                }
            }
            low = high.saturating_add(1);
        }
        for h in &picked {
            self.in_flight.insert(*h, InFlight { peer, since: now });
        }
        *self.per_peer.entry(peer).or_default() += picked.len();
        picked
    }

    fn forget(&mut self, hash: &BlockHash) -> Option<InFlight> {
        let f = self.in_flight.remove(hash)?;
        if let Some(n) = self.per_peer.get_mut(&f.peer) {
            *n = n.saturating_sub(1);
        }
        Some(f)
    }

    /// A block arrived (from anyone): it is no longer in flight.
    pub fn received(&mut self, hash: &BlockHash) {
        self.forget(hash);
    }

    /// `peer` said it does not have `hash`: someone else may.
    pub fn not_found(&mut self, peer: PeerId, hash: &BlockHash) {
        if self.in_flight.get(hash).is_some_and(|f| f.peer == peer) {
            self.forget(hash);
            self.stalled.insert(*hash, (peer, Instant::now()));
        }
    }

    /// Takes back `peer`'s requests older than [`STALL_TIMEOUT`]; returns how many.
    pub fn release_stalled(&mut self, peer: PeerId, now: Instant) -> usize {
        let stale: Vec<BlockHash> = self
            .in_flight
            .iter()
            .filter(|(_, f)| f.peer == peer && now.duration_since(f.since) > STALL_TIMEOUT)
            .map(|(h, _)| *h)
            .collect();
        for h in &stale {
            self.forget(h);
            self.stalled.insert(*h, (peer, now));
        }
        stale.len()
    }

    /// `peer` disconnected: everything it was asked for is free for others.
    pub fn peer_gone(&mut self, peer: PeerId) {
        self.in_flight.retain(|_, f| f.peer != peer);
        self.per_peer.remove(&peer);
    }

    /// Whether `hash` was asked of `peer` and has not arrived.
    pub fn is_in_flight_from(&self, hash: &BlockHash, peer: PeerId) -> bool {
        self.in_flight.get(hash).is_some_and(|f| f.peer == peer)
    }

    /// Blocks in flight from `peer`.
    pub fn in_flight_from(&self, peer: PeerId) -> usize {
        self.per_peer.get(&peer).copied().unwrap_or(0)
    }

    /// Marks `hash` in flight from `peer` (a block it announced by `cmpctblock`, being
    /// rebuilt), unless another peer was asked for it; returns whether `peer` now has it.
    pub fn claim(&mut self, hash: &BlockHash, peer: PeerId, now: Instant) -> bool {
        match self.in_flight.get(hash) {
            Some(f) => f.peer == peer,
            None => {
                self.in_flight.insert(*hash, InFlight { peer, since: now });
                *self.per_peer.entry(peer).or_default() += 1;
                true
            }
        }
    }

    /// Logs download progress now and then, and when the best header is reached.
    pub fn log_progress(&mut self, height: u32, headers: u32) {
        let now = Instant::now();
        let elapsed = now.duration_since(self.last_log);
        // Reaching the best header after a real download is worth a line; a relayed block or
        // two is not.
        let caught_up = height == headers && height >= self.last_log_height + 16;
        if elapsed < PROGRESS_EVERY && !caught_up {
            return;
        }
        let rate = f64::from(height.saturating_sub(self.last_log_height))
            / elapsed.as_secs_f64().max(0.001);
        if height > self.last_log_height {
            let pct = if headers == 0 {
                100.0
            } else {
                100.0 * f64::from(height) / f64::from(headers)
            };
            info!(target: "net", height, headers, progress = format!("{pct:.1}%"),
                blocks_per_sec = format!("{rate:.1}"), "block download progress");
        }
        self.last_log = now;
        self.last_log_height = height;
    }
}

/// Headers one peer's pre-sync buffer may hold: ten full `headers` messages (1.6 MB).
/// A fork deeper than this below the threshold cannot be followed over P2P (Core's
/// commitment scheme has no such limit; `submitheader` still can).
pub const PRESYNC_MAX_HEADERS: usize = 10 * MAX_HEADERS;
/// Headers all peers' pre-sync buffers may hold together (6.4 MB): the node-wide bound,
/// whatever the number of inbound peers.
pub const PRESYNC_MAX_TOTAL: usize = 4 * PRESYNC_MAX_HEADERS;

/// The node-wide count of buffered pre-sync headers, shared by the peer tasks.
#[derive(Debug, Clone)]
pub struct PresyncBudget {
    used: Arc<AtomicUsize>,
    per_peer: usize,
    total: usize,
}

impl Default for PresyncBudget {
    fn default() -> Self {
        PresyncBudget::new(PRESYNC_MAX_HEADERS, PRESYNC_MAX_TOTAL)
    }
}

impl PresyncBudget {
    /// A budget of `per_peer` headers for one peer and `total` for all.
    pub fn new(per_peer: usize, total: usize) -> Self {
        PresyncBudget {
            used: Arc::new(AtomicUsize::new(0)),
            per_peer,
            total,
        }
    }

    /// Headers buffered now, across peers.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::SeqCst)
    }

    fn reserve(&self, n: usize) -> bool {
        self.used
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |u| {
                u.checked_add(n).filter(|t| *t <= self.total)
            })
            .is_ok()
    }

    fn release(&self, n: usize) {
        self.used.fetch_sub(n, Ordering::SeqCst);
    }
}

/// One peer's header chain that has not reached the anti-DoS threshold yet (a bounded
/// form of Core's `HeadersSyncState`): the headers since the fork point in the index,
/// with their proof of work checked, and the chainwork they end at.
#[derive(Debug)]
pub struct HeadersPresync {
    headers: Vec<BlockHeader>,
    last: BlockHash,
    work: U256,
    budget: PresyncBudget,
}

impl Drop for HeadersPresync {
    fn drop(&mut self) {
        self.budget.release(self.headers.len());
    }
}

impl HeadersPresync {
    /// Headers held.
    pub fn len(&self) -> usize {
        self.headers.len()
    }

    /// Whether it holds nothing (never, once made).
    pub fn is_empty(&self) -> bool {
        self.headers.is_empty()
    }
}

/// What to do with a peer's `headers` message, decided by [`presync_headers`].
#[derive(Debug)]
pub enum Presync {
    /// Hand these to the chain: they reach the threshold (with the buffer before them),
    /// end on a header already stored, or do not connect (the chain answers orphans).
    Store(Vec<BlockHeader>),
    /// Buffered below the threshold: ask the peer for the headers after this one.
    Continue(BlockHash),
    /// The chain ended below the threshold: dropped, nothing stored. `over_budget`
    /// when it was still growing but the buffer bounds were reached.
    TooLittleWork {
        /// Its last header.
        last: BlockHash,
        /// Headers in it.
        count: usize,
        /// It stopped at the bounds rather than at its end.
        over_budget: bool,
    },
    /// An unconnecting run while a pre-sync is under way: an announcement racing the
    /// continuation already asked for; nothing to do.
    Ignore,
    /// A header's proof of work is invalid.
    Invalid(ValidationError),
}

/// Runs one `headers` message (continuous, non-empty) through `pending`, the peer's
/// pre-sync state. `full` says the message was as long as a message may be, so more
/// may follow. Also returns the last header and length of a pre-sync the message abandoned (a new chain
/// from the index instead of the continuation asked for): honest peers continue.
pub fn presync_headers(
    pending: &mut Option<HeadersPresync>,
    index: &BlockIndex,
    params: &Params,
    budget: &PresyncBudget,
    headers: Vec<BlockHeader>,
    full: bool,
) -> (Presync, Option<(BlockHash, usize)>) {
    let Some(first) = headers.first() else {
        return (Presync::Ignore, None);
    };
    let continues = pending
        .as_ref()
        .is_some_and(|p| first.prev_blockhash == p.last);
    let mut abandoned = None;
    let base = if continues {
        None
    } else {
        let Some(parent) = index.get(&first.prev_blockhash) else {
            return if pending.is_some() {
                (Presync::Ignore, None)
            } else {
                (Presync::Store(headers), None)
            };
        };
        // A restart of the same chain (the peer answered a locator again) is no switch.
        if let Some(old) = pending.take() {
            if old.headers.first() != Some(first) {
                abandoned = Some((old.last, old.len()));
            }
        }
        Some(parent.chainwork)
    };
    let last = headers
        .last()
        .map_or(first.prev_blockhash, BlockHeader::block_hash);
    if base.is_some() && index.get(&last).is_some() {
        return (Presync::Store(headers), abandoned);
    }
    for h in &headers {
        if let Err(e) = dotcoin_common::consensus::block::check_proof_of_work(h, params) {
            *pending = None;
            return (Presync::Invalid(e), abandoned);
        }
    }
    let start = base
        .or_else(|| pending.as_ref().map(|p| p.work))
        .unwrap_or_default();
    let work = headers
        .iter()
        .fold(start, |w, h| w.saturating_add(work_from_bits(h.bits)));
    if work >= anti_dos_work_threshold(index.tip()) {
        let all = match pending.take() {
            Some(mut p) => {
                let mut all = std::mem::take(&mut p.headers);
                budget.release(all.len());
                all.extend(headers);
                all
            }
            None => headers,
        };
        return (Presync::Store(all), abandoned);
    }
    let held = pending.as_ref().map_or(0, HeadersPresync::len);
    let count = held + headers.len();
    if !full || count > budget.per_peer || !budget.reserve(headers.len()) {
        *pending = None;
        return (
            Presync::TooLittleWork {
                last,
                count,
                over_budget: full,
            },
            abandoned,
        );
    }
    let p = pending.get_or_insert_with(|| HeadersPresync {
        headers: Vec::new(),
        last,
        work,
        budget: budget.clone(),
    });
    p.headers.extend(headers);
    p.last = last;
    p.work = work;
    (Presync::Continue(last), abandoned)
}

/// A block locator from `from` back to genesis: the last ten blocks one by one, then
/// doubling steps, so a peer finds our fork point with one round trip.
pub fn locator(index: &BlockIndex, from: &BlockHash) -> Vec<BlockHash> {
    let Some(top) = index.get(from) else {
        return index.active_hash(0).into_iter().collect();
    };
    let mut out = Vec::new();
    let mut height = i64::from(top.height);
    let mut step = 1i64;
    loop {
        if let Some(e) = index.ancestor(from, height as u32) {
            out.push(e.hash);
        }
        if height == 0 {
            break;
        }
        if out.len() >= 10 {
            step *= 2;
        }
        height = (height - step).max(0);
    }
    out
}

/// Headers of the active chain after the first locator entry we know (its fork point with
/// the active chain), up to `max` or through `stop`.
pub fn headers_after(
    index: &BlockIndex,
    locator: &[BlockHash],
    stop: &BlockHash,
    max: usize,
) -> Vec<dotcoin_common::BlockHeader> {
    // Only entries on our active chain count (Core's `FindForkInGlobalIndex`): a lookup
    // each, so a locator of side-chain hashes costs no walks.
    let start = locator
        .iter()
        .filter_map(|h| index.get(h))
        .find(|e| index.is_active(e))
        .map_or(1, |e| e.height + 1);
    let mut out = Vec::new();
    for height in start.. {
        let Some(hash) = index.active_hash(height) else {
            break;
        };
        let Some(e) = index.get(&hash) else { break };
        out.push(e.header);
        if hash == *stop || out.len() >= max {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use bitcoin_hashes::Hash;
    use dotcoin_common::{Block, BlockHeader, Network, OutPoint, PubKey, Transaction, TxIn, TxOut};

    use super::*;
    use crate::chain::{ChainState, ChainUpdate};
    use crate::storage::Store;

    /// A regtest chain state in a temporary directory.
    fn chain() -> (tempfile::TempDir, ChainState) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("chainstate"), Network::Regtest).expect("store");
        let chain = ChainState::open(Arc::new(store), Network::Regtest.params()).expect("chain");
        (dir, chain)
    }

    /// A valid block at `height` on `prev`.
    fn block_on(prev: &BlockHeader, height: u32) -> Block {
        let params = Network::Regtest.params();
        let coinbase = Transaction {
            version: 1,
            inputs: vec![TxIn {
                prevout: OutPoint::coinbase(height),
                witness: vec![],
            }],
            outputs: vec![TxOut {
                value: params.subsidy(height),
                pubkey: PubKey([1; 32]),
            }],
            lock_time: 0,
        };
        let (merkle_root, _) =
            dotcoin_common::merkle::merkle_root_of_txs(std::slice::from_ref(&coinbase));
        let mut header = BlockHeader {
            version: 1,
            prev_blockhash: prev.block_hash(),
            merkle_root,
            time: prev.time + 1,
            bits: params.pow_limit,
            nonce: 0,
        };
        dotcoin_common::pow::grind(&mut header, true);
        Block {
            header,
            txdata: vec![coinbase],
        }
    }

    /// `n` blocks on the tip whose headers (only) enter the index.
    fn extend_headers(chain: &mut ChainState, n: u32) -> Vec<Block> {
        let mut prev = chain.tip().header;
        let start = chain.height();
        let now = crate::util::unix_time();
        (1..=n)
            .map(|i| {
                let b = block_on(&prev, start + i);
                chain.accept_header(&b.header, now).expect("valid header");
                prev = b.header;
                b
            })
            .collect()
    }

    #[test]
    fn windows_are_split_between_peers_in_height_order() {
        let (_dir, mut chain) = chain();
        let blocks = extend_headers(&mut chain, 40);
        let best = blocks.last().expect("blocks").block_hash();
        let mut sync = BlockSync::default();
        let now = Instant::now();
        let first = sync.next_requests(chain.index(), 1, &best, now);
        let second = sync.next_requests(chain.index(), 2, &best, now);
        let hashes: Vec<BlockHash> = blocks.iter().map(Block::block_hash).collect();
        assert_eq!(first, hashes[..WINDOW].to_vec());
        assert_eq!(second, hashes[WINDOW..2 * WINDOW].to_vec());
        assert!(
            sync.next_requests(chain.index(), 1, &best, now).is_empty(),
            "window full"
        );
        assert_eq!(sync.in_flight_from(1), WINDOW);

        // A delivered block frees a slot; blocks arriving out of order wait for the gap.
        let mut update = ChainUpdate::new(*chain.tip());
        chain
            .process_block(
                Arc::new(blocks[1].clone()),
                crate::util::unix_time(),
                &mut update,
            )
            .expect("stored");
        sync.received(&hashes[1]);
        assert_eq!(chain.height(), 0, "block 2 waits for block 1");
        assert_eq!(
            sync.next_requests(chain.index(), 1, &best, now),
            vec![hashes[2 * WINDOW]]
        );

        // Stalled requests go back to the pool, and to another peer first.
        let later = now + STALL_TIMEOUT + Duration::from_secs(1);
        assert_eq!(sync.release_stalled(2, later), WINDOW);
        let retaken = sync.next_requests(chain.index(), 3, &best, later);
        assert_eq!(retaken[..WINDOW], hashes[WINDOW..2 * WINDOW]);
        assert!(!sync
            .next_requests(chain.index(), 2, &best, later)
            .contains(&hashes[WINDOW]));

        // A peer that leaves frees everything it held.
        sync.peer_gone(1);
        assert_eq!(sync.in_flight_from(1), 0);
        assert!(sync
            .next_requests(chain.index(), 4, &best, later)
            .contains(&hashes[0]));
    }

    #[test]
    fn windows_follow_each_other_across_scan_slices_up_to_the_lookahead() {
        let (_dir, mut chain) = chain();
        let blocks = extend_headers(&mut chain, LOOKAHEAD + 76);
        let best = blocks.last().expect("blocks").block_hash();
        let hashes: Vec<BlockHash> = blocks.iter().map(Block::block_hash).collect();
        let mut sync = BlockSync::default();
        let now = Instant::now();
        let peers = LOOKAHEAD as usize / WINDOW;
        for peer in 0..peers {
            assert_eq!(
                sync.next_requests(chain.index(), peer as PeerId, &best, now),
                hashes[peer * WINDOW..(peer + 1) * WINDOW].to_vec(),
                "peer {peer}"
            );
        }
        assert!(
            sync.next_requests(chain.index(), peers as PeerId, &best, now)
                .is_empty(),
            "nothing beyond the lookahead"
        );
        // A block given back is asked for again, below the slices already scanned.
        sync.peer_gone(3);
        assert_eq!(
            sync.next_requests(chain.index(), peers as PeerId, &best, now),
            hashes[3 * WINDOW..4 * WINDOW].to_vec()
        );
    }

    #[test]
    fn nothing_is_asked_of_a_peer_whose_chain_is_not_better() {
        let (_dir, mut chain) = chain();
        let genesis = chain.tip().hash;
        let mut sync = BlockSync::default();
        assert!(sync
            .next_requests(chain.index(), 1, &genesis, Instant::now())
            .is_empty());
        let unknown = BlockHash::from_byte_array([7; 32]);
        assert!(sync
            .next_requests(chain.index(), 1, &unknown, Instant::now())
            .is_empty());
        extend_headers(&mut chain, 1);
        assert!(sync
            .next_requests(chain.index(), 1, &genesis, Instant::now())
            .is_empty());
    }

    #[test]
    fn locator_and_headers_after() {
        let (_dir, mut chain) = chain();
        let blocks = extend_headers(&mut chain, 30);
        for b in &blocks {
            let mut update = ChainUpdate::new(*chain.tip());
            chain
                .process_block(Arc::new(b.clone()), crate::util::unix_time(), &mut update)
                .expect("connects");
        }
        assert_eq!(chain.height(), 30);
        let tip = chain.tip().hash;
        let loc = locator(chain.index(), &tip);
        assert_eq!(loc[0], tip);
        assert_eq!(loc.last(), Some(&chain.params().genesis_hash()));
        // Ten one by one, then doubling steps: 30..21, 19, 15, 7, 0.
        assert_eq!(loc.len(), 14);

        // A peer at height 10 gets the headers after it, capped and stopped on request.
        let at_10 = blocks[9].block_hash();
        let after = headers_after(chain.index(), &[at_10], &BlockHash::all_zeros(), 2000);
        assert_eq!(after.len(), 20);
        assert_eq!(after[0], blocks[10].header);
        let capped = headers_after(chain.index(), &[at_10], &BlockHash::all_zeros(), 5);
        assert_eq!(capped.len(), 5);
        let stopped = headers_after(chain.index(), &[at_10], &blocks[14].block_hash(), 2000);
        assert_eq!(stopped.last(), Some(&blocks[14].header));
        // An unknown locator starts after genesis; our own tip gives nothing.
        let unknown = [BlockHash::from_byte_array([7; 32])];
        assert_eq!(
            headers_after(chain.index(), &unknown, &BlockHash::all_zeros(), 2000).len(),
            30
        );
        assert!(headers_after(chain.index(), &[tip], &BlockHash::all_zeros(), 2000).is_empty());
    }

    /// A chain of `n` connected blocks on genesis, and a fork builder from genesis.
    fn connected_chain(n: u32) -> (tempfile::TempDir, ChainState) {
        let (dir, mut chain) = chain();
        for b in extend_headers(&mut chain, n) {
            let mut update = ChainUpdate::new(*chain.tip());
            chain
                .process_block(Arc::new(b), crate::util::unix_time(), &mut update)
                .expect("connects");
        }
        (dir, chain)
    }

    /// `n` headers with valid proof of work on `prev`, told apart by `tag`.
    fn fork(prev: &BlockHeader, n: u32, tag: u8) -> Vec<BlockHeader> {
        dotcoin_common::pow::grind_header_chain(prev, n, tag)
    }

    #[test]
    fn headers_wait_in_a_bounded_buffer_until_they_reach_the_work_threshold() {
        // Tip at 200: the threshold is 200 - 144 = 56 blocks of work.
        let (_dir, chain) = connected_chain(200);
        let index = chain.index();
        let params = chain.params();
        let genesis = index.get(&params.genesis_hash()).expect("genesis").header;
        let budget = PresyncBudget::new(60, 100);
        let run = fork(&genesis, 60, 1);
        let mut pending = None;

        // Two full runs of 20 stay below 56 blocks' work: buffered, nothing stored.
        let (step, abandoned) = presync_headers(
            &mut pending,
            index,
            params,
            &budget,
            run[..20].to_vec(),
            true,
        );
        assert!(
            matches!(step, Presync::Continue(h) if h == run[19].block_hash()),
            "{step:?}"
        );
        assert!(abandoned.is_none());
        let (step, _) = presync_headers(
            &mut pending,
            index,
            params,
            &budget,
            run[20..40].to_vec(),
            true,
        );
        assert!(
            matches!(step, Presync::Continue(h) if h == run[39].block_hash()),
            "{step:?}"
        );
        assert_eq!(budget.used(), 40);
        // The third reaches 60 blocks: the whole chain goes to the index at once.
        let (step, _) = presync_headers(
            &mut pending,
            index,
            params,
            &budget,
            run[40..].to_vec(),
            false,
        );
        let Presync::Store(all) = step else {
            panic!("not stored: {step:?}")
        };
        assert_eq!(all, run);
        assert!(pending.is_none());
        assert_eq!(budget.used(), 0, "the buffer is given back");

        // A run that ends below the threshold is dropped without penalty; one that would
        // outgrow the per-peer bound is dropped as over budget.
        let low = fork(&genesis, 50, 2);
        let (step, _) = presync_headers(
            &mut pending,
            index,
            params,
            &budget,
            low[..30].to_vec(),
            false,
        );
        assert!(
            matches!(
                step,
                Presync::TooLittleWork {
                    count: 30,
                    over_budget: false,
                    ..
                }
            ),
            "{step:?}"
        );
        let tight = PresyncBudget::new(25, 100);
        presync_headers(
            &mut pending,
            index,
            params,
            &tight,
            low[..20].to_vec(),
            true,
        );
        let (step, _) = presync_headers(
            &mut pending,
            index,
            params,
            &tight,
            low[20..40].to_vec(),
            true,
        );
        assert!(
            matches!(
                step,
                Presync::TooLittleWork {
                    count: 40,
                    over_budget: true,
                    ..
                }
            ),
            "{step:?}"
        );
        assert!(pending.is_none());
        assert_eq!(tight.used(), 0);

        // Switching to another chain mid-way is reported; restarting the same one is not.
        presync_headers(
            &mut pending,
            index,
            params,
            &budget,
            low[..20].to_vec(),
            true,
        );
        let (_, abandoned) = presync_headers(
            &mut pending,
            index,
            params,
            &budget,
            low[..20].to_vec(),
            true,
        );
        assert!(abandoned.is_none(), "a restart");
        let other = fork(&genesis, 20, 3);
        let (_, abandoned) =
            presync_headers(&mut pending, index, params, &budget, other.clone(), true);
        assert_eq!(abandoned, Some((low[19].block_hash(), 20)));
        assert_eq!(budget.used(), 20);

        // While it waits, an unconnecting announcement is ignored; with no pre-sync it goes
        // to the chain (which answers orphans).
        let orphan = fork(&run[59], 1, 4);
        let (step, _) =
            presync_headers(&mut pending, index, params, &budget, orphan.clone(), false);
        assert!(matches!(step, Presync::Ignore), "{step:?}");
        let (step, _) = presync_headers(&mut None, index, params, &budget, orphan, false);
        assert!(matches!(step, Presync::Store(_)), "{step:?}");

        // Headers ending on a stored one, and the active chain's next ones, go straight on.
        let tip = *chain.tip();
        let next = fork(&tip.header, 1, 5);
        let (step, _) = presync_headers(&mut None, index, params, &budget, next, false);
        assert!(matches!(step, Presync::Store(_)), "{step:?}");

        // A header without its proof of work ends the pre-sync.
        let mut bad = fork(&other[19], 1, 6);
        dotcoin_common::pow::grind(&mut bad[0], false);
        let (step, _) = presync_headers(&mut pending, index, params, &budget, bad, true);
        assert!(matches!(step, Presync::Invalid(_)), "{step:?}");
        assert_eq!(budget.used(), 0);
    }

    #[test]
    fn the_buffers_of_all_peers_share_one_bound() {
        let (_dir, chain) = connected_chain(200);
        let index = chain.index();
        let params = chain.params();
        let genesis = index.get(&params.genesis_hash()).expect("genesis").header;
        let budget = PresyncBudget::new(30, 50);
        let mut peers: Vec<Option<HeadersPresync>> = (0..3).map(|_| None).collect();
        let steps: Vec<Presync> = peers
            .iter_mut()
            .enumerate()
            .map(|(i, p)| {
                let run = fork(&genesis, 20, 10 + i as u8);
                presync_headers(p, index, params, &budget, run, true).0
            })
            .collect();
        assert!(matches!(steps[0], Presync::Continue(_)));
        assert!(matches!(steps[1], Presync::Continue(_)));
        assert!(
            matches!(
                steps[2],
                Presync::TooLittleWork {
                    over_budget: true,
                    ..
                }
            ),
            "{:?}",
            steps[2]
        );
        assert_eq!(budget.used(), 40);
        // A peer that goes (its task drops the state) gives its share back.
        peers[0] = None;
        assert_eq!(budget.used(), 20);
    }
}
