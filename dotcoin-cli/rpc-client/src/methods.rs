//! Typed methods on [`RpcClient`]: every RPC of the node ([`NODE_METHODS`]) and of the
//! wallet service ([`WALLET_SERVICE_METHODS`]), each sending Bitcoin Core's positional
//! parameters and decoding the result into its type from [`dotcoin_common::rpc_types`]
//! (or [`dotcoin_common::wallet_rpc_types`]). A server that answers in another shape gives
//! [`RpcError::Decode`] naming the method, never a half-read value.
//!
//! Each method is one line of a `typed_methods!` table, which also lists the RPC names the
//! client covers; the contract tests hold those lists equal to what the servers register.

use dotcoin_common::psbt_rpc_types::{
    AnalyzePsbtResult, DecodePsbtResult, FinalizePsbtResult, WalletCreateFundedPsbtResult,
    WalletProcessPsbtResult,
};
use dotcoin_common::rpc_types::{
    AddedNodeInfo, AddressBalance, AddressUtxo, BannedEntry, BlockHeaderVerbose, BlockStats,
    BlockTemplate, BlockchainInfo, ChainTipInfo, ChainTxStats, DecodedTx, DeploymentInfo,
    FeeEstimate, GenerateBlockResult, GetBlockVerbose, GetBlockVerboseTx, IndexInfo,
    LoggingCategories, MemoryInfo, MempoolEntry, MempoolInfo, MiningInfo, NetTotals, NetworkInfo,
    NodeAddress, NodeInfo, PeerInfo, PluginResult, RawMempoolVerbose, RpcInfo, ScanTxOutSetResult,
    TestMempoolAcceptResult, TxOutInfo, TxOutSetInfo, TxVerbose, ValidateAddressResult, WaitTip,
    ZmqNotification,
};
use dotcoin_common::wallet_rpc_types::{
    AddressGroupingEntry, GetAddressInfoResult, GetBalancesResult, GetTransactionResult,
    GetWalletInfoResult, ListUnspentEntry, SendResult, SignRawTransactionResult,
    UnloadWalletResult, WalletLoadResult, WalletTxEntry,
};
use dotcoin_common::wallet_rpc_types::{BumpFeeResult, FundRawTransactionResult, WalletSendResult};
use dotcoin_common::wallet_rpc_types::{
    ImportDescriptorsResult, ListDescriptorsResult, MigrateWalletResult,
};
use dotcoin_common::wallet_rpc_types::{ListSinceBlockResult, LockedOutput};
use dotcoin_common::{encode, Amount, BlockHash, Transaction, Txid};
use serde_json::json;

use crate::client::{RpcClient, RpcError};

