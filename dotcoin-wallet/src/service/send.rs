//! The wallet service's spending calls beyond `sendtoaddress`/`sendmany`: `send`,
//! `sendall` and `fundrawtransaction`, with Bitcoin Core's parameters, options, result
//! fields and error texts; and [`fund`], the one funding path they share with
//! `walletcreatefundedpsbt` and `bumpfee`.
//!
//! Funding order matters for a refused call: every check runs, and the transaction is
//! built, before anything of the wallet changes. The change key is only looked at
//! (`next_change_pubkey`) until the call succeeds, then issued; `lockUnspents` locks the
//! inputs only then. So a call that fails (too high a fee, not enough money) leaves the
//! keypool and the locks as they were.
//!
//! `replaceable` is accepted and changes nothing: the node replaces any transaction that
//! pays enough more (full RBF), signalling or not.

use dotcoin_common::psbt::Psbt;
use dotcoin_common::rpc_types::AddressUtxo;
use dotcoin_common::wallet_rpc_types::{FundRawTransactionResult, LockedOutput, WalletSendResult};
use dotcoin_common::{
    encode, Address, Amount, FeeRate, OutPoint, PubKey, Transaction, TxIn, TxOut,
};
use dotcoin_rpc_server::arg::{
    amount_from_value, FromParam, Hex, Int, Json, JsonArray, JsonObject, SatPerVb, StrictBool, Text,
};
use jsonrpsee::RpcModule;
use serde_json::{Map, Value};

use super::methods::{check_estimate_mode, is_trusted, register_wallet, utxos, DEFAULT_FEE_RATE};
use super::params::{self, Code, RpcFailure, RpcResult};
use super::spend::{outpoints, parse_outputs, FundOptions, OptionsOf, PsbtInputArg};
use super::{Loaded, Service, WalletHandle};
use crate::coinselect::{signed_tx_size, Coin, DUST_THRESHOLD, INPUT_SIZE};
use crate::node;
use crate::txbuild::Payment;
use crate::wallet::{is_spendable, Purpose, MIN_FEE_RATE};
use crate::WalletError;

/// Core's text when the fee is over `-maxtxfee`.
pub(super) const MAX_FEE_EXCEEDED: &str =
    "Fee exceeds maximum configured by user (e.g. -maxtxfee, maxfeerate)";

/// Registers `send`, `sendall` and `fundrawtransaction`.
pub(super) fn register(m: &mut RpcModule<Service>) {
    register_wallet(m, "send", |mut c, w| async move {
        let a = &mut c.args;
        let outputs: Json<Value> = a.req()?;
        let conf_target: Option<Int> = a.opt()?;
        let estimate_mode: Option<Text> = a.opt()?;
        let fee_rate: Option<SatPerVb> = a.opt()?;
        let options: Option<JsonObject<Map<String, Value>>> = a.opt()?;
        let outputs = parse_outputs(&outputs.0, c.svc.network)?;
        let options = options.map(|o| o.0).unwrap_or_default();
        let mut options = FundOptions::parse(options, &c.svc, OptionsOf::Send)?;
        merge_positional(
            &mut options,
            conf_target,
            estimate_mode.map(|t| t.0),
            fee_rate.map(|r| r.0),
        )?;
        send(&c.svc, &w, outputs, options).await
    });
    register_wallet(m, "sendall", |mut c, w| async move {
        let a = &mut c.args;
        let recipients: JsonArray<Value> = a.req()?;
        let conf_target: Option<Int> = a.opt()?;
        let estimate_mode: Option<Text> = a.opt()?;
        let fee_rate: Option<SatPerVb> = a.opt()?;
        let options: Option<JsonObject<Map<String, Value>>> = a.opt()?;
        let recipients = parse_recipients(&recipients.0, c.svc.network)?;
        let mut options = SendAllOptions::parse(options.map(|o| o.0).unwrap_or_default())?;
        merge_fee_args(
            (
                &mut options.conf_target,
                &mut options.estimate_mode,
                &mut options.fee_rate,
            ),
            (
                conf_target,
                estimate_mode.map(|t| t.0),
                fee_rate.map(|r| r.0),
            ),
        )?;
        check_estimate_mode(
            options.conf_target,
            options.estimate_mode.as_deref(),
            options.fee_rate.is_some(),
        )?;
        sendall(&c.svc, &w, recipients, options).await
    });
    register_wallet(m, "fundrawtransaction", |mut c, w| async move {
        let a = &mut c.args;
        let hexstring: Hex = a.req()?;
        let options: Option<JsonObject<Map<String, Value>>> = a.opt()?;
        let _iswitness: Option<StrictBool> = a.opt()?;
        let tx: Transaction = dotcoin_common::deserialize(&hexstring.0)
            .ok()
            .filter(|t: &Transaction| !t.is_coinbase())
            .ok_or_else(|| RpcFailure::new(Code::Deserialization, "TX decode failed"))?;
        let options = FundOptions::parse(
            options.map(|o| o.0).unwrap_or_default(),
            &c.svc,
            OptionsOf::Fund,
        )?;
        fundrawtransaction(&c.svc, &w, tx, options).await
    });
}

