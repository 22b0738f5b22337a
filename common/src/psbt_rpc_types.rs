//! The results of the PSBT and funding RPCs, node side (`decodepsbt`, `analyzepsbt`,
//! `finalizepsbt`) and wallet side (`walletcreatefundedpsbt`, `walletprocesspsbt`), with
//! Bitcoin Core's field names in Core's order. Amounts are [`Amount`] (8 decimals); fields
//! Core leaves out are `Option`s skipped when `None`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::params::Network;
use crate::primitives::Amount;
use crate::psbt::{proprietary_parts, Psbt, TapDerivation};
use crate::rpc_types::{DecodedTx, ScriptPubKey};

/// A spent output as `decodepsbt` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PsbtUtxo {
    /// The value, DOT.
    pub amount: Amount,
    /// The output's script.
    #[serde(rename = "scriptPubKey")]
    pub script_pub_key: ScriptPubKey,
}

/// One taproot key origin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PsbtTapDeriv {
    /// The x-only key, hex.
    pub pubkey: String,
    /// The master key's fingerprint, hex.
    pub master_fingerprint: String,
    /// The path, `m/…`.
    pub path: String,
    /// Leaf hashes, hex.
    pub leaf_hashes: Vec<String>,
}

/// One proprietary pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PsbtProprietary {
    /// The identifier prefix, hex.
    pub identifier: String,
    /// The subtype.
    pub subtype: u64,
    /// The key data after the subtype, hex.
    pub key: String,
    /// The value, hex.
    pub value: String,
}

/// One input of `decodepsbt`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct DecodedPsbtInput {
    /// The spent output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub witness_utxo: Option<PsbtUtxo>,
    /// The final witness, as a stack of hex items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub final_scriptwitness: Option<Vec<String>>,
    /// The key-path signature, hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub taproot_key_path_sig: Option<String>,
    /// Key origins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub taproot_bip32_derivs: Option<Vec<PsbtTapDeriv>>,
    /// The internal key, hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub taproot_internal_key: Option<String>,
    /// Unknown pairs, key hex to value hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unknown: Option<BTreeMap<String, String>>,
    /// Proprietary pairs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proprietary: Option<Vec<PsbtProprietary>>,
}

/// One output of `decodepsbt`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct DecodedPsbtOutput {
    /// The internal key, hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub taproot_internal_key: Option<String>,
    /// Key origins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub taproot_bip32_derivs: Option<Vec<PsbtTapDeriv>>,
    /// Unknown pairs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unknown: Option<BTreeMap<String, String>>,
    /// Proprietary pairs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proprietary: Option<Vec<PsbtProprietary>>,
}

/// `decodepsbt`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecodePsbtResult {
    /// The unsigned transaction.
    pub tx: DecodedTx,
    /// Global xpubs (kept as unknown pairs here: always empty).
    pub global_xpubs: Vec<serde_json::Value>,
    /// The PSBT version.
    pub psbt_version: u32,
    /// Global proprietary pairs.
    pub proprietary: Vec<PsbtProprietary>,
    /// Global unknown pairs.
    pub unknown: BTreeMap<String, String>,
    /// Per input.
    pub inputs: Vec<DecodedPsbtInput>,
    /// Per output.
    pub outputs: Vec<DecodedPsbtOutput>,
    /// The fee, when every spent output is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fee: Option<Amount>,
}

fn derivs(map: &BTreeMap<crate::PubKey, TapDerivation>) -> Option<Vec<PsbtTapDeriv>> {
    (!map.is_empty()).then(|| {
        map.iter()
            .map(|(k, d)| PsbtTapDeriv {
                pubkey: k.to_string(),
                master_fingerprint: hex::encode(d.source.fingerprint),
                path: d.source.path_string(),
                leaf_hashes: d.leaf_hashes.iter().map(hex::encode).collect(),
            })
            .collect()
    })
}

/// Unknown pairs and proprietary ones apart, as Core shows them.
fn split_unknown(
    map: &BTreeMap<Vec<u8>, Vec<u8>>,
) -> (BTreeMap<String, String>, Vec<PsbtProprietary>) {
    let mut unknown = BTreeMap::new();
    let mut proprietary = Vec::new();
    for (k, v) in map {
        match proprietary_parts(k) {
            Some((identifier, subtype, key)) => proprietary.push(PsbtProprietary {
                identifier: hex::encode(identifier),
                subtype,
                key: hex::encode(key),
                value: hex::encode(v),
            }),
            None => {
                unknown.insert(hex::encode(k), hex::encode(v));
            }
        }
    }
    (unknown, proprietary)
}

fn nonempty<T>(v: Vec<T>) -> Option<Vec<T>> {
    (!v.is_empty()).then_some(v)
}

fn nonempty_map(m: BTreeMap<String, String>) -> Option<BTreeMap<String, String>> {
    (!m.is_empty()).then_some(m)
}

