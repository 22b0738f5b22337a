//! Functional tests of the JSON-RPC server and `dotcoin-cli` against a real `dotcoind`:
//! every implemented method through the CLI, authentication, Bitcoin Core error codes,
//! restart, clean shutdown and config errors.

use dotcoin_common::rpc_types::{
    AddressBalance, AddressUtxo, BannedEntry, BlockHeaderVerbose, BlockTemplate, BlockchainInfo,
    ChainTipInfo, ChainTipStatus, DecodedTx, GetBlockVerbose, GetBlockVerboseTx, MempoolEntry,
    MempoolInfo, MiningInfo, NetworkInfo, NodeInfo, PeerInfo, RawMempoolVerbose,
    TestMempoolAcceptResult, TxInVerbose, TxOutInfo, TxOutSetInfo, TxVerbose,
};
use dotcoin_common::sighash::signing::sign_transaction;
use dotcoin_common::{
    deserialize, serialize, Amount, Block, BlockHash, OutPoint, Transaction, TxIn, TxOut, Txid,
};
use dotcoin_functional_tests::{bin, test_keypair, wait_until, TestNode, TIMEOUT};
use serde_json::{json, Value};

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn every_method_through_the_cli() {
    let node = TestNode::start(&[]);
    let (kp, addr) = test_keypair();
    let (_, other_addr) = test_keypair();

    // Control.
    let help = node.cli_ok(&["help"]);
    for m in [
        "getblockchaininfo",
        "sendrawtransaction",
        "generatetoaddress",
        "getaddressutxos",
        "stop",
    ] {
        assert!(help.contains(m), "help lists {m}");
    }
    assert!(node.cli_ok(&["help", "getblock"]).contains("verbosity"));
    assert!(node.cli_ok(&["uptime"]).parse::<u64>().is_ok());
    let info: NodeInfo = node.cli_typed(&["getinfo"]);
    assert_eq!(info.chain, "regtest");
    assert_eq!(info.blocks, 0);

    // Mining.
    let hashes: Vec<BlockHash> = node.cli_typed(&["generatetoaddress", "101", &addr]);
    assert_eq!(hashes.len(), 101);
    let mi: MiningInfo = node.cli_typed(&["getmininginfo"]);
    assert_eq!(mi.blocks, 101);
    assert!(mi.networkhashps.is_finite() && mi.hashespersec.is_finite());
    // The probe measured every kernel this CPU has and names the one it chose.
    assert!(
        ["portable", "sha-ni-1", "sha-ni-2", "sha-ni-4", "sha-ni-8"].contains(&mi.kernel.as_str()),
        "{}",
        mi.kernel
    );
    assert!(
        mi.kernel_reason.starts_with("fastest in a start-up probe")
            && mi.kernel_reason.contains(&format!("{} ", mi.kernel))
            && mi.kernel_reason.contains("portable "),
        "{}",
        mi.kernel_reason
    );
    assert!(!node.cli_typed::<bool>(&["getgenerate"]));
    assert!(node.cli_typed::<f64>(&["getnetworkhashps"]) >= 0.0);
    let tmpl: BlockTemplate = node.cli_typed(&["getblocktemplate"]);
    assert_eq!(tmpl.height, 102);
    assert_eq!(tmpl.coinbasevalue, 5_000_000_000u64);

    // Blockchain.
    let bci: BlockchainInfo = node.cli_typed(&["getblockchaininfo"]);
    assert_eq!(bci.chain, "regtest");
    assert_eq!(bci.blocks, 101);
    assert_eq!(bci.headers, 101);
    assert_eq!(bci.coinbase_maturity, 100);
    assert_eq!(node.cli_typed::<u32>(&["getblockcount"]), 101);
    let best = node.cli_ok(&["getbestblockhash"]);
    assert_eq!(node.cli_ok(&["getblockhash", "101"]), best);
    assert_eq!(hashes[100].to_string(), best);
    let block: GetBlockVerbose = node.cli_typed(&["getblock", &best]);
    assert_eq!(block.header.height, 101);
    assert_eq!(block.header.confirmations, 1);
    assert_eq!(block.header.n_tx, 1);
    let block2: GetBlockVerboseTx = node.cli_typed(&["getblock", &best, "2"]);
    assert!(
        matches!(
            block2.tx[0].tx.vin[0],
            TxInVerbose::Coinbase { height: 101, .. }
        ),
        "{:?}",
        block2.tx[0].tx.vin
    );
    let raw = node.cli_ok(&["getblock", &best, "0"]);
    let decoded: Block = deserialize(&hex::decode(&raw).expect("hex")).expect("a block");
    assert_eq!(decoded.block_hash().to_string(), best);
    let header: BlockHeaderVerbose = node.cli_typed(&["getblockheader", &best]);
    assert_eq!(header.hash.to_string(), best);
    assert_eq!(node.cli_ok(&["getblockheader", &best, "false"]).len(), 160);
    let tips: Vec<ChainTipInfo> = node.cli_typed(&["getchaintips"]);
    assert_eq!(tips[0].status, ChainTipStatus::Active);
    assert_eq!(tips[0].height, 101);
    assert!(node.cli_typed::<f64>(&["getdifficulty"]).is_finite());

    // A transaction built and signed here, with common only.
    let cb1: GetBlockVerboseTx = node.cli_typed(&["getblock", &hashes[0].to_string(), "2"]);
    let cb_txid = cb1.tx[0].tx.txid.to_string();
    let txout: Option<TxOutInfo> = node.cli_typed(&["gettxout", &cb_txid, "0"]);
    let txout = txout.expect("the coinbase output is unspent");
    assert_eq!(txout.value, Amount::from_dot(50));
    assert!(txout.coinbase);
    let spent_out = TxOut {
        value: Amount::from_dot(50),
        pubkey: dotcoin_common::sighash::signing::pubkey_of(&kp),
    };
    let other = dotcoin_common::Address::parse_for(&other_addr, dotcoin_common::Network::Regtest)
        .unwrap()
        .pubkey;
    let make_tx = |value: u64| {
        let mut tx = Transaction {
            version: 1,
            inputs: vec![TxIn {
                prevout: OutPoint {
                    txid: cb_txid.parse().unwrap(),
                    vout: 0,
                },
                witness: vec![],
            }],
            outputs: vec![TxOut {
                value: Amount::from_dot(value),
                pubkey: other,
            }],
            lock_time: 0,
        };
        sign_transaction(&mut tx, &[spent_out], std::slice::from_ref(&kp)).unwrap();
        tx
    };
    let tx = make_tx(49);
    let tx_hex = hex::encode(serialize(&tx));
    let decoded: DecodedTx = node.cli_typed(&["decoderawtransaction", &tx_hex]);
    assert_eq!(decoded.txid, tx.txid());
    assert_eq!(decoded.vout[0].address, other_addr);
    // A 1 DOT fee on ~150 bytes is far above maxfeerate's default of 0.10 DOT/kvB: refused
    // as Core refuses it, unless the caller lifts the limit (0 = none).
    let test: Vec<TestMempoolAcceptResult> =
        node.cli_typed(&["testmempoolaccept", &json!([tx_hex]).to_string()]);
    assert!(!test[0].allowed, "{test:?}");
    assert!(
        test[0]
            .reject_reason
            .as_deref()
            .is_some_and(|r| r.starts_with("max-fee-exceeded")),
        "{test:?}"
    );
    let capped = node.cli(&["sendrawtransaction", &tx_hex]);
    assert!(!capped.status.success());
    let err = String::from_utf8_lossy(&capped.stderr);
    assert!(
        err.contains("error code: -25")
            && err.contains("Fee exceeds maximum configured by user (e.g. -maxtxfee, maxfeerate)"),
        "{err}"
    );
    for (bad, why) in [("-1", "Amount out of range"), ("\"abc\"", "Invalid amount")] {
        let out = node.cli(&["sendrawtransaction", &tx_hex, bad]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("error code: -3") && err.contains(why),
            "{bad}: {err}"
        );
    }
    let test: Vec<TestMempoolAcceptResult> =
        node.cli_typed(&["testmempoolaccept", &json!([tx_hex]).to_string(), "7"]);
    assert!(test[0].allowed, "{test:?}");
    assert!(node.cli_typed::<Vec<Txid>>(&["getrawmempool"]).is_empty());
    let txid = node.cli_ok(&["sendrawtransaction", &tx_hex, "0"]);
    assert_eq!(txid, tx.txid().to_string());
    assert_eq!(
        node.cli_typed::<Vec<Txid>>(&["getrawmempool"]),
        vec![tx.txid()]
    );
    let verbose_pool: RawMempoolVerbose = node.cli_typed(&["getrawmempool", "true"]);
    assert_eq!(verbose_pool[&tx.txid()].fee, Amount::ONE_DOT);
    let entry: MempoolEntry = node.cli_typed(&["getmempoolentry", &txid]);
    assert_eq!(entry.vsize, tx.size() as u64);
    let mpi: MempoolInfo = node.cli_typed(&["getmempoolinfo"]);
    assert_eq!(mpi.size, 1);
    let verbose: TxVerbose = node.cli_typed(&["getrawtransaction", &txid, "true"]);
    assert_eq!(verbose.tx.txid, tx.txid());
    assert_eq!(node.cli_ok(&["getrawtransaction", &txid]), tx_hex);
    // A second spend of the same output while the first is pooled, paying the same fee
    // for the same size to another key: not a better deal, so no replacement (full RBF,
    // Core's rule of a higher fee rate): -26, in Core's words.
    let mut same_fee = tx.clone();
    same_fee.outputs[0].pubkey = spent_out.pubkey;
    sign_transaction(&mut same_fee, &[spent_out], std::slice::from_ref(&kp)).unwrap();
    let conflict = node.cli(&[
        "sendrawtransaction",
        &hex::encode(serialize(&same_fee)),
        "0",
    ]);
    assert!(!conflict.status.success());
    let err = stderr(&conflict);
    assert!(
        err.contains("error code: -26")
            && err.contains(&format!(
                "insufficient fee, rejecting replacement {}; new feerate",
                same_fee.txid()
            )),
        "{err}"
    );
    // Spent in the mempool: gettxout says null (prints nothing).
    assert_eq!(node.cli_ok(&["gettxout", &cb_txid, "0"]), "");
    assert_eq!(
        node.cli_typed::<Option<TxOutInfo>>(&["gettxout", &cb_txid, "0"]),
        None
    );

    // Address index, mempool-aware.
    let utxos: Vec<AddressUtxo> = node.cli_typed(&[
        "getaddressutxos",
        &json!({ "addresses": [other_addr] }).to_string(),
    ]);
    assert_eq!(utxos[0].satoshis, 4_900_000_000u64);
    assert_eq!(utxos[0].confirmations, 0);
    let bal: AddressBalance = node.cli_typed(&[
        "getaddressbalance",
        &json!({ "addresses": [addr] }).to_string(),
    ]);
    assert_eq!(bal.unconfirmed, -5_000_000_000i64);
    // Coinbases 1 and 2 have 100+ confirmations; 1 is spent by the mempool.
    assert_eq!(bal.balance, 5_000_000_000u64);
    assert_eq!(bal.immature, 99 * 5_000_000_000u64);

    // Mined by generatetoaddress; the second spend is refused with -26 naming the rule.
    let mined: Vec<BlockHash> = node.cli_typed(&["generatetoaddress", "1", &addr]);
    let b: GetBlockVerbose = node.cli_typed(&["getblock", &mined[0].to_string()]);
    assert!(b.tx.contains(&tx.txid()), "{:?}", b.tx);
    assert!(node.cli_typed::<Vec<Txid>>(&["getrawmempool"]).is_empty());
    let txids: Vec<Txid> = node.cli_typed(&[
        "getaddresstxids",
        &json!({ "addresses": [other_addr] }).to_string(),
    ]);
    assert_eq!(txids, vec![tx.txid()]);
    let double = make_tx(48);
    let out = node.cli(&["sendrawtransaction", &hex::encode(serialize(&double))]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("error code: -25") || err.contains("error code: -26"),
        "{err}"
    );
    assert!(err.contains("bad-txns-inputs-missingorspent"), "{err}");
    let again = node.cli(&["sendrawtransaction", &tx_hex]);
    assert!(
        stderr(&again).contains("error code: -27"),
        "{}",
        stderr(&again)
    );

    // submitblock: a duplicate, then a block with a broken merkle root.
    let raw = node.cli_ok(&["getblock", &mined[0].to_string(), "0"]);
    assert_eq!(node.cli_ok(&["submitblock", &raw]), "duplicate");
    let mut bad: Block = deserialize(&hex::decode(&raw).unwrap()).unwrap();
    bad.txdata[0].inputs[0].witness.push(1);
    // A new header (so not a duplicate) that still meets the regtest target.
    bad.header.time += 1;
    dotcoin_functional_tests::grind(&mut bad.header, true);
    let res = node.cli_ok(&["submitblock", &hex::encode(serialize(&bad))]);
    assert!(res.contains("bad-txnmrklroot"), "{res}");

    let set: TxOutSetInfo = node.cli_typed(&["gettxoutsetinfo"]);
    assert_eq!(set.height, 102);
    assert_eq!(set.total_amount, Amount::from_dot(102 * 50 + 50));

    // Continuous mining on and off.
    node.cli_ok(&["setgenerate", "true", "1", &addr]);
    assert!(node.cli_typed::<bool>(&["getgenerate"]));
    wait_until("continuous mining to add a block", TIMEOUT, || {
        node.rpc_typed::<u32>("getblockcount", json!([])) > 102
    });
    node.cli_ok(&["setgenerate", "false"]);
    assert!(!node.cli_typed::<bool>(&["getgenerate"]));
}

