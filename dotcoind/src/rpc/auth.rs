//! HTTP middleware: Basic authentication and a span per request. An authenticated POST
//! body (size-limited) goes to [`super::compat`], which answers it in Bitcoin Core's wire
//! format whatever the client's JSON-RPC version and content type.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use base64::Engine;
use http_body_util::BodyExt;
use jsonrpsee::server::{HttpBody, HttpRequest, HttpResponse};
use tower::{Layer, Service};
use tracing::{debug, Instrument};

use dotcoin_common::rpc_wire::constant_time_eq;

use super::{compat, MAX_BATCH};

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

/// Checks credentials, then answers in Core's wire format.
#[derive(Debug, Clone)]
pub struct AuthService<S> {
    inner: S,
    expected: Arc<String>,
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
            // Anything but a POST (a WebSocket upgrade, a GET) is jsonrpsee's to answer.
            if req.method() != http::Method::POST {
                return inner.call(req).await;
            }
            let (parts, body) = req.into_parts();
            let bytes = match http_body_util::Limited::new(body, MAX_BODY).collect().await {
                Ok(c) => c.to_bytes(),
                Err(e) => return Ok(bad_request(format!("cannot read request body: {e}"))),
            };
            let methods = compat::method_names(&bytes);
            let span = tracing::debug_span!(target: "rpc", "rpc", method = %methods);
            async move {
                let started = std::time::Instant::now();
                let res = compat::serve(inner, parts, &bytes, MAX_BATCH as usize).await;
                debug!(target: "rpc", elapsed_us = started.elapsed().as_micros() as u64, "handled");
                Ok(res)
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
    fn constant_time_compare() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
