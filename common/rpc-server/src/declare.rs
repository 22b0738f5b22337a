//! How a service declares a method's parameters, once: [`Arg`] rows built with [`arg`] and
//! [`opt_arg`] from a parameter type ([`crate::arg::FromParam`]), from which the wire's
//! checks ([`crate::ParamName`]), `dotcoin-cli`'s conversion (string or JSON) and the help
//! texts ([`synopsis`], [`arguments_help`]) all come. The node's `rpc/spec.rs` and the
//! wallet service's method table are lists of these.

use serde_json::Value;

use crate::arg::{check, FromParam, ParamError};
use crate::params::ParamName;

/// How a table checks one given value: the declared type's [`FromParam`] check.
pub type CheckFn = fn(&Value, &str) -> Result<(), ParamError>;

/// One parameter. `name` may carry aliases after `|` (Core's `verbosity|verbose`).
#[derive(Debug, Clone, Copy)]
pub struct Arg {
    /// Core's name, then aliases, separated by `|`.
    pub name: &'static str,
    /// Core's word for its type in help.
    pub ty: &'static str,
    /// Whether `dotcoin-cli` passes it as a string (else it parses the argument as JSON).
    pub cli_string: bool,
    /// The check of a given value, from the handler's parameter type.
    pub check: CheckFn,
    /// `None` when required, else the default as help prints it.
    pub default: Option<&'static str>,
    /// What it is.
    pub desc: &'static str,
}

impl Arg {
    /// The main name (before any alias).
    pub fn main_name(&self) -> &'static str {
        self.name.split('|').next().unwrap_or(self.name)
    }
}

impl ParamName for Arg {
    fn spelling(&self) -> &str {
        self.name
    }

    fn required(&self) -> bool {
        self.default.is_none()
    }

    fn check(&self, value: &Value) -> Result<(), ParamError> {
        (self.check)(value, self.main_name())
    }
}

/// A required parameter of type `T`: help's type word, the CLI's conversion and the
/// wire's check all come from `T`, the type the handler decodes it as.
pub const fn arg<T: FromParam>(name: &'static str, desc: &'static str) -> Arg {
    Arg {
        name,
        ty: T::TYPE,
        cli_string: T::CLI_STRING,
        check: check::<T>,
        default: None,
        desc,
    }
}

/// An optional parameter of type `T` with its default as help prints it.
pub const fn opt_arg<T: FromParam>(
    name: &'static str,
    default: &'static str,
    desc: &'static str,
) -> Arg {
    Arg {
        name,
        ty: T::TYPE,
        cli_string: T::CLI_STRING,
        check: check::<T>,
        default: Some(default),
        desc,
    }
}

/// The one-line synopsis of a method's arguments, as `help` lists them, Core's way:
/// string parameters quoted, optional ones in parentheses (`"blockhash" ( verbosity )`).
pub fn synopsis(args: &[Arg]) -> String {
    let word = |a: &Arg| {
        if a.cli_string {
            format!("\"{}\"", a.main_name())
        } else {
            a.main_name().to_owned()
        }
    };
    let required: Vec<String> = args
        .iter()
        .filter(|a| a.default.is_none())
        .map(word)
        .collect();
    let optional: Vec<String> = args
        .iter()
        .filter(|a| a.default.is_some())
        .map(word)
        .collect();
    let mut out = required.join(" ");
    if !optional.is_empty() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&format!("( {} )", optional.join(" ")));
    }
    out
}

/// Help's `Arguments:` section, one numbered line per parameter with its type, whether it
/// is required (or its default) and what it is; empty for a method without parameters.
pub fn arguments_help(args: &[Arg]) -> String {
    if args.is_empty() {
        return String::new();
    }
    let mut out = "Arguments:\n".to_owned();
    for (i, a) in args.iter().enumerate() {
        let need = match a.default {
            None => "required".to_owned(),
            Some(d) => format!("optional, default={d}"),
        };
        out.push_str(&format!(
            "{}. {:<22} ({}, {need}) {}\n",
            i + 1,
            a.main_name(),
            a.ty,
            a.desc
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arg::{Flag, Text, Uint};

    const ARGS: &[Arg] = &[
        arg::<Text>("blockhash|hash", "The block hash"),
        opt_arg::<Uint>("verbosity|verbose", "1", "How much"),
        opt_arg::<Flag>("extra", "false", "More"),
    ];

    #[test]
    fn help_comes_from_the_declared_types() {
        assert_eq!(synopsis(ARGS), "\"blockhash\" ( verbosity extra )");
        assert_eq!(synopsis(&[]), "");
        let text = arguments_help(ARGS);
        assert!(text.starts_with("Arguments:\n1. blockhash "), "{text}");
        assert!(text.contains("(string, required) The block hash"), "{text}");
        assert!(
            text.contains("(numeric, optional, default=1) How much"),
            "{text}"
        );
        assert!(text.contains("3. extra"), "{text}");
        assert_eq!(arguments_help(&[]), "");
    }

    #[test]
    fn the_wire_reads_the_row() {
        let hash = ARGS[0];
        assert!(hash.required() && hash.answers_to("hash") && hash.cli_string);
        let e = ParamName::check(&hash, &Value::from(1)).expect_err("a number");
        assert!(e.message.contains("'blockhash'"), "{}", e.message);
        assert!(!ARGS[1].required() && !ARGS[1].cli_string);
    }
}
