//! Node benchmarks: miner hash rate on 1 and 2 threads (the kernel the start-up probe
//! chooses, and every kernel this CPU has for comparison), how fast mining stops after a new tip, block connect throughput for blocks of 1 000 signed transactions (fresh, and with
//! their transactions in the pool first), and the cost of
//! connecting a block as the block index grows from 1 000 to 100 000 headers.

use std::io::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bitcoin_hashes::Hash as _;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use dotcoin_common::pow::grind;
use dotcoin_common::sighash::signing::{generate_keypair, pubkey_of, sign_transaction};
use dotcoin_common::{Amount, Block, Network, OutPoint, Transaction, TxIn, TxOut};
use dotcoind::miner::{
    best_kernel, build_template, impossible_header, search, search_with_kernel, Kernel,
    SearchResult,
};
use dotcoind::state::ChainService;

mod support;
use support::{copy_dir, open, spend_output};

const HASHES_PER_ITER: u64 = 1 << 22;

fn miner_hashrate(c: &mut Criterion) {
    let mut g = c.benchmark_group("miner");
    g.throughput(Throughput::Elements(HASHES_PER_ITER));
    g.sample_size(10);
    let choice = best_kernel();
    // `make bench` reads this line for its table: criterion's own output is the only other
    // channel a bench has.
    let _ = writeln!(
        std::io::stderr(),
        "kernel chosen: {} ({})",
        choice.kernel,
        choice.reason()
    );
    let mut kernels = vec![
        (Kernel::Best, "hashes".to_string()),
        (Kernel::Portable, "portable_hashes".to_string()),
    ];
    kernels.extend(
        Kernel::available()
            .into_iter()
            .filter(|k| *k != Kernel::Portable)
            .map(|k| (k, format!("{}_hashes", k.name().replace('-', "_")))),
    );
    for (kernel, name) in kernels {
        for threads in [1usize, 2] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("pool");
            let header = impossible_header();
            g.bench_function(format!("{name}_{threads}_threads"), |b| {
                b.iter(|| {
                    let hashes = AtomicU64::new(0);
                    let cancel = || hashes.load(Ordering::Relaxed) >= HASHES_PER_ITER;
                    assert_eq!(
                        search_with_kernel(&header, kernel, &pool, &cancel, &hashes),
                        SearchResult::Cancelled
                    );
                })
            });
        }
    }
    g.finish();
}

fn mining_stop_latency(c: &mut Criterion) {
    let mut g = c.benchmark_group("miner");
    g.sample_size(20);
    let pool = Arc::new(
        rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .expect("pool"),
    );
    g.bench_function("stop_latency_after_new_tip", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let stop = Arc::new(AtomicBool::new(false));
                let (s, p) = (Arc::clone(&stop), Arc::clone(&pool));
                let worker = std::thread::spawn(move || {
                    let hashes = AtomicU64::new(0);
                    search(
                        &impossible_header(),
                        &p,
                        &|| s.load(Ordering::Relaxed),
                        &hashes,
                    );
                    Instant::now()
                });
                std::thread::sleep(Duration::from_millis(20));
                let signalled = Instant::now();
                stop.store(true, Ordering::Relaxed);
                let ended = worker.join().expect("search thread");
                total += ended.duration_since(signalled);
            }
            total
        })
    });
    g.finish();
}

/// A datadir with 1 000 mature outputs of one key, and a block of 1 000 transactions
/// spending them, not yet connected.
fn prepare_block_of_1000() -> (tempfile::TempDir, Block) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (node, miner) = open(dir.path());
    let kp = generate_keypair();
    let pk = pubkey_of(&kp);
    miner.generate(101, pk, 2, u64::MAX).expect("mine");
    let cb = {
        let s = node.snapshot();
        let h = s.index().active_hash(1).expect("block 1");
        s.block(&h).expect("read").expect("stored").txdata[0].clone()
    };
    let fan_value = Amount::from_sat(4_990_000);
    let spent = cb.outputs[0];
    let mut fan = Transaction {
        version: 1,
        inputs: vec![TxIn {
            prevout: OutPoint {
                txid: cb.txid(),
                vout: 0,
            },
            witness: vec![],
        }],
        outputs: vec![
            TxOut {
                value: fan_value,
                pubkey: pk
            };
            1000
        ],
        lock_time: 0,
    };
    sign_transaction(&mut fan, &[spent], std::slice::from_ref(&kp)).expect("sign");
    node.accept_transaction(&fan).expect("fan-out accepted");
    miner.generate(1, pk, 2, u64::MAX).expect("mine fan-out");
    for vout in 0..1000u32 {
        // 4 990 000 in, 4 980 000 out.
        let tx = spend_output(&kp, &fan, vout, 10_000, pk);
        node.accept_transaction(&tx).expect("spend accepted");
    }
    let mut block = build_template(&node.snapshot(), pk, 7, dotcoind::util::unix_time()).block;
    grind(&mut block.header, true);
    assert_eq!(block.txdata.len(), 1001);
    node.flush();
    drop((node, miner));
    (dir, block)
}

