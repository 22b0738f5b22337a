//! `dotcoin-scenario`: runs scenario files against real `dotcoind` processes (see the
//! library) and the activity generator on its own.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use dotcoin_scenario::{activity_scenario, run_file, run_scenario, Options};

#[derive(Parser, Debug)]
#[command(name = "dotcoin-scenario", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Runs each scenario FILE in turn; exits non-zero if any fails.
    Run {
        /// Scenario files (TOML).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Run every scenario on this many nodes instead of its own count.
        #[arg(long)]
        nodes: Option<usize>,
        /// Directory for the JSON reports (one `<file stem>.json` each).
        #[arg(long, default_value = ".")]
        report_dir: PathBuf,
        /// The dotcoind binary [default: next to this program].
        #[arg(long)]
        dotcoind: Option<PathBuf>,
    },
    /// The activity generator alone: a ring of nodes (each also linked to the node
    /// halfway round), TPS transactions a second between wallets on every node for
    /// SECONDS, reporting how fast each reached every mempool.
    Activity {
        #[arg(long, default_value_t = 10)]
        nodes: usize,
        #[arg(long, default_value_t = 20.0)]
        tps: f64,
        #[arg(long, default_value_t = 60.0)]
        seconds: f64,
        /// A transaction counts as relayed in time if every mempool has it within this.
        #[arg(long, default_value_t = 2000)]
        within_ms: u64,
        /// Fraction of (transaction, node) pairs that must be in time.
        #[arg(long, default_value_t = 0.99)]
        min_fraction: f64,
        #[arg(long, default_value = "activity.json")]
        report: PathBuf,
        #[arg(long)]
        dotcoind: Option<PathBuf>,
    },
}

#[allow(clippy::print_stdout, clippy::print_stderr)]
fn main() -> ExitCode {
    let cli = Cli::parse();
    let results = match cli.command {
        Command::Run {
            files,
            nodes,
            report_dir,
            dotcoind,
        } => {
            let opts = Options::new(dotcoind, nodes);
            let mut results = Vec::new();
            for f in &files {
                let report = match run_file(f, &opts) {
                    Ok(r) => r,
                    Err(e) => {
                        eprintln!("{}: {e}", f.display());
                        return ExitCode::FAILURE;
                    }
                };
                let stem = f
                    .file_stem()
                    .map_or("scenario".into(), |s| s.to_string_lossy());
                results.push((report_dir.join(format!("{stem}.json")), report));
            }
            results
        }
        Command::Activity {
            nodes,
            tps,
            seconds,
            within_ms,
            min_fraction,
            report,
            dotcoind,
        } => {
            let opts = Options::new(dotcoind, None);
            let sc = activity_scenario(nodes, tps, seconds, within_ms, min_fraction);
            vec![(report, run_scenario(&sc, &opts))]
        }
    };
    let mut ok = true;
    for (path, report) in results {
        let text = serde_json::to_string_pretty(&report).expect("a report serializes");
        if let Err(e) = std::fs::write(&path, text) {
            eprintln!("cannot write {}: {e}", path.display());
            ok = false;
        }
        println!(
            "{} {} in {:.1} s ({})",
            if report.passed { "PASS" } else { "FAIL" },
            report.name,
            report.seconds,
            path.display()
        );
        if let Some(e) = &report.error {
            println!("  {e}");
        }
        ok &= report.passed;
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
