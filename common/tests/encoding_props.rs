//! Property tests of the consensus encoding, for every type that implements
//! `Encodable`/`Decodable` in `dotcoin-common` (integers, `bool`, byte arrays, `Vec<u8>`,
//! `String`, the `Vec<T>` lists, `Amount`, `PubKey`, the hash newtypes, `OutPoint`, `TxIn`,
//! `TxOut`, `Transaction`, `CompactTarget`, `BlockHeader`, `Block`, `Coin`):
//!
//! - value → bytes → value gives the value back, the byte count matches `encoded_size`,
//!   and it is at least the type's `MIN_SIZE` (which caps length prefixes, so an
//!   overstated `MIN_SIZE` would refuse valid lists);
//! - bytes → value → bytes: whenever arbitrary or corrupted bytes decode, re-encoding gives
//!   exactly the bytes consumed (so no two encodings share a value), and `deserialize`
//!   refuses any bytes left over;
//! - every strict prefix of an encoding fails to decode.
//!
//! Plain tests then pin the decoder's guards: a length prefix larger than the remaining
//! input fails with `LengthExceedsInput` before anything of that size is reserved, trailing
//! bytes are refused, and non-canonical sizes, bools and strings are rejected.

use std::fmt::Debug;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;

use bitcoin_hashes::Hash;
use dotcoin_common::consensus::Coin;
use dotcoin_common::encode::{Reader, MAX_VEC_ELEMENTS};
use dotcoin_common::primitives::CompactTarget;
use dotcoin_common::{
    deserialize, serialize, Amount, Block, BlockHash, BlockHeader, Decodable, DecodeError,
    Encodable, OutPoint, PubKey, Transaction, TxIn, TxMerkleNode, TxOut, Txid, Wtxid,
};

// ---------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------

fn fail(e: DecodeError) -> TestCaseError {
    TestCaseError::fail(format!("decode failed: {e}"))
}

fn value_round_trip<T: Encodable + Decodable + PartialEq + Debug>(
    value: &T,
) -> Result<(), TestCaseError> {
    let bytes = serialize(value);
    prop_assert_eq!(bytes.len(), value.encoded_size());
    prop_assert!(
        bytes.len() >= T::MIN_SIZE,
        "{} < MIN_SIZE {}",
        bytes.len(),
        T::MIN_SIZE
    );
    let back: T = deserialize(&bytes).map_err(fail)?;
    prop_assert_eq!(&back, value);
    Ok(())
}

fn bytes_round_trip<T: Encodable + Decodable + PartialEq + Debug>(
    bytes: &[u8],
) -> Result<(), TestCaseError> {
    let mut reader = Reader::new(bytes);
    match T::consensus_decode(&mut reader) {
        Ok(value) => {
            let left = reader.remaining();
            let consumed = &bytes[..bytes.len() - left];
            prop_assert_eq!(serialize(&value), consumed);
            if left == 0 {
                prop_assert_eq!(deserialize::<T>(bytes), Ok(value));
            } else {
                prop_assert_eq!(
                    deserialize::<T>(bytes),
                    Err(DecodeError::TrailingBytes(left))
                );
            }
        }
        Err(e) => prop_assert_eq!(deserialize::<T>(bytes), Err(e)),
    }
    Ok(())
}

fn truncation_fails<T: Encodable + Decodable + Debug>(
    value: &T,
    cut: Index,
) -> Result<(), TestCaseError> {
    let bytes = serialize(value);
    if bytes.is_empty() {
        return Ok(());
    }
    let prefix = &bytes[..cut.index(bytes.len())];
    match deserialize::<T>(prefix) {
        Err(DecodeError::UnexpectedEof { .. } | DecodeError::LengthExceedsInput { .. }) => Ok(()),
        other => Err(TestCaseError::fail(format!(
            "{}-byte prefix gave {other:?}",
            prefix.len()
        ))),
    }
}

