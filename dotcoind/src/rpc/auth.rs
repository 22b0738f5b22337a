//! HTTP middleware: Basic authentication, JSON-RPC 1.0 compatibility, a span per request.
//!
//! Bitcoin Core clients send `"jsonrpc": "1.0"` (or nothing) and `content-type:
//! text/plain`; jsonrpsee speaks 2.0 and wants `application/json`. The middleware reads the
//! (size-limited) body, marks each request as 2.0, and passes it on, so the same methods
//! answer both. Responses keep jsonrpsee's 2.0 shape, which 1.0 clients read too.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use base64::Engine;
use http_body_util::BodyExt;
use jsonrpsee::server::{HttpBody, HttpRequest, HttpResponse};
use serde_json::Value;
use tower::{Layer, Service};
use tracing::{debug, Instrument};

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

const MAX_BODY: usize = 16 * 1024 * 1024;

/// Adds [`AuthService`] around the RPC service.
#[derive(Debug, Clone)]
pub struct AuthLayer {
    expected: Arc<String>,
}

impl AuthLayer {
    /// Accepts requests whose Basic credentials are `user:password`.
    pub fn new(user: &str, password: &str) -> AuthLayer {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        AuthLayer {
            expected: Arc::new(format!("Basic {token}")),
        }
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = AuthService<S>;
    fn layer(&self, inner: S) -> AuthService<S> {
        AuthService {
            inner,
            expected: Arc::clone(&self.expected),
        }
    }
}

/// Checks credentials and normalises JSON-RPC 1.0 requests.
#[derive(Debug, Clone)]
pub struct AuthService<S> {
    inner: S,
    expected: Arc<String>,
}

/// Compares in time independent of where the first difference is.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn unauthorized() -> HttpResponse {
    http::Response::builder()
        .status(http::StatusCode::UNAUTHORIZED)
        .header(http::header::WWW_AUTHENTICATE, "Basic realm=\"jsonrpc\"")
        .body(HttpBody::from(""))
        .expect("a static response is well-formed")
}

fn bad_request(msg: String) -> HttpResponse {
    http::Response::builder()
        .status(http::StatusCode::BAD_REQUEST)
        .body(HttpBody::from(msg))
        .expect("a static response is well-formed")
}

/// Marks every request of a body as JSON-RPC 2.0; returns the method names for the log.
fn upgrade_to_v2(bytes: &[u8]) -> Option<(Vec<u8>, String)> {
    let mut value: Value = serde_json::from_slice(bytes).ok()?;
    let mut methods = Vec::new();
    let mut fix = |req: &mut Value| {
        if let Some(obj) = req.as_object_mut() {
            obj.insert("jsonrpc".into(), Value::from("2.0"));
            if obj.get("params").is_some_and(Value::is_null) {
                obj.remove("params");
            }
            if let Some(m) = obj.get("method").and_then(Value::as_str) {
                methods.push(m.to_owned());
            }
        }
    };
    match &mut value {
        Value::Array(reqs) => reqs.iter_mut().for_each(&mut fix),
        other => fix(other),
    }
    Some((serde_json::to_vec(&value).ok()?, methods.join(",")))
}

impl<S> Service<HttpRequest> for AuthService<S>
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
            return Box::pin(async { Ok(unauthorized()) });
        }
        // The clone that was polled ready is the one to call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            let (mut parts, body) = req.into_parts();
            let bytes = match http_body_util::Limited::new(body, MAX_BODY).collect().await {
                Ok(c) => c.to_bytes(),
                Err(e) => return Ok(bad_request(format!("cannot read request body: {e}"))),
            };
            let (body, methods) = match upgrade_to_v2(&bytes) {
                Some((b, m)) => (b, m),
                None => (bytes.to_vec(), String::new()),
            };
            parts.headers.insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("application/json"),
            );
            parts.headers.remove(http::header::CONTENT_LENGTH);
            let span = tracing::debug_span!(target: "rpc", "rpc", method = %methods);
            let req = HttpRequest::from_parts(parts, HttpBody::from(body));
            async move {
                let started = std::time::Instant::now();
                let res = inner.call(req).await;
                debug!(target: "rpc", elapsed_us = started.elapsed().as_micros() as u64, "handled");
                res
            }
            .instrument(span)
            .await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upgrades_single_and_batch() {
        let (b, m) =
            upgrade_to_v2(br#"{"jsonrpc":"1.0","id":1,"method":"getblockcount","params":null}"#)
                .expect("valid json");
        let v: Value = serde_json::from_slice(&b).expect("json");
        assert_eq!(v["jsonrpc"], "2.0");
        assert!(v.get("params").is_none());
        assert_eq!(m, "getblockcount");
        let (b, m) =
            upgrade_to_v2(br#"[{"id":1,"method":"a"},{"id":2,"method":"b"}]"#).expect("valid");
        let v: Value = serde_json::from_slice(&b).expect("json");
        assert_eq!(v[1]["jsonrpc"], "2.0");
        assert_eq!(m, "a,b");
    }

    #[test]
    fn constant_time_compare() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
