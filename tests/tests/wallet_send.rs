//! The wallet service's spending calls through real `dotcoind` and `dotcoin-wallet serve`
//! processes: `send` with and without options (a PSBT, no broadcast, chosen inputs, the
//! fee from an output), `sendall` emptying a wallet, `fundrawtransaction` on the node's
//! `createrawtransaction` (signed, sent and mined), coins held by `lockunspent` never
//! funding anything, `bumpfee` unsticking a 1 sat/vB payment (the node replaces it, the
//! history records the pair, the replacement confirms) and `psbtbumpfee` giving a PSBT
//! `walletprocesspsbt` signs; and Core's codes and texts for bad parameters.

use dotcoin_common::{Address, Network, Transaction};
use dotcoin_functional_tests::{
    http_request, test_keypair, wait_until, ws_connect, ws_next, ws_subscribe, TestNode,
    WalletServiceProcess, TIMEOUT,
};
use serde_json::{json, Value};

const COIN: u64 = 100_000_000;

/// A JSON-RPC error: code and message.
type Failure = (i64, String);

/// Calls `method` on `wallet` (the default one when `None`).
fn call_on(
    s: &WalletServiceProcess,
    wallet: Option<&str>,
    method: &str,
    params: Value,
) -> Result<Value, Failure> {
    let body = json!({"id": "t", "method": method, "params": params}).to_string();
    let path = wallet.map_or("/".to_owned(), |w| format!("/wallet/{w}"));
    let (_, text) = http_request(s.port, "POST", &path, &body, Some(&s.cookie_auth()));
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
    call_on(s, None, method, params.clone())
        .unwrap_or_else(|e| panic!("{method} {params} failed: {e:?}"))
}

fn rpc_on(s: &WalletServiceProcess, wallet: &str, method: &str, params: Value) -> Value {
    call_on(s, Some(wallet), method, params.clone())
        .unwrap_or_else(|e| panic!("{wallet} {method} {params} failed: {e:?}"))
}

fn refused(s: &WalletServiceProcess, method: &str, params: Value) -> Failure {
    match call_on(s, None, method, params.clone()) {
        Ok(v) => panic!("{method} {params} succeeded: {v}"),
        Err(e) => e,
    }
}

fn sat(v: &Value) -> u64 {
    (v.as_f64().unwrap_or_else(|| panic!("not an amount: {v}")) * COIN as f64).round() as u64
}

fn mempool(node: &TestNode) -> Vec<String> {
    node.rpc_typed("getrawmempool", json!([]))
}

fn decode(hex: &Value) -> Transaction {
    let bytes = hex::decode(hex.as_str().expect("hex")).expect("hex digits");
    dotcoin_common::deserialize(&bytes).expect("a transaction")
}

fn key_of(address: &str) -> dotcoin_common::PubKey {
    Address::parse_for(address, Network::Regtest)
        .expect("address")
        .pubkey
}

/// Signed size: every input's witness a 64-byte signature.
fn signed_size(tx: &Transaction) -> u64 {
    (tx.size()
        + tx.inputs
            .iter()
            .map(|i| 64 - i.witness.len())
            .sum::<usize>()) as u64
}

/// A node and a wallet service whose default wallet holds `mature` mature coinbases (the
/// later blocks go to an address outside the wallet, so nothing else matures later).
fn setup(mature: u32) -> (TestNode, WalletServiceProcess, String) {
    let node = TestNode::start(&[]);
    let service = WalletServiceProcess::start(&node, &[]);
    let rewards = rpc(&service, "getnewaddress", json!(["rewards"]));
    let (_, elsewhere) = test_keypair();
    node.generate(mature, rewards.as_str().expect("address"));
    node.generate(100, &elsewhere);
    (node, service, elsewhere)
}

