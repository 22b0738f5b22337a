//! The lab daemon: owns the node processes, the link proxies and the Poisson miners, and
//! answers the other commands on a local control port (one JSON request line, one JSON
//! answer line, carrying the token from `lab.json`).
//!
//! Poisson mining: each node with hash share s waits an exponential time of mean T/s
//! (T the network's block interval), then asks its node for one block with
//! `generatetoaddress 1`. At regtest difficulty the proof of work takes a hash or two, so
//! the block is built on the node's own tip at that moment — the moment the "find"
//! happens — and two blocks found while one is still crossing the links race as on
//! Bitcoin. The network as a whole finds blocks as a Poisson process of rate 1/T.
//!
//! A node with `strategy = "selfish"` gets the strategy task of [`crate::selfish`]
//! instead of a plain miner, and no proxied link: the honest miners report each block
//! they find to it over a channel.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dotcoin_common::{Address, Network, PubKey};
use dotcoin_rpc_client::{ConnectOptions, RpcClient};
use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch, Notify};

use crate::proxy::LinkProxy;
use crate::selfish::{self, HonestBlock};
use crate::topology::{self, LinkParams, Strategy, Topology};

/// The daemon's state file in the lab directory.
pub const STATE_FILE: &str = "lab.json";
/// How long `up` waits for the lab.
pub const START_TIMEOUT: Duration = Duration::from_secs(120);
/// Most bytes of one control request.
const MAX_REQUEST: usize = 64 * 1024;
/// Most mined blocks remembered in memory (all go to `mined.jsonl`).
const MAX_MINED: usize = 100_000;

/// `lab.json`: how to reach the daemon and its nodes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LabState {
    /// The daemon's pid.
    pub pid: u32,
    /// Its control address.
    pub control: SocketAddr,
    /// The token every request carries.
    pub token: String,
    /// Whether every node and link is up.
    pub ready: bool,
}

/// A running node as the report needs it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NodeInfo {
    /// Its name.
    pub name: String,
    /// Its hash share.
    pub hashshare: f64,
    /// Its base datadir.
    pub datadir: PathBuf,
    /// Its RPC port.
    pub rpc_port: u16,
    /// Its P2P port.
    pub p2p_port: u16,
}

/// A mined block.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Mined {
    /// Its hash.
    pub hash: String,
    /// Index of the node that found it.
    pub node: usize,
    /// When `generatetoaddress` returned (Unix ms).
    pub ms: u64,
}

#[cfg(test)]
impl Mined {
    /// Records of blocks found, as (hash, finder) pairs, at time 0: the report's tests.
    pub(crate) fn list(found: &[(&str, usize)]) -> Vec<Mined> {
        found
            .iter()
            .map(|(h, n)| Mined {
                hash: (*h).into(),
                node: *n,
                ms: 0,
            })
            .collect()
    }
}

/// A link change, for the report (what each link was set to when).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LinkChange {
    /// When (Unix ms).
    pub ms: u64,
    /// The link's index.
    pub link: usize,
    /// Its settings from then on.
    pub params: LinkParams,
    /// Whether it is cut from then on.
    pub cut: bool,
}

/// Appends `record` and a line end to a JSON-lines file in one write: the miners and the
/// selfish strategy append to the same files through their own handles, and a line written
/// in pieces could interleave with another's or be read half-written.
pub(crate) fn append_line(f: &mut std::fs::File, record: &impl std::fmt::Display) {
    let mut line = record.to_string();
    line.push('\n');
    let _ = f.write_all(line.as_bytes());
}

pub(crate) fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The state file, if there is one.
pub fn read_state(dir: &Path) -> Option<LabState> {
    let text = std::fs::read_to_string(dir.join(STATE_FILE)).ok()?;
    serde_json::from_str(&text).ok()
}

/// Whether process `pid` exists.
pub fn pid_alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
            s.rsplit(')')
                .next()
                .is_some_and(|r| r.trim_start().starts_with('Z'))
        })
}

/// Whether a daemon runs for `dir`.
pub fn running(dir: &Path) -> bool {
    read_state(dir).is_some_and(|s| pid_alive(s.pid))
}

