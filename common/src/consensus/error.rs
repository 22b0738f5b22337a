//! The consensus error type: one variant per rule.

use thiserror::Error;

use crate::hashes::{BlockHash, TxMerkleNode, Txid};
use crate::pow::CompactTargetError;
use crate::primitives::{Amount, CompactTarget, OutPoint};
use crate::sighash::SignatureError;

/// A broken consensus rule. The message starts with the rule's short name (Bitcoin Core's
/// reject reason where it has one) and shows the values that broke it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ValidationError {
    // --- block, context-free ---
    /// The serialized block exceeds `MAX_BLOCK_SIZE`.
    #[error("bad-blk-length: block is {size} bytes, limit {max}")]
    BlockTooLarge {
        /// Size of the block.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The header's merkle root is not the root of the block's transactions.
    #[error("bad-txnmrklroot: header commits to {header}, transactions hash to {computed}")]
    BadMerkleRoot {
        /// Root in the header.
        header: TxMerkleNode,
        /// Root of the transactions.
        computed: TxMerkleNode,
    },
    /// The transaction list repeats its last pair (CVE-2012-2459).
    #[error("bad-txns-duplicate: transaction list is a merkle mutation (duplicate pair)")]
    MerkleMutated,
    /// A block must start with a coinbase.
    #[error("bad-cb-missing: first transaction is not a coinbase")]
    FirstTxNotCoinbase,
    /// Only the first transaction may be a coinbase.
    #[error("bad-cb-multiple: transaction {index} is a second coinbase")]
    MultipleCoinbase {
        /// Position of the extra coinbase.
        index: usize,
    },
    /// `bits` is negative, overflows or is zero.
    #[error("bad-diffbits: {0}")]
    BadBitsEncoding(CompactTargetError),
    /// `bits` encodes a target easier than the network allows.
    #[error("bad-diffbits: target of {bits} is easier than the limit {limit}")]
    TargetAbovePowLimit {
        /// The header's bits.
        bits: CompactTarget,
        /// The network's limit.
        limit: CompactTarget,
    },
    /// The header hash does not meet its own target.
    #[error("high-hash: block hash {hash} is above the target of bits {bits}")]
    HighHash {
        /// The header hash.
        hash: BlockHash,
        /// The header's bits.
        bits: CompactTarget,
    },

    // --- header, contextual ---
    /// `bits` is not what the chain expects at this height.
    #[error("bad-diffbits: bits {got} at height {height}, expected {expected}")]
    UnexpectedBits {
        /// Height of the block.
        height: u32,
        /// The header's bits.
        got: CompactTarget,
        /// What the retarget rule gives.
        expected: CompactTarget,
    },
    /// The time is not after the median of the previous 11 blocks.
    #[error("time-too-old: block time {time} is not after median time past {median}")]
    TimeTooOld {
        /// Header time.
        time: u32,
        /// Median of the previous 11 block times.
        median: u32,
    },
    /// The first block of a difficulty period goes back too far before its parent.
    #[error(
        "time-timewarp-attack: block {height} starts a difficulty period at time {time}, more than {max_back}s before its parent's {parent_time}"
    )]
    TimeWarp {
        /// Height of the block.
        height: u32,
        /// Its time.
        time: u32,
        /// Its parent's time.
        parent_time: u32,
        /// Allowed step back.
        max_back: u32,
    },
    /// The time is too far ahead of the node's clock.
    #[error("time-too-new: block time {time} is more than {max_ahead}s after now ({now})")]
    TimeTooNew {
        /// Header time.
        time: u32,
        /// The node's clock.
        now: u64,
        /// Allowed lead.
        max_ahead: u32,
    },

    // --- transaction, context-free ---
    /// No inputs.
    #[error("bad-txns-vin-empty: transaction {txid} has no inputs")]
    NoInputs {
        /// The transaction.
        txid: Txid,
    },
    /// No outputs.
    #[error("bad-txns-vout-empty: transaction {txid} has no outputs")]
    NoOutputs {
        /// The transaction.
        txid: Txid,
    },
    /// The same outpoint is spent twice by one transaction.
    #[error("bad-txns-inputs-duplicate: transaction {txid} spends {outpoint} twice")]
    DuplicateInputs {
        /// The transaction.
        txid: Txid,
        /// The doubly spent outpoint.
        outpoint: OutPoint,
    },
    /// One output's value exceeds `MAX_MONEY`.
    #[error("bad-txns-vout-toolarge: output {index} of {txid} is {value}, above MAX_MONEY")]
    OutputTooLarge {
        /// The transaction.
        txid: Txid,
        /// The output index.
        index: usize,
        /// Its value.
        value: Amount,
    },
    /// The outputs together exceed `MAX_MONEY`.
    #[error("bad-txns-txouttotal-toolarge: outputs of {txid} sum above MAX_MONEY")]
    OutputTotalTooLarge {
        /// The transaction.
        txid: Txid,
    },
    /// A coinbase's miner data exceeds 100 bytes.
    #[error("bad-cb-length: coinbase witness is {len} bytes, limit {max}")]
    CoinbaseWitnessTooLarge {
        /// Witness length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A coinbase's prevout index must be the block height.
    #[error("bad-cb-height: coinbase commits to height {got}, block is at {expected}")]
    CoinbaseHeightMismatch {
        /// Height in the coinbase.
        got: u32,
        /// The block's height.
        expected: u32,
    },
    /// A non-coinbase transaction has an input with the coinbase's zero prevout.
    #[error("bad-txns-prevout-null: input {index} of {txid} has a null prevout")]
    NullPrevout {
        /// The transaction.
        txid: Txid,
        /// The input index.
        index: usize,
    },

    // --- transaction against the UTXO set ---
    /// An input's outpoint is not in the UTXO set.
    #[error("bad-txns-inputs-missingorspent: {outpoint} is missing or spent")]
    MissingOrSpent {
        /// The outpoint.
        outpoint: OutPoint,
    },
    /// A coinbase output is spent before it matured.
    #[error(
        "bad-txns-premature-spend-of-coinbase: {outpoint} has {confirmations} confirmations, \
         needs {required}"
    )]
    PrematureCoinbaseSpend {
        /// The outpoint.
        outpoint: OutPoint,
        /// Its confirmations at the spending height.
        confirmations: u32,
        /// The maturity.
        required: u32,
    },
    /// An input's signature does not verify.
    #[error("bad-txns-signature: input {index} of {txid}: {source}")]
    BadSignature {
        /// The transaction.
        txid: Txid,
        /// The input index.
        index: usize,
        /// What was wrong with it.
        source: SignatureError,
    },
    /// The inputs together exceed `MAX_MONEY`.
    #[error("bad-txns-inputvalues-outofrange: inputs of {txid} sum above MAX_MONEY")]
    InputValuesOutOfRange {
        /// The transaction.
        txid: Txid,
    },
    /// The outputs spend more than the inputs hold.
    #[error("bad-txns-in-belowout: {txid} spends {outputs} from inputs of {inputs}")]
    InputsBelowOutputs {
        /// The transaction.
        txid: Txid,
        /// Sum of inputs.
        inputs: Amount,
        /// Sum of outputs.
        outputs: Amount,
    },

    // --- block against the UTXO set ---
    /// Two transactions of one block spend the same output.
    #[error("bad-txns-double-spend-in-block: {outpoint} is spent twice in the block")]
    DoubleSpendInBlock {
        /// The outpoint.
        outpoint: OutPoint,
    },
    /// The coinbase claims more than subsidy plus fees.
    #[error("bad-cb-amount: coinbase pays {got}, limit is subsidy + fees = {max}")]
    CoinbaseTooLarge {
        /// Sum of coinbase outputs.
        got: Amount,
        /// Subsidy plus fees.
        max: Amount,
    },
}

