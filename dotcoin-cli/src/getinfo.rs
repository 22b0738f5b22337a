//! `dotcoin-cli -getinfo`: one summary built from `getblockchaininfo`, `getnetworkinfo` and
//! `getmininginfo`, in the spirit of the `getinfo` that old Bitcoin Core had.
//!
//! It picks a fixed set of fields rather than merging the three results whole, so the
//! summary stays short and a field that two calls both report (`blocks`, `chain`,
//! `warnings`) comes from one place. A node that lacks one of the calls (`-32601`) still
//! gives a summary of the rest.

use serde_json::{Map, Value};

use crate::client::{RpcClient, RpcError};

/// Bitcoin Core's `RPC_METHOD_NOT_FOUND`.
const RPC_METHOD_NOT_FOUND: i64 = -32601;

/// The calls, in the order their fields take precedence.
pub const GETINFO_METHODS: [&str; 3] = ["getblockchaininfo", "getnetworkinfo", "getmininginfo"];

/// The fields taken from each call's result; a field already taken from an earlier call is
/// not overwritten.
const FIELDS: [&[&str]; 3] = [
    &[
        "chain",
        "blocks",
        "headers",
        "bestblockhash",
        "difficulty",
        "mediantime",
        "verificationprogress",
        "initialblockdownload",
        "size_on_disk",
        "warnings",
    ],
    &[
        "version",
        "subversion",
        "protocolversion",
        "connections",
        "networkactive",
        "timeoffset",
        "relayfee",
        "warnings",
    ],
    &["networkhashps", "hashespersec", "generate", "pooledtx"],
];

/// Runs the three calls concurrently and combines them.
pub async fn getinfo(client: &RpcClient) -> Result<Value, RpcError> {
    let no_params = || Value::Array(Vec::new());
    let (chain, network, mining) = tokio::join!(
        client.call(GETINFO_METHODS[0], no_params()),
        client.call(GETINFO_METHODS[1], no_params()),
        client.call(GETINFO_METHODS[2], no_params()),
    );
    combine([chain, network, mining])
}

/// The summary from the three results (in [`GETINFO_METHODS`] order). A missing method is
/// skipped; any other error, or all three missing, is the error.
pub fn combine(results: [Result<Value, RpcError>; 3]) -> Result<Value, RpcError> {
    let mut summary = Map::new();
    let mut first_missing = None;
    let mut answered = 0;
    for (result, fields) in results.into_iter().zip(FIELDS) {
        let value = match result {
            Ok(value) => value,
            Err(RpcError::Rpc { code, message }) if code == RPC_METHOD_NOT_FOUND => {
                first_missing.get_or_insert(RpcError::Rpc { code, message });
                continue;
            }
            Err(other) => return Err(other),
        };
        answered += 1;
        for &field in fields {
            if let Some(v) = value.get(field) {
                summary.entry(field).or_insert_with(|| v.clone());
            }
        }
    }
    match first_missing {
        Some(error) if answered == 0 => Err(error),
        _ => Ok(Value::Object(summary)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn missing() -> Result<Value, RpcError> {
        Err(RpcError::Rpc {
            code: RPC_METHOD_NOT_FOUND,
            message: "Method not found".into(),
        })
    }

    #[test]
    fn combines_the_chosen_fields() {
        let summary = combine([
            Ok(json!({"chain": "regtest", "blocks": 3, "softforks": {}, "warnings": ""})),
            Ok(json!({"version": 100, "connections": 2, "localaddresses": [], "warnings": "x"})),
            Ok(json!({"blocks": 99, "networkhashps": 1.5, "hashespersec": 0})),
        ])
        .unwrap();
        assert_eq!(
            summary,
            json!({
                "chain": "regtest",
                "blocks": 3,
                "warnings": "",
                "version": 100,
                "connections": 2,
                "networkhashps": 1.5,
                "hashespersec": 0,
            })
        );
    }

    #[test]
    fn tolerates_a_missing_method() {
        let summary = combine([Ok(json!({"blocks": 3})), missing(), missing()]).unwrap();
        assert_eq!(summary, json!({"blocks": 3}));
    }

    #[test]
    fn all_missing_or_another_error_fails() {
        assert!(matches!(
            combine([missing(), missing(), missing()]),
            Err(RpcError::Rpc {
                code: RPC_METHOD_NOT_FOUND,
                ..
            })
        ));
        assert!(matches!(
            combine([Ok(json!({})), Err(RpcError::Unauthorized), missing()]),
            Err(RpcError::Unauthorized)
        ));
        assert!(matches!(
            combine([
                Ok(json!({})),
                Err(RpcError::Rpc {
                    code: -1,
                    message: "x".into()
                }),
                Ok(json!({}))
            ]),
            Err(RpcError::Rpc { code: -1, .. })
        ));
    }
}
