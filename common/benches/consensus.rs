//! Throughput of the consensus hot paths, for the README's figures:
//!
//! - `header_hash/plain`: SHA-256d of a whole 80-byte header per nonce
//!   (`BlockHeader::block_hash`), as validation hashes a header;
//! - `header_hash/midstate`: the miner's way — the first 64 header bytes (version, previous
//!   hash, 28 bytes of merkle root) hashed once, then per nonce only the last 16 bytes from
//!   that midstate and the second SHA-256;
//! - `schnorr_verify/bip340`: one BIP340 verification (`sighash::verify_signature`), key
//!   parsing included, cycling through 512 distinct keys and signatures as libsecp256k1's
//!   own benchmark does; `…/bip340_two_threads` is the same on both cores at once (two
//!   cores verify less than twice what one does alone: they share the host's core, caches
//!   and clock); `…/bip340_one_signature` verifies one signature again and again;
//! - `block_decode`: `deserialize::<Block>` of a ~1 MB block of signed transactions.
//!
//! Run with `cargo bench -p dotcoin-common --features signing` (it signs its fixtures).

use std::hint::black_box;

use bitcoin_hashes::{sha256, Hash, HashEngine};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

use dotcoin_common::consensus::MAX_BLOCK_SIZE;
use dotcoin_common::sighash::{signature_hash, signing, verify_signature};
use dotcoin_common::{
    deserialize, serialize, Amount, Block, BlockHash, BlockHeader, Network, OutPoint, Transaction,
    TxIn, TxOut, Txid,
};

/// The header bytes that change with the nonce: the last 4 of the merkle root, time,
/// bits and nonce.
const TAIL: usize = 16;

fn sample_header() -> BlockHeader {
    let genesis = Network::Main.params().genesis_block();
    BlockHeader {
        prev_blockhash: genesis.block_hash(),
        time: genesis.header.time + 10,
        ..genesis.header
    }
}

/// SHA-256d of a header from the midstate of its first 64 bytes.
fn hash_from_midstate(midstate: sha256::Midstate, tail: &[u8; TAIL]) -> BlockHash {
    let mut engine = sha256::HashEngine::from_midstate(midstate, 64);
    engine.input(tail);
    let first = sha256::Hash::from_engine(engine);
    BlockHash::from_byte_array(sha256::Hash::hash(first.as_byte_array()).to_byte_array())
}

fn header_hashing(c: &mut Criterion) {
    let mut header = sample_header();
    let bytes = header.to_bytes();
    let mut engine = sha256::HashEngine::default();
    engine.input(&bytes[..64]);
    let midstate = engine.midstate();
    let mut tail: [u8; TAIL] = bytes[64..].try_into().expect("80 - 64 = 16 bytes");

    // Both ways must agree, or the midstate figure measures the wrong thing.
    for nonce in [0u32, 1, 0xdead_beef] {
        header.nonce = nonce;
        tail[12..].copy_from_slice(&nonce.to_le_bytes());
        assert_eq!(
            hash_from_midstate(midstate, &tail),
            header.block_hash(),
            "nonce {nonce}"
        );
    }

    let mut group = c.benchmark_group("header_hash");
    group.throughput(Throughput::Elements(1));
    group.bench_function("plain", |b| {
        b.iter(|| {
            header.nonce = header.nonce.wrapping_add(1);
            black_box(header.block_hash())
        })
    });
    let mut nonce = 0u32;
    group.bench_function("midstate", |b| {
        b.iter(|| {
            nonce = nonce.wrapping_add(1);
            tail[12..].copy_from_slice(&nonce.to_le_bytes());
            black_box(hash_from_midstate(black_box(midstate), &tail))
        })
    });
    group.finish();
}