fn connect_block(c: &mut Criterion) {
    let (template_dir, block) = prepare_block_of_1000();
    let mut g = c.benchmark_group("chain");
    g.sample_size(10);
    g.throughput(Throughput::Elements(1000));
    g.bench_function("connect_block_1000_signed_inputs", |b| {
        b.iter_batched(
            || {
                let dir = tempfile::tempdir().expect("tempdir");
                copy_dir(template_dir.path(), dir.path());
                let (node, _) = open(dir.path());
                (dir, node)
            },
            |(_dir, node)| {
                let o = node
                    .process_block(Arc::new(block.clone()))
                    .expect("valid block");
                assert!(o.tip_changed());
            },
            BatchSize::PerIteration,
        )
    });
    // The same block when its transactions were in the pool first, as for a block relayed
    // after its transactions: their signatures are in the signature cache.
    g.bench_function("connect_block_1000_pool_transactions", |b| {
        b.iter_batched(
            || {
                let dir = tempfile::tempdir().expect("tempdir");
                copy_dir(template_dir.path(), dir.path());
                let (node, _) = open(dir.path());
                for tx in &block.txdata[1..] {
                    node.accept_transaction(tx).expect("pool accepts");
                }
                (dir, node)
            },
            |(_dir, node)| {
                let o = node
                    .process_block(Arc::new(block.clone()))
                    .expect("valid block");
                assert!(o.tip_changed());
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

/// A node whose block index holds `n` headers: a headers-only branch from genesis (as
/// during a sync, or a peer's long fork), beside an active chain of 10 blocks.
fn node_with_index(n: usize) -> (tempfile::TempDir, Arc<ChainService>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (node, miner) = open(dir.path());
    let params = Network::Regtest.params();
    let genesis = params.genesis_block().header;
    let mut prev = genesis;
    let mut batch = Vec::with_capacity(2000);
    for i in 0..n {
        let mut h = prev;
        h.prev_blockhash = prev.block_hash();
        h.merkle_root = dotcoin_common::TxMerkleNode::from_byte_array([(i % 251) as u8; 32]);
        h.time = genesis.time + 1 + i as u32;
        h.nonce = 0;
        grind(&mut h, true);
        batch.push(h);
        prev = h;
        if batch.len() == 2000 || i + 1 == n {
            let (_, err) = node.process_headers(&batch);
            assert!(err.is_none(), "{err:?}");
            batch.clear();
        }
    }
    miner
        .generate(10, pubkey_of(&generate_keypair()), 1, u64::MAX)
        .expect("mine");
    assert!(node.snapshot().index().len() > n);
    (dir, node)
}

fn connect_with_index_size(c: &mut Criterion) {
    let mut g = c.benchmark_group("index");
    // Each iteration adds a block, and block times must keep rising past the median of
    // the last 11 while staying within two hours of the clock: a short run keeps the
    // chain's time within that window on any machine.
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(1));
    let pk = pubkey_of(&generate_keypair());
    for n in [1_000usize, 100_000] {
        let (_dir, node) = node_with_index(n);
        let mut extra = 0u64;
        g.bench_function(format!("connect_block_index_{n}"), |b| {
            b.iter(|| {
                extra += 1;
                let mut block =
                    build_template(&node.snapshot(), pk, extra, dotcoind::util::unix_time()).block;
                grind(&mut block.header, true);
                let o = node.process_block(Arc::new(block)).expect("valid block");
                assert!(o.tip_changed());
            })
        });
    }
    g.finish();
}

criterion_group!(
    benches,
    miner_hashrate,
    mining_stop_latency,
    connect_block,
    connect_with_index_size
);
criterion_main!(benches);
