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
//! Every result carries every field of Bitcoin Core's documented result for the same
//! call, so strictly typed Core clients decode it. Where a concept does not exist here the
//! field holds Core's neutral value: no witness discount (`vsize` = size, `weight` =
//! 4 × size), empty `warnings`, final input sequence numbers, an output's key shown as
//! the taproot output it is byte for byte ([`ScriptPubKey`]), and so on, each documented
//! on its field.
//!
//! Bird's eye view, by RPC category:
//! - blockchain: [`BlockchainInfo`], [`BlockHeaderVerbose`], [`BlockVerbose`] (both
//!   `getblock` verbosities), [`BlockStats`] and [`BlockStatsSelection`],
//!   [`ChainTipInfo`], [`ChainTxStats`], [`TxOutInfo`], [`TxOutSetInfo`],
//!   [`ScanTxOutSetResult`], [`WaitTip`], [`IndexInfo`], [`DeploymentInfo`],
//!   [`FeeEstimate`];
//! - raw transactions and mempool: [`DecodedTx`], [`TxVerbose`], [`MempoolInfo`],
//!   [`MempoolEntry`], [`RawMempoolVerbose`], [`TestMempoolAcceptResult`];
//! - mining: [`MiningInfo`], [`BlockTemplate`] (in [`GetBlockTemplateResult`]),
//!   [`GenerateBlockResult`];
//! - network: [`PeerInfo`], [`NetworkInfo`], [`NetTotals`], [`BannedEntry`],
//!   [`AddedNodeInfo`], [`NodeAddress`];
//! - control: [`NodeInfo`], [`RpcInfo`], [`MemoryInfo`], [`LoggingCategories`];
//! - util: [`ValidateAddressResult`];
//! - zmq: [`ZmqNotification`];
//! - plugin: [`PluginInfo`], [`PluginResult`];
//! - address index: [`AddressUtxo`], [`AddressBalance`], [`AddressTx`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::address::Address;
use crate::hashes::{BlockHash, TxMerkleNode, Txid, Wtxid};
use crate::params::Network;
use crate::primitives::{Amount, FeeRate, PubKey, Transaction};

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
    /// Compact target of the tip, 8 hex digits.
    pub bits: String,
    /// Target of the tip, 64 hex digits.
    pub target: String,
    /// Difficulty of the tip.
    pub difficulty: f64,
    /// Header time of the tip.
    pub time: u32,
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
    /// Warnings for the operator; empty when none (Core's string form, which every
    /// Core client reads).
    pub warnings: String,
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
    /// The target `bits` encodes, 64 hex digits.
    pub target: String,
    /// Difficulty the target represents.
    pub difficulty: f64,
    /// Total work of the chain up to this block, 64 hex digits.
    pub chainwork: String,
    /// Number of transactions in the block; 0 while only its header is known.
    #[serde(rename = "nTx")]
    pub n_tx: u64,
    /// Parent hash; absent for the genesis block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previousblockhash: Option<BlockHash>,
    /// Next block on the active chain; absent at the tip and off the active chain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nextblockhash: Option<BlockHash>,
}

/// `getblock <hash> 1` (`T` = [`Txid`]) and `getblock <hash> 2` (`T` = [`TxVerbose`]): the
/// header fields plus the block's size and transactions.
///
/// dotcoin has no witness discount: every byte weighs 4 (`weight` = 4 × `size`), and
/// `strippedsize` is the size with the witnesses left out, as Core defines it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlockVerbose<T> {
    /// The header, as `getblockheader` shows it (its `nTx` included).
    #[serde(flatten)]
    pub header: BlockHeaderVerbose,
    /// Serialized size of the block in bytes.
    pub size: u64,
    /// Size of the block with every witness left out.
    pub strippedsize: u64,
    /// 4 × `size`.
    pub weight: u64,
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
        /// Always [`FINAL_SEQUENCE`]: inputs have no sequence number here.
        sequence: u32,
    },
    /// An input spending an earlier output.
    Spend {
        /// Transaction of the spent output.
        txid: Txid,
        /// Index of the spent output.
        vout: u32,
        /// Always empty: an input unlocks with its witness alone.
        #[serde(rename = "scriptSig")]
        script_sig: ScriptSig,
        /// The witness as Core lists it: one item, the signature, hex.
        txinwitness: Vec<String>,
        /// The signature, hex (the same bytes as `txinwitness`).
        witness: String,
        /// The spent output (`getblock 2`, `getrawtransaction … 2`), when known; boxed, as
        /// it is most of the variant's size.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        prevout: Option<Box<PrevOut>>,
        /// Always [`FINAL_SEQUENCE`].
        sequence: u32,
    },
}

/// The sequence number every input shows: dotcoin's inputs have none, so they read as
/// final, which is what Core prints for an input that opts out of relative lock times
/// and replacement signalling.
pub const FINAL_SEQUENCE: u32 = u32::MAX;

/// An input's `scriptSig` as Core shows it; always empty here.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScriptSig {
    /// The script as opcodes.
    pub asm: String,
    /// The script, hex.
    pub hex: String,
}

/// An output's locking script as Core shows it. An output locked to a 32-byte x-only key
/// and spent with a BIP340 signature is, byte for byte, a taproot key-path output, so it
/// is shown as one: `OP_1 <key>`, type `witness_v1_taproot`, descriptor `rawtr(<key>)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScriptPubKey {
    /// The script as opcodes.
    pub asm: String,
    /// The output descriptor, with its checksum.
    pub desc: String,
    /// The script, hex.
    pub hex: String,
    /// The address it pays.
    pub address: String,
    /// Core's script type.
    #[serde(rename = "type")]
    pub kind: String,
}

impl ScriptPubKey {
    /// The script of an output paying `pubkey`, its address rendered for `network`.
    pub fn for_key(pubkey: &PubKey, network: Network) -> ScriptPubKey {
        let key = pubkey.to_string();
        let desc = format!("rawtr({key})");
        ScriptPubKey {
            asm: format!("1 {key}"),
            desc: format!("{desc}#{}", descriptor_checksum(&desc)),
            hex: format!("5120{key}"),
            address: Address::new(network, *pubkey).to_string(),
            kind: "witness_v1_taproot".into(),
        }
    }
}

