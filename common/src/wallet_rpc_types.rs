//! The wallet service's RPC contract (`dotcoin-wallet serve`): one serde type per result
//! that is a JSON object (or a list of them), so the service builds them and clients and
//! tests decode them from one definition. Results shaped like the node's reuse
//! [`crate::rpc_types`] (`gettransaction`'s `decoded` is the node's [`DecodedTx`]).
//!
//! Field names are Bitcoin Core's JSON names and the fields come in Core's order.
//! Amounts are [`Amount`] (a JSON number with exactly 8 decimals) or, for a wallet
//! entry's net effect that is negative for a send, [`SignedAmount`] (the same 8
//! decimals with a sign). Optional fields the service leaves out are `Option`s skipped
//! when `None`, so a value serializes back to the same JSON.
//!
//! Bird's eye view, by call:
//! - wallets: [`WalletLoadResult`] (`createwallet`, `loadwallet`), [`UnloadWalletResult`];
//! - balances: [`GetBalancesResult`], [`GetWalletInfoResult`] (both with
//!   [`LastProcessedBlock`]);
//! - coins and history: [`ListUnspentEntry`], [`WalletTxEntry`] (`listtransactions`),
//!   [`GetTransactionResult`], [`AddressGroupingEntry`] (`listaddressgroupings`);
//! - sending and signing: [`SendResult`], [`SignRawTransactionResult`];
//! - addresses: [`GetAddressInfoResult`].

use std::fmt;

use serde::de::{Error as _, SeqAccess, Visitor};
use serde::ser::SerializeSeq;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::hashes::{BlockHash, Txid, Wtxid};
use crate::primitives::{Amount, SignedAmount};
use crate::rpc_types::DecodedTx;

/// `createwallet` and `loadwallet`: the wallet now loaded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalletLoadResult {
    /// The wallet's name.
    pub name: String,
    /// Warnings (none: always empty).
    pub warnings: Vec<String>,
    /// `createwallet` of a wallet with seed words only: the words, shown this once
    /// (dotcoin's field; Core's wallets have no words).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mnemonic: Option<String>,
}

/// `unloadwallet`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnloadWalletResult {
    /// Warnings (none: always empty).
    pub warnings: Vec<String>,
}

/// The block the wallet's answers reflect (`lastprocessedblock`): the node's tip as the
/// service last saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastProcessedBlock {
    /// The block's hash.
    pub hash: BlockHash,
    /// Its height.
    pub height: u32,
}

/// `getbalances`' `mine`: Core's buckets of the wallet's own coins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BalancesMine {
    /// Confirmed, and the pending change of the wallet's own sends.
    pub trusted: Amount,
    /// Pending receipts from others.
    pub untrusted_pending: Amount,
    /// Coinbase outputs not yet mature.
    pub immature: Amount,
}

/// `getbalances`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetBalancesResult {
    /// The wallet's own coins.
    pub mine: BalancesMine,
    /// The block these balances reflect; `null` before the service has seen a tip.
    pub lastprocessedblock: Option<LastProcessedBlock>,
}

/// `getwalletinfo`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetWalletInfoResult {
    /// The wallet's name.
    pub walletname: String,
    /// The wallet file's format version.
    pub walletversion: u32,
    /// The database format (`json`).
    pub format: String,
    /// Trusted balance (`getbalances`' `trusted`).
    pub balance: Amount,
    /// Untrusted pending balance.
    pub unconfirmed_balance: Amount,
    /// Immature coinbase balance.
    pub immature_balance: Amount,
    /// Transactions touching the wallet.
    pub txcount: u64,
    /// Keys ready in the pool.
    pub keypoolsize: u64,
    /// Keys ready for change: the same pool as receiving addresses.
    pub keypoolsize_hd_internal: u64,
    /// For an encrypted wallet only: until when it is unlocked (Unix time), 0 if locked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unlocked_until: Option<u64>,
    /// The transaction fee setting (never set: 0).
    pub paytxfee: Amount,
    /// Whether the wallet holds private keys (always).
    pub private_keys_enabled: bool,
    /// Whether it avoids address reuse (never).
    pub avoid_reuse: bool,
    /// Whether a rescan is running (never: the history is the node's address index). Core
    /// gives `false` or an object; here always `false`.
    pub scanning: bool,
    /// Whether it is a descriptor wallet (no).
    pub descriptors: bool,
    /// Whether it uses an external signer (no).
    pub external_signer: bool,
    /// Whether it was created blank (no).
    pub blank: bool,
    /// The block the answer reflects; `null` before the service has seen a tip.
    pub lastprocessedblock: Option<LastProcessedBlock>,
    /// Unix time from which the wallet's keys may have been used (descriptor wallets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birthtime: Option<u64>,
}

