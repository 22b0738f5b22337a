//! Compact blocks (BIP152) between real `dotcoind` processes and against a scripted
//! peer: a block whose transactions are all in the receiver's mempool travels as one
//! `cmpctblock` and is rebuilt there; the transactions the mempool lacks come in one
//! `getblocktxn`/`blocktxn` round; a compact block that does not rebuild into its merkle
//! root falls back to the full block without costing the sender anything, while a full
//! block that is then invalid does; `--compactblocks=0` relays full blocks only.
//!
//! The scripted peer computes short ids from the BIP's text (`rawpeer::short_id`), so the
//! node's encoding is checked against an independent implementation.

use std::io::Write;

use dotcoin_common::rpc_types::PeerInfo;
use dotcoin_common::{
    deserialize, Amount, Block, BlockHash, OutPoint, Transaction, TxIn, TxOut, Txid,
};
use dotcoin_functional_tests::rawpeer::{
    blocktxn_payload, cmpctblock_of, cmpctblock_payload, expect_disconnect, handshake,
    inventory_payload, ping_pong, read_until, regtest_frame, short_id,
};
use dotcoin_functional_tests::{
    block_at, coinbase_at, mine_block, signed_spend, test_keypair, wait_until, TestNode, TIMEOUT,
};
use serde_json::json;

const ISOLATED: &[&str] = &["--maxoutbound", "0", "--debug", "net"];

fn start_node(extra: &[&str]) -> TestNode {
    let mut args: Vec<&str> = ISOLATED.to_vec();
    args.extend_from_slice(extra);
    TestNode::start(&args)
}

fn tip(n: &TestNode) -> BlockHash {
    n.rpc_typed("getbestblockhash", json!([]))
}

fn peers(n: &TestNode) -> Vec<PeerInfo> {
    n.rpc_typed("getpeerinfo", json!([]))
}

fn recv(p: &PeerInfo, cmd: &str) -> u64 {
    p.bytesrecv_per_msg.get(cmd).copied().unwrap_or(0)
}

fn sent(p: &PeerInfo, cmd: &str) -> u64 {
    p.bytessent_per_msg.get(cmd).copied().unwrap_or(0)
}

fn mempool_has(n: &TestNode, txid: &Txid) -> bool {
    n.rpc_typed::<Vec<Txid>>("getrawmempool", json!([]))
        .contains(txid)
}

/// `n` signed spends, each of a different mature coinbase paid to `kp` (heights 1..=n),
/// paying a fee so every mempool takes them.
fn spends(node: &TestNode, kp: &secp256k1::Keypair, n: u64) -> Vec<Transaction> {
    (1..=n)
        .map(|h| {
            let prev = coinbase_at(node, h);
            let out = TxOut {
                value: Amount::from_sat(prev.1.value.to_sat() - 10_000),
                pubkey: prev.1.pubkey,
            };
            signed_spend(kp, prev, vec![out])
        })
        .collect()
}

fn send_raw(n: &TestNode, tx: &Transaction) -> Txid {
    n.rpc_typed(
        "sendrawtransaction",
        json!([hex::encode(dotcoin_common::serialize(tx))]),
    )
}

/// A valid block on `node`'s tip holding `txs` after a coinbase paying the subsidy.
fn block_with(node: &TestNode, txs: &[Transaction]) -> Block {
    let height: u64 = node.rpc_typed("getblockcount", json!([]));
    let prev = block_at(node, height);
    let params = dotcoin_common::Network::Regtest.params();
    let h = height as u32 + 1;
    let coinbase = Transaction {
        version: 1,
        inputs: vec![TxIn {
            prevout: OutPoint::coinbase(h),
            witness: vec![7],
        }],
        outputs: vec![TxOut {
            value: params.subsidy(h),
            pubkey: dotcoin_common::PubKey([3; 32]),
        }],
        lock_time: 0,
    };
    let mut txdata = vec![coinbase];
    txdata.extend_from_slice(txs);
    mine_block(
        prev.block_hash(),
        prev.header.time + 1,
        params.pow_limit,
        txdata,
        true,
    )
}