/// Sends one request to the daemon of `dir` and returns its answer.
pub async fn request(dir: &Path, mut req: Value) -> Result<Value, String> {
    let state =
        read_state(dir).ok_or_else(|| format!("no lab runs in {} ('up' first)", dir.display()))?;
    req["token"] = json!(state.token);
    let exchange = async {
        let mut s = TcpStream::connect(state.control)
            .await
            .map_err(|e| format!("the lab daemon does not answer at {}: {e}", state.control))?;
        s.write_all(format!("{req}\n").as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let mut line = String::new();
        BufReader::new(s)
            .read_line(&mut line)
            .await
            .map_err(|e| e.to_string())?;
        serde_json::from_str::<Value>(&line).map_err(|e| format!("bad answer from the daemon: {e}"))
    };
    // Pausing and resuming stop and start every node: minutes on a big lab.
    let answer = tokio::time::timeout(Duration::from_secs(600), exchange)
        .await
        .map_err(|_| "the lab daemon did not answer in 600 s".to_owned())??;
    match answer.get("error").and_then(Value::as_str) {
        Some(e) => Err(e.to_owned()),
        None => Ok(answer["result"].clone()),
    }
}

/// The regtest address node `i`'s miner pays: from a key fixed by its index, so an
/// exported lab pays the same addresses after import.
fn mining_address(i: usize) -> Result<String, String> {
    let secp = secp256k1::Secp256k1::signing_only();
    let mut secret = [0x11u8; 32];
    secret[..8].copy_from_slice(&(i as u64 + 1).to_be_bytes());
    let kp = secp256k1::Keypair::from_seckey_slice(&secp, &secret).map_err(|e| e.to_string())?;
    let (xonly, _) = kp.x_only_public_key();
    Ok(Address::new(Network::Regtest, PubKey(xonly.serialize())).to_string())
}

struct RunningNode {
    info: NodeInfo,
    child: Child,
    rpc: RpcClient,
    address: String,
}

pub(crate) struct Lab {
    pub(crate) dir: PathBuf,
    bin: PathBuf,
    pub(crate) topo: Topology,
    nodes: Mutex<Vec<RunningNode>>,
    proxies: Vec<LinkProxy>,
    pub(crate) mining: watch::Sender<bool>,
    mined: Mutex<Vec<Mined>>,
    changes: Mutex<Vec<LinkChange>>,
    stop: Notify,
    /// Where the honest miners report their blocks when a selfish node watches them.
    honest_blocks: Option<mpsc::Sender<HonestBlock>>,
    /// Whether the selfish strategy holds state (mining on, perhaps private blocks).
    pub(crate) selfish_active: AtomicBool,
    /// Publishing batches queued and not yet handed to their honest node.
    pub(crate) selfish_pending: AtomicUsize,
}

fn node_dir(dir: &Path, name: &str) -> PathBuf {
    dir.join("nodes").join(name)
}

fn client(datadir: &Path, port: u16) -> Result<RpcClient, String> {
    let mut o = ConnectOptions::new(Network::Regtest);
    o.datadir = Some(datadir.to_path_buf());
    o.rpcport = Some(port);
    o.rpcwait = true;
    o.rpcwait_timeout = Duration::from_secs(30);
    o.timeout = Duration::from_secs(60);
    RpcClient::new(&o).map_err(|e| e.to_string())
}

/// Starts node `i` and waits until it answers.
async fn start_node(
    dir: &Path,
    bin: &Path,
    topo: &Topology,
    i: usize,
) -> Result<RunningNode, String> {
    let node = &topo.nodes[i];
    let datadir = node_dir(dir, &node.name);
    let netdir = datadir.join("regtest");
    std::fs::create_dir_all(&netdir).map_err(|e| format!("{}: {e}", netdir.display()))?;
    let ports_file = netdir.join("dotcoind.ports");
    let _ = std::fs::remove_file(&ports_file);
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(datadir.join("stderr.log"))
        .map_err(|e| e.to_string())?;
    let mut cmd = std::process::Command::new(bin.join("dotcoind"));
    cmd.arg("--regtest")
        .arg("--datadir")
        .arg(&datadir)
        .args(["--port", "0", "--rpcport", "0", "--bind", "127.0.0.1"])
        // Links are only those the lab makes, through its proxies.
        .args(["--maxoutbound", "0"])
        .args(&node.flags)
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log);
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", bin.join("dotcoind").display()))?;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let ports: Value = loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!(
                "node {} exited ({status}); see {}",
                node.name,
                datadir.join("stderr.log").display()
            ));
        }
        if let Some(v) = std::fs::read_to_string(&ports_file)
            .ok()
            .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        {
            break v;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            return Err(format!("node {} wrote no ports file in 60 s", node.name));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let port = |k: &str| ports[k].as_u64().and_then(|p| u16::try_from(p).ok());
    let (Some(rpc_port), Some(p2p_port)) = (port("rpc"), port("p2p")) else {
        let _ = child.kill();
        return Err(format!(
            "node {}: ports file without rpc/p2p: {ports}",
            node.name
        ));
    };
    let rpc = client(&datadir, rpc_port)?;
    rpc.call("getblockcount", json!([]))
        .await
        .map_err(|e| format!("node {} does not answer: {e}", node.name))?;
    Ok(RunningNode {
        info: NodeInfo {
            name: node.name.clone(),
            hashshare: node.hashshare,
            datadir,
            rpc_port,
            p2p_port,
        },
        child,
        rpc,
        address: mining_address(i)?,
    })
}

