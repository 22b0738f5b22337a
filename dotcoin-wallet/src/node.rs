//! The wallet's view of the node: the handful of public-data RPCs it may call, behind the
//! [`NodeApi`] trait so the core and the tests never need a running node. Nothing here
//! sends a secret: the only thing the wallet hands the node is a signed transaction.

use dotcoin_common::rpc_types::{
    AddressUtxo, BlockchainInfo, GetBlockVerbose, MempoolEntry, TxVerbose,
};
use dotcoin_common::{encode, BlockHash, Transaction, Txid};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use crate::error::WalletError;

/// An error from the node: an RPC error with a Bitcoin Core code, or a transport failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeError {
    /// The RPC error code, if the node answered with one.
    pub code: Option<i64>,
    /// What went wrong.
    pub message: String,
}

impl From<NodeError> for WalletError {
    fn from(e: NodeError) -> Self {
        match e.code {
            Some(code) => WalletError::NodeRpc {
                code,
                message: e.message,
            },
            None => WalletError::Node(e.message),
        }
    }
}

/// One JSON-RPC call to the node.
// The wallet drives its node calls on a current-thread runtime, so the futures need no
// `Send` bound.
#[allow(async_fn_in_trait)]
pub trait NodeApi {
    /// Calls `method` with positional `params` and returns the result.
    async fn call(&self, method: &str, params: Value) -> Result<Value, NodeError>;
}

pub(crate) async fn call_typed<T: DeserializeOwned, N: NodeApi>(
    node: &N,
    method: &str,
    params: Value,
) -> Result<T, WalletError> {
    let value = node.call(method, params).await?;
    serde_json::from_value(value)
        .map_err(|e| WalletError::Node(format!("unexpected answer to {method}: {e}")))
}

/// `getblockchaininfo`.
pub async fn blockchain_info<N: NodeApi>(node: &N) -> Result<BlockchainInfo, WalletError> {
    call_typed(node, "getblockchaininfo", json!([])).await
}

/// `getaddressutxos`: our outputs, pending ones included and flagged.
pub async fn address_utxos<N: NodeApi>(
    node: &N,
    addresses: &[String],
) -> Result<Vec<AddressUtxo>, WalletError> {
    if addresses.is_empty() {
        return Ok(Vec::new());
    }
    call_typed(node, "getaddressutxos", json!([{ "addresses": addresses }])).await
}

/// `getaddresstxids`: transactions touching our addresses, confirmed (by height) first.
pub async fn address_txids<N: NodeApi>(
    node: &N,
    addresses: &[String],
) -> Result<Vec<Txid>, WalletError> {
    if addresses.is_empty() {
        return Ok(Vec::new());
    }
    call_typed(node, "getaddresstxids", json!([{ "addresses": addresses }])).await
}

/// A transaction as `getrawtransaction <txid> true` describes it. The transaction itself
/// is decoded from the `hex` field, so values and keys are exact.
#[derive(Debug, Clone)]
pub struct TxInfo {
    /// The decoded transaction.
    pub tx: Transaction,
    /// Confirmations (0 in the mempool).
    pub confirmations: u32,
    /// The block, if confirmed.
    pub blockhash: Option<BlockHash>,
    /// The block's time, if confirmed.
    pub time: Option<u32>,
    /// The block's height, if confirmed.
    pub height: Option<u32>,
    /// Its position in the block, if confirmed.
    pub index: Option<u32>,
    /// Unix time the node first held it: its mempool entry's time while unconfirmed (none
    /// if it left the pool meanwhile), its block's time once confirmed, as the node keeps
    /// no earlier record.
    pub received: Option<u64>,
}

