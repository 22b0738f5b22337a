//! Proof of work: compact `bits` ↔ 256-bit targets, the work a block proves, the retarget
//! rule and median time past.
//!
//! A header is valid when its hash, read as a little-endian 256-bit number, is at most the
//! target its `bits` encode, and `bits` is what the chain expects at that height. The best
//! chain is the one with most total work, where one block's work is `2^256 / (target + 1)`:
//! the expected number of hashes it took.

use ruint::aliases::U256;
use thiserror::Error;

use crate::params::Params;
use crate::primitives::{BlockHeader, CompactTarget};

/// Why `bits` do not encode a usable target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum CompactTargetError {
    /// The sign bit is set on a non-zero mantissa.
    #[error("compact target {0} is negative")]
    Negative(CompactTarget),
    /// The value does not fit in 256 bits.
    #[error("compact target {0} overflows 256 bits")]
    Overflow(CompactTarget),
    /// The target is zero: no hash could meet it.
    #[error("compact target {0} is zero")]
    Zero(CompactTarget),
}

impl CompactTarget {
    /// Decodes `bits` exactly as Bitcoin Core's `arith_uint256::SetCompact`, refusing
    /// negative, overflowing and zero targets.
    pub fn to_target(self) -> Result<U256, CompactTargetError> {
        let size = self.0 >> 24;
        let mut word = self.0 & 0x007f_ffff;
        let target = if size <= 3 {
            word >>= 8 * (3 - size);
            U256::from(word)
        } else {
            U256::from(word)
                .checked_shl(8 * (size as usize - 3))
                .unwrap_or(U256::ZERO)
        };
        if word != 0 && self.0 & 0x0080_0000 != 0 {
            return Err(CompactTargetError::Negative(self));
        }
        if word != 0 && (size > 34 || (word > 0xff && size > 33) || (word > 0xffff && size > 32)) {
            return Err(CompactTargetError::Overflow(self));
        }
        if target.is_zero() {
            return Err(CompactTargetError::Zero(self));
        }
        Ok(target)
    }

    /// Encodes a target as Bitcoin Core's `arith_uint256::GetCompact` (rounding down).
    pub fn from_target(target: U256) -> CompactTarget {
        let mut size = target.bit_len().div_ceil(8) as u32;
        let mut compact: u32 = if size <= 3 {
            (target.as_limbs()[0] << (8 * (3 - size))) as u32
        } else {
            (target >> (8 * (size as usize - 3))).as_limbs()[0] as u32
        };
        if compact & 0x0080_0000 != 0 {
            compact >>= 8;
            size += 1;
        }
        CompactTarget(compact | (size << 24))
    }
}

/// The expected number of hashes to meet `target`: `2^256 / (target + 1)`.
pub fn work_from_target(target: U256) -> U256 {
    // 2^256 does not fit in 256 bits; (2^256 - t - 1) / (t + 1) + 1 is the same number.
    match target.checked_add(U256::from(1u8)) {
        Some(divisor) => (!target / divisor) + U256::from(1u8),
        None => U256::from(1u8),
    }
}

/// The work proven by a header with these `bits` (zero for unusable bits).
pub fn work_from_bits(bits: CompactTarget) -> U256 {
    bits.to_target().map(work_from_target).unwrap_or(U256::ZERO)
}

/// Whether a block at `height` starts a new difficulty period.
pub fn is_retarget_height(params: &Params, height: u32) -> bool {
    params.retarget && height > 0 && height.is_multiple_of(params.retarget_interval)
}

/// Where the interval measured at retarget `height` starts: the height of the block whose
/// time is its start, and seconds to take off that time.
///
/// Bitcoin Core measures from the block `retarget_interval` back. For the first interval
/// that is the genesis block, stamped when the network was made — days or weeks before
/// anyone mines block 1 — so the first retarget would always make mining 4x easier. Here
/// the first interval is measured from block 1, one spacing earlier, which spans as many
/// spacings as every later interval.
pub fn interval_start(params: &Params, height: u32) -> (u32, u32) {
    match height.saturating_sub(params.retarget_interval) {
        0 if params.retarget_interval > 1 => (1, params.target_spacing),
        h => (h, 0),
    }
}

/// The retarget rule: scale the previous target by the actual time the last interval
/// took over the time it should have taken, with the factor clamped to [1/4, 4] and the
/// result never easier than `pow_limit`.
///
/// `first_time` is the time of the block `retarget_interval` blocks before the new one and
/// `last_time` the time of its parent, as Bitcoin Core measures the interval.
pub fn retarget(
    params: &Params,
    prev_bits: CompactTarget,
    first_time: u32,
    last_time: u32,
) -> CompactTarget {
    let expected = params.target_timespan() as i64;
    let actual = (last_time as i64 - first_time as i64).clamp(expected / 4, expected * 4);
    let pow_limit = params.pow_limit_target();
    let old = prev_bits.to_target().unwrap_or(pow_limit);
    let scaled = old
        .checked_mul(U256::from(actual as u64))
        .map(|t| t / U256::from(expected as u64))
        .unwrap_or(pow_limit);
    CompactTarget::from_target(scaled.min(pow_limit))
}

