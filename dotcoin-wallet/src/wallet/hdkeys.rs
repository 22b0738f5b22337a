//! Descriptor wallets (file version 2): where a version-2 wallet's keys come from.
//!
//! The file holds the BIP39 seed words ([`SeedRecord`], sealed like every secret when the
//! wallet is encrypted) and a list of descriptors ([`DescriptorRecord`], Core's fields:
//! range, next_index, timestamp, active, internal, label). The two active descriptors of a
//! wallet with a seed are BIP86's `tr()` receive and change chains of that seed; they are
//! stored in public form only (`from_seed`), and their private keys are derived from the
//! words when a signature is needed. Imported descriptors with private keys keep their
//! private form, sealed when encrypted.
//!
//! Each derived key is also a [`KeyRecord`] naming its descriptor and index, so balances,
//! history and signing find keys as they did for random keys. The keypool of a version-2
//! wallet is the next keys of the active descriptors, derived ahead from their public form
//! (so a locked wallet still hands out addresses, and a restore sees coins sent to them).

use bitcoin::bip32::{DerivationPath, Fingerprint, Xpriv};
use zeroize::Zeroize;

use super::*;
use crate::descriptor::Descriptor;
use crate::hd::{Account, HdSigner, Seed};

pub(crate) fn yes() -> bool {
    true
}

pub(crate) fn is_true(b: &bool) -> bool {
    *b
}

/// Associated data of the sealed seed.
const SEED_AAD: &[u8] = b"dotcoin-wallet seed";
/// Words in a new wallet's seed.
pub const DEFAULT_WORDS: usize = 12;
/// Most keys a wallet file holds: `importdescriptors` ranges past it are refused, so a
/// caller cannot make the service derive (and the file hold) keys without bound.
pub const MAX_WALLET_KEYS: usize = 2_000_000;

/// The seed words of a descriptor wallet. `Debug` shows the fingerprint only.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeedRecord {
    /// The BIP32 master key's fingerprint, hex (public: it names the seed in PSBTs).
    pub fingerprint: String,
    /// The words, in an unencrypted wallet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub words: Option<String>,
    /// The BIP39 passphrase, in an unencrypted wallet, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passphrase: Option<String>,
    /// Words and passphrase (a line each), sealed, in an encrypted wallet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encrypted: Option<Sealed>,
}

impl std::fmt::Debug for SeedRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SeedRecord({})", self.fingerprint)
    }
}

impl Drop for SeedRecord {
    fn drop(&mut self) {
        self.words.zeroize();
        self.passphrase.zeroize();
    }
}

/// One descriptor of the wallet, with Core's `importdescriptors` fields.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DescriptorRecord {
    /// The public form, with its checksum.
    pub desc: String,
    /// The private form with its checksum, in an unencrypted wallet, for an imported
    /// descriptor that has private keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private: Option<String>,
    /// The private form, sealed, in an encrypted wallet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encrypted_private: Option<Sealed>,
    /// Its private keys are the wallet seed's (BIP86 account of the seed).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub from_seed: bool,
    /// The indices derived so far, inclusive (ranged descriptors; `None` before the first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<[u32; 2]>,
    /// The next index handed out.
    pub next_index: u32,
    /// Unix time from which its keys may have been used.
    pub timestamp: u64,
    /// New addresses (or change, if `internal`) come from it.
    pub active: bool,
    /// A change chain.
    pub internal: bool,
    /// The label of its addresses (unranged descriptors only).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub label: String,
}

impl std::fmt::Debug for DescriptorRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DescriptorRecord({})", self.desc)
    }
}

impl Drop for DescriptorRecord {
    fn drop(&mut self) {
        self.private.zeroize();
    }
}

/// One `importdescriptors` request, checked for shape by the caller.
#[derive(Debug, Clone)]
pub struct ImportRequest {
    /// The descriptor text.
    pub desc: Zeroizing<String>,
    /// Make it the active receive (or change) descriptor.
    pub active: bool,
    /// The range, inclusive, if given.
    pub range: Option<(u32, u32)>,
    /// The next index, if given.
    pub next_index: Option<u32>,
    /// Unix time, or `None` for "now".
    pub timestamp: Option<u64>,
    /// A change descriptor.
    pub internal: bool,
    /// The label, if given.
    pub label: Option<String>,
}

/// One `listdescriptors` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListedDescriptor {
    /// The descriptor, public or private, with its checksum.
    pub desc: String,
    /// Its timestamp.
    pub timestamp: u64,
    /// Whether it is active.
    pub active: bool,
    /// Whether it is a change descriptor (given for active ones, as Core).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub internal: Option<bool>,
    /// The derived range, inclusive (ranged descriptors).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub range: Option<[u32; 2]>,
    /// Core's deprecated alias of `next_index`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<u32>,
    /// The next index handed out (ranged descriptors).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_index: Option<u32>,
}

/// What the wallet knows about one of its addresses (`getaddressinfo`).
#[derive(Debug, Clone)]
pub struct AddressDetails {
    /// The descriptor of this one key, with origin, public, with checksum.
    pub desc: String,
    /// Whether the wallet can sign for it.
    pub solvable_with_keys: bool,
    /// Whether it comes from an internal (change) descriptor or was used as change.
    pub ischange: bool,
    /// The descriptor's timestamp.
    pub timestamp: Option<u64>,
    /// BIP32 path, `m/86h/1h/0h/0/5`.
    pub hdkeypath: Option<String>,
    /// Master key fingerprint, hex.
    pub hdmasterfingerprint: Option<String>,
}

fn corrupt(reason: String) -> WalletError {
    WalletError::Corrupt {
        path: Default::default(),
        reason,
    }
}

