//! Util calls, as in Bitcoin Core: `validateaddress`, and the hidden `echo` that clients
//! use to test their connection and parameter passing.

// Core's `echo` takes ten positional parameters, arg0 … arg9; the `rpc` macro's generated
// server function carries all of them.
#![allow(clippy::too_many_arguments)]

use dotcoin_common::rpc_types::ScriptPubKey;
use dotcoin_common::Address;
use jsonrpsee::core::RpcResult;
use jsonrpsee::proc_macros::rpc;
use serde_json::{json, Value};

use super::params::{required, string_param};
use super::RpcContext;

/// Util calls.
#[rpc(server)]
pub trait UtilRpc {
    /// Whether an address is valid for this network, and what it pays.
    #[method(name = "validateaddress")]
    fn validateaddress(&self, address: Option<Value>) -> RpcResult<Value>;
    /// Returns its arguments.
    #[method(name = "echo")]
    fn echo(
        &self,
        arg0: Option<Value>,
        arg1: Option<Value>,
        arg2: Option<Value>,
        arg3: Option<Value>,
        arg4: Option<Value>,
        arg5: Option<Value>,
        arg6: Option<Value>,
        arg7: Option<Value>,
        arg8: Option<Value>,
        arg9: Option<Value>,
    ) -> RpcResult<Vec<Value>>;
}

/// Implementation of [`UtilRpcServer`].
#[derive(Debug)]
pub struct UtilRpcImpl {
    ctx: RpcContext,
}

impl UtilRpcImpl {
    /// A plugin over `ctx`.
    pub fn new(ctx: RpcContext) -> Self {
        UtilRpcImpl { ctx }
    }
}

impl UtilRpcServer for UtilRpcImpl {
    fn validateaddress(&self, address: Option<Value>) -> RpcResult<Value> {
        let address = required(address, "address")?;
        let text = string_param(&address, "address")?;
        let network = self.ctx.chain.params().network;
        Ok(match Address::parse_for(text, network) {
            // An output is locked to a 32-byte x-only key: Core's witness v1 (taproot)
            // program, which is what the address encodes.
            Ok(a) => json!({
                "isvalid": true,
                "address": a.to_string(),
                "scriptPubKey": ScriptPubKey::for_key(&a.pubkey, network).hex,
                "isscript": false,
                "iswitness": true,
                "witness_version": 1,
                "witness_program": a.pubkey.to_string(),
            }),
            // Core names the positions of bech32 errors; the decoder here does not.
            Err(e) => json!({ "isvalid": false, "error_locations": [], "error": e.to_string() }),
        })
    }

    fn echo(
        &self,
        arg0: Option<Value>,
        arg1: Option<Value>,
        arg2: Option<Value>,
        arg3: Option<Value>,
        arg4: Option<Value>,
        arg5: Option<Value>,
        arg6: Option<Value>,
        arg7: Option<Value>,
        arg8: Option<Value>,
        arg9: Option<Value>,
    ) -> RpcResult<Vec<Value>> {
        let mut args: Vec<Value> = [arg0, arg1, arg2, arg3, arg4, arg5, arg6, arg7, arg8, arg9]
            .into_iter()
            .map(|a| a.unwrap_or(Value::Null))
            .collect();
        while args.last().is_some_and(Value::is_null) {
            args.pop();
        }
        Ok(args)
    }
}
