//! A busy regtest chain for sync tests and benchmarks: blocks full of signed transactions,
//! built without a node so that making one costs only the signatures.
//!
//! The first `coinbase_maturity` blocks only pay their coinbase to the chain's key. Every
//! block after that fans a matured coinbase out into [`FAN_OUT`] outputs and spends up to
//! `inputs_per_block` outputs of earlier blocks in 2-in 2-out transactions, so the UTXO set
//! stays about constant in size while every input carries its own Schnorr signature. Only
//! outputs of earlier blocks are spent: a block never depends on its own order.

use std::collections::VecDeque;
use std::io::{Read, Write};

use dotcoin_common::encode::{deserialize, serialize};
use dotcoin_common::sighash::signing::{keypair_from_secret, pubkey_of, sign_transaction};
use dotcoin_common::{Amount, Block, Network, OutPoint, Transaction, TxIn, TxOut};

/// Outputs each matured coinbase is split into.
pub const FAN_OUT: usize = 64;

/// Largest block file entry read back: a block is at most 1 MB.
const MAX_BLOCK_BYTES: usize = 1_000_000;

/// The shape of a busy chain.
#[derive(Debug, Clone, Copy)]
pub struct BusyChainSpec {
    /// Blocks after the coinbase-maturity prefix, each carrying transactions.
    pub spend_blocks: u32,
    /// Inputs of earlier blocks' outputs each busy block spends (a multiple of two).
    pub inputs_per_block: usize,
}

/// What a generated chain holds.
#[derive(Debug, Clone, Copy, Default)]
pub struct BusyChainStats {
    /// Blocks after genesis.
    pub blocks: u32,
    /// Transactions, coinbases excluded.
    pub transactions: u64,
    /// Signed inputs (every non-coinbase input).
    pub inputs: u64,
    /// Serialized bytes of all blocks.
    pub bytes: u64,
}

/// Builds the chain on regtest's genesis and hands each block to `sink` in order.
pub fn generate(spec: BusyChainSpec, mut sink: impl FnMut(&Block)) -> BusyChainStats {
    let params = Network::Regtest.params();
    let key = keypair_from_secret(&[0x42; 32]).expect("a constant non-zero secret is valid");
    let pubkey = pubkey_of(&key);
    let maturity = params.coinbase_maturity;
    let genesis = params.genesis_block().header;
    let mut prev = genesis;
    let mut coinbases: Vec<(OutPoint, TxOut)> = vec![];
    let mut pool: VecDeque<(OutPoint, TxOut)> = VecDeque::new();
    let mut stats = BusyChainStats::default();
    for height in 1..=maturity + spec.spend_blocks {
        let coinbase = Transaction {
            version: 1,
            inputs: vec![TxIn {
                prevout: OutPoint::coinbase(height),
                witness: b"/busy-chain/".to_vec(),
            }],
            outputs: vec![TxOut {
                value: params.subsidy(height),
                pubkey,
            }],
            lock_time: 0,
        };
        let mut txdata = vec![coinbase];
        // A coinbase may be spent once `maturity` blocks are on top of it.
        if height > maturity {
            let (prevout, spent) = coinbases[(height - maturity - 1) as usize];
            let each = Amount::from_sat(spent.value.to_sat() / FAN_OUT as u64);
            txdata.push(signed(
                vec![(prevout, spent)],
                vec![
                    TxOut {
                        value: each,
                        pubkey
                    };
                    FAN_OUT
                ],
                &key,
            ));
            let mut spent_here = 0;
            while spent_here + 2 <= spec.inputs_per_block && pool.len() >= 2 {
                let inputs = vec![
                    pool.pop_front().expect("checked len"),
                    pool.pop_front().expect("checked len"),
                ];
                let outputs = inputs.iter().map(|(_, o)| *o).collect();
                txdata.push(signed(inputs, outputs, &key));
                spent_here += 2;
            }
        }
        // Stamped a second a block apart: past the median of the last 11, and a chain of a
        // few thousand blocks ends hours before now, well inside the future limit.
        let block = crate::mine_block(
            prev.block_hash(),
            genesis.time + height,
            params.genesis_bits,
            txdata,
            true,
        );
        for tx in &block.txdata[1..] {
            stats.transactions += 1;
            stats.inputs += tx.inputs.len() as u64;
        }
        for tx in &block.txdata {
            let txid = tx.txid();
            let outs = tx.outputs.iter().enumerate().map(|(vout, o)| {
                let point = OutPoint {
                    txid,
                    vout: vout as u32,
                };
                (point, *o)
            });
            if tx.inputs[0].prevout == OutPoint::coinbase(height) {
                coinbases.extend(outs);
            } else {
                pool.extend(outs);
            }
        }
        stats.blocks = height;
        stats.bytes += block.size() as u64;
        sink(&block);
        prev = block.header;
    }
    stats
}

fn signed(
    inputs: Vec<(OutPoint, TxOut)>,
    outputs: Vec<TxOut>,
    key: &secp256k1::Keypair,
) -> Transaction {
    let spent: Vec<TxOut> = inputs.iter().map(|(_, o)| *o).collect();
    let mut tx = Transaction {
        version: 1,
        inputs: inputs
            .into_iter()
            .map(|(prevout, _)| TxIn {
                prevout,
                witness: vec![],
            })
            .collect(),
        outputs,
        lock_time: 0,
    };
    let n = sign_transaction(&mut tx, &spent, std::slice::from_ref(key))
        .expect("inputs and spent outputs match in number");
    assert_eq!(n, spent.len(), "every input is the chain key's");
    tx
}

/// Writes `block` as a length-prefixed record (u32 little-endian length, then the bytes).
pub fn write_block(out: &mut impl Write, block: &Block) -> std::io::Result<()> {
    let bytes = serialize(block);
    out.write_all(&(bytes.len() as u32).to_le_bytes())?;
    out.write_all(&bytes)
}

/// Reads the next record written by [`write_block`]; `None` at the end of the input.
pub fn read_block(input: &mut impl Read) -> std::io::Result<Option<Block>> {
    let mut len = [0u8; 4];
    match input.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = u32::from_le_bytes(len) as usize;
    if len > MAX_BLOCK_BYTES {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("block record of {len} bytes exceeds {MAX_BLOCK_BYTES}"),
        ));
    }
    let mut bytes = vec![0u8; len];
    input.read_exact(&mut bytes)?;
    deserialize(&bytes)
        .map(Some)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))
}
