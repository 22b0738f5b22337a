//! The types RPC parameters are declared with, and how a JSON value becomes one, with the
//! error Bitcoin Core gives for the same mistake: a wrong JSON type is `-3` naming the
//! parameter, a value out of range `-8` (or `-1` "JSON integer out of range" where Core
//! reads a C++ `int`), a bad amount `-3`, bytes that do not decode `-22`.
//!
//! Every type here is [`FromParam`] (the check, with the parameter's name for the
//! message) and [`Deserialize`] through that same check, so a handler declares
//! `height: Uint` and receives a `u32`. The wire runs the check before the call with the
//! name from the service's table (Core's `RPCHelpMan` does the same), so the handler's own
//! decoding cannot fail on a value the wire let through.

use std::fmt;
use std::ops::Deref;
use std::str::FromStr;

use dotcoin_common::{Amount, FeeRate};
use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::codes::{json_type_name, RpcErrorCode};

/// A parameter that does not hold: Core's code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamError {
    /// Core's error code.
    pub code: RpcErrorCode,
    /// The message, naming the parameter where Core does.
    pub message: String,
}

impl ParamError {
    /// An error with `code`.
    pub fn new(code: RpcErrorCode, message: impl Into<String>) -> ParamError {
        ParamError {
            code,
            message: message.into(),
        }
    }

    /// Core's type error: `JSON value of type string is not of expected type number`.
    pub fn wrong_type(name: &str, v: &Value, expected: &str) -> ParamError {
        ParamError::new(
            RpcErrorCode::Type,
            format!(
                "JSON value of type {} is not of expected type {expected} for parameter '{name}'",
                json_type_name(v)
            ),
        )
    }

    /// A value outside what the parameter takes (`-8`).
    pub fn invalid(message: impl Into<String>) -> ParamError {
        ParamError::new(RpcErrorCode::InvalidParameter, message)
    }
}

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ParamError {}

impl From<ParamError> for jsonrpsee::types::ErrorObjectOwned {
    fn from(e: ParamError) -> Self {
        jsonrpsee::types::ErrorObjectOwned::owned(e.code as i32, e.message, None::<()>)
    }
}

/// A parameter type: Core's word for it in `help`, how `dotcoin-cli` passes a command-line
/// argument for it, and the check that turns a JSON value into it.
pub trait FromParam: Sized {
    /// Core's word in help texts (`numeric`, `string`, `boolean`, `json object`, …).
    const TYPE: &'static str;
    /// Whether `dotcoin-cli` sends the argument as a JSON string as typed (Core's
    /// `vRPCConvertParams` lists the other parameters, which are parsed as JSON).
    const CLI_STRING: bool = false;

    /// The value, or Core's error naming parameter `name`. `null` never reaches this: it
    /// means "not given".
    fn from_param(v: &Value, name: &str) -> Result<Self, ParamError>;
}

/// The check a table runs for a parameter of type `T` (a function pointer a `const` table
/// can hold).
pub fn check<T: FromParam>(v: &Value, name: &str) -> Result<(), ParamError> {
    T::from_param(v, name).map(drop)
}

/// The name a type's own decoding uses in its message: the wire has already checked the
/// value with the real name, so this shows only for calls that bypass the wire
/// (WebSocket).
const UNNAMED: &str = "parameter";

macro_rules! deserialize_via_from_param {
    ($($ty:ident $(<$g:ident>)?),* $(,)?) => {$(
        impl<'de $(, $g: HashArgType)?> Deserialize<'de> for $ty $(<$g>)? {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let v = Value::deserialize(d)?;
                <Self as FromParam>::from_param(&v, UNNAMED).map_err(D::Error::custom)
            }
        }
    )*};
}

/// A non-negative integer that fits 32 bits (heights, counts, indexes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Uint(pub u32);

/// A count Core reads as a C++ `int` (`nblocks`, `maxtries`): above `i32::MAX` it is
/// `-1` "JSON integer out of range", so `generatetoaddress 4294967295` is refused instead
/// of mining for hours; below zero it is `-8`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Count(pub u32);

/// A signed integer Core reads as `int64_t`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Int(pub i64);

