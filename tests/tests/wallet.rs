//! Functional tests of `dotcoin-wallet` with the real binaries: the seed's Test Flows 2 and 3 (mine and earn, send 90), keys never reaching the node
//! (its files, its logs, its dependency tree), the encrypted wallet, SIGKILL during a
//! wallet write, and every error case of the issue asserted through the real binary.
//!
//! Wallet A and wallet B live in their own temporary directories; in the seed flows each
//! talks to its own node, the two linked over P2P.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use dotcoin_common::rpc_types::{
    AddressBalance, AddressUtxo, BlockchainInfo, GetBlockVerbose, MempoolEntry, TxInVerbose,
    TxOutSetInfo, TxOutVerbose, TxVerbose,
};
use dotcoin_common::{deserialize, Address, Network, Transaction, Txid};
use dotcoin_functional_tests::{
    cargo_tree, files_under, ok_stdout, test_keypair, wait_until, wallet_offline_command, Needles,
    TestNode, TIMEOUT,
};
use serde_json::{json, Value};

const COIN: u64 = 100_000_000;
const REWARD: u64 = 50 * COIN;

/// A wallet in its own temporary directory, run with the real `dotcoin-wallet` against
/// `node`.
struct TestWallet<'a> {
    node: &'a TestNode,
    dir: tempfile::TempDir,
}

impl<'a> TestWallet<'a> {
    fn new(node: &'a TestNode) -> TestWallet<'a> {
        let dir = tempfile::Builder::new()
            .prefix("dotcoin-wallet-test-")
            .tempdir()
            .expect("tempdir");
        TestWallet { node, dir }
    }

    /// The wallet file.
    fn file(&self) -> PathBuf {
        self.dir.path().join("regtest/wallets/default.json")
    }

    fn run(&self, args: &[&str]) -> Output {
        self.node.wallet(self.dir.path(), args)
    }

    /// Runs a command that must succeed; its trimmed stdout.
    fn ok(&self, args: &[&str]) -> String {
        self.node.wallet_ok(self.dir.path(), args)
    }

    fn json(&self, args: &[&str]) -> Value {
        let s = self.ok(args);
        serde_json::from_str(&s)
            .unwrap_or_else(|e| panic!("dotcoin-wallet {args:?} printed non-JSON ({e}): {s}"))
    }

    /// Runs a command that must fail: nothing on stdout, non-zero exit; its trimmed stderr.
    fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            !out.status.success(),
            "dotcoin-wallet {args:?} succeeded: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert!(out.stdout.is_empty(), "no result printed on failure");
        String::from_utf8_lossy(&out.stderr).trim().to_owned()
    }

    fn balance(&self) -> String {
        self.ok(&["getbalance"])
    }

    /// The addresses `listaddresses` prints, with their purposes.
    fn addresses(&self) -> Vec<(String, String)> {
        self.json(&["listaddresses"])
            .as_array()
            .expect("an array")
            .iter()
            .map(|a| {
                (
                    a["address"].as_str().expect("address").to_owned(),
                    a["purpose"].as_str().expect("purpose").to_owned(),
                )
            })
            .collect()
    }

    /// Every secret of the wallet file (pool keys included), 32 bytes each.
    fn secrets_in_file(&self) -> Vec<(String, [u8; 32])> {
        let doc: Value = serde_json::from_slice(&std::fs::read(self.file()).expect("read wallet"))
            .expect("wallet file is JSON");
        doc["keys"]
            .as_array()
            .expect("keys")
            .iter()
            .map(|k| {
                let address = k["address"].as_str().expect("address").to_owned();
                // A key of the seed has no secret in the file: its signing key is what
                // dumpprivkey derives from the words.
                let bytes: [u8; 32] = match k["secret"].as_str() {
                    Some(hex_secret) => hex::decode(hex_secret)
                        .expect("hex")
                        .try_into()
                        .expect("32 bytes"),
                    None => {
                        let wif = self.ok(&["dumpprivkey", &address]);
                        bitcoincore_rpc::bitcoin::base58::decode_check(&wif).expect("WIF")[1..33]
                            .try_into()
                            .expect("32 bytes")
                    }
                };
                (address, bytes)
            })
            .chain(doc["seed"]["words"].as_str().map(|words| {
                // The seed itself (its first half: the needles are 32 bytes).
                let seed = dotcoin_functional_tests::bip39_seed(words, "");
                ("seed".to_owned(), seed[..32].try_into().expect("32 bytes"))
            }))
            .collect()
    }
}

