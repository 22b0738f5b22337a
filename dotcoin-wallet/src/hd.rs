//! Where the wallet's keys come from: BIP39 seed words, BIP32 derivation and BIP86's
//! account path `m/86'/COIN'/0'` with dotcoin's coin type ([`coin_type`]), and the WIF
//! encoding of single keys with dotcoin's version bytes ([`WIF_VERSION_MAIN`],
//! [`WIF_VERSION_REGTEST`]).
//!
//! Nothing here does I/O or keeps state: a [`Seed`] is words plus an optional passphrase,
//! and [`HdSigner`] finds the key for a master-key fingerprint and a derivation path —
//! what a PSBT's `tap_bip32_derivation` field names — so an offline signer can sign with
//! a seed or an xprv alone.

use bitcoin::bip32::{ChildNumber, DerivationPath, Fingerprint, Xpriv, Xpub};
use bitcoin::key::TapTweak;
use bitcoin::NetworkKind;
use dotcoin_common::Network;
use secp256k1::{Keypair, Secp256k1, SecretKey};
use zeroize::Zeroizing;

use crate::error::WalletError;

/// dotcoin's BIP44 coin type on main: 7353 (unregistered in SLIP-44; "DOTC" has no
/// number there). Regtest uses 1, as every Bitcoin test network does.
pub const COIN_TYPE_MAIN: u32 = 7353;
/// The coin type of test networks (BIP44).
pub const COIN_TYPE_TEST: u32 = 1;
/// The first byte of a WIF private key on main (Bitcoin's is 0x80; dotcoin's own keeps
/// a Bitcoin wallet from importing a dotcoin key by mistake).
pub const WIF_VERSION_MAIN: u8 = 0x9e;
/// The first byte of a WIF private key on regtest: Bitcoin's testnet byte, so Core's
/// testnet key vectors read unchanged.
pub const WIF_VERSION_REGTEST: u8 = 0xef;
/// Gap limit of a restore: how many unused addresses in a row end the scan (BIP44, Core).
pub const DEFAULT_GAP_LIMIT: u32 = 20;

/// BIP44's coin type for `network`.
pub fn coin_type(network: Network) -> u32 {
    match network {
        Network::Main => COIN_TYPE_MAIN,
        _ => COIN_TYPE_TEST,
    }
}

/// The version bytes BIP32 extended keys use on `network`: xpub/xprv on main, tpub/tprv
/// on test networks, as Bitcoin's, so BIP32 tools read them.
pub fn network_kind(network: Network) -> NetworkKind {
    match network {
        Network::Main => NetworkKind::Main,
        _ => NetworkKind::Test,
    }
}

/// BIP86's account path `m/86'/COIN'/0'`.
pub fn account_path(network: Network) -> DerivationPath {
    DerivationPath::from(vec![
        ChildNumber::Hardened { index: 86 },
        ChildNumber::Hardened {
            index: coin_type(network),
        },
        ChildNumber::Hardened { index: 0 },
    ])
}

/// BIP39 words and the optional passphrase ("25th word") that make the seed.
pub struct Seed {
    mnemonic: bip39::Mnemonic,
    passphrase: Zeroizing<String>,
}

impl std::fmt::Debug for Seed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Seed(..)")
    }
}

impl Seed {
    /// Fresh words: 12 (128 bits) or 24 (256 bits) from the OS's random source.
    pub fn generate(words: usize, passphrase: &str) -> Result<Seed, WalletError> {
        let entropy: Zeroizing<[u8; 32]> = Zeroizing::new(rand::random());
        let len = match words {
            12 => 16,
            24 => 32,
            n => {
                return Err(WalletError::BadSeed(format!(
                    "a seed has 12 or 24 words, not {n}"
                )))
            }
        };
        let mnemonic = bip39::Mnemonic::from_entropy(&entropy[..len])
            .map_err(|e| WalletError::BadSeed(e.to_string()))?;
        Ok(Seed {
            mnemonic,
            passphrase: Zeroizing::new(passphrase.to_owned()),
        })
    }

