//! The selfish miner (Eyal and Sirer, "Majority is not enough", 2014) as a lab strategy:
//! the one node of a topology with `strategy = "selfish"` mines as a Poisson miner at its
//! hash share but keeps its blocks private and publishes them against the honest
//! network's blocks, which it hears of the moment an honest miner finds one (the
//! attacker that watches the network). Its node has no P2P link; the daemon hands it
//! every honest block (`submitblock`) so it knows the public chain, and publishing is
//! `submitblock` of its blocks to the honest nodes of its publishing paths, each after
//! that path's latency. From there the honest nodes relay over the proxied links, racing
//! the honest block: γ (the share of honest mining on the selfish branch of a tie) is not
//! set but measured.
//!
//! This module owns the decision function ([`State`], pure: state + event → actions,
//! height-based so that honest-vs-honest forks do not confuse it), the strategy task the
//! daemon runs for the selfish node ([`run`]), its record (`selfish.jsonl` in the lab
//! directory, one JSON line per event) and the report's `selfish` section with
//! Eyal–Sirer's revenue [`revenue`].

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dotcoin_rpc_client::RpcClient;
use rand::Rng;
use serde::Serialize;
use serde_json::{json, Value};
use tokio::sync::{mpsc, Notify};
use tokio::time::Instant;

use crate::daemon::{unix_ms, Lab, Mined};
use crate::topology::Strategy;

/// The record file in the lab directory.
pub const LOG_FILE: &str = "selfish.jsonl";
/// Most blocks fetched backwards to give a node a block's missing ancestors.
const MAX_BACKFILL: usize = 1_000;
/// Most lines of `selfish.jsonl` the report reads.
const MAX_EVENTS: usize = 1_000_000;
/// Honest blocks queued for the strategy before the miners wait for it.
pub const QUEUE: usize = 1_024;

/// An honest block, as the honest miner that found it reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HonestBlock {
    /// Its hash.
    pub hash: String,
    /// The node that found it.
    pub node: usize,
    /// Its height.
    pub height: u64,
    /// Its parent's hash.
    pub prev: String,
}

/// Why blocks are published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    /// The lead was 1 and the honest network caught up: publish, a tie.
    Race,
    /// The lead was 2 and the honest network found one: publish all, the selfish chain
    /// is longer and wins.
    Override,
    /// The lead was above 2: publish up to the honest height, keep the lead.
    Match,
    /// Found during a tie, on the selfish branch: published at once, it wins.
    TieWin,
    /// Mining stopped: what was still private.
    Final,
}

/// Who broke a tie.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Resolver {
    /// An honest block (on either branch).
    Honest,
    /// A selfish block on the selfish branch.
    Selfish,
}

/// What the strategy does after an event.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Publish these blocks (hash, height), oldest first.
    Publish {
        /// The blocks.
        blocks: Vec<(String, u64)>,
        /// Why.
        reason: Reason,
    },
    /// Give up the private chain and mine on the public one.
    Adopt {
        /// The private blocks dropped (never published).
        dropped: Vec<(String, u64)>,
        /// The public height adopted.
        height: u64,
    },
    /// A tie: the selfish block at `height` against an honest one.
    Tie {
        /// The selfish block.
        hash: String,
        /// The height of both.
        height: u64,
    },
    /// A tie is over.
    TieResolved {
        /// Who found the block that broke it.
        by: Resolver,
        /// Whether that block extends the selfish branch.
        selfish_branch: bool,
        /// That block.
        hash: String,
    },
}

/// The strategy's state: heights only, so an honest block of an honest-vs-honest fork
/// (at or below the public height) changes nothing.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct State {
    /// The selfish node's tip height (its private chain, or the adopted public one).
    pub private_height: u64,
    /// The highest honest block's height.
    pub public_height: u64,
    /// Blocks found and not yet published (hash, height), oldest first.
    pub unpublished: Vec<(String, u64)>,
    /// During a tie: the published selfish block at the public height.
    pub tie: Option<(String, u64)>,
}

impl State {
    /// The state when mining starts: nothing private.
    pub fn new(private_height: u64, public_height: u64) -> State {
        State {
            private_height,
            public_height,
            ..State::default()
        }
    }

    /// The selfish node found `hash` at `height` (on its own tip).
    pub fn on_selfish(&mut self, hash: &str, height: u64) -> Vec<Action> {
        self.private_height = height;
        if let Some((_, tie_height)) = self.tie.take() {
            if height == tie_height + 1 && self.unpublished.is_empty() {
                // Eyal–Sirer's state 0': the selfish branch is now longer, publish.
                return vec![
                    Action::Publish {
                        blocks: vec![(hash.to_owned(), height)],
                        reason: Reason::TieWin,
                    },
                    Action::TieResolved {
                        by: Resolver::Selfish,
                        selfish_branch: true,
                        hash: hash.to_owned(),
                    },
                ];
            }
        }
        self.unpublished.push((hash.to_owned(), height));
        Vec::new()
    }

