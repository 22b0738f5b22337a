//! Functional tests of the P2P layer with real `dotcoind` processes on 127.0.0.1: relay
//! along a line of nodes, headers-first initial download from two peers, two miners
//! racing, a partition that heals with a reorganisation, and a scripted misbehaving peer
//! talking raw frames over TCP.
//!
//! Nodes run with `--maxoutbound 0` so the topology is exactly the one each test builds
//! (learnt addresses would otherwise add connections).

use std::io::Write;
use std::time::{Duration, Instant};

use dotcoin_common::rpc_types::{
    AddressBalance, BannedEntry, BlockHeaderVerbose, BlockchainInfo, ChainTipInfo, ChainTipStatus,
    GetBlockVerbose, NetworkInfo, PeerInfo, TxOutSetInfo,
};
use dotcoin_common::{
    deserialize, serialize, Amount, Block, BlockHash, BlockHeader, Network, OutPoint, PubKey,
    Transaction, TxIn, TxOut, Txid,
};
use dotcoin_functional_tests::rawpeer::{
    connect_raw, expect_disconnect, frame, handshake, ping_pong, read_frame, send_block,
    version_payload, MAIN_MAGIC, REGTEST_MAGIC,
};
use dotcoin_functional_tests::{
    block_at, block_on, coinbase_at, mine_block, signed_spend, test_keypair, wait_until, TestNode,
    TIMEOUT,
};
use serde_json::json;

const ISOLATED: &[&str] = &["--maxoutbound", "0", "--debug", "net"];

/// Prints a measured figure with the test's output (shown with `--nocapture`).
#[allow(clippy::print_stderr)]
fn report(line: &str) {
    eprintln!("{line}");
}

fn start_node(extra: &[&str]) -> TestNode {
    let mut args: Vec<&str> = ISOLATED.to_vec();
    args.extend_from_slice(extra);
    TestNode::start(&args)
}

fn p2p_addr(n: &TestNode) -> String {
    assert_ne!(n.p2p_port, 0, "node listens for peers");
    format!("127.0.0.1:{}", n.p2p_port)
}

fn tip(n: &TestNode) -> BlockHash {
    n.rpc_typed("getbestblockhash", json!([]))
}

fn height(n: &TestNode) -> u64 {
    n.rpc_typed::<u32>("getblockcount", json!([])).into()
}

fn connections(n: &TestNode) -> u64 {
    n.rpc_typed("getconnectioncount", json!([]))
}

fn peers(n: &TestNode) -> Vec<PeerInfo> {
    n.rpc_typed("getpeerinfo", json!([]))
}

fn chain_tips(n: &TestNode) -> Vec<ChainTipInfo> {
    n.rpc_typed("getchaintips", json!([]))
}

fn utxo_set(n: &TestNode) -> TxOutSetInfo {
    n.rpc_typed("gettxoutsetinfo", json!([]))
}

fn bans(n: &TestNode) -> Vec<BannedEntry> {
    n.rpc_typed("listbanned", json!([]))
}

fn wait_same_tip(nodes: &[&TestNode], timeout: Duration) {
    wait_until("nodes to agree on the tip", timeout, || {
        let t = tip(nodes[0]);
        nodes[1..].iter().all(|n| tip(n) == t)
    });
}

fn mempool(n: &TestNode) -> Vec<Txid> {
    n.rpc_typed("getrawmempool", json!([]))
}

/// A transaction spending `prev` (owned by `kp`) into `parts` equal outputs to `to`,
/// paying a 0.001 DOT fee.
fn spend(kp: &secp256k1::Keypair, prev: (OutPoint, TxOut), to: PubKey, parts: u64) -> Transaction {
    let fee = 100_000;
    let each = TxOut {
        value: Amount::from_sat((prev.1.value.to_sat() - fee) / parts),
        pubkey: to,
    };
    signed_spend(kp, prev, vec![each; parts as usize])
}

fn send_tx(n: &TestNode, tx: &Transaction) -> Txid {
    n.rpc_typed("sendrawtransaction", json!([hex::encode(serialize(tx))]))
}

fn addr_key(addr: &str) -> PubKey {
    dotcoin_common::Address::parse_for(addr, Network::Regtest)
        .expect("regtest address")
        .pubkey
}

