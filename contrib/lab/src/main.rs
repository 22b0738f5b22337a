//! `dotcoin-lab`: the network lab. Starts the `dotcoind` nodes of a topology file on this
//! machine, joins them only through per-link proxies that add latency, jitter, bandwidth
//! limits and loss ([`proxy`]), mines with Poisson miners at each node's hash share, lets
//! links change while running, and gathers every node's first-seen records into a
//! propagation report ([`report`]); a whole lab exports to one archive and imports again.
//! One node may play Eyal and Sirer's selfish miner instead ([`selfish`]).
//!
//! `up` starts a daemon (this program, `daemon`, detached) that owns the node processes,
//! the proxies and the miners; the other commands talk to it over a local control port
//! whose address and token are in `DIR/lab.json` (0600). docs/lab.md is the manual.

mod daemon;
mod netem;
mod proxy;
mod report;
mod selfish;
mod topology;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use serde_json::{json, Value};

/// The network lab.
#[derive(Debug, Parser)]
#[command(name = "dotcoin-lab", version)]
struct Cli {
    /// The lab's directory (node data, state, reports) [default: ~/.dotcoin-lab].
    #[arg(long, global = true, value_name = "DIR")]
    dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start the lab of FILE (or resume the one in DIR) and return once every link is up.
    Up {
        /// The topology file (TOML); without it, the lab already in DIR.
        file: Option<PathBuf>,
        /// Where dotcoind is [default: next to this program].
        #[arg(long, value_name = "DIR")]
        bin: Option<PathBuf>,
        /// Start without Poisson mining (`mine on` starts it).
        #[arg(long)]
        no_mining: bool,
    },
    /// Stop every node and the lab.
    Down,
    /// Nodes (height, tip, peers, mempool) and links, as JSON.
    Status,
    /// Change a link while it runs: `link A B --latency 300ms`.
    Link {
        /// One end.
        a: String,
        /// The other end.
        b: String,
        /// One-way delay.
        #[arg(long)]
        latency: Option<String>,
        /// ± variation of the delay.
        #[arg(long)]
        jitter: Option<String>,
        /// Rate each way (`10mbit`; `0` for unlimited).
        #[arg(long)]
        bandwidth: Option<String>,
        /// Probability a chunk arrives a retransmission timeout late.
        #[arg(long)]
        loss: Option<f64>,
    },
    /// Cut a link: its connection is reset and it refuses new ones.
    Cut {
        /// One end.
        a: String,
        /// The other end.
        b: String,
    },
    /// Restore a cut link (its node dials again at once).
    Restore {
        /// One end.
        a: String,
        /// The other end.
        b: String,
    },
    /// Turn the Poisson miners on or off.
    Mine {
        /// `on` or `off`.
        state: String,
    },
    /// Gather every node's first-seen records into DIR/report/report.json and report.html.
    Report {
        /// Write there instead of DIR/report.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Write the whole lab (topology and every node's data) to one tar archive; the nodes
    /// are stopped for it and started again.
    Export {
        /// The archive to write.
        file: PathBuf,
    },
    /// Unpack an exported lab into DIR (empty or new); `up --dir DIR` then starts it.
    Import {
        /// The archive.
        file: PathBuf,
        /// Where to put it.
        target: PathBuf,
    },
    /// Whether this kernel could run links with netns + netem (JSON).
    Kernel,
    /// The `ip`/`tc` commands that would lay FILE out on network namespaces with `netem`
    /// (for a kernel that has it; JSON: the commands and each link's peer address).
    NetemPlan {
        /// The topology file.
        file: PathBuf,
    },
    /// The daemon itself (started by `up`).
    #[command(hide = true)]
    Daemon {
        #[arg(long)]
        bin: PathBuf,
        #[arg(long)]
        no_mining: bool,
    },
}

/// A topology file's text; past [`topology::parse`]'s 1 MiB limit it is refused unread.
fn read_topology(file: &Path) -> Result<String, String> {
    dotcoin_common::files::read_text_bounded(file, 1 << 20)
        .map_err(|e| format!("{}: {e}", file.display()))
}

fn default_dir() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
        .join(".dotcoin-lab")
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let dir = cli.dir.clone().unwrap_or_else(default_dir);
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => return fail(&format!("cannot start the runtime: {e}")),
    };
    match rt.block_on(run(cli.command, dir)) {
        Ok(Some(v)) => {
            print(&v);
            ExitCode::SUCCESS
        }
        Ok(None) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

#[allow(clippy::print_stdout)]
fn print(v: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
    );
}