/// The BIP380 checksum of an output descriptor (the 8 characters after `#`).
pub fn descriptor_checksum(desc: &str) -> String {
    const INPUT: &str = "0123456789()[],'/*abcdefgh@:$%{}IJKLMNOPQRSTUVWXYZ&+-.;<=>?!^_|~\
                         ijklmnopqrstuvwxyzABCDEFGH`#\"\\ ";
    const CHECKSUM: &[u8] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";
    fn polymod(c: u64, val: u64) -> u64 {
        let c0 = c >> 35;
        let mut c = ((c & 0x7_ffff_ffff) << 5) ^ val;
        for (bit, g) in [
            0xf5_dee5_1989,
            0xa9_fdca_3312,
            0x1b_ab10_e32d,
            0x37_06b1_677a,
            0x64_4d62_6ffd,
        ]
        .into_iter()
        .enumerate()
        {
            if (c0 >> bit) & 1 == 1 {
                c ^= g;
            }
        }
        c
    }
    let (mut c, mut cls, mut clscount) = (1u64, 0u64, 0);
    for ch in desc.chars() {
        let Some(pos) = INPUT.find(ch) else {
            return String::new();
        };
        let pos = pos as u64;
        c = polymod(c, pos & 31);
        cls = cls * 3 + (pos >> 5);
        clscount += 1;
        if clscount == 3 {
            c = polymod(c, cls);
            cls = 0;
            clscount = 0;
        }
    }
    if clscount > 0 {
        c = polymod(c, cls);
    }
    for _ in 0..8 {
        c = polymod(c, 0);
    }
    c ^= 1;
    (0..8)
        .map(|j| char::from(CHECKSUM[((c >> (5 * (7 - j))) & 31) as usize]))
        .collect()
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
    /// Its locking script, as Core shows it.
    #[serde(rename = "scriptPubKey")]
    pub script_pub_key: ScriptPubKey,
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
            script_pub_key: ScriptPubKey::for_key(&coin.output.pubkey, network),
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
    /// Its locking script, as Core shows it.
    #[serde(rename = "scriptPubKey")]
    pub script_pub_key: ScriptPubKey,
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
    /// Same as `size`: there is no witness discount.
    pub vsize: u64,
    /// 4 × `size`.
    pub weight: u64,
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
                        sequence: FINAL_SEQUENCE,
                    }
                } else {
                    let witness = hex::encode(&input.witness);
                    TxInVerbose::Spend {
                        txid: input.prevout.txid,
                        vout: input.prevout.vout,
                        script_sig: ScriptSig::default(),
                        txinwitness: vec![witness.clone()],
                        witness,
                        prevout: None,
                        sequence: FINAL_SEQUENCE,
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
                script_pub_key: ScriptPubKey::for_key(&output.pubkey, network),
            })
            .collect();
        let size = tx.size() as u64;
        DecodedTx {
            txid: tx.txid(),
            hash: tx.wtxid(),
            version: tx.version,
            size,
            vsize: size,
            weight: 4 * size,
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
    /// Whether the block named by the call's `blockhash` argument is on the active chain;
    /// only when that argument was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_active_chain: Option<bool>,
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
            in_active_chain: None,
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
                *prevout = Some(Box::new(PrevOut::from_coin(coin, network)));
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
    /// Its locking script, as Core shows it.
    #[serde(rename = "scriptPubKey")]
    pub script_pub_key: ScriptPubKey,
    /// Whether a coinbase created it.
    pub coinbase: bool,
}

/// `getblockstats` with every statistic, in Core's names and units: amounts in base
/// units, fee rates in base units per byte (Core's sat/vB; a byte is a virtual byte here),
/// sizes in bytes, the coinbase left out of the fee, size and input figures. The call
/// answers with the subset its `stats` argument selects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockStats {
    /// Average fee of the block's transactions.
    pub avgfee: u64,
    /// Average fee rate.
    pub avgfeerate: u64,
    /// Average transaction size.
    pub avgtxsize: u64,
    /// The block hash.
    pub blockhash: BlockHash,
    /// Fee rates at the 10th, 25th, 50th, 75th and 90th percentile of the block's bytes.
    pub feerate_percentiles: [u64; 5],
    /// The block height.
    pub height: u32,
    /// Inputs, the coinbase's left out.
    pub ins: u64,
    /// Highest fee.
    pub maxfee: u64,
    /// Highest fee rate.
    pub maxfeerate: u64,
    /// Largest transaction size.
    pub maxtxsize: u64,
    /// Median fee.
    pub medianfee: u64,
    /// The block's median time past.
    pub mediantime: u32,
    /// Median transaction size.
    pub mediantxsize: u64,
    /// Lowest fee.
    pub minfee: u64,
    /// Lowest fee rate.
    pub minfeerate: u64,
    /// Smallest transaction size.
    pub mintxsize: u64,
    /// Outputs, the coinbase's included.
    pub outs: u64,
    /// The block subsidy.
    pub subsidy: u64,
    /// Total size of the transactions that carry witnesses.
    pub swtotal_size: u64,
    /// Their total weight (4 × size).
    pub swtotal_weight: u64,
    /// How many transactions carry witnesses.
    pub swtxs: u64,
    /// The block's header time.
    pub time: u32,
    /// Total value of the outputs, the coinbase's left out.
    pub total_out: u64,
    /// Total size of the transactions.
    pub total_size: u64,
    /// Their total weight (4 × size).
    pub total_weight: u64,
    /// Total fee.
    pub totalfee: u64,
    /// Transactions, the coinbase included.
    pub txs: u64,
    /// Outputs created minus outputs spent.
    pub utxo_increase: i64,
    /// Change in the UTXO set's size in bytes (its entries as stored).
    pub utxo_size_inc: i64,
    /// `utxo_increase` without unspendable outputs: the same, every output is spendable.
    pub utxo_increase_actual: i64,
    /// `utxo_size_inc` without unspendable outputs: the same.
    pub utxo_size_inc_actual: i64,
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
    /// The same hash under the name Core gives its own (`hash_type` = `hash_serialized_3`).
    pub hash_serialized_3: String,
    /// Sum of all unspent values, in DOT.
    pub total_amount: Amount,
    /// Bytes of block and index data on disk.
    pub disk_size: u64,
}

/// `waitfornewblock`, `waitforblock` and `waitforblockheight`: the tip when the wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitTip {
    /// Hash of the tip.
    pub hash: BlockHash,
    /// Its height.
    pub height: u32,
}