#[test]
fn auth_errors_and_codes() {
    let node = TestNode::start(&[]);
    let body = r#"{"jsonrpc":"1.0","id":"x","method":"getblockcount","params":[]}"#;
    assert_eq!(node.http_post(body, None).0, 401, "no credentials");
    assert_eq!(
        node.http_post(body, Some("Basic X19jb29raWVfXzp3cm9uZw=="))
            .0,
        401,
        "wrong password"
    );
    let (status, text) = node.http_post(body, Some(&node.cookie_auth()));
    assert_eq!(status, 200);
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["result"], 0, "JSON-RPC 1.0 request answered");
    let (_, text) = node.http_post(
        r#"[{"jsonrpc":"2.0","id":1,"method":"getblockcount"},{"id":2,"method":"getbestblockhash"}]"#,
        Some(&node.cookie_auth()),
    );
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        v.as_array().map(Vec::len),
        Some(2),
        "batch answered: {text}"
    );

    let out = std::process::Command::new(bin("dotcoin-cli"))
        .args([
            "--regtest",
            "--rpcport",
            &node.rpc_port.to_string(),
            "--rpcuser",
            "u",
            "--rpcpassword",
            "bad",
        ])
        .arg("getblockcount")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("Authorization failed"),
        "{}",
        stderr(&out)
    );

    let out = node.cli(&["nosuchmethod"]);
    assert!(
        stderr(&out).contains("error code: -32601"),
        "{}",
        stderr(&out)
    );
    let out = node.cli(&["getblockhash", "1000"]);
    assert!(stderr(&out).contains("error code: -8"), "{}", stderr(&out));
    let out = node.cli(&["getblockhash", "\"abc\""]);
    assert!(
        stderr(&out).contains("error code: -3") && stderr(&out).contains("height"),
        "{}",
        stderr(&out)
    );
    let out = node.cli(&["getblock", "xyz"]);
    assert!(
        stderr(&out).contains("error code: -8") && stderr(&out).contains("blockhash"),
        "{}",
        stderr(&out)
    );
    let out = node.cli(&["generatetoaddress", "1", "dc1pnotanaddress"]);
    assert!(stderr(&out).contains("error code: -5"), "{}", stderr(&out));
    let out = node.cli(&["sendrawtransaction", "zz"]);
    assert!(stderr(&out).contains("error code: -22"), "{}", stderr(&out));
}

