//! `dotcoin-cli`'s conversion table, Bitcoin Core's `vRPCConvertParams` made whole: every
//! method of the node and of the wallet service with its parameters in order, each marked
//! as passed as typed ([`Conv::Str`]) or parsed as JSON ([`Conv::Json`]). With it
//! `dotcoin-cli signmessage addr 123` sends the string `"123"` where a string is declared,
//! and `-named` arguments are converted by name.
//!
//! The servers declare the same facts with their parameter types (the node's
//! `rpc/spec.rs`, the wallet service's method table); the contract tests hold this table
//! equal to them, method by method and parameter by parameter. WebSocket-only methods
//! (`subscribe_*`) are not here: `dotcoin-cli` speaks HTTP.

/// How `dotcoin-cli` passes one command-line argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conv {
    /// As typed, a JSON string.
    Str,
    /// Parsed as JSON (numbers, booleans, arrays, objects).
    Json,
}

/// Which program answers a method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// `dotcoind`.
    Node,
    /// `dotcoin-wallet serve`.
    Wallet,
}

/// One method: who answers it and its parameters in positional order.
#[derive(Debug, Clone, Copy)]
pub struct CliMethod {
    /// Who answers it.
    pub service: Service,
    /// The method name.
    pub name: &'static str,
    /// Each parameter's main name and how its argument is passed.
    pub params: &'static [(&'static str, Conv)],
}

impl CliMethod {
    /// How the argument for parameter `name` is passed.
    pub fn conv_of(&self, name: &str) -> Option<Conv> {
        self.params
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, c)| *c)
    }
}

use std::collections::BTreeSet;

use Conv::{Json, Str};