/// A boolean; like Core's verbosity flags it also takes 0 and 1 (any integer: non-zero is
/// true).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Flag(pub bool);

/// A boolean that is only `true`/`false`, as Core's plain `bool` parameters take it
/// (the wallet's options): a number is Core's type error `-3`, unlike [`Flag`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StrictBool(pub bool);

/// A string.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Text(pub String);

/// Hex-encoded bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Hex(pub Vec<u8>);

/// An amount of DOT, a number or a numeric string, as Core's `AmountFromValue` reads it:
/// non-negative, at most 8 decimals, within the money range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Dot(pub Amount);

/// A fee rate in DOT per 1000 virtual bytes (`maxfeerate`, `settxfee`), read as an amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DotPerKvb(pub FeeRate);

/// A fee rate in base units per virtual byte (`fee_rate`), up to three decimals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SatPerVb(pub FeeRate);

/// What a 32-byte hash parameter decodes to (block hashes, txids).
pub trait HashArgType: FromStr + Copy {}
impl<T: FromStr + Copy> HashArgType for T {}

/// A 64-hex-digit hash: Core's `ParseHashV` ("must be of length 64", `-8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HashArg<T>(pub T);

/// A structured parameter decoded by serde into `T`, for one that may be an array or an
/// object (`createrawtransaction`'s outputs); prefer [`JsonArray`] or [`JsonObject`].
/// A value of the wrong JSON type is `-3`, a shape `T` does not accept `-8` with serde's
/// reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Json<T>(pub T);

/// An array of strings (`listunspent`'s `addresses`, `sendmany`'s `subtractfeefrom`,
/// `logging`'s categories, `getblockstats`' statistic names): anything but an array, or an
/// item that is not a string, is Core's type error `-3`. What the strings mean is the
/// handler's.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TextList(pub Vec<String>);

/// A JSON object of keys to DOT amounts (`sendmany`'s `amounts`), in the object's order:
/// anything but an object is `-3`, and every value is checked as a [`Dot`] (`-3` on a
/// bad amount). What the keys mean is the handler's.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DotMap(pub Vec<(String, Amount)>);

/// A JSON array of `T`s decoded by serde (`createrawtransaction`'s inputs): anything but
/// an array is Core's type error `-3`, an element of the wrong JSON type too; another
/// shape `T` does not accept is `-8` with serde's reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonArray<T>(pub Vec<T>);

/// A JSON object decoded by serde into `T` (an options object): anything but an object
/// is Core's type error `-3`, a shape `T` does not accept `-8` with serde's reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonObject<T>(pub T);

/// Any JSON value, passed through (for the few methods whose parameter is data, not an
/// argument: `echo`).
#[derive(Debug, Clone, PartialEq)]
pub struct AnyJson(pub Value);

/// The words a [`KeywordArg`] accepts: a sub-command, a mode, a network name.
pub trait Keyword: Sized + Copy + 'static {
    /// Each accepted word and what it names.
    const WORDS: &'static [(&'static str, Self)];

    /// The message for a word outside the set (`-8`), Core's words where Core has them.
    fn unknown(name: &str, word: &str) -> String {
        let words: Vec<&str> = Self::WORDS.iter().map(|(w, _)| *w).collect();
        format!("{name} '{word}' must be one of {}", words.join(", "))
    }
}

/// A string naming one of a fixed set of words ([`Keyword`]): `-3` for another JSON type,
/// `-8` with the set's own message for another word (`setban`'s `add`/`remove`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeywordArg<T>(pub T);

/// A JSON array of hex strings, each decoded (`testmempoolaccept`'s `rawtxs`,
/// `generateblock`'s `transactions`): `-3` for another JSON type, and for an element that
/// is not a string; `-22` for one that is not hex, as for a lone [`Hex`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HexList(pub Vec<Vec<u8>>);

/// `getrawtransaction`'s `verbosity|verbose`: a non-negative integer, or a boolean for
/// 0/1 (Core takes both).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RawTxVerbosity(pub u32);

impl FromParam for Uint {
    const TYPE: &'static str = "numeric";
    fn from_param(v: &Value, name: &str) -> Result<Self, ParamError> {
        let n = Int::from_param(v, name)?.0;
        u32::try_from(n)
            .map(Uint)
            .map_err(|_| ParamError::invalid(format!("parameter '{name}' out of range: {n}")))
    }
}

