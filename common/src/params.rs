//! The networks and everything that differs between them: magic bytes, ports, address
//! prefix, genesis block, proof-of-work limits, subsidy schedule and maturity.
//!
//! | | main | regtest |
//! |---|---|---|
//! | spacing / retarget interval | 10 s / 10 blocks | no retarget |
//! | starting difficulty | about 2^20 hashes | a hash or two |
//! | subsidy / halving | 50 DOT / 210 000 | 50 DOT / 150 |
//! | coinbase maturity | 10 | 100 |
//! | P2P / RPC port | 8633 / 8632 | 18633 / 18632 |
//! | address prefix | `dc1p…` | `dcrt1p…` |

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use bitcoin_hashes::Hash;
use ruint::aliases::U256;

use crate::hashes::BlockHash;
use crate::primitives::{
    Amount, Block, BlockHeader, CompactTarget, OutPoint, PubKey, Transaction, TxIn, TxOut,
};

/// A dotcoin network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Network {
    /// The demo network: real (if small) proof of work, 10-second blocks.
    Main,
    /// Local testing: minimal difficulty, blocks on demand.
    Regtest,
}

impl Network {
    /// Both networks.
    pub const ALL: [Network; 2] = [Network::Main, Network::Regtest];

    /// The consensus parameters of this network.
    pub fn params(self) -> &'static Params {
        match self {
            Network::Main => {
                static P: OnceLock<Params> = OnceLock::new();
                P.get_or_init(Params::main)
            }
            Network::Regtest => {
                static P: OnceLock<Params> = OnceLock::new();
                P.get_or_init(Params::regtest)
            }
        }
    }

    /// The name Bitcoin Core uses for `getblockchaininfo.chain`.
    pub fn name(self) -> &'static str {
        match self {
            Network::Main => "main",
            Network::Regtest => "regtest",
        }
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Network {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "main" | "mainnet" => Ok(Network::Main),
            "regtest" => Ok(Network::Regtest),
            other => Err(format!(
                "unknown network '{other}' (expected main or regtest)"
            )),
        }
    }
}

/// Consensus and network parameters.
#[derive(Debug, Clone)]
pub struct Params {
    /// Which network.
    pub network: Network,
    /// First bytes of every P2P frame.
    pub magic: [u8; 4],
    /// Default P2P port.
    pub p2p_port: u16,
    /// Default RPC port.
    pub rpc_port: u16,
    /// bech32m human-readable part of addresses.
    pub address_hrp: &'static str,
    /// The easiest target allowed.
    pub pow_limit: CompactTarget,
    /// The genesis block's (and so the starting) difficulty.
    pub genesis_bits: CompactTarget,
    /// Whether difficulty retargets at all.
    pub retarget: bool,
    /// Desired seconds between blocks.
    pub target_spacing: u32,
    /// Blocks between retargets.
    pub retarget_interval: u32,
    /// Reward of the first blocks.
    pub initial_subsidy: Amount,
    /// Blocks between halvings.
    pub halving_interval: u32,
    /// Confirmations a coinbase output needs before it may be spent.
    pub coinbase_maturity: u32,
    /// How far ahead of the node's clock a block's time may be, in seconds.
    pub max_future_block_time: u32,
    /// How far the first block of a difficulty period may be stamped before its parent
    /// (the last of the previous period), in seconds: BIP94's time-warp fix.
    pub max_timewarp: u32,
    genesis: Block,
}

/// An x-only key with no known private key (BIP341's "H" point): the genesis reward is
/// provably unspendable.
const UNSPENDABLE_KEY: [u8; 32] = [
    0x50, 0x92, 0x9b, 0x74, 0xc1, 0xa0, 0x49, 0x54, 0xb7, 0x8b, 0x4b, 0x60, 0x35, 0xe9, 0x7a, 0x5e,
    0x07, 0x8a, 0x5a, 0x0f, 0x28, 0xec, 0x96, 0xd5, 0x47, 0xbf, 0xee, 0x9a, 0xce, 0x80, 0x3a, 0xc0,
];

const GENESIS_MESSAGE: &[u8] = b"dotcoin genesis 2026-11-24: run the ideas of Bitcoin";
const GENESIS_TIME: u32 = 1_793_491_200; // 2026-11-01 00:00:00 UTC

/// Builds a genesis block: one coinbase paying the initial subsidy to an unspendable key.
fn genesis_block(bits: CompactTarget, nonce: u32, subsidy: Amount) -> Block {
    let coinbase = Transaction {
        version: 1,
        inputs: vec![TxIn {
            prevout: OutPoint::coinbase(0),
            witness: GENESIS_MESSAGE.to_vec(),
        }],
        outputs: vec![TxOut {
            value: subsidy,
            pubkey: PubKey(UNSPENDABLE_KEY),
        }],
        lock_time: 0,
    };
    let (merkle_root, _) = crate::merkle::merkle_root_of_txs(std::slice::from_ref(&coinbase));
    Block {
        header: BlockHeader {
            version: 1,
            prev_blockhash: BlockHash::all_zeros(),
            merkle_root,
            time: GENESIS_TIME,
            bits,
            nonce,
        },
        txdata: vec![coinbase],
    }
}

