//! `dotcoin-wallet restore`: a wallet from seed words, and the gap-limit scan that finds
//! which of its keys were used.
//!
//! The words (and the optional BIP39 passphrase) are read from the terminal without echo,
//! or from stdin (first line the words, second line the passphrase), never from the
//! command line, where `ps` and shell history would show them.
//!
//! The scan asks the node's address index (`getaddresstxids`) about windows of
//! `gap limit` addresses after the last used one, per chain (receive, change); a window
//! with no transaction ends the chain. In a window that has some, a binary search over
//! its suffixes finds the last used address, so each window costs one query plus about
//! log2(gap limit), whatever the number of addresses in the index.

use std::io::{IsTerminal, Read};

use zeroize::Zeroizing;

use crate::descriptor::Descriptor;
use crate::error::WalletError;
use crate::hd::Seed;
use crate::node::{self, NodeApi};
use crate::wallet::Wallet;

/// Longest stdin accepted: 24 words of at most 8 letters, a passphrase, and room.
const MAX_INPUT: u64 = 4096;

/// Reads the words and the BIP39 passphrase: prompts on a terminal, otherwise the first
/// two lines of stdin (the second may be missing: no passphrase).
pub fn read_seed() -> Result<Seed, WalletError> {
    let (words, passphrase) = if std::io::stdin().is_terminal() {
        let words = prompt("Seed words: ")?;
        let pass = prompt("BIP39 passphrase (empty for none): ")?;
        (words, pass)
    } else {
        let mut text = Zeroizing::new(String::new());
        std::io::stdin()
            .take(MAX_INPUT + 1)
            .read_to_string(&mut text)
            .map_err(|e| WalletError::io("cannot read seed words from", "stdin", e))?;
        if text.len() as u64 > MAX_INPUT {
            return Err(WalletError::BadSeed(format!(
                "stdin holds more than {MAX_INPUT} bytes: expected the words and a passphrase"
            )));
        }
        let mut lines = text.lines();
        let words = Zeroizing::new(lines.next().unwrap_or_default().to_owned());
        let pass = Zeroizing::new(lines.next().unwrap_or_default().to_owned());
        (words, pass)
    };
    Seed::parse(&words, &passphrase)
}

fn prompt(text: &str) -> Result<Zeroizing<String>, WalletError> {
    rpassword::prompt_password(text)
        .map(Zeroizing::new)
        .map_err(|e| WalletError::io("cannot read seed words from", "the terminal", e))
}

/// What a chain's scan found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainScan {
    /// One past the last used index (0: none used).
    pub used_end: u32,
    /// Address-index queries made.
    pub queries: u32,
}

/// Scans one chain: the index after its last used key, with `gap_limit` unused keys in a
/// row ending the scan.
pub async fn scan_chain<N: NodeApi>(
    node: &N,
    desc: &Descriptor,
    gap_limit: u32,
) -> Result<ChainScan, WalletError> {
    let gap = gap_limit.max(1);
    let mut used_end = 0u32;
    let mut start = 0u32;
    let mut queries = 0u32;
    loop {
        let end = used_end.saturating_add(gap).min(0x8000_0000);
        if start >= end {
            break;
        }
        let addresses: Vec<String> = desc
            .addresses(start, end - 1)?
            .iter()
            .map(ToString::to_string)
            .collect();
        queries += 1;
        if node::address_txids(node, &addresses).await?.is_empty() {
            break;
        }
        // The last used index in [start, end): the largest `lo` whose suffix has a
        // transaction (the whole window has one).
        let (mut lo, mut hi) = (start, end - 1);
        while lo < hi {
            let mid = lo + (hi - lo).div_ceil(2);
            queries += 1;
            let suffix = &addresses[(mid - start) as usize..];
            if node::address_txids(node, suffix).await?.is_empty() {
                hi = mid - 1;
            } else {
                lo = mid;
            }
        }
        used_end = lo + 1;
        start = end;
    }
    Ok(ChainScan { used_end, queries })
}

/// A restored wallet: `seed`'s descriptors, with every key up to the last used one of
/// each chain handed out (found with `gap_limit`), and `keypool` keys ahead.
pub async fn restore<N: NodeApi>(
    node: &N,
    network: dotcoin_common::Network,
    seed: &Seed,
    keypool: usize,
    gap_limit: u32,
) -> Result<(Wallet, [ChainScan; 2]), WalletError> {
    let mut wallet = Wallet::from_seed(network, keypool, seed, 0);
    let mut scans = [ChainScan {
        used_end: 0,
        queries: 0,
    }; 2];
    for (slot, internal) in [false, true].into_iter().enumerate() {
        let desc = wallet
            .active_descriptor(internal)
            .expect("a wallet made from a seed has both chains");
        let scan = scan_chain(node, &desc, gap_limit).await?;
        if scan.used_end > 0 {
            wallet.mark_used(internal, scan.used_end)?;
        }
        scans[slot] = scan;
    }
    // The restored file is its own first backup: the words are.
    wallet.mark_backed_up();
    Ok((wallet, scans))
}