#[test]
fn send_and_sendall_with_cores_options_results_and_errors() {
    let (node, s, elsewhere) = setup(3);
    let (_, payee) = test_keypair();
    let (_, payee2) = test_keypair();

    // Plain: broadcast, and only the txid with complete.
    let sent = rpc(&s, "send", json!([{payee.clone(): 1.5}]));
    assert_eq!(sent["complete"], true, "{sent}");
    let txid = sent["txid"].as_str().expect("txid").to_owned();
    assert!(
        sent.get("hex").is_none() && sent.get("psbt").is_none(),
        "{sent}"
    );
    assert!(mempool(&node).contains(&txid));

    // Not added to the wallet: hex, txid and PSBT, nothing broadcast; change first and
    // the positional fee rate paid exactly.
    let kept = rpc(
        &s,
        "send",
        json!([[{payee2.clone(): 2}], null, "unset", 3, {"add_to_wallet": false, "change_position": 0}]),
    );
    assert_eq!(kept["complete"], true, "{kept}");
    let tx = decode(&kept["hex"]);
    assert_eq!(kept["txid"], tx.txid().to_string());
    assert!(kept["psbt"].as_str().expect("psbt").starts_with("cHNidP8"));
    assert!(!mempool(&node).contains(&tx.txid().to_string()));
    assert_eq!(tx.outputs.len(), 2);
    assert_eq!(tx.outputs[1].pubkey, key_of(&payee2));
    assert_eq!(tx.outputs[1].value.to_sat(), 2 * COIN);
    let decoded = node.rpc("decoderawtransaction", json!([kept["hex"]]));
    assert_eq!(decoded["vout"][1]["address"], payee2.as_str());
    // The change comes from the wallet's change chain (BIP86's /1/*), not its receive one.
    let change = rpc(&s, "getaddressinfo", json!([decoded["vout"][0]["address"]]));
    assert_eq!(change["ismine"], true, "{change}");
    assert_eq!(change["ischange"], true, "{change}");

    // Chosen inputs and the fee out of the output, named parameters.
    let coin = rpc(&s, "listunspent", json!([1]))[0].clone();
    let value = sat(&coin["amount"]);
    let chosen = rpc(
        &s,
        "send",
        json!({"outputs": {payee2.clone(): value as f64 / COIN as f64},
               "options": {"inputs": [{"txid": coin["txid"], "vout": coin["vout"]}],
                           "subtract_fee_from_outputs": [0], "psbt": true}}),
    );
    assert_eq!(chosen["complete"], true, "{chosen}");
    let tx = decode(&chosen["hex"]);
    assert_eq!(tx.inputs.len(), 1);
    assert_eq!(
        tx.inputs[0].prevout.txid.to_string(),
        coin["txid"].as_str().unwrap()
    );
    assert_eq!(tx.outputs.len(), 1, "all of it to the payee, less the fee");
    assert_eq!(value - tx.outputs[0].value.to_sat(), 2 * tx.size() as u64);
    node.rpc("sendrawtransaction", json!([chosen["hex"]]));

    // Bad parameters, Core's codes and texts.
    for (params, code, text) in [
        (
            json!([{"data": "00"}]),
            -8,
            "Invalid parameter, data outputs are not supported",
        ),
        (json!([{"nonsense": 1}]), -5, "Invalid address 'nonsense'"),
        (
            json!([{payee.clone(): 1}, 6, "unset", 3]),
            -8,
            "Cannot specify both conf_target and fee_rate",
        ),
        (
            json!([{payee.clone(): 1}, null, "unset", 3, {"fee_rate": 4}]),
            -8,
            "Pass the fee_rate either as an argument",
        ),
        (
            json!([{payee.clone(): 1}, null, null, null, {"bogus": 1}]),
            -3,
            "Unexpected key bogus",
        ),
        (
            json!([{payee.clone(): 1}, null, "sometimes"]),
            -8,
            "Invalid estimate_mode parameter",
        ),
        (json!([{payee.clone(): 1_000}]), -6, "Insufficient funds"),
        (
            json!([{payee.clone(): 1}, null, null, null, {"change_position": 5}]),
            -8,
            "changePosition out of bounds",
        ),
    ] {
        let (got, message) = refused(&s, "send", params.clone());
        assert_eq!(got, code, "{params}: {message}");
        assert!(message.starts_with(text), "{params}: {message}");
    }
    let (code, _) = refused(&s, "send", json!([]));
    assert_eq!(code, -1, "outputs is required");

    // sendall's refusals, in Core's words.
    for (params, code, text) in [
        (
            json!([[{payee.clone(): 1}]]),
            -8,
            "Must provide at least one address without a specified amount",
        ),
        (
            json!([[payee.clone()], null, "unset", null, {"send_max": true, "inputs": []}]),
            -8,
            "Cannot combine send_max with specific inputs.",
        ),
        (
            json!([[payee.clone()], null, "unset", null, {"minconf": -1}]),
            -8,
            "Invalid minconf (minconf cannot be negative): -1",
        ),
        (
            json!([[payee.clone()], null, "unset", null, {"minconf": 3, "maxconf": 2}]),
            -8,
            "maxconf can't be lower than minconf: 2 < 3",
        ),
        (
            json!([[payee.clone(), payee.clone()]]),
            -8,
            "Invalid parameter, duplicated address",
        ),
        (
            json!([[payee.clone(), {payee2.clone(): 21_000}]]),
            -6,
            "Assigned more value to outputs than available funds.",
        ),
    ] {
        let (got, message) = refused(&s, "sendall", params.clone());
        assert_eq!(got, code, "{params}: {message}");
        assert!(message.starts_with(text), "{params}: {message}");
    }

    // sendall empties a wallet: a second wallet paid three times sends everything on.
    rpc(&s, "createwallet", json!(["spender"]));
    let mut paid = 0;
    for amount in [1u64, 2, 3] {
        let to = rpc_on(&s, "spender", "getnewaddress", json!([]));
        // Two wallets loaded: each call names its wallet.
        rpc_on(&s, "default", "sendtoaddress", json!([to, amount]));
        paid += amount * COIN;
    }
    node.generate(1, &elsewhere);
    wait_until("the spender's coins to confirm", TIMEOUT, || {
        sat(&rpc_on(&s, "spender", "getbalance", json!([]))) == paid
    });
    let (_, payee3) = test_keypair();
    let all = rpc_on(
        &s,
        "spender",
        "sendall",
        json!({"recipients": [payee3.clone(), {payee.clone(): 0.5}], "fee_rate": 2}),
    );
    assert_eq!(all["complete"], true, "{all}");
    let txid = all["txid"].as_str().expect("txid").to_owned();
    assert!(mempool(&node).contains(&txid));
    let tx: Value = node.rpc("getrawtransaction", json!([txid, true]));
    assert_eq!(tx["vin"].as_array().unwrap().len(), 3);
    let outs = tx["vout"].as_array().unwrap();
    assert_eq!(outs.len(), 2, "no change: {tx}");
    assert_eq!(outs[0]["address"], payee3.as_str());
    assert_eq!(sat(&outs[1]["value"]), COIN / 2);
    let size = tx["size"].as_u64().expect("size");
    assert_eq!(paid - sat(&outs[0]["value"]) - COIN / 2, 2 * size, "{tx}");
    node.generate(1, &elsewhere);
    wait_until("sendall to confirm", TIMEOUT, || {
        rpc_on(&s, "spender", "gettransaction", json!([txid]))["confirmations"] == 1
    });
    assert_eq!(sat(&rpc_on(&s, "spender", "getbalance", json!([]))), 0);
    let balances = rpc_on(&s, "spender", "getbalances", json!([]));
    assert_eq!(sat(&balances["mine"]["untrusted_pending"]), 0, "{balances}");
    assert_eq!(rpc_on(&s, "spender", "listunspent", json!([0])), json!([]));
    // Nothing left: Core's answer.
    let (code, message) =
        call_on(&s, Some("spender"), "sendall", json!([[payee3]])).expect_err("empty wallet");
    assert_eq!(code, -6, "{message}");
    assert!(message.starts_with("Total value of UTXO pool too low to pay for transaction."));
}

