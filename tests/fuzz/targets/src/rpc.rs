//! What an RPC caller's input meets: the node's parameter parsers
//! (`dotcoind::rpc::params`) and the decoders behind `decoderawtransaction` and
//! `submitblock`, and on the client side `dotcoin-cli`'s argument parsing and the wallet's
//! amount and address parsers.

use dotcoin_cli::args::{build_params, parse_args, parse_value, Invocation};
use dotcoin_common::consensus::tx::check_transaction;
use dotcoin_common::rpc_types::{DecodedTx, TxVerbose};
use dotcoin_common::{deserialize, serialize, Amount, Block, FeeRate, Network, Transaction};
use dotcoin_rpc_client::api::{lookup, Service};
use dotcoind::rpc::params::{
    address_param, addresses_param, blockhash_param, hex_param, opt_bool, opt_fee_rate, opt_u32,
    required, string_param, txid_param, u32_param,
};
use serde_json::Value;

/// Fuzz target: `data` is one JSON-RPC parameter — JSON if it parses, else (if UTF-8) a
/// bare string, so the string parsers see raw fuzzed text. It goes through every parser;
/// what a parser accepts must print back as the text it was given (hashes, hex and
/// addresses in lower case, their canonical form), and hex that decodes to a transaction
/// must survive `decoderawtransaction`'s JSON.
pub fn rpc_params(data: &[u8]) {
    let value = match serde_json::from_slice::<Value>(data) {
        Ok(v) => v,
        Err(_) => match std::str::from_utf8(data) {
            Ok(s) => Value::String(s.to_owned()),
            Err(_) => return,
        },
    };
    let name = "param";
    let _ = required(Some(value.clone()), name);
    if let Ok(n) = u32_param(&value, name) {
        assert_eq!(value.as_i64(), Some(i64::from(n)));
    }
    let _ = opt_u32(Some(value.clone()), name, 7);
    fee_rate(data, &value);
    if let Ok(b) = opt_bool(Some(value.clone()), name, false) {
        assert!(matches!(value, Value::Bool(v) if v == b) || value.is_number() || value.is_null());
    }
    let Ok(s) = string_param(&value, name) else {
        let _ = addresses_param(&value, Network::Main);
        return;
    };
    let lower = s.to_ascii_lowercase();
    if let Ok(h) = blockhash_param(&value, name) {
        assert_eq!(h.to_string(), lower, "block hash does not print back");
    }
    if let Ok(t) = txid_param(&value, name) {
        assert_eq!(t.to_string(), lower, "txid does not print back");
    }
    match hex_param(&value, name) {
        Ok(bytes) => {
            assert_eq!(hex::encode(&bytes), lower, "hex does not print back");
            decode_raw(&bytes);
        }
        Err(e) => drop((e.code(), e.message().to_owned())),
    }
    for network in Network::ALL {
        match address_param(&value, name, network) {
            Ok(a) => {
                assert_eq!(a.network, network);
                assert_eq!(a.to_string(), lower, "address does not print back");
            }
            Err(e) => drop(e.message().to_owned()),
        }
        if let Ok(list) = addresses_param(&value, network) {
            assert_eq!(list.len(), 1);
            assert_eq!(list[0].to_string(), lower);
        }
    }
}

/// `maxfeerate`: DOT per 1000 bytes, as a JSON number or a string. What the caller wrote
/// counts: a plain decimal within the money range and 8 decimals must be taken at exactly
/// that value, whether it came as a number or as a string.
fn fee_rate(data: &[u8], value: &Value) {
    let default = FeeRate::from_sat_per_kvb(1);
    let got = opt_fee_rate(Some(value.clone()), "maxfeerate", default);
    if let Ok(rate) = &got {
        assert!(Amount::from_sat(rate.to_sat_per_kvb()).is_in_range());
    }
    let text = match value {
        Value::Number(_) => std::str::from_utf8(data).ok().map(str::trim),
        Value::String(s) => Some(s.as_str()),
        _ => None,
    };
    let Some(Ok(typed)) = text.map(Amount::from_dot_str) else {
        return;
    };
    assert_eq!(
        got.map_err(|e| e.message().to_owned()),
        Ok(FeeRate::from_sat_per_kvb(typed.to_sat())),
        "maxfeerate {text:?} not taken as written"
    );
}

