//! Coin selection: which of the wallet's coins a payment spends. Pure arithmetic.
//!
//! Every signed input here has the same size (outpoint, a one-byte length, a 64-byte
//! signature) and every output is 40 bytes, so the size of the signed transaction, and so
//! its fee, is known exactly before signing. Coins are compared by *effective value*: their
//! value minus the fee of spending them.
//!
//! The rule, in order:
//! 1. **Branch and bound** (Bitcoin Core's, simplified): look for a set of coins whose
//!    effective value covers the payments and the fee with an excess too small to be worth a
//!    change output (below the change output's own fee plus the dust threshold). The excess
//!    goes to the fee, no change is created. Among such sets the one with the least excess
//!    wins; the search stops after [`BNB_MAX_TRIES`] steps.
//! 2. Otherwise, the **smallest single coin** that pays for everything including a non-dust
//!    change output.
//! 3. Otherwise, **largest first**: add coins from the largest down until the payments, the
//!    fee and a non-dust change are covered — or, if all the coins cannot reach that, until
//!    just the payments and fee are (the small remainder then goes to the fee).
//! 4. Otherwise the funds are insufficient.
//!
//! Change below [`DUST_THRESHOLD`] is never created; it is folded into the fee.

use dotcoin_common::encode::compact_size_len;
use dotcoin_common::{Amount, FeeRate, OutPoint, TxOut};

pub use dotcoin_common::DUST_THRESHOLD;
/// Serialized size of a signed input: outpoint 36, witness length 1, signature 64.
pub const INPUT_SIZE: u64 = 36 + 1 + 64;
/// Serialized size of an output: value 8, key 32.
pub const OUTPUT_SIZE: u64 = 40;
/// How many branch-and-bound steps to try before falling back.
pub const BNB_MAX_TRIES: usize = 100_000;

/// The exact serialized size of a signed transaction with `inputs` inputs and `outputs`
/// outputs: version 4, input count, inputs, output count, outputs, lock time 4.
pub fn signed_tx_size(inputs: usize, outputs: usize) -> u64 {
    4 + compact_size_len(inputs as u64) as u64
        + INPUT_SIZE * inputs as u64
        + compact_size_len(outputs as u64) as u64
        + OUTPUT_SIZE * outputs as u64
        + 4
}

/// A coin the wallet may spend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coin {
    /// Where it is.
    pub outpoint: OutPoint,
    /// Its value and key.
    pub output: TxOut,
}

/// Not enough money: `needed` (payments plus the smallest possible fee) against
/// `available` (the sum of the coins offered).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insufficient {
    /// Sum of the coins offered.
    pub available: Amount,
    /// Payments plus the fee of the smallest transaction that could pay them.
    pub needed: Amount,
}

/// Picks coins paying `target` to `payments` outputs at `fee_rate` (see the module docs
/// for the rule). With [`FeeRate::ZERO`] the fee is ignored, as when it is subtracted from
/// the payment.
pub fn select_coins(
    coins: &[Coin],
    target: Amount,
    payments: usize,
    fee_rate: FeeRate,
) -> Result<Vec<Coin>, Insufficient> {
    let fee = |size: u64| i128::from(fee_rate.fee_for(size as usize).to_sat());
    let target = i128::from(target.to_sat());
    // Everything but the inputs, at the fee rate, on top of the payments.
    let need = target + fee(signed_tx_size(0, payments));
    let change_cost = fee(OUTPUT_SIZE) + i128::from(DUST_THRESHOLD.to_sat());
    let input_fee = fee(INPUT_SIZE);
    let effective = |c: &Coin| i128::from(c.output.value.to_sat()) - input_fee;

    // Coins that pay for their own input, largest effective value first (ties by outpoint,
    // so the choice is deterministic).
    let mut usable: Vec<&Coin> = coins.iter().filter(|c| effective(c) > 0).collect();
    usable.sort_by(|a, b| {
        effective(b)
            .cmp(&effective(a))
            .then(a.outpoint.cmp(&b.outpoint))
    });
    let values: Vec<i128> = usable.iter().map(|c| effective(c)).collect();
    let total: i128 = values.iter().sum();

    let insufficient = || Insufficient {
        available: Amount::from_sat(coins.iter().map(|c| c.output.value.to_sat()).sum()),
        needed: Amount::from_sat(
            u64::try_from(need + input_fee).expect("payments and fee fit in u64"),
        ),
    };
    if total < need {
        return Err(insufficient());
    }
    let pick = |indices: &[usize]| indices.iter().map(|&i| usable[i].clone()).collect();

    // 1. Branch and bound for a changeless set.
    if let Some(best) = branch_and_bound(&values, need, change_cost) {
        return Ok(pick(&best));
    }
    // 2. The smallest single coin covering payments, fee and a change output.
    let with_change = need + change_cost;
    if let Some(i) = (0..values.len()).rev().find(|&i| values[i] >= with_change) {
        return Ok(pick(&[i]));
    }
    // 3. Largest first.
    let goal = if total >= with_change {
        with_change
    } else {
        need
    };
    let mut sum = 0;
    let mut chosen = Vec::new();
    for (i, v) in values.iter().enumerate() {
        sum += v;
        chosen.push(i);
        if sum >= goal {
            return Ok(pick(&chosen));
        }
    }
    Err(insufficient())
}