#[test]
fn line_of_three_relays_blocks_and_transactions() {
    let a = start_node(&[]);
    let b = start_node(&["--addnode", &p2p_addr(&a)]);
    let c = start_node(&["--addnode", &p2p_addr(&b)]);
    wait_until("A–B–C connected", TIMEOUT, || {
        connections(&a) == 1 && connections(&b) == 2 && connections(&c) == 1
    });
    let (kp, addr) = test_keypair();
    let (_, other) = test_keypair();

    // A block mined on A reaches C through B.
    a.generate(101, &addr);
    wait_same_tip(&[&a, &b, &c], TIMEOUT);
    assert_eq!(height(&c), 101);

    // A transaction submitted to C reaches A's mempool and A mines it.
    let tx = spend(&kp, coinbase_at(&c, 1), addr_key(&other), 1);
    let txid = send_tx(&c, &tx);
    wait_until("the transaction to reach A's mempool", TIMEOUT, || {
        mempool(&a).contains(&txid)
    });
    let mined = a.generate(1, &addr);
    let block: GetBlockVerbose = a.rpc_typed("getblock", json!([mined[0], 1]));
    assert!(block.tx.contains(&txid), "{:?}", block.tx);
    wait_same_tip(&[&a, &b, &c], TIMEOUT);
    wait_until("C's mempool to drop the mined transaction", TIMEOUT, || {
        mempool(&c).is_empty()
    });

    // getpeerinfo and getnetworkinfo describe the line.
    let b_peers = peers(&b);
    assert_eq!(b_peers.len(), 2);
    assert!(b_peers.iter().any(|p| p.inbound));
    assert!(b_peers.iter().any(|p| !p.inbound));
    for p in &b_peers {
        assert_eq!(
            p.subver,
            format!("/dotcoind:{}/", env!("CARGO_PKG_VERSION"))
        );
        assert!(p.bytessent > 0);
        assert_eq!(p.banscore, 0);
    }
    wait_until("a ping round trip", TIMEOUT, || {
        peers(&b)[0].pingtime.is_some()
    });
    let ni: NetworkInfo = b.rpc_typed("getnetworkinfo", json!([]));
    assert_eq!(ni.connections, 2);
    assert_eq!(ni.connections_in, 1);
    assert_eq!(ni.localaddresses[0].port, b.p2p_port);

    // B stops promptly with peers connected, and its peers notice.
    let mut b = b;
    let started = Instant::now();
    assert_eq!(b.stop(), 0);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "stop took {:?}",
        started.elapsed()
    );
    wait_until("A and C to drop B", TIMEOUT, || {
        connections(&a) == 0 && connections(&c) == 0
    });
}

#[test]
fn block_reaches_the_far_end_of_a_five_node_line() {
    let mut nodes: Vec<TestNode> = vec![start_node(&[])];
    for _ in 1..5 {
        let prev = p2p_addr(nodes.last().expect("a node"));
        nodes.push(start_node(&["--addnode", &prev]));
    }
    wait_until("the line to connect", TIMEOUT, || {
        nodes[1..].iter().all(|n| connections(n) >= 1)
            && nodes[1..4].iter().all(|n| connections(n) == 2)
    });
    let (_, addr) = test_keypair();
    let far = &nodes[4];
    let mut latencies = Vec::new();
    for _ in 0..5 {
        let hash = nodes[0].generate(1, &addr).remove(0);
        wait_until("the block to reach the far end", TIMEOUT, || {
            tip(far) == hash
        });
        // Measured between the two nodes' own log lines: polling would round it.
        let mined = tip_logged_at(&nodes[0], &hash);
        let arrived = tip_logged_at(far, &hash);
        latencies.push(arrived - mined);
    }
    latencies.sort_by(f64::total_cmp);
    report(&format!(
        "block mined on node 1 reached node 5 (4 hops): median {:.1} ms, max {:.1} ms",
        latencies[2] * 1e3,
        latencies[4] * 1e3
    ));
}

