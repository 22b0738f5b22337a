//! The one error type of the wallet. Every message is what the user reads after
//! `error: `, so each names the problem and, where there is one, the way out.

use std::path::PathBuf;

use dotcoin_common::{AddressError, Amount, Network};
use thiserror::Error;

/// Everything that can go wrong in a wallet command.
#[derive(Debug, Error)]
pub enum WalletError {
    /// `create` never overwrites a wallet (it may hold the only copy of a key).
    #[error("wallet file {} already exists; refusing to overwrite it", .0.display())]
    AlreadyExists(PathBuf),
    /// The wallet file is missing.
    #[error("wallet file {} not found (create it with `dotcoin-wallet create`)", .0.display())]
    NotFound(PathBuf),
    /// `--wallet` must name a file in the wallets directory, not a path.
    #[error(
        "invalid wallet name '{0}': use letters, digits, '_', '-' and '.', not starting with '.'"
    )]
    BadWalletName(String),
    /// The file is not JSON of the wallet format, or its content is inconsistent.
    #[error("wallet file {} is corrupt: {reason}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A format version this program does not know.
    #[error(
        "wallet file version {found} is not supported (this program reads version {supported})"
    )]
    UnsupportedVersion {
        /// Version in the file.
        found: u32,
        /// The version this program reads and writes.
        supported: u32,
    },
    /// The wallet belongs to the other network.
    #[error("wallet is for network {found}, not {expected} (use --regtest for a regtest wallet)")]
    WalletNetwork {
        /// The network asked for.
        expected: Network,
        /// The wallet's network.
        found: Network,
    },
    /// Reading or writing a file failed.
    #[error("{action} {}: {source}", path.display())]
    Io {
        /// What was being done ("cannot write wallet file").
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },

    /// A destination address that does not parse or is of another network.
    #[error("invalid address '{address}': {source}")]
    BadAddress {
        /// What the user typed.
        address: String,
        /// Why it is refused.
        #[source]
        source: AddressError,
    },
    /// An amount that is not a DOT amount.
    #[error("{0}")]
    BadAmount(String),
    /// Zero (or a negative number).
    #[error("invalid amount '{0}': the amount must be greater than zero")]
    NonPositiveAmount(String),
    /// An output below the dust threshold would not be relayed.
    #[error("amount {amount} DOT is below the dust threshold of {dust} DOT")]
    DustAmount {
        /// The amount.
        amount: Amount,
        /// The threshold.
        dust: Amount,
    },
    /// The fee rate is below the node's minimum relay fee rate.
    #[error("fee rate {0} is below the minimum relay fee rate of 1 unit per byte (1000 sat/kvB)")]
    FeeRateTooLow(dotcoin_common::FeeRate),
    /// `sendmany`'s argument.
    #[error("invalid sendmany argument: {0}")]
    BadSendMany(String),
    /// The amount alone is more than the spendable balance.
    #[error(
        "insufficient funds: sending {amount} DOT, but the spendable balance is {balance} DOT"
    )]
    InsufficientFunds {
        /// What was asked.
        amount: Amount,
        /// Spendable balance (mature, not spent by the mempool).
        balance: Amount,
    },
    /// The payment's fee is over the cap the wallet service runs with (`--maxtxfee`);
    /// the text is Core's.
    #[error("Fee exceeds maximum configured by user (e.g. -maxtxfee, maxfeerate)")]
    FeeExceedsMax {
        /// The fee the payment would pay.
        fee: Amount,
        /// The cap.
        max: Amount,
    },
    /// The amount fits the balance but the fee does not.
    #[error(
        "insufficient funds: sending {amount} DOT plus a fee of about {fee} DOT exceeds the \
         spendable balance of {balance} DOT (use --subtract-fee to pay the fee from the amount)"
    )]
    InsufficientFundsForFee {
        /// What was asked.
        amount: Amount,
        /// The fee estimate.
        fee: Amount,
        /// Spendable balance.
        balance: Amount,
    },
    /// With `--subtract-fee`, the fee eats the amount.
    #[error("amount {amount} DOT is too small to pay the fee of {fee} DOT and stay above dust")]
    AmountTooSmallForFee {
        /// The amount.
        amount: Amount,
        /// The fee.
        fee: Amount,
    },

    /// `dumpprivkey` of an address the wallet does not hold.
    #[error("address {0} does not belong to this wallet")]
    UnknownAddress(String),
    /// `importprivkey` of something that is not a secret key.
    #[error("invalid private key: {0}")]
    BadPrivateKey(String),

    /// A passphrase call on a wallet that is not encrypted.
    #[error("wallet is not encrypted")]
    NotEncrypted,
    /// Another process holds the wallet file.
    #[error(
        "wallet file {} is in use by another dotcoin-wallet process (a running `dotcoin-wallet \
         serve`? then ask it: dotcoin-cli -rpcwallet=<name> <command>)",
        .0.display()
    )]
    InUse(PathBuf),
    /// `encrypt` of an encrypted wallet.
    #[error("wallet is already encrypted")]
    AlreadyEncrypted,
    /// The passphrase does not open the wallet.
    #[error("incorrect passphrase; the wallet was not changed")]
    WrongPassphrase,
    /// A command needs the passphrase and there is no way to ask for it.
    #[error(
        "wallet is encrypted and {purpose} needs the passphrase: give --passphrase-file FILE \
         or run on a terminal to be prompted"
    )]
    PassphraseNeeded {
        /// What needs it ("signing").
        purpose: &'static str,
    },
    /// `encrypt` has no way to ask for the new passphrase.
    #[error(
        "encrypt needs a new passphrase: give --passphrase-file FILE or run on a terminal to \
         be prompted"
    )]
    NewPassphraseNeeded,
    /// An encrypted wallet's keypool is empty and the wallet is locked.
    #[error(
        "keypool is empty and the wallet is encrypted: the passphrase is needed to generate \
         new keys (give --passphrase-file FILE or run on a terminal)"
    )]
    KeypoolEmptyLocked,
    /// An empty passphrase protects nothing.
    #[error("passphrase is empty")]
    EmptyPassphrase,
    /// The two entries at the `encrypt` prompt differ.
    #[error("passphrases do not match; the wallet was not changed")]
    PassphraseMismatch,
    /// Key derivation or the cipher failed for a reason other than a wrong passphrase.
    #[error("encryption error: {0}")]
    Crypto(String),

    /// The node answered with an RPC error.
    #[error("node returned error {code}: {message}")]
    NodeRpc {
        /// Bitcoin Core error code.
        code: i64,
        /// The node's message.
        message: String,
    },
    /// The node could not be reached, or answered something unexpected.
    #[error("node: {0}")]
    Node(String),
    /// A transaction could not be built or signed (a bug or a corrupt wallet).
    #[error("cannot build transaction: {0}")]
    Build(String),
    /// BIP39 words that do not make a seed.
    #[error("invalid seed words: {0}")]
    BadSeed(String),
    /// A descriptor that does not parse or does not fit the call.
    #[error("{0}")]
    BadDescriptor(String),
    /// The wallet was made without private keys (watch-only).
    #[error("this wallet has private keys disabled (watch-only): it cannot {0}")]
    PrivateKeysDisabled(&'static str),
    /// A descriptor wallet without an active descriptor for new addresses (watch-only or
    /// blank, before `importdescriptors`). Core's text.
    #[error("Error: This wallet has no available keys")]
    NoAvailableKeys,
    /// A PSBT file that is not a PSBT (BIP174's reasons, in Core's words).
    #[error("invalid PSBT: {0}")]
    BadPsbt(String),
}

impl WalletError {
    /// An [`WalletError::Io`] for `path`.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        WalletError::Io {
            action,
            path: path.into(),
            source,
        }
    }
}
