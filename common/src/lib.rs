//! dotcoin's consensus core: everything two dotcoin programs must agree on.
//!
//! - [`hashes`]: the hash newtypes (`BlockHash`, `Txid`, `Wtxid`, `TxMerkleNode`).
//! - [`primitives`]: headers, blocks, transactions, outpoints, amounts and fee rates.
//! - [`encode`]: the one consensus byte encoding, with capped length prefixes.
//! - [`merkle`]: merkle roots over wtxids, with CVE-2012-2459 mutation detection.
//! - [`pow`]: compact targets, chain work, the retarget rule and median time past.
//! - [`params`]: the networks (main, regtest) and their genesis blocks.
//! - [`address`]: bech32m addresses for 32-byte x-only keys.
//! - [`rpc_types`]: the results of the node's RPCs, shared by the node and its clients.
//! - [`events`]: the node's events as every transport carries them (`docs/events.md`).
//! - [`sighash`]: what a signature commits to, and BIP340 verify (and, with the
//!   `signing` feature, sign) helpers.
//! - [`consensus`]: one function and one typed error per consensus rule.
//! - [`psbt`]: BIP174/BIP371 partially signed transactions for dotcoin's transactions.
//!
//! This crate is a leaf: it has no async runtime, database or network code.

pub mod address;
pub mod consensus;
pub mod encode;
pub mod events;
pub mod files;
pub mod hashes;
pub mod merkle;
pub mod params;
pub mod pow;
pub mod primitives;
pub mod psbt;
pub mod psbt_rpc_types;
pub mod rpc_types;
pub mod sighash;
pub mod wallet_rpc_types;

pub use address::{Address, AddressError};
pub use encode::{deserialize, serialize, Decodable, DecodeError, Encodable};
pub use hashes::{BlockHash, TxMerkleNode, Txid, Wtxid};
pub use params::{Network, Params};
pub use primitives::{
    Amount, Block, BlockHeader, FeeRate, OutPoint, PubKey, SignedAmount, Transaction, TxIn, TxOut,
    COIN, DUST_THRESHOLD, MAX_MONEY,
};
