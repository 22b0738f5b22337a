//! Parameters held against the service's method table before anything runs, as Core's
//! `RPCHelpMan` does: named parameters become positional (gaps are `null`, which every
//! method reads as "not given"), unknown names and surplus positions are refused naming
//! them. A method the table does not know (a plugin's, or none at all) passes untouched.

use serde_json::Value;

use crate::arg::ParamError;
use crate::codes::RpcErrorCode;

/// A parameter's name as a table spells it: `name`, or `name|alias|…` (Core's
/// `verbosity|verbose`).
pub trait ParamName {
    /// The name and its aliases, separated by `|`.
    fn spelling(&self) -> &str;

    /// The main name (before any alias).
    fn main_name(&self) -> &str {
        let s = self.spelling();
        s.split('|').next().unwrap_or(s)
    }

    /// Whether a named parameter `key` is this one.
    fn answers_to(&self, key: &str) -> bool {
        self.spelling().split('|').any(|n| n == key)
    }

    /// Whether a call must give it (not given and `null` are the same).
    fn required(&self) -> bool {
        false
    }

    /// The check of a given (non-`null`) value, from the parameter's declared type
    /// ([`crate::arg::FromParam`]).
    fn check(&self, _value: &Value) -> Result<(), ParamError> {
        Ok(())
    }
}

impl ParamName for &str {
    fn spelling(&self) -> &str {
        self
    }
}

/// What a service tells the wire about its methods.
pub trait MethodTable: Send + Sync + 'static {
    /// How the table names one parameter.
    type Param: ParamName;

    /// `method`'s parameters in positional order; `None` for a method the table does not
    /// know (its parameters pass as they are, and jsonrpsee decides whether it exists).
    fn params(&self, method: &str) -> Option<&[Self::Param]>;

    /// The code for surplus positional parameters. Core answers its help text as
    /// `RPC_MISC_ERROR`; a table may choose `RPC_INVALID_PARAMETER` since the message
    /// names the surplus values.
    fn surplus_code(&self) -> i32 {
        RpcErrorCode::InvalidParameter as i32
    }

    /// A check of one request element's raw JSON text before it runs (the wallet refuses
    /// an object with a key given twice, which a parsed tree would silently collapse).
    fn check_element(&self, _method: &str, _raw: &str) -> Result<(), (i32, String)> {
        Ok(())
    }
}

/// Most characters of one surplus value quoted back in the error.
const QUOTE_MAX: usize = 40;

/// Holds `params` against `method`'s entry in `table` (see the module docs): puts named
/// parameters in place, then checks every given value against its declared type and
/// refuses a call missing a required one, as Core's `RPCHelpMan` does before a handler
/// runs.
pub fn normalize_params<T: MethodTable + ?Sized>(
    table: &T,
    method: &str,
    params: Value,
) -> Result<Value, (i32, String)> {
    let placed = place_params(table, method, params)?;
    let Some(args) = table.params(method) else {
        return Ok(placed);
    };
    let given: &[Value] = match &placed {
        Value::Array(list) => list,
        _ => &[],
    };
    for (i, arg) in args.iter().enumerate() {
        match given.get(i) {
            None | Some(Value::Null) => {
                if arg.required() {
                    return Err((
                        RpcErrorCode::Misc as i32,
                        format!("missing required parameter '{}'", arg.main_name()),
                    ));
                }
            }
            Some(v) => arg.check(v).map_err(|e| (e.code as i32, e.message))?,
        }
    }
    Ok(placed)
}