    /// An honest miner found `b`.
    pub fn on_honest(&mut self, b: &HonestBlock) -> Vec<Action> {
        if b.height <= self.public_height {
            // An honest-vs-honest fork, or a block of a branch already passed.
            return Vec::new();
        }
        let mut actions = Vec::new();
        if let Some((tie_hash, _)) = self.tie.take() {
            actions.push(Action::TieResolved {
                by: Resolver::Honest,
                selfish_branch: b.prev == tie_hash,
                hash: b.hash.clone(),
            });
        }
        self.public_height = b.height;
        let (private, public) = (self.private_height, self.public_height);
        if private < public {
            self.private_height = public;
            actions.push(Action::Adopt {
                dropped: std::mem::take(&mut self.unpublished),
                height: public,
            });
        } else if private == public {
            // The lead was 1: publish it, and the two branches race.
            if let Some(last) = self.unpublished.last().cloned() {
                actions.push(Action::Publish {
                    blocks: std::mem::take(&mut self.unpublished),
                    reason: Reason::Race,
                });
                actions.push(Action::Tie {
                    hash: last.0.clone(),
                    height: last.1,
                });
                self.tie = Some(last);
            }
        } else if private == public + 1 {
            // The lead was 2: publishing all makes the selfish chain the longer one.
            if !self.unpublished.is_empty() {
                actions.push(Action::Publish {
                    blocks: std::mem::take(&mut self.unpublished),
                    reason: Reason::Override,
                });
            }
        } else {
            // A longer lead: match the honest height and keep the rest.
            let split = self.unpublished.partition_point(|(_, h)| *h <= public);
            if split > 0 {
                actions.push(Action::Publish {
                    blocks: self.unpublished.drain(..split).collect(),
                    reason: Reason::Match,
                });
            }
        }
        actions
    }

    /// Mining stops: publish what is still private (Eyal and Sirer count revenue on the
    /// final chain of a long run; a withheld remainder would otherwise vanish).
    pub fn flush(&mut self) -> Vec<Action> {
        self.tie = None;
        if self.unpublished.is_empty() {
            return Vec::new();
        }
        vec![Action::Publish {
            blocks: std::mem::take(&mut self.unpublished),
            reason: Reason::Final,
        }]
    }
}

/// Eyal and Sirer's revenue of a selfish miner with hash share `alpha` whose tie blocks
/// a share `gamma` of the honest miners mines on:
/// R = [α(1−α)²(4α+γ(1−2α)) − α³] / [1 − α(1+(2−α)α)].
pub fn revenue(alpha: f64, gamma: f64) -> f64 {
    let a = alpha;
    (a * (1.0 - a).powi(2) * (4.0 * a + gamma * (1.0 - 2.0 * a)) - a.powi(3))
        / (1.0 - a * (1.0 + (2.0 - a) * a))
}

/// Eyal and Sirer's state machine run on a given sequence of finds (true: the selfish
/// miner's), in order, with the ties an honest block breaks going the selfish branch's
/// way as `resolutions` says, one after another (the honest branch's when they run
/// out): (selfish, honest) blocks on the final chain, what is private at the end
/// counted as published. The lab's revenue minus this is what its network (latency,
/// honest forks, the strategy's reaction time) did; this minus R(α, γ) is the luck of
/// the sequence.
pub fn replay(finds: impl IntoIterator<Item = bool>, resolutions: &[bool]) -> (u64, u64) {
    let (mut selfish, mut honest) = (0u64, 0u64);
    let (mut lead, mut tie) = (0u64, false);
    let mut resolutions = resolutions.iter();
    for ours in finds {
        match (ours, tie, lead) {
            (true, true, _) => {
                selfish += 2;
                tie = false;
            }
            (true, false, _) => lead += 1,
            (false, true, _) => {
                if resolutions.next().copied().unwrap_or(false) {
                    selfish += 1;
                    honest += 1;
                } else {
                    honest += 2;
                }
                tie = false;
            }
            (false, false, 0) => honest += 1,
            (false, false, 1) => {
                tie = true;
                lead = 0;
            }
            (false, false, 2) => {
                selfish += 2;
                lead = 0;
            }
            (false, false, _) => {
                selfish += 1;
                lead -= 1;
            }
        }
    }
    (selfish + lead, honest)
}

/// A block's hex from `rpc`.
async fn block_hex(rpc: &RpcClient, hash: &str) -> Result<String, String> {
    rpc.call("getblock", json!([hash, 0]))
        .await
        .map_err(|e| format!("getblock {hash}: {e}"))?
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("getblock {hash}: not hex"))
}

