//! The wallet's own record of its transactions, kept in a file beside the wallet
//! (`<wallet>.json.history`): each transaction's raw bytes, where it was mined (block hash,
//! height, position, block time), when the wallet first saw it, whether the node still
//! holds it, what replaced it or what it replaced, and whether it was abandoned; plus the
//! last block the record was brought up to and the coins locked with `persistent=true`.
//!
//! The record is the source of `listtransactions`, `listsinceblock` and `gettransaction`:
//! this module computes Core's entries from it (categories send / receive / generate /
//! immature / orphan, fees, negative confirmations of a transaction whose conflict
//! confirmed). Bringing it up to date with the node is [`crate::service::history`]'s job.
//!
//! The file is written atomically (temporary file, fsync, rename) and read with a size
//! cap; a file that is not the record's format is refused with an error naming it.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use dotcoin_common::wallet_rpc_types::{LockedOutput, WalletTxEntry, WalletTxInfo};
use dotcoin_common::{encode, Address, BlockHash, PubKey, SignedAmount, Transaction, Txid};
use serde::{Deserialize, Serialize};

use crate::error::WalletError;
use crate::persist::{write_atomic, Mode};
use crate::wallet::{Purpose, Wallet};

/// The record's format version.
pub const HISTORY_VERSION: u32 = 1;
/// Largest history file read (64 MiB): a bigger one is refused rather than read into memory.
pub const MAX_HISTORY_FILE: u64 = 64 << 20;
/// Most transactions one record holds; a sync that would pass it stops adding.
pub const MAX_HISTORY_TXS: usize = 200_000;

/// Where a transaction was mined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mined {
    /// The block.
    pub blockhash: BlockHash,
    /// Its height.
    pub height: u32,
    /// The transaction's position in it.
    pub index: u32,
    /// The block's header time.
    pub blocktime: u32,
}

/// One wallet transaction as the record keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalletTx {
    /// Its id.
    pub txid: Txid,
    /// The serialized transaction, hex.
    pub hex: String,
    /// Where it is mined on the node's best chain as last seen; `None` while unconfirmed.
    #[serde(default)]
    pub mined: Option<Mined>,
    /// When the wallet first saw it (Unix seconds; the mempool entry's time when known).
    pub time_received: u64,
    /// Whether the node's mempool held it at the last look (unconfirmed ones only).
    #[serde(default)]
    pub in_mempool: bool,
    /// The wallet transaction that replaced it (spends one of its inputs and took its place).
    #[serde(default)]
    pub replaced_by: Option<Txid>,
    /// The wallet transaction it replaced.
    #[serde(default)]
    pub replaces: Option<Txid>,
    /// Set by `abandontransaction`.
    #[serde(default)]
    pub abandoned: bool,
}

impl WalletTx {
    /// The decoded transaction.
    pub fn tx(&self) -> Result<Transaction, String> {
        let bytes = hex::decode(&self.hex).map_err(|e| format!("{}: bad hex: {e}", self.txid))?;
        let tx: Transaction = encode::deserialize(&bytes)
            .map_err(|e| format!("{}: bad transaction: {e}", self.txid))?;
        if tx.txid() != self.txid {
            return Err(format!(
                "{}: the bytes are transaction {}",
                self.txid,
                tx.txid()
            ));
        }
        Ok(tx)
    }
}

/// The last block the record was brought up to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Processed {
    /// The block.
    pub hash: BlockHash,
    /// Its height.
    pub height: u32,
}

/// The file's content.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct HistoryFile {
    version: u32,
    #[serde(default)]
    last_block: Option<Processed>,
    #[serde(default)]
    txs: Vec<WalletTx>,
    #[serde(default)]
    locked: Vec<LockedOutput>,
}

/// The record, loaded, with the coins locked for this process only.
#[derive(Debug, Clone)]
pub struct History {
    path: PathBuf,
    file: HistoryFile,
    index: HashMap<Txid, usize>,
    /// Each record's transaction, decoded once (same order as `file.txs`).
    decoded: Vec<Transaction>,
    /// Which records spend each outpoint: conflicts without a scan of the whole record.
    spenders: HashMap<(Txid, u32), Vec<usize>>,
    /// Coins locked without `persistent`: gone when the wallet unloads.
    pub memory_locks: BTreeSet<LockedOutput>,
}

/// The record's path for the wallet file `wallet_path`.
pub fn history_path(wallet_path: &Path) -> PathBuf {
    let mut name = wallet_path.as_os_str().to_owned();
    name.push(".history");
    PathBuf::from(name)
}

