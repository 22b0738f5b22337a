//! Bitcoin Core's RPC error codes (one enum, STYLE item 9), the wallet's errors as Core's
//! codes and messages, and the two wallet-specific readers of a parameter's meaning (an
//! address of the service's network, a label). A parameter's JSON type is checked by its
//! declared type (`dotcoin_rpc_server::arg`), by the wire before a handler runs.

use dotcoin_common::{Address, Network};
use jsonrpsee::types::ErrorObjectOwned;

use crate::error::WalletError;

/// The Bitcoin Core error codes the wallet service answers with (`src/rpc/protocol.h`),
/// one enum with the node's.
pub use dotcoin_rpc_server::RpcErrorCode as Code;

/// A failed call: a Core code and its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcFailure {
    /// The JSON-RPC error code.
    pub code: i32,
    /// The message.
    pub message: String,
}

impl RpcFailure {
    /// A failure with one of Core's codes.
    pub fn new(code: Code, message: impl Into<String>) -> RpcFailure {
        RpcFailure {
            code: code as i32,
            message: message.into(),
        }
    }
}

impl From<RpcFailure> for ErrorObjectOwned {
    fn from(f: RpcFailure) -> Self {
        ErrorObjectOwned::owned(f.code, f.message, None::<()>)
    }
}

/// Core's text for a locked wallet.
pub const UNLOCK_NEEDED: &str =
    "Error: Please enter the wallet passphrase with walletpassphrase first.";

impl From<WalletError> for RpcFailure {
    fn from(e: WalletError) -> Self {
        use WalletError as W;
        let (code, message) = match &e {
            W::BadAddress { address, source } => (
                Code::InvalidAddressOrKey,
                format!("Invalid address '{address}': {source}"),
            ),
            W::BadAmount(m) => (Code::Type, format!("Invalid amount: {m}")),
            W::NonPositiveAmount(_) => (Code::Type, "Invalid amount for send".to_owned()),
            W::BadSendMany(m) => (Code::InvalidParameter, format!("Invalid parameter, {m}")),
            W::DustAmount { .. }
            | W::FeeRateTooLow(_)
            | W::InsufficientFunds { .. }
            | W::InsufficientFundsForFee { .. }
            | W::AmountTooSmallForFee { .. }
            | W::FeeExceedsMax { .. } => (Code::InsufficientFunds, e.to_string()),
            W::UnknownAddress(a) => (
                Code::Wallet,
                format!("Private key for address {a} is not known"),
            ),
            W::BadPrivateKey(m) => (
                Code::InvalidAddressOrKey,
                format!("Invalid private key encoding: {m}"),
            ),
            W::AlreadyEncrypted => (
                Code::WrongEncState,
                "Error: running with an encrypted wallet, but encryptwallet was called.".to_owned(),
            ),
            W::NotEncrypted => (
                Code::WrongEncState,
                "Error: running with an unencrypted wallet, but a passphrase call was made."
                    .to_owned(),
            ),
            W::WrongPassphrase => (
                Code::PassphraseIncorrect,
                "Error: The wallet passphrase entered was incorrect.".to_owned(),
            ),
            W::PassphraseNeeded { .. } => (Code::UnlockNeeded, UNLOCK_NEEDED.to_owned()),
            W::KeypoolEmptyLocked => (
                Code::KeypoolRanOut,
                "Error: Keypool ran out, please call walletpassphrase to refill it first"
                    .to_owned(),
            ),
            W::EmptyPassphrase => (
                Code::InvalidParameter,
                "passphrase can not be empty".to_owned(),
            ),
            W::NodeRpc { code, message } => {
                return RpcFailure {
                    code: i32::try_from(*code).unwrap_or(Code::Misc as i32),
                    message: message.clone(),
                }
            }
            W::Node(m) => (Code::Misc, format!("node: {m}")),
            W::BadDescriptor(m) => (Code::InvalidAddressOrKey, m.clone()),
            W::BadSeed(_) => (Code::InvalidParameter, e.to_string()),
            W::NotFound(_) | W::BadWalletName(_) => (Code::WalletNotFound, e.to_string()),
            W::AlreadyExists(_) => (Code::WalletAlreadyExists, e.to_string()),
            _ => (Code::Wallet, e.to_string()),
        };
        RpcFailure::new(code, message)
    }
}

/// The result of a handler.
pub type RpcResult<T> = Result<T, RpcFailure>;

/// A destination address of `network`, or -5.
pub fn address(s: &str, network: Network) -> RpcResult<Address> {
    Address::parse_for(s.trim(), network).map_err(|e| {
        RpcFailure::new(
            Code::InvalidAddressOrKey,
            format!("Invalid address '{s}': {e}"),
        )
    })
}

/// A label: any string but `*`, which Core reserves.
pub fn label(s: Option<&str>) -> RpcResult<String> {
    match s {
        Some("*") => Err(RpcFailure::new(Code::InvalidLabel, "Invalid label name")),
        Some(l) => Ok(l.to_owned()),
        None => Ok(String::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_addresses_as_core_reads_them() {
        assert_eq!(label(None), Ok(String::new()));
        assert_eq!(label(Some("x")), Ok("x".to_owned()));
        assert_eq!(label(Some("*")).expect_err("reserved").code, -11);
        let err = address("bogus", Network::Regtest).expect_err("not an address");
        assert_eq!(err.code, -5);
        assert!(
            err.message.starts_with("Invalid address 'bogus'"),
            "{}",
            err.message
        );
    }
}
