//! The tower middleware in front of a jsonrpsee server that makes it speak Bitcoin Core's
//! wire (Core's `doc/JSON-RPC-interface.md`). jsonrpsee speaks strict JSON-RPC 2.0; Core
//! speaks two dialects and clients rely on the difference:
//! - a request without `"jsonrpc": "2.0"` (1.0 and 1.1 clients) gets the legacy reply,
//!   `{"result": …, "error": null, "id": …}` or `{"result": null, "error": {…}, "id": …}`,
//!   with HTTP 500 for an error, 404 for an unknown method and 400 for a malformed
//!   request; a legacy request without `id` is answered with `"id": null`;
//! - a 2.0 request gets a strict 2.0 reply with HTTP 200; one without `id` is a
//!   notification: it runs and gets no reply (HTTP 204);
//! - a batch is answered element by element by those rules, with HTTP 200.
//!
//! Each element goes to jsonrpsee as its own 2.0 call with an id of our own, and its reply
//! is rewritten into the element's dialect with the caller's id, which may be any JSON
//! value as in Core. Results are copied as raw JSON text, never re-parsed into numbers, so
//! an amount keeps its 8 decimals.
//!
//! Limits: the body ([`WireConfig::max_body`], 413 beyond it), the calls of a batch
//! (counted while parsing), and the bytes of the whole answer ([`WireConfig::max_reply`]):
//! each inner reply is read only up to what is left of it, and a batch that runs out
//! stops there and is answered with one error instead of the replies gathered so far.

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http_body_util::BodyExt;
use jsonrpsee::server::{HttpBody, HttpRequest, HttpResponse};
use serde_json::value::RawValue;
use serde_json::Value;
use tower::{Layer, Service};
use tracing::{debug, Instrument};

use crate::active::ActiveCall;
use crate::auth::Credentials;
use crate::codes::{
    BATCH_REPLY_TOO_LARGE, BATCH_TOO_LARGE, INTERNAL_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND,
    PARSE_ERROR, REPLY_TOO_LARGE,
};
use crate::params::{normalize_params, MethodTable};
use crate::reply::{refuse, reply, Dialect, ErrorCode, InnerReply, Reply};
use crate::request::{parse_body, Body, BodyError, Element};

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A service's limits and options.
#[derive(Debug, Clone)]
pub struct WireConfig {
    /// Most bytes of a request body.
    pub max_body: usize,
    /// Most calls in one batch; a larger batch is refused whole (-32010).
    pub max_batch: usize,
    /// Most bytes of one answer, all the replies of a batch together.
    pub max_reply: usize,
    /// Core's multiwallet endpoints: `/` and `/wallet/<name>` are served (the name goes
    /// to the methods as an [`Endpoint`] extension), any other path is 404. Without it
    /// every path is served alike.
    pub wallet_endpoints: bool,
    /// Requests other than POST (a WebSocket upgrade) go on to jsonrpsee; without it
    /// they get 405.
    pub pass_non_post: bool,
    /// Wallet calls that a service without wallets answers with a pointer to the wallet
    /// service instead of a bare "Method not found".
    pub wallet_methods: &'static [&'static str],
    /// Bitcoin Core's other wallet calls, which the wallet service does not offer (yet):
    /// a service without wallets says so instead of a bare "Method not found".
    pub core_wallet_methods: &'static [&'static str],
}

/// The wallet a request's path names (`/wallet/<name>`, percent-decoded), or `None` for
/// `/`; a jsonrpsee method reads it from its `Extensions`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint(pub Option<String>);

impl Endpoint {
    /// The endpoint of a URI path; `Err` for a path that is neither `/` nor a wallet's.
    fn of_path(path: &str) -> Result<Endpoint, ()> {
        if path == "/" || path.is_empty() {
            return Ok(Endpoint(None));
        }
        let encoded = path.strip_prefix("/wallet/").ok_or(())?;
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
        String::from_utf8(out)
            .map(|n| Endpoint(Some(n)))
            .map_err(|_| ())
    }
}

#[derive(Debug)]
struct Shared<T> {
    table: T,
    credentials: Credentials,
    config: WireConfig,
}