/// Depth-first search over include/exclude decisions (values sorted descending) for a
/// subset with `need <= sum < need + window`, keeping the smallest such sum.
fn branch_and_bound(values: &[i128], need: i128, window: i128) -> Option<Vec<usize>> {
    // remaining[i] = sum of values[i..], to prune branches that cannot reach `need`.
    let mut remaining = vec![0i128; values.len() + 1];
    for i in (0..values.len()).rev() {
        remaining[i] = remaining[i + 1] + values[i];
    }
    struct Search<'a> {
        values: &'a [i128],
        remaining: &'a [i128],
        need: i128,
        limit: i128,
        tries: usize,
        best: Option<(i128, Vec<usize>)>,
        chosen: Vec<usize>,
    }
    impl Search<'_> {
        fn go(&mut self, i: usize, sum: i128) {
            self.tries += 1;
            if self.tries > BNB_MAX_TRIES || sum >= self.limit {
                return;
            }
            if sum >= self.need {
                if !matches!(&self.best, Some((b, _)) if *b <= sum) {
                    self.best = Some((sum, self.chosen.clone()));
                }
                return;
            }
            if i == self.values.len() || sum + self.remaining[i] < self.need {
                return;
            }
            self.chosen.push(i);
            self.go(i + 1, sum + self.values[i]);
            self.chosen.pop();
            if matches!(&self.best, Some((b, _)) if *b == self.need) {
                return; // exact match: nothing beats it
            }
            self.go(i + 1, sum);
        }
    }
    let mut search = Search {
        values,
        remaining: &remaining,
        need,
        limit: need + window,
        tries: 0,
        best: None,
        chosen: Vec::new(),
    };
    search.go(0, 0);
    search.best.map(|(_, chosen)| chosen)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use bitcoin_hashes::Hash;
    use dotcoin_common::{PubKey, Txid};

    /// A coin of `sat` units, its outpoint and key made of `n`.
    pub(crate) fn coin(n: u8, sat: u64) -> Coin {
        Coin {
            outpoint: OutPoint {
                txid: Txid::from_byte_array([n; 32]),
                vout: 0,
            },
            output: TxOut {
                value: Amount::from_sat(sat),
                pubkey: PubKey([n; 32]),
            },
        }
    }

    fn total(coins: &[Coin]) -> u64 {
        coins.iter().map(|c| c.output.value.to_sat()).sum()
    }

    #[test]
    fn signed_size_matches_layout() {
        // 1 in, 2 out: 4 + 1 + 101 + 1 + 80 + 4
        assert_eq!(signed_tx_size(1, 2), 191);
    }

    #[test]
    fn exact_match_needs_no_change() {
        let rate = 2;
        let target = 70_000;
        // Two coins that pay exactly the target plus the fee of a 2-in 1-out transaction.
        let fee = rate * signed_tx_size(2, 1);
        let a = 40_000;
        let b = target + fee - a;
        let coins = vec![coin(1, 1_000_000), coin(2, a), coin(3, b), coin(4, 500_000)];
        let chosen = select_coins(
            &coins,
            Amount::from_sat(target),
            1,
            FeeRate::from_sat_per_vb(rate),
        )
        .expect("enough");
        assert_eq!(chosen.len(), 2);
        assert_eq!(total(&chosen), target + fee);
    }

    #[test]
    fn change_when_no_changeless_set() {
        let coins = vec![coin(1, 50 * 100_000_000), coin(2, 50 * 100_000_000)];
        let chosen = select_coins(&coins, Amount::from_dot(90), 1, FeeRate::from_sat_per_vb(2))
            .expect("enough");
        // Two 50s to pay 90: the seed's flow 3, with 10 DOT minus fee as change.
        assert_eq!(chosen.len(), 2);
        let chosen = select_coins(&coins, Amount::from_dot(30), 1, FeeRate::from_sat_per_vb(2))
            .expect("enough");
        assert_eq!(chosen.len(), 1, "one coin covers 30 DOT plus change");
    }

    #[test]
    fn smallest_sufficient_single_coin() {
        let coins = vec![
            coin(1, 10_000_000),
            coin(2, 3_000_000),
            coin(3, 200_000_000),
        ];
        let chosen = select_coins(
            &coins,
            Amount::from_sat(2_000_000),
            1,
            FeeRate::from_sat_per_vb(1),
        )
        .expect("enough");
        assert_eq!(chosen, vec![coin(2, 3_000_000)]);
    }

    #[test]
    fn dust_excess_is_changeless() {
        // The only coin leaves an excess just above the fee but below dust: BnB takes it
        // changeless (the builder folds the excess into the fee).
        let rate = 1;
        let target = 100_000;
        let coins = vec![coin(1, target + rate * signed_tx_size(1, 1) + 300)];
        let chosen = select_coins(
            &coins,
            Amount::from_sat(target),
            1,
            FeeRate::from_sat_per_vb(rate),
        )
        .expect("enough");
        assert_eq!(chosen.len(), 1);
    }

    #[test]
    fn insufficient_funds() {
        let coins = vec![coin(1, 1_000), coin(2, 2_000)];
        let err = select_coins(
            &coins,
            Amount::from_sat(2_900),
            1,
            FeeRate::from_sat_per_vb(2),
        )
        .expect_err("too little");
        assert_eq!(err.available, Amount::from_sat(3_000));
        assert!(err.needed > Amount::from_sat(2_900), "{err:?}");
    }

    #[test]
    fn coins_worth_less_than_their_input_fee_are_skipped() {
        let coins = vec![coin(1, 150), coin(2, 1_000_000)];
        let chosen = select_coins(
            &coins,
            Amount::from_sat(10_000),
            1,
            FeeRate::from_sat_per_vb(2),
        )
        .expect("enough");
        assert_eq!(chosen, vec![coin(2, 1_000_000)]);
    }
}
