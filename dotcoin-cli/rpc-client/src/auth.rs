//! RPC credentials: where they come from (`rpcuser`/`rpcpassword`, or the cookie file
//! `dotcoind` writes at start) and how they become an HTTP Basic `Authorization` header.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use dotcoin_common::params::COOKIE_USER;

use crate::client::RpcError;

/// Where a client gets its credentials.
///
/// The cookie is re-read before each request rather than cached: the node writes a new
/// random cookie every time it starts, so a long-lived client (the wallet, the functional
/// tests) keeps working across a node restart.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum Credentials {
    /// `rpcuser`/`rpcpassword` given explicitly; holds the ready `Authorization` value.
    UserPassword(String),
    /// The cookie file at this path.
    Cookie(PathBuf),
}

impl std::fmt::Debug for Credentials {
    // Hand-written so that a `{:?}` of a client never prints a password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::UserPassword(_) => f.write_str("UserPassword(..)"),
            Credentials::Cookie(path) => f.debug_tuple("Cookie").field(path).finish(),
        }
    }
}

impl Credentials {
    /// The `Authorization` header value to send now (reads the cookie if that is the source).
    pub(crate) fn header(&self) -> Result<String, RpcError> {
        match self {
            Credentials::UserPassword(header) => Ok(header.clone()),
            Credentials::Cookie(path) => {
                let (user, password) = read_cookie(path)?;
                Ok(basic_auth_header(&user, &password))
            }
        }
    }
}

/// `Basic base64(user:password)`, the HTTP Basic `Authorization` value.
pub fn basic_auth_header(user: &str, password: &str) -> String {
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {token}")
}

/// Reads a cookie file (`__cookie__:<hex>`, as `dotcoind` writes it) and returns
/// `(user, password)`.
///
/// Only the first line counts and a trailing newline is ignored, so a cookie written by hand
/// with an editor still works. Content without a `:` is rejected as `InvalidData`.
///
/// A cookie left behind by a program that is no longer running (killed with SIGKILL, the
/// machine reset) is refused before anything is sent: whoever listens on its port now
/// would receive the credentials. See [`check_cookie_writer`].
pub fn read_cookie(path: &Path) -> Result<(String, String), RpcError> {
    let cookie_error = |source| RpcError::Cookie {
        path: path.to_path_buf(),
        source,
    };
    let content = std::fs::read_to_string(path).map_err(cookie_error)?;
    check_cookie_writer(path)?;
    let line = content.lines().next().unwrap_or("");
    match line.split_once(':') {
        Some((user, password)) if !user.is_empty() && !password.is_empty() => {
            Ok((user.to_owned(), password.to_owned()))
        }
        _ => Err(cookie_error(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("expected '{COOKIE_USER}:<hex>' in the cookie file"),
        ))),
    }
}

/// The file next to `dotcoind`'s `.cookie` holding its process id (Core's `bitcoind.pid`;
/// the cookie itself keeps Core's `__cookie__:<hex>` for third-party clients).
pub const NODE_PID_FILE: &str = "dotcoind.pid";
/// The wallet service's ports file, which also holds its process id (`"pid"`).
pub const WALLET_PORTS_FILE: &str = "wallet-service.ports";

/// Which program writes the cookie at `path`, and the process id it recorded alongside,
/// for the two cookies the suite writes (`.cookie` by `dotcoind`, `.wallet-cookie` by
/// the wallet service). `None` when there is nothing to go by: a cookie file of another
/// name (`--rpccookiefile`), or no pid recorded (a node of an older version).
fn cookie_writer(path: &Path) -> Option<(&'static str, u32)> {
    let dir = path.parent()?;
    match path.file_name()?.to_str()? {
        dotcoin_common::params::COOKIE_FILE => {
            let text = std::fs::read_to_string(dir.join(NODE_PID_FILE)).ok()?;
            Some(("dotcoind", text.trim().parse().ok()?))
        }
        crate::client::WALLET_COOKIE_FILE => {
            let text = std::fs::read_to_string(dir.join(WALLET_PORTS_FILE)).ok()?;
            let ports: serde_json::Value = serde_json::from_str(&text).ok()?;
            let pid = ports["pid"].as_u64()?;
            Some(("dotcoin-wallet", u32::try_from(pid).ok()?))
        }
        _ => None,
    }
}

