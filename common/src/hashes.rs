//! Hash newtypes. No raw `[u8; 32]` crosses a module boundary: a block hash, a txid, a
//! wtxid and a merkle node are different types. All display byte-reversed, like Bitcoin Core.

use bitcoin_hashes::{hash_newtype, sha256d, Hash};

hash_newtype! {
    /// SHA-256d of a block's 80-byte header.
    #[hash_newtype(backward)]
    pub struct BlockHash(sha256d::Hash);
    /// SHA-256d of a transaction serialized without witnesses.
    #[hash_newtype(backward)]
    pub struct Txid(sha256d::Hash);
    /// SHA-256d of a transaction serialized with witnesses.
    #[hash_newtype(backward)]
    pub struct Wtxid(sha256d::Hash);
    /// A node of the merkle tree over a block's wtxids.
    #[hash_newtype(backward)]
    pub struct TxMerkleNode(sha256d::Hash);
}

impl BlockHash {
    /// The hash read as a little-endian 256-bit number, as proof of work compares it.
    pub fn to_u256(&self) -> ruint::aliases::U256 {
        ruint::aliases::U256::from_le_bytes(self.to_byte_array())
    }
}

macro_rules! impl_serde_hex {
    ($($t:ty),*) => {$(
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    )*};
}
impl_serde_hex!(BlockHash, Txid, Wtxid, TxMerkleNode);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_byte_reversed() {
        let mut bytes = [0u8; 32];
        bytes[0] = 0xab;
        let h = BlockHash::from_byte_array(bytes);
        let s = h.to_string();
        assert!(s.ends_with("ab"), "{s}");
        assert_eq!(s.parse::<BlockHash>().expect("round trip"), h);
    }
}
