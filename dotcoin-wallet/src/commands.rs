//! The commands: each loads the wallet through the persister, asks the node for public
//! data, lets the core compute, persists the core's staged changes, and returns what to
//! print. The order matters in `send`: the wallet (with its new change key) is written
//! *before* the transaction is broadcast, so money is never sent to a key that is not on
//! disk.

use std::collections::{HashMap, HashSet};

use dotcoin_common::wallet_rpc_types::{WalletTxEntry, WalletTxInfo};
use dotcoin_common::{Address, Amount, FeeRate, Network, PubKey, SignedAmount, Txid};

use crate::cli::Command;
use crate::crypto::KdfParams;
use crate::error::WalletError;
use crate::node::{self, NodeApi, TxInfo};
use crate::output::{Json, Outcome};
use crate::passphrase::PassphraseSource;
use crate::persist::Store;
use crate::wallet::{self, Purpose, SendRequest, Wallet};

/// What every command needs besides its arguments.
#[derive(Debug, Clone)]
pub struct Context {
    /// The network.
    pub network: Network,
    /// The wallet file.
    pub store: Store,
    /// Where a passphrase comes from.
    pub passphrase: PassphraseSource,
    /// Argon2id costs for `encrypt`.
    pub kdf: KdfParams,
}

const BACKUP_NOTE: &str = "keys handed out since the last backup are not in any backup: back \
                           up the wallet file (dotcoin-wallet backupwallet <destination>)";

/// Runs one command.
pub async fn execute<N: NodeApi>(
    ctx: &Context,
    command: &Command,
    node: &N,
) -> Result<Outcome, WalletError> {
    match command {
        Command::Create { keypool, words } => create(ctx, *keypool, *words),
        Command::Restore { gaplimit, keypool } => restore(ctx, node, *keypool, *gaplimit).await,
        Command::Getnewaddress { label } => getnewaddress(ctx, label.as_deref().unwrap_or("")),
        Command::Listaddresses => listaddresses(ctx),
        Command::Getbalance => getbalance(ctx, node).await,
        Command::Listunspent => listunspent(ctx, node).await,
        Command::Send {
            address,
            amount,
            fee_rate,
            subtract_fee,
        } => {
            let to = wallet::parse_address(address, ctx.network)?;
            let amount = wallet::parse_amount(amount)?;
            send(ctx, node, vec![(to, amount)], *fee_rate, *subtract_fee).await
        }
        Command::Sendmany { amounts, fee_rate } => {
            let payments = parse_sendmany(amounts, ctx.network)?;
            send(ctx, node, payments, *fee_rate, false).await
        }
        Command::Dumpprivkey { address } => dumpprivkey(ctx, address),
        Command::Importprivkey { privkey, label } => {
            importprivkey(ctx, node, privkey, label.as_deref().unwrap_or("")).await
        }
        Command::Listtransactions => listtransactions(ctx, node).await,
        Command::Info => info(ctx),
        Command::Encrypt => encrypt(ctx),
        Command::Serve { .. } => Err(WalletError::Node(
            "serve runs the wallet service; it is not a one-shot command".into(),
        )),
        Command::Backupwallet { destination } => {
            let mut wallet = ctx.store.load(ctx.network)?;
            let dest = ctx.store.backup(&mut wallet, destination)?;
            Ok(Outcome::new(Json::Str(dest.display().to_string())))
        }
        Command::Signpsbt { file } => signpsbt(ctx, file),
        Command::Listdescriptors { private } => listdescriptors(ctx, *private),
    }
}

/// `signpsbt FILE`: the offline signer. Reads the wallet file and FILE, never the node.
fn signpsbt(ctx: &Context, file: &std::path::Path) -> Result<Outcome, WalletError> {
    use std::io::Read;

    use dotcoin_common::psbt::{Psbt, MAX_PSBT_SIZE};
    // Base64 of the largest PSBT, and some room for whitespace: read no more than that.
    let limit = (MAX_PSBT_SIZE / 3 * 4 + 4096) as u64;
    let mut text = String::new();
    std::fs::File::open(file)
        .map_err(|e| WalletError::io("cannot open", file, e))?
        .take(limit + 1)
        .read_to_string(&mut text)
        .map_err(|e| WalletError::io("cannot read", file, e))?;
    if text.len() as u64 > limit {
        return Err(WalletError::BadPsbt(format!(
            "{} is larger than any PSBT ({limit} bytes of base64)",
            file.display()
        )));
    }
    let mut psbt =
        Psbt::from_base64(text.trim()).map_err(|e| WalletError::BadPsbt(e.to_string()))?;
    let mut wallet = ctx.store.load(ctx.network)?;
    unlock(ctx, &mut wallet, "signpsbt")?;
    let signed = crate::psbt::sign(&wallet, &mut psbt)?;
    let b64 = psbt.to_base64();
    crate::persist::write_atomic(
        file,
        format!("{b64}\n").as_bytes(),
        crate::persist::Mode::Replace,
    )
    .map_err(|e| WalletError::io("cannot write", file, e))?;
    Ok(Outcome::new(Json::obj([
        ("psbt", Json::Str(b64)),
        ("complete", Json::Bool(signed.all_signed)),
        ("signed_inputs", Json::Int(signed.signed as i64)),
    ])))
}

