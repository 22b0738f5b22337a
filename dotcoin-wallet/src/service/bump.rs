//! `bumpfee` and `psbtbumpfee`: replace a pending wallet payment by one paying a higher
//! fee, with Bitcoin Core's options, result fields and errors (`src/wallet/feebumper.cpp`).
//!
//! The replacement spends every input of the original (so the two can never both
//! confirm), pays the same recipients, takes the higher fee out of the change (adding
//! confirmed wallet coins when the change is not enough), and keeps the change key. It
//! must pass the node's replacement rules (`dotcoind/src/mempool/replace.rs`): at least
//! the original's fee plus the incremental relay fee × its own size, and a higher fee
//! rate. Without `fee_rate` the new rate is Core's default: the original's rate plus
//! 1 unit per kvB plus the larger of the node's incremental relay fee and 5 sat/vB
//! ([`crate::fund::default_bump_rate`]); there is no fee estimator, so `conf_target` and
//! `estimate_mode` are checked and otherwise unused.
//!
//! `bumpfee` signs and broadcasts, then records the pair in the wallet's history
//! (`replaced_by_txid` on the original, `replaces_txid` on the replacement), as Core
//! does; `psbtbumpfee` returns the replacement unsigned, for `walletprocesspsbt` or an
//! offline signer, and records nothing until it is seen on the node.

use dotcoin_common::wallet_rpc_types::BumpFeeResult;
use dotcoin_common::{Address, Amount, FeeRate, PubKey, Transaction, TxOut, Txid};
use dotcoin_rpc_server::arg::{amount_from_value, FromParam, HashArg, Int, JsonObject, SatPerVb};
use jsonrpsee::RpcModule;
use serde_json::{json, Map, Value};

use super::methods::{check_estimate_mode, register_wallet};
use super::params::{self, Code, RpcFailure, RpcResult};
use super::send::{fund, psbt_of, sign, FundRequest};
use super::spend::parse_outputs;
use super::{Loaded, Service, WalletHandle};
use crate::coinselect::signed_tx_size;
use crate::fund::{default_bump_rate, min_replacement_fee, rate_for};
use crate::node::{self, NodeApi};
use crate::txbuild::Payment;
use crate::wallet::{Purpose, MIN_FEE_RATE};

/// Registers `bumpfee` and `psbtbumpfee`.
pub(super) fn register(m: &mut RpcModule<Service>) {
    for (name, as_psbt) in [("bumpfee", false), ("psbtbumpfee", true)] {
        register_wallet(m, name, move |mut c, w| async move {
            let txid: HashArg<Txid> = c.args.req()?;
            let options: Option<JsonObject<Map<String, Value>>> = c.args.opt()?;
            let options =
                BumpOptions::parse(options.map(|o| o.0).unwrap_or_default(), c.svc.network)?;
            bump(&c.svc, &w, txid.0, options, as_psbt).await
        });
    }
}

/// The options object, Core's keys.
#[derive(Debug, Clone, Default)]
struct BumpOptions {
    fee_rate: Option<FeeRate>,
    original_change_index: Option<usize>,
    outputs: Option<Vec<(Address, Amount)>>,
}

impl BumpOptions {
    fn parse(
        options: Map<String, Value>,
        network: dotcoin_common::Network,
    ) -> RpcResult<BumpOptions> {
        let mut o = BumpOptions::default();
        let mut conf_target = None;
        let mut estimate_mode = None;
        for (k, v) in &options {
            match k.as_str() {
                "fee_rate" => o.fee_rate = Some(SatPerVb::from_param(v, "fee_rate")?.0),
                "conf_target" => conf_target = Some(Int::from_param(v, "conf_target")?),
                "estimate_mode" => {
                    estimate_mode = Some(v.as_str().map(str::to_owned).ok_or_else(|| {
                        RpcFailure::new(Code::Type, "Expected type string for estimate_mode")
                    })?)
                }
                "replaceable" => {
                    v.as_bool().ok_or_else(|| {
                        RpcFailure::new(Code::Type, "Expected type bool for replaceable")
                    })?;
                }
                "original_change_index" => {
                    let n = Int::from_param(v, "original_change_index")?.0;
                    let n = u32::try_from(n)
                        .map_err(|_| RpcFailure::new(Code::Misc, "JSON integer out of range"))?;
                    o.original_change_index = Some(n as usize);
                }
                "outputs" => o.outputs = Some(parse_outputs(v, network)?),
                other => {
                    return Err(RpcFailure::new(
                        Code::Type,
                        format!("Unexpected key {other}"),
                    ))
                }
            }
        }
        check_estimate_mode(conf_target, estimate_mode.as_deref(), o.fee_rate.is_some())?;
        Ok(o)
    }
}

