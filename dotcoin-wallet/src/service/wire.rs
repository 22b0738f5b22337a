//! The HTTP side of the wallet service, done once for every method: Basic authentication
//! against the service's cookie, the wallet endpoint (`/` or `/wallet/<name>`, as Core's
//! multiwallet RPC), and Bitcoin Core's two reply dialects.
//!
//! It follows `dotcoind`'s `rpc::compat`, with the reply shapes both share in
//! `dotcoin_common::rpc_wire`, and adds the endpoint and the duplicate-key check:
//! - a request without `"jsonrpc": "2.0"` gets the legacy reply `{"result", "error", "id"}`
//!   with HTTP 500 for an error, 404 for an unknown method; a 2.0 request gets a 2.0 reply
//!   with HTTP 200, none for a notification; a batch is answered element by element;
//! - named parameters become positional by the method's table ([`super::methods`]);
//! - an object with the same key twice is refused with -8 before anything runs, so
//!   `sendmany` never silently pays the last of two amounts to one address;
//! - each element goes to jsonrpsee as a 2.0 call whose params are `[endpoint wallet,
//!   [positional params]]`, and its result is copied as raw text (8-decimal amounts stay).

use std::collections::HashSet;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http_body_util::BodyExt;
use jsonrpsee::server::{HttpBody, HttpRequest, HttpResponse};
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;
use tower::{Layer, Service};
use tracing::{debug, Instrument};

use dotcoin_common::rpc_wire::{
    self, constant_time_eq, refuse, reply, Dialect, ErrorCode, InnerReply, Reply, INTERNAL_ERROR,
    INVALID_REQUEST, METHOD_NOT_FOUND, PARSE_ERROR,
};

use super::methods;

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

const MAX_BODY: usize = 4 * 1024 * 1024;
const MAX_REPLY: usize = 64 * 1024 * 1024;
/// Most calls in one batch.
pub const MAX_BATCH: usize = 1000;

const INVALID_PARAMETER: i32 = -8;

/// Adds [`WireService`] around the RPC service.
#[derive(Debug, Clone)]
pub struct WireLayer {
    expected: Arc<String>,
}

impl WireLayer {
    /// Accepts requests whose Basic credentials are `user:password`.
    pub fn new(user: &str, password: &str) -> WireLayer {
        WireLayer {
            expected: Arc::new(dotcoin_rpc_client::auth::basic_auth_header(user, password)),
        }
    }
}

impl<S> Layer<S> for WireLayer {
    type Service = WireService<S>;
    fn layer(&self, inner: S) -> WireService<S> {
        WireService {
            inner,
            expected: Arc::clone(&self.expected),
        }
    }
}

/// Checks credentials and the endpoint, then answers in Core's wire format.
#[derive(Debug, Clone)]
pub struct WireService<S> {
    inner: S,
    expected: Arc<String>,
}

fn plain(status: http::StatusCode, body: &str) -> HttpResponse {
    let mut builder = http::Response::builder().status(status);
    if status == http::StatusCode::UNAUTHORIZED {
        builder = builder.header(http::header::WWW_AUTHENTICATE, "Basic realm=\"jsonrpc\"");
    }
    builder
        .body(HttpBody::from(body.to_owned()))
        .expect("a status and static headers are well-formed")
}

/// The wallet a URI path names: `/` is none, `/wallet/<name>` (percent-decoded) one.
/// `Err` for any other path.
fn endpoint(path: &str) -> Result<Option<String>, ()> {
    if path == "/" || path.is_empty() {
        return Ok(None);
    }
    let Some(encoded) = path.strip_prefix("/wallet/") else {
        return Err(());
    };
    let bytes = encoded.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = encoded.get(i + 1..i + 3).ok_or(())?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| ())?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map(Some).map_err(|_| ())
}

