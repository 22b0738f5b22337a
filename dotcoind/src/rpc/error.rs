//! Bitcoin Core's RPC error codes and the helpers that map errors to them. Handlers never
//! invent a code: they map their errors through these helpers.

use jsonrpsee::types::ErrorObjectOwned;

/// Bitcoin Core's `RPCErrorCode` values: one enum for the node and the wallet service,
/// kept with the wire they travel on.
pub use dotcoin_rpc_server::RpcErrorCode;

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