/// How far one index is synced, in `getindexinfo`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexStatus {
    /// Whether it is synced to the tip (always: indexes are written with their block).
    pub synced: bool,
    /// The height it is synced to.
    pub best_block_height: u32,
}

/// `getindexinfo`: the node's indexes by name, those the `index_name` argument selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct IndexInfo {
    /// The transaction index (txid to block).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub txindex: Option<IndexStatus>,
    /// The address index (key to outputs and transactions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addressindex: Option<IndexStatus>,
}

/// One rule set of `getdeploymentinfo`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deployment {
    /// Core's deployment type: `buried` (activation fixed in the code).
    #[serde(rename = "type")]
    pub kind: String,
    /// Whether the rules are in force at the block asked about.
    pub active: bool,
    /// The height they took effect.
    pub height: u32,
    /// What the rules are, in words.
    pub rule: String,
}

/// `getdeploymentinfo`: the rules in force at a block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentInfo {
    /// The block asked about (or the tip).
    pub hash: BlockHash,
    /// Its height.
    pub height: u32,
    /// The deployments by name.
    pub deployments: BTreeMap<String, Deployment>,
}

/// Declares [`BlockStatsSelection`] with one optional field per statistic of
/// [`BlockStats`], and the selection of some of them from a full answer.
macro_rules! block_stats_selection {
    ($($field:ident: $ty:ty),* $(,)?) => {
        /// `getblockstats`: the statistics its `stats` argument selected (every one when
        /// it is left out), each a field of [`BlockStats`] with the same name and unit.
        #[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
        pub struct BlockStatsSelection {
            $(
                #[doc = concat!("[`BlockStats::", stringify!($field), "`], when selected.")]
                #[serde(default, skip_serializing_if = "Option::is_none")]
                pub $field: Option<$ty>,
            )*
        }

        impl BlockStats {
            /// The names of the statistics, as `getblockstats` accepts them.
            pub const NAMES: &'static [&'static str] = &[$(stringify!($field)),*];

            /// The statistics named in `wanted` (all of them for `None`); an unknown name
            /// is returned as the error.
            pub fn select(self, wanted: Option<&[String]>) -> Result<BlockStatsSelection, String> {
                if let Some(bad) = wanted
                    .into_iter()
                    .flatten()
                    .find(|w| !Self::NAMES.contains(&w.as_str()))
                {
                    return Err(bad.clone());
                }
                let on = |name: &str| wanted.is_none_or(|w| w.iter().any(|n| n == name));
                Ok(BlockStatsSelection {
                    $($field: on(stringify!($field)).then_some(self.$field),)*
                })
            }
        }
    };
}

block_stats_selection!(
    avgfee: u64,
    avgfeerate: u64,
    avgtxsize: u64,
    blockhash: BlockHash,
    feerate_percentiles: [u64; 5],
    height: u32,
    ins: u64,
    maxfee: u64,
    maxfeerate: u64,
    maxtxsize: u64,
    medianfee: u64,
    mediantime: u32,
    mediantxsize: u64,
    minfee: u64,
    minfeerate: u64,
    mintxsize: u64,
    outs: u64,
    subsidy: u64,
    swtotal_size: u64,
    swtotal_weight: u64,
    swtxs: u64,
    time: u32,
    total_out: u64,
    total_size: u64,
    total_weight: u64,
    totalfee: u64,
    txs: u64,
    utxo_increase: i64,
    utxo_size_inc: i64,
    utxo_increase_actual: i64,
    utxo_size_inc_actual: i64,
);

/// `getchaintxstats`: transaction counts and rate over a window of the active chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChainTxStats {
    /// Header time of the window's last block.
    pub time: u32,
    /// Transactions in the chain up to and including that block.
    pub txcount: u64,
    /// Hash of the window's last block.
    pub window_final_block_hash: BlockHash,
    /// Its height.
    pub window_final_block_height: u32,
    /// Blocks in the window.
    pub window_block_count: u32,
    /// Transactions in the window (only for a window of at least one block).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_tx_count: Option<u64>,
    /// Seconds between the median times past at the window's ends (same condition).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_interval: Option<i64>,
    /// Transactions per second in the window (only when `window_interval` > 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub txrate: Option<f64>,
}

/// `estimatesmartfee`: a fee rate, or why there is none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeeEstimate {
    /// DOT per 1000 bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feerate: Option<Amount>,
    /// Why there is no estimate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<String>>,
    /// The block target the estimate is for.
    pub blocks: u32,
}

/// `scantxoutset start`: the unspent outputs its descriptors match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanTxOutSetResult {
    /// Whether the scan completed.
    pub success: bool,
    /// Outputs examined: the address index yields only the matching ones.
    pub txouts: u64,
    /// Height of the tip the scan saw.
    pub height: u32,
    /// Hash of that tip.
    pub bestblock: BlockHash,
    /// The matching unspent outputs.
    pub unspents: Vec<ScanUnspent>,
    /// Their total.
    pub total_amount: Amount,
}

/// One output found by `scantxoutset`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanUnspent {
    /// Its transaction.
    pub txid: Txid,
    /// Its index.
    pub vout: u32,
    /// Its locking script, hex (`5120` and the x-only key, see [`ScriptPubKey`]).
    #[serde(rename = "scriptPubKey")]
    pub script_pub_key: String,
    /// The descriptor that matched it.
    pub desc: String,
    /// Its value.
    pub amount: Amount,
    /// Whether a coinbase created it.
    pub coinbase: bool,
    /// Height of its block.
    pub height: u32,
    /// Hash of its block.
    pub blockhash: BlockHash,
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

/// One call `getrpcinfo` saw being answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActiveCommand {
    /// The method.
    pub method: String,
    /// Microseconds since it started.
    pub duration: u64,
}

/// `getrpcinfo`: the RPC server's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RpcInfo {
    /// The calls being answered, this one included.
    pub active_commands: Vec<ActiveCommand>,
    /// The debug log's path.
    pub logpath: String,
}

/// Core's locked memory pool, in `getmemoryinfo`: it holds keys, and dotcoind holds none,
/// so every figure is 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LockedMemory {
    /// Bytes used.
    pub used: u64,
    /// Bytes available in the current arenas.
    pub free: u64,
    /// Bytes in all arenas.
    pub total: u64,
    /// Bytes actually locked.
    pub locked: u64,
    /// Allocated chunks.
    pub chunks_used: u64,
    /// Unused chunks.
    pub chunks_free: u64,
}

