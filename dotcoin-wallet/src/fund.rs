//! The arithmetic of the spending calls beyond a plain payment, pure like
//! [`crate::coinselect`]: funding around inputs the caller chose (`fundrawtransaction`,
//! `send`'s `inputs`, `bumpfee` keeping every original input), `sendall`'s split of what
//! is left, and `bumpfee`'s fee rule.
//!
//! A "vbyte" here is a byte: dotcoin's transactions have no witness discount, and the
//! node's fee rates (`getmempoolentry`'s `vsize`, the replacement rules, `minrelaytxfee`)
//! are all per serialized byte, so a rate in sat/vB is base units per byte.

use dotcoin_common::{Amount, FeeRate};

use crate::coinselect::{select_coins, signed_tx_size, Coin, Insufficient, INPUT_SIZE};

/// The wallet's own floor on how much a bump raises the fee rate, whatever the node's
/// incremental relay fee (Core's `WALLET_INCREMENTAL_RELAY_FEE`, 5 sat/vB), so a
/// replacement clears a peer whose incremental fee is higher than this node's.
pub const WALLET_INCREMENTAL_RELAY_FEE: FeeRate = FeeRate::from_sat_per_kvb(5_000);

/// The coins paying `target` to `payments` outputs at `fee_rate`: every coin of `preset`,
/// plus, when they are not enough and `add_inputs` allows, coins of `others` chosen by
/// [`select_coins`] for the shortfall (the preset coins' own input fees included).
/// Without `preset` it is [`select_coins`] on `others`.
pub fn select_around(
    preset: &[Coin],
    others: &[Coin],
    target: Amount,
    payments: usize,
    fee_rate: FeeRate,
    add_inputs: bool,
) -> Result<Vec<Coin>, Insufficient> {
    if preset.is_empty() {
        return select_coins(others, target, payments, fee_rate);
    }
    let fee = |size: u64| i128::from(fee_rate.fee_for(size as usize).to_sat());
    let preset_value: i128 = preset
        .iter()
        .map(|c| i128::from(c.output.value.to_sat()))
        .sum();
    let preset_effective = preset_value - fee(INPUT_SIZE) * preset.len() as i128;
    let need = i128::from(target.to_sat()) + fee(signed_tx_size(0, payments));
    if preset_effective >= need {
        return Ok(preset.to_vec());
    }
    let short = || Insufficient {
        available: Amount::from_sat(u64::try_from(preset_value).unwrap_or(u64::MAX)),
        needed: Amount::from_sat(
            u64::try_from(need + fee(INPUT_SIZE) * preset.len() as i128).unwrap_or(u64::MAX),
        ),
    };
    if !add_inputs {
        return Err(short());
    }
    let rest: Vec<Coin> = others
        .iter()
        .filter(|c| preset.iter().all(|p| p.outpoint != c.outpoint))
        .cloned()
        .collect();
    // What the preset coins leave to pay of the payments (the base fee is counted by
    // `select_coins` itself).
    let remaining = i128::from(target.to_sat()) - preset_effective;
    let remaining = Amount::from_sat(u64::try_from(remaining.max(0)).unwrap_or(u64::MAX));
    let extra = select_coins(&rest, remaining, payments, fee_rate).map_err(|e| Insufficient {
        available: Amount::from_sat(
            u64::try_from(preset_value + i128::from(e.available.to_sat())).unwrap_or(u64::MAX),
        ),
        needed: short().needed,
    })?;
    let mut all = preset.to_vec();
    all.extend(extra);
    Ok(all)
}

/// `sendall`'s amounts for the `n` recipients without one: `remainder` split evenly, the
/// first also taking what does not divide (Core's rule).
pub fn split_remainder(remainder: u64, n: usize) -> Vec<u64> {
    if n == 0 {
        return Vec::new();
    }
    let each = remainder / n as u64;
    let mut out = vec![each; n];
    out[0] += remainder % n as u64;
    out
}

/// `bumpfee`'s fee rate when the caller gives none (Core's `EstimateFeeRate` without an
/// estimator): the original's rate plus 1 unit per kvB (it was rounded down), plus the
/// larger of the node's incremental relay fee and [`WALLET_INCREMENTAL_RELAY_FEE`]; at
/// least `floor`.
pub fn default_bump_rate(
    old_fee: Amount,
    old_size: usize,
    node_incremental: FeeRate,
    floor: FeeRate,
) -> FeeRate {
    let old = FeeRate::from_fee_and_size(old_fee, old_size).to_sat_per_kvb();
    let step = node_incremental
        .to_sat_per_kvb()
        .max(WALLET_INCREMENTAL_RELAY_FEE.to_sat_per_kvb());
    let rate = FeeRate::from_sat_per_kvb(old.saturating_add(1).saturating_add(step));
    rate.max(floor)
}

