//! The wallet RPCs: one table of methods ([`METHODS`]) declaring each method's parameters
//! with Bitcoin Core's names and order, their types (`dotcoin_rpc_server::arg`), defaults
//! and descriptions, and one typed handler per method returning a typed result
//! (`dotcoin_common::wallet_rpc_types`).
//!
//! The wire ([`super::wire`]) holds each call against the table before anything runs:
//! named parameters are put in place, a missing required one is `-1`, and every given
//! value passes its declared type's check (Core's `-3`/`-8`/`-22` naming the parameter).
//! The handler then decodes its positional parameters with the same types, so it never
//! sees a value of the wrong shape; what is left to it are Core's checks of meaning
//! (addresses of this network, labels, bounds with Core's own messages).
//!
//! The methods are registered from the table rather than a `#[rpc]` trait (STYLE item
//! 8): each call needs its wallet from the request's `/wallet/<name>` endpoint, which the
//! wire hands over as a request extension.
//!
//! Each handler takes the wallet's lock for the whole call, so two sends of one wallet
//! never pick the same coins; the lock is a tokio mutex, free to be held across the node
//! calls.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::path::Path;
use std::sync::Arc;

use dotcoin_common::rpc_types::{AddressUtxo, ScriptPubKey, FINAL_SEQUENCE};
use dotcoin_common::wallet_rpc_types::{
    AddressGroupingEntry, BalancesMine, GetAddressInfoResult, GetBalancesResult,
    GetWalletInfoResult, LastProcessedBlock, ListUnspentEntry, SendResult, SendVerboseResult,
    SignRawTransactionError, SignRawTransactionResult, UnloadWalletResult, WalletLoadResult,
};
use dotcoin_common::{encode, Address, Amount, FeeRate, Transaction, TxOut, Txid};
use dotcoin_rpc_server::arg::{
    AnyJson, Dot, DotMap, FromParam, HashArg, Hex, Int, Json, JsonArray, JsonObject, ParamError,
    SatPerVb, StrictBool, Text, TextList,
};
use dotcoin_rpc_server::declare::{self, arg, opt_arg, Arg};
use dotcoin_rpc_server::Endpoint;
use jsonrpsee::types::Params;
use jsonrpsee::RpcModule;
use serde::de::IgnoredAny;
use serde::Serialize;
use zeroize::Zeroizing;

use super::params::{self, Code, RpcFailure, RpcResult};
use super::{now, Service, WalletHandle, MAX_UNLOCK_SECONDS};
use crate::node;
use crate::wallet::{self, Purpose, SendRequest};

/// The default fee rate when a call gives none, in base units per byte (the command-line
/// wallet's default).
pub const DEFAULT_FEE_RATE: FeeRate = FeeRate::from_sat_per_vb(2);

/// One wallet method.
#[derive(Debug, Clone, Copy)]
pub struct WalletMethod {
    /// The method name.
    pub name: &'static str,
    /// Its parameters, in Core's positional order.
    pub args: &'static [Arg],
}

/// `listunspent`'s `query_options`, Core's keys ([`super::unspent::QueryOptions`]); an
/// unknown key is refused.
type QueryOptions = JsonObject<super::unspent::QueryOptions>;

/// `signrawtransactionwithwallet`'s `prevtxs`: only an empty list is taken, since the
/// wallet looks up the spent outputs on the node.
type PrevTxs = JsonArray<IgnoredAny>;

const ESTIMATE_MODE: &str =
    "The fee estimate mode: \"unset\", \"economical\" or \"conservative\" (no estimation here: \
     the fee rate is fee_rate or the fallback)";
const CONF_TARGET: &str = "Confirmation target in blocks (no estimation here: accepted, not used)";
const FEE_RATE: &str = "Fee rate in sat/vB (up to 3 decimals); the fallback rate when not given";
const REPLACEABLE: &str = "Signal BIP125 replaceability (accepted; transactions never signal)";
const VERBOSE_SEND: &str = "If true, return an object with the txid and the fee reason";
const WALLET_NAME: &str = "The wallet's name: a directory under the network datadir's wallets";
const LOAD_ON_STARTUP: &str =
    "Load the wallet when the service starts (accepted; give --load to serve instead)";
const INCLUDE_WATCHONLY: &str = "Include watch-only addresses (the wallet has none)";
const ADDRESS_TYPE: &str = "The address type: only \"bech32m\" (taproot-style keys)";

