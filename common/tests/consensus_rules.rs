//! Every consensus rule in `dotcoin_common::consensus::{block, header, tx}`, broken one at
//! a time.
//!
//! Each test starts from a fully valid regtest block (real BIP340 signatures, a mined
//! header, a coinbase paying exactly subsidy + fees), changes one thing so that exactly one
//! rule breaks, and asserts the exact [`ValidationError`] (fields included) and its reject
//! reason, both from the rule's own function and from the aggregate check the node calls
//! (`check_block`, `check_transaction`, `check_header_contextual`, `check_block_spends`,
//! `check_signatures`). The unchanged fixture passes every rule, and each boundary passes
//! on its valid side (exactly `MAX_BLOCK_SIZE`, exactly mature, time = median + 1, ...).
//! The genesis blocks of both networks pass full validation and their hashes are pinned.
//!
//! Needs the `signing` feature: `cargo test -p dotcoin-common --all-features`.

use std::collections::HashMap;
use std::fmt::Debug;

use bitcoin_hashes::{sha256d, Hash};
use secp256k1::Keypair;

use dotcoin_common::consensus::block::{
    check_block, check_block_size, check_block_spends, check_coinbase_position,
    check_coinbase_value, check_merkle_root, check_proof_of_work,
};
use dotcoin_common::consensus::header::{
    check_bits, check_header_contextual, check_time_after_median, check_time_not_too_new,
    check_timewarp, expected_bits, HeaderContext,
};
use dotcoin_common::consensus::tx::{
    check_coinbase_height, check_coinbase_maturity, check_coinbase_witness_size, check_has_inputs,
    check_has_outputs, check_no_duplicate_inputs, check_no_null_prevouts, check_output_values,
    check_signatures, check_transaction, check_transaction_full, check_tx_inputs,
    check_value_balance,
};
use dotcoin_common::consensus::{Coin, ValidationError, MAX_BLOCK_SIZE, MAX_COINBASE_WITNESS};
use dotcoin_common::pow::{grind, interval_start, median_time_past, CompactTargetError};
use dotcoin_common::primitives::CompactTarget;
use dotcoin_common::sighash::{signature_hash, signing, SignatureError};
use dotcoin_common::{
    deserialize, serialize, Amount, Block, BlockHash, BlockHeader, Network, OutPoint, Params,
    PubKey, Transaction, TxIn, TxOut, Txid, COIN, MAX_MONEY,
};

/// Height of the block under test: past regtest's first halving (150), so the subsidy is
/// 25 DOT and a coinbase claiming the original 50 is caught.
const HEIGHT: u32 = 200;
const TIME: u32 = 1_800_000_000;
/// Funding coins in the fixture's UTXO set.
const FUNDING_COINS: u8 = 8;

type View = HashMap<OutPoint, Coin>;

fn regtest() -> &'static Params {
    Network::Regtest.params()
}

fn key(n: u8) -> Keypair {
    signing::keypair_from_secret(&[n; 32]).expect("n repeated 32 times is below the curve order")
}

fn pk(n: u8) -> PubKey {
    signing::pubkey_of(&key(n))
}

fn dot(n: u64) -> Amount {
    Amount::from_dot(n)
}

fn sat(n: u64) -> Amount {
    Amount::from_sat(n)
}

fn pay(to: u8, value: Amount) -> TxOut {
    TxOut {
        value,
        pubkey: pk(to),
    }
}

fn some_txid(tag: &[u8]) -> Txid {
    Txid::from_raw_hash(sha256d::Hash::hash(tag))
}

fn funding_outpoint(n: u8) -> OutPoint {
    OutPoint {
        txid: some_txid(&[b'f', n]),
        vout: u32::from(n) % 3,
    }
}

/// The UTXO set below the block under test: mature 50-DOT coinbase outputs locked to key 1.
fn chain_utxos() -> View {
    (0..FUNDING_COINS)
        .map(|n| {
            let coin = Coin {
                output: pay(1, dot(50)),
                height: 1 + u32::from(n),
                is_coinbase: true,
            };
            (funding_outpoint(n), coin)
        })
        .collect()
}

fn coin(view: &View, n: u8) -> (OutPoint, Coin) {
    let op = funding_outpoint(n);
    (op, view[&op])
}

fn unsigned_tx(spent: &[(OutPoint, Coin)], outputs: Vec<TxOut>) -> Transaction {
    Transaction {
        version: 1,
        inputs: spent
            .iter()
            .map(|(op, _)| TxIn {
                prevout: *op,
                witness: Vec::new(),
            })
            .collect(),
        outputs,
        lock_time: 0,
    }
}

fn spent_outputs(spent: &[(OutPoint, Coin)]) -> Vec<TxOut> {
    spent.iter().map(|(_, c)| c.output).collect()
}

/// A transaction spending `spent`, every input signed with the key that locks it.
fn signed_tx(spent: &[(OutPoint, Coin)], outputs: Vec<TxOut>, keys: &[Keypair]) -> Transaction {
    let mut tx = unsigned_tx(spent, outputs);
    let signed = signing::sign_transaction(&mut tx, &spent_outputs(spent), keys)
        .expect("one spent output per input");
    assert_eq!(signed, spent.len(), "a key for every input");
    tx
}

fn coinbase(height: u32, value: Amount) -> Transaction {
    Transaction {
        version: 1,
        inputs: vec![TxIn {
            prevout: OutPoint::coinbase(height),
            witness: b"test miner".to_vec(),
        }],
        outputs: vec![pay(3, value)],
        lock_time: 0,
    }
}

/// Recommits the header to the transactions and mines it again.
fn remine(block: &mut Block) {
    block.header.merkle_root = block.compute_merkle_root().0;
    block.header.nonce = 0;
    grind(&mut block.header, true);
}

fn make_block(txdata: Vec<Transaction>) -> Block {
    let mut block = Block {
        header: BlockHeader {
            version: 1,
            prev_blockhash: BlockHash::from_raw_hash(sha256d::Hash::hash(b"parent")),
            merkle_root: dotcoin_common::TxMerkleNode::all_zeros(),
            time: TIME,
            bits: regtest().pow_limit,
            nonce: 0,
        },
        txdata,
    };
    remine(&mut block);
    block
}

/// A valid block at `HEIGHT` and the UTXO set it connects to.
struct Fixture {
    view: View,
    /// Coinbase, a 1-in-1-out spend (fee 1 DOT), a 2-in-2-out spend (fee 0.5 DOT).
    block: Block,
    fees: Amount,
}