fn desc_aad(public: &str) -> Vec<u8> {
    let mut aad = b"dotcoin-wallet descriptor ".to_vec();
    aad.extend_from_slice(public.as_bytes());
    aad
}

fn path_text(path: &DerivationPath) -> String {
    let mut out = String::from("m");
    for step in path.into_iter() {
        match step {
            bitcoin::bip32::ChildNumber::Normal { index } => out.push_str(&format!("/{index}")),
            bitcoin::bip32::ChildNumber::Hardened { index } => out.push_str(&format!("/{index}h")),
        }
    }
    out
}

/// Unix time now.
fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Wallet {
    fn empty(network: Network, keypool_size: usize) -> Wallet {
        Wallet {
            file: WalletFile {
                format: FORMAT.into(),
                version: FORMAT_VERSION,
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
                birthtime: Some(now()),
            },
            master: None,
            staged: ChangeSet {
                changes: vec![Change::Created],
            },
        }
    }

    /// A new descriptor wallet whose active descriptors come from `seed`, with
    /// `keypool_size` keys derived ahead on each chain. `birthtime` is when its keys may
    /// first have been used (now for fresh words, 0 for a restore).
    pub fn from_seed(network: Network, keypool_size: usize, seed: &Seed, birthtime: u64) -> Wallet {
        let mut wallet = Wallet::empty(network, keypool_size);
        wallet.file.birthtime = Some(birthtime);
        wallet.set_seed(seed, birthtime);
        wallet
            .top_up_keypool()
            .expect("deriving public keys cannot fail");
        wallet.file.backup_covers_below = wallet.file.next_key_id;
        wallet
    }

    /// Puts `seed` in the (unencrypted or unlocked) wallet and makes its BIP86 chains
    /// the active descriptors (the old active ones stay, inactive).
    fn set_seed(&mut self, seed: &Seed, timestamp: u64) {
        let master = seed.master(self.file.network);
        let account = Account::bip86(&master, self.file.network);
        let words = seed.words();
        let mut record = SeedRecord {
            fingerprint: account.fingerprint.to_string(),
            words: None,
            passphrase: None,
            encrypted: None,
        };
        match &self.master {
            Some(key) => {
                let plain = Zeroizing::new(format!("{}\n{}", words.as_str(), seed.passphrase()));
                record.encrypted = Some(
                    crypto::seal(key, SEED_AAD, plain.as_bytes())
                        .expect("sealing in memory cannot fail"),
                );
            }
            None => {
                record.words = Some(words.to_string());
                record.passphrase = Some(seed.passphrase().to_owned()).filter(|p| !p.is_empty());
            }
        }
        self.file.seed = Some(record);
        for d in &mut self.file.descriptors {
            d.active = false;
        }
        for internal in [false, true] {
            self.file.descriptors.push(DescriptorRecord {
                desc: crate::descriptor::with_checksum(&account.descriptor(internal, false)),
                private: None,
                encrypted_private: None,
                from_seed: true,
                range: None,
                next_index: 0,
                timestamp,
                active: true,
                internal,
                label: String::new(),
            });
        }
    }

    /// A new descriptor wallet with fresh seed words (`words`: 12 or 24) and an optional
    /// BIP39 passphrase. The words are read back once with [`Wallet::mnemonic`].
    pub fn create_hd(
        network: Network,
        keypool_size: usize,
        words: usize,
        bip39_passphrase: &str,
    ) -> Result<Wallet, WalletError> {
        let seed = Seed::generate(words, bip39_passphrase)?;
        Ok(Wallet::from_seed(network, keypool_size, &seed, now()))
    }

    /// A descriptor wallet without keys: watch-only (`disable_private_keys`) or Core's
    /// `blank` wallet; descriptors come with `importdescriptors`.
    pub fn create_without_keys(network: Network, keypool_size: usize, watch_only: bool) -> Wallet {
        let mut wallet = Wallet::empty(network, keypool_size);
        wallet.file.private_keys_enabled = !watch_only;
        wallet.file.blank = true;
        wallet
    }

    /// Unused keys ready on the receive chain (`internal` false) or the change chain;
    /// a version-1 wallet has one pool for both.
    pub fn keypool_len_of(&self, internal: bool) -> usize {
        if !self.is_descriptor_wallet() {
            return self.keypool_len();
        }
        self.file
            .keys
            .iter()
            .filter(|k| k.purpose == Purpose::Pool)
            .filter(|k| {
                k.descriptor
                    .map(|i| &self.file.descriptors[i])
                    .is_some_and(|d| d.active && d.internal == internal)
            })
            .count()
    }

    /// Whether this is a descriptor wallet (version 2).
    pub fn is_descriptor_wallet(&self) -> bool {
        self.file.version >= FORMAT_VERSION
    }

    /// Whether private keys may be held (false for a watch-only wallet).
    pub fn private_keys_enabled(&self) -> bool {
        self.file.private_keys_enabled
    }

    /// The seed words and BIP39 passphrase, if the wallet has a seed (needs the wallet
    /// unlocked when encrypted).
    pub fn seed(&self) -> Result<Option<Seed>, WalletError> {
        let Some(record) = &self.file.seed else {
            return Ok(None);
        };
        let text: Zeroizing<String> = match (&record.words, &record.encrypted, &self.master) {
            (Some(words), _, _) => Zeroizing::new(format!(
                "{words}\n{}",
                record.passphrase.as_deref().unwrap_or("")
            )),
            (None, Some(sealed), Some(key)) => {
                let bytes = crypto::open(key, SEED_AAD, sealed)
                    .ok_or_else(|| corrupt("sealed seed fails authentication".into()))?;
                Zeroizing::new(
                    String::from_utf8(bytes.to_vec())
                        .map_err(|_| corrupt("sealed seed is not text".into()))?,
                )
            }
            (None, Some(_), None) => {
                return Err(WalletError::PassphraseNeeded {
                    purpose: "the seed",
                })
            }
            (None, None, _) => return Err(corrupt("seed without words".into())),
        };
        let (words, passphrase) = text.split_once('\n').unwrap_or((text.as_str(), ""));
        Seed::parse(words, passphrase).map(Some)
    }

    /// The words of the seed, separated by spaces.
    pub fn mnemonic(&self) -> Result<Option<Zeroizing<String>>, WalletError> {
        Ok(self.seed()?.map(|s| s.words()))
    }

    fn parsed(&self, i: usize) -> Descriptor {
        Descriptor::parse(&self.file.descriptors[i].desc, self.file.network)
            .expect("descriptors checked by open")
    }

    /// The private form of descriptor `i`, if the wallet holds its keys; `master` caches
    /// the seed's master key across calls.
    fn private_descriptor(
        &self,
        i: usize,
        master: &mut Option<Xpriv>,
    ) -> Result<Option<Descriptor>, WalletError> {
        let d = &self.file.descriptors[i];
        if d.from_seed {
            if master.is_none() {
                *master = self.seed()?.map(|s| s.master(self.file.network));
            }
            let Some(m) = master.as_ref() else {
                return Ok(None);
            };
            let account = Account::bip86(m, self.file.network);
            let text = Zeroizing::new(account.descriptor(d.internal, true));
            return Descriptor::parse(&text, self.file.network).map(Some);
        }
        let text = match (&d.private, &d.encrypted_private, &self.master) {
            (Some(p), _, _) => Zeroizing::new(p.clone()),
            (None, Some(sealed), Some(key)) => {
                let bytes = crypto::open(key, &desc_aad(&d.desc), sealed).ok_or_else(|| {
                    corrupt(format!("descriptor {i}: sealed form fails authentication"))
                })?;
                Zeroizing::new(
                    String::from_utf8(bytes.to_vec())
                        .map_err(|_| corrupt(format!("descriptor {i}: not text")))?,
                )
            }
            (None, Some(_), None) => {
                return Err(WalletError::PassphraseNeeded { purpose: "signing" })
            }
            (None, None, _) => return Ok(None),
        };
        Descriptor::parse(&text, self.file.network).map(Some)
    }

    /// The signing secret of a key record that comes from a descriptor (the tweaked key
    /// for `tr()`).
    pub(super) fn derived_secret(
        &self,
        k: &KeyRecord,
        master: &mut Option<Xpriv>,
    ) -> Result<Zeroizing<[u8; 32]>, WalletError> {
        let (Some(i), Some(index)) = (k.descriptor, k.index) else {
            return Err(corrupt(format!("key {}: no secret", k.id)));
        };
        let desc = self.private_descriptor(i, master)?.ok_or_else(|| {
            if self.file.private_keys_enabled {
                WalletError::Build(format!("no private key for {}", k.address))
            } else {
                WalletError::PrivateKeysDisabled("sign")
            }
        })?;
        let kp = desc
            .signing_key(index)?
            .ok_or_else(|| WalletError::Build(format!("no private key for {}", k.address)))?;
        Ok(Zeroizing::new(kp.secret_bytes()))
    }

    /// Checks the version-2 parts of a document: descriptors parse, derived key records
    /// match their descriptor, secrets match the encryption.
    pub(super) fn check_descriptors(file: &WalletFile) -> Result<(), WalletError> {
        let network = file.network;
        let encrypted = file.encryption.is_some();
        if file.version < FORMAT_VERSION && (file.seed.is_some() || !file.descriptors.is_empty()) {
            return Err(corrupt(
                "a version 1 file has no seed or descriptors".into(),
            ));
        }
        if let Some(seed) = &file.seed {
            let ok = match (&seed.words, &seed.encrypted) {
                (Some(_), None) => !encrypted,
                (None, Some(_)) => encrypted && seed.passphrase.is_none(),
                _ => false,
            };
            if !ok {
                return Err(corrupt("seed does not match encryption".into()));
            }
        }
        let mut parsed = Vec::with_capacity(file.descriptors.len());
        for (i, d) in file.descriptors.iter().enumerate() {
            let desc = Descriptor::parse(&d.desc, network)
                .map_err(|e| corrupt(format!("descriptor {i}: {e}")))?;
            if desc.has_private_keys() {
                return Err(corrupt(format!(
                    "descriptor {i}: public form has private keys"
                )));
            }
            if d.from_seed && file.seed.is_none() {
                return Err(corrupt(format!(
                    "descriptor {i}: from a seed the file lacks"
                )));
            }
            match (&d.private, &d.encrypted_private) {
                (Some(_), None) if encrypted => {
                    return Err(corrupt(format!("descriptor {i}: plain private form")))
                }
                (None, Some(_)) if !encrypted => {
                    return Err(corrupt(format!("descriptor {i}: sealed in a plain file")))
                }
                (Some(_), Some(_)) => {
                    return Err(corrupt(format!("descriptor {i}: two private forms")))
                }
                _ => {}
            }
            if let Some(p) = &d.private {
                let private = Descriptor::parse(p, network)
                    .map_err(|e| corrupt(format!("descriptor {i}: {e}")))?;
                if private.to_public_string() != desc.to_public_string() {
                    return Err(corrupt(format!("descriptor {i}: private form differs")));
                }
            }
            if d.range.is_some_and(|[a, b]| a > b) || (!desc.is_range() && d.range.is_some()) {
                return Err(corrupt(format!("descriptor {i}: bad range")));
            }
            parsed.push(desc);
        }
        for k in &file.keys {
            match (k.descriptor, k.index) {
                (None, None) => {}
                (Some(i), Some(index)) => {
                    let desc = parsed
                        .get(i)
                        .ok_or_else(|| corrupt(format!("key {}: unknown descriptor", k.id)))?;
                    let derived = desc
                        .derive(index)
                        .map_err(|e| corrupt(format!("key {}: {e}", k.id)))?;
                    if derived.output.to_string() != k.pubkey {
                        return Err(corrupt(format!(
                            "key {}: not the key of its descriptor",
                            k.id
                        )));
                    }
                }
                _ => return Err(corrupt(format!("key {}: descriptor without index", k.id))),
            }
        }
        Ok(())
    }

    /// Derives keys of the active descriptors until each has `keypool_size` unused ones.
    pub(super) fn top_up_descriptors(&mut self) -> usize {
        let mut made = 0;
        for i in 0..self.file.descriptors.len() {
            if !self.file.descriptors[i].active {
                continue;
            }
            let pool = self
                .file
                .keys
                .iter()
                .filter(|k| k.descriptor == Some(i) && k.purpose == Purpose::Pool)
                .count();
            let missing = self.file.keypool_size.max(1).saturating_sub(pool);
            if missing == 0 {
                continue;
            }
            let desc = self.parsed(i);
            for _ in 0..missing {
                let next = match self.file.descriptors[i].range {
                    None => 0,
                    Some([_, end]) => end + 1,
                };
                if next >= 0x8000_0000 {
                    break;
                }
                self.add_derived(i, &desc, next, Purpose::Pool, String::new());
                made += 1;
            }
        }
        made
    }

    /// Adds the key at `index` of descriptor `i` (already parsed as `desc`).
    fn add_derived(
        &mut self,
        i: usize,
        desc: &Descriptor,
        index: u32,
        purpose: Purpose,
        label: String,
    ) {
        let key = desc.derive(index).expect("indices below 2^31 derive");
        let d = &mut self.file.descriptors[i];
        d.range = Some(match d.range {
            None => [index, index],
            Some([a, b]) => [a.min(index), b.max(index)],
        });
        self.file.keys.push(KeyRecord {
            id: self.file.next_key_id,
            pubkey: key.output.to_string(),
            address: Address::new(self.file.network, key.output).to_string(),
            purpose,
            label,
            secret: None,
            encrypted_secret: None,
            descriptor: Some(i),
            index: Some(index),
        });
        self.file.next_key_id += 1;
    }

    /// The next unused key of the active receive (`internal` false) or change descriptor.
    pub(super) fn next_descriptor_pubkey(&mut self, internal: bool) -> Result<PubKey, WalletError> {
        self.top_up_keypool()?;
        let active: Vec<usize> = self
            .file
            .descriptors
            .iter()
            .enumerate()
            .filter(|(_, d)| d.active && d.internal == internal)
            .map(|(i, _)| i)
            .collect();
        self.file
            .keys
            .iter()
            .filter(|k| {
                k.purpose == Purpose::Pool && k.descriptor.is_some_and(|i| active.contains(&i))
            })
            .min_by_key(|k| k.index)
            .and_then(|k| parse_pubkey(&k.pubkey))
            .ok_or(WalletError::NoAvailableKeys)
    }

    /// After `issue`: the descriptor of the issued key hands out the next index next.
    pub(super) fn note_issued(&mut self, pubkey_hex: &str) {
        let Some((Some(i), Some(index))) = self
            .file
            .keys
            .iter()
            .find(|k| k.pubkey == pubkey_hex)
            .map(|k| (k.descriptor, k.index))
        else {
            return;
        };
        let d = &mut self.file.descriptors[i];
        d.next_index = d.next_index.max(index + 1);
    }

    /// A restore's scan result: the keys of the active `internal` (or receive) chain below
    /// `used_end` were used, so they are handed out, and the pool follows them.
    pub fn mark_used(&mut self, internal: bool, used_end: u32) -> Result<(), WalletError> {
        let Some(i) = self
            .file
            .descriptors
            .iter()
            .position(|d| d.active && d.internal == internal)
        else {
            return Err(WalletError::NoAvailableKeys);
        };
        let desc = self.parsed(i);
        let have = self.file.descriptors[i].range.map_or(0, |[_, b]| b + 1);
        for index in have..used_end {
            self.add_derived(i, &desc, index, Purpose::Pool, String::new());
        }
        let purpose = if internal {
            Purpose::Change
        } else {
            Purpose::Receive
        };
        for k in &mut self.file.keys {
            if k.descriptor == Some(i) && k.index.is_some_and(|x| x < used_end) {
                k.purpose = purpose;
            }
        }
        let d = &mut self.file.descriptors[i];
        d.next_index = d.next_index.max(used_end);
        self.staged
            .changes
            .push(Change::KeysGenerated(used_end as usize));
        self.top_up_keypool()?;
        Ok(())
    }

    /// The public descriptor of the active receive or change chain.
    pub fn active_descriptor(&self, internal: bool) -> Option<Descriptor> {
        self.file
            .descriptors
            .iter()
            .position(|d| d.active && d.internal == internal)
            .map(|i| self.parsed(i))
    }

    /// Seals the seed and the private descriptors under `key` (a plain wallet being
    /// encrypted, or, with `old`, sealed ones being moved to a new passphrase).
    pub(super) fn seal_hd(
        file: &mut WalletFile,
        old: Option<&MasterKey>,
        key: &MasterKey,
    ) -> Result<(), WalletError> {
        if let Some(seed) = &mut file.seed {
            let plain: Zeroizing<Vec<u8>> = match (&seed.words, &seed.encrypted, old) {
                (Some(words), _, _) => Zeroizing::new(
                    format!("{words}\n{}", seed.passphrase.as_deref().unwrap_or("")).into_bytes(),
                ),
                (None, Some(sealed), Some(old)) => crypto::open(old, SEED_AAD, sealed)
                    .ok_or_else(|| corrupt("sealed seed fails authentication".into()))?,
                _ => return Err(corrupt("seed without words".into())),
            };
            seed.encrypted = Some(crypto::seal(key, SEED_AAD, &plain)?);
            seed.words.zeroize();
            seed.words = None;
            seed.passphrase.zeroize();
            seed.passphrase = None;
        }
        for (i, d) in file.descriptors.iter_mut().enumerate() {
            let aad = desc_aad(&d.desc);
            let plain: Zeroizing<Vec<u8>> = match (&d.private, &d.encrypted_private, old) {
                (Some(p), _, _) => Zeroizing::new(p.clone().into_bytes()),
                (None, Some(sealed), Some(old)) => {
                    crypto::open(old, &aad, sealed).ok_or_else(|| {
                        corrupt(format!("descriptor {i}: sealed form fails authentication"))
                    })?
                }
                _ => continue,
            };
            d.encrypted_private = Some(crypto::seal(key, &aad, &plain)?);
            d.private.zeroize();
            d.private = None;
        }
        Ok(())
    }

    /// `importdescriptors`, one request: adds the descriptor (or updates one already
    /// there), derives its range, and returns Core's warnings. Errors carry Core's texts.
    pub fn import_descriptor(&mut self, req: &ImportRequest) -> Result<Vec<String>, ImportError> {
        use ImportError as E;
        let network = self.file.network;
        let desc =
            Descriptor::parse(&req.desc, network).map_err(|e| E::InvalidKey(e.to_string()))?;
        let mut warnings = Vec::new();
        let (start, end, mut next_index) = if desc.is_range() {
            let (a, b) = match req.range {
                Some(r) => r,
                None => {
                    warnings.push("Range not given, using default keypool range".to_owned());
                    (0, self.file.keypool_size.max(1) as u32 - 1)
                }
            };
            if b < a {
                return Err(E::InvalidParameter(
                    "Range specified as [begin,end] must not have begin after end".into(),
                ));
            }
            if b >= 0x8000_0000 || b - a >= crate::descriptor::MAX_RANGE {
                return Err(E::InvalidParameter("Range is too large".into()));
            }
            let adding = (b - a) as usize + 1;
            if self.file.keys.len().saturating_add(adding) > MAX_WALLET_KEYS {
                return Err(E::InvalidParameter(format!(
                    "Range is too large: the wallet would hold more than {MAX_WALLET_KEYS} keys"
                )));
            }
            let next = req.next_index.unwrap_or(a);
            if req.next_index.is_some() && (next < a || next > b) {
                return Err(E::InvalidParameter("next_index is out of range".into()));
            }
            (a, b, next)
        } else {
            if req.range.is_some() {
                return Err(E::InvalidParameter(
                    "Range should not be specified for an un-ranged descriptor".into(),
                ));
            }
            (0, 0, 0)
        };
        if req.active && !desc.is_range() {
            return Err(E::InvalidParameter(
                "Active descriptors must be ranged".into(),
            ));
        }
        if req.range.is_some() && req.label.is_some() {
            return Err(E::InvalidParameter(
                "Ranged descriptors should not have a label".into(),
            ));
        }
        if req.internal && req.label.is_some() {
            return Err(E::InvalidParameter(
                "Internal addresses should not have a label".into(),
            ));
        }
        let has_private = desc.has_private_keys();
        if !self.file.private_keys_enabled && has_private {
            return Err(E::Wallet(
                "Cannot import private keys to a wallet with private keys disabled".into(),
            ));
        }
        if self.file.private_keys_enabled && !has_private {
            return Err(E::Wallet(
                "Cannot import descriptor without private keys to a wallet with private keys \
                 enabled"
                    .into(),
            ));
        }
        if has_private && !self.is_unlocked() {
            return Err(E::Unlock);
        }
        let public = desc.public();
        let public_text = public.to_public_string();
        let timestamp = req.timestamp.unwrap_or_else(now);
        let i = match self
            .file
            .descriptors
            .iter()
            .position(|d| d.desc == public_text)
        {
            Some(i) => {
                let d = &mut self.file.descriptors[i];
                d.timestamp = d.timestamp.min(timestamp);
                next_index = next_index.max(d.next_index);
                i
            }
            None => {
                let (private, encrypted_private) = match desc.to_private_string() {
                    None => (None, None),
                    Some(p) => match &self.master {
                        Some(key) => (
                            None,
                            Some(
                                crypto::seal(key, &desc_aad(&public_text), p.as_bytes())
                                    .map_err(|e| E::Wallet(e.to_string()))?,
                            ),
                        ),
                        None => (Some(p.to_string()), None),
                    },
                };
                self.file.descriptors.push(DescriptorRecord {
                    desc: public_text.clone(),
                    private,
                    encrypted_private,
                    from_seed: false,
                    range: None,
                    next_index: 0,
                    timestamp,
                    active: false,
                    internal: req.internal,
                    label: req.label.clone().unwrap_or_default(),
                });
                self.file.descriptors.len() - 1
            }
        };
        if req.active {
            for (j, d) in self.file.descriptors.iter_mut().enumerate() {
                if j != i && d.active && d.internal == req.internal {
                    d.active = false;
                }
            }
        }
        {
            let d = &mut self.file.descriptors[i];
            d.active = req.active;
            d.internal = req.internal;
            d.next_index = next_index;
            if let Some(l) = &req.label {
                d.label = l.clone();
            }
        }
        let have: std::collections::HashSet<u32> = self
            .file
            .keys
            .iter()
            .filter(|k| k.descriptor == Some(i))
            .filter_map(|k| k.index)
            .collect();
        let label = req.label.clone().unwrap_or_default();
        for index in start..=end {
            if have.contains(&index) {
                continue;
            }
            let address = Address::new(
                network,
                public
                    .derive(index)
                    .map_err(|e| E::InvalidKey(e.to_string()))?
                    .output,
            )
            .to_string();
            if self.file.keys.iter().any(|k| k.address == address) {
                // The same key from another descriptor (or an imported key): keep one record.
                continue;
            }
            let purpose = if req.active && index >= next_index {
                Purpose::Pool
            } else if req.active && req.internal {
                Purpose::Change
            } else if req.active {
                Purpose::Receive
            } else {
                Purpose::Imported
            };
            self.add_derived(i, &public, index, purpose, label.clone());
        }
        let oldest = self.file.birthtime.map_or(timestamp, |b| b.min(timestamp));
        self.file.birthtime = Some(oldest);
        self.staged.changes.push(Change::KeyImported {
            address: public_text,
        });
        if req.active {
            self.top_up_keypool()
                .map_err(|e| E::Wallet(e.to_string()))?;
        }
        Ok(warnings)
    }

    /// `listdescriptors`: every descriptor, private forms with `private` (the caller
    /// checks the wallet is unlocked).
    pub fn list_descriptors(&self, private: bool) -> Result<Vec<ListedDescriptor>, WalletError> {
        let mut master = None;
        let mut out = Vec::with_capacity(self.file.descriptors.len());
        for (i, d) in self.file.descriptors.iter().enumerate() {
            let desc = if private {
                let p = self
                    .private_descriptor(i, &mut master)?
                    .and_then(|p| p.to_private_string())
                    .ok_or_else(|| WalletError::Build("Can't get descriptor string.".into()))?;
                p.to_string()
            } else {
                d.desc.clone()
            };
            let ranged = self.parsed(i).is_range();
            out.push(ListedDescriptor {
                desc,
                timestamp: d.timestamp,
                active: d.active,
                internal: d.active.then_some(d.internal),
                range: if ranged {
                    Some(d.range.unwrap_or([0, 0]))
                } else {
                    None
                },
                next: ranged.then_some(d.next_index),
                next_index: ranged.then_some(d.next_index),
            });
        }
        Ok(out)
    }

    /// What the wallet knows of `address`, if it is one of its keys'.
    pub fn address_details(&self, address: &str) -> Option<AddressDetails> {
        let k = self.record(address)?;
        let (Some(i), Some(index)) = (k.descriptor, k.index) else {
            // A random key (version 1): Core's rawtr() of the key.
            let desc = crate::descriptor::with_checksum(&format!("rawtr({})", k.pubkey));
            return Some(AddressDetails {
                desc,
                solvable_with_keys: k.secret.is_some() || k.encrypted_secret.is_some(),
                ischange: k.purpose == Purpose::Change,
                timestamp: None,
                hdkeypath: None,
                hdmasterfingerprint: None,
            });
        };
        let d = &self.file.descriptors[i];
        let desc = self.parsed(i);
        let derived = desc.derive(index).ok()?;
        let origin = desc.key_origin(index);
        let kind = match desc.kind() {
            crate::descriptor::Kind::Tr => "tr",
            crate::descriptor::Kind::RawTr => "rawtr",
        };
        let key_text = match &origin {
            Some((fp, path)) => {
                let p = path_text(path);
                format!("[{fp}{}]{}", &p[1..], derived.internal)
            }
            None => derived.internal.to_string(),
        };
        Some(AddressDetails {
            desc: crate::descriptor::with_checksum(&format!("{kind}({key_text})")),
            solvable_with_keys: d.from_seed
                || d.private.is_some()
                || d.encrypted_private.is_some()
                || k.secret.is_some()
                || k.encrypted_secret.is_some(),
            ischange: d.internal || k.purpose == Purpose::Change,
            timestamp: Some(d.timestamp),
            hdkeypath: origin.as_ref().map(|(_, p)| path_text(p)),
            hdmasterfingerprint: origin.as_ref().map(|(fp, _)| fp.to_string()),
        })
    }

    /// The BIP32 origin and internal key of one of the wallet's keys (for a PSBT's
    /// `tap_bip32_derivation`), if it comes from an extended key.
    pub fn key_origin_of(&self, pubkey: &PubKey) -> Option<(PubKey, Fingerprint, DerivationPath)> {
        let hex_key = pubkey.to_string();
        let k = self.file.keys.iter().find(|k| k.pubkey == hex_key)?;
        let (i, index) = (k.descriptor?, k.index?);
        let desc = self.parsed(i);
        let derived = desc.derive(index).ok()?;
        let (fp, path) = desc.key_origin(index)?;
        Some((PubKey(derived.internal.serialize()), fp, path))
    }

    /// A signer for keys named by BIP32 origin: the seed's master and the imported xprvs.
    pub fn hd_signer(&self) -> Result<HdSigner, WalletError> {
        let mut signer = HdSigner::default();
        if let Some(seed) = self.seed()? {
            signer = HdSigner::from_master(seed.master(self.file.network));
        }
        Ok(signer)
    }

    /// `migratewallet`: a version-1 wallet becomes a descriptor wallet. Each random key
    /// becomes a `rawtr(WIF)` descriptor (the key as is: what its outputs lock to), and
    /// new addresses come from fresh seed words. Needs the wallet unlocked if encrypted.
    pub fn migrate(&mut self) -> Result<(), WalletError> {
        if self.is_descriptor_wallet() {
            return Err(WalletError::Build(
                "This wallet is already a descriptor wallet".into(),
            ));
        }
        if !self.is_unlocked() {
            return Err(WalletError::PassphraseNeeded {
                purpose: "migratewallet",
            });
        }
        let network = self.file.network;
        let mut file = self.file.clone();
        file.version = FORMAT_VERSION;
        let mut descriptors = Vec::with_capacity(file.keys.len());
        for k in &mut file.keys {
            let secret = self.secret_of_record(k)?;
            let public = crate::descriptor::with_checksum(&format!("rawtr({})", k.pubkey));
            let private = Zeroizing::new(crate::descriptor::with_checksum(&format!(
                "rawtr({})",
                crate::hd::to_wif(&secret, network).as_str()
            )));
            let (plain, sealed) = match &self.master {
                Some(key) => (
                    None,
                    Some(crypto::seal(key, &desc_aad(&public), private.as_bytes())?),
                ),
                None => (Some(private.to_string()), None),
            };
            if k.purpose == Purpose::Pool {
                k.purpose = Purpose::Imported;
            }
            k.descriptor = Some(descriptors.len());
            k.index = Some(0);
            descriptors.push(DescriptorRecord {
                desc: public,
                private: plain,
                encrypted_private: sealed,
                from_seed: false,
                range: None,
                next_index: 0,
                timestamp: 0,
                active: false,
                internal: k.purpose == Purpose::Change,
                label: k.label.clone(),
            });
        }
        file.descriptors = descriptors;
        file.birthtime = Some(0);
        let old = std::mem::replace(&mut self.file, file);
        let seed = Seed::generate(DEFAULT_WORDS, "")?;
        self.set_seed(&seed, now());
        if let Err(e) = self.top_up_keypool() {
            self.file = old;
            return Err(e);
        }
        self.staged.changes.push(Change::Migrated);
        Ok(())
    }
}

