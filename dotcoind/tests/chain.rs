//! Chain state through the library: mining, reorganisations, invalid branches, the
//! mempool across reorgs, and eviction. Each test uses its own temporary datadirs.

use std::sync::Arc;

use bitcoin_hashes::Hash as _;
use dotcoin_common::merkle::merkle_root_of_txs;
use dotcoin_common::pow::grind;
use dotcoin_common::primitives::BlockHeader;
use dotcoin_common::sighash::signing::{generate_keypair, pubkey_of, sign_transaction};
use dotcoin_common::{Amount, Block, Network, OutPoint, PubKey, Transaction, TxIn, TxOut};
use dotcoin_common::{BlockHash, Txid};
use dotcoind::chain::SigKey;
use dotcoind::chain::{utxo_stats, ChainError, ChainTipStatus, ProcessOutcome, UtxoStats};
use dotcoind::mempool::{Mempool, MempoolError, RemovalReason, ReplacementError};
use dotcoind::miner::MinerService;
use dotcoind::state::events::EVENT_BUFFER;
use dotcoind::state::{
    created_outputs, ChainOptions, ChainService, Event, EventBus, OpenError, Snapshot,
};
use secp256k1::Keypair;

/// The chain and miner services of one node, as `dotcoind` wires them.
struct Node {
    chain: Arc<ChainService>,
    miner: Arc<MinerService>,
}

impl Node {
    fn generate(
        &self,
        n: u32,
        to: PubKey,
        threads: usize,
        max_tries: u64,
    ) -> Result<Vec<BlockHash>, ChainError> {
        self.miner.generate(n, to, threads, max_tries)
    }
    fn tip(&self) -> dotcoind::chain::IndexEntry {
        self.chain.tip()
    }
    fn snap(&self) -> Arc<Snapshot> {
        self.chain.snapshot()
    }
    fn process_block(&self, block: &Block) -> Result<ProcessOutcome, ChainError> {
        self.chain.process_block(Arc::new(block.clone()))
    }
    fn accept_transaction(&self, tx: &Transaction) -> Result<Txid, MempoolError> {
        self.chain.accept_transaction(tx)
    }
    fn utxo_stats(&self) -> UtxoStats {
        utxo_stats(self.chain.snapshot().view()).expect("stats")
    }
}

fn open_chain(dir: &tempfile::TempDir) -> Result<Arc<ChainService>, OpenError> {
    ChainService::open(
        ChainOptions {
            datadir: dir.path().to_path_buf(),
            params: Network::Regtest.params(),
            max_mempool_bytes: 5_000_000,
            min_relay_fee: dotcoin_common::FeeRate::from_sat_per_kvb(1000),
            db_cache_bytes: dotcoind::storage::DEFAULT_DB_CACHE_BYTES,
        },
        EventBus::new(),
    )
}

fn open_node(dir: &tempfile::TempDir) -> Node {
    let chain = open_chain(dir).expect("node opens");
    let miner = MinerService::new(Arc::clone(&chain));
    Node { chain, miner }
}

fn key() -> (Keypair, PubKey) {
    let kp = generate_keypair();
    let pk = pubkey_of(&kp);
    (kp, pk)
}

/// Copies the active chain of `from` (heights `range`) into `to`.
fn copy_blocks(from: &Node, to: &Node, range: std::ops::RangeInclusive<u32>) {
    for h in range {
        to.process_block(&block_at(from, h)).expect("valid block");
    }
}

fn block_at(node: &Node, h: u32) -> Block {
    let s = node.snap();
    let hash = s.index().active_hash(h).expect("height exists");
    s.block(&hash).expect("read").expect("stored")
}

/// A signed transaction spending `spent` outputs (with their coins) to `outputs`.
fn spend(inputs: &[(OutPoint, TxOut)], outputs: Vec<TxOut>, key: &Keypair) -> Transaction {
    let mut tx = Transaction {
        version: 1,
        inputs: inputs
            .iter()
            .map(|(op, _)| TxIn {
                prevout: *op,
                witness: vec![],
            })
            .collect(),
        outputs,
        lock_time: 0,
    };
    let spent: Vec<TxOut> = inputs.iter().map(|(_, o)| *o).collect();
    assert_eq!(
        sign_transaction(&mut tx, &spent, std::slice::from_ref(key)).expect("sign"),
        inputs.len()
    );
    tx
}

/// A transaction paying `dot` DOT to `to` from the coinbase at `height`.
fn spend_coinbase(node: &Node, height: u32, to: PubKey, dot: u64, key: &Keypair) -> Transaction {
    spend(
        &[coinbase_out(node, height)],
        vec![TxOut {
            value: Amount::from_dot(dot),
            pubkey: to,
        }],
        key,
    )
}

/// A transaction spending the whole 50-DOT coinbase at `height` to `to`, less `fee_sat`.
fn spend_coinbase_paying_fee(
    node: &Node,
    height: u32,
    to: PubKey,
    fee_sat: u64,
    key: &Keypair,
) -> Transaction {
    spend(
        &[coinbase_out(node, height)],
        vec![TxOut {
            value: Amount::from_dot(50)
                .checked_sub(Amount::from_sat(fee_sat))
                .unwrap(),
            pubkey: to,
        }],
        key,
    )
}

fn coinbase_out(node: &Node, height: u32) -> (OutPoint, TxOut) {
    let b = block_at(node, height);
    let cb = &b.txdata[0];
    (
        OutPoint {
            txid: cb.txid(),
            vout: 0,
        },
        cb.outputs[0],
    )
}

/// A block on `prev` at `height` with `txs`, the coinbase paying `cb_value` to `to`.
fn make_block(
    prev: &BlockHeader,
    height: u32,
    to: PubKey,
    cb_value: Amount,
    txs: Vec<Transaction>,
    tag: u8,
) -> Block {
    let coinbase = Transaction {
        version: 1,
        inputs: vec![TxIn {
            prevout: OutPoint::coinbase(height),
            witness: vec![tag],
        }],
        outputs: vec![TxOut {
            value: cb_value,
            pubkey: to,
        }],
        lock_time: 0,
    };
    let mut txdata = vec![coinbase];
    txdata.extend(txs);
    let mut block = Block {
        header: BlockHeader {
            version: 1,
            prev_blockhash: prev.block_hash(),
            merkle_root: merkle_root_of_txs(&txdata).0,
            time: prev.time + 1,
            bits: prev.bits,
            nonce: 0,
        },
        txdata,
    };
    grind(&mut block.header, true);
    block
}

