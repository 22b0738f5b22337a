//! Node benchmarks: miner hash rate on 1 and 2 threads, how fast mining stops after a new
//! tip, and block connect throughput for blocks of 1 000 signed transactions.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use dotcoin_common::primitives::CompactTarget;
use dotcoin_common::sighash::signing::{generate_keypair, pubkey_of, sign_transaction};
use dotcoin_common::{Amount, Block, Network, OutPoint, Transaction, TxIn, TxOut};
use dotcoind::miner::{search, SearchResult};
use dotcoind::node::{Node, NodeOptions};

const HASHES_PER_ITER: u64 = 1 << 22;

fn impossible_header() -> dotcoin_common::primitives::BlockHeader {
    let mut h = Network::Main.params().genesis_block().header;
    // Only an all-zero hash would meet it: the search runs until cancelled.
    h.bits = CompactTarget(0x0300_0001);
    h
}

fn miner_hashrate(c: &mut Criterion) {
    let mut g = c.benchmark_group("miner");
    g.throughput(Throughput::Elements(HASHES_PER_ITER));
    g.sample_size(10);
    for threads in [1usize, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("pool");
        let header = impossible_header();
        g.bench_function(format!("hashes_{threads}_threads"), |b| {
            b.iter(|| {
                let hashes = AtomicU64::new(0);
                let cancel = || hashes.load(Ordering::Relaxed) >= HASHES_PER_ITER;
                assert_eq!(
                    search(&header, &pool, &cancel, &hashes),
                    SearchResult::Cancelled
                );
            })
        });
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
    let opts = NodeOptions {
        datadir: dir.path().to_path_buf(),
        params: Network::Regtest.params(),
        max_mempool_bytes: 50_000_000,
        min_relay_fee: 1000,
    };
    let node = Node::open(opts.clone()).expect("open");
    let kp = generate_keypair();
    let pk = pubkey_of(&kp);
    node.generate(101, pk, 2, u64::MAX).expect("mine");
    let cb = {
        let s = node.state();
        let h = s.chain.index().active_hash(1).expect("block 1");
        s.chain.block(&h).expect("read").expect("stored").txdata[0].clone()
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
    node.generate(1, pk, 2, u64::MAX).expect("mine fan-out");
    for vout in 0..1000u32 {
        let mut tx = Transaction {
            version: 1,
            inputs: vec![TxIn {
                prevout: OutPoint {
                    txid: fan.txid(),
                    vout,
                },
                witness: vec![],
            }],
            outputs: vec![TxOut {
                value: Amount::from_sat(4_980_000),
                pubkey: pk,
            }],
            lock_time: 0,
        };
        sign_transaction(
            &mut tx,
            &[fan.outputs[vout as usize]],
            std::slice::from_ref(&kp),
        )
        .expect("sign");
        node.accept_transaction(&tx).expect("spend accepted");
    }
    let block = {
        let s = node.state();
        let mut t = dotcoind::miner::build_template(
            &s.chain,
            &s.mempool,
            pk,
            7,
            dotcoind::util::unix_time(),
        )
        .block;
        while dotcoin_common::consensus::block::check_proof_of_work(
            &t.header,
            Network::Regtest.params(),
        )
        .is_err()
        {
            t.header.nonce += 1;
        }
        t
    };
    assert_eq!(block.txdata.len(), 1001);
    node.shutdown();
    drop(node);
    (dir, block)
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let dest = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), dest).expect("copy");
        }
    }
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
                let node = Node::open(NodeOptions {
                    datadir: dir.path().to_path_buf(),
                    params: Network::Regtest.params(),
                    max_mempool_bytes: 50_000_000,
                    min_relay_fee: 1000,
                })
                .expect("open copy");
                (dir, node)
            },
            |(_dir, node)| {
                let o = node.process_block(&block).expect("valid block");
                assert!(o.tip_changed);
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group!(benches, miner_hashrate, mining_stop_latency, connect_block);
criterion_main!(benches);
