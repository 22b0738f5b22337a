//! The definition of every built-in method's interface: its Bitcoin Core parameter names,
//! types and defaults, its result fields and an example. The wire holds requests against
//! it ([`NodeTable`]: unknown named and surplus positional parameters are refused, named
//! parameters become positional) and `help` is printed from it ([`help_text`]), so the
//! help cannot describe parameters the server does not take.
//!
//! Methods added at run time (plugins) are not here: the wire passes their parameters
//! through untouched and `help` lists them from the extra entries it is given.

use dotcoin_common::{BlockHash, Txid};
use dotcoin_rpc_server::arg::{
    AddressIndexList, AnyJson, BlockVerbosity, Count, DotPerKvb, Flag, HashArg, HashOrHeight, Hex,
    HexList, Int, Json, JsonArray, JsonObject, KeywordArg, RawTxVerbosity, SubscriptionIdArg, Text,
    TextList, Uint,
};

use super::mining::TemplateRequest;
use super::network::{AddNodeCommand, AddrNetwork, BanCommand};
use super::plugin::PluginCommand;
use super::rawtx::{RawTxInput, RawTxOutputs};

pub use dotcoin_rpc_server::declare::{arg, opt_arg, Arg};

/// One field of an object result: name, type in Core's words, meaning.
pub type Field = (&'static str, &'static str, &'static str);

/// What a method returns.
#[derive(Debug, Clone, Copy)]
pub struct Returns {
    /// Core's word for the top-level type (`json object`, `numeric`, …).
    pub ty: &'static str,
    /// What it is.
    pub desc: &'static str,
    /// The fields of an object (or of each object of an array).
    pub fields: &'static [Field],
}

const fn ret(ty: &'static str, desc: &'static str) -> Returns {
    Returns {
        ty,
        desc,
        fields: &[],
    }
}

const fn obj(desc: &'static str, fields: &'static [Field]) -> Returns {
    Returns {
        ty: "json object",
        desc,
        fields,
    }
}

const fn arr(desc: &'static str, fields: &'static [Field]) -> Returns {
    Returns {
        ty: "json array",
        desc,
        fields,
    }
}

const NULL: Returns = ret("null", "Nothing");

/// One built-in method.
#[derive(Debug, Clone, Copy)]
pub struct MethodSpec {
    /// Core's category heading in `help`.
    pub category: &'static str,
    /// The method name.
    pub name: &'static str,
    /// What it does (first line is the summary).
    pub desc: &'static str,
    /// Its parameters, in positional order.
    pub args: &'static [Arg],
    /// What it returns.
    pub returns: Returns,
    /// Example arguments, each a JSON value's text.
    pub example: &'static [&'static str],
}

const HASH: Arg = arg::<HashArg<BlockHash>>("blockhash", "The block hash");
const EX_HASH: &str = "\"000000000000000000000000000000000000000000000000000000000000abcd\"";
const EX_TXID: &str = "\"00000000000000000000000000000000000000000000000000000000000000ef\"";
const EX_ADDR: &str = "\"dcrt1pexampleaddress\"";

/// Fields of a transaction as `getrawtransaction` (verbose) and `getblock 2` print it.
const TX_FIELDS: &[Field] = &[
    ("txid", "string", "The transaction id"),
    ("hash", "string", "The witness hash (wtxid)"),
    ("version", "numeric", "The version"),
    ("size", "numeric", "The serialized size"),
    ("vsize", "numeric", "The virtual size: the size (there is no witness discount)"),
    ("weight", "numeric", "The weight: 4 x size"),
    ("locktime", "numeric", "The lock time"),
    (
        "vin",
        "json array",
        "Inputs: txid, vout, scriptSig (empty), txinwitness, witness, sequence (or coinbase, height, sequence); prevout with verbosity 2",
    ),
    (
        "vout",
        "json array",
        "Outputs: value (DOT), n, address, pubkey, scriptPubKey {asm, desc, hex, address, type}",
    ),
    (
        "fee",
        "numeric",
        "Fee in DOT (verbosity 2, not for a coinbase)",
    ),
    ("hex", "string", "The serialized transaction"),
    ("blockhash", "string", "The block holding it (if confirmed)"),
    ("confirmations", "numeric", "Confirmations (if confirmed)"),
    ("time", "numeric", "Block time (if confirmed)"),
    ("blocktime", "numeric", "Block time again (if confirmed)"),
    (
        "in_active_chain",
        "boolean",
        "Whether the block given as blockhash is on the active chain (only with blockhash)",
    ),
];

