//! The wallet core: the wallet document (keys, labels, keypool, encryption header), key
//! management, balances and transaction building. It does no I/O: every method works on
//! memory, and each change it makes is also recorded in a staged [`ChangeSet`]; the
//! [`persist`](crate::persist) module writes the document atomically when something is
//! staged, so a command that changed nothing (a wrong passphrase, a refused send) never
//! touches the file.
//!
//! Bird's eye view:
//! - [`WalletFile`]: the versioned JSON document, validated by [`Wallet::open`].
//! - Keys: each address is a fresh random key, drawn from a pre-generated keypool that is
//!   refilled as it is drawn. A key drawn after the last backup (or after creation) means
//!   the backup misses it: [`Wallet::backup_needed`].
//! - Encryption: secrets sealed under a passphrase-derived key ([`crate::crypto`]); public
//!   data stays readable, and a locked wallet can still hand out pool keys.
//! - Descriptor wallets (version 2, [`hdkeys`]): keys come from descriptors instead, the
//!   active receive and change ones derived from BIP39 seed words held in the file; the
//!   keypool is then the next keys of those descriptors, derived ahead.
//! - Spending: [`Wallet::prepare_send`] turns the node's view of our outputs into a signed
//!   transaction (coin selection in [`crate::coinselect`], fees in [`crate::txbuild`]).

use std::collections::HashMap;

use dotcoin_common::rpc_types::AddressUtxo;
use dotcoin_common::sighash::signing::{generate_keypair, keypair_from_secret, pubkey_of};
use dotcoin_common::{Address, Amount, FeeRate, Network, PubKey, Transaction, TxOut};
use secp256k1::Keypair;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::coinselect::{self, Coin, DUST_THRESHOLD};
use crate::crypto::{self, KdfParams, MasterKey, Sealed, SALT_LEN};
use crate::error::WalletError;
use crate::txbuild::{self, Payment};

pub mod hdkeys;

/// The `format` field of every wallet file.
pub const FORMAT: &str = "dotcoin-wallet";
/// The file format version this program writes for new wallets: 2, a descriptor wallet
/// (seed words and descriptors, [`hdkeys`]). Version 1 files (random keys) still open,
/// keep their version until `migratewallet`, and work as before.
pub const FORMAT_VERSION: u32 = 2;
/// The format of wallets made before descriptors: a pool of random keys.
pub const LEGACY_VERSION: u32 = 1;
/// Keys kept ready in the keypool unless `create --keypool` says otherwise.
pub const DEFAULT_KEYPOOL_SIZE: usize = 20;
/// What the encryption check value says; opening it proves the passphrase.
const CHECK_PLAINTEXT: &[u8] = b"dotcoin-wallet passphrase check";
const CHECK_AAD: &[u8] = b"dotcoin-wallet check";

/// Why a key is in the wallet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Purpose {
    /// Generated, not yet handed out.
    Pool,
    /// Handed out by `getnewaddress`.
    Receive,
    /// Used as the change address of a transaction.
    Change,
    /// Brought in by `importprivkey`.
    Imported,
}

impl Purpose {
    /// The name printed by `listaddresses`.
    pub fn name(self) -> &'static str {
        match self {
            Purpose::Pool => "pool",
            Purpose::Receive => "receive",
            Purpose::Change => "change",
            Purpose::Imported => "imported",
        }
    }
}

/// One key of the wallet file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRecord {
    /// Increasing number in order of generation or import.
    pub id: u64,
    /// The x-only public key, hex.
    pub pubkey: String,
    /// Its address (redundant, for people reading the file; checked on load).
    pub address: String,
    /// Why the key is here.
    pub purpose: Purpose,
    /// The user's label.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub label: String,
    /// The 32-byte secret, hex, in an unencrypted wallet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// The sealed secret, in an encrypted wallet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encrypted_secret: Option<Sealed>,
    /// The descriptor (its position in [`WalletFile::descriptors`]) the key comes from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub descriptor: Option<usize>,
    /// The key's index in that descriptor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u32>,
}

/// How the secrets of an encrypted wallet are protected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncryptionHeader {
    /// Always `argon2id`.
    pub kdf: String,
    /// Argon2id costs.
    pub kdf_params: KdfParams,
    /// The Argon2 salt, hex.
    pub salt: String,
    /// Always `xchacha20poly1305`.
    pub cipher: String,
    /// A known value sealed under the master key: opening it proves the passphrase.
    pub check: Sealed,
}

/// The wallet file, as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalletFile {
    /// Always [`FORMAT`].
    pub format: String,
    /// [`FORMAT_VERSION`].
    pub version: u32,
    /// The network the keys' addresses are for.
    pub network: Network,
    /// How many unused keys to keep ready.
    pub keypool_size: usize,
    /// The id the next key gets.
    pub next_key_id: u64,
    /// Keys with a smaller id are in the last backup (or existed when the wallet was
    /// created); a handed-out key at or above it is missing from the backup.
    pub backup_covers_below: u64,
    /// Present when the secrets are encrypted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<EncryptionHeader>,
    /// Every key, in id order.
    pub keys: Vec<KeyRecord>,
    /// The seed words (version 2), when the wallet has a seed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<hdkeys::SeedRecord>,
    /// The descriptors (version 2).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub descriptors: Vec<hdkeys::DescriptorRecord>,
    /// False for a watch-only wallet (Core's `disable_private_keys`).
    #[serde(default = "hdkeys::yes", skip_serializing_if = "hdkeys::is_true")]
    pub private_keys_enabled: bool,
    /// Created without keys (Core's `blank`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub blank: bool,
    /// Unix time of creation (or of the oldest imported descriptor), Core's `birthtime`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birthtime: Option<u64>,
}

impl WalletFile {
    /// Pretty JSON with a final newline.
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(self).expect("the wallet document serializes");
        out.push(b'\n');
        out
    }

    /// Parses a wallet file. The version is checked before the layout, so a file of a
    /// newer version is reported as such rather than as corrupt.
    pub fn from_json(bytes: &[u8]) -> Result<WalletFile, WalletError> {
        let corrupt = |reason: String| WalletError::Corrupt {
            path: Default::default(),
            reason,
        };
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| corrupt(format!("not JSON: {e}")))?;
        if value.get("format").and_then(|f| f.as_str()) != Some(FORMAT) {
            return Err(corrupt(format!(
                "not a {FORMAT} file (no \"format\": \"{FORMAT}\")"
            )));
        }
        let version = value.get("version").and_then(|v| v.as_u64());
        if version != Some(u64::from(FORMAT_VERSION)) && version != Some(u64::from(LEGACY_VERSION))
        {
            let found = version.and_then(|v| u32::try_from(v).ok()).unwrap_or(0);
            return Err(WalletError::UnsupportedVersion {
                found,
                supported: FORMAT_VERSION,
            });
        }
        serde_json::from_value(value).map_err(|e| corrupt(e.to_string()))
    }
}

/// One change made to the wallet since it was loaded (or last persisted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The wallet was created.
    Created,
    /// Keys were added to the keypool.
    KeysGenerated(usize),
    /// A pool key was handed out.
    KeyIssued {
        /// Its address.
        address: String,
        /// Receive or change.
        purpose: Purpose,
    },
    /// A key was imported or its label changed.
    KeyImported {
        /// Its address.
        address: String,
    },
    /// The secrets were encrypted.
    Encrypted,
    /// A backup was written.
    BackedUp,
    /// The secrets were sealed again under a new passphrase.
    PassphraseChanged,
    /// A version-1 wallet became a descriptor wallet.
    Migrated,
}