impl<S> Service<HttpRequest> for WireService<S>
where
    S: Service<HttpRequest, Response = HttpResponse, Error = BoxError> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = HttpResponse;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: HttpRequest) -> Self::Future {
        let authorized = req
            .headers()
            .get(http::header::AUTHORIZATION)
            .is_some_and(|v| constant_time_eq(v.as_bytes(), self.expected.as_bytes()));
        if !authorized {
            debug!(target: "rpc", "rejected request with missing or wrong credentials");
            return Box::pin(async { Ok(plain(http::StatusCode::UNAUTHORIZED, "")) });
        }
        if req.method() != http::Method::POST {
            return Box::pin(async {
                Ok(plain(
                    http::StatusCode::METHOD_NOT_ALLOWED,
                    "JSONRPC server handles only POST requests",
                ))
            });
        }
        let Ok(wallet) = endpoint(req.uri().path()) else {
            return Box::pin(async { Ok(plain(http::StatusCode::NOT_FOUND, "")) });
        };
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            let (parts, body) = req.into_parts();
            let bytes = match http_body_util::Limited::new(body, MAX_BODY).collect().await {
                Ok(c) => c.to_bytes(),
                Err(e) => {
                    return Ok(plain(
                        http::StatusCode::BAD_REQUEST,
                        &format!("cannot read request body: {e}"),
                    ))
                }
            };
            let span = tracing::debug_span!(target: "rpc", "rpc", wallet = wallet.as_deref().unwrap_or(""));
            // Only method names are logged, never parameters: they hold passphrases and keys.
            async move { Ok(serve(inner, parts, wallet, &bytes).await) }
                .instrument(span)
                .await
        })
    }
}

/// The first key that appears twice in one object anywhere in `raw`, if any.
pub fn first_duplicate_key(raw: &str) -> Option<String> {
    struct Finder<'a>(&'a mut Option<String>);

    impl<'de> DeserializeSeed<'de> for Finder<'_> {
        type Value = ();
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_any(self)
        }
    }

    impl<'de> Visitor<'de> for Finder<'_> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("JSON")
        }
        fn visit_bool<E>(self, _: bool) -> Result<(), E> {
            Ok(())
        }
        fn visit_i64<E>(self, _: i64) -> Result<(), E> {
            Ok(())
        }
        fn visit_u64<E>(self, _: u64) -> Result<(), E> {
            Ok(())
        }
        fn visit_f64<E>(self, _: f64) -> Result<(), E> {
            Ok(())
        }
        fn visit_str<E>(self, _: &str) -> Result<(), E> {
            Ok(())
        }
        fn visit_unit<E>(self) -> Result<(), E> {
            Ok(())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            while seq.next_element_seed(Finder(&mut *self.0))?.is_some() {}
            Ok(())
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            let mut seen = HashSet::new();
            while let Some(key) = map.next_key::<String>()? {
                if self.0.is_none() && !seen.insert(key.clone()) {
                    *self.0 = Some(key);
                }
                map.next_value_seed(Finder(&mut *self.0))?;
            }
            Ok(())
        }
    }

    let mut found = None;
    let mut de = serde_json::Deserializer::from_str(raw);
    let _ = Finder(&mut found).deserialize(&mut de);
    let _ = IgnoredAny::deserialize(&mut de);
    found
}

async fn answer_element<S>(
    inner: S,
    head: &http::request::Parts,
    wallet: &Option<String>,
    raw: &RawValue,
) -> Reply
where
    S: Service<HttpRequest, Response = HttpResponse, Error = BoxError> + Clone,
{
    let Ok(Value::Object(mut obj)) = serde_json::from_str::<Value>(raw.get()) else {
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
    let id = match (dialect, obj.remove("id")) {
        (Dialect::Legacy, None) => Some(Value::Null),
        (_, id) => id,
    };
    let id = id.as_ref();
    let method = match obj.remove("method") {
        Some(Value::String(m)) => m,
        None => return refuse(dialect, id, INVALID_REQUEST, "Missing method"),
        Some(_) => return refuse(dialect, id, INVALID_REQUEST, "Method must be a string"),
    };
    if let Some(key) = first_duplicate_key(raw.get()) {
        let what = if method == "sendmany" {
            "address"
        } else {
            "key"
        };
        let message = format!("Invalid parameter, duplicated {what}: {key}");
        return refuse(dialect, id, INVALID_PARAMETER, &message);
    }
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
    let params = match methods::normalize_params(&method, params) {
        Ok(p) => p,
        Err(f) => return refuse(dialect, id, f.code, &f.message),
    };
    debug!(target: "rpc", %method, "call");

    let call = serde_json::json!({
        "jsonrpc": "2.0", "id": 0, "method": method, "params": [wallet, params],
    });
    let mut head = head.clone();
    head.uri = http::Uri::from_static("/");
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
    let Ok(parsed) = serde_json::from_slice::<InnerReply<'_>>(&body) else {
        return refuse(dialect, id, INTERNAL_ERROR, "Internal error: bad reply");
    };
    match (parsed.result, parsed.error) {
        (_, Some(err)) => match serde_json::from_str::<ErrorCode>(err.get()) {
            Ok(e) if e.code == METHOD_NOT_FOUND => {
                refuse(dialect, id, METHOD_NOT_FOUND, "Method not found")
            }
            Ok(e) => reply(dialect, id, Err((e.code, err.get().to_owned()))),
            Err(_) => refuse(
                dialect,
                id,
                INTERNAL_ERROR,
                "Internal error: bad error object",
            ),
        },
        (Some(result), None) => reply(dialect, id, Ok(result.get())),
        (None, None) => reply(dialect, id, Ok("null")),
    }
}

