//! Control calls: `help` (built-in calls and running plugins' methods), `stop`, `uptime`,
//! `getinfo`.

use dotcoin_common::rpc_types::NodeInfo;
use jsonrpsee::core::RpcResult;
use jsonrpsee::proc_macros::rpc;
use serde_json::Value;

use super::error::{rpc_error, RpcErrorCode};
use super::params::string_param;
use super::{RpcContext, HELP};
use crate::plugins::manifest::MethodDecl;

/// Control calls.
#[rpc(server, client)]
pub trait ControlRpc {
    /// Lists every call by category, or explains one.
    #[method(name = "help")]
    fn help(&self, command: Option<Value>) -> RpcResult<String>;

    /// Asks the node to shut down.
    #[method(name = "stop")]
    fn stop(&self) -> RpcResult<String>;

    /// Seconds since start.
    #[method(name = "uptime")]
    fn uptime(&self) -> RpcResult<u64>;

    /// A one-call summary of the node.
    #[method(name = "getinfo")]
    fn getinfo(&self) -> RpcResult<NodeInfo>;
}

/// Implementation of [`ControlRpcServer`].
#[derive(Debug)]
pub struct ControlRpcImpl {
    ctx: RpcContext,
}

impl ControlRpcImpl {
    /// A plugin over `ctx`.
    pub fn new(ctx: RpcContext) -> Self {
        ControlRpcImpl { ctx }
    }
}

/// The text of `help` with no argument: the built-in calls by category, then each running
/// plugin's methods under the plugin's name.
pub fn help_overview(plugins: &[(String, MethodDecl)]) -> String {
    let mut out = String::new();
    let mut last = String::new();
    let builtin = HELP
        .iter()
        .map(|(cat, name, args, _)| (cat.to_string(), *name, *args));
    let from_plugins = plugins
        .iter()
        .map(|(p, m)| (format!("Plugin {p}"), m.name.as_str(), m.usage.as_str()));
    for (cat, name, args) in builtin.chain(from_plugins) {
        if cat != last {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(&format!("== {cat} ==\n"));
            last = cat;
        }
        out.push_str(format!("{name} {args}").trim_end());
        out.push('\n');
    }
    out.trim_end().to_owned()
}

impl ControlRpcServer for ControlRpcImpl {
    fn help(&self, command: Option<Value>) -> RpcResult<String> {
        let plugins = self.ctx.plugins.help_entries();
        match command {
            None | Some(Value::Null) => Ok(help_overview(&plugins)),
            Some(v) => {
                let name = string_param(&v, "command")?;
                if let Some((cat, n, args, desc)) = HELP.iter().find(|(_, n, _, _)| *n == name) {
                    return Ok(format!("{n} {args}\n\n{desc}\n\nCategory: {cat}"));
                }
                plugins
                    .iter()
                    .find(|(_, m)| m.name == name)
                    .map(|(p, m)| {
                        format!("{} {}\n\n{}\n\nPlugin: {p}", m.name, m.usage, m.description)
                    })
                    .ok_or_else(|| {
                        rpc_error(RpcErrorCode::Misc, format!("help: unknown command: {name}"))
                    })
            }
        }
    }

    fn stop(&self) -> RpcResult<String> {
        self.ctx.shutdown.notify_one();
        Ok("dotcoind stopping".into())
    }

    fn uptime(&self) -> RpcResult<u64> {
        Ok(self.ctx.started.elapsed().as_secs())
    }

    fn getinfo(&self) -> RpcResult<NodeInfo> {
        let state = self.ctx.chain.snapshot();
        let tip = state.tip();
        Ok(NodeInfo {
            version: env!("CARGO_PKG_VERSION").into(),
            chain: state.params().network.name().into(),
            blocks: tip.height,
            bestblockhash: tip.hash,
            difficulty: dotcoin_common::pow::difficulty(tip.header.bits),
            mempool: state.mempool().len() as u64,
            connections: self.ctx.net.peer_count() as u64,
            mining: self.ctx.miner.is_mining(),
        })
    }
}