#[test]
fn mines_200_blocks_and_resumes_after_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, pk) = key();
    let tip = {
        let node = open_node(&dir);
        let hashes = node.generate(200, pk, 2, u64::MAX).expect("mining works");
        assert_eq!(hashes.len(), 200);
        assert_eq!(node.tip().height, 200);
        node.chain.flush();
        node.tip()
    };
    let node = open_node(&dir);
    assert_eq!(node.tip(), tip, "reopening resumes at the stored tip");
    let stats = node.utxo_stats();
    // Genesis plus 200 rewards: 150 × 50 and 51 × 25 after the regtest halving at 150.
    assert_eq!(stats.txouts, 201);
    assert_eq!(stats.total_amount, Amount::from_dot(150 * 50 + 51 * 25));
}

#[test]
fn reorg_to_heavier_branch_matches_fresh_node() {
    let (da, db, dc) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let (a, b) = (open_node(&da), open_node(&db));
    let (_, ka) = key();
    let (_, kb) = key();
    a.generate(3, ka, 1, u64::MAX).expect("mine");
    copy_blocks(&a, &b, 1..=3);
    a.generate(4, ka, 1, u64::MAX).expect("mine"); // A: height 7
    b.generate(6, kb, 1, u64::MAX).expect("mine"); // B: height 9, forks after 3
    let a_tip_before = a.tip();
    for h in 4..=9 {
        a.process_block(&block_at(&b, h))
            .expect("valid branch block");
    }
    assert_eq!(a.tip().hash, b.tip().hash, "A moved to the heavier branch");
    assert_ne!(a.tip().hash, a_tip_before.hash);
    // A fresh node that only ever saw B's branch.
    let c = open_node(&dc);
    copy_blocks(&b, &c, 1..=9);
    let (sa, sc) = (a.utxo_stats(), c.utxo_stats());
    assert_eq!(sa, sc, "same UTXO set after a reorg of depth 4");
    let tips = a.snap().index().chain_tips();
    assert!(
        tips.iter()
            .any(|t| t.status == ChainTipStatus::ValidFork && t.branchlen == 4),
        "{tips:?}"
    );
}

#[test]
fn invalid_block_on_heavier_branch_leaves_node_on_valid_chain() {
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (a, b) = (open_node(&da), open_node(&db));
    let (_, k) = key();
    a.generate(2, k, 1, u64::MAX).unwrap();
    copy_blocks(&a, &b, 1..=2);
    a.generate(2, k, 1, u64::MAX).unwrap(); // A at 4
    b.generate(1, k, 1, u64::MAX).unwrap(); // y1 at 3
    let y1 = block_at(&b, 3).header;
    let subsidy = Network::Regtest.params().subsidy(4);
    // y2 pays itself one unit more than allowed; y3, y4 build on it.
    let y2 = make_block(
        &y1,
        4,
        k,
        subsidy.checked_add(Amount::from_sat(1)).unwrap(),
        vec![],
        2,
    );
    let y3 = make_block(
        &y2.header,
        5,
        k,
        Network::Regtest.params().subsidy(5),
        vec![],
        3,
    );
    let y4 = make_block(
        &y3.header,
        6,
        k,
        Network::Regtest.params().subsidy(6),
        vec![],
        4,
    );
    let tip = a.tip();
    a.process_block(&block_at(&b, 3))
        .expect("side branch block is valid");
    a.process_block(&y2)
        .expect("equal work: stored, first seen stays active");
    assert_eq!(a.tip(), tip);
    let err = a
        .process_block(&y3)
        .expect_err("heavier: connecting the branch fails at y2");
    assert!(matches!(err, ChainError::InvalidAncestor { .. }), "{err}");
    assert_eq!(a.tip(), tip, "still on the valid chain");
    let tips = a.snap().index().chain_tips();
    assert!(
        tips.iter()
            .any(|t| t.status == ChainTipStatus::Invalid && t.hash == y3.block_hash()),
        "{tips:?}"
    );
    // Blocks on the invalid branch are refused at once from now on.
    let err = a
        .process_block(&y4)
        .expect_err("builds on an invalid block");
    assert!(matches!(err, ChainError::InvalidAncestor { .. }), "{err}");
    assert_eq!(a.tip(), tip);
}

#[test]
fn disconnected_transactions_return_to_mempool_unless_they_conflict() {
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (a, b) = (open_node(&da), open_node(&db));
    let (kp, pk) = key();
    let (_, other) = key();
    a.generate(102, pk, 2, u64::MAX).unwrap();
    copy_blocks(&a, &b, 1..=102);
    // Coinbases 1 and 2 are mature for a spend in block 103.
    let tx1 = spend_coinbase(&a, 1, other, 49, &kp);
    let tx2 = spend_coinbase(&a, 2, other, 49, &kp);
    a.accept_transaction(&tx1).expect("tx1 valid");
    a.accept_transaction(&tx2).expect("tx2 valid");
    a.generate(1, pk, 1, u64::MAX).unwrap(); // block 103 confirms tx1 and tx2
    assert!(a.snap().mempool().is_empty());
    // B's branch spends coinbase 2 differently and is two blocks long.
    let tx2b = spend_coinbase(&b, 2, pk, 48, &kp);
    b.accept_transaction(&tx2b).unwrap();
    b.generate(2, other, 1, u64::MAX).unwrap();
    for h in 103..=104 {
        a.process_block(&block_at(&b, h)).unwrap();
    }
    assert_eq!(a.tip().hash, b.tip().hash);
    let s = a.snap();
    assert!(s.mempool().contains(&tx1.txid()), "tx1 came back");
    assert!(
        !s.mempool().contains(&tx2.txid()),
        "tx2 conflicts with the new chain"
    );
    assert_eq!(s.mempool().len(), 1);
}

#[test]
fn block_wins_a_double_spend_against_the_mempool() {
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (a, b) = (open_node(&da), open_node(&db));
    let (kp, pk) = key();
    let (_, other) = key();
    a.generate(101, pk, 2, u64::MAX).unwrap();
    copy_blocks(&a, &b, 1..=101);
    let in_pool = spend_coinbase(&a, 1, other, 49, &kp);
    // The same fee at the same size: no replacement (its fee rate is not higher).
    let in_block = spend_coinbase(&a, 1, pk, 49, &kp);
    a.accept_transaction(&in_pool).unwrap();
    let err = a.accept_transaction(&in_block).expect_err("conflict");
    assert!(
        matches!(&err, MempoolError::Replacement(ReplacementError::FeeRateNotHigher { conflicting, .. }) if *conflicting == in_pool.txid()),
        "{err}"
    );
    assert_eq!(err.reject_reason(), "insufficient fee");
    b.accept_transaction(&in_block).unwrap();
    b.generate(1, pk, 1, u64::MAX).unwrap();
    a.process_block(&block_at(&b, 102)).unwrap();
    let s = a.snap();
    assert!(s.mempool().is_empty(), "the pool's double spend is gone");
    assert!(s.tx_location(&in_block.txid()).unwrap().is_some());
}

