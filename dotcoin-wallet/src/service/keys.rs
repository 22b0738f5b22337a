//! The wallet service's key calls of a descriptor wallet, with Bitcoin Core's parameter
//! names, result fields and error texts: `importdescriptors`, `listdescriptors` and
//! `migratewallet`. The wallet logic is [`crate::wallet::hdkeys`]; this module reads the
//! requests, answers per request as Core does, and writes the file.

use std::path::PathBuf;

use dotcoin_rpc_server::arg::{JsonArray, StrictBool, Text};
use jsonrpsee::RpcModule;
use serde::Serialize;
use serde_json::Value;
use zeroize::Zeroizing;

use super::methods::{flag, register, register_wallet};
use super::params::{Code, RpcFailure, RpcResult};
use super::{Service, WalletHandle};
use crate::wallet::hdkeys::{ImportError, ImportRequest, ListedDescriptor};

/// One `importdescriptors` answer.
#[derive(Debug, Clone, Serialize)]
pub struct ImportResult {
    /// Whether the request was applied.
    pub success: bool,
    /// Core's warnings.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Why not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ImportErrorReply>,
}

/// Core's `{code, message}` of a failed request.
#[derive(Debug, Clone, Serialize)]
pub struct ImportErrorReply {
    /// The RPC error code.
    pub code: i32,
    /// The message.
    pub message: String,
}

/// `listdescriptors`.
#[derive(Debug, Clone, Serialize)]
pub struct ListDescriptorsResult {
    /// The wallet.
    pub wallet_name: String,
    /// Its descriptors.
    pub descriptors: Vec<ListedDescriptor>,
}

/// `migratewallet`.
#[derive(Debug, Clone, Serialize)]
pub struct MigrateWalletResult {
    /// The migrated wallet's name.
    pub wallet_name: String,
    /// The copy of the wallet file as it was before.
    pub backup_path: String,
}

/// Registers the calls (their parameters are in [`super::methods::METHODS`]).
pub(super) fn register_keys(m: &mut RpcModule<Service>) {
    register_wallet(m, "importdescriptors", |mut c, w| async move {
        let requests: JsonArray<Value> = c.args.req()?;
        importdescriptors(&w, requests.0).await
    });
    register_wallet(m, "listdescriptors", |mut c, w| async move {
        let private: Option<StrictBool> = c.args.opt()?;
        listdescriptors(&w, flag(private, false)).await
    });
    register(m, "migratewallet", |mut c| async move {
        let name: Option<Text> = c.args.opt()?;
        let passphrase: Option<Text> = c.args.opt()?;
        let passphrase = passphrase.map(|p| Zeroizing::new(p.0));
        // Core needs the endpoint's wallet or a name; with neither, the only loaded
        // wallet is meant, as for every other wallet call.
        let name = match (name, c.endpoint.clone()) {
            (Some(n), _) => n.0,
            (None, Some(e)) => e,
            (None, None) => c.svc.wallet_for(None)?.lock().await.name.clone(),
        };
        migratewallet(&c.svc, name, passphrase).await
    });
}

fn request_of(v: &Value) -> Result<ImportRequest, ImportError> {
    use ImportError as E;
    let obj = v
        .as_object()
        .ok_or_else(|| E::InvalidParameter("Request must be an object".into()))?;
    let desc = obj
        .get("desc")
        .and_then(Value::as_str)
        .ok_or_else(|| E::InvalidParameter("Descriptor not found.".into()))?;
    let flag_of = |name: &str| -> Result<bool, ImportError> {
        match obj.get(name) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(E::InvalidParameter(format!("{name} must be a boolean"))),
        }
    };
    let range = match obj.get("range") {
        None | Some(Value::Null) => None,
        Some(r) => Some(
            super::descriptors::parse_range(r)
                .map_err(|f| E::InvalidParameter(f.message.clone()))?,
        ),
    };
    let next_index = match obj.get("next_index") {
        None | Some(Value::Null) => None,
        Some(n) => Some(
            n.as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| E::InvalidParameter("next_index is out of range".into()))?,
        ),
    };
    // Core's GetImportTimestamp: required, an integer or "now" (a -3 type error).
    let timestamp = match obj.get("timestamp") {
        None => return Err(E::Type("Missing required timestamp field for key".into())),
        Some(Value::String(s)) if s == "now" => None,
        Some(Value::Number(n)) => Some(n.as_i64().map_or(0, |t| t.max(0) as u64)),
        Some(other) => {
            return Err(E::Type(format!(
                "Expected number or \"now\" timestamp value for key. got type {}",
                json_type(other)
            )))
        }
    };
    let label = match obj.get("label") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s == "*" => {
            return Err(E::Wallet("Invalid label name".into()));
        }
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(E::InvalidParameter("label must be a string".into())),
    };
    Ok(ImportRequest {
        desc: Zeroizing::new(desc.to_owned()),
        active: flag_of("active")?,
        range,
        next_index,
        timestamp,
        internal: flag_of("internal")?,
        label,
    })
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// At most this many requests in one call (each may derive up to a million keys).
const MAX_REQUESTS: usize = 1000;