#[test]
fn fundrawtransaction_funds_what_createrawtransaction_made_and_locks_hold() {
    let (node, s, elsewhere) = setup(3);
    let (_, payee) = test_keypair();

    // createrawtransaction → fundrawtransaction → signrawtransactionwithwallet → send → mined.
    let raw = node.rpc("createrawtransaction", json!([[], {payee.clone(): 2}]));
    let funded = rpc(&s, "fundrawtransaction", json!([raw]));
    assert_eq!(funded["changepos"], 1, "{funded}");
    let tx = decode(&funded["hex"]);
    assert!(tx.inputs.iter().all(|i| i.witness.is_empty()), "unsigned");
    assert_eq!(tx.outputs[0].pubkey, key_of(&payee));
    assert_eq!(
        sat(&funded["fee"]),
        2 * signed_size(&tx),
        "the default 2 sat/vB"
    );
    let signed = rpc(&s, "signrawtransactionwithwallet", json!([funded["hex"]]));
    assert_eq!(signed["complete"], true, "{signed}");
    let txid: String = node.rpc_typed("sendrawtransaction", json!([signed["hex"]]));
    node.generate(1, &elsewhere);
    wait_until("the funded transaction to confirm", TIMEOUT, || {
        rpc(&s, "gettransaction", json!([txid]))["confirmations"] == 1
    });

    // Options: change first, a fee rate, and the inputs locked.
    let funded = rpc(
        &s,
        "fundrawtransaction",
        json!([raw, {"changePosition": 0, "fee_rate": 5, "lockUnspents": true}]),
    );
    assert_eq!(funded["changepos"], 0, "{funded}");
    let tx = decode(&funded["hex"]);
    assert_eq!(tx.outputs[1].pubkey, key_of(&payee));
    assert_eq!(sat(&funded["fee"]), 5 * signed_size(&tx));
    let locked = rpc(&s, "listlockunspent", json!([]));
    for input in &tx.inputs {
        let entry = json!({"txid": input.prevout.txid.to_string(), "vout": input.prevout.vout});
        assert!(locked.as_array().unwrap().contains(&entry), "{locked}");
    }
    // A second funding does not take the locked coins.
    let again = decode(&rpc(&s, "fundrawtransaction", json!([raw]))["hex"]);
    assert!(again
        .inputs
        .iter()
        .all(|i| tx.inputs.iter().all(|l| l.prevout != i.prevout)));

    // Every coin locked: nothing funds, not a PSBT either.
    let coins: Vec<Value> = rpc(&s, "listunspent", json!([0]))
        .as_array()
        .unwrap()
        .iter()
        .map(|u| json!({"txid": u["txid"], "vout": u["vout"]}))
        .collect();
    rpc(&s, "lockunspent", json!([false, coins]));
    assert_eq!(rpc(&s, "listunspent", json!([0])), json!([]));
    let (code, message) = refused(&s, "fundrawtransaction", json!([raw]));
    assert_eq!(code, -6, "{message}");
    let (code, message) = refused(
        &s,
        "walletcreatefundedpsbt",
        json!([[], {payee.clone(): 1}]),
    );
    assert_eq!(code, -6, "{message}");
    let (code, message) = refused(&s, "send", json!([{payee.clone(): 1}]));
    assert_eq!(code, -6, "{message}");
    rpc(&s, "lockunspent", json!([true]));
    // walletcreatefundedpsbt's lockUnspents locks too.
    let psbt = rpc(
        &s,
        "walletcreatefundedpsbt",
        json!([[], {payee.clone(): 1}, 0, {"lockUnspents": true}]),
    );
    let decoded = node.rpc("decodepsbt", json!([psbt["psbt"]]));
    let input = &decoded["tx"]["vin"][0];
    assert_eq!(
        rpc(&s, "listlockunspent", json!([])),
        json!([{"txid": input["txid"], "vout": input["vout"]}])
    );
    rpc(&s, "lockunspent", json!([true]));

    // Bad parameters.
    for (params, code, text) in [
        (json!(["zz"]), -22, "hexstring"),
        (json!(["00"]), -22, "TX decode failed"),
        (
            json!([raw, {"feeRate": 0.0001, "fee_rate": 1}]),
            -8,
            "Cannot specify both fee_rate (sat/vB) and feeRate (DOT/kvB)",
        ),
        (
            json!([raw, {"changeAddress": "nonsense"}]),
            -5,
            "Change address must be a valid dotcoin address",
        ),
        (
            json!([raw, {"subtractFeeFromOutputs": [3]}]),
            -8,
            "Invalid parameter, value 3 is out of bounds",
        ),
        (json!([raw, {"bogus": true}]), -3, "Unexpected key bogus"),
        (
            json!([raw, {"fee_rate": 100000}]),
            -4,
            "Fee exceeds maximum configured by user",
        ),
    ] {
        let (got, message) = refused(&s, "fundrawtransaction", params.clone());
        assert_eq!(got, code, "{params}: {message}");
        assert!(message.contains(text), "{params}: {message}");
    }
    // A preset input the wallet does not hold.
    let foreign = node.rpc(
        "createrawtransaction",
        json!([[{"txid": "ef".repeat(32), "vout": 0}], {payee.clone(): 1}]),
    );
    let (code, message) = refused(&s, "fundrawtransaction", json!([foreign]));
    assert_eq!(code, -4, "{message}");
    assert!(
        message.starts_with("Not solvable pre-selected input"),
        "{message}"
    );
}

