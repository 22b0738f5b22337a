//! The wallet service's Prometheus metrics, served at `GET /metrics` on its port beside
//! the RPCs (without credentials, like the node's `/metrics`: docs/deploying.md).
//!
//! - RPC calls and latency by method, fed by the shared RPC middleware
//!   (`dotcoin_rpc_server::observe`); the method label is bounded by the service's method
//!   table ([`super::methods::METHODS`]), anything else counted as "other";
//! - per loaded wallet (the label is the wallet's name: chosen by the operator, and
//!   bounded by the wallets loaded; an unloaded wallet's series go): balances by state
//!   and transaction count, read from the node at each scrape through the same code as
//!   `getwalletinfo`, so they are as fresh as the node's address index;
//! - the faucet's payments and refusals by reason.
//!
//! A scrape waits at most [`REFRESH_TIMEOUT`] for the wallets' figures (a wallet busy
//! sending holds its lock): past it the last figures are shown and the miss is counted.
//! The figures are read at most once per [`MIN_REFRESH_INTERVAL`], one read at a time, so
//! a client hammering the path (it needs no credentials) costs the node nothing more.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

use super::{methods, Service};

/// The label value for anything outside a label's known set.
pub const OTHER: &str = "other";
/// The `Content-Type` of the text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
/// Longest a scrape waits for the loaded wallets' figures.
pub const REFRESH_TIMEOUT: Duration = Duration::from_secs(5);
/// Shortest time between two reads of the wallets' figures; scrapes in between are
/// shown the last ones.
pub const MIN_REFRESH_INTERVAL: Duration = Duration::from_secs(1);
/// Why the faucet refused a request: the label values of `..._faucet_refusals_total`.
pub const REFUSALS: &[&str] = &["rate_limited", "bad_request", "unavailable"];

const SECONDS_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The service's metrics.
#[derive(Debug)]
pub struct WalletMetrics {
    registry: Registry,
    started: Instant,
    uptime: IntGauge,
    rpc_calls: IntCounterVec,
    rpc_duration: HistogramVec,
    loaded: IntGauge,
    tip_height: IntGauge,
    balance: IntGaugeVec,
    transactions: IntGaugeVec,
    refresh_failures: IntCounter,
    faucet_payments: IntCounter,
    faucet_paid: IntCounter,
    faucet_refusals: IntCounterVec,
    /// The wallets that have series, to drop those of unloaded ones.
    labelled: Mutex<BTreeSet<String>>,
    /// When the wallets' figures were last read; held while they are read.
    last_refresh: tokio::sync::Mutex<Option<Instant>>,
}

/// `method` if the service declares it, else [`OTHER`].
pub fn method_label(method: &str) -> &'static str {
    methods::METHODS
        .iter()
        .find(|m| m.name == method)
        .map_or(OTHER, |m| m.name)
}

