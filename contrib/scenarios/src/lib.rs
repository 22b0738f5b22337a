//! The scenario runner: a scenario file (TOML) names how many `dotcoind` nodes to start,
//! how to link them, and a list of steps — mine, send, partition and heal, flood, play a
//! peer that sends an invalid block, generate background activity — and checks; this
//! module starts the nodes (regtest, free ports on 127.0.0.1, temp datadirs), drives them
//! over JSON-RPC, and returns a [`Report`] (written as JSON by the program).
//!
//! Wallets are keys the runner holds: it tracks their coins itself (the coinbases it
//! mined to them and the outputs of what it sent), signs with `dotcoin-common`, and
//! submits with `sendrawtransaction` — so a scenario can double-spend on purpose.
//!
//! Every wait is a condition polled with a deadline ([`Options::timeout`]); nothing sleeps
//! blindly except the activity generator's pacing.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bitcoin_hashes::{sha256d, Hash};
use dotcoin_common::encode::write_compact_size;
use dotcoin_common::sighash::signing;
use dotcoin_common::{
    deserialize, serialize, Address, Amount, Block, BlockHash, BlockHeader, Network, OutPoint,
    PubKey, Transaction, TxIn, TxOut, Txid,
};
use dotcoin_rpc_client::{ConnectOptions, RpcClient};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// How the runner runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// The `dotcoind` binary.
    pub dotcoind: PathBuf,
    /// Node count overriding each scenario's own.
    pub nodes: Option<usize>,
    /// Bound on every wait.
    pub timeout: Duration,
}

impl Options {
    /// `dotcoind` given, or the one next to the running program; default timeout 60 s.
    pub fn new(dotcoind: Option<PathBuf>, nodes: Option<usize>) -> Options {
        let dotcoind = dotcoind.unwrap_or_else(|| {
            std::env::current_exe()
                .ok()
                .and_then(|p| p.parent().map(|d| d.join("dotcoind")))
                .unwrap_or_else(|| PathBuf::from("dotcoind"))
        });
        Options {
            dotcoind,
            nodes,
            timeout: Duration::from_secs(60),
        }
    }
}

/// A scenario file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Short name, for the report.
    pub name: String,
    /// What it shows.
    #[serde(default)]
    pub description: String,
    /// Nodes to start.
    #[serde(default = "default_nodes")]
    pub nodes: usize,
    /// `mesh` (every pair), `line`, `ring` or `star` (node 0 in the middle); ignored when
    /// `links` is given.
    #[serde(default = "default_topology")]
    pub topology: String,
    /// Explicit links `[a, b]` (b connects to a).
    #[serde(default)]
    pub links: Vec<[usize; 2]>,
    /// Extra arguments for every node.
    #[serde(default)]
    pub args: Vec<String>,
    /// Extra arguments per node index ("0" = [...]).
    #[serde(default)]
    pub node_args: BTreeMap<String, Vec<String>>,
    /// The steps, in order.
    #[serde(rename = "step", default)]
    pub steps: Vec<Step>,
}

fn default_nodes() -> usize {
    5
}

fn default_topology() -> String {
    "mesh".into()
}

fn default_wallet() -> String {
    "miner".into()
}

/// One step.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(tag = "do", rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    /// `generatetoaddress` on `node`, paying wallet `to`; the last block is remembered as
    /// `name`.
    Mine {
        node: usize,
        blocks: u32,
        #[serde(default = "default_wallet")]
        to: String,
        #[serde(default)]
        name: Option<String>,
    },
    /// Waits until `nodes` (all when empty) share one tip.
    Sync {
        #[serde(default)]
        nodes: Vec<usize>,
    },
    /// Sends `amount_sat` from wallet `from` to wallet `to` through `node`; with `spend`,
    /// spends the same coin as the named transaction (a double spend).
    Send {
        node: usize,
        from: String,
        to: String,
        amount_sat: u64,
        #[serde(default)]
        name: Option<String>,
        #[serde(default)]
        spend: Option<String>,
        #[serde(default = "default_fee")]
        fee_sat: u64,
    },
    /// Waits until every node in `nodes` (all when empty) has transaction `tx` in its pool.
    WaitMempool {
        tx: String,
        #[serde(default)]
        nodes: Vec<usize>,
    },
    /// Cuts every link between the groups.
    Partition { groups: Vec<Vec<usize>> },
    /// Restores every link of the topology and waits until all are up.
    Heal,
    /// Splits a coin of wallet `from` into `outputs` coins (confirmed by mining on
    /// `node`), for the activity generator.
    FanOut {
        node: usize,
        from: String,
        outputs: usize,
    },
    /// Sends `tps` transactions a second for `seconds`, round-robin over the nodes, between
    /// `wallets`; checks that at least `min_fraction` of (transaction, node) pairs reach
    /// the node's mempool within `within_ms` of being sent.
    Activity {
        tps: f64,
        seconds: f64,
        wallets: Vec<String>,
        #[serde(default = "default_within")]
        within_ms: u64,
        #[serde(default = "default_fraction")]
        min_fraction: f64,
    },
    /// Sends `txs` transactions of `outputs` outputs each from wallet `from` to `node`, fee
    /// rates rising from the first; names them `<prefix>0`, `<prefix>1`, ….
    Flood {
        node: usize,
        from: String,
        txs: usize,
        outputs: usize,
        prefix: String,
    },
    /// From 127.0.0.`from_ip`, connects to each node of `nodes` (all when empty) as a raw
    /// peer and sends a block on its tip whose coinbase claims more than the subsidy.
    InvalidBlock {
        #[serde(default)]
        nodes: Vec<usize>,
        from_ip: u8,
    },
    /// A check; fails the scenario when false (after waiting for it up to the timeout
    /// when `wait` is set).
    Assert {
        check: Check,
        #[serde(default)]
        wait: bool,
    },
}