impl FromParam for Count {
    const TYPE: &'static str = "numeric";
    fn from_param(v: &Value, name: &str) -> Result<Self, ParamError> {
        let n = Int::from_param(v, name)?.0;
        if i32::try_from(n).is_err() {
            return Err(ParamError::new(
                RpcErrorCode::Misc,
                "JSON integer out of range",
            ));
        }
        Uint::from_param(v, name).map(|u| Count(u.0))
    }
}

impl FromParam for Int {
    const TYPE: &'static str = "numeric";
    fn from_param(v: &Value, name: &str) -> Result<Self, ParamError> {
        if let Some(n) = v.as_i64() {
            return Ok(Int(n));
        }
        if v.is_u64() {
            return Err(ParamError::new(
                RpcErrorCode::Misc,
                "JSON integer out of range",
            ));
        }
        Err(ParamError::wrong_type(name, v, "number"))
    }
}

impl FromParam for Flag {
    const TYPE: &'static str = "boolean";
    fn from_param(v: &Value, name: &str) -> Result<Self, ParamError> {
        match v {
            Value::Bool(b) => Ok(Flag(*b)),
            Value::Number(n) if n.as_i64().is_some() => Ok(Flag(n.as_i64() != Some(0))),
            other => Err(ParamError::wrong_type(name, other, "bool")),
        }
    }
}

impl FromParam for StrictBool {
    const TYPE: &'static str = "boolean";
    fn from_param(v: &Value, name: &str) -> Result<Self, ParamError> {
        v.as_bool()
            .map(StrictBool)
            .ok_or_else(|| ParamError::wrong_type(name, v, "bool"))
    }
}

impl FromParam for Text {
    const TYPE: &'static str = "string";
    const CLI_STRING: bool = true;
    fn from_param(v: &Value, name: &str) -> Result<Self, ParamError> {
        v.as_str()
            .map(|s| Text(s.to_owned()))
            .ok_or_else(|| ParamError::wrong_type(name, v, "string"))
    }
}

impl FromParam for Hex {
    const TYPE: &'static str = "string";
    const CLI_STRING: bool = true;
    fn from_param(v: &Value, name: &str) -> Result<Self, ParamError> {
        let s = Text::from_param(v, name)?.0;
        hex::decode(&s).map(Hex).map_err(|e| {
            ParamError::new(
                RpcErrorCode::Deserialization,
                format!("{name} is not valid hex: {e}"),
            )
        })
    }
}

impl<T: HashArgType> FromParam for HashArg<T> {
    const TYPE: &'static str = "string";
    const CLI_STRING: bool = true;
    fn from_param(v: &Value, name: &str) -> Result<Self, ParamError> {
        let s = v
            .as_str()
            .ok_or_else(|| ParamError::wrong_type(name, v, "string"))?;
        if s.len() != 64 || !s.bytes().all(|c| c.is_ascii_hexdigit()) {
            let shown: String = s.chars().take(80).collect();
            return Err(ParamError::invalid(format!(
                "{name} must be of length 64 (not {}, for '{shown}') and hexadecimal",
                s.len()
            )));
        }
        s.parse()
            .map(HashArg)
            .map_err(|_| ParamError::invalid(format!("{name} must be hexadecimal")))
    }
}

impl FromParam for Dot {
    const TYPE: &'static str = "numeric or string";
    fn from_param(v: &Value, _name: &str) -> Result<Self, ParamError> {
        amount_from_value(v).map(Dot)
    }
}

impl FromParam for DotPerKvb {
    const TYPE: &'static str = "numeric or string";
    fn from_param(v: &Value, _name: &str) -> Result<Self, ParamError> {
        amount_from_value(v).map(|a| DotPerKvb(FeeRate::from_sat_per_kvb(a.to_sat())))
    }
}

