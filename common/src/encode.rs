//! Consensus encoding: the one byte format that hashes, blocks on disk and the P2P
//! protocol share.
//!
//! Integers are little-endian; lengths are Bitcoin's CompactSize and must be minimally
//! encoded. Decoding never trusts a length prefix: before allocating it checks that the
//! remaining input could possibly hold that many items, so a 5-byte message claiming
//! four billion elements fails at once instead of reserving gigabytes.

use thiserror::Error;

/// Largest number of elements any length prefix may announce.
pub const MAX_VEC_ELEMENTS: u64 = 4_000_000;

/// Why bytes could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// The input ended before a field was complete.
    #[error("unexpected end of input: needed {needed} bytes, {remaining} remaining")]
    UnexpectedEof {
        /// Bytes the field needed.
        needed: usize,
        /// Bytes that were left.
        remaining: usize,
    },
    /// A length prefix announced more than the remaining input can hold.
    #[error("length prefix {claimed} exceeds what the remaining {remaining} bytes can hold")]
    LengthExceedsInput {
        /// The announced element count.
        claimed: u64,
        /// Bytes that were left.
        remaining: usize,
    },
    /// A CompactSize used more bytes than needed.
    #[error("non-canonical compact size {0}")]
    NonCanonicalCompactSize(u64),
    /// `deserialize` found bytes after the value.
    #[error("{0} trailing bytes after the value")]
    TrailingBytes(usize),
    /// A field held a value that the type does not allow.
    #[error("invalid value: {0}")]
    InvalidValue(&'static str),
}

/// A cursor over bytes being decoded.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.buf.len()
    }

    /// Takes the next `n` bytes.
    pub fn read_bytes(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if n > self.buf.len() {
            return Err(DecodeError::UnexpectedEof {
                needed: n,
                remaining: self.buf.len(),
            });
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    /// Takes the next `N` bytes as an array.
    pub fn read_array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let bytes = self.read_bytes(N)?;
        Ok(bytes
            .try_into()
            .expect("read_bytes returned exactly N bytes"))
    }

    /// Reads a CompactSize and checks that `min_item_size`-byte items of that count fit in
    /// the remaining input, so callers can allocate the result safely.
    pub fn read_length(&mut self, min_item_size: usize) -> Result<usize, DecodeError> {
        let claimed = read_compact_size(self)?;
        let need = claimed.saturating_mul(min_item_size.max(1) as u64);
        if claimed > MAX_VEC_ELEMENTS || need > self.remaining() as u64 {
            return Err(DecodeError::LengthExceedsInput {
                claimed,
                remaining: self.remaining(),
            });
        }
        Ok(claimed as usize)
    }
}

/// A value with a consensus byte encoding.
pub trait Encodable {
    /// Appends the encoding of `self` to `out`.
    fn consensus_encode(&self, out: &mut Vec<u8>);

    /// The encoded size in bytes.
    fn encoded_size(&self) -> usize {
        let mut v = Vec::new();
        self.consensus_encode(&mut v);
        v.len()
    }
}

/// A value that can be read back from its consensus encoding.
pub trait Decodable: Sized {
    /// The fewest bytes any encoding of this type takes; used to bound length prefixes.
    const MIN_SIZE: usize;

    /// Reads one value from `r`.
    fn consensus_decode(r: &mut Reader<'_>) -> Result<Self, DecodeError>;
}

/// The consensus encoding of `value`.
pub fn serialize<T: Encodable + ?Sized>(value: &T) -> Vec<u8> {
    let mut out = Vec::new();
    value.consensus_encode(&mut out);
    out
}

/// Decodes exactly one `T` from `bytes`; trailing bytes are an error.
pub fn deserialize<T: Decodable>(bytes: &[u8]) -> Result<T, DecodeError> {
    let mut r = Reader::new(bytes);
    let value = T::consensus_decode(&mut r)?;
    if r.remaining() != 0 {
        return Err(DecodeError::TrailingBytes(r.remaining()));
    }
    Ok(value)
}

/// Appends a CompactSize (Bitcoin's variable-length integer).
pub fn write_compact_size(out: &mut Vec<u8>, n: u64) {
    match n {
        0..=0xfc => out.push(n as u8),
        0xfd..=0xffff => {
            out.push(0xfd);
            out.extend_from_slice(&(n as u16).to_le_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(0xfe);
            out.extend_from_slice(&(n as u32).to_le_bytes());
        }
        _ => {
            out.push(0xff);
            out.extend_from_slice(&n.to_le_bytes());
        }
    }
}

/// The number of bytes `write_compact_size(n)` writes.
pub fn compact_size_len(n: u64) -> usize {
    match n {
        0..=0xfc => 1,
        0xfd..=0xffff => 3,
        0x1_0000..=0xffff_ffff => 5,
        _ => 9,
    }
}

/// Reads a minimally encoded CompactSize.
pub fn read_compact_size(r: &mut Reader<'_>) -> Result<u64, DecodeError> {
    let first = r.read_array::<1>()?[0];
    let (n, min) = match first {
        0xfd => (u16::from_le_bytes(r.read_array()?) as u64, 0xfd),
        0xfe => (u32::from_le_bytes(r.read_array()?) as u64, 0x1_0000),
        0xff => (u64::from_le_bytes(r.read_array()?), 0x1_0000_0000),
        n => return Ok(n as u64),
    };
    if n < min {
        return Err(DecodeError::NonCanonicalCompactSize(n));
    }
    Ok(n)
}

macro_rules! impl_int {
    ($($t:ty),*) => {$(
        impl Encodable for $t {
            fn consensus_encode(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
            fn encoded_size(&self) -> usize { std::mem::size_of::<$t>() }
        }
        impl Decodable for $t {
            const MIN_SIZE: usize = std::mem::size_of::<$t>();
            fn consensus_decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
                Ok(<$t>::from_le_bytes(r.read_array()?))
            }
        }
    )*};
}
impl_int!(u16, u32, u64, i32, i64);

impl Encodable for bool {
    fn consensus_encode(&self, out: &mut Vec<u8>) {
        out.push(u8::from(*self));
    }
}
impl Decodable for bool {
    const MIN_SIZE: usize = 1;
    fn consensus_decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match r.read_array::<1>()?[0] {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(DecodeError::InvalidValue("bool must be 0 or 1")),
        }
    }
}

impl<const N: usize> Encodable for [u8; N] {
    fn consensus_encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self);
    }
    fn encoded_size(&self) -> usize {
        N
    }
}
impl<const N: usize> Decodable for [u8; N] {
    const MIN_SIZE: usize = N;
    fn consensus_decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.read_array()
    }
}

