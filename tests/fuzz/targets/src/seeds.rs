//! Seed inputs: valid encodings of everything the targets decode — signed transactions,
//! mined blocks, header runs and locators on the [`fixture`](crate::chain::fixture)
//! chain, framed messages, RPC parameters, command lines and wallet files — so fuzzing
//! starts from inputs that get past the decoders instead of from nothing.
//!
//! `tests/replay.rs` checks that each seed decodes, and its ignored `write_seed_corpus`
//! writes them to `tests/fuzz/corpus/<target>/seed-<name>`.

use bitcoin_hashes::{sha256d, Hash};
use dotcoin_common::sighash::signing::{keypair_from_secret, pubkey_of, sign_transaction};
use dotcoin_common::{
    serialize, Address, Amount, Block, BlockHash, BlockHeader, Network, OutPoint, PubKey,
    Transaction, TxIn, TxOut, Txid, COIN,
};
use dotcoin_wallet::crypto::KdfParams;
use dotcoin_wallet::Wallet;
use dotcoind::net::codec::encode_frame;
use dotcoind::net::message::{
    GetHeaders, Inventory, Message, NetAddress, VersionMessage, PROTOCOL_VERSION,
};
use dotcoind::net::sync::locator;

use crate::chain::{fixture, spent_outputs};
use crate::wallet::PASSPHRASE;
use crate::wire::{magic, COMMANDS};

/// One seed input.
#[derive(Debug, Clone)]
pub struct Seed {
    /// The target it is for.
    pub target: &'static str,
    /// Its file name in the corpus, without the `seed-` prefix.
    pub name: String,
    /// The input.
    pub bytes: Vec<u8>,
}

/// Every seed of every target.
pub fn all() -> Vec<Seed> {
    let mut seeds = Vec::new();
    let mut add = |target: &'static str, name: &str, bytes: Vec<u8>| {
        seeds.push(Seed {
            target,
            name: name.to_owned(),
            bytes,
        })
    };
    let samples = Samples::new();

    for (name, block) in &samples.blocks {
        add("block", name, serialize(block));
    }
    for (name, tx) in &samples.txs {
        add("transaction", name, serialize(tx));
    }
    for (name, msg) in samples.messages() {
        let index = COMMANDS
            .iter()
            .position(|c| *c == msg.command())
            .expect("every message's command is listed");
        let mut input = vec![u8::try_from(index).expect("few commands")];
        input.extend(msg.payload());
        add("message", &name, input);
        add(
            "frame",
            &name,
            encode_frame(magic(), msg.command(), &msg.payload()),
        );
        match msg {
            Message::Headers(_) => add("headers", &name, msg.payload()),
            Message::GetHeaders(_) => add("getheaders", &name, msg.payload()),
            _ => {}
        }
    }
    add("message", "unknown-command", b"\x0ehello".to_vec());
    let handshake = [
        samples.version(),
        Message::Verack,
        Message::Ping(1),
        Message::GetAddr,
    ]
    .iter()
    .flat_map(|m| encode_frame(magic(), m.command(), &m.payload()))
    .collect();
    add("frame", "handshake-stream", handshake);
    let main = Network::Main.params().magic;
    add("frame", "other-network", encode_frame(main, "verack", &[]));

    for (name, param) in samples.rpc_params() {
        add("rpc_params", &name, param.into_bytes());
    }
    for (name, line) in samples.command_lines() {
        add("cli_args", &name, line.into_bytes());
    }
    for (name, json) in wallet_files() {
        add("wallet_file", &name, json);
    }
    for (name, bytes) in psbts(&samples) {
        add("psbt", &name, bytes);
    }
    seeds
}

