//! What the node's benchmarks share: a regtest chain and miner in a datadir, and copies of
//! a prepared datadir so each measured run starts from the same store.

use std::path::Path;
use std::sync::Arc;

use dotcoin_common::Network;
use dotcoind::miner::MinerService;
use dotcoind::state::{ChainOptions, ChainService, EventBus};

/// A regtest chain service over `dir`, with a miner on it.
pub fn open(dir: &Path) -> (Arc<ChainService>, Arc<MinerService>) {
    let chain = ChainService::open(
        ChainOptions {
            datadir: dir.to_path_buf(),
            params: Network::Regtest.params(),
            max_mempool_bytes: 50_000_000,
            min_relay_fee: dotcoin_common::FeeRate::from_sat_per_kvb(1000),
            db_cache_bytes: dotcoind::storage::DEFAULT_DB_CACHE_BYTES,
        },
        EventBus::new(),
    )
    .expect("open");
    let miner = MinerService::new(Arc::clone(&chain));
    (chain, miner)
}

/// Copies the directory tree `from` to `to`.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let dest = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), dest).expect("copy");
        }
    }
}

/// `prev`'s output `vout`, paid whole to `to` less `fee` units, signed with `key`.
pub fn spend_output(
    key: &secp256k1::Keypair,
    prev: &dotcoin_common::Transaction,
    vout: u32,
    fee: u64,
    to: dotcoin_common::PubKey,
) -> dotcoin_common::Transaction {
    use dotcoin_common::{Amount, OutPoint, Transaction, TxIn, TxOut};
    let spent = prev.outputs[vout as usize];
    let mut tx = Transaction {
        version: 1,
        inputs: vec![TxIn {
            prevout: OutPoint {
                txid: prev.txid(),
                vout,
            },
            witness: vec![],
        }],
        outputs: vec![TxOut {
            value: Amount::from_sat(spent.value.to_sat() - fee),
            pubkey: to,
        }],
        lock_time: 0,
    };
    dotcoin_common::sighash::signing::sign_transaction(
        &mut tx,
        &[spent],
        std::slice::from_ref(key),
    )
    .expect("sign");
    tx
}