/// Bytes a lax decoder would trip on: CompactSize markers, bool edges, 0 and 0xff.
fn edge_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        any::<u8>(),
        prop::sample::select(vec![0, 1, 2, 0x7f, 0x80, 0xfc, 0xfd, 0xfe, 0xff])
    ]
}

/// Bytes to decode: arbitrary ones (mostly refused), or a valid encoding with one byte
/// overwritten, the end cut off, a byte inserted, bytes appended, or one byte re-encoded
/// as a longer, non-canonical CompactSize (the same number, so a decoder that accepted it
/// would return a value whose encoding differs). The change lands in the first 8 bytes
/// half the time, where most types keep their first length prefix.
fn bytes_near<T: Encodable + Debug>(
    values: impl Strategy<Value = T> + 'static,
) -> BoxedStrategy<Vec<u8>> {
    let changed = (
        values,
        any::<Index>(),
        any::<bool>(),
        edge_byte(),
        0..6u8,
        vec(edge_byte(), 1..4),
    )
        .prop_map(|(value, at, near_start, byte, how, tail)| {
            let mut bytes = serialize(&value);
            if bytes.is_empty() {
                return tail;
            }
            let i = at.index(if near_start {
                bytes.len().min(8)
            } else {
                bytes.len()
            });
            let b = bytes[i];
            match how {
                0 => bytes[i] = byte,
                1 => bytes.truncate(i),
                2 => bytes.insert(i, byte),
                3 => bytes.extend_from_slice(&tail),
                4 => drop(bytes.splice(i..=i, [0xfd, b, 0])),
                _ => drop(bytes.splice(i..=i, [0xfe, b, 0, 0, 0])),
            }
            bytes
        });
    prop_oneof![1 => vec(edge_byte(), 0..200), 3 => changed].boxed()
}

macro_rules! round_trips {
    ($($name:ident: $t:ty = $strategy:expr;)+) => {$(
        mod $name {
            use super::*;

            proptest! {
                #[test]
                fn value_bytes_value(value in $strategy) {
                    value_round_trip::<$t>(&value)?;
                }

                #[test]
                fn bytes_value_bytes(bytes in bytes_near::<$t>($strategy)) {
                    bytes_round_trip::<$t>(&bytes)?;
                }

                #[test]
                fn strict_prefix_fails(value in $strategy, cut in any::<Index>()) {
                    truncation_fails::<$t>(&value, cut)?;
                }
            }
        }
    )+};
}

// ---------------------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------------------

/// Byte strings around the CompactSize boundary (253) as well as short ones.
fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![4 => vec(any::<u8>(), 0..80), 1 => vec(any::<u8>(), 250..260)]
}

fn amount() -> impl Strategy<Value = Amount> {
    any::<u64>().prop_map(Amount::from_sat)
}

fn pubkey() -> impl Strategy<Value = PubKey> {
    any::<[u8; 32]>().prop_map(PubKey)
}

fn txid() -> impl Strategy<Value = Txid> {
    any::<[u8; 32]>().prop_map(Txid::from_byte_array)
}

fn block_hash() -> impl Strategy<Value = BlockHash> {
    any::<[u8; 32]>().prop_map(BlockHash::from_byte_array)
}

fn outpoint() -> impl Strategy<Value = OutPoint> {
    // Null txids too: coinbase prevouts are encoded like any other.
    let txid = prop_oneof![1 => Just(Txid::all_zeros()), 4 => txid()];
    (txid, any::<u32>()).prop_map(|(txid, vout)| OutPoint { txid, vout })
}

fn txin() -> impl Strategy<Value = TxIn> {
    (outpoint(), bytes()).prop_map(|(prevout, witness)| TxIn { prevout, witness })
}

fn txout() -> impl Strategy<Value = TxOut> {
    (amount(), pubkey()).prop_map(|(value, pubkey)| TxOut { value, pubkey })
}

