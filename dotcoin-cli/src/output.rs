//! What `dotcoin-cli` prints and how it exits, as `bitcoin-cli` does: results as pretty
//! JSON (a bare string unquoted, null as nothing), node errors as `error code:` /
//! `error message:` on stderr, every other failure as `error: <message>`.
//!
//! Everything here builds strings; only `main.rs` writes them, which keeps the library free
//! of printing and lets the tests check the exact text.

use std::fmt::Display;

use serde_json::value::RawValue;
use serde_json::Value;

use crate::client::RpcError;

/// The text and exit status of one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// For standard output, with its final newline (empty: print nothing).
    pub stdout: String,
    /// For standard error, with its final newline.
    pub stderr: String,
    /// The process exit status.
    pub exit_code: u8,
}

impl Output {
    /// A successful result as the node wrote it: numbers keep their text, so an amount
    /// prints with its 8 decimals as `bitcoin-cli` prints it.
    pub fn raw_result(raw: &RawValue) -> Output {
        let text = match serde_json::from_str::<Value>(raw.get()) {
            Ok(Value::Null) => String::new(),
            Ok(Value::String(s)) => s,
            _ => pretty_raw(raw.get()),
        };
        Output {
            stdout: if text.is_empty() { text } else { text + "\n" },
            stderr: String::new(),
            exit_code: 0,
        }
    }

    /// A successful result.
    pub fn result(value: &Value) -> Output {
        let text = format_result(value);
        Output {
            stdout: if text.is_empty() { text } else { text + "\n" },
            stderr: String::new(),
            exit_code: 0,
        }
    }

    /// A failed call: the node's error object in `bitcoin-cli`'s layout and exit status,
    /// anything else as `error: <message>` with status 1.
    pub fn rpc_error(error: &RpcError) -> Output {
        match error {
            RpcError::Rpc { code, message } => Output {
                stdout: String::new(),
                stderr: format!("error code: {code}\nerror message:\n{message}\n"),
                exit_code: exit_code_for(*code),
            },
            other => Output::error(other),
        }
    }

    /// Any other failure (bad command line, no connection): `error: <message>`, status 1.
    pub fn error(message: impl Display) -> Output {
        Output {
            stdout: String::new(),
            stderr: format!("error: {message}\n"),
            exit_code: 1,
        }
    }

    /// Plain text on stdout with status 0 (`--help`, `--version`).
    pub fn text(text: impl Into<String>) -> Output {
        let mut stdout = text.into();
        if !stdout.is_empty() && !stdout.ends_with('\n') {
            stdout.push('\n');
        }
        Output {
            stdout,
            stderr: String::new(),
            exit_code: 0,
        }
    }
}

/// A result as `bitcoin-cli` prints it: null as nothing, a string as itself (so
/// `$(dotcoin-cli getbestblockhash)` is the bare hash), anything else as JSON indented by
/// two spaces.
pub fn format_result(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => serde_json::to_string_pretty(other).expect("a Value always serializes"),
    }
}

/// Indents JSON text by two spaces per level, as `serde_json::to_string_pretty` does,
/// without parsing its numbers: a parsed `0.00000584` would print back as `5.84e-6`.
/// Only whitespace outside strings changes; `json` must be valid JSON (the node's reply
/// was parsed before it got here).
pub fn pretty_raw(json: &str) -> String {
    let mut out = String::with_capacity(json.len() * 2);
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut chars = json.chars().peekable();
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        out.extend(std::iter::repeat_n("  ", depth));
    };
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '{' | '[' => {
                out.push(c);
                // An empty container stays on one line: `[]`, `{}`.
                while chars.peek().is_some_and(|c| c.is_ascii_whitespace()) {
                    chars.next();
                }
                if matches!(chars.peek(), Some('}' | ']')) {
                    out.push(chars.next().expect("peeked"));
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            c if c.is_ascii_whitespace() => {}
            c => out.push(c),
        }
    }
    out
}

