//! The RPC contract: one serde type per result of `dotcoind` that is a JSON object (or a
//! list of them). The node builds these, and `dotcoin-cli`, the wallet and the tests parse
//! them, so a field cannot be renamed on one side only.
//!
//! Field names are the JSON names and follow Bitcoin Core (and, for the address index, the
//! `addressindex` RPCs of Bitcoin Core forks). Amounts keep the unit they have on the wire:
//! [`Amount`] where the node prints DOT (a JSON number with exactly 8 decimals, fee rates in
//! DOT per kvB included), `u64` where it prints base units. Optional fields the node leaves out are
//! `Option`s skipped when `None`, so a value serializes back to the same JSON.
//!
//! Bird's eye view, by RPC category:
//! - blockchain: [`BlockchainInfo`], [`BlockHeaderVerbose`], [`BlockVerbose`] (both
//!   `getblock` verbosities), [`ChainTipInfo`], [`TxOutInfo`], [`TxOutSetInfo`];
//! - raw transactions and mempool: [`DecodedTx`], [`TxVerbose`], [`MempoolInfo`],
//!   [`MempoolEntry`], [`RawMempoolVerbose`], [`TestMempoolAcceptResult`];
//! - mining: [`MiningInfo`], [`BlockTemplate`];
//! - network: [`PeerInfo`], [`NetworkInfo`], [`BannedEntry`];
//! - control: [`NodeInfo`];
//! - address index: [`AddressUtxo`], [`AddressBalance`], [`AddressTx`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::address::Address;
use crate::hashes::{BlockHash, TxMerkleNode, Txid, Wtxid};
use crate::params::Network;
use crate::primitives::{Amount, FeeRate, Transaction};

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

/// `getblockheader <hash> true`: a header and where it stands in the block index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlockHeaderVerbose {
    /// The block hash.
    pub hash: BlockHash,
    /// Blocks on top of it, itself included, on the active chain; -1 off the active chain.
    pub confirmations: i64,
    /// Its height.
    pub height: u32,
    /// Header version.
    pub version: u32,
    /// Header version as 8 hex digits.
    #[serde(rename = "versionHex")]
    pub version_hex: String,
    /// Merkle root over the block's wtxids.
    pub merkleroot: TxMerkleNode,
    /// Header time (Unix seconds).
    pub time: u32,
    /// Median time past of the block.
    pub mediantime: u32,
    /// Header nonce.
    pub nonce: u32,
    /// Compact target, 8 hex digits.
    pub bits: String,
    /// Difficulty the target represents.
    pub difficulty: f64,
    /// Total work of the chain up to this block, 64 hex digits.
    pub chainwork: String,
    /// Parent hash; absent for the genesis block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previousblockhash: Option<BlockHash>,
    /// Next block on the active chain; absent at the tip and off the active chain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nextblockhash: Option<BlockHash>,
}

/// `getblock <hash> 1` (`T` = [`Txid`]) and `getblock <hash> 2` (`T` = [`TxVerbose`]): the
/// header fields plus the block's size and transactions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlockVerbose<T> {
    /// The header, as `getblockheader` shows it.
    #[serde(flatten)]
    pub header: BlockHeaderVerbose,
    /// Serialized size of the block in bytes.
    pub size: u64,
    /// Number of transactions.
    #[serde(rename = "nTx")]
    pub n_tx: u64,
    /// The transactions: txids at verbosity 1, decoded transactions at verbosity 2.
    pub tx: Vec<T>,
}

/// `getblock <hash> 1`.
pub type GetBlockVerbose = BlockVerbose<Txid>;
/// `getblock <hash> 2`.
pub type GetBlockVerboseTx = BlockVerbose<TxVerbose>;

/// One input of a decoded transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TxInVerbose {
    /// The coinbase input.
    Coinbase {
        /// The miner's data (extra-nonce), hex.
        coinbase: String,
        /// The height the coinbase commits to (its prevout's `vout`).
        height: u32,
    },
    /// An input spending an earlier output.
    Spend {
        /// Transaction of the spent output.
        txid: Txid,
        /// Index of the spent output.
        vout: u32,
        /// The signature, hex.
        witness: String,
        /// The spent output (`getblock 2`, `getrawtransaction … 2`), when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        prevout: Option<PrevOut>,
    },
}

/// The output an input spends, as Core's verbosity 2 shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrevOut {
    /// Whether a coinbase created it.
    pub generated: bool,
    /// Height of the block that created it.
    pub height: u32,
    /// Its value in DOT.
    pub value: Amount,
    /// The address it paid.
    pub address: String,
    /// The x-only key it was locked to, hex.
    pub pubkey: String,
}