/// Why one `importdescriptors` request failed, with Core's code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportError {
    /// -5: the descriptor does not parse.
    InvalidKey(String),
    /// -8: a field does not fit.
    InvalidParameter(String),
    /// -4: the wallet refuses it.
    Wallet(String),
    /// -3: a field of the wrong type.
    Type(String),
    /// -13: private keys to an encrypted, locked wallet.
    Unlock,
}

impl ImportError {
    /// Core's code and message.
    pub fn code_message(&self) -> (i32, String) {
        match self {
            ImportError::InvalidKey(m) => (-5, m.clone()),
            ImportError::InvalidParameter(m) => (-8, m.clone()),
            ImportError::Wallet(m) => (-4, m.clone()),
            ImportError::Type(m) => (-3, m.clone()),
            ImportError::Unlock => (
                -13,
                "Error: Please enter the wallet passphrase with walletpassphrase first.".into(),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::KdfParams;
    use dotcoin_common::sighash::signing::pubkey_of;

    /// BIP39's all-`abandon` vector: its BIP86 receive key 0 on Bitcoin's test coin type
    /// is BIP86's test vector account on coin 1.
    const WORDS: &str = "abandon abandon abandon abandon abandon abandon abandon abandon abandon \
                         abandon abandon about";

    fn seeded(keypool: usize) -> Wallet {
        let seed = Seed::parse(WORDS, "").expect("words");
        Wallet::from_seed(Network::Regtest, keypool, &seed, 7)
    }

    #[test]
    fn a_seed_wallet_derives_both_chains_ahead_and_signs_from_the_words() {
        let mut w = seeded(3);
        assert!(w.is_descriptor_wallet());
        assert_eq!((w.keypool_len_of(false), w.keypool_len_of(true)), (3, 3));
        assert_eq!(w.mnemonic().expect("plain").expect("words").as_str(), WORDS);
        let receive = w.new_address("").expect("address");
        let change = w.next_change_pubkey().expect("change");
        assert_ne!(receive.pubkey, change);
        // The address is the tr() output of m/86'/1'/0'/0/0.
        let desc = w.active_descriptor(false).expect("receive");
        assert_eq!(desc.derive(0).expect("key").output, receive.pubkey);
        let details = w.address_details(&receive.to_string()).expect("ours");
        assert_eq!(details.hdkeypath.as_deref(), Some("m/86h/1h/0h/0/0"));
        assert_eq!(details.hdmasterfingerprint.as_deref(), Some("73c5da0a"));
        assert!(!details.ischange);
        // Its key signs: the secret's key is the output key.
        let secret = w.dump_secret(&receive.to_string()).expect("secret");
        let kp = keypair_from_secret(&secret).expect("valid");
        assert_eq!(pubkey_of(&kp), receive.pubkey);
        // Drawn keys are replaced; listdescriptors counts them.
        assert_eq!(w.keypool_len_of(false), 3);
        let listed = w.list_descriptors(false).expect("list");
        assert_eq!(listed[0].next_index, Some(1));
        assert_eq!(listed[0].range, Some([0, 3]));
        assert_eq!(listed[0].internal, Some(false));
        assert_eq!(listed[0].timestamp, 7);
    }

    #[test]
    fn encryption_seals_the_words_and_a_locked_wallet_still_derives() {
        let mut w = seeded(2);
        let addr = w.new_address("").expect("address");
        let secret = *w.dump_secret(&addr.to_string()).expect("secret");
        w.encrypt(b"pw", KdfParams::INSECURE_FAST)
            .expect("encrypts");
        let json = String::from_utf8(w.file().to_json()).expect("utf8");
        assert!(!json.contains("abandon"), "words sealed");
        let mut locked = Wallet::open(
            WalletFile::from_json(json.as_bytes()).expect("json"),
            Network::Regtest,
        )
        .expect("opens");
        assert!(matches!(
            locked.mnemonic(),
            Err(WalletError::PassphraseNeeded { .. })
        ));
        for _ in 0..5 {
            locked.new_address("").expect("derived from the xpub");
        }
        locked.unlock(b"pw").expect("unlocks");
        assert_eq!(
            *locked.dump_secret(&addr.to_string()).expect("secret"),
            secret
        );
        assert_eq!(
            locked.mnemonic().expect("open").expect("words").as_str(),
            WORDS
        );
        locked
            .change_passphrase(b"pw", b"new", KdfParams::INSECURE_FAST)
            .expect("changes");
        let mut again = Wallet::open(locked.file().clone(), Network::Regtest).expect("opens");
        again.unlock(b"new").expect("new passphrase");
        assert_eq!(
            again.mnemonic().expect("open").expect("words").as_str(),
            WORDS
        );
    }

    #[test]
    fn the_same_words_make_the_same_keys_and_a_tampered_key_is_caught() {
        let mut a = seeded(2);
        let mut b = seeded(2);
        for _ in 0..4 {
            assert_eq!(a.new_address("").expect("a"), b.new_address("").expect("b"));
        }
        b.mark_used(false, 10).expect("used");
        assert_eq!(
            b.list_descriptors(false).expect("list")[0].next_index,
            Some(10)
        );
        assert_eq!(b.keypool_len_of(false), 2);
        let mut file = a.file().clone();
        let other = b
            .file()
            .keys
            .iter()
            .find(|k| k.index == Some(9))
            .expect("key 9");
        file.keys[0].pubkey = other.pubkey.clone();
        file.keys[0].address = other.address.clone();
        let err = Wallet::open(file, Network::Regtest).expect_err("tampered");
        assert!(
            err.to_string().contains("not the key of its descriptor"),
            "{err}"
        );
    }

    #[test]
    fn watch_only_imports_public_descriptors_and_refuses_private_ones() {
        let seed_wallet = seeded(2);
        let listed = seed_wallet.list_descriptors(false).expect("list");
        let private = seed_wallet.list_descriptors(true).expect("private");
        let mut watch = Wallet::create_without_keys(Network::Regtest, 2, true);
        assert!(matches!(
            watch.new_address(""),
            Err(WalletError::NoAvailableKeys)
        ));
        let request = |desc: &str, internal: bool| ImportRequest {
            desc: Zeroizing::new(desc.to_owned()),
            active: true,
            range: Some((0, 9)),
            next_index: Some(0),
            timestamp: Some(5),
            internal,
            label: None,
        };
        assert_eq!(
            watch.import_descriptor(&request(&private[0].desc, false)),
            Err(ImportError::Wallet(
                "Cannot import private keys to a wallet with private keys disabled".into()
            ))
        );
        for (d, internal) in listed.iter().zip([false, true]) {
            assert_eq!(
                watch.import_descriptor(&request(&d.desc, internal)),
                Ok(vec![])
            );
        }
        let mut seed_wallet = seed_wallet;
        assert_eq!(
            watch.new_address("").expect("watch"),
            seed_wallet.new_address("").expect("seed")
        );
        // It cannot sign.
        let addr = watch.issued().next().expect("one").address.clone();
        assert!(matches!(
            watch.dump_secret(&addr),
            Err(WalletError::PrivateKeysDisabled(_))
        ));
        // Round trip through the file.
        let reopened = Wallet::open(
            WalletFile::from_json(&watch.file().to_json()).expect("json"),
            Network::Regtest,
        )
        .expect("opens");
        assert!(!reopened.private_keys_enabled());
        assert_eq!(
            reopened.list_descriptors(false).expect("list")[0].range,
            Some([0, 9])
        );
    }

    #[test]
    fn a_random_key_wallet_migrates_to_rawtr_descriptors_and_a_seed() {
        let mut legacy = Wallet::create_legacy(Network::Regtest, 2);
        let old = legacy.new_address("kept").expect("address");
        let secret = *legacy.dump_secret(&old.to_string()).expect("secret");
        legacy
            .encrypt(b"pw", KdfParams::INSECURE_FAST)
            .expect("encrypts");
        let mut w = Wallet::open(legacy.file().clone(), Network::Regtest).expect("v1 opens");
        assert!(!w.is_descriptor_wallet());
        assert!(matches!(
            w.migrate(),
            Err(WalletError::PassphraseNeeded { .. })
        ));
        w.unlock(b"pw").expect("unlocks");
        w.migrate().expect("migrates");
        assert!(w.is_descriptor_wallet());
        assert!(matches!(w.migrate(), Err(WalletError::Build(_))));
        let listed = w.list_descriptors(true).expect("private");
        let wif = crate::hd::to_wif(&secret, Network::Regtest);
        assert!(
            listed
                .iter()
                .any(|d| d.desc.starts_with(&format!("rawtr({})#", wif.as_str()))),
            "{listed:?}"
        );
        let reopened = Wallet::open(w.file().clone(), Network::Regtest).expect("opens");
        let details = reopened.address_details(&old.to_string()).expect("ours");
        assert!(details.desc.starts_with("rawtr("), "{}", details.desc);
        assert_eq!(
            reopened.record(&old.to_string()).expect("kept").label,
            "kept"
        );
        let mut reopened = reopened;
        reopened.unlock(b"pw").expect("unlocks");
        assert_eq!(
            *reopened.dump_secret(&old.to_string()).expect("secret"),
            secret
        );
        let fresh = reopened.new_address("").expect("from the new seed");
        assert_eq!(
            reopened
                .address_details(&fresh.to_string())
                .expect("ours")
                .hdkeypath
                .as_deref(),
            Some("m/86h/1h/0h/0/0")
        );
    }
}
