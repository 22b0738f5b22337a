//! The mempool's replacement rules (full RBF), each from both sides: a pool over a real
//! chain snapshot, transactions signed by a key the chain paid.

use std::sync::Arc;

use dotcoin_common::sighash::signing::{generate_keypair, pubkey_of, sign_transaction};
use dotcoin_common::{Amount, FeeRate, Network, OutPoint, PubKey, Transaction, TxIn, TxOut, Txid};
use dotcoind::mempool::{Mempool, MempoolError, RemovalReason, ReplacementError};
use dotcoind::miner::MinerService;
use dotcoind::state::{ChainOptions, ChainService, EventBus, Snapshot};
use secp256k1::Keypair;

const RELAY: FeeRate = FeeRate::from_sat_per_kvb(1000);

/// A regtest chain whose first 110 blocks pay `kp`, and optionally a confirmed fan-out of
/// one coinbase into `fan` outputs to `kp`.
struct Setup {
    _dir: tempfile::TempDir,
    chain: Arc<ChainService>,
    kp: Keypair,
    pk: PubKey,
    /// The fan-out's outputs, confirmed.
    fan: Vec<(OutPoint, TxOut)>,
}

impl Setup {
    fn new(fan: usize) -> Setup {
        let dir = tempfile::tempdir().expect("tempdir");
        let chain = ChainService::open(
            ChainOptions {
                datadir: dir.path().to_path_buf(),
                params: Network::Regtest.params(),
                max_mempool_bytes: 5_000_000,
                min_relay_fee: RELAY,
                db_cache_bytes: dotcoind::storage::DEFAULT_DB_CACHE_BYTES,
            },
            EventBus::new(),
        )
        .expect("chain opens");
        let miner = MinerService::new(Arc::clone(&chain));
        let kp = generate_keypair();
        let pk = pubkey_of(&kp);
        miner.generate(110, pk, 1, u64::MAX).expect("mined");
        let mut s = Setup {
            _dir: dir,
            chain,
            kp,
            pk,
            fan: Vec::new(),
        };
        if fan > 0 {
            let cb = s.coinbase(2);
            let each = (cb.1.value.to_sat() - 1_000_000) / fan as u64;
            let tx = s.spend(&[cb], &vec![each; fan]);
            s.chain.accept_transaction(&tx).expect("fan-out accepted");
            miner.generate(1, pk, 1, u64::MAX).expect("mined");
            s.fan = tx
                .outputs
                .iter()
                .enumerate()
                .map(|(i, o)| {
                    (
                        OutPoint {
                            txid: tx.txid(),
                            vout: i as u32,
                        },
                        *o,
                    )
                })
                .collect();
        }
        s
    }

    fn snap(&self) -> Arc<Snapshot> {
        self.chain.snapshot()
    }

    /// The mature coinbase output of block `height`.
    fn coinbase(&self, height: u32) -> (OutPoint, TxOut) {
        let s = self.snap();
        let hash = s.index().active_hash(height).expect("height");
        let b = s.block(&hash).expect("read").expect("stored");
        (
            OutPoint {
                txid: b.txdata[0].txid(),
                vout: 0,
            },
            b.txdata[0].outputs[0],
        )
    }

    /// A signed transaction spending `inputs` into outputs of `values` (sat) to the key.
    fn spend(&self, inputs: &[(OutPoint, TxOut)], values: &[u64]) -> Transaction {
        let mut tx = Transaction {
            version: 1,
            inputs: inputs
                .iter()
                .map(|(op, _)| TxIn {
                    prevout: *op,
                    witness: vec![],
                })
                .collect(),
            outputs: values
                .iter()
                .map(|v| TxOut {
                    value: Amount::from_sat(*v),
                    pubkey: self.pk,
                })
                .collect(),
            lock_time: 0,
        };
        let spent: Vec<TxOut> = inputs.iter().map(|(_, o)| *o).collect();
        sign_transaction(&mut tx, &spent, std::slice::from_ref(&self.kp)).expect("signs");
        tx
    }

    /// [`Setup::spend`] paying `fee` sat, the rest split into `outputs` outputs.
    fn spend_fee(&self, inputs: &[(OutPoint, TxOut)], outputs: usize, fee: u64) -> Transaction {
        let total: u64 = inputs.iter().map(|(_, o)| o.value.to_sat()).sum();
        let each = (total - fee) / outputs as u64;
        let mut values = vec![each; outputs];
        values[0] += total - fee - each * outputs as u64;
        self.spend(inputs, &values)
    }
}

fn out(tx: &Transaction, vout: u32) -> (OutPoint, TxOut) {
    (
        OutPoint {
            txid: tx.txid(),
            vout,
        },
        tx.outputs[vout as usize],
    )
}