/// Every built-in method, by category, in `help` order.
pub const SPECS: &[MethodSpec] = &[
    // == Addressindex ==
    MethodSpec {
        category: "Addressindex",
        name: "getaddressbalance",
        desc: "Balance of addresses (confirmed, immature, unconfirmed), in base units.",
        args: &[arg::<AddressIndexList>("addresses", "{\"addresses\": [\"address\",...]}, a list of addresses, or one")],
        returns: obj("", &[
            ("balance", "numeric", "Mature confirmed balance, base units"),
            ("immature", "numeric", "Immature coinbase outputs, base units"),
            ("unconfirmed", "numeric", "Net change from the mempool, base units"),
            ("received", "numeric", "Everything ever received, base units"),
        ]),
        example: &["{\"addresses\":[\"dcrt1pexampleaddress\"]}"],
    },
    MethodSpec {
        category: "Addressindex",
        name: "getaddresstxids",
        desc: "Txids of every transaction touching the addresses, confirmed then mempool.",
        args: &[arg::<AddressIndexList>("addresses", "{\"addresses\": [\"address\",...]}, a list of addresses, or one")],
        returns: arr("The txids", &[]),
        example: &["{\"addresses\":[\"dcrt1pexampleaddress\"]}"],
    },
    MethodSpec {
        category: "Addressindex",
        name: "getaddressutxos",
        desc: "Unspent outputs of addresses, mempool-aware.",
        args: &[arg::<AddressIndexList>("addresses", "{\"addresses\": [\"address\",...]}, a list of addresses, or one")],
        returns: arr("One object per output", &[
            ("address", "string", "The address"),
            ("txid", "string", "The transaction id"),
            ("outputIndex", "numeric", "The output index"),
            ("satoshis", "numeric", "The value, base units"),
            ("height", "numeric", "Block height (0 in the mempool)"),
            ("confirmations", "numeric", "Confirmations"),
            ("coinbase", "boolean", "From a coinbase"),
            ("immature", "boolean", "A coinbase output not yet spendable"),
            ("spentInMempool", "boolean", "Spent by a mempool transaction"),
        ]),
        example: &["{\"addresses\":[\"dcrt1pexampleaddress\"]}"],
    },
    // == Blockchain ==
    MethodSpec {
        category: "Blockchain",
        name: "getbestblockhash",
        desc: "Returns the hash of the best (tip) block in the most-work fully-validated chain.",
        args: &[],
        returns: ret("string", "the block hash, hex-encoded"),
        example: &[],
    },
    MethodSpec {
        category: "Blockchain",
        name: "getblock",
        desc: "If verbosity is 0, returns a string that is serialized, hex-encoded data for block 'hash'.\n\
               If verbosity is 1, returns an Object with information about block <hash>.\n\
               If verbosity is 2, returns an Object with information about block <hash> and information about each transaction, with fee and prevout.",
        args: &[HASH, opt_arg::<BlockVerbosity>("verbosity|verbose", "1", "0 for hex-encoded data, 1 for a JSON object, 2 for JSON with transaction data")],
        returns: obj("for verbosity 1 and 2 (verbosity 0: a hex string)", &[
            ("hash", "string", "the block hash (same as provided)"),
            ("confirmations", "numeric", "The number of confirmations, or -1 if the block is not on the main chain"),
            ("size", "numeric", "The block size"),
            ("strippedsize", "numeric", "The block size excluding witness data"),
            ("weight", "numeric", "The block weight: 4 x size (there is no witness discount)"),
            ("height", "numeric", "The block height or index"),
            ("version", "numeric", "The block version"),
            ("versionHex", "string", "The block version formatted in hexadecimal"),
            ("merkleroot", "string", "The merkle root"),
            ("tx", "json array", "The transaction ids (verbosity 1) or transactions (verbosity 2)"),
            ("time", "numeric", "The block time in seconds since epoch"),
            ("mediantime", "numeric", "The median block time in seconds since epoch"),
            ("nonce", "numeric", "The nonce"),
            ("bits", "string", "The bits"),
            ("target", "string", "The difficulty target"),
            ("difficulty", "numeric", "The difficulty"),
            ("chainwork", "string", "Expected number of hashes required to produce the chain up to this block (in hex)"),
            ("nTx", "numeric", "The number of transactions in the block"),
            ("previousblockhash", "string", "The hash of the previous block (if available)"),
            ("nextblockhash", "string", "The hash of the next block (if available)"),
        ]),
        example: &[EX_HASH, "2"],
    },
    MethodSpec {
        category: "Blockchain",
        name: "getblockchaininfo",
        desc: "Returns an object containing various state info regarding blockchain processing.",
        args: &[],
        returns: obj("", &[
            ("chain", "string", "current network name (main, regtest)"),
            ("blocks", "numeric", "the height of the most-work fully-validated chain"),
            ("headers", "numeric", "the current number of headers we have validated"),
            ("bestblockhash", "string", "the hash of the currently best block"),
            ("bits", "string", "nBits: compact representation of the block difficulty target"),
            ("target", "string", "The difficulty target"),
            ("difficulty", "numeric", "the current difficulty"),
            ("time", "numeric", "The block time expressed in UNIX epoch time"),
            ("mediantime", "numeric", "median time for the current best block"),
            ("verificationprogress", "numeric", "estimate of verification progress [0..1]"),
            ("initialblockdownload", "boolean", "estimate of whether this node is in Initial Block Download mode"),
            ("chainwork", "string", "total amount of work in active chain, in hexadecimal"),
            ("size_on_disk", "numeric", "the estimated size of the block and undo files on disk"),
            ("pruned", "boolean", "if the blocks are subject to pruning"),
            ("warnings", "string", "any network and blockchain warnings (empty when none)"),
            ("coinbase_maturity", "numeric", "blocks before a coinbase output can be spent"),
        ]),
        example: &[],
    },
    MethodSpec {
        category: "Blockchain",
        name: "getblockcount",
        desc: "Returns the height of the most-work fully-validated chain.\nThe genesis block has height 0.",
        args: &[],
        returns: ret("numeric", "The current block count"),
        example: &[],
    },
    MethodSpec {
        category: "Blockchain",
        name: "getblockhash",
        desc: "Returns hash of block in best-block-chain at height provided.",
        args: &[arg::<Int>("height", "The height index")],
        returns: ret("string", "The block hash"),
        example: &["1000"],
    },
    MethodSpec {
        category: "Blockchain",
        name: "getchaintxstats",
        desc: "Compute statistics about the total number and rate of transactions in the chain.",
        args: &[
            opt_arg::<Int>("nblocks", "one month", "Size of the window in number of blocks"),
            opt_arg::<HashArg<BlockHash>>("blockhash", "chain tip", "The hash of the block that ends the window."),
        ],
        returns: obj("", &[
            ("time", "numeric", "The timestamp for the final block in the window, expressed in UNIX epoch time"),
            ("txcount", "numeric", "The total number of transactions in the chain up to that point"),
            ("window_final_block_hash", "string", "The hash of the final block in the window"),
            ("window_final_block_height", "numeric", "The height of the final block in the window."),
            ("window_block_count", "numeric", "Size of the window in number of blocks"),
            ("window_tx_count", "numeric", "(only if window_block_count > 0) The number of transactions in the window"),
            ("window_interval", "numeric", "(only if window_block_count > 0) The elapsed time in the window in seconds"),
            ("txrate", "numeric", "(only if window_interval > 0) The average rate of transactions per second in the window"),
        ]),
        example: &["2016"],
    },
    MethodSpec {
        category: "Blockchain",
        name: "getblockstats",
        desc: "Compute per block statistics for a given window. All amounts are in base units.\n\
               It won't work for blocks off the active chain (their undo data is not kept).",
        args: &[
            arg::<HashOrHeight>("hash_or_height", "The block hash or height of the target block"),
            opt_arg::<TextList>("stats", "all values", "Values to plot (see result below)"),
        ],
        returns: obj("", &[
            ("avgfee", "numeric", "Average fee in the block"),
            ("avgfeerate", "numeric", "Average feerate (in base units per byte)"),
            ("avgtxsize", "numeric", "Average transaction size"),
            ("blockhash", "string", "The block hash (to check for potential reorgs)"),
            ("feerate_percentiles", "json array", "Feerates at the 10th, 25th, 50th, 75th, and 90th percentile of the block's bytes (in base units per byte)"),
            ("height", "numeric", "The height of the block"),
            ("ins", "numeric", "The number of inputs (excluding coinbase)"),
            ("maxfee", "numeric", "Maximum fee in the block"),
            ("maxfeerate", "numeric", "Maximum feerate (in base units per byte)"),
            ("maxtxsize", "numeric", "Maximum transaction size"),
            ("medianfee", "numeric", "Truncated median fee in the block"),
            ("mediantime", "numeric", "The block median time past"),
            ("mediantxsize", "numeric", "Truncated median transaction size"),
            ("minfee", "numeric", "Minimum fee in the block"),
            ("minfeerate", "numeric", "Minimum feerate (in base units per byte)"),
            ("mintxsize", "numeric", "Minimum transaction size"),
            ("outs", "numeric", "The number of outputs"),
            ("subsidy", "numeric", "The block subsidy"),
            ("swtotal_size", "numeric", "Total size of all transactions with witnesses (excluding coinbase)"),
            ("swtotal_weight", "numeric", "Total weight of all transactions with witnesses (excluding coinbase)"),
            ("swtxs", "numeric", "The number of transactions with witnesses (excluding coinbase)"),
            ("time", "numeric", "The block time"),
            ("total_out", "numeric", "Total amount in all outputs (excluding coinbase)"),
            ("total_size", "numeric", "Total size of all non-coinbase transactions"),
            ("total_weight", "numeric", "Total weight of all non-coinbase transactions: 4 x total_size"),
            ("totalfee", "numeric", "The fee total"),
            ("txs", "numeric", "The number of transactions (including coinbase)"),
            ("utxo_increase", "numeric", "The increase/decrease in the number of unspent outputs"),
            ("utxo_size_inc", "numeric", "The increase/decrease in size for the utxo index"),
            ("utxo_increase_actual", "numeric", "utxo_increase without unspendable outputs (all are spendable here)"),
            ("utxo_size_inc_actual", "numeric", "utxo_size_inc without unspendable outputs (all are spendable here)"),
        ]),
        example: &["1000", "[\"minfeerate\",\"avgfeerate\"]"],
    },
    MethodSpec {
        category: "Blockchain",
        name: "getblockheader",
        desc: "If verbose is false, returns a string that is serialized, hex-encoded data for blockheader 'hash'.\n\
               If verbose is true, returns an Object with information about blockheader <hash>.",
        args: &[HASH, opt_arg::<Flag>("verbose", "true", "true for a json object, false for the hex-encoded data")],
        returns: obj("for verbose = true", &[
            ("hash", "string", "the block hash (same as provided)"),
            ("confirmations", "numeric", "The number of confirmations, or -1 if the block is not on the main chain"),
            ("height", "numeric", "The block height or index"),
            ("version", "numeric", "The block version"),
            ("versionHex", "string", "The block version formatted in hexadecimal"),
            ("merkleroot", "string", "The merkle root"),
            ("time", "numeric", "The block time in seconds since epoch"),
            ("mediantime", "numeric", "The median block time in seconds since epoch"),
            ("nonce", "numeric", "The nonce"),
            ("bits", "string", "The bits"),
            ("target", "string", "The difficulty target"),
            ("difficulty", "numeric", "The difficulty"),
            ("chainwork", "string", "Expected number of hashes required to produce the current chain"),
            ("nTx", "numeric", "The number of transactions in the block (0 while only the header is known)"),
            ("previousblockhash", "string", "The hash of the previous block (if available)"),
            ("nextblockhash", "string", "The hash of the next block (if available)"),
        ]),
        example: &[EX_HASH],
    },
    MethodSpec {
        category: "Blockchain",
        name: "getchaintips",
        desc: "Return information about all known tips in the block tree, including the main chain as well as orphaned branches.",
        args: &[],
        returns: arr("One object per tip", &[
            ("height", "numeric", "height of the chain tip"),
            ("hash", "string", "block hash of the tip"),
            ("branchlen", "numeric", "zero for main chain, otherwise length of branch connecting the tip to the main chain"),
            ("status", "string", "status of the chain: active, valid-fork, valid-headers, headers-only, invalid"),
        ]),
        example: &[],
    },
    MethodSpec {
        category: "Blockchain",
        name: "getdifficulty",
        desc: "Returns the proof-of-work difficulty as a multiple of the minimum difficulty.",
        args: &[],
        returns: ret("numeric", "the proof-of-work difficulty as a multiple of the minimum difficulty"),
        example: &[],
    },
    MethodSpec {
        category: "Blockchain",
        name: "getmempoolentry",
        desc: "Returns mempool data for given transaction",
        args: &[arg::<HashArg<Txid>>("txid", "The transaction id (must be in mempool)")],
        returns: obj("", &[
            ("vsize", "numeric", "transaction size (virtual size: there is no witness discount)"),
            ("weight", "numeric", "transaction weight: 4 x size"),
            ("fee", "numeric", "transaction fee in DOT"),
            ("fees", "json object", "base, modified (= base), ancestor and descendant fees in DOT"),
            ("feerate", "numeric", "fee rate in base units per 1000 bytes"),
            ("time", "numeric", "local time transaction entered pool in seconds since 1 Jan 1970 GMT"),
            ("height", "numeric", "block height when transaction entered pool"),
            ("descendantcount", "numeric", "number of in-mempool descendant transactions (including this one)"),
            ("descendantsize", "numeric", "size of in-mempool descendants (including this one)"),
            ("ancestorcount", "numeric", "number of in-mempool ancestor transactions (including this one)"),
            ("ancestorsize", "numeric", "size of in-mempool ancestors (including this one)"),
            ("wtxid", "string", "hash of serialized transaction, including witness data"),
            ("depends", "json array", "unconfirmed transactions used as inputs for this transaction"),
            ("spentby", "json array", "unconfirmed transactions spending outputs from this transaction"),
            ("bip125-replaceable", "boolean", "Whether this transaction could be replaced (never: the pool refuses conflicts)"),
            ("unbroadcast", "boolean", "Whether this transaction is currently unbroadcast (never: it is announced on acceptance)"),
        ]),
        example: &[EX_TXID],
    },
    MethodSpec {
        category: "Blockchain",
        name: "getmempoolinfo",
        desc: "Returns details on the active state of the TX memory pool.",
        args: &[],
        returns: obj("", &[
            ("loaded", "boolean", "True if the initial load attempt of the persisted mempool finished"),
            ("size", "numeric", "Current tx count"),
            ("bytes", "numeric", "Sum of all transaction sizes"),
            ("usage", "numeric", "Total memory usage for the mempool"),
            ("total_fee", "numeric", "Total fees for the mempool in DOT"),
            ("maxmempool", "numeric", "Maximum memory usage for the mempool"),
            ("mempoolminfee", "numeric", "Minimum fee rate in DOT/kvB for tx to be accepted"),
            ("minrelaytxfee", "numeric", "Current minimum relay fee for transactions"),
            ("incrementalrelayfee", "numeric", "minimum fee rate increment for mempool limiting, in DOT/kvB (the relay fee)"),
            ("unbroadcastcount", "numeric", "Current number of transactions that haven't passed initial broadcast yet (always 0)"),
            ("fullrbf", "boolean", "True if the mempool accepts RBF without replaceability signaling inspection (false: no replacement)"),
        ]),
        example: &[],
    },
    MethodSpec {
        category: "Blockchain",
        name: "getrawmempool",
        desc: "Returns all transaction ids in memory pool as a json array of string transaction ids.",
        args: &[
            opt_arg::<Flag>("verbose", "false", "True for a json object, false for array of transaction ids"),
            opt_arg::<Flag>("mempool_sequence", "false", "If verbose=false, returns a json object with transaction list and mempool sequence number attached."),
        ],
        returns: arr("for verbose = false; verbose = true gives an object of getmempoolentry objects by txid; mempool_sequence = true gives {\"txids\": [...], \"mempool_sequence\": n}, n the number the next subscribe_sequence A/R event takes", &[]),
        example: &["true"],
    },
    MethodSpec {
        category: "Blockchain",
        name: "gettxout",
        desc: "Returns details about an unspent transaction output.",
        args: &[
            arg::<HashArg<Txid>>("txid", "The transaction id"),
            arg::<Uint>("n", "vout number"),
            opt_arg::<Flag>("include_mempool", "true", "Whether to include the mempool. Note that an unspent output that is spent in the mempool won't appear."),
        ],
        returns: obj("null if the output is spent or unknown", &[
            ("bestblock", "string", "The hash of the block at the tip of the chain"),
            ("confirmations", "numeric", "The number of confirmations"),
            ("value", "numeric", "The transaction value in DOT"),
            ("address", "string", "The address it pays"),
            ("pubkey", "string", "The x-only public key it is locked to"),
            ("scriptPubKey", "json object", "asm, desc, hex, address, type (witness_v1_taproot: the key as a taproot output)"),
            ("coinbase", "boolean", "Coinbase or not"),
        ]),
        example: &[EX_TXID, "1"],
    },
    MethodSpec {
        category: "Blockchain",
        name: "gettxoutsetinfo",
        desc: "Returns statistics about the unspent transaction output set.\nNote this call may take some time.",
        args: &[],
        returns: obj("", &[
            ("height", "numeric", "The block height (index) of the returned statistics"),
            ("bestblock", "string", "The hash of the block at which these statistics are calculated"),
            ("transactions", "numeric", "The number of transactions with unspent outputs"),
            ("txouts", "numeric", "The number of unspent transaction outputs"),
            ("bogosize", "numeric", "Database-independent, meaningless metric indicating the UTXO set size"),
            ("hash_serialized", "string", "The serialized hash"),
            ("hash_serialized_3", "string", "The same hash, under Core's name"),
            ("total_amount", "numeric", "The total amount of coins in the UTXO set"),
            ("disk_size", "numeric", "The estimated size of the chainstate on disk"),
        ]),
        example: &[],
    },
    MethodSpec {
        category: "Blockchain",
        name: "invalidateblock",
        desc: "Permanently marks a block as invalid, as if it violated a consensus rule.",
        args: &[arg::<HashArg<BlockHash>>("blockhash", "the hash of the block to mark as invalid")],
        returns: NULL,
        example: &[EX_HASH],
    },
    MethodSpec {
        category: "Blockchain",
        name: "preciousblock",
        desc: "Treats a block as if it were received before others with the same work.",
        args: &[arg::<HashArg<BlockHash>>("blockhash", "the hash of the block to mark as precious")],
        returns: NULL,
        example: &[EX_HASH],
    },
    MethodSpec {
        category: "Blockchain",
        name: "reconsiderblock",
        desc: "Removes invalidity status of a block, its ancestors and its descendants, reconsider them for activation.",
        args: &[arg::<HashArg<BlockHash>>("blockhash", "the hash of the block to reconsider")],
        returns: NULL,
        example: &[EX_HASH],
    },
    MethodSpec {
        category: "Blockchain",
        name: "getdeploymentinfo",
        desc: "Returns an object containing the rules in force (dotcoin's deployments are all buried at genesis).",
        args: &[opt_arg::<HashArg<BlockHash>>("blockhash", "hash of current chain tip", "The block hash at which to query deployment state")],
        returns: obj("", &[
            ("hash", "string", "requested block hash (or tip)"),
            ("height", "numeric", "requested block height (or tip)"),
            ("deployments", "json object", "name -> {type, active, height, rule}"),
        ]),
        example: &[],
    },
    MethodSpec {
        category: "Blockchain",
        name: "getmempoolancestors",
        desc: "If txid is in the mempool, returns all in-mempool ancestors.",
        args: &[
            arg::<HashArg<Txid>>("txid", "The transaction id (must be in mempool)"),
            opt_arg::<Flag>("verbose", "false", "True for a json object, false for array of transaction ids"),
        ],
        returns: arr("for verbose = false; verbose = true gives an object of getmempoolentry objects by txid", &[]),
        example: &[EX_TXID],
    },
    MethodSpec {
        category: "Blockchain",
        name: "getmempooldescendants",
        desc: "If txid is in the mempool, returns all in-mempool descendants.",
        args: &[
            arg::<HashArg<Txid>>("txid", "The transaction id (must be in mempool)"),
            opt_arg::<Flag>("verbose", "false", "True for a json object, false for array of transaction ids"),
        ],
        returns: arr("for verbose = false; verbose = true gives an object of getmempoolentry objects by txid", &[]),
        example: &[EX_TXID],
    },
    MethodSpec {
        category: "Blockchain",
        name: "scantxoutset",
        desc: "Scans the unspent transaction output set for entries that match certain output descriptors.\n\
               Only addr(<address>) descriptors apply (an output is locked to a key); the address index answers at once,\n\
               so a scan finishes within its call: status answers null and abort has nothing to stop.",
        args: &[
            arg::<Text>("action", "start, abort or status"),
            opt_arg::<JsonArray<crate::rpc::blockchain::ScanObject>>("scanobjects", "required for start", "Array of scan objects: \"addr(<address>)\" or {\"desc\": \"addr(<address>)\"}"),
        ],
        returns: obj("for start", &[
            ("success", "boolean", "Whether the scan was completed"),
            ("txouts", "numeric", "The number of unspent transaction outputs examined"),
            ("height", "numeric", "The current block height (index)"),
            ("bestblock", "string", "The hash of the block at the tip of the chain"),
            ("unspents", "json array", "txid, vout, scriptPubKey (hex), desc, amount, coinbase, height, blockhash of each match"),
            ("total_amount", "numeric", "The total amount of all found unspent outputs in DOT"),
        ]),
        example: &["\"start\"", "[\"addr(dcrt1pexampleaddress)\"]"],
    },
    MethodSpec {
        category: "Blockchain",
        name: "verifychain",
        desc: "Verifies blockchain database.\n\
               Level 0 reads each block, 1 checks its context-free rules, 2 and up check its undo data against its inputs.",
        args: &[
            opt_arg::<Uint>("checklevel", "3", "How thorough the block verification is (0-4)"),
            opt_arg::<Uint>("nblocks", "6", "The number of blocks to check, 0 for all"),
        ],
        returns: ret("boolean", "Verification finished successfully. If false, check debug.log for reason."),
        example: &[],
    },
    MethodSpec {
        category: "Blockchain",
        name: "waitforblock",
        desc: "Waits for a specific new block and returns useful info about it.\nReturns the current block on timeout or exit.",
        args: &[
            arg::<HashArg<BlockHash>>("blockhash", "Block hash to wait for"),
            opt_arg::<Uint>("timeout", "0", "Time in milliseconds to wait for a response. 0 indicates no timeout."),
        ],
        returns: obj("", &[("hash", "string", "The blockhash"), ("height", "numeric", "Block height")]),
        example: &[EX_HASH, "1000"],
    },
    MethodSpec {
        category: "Blockchain",
        name: "waitforblockheight",
        desc: "Waits for (at least) block height and returns the height and hash\nof the current tip.\nReturns the current block on timeout or exit.",
        args: &[
            arg::<Uint>("height", "Block height to wait for"),
            opt_arg::<Uint>("timeout", "0", "Time in milliseconds to wait for a response. 0 indicates no timeout."),
        ],
        returns: obj("", &[("hash", "string", "The blockhash"), ("height", "numeric", "Block height")]),
        example: &["100", "1000"],
    },
    MethodSpec {
        category: "Blockchain",
        name: "waitfornewblock",
        desc: "Waits for any new block and returns useful info about it.\nReturns the current block on timeout or exit.",
        args: &[opt_arg::<Uint>("timeout", "0", "Time in milliseconds to wait for a response. 0 indicates no timeout.")],
        returns: obj("", &[("hash", "string", "The blockhash"), ("height", "numeric", "Block height")]),
        example: &["1000"],
    },
    // == Control ==
    MethodSpec {
        category: "Control",
        name: "getinfo",
        desc: "A summary: version, network, blocks, connections, difficulty, mempool size.",
        args: &[],
        returns: obj("", &[
            ("version", "string", "the node's version"),
            ("chain", "string", "the network"),
            ("blocks", "numeric", "the tip's height"),
            ("bestblockhash", "string", "the tip's hash"),
            ("difficulty", "numeric", "the tip's difficulty"),
            ("mempool", "numeric", "transactions in the mempool"),
            ("connections", "numeric", "connected peers"),
            ("mining", "boolean", "whether continuous mining is on"),
        ]),
        example: &[],
    },
    MethodSpec {
        category: "Control",
        name: "getmemoryinfo",
        desc: "Returns an object containing information about memory usage.\n\
               The locked pool holds keys in Core; dotcoind holds none, so it is empty.",
        args: &[opt_arg::<Text>("mode", "stats", "stats (general statistics); mallocinfo is not available")],
        returns: obj("", &[("locked", "json object", "Information about locked memory manager: used, free, total, locked, chunks_used, chunks_free")]),
        example: &[],
    },
    MethodSpec {
        category: "Control",
        name: "logging",
        desc: "Gets and sets the logging configuration.\n\
               When called without an argument, returns the list of categories with status that are currently being debug logged or not.\n\
               When called with arguments, adds or removes categories from debug logging and returns the lists above.\n\
               The arguments are evaluated in order \"include\", \"exclude\".\n\
               If an item is both included and excluded, it will thus end up being excluded.\n\
               The valid logging categories are: net, mempool, chain, miner, rpc, plugin.\n\
               In addition, the following are available as category names with special meanings:\n\
               \"all\" or \"1\" represent all logging categories; \"none\" or \"0\" none.",
        args: &[
            opt_arg::<TextList>("include", "[]", "The categories to add to debug logging"),
            opt_arg::<TextList>("exclude", "[]", "The categories to remove from debug logging"),
        ],
        returns: obj("", &[("category", "boolean", "if being debug logged or not. false:inactive, true:active")]),
        example: &["[\"all\"]", "[\"net\"]"],
    },
    MethodSpec {
        category: "Control",
        name: "getrpcinfo",
        desc: "Returns details of the RPC server.",
        args: &[],
        returns: obj("", &[
            ("active_commands", "json array", "All active commands: method and duration (microseconds)"),
            ("logpath", "string", "The complete file path to the debug log"),
        ]),
        example: &[],
    },
    MethodSpec {
        category: "Control",
        name: "help",
        desc: "List all commands, or get help for a specified command.",
        args: &[opt_arg::<Text>("command", "all commands", "The command to get help on")],
        returns: ret("string", "The help text"),
        example: &["\"getblock\""],
    },
    MethodSpec {
        category: "Control",
        name: "stop",
        desc: "Request a graceful shutdown of dotcoind.",
        args: &[],
        returns: ret("string", "A string with the content 'dotcoind stopping'"),
        example: &[],
    },
    MethodSpec {
        category: "Control",
        name: "uptime",
        desc: "Returns the total uptime of the server.",
        args: &[],
        returns: ret("numeric", "The number of seconds that the server has been running"),
        example: &[],
    },
    // == Mining ==
    MethodSpec {
        category: "Mining",
        name: "generateblock",
        desc: "Mine a set of ordered transactions to a specified address and return the block hash.",
        args: &[
            arg::<Text>("output", "The address (or addr(<address>) descriptor) to send the newly generated coins to."),
            arg::<HexList>("transactions", "An array of hex strings which are either txids or raw transactions.\n\
                 Txids must reference transactions currently in the mempool.\n\
                 All transactions must be valid and in valid order, otherwise the block will be rejected."),
            opt_arg::<Flag>("submit", "true", "Whether to submit the block before the RPC call returns or to return it as hex."),
        ],
        returns: obj("", &[
            ("hash", "string", "hash of generated block"),
            ("hex", "string", "hex of generated block, only present when submit=false"),
        ]),
        example: &[EX_ADDR, "[\"rawtx\", \"mempool_txid\"]"],
    },
    MethodSpec {
        category: "Mining",
        name: "generatetoaddress",
        desc: "Mine blocks immediately to a specified address (before the RPC call returns).",
        args: &[
            arg::<Count>("nblocks", "How many blocks are generated."),
            arg::<Text>("address", "The address to send the newly generated coins to."),
            opt_arg::<Count>("maxtries", "1000000000", "How many iterations to try."),
        ],
        returns: arr("hashes of blocks generated", &[]),
        example: &["11", EX_ADDR],
    },
    MethodSpec {
        category: "Mining",
        name: "getblocktemplate",
        desc: "Returns data needed to construct a block to work on (BIP 22, 23).\n\
               With \"longpollid\" in the request, waits until the template changes (a new tip or mempool contents).\n\
               The coinbase is the caller's to build; coinbasevalue says what it may claim.\n\
               With {\"mode\": \"proposal\", \"data\": \"hex block\"} (BIP 23), checks a block built on the tip\n\
               without its proof of work and returns null if it is valid, else the reject reason.",
        args: &[opt_arg::<JsonObject<TemplateRequest>>("template_request", "{}", "{\"mode\": \"template\" or \"proposal\", \"rules\": [...], \"longpollid\": \"id\", \"data\": \"hex\"}")],
        returns: obj("", &[
            ("version", "numeric", "The preferred block version"),
            ("previousblockhash", "string", "The hash of current highest block"),
            ("transactions", "json array", "contents of non-coinbase transactions that should be included in the next block: data, txid, hash, depends, fee, sigops, weight"),
            ("coinbasevalue", "numeric", "maximum allowable input to coinbase transaction, including the generation award and transaction fees (in base units)"),
            ("target", "string", "The hash target"),
            ("mintime", "numeric", "The minimum timestamp appropriate for the next block time"),
            ("curtime", "numeric", "current timestamp"),
            ("bits", "string", "compressed target of next block"),
            ("height", "numeric", "The height of the next block"),
            ("sizelimit", "numeric", "limit of block size"),
            ("weightlimit", "numeric", "limit of block weight: 4 x sizelimit"),
            ("sigoplimit", "numeric", "limit of sigops in blocks (Core's; key-path spends count none)"),
            ("vbavailable", "json object", "set of pending, supported versionbit (BIP 9) softfork deployments (none)"),
            ("vbrequired", "numeric", "bit mask of versionbits the server requires set in submissions (0)"),
            ("coinbaseaux", "json object", "data that should be included in the coinbase's scriptSig content (none)"),
            ("work", "string", "work the block adds to the chain, hex"),
            ("rules", "json array", "specific block rules that are to be enforced (none: all are buried)"),
            ("capabilities", "json array", "server capabilities: proposal (long polling needs only longpollid)"),
            ("longpollid", "string", "id to send back as longpollid to wait for the next template"),
            ("mutable", "json array", "ways the block template may be changed: time, transactions, prevblock"),
            ("noncerange", "string", "A range of valid nonces"),
        ]),
        example: &["{}"],
    },
    MethodSpec {
        category: "Mining",
        name: "getgenerate",
        desc: "Whether continuous mining is on.",
        args: &[],
        returns: ret("boolean", "true while the node mines"),
        example: &[],
    },
    MethodSpec {
        category: "Mining",
        name: "getmininginfo",
        desc: "Returns a json object containing mining-related information.",
        args: &[],
        returns: obj("", &[
            ("blocks", "numeric", "The current block"),
            ("difficulty", "numeric", "The current difficulty"),
            ("bits", "string", "The current nBits, compact representation of the block difficulty target"),
            ("target", "string", "The current target"),
            ("networkhashps", "numeric", "The network hashes per second"),
            ("hashespersec", "numeric", "This node's hashes per second while mining"),
            ("generate", "boolean", "Whether continuous mining is on"),
            ("genproclimit", "numeric", "Mining threads"),
            ("kernel", "string", "The miner's hashing kernel: portable, or sha-ni-N (N nonces per call)"),
            ("kernel_reason", "string", "Why that kernel: the start-up probe's rates, or --minerkernel"),
            ("pooledtx", "numeric", "The size of the mempool"),
            ("chain", "string", "current network name"),
            ("next", "json object", "The next block: height, bits, difficulty, target"),
            ("warnings", "string", "any network and blockchain warnings (empty when none)"),
        ]),
        example: &[],
    },
    MethodSpec {
        category: "Mining",
        name: "getnetworkhashps",
        desc: "Returns the estimated network hashes per second based on the last n blocks.",
        args: &[
            opt_arg::<Int>("nblocks", "120", "The number of previous blocks to calculate estimate from, or -1 for blocks since last difficulty change."),
            opt_arg::<Int>("height", "-1", "To estimate at the time of the given height"),
        ],
        returns: ret("numeric", "Hashes per second estimated"),
        example: &[],
    },
    MethodSpec {
        category: "Mining",
        name: "setgenerate",
        desc: "Turn continuous mining on or off (an address is required to turn it on).",
        args: &[
            arg::<Flag>("generate", "true to mine continuously, false to stop"),
            opt_arg::<Int>("genproclimit", "all cores", "Mining threads (-1: all cores, 0: stop)"),
            opt_arg::<Text>("address", "required to start", "The address that receives the rewards"),
        ],
        returns: NULL,
        example: &["true", "1", EX_ADDR],
    },
    MethodSpec {
        category: "Mining",
        name: "submitblock",
        desc: "Attempts to submit new block to network.",
        args: &[
            arg::<Hex>("hexdata", "the hex-encoded block data to submit"),
            opt_arg::<Text>("dummy", "ignored", "dummy value, for compatibility with BIP22. This value is ignored."),
        ],
        returns: ret("null or string", "null if accepted, else a short reject reason such as high-hash or duplicate (the details are in debug.log)"),
        example: &["\"mydata\""],
    },
    // == Network ==
    MethodSpec {
        category: "Network",
        name: "addnode",
        desc: "Attempts to add or remove a node from the addnode list.\nOr try a connection to a node once.",
        args: &[
            arg::<Text>("node", "The address of the peer to connect to (host:port)"),
            arg::<KeywordArg<AddNodeCommand>>("command", "'add' to add a node to the list, 'remove' to remove a node from the list, 'onetry' to try a connection to the node once"),
        ],
        returns: NULL,
        example: &["\"127.0.0.1:18633\"", "\"add\""],
    },
    MethodSpec {
        category: "Network",
        name: "clearbanned",
        desc: "Clear all banned IPs.",
        args: &[],
        returns: NULL,
        example: &[],
    },
    MethodSpec {
        category: "Network",
        name: "disconnectnode",
        desc: "Immediately disconnects from the specified peer node.\n\
               Strictly one out of 'address' and 'nodeid' can be provided to identify the node.",
        args: &[
            opt_arg::<Text>("address", "fallback to nodeid", "The IP address/port of the node"),
            opt_arg::<Int>("nodeid", "fallback to address", "The node ID (see getpeerinfo for node IDs)"),
        ],
        returns: NULL,
        example: &["\"127.0.0.1:18633\""],
    },
    MethodSpec {
        category: "Network",
        name: "getconnectioncount",
        desc: "Returns the number of connections to other nodes.",
        args: &[],
        returns: ret("numeric", "The connection count"),
        example: &[],
    },
    MethodSpec {
        category: "Network",
        name: "getaddednodeinfo",
        desc: "Returns information about the given added node, or all added nodes.",
        args: &[opt_arg::<Text>("node", "all nodes", "If provided, return information about this specific node, otherwise all nodes are returned.")],
        returns: arr("One object per added node", &[
            ("addednode", "string", "The node address as given to addnode"),
            ("connected", "boolean", "If connected"),
            ("addresses", "json array", "Only when connected = true: address and direction of each connection"),
        ]),
        example: &["\"127.0.0.1:18633\""],
    },
    MethodSpec {
        category: "Network",
        name: "getnettotals",
        desc: "Returns information about network traffic, including bytes in, bytes out,\nand current system time.",
        args: &[],
        returns: obj("", &[
            ("totalbytesrecv", "numeric", "Total bytes received"),
            ("totalbytessent", "numeric", "Total bytes sent"),
            ("timemillis", "numeric", "Current system UNIX epoch time in milliseconds"),
            ("uploadtarget", "json object", "timeframe, target, target_reached, serve_historical_blocks, bytes_left_in_cycle, time_left_in_cycle (no upload target is set)"),
        ]),
        example: &[],
    },
    MethodSpec {
        category: "Network",
        name: "getnetworkinfo",
        desc: "Returns an object containing various state info regarding P2P networking.",
        args: &[],
        returns: obj("", &[
            ("version", "numeric", "the server version"),
            ("subversion", "string", "the server subversion string"),
            ("protocolversion", "numeric", "the protocol version"),
            ("connections", "numeric", "the total number of connections"),
            ("connections_in", "numeric", "the number of inbound connections"),
            ("connections_out", "numeric", "the number of outbound connections"),
            ("networkactive", "boolean", "whether p2p networking is enabled"),
            ("localservices", "string", "the services we offer to the network, hex"),
            ("localservicesnames", "json array", "the services we offer to the network, by name"),
            ("localrelay", "boolean", "true if transaction relay is requested from peers"),
            ("timeoffset", "numeric", "the time offset (0: not measured)"),
            ("networks", "json array", "information per network: name, limited, reachable, proxy, proxy_randomize_credentials"),
            ("relayfee", "numeric", "minimum relay fee rate for transactions in DOT/kvB"),
            ("incrementalfee", "numeric", "minimum fee rate increment for mempool limiting in DOT/kvB"),
            ("localaddresses", "json array", "list of local addresses"),
            ("warnings", "string", "any network and blockchain warnings"),
        ]),
        example: &[],
    },
    MethodSpec {
        category: "Network",
        name: "getnodeaddresses",
        desc: "Return known addresses, after filtering for quality and recency.\n\
               These can potentially be used to find new peers in the network.",
        args: &[
            opt_arg::<Uint>("count", "1", "The maximum number of addresses to return. Specify 0 to return all known addresses."),
            opt_arg::<KeywordArg<AddrNetwork>>("network", "all networks", "Return only addresses of the specified network: ipv4, ipv6, not_publicly_routable."),
        ],
        returns: arr("One object per address", &[
            ("time", "numeric", "The UNIX epoch time when the node was last seen"),
            ("services", "numeric", "The services offered by the node"),
            ("address", "string", "The address of the node"),
            ("port", "numeric", "The port number of the node"),
            ("network", "string", "The network the node connected through"),
        ]),
        example: &["8"],
    },
    MethodSpec {
        category: "Network",
        name: "getpeerinfo",
        desc: "Returns data about each connected network peer as a json array of objects.",
        args: &[],
        returns: arr("One object per peer", &[
            ("id", "numeric", "Peer index"),
            ("addr", "string", "(host:port) The IP address and port of the peer"),
            ("addrbind", "string", "(ip:port) Bind address of the connection to the peer"),
            ("inbound", "boolean", "Inbound (true) or Outbound (false)"),
            ("connection_type", "string", "Type of connection"),
            ("version", "numeric", "The peer version"),
            ("subver", "string", "The string version"),
            ("startingheight", "numeric", "The starting height (block) of the peer"),
            ("synced_headers", "numeric", "The last header we have in common with this peer"),
            ("synced_blocks", "numeric", "The last block we have in common with this peer"),
            ("bytessent", "numeric", "The total bytes sent"),
            ("bytesrecv", "numeric", "The total bytes received"),
            ("conntime", "numeric", "The time of the connection"),
            ("banscore", "numeric", "The misbehaviour score"),
            ("timeoffset", "numeric", "The time offset in seconds (0: not measured)"),
            ("relaytxes", "boolean", "Whether we relay transactions to this peer"),
            ("last_transaction", "numeric", "The UNIX epoch time of the last valid transaction received from this peer (0: not tracked)"),
            ("last_block", "numeric", "The UNIX epoch time of the last block received from this peer that moved the tip"),
            ("servicesnames", "json array", "the services offered, in human-readable form"),
            ("bip152_hb_to", "boolean", "Whether we selected peer as (compact blocks) high-bandwidth peer"),
            ("bip152_hb_from", "boolean", "Whether peer selected us as (compact blocks) high-bandwidth peer"),
            ("presynced_headers", "numeric", "The current height of header pre-synchronization with this peer, or -1"),
            ("inflight", "json array", "The heights of blocks we're currently asking from this peer (not tracked per peer)"),
            ("addr_relay_enabled", "boolean", "Whether we participate in address relay with this peer"),
            ("addr_processed", "numeric", "The total number of addresses processed (not counted)"),
            ("addr_rate_limited", "numeric", "The total number of addresses dropped due to rate limiting (none)"),
            ("permissions", "json array", "Any special permissions that have been granted to this peer (none)"),
            ("minfeefilter", "numeric", "The minimum fee rate for transactions this peer accepts (0: no feefilter)"),
            ("bytessent_per_msg", "json object", "The total bytes sent aggregated by message type"),
            ("bytesrecv_per_msg", "json object", "The total bytes received aggregated by message type"),
            ("transport_protocol_type", "string", "Type of transport protocol: v1"),
            ("session_id", "string", "The session ID for this connection (empty on v1)"),
            ("pingtime", "numeric", "The last ping time in seconds, if any"),
            ("minping", "numeric", "The minimum observed ping time in seconds, if any"),
            ("services", "string", "The services offered, hex"),
            ("lastsend", "numeric", "The UNIX epoch time of the last send"),
            ("lastrecv", "numeric", "The UNIX epoch time of the last receive"),
            ("network", "string", "Network (ipv4, ipv6, not_publicly_routable)"),
            ("addnode", "boolean", "Whether the connection is manual (addnode, --addnode, --connect)"),
            ("addednode", "string", "The addnode target the connection serves, if any"),
            ("firstseen_blocks", "numeric", "Blocks (or headers) this node saw from the peer before any other"),
            ("firstseen_txs", "numeric", "Transactions this node saw from the peer before any other"),
        ]),
        example: &[],
    },
    MethodSpec {
        category: "Network",
        name: "listbanned",
        desc: "List all manually banned IPs/Subnets.",
        args: &[],
        returns: arr("One object per ban", &[
            ("address", "string", "The IP/Subnet of the banned node"),
            ("ban_created", "numeric", "The UNIX epoch time the ban was created"),
            ("banned_until", "numeric", "The UNIX epoch time the ban expires"),
            ("ban_duration", "numeric", "The ban duration, in seconds"),
            ("time_remaining", "numeric", "The time remaining until the ban expires, in seconds"),
        ]),
        example: &[],
    },
    MethodSpec {
        category: "Network",
        name: "setnetworkactive",
        desc: "Disable/enable all p2p network activity.\n\
               Off drops every connection and neither makes nor accepts one; added nodes are dialled again when it is back on.",
        args: &[arg::<Flag>("state", "true to enable networking, false to disable")],
        returns: ret("boolean", "The value that was passed in"),
        example: &["false"],
    },
    MethodSpec {
        category: "Network",
        name: "ping",
        desc: "Requests that a ping be sent to all other nodes, to measure ping time.\n\
               Results are provided in getpeerinfo, pingtime and minping fields are decimal seconds.\n\
               Ping command is handled in queue with all other commands, so it measures processing backlog, not just network ping.",
        args: &[],
        returns: NULL,
        example: &[],
    },
    MethodSpec {
        category: "Network",
        name: "setban",
        desc: "Attempts to add or remove an IP/Subnet from the banned list.",
        args: &[
            arg::<Text>("subnet", "The IP (with an optional /32 or /128) to ban"),
            arg::<KeywordArg<BanCommand>>("command", "'add' to add an IP to the list, 'remove' to remove an IP from the list"),
            opt_arg::<Int>("bantime", "0", "time in seconds how long the IP is banned (0 or empty means using the default time of -bantime)"),
            opt_arg::<Flag>("absolute", "false", "If set, the bantime must be an absolute timestamp expressed in UNIX epoch time"),
        ],
        returns: NULL,
        example: &["\"192.168.0.6\"", "\"add\"", "86400"],
    },
    // == Rawtransactions ==
    MethodSpec {
        category: "Rawtransactions",
        name: "createrawtransaction",
        desc: "Create a transaction spending the given inputs and creating new outputs.\n\
               Outputs can be addresses only.\n\
               Returns hex-encoded raw transaction.\n\
               Note that the transaction's inputs are not signed: dotcoin-wallet signs.",
        args: &[
            arg::<JsonArray<RawTxInput>>("inputs", "The inputs: [{\"txid\": \"hex\", \"vout\": n}, ...]"),
            arg::<Json<RawTxOutputs>>("outputs", "The outputs: {\"address\": amount, ...} or [{\"address\": amount}, ...], amounts in DOT"),
            opt_arg::<Uint>("locktime", "0", "Raw locktime"),
        ],
        returns: ret("string", "hex string of the transaction"),
        example: &["[{\"txid\":\"00000000000000000000000000000000000000000000000000000000000000ef\",\"vout\":0}]", "{\"dcrt1pexampleaddress\":0.01}"],
    },
    MethodSpec {
        category: "Rawtransactions",
        name: "decoderawtransaction",
        desc: "Return a JSON object representing the serialized, hex-encoded transaction.",
        args: &[arg::<Hex>("hexstring", "The transaction hex string")],
        returns: obj("", TX_FIELDS),
        example: &["\"hexstring\""],
    },
    MethodSpec {
        category: "Rawtransactions",
        name: "getrawtransaction",
        desc: "Return the raw transaction data, from the mempool or a block.\n\
               If verbosity is 0 or false, returns a string that is serialized, hex-encoded data for 'txid'.\n\
               If verbosity is 1 or true, returns an Object with information about 'txid'; 2 adds fee and prevout.",
        args: &[
            arg::<HashArg<Txid>>("txid", "The transaction id"),
            opt_arg::<RawTxVerbosity>("verbosity|verbose", "0", "0 for hex-encoded data, 1 for a JSON object, and 2 for JSON object with fee and prevout"),
            opt_arg::<HashArg<BlockHash>>("blockhash", "mempool, then the chain", "The block in which to look for the transaction"),
        ],
        returns: obj("for verbosity 1 and 2 (verbosity 0: a hex string)", TX_FIELDS),
        example: &[EX_TXID, "2"],
    },
    MethodSpec {
        category: "Rawtransactions",
        name: "sendrawtransaction",
        desc: "Submit a raw transaction (serialized, hex-encoded) to local node and network.",
        args: &[
            arg::<Hex>("hexstring", "The hex string of the raw transaction"),
            opt_arg::<DotPerKvb>("maxfeerate", "0.10", "Reject transactions whose fee rate is higher than the specified value, expressed in DOT/kvB. Set to 0 to accept any fee rate."),
        ],
        returns: ret("string", "The transaction hash in hex"),
        example: &["\"signedhex\""],
    },
    MethodSpec {
        category: "Rawtransactions",
        name: "testmempoolaccept",
        desc: "Returns result of mempool acceptance tests indicating if raw transaction(s) would be accepted by mempool.",
        args: &[
            arg::<HexList>("rawtxs", "An array of hex strings of raw transactions."),
            opt_arg::<DotPerKvb>("maxfeerate", "0.10", "Reject transactions whose fee rate is higher than the specified value, expressed in DOT/kvB"),
        ],
        returns: arr("The result of the mempool acceptance test for each raw transaction", &[
            ("txid", "string", "The transaction hash in hex"),
            ("wtxid", "string", "The transaction witness hash in hex"),
            ("allowed", "boolean", "Whether this tx would be accepted to the mempool"),
            ("vsize", "numeric", "Transaction size (only present when 'allowed' is true)"),
            ("fees", "json object", "base: transaction fee in DOT, effective-feerate in DOT/kvB, effective-includes: wtxids (only present when 'allowed' is true)"),
            ("reject-reason", "string", "Rejection string (only present when 'allowed' is false)"),
        ]),
        example: &["[\"signedhex\"]"],
    },
    // == Util ==
    MethodSpec {
        category: "Util",
        name: "echo",
        desc: "Simply echo back the input arguments. This command is for testing.",
        args: &[
            opt_arg::<AnyJson>("arg0", "null", "any value"), opt_arg::<AnyJson>("arg1", "null", "any value"),
            opt_arg::<AnyJson>("arg2", "null", "any value"), opt_arg::<AnyJson>("arg3", "null", "any value"),
            opt_arg::<AnyJson>("arg4", "null", "any value"), opt_arg::<AnyJson>("arg5", "null", "any value"),
            opt_arg::<AnyJson>("arg6", "null", "any value"), opt_arg::<AnyJson>("arg7", "null", "any value"),
            opt_arg::<AnyJson>("arg8", "null", "any value"), opt_arg::<AnyJson>("arg9", "null", "any value"),
        ],
        returns: ret("json array", "The arguments, up to the last one given"),
        example: &["\"hello\"", "1"],
    },
    MethodSpec {
        category: "Util",
        name: "estimatesmartfee",
        desc: "Estimates the fee per kilobyte needed for a transaction to begin\n\
               confirmation within conf_target blocks, from the fee rates paid in recent blocks\n\
               (twice the target, at least 6): a near target takes a high quantile of them, a far one the median.",
        args: &[
            arg::<Uint>("conf_target", "Confirmation target in blocks (1 - 1008)"),
            opt_arg::<Text>("estimate_mode", "economical", "unset, economical or conservative (all the same here)"),
        ],
        returns: obj("", &[
            ("feerate", "numeric", "estimate fee rate in DOT/kvB (only present if no errors)"),
            ("errors", "json array", "Errors encountered during processing (if there are any)"),
            ("blocks", "numeric", "block number where estimate was found"),
        ]),
        example: &["6"],
    },
    MethodSpec {
        category: "Util",
        name: "getindexinfo",
        desc: "Returns the status of one or all available indices currently running in the node.",
        args: &[opt_arg::<Text>("index_name", "all indices", "Filter results for an index with a specific name (txindex, addressindex).")],
        returns: obj("", &[("name", "json object", "The name of the index: {synced, best_block_height}")]),
        example: &["\"txindex\""],
    },
    MethodSpec {
        category: "Util",
        name: "validateaddress",
        desc: "Return information about the given address.",
        args: &[arg::<Text>("address", "The address to validate")],
        returns: obj("", &[
            ("isvalid", "boolean", "If the address is valid or not"),
            ("address", "string", "The address validated"),
            ("scriptPubKey", "string", "The hex-encoded output script: 5120 and the x-only key"),
            ("isscript", "boolean", "If the key is a script (never)"),
            ("iswitness", "boolean", "If the address is a witness address (always)"),
            ("witness_version", "numeric", "The version number of the witness program (1)"),
            ("witness_program", "string", "The hex value of the witness program"),
            ("error_locations", "json array", "Indices of likely error locations in address, if known (never known)"),
            ("error", "string", "Error message, if any"),
        ]),
        example: &[EX_ADDR],
    },
    // == Zmq ==
    MethodSpec {
        category: "Zmq",
        name: "getzmqnotifications",
        desc: "Returns information about the active ZeroMQ notifications.\n\
               dotcoin publishes events over WebSocket subscriptions, server-sent events, plugins and\n\
               -blocknotify/-txnotify, never ZeroMQ, so the list is always empty (Core's answer with no -zmqpub option).",
        args: &[],
        returns: arr("One object per notification (none)", &[
            ("type", "string", "Type of notification"),
            ("address", "string", "Address of the publisher"),
            ("hwm", "numeric", "Outbound message high water mark"),
        ]),
        example: &[],
    },
    // == Plugin ==
    MethodSpec {
        category: "Plugin",
        name: "plugin",
        desc: "Manage runtime plugins (docs/plugins.md): list them (the default), start the\n\
               executable at PATH, or stop the plugin called NAME.",
        args: &[
            opt_arg::<KeywordArg<PluginCommand>>("subcommand", "\"list\"", "list, start or stop"),
            opt_arg::<Text>("arg", "null", "start: the plugin's PATH; stop: its NAME"),
        ],
        returns: obj("list: {\"plugins\": [...]}; start: the plugin's entry; stop: {\"stopped\": NAME}", &[
            ("name", "string", "The plugin's name (its file name without extension)"),
            ("path", "string", "Its executable"),
            ("status", "string", "running, restarting, ended or failed"),
            ("error", "string", "Why it ended or failed"),
            ("methods", "json array", "Methods it serves"),
            ("subscriptions", "json array", "Notification topics it receives"),
            ("hooks", "json array", "Hooks it registered"),
            ("notifications_dropped", "numeric", "Notifications lost because it did not read them"),
            ("restarts", "numeric", "Times it was restarted after ending"),
            ("next_restart_secs", "numeric", "Seconds until the next restart attempt (restarting)"),
            ("last_error", "string", "Why it last ended, kept after a restart"),
            ("fails_closed", "boolean", "Whether its hooks refuse while it cannot answer"),
        ]),
        example: &["\"list\""],
    },
    // == Subscriptions ==
    MethodSpec {
        category: "Subscriptions",
        name: "subscribe_blocks",
        desc: "WebSocket only: a \"blocks\" notification per new active tip, with reorg details.",
        args: &[],
        returns: ret("string", "The subscription id; items: tip_changed events (docs/events.md) plus seq"),
        example: &[],
    },
    MethodSpec {
        category: "Subscriptions",
        name: "subscribe_mempool",
        desc: "WebSocket only: \"mempool\" notifications of additions and removals.",
        args: &[],
        returns: ret("string", "The subscription id; items: tx_accepted and tx_removed events (docs/events.md) plus seq"),
        example: &[],
    },
    MethodSpec {
        category: "Subscriptions",
        name: "subscribe_sequence",
        desc: "WebSocket only: \"sequence\" notifications, in order: blocks connected to or\n\
               disconnected from the active chain, transactions added to or removed from the mempool\n\
               other than by confirmation (Core's ZMQ sequence).",
        args: &[],
        returns: ret("string", "The subscription id; items: block_connected, block_disconnected, tx_accepted and\n\
             tx_removed events (docs/events.md) plus seq"),
        example: &[],
    },
    MethodSpec {
        category: "Subscriptions",
        name: "unsubscribe_blocks",
        desc: "WebSocket only: ends a subscribe_blocks subscription.",
        args: &[arg::<SubscriptionIdArg>("subscription", "The subscription id")],
        returns: ret("boolean", "Whether it was ended"),
        example: &["\"1\""],
    },
    MethodSpec {
        category: "Subscriptions",
        name: "unsubscribe_mempool",
        desc: "WebSocket only: ends a subscribe_mempool subscription.",
        args: &[arg::<SubscriptionIdArg>("subscription", "The subscription id")],
        returns: ret("boolean", "Whether it was ended"),
        example: &["\"1\""],
    },
    MethodSpec {
        category: "Subscriptions",
        name: "unsubscribe_sequence",
        desc: "WebSocket only: ends a subscribe_sequence subscription.",
        args: &[arg::<SubscriptionIdArg>("subscription", "The subscription id")],
        returns: ret("boolean", "Whether it was ended"),
        example: &["\"1\""],
    },
    MethodSpec {
        category: "Propagation",
        name: "getblockpropagation",
        desc: "When this node first saw a block, from which peer, and when it finished validating it\n\
               (Unix milliseconds; kept for the last 20000 blocks).",
        args: &[HASH],
        returns: obj("The first-seen record", &[
            ("hash", "string", "The block hash"),
            ("source", "string", "peer (a peer brought it) or local (mined here or submitted)"),
            ("header_ms", "numeric or null", "When its header first arrived"),
            ("header_from", "json object or null", "That peer: {peer, addr, listen}"),
            ("block_ms", "numeric or null", "When the block first arrived from a peer"),
            ("block_from", "json object or null", "That peer: {peer, addr, listen}"),
            ("stored_ms", "numeric or null", "When it passed its checks and was stored"),
            ("connected_ms", "numeric or null", "When it joined the active chain"),
        ]),
        example: &[EX_HASH],
    },
    MethodSpec {
        category: "Propagation",
        name: "gettxpropagation",
        desc: "When this node first saw a transaction, from which peer, and when it entered the mempool\n\
               (Unix milliseconds; kept for the last 50000 transactions).",
        args: &[arg::<HashArg<Txid>>("txid", "The transaction id")],
        returns: obj("The first-seen record", &[
            ("txid", "string", "The transaction id"),
            ("source", "string", "peer or local"),
            ("seen_ms", "numeric or null", "When it first arrived from a peer"),
            ("from", "json object or null", "That peer: {peer, addr, listen}"),
            ("accepted_ms", "numeric or null", "When it entered the mempool"),
        ]),
        example: &[EX_TXID],
    },
    MethodSpec {
        category: "Propagation",
        name: "listblockpropagation",
        desc: "Every block first-seen record kept, oldest first (see getblockpropagation).",
        args: &[],
        returns: arr("One getblockpropagation object per block", &[]),
        example: &[],
    },
    // == Rawtransactions: PSBT ==
    MethodSpec {
        category: "Rawtransactions",
        name: "analyzepsbt",
        desc: "Analyzes and provides information about the current status of a PSBT and its inputs",
        args: &[arg::<Text>("psbt", "A base64 string of a PSBT")],
        returns: obj("", &[
            ("inputs", "json array", "has_utxo, is_final, missing {signatures}, next: per input"),
            ("estimated_vsize", "numeric", "Estimated size of the final signed transaction"),
            ("estimated_feerate", "numeric", "Estimated feerate of the final signed transaction in DOT/kvB"),
            ("fee", "numeric", "The transaction fee paid, once every spent output is known"),
            ("next", "string", "Role of the next person that this psbt needs to go to"),
            ("error", "string", "Error message (if there is one)"),
        ]),
        example: &["\"psbt\""],
    },
    MethodSpec {
        category: "Rawtransactions",
        name: "combinepsbt",
        desc: "Combine multiple partially signed transactions into one transaction.\n\
               Implements the Combiner role.",
        args: &[arg::<TextList>("txs", "The base64 strings of partially signed transactions")],
        returns: ret("string", "The base64-encoded partially signed transaction"),
        example: &["[\"mybase64_1\", \"mybase64_2\"]"],
    },
    MethodSpec {
        category: "Rawtransactions",
        name: "converttopsbt",
        desc: "Converts a network serialized transaction to a PSBT.",
        args: &[
            arg::<Hex>("hexstring", "The hex string of a raw transaction"),
            opt_arg::<Flag>("permitsigdata", "false", "If true, any signatures in the input will be discarded and conversion will continue"),
            opt_arg::<Flag>("iswitness", "depends on heuristic tests", "Accepted; dotcoin transactions have one encoding"),
        ],
        returns: ret("string", "The resulting raw transaction (base64-encoded string)"),
        example: &["\"rawtransaction\""],
    },
    MethodSpec {
        category: "Rawtransactions",
        name: "decodepsbt",
        desc: "Return a JSON object representing the serialized, base64-encoded partially signed transaction.",
        args: &[arg::<Text>("psbt", "The PSBT base64 string")],
        returns: obj("", &[
            ("tx", "json object", "The decoded network-serialized unsigned transaction"),
            ("global_xpubs", "json array", "Always empty: global xpubs are kept as unknown pairs"),
            ("psbt_version", "numeric", "The PSBT version number"),
            ("proprietary", "json array", "The global proprietary map"),
            ("unknown", "json object", "The unknown global fields"),
            ("inputs", "json array", "witness_utxo, final_scriptwitness, taproot_key_path_sig, taproot_bip32_derivs, taproot_internal_key, unknown, proprietary"),
            ("outputs", "json array", "taproot_internal_key, taproot_bip32_derivs, unknown, proprietary"),
            ("fee", "numeric", "The transaction fee paid if all UTXOs slots in the PSBT have been filled"),
        ]),
        example: &["\"psbt\""],
    },
    MethodSpec {
        category: "Rawtransactions",
        name: "finalizepsbt",
        desc: "Finalize the inputs of a PSBT. If the transaction is fully signed, it will produce a\n\
               network serialized transaction which can be broadcast with sendrawtransaction. Otherwise a PSBT will be\n\
               created which has the final_scriptwitness fields filled for inputs that are complete.",
        args: &[
            arg::<Text>("psbt", "A base64 string of a PSBT"),
            opt_arg::<Flag>("extract", "true", "If true and the transaction is complete, extract and return the complete transaction in normal network serialization instead of the PSBT."),
        ],
        returns: obj("", &[
            ("psbt", "string", "The base64-encoded partially signed transaction if not extracted"),
            ("hex", "string", "The hex-encoded network transaction if extracted"),
            ("complete", "boolean", "If the transaction has a complete set of signatures"),
        ]),
        example: &["\"psbt\""],
    },
    MethodSpec {
        category: "Rawtransactions",
        name: "utxoupdatepsbt",
        desc: "Updates all inputs of a PSBT with the outputs they spend, from the UTXO set or the mempool.",
        args: &[
            arg::<Text>("psbt", "A base64 string of a PSBT"),
            opt_arg::<JsonArray<AnyJson>>("descriptors", "[]", "Not supported: must be empty"),
        ],
        returns: ret("string", "The base64-encoded partially signed transaction with inputs updated"),
        example: &["\"psbt\""],
    },
];

