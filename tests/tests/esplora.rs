//! The HTTP API of `dotcoind --esplora --rest`: Esplora's endpoints and Bitcoin Core's
//! REST walked on a chain with confirmed, unconfirmed, spent and unspent outputs and an
//! address of more than 60 transactions (paging); mempool.space's npm client run
//! unchanged against it; the explorer WebSocket's pushes; and (ignored, run by
//! `contrib/bench/esplora.sh`) the `/utxo` latency benchmark.

use std::collections::HashSet;
use std::process::Command;
use std::time::{Duration, Instant};

use bitcoin_hashes::{sha256, sha256d, Hash};
use dotcoin_common::{Address, Amount, Network, OutPoint, PubKey, Transaction, TxOut, Txid};
use dotcoin_functional_tests::{
    assert_ran, coinbase_at, esplora_port, http_exchange, install_once, signed_spend, test_keypair,
    thirdparty_dir, wait_until, ws_next, ws_timed_out, TestNode, Ws, TIMEOUT,
};
use serde_json::{json, Value};

/// A GET: status and body as text.
fn get(port: u16, path: &str) -> (u16, String) {
    let (status, _, body) = http_exchange(port, "GET", path, b"");
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// A GET that must answer 200 with JSON.
fn get_json(port: u16, path: &str) -> Value {
    let (status, body) = get(port, path);
    assert_eq!(status, 200, "GET {path}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
}

/// A GET that must fail with `status` and exactly `text`.
fn get_err(port: u16, path: &str, status: u16, text: &str) {
    let (s, body) = get(port, path);
    assert_eq!((s, body.as_str()), (status, text), "GET {path}");
}

fn key_of(addr: &str) -> PubKey {
    Address::parse_for(addr, Network::Regtest)
        .expect("regtest address")
        .pubkey
}

fn scripthash_of(key: &PubKey) -> String {
    let mut script = vec![0x51, 0x20];
    script.extend_from_slice(&key.0);
    let mut h = sha256::Hash::hash(&script).to_byte_array();
    h.reverse();
    hex::encode(h)
}

fn send(node: &TestNode, tx: &Transaction) -> Txid {
    let hex = hex::encode(dotcoin_common::serialize(tx));
    node.rpc_typed("sendrawtransaction", json!([hex]))
}

/// An output as Esplora shows it must carry the taproot shape of `key`.
fn check_vout(v: &Value, out: &TxOut) {
    let key = hex::encode(out.pubkey.0);
    assert_eq!(v["scriptpubkey"], json!(format!("5120{key}")));
    assert_eq!(
        v["scriptpubkey_asm"],
        json!(format!("OP_PUSHNUM_1 OP_PUSHBYTES_32 {key}"))
    );
    assert_eq!(v["scriptpubkey_type"], "v1_p2tr");
    assert_eq!(
        v["scriptpubkey_address"],
        json!(Address::new(Network::Regtest, out.pubkey).to_string())
    );
    assert_eq!(v["value"], json!(out.value.to_sat()), "value in satoshis");
}

/// The chain every conformance check reads.
struct Chain {
    node: TestNode,
    port: u16,
    /// Has more than 60 confirmed transactions.
    busy: String,
    busy_kp: secp256k1::Keypair,
    /// The transactions that paid `busy`, with their amounts.
    funding: Vec<(Txid, Transaction)>,
    /// `busy`'s output spent in a block, and the spender.
    spent_confirmed: (OutPoint, Transaction),
    /// `busy`'s output spent by a pool transaction, and the spender.
    spent_pool: (OutPoint, Transaction),
    other: String,
    /// Height of the block with the second batch of funding.
    second_batch: u32,
}

const PER_TX: u64 = 1_000_000_000;
const FEE: u64 = 10_000;
const FUNDING_TXS: usize = 65;

fn build_chain() -> Chain {
    let node = TestNode::start(&["--esplora", "--rest"]);
    let port = esplora_port(&node);
    let (miner_kp, miner) = test_keypair();
    let (busy_kp, busy) = test_keypair();
    let (_, other) = test_keypair();
    // Coinbases 1..=65 mature at 165.
    node.generate(100 + FUNDING_TXS as u32, &miner);
    let mut funding = Vec::new();
    let mut second_batch = 0;
    for h in 1..=FUNDING_TXS as u64 {
        let cb = coinbase_at(&node, h);
        let change = cb.1.value.to_sat() - PER_TX - FEE;
        let tx = signed_spend(
            &miner_kp,
            cb,
            vec![
                TxOut {
                    value: Amount::from_sat(PER_TX),
                    pubkey: key_of(&busy),
                },
                TxOut {
                    value: Amount::from_sat(change),
                    pubkey: key_of(&miner),
                },
            ],
        );
        funding.push((send(&node, &tx), tx));
        // Two blocks of funding, so the history pages cross a height.
        if h == 30 {
            node.generate(1, &miner);
        }
    }
    node.generate(1, &miner);
    second_batch = second_batch.max(node.rpc_typed::<u32>("getblockcount", json!([])));
    let spend = |i: usize| {
        let (txid, tx) = &funding[i];
        let op = OutPoint {
            txid: *txid,
            vout: 0,
        };
        let tx = signed_spend(
            &busy_kp,
            (op, tx.outputs[0]),
            vec![TxOut {
                value: Amount::from_sat(PER_TX - FEE),
                pubkey: key_of(&other),
            }],
        );
        (op, tx)
    };
    let spent_confirmed = spend(0);
    send(&node, &spent_confirmed.1);
    node.generate(1, &miner);
    let spent_pool = spend(1);
    send(&node, &spent_pool.1);
    Chain {
        node,
        port,
        busy,
        busy_kp,
        funding,
        spent_confirmed,
        spent_pool,
        other,
        second_batch,
    }
}

#[test]
fn esplora_and_rest_conformance() {
    let c = build_chain();
    let (node, port) = (&c.node, c.port);
    let tip: u32 = node.rpc_typed("getblockcount", json!([]));
    let best: String = node.rpc_typed("getbestblockhash", json!([]));

    // ---- blocks ----
    assert_eq!(get(port, "/blocks/tip/height"), (200, tip.to_string()));
    assert_eq!(get(port, "/blocks/tip/hash"), (200, best.clone()));
    assert_eq!(get(port, "/api/blocks/tip/height"), (200, tip.to_string()));
    let h1: String = node.rpc_typed("getblockhash", json!([1]));
    assert_eq!(get(port, "/block-height/1"), (200, h1.clone()));
    get_err(port, "/block-height/99999", 404, "Block not found");
    get_err(port, "/block-height/x", 400, "Invalid height");
    let funded_hash: String = node.rpc_typed("getblockhash", json!([c.second_batch]));
    let b = get_json(port, &format!("/block/{funded_hash}"));
    let rpc_block = node.rpc("getblock", json!([funded_hash, 1]));
    assert_eq!(b["id"], json!(funded_hash));
    assert_eq!(b["height"], json!(c.second_batch));
    assert_eq!(b["version"], rpc_block["version"]);
    assert_eq!(b["timestamp"], rpc_block["time"]);
    assert_eq!(b["mediantime"], rpc_block["mediantime"]);
    assert_eq!(b["nonce"], rpc_block["nonce"]);
    assert_eq!(b["merkle_root"], rpc_block["merkleroot"]);
    assert_eq!(b["previousblockhash"], rpc_block["previousblockhash"]);
    assert_eq!(
        b["bits"],
        json!(u32::from_str_radix(rpc_block["bits"].as_str().unwrap(), 16).unwrap())
    );
    assert!(b["difficulty"].is_f64());
    assert_eq!(
        b["tx_count"],
        json!(36),
        "35 funding transactions and a coinbase"
    );
    assert_eq!(b["size"], rpc_block["size"]);
    let (weight, size) = (b["weight"].as_u64().unwrap(), b["size"].as_u64().unwrap());
    assert!(
        size < weight && weight < 4 * size,
        "weight counts base bytes 4x, witness 1x"
    );
    assert!(get_json(port, &format!("/block/{h1}"))["previousblockhash"].is_string());
    let genesis: String = node.rpc_typed("getblockhash", json!([0]));
    assert!(get_json(port, &format!("/block/{genesis}"))["previousblockhash"].is_null());
    let (s, header) = get(port, &format!("/block/{funded_hash}/header"));
    assert_eq!(s, 200);
    assert_eq!(header.len(), 160);
    let rpc_header: String = node.rpc_typed("getblockheader", json!([funded_hash, false]));
    assert_eq!(header, rpc_header);
    let st = get_json(port, &format!("/block/{h1}/status"));
    assert_eq!(st["in_best_chain"], true);
    assert_eq!(st["height"], 1);
    let h2: String = node.rpc_typed("getblockhash", json!([2]));
    assert_eq!(st["next_best"], json!(h2));
    let tip_status = get_json(port, &format!("/block/{best}/status"));
    assert!(tip_status.get("next_best").is_none(), "{tip_status}");
    let txids = get_json(port, &format!("/block/{funded_hash}/txids"));
    assert_eq!(txids, rpc_block["tx"]);
    assert_eq!(
        get(port, &format!("/block/{funded_hash}/txid/1")),
        (200, txids[1].as_str().unwrap().to_owned())
    );
    get_err(
        port,
        &format!("/block/{funded_hash}/txid/36"),
        404,
        "tx index out of range",
    );
    let page1 = get_json(port, &format!("/block/{funded_hash}/txs"));
    assert_eq!(page1.as_array().unwrap().len(), 25, "25 per page");
    let page2 = get_json(port, &format!("/block/{funded_hash}/txs/25"));
    assert_eq!(page2.as_array().unwrap().len(), 11);
    assert_eq!(page2[0]["txid"], txids[25]);
    assert_eq!(page2[0]["status"]["block_hash"], json!(funded_hash));
    get_err(
        port,
        &format!("/block/{funded_hash}/txs/3"),
        400,
        "start index must be a multipication of 25",
    );
    get_err(
        port,
        &format!("/block/{funded_hash}/txs/50"),
        404,
        "start index out of range",
    );
    let (s, head, raw) = http_exchange(port, "GET", &format!("/block/{funded_hash}/raw"), b"");
    assert_eq!(s, 200);
    assert!(head
        .to_ascii_lowercase()
        .contains("application/octet-stream"));
    let rpc_raw: String = node.rpc_typed("getblock", json!([funded_hash, 0]));
    assert_eq!(hex::encode(raw), rpc_raw, "dotcoin's block encoding");
    let blocks = get_json(port, "/blocks");
    assert_eq!(blocks.as_array().unwrap().len(), 10);
    assert_eq!(blocks[0]["height"], json!(tip));
    assert_eq!(blocks[9]["height"], json!(tip - 9));
    let low = get_json(port, "/blocks/5");
    let heights: Vec<u64> = low
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["height"].as_u64().unwrap())
        .collect();
    assert_eq!(heights, vec![5, 4, 3, 2, 1, 0]);
    let unknown = "00".repeat(32);
    get_err(port, &format!("/block/{unknown}"), 404, "Block not found");
    get_err(
        port,
        &format!("/block/{unknown}/status"),
        404,
        "Block not found",
    );
    get_err(port, "/block/zz", 400, "Invalid hex string");

    // ---- transactions ----
    let (ftxid, ftx) = &c.funding[40];
    let t = get_json(port, &format!("/tx/{ftxid}"));
    assert_eq!(t["txid"], json!(ftxid));
    assert_eq!(t["version"], 1);
    assert_eq!(t["locktime"], 0);
    assert_eq!(t["size"], json!(ftx.size()));
    assert_eq!(t["weight"], json!(ftx.base_size() * 3 + ftx.size()));
    assert_eq!(t["fee"], json!(FEE), "fee in satoshis");
    assert_eq!(t["status"]["confirmed"], true);
    assert_eq!(t["status"]["block_height"], json!(c.second_batch));
    assert_eq!(t["status"]["block_hash"], json!(funded_hash));
    assert_eq!(t["status"]["block_time"], rpc_block["time"]);
    let vin = &t["vin"][0];
    assert_eq!(vin["txid"], json!(ftx.inputs[0].prevout.txid));
    assert_eq!(vin["vout"], 0);
    assert_eq!(vin["is_coinbase"], false);
    assert_eq!(vin["scriptsig"], "");
    assert_eq!(vin["sequence"], json!(u32::MAX));
    assert_eq!(vin["witness"], json!([hex::encode(&ftx.inputs[0].witness)]));
    assert_eq!(vin["prevout"]["value"], json!(5_000_000_000u64));
    for (v, o) in t["vout"].as_array().unwrap().iter().zip(&ftx.outputs) {
        check_vout(v, o);
    }
    let cb_txid = txids[0].as_str().unwrap();
    let cb = get_json(port, &format!("/tx/{cb_txid}"));
    assert_eq!(cb["vin"][0]["is_coinbase"], true);
    assert!(cb["vin"][0]["prevout"].is_null());
    assert_eq!(cb["fee"], 0);
    let (pool_op, pool_tx) = &c.spent_pool;
    let pool_txid = pool_tx.txid();
    let pt = get_json(port, &format!("/tx/{pool_txid}"));
    assert_eq!(pt["status"], json!({ "confirmed": false }));
    assert_eq!(pt["fee"], json!(FEE));
    assert_eq!(
        get_json(port, &format!("/tx/{pool_txid}/status")),
        json!({ "confirmed": false })
    );
    assert_eq!(
        get_json(port, &format!("/tx/{ftxid}/status")),
        t["status"],
        "the same status as in the transaction"
    );
    assert_eq!(
        get(port, &format!("/tx/{ftxid}/hex")),
        (200, hex::encode(dotcoin_common::serialize(ftx)))
    );
    let (_, _, raw) = http_exchange(port, "GET", &format!("/tx/{ftxid}/raw"), b"");
    assert_eq!(raw, dotcoin_common::serialize(ftx));
    // Merkle proof: the branch folds the wtxid up to the header's root.
    let proof = get_json(port, &format!("/tx/{ftxid}/merkle-proof"));
    assert_eq!(proof["block_height"], json!(c.second_batch));
    let pos = proof["pos"].as_u64().unwrap() as usize;
    assert_eq!(txids[pos], json!(ftxid));
    let mut node_hash = ftx.wtxid().to_byte_array();
    let mut p = pos;
    for sib in proof["merkle"].as_array().unwrap() {
        let mut s = hex::decode(sib.as_str().unwrap()).unwrap();
        s.reverse();
        let mut buf = Vec::with_capacity(64);
        if p.is_multiple_of(2) {
            buf.extend_from_slice(&node_hash);
            buf.extend_from_slice(&s);
        } else {
            buf.extend_from_slice(&s);
            buf.extend_from_slice(&node_hash);
        }
        node_hash = sha256d::Hash::hash(&buf).to_byte_array();
        p /= 2;
    }
    node_hash.reverse();
    assert_eq!(json!(hex::encode(node_hash)), rpc_block["merkleroot"]);
    let (s, mb) = get(port, &format!("/tx/{ftxid}/merkleblock-proof"));
    assert_eq!(s, 200);
    assert!(
        mb.starts_with(&rpc_header),
        "a merkleblock starts with the header"
    );
    assert_eq!(&mb[160..168], "24000000", "36 transactions, little-endian");
    get_err(
        port,
        &format!("/tx/{pool_txid}/merkle-proof"),
        404,
        "Transaction not found",
    );
    // Outspends: spent in a block, spent in the pool, unspent.
    let (conf_op, conf_tx) = &c.spent_confirmed;
    let os = get_json(port, &format!("/tx/{}/outspend/0", conf_op.txid));
    assert_eq!(os["spent"], true);
    assert_eq!(os["txid"], json!(conf_tx.txid()));
    assert_eq!(os["vin"], 0);
    assert_eq!(os["status"]["confirmed"], true);
    let os = get_json(port, &format!("/tx/{}/outspend/0", pool_op.txid));
    assert_eq!(os["txid"], json!(pool_txid));
    assert_eq!(os["status"], json!({ "confirmed": false }));
    assert_eq!(
        get_json(port, &format!("/tx/{ftxid}/outspend/0")),
        json!({ "spent": false })
    );
    let all = get_json(port, &format!("/tx/{}/outspends", conf_op.txid));
    assert_eq!(all.as_array().unwrap().len(), 2);
    assert_eq!(all[0]["txid"], json!(conf_tx.txid()));
    assert_eq!(all[1], json!({ "spent": false }));
    get_err(
        port,
        &format!("/tx/{ftxid}/outspend/7"),
        404,
        "Output not found",
    );
    // Errors for a bad and an unknown txid.
    get_err(port, "/tx/zz", 400, "Invalid hex string");
    get_err(port, "/tx/zz/status", 400, "Invalid hex string");
    get_err(
        port,
        &format!("/tx/{unknown}"),
        404,
        "Transaction not found",
    );
    get_err(
        port,
        &format!("/tx/{unknown}/hex"),
        404,
        "Transaction not found",
    );

    // ---- addresses and script hashes ----
    let busy_key = key_of(&c.busy);
    let a = get_json(port, &format!("/address/{}", c.busy));
    assert_eq!(a["address"], json!(c.busy));
    let chain = &a["chain_stats"];
    assert_eq!(chain["funded_txo_count"], json!(FUNDING_TXS));
    assert_eq!(chain["funded_txo_sum"], json!(FUNDING_TXS as u64 * PER_TX));
    assert_eq!(chain["spent_txo_count"], 1);
    assert_eq!(chain["spent_txo_sum"], json!(PER_TX));
    assert_eq!(chain["tx_count"], json!(FUNDING_TXS + 1));
    let pool = &a["mempool_stats"];
    assert_eq!(
        pool,
        &json!({ "funded_txo_count": 0, "funded_txo_sum": 0, "spent_txo_count": 1,
                 "spent_txo_sum": PER_TX, "tx_count": 1 })
    );
    let sh = scripthash_of(&busy_key);
    let s = get_json(port, &format!("/scripthash/{sh}"));
    assert_eq!(s["scripthash"], json!(sh));
    assert_eq!(s["chain_stats"], a["chain_stats"]);
    assert_eq!(s["mempool_stats"], a["mempool_stats"]);
    // Paging: the pool's transactions and 25 confirmed, then 25 per page.
    let first = get_json(port, &format!("/address/{}/txs", c.busy));
    assert_eq!(first.as_array().unwrap().len(), 26);
    assert_eq!(first[0]["txid"], json!(pool_txid));
    assert_eq!(first[0]["status"]["confirmed"], false);
    let mut seen: Vec<Txid> = Vec::new();
    let mut path = format!("/address/{}/txs/chain", c.busy);
    let mut pages = Vec::new();
    loop {
        let page = get_json(port, &path);
        let rows = page.as_array().unwrap();
        if rows.is_empty() {
            break;
        }
        pages.push(rows.len());
        let mut last_height = u64::MAX;
        for r in rows {
            assert_eq!(r["status"]["confirmed"], true);
            let h = r["status"]["block_height"].as_u64().unwrap();
            assert!(h <= last_height, "newest first");
            last_height = h;
            seen.push(r["txid"].as_str().unwrap().parse().unwrap());
        }
        let last = rows.last().unwrap()["txid"].as_str().unwrap().to_owned();
        path = format!("/address/{}/txs/chain/{last}", c.busy);
    }
    assert_eq!(pages, vec![25, 25, 16]);
    assert_eq!(
        first.as_array().unwrap()[1..].to_vec(),
        get_json(port, &format!("/address/{}/txs/chain", c.busy))
            .as_array()
            .unwrap()
            .clone()
    );
    let mut expected: Vec<Txid> = c.funding.iter().map(|(t, _)| *t).collect();
    expected.push(conf_tx.txid());
    let seen_set: HashSet<Txid> = seen.iter().copied().collect();
    assert_eq!(seen.len(), seen_set.len(), "no transaction on two pages");
    assert_eq!(seen_set, expected.into_iter().collect::<HashSet<_>>());
    let after = get_json(
        port,
        &format!("/address/{}/txs?after_txid={}", c.busy, seen[24]),
    );
    assert_eq!(after[0]["txid"], json!(seen[25]), "mempool.js's after_txid");
    let mp = get_json(port, &format!("/address/{}/txs/mempool", c.busy));
    assert_eq!(mp.as_array().unwrap().len(), 1);
    assert_eq!(mp[0]["txid"], json!(pool_txid));
    let utxo = get_json(port, &format!("/address/{}/utxo", c.busy));
    let utxo = utxo.as_array().unwrap();
    assert_eq!(
        utxo.len(),
        FUNDING_TXS - 2,
        "less the spent and the pool-spent"
    );
    for u in utxo {
        assert_eq!(u["value"], json!(PER_TX));
        assert_eq!(u["vout"], 0);
        assert_eq!(u["status"]["confirmed"], true);
        assert!(u["status"]["block_height"].is_u64());
        assert!(u["status"]["block_hash"].is_string());
        assert!(u["status"]["block_time"].is_u64());
        let t: Txid = u["txid"].as_str().unwrap().parse().unwrap();
        assert!(t != conf_op.txid && t != pool_op.txid);
    }
    let other_utxo = get_json(port, &format!("/address/{}/utxo", c.other));
    assert_eq!(other_utxo.as_array().unwrap().len(), 2);
    assert!(other_utxo
        .as_array()
        .unwrap()
        .iter()
        .any(|u| u["status"] == json!({ "confirmed": false }) && u["txid"] == json!(pool_txid)));
    assert_eq!(
        get_json(port, &format!("/scripthash/{sh}/utxo"))
            .as_array()
            .unwrap()
            .len(),
        utxo.len()
    );
    assert_eq!(
        get_json(port, &format!("/scripthash/{sh}/txs/chain")),
        get_json(port, &format!("/address/{}/txs/chain", c.busy))
    );
    assert_eq!(get_json(port, &format!("/scripthash/{sh}/txs/mempool")), mp);
    let unpaid = scripthash_of(&PubKey([7; 32]));
    assert_eq!(
        get_json(port, &format!("/scripthash/{unpaid}"))["chain_stats"]["tx_count"],
        0
    );
    let prefix = &c.busy[..12];
    let found = get_json(port, &format!("/address-prefix/{prefix}"));
    assert!(
        found.as_array().unwrap().contains(&json!(c.busy)),
        "{found}"
    );
    assert!(found
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a.as_str().unwrap().starts_with(prefix)));
    // Errors for a bad address: not bech32m, another network's, a bad script hash.
    get_err(
        port,
        "/address/notanaddress",
        400,
        "Invalid Bitcoin address",
    );
    get_err(
        port,
        "/address/notanaddress/utxo",
        400,
        "Invalid Bitcoin address",
    );
    let main_addr = Address::new(Network::Main, busy_key).to_string();
    get_err(
        port,
        &format!("/address/{main_addr}"),
        400,
        "Invalid Bitcoin address",
    );
    get_err(port, "/scripthash/zz", 400, "Invalid hex string");

    // ---- mempool and fees ----
    let m = get_json(port, "/mempool");
    assert_eq!(m["count"], 1);
    assert_eq!(
        m["vsize"],
        json!((pool_tx.base_size() * 3 + pool_tx.size()).div_ceil(4))
    );
    assert_eq!(m["total_fee"], json!(FEE));
    let hist = m["fee_histogram"].as_array().unwrap();
    assert_eq!(hist.len(), 1);
    assert!(hist[0][0].is_f64() && hist[0][1] == m["vsize"]);
    assert_eq!(get_json(port, "/mempool/txids"), json!([pool_txid]));
    let recent = get_json(port, "/mempool/recent");
    assert_eq!(recent[0]["txid"], json!(pool_txid));
    assert_eq!(recent[0]["fee"], json!(FEE));
    assert_eq!(recent[0]["vsize"], m["vsize"]);
    assert_eq!(recent[0]["value"], json!(PER_TX - FEE));
    let fees = get_json(port, "/fee-estimates");
    let fees = fees.as_object().unwrap();
    for t in ["1", "2", "6", "25", "144", "504", "1008"] {
        let r = fees
            .get(t)
            .unwrap_or_else(|| panic!("target {t} in {fees:?}"));
        assert!(
            r.as_f64().unwrap() >= 1.0,
            "sat/vB, at least the relay floor"
        );
    }

    // ---- broadcast ----
    let (f3, f3tx) = &c.funding[3];
    let fresh = signed_spend(
        &c.busy_kp,
        (OutPoint { txid: *f3, vout: 0 }, f3tx.outputs[0]),
        vec![TxOut {
            value: Amount::from_sat(PER_TX - FEE),
            pubkey: key_of(&c.other),
        }],
    );
    let (s, _, body) = http_exchange(
        port,
        "POST",
        "/tx",
        hex::encode(dotcoin_common::serialize(&fresh)).as_bytes(),
    );
    assert_eq!(
        (s, String::from_utf8_lossy(&body).into_owned()),
        (200, fresh.txid().to_string())
    );
    let pool_now: Vec<Txid> = node.rpc_typed("getrawmempool", json!([]));
    assert!(pool_now.contains(&fresh.txid()));
    let (s, _, body) = http_exchange(port, "POST", "/tx", b"zz");
    assert_eq!(s, 400);
    assert!(String::from_utf8_lossy(&body).starts_with("sendrawtransaction RPC error: "));
    let (s, _, body) = http_exchange(
        port,
        "POST",
        "/tx",
        hex::encode(dotcoin_common::serialize(&fresh.clone())).as_bytes(),
    );
    assert_eq!(s, 200, "a resubmission answers the txid, as Core: {body:?}");

    // ---- Core's REST ----
    let rest_tx = get_json(port, &format!("/rest/tx/{ftxid}.json"));
    assert_eq!(rest_tx, node.rpc("getrawtransaction", json!([ftxid, 1])));
    assert_eq!(
        get(port, &format!("/rest/tx/{ftxid}.hex")),
        (
            200,
            format!("{}\n", hex::encode(dotcoin_common::serialize(ftx)))
        )
    );
    let (_, _, bin) = http_exchange(port, "GET", &format!("/rest/tx/{ftxid}.bin"), b"");
    assert_eq!(bin, dotcoin_common::serialize(ftx));
    get_err(
        port,
        &format!("/rest/tx/{unknown}.json"),
        404,
        &format!("{unknown} not found\r\n"),
    );
    get_err(port, "/rest/tx/zz.json", 400, "Invalid hash: zz\r\n");
    get_err(
        port,
        &format!("/rest/tx/{ftxid}.xml"),
        404,
        "output format not found (available: .bin, .hex, .json)\r\n",
    );
    let rb = get_json(port, &format!("/rest/block/{funded_hash}.json"));
    assert_eq!(rb, node.rpc("getblock", json!([funded_hash, 2])));
    assert!(rb["tx"][0].is_object());
    let rb1 = get_json(port, &format!("/rest/block/notxdetails/{funded_hash}.json"));
    assert_eq!(rb1, rpc_block);
    assert_eq!(
        get(port, &format!("/rest/block/{funded_hash}.hex")),
        (200, format!("{rpc_raw}\n"))
    );
    let (_, _, bin) = http_exchange(
        port,
        "GET",
        &format!("/rest/block/notxdetails/{funded_hash}.bin"),
        b"",
    );
    assert_eq!(hex::encode(bin), rpc_raw);
    get_err(
        port,
        &format!("/rest/block/{unknown}.json"),
        404,
        &format!("{unknown} not found\r\n"),
    );
    let hs = get_json(port, &format!("/rest/headers/{h1}.json?count=3"));
    assert_eq!(hs.as_array().unwrap().len(), 3);
    assert_eq!(hs[0], node.rpc("getblockheader", json!([h1, true])));
    assert_eq!(hs[2]["height"], 3);
    let (_, _, bin) = http_exchange(port, "GET", &format!("/rest/headers/{h1}.bin?count=3"), b"");
    assert_eq!(bin.len(), 240);
    let (s, legacy) = get(port, &format!("/rest/headers/2/{h1}.hex"));
    assert_eq!(s, 200);
    assert_eq!(legacy.len(), 321);
    get_err(
        port,
        &format!("/rest/headers/{h1}.json?count=0"),
        400,
        "Header count is invalid or out of acceptable range (1-2000): 0\r\n",
    );
    assert_eq!(
        get_json(port, "/rest/blockhashbyheight/1.json"),
        json!({ "blockhash": h1 })
    );
    let (_, _, bin) = http_exchange(port, "GET", "/rest/blockhashbyheight/1.bin", b"");
    let mut rev = bin.clone();
    rev.reverse();
    assert_eq!(hex::encode(rev), h1, "the hash's bytes in internal order");
    assert_eq!(
        get(port, "/rest/blockhashbyheight/1.hex"),
        (200, format!("{}\n", hex::encode(&bin)))
    );
    get_err(
        port,
        "/rest/blockhashbyheight/99999.json",
        404,
        "Block height out of range\r\n",
    );
    get_err(
        port,
        "/rest/blockhashbyheight/abc.json",
        400,
        "Invalid height: abc\r\n",
    );
    let ci = get_json(port, "/rest/chaininfo.json");
    assert_eq!(ci["blocks"], json!(tip));
    assert_eq!(ci["bestblockhash"], json!(best));
    get_err(
        port,
        "/rest/chaininfo.bin",
        404,
        "output format not found (available: json)\r\n",
    );
    // getutxos: an unspent, a spent and a pool output; with and without the pool.
    let utxo_path = format!("{}-0/{}-0/{}-0", ftxid, conf_op.txid, pool_txid);
    let u = get_json(port, &format!("/rest/getutxos/{utxo_path}.json"));
    assert_eq!(u["bitmap"], "100");
    assert_eq!(u["chainHeight"], json!(tip));
    assert_eq!(u["chaintipHash"], json!(best));
    assert_eq!(u["utxos"][0]["height"], json!(c.second_batch));
    assert_eq!(u["utxos"][0]["value"], json!(10.0));
    assert_eq!(
        u["utxos"][0]["scriptPubKey"]["hex"],
        json!(format!("5120{}", hex::encode(busy_key.0)))
    );
    let u = get_json(
        port,
        &format!("/rest/getutxos/checkmempool/{utxo_path}.json"),
    );
    assert_eq!(
        u["bitmap"], "101",
        "the pool's output counts, its spent input not"
    );
    let pu = get_json(
        port,
        &format!("/rest/getutxos/checkmempool/{}-0.json", pool_op.txid),
    );
    assert_eq!(pu["bitmap"], "0", "spent by a pool transaction");
    let (_, _, bin) = http_exchange(port, "GET", &format!("/rest/getutxos/{utxo_path}.bin"), b"");
    assert_eq!(
        i32::from_le_bytes(bin[0..4].try_into().unwrap()),
        tip as i32
    );
    assert_eq!(bin[36], 1, "a one-byte bitmap");
    assert_eq!(bin[37], 0b001, "Core's bitmap: bit i for outpoint i");
    get_err(
        port,
        "/rest/getutxos/checkmempool.json",
        400,
        "Error: empty request\r\n",
    );
    get_err(port, "/rest/getutxos/x-y.json", 400, "Parse error\r\n");
    let many = vec![format!("{ftxid}-0"); 16].join("/");
    get_err(
        port,
        &format!("/rest/getutxos/{many}.json"),
        400,
        "Error: max outpoints exceeded (max: 15, tried: 16)\r\n",
    );
    let mi = get_json(port, "/rest/mempool/info.json");
    assert_eq!(mi, node.rpc("getmempoolinfo", json!([])));
    let mc = get_json(port, "/rest/mempool/contents.json");
    assert!(
        mc.get(pool_txid.to_string()).is_some(),
        "verbose by default: {mc}"
    );
    let ids = get_json(port, "/rest/mempool/contents.json?verbose=false");
    assert!(ids.as_array().unwrap().contains(&json!(pool_txid)));
    get_err(
        port,
        "/rest/mempool/info.bin",
        404,
        "output format not found (available: json)\r\n",
    );
}

