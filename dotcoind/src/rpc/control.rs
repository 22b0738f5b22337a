//! Control calls: `help`, `stop`, `uptime`, `getinfo`.

use dotcoin_common::rpc_types::NodeInfo;
use jsonrpsee::core::RpcResult;
use jsonrpsee::proc_macros::rpc;
use serde_json::Value;

use super::error::{rpc_error, RpcErrorCode};
use super::params::string_param;
use super::{RpcContext, HELP};

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

/// The text of `help` with no argument.
pub fn help_overview() -> String {
    let mut out = String::new();
    let mut last = "";
    for (cat, name, args, _) in HELP {
        if *cat != last {
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
        match command {
            None | Some(Value::Null) => Ok(help_overview()),
            Some(v) => {
                let name = string_param(&v, "command")?;
                HELP.iter()
                    .find(|(_, n, _, _)| *n == name)
                    .map(|(cat, n, args, desc)| format!("{n} {args}\n\n{desc}\n\nCategory: {cat}"))
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