/// Unlocks an encrypted wallet with the passphrase from `ctx`; a no-op otherwise.
fn unlock(ctx: &Context, wallet: &mut Wallet, purpose: &'static str) -> Result<(), WalletError> {
    if wallet.is_unlocked() {
        return Ok(());
    }
    let pass = ctx.passphrase.read(purpose)?;
    wallet.unlock(pass.as_bytes())
}

fn backup_notes(wallet: &Wallet) -> Vec<String> {
    if wallet.backup_needed() {
        vec![BACKUP_NOTE.to_owned()]
    } else {
        Vec::new()
    }
}

fn create(ctx: &Context, keypool: usize, words: usize) -> Result<Outcome, WalletError> {
    let mut wallet = Wallet::create_hd(ctx.network, keypool, words, "")?;
    let mnemonic = wallet
        .mnemonic()?
        .expect("a wallet made with words has words");
    ctx.store.create(&mut wallet)?;
    Ok(Outcome {
        result: Json::obj([
            ("wallet", Json::Str(ctx.store.path().display().to_string())),
            ("network", Json::Str(ctx.network.to_string())),
            ("keypool_size", Json::Int(keypool as i64)),
            ("encrypted", Json::Bool(false)),
            ("mnemonic", Json::Str(mnemonic.to_string())),
        ]),
        notes: vec![
            "write the seed words down and keep them safe: they are shown this once, and \
             `dotcoin-wallet restore` makes the wallet again from them"
                .to_owned(),
        ],
    })
}

fn listdescriptors(ctx: &Context, private: bool) -> Result<Outcome, WalletError> {
    let mut wallet = ctx.store.load(ctx.network)?;
    if !wallet.is_descriptor_wallet() {
        return Err(WalletError::Build(
            "listdescriptors is not available for non-descriptor wallets (migrate it with the \
             service's migratewallet)"
                .into(),
        ));
    }
    if private {
        if !wallet.private_keys_enabled() {
            return Err(WalletError::PrivateKeysDisabled("show private descriptors"));
        }
        unlock(ctx, &mut wallet, "listdescriptors")?;
    }
    let listed = wallet.list_descriptors(private)?;
    let name = ctx
        .store
        .path()
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let value = serde_json::json!({"wallet_name": name, "descriptors": listed});
    Ok(Outcome::new(Json::from_value(&value)))
}

async fn restore<N: NodeApi>(
    ctx: &Context,
    node: &N,
    keypool: usize,
    gap_limit: u32,
) -> Result<Outcome, WalletError> {
    if ctx.store.path().exists() {
        return Err(WalletError::AlreadyExists(ctx.store.path().to_path_buf()));
    }
    let seed = crate::restore::read_seed()?;
    let started = std::time::Instant::now();
    let (mut wallet, scans) =
        crate::restore::restore(node, ctx.network, &seed, keypool, gap_limit).await?;
    ctx.store.create(&mut wallet)?;
    Ok(Outcome {
        result: Json::obj([
            ("wallet", Json::Str(ctx.store.path().display().to_string())),
            ("network", Json::Str(ctx.network.to_string())),
            ("receive_used", Json::Int(i64::from(scans[0].used_end))),
            ("change_used", Json::Int(i64::from(scans[1].used_end))),
            (
                "queries",
                Json::Int(i64::from(scans[0].queries + scans[1].queries)),
            ),
            ("gap_limit", Json::Int(i64::from(gap_limit))),
            (
                "seconds",
                Json::Str(format!("{:.3}", started.elapsed().as_secs_f64())),
            ),
        ]),
        notes: Vec::new(),
    })
}

fn getnewaddress(ctx: &Context, label: &str) -> Result<Outcome, WalletError> {
    let mut wallet = ctx.store.load(ctx.network)?;
    // An encrypted wallet hands out pool keys without the passphrase; it is asked for only
    // when given as a file (to refill the pool) or when the pool is empty.
    let file_given = matches!(ctx.passphrase, PassphraseSource::File(_));
    if wallet.is_encrypted()
        && (file_given || (wallet.keypool_len() == 0 && ctx.passphrase.is_available()))
    {
        unlock(ctx, &mut wallet, "refilling the keypool")?;
    }
    let address = wallet.new_address(label)?;
    ctx.store.persist(&mut wallet)?;
    let mut notes = backup_notes(&wallet);
    if !wallet.is_unlocked() && !wallet.is_descriptor_wallet() {
        notes.push(format!(
            "{} keys left in the keypool; it is refilled the next time the passphrase is given",
            wallet.keypool_len()
        ));
    }
    Ok(Outcome {
        result: Json::Str(address.to_string()),
        notes,
    })
}

fn listaddresses(ctx: &Context) -> Result<Outcome, WalletError> {
    let wallet = ctx.store.load(ctx.network)?;
    let list = wallet
        .issued()
        .map(|k| {
            Json::obj([
                ("address", Json::Str(k.address.clone())),
                ("label", Json::Str(k.label.clone())),
                ("purpose", Json::Str(k.purpose.name().to_owned())),
            ])
        })
        .collect();
    Ok(Outcome::new(Json::Arr(list)))
}