/// The changes staged for the persister. Empty means the file must not be written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[must_use]
pub struct ChangeSet {
    /// In the order they happened.
    pub changes: Vec<Change>,
}

impl ChangeSet {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }
}

/// The wallet's balances, from the node's view of its outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Balances {
    /// Confirmed, mature, not spent by a pending transaction.
    pub confirmed: Amount,
    /// Pending receipts (in the mempool), not spent by another pending transaction.
    pub unconfirmed: Amount,
    /// Coinbase rewards not yet mature.
    pub immature: Amount,
}

/// The node's default minimum relay fee rate: the wallet pays at least this.
pub const MIN_FEE_RATE: FeeRate = FeeRate::from_sat_per_vb(1);

/// A payment request for [`Wallet::prepare_send`].
#[derive(Debug, Clone)]
pub struct SendRequest {
    /// Destinations and amounts (each positive and not dust).
    pub payments: Vec<(Address, Amount)>,
    /// Fee rate, at least 1 unit per serialized byte.
    pub fee_rate: FeeRate,
    /// Take the fee out of the (single) payment instead of adding it.
    pub subtract_fee: bool,
    /// The highest fee the payment may pay (`-maxtxfee`); `None`: no cap.
    pub max_fee: Option<Amount>,
}

/// A signed transaction ready to broadcast.
#[derive(Debug, Clone)]
pub struct PreparedSend {
    /// The signed transaction.
    pub tx: Transaction,
    /// Its fee.
    pub fee: Amount,
    /// The change address, if there is change.
    pub change: Option<Address>,
}

/// The wallet: the document plus, while unlocked, the master key.
#[derive(Debug)]
pub struct Wallet {
    file: WalletFile,
    master: Option<MasterKey>,
    staged: ChangeSet,
}

/// Parses a DOT amount typed by the user, refusing zero and negatives.
pub fn parse_amount(s: &str) -> Result<Amount, WalletError> {
    let trimmed = s.trim();
    if trimmed.starts_with('-') {
        return Err(WalletError::NonPositiveAmount(s.to_owned()));
    }
    let amount =
        Amount::from_dot_str(trimmed).map_err(|e| WalletError::BadAmount(e.to_string()))?;
    if amount == Amount::ZERO {
        return Err(WalletError::NonPositiveAmount(s.to_owned()));
    }
    Ok(amount)
}

/// Parses a destination address of `network`.
pub fn parse_address(s: &str, network: Network) -> Result<Address, WalletError> {
    Address::parse_for(s.trim(), network).map_err(|source| WalletError::BadAddress {
        address: s.to_owned(),
        source,
    })
}

/// Sums the wallet's outputs into balances.
pub fn balances(utxos: &[AddressUtxo]) -> Balances {
    let mut b = Balances::default();
    for u in utxos.iter().filter(|u| !u.spent_in_mempool) {
        let bucket = if u.immature {
            &mut b.immature
        } else if u.confirmations == 0 {
            &mut b.unconfirmed
        } else {
            &mut b.confirmed
        };
        *bucket = bucket
            .checked_add(Amount::from_sat(u.satoshis))
            .unwrap_or(*bucket);
    }
    b
}

/// Whether the wallet may spend this output now: not already spent by a pending
/// transaction, and not an immature coinbase.
pub fn is_spendable(u: &AddressUtxo) -> bool {
    !u.spent_in_mempool && !u.immature
}

fn parse_pubkey(hex_str: &str) -> Option<PubKey> {
    hex_str.parse().ok()
}

impl Wallet {
    /// A new descriptor wallet for `network` with fresh 12-word seed words and
    /// `keypool_size` keys derived ahead on each chain.
    pub fn create(network: Network, keypool_size: usize) -> Wallet {
        Wallet::create_hd(network, keypool_size, hdkeys::DEFAULT_WORDS, "")
            .expect("12 words are a valid seed length")
    }

    /// A version-1 wallet: a full keypool of `keypool_size` random keys (what wallets were
    /// before descriptors; kept to test that such files open and migrate).
    pub fn create_legacy(network: Network, keypool_size: usize) -> Wallet {
        let file = WalletFile {
            format: FORMAT.into(),
            version: LEGACY_VERSION,
            network,
            keypool_size,
            next_key_id: 0,
            backup_covers_below: 0,
            encryption: None,
            keys: Vec::new(),
            seed: None,
            descriptors: Vec::new(),
            private_keys_enabled: true,
            blank: false,
            birthtime: None,
        };
        let mut wallet = Wallet {
            file,
            master: None,
            staged: ChangeSet::default(),
        };
        wallet.staged.changes.push(Change::Created);
        wallet
            .top_up_keypool()
            .expect("an unencrypted wallet can always generate keys");
        // The freshly created file holds the whole keypool: it counts as the first backup
        // point, so the reminder starts once keys generated after it are handed out.
        wallet.file.backup_covers_below = wallet.file.next_key_id;
        wallet
    }

    /// Checks a loaded document and wraps it. The wallet starts locked if encrypted.
    pub fn open(file: WalletFile, network: Network) -> Result<Wallet, WalletError> {
        let corrupt = |reason: String| WalletError::Corrupt {
            path: Default::default(),
            reason,
        };
        if file.network != network {
            return Err(WalletError::WalletNetwork {
                expected: network,
                found: file.network,
            });
        }
        if let Some(enc) = &file.encryption {
            if enc.kdf != "argon2id" || enc.cipher != "xchacha20poly1305" {
                return Err(corrupt(format!(
                    "unknown encryption {}/{}",
                    enc.kdf, enc.cipher
                )));
            }
            if hex::decode(&enc.salt).map(|s| s.len()) != Ok(SALT_LEN) {
                return Err(corrupt("bad encryption salt".into()));
            }
        }
        let mut seen = std::collections::HashSet::new();
        for k in &file.keys {
            let pubkey = parse_pubkey(&k.pubkey)
                .ok_or_else(|| corrupt(format!("key {}: bad pubkey", k.id)))?;
            if !seen.insert(pubkey) {
                return Err(corrupt(format!("key {}: duplicate pubkey", k.id)));
            }
            if k.id >= file.next_key_id {
                return Err(corrupt(format!("key {}: id not below next_key_id", k.id)));
            }
            if Address::new(network, pubkey).to_string() != k.address {
                return Err(corrupt(format!(
                    "key {}: address does not match pubkey",
                    k.id
                )));
            }
            match (&file.encryption, &k.secret, &k.encrypted_secret) {
                (None, Some(secret), None) => {
                    let kp = keypair_from_hex(secret)
                        .ok_or_else(|| corrupt(format!("key {}: bad secret", k.id)))?;
                    if pubkey_of(&kp) != pubkey {
                        return Err(corrupt(format!(
                            "key {}: secret does not match pubkey",
                            k.id
                        )));
                    }
                }
                (Some(_), None, Some(_)) => {}
                (_, None, None) if k.descriptor.is_some() => {}
                _ => {
                    return Err(corrupt(format!(
                        "key {}: secret does not match encryption",
                        k.id
                    )))
                }
            }
        }
        Wallet::check_descriptors(&file)?;
        Ok(Wallet {
            file,
            master: None,
            staged: ChangeSet::default(),
        })
    }