fn both(what: &str) -> RpcFailure {
    RpcFailure::new(
        Code::InvalidParameter,
        format!("Pass the {what} either as an argument, or in the options object, but not both"),
    )
}

/// Where the options object of `send` or `sendall` keeps `conf_target`, `estimate_mode`
/// and `fee_rate`.
type FeeSlots<'a> = (
    &'a mut Option<Int>,
    &'a mut Option<String>,
    &'a mut Option<FeeRate>,
);

/// The positional `conf_target`, `estimate_mode` and `fee_rate` go into the options
/// object's `slots`, each given once at most (Core's `InterpretFeeEstimationInstructions`).
fn merge_fee_args(
    (ct, em, fr): FeeSlots<'_>,
    (conf_target, estimate_mode, fee_rate): (Option<Int>, Option<String>, Option<FeeRate>),
) -> RpcResult<()> {
    if conf_target.is_some() && ct.is_some() {
        return Err(both("conf_target"));
    }
    if estimate_mode.is_some() && em.is_some() {
        return Err(both("estimate_mode"));
    }
    if fee_rate.is_some() && fr.is_some() {
        return Err(both("fee_rate"));
    }
    *ct = ct.or(conf_target);
    *em = em.take().or(estimate_mode);
    *fr = fr.or(fee_rate);
    Ok(())
}

/// `send`'s positional fee arguments merged into its options, then checked together.
fn merge_positional(
    options: &mut FundOptions,
    conf_target: Option<Int>,
    estimate_mode: Option<String>,
    fee_rate: Option<FeeRate>,
) -> RpcResult<()> {
    merge_fee_args(
        (
            &mut options.conf_target,
            &mut options.estimate_mode,
            &mut options.fee_rate,
        ),
        (conf_target, estimate_mode, fee_rate),
    )?;
    options.check_fee_keys()
}

/// What [`fund`] is asked to pay.
#[derive(Debug, Clone)]
pub(super) struct FundRequest {
    /// Inputs the caller chose; all are spent.
    pub(super) preset: Vec<OutPoint>,
    /// Whether the wallet may add inputs to the preset ones.
    pub(super) add_inputs: bool,
    /// The outputs, in the caller's order.
    pub(super) payments: Vec<Payment>,
    /// The output the fee comes out of, if any.
    pub(super) subtract_from: Option<usize>,
    /// The fee rate (base units per byte; see [`crate::fund`]).
    pub(super) fee_rate: FeeRate,
    /// The change key; a fresh one from the keypool when `None`.
    pub(super) change_to: Option<PubKey>,
    /// Where the change output goes; after the payments when `None`.
    pub(super) change_position: Option<usize>,
    /// Also spend pending receipts from others.
    pub(super) include_unsafe: bool,
    /// Lock the inputs once funded.
    pub(super) lock_unspents: bool,
    /// Only coins with at least this many confirmations are added (bumpfee: 1).
    pub(super) min_conf: u32,
    /// The transaction this one replaces (bumpfee): the preset inputs it spends in the
    /// mempool may be spent again, and its outputs are never added as inputs.
    pub(super) replaces: Option<dotcoin_common::Txid>,
    /// The transaction's version and lock time.
    pub(super) version: u32,
    pub(super) locktime: u32,
}