/// The WebSocket on the Esplora port, read with a 500 ms timeout per read.
fn ws_connect_esplora(port: u16) -> Ws {
    let (ws, _) = tungstenite::connect(format!("ws://127.0.0.1:{port}/api/v1/ws")).expect("ws");
    if let tungstenite::stream::MaybeTlsStream::Plain(s) = ws.get_ref() {
        s.set_read_timeout(Some(Duration::from_millis(500)))
            .expect("timeout");
    }
    ws
}

fn ws_send(ws: &mut Ws, v: Value) {
    ws.send(tungstenite::Message::Text(v.to_string().into()))
        .expect("send");
}

/// The next message that has `key`, skipping others, within [`TIMEOUT`].
fn ws_wait_for(ws: &mut Ws, key: &str) -> Value {
    let start = Instant::now();
    loop {
        assert!(start.elapsed() < TIMEOUT, "no {key} push in time");
        let v = ws_next(ws);
        if v.get(key).is_some() {
            return v;
        }
    }
}

#[test]
fn websocket_pushes_address_and_tx_changes() {
    let node = TestNode::start(&["--esplora"]);
    let port = esplora_port(&node);
    let (kp, miner) = test_keypair();
    let (_, watched) = test_keypair();
    node.generate(101, &miner);
    let mut ws = ws_connect_esplora(port);
    ws_send(&mut ws, json!({ "action": "ping" }));
    assert_eq!(ws_wait_for(&mut ws, "pong"), json!({ "pong": true }));
    ws_send(&mut ws, json!({ "track-address": "nonsense" }));
    assert_eq!(
        ws_wait_for(&mut ws, "track-address-error")["track-address-error"],
        "Invalid Bitcoin address"
    );
    ws_send(&mut ws, json!({ "track-address": watched }));
    assert_eq!(
        ws_wait_for(&mut ws, "track-address")["track-address"],
        json!(watched)
    );
    let too_many: Vec<String> = (0..101).map(|_| watched.clone()).collect();
    ws_send(&mut ws, json!({ "track-addresses": too_many }));
    assert!(ws_wait_for(&mut ws, "track-addresses-error").is_object());

    // A payment to the tracked address is pushed from the pool.
    let cb = coinbase_at(&node, 1);
    let tx = signed_spend(
        &kp,
        cb,
        vec![TxOut {
            value: Amount::from_sat(cb.1.value.to_sat() - FEE),
            pubkey: key_of(&watched),
        }],
    );
    let txid = send(&node, &tx);
    let push = ws_wait_for(&mut ws, "address-transactions");
    assert_eq!(push["address-transactions"][0]["txid"], json!(txid));
    assert_eq!(
        push["address-transactions"][0]["status"],
        json!({ "confirmed": false })
    );
    assert_eq!(
        push["address-transactions"][0]["vout"][0]["scriptpubkey_address"],
        json!(watched)
    );

    // Tracking the transaction, a block that confirms it is pushed.
    ws_send(&mut ws, json!({ "track-tx": txid }));
    assert_eq!(ws_wait_for(&mut ws, "track-tx")["track-tx"], json!(txid));
    let hashes = node.generate(1, &miner);
    let confirmed = ws_wait_for(&mut ws, "txConfirmed");
    assert_eq!(confirmed["txConfirmed"], json!(txid));
    assert_eq!(confirmed["block"]["id"], json!(hashes[0]));
    assert_eq!(confirmed["block"]["height"], 102);
    let block_push = ws_wait_for(&mut ws, "block-transactions");
    assert_eq!(block_push["block-transactions"][0]["txid"], json!(txid));
    assert_eq!(
        block_push["block-transactions"][0]["status"]["block_hash"],
        json!(hashes[0])
    );
    // The shared layer's WebSocket cap per client: the oldest session is closed for a
    // newcomer past 16, never the server's whole capacity.
    let mut more: Vec<Ws> = (0..16).map(|_| ws_connect_esplora(port)).collect();
    // Closed: the server's close frame or a dead socket; a quiet read is no news.
    let closed = |w: &mut Ws| loop {
        match w.read() {
            Ok(tungstenite::Message::Close(_)) => return true,
            Ok(_) => continue,
            Err(e) if ws_timed_out(&e) => return false,
            Err(_) => return true,
        }
    };
    wait_until("the oldest session is closed", TIMEOUT, || closed(&mut ws));
    let newest = more.last_mut().expect("sixteen");
    ws_send(newest, json!({ "action": "ping" }));
    assert_eq!(ws_wait_for(newest, "pong"), json!({ "pong": true }));
}