fn fixture() -> Fixture {
    let view = chain_utxos();
    let t1 = signed_tx(&[coin(&view, 0)], vec![pay(2, dot(49))], &[key(1)]);
    let t2 = signed_tx(
        &[coin(&view, 1), coin(&view, 2)],
        vec![pay(2, dot(60)), pay(1, sat(39 * COIN + COIN / 2))],
        &[key(1)],
    );
    let fees = sat(COIN + COIN / 2);
    let cb = coinbase(
        HEIGHT,
        regtest()
            .subsidy(HEIGHT)
            .checked_add(fees)
            .expect("test amounts are far from overflowing"),
    );
    Fixture {
        block: make_block(vec![cb, t1, t2]),
        view,
        fees,
    }
}

/// Everything the node checks before connecting a block: context-free rules, inputs
/// against the UTXO set, block-level value rules, then every signature.
fn connect(block: &Block, view: &View) -> Result<Amount, ValidationError> {
    check_block(block, regtest())?;
    let spend = check_block_spends(block, HEIGHT, view, regtest())?;
    for (index, spent) in spend.signature_jobs() {
        check_signatures(&block.txdata[index], &spent)?;
    }
    Ok(spend.fees)
}

/// Asserts the exact error and that its message starts with the rule's reject reason.
#[track_caller]
fn assert_rule<T: Debug>(
    got: Result<T, ValidationError>,
    expected: &ValidationError,
    reason: &str,
) {
    match got {
        Ok(v) => panic!("expected {expected:?}, got Ok({v:?})"),
        Err(e) => {
            assert_eq!(&e, expected);
            assert_eq!(e.reject_reason(), reason, "{e}");
            assert!(e.to_string().starts_with(&format!("{reason}: ")), "{e}");
        }
    }
}

/// The fixture with `tx` in place of transaction `index`, recommitted and mined.
fn replace_tx(index: usize, tx: Transaction) -> (Fixture, Block) {
    let f = fixture();
    let mut block = f.block.clone();
    block.txdata[index] = tx;
    remine(&mut block);
    (f, block)
}

// ---------------------------------------------------------------------------------------
// The valid case
// ---------------------------------------------------------------------------------------

#[test]
fn valid_block_passes_every_rule() {
    let f = fixture();
    let p = regtest();
    let b = &f.block;
    assert_eq!(p.subsidy(HEIGHT), dot(25));

    assert_eq!(check_block_size(b), Ok(()));
    assert_eq!(check_merkle_root(b), Ok(()));
    assert_eq!(check_coinbase_position(b), Ok(()));
    assert_eq!(check_proof_of_work(&b.header, p), Ok(()));
    assert_eq!(check_block(b, p), Ok(()));

    let cb = &b.txdata[0];
    assert_eq!(check_coinbase_witness_size(cb), Ok(()));
    assert_eq!(check_coinbase_height(cb, HEIGHT), Ok(()));
    assert_eq!(check_coinbase_value(cb, p.subsidy(HEIGHT), f.fees), Ok(()));
    for tx in &b.txdata {
        assert_eq!(check_has_inputs(tx), Ok(()));
        assert_eq!(check_has_outputs(tx), Ok(()));
        assert_eq!(check_no_duplicate_inputs(tx), Ok(()));
        assert_eq!(check_output_values(tx), Ok(()));
        assert_eq!(check_transaction(tx), Ok(()));
    }
    let mut fees = Amount::ZERO;
    for tx in &b.txdata[1..] {
        assert_eq!(check_no_null_prevouts(tx), Ok(()));
        for input in &tx.inputs {
            let c = f.view[&input.prevout];
            assert_eq!(
                check_coinbase_maturity(&input.prevout, &c, HEIGHT, p),
                Ok(())
            );
        }
        let spent = check_tx_inputs(tx, &f.view, HEIGHT, p).expect("inputs exist and matured");
        assert_eq!(check_value_balance(tx, &spent.coins), Ok(spent.fee));
        assert_eq!(check_signatures(tx, &spent.outputs()), Ok(()));
        assert_eq!(
            check_transaction_full(tx, &f.view, HEIGHT, p),
            Ok(spent.clone())
        );
        fees = fees
            .checked_add(spent.fee)
            .expect("test amounts are far from overflowing");
    }
    assert_eq!(fees, f.fees);
    assert_eq!(connect(b, &f.view), Ok(f.fees));

    let ctx = context_of(&b.header);
    assert_eq!(check_bits(&b.header, &ctx), Ok(()));
    assert_eq!(check_time_after_median(&b.header, &ctx), Ok(()));
    assert_eq!(check_time_not_too_new(&b.header, &ctx, p), Ok(()));
    assert_eq!(check_header_contextual(&b.header, &ctx, p), Ok(()));
}

// ---------------------------------------------------------------------------------------
// Block, context-free
// ---------------------------------------------------------------------------------------

/// The fixture plus one more signed, valid spend with enough outputs that the block is
/// exactly `MAX_BLOCK_SIZE` bytes; the coinbase's miner data takes up the last bytes.
fn max_size_block() -> (Fixture, Block) {
    let f = fixture();
    let mut txdata = f.block.txdata.clone();
    let funding = coin(&f.view, 3);
    let empty = make_block({
        let mut t = txdata.clone();
        let mut spend = unsigned_tx(&[funding], Vec::new());
        spend.inputs[0].witness = vec![0; 64];
        t.push(spend);
        t[0].inputs[0].witness.clear();
        t
    });
    // Past 252 outputs the count takes 3 bytes instead of 1.
    let outputs = (MAX_BLOCK_SIZE - empty.size() - 2) / 40;
    let each = dot(50).to_sat() / outputs as u64;
    let fee = sat(dot(50).to_sat() - each * outputs as u64);
    let big = signed_tx(
        &[funding],
        (0..outputs).map(|_| pay(2, sat(each))).collect(),
        &[key(1)],
    );
    txdata.push(big);
    let fees = f
        .fees
        .checked_add(fee)
        .expect("test amounts are far from overflowing");
    txdata[0] = coinbase(
        HEIGHT,
        regtest()
            .subsidy(HEIGHT)
            .checked_add(fees)
            .expect("test amounts are far from overflowing"),
    );
    txdata[0].inputs[0].witness.clear();
    let mut block = make_block(txdata);
    let pad = MAX_BLOCK_SIZE - block.size();
    assert!(
        pad < MAX_COINBASE_WITNESS,
        "padding {pad} fits in the coinbase"
    );
    block.txdata[0].inputs[0].witness = vec![0x42; pad];
    remine(&mut block);
    assert_eq!(block.size(), MAX_BLOCK_SIZE);
    assert_eq!(serialize(&block).len(), MAX_BLOCK_SIZE);
    (f, block)
}