impl PrevOut {
    /// The spent `coin`, addresses rendered for `network`.
    pub fn from_coin(coin: &crate::consensus::Coin, network: Network) -> PrevOut {
        PrevOut {
            generated: coin.is_coinbase,
            height: coin.height,
            value: coin.output.value,
            address: Address::new(network, coin.output.pubkey).to_string(),
            pubkey: coin.output.pubkey.to_string(),
        }
    }
}

/// One output of a decoded transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxOutVerbose {
    /// Value in DOT.
    pub value: Amount,
    /// Output index.
    pub n: u32,
    /// The address of the key it pays.
    pub address: String,
    /// The x-only public key it pays, hex.
    pub pubkey: String,
}

/// `decoderawtransaction`: a transaction decoded, without its hex.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecodedTx {
    /// Txid (without witnesses).
    pub txid: Txid,
    /// Wtxid (with witnesses).
    pub hash: Wtxid,
    /// Transaction version.
    pub version: u32,
    /// Serialized size in bytes, witnesses included.
    pub size: u64,
    /// Lock time.
    pub locktime: u32,
    /// Inputs.
    pub vin: Vec<TxInVerbose>,
    /// Outputs.
    pub vout: Vec<TxOutVerbose>,
}

impl DecodedTx {
    /// `tx` as `decoderawtransaction` shows it, addresses rendered for `network`.
    pub fn from_tx(tx: &Transaction, network: Network) -> DecodedTx {
        let coinbase = tx.is_coinbase();
        let vin = tx
            .inputs
            .iter()
            .map(|input| {
                if coinbase {
                    TxInVerbose::Coinbase {
                        coinbase: hex::encode(&input.witness),
                        height: input.prevout.vout,
                    }
                } else {
                    TxInVerbose::Spend {
                        txid: input.prevout.txid,
                        vout: input.prevout.vout,
                        witness: hex::encode(&input.witness),
                        prevout: None,
                    }
                }
            })
            .collect();
        let vout = tx
            .outputs
            .iter()
            .zip(0u32..)
            .map(|(output, n)| TxOutVerbose {
                value: output.value,
                n,
                address: Address::new(network, output.pubkey).to_string(),
                pubkey: output.pubkey.to_string(),
            })
            .collect();
        DecodedTx {
            txid: tx.txid(),
            hash: tx.wtxid(),
            version: tx.version,
            size: tx.size() as u64,
            locktime: tx.lock_time,
            vin,
            vout,
        }
    }
}

/// `getrawtransaction <txid> true`, and each transaction of `getblock <hash> 2`: the decoded
/// transaction, its hex, and, once confirmed (`getrawtransaction` only), its block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxVerbose {
    /// The decoded transaction.
    #[serde(flatten)]
    pub tx: DecodedTx,
    /// The fee in DOT (verbosity 2; absent for a coinbase or when the spent outputs
    /// are not known).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fee: Option<Amount>,
    /// The serialized transaction, hex.
    pub hex: String,
    /// Block that contains it; absent in the mempool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blockhash: Option<BlockHash>,
    /// Confirmations (0 off the active chain); absent in the mempool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmations: Option<u32>,
    /// The block's header time; absent in the mempool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<u32>,
    /// Same as `time`, as Bitcoin Core reports both.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocktime: Option<u32>,
}

impl TxVerbose {
    /// `tx` decoded with its hex and no block, as a mempool transaction or a transaction of
    /// `getblock <hash> 2` is shown; [`TxVerbose::in_block`] adds the block.
    pub fn from_tx(tx: &Transaction, network: Network) -> TxVerbose {
        TxVerbose {
            tx: DecodedTx::from_tx(tx, network),
            hex: hex::encode(crate::encode::serialize(tx)),
            fee: None,
            blockhash: None,
            confirmations: None,
            time: None,
            blocktime: None,
        }
    }

    /// `self` confirmed in block `blockhash` with header time `time`.
    pub fn in_block(self, blockhash: BlockHash, confirmations: u32, time: u32) -> TxVerbose {
        TxVerbose {
            blockhash: Some(blockhash),
            confirmations: Some(confirmations),
            time: Some(time),
            blocktime: Some(time),
            ..self
        }
    }

