//! Prometheus metrics: the node's registry and `/metrics` on the dashboard port, in
//! Prometheus's text exposition format, for a scraper watching many nodes (the Swarm
//! stack's and Kubernetes' Prometheus, docs/scaling.md).
//!
//! One registry per process ([`global`]): the rest of the node registers its own
//! collectors in [`Metrics::registry`] (names prefixed `dotcoin_`, label values from a
//! fixed set, never a hash, an address or anything a peer chooses, so the series stay
//! bounded). Three kinds of series:
//! - gauges read from the published snapshot, the peer table and the miner at each scrape
//!   (heights, tip age, peers, mempool, bans, difficulty, hash rate), so they are never
//!   stale and cost nothing between scrapes;
//! - counters and histograms of chain events (blocks connected, reorganisations by depth,
//!   mempool arrivals by fee rate and departures by reason, bans), fed by
//!   [`count_events`] from the event stream. A subscriber that falls behind the stream
//!   loses events; that is counted too (`dotcoin_metrics_events_lagged_total`);
//! - counters and histograms fed by one-line calls from where the work happens:
//!   [`block_validated`] (chain), [`p2p_message`] and [`misbehaviour`] (net),
//!   [`rpc_call`] (the RPC middleware), [`plugin_hook`] (plugins).
//!
//! Label values are bounded: P2P commands by [`COMMANDS`], RPC methods by the declared
//! table (`rpc::spec`), hooks by the plugin manifest's list, each with "other" for the
//! rest, so a peer sending made-up commands or a client calling made-up methods adds no
//! series.

use std::sync::OnceLock;
use std::time::Duration;

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use prometheus::{
    Encoder, Gauge, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};
use tokio::sync::broadcast;

use crate::rpc::RpcContext;
use crate::state::Event;
use crate::util::unix_time;

/// The label value for anything outside a label's known set.
pub const OTHER: &str = "other";

/// P2P commands counted under their own name: the node's messages and the rest of
/// Bitcoin Core's (`src/protocol.h`), so a future message needs no change here. Any
/// other command a peer sends is counted as [`OTHER`].
pub const COMMANDS: &[&str] = &[
    "version",
    "verack",
    "ping",
    "pong",
    "getaddr",
    "addr",
    "inv",
    "getdata",
    "notfound",
    "getheaders",
    "headers",
    "block",
    "tx",
    "sendheaders",
    "sendcmpct",
    "cmpctblock",
    "getblocktxn",
    "blocktxn",
    "feefilter",
    "mempool",
    "getblocks",
    "merkleblock",
    "filterload",
    "filteradd",
    "filterclear",
    "wtxidrelay",
    "sendaddrv2",
    "addrv2",
    "getcfilters",
    "cfilter",
    "getcfheaders",
    "cfheaders",
    "getcfcheckpt",
    "cfcheckpt",
    "sendtxrcncl",
];

/// Which way a P2P message went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Queued to a peer.
    Sent,
    /// Read from a peer.
    Received,
}

impl Direction {
    fn label(self) -> &'static str {
        match self {
            Direction::Sent => "sent",
            Direction::Received => "received",
        }
    }
}

/// `command` if it is one of [`COMMANDS`], else [`OTHER`].
pub fn command_label(command: &str) -> &'static str {
    COMMANDS
        .iter()
        .find(|c| **c == command)
        .copied()
        .unwrap_or(OTHER)
}

/// `method` if the node declares it (`rpc::spec`), else [`OTHER`] (plugin methods and
/// unknown names alike: plugins come and go, their names are theirs to choose).
pub fn method_label(method: &str) -> &'static str {
    crate::rpc::spec::find(method).map_or(OTHER, |s| s.name)
}

/// `hook` if it is a hook plugins may register, else [`OTHER`].
pub fn hook_label(hook: &str) -> &'static str {
    crate::plugins::manifest::HOOKS
        .iter()
        .find(|h| **h == hook)
        .copied()
        .unwrap_or(OTHER)
}