/// Gives `to` block `hash` and whatever ancestors of it it lacks, fetched from `from`
/// (oldest first, at most [`MAX_BACKFILL`]).
async fn ensure_known(from: &RpcClient, to: &RpcClient, hash: &str) -> Result<(), String> {
    let mut missing = Vec::new();
    let mut h = hash.to_owned();
    loop {
        if to.call("getblockheader", json!([h, true])).await.is_ok() {
            break;
        }
        if missing.len() >= MAX_BACKFILL {
            return Err(format!("{hash}: more than {MAX_BACKFILL} blocks missing"));
        }
        let header = from
            .call("getblockheader", json!([h, true]))
            .await
            .map_err(|e| format!("getblockheader {h}: {e}"))?;
        missing.push(h.clone());
        match header["previousblockhash"].as_str() {
            Some(p) => h = p.to_owned(),
            None => break,
        }
    }
    for h in missing.iter().rev() {
        let hex = block_hex(from, h).await?;
        submit(to, &hex).await?;
    }
    Ok(())
}

/// `submitblock`: Ok unless the node refused it (a duplicate is fine).
async fn submit(to: &RpcClient, hex: &str) -> Result<(), String> {
    match to.call("submitblock", json!([hex])).await {
        Ok(Value::Null) => Ok(()),
        Ok(Value::String(s)) if s == "duplicate" => Ok(()),
        Ok(other) => Err(format!("submitblock: {other}")),
        Err(e) => Err(format!("submitblock: {e}")),
    }
}

/// `selfish.jsonl`, shared by the strategy and its publishers.
#[derive(Clone)]
struct Log(Arc<Mutex<Option<std::fs::File>>>);

impl Log {
    fn write(&self, mut v: Value) {
        v["ms"] = json!(unix_ms());
        if let Some(f) = self.0.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
            crate::daemon::append_line(f, &v);
        }
    }
}

/// Blocks (hash, hex) for one honest node, to submit at `due`.
struct Batch {
    due: Instant,
    blocks: Vec<(String, String)>,
}