/// Every method with its parameters, in Core's order.
pub const METHODS: &[WalletMethod] = &[
    WalletMethod {
        name: "backupwallet",
        args: &[arg::<Text>(
            "destination",
            "The file to copy the wallet to (a path on the service's machine)",
        )],
    },
    WalletMethod {
        name: "createwallet",
        args: &[
            arg::<Text>("wallet_name", WALLET_NAME),
            opt_arg::<StrictBool>(
                "disable_private_keys",
                "false",
                "Create a watch-only wallet: no seed, descriptors come with importdescriptors",
            ),
            opt_arg::<StrictBool>(
                "blank",
                "false",
                "Create a wallet without seed or descriptors",
            ),
            opt_arg::<Text>(
                "passphrase",
                "\"\"",
                "Encrypt the wallet with this passphrase (none when empty)",
            ),
            opt_arg::<StrictBool>(
                "avoid_reuse",
                "false",
                "Keep track of coin reuse (not supported: must be false)",
            ),
            opt_arg::<StrictBool>(
                "descriptors",
                "true",
                "Create a descriptor wallet (must be true: the only kind made)",
            ),
            opt_arg::<StrictBool>("load_on_startup", "null", LOAD_ON_STARTUP),
            opt_arg::<StrictBool>(
                "external_signer",
                "false",
                "Use an external signer (not supported: must be false)",
            ),
        ],
    },
    WalletMethod {
        name: "dumpprivkey",
        args: &[arg::<Text>(
            "address",
            "The wallet address whose private key to reveal",
        )],
    },
    WalletMethod {
        name: "encryptwallet",
        args: &[arg::<Text>(
            "passphrase",
            "The passphrase to encrypt the wallet with (not empty)",
        )],
    },
    WalletMethod {
        name: "getaddressinfo",
        args: &[arg::<Text>("address", "The address to describe")],
    },
    WalletMethod {
        name: "getbalance",
        args: &[
            opt_arg::<Text>(
                "dummy",
                "null",
                "Remains for backward compatibility: excluded or \"*\"",
            ),
            opt_arg::<Int>(
                "minconf",
                "0",
                "Only include coins with at least this many confirmations (0: trusted ones)",
            ),
            opt_arg::<StrictBool>("include_watchonly", "true", INCLUDE_WATCHONLY),
            opt_arg::<StrictBool>(
                "avoid_reuse",
                "true",
                "Leave out reused addresses' coins (accepted, not used)",
            ),
        ],
    },
    WalletMethod {
        name: "getbalances",
        args: &[],
    },
    WalletMethod {
        name: "getnewaddress",
        args: &[
            opt_arg::<Text>(
                "label",
                "\"\"",
                "The label of the new address (any string but \"*\")",
            ),
            opt_arg::<Text>("address_type", "\"bech32m\"", ADDRESS_TYPE),
        ],
    },
    WalletMethod {
        name: "getrawchangeaddress",
        args: &[opt_arg::<Text>("address_type", "\"bech32m\"", ADDRESS_TYPE)],
    },
    WalletMethod {
        name: "gettransaction",
        args: &[
            arg::<HashArg<Txid>>("txid", "The transaction id"),
            opt_arg::<StrictBool>("include_watchonly", "true", INCLUDE_WATCHONLY),
            opt_arg::<StrictBool>(
                "verbose",
                "false",
                "Whether to add a field \"decoded\" with the decoded transaction",
            ),
        ],
    },
    WalletMethod {
        name: "getwalletinfo",
        args: &[],
    },
    WalletMethod {
        name: "help",
        args: &[opt_arg::<Text>(
            "command",
            "all commands",
            "The command to get help on",
        )],
    },
    WalletMethod {
        name: "importprivkey",
        args: &[
            arg::<Text>("privkey", "The private key: WIF, or 64 hex digits"),
            opt_arg::<Text>(
                "label",
                "\"\"",
                "The label of its address (any string but \"*\")",
            ),
            opt_arg::<StrictBool>(
                "rescan",
                "true",
                "Rescan the chain (never needed: the history is the node's address index)",
            ),
        ],
    },
    WalletMethod {
        name: "listaddressgroupings",
        args: &[],
    },
    WalletMethod {
        name: "listtransactions",
        args: &[
            opt_arg::<Text>(
                "label",
                "\"*\"",
                "Only transactions of addresses with this label (\"*\": all)",
            ),
            opt_arg::<Int>("count", "10", "The number of transactions to return"),
            opt_arg::<Int>(
                "skip",
                "0",
                "The number of most recent transactions to skip",
            ),
            opt_arg::<StrictBool>("include_watchonly", "true", INCLUDE_WATCHONLY),
        ],
    },
    WalletMethod {
        name: "listunspent",
        args: &[
            opt_arg::<Int>("minconf", "1", "The minimum confirmations to filter"),
            opt_arg::<Int>("maxconf", "9999999", "The maximum confirmations to filter"),
            opt_arg::<TextList>(
                "addresses",
                "[]",
                "Only outputs paying these addresses (each at most once)",
            ),
            opt_arg::<StrictBool>(
                "include_unsafe",
                "true",
                "Include outputs not safe to spend (pending receipts from others)",
            ),
            opt_arg::<QueryOptions>(
                "query_options",
                "null",
                "JSON with query options: minimumAmount, maximumAmount, maximumCount (0: no limit), minimumSumAmount, include_immature_by_default",
            ),
        ],
    },
    WalletMethod {
        name: "listwallets",
        args: &[],
    },
    WalletMethod {
        name: "loadwallet",
        args: &[
            arg::<Text>("filename", WALLET_NAME),
            opt_arg::<StrictBool>("load_on_startup", "null", LOAD_ON_STARTUP),
        ],
    },
    WalletMethod {
        name: "sendmany",
        args: &[
            opt_arg::<Text>(
                "dummy",
                "\"\"",
                "Must be set to \"\" for backwards compatibility",
            ),
            arg::<DotMap>(
                "amounts",
                "The addresses and the amount in DOT to send to each",
            ),
            opt_arg::<Int>("minconf", "1", "Ignored dummy value (must be non-negative)"),
            opt_arg::<Text>("comment", "\"\"", "A comment (not stored)"),
            opt_arg::<TextList>(
                "subtractfeefrom",
                "[]",
                "The recipient address the fee is taken from (at most one here)",
            ),
            opt_arg::<StrictBool>("replaceable", "true", REPLACEABLE),
            opt_arg::<Int>("conf_target", "null", CONF_TARGET),
            opt_arg::<Text>("estimate_mode", "\"unset\"", ESTIMATE_MODE),
            opt_arg::<SatPerVb>("fee_rate", "2", FEE_RATE),
            opt_arg::<StrictBool>("verbose", "false", VERBOSE_SEND),
        ],
    },
    WalletMethod {
        name: "sendtoaddress",
        args: &[
            arg::<Text>("address", "The address to send to"),
            arg::<Dot>("amount", "The amount in DOT to send, e.g. 0.1"),
            opt_arg::<Text>("comment", "\"\"", "A comment (not stored)"),
            opt_arg::<Text>(
                "comment_to",
                "\"\"",
                "The name of the recipient (not stored)",
            ),
            opt_arg::<StrictBool>(
                "subtractfeefromamount",
                "false",
                "The fee is deducted from the amount sent",
            ),
            opt_arg::<StrictBool>("replaceable", "true", REPLACEABLE),
            opt_arg::<Int>("conf_target", "null", CONF_TARGET),
            opt_arg::<Text>("estimate_mode", "\"unset\"", ESTIMATE_MODE),
            opt_arg::<StrictBool>(
                "avoid_reuse",
                "false",
                "Avoid spending from reused addresses (not supported: must be false)",
            ),
            opt_arg::<SatPerVb>("fee_rate", "2", FEE_RATE),
            opt_arg::<StrictBool>("verbose", "false", VERBOSE_SEND),
        ],
    },
    WalletMethod {
        name: "signrawtransactionwithwallet",
        args: &[
            arg::<Hex>("hexstring", "The transaction hex string"),
            opt_arg::<PrevTxs>(
                "prevtxs",
                "[]",
                "Previous outputs (not supported: the wallet looks them up on the node)",
            ),
            opt_arg::<Text>(
                "sighashtype",
                "\"DEFAULT\"",
                "The signature hash type: \"DEFAULT\" or \"ALL\"",
            ),
        ],
    },
    WalletMethod {
        name: "stop",
        args: &[],
    },
    WalletMethod {
        name: "unloadwallet",
        args: &[
            opt_arg::<Text>(
                "wallet_name",
                "the wallet name from the RPC endpoint",
                "The wallet to unload",
            ),
            opt_arg::<StrictBool>("load_on_startup", "null", LOAD_ON_STARTUP),
        ],
    },
    WalletMethod {
        name: "walletlock",
        args: &[],
    },
    WalletMethod {
        name: "walletpassphrase",
        args: &[
            arg::<Text>("passphrase", "The wallet passphrase"),
            arg::<Int>(
                "timeout",
                "Seconds to keep the key unlocked (capped at 100000000)",
            ),
        ],
    },
    WalletMethod {
        name: "walletpassphrasechange",
        args: &[
            arg::<Text>("oldpassphrase", "The current passphrase"),
            arg::<Text>("newpassphrase", "The new passphrase"),
        ],
    },
    WalletMethod {
        name: "walletcreatefundedpsbt",
        args: &[
            opt_arg::<JsonArray<super::spend::PsbtInputArg>>(
                "inputs",
                "[]",
                "Leave empty to add inputs automatically: [{\"txid\":\"hex\",\"vout\":n},...]",
            ),
            arg::<Json<serde_json::Value>>(
                "outputs",
                "The outputs: {\"address\": amount, ...} or [{\"address\": amount}, ...], amounts in DOT",
            ),
            opt_arg::<Int>("locktime", "0", "Raw locktime"),
            opt_arg::<JsonObject<serde_json::Map<String, serde_json::Value>>>(
                "options",
                "{}",
                "add_inputs, include_unsafe, changeAddress, changePosition, change_type, \
                 includeWatching, lockUnspents, fee_rate (sat/vB), feeRate (DOT/kvB), \
                 subtractFeeFromOutputs, replaceable, conf_target, estimate_mode",
            ),
            opt_arg::<StrictBool>(
                "bip32derivs",
                "true",
                "Include BIP 32 derivation paths for public keys if we know them",
            ),
        ],
    },
    WalletMethod {
        name: "walletprocesspsbt",
        args: &[
            arg::<Text>("psbt", "The transaction base64 string"),
            opt_arg::<StrictBool>(
                "sign",
                "true",
                "Also sign the transaction when updating (requires wallet to be unlocked)",
            ),
            opt_arg::<Text>(
                "sighashtype",
                "\"DEFAULT\"",
                "The signature hash type: \"DEFAULT\" or \"ALL\"",
            ),
            opt_arg::<StrictBool>(
                "bip32derivs",
                "true",
                "Include BIP 32 derivation paths for public keys if we know them",
            ),
            opt_arg::<StrictBool>(
                "finalize",
                "true",
                "Also finalize inputs if possible",
            ),
        ],
    },
    WalletMethod {
        name: "getdescriptorinfo",
        args: &[arg::<Text>("descriptor", "The descriptor")],
    },
    WalletMethod {
        name: "deriveaddresses",
        args: &[
            arg::<Text>("descriptor", "The descriptor"),
            opt_arg::<AnyJson>(
                "range",
                "null",
                "For a ranged descriptor: the end (or [begin,end]) of the range to derive",
            ),
        ],
    },
    WalletMethod {
        name: "listsinceblock",
        args: &[
            opt_arg::<Text>(
                "blockhash",
                "\"\"",
                "List transactions since this block (all when not given)",
            ),
            opt_arg::<Int>(
                "target_confirmations",
                "1",
                "Return as lastblock the block this many confirmations deep (at least 1)",
            ),
            opt_arg::<StrictBool>("include_watchonly", "true", INCLUDE_WATCHONLY),
            opt_arg::<StrictBool>(
                "include_removed",
                "true",
                "Show in \"removed\" the transactions of blocks that left the best chain",
            ),
            opt_arg::<StrictBool>(
                "include_change",
                "false",
                "Also add entries for change outputs",
            ),
        ],
    },
    WalletMethod {
        name: "lockunspent",
        args: &[
            arg::<StrictBool>(
                "unlock",
                "Whether to unlock (true) or lock (false) the outputs",
            ),
            opt_arg::<JsonArray<super::locks::OutputArg>>(
                "transactions",
                "[]",
                "The outputs, [{\"txid\":\"hex\",\"vout\":n},...] (none with unlock: all)",
            ),
            opt_arg::<StrictBool>(
                "persistent",
                "false",
                "Keep the lock in the wallet's files across restarts (ignored for unlocking)",
            ),
        ],
    },
    WalletMethod {
        name: "listlockunspent",
        args: &[],
    },
    WalletMethod {
        name: "abandontransaction",
        args: &[arg::<HashArg<Txid>>("txid", "The transaction id")],
    },
    WalletMethod {
        name: "send",
        args: &[
            arg::<Json<serde_json::Value>>(
                "outputs",
                "The outputs: {\"address\": amount, ...} or [{\"address\": amount}, ...], amounts in DOT",
            ),
            opt_arg::<Int>("conf_target", "null", CONF_TARGET),
            opt_arg::<Text>("estimate_mode", "\"unset\"", ESTIMATE_MODE),
            opt_arg::<SatPerVb>("fee_rate", "2", FEE_RATE),
            opt_arg::<FundOptionsArg>(
                "options",
                "{}",
                "add_inputs, include_unsafe, add_to_wallet, change_address, change_position, \
                 change_type, fee_rate, include_watching, inputs, locktime, lock_unspents, psbt, \
                 subtract_fee_from_outputs, replaceable (accepted: the node replaces any \
                 transaction that pays enough more), conf_target, estimate_mode",
            ),
        ],
    },
    WalletMethod {
        name: "sendall",
        args: &[
            arg::<JsonArray<serde_json::Value>>(
                "recipients",
                "Addresses (they share what is left) and {\"address\": amount} objects",
            ),
            opt_arg::<Int>("conf_target", "null", CONF_TARGET),
            opt_arg::<Text>("estimate_mode", "\"unset\"", ESTIMATE_MODE),
            opt_arg::<SatPerVb>("fee_rate", "2", FEE_RATE),
            opt_arg::<FundOptionsArg>(
                "options",
                "{}",
                "add_to_wallet, fee_rate, include_watching, inputs, locktime, lock_unspents, \
                 psbt, send_max, minconf, maxconf, replaceable, conf_target, estimate_mode",
            ),
        ],
    },
    WalletMethod {
        name: "fundrawtransaction",
        args: &[
            arg::<Hex>("hexstring", "The hex string of the raw transaction"),
            opt_arg::<FundOptionsArg>(
                "options",
                "{}",
                "add_inputs, include_unsafe, changeAddress, changePosition, change_type, \
                 includeWatching, lockUnspents, fee_rate (sat/vB), feeRate (DOT/kvB), \
                 subtractFeeFromOutputs, replaceable, conf_target, estimate_mode",
            ),
            opt_arg::<StrictBool>(
                "iswitness",
                "depends on heuristic tests",
                "Whether the transaction hex is a serialized witness transaction (accepted: \
                 dotcoin has one encoding)",
            ),
        ],
    },
    WalletMethod {
        name: "bumpfee",
        args: &[
            arg::<HashArg<Txid>>("txid", "The txid to be bumped"),
            opt_arg::<FundOptionsArg>(
                "options",
                "{}",
                "conf_target, fee_rate (sat/vB), replaceable, estimate_mode, outputs, \
                 original_change_index",
            ),
        ],
    },
    WalletMethod {
        name: "psbtbumpfee",
        args: &[
            arg::<HashArg<Txid>>("txid", "The txid to be bumped"),
            opt_arg::<FundOptionsArg>(
                "options",
                "{}",
                "conf_target, fee_rate (sat/vB), replaceable, estimate_mode, outputs, \
                 original_change_index",
            ),
        ],
    },
    WalletMethod {
        name: "importdescriptors",
        args: &[arg::<JsonArray<serde_json::Value>>(
            "requests",
            "Descriptors to import: [{\"desc\":\"...\",\"active\":bool,\"range\":n or \
             [begin,end],\"next_index\":n,\"timestamp\":n or \"now\",\"internal\":bool,\
             \"label\":\"...\"},...]",
        )],
    },
    WalletMethod {
        name: "listdescriptors",
        args: &[opt_arg::<StrictBool>(
            "private",
            "false",
            "Show private descriptors (the wallet must be unlocked)",
        )],
    },
    WalletMethod {
        name: "migratewallet",
        args: &[
            opt_arg::<Text>(
                "wallet_name",
                "null",
                "The wallet to migrate (default: the endpoint's)",
            ),
            opt_arg::<Text>(
                "passphrase",
                "null",
                "The wallet passphrase, if it is encrypted",
            ),
        ],
    },
];

