//! The wallet RPCs: one table of methods with Bitcoin Core's names and parameter names
//! (named parameters are put in place from it), and one handler per method. Results are
//! built as [`Json`] so amounts go out as numbers with exactly 8 decimals.
//!
//! The methods are registered from this table rather than a `#[rpc]` trait (STYLE item
//! 8): Core's named parameters, its `-3` type errors (not jsonrpsee's `-32602`) and its
//! bounds need each call's raw parameters, read by [`super::params`].
//!
//! Each handler takes the wallet's lock for the whole call, so two sends of one wallet
//! never pick the same coins; the lock is a tokio mutex, free to be held across the node
//! calls.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use dotcoin_common::rpc_types::{
    AddressUtxo, DecodedTx, ScriptPubKey, TxInVerbose, FINAL_SEQUENCE,
};
use dotcoin_common::{encode, Address, Amount, FeeRate, PubKey, Transaction, TxOut, Txid};
use dotcoin_rpc_server::Endpoint;
use jsonrpsee::RpcModule;
use serde_json::value::RawValue;
use serde_json::Value;

use super::params::{self, Code, Params, RpcFailure, RpcResult};
use super::{now, Service, WalletHandle, MAX_UNLOCK_SECONDS};
use crate::commands;
use crate::node::{self, TxInfo};
use crate::output::Json;
use crate::wallet::{self, Purpose, SendRequest};

/// The default fee rate when a call gives none, in base units per byte (the command-line
/// wallet's default).
pub const DEFAULT_FEE_RATE: FeeRate = FeeRate::from_sat_per_vb(2);

/// Every method with its parameter names, in Core's order.
pub const METHODS: &[(&str, &[&str])] = &[
    ("backupwallet", &["destination"]),
    (
        "createwallet",
        &[
            "wallet_name",
            "disable_private_keys",
            "blank",
            "passphrase",
            "avoid_reuse",
            "descriptors",
            "load_on_startup",
            "external_signer",
        ],
    ),
    ("dumpprivkey", &["address"]),
    ("encryptwallet", &["passphrase"]),
    ("getaddressinfo", &["address"]),
    (
        "getbalance",
        &["dummy", "minconf", "include_watchonly", "avoid_reuse"],
    ),
    ("getbalances", &[]),
    ("getnewaddress", &["label", "address_type"]),
    ("getrawchangeaddress", &["address_type"]),
    ("gettransaction", &["txid", "include_watchonly", "verbose"]),
    ("getwalletinfo", &[]),
    ("help", &["command"]),
    ("importprivkey", &["privkey", "label", "rescan"]),
    ("listaddressgroupings", &[]),
    (
        "listtransactions",
        &["label", "count", "skip", "include_watchonly"],
    ),
    (
        "listunspent",
        &[
            "minconf",
            "maxconf",
            "addresses",
            "include_unsafe",
            "query_options",
        ],
    ),
    ("listwallets", &[]),
    ("loadwallet", &["filename", "load_on_startup"]),
    (
        "sendmany",
        &[
            "dummy",
            "amounts",
            "minconf",
            "comment",
            "subtractfeefrom",
            "replaceable",
            "conf_target",
            "estimate_mode",
            "fee_rate",
            "verbose",
        ],
    ),
    (
        "sendtoaddress",
        &[
            "address",
            "amount",
            "comment",
            "comment_to",
            "subtractfeefromamount",
            "replaceable",
            "conf_target",
            "estimate_mode",
            "avoid_reuse",
            "fee_rate",
            "verbose",
        ],
    ),
    (
        "signrawtransactionwithwallet",
        &["hexstring", "prevtxs", "sighashtype"],
    ),
    ("stop", &[]),
    ("unloadwallet", &["wallet_name", "load_on_startup"]),
    ("walletlock", &[]),
    ("walletpassphrase", &["passphrase", "timeout"]),
    (
        "walletpassphrasechange",
        &["oldpassphrase", "newpassphrase"],
    ),
];

/// `method`'s parameter names, for the wire to put named parameters in place.
pub(super) fn names_of(method: &str) -> Option<&'static [&'static str]> {
    METHODS.iter().find(|(m, _)| *m == method).map(|(_, n)| *n)
}

/// The jsonrpsee module: every method of [`METHODS`], each taking its positional
/// parameters as [`super::wire`] put them in place, and its wallet from the request's
/// endpoint.
pub fn module(service: Arc<Service>) -> RpcModule<Service> {
    let mut module = RpcModule::from_arc(service);
    for (name, _) in METHODS {
        module
            .register_async_method(name, move |p, svc, ext| async move {
                let list: Vec<Value> = p
                    .parse()
                    .map_err(|_| RpcFailure::new(Code::Misc, "malformed internal call"))?;
                let endpoint = ext.get::<Endpoint>().and_then(|e| e.0.clone());
                let json = dispatch(name, &svc, endpoint.as_deref(), &list).await?;
                RawValue::from_string(json.compact())
                    .map_err(|e| RpcFailure::new(Code::Misc, format!("bad result: {e}")))
            })
            .expect("method names are unique");
    }
    module
}