/// A node with 110 blocks paying `kp`, so coinbases 1..=10 are spendable.
fn funded_node(extra: &[&str]) -> (TestNode, secp256k1::Keypair, String) {
    let node = start_node(extra);
    let (kp, addr) = test_keypair();
    node.generate(110, &addr);
    (node, kp, addr)
}

#[test]
fn blocks_of_known_transactions_travel_as_compact_blocks_and_peers_go_high_bandwidth() {
    let (a, kp, addr) = funded_node(&[]);
    let b = start_node(&[]);
    b.rpc(
        "addnode",
        json!([format!("127.0.0.1:{}", a.p2p_port), "onetry"]),
    );
    wait_until("b synced", TIMEOUT, || tip(&b) == tip(&a));
    let txs = spends(&a, &kp, 6);
    for tx in &txs {
        send_raw(&a, tx);
    }
    wait_until("b has every transaction", TIMEOUT, || {
        txs.iter().all(|t| mempool_has(&b, &t.txid()))
    });
    let before = peers(&b).remove(0);
    // Two blocks: the first asked for in low-bandwidth mode (headers, then
    // getdata(cmpct)), after which b makes a its high-bandwidth peer; the second comes
    // unasked as `cmpctblock`.
    a.generate(1, &addr);
    wait_until("b has the first block", TIMEOUT, || tip(&b) == tip(&a));
    wait_until("b chose a as high-bandwidth peer", TIMEOUT, || {
        peers(&b)[0].bip152_hb_to && peers(&a)[0].bip152_hb_from
    });
    let tx = spends(&a, &kp, 7).pop().expect("a seventh spend");
    send_raw(&a, &tx);
    wait_until("b has the transaction", TIMEOUT, || {
        mempool_has(&b, &tx.txid())
    });
    a.generate(1, &addr);
    wait_until("b has the second block", TIMEOUT, || tip(&b) == tip(&a));
    let after = peers(&b).remove(0);
    assert!(
        recv(&after, "cmpctblock") > recv(&before, "cmpctblock"),
        "{:?}",
        after.bytesrecv_per_msg
    );
    assert_eq!(
        recv(&after, "block"),
        recv(&before, "block"),
        "no full block: {:?}",
        after.bytesrecv_per_msg
    );
    assert_eq!(sent(&after, "getblocktxn"), 0, "nothing was missing");
    assert!(
        sent(&after, "getdata") > sent(&before, "getdata"),
        "the first block was asked for"
    );
    let block: serde_json::Value = b.rpc("getblock", json!([tip(&b), 1]));
    assert_eq!(block["tx"].as_array().expect("txids").len(), 2);
}

#[test]
fn without_compact_blocks_full_blocks_travel() {
    let (a, kp, addr) = funded_node(&["--compactblocks=0"]);
    let b = start_node(&["-compactblocks=0"]);
    b.rpc(
        "addnode",
        json!([format!("127.0.0.1:{}", a.p2p_port), "onetry"]),
    );
    wait_until("b synced", TIMEOUT, || tip(&b) == tip(&a));
    let tx = spends(&a, &kp, 1).pop().expect("a spend");
    send_raw(&a, &tx);
    wait_until("b has the transaction", TIMEOUT, || {
        mempool_has(&b, &tx.txid())
    });
    let before = peers(&b).remove(0);
    a.generate(2, &addr);
    wait_until("b has the blocks", TIMEOUT, || tip(&b) == tip(&a));
    let after = peers(&b).remove(0);
    assert_eq!(recv(&after, "cmpctblock"), 0);
    assert_eq!(recv(&after, "sendcmpct"), 0);
    assert!(recv(&after, "block") > recv(&before, "block"));
    assert!(!after.bip152_hb_to && !after.bip152_hb_from);
}

