//! Topology files: the nodes of a lab (name, hash share, extra `dotcoind` flags), the
//! links between them (latency, jitter, bandwidth, loss) and the generators that write
//! the links for you (ring + k random links, small world, star, full mesh, "as measured"
//! from a degree distribution). docs/lab.md describes every key;
//! `contrib/lab/topologies/` holds examples.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// Most nodes one lab may have (each is a `dotcoind` process on this machine).
pub const MAX_NODES: usize = 200;
/// Most links one lab may have.
pub const MAX_LINKS: usize = 5_000;
/// Longest latency, jitter or block interval accepted.
pub const MAX_DURATION: Duration = Duration::from_secs(3600);

/// A topology file as written.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TopologyFile {
    /// Lab-wide settings.
    #[serde(default)]
    pub lab: LabSection,
    /// Link settings for links that do not give their own.
    #[serde(default)]
    pub defaults: LinkSpec,
    /// A generator for nodes and links.
    pub generate: Option<Generate>,
    /// Nodes (named here, or overriding a generated node of the same name).
    #[serde(default)]
    pub node: Vec<NodeSpec>,
    /// Links besides the generated ones.
    #[serde(default)]
    pub link: Vec<LinkSpec>,
}

/// `[lab]`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LabSection {
    /// Mean time between blocks of the whole network ("3s", "10min"); no Poisson mining
    /// when absent.
    pub block_interval: Option<String>,
    /// Flags every node gets.
    #[serde(default)]
    pub flags: Vec<String>,
}

/// `[[node]]`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSpec {
    /// Its name (letters, digits, `-`, `_`).
    pub name: String,
    /// Its share of the network's hash rate (shares are normalised to sum to 1).
    pub hashshare: Option<f64>,
    /// Extra `dotcoind` flags.
    #[serde(default)]
    pub flags: Vec<String>,
    /// `"honest"` (the default) or `"selfish"` (Eyal–Sirer's selfish miner: see
    /// [`crate::selfish`]).
    pub strategy: Option<String>,
}

/// `[[link]]` and `[defaults]`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LinkSpec {
    /// One end (node name); the node that dials.
    #[serde(default)]
    pub a: String,
    /// The other end.
    #[serde(default)]
    pub b: String,
    /// One-way delay, each direction ("200ms").
    pub latency: Option<String>,
    /// Each chunk's delay varies by up to ± this.
    pub jitter: Option<String>,
    /// Each direction's rate ("10mbit", "500kbit"; absent: unlimited).
    pub bandwidth: Option<String>,
    /// Probability a chunk is "lost" and delivered a retransmission timeout late.
    pub loss: Option<f64>,
}

/// `[generate]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Generate {
    /// `ring`, `small-world`, `star`, `full-mesh` or `measured`.
    pub kind: String,
    /// Number of nodes, named `n1` … `nN`.
    pub nodes: usize,
    /// `ring`: random extra links per node.
    #[serde(default)]
    pub k: usize,
    /// `small-world`: each node's neighbours on the ring (even), before rewiring.
    #[serde(default)]
    pub neighbours: usize,
    /// `small-world`: probability each ring link is rewired to a random node.
    #[serde(default)]
    pub rewire: f64,
    /// `measured`: `[degree, fraction]` pairs, the share of nodes with each degree.
    #[serde(default)]
    pub degrees: Vec<(usize, f64)>,
    /// Random seed (same seed, same links).
    #[serde(default)]
    pub seed: u64,
}

/// A link's parameters, parsed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct LinkParams {
    /// One-way delay.
    pub latency: Duration,
    /// ± variation of the delay.
    pub jitter: Duration,
    /// Bytes per second each way; 0: unlimited.
    pub bandwidth: u64,
    /// Probability a chunk is delivered a retransmission timeout late.
    pub loss: f64,
}

/// A node of a resolved topology.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Node {
    /// Its name.
    pub name: String,
    /// Its share of the hash rate (the shares sum to 1).
    pub hashshare: f64,
    /// `dotcoind` flags.
    pub flags: Vec<String>,
    /// How its miner plays.
    #[serde(default)]
    pub strategy: Strategy,
}

