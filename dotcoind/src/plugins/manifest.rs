//! What a plugin declares in its `getmanifest` reply, and the checks that declaration must
//! pass before the node routes anything to it. A manifest comes from a program the user
//! started, but it is still parsed as hostile input: every list and string is bounded, and
//! every name is checked against what the node knows.

use std::collections::BTreeSet;

use dotcoin_common::events::EVENT_TYPES;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Whether a plugin may subscribe to `topic`: every event type of the schema
/// (`docs/events.md`) and `shutdown` (or `"*"` for all of them).
pub fn is_topic(topic: &str) -> bool {
    topic == "shutdown" || EVENT_TYPES.contains(&topic)
}

/// Hooks a plugin may register.
pub const HOOKS: [&str; 2] = ["mempool_accept", "peer_connected"];

/// Most methods, options, subscriptions or hooks one manifest may declare.
pub const MAX_ITEMS: usize = 64;
/// Longest name of a method or option.
pub const MAX_NAME: usize = 64;
/// Longest usage or description text.
pub const MAX_TEXT: usize = 2000;

/// A method the plugin serves through the node's RPC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MethodDecl {
    /// The method name, as clients call it.
    pub name: String,
    /// Argument synopsis for `help`, e.g. `"( name )"`.
    #[serde(default)]
    pub usage: String,
    /// One-line description for `help`.
    #[serde(default)]
    pub description: String,
}

/// A hook registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookDecl {
    /// One of [`HOOKS`].
    pub name: String,
}

/// The type of a plugin option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptionType {
    /// Any text.
    String,
    /// A signed 64-bit integer.
    Int,
    /// `true` or `false` (also `1`/`0`).
    Bool,
    /// `true` when given at all.
    Flag,
}

/// An option the plugin takes, set with `--plugin-opt NAME=VALUE`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptionDecl {
    /// The option name.
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub kind: OptionType,
    /// Its value when not given.
    #[serde(default)]
    pub default: Option<Value>,
    /// What it does.
    #[serde(default)]
    pub description: String,
}

/// What the node decides for a plugin's hooks when it cannot ask the plugin: it is not
/// running (crashed, restarting), did not answer in time, or answered nonsense.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Failure {
    /// As if it had answered `continue`: the policy is off while the plugin is.
    Open,
    /// As if it had refused (`reject`, `disconnect`), naming the plugin: nothing passes a
    /// policy that cannot be asked.
    Closed,
}

/// A plugin's `getmanifest` reply.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Methods it serves.
    #[serde(default)]
    pub rpcmethods: Vec<MethodDecl>,
    /// Notification topics it wants.
    #[serde(default)]
    pub subscriptions: Vec<String>,
    /// Hooks it registers.
    #[serde(default)]
    pub hooks: Vec<HookDecl>,
    /// Options it takes.
    #[serde(default)]
    pub options: Vec<OptionDecl>,
    /// How its hooks fail; see [`Manifest::fails_closed`] for the default.
    #[serde(default)]
    pub failure: Option<Failure>,
}

impl Manifest {
    /// Parses and checks a `getmanifest` result.
    pub fn from_value(value: Value) -> Result<Manifest, String> {
        if !value.is_object() {
            return Err(format!(
                "getmanifest must return an object, got {}",
                type_name(&value)
            ));
        }
        let m: Manifest =
            serde_json::from_value(value).map_err(|e| format!("bad getmanifest result: {e}"))?;
        m.check()?;
        Ok(m)
    }