async fn dispatch(
    method: &str,
    svc: &Arc<Service>,
    endpoint: Option<&str>,
    list: &[Value],
) -> RpcResult<Json> {
    let p = Params(list);
    // Calls about the set of wallets, not one wallet.
    match method {
        "help" => return help(&p),
        "stop" => {
            svc.shutdown.notify_one();
            return Ok(Json::Str("dotcoin-wallet service stopping".into()));
        }
        "listwallets" => {
            return Ok(Json::Arr(
                svc.loaded_names().into_iter().map(Json::Str).collect(),
            ))
        }
        "loadwallet" => {
            let name = p.req_str(0, "filename")?;
            p.bool(1, false)?;
            svc.load(name, false)?;
            return Ok(loaded_reply(name));
        }
        "createwallet" => return createwallet(svc, &p).await,
        "unloadwallet" => {
            let name = match (p.str(0)?, endpoint) {
                (Some(a), Some(b)) if a != b => {
                    return Err(RpcFailure::new(
                        Code::InvalidParameter,
                        "RPC endpoint wallet and wallet_name parameter specify different \
                         wallets",
                    ))
                }
                (Some(a), _) => a.to_owned(),
                (None, Some(b)) => b.to_owned(),
                (None, None) => svc.wallet_for(None)?.lock().await.name.clone(),
            };
            p.bool(1, false)?;
            svc.unload(&name)?;
            return Ok(Json::obj([("warnings", Json::Arr(vec![]))]));
        }
        _ => {}
    }
    let handle = svc.wallet_for(endpoint)?;
    match method {
        "getnewaddress" => getnewaddress(&handle, &p).await,
        "getrawchangeaddress" => getrawchangeaddress(&handle, &p).await,
        "getbalance" => getbalance(svc, &handle, &p).await,
        "getbalances" => getbalances(svc, &handle).await,
        "getwalletinfo" => getwalletinfo(svc, &handle).await,
        "listunspent" => listunspent(svc, &handle, &p).await,
        "listtransactions" => listtransactions(svc, &handle, &p).await,
        "gettransaction" => gettransaction(svc, &handle, &p).await,
        "sendtoaddress" => sendtoaddress(svc, &handle, &p).await,
        "sendmany" => sendmany(svc, &handle, &p).await,
        "walletpassphrase" => walletpassphrase(&handle, &p).await,
        "walletlock" => walletlock(&handle).await,
        "encryptwallet" => encryptwallet(svc, &handle, &p).await,
        "walletpassphrasechange" => walletpassphrasechange(svc, &handle, &p).await,
        "dumpprivkey" => dumpprivkey(svc, &handle, &p).await,
        "importprivkey" => importprivkey(&handle, &p).await,
        "backupwallet" => backupwallet(&handle, &p).await,
        "getaddressinfo" => getaddressinfo(svc, &handle, &p).await,
        "listaddressgroupings" => listaddressgroupings(svc, &handle).await,
        "signrawtransactionwithwallet" => signrawtransactionwithwallet(svc, &handle, &p).await,
        _ => Err(RpcFailure::new(Code::Misc, "Method not found")),
    }
}

fn help(p: &Params<'_>) -> RpcResult<Json> {
    if let Some(command) = p.str(0)? {
        let names = names_of(command).ok_or_else(|| {
            RpcFailure::new(Code::Misc, format!("help: unknown command: {command}"))
        })?;
        return Ok(Json::Str(format!("{command} {}", names.join(" "))));
    }
    let lines: Vec<String> = METHODS
        .iter()
        .map(|(m, names)| {
            let args: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
            format!("{m} {}", args.join(" ")).trim_end().to_owned()
        })
        .collect();
    Ok(Json::Str(format!("== Wallet ==\n{}", lines.join("\n"))))
}

fn loaded_reply(name: &str) -> Json {
    Json::obj([
        ("name", Json::Str(name.to_owned())),
        ("warnings", Json::Arr(vec![])),
    ])
}

fn unsupported(what: &str) -> RpcFailure {
    RpcFailure::new(
        Code::Wallet,
        format!("{what} is not supported by this wallet"),
    )
}

async fn createwallet(svc: &Arc<Service>, p: &Params<'_>) -> RpcResult<Json> {
    let name = p.req_str(0, "wallet_name")?;
    if p.bool(1, false)? {
        return Err(unsupported("disable_private_keys"));
    }
    p.bool(2, false)?;
    let passphrase = p.str(3)?.map(|s| zeroize::Zeroizing::new(s.to_owned()));
    if p.bool(4, false)? {
        return Err(unsupported("avoid_reuse"));
    }
    p.bool(5, true)?;
    p.bool(6, false)?;
    if p.bool(7, false)? {
        return Err(unsupported("external_signer"));
    }
    let handle = svc.load(name, true)?;
    if let Some(pass) = passphrase.filter(|s| !s.is_empty()) {
        // Another call may already have found the new wallet: wait for it.
        let mut loaded = handle.lock().await;
        let kdf = svc.kdf;
        tokio::task::block_in_place(|| loaded.wallet.encrypt(pass.as_bytes(), kdf))?;
        loaded.relock();
        loaded.persist()?;
    }
    Ok(loaded_reply(name))
}

fn check_address_type(t: Option<&str>) -> RpcResult<()> {
    match t {
        None | Some("bech32m") => Ok(()),
        Some(other) => Err(RpcFailure::new(
            Code::InvalidAddressOrKey,
            format!("Unknown address type '{other}'"),
        )),
    }
}

async fn getnewaddress(handle: &WalletHandle, p: &Params<'_>) -> RpcResult<Json> {
    let label = params::label(p.str(0)?)?;
    check_address_type(p.str(1)?)?;
    let mut loaded = handle.lock().await;
    let address = loaded.wallet.new_address(&label)?;
    loaded.persist()?;
    Ok(Json::Str(address.to_string()))
}

async fn getrawchangeaddress(handle: &WalletHandle, p: &Params<'_>) -> RpcResult<Json> {
    check_address_type(p.str(0)?)?;
    let mut loaded = handle.lock().await;
    let pubkey = loaded.wallet.next_pool_pubkey()?;
    let address = loaded.wallet.issue(pubkey, Purpose::Change, "")?;
    loaded.persist()?;
    Ok(Json::Str(address.to_string()))
}

/// The wallet's outputs as the node sees them now.
async fn utxos(svc: &Service, wallet: &wallet::Wallet) -> RpcResult<Vec<AddressUtxo>> {
    Ok(node::address_utxos(&svc.node, &wallet.watched_addresses()).await?)
}

/// Core's balance buckets: trusted (confirmed, and pending change of our own sends),
/// untrusted pending (pending receipts from others), immature coinbase.
struct Buckets {
    trusted: Amount,
    untrusted: Amount,
    immature: Amount,
}

fn is_trusted(wallet: &wallet::Wallet, u: &AddressUtxo) -> bool {
    u.confirmations > 0
        || wallet
            .record(&u.address)
            .is_some_and(|k| k.purpose == Purpose::Change)
}