async fn getbalance<N: NodeApi>(ctx: &Context, node: &N) -> Result<Outcome, WalletError> {
    let wallet = ctx.store.load(ctx.network)?;
    let utxos = node::address_utxos(node, &wallet.watched_addresses()).await?;
    let b = wallet::balances(&utxos);
    Ok(Outcome::new(Json::obj([
        ("confirmed", Json::amount(b.confirmed)),
        ("unconfirmed", Json::amount(b.unconfirmed)),
        ("immature", Json::amount(b.immature)),
    ])))
}

async fn listunspent<N: NodeApi>(ctx: &Context, node: &N) -> Result<Outcome, WalletError> {
    let wallet = ctx.store.load(ctx.network)?;
    let utxos = node::address_utxos(node, &wallet.watched_addresses()).await?;
    let list = utxos
        .iter()
        .filter(|u| !u.spent_in_mempool)
        .map(|u| {
            let label = wallet
                .record(&u.address)
                .map(|k| k.label.clone())
                .unwrap_or_default();
            Json::obj([
                ("txid", Json::Str(u.txid.to_string())),
                ("vout", Json::Int(i64::from(u.output_index))),
                ("address", Json::Str(u.address.clone())),
                ("label", Json::Str(label)),
                ("amount", Json::amount(Amount::from_sat(u.satoshis))),
                ("confirmations", Json::Int(i64::from(u.confirmations))),
                ("coinbase", Json::Bool(u.coinbase)),
                ("spendable", Json::Bool(wallet::is_spendable(u))),
            ])
        })
        .collect();
    Ok(Outcome::new(Json::Arr(list)))
}

/// `sendmany`'s argument: a JSON object of address to amount (a number or a string of
/// DOT), as Bitcoin Core's `sendmany` takes it.
pub fn parse_sendmany(arg: &str, network: Network) -> Result<Vec<(Address, Amount)>, WalletError> {
    let shape = || {
        WalletError::BadSendMany(
            "expected a JSON object of address to amount in DOT, e.g. '{\"<address>\": 1.5}'"
                .into(),
        )
    };
    let value: serde_json::Value = serde_json::from_str(arg).map_err(|_| shape())?;
    let object = value.as_object().ok_or_else(shape)?;
    if object.is_empty() {
        return Err(WalletError::BadSendMany("no recipients".into()));
    }
    let mut out = Vec::new();
    for (address, amount) in object {
        let text = match amount {
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::String(s) => s.clone(),
            _ => return Err(shape()),
        };
        out.push((
            wallet::parse_address(address, network)?,
            wallet::parse_amount(&text)?,
        ));
    }
    Ok(out)
}

async fn send<N: NodeApi>(
    ctx: &Context,
    node: &N,
    payments: Vec<(Address, Amount)>,
    fee_rate: u64,
    subtract_fee: bool,
) -> Result<Outcome, WalletError> {
    // The command line takes base units per byte; inside, one FeeRate unit everywhere.
    let fee_rate = FeeRate::from_sat_per_vb(fee_rate);
    if fee_rate < crate::wallet::MIN_FEE_RATE {
        return Err(WalletError::FeeRateTooLow(fee_rate));
    }
    let mut wallet = ctx.store.load(ctx.network)?;
    unlock(ctx, &mut wallet, "signing")?;
    let utxos = node::address_utxos(node, &wallet.watched_addresses()).await?;
    let request = SendRequest {
        payments,
        fee_rate,
        subtract_fee,
        max_fee: None,
    };
    let prepared = wallet.prepare_send(&utxos, &request)?;
    // Persist the change key before the node sees a transaction paying it.
    ctx.store.persist(&mut wallet)?;
    let txid = node::send_raw_transaction(node, &prepared.tx).await?;
    Ok(Outcome {
        result: Json::Str(txid.to_string()),
        notes: backup_notes(&wallet),
    })
}

fn dumpprivkey(ctx: &Context, address: &str) -> Result<Outcome, WalletError> {
    let mut wallet = ctx.store.load(ctx.network)?;
    if wallet.record(address.trim()).is_none() {
        return Err(WalletError::UnknownAddress(address.to_owned()));
    }
    unlock(ctx, &mut wallet, "dumpprivkey")?;
    let secret = wallet.dump_secret(address)?;
    // Unlocking may have refilled the keypool; keep those keys.
    ctx.store.persist(&mut wallet)?;
    Ok(Outcome::new(Json::Str(
        crate::hd::to_wif(&secret, wallet.network()).to_string(),
    )))
}

async fn importprivkey<N: NodeApi>(
    ctx: &Context,
    node: &N,
    privkey: &str,
    label: &str,
) -> Result<Outcome, WalletError> {
    let mut wallet = ctx.store.load(ctx.network)?;
    unlock(ctx, &mut wallet, "importprivkey")?;
    let address = wallet.import_secret(privkey, label)?;
    ctx.store.persist(&mut wallet)?;
    let mut notes = backup_notes(&wallet);
    // The wallet keeps no history of its own: the key's past is whatever the node's
    // address index knows, here and in every later listtransactions/getbalance.
    let transactions = match node::address_txids(node, &[address.to_string()]).await {
        Ok(txids) => Json::Int(txids.len() as i64),
        Err(e) => {
            notes.push(format!(
                "key imported, but its history could not be looked up: {e}"
            ));
            Json::Null
        }
    };
    Ok(Outcome {
        result: Json::obj([
            ("address", Json::Str(address.to_string())),
            ("label", Json::Str(label.to_owned())),
            ("transactions", transactions),
        ]),
        notes,
    })
}