/// Seconds into the day at which `node` logged `hash` becoming its tip.
fn tip_logged_at(node: &TestNode, hash: &BlockHash) -> f64 {
    let hash = hash.to_string();
    let log = node.debug_log();
    let line = log
        .lines()
        .find(|l| l.contains("new tip") && l.contains(&hash))
        .unwrap_or_else(|| panic!("no 'new tip' line for {hash}"));
    // "2026-11-24T11:35:28.808776Z ..."
    let time = &line[11..line.find('Z').expect("UTC timestamp")];
    let mut parts = time.split(':');
    let mut field = || -> f64 { parts.next().and_then(|p| p.parse().ok()).expect("hh:mm:ss") };
    field() * 3600.0 + field() * 60.0 + field()
}

#[test]
fn addresses_are_learnt_and_limits_hold() {
    let a = start_node(&[]);
    let b = start_node(&["--addnode", &p2p_addr(&a)]);
    // C knows only A, may make learnt outbound connections, and takes one inbound peer.
    let c = TestNode::start(&[
        "--addnode",
        &p2p_addr(&a),
        "--maxoutbound",
        "4",
        "--maxinbound",
        "1",
    ]);
    // A learnt B's listening address from B's version and hands it to C via addr.
    wait_until("C to find B through A", TIMEOUT, || {
        peers(&c).iter().any(|p| p.addr == p2p_addr(&b))
    });
    // --connect: only the given peer, nothing learnt.
    let d = TestNode::start(&["--connect", &p2p_addr(&a), "--maxoutbound", "4"]);
    wait_until("D connected to A", TIMEOUT, || connections(&d) == 1);
    // Inbound limit: C takes one inbound peer and refuses the next.
    let e = start_node(&[]);
    e.rpc("addnode", json!([p2p_addr(&c), "onetry"]));
    wait_until("E connected to C", TIMEOUT, || connections(&e) == 1);
    let f = start_node(&[]);
    f.rpc("addnode", json!([p2p_addr(&c), "onetry"]));
    wait_until("C to refuse F", TIMEOUT, || {
        c.debug_log().contains("inbound limit reached")
    });
    assert_eq!(connections(&f), 0);
    // D never connected beyond A, though A knows B and C.
    a.generate(1, &test_keypair().1);
    wait_same_tip(&[&a, &d], TIMEOUT);
    assert_eq!(connections(&d), 1);
    assert_eq!(peers(&d)[0].addr, p2p_addr(&a));

    // An added node that drops the connection is reconnected (with backoff).
    let b_peer_id = || peers(&b).first().map(|p| p.id);
    let first = b_peer_id().expect("B is connected to A");
    // B connected to A before C and D existed, so it is A's first inbound peer.
    let b_seen_by_a = peers(&a)
        .iter()
        .find(|p| p.inbound)
        .map(|p| p.id)
        .expect("an inbound peer");
    a.rpc("disconnectnode", json!(["", b_seen_by_a]));
    wait_until("B to reconnect to A", TIMEOUT, || {
        b_peer_id().is_some_and(|id| id != first) && connections(&b) == 1
    });

    // A connection to ourselves is detected by the version nonce and refused.
    a.rpc("addnode", json!([p2p_addr(&a), "onetry"]));
    wait_until("A to refuse itself", TIMEOUT, || {
        a.debug_log().contains("connected to ourselves")
    });

    // addnode and disconnectnode errors use Bitcoin Core's codes.
    let target = p2p_addr(&a);
    assert_eq!(
        b.try_rpc("addnode", json!([target, "add"]))
            .expect_err("already added")
            .code,
        -23
    );
    b.rpc("addnode", json!([target, "remove"]));
    assert_eq!(
        b.try_rpc("addnode", json!([target, "remove"]))
            .expect_err("not added")
            .code,
        -24
    );
    assert_eq!(
        b.try_rpc("disconnectnode", json!(["127.0.0.1:1"]))
            .expect_err("not connected")
            .code,
        -29
    );
    assert_eq!(
        b.try_rpc("setban", json!(["not-an-ip", "add"]))
            .expect_err("bad ip")
            .code,
        -30
    );
    b.rpc("setban", json!(["10.1.2.3", "add", 60]));
    assert_eq!(bans(&b)[0].address, "10.1.2.3/32");
    b.rpc("setban", json!(["10.1.2.3", "remove"]));
    assert!(bans(&b).is_empty());
    let help: String = b.rpc_typed("help", json!([]));
    assert!(help.contains("== Network =="));
}

