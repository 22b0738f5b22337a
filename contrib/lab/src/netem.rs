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
