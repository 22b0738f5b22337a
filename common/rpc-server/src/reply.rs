//! Bitcoin Core's JSON-RPC reply shapes: the legacy 1.0/1.1 reply (`result`, `error` and
//! `id`, both of the first two always present) and the strict 2.0 one, and the HTTP status
//! Core gives a single reply. Replies are built as text around the raw result and id, so
//! an amount keeps its 8 decimals and an id comes back exactly as it was sent.

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::codes::{INVALID_REQUEST, METHOD_NOT_FOUND};

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
    /// The dialect it is in.
    pub dialect: Dialect,
    /// The reply's JSON text.
    pub text: Option<String>,
    /// The error code, when the element failed.
    pub error: Option<i32>,
}

impl Reply {
    /// The HTTP status of this reply when it is the whole answer (not in a batch).
    pub fn status(&self) -> http::StatusCode {
        status_code(self.dialect == Dialect::V2, self.error)
    }
}

/// `{"code": …, "message": …}` as JSON text.
pub fn error_object(code: i32, message: &str) -> String {
    serde_json::json!({ "code": code, "message": message }).to_string()
}

/// An element's reply in its dialect, from a raw JSON result or an error (its code and its
/// error object's JSON text). `id` is the raw id text; `None` is "no id", which a legacy
/// reply shows as `null` and which makes a 2.0 request a notification (no reply).
pub fn reply(dialect: Dialect, id: Option<&str>, result: Result<&str, (i32, String)>) -> Reply {
    let error = result.as_ref().err().map(|(c, _)| *c);
    let text = match (dialect, id) {
        (Dialect::Legacy, id) => {
            let id = id.unwrap_or("null");
            Some(match result {
                Ok(r) => format!(r#"{{"result":{r},"error":null,"id":{id}}}"#),
                Err((_, err)) => format!(r#"{{"result":null,"error":{err},"id":{id}}}"#),
            })
        }
        (Dialect::V2, None) => None,
        (Dialect::V2, Some(id)) => Some(match result {
            Ok(r) => format!(r#"{{"jsonrpc":"2.0","result":{r},"id":{id}}}"#),
            Err((_, err)) => format!(r#"{{"jsonrpc":"2.0","error":{err},"id":{id}}}"#),
        }),
    };
    Reply {
        dialect,
        text,
        error,
    }
}

/// A reply for an error found by the wire itself, with Core's message.
pub fn refuse(dialect: Dialect, id: Option<&str>, code: i32, message: &str) -> Reply {
    reply(dialect, id, Err((code, error_object(code, message))))
}

/// What a jsonrpsee server answers for one call, with the result kept as raw text.
#[derive(Debug, Deserialize)]
pub(crate) struct InnerReply<'a> {
    #[serde(borrow, default)]
    pub(crate) result: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub(crate) error: Option<&'a RawValue>,
}

/// The code of an error object.
#[derive(Debug, Deserialize)]
pub(crate) struct ErrorCode {
    pub(crate) code: i32,
}

/// The HTTP status of a single (non-batch) reply, as Core sets it: 200 for every 2.0 reply
/// and for legacy success; for legacy errors 404 (unknown method), 400 (invalid request)
/// or 500.
pub fn status_code(v2: bool, error: Option<i32>) -> http::StatusCode {
    match error {
        _ if v2 => http::StatusCode::OK,
        None => http::StatusCode::OK,
        Some(METHOD_NOT_FOUND) => http::StatusCode::NOT_FOUND,
        Some(INVALID_REQUEST) => http::StatusCode::BAD_REQUEST,
        Some(_) => http::StatusCode::INTERNAL_SERVER_ERROR,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_and_v2_shapes() {
        let r = reply(Dialect::Legacy, Some("\"x\""), Ok("1.00000000"));
        assert_eq!(
            r.text.as_deref(),
            Some(r#"{"result":1.00000000,"error":null,"id":"x"}"#)
        );
        let r = refuse(Dialect::Legacy, None, -8, "bad");
        assert_eq!(
            r.text.as_deref(),
            Some(r#"{"result":null,"error":{"code":-8,"message":"bad"},"id":null}"#)
        );
        assert_eq!(r.error, Some(-8));
        let r = reply(Dialect::V2, Some("3"), Ok("true"));
        assert_eq!(
            r.text.as_deref(),
            Some(r#"{"jsonrpc":"2.0","result":true,"id":3}"#)
        );
        let r = refuse(Dialect::V2, Some("7"), METHOD_NOT_FOUND, "Method not found");
        assert_eq!(
            r.text.as_deref(),
            Some(
                r#"{"jsonrpc":"2.0","error":{"code":-32601,"message":"Method not found"},"id":7}"#
            )
        );
        let r = reply(Dialect::V2, None, Ok("true"));
        assert!(r.text.is_none(), "a 2.0 notification gets no reply");
        assert!(refuse(Dialect::V2, None, -8, "x").text.is_none());
    }

    #[test]
    fn statuses_follow_core() {
        assert_eq!(status_code(false, None), http::StatusCode::OK);
        assert_eq!(
            status_code(false, Some(METHOD_NOT_FOUND)),
            http::StatusCode::NOT_FOUND
        );
        assert_eq!(
            status_code(false, Some(INVALID_REQUEST)),
            http::StatusCode::BAD_REQUEST
        );
        assert_eq!(
            status_code(false, Some(-8)),
            http::StatusCode::INTERNAL_SERVER_ERROR
        );
        assert_eq!(status_code(true, Some(-8)), http::StatusCode::OK);
    }
}
