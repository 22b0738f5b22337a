//! Full RBF through real `dotcoind` processes: the replacement rules as
//! `sendrawtransaction` and `testmempoolaccept` answer them, the replacement relayed to a
//! peer that applies the same rules, and `tx_removed` with `"reason":"replaced"` and `by`
//! on the peer's event stream. The rules one by one, both sides, are the pool's tests
//! (`dotcoind/tests/replace.rs`).

use dotcoin_common::{
    serialize, Amount, FeeRate, Network, OutPoint, PubKey, Transaction, TxOut, Txid,
};
use dotcoin_functional_tests::{
    coinbase_at, signed_spend, test_keypair, wait_until, ws_connect, ws_next, ws_subscribe,
    TestNode, TIMEOUT,
};
use serde_json::{json, Value};

fn mempool(n: &TestNode) -> Vec<Txid> {
    n.rpc_typed("getrawmempool", json!([]))
}

fn hex_of(tx: &Transaction) -> String {
    hex::encode(serialize(tx))
}

fn addr_key(addr: &str) -> PubKey {
    dotcoin_common::Address::parse_for(addr, Network::Regtest)
        .expect("regtest address")
        .pubkey
}

/// `prev` spent to `to` in `outputs` outputs, paying `fee` sat.
fn pay(
    kp: &secp256k1::Keypair,
    prev: (OutPoint, TxOut),
    to: PubKey,
    outputs: usize,
    fee: u64,
) -> Transaction {
    let total = prev.1.value.to_sat() - fee;
    let each = total / outputs as u64;
    let mut outs = vec![
        TxOut {
            value: Amount::from_sat(each),
            pubkey: to,
        };
        outputs
    ];
    outs[0].value = Amount::from_sat(total - each * (outputs as u64 - 1));
    signed_spend(kp, prev, outs)
}

#[test]
fn a_replacement_at_the_required_fee_replaces_and_relays_and_one_sat_less_is_refused() {
    let a = TestNode::start(&["--maxoutbound", "0"]);
    let b = TestNode::start(&[
        "--maxoutbound",
        "0",
        "--addnode",
        &format!("127.0.0.1:{}", a.p2p_port),
    ]);
    wait_until("A and B connected", TIMEOUT, || {
        a.rpc_typed::<u64>("getconnectioncount", json!([])) == 1
            && b.rpc_typed::<u64>("getconnectioncount", json!([])) == 1
    });
    let (kp, addr) = test_keypair();
    let (_, payee) = test_keypair();
    let payee = addr_key(&payee);
    a.generate(101, &addr);
    wait_until("B at height 101", TIMEOUT, || {
        b.rpc_typed::<u64>("getblockcount", json!([])) == 101
    });

    // B's event stream, live before anything is sent.
    let mut ws = ws_connect(&b, Some(b.cookie_auth())).expect("WebSocket");
    ws_subscribe(&mut ws, "subscribe_sequence");

    let coin = coinbase_at(&a, 1);
    let original = pay(&kp, coin, payee, 1, 10_000);
    let original_id: Txid = a.rpc_typed("sendrawtransaction", json!([hex_of(&original)]));
    wait_until("the original on B", TIMEOUT, || {
        mempool(&b).contains(&original_id)
    });

    // The replacement pays the original's fee plus the relay fee for its own size.
    let size = original.size();
    let required = 10_000 + FeeRate::from_sat_per_kvb(1000).fee_for(size).to_sat();
    let short = pay(&kp, coin, payee, 1, required - 1);
    let err = a
        .try_rpc("sendrawtransaction", json!([hex_of(&short)]))
        .expect_err("one sat short");
    assert_eq!(err.code, -26, "{err:?}");
    assert_eq!(
        err.message,
        format!(
            "insufficient fee, rejecting replacement {}, not enough additional fees to relay; {} < {}",
            short.txid(),
            core_money(size as u64 - 1),
            core_money(size as u64)
        )
    );
    let test: Vec<Value> = a.rpc_typed("testmempoolaccept", json!([[hex_of(&short)]]));
    assert_eq!(test[0]["allowed"], false, "{test:?}");
    // This node's `reject-reason` is the whole message (Core's reason, then its details).
    assert_eq!(test[0]["reject-reason"], err.message, "{test:?}");

    let replacement = pay(&kp, coin, payee, 1, required);
    let test: Vec<Value> = a.rpc_typed("testmempoolaccept", json!([[hex_of(&replacement)]]));
    assert_eq!(test[0]["allowed"], true, "{test:?}");
    let txid: Txid = a.rpc_typed("sendrawtransaction", json!([hex_of(&replacement)]));
    assert_eq!(mempool(&a), vec![txid]);

    // B got it from A and replaced the original by the same rules.
    wait_until(
        "the replacement to replace the original on B",
        TIMEOUT,
        || mempool(&b) == vec![txid],
    );
    let removed = loop {
        let n = ws_next(&mut ws);
        let item = &n["params"]["result"];
        if item["type"] == "tx_removed" {
            break item.clone();
        }
    };
    assert_eq!(removed["txid"], original_id.to_string(), "{removed}");
    assert_eq!(removed["reason"], "replaced", "{removed}");
    assert_eq!(removed["by"], txid.to_string(), "{removed}");

    // The original, sent again, is now the one refused: its fee rate is lower.
    let err = b
        .try_rpc("sendrawtransaction", json!([hex_of(&original)]))
        .expect_err("lower fee rate");
    assert_eq!(err.code, -26, "{err:?}");
    assert!(
        err.message.starts_with(&format!(
            "insufficient fee, rejecting replacement {original_id}; new feerate "
        )),
        "{err:?}"
    );

    // Mined on B, confirmed on A.
    let mined = b.generate(1, &addr);
    wait_until("A to take B's block", TIMEOUT, || {
        a.rpc_typed::<String>("getbestblockhash", json!([])) == mined[0].to_string()
    });
    assert!(mempool(&a).is_empty());
}

/// `sat` as Core's `FormatMoney` writes it: trailing zeros dropped, two decimals kept.
fn core_money(sat: u64) -> String {
    let full = format!("{}.{:08}", sat / 100_000_000, sat % 100_000_000);
    let trimmed = full.trim_end_matches('0');
    let keep = full.find('.').expect("a point") + 3;
    full[..trimmed.len().max(keep)].to_owned()
}
