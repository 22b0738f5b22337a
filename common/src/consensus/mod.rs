//! Consensus rules: one function per rule, one [`ValidationError`] variant per rule.
//!
//! - [`block`]: context-free block checks (size, merkle root, coinbase position, proof of
//!   work) and the block-level checks that need the UTXO set (no output spent twice in the
//!   block, coinbase value ≤ subsidy + fees).
//! - [`header`]: contextual header checks (expected `bits`, median time past, future time).
//! - [`tx`]: context-free transaction checks and checks against a [`UtxoView`].
//!
//! The node and the tests both validate through these functions; the node adds only
//! storage and parallelism around them.

pub mod block;
mod error;
pub mod header;
pub mod tx;

pub use error::ValidationError;

use crate::primitives::{OutPoint, TxOut};

/// Largest serialized block.
pub const MAX_BLOCK_SIZE: usize = 1_000_000;
/// Largest coinbase witness (miner data, extra-nonce).
pub const MAX_COINBASE_WITNESS: usize = 100;
/// Size of a spending input's witness: one BIP340 signature.
pub const SIGNATURE_SIZE: usize = 64;

/// An unspent output with what validation needs to know about where it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Coin {
    /// The output.
    pub output: TxOut,
    /// Height of the block that created it.
    pub height: u32,
    /// Whether a coinbase created it (and so it must mature).
    pub is_coinbase: bool,
}
crate::impl_consensus_encoding!(Coin, output: TxOut, height: u32, is_coinbase: bool);

/// Read access to a set of unspent outputs: the node's RocksDB set, the mempool's view on
/// top of it, or a test's in-memory map.
pub trait UtxoView {
    /// The unspent output at `outpoint`, if there is one.
    fn coin(&self, outpoint: &OutPoint) -> Option<Coin>;
}

impl UtxoView for std::collections::HashMap<OutPoint, Coin> {
    fn coin(&self, outpoint: &OutPoint) -> Option<Coin> {
        self.get(outpoint).copied()
    }
}

impl<T: UtxoView + ?Sized> UtxoView for &T {
    fn coin(&self, outpoint: &OutPoint) -> Option<Coin> {
        (**self).coin(outpoint)
    }
}