/// PSBTs of a sample transaction: unsigned, and with every known field and an unknown
/// and a proprietary pair.
fn psbts(samples: &Samples) -> Vec<(String, Vec<u8>)> {
    use dotcoin_common::psbt::{KeySource, Psbt, TapDerivation};
    let (_, tx) = samples
        .txs
        .iter()
        .find(|(_, t)| !t.is_coinbase())
        .expect("a spend among the samples");
    let bare = Psbt::from_unsigned_tx(tx.clone());
    let mut full = bare.clone();
    for (i, input) in full.inputs.iter_mut().enumerate() {
        input.witness_utxo = Some(pay(1, 1000));
        input.tap_internal_key = Some(pay(1, 1000).pubkey);
        input.tap_key_sig = Some([7; 64]);
        input.tap_bip32_derivation.insert(
            pay(1, 1000).pubkey,
            TapDerivation {
                leaf_hashes: vec![[3; 32]],
                source: KeySource {
                    fingerprint: [1, 2, 3, 4],
                    path: vec![0x8000_0056, 0x8000_0001, 0x8000_0000, 0, i as u32],
                },
            },
        );
        input
            .unknown
            .insert(vec![0xFC, 2, b'd', b'c', 0, 9], vec![1]);
    }
    if let Some(output) = full.outputs.first_mut() {
        output.tap_internal_key = Some(pay(2, 1).pubkey);
        output.unknown.insert(vec![0x42], vec![0; 3]);
    }
    full.version = Some(0);
    vec![
        ("unsigned".to_owned(), bare.serialize()),
        ("every-field".to_owned(), full.serialize()),
    ]
}

/// Transactions and blocks the seeds are made of.
struct Samples {
    txs: Vec<(String, Transaction)>,
    blocks: Vec<(String, Block)>,
}

fn key(n: u8) -> secp256k1::Keypair {
    keypair_from_secret(&[n; 32]).expect("a small constant is a valid secret key")
}

/// A signed transaction spending one input per key: input `i` spends `values[i]` base
/// units locked to `keys[i]` (as [`spent_outputs`] derives it), paying `outputs`.
fn signed(keys: &[u8], values: &[u32], outputs: Vec<TxOut>) -> Transaction {
    let keypairs: Vec<_> = keys.iter().map(|&k| key(k)).collect();
    let mut tx = Transaction {
        version: 1,
        inputs: keypairs
            .iter()
            .zip(values)
            .map(|(kp, &vout)| TxIn {
                prevout: OutPoint {
                    txid: Txid::from_byte_array(pubkey_of(kp).0),
                    vout,
                },
                witness: Vec::new(),
            })
            .collect(),
        outputs,
        lock_time: 0,
    };
    let spent = spent_outputs(&tx);
    let n = sign_transaction(&mut tx, &spent, &keypairs).expect("one spent output per input");
    assert_eq!(n, keys.len(), "every input signed");
    tx
}

fn pay(k: u8, sat: u64) -> TxOut {
    TxOut {
        value: Amount::from_sat(sat),
        pubkey: pubkey_of(&key(k)),
    }
}

fn coinbase(height: u32, reward: u64) -> Transaction {
    Transaction {
        version: 1,
        inputs: vec![TxIn {
            prevout: OutPoint::coinbase(height),
            witness: b"fuzz seed miner".to_vec(),
        }],
        outputs: vec![pay(1, reward)],
        lock_time: 0,
    }
}

impl Samples {
    fn new() -> Samples {
        let spend = signed(&[1], &[400_000_000], vec![pay(2, COIN), pay(1, 2 * COIN)]);
        let two_in = signed(
            &[1, 2],
            &[3_000_000_000, 1_000_000_000],
            vec![pay(3, 35 * COIN)],
        );
        let tip = fixture::active().last().expect("not empty");
        let height = fixture::ACTIVE_LEN + 1;
        let txdata = vec![coinbase(height, 50 * COIN), spend.clone(), two_in.clone()];
        let mut block = Block {
            header: fixture::child(tip, 2),
            txdata,
        };
        block.header.merkle_root = block.compute_merkle_root().0;
        block.header.nonce = 0;
        dotcoin_common::pow::grind(&mut block.header, true);
        let regtest = Network::Regtest.params();
        Samples {
            txs: vec![
                ("coinbase".into(), coinbase(height, 50 * COIN)),
                ("spend".into(), spend),
                ("two-inputs".into(), two_in),
                (
                    "genesis-coinbase".into(),
                    regtest.genesis_block().txdata[0].clone(),
                ),
            ],
            blocks: vec![
                ("mined-regtest".into(), block),
                (
                    "genesis-main".into(),
                    Network::Main.params().genesis_block().clone(),
                ),
                ("genesis-regtest".into(), regtest.genesis_block().clone()),
            ],
        }
    }