#[test]
fn block_too_large() {
    let (f, mut block) = max_size_block();
    let fees = connect(&block, &f.view).expect("exactly MAX_BLOCK_SIZE is allowed");

    block.txdata[0].inputs[0].witness.push(0x42);
    remine(&mut block);
    let expected = ValidationError::BlockTooLarge {
        size: MAX_BLOCK_SIZE + 1,
        max: MAX_BLOCK_SIZE,
    };
    assert_rule(check_block_size(&block), &expected, "bad-blk-length");
    assert_rule(check_block(&block, regtest()), &expected, "bad-blk-length");
    // Only the size rule is broken: the same block connects apart from it.
    let spend = check_block_spends(&block, HEIGHT, &f.view, regtest()).expect("spends are valid");
    assert_eq!(spend.fees, fees);
}

#[test]
fn bad_merkle_root_forged_coinbase() {
    // The seed's flaw: a block whose coinbase was redirected after mining. The header,
    // and so its proof of work, is untouched; only the merkle root gives it away.
    let f = fixture();
    let mut block = f.block.clone();
    block.txdata[0].outputs[0].pubkey = pk(9);
    assert_eq!(check_proof_of_work(&block.header, regtest()), Ok(()));
    let expected = ValidationError::BadMerkleRoot {
        header: f.block.header.merkle_root,
        computed: block.compute_merkle_root().0,
    };
    assert_rule(check_merkle_root(&block), &expected, "bad-txnmrklroot");
    assert_rule(check_block(&block, regtest()), &expected, "bad-txnmrklroot");
}

#[test]
fn bad_merkle_root_changed_signature() {
    // Witnesses do not change the txid but do change the wtxid, which the root commits to.
    let f = fixture();
    let mut block = f.block.clone();
    let txid = block.txdata[1].txid();
    block.txdata[1].inputs[0].witness[0] ^= 1;
    assert_eq!(block.txdata[1].txid(), txid);
    let expected = ValidationError::BadMerkleRoot {
        header: f.block.header.merkle_root,
        computed: block.compute_merkle_root().0,
    };
    assert_rule(check_block(&block, regtest()), &expected, "bad-txnmrklroot");
}

#[test]
fn bad_merkle_root_in_mined_header() {
    let f = fixture();
    let mut block = f.block.clone();
    let bogus = dotcoin_common::TxMerkleNode::from_raw_hash(sha256d::Hash::hash(b"bogus"));
    block.header.merkle_root = bogus;
    grind(&mut block.header, true);
    let expected = ValidationError::BadMerkleRoot {
        header: bogus,
        computed: f.block.header.merkle_root,
    };
    assert_rule(check_merkle_root(&block), &expected, "bad-txnmrklroot");
    assert_rule(check_block(&block, regtest()), &expected, "bad-txnmrklroot");
}

#[test]
fn merkle_mutation_duplicated_last_tx() {
    // CVE-2012-2459: [cb, t1, t2] and [cb, t1, t2, t2] have the same root, so the mutated
    // block carries the valid block's header and proof of work unchanged.
    let f = fixture();
    let mut block = f.block.clone();
    block.txdata.push(block.txdata[2].clone());
    assert_eq!(
        block.compute_merkle_root(),
        (f.block.header.merkle_root, true)
    );
    assert_eq!(block.block_hash(), f.block.block_hash());
    let expected = ValidationError::MerkleMutated;
    assert_rule(check_merkle_root(&block), &expected, "bad-txns-duplicate");
    assert_rule(
        check_block(&block, regtest()),
        &expected,
        "bad-txns-duplicate",
    );
}

#[test]
fn merkle_mutation_duplicated_pair_one_level_up() {
    // Six leaves hash to three nodes, the third doubled; appending the last two leaves
    // again gives the same root with the duplicate one level up.
    let view = chain_utxos();
    let mut txdata = vec![coinbase(HEIGHT, dot(25))];
    txdata.extend((0..5).map(|n| signed_tx(&[coin(&view, n)], vec![pay(2, dot(50))], &[key(1)])));
    let valid = make_block(txdata);
    assert_eq!(check_block(&valid, regtest()), Ok(()));
    let mut block = valid.clone();
    block.txdata.extend_from_slice(&valid.txdata[4..6]);
    assert_eq!(
        block.compute_merkle_root(),
        (valid.header.merkle_root, true)
    );
    assert_rule(
        check_block(&block, regtest()),
        &ValidationError::MerkleMutated,
        "bad-txns-duplicate",
    );
}

#[test]
fn first_tx_not_coinbase() {
    let f = fixture();
    let [cb, t1, t2] = <[Transaction; 3]>::try_from(f.block.txdata.clone()).expect("three txs");
    // A first transaction without inputs must be refused, not indexed into.
    let no_inputs = unsigned_tx(&[], vec![pay(2, dot(1))]);
    let cases = [
        vec![t1.clone(), t2.clone()],
        vec![t1, cb, t2],
        vec![no_inputs],
        Vec::new(),
    ];
    for txdata in cases {
        let block = make_block(txdata);
        let expected = ValidationError::FirstTxNotCoinbase;
        assert_rule(check_coinbase_position(&block), &expected, "bad-cb-missing");
        assert_rule(check_block(&block, regtest()), &expected, "bad-cb-missing");
        assert_rule(
            check_block_spends(&block, HEIGHT, &f.view, regtest()),
            &expected,
            "bad-cb-missing",
        );
    }
}

#[test]
fn multiple_coinbase() {
    let mut second = coinbase(HEIGHT, dot(1));
    second.inputs[0].witness = b"another miner".to_vec();
    let mut block = fixture().block;
    block.txdata.push(second);
    remine(&mut block);
    let expected = ValidationError::MultipleCoinbase { index: 3 };
    assert_rule(
        check_coinbase_position(&block),
        &expected,
        "bad-cb-multiple",
    );
    assert_rule(check_block(&block, regtest()), &expected, "bad-cb-multiple");
}

/// How `CompactTarget::to_target` refuses some bits.
type BitsError = fn(CompactTarget) -> CompactTargetError;

