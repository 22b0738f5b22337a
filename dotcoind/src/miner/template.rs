//! Block templates: a coinbase paying subsidy plus fees to the miner's key, followed by the
//! best mempool transactions, on the tip of a chain snapshot.

use dotcoin_common::consensus::MAX_BLOCK_SIZE;
use dotcoin_common::merkle::merkle_root_of_txs;
use dotcoin_common::primitives::BlockHeader;
use dotcoin_common::{Amount, Block, OutPoint, PubKey, Transaction, TxIn, TxOut};

use crate::state::Snapshot;

/// Room left in a template for the coinbase and header.
const COINBASE_RESERVE: usize = 1_000;

/// A block ready for the nonce search.
#[derive(Debug, Clone)]
pub struct Template {
    /// The block, nonce 0.
    pub block: Block,
    /// Its height.
    pub height: u32,
    /// Fees of its transactions.
    pub fees: Amount,
}

/// Builds a template on the current tip paying to `pubkey`.
pub fn build_template(snap: &Snapshot, pubkey: PubKey, extra_nonce: u64, now: u64) -> Template {
    let selected = snap
        .mempool()
        .select_for_block(MAX_BLOCK_SIZE - COINBASE_RESERVE);
    build_block_with(snap, pubkey, selected, extra_nonce, now)
}

/// Builds a block on the current tip with exactly `selected` (transaction and fee, in
/// block order) after a coinbase paying subsidy plus their fees to `pubkey`
/// (`generateblock`, and every template).
pub fn build_block_with(
    snap: &Snapshot,
    pubkey: PubKey,
    selected: Vec<(Transaction, Amount)>,
    extra_nonce: u64,
    now: u64,
) -> Template {
    let tip = *snap.tip();
    let ctx = snap.index().header_context(snap.params(), &tip, now);
    let fees = Amount::checked_sum(selected.iter().map(|(_, fee)| *fee))
        .expect("pool fees are each checked and far below MAX_MONEY together");
    let mut witness = extra_nonce.to_le_bytes().to_vec();
    witness.extend_from_slice(b"/dotcoin/");
    let coinbase = Transaction {
        version: 1,
        inputs: vec![TxIn {
            prevout: OutPoint::coinbase(ctx.height),
            witness,
        }],
        outputs: vec![TxOut {
            value: snap
                .params()
                .subsidy(ctx.height)
                .checked_add(fees)
                .expect("subsidy plus fees stays below MAX_MONEY"),
            pubkey,
        }],
        lock_time: 0,
    };
    let mut txdata = Vec::with_capacity(selected.len() + 1);
    txdata.push(coinbase);
    txdata.extend(selected.into_iter().map(|(tx, _)| tx));
    let (merkle_root, _) = merkle_root_of_txs(&txdata);
    // After the median of the last 11, and at a period's first block no further before
    // the parent than the time-warp rule allows (the parent may be ahead of our clock).
    let time = (now as u32)
        .max(ctx.median_time_past + 1)
        .max(ctx.parent_time.saturating_sub(snap.params().max_timewarp));
    Template {
        block: Block {
            header: BlockHeader {
                version: 1,
                prev_blockhash: tip.hash,
                merkle_root,
                time,
                bits: ctx.expected_bits,
                nonce: 0,
            },
            txdata,
        },
        height: ctx.height,
        fees,
    }
}