#[test]
fn eviction_drops_lowest_fee_rate_first() {
    let dir = tempfile::tempdir().unwrap();
    let node = open_node(&dir);
    let (kp, pk) = key();
    let (_, other) = key();
    node.generate(105, pk, 2, u64::MAX).unwrap();
    // Fees 1, 2, 3, 4, 5 thousand units: equal sizes, rising fee rates.
    let txs: Vec<Transaction> = (1..=5)
        .map(|h| spend_coinbase_paying_fee(&node, h, other, u64::from(h) * 1000, &kp))
        .collect();
    let size = txs[0].size();
    let snap = node.snap();
    let chain: &Snapshot = &snap;
    // Room for exactly three transactions.
    let mut pool = Mempool::new(size * 3, dotcoin_common::FeeRate::from_sat_per_kvb(1000));
    for tx in &txs[..3] {
        pool.accept(tx, chain).unwrap();
    }
    pool.accept(&txs[3], chain).expect("evicts the cheapest");
    assert!(!pool.contains(&txs[0].txid()), "lowest fee rate evicted");
    pool.accept(&txs[4], chain).unwrap();
    assert!(!pool.contains(&txs[1].txid()));
    let err = pool
        .accept(&txs[0], chain)
        .expect_err("too cheap for a full pool");
    // Refused before it is tried: the evictions raised the pool's minimum fee above it.
    assert!(matches!(err, MempoolError::MinFeeNotMet { .. }), "{err}");
    assert_eq!(pool.len(), 3);
}

/// Core's rolling minimum fee: what a full pool evicts sets a floor (its rate plus the
/// incremental relay fee) that a new transaction must pay even when it would fit, until the
/// floor decays after the next block: by half per 12 hours while the pool is at least half
/// full, and to nothing once under half the relay fee.
#[test]
fn eviction_raises_a_rolling_minimum_fee_that_decays_after_a_block() {
    let dir = tempfile::tempdir().unwrap();
    let node = open_node(&dir);
    let (kp, pk) = key();
    let (_, other) = key();
    node.generate(106, pk, 2, u64::MAX).unwrap();
    let relay = dotcoin_common::FeeRate::from_sat_per_kvb(1000);
    // Fees 10, 20, 30, 40 thousand units at equal sizes, then one of 25 thousand.
    let txs: Vec<Transaction> = (1..=4)
        .map(|h| spend_coinbase_paying_fee(&node, h, other, u64::from(h) * 10_000, &kp))
        .collect();
    let between = spend_coinbase_paying_fee(&node, 5, other, 25_000, &kp);
    let size = txs[0].size();
    let snap = node.snap();
    let chain: &Snapshot = &snap;
    let mut pool = Mempool::new(size * 3, relay);
    let now = dotcoind::util::unix_time();
    assert_eq!(pool.min_fee_at(now), dotcoin_common::FeeRate::ZERO);
    for tx in &txs[..3] {
        pool.accept(tx, chain).unwrap();
    }
    assert_eq!(
        pool.min_fee_at(now),
        dotcoin_common::FeeRate::ZERO,
        "nothing evicted yet"
    );
    pool.accept(&txs[3], chain).expect("evicts the cheapest");
    let evicted = dotcoin_common::FeeRate::from_fee_and_size(Amount::from_sat(10_000), size);
    let floor = dotcoin_common::FeeRate::from_sat_per_kvb(
        evicted.to_sat_per_kvb() + relay.to_sat_per_kvb(),
    );
    assert_eq!(
        pool.min_fee_at(now),
        floor,
        "the evicted rate plus the relay fee"
    );
    // Room is made by a block confirming one of them; the floor stays until it decays.
    pool.remove_for_block(&Block {
        header: block_at(&node, 106).header,
        txdata: vec![block_at(&node, 106).txdata[0].clone(), txs[1].clone()],
    });
    assert_eq!(pool.len(), 2);
    let err = pool
        .accept(
            &spend_coinbase_paying_fee(&node, 6, other, 10_000 + size as u64 / 2, &kp),
            chain,
        )
        .expect_err("more than the evicted, less than the floor, though there is room");
    assert!(matches!(err, MempoolError::MinFeeNotMet { .. }), "{err}");
    assert_eq!(err.reject_reason(), "mempool min fee not met");
    pool.accept(&between, chain).expect("over the floor");
    // Now full again (3 of 3): the half-life is 12 hours.
    let t = dotcoind::util::unix_time();
    let half = pool.min_fee_at(t + dotcoind::mempool::ROLLING_FEE_HALFLIFE);
    let want = floor.to_sat_per_kvb() as f64 / 2.0;
    assert!(
        (half.to_sat_per_kvb() as f64 - want).abs() <= want * 0.001 + 1.0,
        "{half} after one half-life of {floor}"
    );
    assert_eq!(
        pool.min_fee_at(t + 40 * dotcoind::mempool::ROLLING_FEE_HALFLIFE),
        dotcoin_common::FeeRate::ZERO,
        "decayed below half the relay fee: gone"
    );
}

/// A reorg puts the disconnected blocks' transactions back before the pool's own, and a
/// full pool then evicts some of them again. What anyone outside sees must add up: no
/// removal of a transaction never announced, and one removal per transaction.
#[test]
fn a_reorg_into_a_full_pool_reports_each_visible_removal_once() {
    let dir = tempfile::tempdir().unwrap();
    let node = open_node(&dir);
    let (kp, pk) = key();
    let (_, other) = key();
    node.generate(105, pk, 2, u64::MAX).unwrap();
    let pay = |height, fee_sat| spend_coinbase_paying_fee(&node, height, other, fee_sat, &kp);
    // In the pool before the reorg: x (fee 2 000) and y (6 000). Back from the
    // disconnected blocks: c (3 000), d (4 000), e (1 000). Room for three.
    let (x, y) = (pay(1, 2000), pay(2, 6000));
    let (c, d, e) = (pay(3, 3000), pay(4, 4000), pay(5, 1000));
    let snap = node.snap();
    let chain: &Snapshot = &snap;
    let mut pool = Mempool::new(
        x.size() * 3,
        dotcoin_common::FeeRate::from_sat_per_kvb(1000),
    );
    pool.accept(&x, chain).unwrap();
    pool.accept(&y, chain).unwrap();
    assert!(pool.take_removed().is_empty());

    // c, d, e fill the pool; x evicts e; y evicts x.
    let back = pool.readd_after_reorg(vec![c.clone(), d.clone(), e.clone()], chain);
    let mut in_pool: Vec<Txid> = pool.entries().iter().map(|e| e.txid).collect();
    in_pool.sort();
    let mut want = vec![c.txid(), d.txid(), y.txid()];
    want.sort();
    assert_eq!(in_pool, want);
    assert_eq!(
        back,
        vec![c.txid(), d.txid()],
        "e entered and left within the reorg: never in the pool as far as anyone knows"
    );
    assert_eq!(
        pool.take_removed(),
        vec![(x.txid(), RemovalReason::Evicted)],
        "x left once, and e was never announced"
    );
}