    /// The document, as the persister writes it.
    pub fn file(&self) -> &WalletFile {
        &self.file
    }

    /// The wallet's network.
    pub fn network(&self) -> Network {
        self.file.network
    }

    /// Whether the secrets are encrypted.
    pub fn is_encrypted(&self) -> bool {
        self.file.encryption.is_some()
    }

    /// Whether secrets can be used now (always, for an unencrypted wallet).
    pub fn is_unlocked(&self) -> bool {
        !self.is_encrypted() || self.master.is_some()
    }

    /// The changes staged since the last [`Wallet::take_staged`].
    pub fn staged(&self) -> &ChangeSet {
        &self.staged
    }

    /// Hands the staged changes to the persister.
    pub fn take_staged(&mut self) -> ChangeSet {
        std::mem::take(&mut self.staged)
    }

    /// Unused keys in the keypool.
    pub fn keypool_len(&self) -> usize {
        self.file
            .keys
            .iter()
            .filter(|k| k.purpose == Purpose::Pool)
            .count()
    }

    /// Keys handed out or imported (everything but the pool).
    pub fn issued(&self) -> impl Iterator<Item = &KeyRecord> {
        self.file.keys.iter().filter(|k| k.purpose != Purpose::Pool)
    }

    /// Every address whose outputs belong to the wallet, pool keys included: a backup
    /// restored after some of its pool keys were handed out must still see their coins.
    pub fn watched_addresses(&self) -> Vec<String> {
        self.file.keys.iter().map(|k| k.address.clone()).collect()
    }

    /// The key record of an address, if it is ours.
    pub fn record(&self, address: &str) -> Option<&KeyRecord> {
        self.file.keys.iter().find(|k| k.address == address)
    }

    /// Whether a handed-out key is missing from the last backup.
    pub fn backup_needed(&self) -> bool {
        self.issued().any(|k| k.id >= self.file.backup_covers_below)
    }

    /// Records that a backup of the current document is being written.
    pub fn mark_backed_up(&mut self) {
        self.file.backup_covers_below = self.file.next_key_id;
        self.staged.changes.push(Change::BackedUp);
    }

    /// Opens an encrypted wallet with `passphrase` and refills its keypool. A wrong
    /// passphrase changes nothing.
    pub fn unlock(&mut self, passphrase: &[u8]) -> Result<(), WalletError> {
        let Some(enc) = &self.file.encryption else {
            return Ok(());
        };
        let salt = hex::decode(&enc.salt).expect("salt checked by open");
        let key = crypto::derive_key(passphrase, &salt, enc.kdf_params)?;
        if crypto::open(&key, CHECK_AAD, &enc.check)
            .as_deref()
            .map(Vec::as_slice)
            != Some(CHECK_PLAINTEXT)
        {
            return Err(WalletError::WrongPassphrase);
        }
        self.master = Some(key);
        self.top_up_keypool()?;
        Ok(())
    }

    /// Generates keys until the keypool is full. A locked wallet cannot (new secrets must
    /// be sealed) and generates none. Returns how many were made.
    pub fn top_up_keypool(&mut self) -> Result<usize, WalletError> {
        if self.is_descriptor_wallet() {
            let made = self.top_up_descriptors();
            if made > 0 {
                self.staged.changes.push(Change::KeysGenerated(made));
            }
            return Ok(made);
        }
        if !self.is_unlocked() {
            return Ok(0);
        }
        let missing = self.file.keypool_size.saturating_sub(self.keypool_len());
        for _ in 0..missing {
            let keypair = generate_keypair();
            let secret = Zeroizing::new(keypair.secret_bytes());
            self.add_key(&secret, Purpose::Pool, String::new())?;
        }
        if missing > 0 {
            self.staged.changes.push(Change::KeysGenerated(missing));
        }
        Ok(missing)
    }

    fn add_key(
        &mut self,
        secret: &[u8; 32],
        purpose: Purpose,
        label: String,
    ) -> Result<Address, WalletError> {
        let keypair = keypair_from_secret(secret)
            .map_err(|_| WalletError::BadPrivateKey("not a valid secp256k1 secret key".into()))?;
        let pubkey = pubkey_of(&keypair);
        let address = Address::new(self.file.network, pubkey);
        let (plain, sealed) = match (&self.file.encryption, &self.master) {
            (None, _) => (Some(hex::encode(secret)), None),
            (Some(_), Some(master)) => (None, Some(crypto::seal(master, &pubkey.0, secret)?)),
            (Some(_), None) => return Err(WalletError::KeypoolEmptyLocked),
        };
        self.file.keys.push(KeyRecord {
            id: self.file.next_key_id,
            pubkey: pubkey.to_string(),
            address: address.to_string(),
            purpose,
            label,
            secret: plain,
            encrypted_secret: sealed,
            descriptor: None,
            index: None,
        });
        self.file.next_key_id += 1;
        Ok(address)
    }

    /// The key the next address will use, refilling the pool first if it can. Fails only
    /// when the pool is empty and the wallet is locked.
    pub fn next_pool_pubkey(&mut self) -> Result<PubKey, WalletError> {
        if self.is_descriptor_wallet() {
            return self.next_descriptor_pubkey(false);
        }
        self.top_up_keypool()?;
        self.file
            .keys
            .iter()
            .find(|k| k.purpose == Purpose::Pool)
            .and_then(|k| parse_pubkey(&k.pubkey))
            .ok_or(WalletError::KeypoolEmptyLocked)
    }

    /// The key the next change output will use: the active change descriptor's next
    /// key in a descriptor wallet, the next pool key in a version-1 one.
    pub fn next_change_pubkey(&mut self) -> Result<PubKey, WalletError> {
        if self.is_descriptor_wallet() {
            return self.next_descriptor_pubkey(true);
        }
        self.next_pool_pubkey()
    }

    /// Marks the pool key `pubkey` as handed out for `purpose`, and refills the pool.
    pub fn issue(
        &mut self,
        pubkey: PubKey,
        purpose: Purpose,
        label: &str,
    ) -> Result<Address, WalletError> {
        let hex_key = pubkey.to_string();
        let record = self
            .file
            .keys
            .iter_mut()
            .find(|k| k.pubkey == hex_key && k.purpose == Purpose::Pool)
            .ok_or_else(|| WalletError::Build(format!("key {hex_key} is not in the keypool")))?;
        record.purpose = purpose;
        record.label = label.to_owned();
        let address = record.address.clone();
        self.note_issued(&hex_key);
        self.staged.changes.push(Change::KeyIssued {
            address: address.clone(),
            purpose,
        });
        self.top_up_keypool()?;
        Ok(Address::new(self.file.network, pubkey))
    }

    /// `getnewaddress`: draws a key from the keypool.
    pub fn new_address(&mut self, label: &str) -> Result<Address, WalletError> {
        let pubkey = self.next_pool_pubkey()?;
        self.issue(pubkey, Purpose::Receive, label)
    }

    fn secret_of_record(&self, k: &KeyRecord) -> Result<Zeroizing<[u8; 32]>, WalletError> {
        self.secret_of_record_cached(k, &mut None)
    }

