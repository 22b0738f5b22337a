//! What the user sees: results on stdout as pretty JSON (bare strings unquoted, as
//! `dotcoin-cli` prints them), notes and errors on stderr. The only module that prints.
//!
//! Results are built as a small [`Json`] tree rather than `serde_json::Value` because
//! amounts must print as JSON numbers with exactly 8 decimals (`50.00000000`, as Bitcoin
//! Core prints BTC), which `serde_json` cannot do without a workspace-wide feature.

use std::fmt::Write as _;

use dotcoin_common::Amount;

use crate::error::WalletError;

/// A JSON value for output.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A signed amount in base units, printed in DOT with 8 decimals.
    Amount(i128),
    /// A string.
    Str(String),
    /// An array.
    Arr(Vec<Json>),
    /// An object, fields in order.
    Obj(Vec<(String, Json)>),
}

impl Json {
    /// An amount.
    pub fn amount(a: Amount) -> Json {
        Json::Amount(i128::from(a.to_sat()))
    }

    /// A serde JSON value (floats, which the wallet's own answers never have, print as
    /// their shortest text).
    pub fn from_value(v: &serde_json::Value) -> Json {
        use serde_json::Value as V;
        match v {
            V::Null => Json::Null,
            V::Bool(b) => Json::Bool(*b),
            V::Number(n) => n
                .as_i64()
                .map_or_else(|| Json::Str(n.to_string()), Json::Int),
            V::String(s) => Json::Str(s.clone()),
            V::Array(a) => Json::Arr(a.iter().map(Json::from_value).collect()),
            V::Object(o) => Json::Obj(
                o.iter()
                    .map(|(k, v)| (k.clone(), Json::from_value(v)))
                    .collect(),
            ),
        }
    }

    /// An object from `(name, value)` pairs.
    pub fn obj<const N: usize>(fields: [(&str, Json); N]) -> Json {
        Json::Obj(fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
    }

    /// Pretty-printed like `serde_json::to_string_pretty`.
    pub fn pretty(&self) -> String {
        let mut out = String::new();
        self.write(&mut out, 0);
        out
    }

    fn write(&self, out: &mut String, indent: usize) {
        let pad = |out: &mut String, n: usize| out.push_str(&"  ".repeat(n));
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Json::Amount(sat) => {
                let sign = if *sat < 0 { "-" } else { "" };
                let abs = sat.unsigned_abs();
                let _ = write!(out, "{sign}{}.{:08}", abs / 100_000_000, abs % 100_000_000);
            }
            Json::Str(s) => {
                out.push_str(&serde_json::to_string(s).expect("strings serialize"));
            }
            Json::Arr(items) if items.is_empty() => out.push_str("[]"),
            Json::Arr(items) => {
                out.push_str("[\n");
                for (i, item) in items.iter().enumerate() {
                    pad(out, indent + 1);
                    item.write(out, indent + 1);
                    out.push_str(if i + 1 < items.len() { ",\n" } else { "\n" });
                }
                pad(out, indent);
                out.push(']');
            }
            Json::Obj(fields) if fields.is_empty() => out.push_str("{}"),
            Json::Obj(fields) => {
                out.push_str("{\n");
                for (i, (k, v)) in fields.iter().enumerate() {
                    pad(out, indent + 1);
                    out.push_str(&serde_json::to_string(k).expect("strings serialize"));
                    out.push_str(": ");
                    v.write(out, indent + 1);
                    out.push_str(if i + 1 < fields.len() { ",\n" } else { "\n" });
                }
                pad(out, indent);
                out.push('}');
            }
        }
    }

    /// One-line JSON, as a JSON-RPC result is sent (amounts keep their 8 decimals).
    pub fn compact(&self) -> String {
        let mut out = String::new();
        self.write_compact(&mut out);
        out
    }

    fn write_compact(&self, out: &mut String) {
        match self {
            Json::Arr(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write_compact(out);
                }
                out.push(']');
            }
            Json::Obj(fields) => {
                out.push('{');
                for (i, (k, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&serde_json::to_string(k).expect("strings serialize"));
                    out.push(':');
                    v.write_compact(out);
                }
                out.push('}');
            }
            scalar => scalar.write(out, 0),
        }
    }

    /// The text printed for a result: bare for a top-level string, pretty JSON otherwise.
    pub fn render(&self) -> String {
        match self {
            Json::Str(s) => s.clone(),
            other => other.pretty(),
        }
    }
}

/// A command's result and the notes to show beside it.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Printed on stdout.
    pub result: Json,
    /// Printed on stderr, one per line, as `note: …`.
    pub notes: Vec<String>,
}

impl Outcome {
    /// A result with no notes.
    pub fn new(result: Json) -> Outcome {
        Outcome {
            result,
            notes: Vec::new(),
        }
    }
}

// The binary's output contract is stdout for results and stderr for notes and errors;
// these are the only prints in the crate.
#[allow(clippy::print_stdout, clippy::print_stderr)]
mod print {
    use super::*;

    /// Prints a successful outcome.
    pub fn outcome(outcome: &Outcome) {
        for note in &outcome.notes {
            eprintln!("note: {note}");
        }
        println!("{}", outcome.result.render());
    }

    /// Prints an error as `error: <message>`.
    pub fn error(e: &WalletError) {
        eprintln!("error: {e}");
    }

    /// Prints a prompt-adjacent message (e.g. the passphrase confirmation hint).
    pub fn note(msg: &str) {
        eprintln!("note: {msg}");
    }
}

pub use print::{error as print_error, note as print_note, outcome as print_outcome};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_print_with_8_decimals() {
        let j = Json::obj([
            ("confirmed", Json::amount(Amount::from_dot(50))),
            ("unconfirmed", Json::Amount(-12_345)),
            ("immature", Json::amount(Amount::from_sat(1))),
        ]);
        assert_eq!(
            j.render(),
            "{\n  \"confirmed\": 50.00000000,\n  \"unconfirmed\": -0.00012345,\n  \"immature\": \
             0.00000001\n}"
        );
        // Still valid JSON with the same numbers.
        let v: serde_json::Value = serde_json::from_str(&j.render()).expect("json");
        assert_eq!(v["confirmed"], serde_json::json!(50.0));
    }

    #[test]
    fn pretty_matches_serde_json_layout() {
        let j = Json::obj([
            ("a", Json::Arr(vec![Json::Int(1), Json::Str("x\"y".into())])),
            ("b", Json::Arr(vec![])),
            ("c", Json::Obj(vec![])),
            ("d", Json::Null),
            ("e", Json::Bool(true)),
        ]);
        let expected = serde_json::to_string_pretty(&serde_json::json!({
            "a": [1, "x\"y"], "b": [], "c": {}, "d": null, "e": true
        }))
        .expect("json");
        assert_eq!(j.pretty(), expected);
        assert_eq!(Json::Str("bare".into()).render(), "bare");
    }
}
