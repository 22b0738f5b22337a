//! The command line: global options (network, datadir, how to reach the node, which
//! wallet) and one subcommand per wallet command, named as in Bitcoin Core.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::builder::TypedValueParser as _;
use clap::{Parser, Subcommand};

/// dotcoin-wallet: holds the keys, builds and signs transactions, and asks the node only
/// for public data.
#[derive(Debug, Parser)]
#[command(name = "dotcoin-wallet", version, about, long_about = None)]
pub struct Cli {
    /// Use the regtest network.
    #[arg(long, global = true)]
    pub regtest: bool,
    /// Base data directory (default ~/.dotcoin); regtest uses its `regtest/` subdirectory.
    #[arg(long, global = true, value_name = "DIR")]
    pub datadir: Option<PathBuf>,
    /// Node RPC host.
    #[arg(long, global = true, value_name = "HOST", default_value = "127.0.0.1")]
    pub rpcconnect: String,
    /// Node RPC port (default: the network's).
    #[arg(long, global = true, value_name = "PORT")]
    pub rpcport: Option<u16>,
    /// RPC user (default: the node's cookie file in the datadir).
    #[arg(long, global = true, value_name = "USER")]
    pub rpcuser: Option<String>,
    /// RPC password.
    #[arg(long, global = true, value_name = "PASSWORD")]
    pub rpcpassword: Option<String>,
    /// Wait for the node's RPC server to come up.
    #[arg(long, global = true)]
    pub rpcwait: bool,
    /// Wallet name: the file `<datadir>/wallets/<NAME>.json`.
    #[arg(long, global = true, value_name = "NAME", default_value = "default")]
    pub wallet: String,
    /// Read the passphrase of an encrypted wallet from the first line of FILE (otherwise
    /// it is asked on the terminal).
    #[arg(long, global = true, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Wallet commands.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Create a new wallet file (never overwrites one) with fresh seed words, printed
    /// this once: write them down.
    Create {
        /// How many keys to derive ahead on each chain (the keypool).
        #[arg(long, default_value_t = crate::wallet::DEFAULT_KEYPOOL_SIZE)]
        keypool: usize,
        /// Seed words: 12 or 24.
        #[arg(long, default_value_t = 12,
              value_parser = clap::builder::PossibleValuesParser::new(["12", "24"])
                  .map(|s| s.parse::<usize>().expect("12 or 24")))]
        words: usize,
    },
    /// Print a new address (a fresh key from the keypool).
    Getnewaddress {
        /// A label to remember it by.
        label: Option<String>,
    },
    /// List the wallet's addresses with their labels.
    Listaddresses,
    /// Print the confirmed, unconfirmed and immature balances in DOT.
    Getbalance,
    /// List the wallet's unspent outputs.
    Listunspent,
    /// Send DOT to an address; prints the txid.
    Send {
        /// Destination address.
        address: String,
        /// Amount in DOT (up to 8 decimals).
        #[arg(allow_hyphen_values = true)]
        amount: String,
        /// Fee rate in base units per byte.
        #[arg(long, value_name = "N", default_value_t = 2)]
        fee_rate: u64,
        /// Pay the fee out of the amount (the recipient gets less).
        #[arg(long)]
        subtract_fee: bool,
    },
    /// Send to several addresses in one transaction; prints the txid.
    Sendmany {
        /// A JSON object of address to amount in DOT, e.g. '{"dcrt1p…": 1.5, "dcrt1p…": "0.25"}'.
        #[arg(allow_hyphen_values = true)]
        amounts: String,
        /// Fee rate in base units per byte.
        #[arg(long, value_name = "N", default_value_t = 2)]
        fee_rate: u64,
    },
    /// Print the secret key of an address as WIF (dotcoin's version bytes).
    Dumpprivkey {
        /// One of the wallet's addresses.
        address: String,
    },
    /// Add a secret key (WIF, or 64 hex characters); its history comes from the node's address index.
    Importprivkey {
        /// The secret key: WIF, or 64 hex characters.
        privkey: String,
        /// A label.
        label: Option<String>,
    },
    /// List the wallet's transactions, oldest first.
    Listtransactions,
    /// Describe the wallet file.
    Info,
    /// Encrypt the private keys with a passphrase.
    Encrypt,
    /// Run the wallet service: Bitcoin Core's wallet RPCs over JSON-RPC on 127.0.0.1, with
    /// the cookie `<network datadir>/.wallet-cookie`. Loads `--wallet` (created if it does
    /// not exist) and every `--load`.
    Serve {
        /// Port to listen on (default: the node's RPC port + 3; 0 picks a free one, written
        /// to `<network datadir>/wallet-service.ports`).
        #[arg(long, value_name = "P")]
        port: Option<u16>,
        /// Another wallet to load at start (repeatable).
        #[arg(long, value_name = "NAME")]
        load: Vec<String>,
        /// Highest total fee of one transaction, in DOT (Bitcoin Core's -maxtxfee).
        #[arg(long, value_name = "DOT", default_value = "0.10")]
        maxtxfee: String,
        /// Seconds a connection may take to send a request's head or body, may stay idle,
        /// and a write to it may stall, before it is closed (Core's -rpcservertimeout; 1 to
        /// 3600).
        #[arg(long, value_name = "SECONDS", default_value_t = 30,
              value_parser = clap::value_parser!(u64).range(1..=3600))]
        rpcservertimeout: u64,
        /// The faucet (`POST /faucet`, regtest only).
        #[command(flatten)]
        faucet: crate::service::faucet::FaucetArgs,
    },
    /// Write a copy of the wallet file to DESTINATION (a file or a directory).
    Backupwallet {
        /// Where to write the copy.
        destination: PathBuf,
    },
    /// Sign the PSBT in FILE (base64) with the wallet's keys, offline: no node and no
    /// network are used. The signed PSBT replaces FILE's content and is printed.
    Signpsbt {
        /// The PSBT file, rewritten in place.
        file: PathBuf,
    },
    /// Restore a wallet from its seed words, read from the terminal or stdin (first line
    /// the words, second line the BIP39 passphrase if any), never from the command line;
    /// the node's address index tells which keys were used.
    Restore {
        /// Unused addresses in a row that end the scan of a chain.
        #[arg(long, default_value_t = crate::hd::DEFAULT_GAP_LIMIT,
              value_parser = clap::value_parser!(u32).range(1..=100_000))]
        gaplimit: u32,
        /// How many keys to derive ahead on each chain (the keypool).
        #[arg(long, default_value_t = crate::wallet::DEFAULT_KEYPOOL_SIZE)]
        keypool: usize,
    },
    /// List the wallet's descriptors as Core's `listdescriptors` does (public forms, or
    /// private ones with `true`).
    Listdescriptors {
        /// Show the private forms (asks the passphrase of an encrypted wallet).
        #[arg(action = clap::ArgAction::Set, default_value_t = false)]
        private: bool,
    },
}

