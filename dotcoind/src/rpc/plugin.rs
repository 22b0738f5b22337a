//! The `plugin` call (`list`, `start PATH`, `stop NAME`) and the routing of plugin methods.
//!
//! Plugin methods come and go while the server runs, and jsonrpsee's module is fixed at
//! start, so they are not registered in it: [`PluginRouter`], an RPC-level middleware,
//! looks every call's name up in the plugin host first and forwards the ones a plugin
//! declared. It sits inside the HTTP middleware, so plugin methods get the same
//! authentication, batching and limits as built-in ones.

use std::sync::Arc;

use dotcoin_rpc_server::arg::{Keyword, KeywordArg, Text};
use futures_util::future::BoxFuture;
use jsonrpsee::core::{async_trait, RpcResult};
use jsonrpsee::proc_macros::rpc;
use jsonrpsee::server::middleware::rpc::RpcServiceT;
use jsonrpsee::server::MethodResponse;
use jsonrpsee::types::{ErrorObject, Request};
use jsonrpsee::ResponsePayload;
use serde_json::Value;

use super::error::{rpc_error, RpcErrorCode};
use super::RpcContext;
use crate::plugins::process::CallError;
use crate::plugins::{PluginHost, Route};
use dotcoin_common::rpc_types::PluginResult;

/// Largest reply a plugin method may return through the server.
const MAX_PLUGIN_RESPONSE: usize = 16 * 1024 * 1024;

/// Plugin management.
#[rpc(server)]
pub trait PluginRpc {
    /// `plugin list`, `plugin start PATH`, `plugin stop NAME`.
    #[method(name = "plugin")]
    async fn plugin(
        &self,
        subcommand: Option<KeywordArg<PluginCommand>>,
        arg: Option<Text>,
    ) -> RpcResult<PluginResult>;
}

/// `plugin`'s sub-commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PluginCommand {
    /// Every plugin and its state.
    List,
    /// Start the executable at the argument's path.
    Start,
    /// Stop the plugin the argument names.
    Stop,
}

impl Keyword for PluginCommand {
    const WORDS: &'static [(&'static str, Self)] = &[
        ("list", PluginCommand::List),
        ("start", PluginCommand::Start),
        ("stop", PluginCommand::Stop),
    ];

    fn unknown(_name: &str, word: &str) -> String {
        format!("unknown plugin subcommand {word:?}: use list, start PATH or stop NAME")
    }
}

/// Implementation of [`PluginRpcServer`].
#[derive(Debug)]
pub struct PluginRpcImpl {
    ctx: RpcContext,
}

impl PluginRpcImpl {
    /// The calls over `ctx`.
    pub fn new(ctx: RpcContext) -> Self {
        PluginRpcImpl { ctx }
    }
}

#[async_trait]
impl PluginRpcServer for PluginRpcImpl {
    async fn plugin(
        &self,
        subcommand: Option<KeywordArg<PluginCommand>>,
        arg: Option<Text>,
    ) -> RpcResult<PluginResult> {
        let sub = subcommand.map_or(PluginCommand::List, |s| s.0);
        let host = &self.ctx.plugins;
        let need = |what: &str| {
            let word = PluginCommand::WORDS
                .iter()
                .find(|(_, c)| *c == sub)
                .map_or("", |(w, _)| *w);
            rpc_error(
                RpcErrorCode::InvalidParameter,
                format!("plugin {word} needs {what}"),
            )
        };
        match (sub, arg.map(|a| a.0)) {
            (PluginCommand::List, None) => Ok(PluginResult::List {
                plugins: host.list(),
            }),
            (PluginCommand::List, Some(_)) => Err(rpc_error(
                RpcErrorCode::InvalidParameter,
                "plugin list takes no argument",
            )),
            (PluginCommand::Start, Some(path)) => host
                .start(std::path::Path::new(&path))
                .await
                .map(|info| PluginResult::Started(Box::new(info)))
                .map_err(|e| rpc_error(RpcErrorCode::Misc, e)),
            (PluginCommand::Start, None) => Err(need("the plugin's PATH")),
            (PluginCommand::Stop, Some(name)) => host
                .stop(&name)
                .await
                .map(|info| PluginResult::Stopped { stopped: info.name })
                .map_err(|e| rpc_error(RpcErrorCode::InvalidParameter, e)),
            (PluginCommand::Stop, None) => Err(need("the plugin's NAME")),
        }
    }
}

/// RPC middleware that serves plugin methods; see the module docs.
#[derive(Debug, Clone)]
pub struct PluginRouter<S> {
    inner: S,
    host: Arc<PluginHost>,
}

impl<S> PluginRouter<S> {
    /// Wraps `inner`, consulting `host` first.
    pub fn new(inner: S, host: Arc<PluginHost>) -> Self {
        PluginRouter { inner, host }
    }
}

impl<'a, S> RpcServiceT<'a> for PluginRouter<S>
where
    S: RpcServiceT<'a> + Send + Sync + Clone + 'static,
    S::Future: 'a,
{
    type Future = BoxFuture<'a, MethodResponse>;

    fn call(&self, req: Request<'a>) -> Self::Future {
        let Some(route) = self.host.route(&req.method) else {
            return Box::pin(self.inner.call(req));
        };
        let timeout = self.host.timeout();
        Box::pin(async move {
            let id = req.id.clone().into_owned();
            let process = match route {
                Route::Live(p) => p,
                Route::Down(why) => {
                    return MethodResponse::error(
                        id,
                        ErrorObject::owned(RpcErrorCode::Misc as i32, why, None::<()>),
                    )
                }
            };
            let params = match req.params.as_ref().map(|p| serde_json::from_str(p.get())) {
                None => Value::Array(Vec::new()),
                Some(Ok(v)) => v,
                Some(Err(e)) => {
                    return MethodResponse::error(
                        id,
                        ErrorObject::owned(-32602, format!("invalid params: {e}"), None::<()>),
                    )
                }
            };
            match process.call(&req.method, params, timeout).await {
                Ok(v) => {
                    MethodResponse::response(id, ResponsePayload::success(v), MAX_PLUGIN_RESPONSE)
                }
                Err(CallError::Rpc {
                    code,
                    message,
                    data,
                }) => MethodResponse::error(id, ErrorObject::owned(code, message, data)),
                Err(e) => MethodResponse::error(
                    id,
                    ErrorObject::owned(RpcErrorCode::Misc as i32, e.to_string(), None::<()>),
                ),
            }
        })
    }
}