    /// Verbosity 2: each input shows the output it spends (`spent`, in input order) and
    /// the transaction its fee. A coinbase, or a `spent` list of the wrong length (the
    /// spent outputs are not known), leaves `self` as it is.
    pub fn with_prevouts(
        mut self,
        spent: &[crate::consensus::Coin],
        network: Network,
    ) -> TxVerbose {
        if spent.len() != self.tx.vin.len()
            || self
                .tx
                .vin
                .iter()
                .any(|i| matches!(i, TxInVerbose::Coinbase { .. }))
        {
            return self;
        }
        for (input, coin) in self.tx.vin.iter_mut().zip(spent) {
            if let TxInVerbose::Spend { prevout, .. } = input {
                *prevout = Some(PrevOut::from_coin(coin, network));
            }
        }
        let paid = Amount::checked_sum(self.tx.vout.iter().map(|o| o.value));
        let spent = Amount::checked_sum(spent.iter().map(|c| c.output.value));
        self.fee = spent.zip(paid).and_then(|(s, p)| s.checked_sub(p));
        self
    }

    /// Decodes [`hex`](Self::hex) into the transaction, checking that it is the one the
    /// decoded fields describe.
    pub fn transaction(&self) -> Result<Transaction, String> {
        let bytes = hex::decode(&self.hex).map_err(|e| format!("hex field is not hex: {e}"))?;
        let tx: Transaction = crate::encode::deserialize(&bytes).map_err(|e| e.to_string())?;
        if tx.txid() != self.tx.txid {
            return Err(format!(
                "hex field is transaction {}, not {}",
                tx.txid(),
                self.tx.txid
            ));
        }
        Ok(tx)
    }
}

/// Where a chain tip stands, as `getchaintips` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChainTipStatus {
    /// The tip of the active chain.
    Active,
    /// A fully validated branch that is not active.
    ValidFork,
    /// All blocks are there but not all were validated.
    ValidHeaders,
    /// Some blocks of the branch are missing.
    HeadersOnly,
    /// The branch contains an invalid block.
    Invalid,
}

/// One entry of `getchaintips`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainTipInfo {
    /// Height of the tip.
    pub height: u32,
    /// Its hash.
    pub hash: BlockHash,
    /// Blocks from the fork point with the active chain (0 for the active tip).
    pub branchlen: u32,
    /// Its status.
    pub status: ChainTipStatus,
}

/// `gettxout`: one unspent output (the call answers `null` when it is spent or unknown).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxOutInfo {
    /// The tip the answer is relative to.
    pub bestblock: BlockHash,
    /// Confirmations; 0 for an output of a mempool transaction.
    pub confirmations: u32,
    /// Value in DOT.
    pub value: Amount,
    /// The address of the key it pays.
    pub address: String,
    /// The x-only public key it pays, hex.
    pub pubkey: String,
    /// Whether a coinbase created it.
    pub coinbase: bool,
}

/// `gettxoutsetinfo`: statistics of the UTXO set at the tip.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxOutSetInfo {
    /// Height of the tip.
    pub height: u32,
    /// Hash of the tip.
    pub bestblock: BlockHash,
    /// Transactions with at least one unspent output.
    pub transactions: u64,
    /// Unspent outputs.
    pub txouts: u64,
    /// Bytes of the serialized set entries.
    pub bogosize: u64,
    /// SHA-256 over every entry in key order, hex: equal sets give equal hashes.
    pub hash_serialized: String,
    /// Sum of all unspent values, in DOT.
    pub total_amount: Amount,
    /// Bytes of block and index data on disk.
    pub disk_size: u64,
}

/// `getinfo`: a one-call summary of the node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeInfo {
    /// The node's version, `major.minor.patch`.
    pub version: String,
    /// `main` or `regtest`.
    pub chain: String,
    /// Height of the tip.
    pub blocks: u32,
    /// Hash of the tip.
    pub bestblockhash: BlockHash,
    /// Difficulty of the tip.
    pub difficulty: f64,
    /// Transactions in the mempool.
    pub mempool: u64,
    /// Connected peers.
    pub connections: u64,
    /// Whether continuous mining is on.
    pub mining: bool,
}

/// `getmempoolinfo`: mempool statistics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MempoolInfo {
    /// Always true: the pool is ready once the node answers.
    pub loaded: bool,
    /// Transactions in the pool.
    pub size: u64,
    /// Sum of their sizes in bytes.
    pub bytes: u64,
    /// Memory the pool accounts for, in bytes.
    pub usage: u64,
    /// Bound on `usage`, in bytes.
    pub maxmempool: u64,
    /// Lowest fee rate the pool takes now, DOT per kB.
    pub mempoolminfee: Amount,
    /// Minimum relay fee rate, DOT per kB.
    pub minrelaytxfee: Amount,
}

