//! Bitcoin Core's RPC error codes (one enum, STYLE item 9) and the readers of hostile
//! parameters: each checks a parameter's JSON type and bounds and fails with the code and
//! message Core gives for the same mistake.

use dotcoin_common::{Address, Amount, FeeRate, Network};
use jsonrpsee::types::ErrorObjectOwned;
use serde_json::Value;

use crate::error::WalletError;

/// The Bitcoin Core error codes the wallet service answers with (`src/rpc/protocol.h`),
/// one enum with the node's.
pub use dotcoin_rpc_server::RpcErrorCode as Code;

/// A failed call: a Core code and its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcFailure {
    /// The JSON-RPC error code.
    pub code: i32,
    /// The message.
    pub message: String,
}

impl RpcFailure {
    /// A failure with one of Core's codes.
    pub fn new(code: Code, message: impl Into<String>) -> RpcFailure {
        RpcFailure {
            code: code as i32,
            message: message.into(),
        }
    }
}

impl From<RpcFailure> for ErrorObjectOwned {
    fn from(f: RpcFailure) -> Self {
        ErrorObjectOwned::owned(f.code, f.message, None::<()>)
    }
}

/// Core's text for a locked wallet.
pub const UNLOCK_NEEDED: &str =
    "Error: Please enter the wallet passphrase with walletpassphrase first.";

impl From<WalletError> for RpcFailure {
    fn from(e: WalletError) -> Self {
        use WalletError as W;
        let (code, message) = match &e {
            W::BadAddress { address, source } => (
                Code::InvalidAddressOrKey,
                format!("Invalid address '{address}': {source}"),
            ),
            W::BadAmount(m) => (Code::Type, format!("Invalid amount: {m}")),
            W::NonPositiveAmount(_) => (Code::Type, "Invalid amount for send".to_owned()),
            W::BadSendMany(m) => (Code::InvalidParameter, format!("Invalid parameter, {m}")),
            W::DustAmount { .. }
            | W::FeeRateTooLow(_)
            | W::InsufficientFunds { .. }
            | W::InsufficientFundsForFee { .. }
            | W::AmountTooSmallForFee { .. } => (Code::InsufficientFunds, e.to_string()),
            W::UnknownAddress(a) => (
                Code::Wallet,
                format!("Private key for address {a} is not known"),
            ),
            W::BadPrivateKey(m) => (
                Code::InvalidAddressOrKey,
                format!("Invalid private key encoding: {m}"),
            ),
            W::AlreadyEncrypted => (
                Code::WrongEncState,
                "Error: running with an encrypted wallet, but encryptwallet was called.".to_owned(),
            ),
            W::NotEncrypted => (
                Code::WrongEncState,
                "Error: running with an unencrypted wallet, but a passphrase call was made."
                    .to_owned(),
            ),
            W::WrongPassphrase => (
                Code::PassphraseIncorrect,
                "Error: The wallet passphrase entered was incorrect.".to_owned(),
            ),
            W::PassphraseNeeded { .. } => (Code::UnlockNeeded, UNLOCK_NEEDED.to_owned()),
            W::KeypoolEmptyLocked => (
                Code::KeypoolRanOut,
                "Error: Keypool ran out, please call walletpassphrase to refill it first"
                    .to_owned(),
            ),
            W::EmptyPassphrase => (
                Code::InvalidParameter,
                "passphrase can not be empty".to_owned(),
            ),
            W::NodeRpc { code, message } => {
                return RpcFailure {
                    code: i32::try_from(*code).unwrap_or(Code::Misc as i32),
                    message: message.clone(),
                }
            }
            W::Node(m) => (Code::Misc, format!("node: {m}")),
            W::NotFound(_) | W::BadWalletName(_) => (Code::WalletNotFound, e.to_string()),
            W::AlreadyExists(_) => (Code::WalletAlreadyExists, e.to_string()),
            _ => (Code::Wallet, e.to_string()),
        };
        RpcFailure::new(code, message)
    }
}

/// The result of a handler.
pub type RpcResult<T> = Result<T, RpcFailure>;

fn wrong_type(v: &Value, expected: &str) -> RpcFailure {
    RpcFailure::new(
        Code::Type,
        format!(
            "JSON value of type {} is not of expected type {expected}",
            dotcoin_rpc_server::json_type_name(v)
        ),
    )
}

/// A call's positional parameters (named ones already put in place, gaps `null`).
#[derive(Debug)]
pub struct Params<'a>(pub &'a [Value]);