/// `getmemoryinfo` in its `stats` mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MemoryInfo {
    /// The locked pool.
    pub locked: LockedMemory,
}

/// `logging`: every log category, and whether it is at debug level.
pub type LoggingCategories = BTreeMap<String, bool>;

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
    /// Sum of the fees of the pool's transactions, DOT.
    pub total_fee: Amount,
    /// Lowest fee rate the pool takes now, DOT per kB.
    pub mempoolminfee: Amount,
    /// Minimum relay fee rate, DOT per kB.
    pub minrelaytxfee: Amount,
    /// The fee rate step Core uses for replacements and eviction; the relay fee here,
    /// DOT per kB.
    pub incrementalrelayfee: Amount,
    /// Transactions not yet announced to a peer: always 0, a transaction is announced as
    /// it is accepted.
    pub unbroadcastcount: u64,
    /// Always false: a transaction that conflicts with the pool is refused, never replaces.
    pub fullrbf: bool,
}

/// The fees of a transaction `testmempoolaccept` would take, as Bitcoin Core nests them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MempoolFees {
    /// The transaction's own fee, in DOT.
    pub base: Amount,
    /// The fee rate it is judged by, DOT per kB: its own, as there are no packages here.
    #[serde(rename = "effective-feerate")]
    pub effective_feerate: Amount,
    /// The wtxids whose fees make up the effective fee rate: its own.
    #[serde(rename = "effective-includes")]
    pub effective_includes: Vec<Wtxid>,
}

/// The fees of a mempool entry, as Bitcoin Core nests them (no fee deltas here, so
/// `modified` is `base`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MempoolEntryFees {
    /// The transaction's own fee, in DOT.
    pub base: Amount,
    /// The fee the miner ranks it by: `base`.
    pub modified: Amount,
    /// Fees of it and its in-pool ancestors, DOT.
    pub ancestor: Amount,
    /// Fees of it and its in-pool descendants, DOT.
    pub descendant: Amount,
}

/// `getmempoolentry`, and each value of `getrawmempool true`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MempoolEntry {
    /// Serialized size in bytes: Core's virtual size, as there is no witness discount
    /// (Core's own `size` field went in 0.19; a strict Core client refuses both at once).
    pub vsize: u64,
    /// 4 × `vsize`.
    pub weight: u64,
    /// Fee in DOT.
    pub fee: Amount,
    /// Fee again, in Bitcoin Core's nested form, with the ancestor and descendant sums.
    pub fees: MempoolEntryFees,
    /// Fee rate, base units per 1000 bytes (rounded down).
    pub feerate: FeeRate,
    /// Unix time it entered the pool.
    pub time: u64,
    /// Chain height when it entered.
    pub height: u32,
    /// In-pool descendants, itself included.
    pub descendantcount: u64,
    /// Their total size in bytes.
    pub descendantsize: u64,
    /// In-pool ancestors, itself included.
    pub ancestorcount: u64,
    /// Their total size in bytes.
    pub ancestorsize: u64,
    /// Its wtxid.
    pub wtxid: Wtxid,
    /// Unconfirmed parents in the pool.
    pub depends: Vec<Txid>,
    /// Pool transactions spending its outputs.
    pub spentby: Vec<Txid>,
    /// Always false: the pool never lets a conflicting transaction replace it.
    #[serde(rename = "bip125-replaceable")]
    pub bip125_replaceable: bool,
    /// Always false: a transaction is announced to peers as it is accepted.
    pub unbroadcast: bool,
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
    /// The miner's hashing kernel (dotcoin's addition): `portable` or `sha-ni-N`, N
    /// nonces per call.
    #[serde(default)]
    pub kernel: String,
    /// Why that kernel runs: the start-up probe's rates, or `--minerkernel`.
    #[serde(default)]
    pub kernel_reason: String,
    /// Transactions in the mempool.
    pub pooledtx: u64,
    /// `main` or `regtest`.
    pub chain: String,
    /// The block that would be mined next.
    pub next: NextBlockInfo,
    /// Warnings for the operator; empty when none.
    pub warnings: String,
}

/// `generateblock`: the block's hash, and the block itself when it was not submitted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenerateBlockResult {
    /// The new block's hash.
    pub hash: BlockHash,
    /// The block, hex (only with `submit = false`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hex: Option<String>,
}

/// `getblocktemplate`: a template, or in BIP23 proposal mode `null` (the block would be
/// valid) or the reject reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum GetBlockTemplateResult {
    /// `mode = "template"` (the default).
    Template(Box<BlockTemplate>),
    /// `mode = "proposal"`.
    Proposal(Option<String>),
}

/// The next block as `getmininginfo` describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NextBlockInfo {
    /// Its height.
    pub height: u32,
    /// The compact target it must meet, 8 hex digits.
    pub bits: String,
    /// Its difficulty.
    pub difficulty: f64,
    /// Its target, 64 hex digits.
    pub target: String,
}

/// Bitcoin Core's `MAX_BLOCK_SIGOPS_COST`, shown as `getblocktemplate`'s `sigoplimit`.
pub const MAX_BLOCK_SIGOPS_COST: u64 = 80_000;

/// One transaction of a [`BlockTemplate`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockTemplateTx {
    /// The serialized transaction, hex.
    pub data: String,
    /// Its txid.
    pub txid: Txid,
    /// Its wtxid.
    pub hash: Wtxid,
    /// 1-based positions in the template's list of the transactions it spends.
    pub depends: Vec<u32>,
    /// Its fee in base units.
    pub fee: u64,
    /// Signature operations as Core counts them: 0, as for a taproot key-path spend.
    pub sigops: u32,
    /// 4 × its size.
    pub weight: u64,
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
    /// 4 × `sizelimit`.
    pub weightlimit: u64,
    /// Core's limit on signature operations per block ([`MAX_BLOCK_SIGOPS_COST`]):
    /// Core counts no operations for a key-path spend, the only kind here, so no
    /// template comes near it.
    pub sigoplimit: u64,
    /// Pending BIP9 deployments the server supports: none.
    pub vbavailable: BTreeMap<String, u32>,
    /// Version bits the server requires set: none.
    pub vbrequired: u32,
    /// Data to put in the coinbase: none.
    pub coinbaseaux: BTreeMap<String, String>,
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

