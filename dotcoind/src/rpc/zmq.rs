//! The zmq call, as in Bitcoin Core: `getzmqnotifications`. dotcoin publishes its events
//! over WebSocket subscriptions, server-sent events, plugins and the notify commands, not
//! ZeroMQ, so the list is always empty, which is Core's answer when no `-zmqpub…` option
//! is set. Answering it (rather than -32601) lets Core clients that probe for ZeroMQ at
//! start-up carry on.

use dotcoin_common::rpc_types::ZmqNotification;
use jsonrpsee::core::RpcResult;
use jsonrpsee::proc_macros::rpc;

/// Zmq calls.
#[rpc(server)]
pub trait ZmqRpc {
    /// The active ZeroMQ notifications: none.
    #[method(name = "getzmqnotifications")]
    fn getzmqnotifications(&self) -> RpcResult<Vec<ZmqNotification>>;
}

/// Implementation of [`ZmqRpcServer`].
#[derive(Debug, Default)]
pub struct ZmqRpcImpl;

impl ZmqRpcServer for ZmqRpcImpl {
    fn getzmqnotifications(&self) -> RpcResult<Vec<ZmqNotification>> {
        Ok(Vec::new())
    }
}