impl<'a> Params<'a> {
    fn get(&self, i: usize) -> Option<&'a Value> {
        self.0.get(i).filter(|v| !v.is_null())
    }

    /// A required parameter: Core answers a missing one with its help, code -1.
    pub fn required(&self, i: usize, name: &str) -> RpcResult<&'a Value> {
        self.get(i).ok_or_else(|| {
            RpcFailure::new(Code::Misc, format!("missing required parameter '{name}'"))
        })
    }

    /// An optional string.
    pub fn str(&self, i: usize) -> RpcResult<Option<&'a str>> {
        match self.get(i) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(v) => Err(wrong_type(v, "string")),
        }
    }

    /// A required string.
    pub fn req_str(&self, i: usize, name: &str) -> RpcResult<&'a str> {
        let v = self.required(i, name)?;
        v.as_str().ok_or_else(|| wrong_type(v, "string"))
    }

    /// An optional boolean.
    pub fn bool(&self, i: usize, default: bool) -> RpcResult<bool> {
        match self.get(i) {
            None => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(v) => Err(wrong_type(v, "bool")),
        }
    }

    /// An optional integer (a number without a fraction).
    pub fn int(&self, i: usize, default: i64) -> RpcResult<i64> {
        match self.get(i) {
            None => Ok(default),
            Some(v @ Value::Number(n)) => n.as_i64().ok_or_else(|| wrong_type(v, "integer")),
            Some(v) => Err(wrong_type(v, "number")),
        }
    }

    /// A required amount of DOT: a JSON number or a numeric string, more than zero, at
    /// most 8 decimals, within the money range.
    pub fn amount(&self, i: usize, name: &str) -> RpcResult<Amount> {
        let amount = amount_value(self.required(i, name)?)?;
        if amount == Amount::ZERO {
            return Err(RpcFailure::new(Code::Type, "Invalid amount for send"));
        }
        Ok(amount)
    }

    /// `fee_rate` in base units per byte (sat/vB), fractional like Core's; `None` when
    /// absent.
    pub fn fee_rate(&self, i: usize) -> RpcResult<Option<FeeRate>> {
        let Some(v) = self.get(i) else {
            return Ok(None);
        };
        let text = number_text(v)?;
        // Three decimals of sat/vB are whole sat/kvB.
        let scaled = parse_fixed(&text, 3)
            .ok_or_else(|| RpcFailure::new(Code::Type, "Invalid amount"))?
            .ok_or_else(|| RpcFailure::new(Code::Type, "Amount out of range"))?;
        Ok(Some(FeeRate::from_sat_per_kvb(scaled)))
    }
}

fn number_text(v: &Value) -> RpcResult<String> {
    match v {
        Value::Number(n) => Ok(n.to_string()),
        Value::String(s) => Ok(s.trim().to_owned()),
        _ => Err(RpcFailure::new(
            Code::Type,
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

/// An amount of DOT as Core's `AmountFromValue` reads it: -3 for anything that is not a
/// non-negative number of at most 8 decimals within the money range.
pub fn amount_value(v: &Value) -> RpcResult<Amount> {
    let text = number_text(v)?;
    let sat = parse_fixed(&text, 8)
        .ok_or_else(|| RpcFailure::new(Code::Type, "Invalid amount"))?
        .ok_or_else(|| RpcFailure::new(Code::Type, "Amount out of range"))?;
    let amount = Amount::from_sat(sat);
    if !amount.is_in_range() {
        return Err(RpcFailure::new(Code::Type, "Amount out of range"));
    }
    Ok(amount)
}

/// A destination address of `network`, or -5.
pub fn address(s: &str, network: Network) -> RpcResult<Address> {
    Address::parse_for(s.trim(), network).map_err(|e| {
        RpcFailure::new(
            Code::InvalidAddressOrKey,
            format!("Invalid address '{s}': {e}"),
        )
    })
}

/// A label: any string but `*`, which Core reserves.
pub fn label(s: Option<&str>) -> RpcResult<String> {
    match s {
        Some("*") => Err(RpcFailure::new(Code::InvalidLabel, "Invalid label name")),
        Some(l) => Ok(l.to_owned()),
        None => Ok(String::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn amounts_as_core_reads_them() {
        assert_eq!(amount_value(&json!(1.5)), Ok(Amount::from_sat(150_000_000)));
        assert_eq!(amount_value(&json!("0.00000001")), Ok(Amount::from_sat(1)));
        assert_eq!(amount_value(&json!(1e-8)), Ok(Amount::from_sat(1)));
        assert_eq!(amount_value(&json!(90)), Ok(Amount::from_dot(90)));
        for (bad, message) in [
            (json!("abc"), "Invalid amount"),
            (json!(0.123456789), "Invalid amount"),
            (json!(-1), "Amount out of range"),
            (json!("-0.5"), "Amount out of range"),
            (json!(1e300), "Amount out of range"),
            (json!(true), "Amount is not a number or string"),
            (json!([1]), "Amount is not a number or string"),
        ] {
            let err = amount_value(&bad).expect_err("refused");
            assert_eq!((err.code, err.message.as_str()), (-3, message), "{bad}");
        }
    }

    #[test]
    fn fee_rates_in_sat_per_vbyte() {
        let p = [json!(2.5)];
        assert_eq!(
            Params(&p).fee_rate(0),
            Ok(Some(FeeRate::from_sat_per_kvb(2500)))
        );
        let p = [json!(-1)];
        assert_eq!(Params(&p).fee_rate(0).expect_err("negative").code, -3);
        let p = [Value::Null];
        assert_eq!(Params(&p).fee_rate(0), Ok(None));
    }

    #[test]
    fn type_errors_name_the_types() {
        let p = [json!(5), json!("x")];
        let err = Params(&p).str(0).expect_err("number");
        assert_eq!(err.code, -3);
        assert_eq!(
            err.message,
            "JSON value of type number is not of expected type string"
        );
        assert_eq!(Params(&p).int(1, 0).expect_err("string").code, -3);
        assert_eq!(Params(&p).bool(0, false).expect_err("number").code, -3);
        assert_eq!(Params(&p).required(5, "x").expect_err("missing").code, -1);
    }
}