impl FundRequest {
    /// A request for `payments` at `fee_rate`, every other choice Core's default.
    pub(super) fn new(payments: Vec<Payment>, fee_rate: FeeRate) -> FundRequest {
        FundRequest {
            preset: Vec::new(),
            add_inputs: true,
            payments,
            subtract_from: None,
            fee_rate,
            change_to: None,
            change_position: None,
            include_unsafe: false,
            lock_unspents: false,
            min_conf: 0,
            replaces: None,
            version: 1,
            locktime: 0,
        }
    }

    /// The request `options` describe (the preset inputs and outputs given apart).
    pub(super) fn from_options(
        payments: Vec<Payment>,
        preset: Vec<OutPoint>,
        o: &FundOptions,
    ) -> RpcResult<FundRequest> {
        let n = payments.len();
        if o.subtract_from.len() > 1 {
            return Err(RpcFailure::new(
                Code::InvalidParameter,
                "subtractFeeFromOutputs: this wallet takes the fee from one output at most",
            ));
        }
        if let Some(&i) = o.subtract_from.first() {
            if i >= n {
                return Err(RpcFailure::new(
                    Code::InvalidParameter,
                    format!("Invalid parameter, value {i} is out of bounds"),
                ));
            }
        }
        if o.change_position.is_some_and(|p| p > n) {
            return Err(RpcFailure::new(
                Code::InvalidParameter,
                "changePosition out of bounds",
            ));
        }
        let mut r = FundRequest::new(payments, o.fee_rate.unwrap_or(DEFAULT_FEE_RATE));
        // Core: with inputs given, others are added only when asked.
        r.add_inputs = o.add_inputs.unwrap_or(preset.is_empty());
        r.preset = preset;
        r.subtract_from = o.subtract_from.first().copied();
        r.change_to = o.change_address.map(|a| a.pubkey);
        r.change_position = o.change_position;
        r.include_unsafe = o.include_unsafe;
        r.lock_unspents = o.lock_unspents;
        r.locktime = o.locktime.unwrap_or(0);
        Ok(r)
    }
}

/// A funded, unsigned transaction.
#[derive(Debug, Clone)]
pub(super) struct Funded {
    /// The transaction, witnesses empty.
    pub(super) tx: Transaction,
    /// Its fee once signed.
    pub(super) fee: Amount,
    /// The change output's index, -1 when none.
    pub(super) changepos: i64,
    /// The outputs its inputs spend, in input order.
    pub(super) spent: Vec<TxOut>,
}

/// A wallet coin of the node's `u`, if the wallet holds its key.
fn coin_of(loaded: &Loaded, u: &AddressUtxo) -> Option<Coin> {
    let record = loaded.wallet.record(&u.address)?;
    let pubkey: PubKey = record.pubkey.parse().ok()?;
    Some(Coin {
        outpoint: OutPoint {
            txid: u.txid,
            vout: u.output_index,
        },
        output: TxOut {
            value: Amount::from_sat(u.satoshis),
            pubkey,
        },
    })
}

fn not_solvable(op: &OutPoint) -> RpcFailure {
    RpcFailure::new(
        Code::Wallet,
        format!("Not solvable pre-selected input {}:{}", op.txid, op.vout),
    )
}

