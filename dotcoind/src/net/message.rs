//! P2P messages and their payload encodings, built on the consensus encoding of
//! `dotcoin_common::encode`. Every list is capped (in count, before allocating) at the
//! protocol's limit for that message, so a peer cannot make the node reserve memory with
//! a large length prefix.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use dotcoin_common::encode::{read_compact_size, write_compact_size, Reader};

use super::compact::{BlockTxn, BlockTxnRequest, HeaderAndShortIds, SendCmpct};
use dotcoin_common::{
    Block, BlockHash, BlockHeader, Decodable, DecodeError, Encodable, Transaction, Txid,
};

/// Protocol version this node speaks.
pub const PROTOCOL_VERSION: u32 = 1;
/// Most headers in one `headers` message.
pub const MAX_HEADERS: usize = 2000;
/// Most items in one `inv`, `getdata` or `notfound`.
pub const MAX_INV: usize = 50_000;
/// Most addresses in one `addr`.
pub const MAX_ADDR: usize = 1000;
/// Most hashes in a block locator.
pub const MAX_LOCATOR: usize = 101;
/// Longest user agent.
pub const MAX_USER_AGENT: usize = 256;

/// Reads a count of at most `max` and decodes that many `T`s.
fn decode_list<T: Decodable>(r: &mut Reader<'_>, max: usize) -> Result<Vec<T>, DecodeError> {
    let n = read_compact_size(r)?;
    if n > max as u64 {
        return Err(DecodeError::LengthExceedsInput {
            claimed: n,
            remaining: r.remaining(),
        });
    }
    if n.saturating_mul(T::MIN_SIZE.max(1) as u64) > r.remaining() as u64 {
        return Err(DecodeError::LengthExceedsInput {
            claimed: n,
            remaining: r.remaining(),
        });
    }
    (0..n).map(|_| T::consensus_decode(r)).collect()
}

fn encode_list<T: Encodable>(items: &[T], out: &mut Vec<u8>) {
    write_compact_size(out, items.len() as u64);
    for item in items {
        item.consensus_encode(out);
    }
}

/// `version`: who the peer is and where its chain stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionMessage {
    /// Protocol version.
    pub version: u32,
    /// Genesis hash of the sender's network (the magic already says which network).
    pub genesis: BlockHash,
    /// Height of the sender's active chain.
    pub best_height: u32,
    /// Sender's clock, Unix seconds.
    pub timestamp: u64,
    /// The sender node's random nonce, the same on all its connections: receiving our
    /// own means we connected to ourselves, the same one on two links means one node.
    pub nonce: u64,
    /// Port the sender accepts connections on (0: not listening), so `addr` is useful.
    pub listen_port: u16,
    /// Software name and version, like `/dotcoind:0.1.0/`.
    pub user_agent: String,
}

impl Encodable for VersionMessage {
    fn consensus_encode(&self, out: &mut Vec<u8>) {
        self.version.consensus_encode(out);
        self.genesis.consensus_encode(out);
        self.best_height.consensus_encode(out);
        self.timestamp.consensus_encode(out);
        self.nonce.consensus_encode(out);
        self.listen_port.consensus_encode(out);
        self.user_agent.consensus_encode(out);
    }
}

impl Decodable for VersionMessage {
    const MIN_SIZE: usize = 4 + 32 + 4 + 8 + 8 + 2 + 1;
    fn consensus_decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let version = u32::consensus_decode(r)?;
        let genesis = BlockHash::consensus_decode(r)?;
        let best_height = u32::consensus_decode(r)?;
        let timestamp = u64::consensus_decode(r)?;
        let nonce = u64::consensus_decode(r)?;
        let listen_port = u16::consensus_decode(r)?;
        let user_agent = String::consensus_decode(r)?;
        if user_agent.len() > MAX_USER_AGENT {
            return Err(DecodeError::InvalidValue("user agent too long"));
        }
        Ok(VersionMessage {
            version,
            genesis,
            best_height,
            timestamp,
            nonce,
            listen_port,
            user_agent,
        })
    }
}