impl FromParam for SatPerVb {
    const TYPE: &'static str = "numeric or string";
    fn from_param(v: &Value, _name: &str) -> Result<Self, ParamError> {
        let text = number_text(v)?;
        // Three decimals of sat/vB are whole sat/kvB.
        let scaled = parse_fixed(&text, 3)
            .ok_or_else(|| ParamError::new(RpcErrorCode::Type, "Invalid amount"))?
            .ok_or_else(|| ParamError::new(RpcErrorCode::Type, "Amount out of range"))?;
        Ok(SatPerVb(FeeRate::from_sat_per_kvb(scaled)))
    }
}

impl<T: DeserializeOwned> FromParam for Json<T> {
    const TYPE: &'static str = "json";
    fn from_param(v: &Value, name: &str) -> Result<Self, ParamError> {
        T::deserialize(v).map(Json).map_err(|e| {
            // A value of the wrong JSON type anywhere inside is Core's type error, as its
            // RPCTypeCheck gives; any other shape `T` refuses is an invalid parameter.
            let code = if e.to_string().starts_with("invalid type") {
                RpcErrorCode::Type
            } else {
                RpcErrorCode::InvalidParameter
            };
            ParamError::new(code, format!("Invalid parameter '{name}': {e}"))
        })
    }
}

impl<T: DeserializeOwned> FromParam for JsonArray<T> {
    const TYPE: &'static str = "json array";
    fn from_param(v: &Value, name: &str) -> Result<Self, ParamError> {
        if !v.is_array() {
            return Err(ParamError::wrong_type(name, v, "array"));
        }
        Json::<Vec<T>>::from_param(v, name).map(|j| JsonArray(j.0))
    }
}

impl<T: Keyword> FromParam for KeywordArg<T> {
    const TYPE: &'static str = "string";
    const CLI_STRING: bool = true;
    fn from_param(v: &Value, name: &str) -> Result<Self, ParamError> {
        let word = Text::from_param(v, name)?.0;
        T::WORDS
            .iter()
            .find(|(w, _)| *w == word)
            .map(|(_, t)| KeywordArg(*t))
            .ok_or_else(|| ParamError::invalid(T::unknown(name, &word)))
    }
}

impl FromParam for HexList {
    const TYPE: &'static str = "json array";
    fn from_param(v: &Value, name: &str) -> Result<Self, ParamError> {
        v.as_array()
            .ok_or_else(|| ParamError::wrong_type(name, v, "array"))?
            .iter()
            .map(|item| Hex::from_param(item, name).map(|h| h.0))
            .collect::<Result<_, _>>()
            .map(HexList)
    }
}

impl FromParam for RawTxVerbosity {
    const TYPE: &'static str = "numeric";
    fn from_param(v: &Value, name: &str) -> Result<Self, ParamError> {
        match v {
            Value::Bool(b) => Ok(RawTxVerbosity(u32::from(*b))),
            other => Uint::from_param(other, name).map(|u| RawTxVerbosity(u.0)),
        }
    }
}

impl FromParam for TextList {
    const TYPE: &'static str = "json array";
    fn from_param(v: &Value, name: &str) -> Result<Self, ParamError> {
        let items = v
            .as_array()
            .ok_or_else(|| ParamError::wrong_type(name, v, "array"))?;
        items
            .iter()
            .map(|item| {
                item.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| ParamError::wrong_type(name, item, "string"))
            })
            .collect::<Result<_, _>>()
            .map(TextList)
    }
}

impl FromParam for DotMap {
    const TYPE: &'static str = "json object";
    fn from_param(v: &Value, name: &str) -> Result<Self, ParamError> {
        let map = v
            .as_object()
            .ok_or_else(|| ParamError::wrong_type(name, v, "object"))?;
        map.iter()
            .map(|(k, v)| Ok((k.clone(), amount_from_value(v)?)))
            .collect::<Result<_, _>>()
            .map(DotMap)
    }
}

impl<T: DeserializeOwned> FromParam for JsonObject<T> {
    const TYPE: &'static str = "json object";
    fn from_param(v: &Value, name: &str) -> Result<Self, ParamError> {
        if !v.is_object() {
            return Err(ParamError::wrong_type(name, v, "object"));
        }
        Json::<T>::from_param(v, name).map(|j| JsonObject(j.0))
    }
}

