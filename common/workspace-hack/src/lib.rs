//! Holds no code: its dependencies exist to give the programs' build the same crate
//! features as the tests' build (see this crate's Cargo.toml).