fn replacement_error(e: MempoolError) -> ReplacementError {
    match e {
        MempoolError::Replacement(r) => r,
        other => panic!("not a replacement refusal: {other}"),
    }
}

/// The size of a spend of `coin` into `outputs` outputs: the same whatever it pays.
fn size_of_spend(s: &Setup, coin: (OutPoint, TxOut), outputs: usize) -> usize {
    s.spend_fee(&[coin], outputs, 1000).size()
}

#[test]
fn a_replacement_paying_exactly_the_required_fee_enters_and_one_sat_less_does_not() {
    let s = Setup::new(0);
    let snap = s.snap();
    let chain: &Snapshot = &snap;
    let mut pool = Mempool::new(5_000_000, RELAY);
    let coin = s.coinbase(1);
    let original = s.spend_fee(&[coin], 1, 10_000);
    pool.accept(&original, chain).expect("original enters");
    pool.take_removals();

    // The replacement has the original's shape; its size does not depend on its fee.
    let size = size_of_spend(&s, coin, 1);
    assert_eq!(size, original.size());
    let required = 10_000 + RELAY.fee_for(size).to_sat();
    let short = s.spend_fee(&[coin], 1, required - 1);
    assert_eq!(short.size(), size);
    let err = replacement_error(pool.check(&short, chain).expect_err("one sat short"));
    assert!(
        matches!(err, ReplacementError::RelayFee { additional, required: r, .. }
            if additional.to_sat() == RELAY.fee_for(size).to_sat() - 1
                && r == RELAY.fee_for(size)),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "insufficient fee, rejecting replacement {}, not enough additional fees to relay; {} < {}",
            short.txid(),
            core_money(size as u64 - 1),
            core_money(size as u64)
        )
    );
    assert!(pool.contains(&original.txid()), "a refusal changes nothing");

    let exact = s.spend_fee(&[coin], 1, required);
    let txid = pool.accept(&exact, chain).expect("exactly enough");
    assert!(!pool.contains(&original.txid()));
    assert!(pool.contains(&txid));
    assert_eq!(
        pool.take_removals(),
        vec![(original.txid(), RemovalReason::Replaced, Some(txid))]
    );
    assert_eq!(
        pool.get(&txid).expect("in pool").replaces,
        vec![original.txid()]
    );
}

#[test]
fn a_replacement_must_pay_at_least_the_fees_it_evicts() {
    let s = Setup::new(0);
    let snap = s.snap();
    let chain: &Snapshot = &snap;
    let mut pool = Mempool::new(5_000_000, RELAY);
    let coin = s.coinbase(1);
    // A large original (eight outputs) paying 20 000: a one-output replacement can beat
    // its fee rate while paying less in total.
    let original = s.spend_fee(&[coin], 8, 20_000);
    pool.accept(&original, chain).expect("original enters");
    let less = s.spend_fee(&[coin], 1, 19_999);
    assert!(
        less.size() * 20_000 < original.size() * 19_999,
        "the smaller replacement pays the higher rate"
    );
    let err = replacement_error(pool.check(&less, chain).expect_err("pays less"));
    assert_eq!(
        err.to_string(),
        format!(
            "insufficient fee, rejecting replacement {}, less fees than conflicting txs; 0.00019999 < 0.0002",
            less.txid()
        )
    );
    assert_eq!(err.reject_reason(), "insufficient fee");
    let enough = s.spend_fee(&[coin], 1, 20_000 + less.size() as u64);
    pool.accept(&enough, chain).expect("pays for both");
}

#[test]
fn the_fee_rate_must_beat_each_directly_replaced_transaction() {
    let s = Setup::new(0);
    let snap = s.snap();
    let chain: &Snapshot = &snap;
    let mut pool = Mempool::new(5_000_000, RELAY);
    let coin = s.coinbase(1);
    let original = s.spend_fee(&[coin], 1, 100_000);
    pool.accept(&original, chain).expect("original enters");
    let old = FeeRate::from_fee_and_size(Amount::from_sat(100_000), original.size());
    // A larger replacement (three outputs) at the smallest fee whose rate, in whole units
    // per kvB as Core compares them, is one above the original's.
    let size = size_of_spend(&s, coin, 3);
    let fee_above = ((old.to_sat_per_kvb() + 1) * size as u64).div_ceil(1000);
    let same_rate = s.spend_fee(&[coin], 3, fee_above - 1);
    assert_eq!(same_rate.size(), size);
    let err = replacement_error(pool.check(&same_rate, chain).expect_err("not higher"));
    assert!(
        matches!(err, ReplacementError::FeeRateNotHigher { old: o, conflicting, .. }
            if o == old && conflicting == original.txid()),
        "{err}"
    );
    assert!(
        err.to_string().starts_with(&format!(
            "insufficient fee, rejecting replacement {}; new feerate 0.",
            same_rate.txid()
        )) && err.to_string().contains(" DOT/kvB <= old feerate 0."),
        "{err}"
    );
    let higher = s.spend_fee(&[coin], 3, fee_above);
    pool.accept(&higher, chain)
        .expect("one unit per kvB higher, and enough in total");
}