#[test]
fn missing_transactions_come_in_one_getblocktxn_round() {
    let (node, kp, _) = funded_node(&[]);
    let txs = spends(&node, &kp, 4);
    // The node's mempool holds the first and third; the second and fourth it must ask for.
    send_raw(&node, &txs[0]);
    send_raw(&node, &txs[2]);
    let block = block_with(&node, &txs);
    let mut peer = handshake(&node);
    peer.write_all(&regtest_frame("cmpctblock", &cmpctblock_of(&block, 99)))
        .expect("send cmpctblock");
    let req = read_until(&mut peer, "getblocktxn").expect("the node asks for what it lacks");
    let mut expected = dotcoin_common::serialize(&block.block_hash());
    // Indexes 2 and 4, differentially: 2, then 4 - (2 + 1) = 1.
    expected.extend_from_slice(&[2, 2, 1]);
    assert_eq!(req, expected);
    peer.write_all(&regtest_frame(
        "blocktxn",
        &blocktxn_payload(&block.block_hash(), &[&txs[1], &txs[3]]),
    ))
    .expect("send blocktxn");
    wait_until("the rebuilt block is the tip", TIMEOUT, || {
        tip(&node) == block.block_hash()
    });
    // Still connected, nothing held against it.
    ping_pong(&mut peer, 5);
    assert!(peers(&node).iter().all(|p| p.banscore == 0));
    let stored: Block = deserialize(
        &hex::decode(node.rpc_typed::<String>("getblock", json!([block.block_hash(), 0])))
            .expect("hex"),
    )
    .expect("block");
    assert_eq!(stored, block);
}

#[test]
fn a_compact_block_that_does_not_rebuild_falls_back_to_the_full_block_without_penalty() {
    let (node, kp, _) = funded_node(&[]);
    let txs = spends(&node, &kp, 3);
    for tx in &txs {
        send_raw(&node, tx);
    }
    let block = block_with(&node, &txs);
    // Short ids in the wrong order: every transaction is found, but the merkle root
    // does not match — what a short-id collision looks like to the receiver.
    let nonce = 7;
    let mut ids: Vec<u64> = block.txdata[1..]
        .iter()
        .map(|t| short_id(&block.header, nonce, &t.wtxid()))
        .collect();
    ids.swap(0, 1);
    let mut peer = handshake(&node);
    peer.write_all(&regtest_frame(
        "cmpctblock",
        &cmpctblock_payload(&block.header, nonce, &ids, &[(0, &block.txdata[0])]),
    ))
    .expect("send cmpctblock");
    let getdata = read_until(&mut peer, "getdata").expect("the node asks for the full block");
    assert_eq!(
        getdata,
        inventory_payload(&[(2, block.block_hash().to_byte_array())])
    );
    peer.write_all(&regtest_frame("block", &dotcoin_common::serialize(&block)))
        .expect("send block");
    wait_until("the full block is the tip", TIMEOUT, || {
        tip(&node) == block.block_hash()
    });
    ping_pong(&mut peer, 1);
    assert!(peers(&node).iter().all(|p| p.banscore == 0));

    // The same dance, but the full block sent after the fall-back is invalid (its
    // transactions do not match the header): that is misbehaviour, and costs a ban.
    let txs2 = spends(&node, &kp, 6).split_off(3);
    for tx in &txs2 {
        send_raw(&node, tx);
    }
    let good = block_with(&node, &txs2);
    let mut ids: Vec<u64> = good.txdata[1..]
        .iter()
        .map(|t| short_id(&good.header, nonce, &t.wtxid()))
        .collect();
    ids.swap(1, 2);
    peer.write_all(&regtest_frame(
        "cmpctblock",
        &cmpctblock_payload(&good.header, nonce, &ids, &[(0, &good.txdata[0])]),
    ))
    .expect("send cmpctblock");
    read_until(&mut peer, "getdata").expect("the node asks for the full block");
    let mut bad = good.clone();
    bad.txdata.pop();
    peer.write_all(&regtest_frame("block", &dotcoin_common::serialize(&bad)))
        .expect("send block");
    expect_disconnect(&mut peer);
    wait_until("the peer banned", TIMEOUT, || {
        !node
            .rpc_typed::<Vec<serde_json::Value>>("listbanned", json!([]))
            .is_empty()
    });
}

use bitcoin_hashes::Hash as _;
