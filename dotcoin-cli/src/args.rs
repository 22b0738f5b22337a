//! `dotcoin-cli`'s command line: options, the method and its arguments, and how the
//! arguments become JSON-RPC parameters.
//!
//! Hand-written rather than clap because Bitcoin Core's spelling has to work as well as the
//! GNU one: `-regtest`, `-rpcport=18632`, `--rpcport=18632` and `--rpcport 18632` all mean
//! the same. As in `bitcoin-cli`, options end at the first argument that does not start with
//! `-` (the method), so `getblockhash -1` passes `-1` to the node.

use std::io::BufRead;
use std::time::Duration;

use dotcoin_common::params::Network;
use serde_json::{Map, Value};

use crate::client::ConnectOptions;
use dotcoin_rpc_client::api::{CliMethod, Conv};

/// What the command line asks for.
// Made once per process and matched at once: boxing `Run` would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Invocation {
    /// `--help`: print [`usage`].
    Help,
    /// `--version`: print the version.
    Version,
    /// Talk to the node.
    Run(CliArgs),
}

/// A command line that talks to the node.
#[derive(Debug)]
pub struct CliArgs {
    /// Where the node is and how to log in.
    pub connect: ConnectOptions,
    /// `-named`: arguments are `key=value` and go as a params object.
    pub named: bool,
    /// `-stdin`: more arguments follow on standard input, one per line.
    pub stdin: bool,
    /// `-getinfo`: print a summary from several calls instead of calling a method.
    pub getinfo: bool,
    /// `-rpcwallet=NAME`: wallet calls go to that wallet of the wallet service.
    pub rpcwallet: Option<String>,
    /// `-walletport=P`: the wallet service's port (default: the node's RPC port + 3).
    pub walletport: Option<u16>,
    /// The method followed by its arguments, as given (empty for `-getinfo`, and possibly
    /// with `-stdin`, which may supply the method too).
    pub args: Vec<String>,
}

/// A command line that cannot be run.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ArgsError {
    /// An option this program does not know.
    #[error("Invalid parameter {0}")]
    UnknownOption(String),
    /// A value option at the end of the line.
    #[error("option -{0} needs a value")]
    MissingValue(String),
    /// A value that does not parse.
    #[error("invalid value '{value}' for -{option}: {reason}")]
    InvalidValue {
        /// Option name without dashes.
        option: String,
        /// The value given.
        value: String,
        /// What was expected.
        reason: &'static str,
    },
    /// `-regtest` together with `-chain=main`.
    #[error("-regtest and -chain={0} contradict each other")]
    NetworkConflict(Network),
    /// No method and no `-getinfo`.
    #[error("too few parameters (need at least command); see --help")]
    NoCommand,
    /// `-getinfo` followed by a method or arguments.
    #[error("-getinfo takes no arguments")]
    GetinfoWithArgs,
    /// With `-named`, an argument that is not `key=value`.
    #[error("named argument '{0}' is not key=value")]
    BadNamed(String),
    /// With `-named`, the same key twice.
    #[error("parameter {0} specified multiple times")]
    DuplicateNamed(String),
    /// An argument the method declares as JSON that does not parse (Core's words).
    #[error("Error parsing JSON: {0}")]
    BadJson(String),
}

/// The options, and whether each takes a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Opt {
    Help,
    Version,
    Regtest,
    Chain,
    Datadir,
    Rpcconnect,
    Rpcport,
    Rpcuser,
    Rpcpassword,
    Rpcwait,
    Rpcwaittimeout,
    Rpcclienttimeout,
    Named,
    Stdin,
    Getinfo,
    Rpcwallet,
    Walletport,
}

impl Opt {
    fn lookup(name: &str) -> Option<Opt> {
        Some(match name {
            "h" | "?" | "help" => Opt::Help,
            "version" => Opt::Version,
            "regtest" => Opt::Regtest,
            "chain" => Opt::Chain,
            "datadir" => Opt::Datadir,
            "rpcconnect" => Opt::Rpcconnect,
            "rpcport" => Opt::Rpcport,
            "rpcuser" => Opt::Rpcuser,
            "rpcpassword" => Opt::Rpcpassword,
            "rpcwait" => Opt::Rpcwait,
            "rpcwaittimeout" => Opt::Rpcwaittimeout,
            "rpcclienttimeout" => Opt::Rpcclienttimeout,
            "named" => Opt::Named,
            "stdin" => Opt::Stdin,
            "getinfo" => Opt::Getinfo,
            "rpcwallet" => Opt::Rpcwallet,
            "walletport" | "wallet-port" => Opt::Walletport,
            _ => return None,
        })
    }