/// The built-in definition of `method`, if it has one.
pub fn find(method: &str) -> Option<&'static MethodSpec> {
    SPECS.iter().find(|s| s.name == method)
}

/// The built-in methods as the Core-wire layer sees them. Surplus positional parameters
/// are `-8` naming them (Core answers its help text as `-1`; the named values say more).
#[derive(Debug, Clone, Copy)]
pub struct NodeTable;

impl dotcoin_rpc_server::MethodTable for NodeTable {
    type Param = Arg;

    fn params(&self, method: &str) -> Option<&[Arg]> {
        find(method).map(|s| s.args)
    }
}

/// The one-line synopsis of a method's arguments, as `help` lists them:
/// `"blockhash" ( verbosity )`.
pub fn synopsis(spec: &MethodSpec) -> String {
    dotcoin_rpc_server::declare::synopsis(spec.args)
}

/// Core-style help for one method: synopsis, description, Arguments, Result, Examples
/// (with both `dotcoin-cli` and `curl`).
pub fn help_text(spec: &MethodSpec) -> String {
    let mut out = format!("{} {}", spec.name, synopsis(spec))
        .trim_end()
        .to_owned();
    out.push_str("\n\n");
    out.push_str(spec.desc);
    out.push('\n');
    if !spec.args.is_empty() {
        out.push('\n');
        out.push_str(&dotcoin_rpc_server::declare::arguments_help(spec.args));
    }
    out.push_str("\nResult:\n");
    let r = &spec.returns;
    match r.ty {
        "json object" if !r.fields.is_empty() => {
            out.push_str(&format!("{{{:<33}({}) {}\n", "", r.ty, r.desc));
            push_fields(&mut out, r.fields, "  ");
            out.push_str("}\n");
        }
        "json array" if !r.fields.is_empty() => {
            out.push_str(&format!("[{:<33}({}) {}\n", "", r.ty, r.desc));
            out.push_str(&format!("  {{{:<31}(json object)\n", ""));
            push_fields(&mut out, r.fields, "    ");
            out.push_str("  },\n  ...\n]\n");
        }
        ty => out.push_str(&format!("{:<34}({ty}) {}\n", word_for(ty), r.desc)),
    }
    let cli_args: Vec<&str> = spec.example.to_vec();
    out.push_str("\nExamples:\n");
    out.push_str(
        &format!(
            "> dotcoin-cli {} {}\n",
            spec.name,
            cli_args
                .iter()
                .map(|a| cli_quote(a))
                .collect::<Vec<_>>()
                .join(" ")
        )
        .replace(" \n", "\n"),
    );
    out.push_str(&format!(
        "> curl --user myusername --data-binary '{{\"jsonrpc\": \"2.0\", \"id\": \"curltest\", \"method\": \"{}\", \"params\": [{}]}}' -H 'content-type: application/json' http://127.0.0.1:{}/\n",
        spec.name,
        cli_args.join(", "),
        dotcoin_common::Network::Main.params().rpc_port,
    ));
    out.trim_end().to_owned()
}

