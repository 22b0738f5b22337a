//! Output descriptors for dotcoin's outputs, in Bitcoin Core's syntax with BIP380's
//! checksum. A dotcoin output locks to one x-only key, so two descriptor kinds fit:
//! `rawtr(KEY)` (the key as is, Core's `rawtr`) and `tr(KEY)` (BIP86: the key tweaked by
//! BIP341 with no script tree). New wallets use `tr()` on BIP86's path; both are accepted
//! on import.
//!
//! KEY is an x-only (64 hex) or compressed (66 hex) public key, a WIF private key, or an
//! xpub/xprv (tpub/tprv) with an optional origin `[fingerprint/path]`, a path and an
//! optional final `/*` (or `/*'`). Pure parsing and derivation: no wallet state.

use std::fmt::Write as _;
use std::str::FromStr;

use bitcoin::bip32::{ChildNumber, DerivationPath, Fingerprint, Xpriv, Xpub};
use bitcoin::key::TapTweak;
use dotcoin_common::{Address, Network, PubKey};
use secp256k1::{Keypair, Secp256k1, XOnlyPublicKey};
use zeroize::Zeroizing;

use crate::error::WalletError;
use crate::hd;

/// The most keys one call may derive (`deriveaddresses`, an import's range): Core's limit.
pub const MAX_RANGE: u32 = 1_000_000;

/// BIP380's 8-character checksum of a descriptor (without `#`), or `None` if it holds a
/// character outside the descriptor character set. The node's RPC types compute it too
/// (`getblock`'s `desc` fields); one implementation serves both.
pub fn checksum(desc: &str) -> Option<String> {
    let c = dotcoin_common::rpc_types::descriptor_checksum(desc);
    (!c.is_empty()).then_some(c)
}

/// `desc` followed by `#` and its checksum.
pub fn with_checksum(desc: &str) -> String {
    format!(
        "{desc}#{}",
        checksum(desc).expect("descriptors we print use the descriptor character set")
    )
}

/// Which output a descriptor describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `tr(KEY)`: the output key is KEY tweaked by BIP341 with no script tree (BIP86).
    Tr,
    /// `rawtr(KEY)`: the output key is KEY itself.
    RawTr,
}

/// The key inside a descriptor.
#[derive(Clone)]
enum Key {
    /// A public key.
    Single(XOnlyPublicKey),
    /// A private key (from WIF).
    Secret(Zeroizing<[u8; 32]>),
    /// An extended key, a path below it and maybe a final wildcard.
    Extended {
        xpub: Xpub,
        xprv: Option<Xpriv>,
        path: DerivationPath,
        wildcard: Option<bool>,
    },
}

/// A parsed descriptor. `Debug` shows the public form only.
#[derive(Clone)]
pub struct Descriptor {
    kind: Kind,
    origin: Option<(Fingerprint, DerivationPath)>,
    key: Key,
    network: Network,
    /// Print hardened steps with `'` (as typed) rather than `h`.
    apostrophe: bool,
}

impl std::fmt::Debug for Descriptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Descriptor({})", self.to_public_string())
    }
}

/// One key a descriptor gives at an index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DerivedKey {
    /// The key the descriptor names (before the `tr()` tweak).
    pub internal: XOnlyPublicKey,
    /// The key the output locks to.
    pub output: PubKey,
}

fn bad(msg: impl Into<String>) -> WalletError {
    WalletError::BadDescriptor(msg.into())
}

fn parse_path(steps: &[&str], what: &str) -> Result<(DerivationPath, bool), WalletError> {
    let mut out = Vec::with_capacity(steps.len());
    let mut apostrophe = false;
    for step in steps {
        let (num, hardened) = if let Some(n) = step.strip_suffix('\'') {
            apostrophe = true;
            (n, true)
        } else if let Some(n) = step.strip_suffix('h') {
            (n, true)
        } else {
            (*step, false)
        };
        let index: u32 = num
            .parse()
            .ok()
            .filter(|i| *i < 0x8000_0000 && !num.starts_with('+'))
            .ok_or_else(|| bad(format!("Key path value '{step}' is not a valid uint32")))?;
        out.push(if hardened {
            ChildNumber::Hardened { index }
        } else {
            ChildNumber::Normal { index }
        });
    }
    if out.len() > 255 {
        return Err(bad(format!("{what} path is longer than 255 steps")));
    }
    Ok((DerivationPath::from(out), apostrophe))
}