/// Byte strings (witnesses, user agents) are a CompactSize length and the bytes.
impl Encodable for Vec<u8> {
    fn consensus_encode(&self, out: &mut Vec<u8>) {
        write_compact_size(out, self.len() as u64);
        out.extend_from_slice(self);
    }
    fn encoded_size(&self) -> usize {
        compact_size_len(self.len() as u64) + self.len()
    }
}
impl Decodable for Vec<u8> {
    const MIN_SIZE: usize = 1;
    fn consensus_decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let n = r.read_length(1)?;
        Ok(r.read_bytes(n)?.to_vec())
    }
}

impl Encodable for String {
    fn consensus_encode(&self, out: &mut Vec<u8>) {
        write_compact_size(out, self.len() as u64);
        out.extend_from_slice(self.as_bytes());
    }
}
impl Decodable for String {
    const MIN_SIZE: usize = 1;
    fn consensus_decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        String::from_utf8(Vec::<u8>::consensus_decode(r)?)
            .map_err(|_| DecodeError::InvalidValue("string is not utf-8"))
    }
}

/// Lists of encodable items: a CompactSize count and the items.
macro_rules! impl_vec {
    ($($t:ty),*) => {$(
        impl $crate::encode::Encodable for Vec<$t> {
            fn consensus_encode(&self, out: &mut Vec<u8>) {
                $crate::encode::write_compact_size(out, self.len() as u64);
                for item in self {
                    $crate::encode::Encodable::consensus_encode(item, out);
                }
            }
        }
        impl $crate::encode::Decodable for Vec<$t> {
            const MIN_SIZE: usize = 1;
            fn consensus_decode(r: &mut $crate::encode::Reader<'_>) -> Result<Self, $crate::encode::DecodeError> {
                let n = r.read_length(<$t as $crate::encode::Decodable>::MIN_SIZE)?;
                let mut v = Vec::with_capacity(n);
                for _ in 0..n {
                    v.push(<$t as $crate::encode::Decodable>::consensus_decode(r)?);
                }
                Ok(v)
            }
        }
    )*};
}
pub(crate) use impl_vec;
impl_vec!([u8; 32], u32, u64);

/// Implements `Encodable` and `Decodable` for a struct from its field order, so the two
/// directions cannot drift apart.
#[macro_export]
macro_rules! impl_consensus_encoding {
    ($t:ty, $($field:ident: $ft:ty),+ $(,)?) => {
        impl $crate::encode::Encodable for $t {
            fn consensus_encode(&self, out: &mut Vec<u8>) {
                $( $crate::encode::Encodable::consensus_encode(&self.$field, out); )+
            }
        }
        impl $crate::encode::Decodable for $t {
            const MIN_SIZE: usize = 0 $( + <$ft as $crate::encode::Decodable>::MIN_SIZE )+;
            fn consensus_decode(
                r: &mut $crate::encode::Reader<'_>,
            ) -> Result<Self, $crate::encode::DecodeError> {
                Ok(Self { $( $field: <$ft as $crate::encode::Decodable>::consensus_decode(r)?, )+ })
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_size_round_trip_and_canonical() {
        for n in [
            0u64,
            1,
            0xfc,
            0xfd,
            0xffff,
            0x10000,
            0xffff_ffff,
            0x1_0000_0000,
            u64::MAX,
        ] {
            let mut v = Vec::new();
            write_compact_size(&mut v, n);
            assert_eq!(v.len(), compact_size_len(n));
            assert_eq!(read_compact_size(&mut Reader::new(&v)).expect("valid"), n);
        }
        // 0x10 encoded with the 3-byte form is non-canonical.
        let bytes = [0xfd, 0x10, 0x00];
        assert_eq!(
            read_compact_size(&mut Reader::new(&bytes)),
            Err(DecodeError::NonCanonicalCompactSize(0x10))
        );
    }

    #[test]
    fn huge_length_prefix_fails_without_allocating() {
        // Claims 2^32-1 32-byte items with only 4 bytes behind the prefix.
        let bytes = [0xfe, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4];
        let err = deserialize::<Vec<[u8; 32]>>(&bytes).expect_err("must fail");
        assert_eq!(
            err,
            DecodeError::LengthExceedsInput {
                claimed: 0xffff_ffff,
                remaining: 4
            }
        );
        let bytes = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
        assert!(matches!(
            deserialize::<Vec<u8>>(&bytes),
            Err(DecodeError::LengthExceedsInput {
                claimed: u64::MAX,
                ..
            })
        ));
    }

    #[test]
    fn trailing_bytes_rejected() {
        assert_eq!(
            deserialize::<u32>(&[1, 0, 0, 0, 9]),
            Err(DecodeError::TrailingBytes(1))
        );
    }
}