#[test]
fn restart_keeps_chain_and_shutdown_is_clean() {
    let mut node = TestNode::start(&[]);
    let (_, addr) = test_keypair();
    node.generate(5, &addr);
    let best = node.cli_ok(&["getbestblockhash"]);
    let cookie = node.datadir().join(".cookie");
    assert_eq!(node.stop(), 0, "stop exits 0");
    assert!(!cookie.exists(), "cookie removed by stop");
    node.restart();
    assert_eq!(
        node.cli_ok(&["getbestblockhash"]),
        best,
        "restart keeps the chain"
    );
    assert_eq!(node.terminate(), 0, "SIGTERM exits 0");
    assert!(!cookie.exists(), "cookie removed by SIGTERM");
}

#[test]
fn config_file_with_unknown_key_fails_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("dotcoin.toml"),
        "regtest = true\nrpcprot = 5\n",
    )
    .unwrap();
    let out = std::process::Command::new(bin("dotcoind"))
        .arg("--datadir")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("rpcprot"), "{}", stderr(&out));
}

#[test]
fn rpcuser_and_password_from_config() {
    let node = TestNode::start(&["--rpcuser", "alice", "--rpcpassword", "s3cret"]);
    assert!(
        !node.datadir().join(".cookie").exists(),
        "no cookie with rpcpassword"
    );
    let out = std::process::Command::new(bin("dotcoin-cli"))
        .args([
            "-regtest",
            &format!("-rpcport={}", node.rpc_port),
            "-rpcuser=alice",
            "-rpcpassword=s3cret",
            "getblockcount",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "0");
}

#[test]
fn network_methods_through_the_cli() {
    // Nodes that dial only what they are told to: otherwise A dials back the B it learnt
    // from B's version as soon as B drops the link (docs/rpc.md: splitting and joining nodes).
    let a = TestNode::start(&["--maxoutbound", "0"]);
    let b = TestNode::start(&["--maxoutbound", "0"]);
    let a_addr = format!("127.0.0.1:{}", a.p2p_port);
    b.cli_ok(&["addnode", &a_addr, "add"]);
    wait_until("b to connect to a", TIMEOUT, || {
        b.cli_ok(&["getconnectioncount"]) == "1"
    });
    let peers: Vec<PeerInfo> = b.cli_typed(&["getpeerinfo"]);
    assert_eq!(peers[0].addr, a_addr);
    assert!(!peers[0].inbound);
    let net: NetworkInfo = b.cli_typed(&["getnetworkinfo"]);
    assert_eq!(net.connections, 1);
    assert_eq!(net.connections_out, 1);
    wait_until("a to see b", TIMEOUT, || {
        a.cli_ok(&["getconnectioncount"]) == "1"
    });

    // Adding it twice is Bitcoin Core's -23.
    let out = b.cli(&["addnode", &a_addr, "add"]);
    assert!(stderr(&out).contains("error code: -23"), "{}", stderr(&out));
    b.cli_ok(&["addnode", &a_addr, "remove"]);
    b.cli_ok(&["disconnectnode", &a_addr]);
    wait_until("b to drop a", TIMEOUT, || {
        b.cli_ok(&["getconnectioncount"]) == "0"
    });

    a.cli_ok(&["setban", "127.0.0.2", "add", "600"]);
    let banned: Vec<BannedEntry> = a.cli_typed(&["listbanned"]);
    assert!(
        banned.iter().any(|b| b.address.contains("127.0.0.2")),
        "{banned:?}"
    );
    a.cli_ok(&["clearbanned"]);
    assert!(a.cli_typed::<Vec<BannedEntry>>(&["listbanned"]).is_empty());
}

#[test]
fn mining_again_after_invalidating_the_tip_makes_a_new_block() {
    let node = TestNode::start(&[]);
    let (_, addr) = test_keypair();
    // Within one second the template for the same parent, address and clock is the same,
    // so without a fresh extra-nonce the miner would find the invalidated block again and
    // `generatetoaddress` would fail on it as known-invalid.
    for round in 0..3 {
        let first = node.generate(1, &addr)[0].to_string();
        assert_eq!(node.cli_ok(&["invalidateblock", &first]), "");
        let again = node.generate(1, &addr);
        assert_eq!(again.len(), 1, "round {round}");
        assert_ne!(again[0].to_string(), first, "round {round}");
        assert_eq!(node.cli_ok(&["getbestblockhash"]), again[0].to_string());

        let block: Value = node.rpc_typed("generateblock", json!([addr, []]));
        let hash = block["hash"]
            .as_str()
            .expect("generateblock returns the hash")
            .to_owned();
        assert_eq!(node.cli_ok(&["invalidateblock", &hash]), "");
        let block: Value = node.rpc_typed("generateblock", json!([addr, []]));
        assert_ne!(block["hash"].as_str(), Some(hash.as_str()), "round {round}");
    }
}

#[test]
fn invalidate_reconsider_and_precious_through_the_cli() {
    let node = TestNode::start(&[]);
    let (_, addr) = test_keypair();
    let hashes = node.generate(5, &addr);
    let tip = hashes[4].to_string();
    let third = hashes[2].to_string();

    // Invalidating block 3 takes blocks 3..5 off the active chain.
    assert_eq!(node.cli_ok(&["invalidateblock", &third]), "");
    assert_eq!(node.cli_ok(&["getblockcount"]), "2");
    let tips: Vec<ChainTipInfo> = node.cli_typed(&["getchaintips"]);
    assert!(
        tips.iter()
            .any(|t| t.hash.to_string() == tip && t.status == ChainTipStatus::Invalid),
        "{tips:?}"
    );
    // Mining goes on from block 2, and a longer valid branch stays active after reconsider.
    node.generate(1, &addr);
    assert_eq!(node.cli_ok(&["getblockcount"]), "3");
    assert_eq!(node.cli_ok(&["reconsiderblock", &third]), "");
    assert_eq!(
        node.cli_ok(&["getbestblockhash"]),
        tip,
        "the heavier branch is back"
    );

    // The block mined meanwhile is now a valid fork; preciousblock leaves a tip with less
    // work than the active one alone, as Bitcoin Core does.
    let side: Vec<ChainTipInfo> = node.cli_typed(&["getchaintips"]);
    let fork = side
        .iter()
        .find(|t| t.status == ChainTipStatus::ValidFork)
        .expect("the block mined meanwhile is a valid fork");
    assert_eq!(fork.height, 3);
    assert_eq!(node.cli_ok(&["preciousblock", &fork.hash.to_string()]), "");
    assert_eq!(node.cli_ok(&["getbestblockhash"]), tip);

    // Bad input: unknown block -5, not a hash -8, missing parameter -1 (the wire's answer for
    // every declared required parameter, as Core's), genesis refused.
    let unknown = "ab".repeat(32);
    let out = node.cli(&["invalidateblock", &unknown]);
    assert!(stderr(&out).contains("error code: -5"), "{}", stderr(&out));
    let out = node.cli(&["reconsiderblock", "nothex"]);
    assert!(stderr(&out).contains("error code: -8"), "{}", stderr(&out));
    let out = node.cli(&["preciousblock"]);
    assert!(
        stderr(&out).contains("error code: -1") && stderr(&out).contains("blockhash"),
        "{}",
        stderr(&out)
    );
    let genesis = node.cli_ok(&["getblockhash", "0"]);
    let out = node.cli(&["invalidateblock", &genesis]);
    assert!(
        stderr(&out).contains("error code: -1") && stderr(&out).contains("genesis"),
        "{}",
        stderr(&out)
    );
    assert_eq!(node.cli_ok(&["getbestblockhash"]), tip);
}

#[test]
fn hostile_parameters_get_errors_and_the_node_keeps_running() {
    let mut node = TestNode::start(&[]);
    let (_, addr) = test_keypair();
    // A ban time beyond Core's int64 is refused (see also
    // absurd_counts_ban_times_and_thread_counts_get_cores_errors).
    let out = node.cli(&["setban", "127.0.0.9", "add", "18446744073709551615"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("JSON integer out of range"),
        "{}",
        stderr(&out)
    );
    let bans: Vec<BannedEntry> = node.cli_typed(&["listbanned"]);
    assert!(bans.is_empty());
    // A batch over the limit is refused whole, with JSON-RPC's "too big batch" error.
    let calls: Vec<serde_json::Value> = (0..1001)
        .map(|id| {
            serde_json::json!({"jsonrpc": "2.0", "id": id, "method": "getblockcount", "params": []})
        })
        .collect();
    let (_, body) = node.http_post(
        &serde_json::Value::Array(calls).to_string(),
        Some(&node.cookie_auth()),
    );
    let reply: serde_json::Value = serde_json::from_str(&body).expect("JSON reply");
    assert_eq!(reply["error"]["code"], -32010, "{reply}");
    // The largest block count Core takes (an int) once reserved gigabytes up front and
    // aborted the node. Now it mines while the node keeps answering, and `stop` ends it
    // cleanly.
    std::thread::scope(|scope| {
        let node = &node;
        let generate = scope.spawn(move || node.cli(&["generatetoaddress", "2147483647", &addr]));
        wait_until("blocks from the endless generatetoaddress", TIMEOUT, || {
            node.cli_ok(&["getblockcount"])
                .parse::<u64>()
                .is_ok_and(|h| h >= 20)
        });
        node.rpc("stop", serde_json::json!([]));
        generate.join().expect("cli thread");
    });
    assert_eq!(node.wait_exit(), 0, "a clean shutdown");
}

#[test]
fn testmempoolaccept_takes_at_most_cores_package_of_25() {
    let node = TestNode::start(&[]);
    // Decoding fails for these, but the count is refused before any of them is read.
    let too_many: Vec<String> = vec!["00".repeat(10); 26];
    let err = node
        .try_rpc("testmempoolaccept", json!([too_many]))
        .expect_err("26 is over the package limit");
    assert_eq!(err.code, -8, "{err:?}");
    assert_eq!(
        err.message,
        "Array must contain between 1 and 25 transactions."
    );
    let err = node
        .try_rpc("testmempoolaccept", json!([[]]))
        .expect_err("an empty list is refused too");
    assert_eq!(err.code, -8, "{err:?}");
}

#[test]
fn absurd_counts_ban_times_and_thread_counts_get_cores_errors() {
    let node = TestNode::start(&[]);
    let (_, addr) = test_keypair();
    // Core reads nblocks and maxtries as int: beyond it, "JSON integer out of range" (-1)
    // instead of mining for hours.
    for params in [
        json!([4_294_967_295u64, addr]),
        json!([1, addr, 4_294_967_295u64]),
    ] {
        let err = node
            .try_rpc("generatetoaddress", params)
            .expect_err("out of int range");
        assert_eq!(
            (err.code, err.message.as_str()),
            (-1, "JSON integer out of range")
        );
    }
    assert_eq!(
        node.rpc_typed::<u32>("getblockcount", json!([])),
        0,
        "nothing mined"
    );
    // bantime is an int64 in Core: u64::MAX is out of range, not a ban until the year 584e9.
    let err = node
        .try_rpc(
            "setban",
            json!(["10.1.2.3", "add", 18_446_744_073_709_551_615u64]),
        )
        .expect_err("out of int64 range");
    assert_eq!(
        (err.code, err.message.as_str()),
        (-1, "JSON integer out of range")
    );
    let err = node
        .try_rpc("setban", json!(["10.1.2.3", "add", -5]))
        .expect_err("negative");
    assert_eq!(err.code, -8, "{err:?}");
    assert_eq!(
        node.rpc("listbanned", json!([])),
        json!([]),
        "no ban was made"
    );
    // The largest relative ban still ends at a time Core could print.
    node.rpc("setban", json!(["10.1.2.3", "add", i64::MAX]));
    let banned = node.rpc("listbanned", json!([]));
    assert_eq!(banned[0]["banned_until"], json!(i64::MAX), "{banned}");
    // More mining threads than cores is refused, naming the limit.
    let err = node
        .try_rpc("setgenerate", json!([true, 100_000, addr]))
        .expect_err("over the core count");
    assert_eq!(err.code, -8, "{err:?}");
    assert!(err.message.contains("cores"), "{err:?}");
    assert!(!node.rpc_typed::<bool>("getgenerate", json!([])));
}

#[test]
fn rpcauth_users_log_in_with_a_password_the_node_never_stores() {
    use std::process::Command;
    let script = dotcoin_functional_tests::workspace_root().join("contrib/rpcauth.py");
    let out = Command::new("python3")
        .arg(&script)
        .args(["alice", "open sesame"])
        .output()
        .expect("run contrib/rpcauth.py");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let entry = text
        .lines()
        .find_map(|l| l.strip_prefix("rpcauth="))
        .expect("an rpcauth line");
    let node = TestNode::start(&["--rpcauth", entry]);
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"getblockcount"}"#;
    let basic = |credentials: &str| {
        use base64::Engine;
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(credentials)
        )
    };
    let (status, reply) = node.http_post(body, Some(&basic("alice:open sesame")));
    assert_eq!(status, 200, "{reply}");
    assert!(reply.contains(r#""result":0"#), "{reply}");
    for wrong in ["alice:open sesamE", "bob:open sesame", "alice:"] {
        assert_eq!(node.http_post(body, Some(&basic(wrong))).0, 401, "{wrong}");
    }
    // The cookie still works beside it, and the password is nowhere in the datadir.
    assert_eq!(node.http_post(body, Some(&node.cookie_auth())).0, 200);
    for f in dotcoin_functional_tests::files_under(node.dir.path()) {
        let bytes = std::fs::read(&f).expect("read");
        assert!(
            !bytes.windows(11).any(|w| w == b"open sesame"),
            "{} holds the password",
            f.display()
        );
    }
    // A malformed entry stops the node at start with a clear message.
    let out = Command::new(dotcoin_functional_tests::bin("dotcoind"))
        .args(["--regtest", "--rpcauth", "alice:nohash"])
        .arg("--datadir")
        .arg(node.dir.path().join("other"))
        .output()
        .expect("run dotcoind");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("rpcauth"), "{err}");
}

/// A listener on `port` standing in for whatever program took a dead one's port: it
/// records every byte clients send it and answers `401`, until dropped.
struct PortSquatter {
    received: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl PortSquatter {
    fn bind(port: u16) -> PortSquatter {
        use std::io::{Read, Write};
        use std::sync::atomic::Ordering;
        let listener = std::net::TcpListener::bind(("127.0.0.1", port))
            .expect("the dead program's port is free again");
        listener.set_nonblocking(true).expect("nonblocking");
        let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (r, s) = (received.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((mut conn, _)) => {
                        let _ = conn.set_nonblocking(false);
                        let _ = conn.set_read_timeout(Some(std::time::Duration::from_secs(2)));
                        let mut buf = [0u8; 65536];
                        if let Ok(n) = conn.read(&mut buf) {
                            r.lock().expect("lock").extend_from_slice(&buf[..n]);
                        }
                        let _ = conn.write_all(
                            b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                        );
                    }
                    Err(_) => std::thread::sleep(std::time::Duration::from_millis(20)),
                }
            }
        });
        PortSquatter {
            received,
            stop,
            thread: Some(thread),
        }
    }

    /// Everything received so far, as text.
    fn received(&self) -> String {
        String::from_utf8_lossy(&self.received.lock().expect("lock")).into_owned()
    }
}