fn write_path(out: &mut String, path: &DerivationPath, apostrophe: bool) {
    for step in path.into_iter() {
        match step {
            ChildNumber::Normal { index } => write!(out, "/{index}"),
            ChildNumber::Hardened { index } => {
                write!(out, "/{index}{}", if apostrophe { "'" } else { "h" })
            }
        }
        .expect("writing to a String cannot fail");
    }
}

impl Descriptor {
    /// Parses `text` (with or without its checksum; a checksum given must match) for
    /// `network`: extended keys and WIFs of another network are refused.
    pub fn parse(text: &str, network: Network) -> Result<Descriptor, WalletError> {
        if text.len() > 4096 {
            return Err(bad("descriptor is longer than 4096 characters"));
        }
        let (body, sum) = match text.split_once('#') {
            Some((b, s)) => {
                if s.contains('#') {
                    return Err(bad("Multiple '#' symbols"));
                }
                if s.len() != 8 {
                    return Err(bad(format!(
                        "Expected 8 character checksum, not {} characters",
                        s.len()
                    )));
                }
                (b, Some(s))
            }
            None => (text, None),
        };
        let computed = checksum(body).ok_or_else(|| bad("Invalid characters in payload"))?;
        if let Some(s) = sum {
            if s != computed {
                return Err(bad(format!(
                    "Provided checksum '{s}' does not match computed checksum '{computed}'"
                )));
            }
        }
        let (kind, inner) = if let Some(rest) = body.strip_prefix("rawtr(") {
            (Kind::RawTr, rest)
        } else if let Some(rest) = body.strip_prefix("tr(") {
            (Kind::Tr, rest)
        } else {
            return Err(bad(
                "dotcoin outputs are taproot-shaped: only tr(KEY) and rawtr(KEY) descriptors \
                 are supported",
            ));
        };
        let inner = inner
            .strip_suffix(')')
            .ok_or_else(|| bad("descriptor does not end with ')'"))?;
        if inner.contains(',') {
            return Err(bad(
                "tr() with a script tree is not supported: dotcoin outputs have no script path",
            ));
        }
        let (origin, key_text, mut apostrophe) = match inner.strip_prefix('[') {
            Some(rest) => {
                let (origin, key) = rest
                    .split_once(']')
                    .ok_or_else(|| bad("Key origin start '[ character expected but not found"))?;
                let mut steps = origin.split('/');
                let fp_text = steps.next().unwrap_or_default();
                if fp_text.len() != 8 {
                    return Err(bad(format!(
                        "Fingerprint is not 4 bytes ({} characters instead of 8 characters)",
                        fp_text.len()
                    )));
                }
                let fp = Fingerprint::from_str(fp_text)
                    .map_err(|_| bad(format!("Fingerprint '{fp_text}' is not hex")))?;
                let steps: Vec<&str> = steps.collect();
                let (path, apostrophe) = parse_path(&steps, "origin")?;
                (Some((fp, path)), key, apostrophe)
            }
            None => (None, inner, false),
        };
        let mut parts = key_text.split('/');
        let head = parts.next().unwrap_or_default();
        let rest: Vec<&str> = parts.collect();
        let key = if head.len() == 64 || head.len() == 66 {
            if !rest.is_empty() {
                return Err(bad("a single key takes no derivation path"));
            }
            let bytes = hex::decode(head).map_err(|_| bad(format!("key '{head}' is not valid")))?;
            let xonly = match bytes.len() {
                32 => XOnlyPublicKey::from_slice(&bytes).ok(),
                _ => secp256k1::PublicKey::from_slice(&bytes)
                    .ok()
                    .map(|p| p.x_only_public_key().0),
            };
            Key::Single(xonly.ok_or_else(|| bad(format!("Pubkey '{head}' is invalid")))?)
        } else if let Some(first4) = head
            .get(..4)
            .filter(|p| p.ends_with("pub") || p.ends_with("prv"))
        {
            let kind = hd::network_kind(network);
            let (xpub, xprv) = if first4.ends_with("prv") {
                let xprv = Xpriv::from_str(head)
                    .map_err(|e| bad(format!("key '{first4}…' is invalid: {e}")))?;
                if xprv.network != kind {
                    return Err(bad(format!("extended key {first4}… is not for {network}")));
                }
                (Xpub::from_priv(&Secp256k1::new(), &xprv), Some(xprv))
            } else {
                let xpub = Xpub::from_str(head)
                    .map_err(|e| bad(format!("key '{head}' is invalid: {e}")))?;
                if xpub.network != kind {
                    return Err(bad(format!("extended key {first4}… is not for {network}")));
                }
                (xpub, None)
            };
            let (steps, wildcard) = match rest.last() {
                Some(&"*") => (&rest[..rest.len() - 1], Some(false)),
                Some(&"*'") | Some(&"*h") => {
                    apostrophe |= rest.last() == Some(&"*'");
                    (&rest[..rest.len() - 1], Some(true))
                }
                _ => (&rest[..], None),
            };
            if steps.contains(&"*") || steps.contains(&"*'") || steps.contains(&"*h") {
                return Err(bad(
                    "'*' may only appear as last element in a derivation path",
                ));
            }
            let (path, ap) = parse_path(steps, "key")?;
            apostrophe |= ap;
            let hardened_below =
                path.into_iter().any(|c| c.is_hardened()) || wildcard == Some(true);
            if hardened_below && xprv.is_none() {
                return Err(bad(
                    "Hardened derivation is not possible from an xpub: give the xprv",
                ));
            }
            Key::Extended {
                xpub,
                xprv,
                path,
                wildcard,
            }
        } else {
            if !rest.is_empty() {
                return Err(bad("a single key takes no derivation path"));
            }
            let secret = hd::from_wif(head, network).map_err(|e| {
                bad(format!(
                    "key '{}…' is invalid: {e}",
                    head.get(..4).unwrap_or(head)
                ))
            })?;
            Key::Secret(secret)
        };
        Ok(Descriptor {
            kind,
            origin,
            key,
            network,
            apostrophe,
        })
    }

