//! Bitcoin Core's JSON-RPC reply shapes, shared by the node's and the wallet service's HTTP
//! layers: the legacy 1.0/1.1 reply (`result`, `error` and `id`, both of the first two
//! always present) and the strict 2.0 one, each element of a batch in its own dialect, and
//! the HTTP status Core gives a single reply. Pure text and JSON; the HTTP plumbing stays
//! with each server.

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

/// JSON-RPC's parse error.
pub const PARSE_ERROR: i32 = -32700;
/// JSON-RPC's invalid request.
pub const INVALID_REQUEST: i32 = -32600;
/// JSON-RPC's unknown method.
pub const METHOD_NOT_FOUND: i32 = -32601;
/// JSON-RPC's internal error.
pub const INTERNAL_ERROR: i32 = -32603;

/// Which reply shape a request element asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// No `"jsonrpc": "2.0"`: Core's legacy reply.
    Legacy,
    /// `"jsonrpc": "2.0"`: a strict 2.0 reply.
    V2,
}

/// One answered element: its JSON text (none for a 2.0 notification) and its error code.
#[derive(Debug)]
pub struct Reply {
    /// The reply's JSON text.
    pub text: Option<String>,
    /// The error code, when the element failed.
    pub error: Option<i32>,
}

/// `{"code": …, "message": …}` as JSON text.
pub fn error_object(code: i32, message: &str) -> String {
    serde_json::json!({ "code": code, "message": message }).to_string()
}

/// An element's reply in its dialect, from a raw JSON result or an error (its code and its
/// error object's JSON text). `id` is `None` only for a 2.0 notification.
pub fn reply(dialect: Dialect, id: Option<&Value>, result: Result<&str, (i32, String)>) -> Reply {
    let (error, text) = match dialect {
        Dialect::Legacy => {
            let id = id.map_or_else(|| "null".to_owned(), Value::to_string);
            match result {
                Ok(r) => (None, format!(r#"{{"result":{r},"error":null,"id":{id}}}"#)),
                Err((code, err)) => (
                    Some(code),
                    format!(r#"{{"result":null,"error":{err},"id":{id}}}"#),
                ),
            }
        }
        Dialect::V2 => {
            let Some(id) = id else {
                return Reply {
                    text: None,
                    error: result.err().map(|(c, _)| c),
                };
            };
            match result {
                Ok(r) => (
                    None,
                    format!(r#"{{"jsonrpc":"2.0","result":{r},"id":{id}}}"#),
                ),
                Err((code, err)) => (
                    Some(code),
                    format!(r#"{{"jsonrpc":"2.0","error":{err},"id":{id}}}"#),
                ),
            }
        }
    };
    Reply {
        text: Some(text),
        error,
    }
}

/// A reply for an error found before any call, with Core's message.
pub fn refuse(dialect: Dialect, id: Option<&Value>, code: i32, message: &str) -> Reply {
    reply(dialect, id, Err((code, error_object(code, message))))
}

/// What a jsonrpsee server answers for one call, with the result kept as raw text (so
/// 8-decimal amounts pass through unchanged).
#[derive(Debug, Deserialize)]
pub struct InnerReply<'a> {
    /// The raw result.
    #[serde(borrow, default)]
    pub result: Option<&'a RawValue>,
    /// The raw error object.
    #[serde(borrow, default)]
    pub error: Option<&'a RawValue>,
}

/// The code of an error object.
#[derive(Debug, Deserialize)]
pub struct ErrorCode {
    /// Its code.
    pub code: i32,
}

/// The HTTP status of a single (non-batch) reply, as Core sets it: 200 for every 2.0 reply
/// and for legacy success; for legacy errors 404 (unknown method), 400 (invalid request)
/// or 500.
pub fn status_code(v2: bool, error: Option<i32>) -> u16 {
    match error {
        _ if v2 => 200,
        None => 200,
        Some(METHOD_NOT_FOUND) => 404,
        Some(INVALID_REQUEST) => 400,
        Some(_) => 500,
    }
}

/// Compares in time independent of where the first difference is (credentials).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_dialects_and_their_statuses() {
        let id = serde_json::json!(7);
        let ok = reply(Dialect::Legacy, Some(&id), Ok("1.50000000"));
        assert_eq!(
            ok.text.as_deref(),
            Some(r#"{"result":1.50000000,"error":null,"id":7}"#)
        );
        let err = refuse(Dialect::V2, Some(&id), METHOD_NOT_FOUND, "Method not found");
        assert_eq!(
            err.text.as_deref(),
            Some(
                r#"{"jsonrpc":"2.0","error":{"code":-32601,"message":"Method not found"},"id":7}"#
            )
        );
        assert!(refuse(Dialect::V2, None, -8, "x").text.is_none());
        assert_eq!(status_code(false, Some(METHOD_NOT_FOUND)), 404);
        assert_eq!(status_code(false, Some(-8)), 500);
        assert_eq!(status_code(true, Some(-8)), 200);
        assert!(constant_time_eq(b"abc", b"abc") && !constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