#[test]
fn continuous_mining_stops_promptly() {
    let dir = tempfile::tempdir().unwrap();
    let node = open_node(&dir);
    let (_, pk) = key();
    node.miner.start(pk, 2);
    let start = node.tip().height;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while node.tip().height < start + 5 {
        assert!(
            std::time::Instant::now() < deadline,
            "the miner made no progress"
        );
        std::thread::yield_now();
    }
    let asked = std::time::Instant::now();
    node.miner.stop();
    // The benchmark measures well under a millisecond; this bound only catches a miner
    // that ignores its stop flag, even on a loaded 2-core machine.
    assert!(
        asked.elapsed() < std::time::Duration::from_secs(5),
        "took {:?}",
        asked.elapsed()
    );
    assert!(!node.miner.is_mining());
    let h = node.tip().height;
    node.generate(1, pk, 1, u64::MAX).unwrap();
    assert_eq!(
        node.tip().height,
        h + 1,
        "nothing else mines after the stop"
    );
}

/// Every event the subscriber has received so far, without waiting.
fn drain(rx: &mut tokio::sync::broadcast::Receiver<Event>) -> Vec<Event> {
    let mut out = Vec::new();
    loop {
        match rx.try_recv() {
            Ok(e) => out.push(e),
            Err(tokio::sync::broadcast::error::TryRecvError::Empty) => return out,
            Err(e) => panic!("subscriber failed: {e}"),
        }
    }
}

/// A block on `prev` at `height` paying `to` the subsidy, mined on regtest.
fn next_block(
    prev: &BlockHeader,
    height: u32,
    to: PubKey,
    txs: Vec<Transaction>,
    tag: u8,
) -> Block {
    make_block(
        prev,
        height,
        to,
        Network::Regtest.params().subsidy(height),
        txs,
        tag,
    )
}

#[test]
fn invalidateblock_reorg_is_reported_in_order_and_reconsiderblock_restores() {
    let dir = tempfile::tempdir().unwrap();
    let a = open_node(&dir);
    let (kp, pk) = key();
    let (_, other) = key();
    a.generate(103, pk, 2, u64::MAX).unwrap();
    // Three blocks x1..x3, each confirming one spend of a mature coinbase.
    let txs: Vec<Transaction> = (1..=3)
        .map(|h| spend_coinbase(&a, h, other, 49, &kp))
        .collect();
    let fork = a.tip();
    let mut prev = fork.header;
    let mut main = Vec::new();
    for (i, tx) in txs.iter().enumerate() {
        let b = next_block(&prev, fork.height + 1 + i as u32, pk, vec![tx.clone()], 10);
        prev = b.header;
        main.push(b);
    }
    // A side branch of two empty blocks from the same fork point: less work, stored.
    let y1 = next_block(&fork.header, fork.height + 1, other, vec![], 20);
    let y2 = next_block(&y1.header, fork.height + 2, other, vec![], 21);
    for b in &main {
        a.process_block(b).expect("main branch connects");
    }
    a.process_block(&y1).expect("side block stored");
    a.process_block(&y2).expect("side block stored");
    let main_tip = a.tip();
    assert_eq!(main_tip.hash, main[2].block_hash());
    assert!(a.snap().mempool().is_empty());

    let mut rx = a.chain.subscribe();
    let update = a
        .chain
        .invalidate_block(&main[0].block_hash())
        .expect("invalidate");
    assert_eq!(update.disconnected.len(), 3);
    assert_eq!(a.tip().hash, y2.block_hash(), "the side branch is now best");

    let hashes = |bs: &[&Block]| bs.iter().map(|b| b.block_hash()).collect::<Vec<_>>();
    let events = drain(&mut rx);
    let disconnected: Vec<BlockHash> = events
        .iter()
        .filter_map(|e| match e {
            Event::BlockDisconnected(b) => Some(b.hash),
            _ => None,
        })
        .collect();
    let connected: Vec<BlockHash> = events
        .iter()
        .filter_map(|e| match e {
            Event::BlockConnected(b) => Some(b.hash),
            _ => None,
        })
        .collect();
    assert_eq!(
        disconnected,
        hashes(&[&main[2], &main[1], &main[0]]),
        "tip first"
    );
    assert_eq!(connected, hashes(&[&y1, &y2]));
    // Each main block held one 49-DOT spend of a 50-DOT coinbase, and its own coinbase
    // claimed the subsidy only: the events report the fee paid, not the fee claimed.
    for e in &events {
        match e {
            Event::BlockDisconnected(b) => assert_eq!(
                (b.tx_count, b.value_out, b.fees),
                (2, Amount::from_dot(49), Amount::from_dot(1)),
                "{b:?}"
            ),
            Event::BlockConnected(b) => assert_eq!(
                (b.tx_count, b.value_out, b.fees),
                (1, Amount::ZERO, Amount::ZERO),
                "{b:?}"
            ),
            _ => {}
        }
    }
    let positions = |pred: &dyn Fn(&Event) -> bool| {
        events
            .iter()
            .enumerate()
            .filter(|(_, e)| pred(e))
            .map(|(i, _)| i)
            .collect::<Vec<_>>()
    };
    let last_disconnect = *positions(&|e| matches!(e, Event::BlockDisconnected { .. }))
        .last()
        .unwrap();
    let first_connect = positions(&|e| matches!(e, Event::BlockConnected { .. }))[0];
    let tip_changed = positions(&|e| matches!(e, Event::TipChanged { .. }));
    assert!(last_disconnect < first_connect);
    assert_eq!(tip_changed.len(), 1);
    assert!(
        tip_changed[0] > first_connect,
        "the tip event follows the blocks"
    );
    match &events[tip_changed[0]] {
        Event::TipChanged {
            hash,
            previous,
            reorg: Some(r),
            ..
        } => {
            assert_eq!(*hash, y2.block_hash());
            assert_eq!(*previous, main_tip.hash);
            assert_eq!(r.depth, 3);
            assert_eq!(r.fork_point, fork.hash);
        }
        other => panic!("expected a reorg, got {other:?}"),
    }
    let returned: Vec<Txid> = events
        .iter()
        .filter_map(|e| match e {
            Event::TxAccepted { txid, .. } => Some(*txid),
            _ => None,
        })
        .collect();
    let mut expected: Vec<Txid> = txs.iter().map(|t| t.txid()).collect();
    let mut got = returned.clone();
    expected.sort();
    got.sort();
    assert_eq!(
        got, expected,
        "the three transactions went back to the pool"
    );
    let snap = a.snap();
    for tx in &txs {
        assert!(snap.mempool().contains(&tx.txid()));
    }
    let tips = snap.index().chain_tips();
    assert!(
        tips.iter()
            .any(|t| t.hash == main_tip.hash && t.status == ChainTipStatus::Invalid),
        "{tips:?}"
    );

    // reconsiderblock brings the original tip back and the transactions leave the pool
    // as confirmed.
    a.chain
        .reconsider_block(&main[0].block_hash())
        .expect("reconsider");
    assert_eq!(a.tip(), main_tip);
    let events = drain(&mut rx);
    let removed: Vec<(Txid, RemovalReason, u64)> = events
        .iter()
        .filter_map(|e| match e {
            Event::TxRemoved {
                txid,
                reason,
                mempool_sequence,
                ..
            } => Some((*txid, *reason, *mempool_sequence)),
            _ => None,
        })
        .collect();
    assert_eq!(removed.len(), 3, "{events:?}");
    assert!(removed
        .iter()
        .all(|(_, r, _)| *r == RemovalReason::Confirmed));
    assert!(a.snap().mempool().is_empty());
    // Each removal took the pool's next number, and the snapshot published with them
    // stands past the last.
    let numbers: Vec<u64> = removed.iter().map(|r| r.2).collect();
    let next = a.snap().mempool().mempool_sequence();
    assert_eq!(numbers, vec![next - 3, next - 2, next - 1], "{events:?}");
    let connected: Vec<BlockHash> = events
        .iter()
        .filter_map(|e| match e {
            Event::BlockConnected(b) => Some(b.hash),
            _ => None,
        })
        .collect();
    assert_eq!(connected, hashes(&[&main[0], &main[1], &main[2]]));
}