/// Declares typed methods, each `"rpc" => fn name(&self, args…) -> Result = [params];`,
/// and the list of the RPC names they call.
macro_rules! typed_methods {
    (
        $(#[$list_attr:meta])*
        $list:ident;
        $(
            $(#[$attr:meta])*
            $rpc:literal => fn $fname:ident(&self $(, $arg:ident : $aty:ty)* $(,)?) -> $ret:ty = $params:tt;
        )*
    ) => {
        impl RpcClient {
            $(
                $(#[$attr])*
                pub async fn $fname(&self $(, $arg: $aty)*) -> Result<$ret, RpcError> {
                    self.call_typed($rpc, json!($params)).await
                }
            )*
        }

        $(#[$list_attr])*
        pub const $list: &[&str] = &[$($rpc),*];
    };
}

typed_methods! {
    /// The node's RPCs the typed client calls (a name once per method of this client, so
    /// `getblock` stands three times).
    NODE_METHODS;

    /// `getinfo`: a one-call summary of the node.
    "getinfo" => fn getinfo(&self) -> NodeInfo = [];

    /// `uptime`: seconds since the node started.
    "uptime" => fn uptime(&self) -> u64 = [];

    /// `stop`: asks the node to shut down; returns its farewell message.
    "stop" => fn stop(&self) -> String = [];

    /// `getblockchaininfo`.
    "getblockchaininfo" => fn getblockchaininfo(&self) -> BlockchainInfo = [];

    /// `getblockcount`: height of the tip.
    "getblockcount" => fn getblockcount(&self) -> u32 = [];

    /// `getbestblockhash`: hash of the tip.
    "getbestblockhash" => fn getbestblockhash(&self) -> BlockHash = [];

    /// `getblockhash <height>`: the active chain's block at `height`.
    "getblockhash" => fn getblockhash(&self, height: u32) -> BlockHash = [height];

    /// `getblock <hash> 0`: the serialized block, hex.
    "getblock" => fn getblock_hex(&self, hash: &BlockHash) -> String = [hash, 0];

    /// `getblock <hash> 1`: the block with its txids.
    "getblock" => fn getblock(&self, hash: &BlockHash) -> GetBlockVerbose = [hash, 1];

    /// `getblock <hash> 2`: the block with its transactions decoded.
    "getblock" => fn getblock_with_txs(&self, hash: &BlockHash) -> GetBlockVerboseTx = [hash, 2];

    /// `getblockheader <hash> true`.
    "getblockheader" => fn getblockheader(&self, hash: &BlockHash) -> BlockHeaderVerbose = [hash, true];

    /// `getchaintips`: every known tip, the active one first.
    "getchaintips" => fn getchaintips(&self) -> Vec<ChainTipInfo> = [];

    /// `getdifficulty`: difficulty of the tip.
    "getdifficulty" => fn getdifficulty(&self) -> f64 = [];

    /// `gettxout <txid> <vout> <include_mempool>`: the output if it is unspent, `None` if it
    /// is spent (by the mempool too, with `include_mempool`) or unknown.
    "gettxout" => fn gettxout(&self, txid: &Txid, vout: u32, include_mempool: bool) -> Option<TxOutInfo> = [txid, vout, include_mempool];

    /// `gettxoutsetinfo`: statistics of the UTXO set.
    "gettxoutsetinfo" => fn gettxoutsetinfo(&self) -> TxOutSetInfo = [];

    /// `getaddressutxos`: unspent outputs paying `addresses`, mempool ones included.
    "getaddressutxos" => fn getaddressutxos(&self, addresses: &[String]) -> Vec<AddressUtxo> = [{ "addresses": addresses }];

    /// `getaddressbalance`: the sums over `addresses`' outputs.
    "getaddressbalance" => fn getaddressbalance(&self, addresses: &[String]) -> AddressBalance = [{ "addresses": addresses }];

    /// `getaddresstxids`: transactions touching `addresses`, confirmed ones first.
    "getaddresstxids" => fn getaddresstxids(&self, addresses: &[String]) -> Vec<Txid> = [{ "addresses": addresses }];

    /// `getmempoolinfo`.
    "getmempoolinfo" => fn getmempoolinfo(&self) -> MempoolInfo = [];

    /// `getrawmempool`: the txids in the pool.
    "getrawmempool" => fn getrawmempool(&self) -> Vec<Txid> = [false];

    /// `getrawmempool true`: every pool entry by txid.
    "getrawmempool" => fn getrawmempool_verbose(&self) -> RawMempoolVerbose = [true];

    /// `getmempoolentry <txid>`.
    "getmempoolentry" => fn getmempoolentry(&self, txid: &Txid) -> MempoolEntry = [txid];

    /// `sendrawtransaction <hex>`: submits a signed transaction; returns its txid.
    "sendrawtransaction" => fn sendrawtransaction(&self, hex: &str) -> Txid = [hex];

    /// `testmempoolaccept [<hex>, …]`: whether the pool would take each transaction.
    "testmempoolaccept" => fn testmempoolaccept(&self, rawtxs: &[String]) -> Vec<TestMempoolAcceptResult> = [rawtxs];

    /// `decoderawtransaction <hex>`.
    "decoderawtransaction" => fn decoderawtransaction(&self, hex: &str) -> DecodedTx = [hex];

    /// `getrawtransaction <txid>`: the serialized transaction, hex.
    "getrawtransaction" => fn getrawtransaction_hex(&self, txid: &Txid) -> String = [txid, false];

    /// `getrawtransaction <txid> true`: the transaction decoded, with its block if confirmed.
    "getrawtransaction" => fn getrawtransaction(&self, txid: &Txid) -> TxVerbose = [txid, true];

    /// `generatetoaddress <n> <address>`: mines `n` blocks now; returns their hashes.
    "generatetoaddress" => fn generatetoaddress(&self, nblocks: u32, address: &str) -> Vec<BlockHash> = [nblocks, address];

    /// `getmininginfo`.
    "getmininginfo" => fn getmininginfo(&self) -> MiningInfo = [];

    /// `getnetworkhashps`: estimated network hash rate over the last 120 blocks.
    "getnetworkhashps" => fn getnetworkhashps(&self) -> f64 = [];

    /// `getgenerate`: whether continuous mining is on.
    "getgenerate" => fn getgenerate(&self) -> bool = [];

    /// `getblocktemplate`: a template for an external miner.
    "getblocktemplate" => fn getblocktemplate(&self) -> BlockTemplate = [];

    /// `submitblock <hex>`: `None` when the block was accepted, otherwise the node's reason
    /// (`"duplicate"`, or why it is invalid), as Bitcoin Core answers.
    "submitblock" => fn submitblock(&self, hex: &str) -> Option<String> = [hex];

    /// `getpeerinfo`: every connected peer.
    "getpeerinfo" => fn getpeerinfo(&self) -> Vec<PeerInfo> = [];

    /// `getconnectioncount`.
    "getconnectioncount" => fn getconnectioncount(&self) -> u64 = [];

    /// `getnetworkinfo`.
    "getnetworkinfo" => fn getnetworkinfo(&self) -> NetworkInfo = [];

    /// `listbanned`: the current bans.
    "listbanned" => fn listbanned(&self) -> Vec<BannedEntry> = [];


    /// `getmempoolancestors <txid>`: the pool ancestors of a pool transaction.
    "getmempoolancestors" => fn getmempoolancestors(&self, txid: &Txid) -> Vec<Txid> = [txid, false];

    /// `getmempooldescendants <txid>`: the pool descendants of a pool transaction.
    "getmempooldescendants" => fn getmempooldescendants(&self, txid: &Txid) -> Vec<Txid> = [txid, false];

    /// `getblockstats <hash>`: fees, fee rates and sizes of one block.
    "getblockstats" => fn getblockstats(&self, hash: &BlockHash) -> BlockStats = [hash];

    /// `invalidateblock <hash>`: marks a block invalid, as if it broke a rule.
    "invalidateblock" => fn invalidateblock(&self, hash: &BlockHash) -> () = [hash];

    /// `reconsiderblock <hash>`: removes invalidity marks from a block and its relatives.
    "reconsiderblock" => fn reconsiderblock(&self, hash: &BlockHash) -> () = [hash];

    /// `preciousblock <hash>`: treats a block as received before others of the same work.
    "preciousblock" => fn preciousblock(&self, hash: &BlockHash) -> () = [hash];

    /// `verifychain <checklevel> <nblocks>`: re-checks the last blocks against the store.
    "verifychain" => fn verifychain(&self, checklevel: u32, nblocks: u32) -> bool = [checklevel, nblocks];

    /// `createrawtransaction`: an unsigned transaction spending `inputs` (txid, vout) to
    /// `outputs` (address, amount), hex.
    "createrawtransaction" => fn createrawtransaction(
        &self,
        inputs: &[(Txid, u32)],
        outputs: &[(String, Amount)],
    ) -> String = [
        inputs.iter().map(|(txid, vout)| json!({"txid": txid, "vout": vout})).collect::<Vec<_>>(),
        outputs.iter().map(|(address, amount)| json!({address.as_str(): amount})).collect::<Vec<_>>()
    ];

    /// `setgenerate <generate> <threads> <address>`: continuous mining on or off.
    "setgenerate" => fn setgenerate(&self, generate: bool, threads: u32, address: &str) -> () = [generate, threads, address];

    /// `addnode <node> <command>`: `add`, `remove` or `onetry` a peer address.
    "addnode" => fn addnode(&self, node: &str, command: &str) -> () = [node, command];

    /// `disconnectnode <address>`: closes the connection to a peer.
    "disconnectnode" => fn disconnectnode(&self, address: &str) -> () = [address];

    /// `setban <subnet> <command> <bantime>`: `add` or `remove` a ban.
    "setban" => fn setban(&self, subnet: &str, command: &str, bantime: i64) -> () = [subnet, command, bantime];

    /// `clearbanned`: lifts every ban.
    "clearbanned" => fn clearbanned(&self) -> () = [];

    /// `getnettotals`: bytes sent and received.
    "getnettotals" => fn getnettotals(&self) -> NetTotals = [];

    /// `ping`: asks every peer for a pong.
    "ping" => fn ping(&self) -> () = [];

    /// `setnetworkactive <state>`: turns all P2P activity on or off; returns the state.
    "setnetworkactive" => fn setnetworkactive(&self, state: bool) -> bool = [state];

    /// `validateaddress <address>`: whether an address is valid here and what it pays.
    "validateaddress" => fn validateaddress(&self, address: &str) -> ValidateAddressResult = [address];

    /// `echo …`: its arguments back, for testing a connection.
    "echo" => fn echo(&self, args: &[serde_json::Value]) -> Vec<serde_json::Value> = args;

    /// `help <command>`: a method's help, or the list of methods.
    "help" => fn help(&self, command: Option<&str>) -> String = [command];

    /// `getzmqnotifications`: the active ZMQ notifiers (none: ZMQ is not built in).
    "getzmqnotifications" => fn getzmqnotifications(&self) -> Vec<ZmqNotification> = [];

    /// `getchaintxstats <nblocks>`: transaction counts and rate over the last blocks.
    "getchaintxstats" => fn getchaintxstats(&self, nblocks: Option<u32>) -> ChainTxStats = [nblocks];

    /// `getdeploymentinfo`: the rules in force at the tip.
    "getdeploymentinfo" => fn getdeploymentinfo(&self) -> DeploymentInfo = [];

    /// `getindexinfo`: the node's indexes and how far they are synced.
    "getindexinfo" => fn getindexinfo(&self) -> IndexInfo = [];

    /// `scantxoutset start [addr(…) …]`: unspent outputs paying the given descriptors.
    "scantxoutset" => fn scantxoutset(&self, scanobjects: &[String]) -> Option<ScanTxOutSetResult> = ["start", scanobjects];

    /// `estimatesmartfee <conf_target>`: a fee rate likely to confirm within the target.
    "estimatesmartfee" => fn estimatesmartfee(&self, conf_target: u32) -> FeeEstimate = [conf_target];

    /// `waitfornewblock <timeout ms>`: the tip once it changes, or at the timeout.
    "waitfornewblock" => fn waitfornewblock(&self, timeout_ms: u32) -> WaitTip = [timeout_ms];

    /// `waitforblock <hash> <timeout ms>`: the tip once it is `hash`, or at the timeout.
    "waitforblock" => fn waitforblock(&self, hash: &BlockHash, timeout_ms: u32) -> WaitTip = [hash, timeout_ms];

    /// `waitforblockheight <height> <timeout ms>`: the tip once it reaches `height`, or at
    /// the timeout.
    "waitforblockheight" => fn waitforblockheight(&self, height: u32, timeout_ms: u32) -> WaitTip = [height, timeout_ms];

    /// `getrpcinfo`: the calls being answered now.
    "getrpcinfo" => fn getrpcinfo(&self) -> RpcInfo = [];

    /// `getmemoryinfo`: the node's memory use.
    "getmemoryinfo" => fn getmemoryinfo(&self) -> MemoryInfo = [];

    /// `logging <include> <exclude>`: switches debug categories; returns every category's
    /// state.
    "logging" => fn logging(&self, include: &[&str], exclude: &[&str]) -> LoggingCategories = [include, exclude];

    /// `generateblock <address> [txids or raw transactions]`: mines one block of exactly
    /// these transactions.
    "generateblock" => fn generateblock(&self, output: &str, transactions: &[String]) -> GenerateBlockResult = [output, transactions];

    /// `getaddednodeinfo`: the peers added with `addnode`.
    "getaddednodeinfo" => fn getaddednodeinfo(&self) -> Vec<AddedNodeInfo> = [];

    /// `getnodeaddresses <count>`: addresses from the node's address book.
    "getnodeaddresses" => fn getnodeaddresses(&self, count: u32) -> Vec<NodeAddress> = [count];

    /// `plugin list|start PATH|stop NAME`.
    "plugin" => fn plugin(&self, subcommand: &str, arg: Option<&str>) -> PluginResult = [subcommand, arg];

    /// `getblockpropagation <hash>`: when the node first saw the block, from whom, and
    /// when it stored and connected it (docs/lab.md).
    "getblockpropagation" => fn getblockpropagation(&self, hash: &BlockHash) -> serde_json::Value = [hash];

    /// `gettxpropagation <txid>`: when the node first saw the transaction, from whom.
    "gettxpropagation" => fn gettxpropagation(&self, txid: &Txid) -> serde_json::Value = [txid];

    /// `listblockpropagation`: every block first-seen record kept, oldest first.
    "listblockpropagation" => fn listblockpropagation(&self) -> Vec<serde_json::Value> = [];

    /// `decodepsbt <psbt>`.
    "decodepsbt" => fn decodepsbt(&self, psbt: &str) -> DecodePsbtResult = [psbt];
    /// `combinepsbt <txs>`: merges PSBTs of one transaction.
    "combinepsbt" => fn combinepsbt(&self, txs: &[String]) -> String = [txs];
    /// `finalizepsbt <psbt>`: finalizes, and extracts when complete.
    "finalizepsbt" => fn finalizepsbt(&self, psbt: &str) -> FinalizePsbtResult = [psbt];
    /// `analyzepsbt <psbt>`: what the PSBT needs next.
    "analyzepsbt" => fn analyzepsbt(&self, psbt: &str) -> AnalyzePsbtResult = [psbt];
    /// `utxoupdatepsbt <psbt>`: fills in spent outputs from the UTXO set and mempool.
    "utxoupdatepsbt" => fn utxoupdatepsbt(&self, psbt: &str) -> String = [psbt];
    /// `converttopsbt <hex>`: a PSBT of an unsigned raw transaction.
    "converttopsbt" => fn converttopsbt(&self, hexstring: &str) -> String = [hexstring];
}

typed_methods! {
    /// The wallet service's RPCs the typed client calls (`dotcoin-wallet serve`; connect
    /// with [`ConnectOptions::for_wallet_service`](crate::ConnectOptions::for_wallet_service)).
    WALLET_SERVICE_METHODS;

    /// `help <command>` of the wallet service.
    "help" => fn wallet_help(&self, command: Option<&str>) -> String = [command];

    /// `stop`: asks the wallet service to shut down.
    "stop" => fn wallet_stop(&self) -> String = [];

    /// `listwallets`: the loaded wallets.
    "listwallets" => fn listwallets(&self) -> Vec<String> = [];

    /// `createwallet <name>`: a new wallet, loaded.
    "createwallet" => fn createwallet(&self, name: &str, passphrase: Option<&str>) -> WalletLoadResult = [name, null, null, passphrase];

    /// `loadwallet <name>`.
    "loadwallet" => fn loadwallet(&self, name: &str) -> WalletLoadResult = [name];

    /// `unloadwallet <name>`.
    "unloadwallet" => fn unloadwallet(&self, name: Option<&str>) -> UnloadWalletResult = [name];

    /// `getnewaddress <label>`: a fresh receiving address.
    "getnewaddress" => fn getnewaddress(&self, label: Option<&str>) -> String = [label];

    /// `getrawchangeaddress`: a fresh change address.
    "getrawchangeaddress" => fn getrawchangeaddress(&self) -> String = [];

    /// `getbalance`: the trusted balance.
    "getbalance" => fn getbalance(&self) -> Amount = [];

    /// `getbalances`: trusted, pending and immature balances.
    "getbalances" => fn getbalances(&self) -> GetBalancesResult = [];

    /// `getwalletinfo`.
    "getwalletinfo" => fn getwalletinfo(&self) -> GetWalletInfoResult = [];

    /// `listunspent`: the wallet's unspent outputs.
    "listunspent" => fn listunspent(&self) -> Vec<ListUnspentEntry> = [];

    /// `listtransactions "*" <count> <skip>`: the wallet's history, newest last.
    "listtransactions" => fn listtransactions(&self, count: u32, skip: u32) -> Vec<WalletTxEntry> = ["*", count, skip];

    /// `gettransaction <txid>`: one wallet transaction, decoded.
    "gettransaction" => fn gettransaction(&self, txid: &Txid) -> GetTransactionResult = [txid, null, true];

    /// `sendtoaddress <address> <amount>`: pays one address.
    "sendtoaddress" => fn sendtoaddress(&self, address: &str, amount: Amount) -> SendResult = [address, amount];

    /// `sendmany "" {address: amount, …}`: pays several addresses in one transaction.
    "sendmany" => fn sendmany(&self, amounts: &std::collections::BTreeMap<String, Amount>) -> SendResult = ["", amounts];

    /// `encryptwallet <passphrase>`.
    "encryptwallet" => fn encryptwallet(&self, passphrase: &str) -> String = [passphrase];

    /// `walletpassphrase <passphrase> <seconds>`: unlocks for a while.
    "walletpassphrase" => fn walletpassphrase(&self, passphrase: &str, seconds: u32) -> () = [passphrase, seconds];

    /// `walletlock`.
    "walletlock" => fn walletlock(&self) -> () = [];

    /// `walletpassphrasechange <old> <new>`.
    "walletpassphrasechange" => fn walletpassphrasechange(&self, old: &str, new: &str) -> () = [old, new];

    /// `dumpprivkey <address>`: the key of one of the wallet's addresses.
    "dumpprivkey" => fn dumpprivkey(&self, address: &str) -> String = [address];

    /// `importprivkey <key> <label>`.
    "importprivkey" => fn importprivkey(&self, key: &str, label: Option<&str>) -> () = [key, label];

    /// `backupwallet <destination>`: copies the wallet file.
    "backupwallet" => fn backupwallet(&self, destination: &str) -> () = [destination];

    /// `getaddressinfo <address>`.
    "getaddressinfo" => fn getaddressinfo(&self, address: &str) -> GetAddressInfoResult = [address];

    /// `listaddressgroupings`: addresses grouped by common ownership.
    "listaddressgroupings" => fn listaddressgroupings(&self) -> Vec<Vec<AddressGroupingEntry>> = [];

    /// `signrawtransactionwithwallet <hex>`: signs what the wallet can.
    "signrawtransactionwithwallet" => fn signrawtransactionwithwallet(&self, hex: &str) -> SignRawTransactionResult = [hex];

    /// `getdescriptorinfo <descriptor>`: the checksum and public form of a descriptor.
    "getdescriptorinfo" => fn getdescriptorinfo(&self, descriptor: &str) -> dotcoin_common::wallet_rpc_types::GetDescriptorInfoResult = [descriptor];

    /// `deriveaddresses <descriptor> [begin,end]`: the addresses a descriptor gives.
    "deriveaddresses" => fn deriveaddresses(&self, descriptor: &str, range: Option<[u32; 2]>) -> Vec<String> = [descriptor, range];

    /// `listsinceblock <blockhash> <target_confirmations>`: the wallet's transactions
    /// since a block, and those of blocks that left the best chain since.
    "listsinceblock" => fn listsinceblock(&self, blockhash: Option<&BlockHash>, target_confirmations: u32) -> ListSinceBlockResult = [blockhash, target_confirmations];

    /// `lockunspent <unlock> [{txid, vout}, …] <persistent>`.
    "lockunspent" => fn lockunspent(&self, unlock: bool, outputs: &[LockedOutput], persistent: bool) -> bool = [unlock, outputs, persistent];

    /// `listlockunspent`: the locked coins.
    "listlockunspent" => fn listlockunspent(&self) -> Vec<LockedOutput> = [];

    /// `abandontransaction <txid>`.
    "abandontransaction" => fn abandontransaction(&self, txid: &Txid) -> () = [txid];

    /// `walletcreatefundedpsbt [] <outputs> 0 <options>`: funds a payment, unsigned.
    "walletcreatefundedpsbt" => fn walletcreatefundedpsbt(&self, outputs: &serde_json::Value, options: &serde_json::Value) -> WalletCreateFundedPsbtResult = [[], outputs, 0, options];
    /// `walletprocesspsbt <psbt>`: fills in, signs and finalizes what the wallet can.
    "walletprocesspsbt" => fn walletprocesspsbt(&self, psbt: &str) -> WalletProcessPsbtResult = [psbt];

    /// `send <outputs> null "unset" null <options>`: pays the outputs; Core's result.
    "send" => fn send(&self, outputs: &serde_json::Value, options: &serde_json::Value) -> WalletSendResult = [outputs, null, null, null, options];

    /// `sendall <recipients> null "unset" null <options>`: spends every coin.
    "sendall" => fn sendall(&self, recipients: &serde_json::Value, options: &serde_json::Value) -> WalletSendResult = [recipients, null, null, null, options];

    /// `fundrawtransaction <hex> <options>`: adds inputs and change, unsigned.
    "fundrawtransaction" => fn fundrawtransaction(&self, hex: &str, options: &serde_json::Value) -> FundRawTransactionResult = [hex, options];

    /// `bumpfee <txid> <options>`: replaces a pending payment by one paying more fee.
    "bumpfee" => fn bumpfee(&self, txid: &Txid, options: &serde_json::Value) -> BumpFeeResult = [txid, options];

    /// `psbtbumpfee <txid> <options>`: the same replacement as an unsigned PSBT.
    "psbtbumpfee" => fn psbtbumpfee(&self, txid: &Txid, options: &serde_json::Value) -> BumpFeeResult = [txid, options];
    /// `importdescriptors <requests>`: one answer per request.
    "importdescriptors" => fn importdescriptors(&self, requests: &serde_json::Value) -> Vec<ImportDescriptorsResult> = [requests];
    /// `listdescriptors <private>`.
    "listdescriptors" => fn listdescriptors(&self, private: bool) -> ListDescriptorsResult = [private];
    /// `migratewallet [wallet_name] [passphrase]`.
    "migratewallet" => fn migratewallet(&self, wallet_name: Option<&str>, passphrase: Option<&str>) -> MigrateWalletResult = [wallet_name, passphrase];
}

impl RpcClient {
    /// [`sendrawtransaction`](Self::sendrawtransaction) of `tx` serialized.
    pub async fn send_transaction(&self, tx: &Transaction) -> Result<Txid, RpcError> {
        self.sendrawtransaction(&hex::encode(encode::serialize(tx)))
            .await
    }
}
