//! What an RPC caller's input meets: the parameter types every handler declares
//! (`dotcoin_rpc_server::arg`) and the wire's check of a call against the node's method
//! table, the decoders behind `decoderawtransaction` and `submitblock`, and on the client
//! side `dotcoin-cli`'s argument parsing and the wallet's amount and address parsers.

use dotcoin_cli::args::{build_params, parse_args, parse_value, Invocation};
use dotcoin_common::consensus::tx::check_transaction;
use dotcoin_common::rpc_types::{DecodedTx, TxVerbose};
use dotcoin_common::{
    deserialize, serialize, Address, Amount, Block, BlockHash, FeeRate, Network, Transaction, Txid,
};
use dotcoin_rpc_client::api::{lookup, Service};
use dotcoin_rpc_server::arg::{
    AddressIndexList, BlockVerbosity, Count, Dot, DotMap, DotPerKvb, Flag, FromParam, HashArg,
    HashOrHeight, Hex, HexList, Int, JsonArray, JsonObject, RawTxVerbosity, SatPerVb, StrictBool,
    Text, TextList, Uint,
};
use dotcoin_rpc_server::normalize_params;
use dotcoind::rpc::spec::{NodeTable, SPECS};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

/// A parameter type's check (what the wire runs, with the parameter's name) and its
/// decoding (what the handler's argument runs) accept the same values.
fn agree<T: FromParam + DeserializeOwned>(v: &Value) -> Option<T> {
    let checked = T::from_param(v, "param");
    let decoded = serde_json::from_value::<T>(v.clone());
    assert_eq!(
        checked.is_ok(),
        decoded.is_ok(),
        "{} check and decoding disagree on {v}",
        std::any::type_name::<T>()
    );
    checked.ok()
}

/// Fuzz target: `data` is one JSON-RPC parameter — JSON if it parses, else (if UTF-8) a
/// bare string, so the string parsers see raw fuzzed text. It goes through every parameter
/// type; what a type accepts must print back as the text it was given (hashes and hex in
/// lower case, their canonical form), and hex that decodes to a transaction must survive
/// `decoderawtransaction`'s JSON. It is also every node method's first parameter,
/// positional and named, where the wire's check must answer with one of Core's codes.
pub fn rpc_params(data: &[u8]) {
    let value = match serde_json::from_slice::<Value>(data) {
        Ok(v) => v,
        Err(_) => match std::str::from_utf8(data) {
            Ok(s) => Value::String(s.to_owned()),
            Err(_) => return,
        },
    };
    if let Some(n) = agree::<Uint>(&value) {
        assert_eq!(value.as_i64(), Some(i64::from(n.0)));
    }
    if let Some(n) = agree::<Count>(&value) {
        assert!(i32::try_from(n.0).is_ok());
    }
    if let Some(n) = agree::<Int>(&value) {
        assert_eq!(value.as_i64(), Some(n.0));
    }
    if let Some(b) = agree::<Flag>(&value) {
        assert!(matches!(value, Value::Bool(v) if v == b.0) || value.is_number());
    }
    if let Some(a) = agree::<Dot>(&value) {
        assert!(a.0.is_in_range());
    }
    agree::<SatPerVb>(&value);
    agree::<StrictBool>(&value);
    agree::<TextList>(&value);
    agree::<DotMap>(&value);
    agree::<HexList>(&value);
    agree::<RawTxVerbosity>(&value);
    agree::<BlockVerbosity>(&value);
    agree::<HashOrHeight>(&value);
    agree::<AddressIndexList>(&value);
    agree::<JsonArray<Value>>(&value);
    agree::<JsonObject<serde_json::Map<String, Value>>>(&value);
    fee_rate(data, &value);
    wire(&value);
    let Some(Text(s)) = agree::<Text>(&value) else {
        return;
    };
    let lower = s.to_ascii_lowercase();
    if let Some(h) = agree::<HashArg<BlockHash>>(&value) {
        assert_eq!(h.0.to_string(), lower, "block hash does not print back");
    }
    if let Some(t) = agree::<HashArg<Txid>>(&value) {
        assert_eq!(t.0.to_string(), lower, "txid does not print back");
    }
    if let Some(Hex(bytes)) = agree::<Hex>(&value) {
        assert_eq!(hex::encode(&bytes), lower, "hex does not print back");
        decode_raw(&bytes);
    }
    for network in Network::ALL {
        if let Ok(a) = Address::parse_for(&s, network) {
            assert_eq!(a.network, network);
            assert_eq!(a.to_string(), lower, "address does not print back");
        }
    }
}

/// The wire's check of `value` as the first parameter of every node method, positional
/// and named: refused with one of Core's codes, or put in place unchanged.
fn wire(value: &Value) {
    for spec in SPECS {
        let Some(first) = spec.args.first() else {
            continue;
        };
        for params in [json!([value]), json!({ first.main_name(): value })] {
            match normalize_params(&NodeTable, spec.name, params) {
                Ok(placed) => {
                    let list = placed.as_array().expect("positional after the wire");
                    assert!(list.first().is_none_or(|v| v == value));
                }
                Err((code, message)) => {
                    assert!([-1, -3, -5, -8, -22].contains(&code), "{code} {message}");
                    assert!(!message.is_empty());
                }
            }
        }
    }
}

/// `maxfeerate`: DOT per 1000 bytes, as a JSON number or a string. What the caller wrote
/// counts: a plain decimal within the money range and 8 decimals must be taken at exactly
/// that value, whether it came as a number or as a string.
fn fee_rate(data: &[u8], value: &Value) {
    let got = agree::<DotPerKvb>(value).map(|r| r.0);
    if let Some(rate) = &got {
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
    if !typed.is_in_range() {
        return;
    }
    assert_eq!(
        got,
        Some(FeeRate::from_sat_per_kvb(typed.to_sat())),
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
