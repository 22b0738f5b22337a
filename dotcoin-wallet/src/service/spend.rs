//! The wallet service's PSBT calls: `walletcreatefundedpsbt` (fund a payment without
//! signing: a locked or key-less wallet can, and the signer may be offline) and
//! `walletprocesspsbt` (fill in what the wallet knows, sign, finalize). Their parameters
//! are declared at the end of the method table (`super::methods::METHODS`).

use dotcoin_common::psbt::Psbt;
use dotcoin_common::psbt_rpc_types::{WalletCreateFundedPsbtResult, WalletProcessPsbtResult};
use dotcoin_common::{encode, Address, Amount, FeeRate, OutPoint, Txid};
use dotcoin_rpc_server::arg::{
    amount_from_value, DotPerKvb, FromParam, HashArg, Int, Json, JsonArray, JsonObject, SatPerVb,
    StrictBool, Text,
};
use jsonrpsee::RpcModule;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::methods::{check_estimate_mode, flag, register_wallet, utxos, DEFAULT_FEE_RATE};
use super::params::{self, Code, RpcFailure, RpcResult};
use super::{Service, WalletHandle};
use crate::wallet::SendRequest;

/// One preset input (Core's `inputs` entries).
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct PsbtInputArg {
    /// The transaction holding the output.
    pub txid: HashArg<Txid>,
    /// The output's index.
    pub vout: u32,
    /// The sequence number (accepted; dotcoin's inputs have none).
    #[serde(default)]
    pub sequence: Option<u32>,
}

/// Registers this module's methods.
pub(super) fn register(m: &mut RpcModule<Service>) {
    register_wallet(m, "walletcreatefundedpsbt", |mut c, w| async move {
        let a = &mut c.args;
        let inputs: Option<JsonArray<PsbtInputArg>> = a.opt()?;
        let outputs: Json<Value> = a.req()?;
        let locktime: Option<Int> = a.opt()?;
        let options: Option<JsonObject<Map<String, Value>>> = a.opt()?;
        let _bip32derivs: Option<StrictBool> = a.opt()?;
        let outputs = parse_outputs(&outputs.0, c.svc.network)?;
        let locktime = match locktime.map_or(0, |l| l.0) {
            l @ 0..=0xffff_ffff => l as u32,
            _ => {
                return Err(RpcFailure::new(
                    Code::InvalidParameter,
                    "Invalid parameter, locktime out of range",
                ))
            }
        };
        let options = FundOptions::parse(options.map(|o| o.0).unwrap_or_default(), &c.svc)?;
        let preset: Vec<OutPoint> = inputs
            .map(|i| i.0)
            .unwrap_or_default()
            .iter()
            .map(|i| OutPoint {
                txid: i.txid.0,
                vout: i.vout,
            })
            .collect();
        walletcreatefundedpsbt(&c.svc, &w, preset, outputs, locktime, options).await
    });
    register_wallet(m, "walletprocesspsbt", |mut c, w| async move {
        let a = &mut c.args;
        let psbt: Text = a.req()?;
        let sign: Option<StrictBool> = a.opt()?;
        let sighashtype: Option<Text> = a.opt()?;
        let _bip32derivs: Option<StrictBool> = a.opt()?;
        let finalize: Option<StrictBool> = a.opt()?;
        check_sighash(sighashtype.as_ref().map(|t| t.0.as_str()))?;
        walletprocesspsbt(&c.svc, &w, &psbt, flag(sign, true), flag(finalize, true)).await
    });
}

/// dotcoin has one signature hash: Core's names for it are taken.
fn check_sighash(t: Option<&str>) -> RpcResult<()> {
    match t {
        None | Some("DEFAULT") | Some("ALL") => Ok(()),
        Some(_) => Err(RpcFailure::new(
            Code::InvalidParameter,
            "Invalid sighash param",
        )),
    }
}

/// A PSBT from base64, or Core's `-22`.
pub(crate) fn decode_psbt(text: &str) -> RpcResult<Psbt> {
    Psbt::from_base64(text)
        .map_err(|e| RpcFailure::new(Code::Deserialization, format!("TX decode failed {e}")))
}