/// One entry of `getpeerinfo`. Fields for features dotcoin lacks carry Core's value for
/// a peer that does not use them (no BIP152 high-bandwidth relay, no fee filter, the v1
/// transport, no permissions).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeerInfo {
    /// The node's id for the peer (for `disconnectnode`).
    pub id: u64,
    /// The peer's `ip:port`.
    pub addr: String,
    /// Our end of the connection, `ip:port`.
    pub addrbind: String,
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
    /// Seconds the peer's clock is ahead of ours; 0, the node does not measure it.
    pub timeoffset: i64,
    /// Whether we relay transactions to it: always.
    pub relaytxes: bool,
    /// Unix time of the last new transaction from it (0: none, or not tracked).
    pub last_transaction: u64,
    /// Unix time of the last block from it that moved our tip (0: none).
    pub last_block: u64,
    /// Its services by name.
    pub servicesnames: Vec<String>,
    /// Whether we chose it as a BIP152 high-bandwidth peer: never.
    pub bip152_hb_to: bool,
    /// Whether it chose us: never.
    pub bip152_hb_from: bool,
    /// Height of headers it sent before they were checked; -1, there is no presync.
    pub presynced_headers: i64,
    /// Heights of blocks we wait for from it; empty, downloads are not tracked per peer.
    pub inflight: Vec<u32>,
    /// Whether we relay addresses to it.
    pub addr_relay_enabled: bool,
    /// Addresses it sent that we processed; 0, not counted.
    pub addr_processed: u64,
    /// Addresses it sent that we dropped by rate; 0, there is no rate limit.
    pub addr_rate_limited: u64,
    /// Its permissions: none.
    pub permissions: Vec<String>,
    /// The fee filter it sent, DOT per kB; 0, there is no `feefilter` message.
    pub minfeefilter: Amount,
    /// Bytes sent by message type; empty, not counted per type.
    pub bytessent_per_msg: BTreeMap<String, u64>,
    /// Bytes received by message type; empty, not counted per type.
    pub bytesrecv_per_msg: BTreeMap<String, u64>,
    /// The transport: `v1`.
    pub transport_protocol_type: String,
    /// The BIP324 session id; empty on the v1 transport.
    pub session_id: String,
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
    /// Whether the connection is manual (`addnode`, `--addnode`, `--connect`): Core's
    /// field of that name before 0.21, a boolean.
    pub addnode: bool,
    /// The `addnode` target it was reached through, if any (named as in
    /// `getaddednodeinfo`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addednode: Option<String>,
    /// dotcoin: blocks (or their headers) this node saw from the peer before any other
    /// (its first-seen records, `getblockpropagation`).
    #[serde(default)]
    pub firstseen_blocks: u64,
    /// dotcoin: transactions this node saw from the peer before any other.
    #[serde(default)]
    pub firstseen_txs: u64,
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
    /// Whether transactions are relayed: always.
    pub localrelay: bool,
    /// Seconds our clock differs from the peers'; 0, the node does not measure it.
    pub timeoffset: i64,
    /// Per network kind, whether it is reachable.
    pub networks: Vec<NetworkReach>,
    /// Minimum relay fee rate, DOT per kB.
    pub relayfee: Amount,
    /// The fee rate step Core uses for replacements and eviction; the relay fee here,
    /// DOT per kB.
    pub incrementalfee: Amount,
    /// Addresses the node listens on.
    pub localaddresses: Vec<LocalAddress>,
    /// Warnings for the operator; empty when none.
    pub warnings: String,
}

/// One entry of `getaddednodeinfo`: an `addnode` target and its connections.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddedNodeInfo {
    /// The target as given to `addnode`.
    pub addednode: String,
    /// Whether a connection to it is up.
    pub connected: bool,
    /// The connections that serve it.
    pub addresses: Vec<AddedNodeAddress>,
}

/// A connection serving an added node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddedNodeAddress {
    /// The peer's address, `host:port`.
    pub address: String,
    /// The direction: always `outbound` (the node dials its added nodes).
    pub connected: String,
}

/// One entry of `getnodeaddresses`: an address learnt from peers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeAddress {
    /// When it was last seen, UNIX epoch seconds.
    pub time: u64,
    /// The services it offers, Core's bits (`NODE_NETWORK`).
    pub services: u64,
    /// The IP.
    pub address: String,
    /// The P2P port.
    pub port: u16,
    /// `ipv4`, `ipv6` or `not_publicly_routable`.
    pub network: String,
}

/// One network kind in `getnetworkinfo`: plain IP is reachable, and no proxy or overlay
/// network (Tor, I2P, CJDNS) is supported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkReach {
    /// `ipv4`, `ipv6`, `onion`, `i2p` or `cjdns`.
    pub name: String,
    /// Core's `limited`: the opposite of `reachable`.
    pub limited: bool,
    /// Whether peers of this kind can be reached.
    pub reachable: bool,
    /// The proxy for it: none.
    pub proxy: String,
    /// Whether the proxy gets random credentials: no proxy, so no.
    pub proxy_randomize_credentials: bool,
}

impl NetworkReach {
    /// The networks as this node reaches them.
    pub fn all() -> Vec<NetworkReach> {
        ["ipv4", "ipv6", "onion", "i2p", "cjdns"]
            .into_iter()
            .map(|name| NetworkReach {
                name: name.into(),
                limited: !name.starts_with("ipv"),
                reachable: name.starts_with("ipv"),
                proxy: String::new(),
                proxy_randomize_credentials: false,
            })
            .collect()
    }
}

/// `getnettotals`: bytes over every peer connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetTotals {
    /// Bytes received.
    pub totalbytesrecv: u64,
    /// Bytes sent.
    pub totalbytessent: u64,
    /// Unix time of the answer, milliseconds.
    pub timemillis: u64,
    /// Core's `-maxuploadtarget` state; there is no upload target here.
    pub uploadtarget: UploadTarget,
}

