//! Bitcoin Core's RPC error codes, in one place. Handlers never invent a code: they map
//! their errors through these helpers.

use jsonrpsee::types::ErrorObjectOwned;

/// Bitcoin Core's `RPCErrorCode` values used by dotcoind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum RpcErrorCode {
    /// `RPC_MISC_ERROR`.
    Misc = -1,
    /// `RPC_TYPE_ERROR`: a parameter has the wrong JSON type.
    Type = -3,
    /// `RPC_INVALID_ADDRESS_OR_KEY`: bad address, unknown block or transaction.
    InvalidAddressOrKey = -5,
    /// `RPC_INVALID_PARAMETER`.
    InvalidParameter = -8,
    /// `RPC_CLIENT_NOT_CONNECTED`.
    ClientNotConnected = -9,
    /// `RPC_DATABASE_ERROR`.
    Database = -20,
    /// `RPC_DESERIALIZATION_ERROR`: bytes that do not decode.
    Deserialization = -22,
    /// `RPC_CLIENT_NODE_ALREADY_ADDED`.
    NodeAlreadyAdded = -23,
    /// `RPC_CLIENT_NODE_NOT_ADDED`.
    NodeNotAdded = -24,
    /// `RPC_VERIFY_ERROR`: e.g. missing inputs.
    Verify = -25,
    /// `RPC_VERIFY_REJECTED`: a rule refused the transaction.
    VerifyRejected = -26,
    /// `RPC_VERIFY_ALREADY_IN_CHAIN`.
    AlreadyInChain = -27,
    /// `RPC_CLIENT_NODE_NOT_CONNECTED`.
    NodeNotConnected = -29,
    /// `RPC_CLIENT_INVALID_IP_OR_SUBNET`.
    InvalidIpOrSubnet = -30,
}

/// An error object with `code` and `message`.
pub fn rpc_error(code: RpcErrorCode, message: impl Into<String>) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(code as i32, message.into(), None::<()>)
}

/// An error object with a raw code (for codes computed elsewhere, e.g. mempool rejects).
pub fn rpc_error_code(code: i32, message: impl Into<String>) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(code, message.into(), None::<()>)
}

/// Maps any error to `code` with its message.
pub trait MapRpcError<T> {
    /// Converts the error.
    fn map_rpc(self, code: RpcErrorCode) -> Result<T, ErrorObjectOwned>;
}

impl<T, E: std::fmt::Display> MapRpcError<T> for Result<T, E> {
    fn map_rpc(self, code: RpcErrorCode) -> Result<T, ErrorObjectOwned> {
        self.map_err(|e| rpc_error(code, e.to_string()))
    }
}

/// Turns `None` into an error.
pub trait OkOrRpcError<T> {
    /// `Some(v)` → `Ok(v)`, `None` → the error.
    fn ok_or_rpc(
        self,
        code: RpcErrorCode,
        message: impl Into<String>,
    ) -> Result<T, ErrorObjectOwned>;
}

impl<T> OkOrRpcError<T> for Option<T> {
    fn ok_or_rpc(
        self,
        code: RpcErrorCode,
        message: impl Into<String>,
    ) -> Result<T, ErrorObjectOwned> {
        self.ok_or_else(|| rpc_error(code, message))
    }
}