/// The fees of a mempool transaction, as Bitcoin Core nests them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MempoolFees {
    /// The transaction's own fee, in DOT.
    pub base: Amount,
}

/// `getmempoolentry`, and each value of `getrawmempool true`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MempoolEntry {
    /// Serialized size in bytes.
    pub size: u64,
    /// Fee in DOT.
    pub fee: Amount,
    /// Fee again, in Bitcoin Core's nested form.
    pub fees: MempoolFees,
    /// Fee rate, base units per 1000 bytes (rounded down).
    pub feerate: FeeRate,
    /// Unix time it entered the pool.
    pub time: u64,
    /// Chain height when it entered.
    pub height: u32,
    /// Unconfirmed parents in the pool.
    pub depends: Vec<Txid>,
    /// Pool transactions spending its outputs.
    pub spentby: Vec<Txid>,
    /// Its wtxid.
    pub wtxid: Wtxid,
}

/// `getrawmempool true`: every pool entry by txid.
pub type RawMempoolVerbose = BTreeMap<Txid, MempoolEntry>;

/// One entry of `testmempoolaccept`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestMempoolAcceptResult {
    /// The transaction's txid.
    pub txid: Txid,
    /// Its wtxid.
    pub wtxid: Wtxid,
    /// Whether the pool would take it.
    pub allowed: bool,
    /// Its size in bytes; only when allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vsize: Option<u64>,
    /// Its fee; only when allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fees: Option<MempoolFees>,
    /// Why the pool refuses it; only when not allowed.
    #[serde(
        rename = "reject-reason",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub reject_reason: Option<String>,
}

/// `getmininginfo`: the chain as a miner sees it, and this node's miner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MiningInfo {
    /// Height of the tip.
    pub blocks: u32,
    /// Difficulty of the tip.
    pub difficulty: f64,
    /// Compact target of the tip, 8 hex digits.
    pub bits: String,
    /// Target of the tip, 64 hex digits.
    pub target: String,
    /// Estimated network hash rate over the last 120 blocks, hashes per second.
    pub networkhashps: f64,
    /// This node's own hash rate while mining.
    pub hashespersec: f64,
    /// Whether continuous mining is on.
    pub generate: bool,
    /// Mining threads in use.
    pub genproclimit: u64,
    /// Transactions in the mempool.
    pub pooledtx: u64,
    /// `main` or `regtest`.
    pub chain: String,
}

/// One transaction of a [`BlockTemplate`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockTemplateTx {
    /// The serialized transaction, hex.
    pub data: String,
    /// Its txid.
    pub txid: Txid,
    /// Its wtxid.
    pub hash: Wtxid,
    /// Its fee in base units.
    pub fee: u64,
}

/// `getblocktemplate`: what an external miner needs to build the next block. The
/// coinbase is the miner's to write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockTemplate {
    /// Header version.
    pub version: u32,
    /// The tip the block builds on.
    pub previousblockhash: BlockHash,
    /// Transactions to include after the coinbase, in order.
    pub transactions: Vec<BlockTemplateTx>,
    /// What the coinbase may claim: subsidy plus fees, base units.
    pub coinbasevalue: u64,
    /// Target, 64 hex digits.
    pub target: String,
    /// Earliest allowed header time.
    pub mintime: u32,
    /// Suggested header time.
    pub curtime: u32,
    /// Compact target, 8 hex digits.
    pub bits: String,
    /// Height of the block.
    pub height: u32,
    /// Largest allowed block size in bytes.
    pub sizelimit: u64,
    /// Work the block adds to the chain, hex.
    pub work: String,
    /// BIP9 rules the block must follow (none: dotcoin's rules are buried at genesis).
    #[serde(default)]
    pub rules: Vec<String>,
    /// BIP22 capabilities the server supports (`proposal`, `longpoll`).
    #[serde(default)]
    pub capabilities: Vec<String>,
    /// BIP22 long polling: send it back as `longpollid` to wait for the next template.
    #[serde(default)]
    pub longpollid: String,
    /// BIP23 changes the miner may make (`time`, `transactions`, `prevblock`).
    #[serde(default)]
    pub mutable: Vec<String>,
    /// The nonce range, hex (the whole 32 bits).
    #[serde(default)]
    pub noncerange: String,
}

/// How a peer connection came about, Bitcoin Core's `connection_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConnectionType {
    /// The peer connected to us.
    Inbound,
    /// `--connect`, `--addnode` or the `addnode` RPC.
    Manual,
    /// A learnt address, to fill outbound slots.
    OutboundFullRelay,
}