    fn version(&self) -> Message {
        Message::Version(VersionMessage {
            version: PROTOCOL_VERSION,
            genesis: Network::Regtest.params().genesis_hash(),
            best_height: fixture::ACTIVE_LEN,
            timestamp: fixture::now(),
            nonce: 0x0123_4567_89ab_cdef,
            listen_port: 18633,
            user_agent: "/dotcoind:0.1.0/".into(),
        })
    }

    /// One or more of each message, named.
    fn messages(&self) -> Vec<(String, Message)> {
        let index = fixture::index();
        let active = fixture::active();
        let fork = fixture::fork();
        let hash = |h: &BlockHeader| h.block_hash();
        let tip = hash(active.last().expect("not empty"));
        let zero = BlockHash::all_zeros();
        let unknown = BlockHash::from_raw_hash(sha256d::Hash::hash(b"unknown"));
        let extension: Vec<BlockHeader> = {
            let mut run = vec![fixture::child(active.last().expect("not empty"), 3)];
            for _ in 0..3 {
                let next = fixture::child(run.last().expect("not empty"), 3);
                run.push(next);
            }
            run
        };
        let inv = vec![Inventory::Block(tip), Inventory::Tx(self.txs[1].1.txid())];
        let mut out: Vec<(String, Message)> = vec![
            ("version".into(), self.version()),
            ("verack".into(), Message::Verack),
            ("ping".into(), Message::Ping(7)),
            ("pong".into(), Message::Pong(7)),
            ("getaddr".into(), Message::GetAddr),
            (
                "addr".into(),
                Message::Addr(vec![
                    NetAddress::new("127.0.0.1:18633".parse().expect("addr"), 1),
                    NetAddress::new("[2001:db8::1]:8633".parse().expect("addr"), 2),
                ]),
            ),
            ("inv".into(), Message::Inv(inv.clone())),
            ("getdata".into(), Message::GetData(inv.clone())),
            ("notfound".into(), Message::NotFound(inv)),
            (
                "getheaders-from-tip".into(),
                Message::GetHeaders(GetHeaders {
                    locator: locator(index, &tip),
                    stop: zero,
                }),
            ),
            (
                "getheaders-from-fork".into(),
                Message::GetHeaders(GetHeaders {
                    locator: locator(index, &hash(fork.last().expect("not empty"))),
                    stop: zero,
                }),
            ),
            (
                "getheaders-with-stop".into(),
                Message::GetHeaders(GetHeaders {
                    locator: vec![hash(&active[10])],
                    stop: hash(&active[15]),
                }),
            ),
            (
                "getheaders-unknown".into(),
                Message::GetHeaders(GetHeaders {
                    locator: vec![unknown],
                    stop: zero,
                }),
            ),
            (
                "headers-active".into(),
                Message::Headers(active[1..].to_vec()),
            ),
            ("headers-fork".into(), Message::Headers(fork.to_vec())),
            ("headers-extend-tip".into(), Message::Headers(extension)),
            ("headers-empty".into(), Message::Headers(Vec::new())),
        ];
        for (name, block) in &self.blocks {
            out.push((
                format!("block-{name}"),
                Message::Block(Box::new(block.clone())),
            ));
        }
        for (name, tx) in &self.txs {
            out.push((format!("tx-{name}"), Message::Tx(Box::new(tx.clone()))));
        }
        out
    }

