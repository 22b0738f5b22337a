//! Deployment paths, run for real: the README's devnet tour as written, the devnet's
//! partition/heal/down/up cycle, the Docker image and compose devnet, and the systemd unit.
//!
//! The devnet tests drive `contrib/devnet.sh` with `DEVNET_PORT=0` (every node picks free
//! ports) in a temporary `DEVNET_DIR`, and always run `down` at the end. The Docker test
//! starts dockerd and makes the base image itself when they are missing, as on a clean CI
//! machine (`make deps` installs the packages).

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use dotcoin_functional_tests::{bin, http_request, wait_until};
use serde_json::Value;

/// Generous: the demo network's first blocks take ~2^20-2^22 hashes each on a loaded machine.
const SLOW: Duration = Duration::from_secs(180);

fn repo_root() -> PathBuf {
    dotcoin_functional_tests::workspace_root()
}

fn bin_dir() -> PathBuf {
    bin("dotcoind")
        .parent()
        .expect("binary directory")
        .to_path_buf()
}

fn show(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A devnet in a temporary directory; `down` on drop, so no test leaves nodes running.
struct Devnet {
    dir: tempfile::TempDir,
}

impl Devnet {
    fn new() -> Devnet {
        Devnet {
            dir: tempfile::Builder::new()
                .prefix("dotcoin-devnet-")
                .tempdir()
                .expect("tempdir"),
        }
    }

    fn command(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.current_dir(repo_root())
            .env("DEVNET_DIR", self.dir.path())
            .env("DEVNET_PORT", "0")
            .env("BIN", bin_dir())
            .stdin(Stdio::null());
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command("contrib/devnet.sh")
            .args(args)
            .output()
            .expect("run contrib/devnet.sh")
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(out.status.success(), "devnet.sh {args:?}: {}", show(&out));
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    fn json(&self, args: &[&str]) -> Value {
        let text = self.ok(args);
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{args:?}: {e}: {text}"))
    }

    fn tip(&self, node: &str) -> String {
        self.ok(&["cli", node, "getbestblockhash"])
    }

    /// Pids of processes whose command line names this devnet's directory.
    fn processes(&self) -> Vec<u32> {
        let needle = self.dir.path().to_string_lossy().into_owned();
        let mut pids = Vec::new();
        for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) {
                let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
                if cmdline.contains("dotcoind") && cmdline.contains(&needle) {
                    pids.push(pid);
                }
            }
        }
        pids
    }
}

impl Drop for Devnet {
    fn drop(&mut self) {
        let _ = self.run(&["down"]);
    }
}

/// The shell blocks of the README marked `<!-- tour -->`, in order.
fn tour_blocks(readme: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut lines = readme.lines();
    while let Some(line) = lines.next() {
        if line.trim() != "<!-- tour -->" {
            continue;
        }
        let fence = lines.next().unwrap_or_default();
        assert!(
            fence.starts_with("```sh"),
            "a <!-- tour --> marker must be followed by a ```sh block, not {fence:?}"
        );
        let block: Vec<&str> = lines
            .by_ref()
            .take_while(|l| !l.starts_with("```"))
            .collect();
        blocks.push(block.join("\n"));
    }
    blocks
}

#[test]
fn readme_tour_runs_as_written() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).expect("README.md");
    let blocks = tour_blocks(&readme);
    assert!(
        blocks.len() >= 4,
        "the README tour has {} marked blocks, expected one per flow at least",
        blocks.len()
    );
    let devnet = Devnet::new();
    let script = format!("set -euxo pipefail\n{}\n", blocks.join("\n"));
    let out = devnet
        .command("bash")
        .arg("-c")
        .arg(&script)
        .output()
        .expect("run the tour");
    assert!(
        out.status.success(),
        "the README tour failed: {}",
        show(&out)
    );

    // The tour ends with `down`; `up` resumes it where the tour left it: healed, one chain
    // everywhere, node2 holding the 90 DOT node1 sent it, and node1 remembering the branch
    // it mined while partitioned.
    assert!(
        devnet.processes().is_empty(),
        "the tour's down stopped every node"
    );
    devnet.ok(&["up"]);
    let tip = devnet.tip("1");
    assert_eq!(devnet.tip("2"), tip);
    assert_eq!(devnet.tip("3"), tip);
    let balance = devnet.json(&["wallet", "2", "getbalance"]);
    assert_eq!(balance["confirmed"].as_f64(), Some(90.0), "{balance}");
    let tips = devnet.json(&["cli", "1", "getchaintips"]);
    let forks: Vec<&Value> = tips
        .as_array()
        .expect("tips")
        .iter()
        .filter(|t| t["status"] == "valid-fork")
        .collect();
    assert!(
        forks.iter().any(|t| t["branchlen"] == 2),
        "node1 keeps its 2-block branch as a valid fork: {tips}"
    );
}