fn default_fee() -> u64 {
    1_000
}

fn default_within() -> u64 {
    2_000
}

fn default_fraction() -> f64 {
    0.99
}

/// A check on the network.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(tag = "is", rename_all = "snake_case", deny_unknown_fields)]
pub enum Check {
    /// `nodes` (all when empty) share one tip.
    SameTip {
        #[serde(default)]
        nodes: Vec<usize>,
    },
    /// `nodes` have different tips from `other`.
    TipDiffers { node: usize, other: usize },
    /// The named block is (or is not) on the active chain of every node in `nodes`.
    BlockActive {
        block: String,
        active: bool,
        #[serde(default)]
        nodes: Vec<usize>,
    },
    /// The named transaction is in the pool of every node (`in_pool`), or of none.
    InMempool {
        tx: String,
        in_pool: bool,
        #[serde(default)]
        nodes: Vec<usize>,
    },
    /// The named transaction is (or is not) confirmed on the active chain of `nodes`.
    Confirmed {
        tx: String,
        confirmed: bool,
        #[serde(default)]
        nodes: Vec<usize>,
    },
    /// Exactly one of the named transactions is confirmed, the same on every node.
    OneConfirmed { txs: Vec<String> },
    /// `node`'s pool holds at most `max_bytes` (whether it evicted to stay there is seen
    /// by `in_mempool` of the cheapest transaction).
    MempoolBounded { node: usize, max_bytes: u64 },
    /// 127.0.0.`ip` is banned by every node in `nodes` (all when empty).
    Banned {
        ip: u8,
        #[serde(default)]
        nodes: Vec<usize>,
    },
    /// The active height of `node` is exactly `height`.
    Height { node: usize, height: u64 },
}

/// The outcome of one scenario.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The scenario's name.
    pub name: String,
    /// Whether every step and check passed.
    pub passed: bool,
    /// What failed, if anything.
    pub error: Option<String>,
    /// Nodes run.
    pub nodes: usize,
    /// Wall time.
    pub seconds: f64,
    /// Each step run: its definition, whether it passed, its time, and what it measured.
    pub steps: Vec<StepReport>,
}

/// One step of a [`Report`].
#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    /// The step as written.
    pub step: Step,
    /// Passed.
    pub ok: bool,
    /// Milliseconds it took.
    pub ms: u64,
    /// Figures it measured (activity statistics, heights), if any.
    pub result: Value,
}

/// The largest scenario file read: the longest here is a few kilobytes.
const MAX_SCENARIO_FILE_BYTES: u64 = 1 << 20;

/// Reads and runs the scenario at `path`.
pub fn run_file(path: &Path, opts: &Options) -> Result<Report, String> {
    let text = dotcoin_common::files::read_text_bounded(path, MAX_SCENARIO_FILE_BYTES)
        .map_err(|e| format!("cannot read: {e}"))?;
    let sc: Scenario = toml::from_str(&text).map_err(|e| format!("invalid scenario: {e}"))?;
    Ok(run_scenario(&sc, opts))
}

/// Runs `sc`: starts its nodes, links them, runs the steps until one fails.
pub fn run_scenario(sc: &Scenario, opts: &Options) -> Report {
    let started = Instant::now();
    let count = opts.nodes.unwrap_or(sc.nodes).max(1);
    let mut report = Report {
        name: sc.name.clone(),
        passed: false,
        error: None,
        nodes: count,
        seconds: 0.0,
        steps: Vec::new(),
    };
    let result = Net::start(sc, count, opts).and_then(|mut net| {
        for step in &sc.steps {
            let t = Instant::now();
            let outcome = net.run_step(step);
            let ok = outcome.is_ok();
            report.steps.push(StepReport {
                step: step.clone(),
                ok,
                ms: t.elapsed().as_millis() as u64,
                result: outcome.as_ref().cloned().unwrap_or(Value::Null),
            });
            if let Err(e) = outcome {
                return Err(format!("step {}: {e}", report.steps.len()));
            }
        }
        Ok(())
    });
    report.passed = result.is_ok();
    report.error = result.err();
    report.seconds = started.elapsed().as_secs_f64();
    report
}