    /// `tr()` or `rawtr()`.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// Whether it ends in `/*` (Core's `isrange`).
    pub fn is_range(&self) -> bool {
        matches!(
            self.key,
            Key::Extended {
                wildcard: Some(_),
                ..
            }
        )
    }

    /// Whether it holds a private key (Core's `hasprivatekeys`).
    pub fn has_private_keys(&self) -> bool {
        matches!(
            self.key,
            Key::Secret(_) | Key::Extended { xprv: Some(_), .. }
        )
    }

    fn render(&self, private: bool) -> String {
        let mut out = String::from(match self.kind {
            Kind::Tr => "tr(",
            Kind::RawTr => "rawtr(",
        });
        if let Some((fp, path)) = &self.origin {
            write!(out, "[{fp}").expect("string");
            write_path(&mut out, path, self.apostrophe);
            out.push(']');
        }
        match &self.key {
            Key::Single(k) => out.push_str(&k.to_string()),
            Key::Secret(s) => {
                if private {
                    out.push_str(&hd::to_wif(s, self.network));
                } else {
                    let kp = Keypair::from_seckey_slice(&Secp256k1::new(), s.as_ref())
                        .expect("checked on parse");
                    out.push_str(&kp.x_only_public_key().0.to_string());
                }
            }
            Key::Extended {
                xpub,
                xprv,
                path,
                wildcard,
            } => {
                match (private, xprv) {
                    (true, Some(x)) => out.push_str(&x.to_string()),
                    _ => out.push_str(&xpub.to_string()),
                }
                write_path(&mut out, path, self.apostrophe);
                match wildcard {
                    Some(false) => out.push_str("/*"),
                    Some(true) => out.push_str(if self.apostrophe { "/*'" } else { "/*h" }),
                    None => {}
                }
            }
        }
        out.push(')');
        out
    }