/// Refuses the cookie at `path` when the process that wrote it is gone, or its pid now
/// belongs to another program (`/proc/<pid>/comm`): its port may have been taken by
/// anyone since. Without `/proc` (or a recorded pid) there is nothing to check.
pub fn check_cookie_writer(path: &Path) -> Result<(), RpcError> {
    let Some((program, pid)) = cookie_writer(path) else {
        return Ok(());
    };
    if !Path::new("/proc/self/comm").exists() {
        return Ok(());
    }
    let alive = std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .is_ok_and(|comm| comm.trim_end() == program);
    if alive {
        Ok(())
    } else {
        Err(RpcError::StaleCookie {
            program,
            path: path.to_path_buf(),
            pid,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_header_is_base64_of_user_colon_password() {
        // "Aladdin:open sesame" is RFC 7617's own example.
        assert_eq!(
            basic_auth_header("Aladdin", "open sesame"),
            "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
    }

    #[test]
    fn reads_a_cookie_with_or_without_newline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".cookie");
        for content in [
            "__cookie__:00ff",
            "__cookie__:00ff\n",
            "__cookie__:00ff\r\n",
        ] {
            std::fs::write(&path, content).unwrap();
            assert_eq!(
                read_cookie(&path).unwrap(),
                ("__cookie__".to_owned(), "00ff".to_owned())
            );
        }
    }

    #[test]
    fn a_missing_cookie_names_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("regtest").join(".cookie");
        let err = read_cookie(&path).unwrap_err();
        match &err {
            RpcError::Cookie { path: p, source } => {
                assert_eq!(p, &path);
                assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
            }
            other => panic!("expected a cookie error, got {other:?}"),
        }
        assert!(err.to_string().contains(&path.display().to_string()));
    }

    #[test]
    fn a_malformed_cookie_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".cookie");
        for content in ["", "no-colon", ":nouser", "__cookie__:"] {
            std::fs::write(&path, content).unwrap();
            let err = read_cookie(&path).unwrap_err();
            assert!(
                matches!(&err, RpcError::Cookie { source, .. }
                    if source.kind() == std::io::ErrorKind::InvalidData),
                "{content:?} gave {err:?}"
            );
        }
    }

    #[test]
    fn cookie_credentials_are_reread_each_time() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".cookie");
        let creds = Credentials::Cookie(path.clone());
        std::fs::write(&path, "__cookie__:aa").unwrap();
        assert_eq!(
            creds.header().unwrap(),
            basic_auth_header("__cookie__", "aa")
        );
        // A restarted node writes a new cookie; the same client must pick it up.
        std::fs::write(&path, "__cookie__:bb").unwrap();
        assert_eq!(
            creds.header().unwrap(),
            basic_auth_header("__cookie__", "bb")
        );
    }

    #[test]
    fn debug_hides_the_password() {
        let creds = Credentials::UserPassword(basic_auth_header("u", "secret"));
        assert!(!format!("{creds:?}").contains(&basic_auth_header("u", "secret")));
    }

    #[test]
    fn a_cookie_whose_writer_is_gone_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let cookie = dir.path().join(".cookie");
        std::fs::write(&cookie, "__cookie__:aa").unwrap();
        // No pid file: nothing to go by, as with a node of an older version.
        assert!(read_cookie(&cookie).is_ok());
        // A pid nobody has (above the kernel's pid_max of 2^22).
        std::fs::write(dir.path().join(NODE_PID_FILE), "4194305\n").unwrap();
        let err = read_cookie(&cookie).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "dotcoind is not running (stale cookie file {} written by pid 4194305)",
                cookie.display()
            )
        );
        // A live process that is not dotcoind: this test.
        std::fs::write(
            dir.path().join(NODE_PID_FILE),
            std::process::id().to_string(),
        )
        .unwrap();
        assert!(matches!(
            read_cookie(&cookie),
            Err(RpcError::StaleCookie { pid, .. }) if pid == std::process::id()
        ));

        // The wallet service's pid is in its ports file.
        let wallet = dir.path().join(crate::client::WALLET_COOKIE_FILE);
        std::fs::write(&wallet, "__cookie__:bb").unwrap();
        std::fs::write(
            dir.path().join(WALLET_PORTS_FILE),
            format!("{{\"rpc\": 1, \"pid\": {}}}", std::process::id()),
        )
        .unwrap();
        let err = read_cookie(&wallet).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("dotcoin-wallet is not running (stale cookie file"),
            "{err}"
        );
        // Another cookie name is not checked.
        let other = dir.path().join("custom.cookie");
        std::fs::write(&other, "__cookie__:cc").unwrap();
        assert!(read_cookie(&other).is_ok());
    }
}
