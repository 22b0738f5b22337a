//! Real third-party Bitcoin Core clients against a regtest `dotcoind`: python-bitcoinlib's
//! `RawProxy` (JSON-RPC 1.1 requests) and the npm `bitcoin-core` client v5 (1.0-style
//! requests without a version), each running the script in `tests/clients/`.
//!
//! The clients are installed by the test itself with pip and npm, pinned, into
//! `<target>/<profile>/thirdparty/` (never into the source tree), once: a later run finds
//! them there. An install that fails fails the test: `make deps` provides pip and npm.

use std::path::PathBuf;
use std::process::Command;

use dotcoin_functional_tests::{
    assert_ran, install_once, python_bitcoinlib, test_keypair, thirdparty_dir, TestNode,
    WalletServiceProcess,
};

const NPM_PACKAGE: &str = "bitcoin-core@5.0.0";
const USER: &str = "compat";
const PASSWORD: &str = "compat-password";

fn script(name: &str) -> PathBuf {
    dotcoin_functional_tests::workspace_root()
        .join("tests/clients")
        .join(name)
}

fn node_with_password() -> TestNode {
    TestNode::start(&["--rpcuser", USER, "--rpcpassword", PASSWORD])
}

#[test]
fn python_bitcoinlib_rawproxy() {
    let dir = python_bitcoinlib();
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

/// The directory holding the npm `bitcoin-core` client, installed on first use.
fn npm_bitcoin_core() -> std::path::PathBuf {
    let dir = thirdparty_dir("node");
    install_once(
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
    dir
}

#[test]
fn npm_bitcoin_core_client() {
    let dir = npm_bitcoin_core();
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

#[test]
fn npm_bitcoin_core_client_drives_the_wallet_service() {
    let dir = npm_bitcoin_core();
    // The service reaches the node with its cookie; the script uses both cookies.
    let node = TestNode::start(&[]);
    let service = dotcoin_functional_tests::WalletServiceProcess::start(&node, &[]);
    let node_cookie = std::fs::read_to_string(node.datadir().join(".cookie")).expect("cookie");
    let (node_user, node_password) = node_cookie.trim().split_once(':').expect("user:password");
    let cookie =
        std::fs::read_to_string(service.datadir.join("regtest/.wallet-cookie")).expect("cookie");
    let (user, password) = cookie.trim().split_once(':').expect("user:password");
    let out = Command::new("node")
        .arg(script("wallet-bitcoin-core.js"))
        .env("NODE_PATH", dir.join("node_modules"))
        .env("WALLET_HOST", format!("http://127.0.0.1:{}", service.port))
        .env("WALLET_USER", user)
        .env("WALLET_PASSWORD", password)
        .env("NODE_HOST", format!("http://127.0.0.1:{}", node.rpc_port))
        .env("NODE_USER", node_user)
        .env("NODE_PASSWORD", node_password)
        .output()
        .expect("run node");
    assert_ran("npm bitcoin-core against the wallet service", &out);
}

/// A node and a wallet service for the PSBT scripts, with each one's `user:password`.
fn node_and_wallet_service() -> (TestNode, WalletServiceProcess, String, String) {
    let node = TestNode::start(&[]);
    let service = WalletServiceProcess::start(&node, &[]);
    let wallet_cookie = std::fs::read_to_string(service.cookie_file()).expect("wallet cookie");
    let node_cookie = std::fs::read_to_string(node.datadir().join(".cookie")).expect("cookie");
    (
        node,
        service,
        node_cookie.trim().to_owned(),
        wallet_cookie.trim().to_owned(),
    )
}

#[test]
fn python_bitcoinlib_rawproxy_psbt_calls() {
    let dir = python_bitcoinlib();
    let (node, service, node_auth, wallet_auth) = node_and_wallet_service();
    let (_, payee) = test_keypair();
    let out = Command::new("python3")
        .arg(script("psbt_rawproxy.py"))
        .env("PYTHONPATH", &dir)
        .env(
            "WALLET_URL",
            format!("http://{wallet_auth}@127.0.0.1:{}", service.port),
        )
        .env(
            "NODE_URL",
            format!("http://{node_auth}@127.0.0.1:{}", node.rpc_port),
        )
        .env("DOTCOIN_ADDRESS", &payee)
        .output()
        .expect("run python3");
    assert_ran("python-bitcoinlib's RawProxy (PSBT)", &out);
}

#[test]
fn npm_bitcoin_core_client_psbt_calls() {
    let dir = npm_bitcoin_core();
    let (node, service, node_auth, wallet_auth) = node_and_wallet_service();
    let split = |auth: &str| {
        let (u, p) = auth.split_once(':').expect("user:password");
        (u.to_owned(), p.to_owned())
    };
    let (node_user, node_password) = split(&node_auth);
    let (wallet_user, wallet_password) = split(&wallet_auth);
    let (_, payee) = test_keypair();
    let out = Command::new("node")
        .arg(script("psbt-bitcoin-core.js"))
        .env("NODE_PATH", dir.join("node_modules"))
        .env("NODE_HOST", format!("http://127.0.0.1:{}", node.rpc_port))
        .env("NODE_USER", node_user)
        .env("NODE_PASSWORD", node_password)
        .env("WALLET_HOST", format!("http://127.0.0.1:{}", service.port))
        .env("WALLET_USER", wallet_user)
        .env("WALLET_PASSWORD", wallet_password)
        .env("DOTCOIN_ADDRESS", &payee)
        .output()
        .expect("run node");
    assert_ran("npm bitcoin-core (PSBT)", &out);
}

#[test]
fn python_bitcoinlib_rawproxy_spending_calls() {
    let dir = python_bitcoinlib();
    let (node, service, node_auth, wallet_auth) = node_and_wallet_service();
    let (_, payee) = test_keypair();
    let out = Command::new("python3")
        .arg(script("spend_rawproxy.py"))
        .env("PYTHONPATH", &dir)
        .env(
            "WALLET_URL",
            format!("http://{wallet_auth}@127.0.0.1:{}", service.port),
        )
        .env(
            "NODE_URL",
            format!("http://{node_auth}@127.0.0.1:{}", node.rpc_port),
        )
        .env("DOTCOIN_ADDRESS", &payee)
        .output()
        .expect("run python3");
    assert_ran("python-bitcoinlib's RawProxy (spending calls)", &out);
}

#[test]
fn npm_bitcoin_core_client_spending_calls() {
    let dir = npm_bitcoin_core();
    let (node, service, node_auth, wallet_auth) = node_and_wallet_service();
    let split = |auth: &str| {
        let (u, p) = auth.split_once(':').expect("user:password");
        (u.to_owned(), p.to_owned())
    };
    let (node_user, node_password) = split(&node_auth);
    let (wallet_user, wallet_password) = split(&wallet_auth);
    let (_, payee) = test_keypair();
    let out = Command::new("node")
        .arg(script("spend-bitcoin-core.js"))
        .env("NODE_PATH", dir.join("node_modules"))
        .env("NODE_HOST", format!("http://127.0.0.1:{}", node.rpc_port))
        .env("NODE_USER", node_user)
        .env("NODE_PASSWORD", node_password)
        .env("WALLET_HOST", format!("http://127.0.0.1:{}", service.port))
        .env("WALLET_USER", wallet_user)
        .env("WALLET_PASSWORD", wallet_password)
        .env("DOTCOIN_ADDRESS", &payee)
        .output()
        .expect("run node");
    assert_ran("npm bitcoin-core (spending calls)", &out);
}

/// A wallet service whose wallets directory also holds `legacy.json`, the version-1
/// fixture, not loaded: what the descriptor scripts migrate.
fn service_with_legacy_wallet() -> (TestNode, WalletServiceProcess, String, String) {
    let (node, service, node_auth, wallet_auth) = node_and_wallet_service();
    let fixture =
        dotcoin_functional_tests::workspace_root().join("tests/fixtures/legacy-wallet-v1.json");
    std::fs::copy(fixture, service.datadir.join("regtest/wallets/legacy.json"))
        .expect("copy the fixture");
    (node, service, node_auth, wallet_auth)
}

#[test]
fn python_bitcoinlib_rawproxy_descriptor_wallet_calls() {
    let dir = python_bitcoinlib();
    let (node, service, node_auth, wallet_auth) = service_with_legacy_wallet();
    let out = Command::new("python3")
        .arg(script("descriptors_rawproxy.py"))
        .env("PYTHONPATH", &dir)
        .env(
            "WALLET_URL",
            format!("http://{wallet_auth}@127.0.0.1:{}", service.port),
        )
        .env(
            "NODE_URL",
            format!("http://{node_auth}@127.0.0.1:{}", node.rpc_port),
        )
        .output()
        .expect("run python3");
    assert_ran("python-bitcoinlib's RawProxy (descriptor wallets)", &out);
}

#[test]
fn npm_bitcoin_core_client_descriptor_wallet_calls() {
    let dir = npm_bitcoin_core();
    let (_node, service, _node_auth, wallet_auth) = service_with_legacy_wallet();
    let (user, password) = wallet_auth.split_once(':').expect("user:password");
    let out = Command::new("node")
        .arg(script("descriptors-bitcoin-core.js"))
        .env("NODE_PATH", dir.join("node_modules"))
        .env("WALLET_HOST", format!("http://127.0.0.1:{}", service.port))
        .env("WALLET_USER", user)
        .env("WALLET_PASSWORD", password)
        .output()
        .expect("run node");
    assert_ran("npm bitcoin-core (descriptor wallets)", &out);
}
