//! The faucet: `POST /faucet {"address": A, "amount": X}` on the wallet service's port
//! pays A from one named wallet (`--faucetwallet NAME`), so a test network's users get
//! coins without a miner of their own. The node holds no keys: this is the wallet
//! service's to answer.
//!
//! Test networks only. dotcoin has two networks (`dotcoin_common::Network`): regtest, and
//! `main` — the shared demo network `make run` joins, whose coins cost real proof of
//! work and whose nodes talk to anyone's. A faucet gives coins away to whoever asks, so
//! it is served on regtest (every devnet started with `--regtest`) and refused on the
//! main network: `--faucetwallet` there stops the service at start, and `POST /faucet`
//! to a main-network service answers 403 saying so.
//!
//! Abuse is bounded: an amount cap (`--faucetmax`), one payment per address per window
//! (`--faucetwindow`) and a number per client IP per window (`--faucetperclient`), held
//! in maps capped at [`MAX_TRACKED`] entries whose expired records are dropped; when a
//! map is full of live records a newcomer is told to come back (429) rather than an old
//! record being forgotten, which would reopen its address's window. The body is read up
//! to [`MAX_BODY`] bytes within the connection's timeout.
//!
//! Answers are JSON: `{"txid", "address", "amount"}` on success; `{"error": …}` with 400
//! (bad JSON, address or amount), 403 (main network), 404 (faucet off), 405, 413, 429
//! (with `Retry-After` in seconds, and `retry_after` in the body) or 503 (the wallet
//! cannot pay: not loaded, locked, out of funds, node unreachable).

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dotcoin_common::{Address, Amount, Network};
use serde_json::{json, Value};

use super::{methods, params, Service};

/// Largest request body, in bytes.
pub const MAX_BODY: usize = 4096;
/// Most addresses, and most client IPs, the rate limiter remembers.
pub const MAX_TRACKED: usize = 10_000;
/// What a request without `amount` gets (or the cap, if lower): one DOT.
pub const DEFAULT_AMOUNT: Amount = Amount::from_sat(100_000_000);

/// `dotcoin-wallet serve`'s faucet flags.
#[derive(Debug, Clone, clap::Args)]
pub struct FaucetArgs {
    /// Serve `POST /faucet` on the service's port, paying from the loaded wallet NAME
    /// (regtest only: refused on the main network).
    #[arg(long, value_name = "NAME")]
    pub faucetwallet: Option<String>,
    /// Most DOT one faucet payment may be.
    #[arg(long, value_name = "DOT", default_value = "10")]
    pub faucetmax: String,
    /// Seconds before the faucet pays the same address again, and over which a client's
    /// payments are counted (1 to 604800).
    #[arg(long, value_name = "SECONDS", default_value_t = 3600,
          value_parser = clap::value_parser!(u64).range(1..=604_800))]
    pub faucetwindow: u64,
    /// Payments one client IP may get per window (1 to 100000).
    #[arg(long, value_name = "N", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub faucetperclient: u32,
}

/// Why the faucet cannot run with these flags.
pub const MAIN_NETWORK_REFUSAL: &str = "the faucet is refused on the main network: it gives \
     coins to whoever asks, which only a test network may do (run the service with --regtest)";

impl FaucetArgs {
    /// The faucet these flags ask for on `network`: `None` without `--faucetwallet`, an
    /// error on the main network or for a bad cap.
    pub fn faucet(&self, network: Network) -> Result<Option<Faucet>, String> {
        let Some(wallet) = self.faucetwallet.clone() else {
            return Ok(None);
        };
        if network == Network::Main {
            return Err(format!("--faucetwallet: {MAIN_NETWORK_REFUSAL}"));
        }
        let max =
            dotcoin_rpc_server::arg::amount_from_value(&Value::String(self.faucetmax.clone()))
                .map_err(|e| format!("--faucetmax: {}", e.message))?;
        if max == Amount::ZERO {
            return Err("--faucetmax: must be more than zero".into());
        }
        Ok(Some(Faucet {
            wallet,
            max,
            limiter: Mutex::new(Limiter::new(
                Duration::from_secs(self.faucetwindow),
                self.faucetperclient,
                MAX_TRACKED,
            )),
        }))
    }
}

