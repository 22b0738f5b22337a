//! Bitcoin Core's JSON-RPC wire format, done once at the HTTP level for every method
//! (including methods added by plugins further in).
//!
//! jsonrpsee speaks strict JSON-RPC 2.0; Core speaks two dialects and clients rely on
//! the difference (Core's `doc/JSON-RPC-interface.md`):
//! - a request without `"jsonrpc": "2.0"` (1.0 and 1.1 clients) gets the legacy reply,
//!   `{"result": …, "error": null, "id": …}` or `{"result": null, "error": {…}, "id": …}`,
//!   with HTTP 500 for an error, 404 for an unknown method and 400 for a malformed
//!   request; a legacy request without `id` is answered with `"id": null`;
//! - a 2.0 request gets a strict 2.0 reply with HTTP 200; one without `id` is a
//!   notification: it runs and gets no reply (HTTP 204);
//! - a batch is answered element by element by those rules, with HTTP 200.
//!
//! Each element goes to jsonrpsee as its own 2.0 call with an id of our own, and its
//! reply is rewritten into the element's dialect with the caller's id, which may be any
//! JSON value as in Core. Results are copied as raw JSON text, never re-parsed into
//! numbers, so an amount keeps its 8 decimals. Before the call, the parameters are held
//! against the method's definition ([`super::spec`]): unknown names and surplus
//! positions are refused with `-8` naming them, and named parameters become positional.

use std::future::poll_fn;

use http_body_util::BodyExt;
use jsonrpsee::server::{HttpBody, HttpRequest, HttpResponse};
use serde_json::Value;
use tower::Service;

use dotcoin_common::rpc_wire::{
    self, refuse, reply, Dialect, ErrorCode, InnerReply, Reply, INTERNAL_ERROR, INVALID_REQUEST,
    METHOD_NOT_FOUND, PARSE_ERROR,
};

use super::spec;

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// jsonrpsee's code for a batch over the limit, kept so clients see the same error.
const BATCH_TOO_LARGE: i32 = -32010;

/// Most bytes of one element's reply read back from jsonrpsee (its own response limit).
const MAX_REPLY: usize = 64 * 1024 * 1024;

/// Calls the wallet holds, not the node: asked of the node they are refused with a
/// pointer to the wallet program instead of a bare "Method not found".
pub const WALLET_METHODS: &[&str] = &[
    "abandontransaction",
    "backupwallet",
    "bumpfee",
    "createwallet",
    "dumpprivkey",
    "dumpwallet",
    "encryptwallet",
    "getaddressinfo",
    "getbalance",
    "getbalances",
    "getnewaddress",
    "getrawchangeaddress",
    "getreceivedbyaddress",
    "gettransaction",
    "getwalletinfo",
    "importprivkey",
    "listaddressgroupings",
    "listreceivedbyaddress",
    "listsinceblock",
    "listtransactions",
    "listunspent",
    "listwallets",
    "loadwallet",
    "sendmany",
    "sendtoaddress",
    "settxfee",
    "signmessage",
    "signrawtransactionwithwallet",
    "unloadwallet",
    "walletpassphrase",
];

/// The calls being answered now, for `getrpcinfo`: id → (method, start).
static ACTIVE: std::sync::Mutex<std::collections::BTreeMap<u64, (String, std::time::Instant)>> =
    std::sync::Mutex::new(std::collections::BTreeMap::new());
static NEXT_CALL: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// A call listed in [`ACTIVE`] while it lives.
struct ActiveCall(u64);

impl ActiveCall {
    fn start(method: &str) -> ActiveCall {
        let id = NEXT_CALL.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        ACTIVE
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, (method.to_owned(), std::time::Instant::now()));
        ActiveCall(id)
    }
}

impl Drop for ActiveCall {
    fn drop(&mut self) {
        ACTIVE
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.0);
    }
}

/// The calls being answered now, oldest first, with how long each has run.
pub fn active_commands() -> Vec<(String, std::time::Duration)> {
    ACTIVE
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .values()
        .map(|(m, t)| (m.clone(), t.elapsed()))
        .collect()
}