    /// The public form with its checksum (Core's `getdescriptorinfo` `descriptor`).
    pub fn to_public_string(&self) -> String {
        with_checksum(&self.render(false))
    }

    /// The private form with its checksum, if the descriptor holds private keys (the
    /// caller keeps it in a `Zeroizing` or seals it).
    pub fn to_private_string(&self) -> Option<Zeroizing<String>> {
        self.has_private_keys()
            .then(|| Zeroizing::new(with_checksum(&self.render(true))))
    }

    /// A copy without private keys (what a watch-only wallet keeps).
    pub fn public(&self) -> Descriptor {
        let mut d = self.clone();
        d.key = match &self.key {
            Key::Secret(s) => Key::Single(
                Keypair::from_seckey_slice(&Secp256k1::new(), s.as_ref())
                    .expect("checked on parse")
                    .x_only_public_key()
                    .0,
            ),
            Key::Extended {
                xpub,
                path,
                wildcard,
                ..
            } => Key::Extended {
                xpub: *xpub,
                xprv: None,
                path: path.clone(),
                wildcard: *wildcard,
            },
            other => other.clone(),
        };
        d
    }

    fn check_index(&self, index: u32) -> Result<(), WalletError> {
        if index >= 0x8000_0000 {
            return Err(bad(format!(
                "index {index} is out of range (at most 2^31-1)"
            )));
        }
        if !self.is_range() && index != 0 {
            return Err(bad(
                "Range should not be specified for an un-ranged descriptor",
            ));
        }
        Ok(())
    }

    fn child_steps(path: &DerivationPath, wildcard: Option<bool>, index: u32) -> Vec<ChildNumber> {
        let mut steps: Vec<ChildNumber> = path.into_iter().copied().collect();
        match wildcard {
            Some(false) => steps.push(ChildNumber::Normal { index }),
            Some(true) => steps.push(ChildNumber::Hardened { index }),
            None => {}
        }
        steps
    }

    fn output_of(&self, internal: XOnlyPublicKey) -> PubKey {
        let out = match self.kind {
            Kind::RawTr => internal,
            Kind::Tr => internal
                .tap_tweak(&Secp256k1::new(), None)
                .0
                .to_x_only_public_key(),
        };
        PubKey(out.serialize())
    }

    /// The key at `index` (0 for a descriptor without `/*`).
    pub fn derive(&self, index: u32) -> Result<DerivedKey, WalletError> {
        self.check_index(index)?;
        let secp = Secp256k1::new();
        let internal = match &self.key {
            Key::Single(k) => *k,
            Key::Secret(s) => {
                Keypair::from_seckey_slice(&secp, s.as_ref())
                    .expect("checked on parse")
                    .x_only_public_key()
                    .0
            }
            Key::Extended {
                xpub,
                xprv,
                path,
                wildcard,
            } => {
                let steps = Self::child_steps(path, *wildcard, index);
                if steps.iter().any(|c| c.is_hardened()) {
                    let xprv = xprv
                        .as_ref()
                        .expect("hardened steps need the xprv, checked on parse");
                    Xpub::from_priv(
                        &secp,
                        &xprv
                            .derive_priv(&secp, &steps)
                            .map_err(|e| bad(e.to_string()))?,
                    )
                    .to_x_only_pub()
                } else {
                    xpub.derive_pub(&secp, &steps)
                        .map_err(|e| bad(e.to_string()))?
                        .to_x_only_pub()
                }
            }
        };
        Ok(DerivedKey {
            internal,
            output: self.output_of(internal),
        })
    }

