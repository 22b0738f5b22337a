//! Where a passphrase comes from: `--passphrase-file`, or a prompt on the terminal (read
//! without echo). When stdin is not a terminal and no file is given, commands that need
//! the passphrase fail with a message saying how to give it, rather than hang.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::error::WalletError;

/// How to get the passphrase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PassphraseSource {
    /// The first line of a file.
    File(PathBuf),
    /// Prompt on the controlling terminal.
    Terminal,
    /// No way to ask.
    Unavailable,
}

impl PassphraseSource {
    /// The file if given, else the terminal if stdin is one.
    pub fn detect(file: Option<PathBuf>) -> PassphraseSource {
        match file {
            Some(f) => PassphraseSource::File(f),
            None if std::io::stdin().is_terminal() => PassphraseSource::Terminal,
            None => PassphraseSource::Unavailable,
        }
    }

    /// Whether a passphrase can be had without failing.
    pub fn is_available(&self) -> bool {
        !matches!(self, PassphraseSource::Unavailable)
    }

    /// Reads the passphrase of an existing wallet; `purpose` names what needs it.
    pub fn read(&self, purpose: &'static str) -> Result<Zeroizing<String>, WalletError> {
        let pass = match self {
            PassphraseSource::File(path) => read_file(path)?,
            PassphraseSource::Terminal => prompt("Wallet passphrase: ")?,
            PassphraseSource::Unavailable => return Err(WalletError::PassphraseNeeded { purpose }),
        };
        if pass.is_empty() {
            return Err(WalletError::EmptyPassphrase);
        }
        Ok(pass)
    }

    /// Reads a new passphrase for `encrypt`: on a terminal, asked twice.
    pub fn read_new(&self) -> Result<Zeroizing<String>, WalletError> {
        match self {
            PassphraseSource::Terminal => {
                let first = prompt("New wallet passphrase: ")?;
                if first.is_empty() {
                    return Err(WalletError::EmptyPassphrase);
                }
                let second = prompt("Repeat the passphrase: ")?;
                if *first != *second {
                    return Err(WalletError::PassphraseMismatch);
                }
                Ok(first)
            }
            PassphraseSource::Unavailable => Err(WalletError::NewPassphraseNeeded),
            file => file.read("encrypt"),
        }
    }
}

/// Most bytes of a passphrase file read: a passphrase is one line, and a path to a device
/// or a huge file must not take the memory (`/dev/zero` never ends).
const MAX_PASSPHRASE_FILE: u64 = 64 << 10;

/// The file's content up to the first line end: `echo pass > file` works as expected.
fn read_file(path: &Path) -> Result<Zeroizing<String>, WalletError> {
    use std::io::Read;
    let mut content = Zeroizing::new(String::new());
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_PASSPHRASE_FILE + 1).read_to_string(&mut content))
        .map_err(|e| WalletError::io("cannot read passphrase file", path, e))?;
    if content.len() as u64 > MAX_PASSPHRASE_FILE && !content.contains(['\n', '\r']) {
        return Err(WalletError::io(
            "cannot read passphrase file",
            path,
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("no line end in its first {MAX_PASSPHRASE_FILE} bytes"),
            ),
        ));
    }
    let line = content.split(['\n', '\r']).next().unwrap_or_default();
    Ok(Zeroizing::new(line.to_owned()))
}

fn prompt(text: &str) -> Result<Zeroizing<String>, WalletError> {
    rpassword::prompt_password(text)
        .map(Zeroizing::new)
        .map_err(|e| WalletError::io("cannot read passphrase from", "the terminal", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_first_line_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("pass");
        std::fs::write(&path, "s3cret pass\nignored\n").expect("write");
        let src = PassphraseSource::File(path.clone());
        assert_eq!(src.read("signing").expect("reads").as_str(), "s3cret pass");
        std::fs::write(&path, "\n").expect("write");
        assert_eq!(
            src.read("signing").expect_err("empty").to_string(),
            "passphrase is empty"
        );
        let missing = PassphraseSource::File(dir.path().join("nope"));
        assert!(missing
            .read("signing")
            .expect_err("missing")
            .to_string()
            .starts_with("cannot read passphrase file "));
    }

    #[test]
    fn a_passphrase_file_is_read_only_so_far() {
        let endless = PassphraseSource::File("/dev/zero".into());
        let err = endless
            .read("signing")
            .expect_err("no line end")
            .to_string();
        assert!(
            err.contains("no line end in its first 65536 bytes"),
            "{err}"
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("pass");
        let mut long = b"first line\n".to_vec();
        long.resize(200_000, b'x');
        std::fs::write(&path, long).expect("write");
        let src = PassphraseSource::File(path);
        assert_eq!(src.read("signing").expect("reads").as_str(), "first line");
    }

    #[test]
    fn unavailable_says_how_to_give_it() {
        assert_eq!(
            PassphraseSource::Unavailable
                .read("signing")
                .expect_err("none")
                .to_string(),
            "wallet is encrypted and signing needs the passphrase: give --passphrase-file FILE \
             or run on a terminal to be prompted"
        );
    }
}