impl WalletMetrics {
    /// A fresh registry with the service's series.
    pub fn new() -> Result<WalletMetrics, prometheus::Error> {
        let registry = Registry::new();
        let gauge = |name: &str, help: &str| -> Result<IntGauge, prometheus::Error> {
            let g = IntGauge::new(name, help)?;
            registry.register(Box::new(g.clone()))?;
            Ok(g)
        };
        let counter = |name: &str, help: &str| -> Result<IntCounter, prometheus::Error> {
            let c = IntCounter::new(name, help)?;
            registry.register(Box::new(c.clone()))?;
            Ok(c)
        };
        let gauge_vec =
            |name: &str, help: &str, labels: &[&str]| -> Result<IntGaugeVec, prometheus::Error> {
                let g = IntGaugeVec::new(Opts::new(name, help), labels)?;
                registry.register(Box::new(g.clone()))?;
                Ok(g)
            };
        let counter_vec =
            |name: &str, help: &str, labels: &[&str]| -> Result<IntCounterVec, prometheus::Error> {
                let c = IntCounterVec::new(Opts::new(name, help), labels)?;
                registry.register(Box::new(c.clone()))?;
                Ok(c)
            };
        let rpc_duration = HistogramVec::new(
            HistogramOpts::new(
                "dotcoin_wallet_rpc_request_duration_seconds",
                "Time to answer an RPC call, by method (declared methods; \"other\" for the rest)",
            )
            .buckets(SECONDS_BUCKETS.to_vec()),
            &["method"],
        )?;
        registry.register(Box::new(rpc_duration.clone()))?;
        let m = WalletMetrics {
            started: Instant::now(),
            uptime: gauge(
                "dotcoin_wallet_uptime_seconds",
                "Seconds since the wallet service started",
            )?,
            rpc_calls: counter_vec(
                "dotcoin_wallet_rpc_calls_total",
                "RPC calls answered, by method (declared methods; \"other\" for the rest) and result (ok, error)",
                &["method", "result"],
            )?,
            loaded: gauge(
                "dotcoin_wallet_loaded_wallets",
                "Wallets the service has loaded",
            )?,
            tip_height: gauge(
                "dotcoin_wallet_tip_height",
                "Height of the node's tip as the service last saw it (-1 before it has)",
            )?,
            balance: gauge_vec(
                "dotcoin_wallet_balance_satoshis",
                "Balance of each loaded wallet, by state (trusted, untrusted_pending, immature) as getbalances",
                &["wallet", "state"],
            )?,
            transactions: gauge_vec(
                "dotcoin_wallet_transactions",
                "Transactions of each loaded wallet (getwalletinfo's txcount)",
                &["wallet"],
            )?,
            refresh_failures: counter(
                "dotcoin_wallet_metrics_refresh_failures_total",
                "Scrapes that could not read a wallet's figures (node unreachable, or busy past the timeout)",
            )?,
            faucet_payments: counter(
                "dotcoin_wallet_faucet_payments_total",
                "Payments the faucet made",
            )?,
            faucet_paid: counter(
                "dotcoin_wallet_faucet_paid_satoshis_total",
                "Satoshis the faucet paid out",
            )?,
            faucet_refusals: counter_vec(
                "dotcoin_wallet_faucet_refusals_total",
                "Faucet requests refused, by reason (rate_limited, bad_request, unavailable)",
                &["reason"],
            )?,
            rpc_duration,
            registry,
            labelled: Mutex::new(BTreeSet::new()),
            last_refresh: tokio::sync::Mutex::new(None),
        };
        for result in ["ok", "error"] {
            m.rpc_calls.with_label_values(&[OTHER, result]);
        }
        m.rpc_duration.with_label_values(&[OTHER]);
        for reason in REFUSALS {
            m.faucet_refusals.with_label_values(&[reason]);
        }
        m.tip_height.set(-1);
        Ok(m)
    }

    /// The registry.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// An RPC call to `method` was answered in `elapsed`, successfully or not.
    pub fn rpc_call(&self, method: &str, elapsed: Duration, ok: bool) {
        let method = method_label(method);
        self.rpc_calls
            .with_label_values(&[method, if ok { "ok" } else { "error" }])
            .inc();
        self.rpc_duration
            .with_label_values(&[method])
            .observe(elapsed.as_secs_f64());
    }

    /// The faucet paid `satoshis`.
    pub fn faucet_paid(&self, satoshis: u64) {
        self.faucet_payments.inc();
        self.faucet_paid.inc_by(satoshis);
    }

    /// The faucet refused a request for `reason` (one of [`REFUSALS`]).
    pub fn faucet_refused(&self, reason: &'static str) {
        debug_assert!(REFUSALS.contains(&reason), "{reason}");
        self.faucet_refusals.with_label_values(&[reason]).inc();
    }

    /// Sets the wallets' figures (balances by state, transaction count) from `figures`,
    /// and drops the series of wallets no longer named there.
    fn set_wallets(&self, figures: &[(String, Option<methods::Figures>)]) {
        let mut labelled = self.labelled.lock().unwrap_or_else(|p| p.into_inner());
        let now: BTreeSet<String> = figures.iter().map(|(n, _)| n.clone()).collect();
        for gone in labelled.difference(&now) {
            for state in ["trusted", "untrusted_pending", "immature"] {
                let _ = self.balance.remove_label_values(&[gone, state]);
            }
            let _ = self.transactions.remove_label_values(&[gone]);
        }
        *labelled = now;
        for (name, f) in figures {
            let Some(f) = f else {
                self.refresh_failures.inc();
                continue;
            };
            for (state, amount) in [
                ("trusted", f.trusted),
                ("untrusted_pending", f.untrusted_pending),
                ("immature", f.immature),
            ] {
                let sats = i64::try_from(amount.to_sat()).unwrap_or(i64::MAX);
                self.balance.with_label_values(&[name, state]).set(sats);
            }
            self.transactions
                .with_label_values(&[name])
                .set(i64::try_from(f.txcount).unwrap_or(i64::MAX));
        }
    }