/// `getbalance`'s exact output for these amounts in base units.
fn balance_text(confirmed: u64, unconfirmed: u64, immature: u64) -> String {
    let dot = |s: u64| format!("{}.{:08}", s / COIN, s % COIN);
    format!(
        "{{\n  \"confirmed\": {},\n  \"unconfirmed\": {},\n  \"immature\": {}\n}}",
        dot(confirmed),
        dot(unconfirmed),
        dot(immature)
    )
}

fn decode_tx(node: &TestNode, txid: &Txid) -> Transaction {
    let raw: String = node.rpc_typed("getrawtransaction", json!([txid]));
    deserialize(&hex::decode(raw).expect("hex")).expect("a transaction")
}

fn mempool(node: &TestNode) -> Vec<Txid> {
    node.rpc_typed("getrawmempool", json!([]))
}

/// The node's view of `addresses`: `getaddressbalance`, and the `getaddressutxos` sums
/// (confirmed mature, mempool receipts, immature), all in base units.
fn node_view(node: &TestNode, addresses: &[String]) -> (AddressBalance, (u64, u64, u64)) {
    let arg = json!([{ "addresses": addresses }]);
    let balance: AddressBalance = node.rpc_typed("getaddressbalance", arg.clone());
    let utxos: Vec<AddressUtxo> = node.rpc_typed("getaddressutxos", arg);
    let (mut confirmed, mut unconfirmed, mut immature) = (0, 0, 0);
    for u in &utxos {
        if u.spent_in_mempool {
            continue;
        }
        if u.immature {
            immature += u.satoshis;
        } else if u.confirmations == 0 {
            unconfirmed += u.satoshis;
        } else {
            confirmed += u.satoshis;
        }
    }
    (balance, (confirmed, unconfirmed, immature))
}

/// Asserts that a wallet's `getbalance` is exactly these amounts and that the node's UTXO
/// set over the wallet's `listaddresses` agrees (no receipts pending).
fn assert_settled(wallet: &TestWallet, confirmed: u64, immature: u64) {
    assert_eq!(wallet.balance(), balance_text(confirmed, 0, immature));
    let addresses: Vec<String> = wallet.addresses().into_iter().map(|(a, _)| a).collect();
    let (balance, sums) = node_view(wallet.node, &addresses);
    assert_eq!(sums, (confirmed, 0, immature), "getaddressutxos agrees");
    assert_eq!(balance.balance, confirmed, "getaddressbalance agrees");
    assert_eq!(balance.immature, immature);
    assert_eq!(balance.unconfirmed, 0);
}

fn height(node: &TestNode) -> u64 {
    node.cli_typed::<BlockchainInfo>(&["getblockchaininfo"])
        .blocks
        .into()
}