/// A peer address in `addr`: when it was last seen and where it listens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetAddress {
    /// Unix time last seen.
    pub time: u64,
    /// IPv6, or IPv4-mapped IPv6.
    pub ip: [u8; 16],
    /// Port.
    pub port: u16,
}
dotcoin_common::impl_consensus_encoding!(NetAddress, time: u64, ip: [u8; 16], port: u16);

impl NetAddress {
    /// The address of `addr`, seen at `time`.
    pub fn new(addr: SocketAddr, time: u64) -> NetAddress {
        let ip = match addr.ip() {
            IpAddr::V4(v4) => v4.to_ipv6_mapped(),
            IpAddr::V6(v6) => v6,
        };
        NetAddress {
            time,
            ip: ip.octets(),
            port: addr.port(),
        }
    }

    /// As a socket address (IPv4-mapped addresses back to IPv4).
    pub fn socket_addr(&self) -> SocketAddr {
        let v6 = Ipv6Addr::from(self.ip);
        let ip = v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4);
        SocketAddr::new(ip, self.port)
    }
}

/// An item of `inv`, `getdata` and `notfound`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Inventory {
    /// A transaction.
    Tx(Txid),
    /// A block.
    Block(BlockHash),
    /// A block as `cmpctblock` (BIP152's `MSG_CMPCT_BLOCK`; only in `getdata`).
    CompactBlock(BlockHash),
}

const INV_TX: u32 = 1;
const INV_BLOCK: u32 = 2;
const INV_CMPCT_BLOCK: u32 = super::compact::MSG_CMPCT_BLOCK;

impl Encodable for Inventory {
    fn consensus_encode(&self, out: &mut Vec<u8>) {
        match self {
            Inventory::Tx(t) => {
                INV_TX.consensus_encode(out);
                t.consensus_encode(out);
            }
            Inventory::Block(b) => {
                INV_BLOCK.consensus_encode(out);
                b.consensus_encode(out);
            }
            Inventory::CompactBlock(b) => {
                INV_CMPCT_BLOCK.consensus_encode(out);
                b.consensus_encode(out);
            }
        }
    }
}

impl Decodable for Inventory {
    const MIN_SIZE: usize = 36;
    fn consensus_decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match u32::consensus_decode(r)? {
            INV_TX => Ok(Inventory::Tx(Txid::consensus_decode(r)?)),
            INV_BLOCK => Ok(Inventory::Block(BlockHash::consensus_decode(r)?)),
            INV_CMPCT_BLOCK => Ok(Inventory::CompactBlock(BlockHash::consensus_decode(r)?)),
            _ => Err(DecodeError::InvalidValue("unknown inventory type")),
        }
    }
}

/// `getheaders`: "send me the headers after the first of these you know, up to `stop`".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetHeaders {
    /// Block locator: dense near the sender's tip, exponentially sparser towards genesis.
    pub locator: Vec<BlockHash>,
    /// Last header wanted; all zeros for "as many as fit".
    pub stop: BlockHash,
}

/// A P2P message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// Handshake, first message each way.
    Version(VersionMessage),
    /// Handshake acknowledgement.
    Verack,
    /// Liveness and latency probe.
    Ping(u64),
    /// Answer to a ping, with its nonce.
    Pong(u64),
    /// Asks for known peer addresses.
    GetAddr,
    /// Known peer addresses.
    Addr(Vec<NetAddress>),
    /// Announces blocks or transactions.
    Inv(Vec<Inventory>),
    /// Asks for blocks or transactions.
    GetData(Vec<Inventory>),
    /// Items of a `getdata` the sender does not have.
    NotFound(Vec<Inventory>),
    /// Asks for headers after a locator.
    GetHeaders(GetHeaders),
    /// Headers, each building on the previous.
    Headers(Vec<BlockHeader>),
    /// A block.
    Block(Box<Block>),
    /// A transaction.
    Tx(Box<Transaction>),
    /// BIP152: how the sender wants compact blocks announced.
    SendCmpct(SendCmpct),
    /// BIP152: a block as header, short ids and prefilled transactions.
    CmpctBlock(Box<HeaderAndShortIds>),
    /// BIP152: asks for the transactions of a block by index.
    GetBlockTxn(BlockTxnRequest),
    /// BIP152: the transactions a `getblocktxn` asked for.
    BlockTxn(BlockTxn),
}

