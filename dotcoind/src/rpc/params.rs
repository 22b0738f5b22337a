//! Parameter parsing with Bitcoin Core's errors: a wrong JSON type is `-3` and names the
//! parameter; a value out of range is `-8` and says which parameter and why.

use dotcoin_common::{Address, Amount, BlockHash, FeeRate, Network, Txid};
use jsonrpsee::types::ErrorObjectOwned;
use serde_json::Value;

use super::error::{rpc_error, RpcErrorCode};

fn type_error(name: &str, v: &Value, expected: &str) -> ErrorObjectOwned {
    rpc_error(
        RpcErrorCode::Type,
        format!(
            "JSON value of type {} is not of expected type {expected} for parameter '{name}'",
            dotcoin_rpc_server::json_type_name(v)
        ),
    )
}

/// A required parameter.
pub fn required(v: Option<Value>, name: &str) -> Result<Value, ErrorObjectOwned> {
    match v {
        Some(Value::Null) | None => Err(rpc_error(
            RpcErrorCode::InvalidParameter,
            format!("missing required parameter '{name}'"),
        )),
        Some(v) => Ok(v),
    }
}

/// An integer parameter Core reads as a 64-bit signed number: a number beyond that range
/// is Core's `-1` "JSON integer out of range" (UniValue's `getInt<int64_t>`), a fraction
/// or another JSON type `-3`.
pub fn i64_param(v: &Value, name: &str) -> Result<i64, ErrorObjectOwned> {
    if let Some(n) = v.as_i64() {
        return Ok(n);
    }
    if v.is_u64() {
        return Err(rpc_error(RpcErrorCode::Misc, "JSON integer out of range"));
    }
    Err(type_error(name, v, "number"))
}

/// A count Core reads as a C++ `int` (`nblocks`, `maxtries`): above `i32::MAX` it is Core's
/// `-1` "JSON integer out of range", so `generatetoaddress 4294967295` is refused instead
/// of mining for hours; below zero it is `-8`.
pub fn int_count_param(v: &Value, name: &str) -> Result<u32, ErrorObjectOwned> {
    let n = i64_param(v, name)?;
    if i32::try_from(n).is_err() {
        return Err(rpc_error(RpcErrorCode::Misc, "JSON integer out of range"));
    }
    u32_param(v, name)
}

/// A non-negative integer parameter that fits `u32`.
pub fn u32_param(v: &Value, name: &str) -> Result<u32, ErrorObjectOwned> {
    let n = v.as_i64().ok_or_else(|| type_error(name, v, "number"))?;
    u32::try_from(n).map_err(|_| {
        rpc_error(
            RpcErrorCode::InvalidParameter,
            format!("parameter '{name}' out of range: {n}"),
        )
    })
}

/// A fee rate in DOT per 1000 bytes (`maxfeerate`), given as a number or a string, with
/// a default. Negative, over-precise or absurd values are Core's `-3` "Amount out of range"
/// / "Invalid amount".
pub fn opt_fee_rate(
    v: Option<Value>,
    name: &str,
    default: FeeRate,
) -> Result<FeeRate, ErrorObjectOwned> {
    match &v {
        None | Some(Value::Null) => Ok(default),
        Some(v) => Ok(FeeRate::from_sat_per_kvb(amount_param(v, name)?.to_sat())),
    }
}

/// A DOT amount, given as a number or a string. Negative, over-precise or absurd values
/// are Core's `-3` "Amount out of range" / "Invalid amount".
pub fn amount_param(v: &Value, name: &str) -> Result<Amount, ErrorObjectOwned> {
    let text = match v {
        // The number's own decimal text: no rounding through f64. A fraction is printed
        // by Rust's float formatting, which never uses an exponent: serde_json's would
        // turn 0.0000001 into `1e-7`, which is no decimal amount.
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() => f.to_string(),
            _ => n.to_string(),
        },
        Value::String(s) => s.clone(),
        other => return Err(type_error(name, other, "number")),
    };
    if text.trim_start().starts_with('-') {
        return Err(rpc_error(RpcErrorCode::Type, "Amount out of range"));
    }
    let amount = Amount::from_dot_str(&text)
        .map_err(|e| rpc_error(RpcErrorCode::Type, format!("Invalid amount: {e}")))?;
    if !amount.is_in_range() {
        return Err(rpc_error(RpcErrorCode::Type, "Amount out of range"));
    }
    Ok(amount)
}