/// Runs the seed's Test Flows 2 and 3 with wallet A on `node_a` and wallet B on `node_b`
/// and returns the wallets (for the key scan).
fn run_seed_flows<'a>(
    node_a: &'a TestNode,
    node_b: &'a TestNode,
) -> (TestWallet<'a>, TestWallet<'a>) {
    // ---- Flow 2: mine and earn.
    let a = TestWallet::new(node_a);
    let created = a.json(&["create"]);
    assert_eq!(created["network"], "regtest");
    assert_eq!(created["encrypted"], false);
    assert_eq!(created["wallet"], a.file().display().to_string());
    let addr_a = a.ok(&["getnewaddress", "rewards"]);
    assert!(addr_a.starts_with("dcrt1p"), "{addr_a}");
    // A chain holding only the genesis block, and a balance of 0.
    assert_eq!(height(node_a), 0);
    assert_eq!(a.balance(), balance_text(0, 0, 0));

    // Two blocks: their rewards are the wallet's, but immature.
    node_a.generate(2, &addr_a);
    assert_eq!(height(node_a), 2);
    assert_eq!(a.balance(), balance_text(0, 0, 2 * REWARD));
    // Regtest maturity is 100 confirmations: at height 101 the rewards of blocks 1 and 2
    // are spendable, those of blocks 3..=101 are not.
    let bci: BlockchainInfo = node_a.cli_typed(&["getblockchaininfo"]);
    assert_eq!(bci.coinbase_maturity, 100);
    node_a.generate(99, &addr_a);
    assert_eq!(height(node_a), 101);
    let confirmed_before = 2 * REWARD;
    assert_settled(&a, confirmed_before, 99 * REWARD);

    // ---- Flow 3: send 90 DOT to an address of wallet B.
    // B's node must hold the spent rewards, mature, before the payment reaches it: one
    // relayed while it is still syncing would be refused there and never offered again.
    wait_until("node B to reach height 101", TIMEOUT, || {
        height(node_b) == 101
    });
    let b = TestWallet::new(node_b);
    b.ok(&["create"]);
    let addr_b = b.ok(&["getnewaddress"]);
    assert_eq!(b.balance(), balance_text(0, 0, 0));

    let utxo_set_before = node_a
        .cli_typed::<TxOutSetInfo>(&["gettxoutsetinfo"])
        .total_amount
        .to_sat();
    let txid_text = a.ok(&["send", &addr_b, "90"]);
    assert_eq!(txid_text.len(), 64, "send prints the txid: {txid_text}");
    let txid: Txid = txid_text.parse().expect("send prints a txid");
    assert_eq!(mempool(node_a), vec![txid]);

    // Two inputs (the rewards of blocks 1 and 2), two outputs: 90 to B, change to A.
    let verbose: TxVerbose = node_a.cli_typed(&["getrawtransaction", &txid_text, "true"]);
    let (vin, vout) = (&verbose.tx.vin, &verbose.tx.vout);
    assert_eq!(vin.len(), 2, "{verbose:?}");
    assert_eq!(vout.len(), 2, "{verbose:?}");
    let rewards: HashSet<Txid> = (1..=2)
        .map(|h| {
            let hash = node_a.cli_ok(&["getblockhash", &h.to_string()]);
            node_a.cli_typed::<GetBlockVerbose>(&["getblock", &hash]).tx[0]
        })
        .collect();
    let spent: HashSet<Txid> = vin
        .iter()
        .map(|i| match i {
            TxInVerbose::Spend { txid, .. } => *txid,
            TxInVerbose::Coinbase { .. } => panic!("a wallet spend has no coinbase input"),
        })
        .collect();
    assert_eq!(spent, rewards, "spends the two mature 50-DOT rewards");
    let to_b: Vec<&TxOutVerbose> = vout.iter().filter(|o| o.address == addr_b).collect();
    assert_eq!(to_b.len(), 1, "{verbose:?}");
    assert_eq!(to_b[0].value.to_sat(), 90 * COIN);
    let change = vout
        .iter()
        .find(|o| o.address != addr_b)
        .expect("a change output");
    let change_addr = change.address.clone();
    assert!(
        a.addresses()
            .contains(&(change_addr.clone(), "change".to_owned())),
        "change goes to a fresh change address of A"
    );

    // The fee, read from the transaction: inputs − outputs (exact, from the raw bytes).
    let tx = decode_tx(node_a, &txid);
    let inputs: u64 = tx
        .inputs
        .iter()
        .map(|i| {
            decode_tx(node_a, &i.prevout.txid).outputs[i.prevout.vout as usize]
                .value
                .to_sat()
        })
        .sum();
    assert_eq!(inputs, 2 * REWARD);
    let outputs: u64 = tx.outputs.iter().map(|o| o.value.to_sat()).sum();
    let fee = inputs - outputs;
    assert!(fee > 0 && fee < COIN / 100, "fee {fee}");
    // The default fee rate (2 units per byte) over the real signed size.
    assert_eq!(fee, 2 * verbose.tx.size);
    let entry: MempoolEntry = node_a.rpc_typed("getmempoolentry", json!([txid]));
    assert_eq!(entry.fee.to_sat(), fee);
    assert_eq!(change.value.to_sat(), 10 * COIN - fee);

    // Before the block: A's rewards are flagged as spent by the pool, its change and B's
    // 90 are unconfirmed.
    assert_eq!(
        a.balance(),
        balance_text(confirmed_before - 2 * REWARD, 10 * COIN - fee, 99 * REWARD)
    );
    let b_pending = balance_text(0, 90 * COIN, 0);
    wait_until("wallet B to see 90 DOT unconfirmed", TIMEOUT, || {
        b.balance() == b_pending
    });
    let (_, b_sums) = node_view(node_b, std::slice::from_ref(&addr_b));
    assert_eq!(b_sums, (0, 90 * COIN, 0));

    // One more block (to A): the transaction is in it, the pool is empty, and the reward
    // of block 3 matures.
    let block = node_a.generate(1, &addr_a).remove(0);
    let block_json: GetBlockVerbose = node_a.cli_typed(&["getblock", &block.to_string()]);
    assert!(
        block_json.tx.contains(&txid),
        "the transaction is in the block"
    );
    assert!(mempool(node_a).is_empty());
    let coinbase = decode_tx(node_a, &block_json.tx[0]);
    assert_eq!(
        coinbase.outputs[0].value.to_sat(),
        REWARD + fee,
        "the miner collects the fee"
    );
    wait_until("node B to have block 102", TIMEOUT, || {
        height(node_b) == 102
    });

    // Both balances are exact and agree with the node's UTXO set.
    let new_mature = REWARD; // block 3's reward
    assert_settled(
        &a,
        confirmed_before + new_mature - 90 * COIN - fee,
        98 * REWARD + REWARD + fee,
    );
    assert_settled(&b, 90 * COIN, 0);
    // The whole UTXO set grew by the block's subsidy only: nothing was lost, the fee
    // moved from the sender to the miner.
    let set: TxOutSetInfo = node_a.cli_typed(&["gettxoutsetinfo"]);
    assert_eq!(set.total_amount.to_sat(), utxo_set_before + REWARD);
    (a, b)
}