/// `bitcoin-cli` exits with the absolute value of the RPC error code (`-8` → 8). The OS
/// keeps only the low 8 bits (`-32601` → 89); where those are 0 the call still failed, so
/// this returns 1 instead of a success status.
pub fn exit_code_for(code: i64) -> u8 {
    match (code.unsigned_abs() % 256) as u8 {
        0 => 1,
        low => low,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn results() {
        assert_eq!(Output::result(&json!(101)).stdout, "101\n");
        assert_eq!(Output::result(&json!("00ab")).stdout, "00ab\n");
        assert_eq!(Output::result(&Value::Null).stdout, "");
        assert_eq!(Output::result(&json!(true)).stdout, "true\n");
        assert_eq!(
            Output::result(&json!({"blocks": 3, "chain": "regtest"})).stdout,
            "{\n  \"blocks\": 3,\n  \"chain\": \"regtest\"\n}\n"
        );
        assert_eq!(Output::result(&json!([])).stdout, "[]\n");
        let ok = Output::result(&json!(1));
        assert_eq!((ok.stderr.as_str(), ok.exit_code), ("", 0));
        // A string with quotes or newlines is printed as is, not escaped.
        assert_eq!(format_result(&json!("a \"b\"\nc")), "a \"b\"\nc");
    }

    #[test]
    fn raw_results_keep_the_nodes_numbers() {
        let raw = |s: &str| RawValue::from_string(s.to_owned()).expect("valid JSON");
        let out = Output::raw_result(&raw(
            r#"{"fee":0.00000584,"vout":[{"value":50.00000000,"n":0}],"e":[],"o":{},"s":"a,{\"b\":[1]}"}"#,
        ));
        assert_eq!(
            out.stdout,
            "{\n  \"fee\": 0.00000584,\n  \"vout\": [\n    {\n      \"value\": 50.00000000,\n      \"n\": 0\n    }\n  ],\n  \"e\": [],\n  \"o\": {},\n  \"s\": \"a,{\\\"b\\\":[1]}\"\n}\n"
        );
        // The same layout as serde_json's pretty printer wherever numbers agree.
        let v = json!({"a": [1, {"b": null, "c": "x:y"}], "d": true, "e": {"f": []}});
        assert_eq!(
            pretty_raw(&v.to_string()),
            serde_json::to_string_pretty(&v).expect("serializes")
        );
        assert_eq!(Output::raw_result(&raw("\"00ab\"")).stdout, "00ab\n");
        assert_eq!(Output::raw_result(&raw("null")).stdout, "");
        assert_eq!(
            Output::raw_result(&raw("1.00000000")).stdout,
            "1.00000000\n"
        );
    }

    #[test]
    fn node_errors_look_like_bitcoin_cli() {
        let out = Output::rpc_error(&RpcError::Rpc {
            code: -8,
            message: "Invalid parameter, verbosity".into(),
        });
        assert_eq!(out.stdout, "");
        assert_eq!(
            out.stderr,
            "error code: -8\nerror message:\nInvalid parameter, verbosity\n"
        );
        assert_eq!(out.exit_code, 8);
    }

    #[test]
    fn other_errors() {
        let out = Output::rpc_error(&RpcError::Unauthorized);
        assert_eq!(
            out.stderr,
            "error: Authorization failed: Incorrect rpcuser or rpcpassword\n"
        );
        assert_eq!(out.exit_code, 1);
        assert_eq!(Output::error("x").stderr, "error: x\n");
    }

    #[test]
    fn exit_codes() {
        assert_eq!(exit_code_for(-8), 8);
        assert_eq!(exit_code_for(-28), 28);
        assert_eq!(exit_code_for(-26), 26);
        assert_eq!(exit_code_for(-32601), 89);
        assert_eq!(exit_code_for(0), 1);
        assert_eq!(exit_code_for(-256), 1);
        assert_eq!(exit_code_for(i64::MIN), 1);
    }

    #[test]
    fn text_gets_one_newline() {
        assert_eq!(Output::text("v1").stdout, "v1\n");
        assert_eq!(Output::text("v1\n").stdout, "v1\n");
    }
}