const MEMPOOL_JS: &str = "@mempool/mempool.js@3.0.0";

#[test]
fn mempool_js_client_runs_unchanged() {
    let dir = thirdparty_dir("node");
    install_once(
        &dir.join("node_modules/@mempool/mempool.js/package.json"),
        MEMPOOL_JS,
        Command::new("npm")
            .args([
                "install",
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
                "--prefix",
            ])
            .arg(&dir)
            .arg(MEMPOOL_JS),
    );
    let node = TestNode::start(&["--esplora"]);
    let port = esplora_port(&node);
    let (kp, miner) = test_keypair();
    let (_, payee) = test_keypair();
    node.generate(102, &miner);
    // One confirmed payment to the payee, and one signed transaction for the client to
    // broadcast.
    let cb = coinbase_at(&node, 1);
    let paid = signed_spend(
        &kp,
        cb,
        vec![TxOut {
            value: Amount::from_sat(cb.1.value.to_sat() - FEE),
            pubkey: key_of(&payee),
        }],
    );
    let paid_txid = send(&node, &paid);
    node.generate(1, &miner);
    let cb2 = coinbase_at(&node, 2);
    let fresh = signed_spend(
        &kp,
        cb2,
        vec![TxOut {
            value: Amount::from_sat(cb2.1.value.to_sat() - FEE),
            pubkey: key_of(&payee),
        }],
    );
    let script = dotcoin_functional_tests::workspace_root().join("tests/clients/mempool-js.js");
    let out = Command::new("node")
        .arg(script)
        .env("NODE_PATH", dir.join("node_modules"))
        .env("ESPLORA_HOST", format!("127.0.0.1:{port}"))
        .env("PAYEE", &payee)
        .env("PAID_TXID", paid_txid.to_string())
        .env("FRESH_HEX", hex::encode(dotcoin_common::serialize(&fresh)))
        .env("FRESH_TXID", fresh.txid().to_string())
        .env("TIP_HEIGHT", "103")
        .env(
            "TIP_HASH",
            node.rpc_typed::<String>("getbestblockhash", json!([])),
        )
        .env(
            "HASH_1",
            node.rpc_typed::<String>("getblockhash", json!([1])),
        )
        .output()
        .expect("run node");
    assert_ran("@mempool/mempool.js", &out);
    let pool: Vec<Txid> = node.rpc_typed("getrawmempool", json!([]));
    assert_eq!(
        pool,
        vec![fresh.txid()],
        "the client's broadcast reached the pool"
    );
}