#[test]
fn fresh_node_syncs_two_thousand_blocks_from_two_peers() {
    let a = start_node(&[]);
    let (kp, addr) = test_keypair();
    let (_, other) = test_keypair();
    let other = addr_key(&other);
    a.generate(150, &addr);
    let mut txids = Vec::new();
    for h in 1..=50 {
        txids.push(send_tx(&a, &spend(&kp, coinbase_at(&a, h), other, 3)));
        if h % 5 == 0 {
            a.generate(1, &addr);
        }
    }
    while height(&a) < 2000 {
        let n = (2000 - height(&a)).min(500) as u32;
        a.generate(n, &addr);
    }
    assert!(mempool(&a).is_empty(), "every transaction is mined");
    let b = start_node(&["--addnode", &p2p_addr(&a)]);
    wait_same_tip(&[&a, &b], TIMEOUT * 2);

    let started = Instant::now();
    let c = start_node(&["--addnode", &p2p_addr(&a), "--addnode", &p2p_addr(&b)]);
    wait_same_tip(&[&a, &c], TIMEOUT * 2);
    let secs = started.elapsed().as_secs_f64();
    report(&format!(
        "synced 2000 blocks ({} transactions) in {secs:.2} s: {:.0} blocks/s",
        txids.len(),
        2000.0 / secs
    ));
    let (set_a, set_c) = (utxo_set(&a), utxo_set(&c));
    assert_eq!(set_a.hash_serialized, set_c.hash_serialized);
    assert_eq!(set_a.txouts, set_c.txouts);
    let info: BlockchainInfo = c.rpc_typed("getblockchaininfo", json!([]));
    assert_eq!(info.headers, 2000);
    assert_eq!(info.blocks, 2000);
    // Both peers served blocks.
    let peers = peers(&c);
    let served: Vec<i64> = peers.iter().map(|p| p.synced_blocks).collect();
    assert_eq!(served.len(), 2, "{peers:?}");
    report(&format!(
        "last block height received from each peer: {served:?}"
    ));
    assert!(
        served.iter().all(|h| *h > 0),
        "blocks from both peers: {peers:?}"
    );
    assert!(c.debug_log().contains("block download progress"));
}

/// Sum of regtest subsidies of heights 0..=tip (50 DOT halving every 150 blocks).
fn subsidies_through(tip: u64) -> u64 {
    let params = Network::Regtest.params();
    (0..=tip as u32).map(|h| params.subsidy(h).to_sat()).sum()
}

fn total_amount_sat(n: &TestNode) -> u64 {
    utxo_set(n).total_amount.to_sat()
}

