//! Control calls: `help` (built-in calls and running plugins' methods), `stop`, `uptime`,
//! `getinfo`.

use dotcoin_common::rpc_types::{
    ActiveCommand, LockedMemory, LoggingCategories, MemoryInfo, NodeInfo, RpcInfo,
};
use dotcoin_rpc_server::arg::{Text, TextList};
use jsonrpsee::core::RpcResult;
use jsonrpsee::proc_macros::rpc;

use super::error::{rpc_error, RpcErrorCode};
use super::{spec, RpcContext};

/// Control calls.
#[rpc(server)]
pub trait ControlRpc {
    /// Lists every call by category, or explains one.
    #[method(name = "help")]
    fn help(&self, command: Option<Text>) -> RpcResult<String>;

    /// Asks the node to shut down.
    #[method(name = "stop")]
    fn stop(&self) -> RpcResult<String>;

    /// Seconds since start.
    #[method(name = "uptime")]
    fn uptime(&self) -> RpcResult<u64>;

    /// A one-call summary of the node.
    #[method(name = "getinfo")]
    fn getinfo(&self) -> RpcResult<NodeInfo>;

    /// The RPC server's state: calls being answered, the log file.
    #[method(name = "getrpcinfo")]
    fn getrpcinfo(&self) -> RpcResult<RpcInfo>;

    /// Memory use.
    #[method(name = "getmemoryinfo")]
    fn getmemoryinfo(&self, mode: Option<Text>) -> RpcResult<MemoryInfo>;

    /// Which log categories are at debug level; switches them on and off.
    #[method(name = "logging")]
    fn logging(
        &self,
        include: Option<TextList>,
        exclude: Option<TextList>,
    ) -> RpcResult<LoggingCategories>;
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

/// A method added at run time (a plugin's): category, name, argument synopsis, description.
pub type ExtraHelp = (String, String, String, String);

/// The `help` entries of the running plugins' methods, under "Plugin NAME".
fn plugin_help(ctx: &RpcContext) -> Vec<ExtraHelp> {
    ctx.plugins
        .help_entries()
        .into_iter()
        .map(|(plugin, m)| (format!("Plugin {plugin}"), m.name, m.usage, m.description))
        .collect()
}

/// The text of `help` with no argument: every built-in method, then `extras` (methods
/// added at run time), by category.
pub fn help_overview(extras: &[ExtraHelp]) -> String {
    let mut lines: Vec<(&str, &str, String)> = spec::SPECS
        .iter()
        .map(|s| (s.category, s.name, spec::synopsis(s)))
        .collect();
    lines.extend(
        extras
            .iter()
            .map(|(cat, name, args, _)| (cat.as_str(), name.as_str(), args.clone())),
    );
    // Stable: categories keep their first-seen order, methods sort within each.
    let mut categories: Vec<&str> = Vec::new();
    for (cat, _, _) in &lines {
        if !categories.contains(cat) {
            categories.push(cat);
        }
    }
    let mut out = String::new();
    for cat in categories {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&format!("== {cat} ==\n"));
        let mut methods: Vec<&(&str, &str, String)> =
            lines.iter().filter(|(c, _, _)| *c == cat).collect();
        methods.sort_by_key(|(_, name, _)| *name);
        for (_, name, args) in methods {
            out.push_str(format!("{name} {args}").trim_end());
            out.push('\n');
        }
    }
    out.trim_end().to_owned()
}

/// The text of `help <command>`: Core-style help for a built-in method, or the entry of a
/// method added at run time.
pub fn help_for(command: &str, extras: &[ExtraHelp]) -> Option<String> {
    if let Some(s) = spec::find(command) {
        return Some(spec::help_text(s));
    }
    extras
        .iter()
        .find(|(_, n, _, _)| n == command)
        .map(|(cat, n, args, desc)| format!("{n} {args}\n\n{desc}\n\nCategory: {cat}"))
}

impl ControlRpcServer for ControlRpcImpl {
    fn help(&self, command: Option<Text>) -> RpcResult<String> {
        let plugins = plugin_help(&self.ctx);
        match command {
            None => Ok(help_overview(&plugins)),
            Some(name) => help_for(&name, &plugins).ok_or_else(|| {
                rpc_error(
                    RpcErrorCode::Misc,
                    format!("help: unknown command: {}", *name),
                )
            }),
        }
    }

    fn stop(&self) -> RpcResult<String> {
        self.ctx.shutdown.notify_one();
        Ok("dotcoind stopping".into())
    }

    fn getrpcinfo(&self) -> RpcResult<RpcInfo> {
        let active_commands = dotcoin_rpc_server::active_calls()
            .into_iter()
            .map(|(method, d)| ActiveCommand {
                method,
                duration: d.as_micros() as u64,
            })
            .collect();
        Ok(RpcInfo {
            active_commands,
            logpath: self
                .ctx
                .chain
                .datadir()
                .join("debug.log")
                .display()
                .to_string(),
        })
    }

    fn getmemoryinfo(&self, mode: Option<Text>) -> RpcResult<MemoryInfo> {
        match mode.as_deref().map_or("stats", String::as_str) {
            // Core's "locked" pool holds wallet keys in memory that is never swapped out;
            // dotcoind holds no key, so the pool it reports is empty, truly.
            "stats" => Ok(MemoryInfo {
                locked: LockedMemory::default(),
            }),
            "mallocinfo" => Err(rpc_error(
                RpcErrorCode::InvalidParameter,
                "mallocinfo mode not available",
            )),
            other => Err(rpc_error(
                RpcErrorCode::InvalidParameter,
                format!("unknown mode {other}"),
            )),
        }
    }

    fn logging(
        &self,
        include: Option<TextList>,
        exclude: Option<TextList>,
    ) -> RpcResult<LoggingCategories> {
        let include = include.map(|i| i.0).unwrap_or_default();
        let exclude = exclude.map(|e| e.0).unwrap_or_default();
        if !include.is_empty() || !exclude.is_empty() {
            self.ctx
                .log
                .update(&include, &exclude)
                .map_err(|e| match e {
                    crate::logging::LoggingError::UnknownCategory(_) => {
                        rpc_error(RpcErrorCode::InvalidParameter, e.to_string())
                    }
                    crate::logging::LoggingError::Apply(_) => {
                        rpc_error(RpcErrorCode::Misc, e.to_string())
                    }
                })?;
        }
        Ok(self
            .ctx
            .log
            .categories()
            .into_iter()
            .map(|(cat, on)| (cat.to_owned(), on))
            .collect())
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