/// Buckets of seconds, for validation and RPC latency: half a millisecond to half a
/// minute.
const SECONDS_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
/// Buckets of reorganisation depth, in blocks.
const DEPTH_BUCKETS: &[f64] = &[1.0, 2.0, 3.0, 4.0, 6.0, 10.0, 20.0, 50.0, 100.0];
/// Buckets of fee rate, in satoshis per byte.
const FEERATE_BUCKETS: &[f64] = &[
    1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0,
];

/// The node's metrics: its registry and the series it fills itself.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    info: IntGaugeVec,
    uptime: IntGauge,
    chain_height: IntGauge,
    header_height: IntGauge,
    tip_age: IntGauge,
    difficulty: Gauge,
    peers: IntGaugeVec,
    peer_connections: IntCounterVec,
    mempool_txs: IntGauge,
    mempool_bytes: IntGauge,
    mempool_accepted: IntCounter,
    mempool_removed: IntCounterVec,
    mempool_feerate: Histogram,
    known_addresses: IntGauge,
    blocks_connected: IntCounter,
    blocks_disconnected: IntCounter,
    block_validation: Histogram,
    reorgs: IntCounter,
    reorg_depth: Histogram,
    events_lagged: IntCounter,
    p2p_messages: IntCounterVec,
    p2p_bytes: IntCounterVec,
    banned: IntGauge,
    bans: IntCounter,
    misbehaviour: IntCounter,
    misbehaviour_points: IntCounter,
    rpc_calls: IntCounterVec,
    rpc_duration: HistogramVec,
    miner_hashrate: Gauge,
    miner_threads: IntGauge,
    miner_hashes: IntCounter,
    plugin_hook_calls: IntCounterVec,
    plugin_hook_timeouts: IntCounterVec,
}

/// The `Content-Type` of the text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