/// Core's outputs: an object `{"address": amount}` or an array of one-key objects.
fn parse_outputs(v: &Value, network: dotcoin_common::Network) -> RpcResult<Vec<(Address, Amount)>> {
    let pairs: Vec<(&String, &Value)> = match v {
        Value::Object(map) => map.iter().collect(),
        Value::Array(list) => {
            let mut pairs = Vec::with_capacity(list.len());
            for item in list {
                match item {
                    Value::Object(map) => pairs.extend(map.iter()),
                    other => {
                        return Err(RpcFailure::new(
                            Code::InvalidParameter,
                            format!("Invalid parameter, key-value pair must contain exactly one key: {other}"),
                        ))
                    }
                }
            }
            pairs
        }
        _ => {
            return Err(RpcFailure::new(
                Code::Type,
                "Expected type object or array for parameter 'outputs'",
            ))
        }
    };
    if pairs.is_empty() {
        return Err(RpcFailure::new(
            Code::InvalidParameter,
            "Invalid parameter, output argument must be non-null",
        ));
    }
    let mut out: Vec<(Address, Amount)> = Vec::with_capacity(pairs.len());
    for (text, amount) in pairs {
        if text == "data" {
            return Err(RpcFailure::new(
                Code::InvalidParameter,
                "Invalid parameter, data outputs are not supported: dotcoin outputs pay keys",
            ));
        }
        let address = params::address(text, network)?;
        if out.iter().any(|(a, _)| a.pubkey == address.pubkey) {
            return Err(RpcFailure::new(
                Code::InvalidParameter,
                format!("Invalid parameter, duplicated address: {text}"),
            ));
        }
        let amount = amount_from_value(amount)?;
        if amount == Amount::ZERO {
            return Err(RpcFailure::new(Code::Type, "Invalid amount for send"));
        }
        out.push((address, amount));
    }
    Ok(out)
}

/// The options of `walletcreatefundedpsbt` (and Core's `fundrawtransaction`).
#[derive(Debug, Clone, Default)]
struct FundOptions {
    add_inputs: Option<bool>,
    change_address: Option<Address>,
    change_position: Option<usize>,
    fee_rate: Option<FeeRate>,
    subtract_from: Vec<usize>,
}

impl FundOptions {
    fn parse(options: Map<String, Value>, svc: &Service) -> RpcResult<FundOptions> {
        let mut out = FundOptions::default();
        let mut conf_target = None;
        let mut estimate_mode = None;
        let mut fee_rate = None;
        let mut fee_rate_kvb = None;
        let want_bool = |k: &str, v: &Value| {
            v.as_bool()
                .ok_or_else(|| RpcFailure::new(Code::Type, format!("Expected type bool for {k}")))
        };
        for (k, v) in &options {
            match k.as_str() {
                "add_inputs" => out.add_inputs = Some(want_bool(k, v)?),
                "include_unsafe" | "includeWatching" | "include_watching" | "lockUnspents"
                | "lock_unspents" | "replaceable" => {
                    want_bool(k, v)?;
                }
                "changeAddress" | "change_address" => {
                    let text = v.as_str().ok_or_else(|| {
                        RpcFailure::new(Code::Type, format!("Expected type string for {k}"))
                    })?;
                    out.change_address =
                        Some(params::address(text, svc.network).map_err(|_| {
                            RpcFailure::new(
                                Code::InvalidAddressOrKey,
                                "Change address must be a valid dotcoin address",
                            )
                        })?);
                }
                "changePosition" | "change_position" => {
                    let n = v.as_u64().ok_or_else(|| {
                        RpcFailure::new(Code::Type, format!("Expected type number for {k}"))
                    })?;
                    out.change_position = Some(usize::try_from(n).unwrap_or(usize::MAX));
                }
                "change_type" => match v.as_str() {
                    Some("bech32m") => {}
                    _ => {
                        return Err(RpcFailure::new(
                            Code::InvalidAddressOrKey,
                            format!("Unknown change type '{}'", v.as_str().unwrap_or_default()),
                        ))
                    }
                },
                "fee_rate" => fee_rate = Some(SatPerVb::from_param(v, "fee_rate")?.0),
                "feeRate" => fee_rate_kvb = Some(DotPerKvb::from_param(v, "feeRate")?.0),
                "subtractFeeFromOutputs" | "subtract_fee_from_outputs" => {
                    let list = v.as_array().ok_or_else(|| {
                        RpcFailure::new(Code::Type, format!("Expected type array for {k}"))
                    })?;
                    for n in list {
                        let n = n.as_u64().ok_or_else(|| {
                            RpcFailure::new(
                                Code::InvalidParameter,
                                format!("Invalid parameter, subtract fee from output index must be a number: {n}"),
                            )
                        })?;
                        out.subtract_from
                            .push(usize::try_from(n).unwrap_or(usize::MAX));
                    }
                }
                "conf_target" => conf_target = Some(Int::from_param(v, "conf_target")?),
                "estimate_mode" => estimate_mode = v.as_str().map(str::to_owned),
                other => {
                    return Err(RpcFailure::new(
                        Code::Type,
                        format!("Unexpected key {other}"),
                    ))
                }
            }
        }
        if fee_rate.is_some() && fee_rate_kvb.is_some() {
            return Err(RpcFailure::new(
                Code::InvalidParameter,
                "Cannot specify both fee_rate (sat/vB) and feeRate (DOT/kvB)",
            ));
        }
        out.fee_rate = fee_rate.or(fee_rate_kvb);
        check_estimate_mode(
            conf_target,
            estimate_mode.as_deref(),
            out.fee_rate.is_some(),
        )?;
        Ok(out)
    }
}