fn buckets(wallet: &wallet::Wallet, utxos: &[AddressUtxo]) -> Buckets {
    let mut b = Buckets {
        trusted: Amount::ZERO,
        untrusted: Amount::ZERO,
        immature: Amount::ZERO,
    };
    for u in utxos.iter().filter(|u| !u.spent_in_mempool) {
        let bucket = if u.immature {
            &mut b.immature
        } else if is_trusted(wallet, u) {
            &mut b.trusted
        } else {
            &mut b.untrusted
        };
        *bucket = bucket
            .checked_add(Amount::from_sat(u.satoshis))
            .unwrap_or(*bucket);
    }
    b
}

async fn getbalance(svc: &Service, handle: &WalletHandle, p: &Params<'_>) -> RpcResult<Json> {
    match p.str(0) {
        Ok(None | Some("*")) => {}
        _ => {
            return Err(RpcFailure {
                code: -32,
                message: "dummy first argument must be excluded or set to \"*\".".into(),
            })
        }
    }
    let minconf = p.int(1, 0)?;
    if minconf < 0 {
        return Err(RpcFailure::new(
            Code::InvalidParameter,
            "Invalid parameter, minconf must be non-negative",
        ));
    }
    p.bool(2, true)?;
    p.bool(3, true)?;
    let loaded = handle.lock().await;
    let utxos = utxos(svc, &loaded.wallet).await?;
    let total: u64 = utxos
        .iter()
        .filter(|u| !u.spent_in_mempool && !u.immature)
        .filter(|u| {
            if minconf == 0 {
                is_trusted(&loaded.wallet, u)
            } else {
                i64::from(u.confirmations) >= minconf
            }
        })
        .map(|u| u.satoshis)
        .sum();
    Ok(Json::amount(Amount::from_sat(total)))
}

fn last_processed(svc: &Service) -> Json {
    match *svc.tip.borrow() {
        Some(tip) => Json::obj([
            ("hash", Json::Str(tip.hash.to_string())),
            ("height", Json::Int(i64::from(tip.height))),
        ]),
        None => Json::Null,
    }
}

async fn getbalances(svc: &Service, handle: &WalletHandle) -> RpcResult<Json> {
    let loaded = handle.lock().await;
    let b = buckets(&loaded.wallet, &utxos(svc, &loaded.wallet).await?);
    Ok(Json::obj([
        (
            "mine",
            Json::obj([
                ("trusted", Json::amount(b.trusted)),
                ("untrusted_pending", Json::amount(b.untrusted)),
                ("immature", Json::amount(b.immature)),
            ]),
        ),
        ("lastprocessedblock", last_processed(svc)),
    ]))
}

async fn getwalletinfo(svc: &Service, handle: &WalletHandle) -> RpcResult<Json> {
    let loaded = handle.lock().await;
    let w = &loaded.wallet;
    let b = buckets(w, &utxos(svc, w).await?);
    let txcount = node::address_txids(&svc.node, &w.watched_addresses())
        .await?
        .len();
    let mut fields = vec![
        ("walletname".to_owned(), Json::Str(loaded.name.clone())),
        (
            "walletversion".to_owned(),
            Json::Int(i64::from(w.file().version)),
        ),
        ("format".to_owned(), Json::Str("json".into())),
        ("balance".to_owned(), Json::amount(b.trusted)),
        ("unconfirmed_balance".to_owned(), Json::amount(b.untrusted)),
        ("immature_balance".to_owned(), Json::amount(b.immature)),
        ("txcount".to_owned(), Json::Int(txcount as i64)),
        ("keypoolsize".to_owned(), Json::Int(w.keypool_len() as i64)),
        // Change draws on the same pool as receiving addresses.
        (
            "keypoolsize_hd_internal".to_owned(),
            Json::Int(w.keypool_len() as i64),
        ),
    ];
    if w.is_encrypted() {
        let until = if w.is_unlocked() {
            loaded.unlocked_until.unwrap_or(0)
        } else {
            0
        };
        fields.push(("unlocked_until".to_owned(), Json::Int(until as i64)));
    }
    fields.extend([
        ("paytxfee".to_owned(), Json::Amount(0)),
        ("private_keys_enabled".to_owned(), Json::Bool(true)),
        ("avoid_reuse".to_owned(), Json::Bool(false)),
        ("scanning".to_owned(), Json::Bool(false)),
        ("descriptors".to_owned(), Json::Bool(false)),
        ("external_signer".to_owned(), Json::Bool(false)),
        ("blank".to_owned(), Json::Bool(false)),
        ("lastprocessedblock".to_owned(), last_processed(svc)),
    ]);
    Ok(Json::Obj(fields))
}

fn address_list(
    p: &Params<'_>,
    i: usize,
    network: dotcoin_common::Network,
) -> RpcResult<Option<HashSet<String>>> {
    let Some(v) = p.0.get(i).filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let Value::Array(items) = v else {
        return Err(RpcFailure::new(
            Code::Type,
            "JSON value is not of expected type array",
        ));
    };
    let mut set = HashSet::new();
    for item in items {
        let s = item.as_str().ok_or_else(|| {
            RpcFailure::new(Code::Type, "JSON value is not of expected type string")
        })?;
        let a = params::address(s, network)?.to_string();
        if !set.insert(a) {
            return Err(RpcFailure::new(
                Code::InvalidParameter,
                format!("Invalid parameter, duplicated address: {s}"),
            ));
        }
    }
    Ok(Some(set))
}

