//! Bitcoin Core's RPC error codes (`src/rpc/protocol.h`), one enum for the node and the
//! wallet service (STYLE item 9), and the JSON-RPC codes the wire itself answers with.

use serde_json::Value;

/// Bitcoin Core's `RPCErrorCode` values that dotcoin's services answer with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum RpcErrorCode {
    /// `RPC_MISC_ERROR`.
    Misc = -1,
    /// `RPC_TYPE_ERROR`: a parameter has the wrong JSON type, or an amount is out of range.
    Type = -3,
    /// `RPC_WALLET_ERROR`.
    Wallet = -4,
    /// `RPC_INVALID_ADDRESS_OR_KEY`: bad address or key, unknown block or transaction.
    InvalidAddressOrKey = -5,
    /// `RPC_WALLET_INSUFFICIENT_FUNDS`: any failure to build the transaction.
    InsufficientFunds = -6,
    /// `RPC_INVALID_PARAMETER`.
    InvalidParameter = -8,
    /// `RPC_CLIENT_NOT_CONNECTED`.
    ClientNotConnected = -9,
    /// `RPC_WALLET_INVALID_LABEL_NAME`.
    InvalidLabel = -11,
    /// `RPC_WALLET_KEYPOOL_RAN_OUT`.
    KeypoolRanOut = -12,
    /// `RPC_WALLET_UNLOCK_NEEDED`.
    UnlockNeeded = -13,
    /// `RPC_WALLET_PASSPHRASE_INCORRECT`.
    PassphraseIncorrect = -14,
    /// `RPC_WALLET_WRONG_ENC_STATE`.
    WrongEncState = -15,
    /// `RPC_WALLET_NOT_FOUND`.
    WalletNotFound = -18,
    /// `RPC_WALLET_NOT_SPECIFIED`.
    WalletNotSpecified = -19,
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
    /// `RPC_WALLET_ALREADY_LOADED`.
    WalletAlreadyLoaded = -35,
    /// `RPC_WALLET_ALREADY_EXISTS`.
    WalletAlreadyExists = -36,
}

/// JSON-RPC's parse error.
pub const PARSE_ERROR: i32 = -32700;
/// JSON-RPC's invalid request.
pub const INVALID_REQUEST: i32 = -32600;
/// JSON-RPC's unknown method.
pub const METHOD_NOT_FOUND: i32 = -32601;
/// JSON-RPC's internal error.
pub const INTERNAL_ERROR: i32 = -32603;
/// jsonrpsee's code for a reply over the size limit, kept so clients see one code.
pub const REPLY_TOO_LARGE: i32 = -32008;
/// jsonrpsee's code for a batch with too many calls.
pub const BATCH_TOO_LARGE: i32 = -32010;
/// jsonrpsee's code for a batch whose replies together are over the size limit.
pub const BATCH_REPLY_TOO_LARGE: i32 = -32011;

/// The name Core's type errors give a JSON value's type
/// ("JSON value of type string is not of expected type number").
pub fn json_type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}
