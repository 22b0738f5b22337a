//! dotcoin-rpc-client: the one JSON-RPC client of `dotcoind` that `dotcoin-cli`, the wallet
//! and the functional tests share.
//!
//! - [`client`] sends JSON-RPC 1.0 requests with HTTP Basic auth (password or cookie) and
//!   maps what comes back to [`RpcError`]; [`RpcClient::call_typed`] decodes a result into
//!   any serde type.
//! - [`api`] is `dotcoin-cli`'s conversion table: every method of the node and the wallet
//!   service, each parameter passed as a string or as JSON.
//! - [`auth`] finds the credentials and reads the cookie.
//! - [`methods`] gives each RPC the wallet and the tests make a typed method whose result is
//!   the shared struct from [`dotcoin_common::rpc_types`], so the server and every client
//!   agree on one definition of each answer.

pub mod api;
pub mod auth;
pub mod client;
pub mod methods;

pub use auth::{check_cookie_writer, NODE_PID_FILE, WALLET_PORTS_FILE};
pub use client::{ConnectOptions, RpcClient, RpcError, CORE_WALLET_METHODS, WALLET_METHODS};