fn invalid(message: impl Into<String>) -> RpcFailure {
    RpcFailure::new(Code::InvalidParameter, message)
}

fn wallet_error(message: impl Into<String>) -> RpcFailure {
    RpcFailure::new(Code::Wallet, message)
}

/// The node's incremental relay fee rate (`getmempoolinfo`).
async fn incremental_relay_fee(svc: &Service) -> RpcResult<FeeRate> {
    let info = svc
        .node
        .call("getmempoolinfo", json!([]))
        .await
        .map_err(|e| RpcFailure::new(Code::Misc, format!("node: {}", e.message)))?;
    let per_kvb = amount_from_value(&info["incrementalrelayfee"])?;
    Ok(FeeRate::from_sat_per_kvb(per_kvb.to_sat()))
}

/// The outputs the inputs of `tx` spend, from the node.
async fn spent_outputs(svc: &Service, tx: &Transaction) -> RpcResult<Vec<TxOut>> {
    let mut spent = Vec::with_capacity(tx.inputs.len());
    for input in &tx.inputs {
        let op = input.prevout;
        let out = node::raw_transaction(&svc.node, &op.txid)
            .await
            .ok()
            .and_then(|info| info.tx.outputs.get(op.vout as usize).copied())
            .ok_or_else(|| {
                RpcFailure::new(
                    Code::Misc,
                    format!("{}:{} is already spent", op.txid, op.vout),
                )
            })?;
        spent.push(out);
    }
    Ok(spent)
}

fn is_ours(loaded: &Loaded, key: &PubKey) -> bool {
    loaded
        .wallet
        .record(&Address::new(loaded.wallet.network(), *key).to_string())
        .is_some()
}

fn is_change(loaded: &Loaded, key: &PubKey) -> bool {
    loaded
        .wallet
        .record(&Address::new(loaded.wallet.network(), *key).to_string())
        .is_some_and(|r| r.purpose == Purpose::Change)
}

/// Core's precondition checks, in Core's order.
async fn preconditions(
    svc: &Service,
    loaded: &Loaded,
    txid: Txid,
    tip_height: u32,
    spent: &[TxOut],
) -> RpcResult<()> {
    let h = &loaded.history;
    let t = h.get(&txid).ok_or_else(not_wallet_tx)?;
    let spends_it = |w: &crate::history::WalletTx| {
        w.txid != txid
            && w.replaced_by.is_none()
            && !w.abandoned
            && h.decoded(&w.txid)
                .is_some_and(|tx| tx.inputs.iter().any(|i| i.prevout.txid == txid))
    };
    if h.txs().iter().any(spends_it) {
        return Err(invalid("Transaction has descendants in the wallet"));
    }
    if let Ok(entry) = svc.node.call("getmempoolentry", json!([txid])).await {
        if entry["descendantcount"].as_u64().is_some_and(|n| n > 1) {
            return Err(invalid("Transaction has descendants in the mempool"));
        }
    }
    if h.depth(t, tip_height) != 0 {
        return Err(wallet_error(
            "Transaction has been mined, or is conflicted with a mined transaction",
        ));
    }
    if let Some(by) = t.replaced_by {
        return Err(wallet_error(format!(
            "Cannot bump transaction {txid} which was already bumped by transaction {by}"
        )));
    }
    if !spent.iter().all(|o| is_ours(loaded, &o.pubkey)) {
        return Err(wallet_error(
            "Transaction contains inputs that don't belong to this wallet",
        ));
    }
    Ok(())
}