    fn takes_value(self) -> bool {
        matches!(
            self,
            Opt::Chain
                | Opt::Datadir
                | Opt::Rpcconnect
                | Opt::Rpcport
                | Opt::Rpcuser
                | Opt::Rpcpassword
                | Opt::Rpcwaittimeout
                | Opt::Rpcclienttimeout
                | Opt::Rpcwallet
                | Opt::Walletport
        )
    }
}

/// Parses the command line (without the program name).
pub fn parse_args<I, S>(argv: I) -> Result<Invocation, ArgsError>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let mut argv = argv.into_iter().map(Into::into);
    let (mut help, mut version, mut regtest) = (false, false, false);
    let mut chain: Option<Network> = None;
    let mut connect = ConnectOptions::new(Network::Main);
    let (mut named, mut stdin, mut getinfo) = (false, false, false);
    let mut args = Vec::new();
    let (mut rpcwallet, mut walletport) = (None, None);

    while let Some(arg) = argv.next() {
        if arg == "--" {
            args.extend(argv.by_ref());
            break;
        }
        if !arg.starts_with('-') || arg == "-" {
            args.push(arg);
            args.extend(argv.by_ref());
            break;
        }
        let body = arg.strip_prefix("--").unwrap_or(&arg[1..]);
        let (name, inline) = match body.split_once('=') {
            Some((name, value)) => (name, Some(value)),
            None => (body, None),
        };
        let opt = Opt::lookup(name).ok_or_else(|| ArgsError::UnknownOption(arg.clone()))?;

        if !opt.takes_value() {
            let on = match inline {
                None => true,
                Some(value) => parse_bool(value).ok_or_else(|| ArgsError::InvalidValue {
                    option: name.to_owned(),
                    value: value.to_owned(),
                    reason: "expected 1, 0, true or false",
                })?,
            };
            match opt {
                Opt::Help => help = on,
                Opt::Version => version = on,
                Opt::Regtest => regtest = on,
                Opt::Rpcwait => connect.rpcwait = on,
                Opt::Named => named = on,
                Opt::Stdin => stdin = on,
                Opt::Getinfo => getinfo = on,
                _ => unreachable!("value options are handled below"),
            }
            continue;
        }

        let value = match inline {
            Some(value) => value.to_owned(),
            None => argv
                .next()
                .ok_or_else(|| ArgsError::MissingValue(name.to_owned()))?,
        };
        let invalid = |reason| ArgsError::InvalidValue {
            option: name.to_owned(),
            value: value.clone(),
            reason,
        };
        match opt {
            Opt::Chain => {
                chain = Some(
                    value
                        .parse()
                        .map_err(|_| invalid("expected main or regtest"))?,
                )
            }
            Opt::Datadir if value.is_empty() => return Err(invalid("expected a directory")),
            Opt::Datadir => connect.datadir = Some(value.into()),
            Opt::Rpcconnect => connect.rpcconnect = value,
            Opt::Rpcport => {
                connect.rpcport = Some(match value.parse::<u16>() {
                    Ok(port) if port != 0 => port,
                    _ => return Err(invalid("expected a port number 1-65535")),
                })
            }
            Opt::Rpcwallet => rpcwallet = Some(value),
            Opt::Walletport => {
                walletport = Some(match value.parse::<u16>() {
                    Ok(port) if port != 0 => port,
                    _ => return Err(invalid("expected a port number 1-65535")),
                })
            }
            Opt::Rpcuser => connect.rpcuser = Some(value),
            Opt::Rpcpassword => connect.rpcpassword = Some(value),
            Opt::Rpcwaittimeout => {
                connect.rpcwait_timeout = parse_seconds(&value)
                    .ok_or_else(|| invalid("expected whole seconds, 0 to wait without limit"))?
            }
            Opt::Rpcclienttimeout => {
                connect.timeout = parse_seconds(&value)
                    .ok_or_else(|| invalid("expected whole seconds, 0 for no timeout"))?
            }
            _ => unreachable!("flag options are handled above"),
        }
    }

    if help {
        return Ok(Invocation::Help);
    }
    if version {
        return Ok(Invocation::Version);
    }
    connect.network = match (regtest, chain) {
        (true, Some(Network::Main)) => return Err(ArgsError::NetworkConflict(Network::Main)),
        (true, _) => Network::Regtest,
        (false, chain) => chain.unwrap_or(Network::Main),
    };
    if getinfo && !args.is_empty() {
        return Err(ArgsError::GetinfoWithArgs);
    }
    if !getinfo && !stdin && args.is_empty() {
        return Err(ArgsError::NoCommand);
    }
    Ok(Invocation::Run(CliArgs {
        connect,
        named,
        stdin,
        getinfo,
        rpcwallet,
        walletport,
        args,
    }))
}