#[test]
fn bad_bits_encoding() {
    let cases: [(u32, BitsError); 7] = [
        (0x0492_3456, CompactTargetError::Negative),
        (0x01fe_dcba, CompactTargetError::Negative),
        (0xff12_3456, CompactTargetError::Overflow),
        (0x2300_0001, CompactTargetError::Overflow),
        (0x2201_0000, CompactTargetError::Overflow),
        (0x0000_0000, CompactTargetError::Zero),
        (0x0100_3456, CompactTargetError::Zero),
    ];
    for (bits, kind) in cases {
        let mut block = fixture().block;
        block.header.bits = CompactTarget(bits);
        let expected = ValidationError::BadBitsEncoding(kind(CompactTarget(bits)));
        assert_rule(
            check_proof_of_work(&block.header, regtest()),
            &expected,
            "bad-diffbits",
        );
        assert_rule(check_block(&block, regtest()), &expected, "bad-diffbits");
    }
}

#[test]
fn target_above_pow_limit() {
    // One step easier than each network's limit, and mined so the hash meets it.
    for (network, bits) in [
        (Network::Regtest, 0x2100_ffff),
        (Network::Main, 0x1f01_0000),
    ] {
        let p = network.params();
        let mut block = fixture().block;
        block.header.bits = CompactTarget(bits);
        grind(&mut block.header, true);
        let expected = ValidationError::TargetAbovePowLimit {
            bits: CompactTarget(bits),
            limit: p.pow_limit,
        };
        assert_rule(
            check_proof_of_work(&block.header, p),
            &expected,
            "bad-diffbits",
        );
        assert_rule(check_block(&block, p), &expected, "bad-diffbits");

        // At the limit itself the target is allowed.
        block.header.bits = p.pow_limit;
        grind(&mut block.header, true);
        assert_eq!(check_proof_of_work(&block.header, p), Ok(()), "{network}");
    }
}

#[test]
fn high_hash() {
    let mut block = fixture().block;
    grind(&mut block.header, false);
    let expected = ValidationError::HighHash {
        hash: block.block_hash(),
        bits: block.header.bits,
    };
    assert_rule(
        check_proof_of_work(&block.header, regtest()),
        &expected,
        "high-hash",
    );
    assert_rule(check_block(&block, regtest()), &expected, "high-hash");
}

// ---------------------------------------------------------------------------------------
// Header, contextual
// ---------------------------------------------------------------------------------------

/// A context in which `header` is valid: the expected bits, median just below its time.
fn context_of(header: &BlockHeader) -> HeaderContext {
    HeaderContext {
        height: HEIGHT,
        expected_bits: header.bits,
        median_time_past: header.time - 1,
        parent_time: header.time - 1,
        now: u64::from(header.time),
    }
}

#[test]
fn unexpected_bits_at_retarget_height() {
    // Main retargets every 10 blocks. The last interval took a tenth of the expected time,
    // so block 10 must be 4 times harder; a miner that kept the old bits is refused.
    let p = Network::Main.params();
    let parent_bits = p.genesis_bits;
    let first = TIME;
    let last = first + p.target_timespan() / 10;
    let expected_at_10 = expected_bits(p, 10, parent_bits, first, last);
    let harder = parent_bits.to_target().expect("valid") / ruint::aliases::U256::from(4u8);
    assert_eq!(expected_at_10, CompactTarget::from_target(harder));
    // Between retargets the parent's bits carry over, whatever the times.
    assert_eq!(expected_bits(p, 11, parent_bits, first, last), parent_bits);

    let header = BlockHeader {
        bits: parent_bits,
        time: last + 10,
        ..fixture().block.header
    };
    let ctx = HeaderContext {
        height: 10,
        expected_bits: expected_at_10,
        median_time_past: last,
        parent_time: last,
        now: u64::from(last + 10),
    };
    let expected = ValidationError::UnexpectedBits {
        height: 10,
        got: parent_bits,
        expected: expected_at_10,
    };
    assert_rule(check_bits(&header, &ctx), &expected, "bad-diffbits");
    assert_rule(
        check_header_contextual(&header, &ctx, p),
        &expected,
        "bad-diffbits",
    );

    let retargeted = BlockHeader {
        bits: expected_at_10,
        ..header
    };
    assert_eq!(check_header_contextual(&retargeted, &ctx, p), Ok(()));
}

#[test]
fn time_too_old() {
    let header = fixture().block.header;
    // Eleven previous blocks, out of order as miners' clocks allow.
    let times: Vec<u32> = [0, 30, 10, 50, 20, 40, 70, 60, 90, 80, 100]
        .map(|d| TIME - 200 + d)
        .into();
    let median = median_time_past(&times);
    assert_eq!(median, TIME - 150);
    let ctx = HeaderContext {
        median_time_past: median,
        ..context_of(&header)
    };
    for time in [median, median - 1, 0] {
        let old = BlockHeader { time, ..header };
        let expected = ValidationError::TimeTooOld { time, median };
        assert_rule(
            check_time_after_median(&old, &ctx),
            &expected,
            "time-too-old",
        );
        assert_rule(
            check_header_contextual(&old, &ctx, regtest()),
            &expected,
            "time-too-old",
        );
    }
    let just_after = BlockHeader {
        time: median + 1,
        ..header
    };
    assert_eq!(
        check_header_contextual(&just_after, &ctx, regtest()),
        Ok(())
    );
}

#[test]
fn time_too_new() {
    let p = regtest();
    let header = fixture().block.header;
    let now = u64::from(TIME) - 10_000;
    let ctx = HeaderContext {
        now,
        median_time_past: TIME - 20_000,
        ..context_of(&header)
    };
    let limit = now as u32 + p.max_future_block_time;
    let future = BlockHeader {
        time: limit + 1,
        ..header
    };
    let expected = ValidationError::TimeTooNew {
        time: limit + 1,
        now,
        max_ahead: p.max_future_block_time,
    };
    assert_rule(
        check_time_not_too_new(&future, &ctx, p),
        &expected,
        "time-too-new",
    );
    assert_rule(
        check_header_contextual(&future, &ctx, p),
        &expected,
        "time-too-new",
    );
    let at_limit = BlockHeader {
        time: limit,
        ..header
    };
    assert_eq!(check_header_contextual(&at_limit, &ctx, p), Ok(()));
}

#[test]
fn time_warp_at_a_period_boundary() {
    // Main retargets every 10 blocks: block 20 starts a period and may be stamped at most
    // `max_timewarp` before block 19, whatever the median allows.
    let p = Network::Main.params();
    assert_eq!(p.max_timewarp, p.target_spacing);
    let parent_time = TIME;
    let header = BlockHeader {
        time: parent_time - p.max_timewarp - 1,
        ..fixture().block.header
    };
    let ctx = HeaderContext {
        height: 20,
        expected_bits: header.bits,
        median_time_past: parent_time - 1000,
        parent_time,
        now: u64::from(parent_time),
    };
    let expected = ValidationError::TimeWarp {
        height: 20,
        time: header.time,
        parent_time,
        max_back: p.max_timewarp,
    };
    assert_rule(
        check_timewarp(&header, &ctx, p),
        &expected,
        "time-timewarp-attack",
    );
    assert_rule(
        check_header_contextual(&header, &ctx, p),
        &expected,
        "time-timewarp-attack",
    );
    let at_limit = BlockHeader {
        time: parent_time - p.max_timewarp,
        ..header
    };
    assert_eq!(check_header_contextual(&at_limit, &ctx, p), Ok(()));
    // Inside a period the median rule alone applies.
    let inside = HeaderContext { height: 21, ..ctx };
    assert_eq!(check_header_contextual(&header, &inside, p), Ok(()));
}