async fn listtransactions<N: NodeApi>(ctx: &Context, node: &N) -> Result<Outcome, WalletError> {
    let wallet = ctx.store.load(ctx.network)?;
    let maturity = node::blockchain_info(node).await?.coinbase_maturity;
    let txids = node::address_txids(node, &wallet.watched_addresses()).await?;
    let mut infos: Vec<TxInfo> = Vec::with_capacity(txids.len());
    for txid in &txids {
        infos.push(node::raw_transaction(node, txid).await?);
    }
    let ours: HashSet<PubKey> = wallet
        .watched_addresses()
        .iter()
        .filter_map(|a| a.parse::<Address>().ok().map(|a| a.pubkey))
        .collect();
    let entries = history(&wallet, &infos, &ours, maturity);
    // Printed as the service's answer is: through its JSON, amounts with 8 decimals.
    let text = serde_json::to_string(&entries).map_err(|e| WalletError::Node(e.to_string()))?;
    let result: Json = serde_json::from_str(&text).map_err(|e| WalletError::Node(e.to_string()))?;
    Ok(Outcome::new(result))
}

/// One entry per transaction, oldest first: the net effect on the wallet.
pub(crate) fn history(
    wallet: &Wallet,
    infos: &[TxInfo],
    ours: &HashSet<PubKey>,
    maturity: u32,
) -> Vec<WalletTxEntry> {
    let by_txid: HashMap<Txid, &TxInfo> = infos.iter().map(|i| (i.tx.txid(), i)).collect();
    let network = wallet.network();
    let mut out = Vec::new();
    for info in infos {
        let tx = &info.tx;
        let received: i128 = tx
            .outputs
            .iter()
            .filter(|o| ours.contains(&o.pubkey))
            .map(|o| i128::from(o.value.to_sat()))
            .sum();
        // Values of the inputs that spend our outputs (their creating transactions paid
        // one of our addresses, so they are in the same list).
        let mut debit: i128 = 0;
        let mut all_inputs_ours = !tx.is_coinbase();
        let mut total_in: i128 = 0;
        for input in &tx.inputs {
            let spent = by_txid
                .get(&input.prevout.txid)
                .and_then(|p| p.tx.outputs.get(input.prevout.vout as usize))
                .filter(|o| ours.contains(&o.pubkey));
            match spent {
                Some(o) => {
                    debit += i128::from(o.value.to_sat());
                    total_in += i128::from(o.value.to_sat());
                }
                None => all_inputs_ours = false,
            }
        }
        let total_out: i128 = tx
            .outputs
            .iter()
            .map(|o| i128::from(o.value.to_sat()))
            .sum();
        // The output an entry is about (Core's `vout` and `address`).
        let first_of = |mine: bool| {
            tx.outputs
                .iter()
                .zip(0u32..)
                .find(|(o, _)| ours.contains(&o.pubkey) == mine)
                .map(|(o, n)| (n, Address::new(network, o.pubkey).to_string()))
        };
        let (category, amount, fee, address) = if tx.is_coinbase() {
            let category = if info.confirmations >= maturity {
                "generate"
            } else {
                "immature"
            };
            (category, received, None, first_of(true))
        } else if debit > 0 {
            let to_others = total_out - received;
            if all_inputs_ours {
                (
                    "send",
                    -to_others,
                    Some(-(total_in - total_out)),
                    first_of(false).or(first_of(true)),
                )
            } else {
                ("send", received - debit, None, first_of(false))
            }
        } else {
            ("receive", received, None, first_of(true))
        };
        // Core names an output for every entry; a send whose outputs all pay others
        // or all pay us has one, so only a transaction without outputs falls back to 0.
        let vout = address.as_ref().map_or(0, |(n, _)| *n);
        let (address, label) = match address {
            Some((_, address)) => {
                let label = wallet
                    .record(&address)
                    .map(|k| k.label.clone())
                    .filter(|l| !l.is_empty());
                (Some(address), label)
            }
            None => (None, None),
        };
        let received = info.received.map(|r| i64::try_from(r).unwrap_or(i64::MAX));
        out.push(WalletTxEntry {
            category: category.to_owned(),
            amount: signed(amount),
            fee: fee.map(signed),
            vout,
            address,
            label,
            tx: WalletTxInfo {
                confirmations: i64::from(info.confirmations),
                generated: tx.is_coinbase().then_some(true),
                // Core's trust: our own spend, whose inputs are all ours.
                trusted: (info.confirmations == 0).then_some(all_inputs_ours),
                blockhash: info.blockhash,
                blockheight: info.height,
                blockindex: info.index,
                blocktime: info.time,
                txid: tx.txid(),
                wtxid: tx.wtxid(),
                // The pool refuses conflicting transactions, so a wallet transaction never
                // conflicts with another and is never replaced.
                walletconflicts: Vec::new(),
                replaced_by_txid: None,
                replaces_txid: None,
                time: received,
                timereceived: received,
                bip125_replaceable: "no".to_owned(),
            },
            abandoned: (category == "send").then_some(false),
        });
    }
    out
}

/// A net amount in base units (sums of at most `MAX_MONEY`-bounded values).
fn signed(sat: i128) -> SignedAmount {
    SignedAmount::from_sat(i64::try_from(sat).unwrap_or(if sat < 0 { i64::MIN } else { i64::MAX }))
}