#[test]
fn descendants_leave_with_the_transaction_they_spend_from() {
    let s = Setup::new(0);
    let snap = s.snap();
    let chain: &Snapshot = &snap;
    let mut pool = Mempool::new(5_000_000, RELAY);
    let coin = s.coinbase(1);
    let parent = s.spend_fee(&[coin], 2, 10_000);
    let child = s.spend_fee(&[out(&parent, 0)], 1, 10_000);
    let grandchild = s.spend_fee(&[out(&child, 0)], 1, 10_000);
    let other_child = s.spend_fee(&[out(&parent, 1)], 1, 10_000);
    for tx in [&parent, &child, &grandchild, &other_child] {
        pool.accept(tx, chain).expect("enters");
    }
    pool.take_removals();
    // Four transactions paying 40 000 in all must be outbid, not just the parent.
    let size = size_of_spend(&s, coin, 1);
    let below = s.spend_fee(&[coin], 1, 40_000 + size as u64 - 1);
    let err = replacement_error(pool.check(&below, chain).expect_err("one sat short"));
    assert!(matches!(err, ReplacementError::RelayFee { .. }), "{err}");
    let r = s.spend_fee(&[coin], 1, 40_000 + size as u64);
    let txid = pool.accept(&r, chain).expect("outbids the family");
    assert_eq!(pool.len(), 1);
    let mut removed = pool.take_removals();
    removed.sort_by_key(|(t, _, _)| *t);
    let mut want: Vec<(Txid, RemovalReason, Option<Txid>)> =
        [&parent, &child, &grandchild, &other_child]
            .iter()
            .map(|t| (t.txid(), RemovalReason::Replaced, Some(txid)))
            .collect();
    want.sort_by_key(|(t, _, _)| *t);
    assert_eq!(removed, want);
}

#[test]
fn at_most_one_hundred_transactions_are_evicted() {
    let s = Setup::new(101);
    let snap = s.snap();
    let chain: &Snapshot = &snap;
    let mut pool = Mempool::new(5_000_000, RELAY);
    let originals: Vec<Transaction> = s.fan.iter().map(|c| s.spend_fee(&[*c], 1, 1_000)).collect();
    for tx in &originals {
        pool.accept(tx, chain).expect("enters");
    }
    // 101 direct conflicts: refused, whatever it pays.
    let all = s.spend_fee(&s.fan, 1, 5_000_000);
    let err = replacement_error(pool.check(&all, chain).expect_err("101"));
    assert_eq!(
        err.to_string(),
        format!(
            "too many potential replacements, rejecting replacement {}; too many potential replacements (101 > 100)",
            all.txid()
        )
    );
    // 100 direct conflicts: accepted.
    let hundred = s.spend_fee(&s.fan[..100], 1, 5_000_000);
    // 99 direct conflicts, one of which has a child: 100 evicted, accepted; with one
    // more child, 101: refused. Checked on a copy of the pool before the hundred.
    let mut with_children = pool.clone();
    let child = s.spend_fee(&[out(&originals[0], 0)], 1, 1_000);
    with_children.accept(&child, chain).expect("child enters");
    let grandchild = s.spend_fee(&[out(&child, 0)], 1, 1_000);
    let ninety_nine = s.spend_fee(&s.fan[..99], 1, 5_000_000);
    with_children
        .check(&ninety_nine, chain)
        .expect("99 direct and one child: 100");
    with_children.accept(&grandchild, chain).expect("enters");
    let err = replacement_error(
        with_children
            .check(&ninety_nine, chain)
            .expect_err("99 direct, a child and a grandchild: 101"),
    );
    assert!(
        matches!(err, ReplacementError::TooManyReplacements { count, .. } if count > 100),
        "{err}"
    );

    let txid = pool.accept(&hundred, chain).expect("a hundred");
    assert_eq!(pool.len(), 2, "the replacement and the 101st original");
    assert!(pool.contains(&originals[100].txid()));
    let removed = pool.take_removals();
    assert_eq!(removed.len(), 100);
    assert!(
        removed
            .iter()
            .all(|(_, r, by)| *r == RemovalReason::Replaced && *by == Some(txid)),
        "{removed:?}"
    );
}

