//! Prometheus metrics: the node's registry and `/metrics` on the dashboard port, in
//! Prometheus's text exposition format, for a scraper watching many nodes (the Swarm
//! stack's and Kubernetes' Prometheus, docs/scaling.md).
//!
//! One registry per process ([`global`]): the rest of the node registers its own
//! collectors in [`Metrics::registry`] (names prefixed `dotcoin_`, label values from a
//! fixed set, never a hash, an address or anything a peer chooses, so the series stay
//! bounded). Two kinds of series:
//! - gauges read from the published snapshot and the peer table at each scrape (heights,
//!   tip age, peers, mempool), so they are never stale and cost nothing between scrapes;
//! - counters of chain events (blocks connected, reorganisations), fed by
//!   [`count_events`] from the event stream. A subscriber that falls behind the stream
//!   loses events; that is counted too (`dotcoin_metrics_events_lagged_total`).

use std::sync::OnceLock;

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use prometheus::{Encoder, IntCounter, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder};
use tokio::sync::broadcast;

use crate::rpc::RpcContext;
use crate::state::Event;
use crate::util::unix_time;

/// The node's metrics: its registry and the series it fills itself.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    chain_height: IntGauge,
    header_height: IntGauge,
    tip_age: IntGauge,
    peers: IntGaugeVec,
    mempool_txs: IntGauge,
    mempool_bytes: IntGauge,
    known_addresses: IntGauge,
    blocks_connected: IntCounter,
    blocks_disconnected: IntCounter,
    reorgs: IntCounter,
    events_lagged: IntCounter,
}

/// The `Content-Type` of the text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

impl Metrics {
    /// A fresh registry holding the node's own series.
    pub fn new() -> Result<Metrics, prometheus::Error> {
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
        let peers = IntGaugeVec::new(
            Opts::new(
                "dotcoin_peers",
                "Handshaken peers, by direction (inbound, outbound)",
            ),
            &["direction"],
        )?;
        registry.register(Box::new(peers.clone()))?;
        Ok(Metrics {
            chain_height: gauge("dotcoin_chain_height", "Height of the active tip")?,
            header_height: gauge(
                "dotcoin_header_height",
                "Height of the most-work header known",
            )?,
            tip_age: gauge(
                "dotcoin_tip_age_seconds",
                "Seconds since the active tip's timestamp (negative if it is in the future)",
            )?,
            mempool_txs: gauge(
                "dotcoin_mempool_transactions",
                "Transactions in the mempool",
            )?,
            mempool_bytes: gauge(
                "dotcoin_mempool_bytes",
                "Serialized size of the mempool's transactions",
            )?,
            known_addresses: gauge(
                "dotcoin_known_addresses",
                "Addresses in the node's address table",
            )?,
            blocks_connected: counter(
                "dotcoin_blocks_connected_total",
                "Blocks connected to the active chain since start",
            )?,
            blocks_disconnected: counter(
                "dotcoin_blocks_disconnected_total",
                "Blocks disconnected from the active chain since start",
            )?,
            reorgs: counter(
                "dotcoin_reorgs_total",
                "Tip changes that disconnected blocks (reorganisations) since start",
            )?,
            events_lagged: counter(
                "dotcoin_metrics_events_lagged_total",
                "Chain events the metrics missed by falling behind the event stream",
            )?,
            peers,
            registry,
        })
    }

    /// The registry, for the rest of the node to add its collectors to.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Counts one chain event.
    pub fn observe(&self, event: &Event) {
        match event {
            Event::BlockConnected(_) => self.blocks_connected.inc(),
            Event::BlockDisconnected(_) => self.blocks_disconnected.inc(),
            Event::TipChanged { reorg: Some(_), .. } => self.reorgs.inc(),
            _ => {}
        }
    }