    /// [`Wallet::secret_of_record`], with the seed's master key cached in `master` across
    /// the keys of one signing.
    fn secret_of_record_cached(
        &self,
        k: &KeyRecord,
        master: &mut Option<bitcoin::bip32::Xpriv>,
    ) -> Result<Zeroizing<[u8; 32]>, WalletError> {
        if k.secret.is_none() && k.encrypted_secret.is_none() && k.descriptor.is_some() {
            return self.derived_secret(k, master);
        }
        let corrupt = |reason: String| WalletError::Corrupt {
            path: Default::default(),
            reason,
        };
        let bytes = match (&k.secret, &k.encrypted_secret, &self.master) {
            (Some(hex_secret), _, _) => Zeroizing::new(
                hex::decode(hex_secret)
                    .map_err(|_| corrupt(format!("key {}: bad secret", k.id)))?,
            ),
            (None, Some(sealed), Some(master)) => {
                let pubkey = parse_pubkey(&k.pubkey).expect("pubkeys checked by open");
                crypto::open(master, &pubkey.0, sealed).ok_or_else(|| {
                    corrupt(format!("key {}: sealed secret fails authentication", k.id))
                })?
            }
            (None, Some(_), None) => {
                return Err(WalletError::PassphraseNeeded {
                    purpose: "this command",
                })
            }
            (None, None, _) => return Err(corrupt(format!("key {}: no secret", k.id))),
        };
        let mut out = Zeroizing::new([0u8; 32]);
        if bytes.len() != 32 {
            return Err(corrupt(format!("key {}: secret is not 32 bytes", k.id)));
        }
        out.copy_from_slice(&bytes);
        Ok(out)
    }

    /// `dumpprivkey`: the secret of one of our addresses.
    pub fn dump_secret(&self, address: &str) -> Result<Zeroizing<[u8; 32]>, WalletError> {
        let record = self
            .record(address.trim())
            .ok_or_else(|| WalletError::UnknownAddress(address.to_owned()))?;
        if !self.is_unlocked() {
            return Err(WalletError::PassphraseNeeded {
                purpose: "dumpprivkey",
            });
        }
        self.secret_of_record(record)
    }

    /// `importprivkey`: adds a key given as WIF (dotcoin's version bytes, see
    /// [`crate::hd`]) or as 64 hex characters. Importing a key already in the wallet only
    /// updates its label (and takes it out of the keypool).
    pub fn import_secret(
        &mut self,
        secret_text: &str,
        label: &str,
    ) -> Result<Address, WalletError> {
        let secret = crate::hd::parse_secret(secret_text, self.file.network)?;
        let keypair = keypair_from_secret(&secret)
            .map_err(|_| WalletError::BadPrivateKey("not a valid secp256k1 secret key".into()))?;
        let address = Address::new(self.file.network, pubkey_of(&keypair)).to_string();
        if let Some(existing) = self.file.keys.iter_mut().find(|k| k.address == address) {
            if existing.purpose == Purpose::Pool {
                existing.purpose = Purpose::Imported;
            }
            if !label.is_empty() {
                existing.label = label.to_owned();
            }
            self.staged.changes.push(Change::KeyImported {
                address: address.clone(),
            });
            return Ok(Address::new(self.file.network, pubkey_of(&keypair)));
        }
        if !self.is_unlocked() {
            return Err(WalletError::PassphraseNeeded {
                purpose: "importprivkey",
            });
        }
        let added = self.add_key(&secret, Purpose::Imported, label.to_owned())?;
        self.staged.changes.push(Change::KeyImported { address });
        Ok(added)
    }

    /// `encrypt`: seals every secret under a key derived from `passphrase`. The unused
    /// keypool is replaced by fresh keys first: the old ones were written in plaintext.
    /// The wallet stays unlocked afterwards.
    pub fn encrypt(&mut self, passphrase: &[u8], params: KdfParams) -> Result<(), WalletError> {
        if self.is_encrypted() {
            return Err(WalletError::AlreadyEncrypted);
        }
        if passphrase.is_empty() {
            return Err(WalletError::EmptyPassphrase);
        }
        let salt: [u8; SALT_LEN] = rand::random();
        let master = crypto::derive_key(passphrase, &salt, params)?;
        let check = crypto::seal(&master, CHECK_AAD, CHECK_PLAINTEXT)?;

        // Work on a copy so a failure leaves the wallet as it was.
        let mut file = self.file.clone();
        // Derived pool keys hold no secret: they stay.
        file.keys
            .retain(|k| k.purpose != Purpose::Pool || k.descriptor.is_some());
        for k in &mut file.keys {
            if k.secret.is_none() {
                continue;
            }
            let pubkey = parse_pubkey(&k.pubkey).expect("pubkeys checked by open");
            let secret = self.secret_of_record(k)?;
            k.encrypted_secret = Some(crypto::seal(&master, &pubkey.0, secret.as_slice())?);
            k.secret = None;
        }
        file.encryption = Some(EncryptionHeader {
            kdf: "argon2id".into(),
            kdf_params: params,
            salt: hex::encode(salt),
            cipher: "xchacha20poly1305".into(),
            check,
        });
        Wallet::seal_hd(&mut file, None, &master)?;
        self.file = file;
        self.master = Some(master);
        self.staged.changes.push(Change::Encrypted);
        self.top_up_keypool()?;
        Ok(())
    }

    /// Forgets the master key (wiped from memory as it drops): the secrets of an
    /// encrypted wallet are sealed again until the next [`Wallet::unlock`].
    pub fn lock(&mut self) {
        self.master = None;
    }

    /// `walletpassphrasechange`: seals every secret under a key derived from `new`, after
    /// `old` proved to be the passphrase. A wrong `old` changes nothing. The wallet stays
    /// unlocked if it was.
    pub fn change_passphrase(
        &mut self,
        old: &[u8],
        new: &[u8],
        params: KdfParams,
    ) -> Result<(), WalletError> {
        let Some(enc) = &self.file.encryption else {
            return Err(WalletError::NotEncrypted);
        };
        if new.is_empty() {
            return Err(WalletError::EmptyPassphrase);
        }
        let salt = hex::decode(&enc.salt).expect("salt checked by open");
        let old_key = crypto::derive_key(old, &salt, enc.kdf_params)?;
        if crypto::open(&old_key, CHECK_AAD, &enc.check)
            .as_deref()
            .map(Vec::as_slice)
            != Some(CHECK_PLAINTEXT)
        {
            return Err(WalletError::WrongPassphrase);
        }
        let new_salt: [u8; SALT_LEN] = rand::random();
        let new_key = crypto::derive_key(new, &new_salt, params)?;
        let check = crypto::seal(&new_key, CHECK_AAD, CHECK_PLAINTEXT)?;
        // Work on a copy so a failure leaves the wallet as it was.
        let mut file = self.file.clone();
        for k in &mut file.keys {
            let Some(sealed) = &k.encrypted_secret else {
                continue;
            };
            let pubkey = parse_pubkey(&k.pubkey).expect("pubkeys checked by open");
            let secret =
                crypto::open(&old_key, &pubkey.0, sealed).ok_or_else(|| WalletError::Corrupt {
                    path: Default::default(),
                    reason: format!("key {}: sealed secret fails authentication", k.id),
                })?;
            k.encrypted_secret = Some(crypto::seal(&new_key, &pubkey.0, &secret)?);
        }
        file.encryption = Some(EncryptionHeader {
            kdf: "argon2id".into(),
            kdf_params: params,
            salt: hex::encode(new_salt),
            cipher: "xchacha20poly1305".into(),
            check,
        });
        Wallet::seal_hd(&mut file, Some(&old_key), &new_key)?;
        self.file = file;
        if self.master.is_some() {
            self.master = Some(new_key);
        }
        self.staged.changes.push(Change::PassphraseChanged);
        Ok(())
    }