impl ValidationError {
    /// The rule's short name (Bitcoin Core's reject reason where it has one), for logs,
    /// `testmempoolaccept` and peers, without parsing the message.
    pub fn reject_reason(&self) -> &'static str {
        use ValidationError::*;
        match self {
            BlockTooLarge { .. } => "bad-blk-length",
            BadMerkleRoot { .. } => "bad-txnmrklroot",
            MerkleMutated => "bad-txns-duplicate",
            FirstTxNotCoinbase => "bad-cb-missing",
            MultipleCoinbase { .. } => "bad-cb-multiple",
            BadBitsEncoding(_) | TargetAbovePowLimit { .. } | UnexpectedBits { .. } => {
                "bad-diffbits"
            }
            HighHash { .. } => "high-hash",
            TimeTooOld { .. } => "time-too-old",
            TimeTooNew { .. } => "time-too-new",
            TimeWarp { .. } => "time-timewarp-attack",
            NoInputs { .. } => "bad-txns-vin-empty",
            NoOutputs { .. } => "bad-txns-vout-empty",
            DuplicateInputs { .. } => "bad-txns-inputs-duplicate",
            OutputTooLarge { .. } => "bad-txns-vout-toolarge",
            OutputTotalTooLarge { .. } => "bad-txns-txouttotal-toolarge",
            CoinbaseWitnessTooLarge { .. } => "bad-cb-length",
            CoinbaseHeightMismatch { .. } => "bad-cb-height",
            NullPrevout { .. } => "bad-txns-prevout-null",
            MissingOrSpent { .. } => "bad-txns-inputs-missingorspent",
            PrematureCoinbaseSpend { .. } => "bad-txns-premature-spend-of-coinbase",
            BadSignature { .. } => "bad-txns-signature",
            InputValuesOutOfRange { .. } => "bad-txns-inputvalues-outofrange",
            InputsBelowOutputs { .. } => "bad-txns-in-belowout",
            DoubleSpendInBlock { .. } => "bad-txns-double-spend-in-block",
            CoinbaseTooLarge { .. } => "bad-cb-amount",
        }
    }

    /// Whether this error says something about the data itself (a peer sending it misbehaves)
    /// rather than about the data's place in the chain (a peer may be on another tip).
    pub fn is_malicious(&self) -> bool {
        !matches!(
            self,
            ValidationError::MissingOrSpent { .. }
                | ValidationError::PrematureCoinbaseSpend { .. }
                | ValidationError::TimeTooNew { .. }
        )
    }
}