    fn check(&self) -> Result<(), String> {
        for (what, n) in [
            ("rpcmethods", self.rpcmethods.len()),
            ("subscriptions", self.subscriptions.len()),
            ("hooks", self.hooks.len()),
            ("options", self.options.len()),
        ] {
            if n > MAX_ITEMS {
                return Err(format!("{what}: {n} entries, at most {MAX_ITEMS}"));
            }
        }
        let mut seen = BTreeSet::new();
        for m in &self.rpcmethods {
            check_name(&m.name, "method", '_')?;
            check_text(&m.usage, &m.name)?;
            check_text(&m.description, &m.name)?;
            if !seen.insert(&m.name) {
                return Err(format!("method {:?} declared twice", m.name));
            }
        }
        let mut seen = BTreeSet::new();
        for t in &self.subscriptions {
            if t != "*" && !is_topic(t) {
                return Err(format!(
                    "unknown subscription topic {t:?} (known: {}, or \"*\")",
                    EVENT_TYPES.join(", ") + ", shutdown"
                ));
            }
            if !seen.insert(t) {
                return Err(format!("topic {t:?} subscribed twice"));
            }
        }
        let mut seen = BTreeSet::new();
        for h in &self.hooks {
            if !HOOKS.contains(&h.name.as_str()) {
                return Err(format!(
                    "unknown hook {:?} (known: {})",
                    h.name,
                    HOOKS.join(", ")
                ));
            }
            if !seen.insert(&h.name) {
                return Err(format!("hook {:?} registered twice", h.name));
            }
        }
        let mut seen = BTreeSet::new();
        for o in &self.options {
            check_name(&o.name, "option", '-')?;
            check_text(&o.description, &o.name)?;
            if let Some(d) = &o.default {
                check_type(o, d).map_err(|e| format!("default of option {:?}: {e}", o.name))?;
            }
            if !seen.insert(&o.name) {
                return Err(format!("option {:?} declared twice", o.name));
            }
        }
        Ok(())
    }

    /// Whether the plugin wants notifications of `topic`.
    pub fn subscribes(&self, topic: &str) -> bool {
        self.subscriptions.iter().any(|t| t == topic || t == "*")
    }

    /// Whether the plugin registered `hook`.
    pub fn hooks(&self, hook: &str) -> bool {
        self.hooks.iter().any(|h| h.name == hook)
    }

    /// Whether its hooks fail closed. Unless the plugin says otherwise, a plugin with a
    /// `mempool_accept` hook does: it is there to keep transactions out, and a crash or a
    /// slow answer must not let them in. Any other plugin fails open.
    pub fn fails_closed(&self) -> bool {
        match self.failure {
            Some(f) => f == Failure::Closed,
            None => self.hooks("mempool_accept"),
        }
    }

    /// The method called `name`, if declared.
    pub fn method(&self, name: &str) -> Option<&MethodDecl> {
        self.rpcmethods.iter().find(|m| m.name == name)
    }

    /// The `init` options: each declared option with its given value or its default.
    /// `given` holds the `--plugin-opt` pairs; the ones for other plugins are ignored.
    pub fn option_values(
        &self,
        given: &[(String, String)],
    ) -> Result<serde_json::Map<String, Value>, String> {
        let mut out = serde_json::Map::new();
        for o in &self.options {
            let value = match given.iter().rev().find(|(k, _)| *k == o.name) {
                Some((_, v)) => parse_option(o, v)?,
                None => match (&o.default, o.kind) {
                    (Some(d), _) => d.clone(),
                    (None, OptionType::Flag) => Value::Bool(false),
                    (None, _) => Value::Null,
                },
            };
            out.insert(o.name.clone(), value);
        }
        Ok(out)
    }
}

/// Names are what clients type: lower-case ASCII letters, digits and one separator.
fn check_name(name: &str, what: &str, sep: char) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == sep);
    if ok {
        Ok(())
    } else {
        Err(format!(
            "bad {what} name {:?}: use lower-case letters, digits and '{sep}', \
             starting with a letter, at most {MAX_NAME} characters",
            truncate(name, 80)
        ))
    }
}

fn check_text(text: &str, owner: &str) -> Result<(), String> {
    if text.len() > MAX_TEXT {
        return Err(format!(
            "text of {owner:?} is {} bytes, at most {MAX_TEXT}",
            text.len()
        ));
    }
    Ok(())
}

fn check_type(o: &OptionDecl, v: &Value) -> Result<(), String> {
    let ok = match o.kind {
        OptionType::String => v.is_string(),
        OptionType::Int => v.is_i64(),
        OptionType::Bool | OptionType::Flag => v.is_boolean(),
    };
    if ok {
        Ok(())
    } else {
        Err(format!("expected {:?}, got {}", o.kind, type_name(v)))
    }
}

