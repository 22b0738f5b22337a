//! The consensus payloads a peer sends — blocks, transactions, header runs and block
//! locators — decoded, re-encoded, and put through the checks the node runs on them
//! before they can change its state.
//!
//! Headers and locators need a chain to be checked against; [`fixture`] builds a small
//! regtest block index in memory (no database), so the same index code the node runs
//! (`header_context`, `fork_point`, `headers_after`) sees fuzzed input.

use std::sync::LazyLock;

use bitcoin_hashes::Hash;

use dotcoin_common::consensus::block::{
    check_block, check_block_size, check_coinbase_position, check_merkle_root, check_proof_of_work,
};
use dotcoin_common::consensus::header::check_header_contextual;
use dotcoin_common::consensus::tx::{check_coinbase_height, check_signatures, check_transaction};
use dotcoin_common::consensus::ValidationError;
use dotcoin_common::pow::{difficulty, retarget, work_from_bits, work_from_target};
use dotcoin_common::primitives::CompactTarget;
use dotcoin_common::{
    deserialize, serialize, Amount, Block, BlockHash, BlockHeader, Network, PubKey, Transaction,
    TxOut,
};
use dotcoind::chain::{BlockIndex, IndexEntry};
use dotcoind::net::message::{GetHeaders, Message, MAX_HEADERS};
use dotcoind::net::sync::headers_after;

/// Fuzz target: `data` as a serialized block (a `block` payload, `submitblock`'s hex,
/// a stored block). It must re-encode to `data`; then the context-free block rules run.
pub fn block(data: &[u8]) {
    match deserialize::<Block>(data) {
        Ok(block) => {
            assert_eq!(serialize(&block), data, "block does not re-encode");
            assert_eq!(block.size(), data.len(), "Block::size disagrees");
            check_block_rules(&block);
        }
        Err(e) => drop(e.to_string()),
    }
}

/// Fuzz target: `data` as a serialized transaction (a `tx` payload,
/// `sendrawtransaction`'s hex). It must re-encode to `data`; then the context-free rules
/// and the signature check run.
pub fn transaction(data: &[u8]) {
    match deserialize::<Transaction>(data) {
        Ok(tx) => {
            assert_eq!(serialize(&tx), data, "transaction does not re-encode");
            assert_eq!(tx.size(), data.len(), "Transaction::size disagrees");
            check_tx_rules(&tx);
        }
        Err(e) => drop(e.to_string()),
    }
}

/// Fuzz target: `data` as a `headers` payload. It must re-encode to `data`; then the run
/// is accepted as the node accepts headers, into a copy of the [`fixture`] index.
pub fn headers(data: &[u8]) {
    match Message::decode("headers", data) {
        Ok(Some(Message::Headers(headers))) => {
            assert_eq!(Message::Headers(headers.clone()).payload(), data);
            check_headers(&headers);
        }
        Ok(other) => unreachable!("headers decoded as {other:?}"),
        Err(e) => drop(e.to_string()),
    }
}

/// Fuzz target: `data` as a `getheaders` payload (block locator and stop hash). It must
/// re-encode to `data`; then the answer is computed from the [`fixture`] index.
pub fn getheaders(data: &[u8]) {
    match Message::decode("getheaders", data) {
        Ok(Some(Message::GetHeaders(g))) => {
            assert_eq!(Message::GetHeaders(g.clone()).payload(), data);
            serve_getheaders(&g);
        }
        Ok(other) => unreachable!("getheaders decoded as {other:?}"),
        Err(e) => drop(e.to_string()),
    }
}

/// Exercises a rule's error the way the node reports it: message, reject reason, and
/// whether it costs the peer points.
fn report(result: Result<(), ValidationError>) {
    if let Err(e) = result {
        let _ = (e.to_string(), e.reject_reason(), e.is_malicious());
    }
}

/// The context-free rules of a block, each run on its own (`check_block` stops at the
/// first failure, and fuzzed headers rarely pass proof of work), then `check_block`.
pub fn check_block_rules(block: &Block) {
    let _ = block.block_hash();
    for network in Network::ALL {
        report(check_proof_of_work(&block.header, network.params()));
    }
    report(check_merkle_root(block));
    report(check_block_size(block));
    report(check_coinbase_position(block));
    for tx in &block.txdata {
        let _ = (tx.txid(), tx.wtxid());
        assert_eq!(
            tx.size(),
            serialize(tx).len(),
            "Transaction::size disagrees"
        );
        report(check_transaction(tx));
    }
    report(check_block(block, Network::Regtest.params()));
}