fn transaction() -> impl Strategy<Value = Transaction> {
    (
        any::<u32>(),
        vec(txin(), 0..4),
        vec(txout(), 0..4),
        any::<u32>(),
    )
        .prop_map(|(version, inputs, outputs, lock_time)| Transaction {
            version,
            inputs,
            outputs,
            lock_time,
        })
}

fn compact_target() -> impl Strategy<Value = CompactTarget> {
    any::<u32>().prop_map(CompactTarget)
}

fn header() -> impl Strategy<Value = BlockHeader> {
    (
        any::<u32>(),
        block_hash(),
        any::<[u8; 32]>(),
        any::<u32>(),
        compact_target(),
        any::<u32>(),
    )
        .prop_map(
            |(version, prev_blockhash, root, time, bits, nonce)| BlockHeader {
                version,
                prev_blockhash,
                merkle_root: TxMerkleNode::from_byte_array(root),
                time,
                bits,
                nonce,
            },
        )
}

fn block() -> impl Strategy<Value = Block> {
    (header(), vec(transaction(), 0..3)).prop_map(|(header, txdata)| Block { header, txdata })
}

fn coin() -> impl Strategy<Value = Coin> {
    (txout(), any::<u32>(), any::<bool>()).prop_map(|(output, height, is_coinbase)| Coin {
        output,
        height,
        is_coinbase,
    })
}

round_trips! {
    u16_: u16 = any::<u16>();
    u32_: u32 = any::<u32>();
    u64_: u64 = any::<u64>();
    i32_: i32 = any::<i32>();
    i64_: i64 = any::<i64>();
    bool_: bool = any::<bool>();
    array_1: [u8; 1] = any::<[u8; 1]>();
    array_4: [u8; 4] = any::<[u8; 4]>();
    array_32: [u8; 32] = any::<[u8; 32]>();
    array_80: [u8; 80] = any::<[u8; 80]>();
    byte_string: Vec<u8> = bytes();
    string: String = any::<String>();
    list_of_arrays: Vec<[u8; 32]> = vec(any::<[u8; 32]>(), 0..5);
    list_of_u32: Vec<u32> = vec(any::<u32>(), 0..300);
    list_of_u64: Vec<u64> = vec(any::<u64>(), 0..5);
    amount_: Amount = amount();
    pubkey_: PubKey = pubkey();
    txid_: Txid = txid();
    wtxid_: Wtxid = any::<[u8; 32]>().prop_map(Wtxid::from_byte_array);
    block_hash_: BlockHash = block_hash();
    merkle_node: TxMerkleNode = any::<[u8; 32]>().prop_map(TxMerkleNode::from_byte_array);
    list_of_block_hashes: Vec<BlockHash> = vec(block_hash(), 0..5);
    list_of_txids: Vec<Txid> = vec(txid(), 0..5);
    outpoint_: OutPoint = outpoint();
    txin_: TxIn = txin();
    txout_: TxOut = txout();
    list_of_txins: Vec<TxIn> = vec(txin(), 0..4);
    list_of_txouts: Vec<TxOut> = vec(txout(), 0..4);
    transaction_: Transaction = transaction();
    list_of_transactions: Vec<Transaction> = vec(transaction(), 0..3);
    compact_target_: CompactTarget = compact_target();
    header_: BlockHeader = header();
    list_of_headers: Vec<BlockHeader> = vec(header(), 0..5);
    block_: Block = block();
    coin_: Coin = coin();
}

proptest! {
    /// The sizes the node uses for limits agree with the bytes on the wire.
    #[test]
    fn sizes_match_encodings(block in block()) {
        prop_assert_eq!(block.size(), serialize(&block).len());
        for tx in &block.txdata {
            prop_assert_eq!(tx.size(), serialize(tx).len());
        }
        prop_assert_eq!(block.header.to_bytes().to_vec(), serialize(&block.header));
    }

    /// Witnesses change the wtxid and never the txid.
    #[test]
    fn txid_ignores_witnesses(tx in transaction(), witness in bytes()) {
        prop_assume!(!tx.inputs.is_empty() && tx.inputs[0].witness != witness);
        let mut other = tx.clone();
        other.inputs[0].witness = witness;
        prop_assert_eq!(other.txid(), tx.txid());
        prop_assert_ne!(other.wtxid(), tx.wtxid());
    }
}