    /// The addresses of `range` (inclusive), at most [`MAX_RANGE`] of them.
    pub fn addresses(&self, start: u32, end: u32) -> Result<Vec<Address>, WalletError> {
        if end < start {
            return Err(bad(
                "Range specified as [begin,end] must not have begin after end",
            ));
        }
        if end - start >= MAX_RANGE {
            return Err(bad("Range is too large"));
        }
        (start..=end)
            .map(|i| Ok(Address::new(self.network, self.derive(i)?.output)))
            .collect()
    }

    /// The key pair that signs for the output at `index` (tweaked for `tr()`), or `None`
    /// if the descriptor holds no private key.
    pub fn signing_key(&self, index: u32) -> Result<Option<Keypair>, WalletError> {
        self.check_index(index)?;
        let secp = Secp256k1::new();
        let internal = match &self.key {
            Key::Single(_) | Key::Extended { xprv: None, .. } => return Ok(None),
            Key::Secret(s) => Keypair::from_seckey_slice(&secp, s.as_ref()).expect("checked"),
            Key::Extended {
                xprv: Some(xprv),
                path,
                wildcard,
                ..
            } => xprv
                .derive_priv(&secp, &Self::child_steps(path, *wildcard, index))
                .map_err(|e| bad(e.to_string()))?
                .to_keypair(&secp),
        };
        Ok(Some(match self.kind {
            Kind::RawTr => internal,
            Kind::Tr => hd::tweaked(&internal),
        }))
    }