#[allow(clippy::print_stderr)]
fn fail(msg: &str) -> ExitCode {
    eprintln!("dotcoin-lab: {msg}");
    ExitCode::FAILURE
}

async fn run(command: Command, dir: PathBuf) -> Result<Option<Value>, String> {
    match command {
        Command::Up {
            file,
            bin,
            no_mining,
        } => up(&dir, file.as_deref(), bin, no_mining).await.map(Some),
        Command::Down => down(&dir).await.map(|()| None),
        Command::Status => daemon::request(&dir, json!({"cmd": "status"}))
            .await
            .map(Some),
        Command::Link {
            a,
            b,
            latency,
            jitter,
            bandwidth,
            loss,
        } => daemon::request(
            &dir,
            json!({"cmd": "link", "a": a, "b": b, "latency": latency, "jitter": jitter,
                   "bandwidth": bandwidth, "loss": loss}),
        )
        .await
        .map(Some),
        Command::Cut { a, b } => daemon::request(&dir, json!({"cmd": "cut", "a": a, "b": b}))
            .await
            .map(Some),
        Command::Restore { a, b } => {
            daemon::request(&dir, json!({"cmd": "restore", "a": a, "b": b}))
                .await
                .map(Some)
        }
        Command::Mine { state } => {
            let on = match state.as_str() {
                "on" => true,
                "off" => false,
                _ => return Err(format!("mine: 'on' or 'off', not {state:?}")),
            };
            daemon::request(&dir, json!({"cmd": "mine", "on": on}))
                .await
                .map(Some)
        }
        Command::Report { out } => {
            let out = out.unwrap_or_else(|| dir.join("report"));
            report::make(&dir, &out).await.map(Some)
        }
        Command::Export { file } => export(&dir, &file).await.map(Some),
        Command::Import { file, target } => import(&file, &target).map(Some),
        Command::Kernel => Ok(Some(json!({
            "kernel": netem::detect(),
            "path": if netem::detect().usable() { "netns+netem available (the lab still uses its proxies)" } else { "proxy" },
        }))),
        Command::NetemPlan { file } => {
            let text = read_topology(&file)?;
            let topo = topology::parse(&text).map_err(|e| e.to_string())?;
            Ok(Some(json!({
                "kernel": netem::detect(),
                "commands": netem::plan(&topo).iter().map(|c| c.join(" ")).collect::<Vec<_>>(),
                "links": topo.links.iter().enumerate().map(|(l, k)| json!({
                    "a": topo.nodes[k.a].name, "b": topo.nodes[k.b].name, "b_addr": netem::peer_addr(l),
                })).collect::<Vec<_>>(),
            })))
        }
        Command::Daemon { bin, no_mining } => {
            daemon::run(&dir, &bin, !no_mining).await.map(|()| None)
        }
    }
}

/// Where `dotcoind` is when `--bin` is not given: beside this program.
fn default_bin() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
    exe.parent()
        .map(Path::to_path_buf)
        .ok_or_else(|| "cannot find this program's directory".to_owned())
}