/// Funds `r` from the wallet's coins as the node sees them (see the module docs for the
/// order of changes). Locked coins are never added; preset ones are spent even if locked,
/// as in Core.
pub(super) async fn fund(svc: &Service, loaded: &mut Loaded, r: FundRequest) -> RpcResult<Funded> {
    if r.payments.is_empty() {
        return Err(RpcFailure::new(
            Code::Wallet,
            "Transaction must have at least one recipient",
        ));
    }
    if r.fee_rate < MIN_FEE_RATE {
        return Err(WalletError::FeeRateTooLow(r.fee_rate).into());
    }
    for p in &r.payments {
        if p.amount < DUST_THRESHOLD {
            return Err(WalletError::DustAmount {
                amount: p.amount,
                dust: DUST_THRESHOLD,
            }
            .into());
        }
    }
    let n = r.payments.len();
    let target = Amount::checked_sum(r.payments.iter().map(|p| p.amount)).ok_or_else(|| {
        RpcFailure::new(
            Code::Type,
            "Invalid amount: the outputs add up to more than 21000000 DOT",
        )
    })?;
    let all = utxos(svc, &loaded.wallet).await?;
    let mut preset = Vec::with_capacity(r.preset.len());
    for op in &r.preset {
        if preset.iter().any(|c: &Coin| c.outpoint == *op) {
            return Err(RpcFailure::new(
                Code::InvalidParameter,
                format!(
                    "Invalid parameter, duplicated input {}:{}",
                    op.txid, op.vout
                ),
            ));
        }
        let u = all
            .iter()
            .find(|u| u.txid == op.txid && u.output_index == op.vout)
            .ok_or_else(|| not_solvable(op))?;
        if u.spent_in_mempool && r.replaces.is_none() {
            return Err(RpcFailure::new(
                Code::InvalidParameter,
                format!(
                    "Input not available. UTXO ({}:{}) was already spent.",
                    op.txid, op.vout
                ),
            ));
        }
        preset.push(coin_of(loaded, u).ok_or_else(|| not_solvable(op))?);
    }
    let free = super::locks::unlocked(&loaded.history, all);
    let usable = |u: &&AddressUtxo| {
        is_spendable(u)
            && u.confirmations >= r.min_conf
            && r.replaces != Some(u.txid)
            && (r.include_unsafe || is_trusted(&loaded.wallet, u))
    };
    let confirmed: Vec<Coin> = free
        .iter()
        .filter(usable)
        .filter(|u| u.confirmations > 0)
        .filter_map(|u| coin_of(loaded, u))
        .collect();
    let others: Vec<Coin> = free
        .iter()
        .filter(usable)
        .filter_map(|u| coin_of(loaded, u))
        .collect();
    let selection_rate = if r.subtract_from.is_some() {
        FeeRate::ZERO
    } else {
        r.fee_rate
    };
    let select = |coins: &[Coin]| {
        crate::fund::select_around(&preset, coins, target, n, selection_rate, r.add_inputs)
    };
    let chosen = select(&confirmed)
        .or_else(|_| select(&others))
        .map_err(|e| {
            if !r.preset.is_empty() && !r.add_inputs {
                RpcFailure::new(
                    Code::Wallet,
                    "The preselected coins total amount does not cover the transaction target. \
                 Please allow other inputs to be automatically selected or include more coins \
                 manually",
                )
            } else {
                RpcFailure::new(
                    Code::InsufficientFunds,
                    format!(
                        "Insufficient funds: {} needed, {} available",
                        e.needed, e.available
                    ),
                )
            }
        })?;
    // The builder takes the fee from the first payment: the chosen one goes first, and
    // back in its place afterwards.
    let mut payments = r.payments.clone();
    if let Some(i) = r.subtract_from {
        payments.swap(0, i);
    }
    let change_key = match r.change_to {
        Some(key) => key,
        None => loaded.wallet.next_change_pubkey()?,
    };
    let built = crate::txbuild::build_unsigned(
        &chosen,
        &payments,
        change_key,
        r.fee_rate,
        r.subtract_from.is_some(),
    )?;
    if built.fee > svc.maxtxfee {
        return Err(RpcFailure::new(Code::Wallet, MAX_FEE_EXCEEDED));
    }
    // Nothing changed so far; now the call succeeds.
    if built.change.is_some() && r.change_to.is_none() {
        loaded.wallet.issue(change_key, Purpose::Change, "")?;
    }
    loaded.persist()?;
    if r.lock_unspents {
        for c in &chosen {
            loaded.history.memory_locks.insert(LockedOutput {
                txid: c.outpoint.txid,
                vout: c.outpoint.vout,
            });
        }
    }
    let mut tx = built.tx;
    tx.version = r.version;
    tx.lock_time = r.locktime;
    if let Some(i) = r.subtract_from {
        tx.outputs.swap(0, i);
    }
    let mut changepos = -1;
    if tx.outputs.len() > n {
        let change = tx.outputs.pop().expect("change is last");
        let at = r.change_position.unwrap_or(n);
        tx.outputs.insert(at, change);
        changepos = at as i64;
    }
    Ok(Funded {
        tx,
        fee: built.fee,
        changepos,
        spent: chosen.iter().map(|c| c.output).collect(),
    })
}