#[test]
fn future_limit_is_scaled_to_the_spacing_on_main() {
    // Six spacings: the last block of an interval can stretch a 100 s period by at most
    // 60 %, never the 4x two hours would allow.
    let p = Network::Main.params();
    assert_eq!(p.max_future_block_time, 6 * p.target_spacing);
    assert!(p.max_future_block_time < p.target_timespan());
    let header = fixture().block.header;
    let now = u64::from(TIME);
    let ctx = HeaderContext {
        height: 21,
        now,
        ..context_of(&header)
    };
    let late = BlockHeader {
        time: TIME + p.max_future_block_time + 1,
        ..header
    };
    assert_rule(
        check_header_contextual(&late, &ctx, p),
        &ValidationError::TimeTooNew {
            time: late.time,
            now,
            max_ahead: 60,
        },
        "time-too-new",
    );
}

#[test]
fn first_interval_is_measured_from_block_one() {
    // Genesis is stamped long before block 1; measured from it, the first retarget would
    // make mining 4x easier. From block 1 (one spacing earlier) blocks that came exactly
    // on schedule keep the difficulty, as every later interval does.
    let p = Network::Main.params();
    assert_eq!(interval_start(p, 10), (1, p.target_spacing));
    assert_eq!(interval_start(p, 20), (10, 0));
    let block1 = TIME + 30 * 24 * 3600;
    let first = block1 - interval_start(p, 10).1;
    let last = block1 + 8 * p.target_spacing; // block 9
    assert_eq!(
        expected_bits(p, 10, p.genesis_bits, first, last),
        expected_bits(p, 20, p.genesis_bits, last, last + 9 * p.target_spacing)
    );
    // Nine spacings measured against ten expected (Core's off-by-one): 10/9 harder, where
    // measuring from genesis would have been 4x easier.
    use ruint::aliases::U256;
    let old = p.genesis_bits.to_target().unwrap();
    let new = expected_bits(p, 10, p.genesis_bits, first, last)
        .to_target()
        .unwrap();
    assert!(new <= old && new * U256::from(100u8) >= old * U256::from(89u8));
    let from_genesis = expected_bits(p, 10, p.genesis_bits, TIME, last);
    assert!(from_genesis.to_target().unwrap() > old * U256::from(3u8));
}

// ---------------------------------------------------------------------------------------
// Transaction, context-free
// ---------------------------------------------------------------------------------------

/// Asserts `tx` breaks one context-free rule: by itself, through `check_transaction`, and
/// inside the fixture block in place of transaction `index`.
#[track_caller]
fn assert_tx_rule(
    rule: fn(&Transaction) -> Result<(), ValidationError>,
    tx: Transaction,
    index: usize,
    expected: ValidationError,
    reason: &str,
) {
    assert_rule(rule(&tx), &expected, reason);
    assert_rule(check_transaction(&tx), &expected, reason);
    let (_, block) = replace_tx(index, tx);
    assert_rule(check_block(&block, regtest()), &expected, reason);
}

#[test]
fn no_inputs() {
    let tx = unsigned_tx(&[], vec![pay(2, dot(1))]);
    let expected = ValidationError::NoInputs { txid: tx.txid() };
    assert_tx_rule(check_has_inputs, tx, 1, expected, "bad-txns-vin-empty");
}

#[test]
fn no_outputs() {
    let view = chain_utxos();
    let tx = signed_tx(&[coin(&view, 0)], Vec::new(), &[key(1)]);
    let expected = ValidationError::NoOutputs { txid: tx.txid() };
    assert_tx_rule(check_has_outputs, tx, 1, expected, "bad-txns-vout-empty");
}

#[test]
fn duplicate_inputs() {
    let view = chain_utxos();
    let c = coin(&view, 0);
    let tx = signed_tx(&[c, coin(&view, 1), c], vec![pay(2, dot(100))], &[key(1)]);
    let expected = ValidationError::DuplicateInputs {
        txid: tx.txid(),
        outpoint: c.0,
    };
    assert_tx_rule(
        check_no_duplicate_inputs,
        tx,
        1,
        expected,
        "bad-txns-inputs-duplicate",
    );
}

#[test]
fn output_too_large() {
    let view = chain_utxos();
    let too_much = sat(MAX_MONEY.to_sat() + 1);
    let tx = signed_tx(
        &[coin(&view, 0)],
        vec![pay(2, dot(1)), pay(2, too_much)],
        &[key(1)],
    );
    let expected = ValidationError::OutputTooLarge {
        txid: tx.txid(),
        index: 1,
        value: too_much,
    };
    assert_tx_rule(
        check_output_values,
        tx,
        1,
        expected,
        "bad-txns-vout-toolarge",
    );

    let at_max = unsigned_tx(&[coin(&view, 0)], vec![pay(2, MAX_MONEY)]);
    assert_eq!(check_output_values(&at_max), Ok(()));
}

#[test]
fn output_total_too_large() {
    let view = chain_utxos();
    let tx = signed_tx(
        &[coin(&view, 0)],
        vec![pay(2, MAX_MONEY), pay(2, sat(1))],
        &[key(1)],
    );
    let expected = ValidationError::OutputTotalTooLarge { txid: tx.txid() };
    assert_tx_rule(
        check_output_values,
        tx.clone(),
        1,
        expected.clone(),
        "bad-txns-txouttotal-toolarge",
    );
    // The value balance refuses it on its own too, whoever calls it.
    let coins = [view[&funding_outpoint(0)]];
    assert_rule(
        check_value_balance(&tx, &coins),
        &expected,
        "bad-txns-txouttotal-toolarge",
    );
}