async fn listunspent(svc: &Service, handle: &WalletHandle, p: &Params<'_>) -> RpcResult<Json> {
    let minconf = p.int(0, 1)?;
    let maxconf = p.int(1, 9_999_999)?;
    let filter = address_list(p, 2, svc.network)?;
    let include_unsafe = p.bool(3, true)?;
    if let Some(v) = p.0.get(4).filter(|v| !v.is_null() && !v.is_object()) {
        return Err(RpcFailure::new(
            Code::Type,
            format!("query_options must be an object, not {v}"),
        ));
    }
    let loaded = handle.lock().await;
    let w = &loaded.wallet;
    let list = utxos(svc, w)
        .await?
        .into_iter()
        .filter(|u| !u.spent_in_mempool && !u.immature)
        .filter(|u| {
            let c = i64::from(u.confirmations);
            c >= minconf && c <= maxconf
        })
        .filter(|u| filter.as_ref().is_none_or(|f| f.contains(&u.address)))
        .filter(|u| include_unsafe || is_trusted(w, u))
        .map(|u| {
            let label = w
                .record(&u.address)
                .map(|k| k.label.clone())
                .unwrap_or_default();
            let script = script_of(&u.address, svc.network);
            Json::obj([
                ("txid", Json::Str(u.txid.to_string())),
                ("vout", Json::Int(i64::from(u.output_index))),
                ("address", Json::Str(u.address.clone())),
                ("label", Json::Str(label)),
                ("scriptPubKey", Json::Str(script.hex)),
                ("amount", Json::amount(Amount::from_sat(u.satoshis))),
                ("confirmations", Json::Int(i64::from(u.confirmations))),
                ("spendable", Json::Bool(true)),
                ("solvable", Json::Bool(true)),
                ("desc", Json::Str(script.desc)),
                // Keys are not derived from a descriptor, so no wallet descriptor is
                // the parent of this one.
                ("parent_descs", Json::Arr(Vec::new())),
                ("safe", Json::Bool(is_trusted(w, &u))),
            ])
        })
        .collect();
    Ok(Json::Arr(list))
}

/// The script (and descriptor) of an output paying `address`, an address the node itself
/// reported or the wallet made, so it parses; an address that does not parses as the
/// empty script.
fn script_of(address: &str, network: dotcoin_common::Network) -> ScriptPubKey {
    match Address::parse_for(address, network) {
        Ok(a) => ScriptPubKey::for_key(&a.pubkey, network),
        Err(_) => ScriptPubKey {
            asm: String::new(),
            desc: String::new(),
            hex: String::new(),
            address: address.to_owned(),
            kind: "nonstandard".into(),
        },
    }
}

/// The wallet's transactions, oldest first, as the node's address index has them now, and
/// the net effect of each (the command-line wallet's `listtransactions` entries).
async fn history(svc: &Service, w: &wallet::Wallet) -> RpcResult<(Vec<TxInfo>, Vec<Json>)> {
    let maturity = node::blockchain_info(&svc.node).await?.coinbase_maturity;
    let txids = node::address_txids(&svc.node, &w.watched_addresses()).await?;
    let mut infos = Vec::with_capacity(txids.len());
    for txid in &txids {
        infos.push(node::raw_transaction(&svc.node, txid).await?);
    }
    let ours: HashSet<PubKey> = w
        .watched_addresses()
        .iter()
        .filter_map(|a| a.parse::<Address>().ok().map(|a| a.pubkey))
        .collect();
    let entries = commands::history(w, &infos, &ours, maturity);
    Ok((infos, entries))
}

fn field<'a>(entry: &'a Json, name: &str) -> Option<&'a Json> {
    match entry {
        Json::Obj(fields) => fields.iter().find(|(k, _)| k == name).map(|(_, v)| v),
        _ => None,
    }
}

async fn listtransactions(svc: &Service, handle: &WalletHandle, p: &Params<'_>) -> RpcResult<Json> {
    let label = p.str(0)?.filter(|l| *l != "*").map(str::to_owned);
    let count = p.int(1, 10)?;
    let skip = p.int(2, 0)?;
    p.bool(3, true)?;
    if count < 0 {
        return Err(RpcFailure::new(Code::InvalidParameter, "Negative count"));
    }
    if skip < 0 {
        return Err(RpcFailure::new(Code::InvalidParameter, "Negative from"));
    }
    let loaded = handle.lock().await;
    let (_, entries) = history(svc, &loaded.wallet).await?;
    let entries: Vec<Json> = entries
        .into_iter()
        .filter(|e| match &label {
            None => true,
            Some(l) => matches!(field(e, "label"), Some(Json::Str(s)) if s == l),
        })
        .collect();
    // The most recent `count` after skipping the `skip` most recent, oldest first.
    let end = entries
        .len()
        .saturating_sub(usize::try_from(skip).unwrap_or(usize::MAX));
    let start = end.saturating_sub(usize::try_from(count).unwrap_or(usize::MAX));
    Ok(Json::Arr(entries[start..end].to_vec()))
}

fn parse_txid(s: &str) -> RpcResult<Txid> {
    if s.len() != 64 {
        return Err(RpcFailure::new(
            Code::InvalidParameter,
            format!("txid must be of length 64 (not {}, for '{s}')", s.len()),
        ));
    }
    s.parse().map_err(|_| {
        RpcFailure::new(
            Code::InvalidParameter,
            format!("txid must be hexadecimal string (not '{s}')"),
        )
    })
}

async fn gettransaction(svc: &Service, handle: &WalletHandle, p: &Params<'_>) -> RpcResult<Json> {
    let txid = parse_txid(p.req_str(0, "txid")?)?;
    p.bool(1, true)?;
    let verbose = p.bool(2, false)?;
    let loaded = handle.lock().await;
    let (infos, entries) = history(svc, &loaded.wallet).await?;
    let not_ours = || {
        RpcFailure::new(
            Code::InvalidAddressOrKey,
            "Invalid or non-wallet transaction id",
        )
    };
    let index = infos
        .iter()
        .position(|i| i.tx.txid() == txid)
        .ok_or_else(not_ours)?;
    let (info, entry) = (&infos[index], &entries[index]);
    // Core's fields, from the history entry (one net entry per transaction here).
    let mut fields: Vec<(String, Json)> = Vec::new();
    for name in [
        "amount",
        "fee",
        "confirmations",
        "generated",
        "trusted",
        "blockhash",
        "blockheight",
        "blockindex",
        "blocktime",
        "txid",
        "wtxid",
        "walletconflicts",
        "time",
        "timereceived",
        "bip125-replaceable",
    ] {
        if let Some(v) = field(entry, name) {
            fields.push((name.to_owned(), v.clone()));
        }
    }
    let mut detail = Vec::new();
    for name in [
        "address",
        "category",
        "amount",
        "label",
        "vout",
        "fee",
        "abandoned",
    ] {
        if let Some(v) = field(entry, name) {
            detail.push((name.to_owned(), v.clone()));
        }
    }
    fields.push(("details".to_owned(), Json::Arr(vec![Json::Obj(detail)])));
    fields.push((
        "hex".to_owned(),
        Json::Str(hex::encode(encode::serialize(&info.tx))),
    ));
    if verbose {
        fields.push(("decoded".to_owned(), decoded(&info.tx, svc.network)));
    }
    Ok(Json::Obj(fields))
}

