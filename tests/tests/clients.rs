//! Real third-party Bitcoin Core clients against a regtest `dotcoind`: python-bitcoinlib's
//! `RawProxy` (JSON-RPC 1.1 requests) and the npm `bitcoin-core` client v5 (1.0-style
//! requests without a version), each running the script in `tests/clients/`.
//!
//! The clients are installed by the test itself with pip and npm, pinned, into
//! `<target>/<profile>/thirdparty/` (never into the source tree), once: a later run finds
//! them there. An install that fails fails the test: `make deps` provides pip and npm.

use std::path::{Path, PathBuf};
use std::process::Command;

use dotcoin_functional_tests::{bin, test_keypair, TestNode};

const PYTHON_PACKAGE: &str = "python-bitcoinlib==0.12.2";
const NPM_PACKAGE: &str = "bitcoin-core@5.0.0";
const USER: &str = "compat";
const PASSWORD: &str = "compat-password";

/// `<target>/<profile>/thirdparty/<name>`, next to the binaries under test.
fn install_dir(name: &str) -> PathBuf {
    let profile_dir = bin("dotcoind")
        .parent()
        .expect("binaries live in a directory")
        .to_path_buf();
    profile_dir.join("thirdparty").join(name)
}

fn script(name: &str) -> PathBuf {
    dotcoin_functional_tests::workspace_root()
        .join("tests/clients")
        .join(name)
}

/// Runs an install command unless `marker` already exists.
fn install(marker: &Path, what: &str, command: &mut Command) {
    if marker.exists() {
        return;
    }
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run the installer of {what} ({e}): run `make deps`"));
    assert!(
        out.status.success() && marker.exists(),
        "installing {what} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn node_with_password() -> TestNode {
    TestNode::start(&["--rpcuser", USER, "--rpcpassword", PASSWORD])
}

fn assert_ran(what: &str, out: &std::process::Output) {
    assert!(
        out.status.success(),
        "{what} failed:\n--- stdout ---\n{}\n--- stderr ---\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn python_bitcoinlib_rawproxy() {
    let dir = install_dir("python");
    install(
        &dir.join("bitcoin").join("rpc.py"),
        PYTHON_PACKAGE,
        Command::new("python3")
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .arg("--target")
            .arg(&dir)
            .arg(PYTHON_PACKAGE),
    );
    let node = node_with_password();
    let (_, address) = test_keypair();
    let out = Command::new("python3")
        .arg(script("rawproxy.py"))
        .env("PYTHONPATH", &dir)
        .env(
            "DOTCOIN_RPC_URL",
            format!("http://{USER}:{PASSWORD}@127.0.0.1:{}", node.rpc_port),
        )
        .env("DOTCOIN_ADDRESS", &address)
        .output()
        .expect("run python3");
    assert_ran("python-bitcoinlib's RawProxy", &out);
}

#[test]
fn npm_bitcoin_core_client() {
    let dir = install_dir("node");
    install(
        &dir.join("node_modules")
            .join("bitcoin-core")
            .join("package.json"),
        NPM_PACKAGE,
        Command::new("npm")
            .args([
                "install",
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
                "--prefix",
            ])
            .arg(&dir)
            .arg(NPM_PACKAGE),
    );
    let node = node_with_password();
    let (_, address) = test_keypair();
    let out = Command::new("node")
        .arg(script("bitcoin-core.js"))
        .env("NODE_PATH", dir.join("node_modules"))
        .env(
            "DOTCOIN_RPC_HOST",
            format!("http://127.0.0.1:{}", node.rpc_port),
        )
        .env("DOTCOIN_RPC_USER", USER)
        .env("DOTCOIN_RPC_PASSWORD", PASSWORD)
        .env("DOTCOIN_ADDRESS", &address)
        .output()
        .expect("run node");
    assert_ran("npm bitcoin-core", &out);
}
