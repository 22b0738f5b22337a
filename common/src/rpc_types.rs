//! Serde types of RPC results that more than one program reads: the node writes them,
//! the wallet and the tests parse them. Field names follow Bitcoin Core (and, for the
//! address index, the `addressindex` RPCs of Bitcoin Core forks).

use serde::{Deserialize, Serialize};

use crate::hashes::{BlockHash, Txid};

/// One output paying an address, from `getaddressutxos`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressUtxo {
    /// The address paid.
    pub address: String,
    /// Transaction that created the output.
    pub txid: Txid,
    /// Output index.
    #[serde(rename = "outputIndex")]
    pub output_index: u32,
    /// Value in base units.
    pub satoshis: u64,
    /// Height of the block that created it; 0 while it is only in the mempool.
    pub height: u32,
    /// Confirmations; 0 while it is only in the mempool.
    pub confirmations: u32,
    /// Whether a coinbase created it.
    pub coinbase: bool,
    /// Whether a coinbase output is still too young to spend.
    pub immature: bool,
    /// Whether a mempool transaction already spends it.
    #[serde(rename = "spentInMempool")]
    pub spent_in_mempool: bool,
}

/// `getaddressbalance`: sums over an address's outputs, in base units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressBalance {
    /// Confirmed, spendable (mature) value not spent by the mempool.
    pub balance: u64,
    /// Confirmed coinbase value not yet mature.
    pub immature: u64,
    /// Net effect of mempool transactions (receipts minus spends).
    pub unconfirmed: i64,
    /// Everything ever received, confirmed.
    pub received: u64,
}

/// One transaction touching an address, from `getaddresstxids` with details.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressTx {
    /// The transaction.
    pub txid: Txid,
    /// Height of its block; 0 in the mempool.
    pub height: u32,
    /// Block hash, if confirmed.
    pub blockhash: Option<BlockHash>,
}

/// The fields of `getblockchaininfo` every client relies on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlockchainInfo {
    /// `main` or `regtest`.
    pub chain: String,
    /// Height of the tip.
    pub blocks: u32,
    /// Height of the best known header.
    pub headers: u32,
    /// Hash of the tip.
    pub bestblockhash: BlockHash,
    /// Difficulty of the tip.
    pub difficulty: f64,
    /// Median time past of the tip.
    pub mediantime: u32,
    /// Estimated fraction of the chain verified.
    pub verificationprogress: f64,
    /// Whether the node is still catching up.
    pub initialblockdownload: bool,
    /// Total work of the active chain, hex.
    pub chainwork: String,
    /// Bytes of block data on disk.
    pub size_on_disk: u64,
    /// Always false: dotcoin keeps every block.
    pub pruned: bool,
    /// Coinbase maturity of the network, so wallets need not hard-code it.
    pub coinbase_maturity: u32,
}