#[test]
fn devnet_partition_heal_down_up() {
    let devnet = Devnet::new();
    let up = devnet.ok(&["up", "3", "--regtest"]);
    assert!(
        up.contains("node3: rpc") && up.contains("dashboard: http://127.0.0.1:"),
        "{up}"
    );

    // Hostile arguments are refused with a reason, and change nothing.
    for (args, why) in [
        (&["partition", "1,1", "2,3"][..], "in two groups"),
        (&["partition", "1", "2"][..], "node 3 is in no group"),
        (&["partition", "1", "2;3"][..], "not a comma-separated list"),
        (&["mine", "4", "1"][..], "no node '4'"),
        (&["mine", "1", "-5"][..], "N must be"),
        (&["send", "1", "2", "lots"][..], "AMOUNT must be DOT"),
        (&["up", "999"][..], "N must be"),
    ] {
        let out = devnet.run(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} succeeded: {}", show(&out));
        assert!(
            stderr.contains(why),
            "{args:?} should say {why:?}: {}",
            show(&out)
        );
    }

    devnet.ok(&["mine", "1", "5"]);
    let common = devnet.tip("3");
    devnet.ok(&["partition", "1", "2,3"]);
    assert_eq!(devnet.ok(&["cli", "1", "getconnectioncount"]), "0");
    devnet.ok(&["mine", "1", "2"]);
    devnet.ok(&["mine", "2", "3"]);
    // The groups stay apart while both mine: node3 follows node2 only.
    let (lone, pair) = (devnet.tip("1"), devnet.tip("3"));
    assert_ne!(lone, pair);
    assert_eq!(devnet.tip("2"), pair);
    assert_eq!(devnet.ok(&["cli", "1", "getblockcount"]), "7");
    assert_eq!(devnet.ok(&["cli", "3", "getblockcount"]), "8");
    let status = devnet.ok(&["status"]);
    assert!(
        status.contains("node1") && status.contains(&pair[..16]),
        "{status}"
    );

    let healed = devnet.ok(&["heal"]);
    assert!(healed.contains(&pair), "{healed}");
    for node in ["1", "2", "3"] {
        assert_eq!(
            devnet.tip(node),
            pair,
            "node{node} took the most-work chain"
        );
    }
    // node1 reorganised: its own two blocks are now a valid fork off the common block.
    let tips = devnet.json(&["cli", "1", "getchaintips"]);
    let fork = tips
        .as_array()
        .expect("tips")
        .iter()
        .find(|t| t["hash"] == lone.as_str())
        .unwrap_or_else(|| panic!("node1's old tip is listed: {tips}"));
    assert_eq!(fork["status"], "valid-fork", "{tips}");
    assert_eq!(fork["branchlen"], 2, "{tips}");
    let fork_base = devnet.ok(&["cli", "1", "getblockhash", "5"]);
    assert_eq!(fork_base, common);

    // down leaves nothing running; up resumes the same chain, linked again.
    assert_eq!(devnet.processes().len(), 3, "three nodes run");
    devnet.ok(&["down"]);
    assert!(
        devnet.processes().is_empty(),
        "down left {:?}",
        devnet.processes()
    );
    let status = devnet.ok(&["status"]);
    assert_eq!(status.matches(" down").count(), 3, "{status}");
    devnet.ok(&["up"]);
    for node in ["1", "2", "3"] {
        assert_eq!(devnet.tip(node), pair, "node{node} resumed its chain");
        let peers: u32 = devnet
            .ok(&["cli", node, "getconnectioncount"])
            .parse()
            .expect("a count");
        assert!(peers >= 2, "node{node} linked again: {peers} peers");
    }
    devnet.ok(&["mine", "3", "1"]);
    assert_eq!(devnet.ok(&["cli", "1", "getblockcount"]), "9");
}

