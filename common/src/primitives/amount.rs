//! Amounts in base units: 1 DOT = 100 000 000 units, every sum checked against `MAX_MONEY`.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

use crate::encode::{Decodable, DecodeError, Encodable, Reader};

/// Base units in one DOT.
pub const COIN: u64 = 100_000_000;
/// No amount, and no sum of amounts, may exceed 21 000 000 DOT.
pub const MAX_MONEY: Amount = Amount(21_000_000 * COIN);
/// Relay policy, not consensus: outputs below this many base units are "dust" — worth
/// less than the fee to spend them — and the node neither relays nor mines them from its
/// pool; the wallet never creates them. Bitcoin Core's classic 546.
pub const DUST_THRESHOLD: Amount = Amount(546);

/// A number of base units.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Amount(u64);

impl Amount {
    /// Zero.
    pub const ZERO: Amount = Amount(0);
    /// One DOT.
    pub const ONE_DOT: Amount = Amount(COIN);

    /// From base units.
    pub const fn from_sat(sat: u64) -> Amount {
        Amount(sat)
    }
    /// From whole DOT.
    pub const fn from_dot(dot: u64) -> Amount {
        Amount(dot * COIN)
    }
    /// In base units.
    pub const fn to_sat(self) -> u64 {
        self.0
    }
    /// In DOT, as a float (for display and JSON only, never for arithmetic).
    pub fn to_dot_f64(self) -> f64 {
        self.0 as f64 / COIN as f64
    }
    /// `self + rhs`, or `None` on overflow.
    pub fn checked_add(self, rhs: Amount) -> Option<Amount> {
        self.0.checked_add(rhs.0).map(Amount)
    }
    /// `self - rhs`, or `None` below zero.
    pub fn checked_sub(self, rhs: Amount) -> Option<Amount> {
        self.0.checked_sub(rhs.0).map(Amount)
    }
    /// Whether `0 <= self <= MAX_MONEY`.
    pub fn is_in_range(self) -> bool {
        self <= MAX_MONEY
    }
    /// Sums amounts, `None` on overflow or above `MAX_MONEY`.
    pub fn checked_sum(iter: impl IntoIterator<Item = Amount>) -> Option<Amount> {
        let mut total = Amount::ZERO;
        for a in iter {
            total = total.checked_add(a).filter(|t| t.is_in_range())?;
        }
        Some(total)
    }
    /// Parses a DOT amount with up to 8 decimals, e.g. `"90"`, `"0.5"`, `"1.00000001"`.
    pub fn from_dot_str(s: &str) -> Result<Amount, AmountParseError> {
        let s = s.trim();
        let (whole, frac) = match s.split_once('.') {
            Some((w, f)) => (w, f),
            None => (s, ""),
        };
        if whole.is_empty() && frac.is_empty() {
            return Err(AmountParseError::Invalid(s.to_owned()));
        }
        if s.starts_with('-') {
            return Err(AmountParseError::Negative(s.to_owned()));
        }
        if !whole.chars().all(|c| c.is_ascii_digit()) || !frac.chars().all(|c| c.is_ascii_digit()) {
            return Err(AmountParseError::Invalid(s.to_owned()));
        }
        if frac.len() > 8 {
            return Err(AmountParseError::TooPrecise(s.to_owned()));
        }
        let whole: u64 = if whole.is_empty() {
            0
        } else {
            whole
                .parse()
                .map_err(|_| AmountParseError::TooLarge(s.to_owned()))?
        };
        let frac_units: u64 = format!("{frac:0<8}")
            .parse()
            .expect("eight ascii digits always parse as u64");
        let sat = whole
            .checked_mul(COIN)
            .and_then(|w| w.checked_add(frac_units))
            .ok_or_else(|| AmountParseError::TooLarge(s.to_owned()))?;
        let amount = Amount(sat);
        if !amount.is_in_range() {
            return Err(AmountParseError::TooLarge(s.to_owned()));
        }
        Ok(amount)
    }
}

/// Why a DOT amount string was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AmountParseError {
    /// Not a decimal number.
    #[error("invalid amount '{0}': expected a decimal number of DOT")]
    Invalid(String),
    /// Below zero.
    #[error("invalid amount '{0}': amounts cannot be negative")]
    Negative(String),
    /// More than 8 decimals.
    #[error("invalid amount '{0}': at most 8 decimal places")]
    TooPrecise(String),
    /// Above `MAX_MONEY`.
    #[error("invalid amount '{0}': above the 21000000 DOT money supply")]
    TooLarge(String),
}

impl FromStr for Amount {
    type Err = AmountParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Amount::from_dot_str(s)
    }
}

/// Prints DOT with 8 decimals, as Bitcoin Core prints BTC.
impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:08}", self.0 / COIN, self.0 % COIN)
    }
}

/// A JSON number with exactly 8 decimals (`0.00000584`), as Bitcoin Core prints amounts:
/// never a float's shortest form (`5.84e-6`, `50.0`). The text goes out as serde_json's
/// raw value, so it reaches the wire as written; into a `serde_json::Value` it becomes
/// that number's `f64` (and loses only the trailing zeros).
impl serde::Serialize for Amount {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serde_json::value::RawValue::from_string(self.to_string())
            .map_err(serde::ser::Error::custom)?
            .serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for Amount {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = f64::deserialize(d)?;
        if !(0.0..=MAX_MONEY.to_dot_f64()).contains(&v) {
            return Err(serde::de::Error::custom(format!("amount {v} out of range")));
        }
        Ok(Amount((v * COIN as f64).round() as u64))
    }
}