/// A configured faucet.
#[derive(Debug)]
pub struct Faucet {
    /// The wallet it pays from.
    pub wallet: String,
    /// The most one payment may be.
    pub max: Amount,
    limiter: Mutex<Limiter>,
}

/// A refusal by the rate limiter: what was limited and when to come back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limited {
    /// What hit its limit, in words.
    pub what: &'static str,
    /// When a retry may succeed.
    pub retry_after: Duration,
}

/// Payments per address and per client IP within a sliding window, in capped maps.
#[derive(Debug)]
pub struct Limiter {
    window: Duration,
    per_client: u32,
    cap: usize,
    addresses: HashMap<String, Instant>,
    clients: HashMap<IpAddr, VecDeque<Instant>>,
}

impl Limiter {
    /// A limiter of one payment per address and `per_client` per client within
    /// `window`, remembering at most `cap` addresses and `cap` clients.
    pub fn new(window: Duration, per_client: u32, cap: usize) -> Limiter {
        Limiter {
            window,
            per_client: per_client.max(1),
            cap,
            addresses: HashMap::new(),
            clients: HashMap::new(),
        }
    }

    fn live(&self, at: Instant, now: Instant) -> bool {
        now.saturating_duration_since(at) < self.window
    }

    fn left(&self, at: Instant, now: Instant) -> Duration {
        self.window
            .saturating_sub(now.saturating_duration_since(at))
            .max(Duration::from_secs(1))
    }

    /// Drops expired records, when a map is full (so the work is paid only then).
    fn expire(&mut self, now: Instant) {
        let window = self.window;
        if self.addresses.len() >= self.cap {
            self.addresses
                .retain(|_, at| now.saturating_duration_since(*at) < window);
        }
        if self.clients.len() >= self.cap {
            self.clients.retain(|_, times| {
                times.retain(|at| now.saturating_duration_since(*at) < window);
                !times.is_empty()
            });
        }
    }

    /// Records a payment to `address` for `client` at `now`, or says why not.
    pub fn admit(&mut self, address: &str, client: IpAddr, now: Instant) -> Result<(), Limited> {
        self.expire(now);
        if let Some(at) = self.addresses.get(address).copied() {
            if self.live(at, now) {
                return Err(Limited {
                    what: "this address was paid within the faucet's window",
                    retry_after: self.left(at, now),
                });
            }
        }
        let window = self.window;
        let mut quota_used_since = None;
        if let Some(times) = self.clients.get_mut(&client) {
            times.retain(|at| now.saturating_duration_since(*at) < window);
            if times.len() >= self.per_client as usize {
                quota_used_since = times.front().copied();
            }
        }
        if let Some(oldest) = quota_used_since {
            return Err(Limited {
                what: "this client had its payments for the faucet's window",
                retry_after: self.left(oldest, now),
            });
        }
        let full = |len: usize, known: bool| len >= self.cap && !known;
        if full(self.addresses.len(), self.addresses.contains_key(address))
            || full(self.clients.len(), self.clients.contains_key(&client))
        {
            let soonest = self
                .addresses
                .values()
                .chain(self.clients.values().filter_map(|t| t.front()))
                .min()
                .map_or(self.window, |at| self.left(*at, now));
            return Err(Limited {
                what: "the faucet is serving as many addresses and clients as it can remember",
                retry_after: soonest,
            });
        }
        self.addresses.insert(address.to_owned(), now);
        self.clients.entry(client).or_default().push_back(now);
        Ok(())
    }

    /// Forgets the payment recorded at `now` for `address` and `client` (it failed).
    pub fn release(&mut self, address: &str, client: IpAddr, now: Instant) {
        if self.addresses.get(address) == Some(&now) {
            self.addresses.remove(address);
        }
        if let Some(times) = self.clients.get_mut(&client) {
            if let Some(i) = times.iter().rposition(|at| *at == now) {
                times.remove(i);
            }
            if times.is_empty() {
                self.clients.remove(&client);
            }
        }
    }

    /// Addresses and clients remembered now.
    pub fn tracked(&self) -> (usize, usize) {
        (self.addresses.len(), self.clients.len())
    }
}

/// An answer: status, JSON body, and `Retry-After` seconds for a 429.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The JSON body.
    pub body: Value,
    /// `Retry-After`, in seconds.
    pub retry_after: Option<u64>,
}

