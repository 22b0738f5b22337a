//! The persister: where wallet files live and how they are written. All of the wallet's
//! file I/O is here.
//!
//! A write is atomic: the new content goes to a temporary file in the same directory
//! (created with mode 0600), is fsynced, renamed over the old file, and the directory is
//! fsynced so the rename itself is durable. A crash (or SIGKILL) at any instant leaves
//! either the old file or the new one, never a mix; a failed write leaves the old file and
//! no temporary file behind.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use dotcoin_common::params::network_datadir;
use dotcoin_common::Network;

use crate::error::WalletError;
use crate::wallet::{Wallet, WalletFile};

/// Name of the wallets directory below a network's datadir.
pub const WALLETS_DIR: &str = "wallets";

/// The largest wallet file read: about a million keys with their history. A larger file
/// is refused before it is read, so a hostile or damaged one cannot take the memory.
pub const MAX_WALLET_FILE_BYTES: u64 = 512 << 20;

/// `<network datadir>/wallets/<name>.json`, after checking `name` is a plain file name.
pub fn wallet_path(
    base_datadir: &Path,
    network: Network,
    name: &str,
) -> Result<PathBuf, WalletError> {
    let valid = !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if !valid {
        return Err(WalletError::BadWalletName(name.to_owned()));
    }
    Ok(network_datadir(base_datadir, network)
        .join(WALLETS_DIR)
        .join(format!("{name}.json")))
}

/// Reads and writes one wallet file.
#[derive(Debug, Clone)]
pub struct Store {
    path: PathBuf,
}

impl Store {
    /// The store of the file at `path`.
    pub fn new(path: PathBuf) -> Store {
        Store { path }
    }

    /// The wallet file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Takes the wallet's exclusive lock (an OS file lock on `.<name>.lock` beside the
    /// file), held until the returned guard drops, so two processes never write the same
    /// wallet. Refused with [`WalletError::InUse`] while another process holds it.
    pub fn lock(&self) -> Result<WalletLock, WalletError> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| WalletError::io("cannot create wallet directory", dir, e))?;
        let name = self
            .path
            .file_name()
            .expect("wallet paths end in a file name")
            .to_string_lossy();
        let lock_path = dir.join(format!(".{name}.lock"));
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&lock_path)
            .map_err(|e| WalletError::io("cannot open wallet lock file", &lock_path, e))?;
        match file.try_lock() {
            Ok(()) => Ok(WalletLock { _file: file }),
            Err(fs::TryLockError::WouldBlock) => Err(WalletError::InUse(self.path.clone())),
            Err(fs::TryLockError::Error(e)) => {
                Err(WalletError::io("cannot lock wallet file", &lock_path, e))
            }
        }
    }

    /// Writes a new wallet; refuses if the file exists (even if it appears meanwhile).
    pub fn create(&self, wallet: &mut Wallet) -> Result<(), WalletError> {
        if self.path.exists() {
            return Err(WalletError::AlreadyExists(self.path.clone()));
        }
        if let Some(dir) = self.path.parent() {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| WalletError::io("cannot create wallet directory", dir, e))?;
        }
        let bytes = wallet.file().to_json();
        match write_atomic(&self.path, &bytes, Mode::CreateNew) {
            Ok(()) => {
                let _ = wallet.take_staged();
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                Err(WalletError::AlreadyExists(self.path.clone()))
            }
            Err(e) => Err(WalletError::io("cannot write wallet file", &self.path, e)),
        }
    }

    /// Loads and checks the wallet.
    pub fn load(&self, network: Network) -> Result<Wallet, WalletError> {
        remove_stale_temps(&self.path);
        let file = match File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(WalletError::NotFound(self.path.clone()))
            }
            Err(e) => return Err(WalletError::io("cannot read wallet file", &self.path, e)),
        };
        let too_large = || WalletError::Corrupt {
            path: self.path.clone(),
            reason: format!(
                "larger than {} MiB, the most a wallet file may be",
                MAX_WALLET_FILE_BYTES >> 20
            ),
        };
        if file
            .metadata()
            .is_ok_and(|m| m.len() > MAX_WALLET_FILE_BYTES)
        {
            return Err(too_large());
        }
        let mut bytes = Vec::new();
        // Bounded by what is read too, not only by what the file claimed: it may grow.
        file.take(MAX_WALLET_FILE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| WalletError::io("cannot read wallet file", &self.path, e))?;
        if bytes.len() as u64 > MAX_WALLET_FILE_BYTES {
            return Err(too_large());
        }
        decode(&bytes, network).map_err(|e| match e {
            WalletError::Corrupt { reason, .. } => WalletError::Corrupt {
                path: self.path.clone(),
                reason,
            },
            other => other,
        })
    }

    /// Writes the wallet if it has staged changes. Returns whether it wrote.
    pub fn persist(&self, wallet: &mut Wallet) -> Result<bool, WalletError> {
        if wallet.staged().is_empty() {
            return Ok(false);
        }
        write_atomic(&self.path, &wallet.file().to_json(), Mode::Replace)
            .map_err(|e| WalletError::io("cannot write wallet file", &self.path, e))?;
        let _ = wallet.take_staged();
        Ok(true)
    }

    /// `backupwallet`: writes a copy of the wallet to `destination` (a file, or a
    /// directory to put `<name>.json` in), then records the backup in the wallet itself.
    /// If the copy fails, the wallet file is not touched.
    pub fn backup(&self, wallet: &mut Wallet, destination: &Path) -> Result<PathBuf, WalletError> {
        let dest = if destination.is_dir() {
            destination.join(
                self.path
                    .file_name()
                    .expect("wallet paths end in a file name"),
            )
        } else {
            destination.to_path_buf()
        };
        if same_file(&dest, &self.path) {
            return Err(WalletError::io(
                "cannot back up to",
                &dest,
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "that is the wallet file itself",
                ),
            ));
        }
        wallet.mark_backed_up();
        write_atomic(&dest, &wallet.file().to_json(), Mode::Replace)
            .map_err(|e| WalletError::io("cannot write backup", &dest, e))?;
        self.persist(wallet)?;
        Ok(dest)
    }
}