    /// Sets the gauges from the node's current state.
    pub fn refresh(&self, ctx: &RpcContext) {
        let snap = ctx.chain.snapshot();
        let tip = snap.tip();
        self.chain_height.set(tip.height.into());
        self.header_height
            .set(snap.best_header().height.max(tip.height).into());
        self.tip_age
            .set(unix_time() as i64 - i64::from(tip.header.time));
        self.mempool_txs.set(snap.mempool().len() as i64);
        self.mempool_bytes.set(snap.mempool().total_size() as i64);
        let (mut inbound, mut outbound) = (0, 0);
        for p in ctx.net.peers().iter().filter(|p| p.is_handshaken()) {
            if p.inbound() {
                inbound += 1;
            } else {
                outbound += 1;
            }
        }
        self.peers.with_label_values(&["inbound"]).set(inbound);
        self.peers.with_label_values(&["outbound"]).set(outbound);
        self.known_addresses.set(ctx.net.known_addrs().len() as i64);
    }

    /// Every registered series in the text exposition format.
    pub fn render(&self) -> Result<String, prometheus::Error> {
        let mut out = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut out)?;
        String::from_utf8(out).map_err(|e| prometheus::Error::Msg(e.to_string()))
    }
}

/// The process's metrics (created on first use).
pub fn global() -> &'static Metrics {
    static GLOBAL: OnceLock<Metrics> = OnceLock::new();
    // Registration fails only on a duplicate or malformed name, fixed above: a bug.
    GLOBAL.get_or_init(|| Metrics::new().expect("the node's metric names are valid and unique"))
}

/// Counts chain events into [`global`] until the stream closes.
pub async fn count_events(mut events: broadcast::Receiver<Event>) {
    let metrics = global();
    loop {
        match events.recv().await {
            Ok(e) => metrics.observe(&e),
            Err(broadcast::error::RecvError::Lagged(n)) => metrics.events_lagged.inc_by(n),
            Err(broadcast::error::RecvError::Closed) => break,
        }
    }
}

/// The answer to `GET /metrics`.
pub fn response(ctx: &RpcContext) -> Response {
    let metrics = global();
    metrics.refresh(ctx);
    match metrics.render() {
        Ok(body) => ([(header::CONTENT_TYPE, CONTENT_TYPE)], body).into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("metrics could not be encoded: {e}"),
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use bitcoin_hashes::Hash;

    use super::*;

    #[test]
    fn counters_follow_events_and_render_as_text() {
        let m = Metrics::new().expect("metrics");
        m.chain_height.set(7);
        m.peers.with_label_values(&["inbound"]).set(2);
        let hash = |b| dotcoin_common::BlockHash::from_byte_array([b; 32]);
        let tip = |reorg| Event::TipChanged {
            hash: hash(7),
            height: 7,
            previous: hash(6),
            reorg,
        };
        m.observe(&tip(None));
        assert_eq!(m.reorgs.get(), 0);
        m.observe(&tip(Some(crate::state::events::Reorg {
            depth: 1,
            fork_point: hash(5),
            fork_height: 5,
        })));
        assert_eq!(m.reorgs.get(), 1);
        let text = m.render().expect("render");
        assert!(text.contains("dotcoin_chain_height 7\n"), "{text}");
        assert!(
            text.contains("dotcoin_peers{direction=\"inbound\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE dotcoin_reorgs_total counter"),
            "{text}"
        );
        // Every series is the node's: prefixed, so it cannot clash in a shared Prometheus.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            assert!(line.starts_with("dotcoin_"), "{line}");
        }
        // Others register into the same registry.
        let extra = IntGauge::new("dotcoin_test_extra", "x").expect("gauge");
        m.registry()
            .register(Box::new(extra.clone()))
            .expect("register");
        extra.set(3);
        assert!(m
            .render()
            .expect("render")
            .contains("dotcoin_test_extra 3\n"));
        // A duplicate name is refused rather than shadowing a series.
        let dup = IntGauge::new("dotcoin_chain_height", "x").expect("gauge");
        assert!(m.registry().register(Box::new(dup)).is_err());
    }
}