/// One `listunspent` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListUnspentEntry {
    /// The transaction that created the output.
    pub txid: Txid,
    /// Its output index.
    pub vout: u32,
    /// The address paid.
    pub address: String,
    /// The address's label (empty when none).
    pub label: String,
    /// The output script, hex.
    #[serde(rename = "scriptPubKey")]
    pub script_pub_key: String,
    /// The value.
    pub amount: Amount,
    /// Confirmations (0 while pending).
    pub confirmations: u32,
    /// Whether the wallet can spend it (always: it holds every key it watches).
    pub spendable: bool,
    /// Whether the wallet knows how to spend it (always).
    pub solvable: bool,
    /// The output's descriptor.
    pub desc: String,
    /// The wallet descriptors it derives from (none: keys are not descriptor-derived).
    pub parent_descs: Vec<String>,
    /// Whether it is safe to spend (confirmed, or change of the wallet's own send).
    pub safe: bool,
}

/// What Core says of every wallet transaction (its `WalletTxToJSON`): where it is in the
/// chain, its ids and times. `listtransactions` entries and `gettransaction` carry it
/// flattened among their own fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalletTxInfo {
    /// Confirmations: 0 while pending, minus the conflicting transaction's confirmations
    /// when a conflict confirmed (Core's negative depth).
    pub confirmations: i64,
    /// For a coinbase: `true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generated: Option<bool>,
    /// For a pending transaction: whether it is the wallet's own (all inputs its own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trusted: Option<bool>,
    /// The block, once confirmed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blockhash: Option<BlockHash>,
    /// The block's height, once confirmed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blockheight: Option<u32>,
    /// The transaction's position in the block, once confirmed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blockindex: Option<u32>,
    /// The block's time, once confirmed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocktime: Option<u32>,
    /// The transaction.
    pub txid: Txid,
    /// Its witness id.
    pub wtxid: Wtxid,
    /// The wallet's other transactions spending one of its inputs.
    pub walletconflicts: Vec<String>,
    /// The wallet transaction that replaced this one (Core's `replaced_by_txid`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaced_by_txid: Option<Txid>,
    /// The wallet transaction this one replaced (Core's `replaces_txid`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces_txid: Option<Txid>,
    /// When the node first held it (Unix time), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<i64>,
    /// The same as `time`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timereceived: Option<i64>,
    /// Whether it signals replaceability (`no`).
    #[serde(rename = "bip125-replaceable")]
    pub bip125_replaceable: String,
}

/// One wallet transaction, as `listtransactions` gives it: the net effect of the
/// transaction on the wallet, one entry per transaction, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalletTxEntry {
    /// `send`, `receive`, `generate` or `immature`.
    pub category: String,
    /// The net amount: negative for a send.
    pub amount: SignedAmount,
    /// The fee, negative, for a send whose inputs are all the wallet's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fee: Option<SignedAmount>,
    /// The output the entry is about.
    pub vout: u32,
    /// That output's address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// The address's label, when it has a non-empty one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Where it is, its ids and times.
    #[serde(flatten)]
    pub tx: WalletTxInfo,
    /// For a send: whether it was abandoned (never).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abandoned: Option<bool>,
}

/// One `gettransaction` `details` entry: the entry's output and amounts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetTransactionDetail {
    /// The output's address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// `send`, `receive`, `generate` or `immature`.
    pub category: String,
    /// The net amount: negative for a send.
    pub amount: SignedAmount,
    /// The address's label, when it has a non-empty one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The output.
    pub vout: u32,
    /// The fee, negative, for a send whose inputs are all the wallet's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fee: Option<SignedAmount>,
    /// For a send: whether it was abandoned (never).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abandoned: Option<bool>,
}

/// `gettransaction`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GetTransactionResult {
    /// The net amount: negative for a send.
    pub amount: SignedAmount,
    /// The fee, negative, for a send whose inputs are all the wallet's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fee: Option<SignedAmount>,
    /// Where it is, its ids and times.
    #[serde(flatten)]
    pub tx: WalletTxInfo,
    /// One entry (the net effect).
    pub details: Vec<GetTransactionDetail>,
    /// The raw transaction, hex.
    pub hex: String,
    /// With `verbose`: the transaction as `decoderawtransaction` shows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decoded: Option<DecodedTx>,
}

/// `sendtoaddress` and `sendmany`: the txid, or with `verbose` an object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SendResult {
    /// Without `verbose`: the transaction id.
    Txid(Txid),
    /// With `verbose`.
    Verbose(SendVerboseResult),
}

