//! Who may call: HTTP Basic credentials, either a cookie (a random password written to a
//! 0600 file that only the datadir's owner can read) or `rpcuser`/`rpcpassword` from the
//! config, checked in constant time; and any number of Bitcoin Core's `rpcauth` entries,
//! which keep only a salted HMAC-SHA256 of a password, so a config file that leaks does
//! not give the password away.

use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;

/// The credentials a service accepts: the `Authorization` header of its own user and
/// password, and its `rpcauth` entries.
#[derive(Clone)]
pub struct Credentials {
    header: String,
    rpcauth: Vec<RpcAuthEntry>,
}

/// One of Bitcoin Core's `rpcauth` entries, `user:salt$hash`: `hash` is the hex
/// HMAC-SHA256 of the password keyed with `salt` (as `share/rpcauth/rpcauth.py` and
/// `contrib/rpcauth.py` make them).
#[derive(Clone, PartialEq, Eq)]
pub struct RpcAuthEntry {
    user: String,
    salt: String,
    hash: [u8; 32],
}

impl std::fmt::Debug for RpcAuthEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RpcAuthEntry({})", self.user)
    }
}

impl std::str::FromStr for RpcAuthEntry {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (user, rest) = s
            .split_once(':')
            .ok_or("expected user:salt$hash (see contrib/rpcauth.py)")?;
        let (salt, hash) = rest
            .split_once('$')
            .ok_or("expected user:salt$hash (see contrib/rpcauth.py)")?;
        if user.is_empty() || salt.is_empty() {
            return Err("the user and the salt must not be empty".into());
        }
        let hash: [u8; 32] = hex::decode(hash)
            .ok()
            .and_then(|h| h.try_into().ok())
            .ok_or("the hash must be 64 hex digits (HMAC-SHA256)")?;
        Ok(RpcAuthEntry {
            user: user.to_owned(),
            salt: salt.to_owned(),
            hash,
        })
    }
}

impl RpcAuthEntry {
    /// The entry for `user` with `password` and `salt`, as `user:salt$hash`.
    pub fn line(user: &str, password: &str, salt: &str) -> String {
        format!("{user}:{salt}${}", hex::encode(hmac(salt, password)))
    }

    fn accepts(&self, user: &str, password: &str) -> bool {
        // The user name is not secret; the hash comparison is constant-time.
        user == self.user && constant_time_eq(&hmac(&self.salt, password), &self.hash)
    }
}

/// HMAC-SHA256 of `message` keyed with `key`.
fn hmac(key: &str, message: &str) -> [u8; 32] {
    use bitcoin_hashes::{hmac, sha256, Hash, HashEngine};
    let mut engine = hmac::HmacEngine::<sha256::Hash>::new(key.as_bytes());
    engine.input(message.as_bytes());
    hmac::Hmac::<sha256::Hash>::from_engine(engine).to_byte_array()
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The header is the password in base64: never printed.
        f.write_str("Credentials(..)")
    }
}

impl Credentials {
    /// Accepts requests whose Basic credentials are `user:password`.
    pub fn new(user: &str, password: &str) -> Credentials {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        Credentials {
            header: format!("Basic {token}"),
            rpcauth: Vec::new(),
        }
    }

    /// Accepts the users of `entries` too.
    pub fn with_rpcauth(mut self, entries: Vec<RpcAuthEntry>) -> Credentials {
        self.rpcauth = entries;
        self
    }

    /// Whether an `Authorization` header carries these credentials.
    pub fn accepts(&self, header: Option<&http::HeaderValue>) -> bool {
        let Some(v) = header else {
            return false;
        };
        if constant_time_eq(v.as_bytes(), self.header.as_bytes()) {
            return true;
        }
        if self.rpcauth.is_empty() {
            return false;
        }
        let Some(decoded) = v
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Basic "))
            .and_then(|b| {
                base64::engine::general_purpose::STANDARD
                    .decode(b.trim())
                    .ok()
            })
            .and_then(|d| String::from_utf8(d).ok())
        else {
            return false;
        };
        let Some((user, password)) = decoded.split_once(':') else {
            return false;
        };
        self.rpcauth.iter().any(|e| e.accepts(user, password))
    }
}

/// Compares in time independent of where the first difference is (credentials).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Writes `content` to `dir/name` with mode 0600, atomically (a temporary file renamed
/// over it), so a reader never sees half a secret.
pub fn write_private_file(dir: &Path, name: &str, content: &str) -> std::io::Result<PathBuf> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::create_dir_all(dir)?;
    let path = dir.join(name);
    let tmp = dir.join(format!("{name}.tmp"));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(content.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, &path)?;
    Ok(path)
}

/// Writes a cookie `user:<64 hex digits>` to `dir/name` and returns its path and password.
pub fn write_cookie(dir: &Path, name: &str, user: &str) -> std::io::Result<(PathBuf, String)> {
    let password = hex::encode(rand::random::<[u8; 32]>());
    let path = write_private_file(dir, name, &format!("{user}:{password}"))?;
    Ok((path, password))
}

#[cfg(test)]
mod rpcauth_tests {
    use super::*;

    fn basic(user: &str, password: &str) -> http::HeaderValue {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        http::HeaderValue::from_str(&format!("Basic {token}")).expect("header")
    }

    #[test]
    fn rpcauth_entries_accept_their_password_only() {
        let line = RpcAuthEntry::line("alice", "secret", "cb77f0957de88ff388cf817ddbc7273");
        let entry: RpcAuthEntry = line.parse().expect("its own line parses");
        let creds = Credentials::new("__cookie__", "c").with_rpcauth(vec![entry]);
        assert!(creds.accepts(Some(&basic("alice", "secret"))));
        assert!(creds.accepts(Some(&basic("__cookie__", "c"))));
        assert!(!creds.accepts(Some(&basic("alice", "secreT"))));
        assert!(!creds.accepts(Some(&basic("bob", "secret"))));
        assert!(!creds.accepts(Some(&http::HeaderValue::from_static("Basic !!!"))));
        assert!(!creds.accepts(None));
        for bad in [
            "alice",
            "alice:salt",
            "alice:salt$00",
            ":s$",
            "a:$00",
            "a:s$zz",
        ] {
            assert!(bad.parse::<RpcAuthEntry>().is_err(), "{bad}");
        }
        // The hash is HMAC-SHA256(key = salt, message = password), hex.
        assert_eq!(
            RpcAuthEntry::line("u", "p", "s"),
            "u:s$9d97373bced51883ef60d48f996df9497e2f90a9e680d273e90ce8ff5a88daf2"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_compare() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }

    #[test]
    fn credentials_accept_only_their_own_header() {
        let c = Credentials::new("Aladdin", "open sesame");
        let good = http::HeaderValue::from_static("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
        let bad = http::HeaderValue::from_static("Basic QWxhZGRpbjpvcGVuIHNlc2FtZR==");
        assert!(c.accepts(Some(&good)));
        assert!(!c.accepts(Some(&bad)));
        assert!(!c.accepts(None));
        assert!(!format!("{c:?}").contains("QWxh"));
    }

    #[test]
    fn cookie_is_private_and_fresh() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let (path, first) = write_cookie(dir.path(), ".cookie", "__cookie__").expect("write");
        let mode = std::fs::metadata(&path).expect("stat").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let text = std::fs::read_to_string(&path).expect("read");
        assert_eq!(text, format!("__cookie__:{first}"));
        assert_eq!(first.len(), 64);
        let (_, second) = write_cookie(dir.path(), ".cookie", "__cookie__").expect("rewrite");
        assert_ne!(first, second);
    }
}