/// Hands batches to honest node `target` in order, each at its time; a block whose
/// parent the node lacks (a race with the P2P relay) gets its ancestors first.
async fn publisher(
    lab: Arc<Lab>,
    me: usize,
    target: usize,
    log: Log,
    mut rx: mpsc::UnboundedReceiver<Batch>,
) {
    while let Some(batch) = rx.recv().await {
        tokio::time::sleep_until(batch.due).await;
        for (hash, hex) in &batch.blocks {
            let (Some((to, _, _)), Some((from, _, _))) = (lab.node(target), lab.node(me)) else {
                continue;
            };
            let done = match submit(&to, hex).await {
                Ok(()) => Ok(()),
                Err(_) => ensure_known(&from, &to, hash).await,
            };
            if let Err(e) = done {
                log.write(json!({"event": "error", "hash": hash, "to": target, "error": e}));
            }
        }
        lab.selfish_pending.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Honest blocks queued for the selfish node and not yet handed to it.
#[derive(Default)]
struct Informing {
    pending: AtomicUsize,
    done: Notify,
}

/// Hands each honest block to the selfish node (with missing ancestors), in order, off
/// the strategy's own task: deciding on the next honest block need not wait for it.
async fn informer(
    lab: Arc<Lab>,
    me: usize,
    log: Log,
    informing: Arc<Informing>,
    mut rx: mpsc::UnboundedReceiver<HonestBlock>,
) {
    while let Some(b) = rx.recv().await {
        if let (Some((from, _, _)), Some((to, _, _))) = (lab.node(b.node), lab.node(me)) {
            if let Err(e) = ensure_known(&from, &to, &b.hash).await {
                log.write(json!({"event": "error", "hash": b.hash, "error": e}));
            }
        }
        if informing.pending.fetch_sub(1, Ordering::SeqCst) == 1 {
            informing.done.notify_waiters();
        }
    }
}

/// The exponential wait to the selfish miner's next find.
fn next_find(mean: f64) -> Instant {
    let u: f64 = 1.0 - rand::thread_rng().gen::<f64>();
    Instant::now() + Duration::from_secs_f64((-u.ln() * mean).min(3600.0))
}

/// The strategy task for node `me` (hash share `share`, network interval `interval`),
/// fed the honest blocks by the miners over `honest`.
pub(crate) async fn run(
    lab: Arc<Lab>,
    me: usize,
    share: f64,
    interval: Duration,
    mut honest: mpsc::Receiver<HonestBlock>,
) {
    let mut mining = lab.mining.subscribe();
    let mean = interval.as_secs_f64() / share;
    let log = Log(Arc::new(Mutex::new(
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(lab.dir.join(LOG_FILE))
            .ok(),
    )));
    let publishers: Vec<(Duration, mpsc::UnboundedSender<Batch>)> = lab
        .topo
        .publish
        .iter()
        .map(|l| {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(publisher(Arc::clone(&lab), me, l.b, log.clone(), rx));
            (l.params.latency, tx)
        })
        .collect();
    let informing = Arc::new(Informing::default());
    let (inform_tx, inform_rx) = mpsc::unbounded_channel();
    tokio::spawn(informer(
        Arc::clone(&lab),
        me,
        log.clone(),
        Arc::clone(&informing),
        inform_rx,
    ));
    let mut s = Player {
        lab: Arc::clone(&lab),
        me,
        log,
        publishers,
        inform_tx,
        informing,
        hexes: HashMap::new(),
        found_ms: HashMap::new(),
    };
    let mut state: Option<State> = None;
    let mut due: Option<Instant> = None;
    loop {
        if !*mining.borrow_and_update() {
            if let Some(mut st) = state.take() {
                let actions = st.flush();
                s.execute(actions);
                s.hexes.clear();
                s.found_ms.clear();
            }
            lab.selfish_active.store(false, Ordering::SeqCst);
            due = None;
            tokio::select! {
                changed = mining.changed() => if changed.is_err() { return },
                b = honest.recv() => match b {
                    Some(b) => s.inform(b),
                    None => return,
                },
            }
            continue;
        }
        let st = match state.as_mut() {
            Some(st) => st,
            None => match s.start().await {
                Some(st) => {
                    lab.selfish_active.store(true, Ordering::SeqCst);
                    state.insert(st)
                }
                None => {
                    // Paused or not answering: try again shortly.
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                        changed = mining.changed() => if changed.is_err() { return },
                    }
                    continue;
                }
            },
        };
        let at = *due.get_or_insert_with(|| next_find(mean));
        tokio::select! {
            _ = tokio::time::sleep_until(at) => {
                due = None;
                // On the public chain as the strategy knows it: the honest blocks
                // already decided on must be on the selfish node first.
                s.informed().await;
                if let Some((hash, height)) = s.mine().await {
                    let actions = st.on_selfish(&hash, height);
                    s.execute(actions);
                }
            }
            b = honest.recv() => {
                let Some(b) = b else { return };
                // Decide and publish first: the race with the honest block is on.
                let actions = st.on_honest(&b);
                s.execute(actions);
                s.inform(b);
            }
            changed = mining.changed() => if changed.is_err() { return },
        }
    }
}

/// The strategy task's means of acting.
struct Player {
    lab: Arc<Lab>,
    me: usize,
    log: Log,
    publishers: Vec<(Duration, mpsc::UnboundedSender<Batch>)>,
    inform_tx: mpsc::UnboundedSender<HonestBlock>,
    informing: Arc<Informing>,
    /// Hex of each private block.
    hexes: HashMap<String, String>,
    /// When each private block was found.
    found_ms: HashMap<String, u64>,
}

impl Player {
    /// The state when mining starts: the selfish node brought up to the best honest
    /// chain (it may have missed blocks while mining was off), nothing private.
    async fn start(&self) -> Option<State> {
        let (mine, _, _) = self.lab.node(self.me)?;
        let mut best: Option<(u64, usize)> = None;
        for p in &self.lab.topo.publish {
            let (rpc, _, _) = self.lab.node(p.b)?;
            let h = rpc.call("getblockcount", json!([])).await.ok()?.as_u64()?;
            if best.is_none_or(|(bh, _)| h > bh) {
                best = Some((h, p.b));
            }
        }
        let (public, node) = best?;
        let (rpc, _, _) = self.lab.node(node)?;
        let tip = rpc.call("getbestblockhash", json!([])).await.ok()?;
        if let Err(e) = ensure_known(&rpc, &mine, tip.as_str()?).await {
            self.log.write(json!({"event": "error", "error": e}));
        }
        let private = mine.call("getblockcount", json!([])).await.ok()?.as_u64()?;
        self.log
            .write(json!({"event": "start", "private_height": private, "public_height": public}));
        Some(State::new(private, public))
    }

    /// One block on the selfish node's tip: (hash, height).
    async fn mine(&mut self) -> Option<(String, u64)> {
        let (rpc, address, _) = self.lab.node(self.me)?;
        let v = rpc
            .call("generatetoaddress", json!([1, address]))
            .await
            .ok()?;
        let hash = v.get(0)?.as_str()?.to_owned();
        let ms = unix_ms();
        // Its height and bytes before it is recorded, so the record never lists a block
        // the strategy cannot publish; a failure here (the node's own RPC) is logged.
        let (header, hex) = tokio::join!(
            rpc.call("getblockheader", json!([hash, true])),
            block_hex(&rpc, &hash)
        );
        let block = header
            .map_err(|e| e.to_string())
            .and_then(|h| h["height"].as_u64().ok_or_else(|| "no height".to_owned()))
            .and_then(|height| Ok((height, hex?)));
        let (height, hex) = match block {
            Ok(b) => b,
            Err(e) => {
                self.log
                    .write(json!({"event": "error", "hash": hash, "error": e}));
                return None;
            }
        };
        self.lab.record_mined(Mined {
            hash: hash.clone(),
            node: self.me,
            ms,
        });
        self.log
            .write(json!({"event": "found", "hash": hash, "height": height}));
        self.hexes.insert(hash.clone(), hex);
        self.found_ms.insert(hash.clone(), ms);
        Some((hash, height))
    }

    /// Queues honest block `b` for the selfish node, so it knows the public chain (it
    /// switches by itself to a longer one, keeps its own on equal height).
    fn inform(&self, b: HonestBlock) {
        self.informing.pending.fetch_add(1, Ordering::SeqCst);
        if self.inform_tx.send(b).is_err() {
            self.informing.pending.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// Waits until the selfish node has every honest block handed to [`Self::inform`].
    async fn informed(&self) {
        loop {
            let done = self.informing.done.notified();
            if self.informing.pending.load(Ordering::SeqCst) == 0 {
                return;
            }
            done.await;
        }
    }

    fn execute(&mut self, actions: Vec<Action>) {
        for a in actions {
            match a {
                Action::Publish { blocks, reason } => {
                    let now = unix_ms();
                    let mut batch = Vec::new();
                    for (hash, height) in &blocks {
                        let found = self.found_ms.remove(hash);
                        self.log.write(json!({
                            "event": "published", "hash": hash, "height": height, "reason": reason,
                            "withheld_ms": found.map(|f| now.saturating_sub(f)),
                        }));
                        if let Some(hex) = self.hexes.remove(hash) {
                            batch.push((hash.clone(), hex));
                        }
                    }
                    let start = Instant::now();
                    for (latency, tx) in &self.publishers {
                        self.lab.selfish_pending.fetch_add(1, Ordering::SeqCst);
                        let sent = tx.send(Batch {
                            due: start + *latency,
                            blocks: batch.clone(),
                        });
                        if sent.is_err() {
                            self.lab.selfish_pending.fetch_sub(1, Ordering::SeqCst);
                        }
                    }
                }
                Action::Adopt { dropped, height } => {
                    for (hash, _) in &dropped {
                        self.hexes.remove(hash);
                        self.found_ms.remove(hash);
                    }
                    self.log.write(json!({
                        "event": "adopted", "height": height,
                        "dropped": dropped.iter().map(|d| &d.0).collect::<Vec<_>>(),
                    }));
                }
                Action::Tie { hash, height } => {
                    self.log
                        .write(json!({"event": "tie", "hash": hash, "height": height}));
                }
                Action::TieResolved {
                    by,
                    selfish_branch,
                    hash,
                } => {
                    self.log.write(json!({
                        "event": "tie_resolved", "by": by,
                        "branch": if selfish_branch { "selfish" } else { "honest" }, "hash": hash,
                    }));
                }
            }
        }
    }
}

/// `selfish.jsonl` of the lab in `dir` (at most [`MAX_EVENTS`] lines).
pub fn read_events(dir: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join(LOG_FILE))
        .unwrap_or_default()
        .lines()
        .take(MAX_EVENTS)
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// The report's `selfish` section: α configured and measured, ties and γ measured, the
/// selfish node's share of main-chain blocks beside Eyal–Sirer's R(α, γ̂), and the
/// honest blocks that went stale (to the selfish chain, or in honest-vs-honest forks).
/// None when the lab has no selfish node.
pub fn section(inp: &crate::report::Inputs, events: &[Value]) -> Option<Value> {
    let me = inp
        .topo
        .nodes
        .iter()
        .position(|n| n.strategy == Strategy::Selfish)?;
    let alpha = inp.topo.nodes[me].hashshare;
    let mut seen = HashSet::new();
    let (mut finds, mut selfish_finds) = (0u64, 0u64);
    let (mut main, mut selfish_main) = (0u64, 0u64);
    // Height → whether the main-chain block there is the selfish node's.
    let mut main_at: BTreeMap<i64, bool> = BTreeMap::new();
    let mut honest_stale = Vec::new();
    for m in &inp.mined {
        if m.node >= inp.topo.nodes.len() || !seen.insert(m.hash.as_str()) {
            continue;
        }
        finds += 1;
        let ours = m.node == me;
        selfish_finds += u64::from(ours);
        let (height, active) = inp.status.get(&m.hash).copied().unwrap_or((-1, false));
        if active {
            main += 1;
            selfish_main += u64::from(ours);
            main_at.insert(height, ours);
        } else if !ours {
            honest_stale.push(height);
        }
    }
    let orphaned_by_selfish = honest_stale
        .iter()
        .filter(|h| main_at.get(h) == Some(&true))
        .count() as u64;
    let honest_forks = honest_stale.len() as u64 - orphaned_by_selfish;
    let honest_finds = finds - selfish_finds;
    let count = |event: &str, key: &str, value: &str| {
        events
            .iter()
            .filter(|e| e["event"] == event && (key.is_empty() || e[key] == value))
            .count() as u64
    };
    let ties = count("tie", "", "");
    let on_selfish = events
        .iter()
        .filter(|e| e["event"] == "tie_resolved" && e["by"] == "honest" && e["branch"] == "selfish")
        .count() as u64;
    let on_honest = events
        .iter()
        .filter(|e| e["event"] == "tie_resolved" && e["by"] == "honest" && e["branch"] == "honest")
        .count() as u64;
    let by_selfish = count("tie_resolved", "by", "selfish");
    let gamma =
        (on_selfish + on_honest > 0).then(|| on_selfish as f64 / (on_selfish + on_honest) as f64);
    let alpha_measured = (finds > 0).then(|| selfish_finds as f64 / finds as f64);
    let share = (main > 0).then(|| selfish_main as f64 / main as f64);
    let r_configured = gamma.map(|g| revenue(alpha, g));
    let mut order: Vec<&Mined> = Vec::new();
    let mut once = HashSet::new();
    for m in &inp.mined {
        if m.node < inp.topo.nodes.len() && once.insert(m.hash.as_str()) {
            order.push(m);
        }
    }
    order.sort_by_key(|m| m.ms);
    let resolutions: Vec<bool> = events
        .iter()
        .filter(|e| e["event"] == "tie_resolved" && e["by"] == "honest")
        .map(|e| e["branch"] == "selfish")
        .collect();
    let (rs, rh) = replay(order.iter().map(|m| m.node == me), &resolutions);
    let replayed = (rs + rh > 0).then(|| rs as f64 / (rs + rh) as f64);
    let r_measured = gamma.zip(alpha_measured).map(|(g, a)| revenue(a, g));
    let mut reasons = serde_json::Map::new();
    for r in ["race", "override", "match", "tie-win", "final"] {
        reasons.insert(r.to_owned(), json!(count("published", "reason", r)));
    }
    let dropped: usize = events
        .iter()
        .filter(|e| e["event"] == "adopted")
        .map(|e| e["dropped"].as_array().map_or(0, Vec::len))
        .sum();
    Some(json!({
        "node": inp.topo.nodes[me].name,
        "alpha_configured": alpha,
        "alpha_measured": alpha_measured,
        "finds": finds,
        "selfish_finds": selfish_finds,
        "main_chain_blocks": main,
        "selfish_main_chain_blocks": selfish_main,
        "revenue_share": share,
        "ties": ties,
        "ties_resolved_on_selfish_branch": on_selfish,
        "ties_resolved_on_honest_branch": on_honest,
        "ties_resolved_by_selfish": by_selfish,
        "gamma_measured": gamma,
        "expected_revenue_alpha_configured": r_configured,
        "expected_revenue_alpha_measured": r_measured,
        "revenue_minus_expected": share.zip(r_measured).map(|(s, r)| s - r),
        "replayed_revenue": replayed,
        "honest_expectation": alpha,
        "published": reasons,
        "dropped": dropped,
        "honest_finds": honest_finds,
        "honest_orphaned_by_selfish": orphaned_by_selfish,
        "honest_forks": honest_forks,
        "honest_stale_rate": (honest_finds > 0).then(|| honest_forks as f64 / honest_finds as f64),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn honest(hash: &str, height: u64, prev: &str) -> HonestBlock {
        HonestBlock {
            hash: hash.into(),
            node: 1,
            height,
            prev: prev.into(),
        }
    }

    fn published(actions: &[Action]) -> Vec<(Vec<&str>, Reason)> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::Publish { blocks, reason } => {
                    Some((blocks.iter().map(|b| b.0.as_str()).collect(), *reason))
                }
                _ => None,
            })
            .collect()
    }

    #[test]
    fn the_formula_matches_eyal_and_sirer() {
        for (gamma, r) in [(0.0, 0.4837), (0.5, 0.5256), (1.0, 0.5674)] {
            let got = revenue(0.4, gamma);
            assert!((got - r).abs() < 5e-5, "R(0.4, {gamma}) = {got}, not {r}");
        }
        // The profitability threshold: with γ = 0, selfish mining pays above α = 1/3.
        assert!((revenue(1.0 / 3.0, 0.0) - 1.0 / 3.0).abs() < 1e-9);
        assert!(revenue(0.25, 0.0) < 0.25);
    }

    #[test]
    fn an_honest_block_against_no_lead_is_adopted() {
        let mut s = State::new(10, 10);
        let a = s.on_honest(&honest("h11", 11, "h10"));
        assert_eq!(
            a,
            vec![Action::Adopt {
                dropped: vec![],
                height: 11
            }]
        );
        assert_eq!((s.private_height, s.public_height), (11, 11));
    }

    #[test]
    fn a_lead_of_one_is_published_against_the_honest_block_and_the_tie_resolves() {
        let mut s = State::new(10, 10);
        assert!(s.on_selfish("s11", 11).is_empty(), "kept private");
        let a = s.on_honest(&honest("h11", 11, "h10"));
        assert_eq!(published(&a), vec![(vec!["s11"], Reason::Race)]);
        assert!(a.contains(&Action::Tie {
            hash: "s11".into(),
            height: 11
        }));
        // An honest block on the selfish branch: γ's numerator.
        let mut on_ours = s.clone();
        let a = on_ours.on_honest(&honest("h12", 12, "s11"));
        assert_eq!(
            a[0],
            Action::TieResolved {
                by: Resolver::Honest,
                selfish_branch: true,
                hash: "h12".into()
            }
        );
        assert!(matches!(a[1], Action::Adopt { ref dropped, height: 12 } if dropped.is_empty()));
        // On the honest branch: the selfish block is lost.
        let mut on_theirs = s.clone();
        let a = on_theirs.on_honest(&honest("h12", 12, "h11"));
        assert_eq!(
            a[0],
            Action::TieResolved {
                by: Resolver::Honest,
                selfish_branch: false,
                hash: "h12".into()
            }
        );
        // The selfish miner finds one first: published at once, it wins.
        let a = s.on_selfish("s12", 12);
        assert_eq!(published(&a), vec![(vec!["s12"], Reason::TieWin)]);
        assert!(a.contains(&Action::TieResolved {
            by: Resolver::Selfish,
            selfish_branch: true,
            hash: "s12".into()
        }));
        assert!(s.tie.is_none() && s.unpublished.is_empty());
    }

    #[test]
    fn a_lead_of_two_overrides_and_a_longer_lead_matches_height_by_height() {
        let mut s = State::new(10, 10);
        s.on_selfish("s11", 11);
        s.on_selfish("s12", 12);
        let a = s.on_honest(&honest("h11", 11, "h10"));
        assert_eq!(published(&a), vec![(vec!["s11", "s12"], Reason::Override)]);
        assert!(s.tie.is_none());

        let mut s = State::new(10, 10);
        for h in 11..=14 {
            s.on_selfish(&format!("s{h}"), h);
        }
        let a = s.on_honest(&honest("h11", 11, "h10"));
        assert_eq!(published(&a), vec![(vec!["s11"], Reason::Match)]);
        let a = s.on_honest(&honest("h12", 12, "h11"));
        assert_eq!(published(&a), vec![(vec!["s12"], Reason::Match)]);
        // Lead 2 again: all of the rest.
        let a = s.on_honest(&honest("h13", 13, "h12"));
        assert_eq!(published(&a), vec![(vec!["s13", "s14"], Reason::Override)]);
        assert!(s.unpublished.is_empty());
    }

    #[test]
    fn a_private_chain_behind_is_dropped() {
        let mut s = State::new(10, 10);
        s.on_selfish("s11", 11);
        // Two honest blocks reported at once (the second found before the first
        // reached the strategy): the public chain is ahead.
        let a = s.on_honest(&honest("h12", 12, "h11"));
        assert_eq!(
            a,
            vec![Action::Adopt {
                dropped: vec![("s11".into(), 11)],
                height: 12
            }]
        );
        assert!(s.unpublished.is_empty());
    }

    #[test]
    fn honest_forks_change_nothing() {
        // Lead of 1, then two honest blocks at the same height: the second is a fork
        // among honest miners, not a new public height.
        let mut s = State::new(10, 10);
        s.on_selfish("s11", 11);
        s.on_honest(&honest("h11", 11, "h10"));
        assert!(s.on_honest(&honest("x11", 11, "h10")).is_empty());
        assert_eq!(s.tie, Some(("s11".into(), 11)), "still a tie");
        // A lead of 3 and an honest fork below it: nothing published twice.
        let mut s = State::new(10, 10);
        for h in 11..=13 {
            s.on_selfish(&format!("s{h}"), h);
        }
        s.on_honest(&honest("h11", 11, "h10"));
        assert!(s.on_honest(&honest("x11", 11, "h10")).is_empty());
        assert_eq!(s.unpublished.len(), 2);
        // The honest chain grows on the fork: lead 2 → override.
        let a = s.on_honest(&honest("x12", 12, "x11"));
        assert_eq!(published(&a), vec![(vec!["s12", "s13"], Reason::Override)]);
    }

    #[test]
    fn the_replay_follows_eyal_and_sirers_states() {
        // S H H: a tie, broken by an honest block on the selfish branch (1 + 1) or on
        // the honest one (0 + 2). S S H: an override (2). S S S H H H: a match (1), an
        // override (2), then an honest block on a lead of 0 (1).
        let (s, h) = replay([true, false, false], &[true]);
        assert_eq!((s, h), (1, 1));
        let (s, h) = replay([true, false, false], &[false]);
        assert_eq!((s, h), (0, 2));
        assert_eq!(
            replay([true, false, true], &[]),
            (2, 0),
            "tie won by the selfish miner"
        );
        assert_eq!(replay([true, true, false], &[]), (2, 0));
        assert_eq!(replay([true, true, true, false, false, false], &[]), (3, 1));
        assert_eq!(replay([false, false], &[]), (0, 2));
        // Private at the end counts as published.
        assert_eq!(replay([false, true, true], &[]), (2, 1));
    }

    #[test]
    fn stopping_publishes_the_rest() {
        let mut s = State::new(10, 10);
        s.on_selfish("s11", 11);
        s.on_selfish("s12", 12);
        assert_eq!(
            published(&s.flush()),
            vec![(vec!["s11", "s12"], Reason::Final)]
        );
        assert!(s.flush().is_empty());
    }

    #[test]
    fn the_report_section_counts_revenue_ties_and_honest_stale_blocks() {
        let topo = crate::topology::parse(
            "[lab]\nblock_interval = \"1s\"\n[[node]]\nname = \"s\"\nhashshare = 0.4\n\
             strategy = \"selfish\"\n[[node]]\nname = \"a\"\n[[node]]\nname = \"b\"\n",
        )
        .expect("topology");
        // Height 1: s1 beat a1. Height 2: a2 beat b2 (an honest fork). Height 3: b3
        // beat s3. s4 was dropped unpublished; a1 appears twice in the record.
        let mined = Mined::list(&[
            ("s1", 0),
            ("a1", 1),
            ("a1", 1),
            ("a2", 1),
            ("b2", 2),
            ("s3", 0),
            ("b3", 2),
            ("s4", 0),
        ]);
        let status = [
            ("s1", (1, true)),
            ("a1", (1, false)),
            ("a2", (2, true)),
            ("b2", (2, false)),
            ("s3", (3, false)),
            ("b3", (3, true)),
        ]
        .iter()
        .map(|(h, s)| ((*h).to_owned(), *s))
        .collect();
        let events: Vec<Value> = [
            json!({"event": "tie", "hash": "s1"}),
            json!({"event": "tie_resolved", "by": "honest", "branch": "selfish"}),
            json!({"event": "tie", "hash": "s3"}),
            json!({"event": "tie_resolved", "by": "honest", "branch": "honest"}),
            json!({"event": "tie", "hash": "s9"}),
            json!({"event": "tie_resolved", "by": "selfish", "branch": "selfish"}),
            json!({"event": "tie", "hash": "s10"}),
            json!({"event": "tie_resolved", "by": "honest", "branch": "selfish"}),
            json!({"event": "published", "reason": "race"}),
            json!({"event": "published", "reason": "final"}),
            json!({"event": "adopted", "dropped": ["s4"]}),
        ]
        .into();
        let inp = crate::report::Inputs {
            nodes: Vec::new(),
            proxies: Vec::new(),
            mined,
            changes: Vec::new(),
            records: Vec::new(),
            tips: Vec::new(),
            status,
            selfish_events: Vec::new(),
            topo,
        };
        let s = section(&inp, &events).expect("a selfish node");
        let f = |k: &str| s[k].as_f64().unwrap_or(f64::NAN);
        assert_eq!(s["finds"], 7, "{s}");
        assert_eq!(s["selfish_finds"], 3);
        assert!((f("alpha_measured") - 3.0 / 7.0).abs() < 1e-12);
        assert_eq!(s["main_chain_blocks"], 3);
        assert_eq!(s["selfish_main_chain_blocks"], 1);
        assert!((f("revenue_share") - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(s["ties"], 4);
        assert_eq!(s["ties_resolved_by_selfish"], 1);
        // γ: 2 of the 3 ties an honest block broke went the selfish branch's way.
        assert!((f("gamma_measured") - 2.0 / 3.0).abs() < 1e-12, "{s}");
        assert!((f("expected_revenue_alpha_configured") - revenue(0.4, 2.0 / 3.0)).abs() < 1e-12);
        assert!(
            (f("expected_revenue_alpha_measured") - revenue(3.0 / 7.0, 2.0 / 3.0)).abs() < 1e-12
        );
        assert!(
            (f("revenue_minus_expected") - (1.0 / 3.0 - revenue(3.0 / 7.0, 2.0 / 3.0))).abs()
                < 1e-12
        );
        assert_eq!(s["honest_finds"], 4);
        assert_eq!(s["honest_orphaned_by_selfish"], 1, "a1 lost to s1");
        assert_eq!(s["honest_forks"], 1, "b2 lost to a2");
        assert!((f("honest_stale_rate") - 0.25).abs() < 1e-12);
        assert_eq!(s["published"]["race"], 1);
        assert_eq!(s["published"]["final"], 1);
        assert_eq!(s["dropped"], 1);
        // In the order of the record (all at 0 ms, so as listed): S H(a1) H(a2) ...
        let (rs, rh) = replay(
            [true, false, false, false, true, false, true],
            &[true, false, true],
        );
        assert!(
            (f("replayed_revenue") - rs as f64 / (rs + rh) as f64).abs() < 1e-12,
            "{s}"
        );
    }
}
