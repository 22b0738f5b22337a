//! Typed methods on [`RpcClient`]: one per RPC that the wallet, the tests or `dotcoin-cli`
//! make, each sending Bitcoin Core's positional parameters and decoding the result into its
//! type from [`dotcoin_common::rpc_types`]. A node that answers in another shape gives
//! [`RpcError::Decode`] naming the method, never a half-read value.

use dotcoin_common::rpc_types::{
    AddressBalance, AddressUtxo, BannedEntry, BlockHeaderVerbose, BlockTemplate, BlockchainInfo,
    ChainTipInfo, DecodedTx, GetBlockVerbose, GetBlockVerboseTx, MempoolEntry, MempoolInfo,
    MiningInfo, NetworkInfo, NodeInfo, PeerInfo, RawMempoolVerbose, TestMempoolAcceptResult,
    TxOutInfo, TxOutSetInfo, TxVerbose,
};
use dotcoin_common::{encode, BlockHash, Transaction, Txid};
use serde_json::{json, Value};

use crate::client::{RpcClient, RpcError};

/// The address index calls take `{"addresses": [...]}` as their one parameter.
fn addresses_param(addresses: &[String]) -> Value {
    json!([{ "addresses": addresses }])
}

impl RpcClient {
    // ---- control ----

    /// `getinfo`: a one-call summary of the node.
    pub async fn getinfo(&self) -> Result<NodeInfo, RpcError> {
        self.call_typed("getinfo", json!([])).await
    }

    /// `uptime`: seconds since the node started.
    pub async fn uptime(&self) -> Result<u64, RpcError> {
        self.call_typed("uptime", json!([])).await
    }

    /// `stop`: asks the node to shut down; returns its farewell message.
    pub async fn stop(&self) -> Result<String, RpcError> {
        self.call_typed("stop", json!([])).await
    }

    // ---- blockchain ----

    /// `getblockchaininfo`.
    pub async fn getblockchaininfo(&self) -> Result<BlockchainInfo, RpcError> {
        self.call_typed("getblockchaininfo", json!([])).await
    }

    /// `getblockcount`: height of the tip.
    pub async fn getblockcount(&self) -> Result<u32, RpcError> {
        self.call_typed("getblockcount", json!([])).await
    }

    /// `getbestblockhash`: hash of the tip.
    pub async fn getbestblockhash(&self) -> Result<BlockHash, RpcError> {
        self.call_typed("getbestblockhash", json!([])).await
    }

    /// `getblockhash <height>`: the active chain's block at `height`.
    pub async fn getblockhash(&self, height: u32) -> Result<BlockHash, RpcError> {
        self.call_typed("getblockhash", json!([height])).await
    }

    /// `getblock <hash> 0`: the serialized block, hex.
    pub async fn getblock_hex(&self, hash: &BlockHash) -> Result<String, RpcError> {
        self.call_typed("getblock", json!([hash, 0])).await
    }

    /// `getblock <hash> 1`: the block with its txids.
    pub async fn getblock(&self, hash: &BlockHash) -> Result<GetBlockVerbose, RpcError> {
        self.call_typed("getblock", json!([hash, 1])).await
    }

    /// `getblock <hash> 2`: the block with its transactions decoded.
    pub async fn getblock_with_txs(&self, hash: &BlockHash) -> Result<GetBlockVerboseTx, RpcError> {
        self.call_typed("getblock", json!([hash, 2])).await
    }

    /// `getblockheader <hash> true`.
    pub async fn getblockheader(&self, hash: &BlockHash) -> Result<BlockHeaderVerbose, RpcError> {
        self.call_typed("getblockheader", json!([hash, true])).await
    }

    /// `getchaintips`: every known tip, the active one first.
    pub async fn getchaintips(&self) -> Result<Vec<ChainTipInfo>, RpcError> {
        self.call_typed("getchaintips", json!([])).await
    }

    /// `getdifficulty`: difficulty of the tip.
    pub async fn getdifficulty(&self) -> Result<f64, RpcError> {
        self.call_typed("getdifficulty", json!([])).await
    }

    /// `gettxout <txid> <vout> <include_mempool>`: the output if it is unspent, `None` if it
    /// is spent (by the mempool too, with `include_mempool`) or unknown.
    pub async fn gettxout(
        &self,
        txid: &Txid,
        vout: u32,
        include_mempool: bool,
    ) -> Result<Option<TxOutInfo>, RpcError> {
        self.call_typed("gettxout", json!([txid, vout, include_mempool]))
            .await
    }

    /// `gettxoutsetinfo`: statistics of the UTXO set.
    pub async fn gettxoutsetinfo(&self) -> Result<TxOutSetInfo, RpcError> {
        self.call_typed("gettxoutsetinfo", json!([])).await
    }

    // ---- address index ----

    /// `getaddressutxos`: unspent outputs paying `addresses`, mempool ones included.
    pub async fn getaddressutxos(
        &self,
        addresses: &[String],
    ) -> Result<Vec<AddressUtxo>, RpcError> {
        self.call_typed("getaddressutxos", addresses_param(addresses))
            .await
    }

    /// `getaddressbalance`: the sums over `addresses`' outputs.
    pub async fn getaddressbalance(
        &self,
        addresses: &[String],
    ) -> Result<AddressBalance, RpcError> {
        self.call_typed("getaddressbalance", addresses_param(addresses))
            .await
    }