// ---------------------------------------------------------------------------------------
// Length prefixes, trailing bytes, non-canonical values
// ---------------------------------------------------------------------------------------

/// The prefix of a transaction: version 1.
const VERSION: [u8; 4] = [1, 0, 0, 0];

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

#[test]
fn transaction_input_count_beyond_input_fails_fast() {
    // 2^32 - 1 inputs of at least 37 bytes each would be ~150 GiB; 8 bytes follow.
    let bytes = cat(&[&VERSION, &[0xfe, 0xff, 0xff, 0xff, 0xff], &[0; 8]]);
    assert_eq!(
        deserialize::<Transaction>(&bytes),
        Err(DecodeError::LengthExceedsInput {
            claimed: 0xffff_ffff,
            remaining: 8
        })
    );
}

#[test]
fn transaction_output_count_beyond_input_fails_fast() {
    // No inputs, then 65535 outputs of 40 bytes announced with only the lock time behind.
    let bytes = cat(&[&VERSION, &[0x00, 0xfd, 0xff, 0xff], &[0; 4]]);
    assert_eq!(
        deserialize::<Transaction>(&bytes),
        Err(DecodeError::LengthExceedsInput {
            claimed: 0xffff,
            remaining: 4
        })
    );
}

#[test]
fn witness_length_beyond_input_fails_fast() {
    let mut bytes = serialize(&OutPoint {
        txid: Txid::all_zeros(),
        vout: 0,
    });
    bytes.extend_from_slice(&[0xff; 9]);
    assert_eq!(
        deserialize::<TxIn>(&bytes),
        Err(DecodeError::LengthExceedsInput {
            claimed: u64::MAX,
            remaining: 0
        })
    );
}

#[test]
fn block_transaction_count_beyond_input_fails_fast() {
    let header = BlockHeader {
        version: 1,
        prev_blockhash: BlockHash::all_zeros(),
        merkle_root: TxMerkleNode::all_zeros(),
        time: 0,
        bits: CompactTarget(0x207f_ffff),
        nonce: 0,
    };
    let bytes = cat(&[
        &header.to_bytes(),
        &[0xfe, 0xff, 0xff, 0xff, 0xff],
        &[0; 10],
    ]);
    assert_eq!(
        deserialize::<Block>(&bytes),
        Err(DecodeError::LengthExceedsInput {
            claimed: 0xffff_ffff,
            remaining: 10
        })
    );
}

#[test]
fn huge_count_deep_inside_a_block_fails_fast() {
    // A valid one-transaction block whose second transaction claims 2^32 - 1 inputs.
    let tx = Transaction {
        version: 1,
        inputs: vec![TxIn {
            prevout: OutPoint::coinbase(1),
            witness: vec![1, 2, 3],
        }],
        outputs: vec![TxOut {
            value: Amount::from_sat(5),
            pubkey: PubKey([9; 32]),
        }],
        lock_time: 0,
    };
    let header = BlockHeader {
        version: 1,
        prev_blockhash: BlockHash::all_zeros(),
        merkle_root: TxMerkleNode::all_zeros(),
        time: 0,
        bits: CompactTarget(0x207f_ffff),
        nonce: 0,
    };
    let mut bytes = header.to_bytes().to_vec();
    bytes.push(2);
    tx.consensus_encode(&mut bytes);
    bytes.extend_from_slice(&VERSION);
    bytes.extend_from_slice(&[0xfe, 0xff, 0xff, 0xff, 0xff]);
    bytes.extend_from_slice(&[0; 6]);
    assert_eq!(
        deserialize::<Block>(&bytes),
        Err(DecodeError::LengthExceedsInput {
            claimed: 0xffff_ffff,
            remaining: 6
        })
    );
}

