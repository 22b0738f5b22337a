//! The service's two plain-HTTP paths beside the RPCs on its port, answered before the
//! Core-wire layer (so without its credentials): `GET /metrics` ([`super::metrics`]) and
//! `POST /faucet` ([`super::faucet`]). Every other request goes on to the wire layer
//! unchanged.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http_body_util::{BodyExt, Limited};
use jsonrpsee::server::{HttpBody, HttpRequest, HttpResponse};
use tower::{Layer, Service};

use super::{faucet, metrics};

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Adds [`Routes`] in front of the wire layer.
#[derive(Debug, Clone)]
pub struct RoutesLayer {
    service: Arc<super::Service>,
}

impl RoutesLayer {
    /// Routes for `service`.
    pub fn new(service: Arc<super::Service>) -> RoutesLayer {
        RoutesLayer { service }
    }
}

impl<S> Layer<S> for RoutesLayer {
    type Service = Routes<S>;
    fn layer(&self, inner: S) -> Routes<S> {
        Routes {
            inner,
            service: Arc::clone(&self.service),
        }
    }
}

/// Answers `/metrics` and `/faucet`; passes the rest to `inner`.
#[derive(Debug, Clone)]
pub struct Routes<S> {
    inner: S,
    service: Arc<super::Service>,
}

fn response(status: u16, content_type: &str, body: String) -> HttpResponse {
    http::Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, content_type)
        .body(HttpBody::from(body))
        .expect("a valid status and header")
}

fn json(status: u16, body: &serde_json::Value) -> HttpResponse {
    response(status, "application/json", format!("{body}\n"))
}

async fn metrics_page(service: Arc<super::Service>) -> HttpResponse {
    let m = metrics::global();
    m.refresh(&service).await;
    match m.render() {
        Ok(text) => response(200, metrics::CONTENT_TYPE, text),
        Err(e) => response(
            500,
            "text/plain; charset=utf-8",
            format!("metrics could not be encoded: {e}\n"),
        ),
    }
}

async fn faucet_request(service: Arc<super::Service>, req: HttpRequest) -> HttpResponse {
    // The accept loop put the client's address there; a request without one (none
    // reaches here so) counts as an unknown client.
    let client = req
        .extensions()
        .get::<dotcoin_rpc_server::serve::PeerAddr>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |p| p.0.ip());
    let body = match Limited::new(req.into_body(), faucet::MAX_BODY)
        .collect()
        .await
    {
        Ok(b) => b.to_bytes(),
        Err(e) => {
            let (status, what) = if e.is::<http_body_util::LengthLimitError>() {
                (413, format!("the body is over {} bytes", faucet::MAX_BODY))
            } else {
                (400, format!("the body could not be read: {e}"))
            };
            metrics::global().faucet_refused("bad_request");
            return json(status, &serde_json::json!({ "error": what }));
        }
    };
    let answer = faucet::answer(&service, client, &body).await;
    let mut resp = json(answer.status, &answer.body);
    if let Some(secs) = answer.retry_after {
        resp.headers_mut()
            .insert(http::header::RETRY_AFTER, http::HeaderValue::from(secs));
    }
    resp
}

impl<S> Service<HttpRequest> for Routes<S>
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
        let service = Arc::clone(&self.service);
        let post = req.method() == http::Method::POST;
        match req.uri().path() {
            "/metrics" if req.method() == http::Method::GET => {
                Box::pin(async move { Ok(metrics_page(service).await) })
            }
            "/faucet" if post => Box::pin(async move { Ok(faucet_request(service, req).await) }),
            path @ ("/metrics" | "/faucet") => {
                let allow = if path == "/metrics" { "GET" } else { "POST" };
                let mut resp = json(
                    405,
                    &serde_json::json!({ "error": format!("{path} answers {allow} only") }),
                );
                resp.headers_mut()
                    .insert(http::header::ALLOW, http::HeaderValue::from_static(allow));
                Box::pin(async move { Ok(resp) })
            }
            _ => {
                // The clone that was polled ready is the one to call.
                let clone = self.inner.clone();
                let mut inner = std::mem::replace(&mut self.inner, clone);
                Box::pin(inner.call(req))
            }
        }
    }
}
