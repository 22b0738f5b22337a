//! Each JSON-RPC call's method, duration and outcome, handed to an observer (the
//! services' Prometheus series). A jsonrpsee RPC middleware, so it sees what jsonrpsee
//! runs: every element of a batch on its own, after the wire's checks; a call the wire
//! refused before it reached jsonrpsee (bad credentials, a malformed body) is not a call.
//!
//! The observer gets the method name as the caller spelt it: bounding it to the service's
//! method table (anything else counted as "other") is the observer's business, as only the
//! service knows its table.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jsonrpsee::server::middleware::rpc::RpcServiceT;
use jsonrpsee::server::MethodResponse;
use jsonrpsee::types::Request;

/// What the observer is told of a call: its method, how long it took, whether it
/// succeeded.
pub type Observer = Arc<dyn Fn(&str, Duration, bool) + Send + Sync>;

/// Adds [`Observe`] around a jsonrpsee RPC service (`RpcServiceBuilder::layer`).
#[derive(Clone)]
pub struct ObserveLayer {
    observer: Observer,
}

impl std::fmt::Debug for ObserveLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObserveLayer").finish_non_exhaustive()
    }
}

impl ObserveLayer {
    /// A layer telling `observer` of every call.
    pub fn new(observer: impl Fn(&str, Duration, bool) + Send + Sync + 'static) -> Self {
        ObserveLayer {
            observer: Arc::new(observer),
        }
    }
}

impl<S> tower::Layer<S> for ObserveLayer {
    type Service = Observe<S>;
    fn layer(&self, inner: S) -> Observe<S> {
        Observe {
            inner,
            observer: Arc::clone(&self.observer),
        }
    }
}

/// The middleware: times the inner service's answer to each call.
#[derive(Clone)]
pub struct Observe<S> {
    inner: S,
    observer: Observer,
}

impl<S> std::fmt::Debug for Observe<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Observe").finish_non_exhaustive()
    }
}

impl<'a, S> RpcServiceT<'a> for Observe<S>
where
    S: RpcServiceT<'a> + Send + Sync + Clone + 'static,
    S::Future: 'a,
{
    type Future = Pin<Box<dyn Future<Output = MethodResponse> + Send + 'a>>;

    fn call(&self, req: Request<'a>) -> Self::Future {
        let method: Cow<'a, str> = req.method.clone();
        let observer = Arc::clone(&self.observer);
        let started = Instant::now();
        let answer = self.inner.call(req);
        Box::pin(async move {
            let resp = answer.await;
            observer(&method, started.elapsed(), resp.is_success());
            resp
        })
    }
}