/// The activity generator as a scenario: `nodes` in a ring with a chord across, wallets
/// on every node, a fan-out of coins, then `tps` for `seconds`.
pub fn activity_scenario(
    nodes: usize,
    tps: f64,
    seconds: f64,
    within_ms: u64,
    min_fraction: f64,
) -> Scenario {
    let nodes = nodes.max(2);
    let mut links: Vec<[usize; 2]> = (1..nodes).map(|i| [i - 1, i]).collect();
    if nodes > 2 {
        links.push([nodes - 1, 0]);
    }
    for i in 0..nodes / 2 {
        if i + nodes / 2 != i + 1 && nodes > 3 {
            links.push([i, i + nodes / 2]);
        }
    }
    let wallets: Vec<String> = (0..4).map(|i| format!("w{i}")).collect();
    // Enough coins for the whole run: each transaction spends one and makes one.
    let total = (tps * seconds).ceil() as usize + 10;
    let per_wallet = total.div_ceil(wallets.len()).min(2000);
    let mut steps = vec![];
    for w in &wallets {
        steps.push(Step::Mine {
            node: 0,
            blocks: 2,
            to: w.clone(),
            name: None,
        });
    }
    steps.push(Step::Mine {
        node: 0,
        blocks: 101,
        to: default_wallet(),
        name: None,
    });
    for w in &wallets {
        steps.push(Step::FanOut {
            node: 0,
            from: w.clone(),
            outputs: per_wallet,
        });
    }
    steps.push(Step::Sync { nodes: vec![] });
    steps.push(Step::Activity {
        tps,
        seconds,
        wallets,
        within_ms,
        min_fraction,
    });
    Scenario {
        name: format!("activity: {tps} tx/s on {nodes} nodes for {seconds} s"),
        description: String::new(),
        nodes,
        topology: String::new(),
        links,
        args: vec![],
        node_args: BTreeMap::new(),
        steps,
    }
}

/// A running `dotcoind`, killed on drop.
#[derive(Debug)]
struct Node {
    child: Child,
    _dir: tempfile::TempDir,
    p2p: u16,
    client: RpcClient,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Debug, Deserialize)]
struct PortsFile {
    rpc: u16,
    p2p: Option<u16>,
}

/// A coin a wallet holds.
#[derive(Debug, Clone, Copy)]
struct Coin {
    outpoint: OutPoint,
    output: TxOut,
    /// Height of the coinbase that made it, for maturity.
    coinbase_height: Option<u64>,
}

#[derive(Debug)]
struct Wallet {
    key: secp256k1::Keypair,
    coins: Vec<Coin>,
}

/// The running network and what the steps named.
#[derive(Debug)]
struct Net {
    nodes: Vec<Node>,
    links: Vec<[usize; 2]>,
    rt: tokio::runtime::Runtime,
    wallets: HashMap<String, Wallet>,
    txs: HashMap<String, Transaction>,
    blocks: HashMap<String, BlockHash>,
    /// Every coin spent, so a later step can spend it again on purpose.
    spent: HashMap<OutPoint, Coin>,
    timeout: Duration,
    maturity: u64,
}

type StepResult = Result<Value, String>;