    /// Reads the service's state into the gauges.
    pub async fn refresh(&self, svc: &Arc<Service>) {
        self.uptime.set(self.started.elapsed().as_secs() as i64);
        let names = svc.loaded_names();
        self.loaded.set(names.len() as i64);
        if let Some(tip) = *svc.tip.borrow() {
            self.tip_height.set(tip.height.into());
        }
        let mut last = self.last_refresh.lock().await;
        if last.is_some_and(|at| at.elapsed() < MIN_REFRESH_INTERVAL) {
            return;
        }
        let read = async {
            let mut figures = Vec::with_capacity(names.len());
            for name in &names {
                let f = match svc.wallet_for(Some(name)) {
                    Ok(handle) => methods::figures(svc, &handle).await.ok(),
                    Err(_) => continue, // unloaded meanwhile
                };
                figures.push((name.clone(), f));
            }
            figures
        };
        match tokio::time::timeout(REFRESH_TIMEOUT, read).await {
            Ok(figures) => self.set_wallets(&figures),
            Err(_) => self.refresh_failures.inc(),
        }
        *last = Some(Instant::now());
    }

    /// Every series in the text exposition format.
    pub fn render(&self) -> Result<String, prometheus::Error> {
        let mut out = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut out)?;
        String::from_utf8(out).map_err(|e| prometheus::Error::Msg(e.to_string()))
    }
}

/// The process's metrics (created on first use).
pub fn global() -> &'static WalletMetrics {
    static GLOBAL: OnceLock<WalletMetrics> = OnceLock::new();
    // Registration fails only on a duplicate or malformed name, fixed above: a bug.
    GLOBAL.get_or_init(|| {
        WalletMetrics::new().expect("the service's metric names are valid and unique")
    })
}

#[cfg(test)]
mod tests {
    use dotcoin_common::Amount;

    use super::*;

    #[test]
    fn series_are_bounded_and_unloaded_wallets_drop_out() {
        let m = WalletMetrics::new().expect("metrics");
        m.rpc_call("getbalance", Duration::from_millis(3), true);
        m.rpc_call("no-such-method-0123abcd", Duration::from_millis(1), false);
        m.rpc_call("another made-up name", Duration::from_millis(1), false);
        let figures = |trusted| methods::Figures {
            trusted: Amount::from_sat(trusted),
            untrusted_pending: Amount::ZERO,
            immature: Amount::from_sat(5),
            txcount: 2,
        };
        m.set_wallets(&[
            ("alice".into(), Some(figures(100))),
            ("bob".into(), Some(figures(7))),
        ]);
        let text = m.render().expect("render");
        assert!(
            text.contains(
                "dotcoin_wallet_rpc_calls_total{method=\"getbalance\",result=\"ok\"} 1\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("dotcoin_wallet_rpc_calls_total{method=\"other\",result=\"error\"} 2\n"),
            "{text}"
        );
        assert!(!text.contains("no-such-method"), "{text}");
        assert!(
            text.contains(
                "dotcoin_wallet_balance_satoshis{state=\"trusted\",wallet=\"alice\"} 100\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("dotcoin_wallet_transactions{wallet=\"bob\"} 2\n"),
            "{text}"
        );
        // bob unloaded, alice's figures unreadable this time: bob's series go, alice's
        // stay at their last value and the miss is counted.
        m.set_wallets(&[("alice".into(), None)]);
        let text = m.render().expect("render");
        assert!(!text.contains("wallet=\"bob\""), "{text}");
        assert!(
            text.contains(
                "dotcoin_wallet_balance_satoshis{state=\"trusted\",wallet=\"alice\"} 100\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("dotcoin_wallet_metrics_refresh_failures_total 1\n"),
            "{text}"
        );
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            assert!(line.starts_with("dotcoin_wallet_"), "{line}");
        }
    }
}