impl DecodePsbtResult {
    /// What `decodepsbt` prints for `psbt`.
    pub fn from_psbt(psbt: &Psbt, network: Network) -> DecodePsbtResult {
        let (unknown, proprietary) = split_unknown(&psbt.unknown);
        DecodePsbtResult {
            tx: DecodedTx::from_tx(&psbt.tx, network),
            global_xpubs: Vec::new(),
            psbt_version: psbt.version.unwrap_or(0),
            proprietary,
            unknown,
            inputs: psbt
                .inputs
                .iter()
                .map(|i| {
                    let (unknown, proprietary) = split_unknown(&i.unknown);
                    DecodedPsbtInput {
                        witness_utxo: i.witness_utxo.map(|o| PsbtUtxo {
                            amount: o.value,
                            script_pub_key: ScriptPubKey::for_key(&o.pubkey, network),
                        }),
                        final_scriptwitness: i
                            .final_script_witness
                            .as_ref()
                            .map(|w| vec![hex::encode(w)]),
                        taproot_key_path_sig: i.tap_key_sig.map(hex::encode),
                        taproot_bip32_derivs: derivs(&i.tap_bip32_derivation),
                        taproot_internal_key: i.tap_internal_key.map(|k| k.to_string()),
                        unknown: nonempty_map(unknown),
                        proprietary: nonempty(proprietary),
                    }
                })
                .collect(),
            outputs: psbt
                .outputs
                .iter()
                .map(|o| {
                    let (unknown, proprietary) = split_unknown(&o.unknown);
                    DecodedPsbtOutput {
                        taproot_internal_key: o.tap_internal_key.map(|k| k.to_string()),
                        taproot_bip32_derivs: derivs(&o.tap_bip32_derivation),
                        unknown: nonempty_map(unknown),
                        proprietary: nonempty(proprietary),
                    }
                })
                .collect(),
            fee: psbt.fee(),
        }
    }
}

/// What one input is missing (`analyzepsbt`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnalyzePsbtMissing {
    /// Keys whose signatures are missing, hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signatures: Option<Vec<String>>,
}

/// One input of `analyzepsbt`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnalyzePsbtInput {
    /// Whether the spent output is known.
    pub has_utxo: bool,
    /// Whether the input is finalized.
    pub is_final: bool,
    /// What is missing, if anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missing: Option<AnalyzePsbtMissing>,
    /// The role this input needs next.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// `analyzepsbt`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnalyzePsbtResult {
    /// Per input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inputs: Option<Vec<AnalyzePsbtInput>>,
    /// The signed size, vbytes (dotcoin: bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimated_vsize: Option<u64>,
    /// The fee rate once signed, DOT/kvB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimated_feerate: Option<Amount>,
    /// The fee.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fee: Option<Amount>,
    /// The role the PSBT needs next.
    pub next: String,
    /// Why the PSBT cannot go on, if it cannot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl AnalyzePsbtResult {
    /// Core's analysis of `psbt`.
    pub fn from_psbt(psbt: &Psbt) -> AnalyzePsbtResult {
        let mut inputs = Vec::with_capacity(psbt.inputs.len());
        let mut error = None;
        for (index, input) in psbt.inputs.iter().enumerate() {
            let next = psbt.input_next_role(index);
            let missing = match (next, input.witness_utxo) {
                (crate::psbt::Role::Signer, Some(utxo)) => Some(AnalyzePsbtMissing {
                    signatures: Some(vec![utxo.pubkey.to_string()]),
                }),
                _ => None,
            };
            if next == crate::psbt::Role::Finalizer
                && psbt.input_signature_valid(index) == Some(false)
            {
                error.get_or_insert_with(|| {
                    format!("PSBT is not valid. Input {index} spends unspendable output")
                });
            }
            inputs.push(AnalyzePsbtInput {
                has_utxo: input.witness_utxo.is_some(),
                is_final: input.final_script_witness.is_some(),
                missing,
                next: (next != crate::psbt::Role::Extractor).then(|| next.name().to_owned()),
            });
        }
        let fee = psbt.fee();
        if psbt.spent_outputs().is_some() && fee.is_none() {
            error = Some("PSBT is not valid. Output amounts exceed input amount".into());
        }
        let size = psbt.estimated_size() as u64;
        let (estimated_vsize, estimated_feerate) = match fee {
            Some(fee) => (
                Some(size),
                Some(Amount::from_sat(
                    fee.to_sat().saturating_mul(1000) / size.max(1),
                )),
            ),
            None => (None, None),
        };
        AnalyzePsbtResult {
            inputs: (!inputs.is_empty()).then_some(inputs),
            estimated_vsize,
            estimated_feerate,
            fee,
            next: if error.is_some() {
                "creator".to_owned()
            } else {
                psbt.next_role().name().to_owned()
            },
            error,
        }
    }
}

/// `finalizepsbt`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinalizePsbtResult {
    /// The PSBT, base64, when not extracted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub psbt: Option<String>,
    /// The signed transaction, hex, when extracted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hex: Option<String>,
    /// Whether every input is final.
    pub complete: bool,
}

/// `walletcreatefundedpsbt`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalletCreateFundedPsbtResult {
    /// The PSBT, base64.
    pub psbt: String,
    /// The fee it pays once signed.
    pub fee: Amount,
    /// The change output's position, -1 when none.
    pub changepos: i64,
}

/// `walletprocesspsbt`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalletProcessPsbtResult {
    /// The PSBT, base64.
    pub psbt: String,
    /// Whether every input is signed (or final).
    pub complete: bool,
    /// The signed transaction, hex, when complete and finalized.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hex: Option<String>,
}
