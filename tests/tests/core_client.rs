//! A strictly typed Bitcoin Core client from the registry, the Rust `bitcoincore-rpc`
//! crate, against a regtest `dotcoind` and `dotcoin-wallet serve`: every method of its
//! `RpcApi` that dotcoin serves is called through the crate and must decode into the
//! crate's own result types, which follow Core's documented results field for field.
//!
//! Two things a Bitcoin client cannot read are dotcoin's own by design, and only those
//! methods leave the typed path ([`UNTYPED`] lists each with its reason):
//! - addresses carry dotcoin's prefix (`dcrt1p…`), which the crate's `bitcoin::Address`
//!   refuses. Those results are fetched as JSON, must fail to decode as they are, and must
//!   decode strictly once each dotcoin address is swapped for the Bitcoin address of the
//!   same witness program ([`decodes_but_for_addresses`]): so the address is the only
//!   field in the way;
//! - raw transactions and blocks are dotcoin's own encoding (a 32-byte key per output, no
//!   scripts), so their hex does not parse as Bitcoin's; it is read as a string and
//!   decoded with dotcoin's own types instead. Headers share Bitcoin's 80-byte layout and
//!   are decoded by the crate.
//!
//! The chain is made non-trivial first: 101 blocks mined to a wallet address, a second
//! node connected, a wallet payment, a transaction built with `createrawtransaction` and
//! signed by the wallet and a child spending it, all mined, and one more payment left in
//! the mempool.

use std::collections::HashMap;

use bitcoincore_rpc::bitcoin::{self, Amount};
use bitcoincore_rpc::json::{self as core, StringOrStringArray};
use bitcoincore_rpc::{Auth, Client, RpcApi};
use dotcoin_common::rpc_types::BlockStats;
use dotcoin_common::sighash::signing::{pubkey_of, sign_transaction};
use dotcoin_common::{
    serialize, Address, Amount as DotAmount, Block, Network, OutPoint, Transaction, TxIn, TxOut,
};
use dotcoin_functional_tests::{test_keypair, wait_until, TestNode, WalletServiceProcess, TIMEOUT};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

/// The methods that leave the crate's typed wrappers, each with the reason. Everything
/// else the test calls goes through `RpcApi` and decodes strictly.
const UNTYPED: &[(&str, &str)] = &[
    (
        "getrawtransaction (verbose)",
        "vout scriptPubKey.address is a dotcoin address",
    ),
    (
        "decoderawtransaction",
        "vout scriptPubKey.address is a dotcoin address",
    ),
    ("gettxout", "scriptPubKey.address is a dotcoin address"),
    ("listunspent", "address is a dotcoin address"),
    ("listtransactions", "address is a dotcoin address"),
    ("gettransaction", "details[].address is a dotcoin address"),
    (
        "getaddressinfo",
        "its argument and address are dotcoin addresses",
    ),
    ("getnewaddress", "the answer is a dotcoin address"),
    ("getrawchangeaddress", "the answer is a dotcoin address"),
    (
        "generatetoaddress",
        "the wrapper takes a bitcoin::Address; the answer decodes typed",
    ),
    (
        "sendtoaddress",
        "the wrapper takes a bitcoin::Address; the answer decodes typed",
    ),
    (
        "getblock 0",
        "the hex is dotcoin's block encoding, read with get_block_hex",
    ),
    (
        "getrawtransaction 0",
        "the hex is dotcoin's transaction encoding, read with get_raw_transaction_hex",
    ),
    (
        "getblockchaininfo",
        "get_blockchain_info reshapes the answer of Core before 0.19 when getnetworkinfo's \
         version is below 190000, and dotcoin's own version number is smaller; the crate's \
         GetBlockchainInfoResult decodes it directly",
    ),
    (
        "listsinceblock",
        "transactions[].address is a dotcoin address",
    ),
];

