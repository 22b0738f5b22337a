//! The wallet service's own transaction history (`<wallet>.json.history`), through real
//! `dotcoind` and `dotcoin-wallet serve` processes: the history after a restart equals
//! what was sent, received and mined; a reorg (`invalidateblock` / `reconsiderblock`)
//! unconfirms and reconfirms a transaction and `listsinceblock` reports it in `removed`;
//! a payment to oneself shows as Core shows it; a payment replaced from elsewhere (full
//! RBF in the node) shows Core's `walletconflicts`, `replaced_by_txid`, `replaces_txid`
//! and negative confirmations; `abandontransaction`'s rules; `lockunspent` keeps a coin
//! from `send`, and a persistent lock survives a restart.

use std::collections::BTreeSet;

use dotcoin_common::{Amount, Network, OutPoint, Transaction, TxOut, Txid};
use dotcoin_functional_tests::{
    http_request, signed_spend, test_keypair, wait_until, TestNode, WalletServiceProcess, TIMEOUT,
};
use serde_json::{json, Value};

const COIN: u64 = 100_000_000;

/// A JSON-RPC error: code and message.
type Failure = (i64, String);

fn call(s: &WalletServiceProcess, method: &str, params: Value) -> Result<Value, Failure> {
    let body = json!({"id": "t", "method": method, "params": params}).to_string();
    let (_, text) = http_request(s.port, "POST", "/", &body, Some(&s.cookie_auth()));
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("bad JSON ({e}): {text}"));
    match v.get("error").filter(|e| !e.is_null()) {
        Some(e) => Err((
            e["code"].as_i64().expect("code"),
            e["message"].as_str().expect("message").to_owned(),
        )),
        None => Ok(v["result"].clone()),
    }
}

fn rpc(s: &WalletServiceProcess, method: &str, params: Value) -> Value {
    call(s, method, params.clone()).unwrap_or_else(|e| panic!("{method} {params} failed: {e:?}"))
}

fn refused(s: &WalletServiceProcess, method: &str, params: Value) -> Failure {
    match call(s, method, params.clone()) {
        Ok(v) => panic!("{method} {params} succeeded: {v}"),
        Err(e) => e,
    }
}

fn sat(v: &Value) -> i64 {
    let f = v.as_f64().unwrap_or_else(|| panic!("not an amount: {v}"));
    (f * COIN as f64).round() as i64
}

fn all(s: &WalletServiceProcess) -> Vec<Value> {
    rpc(s, "listtransactions", json!(["*", 10_000]))
        .as_array()
        .expect("array")
        .clone()
}

fn of_tx<'a>(entries: &'a [Value], txid: &str) -> Vec<&'a Value> {
    entries.iter().filter(|e| e["txid"] == txid).collect()
}

fn txids(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|e| e["txid"].as_str().expect("txid").to_owned())
        .collect()
}

/// Mines 101 blocks to a new address of the service's wallet.
fn fund(node: &TestNode, s: &WalletServiceProcess) -> String {
    let address = rpc(s, "getnewaddress", json!(["rewards"]));
    let address = address.as_str().expect("address").to_owned();
    node.generate(101, &address);
    address
}

fn mempool(node: &TestNode) -> Vec<String> {
    node.rpc_typed("getrawmempool", json!([]))
}