/// The outputs a transaction's inputs are taken to spend: input `i` spends an output of
/// value `vout` locked to the 32 bytes of its prevout's txid. Deriving them from the input
/// lets a seed carry a valid signature, so the fuzzer starts from signatures that verify.
pub fn spent_outputs(tx: &Transaction) -> Vec<TxOut> {
    tx.inputs
        .iter()
        .map(|i| TxOut {
            value: Amount::from_sat(u64::from(i.prevout.vout)),
            pubkey: PubKey(i.prevout.txid.to_byte_array()),
        })
        .collect()
}

/// The context-free rules of a transaction, and its signatures (against
/// [`spent_outputs`]) or coinbase height.
pub fn check_tx_rules(tx: &Transaction) {
    let _ = (tx.txid(), tx.wtxid(), tx.total_out());
    report(check_transaction(tx));
    if tx.is_coinbase() {
        report(check_coinbase_height(tx, tx.inputs[0].prevout.vout));
    } else {
        report(check_signatures(tx, &spent_outputs(tx)));
    }
}

/// The rules of one header that need no chain, and the compact-target arithmetic its
/// `bits` feed: a target read from `bits` must survive encoding back to compact form.
fn check_header_alone(header: &BlockHeader) {
    assert_eq!(deserialize::<BlockHeader>(&header.to_bytes()), Ok(*header));
    match header.bits.to_target() {
        Ok(target) => {
            assert_eq!(
                CompactTarget::from_target(target).to_target(),
                Ok(target),
                "bits {} do not survive a round trip",
                header.bits
            );
            assert!(work_from_target(target) > ruint::aliases::U256::ZERO);
        }
        Err(e) => drop(e.to_string()),
    }
    let _ = (work_from_bits(header.bits), difficulty(header.bits));
    for network in Network::ALL {
        let params = network.params();
        report(check_proof_of_work(header, params));
        let _ = retarget(params, header.bits, header.time, header.nonce);
    }
}

/// A `headers` message as the peer task and `ChainState::accept_headers` handle it: a run
/// that does not chain is refused; otherwise each header is checked (proof of work, known
/// parent, contextual rules) and indexed in turn, stopping at the first failure. Returns
/// how many new headers were indexed.
pub fn check_headers(headers: &[BlockHeader]) -> usize {
    for h in headers {
        check_header_alone(h);
    }
    if headers
        .windows(2)
        .any(|w| w[1].prev_blockhash != w[0].block_hash())
    {
        return 0;
    }
    let params = Network::Regtest.params();
    let mut index = fixture::index().clone();
    let mut accepted = 0;
    for (sequence, header) in (fixture::NEXT_SEQUENCE..).zip(headers) {
        let hash = header.block_hash();
        if let Some(known) = index.get(&hash) {
            if known.is_failed() {
                break;
            }
            continue;
        }
        if check_proof_of_work(header, params).is_err() {
            break;
        }
        let Some(parent) = index.get(&header.prev_blockhash).copied() else {
            break;
        };
        let ctx = index.header_context(params, &parent, fixture::now());
        if let Err(e) = check_header_contextual(header, &ctx, params) {
            report(Err(e));
            break;
        }
        index.insert(IndexEntry {
            hash,
            header: *header,
            height: parent.height + 1,
            chainwork: parent.chainwork + work_from_bits(header.bits),
            status: 0,
            sequence,
        });
        check_index_walks(&index, &hash);
        accepted += 1;
    }
    accepted
}

/// The block index's skip-pointer lookups (`ancestor`, `fork_point`) must agree with a
/// walk over every parent from `hash`, for every height of its chain.
fn check_index_walks(index: &BlockIndex, hash: &BlockHash) {
    let mut walk = Vec::new();
    let mut cur = index.get(hash);
    while let Some(e) = cur {
        walk.push(*e);
        cur = index.get(&e.header.prev_blockhash);
    }
    let tip = walk[0];
    assert_eq!(
        walk.last().map(|e| (e.hash, e.height)),
        Some((Network::Regtest.params().genesis_hash(), 0)),
        "an accepted header descends from genesis"
    );
    for e in &walk {
        assert_eq!(
            index.ancestor(hash, e.height).map(|a| a.hash),
            Some(e.hash),
            "ancestor at {} of a header at {}",
            e.height,
            tip.height
        );
    }
    assert_eq!(index.ancestor(hash, tip.height + 1), None);
    let fork = walk.iter().find(|e| index.is_active(e)).map(|e| e.hash);
    assert_eq!(index.fork_point(hash).map(|f| f.hash), fork, "fork point");
}