fn parse_bool(value: &str) -> Option<bool> {
    match value {
        "1" | "true" => Some(true),
        "0" | "false" => Some(false),
        _ => None,
    }
}

/// Whole seconds; 0 means "no limit", as for Bitcoin Core's `-rpcclienttimeout`.
fn parse_seconds(value: &str) -> Option<Duration> {
    match value.parse::<u64>().ok()? {
        0 => Some(Duration::MAX),
        secs => Some(Duration::from_secs(secs)),
    }
}

/// One argument of a method the conversion table does not know (a plugin's): itself if
/// it is valid JSON (`0`, `true`, `[1,2]`, `"quoted"`, `null`), else the argument as a
/// string (`00ab…`, `dcrt1p…`).
pub fn parse_value(arg: &str) -> Value {
    serde_json::from_str(arg).unwrap_or_else(|_| Value::String(arg.to_owned()))
}

/// One argument passed as the table declares it: a string as typed, JSON parsed (a bad
/// one refused before anything is sent, as `bitcoin-cli` does), or by [`parse_value`]
/// where the table says nothing.
fn convert(conv: Option<Conv>, arg: &str) -> Result<Value, ArgsError> {
    match conv {
        Some(Conv::Str) => Ok(Value::String(arg.to_owned())),
        Some(Conv::Json) => {
            serde_json::from_str(arg).map_err(|_| ArgsError::BadJson(arg.to_owned()))
        }
        None => Ok(parse_value(arg)),
    }
}

/// The JSON-RPC `params` for these arguments of `method` (its entry in the conversion
/// table, `None` for a method the table does not know): an array, or with `named` an
/// object built from `key=value` arguments.
pub fn build_params(
    method: Option<&CliMethod>,
    args: &[String],
    named: bool,
) -> Result<Value, ArgsError> {
    if !named {
        return args
            .iter()
            .enumerate()
            .map(|(i, a)| convert(method.and_then(|m| m.params.get(i)).map(|p| p.1), a))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array);
    }
    let mut params = Map::new();
    for arg in args {
        let (key, value) = match arg.split_once('=') {
            Some((key, value)) if !key.is_empty() => (key, value),
            _ => return Err(ArgsError::BadNamed(arg.clone())),
        };
        let value = convert(method.and_then(|m| m.conv_of(key)), value)?;
        if params.insert(key.to_owned(), value).is_some() {
            return Err(ArgsError::DuplicateNamed(key.to_owned()));
        }
    }
    Ok(Value::Object(params))
}

/// The extra arguments of `-stdin`: one per line, every line (even an empty one) an
/// argument, line endings (`\n` or `\r\n`) removed.
pub fn read_stdin_args(input: impl BufRead) -> std::io::Result<Vec<String>> {
    input
        .lines()
        .map(|line| line.map(|l| l.strip_suffix('\r').map(str::to_owned).unwrap_or(l)))
        .collect()
}

