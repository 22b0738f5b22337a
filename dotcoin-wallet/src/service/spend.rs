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

use super::methods::{check_estimate_mode, flag, register_wallet, utxos};
use super::params::{self, Code, RpcFailure, RpcResult};
use super::send::FundRequest;
use super::{Service, WalletHandle};
use crate::txbuild::Payment;

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

/// The outpoints a list of preset inputs names, in order.
pub(super) fn outpoints(inputs: &[PsbtInputArg]) -> Vec<OutPoint> {
    inputs
        .iter()
        .map(|i| OutPoint {
            txid: i.txid.0,
            vout: i.vout,
        })
        .collect()
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
        let options = FundOptions::parse(
            options.map(|o| o.0).unwrap_or_default(),
            &c.svc,
            OptionsOf::Fund,
        )?;
        let preset = outpoints(&inputs.map(|i| i.0).unwrap_or_default());
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
pub(super) fn parse_outputs(
    v: &Value,
    network: dotcoin_common::Network,
) -> RpcResult<Vec<(Address, Amount)>> {
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

/// The options of `walletcreatefundedpsbt`, `fundrawtransaction` and `send` (Core's
/// names, camelCase and snake_case alike).
#[derive(Debug, Clone, Default)]
pub(super) struct FundOptions {
    pub(super) add_inputs: Option<bool>,
    pub(super) change_address: Option<Address>,
    pub(super) change_position: Option<usize>,
    pub(super) fee_rate: Option<FeeRate>,
    pub(super) subtract_from: Vec<usize>,
    pub(super) include_unsafe: bool,
    pub(super) lock_unspents: bool,
    /// `send` only: the inputs to spend.
    pub(super) inputs: Option<Vec<OutPoint>>,
    /// `send` only: broadcast and record it (default true).
    pub(super) add_to_wallet: Option<bool>,
    /// `send` only: always return a PSBT.
    pub(super) psbt: Option<bool>,
    /// `send` only: the lock time.
    pub(super) locktime: Option<u32>,
    pub(super) conf_target: Option<Int>,
    pub(super) estimate_mode: Option<String>,
}

/// Which call's options [`FundOptions::parse`] reads: `send` takes a few more keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum OptionsOf {
    /// `walletcreatefundedpsbt` and `fundrawtransaction`.
    Fund,
    /// `send`.
    Send,
}

impl FundOptions {
    /// Reads `options`; the fee estimation keys are checked by the caller (`send` merges
    /// its positional ones first) through [`FundOptions::check_fee_keys`].
    pub(super) fn parse(
        options: Map<String, Value>,
        svc: &Service,
        of: OptionsOf,
    ) -> RpcResult<FundOptions> {
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
                "include_unsafe" => out.include_unsafe = want_bool(k, v)?,
                "lockUnspents" | "lock_unspents" => out.lock_unspents = want_bool(k, v)?,
                "includeWatching" | "include_watching" | "replaceable" => {
                    want_bool(k, v)?;
                }
                "add_to_wallet" if of == OptionsOf::Send => {
                    out.add_to_wallet = Some(want_bool(k, v)?)
                }
                "psbt" if of == OptionsOf::Send => out.psbt = Some(want_bool(k, v)?),
                "inputs" if of == OptionsOf::Send => {
                    let list: JsonArray<PsbtInputArg> = JsonArray::from_param(v, "inputs")?;
                    out.inputs = Some(outpoints(&list.0));
                }
                "locktime" if of == OptionsOf::Send => {
                    let n = Int::from_param(v, "locktime")?.0;
                    out.locktime = Some(u32::try_from(n).map_err(|_| {
                        RpcFailure::new(
                            Code::InvalidParameter,
                            "Invalid parameter, locktime out of range",
                        )
                    })?);
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
        out.conf_target = conf_target;
        out.estimate_mode = estimate_mode;
        if of == OptionsOf::Fund {
            out.check_fee_keys()?;
        }
        Ok(out)
    }

    /// Core's checks of `conf_target` and `estimate_mode` beside `fee_rate`.
    pub(super) fn check_fee_keys(&self) -> RpcResult<()> {
        check_estimate_mode(
            self.conf_target,
            self.estimate_mode.as_deref(),
            self.fee_rate.is_some(),
        )
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
    let payments = outputs
        .iter()
        .map(|(a, amount)| Payment {
            pubkey: a.pubkey,
            amount: *amount,
        })
        .collect();
    let mut request = FundRequest::from_options(payments, preset, &options)?;
    request.locktime = locktime;
    // Funding needs no private key: a locked wallet funds, and the signer may be offline.
    let mut loaded = handle.lock().await;
    let funded = super::send::fund(svc, &mut loaded, request).await?;
    let psbt = super::send::psbt_of(&loaded, &funded.tx, &funded.spent);
    tracing::info!(target: "wallet", wallet = %loaded.name, fee = %funded.fee, "funded a PSBT");
    Ok(WalletCreateFundedPsbtResult {
        psbt: psbt.to_base64(),
        fee: funded.fee,
        changepos: funded.changepos,
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
