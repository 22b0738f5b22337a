//! Functional tests of PSBTs across the real programs: a wallet service funds a payment
//! it cannot sign (`walletcreatefundedpsbt`), the PSBT goes to a file, an offline
//! `dotcoin-wallet signpsbt` (no node configured, and in a network namespace of its own
//! where `unshare -n` is available) signs it, the node finalizes it (`finalizepsbt`) and
//! relays it, and it is mined. Plus the node's PSBT calls (`decodepsbt`, `analyzepsbt`,
//! `combinepsbt`, `utxoupdatepsbt`, `converttopsbt`) and their errors for hostile input.
//!
//! Two online wallets: a seed wallet encrypted and locked (it holds keys but cannot use
//! them; the signer reads a copy of its file), and a watch-only wallet holding only the
//! xpub descriptors of a seed wallet made offline (`importdescriptors` of its
//! `listdescriptors` output), whose PSBTs name their keys by BIP32 origin
//! (`PSBT_IN_TAP_BIP32_DERIVATION`) so the offline seed holder signs keys it never handed
//! out. With the watch-only wallet, no seed byte or word sequence reaches the node or
//! the online wallet (files, logs, `/proc/PID/mem`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use dotcoin_functional_tests::{
    bin, bip39_seed, files_under, http_request, scan_process_memory, test_keypair, wait_until,
    wallet_offline_command, Needles, TestNode, WalletServiceProcess, TIMEOUT,
};
use serde_json::{json, Value};

const COIN: u64 = 100_000_000;
const PASSPHRASE: &str = "offline signer's passphrase";

/// Calls `method` on the wallet service's default wallet; the result or (code, message).
fn wallet_call(
    s: &WalletServiceProcess,
    method: &str,
    params: Value,
) -> Result<Value, (i64, String)> {
    wallet_call_at(s, "/", method, params)
}

/// Calls `method` on the service's endpoint `path` (`/wallet/<name>`).
fn wallet_call_at(
    s: &WalletServiceProcess,
    path: &str,
    method: &str,
    params: Value,
) -> Result<Value, (i64, String)> {
    let body = json!({"id": "t", "method": method, "params": params}).to_string();
    let (_, text) = http_request(s.port, "POST", path, &body, Some(&s.cookie_auth()));
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    match v.get("error").filter(|e| !e.is_null()) {
        Some(e) => Err((
            e["code"].as_i64().expect("code"),
            e["message"].as_str().expect("message").to_owned(),
        )),
        None => Ok(v["result"].clone()),
    }
}

fn wallet_rpc(s: &WalletServiceProcess, method: &str, params: Value) -> Value {
    wallet_call(s, method, params.clone())
        .unwrap_or_else(|e| panic!("{method} {params} failed: {e:?}"))
}

fn sat(v: &Value) -> u64 {
    (v.as_f64().unwrap_or_else(|| panic!("not an amount: {v}")) * COIN as f64).round() as u64
}

/// The online wallet: funded with two mature coinbases, then encrypted and locked, so
/// it can fund but not sign. Returns the wallet file the offline signer gets a copy of.
fn online_wallet(node: &TestNode, service: &WalletServiceProcess) -> PathBuf {
    let address = wallet_rpc(service, "getnewaddress", json!([]));
    node.generate(102, address.as_str().expect("address"));
    wallet_rpc(service, "encryptwallet", json!([PASSPHRASE]));
    service
        .datadir
        .join("regtest")
        .join("wallets")
        .join("default.json")
}