/// The upload target of [`NetTotals`], as Core shows it with none set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadTarget {
    /// The measuring window, seconds (Core's day).
    pub timeframe: u64,
    /// The target in bytes; 0, none.
    pub target: u64,
    /// Whether it is reached: never, there is none.
    pub target_reached: bool,
    /// Whether old blocks are still served: always.
    pub serve_historical_blocks: bool,
    /// Bytes left in the window; 0 with no target, as Core shows it.
    pub bytes_left_in_cycle: u64,
    /// Seconds left in the window; 0 with no target, as Core shows it.
    pub time_left_in_cycle: u64,
}

impl UploadTarget {
    /// Core's answer with no `-maxuploadtarget`.
    pub fn none() -> UploadTarget {
        UploadTarget {
            timeframe: 24 * 60 * 60,
            target: 0,
            target_reached: false,
            serve_historical_blocks: true,
            bytes_left_in_cycle: 0,
            time_left_in_cycle: 0,
        }
    }
}

/// One entry of `getzmqnotifications` (the node publishes none: the list is empty).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZmqNotification {
    /// The notification kind (`pubhashblock`, …).
    #[serde(rename = "type")]
    pub kind: String,
    /// The ZeroMQ address it is published on.
    pub address: String,
    /// The outbound message high-water mark.
    pub hwm: u64,
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
            "target": format!("7fffff{}", "0".repeat(58)),
            "difficulty": 4.6e-10, "chainwork": format!("{:064x}", 204), "nTx": 1,
            "previousblockhash": HASH2,
        })
    }

    fn script_json() -> Value {
        json!({
            "asm": format!("1 {KEY}"), "desc": format!("rawtr({KEY})#00000000"),
            "hex": format!("5120{KEY}"), "address": ADDR, "type": "witness_v1_taproot",
        })
    }

    fn coinbase_tx_json(with_block: bool) -> Value {
        let mut v = json!({
            "txid": HASH, "hash": HASH2, "version": 1, "size": 90, "vsize": 90, "weight": 360,
            "locktime": 0,
            "vin": [{ "coinbase": "00ff", "height": 101, "sequence": FINAL_SEQUENCE }],
            "vout": [{ "value": 50.0, "n": 0, "address": ADDR, "pubkey": KEY,
                       "scriptPubKey": script_json() }],
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
            "bits": "207fffff", "target": format!("7fffff{}", "0".repeat(58)),
            "difficulty": 4.6e-10, "time": 1_700_000_100, "mediantime": 1_700_000_000,
            "verificationprogress": 1.0, "initialblockdownload": false,
            "chainwork": format!("{:064x}", 204), "size_on_disk": 12_345, "pruned": false,
            "warnings": "", "coinbase_maturity": 100,
        }));
        assert_eq!(info.coinbase_maturity, 100);

        let header: BlockHeaderVerbose = round_trip(header_json());
        assert_eq!(header.nextblockhash, None);
        assert_eq!(header.version_hex, "00000001");
        assert_eq!(header.n_tx, 1);
        let mut genesis = header_json();
        genesis.as_object_mut().unwrap().remove("previousblockhash");
        genesis["nextblockhash"] = json!(HASH2);
        genesis["confirmations"] = json!(-1);
        let genesis: BlockHeaderVerbose = round_trip(genesis);
        assert_eq!(genesis.previousblockhash, None);
        assert_eq!(genesis.confirmations, -1);

        let mut block = header_json();
        block["size"] = json!(250);
        block["strippedsize"] = json!(180);
        block["weight"] = json!(1000);
        block["tx"] = json!([HASH]);
        let block: GetBlockVerbose = round_trip(block);
        assert_eq!(block.header.n_tx, 1);
        assert_eq!(block.weight, 1000);
        assert_eq!(block.tx[0].to_string(), HASH);
        assert_eq!(block.header.height, 101);

        let mut block2 = header_json();
        block2["size"] = json!(250);
        block2["strippedsize"] = json!(180);
        block2["weight"] = json!(1000);
        block2["tx"] = json!([coinbase_tx_json(false)]);
        let block2: GetBlockVerboseTx = round_trip(block2);
        assert_eq!(
            block2.tx[0].tx.vin[0],
            TxInVerbose::Coinbase {
                coinbase: "00ff".into(),
                height: 101,
                sequence: FINAL_SEQUENCE,
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
            "pubkey": KEY, "scriptPubKey": script_json(), "coinbase": true,
        }));
        assert_eq!(txout.value, Amount::from_dot(50));
        let set: TxOutSetInfo = round_trip(json!({
            "height": 102, "bestblock": HASH, "transactions": 102, "txouts": 103,
            "bogosize": 7_000, "hash_serialized": HASH2, "hash_serialized_3": HASH2,
            "total_amount": 5150.0,
            "disk_size": 1_000,
        }));
        assert_eq!(set.total_amount, Amount::from_dot(5150));
    }

    #[test]
    fn raw_transactions_and_mempool() {
        let mut spend = coinbase_tx_json(false);
        spend["vin"] = json!([{
            "txid": HASH2, "vout": 0, "scriptSig": { "asm": "", "hex": "" },
            "txinwitness": ["aa"], "witness": "aa", "sequence": FINAL_SEQUENCE,
        }]);
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
            "loaded": true, "size": 1, "bytes": 150, "usage": 150, "total_fee": 1.0,
            "maxmempool": 300_000_000, "mempoolminfee": 0.00001, "minrelaytxfee": 0.00001,
            "incrementalrelayfee": 0.00001, "unbroadcastcount": 0, "fullrbf": false,
        }));
        assert_eq!(info.size, 1);

        let entry = json!({
            "vsize": 150, "weight": 600, "fee": 1.0,
            "fees": { "base": 1.0, "modified": 1.0, "ancestor": 1.0, "descendant": 1.5 },
            "feerate": 666_666_666, "time": 1_700_000_000, "height": 101,
            "descendantcount": 2, "descendantsize": 300, "ancestorcount": 1,
            "ancestorsize": 150, "wtxid": HASH, "depends": [], "spentby": [HASH2],
            "bip125-replaceable": false, "unbroadcast": false,
        });
        let parsed: MempoolEntry = round_trip(entry.clone());
        assert_eq!(parsed.feerate, FeeRate::from_sat_per_kvb(666_666_666));
        assert_eq!(parsed.fees.base, Amount::ONE_DOT);
        assert_eq!(parsed.fees.descendant, Amount::from_sat(150_000_000));
        let pool: RawMempoolVerbose = round_trip(json!({ HASH: entry }));
        assert_eq!(pool[&HASH.parse::<Txid>().unwrap()], parsed);

        let results: Vec<TestMempoolAcceptResult> = round_trip(json!([
            { "txid": HASH, "wtxid": HASH2, "allowed": true, "vsize": 150,
              "fees": { "base": 1.0, "effective-feerate": 6.66666666,
                        "effective-includes": [HASH2] } },
            { "txid": HASH, "wtxid": HASH2, "allowed": false,
              "reject-reason": "missing inputs" },
        ]));
        assert_eq!(results[1].reject_reason.as_deref(), Some("missing inputs"));
        assert_eq!(results[0].vsize, Some(150));
    }

    #[test]
    fn scripts_read_as_taproot_outputs_with_checksummed_descriptors() {
        // BIP380's example descriptor and checksum.
        assert_eq!(descriptor_checksum("raw(deadbeef)"), "89f8spxm");
        assert_eq!(descriptor_checksum("raw(deadbeef)\u{7f}"), "");
        let key: PubKey = KEY.parse().unwrap();
        let script = ScriptPubKey::for_key(&key, Network::Regtest);
        assert_eq!(script.hex, format!("5120{KEY}"));
        assert_eq!(script.asm, format!("1 {KEY}"));
        assert_eq!(
            script.desc,
            format!(
                "rawtr({KEY})#{}",
                descriptor_checksum(&format!("rawtr({KEY})"))
            )
        );
        assert_eq!(script.desc.len(), "rawtr()#".len() + 64 + 8);
        assert_eq!(
            script.address,
            Address::new(Network::Regtest, key).to_string()
        );
        let mut wire = serde_json::to_value(&script).unwrap();
        assert_eq!(wire["type"], json!("witness_v1_taproot"));
        wire["desc"] = json!("rawtr(x)#00000000");
        round_trip::<ScriptPubKey>(wire);
    }

    #[test]
    fn block_stats() {
        let stats: BlockStats = round_trip(json!({
            "avgfee": 200, "avgfeerate": 1, "avgtxsize": 150, "blockhash": HASH,
            "feerate_percentiles": [1, 1, 2, 2, 3], "height": 102, "ins": 1,
            "maxfee": 300, "maxfeerate": 3, "maxtxsize": 160, "medianfee": 200,
            "mediantime": 1_700_000_000, "mediantxsize": 150, "minfee": 100,
            "minfeerate": 1, "mintxsize": 140, "outs": 3, "subsidy": 5_000_000_000u64,
            "swtotal_size": 300, "swtotal_weight": 1200, "swtxs": 2, "time": 1_700_000_100,
            "total_out": 100, "total_size": 300, "total_weight": 1200, "totalfee": 400,
            "txs": 3, "utxo_increase": 2, "utxo_size_inc": 162, "utxo_increase_actual": 2,
            "utxo_size_inc_actual": 162,
        }));
        assert_eq!(stats.feerate_percentiles, [1, 1, 2, 2, 3]);
        // Every statistic selected prints as the full answer; a selection as its subset.
        let all = stats.clone().select(None).expect("no names to refuse");
        assert_eq!(
            serde_json::to_value(&all).unwrap(),
            serde_json::to_value(&stats).unwrap()
        );
        let some = stats
            .clone()
            .select(Some(&["txs".to_owned(), "totalfee".to_owned()]))
            .expect("known names");
        assert_eq!(
            round_trip::<BlockStatsSelection>(json!({"txs": 3, "totalfee": 400})),
            some
        );
        assert_eq!(
            stats.select(Some(&["nosuchstat".to_owned()])),
            Err("nosuchstat".into())
        );
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
        // The witness is one compact-size byte and 64 signature bytes.
        assert_eq!(tx.base_size(), tx.size() - 65);
        let mut stripped = Vec::new();
        tx.encode_without_witness(&mut stripped);
        assert_eq!(tx.base_size(), stripped.len());
        assert_eq!(verbose.tx.vsize, tx.size() as u64);
        assert_eq!(verbose.tx.weight, 4 * tx.size() as u64);
        assert_eq!(
            verbose.tx.vout[0].script_pub_key,
            ScriptPubKey::for_key(&key, Network::Regtest)
        );
        assert_eq!(verbose.tx.txid, tx.txid());
        assert_eq!(
            verbose.tx.vout[0].address,
            Address::new(Network::Regtest, key).to_string()
        );
        assert!(matches!(
            &verbose.tx.vin[0],
            TxInVerbose::Spend { vout: 2, txinwitness, witness, sequence: FINAL_SEQUENCE, .. }
                if txinwitness == &vec![witness.clone()]
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
            "generate": false, "genproclimit": 0, "kernel": "sha-ni-2",
            "kernel_reason": "set by --minerkernel", "pooledtx": 0, "chain": "regtest",
            "next": { "height": 102, "bits": "207fffff", "difficulty": 4.6e-10,
                      "target": format!("{:064x}", 1) },
            "warnings": "",
        }));
        assert!(!info.generate);
        assert_eq!(info.next.height, 102);
        let template: BlockTemplate = round_trip(json!({
            "version": 1, "previousblockhash": HASH,
            "transactions": [{ "data": "0100", "txid": HASH, "hash": HASH2, "depends": [],
                               "fee": 100, "sigops": 0, "weight": 800 }],
            "coinbasevalue": 5_000_000_100u64, "target": format!("{:064x}", 1),
            "mintime": 1_700_000_001, "curtime": 1_700_000_100, "bits": "207fffff",
            "height": 102, "sizelimit": 1_000_000, "weightlimit": 4_000_000,
            "sigoplimit": 80_000, "vbavailable": {}, "vbrequired": 0, "coinbaseaux": {},
            "work": "2", "rules": [], "capabilities": ["proposal"], "longpollid": "ab1",
            "mutable": ["time", "transactions", "prevblock"], "noncerange": "00000000ffffffff",
        }));
        assert_eq!(template.transactions[0].fee, 100);
    }

    /// The fields of a `getpeerinfo` entry that stand for features dotcoin lacks.
    fn peer_defaults(mut peer: Value) -> Value {
        let defaults = json!({
            "addrbind": "127.0.0.1:40001", "timeoffset": 0, "relaytxes": true,
            "last_transaction": 0, "last_block": 0, "servicesnames": ["NETWORK"],
            "bip152_hb_to": false, "bip152_hb_from": false, "presynced_headers": -1,
            "inflight": [], "addr_relay_enabled": true, "addr_processed": 0, "addnode": false,
            "addr_rate_limited": 0, "permissions": [], "minfeefilter": 0.0,
            "bytessent_per_msg": {}, "bytesrecv_per_msg": {},
            "transport_protocol_type": "v1", "session_id": "",
            "firstseen_blocks": 0, "firstseen_txs": 0,
        });
        let fields = peer.as_object_mut().expect("object");
        for (k, v) in defaults.as_object().expect("object") {
            fields.entry(k.clone()).or_insert_with(|| v.clone());
        }
        peer
    }

    #[test]
    fn network_and_control() {
        let peers: Vec<PeerInfo> = round_trip(Value::Array(vec![
            peer_defaults(
                json!({ "id": 0, "addr": "127.0.0.1:18633", "inbound": false,
              "connection_type": "manual", "version": 1, "subver": "/dotcoin:0.1.0/",
              "startingheight": 5, "synced_headers": 5, "synced_blocks": 5,
              "bytessent": 100, "bytesrecv": 200, "conntime": 1_700_000_000,
              "banscore": 0, "pingtime": 0.001, "minping": 0.0005,
              "addnode": true, "addednode": "127.0.0.1:18633",
              "services": "0000000000000001", "lastsend": 1_700_000_001,
              "lastrecv": 1_700_000_002, "network": "not_publicly_routable" }),
            ),
            peer_defaults(json!({ "id": 1, "addr": "127.0.0.1:40000", "inbound": true,
              "connection_type": "inbound", "version": 0, "subver": "",
              "startingheight": -1, "synced_headers": -1, "synced_blocks": -1,
              "bytessent": 0, "bytesrecv": 0, "conntime": 1_700_000_000, "banscore": 0,
              "services": "0000000000000000", "lastsend": 0, "lastrecv": 0,
              "network": "not_publicly_routable" })),
            peer_defaults(json!({ "id": 2, "addr": "10.0.0.1:8633", "inbound": false,
              "connection_type": "outbound-full-relay", "version": 1, "subver": "/x/",
              "startingheight": 0, "synced_headers": 0, "synced_blocks": 0,
              "bytessent": 1, "bytesrecv": 1, "conntime": 1, "banscore": 10,
              "services": "0000000000000001", "lastsend": 1, "lastrecv": 1, "network": "ipv4" })),
        ]));
        assert_eq!(peers[0].connection_type, ConnectionType::Manual);
        assert!(peers[0].addnode && !peers[1].addnode);
        assert_eq!(peers[1].pingtime, None);
        assert_eq!(peers[2].connection_type, ConnectionType::OutboundFullRelay);

        let net: NetworkInfo = round_trip(json!({
            "version": 100, "subversion": "/dotcoin:0.1.0/", "protocolversion": 1,
            "connections": 2, "connections_in": 1, "connections_out": 1,
            "networkactive": true, "localservices": "0000000000000001",
            "localservicesnames": ["NETWORK"], "localrelay": true, "timeoffset": 0,
            "networks": serde_json::to_value(NetworkReach::all()).expect("json"),
            "relayfee": 0.00001, "incrementalfee": 0.00001,
            "localaddresses": [{ "address": "127.0.0.1", "port": 18633, "score": 1 }],
            "warnings": "",
        }));
        assert_eq!(net.networks.iter().filter(|n| n.reachable).count(), 2);
        let totals: NetTotals = round_trip(json!({
            "totalbytesrecv": 10, "totalbytessent": 20, "timemillis": 1_700_000_000_000u64,
            "uploadtarget": serde_json::to_value(UploadTarget::none()).expect("json"),
        }));
        assert_eq!(totals.uploadtarget.timeframe, 86_400);
        round_trip::<Vec<ZmqNotification>>(json!([
            { "type": "pubhashblock", "address": "tcp://127.0.0.1:28332", "hwm": 1000 },
        ]));
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

/// `validateaddress`: whether an address is valid here and what it pays. The fields after
/// `isvalid` are given for a valid address only, `error_locations` and `error` for an
/// invalid one, as in Core.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidateAddressResult {
    /// Whether the address is valid for this network.
    pub isvalid: bool,
    /// The address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// The output script it pays, hex: `5120` and the x-only key.
    #[serde(
        rename = "scriptPubKey",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub script_pub_key: Option<String>,
    /// Whether the key is a script (never).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isscript: Option<bool>,
    /// Whether it is a witness address (always: a witness v1 program).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iswitness: Option<bool>,
    /// The witness version (1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub witness_version: Option<u8>,
    /// The witness program, hex: the x-only key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub witness_program: Option<String>,
    /// Positions of likely errors (never known here: empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_locations: Option<Vec<u32>>,
    /// Why the address is invalid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One plugin of `plugin list` (and the answer to `plugin start`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginInfo {
    /// Its name (the file name without extension).
    pub name: String,
    /// Its executable.
    pub path: std::path::PathBuf,
    /// `running`, `restarting` (ended; started again after `next_restart_secs`), `ended`
    /// (exited and not restarted) or `failed` (never started).
    pub status: String,
    /// Why it ended or failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Its process id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// Methods it serves.
    pub methods: Vec<String>,
    /// Topics it subscribed to.
    pub subscriptions: Vec<String>,
    /// Hooks it registered.
    pub hooks: Vec<String>,
    /// Notifications dropped because it did not read them.
    pub notifications_dropped: u64,
    /// Seconds since it started.
    pub uptime: u64,
    /// Times the node restarted it after it ended.
    #[serde(default)]
    pub restarts: u32,
    /// Seconds until the next restart attempt, while `restarting`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_restart_secs: Option<u64>,
    /// Why it last ended, kept after it runs again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Whether its hooks fail closed (refuse) when it cannot be asked.
    #[serde(default)]
    pub fails_closed: bool,
}

/// What `plugin` answers, by sub-command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PluginResult {
    /// `list`.
    List {
        /// Every plugin the host knows, running or not.
        plugins: Vec<PluginInfo>,
    },
    /// `start`: the new plugin.
    Started(Box<PluginInfo>),
    /// `stop`.
    Stopped {
        /// The stopped plugin's name.
        stopped: String,
    },
}