/// The decoders of `decoderawtransaction`/`sendrawtransaction` and `submitblock`, and the
/// JSON a client reads back: a transaction within the money range must come back from
/// `getrawtransaction`'s verbose form exactly (its amounts travel as JSON numbers).
fn decode_raw(bytes: &[u8]) {
    if let Ok(block) = deserialize::<Block>(bytes) {
        assert_eq!(serialize(&block), bytes);
    }
    let Ok(tx) = deserialize::<Transaction>(bytes) else {
        return;
    };
    for network in Network::ALL {
        let decoded = DecodedTx::from_tx(&tx, network);
        let verbose = TxVerbose::from_tx(&tx, network);
        let json = serde_json::to_string(&verbose).expect("RPC results serialize");
        let back = serde_json::from_str::<TxVerbose>(&json);
        if check_transaction(&tx).is_err() {
            // Out-of-range amounts are refused by a client's parser; that is not a crash.
            continue;
        }
        let back = back.expect("an in-range transaction's verbose form parses");
        assert_eq!(back.tx, decoded, "decoded fields change through JSON");
        assert_eq!(back.transaction().as_ref(), Ok(&tx));
    }
}

/// Fuzz target: `data` (UTF-8) is a `dotcoin-cli` command line, one argument per line.
/// It is parsed as the program parses `argv`; its arguments become JSON-RPC parameters,
/// positional and named, and each argument's JSON must survive printing and re-parsing
/// (exactly, unless it holds a non-integer number).
/// Each line also goes through the wallet's amount and address parsers, whose accepted
/// input must print back.
pub fn cli_args(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let args: Vec<String> = text.split('\n').map(str::to_owned).collect();
    for arg in &args {
        let v = parse_value(arg);
        let printed = serde_json::to_string(&v).expect("JSON values print");
        let again = parse_value(&printed);
        // serde_json (without its `float_roundtrip` feature) may read a long decimal one
        // unit in the last place off, so only float-free values must survive exactly.
        if !has_float(&v) {
            assert_eq!(again, v, "argument {arg:?} does not survive JSON");
        }
        amount_and_address(arg);
    }
    let _ = build_params(None, &args, false);
    match build_params(None, &args, true) {
        Ok(Value::Object(map)) => assert!(map.len() <= args.len()),
        Ok(other) => unreachable!("named params are an object, not {other}"),
        Err(e) => drop(e.to_string()),
    }
    match parse_args(args.iter().cloned()) {
        Ok(Invocation::Run(cli)) => {
            if let Some((method, params)) = cli.args.split_first() {
                // The table's entry when the fuzzed method names one, else none.
                let entry = lookup(Service::Node, method).or(lookup(Service::Wallet, method));
                let _ = build_params(entry, params, cli.named);
            }
        }
        Ok(_) => {}
        Err(e) => drop(e.to_string()),
    }
}

/// Whether `v` holds a non-integer number anywhere.
fn has_float(v: &Value) -> bool {
    match v {
        Value::Number(n) => n.is_f64(),
        Value::Array(items) => items.iter().any(has_float),
        Value::Object(map) => map.values().any(has_float),
        _ => false,
    }
}

/// `dotcoin-wallet send <address> <amount>`'s parsers.
fn amount_and_address(arg: &str) {
    if let Ok(amount) = dotcoin_wallet::wallet::parse_amount(arg) {
        assert!(amount.is_in_range());
        let printed = amount.to_string();
        assert_eq!(
            printed.parse::<Amount>(),
            Ok(amount),
            "amount {arg:?} does not survive printing"
        );
    }
    for network in Network::ALL {
        if let Ok(a) = dotcoin_wallet::wallet::parse_address(arg, network) {
            assert_eq!(a.to_string(), arg.trim().to_ascii_lowercase());
        }
    }
}