/// Parses `--plugin-opt NAME=VALUE` text as the option's declared type.
pub fn parse_option(o: &OptionDecl, text: &str) -> Result<Value, String> {
    let bad = |want: &str| format!("--plugin-opt {}={text:?}: expected {want}", o.name);
    match o.kind {
        OptionType::String => Ok(Value::String(text.to_owned())),
        OptionType::Int => text
            .trim()
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| bad("an integer")),
        OptionType::Bool | OptionType::Flag => match text.trim() {
            "1" | "true" => Ok(Value::Bool(true)),
            "" if o.kind == OptionType::Flag => Ok(Value::Bool(true)),
            "0" | "false" => Ok(Value::Bool(false)),
            _ => Err(bad("true or false")),
        },
    }
}

/// Plain-words JSON type, for error messages.
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// At most `n` characters of `s`, for quoting hostile text in a log line.
pub fn truncate(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn accepts_a_full_manifest_and_fills_option_defaults() {
        let m = Manifest::from_value(json!({
            "rpcmethods": [{"name": "hello", "usage": "( name )", "description": "Greets."}],
            "subscriptions": ["block_connected", "tip_changed", "shutdown"],
            "hooks": [{"name": "mempool_accept"}],
            "options": [
                {"name": "greeting", "type": "string", "default": "Hello", "description": ""},
                {"name": "loud", "type": "flag"},
                {"name": "count", "type": "int", "default": 3}
            ],
            "dynamic": true
        }))
        .expect("valid manifest");
        assert!(m.subscribes("tip_changed") && !m.subscribes("tx_accepted"));
        assert!(m.hooks("mempool_accept") && !m.hooks("peer_connected"));
        assert!(
            m.fails_closed(),
            "a mempool_accept hook fails closed by default"
        );
        let open = Manifest::from_value(json!({
            "hooks": [{"name": "mempool_accept"}], "failure": "open"
        }))
        .expect("valid");
        assert!(!open.fails_closed());
        let gate =
            Manifest::from_value(json!({"hooks": [{"name": "peer_connected"}]})).expect("valid");
        assert!(!gate.fails_closed(), "other hooks fail open by default");
        let closed = Manifest::from_value(json!({
            "hooks": [{"name": "peer_connected"}], "failure": "closed"
        }))
        .expect("valid");
        assert!(closed.fails_closed());
        let opts = m
            .option_values(&[("count".into(), "7".into()), ("other".into(), "x".into())])
            .expect("valid values");
        assert_eq!(opts["greeting"], "Hello");
        assert_eq!(opts["loud"], false);
        assert_eq!(opts["count"], 7);
        let err = m
            .option_values(&[("count".into(), "seven".into())])
            .expect_err("not an int");
        assert!(err.contains("expected an integer"), "{err}");
    }

    #[test]
    fn refuses_bad_declarations() {
        for (bad, why) in [
            (json!([]), "must return an object"),
            (
                json!({"rpcmethods": [{"name": "Hello"}]}),
                "bad method name",
            ),
            (json!({"rpcmethods": [{"name": "a b"}]}), "bad method name"),
            (
                json!({"rpcmethods": [{"name": "x"}, {"name": "x"}]}),
                "declared twice",
            ),
            (json!({"subscriptions": ["blocks"]}), "unknown subscription"),
            // A reorg is a `tip_changed` whose `reorg` is set, not a topic of its own.
            (json!({"subscriptions": ["reorg"]}), "unknown subscription"),
            (json!({"hooks": [{"name": "db_write"}]}), "unknown hook"),
            (
                json!({"options": [{"name": "n", "type": "int", "default": "x"}]}),
                "default of option",
            ),
            (
                json!({"options": [{"name": "n", "type": "float"}]}),
                "bad getmanifest result",
            ),
            (json!({"rpcmethods": "hello"}), "bad getmanifest result"),
            (json!({"failure": "maybe"}), "bad getmanifest result"),
        ] {
            let err = Manifest::from_value(bad.clone()).expect_err("refused");
            assert!(err.contains(why), "{bad}: {err}");
        }
        let many: Vec<Value> = (0..=MAX_ITEMS)
            .map(|i| json!({"name": format!("m{i}")}))
            .collect();
        let err = Manifest::from_value(json!({ "rpcmethods": many })).expect_err("too many");
        assert!(err.contains("at most"), "{err}");
    }
}