/// One entry of `getpeerinfo`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeerInfo {
    /// The node's id for the peer (for `disconnectnode`).
    pub id: u64,
    /// The peer's `ip:port`.
    pub addr: String,
    /// Whether the peer connected to us.
    pub inbound: bool,
    /// How the connection came about.
    pub connection_type: ConnectionType,
    /// Protocol version from its `version` message; 0 before the handshake.
    pub version: u32,
    /// Its user agent; empty before the handshake.
    pub subver: String,
    /// Its best height at connection; -1 before the handshake.
    pub startingheight: i64,
    /// Height of the best header it sent or announced; -1 when none.
    pub synced_headers: i64,
    /// Height of the last block received from it; -1 when none.
    pub synced_blocks: i64,
    /// Bytes sent to it.
    pub bytessent: u64,
    /// Bytes received from it.
    pub bytesrecv: u64,
    /// Unix time of the connection.
    pub conntime: u64,
    /// Misbehaviour score; the peer is banned at 100.
    pub banscore: u32,
    /// Last round-trip time in seconds; absent before the first pong.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pingtime: Option<f64>,
    /// Smallest ping round trip seen, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minping: Option<f64>,
    /// Services the peer offers, hex (Core's `services`).
    #[serde(default)]
    pub services: String,
    /// Unix time of the last message sent to it.
    #[serde(default)]
    pub lastsend: u64,
    /// Unix time of the last message received from it.
    #[serde(default)]
    pub lastrecv: u64,
    /// The network reached through: `ipv4`, `ipv6` or `not_publicly_routable`.
    #[serde(default)]
    pub network: String,
    /// The `addnode` target it was reached through, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addnode: Option<String>,
}

/// An address the node listens on, in `getnetworkinfo`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalAddress {
    /// The IP address.
    pub address: String,
    /// The P2P port.
    pub port: u16,
    /// Preference among local addresses.
    pub score: u32,
}

/// `getnetworkinfo`: the node's network state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetworkInfo {
    /// Version as a number, `major * 10000 + minor * 100 + patch`.
    pub version: u64,
    /// User agent sent to peers.
    pub subversion: String,
    /// P2P protocol version.
    pub protocolversion: u32,
    /// Connected peers.
    pub connections: u64,
    /// Of which inbound.
    pub connections_in: u64,
    /// Of which outbound.
    pub connections_out: u64,
    /// Whether networking is on.
    pub networkactive: bool,
    /// Services this node offers, hex.
    #[serde(default)]
    pub localservices: String,
    /// Services this node offers, by name.
    #[serde(default)]
    pub localservicesnames: Vec<String>,
    /// Addresses the node listens on.
    pub localaddresses: Vec<LocalAddress>,
    /// Minimum relay fee rate, DOT per kB.
    pub relayfee: Amount,
    /// Warnings for the operator; empty when none.
    pub warnings: String,
}

/// One entry of `listbanned`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BannedEntry {
    /// The banned address as a single-address subnet (`1.2.3.4/32`, `::1/128`).
    pub address: String,
    /// Unix time the ban was made.
    pub ban_created: u64,
    /// Unix time it ends.
    pub banned_until: u64,
    /// Its length in seconds.
    pub ban_duration: u64,
    /// Seconds left.
    pub time_remaining: u64,
}

#[cfg(test)]
mod tests {
    //! Each type against JSON in the exact shape the node prints today: parsing it and
    //! printing it back must give the same JSON, so the types match the wire field for field.

    use serde::de::DeserializeOwned;
    use serde_json::{json, Value};

    use super::*;

    const HASH: &str = "00000000000000000000000000000000000000000000000000000000000000ab";
    const HASH2: &str = "00000000000000000000000000000000000000000000000000000000000000cd";
    const ADDR: &str = "dcrt1pexample";
    const KEY: &str = "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798";

    /// Parses `wire` as `T`, checks it prints back identically and that a clone of the value
    /// survives a second round trip; returns the value for field checks.
    fn round_trip<T>(wire: Value) -> T
    where
        T: Serialize + DeserializeOwned + PartialEq + Clone + std::fmt::Debug,
    {
        let value: T = serde_json::from_value(wire.clone()).unwrap_or_else(|e| {
            panic!("{} does not parse {wire}: {e}", std::any::type_name::<T>())
        });
        assert_eq!(serde_json::to_value(&value).unwrap(), wire);
        let again: T =
            serde_json::from_str(&serde_json::to_string(&value.clone()).unwrap()).unwrap();
        assert_eq!(again, value);
        value
    }