/// `tx` as `decoderawtransaction` shows it, for `gettransaction`'s `decoded` (Core's
/// shape, built here as [`Json`] so the amounts keep their 8 decimals).
fn decoded(tx: &Transaction, network: dotcoin_common::Network) -> Json {
    let d = DecodedTx::from_tx(tx, network);
    let int = |n: u64| Json::Int(i64::try_from(n).unwrap_or(i64::MAX));
    let script = |s: &ScriptPubKey| {
        Json::obj([
            ("asm", Json::Str(s.asm.clone())),
            ("desc", Json::Str(s.desc.clone())),
            ("hex", Json::Str(s.hex.clone())),
            ("address", Json::Str(s.address.clone())),
            ("type", Json::Str(s.kind.clone())),
        ])
    };
    let vin = d
        .vin
        .iter()
        .map(|input| match input {
            TxInVerbose::Coinbase {
                coinbase,
                height,
                sequence,
            } => Json::obj([
                ("coinbase", Json::Str(coinbase.clone())),
                ("height", int(u64::from(*height))),
                ("sequence", int(u64::from(*sequence))),
            ]),
            TxInVerbose::Spend {
                txid,
                vout,
                script_sig,
                txinwitness,
                witness,
                sequence,
                ..
            } => Json::obj([
                ("txid", Json::Str(txid.to_string())),
                ("vout", int(u64::from(*vout))),
                (
                    "scriptSig",
                    Json::obj([
                        ("asm", Json::Str(script_sig.asm.clone())),
                        ("hex", Json::Str(script_sig.hex.clone())),
                    ]),
                ),
                (
                    "txinwitness",
                    Json::Arr(txinwitness.iter().cloned().map(Json::Str).collect()),
                ),
                ("witness", Json::Str(witness.clone())),
                ("sequence", int(u64::from(*sequence))),
            ]),
        })
        .collect();
    let vout = d
        .vout
        .iter()
        .map(|o| {
            Json::obj([
                ("value", Json::amount(o.value)),
                ("n", int(u64::from(o.n))),
                ("address", Json::Str(o.address.clone())),
                ("pubkey", Json::Str(o.pubkey.clone())),
                ("scriptPubKey", script(&o.script_pub_key)),
            ])
        })
        .collect();
    Json::obj([
        ("txid", Json::Str(d.txid.to_string())),
        ("hash", Json::Str(d.hash.to_string())),
        ("version", int(u64::from(d.version))),
        ("size", int(d.size)),
        ("vsize", int(d.vsize)),
        ("weight", int(d.weight)),
        ("locktime", int(u64::from(d.locktime))),
        ("vin", Json::Arr(vin)),
        ("vout", Json::Arr(vout)),
    ])
}

fn estimate_mode(p: &Params<'_>, conf_i: usize, mode_i: usize, has_rate: bool) -> RpcResult<()> {
    let conf = p.int(conf_i, 0)?;
    if conf < 0 {
        return Err(RpcFailure::new(
            Code::InvalidParameter,
            "Invalid conf_target, must be between 1 and 1008",
        ));
    }
    let mode = p.str(mode_i)?;
    match mode.map(str::to_ascii_lowercase).as_deref() {
        None | Some("unset") | Some("economical") | Some("conservative") => {}
        Some(_) => {
            return Err(RpcFailure::new(
                Code::InvalidParameter,
                "Invalid estimate_mode parameter, must be one of: \"unset\", \"economical\", \
                 \"conservative\"",
            ))
        }
    }
    if has_rate && (conf > 0 || mode.is_some_and(|m| !m.eq_ignore_ascii_case("unset"))) {
        return Err(RpcFailure::new(
            Code::InvalidParameter,
            "Cannot specify both conf_target and fee_rate. Please provide either a \
             confirmation target in blocks for automatic fee estimation, or an explicit fee \
             rate.",
        ));
    }
    Ok(())
}

/// Builds, checks against `maxtxfee`, persists (the change key first), then broadcasts.
async fn send(
    svc: &Service,
    handle: &WalletHandle,
    payments: Vec<(Address, Amount)>,
    fee_rate: Option<FeeRate>,
    subtract_fee: bool,
    verbose: bool,
) -> RpcResult<Json> {
    let mut loaded = handle.lock().await;
    if !loaded.wallet.is_unlocked() {
        return Err(RpcFailure::new(Code::UnlockNeeded, params::UNLOCK_NEEDED));
    }
    let utxos = utxos(svc, &loaded.wallet).await?;
    let explicit = fee_rate.is_some();
    let request = SendRequest {
        payments,
        fee_rate: fee_rate.unwrap_or(DEFAULT_FEE_RATE),
        subtract_fee,
    };
    let prepared = loaded.wallet.prepare_send(&utxos, &request)?;
    if prepared.fee > svc.maxtxfee {
        return Err(RpcFailure::new(
            Code::InsufficientFunds,
            "Fee exceeds maximum configured by user (e.g. -maxtxfee, maxfeerate)",
        ));
    }
    loaded.persist()?;
    let txid = node::send_raw_transaction(&svc.node, &prepared.tx).await?;
    tracing::info!(target: "wallet", wallet = %loaded.name, %txid, fee = %prepared.fee, "sent");
    if verbose {
        let reason = if explicit {
            "Fee rate set by the caller"
        } else {
            "Fallback fee"
        };
        return Ok(Json::obj([
            ("txid", Json::Str(txid.to_string())),
            ("fee_reason", Json::Str(reason.into())),
        ]));
    }
    Ok(Json::Str(txid.to_string()))
}