/// Signs what the wallet can of `tx`; whether every input is signed.
pub(super) fn sign(loaded: &Loaded, tx: &mut Transaction, spent: &[TxOut]) -> RpcResult<bool> {
    match loaded.wallet.sign_inputs(tx, spent) {
        Ok(_) => Ok(tx.inputs.iter().all(|i| i.witness.len() == 64)),
        Err(WalletError::PassphraseNeeded { .. }) => {
            Err(RpcFailure::new(Code::UnlockNeeded, params::UNLOCK_NEEDED))
        }
        Err(e) => Err(e.into()),
    }
}

/// `tx` (signed or not) as a PSBT: spent outputs filled in, signed inputs final.
pub(super) fn psbt_of(loaded: &Loaded, tx: &Transaction, spent: &[TxOut]) -> Psbt {
    let mut psbt = Psbt::from_unsigned_tx(tx.clone());
    for ((input, txin), out) in psbt.inputs.iter_mut().zip(&tx.inputs).zip(spent) {
        input.witness_utxo = Some(*out);
        if !txin.witness.is_empty() {
            input.final_script_witness = Some(txin.witness.clone());
        }
    }
    crate::psbt::update(&loaded.wallet, &mut psbt);
    psbt
}

/// Core's `FinishTransaction`: a PSBT when asked for, incomplete or not to be added; the
/// txid when complete; broadcast and recorded when complete and to be added, the hex
/// otherwise.
async fn finish(
    svc: &Service,
    loaded: &mut Loaded,
    tx: Transaction,
    spent: &[TxOut],
    complete: bool,
    add_to_wallet: bool,
    psbt_opt_in: bool,
) -> RpcResult<WalletSendResult> {
    let mut result = WalletSendResult {
        complete,
        txid: None,
        hex: None,
        psbt: None,
    };
    if psbt_opt_in || !complete || !add_to_wallet {
        result.psbt = Some(psbt_of(loaded, &tx, spent).to_base64());
    }
    if complete {
        if add_to_wallet && !psbt_opt_in {
            let txid = node::send_raw_transaction(&svc.node, &tx).await?;
            super::history::record_sent(&mut loaded.history, &tx)?;
            tracing::info!(target: "wallet", wallet = %loaded.name, %txid, "sent");
            result.txid = Some(txid);
        } else {
            result.txid = Some(tx.txid());
            result.hex = Some(hex::encode(encode::serialize(&tx)));
        }
    }
    Ok(result)
}

fn payments_of(outputs: &[(Address, Amount)]) -> Vec<Payment> {
    outputs
        .iter()
        .map(|(a, amount)| Payment {
            pubkey: a.pubkey,
            amount: *amount,
        })
        .collect()
}

async fn send(
    svc: &Service,
    handle: &WalletHandle,
    outputs: Vec<(Address, Amount)>,
    options: FundOptions,
) -> RpcResult<WalletSendResult> {
    let preset = options.inputs.clone().unwrap_or_default();
    let request = FundRequest::from_options(payments_of(&outputs), preset, &options)?;
    let mut loaded = handle.lock().await;
    // Checked first, so a locked wallet's refusal takes no change key.
    if !loaded.wallet.is_unlocked() {
        return Err(RpcFailure::new(Code::UnlockNeeded, params::UNLOCK_NEEDED));
    }
    let funded = fund(svc, &mut loaded, request).await?;
    let mut tx = funded.tx;
    let complete = sign(&loaded, &mut tx, &funded.spent)?;
    finish(
        svc,
        &mut loaded,
        tx,
        &funded.spent,
        complete,
        options.add_to_wallet.unwrap_or(true),
        options.psbt.unwrap_or(false),
    )
    .await
}