fn corrupt(path: &Path, reason: impl Into<String>) -> WalletError {
    WalletError::Corrupt {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

impl History {
    /// Opens the record at `path`, or an empty one (never synced) if there is no file.
    pub fn open(path: PathBuf) -> Result<History, WalletError> {
        let mut file = match std::fs::metadata(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => HistoryFile {
                version: HISTORY_VERSION,
                ..HistoryFile::default()
            },
            Err(e) => return Err(WalletError::io("cannot read the history file", path, e)),
            Ok(meta) => {
                if meta.len() > MAX_HISTORY_FILE {
                    return Err(corrupt(
                        &path,
                        format!(
                            "the history file is {} bytes, more than the {MAX_HISTORY_FILE} read",
                            meta.len()
                        ),
                    ));
                }
                let bytes = std::fs::read(&path)
                    .map_err(|e| WalletError::io("cannot read the history file", &path, e))?;
                Self::decode(&path, &bytes)?
            }
        };
        let txs = std::mem::take(&mut file.txs);
        let mut history = History {
            path,
            file,
            index: HashMap::new(),
            decoded: Vec::new(),
            spenders: HashMap::new(),
            memory_locks: BTreeSet::new(),
        };
        for t in txs {
            // Decoded (and unique) already: `decode` checked every record.
            history.insert(t);
        }
        Ok(history)
    }

    fn decode(path: &Path, bytes: &[u8]) -> Result<HistoryFile, WalletError> {
        let file: HistoryFile = serde_json::from_slice(bytes)
            .map_err(|e| corrupt(path, format!("not a wallet history: {e}")))?;
        if file.version != HISTORY_VERSION {
            return Err(corrupt(
                path,
                format!("history version {} is not {HISTORY_VERSION}", file.version),
            ));
        }
        if file.txs.len() > MAX_HISTORY_TXS {
            return Err(corrupt(path, "more transactions than a history holds"));
        }
        let mut seen = HashSet::new();
        for t in &file.txs {
            t.tx().map_err(|e| corrupt(path, e))?;
            if !seen.insert(t.txid) {
                return Err(corrupt(path, format!("transaction {} twice", t.txid)));
            }
        }
        Ok(file)
    }

    /// Writes the record atomically.
    pub fn save(&self) -> Result<(), WalletError> {
        let bytes = serde_json::to_vec(&self.file)
            .map_err(|e| corrupt(&self.path, format!("cannot encode: {e}")))?;
        write_atomic(&self.path, &bytes, Mode::Replace)
            .map_err(|e| WalletError::io("cannot write the history file", &self.path, e))
    }

    /// Its file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The last block the record was brought up to (`None`: never synced).
    pub fn last_block(&self) -> Option<Processed> {
        self.file.last_block
    }

    /// Sets the last processed block.
    pub fn set_last_block(&mut self, block: Processed) {
        self.file.last_block = Some(block);
    }

    /// Every transaction, in the order the wallet learned of them.
    pub fn txs(&self) -> &[WalletTx] {
        &self.file.txs
    }

    /// One transaction.
    pub fn get(&self, txid: &Txid) -> Option<&WalletTx> {
        self.index.get(txid).map(|&i| &self.file.txs[i])
    }

    /// One transaction, to change.
    pub fn get_mut(&mut self, txid: &Txid) -> Option<&mut WalletTx> {
        self.index.get(txid).map(|&i| &mut self.file.txs[i])
    }

    /// Adds a transaction the record does not hold yet; `false` if it was held or the
    /// record is full.
    pub fn insert(&mut self, tx: WalletTx) -> bool {
        if self.index.contains_key(&tx.txid) || self.file.txs.len() >= MAX_HISTORY_TXS {
            return false;
        }
        let Ok(decoded) = tx.tx() else {
            return false;
        };
        let at = self.file.txs.len();
        if !decoded.is_coinbase() {
            for input in &decoded.inputs {
                self.spenders
                    .entry((input.prevout.txid, input.prevout.vout))
                    .or_default()
                    .push(at);
            }
        }
        self.index.insert(tx.txid, at);
        self.file.txs.push(tx);
        self.decoded.push(decoded);
        true
    }

    /// A held transaction, decoded.
    pub fn decoded(&self, txid: &Txid) -> Option<&Transaction> {
        self.index.get(txid).map(|&i| &self.decoded[i])
    }

    /// The coins locked with `persistent`.
    pub fn persistent_locks(&self) -> &[LockedOutput] {
        &self.file.locked
    }

    /// Replaces the persistent locks.
    pub fn set_persistent_locks(&mut self, locks: Vec<LockedOutput>) {
        self.file.locked = locks;
    }

    /// Whether a coin is locked (in memory or persistently).
    pub fn is_locked(&self, coin: &LockedOutput) -> bool {
        self.memory_locks.contains(coin) || self.file.locked.contains(coin)
    }

    /// The other wallet transactions that spend an input of `txid`.
    pub fn conflicts_of(&self, txid: &Txid) -> Vec<Txid> {
        let Some(tx) = self.decoded(txid) else {
            return Vec::new();
        };
        if tx.is_coinbase() {
            return Vec::new();
        }
        let mut out: Vec<Txid> = Vec::new();
        for input in &tx.inputs {
            let key = (input.prevout.txid, input.prevout.vout);
            for &i in self.spenders.get(&key).into_iter().flatten() {
                let other = self.file.txs[i].txid;
                if other != *txid && !out.contains(&other) {
                    out.push(other);
                }
            }
        }
        out
    }

    /// Core's depth of `t` with the best chain's tip at `tip_height`: positive when
    /// mined, 0 when pending (or dropped), minus the confirmations of a mined conflict.
    pub fn depth(&self, t: &WalletTx, tip_height: u32) -> i64 {
        if let Some(m) = t.mined {
            return i64::from(tip_height) - i64::from(m.height) + 1;
        }
        let mined_conflict = self
            .conflicts_of(&t.txid)
            .iter()
            .filter_map(|c| self.get(c).and_then(|c| c.mined))
            .map(|m| i64::from(tip_height) - i64::from(m.height) + 1)
            .max();
        match mined_conflict {
            Some(d) if d > 0 => -d,
            _ => 0,
        }
    }
}

/// The keys of the wallet's addresses, computed once per call rather than per entry.
pub fn our_keys(wallet: &Wallet) -> HashSet<PubKey> {
    wallet
        .watched_addresses()
        .iter()
        .filter_map(|a| a.parse::<Address>().ok().map(|a| a.pubkey))
        .collect()
}

/// What entries to make.
#[derive(Debug, Clone, Copy)]
pub struct EntryOptions {
    /// The best chain's height.
    pub tip_height: u32,
    /// Blocks before a coinbase's outputs are spendable.
    pub maturity: u32,
    /// Also make entries for the change outputs of the wallet's own sends (`include_change`).
    pub include_change: bool,
}

/// Core's entries (`ListTransactions`) of one wallet transaction: a `send` for each
/// output a spend of the wallet's coins pays (its change aside), each with the fee, and a
/// `receive` (or `generate`/`immature`/`orphan` for a coinbase) for each output paying
/// the wallet. A payment to one of the wallet's own addresses is thus a send and a
/// receive of its amount, not a send of 0. Also returns Core's `gettransaction` amount
/// (credit − debit − fee) and fee.
pub fn entries(
    wallet: &Wallet,
    ours: &HashSet<PubKey>,
    history: &History,
    t: &WalletTx,
    opts: EntryOptions,
) -> (Vec<WalletTxEntry>, SignedAmount, Option<SignedAmount>) {
    let Some(tx) = history.decoded(&t.txid) else {
        return (Vec::new(), signed(0), None);
    };
    let network = wallet.network();
    let is_change = |pk: &PubKey| {
        wallet
            .record(&Address::new(network, *pk).to_string())
            .is_some_and(|k| k.purpose == Purpose::Change)
    };
    let mut debit: i128 = 0;
    let mut all_inputs_ours = !tx.is_coinbase();
    if !tx.is_coinbase() {
        for input in &tx.inputs {
            let spent = history
                .decoded(&input.prevout.txid)
                .and_then(|p| p.outputs.get(input.prevout.vout as usize))
                .filter(|o| ours.contains(&o.pubkey));
            match spent {
                Some(o) => debit += i128::from(o.value.to_sat()),
                None => all_inputs_ours = false,
            }
        }
    }
    let credit: i128 = tx
        .outputs
        .iter()
        .filter(|o| ours.contains(&o.pubkey))
        .map(|o| i128::from(o.value.to_sat()))
        .sum();
    let value_out: i128 = tx
        .outputs
        .iter()
        .map(|o| i128::from(o.value.to_sat()))
        .sum();
    let from_me = debit > 0;
    // Core: a fee only where every input is the wallet's (it knows what they were worth).
    let fee = (from_me && all_inputs_ours).then(|| value_out - debit);
    let depth = history.depth(t, opts.tip_height);
    let conflicts: Vec<String> = history
        .conflicts_of(&t.txid)
        .iter()
        .map(|c| c.to_string())
        .collect();
    let received = i64::try_from(t.time_received).unwrap_or(i64::MAX);
    let info = WalletTxInfo {
        confirmations: depth,
        generated: tx.is_coinbase().then_some(true),
        trusted: (depth <= 0).then_some(all_inputs_ours && t.in_mempool && !t.abandoned),
        blockhash: t.mined.map(|m| m.blockhash),
        blockheight: t.mined.map(|m| m.height),
        blockindex: t.mined.map(|m| m.index),
        blocktime: t.mined.map(|m| m.blocktime),
        txid: t.txid,
        wtxid: tx.wtxid(),
        walletconflicts: conflicts,
        replaced_by_txid: t.replaced_by,
        replaces_txid: t.replaces,
        time: Some(received),
        timereceived: Some(received),
        bip125_replaceable: "no".into(),
    };
    let label_of = |address: &str| {
        wallet
            .record(address)
            .map(|k| k.label.clone())
            .filter(|l| !l.is_empty())
    };
    let mut out = Vec::new();
    if from_me {
        for (o, n) in tx.outputs.iter().zip(0u32..) {
            let mine = ours.contains(&o.pubkey);
            if mine && is_change(&o.pubkey) && !opts.include_change {
                continue;
            }
            let address = Address::new(network, o.pubkey).to_string();
            out.push(WalletTxEntry {
                category: "send".into(),
                amount: signed(-i128::from(o.value.to_sat())),
                fee: fee.map(signed),
                vout: n,
                label: if mine { label_of(&address) } else { None },
                address: Some(address),
                tx: info.clone(),
                abandoned: Some(t.abandoned),
            });
        }
    }
    for (o, n) in tx.outputs.iter().zip(0u32..) {
        if !ours.contains(&o.pubkey) {
            continue;
        }
        if from_me && is_change(&o.pubkey) && !opts.include_change {
            continue;
        }
        let category = if tx.is_coinbase() {
            if depth < 1 {
                "orphan"
            } else if depth < i64::from(opts.maturity) {
                "immature"
            } else {
                "generate"
            }
        } else {
            "receive"
        };
        let address = Address::new(network, o.pubkey).to_string();
        out.push(WalletTxEntry {
            category: category.into(),
            amount: signed(i128::from(o.value.to_sat())),
            fee: None,
            vout: n,
            label: label_of(&address),
            address: Some(address),
            tx: info.clone(),
            abandoned: None,
        });
    }
    let fee_amount = fee.unwrap_or(0);
    let amount = signed(credit - debit - fee_amount);
    (out, amount, fee.map(signed))
}

fn signed(v: i128) -> SignedAmount {
    SignedAmount::from_sat(i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp() -> tempfile::TempDir {
        tempfile::tempdir().expect("tempdir")
    }

    #[test]
    fn a_missing_file_is_an_empty_record_and_a_saved_one_reads_back() {
        let dir = temp();
        let path = history_path(&dir.path().join("w.json"));
        assert!(path.ends_with("w.json.history"));
        let mut h = History::open(path.clone()).expect("empty");
        assert!(h.txs().is_empty() && h.last_block().is_none());
        let lock = LockedOutput {
            txid: "77".repeat(32).parse().expect("txid"),
            vout: 1,
        };
        h.set_persistent_locks(vec![lock]);
        h.set_last_block(Processed {
            hash: "01".repeat(32).parse().expect("hash"),
            height: 5,
        });
        h.save().expect("save");
        let again = History::open(path).expect("reads back");
        assert_eq!(again.persistent_locks(), &[lock]);
        assert_eq!(again.last_block().map(|b| b.height), Some(5));
        assert!(again.is_locked(&lock));
    }

    #[test]
    fn a_corrupt_or_oversized_file_is_refused_naming_it() {
        let dir = temp();
        let path = dir.path().join("w.json.history");
        std::fs::write(&path, b"{\"version\":1,\"txs\":[{\"txid\":").expect("write");
        let e = History::open(path.clone()).expect_err("corrupt");
        let text = e.to_string();
        assert!(
            text.contains("w.json.history") && text.contains("corrupt"),
            "{text}"
        );

        std::fs::write(&path, br#"{"version":9}"#).expect("write");
        let text = History::open(path.clone())
            .expect_err("version")
            .to_string();
        assert!(text.contains("history version 9"), "{text}");

        let tx = format!(
            r#"{{"version":1,"txs":[{{"txid":"{}","hex":"00","time_received":0}}]}}"#,
            "11".repeat(32)
        );
        std::fs::write(&path, tx).expect("write");
        let text = History::open(path.clone()).expect_err("bad tx").to_string();
        assert!(text.contains("w.json.history"), "{text}");

        let f = std::fs::File::create(&path).expect("create");
        f.set_len(MAX_HISTORY_FILE + 1).expect("grow");
        let text = History::open(path).expect_err("too big").to_string();
        assert!(text.contains("more than the"), "{text}");
    }
}
