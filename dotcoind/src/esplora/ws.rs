//! The explorer WebSocket (`/api/v1/ws`, also `/ws`), in mempool.space's model: a client
//! says what it follows and the server pushes changes from the node's event stream, so a
//! page never polls.
//!
//! - `{"track-address": "<address>"}` follows one address (a new one replaces it);
//!   `{"track-addresses": [...]}` up to [`MAX_TRACKED_ADDRESSES`]; a pool transaction
//!   touching one is pushed as `{"address-transactions": [tx…]}` and a connected block's
//!   as `{"block-transactions": [tx…]}` (Esplora's transaction shape).
//! - `{"track-tx": "<txid>"}` follows one transaction: `{"txConfirmed": txid, "block":
//!   {…}}` when a block confirms it, `{"txRemoved": txid, "reason": …}` when the pool
//!   drops it otherwise.
//! - `{"action": "ping"}` answers `{"pong": true}`.
//!
//! What one session holds is bounded (one address list, one txid); the shared accept loop
//! caps sessions per server and per client and ends one that stops reading. A session
//! that falls behind the event stream skips what it missed and says so
//! (`{"lagged": n}`). Block reads run on the API's read pool.

use std::collections::HashSet;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use dotcoin_common::{Address, PubKey, TxOut, Txid};
use serde_json::{json, Value};
use tokio::sync::broadcast::error::RecvError;

use super::routes::{esplora_tx, TxStatus};
use super::Api;
use crate::state::Event;

/// Addresses one session follows at most.
pub const MAX_TRACKED_ADDRESSES: usize = 100;
/// Bytes of one client message at most.
pub const MAX_MESSAGE: usize = 64 * 1024;
/// Transactions one push lists at most (a block can hold thousands for one address).
pub const MAX_PUSHED_TXS: usize = 100;

pub(super) fn router() -> Router<Api> {
    Router::new().route("/v1/ws", get(upgrade))
}

async fn upgrade(State(api): State<Api>, ws: WebSocketUpgrade) -> Response {
    ws.max_message_size(MAX_MESSAGE)
        .max_frame_size(MAX_MESSAGE)
        .on_upgrade(move |socket| session(api, socket))
}

/// What one session follows.
#[derive(Default)]
struct Tracked {
    keys: HashSet<PubKey>,
    tx: Option<Txid>,
}

impl Tracked {
    fn touches(&self, outputs: &[TxOut], spent: &[TxOut]) -> bool {
        outputs
            .iter()
            .chain(spent)
            .any(|o| self.keys.contains(&o.pubkey))
    }
}

/// Applies one client message; the answer to send, if any.
fn command(api: &Api, t: &mut Tracked, msg: &str) -> Option<Value> {
    let network = api.ctx.chain.params().network;
    let Ok(v) = serde_json::from_str::<Value>(msg) else {
        return Some(json!({ "error": "messages are JSON objects" }));
    };
    if v.get("action").and_then(Value::as_str) == Some("ping") {
        return Some(json!({ "pong": true }));
    }
    let mut answer = serde_json::Map::new();
    if let Some(a) = v.get("track-address") {
        match a.as_str().map(|s| Address::parse_for(s, network)) {
            Some(Ok(addr)) => {
                t.keys = HashSet::from([addr.pubkey]);
                answer.insert("track-address".into(), json!(addr.to_string()));
            }
            _ => {
                answer.insert(
                    "track-address-error".into(),
                    json!("Invalid Bitcoin address"),
                );
            }
        }
    }
    if let Some(list) = v.get("track-addresses") {
        let parsed: Option<Vec<Address>> = list.as_array().and_then(|l| {
            l.iter()
                .map(|a| a.as_str().and_then(|s| Address::parse_for(s, network).ok()))
                .collect()
        });
        match parsed {
            Some(addrs) if addrs.len() <= MAX_TRACKED_ADDRESSES => {
                t.keys = addrs.iter().map(|a| a.pubkey).collect();
                answer.insert("track-addresses".into(), json!(addrs.len()));
            }
            Some(_) => {
                answer.insert(
                    "track-addresses-error".into(),
                    json!(format!("too many addresses requested, this connection supports tracking a maximum of {MAX_TRACKED_ADDRESSES} addresses")),
                );
            }
            None => {
                answer.insert(
                    "track-addresses-error".into(),
                    json!("Invalid Bitcoin address"),
                );
            }
        }
    }
    if let Some(tx) = v.get("track-tx") {
        match tx.as_str().map(str::parse::<Txid>) {
            Some(Ok(txid)) => {
                t.tx = Some(txid);
                answer.insert("track-tx".into(), json!(txid));
            }
            _ => {
                answer.insert("track-tx-error".into(), json!("Invalid hex string"));
            }
        }
    }
    if answer.is_empty() {
        return Some(json!({ "error": "unknown request" }));
    }
    Some(Value::Object(answer))
}

