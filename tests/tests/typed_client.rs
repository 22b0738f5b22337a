//! The typed client (`dotcoin_rpc_client`) against the real node and wallet service: every
//! method of its tables is called with real data and must decode what the server answers,
//! so a result type that drifts from what a server sends fails here. The test records the
//! RPC names it called and holds them equal to the client's tables, so a method added to
//! the client without a call here fails too.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use dotcoin_common::{encode, Amount, Network, PubKey, TxOut};
use dotcoin_functional_tests::{
    coinbase_at, signed_spend, test_keypair, TestNode, WalletServiceProcess, TIMEOUT,
};
use dotcoin_rpc_client::methods::{NODE_METHODS, WALLET_SERVICE_METHODS};
use dotcoin_rpc_client::{ConnectOptions, RpcClient, RpcError};

/// `call` succeeds, else the test fails naming `rpc` and the error.
async fn ok<T>(
    called: &mut BTreeSet<&'static str>,
    rpc: &'static str,
    call: impl std::future::Future<Output = Result<T, RpcError>>,
) -> T {
    called.insert(rpc);
    call.await.unwrap_or_else(|e| panic!("{rpc}: {e}"))
}

/// `call` fails with `code`: for calls whose success needs a peer this test does not run.
async fn refused<T: std::fmt::Debug>(
    called: &mut BTreeSet<&'static str>,
    rpc: &'static str,
    code: i64,
    call: impl std::future::Future<Output = Result<T, RpcError>>,
) {
    called.insert(rpc);
    match call.await {
        Err(RpcError::Rpc { code: c, .. }) if c == code => {}
        other => panic!("{rpc}: expected error {code}, got {other:?}"),
    }
}

