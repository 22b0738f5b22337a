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
/// The largest payload accepted before the handshake: a `version` is a few hundred bytes,
/// and a stranger gets no megabyte buffers.
pub const MAX_HANDSHAKE_PAYLOAD: u32 = 4096;
/// What a payload buffer starts at; it grows as bytes arrive, so announcing a large
/// frame and sending nothing costs the node nothing.
const INITIAL_PAYLOAD_CAPACITY: usize = 64 * 1024;

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
    /// The announced payload is larger than any message may be (at this stage).
    #[error("oversized frame: payload of {0} bytes announced, limit {1}")]
    Oversized(u32, u32),
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
            CodecError::Oversized(..) | CodecError::BadChecksum { .. } | CodecError::BadCommand(_)
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

/// Reads one frame, checking magic, size limit `max_payload` (before reading the payload)
/// and checksum. The payload buffer grows with the bytes that actually arrive.
pub async fn read_frame<R: AsyncRead + Unpin>(
    r: &mut R,
    magic: [u8; 4],
    max_payload: u32,
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
    if length > max_payload.min(MAX_PAYLOAD) {
        return Err(CodecError::Oversized(length, max_payload.min(MAX_PAYLOAD)));
    }
    let mut payload = Vec::with_capacity((length as usize).min(INITIAL_PAYLOAD_CAPACITY));
    r.take(u64::from(length)).read_to_end(&mut payload).await?;
    if payload.len() != length as usize {
        return Err(CodecError::Io(std::io::ErrorKind::UnexpectedEof.into()));
    }
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
        read_frame(&mut r, MAGIC, MAX_PAYLOAD).await
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
        assert!(matches!(read(&f).await, Err(CodecError::Oversized(..))));
    }

    #[tokio::test]
    async fn handshake_limit_and_truncated_payload() {
        let f = encode_frame(MAGIC, "version", &[0; 5000]);
        let mut r = &f[..];
        assert!(matches!(
            read_frame(&mut r, MAGIC, MAX_HANDSHAKE_PAYLOAD).await,
            Err(CodecError::Oversized(5000, MAX_HANDSHAKE_PAYLOAD))
        ));
        // A frame announcing more than arrives: an error, and a buffer only as large as
        // the bytes that came.
        let mut f = encode_frame(MAGIC, "block", &[7; 10]);
        f[16..20].copy_from_slice(&MAX_PAYLOAD.to_le_bytes());
        match read(&f).await {
            Err(CodecError::Io(e)) => assert_eq!(e.kind(), std::io::ErrorKind::UnexpectedEof),
            other => panic!("{other:?}"),
        }
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