async fn sendtoaddress(svc: &Service, handle: &WalletHandle, p: &Params<'_>) -> RpcResult<Json> {
    let to = params::address(p.req_str(0, "address")?, svc.network)?;
    let amount = p.amount(1, "amount")?;
    p.str(2)?;
    p.str(3)?;
    let subtract = p.bool(4, false)?;
    p.bool(5, true)?;
    let fee_rate = p.fee_rate(9)?;
    estimate_mode(p, 6, 7, fee_rate.is_some())?;
    if p.bool(8, false)? {
        return Err(unsupported("avoid_reuse"));
    }
    let verbose = p.bool(10, false)?;
    send(svc, handle, vec![(to, amount)], fee_rate, subtract, verbose).await
}

async fn sendmany(svc: &Service, handle: &WalletHandle, p: &Params<'_>) -> RpcResult<Json> {
    match p.str(0)? {
        None | Some("") => {}
        Some(_) => {
            return Err(RpcFailure::new(
                Code::InvalidParameter,
                "Dummy value must be set to \"\"",
            ))
        }
    }
    let amounts = p.required(1, "amounts")?;
    let Value::Object(amounts) = amounts else {
        return Err(RpcFailure::new(
            Code::Type,
            format!(
                "JSON value of type {} is not of expected type object",
                if amounts.is_array() {
                    "array"
                } else {
                    "non-object"
                }
            ),
        ));
    };
    if amounts.is_empty() {
        return Err(RpcFailure::new(
            Code::InvalidParameter,
            "Transaction must have at least one recipient",
        ));
    }
    let minconf = p.int(2, 1)?;
    if minconf < 0 {
        return Err(RpcFailure::new(
            Code::InvalidParameter,
            "Invalid parameter, minconf must be non-negative",
        ));
    }
    p.str(3)?;
    let subtract_from = address_list(p, 4, svc.network)?.unwrap_or_default();
    p.bool(5, true)?;
    let fee_rate = p.fee_rate(8)?;
    estimate_mode(p, 6, 7, fee_rate.is_some())?;
    let verbose = p.bool(9, false)?;

    let mut payments: Vec<(Address, Amount)> = Vec::new();
    let mut seen = HashSet::new();
    for (text, amount) in amounts {
        let address = params::address(text, svc.network)?;
        // The same key spelt twice (the wire layer already refuses a repeated key).
        if !seen.insert(address.pubkey) {
            return Err(RpcFailure::new(
                Code::InvalidParameter,
                format!("Invalid parameter, duplicated address: {text}"),
            ));
        }
        let amount = params::amount_value(amount)?;
        if amount == Amount::ZERO {
            return Err(RpcFailure::new(Code::Type, "Invalid amount for send"));
        }
        payments.push((address, amount));
    }
    // The core takes the fee from the first payment: put the chosen one first.
    if subtract_from.len() > 1 {
        return Err(RpcFailure::new(
            Code::InvalidParameter,
            "subtractfeefrom: this wallet takes the fee from one recipient at most",
        ));
    }
    let subtract = if let Some(from) = subtract_from.iter().next() {
        let i = payments
            .iter()
            .position(|(a, _)| a.to_string() == *from)
            .ok_or_else(|| {
                RpcFailure::new(
                    Code::InvalidParameter,
                    format!("Invalid parameter, subtractfeefrom address not among the recipients: {from}"),
                )
            })?;
        payments.swap(0, i);
        true
    } else {
        false
    };
    send(svc, handle, payments, fee_rate, subtract, verbose).await
}

fn passphrase_arg(p: &Params<'_>, i: usize, name: &str) -> RpcResult<zeroize::Zeroizing<String>> {
    let s = zeroize::Zeroizing::new(p.req_str(i, name)?.to_owned());
    if s.is_empty() {
        return Err(RpcFailure::new(
            Code::InvalidParameter,
            "passphrase can not be empty",
        ));
    }
    Ok(s)
}

fn wrong_state(call: &str) -> RpcFailure {
    RpcFailure::new(
        Code::WrongEncState,
        format!("Error: running with an unencrypted wallet, but {call} was called."),
    )
}

async fn walletpassphrase(handle: &WalletHandle, p: &Params<'_>) -> RpcResult<Json> {
    let pass = passphrase_arg(p, 0, "passphrase")?;
    p.required(1, "timeout")?;
    let timeout = p.int(1, 0)?;
    if timeout < 0 {
        return Err(RpcFailure::new(
            Code::InvalidParameter,
            "Timeout cannot be negative.",
        ));
    }
    let timeout = timeout.min(MAX_UNLOCK_SECONDS) as u64;
    let mut loaded = handle.lock().await;
    if !loaded.wallet.is_encrypted() {
        return Err(wrong_state("walletpassphrase"));
    }
    // Argon2id takes a fraction of a second of CPU: not on the async workers' time.
    tokio::task::block_in_place(|| loaded.wallet.unlock(pass.as_bytes()))?;
    drop(pass);
    loaded.persist()?;
    loaded.unlock_generation += 1;
    loaded.unlocked_until = Some(now() + timeout);
    let generation = loaded.unlock_generation;
    drop(loaded);
    Service::schedule_relock(handle, generation, timeout);
    Ok(Json::Null)
}

async fn walletlock(handle: &WalletHandle) -> RpcResult<Json> {
    let mut loaded = handle.lock().await;
    if !loaded.wallet.is_encrypted() {
        return Err(wrong_state("walletlock"));
    }
    loaded.relock();
    Ok(Json::Null)
}

async fn encryptwallet(svc: &Service, handle: &WalletHandle, p: &Params<'_>) -> RpcResult<Json> {
    let pass = passphrase_arg(p, 0, "passphrase")?;
    let mut loaded = handle.lock().await;
    if loaded.wallet.is_encrypted() {
        return Err(RpcFailure::new(
            Code::WrongEncState,
            "Error: running with an encrypted wallet, but encryptwallet was called.",
        ));
    }
    let kdf = svc.kdf;
    tokio::task::block_in_place(|| loaded.wallet.encrypt(pass.as_bytes(), kdf))?;
    loaded.relock();
    loaded.persist()?;
    Ok(Json::Str(
        "wallet encrypted; The keypool has been flushed and new keys were generated. You need \
         to make a new backup with the backupwallet RPC."
            .into(),
    ))
}