    fn header_json() -> Value {
        json!({
            "hash": HASH, "confirmations": 1, "height": 101, "version": 1,
            "versionHex": "00000001", "merkleroot": HASH2, "time": 1_700_000_000,
            "mediantime": 1_699_999_000, "nonce": 7, "bits": "207fffff",
            "difficulty": 4.6e-10, "chainwork": format!("{:064x}", 204),
            "previousblockhash": HASH2,
        })
    }

    fn coinbase_tx_json(with_block: bool) -> Value {
        let mut v = json!({
            "txid": HASH, "hash": HASH2, "version": 1, "size": 90, "locktime": 0,
            "vin": [{ "coinbase": "00ff", "height": 101 }],
            "vout": [{ "value": 50.0, "n": 0, "address": ADDR, "pubkey": KEY }],
            "hex": "0100",
        });
        if with_block {
            v["blockhash"] = json!(HASH);
            v["confirmations"] = json!(3);
            v["time"] = json!(1_700_000_000);
            v["blocktime"] = json!(1_700_000_000);
        }
        v
    }

    #[test]
    fn address_index() {
        let utxo: AddressUtxo = round_trip(json!({
            "address": ADDR, "txid": HASH, "outputIndex": 1, "satoshis": 4_900_000_000u64,
            "height": 0, "confirmations": 0, "coinbase": false, "immature": false,
            "spentInMempool": false,
        }));
        assert_eq!(utxo.output_index, 1);
        let balance: AddressBalance = round_trip(json!({
            "balance": 5, "immature": 6, "unconfirmed": -7, "received": 8,
        }));
        assert_eq!(balance.unconfirmed, -7);
        round_trip::<AddressTx>(json!({ "txid": HASH, "height": 3, "blockhash": HASH2 }));
        round_trip::<AddressTx>(json!({ "txid": HASH, "height": 0, "blockhash": null }));
    }

    #[test]
    fn blockchain() {
        let info: BlockchainInfo = round_trip(json!({
            "chain": "regtest", "blocks": 101, "headers": 101, "bestblockhash": HASH,
            "difficulty": 4.6e-10, "mediantime": 1_700_000_000, "verificationprogress": 1.0,
            "initialblockdownload": false, "chainwork": format!("{:064x}", 204),
            "size_on_disk": 12_345, "pruned": false, "coinbase_maturity": 100,
        }));
        assert_eq!(info.coinbase_maturity, 100);

        let header: BlockHeaderVerbose = round_trip(header_json());
        assert_eq!(header.nextblockhash, None);
        assert_eq!(header.version_hex, "00000001");
        let mut genesis = header_json();
        genesis.as_object_mut().unwrap().remove("previousblockhash");
        genesis["nextblockhash"] = json!(HASH2);
        genesis["confirmations"] = json!(-1);
        let genesis: BlockHeaderVerbose = round_trip(genesis);
        assert_eq!(genesis.previousblockhash, None);
        assert_eq!(genesis.confirmations, -1);

        let mut block = header_json();
        block["size"] = json!(250);
        block["nTx"] = json!(1);
        block["tx"] = json!([HASH]);
        let block: GetBlockVerbose = round_trip(block);
        assert_eq!(block.n_tx, 1);
        assert_eq!(block.tx[0].to_string(), HASH);
        assert_eq!(block.header.height, 101);

        let mut block2 = header_json();
        block2["size"] = json!(250);
        block2["nTx"] = json!(1);
        block2["tx"] = json!([coinbase_tx_json(false)]);
        let block2: GetBlockVerboseTx = round_trip(block2);
        assert_eq!(
            block2.tx[0].tx.vin[0],
            TxInVerbose::Coinbase {
                coinbase: "00ff".into(),
                height: 101
            }
        );

        let tips: Vec<ChainTipInfo> = round_trip(json!([
            { "height": 5, "hash": HASH, "branchlen": 0, "status": "active" },
            { "height": 4, "hash": HASH2, "branchlen": 1, "status": "valid-fork" },
            { "height": 4, "hash": HASH2, "branchlen": 2, "status": "valid-headers" },
            { "height": 4, "hash": HASH2, "branchlen": 3, "status": "headers-only" },
            { "height": 4, "hash": HASH2, "branchlen": 4, "status": "invalid" },
        ]));
        assert_eq!(
            tips.iter().map(|t| t.status).collect::<Vec<_>>(),
            [
                ChainTipStatus::Active,
                ChainTipStatus::ValidFork,
                ChainTipStatus::ValidHeaders,
                ChainTipStatus::HeadersOnly,
                ChainTipStatus::Invalid,
            ]
        );
        assert!(serde_json::from_value::<ChainTipStatus>(json!("unknown")).is_err());

        let txout: TxOutInfo = round_trip(json!({
            "bestblock": HASH, "confirmations": 101, "value": 50.0, "address": ADDR,
            "pubkey": KEY, "coinbase": true,
        }));
        assert_eq!(txout.value, Amount::from_dot(50));
        let set: TxOutSetInfo = round_trip(json!({
            "height": 102, "bestblock": HASH, "transactions": 102, "txouts": 103,
            "bogosize": 7_000, "hash_serialized": HASH2, "total_amount": 5150.0,
            "disk_size": 1_000,
        }));
        assert_eq!(set.total_amount, Amount::from_dot(5150));
    }

