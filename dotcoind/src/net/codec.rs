//! The frame format every P2P message travels in:
//! `magic(4) | command(12, NUL-padded) | length(u32 LE) | checksum(4) | payload`.
//!
//! The reader checks the magic and the announced length against [`MAX_PAYLOAD`] before it
//! reads (or allocates for) the payload, then checks the checksum — the first four bytes
//! of SHA-256d of the payload. What the payload means is [`super::message`]'s business.

use bitcoin_hashes::{sha256d, Hash};
use thiserror::Error;
use tokio::io::{AsyncRead, AsyncReadExt};

/// Bytes of a frame header.
pub const HEADER_LEN: usize = 24;
/// The largest payload accepted: room for a maximum-size block (1 MB) with margin.
pub const MAX_PAYLOAD: u32 = 2 * 1024 * 1024;
/// Bytes of the command field.
pub const COMMAND_LEN: usize = 12;

/// Why a frame could not be read.
#[derive(Debug, Error)]
pub enum CodecError {
    /// The connection failed or closed.
    #[error("connection: {0}")]
    Io(#[from] std::io::Error),
    /// The frame belongs to another network.
    #[error("network magic {got} is not ours ({expected})")]
    WrongMagic {
        /// Magic received, hex.
        got: String,
        /// Our magic, hex.
        expected: String,
    },
    /// The announced payload is larger than any message may be.
    #[error("oversized frame: payload of {0} bytes announced, limit {MAX_PAYLOAD}")]
    Oversized(u32),
    /// The payload does not match the header's checksum.
    #[error("bad checksum for {command}: header says {expected}, payload hashes to {got}")]
    BadChecksum {
        /// The frame's command.
        command: String,
        /// Checksum in the header, hex.
        expected: String,
        /// Checksum of the payload, hex.
        got: String,
    },
    /// The command is not NUL-padded printable ASCII.
    #[error("malformed command field {0}")]
    BadCommand(String),
}

impl CodecError {
    /// Whether the error is the peer's fault (as opposed to the connection ending).
    pub fn is_misbehaviour(&self) -> bool {
        matches!(
            self,
            CodecError::Oversized(_) | CodecError::BadChecksum { .. } | CodecError::BadCommand(_)
        )
    }
}

/// One frame as read off the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawFrame {
    /// The command, without padding.
    pub command: String,
    /// The payload.
    pub payload: Vec<u8>,
}

impl RawFrame {
    /// Bytes the frame took on the wire.
    pub fn wire_len(&self) -> usize {
        HEADER_LEN + self.payload.len()
    }
}

/// First four bytes of SHA-256d of `payload`.
pub fn checksum(payload: &[u8]) -> [u8; 4] {
    let h = sha256d::Hash::hash(payload);
    let mut c = [0u8; 4];
    c.copy_from_slice(&h.as_byte_array()[..4]);
    c
}

/// A complete frame for `command` and `payload`.
pub fn encode_frame(magic: [u8; 4], command: &str, payload: &[u8]) -> Vec<u8> {
    debug_assert!(command.len() <= COMMAND_LEN && command.is_ascii());
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
    out.extend_from_slice(&magic);
    let mut cmd = [0u8; COMMAND_LEN];
    cmd[..command.len()].copy_from_slice(command.as_bytes());
    out.extend_from_slice(&cmd);
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&checksum(payload));
    out.extend_from_slice(payload);
    out
}

/// The command of a 12-byte field: ASCII letters and digits, then only NULs.
fn parse_command(field: &[u8; COMMAND_LEN]) -> Result<String, CodecError> {
    let end = field.iter().position(|&b| b == 0).unwrap_or(COMMAND_LEN);
    let (name, pad) = field.split_at(end);
    if name.is_empty()
        || !name.iter().all(|b| b.is_ascii_alphanumeric())
        || pad.iter().any(|&b| b != 0)
    {
        return Err(CodecError::BadCommand(hex::encode(field)));
    }
    Ok(String::from_utf8_lossy(name).into_owned())
}

/// Reads one frame, checking magic, size limit (before reading the payload) and checksum.
pub async fn read_frame<R: AsyncRead + Unpin>(
    r: &mut R,
    magic: [u8; 4],
) -> Result<RawFrame, CodecError> {
    let mut header = [0u8; HEADER_LEN];
    r.read_exact(&mut header).await?;
    if header[..4] != magic {
        return Err(CodecError::WrongMagic {
            got: hex::encode(&header[..4]),
            expected: hex::encode(magic),
        });
    }
    let command = parse_command(
        header[4..16]
            .try_into()
            .expect("the header slice is 12 bytes"),
    )?;
    let length = u32::from_le_bytes(header[16..20].try_into().expect("4 bytes"));
    if length > MAX_PAYLOAD {
        return Err(CodecError::Oversized(length));
    }
    let mut payload = vec![0u8; length as usize];
    r.read_exact(&mut payload).await?;
    let got = checksum(&payload);
    if got != header[20..24] {
        return Err(CodecError::BadChecksum {
            command,
            expected: hex::encode(&header[20..24]),
            got: hex::encode(got),
        });
    }
    Ok(RawFrame { command, payload })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAGIC: [u8; 4] = *b"DOT\xe2";

    async fn read(bytes: &[u8]) -> Result<RawFrame, CodecError> {
        let mut r = bytes;
        read_frame(&mut r, MAGIC).await
    }

    #[tokio::test]
    async fn round_trip() {
        let f = encode_frame(MAGIC, "ping", &[1, 2, 3]);
        assert_eq!(f.len(), HEADER_LEN + 3);
        let got = read(&f).await.expect("valid frame");
        assert_eq!(got.command, "ping");
        assert_eq!(got.payload, vec![1, 2, 3]);
    }

    #[tokio::test]
    async fn size_checked_before_payload() {
        let mut f = encode_frame(MAGIC, "block", &[]);
        f[16..20].copy_from_slice(&(MAX_PAYLOAD + 1).to_le_bytes());
        // No payload follows: the limit must trip before any read of it.
        assert!(matches!(read(&f).await, Err(CodecError::Oversized(_))));
    }

    #[tokio::test]
    async fn bad_checksum_magic_and_command() {
        let mut f = encode_frame(MAGIC, "tx", &[9; 10]);
        f[23] ^= 1;
        assert!(matches!(
            read(&f).await,
            Err(CodecError::BadChecksum { .. })
        ));
        let f = encode_frame(*b"DOT\xd1", "tx", &[]);
        assert!(matches!(read(&f).await, Err(CodecError::WrongMagic { .. })));
        let mut f = encode_frame(MAGIC, "tx", &[]);
        f[7] = b'x'; // a letter after the NUL padding began
        assert!(matches!(read(&f).await, Err(CodecError::BadCommand(_))));
    }
}
