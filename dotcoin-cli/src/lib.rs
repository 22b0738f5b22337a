//! dotcoin-cli: a JSON-RPC client for `dotcoind`, and the `bitcoin-cli`-like program on top.
//!
//! - [`client`] and [`auth`] are re-exported from `dotcoin-rpc-client`, the client crate the
//!   wallet and the functional tests share: [`RpcClient`] sends JSON-RPC 1.0 requests with
//!   HTTP Basic auth (password or cookie) and maps what comes back to [`RpcError`].
//! - [`args`] parses the command line, Bitcoin Core's single-dash spelling included, and
//!   turns arguments into JSON-RPC parameters.
//! - [`getinfo`] builds the `-getinfo` summary.
//! - [`output`] formats results and errors the way `bitcoin-cli` prints them.
//! - [`run_command_line`] ties these together; the binary only prints what it returns.

pub mod args;
pub mod getinfo;
pub mod output;

use std::io::BufRead;

pub use dotcoin_rpc_client::{auth, client};

pub use args::{ArgsError, CliArgs, Invocation};
pub use client::{ConnectOptions, RpcClient, RpcError};
pub use output::Output;

/// Runs one `dotcoin-cli` command line (without the program name) to completion and returns
/// what to print and the exit status. `stdin` is read only with `-stdin`.
///
/// Builds its own single-threaded tokio runtime, so call it from synchronous code.
pub fn run_command_line<I, S>(argv: I, stdin: impl BufRead) -> Output
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let mut cli = match args::parse_args(argv) {
        Ok(Invocation::Help) => return Output::text(args::usage()),
        Ok(Invocation::Version) => {
            return Output::text(format!("dotcoin-cli version {}", env!("CARGO_PKG_VERSION")))
        }
        Ok(Invocation::Run(cli)) => cli,
        Err(e) => return Output::error(e),
    };
    if cli.stdin {
        match args::read_stdin_args(stdin) {
            Ok(lines) => cli.args.extend(lines),
            Err(e) => return Output::error(format!("reading standard input: {e}")),
        }
    }
    // One call at a time needs no worker threads.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return Output::error(format!("cannot start the async runtime: {e}")),
    };
    runtime.block_on(run(cli))
}

/// Runs a parsed command line (with any `-stdin` arguments already appended).
pub async fn run(cli: CliArgs) -> Output {
    if cli.getinfo {
        if !cli.args.is_empty() {
            return Output::error(ArgsError::GetinfoWithArgs);
        }
        return match RpcClient::new(&cli.connect) {
            Ok(client) => match getinfo::getinfo(&client).await {
                Ok(summary) => Output::text(getinfo::human(&summary)),
                Err(e) => Output::rpc_error(&e),
            },
            Err(e) => Output::rpc_error(&e),
        };
    }
    let Some((method, rest)) = cli.args.split_first() else {
        return Output::error(ArgsError::NoCommand);
    };
    // Wallet calls go to the wallet service (`dotcoin-wallet serve`), like Core's
    // multiwallet endpoint; everything else to the node.
    let to_wallet = dotcoin_rpc_client::WALLET_METHODS.contains(&method.as_str());
    let service = if to_wallet {
        dotcoin_rpc_client::api::Service::Wallet
    } else {
        dotcoin_rpc_client::api::Service::Node
    };
    // Bad arguments are reported before any connection is tried.
    let entry = dotcoin_rpc_client::api::lookup(service, method);
    let params = match args::build_params(entry, rest, cli.named) {
        Ok(params) => params,
        Err(e) => return Output::error(e),
    };
    let connect = if to_wallet {
        cli.connect
            .for_wallet_service(cli.walletport, cli.rpcwallet.as_deref())
    } else {
        cli.connect.clone()
    };
    let client = match RpcClient::new(&connect) {
        Ok(client) => client,
        Err(e) => return Output::rpc_error(&e),
    };
    match client.call_raw(method, params).await {
        Ok(result) => Output::raw_result(&result),
        Err(e) => Output::rpc_error(&e),
    }
}
