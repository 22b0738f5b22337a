//! The two layers every byte from a peer crosses: the frame reader
//! (`dotcoind::net::codec::read_frame`) and the message decoder
//! (`dotcoind::net::message::Message::decode`).

use std::future::Future;
use std::task::{Context, Poll, Waker};

use dotcoin_common::Network;
use dotcoind::net::codec::{
    encode_frame, read_frame, CodecError, MAX_HANDSHAKE_PAYLOAD, MAX_PAYLOAD,
};
use dotcoind::net::message::{Message, NetAddress};

use crate::chain;

/// The commands a peer can send, in the order the first byte of a [`message`] input
/// selects them. The last is one this node does not know, which must be ignored.
pub const COMMANDS: &[&str] = &[
    "version",
    "verack",
    "ping",
    "pong",
    "getaddr",
    "addr",
    "inv",
    "getdata",
    "notfound",
    "getheaders",
    "headers",
    "block",
    "tx",
    "sendcmpct",
    // A command the node does not know (sendcmpct was one until compact blocks came):
    // it must decode as nothing, not as an error.
    "sendaddrv2",
];

/// The magic the [`frame`] target reads with (the stream's first four bytes must match
/// it to get any further, so the seeds use it too).
pub fn magic() -> [u8; 4] {
    Network::Regtest.params().magic
}

/// Runs a future that cannot wait — a read from a byte slice is always ready — to its end
/// on the calling thread, without an async runtime.
fn run_ready<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(out) => out,
        Poll::Pending => unreachable!("reading from a byte slice never waits"),
    }
}

/// Fuzz target: `data` is a stream from a peer. Frames are read off it as a connection's
/// reader task does — handshake-sized until a `verack`, then up to the full limit — until
/// one fails; each frame must re-encode to the bytes it was read from, and its payload
/// goes through [`decode_message`].
pub fn frame(data: &[u8]) {
    let magic = magic();
    let mut limit = MAX_HANDSHAKE_PAYLOAD;
    let mut rest = data;
    loop {
        let before = rest;
        match run_ready(read_frame(&mut rest, magic, limit)) {
            Ok(frame) => {
                let wire = &before[..before.len() - rest.len()];
                assert_eq!(wire.len(), frame.wire_len(), "wire_len of {frame:?}");
                assert!(
                    frame.payload.len() <= limit as usize,
                    "payload over the limit"
                );
                assert_eq!(
                    encode_frame(magic, &frame.command, &frame.payload),
                    wire,
                    "frame does not re-encode to its bytes"
                );
                decode_message(&frame.command, &frame.payload);
                if frame.command == "verack" {
                    limit = MAX_PAYLOAD;
                }
            }
            Err(e) => {
                if let CodecError::Oversized(announced, max) = e {
                    assert_eq!(max, limit, "refused under the wrong limit");
                    assert!(announced > max);
                }
                let _ = (e.to_string(), e.is_misbehaviour());
                break;
            }
        }
    }
}

/// Fuzz target: the first byte picks a command from [`COMMANDS`] (modulo its length), the
/// rest is that message's payload; see [`decode_message`].
pub fn message(data: &[u8]) {
    let Some((&selector, payload)) = data.split_first() else {
        return;
    };
    decode_message(COMMANDS[usize::from(selector) % COMMANDS.len()], payload);
}

/// Decodes one payload as the peer task does. A message that decodes must encode back to
/// exactly `payload` under the same command; an unknown command must decode to `None`;
/// a decoded message then meets the checks the node runs on it before its state.
pub fn decode_message(command: &str, payload: &[u8]) {
    let msg = match Message::decode(command, payload) {
        Ok(Some(msg)) => msg,
        Ok(None) => {
            assert!(
                !COMMANDS[..COMMANDS.len() - 1].contains(&command),
                "known command {command} ignored"
            );
            return;
        }
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    assert_eq!(msg.command(), command);
    assert_eq!(msg.payload(), payload, "{command} does not re-encode");
    match &msg {
        Message::Addr(addrs) => {
            for a in addrs {
                // The manager stores learnt addresses as socket addresses.
                assert_eq!(NetAddress::new(a.socket_addr(), a.time), *a);
            }
        }
        Message::Headers(headers) => {
            chain::check_headers(headers);
        }
        Message::GetHeaders(g) => {
            chain::serve_getheaders(g);
        }
        Message::Block(block) => chain::check_block_rules(block),
        Message::Tx(tx) => chain::check_tx_rules(tx),
        _ => {}
    }
}