impl FromParam for AnyJson {
    const TYPE: &'static str = "any";
    fn from_param(v: &Value, _name: &str) -> Result<Self, ParamError> {
        Ok(AnyJson(v.clone()))
    }
}

deserialize_via_from_param!(
    Uint,
    Count,
    Int,
    Flag,
    StrictBool,
    Text,
    Hex,
    Dot,
    DotPerKvb,
    SatPerVb,
    HexList,
    RawTxVerbosity,
    TextList,
    DotMap,
    HashArg<T>
);

impl<'de, T: Keyword> Deserialize<'de> for KeywordArg<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        <Self as FromParam>::from_param(&v, UNNAMED).map_err(D::Error::custom)
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Json<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        <Self as FromParam>::from_param(&v, UNNAMED).map_err(D::Error::custom)
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for JsonArray<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        <Self as FromParam>::from_param(&v, UNNAMED).map_err(D::Error::custom)
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for JsonObject<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        <Self as FromParam>::from_param(&v, UNNAMED).map_err(D::Error::custom)
    }
}

impl<'de> Deserialize<'de> for AnyJson {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Value::deserialize(d).map(AnyJson)
    }
}

macro_rules! deref_to_inner {
    ($($ty:ident $(<$g:ident>)? => $inner:ty),* $(,)?) => {$(
        impl $(<$g>)? Deref for $ty $(<$g>)? {
            type Target = $inner;
            fn deref(&self) -> &$inner {
                &self.0
            }
        }
    )*};
}

deref_to_inner!(
    Uint => u32,
    Count => u32,
    Int => i64,
    Flag => bool,
    StrictBool => bool,
    Text => String,
    Hex => Vec<u8>,
    Dot => Amount,
    DotPerKvb => FeeRate,
    SatPerVb => FeeRate,
    HashArg<T> => T,
    Json<T> => T,
    TextList => Vec<String>,
    DotMap => Vec<(String, Amount)>,
    JsonObject<T> => T,
    JsonArray<T> => Vec<T>,
    AnyJson => Value,
    KeywordArg<T> => T,
    HexList => Vec<Vec<u8>>,
    RawTxVerbosity => u32,
);

fn number_text(v: &Value) -> Result<String, ParamError> {
    match v {
        Value::Number(n) => Ok(n.to_string()),
        Value::String(s) => Ok(s.trim().to_owned()),
        _ => Err(ParamError::new(
            RpcErrorCode::Type,
            "Amount is not a number or string",
        )),
    }
}

/// Parses a non-negative decimal with at most `decimals` places, scaled to an integer.
/// `None`: not a decimal; `Some(None)`: negative or too large.
fn parse_fixed(text: &str, decimals: usize) -> Option<Option<u64>> {
    // serde_json prints large or tiny floats with an exponent.
    let expanded;
    let text = if text.contains(['e', 'E']) {
        let f: f64 = text.parse().ok()?;
        if !f.is_finite() {
            return None;
        }
        expanded = format!("{f:.*}", decimals + 2);
        expanded.trim_end_matches('0').trim_end_matches('.')
    } else {
        text
    };
    if let Some(rest) = text.strip_prefix('-') {
        return rest
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.')
            .then_some(None);
    }
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty() && frac.is_empty()
        || !whole.chars().all(|c| c.is_ascii_digit())
        || !frac.chars().all(|c| c.is_ascii_digit())
        || frac.len() > decimals
    {
        return None;
    }
    let mut scaled: u64 = 0;
    for c in whole
        .chars()
        .chain(frac.chars())
        .chain(std::iter::repeat_n('0', decimals - frac.len()))
    {
        let digit = u64::from(c.to_digit(10).expect("checked digits"));
        scaled = match scaled.checked_mul(10).and_then(|s| s.checked_add(digit)) {
            Some(s) => s,
            None => return Some(None),
        };
    }
    Some(Some(scaled))
}

