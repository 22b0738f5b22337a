//! The fuzz targets of dotcoin, as plain functions over bytes.
//!
//! Each `tests/fuzz/fuzz_targets/<name>.rs` is a one-line libFuzzer entry point that calls
//! the function of the same name here. Keeping the logic in this ordinary (stable)
//! workspace crate lets `cargo test --workspace` replay the committed corpus
//! (`tests/fuzz/corpus/<name>/`) through exactly the code the fuzzer ran (`tests/replay.rs`).
//!
//! Every function must return normally for any input: a panic is a crash. Where the
//! format allows it, a function also asserts that what decodes encodes back to the same
//! bytes (or decodes again to the same value), so a decoder that accepts two spellings of
//! one value, or an encoder that drifts from its decoder, shows up as a crash too.
//!
//! Bird's eye view:
//! - [`wire`]: what a peer's bytes meet first — the frame reader ([`frame`]) and the
//!   message decoder ([`message`]).
//! - [`chain`]: the consensus payloads — [`block`], [`transaction`], [`headers`] and the
//!   block locator of `getheaders` ([`getheaders`]) — with the checks the node runs on them
//!   before it touches its state.
//! - [`rpc`]: the node's RPC parameter parsers ([`rpc_params`]) and `dotcoin-cli`'s
//!   argument parsing ([`cli_args`]).
//! - [`wallet`]: the wallet file loader ([`wallet_file`]).
//! - [`psbt`]: the PSBT parser and its key-less roles ([`psbt()`]).
//! - [`seeds`]: valid inputs for each target, written to the corpus by an ignored test.

pub mod chain;
pub mod psbt;
pub mod rpc;
pub mod seeds;
pub mod wallet;
pub mod wire;

pub use chain::{block, getheaders, headers, transaction};
pub use psbt::psbt;
pub use rpc::{cli_args, rpc_params};
pub use wallet::wallet_file;
pub use wire::{frame, message};

/// A fuzz target: a function that must not panic on any input.
pub type Target = fn(&[u8]);

/// Every target by name; the name is also its `fuzz_targets/<name>.rs` file and its
/// `corpus/<name>/` directory.
pub const TARGETS: &[(&str, Target)] = &[
    ("frame", frame),
    ("message", message),
    ("block", block),
    ("transaction", transaction),
    ("headers", headers),
    ("getheaders", getheaders),
    ("rpc_params", rpc_params),
    ("cli_args", cli_args),
    ("wallet_file", wallet_file),
    ("psbt", psbt),
];