const fn node(name: &'static str, params: &'static [(&'static str, Conv)]) -> CliMethod {
    CliMethod {
        service: Service::Node,
        name,
        params,
    }
}

const fn wallet(name: &'static str, params: &'static [(&'static str, Conv)]) -> CliMethod {
    CliMethod {
        service: Service::Wallet,
        name,
        params,
    }
}

/// Every method `dotcoin-cli` knows, node's first.
pub const CLI_METHODS: &[CliMethod] = &[
    node("getaddressbalance", &[("addresses", Json)]),
    node("getaddresstxids", &[("addresses", Json)]),
    node("getaddressutxos", &[("addresses", Json)]),
    node("getbestblockhash", &[]),
    node("getblock", &[("blockhash", Str), ("verbosity", Json)]),
    node("getblockchaininfo", &[]),
    node("getblockcount", &[]),
    node("getblockhash", &[("height", Json)]),
    node("getchaintxstats", &[("nblocks", Json), ("blockhash", Str)]),
    node(
        "getblockstats",
        &[("hash_or_height", Json), ("stats", Json)],
    ),
    node("getblockheader", &[("blockhash", Str), ("verbose", Json)]),
    node("getchaintips", &[]),
    node("getdifficulty", &[]),
    node("getmempoolentry", &[("txid", Str)]),
    node("getmempoolinfo", &[]),
    node(
        "getrawmempool",
        &[("verbose", Json), ("mempool_sequence", Json)],
    ),
    node(
        "gettxout",
        &[("txid", Str), ("n", Json), ("include_mempool", Json)],
    ),
    node("gettxoutsetinfo", &[]),
    node("invalidateblock", &[("blockhash", Str)]),
    node("preciousblock", &[("blockhash", Str)]),
    node("reconsiderblock", &[("blockhash", Str)]),
    node("getdeploymentinfo", &[("blockhash", Str)]),
    node("getmempoolancestors", &[("txid", Str), ("verbose", Json)]),
    node("getmempooldescendants", &[("txid", Str), ("verbose", Json)]),
    node("scantxoutset", &[("action", Str), ("scanobjects", Json)]),
    node("verifychain", &[("checklevel", Json), ("nblocks", Json)]),
    node("waitforblock", &[("blockhash", Str), ("timeout", Json)]),
    node("waitforblockheight", &[("height", Json), ("timeout", Json)]),
    node("waitfornewblock", &[("timeout", Json)]),
    node("getinfo", &[]),
    node("getmemoryinfo", &[("mode", Str)]),
    node("logging", &[("include", Json), ("exclude", Json)]),
    node("getrpcinfo", &[]),
    node("help", &[("command", Str)]),
    node("stop", &[]),
    node("uptime", &[]),
    node(
        "generateblock",
        &[("output", Str), ("transactions", Json), ("submit", Json)],
    ),
    node(
        "generatetoaddress",
        &[("nblocks", Json), ("address", Str), ("maxtries", Json)],
    ),
    node("getblocktemplate", &[("template_request", Json)]),
    node("getgenerate", &[]),
    node("getmininginfo", &[]),
    node("getnetworkhashps", &[("nblocks", Json), ("height", Json)]),
    node(
        "setgenerate",
        &[("generate", Json), ("genproclimit", Json), ("address", Str)],
    ),
    node("submitblock", &[("hexdata", Str), ("dummy", Str)]),
    node("addnode", &[("node", Str), ("command", Str)]),
    node("clearbanned", &[]),
    node("disconnectnode", &[("address", Str), ("nodeid", Json)]),
    node("getconnectioncount", &[]),
    node("getaddednodeinfo", &[("node", Str)]),
    node("getnettotals", &[]),
    node("getnetworkinfo", &[]),
    node("getnodeaddresses", &[("count", Json), ("network", Str)]),
    node("getpeerinfo", &[]),
    node("listbanned", &[]),
    node("setnetworkactive", &[("state", Json)]),
    node("ping", &[]),
    node(
        "setban",
        &[
            ("subnet", Str),
            ("command", Str),
            ("bantime", Json),
            ("absolute", Json),
        ],
    ),
    node(
        "createrawtransaction",
        &[("inputs", Json), ("outputs", Json), ("locktime", Json)],
    ),
    node("decoderawtransaction", &[("hexstring", Str)]),
    node(
        "getrawtransaction",
        &[("txid", Str), ("verbosity", Json), ("blockhash", Str)],
    ),
    node(
        "sendrawtransaction",
        &[("hexstring", Str), ("maxfeerate", Json)],
    ),
    node(
        "testmempoolaccept",
        &[("rawtxs", Json), ("maxfeerate", Json)],
    ),
    node(
        "echo",
        &[
            ("arg0", Json),
            ("arg1", Json),
            ("arg2", Json),
            ("arg3", Json),
            ("arg4", Json),
            ("arg5", Json),
            ("arg6", Json),
            ("arg7", Json),
            ("arg8", Json),
            ("arg9", Json),
        ],
    ),
    node(
        "estimatesmartfee",
        &[("conf_target", Json), ("estimate_mode", Str)],
    ),
    node("getindexinfo", &[("index_name", Str)]),
    node("validateaddress", &[("address", Str)]),
    node("getzmqnotifications", &[]),
    node("plugin", &[("subcommand", Str), ("arg", Str)]),
    node("getblockpropagation", &[("blockhash", Str)]),
    node("gettxpropagation", &[("txid", Str)]),
    node("listblockpropagation", &[]),
    node("analyzepsbt", &[("psbt", Str)]),
    node("combinepsbt", &[("txs", Json)]),
    node(
        "converttopsbt",
        &[
            ("hexstring", Str),
            ("permitsigdata", Json),
            ("iswitness", Json),
        ],
    ),
    node("decodepsbt", &[("psbt", Str)]),
    node("finalizepsbt", &[("psbt", Str), ("extract", Json)]),
    node("utxoupdatepsbt", &[("psbt", Str), ("descriptors", Json)]),
    wallet("backupwallet", &[("destination", Str)]),
    wallet(
        "createwallet",
        &[
            ("wallet_name", Str),
            ("disable_private_keys", Json),
            ("blank", Json),
            ("passphrase", Str),
            ("avoid_reuse", Json),
            ("descriptors", Json),
            ("load_on_startup", Json),
            ("external_signer", Json),
        ],
    ),
    wallet("dumpprivkey", &[("address", Str)]),
    wallet("encryptwallet", &[("passphrase", Str)]),
    wallet("getaddressinfo", &[("address", Str)]),
    wallet(
        "getbalance",
        &[
            ("dummy", Str),
            ("minconf", Json),
            ("include_watchonly", Json),
            ("avoid_reuse", Json),
        ],
    ),
    wallet("getbalances", &[]),
    wallet("getnewaddress", &[("label", Str), ("address_type", Str)]),
    wallet("getrawchangeaddress", &[("address_type", Str)]),
    wallet(
        "gettransaction",
        &[
            ("txid", Str),
            ("include_watchonly", Json),
            ("verbose", Json),
        ],
    ),
    wallet("getwalletinfo", &[]),
    wallet("help", &[("command", Str)]),
    wallet(
        "importprivkey",
        &[("privkey", Str), ("label", Str), ("rescan", Json)],
    ),
    wallet("listaddressgroupings", &[]),
    wallet(
        "listtransactions",
        &[
            ("label", Str),
            ("count", Json),
            ("skip", Json),
            ("include_watchonly", Json),
        ],
    ),
    wallet(
        "listunspent",
        &[
            ("minconf", Json),
            ("maxconf", Json),
            ("addresses", Json),
            ("include_unsafe", Json),
            ("query_options", Json),
        ],
    ),
    wallet("listwallets", &[]),
    wallet(
        "loadwallet",
        &[("filename", Str), ("load_on_startup", Json)],
    ),
    wallet(
        "sendmany",
        &[
            ("dummy", Str),
            ("amounts", Json),
            ("minconf", Json),
            ("comment", Str),
            ("subtractfeefrom", Json),
            ("replaceable", Json),
            ("conf_target", Json),
            ("estimate_mode", Str),
            ("fee_rate", Json),
            ("verbose", Json),
        ],
    ),
    wallet(
        "sendtoaddress",
        &[
            ("address", Str),
            ("amount", Json),
            ("comment", Str),
            ("comment_to", Str),
            ("subtractfeefromamount", Json),
            ("replaceable", Json),
            ("conf_target", Json),
            ("estimate_mode", Str),
            ("avoid_reuse", Json),
            ("fee_rate", Json),
            ("verbose", Json),
        ],
    ),
    wallet(
        "signrawtransactionwithwallet",
        &[("hexstring", Str), ("prevtxs", Json), ("sighashtype", Str)],
    ),
    wallet("stop", &[]),
    wallet(
        "unloadwallet",
        &[("wallet_name", Str), ("load_on_startup", Json)],
    ),
    wallet("walletlock", &[]),
    wallet(
        "walletpassphrase",
        &[("passphrase", Str), ("timeout", Json)],
    ),
    wallet(
        "walletpassphrasechange",
        &[("oldpassphrase", Str), ("newpassphrase", Str)],
    ),
    wallet("getdescriptorinfo", &[("descriptor", Str)]),
    wallet("deriveaddresses", &[("descriptor", Str), ("range", Json)]),
    wallet(
        "listsinceblock",
        &[
            ("blockhash", Str),
            ("target_confirmations", Json),
            ("include_watchonly", Json),
            ("include_removed", Json),
            ("include_change", Json),
        ],
    ),
    wallet(
        "lockunspent",
        &[
            ("unlock", Json),
            ("transactions", Json),
            ("persistent", Json),
        ],
    ),
    wallet("listlockunspent", &[]),
    wallet("abandontransaction", &[("txid", Str)]),
    wallet("importdescriptors", &[("requests", Json)]),
    wallet("listdescriptors", &[("private", Json)]),
    wallet(
        "migratewallet",
        &[("wallet_name", Str), ("passphrase", Str)],
    ),
    wallet(
        "walletcreatefundedpsbt",
        &[
            ("inputs", Json),
            ("outputs", Json),
            ("locktime", Json),
            ("options", Json),
            ("bip32derivs", Json),
        ],
    ),
    wallet(
        "walletprocesspsbt",
        &[
            ("psbt", Str),
            ("sign", Json),
            ("sighashtype", Str),
            ("bip32derivs", Json),
            ("finalize", Json),
        ],
    ),
    wallet(
        "send",
        &[
            ("outputs", Json),
            ("conf_target", Json),
            ("estimate_mode", Str),
            ("fee_rate", Json),
            ("options", Json),
        ],
    ),
    wallet(
        "sendall",
        &[
            ("recipients", Json),
            ("conf_target", Json),
            ("estimate_mode", Str),
            ("fee_rate", Json),
            ("options", Json),
        ],
    ),
    wallet(
        "fundrawtransaction",
        &[("hexstring", Str), ("options", Json), ("iswitness", Json)],
    ),
    wallet("bumpfee", &[("txid", Str), ("options", Json)]),
    wallet("psbtbumpfee", &[("txid", Str), ("options", Json)]),
];

/// The entry of `service`'s method `name`.
pub fn lookup(service: Service, name: &str) -> Option<&'static CliMethod> {
    CLI_METHODS
        .iter()
        .find(|m| m.service == service && m.name == name)
}

/// The method names `help`'s overview lists (every line but the `== Category ==` headings
/// starts with one).
pub fn names_in_help(overview: &str) -> BTreeSet<&str> {
    overview
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with("=="))
        .filter_map(|l| l.split_whitespace().next())
        .collect()
}

/// Where one service's four lists of methods disagree, for its contract test: what the
/// server `registered` (over HTTP), what its `help` lists, what the typed client calls
/// (`typed`) and this table; and, method by method, the parameters the server `declared`
/// (main name, and whether it is a string) against this table's. Empty when all agree.
pub fn contract_mismatches<'a>(
    service: Service,
    registered: &BTreeSet<&'a str>,
    helped: &BTreeSet<&'a str>,
    typed: &[&'a str],
    declared: impl Fn(&str) -> Option<Vec<(&'a str, bool)>>,
) -> Vec<String> {
    let mut out = Vec::new();
    let mut compare = |what: &str, other: &BTreeSet<&str>| {
        let missing: Vec<&&str> = registered.difference(other).collect();
        let extra: Vec<&&str> = other.difference(registered).collect();
        if !missing.is_empty() || !extra.is_empty() {
            out.push(format!(
                "{what}: lacks {missing:?}, has unregistered {extra:?}"
            ));
        }
    };
    compare("help's list", helped);
    let table: BTreeSet<&str> = CLI_METHODS
        .iter()
        .filter(|m| m.service == service)
        .map(|m| m.name)
        .collect();
    compare("the CLI's conversion table", &table);
    compare("the typed client", &typed.iter().copied().collect());
    for m in CLI_METHODS.iter().filter(|m| m.service == service) {
        let ours: Vec<(&str, bool)> = m.params.iter().map(|(n, c)| (*n, *c == Str)).collect();
        match declared(m.name) {
            Some(theirs) if theirs == ours => {}
            Some(theirs) => out.push(format!(
                "{}: the server declares {theirs:?}, the conversion table {ours:?}",
                m.name
            )),
            None => out.push(format!("{}: the server declares no parameters", m.name)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mismatches_name_the_list_and_the_method() {
        let registered: BTreeSet<&str> = ["getblock", "uptime"].into_iter().collect();
        let helped =
            names_in_help("== Blockchain ==\ngetblock \"blockhash\"\n\n== Control ==\nuptime");
        assert_eq!(helped, registered);
        let declared = |m: &str| match m {
            "getblock" => Some(vec![("blockhash", true), ("verbosity", false)]),
            _ => Some(vec![]),
        };
        // This table has every node method: all but two are "unregistered" here.
        let found = contract_mismatches(
            Service::Node,
            &registered,
            &helped,
            &["getblock", "uptime"],
            declared,
        );
        assert!(
            found
                .iter()
                .any(|m| m.starts_with("the CLI's conversion table")),
            "{found:?}"
        );
        assert!(
            !found.iter().any(|m| m.starts_with("help's list")),
            "{found:?}"
        );
        assert!(
            !found.iter().any(|m| m.starts_with("getblock:")),
            "{found:?}"
        );
        let wrong = |m: &str| (m == "getblock").then(|| vec![("blockhash", false)]);
        let found = contract_mismatches(Service::Node, &registered, &helped, &[], wrong);
        assert!(
            found.iter().any(|m| m.starts_with("the typed client")),
            "{found:?}"
        );
        assert!(
            found
                .iter()
                .any(|m| m.starts_with("getblock: the server declares")),
            "{found:?}"
        );
        assert!(
            found
                .iter()
                .any(|m| m == "uptime: the server declares no parameters"),
            "{found:?}"
        );
    }
}