/// Stops every node: `stop` over RPC, then a kill after 60 s.
async fn stop_nodes(nodes: &mut Vec<RunningNode>) {
    for n in nodes.iter() {
        let _ = tokio::time::timeout(Duration::from_secs(10), n.rpc.call("stop", json!([]))).await;
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    for n in nodes.iter_mut() {
        loop {
            if matches!(n.child.try_wait(), Ok(Some(_)) | Err(_)) {
                break;
            }
            if std::time::Instant::now() > deadline {
                let _ = n.child.kill();
                let _ = n.child.wait();
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    nodes.clear();
}

/// The file a node's mempool is saved to while it is stopped (dotcoind keeps its pool
/// in memory only).
fn mempool_file(datadir: &Path) -> PathBuf {
    datadir.join("lab-mempool.json")
}

async fn save_mempool(n: &RunningNode) -> Result<(), String> {
    let txids = n
        .rpc
        .call("getrawmempool", json!([]))
        .await
        .map_err(|e| format!("{}: getrawmempool: {e}", n.info.name))?;
    let mut raws = Vec::new();
    for txid in txids.as_array().into_iter().flatten() {
        if let Ok(hex) = n.rpc.call("getrawtransaction", json!([txid])).await {
            raws.push(hex);
        }
    }
    std::fs::write(
        mempool_file(&n.info.datadir),
        Value::Array(raws).to_string(),
    )
    .map_err(|e| e.to_string())
}

/// Sends the saved transactions back, parents before children (rounds until none more
/// goes in), and removes the file.
async fn restore_mempool(n: &RunningNode) {
    let file = mempool_file(&n.info.datadir);
    let Ok(text) = std::fs::read_to_string(&file) else {
        return;
    };
    let mut left: Vec<Value> = serde_json::from_str::<Vec<Value>>(&text).unwrap_or_default();
    while !left.is_empty() {
        let before = left.len();
        let mut next = Vec::new();
        for raw in left {
            if n.rpc
                .call("sendrawtransaction", json!([raw.clone()]))
                .await
                .is_err()
            {
                next.push(raw);
            }
        }
        left = next;
        if left.len() == before {
            break;
        }
    }
    let _ = std::fs::remove_file(file);
}

impl Lab {
    async fn start_all(&self) -> Result<(), String> {
        let mut started = Vec::new();
        let tasks: Vec<_> = (0..self.topo.nodes.len())
            .map(|i| {
                let (dir, bin, topo) = (self.dir.clone(), self.bin.clone(), self.topo.clone());
                tokio::spawn(async move { start_node(&dir, &bin, &topo, i).await })
            })
            .collect();
        let mut error = None;
        for t in tasks {
            match t.await.map_err(|e| e.to_string()).and_then(|r| r) {
                Ok(n) => started.push(n),
                Err(e) => error = error.or(Some(e)),
            }
        }
        if let Some(e) = error {
            stop_nodes(&mut started).await;
            return Err(e);
        }
        for n in &started {
            restore_mempool(n).await;
        }
        *self.nodes.lock().unwrap_or_else(|p| p.into_inner()) = started;
        Ok(())
    }

    pub(crate) fn node(&self, i: usize) -> Option<(RpcClient, String, NodeInfo)> {
        let nodes = self.nodes.lock().unwrap_or_else(|p| p.into_inner());
        nodes
            .get(i)
            .map(|n| (n.rpc.clone(), n.address.clone(), n.info.clone()))
    }

    /// Notes a block found: in memory and in `mined.jsonl`.
    pub(crate) fn record_mined(&self, m: Mined) {
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("mined.jsonl"))
        {
            append_line(&mut f, &json!(m));
        }
        let mut mined = self.mined.lock().unwrap_or_else(|p| p.into_inner());
        if mined.len() < MAX_MINED {
            mined.push(m);
        }
    }

    /// Mining just went off: waits (at most 30 s) until the selfish strategy has
    /// published what it held and every publishing batch has reached its node.
    async fn selfish_settled(&self) {
        if self.honest_blocks.is_none() {
            return;
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while (self.selfish_active.load(Ordering::SeqCst)
            || self.selfish_pending.load(Ordering::SeqCst) > 0)
            && std::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn p2p(&self, i: usize) -> Option<SocketAddr> {
        self.node(i)
            .map(|(_, _, info)| SocketAddr::from(([127, 0, 0, 1], info.p2p_port)))
    }

    /// Node `a` of each link keeps an added-node link to the link's proxy.
    async fn link_all(&self) -> Result<(), String> {
        for (l, link) in self.topo.links.iter().enumerate() {
            let Some((rpc, _, _)) = self.node(link.a) else {
                continue;
            };
            let target = self.proxies[l].listen.to_string();
            // Already added when resuming after `pause`: the node restarted, so not.
            rpc.call("addnode", json!([target, "add"]))
                .await
                .map_err(|e| format!("addnode on {}: {e}", self.topo.nodes[link.a].name))?;
        }
        let deadline = std::time::Instant::now() + START_TIMEOUT;
        loop {
            let mut missing = 0;
            for (l, link) in self.topo.links.iter().enumerate() {
                if self.proxies[l].state().cut {
                    continue;
                }
                let Some((rpc, _, _)) = self.node(link.a) else {
                    continue;
                };
                let peers = rpc.call("getpeerinfo", json!([])).await.unwrap_or_default();
                let target = self.proxies[l].listen.to_string();
                let up = peers.as_array().into_iter().flatten().any(|p| {
                    p["addr"].as_str() == Some(target.as_str()) && p["inbound"] == json!(false)
                });
                if !up {
                    missing += 1;
                }
            }
            if missing == 0 {
                return Ok(());
            }
            if std::time::Instant::now() > deadline {
                return Err(format!("{missing} links did not come up"));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn link_index(&self, a: &str, b: &str) -> Result<usize, String> {
        let idx = |n: &str| {
            self.topo
                .nodes
                .iter()
                .position(|x| x.name == n)
                .ok_or_else(|| format!("no node {n:?}"))
        };
        let (a, b) = (idx(a)?, idx(b)?);
        self.topo
            .links
            .iter()
            .position(|l| (l.a, l.b) == (a, b) || (l.a, l.b) == (b, a))
            .ok_or_else(|| {
                format!(
                    "no link between {} and {}",
                    self.topo.nodes[a].name, self.topo.nodes[b].name
                )
            })
    }

    fn note_change(&self, l: usize) {
        let s = self.proxies[l].state();
        let mut changes = self.changes.lock().unwrap_or_else(|p| p.into_inner());
        changes.push(LinkChange {
            ms: unix_ms(),
            link: l,
            params: s.params,
            cut: s.cut,
        });
        let _ = std::fs::write(
            self.dir.join("links.json"),
            serde_json::to_string(&*changes).unwrap_or_default(),
        );
    }

    async fn status(&self) -> Value {
        let mut nodes = Vec::new();
        for i in 0..self.topo.nodes.len() {
            let Some((rpc, address, info)) = self.node(i) else {
                nodes.push(json!({"name": self.topo.nodes[i].name, "running": false}));
                continue;
            };
            let q = |m: &'static str| {
                let rpc = rpc.clone();
                async move { rpc.call(m, json!([])).await.unwrap_or(Value::Null) }
            };
            nodes.push(json!({
                "name": info.name,
                "running": true,
                "strategy": self.topo.nodes[i].strategy,
                "hashshare": info.hashshare,
                "datadir": info.datadir,
                "rpc_port": info.rpc_port,
                "p2p_port": info.p2p_port,
                "mining_address": address,
                "height": q("getblockcount").await,
                "tip": q("getbestblockhash").await,
                "peers": q("getconnectioncount").await,
                "mempool": q("getrawmempool").await.as_array().map(Vec::len),
            }));
        }
        let links: Vec<Value> = self
            .topo
            .links
            .iter()
            .enumerate()
            .map(|(l, link)| {
                let s = self.proxies[l].state();
                json!({
                    "a": self.topo.nodes[link.a].name,
                    "b": self.topo.nodes[link.b].name,
                    "proxy": self.proxies[l].listen,
                    "upstream": self.proxies[l].upstream_locals(),
                    "latency_ms": s.params.latency.as_secs_f64() * 1e3,
                    "jitter_ms": s.params.jitter.as_secs_f64() * 1e3,
                    "bandwidth_bytes_per_s": s.params.bandwidth,
                    "loss": s.params.loss,
                    "cut": s.cut,
                })
            })
            .collect();
        json!({
            "dir": self.dir,
            "nodes": nodes,
            "links": links,
            "block_interval_s": self.topo.block_interval.map(|d| d.as_secs_f64()),
            "mining": *self.mining.borrow(),
            "kernel": crate::netem::detect(),
            "link_path": "proxy",
        })
    }

    async fn handle(self: &Arc<Self>, req: &Value) -> Result<Value, String> {
        let name = |k: &str| req[k].as_str().unwrap_or_default().to_owned();
        match req["cmd"].as_str().unwrap_or_default() {
            "status" => Ok(self.status().await),
            "link" => {
                let l = self.link_index(&name("a"), &name("b"))?;
                let current = self.proxies[l].state().params;
                let spec = topology::LinkSpec {
                    latency: req["latency"].as_str().map(str::to_owned),
                    jitter: req["jitter"].as_str().map(str::to_owned),
                    bandwidth: req["bandwidth"]
                        .as_str()
                        .filter(|b| *b != "0")
                        .map(str::to_owned),
                    loss: req["loss"].as_f64(),
                    ..Default::default()
                };
                let mut params = spec.resolve(&current).map_err(|e| e.to_string())?;
                if req["bandwidth"].as_str() == Some("0") {
                    params.bandwidth = 0;
                }
                self.proxies[l].set_params(params);
                self.note_change(l);
                Ok(json!({"link": l, "latency_ms": params.latency.as_secs_f64() * 1e3}))
            }
            "cut" => {
                let l = self.link_index(&name("a"), &name("b"))?;
                self.proxies[l].set_cut(true);
                self.note_change(l);
                Ok(json!({"link": l, "cut": true}))
            }
            "restore" => {
                let l = self.link_index(&name("a"), &name("b"))?;
                self.proxies[l].set_cut(false);
                self.note_change(l);
                // The node backs off after failed attempts; one `onetry` brings the link
                // back now (the added-node entry stays and keeps it later).
                if let Some((rpc, _, _)) = self.node(self.topo.links[l].a) {
                    let _ = rpc
                        .call(
                            "addnode",
                            json!([self.proxies[l].listen.to_string(), "onetry"]),
                        )
                        .await;
                }
                Ok(json!({"link": l, "cut": false}))
            }
            "mine" => {
                let on = req["on"].as_bool().unwrap_or(false);
                self.mining.send_replace(on);
                Ok(json!({"mining": on}))
            }
            "mined" => Ok(json!(*self.mined.lock().unwrap_or_else(|p| p.into_inner()))),
            "changes" => Ok(json!(*self
                .changes
                .lock()
                .unwrap_or_else(|p| p.into_inner()))),
            "topology" => Ok(json!({
                "topology": self.topo,
                "nodes": self.nodes.lock().unwrap_or_else(|p| p.into_inner()).iter().map(|n| n.info.clone()).collect::<Vec<_>>(),
                "proxies": self.proxies.iter().map(|p| json!({"listen": p.listen, "upstream": p.upstream_locals()})).collect::<Vec<_>>(),
            })),
            "pause" => {
                // Mining off first, so no block is found between the saves and the stop.
                let was = self.mining.send_replace(false);
                std::fs::write(
                    self.dir.join("mining.paused"),
                    if was { "on" } else { "off" },
                )
                .map_err(|e| e.to_string())?;
                self.selfish_settled().await;
                let mut nodes =
                    std::mem::take(&mut *self.nodes.lock().unwrap_or_else(|p| p.into_inner()));
                for n in &nodes {
                    save_mempool(n).await?;
                }
                stop_nodes(&mut nodes).await;
                Ok(json!({"paused": true}))
            }
            "resume" => {
                if self.node(0).is_some() {
                    return Err("the lab is not paused".into());
                }
                self.start_all().await?;
                for (l, link) in self.topo.links.iter().enumerate() {
                    if let Some(p2p) = self.p2p(link.b) {
                        self.proxies[l].set_target(p2p);
                    }
                }
                self.link_all().await?;
                let was =
                    std::fs::read_to_string(self.dir.join("mining.paused")).unwrap_or_default();
                let _ = std::fs::remove_file(self.dir.join("mining.paused"));
                self.mining.send_replace(was == "on");
                Ok(json!({"resumed": true}))
            }
            "down" => {
                self.mining.send_replace(false);
                self.selfish_settled().await;
                let mut nodes =
                    std::mem::take(&mut *self.nodes.lock().unwrap_or_else(|p| p.into_inner()));
                for n in &nodes {
                    let _ = save_mempool(n).await;
                }
                stop_nodes(&mut nodes).await;
                self.stop.notify_one();
                Ok(json!({"down": true}))
            }
            other => Err(format!("unknown command {other:?}")),
        }
    }
}

/// One Poisson miner: node `i` at share `share` of a network interval `interval`.
async fn miner(lab: Arc<Lab>, i: usize, share: f64, interval: Duration) {
    let mut mining = lab.mining.subscribe();
    let mean = interval.as_secs_f64() / share;
    let mut log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(lab.dir.join("mined.jsonl"))
        .ok();
    loop {
        while !*mining.borrow_and_update() {
            if mining.changed().await.is_err() {
                return;
            }
        }
        // Exponential wait: -ln(U)·mean, U uniform on (0, 1].
        let u: f64 = 1.0 - rand::thread_rng().gen::<f64>();
        let wait = Duration::from_secs_f64((-u.ln() * mean).min(3600.0));
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = mining.changed() => continue,
        }
        if !*mining.borrow() {
            continue;
        }
        let Some((rpc, address, _)) = lab.node(i) else {
            continue;
        };
        if let Ok(v) = rpc.call("generatetoaddress", json!([1, address])).await {
            if let Some(hash) = v.get(0).and_then(Value::as_str) {
                let m = Mined {
                    hash: hash.to_owned(),
                    node: i,
                    ms: unix_ms(),
                };
                if let Some(tx) = &lab.honest_blocks {
                    // The selfish miner watches the network: it hears of the block now.
                    if let Ok(h) = rpc.call("getblockheader", json!([hash, true])).await {
                        if let (Some(height), Some(prev)) =
                            (h["height"].as_u64(), h["previousblockhash"].as_str())
                        {
                            let _ = tx
                                .send(HonestBlock {
                                    hash: hash.to_owned(),
                                    node: i,
                                    height,
                                    prev: prev.to_owned(),
                                })
                                .await;
                        }
                    }
                }
                if let Some(f) = log.as_mut() {
                    append_line(f, &json!(m));
                }
                let mut mined = lab.mined.lock().unwrap_or_else(|p| p.into_inner());
                if mined.len() < MAX_MINED {
                    mined.push(m);
                }
            }
        }
    }
}

async fn serve(lab: Arc<Lab>, listener: TcpListener, token: String) {
    loop {
        let Ok((s, _)) = listener.accept().await else {
            continue;
        };
        let lab = Arc::clone(&lab);
        let token = token.clone();
        tokio::spawn(async move {
            let (r, mut w) = s.into_split();
            let mut line = String::new();
            let mut reader = BufReader::new(r.take(MAX_REQUEST as u64));
            let read =
                tokio::time::timeout(Duration::from_secs(10), reader.read_line(&mut line)).await;
            let answer = match read {
                Ok(Ok(_)) => match serde_json::from_str::<Value>(&line) {
                    Ok(req) if req["token"].as_str() == Some(token.as_str()) => {
                        match lab.handle(&req).await {
                            Ok(v) => json!({"result": v}),
                            Err(e) => json!({"error": e}),
                        }
                    }
                    Ok(_) => json!({"error": "wrong token"}),
                    Err(e) => json!({"error": format!("not a JSON request: {e}")}),
                },
                _ => json!({"error": "no request line within 10 s"}),
            };
            let _ = w.write_all(format!("{answer}\n").as_bytes()).await;
        });
    }
}

fn write_state(dir: &Path, state: &LabState) -> Result<(), String> {
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = dir.join("lab.json.tmp");
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| e.to_string())?;
    f.write_all(serde_json::to_string(state).unwrap_or_default().as_bytes())
        .map_err(|e| e.to_string())?;
    std::fs::rename(&tmp, dir.join(STATE_FILE)).map_err(|e| e.to_string())
}

/// The daemon: starts the lab of `dir`, serves until `down`.
pub async fn run(dir: &Path, bin: &Path, mining: bool) -> Result<(), String> {
    let text = std::fs::read_to_string(dir.join("topology.toml")).map_err(|e| e.to_string())?;
    let topo = topology::parse(&text).map_err(|e| e.to_string())?;
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let token: String = (0..32)
        .map(|_| format!("{:x}", rand::thread_rng().gen_range(0..16u8)))
        .collect();
    let mut state = LabState {
        pid: std::process::id(),
        control: listener.local_addr().map_err(|e| e.to_string())?,
        token: token.clone(),
        ready: false,
    };
    write_state(dir, &state)?;
    let (mining_tx, _) = watch::channel(false);
    let mined: Vec<Mined> = std::fs::read_to_string(dir.join("mined.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .take(MAX_MINED)
        .collect();
    let changes: Vec<LinkChange> = std::fs::read_to_string(dir.join("links.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    let selfish_node = topo
        .nodes
        .iter()
        .position(|n| n.strategy == Strategy::Selfish);
    let (honest_tx, honest_rx) = match selfish_node {
        Some(_) => {
            let (tx, rx) = mpsc::channel(selfish::QUEUE);
            (Some(tx), Some(rx))
        }
        None => (None, None),
    };
    let mut lab = Lab {
        dir: dir.to_path_buf(),
        bin: bin.to_path_buf(),
        topo: topo.clone(),
        nodes: Mutex::new(Vec::new()),
        proxies: Vec::new(),
        mining: mining_tx,
        mined: Mutex::new(mined),
        changes: Mutex::new(changes),
        stop: Notify::new(),
        honest_blocks: honest_tx,
        selfish_active: AtomicBool::new(false),
        selfish_pending: AtomicUsize::new(0),
    };
    lab.start_all().await?;
    // Proxies point at the far node's P2P port, known once it runs.
    let mut proxies = Vec::new();
    for link in &topo.links {
        let target = lab
            .p2p(link.b)
            .ok_or_else(|| "a node is missing".to_owned())?;
        proxies.push(
            LinkProxy::start(target, link.params)
                .await
                .map_err(|e| e.to_string())?,
        );
    }
    lab.proxies = proxies;
    let lab = Arc::new(lab);
    for l in 0..topo.links.len() {
        lab.note_change(l);
    }
    if let Err(e) = lab.link_all().await {
        let mut nodes = std::mem::take(&mut *lab.nodes.lock().unwrap_or_else(|p| p.into_inner()));
        stop_nodes(&mut nodes).await;
        return Err(e);
    }
    tokio::spawn(serve(Arc::clone(&lab), listener, token));
    if let Some(interval) = topo.block_interval {
        let mut honest_rx = honest_rx;
        for (i, n) in topo.nodes.iter().enumerate() {
            if n.hashshare <= 0.0 {
                continue;
            }
            match (n.strategy, honest_rx.take()) {
                (Strategy::Selfish, Some(rx)) => {
                    tokio::spawn(selfish::run(Arc::clone(&lab), i, n.hashshare, interval, rx));
                }
                (_, rx) => {
                    honest_rx = rx;
                    tokio::spawn(miner(Arc::clone(&lab), i, n.hashshare, interval));
                }
            }
        }
        lab.mining.send_replace(mining);
    }
    state.ready = true;
    write_state(dir, &state)?;
    lab.stop.notified().await;
    let _ = std::fs::remove_file(dir.join(STATE_FILE));
    Ok(())
}

/// Node `i`'s records and the lab's bookkeeping, as the report reads them.
pub async fn records(rpc: &RpcClient) -> Result<Vec<Value>, String> {
    let v = rpc
        .call("listblockpropagation", json!([]))
        .await
        .map_err(|e| e.to_string())?;
    Ok(v.as_array().cloned().unwrap_or_default())
}

/// An RPC client for a node of a running lab.
pub fn node_client(info: &NodeInfo) -> Result<RpcClient, String> {
    client(&info.datadir, info.rpc_port)
}