impl Drop for PortSquatter {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[test]
fn a_stale_cookie_is_refused_before_any_credentials_are_sent() {
    use std::process::{Command, Stdio};
    let mut node = TestNode::start(&[]);
    let datadir = node.datadir();
    let pid = node.pid();
    let cookie = datadir.join(".cookie");
    let pid_file = datadir.join("dotcoind.pid");
    // The pid sits beside the cookie, which keeps Core's format for third-party clients.
    assert_eq!(
        std::fs::read_to_string(&pid_file)
            .expect("dotcoind.pid")
            .trim(),
        pid.to_string()
    );
    let content = std::fs::read_to_string(&cookie).expect("cookie");
    assert!(content.starts_with("__cookie__:"), "{content}");
    for f in [&cookie, &pid_file] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(f).expect("metadata").permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{}", f.display());
    }

    // SIGKILL leaves both files; another program takes the port.
    node.kill();
    assert!(cookie.exists() && pid_file.exists());
    let squatter = PortSquatter::bind(node.rpc_port);
    let stale = format!(
        "dotcoind is not running (stale cookie file {} written by pid {pid})",
        cookie.display()
    );
    let out = node.cli(&["getblockcount"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains(&stale), "{}", stderr(&out));
    // The wallet's node client reads the same cookie (its datadir is the node's here).
    let wallet = |args: &[&str]| {
        Command::new(dotcoin_functional_tests::bin("dotcoin-wallet"))
            .arg("--regtest")
            .arg("--datadir")
            .arg(node.dir.path())
            .args(["--rpcport", &node.rpc_port.to_string()])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run dotcoin-wallet")
    };
    let created = wallet(&["create"]);
    assert!(created.status.success(), "{}", stderr(&created));
    let out = wallet(&["getbalance"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains(&stale), "{}", stderr(&out));
    let seen = squatter.received();
    assert!(
        !seen.to_ascii_lowercase().contains("authorization"),
        "credentials went to the squatter: {seen}"
    );
    drop(squatter);

    // A restarted node writes both anew and is reached as before; a clean stop removes them.
    node.restart();
    assert_eq!(node.cli_ok(&["getblockcount"]), "0");
    node.stop();
    assert!(!cookie.exists() && !pid_file.exists());
}

#[test]
fn a_stale_wallet_service_cookie_is_refused_before_any_credentials_are_sent() {
    let node = TestNode::start(&[]);
    let mut service = dotcoin_functional_tests::WalletServiceProcess::start(&node, &[]);
    let dir = service.datadir.join("regtest");
    let ports: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("wallet-service.ports")).expect("ports file"),
    )
    .expect("JSON");
    let pid = ports["pid"]
        .as_u64()
        .expect("the ports file names the process");
    let port = service.port;
    service.kill();
    let cookie = service.cookie_file();
    assert!(cookie.exists(), "SIGKILL leaves the cookie");
    let squatter = PortSquatter::bind(port);
    let out = std::process::Command::new(dotcoin_functional_tests::bin("dotcoin-cli"))
        .arg("-regtest")
        .arg(format!("-datadir={}", service.datadir.display()))
        .arg(format!("-rpcport={}", node.rpc_port))
        .arg(format!("-walletport={port}"))
        .arg("-rpcwallet=default")
        .arg("getbalance")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run dotcoin-cli");
    assert!(!out.status.success());
    let want = format!(
        "dotcoin-wallet is not running (stale cookie file {} written by pid {pid})",
        cookie.display()
    );
    assert!(stderr(&out).contains(&want), "{}", stderr(&out));
    let seen = squatter.received();
    assert!(
        !seen.to_ascii_lowercase().contains("authorization"),
        "credentials went to the squatter: {seen}"
    );
}

