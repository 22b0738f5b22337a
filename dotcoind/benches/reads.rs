//! Read-path benchmarks: what a reader holding a chain snapshot costs the block writer
//! (1 000 blocks of signed spends connected with and without one held throughout), and
//! the dashboard's address page of an address paid by 5 000 coinbases, measured as the
//! handler's work ([`dotcoind::dashboard::address_page`]) against a real store in a
//! temporary datadir.

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use dotcoin_common::pow::grind;
use dotcoin_common::sighash::signing::{generate_keypair, pubkey_of, sign_transaction};
use dotcoin_common::{Address, Amount, Block, Network, OutPoint, Transaction, TxIn, TxOut};
use dotcoind::dashboard::{address_page, AddressQuery, ADDRESS_PAGE};
use dotcoind::miner::build_template;

mod support;
use support::{copy_dir, open, spend_output};

/// Blocks connected per measured run.
const BLOCKS: usize = 1000;
/// Signed spends in each.
const SPENDS_PER_BLOCK: usize = 4;
/// Fan-out transactions of 1 000 outputs making the coins they spend.
const FANS: usize = BLOCKS * SPENDS_PER_BLOCK / 1000;

/// A datadir with `BLOCKS * SPENDS_PER_BLOCK` mature outputs of one key, and `BLOCKS`
/// blocks on top of it (not connected there), each with `SPENDS_PER_BLOCK` signed
/// transactions spending them: built by connecting them on a copy, then kept.
fn prepare_chain() -> (tempfile::TempDir, Vec<Block>) {
    let base = tempfile::tempdir().expect("tempdir");
    let kp = generate_keypair();
    let pk = pubkey_of(&kp);
    // Fan-outs of 1 000 outputs each (a standard size), from coinbases 1, 2, …
    let fans: Vec<Transaction> = {
        let (node, miner) = open(base.path());
        miner
            .generate(100 + FANS as u32, pk, 2, u64::MAX)
            .expect("mine");
        let s = node.snapshot();
        let fans: Vec<Transaction> = (1..=FANS as u32)
            .map(|height| {
                let h = s.index().active_hash(height).expect("block");
                let cb = s.block(&h).expect("read").expect("stored").txdata[0].clone();
                let value = Amount::from_sat((cb.outputs[0].value.to_sat() - 10_000_000) / 1000);
                let mut fan = Transaction {
                    version: 1,
                    inputs: vec![TxIn {
                        prevout: OutPoint {
                            txid: cb.txid(),
                            vout: 0,
                        },
                        witness: vec![],
                    }],
                    outputs: vec![TxOut { value, pubkey: pk }; 1000],
                    lock_time: 0,
                };
                sign_transaction(&mut fan, &[cb.outputs[0]], std::slice::from_ref(&kp))
                    .expect("sign");
                node.accept_transaction(&fan).expect("fan-out accepted");
                fan
            })
            .collect();
        miner.generate(1, pk, 2, u64::MAX).expect("mine fan-outs");
        node.flush();
        fans
    };
    let building = tempfile::tempdir().expect("tempdir");
    copy_dir(base.path(), building.path());
    let (node, _miner) = open(building.path());
    let mut blocks = Vec::with_capacity(BLOCKS);
    for b in 0..BLOCKS {
        for s in 0..SPENDS_PER_BLOCK {
            let n = b * SPENDS_PER_BLOCK + s;
            let (fan, vout) = (&fans[n / 1000], (n % 1000) as u32);
            let tx = spend_output(&kp, fan, vout, 10_000, pk);
            node.accept_transaction(&tx).expect("spend accepted");
        }
        let mut block =
            build_template(&node.snapshot(), pk, b as u64, dotcoind::util::unix_time()).block;
        grind(&mut block.header, true);
        assert_eq!(block.txdata.len(), SPENDS_PER_BLOCK + 1);
        assert!(node
            .process_block(Arc::new(block.clone()))
            .expect("valid")
            .tip_changed());
        blocks.push(block);
    }
    (base, blocks)
}

/// Connects `blocks` on a fresh copy of `base`; with `hold`, a reader takes a snapshot
/// before the first and holds it (reading from it) until the last has connected.
fn connect_all(base: &std::path::Path, blocks: &[Block], hold: bool) -> Duration {
    let dir = tempfile::tempdir().expect("tempdir");
    copy_dir(base, dir.path());
    let (node, _miner) = open(dir.path());
    let held = hold.then(|| node.snapshot());
    let started = Instant::now();
    for block in blocks {
        assert!(node
            .process_block(Arc::new(block.clone()))
            .expect("valid")
            .tip_changed());
    }
    let took = started.elapsed();
    if let Some(snap) = held {
        // The held view still reads its own moment.
        assert_eq!(snap.height() + BLOCKS as u32, node.snapshot().height());
    }
    took
}

fn connect_with_a_held_snapshot(c: &mut Criterion) {
    let (base, blocks) = prepare_chain();
    let mut g = c.benchmark_group("reads");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(100))
        .measurement_time(Duration::from_secs(20));
    g.throughput(Throughput::Elements(BLOCKS as u64));
    for (name, hold) in [
        ("connect_1000_blocks", false),
        ("connect_1000_blocks_snapshot_held", true),
    ] {
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| connect_all(base.path(), &blocks, hold))
                    .sum()
            })
        });
    }
    g.finish();
}

/// Coinbases paying the address of the page benchmark.
const COINBASES: u32 = 5000;

fn address_page_of_a_miner(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (node, miner) = open(dir.path());
    let pk = pubkey_of(&generate_keypair());
    miner.generate(COINBASES, pk, 2, u64::MAX).expect("mine");
    let addr = Address::new(Network::Regtest, pk).to_string();
    let mut g = c.benchmark_group("reads");
    g.sample_size(20);
    let check = |v: &serde_json::Value| {
        assert_eq!(v["utxo_count"], COINBASES);
        assert_eq!(v["utxos"].as_array().map(Vec::len), Some(ADDRESS_PAGE));
        assert_eq!(v["history"].as_array().map(Vec::len), Some(ADDRESS_PAGE));
    };
    for (name, flushed) in [
        ("address_page_5000_coinbases_cached", false),
        ("address_page_5000_coinbases_on_disk", true),
    ] {
        if flushed {
            // The coins cache written out: every row comes from RocksDB.
            node.flush();
        }
        let snap = node.snapshot();
        let first = address_page(&snap, &addr, &AddressQuery::default()).expect("page");
        check(&first);
        g.bench_function(name, |b| {
            b.iter(|| check(&address_page(&snap, &addr, &AddressQuery::default()).expect("page")))
        });
        // A page from the middle, by the cursors a "More" click sends.
        let mut q = AddressQuery::default();
        let mut v = first;
        for _ in 0..40 {
            q = AddressQuery {
                utxos_after: v["next"]["utxos_after"].as_str().map(str::to_owned),
                history_before: v["next"]["history_before"].as_str().map(str::to_owned),
            };
            v = address_page(&snap, &addr, &q).expect("page");
        }
        g.bench_function(format!("{name}_page_41"), |b| {
            b.iter(|| check(&address_page(&snap, &addr, &q).expect("page")))
        });
    }
    g.finish();
}

criterion_group!(
    benches,
    connect_with_a_held_snapshot,
    address_page_of_a_miner
);
criterion_main!(benches);