#[test]
fn a_restarted_miner_does_not_find_an_invalidated_block_again() {
    let dir = tempfile::tempdir().unwrap();
    let a = open_node(&dir);
    let (_, pk) = key();
    // 200 quick blocks put the chain's times ahead of the clock (each block must be later
    // than the median of the last 11), so every template's time is the median plus one
    // whatever the clock says: a template depends on the chain, key and extra-nonce alone.
    a.generate(200, pk, 1, u64::MAX).expect("mining works");
    assert!(
        u64::from(a.tip().header.time) > dotcoind::util::unix_time() + 5,
        "the chain runs ahead of the clock"
    );
    // A new miner service starts its extra-nonce over, as after a restart; one thread
    // makes the nonce search deterministic too.
    let first = MinerService::new(Arc::clone(&a.chain))
        .generate(1, pk, 1, u64::MAX)
        .expect("mines")[0];
    a.chain.invalidate_block(&first).unwrap();
    let again = MinerService::new(Arc::clone(&a.chain))
        .generate(1, pk, 1, u64::MAX)
        .expect("mines a block other than the invalidated one");
    assert_eq!(again.len(), 1);
    assert_ne!(again[0], first);
    assert_eq!(a.tip().hash, again[0]);
    assert_eq!(a.tip().height, 201);
}

#[test]
fn invalidateblock_refuses_unknown_and_genesis() {
    let dir = tempfile::tempdir().unwrap();
    let a = open_node(&dir);
    let genesis = Network::Regtest.params().genesis_hash();
    assert!(matches!(
        a.chain.invalidate_block(&genesis),
        Err(ChainError::InvalidateGenesis)
    ));
    let unknown = BlockHash::from_byte_array([9; 32]);
    for r in [
        a.chain.invalidate_block(&unknown),
        a.chain.reconsider_block(&unknown),
        a.chain.precious_block(&unknown),
    ] {
        assert!(matches!(r, Err(ChainError::UnknownBlock(h)) if h == unknown));
    }
}

#[test]
fn preciousblock_switches_between_equal_work_tips() {
    let dir = tempfile::tempdir().unwrap();
    let a = open_node(&dir);
    let (_, pk) = key();
    a.generate(2, pk, 1, u64::MAX).unwrap();
    let base = a.tip();
    let x = next_block(&base.header, 3, pk, vec![], 1);
    let y = next_block(&base.header, 3, pk, vec![], 2);
    a.process_block(&x).unwrap();
    a.process_block(&y).unwrap();
    assert_eq!(a.tip().hash, x.block_hash(), "first seen wins a tie");
    a.chain.precious_block(&y.block_hash()).unwrap();
    assert_eq!(a.tip().hash, y.block_hash(), "precious wins the tie");
    a.chain.precious_block(&x.block_hash()).unwrap();
    assert_eq!(a.tip().hash, x.block_hash(), "the newest precious wins");
    // A block with less work than the tip is not made the tip.
    a.generate(1, pk, 1, u64::MAX).unwrap();
    let tip = a.tip();
    a.chain.precious_block(&y.block_hash()).unwrap();
    assert_eq!(a.tip(), tip);
}

#[test]
fn a_subscriber_that_never_reads_lags_and_never_holds_up_the_writer() {
    let dir = tempfile::tempdir().unwrap();
    let a = open_node(&dir);
    let (_, pk) = key();
    let mut stalled = a.chain.subscribe();
    // Each block makes at least three events (stored, connected, tip changed): far more
    // than the buffer holds.
    let blocks = (EVENT_BUFFER / 2) as u32;
    a.generate(blocks, pk, 1, u64::MAX).unwrap();
    assert_eq!(a.tip().height, blocks, "the writer finished every block");
    match stalled.try_recv() {
        Err(tokio::sync::broadcast::error::TryRecvError::Lagged(n)) => {
            assert!(n > 0);
        }
        other => panic!("expected a lag notice, got {other:?}"),
    }
    // After the notice the subscriber resumes with the newest events and resyncs from
    // a snapshot.
    let latest = drain(&mut stalled);
    assert!(!latest.is_empty());
    assert!(latest.len() <= EVENT_BUFFER);
    assert_eq!(a.snap().tip().height, blocks);
}