/// The `--help` text.
pub fn usage() -> String {
    format!(
        "\
dotcoin-cli {version} — send one JSON-RPC call to dotcoind, like bitcoin-cli

Usage:
  dotcoin-cli [options] <method> [args...]     call <method> with positional arguments
  dotcoin-cli [options] -named <method> [name=value...]
                                               call <method> with named arguments
  dotcoin-cli [options] -getinfo               summary of the node's state
  dotcoin-cli [options] help [method]          the node's list of methods, or one's help

Each argument is sent as JSON when it is valid JSON (0, true, [1,2], \"text\"), else as a
string. Options may be written -opt=value, --opt=value or --opt value.

Options:
  -h, -help, -?          this help
  -version               print the version and exit
  -regtest               use the regtest network (RPC port 18632)
  -chain=<main|regtest>  choose the network by name
  -datadir=<dir>         base data directory, where the cookie is read (default ~/.dotcoin)
  -rpcconnect=<host>     node address, optionally host:port (default 127.0.0.1)
  -rpcport=<port>        node RPC port (default 8632, regtest 18632)
  -rpcuser=<user>        RPC user (default: cookie authentication)
  -rpcpassword=<pw>      RPC password (default: cookie authentication)
  -rpcwait               wait for the node to start and finish warming up
  -rpcwaittimeout=<s>    give up waiting after this many seconds, 0 never (default 60)
  -rpcclienttimeout=<s>  timeout of one request in seconds, 0 none (default 900)
  -rpcwallet=<name>      send wallet calls to this wallet of the wallet service
  -walletport=<port>     wallet service port (default: RPC port + 3, regtest 18635);
                         wallet calls (getnewaddress, sendtoaddress, …) go there with
                         the cookie .wallet-cookie
  -named                 arguments are name=value pairs
  -stdin                 read more arguments from standard input, one per line
  -getinfo               call getblockchaininfo, getnetworkinfo and getmininginfo and
                         print a combined summary

Exit status: 0 on success; the absolute value of the RPC error code (as bitcoin-cli)
when the node returns an error; 1 for any other failure.
",
        version = env!("CARGO_PKG_VERSION")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run_args(argv: &[&str]) -> CliArgs {
        match parse_args(argv.iter().copied()) {
            Ok(Invocation::Run(cli)) => cli,
            other => panic!("{argv:?} gave {other:?}"),
        }
    }

    #[test]
    fn single_and_double_dash_forms_agree() {
        let forms: &[&[&str]] = &[
            &["-regtest", "-rpcport=1234", "-datadir=/x", "getblockcount"],
            &[
                "--regtest",
                "--rpcport=1234",
                "--datadir=/x",
                "getblockcount",
            ],
            &[
                "--regtest",
                "--rpcport",
                "1234",
                "--datadir",
                "/x",
                "getblockcount",
            ],
            &[
                "-regtest=1",
                "-rpcport",
                "1234",
                "-datadir",
                "/x",
                "getblockcount",
            ],
            &[
                "-chain=regtest",
                "-rpcport=1234",
                "-datadir=/x",
                "getblockcount",
            ],
        ];
        for argv in forms {
            let cli = run_args(argv);
            assert_eq!(cli.connect.network, Network::Regtest, "{argv:?}");
            assert_eq!(cli.connect.rpcport, Some(1234), "{argv:?}");
            assert_eq!(cli.connect.datadir, Some("/x".into()), "{argv:?}");
            assert_eq!(cli.args, ["getblockcount"], "{argv:?}");
        }
    }

    #[test]
    fn every_option_lands_in_its_field() {
        let cli = run_args(&[
            "-rpcconnect=10.0.0.1",
            "--rpcuser",
            "alice",
            "-rpcpassword=s3=cret",
            "-rpcwait",
            "-rpcwaittimeout=5",
            "--rpcclienttimeout=0",
            "-named",
            "-stdin",
            "getblock",
        ]);
        let c = &cli.connect;
        assert_eq!(c.network, Network::Main);
        assert_eq!(c.rpcconnect, "10.0.0.1");
        assert_eq!(c.rpcuser.as_deref(), Some("alice"));
        // Only the first '=' splits the option from its value.
        assert_eq!(c.rpcpassword.as_deref(), Some("s3=cret"));
        assert!(c.rpcwait);
        assert_eq!(c.rpcwait_timeout, Duration::from_secs(5));
        assert_eq!(c.timeout, Duration::MAX);
        assert!(cli.named && cli.stdin && !cli.getinfo);
    }

    #[test]
    fn wallet_options() {
        let cli = run_args(&["-rpcwallet=bob", "--walletport", "19000", "getbalance"]);
        assert_eq!(cli.rpcwallet.as_deref(), Some("bob"));
        assert_eq!(cli.walletport, Some(19000));
        let cli = run_args(&["--wallet-port=19001", "getbalance"]);
        assert_eq!((cli.rpcwallet, cli.walletport), (None, Some(19001)));
        assert!(matches!(
            parse_args(["-walletport=0", "getbalance"]),
            Err(ArgsError::InvalidValue { .. })
        ));
    }

    #[test]
    fn defaults() {
        let cli = run_args(&["getblockcount"]);
        assert_eq!(cli.connect.network, Network::Main);
        assert_eq!(cli.connect.rpcconnect, "127.0.0.1");
        assert_eq!(cli.connect.rpcport, None);
        assert_eq!(cli.connect.datadir, None);
        assert!(!cli.connect.rpcwait && !cli.named && !cli.stdin && !cli.getinfo);
    }

    #[test]
    fn options_stop_at_the_method() {
        let cli = run_args(&["-regtest", "getblockhash", "-1", "-named", "--rpcport=1"]);
        assert_eq!(cli.args, ["getblockhash", "-1", "-named", "--rpcport=1"]);
        assert!(!cli.named);
        assert_eq!(cli.connect.rpcport, None);
        // `--` ends the options too.
        let cli = run_args(&["--", "-odd"]);
        assert_eq!(cli.args, ["-odd"]);
    }

    #[test]
    fn help_and_version() {
        for argv in [
            &["-h"][..],
            &["--help"],
            &["-help"],
            &["-?"],
            &["-regtest", "-help"],
        ] {
            assert!(matches!(
                parse_args(argv.iter().copied()),
                Ok(Invocation::Help)
            ));
        }
        for argv in [&["-version"][..], &["--version"]] {
            assert!(matches!(
                parse_args(argv.iter().copied()),
                Ok(Invocation::Version)
            ));
        }
        assert!(usage().contains("-rpcwait"));
    }

    #[test]
    fn getinfo() {
        let cli = run_args(&["-regtest", "-getinfo"]);
        assert!(cli.getinfo && cli.args.is_empty());
        assert_eq!(
            parse_args(["-getinfo", "getblockcount"]).unwrap_err(),
            ArgsError::GetinfoWithArgs
        );
    }

    #[test]
    fn bad_command_lines() {
        let err = |argv: &[&str]| parse_args(argv.iter().copied()).unwrap_err();
        assert_eq!(err(&[]), ArgsError::NoCommand);
        assert_eq!(err(&["-regtest"]), ArgsError::NoCommand);
        assert_eq!(
            err(&["-bogus", "x"]),
            ArgsError::UnknownOption("-bogus".into())
        );
        assert_eq!(
            err(&["--testnet"]),
            ArgsError::UnknownOption("--testnet".into())
        );
        assert_eq!(
            err(&["--rpcport"]),
            ArgsError::MissingValue("rpcport".into())
        );
        assert!(matches!(
            err(&["-rpcport=x", "m"]),
            ArgsError::InvalidValue { .. }
        ));
        assert!(matches!(
            err(&["-rpcport=0", "m"]),
            ArgsError::InvalidValue { .. }
        ));
        assert!(matches!(
            err(&["-rpcport=70000", "m"]),
            ArgsError::InvalidValue { .. }
        ));
        assert!(matches!(
            err(&["-regtest=yes", "m"]),
            ArgsError::InvalidValue { .. }
        ));
        assert!(matches!(
            err(&["-chain=test", "m"]),
            ArgsError::InvalidValue { .. }
        ));
        assert!(matches!(
            err(&["-datadir=", "m"]),
            ArgsError::InvalidValue { .. }
        ));
        assert_eq!(
            err(&["-regtest", "-chain=main", "m"]),
            ArgsError::NetworkConflict(Network::Main)
        );
    }

    #[test]
    fn stdin_may_supply_the_method() {
        let cli = run_args(&["-stdin"]);
        assert!(cli.stdin && cli.args.is_empty());
    }

    #[test]
    fn arguments_are_json_when_they_are_json() {
        assert_eq!(parse_value("0"), json!(0));
        assert_eq!(parse_value("-1"), json!(-1));
        assert_eq!(parse_value("1.5"), json!(1.5));
        assert_eq!(parse_value("true"), json!(true));
        assert_eq!(parse_value("null"), Value::Null);
        assert_eq!(parse_value("[1,\"a\"]"), json!([1, "a"]));
        assert_eq!(parse_value("{\"a\":1}"), json!({"a": 1}));
        assert_eq!(parse_value("\"123\""), json!("123"));
        // Not JSON: sent as strings.
        let hash = "00ab4f0c6e3d1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f70819200";
        assert_eq!(parse_value(hash), json!(hash));
        assert_eq!(parse_value("dcrt1pxyz"), json!("dcrt1pxyz"));
        assert_eq!(parse_value("0012"), json!("0012"));
        assert_eq!(parse_value(""), json!(""));
        assert_eq!(parse_value("True"), json!("True"));
        assert_eq!(parse_value("[1,"), json!("[1,"));
    }

    #[test]
    fn positional_params() {
        let args = ["0".to_owned(), "abc".to_owned(), "true".to_owned()];
        assert_eq!(
            build_params(None, &args, false).unwrap(),
            json!([0, "abc", true])
        );
        assert_eq!(build_params(None, &[], false).unwrap(), json!([]));
    }

    #[test]
    fn named_params() {
        let args: Vec<String> = ["blockhash=00ab", "verbosity=2", "note=a=b"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            build_params(None, &args, true).unwrap(),
            json!({"blockhash": "00ab", "verbosity": 2, "note": "a=b"})
        );
        assert_eq!(build_params(None, &[], true).unwrap(), json!({}));
        assert_eq!(
            build_params(None, &["nokey".into()], true).unwrap_err(),
            ArgsError::BadNamed("nokey".into())
        );
        assert_eq!(
            build_params(None, &["=1".into()], true).unwrap_err(),
            ArgsError::BadNamed("=1".into())
        );
        assert_eq!(
            build_params(None, &["a=1".into(), "a=2".into()], true).unwrap_err(),
            ArgsError::DuplicateNamed("a".into())
        );
    }

    #[test]
    fn the_table_decides_string_or_json() {
        use dotcoin_rpc_client::api::{lookup, Service};
        let owned = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let getblock = lookup(Service::Node, "getblock");
        // A hash that happens to be all digits stays a string; the verbosity is a number.
        let digits = "1".repeat(64);
        assert_eq!(
            build_params(getblock, &owned(&[&digits, "2"]), false).unwrap(),
            json!([digits, 2])
        );
        // A label that looks like JSON is still a label.
        let getnewaddress = lookup(Service::Wallet, "getnewaddress");
        assert_eq!(
            build_params(getnewaddress, &owned(&["true"]), false).unwrap(),
            json!(["true"])
        );
        assert_eq!(
            build_params(getblock, &owned(&["blockhash=00", "verbosity=0"]), true).unwrap(),
            json!({"blockhash": "00", "verbosity": 0})
        );
        // A JSON parameter that is not JSON is refused before anything is sent.
        assert_eq!(
            build_params(getblock, &owned(&["00", "two"]), false).unwrap_err(),
            ArgsError::BadJson("two".into())
        );
        // Surplus arguments, unknown names and unknown methods fall back to the guess.
        assert_eq!(
            build_params(getblock, &owned(&["00", "1", "x"]), false).unwrap(),
            json!(["00", 1, "x"])
        );
        assert_eq!(
            build_params(None, &owned(&["7", "x"]), false).unwrap(),
            json!([7, "x"])
        );
    }

    #[test]
    fn stdin_lines_are_arguments() {
        let input = b"getblock\r\n00ab\n\n2\n" as &[u8];
        assert_eq!(
            read_stdin_args(input).unwrap(),
            ["getblock", "00ab", "", "2"]
        );
        assert!(read_stdin_args(b"" as &[u8]).unwrap().is_empty());
    }
}