    #[test]
    fn raw_transactions_and_mempool() {
        let mut spend = coinbase_tx_json(false);
        spend["vin"] = json!([{ "txid": HASH2, "vout": 0, "witness": "aa" }]);
        spend["vout"][0]["value"] = json!(49.0);
        spend.as_object_mut().unwrap().remove("hex");
        let decoded: DecodedTx = round_trip(spend);
        assert!(matches!(decoded.vin[0], TxInVerbose::Spend { vout: 0, .. }));
        assert_eq!(decoded.vout[0].value, Amount::from_dot(49));

        let in_pool: TxVerbose = round_trip(coinbase_tx_json(false));
        assert_eq!(in_pool.blockhash, None);
        let confirmed: TxVerbose = round_trip(coinbase_tx_json(true));
        assert_eq!(confirmed.confirmations, Some(3));

        let info: MempoolInfo = round_trip(json!({
            "loaded": true, "size": 1, "bytes": 150, "usage": 150, "maxmempool": 300_000_000,
            "mempoolminfee": 0.00001, "minrelaytxfee": 0.00001,
        }));
        assert_eq!(info.size, 1);

        let entry = json!({
            "size": 150, "fee": 1.0, "fees": { "base": 1.0 }, "feerate": 666_666_666,
            "time": 1_700_000_000, "height": 101, "depends": [], "spentby": [HASH2],
            "wtxid": HASH,
        });
        let parsed: MempoolEntry = round_trip(entry.clone());
        assert_eq!(parsed.feerate, FeeRate::from_sat_per_kvb(666_666_666));
        assert_eq!(parsed.fees.base, Amount::ONE_DOT);
        let pool: RawMempoolVerbose = round_trip(json!({ HASH: entry }));
        assert_eq!(pool[&HASH.parse::<Txid>().unwrap()], parsed);

        let results: Vec<TestMempoolAcceptResult> = round_trip(json!([
            { "txid": HASH, "wtxid": HASH2, "allowed": true, "vsize": 150,
              "fees": { "base": 1.0 } },
            { "txid": HASH, "wtxid": HASH2, "allowed": false,
              "reject-reason": "missing inputs" },
        ]));
        assert_eq!(results[1].reject_reason.as_deref(), Some("missing inputs"));
        assert_eq!(results[0].vsize, Some(150));
    }

    #[test]
    fn decoded_from_a_transaction() {
        use crate::primitives::{OutPoint, PubKey, TxIn, TxOut};

        let key: PubKey = KEY.parse().unwrap();
        let tx = Transaction {
            version: 1,
            inputs: vec![TxIn {
                prevout: OutPoint {
                    txid: HASH.parse().unwrap(),
                    vout: 2,
                },
                witness: vec![0xaa; 64],
            }],
            outputs: vec![TxOut {
                value: Amount::from_dot(3),
                pubkey: key,
            }],
            lock_time: 0,
        };
        let verbose = TxVerbose::from_tx(&tx, Network::Regtest);
        assert_eq!(verbose.transaction().unwrap(), tx);
        assert_eq!(verbose.tx.txid, tx.txid());
        assert_eq!(
            verbose.tx.vout[0].address,
            Address::new(Network::Regtest, key).to_string()
        );
        assert!(matches!(
            verbose.tx.vin[0],
            TxInVerbose::Spend { vout: 2, .. }
        ));
        let wire = serde_json::to_value(&verbose).unwrap();
        assert_eq!(wire["vout"][0]["value"], json!(3.0));
        assert_eq!(wire["vin"][0]["witness"], json!("aa".repeat(64)));
        round_trip::<TxVerbose>(wire);
        let confirmed = verbose.clone().in_block(HASH.parse().unwrap(), 2, 9);
        assert_eq!(confirmed.blocktime, Some(9));
        round_trip::<TxVerbose>(serde_json::to_value(&confirmed).unwrap());

        let mut lying = verbose;
        lying.tx.txid = HASH.parse().unwrap();
        assert!(lying.transaction().is_err());
    }