impl Net {
    fn start(sc: &Scenario, count: usize, opts: &Options) -> Result<Net, String> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        let mut nodes = Vec::with_capacity(count);
        for i in 0..count {
            let mut args: Vec<String> = sc.args.clone();
            args.extend(
                sc.node_args
                    .get(&i.to_string())
                    .cloned()
                    .unwrap_or_default(),
            );
            nodes.push(start_node(opts, &args)?);
        }
        let links = if sc.links.is_empty() {
            topology(&sc.topology, count)?
        } else {
            sc.links.clone()
        };
        if let Some(bad) = links
            .iter()
            .find(|[a, b]| *a >= count || *b >= count || a == b)
        {
            return Err(format!("link {bad:?} names a node that does not exist"));
        }
        let mut net = Net {
            nodes,
            links,
            rt,
            wallets: HashMap::new(),
            txs: HashMap::new(),
            blocks: HashMap::new(),
            spent: HashMap::new(),
            timeout: opts.timeout,
            maturity: u64::from(Network::Regtest.params().coinbase_maturity),
        };
        net.heal()?;
        Ok(net)
    }

    fn rpc(&self, node: usize, method: &str, params: Value) -> Result<Value, String> {
        let n = self
            .nodes
            .get(node)
            .ok_or_else(|| format!("no node {node}"))?;
        self.rt
            .block_on(n.client.call(method, params))
            .map_err(|e| format!("node {node} {method}: {e}"))
    }

    fn all_or(&self, nodes: &[usize]) -> Vec<usize> {
        if nodes.is_empty() {
            (0..self.nodes.len()).collect()
        } else {
            nodes.to_vec()
        }
    }

    fn wait(&self, what: &str, mut cond: impl FnMut() -> Result<bool, String>) -> StepResult {
        let deadline = Instant::now() + self.timeout;
        loop {
            if cond()? {
                return Ok(Value::Null);
            }
            if Instant::now() > deadline {
                return Err(format!("timed out waiting for {what}"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn tip(&self, node: usize) -> Result<String, String> {
        Ok(self
            .rpc(node, "getbestblockhash", json!([]))?
            .as_str()
            .unwrap_or_default()
            .to_owned())
    }

    fn height(&self, node: usize) -> Result<u64, String> {
        self.rpc(node, "getblockcount", json!([]))?
            .as_u64()
            .ok_or_else(|| "getblockcount: not a number".into())
    }

    fn same_tip(&self, nodes: &[usize]) -> Result<bool, String> {
        let nodes = self.all_or(nodes);
        let first = self.tip(nodes[0])?;
        for n in &nodes[1..] {
            if self.tip(*n)? != first {
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn wallet(&mut self, name: &str) -> &mut Wallet {
        self.wallets
            .entry(name.to_owned())
            .or_insert_with(|| Wallet {
                key: signing::generate_keypair(),
                coins: Vec::new(),
            })
    }

    fn address(&mut self, name: &str) -> String {
        let key = self.wallet(name).key;
        Address::new(Network::Regtest, signing::pubkey_of(&key)).to_string()
    }

    fn run_step(&mut self, step: &Step) -> StepResult {
        match step.clone() {
            Step::Mine {
                node,
                blocks,
                to,
                name,
            } => self.mine(node, blocks, &to, name),
            Step::Sync { nodes } => self.wait("the nodes to share a tip", || self.same_tip(&nodes)),
            Step::Send {
                node,
                from,
                to,
                amount_sat,
                name,
                spend,
                fee_sat,
            } => {
                let coin = match &spend {
                    Some(other) => {
                        let tx = self
                            .txs
                            .get(other)
                            .ok_or_else(|| format!("no transaction named {other}"))?;
                        let prev = tx.inputs[0].prevout;
                        self.find_spent_coin(&from, prev)?
                    }
                    None => self.take_coin(node, &from, amount_sat + fee_sat)?,
                };
                let tx = self.pay(&from, coin, &[(to.as_str(), amount_sat)], fee_sat)?;
                let txid = self.submit(node, &tx)?;
                if let Some(n) = name {
                    self.txs.insert(n, tx);
                }
                Ok(json!({ "txid": txid }))
            }
            Step::WaitMempool { tx, nodes } => {
                let txid = self.txid(&tx)?;
                let nodes = self.all_or(&nodes);
                self.wait(&format!("{tx} in every pool"), || {
                    for n in &nodes {
                        if !self.in_pool(*n, &txid)? {
                            return Ok(false);
                        }
                    }
                    Ok(true)
                })
            }
            Step::Partition { groups } => self.partition(&groups),
            Step::Heal => self.heal(),
            Step::FanOut {
                node,
                from,
                outputs,
            } => self.fan_out(node, &from, outputs),
            Step::Activity {
                tps,
                seconds,
                wallets,
                within_ms,
                min_fraction,
            } => self.activity(tps, seconds, &wallets, within_ms, min_fraction),
            Step::Flood {
                node,
                from,
                txs,
                outputs,
                prefix,
            } => self.flood(node, &from, txs, outputs, &prefix),
            Step::InvalidBlock { nodes, from_ip } => {
                let nodes = self.all_or(&nodes);
                for n in nodes {
                    self.send_invalid_block(n, from_ip)?;
                }
                Ok(Value::Null)
            }
            Step::Assert { check, wait } => {
                if wait {
                    let mut last = String::new();
                    let r = self.wait("the check", || match self.check(&check) {
                        Ok(()) => Ok(true),
                        Err(e) => {
                            last = e;
                            Ok(false)
                        }
                    });
                    r.map_err(|e| format!("{e}: {last}"))
                } else {
                    self.check(&check).map(|()| Value::Null)
                }
            }
        }
    }

    fn mine(&mut self, node: usize, blocks: u32, to: &str, name: Option<String>) -> StepResult {
        let addr = self.address(to);
        let hashes: Vec<String> =
            serde_json::from_value(self.rpc(node, "generatetoaddress", json!([blocks, addr]))?)
                .map_err(|e| e.to_string())?;
        let start = self.height(node)? + 1 - hashes.len() as u64;
        let key = signing::pubkey_of(&self.wallet(to).key);
        for (i, h) in hashes.iter().enumerate() {
            let block = self.block(node, h)?;
            let cb = &block.txdata[0];
            let txid = cb.txid();
            for (vout, out) in cb.outputs.iter().enumerate() {
                if out.pubkey == key {
                    self.wallet(to).coins.push(Coin {
                        outpoint: OutPoint {
                            txid,
                            vout: vout as u32,
                        },
                        output: *out,
                        coinbase_height: Some(start + i as u64),
                    });
                }
            }
        }
        if let (Some(n), Some(last)) = (name, hashes.last()) {
            self.blocks
                .insert(n, last.parse().map_err(|_| "bad block hash".to_owned())?);
        }
        Ok(json!({ "blocks": hashes.len(), "height": self.height(node)? }))
    }

    fn block(&self, node: usize, hash: &str) -> Result<Block, String> {
        let raw = self.rpc(node, "getblock", json!([hash, 0]))?;
        let bytes = hex::decode(raw.as_str().unwrap_or_default()).map_err(|e| e.to_string())?;
        deserialize(&bytes).map_err(|e| e.to_string())
    }

    /// A spendable coin of `from` worth at least `value`, taken out of its wallet.
    fn take_coin(&mut self, node: usize, from: &str, value: u64) -> Result<Coin, String> {
        let height = self.height(node)?;
        let maturity = self.maturity;
        let w = self.wallet(from);
        let at = w
            .coins
            .iter()
            .position(|c| {
                c.output.value.to_sat() >= value
                    && c.coinbase_height.is_none_or(|h| height >= h + maturity)
            })
            .ok_or_else(|| format!("wallet {from} has no spendable coin of {value} sat"))?;
        Ok(w.coins.swap_remove(at))
    }

    /// The coin `prev` that an earlier transaction of `from` spent (for a double spend).
    fn find_spent_coin(&mut self, from: &str, prev: OutPoint) -> Result<Coin, String> {
        let coin = self
            .spent
            .get(&prev)
            .copied()
            .ok_or_else(|| format!("{from} never spent {prev:?}"))?;
        if coin.output.pubkey != signing::pubkey_of(&self.wallet(from).key) {
            return Err(format!("the coin {prev:?} is not {from}'s"));
        }
        Ok(coin)
    }

    /// A signed transaction spending `coin` of `from` to `(wallet, amount)` pairs, the
    /// change back to `from`; its outputs go to the wallets at once.
    fn pay(
        &mut self,
        from: &str,
        coin: Coin,
        to: &[(&str, u64)],
        fee: u64,
    ) -> Result<Transaction, String> {
        let spent: u64 = to.iter().map(|(_, a)| a).sum::<u64>() + fee;
        let change = coin
            .output
            .value
            .to_sat()
            .checked_sub(spent)
            .ok_or("coin too small")?;
        let mut outputs: Vec<(String, TxOut)> = Vec::new();
        for (w, amount) in to {
            let pubkey = signing::pubkey_of(&self.wallet(w).key);
            outputs.push((
                (*w).to_owned(),
                TxOut {
                    value: Amount::from_sat(*amount),
                    pubkey,
                },
            ));
        }
        // Change below the dust threshold (546) would make the transaction non-standard:
        // it goes to the fee instead.
        if change >= 1_000 {
            outputs.push((
                from.to_owned(),
                TxOut {
                    value: Amount::from_sat(change),
                    pubkey: coin.output.pubkey,
                },
            ));
        }
        let mut tx = Transaction {
            version: 1,
            inputs: vec![TxIn {
                prevout: coin.outpoint,
                witness: vec![],
            }],
            outputs: outputs.iter().map(|(_, o)| *o).collect(),
            lock_time: 0,
        };
        self.spent.insert(coin.outpoint, coin);
        let key = self.wallet(from).key;
        signing::sign_transaction(&mut tx, &[coin.output], &[key]).map_err(|e| e.to_string())?;
        let txid = tx.txid();
        for (vout, (w, out)) in outputs.into_iter().enumerate() {
            self.wallet(&w).coins.push(Coin {
                outpoint: OutPoint {
                    txid,
                    vout: vout as u32,
                },
                output: out,
                coinbase_height: None,
            });
        }
        Ok(tx)
    }

    fn submit(&self, node: usize, tx: &Transaction) -> Result<String, String> {
        let r = self.rpc(
            node,
            "sendrawtransaction",
            json!([hex::encode(serialize(tx))]),
        )?;
        Ok(r.as_str().unwrap_or_default().to_owned())
    }

    fn txid(&self, name: &str) -> Result<Txid, String> {
        self.txs
            .get(name)
            .map(Transaction::txid)
            .ok_or_else(|| format!("no transaction named {name}"))
    }

    fn in_pool(&self, node: usize, txid: &Txid) -> Result<bool, String> {
        let pool = self.rpc(node, "getrawmempool", json!([]))?;
        Ok(pool
            .as_array()
            .is_some_and(|a| a.iter().any(|t| t.as_str() == Some(&txid.to_string()))))
    }

    fn pool(&self, node: usize) -> Result<HashSet<String>, String> {
        let pool = self.rpc(node, "getrawmempool", json!([]))?;
        Ok(pool
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|t| t.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Whether `txid` is confirmed on `node`'s active chain, seen through its first
    /// output in the UTXO set (scenarios do not spend the outputs they check).
    fn confirmed(&self, node: usize, txid: &Txid) -> Result<bool, String> {
        let out = self.rpc(node, "gettxout", json!([txid.to_string(), 0, false]))?;
        Ok(out
            .get("confirmations")
            .and_then(Value::as_u64)
            .is_some_and(|c| c > 0))
    }

    /// The `(adder, target)` links crossing between groups, cut at the adder.
    fn partition(&mut self, groups: &[Vec<usize>]) -> StepResult {
        let group_of = |n: usize| groups.iter().position(|g| g.contains(&n));
        let mut cut = 0;
        for [a, b] in self.links.clone() {
            if group_of(a) == group_of(b) {
                continue;
            }
            let target = format!("127.0.0.1:{}", self.nodes[a].p2p);
            let _ = self.rpc(b, "addnode", json!([target, "remove"]));
            let peers = self.rpc(b, "getpeerinfo", json!([]))?;
            for p in peers.as_array().into_iter().flatten() {
                if p["addr"].as_str() == Some(&target) {
                    let _ = self.rpc(b, "disconnectnode", json!(["", p["id"]]));
                }
            }
            self.wait("a cut link to close", || {
                let peers = self.rpc(b, "getpeerinfo", json!([]))?;
                Ok(!peers
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|p| p["addr"].as_str() == Some(&target)))
            })?;
            cut += 1;
        }
        Ok(json!({ "links_cut": cut }))
    }

    fn heal(&mut self) -> StepResult {
        for [a, b] in self.links.clone() {
            let target = format!("127.0.0.1:{}", self.nodes[a].p2p);
            // Already added: Core's error -23, harmless.
            let _ = self.rpc(b, "addnode", json!([target, "add"]));
        }
        for [a, b] in self.links.clone() {
            let target = format!("127.0.0.1:{}", self.nodes[a].p2p);
            self.wait(&format!("link {a}-{b} up"), || {
                let info = self.rpc(b, "getaddednodeinfo", json!([target]))?;
                Ok(info
                    .as_array()
                    .and_then(|a| a.first())
                    .is_some_and(|i| i["connected"].as_bool() == Some(true)))
            })?;
        }
        Ok(json!({ "links": self.links.len() }))
    }

    fn fan_out(&mut self, node: usize, from: &str, outputs: usize) -> StepResult {
        let outputs = outputs.clamp(1, 2000);
        let fee = 200 * outputs as u64;
        let coin = self.take_coin(node, from, fee + 10_000 * outputs as u64)?;
        let each = (coin.output.value.to_sat() - fee) / (outputs as u64 + 1);
        let to: Vec<(&str, u64)> = (0..outputs).map(|_| (from, each)).collect();
        let tx = self.pay(from, coin, &to, fee)?;
        self.submit(node, &tx)?;
        self.mine(node, 1, &default_wallet(), None)?;
        Ok(json!({ "outputs": outputs, "each_sat": each }))
    }

    fn flood(
        &mut self,
        node: usize,
        from: &str,
        txs: usize,
        outputs: usize,
        prefix: &str,
    ) -> StepResult {
        let mut sent = 0;
        for i in 0..txs {
            // Fee rates rise with i, so the first is the first to go.
            let size_guess = 100 + 40 * outputs as u64;
            let fee = size_guess * (2 + i as u64);
            let coin = self.take_coin(node, from, fee + 1_000 * outputs as u64)?;
            let each = (coin.output.value.to_sat() - fee) / outputs as u64;
            let to: Vec<(&str, u64)> = (0..outputs).map(|_| ("sink", each)).collect();
            let tx = self.pay(from, coin, &to, fee)?;
            self.submit(node, &tx)?;
            self.txs.insert(format!("{prefix}{i}"), tx);
            sent += 1;
        }
        Ok(json!({ "sent": sent }))
    }

    fn activity(
        &mut self,
        tps: f64,
        seconds: f64,
        wallets: &[String],
        within_ms: u64,
        min_fraction: f64,
    ) -> StepResult {
        if wallets.len() < 2 || tps <= 0.0 {
            return Err("activity needs two wallets and a positive rate".into());
        }
        let n = self.nodes.len();
        let interval = Duration::from_secs_f64(1.0 / tps);
        let total = (tps * seconds).round() as usize;
        let mut sent: Vec<(String, Instant)> = Vec::with_capacity(total);
        let mut seen: Vec<HashMap<String, Instant>> = vec![HashMap::new(); n];
        let poll = Duration::from_millis(100);
        let started = Instant::now();
        let mut next_send = started;
        let mut next_poll = started;
        let mut rejected = 0usize;
        let mut first_rejection: Option<String> = None;
        let within = Duration::from_millis(within_ms);
        loop {
            let now = Instant::now();
            let sending = sent.len() + rejected < total;
            if sending && now >= next_send {
                let i = sent.len() + rejected;
                let from = &wallets[i % wallets.len()];
                let to = &wallets[(i + 1) % wallets.len()];
                let node = i % n;
                let coin = self
                    .wallet(from)
                    .coins
                    .iter()
                    .position(|c| c.coinbase_height.is_none() && c.output.value.to_sat() > 2_000)
                    // Oldest first (FIFO): the newest coins are unconfirmed outputs of this
                    // run, and always spending them would build chains past the pool's
                    // ancestor limit.
                    .map(|at| self.wallet(from).coins.remove(at))
                    .ok_or_else(|| format!("wallet {from} ran out of coins"))?;
                let amount = coin.output.value.to_sat() - 1_000;
                let tx = self.pay(from, coin, &[(to.as_str(), amount)], 1_000)?;
                match self.submit(node, &tx) {
                    Ok(txid) => sent.push((txid, Instant::now())),
                    Err(e) => {
                        rejected += 1;
                        first_rejection.get_or_insert(e);
                    }
                }
                next_send += interval;
            }
            if now >= next_poll {
                for (node, seen) in seen.iter_mut().enumerate() {
                    let t = Instant::now();
                    for txid in self.pool(node)? {
                        seen.entry(txid).or_insert(t);
                    }
                }
                next_poll = Instant::now() + poll;
            }
            let last = sent.last().map_or(started, |(_, t)| *t);
            let done = !sending
                && (now > last + within + poll
                    || sent
                        .iter()
                        .all(|(txid, _)| seen.iter().all(|s| s.contains_key(txid))));
            if done {
                break;
            }
            let wake = if sending {
                next_send.min(next_poll)
            } else {
                next_poll
            };
            if let Some(d) = wake.checked_duration_since(Instant::now()) {
                std::thread::sleep(d);
            }
        }
        let elapsed = started.elapsed().as_secs_f64();
        let mut delays: Vec<f64> = Vec::new();
        let mut in_time = 0usize;
        for (txid, at) in &sent {
            for s in &seen {
                match s.get(txid) {
                    Some(t) => {
                        let d = t.saturating_duration_since(*at);
                        delays.push(d.as_secs_f64() * 1000.0);
                        if d <= within {
                            in_time += 1;
                        }
                    }
                    None => delays.push(f64::INFINITY),
                }
            }
        }
        delays.sort_by(f64::total_cmp);
        let pct = |p: f64| {
            delays
                .get(((delays.len() as f64 * p) as usize).min(delays.len().saturating_sub(1)))
                .copied()
                .filter(|d| d.is_finite())
        };
        let pairs = sent.len() * n;
        let fraction = if pairs == 0 {
            0.0
        } else {
            in_time as f64 / pairs as f64
        };
        let result = json!({
            "sent": sent.len(),
            "rejected": rejected,
            "achieved_tps": sent.len() as f64 / elapsed.max(1e-9),
            "nodes": n,
            "pairs": pairs,
            "in_time_fraction": fraction,
            "within_ms": within_ms,
            "delay_ms_p50": pct(0.5),
            "delay_ms_p90": pct(0.9),
            "delay_ms_p99": pct(0.99),
            "first_rejection": first_rejection,
            "note": "delays are measured by polling every 100 ms, so each is up to 100 ms late",
        });
        if rejected > 0 || fraction < min_fraction {
            return Err(format!(
                "only {:.4} of transactions reached every mempool within {within_ms} ms ({rejected} rejected): {result}",
                fraction
            ));
        }
        Ok(result)
    }

    fn send_invalid_block(&self, node: usize, ip: u8) -> Result<(), String> {
        let tip: BlockHash = self
            .tip(node)?
            .parse()
            .map_err(|_| "bad tip hash".to_owned())?;
        let height = self.height(node)?;
        let prev = self.block(node, &tip.to_string())?;
        let params = Network::Regtest.params();
        let h = height as u32 + 1;
        let coinbase = Transaction {
            version: 1,
            inputs: vec![TxIn {
                prevout: OutPoint::coinbase(h),
                witness: vec![ip],
            }],
            // More than the subsidy: a consensus failure found only with the block.
            outputs: vec![TxOut {
                value: Amount::from_sat(params.subsidy(h).to_sat() * 2),
                pubkey: PubKey([9; 32]),
            }],
            lock_time: 0,
        };
        let txdata = vec![coinbase];
        let mut header = BlockHeader {
            version: 1,
            prev_blockhash: tip,
            merkle_root: dotcoin_common::merkle::merkle_root_of_txs(&txdata).0,
            time: prev.header.time + 1,
            bits: params.pow_limit,
            nonce: 0,
        };
        dotcoin_common::pow::grind(&mut header, true);
        let block = Block { header, txdata };
        let mut s = raw_handshake(self.nodes[node].p2p, ip)?;
        s.write_all(&frame("block", &serialize(&block)))
            .map_err(|e| e.to_string())?;
        // The node closes the connection as it bans.
        let deadline = Instant::now() + self.timeout;
        let mut buf = [0u8; 4096];
        loop {
            match s.read(&mut buf) {
                Ok(0) => return Ok(()),
                Ok(_) => {}
                Err(e)
                    if e.kind() == std::io::ErrorKind::WouldBlock
                        || e.kind() == std::io::ErrorKind::TimedOut => {}
                Err(_) => return Ok(()),
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "node {node} kept the peer that sent an invalid block"
                ));
            }
        }
    }

    fn check(&self, check: &Check) -> Result<(), String> {
        let fail = |what: String| Err(what);
        match check {
            Check::SameTip { nodes } => {
                if !self.same_tip(nodes)? {
                    return fail(format!("nodes {nodes:?} have different tips"));
                }
            }
            Check::TipDiffers { node, other } => {
                if self.tip(*node)? == self.tip(*other)? {
                    return fail(format!("nodes {node} and {other} share a tip"));
                }
            }
            Check::BlockActive {
                block,
                active,
                nodes,
            } => {
                let hash = self
                    .blocks
                    .get(block)
                    .ok_or_else(|| format!("no block named {block}"))?;
                for n in self.all_or(nodes) {
                    // A node that never saw the block (a losing branch it had no reason
                    // to fetch) does not have it active either.
                    let is_active = self
                        .rpc(n, "getblockheader", json!([hash.to_string(), true]))
                        .ok()
                        .is_some_and(|h| h["confirmations"].as_i64().is_some_and(|c| c > 0));
                    if is_active != *active {
                        return fail(format!("block {block} active={is_active} on node {n}"));
                    }
                }
            }
            Check::InMempool { tx, in_pool, nodes } => {
                let txid = self.txid(tx)?;
                for n in self.all_or(nodes) {
                    if self.in_pool(n, &txid)? != *in_pool {
                        return fail(format!("{tx} in pool of node {n}: {}", !in_pool));
                    }
                }
            }
            Check::Confirmed {
                tx,
                confirmed,
                nodes,
            } => {
                let txid = self.txid(tx)?;
                for n in self.all_or(nodes) {
                    if self.confirmed(n, &txid)? != *confirmed {
                        return fail(format!("{tx} confirmed on node {n}: {}", !confirmed));
                    }
                }
            }
            Check::OneConfirmed { txs } => {
                let mut winner = None;
                for n in 0..self.nodes.len() {
                    let mut on_node = Vec::new();
                    for t in txs {
                        if self.confirmed(n, &self.txid(t)?)? {
                            on_node.push(t.clone());
                        }
                    }
                    if on_node.len() != 1 {
                        return fail(format!("node {n} confirmed {on_node:?} of {txs:?}"));
                    }
                    if winner.get_or_insert(on_node[0].clone()) != &on_node[0] {
                        return fail(format!("nodes disagree on which of {txs:?} confirmed"));
                    }
                }
            }
            Check::MempoolBounded { node, max_bytes } => {
                let info = self.rpc(*node, "getmempoolinfo", json!([]))?;
                let usage = info["bytes"].as_u64().unwrap_or(u64::MAX);
                if usage > *max_bytes {
                    return fail(format!(
                        "pool of node {node}: {usage} bytes, over {max_bytes}"
                    ));
                }
            }
            Check::Banned { ip, nodes } => {
                let want = format!("127.0.0.{ip}/32");
                for n in self.all_or(nodes) {
                    let bans = self.rpc(n, "listbanned", json!([]))?;
                    if !bans
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|b| b["address"].as_str() == Some(&want))
                    {
                        return fail(format!("node {n} has not banned {want}"));
                    }
                }
            }
            Check::Height { node, height } => {
                let h = self.height(*node)?;
                if h != *height {
                    return fail(format!("node {node} at height {h}, not {height}"));
                }
            }
        }
        Ok(())
    }
}

fn topology(name: &str, n: usize) -> Result<Vec<[usize; 2]>, String> {
    Ok(match name {
        "mesh" => (0..n).flat_map(|b| (0..b).map(move |a| [a, b])).collect(),
        "line" => (1..n).map(|i| [i - 1, i]).collect(),
        "ring" => {
            let mut l: Vec<[usize; 2]> = (1..n).map(|i| [i - 1, i]).collect();
            if n > 2 {
                l.push([n - 1, 0]);
            }
            l
        }
        "star" => (1..n).map(|i| [0, i]).collect(),
        other => return Err(format!("unknown topology {other:?}")),
    })
}

fn start_node(opts: &Options, args: &[String]) -> Result<Node, String> {
    let dir = tempfile::Builder::new()
        .prefix("dotcoin-scenario-")
        .tempdir()
        .map_err(|e| e.to_string())?;
    let stderr = std::fs::File::create(dir.path().join("stderr.log")).map_err(|e| e.to_string())?;
    let mut child = Command::new(&opts.dotcoind)
        .arg("--regtest")
        .arg("--datadir")
        .arg(dir.path())
        .args(["--rpcport", "0", "--port", "0", "--maxoutbound", "0"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", opts.dotcoind.display()))?;
    let ports_file = dir.path().join("regtest").join("dotcoind.ports");
    let deadline = Instant::now() + opts.timeout;
    let ports = loop {
        if let Some(p) = std::fs::read_to_string(&ports_file)
            .ok()
            .and_then(|s| serde_json::from_str::<PortsFile>(&s).ok())
        {
            break p;
        }
        if let Ok(Some(status)) = child.try_wait() {
            let log = std::fs::read_to_string(dir.path().join("stderr.log")).unwrap_or_default();
            return Err(format!("dotcoind exited ({status}): {log}"));
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            return Err("dotcoind did not write its ports file".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut co = ConnectOptions::new(Network::Regtest);
    co.datadir = Some(dir.path().to_path_buf());
    co.rpcport = Some(ports.rpc);
    co.rpcwait = true;
    co.rpcwait_timeout = opts.timeout;
    let client = RpcClient::new(&co).map_err(|e| e.to_string())?;
    Ok(Node {
        child,
        _dir: dir,
        p2p: ports.p2p.ok_or("the node does not listen for peers")?,
        client,
    })
}

/// A regtest P2P frame.
fn frame(command: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = Network::Regtest.params().magic.to_vec();
    let mut cmd = [0u8; 12];
    cmd[..command.len()].copy_from_slice(command.as_bytes());
    out.extend_from_slice(&cmd);
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&sha256d::Hash::hash(payload).as_byte_array()[..4]);
    out.extend_from_slice(payload);
    out
}

/// Connects to `port` from 127.0.0.`ip` and completes the handshake.
fn raw_handshake(port: u16, ip: u8) -> Result<TcpStream, String> {
    // Linux routes all of 127.0.0.0/8 to loopback: binding another address of it plays
    // another host, whose ban the checks can tell from everyone else's.
    let from = SocketAddr::from((Ipv4Addr::new(127, 0, 0, ip), 0));
    let to = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let socket = socket2::Socket::new(
        socket2::Domain::IPV4,
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )
    .map_err(|e| e.to_string())?;
    socket
        .bind(&from.into())
        .map_err(|e| format!("bind {from}: {e}"))?;
    socket
        .connect_timeout(&to.into(), Duration::from_secs(5))
        .map_err(|e| format!("connect {to}: {e}"))?;
    let mut s = TcpStream::from(socket);
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .map_err(|e| e.to_string())?;
    let params = Network::Regtest.params();
    let mut v = Vec::new();
    v.extend_from_slice(&1u32.to_le_bytes());
    v.extend_from_slice(&serialize(&params.genesis_hash()));
    v.extend_from_slice(&0u32.to_le_bytes());
    v.extend_from_slice(&0u64.to_le_bytes());
    v.extend_from_slice(&rand::random::<u64>().to_le_bytes());
    v.extend_from_slice(&0u16.to_le_bytes());
    let agent = b"/dotcoin-scenario/";
    write_compact_size(&mut v, agent.len() as u64);
    v.extend_from_slice(agent);
    s.write_all(&frame("version", &v))
        .map_err(|e| e.to_string())?;
    let deadline = Instant::now() + Duration::from_secs(10);
    let (mut version, mut verack) = (false, false);
    let mut buf = Vec::new();
    while !(version && verack) {
        if Instant::now() > deadline {
            return Err("handshake timed out".into());
        }
        let mut chunk = [0u8; 4096];
        match s.read(&mut chunk) {
            Ok(0) => return Err("node closed the connection in the handshake".into()),
            Ok(k) => buf.extend_from_slice(&chunk[..k]),
            Err(_) => continue,
        }
        while buf.len() >= 24 {
            let len = u32::from_le_bytes(buf[16..20].try_into().expect("4 bytes")) as usize;
            if buf.len() < 24 + len {
                break;
            }
            let cmd = String::from_utf8_lossy(&buf[4..16])
                .trim_end_matches('\0')
                .to_owned();
            version |= cmd == "version";
            verack |= cmd == "verack";
            buf.drain(..24 + len);
        }
    }
    s.write_all(&frame("verack", &[]))
        .map_err(|e| e.to_string())?;
    Ok(s)
}