/// Runs one request element through `inner` and answers it in the element's dialect.
async fn answer_element<S>(inner: S, head: &http::request::Parts, element: Value) -> Reply
where
    S: Service<HttpRequest, Response = HttpResponse, Error = BoxError> + Clone,
{
    let Value::Object(mut obj) = element else {
        return refuse(
            Dialect::Legacy,
            None,
            INVALID_REQUEST,
            "Invalid Request object",
        );
    };
    let dialect = match obj.get("jsonrpc") {
        Some(Value::String(v)) if v == "2.0" => Dialect::V2,
        None | Some(Value::Null) => Dialect::Legacy,
        Some(Value::String(v)) if v == "1.0" || v == "1.1" => Dialect::Legacy,
        Some(_) => {
            return refuse(
                Dialect::Legacy,
                obj.get("id"),
                INVALID_REQUEST,
                "JSON-RPC version not supported",
            )
        }
    };
    // A 2.0 request without id is a notification; a legacy one is answered with id null.
    let id = obj.remove("id");
    let id = match (dialect, id) {
        (Dialect::Legacy, None) => Some(Value::Null),
        (_, id) => id,
    };
    let id = id.as_ref();
    let method = match obj.remove("method") {
        Some(Value::String(m)) => m,
        None => return refuse(dialect, id, INVALID_REQUEST, "Missing method"),
        Some(_) => return refuse(dialect, id, INVALID_REQUEST, "Method must be a string"),
    };
    let params = match obj.remove("params") {
        None | Some(Value::Null) => Value::Array(Vec::new()),
        Some(p @ (Value::Array(_) | Value::Object(_))) => p,
        Some(_) => {
            return refuse(
                dialect,
                id,
                INVALID_REQUEST,
                "Params must be an array or object",
            )
        }
    };
    let params = match spec::normalize_params(&method, params) {
        Ok(p) => p,
        Err((code, message)) => return refuse(dialect, id, code, &message),
    };

    let _active = ActiveCall::start(&method);
    let call = serde_json::json!({"jsonrpc": "2.0", "id": 0, "method": method, "params": params});
    let mut head = head.clone();
    head.headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    head.headers.remove(http::header::CONTENT_LENGTH);
    let request = HttpRequest::from_parts(head, HttpBody::from(call.to_string()));
    let mut service = inner;
    let response = match poll_fn(|cx| service.poll_ready(cx)).await {
        Ok(()) => service.call(request).await,
        Err(e) => Err(e),
    };
    let body = match response {
        Ok(r) => http_body_util::Limited::new(r.into_body(), MAX_REPLY)
            .collect()
            .await
            .map(|c| c.to_bytes()),
        Err(e) => Err(e),
    };
    let body = match body {
        Ok(b) => b,
        Err(e) => return refuse(dialect, id, INTERNAL_ERROR, &format!("Internal error: {e}")),
    };
    let parsed: InnerReply<'_> = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(_) => {
            let text = String::from_utf8_lossy(&body);
            return refuse(
                dialect,
                id,
                INTERNAL_ERROR,
                &format!("Internal error: {}", text.trim()),
            );
        }
    };
    match (parsed.result, parsed.error) {
        (_, Some(err)) => {
            let Ok(e) = serde_json::from_str::<ErrorCode>(err.get()) else {
                return refuse(
                    dialect,
                    id,
                    INTERNAL_ERROR,
                    "Internal error: bad error object",
                );
            };
            if e.code == METHOD_NOT_FOUND && WALLET_METHODS.contains(&method.as_str()) {
                let message = format!(
                    "Method not found ({method} is a wallet call: dotcoind holds no keys; \
                     ask the wallet service, `dotcoin-wallet serve`, on the RPC port + 3 \
                     (dotcoin-cli sends wallet calls there))"
                );
                return refuse(dialect, id, METHOD_NOT_FOUND, &message);
            }
            reply(dialect, id, Err((e.code, err.get().to_owned())))
        }
        (Some(result), None) => reply(dialect, id, Ok(result.get())),
        (None, None) => reply(dialect, id, Ok("null")),
    }
}