impl Metrics {
    /// A fresh registry holding the node's own series, every bounded label value already
    /// present (at zero), so a scraper sees each series from the first scrape.
    pub fn new() -> Result<Metrics, prometheus::Error> {
        let registry = Registry::new();
        let reg = |c: Box<dyn prometheus::core::Collector>| registry.register(c);
        let gauge = |name: &str, help: &str| -> Result<IntGauge, prometheus::Error> {
            let g = IntGauge::new(name, help)?;
            reg(Box::new(g.clone()))?;
            Ok(g)
        };
        let float_gauge = |name: &str, help: &str| -> Result<Gauge, prometheus::Error> {
            let g = Gauge::new(name, help)?;
            reg(Box::new(g.clone()))?;
            Ok(g)
        };
        let counter = |name: &str, help: &str| -> Result<IntCounter, prometheus::Error> {
            let c = IntCounter::new(name, help)?;
            reg(Box::new(c.clone()))?;
            Ok(c)
        };
        let counter_vec =
            |name: &str, help: &str, labels: &[&str]| -> Result<IntCounterVec, prometheus::Error> {
                let c = IntCounterVec::new(Opts::new(name, help), labels)?;
                reg(Box::new(c.clone()))?;
                Ok(c)
            };
        let histogram =
            |name: &str, help: &str, buckets: &[f64]| -> Result<Histogram, prometheus::Error> {
                let h =
                    Histogram::with_opts(HistogramOpts::new(name, help).buckets(buckets.to_vec()))?;
                reg(Box::new(h.clone()))?;
                Ok(h)
            };
        let info = IntGaugeVec::new(
            Opts::new(
                "dotcoin_info",
                "Always 1: the node's network and version as labels",
            ),
            &["network", "version"],
        )?;
        reg(Box::new(info.clone()))?;
        let peers = IntGaugeVec::new(
            Opts::new(
                "dotcoin_peers",
                "Handshaken peers, by direction (inbound, outbound)",
            ),
            &["direction"],
        )?;
        reg(Box::new(peers.clone()))?;
        let rpc_duration = HistogramVec::new(
            HistogramOpts::new(
                "dotcoin_rpc_request_duration_seconds",
                "Time to answer an RPC call, by method (declared methods; \"other\" for the rest)",
            )
            .buckets(SECONDS_BUCKETS.to_vec()),
            &["method"],
        )?;
        reg(Box::new(rpc_duration.clone()))?;
        let m = Metrics {
            uptime: gauge("dotcoin_uptime_seconds", "Seconds since the node started")?,
            chain_height: gauge("dotcoin_chain_height", "Height of the active tip")?,
            header_height: gauge(
                "dotcoin_header_height",
                "Height of the most-work header known",
            )?,
            tip_age: gauge(
                "dotcoin_tip_age_seconds",
                "Seconds since the active tip's timestamp (negative if it is in the future)",
            )?,
            difficulty: float_gauge(
                "dotcoin_difficulty",
                "Difficulty of the active tip, as getdifficulty",
            )?,
            peer_connections: counter_vec(
                "dotcoin_peer_connections_total",
                "Handshakes completed since start, by direction (inbound, outbound)",
                &["direction"],
            )?,
            mempool_txs: gauge(
                "dotcoin_mempool_transactions",
                "Transactions in the mempool",
            )?,
            mempool_bytes: gauge(
                "dotcoin_mempool_bytes",
                "Serialized size of the mempool's transactions",
            )?,
            mempool_accepted: counter(
                "dotcoin_mempool_accepted_total",
                "Transactions that entered the mempool since start",
            )?,
            mempool_removed: counter_vec(
                "dotcoin_mempool_removed_total",
                "Transactions that left the mempool since start, by reason",
                &["reason"],
            )?,
            mempool_feerate: histogram(
                "dotcoin_mempool_accepted_feerate_sat_per_byte",
                "Fee rate of the transactions entering the mempool, in satoshis per byte",
                FEERATE_BUCKETS,
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
            block_validation: histogram(
                "dotcoin_block_validation_seconds",
                "Time to check and connect one block to the active chain (spends, signatures, the batch)",
                SECONDS_BUCKETS,
            )?,
            reorgs: counter(
                "dotcoin_reorgs_total",
                "Tip changes that disconnected blocks (reorganisations) since start",
            )?,
            reorg_depth: histogram(
                "dotcoin_reorg_depth_blocks",
                "Blocks disconnected by each reorganisation",
                DEPTH_BUCKETS,
            )?,
            events_lagged: counter(
                "dotcoin_metrics_events_lagged_total",
                "Chain events the metrics missed by falling behind the event stream",
            )?,
            p2p_messages: counter_vec(
                "dotcoin_p2p_messages_total",
                "P2P messages by command (Bitcoin's commands; \"other\" for the rest) and direction (sent, received)",
                &["command", "direction"],
            )?,
            p2p_bytes: counter_vec(
                "dotcoin_p2p_bytes_total",
                "P2P bytes on the wire (frame headers included) by command and direction",
                &["command", "direction"],
            )?,
            banned: gauge(
                "dotcoin_banned_addresses",
                "Addresses banned now (listbanned)",
            )?,
            bans: counter(
                "dotcoin_bans_total",
                "Peers banned for misbehaving since start",
            )?,
            misbehaviour: counter(
                "dotcoin_misbehaviour_total",
                "Offences by peers since start (each costs ban-score points)",
            )?,
            misbehaviour_points: counter(
                "dotcoin_misbehaviour_points_total",
                "Ban-score points peers earned since start",
            )?,
            rpc_calls: counter_vec(
                "dotcoin_rpc_calls_total",
                "RPC calls answered, by method (declared methods; \"other\" for the rest) and result (ok, error)",
                &["method", "result"],
            )?,
            miner_hashrate: float_gauge(
                "dotcoin_miner_hashes_per_second",
                "The local miner's hash rate (0 when it is not mining), as getmininginfo's hashespersec",
            )?,
            miner_threads: gauge(
                "dotcoin_miner_threads",
                "Threads of continuous mining (0 when off)",
            )?,
            miner_hashes: counter(
                "dotcoin_miner_hashes_total",
                "Hashes the local miner tried since start",
            )?,
            plugin_hook_calls: counter_vec(
                "dotcoin_plugin_hook_calls_total",
                "Hook calls made to plugins, by hook",
                &["hook"],
            )?,
            plugin_hook_timeouts: counter_vec(
                "dotcoin_plugin_hook_timeouts_total",
                "Hook calls that timed out (the plugin is killed and restarted), by hook",
                &["hook"],
            )?,
            info,
            peers,
            rpc_duration,
            registry,
        };
        for direction in ["inbound", "outbound"] {
            m.peers.with_label_values(&[direction]).set(0);
            m.peer_connections.with_label_values(&[direction]);
        }
        for reason in [
            dotcoin_common::events::RemovalReason::Confirmed,
            dotcoin_common::events::RemovalReason::Conflict,
            dotcoin_common::events::RemovalReason::Evicted,
            dotcoin_common::events::RemovalReason::Expired,
            dotcoin_common::events::RemovalReason::Reorg,
        ] {
            m.mempool_removed.with_label_values(&[reason.as_str()]);
        }
        for command in COMMANDS.iter().chain(&[OTHER]) {
            for direction in [Direction::Sent, Direction::Received] {
                m.p2p_messages
                    .with_label_values(&[command, direction.label()]);
                m.p2p_bytes.with_label_values(&[command, direction.label()]);
            }
        }
        for hook in crate::plugins::manifest::HOOKS.iter().chain(&[OTHER]) {
            m.plugin_hook_calls.with_label_values(&[hook]);
            m.plugin_hook_timeouts.with_label_values(&[hook]);
        }
        // Methods appear as they are called (a hundred methods times the buckets would be
        // a heavy first page); "other" is there from the start.
        for result in ["ok", "error"] {
            m.rpc_calls.with_label_values(&[OTHER, result]);
        }
        m.rpc_duration.with_label_values(&[OTHER]);
        Ok(m)
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
            Event::TipChanged {
                reorg: Some(reorg), ..
            } => {
                self.reorgs.inc();
                self.reorg_depth.observe(f64::from(reorg.depth));
            }
            Event::TxAccepted { fee, size, .. } => {
                self.mempool_accepted.inc();
                if *size > 0 {
                    self.mempool_feerate
                        .observe(fee.to_sat() as f64 / *size as f64);
                }
            }
            Event::TxRemoved { reason, .. } => {
                self.mempool_removed
                    .with_label_values(&[reason.as_str()])
                    .inc();
            }
            Event::PeerConnected { inbound, .. } => {
                let direction = if *inbound { "inbound" } else { "outbound" };
                self.peer_connections.with_label_values(&[direction]).inc();
            }
            Event::PeerBanned { .. } => self.bans.inc(),
            _ => {}
        }
    }

