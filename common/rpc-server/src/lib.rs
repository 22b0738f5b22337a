//! Bitcoin Core's JSON-RPC wire over HTTP: the one layer in front of `dotcoind`'s and
//! `dotcoin-wallet serve`'s jsonrpsee servers. Each service supplies its method table
//! ([`MethodTable`]), its credentials ([`Credentials`]) and its options ([`WireConfig`]);
//! everything else about how a request is read and answered lives here.
//!
//! Bird's eye view:
//! - [`CoreWireLayer`] (tower middleware, installed with jsonrpsee's
//!   `set_http_middleware`): Basic authentication, the body limit, the endpoint
//!   (`/wallet/<name>` where the service has wallets), then every request element is
//!   answered in its own dialect and sent to jsonrpsee as a plain 2.0 call.
//! - `request` (private): the body split into elements without building a JSON tree, the
//!   batch limit counted while parsing.
//! - [`params`]: named parameters put in place and surplus or unknown ones refused, by
//!   the service's table; every given value checked against its declared type.
//! - [`arg`]: the parameter types handlers declare, each with Core's errors.
//! - [`declare`]: a method's parameter rows, from which the wire's checks, the CLI's
//!   conversion and the help texts come.
//! - [`reply`]: Core's reply shapes (legacy 1.0/1.1 and strict 2.0) and HTTP statuses.
//! - [`codes`]: Core's error codes (`src/rpc/protocol.h`) and JSON-RPC's own.
//! - [`auth`]: credentials, the constant-time check, cookie files.
//! - [`active_calls`]: the calls being answered now, for `getrpcinfo`.
//! - [`serve`]: the accept loop of every local HTTP server (node RPC, wallet service,
//!   dashboard): socket caps with eviction of idle connections, WebSocket caps, timeouts.
//!
//! Clients do not depend on this crate: it pulls in a server. The typed client
//! (`dotcoin-rpc-client`) keeps its own reply parsing and the list of wallet methods.

mod active;
pub mod arg;
pub mod auth;
pub mod codes;
pub mod declare;
mod layer;
pub mod params;
pub mod reply;
mod request;
pub mod serve;

pub use active::active_calls;
pub use auth::{Credentials, RpcAuthEntry};
pub use codes::{json_type_name, RpcErrorCode};
pub use layer::{CoreWireLayer, CoreWireService, Endpoint, WireConfig};
pub use params::{normalize_params, MethodTable, ParamName};
pub mod observe;