/// A `getheaders` request answered from the [`fixture`] index as the peer task answers it.
/// The answer is a run of active-chain headers, each building on the one before, that
/// starts right after a block of the active chain and ends at `stop` if it includes it.
/// Returns the answer.
pub fn serve_getheaders(g: &GetHeaders) -> Vec<BlockHeader> {
    let index = fixture::index();
    let answer = headers_after(index, &g.locator, &g.stop, MAX_HEADERS);
    assert!(answer.len() <= MAX_HEADERS);
    let Some(first) = answer.first() else {
        return answer;
    };
    let parent = index
        .get(&first.prev_blockhash)
        .expect("the answer starts after a known block");
    assert!(
        index.is_active(parent),
        "the answer starts off the active chain"
    );
    for w in answer.windows(2) {
        assert_eq!(
            w[1].prev_blockhash,
            w[0].block_hash(),
            "answer does not chain"
        );
    }
    if let Some(at) = answer.iter().position(|h| h.block_hash() == g.stop) {
        assert_eq!(at, answer.len() - 1, "the answer goes past stop");
    }
    answer
}

/// A small regtest chain, built once: an active chain of [`fixture::ACTIVE_LEN`] mined
/// headers on genesis and a stale branch of [`fixture::FORK_LEN`] headers off height
/// [`fixture::FORK_AT`]. Deterministic, so seeds written from it stay meaningful.
pub mod fixture {
    use bitcoin_hashes::sha256d;
    use dotcoin_common::pow::grind;
    use dotcoin_common::TxMerkleNode;
    use dotcoind::storage::status;

    use super::*;

    /// Active blocks after genesis.
    pub const ACTIVE_LEN: u32 = 40;
    /// Height the stale branch forks off.
    pub const FORK_AT: u32 = 20;
    /// Headers on the stale branch.
    pub const FORK_LEN: u32 = 5;
    /// Seconds between blocks.
    pub const SPACING: u32 = 10;
    /// The node's clock during checks: an hour after the active tip, so the fixed chain's
    /// headers are in the past and fuzzed ones may be too new.
    pub fn now() -> u64 {
        u64::from(active().last().expect("starts with genesis").time) + 3600
    }
    /// Sequence numbers of fuzzed headers start here.
    pub const NEXT_SEQUENCE: u64 = 1_000;

    /// A mined regtest header on `parent`, `branch` making sibling branches differ.
    pub fn child(parent: &BlockHeader, branch: u8) -> BlockHeader {
        let prev = parent.block_hash();
        let mut seed = prev.to_byte_array().to_vec();
        seed.push(branch);
        let mut header = BlockHeader {
            version: 1,
            prev_blockhash: prev,
            merkle_root: TxMerkleNode::from_raw_hash(sha256d::Hash::hash(&seed)),
            time: parent.time + SPACING,
            bits: Network::Regtest.params().pow_limit,
            nonce: 0,
        };
        grind(&mut header, true);
        header
    }

    struct Fixture {
        active: Vec<BlockHeader>,
        fork: Vec<BlockHeader>,
        index: BlockIndex,
    }

    static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
        let params = Network::Regtest.params();
        let mut active = vec![params.genesis_block().header];
        for _ in 0..ACTIVE_LEN {
            let next = child(active.last().expect("starts with genesis"), 0);
            active.push(next);
        }
        let mut fork = vec![child(&active[FORK_AT as usize], 1)];
        for _ in 1..FORK_LEN {
            let next = child(fork.last().expect("not empty"), 1);
            fork.push(next);
        }
        let mut entries: Vec<IndexEntry> = Vec::new();
        let mut add = |header: &BlockHeader, height: u32, status: u32| {
            let parent_work = entries
                .iter()
                .find(|e| e.hash == header.prev_blockhash)
                .map_or(ruint::aliases::U256::ZERO, |e| e.chainwork);
            let sequence = entries.len() as u64;
            entries.push(IndexEntry {
                hash: header.block_hash(),
                header: *header,
                height,
                chainwork: parent_work + work_from_bits(header.bits),
                status,
                sequence,
            });
        };
        for (height, h) in (0..).zip(&active) {
            add(h, height, status::HAVE_DATA | status::VALID);
        }
        for (height, h) in (FORK_AT + 1..).zip(&fork) {
            add(h, height, 0);
        }
        let active_hashes: Vec<BlockHash> = active.iter().map(BlockHeader::block_hash).collect();
        let index = BlockIndex::new(entries, active_hashes);
        Fixture {
            active,
            fork,
            index,
        }
    });

    /// The index: genesis, the active chain and the stale branch.
    pub fn index() -> &'static BlockIndex {
        &FIXTURE.index
    }

    /// The active chain's headers, genesis first.
    pub fn active() -> &'static [BlockHeader] {
        &FIXTURE.active
    }

    /// The stale branch's headers, oldest first.
    pub fn fork() -> &'static [BlockHeader] {
        &FIXTURE.fork
    }
}
