//! `listunspent`'s `query_options`, with Bitcoin Core's keys and meaning: a value window
//! for each output (`minimumAmount`, `maximumAmount`), then a stop once the list holds
//! `maximumCount` outputs or its total reaches `minimumSumAmount` (the output that reaches
//! it is included), and whether immature coinbase outputs are listed.

use dotcoin_common::Amount;
use serde::Deserialize;

/// The options object. Every key is optional; an unknown one is refused, as Core refuses
/// it, so a misspelt filter is not silently ignored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct QueryOptions {
    /// Smallest output listed (Core's default 0).
    pub minimum_amount: Option<Amount>,
    /// Largest output listed (Core's default: no bound).
    pub maximum_amount: Option<Amount>,
    /// Most outputs listed; 0 or absent for no limit.
    pub maximum_count: Option<u64>,
    /// Stop once the listed outputs add up to this.
    pub minimum_sum_amount: Option<Amount>,
    /// Also list immature coinbase outputs.
    #[serde(rename = "include_immature_by_default", default)]
    pub include_immature_by_default: bool,
}

impl QueryOptions {
    /// Whether an output of `value` is inside the value window.
    pub fn admits(&self, value: Amount) -> bool {
        self.minimum_amount.is_none_or(|m| value >= m)
            && self.maximum_amount.is_none_or(|m| value <= m)
    }

    /// The count and sum bound, to apply to the admitted outputs in order.
    pub fn bound(&self) -> Bound {
        Bound {
            left: self.maximum_count.filter(|n| *n > 0),
            sum: 0,
            min_sum: self.minimum_sum_amount,
            done: false,
        }
    }
}

/// Where [`QueryOptions::bound`] stops the list.
#[derive(Debug, Clone)]
pub struct Bound {
    left: Option<u64>,
    sum: u64,
    min_sum: Option<Amount>,
    done: bool,
}

impl Bound {
    /// Whether the next output, of `value`, is listed; counts it if so.
    pub fn take(&mut self, value: Amount) -> bool {
        if self.done {
            return false;
        }
        self.sum = self.sum.saturating_add(value.to_sat());
        if let Some(n) = &mut self.left {
            *n -= 1;
            self.done |= *n == 0;
        }
        self.done |= self.min_sum.is_some_and(|m| self.sum >= m.to_sat());
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(q: &QueryOptions, values: &[u64]) -> Vec<u64> {
        let mut b = q.bound();
        values
            .iter()
            .copied()
            .filter(|v| q.admits(Amount::from_sat(*v)))
            .take_while(|v| b.take(Amount::from_sat(*v)))
            .collect()
    }

    #[test]
    fn core_keys_filter_and_stop_the_list() {
        let q: QueryOptions = serde_json::from_value(serde_json::json!({
            "minimumAmount": 0.00000002, "maximumAmount": 0.00000009
        }))
        .expect("Core's keys");
        assert_eq!(listed(&q, &[1, 2, 9, 10, 5]), vec![2, 9, 5]);
        let q: QueryOptions =
            serde_json::from_value(serde_json::json!({"maximumCount": 2})).expect("count");
        assert_eq!(listed(&q, &[1, 2, 3]), vec![1, 2]);
        let q: QueryOptions =
            serde_json::from_value(serde_json::json!({"maximumCount": 0})).expect("no limit");
        assert_eq!(listed(&q, &[1, 2, 3]), vec![1, 2, 3]);
        // The output reaching the sum is listed, nothing after it.
        let q: QueryOptions =
            serde_json::from_value(serde_json::json!({"minimumSumAmount": 0.00000004}))
                .expect("sum");
        assert_eq!(listed(&q, &[1, 2, 3, 4]), vec![1, 2, 3]);
        assert_eq!(listed(&QueryOptions::default(), &[7, 8]), vec![7, 8]);
    }

    #[test]
    fn an_unknown_or_negative_option_is_refused() {
        for bad in [
            serde_json::json!({"minimumamount": 1}),
            serde_json::json!({"maximumCount": -1}),
            serde_json::json!({"minimumAmount": -1}),
        ] {
            assert!(
                serde_json::from_value::<QueryOptions>(bad.clone()).is_err(),
                "{bad}"
            );
        }
    }
}
