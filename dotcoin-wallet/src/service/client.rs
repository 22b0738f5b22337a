//! The command line as a client of a running wallet service: when `dotcoin-wallet serve`
//! holds the wallet file (its lock is taken), a command that has a wallet RPC is sent to
//! the service instead of being refused, so `dotcoin-wallet <command>` keeps working next
//! to the service. The answer is the RPC's (Core's shape), not the offline command's.

use std::path::Path;

use dotcoin_common::Network;
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{json, Value};

use super::PORTS_FILE;
use crate::cli::{Cli, Command};
use crate::error::WalletError;
use crate::output::{Json, Outcome};

/// The wallet RPC for `command`, if it has one.
pub fn rpc_for(command: &Command) -> Result<Option<(&'static str, Value)>, WalletError> {
    Ok(Some(match command {
        Command::Getnewaddress { label } => {
            ("getnewaddress", json!([label.as_deref().unwrap_or("")]))
        }
        Command::Getbalance => ("getbalances", json!([])),
        Command::Listunspent => ("listunspent", json!([0])),
        Command::Listtransactions => ("listtransactions", json!(["*", 1_000_000])),
        Command::Info => ("getwalletinfo", json!([])),
        Command::Listdescriptors { private } => ("listdescriptors", json!([private])),
        Command::Dumpprivkey { address } => ("dumpprivkey", json!([address])),
        Command::Importprivkey { privkey, label } => (
            "importprivkey",
            json!([privkey, label.as_deref().unwrap_or("")]),
        ),
        Command::Send {
            address,
            amount,
            fee_rate,
            subtract_fee,
        } => (
            "sendtoaddress",
            json!({
                "address": address,
                "amount": amount,
                "subtractfeefromamount": subtract_fee,
                "fee_rate": fee_rate,
            }),
        ),
        Command::Sendmany { amounts, fee_rate } => {
            let amounts: Value = serde_json::from_str(amounts).map_err(|_| {
                WalletError::BadSendMany(
                    "expected a JSON object of address to amount in DOT, e.g. \
                     '{\"<address>\": 1.5}'"
                        .into(),
                )
            })?;
            (
                "sendmany",
                json!({"dummy": "", "amounts": amounts, "fee_rate": fee_rate}),
            )
        }
        Command::Backupwallet { destination } => {
            // The service runs elsewhere: a relative path is the caller's.
            let absolute = std::path::absolute(destination)
                .map_err(|e| WalletError::io("cannot resolve", destination, e))?;
            ("backupwallet", json!([absolute]))
        }
        Command::Create { .. }
        | Command::Listaddresses
        | Command::Encrypt
        | Command::Serve { .. }
        // Signing offline never goes through a service.
        | Command::Signpsbt { .. }
        // A restore writes a new file: no service holds it.
        | Command::Restore { .. } => return Ok(None),
    }))
}

/// The port of the service running in `network_datadir`: its ports file, else the node's
/// RPC port + 3.
fn service_port(network_datadir: &Path) -> Option<u16> {
    let text = std::fs::read_to_string(network_datadir.join(PORTS_FILE)).ok()?;
    let value: Value = serde_json::from_str(&text).ok()?;
    value["rpc"].as_u64().and_then(|p| u16::try_from(p).ok())
}

/// Sends `cli`'s command to the wallet service, when it has an RPC; `None` otherwise.
pub fn forward(cli: &Cli, network: Network, base: &Path) -> Option<Result<Outcome, WalletError>> {
    let call = match rpc_for(&cli.command) {
        Ok(Some(call)) => call,
        Ok(None) => return None,
        Err(e) => return Some(Err(e)),
    };
    let mut options = dotcoin_rpc_client::ConnectOptions::new(network);
    options.datadir = Some(base.to_path_buf());
    options.rpcconnect = cli.rpcconnect.clone();
    options.rpcport = cli.rpcport;
    let port = service_port(&options.network_datadir());
    let options = options.for_wallet_service(port, Some(&cli.wallet));
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            return Some(Err(WalletError::Node(format!(
                "cannot start the async runtime: {e}"
            ))))
        }
    };
    let (method, params) = call;
    Some(runtime.block_on(async move {
        let client = dotcoin_rpc_client::RpcClient::new(&options)
            .map_err(|e| WalletError::Node(format!("wallet service: {e}")))?;
        let raw = client.call_raw(method, params).await.map_err(|e| match e {
            dotcoin_rpc_client::RpcError::Rpc { code, message } => {
                WalletError::NodeRpc { code, message }
            }
            other => WalletError::Node(format!("wallet service: {other}")),
        })?;
        let result: Json = serde_json::from_str(raw.get())
            .map_err(|e| WalletError::Node(format!("wallet service answered: {e}")))?;
        Ok(Outcome {
            result,
            notes: vec![format!(
                "the wallet is loaded in a running wallet service; this is its {method} answer"
            )],
        })
    }))
}

/// Reads the service's JSON into [`Json`]: numbers with a fraction are amounts (the
/// wallet's only non-integers), so they print again with exactly 8 decimals.
impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Json, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Json;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("JSON")
            }
            fn visit_unit<E>(self) -> Result<Json, E> {
                Ok(Json::Null)
            }
            fn visit_bool<E>(self, b: bool) -> Result<Json, E> {
                Ok(Json::Bool(b))
            }
            fn visit_i64<E>(self, i: i64) -> Result<Json, E> {
                Ok(Json::Int(i))
            }
            fn visit_u64<E: serde::de::Error>(self, u: u64) -> Result<Json, E> {
                i64::try_from(u)
                    .map(Json::Int)
                    .map_err(|_| E::custom("integer out of range"))
            }
            fn visit_f64<E>(self, f: f64) -> Result<Json, E> {
                Ok(Json::Amount((f * 100_000_000.0).round() as i128))
            }
            fn visit_str<E>(self, s: &str) -> Result<Json, E> {
                Ok(Json::Str(s.to_owned()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Json::Arr(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
                let mut fields = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Json>()? {
                    fields.push((k, v));
                }
                Ok(Json::Obj(fields))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_json_keeps_amounts_and_integers() {
        let v: Json =
            serde_json::from_str(r#"{"a":90.00000000,"n":3,"s":"x","l":[null,true,-0.5]}"#)
                .expect("parses");
        assert_eq!(
            v.compact(),
            r#"{"a":90.00000000,"n":3,"s":"x","l":[null,true,-0.50000000]}"#
        );
    }

    #[test]
    fn commands_map_to_core_calls() {
        let (m, p) = rpc_for(&Command::Send {
            address: "a".into(),
            amount: "1.5".into(),
            fee_rate: 3,
            subtract_fee: true,
        })
        .expect("maps")
        .expect("has an RPC");
        assert_eq!(m, "sendtoaddress");
        assert_eq!(p["fee_rate"], 3);
        assert_eq!(p["subtractfeefromamount"], true);
        assert!(rpc_for(&Command::Listaddresses).expect("maps").is_none());
    }
}