/// The pushes one event gives a session (read on the API's pool for blocks).
async fn pushes(api: &Api, t: &Tracked, event: &Event) -> Vec<Value> {
    let network = api.ctx.chain.params().network;
    match event {
        Event::TxAccepted { txid, .. } if !t.keys.is_empty() => {
            // The snapshot that holds the transaction is published with the event or
            // just after it.
            let mut snaps = api.ctx.chain.watch_snapshots();
            let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(2);
            loop {
                let snap = snaps.borrow_and_update().clone();
                if let Some(e) = snap.mempool().get(txid) {
                    let spent: Vec<TxOut> = e.spent.iter().map(|c| c.output).collect();
                    if !t.touches(&e.tx.outputs, &spent) {
                        return Vec::new();
                    }
                    let tx = esplora_tx(network, &e.tx, *txid, Some(&spent), TxStatus::of(None));
                    return vec![json!({ "address-transactions": [tx] })];
                }
                if tokio::time::timeout_at(deadline, snaps.changed())
                    .await
                    .is_err()
                {
                    return Vec::new();
                }
            }
        }
        Event::TxRemoved { txid, reason, .. } if t.tx == Some(*txid) => {
            if matches!(reason, crate::state::events::RemovalReason::Confirmed) {
                // The block's own push says it confirmed.
                return Vec::new();
            }
            vec![json!({ "txRemoved": txid, "reason": reason })]
        }
        Event::BlockConnected(facts) if !t.keys.is_empty() || t.tx.is_some() => {
            let keys = t.keys.clone();
            let tracked_tx = t.tx;
            let chain = std::sync::Arc::clone(&api.ctx.chain);
            let hash = facts.hash;
            let r = api
                .reads
                .run(move || {
                    let snap = chain.snapshot();
                    let mut out = Vec::new();
                    let Ok(Some(b)) = snap.block(&hash) else {
                        return out;
                    };
                    let Some(entry) = snap.index().get(&hash).copied() else {
                        return out;
                    };
                    let spent = crate::rpc::json::spent_by_block(&snap, &b)
                        .ok()
                        .flatten()
                        .unwrap_or_default();
                    let status = TxStatus::of(Some(&entry));
                    let tracked = Tracked {
                        keys,
                        tx: tracked_tx,
                    };
                    let mut txs = Vec::new();
                    for (i, tx) in b.txdata.iter().enumerate() {
                        let s: Vec<TxOut> = spent
                            .get(i)
                            .map(|c| c.iter().map(|c| c.output).collect())
                            .unwrap_or_default();
                        let txid = tx.txid();
                        if tracked.tx == Some(txid) {
                            out.push(json!({
                                "txConfirmed": txid,
                                "block": {
                                    "id": entry.hash,
                                    "height": entry.height,
                                    "timestamp": entry.header.time,
                                    "tx_count": b.txdata.len(),
                                },
                            }));
                        }
                        if txs.len() < MAX_PUSHED_TXS && tracked.touches(&tx.outputs, &s) {
                            txs.push(esplora_tx(network, tx, txid, Some(&s), status));
                        }
                    }
                    if !txs.is_empty() {
                        out.push(json!({ "block-transactions": txs }));
                    }
                    out
                })
                .await;
            r.unwrap_or_default()
        }
        _ => Vec::new(),
    }
}

async fn session(api: Api, mut socket: WebSocket) {
    let mut events = api.ctx.chain.subscribe();
    let mut tracked = Tracked::default();
    loop {
        tokio::select! {
            msg = socket.recv() => {
                let reply = match msg {
                    Some(Ok(Message::Text(t))) => command(&api, &mut tracked, t.as_str()),
                    Some(Ok(Message::Binary(_))) => Some(json!({ "error": "messages are JSON text" })),
                    Some(Ok(_)) => None,
                    Some(Err(_)) | None => return,
                };
                if let Some(r) = reply {
                    if socket.send(Message::Text(r.to_string().into())).await.is_err() {
                        return;
                    }
                }
            }
            ev = events.recv() => {
                let out = match ev {
                    Ok(ev) => pushes(&api, &tracked, &ev).await,
                    Err(RecvError::Lagged(n)) => vec![json!({ "lagged": n })],
                    Err(RecvError::Closed) => return,
                };
                for v in out {
                    if socket.send(Message::Text(v.to_string().into())).await.is_err() {
                        return;
                    }
                }
            }
        }
    }
}
