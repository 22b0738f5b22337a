//! Passphrase encryption of private keys: Argon2id turns the passphrase and a random salt
//! into a 32-byte key; XChaCha20-Poly1305 seals each secret with a fresh random 24-byte nonce
//! (large enough that random nonces never collide) and the key's public key as associated
//! data, so a sealed secret cannot be moved onto another key record unnoticed.
//!
//! Pure functions over bytes: no files, no prompts.

use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::WalletError;

/// Length of the Argon2 salt.
pub const SALT_LEN: usize = 16;
/// Length of an XChaCha20 nonce.
pub const NONCE_LEN: usize = 24;

/// Argon2id cost parameters, stored in the wallet file so they can be raised later without
/// breaking old wallets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    /// Memory in KiB.
    pub m_cost: u32,
    /// Passes.
    pub t_cost: u32,
    /// Lanes.
    pub p_cost: u32,
}

impl KdfParams {
    /// OWASP's recommended Argon2id setting (19 MiB, 2 passes, 1 lane): a fraction of a
    /// second per unlock, costly for a guesser.
    pub const DEFAULT: KdfParams = KdfParams {
        m_cost: 19 * 1024,
        t_cost: 2,
        p_cost: 1,
    };
    /// The cheapest setting Argon2 accepts; for unit tests only.
    pub const INSECURE_FAST: KdfParams = KdfParams {
        m_cost: 8,
        t_cost: 1,
        p_cost: 1,
    };
}

/// The symmetric key derived from a passphrase. Wiped from memory when dropped.
#[derive(Clone)]
pub struct MasterKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

/// Derives the master key from `passphrase` and `salt`.
pub fn derive_key(
    passphrase: &[u8],
    salt: &[u8],
    params: KdfParams,
) -> Result<MasterKey, WalletError> {
    let argon_params = Params::new(params.m_cost, params.t_cost, params.p_cost, Some(32))
        .map_err(|e| WalletError::Crypto(format!("bad argon2 parameters: {e}")))?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, argon_params);
    let mut key = Zeroizing::new([0u8; 32]);
    argon
        .hash_password_into(passphrase, salt, key.as_mut())
        .map_err(|e| WalletError::Crypto(format!("key derivation failed: {e}")))?;
    Ok(MasterKey(key))
}

/// A sealed secret: nonce and ciphertext (with the 16-byte tag), hex in the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sealed {
    /// 24 random bytes, hex.
    pub nonce: String,
    /// Ciphertext and tag, hex.
    pub ciphertext: String,
}

/// Encrypts `plaintext` under `key`, binding it to `aad`.
pub fn seal(key: &MasterKey, aad: &[u8], plaintext: &[u8]) -> Result<Sealed, WalletError> {
    let cipher = XChaCha20Poly1305::new(chacha20poly1305::Key::from_slice(key.0.as_slice()));
    let nonce: [u8; NONCE_LEN] = rand::random();
    let ciphertext = cipher
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .map_err(|_| WalletError::Crypto("encryption failed".into()))?;
    Ok(Sealed {
        nonce: hex::encode(nonce),
        ciphertext: hex::encode(ciphertext),
    })
}

/// Decrypts a sealed secret. `None` if the key (the passphrase) is wrong or the data was
/// altered: an AEAD cannot tell the two apart.
pub fn open(key: &MasterKey, aad: &[u8], sealed: &Sealed) -> Option<Zeroizing<Vec<u8>>> {
    let nonce = hex::decode(&sealed.nonce)
        .ok()
        .filter(|n| n.len() == NONCE_LEN)?;
    let ciphertext = hex::decode(&sealed.ciphertext).ok()?;
    let cipher = XChaCha20Poly1305::new(chacha20poly1305::Key::from_slice(key.0.as_slice()));
    cipher
        .decrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: &ciphertext,
                aad,
            },
        )
        .ok()
        .map(Zeroizing::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_wrong_key() {
        let salt = [3u8; SALT_LEN];
        let key = derive_key(b"correct horse", &salt, KdfParams::INSECURE_FAST).expect("derive");
        let sealed = seal(&key, b"aad", b"secret bytes").expect("seal");
        assert_eq!(
            open(&key, b"aad", &sealed).expect("opens").as_slice(),
            b"secret bytes"
        );
        // Another associated datum (another key record) does not open it.
        assert!(open(&key, b"other", &sealed).is_none());
        let wrong = derive_key(b"wrong horse", &salt, KdfParams::INSECURE_FAST).expect("derive");
        assert!(open(&wrong, b"aad", &sealed).is_none());
        // Fresh nonce each time.
        assert_ne!(
            seal(&key, b"aad", b"secret bytes").expect("seal").nonce,
            sealed.nonce
        );
    }

    #[test]
    fn derivation_depends_on_salt() {
        let a = derive_key(b"pw", &[1u8; SALT_LEN], KdfParams::INSECURE_FAST).expect("derive");
        let b = derive_key(b"pw", &[2u8; SALT_LEN], KdfParams::INSECURE_FAST).expect("derive");
        assert_ne!(a.0.as_slice(), b.0.as_slice());
    }
}