/// `n` headers with valid proof of work chained onto `from`, a second apart, their merkle
/// roots filled with `tag` so two forks off one header differ: a header chain for tests
/// of header sync and its limits (regtest's difficulty: a hash or two each).
pub fn grind_header_chain(from: &BlockHeader, n: u32, tag: u8) -> Vec<BlockHeader> {
    use bitcoin_hashes::Hash as _;
    let mut prev = *from;
    (0..n)
        .map(|i| {
            let mut h = BlockHeader {
                version: 1,
                prev_blockhash: prev.block_hash(),
                merkle_root: crate::TxMerkleNode::from_byte_array([tag; 32]),
                time: from.time + 1 + i,
                bits: from.bits,
                nonce: 0,
            };
            grind(&mut h, true);
            prev = h;
            h
        })
        .collect()
}

/// Raises `header`'s nonce until its hash meets the target its own `bits` encode, or, with
/// `valid` false, until it does not.
///
/// The one nonce search of the tests, benchmarks, fuzz fixtures and hand-built regtest
/// blocks: a hash or two at regtest's difficulty, hopeless at mainnet's (the node's miner
/// searches its own way). Panics if `bits` encode no target.
pub fn grind(header: &mut BlockHeader, valid: bool) {
    let target = header
        .bits
        .to_target()
        .expect("the header's bits encode a target");
    while (header.block_hash().to_u256() <= target) != valid {
        header.nonce += 1;
    }
}

/// The median of up to the last 11 block times, as Bitcoin Core's `GetMedianTimePast`.
pub fn median_time_past(times: &[u32]) -> u32 {
    let mut sorted: Vec<u32> = times.iter().rev().take(11).copied().collect();
    sorted.sort_unstable();
    sorted.get(sorted.len() / 2).copied().unwrap_or(0)
}

/// Difficulty as Bitcoin Core reports it: how many times harder than the easiest
/// Bitcoin-style target `0x1d00ffff`.
pub fn difficulty(bits: CompactTarget) -> f64 {
    let mut shift = (bits.0 >> 24) & 0xff;
    let mut diff = 0x0000_ffff as f64 / (bits.0 & 0x00ff_ffff) as f64;
    while shift < 29 {
        diff *= 256.0;
        shift += 1;
    }
    while shift > 29 {
        diff /= 256.0;
        shift -= 1;
    }
    diff
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::Network;

    #[test]
    fn compact_round_trips_bitcoin_values() {
        for bits in [
            0x1d00ffffu32,
            0x207fffff,
            0x1e0fffff,
            0x1f00ffff,
            0x1b0404cb,
        ] {
            let t = CompactTarget(bits).to_target().expect("valid bits");
            assert_eq!(CompactTarget::from_target(t), CompactTarget(bits));
        }
        assert_eq!(
            CompactTarget(0x1d00ffff).to_target().expect("valid"),
            U256::from(0xffffu64) << 208
        );
    }

    #[test]
    fn compact_rejects_negative_overflow_zero() {
        assert!(matches!(
            CompactTarget(0x04923456).to_target(),
            Err(CompactTargetError::Negative(_))
        ));
        assert!(matches!(
            CompactTarget(0xff123456).to_target(),
            Err(CompactTargetError::Overflow(_))
        ));
        assert!(matches!(
            CompactTarget(0x00000000).to_target(),
            Err(CompactTargetError::Zero(_))
        ));
    }

    #[test]
    fn work_is_expected_hashes() {
        // Target 2^255 - 1 (about half of all hashes meet it) proves 2 hashes of work.
        let t = (U256::from(1u8) << 255) - U256::from(1u8);
        assert_eq!(work_from_target(t), U256::from(2u8));
        assert_eq!(work_from_target(U256::MAX), U256::from(1u8));
    }

    fn main_params() -> &'static Params {
        Network::Main.params()
    }

    #[test]
    fn retarget_on_time_keeps_target() {
        let p = main_params();
        let bits = p.genesis_bits;
        assert_eq!(retarget(p, bits, 1000, 1000 + p.target_timespan()), bits);
    }

    #[test]
    fn retarget_ten_times_too_fast_clamps_to_four_times_harder() {
        let p = main_params();
        let bits = p.genesis_bits;
        let new = retarget(p, bits, 1000, 1000 + p.target_timespan() / 10);
        let old_t = bits.to_target().expect("valid");
        let expected = CompactTarget::from_target(old_t / U256::from(4u8));
        assert_eq!(new, expected);
    }

    #[test]
    fn retarget_ten_times_too_slow_clamps_to_four_times_easier() {
        let p = main_params();
        // Start from a target well below the limit so the ×4 is visible.
        let bits = CompactTarget::from_target(p.pow_limit_target() / U256::from(64u8));
        let new = retarget(p, bits, 1000, 1000 + p.target_timespan() * 10);
        let expected =
            CompactTarget::from_target(bits.to_target().expect("valid") * U256::from(4u8));
        assert_eq!(new, expected);
    }

    #[test]
    fn retarget_never_easier_than_pow_limit() {
        let p = main_params();
        let new = retarget(p, p.pow_limit, 1000, 1000 + p.target_timespan() * 10);
        assert_eq!(new, p.pow_limit);
    }

    #[test]
    fn median_of_eleven() {
        let times: Vec<u32> = (0..20).map(|i| 100 + i * 10).collect();
        // The last 11 are 190..=290; their median is 240.
        assert_eq!(median_time_past(&times), 240);
        assert_eq!(median_time_past(&[5, 1, 3]), 3);
    }

    #[test]
    fn difficulty_of_bitcoin_genesis_is_one() {
        assert_eq!(difficulty(CompactTarget(0x1d00ffff)), 1.0);
    }
}
