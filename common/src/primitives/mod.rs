//! The data types of the chain: amounts, fee rates, transactions, headers and blocks, with
//! their consensus encodings.

mod amount;
mod block;
mod feerate;
mod transaction;

pub use amount::{Amount, AmountParseError, SignedAmount, COIN, DUST_THRESHOLD, MAX_MONEY};
pub use block::{Block, BlockHeader, CompactTarget, HEADER_SIZE};
pub use feerate::FeeRate;
pub use transaction::{OutPoint, PubKey, Transaction, TxIn, TxOut};