#[test]
fn a_bogus_body_under_an_honest_header_does_not_condemn_the_real_block() {
    let dir = tempfile::tempdir().unwrap();
    let a = open_node(&dir);
    let (_, pk) = key();
    a.generate(2, pk, 1, u64::MAX).unwrap();
    let tip = a.tip();
    let real = next_block(&tip.header, tip.height + 1, pk, vec![], 7);
    // The real header with: no transactions, a second coinbase appended, and a body of
    // thousands of copies of the coinbase (oversized).
    let empty = Block {
        header: real.header,
        txdata: vec![],
    };
    let mut two_coinbases = real.clone();
    two_coinbases.txdata.push(real.txdata[0].clone());
    let mut oversized = real.clone();
    oversized.txdata = vec![real.txdata[0].clone(); 20_000];
    for bogus in [&empty, &two_coinbases, &oversized] {
        let err = a
            .process_block(bogus)
            .expect_err("a body the header does not commit to");
        assert!(
            matches!(
                err,
                ChainError::Invalid(
                    dotcoin_common::consensus::ValidationError::BadMerkleRoot { .. }
                ) | ChainError::Invalid(dotcoin_common::consensus::ValidationError::MerkleMutated)
            ),
            "{err}"
        );
        let entry = *a
            .snap()
            .index()
            .get(&real.block_hash())
            .expect("header kept");
        assert!(!entry.is_failed(), "the header is not marked invalid");
    }
    let o = a
        .process_block(&real)
        .expect("the real block still connects");
    assert!(o.tip_changed());
    assert_eq!(a.tip().hash, real.block_hash());
}

#[test]
fn a_parent_and_child_from_two_disconnected_blocks_both_return_to_the_pool() {
    let dir = tempfile::tempdir().unwrap();
    let a = open_node(&dir);
    let (kp, pk) = key();
    a.generate(101, pk, 2, u64::MAX).unwrap();
    let parent = spend_coinbase(&a, 1, pk, 49, &kp);
    let child = spend(
        &[(
            OutPoint {
                txid: parent.txid(),
                vout: 0,
            },
            parent.outputs[0],
        )],
        vec![TxOut {
            value: Amount::from_dot(48),
            pubkey: pk,
        }],
        &kp,
    );
    let fork = a.tip();
    let b1 = next_block(&fork.header, fork.height + 1, pk, vec![parent.clone()], 1);
    let b2 = next_block(&b1.header, fork.height + 2, pk, vec![child.clone()], 2);
    a.process_block(&b1).unwrap();
    a.process_block(&b2).unwrap();
    assert!(a.snap().mempool().is_empty());
    // Both blocks leave the chain: the parent (older block) must be offered first, or the
    // child is dropped for a missing input.
    a.chain.invalidate_block(&b1.block_hash()).unwrap();
    let snap = a.snap();
    assert!(snap.mempool().contains(&parent.txid()), "parent back");
    assert!(snap.mempool().contains(&child.txid()), "child back");
}

#[test]
fn a_block_stored_but_not_connected_before_a_crash_connects_at_restart() {
    use dotcoind::storage::{
        status, Batch, BlockByHash, BlockIndexByHash, Store, StoredIndexEntry,
    };
    let dir = tempfile::tempdir().unwrap();
    let (_, pk) = key();
    let (tip, block) = {
        let a = open_node(&dir);
        a.generate(3, pk, 1, u64::MAX).unwrap();
        let tip = a.tip();
        a.chain.flush();
        (tip, next_block(&tip.header, tip.height + 1, pk, vec![], 9))
    };
    // The state a crash leaves between the two writes of process_block: the block and its
    // index entry are stored (with data), the tip and UTXO set are not yet moved.
    {
        let store = Store::open(&dir.path().join("chainstate"), Network::Regtest).unwrap();
        let parent = store.get::<BlockIndexByHash>(&tip.hash).unwrap().unwrap();
        let work = ruint::aliases::U256::from_be_bytes(parent.chainwork)
            + dotcoin_common::pow::work_from_bits(block.header.bits);
        let mut batch = Batch::default();
        batch.put::<BlockByHash>(&block.block_hash(), &block);
        batch.put::<BlockIndexByHash>(
            &block.block_hash(),
            &StoredIndexEntry {
                header: block.header,
                height: tip.height + 1,
                chainwork: work.to_be_bytes(),
                status: status::HAVE_DATA,
                sequence: parent.sequence + 1,
            },
        );
        store.commit(batch).unwrap();
    }
    let a = open_node(&dir);
    assert_eq!(
        a.tip().hash,
        block.block_hash(),
        "the stored block connects at start-up, with no new block arriving"
    );
    assert_eq!(a.utxo_stats().height, tip.height + 1);
}

#[test]
fn a_crash_before_the_coins_cache_is_flushed_replays_its_blocks_at_restart() {
    use dotcoin_common::consensus::Coin;
    use dotcoind::storage::{Batch, Meta, MetaKey, Store, UtxoByOutpoint};
    let dir = tempfile::tempdir().unwrap();
    let (kp, pk) = key();
    let (tip, stats, short_lived) = {
        let a = open_node(&dir);
        a.generate(101, pk, 2, u64::MAX).unwrap();
        a.chain.flush();
        // Block 102 splits coinbase 1; block 103 spends one half: a coin created and
        // spent while the cache holds both blocks.
        let tx1 = spend(
            &[coinbase_out(&a, 1)],
            vec![
                TxOut {
                    value: Amount::from_dot(20),
                    pubkey: pk,
                },
                TxOut {
                    value: Amount::from_dot(29),
                    pubkey: pk,
                },
            ],
            &kp,
        );
        a.accept_transaction(&tx1).unwrap();
        a.generate(1, pk, 1, u64::MAX).unwrap();
        let half = OutPoint {
            txid: tx1.txid(),
            vout: 0,
        };
        let tx2 = spend(
            &[(half, tx1.outputs[0])],
            vec![TxOut {
                value: Amount::from_dot(19),
                pubkey: pk,
            }],
            &kp,
        );
        a.accept_transaction(&tx2).unwrap();
        a.generate(2, pk, 1, u64::MAX).unwrap();
        let short_lived = Coin {
            output: tx1.outputs[0],
            height: 102,
            is_coinbase: false,
        };
        // Dropped without a flush: what a crash leaves.
        (a.tip(), a.utxo_stats(), (half, short_lived))
    };
    {
        let store =
            Arc::new(Store::open(&dir.path().join("chainstate"), Network::Regtest).unwrap());
        let on_disk = store.get::<Meta>(&MetaKey::Tip).unwrap().unwrap();
        let coins_tip = store.get::<Meta>(&MetaKey::CoinsTip).unwrap().unwrap();
        assert_eq!(on_disk, dotcoin_common::serialize(&tip.hash));
        assert_ne!(coins_tip, on_disk, "the UTXO set on disk is behind the tip");
        assert_ne!(
            utxo_stats(&store.view()).unwrap().hash,
            stats.hash,
            "and differs from the node's"
        );
        assert_eq!(store.get::<UtxoByOutpoint>(&short_lived.0).unwrap(), None);
        // A flush cut short by the crash wrote one of the lost changes: the short-lived
        // coin's creation, without its spending.
        let mut batch = Batch::default();
        batch.create_coin(short_lived.0, short_lived.1, false);
        store.commit(batch).unwrap();
    }
    let a = open_node(&dir);
    assert_eq!(a.tip(), tip);
    assert_eq!(
        a.utxo_stats(),
        stats,
        "the blocks after the coins tip were replayed, the half-written coin deleted"
    );
    assert_eq!(
        a.snap().view().get::<Meta>(&MetaKey::CoinsTip).unwrap(),
        Some(dotcoin_common::serialize(&tip.hash)),
        "and the replay flushed"
    );
}

