//! dotcoind, the dotcoin node, as a library so tests and benchmarks can drive it.
//!
//! - [`storage`]: RocksDB column families and atomic batches.
//! - [`chain`]: block index, best-chain selection, connect/disconnect, reorgs.
//! - [`mempool`]: the transaction pool.
//! - [`state`]: the chain service — the one writer of chain and pool, the snapshots
//!   readers use, and the typed event stream.
//! - [`miner`]: the miner service: templates from snapshots, the parallel nonce search.
//! - [`net`]: the P2P layer: framing, peers, bans, headers-first sync, relay.
//! - [`rpc`]: the JSON-RPC server and its plugins.
//! - [`dashboard`]: the live web dashboard (HTTP, server-sent events, embedded page).
//! - [`metrics`]: the Prometheus registry behind the dashboard's `/metrics`.
//! - [`config`]: flags and `dotcoin.toml`.
//! - [`run`]: wires everything up for the `dotcoind` binary.

pub mod chain;
pub mod config;
pub mod dashboard;
pub mod esplora;
pub mod logging;
pub mod mempool;
pub mod metrics;
pub mod miner;
pub mod net;
pub mod plugins;
pub mod rest;
pub mod rpc;
mod run;
pub mod state;
pub mod storage;
pub mod util;

pub use run::{run, RunError, PORTS_FILE};