#[test]
fn stop_ends_long_running_calls_and_the_process_promptly() {
    let mut node = TestNode::start(&[]);
    let (_, addr) = test_keypair();
    let pid = node.pid();
    let stopped_at = std::thread::scope(|scope| {
        let n = &node;
        // The largest count Core takes, and a wait for a height that never comes.
        let generate = scope.spawn(move || n.try_rpc("generatetoaddress", json!([i32::MAX, addr])));
        let wait = scope.spawn(move || n.try_rpc("waitforblockheight", json!([i32::MAX, 0])));
        wait_until("blocks from the endless generatetoaddress", TIMEOUT, || {
            n.rpc_typed::<u64>("getblockcount", json!([])) >= 5
        });
        let at = std::time::Instant::now();
        assert_eq!(n.rpc("stop", json!([])), json!("dotcoind stopping"));
        // Both calls end (with an answer or a closed connection), not hang.
        let _ = generate.join().expect("generate thread");
        let _ = wait.join().expect("wait thread");
        at
    });
    // A correctness bound, not a benchmark: a call that ignored `stop` would hold the
    // process for as long as it runs (hours here).
    let bound = std::time::Duration::from_secs(10);
    wait_until(
        "dotcoind to exit after stop",
        bound.saturating_sub(stopped_at.elapsed()),
        || !node.is_running(),
    );
    assert_eq!(node.wait_exit(), 0, "a clean shutdown");
    assert!(!std::path::Path::new(&format!("/proc/{pid}/comm")).exists());
}