/// The HTTP status of a single (non-batch) reply, as Core sets it.
fn single_status(v2: bool, error: Option<i32>) -> http::StatusCode {
    http::StatusCode::from_u16(rpc_wire::status_code(v2, error))
        .expect("Core's statuses are valid HTTP statuses")
}

fn json_response(status: http::StatusCode, body: String) -> HttpResponse {
    http::Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(HttpBody::from(body))
        .expect("a status and a static header are well-formed")
}

async fn serve<S>(
    inner: S,
    head: http::request::Parts,
    wallet: Option<String>,
    body: &[u8],
) -> HttpResponse
where
    S: Service<HttpRequest, Response = HttpResponse, Error = BoxError> + Clone,
{
    let parse_error = |message: &str| {
        let r = refuse(Dialect::Legacy, None, PARSE_ERROR, message);
        json_response(
            http::StatusCode::INTERNAL_SERVER_ERROR,
            r.text.unwrap_or_default(),
        )
    };
    let text = match std::str::from_utf8(body) {
        Ok(t) => t.trim(),
        Err(_) => return parse_error("Parse error"),
    };
    if text.starts_with('[') {
        let Ok(elements) = serde_json::from_str::<Vec<&RawValue>>(text) else {
            return parse_error("Parse error");
        };
        if elements.len() > MAX_BATCH {
            let message = format!(
                "The batch request was too large: {} calls, at most {MAX_BATCH}",
                elements.len()
            );
            let r = refuse(Dialect::V2, Some(&Value::Null), -32010, &message);
            return json_response(http::StatusCode::OK, r.text.unwrap_or_default());
        }
        let mut texts = Vec::with_capacity(elements.len());
        for element in &elements {
            if let Some(t) = answer_element(inner.clone(), &head, &wallet, element)
                .await
                .text
            {
                texts.push(t);
            }
        }
        if texts.is_empty() && !elements.is_empty() {
            return plain(http::StatusCode::NO_CONTENT, "");
        }
        return json_response(http::StatusCode::OK, format!("[{}]", texts.join(",")));
    }
    let Ok(element) = serde_json::from_str::<&RawValue>(text) else {
        return parse_error("Parse error");
    };
    if !text.starts_with('{') {
        return parse_error("Top-level object parse error");
    }
    let v2 = serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|v| v.get("jsonrpc").and_then(Value::as_str).map(|s| s == "2.0"))
        .unwrap_or(false);
    let r = answer_element(inner, &head, &wallet, element).await;
    match r.text {
        Some(t) => json_response(single_status(v2, r.error), t),
        None => plain(http::StatusCode::NO_CONTENT, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        assert_eq!(endpoint("/"), Ok(None));
        assert_eq!(endpoint("/wallet/alice"), Ok(Some("alice".into())));
        assert_eq!(endpoint("/wallet/a%20b"), Ok(Some("a b".into())));
        assert_eq!(endpoint("/wallet/"), Ok(Some(String::new())));
        assert_eq!(endpoint("/other"), Err(()));
        assert_eq!(endpoint("/wallet/%zz"), Err(()));
    }

    #[test]
    fn duplicate_keys_are_found_at_any_depth() {
        assert_eq!(first_duplicate_key(r#"{"a":1,"b":2}"#), None);
        assert_eq!(
            first_duplicate_key(r#"{"params":["",{"x":1,"x":2}]}"#),
            Some("x".into())
        );
        assert_eq!(
            first_duplicate_key(r#"[{"a":{"b":1}},{"a":{"b":1,"c":{"d":1,"d":1}}}]"#),
            Some("d".into())
        );
    }
}