    /// Signs every input of `tx` whose spent output (`spent`, one per input) pays one of
    /// our keys; returns how many were signed. Inputs paying other keys are left as
    /// they are.
    pub fn sign_inputs(&self, tx: &mut Transaction, spent: &[TxOut]) -> Result<usize, WalletError> {
        let ours: Vec<PubKey> = spent
            .iter()
            .map(|o| o.pubkey)
            .filter(|p| {
                self.record(&Address::new(self.file.network, *p).to_string())
                    .is_some()
            })
            .collect();
        if ours.is_empty() {
            return Ok(0);
        }
        let keys = self.keypairs(&ours)?;
        dotcoin_common::sighash::signing::sign_transaction(tx, spent, &keys)
            .map_err(|e| WalletError::Build(e.to_string()))
    }

    /// The key pairs of `pubkeys`, for signing.
    fn keypairs(&self, pubkeys: &[PubKey]) -> Result<Vec<Keypair>, WalletError> {
        if !self.is_unlocked() {
            return Err(WalletError::PassphraseNeeded { purpose: "signing" });
        }
        let by_key: HashMap<String, &KeyRecord> = self
            .file
            .keys
            .iter()
            .map(|k| (k.pubkey.clone(), k))
            .collect();
        let mut out = Vec::new();
        let mut master = None;
        for pubkey in pubkeys {
            let record = by_key
                .get(&pubkey.to_string())
                .ok_or_else(|| WalletError::Build(format!("no key for {pubkey}")))?;
            let secret = self.secret_of_record_cached(record, &mut master)?;
            out.push(
                keypair_from_secret(&secret)
                    .map_err(|_| WalletError::Build(format!("bad secret for {pubkey}")))?,
            );
        }
        Ok(out)
    }

    /// Builds and signs a transaction paying `request` from the outputs `utxos` (the
    /// node's `getaddressutxos` answer for our addresses), with change to a fresh key.
    ///
    /// Only outputs that are mature and not spent by a pending transaction are used;
    /// confirmed ones first, pending receipts only if the confirmed ones are not enough.
    pub fn prepare_send(
        &mut self,
        utxos: &[AddressUtxo],
        request: &SendRequest,
    ) -> Result<PreparedSend, WalletError> {
        let chosen = self.choose_coins(utxos, request)?;
        let keys = self.keypairs(&chosen.iter().map(|c| c.output.pubkey).collect::<Vec<_>>())?;
        let change_pubkey = self.next_change_pubkey()?;
        let payments = payments_of(request);
        let built = txbuild::build_and_sign(
            &chosen,
            &payments,
            change_pubkey,
            request.fee_rate,
            request.subtract_fee,
            &keys,
        )?;
        // Checked before the change key is issued: a refused payment takes no key.
        if let Some(max) = request.max_fee.filter(|max| built.fee > *max) {
            return Err(WalletError::FeeExceedsMax {
                fee: built.fee,
                max,
            });
        }
        let change = match built.change {
            Some(_) => Some(self.issue(change_pubkey, Purpose::Change, "")?),
            None => None,
        };
        Ok(PreparedSend {
            tx: built.tx,
            fee: built.fee,
            change,
        })
    }

    /// The coins a payment spends: checks the request, then selects among the wallet's
    /// spendable outputs of `utxos`, confirmed ones first.
    fn choose_coins(
        &self,
        utxos: &[AddressUtxo],
        request: &SendRequest,
    ) -> Result<Vec<Coin>, WalletError> {
        if request.fee_rate < MIN_FEE_RATE {
            return Err(WalletError::FeeRateTooLow(request.fee_rate));
        }
        for (address, amount) in &request.payments {
            if address.network != self.file.network {
                return Err(WalletError::BadAddress {
                    address: address.to_string(),
                    source: dotcoin_common::AddressError::WrongNetwork {
                        expected: self.file.network,
                        found: address.network,
                    },
                });
            }
            if *amount < DUST_THRESHOLD {
                return Err(WalletError::DustAmount {
                    amount: *amount,
                    dust: DUST_THRESHOLD,
                });
            }
        }
        let target =
            Amount::checked_sum(request.payments.iter().map(|(_, a)| *a)).ok_or_else(|| {
                WalletError::BadAmount("the amounts add up to more than 21000000 DOT".into())
            })?;

        let mut confirmed = Vec::new();
        let mut all = Vec::new();
        for u in utxos.iter().filter(|u| is_spendable(u)) {
            let Some(record) = self.record(&u.address) else {
                continue;
            };
            let pubkey = parse_pubkey(&record.pubkey).expect("pubkeys checked by open");
            let coin = Coin {
                outpoint: dotcoin_common::OutPoint {
                    txid: u.txid,
                    vout: u.output_index,
                },
                output: TxOut {
                    value: Amount::from_sat(u.satoshis),
                    pubkey,
                },
            };
            if u.confirmations > 0 {
                confirmed.push(coin.clone());
            }
            all.push(coin);
        }
        let balance = Amount::from_sat(all.iter().map(|c| c.output.value.to_sat()).sum());
        if target > balance {
            return Err(WalletError::InsufficientFunds {
                amount: target,
                balance,
            });
        }
        let selection_rate = if request.subtract_fee {
            FeeRate::ZERO
        } else {
            request.fee_rate
        };
        let n = request.payments.len();
        let chosen = coinselect::select_coins(&confirmed, target, n, selection_rate)
            .or_else(|_| coinselect::select_coins(&all, target, n, selection_rate))
            .map_err(|e| WalletError::InsufficientFundsForFee {
                amount: target,
                fee: e.needed.checked_sub(target).unwrap_or(Amount::ZERO),
                balance,
            })?;
        Ok(chosen)
    }