async fn walletpassphrasechange(
    svc: &Service,
    handle: &WalletHandle,
    p: &Params<'_>,
) -> RpcResult<Json> {
    let old = passphrase_arg(p, 0, "oldpassphrase")?;
    let new = passphrase_arg(p, 1, "newpassphrase")?;
    let mut loaded = handle.lock().await;
    if !loaded.wallet.is_encrypted() {
        return Err(wrong_state("walletpassphrasechange"));
    }
    let kdf = svc.kdf;
    tokio::task::block_in_place(|| {
        loaded
            .wallet
            .change_passphrase(old.as_bytes(), new.as_bytes(), kdf)
    })?;
    loaded.persist()?;
    Ok(Json::Null)
}

async fn dumpprivkey(svc: &Service, handle: &WalletHandle, p: &Params<'_>) -> RpcResult<Json> {
    let text = p.req_str(0, "address")?;
    let address = params::address(text, svc.network)?.to_string();
    let loaded = handle.lock().await;
    if loaded.wallet.record(&address).is_none() {
        return Err(RpcFailure::new(
            Code::Wallet,
            format!("Private key for address {text} is not known"),
        ));
    }
    if !loaded.wallet.is_unlocked() {
        return Err(RpcFailure::new(Code::UnlockNeeded, params::UNLOCK_NEEDED));
    }
    let secret = loaded.wallet.dump_secret(&address)?;
    Ok(Json::Str(hex::encode(*secret)))
}

async fn importprivkey(handle: &WalletHandle, p: &Params<'_>) -> RpcResult<Json> {
    let key = zeroize::Zeroizing::new(p.req_str(0, "privkey")?.to_owned());
    let label = params::label(p.str(1)?)?;
    p.bool(2, true)?;
    let mut loaded = handle.lock().await;
    if !loaded.wallet.is_unlocked() {
        return Err(RpcFailure::new(Code::UnlockNeeded, params::UNLOCK_NEEDED));
    }
    loaded.wallet.import_secret(&key, &label)?;
    loaded.persist()?;
    // No rescan: the key's history is the node's address index, read at each call.
    Ok(Json::Null)
}

async fn backupwallet(handle: &WalletHandle, p: &Params<'_>) -> RpcResult<Json> {
    let destination = p.req_str(0, "destination")?;
    if destination.is_empty() {
        return Err(RpcFailure::new(
            Code::Wallet,
            "Error: Wallet backup failed!",
        ));
    }
    let mut guard = handle.lock().await;
    let loaded = &mut *guard;
    loaded
        .store
        .backup(&mut loaded.wallet, Path::new(destination))
        .map_err(|e| RpcFailure::new(Code::Wallet, format!("Error: Wallet backup failed! {e}")))?;
    Ok(Json::Null)
}

async fn getaddressinfo(svc: &Service, handle: &WalletHandle, p: &Params<'_>) -> RpcResult<Json> {
    let address = params::address(p.req_str(0, "address")?, svc.network)?;
    let loaded = handle.lock().await;
    let record = loaded.wallet.record(&address.to_string());
    let script = ScriptPubKey::for_key(&address.pubkey, svc.network);
    let mut fields = vec![
        ("address".to_owned(), Json::Str(address.to_string())),
        ("scriptPubKey".to_owned(), Json::Str(script.hex)),
        ("ismine".to_owned(), Json::Bool(record.is_some())),
        ("solvable".to_owned(), Json::Bool(record.is_some())),
        ("desc".to_owned(), Json::Str(script.desc)),
        ("iswatchonly".to_owned(), Json::Bool(false)),
        ("isscript".to_owned(), Json::Bool(false)),
        ("iswitness".to_owned(), Json::Bool(true)),
        ("witness_version".to_owned(), Json::Int(1)),
        (
            "witness_program".to_owned(),
            Json::Str(address.pubkey.to_string()),
        ),
    ];
    // No `pubkey`: as Core does for a taproot address, the key is the witness program
    // (Core's `pubkey` is a 33-byte key, which a strict client would parse as one).
    if let Some(k) = record {
        fields.push((
            "ischange".to_owned(),
            Json::Bool(k.purpose == Purpose::Change),
        ));
        fields.push((
            "labels".to_owned(),
            Json::Arr(vec![Json::Str(k.label.clone())]),
        ));
    } else {
        fields.push(("ischange".to_owned(), Json::Bool(false)));
        fields.push(("labels".to_owned(), Json::Arr(vec![])));
    }
    Ok(Json::Obj(fields))
}

/// One group per address holding coins: the wallet does not link addresses by common
/// inputs, so each is its own group.
async fn listaddressgroupings(svc: &Service, handle: &WalletHandle) -> RpcResult<Json> {
    let loaded = handle.lock().await;
    let w = &loaded.wallet;
    let mut sums: Vec<(String, u64)> = Vec::new();
    for u in utxos(svc, w).await?.iter().filter(|u| !u.spent_in_mempool) {
        match sums.iter_mut().find(|(a, _)| *a == u.address) {
            Some((_, s)) => *s += u.satoshis,
            None => sums.push((u.address.clone(), u.satoshis)),
        }
    }
    let groups = sums
        .into_iter()
        .map(|(address, sat)| {
            let mut entry = vec![
                Json::Str(address.clone()),
                Json::amount(Amount::from_sat(sat)),
            ];
            if let Some(k) = w.record(&address).filter(|k| !k.label.is_empty()) {
                entry.push(Json::Str(k.label.clone()));
            }
            Json::Arr(vec![Json::Arr(entry)])
        })
        .collect();
    Ok(Json::Arr(groups))
}

