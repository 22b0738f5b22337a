//! Contextual header rules: the ones that need the chain the header builds on.
//!
//! The caller (the node's block index) computes a [`HeaderContext`] from the parent; the
//! rules here only compare.

use super::ValidationError;
use crate::params::Params;
use crate::pow::{is_retarget_height, retarget};
use crate::primitives::{BlockHeader, CompactTarget};

/// What the chain says about the slot a header wants to fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderContext {
    /// Height the header would have.
    pub height: u32,
    /// `bits` the retarget rule requires at that height.
    pub expected_bits: CompactTarget,
    /// Median time of the previous 11 blocks.
    pub median_time_past: u32,
    /// The parent's time.
    pub parent_time: u32,
    /// The node's clock, seconds since the epoch.
    pub now: u64,
}

/// The `bits` required at `height`, given the parent's bits and, at retarget heights, the
/// times that bound the last interval (see [`crate::pow::retarget`]).
pub fn expected_bits(
    params: &Params,
    height: u32,
    parent_bits: CompactTarget,
    interval_first_time: u32,
    parent_time: u32,
) -> CompactTarget {
    if is_retarget_height(params, height) {
        retarget(params, parent_bits, interval_first_time, parent_time)
    } else {
        parent_bits
    }
}

/// `bits` must equal the value the retarget rule gives for this height.
pub fn check_bits(header: &BlockHeader, ctx: &HeaderContext) -> Result<(), ValidationError> {
    if header.bits != ctx.expected_bits {
        return Err(ValidationError::UnexpectedBits {
            height: ctx.height,
            got: header.bits,
            expected: ctx.expected_bits,
        });
    }
    Ok(())
}

/// The time must be after the median of the previous 11 blocks.
pub fn check_time_after_median(
    header: &BlockHeader,
    ctx: &HeaderContext,
) -> Result<(), ValidationError> {
    if header.time <= ctx.median_time_past {
        return Err(ValidationError::TimeTooOld {
            time: header.time,
            median: ctx.median_time_past,
        });
    }
    Ok(())
}

/// The time may be at most `max_future_block_time` ahead of the node's clock.
pub fn check_time_not_too_new(
    header: &BlockHeader,
    ctx: &HeaderContext,
    params: &Params,
) -> Result<(), ValidationError> {
    if header.time as u64 > ctx.now + params.max_future_block_time as u64 {
        return Err(ValidationError::TimeTooNew {
            time: header.time,
            now: ctx.now,
            max_ahead: params.max_future_block_time,
        });
    }
    Ok(())
}

/// BIP94: the first block of a difficulty period may not be stamped more than
/// `max_timewarp` before its parent. Without it, a miner who stamps the last block of each
/// period late and the first of the next early makes every period look longer than it
/// was, and difficulty falls however fast blocks come (the time-warp attack).
pub fn check_timewarp(
    header: &BlockHeader,
    ctx: &HeaderContext,
    params: &Params,
) -> Result<(), ValidationError> {
    if is_retarget_height(params, ctx.height)
        && u64::from(header.time) + u64::from(params.max_timewarp) < u64::from(ctx.parent_time)
    {
        return Err(ValidationError::TimeWarp {
            height: ctx.height,
            time: header.time,
            parent_time: ctx.parent_time,
            max_back: params.max_timewarp,
        });
    }
    Ok(())
}

/// All contextual header rules.
pub fn check_header_contextual(
    header: &BlockHeader,
    ctx: &HeaderContext,
    params: &Params,
) -> Result<(), ValidationError> {
    check_bits(header, ctx)?;
    check_time_after_median(header, ctx)?;
    check_timewarp(header, ctx, params)?;
    check_time_not_too_new(header, ctx, params)
}
