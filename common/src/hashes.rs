//! Hash newtypes. No raw `[u8; 32]` crosses a module boundary: a block hash, a txid, a
//! wtxid and a merkle node are different types. All display byte-reversed, like Bitcoin Core,
//! and serialize in JSON as that hex string (`bitcoin_hashes`'s own serde impls, which
//! `hash_newtype!` derives; a Bitcoin library in the same build switches the same feature
//! on, so hand-written impls would collide with them).

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
        // JSON carries the displayed hex, both ways.
        assert_eq!(serde_json::to_value(h).expect("json"), serde_json::json!(s));
        let back: BlockHash = serde_json::from_str(&format!("\"{s}\"")).expect("parses");
        assert_eq!(back, h);
        assert!(serde_json::from_str::<Txid>("\"not hex\"").is_err());
    }
}
