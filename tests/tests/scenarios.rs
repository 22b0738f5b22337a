//! Every scenario in `contrib/scenarios/*.toml` run by the real `dotcoin-scenario` program
//! on 5 `dotcoind` nodes each, two scenarios at a time; each must pass and leave a JSON
//! report saying so. All of them together are meant to stay well within 5 minutes on a
//! loaded 2-core machine (the time is printed with `--nocapture`).

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use dotcoin_functional_tests::{bin, workspace_root};

/// Prints a measured figure with the test's output (shown with `--nocapture`).
#[allow(clippy::print_stderr)]
fn report(line: &str) {
    eprintln!("{line}");
}

fn scenario_files() -> Vec<PathBuf> {
    let dir = workspace_root().join("contrib/scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("contrib/scenarios")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .filter(|p| p.file_name().is_some_and(|n| n != "Cargo.toml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_scenario_passes_on_five_nodes() {
    let files = scenario_files();
    assert!(
        files.len() >= 8,
        "the eight scenarios of the brief: {files:?}"
    );
    let runner = bin("dotcoin-scenario");
    let dotcoind = bin("dotcoind");
    let reports = tempfile::tempdir().expect("tempdir");
    let started = Instant::now();
    let mut failures = Vec::new();
    for pair in files.chunks(2) {
        let children: Vec<_> = pair
            .iter()
            .map(|f| {
                let child = Command::new(&runner)
                    .arg("run")
                    .arg("--nodes")
                    .arg("5")
                    .arg("--report-dir")
                    .arg(reports.path())
                    .arg("--dotcoind")
                    .arg(&dotcoind)
                    .arg(f)
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .expect("start dotcoin-scenario");
                (f, child)
            })
            .collect();
        for (f, child) in children {
            let out = child.wait_with_output().expect("dotcoin-scenario ran");
            let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
            report(stdout.trim());
            let stem = f.file_stem().expect("a file name").to_string_lossy();
            let json = std::fs::read_to_string(reports.path().join(format!("{stem}.json")));
            let passed = json
                .ok()
                .and_then(|j| serde_json::from_str::<serde_json::Value>(&j).ok())
                .is_some_and(|r| r["passed"] == true && r["nodes"] == 5);
            if !out.status.success() || !passed {
                failures.push(format!(
                    "{}: {stdout}{}",
                    f.display(),
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
        }
    }
    report(&format!(
        "{} scenarios on 5 nodes in {:.1} s",
        files.len(),
        started.elapsed().as_secs_f64()
    ));
    assert!(failures.is_empty(), "{failures:#?}");
}