#[test]
fn history_survives_a_restart_and_a_reorg_and_listsinceblock_reports_removed() {
    let node = &TestNode::start(&[]);
    let mut s = WalletServiceProcess::start(node, &[]);
    fund(node, &s);
    let (_, other) = test_keypair();
    let (_, miner) = test_keypair();
    let before: String = node.rpc_typed("getbestblockhash", json!([]));

    let paid = rpc(&s, "sendtoaddress", json!([other, 3]));
    let paid = paid.as_str().expect("txid").to_owned();
    let mine = rpc(&s, "getnewaddress", json!(["self"]));
    let to_self = rpc(&s, "sendtoaddress", json!([mine, 2]));
    let to_self = to_self.as_str().expect("txid").to_owned();
    let block = node.generate(1, &miner)[0].to_string();

    let list = all(&s);
    // The payment: one send of 3 to the other key, with its fee; its change not listed.
    let p = of_tx(&list, &paid);
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0]["category"], "send");
    assert_eq!(sat(&p[0]["amount"]), -3 * COIN as i64);
    assert_eq!(p[0]["address"], other);
    assert!(sat(&p[0]["fee"]) < 0, "{}", p[0]);
    assert_eq!(p[0]["confirmations"], 1);
    assert_eq!(p[0]["blockhash"], block);
    // To oneself, as Core shows it: a send and a receive of the amount, the fee on the send.
    let me = of_tx(&list, &to_self);
    let cats: Vec<&str> = me.iter().map(|e| e["category"].as_str().unwrap()).collect();
    assert_eq!(cats, ["send", "receive"], "{me:?}");
    assert_eq!(sat(&me[0]["amount"]), -2 * COIN as i64);
    assert!(sat(&me[0]["fee"]) < 0);
    assert_eq!(sat(&me[1]["amount"]), 2 * COIN as i64);
    assert_eq!(me[1]["label"], "self");
    assert!(list.iter().all(|e| sat(&e["amount"]) != 0), "no send of 0");
    let got = rpc(&s, "gettransaction", json!([to_self]));
    assert_eq!(sat(&got["amount"]), 0, "{got}");
    assert_eq!(sat(&got["fee"]), sat(&me[0]["fee"]));
    assert_eq!(got["details"].as_array().map(Vec::len), Some(2));
    // Mined: the 101 coinbases, the oldest mature, the newest not.
    let coinbases = |c: &str| list.iter().filter(|e| e["category"] == c).count();
    assert_eq!(coinbases("immature") + coinbases("generate"), 101);
    assert!(coinbases("immature") > 0 && coinbases("generate") > 0);

    // A restart reads the same history back from its file, after catching up.
    let history = s.datadir.join("regtest/wallets/default.json.history");
    assert!(history.is_file(), "{}", history.display());
    rpc(&s, "stop", json!([]));
    s.wait_exit();
    let s = WalletServiceProcess::start_in(node, &s.datadir.clone(), &[], &[]);
    assert_eq!(all(&s), list);

    // listsinceblock: exactly the newer transactions; lastblock the tip.
    let since = rpc(&s, "listsinceblock", json!([before]));
    assert_eq!(
        txids(&since["transactions"]),
        BTreeSet::from([paid.clone(), to_self.clone()])
    );
    assert_eq!(since["removed"], json!([]));
    assert_eq!(since["lastblock"], block);
    let since = rpc(
        &s,
        "listsinceblock",
        json!({"blockhash": block, "target_confirmations": 2}),
    );
    assert_eq!(since["transactions"], json!([]));
    assert_eq!(since["lastblock"], before);
    let change = rpc(
        &s,
        "listsinceblock",
        json!({"blockhash": before, "include_change": true}),
    );
    assert!(
        change["transactions"].as_array().unwrap().len()
            > since_len(&rpc(&s, "listsinceblock", json!([before]))),
        "include_change adds the change outputs"
    );

    // Disconnect the block: both back to unconfirmed, and `removed` since that block.
    node.rpc("invalidateblock", json!([block]));
    let tx = rpc(&s, "gettransaction", json!([paid]));
    assert_eq!(tx["confirmations"], 0, "{tx}");
    assert!(tx.get("blockhash").is_none(), "{tx}");
    let since = rpc(&s, "listsinceblock", json!([block]));
    assert_eq!(
        txids(&since["removed"]),
        BTreeSet::from([paid.clone(), to_self.clone()])
    );
    assert_eq!(
        txids(&since["transactions"]),
        BTreeSet::from([paid.clone(), to_self.clone()])
    );
    assert_eq!(since["lastblock"], before);
    let without = rpc(
        &s,
        "listsinceblock",
        json!({"blockhash": block, "include_removed": false}),
    );
    assert_eq!(without["removed"], json!([]));

    // Reconnect it: confirmed again, in that block.
    node.rpc("reconsiderblock", json!([block]));
    wait_until("the payment to confirm again", TIMEOUT, || {
        rpc(&s, "gettransaction", json!([paid]))["confirmations"] == 1
    });
    assert_eq!(rpc(&s, "gettransaction", json!([paid]))["blockhash"], block);
    assert_eq!(
        rpc(&s, "listsinceblock", json!([block]))["removed"],
        json!([])
    );

    // Hostile parameters get Core's errors.
    let (code, message) = refused(&s, "listsinceblock", json!(["00".repeat(32)]));
    assert_eq!((code, message.as_str()), (-5, "Block not found"));
    let (code, _) = refused(&s, "listsinceblock", json!([block, 0]));
    assert_eq!(code, -8);
    let (code, _) = refused(&s, "listsinceblock", json!(["zz"]));
    assert_eq!(code, -8);
}

fn since_len(v: &Value) -> usize {
    v["transactions"].as_array().map_or(0, Vec::len)
}

