//! Util calls, as in Bitcoin Core: `validateaddress`, and the hidden `echo` that clients
//! use to test their connection and parameter passing.

// Core's `echo` takes ten positional parameters, arg0 … arg9; the `rpc` macro's generated
// server function carries all of them.
#![allow(clippy::too_many_arguments)]

use dotcoin_common::rpc_types::{ScriptPubKey, ValidateAddressResult};
use dotcoin_common::Address;
use dotcoin_rpc_server::arg::{AnyJson, Text};
use jsonrpsee::core::RpcResult;
use jsonrpsee::proc_macros::rpc;
use serde_json::Value;

use super::RpcContext;

/// Util calls.
#[rpc(server)]
pub trait UtilRpc {
    /// Whether an address is valid for this network, and what it pays.
    #[method(name = "validateaddress")]
    fn validateaddress(&self, address: Text) -> RpcResult<ValidateAddressResult>;
    /// Returns its arguments.
    #[method(name = "echo")]
    fn echo(
        &self,
        arg0: Option<AnyJson>,
        arg1: Option<AnyJson>,
        arg2: Option<AnyJson>,
        arg3: Option<AnyJson>,
        arg4: Option<AnyJson>,
        arg5: Option<AnyJson>,
        arg6: Option<AnyJson>,
        arg7: Option<AnyJson>,
        arg8: Option<AnyJson>,
        arg9: Option<AnyJson>,
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
    fn validateaddress(&self, address: Text) -> RpcResult<ValidateAddressResult> {
        let network = self.ctx.chain.params().network;
        Ok(match Address::parse_for(&address, network) {
            // An output is locked to a 32-byte x-only key: Core's witness v1 (taproot)
            // program, which is what the address encodes.
            Ok(a) => ValidateAddressResult {
                isvalid: true,
                address: Some(a.to_string()),
                script_pub_key: Some(ScriptPubKey::for_key(&a.pubkey, network).hex),
                isscript: Some(false),
                iswitness: Some(true),
                witness_version: Some(1),
                witness_program: Some(a.pubkey.to_string()),
                error_locations: None,
                error: None,
            },
            // Core names the positions of bech32 errors; the decoder here does not.
            Err(e) => ValidateAddressResult {
                isvalid: false,
                address: None,
                script_pub_key: None,
                isscript: None,
                iswitness: None,
                witness_version: None,
                witness_program: None,
                error_locations: Some(Vec::new()),
                error: Some(e.to_string()),
            },
        })
    }

    fn echo(
        &self,
        arg0: Option<AnyJson>,
        arg1: Option<AnyJson>,
        arg2: Option<AnyJson>,
        arg3: Option<AnyJson>,
        arg4: Option<AnyJson>,
        arg5: Option<AnyJson>,
        arg6: Option<AnyJson>,
        arg7: Option<AnyJson>,
        arg8: Option<AnyJson>,
        arg9: Option<AnyJson>,
    ) -> RpcResult<Vec<Value>> {
        let mut args: Vec<Value> = [arg0, arg1, arg2, arg3, arg4, arg5, arg6, arg7, arg8, arg9]
            .into_iter()
            .map(|a| a.map_or(Value::Null, |a| a.0))
            .collect();
        while args.last().is_some_and(Value::is_null) {
            args.pop();
        }
        Ok(args)
    }
}