fn refuse(status: u16, message: impl Into<String>) -> Answer {
    let reason = match status {
        429 => "rate_limited",
        503 => "unavailable",
        _ => "bad_request",
    };
    super::metrics::global().faucet_refused(reason);
    Answer {
        status,
        body: json!({ "error": message.into() }),
        retry_after: None,
    }
}

/// The request's fields, checked: a destination of the service's network and an amount
/// within the cap.
fn parse(body: &[u8], network: Network, max: Amount) -> Result<(Address, Amount), Answer> {
    let v: Value = serde_json::from_slice(body).map_err(|e| {
        refuse(
            400,
            format!("the body must be a JSON object {{\"address\", \"amount\"}}: {e}"),
        )
    })?;
    let Some(obj) = v.as_object() else {
        return Err(refuse(
            400,
            "the body must be a JSON object {\"address\", \"amount\"}",
        ));
    };
    if let Some(k) = obj.keys().find(|k| *k != "address" && *k != "amount") {
        return Err(refuse(
            400,
            format!("unknown field {k:?}: expected address and amount"),
        ));
    }
    let address = match obj.get("address") {
        Some(Value::String(s)) => {
            params::address(s, network).map_err(|e| refuse(400, e.message))?
        }
        Some(_) => return Err(refuse(400, "address must be a string")),
        None => return Err(refuse(400, "address is missing")),
    };
    let amount = match obj.get("amount") {
        None | Some(Value::Null) => DEFAULT_AMOUNT.min(max),
        Some(v) => dotcoin_rpc_server::arg::amount_from_value(v)
            .map_err(|e| refuse(400, format!("amount: {}", e.message)))?,
    };
    if amount == Amount::ZERO {
        return Err(refuse(400, "amount must be more than zero"));
    }
    if amount > max {
        return Err(refuse(
            400,
            format!("amount {amount} DOT is over the faucet's cap of {max} DOT"),
        ));
    }
    Ok((address, amount))
}