    /// The BIP32 origin of the key at `index`: the master fingerprint and the full path
    /// (what a PSBT's `tap_bip32_derivation` holds). `None` for a key without an origin
    /// or extended key.
    pub fn key_origin(&self, index: u32) -> Option<(Fingerprint, DerivationPath)> {
        let Key::Extended {
            xpub,
            path,
            wildcard,
            ..
        } = &self.key
        else {
            return self.origin.clone();
        };
        let (fp, mut full): (Fingerprint, Vec<ChildNumber>) = match &self.origin {
            Some((fp, p)) => (*fp, p.into_iter().copied().collect()),
            None => (xpub.fingerprint(), Vec::new()),
        };
        full.extend(Self::child_steps(path, *wildcard, index));
        Some((fp, DerivationPath::from(full)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script(d: &Descriptor, i: u32) -> String {
        format!(
            "5120{}",
            hex::encode(d.derive(i).expect("derives").output.0)
        )
    }

    /// Bitcoin's mainnet WIF of a key, written with dotcoin's main version byte, so the
    /// vectors' keys are the same keys.
    fn dotcoin_wif(bitcoin_wif: &str) -> String {
        let k = bitcoin::PrivateKey::from_wif(bitcoin_wif).expect("vector WIF");
        hd::to_wif(&k.inner.secret_bytes(), Network::Main).to_string()
    }

    #[test]
    fn bip380_checksums() {
        // BIP380's and Core's descriptor_tests vectors.
        let d = "sh(multi(2,[00000000/111'/222]xpub6ERApfZwUNrhLCkDtcHTcxd75RbzS1ed54G1LkBUHQVHQKqhMkhgbmJbZRkrgZw4koxb5JaHWkY4ALHY2grBGRjaDMzQLcgJvLJuZZvRcEL,xpub68NZiKmJWnxxS6aaHmn81bvJeTESw724CRDs6HbuccFQN9Ku14VQrADWgqbhhTHBaohPX4CjNLf9fq9MYo6oDaPPLPxSb7gwQN3ih19Zm4Y/0))";
        assert_eq!(checksum(d).as_deref(), Some("tjg09x5t"));
        assert_eq!(checksum("raw(deadbeef)").as_deref(), Some("89f8spxm"));
        assert_eq!(checksum("raw(Ü)"), None);
        let tr = "tr(a34b99f22c790c4e36b2b3c2c35a36db06226e41c692fc82b8b56ac1c540c5bd)";
        let e = |s: &str| {
            Descriptor::parse(s, Network::Main)
                .expect_err("bad")
                .to_string()
        };
        assert_eq!(
            e(&format!("{tr}#")),
            "Expected 8 character checksum, not 0 characters"
        );
        assert_eq!(
            e(&format!("{tr}#abcdefghi")),
            "Expected 8 character checksum, not 9 characters"
        );
        assert_eq!(e(&format!("{tr}##aaaaaaaa")), "Multiple '#' symbols");
        let good = checksum(tr).expect("sum");
        assert!(e(&format!("{tr}#qqqqqqqq")).starts_with(&format!(
            "Provided checksum 'qqqqqqqq' does not match computed checksum '{good}'"
        )));
        Descriptor::parse(&format!("{tr}#{good}"), Network::Main).expect("matching checksum");
    }

    #[test]
    fn bip386_tr_vectors() {
        let parse = |s: &str| Descriptor::parse(s, Network::Main).expect("parses");
        let expected = "512077aab6e066f8a7419c5ab714c12c67d25007ed55a43cadcacb4d7a970a093f11";
        let hexkey = parse("tr(a34b99f22c790c4e36b2b3c2c35a36db06226e41c692fc82b8b56ac1c540c5bd)");
        assert_eq!(script(&hexkey, 0), expected);
        let wif = parse(&format!(
            "tr({})",
            dotcoin_wif("L4rK1yDtCWekvXuE6oXD9jCYfFNV2cWRpVuPLBcCU2z8TrisoyY1")
        ));
        assert_eq!(script(&wif, 0), expected);
        assert!(wif.has_private_keys() && !hexkey.has_private_keys());
        assert_eq!(wif.public().to_public_string(), hexkey.to_public_string());
        let xprv = "xprv9s21ZrQH143K3GJpoapnV8SFfukcVBSfeCficPSGfubmSFDxo1kuHnLisriDvSnRRuL2Qrg5ggqHKNVpxR86QEC8w35uxmGoggxtQTPvfUu";
        let one = parse(&format!("tr({xprv}/86'/0'/0'/0/0)"));
        assert_eq!(
            script(&one, 0),
            "5120a60869f0dbcf1dc659c9cecbaf8050135ea9e8cdc487053f1dc6880949dc684c"
        );
        let ranged = parse(&format!("tr({xprv}/86'/0'/0'/0/*)"));
        assert!(ranged.is_range());
        for (i, want) in [
            "5120a60869f0dbcf1dc659c9cecbaf8050135ea9e8cdc487053f1dc6880949dc684c",
            "5120a82f29944d65b86ae6b5e5cc75e294ead6c59391a1edc5e016e3498c67fc7bbb",
        ]
        .iter()
        .enumerate()
        {
            assert_eq!(script(&ranged, i as u32), *want, "index {i}");
        }
        // BIP86's first change key.
        let change = parse(&format!("tr({xprv}/86h/0h/0h/1/*)"));
        assert_eq!(
            script(&change, 0),
            "5120882d74e5d0572d5a816cef0041a96b6c1de832f6f9676d9605c44d5e9a97d3dc"
        );
        // The same keys through the account xpub with its origin, as a watch-only
        // wallet holds them.
        let watch = parse("tr([73c5da0a/86'/0'/0']xpub6BgBgsespWvERF3LHQu6CnqdvfEvtMcQjYrcRzx53QJjSxarj2afYWcLteoGVky7D3UKDP9QyrLprQ3VCECoY49yfdDEHGCtMMj92pReUsQ/0/*)");
        for i in 0..3 {
            assert_eq!(script(&watch, i), script(&ranged, i));
        }
        assert_eq!(
            watch.key_origin(2).map(|(fp, p)| format!("{fp}/{p}")),
            Some("73c5da0a/86'/0'/0'/0/2".to_owned())
        );
        // Signing keys are the tweaked keys of the outputs.
        let kp = ranged.signing_key(1).expect("ok").expect("private");
        assert_eq!(
            PubKey(kp.x_only_public_key().0.serialize()),
            ranged.derive(1).expect("d").output
        );
        assert!(watch.signing_key(1).expect("ok").is_none());
    }

    #[test]
    fn core_rawtr_vectors() {
        let parse = |s: &str| Descriptor::parse(s, Network::Main).expect("parses");
        // Core's descriptor_tests: rawtr() of a key is the key itself.
        let wif = parse(&format!(
            "rawtr({})",
            dotcoin_wif("L4rK1yDtCWekvXuE6oXD9jCYfFNV2cWRpVuPLBcCU2z8TrisoyY1")
        ));
        assert_eq!(
            script(&wif, 0),
            "5120a34b99f22c790c4e36b2b3c2c35a36db06226e41c692fc82b8b56ac1c540c5bd"
        );
        let text = "rawtr(xprv9vHkqa6EV4sPZHYqZznhT2NPtPCjKuDKGY38FBWLvgaDx45zo9WQRUT3dKYnjwih2yJD9mkrocEZXo1ex8G81dwSM1fwqWpWkeS3v86pgKt/86'/1'/0'/1/0)#q8dqvgc8";
        let x = parse(text);
        assert_eq!(
            script(&x, 0),
            "51205172af752f057d543ce8e4a6f8dcf15548ec6be44041bfa93b72e191cfc8c1ee"
        );
        // Printed as typed: apostrophes kept, so the checksum is the same.
        assert_eq!(x.to_private_string().expect("private").as_str(), text);
        let key = x.signing_key(0).expect("ok").expect("private");
        assert_eq!(
            PubKey(key.x_only_public_key().0.serialize()),
            x.derive(0).expect("d").output
        );
    }

    #[test]
    fn refusals() {
        let e = |s: &str| {
            Descriptor::parse(s, Network::Regtest)
                .expect_err("bad")
                .to_string()
        };
        assert!(
            e("wpkh(a34b99f22c790c4e36b2b3c2c35a36db06226e41c692fc82b8b56ac1c540c5bd)")
                .contains("only tr(KEY) and rawtr(KEY)")
        );
        assert!(e("tr(a34b99f22c790c4e36b2b3c2c35a36db06226e41c692fc82b8b56ac1c540c5bd,pk(a34b99f22c790c4e36b2b3c2c35a36db06226e41c692fc82b8b56ac1c540c5bd))").contains("script tree"));
        assert!(e("tr(xprv9s21ZrQH143K3GJpoapnV8SFfukcVBSfeCficPSGfubmSFDxo1kuHnLisriDvSnRRuL2Qrg5ggqHKNVpxR86QEC8w35uxmGoggxtQTPvfUu/0/*)").contains("is not for regtest"));
        let tpub = Xpub::from_priv(
            &Secp256k1::new(),
            &Xpriv::new_master(bitcoin::NetworkKind::Test, &[7u8; 32]).expect("master"),
        );
        assert!(e(&format!("tr({tpub}/1'/*)")).contains("Hardened derivation is not possible"));
        assert!(e(&format!("tr({tpub}/*/1)")).contains("last element"));
        assert!(e(&format!("tr({tpub}/x)")).contains("is not a valid uint32"));
        assert!(e(&format!("tr({tpub}/0/*")).contains("does not end with ')'"));
        assert!(
            e("tr([0011/1]a34b99f22c790c4e36b2b3c2c35a36db06226e41c692fc82b8b56ac1c540c5bd)")
                .contains("Fingerprint is not 4 bytes")
        );
        let single = Descriptor::parse(
            "rawtr(a34b99f22c790c4e36b2b3c2c35a36db06226e41c692fc82b8b56ac1c540c5bd)",
            Network::Regtest,
        )
        .expect("ok");
        assert!(single.derive(1).is_err());
        assert!(single.addresses(0, MAX_RANGE).is_err());
    }
}