/// An optional `u32` with a default.
pub fn opt_u32(v: Option<Value>, name: &str, default: u32) -> Result<u32, ErrorObjectOwned> {
    match v {
        None | Some(Value::Null) => Ok(default),
        Some(v) => u32_param(&v, name),
    }
}

/// An optional bool with a default (Bitcoin Core also takes 0/1 for verbosity-like flags).
pub fn opt_bool(v: Option<Value>, name: &str, default: bool) -> Result<bool, ErrorObjectOwned> {
    match v {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(b)) => Ok(b),
        Some(Value::Number(n)) if n.as_i64().is_some() => Ok(n.as_i64() != Some(0)),
        Some(other) => Err(type_error(name, &other, "bool")),
    }
}

/// A string parameter.
pub fn string_param<'a>(v: &'a Value, name: &str) -> Result<&'a str, ErrorObjectOwned> {
    v.as_str().ok_or_else(|| type_error(name, v, "string"))
}

/// A 64-hex-digit hash parameter.
fn hash_param<T: std::str::FromStr>(v: &Value, name: &str) -> Result<T, ErrorObjectOwned> {
    let s = string_param(v, name)?;
    if s.len() != 64 || !s.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(rpc_error(
            RpcErrorCode::InvalidParameter,
            format!(
                "{name} must be of length 64 (not {}, for '{s}') and hexadecimal",
                s.len()
            ),
        ));
    }
    s.parse().map_err(|_| {
        rpc_error(
            RpcErrorCode::InvalidParameter,
            format!("{name} must be hexadecimal"),
        )
    })
}

/// A block hash parameter.
pub fn blockhash_param(v: &Value, name: &str) -> Result<BlockHash, ErrorObjectOwned> {
    hash_param(v, name)
}

/// A txid parameter.
pub fn txid_param(v: &Value, name: &str) -> Result<Txid, ErrorObjectOwned> {
    hash_param(v, name)
}

/// A hex string parameter, decoded.
pub fn hex_param(v: &Value, name: &str) -> Result<Vec<u8>, ErrorObjectOwned> {
    let s = string_param(v, name)?;
    hex::decode(s).map_err(|e| {
        rpc_error(
            RpcErrorCode::Deserialization,
            format!("{name} is not valid hex: {e}"),
        )
    })
}

/// An address of `network`.
pub fn address_param(v: &Value, name: &str, network: Network) -> Result<Address, ErrorObjectOwned> {
    let s = string_param(v, name)?;
    Address::parse_for(s, network).map_err(|e| {
        rpc_error(
            RpcErrorCode::InvalidAddressOrKey,
            format!("Invalid address '{s}' for parameter '{name}': {e}"),
        )
    })
}

/// The address list of the address-index calls: `{"addresses": [...]}`, a list, or one
/// address string.
pub fn addresses_param(v: &Value, network: Network) -> Result<Vec<Address>, ErrorObjectOwned> {
    let list = match v {
        Value::Object(o) => o.get("addresses").cloned().unwrap_or(Value::Null),
        other => other.clone(),
    };
    let items = match list {
        Value::String(_) => vec![list],
        Value::Array(a) => a,
        other => return Err(type_error("addresses", &other, "array")),
    };
    if items.is_empty() {
        return Err(rpc_error(
            RpcErrorCode::InvalidParameter,
            "parameter 'addresses' is empty",
        ));
    }
    items
        .iter()
        .map(|a| address_param(a, "addresses", network))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fee_rate_numbers_are_read_as_written() {
        let rate = |v: Value| opt_fee_rate(Some(v), "maxfeerate", FeeRate::ZERO);
        // Found by the rpc_params fuzz target: a small rate as a JSON number was refused
        // as "invalid amount '1e-7'".
        for (text, sat) in [("0.0000001", 10), ("0.00000001", 1), ("0.1", 10_000_000)] {
            let number: Value = serde_json::from_str(text).expect("a JSON number");
            assert_eq!(
                rate(number).ok(),
                Some(FeeRate::from_sat_per_kvb(sat)),
                "{text}"
            );
            assert_eq!(
                rate(Value::String(text.into())).ok(),
                Some(FeeRate::from_sat_per_kvb(sat)),
                "\"{text}\""
            );
        }
        assert_eq!(
            rate(Value::from(2)).ok(),
            Some(FeeRate::from_sat_per_kvb(200_000_000))
        );
        let too_precise: Value = serde_json::from_str("0.000000001").expect("a JSON number");
        assert!(
            rate(too_precise).is_err(),
            "9 decimals are refused, not rounded"
        );
        assert!(rate(Value::from(-1)).is_err());
    }
}
