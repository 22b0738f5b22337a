//! Fee rates: base units per 1000 bytes (`sat/kvB`), the unit Bitcoin Core's `CFeeRate`
//! keeps, so that low rates keep their precision and the node, the wallet and the RPC
//! agree on one rounding rule.

use std::fmt;

use super::amount::Amount;

/// A fee rate in base units per 1000 bytes of serialized transaction.
///
/// On the wire (serde) it is the bare number of base units per kvB, as `getmempoolentry`
/// reports `feerate`.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(transparent)]
pub struct FeeRate(u64);

impl FeeRate {
    /// No fee at all.
    pub const ZERO: FeeRate = FeeRate(0);

    /// `sat_per_kvb` base units per 1000 bytes.
    pub const fn from_sat_per_kvb(sat_per_kvb: u64) -> FeeRate {
        FeeRate(sat_per_kvb)
    }

    /// `sat_per_vb` base units per byte. Exact (a whole unit per byte is 1000 per kvB);
    /// saturates at `u64::MAX` per kvB rather than wrapping.
    pub const fn from_sat_per_vb(sat_per_vb: u64) -> FeeRate {
        FeeRate(sat_per_vb.saturating_mul(1000))
    }

    /// The rate a transaction of `size` bytes paying `fee` pays, rounded down (a
    /// transaction never appears to pay more than it does). A size of 0 counts as 1.
    pub fn from_fee_and_size(fee: Amount, size: usize) -> FeeRate {
        let size = size.max(1) as u128;
        let rate = u128::from(fee.to_sat()) * 1000 / size;
        FeeRate(u64::try_from(rate).unwrap_or(u64::MAX))
    }

    /// Base units per 1000 bytes.
    pub const fn to_sat_per_kvb(self) -> u64 {
        self.0
    }

    /// Base units per byte, rounded up: the smallest whole per-byte rate not below `self`.
    pub const fn to_sat_per_vb_ceil(self) -> u64 {
        self.0.div_ceil(1000)
    }

    /// The fee for `size` bytes at this rate, rounded up, so that paying it always meets
    /// the rate (Bitcoin Core rounds down and then bumps a zero fee to one unit; rounding
    /// up gives the same guarantee for every size). Saturates at `u64::MAX` units.
    pub fn fee_for(self, size: usize) -> Amount {
        let fee = (u128::from(self.0) * size as u128).div_ceil(1000);
        Amount::from_sat(u64::try_from(fee).unwrap_or(u64::MAX))
    }
}

/// Prints `<n> sat/kvB`.
impl fmt::Display for FeeRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} sat/kvB", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_byte_is_a_thousand_per_kvb() {
        assert_eq!(FeeRate::from_sat_per_vb(1), FeeRate::from_sat_per_kvb(1000));
        assert_eq!(FeeRate::from_sat_per_vb(0), FeeRate::ZERO);
        assert_eq!(
            FeeRate::from_sat_per_vb(u64::MAX),
            FeeRate::from_sat_per_kvb(u64::MAX)
        );
        assert_eq!(FeeRate::from_sat_per_kvb(1000).to_sat_per_vb_ceil(), 1);
        assert_eq!(FeeRate::from_sat_per_kvb(1001).to_sat_per_vb_ceil(), 2);
        assert_eq!(FeeRate::ZERO.to_sat_per_vb_ceil(), 0);
    }

    #[test]
    fn fee_for_rounds_up() {
        let rate = FeeRate::from_sat_per_kvb(1000);
        assert_eq!(rate.fee_for(250), Amount::from_sat(250));
        assert_eq!(rate.fee_for(0), Amount::ZERO);
        // 1.5 units per kvB on 1 byte is 0.0015 units: one whole unit is due.
        assert_eq!(FeeRate::from_sat_per_kvb(1).fee_for(1), Amount::from_sat(1));
        assert_eq!(
            FeeRate::from_sat_per_kvb(1500).fee_for(3),
            Amount::from_sat(5)
        );
        assert_eq!(
            FeeRate::from_sat_per_kvb(u64::MAX).fee_for(usize::MAX),
            Amount::from_sat(u64::MAX)
        );
    }

    #[test]
    fn rate_of_a_fee_rounds_down_and_meets_itself() {
        let rate = FeeRate::from_fee_and_size(Amount::from_sat(1000), 300);
        assert_eq!(rate, FeeRate::from_sat_per_kvb(3333));
        // Paying the rounded-down rate never asks for more than the fee that set it.
        assert!(rate.fee_for(300) <= Amount::from_sat(1000));
        assert_eq!(
            FeeRate::from_fee_and_size(Amount::from_sat(5), 0),
            FeeRate::from_sat_per_kvb(5000)
        );
    }

    #[test]
    fn orders_and_prints() {
        assert!(FeeRate::from_sat_per_vb(2) > FeeRate::from_sat_per_kvb(1999));
        assert_eq!(FeeRate::from_sat_per_vb(2).to_string(), "2000 sat/kvB");
    }
}
