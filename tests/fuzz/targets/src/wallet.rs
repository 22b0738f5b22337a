//! The wallet file loader (`dotcoin_wallet::persist::decode`, what `Store::load` runs on
//! the file's bytes): a damaged or hand-edited file must be refused with an error, never
//! crash the wallet.

use dotcoin_common::Network;
use dotcoin_wallet::persist;
use dotcoin_wallet::wallet::WalletFile;

/// The passphrase of the encrypted seed wallets; the target tries it on every encrypted
/// file, so the fuzzer reaches the decryption of the key records too.
pub const PASSPHRASE: &[u8] = b"fuzz";

/// Largest Argon2 memory cost (KiB) and passes the target derives a key with, and the
/// largest keypool it lets an unlock refill. Unlocking runs what the file asks for; the
/// bounds keep one run in milliseconds, as a fuzzer needs.
const MAX_M_COST: u32 = 64;
const MAX_T_COST: u32 = 2;
const MAX_KEYPOOL: usize = 4;

/// Fuzz target: `data` as a wallet file. A document that parses must survive writing and
/// parsing again; a wallet that opens must keep its document as read, and, when encrypted
/// with [`PASSPHRASE`], give each issued key's secret.
pub fn wallet_file(data: &[u8]) {
    match WalletFile::from_json(data) {
        Ok(file) => {
            let json = file.to_json();
            let again = WalletFile::from_json(&json).expect("a written wallet file parses");
            assert_eq!(again, file, "wallet file changes through JSON");
            assert_eq!(again.to_json(), json, "wallet file JSON is not stable");
        }
        Err(e) => drop(e.to_string()),
    }
    for network in Network::ALL {
        let mut wallet = match persist::decode(data, network) {
            Ok(w) => w,
            Err(e) => {
                drop(e.to_string());
                continue;
            }
        };
        assert_eq!(wallet.network(), network);
        assert_eq!(
            Some(wallet.file()),
            WalletFile::from_json(data).ok().as_ref(),
            "open changed the document"
        );
        let _ = (
            wallet.keypool_len(),
            wallet.backup_needed(),
            wallet.watched_addresses(),
        );
        let cheap = wallet.file().keypool_size <= MAX_KEYPOOL
            && wallet.file().encryption.as_ref().is_some_and(|e| {
                e.kdf_params.m_cost <= MAX_M_COST && e.kdf_params.t_cost <= MAX_T_COST
            });
        if cheap {
            if let Err(e) = wallet.unlock(PASSPHRASE) {
                drop(e.to_string());
            }
        }
        let addresses: Vec<String> = wallet.issued().map(|k| k.address.clone()).collect();
        for address in addresses {
            if let Err(e) = wallet.dump_secret(&address) {
                drop(e.to_string());
            }
        }
    }
}