#[test]
fn seed_flows_2_and_3() {
    let node_a = TestNode::start(&[]);
    // Wallet B has its own node, linked to A over P2P (the seed's Test Flow 1): everything
    // B sees arrives by relay and sync.
    let node_b = &TestNode::start(&["--addnode", &format!("127.0.0.1:{}", node_a.p2p_port)]);
    wait_until("the two nodes to connect", TIMEOUT, || {
        node_a.rpc_typed::<u64>("getconnectioncount", json!([])) == 1
            && node_b.rpc_typed::<u64>("getconnectioncount", json!([])) == 1
    });
    run_seed_flows(&node_a, node_b);
}

#[test]
fn keys_never_reach_the_node() {
    // Every log category at debug level: whatever the node could log, it logs.
    let node = TestNode::start(&["--debug", "all"]);
    let (a, b) = run_seed_flows(&node, &node);

    // The secrets: every key of both files, and `dumpprivkey` of every listed address.
    let mut secrets = Vec::new();
    for wallet in [&a, &b] {
        let in_file = wallet.secrets_in_file();
        assert!(in_file.len() > 20, "the keypool's keys are in the file");
        for (address, _) in wallet.addresses() {
            let dumped = wallet.ok(&["dumpprivkey", &address]);
            let (_, bytes) = in_file
                .iter()
                .find(|(a, _)| *a == address)
                .expect("listed address is in the file");
            assert_eq!(dumped, regtest_wif(bytes));
        }
        secrets.extend(in_file.into_iter().map(|(_, s)| s));
    }
    let [raw, hex_lower, hex_upper] = Needles::secret_encodings(&secrets);

    // Positive controls: the scan does find what the node does hold, the raw public key
    // that block rewards pay (chain state) and the tip's hash in hex (debug.log).
    let addr_a = &a
        .addresses()
        .into_iter()
        .find(|(_, p)| p == "receive")
        .expect("A's address")
        .0;
    let pubkey_a = addr_a
        .parse::<Address>()
        .expect("address")
        .pubkey
        .0
        .to_vec();
    let tip_hex = node.cli_ok(&["getbestblockhash"]).into_bytes();
    let controls = Needles::new(&[pubkey_a.clone()].into_iter().collect());
    let hex_controls = Needles::new(&[tip_hex].into_iter().collect());

    // Stop the node cleanly so everything it keeps is on disk, then read every file of
    // its directory: the datadir (chain state, debug.log, cookie, …) and its stderr.
    let mut node = node;
    assert_eq!(node.stop(), 0);
    let files = files_under(node.dir.path());
    assert!(files.iter().any(|f| f.ends_with("debug.log")));
    let (mut raw_control, mut hex_control) = (false, false);
    for file in &files {
        let bytes = std::fs::read(file).expect("read node file");
        for (what, needles) in [("raw", &raw), ("hex", &hex_lower), ("HEX", &hex_upper)] {
            if let Some(hit) = needles.find(&bytes) {
                panic!(
                    "a wallet secret ({what}, {}) is in the node's file {}",
                    hex::encode(hit),
                    file.display()
                );
            }
        }
        raw_control |= controls.find(&bytes).is_some();
        hex_control |= hex_controls.find(&bytes).is_some();
    }
    assert!(
        raw_control && hex_control,
        "the scan reads the node's data: A's public key ({raw_control}), the tip's hash in \
         hex ({hex_control})"
    );
}