/// `RpcApi` methods of the crate this test does not call, and why.
const NOT_CALLED: &[(&str, &str)] = &[
    (
        "getblockfilter, gettxoutproof, verifymessage, \
      listreceivedbyaddress, getreceivedbyaddress, \
      keypoolrefill, importmulti, importaddress, importpubkey, \
      createpsbt, joinpsbts, combinerawtransaction, signrawtransactionwithkey, rescanblockchain, \
      listwalletdir, addmultisigaddress, generate",
        "dotcoin does not serve them",
    ),
    (
        "dumpprivkey, importprivkey",
        "keys are dotcoin's (x-only, hex), not Bitcoin WIF",
    ),
    (
        "encryptwallet",
        "the crate expects null where Core (and dotcoin) answer a string",
    ),
    (
        "setnetworkactive",
        "it would drop the peer the network calls are checked with",
    ),
    (
        "importdescriptors",
        "its descriptors are Bitcoin's script types; dotcoin's tr()/rawtr() imports are \
         driven in wallet_hd.rs and by python-bitcoinlib and npm bitcoin-core in clients.rs",
    ),
];

/// Bitcoin's regtest address of the same witness program as a dotcoin `address`: the key
/// an output is locked to is a taproot output key byte for byte.
fn bitcoin_address(address: &Address) -> bitcoin::Address {
    let key = bitcoin::key::XOnlyPublicKey::from_slice(&address.pubkey.0).expect("a valid key");
    bitcoin::Address::p2tr_tweaked(
        bitcoin::key::TweakedPublicKey::dangerous_assume_tweaked(key),
        bitcoin::Network::Regtest,
    )
}

/// Swaps every dotcoin regtest address in `v` for [`bitcoin_address`]; returns how many.
fn swap_addresses(v: &mut Value) -> usize {
    match v {
        Value::String(s) => match Address::parse_for(s, Network::Regtest) {
            Ok(a) => {
                *s = bitcoin_address(&a).to_string();
                1
            }
            Err(_) => 0,
        },
        Value::Array(items) => items.iter_mut().map(swap_addresses).sum(),
        Value::Object(fields) => fields.values_mut().map(swap_addresses).sum(),
        _ => 0,
    }
}

/// `v`, a result of `method`, decoded strictly as the crate's `T` once its dotcoin
/// addresses are swapped; it must hold some and must not decode with them.
fn decodes_but_for_addresses<T: DeserializeOwned>(method: &str, v: &Value) -> T {
    assert!(
        UNTYPED.iter().any(|(m, _)| m.starts_with(method)),
        "{method} is not listed in UNTYPED"
    );
    assert!(
        serde_json::from_value::<T>(v.clone()).is_err(),
        "{method} decodes with dotcoin's addresses: call it typed and take it off UNTYPED"
    );
    let mut swapped = v.clone();
    assert!(
        swap_addresses(&mut swapped) > 0,
        "{method}: no dotcoin address in {v}"
    );
    serde_json::from_value(swapped).unwrap_or_else(|e| {
        panic!("{method} does not decode even with Bitcoin addresses: {e}\n{v}")
    })
}

/// Whether `client`'s server answers `method` with Core's -32601, method not found.
fn not_served(client: &Client, method: &str) -> bool {
    use bitcoincore_rpc::jsonrpc::error::Error as JsonRpcError;
    match client.call::<Value>(method, &[]) {
        Err(bitcoincore_rpc::Error::JsonRpc(JsonRpcError::Rpc(e))) => e.code == -32601,
        _ => false,
    }
}

fn client(port: u16, path: &str, cookie: std::path::PathBuf) -> Client {
    Client::new(
        &format!("http://127.0.0.1:{port}{path}"),
        Auth::CookieFile(cookie),
    )
    .expect("a client")
}