/// A signed number of base units, for results that report a net effect (a wallet
/// entry's `amount` and `fee` are negative for a send). It prints like [`Amount`]: DOT
/// with exactly 8 decimals, a `-` in front when negative.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SignedAmount(i64);

impl SignedAmount {
    /// Zero.
    pub const ZERO: SignedAmount = SignedAmount(0);

    /// From base units.
    pub const fn from_sat(sat: i64) -> SignedAmount {
        SignedAmount(sat)
    }
    /// In base units.
    pub const fn to_sat(self) -> i64 {
        self.0
    }
}

impl From<Amount> for SignedAmount {
    /// Every amount within `u64` that is also within `i64`; `MAX_MONEY` is far below.
    fn from(a: Amount) -> SignedAmount {
        SignedAmount(i64::try_from(a.0).unwrap_or(i64::MAX))
    }
}

/// DOT with 8 decimals, `-` first when negative.
impl fmt::Display for SignedAmount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:08}", abs / COIN, abs % COIN)
    }
}

/// The same 8-decimal JSON number as [`Amount`]'s.
impl serde::Serialize for SignedAmount {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serde_json::value::RawValue::from_string(self.to_string())
            .map_err(serde::ser::Error::custom)?
            .serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for SignedAmount {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = f64::deserialize(d)?;
        let max = MAX_MONEY.to_dot_f64();
        if !(-max..=max).contains(&v) {
            return Err(serde::de::Error::custom(format!("amount {v} out of range")));
        }
        Ok(SignedAmount((v * COIN as f64).round() as i64))
    }
}

impl Encodable for Amount {
    fn consensus_encode(&self, out: &mut Vec<u8>) {
        self.0.consensus_encode(out)
    }
    fn encoded_size(&self) -> usize {
        8
    }
}
impl Decodable for Amount {
    const MIN_SIZE: usize = 8;
    fn consensus_decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Amount(u64::consensus_decode(r)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_dot() {
        assert_eq!("90".parse::<Amount>(), Ok(Amount::from_dot(90)));
        assert_eq!("0.5".parse::<Amount>(), Ok(Amount::from_sat(50_000_000)));
        assert_eq!(
            "1.00000001".parse::<Amount>(),
            Ok(Amount::from_sat(COIN + 1))
        );
        assert_eq!(Amount::from_sat(COIN + 1).to_string(), "1.00000001");
        assert!(matches!(
            "-1".parse::<Amount>(),
            Err(AmountParseError::Negative(_))
        ));
        assert!(matches!(
            "1.000000001".parse::<Amount>(),
            Err(AmountParseError::TooPrecise(_))
        ));
        assert!(matches!(
            "21000001".parse::<Amount>(),
            Err(AmountParseError::TooLarge(_))
        ));
        assert!(matches!(
            "abc".parse::<Amount>(),
            Err(AmountParseError::Invalid(_))
        ));
    }

    #[test]
    fn json_amounts_have_eight_decimals_and_no_exponent() {
        for (sat, text) in [
            (584, "0.00000584"),
            (1, "0.00000001"),
            (50 * COIN, "50.00000000"),
            (0, "0.00000000"),
            (MAX_MONEY.to_sat(), "21000000.00000000"),
        ] {
            let json = serde_json::to_string(&Amount::from_sat(sat)).expect("serializes");
            assert_eq!(json, text);
            assert!(!json.contains('e') && !json.contains('E'), "{json}");
            let back: Amount = serde_json::from_str(&json).expect("parses back");
            assert_eq!(back, Amount::from_sat(sat));
        }
        #[derive(serde::Serialize)]
        struct Fee {
            fee: Amount,
        }
        assert_eq!(
            serde_json::to_string(&Fee {
                fee: Amount::from_sat(584)
            })
            .expect("serializes"),
            r#"{"fee":0.00000584}"#
        );
    }

    #[test]
    fn signed_amounts_print_like_amounts() {
        for (sat, text) in [
            (-12_345, "-0.00012345"),
            (-(50 * COIN as i64), "-50.00000000"),
            (1, "0.00000001"),
            (0, "0.00000000"),
        ] {
            let json = serde_json::to_string(&SignedAmount::from_sat(sat)).expect("serializes");
            assert_eq!(json, text);
            let back: SignedAmount = serde_json::from_str(&json).expect("parses back");
            assert_eq!(back, SignedAmount::from_sat(sat));
        }
        assert_eq!(
            SignedAmount::from(Amount::from_sat(7)),
            SignedAmount::from_sat(7)
        );
    }

    #[test]
    fn checked_sum_stops_at_max_money() {
        assert_eq!(Amount::checked_sum([MAX_MONEY, Amount::from_sat(1)]), None);
        assert_eq!(
            Amount::checked_sum([Amount::ONE_DOT; 3]),
            Some(Amount::from_dot(3))
        );
    }
}