/// The options object of the spending calls: keys checked by each call.
type FundOptionsArg = JsonObject<serde_json::Map<String, serde_json::Value>>;

/// `method`'s parameters, for the wire to put named parameters in place and check them.
pub(super) fn args_of(method: &str) -> Option<&'static [Arg]> {
    METHODS.iter().find(|m| m.name == method).map(|m| m.args)
}

impl From<ParamError> for RpcFailure {
    fn from(e: ParamError) -> Self {
        RpcFailure {
            code: e.code as i32,
            message: e.message,
        }
    }
}

/// A call's positional parameters, decoded in order as the types the table declares,
/// through the same checks the wire ran (so a call that bypassed the wire gets the same
/// errors, naming the parameter).
pub(super) struct Args {
    method: &'static str,
    table: &'static [Arg],
    given: Vec<serde_json::Value>,
    next: usize,
}

impl Args {
    /// `method`'s parameters as the wire put them in place.
    fn of(method: &'static str, p: &Params<'_>) -> RpcResult<Args> {
        let given: Option<Vec<serde_json::Value>> = p
            .parse()
            .map_err(|_| RpcFailure::new(Code::Misc, "malformed internal call"))?;
        Ok(Args {
            method,
            table: args_of(method).unwrap_or(&[]),
            given: given.unwrap_or_default(),
            next: 0,
        })
    }

    /// The next parameter; `None` when not given or `null`.
    pub(super) fn opt<T: FromParam>(&mut self) -> RpcResult<Option<T>> {
        let i = self.next;
        self.next += 1;
        let arg = self.table.get(i).unwrap_or_else(|| {
            panic!(
                "{} decodes more parameters than its table declares",
                self.method
            )
        });
        debug_assert_eq!(
            T::TYPE,
            arg.ty,
            "{} {}: the handler's type is not the table's",
            self.method,
            arg.name
        );
        match self.given.get(i) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(v) => Ok(Some(T::from_param(v, arg.name)?)),
        }
    }

    /// The next parameter, required.
    pub(super) fn req<T: FromParam>(&mut self) -> RpcResult<T> {
        let name = self.table.get(self.next).map_or("", |a| a.name);
        self.opt()?.ok_or_else(|| {
            RpcFailure::new(Code::Misc, format!("missing required parameter '{name}'"))
        })
    }
}

/// What a handler is given: the service, the wallet named by the request's endpoint (if
/// any) and the call's parameters.
pub(super) struct Call {
    pub(super) svc: Arc<Service>,
    pub(super) endpoint: Option<String>,
    pub(super) args: Args,
}