async fn importdescriptors(
    handle: &WalletHandle,
    requests: Vec<Value>,
) -> RpcResult<Vec<ImportResult>> {
    if requests.len() > MAX_REQUESTS {
        return Err(RpcFailure::new(
            Code::InvalidParameter,
            format!("at most {MAX_REQUESTS} requests in one call"),
        ));
    }
    let mut loaded = handle.lock().await;
    if !loaded.wallet.is_descriptor_wallet() {
        return Err(RpcFailure::new(
            Code::Wallet,
            "importdescriptors is not available for non-descriptor wallet",
        ));
    }
    let mut out = Vec::with_capacity(requests.len());
    for v in &requests {
        let result = request_of(v)
            .and_then(|req| tokio::task::block_in_place(|| loaded.wallet.import_descriptor(&req)));
        out.push(match result {
            Ok(warnings) => ImportResult {
                success: true,
                warnings,
                error: None,
            },
            Err(e) => {
                let (code, message) = e.code_message();
                ImportResult {
                    success: false,
                    warnings: Vec::new(),
                    error: Some(ImportErrorReply { code, message }),
                }
            }
        });
    }
    loaded.persist()?;
    Ok(out)
}

async fn listdescriptors(handle: &WalletHandle, private: bool) -> RpcResult<ListDescriptorsResult> {
    let loaded = handle.lock().await;
    let w = &loaded.wallet;
    if !w.is_descriptor_wallet() {
        return Err(RpcFailure::new(
            Code::Wallet,
            "listdescriptors is not available for non-descriptor wallets",
        ));
    }
    if private && !w.private_keys_enabled() {
        return Err(RpcFailure::new(
            Code::Wallet,
            "Can't get private descriptor string for watch-only wallets",
        ));
    }
    if private && !w.is_unlocked() {
        return Err(RpcFailure::new(
            Code::UnlockNeeded,
            "Error: Please enter the wallet passphrase with walletpassphrase first.",
        ));
    }
    let descriptors = tokio::task::block_in_place(|| w.list_descriptors(private))
        .map_err(|e| RpcFailure::new(Code::Wallet, e.to_string()))?;
    Ok(ListDescriptorsResult {
        wallet_name: loaded.name.clone(),
        descriptors,
    })
}

/// Where `migratewallet` keeps the old file: `<name>-<unix time>.legacy.bak` beside it
/// (Core's `<name>_<time>.legacy.bak`, with the wallet-name characters dotcoin allows).
fn backup_path(wallet_path: &std::path::Path, name: &str) -> PathBuf {
    let dir = wallet_path.parent().unwrap_or(std::path::Path::new("."));
    dir.join(format!("{name}-{}.legacy.bak", super::now()))
}

async fn migratewallet(
    svc: &Service,
    name: String,
    passphrase: Option<Zeroizing<String>>,
) -> RpcResult<MigrateWalletResult> {
    // A loaded wallet is migrated in place; an unloaded one is loaded for it and unloaded
    // after (Core migrates only unloaded wallets and loads the result; here the service
    // keeps what the caller had).
    let (handle, was_loaded) = match svc.wallet_for(Some(&name)) {
        Ok(h) => (h, true),
        Err(_) => (svc.load(&name, false)?, false),
    };
    let result = async {
        let mut loaded = handle.lock().await;
        if loaded.wallet.is_descriptor_wallet() {
            return Err(RpcFailure::new(
                Code::Wallet,
                "Error: This wallet is already a descriptor wallet",
            ));
        }
        let was_locked = !loaded.wallet.is_unlocked();
        if was_locked {
            let pass = passphrase
                .as_ref()
                .filter(|p| !p.is_empty())
                .ok_or_else(|| {
                    RpcFailure::new(
                        Code::Wallet,
                        "Error: Wallet decryption failed, the wallet passphrase was not provided \
                     or was incorrect.",
                    )
                })?;
            tokio::task::block_in_place(|| loaded.wallet.unlock(pass.as_bytes())).map_err(
                |_| {
                    RpcFailure::new(
                        Code::Wallet,
                        "Error: Wallet decryption failed, the wallet passphrase was not \
                         provided or was incorrect.",
                    )
                },
            )?;
        }
        let dest = backup_path(loaded.store.path(), &name);
        let bytes = loaded.wallet.file().to_json();
        crate::persist::write_atomic(&dest, &bytes, crate::persist::Mode::CreateNew)
            .map_err(|e| RpcFailure::new(Code::Wallet, format!("cannot write backup: {e}")))?;
        let migrated = tokio::task::block_in_place(|| loaded.wallet.migrate());
        if was_locked {
            loaded.relock();
        }
        migrated?;
        loaded.persist()?;
        Ok(MigrateWalletResult {
            wallet_name: name.clone(),
            backup_path: dest.display().to_string(),
        })
    }
    .await;
    drop(handle);
    if !was_loaded {
        let _ = svc.unload(&name);
        if result.is_ok() {
            svc.load(&name, false)?;
        }
    }
    result
}