impl Message {
    /// The command name on the wire.
    pub fn command(&self) -> &'static str {
        match self {
            Message::Version(_) => "version",
            Message::Verack => "verack",
            Message::Ping(_) => "ping",
            Message::Pong(_) => "pong",
            Message::GetAddr => "getaddr",
            Message::Addr(_) => "addr",
            Message::Inv(_) => "inv",
            Message::GetData(_) => "getdata",
            Message::NotFound(_) => "notfound",
            Message::GetHeaders(_) => "getheaders",
            Message::Headers(_) => "headers",
            Message::Block(_) => "block",
            Message::Tx(_) => "tx",
            Message::SendCmpct(_) => "sendcmpct",
            Message::CmpctBlock(_) => "cmpctblock",
            Message::GetBlockTxn(_) => "getblocktxn",
            Message::BlockTxn(_) => "blocktxn",
        }
    }

    /// The payload bytes.
    pub fn payload(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self {
            Message::Version(v) => v.consensus_encode(&mut out),
            Message::Verack | Message::GetAddr => {}
            Message::Ping(n) | Message::Pong(n) => n.consensus_encode(&mut out),
            Message::Addr(a) => encode_list(a, &mut out),
            Message::Inv(i) | Message::GetData(i) | Message::NotFound(i) => {
                encode_list(i, &mut out)
            }
            Message::GetHeaders(g) => {
                encode_list(&g.locator, &mut out);
                g.stop.consensus_encode(&mut out);
            }
            Message::Headers(h) => encode_list(h, &mut out),
            Message::Block(b) => b.consensus_encode(&mut out),
            Message::Tx(t) => t.consensus_encode(&mut out),
            Message::SendCmpct(c) => c.consensus_encode(&mut out),
            Message::CmpctBlock(c) => c.consensus_encode(&mut out),
            Message::GetBlockTxn(g) => g.consensus_encode(&mut out),
            Message::BlockTxn(b) => b.consensus_encode(&mut out),
        }
        out
    }

    /// Whether `command` is one this node decodes.
    pub fn is_known_command(command: &str) -> bool {
        matches!(
            command,
            "version"
                | "verack"
                | "ping"
                | "pong"
                | "getaddr"
                | "addr"
                | "inv"
                | "getdata"
                | "notfound"
                | "getheaders"
                | "headers"
                | "block"
                | "tx"
                | "sendcmpct"
                | "cmpctblock"
                | "getblocktxn"
                | "blocktxn"
        )
    }

    /// Decodes the payload of `command`. `Ok(None)` for a command this node does not know
    /// (ignored, so the protocol can grow); an error for a known command whose payload
    /// does not decode exactly.
    pub fn decode(command: &str, payload: &[u8]) -> Result<Option<Message>, DecodeError> {
        let mut r = Reader::new(payload);
        let msg = match command {
            "version" => Message::Version(VersionMessage::consensus_decode(&mut r)?),
            "verack" => Message::Verack,
            "ping" => Message::Ping(u64::consensus_decode(&mut r)?),
            "pong" => Message::Pong(u64::consensus_decode(&mut r)?),
            "getaddr" => Message::GetAddr,
            "addr" => Message::Addr(decode_list(&mut r, MAX_ADDR)?),
            "inv" => Message::Inv(decode_list(&mut r, MAX_INV)?),
            "getdata" => Message::GetData(decode_list(&mut r, MAX_INV)?),
            "notfound" => Message::NotFound(decode_list(&mut r, MAX_INV)?),
            "getheaders" => Message::GetHeaders(GetHeaders {
                locator: decode_list(&mut r, MAX_LOCATOR)?,
                stop: BlockHash::consensus_decode(&mut r)?,
            }),
            "headers" => Message::Headers(decode_list(&mut r, MAX_HEADERS)?),
            "block" => Message::Block(Box::new(Block::consensus_decode(&mut r)?)),
            "tx" => Message::Tx(Box::new(Transaction::consensus_decode(&mut r)?)),
            "sendcmpct" => Message::SendCmpct(SendCmpct::consensus_decode(&mut r)?),
            "cmpctblock" => {
                Message::CmpctBlock(Box::new(HeaderAndShortIds::consensus_decode(&mut r)?))
            }
            "getblocktxn" => Message::GetBlockTxn(BlockTxnRequest::consensus_decode(&mut r)?),
            "blocktxn" => Message::BlockTxn(BlockTxn::consensus_decode(&mut r)?),
            _ => return Ok(None),
        };
        if r.remaining() != 0 {
            return Err(DecodeError::TrailingBytes(r.remaining()));
        }
        Ok(Some(msg))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin_hashes::Hash;

    fn round_trip(m: Message) {
        let payload = m.payload();
        let back = Message::decode(m.command(), &payload)
            .expect("decodes")
            .expect("known command");
        assert_eq!(back, m);
    }

    #[test]
    fn messages_round_trip() {
        let params = dotcoin_common::Network::Regtest.params();
        round_trip(Message::Version(VersionMessage {
            version: PROTOCOL_VERSION,
            genesis: params.genesis_hash(),
            best_height: 7,
            timestamp: 1,
            nonce: 42,
            listen_port: 18633,
            user_agent: "/dotcoind:0.1.0/".into(),
        }));
        round_trip(Message::Verack);
        round_trip(Message::Ping(5));
        round_trip(Message::Pong(5));
        round_trip(Message::GetAddr);
        round_trip(Message::Addr(vec![NetAddress::new(
            "127.0.0.1:8633".parse().expect("addr"),
            9,
        )]));
        let h = params.genesis_hash();
        round_trip(Message::Inv(vec![
            Inventory::Block(h),
            Inventory::Tx(Txid::all_zeros()),
        ]));
        round_trip(Message::GetData(vec![Inventory::Block(h)]));
        round_trip(Message::NotFound(vec![Inventory::Block(h)]));
        round_trip(Message::GetHeaders(GetHeaders {
            locator: vec![h],
            stop: BlockHash::all_zeros(),
        }));
        round_trip(Message::Headers(vec![params.genesis_block().header]));
        round_trip(Message::Block(Box::new(params.genesis_block().clone())));
        round_trip(Message::Tx(Box::new(
            params.genesis_block().txdata[0].clone(),
        )));
        round_trip(Message::SendCmpct(SendCmpct {
            announce: true,
            version: 2,
        }));
        round_trip(Message::CmpctBlock(Box::new(
            HeaderAndShortIds::from_block(params.genesis_block(), 9),
        )));
        round_trip(Message::GetBlockTxn(BlockTxnRequest {
            block_hash: h,
            indexes: vec![1, 3, 900],
        }));
        round_trip(Message::BlockTxn(BlockTxn {
            block_hash: h,
            txs: params.genesis_block().txdata.clone(),
        }));
        round_trip(Message::GetData(vec![Inventory::CompactBlock(h)]));
    }

    #[test]
    fn counts_capped_unknown_ignored_trailing_rejected() {
        let mut payload = Vec::new();
        write_compact_size(&mut payload, MAX_HEADERS as u64 + 1);
        assert!(Message::decode("headers", &payload).is_err());
        let mut payload = Vec::new();
        write_compact_size(&mut payload, u32::MAX as u64);
        assert!(Message::decode("inv", &payload).is_err());
        assert_eq!(Message::decode("wtxidrelay", &[]), Ok(None));
        assert!(Message::decode("sendcmpct", &[1, 2]).is_err());
        assert!(Message::decode("verack", &[0]).is_err());
        let addr = NetAddress::new("[::1]:1".parse().expect("addr"), 0);
        assert_eq!(addr.socket_addr(), "[::1]:1".parse().expect("addr"));
    }
}