/// The keypair of a wallet address, from `dumpprivkey`.
fn key_of(s: &WalletServiceProcess, address: &str) -> secp256k1::Keypair {
    // Regtest WIF: version byte 0xef, the secret, the compressed flag.
    let wif = rpc(s, "dumpprivkey", json!([address]));
    let payload = bitcoincore_rpc::bitcoin::base58::decode_check(wif.as_str().expect("WIF"))
        .expect("base58check");
    assert_eq!((payload.len(), payload[0]), (34, 0xef), "{wif}");
    let secp = secp256k1::Secp256k1::new();
    secp256k1::Keypair::from_seckey_slice(&secp, &payload[1..33]).expect("a key")
}

#[test]
fn a_payment_replaced_from_elsewhere_shows_as_core_does_and_abandon_follows_cores_rules() {
    let node = &TestNode::start(&[]);
    let s = WalletServiceProcess::start(node, &[]);
    let rewards = fund(node, &s);
    let (_, other) = test_keypair();
    let (_, miner) = test_keypair();

    let original = rpc(&s, "sendtoaddress", json!([other, 1]));
    let original = original.as_str().expect("txid").to_owned();
    let decoded = rpc(&s, "gettransaction", json!([original, null, true]));
    let input = &decoded["decoded"]["vin"][0];
    let prev_txid: Txid = input["txid"].as_str().unwrap().parse().unwrap();
    let prev_vout = input["vout"].as_u64().unwrap() as u32;
    let prev = rpc(
        &s,
        "gettransaction",
        json!([prev_txid.to_string(), null, true]),
    );
    let prev_value = sat(&prev["decoded"]["vout"][prev_vout as usize]["value"]) as u64;

    // Elsewhere, with the same key: the coin spent again at a much higher fee.
    let kp = key_of(&s, &rewards);
    let to = dotcoin_common::Address::parse_for(&other, Network::Regtest)
        .unwrap()
        .pubkey;
    let conflict: Transaction = signed_spend(
        &kp,
        (
            OutPoint {
                txid: prev_txid,
                vout: prev_vout,
            },
            TxOut {
                value: Amount::from_sat(prev_value),
                pubkey: dotcoin_common::Address::parse_for(&rewards, Network::Regtest)
                    .unwrap()
                    .pubkey,
            },
        ),
        vec![TxOut {
            value: Amount::from_sat(prev_value - 1_000_000),
            pubkey: to,
        }],
    );
    let replacement: String = node.rpc_typed(
        "sendrawtransaction",
        json!([hex::encode(dotcoin_common::serialize(&conflict))]),
    );
    assert_eq!(mempool(node), vec![replacement.clone()]);

    wait_until("the wallet to see the replacement", TIMEOUT, || {
        rpc(&s, "gettransaction", json!([original]))["replaced_by_txid"] == replacement.as_str()
    });
    let old = rpc(&s, "gettransaction", json!([original]));
    assert_eq!(old["confirmations"], 0);
    assert_eq!(old["walletconflicts"], json!([replacement]));
    let new = rpc(&s, "gettransaction", json!([replacement]));
    assert_eq!(new["replaces_txid"], original.as_str());
    assert_eq!(new["walletconflicts"], json!([original]));
    assert_eq!(new["confirmations"], 0);

    // Abandon: not the pooled replacement, yes the dropped original, and only once.
    let (code, message) = refused(&s, "abandontransaction", json!([replacement]));
    assert_eq!(
        (code, message.as_str()),
        (-5, "Transaction not eligible for abandonment")
    );
    rpc(&s, "abandontransaction", json!([original]));
    let old = rpc(&s, "gettransaction", json!([original]));
    assert_eq!(old["details"][0]["abandoned"], true, "{old}");
    let (code, _) = refused(&s, "abandontransaction", json!([original]));
    assert_eq!(code, -5);
    let (code, message) = refused(&s, "abandontransaction", json!(["11".repeat(32)]));
    assert_eq!(
        (code, message.as_str()),
        (-5, "Invalid or non-wallet transaction id")
    );

    // The conflict confirms: the original shows minus its confirmations.
    node.generate(1, &miner);
    wait_until("confirmations -1", TIMEOUT, || {
        rpc(&s, "gettransaction", json!([original]))["confirmations"] == -1
    });
    node.generate(1, &miner);
    wait_until("confirmations -2", TIMEOUT, || {
        rpc(&s, "gettransaction", json!([original]))["confirmations"] == -2
    });
    let (code, _) = refused(&s, "abandontransaction", json!([replacement]));
    assert_eq!(code, -5, "a mined transaction is not abandoned");
    assert_eq!(
        rpc(&s, "gettransaction", json!([replacement]))["confirmations"],
        2
    );
}