    #[test]
    fn mining() {
        let info: MiningInfo = round_trip(json!({
            "blocks": 101, "difficulty": 4.6e-10, "bits": "207fffff",
            "target": format!("{:064x}", 1), "networkhashps": 1.5, "hashespersec": 0.0,
            "generate": false, "genproclimit": 0, "pooledtx": 0, "chain": "regtest",
        }));
        assert!(!info.generate);
        let template: BlockTemplate = round_trip(json!({
            "version": 1, "previousblockhash": HASH,
            "transactions": [{ "data": "0100", "txid": HASH, "hash": HASH2, "fee": 100 }],
            "coinbasevalue": 5_000_000_100u64, "target": format!("{:064x}", 1),
            "mintime": 1_700_000_001, "curtime": 1_700_000_100, "bits": "207fffff",
            "height": 102, "sizelimit": 1_000_000, "work": "2", "rules": [],
            "capabilities": ["proposal", "longpoll"], "longpollid": "ab1",
            "mutable": ["time", "transactions", "prevblock"], "noncerange": "00000000ffffffff",
        }));
        assert_eq!(template.transactions[0].fee, 100);
    }

    #[test]
    fn network_and_control() {
        let peers: Vec<PeerInfo> = round_trip(json!([
            { "id": 0, "addr": "127.0.0.1:18633", "inbound": false,
              "connection_type": "manual", "version": 1, "subver": "/dotcoin:0.1.0/",
              "startingheight": 5, "synced_headers": 5, "synced_blocks": 5,
              "bytessent": 100, "bytesrecv": 200, "conntime": 1_700_000_000,
              "banscore": 0, "pingtime": 0.001, "minping": 0.0005, "addnode": "127.0.0.1:18633",
              "services": "0000000000000001", "lastsend": 1_700_000_001,
              "lastrecv": 1_700_000_002, "network": "not_publicly_routable" },
            { "id": 1, "addr": "127.0.0.1:40000", "inbound": true,
              "connection_type": "inbound", "version": 0, "subver": "",
              "startingheight": -1, "synced_headers": -1, "synced_blocks": -1,
              "bytessent": 0, "bytesrecv": 0, "conntime": 1_700_000_000, "banscore": 0,
              "services": "0000000000000000", "lastsend": 0, "lastrecv": 0,
              "network": "not_publicly_routable" },
            { "id": 2, "addr": "10.0.0.1:8633", "inbound": false,
              "connection_type": "outbound-full-relay", "version": 1, "subver": "/x/",
              "startingheight": 0, "synced_headers": 0, "synced_blocks": 0,
              "bytessent": 1, "bytesrecv": 1, "conntime": 1, "banscore": 10,
              "services": "0000000000000001", "lastsend": 1, "lastrecv": 1, "network": "ipv4" },
        ]));
        assert_eq!(peers[0].connection_type, ConnectionType::Manual);
        assert_eq!(peers[1].pingtime, None);
        assert_eq!(peers[2].connection_type, ConnectionType::OutboundFullRelay);

        let net: NetworkInfo = round_trip(json!({
            "version": 100, "subversion": "/dotcoin:0.1.0/", "protocolversion": 1,
            "connections": 2, "connections_in": 1, "connections_out": 1,
            "networkactive": true, "localservices": "0000000000000001",
            "localservicesnames": ["NETWORK"],
            "localaddresses": [{ "address": "127.0.0.1", "port": 18633, "score": 1 }],
            "relayfee": 0.00001, "warnings": "",
        }));
        assert_eq!(net.localaddresses[0].port, 18633);

        let bans: Vec<BannedEntry> = round_trip(json!([{
            "address": "10.1.2.3/32", "ban_created": 100, "banned_until": 160,
            "ban_duration": 60, "time_remaining": 50,
        }]));
        assert_eq!(bans[0].ban_duration, 60);

        let info: NodeInfo = round_trip(json!({
            "version": "0.1.0", "chain": "regtest", "blocks": 0, "bestblockhash": HASH,
            "difficulty": 4.6e-10, "mempool": 0, "connections": 0, "mining": false,
        }));
        assert_eq!(info.chain, "regtest");
    }
}