/// Answers one faucet request from `client` with `body` (already read, at most
/// [`MAX_BODY`] bytes).
pub async fn answer(svc: &Arc<Service>, client: IpAddr, body: &[u8]) -> Answer {
    let Some(faucet) = &svc.faucet else {
        return if svc.network == Network::Main {
            refuse(403, MAIN_NETWORK_REFUSAL)
        } else {
            refuse(
                404,
                "the faucet is off: start dotcoin-wallet serve with --faucetwallet NAME",
            )
        };
    };
    let (address, amount) = match parse(body, svc.network, faucet.max) {
        Ok(p) => p,
        Err(a) => return a,
    };
    let key = address.to_string();
    let now = Instant::now();
    let admitted = faucet
        .limiter
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .admit(&key, client, now);
    if let Err(limited) = admitted {
        let secs = limited.retry_after.as_secs().max(1);
        let mut a = refuse(429, format!("{}: retry in {secs} s", limited.what));
        a.body["retry_after"] = json!(secs);
        a.retry_after = Some(secs);
        return a;
    }
    let paid = match svc.wallet_for(Some(&faucet.wallet)) {
        Ok(handle) => methods::pay(svc, &handle, address, amount)
            .await
            .map_err(|e| e.message),
        Err(_) => Err(format!(
            "the faucet's wallet {:?} is not loaded",
            faucet.wallet
        )),
    };
    match paid {
        Ok(txid) => {
            tracing::info!(target: "wallet", %txid, %amount, "faucet paid");
            super::metrics::global().faucet_paid(amount.to_sat());
            Answer {
                status: 200,
                body: json!({ "txid": txid, "address": key, "amount": amount }),
                retry_after: None,
            }
        }
        Err(why) => {
            // Nothing was paid: the address and the client keep their quota.
            faucet
                .limiter
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .release(&key, client, now);
            refuse(503, format!("the faucet cannot pay now: {why}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(n: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, n])
    }

    #[test]
    fn one_payment_per_address_and_a_quota_per_client_per_window() {
        let window = Duration::from_secs(60);
        let mut l = Limiter::new(window, 2, 100);
        let t0 = Instant::now();
        assert_eq!(l.admit("a", ip(1), t0), Ok(()));
        let again = l
            .admit("a", ip(2), t0 + Duration::from_secs(10))
            .unwrap_err();
        assert_eq!(again.retry_after, Duration::from_secs(50));
        assert_eq!(l.admit("b", ip(1), t0), Ok(()));
        // Client 1 has had its two.
        let quota = l
            .admit("c", ip(1), t0 + Duration::from_secs(1))
            .unwrap_err();
        assert!(quota.what.contains("client"), "{quota:?}");
        // Another client may still pay c; after the window a may be paid again.
        assert_eq!(l.admit("c", ip(2), t0 + Duration::from_secs(1)), Ok(()));
        assert_eq!(l.admit("a", ip(3), t0 + window), Ok(()));
        // A failed payment gives the quota back.
        let t1 = t0 + window + Duration::from_secs(1);
        assert_eq!(l.admit("d", ip(4), t1), Ok(()));
        l.release("d", ip(4), t1);
        assert_eq!(l.admit("d", ip(4), t1), Ok(()));
    }

    #[test]
    fn state_stays_within_its_cap_and_a_full_map_refuses_rather_than_forgets() {
        let window = Duration::from_secs(60);
        let mut l = Limiter::new(window, 1_000_000, 3);
        let t0 = Instant::now();
        for (i, a) in ["a", "b", "c"].iter().enumerate() {
            assert_eq!(l.admit(a, ip(i as u8), t0), Ok(()));
        }
        let full = l
            .admit("d", ip(9), t0 + Duration::from_secs(20))
            .unwrap_err();
        assert_eq!(full.retry_after, Duration::from_secs(40));
        assert_eq!(l.tracked(), (3, 3));
        // "a" is still remembered: forgetting it would pay it twice in one window.
        assert!(l.admit("a", ip(0), t0 + Duration::from_secs(30)).is_err());
        // Once the records expire, they make room.
        assert_eq!(l.admit("d", ip(9), t0 + window), Ok(()));
        assert_eq!(l.tracked(), (1, 1));
    }

    #[test]
    fn requests_are_checked_before_anything_is_paid() {
        let net = Network::Regtest;
        let max = Amount::from_sat(500_000_000);
        let mut w = crate::wallet::Wallet::create(net, 1);
        let addr = w.new_address("").expect("an address").to_string();
        let ok = format!(r#"{{"address":"{addr}","amount":2.5}}"#);
        let (a, amount) = parse(ok.as_bytes(), net, max).expect("valid");
        assert_eq!(a.to_string(), addr);
        assert_eq!(amount, Amount::from_sat(250_000_000));
        let default = format!(r#"{{"address":"{addr}"}}"#);
        assert_eq!(
            parse(default.as_bytes(), net, max).expect("valid").1,
            DEFAULT_AMOUNT
        );
        for (body, needle) in [
            (
                format!(r#"{{"address":"{addr}","amount":6}}"#),
                "over the faucet's cap",
            ),
            (
                format!(r#"{{"address":"{addr}","amount":0}}"#),
                "more than zero",
            ),
            (format!(r#"{{"address":"{addr}","amount":-1}}"#), "amount"),
            (
                r#"{"address":"dc1pnotanaddress","amount":1}"#.to_owned(),
                "Invalid address",
            ),
            (r#"{"amount":1}"#.to_owned(), "address is missing"),
            ("[1,2]".to_owned(), "JSON object"),
            ("{".to_owned(), "JSON object"),
            (
                format!(r#"{{"address":"{addr}","to":"x"}}"#),
                "unknown field",
            ),
        ] {
            let refused = parse(body.as_bytes(), net, max).unwrap_err();
            assert_eq!(refused.status, 400, "{body}");
            let msg = refused.body["error"].as_str().expect("error text");
            assert!(msg.contains(needle), "{body}: {msg}");
        }
    }

    #[test]
    fn the_main_network_refuses_the_flag() {
        let args = FaucetArgs {
            faucetwallet: Some("faucet".into()),
            faucetmax: "10".into(),
            faucetwindow: 60,
            faucetperclient: 1,
        };
        let err = args.faucet(Network::Main).unwrap_err();
        assert!(err.contains("refused on the main network"), "{err}");
        assert!(args.faucet(Network::Regtest).expect("regtest").is_some());
        let off = FaucetArgs {
            faucetwallet: None,
            ..args
        };
        assert!(off.faucet(Network::Main).expect("off").is_none());
    }
}