/// A transaction spending one 50-DOT output of `key` into two, signed.
fn signed_spend(n: u32, key: &secp256k1::Keypair) -> (Transaction, TxOut) {
    let pubkey = signing::pubkey_of(key);
    let spent = TxOut {
        value: Amount::from_dot(50),
        pubkey,
    };
    let txid = Txid::from_raw_hash(bitcoin_hashes::sha256d::Hash::hash(&n.to_le_bytes()));
    let mut tx = Transaction {
        version: 1,
        inputs: vec![TxIn {
            prevout: OutPoint { txid, vout: 0 },
            witness: Vec::new(),
        }],
        outputs: vec![
            TxOut {
                value: Amount::from_dot(30),
                pubkey,
            },
            TxOut {
                value: Amount::from_dot(19),
                pubkey,
            },
        ],
        lock_time: 0,
    };
    signing::sign_transaction(&mut tx, &[spent], std::slice::from_ref(key))
        .expect("one spent output for one input");
    (tx, spent)
}

/// Distinct signatures the verification benchmark cycles through.
const VERIFY_FIXTURES: u32 = 512;

fn schnorr_verify(c: &mut Criterion) {
    // Each fixture has its own key, message and signature, as in libsecp256k1's own
    // `bench_schnorrsig` and as a block's inputs come: verifying one signature again and
    // again lets the branch predictor learn its data-dependent branches (the wNAF digits,
    // the variable-time inverse), which no real input allows.
    let fixtures: Vec<_> = (0..VERIFY_FIXTURES)
        .map(|n| {
            let key = signing::generate_keypair();
            let (tx, spent) = signed_spend(n, &key);
            let sighash = signature_hash(&tx, 0, &[spent]).expect("input 0 exists");
            let witness = tx.inputs[0].witness.clone();
            verify_signature(&sighash, &witness, &spent.pubkey).expect("freshly signed");
            (sighash, witness, spent.pubkey)
        })
        .collect();

    let mut group = c.benchmark_group("schnorr_verify");
    group.throughput(Throughput::Elements(1));
    let mut next = fixtures.iter().cycle();
    group.bench_function("bip340", |b| {
        b.iter(|| {
            let (sighash, witness, pubkey) = next.next().expect("a cycle never ends");
            verify_signature(black_box(sighash), black_box(witness), black_box(pubkey))
        })
    });
    // Both cores at once, each on its own half of the fixtures: what "V2" names, since the
    // node verifies on both cores together and they share the host's caches and clock.
    group.throughput(Throughput::Elements(2));
    group.bench_function("bip340_two_threads", |b| {
        b.iter_custom(|iters| {
            let start = std::time::Instant::now();
            std::thread::scope(|s| {
                for half in fixtures.chunks(fixtures.len() / 2) {
                    s.spawn(move || {
                        for (sighash, witness, pubkey) in half.iter().cycle().take(iters as usize) {
                            let _ = black_box(verify_signature(
                                black_box(sighash),
                                black_box(witness),
                                black_box(pubkey),
                            ));
                        }
                    });
                }
            });
            start.elapsed()
        })
    });
    group.throughput(Throughput::Elements(1));
    // The same signature every time, for comparison with the row above.
    let (sighash, witness, pubkey) = &fixtures[0];
    group.bench_function("bip340_one_signature", |b| {
        b.iter(|| verify_signature(black_box(sighash), black_box(witness), black_box(pubkey)))
    });
    group.finish();
}

/// A block of signed one-in-two-out transactions just under `MAX_BLOCK_SIZE`.
fn full_block() -> Block {
    let key = signing::generate_keypair();
    let mut block = Network::Regtest.params().genesis_block().clone();
    let tx_size = signed_spend(0, &key).0.size();
    let mut n = 0;
    while block.size() + tx_size + 4 <= MAX_BLOCK_SIZE {
        n += 1;
        block.txdata.push(signed_spend(n, &key).0);
    }
    block.header.merkle_root = block.compute_merkle_root().0;
    block
}

fn block_decode(c: &mut Criterion) {
    let block = full_block();
    let bytes = serialize(&block);
    assert_eq!(deserialize::<Block>(&bytes).as_ref(), Ok(&block));

    let mut group = c.benchmark_group("block_decode");
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.bench_function(
        format!("{}_txs_{}_bytes", block.txdata.len(), bytes.len()),
        |b| b.iter(|| deserialize::<Block>(black_box(&bytes)).expect("valid block")),
    );
    group.finish();
}

criterion_group!(benches, header_hashing, schnorr_verify, block_decode);
criterion_main!(benches);