/// Whether this machine lets us run a process without network (`unshare -n`).
fn unshare_available() -> bool {
    Command::new("unshare")
        .args(["-n", "true"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The offline signer: `dotcoin-wallet signpsbt FILE` on a datadir of its own holding
/// `wallet_file`, with no node options, in a network namespace with no interfaces but
/// loopback down when the machine allows it. Returns its JSON output.
fn offline_signer(dir: &Path, wallet_file: &Path, psbt_file: &Path) -> Value {
    let wallets = dir.join("regtest").join("wallets");
    std::fs::create_dir_all(&wallets).expect("signer's wallets dir");
    std::fs::copy(wallet_file, wallets.join("default.json")).expect("copy the wallet file");
    let pass = dir.join("passphrase");
    std::fs::write(&pass, PASSPHRASE).expect("passphrase file");
    let wallet_args = [
        "--regtest".to_owned(),
        "--datadir".to_owned(),
        dir.display().to_string(),
        "--passphrase-file".to_owned(),
        pass.display().to_string(),
        "signpsbt".to_owned(),
        psbt_file.display().to_string(),
    ];
    let mut cmd = if unshare_available() {
        let mut c = Command::new("unshare");
        c.arg("-n").arg(bin("dotcoin-wallet"));
        c
    } else {
        Command::new(bin("dotcoin-wallet"))
    };
    let out = cmd
        .args(&wallet_args)
        .stdin(Stdio::null())
        .output()
        .expect("run the offline signer");
    assert!(
        out.status.success(),
        "signpsbt failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("signpsbt prints JSON")
}

#[test]
fn a_locked_online_wallet_and_an_offline_signer_complete_a_payment() {
    let node = &TestNode::start(&[]);
    let service = WalletServiceProcess::start(node, &[]);
    let wallet_file = online_wallet(node, &service);
    let (_, payee) = test_keypair();

    // ---- The online wallet funds the payment without a key: it is locked.
    let funded = wallet_rpc(
        &service,
        "walletcreatefundedpsbt",
        json!([[], [{payee.clone(): 12.5}], 0, {"fee_rate": 3}]),
    );
    let psbt = funded["psbt"].as_str().expect("psbt").to_owned();
    assert!(psbt.starts_with("cHNidP8"), "{psbt}");
    // One input, the payment and change: 4 + 1 + 101 + 1 + 2 × 40 + 4 = 191 bytes signed.
    assert_eq!(sat(&funded["fee"]), 3 * 191, "{funded}");
    assert_eq!(funded["changepos"], 1, "{funded}");
    // It cannot sign while locked, and says so with Core's code.
    let err = wallet_call(&service, "walletprocesspsbt", json!([psbt])).expect_err("locked");
    assert_eq!(err.0, -13, "{err:?}");
    let unsigned = wallet_rpc(
        &service,
        "walletprocesspsbt",
        json!({"psbt": psbt, "sign": false}),
    );
    assert_eq!(unsigned["complete"], false);

    // ---- The node reads it.
    let decoded = node.rpc("decodepsbt", json!([psbt]));
    assert_eq!(
        sat(&decoded["inputs"][0]["witness_utxo"]["amount"]),
        50 * COIN
    );
    assert_eq!(sat(&decoded["fee"]), 3 * 191);
    assert_eq!(decoded["tx"]["vout"][0]["scriptPubKey"]["address"], payee);
    assert_eq!(decoded["psbt_version"], 0);
    let analysis = node.rpc("analyzepsbt", json!([psbt]));
    assert_eq!(analysis["next"], "signer", "{analysis}");
    assert_eq!(analysis["estimated_vsize"], 191);
    assert_eq!(analysis["inputs"][0]["has_utxo"], true);

    // ---- File → offline signer (no node, no network) → file.
    let offline = tempfile::tempdir().expect("signer's datadir");
    let file = offline.path().join("payment.psbt");
    std::fs::File::create(&file)
        .and_then(|mut f| f.write_all(psbt.as_bytes()))
        .expect("write the PSBT file");
    let signed = offline_signer(offline.path(), &wallet_file, &file);
    assert_eq!(signed["complete"], true, "{signed}");
    assert_eq!(signed["signed_inputs"], 1, "{signed}");
    let signed_psbt = std::fs::read_to_string(&file).expect("signed file");
    let signed_psbt = signed_psbt.trim();
    assert_eq!(signed["psbt"], signed_psbt);
    assert_eq!(
        node.rpc("analyzepsbt", json!([signed_psbt]))["next"],
        "finalizer"
    );
    // The combiner merges the unsigned and signed copies into the signed one.
    let combined = node.rpc("combinepsbt", json!([[psbt, signed_psbt]]));
    assert_eq!(
        node.rpc("decodepsbt", json!([combined]))["inputs"][0]["taproot_key_path_sig"],
        node.rpc("decodepsbt", json!([signed_psbt]))["inputs"][0]["taproot_key_path_sig"]
    );

    // ---- The node finalizes, relays, and it is mined.
    let not_extracted = node.rpc("finalizepsbt", json!([signed_psbt, false]));
    assert_eq!(not_extracted["complete"], true);
    assert!(not_extracted["psbt"].is_string() && not_extracted.get("hex").is_none());
    let fin = node.rpc("finalizepsbt", json!([combined]));
    assert_eq!(fin["complete"], true, "{fin}");
    let hex = fin["hex"].as_str().expect("hex");
    let txid = node.rpc("sendrawtransaction", json!([hex]));
    let txid = txid.as_str().expect("txid").to_owned();
    let (_, miner) = test_keypair();
    node.generate(1, &miner);
    let tx = node.rpc("getrawtransaction", json!([txid, 1]));
    assert_eq!(tx["confirmations"], 1, "{tx}");
    assert_eq!(sat(&tx["vout"][0]["value"]), 1_250_000_000);

    // ---- Unlocked, the online wallet does the whole round itself.
    wallet_rpc(&service, "walletpassphrase", json!([PASSPHRASE, 60]));
    wait_until("the service to see the payment confirmed", TIMEOUT, || {
        wallet_rpc(&service, "getbalances", json!([]))["mine"]["untrusted_pending"] == json!(0.0)
    });
    let funded = wallet_rpc(
        &service,
        "walletcreatefundedpsbt",
        json!({"outputs": {payee.clone(): 1}, "options": {"subtractFeeFromOutputs": [0], "changePosition": 0}}),
    );
    assert_eq!(funded["changepos"], 0, "{funded}");
    let processed = wallet_rpc(&service, "walletprocesspsbt", json!([funded["psbt"]]));
    assert_eq!(processed["complete"], true, "{processed}");
    let tx = node.rpc("decoderawtransaction", json!([processed["hex"]]));
    assert_eq!(
        sat(&tx["vout"][1]["value"]),
        COIN - sat(&funded["fee"]),
        "the fee came out of the payment: {tx}"
    );
    let txid = node.rpc("sendrawtransaction", json!([processed["hex"]]));
    node.generate(1, &miner);
    let tx = node.rpc("getrawtransaction", json!([txid, 1]));
    assert_eq!(tx["confirmations"], 1, "{tx}");
}

#[test]
fn the_nodes_psbt_calls_and_their_errors() {
    let node = &TestNode::start(&[]);
    let (_, address) = test_keypair();
    node.generate(101, &address);
    let block = node.rpc("getblock", json!([node.rpc("getblockhash", json!([1])), 2]));
    let coinbase = block["tx"][0]["txid"].as_str().expect("txid").to_owned();
    let (_, payee) = test_keypair();
    let raw = node.rpc(
        "createrawtransaction",
        json!([[{"txid": coinbase, "vout": 0}], {payee: 49}]),
    );
    let psbt = node.rpc("converttopsbt", json!([raw]));
    let psbt = psbt.as_str().expect("base64");
    let before = node.rpc("analyzepsbt", json!([psbt]));
    assert_eq!(before["next"], "updater", "{before}");
    assert!(before.get("fee").is_none());
    let updated = node.rpc("utxoupdatepsbt", json!([psbt]));
    let decoded = node.rpc("decodepsbt", json!([updated]));
    assert_eq!(
        sat(&decoded["inputs"][0]["witness_utxo"]["amount"]),
        50 * COIN
    );
    assert_eq!(
        decoded["inputs"][0]["witness_utxo"]["scriptPubKey"]["address"],
        address
    );
    assert_eq!(sat(&decoded["fee"]), COIN);
    assert_eq!(node.rpc("analyzepsbt", json!([updated]))["next"], "signer");
    let unfinished = node.rpc("finalizepsbt", json!([updated]));
    assert_eq!(unfinished["complete"], false);
    assert_eq!(unfinished["psbt"], updated);

    // Hostile input: Core's code and text.
    for (method, params, code, needle) in [
        (
            "decodepsbt",
            json!(["not base64!"]),
            -22,
            "TX decode failed Invalid base64",
        ),
        (
            "decodepsbt",
            json!(["cHNidA=="]),
            -22,
            "TX decode failed Invalid PSBT magic bytes",
        ),
        (
            "decodepsbt",
            json!(["cHNidP8A"]),
            -22,
            "TX decode failed No unsigned transaction was provided",
        ),
        (
            "combinepsbt",
            json!([[]]),
            -8,
            "Parameter 'txs' cannot be empty",
        ),
        ("finalizepsbt", json!([5]), -3, "psbt"),
        ("converttopsbt", json!(["00"]), -22, "TX decode failed"),
    ] {
        let err = node.try_rpc(method, params.clone()).expect_err("refused");
        assert_eq!(err.code, code, "{method} {params}: {err:?}");
        assert!(err.message.contains(needle), "{method} {params}: {err:?}");
    }
    let other = node.rpc(
        "converttopsbt",
        json!([node.rpc(
            "createrawtransaction",
            json!([[{"txid": coinbase, "vout": 1}], {address: 1}])
        )]),
    );
    let err = node
        .try_rpc("combinepsbt", json!([[psbt, other]]))
        .expect_err("different transactions");
    assert_eq!(err.code, -8);
    assert_eq!(err.message, "PSBTs not compatible (different transactions)");
}

/// Runs the offline `dotcoin-wallet` on `dir`'s wallet; its JSON output.
fn offline(dir: &Path, args: &[&str]) -> Value {
    let out = wallet_offline_command(dir, args)
        .output()
        .expect("run dotcoin-wallet");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON")
}

#[test]
fn a_watch_only_online_wallet_and_an_offline_seed_signer_complete_a_payment() {
    // ---- Offline: the seed wallet, and its public descriptors.
    let seed_dir = tempfile::tempdir().expect("seed holder's datadir");
    let created = offline(seed_dir.path(), &["create"]);
    let words = created["mnemonic"].as_str().expect("words").to_owned();
    let listed = offline(seed_dir.path(), &["listdescriptors"]);
    let seed_file = seed_dir.path().join("regtest/wallets/default.json");

    // ---- Online: a watch-only wallet of those descriptors, beside a node.
    let node = &TestNode::start(&["--debug", "all"]);
    let service = WalletServiceProcess::start_env(node, &[], &[("RUST_LOG", "trace")]);
    let watch = "/wallet/watch";
    wallet_rpc(
        &service,
        "createwallet",
        json!({"wallet_name": "watch", "disable_private_keys": true, "blank": true}),
    );
    let requests: Vec<Value> = listed["descriptors"]
        .as_array()
        .expect("descriptors")
        .iter()
        .map(|d| json!({"desc": d["desc"], "active": true, "internal": d["internal"], "range": d["range"], "timestamp": "now"}))
        .collect();
    let imported = wallet_call_at(&service, watch, "importdescriptors", json!([requests]))
        .expect("importdescriptors");
    assert_eq!(imported, json!([{"success": true}, {"success": true}]));
    // Keys past the 20 the seed holder's file derived: found by their origin alone.
    let mut address = Value::Null;
    for _ in 0..25 {
        address = wallet_call_at(&service, watch, "getnewaddress", json!([])).expect("address");
    }
    let info = wallet_call_at(&service, watch, "getaddressinfo", json!([address])).expect("info");
    assert_eq!(info["hdkeypath"], "m/86h/1h/0h/0/24", "{info}");
    assert_eq!(info["iswatchonly"], true, "{info}");
    node.generate(101, address.as_str().expect("address"));
    let height = node.rpc("getblockcount", json!([]));
    wait_until("the watch-only wallet to follow the tip", TIMEOUT, || {
        wallet_call_at(&service, watch, "getwalletinfo", json!([])).expect("info")
            ["lastprocessedblock"]["height"]
            == height
    });

    // ---- The watch-only wallet funds; it cannot sign.
    let (_, payee) = test_keypair();
    let funded = wallet_call_at(
        &service,
        watch,
        "walletcreatefundedpsbt",
        json!([[], [{payee.clone(): 7}], 0, {"fee_rate": 2}]),
    )
    .expect("funded");
    let psbt = funded["psbt"].as_str().expect("psbt").to_owned();
    let processed =
        wallet_call_at(&service, watch, "walletprocesspsbt", json!([psbt])).expect("processed");
    assert_eq!(processed["complete"], false, "{processed}");
    let decoded = node.rpc("decodepsbt", json!([psbt]));
    assert!(
        decoded["inputs"][0]
            .to_string()
            .contains("m/86'/1'/0'/0/24"),
        "the input names its key's origin: {decoded}"
    );

    // ---- File → offline seed signer (no node, no network) → node → mined.
    let signer = tempfile::tempdir().expect("signer's datadir");
    let file = signer.path().join("payment.psbt");
    std::fs::write(&file, &psbt).expect("write the PSBT file");
    let signed = offline_signer(signer.path(), &seed_file, &file);
    assert_eq!(signed["complete"], true, "{signed}");
    assert_eq!(signed["signed_inputs"], 1, "{signed}");
    let fin = node.rpc("finalizepsbt", json!([signed["psbt"]]));
    assert_eq!(fin["complete"], true, "{fin}");
    let txid = node.rpc("sendrawtransaction", json!([fin["hex"]]));
    node.generate(1, &test_keypair().1);
    let tx = node.rpc("getrawtransaction", json!([txid, 1]));
    assert_eq!(tx["confirmations"], 1, "{tx}");
    assert_eq!(sat(&tx["vout"][0]["value"]), 7 * COIN);

    // ---- Key isolation: the words, the BIP39 seed and the master key are nowhere online.
    let seed = bip39_seed(&words, "");
    let master = {
        use bitcoin_hashes::{sha512, Hash as _, Hmac, HmacEngine};
        let mut engine = HmacEngine::<sha512::Hash>::new(b"Bitcoin seed");
        bitcoin_hashes::HashEngine::input(&mut engine, &seed);
        Hmac::<sha512::Hash>::from_engine(engine).to_byte_array()
    };
    let one = |v: Vec<u8>| Needles::new(&[v].into_iter().collect());
    let needles = [
        one(words.as_bytes().to_vec()),
        // Any three words in a row (the words split across buffers or lines).
        one(words
            .split(' ')
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
            .into_bytes()),
        one(seed.to_vec()),
        one(hex::encode(seed).into_bytes()),
        one(master[..32].to_vec()),
        one(hex::encode(&master[..32]).into_bytes()),
    ];
    let refs: Vec<&Needles> = needles.iter().collect();
    // Positive control: the scan finds what the service holds, the watched key.
    let control = one(hex::decode(info["witness_program"].as_str().expect("key")).expect("hex"));
    assert!(!scan_process_memory(service.pid(), &[&control]).is_empty());
    for (who, pid) in [("node", node.pid()), ("online wallet", service.pid())] {
        let hits = scan_process_memory(pid, &refs);
        assert!(
            hits.is_empty(),
            "seed material in the {who}'s memory: {}",
            hits.len()
        );
    }
    let log = service.log();
    assert!(log.contains("watch"), "the service log has its events");
    for n in &needles {
        assert!(
            n.find(log.as_bytes()).is_none(),
            "seed material in the service's log"
        );
    }
    for f in files_under(&service.datadir)
        .into_iter()
        .chain(files_under(&node.datadir()))
    {
        let bytes = std::fs::read(&f).expect("read");
        for n in &needles {
            assert!(n.find(&bytes).is_none(), "seed material in {}", f.display());
        }
    }
    // The seed file itself holds the words: the scan would have found them.
    assert!(needles[0]
        .find(&std::fs::read(&seed_file).expect("seed file"))
        .is_some());
}