    /// Words typed by a person: English BIP39 words separated by white space, checksum
    /// checked. Only 12 or 24 words are accepted.
    pub fn parse(words: &str, passphrase: &str) -> Result<Seed, WalletError> {
        let normalized = Zeroizing::new(words.split_whitespace().collect::<Vec<_>>().join(" "));
        let mnemonic = bip39::Mnemonic::parse_in(bip39::Language::English, normalized.as_str())
            .map_err(|e| WalletError::BadSeed(e.to_string()))?;
        if !matches!(mnemonic.word_count(), 12 | 24) {
            return Err(WalletError::BadSeed(format!(
                "a seed has 12 or 24 words, not {}",
                mnemonic.word_count()
            )));
        }
        Ok(Seed {
            mnemonic,
            passphrase: Zeroizing::new(passphrase.to_owned()),
        })
    }

    /// The words, separated by single spaces.
    pub fn words(&self) -> Zeroizing<String> {
        Zeroizing::new(self.mnemonic.words().collect::<Vec<_>>().join(" "))
    }

    /// The BIP39 passphrase.
    pub fn passphrase(&self) -> &str {
        &self.passphrase
    }

    /// The BIP32 master key of `network` (BIP39's PBKDF2 seed, then BIP32's HMAC).
    pub fn master(&self, network: Network) -> Xpriv {
        let seed = Zeroizing::new(self.mnemonic.to_seed(self.passphrase.as_str()));
        Xpriv::new_master(network_kind(network), seed.as_ref())
            .expect("a 64-byte seed makes a master key (the chance otherwise is 2^-127)")
    }
}

/// The BIP86 account of a master key: its origin (master fingerprint and the path) and the
/// account xprv that derives `/0/*` (receive) and `/1/*` (change).
#[derive(Debug, Clone)]
pub struct Account {
    /// Fingerprint of the master key.
    pub fingerprint: Fingerprint,
    /// `m/86'/COIN'/0'`.
    pub path: DerivationPath,
    /// The account's extended private key.
    pub xprv: Xpriv,
}

impl Account {
    /// The BIP86 account of `master` on `network`.
    pub fn bip86(master: &Xpriv, network: Network) -> Account {
        let secp = Secp256k1::new();
        let path = account_path(network);
        let xprv = master
            .derive_priv(&secp, &path)
            .expect("hardened derivation of a valid key succeeds");
        Account {
            fingerprint: master.fingerprint(&secp),
            path,
            xprv,
        }
    }

    /// The account's extended public key.
    pub fn xpub(&self) -> Xpub {
        Xpub::from_priv(&Secp256k1::new(), &self.xprv)
    }

    /// The `tr()` descriptor of the account's receive (`internal` false) or change chain,
    /// private (`xprv`) or public, without checksum.
    pub fn descriptor(&self, internal: bool, private: bool) -> String {
        let key = if private {
            self.xprv.to_string()
        } else {
            self.xpub().to_string()
        };
        let path = self.path.to_string();
        format!(
            "tr([{}/{}]{}/{}/*)",
            self.fingerprint,
            path.replace('\'', "h"),
            key,
            u8::from(internal)
        )
    }
}

/// Finds signing keys by BIP32 origin: the fingerprint of a master key and a full path
/// from it. Holds one master (from a seed) or any number of xprvs known with their origin
/// (from `tr([fp/path]xprv/…)` descriptors).
#[derive(Debug, Default, Clone)]
pub struct HdSigner {
    /// `(origin fingerprint, origin path, xprv at that path)`.
    keys: Vec<(Fingerprint, DerivationPath, Xpriv)>,
}

impl HdSigner {
    /// A signer holding `master` (its own fingerprint, the empty path).
    pub fn from_master(master: Xpriv) -> HdSigner {
        let fp = master.fingerprint(&Secp256k1::new());
        HdSigner {
            keys: vec![(fp, DerivationPath::master(), master)],
        }
    }

    /// Adds an xprv known to sit at `path` below the master with fingerprint `fp`.
    pub fn add(&mut self, fp: Fingerprint, path: DerivationPath, xprv: Xpriv) {
        self.keys.push((fp, path, xprv));
    }

    /// The key at `path` below the master `fp`, as a key pair for the internal
    /// (untweaked) key. `None` if no held xprv is a prefix of that path.
    pub fn key_for(&self, fp: Fingerprint, path: &DerivationPath) -> Option<Keypair> {
        let secp = Secp256k1::new();
        self.keys.iter().find_map(|(kfp, kpath, xprv)| {
            if *kfp != fp || path.len() < kpath.len() || path[..kpath.len()] != kpath[..] {
                return None;
            }
            let rest = &path[kpath.len()..];
            let derived = xprv.derive_priv(&secp, &rest).ok()?;
            Some(derived.to_keypair(&secp))
        })
    }
}