/// A held wallet lock; the OS releases it when this drops (or the process dies).
#[derive(Debug)]
pub struct WalletLock {
    _file: File,
}

/// The wallet in a wallet file's bytes, checked as [`Store::load`] checks it (which adds
/// the path to a `Corrupt` error). No I/O, so the fuzzer can feed it any bytes.
pub fn decode(bytes: &[u8], network: Network) -> Result<Wallet, WalletError> {
    Wallet::open(WalletFile::from_json(bytes)?, network)
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (fs::canonicalize(a), fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Whether a write may replace an existing file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Fail with `AlreadyExists` if the file exists.
    CreateNew,
    /// Replace it.
    Replace,
}

/// Removes temporary files that a killed writer of `path` left behind. They are full
/// copies of the wallet (keys in plain text unless it is encrypted), so they must not
/// linger; a temp file whose writing process still runs is left alone.
fn remove_stale_temps(path: &Path) {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return;
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let prefix = format!(".{}.tmp-", name.to_string_lossy());
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = file_name.strip_prefix(&prefix) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Writes `bytes` to `path` atomically, mode 0600.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: Mode) -> io::Result<()> {
    write_atomic_with(path, bytes, mode, |file, bytes| file.write_all(bytes))
}

/// [`write_atomic`] with the content written by `write`, so tests can make it fail midway.
fn write_atomic_with(
    path: &Path,
    bytes: &[u8],
    mode: Mode,
    write: impl FnOnce(&mut File, &[u8]) -> io::Result<()>,
) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"))?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}-{:016x}",
        name.to_string_lossy(),
        std::process::id(),
        rand::random::<u64>()
    ));
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        write(&mut file, bytes)?;
        file.sync_all()?;
        drop(file);
        match mode {
            // A hard link fails if the target exists: creation without a check-then-write race.
            Mode::CreateNew => {
                fs::hard_link(&tmp, path)?;
                fs::remove_file(&tmp)?;
            }
            Mode::Replace => fs::rename(&tmp, path)?,
        }
        File::open(&dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wallet_file_over_the_size_bound_is_refused_unread() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::new(dir.path().join("w.json"));
        // Sparse, so it costs no disk: refused by its length, before a byte is read.
        let f = File::create(store.path()).expect("create");
        f.set_len(MAX_WALLET_FILE_BYTES + 1).expect("grow");
        match store.load(Network::Regtest) {
            Err(WalletError::Corrupt { reason, path }) => {
                assert!(reason.contains("larger than 512 MiB"), "{reason}");
                assert_eq!(path, store.path());
            }
            other => panic!("refused for its size: {other:?}"),
        }
    }

    #[test]
    fn stale_temp_files_of_dead_writers_are_removed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("w.json");
        // pid_max on Linux is at most 2^22, so this writer cannot be alive.
        let dead = dir.path().join(".w.json.tmp-99999999-0000000000000001");
        let alive = dir.path().join(format!(
            ".w.json.tmp-{}-0000000000000002",
            std::process::id()
        ));
        let other = dir.path().join(".x.json.tmp-99999999-0000000000000003");
        for f in [&dead, &alive, &other] {
            fs::write(f, b"{}").expect("write");
        }
        remove_stale_temps(&path);
        assert!(!dead.exists(), "a dead writer's copy is removed");
        assert!(alive.exists(), "a running writer's file is kept");
        assert!(other.exists(), "another wallet's files are not touched");
    }
    use std::os::unix::fs::PermissionsExt;

    use crate::wallet::{KeyRecord, Purpose};

    fn store(dir: &Path) -> Store {
        Store::new(wallet_path(dir, Network::Regtest, "default").expect("valid name"))
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .expect("dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn paths_and_names() {
        let base = Path::new("/data");
        assert_eq!(
            wallet_path(base, Network::Regtest, "default").expect("ok"),
            PathBuf::from("/data/regtest/wallets/default.json")
        );
        assert_eq!(
            wallet_path(base, Network::Main, "alice").expect("ok"),
            PathBuf::from("/data/wallets/alice.json")
        );
        for bad in ["", "../x", "a/b", ".hidden"] {
            assert_eq!(
                wallet_path(base, Network::Main, bad)
                    .expect_err("bad")
                    .to_string(),
                format!(
                    "invalid wallet name '{bad}': use letters, digits, '_', '-' and '.', not \
                     starting with '.'"
                )
            );
        }
    }

    #[test]
    fn create_load_round_trip_mode_0600_and_no_overwrite() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = store(dir.path());
        let mut wallet = Wallet::create(Network::Regtest, 2);
        store.create(&mut wallet).expect("creates");
        assert!(wallet.staged().is_empty());
        let mode = fs::metadata(store.path())
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let loaded = store.load(Network::Regtest).expect("loads");
        assert_eq!(loaded.file(), wallet.file());

        let before = fs::read(store.path()).expect("read");
        let err = store
            .create(&mut Wallet::create(Network::Regtest, 2))
            .expect_err("exists");
        assert_eq!(
            err.to_string(),
            format!(
                "wallet file {} already exists; refusing to overwrite it",
                store.path().display()
            )
        );
        assert_eq!(fs::read(store.path()).expect("read"), before);
        assert_eq!(
            entries(store.path().parent().expect("dir")),
            vec!["default.json"]
        );
    }

    #[test]
    fn persist_writes_only_when_changed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = store(dir.path());
        let mut wallet = Wallet::create(Network::Regtest, 2);
        store.create(&mut wallet).expect("creates");
        let mut loaded = store.load(Network::Regtest).expect("loads");
        assert!(!store.persist(&mut loaded).expect("nothing to do"));
        let addr = loaded.new_address("x").expect("address");
        assert!(store.persist(&mut loaded).expect("writes"));
        let mode = fs::metadata(store.path())
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "mode kept after replace");
        let again = store.load(Network::Regtest).expect("loads");
        assert_eq!(
            again.record(&addr.to_string()).expect("persisted").label,
            "x"
        );
    }

    #[test]
    fn failed_write_leaves_old_file_intact() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("w.json");
        write_atomic(&path, b"old content", Mode::Replace).expect("first write");
        let err = write_atomic_with(
            &path,
            b"new content that is longer",
            Mode::Replace,
            |f, b| {
                f.write_all(&b[..5])?;
                Err(io::Error::other("disk full (simulated)"))
            },
        )
        .expect_err("fails");
        assert_eq!(err.to_string(), "disk full (simulated)");
        assert_eq!(fs::read(&path).expect("read"), b"old content");
        assert_eq!(
            entries(dir.path()),
            vec!["w.json"],
            "temporary file removed"
        );
    }

    #[test]
    fn write_into_missing_directory_fails_cleanly() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("missing").join("w.json");
        assert!(write_atomic(&path, b"x", Mode::Replace).is_err());
        assert_eq!(entries(dir.path()), Vec::<String>::new());
    }

    #[test]
    fn a_second_lock_is_refused_until_the_first_drops() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = store(dir.path());
        let held = store.lock().expect("first lock");
        let err = store.lock().expect_err("second lock");
        assert!(matches!(err, WalletError::InUse(_)), "{err}");
        drop(held);
        store.lock().expect("free again");
    }

    #[test]
    fn load_errors() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = store(dir.path());
        assert_eq!(
            store
                .load(Network::Regtest)
                .expect_err("missing")
                .to_string(),
            format!(
                "wallet file {} not found (create it with `dotcoin-wallet create`)",
                store.path().display()
            )
        );
        fs::create_dir_all(store.path().parent().expect("dir")).expect("mkdir");
        fs::write(store.path(), b"{not json").expect("write");
        let err = store
            .load(Network::Regtest)
            .expect_err("corrupt")
            .to_string();
        assert!(
            err.starts_with(&format!(
                "wallet file {} is corrupt: not JSON",
                store.path().display()
            )),
            "{err}"
        );
    }

    #[test]
    fn backup_records_and_copies() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = store(dir.path());
        let mut wallet = Wallet::create(Network::Regtest, 1);
        store.create(&mut wallet).expect("creates");
        wallet.new_address("").expect("a");
        wallet.new_address("").expect("b");
        assert!(wallet.backup_needed());
        let backups = tempfile::tempdir().expect("tempdir");
        let dest = store.backup(&mut wallet, backups.path()).expect("backs up");
        assert_eq!(dest, backups.path().join("default.json"));
        assert!(!wallet.backup_needed());
        let copy: WalletFile =
            WalletFile::from_json(&fs::read(&dest).expect("read")).expect("parses");
        assert_eq!(&copy, wallet.file());
        assert_eq!(
            fs::read(store.path()).expect("read"),
            wallet.file().to_json()
        );
        let err = store.backup(&mut wallet, store.path()).expect_err("itself");
        assert!(
            err.to_string().ends_with("that is the wallet file itself"),
            "{err}"
        );
        // Record layout sanity: handed-out keys are not pool keys.
        let issued: Vec<&KeyRecord> = wallet.issued().collect();
        assert!(issued.iter().all(|k| k.purpose == Purpose::Receive));
    }
}
