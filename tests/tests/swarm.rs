//! The Swarm stack (contrib/swarm/stack.yml through contrib/swarm/swarm.sh), run for real
//! on this machine: `docker swarm init`, 1 seed, 1 miner and 4 nodes, scaled to 12 nodes;
//! every task reaches the miner's tip, Prometheus scrapes all 14; a killed task is
//! replaced, finds peers through DNS and catches up, and the others forget its address;
//! `docker stack rm` and `docker swarm leave` leave nothing behind.
//!
//! The image is built from the dev profile's binaries (`PROFILE=debug`: what `make test`
//! built anyway, optimised, with overflow checks), not a release build, to keep CI within
//! its budget; what ships is the release image (`make docker-image`). Containers run
//! regtest with one miner thread, so 16 of them fit a loaded 2-core machine.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use dotcoin_functional_tests::{bin, free_port, http_request, wait_until};
use serde_json::Value;

/// Tasks starting (image, volume, health check) on a loaded machine.
const START: Duration = Duration::from_secs(180);
/// The bound: every task has a new block this soon after the miner found it.
const TIP: Duration = Duration::from_secs(60);

fn repo_root() -> PathBuf {
    dotcoin_functional_tests::workspace_root()
}

fn show(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn docker(args: &[&str]) -> Output {
    Command::new("docker")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("docker (make deps installs it)")
}

fn docker_ok(args: &[&str]) -> String {
    let out = docker(args);
    assert!(out.status.success(), "docker {args:?}: {}", show(&out));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn swarm_state() -> String {
    docker_ok(&["info", "--format", "{{.Swarm.LocalNodeState}}"])
}

/// One deployed stack; on drop (a failed test included) it is removed and the swarm left.
struct Stack {
    name: String,
    dir: tempfile::TempDir,
    prometheus_port: u16,
    seed_port: u16,
}

/// A dotcoin container of the stack: its id, service (`node`, ...) and task slot.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Task {
    id: String,
    service: String,
    slot: u32,
}

impl Stack {
    fn script(&self, args: &[&str]) -> Output {
        Command::new("contrib/swarm/swarm.sh")
            .current_dir(repo_root())
            .args(args)
            .env("STACK", &self.name)
            .env("SWARM_DIR", self.dir.path())
            .env("PROFILE", "debug")
            .env("BIN", bin("dotcoind").parent().expect("binary directory"))
            .env("DOTCOIN_IMAGE", "dotcoin-test:latest")
            .env("DOTCOIN_REGTEST", "1")
            .env("MINER_INTERVAL", "3000")
            .env("PROMETHEUS_PORT", self.prometheus_port.to_string())
            .env("SEED_DASHBOARD_PORT", self.seed_port.to_string())
            .stdin(Stdio::null())
            .output()
            .expect("run contrib/swarm/swarm.sh")
    }

    fn script_ok(&self, args: &[&str]) -> String {
        let out = self.script(args);
        assert!(out.status.success(), "swarm.sh {args:?}: {}", show(&out));
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// Running dotcoin containers of the stack (Prometheus left out).
    fn tasks(&self) -> Vec<Task> {
        let label = format!("label=com.docker.stack.namespace={}", self.name);
        let list = docker_ok(&[
            "ps",
            "--filter",
            &label,
            "--format",
            "{{.ID}} {{.Label \"com.docker.swarm.service.name\"}} {{.Label \"com.docker.swarm.task.name\"}}",
        ]);
        let prefix = format!("{}_", self.name);
        list.lines()
            .filter_map(|l| {
                let mut f = l.split_whitespace();
                let (id, service, task) = (f.next()?, f.next()?, f.next()?);
                let service = service.strip_prefix(&prefix)?.to_owned();
                // `<stack>_node.3.<task id>`
                let slot = task.split('.').nth(1)?.parse().ok()?;
                (service != "prometheus").then(|| Task {
                    id: id.to_owned(),
                    service,
                    slot,
                })
            })
            .collect()
    }

    fn count(&self, service: &str) -> usize {
        self.tasks().iter().filter(|t| t.service == service).count()
    }

    /// Prometheus's targets: (job, instance, health).
    fn targets(&self) -> Vec<(String, String, String)> {
        let (status, body) = http_request(self.prometheus_port, "GET", "/api/v1/targets", "", None);
        if status != 200 {
            return vec![];
        }
        let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        v["data"]["activeTargets"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|t| {
                let s = |k: &str| {
                    t.pointer(k)
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_owned()
                };
                (s("/labels/job"), s("/labels/instance"), s("/health"))
            })
            .collect()
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        let out = self.script(&["down"]);
        let leave = docker(&["swarm", "leave", "--force"]);
        // A failed teardown must not hide the test's own failure, but must be seen.
        #[allow(clippy::print_stderr)]
        if !out.status.success() {
            eprintln!("swarm.sh down failed: {}\n{}", show(&out), show(&leave));
        }
    }
}

/// dotcoin-cli in a container (regtest), its output if it succeeded.
fn cli(task: &Task, args: &[&str]) -> Option<String> {
    let mut all = vec!["exec", &task.id, "dotcoin-cli", "--regtest"];
    all.extend_from_slice(args);
    let out = docker(&all);
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// `f` on every task at once (one thread each: a `docker exec` takes a while on a
/// loaded machine, 14 in a row longer than the bound being checked).
fn on_all<T: Send>(tasks: &[Task], f: impl Fn(&Task) -> T + Sync) -> Vec<T> {
    std::thread::scope(|s| {
        let handles: Vec<_> = tasks.iter().map(|t| s.spawn(|| f(t))).collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    })
}

fn container_ip(task: &Task) -> String {
    docker_ok(&[
        "inspect",
        "-f",
        "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}",
        &task.id,
    ])
    .split_whitespace()
    .next()
    .unwrap_or_default()
    .to_owned()
}

/// Waits for the miner's next block, then for every task to have it on its active chain
/// within [`TIP`]. Returns the block's height.
fn every_task_reaches_a_new_tip(stack: &Stack, what: &str) -> u64 {
    let miner = stack
        .tasks()
        .into_iter()
        .find(|t| t.service == "miner")
        .expect("a miner task");
    let old = cli(&miner, &["getbestblockhash"]).expect("miner tip");
    let mut tip = (0u64, String::new());
    wait_until("the miner to find a new block", START, || {
        // The hash by height: a block found between two calls cannot pair one block's
        // height with another's hash.
        let Some(h) = cli(&miner, &["getblockcount"]) else {
            return false;
        };
        let Some(hash) = cli(&miner, &["getblockhash", &h]) else {
            return false;
        };
        tip = (h.parse().unwrap_or(0), hash);
        tip.1 != old
    });
    let (height, hash) = tip;
    let tasks = stack.tasks();
    assert_eq!(tasks.len(), 14, "{tasks:?}");
    let deadline = std::time::Instant::now() + TIP;
    loop {
        let have = on_all(&tasks, |t| cli(t, &["getblockhash", &height.to_string()]));
        let behind: Vec<Task> = tasks
            .iter()
            .zip(&have)
            .filter(|(_, h)| h.as_deref() != Some(hash.as_str()))
            .map(|(t, _)| t.clone())
            .collect();
        if behind.is_empty() {
            return height;
        }
        if std::time::Instant::now() > deadline {
            let state = on_all(&behind, |t| {
                format!(
                    "{}.{}: height {:?}, peers {:?}",
                    t.service,
                    t.slot,
                    cli(t, &["getblockcount"]),
                    cli(t, &["getconnectioncount"])
                )
            });
            panic!(
                "{what}: {} of 14 tasks lack block {height} {hash} after {TIP:?}: {state:#?}",
                behind.len()
            );
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Waits until every task answers RPC and has a peer: started, not just created.
fn every_task_has_peers(stack: &Stack, what: &str) {
    wait_until(&format!("{what}: every task to have a peer"), START, || {
        let tasks = stack.tasks();
        tasks.len() == 14
            && on_all(&tasks, |t| cli(t, &["getconnectioncount"]))
                .iter()
                .all(|n| {
                    n.as_ref()
                        .and_then(|n| n.parse::<u32>().ok())
                        .is_some_and(|n| n >= 1)
                })
    });
}

#[test]
fn swarm_stack_scales_heals_and_is_watched() {
    let _docker = dotcoin_functional_tests::docker_lock();
    let out = Command::new("contrib/docker/ensure-docker.sh")
        .current_dir(repo_root())
        .stdin(Stdio::null())
        .output()
        .expect("ensure-docker.sh");
    assert!(out.status.success(), "{}", show(&out));
    // Under the lock nothing else uses the daemon's swarm: an active one is a leftover
    // of an interrupted run.
    if swarm_state() == "active" {
        docker_ok(&["swarm", "leave", "--force"]);
    }
    let stack = Stack {
        name: format!("dcswarm{}", std::process::id()),
        dir: tempfile::Builder::new()
            .prefix("dotcoin-swarm-")
            .tempdir()
            .expect("tempdir"),
        prometheus_port: free_port(),
        seed_port: free_port(),
    };
    docker_ok(&["swarm", "init", "--advertise-addr", "127.0.0.1"]);
    assert_eq!(swarm_state(), "active");

    // Images (the dev profile's binaries), the rpcauth secret, the stack.
    let up = stack.script_ok(&["up", "4", "1"]);
    assert!(up.contains("built dotcoin-test:latest"), "{up}");
    wait_until("1 seed, 1 miner and 4 nodes to run", START, || {
        let t = stack.tasks();
        t.len() == 6 && ["seed", "miner"].iter().all(|s| stack.count(s) == 1)
    });
    let image_profile = docker_ok(&[
        "image",
        "inspect",
        "-f",
        "{{index .Config.Labels \"org.dotcoin.profile\"}}",
        "dotcoin-test:latest",
    ]);
    assert_eq!(image_profile, "debug");

    stack.script_ok(&["scale", "node=12"]);
    wait_until("12 node tasks to run", START, || stack.count("node") == 12);
    every_task_has_peers(&stack, "after scaling to 12");
    every_task_reaches_a_new_tip(&stack, "after scaling to 12");

    // Prometheus found every task through DNS and scrapes each.
    wait_until("Prometheus to report 14 targets up", START, || {
        let t = stack.targets();
        t.len() == 14 && t.iter().all(|(_, _, health)| health == "up")
    });
    let targets = stack.targets();
    for (job, n) in [("seed", 1), ("miner", 1), ("node", 12)] {
        assert_eq!(
            targets.iter().filter(|t| t.0 == job).count(),
            n,
            "{targets:?}"
        );
    }
    let report = stack.script_ok(&["report"]);
    assert!(report.contains("14 targets, 14 up"), "{report}");
    let status = stack.script_ok(&["status"]);
    assert_eq!(
        status.lines().count(),
        15,
        "a header and 14 tasks: {status}"
    );

    // The RPC credentials are the secret's: the password swarm.sh kept works, another
    // does not (the cookie, which the other calls use, is the container's own).
    let password = std::fs::read_to_string(stack.dir.path().join("rpcpassword"))
        .expect("rpcpassword")
        .trim()
        .to_owned();
    let miner = stack
        .tasks()
        .into_iter()
        .find(|t| t.service == "miner")
        .expect("miner");
    let as_user = |pw: &str| {
        cli(
            &miner,
            &[
                "-rpcuser=dotcoin",
                &format!("-rpcpassword={pw}"),
                "getblockcount",
            ],
        )
    };
    assert!(as_user(&password).is_some(), "the rpcauth secret's user");
    assert!(as_user("not-the-password").is_none());

    // Dashboards through published ports: the seed's fixed one, a node's random one.
    let (status, body) = http_request(stack.seed_port, "GET", "/api/node", "", None);
    assert_eq!(status, 200, "{body}");
    let node = stack
        .tasks()
        .into_iter()
        .find(|t| t.service == "node")
        .expect("node");
    let port: u16 = docker_ok(&["port", &node.id, "8634/tcp"])
        .lines()
        .next()
        .and_then(|l| l.rsplit(':').next())
        .and_then(|p| p.parse().ok())
        .expect("a published dashboard port");
    // curl: the text format is neither JSON nor chunked, which http_request's body
    // handling expects.
    let out = Command::new("curl")
        .args([
            "-fsS",
            "--max-time",
            "10",
            &format!("http://127.0.0.1:{port}/metrics"),
        ])
        .output()
        .expect("curl");
    let metrics = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", show(&out));
    assert!(metrics.contains("\ndotcoin_chain_height "), "{metrics}");

    // A node task dies: Swarm starts another in its slot, which finds peers through DNS
    // and catches up; the others forget the dead task's address.
    let victim = stack
        .tasks()
        .into_iter()
        .find(|t| t.service == "node" && t.slot == 5)
        .expect("node slot 5");
    let dead_ip = container_ip(&victim);
    docker_ok(&["kill", &victim.id]);
    let mut replacement = None;
    wait_until("Swarm to replace the killed task", START, || {
        replacement = stack
            .tasks()
            .into_iter()
            .find(|t| t.service == "node" && t.slot == 5 && t.id != victim.id);
        replacement.is_some() && stack.count("node") == 12
    });
    let replacement = replacement.expect("replacement");
    let new_ip = container_ip(&replacement);
    wait_until("the new task to find peers", START, || {
        cli(&replacement, &["getconnectioncount"])
            .and_then(|n| n.parse::<u32>().ok())
            .is_some_and(|n| n >= 2)
    });
    every_task_reaches_a_new_tip(&stack, "after the kill");
    // Swarm hands out overlay addresses in order, so the new task has another one; were
    // it the same, the address would rightly stay known.
    assert_ne!(
        dead_ip, new_ip,
        "the replacement reused the dead task's address"
    );
    let others: Vec<Task> = stack
        .tasks()
        .into_iter()
        .filter(|t| t.id != replacement.id)
        .collect();
    let needle = format!("\"{dead_ip}\"");
    wait_until("every other task to drop the dead address", START, || {
        on_all(&others, |t| cli(t, &["getnodeaddresses", "0"]))
            .iter()
            .all(|a| {
                a.as_ref()
                    .is_some_and(|a| a.contains('[') && !a.contains(&needle))
            })
    });

    // Down: nothing of the stack is left, and the swarm is gone.
    stack.script_ok(&["down"]);
    docker_ok(&["swarm", "leave", "--force"]);
    let label = format!("label=com.docker.stack.namespace={}", stack.name);
    for list in [
        &["ps", "-aq"][..],
        &["volume", "ls", "-q"][..],
        &["network", "ls", "-q"][..],
    ] {
        let args = [list, &["--filter", &label]].concat();
        assert_eq!(docker_ok(&args), "", "docker {args:?} after down");
    }
    assert_ne!(swarm_state(), "active");
}