    /// Like [`Wallet::prepare_send`] but unsigned, for a PSBT: needs no private key (a
    /// locked wallet can fund). With `preset`, exactly those outpoints are spent (each
    /// must be the wallet's and unspent); otherwise coins are selected. Change goes to
    /// `change_to`, or to a key drawn from the keypool.
    pub fn prepare_unsigned(
        &mut self,
        utxos: &[AddressUtxo],
        request: &SendRequest,
        preset: Option<&[dotcoin_common::OutPoint]>,
        change_to: Option<PubKey>,
    ) -> Result<PreparedUnsigned, WalletError> {
        let chosen = match preset {
            None => self.choose_coins(utxos, request)?,
            Some(outpoints) => {
                let mut coins = Vec::with_capacity(outpoints.len());
                for op in outpoints {
                    let u = utxos
                        .iter()
                        .find(|u| u.txid == op.txid && u.output_index == op.vout)
                        .filter(|u| !u.spent_in_mempool)
                        .ok_or_else(|| {
                            WalletError::Build(format!(
                                "Insufficient funds: input {}:{} is not an unspent output of this wallet",
                                op.txid, op.vout
                            ))
                        })?;
                    let pubkey = self
                        .record(&u.address)
                        .and_then(|r| parse_pubkey(&r.pubkey))
                        .ok_or_else(|| {
                            WalletError::Build(format!(
                                "input {}:{} is not the wallet's",
                                op.txid, op.vout
                            ))
                        })?;
                    coins.push(Coin {
                        outpoint: *op,
                        output: TxOut {
                            value: Amount::from_sat(u.satoshis),
                            pubkey,
                        },
                    });
                }
                coins
            }
        };
        let change_pubkey = match change_to {
            Some(key) => key,
            None => self.next_change_pubkey()?,
        };
        let built = txbuild::build_unsigned(
            &chosen,
            &payments_of(request),
            change_pubkey,
            request.fee_rate,
            request.subtract_fee,
        )?;
        let change = match (built.change, change_to) {
            (None, _) => None,
            (Some(_), Some(key)) => Some(Address::new(self.file.network, key)),
            (Some(_), None) => Some(self.issue(change_pubkey, Purpose::Change, "")?),
        };
        Ok(PreparedUnsigned {
            tx: built.tx,
            fee: built.fee,
            change,
            spent: chosen.iter().map(|c| c.output).collect(),
        })
    }
}

/// An unsigned, funded transaction: what a PSBT is made of.
#[derive(Debug, Clone)]
pub struct PreparedUnsigned {
    /// The transaction, witnesses empty; payments in order, then change if any.
    pub tx: Transaction,
    /// Its fee once signed.
    pub fee: Amount,
    /// The change address, if there is change (the last output).
    pub change: Option<Address>,
    /// The outputs it spends, in input order.
    pub spent: Vec<TxOut>,
}

fn payments_of(request: &SendRequest) -> Vec<Payment> {
    request
        .payments
        .iter()
        .map(|(a, amount)| Payment {
            pubkey: a.pubkey,
            amount: *amount,
        })
        .collect()
}