async fn signrawtransactionwithwallet(
    svc: &Service,
    handle: &WalletHandle,
    p: &Params<'_>,
) -> RpcResult<Json> {
    let hexstring = p.req_str(0, "hexstring")?;
    let decode_failed = || RpcFailure::new(Code::Deserialization, "TX decode failed");
    let bytes = hex::decode(hexstring.trim()).map_err(|_| decode_failed())?;
    let mut tx: Transaction = dotcoin_common::deserialize(&bytes).map_err(|_| decode_failed())?;
    match p.0.get(1) {
        None | Some(Value::Null) => {}
        Some(Value::Array(a)) if a.is_empty() => {}
        Some(_) => {
            return Err(RpcFailure::new(
                Code::InvalidParameter,
                "prevtxs is not supported: the wallet looks up the spent outputs on the node",
            ))
        }
    }
    match p.str(2)? {
        None | Some("ALL") | Some("DEFAULT") => {}
        Some(_) => {
            return Err(RpcFailure::new(
                Code::InvalidParameter,
                "Invalid sighash param",
            ))
        }
    }
    if tx.is_coinbase() {
        return Err(decode_failed());
    }
    // The spent outputs, from the node (public data).
    let mut spent: Vec<Option<TxOut>> = Vec::with_capacity(tx.inputs.len());
    let mut cache: HashMap<Txid, Transaction> = HashMap::new();
    for input in &tx.inputs {
        let txid = input.prevout.txid;
        if let std::collections::hash_map::Entry::Vacant(e) = cache.entry(txid) {
            if let Ok(info) = node::raw_transaction(&svc.node, &txid).await {
                e.insert(info.tx);
            }
        }
        spent.push(
            cache
                .get(&txid)
                .and_then(|t| t.outputs.get(input.prevout.vout as usize))
                .copied(),
        );
    }
    let loaded = handle.lock().await;
    let mut errors = Vec::new();
    if spent.iter().all(Option::is_some) {
        let spent: Vec<TxOut> = spent.into_iter().flatten().collect();
        match loaded.wallet.sign_inputs(&mut tx, &spent) {
            Ok(_) => {}
            Err(crate::WalletError::PassphraseNeeded { .. }) => {
                return Err(RpcFailure::new(Code::UnlockNeeded, params::UNLOCK_NEEDED))
            }
            Err(e) => return Err(e.into()),
        }
    } else {
        for (input, out) in tx.inputs.iter().zip(&spent) {
            if out.is_none() {
                errors.push(Json::obj([
                    ("txid", Json::Str(input.prevout.txid.to_string())),
                    ("vout", Json::Int(i64::from(input.prevout.vout))),
                    ("witness", Json::Arr(Vec::new())),
                    ("scriptSig", Json::Str(String::new())),
                    ("sequence", Json::Int(i64::from(FINAL_SEQUENCE))),
                    (
                        "error",
                        Json::Str("Input not found or already spent".into()),
                    ),
                ]));
            }
        }
    }
    let complete = errors.is_empty() && tx.inputs.iter().all(|i| i.witness.len() == 64);
    let mut fields = vec![
        (
            "hex".to_owned(),
            Json::Str(hex::encode(encode::serialize(&tx))),
        ),
        ("complete".to_owned(), Json::Bool(complete)),
    ];
    if !errors.is_empty() {
        fields.push(("errors".to_owned(), Json::Arr(errors)));
    }
    Ok(Json::Obj(fields))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn decoded_is_the_nodes_decoderawtransaction() {
        use dotcoin_common::{Network, OutPoint, TxIn};
        let zero: Txid = "00".repeat(32).parse().expect("txid");
        let coinbase = Transaction {
            version: 1,
            inputs: vec![TxIn {
                prevout: OutPoint {
                    txid: zero,
                    vout: 7,
                },
                witness: vec![1, 2],
            }],
            outputs: vec![TxOut {
                value: Amount::from_sat(5_000_000_000),
                pubkey: PubKey([3; 32]),
            }],
            lock_time: 0,
        };
        let spend = Transaction {
            version: 1,
            inputs: vec![TxIn {
                prevout: OutPoint {
                    txid: coinbase.txid(),
                    vout: 0,
                },
                witness: vec![9; 64],
            }],
            outputs: vec![TxOut {
                value: Amount::from_sat(123_456_789),
                pubkey: PubKey([2; 32]),
            }],
            lock_time: 0,
        };
        for tx in [coinbase, spend] {
            let ours: Value =
                serde_json::from_str(&decoded(&tx, Network::Regtest).compact()).expect("json");
            let node =
                serde_json::to_value(DecodedTx::from_tx(&tx, Network::Regtest)).expect("json");
            assert_eq!(ours, node);
        }
    }

    #[test]
    fn named_parameters_go_in_place() {
        let table = super::super::wire::WalletTable;
        let normalize = |m, p| dotcoin_rpc_server::normalize_params(&table, m, p);
        let list = normalize(
            "sendtoaddress",
            json!({"amount": 1, "address": "a", "fee_rate": 3}),
        )
        .expect("known names");
        assert_eq!(
            list,
            json!(["a", 1, null, null, null, null, null, null, null, 3])
        );
        let (code, message) = normalize("getbalance", json!({"bogus": 1})).expect_err("unknown");
        assert_eq!(code, -8);
        assert!(
            message.starts_with("Unknown named parameter bogus"),
            "{message}"
        );
        let (code, _) = normalize("getwalletinfo", json!([1])).expect_err("surplus");
        assert_eq!(code, -1, "Core's wallet answers surplus parameters with -1");
    }

    #[test]
    fn dotcoin_cli_routes_every_wallet_method_here() {
        let mut served: Vec<&str> = METHODS
            .iter()
            .map(|(m, _)| *m)
            .filter(|m| !matches!(*m, "help" | "stop"))
            .collect();
        served.sort_unstable();
        assert_eq!(served, dotcoin_rpc_client::WALLET_METHODS);
    }

    #[test]
    fn every_method_is_dispatched() {
        // A method in the table but not in `dispatch` would answer "Method not found".
        let source = include_str!("methods.rs");
        for (name, _) in METHODS {
            assert!(
                source.contains(&format!("\"{name}\" =>")),
                "{name} has no dispatch arm"
            );
        }
    }
}