async fn fundrawtransaction(
    svc: &Service,
    handle: &WalletHandle,
    tx: Transaction,
    options: FundOptions,
) -> RpcResult<FundRawTransactionResult> {
    let payments: Vec<Payment> = tx
        .outputs
        .iter()
        .map(|o| Payment {
            pubkey: o.pubkey,
            amount: o.value,
        })
        .collect();
    let preset: Vec<OutPoint> = tx.inputs.iter().map(|i| i.prevout).collect();
    let mut request = FundRequest::from_options(payments, preset, &options)?;
    // fundrawtransaction adds inputs to the given ones unless told not to.
    request.add_inputs = options.add_inputs.unwrap_or(true);
    request.version = tx.version;
    request.locktime = tx.lock_time;
    let mut loaded = handle.lock().await;
    let funded = fund(svc, &mut loaded, request).await?;
    tracing::info!(target: "wallet", wallet = %loaded.name, fee = %funded.fee, "funded a raw transaction");
    Ok(FundRawTransactionResult {
        hex: hex::encode(encode::serialize(&funded.tx)),
        fee: funded.fee,
        changepos: funded.changepos,
    })
}

/// One `sendall` recipient: a fixed amount, or `None` for a share of what is left.
type Recipient = (Address, Option<Amount>);

/// Core's `recipients`: addresses (they share what is left) and `{address: amount}`
/// objects, each address once, at least one without an amount.
fn parse_recipients(list: &[Value], network: dotcoin_common::Network) -> RpcResult<Vec<Recipient>> {
    let mut out: Vec<Recipient> = Vec::with_capacity(list.len());
    for item in list {
        let (text, amount) = match item {
            Value::String(s) => (s.as_str(), None),
            Value::Object(map) if map.len() == 1 => {
                let (k, v) = map.iter().next().expect("one key");
                (k.as_str(), Some(amount_from_value(v)?))
            }
            other => {
                return Err(RpcFailure::new(
                    Code::InvalidParameter,
                    format!(
                        "Invalid parameter, key-value pair must contain exactly one key: {other}"
                    ),
                ))
            }
        };
        let address = params::address(text, network)?;
        if out.iter().any(|(a, _)| a.pubkey == address.pubkey) {
            return Err(RpcFailure::new(
                Code::InvalidParameter,
                format!("Invalid parameter, duplicated address: {text}"),
            ));
        }
        out.push((address, amount));
    }
    if out.iter().all(|(_, a)| a.is_some()) {
        return Err(RpcFailure::new(
            Code::InvalidParameter,
            "Must provide at least one address without a specified amount",
        ));
    }
    Ok(out)
}

/// `sendall`'s options.
#[derive(Debug, Clone, Default)]
struct SendAllOptions {
    inputs: Option<Vec<OutPoint>>,
    send_max: Option<bool>,
    minconf: Option<i64>,
    maxconf: Option<i64>,
    add_to_wallet: Option<bool>,
    psbt: Option<bool>,
    lock_unspents: bool,
    locktime: u32,
    fee_rate: Option<FeeRate>,
    conf_target: Option<Int>,
    estimate_mode: Option<String>,
}

impl SendAllOptions {
    fn parse(options: Map<String, Value>) -> RpcResult<SendAllOptions> {
        let mut o = SendAllOptions::default();
        let want_bool = |k: &str, v: &Value| {
            v.as_bool()
                .ok_or_else(|| RpcFailure::new(Code::Type, format!("Expected type bool for {k}")))
        };
        for (k, v) in &options {
            match k.as_str() {
                "add_to_wallet" => o.add_to_wallet = Some(want_bool(k, v)?),
                "psbt" => o.psbt = Some(want_bool(k, v)?),
                "send_max" => o.send_max = Some(want_bool(k, v)?),
                "lock_unspents" => o.lock_unspents = want_bool(k, v)?,
                "include_watching" | "replaceable" => {
                    want_bool(k, v)?;
                }
                "minconf" => o.minconf = Some(Int::from_param(v, "minconf")?.0),
                "maxconf" => o.maxconf = Some(Int::from_param(v, "maxconf")?.0),
                "locktime" => {
                    let n = Int::from_param(v, "locktime")?.0;
                    o.locktime = u32::try_from(n).map_err(|_| {
                        RpcFailure::new(
                            Code::InvalidParameter,
                            "Invalid parameter, locktime out of range",
                        )
                    })?;
                }
                "inputs" => {
                    let list: JsonArray<PsbtInputArg> = JsonArray::from_param(v, "inputs")?;
                    o.inputs = Some(outpoints(&list.0));
                }
                "fee_rate" => o.fee_rate = Some(SatPerVb::from_param(v, "fee_rate")?.0),
                "conf_target" => o.conf_target = Some(Int::from_param(v, "conf_target")?),
                "estimate_mode" => {
                    o.estimate_mode = Some(Text::from_param(v, "estimate_mode")?.0);
                }
                other => {
                    return Err(RpcFailure::new(
                        Code::Type,
                        format!("Unexpected key {other}"),
                    ))
                }
            }
        }
        Ok(o)
    }
}