#[test]
fn bumpfee_unsticks_a_one_sat_per_vbyte_payment_and_psbtbumpfee_signs_elsewhere() {
    let (node, s, elsewhere) = setup(2);
    let (_, payee) = test_keypair();
    let mut ws = ws_connect(&node, Some(node.cookie_auth())).expect("WebSocket");
    ws_subscribe(&mut ws, "subscribe_sequence");

    // A payment at 1 sat/vB.
    let original = rpc(
        &s,
        "sendtoaddress",
        json!({"address": payee, "amount": 1, "fee_rate": 1}),
    );
    let original = original.as_str().expect("txid").to_owned();
    assert_eq!(mempool(&node), vec![original.clone()]);
    let entry = node.rpc("getmempoolentry", json!([original]));
    let old_fee = sat(&entry["fees"]["base"]);
    let old_size = entry["vsize"].as_u64().expect("vsize");
    assert_eq!(old_fee, old_size, "1 sat/vB");

    // Too little, in Core's words; nothing changes.
    let (code, message) = refused(&s, "bumpfee", json!([original, {"fee_rate": 1}]));
    assert_eq!(code, -8, "{message}");
    assert!(
        message.starts_with("Insufficient total fee 0.00000"),
        "{message}"
    );
    assert!(
        message.contains(&format!("(oldFee 0.00000{old_fee} + incrementalFee")),
        "{message}"
    );
    for (params, code, text) in [
        (
            json!(["11".repeat(32)]),
            -5,
            "Invalid or non-wallet transaction id",
        ),
        (
            json!([original, {"original_change_index": 9}]),
            -8,
            "Change position is out of range",
        ),
        (
            json!([original, {"original_change_index": 0, "outputs": [{payee.clone(): 1}]}]),
            -8,
            "The options 'outputs' and 'original_change_index' are incompatible.",
        ),
        (
            json!([original, {"fee_rate": 3, "conf_target": 2}]),
            -8,
            "Cannot specify both conf_target and fee_rate",
        ),
        (
            json!([original, {"totalFee": 1000}]),
            -3,
            "Unexpected key totalFee",
        ),
    ] {
        let (got, message) = refused(&s, "bumpfee", params.clone());
        assert_eq!(got, code, "{params}: {message}");
        assert!(message.starts_with(text), "{params}: {message}");
    }
    assert_eq!(mempool(&node), vec![original.clone()]);

    // The default bump: the node takes it and removes the original as replaced.
    let bumped = rpc(&s, "bumpfee", json!([original]));
    let replacement = bumped["txid"].as_str().expect("txid").to_owned();
    assert_eq!(bumped["errors"], json!([]), "{bumped}");
    assert_eq!(sat(&bumped["origfee"]), old_fee);
    let new_fee = sat(&bumped["fee"]);
    let new_size = node.rpc("getmempoolentry", json!([replacement]))["vsize"]
        .as_u64()
        .expect("vsize");
    // Core's default rate: the old one + 1 per kvB + 5 sat/vB (above the node's 1).
    assert!(new_fee >= old_fee + new_size, "{bumped}");
    assert_eq!(new_fee, (new_size * 6001).div_ceil(1000), "{bumped}");
    assert_eq!(mempool(&node), vec![replacement.clone()]);
    let removed = loop {
        let n = ws_next(&mut ws);
        let item = &n["params"]["result"];
        if item["type"] == "tx_removed" {
            break item.clone();
        }
    };
    assert_eq!(removed["txid"], original.as_str(), "{removed}");
    assert_eq!(removed["reason"], "replaced", "{removed}");
    assert_eq!(removed["by"], replacement.as_str(), "{removed}");
    // The same payee and amount, every original input kept.
    let old_tx = decode(&rpc(&s, "gettransaction", json!([original]))["hex"]);
    let new_tx = decode(&rpc(&s, "gettransaction", json!([replacement]))["hex"]);
    assert!(old_tx
        .inputs
        .iter()
        .all(|i| new_tx.inputs.iter().any(|n| n.prevout == i.prevout)));
    assert!(new_tx
        .outputs
        .iter()
        .any(|o| o.pubkey == key_of(&payee) && o.value.to_sat() == COIN));

    // The history records the pair, as Core does.
    let old = rpc(&s, "gettransaction", json!([original]));
    assert_eq!(old["replaced_by_txid"], replacement.as_str(), "{old}");
    let new = rpc(&s, "gettransaction", json!([replacement]));
    assert_eq!(new["replaces_txid"], original.as_str(), "{new}");
    let (code, message) = refused(&s, "bumpfee", json!([original]));
    assert_eq!(
        (code, message),
        (
            -4,
            format!("Cannot bump transaction {original} which was already bumped by transaction {replacement}")
        )
    );

    // psbtbumpfee: an unsigned PSBT that walletprocesspsbt signs and the node accepts.
    let psbt = rpc(&s, "psbtbumpfee", json!([replacement, {"fee_rate": 20}]));
    assert!(psbt.get("txid").is_none(), "{psbt}");
    assert_eq!(sat(&psbt["origfee"]), new_fee);
    assert!(sat(&psbt["fee"]) > new_fee, "{psbt}");
    assert_eq!(
        mempool(&node),
        vec![replacement.clone()],
        "nothing broadcast"
    );
    let signed = rpc(&s, "walletprocesspsbt", json!([psbt["psbt"]]));
    assert_eq!(signed["complete"], true, "{signed}");
    let third: String = node.rpc_typed("sendrawtransaction", json!([signed["hex"]]));
    assert_eq!(mempool(&node), vec![third.clone()]);
    assert_eq!(
        node.rpc("getmempoolentry", json!([third]))["fees"]["base"],
        psbt["fee"]
    );

    // It confirms; a mined transaction is not bumped.
    node.generate(1, &elsewhere);
    wait_until("the replacement to confirm", TIMEOUT, || {
        rpc(&s, "gettransaction", json!([third]))["confirmations"] == 1
    });
    wait_until("the wallet to see the second replacement", TIMEOUT, || {
        rpc(&s, "gettransaction", json!([replacement]))["replaced_by_txid"] == third.as_str()
    });
    let (code, message) = refused(&s, "bumpfee", json!([third]));
    assert_eq!(
        (code, message.as_str()),
        (
            -4,
            "Transaction has been mined, or is conflicted with a mined transaction"
        )
    );
}