#[test]
fn coinbase_witness_too_large() {
    let p = regtest();
    let subsidy_and_fees = p
        .subsidy(HEIGHT)
        .checked_add(fixture().fees)
        .expect("test amounts are far from overflowing");
    let mut cb = coinbase(HEIGHT, subsidy_and_fees);
    cb.inputs[0].witness = vec![7; MAX_COINBASE_WITNESS + 1];
    let expected = ValidationError::CoinbaseWitnessTooLarge {
        len: MAX_COINBASE_WITNESS + 1,
        max: MAX_COINBASE_WITNESS,
    };
    assert_tx_rule(
        check_coinbase_witness_size,
        cb.clone(),
        0,
        expected,
        "bad-cb-length",
    );

    cb.inputs[0].witness.pop();
    let (f, block) = replace_tx(0, cb);
    assert_eq!(connect(&block, &f.view), Ok(f.fees));
}

#[test]
fn coinbase_height_mismatch() {
    let subsidy_and_fees = regtest()
        .subsidy(HEIGHT)
        .checked_add(fixture().fees)
        .expect("test amounts are far from overflowing");
    let (f, block) = replace_tx(0, coinbase(HEIGHT - 1, subsidy_and_fees));
    let expected = ValidationError::CoinbaseHeightMismatch {
        got: HEIGHT - 1,
        expected: HEIGHT,
    };
    assert_rule(
        check_coinbase_height(&block.txdata[0], HEIGHT),
        &expected,
        "bad-cb-height",
    );
    // The height is context: the block is fine until it is placed in the chain.
    assert_eq!(check_block(&block, regtest()), Ok(()));
    assert_rule(
        check_block_spends(&block, HEIGHT, &f.view, regtest()),
        &expected,
        "bad-cb-height",
    );
}

#[test]
fn null_prevout_in_non_coinbase() {
    let view = chain_utxos();
    for null in [OutPoint::coinbase(0), OutPoint::coinbase(HEIGHT)] {
        let mut tx = unsigned_tx(&[coin(&view, 0)], vec![pay(2, dot(1))]);
        tx.inputs.push(TxIn {
            prevout: null,
            witness: vec![0; 64],
        });
        let expected = ValidationError::NullPrevout {
            txid: tx.txid(),
            index: 1,
        };
        assert_tx_rule(
            check_no_null_prevouts,
            tx,
            2,
            expected,
            "bad-txns-prevout-null",
        );
    }
}

// ---------------------------------------------------------------------------------------
// Transaction against the UTXO set
// ---------------------------------------------------------------------------------------

#[test]
fn missing_or_spent_input() {
    let p = regtest();
    let mut view = chain_utxos();
    let missing = OutPoint {
        txid: some_txid(b"never created"),
        vout: 0,
    };
    let fake_coin = Coin {
        output: pay(1, dot(50)),
        height: 1,
        is_coinbase: false,
    };
    let tx = signed_tx(
        &[coin(&view, 0), (missing, fake_coin)],
        vec![pay(2, dot(1))],
        &[key(1)],
    );
    let expected = ValidationError::MissingOrSpent { outpoint: missing };
    let reason = "bad-txns-inputs-missingorspent";
    assert_rule(check_tx_inputs(&tx, &view, HEIGHT, p), &expected, reason);
    assert_rule(
        check_transaction_full(&tx, &view, HEIGHT, p),
        &expected,
        reason,
    );

    // Spent by an earlier block: gone from the set.
    let spent = coin(&view, 0);
    view.remove(&spent.0);
    let tx = signed_tx(&[spent], vec![pay(2, dot(1))], &[key(1)]);
    let expected = ValidationError::MissingOrSpent { outpoint: spent.0 };
    assert_rule(
        check_transaction_full(&tx, &view, HEIGHT, p),
        &expected,
        reason,
    );
    let (f, block) = replace_tx(1, tx);
    assert_rule(
        check_block_spends(&block, HEIGHT, &view, p),
        &expected,
        reason,
    );

    // Signatures need a spent output per input.
    let tx = &f.block.txdata[2];
    let expected = ValidationError::MissingOrSpent {
        outpoint: tx.inputs[1].prevout,
    };
    assert_rule(
        check_signatures(tx, &[view[&tx.inputs[0].prevout].output]),
        &expected,
        reason,
    );
}

#[test]
fn premature_coinbase_spend() {
    let p = regtest();
    let maturity = p.coinbase_maturity;
    let op = OutPoint {
        txid: some_txid(b"young coinbase"),
        vout: 0,
    };
    let young = Coin {
        output: pay(1, dot(50)),
        height: HEIGHT - maturity + 1,
        is_coinbase: true,
    };
    let mut view = chain_utxos();
    view.insert(op, young);
    let tx = signed_tx(
        &[coin(&view, 0), (op, young)],
        vec![pay(2, dot(100))],
        &[key(1)],
    );
    let expected = ValidationError::PrematureCoinbaseSpend {
        outpoint: op,
        confirmations: maturity - 1,
        required: maturity,
    };
    let reason = "bad-txns-premature-spend-of-coinbase";
    assert_rule(
        check_coinbase_maturity(&op, &young, HEIGHT, p),
        &expected,
        reason,
    );
    assert_rule(check_tx_inputs(&tx, &view, HEIGHT, p), &expected, reason);
    assert_rule(
        check_transaction_full(&tx, &view, HEIGHT, p),
        &expected,
        reason,
    );

    // One block later it has matured; a non-coinbase output never needs to.
    assert_eq!(check_coinbase_maturity(&op, &young, HEIGHT + 1, p), Ok(()));
    assert!(check_transaction_full(&tx, &view, HEIGHT + 1, p).is_ok());
    let plain = Coin {
        is_coinbase: false,
        ..young
    };
    assert_eq!(check_coinbase_maturity(&op, &plain, HEIGHT, p), Ok(()));
    view.insert(op, plain);
    assert!(check_transaction_full(&tx, &view, HEIGHT, p).is_ok());
}

/// Asserts `tx` (spending from the fixture's set) fails only its signature check, as a
/// lone transaction and inside the fixture block in place of transaction 1.
#[track_caller]
fn assert_bad_signature(tx: Transaction, index: usize, source: SignatureError) {
    let p = regtest();
    let view = chain_utxos();
    let expected = ValidationError::BadSignature {
        txid: tx.txid(),
        index,
        source,
    };
    let spent = check_tx_inputs(&tx, &view, HEIGHT, p).expect("inputs are fine");
    assert_rule(
        check_signatures(&tx, &spent.outputs()),
        &expected,
        "bad-txns-signature",
    );
    assert_rule(
        check_transaction_full(&tx, &view, HEIGHT, p),
        &expected,
        "bad-txns-signature",
    );
    let (f, block) = replace_tx(1, tx);
    assert_eq!(check_block(&block, p), Ok(()));
    assert!(check_block_spends(&block, HEIGHT, &f.view, p).is_ok());
    assert_rule(connect(&block, &f.view), &expected, "bad-txns-signature");
}

