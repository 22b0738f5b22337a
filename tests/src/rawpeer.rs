//! A scripted peer speaking dotcoin's P2P frames over a plain TCP socket: what the
//! hostile-peer tests use to send a real `dotcoind` exactly the bytes an attacker would.
//!
//! Connections can come from any 127.0.0.0/8 address (Linux routes the whole block to
//! loopback), so a test can play several "hosts" against per-address limits.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::time::Instant;

use bitcoin_hashes::{sha256d, Hash};
use dotcoin_common::encode::write_compact_size;
use dotcoin_common::{serialize, Block, BlockHash, BlockHeader, Encodable, Network};

use crate::{TestNode, TIMEOUT};

/// Regtest's network magic.
pub const REGTEST_MAGIC: [u8; 4] = *b"DOT\xe2";
/// The demo network's magic.
pub const MAIN_MAGIC: [u8; 4] = *b"DOT\xd1";

/// A complete frame: `magic | command | length | checksum | payload`.
pub fn frame(magic: [u8; 4], command: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = magic.to_vec();
    let mut cmd = [0u8; 12];
    cmd[..command.len()].copy_from_slice(command.as_bytes());
    out.extend_from_slice(&cmd);
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&sha256d::Hash::hash(payload).as_byte_array()[..4]);
    out.extend_from_slice(payload);
    out
}

/// A regtest frame.
pub fn regtest_frame(command: &str, payload: &[u8]) -> Vec<u8> {
    frame(REGTEST_MAGIC, command, payload)
}

/// A `version` payload claiming `genesis`, with a fresh nonce.
pub fn version_payload(genesis: BlockHash) -> Vec<u8> {
    let mut p = Vec::new();
    p.extend_from_slice(&1u32.to_le_bytes());
    p.extend_from_slice(&serialize(&genesis));
    p.extend_from_slice(&0u32.to_le_bytes());
    p.extend_from_slice(&0u64.to_le_bytes());
    p.extend_from_slice(&rand_nonce().to_le_bytes());
    p.extend_from_slice(&0u16.to_le_bytes());
    let agent = b"/scripted-peer/";
    p.push(agent.len() as u8);
    p.extend_from_slice(agent);
    p
}

/// A nonce that differs per call.
pub fn rand_nonce() -> u64 {
    u64::from_le_bytes(
        sha256d::Hash::hash(format!("{:?}", Instant::now()).as_bytes()).as_byte_array()[..8]
            .try_into()
            .expect("8 bytes"),
    )
}

/// Reads one frame; `None` when the node closed the connection (or went silent past
/// the socket's read timeout).
pub fn read_frame(s: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut header = [0u8; 24];
    s.read_exact(&mut header).ok()?;
    let cmd = String::from_utf8_lossy(&header[4..16])
        .trim_end_matches('\0')
        .to_owned();
    let len = u32::from_le_bytes(header[16..20].try_into().expect("4 bytes")) as usize;
    let mut payload = vec![0u8; len];
    s.read_exact(&mut payload).ok()?;
    Some((cmd, payload))
}

/// A TCP connection to `node`'s P2P port, nothing sent yet.
pub fn connect_raw(node: &TestNode) -> TcpStream {
    connect_raw_from(node, Ipv4Addr::LOCALHOST)
}

/// A TCP connection to `node` from the loopback address `from` (e.g. 127.0.0.2).
pub fn connect_raw_from(node: &TestNode, from: Ipv4Addr) -> TcpStream {
    let socket = socket2::Socket::new(
        socket2::Domain::IPV4,
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )
    .expect("socket");
    socket
        .bind(&SocketAddr::new(IpAddr::V4(from), 0).into())
        .expect("bind to a loopback address");
    socket
        .connect(&SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), node.p2p_port).into())
        .expect("connect");
    let s = TcpStream::from(socket);
    s.set_read_timeout(Some(TIMEOUT)).expect("timeout");
    s
}

/// Connects and completes the handshake.
pub fn handshake(node: &TestNode) -> TcpStream {
    handshake_from(node, Ipv4Addr::LOCALHOST)
}

/// Connects from `from` and completes the handshake.
pub fn handshake_from(node: &TestNode, from: Ipv4Addr) -> TcpStream {
    handshake_on(node, from, Network::Regtest)
}

/// Connects from `from` and completes the handshake of `network`.
pub fn handshake_on(node: &TestNode, from: Ipv4Addr, network: Network) -> TcpStream {
    let mut s = connect_raw_from(node, from);
    let params = network.params();
    s.write_all(&frame(
        params.magic,
        "version",
        &version_payload(params.genesis_hash()),
    ))
    .expect("send version");
    let (mut version, mut verack) = (false, false);
    while !(version && verack) {
        let (cmd, _) = read_frame(&mut s).expect("node answers the handshake");
        version |= cmd == "version";
        verack |= cmd == "verack";
    }
    s.write_all(&frame(params.magic, "verack", &[]))
        .expect("send verack");
    s
}

/// Waits until the node closes the connection (ignoring what it sends meanwhile).
pub fn expect_disconnect(s: &mut TcpStream) {
    let started = Instant::now();
    while read_frame(s).is_some() {
        assert!(
            started.elapsed() < TIMEOUT,
            "node did not disconnect the peer"
        );
    }
}