    /// JSON-RPC parameters, one per seed.
    fn rpc_params(&self) -> Vec<(String, String)> {
        let tx_hex = hex::encode(serialize(&self.txs[1].1));
        let block_hex = hex::encode(serialize(&self.blocks[0].1));
        let regtest = Address::new(Network::Regtest, pubkey_of(&key(1))).to_string();
        let main = Address::new(Network::Main, PubKey([7; 32])).to_string();
        let genesis = Network::Regtest.params().genesis_hash().to_string();
        [
            ("zero", "0".to_owned()),
            ("u32-max", "4294967295".to_owned()),
            ("negative", "-1".to_owned()),
            ("float", "1.5".to_owned()),
            ("true", "true".to_owned()),
            ("null", "null".to_owned()),
            ("blockhash", format!("\"{genesis}\"")),
            ("blockhash-upper", format!("\"{}\"", genesis.to_uppercase())),
            ("tx-hex", format!("\"{tx_hex}\"")),
            ("block-hex", format!("\"{block_hex}\"")),
            ("address-regtest", format!("\"{regtest}\"")),
            ("address-main-bare", main.clone()),
            (
                "addresses-object",
                format!("{{\"addresses\":[\"{regtest}\",\"{main}\"]}}"),
            ),
            ("addresses-list", format!("[\"{regtest}\"]")),
        ]
        .into_iter()
        .map(|(n, p)| (n.to_owned(), p))
        .collect()
    }

    /// `dotcoin-cli` command lines, one argument per line.
    fn command_lines(&self) -> Vec<(String, String)> {
        let genesis = Network::Regtest.params().genesis_hash().to_string();
        let tx_hex = hex::encode(serialize(&self.txs[1].1));
        let address = Address::new(Network::Regtest, pubkey_of(&key(2))).to_string();
        [
            ("getblockhash", "getblockhash\n0".to_owned()),
            (
                "options-and-getblock",
                format!("-regtest\n-rpcport=18632\n--rpcwait\ngetblock\n{genesis}\n2"),
            ),
            (
                "named",
                format!("-named\ngetblock\nblockhash={genesis}\nverbosity=1"),
            ),
            (
                "sendrawtransaction",
                format!("sendrawtransaction\n{tx_hex}"),
            ),
            (
                "json-arguments",
                "-chain=regtest\ntestmempoolaccept\n[\"00\",\"01\"]\n{\"a\":[1,2.5,null,true]}"
                    .to_owned(),
            ),
            ("getinfo", "-getinfo".to_owned()),
            ("wallet-send", format!("{address}\n1.00000001\n0.5")),
        ]
        .into_iter()
        .map(|(n, l)| (n.to_owned(), l))
        .collect()
    }
}

/// Wallet files: fresh, with issued addresses, on main, and encrypted with
/// [`PASSPHRASE`] under the cheapest Argon2 costs.
fn wallet_files() -> Vec<(String, Vec<u8>)> {
    let fresh = Wallet::create(Network::Regtest, 2);
    let mut used = Wallet::create(Network::Regtest, 2);
    used.new_address("alice")
        .expect("unencrypted wallets issue keys");
    used.new_address("")
        .expect("unencrypted wallets issue keys");
    let main = Wallet::create(Network::Main, 1);
    let mut encrypted = Wallet::create(Network::Regtest, 2);
    encrypted
        .new_address("bob")
        .expect("unencrypted wallets issue keys");
    encrypted
        .encrypt(PASSPHRASE, KdfParams::INSECURE_FAST)
        .expect("a fresh wallet encrypts");
    [
        ("fresh", fresh),
        ("used", used),
        ("main", main),
        ("encrypted", encrypted),
    ]
    .into_iter()
    .map(|(n, w)| (n.to_owned(), w.file().to_json()))
    .collect()
}