/// Options spelt the Bitcoin Core way (`-regtest`, `-rpcport=18632`) are rewritten to
/// the double-dash form. Only known option names are touched, so `-1` stays an amount.
pub fn normalize_args(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    const LONG: &[&str] = &[
        "regtest",
        "datadir",
        "rpcconnect",
        "rpcport",
        "rpcuser",
        "rpcpassword",
        "rpcwait",
        "wallet",
        "passphrase-file",
        "fee-rate",
        "subtract-fee",
        "keypool",
        "port",
        "load",
        "maxtxfee",
        "words",
        "gaplimit",
    ];
    args.into_iter()
        .map(|arg| {
            let Some(s) = arg.to_str() else { return arg };
            let Some(rest) = s.strip_prefix('-').filter(|r| !r.starts_with('-')) else {
                return arg;
            };
            let name = rest.split('=').next().unwrap_or_default();
            if LONG.contains(&name) {
                OsString::from(format!("-{s}"))
            } else {
                arg
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Cli {
        Cli::try_parse_from(normalize_args(args.iter().map(OsString::from))).expect("parses")
    }

    #[test]
    fn single_dash_and_global_options() {
        let cli = parse(&["dotcoin-wallet", "-regtest", "-rpcport=1234", "getbalance"]);
        assert!(cli.regtest);
        assert_eq!(cli.rpcport, Some(1234));
        let cli = parse(&["dotcoin-wallet", "getnewaddress", "lbl", "--wallet", "bob"]);
        assert_eq!(cli.wallet, "bob");
        assert!(matches!(cli.command, Command::Getnewaddress { label: Some(ref l) } if l == "lbl"));
    }

    #[test]
    fn the_service_timeout_is_bounded() {
        let cli = parse(&["dotcoin-wallet", "serve", "--rpcservertimeout", "5"]);
        assert!(matches!(
            cli.command,
            Command::Serve {
                rpcservertimeout: 5,
                ..
            }
        ));
        let cli = parse(&["dotcoin-wallet", "serve"]);
        assert!(matches!(
            cli.command,
            Command::Serve {
                rpcservertimeout: 30,
                ..
            }
        ));
        for bad in ["0", "3601", "-1", "18446744073709551616"] {
            let args = ["dotcoin-wallet", "serve", "--rpcservertimeout", bad];
            assert!(Cli::try_parse_from(args).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn negative_amount_reaches_the_wallet() {
        let cli = parse(&[
            "dotcoin-wallet",
            "send",
            "dcrt1pxyz",
            "-1",
            "--fee-rate",
            "5",
        ]);
        match cli.command {
            Command::Send {
                amount,
                fee_rate,
                subtract_fee,
                ..
            } => {
                assert_eq!(amount, "-1");
                assert_eq!(fee_rate, 5);
                assert!(!subtract_fee);
            }
            other => panic!("parsed {other:?}"),
        }
    }
}