/// Median of `v` (sorted in place).
fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// `/address/:a/utxo` for an address of 10 000 unspent outputs: its median latency
/// alone, and `getblockcount`'s while 16 clients ask for it without pause. Figures only
/// (printed, never asserted): `contrib/bench/esplora.sh` runs it.
#[test]
#[ignore = "a benchmark: contrib/bench/esplora.sh"]
fn bench_utxo_latency() {
    const OUTPUTS_PER_TX: usize = 2_000;
    const TXS: usize = 5;
    let node = TestNode::start(&["--esplora"]);
    let port = esplora_port(&node);
    let (kp, miner) = test_keypair();
    let (_, rich) = test_keypair();
    node.generate(100 + TXS as u32, &miner);
    for h in 1..=TXS as u64 {
        let cb = coinbase_at(&node, h);
        let each = (cb.1.value.to_sat() - 1_000_000) / OUTPUTS_PER_TX as u64;
        let tx = signed_spend(
            &kp,
            cb,
            vec![
                TxOut {
                    value: Amount::from_sat(each),
                    pubkey: key_of(&rich),
                };
                OUTPUTS_PER_TX
            ],
        );
        send(&node, &tx);
    }
    node.generate(1, &miner);
    let path = format!("/address/{rich}/utxo");
    let n = get_json(port, &path).as_array().expect("array").len();
    assert_eq!(n, OUTPUTS_PER_TX * TXS);
    let mut alone = Vec::new();
    for _ in 0..60 {
        let t = Instant::now();
        let (s, _, body) = http_exchange(port, "GET", &path, b"");
        alone.push(t.elapsed());
        assert_eq!(s, 200);
        assert!(body.len() > 1_000_000);
    }
    // Cold: the first request after a new tip, which no kept answer serves.
    let mut cold = Vec::new();
    for _ in 0..10 {
        node.generate(1, &miner);
        let t = Instant::now();
        let (s, _, _) = http_exchange(port, "GET", &path, b"");
        cold.push(t.elapsed());
        assert_eq!(s, 200);
    }
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let hammer_counts: Vec<_> = (0..16)
        .map(|_| {
            let stop = std::sync::Arc::clone(&stop);
            let path = path.clone();
            std::thread::spawn(move || {
                let mut done = 0u64;
                let mut busy = 0u64;
                let deadline = Instant::now() + Duration::from_secs(60);
                while !stop.load(std::sync::atomic::Ordering::Relaxed) && Instant::now() < deadline
                {
                    let (s, _, _) = http_exchange(port, "GET", &path, b"");
                    if s == 200 {
                        done += 1;
                    } else {
                        busy += 1;
                    }
                }
                (done, busy)
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    let mut rpc = Vec::new();
    for _ in 0..100 {
        let t = Instant::now();
        let _: u32 = node.rpc_typed("getblockcount", json!([]));
        rpc.push(t.elapsed());
        std::thread::sleep(Duration::from_millis(20));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (mut done, mut busy) = (0, 0);
    for h in hammer_counts {
        let (d, b) = h.join().expect("hammer");
        done += d;
        busy += b;
    }
    let p99 = {
        let mut r = rpc.clone();
        r.sort();
        r[r.len() * 99 / 100]
    };
    let line = format!(
        "esplora-bench utxo_10000_median_ms={:.2} utxo_10000_cold_median_ms={:.2} getblockcount_under_16_clients_median_ms={:.2} p99_ms={:.2} hammer_answers={done} hammer_503={busy}",
        median(&mut alone).as_secs_f64() * 1000.0,
        median(&mut cold).as_secs_f64() * 1000.0,
        median(&mut rpc).as_secs_f64() * 1000.0,
        p99.as_secs_f64() * 1000.0,
    );
    std::io::Write::write_all(&mut std::io::stderr(), format!("{line}\n").as_bytes()).ok();
}