/// How a node's miner plays.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    /// Mines on its tip and announces every block at once.
    #[default]
    Honest,
    /// Withholds its blocks and publishes them against the honest network's
    /// (Eyal and Sirer 2014); its node has no P2P link.
    Selfish,
}

/// A link of a resolved topology: `a` dials `b` through the lab's proxy.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Link {
    /// Index of the dialling node.
    pub a: usize,
    /// Index of the other node.
    pub b: usize,
    /// Its parameters.
    pub params: LinkParams,
}

/// A resolved topology: what `up` starts.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Topology {
    /// The nodes.
    pub nodes: Vec<Node>,
    /// The links.
    pub links: Vec<Link>,
    /// The network's mean block interval, when Poisson miners run.
    pub block_interval: Option<Duration>,
    /// The selfish node's publishing paths: `a` is the selfish node, `b` an honest node
    /// it hands its blocks to (`submitblock`) after `params.latency`. Not proxied: the
    /// selfish node has no P2P link, so it never relays a block it withholds.
    #[serde(default)]
    pub publish: Vec<Link>,
}

/// What is wrong with a topology file.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TopologyError(pub String);

fn err<T>(msg: impl Into<String>) -> Result<T, TopologyError> {
    Err(TopologyError(msg.into()))
}

/// `"200ms"`, `"1.5s"`, `"10min"`, `"0"` as a duration (at most [`MAX_DURATION`]).
pub fn parse_duration(s: &str) -> Result<Duration, TopologyError> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let value: f64 = num
        .parse()
        .map_err(|_| TopologyError(format!("{s:?} is not a duration (e.g. 200ms, 1.5s)")))?;
    let secs = match unit.trim() {
        "us" => value / 1e6,
        "ms" => value / 1e3,
        "s" | "" if value == 0.0 || !unit.is_empty() => value,
        "min" => value * 60.0,
        _ => return err(format!("{s:?}: the unit must be us, ms, s or min")),
    };
    if !secs.is_finite() || secs < 0.0 || secs > MAX_DURATION.as_secs_f64() {
        return err(format!("{s:?} is outside 0–1h"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// `"10mbit"`, `"500kbit"`, `"1gbit"`, `"800bit"` as bytes per second.
pub fn parse_bandwidth(s: &str) -> Result<u64, TopologyError> {
    let s = s.trim().to_ascii_lowercase();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let value: f64 = num
        .parse()
        .map_err(|_| TopologyError(format!("{s:?} is not a bandwidth (e.g. 10mbit)")))?;
    let bits = match unit {
        "bit" => value,
        "kbit" => value * 1e3,
        "mbit" => value * 1e6,
        "gbit" => value * 1e9,
        _ => return err(format!("{s:?}: the unit must be bit, kbit, mbit or gbit")),
    };
    if !bits.is_finite() || !(8.0..=1e12).contains(&bits) {
        return err(format!("{s:?} is outside 8 bit/s – 1000 gbit/s"));
    }
    Ok((bits / 8.0) as u64)
}

impl LinkSpec {
    /// This spec's parameters, each missing one taken from `defaults`.
    pub fn resolve(&self, defaults: &LinkParams) -> Result<LinkParams, TopologyError> {
        let latency = match &self.latency {
            Some(l) => parse_duration(l)?,
            None => defaults.latency,
        };
        let jitter = match &self.jitter {
            Some(j) => parse_duration(j)?,
            None => defaults.jitter,
        };
        let bandwidth = match &self.bandwidth {
            Some(b) => parse_bandwidth(b)?,
            None => defaults.bandwidth,
        };
        let loss = self.loss.unwrap_or(defaults.loss);
        if !(0.0..=0.5).contains(&loss) {
            return err(format!("loss {loss} is outside 0–0.5"));
        }
        Ok(LinkParams {
            latency,
            jitter,
            bandwidth,
            loss,
        })
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 32
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Parses and resolves a topology file's text.
pub fn parse(text: &str) -> Result<Topology, TopologyError> {
    if text.len() > 1 << 20 {
        return err("the topology file is larger than 1 MiB");
    }
    let file: TopologyFile =
        toml::from_str(text).map_err(|e| TopologyError(format!("topology file: {e}")))?;
    resolve(&file)
}

/// Resolves a parsed topology file: generated nodes and links, then the named ones.
pub fn resolve(file: &TopologyFile) -> Result<Topology, TopologyError> {
    let defaults = LinkSpec::default().resolve(&LinkParams::default())?;
    let defaults = file.defaults.resolve(&defaults)?;
    let mut nodes: Vec<Node> = Vec::new();
    let mut pairs: Vec<(usize, usize)> = Vec::new();
    if let Some(g) = &file.generate {
        if g.nodes < 1 || g.nodes > MAX_NODES {
            return err(format!("generate.nodes must be 1–{MAX_NODES}"));
        }
        nodes = (1..=g.nodes)
            .map(|i| Node {
                name: format!("n{i}"),
                hashshare: 1.0,
                flags: vec![],
                strategy: Strategy::Honest,
            })
            .collect();
        pairs = generate(g)?;
    }
    let mut index: HashMap<String, usize> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.name.clone(), i))
        .collect();
    let mut explicit_share = vec![false; nodes.len()];
    for spec in &file.node {
        if !valid_name(&spec.name) {
            return err(format!(
                "node name {:?}: 1–32 letters, digits, - or _",
                spec.name
            ));
        }
        let i = match index.get(&spec.name) {
            Some(&i) => i,
            None => {
                nodes.push(Node {
                    name: spec.name.clone(),
                    hashshare: 1.0,
                    flags: vec![],
                    strategy: Strategy::Honest,
                });
                explicit_share.push(false);
                index.insert(spec.name.clone(), nodes.len() - 1);
                nodes.len() - 1
            }
        };
        if let Some(s) = spec.hashshare {
            if !s.is_finite() || s < 0.0 {
                return err(format!("node {}: hashshare must be ≥ 0", spec.name));
            }
            nodes[i].hashshare = s;
            explicit_share[i] = true;
        }
        nodes[i].flags.extend(spec.flags.iter().cloned());
        match spec.strategy.as_deref() {
            None => {}
            Some("honest") => nodes[i].strategy = Strategy::Honest,
            Some("selfish") => nodes[i].strategy = Strategy::Selfish,
            Some(other) => {
                return err(format!(
                    "node {}: strategy {other:?}: honest or selfish",
                    spec.name
                ))
            }
        }
    }
    if nodes.is_empty() || nodes.len() > MAX_NODES {
        return err(format!("a lab has 1–{MAX_NODES} nodes"));
    }
    // Nodes given a share keep it; the rest split what remains equally (all equal when
    // no share is given).
    let given: f64 = (0..nodes.len())
        .filter(|&i| explicit_share[i])
        .map(|i| nodes[i].hashshare)
        .sum();
    let rest = explicit_share.iter().filter(|e| !**e).count();
    for (i, n) in nodes.iter_mut().enumerate() {
        if !explicit_share[i] {
            n.hashshare = if given == 0.0 {
                1.0
            } else {
                (1.0 - given).max(0.0) / rest as f64
            };
        }
    }
    let total: f64 = nodes.iter().map(|n| n.hashshare).sum();
    for n in &mut nodes {
        n.hashshare = if total > 0.0 {
            n.hashshare / total
        } else {
            0.0
        };
        let mut flags = file.lab.flags.clone();
        flags.append(&mut n.flags);
        n.flags = flags;
    }
    let mut links: Vec<Link> = pairs
        .into_iter()
        .map(|(a, b)| Link {
            a,
            b,
            params: defaults,
        })
        .collect();
    for spec in &file.link {
        let a = *index
            .get(&spec.a)
            .ok_or_else(|| TopologyError(format!("link: no node {:?}", spec.a)))?;
        let b = *index
            .get(&spec.b)
            .ok_or_else(|| TopologyError(format!("link: no node {:?}", spec.b)))?;
        if a == b {
            return err(format!(
                "link {} – {}: a node cannot link to itself",
                spec.a, spec.b
            ));
        }
        let params = spec.resolve(&defaults)?;
        let to_selfish = [a, b]
            .iter()
            .any(|&x| nodes[x].strategy == Strategy::Selfish);
        if to_selfish && (spec.jitter.is_some() || spec.bandwidth.is_some() || spec.loss.is_some())
        {
            return err(format!(
                "link {} – {}: a selfish node's links are publishing paths: only latency applies",
                spec.a, spec.b
            ));
        }
        // A named link replaces a generated one between the same nodes.
        links.retain(|l| !((l.a == a && l.b == b) || (l.a == b && l.b == a)));
        links.push(Link { a, b, params });
    }
    if links.len() > MAX_LINKS {
        return err(format!("a lab has at most {MAX_LINKS} links"));
    }
    let block_interval = match &file.lab.block_interval {
        Some(s) => {
            let d = parse_duration(s)?;
            if d < Duration::from_millis(100) {
                return err("lab.block_interval must be at least 100ms");
            }
            Some(d)
        }
        None => None,
    };
    let publish = selfish_links(&nodes, &mut links, block_interval)?;
    Ok(Topology {
        nodes,
        links,
        block_interval,
        publish,
    })
}

/// Checks the selfish node (at most one, with a hash share and Poisson mining) and
/// takes the links that name it out of `links`: they become its publishing paths
/// (selfish node first), each honest node once; none named, it publishes to every
/// honest node at once.
fn selfish_links(
    nodes: &[Node],
    links: &mut Vec<Link>,
    block_interval: Option<Duration>,
) -> Result<Vec<Link>, TopologyError> {
    let selfish: Vec<usize> = (0..nodes.len())
        .filter(|&i| nodes[i].strategy == Strategy::Selfish)
        .collect();
    let s = match selfish.as_slice() {
        [] => return Ok(Vec::new()),
        [s] => *s,
        _ => return err("at most one node may have strategy = \"selfish\""),
    };
    if nodes[s].hashshare <= 0.0 {
        return err(format!(
            "node {}: a selfish node needs a hashshare above 0",
            nodes[s].name
        ));
    }
    if block_interval.is_none() {
        return err("a selfish node needs lab.block_interval (it mines as a Poisson miner)");
    }
    if nodes.len() < 2 {
        return err("a selfish node needs an honest node to publish to");
    }
    let mut publish: Vec<Link> = Vec::new();
    links.retain(|l| {
        if l.a != s && l.b != s {
            return true;
        }
        let honest = if l.a == s { l.b } else { l.a };
        publish.retain(|p| p.b != honest);
        publish.push(Link {
            a: s,
            b: honest,
            params: l.params,
        });
        false
    });
    if publish.is_empty() {
        publish = (0..nodes.len())
            .filter(|&i| i != s)
            .map(|b| Link {
                a: s,
                b,
                params: LinkParams::default(),
            })
            .collect();
    }
    Ok(publish)
}

/// The links a generator makes, each once, lower index first.
fn generate(g: &Generate) -> Result<Vec<(usize, usize)>, TopologyError> {
    let n = g.nodes;
    let mut rng = StdRng::seed_from_u64(g.seed);
    let mut set: BTreeSet<(usize, usize)> = BTreeSet::new();
    let add = |set: &mut BTreeSet<(usize, usize)>, a: usize, b: usize| {
        if a != b {
            set.insert((a.min(b), a.max(b)));
        }
    };
    match g.kind.as_str() {
        "ring" => {
            if n > 2 {
                for i in 0..n {
                    add(&mut set, i, (i + 1) % n);
                }
            } else if n == 2 {
                add(&mut set, 0, 1);
            }
            if g.k > n.saturating_sub(3) && g.k > 0 {
                return err(format!("ring: k = {} is too many for {n} nodes", g.k));
            }
            for i in 0..n {
                let mut made = 0;
                let mut tries = 0;
                while made < g.k && tries < 100 * n {
                    tries += 1;
                    let j = rng.gen_range(0..n);
                    let key = (i.min(j), i.max(j));
                    if j != i && !set.contains(&key) {
                        set.insert(key);
                        made += 1;
                    }
                }
            }
        }
        "small-world" => {
            // Watts–Strogatz: a ring lattice of `neighbours` neighbours each, each link
            // rewired with probability `rewire`.
            let k = g.neighbours;
            if k < 2 || !k.is_multiple_of(2) || k >= n {
                return err("small-world: neighbours must be even, ≥ 2 and below the node count");
            }
            if !(0.0..=1.0).contains(&g.rewire) {
                return err("small-world: rewire must be 0–1");
            }
            for i in 0..n {
                for d in 1..=k / 2 {
                    let mut j = (i + d) % n;
                    if rng.gen_bool(g.rewire) {
                        for _ in 0..n {
                            let c = rng.gen_range(0..n);
                            if c != i && !set.contains(&(i.min(c), i.max(c))) {
                                j = c;
                                break;
                            }
                        }
                    }
                    add(&mut set, i, j);
                }
            }
        }
        "star" => {
            for i in 1..n {
                add(&mut set, 0, i);
            }
        }
        "full-mesh" => {
            if n * (n - 1) / 2 > MAX_LINKS {
                return err(format!("full-mesh of {n} nodes exceeds {MAX_LINKS} links"));
            }
            for i in 0..n {
                for j in i + 1..n {
                    add(&mut set, i, j);
                }
            }
        }
        "measured" => {
            // A configuration model: each node draws a degree from the distribution,
            // stubs are paired at random (self and double links dropped), and a ring
            // under it keeps the network connected.
            let total: f64 = g.degrees.iter().map(|d| d.1).sum();
            if g.degrees.is_empty()
                || total <= 0.0
                || g.degrees.iter().any(|d| d.1 < 0.0 || d.0 == 0 || d.0 >= n)
            {
                return err(
                    "measured: degrees must be [degree, fraction] pairs, 1 ≤ degree < nodes",
                );
            }
            let mut stubs = Vec::new();
            for i in 0..n {
                let mut x = rng.gen_range(0.0..total);
                let mut degree = g.degrees[0].0;
                for &(d, f) in &g.degrees {
                    if x < f {
                        degree = d;
                        break;
                    }
                    x -= f;
                }
                stubs.extend(std::iter::repeat_n(i, degree.saturating_sub(2)));
            }
            stubs.shuffle(&mut rng);
            for pair in stubs.chunks(2) {
                if let [a, b] = pair {
                    add(&mut set, *a, *b);
                }
            }
            for i in 0..n.saturating_sub(1) {
                add(&mut set, i, (i + 1) % n);
            }
            if n > 2 {
                add(&mut set, n - 1, 0);
            }
        }
        other => {
            return err(format!(
                "generate.kind {other:?}: ring, small-world, star, full-mesh or measured"
            ))
        }
    }
    Ok(set.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ring_with_k_random_links_has_every_ring_link_and_k_more_per_node() {
        let t = parse(
            "[lab]\nblock_interval = \"3s\"\n[defaults]\nlatency = \"200ms\"\n\
             [generate]\nkind = \"ring\"\nnodes = 20\nk = 2\nseed = 7\n",
        )
        .unwrap();
        assert_eq!(t.nodes.len(), 20);
        assert!(t.links.len() >= 20 + 20, "{}", t.links.len());
        for i in 0..20 {
            let j = (i + 1) % 20;
            assert!(t.links.iter().any(|l| (l.a, l.b) == (i.min(j), i.max(j))));
        }
        assert!(t
            .links
            .iter()
            .all(|l| l.params.latency == Duration::from_millis(200)));
        assert_eq!(t.block_interval, Some(Duration::from_secs(3)));
        let sum: f64 = t.nodes.iter().map(|n| n.hashshare).sum();
        assert!((sum - 1.0).abs() < 1e-9);
    }

    #[test]
    fn shares_links_and_units_are_checked() {
        let t = parse(
            "[[node]]\nname = \"a\"\nhashshare = 0.6\n[[node]]\nname = \"b\"\n[[node]]\nname = \"c\"\n\
             [[link]]\na = \"a\"\nb = \"b\"\nlatency = \"50ms\"\nbandwidth = \"10mbit\"\n",
        )
        .unwrap();
        assert!((t.nodes[0].hashshare - 0.6).abs() < 1e-9);
        assert!((t.nodes[1].hashshare - 0.2).abs() < 1e-9);
        assert_eq!(t.links[0].params.bandwidth, 1_250_000);
        assert!(parse("[[link]]\na = \"x\"\nb = \"y\"\n").is_err());
        assert!(parse_duration("5 parsecs").is_err());
        assert!(parse_duration("2").is_err(), "a unit is required");
        assert!(parse_bandwidth("10 furlongs").is_err());
        assert!(parse("[generate]\nkind = \"star\"\nnodes = 100000\n").is_err());
        assert!(parse("[bogus]\n").is_err());
    }

    #[test]
    fn generators_make_connected_graphs() {
        for kind in [
            "kind = \"star\"",
            "kind = \"full-mesh\"",
            "kind = \"small-world\"\nneighbours = 4\nrewire = 0.2",
            "kind = \"measured\"\ndegrees = [[2, 0.5], [4, 0.4], [8, 0.1]]",
        ] {
            let t = parse(&format!("[generate]\nnodes = 12\nseed = 3\n{kind}\n")).unwrap();
            let mut reached = [false; 12];
            let mut stack = vec![0];
            while let Some(i) = stack.pop() {
                if std::mem::replace(&mut reached[i], true) {
                    continue;
                }
                for l in &t.links {
                    if l.a == i {
                        stack.push(l.b);
                    } else if l.b == i {
                        stack.push(l.a);
                    }
                }
            }
            assert!(reached.iter().all(|r| *r), "{kind}: not connected");
        }
    }

    #[test]
    fn a_selfish_node_publishes_over_the_links_that_name_it() {
        let t = parse(
            "[lab]\nblock_interval = \"1s\"\n[defaults]\nlatency = \"10ms\"\n\
             [generate]\nkind = \"full-mesh\"\nnodes = 4\n\
             [[node]]\nname = \"n2\"\nhashshare = 0.4\nstrategy = \"selfish\"\n\
             [[link]]\na = \"n3\"\nb = \"n2\"\nlatency = \"50ms\"\n",
        )
        .unwrap();
        assert_eq!(t.nodes[1].strategy, Strategy::Selfish);
        // Only honest links are proxied; the selfish node's become publishing paths,
        // selfish end first, each with its own latency.
        assert_eq!(t.links.len(), 3);
        assert!(t.links.iter().all(|l| l.a != 1 && l.b != 1));
        let mut paths: Vec<(usize, usize, u128)> = t
            .publish
            .iter()
            .map(|l| (l.a, l.b, l.params.latency.as_millis()))
            .collect();
        paths.sort();
        assert_eq!(paths, vec![(1, 0, 10), (1, 2, 50), (1, 3, 10)]);
        // No link names it: it publishes to every honest node at once.
        let t = parse(
            "[lab]\nblock_interval = \"1s\"\n[[node]]\nname = \"s\"\nhashshare = 0.4\n\
             strategy = \"selfish\"\n[[node]]\nname = \"a\"\n[[node]]\nname = \"b\"\n\
             [[link]]\na = \"a\"\nb = \"b\"\n",
        )
        .unwrap();
        assert_eq!(t.links.len(), 1);
        assert_eq!(t.publish.len(), 2);
        assert!(t.publish.iter().all(|l| l.params.latency.is_zero()));
    }

    #[test]
    fn a_selfish_node_is_checked() {
        let base = "[[node]]\nname = \"a\"\n[[node]]\nname = \"b\"\n";
        let bad = [
            // Two selfish nodes.
            "[lab]\nblock_interval = \"1s\"\n[[node]]\nname = \"s\"\nstrategy = \"selfish\"\n\
             [[node]]\nname = \"t\"\nstrategy = \"selfish\"\n",
            // No hash share.
            "[lab]\nblock_interval = \"1s\"\n[[node]]\nname = \"s\"\nhashshare = 0.0\n\
             strategy = \"selfish\"\n",
            // No Poisson mining.
            "[[node]]\nname = \"s\"\nstrategy = \"selfish\"\n",
            // Bandwidth on a publishing path.
            "[lab]\nblock_interval = \"1s\"\n[[node]]\nname = \"s\"\nstrategy = \"selfish\"\n\
             [[link]]\na = \"s\"\nb = \"a\"\nbandwidth = \"10mbit\"\n",
            // An unknown strategy.
            "[[node]]\nname = \"s\"\nstrategy = \"greedy\"\n",
        ];
        for extra in bad {
            let text = format!("{base}{extra}");
            assert!(parse(&text).is_err(), "accepted: {text}");
        }
        let ok = parse(&format!(
            "{base}[lab]\nblock_interval = \"1s\"\n[[node]]\nname = \"s\"\nstrategy = \"selfish\"\n"
        ))
        .unwrap();
        assert_eq!(ok.publish.len(), 2);
    }
}