impl Params {
    fn main() -> Params {
        let genesis_bits = CompactTarget(0x1e0f_ffff);
        let subsidy = Amount::from_dot(50);
        Params {
            network: Network::Main,
            magic: *b"DOT\xd1",
            p2p_port: 8633,
            rpc_port: 8632,
            address_hrp: "dc",
            pow_limit: CompactTarget(0x1f00_ffff),
            genesis_bits,
            retarget: true,
            target_spacing: 10,
            retarget_interval: 10,
            initial_subsidy: subsidy,
            halving_interval: 210_000,
            coinbase_maturity: 10,
            // Scaled to the spacing: Bitcoin's two hours is 12 of its spacings, and against
            // a 100 s retarget timespan two hours would let the last block of an interval
            // make the next one 4x easier. Six spacings bound that to (100+60)/100 once.
            max_future_block_time: 60,
            // One spacing, as BIP94's 600 s is one of Bitcoin's.
            max_timewarp: 10,
            genesis: genesis_block(genesis_bits, MAIN_GENESIS_NONCE, subsidy),
        }
    }

    fn regtest() -> Params {
        let genesis_bits = CompactTarget(0x207f_ffff);
        let subsidy = Amount::from_dot(50);
        Params {
            network: Network::Regtest,
            magic: *b"DOT\xe2",
            p2p_port: 18633,
            rpc_port: 18632,
            address_hrp: "dcrt",
            pow_limit: genesis_bits,
            genesis_bits,
            retarget: false,
            target_spacing: 10,
            retarget_interval: 10,
            initial_subsidy: subsidy,
            halving_interval: 150,
            coinbase_maturity: 100,
            // No retarget, so no time warp to bound; tests mine far faster than the clock.
            max_future_block_time: 2 * 60 * 60,
            max_timewarp: 600,
            genesis: genesis_block(genesis_bits, REGTEST_GENESIS_NONCE, subsidy),
        }
    }

    /// The genesis block.
    pub fn genesis_block(&self) -> &Block {
        &self.genesis
    }

    /// The genesis block's hash.
    pub fn genesis_hash(&self) -> BlockHash {
        self.genesis.block_hash()
    }

    /// The easiest allowed target as a number.
    pub fn pow_limit_target(&self) -> U256 {
        self.pow_limit
            .to_target()
            .expect("pow_limit constants are valid compact targets")
    }

    /// Seconds one retarget interval should take.
    pub fn target_timespan(&self) -> u32 {
        self.target_spacing * self.retarget_interval
    }

    /// The block reward at `height`: halved every `halving_interval` blocks.
    pub fn subsidy(&self, height: u32) -> Amount {
        let halvings = height / self.halving_interval;
        if halvings >= 64 {
            return Amount::ZERO;
        }
        Amount::from_sat(self.initial_subsidy.to_sat() >> halvings)
    }
}

/// Found by [`tests::mine_genesis`]; pinned so every node agrees on the genesis hash.
const MAIN_GENESIS_NONCE: u32 = 75_871;
const REGTEST_GENESIS_NONCE: u32 = 1;

#[doc(hidden)]
pub fn _genesis_for_mining(network: Network) -> Block {
    let p = network.params();
    genesis_block(p.genesis_bits, 0, p.initial_subsidy)
}

/// Name of the RPC cookie file in a network's datadir.
pub const COOKIE_FILE: &str = ".cookie";
/// User name of cookie authentication, as Bitcoin Core's `__cookie__`.
pub const COOKIE_USER: &str = "__cookie__";

/// The base data directory when none is given: `~/.dotcoin`.
pub fn default_base_datadir() -> std::path::PathBuf {
    let home = std::env::var_os("HOME").unwrap_or_else(|| ".".into());
    std::path::PathBuf::from(home).join(".dotcoin")
}

/// Where `network` keeps its data below a base datadir: the base itself for main,
/// `regtest/` below it for regtest, as Bitcoin Core does.
pub fn network_datadir(base: &std::path::Path, network: Network) -> std::path::PathBuf {
    match network {
        Network::Main => base.to_path_buf(),
        Network::Regtest => base.join("regtest"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subsidy_halves() {
        let p = Network::Regtest.params();
        assert_eq!(p.subsidy(0), Amount::from_dot(50));
        assert_eq!(p.subsidy(149), Amount::from_dot(50));
        assert_eq!(p.subsidy(150), Amount::from_dot(25));
        assert_eq!(p.subsidy(300), Amount::from_sat(1_250_000_000));
        assert_eq!(p.subsidy(150 * 64), Amount::ZERO);
        let m = Network::Main.params();
        assert_eq!(m.subsidy(209_999), Amount::from_dot(50));
        assert_eq!(m.subsidy(210_000), Amount::from_dot(25));
    }

    #[test]
    fn genesis_hashes_are_pinned() {
        assert_eq!(
            Network::Main.params().genesis_hash().to_string(),
            "00000fb9b64c65691cefea8447d35d04fab3ccf13a9d96d79f7a115c7c8aa2ab"
        );
        assert_eq!(
            Network::Regtest.params().genesis_hash().to_string(),
            "24a8a3d175cf1b2bb654f0c2fb68490348d8f5320d112d4980743ed8fafee876"
        );
    }

    #[test]
    fn main_starts_at_about_a_million_hashes() {
        let work = crate::pow::work_from_bits(Network::Main.params().genesis_bits);
        assert_eq!(work >> 20, U256::from(1u8));
    }

    /// Prints the nonce that makes each genesis block meet its target.
    #[test]
    #[ignore = "run by hand when the genesis block changes"]
    #[allow(clippy::print_stderr)] // printing the nonce is the point
    fn mine_genesis() {
        for net in Network::ALL {
            let mut block = _genesis_for_mining(net);
            crate::pow::grind(&mut block.header, true);
            eprintln!(
                "{net}: nonce {} hash {}",
                block.header.nonce,
                block.block_hash()
            );
        }
    }
}