#[test]
fn racing_miners_converge() {
    // A 20 ms pause after each found block keeps regtest's continuous miners (a block
    // takes a hash or two) at a pace where relay, reorganisations and stale branches are
    // what is tested, rather than how fast one process can append blocks.
    let a = start_node(&["--minerinterval", "20"]);
    let b = start_node(&["--addnode", &p2p_addr(&a), "--minerinterval", "20"]);
    wait_until("A and B connected", TIMEOUT, || {
        connections(&a) == 1 && connections(&b) == 1
    });
    let (_, addr_a) = test_keypair();
    let (_, addr_b) = test_keypair();
    let (start_a, start_b) = (height(&a), height(&b));
    a.rpc("setgenerate", json!([true, 1, addr_a]));
    b.rpc("setgenerate", json!([true, 1, addr_b]));
    // The race lasts 30 s by design; the wait checks all along that both still mine.
    let stop = Instant::now() + Duration::from_secs(30);
    wait_until("30 s of racing", Duration::from_secs(60), || {
        for n in [&a, &b] {
            assert!(
                n.rpc_typed::<bool>("getgenerate", json!([])),
                "a miner stopped"
            );
        }
        Instant::now() >= stop
    });
    a.rpc("setgenerate", json!([false]));
    b.rpc("setgenerate", json!([false]));
    let mined = |n: &TestNode, addr: &str| {
        n.rpc_typed::<AddressBalance>("getaddressbalance", json!([{ "addresses": [addr] }]))
            .received
    };
    report(&format!(
        "racing for 30 s: heights A {} (from {start_a}) B {} (from {start_b})",
        height(&a),
        height(&b)
    ));
    assert!(
        height(&a) > start_a + 10 && height(&b) > start_b + 10,
        "both mined"
    );

    // Every block reaches the other side; two tips of equal work stay split (each keeps
    // the one it saw first), so one more block decides, as it would on a real network.
    wait_until("each node to know the other's tip", TIMEOUT, || {
        let (ta, tb) = (tip(&a), tip(&b));
        a.try_rpc("getblockheader", json!([tb])).is_ok()
            && b.try_rpc("getblockheader", json!([ta])).is_ok()
            && (ta == tb || height(&a) == height(&b))
    });
    if tip(&a) != tip(&b) {
        a.generate(1, &addr_a);
    }
    wait_same_tip(&[&a, &b], TIMEOUT);
    assert!(
        mined(&a, &addr_a) > 0 && mined(&a, &addr_b) > 0,
        "both miners have blocks in the best chain"
    );

    let tips = chain_tips(&a);
    let stale: Vec<&ChainTipInfo> = tips
        .iter()
        .filter(|t| t.status != ChainTipStatus::Active)
        .collect();
    report(&format!("stale branches seen by A: {}", stale.len()));
    assert!(
        !stale.is_empty(),
        "racing miners left stale branches: {tips:?}"
    );
    let top = height(&a);
    for n in [&a, &b] {
        assert_eq!(total_amount_sat(n), subsidies_through(top));
    }
    assert_eq!(utxo_set(&a).hash_serialized, utxo_set(&b).hash_serialized);
}

#[test]
fn partition_heals_onto_the_heavier_side() {
    let a = start_node(&[]);
    let b = start_node(&["--addnode", &p2p_addr(&a)]);
    let c = start_node(&[]);
    c.rpc("addnode", json!([p2p_addr(&b), "add"]));
    wait_until("A–B–C connected", TIMEOUT, || connections(&b) == 2);
    let (kp, addr) = test_keypair();
    let (_, other) = test_keypair();
    a.generate(110, &addr);
    wait_same_tip(&[&a, &b, &c], TIMEOUT);

    // Partition: C forgets B and drops the connection.
    c.rpc("addnode", json!([p2p_addr(&b), "remove"]));
    c.rpc("disconnectnode", json!([p2p_addr(&b)]));
    wait_until("C cut off", TIMEOUT, || {
        connections(&c) == 0 && connections(&b) == 1
    });

    // C mines a transaction into a short branch; A and B build a longer one.
    let tx = spend(&kp, coinbase_at(&c, 2), addr_key(&other), 2);
    let txid = send_tx(&c, &tx);
    c.generate(2, &addr);
    assert!(mempool(&c).is_empty());
    a.generate(5, &addr);
    wait_same_tip(&[&a, &b], TIMEOUT);
    assert_eq!(height(&c), 112);
    let light_tip = tip(&c);

    // Heal: C reorganises onto the heavier chain, its transaction returns to its mempool
    // and is relayed to the other side.
    c.rpc("addnode", json!([p2p_addr(&b), "onetry"]));
    wait_same_tip(&[&a, &b, &c], TIMEOUT);
    assert_eq!(height(&c), 115);
    wait_until("C's transaction back in its mempool", TIMEOUT, || {
        mempool(&c).contains(&txid)
    });
    wait_until("C's transaction relayed to A", TIMEOUT, || {
        mempool(&a).contains(&txid)
    });
    let tips = chain_tips(&c);
    assert!(
        tips.iter()
            .any(|t| t.hash == light_tip && t.status == ChainTipStatus::ValidFork),
        "{tips:?}"
    );
    a.generate(1, &addr);
    wait_same_tip(&[&a, &b, &c], TIMEOUT);
    assert!(mempool(&c).is_empty());
}

// ---- a scripted peer speaking raw frames ----

fn banned(n: &TestNode) -> bool {
    bans(n).iter().any(|b| b.address == "127.0.0.1/32")
}