/// `getrawtransaction <txid> true`.
pub async fn raw_transaction<N: NodeApi>(node: &N, txid: &Txid) -> Result<TxInfo, WalletError> {
    let verbose: TxVerbose = call_typed(node, "getrawtransaction", json!([txid, true])).await?;
    let tx = verbose
        .transaction()
        .map_err(|e| WalletError::Node(format!("getrawtransaction {txid}: {e}")))?;
    if tx.txid() != *txid {
        return Err(WalletError::Node(format!(
            "getrawtransaction {txid}: the node answered with transaction {}",
            tx.txid()
        )));
    }
    // Where in its block: a coinbase commits to its height and comes first; any other
    // transaction is looked up in the block's txid list.
    let (height, index) = match verbose.blockhash {
        None => (None, None),
        Some(_) if tx.is_coinbase() => (Some(tx.inputs[0].prevout.vout), Some(0)),
        Some(hash) => {
            let block: GetBlockVerbose = call_typed(node, "getblock", json!([hash, 1])).await?;
            let index = block.tx.iter().position(|t| t == txid).ok_or_else(|| {
                WalletError::Node(format!("getblock {hash}: transaction {txid} is not in it"))
            })?;
            (Some(block.header.height), u32::try_from(index).ok())
        }
    };
    let received = match verbose.time {
        Some(time) => Some(u64::from(time)),
        // Best effort: the transaction may have been mined or evicted since.
        None => call_typed::<MempoolEntry, _>(node, "getmempoolentry", json!([txid]))
            .await
            .ok()
            .map(|e| e.time),
    };
    Ok(TxInfo {
        tx,
        confirmations: verbose.confirmations.unwrap_or(0),
        blockhash: verbose.blockhash,
        time: verbose.time,
        height,
        index,
        received,
    })
}

/// `sendrawtransaction <hex>`.
pub async fn send_raw_transaction<N: NodeApi>(
    node: &N,
    tx: &Transaction,
) -> Result<Txid, WalletError> {
    call_typed(
        node,
        "sendrawtransaction",
        json!([hex::encode(encode::serialize(tx))]),
    )
    .await
}

/// The real node, reached with the shared `dotcoin-rpc-client`. The client is made on the first
/// call, so commands that never talk to the node (`create`, `getnewaddress`, …) work
/// without a running node or its cookie.
#[derive(Debug)]
pub struct RpcNode {
    options: dotcoin_rpc_client::ConnectOptions,
    client: std::cell::RefCell<Option<dotcoin_rpc_client::RpcClient>>,
}

impl RpcNode {
    /// A node reached with `options`.
    pub fn new(options: dotcoin_rpc_client::ConnectOptions) -> RpcNode {
        RpcNode {
            options,
            client: std::cell::RefCell::new(None),
        }
    }

    fn client(&self) -> Result<dotcoin_rpc_client::RpcClient, NodeError> {
        if let Some(client) = self.client.borrow().as_ref() {
            return Ok(client.clone());
        }
        let client = dotcoin_rpc_client::RpcClient::new(&self.options).map_err(rpc_error)?;
        *self.client.borrow_mut() = Some(client.clone());
        Ok(client)
    }
}

fn rpc_error(e: dotcoin_rpc_client::RpcError) -> NodeError {
    match e {
        dotcoin_rpc_client::RpcError::Rpc { code, message } => NodeError {
            code: Some(code),
            message,
        },
        other => NodeError {
            code: None,
            message: other.to_string(),
        },
    }
}

impl NodeApi for RpcNode {
    async fn call(&self, method: &str, params: Value) -> Result<Value, NodeError> {
        // The client is cloned out of the cell so no borrow is held across the await.
        let client = self.client()?;
        client.call(method, params).await.map_err(rpc_error)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    //! A scripted node for unit tests of the commands.

    use std::cell::RefCell;
    use std::collections::HashMap;

    use super::*;

    /// Answers from a table; records every call.
    #[derive(Debug, Default)]
    pub(crate) struct FakeNode {
        pub answers: HashMap<String, Value>,
        pub errors: HashMap<String, NodeError>,
        pub calls: RefCell<Vec<(String, Value)>>,
    }

    impl NodeApi for FakeNode {
        async fn call(&self, method: &str, params: Value) -> Result<Value, NodeError> {
            self.calls
                .borrow_mut()
                .push((method.to_owned(), params.clone()));
            if let Some(e) = self.errors.get(method) {
                return Err(e.clone());
            }
            if method == "getrawtransaction" {
                let txid = params[0].as_str().unwrap_or_default();
                if let Some(v) = self.answers.get(&format!("getrawtransaction {txid}")) {
                    return Ok(v.clone());
                }
            }
            self.answers.get(method).cloned().ok_or_else(|| NodeError {
                code: Some(-32601),
                message: format!("Method not found: {method}"),
            })
        }
    }

    #[test]
    fn errors_map_to_wallet_errors() {
        let e: WalletError = NodeError {
            code: Some(-26),
            message: "min relay fee not met".into(),
        }
        .into();
        assert_eq!(
            e.to_string(),
            "node returned error -26: min relay fee not met"
        );
        let e: WalletError = NodeError {
            code: None,
            message: "cannot connect to 127.0.0.1:18632".into(),
        }
        .into();
        assert_eq!(e.to_string(), "node: cannot connect to 127.0.0.1:18632");
    }
}