async fn walletcreatefundedpsbt(
    svc: &Service,
    handle: &WalletHandle,
    preset: Vec<OutPoint>,
    outputs: Vec<(Address, Amount)>,
    locktime: u32,
    options: FundOptions,
) -> RpcResult<WalletCreateFundedPsbtResult> {
    let n = outputs.len();
    if options.subtract_from.len() > 1 {
        return Err(RpcFailure::new(
            Code::InvalidParameter,
            "subtractFeeFromOutputs: this wallet takes the fee from one output at most",
        ));
    }
    if let Some(&i) = options.subtract_from.first() {
        if i >= n {
            return Err(RpcFailure::new(
                Code::InvalidParameter,
                format!("Invalid parameter, value {i} is out of bounds"),
            ));
        }
    }
    if options.change_position.is_some_and(|p| p > n) {
        return Err(RpcFailure::new(
            Code::InvalidParameter,
            "changePosition out of bounds",
        ));
    }
    if !preset.is_empty() && options.add_inputs == Some(true) {
        return Err(RpcFailure::new(
            Code::InvalidParameter,
            "add_inputs with preset inputs is not supported: give every input, or none",
        ));
    }
    // The builder takes the fee from the first payment: put the chosen one first, and
    // back in its place afterwards.
    let mut payments = outputs;
    let subtract = options.subtract_from.first().copied();
    if let Some(i) = subtract {
        payments.swap(0, i);
    }
    let mut loaded = handle.lock().await;
    let utxos = utxos(svc, &loaded.wallet).await?;
    let request = SendRequest {
        payments,
        fee_rate: options.fee_rate.unwrap_or(DEFAULT_FEE_RATE),
        subtract_fee: subtract.is_some(),
    };
    let prepared = loaded.wallet.prepare_unsigned(
        &utxos,
        &request,
        (!preset.is_empty()).then_some(preset.as_slice()),
        options.change_address.map(|a| a.pubkey),
    )?;
    if prepared.fee > svc.maxtxfee {
        return Err(RpcFailure::new(
            Code::InsufficientFunds,
            "Fee exceeds maximum configured by user (e.g. -maxtxfee, maxfeerate)",
        ));
    }
    loaded.persist()?;
    let mut tx = prepared.tx;
    tx.lock_time = locktime;
    if let Some(i) = subtract {
        tx.outputs.swap(0, i);
    }
    let has_change = tx.outputs.len() > n;
    let mut changepos = -1;
    if has_change {
        let change = tx.outputs.pop().expect("change is last");
        let at = options.change_position.unwrap_or(n);
        tx.outputs.insert(at, change);
        changepos = at as i64;
    }
    let mut psbt = Psbt::from_unsigned_tx(tx);
    for (input, spent) in psbt.inputs.iter_mut().zip(&prepared.spent) {
        input.witness_utxo = Some(*spent);
    }
    crate::psbt::update(&loaded.wallet, &mut psbt);
    tracing::info!(target: "wallet", wallet = %loaded.name, fee = %prepared.fee, "funded a PSBT");
    Ok(WalletCreateFundedPsbtResult {
        psbt: psbt.to_base64(),
        fee: prepared.fee,
        changepos,
    })
}

async fn walletprocesspsbt(
    svc: &Service,
    handle: &WalletHandle,
    text: &str,
    sign: bool,
    finalize: bool,
) -> RpcResult<WalletProcessPsbtResult> {
    let mut psbt = decode_psbt(text)?;
    let loaded = handle.lock().await;
    // The updater: spent outputs the wallet holds, from the node's view of them.
    if psbt.inputs.iter().any(|i| i.witness_utxo.is_none()) {
        let utxos = utxos(svc, &loaded.wallet).await?;
        for (input, txin) in psbt.inputs.iter_mut().zip(&psbt.tx.inputs) {
            if input.witness_utxo.is_some() {
                continue;
            }
            let found = utxos
                .iter()
                .find(|u| u.txid == txin.prevout.txid && u.output_index == txin.prevout.vout);
            if let Some(u) = found {
                if let Some(record) = loaded.wallet.record(&u.address) {
                    if let Ok(pubkey) = record.pubkey.parse() {
                        input.witness_utxo = Some(dotcoin_common::TxOut {
                            value: Amount::from_sat(u.satoshis),
                            pubkey,
                        });
                    }
                }
            }
        }
    }
    crate::psbt::update(&loaded.wallet, &mut psbt);
    let mut all_signed = psbt
        .inputs
        .iter()
        .all(|i| i.final_script_witness.is_some() || i.tap_key_sig.is_some());
    if sign {
        match crate::psbt::sign(&loaded.wallet, &mut psbt) {
            Ok(s) => all_signed = s.all_signed,
            Err(crate::WalletError::PassphraseNeeded { .. }) => {
                return Err(RpcFailure::new(Code::UnlockNeeded, params::UNLOCK_NEEDED))
            }
            Err(e) => return Err(e.into()),
        }
    }
    let (complete, hex) = if finalize {
        let complete = psbt.finalize();
        let hex = psbt
            .extract()
            .filter(|_| complete)
            .map(|tx| hex::encode(encode::serialize(&tx)));
        (complete, hex)
    } else {
        (all_signed, None)
    };
    Ok(WalletProcessPsbtResult {
        psbt: psbt.to_base64(),
        complete,
        hex,
    })
}