/// An amount of DOT as Core's `AmountFromValue` reads it: `-3` for anything that is not a
/// non-negative number of at most 8 decimals within the money range.
pub fn amount_from_value(v: &Value) -> Result<Amount, ParamError> {
    let text = number_text(v)?;
    let sat = parse_fixed(&text, 8)
        .ok_or_else(|| ParamError::new(RpcErrorCode::Type, "Invalid amount"))?
        .ok_or_else(|| ParamError::new(RpcErrorCode::Type, "Amount out of range"))?;
    let amount = Amount::from_sat(sat);
    if !amount.is_in_range() {
        return Err(ParamError::new(RpcErrorCode::Type, "Amount out of range"));
    }
    Ok(amount)
}

// The parameter types of the node's blockchain, address-index and subscription calls.

/// `getblock`'s verbosity: a level (0 hex, 1 txids, 2 transactions, 3 the same as 2), or
/// Core's older boolean (`false` is 0, `true` is 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BlockVerbosity(pub u32);

/// A block named by its hash (64 hex digits) or by its height on the active chain
/// (`getblockstats`' `hash_or_height`): a number is a height, a string a hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashOrHeight {
    /// A block hash.
    Hash(dotcoin_common::BlockHash),
    /// A height on the active chain.
    Height(u32),
}

/// The addresses of the address-index calls, as their clients send them:
/// `{"addresses": [...]}`, a list, or one address. An empty list is `-8`; whether each
/// address is one of the node's network is the handler's check (`-5`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AddressIndexList(pub Vec<String>);

/// The id a WebSocket subscription was given, as the `unsubscribe_*` calls take it (a
/// number or a string, jsonrpsee's [`SubscriptionId`](jsonrpsee::types::SubscriptionId)).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SubscriptionIdArg(pub jsonrpsee::types::SubscriptionId<'static>);

impl FromParam for BlockVerbosity {
    const TYPE: &'static str = "numeric";
    fn from_param(v: &Value, name: &str) -> Result<Self, ParamError> {
        match v {
            Value::Bool(b) => Ok(BlockVerbosity(u32::from(*b))),
            other => Uint::from_param(other, name).map(|u| BlockVerbosity(u.0)),
        }
    }
}

impl FromParam for HashOrHeight {
    const TYPE: &'static str = "string or numeric";
    fn from_param(v: &Value, name: &str) -> Result<Self, ParamError> {
        match v {
            Value::Number(_) => Uint::from_param(v, name).map(|h| HashOrHeight::Height(h.0)),
            other => HashArg::from_param(other, name).map(|h| HashOrHeight::Hash(h.0)),
        }
    }
}

impl FromParam for AddressIndexList {
    const TYPE: &'static str = "any";
    fn from_param(v: &Value, name: &str) -> Result<Self, ParamError> {
        let list = match v {
            Value::Object(o) => o.get("addresses").unwrap_or(&Value::Null),
            other => other,
        };
        let items = match list {
            Value::String(s) => vec![s.clone()],
            Value::Array(items) => items
                .iter()
                .map(|i| Text::from_param(i, name).map(|t| t.0))
                .collect::<Result<_, _>>()?,
            other => return Err(ParamError::wrong_type(name, other, "array")),
        };
        if items.is_empty() {
            return Err(ParamError::invalid(format!("parameter '{name}' is empty")));
        }
        Ok(AddressIndexList(items))
    }
}

impl FromParam for SubscriptionIdArg {
    const TYPE: &'static str = "string or numeric";
    fn from_param(v: &Value, name: &str) -> Result<Self, ParamError> {
        match v {
            Value::String(s) => Ok(SubscriptionIdArg(s.clone().into())),
            Value::Number(n) => n
                .as_u64()
                .map(|n| SubscriptionIdArg(n.into()))
                .ok_or_else(|| {
                    ParamError::invalid(format!("parameter '{name}' out of range: {n}"))
                }),
            other => Err(ParamError::wrong_type(name, other, "string")),
        }
    }
}

deserialize_via_from_param!(
    BlockVerbosity,
    HashOrHeight,
    AddressIndexList,
    SubscriptionIdArg
);

deref_to_inner!(
    BlockVerbosity => u32,
    AddressIndexList => Vec<String>,
    SubscriptionIdArg => jsonrpsee::types::SubscriptionId<'static>,
);

#[cfg(test)]
mod chain_arg_tests {
    use super::*;
    use serde_json::json;

    fn code<T: FromParam>(v: Value) -> Option<i32> {
        T::from_param(&v, "p").err().map(|e| e.code as i32)
    }