/// A block on `node`'s tip with `txs` after a coinbase, a valid merkle root and proof of
/// work (or, with `valid_pow` false, a hash above the target).
fn craft_block(node: &TestNode, txs: Vec<Transaction>, valid_pow: bool) -> Block {
    let tip_hash = tip(node);
    let hdr: BlockHeaderVerbose = node.rpc_typed("getblockheader", json!([tip_hash]));
    block_after(tip_hash, hdr.time, hdr.height + 1, txs, valid_pow)
}

/// A block at height `h` on the block `tip_hash` stamped `prev_time`; see [`craft_block`].
fn block_after(
    tip_hash: BlockHash,
    prev_time: u32,
    h: u32,
    txs: Vec<Transaction>,
    valid_pow: bool,
) -> Block {
    let params = Network::Regtest.params();
    let coinbase = Transaction {
        version: 1,
        inputs: vec![TxIn {
            prevout: OutPoint::coinbase(h),
            witness: b"scripted".to_vec(),
        }],
        outputs: vec![TxOut {
            value: params.subsidy(h),
            pubkey: PubKey([7; 32]),
        }],
        lock_time: 0,
    };
    let mut txdata = vec![coinbase];
    txdata.extend(txs);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as u32;
    mine_block(
        tip_hash,
        now.max(prev_time + 1),
        params.pow_limit,
        txdata,
        valid_pow,
    )
}

/// The block hashes a `getdata` payload asks for.
fn getdata_blocks(payload: &[u8]) -> Vec<BlockHash> {
    // Compact size (one byte below 253 items), then 4-byte type and 32-byte hash each.
    assert!(payload[0] < 253, "a short getdata");
    payload[1..]
        .chunks_exact(36)
        .filter(|item| u32::from_le_bytes(item[..4].try_into().expect("4 bytes")) == 2)
        .map(|item| deserialize(&item[4..]).expect("hash"))
        .collect()
}

/// A peer announces six blocks and sends them back to back when asked, so they wait in
/// the node's block pipeline together: the second spends a coin the first creates (found
/// by pre-verification among blocks not yet connected), the third carries a bad signature.
/// The node keeps the two good blocks, refuses the third and the three on top of it, and
/// bans the peer.
#[test]
fn a_bad_signature_inside_a_pipelined_download_stops_the_chain_there() {
    let a = start_node(&["--bantime", "600"]);
    let (kp, addr) = test_keypair();
    let me = addr_key(&addr);
    a.generate(101, &addr);
    let base: BlockHeaderVerbose = a.rpc_typed("getblockheader", json!([tip(&a)]));

    let mut blocks: Vec<Block> = Vec::new();
    let mut prev = (base.hash, base.time, base.height);
    let mut push = |txs: Vec<Transaction>, blocks: &mut Vec<Block>| {
        let b = block_after(prev.0, prev.1, prev.2 + 1, txs, true);
        prev = (b.block_hash(), b.header.time, prev.2 + 1);
        blocks.push(b);
    };
    let first = spend(&kp, coinbase_at(&a, 1), me, 1);
    let first_out = (
        OutPoint {
            txid: first.txid(),
            vout: 0,
        },
        first.outputs[0],
    );
    push(vec![first], &mut blocks);
    let second = spend(&kp, first_out, me, 1);
    let second_out = (
        OutPoint {
            txid: second.txid(),
            vout: 0,
        },
        second.outputs[0],
    );
    push(vec![second], &mut blocks);
    let mut forged = spend(&kp, second_out, PubKey([9; 32]), 1);
    forged.inputs[0].witness[10] ^= 0x55;
    push(vec![forged], &mut blocks);
    for _ in 0..3 {
        push(vec![], &mut blocks);
    }

    let mut s = handshake(&a);
    let headers: Vec<BlockHeader> = blocks.iter().map(|b| b.header).collect();
    dotcoin_functional_tests::rawpeer::send_headers(&mut s, &headers);
    let mut sent = 0;
    let deadline = Instant::now() + TIMEOUT;
    while sent < blocks.len() && Instant::now() < deadline {
        let Some((cmd, payload)) = read_frame(&mut s) else {
            break;
        };
        if cmd != "getdata" {
            continue;
        }
        // Everything asked for, at once and in order, before the node has answered any.
        for hash in getdata_blocks(&payload) {
            let block = blocks
                .iter()
                .find(|b| b.block_hash() == hash)
                .expect("a block we announced");
            send_block(&mut s, block);
            sent += 1;
        }
    }
    assert_eq!(sent, blocks.len(), "the node asked for all six blocks");
    expect_disconnect(&mut s);
    wait_until("the bad block's peer banned", TIMEOUT, || banned(&a));
    assert_eq!(
        tip(&a),
        blocks[1].block_hash(),
        "the two good blocks connected"
    );
    let tips = chain_tips(&a);
    let last = blocks[5].block_hash();
    assert!(
        tips.iter()
            .any(|t| t.hash == last && t.status == ChainTipStatus::Invalid),
        "the branch past the bad block is invalid: {tips:?}"
    );
    // The node still works: a new block of its own connects.
    a.generate(1, &addr);
    assert_eq!(height(&a), u64::from(base.height) + 3);
}