#[test]
fn a_replacement_may_not_spend_what_it_replaces() {
    let s = Setup::new(0);
    let snap = s.snap();
    let chain: &Snapshot = &snap;
    let mut pool = Mempool::new(5_000_000, RELAY);
    let coin = s.coinbase(1);
    let original = s.spend_fee(&[coin], 1, 1_000);
    pool.accept(&original, chain).expect("enters");
    let r = s.spend_fee(&[coin, out(&original, 0)], 1, 1_000_000);
    let err = replacement_error(pool.check(&r, chain).expect_err("spends its conflict"));
    assert_eq!(
        err.to_string(),
        format!(
            "bad-txns-spends-conflicting-tx, {} spends conflicting transaction {}",
            r.txid(),
            original.txid()
        )
    );
}

#[test]
fn a_replacement_adds_no_unconfirmed_parent_the_originals_did_not_have() {
    let s = Setup::new(0);
    let snap = s.snap();
    let chain: &Snapshot = &snap;
    let mut pool = Mempool::new(5_000_000, RELAY);
    let unrelated = s.spend_fee(&[s.coinbase(2)], 2, 1_000);
    let parent = s.spend_fee(&[s.coinbase(3)], 2, 1_000);
    let original = s.spend_fee(&[s.coinbase(1), out(&parent, 0)], 1, 1_000);
    for tx in [&unrelated, &parent, &original] {
        pool.accept(tx, chain).expect("enters");
    }
    // A new unconfirmed parent: refused, naming the input.
    let adds = s.spend_fee(&[s.coinbase(1), out(&unrelated, 0)], 1, 1_000_000);
    let err = replacement_error(pool.check(&adds, chain).expect_err("new parent"));
    assert_eq!(
        err.to_string(),
        format!(
            "replacement-adds-unconfirmed, replacement {} adds unconfirmed input, idx 1",
            adds.txid()
        )
    );
    // Another output of a parent the original already had: accepted.
    let same_parent = s.spend_fee(&[s.coinbase(1), out(&parent, 1)], 1, 1_000_000);
    pool.accept(&same_parent, chain)
        .expect("its unconfirmed parent was the original's");
    assert!(!pool.contains(&original.txid()));
}

#[test]
fn a_replacement_goes_through_the_chain_service_and_names_itself_on_the_event_stream() {
    let s = Setup::new(0);
    let mut events = s.chain.subscribe();
    let coin = s.coinbase(1);
    let original = s.spend_fee(&[coin], 1, 10_000);
    s.chain.accept_transaction(&original).expect("enters");
    let r = s.spend_fee(&[coin], 1, 20_000);
    let txid = s.chain.accept_transaction(&r).expect("replaces");
    let snap = s.snap();
    assert!(snap.mempool().contains(&txid));
    assert!(!snap.mempool().contains(&original.txid()));
    let mut seen = None;
    while let Ok(e) = events.try_recv() {
        if let dotcoind::state::Event::TxRemoved {
            txid: t,
            reason,
            replaced_by,
            ..
        } = e
        {
            seen = Some((t, reason, replaced_by));
        }
    }
    assert_eq!(
        seen,
        Some((original.txid(), RemovalReason::Replaced, Some(txid)))
    );
}

#[test]
fn a_replacement_a_full_pool_would_evict_at_once_leaves_the_originals_in_place() {
    let s = Setup::new(0);
    let snap = s.snap();
    let chain: &Snapshot = &snap;
    let coin = s.coinbase(1);
    let original = s.spend_fee(&[coin], 1, 10_000);
    // Room for the original only: the larger replacement, alone, is over the bound.
    let mut pool = Mempool::new(original.size(), RELAY);
    pool.accept(&original, chain).expect("enters");
    let r = s.spend_fee(&[coin], 3, 1_000_000);
    assert!(r.size() > original.size());
    let err = pool.accept(&r, chain).expect_err("over the bound");
    assert!(matches!(err, MempoolError::Full), "{err}");
    assert!(pool.contains(&original.txid()));
    assert!(!pool.contains(&r.txid()));
    assert!(
        pool.take_removals().is_empty(),
        "nothing left as far as anyone outside knows"
    );
}

/// `sat` as Core's `FormatMoney` writes it: trailing zeros dropped, two decimals kept.
fn core_money(sat: u64) -> String {
    let full = format!("{}.{:08}", sat / 100_000_000, sat % 100_000_000);
    let trimmed = full.trim_end_matches('0');
    let keep = full.find('.').expect("a point") + 3;
    full[..trimmed.len().max(keep)].to_owned()
}