#[test]
fn length_cap_counts_the_smallest_item_size() {
    // Three u32s fit in 12 bytes; four do not, and are refused before decoding any.
    let twelve = [7u8; 12];
    let three = deserialize::<Vec<u32>>(&cat(&[&[3], &twelve])).expect("fits");
    assert_eq!(three, vec![0x0707_0707; 3]);
    assert_eq!(
        deserialize::<Vec<u32>>(&cat(&[&[4], &twelve])),
        Err(DecodeError::LengthExceedsInput {
            claimed: 4,
            remaining: 12
        })
    );
    // 40-byte outputs: two need 80 bytes.
    assert_eq!(
        deserialize::<Vec<TxOut>>(&cat(&[&[2], &[0; 79]])),
        Err(DecodeError::LengthExceedsInput {
            claimed: 2,
            remaining: 79
        })
    );
}

#[test]
fn no_length_may_exceed_max_vec_elements() {
    // Even when the input really holds that many bytes.
    let n = MAX_VEC_ELEMENTS as usize;
    let mut at_max = Vec::new();
    dotcoin_common::encode::write_compact_size(&mut at_max, n as u64);
    at_max.resize(at_max.len() + n, 0);
    assert_eq!(deserialize::<Vec<u8>>(&at_max).map(|v| v.len()), Ok(n));

    let mut over = Vec::new();
    dotcoin_common::encode::write_compact_size(&mut over, n as u64 + 1);
    over.resize(over.len() + n + 1, 0);
    assert_eq!(
        deserialize::<Vec<u8>>(&over),
        Err(DecodeError::LengthExceedsInput {
            claimed: n as u64 + 1,
            remaining: n + 1
        })
    );
}

#[test]
fn trailing_bytes_rejected() {
    let tx = Transaction {
        version: 1,
        inputs: vec![TxIn {
            prevout: OutPoint::coinbase(7),
            witness: vec![0xaa; 5],
        }],
        outputs: vec![TxOut {
            value: Amount::ONE_DOT,
            pubkey: PubKey([3; 32]),
        }],
        lock_time: 0,
    };
    let mut bytes = serialize(&tx);
    assert_eq!(deserialize::<Transaction>(&bytes), Ok(tx.clone()));
    bytes.push(0);
    assert_eq!(
        deserialize::<Transaction>(&bytes),
        Err(DecodeError::TrailingBytes(1))
    );

    let block = Block {
        header: BlockHeader {
            version: 1,
            prev_blockhash: BlockHash::all_zeros(),
            merkle_root: TxMerkleNode::all_zeros(),
            time: 1,
            bits: CompactTarget(0x207f_ffff),
            nonce: 2,
        },
        txdata: vec![tx],
    };
    let mut bytes = serialize(&block);
    bytes.extend_from_slice(&[1, 2, 3]);
    assert_eq!(
        deserialize::<Block>(&bytes),
        Err(DecodeError::TrailingBytes(3))
    );
    let mut header = block.header.to_bytes().to_vec();
    header.push(0);
    assert_eq!(
        deserialize::<BlockHeader>(&header),
        Err(DecodeError::TrailingBytes(1))
    );
}

#[test]
fn non_canonical_values_rejected() {
    // One input counted with the three-byte CompactSize form.
    let bytes = cat(&[&VERSION, &[0xfd, 0x01, 0x00]]);
    assert_eq!(
        deserialize::<Transaction>(&bytes),
        Err(DecodeError::NonCanonicalCompactSize(1))
    );
    assert!(matches!(
        deserialize::<bool>(&[2]),
        Err(DecodeError::InvalidValue(_))
    ));
    assert!(matches!(
        deserialize::<String>(&[2, 0xc3, 0x28]),
        Err(DecodeError::InvalidValue(_))
    ));
    let coin = cat(&[&[0; 40], &[0; 4], &[7]]);
    assert!(matches!(
        deserialize::<Coin>(&coin),
        Err(DecodeError::InvalidValue(_))
    ));
}