#[test]
fn misbehaving_scripted_peer_is_dropped_while_others_are_served() {
    let a = start_node(&["--bantime", "600"]);
    let honest = start_node(&["--addnode", &p2p_addr(&a)]);
    // A connection that never says version is dropped at the handshake timeout.
    let mut silent = connect_raw(&a);
    let (kp, addr) = test_keypair();
    a.generate(101, &addr);
    wait_same_tip(&[&a, &honest], TIMEOUT);

    let still_serving = |case: &str| {
        a.generate(1, &addr);
        wait_same_tip(&[&a, &honest], TIMEOUT);
        assert_eq!(
            connections(&honest),
            1,
            "honest peer still connected after {case}"
        );
    };
    let check_banned = |case: &str| {
        wait_until(&format!("ban after {case}"), TIMEOUT, || banned(&a));
        // A banned IP cannot connect again.
        let mut again = connect_raw(&a);
        expect_disconnect(&mut again);
        a.rpc("clearbanned", json!([]));
        assert!(!banned(&a));
    };

    // 1. A block with bad proof of work.
    let mut s = handshake(&a);
    send_block(&mut s, &craft_block(&a, vec![], false));
    expect_disconnect(&mut s);
    check_banned("bad proof of work");
    still_serving("bad proof of work");

    // 2. A block with a bad signature.
    let mut tx = spend(&kp, coinbase_at(&a, 1), PubKey([9; 32]), 1);
    tx.inputs[0].witness[10] ^= 0x55;
    let mut s = handshake(&a);
    send_block(&mut s, &craft_block(&a, vec![tx], true));
    expect_disconnect(&mut s);
    check_banned("bad signature");
    still_serving("bad signature");

    // 3. A block whose merkle root does not match its transactions.
    let mut block = craft_block(&a, vec![], true);
    block.txdata[0].inputs[0].witness.push(1);
    let mut s = handshake(&a);
    send_block(&mut s, &block);
    expect_disconnect(&mut s);
    check_banned("merkle mismatch");
    still_serving("merkle mismatch");

    // 4. A malformed message: a headers payload claiming more than it holds.
    let mut s = handshake(&a);
    s.write_all(&frame(
        REGTEST_MAGIC,
        "headers",
        &[0xfd, 0x00, 0x01, 1, 2, 3],
    ))
    .expect("send");
    expect_disconnect(&mut s);
    check_banned("malformed message");
    still_serving("malformed message");

    // 4b. A frame whose checksum does not match its payload.
    let mut s = handshake(&a);
    let mut bad = frame(REGTEST_MAGIC, "ping", &7u64.to_le_bytes());
    bad[20] ^= 0xff;
    s.write_all(&bad).expect("send");
    expect_disconnect(&mut s);
    check_banned("bad checksum");
    still_serving("bad checksum");

    // 5. An oversized frame: only the header, announcing 100 MB.
    let mut s = handshake(&a);
    let mut header = frame(REGTEST_MAGIC, "block", &[]);
    header[16..20].copy_from_slice(&100_000_000u32.to_le_bytes());
    s.write_all(&header).expect("send");
    expect_disconnect(&mut s);
    check_banned("oversized frame");
    still_serving("oversized frame");

    // 6. Another network: main's magic, then regtest's magic with main's genesis. Refused
    //    with a log line saying why; not banned (an honest node on the wrong network).
    let main_genesis = Network::Main.params().genesis_hash();
    let mut s = connect_raw(&a);
    s.write_all(&frame(
        MAIN_MAGIC,
        "version",
        &version_payload(main_genesis),
    ))
    .expect("send");
    expect_disconnect(&mut s);
    let mut s = connect_raw(&a);
    s.write_all(&frame(
        REGTEST_MAGIC,
        "version",
        &version_payload(main_genesis),
    ))
    .expect("send");
    expect_disconnect(&mut s);
    assert!(!banned(&a));
    let log = a.debug_log();
    assert!(log.contains("network magic"), "magic refusal logged");
    assert!(log.contains("another network"), "genesis refusal logged");
    still_serving("wrong network");

    expect_disconnect(&mut silent);
    assert!(a.debug_log().contains("handshake timeout"));

    // Unknown commands are ignored, not punished (`sendcmpct` is known since compact
    // blocks: a command this node does not speak stands in).
    let mut s = handshake(&a);
    s.write_all(&frame(REGTEST_MAGIC, "sendaddrv2", &[0, 1]))
        .expect("send");
    s.write_all(&frame(REGTEST_MAGIC, "ping", &7u64.to_le_bytes()))
        .expect("send");
    loop {
        let (cmd, payload) = read_frame(&mut s).expect("still connected");
        if cmd == "pong" {
            assert_eq!(payload, 7u64.to_le_bytes());
            break;
        }
    }
    let peers = peers(&a);
    let scripted: Vec<&PeerInfo> = peers
        .iter()
        .filter(|p| p.subver == "/scripted-peer/")
        .collect();
    assert_eq!(scripted.len(), 1);
    assert_eq!(scripted[0].banscore, 0);
}