    /// `getaddresstxids`: transactions touching `addresses`, confirmed ones first.
    pub async fn getaddresstxids(&self, addresses: &[String]) -> Result<Vec<Txid>, RpcError> {
        self.call_typed("getaddresstxids", addresses_param(addresses))
            .await
    }

    // ---- raw transactions and mempool ----

    /// `getmempoolinfo`.
    pub async fn getmempoolinfo(&self) -> Result<MempoolInfo, RpcError> {
        self.call_typed("getmempoolinfo", json!([])).await
    }

    /// `getrawmempool`: the txids in the pool.
    pub async fn getrawmempool(&self) -> Result<Vec<Txid>, RpcError> {
        self.call_typed("getrawmempool", json!([false])).await
    }

    /// `getrawmempool true`: every pool entry by txid.
    pub async fn getrawmempool_verbose(&self) -> Result<RawMempoolVerbose, RpcError> {
        self.call_typed("getrawmempool", json!([true])).await
    }

    /// `getmempoolentry <txid>`.
    pub async fn getmempoolentry(&self, txid: &Txid) -> Result<MempoolEntry, RpcError> {
        self.call_typed("getmempoolentry", json!([txid])).await
    }

    /// `sendrawtransaction <hex>`: submits a signed transaction; returns its txid.
    pub async fn sendrawtransaction(&self, hex: &str) -> Result<Txid, RpcError> {
        self.call_typed("sendrawtransaction", json!([hex])).await
    }

    /// [`sendrawtransaction`](Self::sendrawtransaction) of `tx` serialized.
    pub async fn send_transaction(&self, tx: &Transaction) -> Result<Txid, RpcError> {
        self.sendrawtransaction(&hex::encode(encode::serialize(tx)))
            .await
    }

    /// `testmempoolaccept [<hex>, …]`: whether the pool would take each transaction.
    pub async fn testmempoolaccept(
        &self,
        rawtxs: &[String],
    ) -> Result<Vec<TestMempoolAcceptResult>, RpcError> {
        self.call_typed("testmempoolaccept", json!([rawtxs])).await
    }

    /// `decoderawtransaction <hex>`.
    pub async fn decoderawtransaction(&self, hex: &str) -> Result<DecodedTx, RpcError> {
        self.call_typed("decoderawtransaction", json!([hex])).await
    }

    /// `getrawtransaction <txid>`: the serialized transaction, hex.
    pub async fn getrawtransaction_hex(&self, txid: &Txid) -> Result<String, RpcError> {
        self.call_typed("getrawtransaction", json!([txid, false]))
            .await
    }

    /// `getrawtransaction <txid> true`: the transaction decoded, with its block if confirmed.
    pub async fn getrawtransaction(&self, txid: &Txid) -> Result<TxVerbose, RpcError> {
        self.call_typed("getrawtransaction", json!([txid, true]))
            .await
    }

    // ---- mining ----

    /// `generatetoaddress <n> <address>`: mines `n` blocks now; returns their hashes.
    pub async fn generatetoaddress(
        &self,
        nblocks: u32,
        address: &str,
    ) -> Result<Vec<BlockHash>, RpcError> {
        self.call_typed("generatetoaddress", json!([nblocks, address]))
            .await
    }

    /// `getmininginfo`.
    pub async fn getmininginfo(&self) -> Result<MiningInfo, RpcError> {
        self.call_typed("getmininginfo", json!([])).await
    }

    /// `getnetworkhashps`: estimated network hash rate over the last 120 blocks.
    pub async fn getnetworkhashps(&self) -> Result<f64, RpcError> {
        self.call_typed("getnetworkhashps", json!([])).await
    }

    /// `getgenerate`: whether continuous mining is on.
    pub async fn getgenerate(&self) -> Result<bool, RpcError> {
        self.call_typed("getgenerate", json!([])).await
    }

    /// `getblocktemplate`: a template for an external miner.
    pub async fn getblocktemplate(&self) -> Result<BlockTemplate, RpcError> {
        self.call_typed("getblocktemplate", json!([])).await
    }

    /// `submitblock <hex>`: `None` when the block was accepted, otherwise the node's reason
    /// (`"duplicate"`, or why it is invalid), as Bitcoin Core answers.
    pub async fn submitblock(&self, hex: &str) -> Result<Option<String>, RpcError> {
        self.call_typed("submitblock", json!([hex])).await
    }

    // ---- network ----

    /// `getpeerinfo`: every connected peer.
    pub async fn getpeerinfo(&self) -> Result<Vec<PeerInfo>, RpcError> {
        self.call_typed("getpeerinfo", json!([])).await
    }

    /// `getconnectioncount`.
    pub async fn getconnectioncount(&self) -> Result<u64, RpcError> {
        self.call_typed("getconnectioncount", json!([])).await
    }

    /// `getnetworkinfo`.
    pub async fn getnetworkinfo(&self) -> Result<NetworkInfo, RpcError> {
        self.call_typed("getnetworkinfo", json!([])).await
    }

    /// `listbanned`: the current bans.
    pub async fn listbanned(&self) -> Result<Vec<BannedEntry>, RpcError> {
        self.call_typed("listbanned", json!([])).await
    }
}