fn not_wallet_tx() -> RpcFailure {
    RpcFailure::new(
        Code::InvalidAddressOrKey,
        "Invalid or non-wallet transaction id",
    )
}

fn insufficient_total(
    new_total: Amount,
    min_total: Amount,
    old_fee: Amount,
    inc: Amount,
) -> RpcFailure {
    invalid(format!(
        "Insufficient total fee {new_total}, must be at least {min_total} (oldFee {old_fee} + incrementalFee {inc})"
    ))
}

async fn bump(
    svc: &Service,
    handle: &WalletHandle,
    txid: Txid,
    o: BumpOptions,
    as_psbt: bool,
) -> RpcResult<BumpFeeResult> {
    if o.outputs.is_some() && o.original_change_index.is_some() {
        return Err(invalid(
            "The options 'outputs' and 'original_change_index' are incompatible. You can only \
             either specify a new set of outputs, or designate a change output to be recycled.",
        ));
    }
    let mut loaded = handle.lock().await;
    if !as_psbt && !loaded.wallet.is_unlocked() {
        return Err(RpcFailure::new(Code::UnlockNeeded, params::UNLOCK_NEEDED));
    }
    let view = super::history::sync(svc, &mut loaded).await?;
    let original = loaded
        .history
        .get(&txid)
        .ok_or_else(not_wallet_tx)?
        .tx()
        .map_err(|e| RpcFailure::new(Code::Wallet, format!("history record: {e}")))?;
    if o.original_change_index
        .is_some_and(|i| i >= original.outputs.len())
    {
        return Err(invalid("Change position is out of range"));
    }
    let spent = spent_outputs(svc, &original).await?;
    preconditions(svc, &loaded, txid, view.tip_height, &spent).await?;

    let input_value: u64 = spent.iter().map(|o| o.value.to_sat()).sum();
    let output_value: u64 = original.outputs.iter().map(|o| o.value.to_sat()).sum();
    let old_fee = Amount::from_sat(input_value.saturating_sub(output_value));
    let old_size = original.size();

    // Recipients, and the change key kept from the original.
    let txouts: Vec<TxOut> = match &o.outputs {
        Some(list) => list
            .iter()
            .map(|(a, amount)| TxOut {
                value: *amount,
                pubkey: a.pubkey,
            })
            .collect(),
        None => original.outputs.clone(),
    };
    let mut change_key = None;
    let mut payments = Vec::new();
    for (i, out) in txouts.iter().enumerate() {
        let change = match o.original_change_index {
            Some(c) => c == i,
            None => is_change(&loaded, &out.pubkey),
        };
        if change && change_key.is_none() {
            change_key = Some(out.pubkey);
        } else {
            payments.push(Payment {
                pubkey: out.pubkey,
                amount: out.value,
            });
        }
    }
    let mut subtract_from = None;
    if payments.is_empty() {
        // Everything went to change: it becomes the one payment, and pays the fee.
        let key = change_key.ok_or_else(|| {
            invalid("Unable to create transaction. Transaction must have at least one recipient")
        })?;
        payments.push(Payment {
            pubkey: key,
            amount: Amount::from_sat(txouts.iter().map(|o| o.value.to_sat()).sum()),
        });
        subtract_from = Some(0);
    }

    let incremental = incremental_relay_fee(svc).await?;
    let mut rate = match o.fee_rate {
        Some(rate) => {
            let size = signed_tx_size(original.inputs.len(), txouts.len()) as usize;
            let new_total = rate.fee_for(size);
            let min_total = min_replacement_fee(old_fee, incremental, size);
            if new_total < min_total {
                return Err(insufficient_total(
                    new_total,
                    min_total,
                    old_fee,
                    incremental.fee_for(size),
                ));
            }
            if new_total > svc.maxtxfee {
                return Err(wallet_error(format!(
                    "Specified or calculated fee {new_total} is too high (cannot be higher than -maxtxfee {})",
                    svc.maxtxfee
                )));
            }
            rate
        }
        None => default_bump_rate(old_fee, old_size, incremental, MIN_FEE_RATE),
    };
    let old_rate = FeeRate::from_fee_and_size(old_fee, old_size);

    // The change key: the original's, or a fresh one issued only if the call succeeds.
    let fresh = change_key.is_none();
    let change_to = match change_key {
        Some(k) => k,
        None => loaded.wallet.next_change_pubkey()?,
    };
    let mut funded = None;
    // The rate may have to rise if the replacement came out smaller than the original
    // (a dust change dropped): a few rounds settle it.
    for _ in 0..3 {
        let mut request = FundRequest::new(payments.clone(), rate);
        request.preset = original.inputs.iter().map(|i| i.prevout).collect();
        request.add_inputs = true;
        request.subtract_from = subtract_from;
        request.change_to = Some(change_to);
        request.min_conf = 1;
        request.replaces = Some(txid);
        request.version = original.version;
        request.locktime = original.lock_time;
        let f = fund(svc, &mut loaded, request).await.map_err(|e| {
            if e.code == Code::InsufficientFunds as i32 {
                wallet_error(format!("Unable to create transaction. {}", e.message))
            } else {
                e
            }
        })?;
        let size = f.tx.size() + 64 * f.tx.inputs.len();
        let min_total = min_replacement_fee(old_fee, incremental, size);
        if f.fee >= min_total && FeeRate::from_fee_and_size(f.fee, size) > old_rate {
            funded = Some(f);
            break;
        }
        if o.fee_rate.is_some() {
            return Err(insufficient_total(
                f.fee,
                min_total,
                old_fee,
                incremental.fee_for(size),
            ));
        }
        rate = rate_for(min_total, size).max(FeeRate::from_sat_per_kvb(
            old_rate.to_sat_per_kvb().saturating_add(1),
        ));
    }
    let funded = funded
        .ok_or_else(|| wallet_error("Unable to create transaction. The fee did not settle"))?;
    if funded.fee > svc.maxtxfee {
        return Err(wallet_error(format!(
            "Specified or calculated fee {} is too high (cannot be higher than -maxtxfee {})",
            funded.fee, svc.maxtxfee
        )));
    }
    let mut tx = funded.tx;
    let pays_change = tx.outputs.iter().any(|o| o.pubkey == change_to);
    let result = if as_psbt {
        let psbt = psbt_of(&loaded, &tx, &funded.spent);
        BumpFeeResult {
            txid: None,
            psbt: Some(psbt.to_base64()),
            origfee: old_fee,
            fee: funded.fee,
            errors: Vec::new(),
        }
    } else {
        if !sign(&loaded, &mut tx, &funded.spent)? {
            return Err(wallet_error("Can't sign transaction."));
        }
        let new_txid = node::send_raw_transaction(&svc.node, &tx).await?;
        super::history::record_sent(&mut loaded.history, &tx)?;
        if let Some(t) = loaded.history.get_mut(&txid) {
            t.replaced_by = Some(new_txid);
            t.in_mempool = false;
        }
        if let Some(t) = loaded.history.get_mut(&new_txid) {
            t.replaces = Some(txid);
        }
        loaded.history.save()?;
        tracing::info!(target: "wallet", wallet = %loaded.name, %txid, replacement = %new_txid, fee = %funded.fee, "fee bumped");
        BumpFeeResult {
            txid: Some(new_txid),
            psbt: None,
            origfee: old_fee,
            fee: funded.fee,
            errors: Vec::new(),
        }
    };
    if fresh && pays_change {
        loaded.wallet.issue(change_to, Purpose::Change, "")?;
        loaded.persist()?;
    }
    Ok(result)
}