#[test]
fn lockunspent_keeps_coins_from_send_and_a_persistent_lock_survives_a_restart() {
    let node = &TestNode::start(&[]);
    let mut s = WalletServiceProcess::start(node, &[]);
    fund(node, &s);
    node.generate(1, &test_keypair().1);
    let (_, other) = test_keypair();
    let coins: Vec<Value> = rpc(&s, "listunspent", json!([]))
        .as_array()
        .unwrap()
        .iter()
        .map(|u| json!({"txid": u["txid"], "vout": u["vout"]}))
        .collect();
    assert!(coins.len() >= 2, "{coins:?}");
    let (first, rest) = coins.split_first().unwrap();
    assert_eq!(rpc(&s, "lockunspent", json!([false, [first], true])), true);
    assert_eq!(
        rpc(
            &s,
            "lockunspent",
            json!({"unlock": false, "transactions": rest})
        ),
        true
    );
    let listed = rpc(&s, "listlockunspent", json!([]));
    assert_eq!(listed.as_array().unwrap().len(), coins.len());
    for c in &coins {
        assert!(listed.as_array().unwrap().contains(c), "{c} in {listed}");
    }
    // Every coin locked: nothing to send with.
    let (code, _) = refused(&s, "sendtoaddress", json!([other, 1]));
    assert_eq!(code, -6);
    // Core's refusals.
    let (code, message) = refused(&s, "lockunspent", json!([false, [first]]));
    assert_eq!(
        (code, message.as_str()),
        (-8, "Invalid parameter, output already locked")
    );
    let unknown = json!({"txid": "22".repeat(32), "vout": 0});
    let (code, message) = refused(&s, "lockunspent", json!([false, [unknown]]));
    assert_eq!(
        (code, message.as_str()),
        (-8, "Invalid parameter, unknown transaction")
    );
    let far = json!({"txid": first["txid"], "vout": 99});
    let (code, message) = refused(&s, "lockunspent", json!([true, [far]]));
    assert_eq!(
        (code, message.as_str()),
        (-8, "Invalid parameter, vout index out of bounds")
    );
    let (code, _) = refused(&s, "lockunspent", json!([false, "x"]));
    assert_eq!(code, -3);

    // A restart keeps the persistent lock only.
    rpc(&s, "stop", json!([]));
    s.wait_exit();
    let s = WalletServiceProcess::start_in(node, &s.datadir.clone(), &[], &[]);
    assert_eq!(rpc(&s, "listlockunspent", json!([])), json!([first]));
    let (code, message) = refused(&s, "lockunspent", json!([true, [rest[0]]]));
    assert_eq!(
        (code, message.as_str()),
        (-8, "Invalid parameter, expected locked output")
    );
    // The unlocked coins pay; the locked one is left alone.
    let txid = rpc(&s, "sendtoaddress", json!([other, 1]));
    let spent = rpc(&s, "gettransaction", json!([txid, null, true]));
    for input in spent["decoded"]["vin"].as_array().unwrap() {
        assert!(
            !(input["txid"] == first["txid"] && input["vout"] == first["vout"]),
            "the locked coin was spent: {spent}"
        );
    }
    // Unlock all: nothing listed.
    assert_eq!(rpc(&s, "lockunspent", json!([true])), true);
    assert_eq!(rpc(&s, "listlockunspent", json!([])), json!([]));
}

#[test]
fn a_corrupt_history_file_is_refused_naming_it_and_a_new_wallet_starts_empty() {
    let node = &TestNode::start(&[]);
    let s = WalletServiceProcess::start(node, &[]);
    rpc(&s, "createwallet", json!(["bob"]));
    rpc(&s, "unloadwallet", json!(["bob"]));
    let path = s.datadir.join("regtest/wallets/bob.json.history");
    std::fs::write(&path, b"{\"version\":1,\"txs\":[{\"txid\":\"zz").expect("write");
    let (code, message) = refused(&s, "loadwallet", json!(["bob"]));
    assert_eq!(code, -4, "{message}");
    assert!(
        message.contains("bob.json.history") && message.contains("corrupt"),
        "{message}"
    );
    // Nothing was loaded: the default wallet still answers alone at `/`.
    assert_eq!(rpc(&s, "listwallets", json!([])), json!(["default"]));
    std::fs::remove_file(&path).expect("remove");
    rpc(&s, "loadwallet", json!(["bob"]));
}
