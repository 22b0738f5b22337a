//! Who may call: HTTP Basic credentials, either a cookie (a random password written to a
//! 0600 file that only the datadir's owner can read) or `rpcuser`/`rpcpassword` from the
//! config, checked in constant time.

use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;

/// The credentials a service accepts, kept as the `Authorization` header they make.
#[derive(Clone)]
pub struct Credentials {
    header: String,
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
        }
    }

    /// Whether an `Authorization` header carries these credentials.
    pub fn accepts(&self, header: Option<&http::HeaderValue>) -> bool {
        header.is_some_and(|v| constant_time_eq(v.as_bytes(), self.header.as_bytes()))
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