/// Registers `name`, answered by `handler` with a typed result.
pub(super) fn register<R, F, Fut>(module: &mut RpcModule<Service>, name: &'static str, handler: F)
where
    R: Serialize + Clone + Send + 'static,
    F: Fn(Call) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = RpcResult<R>> + Send + 'static,
{
    module
        .register_async_method(name, move |p, svc, ext| {
            let handler = handler.clone();
            let endpoint = ext.get::<Endpoint>().and_then(|e| e.0.clone());
            let args = Args::of(name, &p);
            async move {
                handler(Call {
                    svc,
                    endpoint,
                    args: args?,
                })
                .await
            }
        })
        .expect("method names are unique");
}

/// Registers `name`, a call on one wallet: the wallet the request's endpoint names (or
/// the only one loaded) is found first, as Core does before reading the parameters.
pub(super) fn register_wallet<R, F, Fut>(
    module: &mut RpcModule<Service>,
    name: &'static str,
    handler: F,
) where
    R: Serialize + Clone + Send + 'static,
    F: Fn(Call, WalletHandle) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = RpcResult<R>> + Send + 'static,
{
    register(module, name, move |c: Call| {
        let handler = handler.clone();
        async move {
            let wallet = c.svc.wallet_for(c.endpoint.as_deref())?;
            handler(c, wallet).await
        }
    });
}

/// The jsonrpsee module: every method of [`METHODS`], each decoding its positional
/// parameters (as [`super::wire`] put them in place and checked them) with the table's
/// types, and finding its wallet from the request's endpoint.
pub fn module(service: Arc<Service>) -> RpcModule<Service> {
    let mut m = RpcModule::from_arc(service);
    // Calls about the set of wallets, not one wallet.
    register(&mut m, "help", |mut c| async move {
        help(c.args.opt::<Text>()?.as_deref().map(String::as_str))
    });
    register(&mut m, "stop", |c| async move {
        c.svc.shutdown.notify_one();
        Ok("dotcoin-wallet service stopping".to_owned())
    });
    register(&mut m, "listwallets", |c| async move {
        Ok(c.svc.loaded_names())
    });
    register(&mut m, "loadwallet", |mut c| async move {
        let filename: Text = c.args.req()?;
        let _load_on_startup: Option<StrictBool> = c.args.opt()?;
        c.svc.load(&filename, false)?;
        Ok(loaded_reply(filename.0))
    });
    register(&mut m, "createwallet", |mut c| async move {
        let a = &mut c.args;
        let name: Text = a.req()?;
        let disable_private_keys: Option<StrictBool> = a.opt()?;
        let blank: Option<StrictBool> = a.opt()?;
        let passphrase: Option<Text> = a.opt()?;
        let avoid_reuse: Option<StrictBool> = a.opt()?;
        let descriptors: Option<StrictBool> = a.opt()?;
        if !flag(descriptors, true) {
            return Err(RpcFailure::new(
                Code::Wallet,
                "descriptors argument must be set to \"true\"; it is no longer possible to \
                 create a legacy wallet.",
            ));
        }
        let _load_on_startup: Option<StrictBool> = a.opt()?;
        let external_signer: Option<StrictBool> = a.opt()?;
        createwallet(
            &c.svc,
            name.0,
            flag(disable_private_keys, false),
            flag(blank, false),
            passphrase.map(|p| Zeroizing::new(p.0)),
            flag(avoid_reuse, false),
            flag(external_signer, false),
        )
        .await
    });
    register(&mut m, "unloadwallet", |mut c| async move {
        let wallet_name: Option<Text> = c.args.opt()?;
        let _load_on_startup: Option<StrictBool> = c.args.opt()?;
        unloadwallet(&c.svc, c.endpoint.as_deref(), wallet_name.map(|t| t.0)).await
    });
    // Calls on one wallet.
    register_wallet(&mut m, "getnewaddress", |mut c, w| async move {
        let label: Option<Text> = c.args.opt()?;
        let address_type: Option<Text> = c.args.opt()?;
        getnewaddress(&w, label, address_type).await
    });
    register_wallet(&mut m, "getrawchangeaddress", |mut c, w| async move {
        let address_type: Option<Text> = c.args.opt()?;
        getrawchangeaddress(&w, address_type).await
    });
    register_wallet(&mut m, "getbalance", |mut c, w| async move {
        let dummy: Option<Text> = c.args.opt()?;
        let minconf: Option<Int> = c.args.opt()?;
        let _include_watchonly: Option<StrictBool> = c.args.opt()?;
        let _avoid_reuse: Option<StrictBool> = c.args.opt()?;
        getbalance(&c.svc, &w, dummy, minconf.map_or(0, |n| n.0)).await
    });
    register_wallet(&mut m, "getbalances", |c, w| async move {
        getbalances(&c.svc, &w).await
    });
    register_wallet(&mut m, "getwalletinfo", |c, w| async move {
        getwalletinfo(&c.svc, &w).await
    });
    register_wallet(&mut m, "listunspent", |mut c, w| async move {
        let a = &mut c.args;
        let minconf: Option<Int> = a.opt()?;
        let maxconf: Option<Int> = a.opt()?;
        let addresses: Option<TextList> = a.opt()?;
        let include_unsafe: Option<StrictBool> = a.opt()?;
        let query = a.opt::<QueryOptions>()?.map(|q| q.0).unwrap_or_default();
        // As in Core, an empty list filters nothing.
        let filter = match addresses {
            Some(list) if !list.is_empty() => Some(address_set(&list, c.svc.network)?),
            _ => None,
        };
        listunspent(
            &c.svc,
            &w,
            minconf.map_or(1, |n| n.0),
            maxconf.map_or(9_999_999, |n| n.0),
            filter,
            flag(include_unsafe, true),
            query,
        )
        .await
    });
    register_wallet(&mut m, "listtransactions", |mut c, w| async move {
        let a = &mut c.args;
        let label: Option<Text> = a.opt()?;
        let count: Option<Int> = a.opt()?;
        let skip: Option<Int> = a.opt()?;
        let _include_watchonly: Option<StrictBool> = a.opt()?;
        super::history::listtransactions(
            &c.svc,
            &w,
            label.map(|l| l.0).filter(|l| l != "*"),
            count.map_or(10, |n| n.0),
            skip.map_or(0, |n| n.0),
        )
        .await
    });
    register_wallet(&mut m, "gettransaction", |mut c, w| async move {
        let txid: HashArg<Txid> = c.args.req()?;
        let _include_watchonly: Option<StrictBool> = c.args.opt()?;
        let verbose: Option<StrictBool> = c.args.opt()?;
        super::history::gettransaction(&c.svc, &w, txid.0, flag(verbose, false)).await
    });
    register_wallet(&mut m, "sendtoaddress", |mut c, w| async move {
        let a = &mut c.args;
        let address: Text = a.req()?;
        let amount: Dot = a.req()?;
        let _comment: Option<Text> = a.opt()?;
        let _comment_to: Option<Text> = a.opt()?;
        let subtract: Option<StrictBool> = a.opt()?;
        let _replaceable: Option<StrictBool> = a.opt()?;
        let conf_target: Option<Int> = a.opt()?;
        let estimate_mode: Option<Text> = a.opt()?;
        let avoid_reuse: Option<StrictBool> = a.opt()?;
        let fee_rate: Option<SatPerVb> = a.opt()?;
        let verbose: Option<StrictBool> = a.opt()?;
        let to = params::address(&address, c.svc.network)?;
        let amount = amount_for_send(amount.0)?;
        let fee_rate = fee_rate.map(|r| r.0);
        check_estimate_mode(
            conf_target,
            estimate_mode.as_deref().map(String::as_str),
            fee_rate.is_some(),
        )?;
        if flag(avoid_reuse, false) {
            return Err(unsupported("avoid_reuse"));
        }
        let payments = vec![(to, amount)];
        let subtract = flag(subtract, false);
        send(
            &c.svc,
            &w,
            payments,
            fee_rate,
            subtract,
            flag(verbose, false),
        )
        .await
    });
    register_wallet(&mut m, "sendmany", |mut c, w| async move {
        let a = &mut c.args;
        let dummy: Option<Text> = a.opt()?;
        let amounts: DotMap = a.req()?;
        let minconf: Option<Int> = a.opt()?;
        let _comment: Option<Text> = a.opt()?;
        let subtract_from: Option<TextList> = a.opt()?;
        let _replaceable: Option<StrictBool> = a.opt()?;
        let conf_target: Option<Int> = a.opt()?;
        let estimate_mode: Option<Text> = a.opt()?;
        let fee_rate: Option<SatPerVb> = a.opt()?;
        let verbose: Option<StrictBool> = a.opt()?;
        let request = SendMany {
            dummy,
            amounts,
            minconf,
            subtract_from,
            conf_target,
            estimate_mode,
            fee_rate: fee_rate.map(|r| r.0),
            verbose: flag(verbose, false),
        };
        sendmany(&c.svc, &w, request).await
    });
    register_wallet(&mut m, "walletpassphrase", |mut c, w| async move {
        let pass = passphrase(c.args.req()?)?;
        let timeout: Int = c.args.req()?;
        walletpassphrase(&w, pass, timeout.0).await
    });
    register_wallet(
        &mut m,
        "walletlock",
        |_c, w| async move { walletlock(&w).await },
    );
    register_wallet(&mut m, "encryptwallet", |mut c, w| async move {
        let pass = passphrase(c.args.req()?)?;
        encryptwallet(&c.svc, &w, pass).await
    });
    register_wallet(&mut m, "walletpassphrasechange", |mut c, w| async move {
        let old = passphrase(c.args.req()?)?;
        let new = passphrase(c.args.req()?)?;
        walletpassphrasechange(&c.svc, &w, old, new).await
    });
    register_wallet(&mut m, "dumpprivkey", |mut c, w| async move {
        let address: Text = c.args.req()?;
        dumpprivkey(&c.svc, &w, &address).await
    });
    register_wallet(&mut m, "importprivkey", |mut c, w| async move {
        let key: Text = c.args.req()?;
        let key = Zeroizing::new(key.0);
        let label: Option<Text> = c.args.opt()?;
        let _rescan: Option<StrictBool> = c.args.opt()?;
        let label = params::label(label.as_deref().map(String::as_str))?;
        importprivkey(&w, key, label).await
    });
    register_wallet(&mut m, "backupwallet", |mut c, w| async move {
        let destination: Text = c.args.req()?;
        backupwallet(&w, &destination).await
    });
    register_wallet(&mut m, "getaddressinfo", |mut c, w| async move {
        let address: Text = c.args.req()?;
        let address = params::address(&address, c.svc.network)?;
        getaddressinfo(&c.svc, &w, address).await
    });
    register_wallet(&mut m, "listaddressgroupings", |c, w| async move {
        listaddressgroupings(&c.svc, &w).await
    });
    register_wallet(
        &mut m,
        "signrawtransactionwithwallet",
        |mut c, w| async move {
            let hexstring: Hex = c.args.req()?;
            let prevtxs: Option<PrevTxs> = c.args.opt()?;
            let sighashtype: Option<Text> = c.args.opt()?;
            if prevtxs.is_some_and(|p| !p.is_empty()) {
                return Err(RpcFailure::new(
                    Code::InvalidParameter,
                    "prevtxs is not supported: the wallet looks up the spent outputs on the node",
                ));
            }
            match sighashtype.as_deref().map(String::as_str) {
                None | Some("ALL") | Some("DEFAULT") => {}
                Some(_) => {
                    return Err(RpcFailure::new(
                        Code::InvalidParameter,
                        "Invalid sighash param",
                    ))
                }
            }
            signrawtransactionwithwallet(&c.svc, &w, &hexstring).await
        },
    );
    register(&mut m, "getdescriptorinfo", |mut c| async move {
        let descriptor: Text = c.args.req()?;
        super::descriptors::getdescriptorinfo(c.svc.network, &descriptor)
    });
    register(&mut m, "deriveaddresses", |mut c| async move {
        let descriptor: Text = c.args.req()?;
        let range: Option<AnyJson> = c.args.opt()?;
        super::descriptors::deriveaddresses(c.svc.network, &descriptor, range.map(|r| r.0))
    });
    register_wallet(&mut m, "listsinceblock", |mut c, w| async move {
        let a = &mut c.args;
        let blockhash: Option<Text> = a.opt()?;
        let target: Option<Int> = a.opt()?;
        let _include_watchonly: Option<StrictBool> = a.opt()?;
        let include_removed: Option<StrictBool> = a.opt()?;
        let include_change: Option<StrictBool> = a.opt()?;
        // Core takes "" as no block.
        let blockhash = match blockhash.as_deref().map(String::as_str) {
            None | Some("") => None,
            Some(text) => Some(
                HashArg::<dotcoin_common::BlockHash>::from_param(
                    &serde_json::Value::String(text.to_owned()),
                    "blockhash",
                )?
                .0,
            ),
        };
        super::history::listsinceblock(
            &c.svc,
            &w,
            blockhash,
            target.map_or(1, |n| n.0),
            flag(include_removed, true),
            flag(include_change, false),
        )
        .await
    });
    register_wallet(&mut m, "lockunspent", |mut c, w| async move {
        let unlock: StrictBool = c.args.req()?;
        let transactions: Option<JsonArray<super::locks::OutputArg>> = c.args.opt()?;
        let persistent: Option<StrictBool> = c.args.opt()?;
        super::locks::lockunspent(
            &c.svc,
            &w,
            unlock.0,
            transactions.map(|t| t.0),
            flag(persistent, false),
        )
        .await
    });
    register_wallet(&mut m, "listlockunspent", |_c, w| async move {
        super::locks::listlockunspent(&w).await
    });
    register_wallet(&mut m, "abandontransaction", |mut c, w| async move {
        let txid: HashArg<Txid> = c.args.req()?;
        super::history::abandontransaction(&c.svc, &w, txid.0).await
    });
    super::spend::register(&mut m);
    super::send::register(&mut m);
    super::bump::register(&mut m);
    super::keys::register_keys(&mut m);
    m
}

/// A boolean's value, or its default when not given.
pub(super) fn flag(f: Option<StrictBool>, default: bool) -> bool {
    f.map_or(default, |f| f.0)
}

fn help(command: Option<&str>) -> RpcResult<String> {
    if let Some(command) = command {
        let method = METHODS.iter().find(|m| m.name == command).ok_or_else(|| {
            RpcFailure::new(Code::Misc, format!("help: unknown command: {command}"))
        })?;
        let mut text = format!("{command} {}", declare::synopsis(method.args))
            .trim_end()
            .to_owned();
        if !method.args.is_empty() {
            text.push_str("\n\n");
            text.push_str(declare::arguments_help(method.args).trim_end());
        }
        return Ok(text);
    }
    let lines: Vec<String> = METHODS
        .iter()
        .map(|m| {
            format!("{} {}", m.name, declare::synopsis(m.args))
                .trim_end()
                .to_owned()
        })
        .collect();
    Ok(format!("== Wallet ==\n{}", lines.join("\n")))
}

fn loaded_reply(name: String) -> WalletLoadResult {
    WalletLoadResult {
        name,
        warnings: Vec::new(),
        mnemonic: None,
    }
}

fn unsupported(what: &str) -> RpcFailure {
    RpcFailure::new(
        Code::Wallet,
        format!("{what} is not supported by this wallet"),
    )
}

async fn createwallet(
    svc: &Service,
    name: String,
    disable_private_keys: bool,
    blank: bool,
    passphrase: Option<Zeroizing<String>>,
    avoid_reuse: bool,
    external_signer: bool,
) -> RpcResult<WalletLoadResult> {
    let passphrase = passphrase.filter(|s| !s.is_empty());
    if disable_private_keys && passphrase.is_some() {
        return Err(RpcFailure::new(
            Code::Wallet,
            "Passphrase provided but private keys are disabled. A passphrase is only used to \
             encrypt private keys, so cannot be used for wallets with private keys disabled.",
        ));
    }
    if avoid_reuse {
        return Err(unsupported("avoid_reuse"));
    }
    if external_signer {
        return Err(unsupported("external_signer"));
    }
    // The words are read before the wallet is first written, and an encrypted wallet is
    // encrypted before that too: the seed never reaches the disk in the clear.
    let mut wallet = if disable_private_keys || blank {
        wallet::Wallet::create_without_keys(
            svc.network,
            wallet::DEFAULT_KEYPOOL_SIZE,
            disable_private_keys,
        )
    } else {
        wallet::Wallet::create(svc.network, wallet::DEFAULT_KEYPOOL_SIZE)
    };
    let mnemonic = wallet.mnemonic()?;
    if let Some(pass) = &passphrase {
        let kdf = svc.kdf;
        tokio::task::block_in_place(|| wallet.encrypt(pass.as_bytes(), kdf))?;
        wallet.lock();
    }
    svc.load_or_create(&name, Some(wallet))?;
    let mut reply = loaded_reply(name);
    reply.mnemonic = mnemonic.map(|m| m.to_string());
    Ok(reply)
}

async fn unloadwallet(
    svc: &Service,
    endpoint: Option<&str>,
    wallet_name: Option<String>,
) -> RpcResult<UnloadWalletResult> {
    let name = match (wallet_name, endpoint) {
        (Some(a), Some(b)) if a != b => {
            return Err(RpcFailure::new(
                Code::InvalidParameter,
                "RPC endpoint wallet and wallet_name parameter specify different wallets",
            ))
        }
        (Some(a), _) => a,
        (None, Some(b)) => b.to_owned(),
        (None, None) => svc.wallet_for(None)?.lock().await.name.clone(),
    };
    svc.unload(&name)?;
    Ok(UnloadWalletResult {
        warnings: Vec::new(),
    })
}

fn check_address_type(t: Option<&Text>) -> RpcResult<()> {
    match t.map(|t| t.as_str()) {
        None | Some("bech32m") => Ok(()),
        Some(other) => Err(RpcFailure::new(
            Code::InvalidAddressOrKey,
            format!("Unknown address type '{other}'"),
        )),
    }
}

async fn getnewaddress(
    handle: &WalletHandle,
    label: Option<Text>,
    address_type: Option<Text>,
) -> RpcResult<String> {
    let label = params::label(label.as_deref().map(String::as_str))?;
    check_address_type(address_type.as_ref())?;
    let mut loaded = handle.lock().await;
    let address = loaded.wallet.new_address(&label)?;
    loaded.persist()?;
    Ok(address.to_string())
}

async fn getrawchangeaddress(
    handle: &WalletHandle,
    address_type: Option<Text>,
) -> RpcResult<String> {
    check_address_type(address_type.as_ref())?;
    let mut loaded = handle.lock().await;
    let pubkey = loaded.wallet.next_change_pubkey()?;
    let address = loaded.wallet.issue(pubkey, Purpose::Change, "")?;
    loaded.persist()?;
    Ok(address.to_string())
}

/// The wallet's outputs as the node sees them now.
pub(super) async fn utxos(svc: &Service, wallet: &wallet::Wallet) -> RpcResult<Vec<AddressUtxo>> {
    Ok(node::address_utxos(&svc.node, &wallet.watched_addresses()).await?)
}

/// Core's balance buckets: trusted (confirmed, and pending change of our own sends),
/// untrusted pending (pending receipts from others), immature coinbase.
struct Buckets {
    trusted: Amount,
    untrusted: Amount,
    immature: Amount,
}

pub(super) fn is_trusted(wallet: &wallet::Wallet, u: &AddressUtxo) -> bool {
    u.confirmations > 0
        || wallet
            .record(&u.address)
            .is_some_and(|k| k.purpose == Purpose::Change)
}

fn buckets(wallet: &wallet::Wallet, utxos: &[AddressUtxo]) -> Buckets {
    let mut b = Buckets {
        trusted: Amount::ZERO,
        untrusted: Amount::ZERO,
        immature: Amount::ZERO,
    };
    for u in utxos.iter().filter(|u| !u.spent_in_mempool) {
        let bucket = if u.immature {
            &mut b.immature
        } else if is_trusted(wallet, u) {
            &mut b.trusted
        } else {
            &mut b.untrusted
        };
        *bucket = bucket
            .checked_add(Amount::from_sat(u.satoshis))
            .unwrap_or(*bucket);
    }
    b
}

async fn getbalance(
    svc: &Service,
    handle: &WalletHandle,
    dummy: Option<Text>,
    minconf: i64,
) -> RpcResult<Amount> {
    if dummy.is_some_and(|d| d.0 != "*") {
        return Err(RpcFailure {
            code: -32,
            message: "dummy first argument must be excluded or set to \"*\".".into(),
        });
    }
    if minconf < 0 {
        return Err(RpcFailure::new(
            Code::InvalidParameter,
            "Invalid parameter, minconf must be non-negative",
        ));
    }
    let loaded = handle.lock().await;
    let utxos = utxos(svc, &loaded.wallet).await?;
    let total: u64 = utxos
        .iter()
        .filter(|u| !u.spent_in_mempool && !u.immature)
        .filter(|u| {
            if minconf == 0 {
                is_trusted(&loaded.wallet, u)
            } else {
                i64::from(u.confirmations) >= minconf
            }
        })
        .map(|u| u.satoshis)
        .sum();
    Ok(Amount::from_sat(total))
}

fn last_processed(svc: &Service) -> Option<LastProcessedBlock> {
    svc.tip.borrow().map(|tip| LastProcessedBlock {
        hash: tip.hash,
        height: tip.height,
    })
}

async fn getbalances(svc: &Service, handle: &WalletHandle) -> RpcResult<GetBalancesResult> {
    let loaded = handle.lock().await;
    let b = buckets(&loaded.wallet, &utxos(svc, &loaded.wallet).await?);
    Ok(GetBalancesResult {
        mine: BalancesMine {
            trusted: b.trusted,
            untrusted_pending: b.untrusted,
            immature: b.immature,
        },
        lastprocessedblock: last_processed(svc),
    })
}

async fn getwalletinfo(svc: &Service, handle: &WalletHandle) -> RpcResult<GetWalletInfoResult> {
    let loaded = handle.lock().await;
    let w = &loaded.wallet;
    let b = buckets(w, &utxos(svc, w).await?);
    let txcount = node::address_txids(&svc.node, &w.watched_addresses())
        .await?
        .len();
    let unlocked_until = w.is_encrypted().then(|| {
        if w.is_unlocked() {
            loaded.unlocked_until.unwrap_or(0)
        } else {
            0
        }
    });
    Ok(GetWalletInfoResult {
        walletname: loaded.name.clone(),
        walletversion: w.file().version,
        format: "json".into(),
        balance: b.trusted,
        unconfirmed_balance: b.untrusted,
        immature_balance: b.immature,
        txcount: txcount as u64,
        keypoolsize: w.keypool_len_of(false) as u64,
        keypoolsize_hd_internal: w.keypool_len_of(true) as u64,
        unlocked_until,
        paytxfee: Amount::ZERO,
        private_keys_enabled: w.private_keys_enabled(),
        avoid_reuse: false,
        scanning: false,
        descriptors: w.is_descriptor_wallet(),
        external_signer: false,
        blank: w.file().blank,
        birthtime: w.file().birthtime,
        lastprocessedblock: last_processed(svc),
    })
}

/// Addresses of `network`, each at most once (`-5` for one that is not, `-8` for a
/// repeat), as their canonical text.
fn address_set(list: &[String], network: dotcoin_common::Network) -> RpcResult<HashSet<String>> {
    let mut set = HashSet::new();
    for s in list {
        let a = params::address(s, network)?.to_string();
        if !set.insert(a) {
            return Err(RpcFailure::new(
                Code::InvalidParameter,
                format!("Invalid parameter, duplicated address: {s}"),
            ));
        }
    }
    Ok(set)
}

async fn listunspent(
    svc: &Service,
    handle: &WalletHandle,
    minconf: i64,
    maxconf: i64,
    filter: Option<HashSet<String>>,
    include_unsafe: bool,
    query: super::unspent::QueryOptions,
) -> RpcResult<Vec<ListUnspentEntry>> {
    let loaded = handle.lock().await;
    let w = &loaded.wallet;
    let mut bound = query.bound();
    // Locked coins are not listed, as in Core.
    let list = super::locks::unlocked(&loaded.history, utxos(svc, w).await?)
        .into_iter()
        .filter(|u| !u.spent_in_mempool && (!u.immature || query.include_immature_by_default))
        .filter(|u| {
            let c = i64::from(u.confirmations);
            c >= minconf && c <= maxconf
        })
        .filter(|u| filter.as_ref().is_none_or(|f| f.contains(&u.address)))
        .filter(|u| include_unsafe || is_trusted(w, u))
        .filter(|u| query.admits(Amount::from_sat(u.satoshis)))
        // Last, as in Core: the count and the running sum stop the list.
        .take_while(|u| bound.take(Amount::from_sat(u.satoshis)))
        .map(|u| {
            let label = w
                .record(&u.address)
                .map(|k| k.label.clone())
                .unwrap_or_default();
            let script = script_of(&u.address, svc.network);
            ListUnspentEntry {
                txid: u.txid,
                vout: u.output_index,
                label,
                script_pub_key: script.hex,
                amount: Amount::from_sat(u.satoshis),
                confirmations: u.confirmations,
                spendable: true,
                solvable: true,
                desc: script.desc,
                // Keys are not derived from a descriptor, so no wallet descriptor is
                // the parent of this one.
                parent_descs: Vec::new(),
                safe: is_trusted(w, &u),
                address: u.address,
            }
        })
        .collect();
    Ok(list)
}

/// The script (and descriptor) of an output paying `address`, an address the node itself
/// reported or the wallet made, so it parses; an address that does not parses as the
/// empty script.
fn script_of(address: &str, network: dotcoin_common::Network) -> ScriptPubKey {
    match Address::parse_for(address, network) {
        Ok(a) => ScriptPubKey::for_key(&a.pubkey, network),
        Err(_) => ScriptPubKey {
            asm: String::new(),
            desc: String::new(),
            hex: String::new(),
            address: address.to_owned(),
            kind: "nonstandard".into(),
        },
    }
}

/// Core's checks of `conf_target` and `estimate_mode` (there is no fee estimation here:
/// they are accepted, and refused beside an explicit `fee_rate` as Core does).
pub(super) fn check_estimate_mode(
    conf: Option<Int>,
    mode: Option<&str>,
    has_rate: bool,
) -> RpcResult<()> {
    let conf = conf.map_or(0, |c| c.0);
    if conf < 0 {
        return Err(RpcFailure::new(
            Code::InvalidParameter,
            "Invalid conf_target, must be between 1 and 1008",
        ));
    }
    match mode.map(str::to_ascii_lowercase).as_deref() {
        None | Some("unset") | Some("economical") | Some("conservative") => {}
        Some(_) => {
            return Err(RpcFailure::new(
                Code::InvalidParameter,
                "Invalid estimate_mode parameter, must be one of: \"unset\", \"economical\", \
                 \"conservative\"",
            ))
        }
    }
    if has_rate && (conf > 0 || mode.is_some_and(|m| !m.eq_ignore_ascii_case("unset"))) {
        return Err(RpcFailure::new(
            Code::InvalidParameter,
            "Cannot specify both conf_target and fee_rate. Please provide either a \
             confirmation target in blocks for automatic fee estimation, or an explicit fee \
             rate.",
        ));
    }
    Ok(())
}

/// An amount to pay: more than zero (Core's `-3` "Invalid amount for send").
fn amount_for_send(amount: Amount) -> RpcResult<Amount> {
    if amount == Amount::ZERO {
        return Err(RpcFailure::new(Code::Type, "Invalid amount for send"));
    }
    Ok(amount)
}

/// Builds (refusing a fee over `maxtxfee` before a change key is issued), persists (the
/// change key first), then broadcasts.
async fn send(
    svc: &Service,
    handle: &WalletHandle,
    payments: Vec<(Address, Amount)>,
    fee_rate: Option<FeeRate>,
    subtract_fee: bool,
    verbose: bool,
) -> RpcResult<SendResult> {
    let mut loaded = handle.lock().await;
    if !loaded.wallet.is_unlocked() {
        return Err(RpcFailure::new(Code::UnlockNeeded, params::UNLOCK_NEEDED));
    }
    let utxos = super::locks::unlocked(&loaded.history, utxos(svc, &loaded.wallet).await?);
    let explicit = fee_rate.is_some();
    let request = SendRequest {
        payments,
        fee_rate: fee_rate.unwrap_or(DEFAULT_FEE_RATE),
        subtract_fee,
        max_fee: Some(svc.maxtxfee),
    };
    let prepared = loaded.wallet.prepare_send(&utxos, &request)?;
    loaded.persist()?;
    let txid = node::send_raw_transaction(&svc.node, &prepared.tx).await?;
    super::history::record_sent(&mut loaded.history, &prepared.tx)?;
    tracing::info!(target: "wallet", wallet = %loaded.name, %txid, fee = %prepared.fee, "sent");
    if verbose {
        let reason = if explicit {
            "Fee rate set by the caller"
        } else {
            "Fallback fee"
        };
        return Ok(SendResult::Verbose(SendVerboseResult {
            txid,
            fee_reason: reason.into(),
        }));
    }
    Ok(SendResult::Txid(txid))
}

/// `sendmany`'s parameters, as declared.
struct SendMany {
    dummy: Option<Text>,
    amounts: DotMap,
    minconf: Option<Int>,
    subtract_from: Option<TextList>,
    conf_target: Option<Int>,
    estimate_mode: Option<Text>,
    fee_rate: Option<FeeRate>,
    verbose: bool,
}

async fn sendmany(svc: &Service, handle: &WalletHandle, p: SendMany) -> RpcResult<SendResult> {
    if p.dummy.is_some_and(|d| !d.is_empty()) {
        return Err(RpcFailure::new(
            Code::InvalidParameter,
            "Dummy value must be set to \"\"",
        ));
    }
    if p.amounts.is_empty() {
        return Err(RpcFailure::new(
            Code::InvalidParameter,
            "Transaction must have at least one recipient",
        ));
    }
    if p.minconf.is_some_and(|m| m.0 < 0) {
        return Err(RpcFailure::new(
            Code::InvalidParameter,
            "Invalid parameter, minconf must be non-negative",
        ));
    }
    let subtract_from = match &p.subtract_from {
        Some(list) => address_set(list, svc.network)?,
        None => HashSet::new(),
    };
    check_estimate_mode(
        p.conf_target,
        p.estimate_mode.as_deref().map(String::as_str),
        p.fee_rate.is_some(),
    )?;

    let mut payments: Vec<(Address, Amount)> = Vec::new();
    let mut seen = HashSet::new();
    for (text, amount) in p.amounts.0 {
        let address = params::address(&text, svc.network)?;
        // The same key spelt twice (the wire layer already refuses a repeated key).
        if !seen.insert(address.pubkey) {
            return Err(RpcFailure::new(
                Code::InvalidParameter,
                format!("Invalid parameter, duplicated address: {text}"),
            ));
        }
        payments.push((address, amount_for_send(amount)?));
    }
    // The core takes the fee from the first payment: put the chosen one first.
    if subtract_from.len() > 1 {
        return Err(RpcFailure::new(
            Code::InvalidParameter,
            "subtractfeefrom: this wallet takes the fee from one recipient at most",
        ));
    }
    let subtract = if let Some(from) = subtract_from.iter().next() {
        let i = payments
            .iter()
            .position(|(a, _)| a.to_string() == *from)
            .ok_or_else(|| {
                RpcFailure::new(
                    Code::InvalidParameter,
                    format!("Invalid parameter, subtractfeefrom address not among the recipients: {from}"),
                )
            })?;
        payments.swap(0, i);
        true
    } else {
        false
    };
    send(svc, handle, payments, p.fee_rate, subtract, p.verbose).await
}

/// A passphrase: not empty (Core's `-8`), held so it is wiped when dropped.
fn passphrase(text: Text) -> RpcResult<Zeroizing<String>> {
    let s = Zeroizing::new(text.0);
    if s.is_empty() {
        return Err(RpcFailure::new(
            Code::InvalidParameter,
            "passphrase can not be empty",
        ));
    }
    Ok(s)
}

fn wrong_state(call: &str) -> RpcFailure {
    RpcFailure::new(
        Code::WrongEncState,
        format!("Error: running with an unencrypted wallet, but {call} was called."),
    )
}

async fn walletpassphrase(
    handle: &WalletHandle,
    pass: Zeroizing<String>,
    timeout: i64,
) -> RpcResult<()> {
    if timeout < 0 {
        return Err(RpcFailure::new(
            Code::InvalidParameter,
            "Timeout cannot be negative.",
        ));
    }
    let timeout = timeout.min(MAX_UNLOCK_SECONDS) as u64;
    let mut loaded = handle.lock().await;
    if !loaded.wallet.is_encrypted() {
        return Err(wrong_state("walletpassphrase"));
    }
    // Argon2id takes a fraction of a second of CPU: not on the async workers' time.
    tokio::task::block_in_place(|| loaded.wallet.unlock(pass.as_bytes()))?;
    drop(pass);
    loaded.persist()?;
    loaded.unlock_generation += 1;
    loaded.unlocked_until = Some(now() + timeout);
    let generation = loaded.unlock_generation;
    drop(loaded);
    Service::schedule_relock(handle, generation, timeout);
    Ok(())
}

async fn walletlock(handle: &WalletHandle) -> RpcResult<()> {
    let mut loaded = handle.lock().await;
    if !loaded.wallet.is_encrypted() {
        return Err(wrong_state("walletlock"));
    }
    loaded.relock();
    Ok(())
}

async fn encryptwallet(
    svc: &Service,
    handle: &WalletHandle,
    pass: Zeroizing<String>,
) -> RpcResult<String> {
    let mut loaded = handle.lock().await;
    if loaded.wallet.is_encrypted() {
        return Err(RpcFailure::new(
            Code::WrongEncState,
            "Error: running with an encrypted wallet, but encryptwallet was called.",
        ));
    }
    let kdf = svc.kdf;
    tokio::task::block_in_place(|| loaded.wallet.encrypt(pass.as_bytes(), kdf))?;
    loaded.relock();
    loaded.persist()?;
    Ok(
        "wallet encrypted; The keypool has been flushed and new keys were generated. You need \
         to make a new backup with the backupwallet RPC."
            .into(),
    )
}

async fn walletpassphrasechange(
    svc: &Service,
    handle: &WalletHandle,
    old: Zeroizing<String>,
    new: Zeroizing<String>,
) -> RpcResult<()> {
    let mut loaded = handle.lock().await;
    if !loaded.wallet.is_encrypted() {
        return Err(wrong_state("walletpassphrasechange"));
    }
    let kdf = svc.kdf;
    tokio::task::block_in_place(|| {
        loaded
            .wallet
            .change_passphrase(old.as_bytes(), new.as_bytes(), kdf)
    })?;
    loaded.persist()?;
    Ok(())
}

async fn dumpprivkey(svc: &Service, handle: &WalletHandle, text: &str) -> RpcResult<String> {
    let address = params::address(text, svc.network)?.to_string();
    let loaded = handle.lock().await;
    if loaded.wallet.record(&address).is_none() {
        return Err(RpcFailure::new(
            Code::Wallet,
            format!("Private key for address {text} is not known"),
        ));
    }
    if !loaded.wallet.is_unlocked() {
        return Err(RpcFailure::new(Code::UnlockNeeded, params::UNLOCK_NEEDED));
    }
    let secret = loaded.wallet.dump_secret(&address)?;
    Ok(crate::hd::to_wif(&secret, loaded.wallet.network()).to_string())
}

async fn importprivkey(
    handle: &WalletHandle,
    key: Zeroizing<String>,
    label: String,
) -> RpcResult<()> {
    let mut loaded = handle.lock().await;
    if !loaded.wallet.is_unlocked() {
        return Err(RpcFailure::new(Code::UnlockNeeded, params::UNLOCK_NEEDED));
    }
    loaded.wallet.import_secret(&key, &label)?;
    loaded.persist()?;
    // No rescan: the key's history is the node's address index, read at each call.
    Ok(())
}

async fn backupwallet(handle: &WalletHandle, destination: &str) -> RpcResult<()> {
    if destination.is_empty() {
        return Err(RpcFailure::new(
            Code::Wallet,
            "Error: Wallet backup failed!",
        ));
    }
    let mut guard = handle.lock().await;
    let loaded = &mut *guard;
    loaded
        .store
        .backup(&mut loaded.wallet, Path::new(destination))
        .map_err(|e| RpcFailure::new(Code::Wallet, format!("Error: Wallet backup failed! {e}")))?;
    Ok(())
}

async fn getaddressinfo(
    svc: &Service,
    handle: &WalletHandle,
    address: Address,
) -> RpcResult<GetAddressInfoResult> {
    let loaded = handle.lock().await;
    let record = loaded.wallet.record(&address.to_string());
    let details = loaded.wallet.address_details(&address.to_string());
    let script = ScriptPubKey::for_key(&address.pubkey, svc.network);
    let watch_only = details.as_ref().is_some_and(|d| !d.solvable_with_keys);
    Ok(GetAddressInfoResult {
        address: address.to_string(),
        script_pub_key: script.hex,
        ismine: record.is_some(),
        solvable: record.is_some(),
        desc: details.as_ref().map_or(script.desc, |d| d.desc.clone()),
        iswatchonly: watch_only,
        timestamp: details.as_ref().and_then(|d| d.timestamp),
        hdkeypath: details.as_ref().and_then(|d| d.hdkeypath.clone()),
        hdmasterfingerprint: details.as_ref().and_then(|d| d.hdmasterfingerprint.clone()),
        isscript: false,
        iswitness: true,
        witness_version: 1,
        witness_program: address.pubkey.to_string(),
        ischange: details.as_ref().is_some_and(|d| d.ischange)
            || record.is_some_and(|k| k.purpose == Purpose::Change),
        labels: record.map(|k| vec![k.label.clone()]).unwrap_or_default(),
    })
}

/// One group per address holding coins: the wallet does not link addresses by common
/// inputs, so each is its own group.
async fn listaddressgroupings(
    svc: &Service,
    handle: &WalletHandle,
) -> RpcResult<Vec<Vec<AddressGroupingEntry>>> {
    let loaded = handle.lock().await;
    let w = &loaded.wallet;
    let mut sums: Vec<(String, u64)> = Vec::new();
    for u in utxos(svc, w).await?.iter().filter(|u| !u.spent_in_mempool) {
        match sums.iter_mut().find(|(a, _)| *a == u.address) {
            Some((_, s)) => *s += u.satoshis,
            None => sums.push((u.address.clone(), u.satoshis)),
        }
    }
    let groups = sums
        .into_iter()
        .map(|(address, sat)| {
            let label = w
                .record(&address)
                .filter(|k| !k.label.is_empty())
                .map(|k| k.label.clone());
            vec![AddressGroupingEntry {
                address,
                amount: Amount::from_sat(sat),
                label,
            }]
        })
        .collect();
    Ok(groups)
}

async fn signrawtransactionwithwallet(
    svc: &Service,
    handle: &WalletHandle,
    bytes: &[u8],
) -> RpcResult<SignRawTransactionResult> {
    let decode_failed = || RpcFailure::new(Code::Deserialization, "TX decode failed");
    let mut tx: Transaction = dotcoin_common::deserialize(bytes).map_err(|_| decode_failed())?;
    if tx.is_coinbase() {
        return Err(decode_failed());
    }
    // The spent outputs, from the node (public data).
    let mut spent: Vec<Option<TxOut>> = Vec::with_capacity(tx.inputs.len());
    let mut cache: HashMap<Txid, Transaction> = HashMap::new();
    for input in &tx.inputs {
        let txid = input.prevout.txid;
        if let std::collections::hash_map::Entry::Vacant(e) = cache.entry(txid) {
            if let Ok(info) = node::raw_transaction(&svc.node, &txid).await {
                e.insert(info.tx);
            }
        }
        spent.push(
            cache
                .get(&txid)
                .and_then(|t| t.outputs.get(input.prevout.vout as usize))
                .copied(),
        );
    }
    let loaded = handle.lock().await;
    let mut errors = Vec::new();
    if spent.iter().all(Option::is_some) {
        let spent: Vec<TxOut> = spent.into_iter().flatten().collect();
        match loaded.wallet.sign_inputs(&mut tx, &spent) {
            Ok(_) => {}
            Err(crate::WalletError::PassphraseNeeded { .. }) => {
                return Err(RpcFailure::new(Code::UnlockNeeded, params::UNLOCK_NEEDED))
            }
            Err(e) => return Err(e.into()),
        }
    } else {
        for (input, out) in tx.inputs.iter().zip(&spent) {
            if out.is_none() {
                errors.push(SignRawTransactionError {
                    txid: input.prevout.txid,
                    vout: input.prevout.vout,
                    witness: Vec::new(),
                    script_sig: String::new(),
                    sequence: FINAL_SEQUENCE,
                    error: "Input not found or already spent".into(),
                });
            }
        }
    }
    let complete = errors.is_empty() && tx.inputs.iter().all(|i| i.witness.len() == 64);
    Ok(SignRawTransactionResult {
        hex: hex::encode(encode::serialize(&tx)),
        complete,
        errors: (!errors.is_empty()).then_some(errors),
    })
}

/// A wallet's balances by state and its transaction count (what `getwalletinfo` says),
/// for the service's metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Figures {
    /// Spendable, confirmed or own change.
    pub trusted: Amount,
    /// Unconfirmed from others.
    pub untrusted_pending: Amount,
    /// Immature coinbase.
    pub immature: Amount,
    /// Transactions touching the wallet.
    pub txcount: u64,
}