    #[test]
    fn block_verbosity_takes_levels_and_booleans() {
        let level = |v: Value| BlockVerbosity::from_param(&v, "verbosity").map(|b| b.0);
        assert_eq!(level(json!(2)), Ok(2));
        assert_eq!((level(json!(true)), level(json!(false))), (Ok(1), Ok(0)));
        assert_eq!(code::<BlockVerbosity>(json!("1")), Some(-3));
        assert_eq!(code::<BlockVerbosity>(json!(-1)), Some(-8));
    }

    #[test]
    fn hash_or_height_reads_a_number_as_a_height() {
        let hash = "00".repeat(31) + "ab";
        assert_eq!(
            HashOrHeight::from_param(&json!(7), "h"),
            Ok(HashOrHeight::Height(7))
        );
        assert_eq!(
            HashOrHeight::from_param(&json!(hash), "h"),
            Ok(HashOrHeight::Hash(hash.parse().expect("a hash")))
        );
        assert_eq!(code::<HashOrHeight>(json!("ab")), Some(-8));
        assert_eq!(code::<HashOrHeight>(json!(-1)), Some(-8));
        assert_eq!(code::<HashOrHeight>(json!(true)), Some(-3));
    }

    #[test]
    fn lists_refuse_other_types_as_core_does() {
        assert_eq!(
            TextList::from_param(&json!(["a", "b"]), "p").map(|t| t.0),
            Ok(vec!["a".to_owned(), "b".to_owned()])
        );
        assert_eq!(code::<TextList>(json!("a")), Some(-3));
        assert_eq!(code::<TextList>(json!([1])), Some(-3));
        let addresses = |v: Value| AddressIndexList::from_param(&v, "addresses").map(|a| a.0);
        let one = Ok(vec!["x".to_owned()]);
        assert_eq!(addresses(json!({"addresses": ["x"]})), one);
        assert_eq!(addresses(json!(["x"])), one);
        assert_eq!(addresses(json!("x")), one);
        assert_eq!(code::<AddressIndexList>(json!([])), Some(-8));
        assert_eq!(code::<AddressIndexList>(json!({})), Some(-3));
        assert_eq!(code::<AddressIndexList>(json!(1)), Some(-3));
    }

    #[test]
    fn subscription_ids_are_numbers_or_strings() {
        assert!(SubscriptionIdArg::from_param(&json!(5), "s").is_ok());
        assert!(SubscriptionIdArg::from_param(&json!("5"), "s").is_ok());
        assert_eq!(code::<SubscriptionIdArg>(json!([5])), Some(-3));
    }
}

#[cfg(test)]
mod word_and_list_tests {
    use serde_json::json;

    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Command {
        Add,
        Remove,
    }

    impl Keyword for Command {
        const WORDS: &'static [(&'static str, Self)] =
            &[("add", Command::Add), ("remove", Command::Remove)];
    }

    #[test]
    fn keywords_name_the_parameter_and_the_words() {
        let word = |v| KeywordArg::<Command>::from_param(&v, "command");
        assert_eq!(word(json!("remove")), Ok(KeywordArg(Command::Remove)));
        let e = word(json!("frob")).expect_err("not a word");
        assert_eq!(
            (e.code, e.message.as_str()),
            (
                RpcErrorCode::InvalidParameter,
                "command 'frob' must be one of add, remove"
            )
        );
        assert_eq!(word(json!(1)).map_err(|e| e.code), Err(RpcErrorCode::Type));
    }

    #[test]
    fn hex_lists_keep_a_lone_hex_strings_errors() {
        let list = |v| HexList::from_param(&v, "rawtxs");
        assert_eq!(
            list(json!(["00ff", ""])),
            Ok(HexList(vec![vec![0, 255], vec![]]))
        );
        let code = |v| list(v).map_err(|e| e.code);
        assert_eq!(code(json!("00")), Err(RpcErrorCode::Type));
        assert_eq!(code(json!([1])), Err(RpcErrorCode::Type));
        assert_eq!(code(json!(["zz"])), Err(RpcErrorCode::Deserialization));
    }

    #[test]
    fn raw_tx_verbosity_takes_booleans_and_counts() {
        let v = |v| RawTxVerbosity::from_param(&v, "verbosity").map(|r| r.0);
        assert_eq!(v(json!(true)), Ok(1));
        assert_eq!(v(json!(false)), Ok(0));
        assert_eq!(v(json!(2)), Ok(2));
        assert_eq!(
            v(json!(-1)).map_err(|e| e.code),
            Err(RpcErrorCode::InvalidParameter)
        );
    }
}