/// The least fee a replacement of `new_size` bytes of a transaction paying `old_fee`
/// must pay (the node's rules 5 and 6: what it evicts, plus the incremental relay fee
/// for its own size).
pub fn min_replacement_fee(old_fee: Amount, incremental: FeeRate, new_size: usize) -> Amount {
    Amount::from_sat(
        old_fee
            .to_sat()
            .saturating_add(incremental.fee_for(new_size).to_sat()),
    )
}

/// The lowest rate at which `size` bytes pay at least `fee`.
pub fn rate_for(fee: Amount, size: usize) -> FeeRate {
    let size = size.max(1) as u128;
    let kvb = (u128::from(fee.to_sat()) * 1000).div_ceil(size);
    FeeRate::from_sat_per_kvb(u64::try_from(kvb).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coinselect::tests::coin;

    #[test]
    fn preset_coins_alone_when_they_suffice() {
        let rate = FeeRate::from_sat_per_vb(2);
        let chosen = select_around(
            &[coin(1, 100_000)],
            &[coin(2, 5_000_000)],
            Amount::from_sat(50_000),
            1,
            rate,
            true,
        )
        .expect("enough");
        assert_eq!(chosen, vec![coin(1, 100_000)]);
    }

    #[test]
    fn preset_coins_topped_up_only_when_allowed() {
        let rate = FeeRate::from_sat_per_vb(2);
        let target = Amount::from_sat(150_000);
        let chosen = select_around(
            &[coin(1, 100_000)],
            &[coin(1, 100_000), coin(2, 80_000), coin(3, 5_000_000)],
            target,
            1,
            rate,
            true,
        )
        .expect("enough with one more");
        assert_eq!(chosen[0], coin(1, 100_000), "the preset coin is kept");
        assert!(chosen
            .iter()
            .skip(1)
            .all(|c| c.outpoint != chosen[0].outpoint));
        let total: u64 = chosen.iter().map(|c| c.output.value.to_sat()).sum();
        let fee = rate
            .fee_for(signed_tx_size(chosen.len(), 1) as usize)
            .to_sat();
        assert!(total >= target.to_sat() + fee, "{chosen:?}");
        let err = select_around(
            &[coin(1, 100_000)],
            &[coin(3, 5_000_000)],
            target,
            1,
            rate,
            false,
        )
        .expect_err("no other inputs allowed");
        assert_eq!(err.available, Amount::from_sat(100_000));
        assert!(err.needed > target, "{err:?}");
    }

    #[test]
    fn the_remainder_splits_with_the_odd_units_first() {
        assert_eq!(split_remainder(10, 3), vec![4, 3, 3]);
        assert_eq!(split_remainder(9, 1), vec![9]);
        assert!(split_remainder(9, 0).is_empty());
    }

    #[test]
    fn bump_rate_follows_cores_default_rule() {
        // 191 bytes at 1 sat/vB: 1000 per kvB, plus 1, plus max(1000, 5000).
        let rate = default_bump_rate(
            Amount::from_sat(191),
            191,
            FeeRate::from_sat_per_kvb(1_000),
            FeeRate::from_sat_per_vb(1),
        );
        assert_eq!(rate.to_sat_per_kvb(), 6_001);
        // A node with a higher incremental fee sets the step.
        let rate = default_bump_rate(
            Amount::from_sat(191),
            191,
            FeeRate::from_sat_per_kvb(20_000),
            FeeRate::ZERO,
        );
        assert_eq!(rate.to_sat_per_kvb(), 21_001);
        assert_eq!(
            min_replacement_fee(Amount::from_sat(191), FeeRate::from_sat_per_vb(1), 191),
            Amount::from_sat(382)
        );
        assert_eq!(rate_for(Amount::from_sat(382), 191).to_sat_per_kvb(), 2_000);
        assert_eq!(rate_for(Amount::from_sat(383), 191).to_sat_per_kvb(), 2_006);
        assert!(rate_for(Amount::from_sat(383), 191).fee_for(191) >= Amount::from_sat(383));
    }
}