fn keypair_from_hex(secret: &str) -> Option<Keypair> {
    let bytes = Zeroizing::new(hex::decode(secret).ok()?);
    let arr: [u8; 32] = bytes.as_slice().try_into().ok()?;
    let arr = Zeroizing::new(arr);
    keypair_from_secret(&arr).ok()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use bitcoin_hashes::Hash;
    use dotcoin_common::sighash::{signature_hash, verify_signature};
    use dotcoin_common::Txid;

    /// A wallet with a small keypool.
    pub(crate) fn wallet() -> Wallet {
        Wallet::create(Network::Regtest, 3)
    }

    /// An output of `sat` to `address`.
    pub(crate) fn utxo(address: &str, n: u8, sat: u64, confirmations: u32) -> AddressUtxo {
        AddressUtxo {
            address: address.to_owned(),
            txid: Txid::from_byte_array([n; 32]),
            output_index: 0,
            satoshis: sat,
            height: if confirmations > 0 { 1 } else { 0 },
            confirmations,
            coinbase: false,
            immature: false,
            spent_in_mempool: false,
        }
    }

    fn other_address(network: Network) -> Address {
        Address::new(network, pubkey_of(&generate_keypair()))
    }

    fn request(to: Address, amount: Amount) -> SendRequest {
        SendRequest {
            payments: vec![(to, amount)],
            fee_rate: FeeRate::from_sat_per_vb(2),
            subtract_fee: false,
            max_fee: None,
        }
    }

    #[test]
    fn create_fills_keypool_and_stages() {
        let mut w = Wallet::create_legacy(Network::Regtest, 3);
        assert_eq!(w.keypool_len(), 3);
        assert_eq!(w.issued().count(), 0);
        assert!(!w.backup_needed());
        let staged = w.take_staged();
        assert_eq!(
            staged.changes,
            vec![Change::Created, Change::KeysGenerated(3)]
        );
        assert!(w.take_staged().is_empty());
    }

    #[test]
    fn file_round_trip() {
        let mut w = wallet();
        w.new_address("savings").expect("address");
        let json = w.file().to_json();
        let parsed = WalletFile::from_json(&json).expect("parses");
        assert_eq!(&parsed, w.file());
        let reopened = Wallet::open(parsed, Network::Regtest).expect("opens");
        assert_eq!(reopened.issued().next().expect("one").label, "savings");
    }

    #[test]
    fn refuses_wrong_network_and_version() {
        let w = wallet();
        let err = Wallet::open(w.file().clone(), Network::Main).expect_err("other network");
        assert_eq!(
            err.to_string(),
            "wallet is for network regtest, not main (use --regtest for a regtest wallet)"
        );
        let mut file = w.file().clone();
        file.version = 3;
        let err = WalletFile::from_json(&file.to_json()).expect_err("newer");
        assert_eq!(
            err.to_string(),
            "wallet file version 3 is not supported (this program reads version 2)"
        );
        let err = WalletFile::from_json(b"{\"hello\": 1}").expect_err("not a wallet");
        assert!(
            err.to_string().contains("not a dotcoin-wallet file"),
            "{err}"
        );
    }

    #[test]
    fn detects_tampered_key_record() {
        let w = wallet();
        let mut file = w.file().clone();
        file.keys[0].address = file.keys[1].address.clone();
        let err = Wallet::open(file, Network::Regtest).expect_err("tampered");
        assert!(
            err.to_string().contains("address does not match pubkey"),
            "{err}"
        );
    }

    #[test]
    fn keypool_refills_and_backup_reminder() {
        let mut w = Wallet::create_legacy(Network::Regtest, 3);
        for i in 0..3 {
            w.new_address(&format!("a{i}")).expect("address");
            assert_eq!(w.keypool_len(), 3, "refilled as drawn");
            assert!(!w.backup_needed(), "keys from creation are covered");
        }
        w.new_address("d").expect("address");
        assert!(w.backup_needed(), "fourth key was generated after creation");
        w.mark_backed_up();
        assert!(!w.backup_needed());
    }

    #[test]
    fn encryption_round_trip() {
        let mut w = wallet();
        let addr = w.new_address("").expect("address").to_string();
        let secret = *w.dump_secret(&addr).expect("secret");
        w.encrypt(b"pw", KdfParams::INSECURE_FAST)
            .expect("encrypts");
        assert!(w.file().keys.iter().all(|k| k.secret.is_none()));
        let json = w.file().to_json();
        assert!(!String::from_utf8_lossy(&json).contains(&hex::encode(secret)));
        // Public data readable without the passphrase.
        let mut locked = Wallet::open(
            WalletFile::from_json(&json).expect("json"),
            Network::Regtest,
        )
        .expect("opens");
        assert!(locked.record(&addr).is_some());
        assert_eq!(
            locked.dump_secret(&addr).expect_err("locked").to_string(),
            "wallet is encrypted and dumpprivkey needs the passphrase: give --passphrase-file \
             FILE or run on a terminal to be prompted"
        );
        assert_eq!(
            locked.unlock(b"wrong").expect_err("wrong").to_string(),
            "incorrect passphrase; the wallet was not changed"
        );
        assert!(
            locked.staged().is_empty(),
            "a wrong passphrase stages nothing"
        );
        locked.unlock(b"pw").expect("unlocks");
        assert_eq!(*locked.dump_secret(&addr).expect("secret"), secret);
        assert_eq!(
            w.encrypt(b"again", KdfParams::INSECURE_FAST)
                .expect_err("twice")
                .to_string(),
            "wallet is already encrypted"
        );
        assert_eq!(
            wallet()
                .encrypt(b"", KdfParams::INSECURE_FAST)
                .expect_err("empty")
                .to_string(),
            "passphrase is empty"
        );
    }

    #[test]
    fn encryption_replaces_plaintext_pool_keys() {
        let mut w = Wallet::create_legacy(Network::Regtest, 3);
        let before: Vec<String> = w.file().keys.iter().map(|k| k.pubkey.clone()).collect();
        w.encrypt(b"pw", KdfParams::INSECURE_FAST)
            .expect("encrypts");
        assert_eq!(w.keypool_len(), 3);
        assert!(w.file().keys.iter().all(|k| !before.contains(&k.pubkey)));
    }

    #[test]
    fn locked_keypool_runs_dry() {
        let mut w = Wallet::create_legacy(Network::Regtest, 3);
        w.encrypt(b"pw", KdfParams::INSECURE_FAST)
            .expect("encrypts");
        let mut locked = Wallet::open(w.file().clone(), Network::Regtest).expect("opens locked");
        for _ in 0..3 {
            locked
                .new_address("")
                .expect("pool keys need no passphrase");
        }
        assert_eq!(
            locked.new_address("").expect_err("dry").to_string(),
            "keypool is empty and the wallet is encrypted: the passphrase is needed to \
             generate new keys (give --passphrase-file FILE or run on a terminal)"
        );
        locked.unlock(b"pw").expect("unlocks");
        assert_eq!(locked.keypool_len(), 3);
        locked.new_address("").expect("refilled");
    }

    #[test]
    fn import_and_dump() {
        let mut w = wallet();
        let kp = generate_keypair();
        let hex_secret = hex::encode(kp.secret_bytes());
        let addr = w.import_secret(&hex_secret, "old").expect("imports");
        assert_eq!(addr.pubkey, pubkey_of(&kp));
        assert_eq!(
            hex::encode(*w.dump_secret(&addr.to_string()).expect("dump")),
            hex_secret
        );
        assert_eq!(
            w.record(&addr.to_string()).expect("ours").purpose,
            Purpose::Imported
        );
        assert_eq!(
            w.import_secret("zz", "").expect_err("hex").to_string(),
            "invalid private key: expected a WIF key or 64 hex characters (a 32-byte secret)"
        );
        assert_eq!(
            w.import_secret("abcd", "").expect_err("short").to_string(),
            "invalid private key: expected a WIF key or 64 hex characters (a 32-byte secret)"
        );
        // The WIF form of a key is the same key.
        let kp2 = generate_keypair();
        let wif = crate::hd::to_wif(&kp2.secret_bytes(), Network::Regtest);
        let by_wif = w.import_secret(&wif, "").expect("imports WIF");
        assert_eq!(by_wif.pubkey, pubkey_of(&kp2));
        assert_eq!(
            w.import_secret(&"00".repeat(32), "")
                .expect_err("zero")
                .to_string(),
            "invalid private key: not a valid secp256k1 secret key"
        );
        let stranger = other_address(Network::Regtest).to_string();
        assert_eq!(
            w.dump_secret(&stranger).expect_err("not ours").to_string(),
            format!("address {stranger} does not belong to this wallet")
        );
    }

    #[test]
    fn balances_split() {
        let mut coinbase = utxo("a", 1, 50, 3);
        coinbase.coinbase = true;
        coinbase.immature = true;
        let mut spent = utxo("a", 2, 7, 5);
        spent.spent_in_mempool = true;
        let b = balances(&[coinbase, spent, utxo("a", 3, 10, 5), utxo("a", 4, 4, 0)]);
        assert_eq!(
            b,
            Balances {
                confirmed: Amount::from_sat(10),
                unconfirmed: Amount::from_sat(4),
                immature: Amount::from_sat(50)
            }
        );
    }

    #[test]
    fn a_fee_over_the_cap_is_refused_before_a_change_key_is_issued() {
        let mut w = wallet();
        let a = w.new_address("").expect("address").to_string();
        let utxos = vec![utxo(&a, 1, 50 * 100_000_000, 101)];
        let to = other_address(Network::Regtest);
        let issued = w.issued().count();
        let mut req = request(to, Amount::from_dot(1));
        // 2 per byte of a ~150-byte payment is ~300: a cap of 100 refuses it.
        req.max_fee = Some(Amount::from_sat(100));
        match w.prepare_send(&utxos, &req) {
            Err(WalletError::FeeExceedsMax { fee, max }) => {
                assert!(fee > max, "{fee} over {max}");
                assert_eq!(max, Amount::from_sat(100));
            }
            other => panic!("refused for its fee: {other:?}"),
        }
        assert_eq!(w.issued().count(), issued, "the refusal issued no key");
        req.max_fee = Some(Amount::from_dot(1));
        let sent = w
            .prepare_send(&utxos, &req)
            .expect("under the cap it sends");
        assert!(sent.change.is_some());
        assert_eq!(
            w.issued().count(),
            issued + 1,
            "the payment issued its change key"
        );
    }

    #[test]
    fn send_with_change_signs_and_pays_exact_fee() {
        let mut w = wallet();
        let a = w.new_address("").expect("address").to_string();
        let utxos = vec![
            utxo(&a, 1, 50 * 100_000_000, 101),
            utxo(&a, 2, 50 * 100_000_000, 101),
        ];
        let to = other_address(Network::Regtest);
        let sent = w
            .prepare_send(&utxos, &request(to, Amount::from_dot(90)))
            .expect("sends");
        let tx = &sent.tx;
        assert_eq!(tx.inputs.len(), 2);
        assert_eq!(tx.outputs.len(), 2);
        assert_eq!(
            tx.outputs[0],
            TxOut {
                value: Amount::from_dot(90),
                pubkey: to.pubkey
            }
        );
        // The fee is the fee rate times the real signed size.
        assert_eq!(sent.fee.to_sat(), 2 * tx.size() as u64);
        let change = sent.change.expect("change");
        assert_eq!(tx.outputs[1].pubkey, change.pubkey);
        assert_eq!(
            tx.outputs[1].value.to_sat(),
            10 * 100_000_000 - sent.fee.to_sat()
        );
        assert_eq!(
            w.record(&change.to_string()).expect("ours").purpose,
            Purpose::Change
        );
        // Every signature verifies.
        let spent: Vec<TxOut> = tx
            .inputs
            .iter()
            .map(|_| TxOut {
                value: Amount::from_dot(50),
                pubkey: to_pubkey(&a),
            })
            .collect();
        for i in 0..tx.inputs.len() {
            let h = signature_hash(tx, i, &spent).expect("sighash");
            verify_signature(&h, &tx.inputs[i].witness, &to_pubkey(&a)).expect("valid");
        }
    }

    fn to_pubkey(address: &str) -> PubKey {
        address.parse::<Address>().expect("address").pubkey
    }

    #[test]
    fn never_spends_mempool_spent_or_immature() {
        let mut w = wallet();
        let a = w.new_address("").expect("address").to_string();
        let mut spent = utxo(&a, 1, 100_000_000, 5);
        spent.spent_in_mempool = true;
        let mut young = utxo(&a, 2, 5_000_000_000, 5);
        young.coinbase = true;
        young.immature = true;
        let good = utxo(&a, 3, 20_000_000, 5);
        let to = other_address(Network::Regtest);
        let sent = w
            .prepare_send(
                &[spent, young, good.clone()],
                &request(to, Amount::from_sat(10_000_000)),
            )
            .expect("sends");
        assert_eq!(sent.tx.inputs.len(), 1);
        assert_eq!(sent.tx.inputs[0].prevout.txid, good.txid);
    }

    #[test]
    fn pending_outputs_only_when_confirmed_ones_fall_short() {
        let mut w = wallet();
        let a = w.new_address("").expect("address").to_string();
        let confirmed = utxo(&a, 1, 30_000_000, 2);
        let pending = utxo(&a, 2, 40_000_000, 0);
        let to = other_address(Network::Regtest);
        let utxos = [confirmed.clone(), pending.clone()];
        let sent = w
            .prepare_send(&utxos, &request(to, Amount::from_sat(20_000_000)))
            .expect("ok");
        assert_eq!(sent.tx.inputs.len(), 1);
        assert_eq!(
            sent.tx.inputs[0].prevout.txid, confirmed.txid,
            "confirmed coin preferred"
        );
        let sent = w
            .prepare_send(&utxos, &request(to, Amount::from_sat(60_000_000)))
            .expect("ok");
        assert_eq!(sent.tx.inputs.len(), 2, "pending coin added when needed");
    }

    #[test]
    fn dust_change_goes_to_fee() {
        let mut w = wallet();
        let a = w.new_address("").expect("address").to_string();
        let fee = 2 * coinselect::signed_tx_size(1, 1);
        let utxos = vec![utxo(&a, 1, 1_000_000 + fee + 500, 1)];
        let to = other_address(Network::Regtest);
        let keys_before = w.keypool_len();
        let sent = w
            .prepare_send(&utxos, &request(to, Amount::from_sat(1_000_000)))
            .expect("sends");
        assert_eq!(sent.tx.outputs.len(), 1, "no dust change");
        assert!(sent.change.is_none());
        assert_eq!(sent.fee.to_sat(), fee + 500);
        assert_eq!(w.keypool_len(), keys_before, "no change key drawn");
    }

    #[test]
    fn subtract_fee_sends_everything() {
        let mut w = wallet();
        let a = w.new_address("").expect("address").to_string();
        let utxos = vec![utxo(&a, 1, 30_000_000, 1), utxo(&a, 2, 20_000_000, 1)];
        let to = other_address(Network::Regtest);
        let mut req = request(to, Amount::from_sat(50_000_000));
        req.subtract_fee = true;
        let sent = w.prepare_send(&utxos, &req).expect("sends");
        assert_eq!(sent.tx.outputs.len(), 1);
        assert_eq!(sent.fee.to_sat(), 2 * sent.tx.size() as u64);
        assert_eq!(
            sent.tx.outputs[0].value.to_sat(),
            50_000_000 - sent.fee.to_sat()
        );
    }

    #[test]
    fn send_error_messages() {
        let mut w = wallet();
        let a = w.new_address("").expect("address").to_string();
        let utxos = vec![utxo(&a, 1, 100_000_000, 1)];
        let to = other_address(Network::Regtest);

        let err = w
            .prepare_send(&utxos, &request(to, Amount::from_dot(2)))
            .expect_err("more");
        assert_eq!(
            err.to_string(),
            "insufficient funds: sending 2.00000000 DOT, but the spendable balance is \
             1.00000000 DOT"
        );
        let err = w
            .prepare_send(&utxos, &request(to, Amount::ONE_DOT))
            .expect_err("fee");
        assert_eq!(
            err.to_string(),
            "insufficient funds: sending 1.00000000 DOT plus a fee of about 0.00000302 DOT \
             exceeds the spendable balance of 1.00000000 DOT (use --subtract-fee to pay the \
             fee from the amount)"
        );
        let err = w
            .prepare_send(&utxos, &request(to, Amount::from_sat(545)))
            .expect_err("dust");
        assert_eq!(
            err.to_string(),
            "amount 0.00000545 DOT is below the dust threshold of 0.00000546 DOT"
        );
        let mut req = request(to, Amount::from_sat(100_000));
        req.fee_rate = FeeRate::ZERO;
        assert_eq!(
            w.prepare_send(&utxos, &req).expect_err("rate").to_string(),
            "fee rate 0 sat/kvB is below the minimum relay fee rate of 1 unit per byte (1000 sat/kvB)"
        );
        let main = other_address(Network::Main);
        let err = w
            .prepare_send(&utxos, &request(main, Amount::ONE_DOT))
            .expect_err("network");
        assert_eq!(
            err.to_string(),
            format!("invalid address '{main}': address is for network main, expected regtest")
        );
        let mut req = request(to, Amount::from_sat(900));
        req.subtract_fee = true;
        assert_eq!(
            w.prepare_send(&utxos, &req)
                .expect_err("fee eats it")
                .to_string(),
            "amount 0.00000900 DOT is too small to pay the fee of 0.00000382 DOT and stay \
             above dust"
        );
        assert!(
            w.issued().all(|k| k.purpose != Purpose::Change),
            "no change key on failure"
        );
    }

    #[test]
    fn locked_wallet_cannot_sign() {
        let mut w = wallet();
        let a = w.new_address("").expect("address").to_string();
        w.encrypt(b"pw", KdfParams::INSECURE_FAST)
            .expect("encrypts");
        let mut locked = Wallet::open(w.file().clone(), Network::Regtest).expect("opens");
        let utxos = vec![utxo(&a, 1, 100_000_000, 1)];
        let to = other_address(Network::Regtest);
        assert_eq!(
            locked
                .prepare_send(
                    &utxos,
                    &request(to, Amount::from_dot_str("0.5").expect("amount"))
                )
                .expect_err("locked")
                .to_string(),
            "wallet is encrypted and signing needs the passphrase: give --passphrase-file FILE \
             or run on a terminal to be prompted"
        );
        locked.unlock(b"pw").expect("unlocks");
        locked
            .prepare_send(
                &utxos,
                &request(to, Amount::from_dot_str("0.5").expect("amount")),
            )
            .expect("signs once unlocked");
    }

    #[test]
    fn amount_and_address_parsing_errors() {
        assert_eq!(
            parse_amount("0").expect_err("zero").to_string(),
            "invalid amount '0': the amount must be greater than zero"
        );
        assert_eq!(
            parse_amount("-1").expect_err("negative").to_string(),
            "invalid amount '-1': the amount must be greater than zero"
        );
        assert_eq!(
            parse_amount("abc").expect_err("text").to_string(),
            "invalid amount 'abc': expected a decimal number of DOT"
        );
        assert_eq!(
            parse_amount("1.123456789")
                .expect_err("precise")
                .to_string(),
            "invalid amount '1.123456789': at most 8 decimal places"
        );
        assert_eq!(
            parse_amount("0.5").expect("ok"),
            Amount::from_sat(50_000_000)
        );
        let err = parse_address("dcrt1qnotanaddress", Network::Regtest).expect_err("bad");
        assert!(
            err.to_string()
                .starts_with("invalid address 'dcrt1qnotanaddress': "),
            "{err}"
        );
    }
}
