//! `dotcoin-cli -getinfo`: one summary built from `getblockchaininfo`, `getnetworkinfo` and
//! `getmininginfo`, printed for people as Bitcoin Core's `bitcoin-cli -getinfo` does
//! ([`human`]).
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
        "connections_in",
        "connections_out",
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

/// The summary as Bitcoin Core's `bitcoin-cli -getinfo` prints it: a few labelled lines
/// per section, fields the node did not report left out.
pub fn human(summary: &Value) -> String {
    let get = |k: &str| summary.get(k).filter(|v| !v.is_null());
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let mut out = String::new();
    let mut line = |label: &str, value: Option<String>| {
        if let Some(v) = value {
            out.push_str(&format!("{label}: {v}\n"));
        }
    };
    line("Chain", get("chain").map(text));
    line("Blocks", get("blocks").map(text));
    line("Headers", get("headers").map(text));
    line(
        "Verification progress",
        get("verificationprogress")
            .and_then(Value::as_f64)
            .map(|p| format!("{:.4}%", p * 100.0)),
    );
    line("Difficulty", get("difficulty").map(text));
    out.push('\n');
    let mut line = |label: &str, value: Option<String>| {
        if let Some(v) = value {
            out.push_str(&format!("{label}: {v}\n"));
        }
    };
    let count = |k: &str| get(k).and_then(Value::as_u64);
    line(
        "Network",
        match (
            count("connections_in"),
            count("connections_out"),
            count("connections"),
        ) {
            (Some(i), Some(o), Some(t)) => Some(format!("in {i}, out {o}, total {t}")),
            (_, _, Some(t)) => Some(format!("total {t}")),
            _ => None,
        },
    );
    line("Version", get("version").map(text));
    line(
        "Min tx relay fee rate (DOT/kvB)",
        get("relayfee")
            .and_then(Value::as_f64)
            .map(|f| format!("{f:.8}")),
    );
    line(
        "Mining",
        get("generate")
            .and_then(Value::as_bool)
            .map(|on| if on { "on" } else { "off" }.to_owned()),
    );
    out.push('\n');
    let warnings = get("warnings").map(text).filter(|w| !w.is_empty());
    out.push_str(&format!(
        "Warnings: {}",
        warnings.as_deref().unwrap_or("(none)")
    ));
    out
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
    fn human_summary_as_bitcoin_cli_prints_it() {
        let text = human(&json!({
            "chain": "regtest", "blocks": 3, "headers": 3, "verificationprogress": 1.0,
            "difficulty": 4.6e-10, "connections": 2, "connections_in": 1, "connections_out": 1,
            "version": 100, "relayfee": 0.00001, "generate": false, "warnings": "",
        }));
        assert_eq!(
            text,
            "Chain: regtest\nBlocks: 3\nHeaders: 3\nVerification progress: 100.0000%\n\
             Difficulty: 4.6e-10\n\nNetwork: in 1, out 1, total 2\nVersion: 100\n\
             Min tx relay fee rate (DOT/kvB): 0.00001000\nMining: off\n\nWarnings: (none)"
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