/// `sendtoaddress`/`sendmany` with `verbose`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendVerboseResult {
    /// The transaction id.
    pub txid: Txid,
    /// Where the fee rate came from.
    pub fee_reason: String,
}

/// `getaddressinfo`. No `pubkey`: as Core does for a taproot address, the key is the
/// witness program (Core's `pubkey` is a 33-byte key, which a strict client would parse
/// as one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetAddressInfoResult {
    /// The address.
    pub address: String,
    /// The output script it pays, hex.
    #[serde(rename = "scriptPubKey")]
    pub script_pub_key: String,
    /// Whether the wallet holds its key.
    pub ismine: bool,
    /// Whether the wallet knows how to spend it (when it is the wallet's).
    pub solvable: bool,
    /// Its descriptor.
    pub desc: String,
    /// Whether it is watch-only (never).
    pub iswatchonly: bool,
    /// Whether it is a script (never).
    pub isscript: bool,
    /// Whether it is a witness address (always).
    pub iswitness: bool,
    /// The witness version (1).
    pub witness_version: u8,
    /// The witness program, hex: the x-only key.
    pub witness_program: String,
    /// Whether it is a change address of the wallet.
    pub ischange: bool,
    /// Its label (one, when the wallet's; none otherwise).
    pub labels: Vec<String>,
    /// The descriptor's timestamp (the wallet's addresses from a descriptor).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<u64>,
    /// BIP32 path of the key, `m/86h/1h/0h/0/5`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hdkeypath: Option<String>,
    /// Fingerprint of the master key, hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hdmasterfingerprint: Option<String>,
}

/// One `listaddressgroupings` entry: on the wire a JSON array `[address, amount]`, or
/// `[address, amount, label]` when the address has a non-empty label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressGroupingEntry {
    /// The address.
    pub address: String,
    /// Its unspent value.
    pub amount: Amount,
    /// Its label, when non-empty.
    pub label: Option<String>,
}

impl Serialize for AddressGroupingEntry {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(2 + usize::from(self.label.is_some())))?;
        seq.serialize_element(&self.address)?;
        seq.serialize_element(&self.amount)?;
        if let Some(label) = &self.label {
            seq.serialize_element(label)?;
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for AddressGroupingEntry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = AddressGroupingEntry;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("[address, amount] or [address, amount, label]")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let address = seq
                    .next_element()?
                    .ok_or_else(|| A::Error::invalid_length(0, &self))?;
                let amount = seq
                    .next_element()?
                    .ok_or_else(|| A::Error::invalid_length(1, &self))?;
                let label = seq.next_element()?;
                Ok(AddressGroupingEntry {
                    address,
                    amount,
                    label,
                })
            }
        }
        d.deserialize_seq(V)
    }
}

/// `signrawtransactionwithwallet`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignRawTransactionResult {
    /// The transaction, signed where the wallet could, hex.
    pub hex: String,
    /// Whether every input is signed.
    pub complete: bool,
    /// The inputs that could not be signed, when any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<SignRawTransactionError>>,
}

/// One input `signrawtransactionwithwallet` could not sign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignRawTransactionError {
    /// The spent output's transaction.
    pub txid: Txid,
    /// The spent output's index.
    pub vout: u32,
    /// The input's witness, hex items (empty).
    pub witness: Vec<String>,
    /// The input's script (always empty).
    #[serde(rename = "scriptSig")]
    pub script_sig: String,
    /// The input's sequence number.
    pub sequence: u32,
    /// Why it could not be signed.
    pub error: String,
}

