//! Deployment paths, run for real: the README's devnet tour as written (and every other
//! command the README shows checked to exist), the devnet's partition/heal/down/up cycle,
//! the Docker image and compose devnet, and the systemd unit.
//!
//! The devnet tests drive `contrib/devnet.sh` with `DEVNET_PORT=0` (every node picks free
//! ports) in a temporary `DEVNET_DIR`, and always run `down` at the end. The Docker test
//! starts dockerd and makes the base image itself when they are missing, as on a clean CI
//! machine (`make deps` installs the packages).

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use base64::Engine;
use dotcoin_functional_tests::{bin, http_request, wait_until, TestNode};
use serde_json::{json, Value};

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

/// The commands a README shell block may hold outside the tour: the project's entry points.
/// Each must be a target of the Makefile (checked below), so the README cannot offer one
/// that does not exist.
const README_ENTRY_POINTS: &[&str] = &[
    "make devnet",
    "make run",
    "make test",
    "make build",
    "make bench",
    "make fuzz",
    "make docker-image",
    "make compose-up",
    "make compose-down",
    "make swarm-up",
    "make swarm-down",
];

/// The targets the Makefile defines (`name:` at the start of a line, not `name :=`).
fn makefile_targets() -> HashSet<String> {
    let makefile = std::fs::read_to_string(repo_root().join("Makefile")).expect("Makefile");
    makefile
        .lines()
        .filter_map(|line| {
            let (name, rest) = line.split_once(':')?;
            let is_target = !name.is_empty()
                && !rest.starts_with('=')
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            is_target.then(|| name.to_owned())
        })
        .collect()
}

/// Every fenced block of the README: (language, whether a `<!-- tour -->` marker precedes
/// it, its lines).
fn fenced_blocks(readme: &str) -> Vec<(String, bool, Vec<String>)> {
    let mut blocks = Vec::new();
    let mut lines = readme.lines();
    let mut previous = "";
    while let Some(line) = lines.next() {
        if let Some(language) = line.strip_prefix("```") {
            let tour = previous.trim() == "<!-- tour -->";
            let body = lines
                .by_ref()
                .take_while(|l| !l.starts_with("```"))
                .map(str::to_owned)
                .collect();
            blocks.push((language.trim().to_owned(), tour, body));
            previous = "```";
        } else {
            previous = line;
        }
    }
    blocks
}

/// The RPC methods the README calls: the word after `dotcoin-cli` and its flags, and after
/// the devnet's `cli NODE` (`$D cli 1 getpeerinfo`), in code blocks and inline code alike.
/// A `dotcoin-cli` inside a closed code span (`` `dotcoin-cli` ``) or a heading names the
/// program, and a synopsis has a placeholder (`<method>`, `[--regtest]`) where the method
/// goes. Flags must be written `-flag=value`, so the word after them is the method.
fn readme_cli_methods(readme: &str) -> Vec<String> {
    let words: Vec<&str> = readme.split_whitespace().collect();
    let method_at = |i: usize| -> Option<String> {
        let word = words.get(i)?;
        if word.starts_with('[') || word.starts_with('<') || word.starts_with('…') {
            return None;
        }
        let name = word.trim_end_matches(['`', ')', ',', '.', ';', ':']);
        assert!(
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
            "cannot read the method in README's `{}` (write flags as -flag=value)",
            words[i.saturating_sub(3)..=i].join(" ")
        );
        Some(name.to_owned())
    };
    let mut methods = Vec::new();
    for (i, word) in words.iter().enumerate() {
        let heading = i > 0 && words[i - 1].chars().all(|c| c == '#');
        if word.trim_start_matches(['`', '(', '$']) == "dotcoin-cli" && !heading {
            let mut j = i + 1;
            while words.get(j).is_some_and(|w| w.starts_with('-')) {
                j += 1;
            }
            methods.extend(method_at(j));
        } else if *word == "cli"
            && i > 0
            && (words[i - 1].ends_with("$D") || words[i - 1].ends_with("devnet.sh"))
            && words
                .get(i + 1)
                .is_some_and(|n| n.chars().all(|c| c.is_ascii_digit()))
        {
            methods.extend(method_at(i + 2));
        }
    }
    methods
}

/// The method names a `help` overview lists (Core's layout: `== Category ==` headings, then
/// one method with its arguments per line).
fn help_methods(overview: &str) -> HashSet<String> {
    overview
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with("=="))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