/// Polls `cond` until it holds, failing after the suite's timeout.
async fn eventually<F: std::future::Future<Output = bool>>(
    what: &str,
    mut cond: impl FnMut() -> F,
) {
    let start = std::time::Instant::now();
    while !cond().await {
        assert!(start.elapsed() < TIMEOUT, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[test]
fn every_typed_method_decodes_what_the_servers_answer() {
    let node = TestNode::start(&[]);
    let service = WalletServiceProcess::start(&node, &[]);
    let mut opts = ConnectOptions::new(Network::Regtest);
    opts.datadir = Some(node.dir.path().to_path_buf());
    opts.rpcport = Some(node.rpc_port);
    let n = RpcClient::new(&opts).expect("node client");
    let mut wopts = opts.for_wallet_service(Some(service.port), None);
    wopts.cookie_file = Some(service.cookie_file());
    let w = RpcClient::new(&wopts).expect("wallet client");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (node_called, wallet_called) = runtime.block_on(async {
        let mut c = BTreeSet::new();
        let (kp, addr) = test_keypair();

        // The node before any block.
        ok(&mut c, "getinfo", n.getinfo()).await;
        ok(&mut c, "uptime", n.uptime()).await;
        ok(&mut c, "getblockchaininfo", n.getblockchaininfo()).await;
        assert_eq!(ok(&mut c, "getblockcount", n.getblockcount()).await, 0);
        ok(&mut c, "getdifficulty", n.getdifficulty()).await;
        ok(&mut c, "getchaintips", n.getchaintips()).await;
        ok(&mut c, "getmininginfo", n.getmininginfo()).await;
        ok(&mut c, "getnetworkhashps", n.getnetworkhashps()).await;
        assert!(!ok(&mut c, "getgenerate", n.getgenerate()).await);
        ok(&mut c, "getpeerinfo", n.getpeerinfo()).await;
        ok(&mut c, "getconnectioncount", n.getconnectioncount()).await;
        ok(&mut c, "getnetworkinfo", n.getnetworkinfo()).await;
        ok(&mut c, "getnettotals", n.getnettotals()).await;
        ok(&mut c, "getzmqnotifications", n.getzmqnotifications()).await;
        ok(&mut c, "getmempoolinfo", n.getmempoolinfo()).await;
        ok(&mut c, "getrpcinfo", n.getrpcinfo()).await;
        ok(&mut c, "getmemoryinfo", n.getmemoryinfo()).await;
        ok(&mut c, "logging", n.logging(&["rpc"], &[])).await;
        ok(&mut c, "logging", n.logging(&[], &["rpc"])).await;
        ok(&mut c, "getindexinfo", n.getindexinfo()).await;
        ok(&mut c, "getdeploymentinfo", n.getdeploymentinfo()).await;
        ok(&mut c, "plugin", n.plugin("list", None)).await;
        let help = ok(&mut c, "help", n.help(None)).await;
        assert!(help.contains("getblockchaininfo"), "{help}");
        ok(&mut c, "help", n.help(Some("getblock"))).await;
        let echoed = ok(&mut c, "echo", n.echo(&[serde_json::json!(1), "a".into()])).await;
        assert_eq!(echoed, [serde_json::json!(1), "a".into()]);
        let valid = ok(&mut c, "validateaddress", n.validateaddress(&addr)).await;
        assert!(valid.isvalid);

        // A chain: 101 blocks to the test key, the first reward mature.
        let hashes = ok(&mut c, "generatetoaddress", n.generatetoaddress(101, &addr)).await;
        let tip = *hashes.last().expect("blocks");
        assert_eq!(
            ok(&mut c, "getbestblockhash", n.getbestblockhash()).await,
            tip
        );
        let first = ok(&mut c, "getblockhash", n.getblockhash(1)).await;
        assert_eq!(first, hashes[0]);
        let raw = ok(&mut c, "getblock", n.getblock_hex(&tip)).await;
        assert_eq!(
            ok(&mut c, "getblock", n.getblock(&tip)).await.header.hash,
            tip
        );
        ok(&mut c, "getblock", n.getblock_with_txs(&tip)).await;
        ok(&mut c, "getblockheader", n.getblockheader(&tip)).await;
        ok(&mut c, "getblockstats", n.getblockstats(&tip)).await;
        ok(&mut c, "gettxoutsetinfo", n.gettxoutsetinfo()).await;
        assert!(ok(&mut c, "verifychain", n.verifychain(3, 5)).await);
        ok(&mut c, "getchaintxstats", n.getchaintxstats(Some(10))).await;
        ok(&mut c, "estimatesmartfee", n.estimatesmartfee(2)).await;
        assert_eq!(
            ok(&mut c, "waitfornewblock", n.waitfornewblock(1))
                .await
                .hash,
            tip
        );
        assert_eq!(
            ok(&mut c, "waitforblock", n.waitforblock(&tip, 1))
                .await
                .hash,
            tip
        );
        let at = ok(&mut c, "waitforblockheight", n.waitforblockheight(101, 1)).await;
        assert_eq!(at.height, 101);
        ok(&mut c, "getblocktemplate", n.getblocktemplate()).await;
        // The tip again: Core's "duplicate".
        let again = ok(&mut c, "submitblock", n.submitblock(&raw)).await;
        assert_eq!(again.as_deref(), Some("duplicate"));

        // A payment from the first reward, through the pool.
        let prev = coinbase_at(&node, 1);
        let fee = Amount::from_sat(10_000);
        let pay = TxOut {
            value: Amount::from_sat(prev.1.value.to_sat() - fee.to_sat()),
            pubkey: PubKey([7; 32]),
        };
        let tx = signed_spend(&kp, prev, vec![pay]);
        let hex = hex::encode(encode::serialize(&tx));
        let accepted = ok(
            &mut c,
            "testmempoolaccept",
            n.testmempoolaccept(std::slice::from_ref(&hex)),
        )
        .await;
        assert!(accepted[0].allowed, "{accepted:?}");
        ok(&mut c, "decoderawtransaction", n.decoderawtransaction(&hex)).await;
        let txid = ok(&mut c, "sendrawtransaction", n.sendrawtransaction(&hex)).await;
        assert_eq!(ok(&mut c, "getrawmempool", n.getrawmempool()).await, [txid]);
        ok(&mut c, "getrawmempool", n.getrawmempool_verbose()).await;
        ok(&mut c, "getmempoolentry", n.getmempoolentry(&txid)).await;
        ok(&mut c, "getmempoolancestors", n.getmempoolancestors(&txid)).await;
        ok(
            &mut c,
            "getmempooldescendants",
            n.getmempooldescendants(&txid),
        )
        .await;
        ok(&mut c, "getrawtransaction", n.getrawtransaction(&txid)).await;
        ok(&mut c, "getrawtransaction", n.getrawtransaction_hex(&txid)).await;
        // First-seen records: the block mined here and the transaction sent here are
        // "local"; the records follow the event stream, so the transaction's may take a
        // moment.
        let seen = ok(&mut c, "getblockpropagation", n.getblockpropagation(&tip)).await;
        assert_eq!(seen["source"], "local", "{seen}");
        assert!(
            !ok(&mut c, "listblockpropagation", n.listblockpropagation())
                .await
                .is_empty()
        );
        let mut tx_seen = None;
        for _ in 0..300 {
            if let Ok(v) = n.gettxpropagation(&txid).await {
                tx_seen = Some(v);
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        c.insert("gettxpropagation");
        let tx_seen = tx_seen.expect("the sent transaction's record within 30 s");
        assert!(tx_seen["accepted_ms"].as_u64().is_some(), "{tx_seen}");
        assert!(ok(&mut c, "gettxout", n.gettxout(&txid, 0, true))
            .await
            .is_some());
        let unsigned = ok(
            &mut c,
            "createrawtransaction",
            n.createrawtransaction(&[(txid, 0)], &[(addr.clone(), Amount::from_sat(1_000))]),
        )
        .await;
        assert!(!unsigned.is_empty());
        ok(&mut c, "converttopsbt", n.converttopsbt(&unsigned)).await;
        ok(
            &mut c,
            "getaddressutxos",
            n.getaddressutxos(std::slice::from_ref(&addr)),
        )
        .await;
        ok(
            &mut c,
            "getaddressbalance",
            n.getaddressbalance(std::slice::from_ref(&addr)),
        )
        .await;
        ok(
            &mut c,
            "getaddresstxids",
            n.getaddresstxids(std::slice::from_ref(&addr)),
        )
        .await;
        let scan = ok(
            &mut c,
            "scantxoutset",
            n.scantxoutset(&[format!("addr({addr})")]),
        )
        .await;
        assert!(scan.is_some());
        let generated = ok(
            &mut c,
            "generateblock",
            n.generateblock(&addr, &[txid.to_string()]),
        )
        .await;
        let block = ok(&mut c, "getblock", n.getblock(&generated.hash)).await;
        assert!(block.tx.contains(&txid));

        // Marks on the chain, and back.
        ok(
            &mut c,
            "invalidateblock",
            n.invalidateblock(&generated.hash),
        )
        .await;
        ok(
            &mut c,
            "reconsiderblock",
            n.reconsiderblock(&generated.hash),
        )
        .await;
        ok(&mut c, "preciousblock", n.preciousblock(&generated.hash)).await;

        // Peers and bans (no peer runs, so disconnecting one is refused).
        ok(&mut c, "addnode", n.addnode("127.0.0.1:1", "add")).await;
        ok(&mut c, "getaddednodeinfo", n.getaddednodeinfo()).await;
        ok(&mut c, "addnode", n.addnode("127.0.0.1:1", "remove")).await;
        refused(
            &mut c,
            "disconnectnode",
            -29,
            n.disconnectnode("127.0.0.1:1"),
        )
        .await;
        ok(&mut c, "getnodeaddresses", n.getnodeaddresses(10)).await;
        ok(&mut c, "setban", n.setban("10.0.0.1", "add", 60)).await;
        assert_eq!(ok(&mut c, "listbanned", n.listbanned()).await.len(), 1);
        ok(&mut c, "clearbanned", n.clearbanned()).await;
        ok(&mut c, "ping", n.ping()).await;
        assert!(ok(&mut c, "setnetworkactive", n.setnetworkactive(true)).await);
        ok(&mut c, "setgenerate", n.setgenerate(false, 1, &addr)).await;

        // The wallet service.
        let mut wc = BTreeSet::new();
        ok(&mut wc, "help", w.wallet_help(None)).await;
        assert_eq!(ok(&mut wc, "listwallets", w.listwallets()).await.len(), 1);
        let mine = ok(&mut wc, "getnewaddress", w.getnewaddress(Some("typed"))).await;
        let change = ok(&mut wc, "getrawchangeaddress", w.getrawchangeaddress()).await;
        ok(&mut c, "generatetoaddress", n.generatetoaddress(101, &mine)).await;
        eventually("the wallet to see its reward", || async {
            w.getbalance().await.is_ok_and(|b| b > Amount::ZERO)
        })
        .await;
        ok(&mut wc, "getbalance", w.getbalance()).await;
        ok(&mut wc, "getbalances", w.getbalances()).await;
        ok(&mut wc, "getwalletinfo", w.getwalletinfo()).await;
        assert!(!ok(&mut wc, "listunspent", w.listunspent()).await.is_empty());
        let paid = ok(
            &mut wc,
            "sendtoaddress",
            w.sendtoaddress(&change, Amount::from_sat(100_000_000)),
        )
        .await;
        let many = BTreeMap::from([(change.clone(), Amount::from_sat(50_000_000))]);
        ok(&mut wc, "sendmany", w.sendmany(&many)).await;
        // The PSBT round: funded by the wallet, read and checked by the node, signed by the
        // wallet, finalized by the node.
        let funded = ok(
            &mut wc,
            "walletcreatefundedpsbt",
            w.walletcreatefundedpsbt(
                &serde_json::json!([{ change.clone(): 0.25 }]),
                &serde_json::json!({}),
            ),
        )
        .await;
        ok(&mut c, "decodepsbt", n.decodepsbt(&funded.psbt)).await;
        ok(&mut c, "analyzepsbt", n.analyzepsbt(&funded.psbt)).await;
        let updated = ok(&mut c, "utxoupdatepsbt", n.utxoupdatepsbt(&funded.psbt)).await;
        let combined = ok(
            &mut c,
            "combinepsbt",
            n.combinepsbt(&[funded.psbt.clone(), updated]),
        )
        .await;
        // Descriptors: BIP386's x-only key as Core's rawtr(), with its checksum.
        let info = ok(
            &mut wc,
            "getdescriptorinfo",
            w.getdescriptorinfo(
                "rawtr(a34b99f22c790c4e36b2b3c2c35a36db06226e41c692fc82b8b56ac1c540c5bd)",
            ),
        )
        .await;
        assert!(!info.isrange && info.descriptor.ends_with(&info.checksum));
        let derived = ok(
            &mut wc,
            "deriveaddresses",
            w.deriveaddresses(&info.descriptor, None),
        )
        .await;
        assert_eq!(derived.len(), 1);
        let signed = ok(&mut wc, "walletprocesspsbt", w.walletprocesspsbt(&combined)).await;
        assert!(signed.complete, "{signed:?}");
        let done = ok(&mut c, "finalizepsbt", n.finalizepsbt(&signed.psbt)).await;
        assert!(done.complete && done.hex.is_some(), "{done:?}");
        let dotcoin_common::wallet_rpc_types::SendResult::Txid(paid) = paid else {
            panic!("sendtoaddress without verbose answers a txid: {paid:?}");
        };
        ok(&mut wc, "gettransaction", w.gettransaction(&paid)).await;
        assert!(!ok(&mut wc, "listtransactions", w.listtransactions(10, 0))
            .await
            .is_empty());
        ok(&mut wc, "getaddressinfo", w.getaddressinfo(&mine)).await;
        ok(&mut wc, "listaddressgroupings", w.listaddressgroupings()).await;
        // The payments confirm, so their change is a coin to sign for.
        ok(&mut c, "generatetoaddress", n.generatetoaddress(1, &addr)).await;
        eventually("the wallet to see its change confirmed", || async {
            w.listunspent().await.is_ok_and(|u| !u.is_empty())
        })
        .await;
        let spendable = ok(&mut wc, "listunspent", w.listunspent()).await;
        let coin = spendable.first().expect("a coin");
        let since = ok(&mut wc, "listsinceblock", w.listsinceblock(None, 1)).await;
        // `paid` went to a change address: Core lists no entry for it; the rewards do.
        assert!(!since.transactions.is_empty() && since.removed.is_empty());
        let out = dotcoin_common::wallet_rpc_types::LockedOutput {
            txid: coin.txid,
            vout: coin.vout,
        };
        assert!(ok(&mut wc, "lockunspent", w.lockunspent(false, &[out], false)).await);
        assert_eq!(
            ok(&mut wc, "listlockunspent", w.listlockunspent()).await,
            vec![out]
        );
        assert!(ok(&mut wc, "lockunspent", w.lockunspent(true, &[out], false)).await);
        refused(
            &mut wc,
            "abandontransaction",
            -5,
            w.abandontransaction(&paid),
        )
        .await;
        let to_sign = ok(
            &mut c,
            "createrawtransaction",
            n.createrawtransaction(
                &[(coin.txid, coin.vout)],
                &[(addr.clone(), Amount::from_sat(1_000))],
            ),
        )
        .await;
        let signed = ok(
            &mut wc,
            "signrawtransactionwithwallet",
            w.signrawtransactionwithwallet(&to_sign),
        )
        .await;
        assert!(signed.complete, "{signed:?}");
        // The spending calls: fund what the node made, send, bump it both ways, and a
        // sendall kept out of the mempool.
        let unfunded = ok(
            &mut c,
            "createrawtransaction",
            n.createrawtransaction(&[], &[(addr.clone(), Amount::from_sat(1_000_000))]),
        )
        .await;
        let funded = ok(
            &mut wc,
            "fundrawtransaction",
            w.fundrawtransaction(&unfunded, &serde_json::json!({})),
        )
        .await;
        assert!(
            funded.fee > Amount::ZERO && funded.changepos == 1,
            "{funded:?}"
        );
        let sent = ok(
            &mut wc,
            "send",
            w.send(
                &serde_json::json!([{ addr.clone(): 0.1 }]),
                &serde_json::json!({"fee_rate": 1}),
            ),
        )
        .await;
        let sent = sent.txid.expect("send answers the txid");
        let as_psbt = ok(
            &mut wc,
            "psbtbumpfee",
            w.psbtbumpfee(&sent, &serde_json::json!({})),
        )
        .await;
        assert!(as_psbt.psbt.is_some() && as_psbt.fee > as_psbt.origfee);
        let bumped = ok(&mut wc, "bumpfee", w.bumpfee(&sent, &serde_json::json!({}))).await;
        assert!(
            bumped.txid.is_some() && bumped.errors.is_empty(),
            "{bumped:?}"
        );
        let all = ok(
            &mut wc,
            "sendall",
            w.sendall(
                &serde_json::json!([addr.clone()]),
                &serde_json::json!({"add_to_wallet": false}),
            ),
        )
        .await;
        assert!(
            all.complete && all.hex.is_some() && all.psbt.is_some(),
            "{all:?}"
        );
        let key = ok(&mut wc, "dumpprivkey", w.dumpprivkey(&mine)).await;
        ok(
            &mut wc,
            "importprivkey",
            w.importprivkey(&key, Some("again")),
        )
        .await;
        let backup = service.datadir.join("backup.dat");
        ok(
            &mut wc,
            "backupwallet",
            w.backupwallet(&backup.to_string_lossy()),
        )
        .await;
        let listed = ok(&mut wc, "listdescriptors", w.listdescriptors(false)).await;
        assert_eq!(listed.descriptors.len(), 2, "{listed:?}");
        assert!(listed
            .descriptors
            .iter()
            .all(|d| d.desc.starts_with("tr([")));
        // A public descriptor into a wallet holding keys: answered per request.
        let public = serde_json::json!([{"desc": listed.descriptors[0].desc, "timestamp": "now"}]);
        let imported = ok(&mut wc, "importdescriptors", w.importdescriptors(&public)).await;
        assert!(!imported[0].success, "{imported:?}");
        assert_eq!(imported[0].error.as_ref().map(|e| e.code), Some(-4));
        refused(&mut wc, "migratewallet", -4, w.migratewallet(None, None)).await;
        ok(&mut wc, "createwallet", w.createwallet("second", None)).await;
        ok(&mut wc, "unloadwallet", w.unloadwallet(Some("second"))).await;
        ok(&mut wc, "loadwallet", w.loadwallet("second")).await;
        ok(&mut wc, "unloadwallet", w.unloadwallet(Some("second"))).await;
        ok(&mut wc, "encryptwallet", w.encryptwallet("secret one")).await;
        ok(
            &mut wc,
            "walletpassphrase",
            w.walletpassphrase("secret one", 60),
        )
        .await;
        ok(
            &mut wc,
            "walletpassphrasechange",
            w.walletpassphrasechange("secret one", "secret two"),
        )
        .await;
        ok(&mut wc, "walletlock", w.walletlock()).await;
        ok(&mut wc, "stop", w.wallet_stop()).await;
        ok(&mut c, "stop", n.stop()).await;
        (c, wc)
    });
    let node_methods: BTreeSet<&str> = NODE_METHODS.iter().copied().collect();
    assert_eq!(
        node_called, node_methods,
        "node calls made vs the typed client's"
    );
    let wallet_methods: BTreeSet<&str> = WALLET_SERVICE_METHODS.iter().copied().collect();
    assert_eq!(
        wallet_called, wallet_methods,
        "wallet calls made vs the typed client's"
    );
}