/// `getdescriptorinfo`'s answer (Core's fields).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetDescriptorInfoResult {
    /// The descriptor in public form, with its checksum.
    pub descriptor: String,
    /// The checksum of the descriptor as given.
    pub checksum: String,
    /// Whether it ends in `/*`.
    pub isrange: bool,
    /// Whether the wallet could sign for it given the keys (always true for tr/rawtr).
    pub issolvable: bool,
    /// Whether it holds a private key.
    pub hasprivatekeys: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groupings_are_arrays_with_an_optional_label() {
        let plain = AddressGroupingEntry {
            address: "a".into(),
            amount: Amount::from_sat(150_000_000),
            label: None,
        };
        assert_eq!(
            serde_json::to_string(&plain).expect("json"),
            r#"["a",1.50000000]"#
        );
        let labelled = AddressGroupingEntry {
            label: Some("l".into()),
            ..plain.clone()
        };
        let text = serde_json::to_string(&labelled).expect("json");
        assert_eq!(text, r#"["a",1.50000000,"l"]"#);
        let back: AddressGroupingEntry = serde_json::from_str(&text).expect("parses");
        assert_eq!(back, labelled);
        let back: AddressGroupingEntry = serde_json::from_str(r#"["a",1.5]"#).expect("parses");
        assert_eq!(back, plain);
    }

    #[test]
    fn send_results_are_a_txid_or_an_object() {
        let txid: Txid = "11".repeat(32).parse().expect("txid");
        let plain = serde_json::to_string(&SendResult::Txid(txid)).expect("json");
        assert_eq!(plain, format!("\"{}\"", "11".repeat(32)));
        let back: SendResult = serde_json::from_str(&plain).expect("parses");
        assert_eq!(back, SendResult::Txid(txid));
        let verbose = SendResult::Verbose(SendVerboseResult {
            txid,
            fee_reason: "Fallback fee".into(),
        });
        let text = serde_json::to_string(&verbose).expect("json");
        let back: SendResult = serde_json::from_str(&text).expect("parses");
        assert_eq!(back, verbose);
    }
}

/// `listsinceblock`'s answer (Core's field names).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListSinceBlockResult {
    /// Entries of the transactions with fewer confirmations than the given block's depth.
    pub transactions: Vec<WalletTxEntry>,
    /// Entries of the wallet's transactions of blocks that left the active chain since the
    /// given block (only when that block is no longer on it and `include_removed`).
    #[serde(default)]
    pub removed: Vec<WalletTxEntry>,
    /// The block `target_confirmations - 1` below the tip: the next call's `blockhash`.
    pub lastblock: BlockHash,
}

/// One output `lockunspent` takes and `listlockunspent` lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct LockedOutput {
    /// The transaction.
    pub txid: Txid,
    /// The output's index.
    pub vout: u32,
}

/// `send` and `sendall` (Core's fields): `txid` once complete; `hex` when complete but not
/// broadcast (`add_to_wallet` false, or `psbt` asked for); `psbt` when more signatures are
/// needed, `add_to_wallet` is false, or `psbt` was asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalletSendResult {
    /// Whether the transaction has a complete set of signatures.
    pub complete: bool,
    /// The transaction id, when complete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub txid: Option<Txid>,
    /// The signed transaction, when complete and not broadcast.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hex: Option<String>,
    /// The (partially) signed transaction, base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub psbt: Option<String>,
}

/// `fundrawtransaction` (Core's fields).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FundRawTransactionResult {
    /// The funded transaction, unsigned, hex.
    pub hex: String,
    /// The fee it pays once signed.
    pub fee: Amount,
    /// The change output's position, -1 when there is none.
    pub changepos: i64,
}

/// `bumpfee` (with `txid`) and `psbtbumpfee` (with `psbt`), Core's fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BumpFeeResult {
    /// The replacement's id (`bumpfee`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub txid: Option<Txid>,
    /// The replacement as an unsigned PSBT, base64 (`psbtbumpfee`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub psbt: Option<String>,
    /// The replaced transaction's fee.
    pub origfee: Amount,
    /// The replacement's fee.
    pub fee: Amount,
    /// Errors met (Core lists none on success either).
    pub errors: Vec<String>,
}

/// One `listdescriptors` entry (Core's fields).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListDescriptorsEntry {
    /// The descriptor with its checksum, public or private.
    pub desc: String,
    /// Unix time from which its keys may have been used.
    pub timestamp: u64,
    /// Whether new addresses (or change) come from it.
    pub active: bool,
    /// For an active descriptor: whether it is the change one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub internal: Option<bool>,
    /// The derived range, inclusive (ranged descriptors).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<[u32; 2]>,
    /// Core's deprecated alias of `next_index`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<u32>,
    /// The next index handed out (ranged descriptors).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_index: Option<u32>,
}

/// `listdescriptors`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListDescriptorsResult {
    /// The wallet's name.
    pub wallet_name: String,
    /// Its descriptors.
    pub descriptors: Vec<ListDescriptorsEntry>,
}

/// A failed `importdescriptors` request's error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportDescriptorsError {
    /// Core's RPC error code.
    pub code: i32,
    /// The message.
    pub message: String,
}

/// One `importdescriptors` answer, per request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportDescriptorsResult {
    /// Whether the request was applied.
    pub success: bool,
    /// Core's warnings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Why not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ImportDescriptorsError>,
}

/// `migratewallet`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MigrateWalletResult {
    /// The migrated wallet's name.
    pub wallet_name: String,
    /// The copy of the wallet file as it was before migration.
    pub backup_path: String,
}