#[test]
fn bitcoincore_rpc_decodes_the_node_and_the_wallet_service() {
    let a = TestNode::start(&[]);
    let b = TestNode::start(&[]);
    let service = WalletServiceProcess::start(&a, &[]);
    let node = client(a.rpc_port, "/", a.datadir().join(".cookie"));
    let peer = client(b.rpc_port, "/", b.datadir().join(".cookie"));
    let wallet = client(service.port, "/", service.cookie_file());

    // -- Chain state: 101 blocks to the wallet, a peer, two payments mined, one pending.
    assert!(
        wallet.get_new_address(None, None).is_err(),
        "getnewaddress decodes as a Bitcoin address: take it off UNTYPED"
    );
    let rewards: String = wallet.call("getnewaddress", &[]).expect("getnewaddress");
    Address::parse_for(&rewards, Network::Regtest).expect("a dotcoin address");
    let change: String = wallet
        .call("getrawchangeaddress", &[])
        .expect("getrawchangeaddress");
    Address::parse_for(&change, Network::Regtest).expect("a dotcoin address");
    let mined: Vec<bitcoin::BlockHash> = node
        .call("generatetoaddress", &[json!(101), json!(rewards)])
        .expect("generatetoaddress");
    assert_eq!(mined.len(), 101);

    peer.add_node(&format!("127.0.0.1:{}", a.p2p_port))
        .expect("addnode");
    wait_until("b to sync to a", TIMEOUT, || {
        peer.get_block_count().expect("getblockcount") == 101
            && node.get_connection_count().expect("getconnectioncount") == 1
    });

    let (payee_key, payee) = test_keypair();
    let paid: bitcoin::Txid = wallet
        .call("sendtoaddress", &[json!(payee), json!(10)])
        .expect("sendtoaddress");

    // A transaction built on the node and signed by the wallet, from the mature coinbase
    // the payment did not spend (listunspent leaves out what the mempool spends).
    let unspent: Value = wallet.call("listunspent", &[]).expect("listunspent");
    let unspent: Vec<core::ListUnspentResultEntry> =
        decodes_but_for_addresses("listunspent", &unspent);
    let coin = unspent
        .iter()
        .find(|u| u.amount == Amount::from_int_btc(50))
        .expect("an unspent 50 DOT coinbase");
    assert!(coin.script_pub_key.is_p2tr(), "{:?}", coin.script_pub_key);
    let outs = HashMap::from([(payee.clone(), Amount::from_sat(4_999_900_000))]);
    let unsigned = node
        .create_raw_transaction_hex(
            &[core::CreateRawTransactionInput {
                txid: coin.txid,
                vout: coin.vout,
                sequence: None,
            }],
            &outs,
            None,
            None,
        )
        .expect("createrawtransaction");
    let signed = wallet
        .sign_raw_transaction_with_wallet(unsigned.as_str(), None, None)
        .expect("signrawtransactionwithwallet");
    assert!(signed.complete && signed.errors.is_none(), "{signed:?}");
    let accepted = node
        .test_mempool_accept(&[signed.hex.as_slice()])
        .expect("testmempoolaccept");
    assert!(accepted[0].allowed, "{accepted:?}");
    assert_eq!(
        accepted[0].fees.as_ref().map(|f| f.base),
        Some(Amount::from_sat(100_000))
    );
    let built = node
        .send_raw_transaction(signed.hex.as_slice())
        .expect("sendrawtransaction");
    assert_eq!(accepted[0].txid, built);
    // A child of it, so the pool has a family: the payee spends the unconfirmed output.
    let parent_out = TxOut {
        value: DotAmount::from_sat(4_999_900_000),
        pubkey: pubkey_of(&payee_key),
    };
    let mut child = Transaction {
        version: 1,
        inputs: vec![TxIn {
            prevout: OutPoint {
                txid: built.to_string().parse().expect("txid"),
                vout: 0,
            },
            witness: Vec::new(),
        }],
        outputs: vec![TxOut {
            value: DotAmount::from_sat(4_999_800_000),
            pubkey: pubkey_of(&payee_key),
        }],
        lock_time: 0,
    };
    sign_transaction(&mut child, &[parent_out], std::slice::from_ref(&payee_key)).expect("signs");
    let child = node
        .send_raw_transaction(serialize(&child).as_slice())
        .expect("sendrawtransaction");

    // -- The mempool, with the three transactions in it.
    let pool = node.get_raw_mempool().expect("getrawmempool");
    assert_eq!(pool.len(), 3);
    let verbose = node.get_raw_mempool_verbose().expect("getrawmempool true");
    let entry = node.get_mempool_entry(&built).expect("getmempoolentry");
    assert_eq!(verbose[&built], entry);
    assert_eq!(entry.fees.base, Amount::from_sat(100_000));
    assert_eq!(entry.fees.modified, entry.fees.base);
    assert_eq!(entry.spent_by, [child]);
    assert_eq!(entry.weight, Some(4 * entry.vsize));
    assert!(!entry.bip125_replaceable);
    let kid = &verbose[&child];
    assert_eq!(kid.depends, [built]);
    assert_eq!((entry.ancestor_count, entry.descendant_count), (1, 2));
    assert_eq!((kid.ancestor_count, kid.descendant_count), (2, 1));
    assert_eq!(kid.ancestor_size, entry.vsize + kid.vsize);
    assert_eq!(entry.descendant_size, kid.ancestor_size);
    assert_eq!(kid.fees.ancestor, Amount::from_sat(200_000));
    assert_eq!(entry.fees.descendant, kid.fees.ancestor);
    assert_eq!(verbose[&paid].ancestor_count, 1);
    let info = node.get_mempool_info().expect("getmempoolinfo");
    assert_eq!(info.size, 3);
    assert_eq!(info.full_rbf, Some(false));
    assert!(info
        .total_fee
        .is_some_and(|f| f > Amount::from_sat(100_000)));
    let template = node
        .get_block_template(
            core::GetBlockTemplateModes::Template,
            &[core::GetBlockTemplateRules::SegWit],
            &[],
        )
        .expect("getblocktemplate");
    assert_eq!(template.transactions.len(), 3);
    // BIP22's depends: the child names its parent's 1-based position.
    let position = |t: bitcoin::Txid| {
        1 + template
            .transactions
            .iter()
            .position(|x| x.txid == t)
            .expect("listed") as u32
    };
    let listed_child = template.transactions.iter().find(|x| x.txid == child);
    assert_eq!(
        listed_child.map(|x| x.depends.clone()),
        Some(vec![position(built)])
    );
    assert_eq!(template.weight_limit, 4 * template.size_limit);
    assert_eq!(
        template.capabilities,
        [core::GetBlockTemplateResultCapabilities::Proposal]
    );
    let raw: Value = node
        .call("getrawtransaction", &[json!(paid), json!(true)])
        .expect("getrawtransaction");
    let pending: core::GetRawTransactionResult =
        decodes_but_for_addresses("getrawtransaction", &raw);
    assert_eq!(pending.txid, paid);
    assert_eq!(pending.confirmations, None);
    assert!(pending
        .vout
        .iter()
        .all(|o| o.script_pub_key.type_ == Some(core::ScriptPubkeyType::Witness_v1_Taproot)));
    assert!(pending
        .vin
        .iter()
        .all(|i| i.sequence == u32::MAX && i.txinwitness.is_some()));

    // -- One block with both; then one more payment stays pending.
    let tip: Vec<bitcoin::BlockHash> = node
        .call("generatetoaddress", &[json!(1), json!(rewards)])
        .expect("generatetoaddress");
    let tip = tip[0];
    let pending_payment: bitcoin::Txid = wallet
        .call("sendtoaddress", &[json!(payee), json!(1)])
        .expect("sendtoaddress");
    wait_until("b to get block 102", TIMEOUT, || {
        peer.get_block_count().expect("getblockcount") == 102
    });

    // -- Blockchain.
    let chain: core::GetBlockchainInfoResult = node
        .call("getblockchaininfo", &[])
        .expect("getblockchaininfo");
    assert!(
        node.get_blockchain_info().is_err(),
        "the wrapper reads dotcoin as Core 0.18: take it off UNTYPED"
    );
    assert_eq!(chain.chain, bitcoin::Network::Regtest);
    assert_eq!((chain.blocks, chain.best_block_hash), (102, tip));
    assert_eq!(chain.warnings, StringOrStringArray::String(String::new()));
    assert_eq!(node.get_block_count().expect("getblockcount"), 102);
    assert_eq!(node.get_best_block_hash().expect("getbestblockhash"), tip);
    assert_eq!(node.get_block_hash(102).expect("getblockhash"), tip);
    assert!(node.get_difficulty().expect("getdifficulty") > 0.0);
    let header = node.get_block_header_info(&tip).expect("getblockheader");
    assert_eq!((header.height, header.n_tx), (102, 4));
    assert_eq!(header.previous_block_hash, Some(mined[100]));
    // The 80-byte header is Bitcoin's layout: the crate decodes it and hashes it the same.
    assert_eq!(
        node.get_block_header(&tip)
            .expect("getblockheader false")
            .block_hash(),
        tip
    );
    let block = node.get_block_info(&tip).expect("getblock");
    assert_eq!((block.n_tx, block.tx.len()), (4, 4));
    assert!(block.tx.contains(&built) && block.tx.contains(&paid) && block.tx.contains(&child));
    assert_eq!(block.weight, 4 * block.size);
    assert!(block.strippedsize.is_some_and(|s| s < block.size));
    let hex = node.get_block_hex(&tip).expect("getblock 0");
    let decoded: Block =
        dotcoin_common::deserialize(&hex::decode(hex).expect("hex")).expect("a block");
    assert_eq!(decoded.block_hash().to_string(), tip.to_string());
    let stats = node.get_block_stats(102).expect("getblockstats");
    assert_eq!((stats.txs, stats.block_hash), (4, tip));
    assert!(stats.ins >= 3);
    assert_eq!(stats.total_weight, 4 * stats.total_size);
    assert!(stats.fee_rate_percentiles.fr_90th >= stats.fee_rate_percentiles.fr_10th);
    assert!(
        stats.fee_rate_percentiles.fr_10th > Amount::ZERO,
        "{stats:?}"
    );
    assert_eq!(stats.fee_rate_percentiles.fr_10th, stats.min_fee_rate);
    assert_eq!(stats.fee_rate_percentiles.fr_90th, stats.max_fee_rate);
    // dotcoin's own type reads the same answer.
    let ours: BlockStats = a.rpc_typed("getblockstats", json!([102]));
    assert_eq!(ours.totalfee, stats.total_fee.to_sat());
    assert!(ours.utxo_size_inc > 0 && ours.utxo_size_inc_actual == ours.utxo_size_inc);
    let some = node
        .get_block_stats_fields(
            102,
            &[
                core::BlockStatsFields::TotalFee,
                core::BlockStatsFields::FeeRatePercentiles,
            ],
        )
        .expect("getblockstats fields");
    assert_eq!(some.total_fee, Some(stats.total_fee));
    assert_eq!(some.fee_rate_percentiles, Some(stats.fee_rate_percentiles));
    assert_eq!(some.height, None);
    let tips = node.get_chain_tips().expect("getchaintips");
    assert_eq!(tips.len(), 1);
    assert_eq!(tips[0].status, core::GetChainTipsResultStatus::Active);
    let set = node
        .get_tx_out_set_info(None, None, None)
        .expect("gettxoutsetinfo");
    assert_eq!((set.height, set.best_block), (102, tip));
    let txout: Value = node
        .call("gettxout", &[json!(child), json!(0)])
        .expect("gettxout");
    let txout: core::GetTxOutResult = decodes_but_for_addresses("gettxout", &txout);
    assert_eq!(
        (txout.confirmations, txout.value),
        (1, Amount::from_sat(4_999_800_000))
    );
    assert!(txout.script_pub_key.script().expect("a script").is_p2tr());
    let spent: Option<Value> = node
        .call("gettxout", &[json!(built), json!(0)])
        .expect("gettxout");
    assert_eq!(spent, None, "the child spent it");
    let raw: Value = node
        .call("getrawtransaction", &[json!(built), json!(true)])
        .expect("getrawtransaction");
    let confirmed: core::GetRawTransactionResult =
        decodes_but_for_addresses("getrawtransaction", &raw);
    assert_eq!(
        (confirmed.blockhash, confirmed.confirmations),
        (Some(tip), Some(1))
    );
    assert_eq!(confirmed.vsize, confirmed.size);
    let hex = node
        .get_raw_transaction_hex(&built, None)
        .expect("getrawtransaction 0");
    assert_eq!(hex, hex::encode(&signed.hex));
    let tx: Transaction = dotcoin_common::deserialize(&signed.hex).expect("a dotcoin transaction");
    let decoded: Value = node
        .call("decoderawtransaction", &[json!(hex)])
        .expect("decoderawtransaction");
    let decoded: core::DecodeRawTransactionResult =
        decodes_but_for_addresses("decoderawtransaction", &decoded);
    assert_eq!(decoded.txid, built);
    assert_eq!(decoded.weight as usize, 4 * tx.size());
    let index = node.get_index_info().expect("getindexinfo");
    assert_eq!(
        index.txindex.map(|i| (i.synced, i.best_block_height)),
        Some((true, 102))
    );
    let scan = node
        .scan_tx_out_set_blocking(&[core::ScanTxOutRequest::Single(format!("addr({payee})"))])
        .expect("scantxoutset");
    assert_eq!(scan.unspents.len(), 2, "{scan:?}");
    assert!(scan.unspents.iter().all(|u| u.script_pub_key.is_p2tr()));
    assert_eq!(
        node.wait_for_new_block(1).expect("waitfornewblock").hash,
        tip
    );
    assert_eq!(
        node.wait_for_block(&tip, 1).expect("waitforblock").height,
        102
    );
    let fee = node.estimate_smart_fee(6, None).expect("estimatesmartfee");
    assert!(fee.fee_rate.is_some(), "{fee:?}");

    // -- Mining.
    let mining = node.get_mining_info().expect("getmininginfo");
    assert_eq!((mining.blocks, mining.pooled_tx), (102, 1));
    assert_eq!(mining.warnings, StringOrStringArray::String(String::new()));
    assert!(
        node.get_network_hash_ps(None, None)
            .expect("getnetworkhashps")
            >= 0.0
    );
    match node.submit_block_hex(&node.get_block_hex(&tip).expect("getblock 0")) {
        Err(bitcoincore_rpc::Error::ReturnedError(reason)) => {
            assert!(reason.contains("duplicate"), "{reason}")
        }
        other => panic!("a known block is refused as a duplicate: {other:?}"),
    }

    // -- Network.
    let net = node.get_network_info().expect("getnetworkinfo");
    assert!(net.local_relay && net.network_active);
    assert_eq!((net.connections, net.connections_in), (1, Some(1)));
    assert_eq!(net.networks.iter().filter(|n| n.reachable).count(), 2);
    assert!(node.version().expect("version") > 0);
    let peers = node.get_peer_info().expect("getpeerinfo");
    assert_eq!(peers.len(), 1);
    assert_eq!(
        peers[0].connection_type,
        Some(core::GetPeerInfoResultConnectionType::Inbound)
    );
    assert!(!peers[0].addrbind.is_empty() && peers[0].bytesrecv > 0);
    let outbound = peer.get_peer_info().expect("getpeerinfo");
    assert_eq!(
        outbound[0].connection_type,
        Some(core::GetPeerInfoResultConnectionType::Manual)
    );
    assert_eq!(outbound[0].addrbind.split(':').next(), Some("127.0.0.1"));
    let added = peer.get_added_node_info(None).expect("getaddednodeinfo");
    assert!(
        added[0].connected && added[0].addresses.len() == 1,
        "{added:?}"
    );
    node.get_node_addresses(None).expect("getnodeaddresses");
    let totals = node.get_net_totals().expect("getnettotals");
    assert!(totals.total_bytes_sent > 0 && totals.total_bytes_recv > 0);
    assert_eq!(totals.upload_target.time_frame, 86_400);
    node.ping().expect("ping");
    node.add_ban("10.9.8.7", 600, false).expect("setban add");
    let bans = node.list_banned().expect("listbanned");
    assert_eq!(bans.len(), 1);
    assert_eq!(bans[0].banned_until - bans[0].ban_created, 600);
    node.remove_ban("10.9.8.7").expect("setban remove");
    node.add_ban("10.9.8.6", 600, false).expect("setban add");
    node.clear_banned().expect("clearbanned");
    assert!(node.list_banned().expect("listbanned").is_empty());

    // -- Control and zmq.
    assert!(node.uptime().expect("uptime") < 3600);
    assert!(node
        .get_zmq_notifications()
        .expect("getzmqnotifications")
        .is_empty());

    // -- The wallet service.
    assert_eq!(wallet.list_wallets().expect("listwallets").len(), 1);
    let info = wallet.get_wallet_info().expect("getwalletinfo");
    assert!(
        info.balance > Amount::ZERO && info.tx_count >= 102,
        "{info:?}"
    );
    assert!(info.keypool_size_hd_internal > 0 && info.private_keys_enabled);
    let balance = wallet.get_balance(None, None).expect("getbalance");
    let balances = wallet.get_balances().expect("getbalances");
    assert_eq!(balance, balances.mine.trusted);
    assert!(balances.mine.immature > Amount::ZERO);
    let list: Value = wallet
        .call("listtransactions", &[json!("*"), json!(1000)])
        .expect("listtransactions");
    let list: Vec<core::ListTransactionResult> =
        decodes_but_for_addresses("listtransactions", &list);
    let last = list.last().expect("entries");
    assert_eq!(last.info.txid, pending_payment);
    assert_eq!(last.info.confirmations, 0);
    assert!(last.info.timereceived > 0 && last.info.time == last.info.timereceived);
    assert_eq!(
        last.detail.category,
        core::GetTransactionResultDetailCategory::Send
    );
    let mined_payment = list
        .iter()
        .find(|e| e.info.txid == paid)
        .expect("the payment");
    assert_eq!(mined_payment.info.blockheight, Some(102));
    assert_eq!(
        mined_payment.info.blockindex,
        block.tx.iter().position(|t| *t == paid)
    );
    assert_eq!(
        mined_payment.info.bip125_replaceable,
        core::Bip125Replaceable::No
    );
    let tx: Value = wallet
        .call("gettransaction", &[json!(paid)])
        .expect("gettransaction");
    let tx: core::GetTransactionResult = decodes_but_for_addresses("gettransaction", &tx);
    assert_eq!((tx.info.txid, tx.info.blockhash), (paid, Some(tip)));
    assert_eq!(tx.amount, bitcoin::SignedAmount::from_sat(-1_000_000_000));
    assert!(tx.fee.is_some_and(|f| f < bitcoin::SignedAmount::ZERO));
    // listsinceblock decodes as the crate's result; the payment is newer than genesis.
    let since: Value = wallet
        .call("listsinceblock", &[json!(block.previousblockhash)])
        .expect("listsinceblock");
    let since: core::ListSinceBlockResult = decodes_but_for_addresses("listsinceblock", &since);
    assert!(since.transactions.iter().any(|e| e.info.txid == paid));
    assert!(since.transactions.iter().all(|e| e.info.confirmations <= 1));
    assert_eq!((since.lastblock, since.removed.len()), (tip, 0));
    // lockunspent / listlockunspent / abandontransaction through the crate's calls.
    let unspent: Value = wallet.call("listunspent", &[]).expect("listunspent");
    let unspent: Vec<core::ListUnspentResultEntry> =
        decodes_but_for_addresses("listunspent", &unspent);
    let out = bitcoin::OutPoint::new(unspent[0].txid, unspent[0].vout);
    assert!(wallet.lock_unspent(&[out]).expect("lockunspent"));
    let listed: Vec<Value> = wallet
        .call("listlockunspent", &[])
        .expect("listlockunspent");
    assert_eq!(
        listed,
        vec![json!({"txid": out.txid.to_string(), "vout": out.vout})]
    );
    assert!(wallet.unlock_unspent(&[out]).expect("lockunspent true"));
    assert!(wallet.unlock_unspent_all().expect("lockunspent true []"));
    let listed: Vec<Value> = wallet
        .call("listlockunspent", &[])
        .expect("listlockunspent");
    assert!(listed.is_empty());
    let abandon = wallet.call::<Value>("abandontransaction", &[json!(paid)]);
    assert!(abandon.is_err(), "a mined transaction is not abandoned");
    let address_info: Value = wallet
        .call("getaddressinfo", &[json!(rewards)])
        .expect("getaddressinfo");
    let address_info: core::GetAddressInfoResult =
        decodes_but_for_addresses("getaddressinfo", &address_info);
    assert_eq!(address_info.is_mine, Some(true));
    assert!(address_info.script_pub_key.is_p2tr());

    // Descriptors and a PSBT round through the crate's own calls.
    let info = wallet
        .get_descriptor_info(
            "rawtr(a34b99f22c790c4e36b2b3c2c35a36db06226e41c692fc82b8b56ac1c540c5bd)",
        )
        .expect("getdescriptorinfo");
    assert!(!info.is_range && !info.has_private_keys, "{info:?}");
    // The crate's derive_addresses parses Bitcoin's address prefixes, not dotcoin's.
    let derived: Vec<String> = wallet
        .call("deriveaddresses", &[json!(info.descriptor)])
        .expect("deriveaddresses");
    assert_eq!(derived.len(), 1);
    let funded = wallet
        .wallet_create_funded_psbt(
            &[],
            &HashMap::from([(rewards.clone(), Amount::from_sat(25_000_000))]),
            None,
            None,
            None,
        )
        .expect("walletcreatefundedpsbt");
    let combined = node
        .combine_psbt(&[funded.psbt.clone(), funded.psbt])
        .expect("combinepsbt");
    let signed = wallet
        .wallet_process_psbt(&combined, None, None, None)
        .expect("walletprocesspsbt");
    assert!(signed.complete);
    let done = node
        .finalize_psbt(&signed.psbt, None)
        .expect("finalizepsbt");
    assert!(done.complete && done.hex.is_some());
    // fundrawtransaction through the crate's call, on what the node's createrawtransaction made.
    let raw: String = node
        .call(
            "createrawtransaction",
            &[json!([]), json!({rewards.clone(): 0.25})],
        )
        .expect("createrawtransaction");
    let funded = wallet
        .fund_raw_transaction(raw.as_str(), None, None)
        .expect("fundrawtransaction");
    assert!(
        funded.fee > Amount::ZERO && funded.change_position == 1,
        "{funded:?}"
    );

    let second = wallet
        .create_wallet("second", None, None, None, None)
        .expect("createwallet");
    assert_eq!(second.name, "second");
    wallet.unload_wallet(Some("second")).expect("unloadwallet");
    assert_eq!(
        wallet.load_wallet("second").expect("loadwallet").name,
        "second"
    );
    assert_eq!(wallet.list_wallets().expect("listwallets").len(), 2);
    let backup = service.datadir.join("backup.json");
    client(service.port, "/wallet/second", service.cookie_file())
        .backup_wallet(Some(&backup.to_string_lossy()))
        .expect("backupwallet");
    assert!(backup.exists());

    // The crate's calls the test leaves out as not served are served by neither.
    assert!(!not_served(&node, "getblockcount") && !not_served(&wallet, "getbalance"));
    let (unserved, _) = NOT_CALLED[0];
    for method in unserved.split(',').map(str::trim) {
        assert!(
            not_served(&node, method) && not_served(&wallet, method),
            "{method} is served now: call it through the crate and take it off NOT_CALLED"
        );
    }

    // -- Changes last: a block invalidated and reconsidered, then both stopped.
    node.invalidate_block(&tip).expect("invalidateblock");
    assert_eq!(node.get_block_count().expect("getblockcount"), 101);
    node.reconsider_block(&tip).expect("reconsiderblock");
    assert_eq!(node.get_block_count().expect("getblockcount"), 102);
    assert!(wallet.stop().expect("stop").contains("stopping"));
    let mut service = service;
    assert_eq!(service.wait_exit(), 0);
    assert!(peer.stop().expect("stop").contains("stopping"));
    let mut b = b;
    assert_eq!(b.wait_exit(), 0);
}