/// The key pair that signs for the output key of `internal` under `tr()` (BIP86: the
/// BIP341 tweak with no script tree).
pub fn tweaked(internal: &Keypair) -> Keypair {
    internal.tap_tweak(&Secp256k1::new(), None).to_keypair()
}

/// The WIF form of a 32-byte secret on `network` (compressed flag set, as Core writes).
pub fn to_wif(secret: &[u8; 32], network: Network) -> Zeroizing<String> {
    let mut payload = Zeroizing::new(Vec::with_capacity(34));
    payload.push(wif_version(network));
    payload.extend_from_slice(secret);
    payload.push(0x01);
    Zeroizing::new(bitcoin::base58::encode_check(&payload))
}

fn wif_version(network: Network) -> u8 {
    match network {
        Network::Main => WIF_VERSION_MAIN,
        _ => WIF_VERSION_REGTEST,
    }
}

/// Reads a WIF private key of `network`. Uncompressed WIFs are accepted too (the key is
/// the same secret; dotcoin outputs use the x-only key either way).
pub fn from_wif(wif: &str, network: Network) -> Result<Zeroizing<[u8; 32]>, WalletError> {
    let bad = |why: &str| WalletError::BadPrivateKey(why.to_owned());
    let data = Zeroizing::new(
        bitcoin::base58::decode_check(wif.trim())
            .map_err(|_| bad("not a WIF key (bad base58 or checksum)"))?,
    );
    if !matches!(data.len(), 33 | 34) || (data.len() == 34 && data[33] != 0x01) {
        return Err(bad("not a WIF key (wrong length)"));
    }
    if data[0] != wif_version(network) {
        return Err(bad(&format!(
            "WIF key is not for {} (version byte 0x{:02x})",
            network, data[0]
        )));
    }
    let mut out = Zeroizing::new([0u8; 32]);
    out.copy_from_slice(&data[1..33]);
    SecretKey::from_slice(out.as_ref()).map_err(|_| bad("not a valid secp256k1 secret key"))?;
    Ok(out)
}