/// Adds [`CoreWireService`] around a jsonrpsee server's service.
#[derive(Debug)]
pub struct CoreWireLayer<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Clone for CoreWireLayer<T> {
    fn clone(&self) -> Self {
        CoreWireLayer {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<T: MethodTable> CoreWireLayer<T> {
    /// The wire for a service with `table`, accepting `credentials`.
    pub fn new(table: T, credentials: Credentials, config: WireConfig) -> CoreWireLayer<T> {
        CoreWireLayer {
            shared: Arc::new(Shared {
                table,
                credentials,
                config,
            }),
        }
    }
}

impl<S, T> Layer<S> for CoreWireLayer<T> {
    type Service = CoreWireService<S, T>;
    fn layer(&self, inner: S) -> CoreWireService<S, T> {
        CoreWireService {
            inner,
            shared: Arc::clone(&self.shared),
        }
    }
}

/// Checks credentials, then answers in Core's wire format.
#[derive(Debug)]
pub struct CoreWireService<S, T> {
    inner: S,
    shared: Arc<Shared<T>>,
}

impl<S: Clone, T> Clone for CoreWireService<S, T> {
    fn clone(&self) -> Self {
        CoreWireService {
            inner: self.inner.clone(),
            shared: Arc::clone(&self.shared),
        }
    }
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

fn json_response(status: http::StatusCode, body: String) -> HttpResponse {
    http::Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(HttpBody::from(body))
        .expect("a status and a static header are well-formed")
}

/// A reply as the whole answer: its status, or 204 for a notification.
fn single_response(r: Reply) -> HttpResponse {
    let status = r.status();
    match r.text {
        Some(text) => json_response(status, text),
        None => plain(http::StatusCode::NO_CONTENT, ""),
    }
}

impl<S, T> Service<HttpRequest> for CoreWireService<S, T>
where
    S: Service<HttpRequest, Response = HttpResponse, Error = BoxError> + Clone + Send + 'static,
    S::Future: Send + 'static,
    T: MethodTable,
{
    type Response = HttpResponse;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: HttpRequest) -> Self::Future {
        let shared = Arc::clone(&self.shared);
        if !shared
            .credentials
            .accepts(req.headers().get(http::header::AUTHORIZATION))
        {
            debug!(target: "rpc", "rejected request with missing or wrong credentials");
            return Box::pin(async { Ok(plain(http::StatusCode::UNAUTHORIZED, "")) });
        }
        // The clone that was polled ready is the one to call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        if req.method() != http::Method::POST {
            if shared.config.pass_non_post {
                return Box::pin(inner.call(req));
            }
            return Box::pin(async {
                Ok(plain(
                    http::StatusCode::METHOD_NOT_ALLOWED,
                    "JSONRPC server handles only POST requests",
                ))
            });
        }
        let endpoint = if shared.config.wallet_endpoints {
            match Endpoint::of_path(req.uri().path()) {
                Ok(e) => e,
                Err(()) => return Box::pin(async { Ok(plain(http::StatusCode::NOT_FOUND, "")) }),
            }
        } else {
            Endpoint(None)
        };
        let limit = shared.config.max_body;
        let declared = req
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit as u64) {
            // Refused before a byte of it is read: hyper closes the connection rather
            // than drain the rest.
            return Box::pin(async move {
                Ok(plain(
                    http::StatusCode::PAYLOAD_TOO_LARGE,
                    &format!("request body over {limit} bytes"),
                ))
            });
        }
        Box::pin(async move {
            let (mut head, body) = req.into_parts();
            let bytes = match http_body_util::Limited::new(body, limit).collect().await {
                Ok(c) => c.to_bytes(),
                Err(e) if e.is::<http_body_util::LengthLimitError>() => {
                    return Ok(plain(
                        http::StatusCode::PAYLOAD_TOO_LARGE,
                        &format!("request body over {limit} bytes"),
                    ))
                }
                Err(e) if e.is::<crate::serve::BodyTimeout>() => {
                    return Ok(plain(http::StatusCode::REQUEST_TIMEOUT, &e.to_string()))
                }
                Err(e) => {
                    return Ok(plain(
                        http::StatusCode::BAD_REQUEST,
                        &format!("cannot read request body: {e}"),
                    ))
                }
            };
            let span = tracing::debug_span!(
                target: "rpc",
                "rpc",
                wallet = endpoint.0.as_deref().unwrap_or("")
            );
            head.extensions.insert(endpoint);
            let call = Call {
                shared: &shared,
                head: &head,
            };
            // Only method names are logged, never parameters: they hold passphrases and keys.
            async move {
                let started = std::time::Instant::now();
                let response = call.answer(inner, &bytes).await;
                debug!(target: "rpc", elapsed_us = started.elapsed().as_micros() as u64, "handled");
                Ok(response)
            }
            .instrument(span)
            .await
        })
    }
}

/// What one element came to.
enum Answer {
    Reply(Reply),
    /// Its reply would pass the answer's byte limit.
    TooLarge(Dialect, Option<String>),
}

/// One authenticated request being answered. jsonrpsee's service is passed by value to
/// each step rather than kept here: it need not be `Sync`.
struct Call<'a, T> {
    shared: &'a Shared<T>,
    head: &'a http::request::Parts,
}