/// `cargo tree` of dotcoind, for all targets, with `args`.
fn dotcoind_tree(args: &[&str]) -> String {
    let mut all = vec!["-p", "dotcoind", "--target", "all"];
    all.extend_from_slice(args);
    cargo_tree(&all)
}

/// The features a package is built with in dotcoind's normal dependency tree.
fn features_of(tree: &str, package: &str) -> HashSet<String> {
    let lines: Vec<&str> = tree
        .lines()
        .filter(|l| l.starts_with(&format!("{package} v")))
        .collect();
    assert!(!lines.is_empty(), "{package} is in the tree:\n{tree}");
    let sets: HashSet<&str> = lines
        .iter()
        .map(|l| {
            l.split_once("features=[")
                .and_then(|(_, f)| f.split_once(']'))
                .map(|(f, _)| f)
                .expect("features column")
        })
        .collect();
    assert_eq!(sets.len(), 1, "{package} is built once: {lines:?}");
    sets.into_iter()
        .next()
        .expect("one set")
        .split(',')
        .filter(|f| !f.is_empty())
        .map(str::to_owned)
        .collect()
}

#[test]
fn dotcoind_dependency_tree_has_no_signing_code() {
    // Who enables which feature of dotcoin-common, normal edges only: never `signing`.
    let inverted = dotcoind_tree(&["-e", "normal,features", "-i", "dotcoin-common"]);
    assert!(inverted.starts_with("dotcoin-common v"), "{inverted}");
    assert!(
        !inverted.contains("feature \"signing\""),
        "dotcoind's normal dependencies enable dotcoin-common's signing:\n{inverted}"
    );
    // The check can see the feature: dotcoind's dev-dependencies (its tests) do enable it.
    let with_dev = dotcoind_tree(&["-e", "features", "-i", "dotcoin-common"]);
    assert!(with_dev.contains("dotcoin-common feature \"signing\""));

    // The exact feature sets the node is built with.
    let tree = dotcoind_tree(&[
        "-e",
        "normal",
        "--prefix",
        "none",
        "-f",
        "{p} features=[{f}]",
    ]);
    assert_eq!(
        features_of(&tree, "dotcoin-common"),
        HashSet::from(["default".to_owned()]),
        "dotcoin-common without `signing` (its default feature set is empty)"
    );
    // secp256k1 for verification only: no `rand`/`rand-std` (key generation), no
    // global-context with randomisation. `hashes`, `recovery` and `serde` come from the
    // workspace-hack, which gives the programs the features the tests' rust-bitcoin (the
    // typed Core client) switches on; none of them generates a key.
    assert_eq!(
        features_of(&tree, "secp256k1"),
        ["alloc", "hashes", "recovery", "serde", "std"]
            .map(str::to_owned)
            .into(),
    );
    // Who enables which feature of secp256k1: neither `rand` nor `rand-std`.
    let secp = dotcoind_tree(&["-e", "normal,features", "-i", "secp256k1"]);
    assert!(secp.starts_with("secp256k1 v"), "{secp}");
    assert!(secp.contains("secp256k1 feature \"std\""), "{secp}");
    assert!(
        !secp.contains("secp256k1 feature \"rand"),
        "dotcoind's secp256k1 can generate keys:\n{secp}"
    );

    // And no source of the node (outside its test modules) names a secret key, a key
    // pair or a signing function.
    let src = dotcoin_functional_tests::workspace_root().join("dotcoind/src");
    for file in files_under(&src) {
        if file.extension().and_then(|e| e.to_str()) != Some("rs") {
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("read source");
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        for word in ["SecretKey", "Keypair", "sign_schnorr", "sighash::signing"] {
            assert!(
                !code.contains(word),
                "{} mentions {word}: the node must only verify",
                file.display()
            );
        }
    }
}

#[test]
fn encrypted_wallet_needs_the_right_passphrase() {
    let node = TestNode::start(&[]);
    let a = TestWallet::new(&node);
    a.ok(&["create"]);
    let addr = a.ok(&["getnewaddress"]);
    let secret = a.ok(&["dumpprivkey", &addr]);
    node.generate(101, &addr);
    let (_, to) = test_keypair();

    let pass_dir = tempfile::tempdir().expect("tempdir");
    let right = pass_dir.path().join("right");
    let wrong = pass_dir.path().join("wrong");
    std::fs::write(&right, "correct horse battery staple\n").expect("write");
    std::fs::write(&wrong, "correct horse battery stapler\n").expect("write");
    let right = right.to_str().expect("utf-8 path");
    let wrong = wrong.to_str().expect("utf-8 path");

    assert_eq!(
        a.ok(&["encrypt", "--passphrase-file", right]),
        "wallet encrypted; keep the passphrase safe: without it the keys cannot be recovered"
    );
    let bytes = std::fs::read(a.file()).expect("read wallet");
    assert!(
        !String::from_utf8_lossy(&bytes).contains(&secret),
        "the secret is no longer in the file in the clear"
    );
    assert!(a.json(&["info"])["encrypted"] == true);

    // Public data stays readable without the passphrase.
    assert!(a.addresses().iter().any(|(x, _)| *x == addr));
    assert_eq!(a.balance(), balance_text(2 * REWARD, 0, 99 * REWARD));

    // Signing without the passphrase (stdin is not a terminal here): a clear error.
    assert_eq!(
        a.fails(&["send", &to, "1"]),
        "error: wallet is encrypted and signing needs the passphrase: give --passphrase-file \
         FILE or run on a terminal to be prompted"
    );
    assert_eq!(std::fs::read(a.file()).expect("read"), bytes);
    // A wrong passphrase: a clear error, and the file is byte-identical.
    for args in [
        vec!["send", to.as_str(), "1", "--passphrase-file", wrong],
        vec!["dumpprivkey", addr.as_str(), "--passphrase-file", wrong],
        vec!["getnewaddress", "--passphrase-file", wrong],
    ] {
        assert_eq!(
            a.fails(&args),
            "error: incorrect passphrase; the wallet was not changed",
            "{args:?}"
        );
        assert_eq!(std::fs::read(a.file()).expect("read"), bytes, "{args:?}");
    }
    assert!(mempool(&node).is_empty(), "nothing sent");

    // The right one signs: the txid is printed and the transaction is in the pool.
    let txid = a.ok(&["send", &to, "1", "--passphrase-file", right]);
    assert_eq!(txid.len(), 64, "{txid}");
    let txid: Txid = txid.parse().expect("a txid");
    assert_eq!(mempool(&node), vec![txid]);
    let tx = decode_tx(&node, &txid);
    assert!(tx
        .outputs
        .iter()
        .any(|o| o.value.to_sat() == COIN
            && Address::new(Network::Regtest, o.pubkey).to_string() == to));
    assert_eq!(
        a.ok(&["dumpprivkey", &addr, "--passphrase-file", right]),
        secret,
        "the key survived encryption"
    );
}

fn stray_temp_files(wallets_dir: &Path) -> usize {
    std::fs::read_dir(wallets_dir)
        .expect("wallets dir")
        .filter(|e| {
            e.as_ref()
                .map(|e| e.file_name().to_string_lossy().contains(".tmp-"))
                .unwrap_or(false)
        })
        .count()
}

#[test]
fn sigkill_during_wallet_writes_leaves_a_wallet_that_opens() {
    let dir = tempfile::tempdir().expect("tempdir");
    let wallets = dir.path().join("regtest/wallets");
    let file = wallets.join("default.json");
    let out = wallet_offline_command(dir.path(), &["create"])
        .output()
        .expect("create");
    assert!(out.status.success());

    let mut issued: Vec<String> = Vec::new();
    let mut killed_mid_write = 0;
    let mut completed = 0;
    const ROUNDS: u32 = 30;
    for round in 0..ROUNDS {
        let temps_before = stray_temp_files(&wallets);
        let mut child =
            wallet_offline_command(dir.path(), &["getnewaddress", &format!("r{round}")])
                .spawn()
                .expect("spawn getnewaddress");
        // Vary the moment of the kill: right after spawn; as soon as a temporary file of
        // this write appears (mid-write); or after a growing busy-poll of the process.
        match round % 3 {
            0 => {}
            1 => {
                let start = Instant::now();
                while stray_temp_files(&wallets) == temps_before
                    && child.try_wait().expect("try_wait").is_none()
                    && start.elapsed() < TIMEOUT
                {}
            }
            _ => {
                let budget = Duration::from_micros(500 * u64::from(round));
                let start = Instant::now();
                while start.elapsed() < budget && child.try_wait().expect("try_wait").is_none() {}
            }
        }
        let _ = child.kill(); // SIGKILL; an already finished process is left as it is
        let output = child.wait_with_output().expect("wait");
        if output.status.success() {
            completed += 1;
            issued.push(String::from_utf8_lossy(&output.stdout).trim().to_owned());
        } else if stray_temp_files(&wallets) > temps_before {
            killed_mid_write += 1;
        }

        // Whatever the moment, the wallet opens and the file parses.
        let doc: Value = serde_json::from_slice(&std::fs::read(&file).expect("read"))
            .unwrap_or_else(|e| panic!("round {round}: the wallet file does not parse: {e}"));
        assert_eq!(doc["format"], "dotcoin-wallet");
        let info = opens(dir.path(), "info");
        let list = opens(dir.path(), "listaddresses");
        let listed: HashSet<&str> = list
            .as_array()
            .expect("array")
            .iter()
            .map(|a| a["address"].as_str().expect("address"))
            .collect();
        // An address a finished process printed is never lost.
        for a in &issued {
            assert!(listed.contains(a.as_str()), "round {round}: {a} lost");
        }
        assert_eq!(
            info["receive_addresses"].as_u64(),
            Some(listed.len() as u64)
        );
    }
    let stray = stray_temp_files(&wallets);
    assert!(
        completed < ROUNDS && killed_mid_write > 0,
        "{ROUNDS} SIGKILLs: {completed} finished first, {killed_mid_write} killed mid-write, \
         {stray} stray temporary files: some must be killed in the middle of a write"
    );
    // Stray temporary files of killed writes break nothing: a new write works.
    let after = opens(dir.path(), "getnewaddress");
    assert!(after.as_str().is_some_and(|a| a.starts_with("dcrt1p")));
    // Every finished write is there; a process killed after its rename (before printing)
    // may have added one more.
    let count = opens(dir.path(), "listaddresses")
        .as_array()
        .map_or(0, Vec::len) as u32;
    assert!((completed + 1..=ROUNDS + 1).contains(&count), "{count}");
}

/// Runs a wallet command that must succeed on the wallet in `dir`; its output as JSON (a
/// bare string result as a JSON string).
fn opens(dir: &Path, cmd: &str) -> Value {
    let out = wallet_offline_command(dir, &[cmd]).output().expect("run");
    let text = ok_stdout(cmd, &out);
    serde_json::from_str(&text).unwrap_or(Value::String(text))
}

#[test]
fn error_cases_through_the_real_binary() {
    let node = TestNode::start(&[]);
    let a = TestWallet::new(&node);
    a.ok(&["create"]);
    let path = a.file().display().to_string();
    let addr = a.ok(&["getnewaddress"]);
    let (_, to) = test_keypair();

    // `create` when the wallet exists: refused, file untouched.
    let bytes = std::fs::read(a.file()).expect("read");
    assert_eq!(
        a.fails(&["create"]),
        format!("error: wallet file {path} already exists; refusing to overwrite it")
    );
    assert_eq!(std::fs::read(a.file()).expect("read"), bytes);

    node.generate(101, &addr); // 100 DOT spendable, 4950 immature

    // An address of another network: a main-network `dc1p…` address.
    let main = Address::new(
        Network::Main,
        to.parse::<Address>().expect("address").pubkey,
    )
    .to_string();
    assert!(main.starts_with("dc1p"), "{main}");
    assert_eq!(
        a.fails(&["send", &main, "1"]),
        format!("error: invalid address '{main}': address is for network main, expected regtest")
    );
    // A non-positive amount.
    for amount in ["0", "-1"] {
        assert_eq!(
            a.fails(&["send", &to, amount]),
            format!("error: invalid amount '{amount}': the amount must be greater than zero")
        );
    }
    // More than the balance (immature rewards are not spendable).
    assert_eq!(
        a.fails(&["send", &to, "150"]),
        "error: insufficient funds: sending 150.00000000 DOT, but the spendable balance is \
         100.00000000 DOT"
    );
    // All of it: the fee no longer fits.
    let err = a.fails(&["send", &to, "100"]);
    assert!(
        err.starts_with("error: insufficient funds: sending 100.00000000 DOT plus a fee of about ")
            && err.ends_with(
                " DOT exceeds the spendable balance of 100.00000000 DOT (use --subtract-fee to \
                 pay the fee from the amount)"
            ),
        "{err}"
    );
    // None of these sent anything or changed the wallet.
    assert!(mempool(&node).is_empty());
    assert_eq!(a.balance(), balance_text(2 * REWARD, 0, 99 * REWARD));
}

/// A secret's WIF on regtest (version byte 0xef, compressed flag), as `dumpprivkey` writes it.
fn regtest_wif(secret: &[u8; 32]) -> String {
    let mut payload = vec![0xef];
    payload.extend_from_slice(secret);
    payload.push(0x01);
    bitcoincore_rpc::bitcoin::base58::encode_check(&payload)
}