/// Sends a `ping` and reads until its `pong`, returning the other frames received.
pub fn ping_pong(s: &mut TcpStream, nonce: u64) -> Vec<(String, Vec<u8>)> {
    s.write_all(&regtest_frame("ping", &nonce.to_le_bytes()))
        .expect("send ping");
    let mut before = Vec::new();
    loop {
        let (cmd, payload) = read_frame(s).expect("still connected");
        if cmd == "pong" && payload == nonce.to_le_bytes() {
            return before;
        }
        before.push((cmd, payload));
    }
}

/// Sends `block`.
pub fn send_block(s: &mut TcpStream, block: &Block) {
    s.write_all(&regtest_frame("block", &serialize(block)))
        .expect("send block");
}

/// Sends `headers`.
pub fn send_headers(s: &mut TcpStream, headers: &[BlockHeader]) {
    send_headers_on(s, REGTEST_MAGIC, headers);
}

/// Sends `headers` in a frame of the network with `magic`.
pub fn send_headers_on(s: &mut TcpStream, magic: [u8; 4], headers: &[BlockHeader]) {
    let mut payload = Vec::new();
    write_compact_size(&mut payload, headers.len() as u64);
    for h in headers {
        h.consensus_encode(&mut payload);
    }
    s.write_all(&frame(magic, "headers", &payload))
        .expect("send headers");
}

/// An `inv`/`getdata` payload: `(type, hash)` items, type 1 for a transaction, 2 for a
/// block.
pub fn inventory_payload(items: &[(u32, [u8; 32])]) -> Vec<u8> {
    let mut payload = Vec::with_capacity(9 + items.len() * 36);
    write_compact_size(&mut payload, items.len() as u64);
    for (kind, hash) in items {
        payload.extend_from_slice(&kind.to_le_bytes());
        payload.extend_from_slice(hash);
    }
    payload
}

/// Resident memory of process `pid` in kB (Linux `VmRSS`).
pub fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

/// Bytes under `dir`, recursively.
pub fn dir_size(dir: &std::path::Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// BIP152 short id of `wtxid` in a compact block of `header` with `nonce`, computed here
/// from the BIP's text (SHA-256 of the header bytes and the little-endian nonce keys
/// SipHash-2-4; the low 6 bytes), independently of the node's code.
pub fn short_id(header: &BlockHeader, nonce: u64, wtxid: &dotcoin_common::Wtxid) -> u64 {
    use bitcoin_hashes::sha256;
    use std::hash::Hasher;
    let mut data = serialize(header);
    data.extend_from_slice(&nonce.to_le_bytes());
    let key = sha256::Hash::hash(&data).to_byte_array();
    let k0 = u64::from_le_bytes(key[0..8].try_into().expect("8 bytes"));
    let k1 = u64::from_le_bytes(key[8..16].try_into().expect("8 bytes"));
    let mut h = siphasher::sip::SipHasher24::new_with_keys(k0, k1);
    h.write(wtxid.as_byte_array());
    h.finish() & 0xffff_ffff_ffff
}

/// A `cmpctblock` payload: `header`, `nonce`, the 6-byte `short_ids` and the `prefilled`
/// transactions at their absolute indexes (written differentially, as BIP152 does).
pub fn cmpctblock_payload(
    header: &BlockHeader,
    nonce: u64,
    short_ids: &[u64],
    prefilled: &[(u16, &dotcoin_common::Transaction)],
) -> Vec<u8> {
    let mut p = serialize(header);
    p.extend_from_slice(&nonce.to_le_bytes());
    write_compact_size(&mut p, short_ids.len() as u64);
    for id in short_ids {
        p.extend_from_slice(&id.to_le_bytes()[..6]);
    }
    write_compact_size(&mut p, prefilled.len() as u64);
    let mut next = 0u64;
    for (index, tx) in prefilled {
        write_compact_size(&mut p, u64::from(*index) - next);
        tx.consensus_encode(&mut p);
        next = u64::from(*index) + 1;
    }
    p
}

/// The `cmpctblock` payload of `block` as BIP152 senders make it: the coinbase
/// prefilled, short ids for the rest.
pub fn cmpctblock_of(block: &Block, nonce: u64) -> Vec<u8> {
    let ids: Vec<u64> = block.txdata[1..]
        .iter()
        .map(|tx| short_id(&block.header, nonce, &tx.wtxid()))
        .collect();
    cmpctblock_payload(&block.header, nonce, &ids, &[(0, &block.txdata[0])])
}

/// A `getblocktxn` payload for `block` with the indexes already differentially encoded
/// (`diffs`), so a test can write overflowing ones.
pub fn getblocktxn_payload(block: &BlockHash, diffs: &[u64]) -> Vec<u8> {
    let mut p = serialize(block);
    write_compact_size(&mut p, diffs.len() as u64);
    for d in diffs {
        write_compact_size(&mut p, *d);
    }
    p
}

/// A `blocktxn` payload: `txs` for `block`.
pub fn blocktxn_payload(block: &BlockHash, txs: &[&dotcoin_common::Transaction]) -> Vec<u8> {
    let mut p = serialize(block);
    write_compact_size(&mut p, txs.len() as u64);
    for tx in txs {
        tx.consensus_encode(&mut p);
    }
    p
}

/// Reads frames until one with `command` (the others are dropped); `None` if the node
/// closed the connection or stayed silent past the read timeout.
pub fn read_until(s: &mut TcpStream, command: &str) -> Option<Vec<u8>> {
    loop {
        let (cmd, payload) = read_frame(s)?;
        if cmd == command {
            return Some(payload);
        }
    }
}