impl<T: MethodTable> Call<'_, T> {
    /// Answers a body as Core would.
    async fn answer<S>(&self, inner: S, body: &[u8]) -> HttpResponse
    where
        S: Service<HttpRequest, Response = HttpResponse, Error = BoxError> + Clone,
    {
        let config = &self.shared.config;
        let parse_error =
            |message: &str| single_response(refuse(Dialect::Legacy, None, PARSE_ERROR, message));
        let Ok(text) = std::str::from_utf8(body) else {
            return parse_error("Parse error");
        };
        let elements = match parse_body(text, config.max_batch) {
            Ok(Body::Single(element)) => {
                return match self.element(inner, element, config.max_reply).await {
                    Answer::Reply(r) => single_response(r),
                    Answer::TooLarge(dialect, id) => single_response(refuse(
                        dialect,
                        Some(id.as_deref().unwrap_or("null")),
                        REPLY_TOO_LARGE,
                        &format!("Response is too big: over {} bytes", config.max_reply),
                    )),
                }
            }
            Ok(Body::Batch(elements)) => elements,
            Err(BodyError::Parse) => return parse_error("Parse error"),
            Err(BodyError::NotObject) => return parse_error("Top-level object parse error"),
            Err(BodyError::TooManyCalls) => {
                let message = format!(
                    "The batch request was too large: more than {} calls",
                    config.max_batch
                );
                let r = refuse(Dialect::V2, Some("null"), BATCH_TOO_LARGE, &message);
                return json_response(http::StatusCode::OK, r.text.unwrap_or_default());
            }
        };
        let mut out = String::from("[");
        let mut answered = 0usize;
        let too_large = |answered: usize| {
            let message = format!(
                "The batch response was too large: over {} bytes after {answered} replies to {} calls",
                config.max_reply,
                elements.len()
            );
            let r = refuse(Dialect::V2, Some("null"), BATCH_REPLY_TOO_LARGE, &message);
            json_response(http::StatusCode::OK, r.text.unwrap_or_default())
        };
        for element in &elements {
            // What is left for this reply: the limit less what is gathered, a comma and `]`.
            let left = config.max_reply.saturating_sub(out.len() + 2);
            // Once the limit is reached the calls after it do not run: their replies
            // could not be sent.
            let text = match self.element(inner.clone(), element, left).await {
                Answer::Reply(r) => r.text,
                Answer::TooLarge(..) => return too_large(answered),
            };
            let Some(text) = text else { continue };
            if out.len() + text.len() + 2 > config.max_reply {
                return too_large(answered);
            }
            if answered > 0 {
                out.push(',');
            }
            out.push_str(&text);
            answered += 1;
        }
        if answered == 0 && !elements.is_empty() {
            // Every element was a 2.0 notification.
            return plain(http::StatusCode::NO_CONTENT, "");
        }
        out.push(']');
        json_response(http::StatusCode::OK, out)
    }

    /// Runs one request element through jsonrpsee and answers it in its dialect, reading
    /// at most `budget` bytes of jsonrpsee's reply.
    async fn element<S>(&self, mut service: S, raw: &RawValue, budget: usize) -> Answer
    where
        S: Service<HttpRequest, Response = HttpResponse, Error = BoxError>,
    {
        let refused = |dialect, id: Option<&str>, code, message: &str| {
            Answer::Reply(refuse(dialect, id, code, message))
        };
        let Some(element) = Element::read(raw) else {
            return refused(
                Dialect::Legacy,
                None,
                INVALID_REQUEST,
                "Invalid Request object",
            );
        };
        let version = element
            .jsonrpc
            .and_then(|v| serde_json::from_str::<Value>(v.get()).ok());
        let dialect = match version.as_ref() {
            Some(Value::String(v)) if v == "2.0" => Dialect::V2,
            None | Some(Value::Null) => Dialect::Legacy,
            Some(Value::String(v)) if v == "1.0" || v == "1.1" => Dialect::Legacy,
            Some(_) => {
                return refused(
                    Dialect::Legacy,
                    element.id.map(RawValue::get),
                    INVALID_REQUEST,
                    "JSON-RPC version not supported",
                )
            }
        };
        // A 2.0 request without id is a notification; a legacy one is answered with id null.
        let id = element.id.map(RawValue::get);
        let method = match element
            .method
            .map(|m| serde_json::from_str::<String>(m.get()))
        {
            Some(Ok(m)) => m,
            None => return refused(dialect, id, INVALID_REQUEST, "Missing method"),
            Some(Err(_)) => {
                return refused(dialect, id, INVALID_REQUEST, "Method must be a string")
            }
        };
        if let Err((code, message)) = self.shared.table.check_element(&method, raw.get()) {
            return refused(dialect, id, code, &message);
        }
        let params = match element
            .params
            .map(|p| serde_json::from_str::<Value>(p.get()))
        {
            None | Some(Ok(Value::Null)) => Value::Array(Vec::new()),
            Some(Ok(p @ (Value::Array(_) | Value::Object(_)))) => p,
            Some(_) => {
                return refused(
                    dialect,
                    id,
                    INVALID_REQUEST,
                    "Params must be an array or object",
                )
            }
        };
        let params = match normalize_params(&self.shared.table, &method, params) {
            Ok(p) => p,
            Err((code, message)) => return refused(dialect, id, code, &message),
        };
        debug!(target: "rpc", %method, "call");

        let _active = ActiveCall::start(&method);
        let call =
            serde_json::json!({"jsonrpc": "2.0", "id": 0, "method": method, "params": params});
        let mut head = self.head.clone();
        head.uri = http::Uri::from_static("/");
        head.headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        head.headers.remove(http::header::CONTENT_LENGTH);
        let request = HttpRequest::from_parts(head, HttpBody::from(call.to_string()));
        let response = match poll_fn(|cx| service.poll_ready(cx)).await {
            Ok(()) => service.call(request).await,
            Err(e) => Err(e),
        };
        let body = match response {
            Ok(r) => http_body_util::Limited::new(r.into_body(), budget)
                .collect()
                .await
                .map(|c| c.to_bytes()),
            Err(e) => Err(e),
        };
        let body = match body {
            Ok(b) => b,
            Err(e) if e.is::<http_body_util::LengthLimitError>() => {
                return Answer::TooLarge(dialect, id.map(str::to_owned))
            }
            Err(e) => return refused(dialect, id, INTERNAL_ERROR, &format!("Internal error: {e}")),
        };
        let Ok(parsed) = serde_json::from_slice::<InnerReply<'_>>(&body) else {
            let text = String::from_utf8_lossy(&body);
            return refused(
                dialect,
                id,
                INTERNAL_ERROR,
                &format!("Internal error: {}", text.trim()),
            );
        };
        let answered = match (parsed.result, parsed.error) {
            (_, Some(err)) => {
                let Ok(e) = serde_json::from_str::<ErrorCode>(err.get()) else {
                    return refused(
                        dialect,
                        id,
                        INTERNAL_ERROR,
                        "Internal error: bad error object",
                    );
                };
                let config = &self.shared.config;
                if e.code == METHOD_NOT_FOUND && config.wallet_methods.contains(&method.as_str()) {
                    let message = format!(
                        "Method not found ({method} is a wallet call: dotcoind holds no keys; \
                         ask the wallet service, `dotcoin-wallet serve`, on the RPC port + 3 \
                         (dotcoin-cli sends wallet calls there))"
                    );
                    refuse(dialect, id, METHOD_NOT_FOUND, &message)
                } else if e.code == METHOD_NOT_FOUND
                    && config.core_wallet_methods.contains(&method.as_str())
                {
                    let message = format!(
                        "Method not found ({method} is a Bitcoin Core wallet call: dotcoind \
                         holds no keys, and the wallet service, `dotcoin-wallet serve`, does \
                         not offer {method})"
                    );
                    refuse(dialect, id, METHOD_NOT_FOUND, &message)
                } else {
                    reply(dialect, id, Err((e.code, err.get().to_owned())))
                }
            }
            (Some(result), None) => reply(dialect, id, Ok(result.get())),
            (None, None) => reply(dialect, id, Ok("null")),
        };
        // The rewritten reply is a few bytes longer than jsonrpsee's (the caller's id).
        match &answered.text {
            Some(t) if t.len() > budget => Answer::TooLarge(dialect, id.map(str::to_owned)),
            _ => Answer::Reply(answered),
        }
    }
}