/// The figures of the wallet `handle`.
pub async fn figures(svc: &Service, handle: &WalletHandle) -> RpcResult<Figures> {
    let info = getwalletinfo(svc, handle).await?;
    Ok(Figures {
        trusted: info.balance,
        untrusted_pending: info.unconfirmed_balance,
        immature: info.immature_balance,
        txcount: info.txcount,
    })
}

/// Pays `amount` to `address` from the wallet `handle` at the default fee rate, through
/// the same path as `sendtoaddress`: the faucet's payment.
pub async fn pay(
    svc: &Service,
    handle: &WalletHandle,
    address: Address,
    amount: Amount,
) -> RpcResult<Txid> {
    match send(svc, handle, vec![(address, amount)], None, false, false).await? {
        SendResult::Txid(txid) => Ok(txid),
        SendResult::Verbose(v) => Ok(v.txid),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn named_parameters_go_in_place() {
        let table = super::super::wire::WalletTable;
        let normalize = |m, p| dotcoin_rpc_server::normalize_params(&table, m, p);
        let list = normalize(
            "sendtoaddress",
            json!({"amount": 1, "address": "a", "fee_rate": 3}),
        )
        .expect("known names");
        assert_eq!(
            list,
            json!(["a", 1, null, null, null, null, null, null, null, 3])
        );
        let (code, message) = normalize("getbalance", json!({"bogus": 1})).expect_err("unknown");
        assert_eq!(code, -8);
        assert!(
            message.starts_with("Unknown named parameter bogus"),
            "{message}"
        );
        let (code, _) = normalize("getwalletinfo", json!([1])).expect_err("surplus");
        assert_eq!(code, -1, "Core's wallet answers surplus parameters with -1");
    }

    #[test]
    fn the_wire_checks_the_declared_types() {
        let table = super::super::wire::WalletTable;
        let normalize = |m, p| dotcoin_rpc_server::normalize_params(&table, m, p);
        for (method, params, code, needle) in [
            (
                "sendtoaddress",
                json!(["a"]),
                -1,
                "missing required parameter 'amount'",
            ),
            ("sendtoaddress", json!(["a", "abc"]), -3, "Invalid amount"),
            ("sendtoaddress", json!(["a", -1]), -3, "Amount out of range"),
            ("sendtoaddress", json!([5, 1]), -3, "parameter 'address'"),
            (
                "sendtoaddress",
                json!(["a", 1, "", "", 1]),
                -3,
                "expected type bool",
            ),
            ("sendmany", json!(["", ["a"]]), -3, "expected type object"),
            ("sendmany", json!(["", {"a": "lots"}]), -3, "Invalid amount"),
            ("listunspent", json!([1, 9, "a"]), -3, "expected type array"),
            (
                "listunspent",
                json!([1, 9, [5]]),
                -3,
                "expected type string",
            ),
            (
                "listunspent",
                json!([1, 9, [], true, 5]),
                -3,
                "expected type object",
            ),
            ("gettransaction", json!(["zz"]), -8, "must be of length 64"),
            (
                "walletpassphrase",
                json!(["pw", "60"]),
                -3,
                "parameter 'timeout'",
            ),
            (
                "signrawtransactionwithwallet",
                json!(["zz"]),
                -22,
                "hexstring",
            ),
            (
                "createwallet",
                json!([]),
                -1,
                "missing required parameter 'wallet_name'",
            ),
        ] {
            let (got, message) = normalize(method, params.clone()).expect_err("refused");
            assert_eq!(got, code, "{method} {params}: {message}");
            assert!(message.contains(needle), "{method} {params}: {message}");
        }
        assert!(normalize(
            "listunspent",
            json!([0, 9, ["a"], false, {"minimumAmount": 1}])
        )
        .is_ok());
    }

    #[test]
    fn help_lists_every_method_and_describes_one() {
        let all = help(None).expect("help");
        for m in METHODS {
            assert!(all.contains(m.name), "{}", m.name);
        }
        let one = help(Some("sendtoaddress")).expect("help sendtoaddress");
        // Core's layout: string parameters quoted, optional ones in parentheses.
        assert!(
            one.starts_with("sendtoaddress \"address\" amount ( \"comment\""),
            "{one}"
        );
        assert!(
            one.contains("2. amount                 (numeric or string, required)"),
            "{one}"
        );
        assert_eq!(help(Some("nope")).expect_err("unknown").code, -1);
    }

    #[test]
    fn dotcoin_cli_routes_every_wallet_method_here() {
        let mut served: Vec<&str> = METHODS
            .iter()
            .map(|m| m.name)
            .filter(|m| !matches!(*m, "help" | "stop"))
            .collect();
        served.sort_unstable();
        assert_eq!(served, dotcoin_rpc_client::WALLET_METHODS);
    }

    #[test]
    fn server_help_cli_table_and_typed_client_list_the_same_methods() {
        use std::collections::BTreeSet;

        use dotcoin_rpc_client::api::{contract_mismatches, names_in_help, Service as Answerer};

        // The four lists of the wallet service's methods, each read from where it is
        // used: what the server registers, what `help` prints, `dotcoin-cli`'s conversion
        // table and the typed client.
        let dir = tempfile::tempdir().expect("tempdir");
        let mut node = dotcoin_rpc_client::ConnectOptions::new(dotcoin_common::Network::Regtest);
        node.rpcport = Some(1);
        node.rpcuser = Some("u".to_owned());
        node.rpcpassword = Some("p".to_owned());
        let service = Service::new(
            dotcoin_common::Network::Regtest,
            dir.path().to_path_buf(),
            node,
            Amount::from_sat(1),
        )
        .expect("a service (no node is contacted)");
        let module = module(service);
        let registered: BTreeSet<&str> = module.method_names().collect();
        let overview = help(None).expect("help");
        let found = contract_mismatches(
            Answerer::Wallet,
            &registered,
            &names_in_help(&overview),
            dotcoin_rpc_client::methods::WALLET_SERVICE_METHODS,
            |m| {
                METHODS.iter().find(|d| d.name == m).map(|d| {
                    d.args
                        .iter()
                        .map(|a| (a.main_name(), a.cli_string))
                        .collect()
                })
            },
        );
        assert!(found.is_empty(), "{}", found.join("\n"));
    }
}