/// A secret given as WIF or as 64 hex digits (dotcoin's older form).
pub fn parse_secret(text: &str, network: Network) -> Result<Zeroizing<[u8; 32]>, WalletError> {
    let t = text.trim();
    if t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
        let mut out = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(t, out.as_mut()).expect("64 hex digits checked");
        SecretKey::from_slice(out.as_ref())
            .map_err(|_| WalletError::BadPrivateKey("not a valid secp256k1 secret key".into()))?;
        return Ok(out);
    }
    from_wif(t, network).map_err(|e| match e {
        WalletError::BadPrivateKey(why) if why.starts_with("not a WIF key") => {
            WalletError::BadPrivateKey(
                "expected a WIF key or 64 hex characters (a 32-byte secret)".into(),
            )
        }
        other => other,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    /// BIP86's test vector: the same words, the same account, the same first keys.
    #[test]
    fn bip86_vector() {
        let seed = Seed::parse(
            "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon \
             abandon about",
            "",
        )
        .expect("words");
        let master =
            Xpriv::new_master(NetworkKind::Main, &seed.mnemonic.to_seed("")).expect("master");
        assert_eq!(
            master.to_string(),
            "xprv9s21ZrQH143K3GJpoapnV8SFfukcVBSfeCficPSGfubmSFDxo1kuHnLisriDvSnRRuL2Qrg5ggqHKNVpxR86QEC8w35uxmGoggxtQTPvfUu"
        );
        let secp = Secp256k1::new();
        let account = master
            .derive_priv(
                &secp,
                &DerivationPath::from_str("m/86'/0'/0'").expect("path"),
            )
            .expect("derive");
        assert_eq!(
            Xpub::from_priv(&secp, &account).to_string(),
            "xpub6BgBgsespWvERF3LHQu6CnqdvfEvtMcQjYrcRzx53QJjSxarj2afYWcLteoGVky7D3UKDP9QyrLprQ3VCECoY49yfdDEHGCtMMj92pReUsQ"
        );
        let first = account
            .derive_priv(&secp, &DerivationPath::from_str("m/0/0").expect("path"))
            .expect("derive")
            .to_keypair(&secp);
        assert_eq!(
            first.x_only_public_key().0.to_string(),
            "cc8a4bc64d897bddc5fbc2f670f7a8ba0b386779106cf1223c6fc5d7cd6fc115"
        );
        assert_eq!(
            tweaked(&first).x_only_public_key().0.to_string(),
            "a60869f0dbcf1dc659c9cecbaf8050135ea9e8cdc487053f1dc6880949dc684c"
        );
        let signer = HdSigner::from_master(master);
        let path = DerivationPath::from_str("m/86'/0'/0'/0/0").expect("path");
        assert_eq!(
            signer
                .key_for(master.fingerprint(&secp), &path)
                .expect("found"),
            first
        );
        assert!(signer.key_for(Fingerprint::default(), &path).is_none());
        let account = Account::bip86(&master, Network::Main);
        let text = account.descriptor(false, false);
        assert!(text.starts_with("tr([73c5da0a/86h/7353h/0h]xpub"), "{text}");
        let desc = crate::descriptor::Descriptor::parse(&text, Network::Main).expect("parses");
        let direct = master
            .derive_priv(
                &secp,
                &DerivationPath::from_str("m/86'/7353'/0'/0/5").expect("path"),
            )
            .expect("derive")
            .to_keypair(&secp);
        assert_eq!(
            desc.derive(5).expect("derive").internal,
            direct.x_only_public_key().0
        );
        let private =
            crate::descriptor::Descriptor::parse(&account.descriptor(true, true), Network::Main)
                .expect("parses");
        assert_eq!(
            private.key_origin(3).map(|(fp, p)| format!("{fp}/{p}")),
            Some("73c5da0a/86'/7353'/0'/1/3".to_owned())
        );
    }

    #[test]
    fn words_round_trip_and_errors() {
        let seed = Seed::generate(24, "pw").expect("generate");
        let again = Seed::parse(&format!("  {}\n", seed.words().as_str()), "pw").expect("parse");
        assert_eq!(
            again.master(Network::Regtest),
            seed.master(Network::Regtest)
        );
        let other = Seed::parse(seed.words().as_str(), "").expect("parse");
        assert_ne!(
            other.master(Network::Regtest),
            seed.master(Network::Regtest)
        );
        assert_eq!(
            Seed::generate(12, "")
                .expect("12")
                .words()
                .split(' ')
                .count(),
            12
        );
        assert!(Seed::generate(15, "").is_err());
        let err = Seed::parse("abandon abandon", "").expect_err("short");
        assert!(err.to_string().starts_with("invalid seed words: "), "{err}");
        let err = Seed::parse(
            "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon \
             abandon abandon",
            "",
        )
        .expect_err("checksum");
        assert!(err.to_string().contains("checksum"), "{err}");
    }

    #[test]
    fn wif_round_trip_and_version_bytes() {
        let secret = [0x11u8; 32];
        for network in [Network::Main, Network::Regtest] {
            let wif = to_wif(&secret, network);
            assert_eq!(*from_wif(&wif, network).expect("reads"), secret);
            assert_eq!(*parse_secret(&wif, network).expect("reads"), secret);
        }
        // Core's testnet WIF vector (key_tests.cpp) reads on regtest.
        assert_eq!(
            hex::encode(
                *from_wif(
                    "cTpB4YiyKiBcPxnefsDpbnDxFDffjqJob8wGCEDXxgQ7zQoMXJdH",
                    Network::Regtest
                )
                .expect("reads")
            ),
            "b9f4892c9e8282028fea1d2667c4dc5213564d41fc5783896a0d843fc15089f3"
        );
        let main = to_wif(&secret, Network::Main);
        assert_eq!(
            from_wif(&main, Network::Regtest)
                .expect_err("other network")
                .to_string(),
            "invalid private key: WIF key is not for regtest (version byte 0x9e)"
        );
        assert_eq!(
            parse_secret(
                "L4rK1yDtCWekvXuE6oXD9jCYfFNV2cWRpVuPLBcCU2z8TrisoyY2",
                Network::Main
            )
            .expect_err("checksum")
            .to_string(),
            "invalid private key: expected a WIF key or 64 hex characters (a 32-byte secret)"
        );
        assert_eq!(
            *parse_secret(&"11".repeat(32), Network::Main).expect("hex"),
            secret
        );
    }
}