#[cfg(test)]
mod wallet_arg_tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strict_bools_refuse_numbers() {
        assert_eq!(
            StrictBool::from_param(&json!(true), "b"),
            Ok(StrictBool(true))
        );
        let e = StrictBool::from_param(&json!(1), "b").expect_err("number");
        assert_eq!(e.code, RpcErrorCode::Type);
        assert_eq!(
            e.message,
            "JSON value of type number is not of expected type bool for parameter 'b'"
        );
    }

    #[test]
    fn text_lists_are_arrays_of_strings() {
        let list = TextList::from_param(&json!(["a", "b"]), "addresses").expect("list");
        assert_eq!(list.0, ["a", "b"]);
        for bad in [json!("a"), json!({}), json!(["a", 5])] {
            let e = TextList::from_param(&bad, "addresses").expect_err("refused");
            assert_eq!(e.code, RpcErrorCode::Type, "{bad}");
            assert!(e.message.contains("'addresses'"), "{}", e.message);
        }
    }

    #[test]
    fn dot_maps_are_objects_of_amounts() {
        let map =
            DotMap::from_param(&json!({"a": 1.5, "b": "0.00000001"}), "amounts").expect("map");
        assert_eq!(
            map.0,
            [
                ("a".to_owned(), Amount::from_sat(150_000_000)),
                ("b".to_owned(), Amount::from_sat(1))
            ]
        );
        for (bad, message) in [
            (json!(["a"]), "expected type object for parameter 'amounts'"),
            (json!({"a": "lots"}), "Invalid amount"),
            (json!({"a": -1}), "Amount out of range"),
        ] {
            let e = DotMap::from_param(&bad, "amounts").expect_err("refused");
            assert_eq!(e.code, RpcErrorCode::Type, "{bad}");
            assert!(e.message.contains(message), "{}", e.message);
        }
    }

    #[test]
    fn json_objects_refuse_other_types_with_a_type_error() {
        #[derive(Debug, serde::Deserialize)]
        struct Options {
            #[allow(dead_code)]
            n: u32,
        }
        assert!(JsonObject::<Options>::from_param(&json!({"n": 1}), "options").is_ok());
        let e = JsonObject::<Options>::from_param(&json!([1]), "options").expect_err("array");
        assert_eq!(e.code, RpcErrorCode::Type);
        // A value of the wrong JSON type inside is a type error too, as in Core.
        let e = JsonObject::<Options>::from_param(&json!({"n": "x"}), "options")
            .expect_err("a string for a number");
        assert_eq!(e.code, RpcErrorCode::Type);
        let e = JsonObject::<Options>::from_param(&json!({}), "options").expect_err("shape");
        assert_eq!(e.code, RpcErrorCode::InvalidParameter);
        assert!(e.message.contains("'options'"), "{}", e.message);
    }

    #[test]
    fn json_arrays_refuse_other_types_with_a_type_error() {
        let list = |v| JsonArray::<u32>::from_param(&v, "inputs");
        assert_eq!(list(json!([1, 2])), Ok(JsonArray(vec![1, 2])));
        for bad in [json!({"a": 1}), json!("x"), json!(["x"])] {
            assert_eq!(
                list(bad.clone()).map_err(|e| e.code),
                Err(RpcErrorCode::Type),
                "{bad}"
            );
        }
        assert_eq!(
            list(json!([-1])).map_err(|e| e.code),
            Err(RpcErrorCode::InvalidParameter)
        );
        // The handler's decoding agrees with the wire's check.
        assert!(serde_json::from_value::<JsonArray<u32>>(json!([1])).is_ok());
        assert!(serde_json::from_value::<JsonArray<u32>>(json!({})).is_err());
    }
}