    /// Sets the gauges from the node's current state.
    pub fn refresh(&self, ctx: &RpcContext) {
        let snap = ctx.chain.snapshot();
        let tip = snap.tip();
        let network = snap.params().network.name();
        self.info
            .with_label_values(&[network, env!("CARGO_PKG_VERSION")])
            .set(1);
        self.uptime.set(ctx.started.elapsed().as_secs() as i64);
        self.chain_height.set(tip.height.into());
        self.header_height
            .set(snap.best_header().height.max(tip.height).into());
        self.tip_age
            .set(unix_time() as i64 - i64::from(tip.header.time));
        self.difficulty
            .set(dotcoin_common::pow::difficulty(tip.header.bits));
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
        self.banned.set(ctx.net.bans().len() as i64);
        self.miner_hashrate.set(ctx.miner.hashes_per_sec());
        self.miner_threads.set(ctx.miner.threads() as i64);
        // A counter only goes up: add what the miner tried since the last scrape.
        let total = ctx.miner.total_hashes();
        let counted = self.miner_hashes.get();
        if total > counted {
            self.miner_hashes.inc_by(total - counted);
        }
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

/// One P2P message of `command`, `bytes` long on the wire, went `direction`.
pub fn p2p_message(direction: Direction, command: &str, bytes: usize) {
    let m = global();
    let labels = [command_label(command), direction.label()];
    m.p2p_messages.with_label_values(&labels).inc();
    m.p2p_bytes.with_label_values(&labels).inc_by(bytes as u64);
}

/// A peer misbehaved, for `points` of ban score.
pub fn misbehaviour(points: u32) {
    let m = global();
    m.misbehaviour.inc();
    m.misbehaviour_points.inc_by(points.into());
}

/// A block was checked and connected to the active chain in `elapsed`.
pub fn block_validated(elapsed: Duration) {
    global().block_validation.observe(elapsed.as_secs_f64());
}

/// An RPC call to `method` was answered in `elapsed`, successfully or not.
pub fn rpc_call(method: &str, elapsed: Duration, ok: bool) {
    let m = global();
    let method = method_label(method);
    m.rpc_calls
        .with_label_values(&[method, if ok { "ok" } else { "error" }])
        .inc();
    m.rpc_duration
        .with_label_values(&[method])
        .observe(elapsed.as_secs_f64());
}

/// A plugin was asked `hook`; `timed_out` if it did not answer in time.
pub fn plugin_hook(hook: &str, timed_out: bool) {
    let m = global();
    let hook = hook_label(hook);
    m.plugin_hook_calls.with_label_values(&[hook]).inc();
    if timed_out {
        m.plugin_hook_timeouts.with_label_values(&[hook]).inc();
    }
}

/// Counts a plugin's `answer` to `hook` ([`plugin_hook`]) and hands it back.
pub fn hook_answer<T>(
    hook: &str,
    answer: Result<T, crate::plugins::process::CallError>,
) -> Result<T, crate::plugins::process::CallError> {
    let timed_out = matches!(
        answer,
        Err(crate::plugins::process::CallError::Timeout { .. })
    );
    plugin_hook(hook, timed_out);
    answer
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

/// Seconds from a block's first sighting (its header or the block, from a peer) to its
/// joining the active chain here: fed by the first-seen records (`net::firstseen`), one
/// observation per block brought by a peer. A node sees only its own end of a block's
/// journey; the network lab (`contrib/lab`) puts the ends of all nodes together.
pub fn block_first_seen_histogram() -> Option<&'static prometheus::Histogram> {
    static HISTOGRAM: OnceLock<Option<prometheus::Histogram>> = OnceLock::new();
    HISTOGRAM
        .get_or_init(|| {
            let opts = prometheus::HistogramOpts::new(
                "dotcoin_block_first_seen_to_connected_seconds",
                "Seconds from first seeing a block (header or block, from a peer) to connecting it",
            )
            .buckets(vec![
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
            ]);
            let h = prometheus::Histogram::with_opts(opts).ok()?;
            global().registry().register(Box::new(h.clone())).ok()?;
            Some(h)
        })
        .as_ref()
}

/// Notes one block's first-seen record on `/metrics` (see [`block_first_seen_histogram`]).
pub fn observe_block_propagation(record: &crate::net::firstseen::BlockRecord) {
    let first = match (record.header_ms, record.block_ms) {
        (Some(h), Some(b)) => h.min(b),
        (Some(t), None) | (None, Some(t)) => t,
        (None, None) => return,
    };
    let Some(connected) = record.connected_ms else {
        return;
    };
    if let Some(h) = block_first_seen_histogram() {
        h.observe(connected.saturating_sub(first) as f64 / 1000.0);
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

    #[test]
    fn at_least_25_series_from_the_first_scrape() {
        let m = Metrics::new().expect("metrics");
        let families = m.registry().gather();
        let names: Vec<&str> = families.iter().map(|f| f.name()).collect();
        assert!(names.len() >= 25, "{} series: {names:?}", names.len());
        for wanted in [
            "dotcoin_chain_height",
            "dotcoin_header_height",
            "dotcoin_tip_age_seconds",
            "dotcoin_reorg_depth_blocks",
            "dotcoin_blocks_connected_total",
            "dotcoin_block_validation_seconds",
            "dotcoin_mempool_transactions",
            "dotcoin_mempool_bytes",
            "dotcoin_mempool_accepted_feerate_sat_per_byte",
            "dotcoin_peers",
            "dotcoin_p2p_bytes_total",
            "dotcoin_p2p_messages_total",
            "dotcoin_bans_total",
            "dotcoin_misbehaviour_total",
            "dotcoin_rpc_calls_total",
            "dotcoin_rpc_request_duration_seconds",
            "dotcoin_miner_hashes_per_second",
            "dotcoin_plugin_hook_calls_total",
            "dotcoin_plugin_hook_timeouts_total",
        ] {
            assert!(names.contains(&wanted), "{wanted} missing from {names:?}");
        }
    }

    #[test]
    fn unknown_methods_commands_and_hooks_land_in_other() {
        assert_eq!(method_label("getblockcount"), "getblockcount");
        assert_eq!(method_label("getblockcount2"), OTHER);
        assert_eq!(method_label(""), OTHER);
        assert_eq!(command_label("headers"), "headers");
        assert_eq!(command_label("cmpctblock"), "cmpctblock");
        assert_eq!(command_label("\u{0}bogus"), OTHER);
        assert_eq!(hook_label("mempool_accept"), "mempool_accept");
        assert_eq!(hook_label("made_up_hook"), OTHER);
        let m = Metrics::new().expect("metrics");
        let series = |m: &Metrics| -> usize {
            m.registry()
                .gather()
                .iter()
                .map(|f| f.get_metric().len())
                .sum()
        };
        let before = series(&m);
        // A thousand made-up names add nothing: each is counted under "other".
        for i in 0..1000 {
            let name = format!("made-up-{i}");
            let labels = [method_label(&name), "ok"];
            m.rpc_calls.with_label_values(&labels).inc();
            m.rpc_duration
                .with_label_values(&[labels[0]])
                .observe(0.001);
            let labels = [command_label(&name), Direction::Received.label()];
            m.p2p_messages.with_label_values(&labels).inc();
            m.p2p_bytes.with_label_values(&labels).inc_by(24);
        }
        assert_eq!(series(&m), before);
        let text = m.render().expect("render");
        assert!(
            text.contains("dotcoin_rpc_calls_total{method=\"other\",result=\"ok\"} 1000\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "dotcoin_p2p_messages_total{command=\"other\",direction=\"received\"} 1000\n"
            ),
            "{text}"
        );
        assert!(!text.contains("made-up"), "{text}");
        // A declared method gets its own series.
        m.rpc_calls
            .with_label_values(&[method_label("getblockcount"), "ok"])
            .inc();
        assert!(m
            .render()
            .expect("render")
            .contains("dotcoin_rpc_calls_total{method=\"getblockcount\",result=\"ok\"} 1\n"));
    }

    #[test]
    fn events_feed_the_histograms() {
        let m = Metrics::new().expect("metrics");
        let hash = |b| dotcoin_common::BlockHash::from_byte_array([b; 32]);
        m.observe(&Event::TipChanged {
            hash: hash(9),
            height: 9,
            previous: hash(8),
            reorg: Some(crate::state::events::Reorg {
                depth: 3,
                fork_point: hash(5),
                fork_height: 6,
            }),
        });
        m.observe(&Event::TxAccepted {
            txid: dotcoin_common::Txid::from_byte_array([1; 32]),
            fee: dotcoin_common::Amount::from_sat(2_000),
            value_out: dotcoin_common::Amount::from_sat(1),
            size: 200,
            mempool_sequence: 1,
        });
        let text = m.render().expect("render");
        assert!(
            text.contains("dotcoin_reorg_depth_blocks_bucket{le=\"2\"} 0\n"),
            "{text}"
        );
        assert!(
            text.contains("dotcoin_reorg_depth_blocks_bucket{le=\"3\"} 1\n"),
            "{text}"
        );
        // 2000 sat over 200 bytes: 10 sat/byte.
        assert!(
            text.contains("dotcoin_mempool_accepted_feerate_sat_per_byte_bucket{le=\"5\"} 0\n"),
            "{text}"
        );
        assert!(
            text.contains("dotcoin_mempool_accepted_feerate_sat_per_byte_bucket{le=\"10\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("dotcoin_mempool_accepted_total 1\n"),
            "{text}"
        );
    }
}