async fn up(
    dir: &Path,
    file: Option<&Path>,
    bin: Option<PathBuf>,
    no_mining: bool,
) -> Result<Value, String> {
    if daemon::running(dir) {
        return Err(format!(
            "a lab already runs in {}: 'down' first",
            dir.display()
        ));
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let topo_path = dir.join("topology.toml");
    match file {
        Some(f) => {
            let text = read_topology(f)?;
            topology::parse(&text).map_err(|e| e.to_string())?;
            std::fs::write(&topo_path, text)
                .map_err(|e| format!("{}: {e}", topo_path.display()))?;
        }
        None if topo_path.exists() => {}
        None => return Err(format!("no topology in {}: give a FILE", dir.display())),
    }
    let bin = match bin {
        Some(b) => b,
        None => default_bin()?,
    };
    if !bin.join("dotcoind").exists() {
        return Err(format!(
            "{} has no dotcoind (build it, or give --bin)",
            bin.display()
        ));
    }
    let _ = std::fs::remove_file(dir.join(daemon::STATE_FILE));
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let log = std::fs::File::create(dir.join("lab.log")).map_err(|e| e.to_string())?;
    let mut cmd = std::process::Command::new(exe);
    cmd.arg("--dir")
        .arg(dir)
        .arg("daemon")
        .arg("--bin")
        .arg(&bin);
    if no_mining {
        cmd.arg("--no-mining");
    }
    {
        use std::os::unix::process::CommandExt;
        // Its own process group: the caller's terminal signals do not reach it.
        cmd.process_group(0);
    }
    let mut child = cmd
        .stdin(std::process::Stdio::null())
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log)
        .spawn()
        .map_err(|e| format!("cannot start the lab daemon: {e}"))?;
    let deadline = std::time::Instant::now() + daemon::START_TIMEOUT;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            let log = std::fs::read_to_string(dir.join("lab.log")).unwrap_or_default();
            let tail: String = log
                .lines()
                .rev()
                .take(20)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<Vec<_>>()
                .join("\n");
            return Err(format!("the lab daemon exited ({status}):\n{tail}"));
        }
        if let Some(state) = daemon::read_state(dir) {
            if state.ready {
                // Reaped by nobody else: the daemon outlives this process.
                std::mem::forget(child);
                return daemon::request(dir, json!({"cmd": "status"})).await;
            }
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            return Err(format!(
                "the lab did not come up in {} s (see {})",
                daemon::START_TIMEOUT.as_secs(),
                dir.join("lab.log").display()
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn down(dir: &Path) -> Result<(), String> {
    let Some(state) = daemon::read_state(dir) else {
        return Ok(());
    };
    if daemon::request(dir, json!({"cmd": "down"})).await.is_err() && !daemon::running(dir) {
        return Ok(());
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    while daemon::pid_alive(state.pid) {
        if std::time::Instant::now() > deadline {
            return Err(format!(
                "the lab daemon (pid {}) did not stop in 90 s",
                state.pid
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

async fn export(dir: &Path, file: &Path) -> Result<Value, String> {
    let file = std::path::absolute(file).map_err(|e| e.to_string())?;
    let mut excludes = vec![
        "--exclude=./lab.json".to_owned(),
        "--exclude=./lab.log".to_owned(),
        "--exclude=./report".to_owned(),
    ];
    // An archive written inside the lab is not part of it; and it is written outside
    // first, since a file growing in the directory tar reads makes tar fail.
    let abs_dir = std::path::absolute(dir).map_err(|e| e.to_string())?;
    if let Ok(inside) = file.strip_prefix(&abs_dir) {
        excludes.push(format!("--exclude=./{}", inside.display()));
    }
    let staging = std::env::temp_dir().join(format!(
        "dotcoin-lab-export-{}-{}.tar.gz",
        std::process::id(),
        daemon::unix_ms()
    ));
    daemon::request(dir, json!({"cmd": "pause"})).await?;
    let result = std::process::Command::new("tar")
        .arg("-C")
        .arg(dir)
        .args(&excludes)
        .arg("-czf")
        .arg(&staging)
        .arg(".")
        .output();
    // Started again whatever tar did.
    let resumed = daemon::request(dir, json!({"cmd": "resume"})).await;
    match result {
        Ok(o) if o.status.success() => {}
        Ok(o) => {
            let _ = std::fs::remove_file(&staging);
            return Err(format!(
                "tar failed: {}",
                String::from_utf8_lossy(&o.stderr)
            ));
        }
        Err(e) => return Err(format!("cannot run tar: {e}")),
    }
    resumed?;
    if std::fs::rename(&staging, &file).is_err() {
        // Another file system: copy, then remove the staging copy.
        let copied = std::fs::copy(&staging, &file);
        let _ = std::fs::remove_file(&staging);
        copied.map_err(|e| format!("{}: {e}", file.display()))?;
    }
    Ok(json!({"exported": file}))
}

fn import(file: &Path, target: &Path) -> Result<Value, String> {
    if target.exists()
        && std::fs::read_dir(target)
            .map_err(|e| e.to_string())?
            .next()
            .is_some()
    {
        return Err(format!("{} is not empty", target.display()));
    }
    std::fs::create_dir_all(target).map_err(|e| e.to_string())?;
    // GNU tar refuses members with `..` and strips leading `/` on extraction, so an
    // archive cannot write outside the target.
    let o = std::process::Command::new("tar")
        .arg("-C")
        .arg(target)
        .args(["--no-same-owner", "--no-same-permissions", "-xzf"])
        .arg(file)
        .output()
        .map_err(|e| format!("cannot run tar: {e}"))?;
    if !o.status.success() {
        return Err(format!(
            "tar failed: {}",
            String::from_utf8_lossy(&o.stderr)
        ));
    }
    let text = std::fs::read_to_string(target.join("topology.toml"))
        .map_err(|_| "the archive holds no topology.toml: not a lab".to_owned())?;
    topology::parse(&text).map_err(|e| e.to_string())?;
    Ok(json!({"imported": target, "next": format!("dotcoin-lab --dir {} up", target.display())}))
}