/// A block on `node`'s tip whose coinbase splits the subsidy into `outputs` outputs: the
/// cheapest way to grow the UTXO set by a block's worth of entries.
fn fat_coinbase_block(node: &TestNode, outputs: usize) -> Block {
    let height: u64 = node.rpc_typed("getblockcount", json!([]));
    let tip = block_at(node, height).header;
    block_on(&tip, height as u32 + 1, outputs, 0)
}

#[test]
fn readers_and_peers_are_served_during_a_utxo_set_scan() {
    let a = start_node(&[]);
    // Nine blocks of 24 000 coinbase outputs each: 216 000 UTXOs.
    for _ in 0..9 {
        let block = fat_coinbase_block(&a, 24_000);
        let r = a.rpc("submitblock", json!([hex::encode(serialize(&block))]));
        assert!(r.is_null(), "fat block accepted: {r}");
    }
    let mut peer = handshake(&a);
    let (sent, done, stats, rounds) = std::thread::scope(|scope| {
        // Three scans back to back keep the node busy scanning for the whole window.
        let heavy = scope.spawn(|| {
            let sent = Instant::now();
            let mut stats = None;
            for _ in 0..3 {
                stats = Some(a.rpc_typed::<TxOutSetInfo>("gettxoutsetinfo", json!([])));
            }
            (sent, Instant::now(), stats.expect("three scans ran"))
        });
        // Rounds of cheap reads and a P2P ping, each with its start and end, until the
        // scan returns.
        let mut rounds = Vec::new();
        let mut nonce = 0;
        while !heavy.is_finished() {
            let start = Instant::now();
            a.rpc("getblockcount", json!([]));
            a.rpc("getbestblockhash", json!([]));
            a.rpc("getpeerinfo", json!([]));
            nonce += 1;
            ping_pong(&mut peer, nonce);
            rounds.push((start, Instant::now()));
        }
        let (sent, done, stats) = heavy.join().expect("scan thread");
        (sent, done, stats, rounds)
    });
    assert!(stats.txouts >= 200_000, "{stats:?}");
    let inside = rounds
        .iter()
        .filter(|(start, end)| *start > sent && *end < done)
        .count();
    report(&format!(
        "readers during gettxoutsetinfo over {} UTXOs: {inside} full rounds answered while it ran",
        stats.txouts
    ));
    assert!(
        inside >= 1,
        "no round of getblockcount, getbestblockhash, getpeerinfo and ping completed while the scan ran"
    );
}