/// A JSON argument as a shell word for the example: strings keep their quotes, objects
/// and arrays are single-quoted.
fn cli_quote(arg: &str) -> String {
    if arg.starts_with('{') || arg.starts_with('[') {
        format!("'{arg}'")
    } else {
        arg.to_owned()
    }
}

fn word_for(ty: &str) -> &'static str {
    match ty {
        "string" => "\"str\"",
        "numeric" => "n",
        "boolean" => "true|false",
        "null" => "null",
        _ => "xxx",
    }
}

fn push_fields(out: &mut String, fields: &[Field], indent: &str) {
    for (name, ty, desc) in fields {
        let value = match *ty {
            "json object" => "{...}",
            "json array" => "[...]",
            other => word_for(other),
        };
        let left = format!("{indent}\"{name}\" : {value},");
        out.push_str(&format!("{left:<34}({ty}) {desc}\n"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn normalize_params(method: &str, params: Value) -> Result<Value, (i32, String)> {
        dotcoin_rpc_server::normalize_params(&NodeTable, method, params)
    }

    #[test]
    fn surplus_positional_is_refused_naming_it() {
        let (code, msg) =
            normalize_params("getblockhash", json!([1, "extra"])).expect_err("surplus");
        assert_eq!(code, -8);
        assert!(
            msg.contains("\"extra\"") && msg.contains("position 2"),
            "{msg}"
        );
        assert_eq!(
            normalize_params("getblockcount", json!([])).ok(),
            Some(json!([]))
        );
        assert!(normalize_params("getblockcount", json!([0])).is_err());
    }

    #[test]
    fn named_become_positional_and_unknown_are_refused() {
        // A given value must pass its type's check: a block hash is 64 hex digits.
        let hash = "ab".repeat(32);
        assert_eq!(
            normalize_params("getblock", json!({"verbosity": 2, "blockhash": hash})).ok(),
            Some(json!([hash, 2]))
        );
        assert_eq!(
            normalize_params("getblock", json!({"blockhash": hash})).ok(),
            Some(json!([hash]))
        );
        // Core's alias. (The values are checked too, so they are real hashes.)
        let (t, b) = ("0f".repeat(32), "0b".repeat(32));
        assert_eq!(
            normalize_params("getrawtransaction", json!({"txid": t, "verbose": true})).ok(),
            Some(json!([t, true]))
        );
        // A gap is null: the method's default.
        assert_eq!(
            normalize_params("getrawtransaction", json!({"txid": t, "blockhash": b})).ok(),
            Some(json!([t, null, b]))
        );
        let (code, msg) =
            normalize_params("getblock", json!({"blockhash": "ab", "verbose_level": 1}))
                .expect_err("unknown name");
        assert_eq!(code, -8);
        assert!(
            msg.contains("Unknown named parameter verbose_level"),
            "{msg}"
        );
        // Plugins' methods pass untouched.
        assert_eq!(
            normalize_params("plugin_method", json!({"any": 1})).ok(),
            Some(json!({"any": 1}))
        );
    }

    #[test]
    fn help_has_core_sections() {
        let text = help_text(find("getblock").expect("getblock is defined"));
        assert!(
            text.starts_with("getblock \"blockhash\" ( verbosity )"),
            "{text}"
        );
        for part in [
            "Arguments:",
            "1. blockhash",
            "(string, required)",
            "optional, default=1",
            "Result:",
            "\"nTx\" : n,",
            "Examples:",
            "> dotcoin-cli getblock \"0000",
            "> curl --user myusername",
        ] {
            assert!(text.contains(part), "missing {part} in:\n{text}");
        }
    }
}