/// The HTTP status of a single (non-batch) reply, as Core sets it.
fn single_status(dialect_v2: bool, error: Option<i32>) -> http::StatusCode {
    http::StatusCode::from_u16(rpc_wire::status_code(dialect_v2, error))
        .expect("Core's statuses are valid HTTP statuses")
}

fn json_response(status: http::StatusCode, body: String) -> HttpResponse {
    http::Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(HttpBody::from(body))
        .expect("a status and a static header are well-formed")
}

fn no_content() -> HttpResponse {
    http::Response::builder()
        .status(http::StatusCode::NO_CONTENT)
        .body(HttpBody::from(""))
        .expect("a status is well-formed")
}

/// Method names of a body, for the request's log span.
pub fn method_names(body: &[u8]) -> String {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return String::new();
    };
    let name = |v: &Value| v.get("method").and_then(Value::as_str).map(str::to_owned);
    match &value {
        Value::Array(a) => a.iter().filter_map(name).collect::<Vec<_>>().join(","),
        other => name(other).unwrap_or_default(),
    }
}

/// Answers a POST body (already authenticated and size-limited) as Core would.
pub async fn serve<S>(
    inner: S,
    head: http::request::Parts,
    body: &[u8],
    max_batch: usize,
) -> HttpResponse
where
    S: Service<HttpRequest, Response = HttpResponse, Error = BoxError> + Clone,
{
    let value: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(_) => {
            let r = refuse(Dialect::Legacy, None, PARSE_ERROR, "Parse error");
            return json_response(
                http::StatusCode::INTERNAL_SERVER_ERROR,
                r.text.unwrap_or_default(),
            );
        }
    };
    match value {
        Value::Array(elements) => {
            if elements.len() > max_batch {
                let message = format!(
                    "The batch request was too large: {} calls, at most {max_batch}",
                    elements.len()
                );
                let r = refuse(Dialect::V2, Some(&Value::Null), BATCH_TOO_LARGE, &message);
                return json_response(http::StatusCode::OK, r.text.unwrap_or_default());
            }
            let mut texts = Vec::with_capacity(elements.len());
            for element in elements {
                if let Some(text) = answer_element(inner.clone(), &head, element).await.text {
                    texts.push(text);
                }
            }
            if texts.is_empty() && !body.trim_ascii().eq(b"[]".as_slice()) {
                // Every element was a 2.0 notification.
                return no_content();
            }
            json_response(http::StatusCode::OK, format!("[{}]", texts.join(",")))
        }
        element @ Value::Object(_) => {
            let v2 = element.get("jsonrpc").and_then(Value::as_str) == Some("2.0");
            let r = answer_element(inner.clone(), &head, element).await;
            match r.text {
                Some(text) => json_response(single_status(v2, r.error), text),
                None => no_content(),
            }
        }
        _ => {
            let r = refuse(
                Dialect::Legacy,
                None,
                PARSE_ERROR,
                "Top-level object parse error",
            );
            json_response(
                http::StatusCode::INTERNAL_SERVER_ERROR,
                r.text.unwrap_or_default(),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_and_v2_shapes() {
        let id = Value::from("x");
        let r = reply(Dialect::Legacy, Some(&id), Ok("1.00000000"));
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
        let r = reply(Dialect::V2, Some(&Value::from(3)), Ok("true"));
        assert_eq!(
            r.text.as_deref(),
            Some(r#"{"jsonrpc":"2.0","result":true,"id":3}"#)
        );
        let r = reply(Dialect::V2, None, Ok("true"));
        assert!(r.text.is_none(), "a 2.0 notification gets no reply");
    }

    #[test]
    fn statuses_follow_core() {
        assert_eq!(single_status(false, None), http::StatusCode::OK);
        assert_eq!(
            single_status(false, Some(METHOD_NOT_FOUND)),
            http::StatusCode::NOT_FOUND
        );
        assert_eq!(
            single_status(false, Some(-8)),
            http::StatusCode::INTERNAL_SERVER_ERROR
        );
        assert_eq!(single_status(true, Some(-8)), http::StatusCode::OK);
    }
}
