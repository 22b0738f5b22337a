//! dotcoin-wallet: a separate program that holds the private keys, builds and signs
//! transactions, and asks the node only for public data (`getaddressutxos`,
//! `getaddresstxids`, `getrawtransaction`, `getblockchaininfo`) before handing it a signed
//! transaction (`sendrawtransaction`). The node never sees a key.
//!
//! Bird's eye view (STYLE item 18: the core does no I/O, it stages changes a persister
//! writes atomically):
//! - [`wallet`]: the core — the versioned wallet document, keys and keypool, encryption,
//!   balances, and [`wallet::Wallet::prepare_send`]; every change is staged in a
//!   [`wallet::ChangeSet`].
//! - [`coinselect`] and [`txbuild`]: pure coin selection and fee/change/signing.
//! - [`crypto`]: Argon2id + XChaCha20-Poly1305 over bytes.
//! - [`persist`]: the only file I/O — paths, loading, atomic 0600 writes, backups.
//! - [`node`]: the [`node::NodeApi`] trait, typed RPC helpers and the real client.
//! - [`passphrase`]: `--passphrase-file` or a no-echo terminal prompt.
//! - [`commands`]: one function per command, tying the above together.
//! - [`cli`] and [`output`]: the command line in, JSON and messages out.
//! - [`psbt`]: the PSBT updater and signer (`walletprocesspsbt`, `signpsbt`).
//! - [`service`]: `dotcoin-wallet serve`, the same wallets behind Bitcoin Core's wallet
//!   RPCs on a port of their own, following the node's chain.

pub mod cli;
pub mod coinselect;
pub mod commands;
pub mod crypto;
pub mod descriptor;
pub mod error;
pub mod fund;
pub mod hd;
pub mod history;
pub mod node;
pub mod output;
pub mod passphrase;
pub mod persist;
pub mod psbt;
pub mod restore;
pub mod service;
pub mod txbuild;
pub mod wallet;

use std::process::ExitCode;

use clap::Parser;
use dotcoin_common::params::default_base_datadir;
use dotcoin_common::Network;

pub use error::WalletError;
pub use wallet::Wallet;

use crate::cli::Cli;
use crate::commands::Context;
use crate::crypto::KdfParams;
use crate::passphrase::PassphraseSource;
use crate::persist::Store;

/// Runs the program with the process's arguments; returns the exit status.
pub fn run() -> ExitCode {
    // Everything the wallet creates (wallet files, backups, its cookie and log) is private
    // to its user, whatever the caller's umask, as Bitcoin Core's is.
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    let cli = Cli::parse_from(cli::normalize_args(std::env::args_os()));
    if let cli::Command::Serve { .. } = cli.command {
        return service::run(&cli);
    }
    match run_cli(&cli) {
        Ok(outcome) => {
            output::print_outcome(&outcome);
            ExitCode::SUCCESS
        }
        Err(e) => {
            output::print_error(&e);
            ExitCode::FAILURE
        }
    }
}

/// Runs a parsed command line against the real node.
pub fn run_cli(cli: &Cli) -> Result<output::Outcome, WalletError> {
    let network = if cli.regtest {
        Network::Regtest
    } else {
        Network::Main
    };
    let base = cli.datadir.clone().unwrap_or_else(default_base_datadir);
    let store = Store::new(persist::wallet_path(&base, network, &cli.wallet)?);
    // Held for the whole command. A running wallet service that owns the file answers
    // the commands it has an RPC for.
    let _lock = match store.lock() {
        Ok(lock) => lock,
        Err(WalletError::InUse(path)) => {
            return service::client::forward(cli, network, &base)
                .unwrap_or(Err(WalletError::InUse(path)))
        }
        Err(e) => return Err(e),
    };
    let ctx = Context {
        network,
        store,
        passphrase: PassphraseSource::detect(cli.passphrase_file.clone()),
        kdf: KdfParams::DEFAULT,
    };
    let mut options = dotcoin_rpc_client::ConnectOptions::new(network);
    options.datadir = Some(base);
    options.rpcconnect = cli.rpcconnect.clone();
    options.rpcport = cli.rpcport;
    options.rpcuser = cli.rpcuser.clone();
    options.rpcpassword = cli.rpcpassword.clone();
    options.rpcwait = cli.rpcwait;
    let node = node::RpcNode::new(options);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| WalletError::Node(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(commands::execute(&ctx, &cli.command, &node))
}