/// `systemd-analyze verify` accepts the unit with no diagnostic at all. verify checks
/// that ExecStart's program exists, so the copy it reads points at the built binary
/// instead of /usr/bin; every other line is the file as installed.
#[test]
fn systemd_unit_verifies() {
    let unit = std::fs::read_to_string(repo_root().join("contrib/init/dotcoind.service"))
        .expect("contrib/init/dotcoind.service");
    for directive in [
        "User=dotcoin",
        "ProtectSystem=full",
        "ProtectHome=true",
        "PrivateTmp=true",
        "NoNewPrivileges=true",
        "PrivateDevices=true",
        "MemoryDenyWriteExecute=true",
        "KillSignal=SIGTERM",
    ] {
        assert!(unit.lines().any(|l| l == directive), "missing {directive}");
    }
    let verify = |text: &str| -> Output {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("dotcoind.service");
        std::fs::write(&path, text).expect("write unit");
        Command::new("systemd-analyze")
            .arg("verify")
            .arg(&path)
            .output()
            .expect("systemd-analyze (make deps installs systemd)")
    };
    let built = bin("dotcoind");
    let local = unit.replace("/usr/bin/dotcoind", &built.to_string_lossy());
    assert_ne!(local, unit, "ExecStart runs /usr/bin/dotcoind");
    let out = verify(&local);
    assert!(
        out.status.success() && out.stderr.is_empty() && out.stdout.is_empty(),
        "systemd-analyze verify: {}",
        show(&out)
    );
    // The check can fail: a misspelt key and a bad value are reported.
    let broken = local
        .replace("ProtectHome=true", "ProtectHome=maybe")
        .replace("Type=simple", "Typ=simple");
    let out = verify(&broken);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("Typ") && said.contains("protect home"),
        "{}",
        show(&out)
    );
}

/// `docker-compose` against a project of its own, torn down (with its volumes) on drop.
struct Compose {
    project: String,
}

impl Compose {
    fn command(&self, args: &[&str]) -> Output {
        Command::new("docker-compose")
            .current_dir(repo_root())
            .env("DOTCOIN_IMAGE", "dotcoin-test:latest")
            .args([
                "-f",
                "contrib/docker/docker-compose.yml",
                "-p",
                &self.project,
            ])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("docker-compose (make deps installs it)")
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.command(args);
        assert!(
            out.status.success(),
            "docker-compose {args:?}: {}",
            show(&out)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    fn cli(&self, node: &str, args: &[&str]) -> Option<String> {
        let mut all = vec!["exec", "-T", node, "dotcoin-cli"];
        all.extend_from_slice(args);
        let out = self.command(&all);
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }
}

impl Drop for Compose {
    fn drop(&mut self) {
        let out = self.command(&["down", "-v", "--remove-orphans", "-t", "30"]);
        // A failed teardown must not hide the test's own failure, but must be seen.
        #[allow(clippy::print_stderr)]
        if !out.status.success() {
            eprintln!("compose down failed: {}", show(&out));
        }
    }
}

#[test]
fn docker_compose_devnet() {
    let out = Command::new("contrib/docker/build-image.sh")
        .current_dir(repo_root())
        .env("BIN", bin_dir())
        .env("IMAGE", "dotcoin-test:latest")
        .stdin(Stdio::null())
        .output()
        .expect("run build-image.sh");
    assert!(out.status.success(), "build-image.sh: {}", show(&out));

    let compose = Compose {
        project: format!("dotcointest{}", std::process::id()),
    };
    compose.ok(&["up", "-d"]);
    let nodes = ["node1", "node2", "node3"];

    // Each container links to the two others over the compose network.
    for node in nodes {
        wait_until(&format!("{node} to have two peers"), SLOW, || {
            compose
                .cli(node, &["getconnectioncount"])
                .is_some_and(|n| n.parse::<u32>().is_ok_and(|n| n >= 2))
        });
    }
    // A block mined in one container reaches the others: all three agree on block 2.
    wait_until("the three nodes to agree on block 2", SLOW, || {
        let hashes: Vec<Option<String>> = nodes
            .iter()
            .map(|n| compose.cli(n, &["getblockhash", "2"]))
            .collect();
        hashes[0].is_some() && hashes.iter().all(|h| h == &hashes[0])
    });
    // The node runs as the image's own user, and Docker's health check passes.
    assert_eq!(compose.ok(&["exec", "-T", "node1", "id", "-un"]), "dotcoin");
    let id = compose.ok(&["ps", "-q", "node1"]);
    wait_until("node1 to be healthy", SLOW, || {
        Command::new("docker")
            .args(["inspect", "--format", "{{.State.Health.Status}}", &id])
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "healthy")
    });
    // Each node mines to a wallet of its own, which the container's wallet reads.
    let balance = compose.ok(&["exec", "-T", "node1", "dotcoin-wallet", "getbalance"]);
    assert!(balance.contains("immature"), "{balance}");

    // The dashboard is published on the host's loopback.
    let (status, body) = http_request(5000, "GET", "/api/node", "", None);
    assert_eq!(status, 200, "{body}");
    let node: Value = serde_json::from_str(&body).expect("dashboard JSON");
    assert!(node.to_string().contains("main"), "{node}");
}