fn info(ctx: &Context) -> Result<Outcome, WalletError> {
    let wallet = ctx.store.load(ctx.network)?;
    let file = wallet.file();
    let count = |p: Purpose| file.keys.iter().filter(|k| k.purpose == p).count() as i64;
    Ok(Outcome {
        result: Json::obj([
            ("wallet", Json::Str(ctx.store.path().display().to_string())),
            ("network", Json::Str(file.network.to_string())),
            ("format_version", Json::Int(i64::from(file.version))),
            ("encrypted", Json::Bool(wallet.is_encrypted())),
            ("keys", Json::Int(file.keys.len() as i64)),
            ("receive_addresses", Json::Int(count(Purpose::Receive))),
            ("change_addresses", Json::Int(count(Purpose::Change))),
            ("imported_keys", Json::Int(count(Purpose::Imported))),
            ("keypool", Json::Int(count(Purpose::Pool))),
            ("keypool_size", Json::Int(file.keypool_size as i64)),
            ("backup_needed", Json::Bool(wallet.backup_needed())),
        ]),
        notes: backup_notes(&wallet),
    })
}

fn encrypt(ctx: &Context) -> Result<Outcome, WalletError> {
    let mut wallet = ctx.store.load(ctx.network)?;
    if wallet.is_encrypted() {
        return Err(WalletError::AlreadyEncrypted);
    }
    let pass = ctx.passphrase.read_new()?;
    wallet.encrypt(pass.as_bytes(), ctx.kdf)?;
    ctx.store.persist(&mut wallet)?;
    Ok(Outcome {
        result: Json::Str(
            "wallet encrypted; keep the passphrase safe: without it the keys cannot be recovered"
                .to_owned(),
        ),
        notes: vec![
            "earlier backups still hold the keys unencrypted, and the keypool was replaced by \
             fresh keys: make a new backup and destroy the old ones"
                .to_owned(),
        ],
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use dotcoin_common::rpc_types::AddressUtxo;
    use dotcoin_common::sighash::signing::{generate_keypair, pubkey_of};
    use dotcoin_common::{encode, OutPoint, Transaction, TxIn, TxOut};
    use serde_json::json;

    use super::*;
    use crate::node::tests::FakeNode;
    use crate::node::NodeError;
    use crate::persist::wallet_path;
    use crate::wallet::tests::utxo;
    use bitcoin_hashes::Hash as _;
    use dotcoin_common::rpc_types::{BlockchainInfo, TxVerbose};
    use dotcoin_common::BlockHash;

    fn ctx(dir: &Path, passphrase: PassphraseSource) -> Context {
        Context {
            network: Network::Regtest,
            store: Store::new(wallet_path(dir, Network::Regtest, "default").expect("name")),
            passphrase,
            kdf: KdfParams::INSECURE_FAST,
        }
    }

    fn run(ctx: &Context, command: Command, node: &FakeNode) -> Result<Outcome, WalletError> {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
            .block_on(execute(ctx, &command, node))
    }

    fn text(o: Outcome) -> String {
        match o.result {
            Json::Str(s) => s,
            other => panic!("not a string: {other:?}"),
        }
    }

    fn stranger() -> String {
        Address::new(Network::Regtest, pubkey_of(&generate_keypair())).to_string()
    }

    fn node_with_utxos(utxos: &[AddressUtxo]) -> FakeNode {
        let mut node = FakeNode::default();
        node.answers.insert(
            "getaddressutxos".into(),
            serde_json::to_value(utxos).expect("json"),
        );
        node
    }

    fn send(to: &str, amount: &str) -> Command {
        Command::Send {
            address: to.into(),
            amount: amount.into(),
            fee_rate: 2,
            subtract_fee: false,
        }
    }

    #[test]
    fn create_then_getnewaddress_and_list() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ctx = ctx(dir.path(), PassphraseSource::Unavailable);
        let node = FakeNode::default();
        let out = run(
            &ctx,
            Command::Create {
                keypool: 2,
                words: 12,
            },
            &node,
        )
        .expect("creates");
        assert_eq!(out.notes.len(), 1);
        let err = run(
            &ctx,
            Command::Create {
                keypool: 2,
                words: 12,
            },
            &node,
        )
        .expect_err("exists");
        assert!(err
            .to_string()
            .ends_with("already exists; refusing to overwrite it"));
        let addr = text(
            run(
                &ctx,
                Command::Getnewaddress {
                    label: Some("rent".into()),
                },
                &node,
            )
            .expect("addr"),
        );
        assert!(addr.starts_with("dcrt1p"), "{addr}");
        let list = run(&ctx, Command::Listaddresses, &node)
            .expect("list")
            .result
            .render();
        assert!(list.contains(&addr) && list.contains("\"rent\""), "{list}");
        assert!(node.calls.borrow().is_empty(), "no node needed");
    }

    #[test]
    fn getbalance_prints_three_amounts() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ctx = ctx(dir.path(), PassphraseSource::Unavailable);
        run(
            &ctx,
            Command::Create {
                keypool: 2,
                words: 12,
            },
            &FakeNode::default(),
        )
        .expect("creates");
        let a = text(
            run(
                &ctx,
                Command::Getnewaddress { label: None },
                &FakeNode::default(),
            )
            .expect("addr"),
        );
        let mut young = utxo(&a, 1, 50 * 100_000_000, 5);
        young.coinbase = true;
        young.immature = true;
        let node = node_with_utxos(&[young, utxo(&a, 2, 150_000_000, 3), utxo(&a, 3, 1, 0)]);
        let out = run(&ctx, Command::Getbalance, &node)
            .expect("balance")
            .result
            .render();
        assert_eq!(
            out,
            "{\n  \"confirmed\": 1.50000000,\n  \"unconfirmed\": 0.00000001,\n  \"immature\": \
             50.00000000\n}"
        );
        // The handed-out key, and the pool keys of both chains (two of each) are watched.
        let calls = node.calls.borrow();
        assert_eq!(
            calls[0].1[0]["addresses"].as_array().expect("list").len(),
            5
        );
    }

    #[test]
    fn send_persists_change_before_broadcast_and_prints_txid() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ctx = ctx(dir.path(), PassphraseSource::Unavailable);
        run(
            &ctx,
            Command::Create {
                keypool: 2,
                words: 12,
            },
            &FakeNode::default(),
        )
        .expect("creates");
        let a = text(
            run(
                &ctx,
                Command::Getnewaddress { label: None },
                &FakeNode::default(),
            )
            .expect("addr"),
        );
        let mut node = node_with_utxos(&[utxo(&a, 1, 50 * 100_000_000, 200)]);
        node.errors.insert(
            "sendrawtransaction".into(),
            NodeError {
                code: Some(-26),
                message: "min relay fee not met".into(),
            },
        );
        let err = run(&ctx, send(&stranger(), "1"), &node).expect_err("rejected");
        assert_eq!(
            err.to_string(),
            "node returned error -26: min relay fee not met"
        );
        // The change key was written before the broadcast was tried.
        let w = ctx.store.load(Network::Regtest).expect("loads");
        assert_eq!(
            w.issued().filter(|k| k.purpose == Purpose::Change).count(),
            1
        );

        node.errors.clear();
        let fake_txid = Txid::from_raw_hash(bitcoin_hashes::Hash::all_zeros());
        node.answers
            .insert("sendrawtransaction".into(), json!(fake_txid.to_string()));
        let out = run(&ctx, send(&stranger(), "1"), &node).expect("sent");
        assert_eq!(text(out), fake_txid.to_string());
        let calls = node.calls.borrow();
        let (_, params) = calls
            .iter()
            .rev()
            .find(|(m, _)| m == "sendrawtransaction")
            .expect("sent");
        let tx: Transaction =
            encode::deserialize(&hex::decode(params[0].as_str().expect("hex")).expect("hex"))
                .expect("decodes");
        assert_eq!(tx.outputs[0].value, Amount::ONE_DOT);
    }

    #[test]
    fn send_argument_errors() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ctx = ctx(dir.path(), PassphraseSource::Unavailable);
        let node = FakeNode::default();
        run(
            &ctx,
            Command::Create {
                keypool: 2,
                words: 12,
            },
            &node,
        )
        .expect("creates");
        let main = Address::new(Network::Main, PubKey([2; 32])).to_string();
        assert_eq!(
            run(&ctx, send(&main, "1"), &node)
                .expect_err("network")
                .to_string(),
            format!("invalid address '{main}': address is for network main, expected regtest")
        );
        assert_eq!(
            run(&ctx, send(&stranger(), "0"), &node)
                .expect_err("zero")
                .to_string(),
            "invalid amount '0': the amount must be greater than zero"
        );
        assert_eq!(
            run(&ctx, send(&stranger(), "-3"), &node)
                .expect_err("negative")
                .to_string(),
            "invalid amount '-3': the amount must be greater than zero"
        );
        let cmd = Command::Send {
            address: stranger(),
            amount: "1".into(),
            fee_rate: 0,
            subtract_fee: false,
        };
        assert_eq!(
            run(&ctx, cmd, &node).expect_err("rate").to_string(),
            "fee rate 0 sat/kvB is below the minimum relay fee rate of 1 unit per byte (1000 sat/kvB)"
        );
        let node = node_with_utxos(&[]);
        assert_eq!(
            run(&ctx, send(&stranger(), "1"), &node)
                .expect_err("poor")
                .to_string(),
            "insufficient funds: sending 1.00000000 DOT, but the spendable balance is \
             0.00000000 DOT"
        );
    }

    #[test]
    fn sendmany_parsing() {
        let a = stranger();
        let b = stranger();
        let payments = parse_sendmany(
            &format!("{{\"{a}\": 1.5, \"{b}\": \"0.25\"}}"),
            Network::Regtest,
        )
        .expect("parses");
        assert_eq!(payments.len(), 2);
        assert!(payments
            .iter()
            .any(|(_, amt)| *amt == Amount::from_sat(150_000_000)));
        assert!(payments
            .iter()
            .any(|(_, amt)| *amt == Amount::from_sat(25_000_000)));
        assert_eq!(
            parse_sendmany("[1]", Network::Regtest)
                .expect_err("shape")
                .to_string(),
            "invalid sendmany argument: expected a JSON object of address to amount in DOT, \
             e.g. '{\"<address>\": 1.5}'"
        );
        assert_eq!(
            parse_sendmany("{}", Network::Regtest)
                .expect_err("empty")
                .to_string(),
            "invalid sendmany argument: no recipients"
        );
        assert_eq!(
            parse_sendmany(&format!("{{\"{a}\": 0}}"), Network::Regtest)
                .expect_err("zero")
                .to_string(),
            "invalid amount '0': the amount must be greater than zero"
        );
    }

    #[test]
    fn encrypted_wallet_passphrase_flow() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pass = dir.path().join("pass");
        let wrong = dir.path().join("wrong");
        std::fs::write(&pass, "right\n").expect("write");
        std::fs::write(&wrong, "wrong\n").expect("write");
        let plain = ctx(dir.path(), PassphraseSource::Unavailable);
        let with_pass = ctx(dir.path(), PassphraseSource::File(pass));
        let with_wrong = ctx(dir.path(), PassphraseSource::File(wrong));
        let node = FakeNode::default();
        run(
            &plain,
            Command::Create {
                keypool: 2,
                words: 12,
            },
            &node,
        )
        .expect("creates");
        let a = text(run(&plain, Command::Getnewaddress { label: None }, &node).expect("addr"));
        let secret =
            text(run(&plain, Command::Dumpprivkey { address: a.clone() }, &node).expect("dump"));
        assert_eq!(
            run(&plain, Command::Encrypt, &node)
                .expect_err("no passphrase")
                .to_string(),
            "encrypt needs a new passphrase: give --passphrase-file FILE or run on a terminal \
             to be prompted"
        );
        run(&with_pass, Command::Encrypt, &node).expect("encrypts");
        let bytes = std::fs::read(plain.store.path()).expect("read");
        assert!(
            !String::from_utf8_lossy(&bytes).contains(&secret),
            "secret not in plaintext"
        );
        assert_eq!(
            run(&with_pass, Command::Encrypt, &node)
                .expect_err("twice")
                .to_string(),
            "wallet is already encrypted"
        );

        // Signing without the passphrase fails clearly.
        let node = node_with_utxos(&[utxo(&a, 1, 100_000_000, 10)]);
        assert_eq!(
            run(&plain, send(&stranger(), "0.1"), &node)
                .expect_err("locked")
                .to_string(),
            "wallet is encrypted and signing needs the passphrase: give --passphrase-file FILE \
             or run on a terminal to be prompted"
        );
        // A wrong passphrase fails and leaves the file byte-identical.
        for cmd in [
            send(&stranger(), "0.1"),
            Command::Dumpprivkey { address: a.clone() },
        ] {
            assert_eq!(
                run(&with_wrong, cmd, &node).expect_err("wrong").to_string(),
                "incorrect passphrase; the wallet was not changed"
            );
            assert_eq!(std::fs::read(plain.store.path()).expect("read"), bytes);
        }
        // Public data needs no passphrase.
        run(&plain, Command::Listaddresses, &node).expect("lists");
        run(&plain, Command::Getbalance, &node).expect("balance");
        // The right one works.
        assert_eq!(
            text(
                run(
                    &with_pass,
                    Command::Dumpprivkey { address: a.clone() },
                    &node
                )
                .expect("ok")
            ),
            secret
        );
        let mut node = node;
        node.answers.insert(
            "sendrawtransaction".into(),
            json!(Txid::from_raw_hash(bitcoin_hashes::Hash::all_zeros()).to_string()),
        );
        run(&with_pass, send(&stranger(), "0.1"), &node).expect("signs");
    }

    #[test]
    fn dumpprivkey_unknown_address() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ctx = ctx(dir.path(), PassphraseSource::Unavailable);
        let node = FakeNode::default();
        run(
            &ctx,
            Command::Create {
                keypool: 1,
                words: 12,
            },
            &node,
        )
        .expect("creates");
        let s = stranger();
        assert_eq!(
            run(&ctx, Command::Dumpprivkey { address: s.clone() }, &node)
                .expect_err("unknown")
                .to_string(),
            format!("address {s} does not belong to this wallet")
        );
        let missing = Context {
            store: Store::new(wallet_path(dir.path(), Network::Regtest, "nope").expect("name")),
            ..ctx
        };
        assert!(run(&missing, Command::Info, &node)
            .expect_err("missing")
            .to_string()
            .ends_with("nope.json not found (create it with `dotcoin-wallet create`)"));
    }

    #[test]
    fn importprivkey_finds_history_and_listtransactions() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ctx = ctx(dir.path(), PassphraseSource::Unavailable);
        run(
            &ctx,
            Command::Create {
                keypool: 1,
                words: 12,
            },
            &FakeNode::default(),
        )
        .expect("creates");
        let key = generate_keypair();
        let mine = pubkey_of(&key);
        let other = PubKey([5; 32]);

        // A coinbase paying the imported key, then a spend of it to someone else.
        let coinbase = Transaction {
            version: 1,
            inputs: vec![TxIn {
                prevout: OutPoint::coinbase(1),
                witness: vec![1],
            }],
            outputs: vec![TxOut {
                value: Amount::from_dot(50),
                pubkey: mine,
            }],
            lock_time: 0,
        };
        let spend = Transaction {
            version: 1,
            inputs: vec![TxIn {
                prevout: OutPoint {
                    txid: coinbase.txid(),
                    vout: 0,
                },
                witness: vec![0; 64],
            }],
            outputs: vec![
                TxOut {
                    value: Amount::from_dot(30),
                    pubkey: other,
                },
                TxOut {
                    value: Amount::from_sat(20 * 100_000_000 - 400),
                    pubkey: mine,
                },
            ],
            lock_time: 0,
        };
        let mut node = FakeNode::default();
        node.answers.insert(
            "getaddresstxids".into(),
            json!([coinbase.txid().to_string(), spend.txid().to_string()]),
        );
        let info = BlockchainInfo {
            chain: "regtest".into(),
            blocks: 200,
            headers: 200,
            bestblockhash: BlockHash::all_zeros(),
            bits: "207fffff".into(),
            target: "00".into(),
            difficulty: 1.0,
            time: 0,
            mediantime: 0,
            verificationprogress: 1.0,
            initialblockdownload: false,
            chainwork: "00".into(),
            size_on_disk: 0,
            pruned: false,
            warnings: String::new(),
            coinbase_maturity: 100,
        };
        node.answers.insert(
            "getblockchaininfo".into(),
            serde_json::to_value(info).expect("json"),
        );
        // The coinbase is confirmed 150 deep, the spend is still in the mempool.
        let confirmed = TxVerbose::from_tx(&coinbase, Network::Regtest).in_block(
            BlockHash::all_zeros(),
            150,
            1_700_000_000,
        );
        let pending = TxVerbose::from_tx(&spend, Network::Regtest);
        for answer in [confirmed, pending] {
            node.answers.insert(
                format!("getrawtransaction {}", answer.tx.txid),
                serde_json::to_value(answer).expect("json"),
            );
        }
        let out = run(
            &ctx,
            Command::Importprivkey {
                privkey: hex::encode(key.secret_bytes()),
                label: Some("old".into()),
            },
            &node,
        )
        .expect("imports");
        let rendered = out.result.render();
        assert!(rendered.contains("\"transactions\": 2"), "{rendered}");
        assert_eq!(
            out.notes,
            vec![BACKUP_NOTE.to_owned()],
            "imported key is in no backup"
        );

        let list = run(&ctx, Command::Listtransactions, &node)
            .expect("lists")
            .result
            .render();
        let v: serde_json::Value = serde_json::from_str(&list).expect("json");
        assert_eq!(v[0]["category"], "generate");
        assert_eq!(v[0]["amount"], json!(50.0));
        assert_eq!(v[0]["label"], "old");
        assert_eq!(v[1]["category"], "send");
        assert_eq!(v[1]["amount"], json!(-30.0));
        assert_eq!(v[1]["fee"], json!(-0.000004));
        assert_eq!(
            v[1]["address"],
            Address::new(Network::Regtest, other).to_string()
        );
        assert_eq!(v[1]["confirmations"], 0);

        // A node that is down does not undo the import.
        let mut down = FakeNode::default();
        down.errors.insert(
            "getaddresstxids".into(),
            NodeError {
                code: None,
                message: "cannot connect".into(),
            },
        );
        let again = run(
            &ctx,
            Command::Importprivkey {
                privkey: hex::encode([7u8; 32]),
                label: None,
            },
            &down,
        )
        .expect("imports anyway");
        assert!(again.result.render().contains("\"transactions\": null"));
        assert!(again
            .notes
            .iter()
            .any(|n| n.contains("could not be looked up: node: cannot connect")));
    }

    #[test]
    fn a_locked_descriptor_wallet_hands_out_addresses_without_the_passphrase() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pass = dir.path().join("pass");
        std::fs::write(&pass, "pw").expect("write");
        let plain = ctx(dir.path(), PassphraseSource::Unavailable);
        let with_pass = ctx(dir.path(), PassphraseSource::File(pass));
        let node = FakeNode::default();
        let created = run(
            &plain,
            Command::Create {
                keypool: 1,
                words: 24,
            },
            &node,
        )
        .expect("creates")
        .result
        .render();
        let words: serde_json::Value = serde_json::from_str(&created).expect("JSON");
        assert_eq!(
            words["mnemonic"]
                .as_str()
                .expect("words")
                .split(' ')
                .count(),
            24
        );
        run(&with_pass, Command::Encrypt, &node).expect("encrypts");
        let file = std::fs::read_to_string(plain.store.path()).expect("read");
        let first_word = words["mnemonic"].as_str().expect("words").split(' ').next();
        assert!(
            !file.contains(words["mnemonic"].as_str().expect("words")),
            "the words are sealed"
        );
        assert!(first_word.is_some());
        // Derived from the xpub: no passphrase, and never dry.
        let a = run(&plain, Command::Getnewaddress { label: None }, &node).expect("address");
        let b = run(&plain, Command::Getnewaddress { label: None }, &node).expect("address");
        assert_ne!(a.result.render(), b.result.render());
        assert!(
            a.notes.iter().all(|n| !n.contains("keypool")),
            "{:?}",
            a.notes
        );
        // The private descriptors need it.
        assert!(run(&plain, Command::Listdescriptors { private: true }, &node).is_err());
        let private = run(
            &with_pass,
            Command::Listdescriptors { private: true },
            &node,
        )
        .expect("unlocked")
        .result
        .render();
        assert!(private.contains("tprv"), "{private}");
        let public = run(&plain, Command::Listdescriptors { private: false }, &node)
            .expect("public")
            .result
            .render();
        assert!(
            public.contains("tpub") && !public.contains("tprv"),
            "{public}"
        );
    }
}
