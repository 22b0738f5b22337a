//! Detection of the kernel path: where `tc netem` and network namespaces exist, a
//! topology could be laid out as one namespace per node joined by veth pairs, each with a
//! `netem delay … rate …` qdisc (docs/lab.md shows the commands). This machine's kernel
//! has no `netem`, so the lab runs its links through its own proxies ([`crate::proxy`]);
//! `status` says which path the machine would support.

use std::path::Path;
use std::process::{Command, Stdio};

/// What the kernel offers for emulated links.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct KernelPath {
    /// The `sch_netem` queueing discipline is loaded, built in, or loadable.
    pub netem: bool,
    /// Network namespaces exist (`/proc/self/ns/net`).
    pub netns: bool,
    /// The `tc` program is installed.
    pub tc: bool,
}

impl KernelPath {
    /// Whether topologies could run on netns + netem here.
    pub fn usable(&self) -> bool {
        self.netem && self.netns && self.tc
    }
}

/// Looks at the running kernel (reads only; loads nothing).
pub fn detect() -> KernelPath {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let release = release.trim();
    let module_file = |ext: &str| {
        Path::new("/lib/modules")
            .join(release)
            .join("kernel/net/sched")
            .join(format!("sch_netem.{ext}"))
            .exists()
    };
    let netem = Path::new("/sys/module/sch_netem").exists()
        || std::fs::read_to_string(format!("/lib/modules/{release}/modules.builtin"))
            .is_ok_and(|b| b.contains("sch_netem"))
        || ["ko", "ko.xz", "ko.zst", "ko.gz"]
            .into_iter()
            .any(module_file);
    let tc = Command::new("tc")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    KernelPath {
        netem,
        netns: Path::new("/proc/self/ns/net").exists(),
        tc,
    }
}

/// Namespace of node `name`.
fn netns(name: &str) -> String {
    format!("dcl-{name}")
}

/// The /30 of link `l`: its two ends' addresses, in 10.0.0.0/8 (a million links).
fn link_addrs(l: usize) -> (String, String) {
    let base = (l as u32) * 4;
    let ip = |host: u32| {
        let v = base + host;
        format!("10.{}.{}.{}", (v >> 16) & 255, (v >> 8) & 255, v & 255)
    };
    (ip(1), ip(2))
}

/// `netem` arguments for one direction of a link: delay (± jitter), rate, loss.
fn netem_args(p: &crate::topology::LinkParams) -> Vec<String> {
    let mut a = vec![
        "netem".to_owned(),
        "delay".to_owned(),
        format!("{}us", p.latency.as_micros()),
    ];
    if !p.jitter.is_zero() {
        a.push(format!("{}us", p.jitter.as_micros()));
    }
    if p.bandwidth > 0 {
        // tc's `bit` is bits per second; the topology's bandwidth is bytes per second.
        a.extend(["rate".to_owned(), format!("{}bit", p.bandwidth * 8)]);
    }
    if p.loss > 0.0 {
        a.extend(["loss".to_owned(), format!("{}%", p.loss * 100.0)]);
    }
    a
}

/// The commands that lay `topo` out on the kernel path, in order: one network namespace
/// per node, a veth pair per link (end `a` in `a`'s namespace, named `dcl<link>a`, a /30
/// between them), and on each end a `netem` qdisc with the link's settings; then node `a`
/// of each link dials `b` at the returned address. Each command is argv, for `ip` or
/// `tc` run as root; the lab itself runs its proxies instead wherever this kernel lacks
/// `sch_netem` (docs/lab.md).
pub fn plan(topo: &crate::topology::Topology) -> Vec<Vec<String>> {
    let argv = |s: &[&str]| s.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
    let mut cmds = Vec::new();
    for n in &topo.nodes {
        let ns = netns(&n.name);
        cmds.push(argv(&["ip", "netns", "add", &ns]));
        cmds.push(argv(&["ip", "-n", &ns, "link", "set", "lo", "up"]));
    }
    for (l, link) in topo.links.iter().enumerate() {
        let (na, nb) = (
            netns(&topo.nodes[link.a].name),
            netns(&topo.nodes[link.b].name),
        );
        let (ea, eb) = (format!("dcl{l}a"), format!("dcl{l}b"));
        let (ia, ib) = link_addrs(l);
        cmds.push(argv(&[
            "ip", "link", "add", &ea, "netns", &na, "type", "veth", "peer", "name", &eb, "netns",
            &nb,
        ]));
        for (ns, dev, ip) in [(&na, &ea, &ia), (&nb, &eb, &ib)] {
            cmds.push(argv(&[
                "ip",
                "-n",
                ns,
                "addr",
                "add",
                &format!("{ip}/30"),
                "dev",
                dev,
            ]));
            cmds.push(argv(&["ip", "-n", ns, "link", "set", dev, "up"]));
            let mut tc = argv(&[
                "ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", dev, "root",
            ]);
            tc.extend(netem_args(&link.params));
            cmds.push(tc);
        }
    }
    cmds
}

/// Where node `a` of link `l` reaches node `b` on the kernel path.
pub fn peer_addr(l: usize) -> String {
    link_addrs(l).1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_topology_becomes_namespaces_veth_pairs_and_netem_qdiscs() {
        let topo = crate::topology::parse(
            "[defaults]\nlatency = \"200ms\"\njitter = \"10ms\"\n\
             [[node]]\nname = \"n1\"\n[[node]]\nname = \"n2\"\n[[node]]\nname = \"n3\"\n\
             [[link]]\na = \"n1\"\nb = \"n2\"\n\
             [[link]]\na = \"n2\"\nb = \"n3\"\nlatency = \"50ms\"\njitter = \"0ms\"\nbandwidth = \"10mbit\"\nloss = 0.01\n",
        )
        .expect("topology");
        let cmds: Vec<String> = plan(&topo).iter().map(|c| c.join(" ")).collect();
        let has = |c: &str| assert!(cmds.iter().any(|x| x == c), "{c} in {cmds:#?}");
        for n in ["n1", "n2", "n3"] {
            has(&format!("ip netns add dcl-{n}"));
        }
        has("ip link add dcl0a netns dcl-n1 type veth peer name dcl0b netns dcl-n2");
        has("ip -n dcl-n1 addr add 10.0.0.1/30 dev dcl0a");
        has("ip -n dcl-n2 addr add 10.0.0.2/30 dev dcl0b");
        has("ip netns exec dcl-n1 tc qdisc add dev dcl0a root netem delay 200000us 10000us");
        has("ip netns exec dcl-n2 tc qdisc add dev dcl0b root netem delay 200000us 10000us");
        has("ip -n dcl-n3 addr add 10.0.0.6/30 dev dcl1b");
        has("ip netns exec dcl-n3 tc qdisc add dev dcl1b root netem delay 50000us rate 10000000bit loss 1%");
        assert_eq!(peer_addr(1), "10.0.0.6");
        // Namespaces exist before the links that go into them; every device is named
        // within IFNAMSIZ (15 bytes).
        let first_link = cmds
            .iter()
            .position(|c| c.starts_with("ip link add"))
            .unwrap();
        assert!(cmds[..first_link]
            .iter()
            .all(|c| c.starts_with("ip netns add") || c.contains("lo up")));
        assert_eq!(cmds.len(), 3 * 2 + 2 * (1 + 2 * 3));
        assert!(link_addrs(999_999).1.len() <= 15 && "dcl999999a".len() <= 15);
    }
}