fn insufficient(message: &str) -> RpcFailure {
    RpcFailure::new(Code::InsufficientFunds, message)
}

fn invalid(message: String) -> RpcFailure {
    RpcFailure::new(Code::InvalidParameter, message)
}

/// `sendall`: every coin (or the given ones) to the recipients, Core's checks in Core's
/// order.
async fn sendall(
    svc: &Service,
    handle: &WalletHandle,
    recipients: Vec<Recipient>,
    o: SendAllOptions,
) -> RpcResult<WalletSendResult> {
    let fee_rate = o.fee_rate.unwrap_or(DEFAULT_FEE_RATE);
    if fee_rate < MIN_FEE_RATE {
        return Err(RpcFailure::new(
            Code::InvalidParameter,
            format!(
                "Fee rate ({}.{:03} sat/vB) is lower than the minimum fee rate setting ({}.000 sat/vB)",
                fee_rate.to_sat_per_kvb() / 1000,
                fee_rate.to_sat_per_kvb() % 1000,
                MIN_FEE_RATE.to_sat_per_kvb() / 1000
            ),
        ));
    }
    if o.inputs.is_some() && o.send_max.is_some() {
        return Err(invalid(
            "Cannot combine send_max with specific inputs.".into(),
        ));
    }
    if o.inputs.is_some() && (o.minconf.is_some() || o.maxconf.is_some()) {
        return Err(invalid(
            "Cannot combine minconf or maxconf with specific inputs.".into(),
        ));
    }
    let minconf = o.minconf.unwrap_or(0);
    if minconf < 0 {
        return Err(invalid(format!(
            "Invalid minconf (minconf cannot be negative): {minconf}"
        )));
    }
    let maxconf = o.maxconf.unwrap_or(9_999_999);
    if maxconf < minconf {
        return Err(invalid(format!(
            "maxconf can't be lower than minconf: {maxconf} < {minconf}"
        )));
    }
    let mut loaded = handle.lock().await;
    if !loaded.wallet.is_unlocked() {
        return Err(RpcFailure::new(Code::UnlockNeeded, params::UNLOCK_NEEDED));
    }
    let all = utxos(svc, &loaded.wallet).await?;
    let mut coins: Vec<Coin> = Vec::new();
    if let Some(inputs) = &o.inputs {
        for op in inputs {
            let found = all
                .iter()
                .find(|u| u.txid == op.txid && u.output_index == op.vout);
            match found.and_then(|u| coin_of(&loaded, u).map(|c| (u, c))) {
                Some((u, _)) if u.spent_in_mempool => {
                    return Err(invalid(format!(
                        "Input not available. UTXO ({}:{}) was already spent.",
                        op.txid, op.vout
                    )))
                }
                Some((_, coin)) if !coins.contains(&coin) => coins.push(coin),
                Some(_) => {
                    return Err(invalid(format!(
                        "Invalid parameter, duplicated input {}:{}",
                        op.txid, op.vout
                    )))
                }
                None if spent_output_of_ours(&loaded, op) => {
                    return Err(invalid(format!(
                        "Input not available. UTXO ({}:{}) was already spent.",
                        op.txid, op.vout
                    )))
                }
                None => {
                    return Err(invalid(format!(
                        "Input not found. UTXO ({}:{}) is not part of wallet.",
                        op.txid, op.vout
                    )))
                }
            }
        }
    } else {
        let input_fee = fee_rate.fee_for(INPUT_SIZE as usize);
        for u in super::locks::unlocked(&loaded.history, all) {
            let conf = i64::from(u.confirmations);
            if !is_spendable(&u)
                || !is_trusted(&loaded.wallet, &u)
                || conf < minconf
                || conf > maxconf
            {
                continue;
            }
            // send_max leaves the coins worth less than the fee of spending them.
            if o.send_max == Some(true) && Amount::from_sat(u.satoshis) < input_fee {
                continue;
            }
            if let Some(c) = coin_of(&loaded, &u) {
                coins.push(c);
            }
        }
    }
    let total: u64 = coins.iter().map(|c| c.output.value.to_sat()).sum();
    let size = signed_tx_size(coins.len(), recipients.len()) as usize;
    let fee = fee_rate.fee_for(size);
    if fee > svc.maxtxfee {
        return Err(RpcFailure::new(Code::Wallet, MAX_FEE_EXCEEDED));
    }
    let effective = i128::from(total) - i128::from(fee.to_sat());
    if effective <= 0 {
        return Err(insufficient(if o.send_max == Some(true) {
            "Total value of UTXO pool too low to pay for transaction, try using lower feerate."
        } else {
            "Total value of UTXO pool too low to pay for transaction. Try using lower feerate \
             or excluding uneconomic UTXOs with 'send_max' option."
        }));
    }
    let claimed: i128 = recipients
        .iter()
        .filter_map(|(_, a)| a.map(|a| i128::from(a.to_sat())))
        .sum();
    if claimed > i128::from(total) {
        return Err(insufficient(
            "Assigned more value to outputs than available funds.",
        ));
    }
    let remainder = effective - claimed;
    if remainder < 0 {
        return Err(insufficient(
            "Insufficient funds for fees after creating specified outputs.",
        ));
    }
    let open = recipients.iter().filter(|(_, a)| a.is_none()).count();
    let mut shares = crate::fund::split_remainder(
        u64::try_from(remainder).expect("non-negative and below the inputs' total"),
        open,
    )
    .into_iter();
    let mut outputs = Vec::with_capacity(recipients.len());
    for (address, amount) in &recipients {
        let value = match amount {
            Some(a) => {
                if *a < DUST_THRESHOLD {
                    return Err(invalid(format!(
                        "Specified output amount to {address} is below dust threshold."
                    )));
                }
                *a
            }
            None => {
                let share = Amount::from_sat(shares.next().expect("one share per open recipient"));
                if share < DUST_THRESHOLD {
                    return Err(insufficient(
                        "Dynamically assigned remainder results in dust output.",
                    ));
                }
                share
            }
        };
        outputs.push(TxOut {
            value,
            pubkey: address.pubkey,
        });
    }
    let mut tx = Transaction {
        version: 1,
        inputs: coins
            .iter()
            .map(|c| TxIn {
                prevout: c.outpoint,
                witness: Vec::new(),
            })
            .collect(),
        outputs,
        lock_time: o.locktime,
    };
    let spent: Vec<TxOut> = coins.iter().map(|c| c.output).collect();
    let complete = sign(&loaded, &mut tx, &spent)?;
    if o.lock_unspents {
        for c in &coins {
            loaded.history.memory_locks.insert(LockedOutput {
                txid: c.outpoint.txid,
                vout: c.outpoint.vout,
            });
        }
    }
    finish(
        svc,
        &mut loaded,
        tx,
        &spent,
        complete,
        o.add_to_wallet.unwrap_or(true),
        o.psbt.unwrap_or(false),
    )
    .await
}

/// Whether `op` is an output of a wallet transaction paying one of the wallet's keys (so
/// absent from the unspent outputs because it was spent).
fn spent_output_of_ours(loaded: &Loaded, op: &OutPoint) -> bool {
    let Some(tx) = loaded.history.decoded(&op.txid) else {
        return false;
    };
    tx.outputs.get(op.vout as usize).is_some_and(|out| {
        loaded
            .wallet
            .record(&Address::new(loaded.wallet.network(), out.pubkey).to_string())
            .is_some()
    })
}