#[test]
fn a_datadir_from_before_the_coins_cache_records_its_coins_tip_before_caching() {
    use dotcoind::storage::{Batch, Meta, MetaKey, Store};
    let dir = tempfile::tempdir().unwrap();
    let (_, pk) = key();
    let first = {
        let a = open_node(&dir);
        a.generate(5, pk, 1, u64::MAX).unwrap();
        a.chain.flush();
        a.tip()
    };
    {
        // What an older node left: every block's coins written with it, no coins tip.
        let store = Store::open(&dir.path().join("chainstate"), Network::Regtest).unwrap();
        let mut batch = Batch::default();
        batch.delete::<Meta>(&MetaKey::CoinsTip);
        store.commit(batch).unwrap();
    }
    let (tip, stats) = {
        let a = open_node(&dir);
        assert_eq!(
            a.snap().view().get::<Meta>(&MetaKey::CoinsTip).unwrap(),
            Some(dotcoin_common::serialize(&first.hash)),
            "recorded at the first start"
        );
        a.generate(3, pk, 1, u64::MAX).unwrap();
        // Dropped without a flush: the three blocks' coins are only in the cache.
        (a.tip(), a.utxo_stats())
    };
    let a = open_node(&dir);
    assert_eq!(a.tip(), tip);
    assert_eq!(a.utxo_stats(), stats, "the three blocks were replayed");
}

#[test]
fn a_corrupt_coins_tip_or_undo_data_is_refused_at_start_with_the_reason() {
    use dotcoind::storage::{Batch, Meta, MetaKey, Store, UndoByHash};
    let dir = tempfile::tempdir().unwrap();
    let (_, pk) = key();
    let (first, tip) = {
        let a = open_node(&dir);
        a.generate(1, pk, 1, u64::MAX).unwrap();
        a.chain.flush();
        let first = a.tip();
        a.generate(2, pk, 1, u64::MAX).unwrap();
        a.chain.flush();
        (first, a.tip())
    };
    let open = || open_chain(&dir);
    let set = |coins_tip: &[u8], drop_undo_of: Option<BlockHash>| {
        let store = Store::open(&dir.path().join("chainstate"), Network::Regtest).unwrap();
        let mut batch = Batch::default();
        batch.put::<Meta>(&MetaKey::CoinsTip, &coins_tip.to_vec());
        if let Some(hash) = drop_undo_of {
            batch.delete::<UndoByHash>(&hash);
        }
        store.commit(batch).unwrap();
    };
    let unknown = BlockHash::from_byte_array([7; 32]);
    let last_undo = Some(tip.hash);
    for (coins_tip, drop_undo, reason) in [
        (vec![1, 2, 3], None, "entry in meta: unexpected end"),
        (
            dotcoin_common::serialize(&unknown),
            None,
            "meta: invalid value: the UTXO set's block is not on the active chain",
        ),
        (
            dotcoin_common::serialize(&first.hash),
            last_undo,
            "in undo_by_hash: invalid value: a connected block's undo data is missing",
        ),
    ] {
        set(&coins_tip, drop_undo);
        let err = open().expect_err("refused").to_string();
        assert!(err.contains(reason), "{err}");
    }
    // With the coins tip back at the tip nothing is replayed, and the datadir opens.
    set(&dotcoin_common::serialize(&tip.hash), None);
    let a = open().expect("opens");
    assert_eq!(a.snapshot().tip().hash, tip.hash);
}

#[test]
fn a_snapshot_watcher_is_woken_by_each_change_and_keeps_its_old_view() {
    let dir = tempfile::tempdir().unwrap();
    let a = open_node(&dir);
    let (_, pk) = key();
    let mut rx = a.chain.watch_snapshots();
    let before = rx.borrow_and_update().clone();
    assert!(!rx.has_changed().unwrap());
    a.generate(1, pk, 1, u64::MAX).unwrap();
    assert!(
        rx.has_changed().unwrap(),
        "a new block publishes a snapshot"
    );
    assert_eq!(rx.borrow_and_update().height(), 1);
    // A snapshot taken earlier is a consistent view of its own moment.
    assert_eq!(before.height(), 0);
    assert!(before.index().active_hash(1).is_none());
}

/// A chain of `n` pool transactions, each spending the previous one's only output and
/// paying `fee(i)` base units, starting from the coinbase at height 1.
fn unconfirmed_chain(
    node: &Node,
    n: usize,
    kp: &Keypair,
    pk: PubKey,
    fee: impl Fn(usize) -> u64,
) -> Vec<Transaction> {
    let mut prev = coinbase_out(node, 1);
    let mut txs = Vec::new();
    for i in 0..n {
        let value = Amount::from_sat(prev.1.value.to_sat() - fee(i));
        let tx = spend(&[prev], vec![TxOut { value, pubkey: pk }], kp);
        prev = (
            OutPoint {
                txid: tx.txid(),
                vout: 0,
            },
            tx.outputs[0],
        );
        txs.push(tx);
    }
    txs
}

#[test]
fn a_thirty_transaction_chain_is_refused_at_the_twenty_sixth() {
    let dir = tempfile::tempdir().unwrap();
    let a = open_node(&dir);
    let (kp, pk) = key();
    a.generate(101, pk, 2, u64::MAX).unwrap();
    let chain = unconfirmed_chain(&a, 30, &kp, pk, |_| 10_000);
    for (i, tx) in chain.iter().enumerate() {
        let r = a.accept_transaction(tx);
        if i < 25 {
            r.unwrap_or_else(|e| panic!("transaction {} of the chain: {e}", i + 1));
        } else if i > 25 {
            // Its parent, the 26th, never entered.
            assert!(r.is_err());
        } else {
            let e = r.expect_err("past the ancestor limit");
            assert_eq!(e.reject_reason(), "too-long-mempool-chain", "{e}");
            assert!(
                e.to_string()
                    .contains("too many unconfirmed ancestors [limit: 25]"),
                "{e}"
            );
        }
    }
    assert_eq!(a.snap().mempool().len(), 25);
}