#[test]
fn absurd_heights_targets_and_windows_get_cores_errors() {
    let node = TestNode::start(&[]);
    let (_, addr) = test_keypair();
    node.generate(3, &addr);
    let refused = |method: &str, params: Value| -> (i64, String) {
        let err = node
            .try_rpc(method, params.clone())
            .expect_err(&format!("{method} {params} is refused"));
        (err.code, err.message)
    };
    // Every height off the chain, negative or far past the tip, is the same -8.
    for h in [
        json!(-1),
        json!(4),
        json!(4_294_967_296u64),
        json!(i64::MAX),
    ] {
        assert_eq!(
            refused("getblockhash", json!([h])),
            (-8, "Block height out of range".to_owned())
        );
    }
    let (code, message) = refused("getblockstats", json!([1_000_000]));
    assert_eq!(code, -8);
    assert!(message.contains("after current tip"), "{message}");
    for target in [0, 1009, 4_000_000_000u32] {
        let (code, message) = refused("estimatesmartfee", json!([target]));
        assert_eq!(code, -8, "{message}");
        assert!(
            message.starts_with("Invalid conf_target, must be between 1 and 1008"),
            "{message}"
        );
    }
    for n in [-1i64, 3, 1_000_000] {
        let (code, message) = refused("getchaintxstats", json!([n]));
        assert_eq!(code, -8, "{message}");
        assert!(message.starts_with("Invalid block count"), "{message}");
    }
    let (code, _) = refused("getnodeaddresses", json!([-1]));
    assert_eq!(code, -8);
    // getnetworkhashps takes Core's whole range: -1 and 0 are "since the last difficulty
    // change", more blocks than the chain has is the whole chain, a height past the tip
    // is the tip.
    for params in [
        json!([-1]),
        json!([0]),
        json!([i32::MAX]),
        json!([120, 1_000_000]),
    ] {
        let rate = node.rpc("getnetworkhashps", params.clone());
        assert!(rate.as_f64().is_some_and(|r| r >= 0.0), "{params}: {rate}");
    }
    assert_eq!(node.rpc_typed::<u64>("getblockcount", json!([])), 3);
}

#[test]
fn a_chosen_miner_kernel_mines_and_is_reported() {
    let node = TestNode::start(&["--minerkernel", "portable"]);
    let (_, addr) = test_keypair();
    let hashes: Vec<BlockHash> = node.cli_typed(&["generatetoaddress", "3", &addr]);
    assert_eq!(hashes.len(), 3);
    let mi: MiningInfo = node.cli_typed(&["getmininginfo"]);
    assert_eq!(
        (mi.kernel.as_str(), mi.kernel_reason.as_str()),
        ("portable", "set by --minerkernel")
    );
}