fn place_params<T: MethodTable + ?Sized>(
    table: &T,
    method: &str,
    params: Value,
) -> Result<Value, (i32, String)> {
    let Some(args) = table.params(method) else {
        return Ok(params);
    };
    let invalid = RpcErrorCode::InvalidParameter as i32;
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    match params {
        Value::Array(list) => {
            if list.len() > args.len() {
                let surplus: Vec<String> = list[args.len()..]
                    .iter()
                    .map(|v| {
                        let mut s = v.to_string();
                        if s.len() > QUOTE_MAX {
                            let mut cut = QUOTE_MAX - 3;
                            while !s.is_char_boundary(cut) {
                                cut -= 1;
                            }
                            s.truncate(cut);
                            s.push_str("...");
                        }
                        s
                    })
                    .collect();
                return Err((
                    table.surplus_code(),
                    format!(
                        "{method} takes at most {} parameter{}; surplus parameter{} at position {}: {}",
                        args.len(),
                        plural(args.len()),
                        plural(surplus.len()),
                        args.len() + 1,
                        surplus.join(", ")
                    ),
                ));
            }
            Ok(Value::Array(list))
        }
        Value::Object(map) => {
            let mut positional = vec![Value::Null; args.len()];
            let mut given = vec![false; args.len()];
            let mut unknown = Vec::new();
            let mut last = 0;
            for (key, value) in map {
                match args.iter().position(|a| a.answers_to(&key)) {
                    Some(i) => {
                        if given[i] {
                            return Err((
                                invalid,
                                format!("Parameter {} specified twice", args[i].main_name()),
                            ));
                        }
                        given[i] = true;
                        last = last.max(i + 1);
                        positional[i] = value;
                    }
                    None => unknown.push(key),
                }
            }
            if !unknown.is_empty() {
                let names: Vec<&str> = args.iter().map(ParamName::main_name).collect();
                let takes = if names.is_empty() {
                    "no parameters".to_owned()
                } else {
                    names.join(", ")
                };
                return Err((
                    invalid,
                    format!(
                        "Unknown named parameter{} {} ({method} takes {takes})",
                        plural(unknown.len()),
                        unknown.join(", ")
                    ),
                ));
            }
            positional.truncate(last);
            Ok(Value::Array(positional))
        }
        other => Ok(other),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    /// A table like a service's: two methods, one with an alias.
    #[derive(Debug)]
    pub(crate) struct Table;

    impl MethodTable for Table {
        type Param = &'static str;
        fn params(&self, method: &str) -> Option<&[&'static str]> {
            match method {
                "count" => Some(&[]),
                "get" => Some(&["hash", "verbosity|verbose", "extra"]),
                _ => None,
            }
        }
    }

    #[test]
    fn surplus_positional_is_refused_naming_it() {
        let (code, msg) =
            normalize_params(&Table, "get", json!([1, 2, 3, "surplus"])).expect_err("surplus");
        assert_eq!(code, -8);
        assert!(
            msg.contains("\"surplus\"") && msg.contains("position 4"),
            "{msg}"
        );
        assert_eq!(
            normalize_params(&Table, "count", json!([])).ok(),
            Some(json!([]))
        );
        let (_, msg) =
            normalize_params(&Table, "count", json!(["é".repeat(40)])).expect_err("surplus");
        assert!(msg.ends_with("...") && msg.len() < 120, "{msg}");
    }

    #[test]
    fn named_become_positional_and_unknown_are_refused() {
        assert_eq!(
            normalize_params(&Table, "get", json!({"verbosity": 2, "hash": "ab"})).ok(),
            Some(json!(["ab", 2]))
        );
        // The alias, and a gap that becomes null.
        assert_eq!(
            normalize_params(&Table, "get", json!({"hash": "t", "extra": 1})).ok(),
            Some(json!(["t", null, 1]))
        );
        assert_eq!(
            normalize_params(&Table, "get", json!({"verbose": true})).ok(),
            Some(json!([null, true]))
        );
        let (code, msg) = normalize_params(&Table, "get", json!({"verbose": 1, "verbosity": 2}))
            .expect_err("twice");
        assert_eq!(
            (code, msg.as_str()),
            (-8, "Parameter verbosity specified twice")
        );
        let (code, msg) =
            normalize_params(&Table, "get", json!({"hash": "ab", "bogus": 1})).expect_err("bogus");
        assert_eq!(code, -8);
        assert_eq!(
            msg,
            "Unknown named parameter bogus (get takes hash, verbosity, extra)"
        );
        let (_, msg) = normalize_params(&Table, "count", json!({"a": 1})).expect_err("none");
        assert!(msg.ends_with("(count takes no parameters)"), "{msg}");
        // Unknown methods pass untouched.
        assert_eq!(
            normalize_params(&Table, "plugin_method", json!({"any": 1})).ok(),
            Some(json!({"any": 1}))
        );
    }

    #[test]
    fn a_table_chooses_the_surplus_code() {
        #[derive(Debug)]
        struct Misc;
        impl MethodTable for Misc {
            type Param = &'static str;
            fn params(&self, _: &str) -> Option<&[&'static str]> {
                Some(&[])
            }
            fn surplus_code(&self) -> i32 {
                RpcErrorCode::Misc as i32
            }
        }
        let (code, _) = normalize_params(&Misc, "any", json!([1])).expect_err("surplus");
        assert_eq!(code, -1);
    }
}