#[test]
fn a_parent_with_twenty_five_descendants_takes_no_more_children() {
    let dir = tempfile::tempdir().unwrap();
    let a = open_node(&dir);
    let (kp, pk) = key();
    a.generate(101, pk, 2, u64::MAX).unwrap();
    let fan = spend(
        &[coinbase_out(&a, 1)],
        (0..30)
            .map(|_| TxOut {
                value: Amount::from_dot(1),
                pubkey: pk,
            })
            .collect(),
        &kp,
    );
    a.accept_transaction(&fan).unwrap();
    for vout in 0..30u32 {
        let child = spend(
            &[(
                OutPoint {
                    txid: fan.txid(),
                    vout,
                },
                fan.outputs[vout as usize],
            )],
            vec![TxOut {
                value: Amount::from_sat(99_990_000),
                pubkey: pk,
            }],
            &kp,
        );
        let r = a.accept_transaction(&child);
        if vout < 24 {
            r.unwrap_or_else(|e| panic!("child {vout}: {e}"));
        } else {
            let e = r.expect_err("past the descendant limit");
            assert_eq!(e.reject_reason(), "too-long-mempool-chain");
            assert!(e.to_string().contains("too many descendants for tx"), "{e}");
        }
    }
    assert_eq!(a.snap().mempool().len(), 25);
}

#[test]
fn templates_take_a_chain_whose_children_pay_more_parents_first() {
    let dir = tempfile::tempdir().unwrap();
    let a = open_node(&dir);
    let (kp, pk) = key();
    a.generate(101, pk, 2, u64::MAX).unwrap();
    // Each child pays more than its parent: a fee-rate sort alone would put them in
    // reverse order, so selection must wait for parents.
    let chain = unconfirmed_chain(&a, 20, &kp, pk, |i| 1_000 + 1_000 * i as u64);
    for tx in &chain {
        a.accept_transaction(tx).unwrap();
    }
    let picked: Vec<Txid> = a
        .snap()
        .mempool()
        .select_for_block(1_000_000)
        .into_iter()
        .map(|(tx, _)| tx.txid())
        .collect();
    let want: Vec<Txid> = chain.iter().map(|t| t.txid()).collect();
    assert_eq!(picked, want);
    // Only room for part of the chain: a prefix, never a child without its parent.
    let size = chain[0].size();
    let some = a.snap().mempool().select_for_block(size * 5 + size / 2);
    assert_eq!(some.len(), 5);
    assert_eq!(some[4].0.txid(), want[4]);
    let hashes = a.generate(1, pk, 1, u64::MAX).unwrap();
    let block = a.snap().block(&hashes[0]).unwrap().unwrap();
    assert_eq!(block.txdata.len(), 21, "the whole chain is mined at once");
}

/// A pre-verifier may guess the coins a block spends wrongly (or be fed wrong ones by a
/// peer's earlier blocks); what it caches then only matches those guessed coins, and the
/// writer checks the block against the real ones.
#[test]
fn preverified_signatures_count_only_for_the_coins_really_spent() {
    let dir = tempfile::tempdir().unwrap();
    let node = open_node(&dir);
    let (owner, owner_pk) = key();
    let (thief, thief_pk) = key();
    node.generate(102, owner_pk, 1, u64::MAX).expect("mined");
    let tip = node.tip();
    let subsidy = Network::Regtest.params().subsidy(tip.height + 1);

    // The thief signs for coinbase 1 as if it paid the thief's key, and an earlier block
    // (never connected) "created" it that way.
    let (op, real) = coinbase_out(&node, 1);
    let fake = TxOut {
        value: real.value,
        pubkey: thief_pk,
    };
    let theft = spend(&[(op, fake)], vec![fake], &thief);
    let bad = make_block(
        &tip.header,
        tip.height + 1,
        owner_pk,
        subsidy,
        vec![theft.clone()],
        1,
    );
    let mut forged = dotcoind::state::CreatedOutputs::default();
    forged.insert(op, fake);
    node.chain
        .preverify_block(&bad, &created_outputs(&bad), &[Arc::new(forged)]);
    assert!(
        node.chain
            .sigcache()
            .contains(&SigKey::new(&theft, &[fake])),
        "the signature is valid for the guessed coin"
    );
    match node.process_block(&bad) {
        Err(ChainError::Invalid(e)) => {
            assert!(e.to_string().contains("signature"), "{e}")
        }
        other => panic!("the theft connected or failed otherwise: {other:?}"),
    }
    assert_eq!(node.tip().hash, tip.hash);

    // Positive control: an honest spend, pre-verified from the UTXO set, connects, and its
    // entry is used up.
    let honest = spend_coinbase(&node, 2, owner_pk, 1, &owner);
    let good = make_block(
        &tip.header,
        tip.height + 1,
        owner_pk,
        subsidy,
        vec![honest.clone()],
        2,
    );
    node.chain
        .preverify_block(&good, &created_outputs(&good), &[]);
    let honest_key = SigKey::new(&honest, &[coinbase_out(&node, 2).1]);
    assert!(node.chain.sigcache().contains(&honest_key));
    node.process_block(&good).expect("honest block connects");
    assert_eq!(node.tip().hash, good.block_hash());
    assert!(
        !node.chain.sigcache().contains(&honest_key),
        "taken by the writer"
    );
}

/// A transaction the pool accepted had its signatures checked against the coins it spends;
/// the block that confirms it finds that in the signature cache instead of checking again.
#[test]
fn a_pool_transactions_signatures_are_not_checked_again_in_its_block() {
    let dir = tempfile::tempdir().unwrap();
    let node = open_node(&dir);
    let (owner, owner_pk) = key();
    node.generate(101, owner_pk, 1, u64::MAX).expect("mined");
    let tx = spend_coinbase(&node, 1, owner_pk, 1, &owner);
    let key = SigKey::new(&tx, &[coinbase_out(&node, 1).1]);
    assert!(!node.chain.sigcache().contains(&key));
    node.accept_transaction(&tx).expect("accepted");
    assert!(node.chain.sigcache().contains(&key), "cached on acceptance");
    // A BIP23 proposal of a block holding it changes nothing, the cache included: the
    // block mined from that template still finds the entry.
    let tip = node.tip();
    let proposal = make_block(
        &tip.header,
        tip.height + 1,
        owner_pk,
        Amount::from_dot(25),
        vec![tx.clone()],
        7,
    );
    assert_eq!(node.chain.check_proposal(&proposal).expect("checked"), None);
    assert!(
        node.chain.sigcache().contains(&key),
        "a proposal takes no entry"
    );
    node.generate(1, owner_pk, 1, u64::MAX).expect("mined");
    assert!(
        node.snap().tx_location(&tx.txid()).expect("read").is_some(),
        "confirmed"
    );
    assert!(!node.chain.sigcache().contains(&key), "used by the block");
}
