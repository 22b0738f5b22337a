//! What a peer can do wrong, and what each costs: the one table of ban scores.

use dotcoin_common::{BlockHash, Txid};

/// Points at which a peer is disconnected and its address banned.
pub const BAN_THRESHOLD: u32 = 100;

/// A peer's offence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Misbehaviour {
    /// A frame that breaks the framing rules (size, checksum, command).
    BadFrame(String),
    /// A message whose payload does not decode.
    Malformed {
        /// The command.
        command: String,
        /// The decode error.
        error: String,
    },
    /// A message other than `version`/`verack` before the handshake finished.
    BeforeHandshake(&'static str),
    /// `version` or `verack` again after the handshake.
    RepeatedHandshake,
    /// A `headers` message whose headers do not chain.
    NonContinuousHeaders,
    /// Too many `headers` messages that do not connect to anything known.
    UnconnectingHeaders,
    /// A header that breaks a consensus rule.
    InvalidHeader(String),
    /// A block that breaks a consensus rule.
    InvalidBlock {
        /// The block.
        hash: BlockHash,
        /// The rule it broke.
        error: String,
    },
    /// A transaction that breaks a consensus rule.
    InvalidTransaction {
        /// The transaction.
        txid: Txid,
        /// The rule it broke.
        error: String,
    },
    /// A coinbase relayed as a loose transaction.
    CoinbaseAsTransaction(Txid),
    /// Headers of a chain with too little work to ever be the best (a cheap fork that
    /// would fill the index). Light: an honest peer on a long-lost fork sends these too.
    LowWorkHeaders {
        /// The run's last header.
        last: BlockHash,
        /// Headers in the run.
        count: usize,
    },
    /// Transactions it announced, we asked for, and it neither sent nor answered
    /// `notfound` for within the request timeout: announcing to waste our requests.
    UnansweredTxRequests(usize),
    /// A transaction a plugin's `mempool_accept` hook refused since the tip last
    /// changed, sent again without being asked for: the refusal is not announced
    /// anywhere, so an honest peer learns nothing new by resending it, and each resend
    /// would be one more hook call.
    RefusedTransactionResent(Txid),
    /// A `blocktxn` that does not answer our `getblocktxn` (another number of
    /// transactions than asked for).
    NonMatchingBlockTxn(BlockHash),
    /// A `getblocktxn` asking for indexes past the block's transactions.
    OutOfBoundsBlockTxnIndexes(BlockHash),
}

impl Misbehaviour {
    /// The points it costs.
    pub fn score(&self) -> u32 {
        match self {
            Misbehaviour::BadFrame(_)
            | Misbehaviour::Malformed { .. }
            | Misbehaviour::InvalidHeader(_)
            | Misbehaviour::InvalidBlock { .. }
            | Misbehaviour::CoinbaseAsTransaction(_)
            | Misbehaviour::NonMatchingBlockTxn(_)
            | Misbehaviour::OutOfBoundsBlockTxnIndexes(_) => BAN_THRESHOLD,
            Misbehaviour::NonContinuousHeaders | Misbehaviour::UnconnectingHeaders => 20,
            Misbehaviour::BeforeHandshake(_)
            | Misbehaviour::InvalidTransaction { .. }
            | Misbehaviour::RefusedTransactionResent(_)
            | Misbehaviour::LowWorkHeaders { .. } => 10,
            Misbehaviour::RepeatedHandshake => 1,
            Misbehaviour::UnansweredTxRequests(n) => (*n).min(BAN_THRESHOLD as usize) as u32,
        }
    }
}

impl std::fmt::Display for Misbehaviour {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Misbehaviour::BadFrame(e) => write!(f, "{e}"),
            Misbehaviour::Malformed { command, error } => write!(f, "malformed {command}: {error}"),
            Misbehaviour::BeforeHandshake(c) => write!(f, "{c} before the handshake completed"),
            Misbehaviour::RepeatedHandshake => write!(f, "repeated version/verack"),
            Misbehaviour::NonContinuousHeaders => write!(f, "non-continuous headers sequence"),
            Misbehaviour::UnconnectingHeaders => write!(f, "too many headers that do not connect"),
            Misbehaviour::InvalidHeader(e) => write!(f, "invalid header: {e}"),
            Misbehaviour::InvalidBlock { hash, error } => {
                write!(f, "invalid block {hash}: {error}")
            }
            Misbehaviour::InvalidTransaction { txid, error } => {
                write!(f, "invalid transaction {txid}: {error}")
            }
            Misbehaviour::CoinbaseAsTransaction(txid) => {
                write!(f, "coinbase {txid} relayed as a transaction")
            }
            Misbehaviour::UnansweredTxRequests(n) => {
                write!(f, "{n} transaction requests left unanswered")
            }
            Misbehaviour::RefusedTransactionResent(txid) => {
                write!(
                    f,
                    "transaction {txid}, refused by a plugin, sent again unasked"
                )
            }
            Misbehaviour::NonMatchingBlockTxn(hash) => write!(
                f,
                "invalid compact block/non-matching block transactions for {hash}"
            ),
            Misbehaviour::OutOfBoundsBlockTxnIndexes(hash) => {
                write!(f, "getblocktxn with out-of-bounds tx indices for {hash}")
            }
            Misbehaviour::LowWorkHeaders { last, count } => write!(
                f,
                "{count} headers ending at {last} with too little chain work to store"
            ),
        }
    }
}
