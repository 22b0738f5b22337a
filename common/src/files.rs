//! Reading text files a user or another process names, which may be anything: a device
//! that never ends (`/dev/zero`), a file of gigabytes. Each is read only up to a bound
//! before it is trusted.

use std::io::Read;
use std::path::Path;

/// The text of `path`: refused as [`std::io::ErrorKind::InvalidData`] when longer than
/// `max` bytes (reading stops one byte past the bound) or not UTF-8.
pub fn read_text_bounded(path: &Path, max: u64) -> std::io::Result<String> {
    let mut text = String::new();
    std::fs::File::open(path)?
        .take(max.saturating_add(1))
        .read_to_string(&mut text)?;
    if text.len() as u64 > max {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("longer than {max} bytes"),
        ));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_up_to_the_bound_and_refuses_past_it() {
        // Six bytes on every Linux: "Linux\n".
        let path = Path::new("/proc/sys/kernel/ostype");
        assert_eq!(read_text_bounded(path, 6).expect("fits"), "Linux\n");
        let err = read_text_bounded(path, 5).expect_err("one byte over");
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
        assert_eq!(err.to_string(), "longer than 5 bytes");
        let endless = read_text_bounded(Path::new("/dev/zero"), 1 << 20).expect_err("endless");
        assert_eq!(endless.to_string(), "longer than 1048576 bytes");
    }
}
