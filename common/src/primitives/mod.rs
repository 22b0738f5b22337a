//! The data types of the chain: amounts, transactions, headers and blocks, with their
//! consensus encodings.

mod amount;
mod block;
mod transaction;

pub use amount::{Amount, AmountParseError, COIN, MAX_MONEY};
pub use block::{Block, BlockHeader, CompactTarget, HEADER_SIZE};
pub use transaction::{OutPoint, PubKey, Transaction, TxIn, TxOut};