#[test]
fn bad_signature_wrong_key() {
    let view = chain_utxos();
    let spent = [coin(&view, 0)];
    let mut tx = unsigned_tx(&spent, vec![pay(2, dot(49))]);
    let sighash = signature_hash(&tx, 0, &spent_outputs(&spent)).expect("one input");
    tx.inputs[0].witness = signing::sign(&sighash, &key(2)).to_vec();
    assert_bad_signature(tx, 0, SignatureError::Invalid(pk(1)));
}

#[test]
fn bad_signature_wrong_length() {
    let view = chain_utxos();
    let good = signed_tx(&[coin(&view, 0)], vec![pay(2, dot(49))], &[key(1)]);
    for len in [0, 63, 65] {
        let mut tx = good.clone();
        tx.inputs[0].witness.resize(len, 0);
        assert_bad_signature(tx, 0, SignatureError::BadLength(len));
    }
}

#[test]
fn bad_signature_tampered_amount() {
    let view = chain_utxos();
    let spent = [coin(&view, 3), coin(&view, 4)];
    // The signer was told the second coin holds 40 DOT; the chain says 50.
    let mut told = spent_outputs(&spent);
    told[1].value = dot(40);
    let mut tx = unsigned_tx(&spent, vec![pay(2, dot(89))]);
    signing::sign_transaction(&mut tx, &told, &[key(1)]).expect("one output per input");
    // Every input commits to every spent amount, so even the first input fails.
    assert_bad_signature(tx, 0, SignatureError::Invalid(pk(1)));
}

#[test]
fn bad_signature_tampered_output_after_signing() {
    let view = chain_utxos();
    let mut tx = signed_tx(&[coin(&view, 0)], vec![pay(2, dot(49))], &[key(1)]);
    tx.outputs[0].value = sat(dot(49).to_sat() - 1);
    assert_bad_signature(tx, 0, SignatureError::Invalid(pk(1)));
}

#[test]
fn bad_signature_swapped_between_inputs() {
    // Both inputs are locked to the same key; each signature commits to its input index.
    let view = chain_utxos();
    let mut tx = signed_tx(
        &[coin(&view, 3), coin(&view, 4)],
        vec![pay(2, dot(99))],
        &[key(1)],
    );
    let (a, b) = (tx.inputs[0].witness.clone(), tx.inputs[1].witness.clone());
    tx.inputs[0].witness = b;
    tx.inputs[1].witness = a;
    assert_bad_signature(tx, 0, SignatureError::Invalid(pk(1)));
}

#[test]
fn bad_signature_invalid_output_key() {
    // x = 2^256 - 1 is above the field size: no point, so no signature can match.
    let p = regtest();
    let bad_key = PubKey([0xff; 32]);
    let op = OutPoint {
        txid: some_txid(b"locked to nothing"),
        vout: 0,
    };
    let c = Coin {
        output: TxOut {
            value: dot(1),
            pubkey: bad_key,
        },
        height: 1,
        is_coinbase: false,
    };
    let mut view = chain_utxos();
    view.insert(op, c);
    let mut tx = unsigned_tx(&[(op, c)], vec![pay(2, dot(1))]);
    tx.inputs[0].witness = vec![1; 64];
    let expected = ValidationError::BadSignature {
        txid: tx.txid(),
        index: 0,
        source: SignatureError::InvalidPubKey(bad_key),
    };
    assert_rule(
        check_transaction_full(&tx, &view, HEIGHT, p),
        &expected,
        "bad-txns-signature",
    );
}

#[test]
fn input_values_out_of_range() {
    // Each coin is at most MAX_MONEY, as the chain guarantees; their sum is not.
    let p = regtest();
    let rich: Vec<(OutPoint, Coin)> = (0..2u8)
        .map(|n| {
            let op = OutPoint {
                txid: some_txid(&[b'r', n]),
                vout: 0,
            };
            (
                op,
                Coin {
                    output: pay(1, MAX_MONEY),
                    height: 1,
                    is_coinbase: false,
                },
            )
        })
        .collect();
    let view: View = rich.iter().copied().collect();
    let tx = signed_tx(&rich, vec![pay(2, dot(1))], &[key(1)]);
    let expected = ValidationError::InputValuesOutOfRange { txid: tx.txid() };
    let reason = "bad-txns-inputvalues-outofrange";
    let coins: Vec<Coin> = rich.iter().map(|(_, c)| *c).collect();
    assert_rule(check_value_balance(&tx, &coins), &expected, reason);
    assert_rule(check_tx_inputs(&tx, &view, HEIGHT, p), &expected, reason);
    assert_rule(
        check_transaction_full(&tx, &view, HEIGHT, p),
        &expected,
        reason,
    );

    let one = signed_tx(&rich[..1], vec![pay(2, MAX_MONEY)], &[key(1)]);
    assert_eq!(
        check_transaction_full(&one, &view, HEIGHT, p).map(|s| s.fee),
        Ok(Amount::ZERO)
    );
}

#[test]
fn inputs_below_outputs() {
    let p = regtest();
    let view = chain_utxos();
    // Not the fixture's inputs, so only the value balance breaks inside its block.
    let spent = [coin(&view, 3), coin(&view, 4)];
    let outputs = vec![pay(2, dot(60)), pay(2, sat(40 * COIN + 1))];
    let tx = signed_tx(&spent, outputs, &[key(1)]);
    let expected = ValidationError::InputsBelowOutputs {
        txid: tx.txid(),
        inputs: dot(100),
        outputs: sat(100 * COIN + 1),
    };
    let reason = "bad-txns-in-belowout";
    let coins = [spent[0].1, spent[1].1];
    assert_rule(check_value_balance(&tx, &coins), &expected, reason);
    assert_rule(check_tx_inputs(&tx, &view, HEIGHT, p), &expected, reason);
    assert_rule(
        check_transaction_full(&tx, &view, HEIGHT, p),
        &expected,
        reason,
    );
    let (f, block) = replace_tx(2, tx);
    assert_eq!(check_block(&block, p), Ok(()));
    assert_rule(
        check_block_spends(&block, HEIGHT, &f.view, p),
        &expected,
        reason,
    );

    let exact = signed_tx(&spent, vec![pay(2, dot(100))], &[key(1)]);
    assert_eq!(check_value_balance(&exact, &coins), Ok(Amount::ZERO));
}

// ---------------------------------------------------------------------------------------
// Block against the UTXO set
// ---------------------------------------------------------------------------------------