/// `dotcoin-wallet serve` on a free port for `node`, stopped on drop.
struct WalletService(std::process::Child);

impl Drop for WalletService {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Every command the README shows still runs: its shell blocks are the tour (run by
/// `readme_tour_runs_as_written`) or entry points that are Makefile targets, every `make
/// TARGET` it mentions is a target, and every RPC method it calls through `dotcoin-cli` is
/// served — by the node (the example plugins loaded, as the README suggests) or by the
/// wallet service, as each lists in `help`.
#[test]
fn readme_commands_exist() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).expect("README.md");
    let targets = makefile_targets();
    for entry in README_ENTRY_POINTS {
        let target = entry.strip_prefix("make ").expect("make TARGET");
        assert!(targets.contains(target), "no Makefile target {target}");
    }

    let mut shell_blocks = 0;
    for (language, tour, body) in fenced_blocks(&readme) {
        assert!(
            !language.is_empty(),
            "README fences need a language (sh for commands, text for the rest): {body:?}"
        );
        if !["sh", "bash", "shell", "console"].contains(&language.as_str()) || tour {
            continue;
        }
        shell_blocks += 1;
        for line in &body {
            let command = line.split(" #").next().unwrap_or_default().trim();
            if command.is_empty() || command.starts_with('#') {
                continue;
            }
            assert!(
                README_ENTRY_POINTS.contains(&command),
                "README shell block runs {command:?}, neither in the tour nor an entry point \
                 ({README_ENTRY_POINTS:?})"
            );
        }
    }
    assert!(shell_blocks >= 1, "the README opens with its two commands");

    // `make X` in the prose too.
    for mention in readme.split("`make ").skip(1) {
        let target: String = mention
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect();
        assert!(
            targets.contains(&target),
            "README mentions `make {target}`: no such target"
        );
    }

    let node = TestNode::start(&[
        "--plugin-dir",
        repo_root()
            .join("contrib/plugins")
            .to_str()
            .expect("utf-8 path"),
    ]);
    let mut served = help_methods(node.rpc("help", json!([])).as_str().expect("help text"));
    let wallet = node.datadir().join("wallet-service.ports");
    let child = Command::new(bin("dotcoin-wallet"))
        .arg("--regtest")
        .arg("--datadir")
        .arg(node.dir.path())
        .args([
            "--rpcport",
            &node.rpc_port.to_string(),
            "serve",
            "--port",
            "0",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn dotcoin-wallet serve");
    let _service = WalletService(child);
    let mut port = None;
    wait_until("the wallet service to write its ports file", SLOW, || {
        port = dotcoin_functional_tests::wallet_service_port(&wallet);
        port.is_some()
    });
    let cookie = std::fs::read_to_string(node.datadir().join(".wallet-cookie"))
        .expect("the wallet service's cookie");
    let auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(cookie.trim())
    );
    let (status, body) = http_request(
        port.expect("set when the wait ended"),
        "POST",
        "/",
        r#"{"jsonrpc":"1.0","id":1,"method":"help","params":[]}"#,
        Some(&auth),
    );
    assert_eq!(status, 200, "{body}");
    let reply: Value = serde_json::from_str(&body).expect("JSON reply");
    served.extend(help_methods(reply["result"].as_str().expect("help text")));

    let called = readme_cli_methods(&readme);
    assert!(
        called.len() >= 10,
        "the README's tour alone calls more methods than {called:?}"
    );
    for method in &called {
        assert!(
            served.contains(method),
            "README calls `{method}`, which neither the node nor the wallet service serves"
        );
    }
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
    let _docker = dotcoin_functional_tests::docker_lock();
    let out = Command::new("contrib/docker/build-image.sh")
        .current_dir(repo_root())
        .env("BIN", bin_dir())
        .env("PROFILE", "debug")
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
    // So are Esplora's API and Core's REST, on by default in the compose devnet.
    let (status, height) = http_request(5100, "GET", "/blocks/tip/height", "", None);
    assert_eq!(status, 200, "{height}");
    assert!(
        height.trim().parse::<u32>().is_ok_and(|h| h >= 2),
        "{height}"
    );
    let (status, info) = http_request(5101, "GET", "/rest/chaininfo.json", "", None);
    assert_eq!(status, 200, "{info}");
    assert!(info.contains("\"chain\":\"main\""), "{info}");
}