#[test]
fn double_spend_inside_a_block() {
    let p = regtest();
    let f = fixture();
    let c0 = coin(&f.view, 0);
    // Same input as the fixture's t1, different output, so a different txid.
    let rival = signed_tx(&[c0], vec![pay(4, dot(48))], &[key(1)]);
    let mut block = f.block.clone();
    block.txdata.push(rival);
    remine(&mut block);
    assert_eq!(check_block(&block, p), Ok(()));
    let expected = ValidationError::DoubleSpendInBlock { outpoint: c0.0 };
    let reason = "bad-txns-double-spend-in-block";
    assert_rule(
        check_block_spends(&block, HEIGHT, &f.view, p),
        &expected,
        reason,
    );
}

#[test]
fn double_spend_of_an_output_created_in_the_block() {
    let p = regtest();
    let f = fixture();
    let t1 = &f.block.txdata[1];
    let t1_out = OutPoint {
        txid: t1.txid(),
        vout: 0,
    };
    let t1_coin = Coin {
        output: t1.outputs[0],
        height: HEIGHT,
        is_coinbase: false,
    };
    let child = signed_tx(&[(t1_out, t1_coin)], vec![pay(1, dot(48))], &[key(2)]);
    let rival = signed_tx(&[(t1_out, t1_coin)], vec![pay(3, dot(47))], &[key(2)]);

    // Spending an output of an earlier transaction in the same block is fine...
    let mut block = f.block.clone();
    block.txdata.push(child.clone());
    block.txdata[0].outputs[0].value = block.txdata[0].outputs[0]
        .value
        .checked_add(dot(1))
        .expect("test amounts are far from overflowing");
    remine(&mut block);
    assert_eq!(
        connect(&block, &f.view),
        Ok(f.fees
            .checked_add(dot(1))
            .expect("test amounts are far from overflowing"))
    );

    // ...once.
    block.txdata.push(rival);
    remine(&mut block);
    assert_eq!(check_block(&block, p), Ok(()));
    let expected = ValidationError::DoubleSpendInBlock { outpoint: t1_out };
    assert_rule(
        check_block_spends(&block, HEIGHT, &f.view, p),
        &expected,
        "bad-txns-double-spend-in-block",
    );

    // An output of a later transaction does not exist yet.
    let mut block = f.block.clone();
    block.txdata.insert(1, child);
    remine(&mut block);
    let expected = ValidationError::MissingOrSpent { outpoint: t1_out };
    assert_rule(
        check_block_spends(&block, HEIGHT, &f.view, p),
        &expected,
        "bad-txns-inputs-missingorspent",
    );
}

#[test]
fn coinbase_spent_in_its_own_block_is_premature() {
    let p = regtest();
    let f = fixture();
    let cb = &f.block.txdata[0];
    let op = OutPoint {
        txid: cb.txid(),
        vout: 0,
    };
    let c = Coin {
        output: cb.outputs[0],
        height: HEIGHT,
        is_coinbase: true,
    };
    let mut block = f.block.clone();
    block
        .txdata
        .push(signed_tx(&[(op, c)], vec![pay(1, dot(1))], &[key(3)]));
    remine(&mut block);
    let expected = ValidationError::PrematureCoinbaseSpend {
        outpoint: op,
        confirmations: 0,
        required: p.coinbase_maturity,
    };
    assert_rule(
        check_block_spends(&block, HEIGHT, &f.view, p),
        &expected,
        "bad-txns-premature-spend-of-coinbase",
    );
}

#[test]
fn coinbase_pays_more_than_subsidy_plus_fees() {
    let p = regtest();
    let f = fixture();
    let max = p
        .subsidy(HEIGHT)
        .checked_add(f.fees)
        .expect("test amounts are far from overflowing");
    let got = sat(max.to_sat() + 1);
    let (_, block) = replace_tx(0, coinbase(HEIGHT, got));
    let expected = ValidationError::CoinbaseTooLarge { got, max };
    let reason = "bad-cb-amount";
    assert_rule(
        check_coinbase_value(&block.txdata[0], p.subsidy(HEIGHT), f.fees),
        &expected,
        reason,
    );
    assert_eq!(check_block(&block, p), Ok(()));
    assert_rule(
        check_block_spends(&block, HEIGHT, &f.view, p),
        &expected,
        reason,
    );

    // Claiming the pre-halving 50 DOT with no fees at all.
    let block = make_block(vec![coinbase(HEIGHT, dot(50))]);
    let expected = ValidationError::CoinbaseTooLarge {
        got: dot(50),
        max: dot(25),
    };
    assert_rule(
        check_block_spends(&block, HEIGHT, &f.view, p),
        &expected,
        reason,
    );

    // Paying less than allowed is fine (the rest is never created).
    let (f, block) = replace_tx(0, coinbase(HEIGHT, dot(1)));
    assert_eq!(connect(&block, &f.view), Ok(f.fees));
}

// ---------------------------------------------------------------------------------------
// Genesis
// ---------------------------------------------------------------------------------------

#[test]
fn genesis_blocks_pass_full_validation_and_hashes_are_pinned() {
    let pinned = [
        (
            Network::Main,
            "00000fb9b64c65691cefea8447d35d04fab3ccf13a9d96d79f7a115c7c8aa2ab",
        ),
        (
            Network::Regtest,
            "24a8a3d175cf1b2bb654f0c2fb68490348d8f5320d112d4980743ed8fafee876",
        ),
    ];
    for (network, hash) in pinned {
        let p = network.params();
        let genesis = p.genesis_block();
        assert_eq!(genesis.block_hash().to_string(), hash, "{network}");
        assert_eq!(p.genesis_hash(), genesis.block_hash());
        assert_eq!(genesis.header.prev_blockhash, BlockHash::all_zeros());
        assert_eq!(genesis.header.bits, p.genesis_bits);

        assert_eq!(check_block(genesis, p), Ok(()), "{network}");
        let spend = check_block_spends(genesis, 0, &View::new(), p).expect("genesis connects");
        assert_eq!(spend.fees, Amount::ZERO);
        assert!(spend.spent.is_empty());
        assert_eq!(genesis.txdata[0].total_out(), Some(p.subsidy(0)));
        // Its coinbase commits to height 0 and nowhere else.
        let expected = ValidationError::CoinbaseHeightMismatch {
            got: 0,
            expected: 1,
        };
        assert_rule(
            check_block_spends(genesis, 1, &View::new(), p),
            &expected,
            "bad-cb-height",
        );

        assert_eq!(
            deserialize::<Block>(&serialize(genesis)).as_ref(),
            Ok(genesis)
        );
    }
}
