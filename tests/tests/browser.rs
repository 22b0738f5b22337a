//! The dashboard in a real browser: headless Chromium driven over WebDriver
//! (chromedriver), against a regtest node. It watches the height change live, sees a
//! competing branch in the block tree and the reorg in the activity log (with the events'
//! satoshis shown as DOT), opens a block, a transaction and an address, checks that actions
//! need the token, and that the page logs no console error. Screenshots go to `<target>/tmp/dashboard-*.png`.
//!
//! `make test` installs Debian's `chromium` and `chromium-driver` first (`make deps`).

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use base64::Engine;
use dotcoin_common::{serialize, Block, BlockHash};
use dotcoin_functional_tests::{
    block_at, block_on, http_request, test_keypair, wait_until, TestNode, TIMEOUT,
};
use serde_json::{json, Value};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// chromedriver and one browser session; both end on drop.
struct Browser {
    driver: Child,
    port: u16,
    session: String,
    _profile: tempfile::TempDir,
}

impl Browser {
    fn start() -> Browser {
        assert!(
            std::path::Path::new(CHROMIUM).exists() && std::path::Path::new(CHROMEDRIVER).exists(),
            "browser tests need Debian's chromium and chromium-driver: run `make deps`"
        );
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        wait_until("chromedriver ready", TIMEOUT, || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        let profile = tempfile::tempdir().expect("profile dir");
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:loggingPrefs": { "browser": "ALL" },
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--disable-quic", "--window-size=1400,1000",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            },
        }}});
        let (status, body) = http_request(port, "POST", "/session", &caps.to_string(), None);
        let v: Value = serde_json::from_str(&body).expect("session reply");
        assert_eq!(status, 200, "new session: {v}");
        let session = v["value"]["sessionId"]
            .as_str()
            .expect("session id")
            .to_owned();
        Browser {
            driver,
            port,
            session,
            _profile: profile,
        }
    }

    fn cmd(&self, method: &str, path: &str, body: Value) -> Value {
        let (status, text) = http_request(
            self.port,
            method,
            &format!("/session/{}{path}", self.session),
            &body.to_string(),
            None,
        );
        let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        assert_eq!(status, 200, "{method} {path}: {v}");
        v["value"].clone()
    }

    fn goto(&self, url: &str) {
        self.cmd("POST", "/url", json!({ "url": url }));
    }

    /// Runs `script` (a function body; `arguments` holds `args`) in the page.
    fn js(&self, script: &str, args: Value) -> Value {
        self.cmd(
            "POST",
            "/execute/sync",
            json!({ "script": script, "args": args }),
        )
    }

    /// The text of the first element matching `css` ("" if none).
    fn text(&self, css: &str) -> String {
        self.js(
            "const e = document.querySelector(arguments[0]); return e ? e.textContent.trim() : '';",
            json!([css]),
        )
        .as_str()
        .unwrap_or_default()
        .to_owned()
    }

    fn wait_text(&self, what: &str, css: &str, pred: impl Fn(&str) -> bool) {
        wait_until(what, TIMEOUT, || pred(&self.text(css)));
    }

    fn screenshot(&self, name: &str) {
        let b64 = self.cmd("GET", "/screenshot", json!({}));
        let png = base64::engine::general_purpose::STANDARD
            .decode(b64.as_str().expect("base64"))
            .expect("png");
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        std::fs::write(dir.join(format!("dashboard-{name}.png")), png).expect("save screenshot");
    }

    /// Console entries at level SEVERE since the last call.
    fn console_errors(&self) -> Vec<String> {
        let v = self.cmd("POST", "/se/log", json!({ "type": "browser" }));
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter(|e| e["level"] == "SEVERE")
                    .map(|e| e["message"].to_string())
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = http_request(
            self.port,
            "DELETE",
            &format!("/session/{}", self.session),
            "",
            None,
        );
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn submit(n: &TestNode, b: &Block) {
    let r = n.rpc("submitblock", json!([hex::encode(serialize(b))]));
    assert!(r.is_null(), "submitblock: {r}");
}

#[test]
fn the_dashboard_lives_in_a_browser() {
    let node = TestNode::start(&["--dashboard", "127.0.0.1:0", "--maxoutbound", "0"]);
    let (_, addr) = test_keypair();
    node.generate(5, &addr);
    let base = format!("http://127.0.0.1:{}/", node.dashboard_port);
    let log = node.stderr_log();
    let at = log.find("?token=").expect("dashboard URL printed");
    let token: String = log[at + 7..]
        .chars()
        .take_while(|c| c.is_ascii_hexdigit())
        .collect();

    let browser = Browser::start();

    // Read-only first: no token, no actions.
    browser.goto(&base);
    browser.wait_text("height shown", "#height", |t| t.starts_with('5'));
    let readonly = browser.js(
        "const n = document.querySelector('#readonly-note'); return !!n && n.offsetParent !== null;",
        json!([]),
    );
    assert_eq!(readonly, json!(true), "the read-only note shows");
    let status = browser.cmd(
        "POST",
        "/execute/async",
        json!({
            "script": "const done = arguments[arguments.length - 1];
                fetch('/api/action/generate', {method: 'POST', headers: {'Content-Type': 'application/json'},
                    body: JSON.stringify({nblocks: 1, address: arguments[0]})}).then(r => done(r.status));",
            "args": [addr],
        }),
    );
    assert_eq!(status, json!(401), "an action without the token is refused");
    // Chromium logs the refused request itself as an error; nothing else may be there.
    let so_far = browser.console_errors();
    assert!(
        so_far
            .iter()
            .all(|e| e.contains("api/action/generate") && e.contains("401")),
        "console errors: {so_far:?}"
    );

    // With the token: the page takes it from the URL and acts.
    browser.goto(&format!("{base}?token={token}"));
    browser.wait_text("height shown", "#height", |t| t.starts_with('5'));
    wait_until("actions enabled", TIMEOUT, || {
        browser.js(
            "const b = document.querySelector('#act-generate'); return !!b && !b.disabled && b.offsetParent !== null;",
            json!([]),
        ) == json!(true)
    });
    let url = browser.js("return location.href;", json!([]));
    assert!(
        !url.as_str().unwrap_or_default().contains("token="),
        "the token leaves the address bar: {url}"
    );

    // Live: a block mined over RPC shows up with no reload.
    browser.js("window.__marker = 42;", json!([]));
    node.generate(1, &addr);
    browser.wait_text("height 6, live", "#height", |t| t.starts_with('6'));
    assert_eq!(
        browser.js("return window.__marker;", json!([])),
        json!(42),
        "no reload"
    );

    // Mine from the page.
    browser.js(
        "document.querySelector('#act-generate-n').value = '2';
         const a = document.querySelector('#act-generate-address');
         a.value = arguments[0]; a.dispatchEvent(new Event('input'));
         document.querySelector('#act-generate').click();",
        json!([addr]),
    );
    browser.wait_text("height 8 after mining from the page", "#height", |t| {
        t.starts_with('8')
    });
    assert_eq!(node.rpc_typed::<u32>("getblockcount", json!([])), 8);

    // A competing branch from height 6 that overtakes: a reorg of depth 2.
    let fork = block_at(&node, 6).header;
    let old_tip: BlockHash = node.rpc_typed("getbestblockhash", json!([]));
    let b7 = block_on(&fork, 7, 1, 0xb7);
    let b8 = block_on(&b7.header, 8, 1, 0xb8);
    let b9 = block_on(&b8.header, 9, 1, 0xb9);
    for b in [&b7, &b8, &b9] {
        submit(&node, b);
    }
    browser.wait_text("height 9 on the new branch", "#height", |t| {
        t.starts_with('9')
    });
    wait_until("the old tip drawn as a valid fork", TIMEOUT, || {
        browser.js(
            "const e = document.querySelector(`#tree [data-hash=\"${arguments[0]}\"]`);
             return e ? e.getAttribute('data-status') : null;",
            json!([old_tip]),
        ) == json!("valid-fork")
    });
    wait_until("the reorg in the activity log", TIMEOUT, || {
        browser
            .js(
                "return [...document.querySelectorAll('#activity li')].map(l => l.textContent).join('\\n');",
                json!([]),
            )
            .as_str()
            .is_some_and(|t| t.contains("Reorg of depth 2"))
    });
    browser.screenshot("home");

    // Events carry satoshis; the page shows DOT, exactly (not 3.82e-6).
    assert_eq!(
        browser.js(
            "return [satToDot(382), satToDot(5000000000), satToDot(123456789), satToDot(0)];",
            json!([])
        ),
        json!(["0.00000382", "50", "1.23456789", "0"])
    );
    let activity = browser.js(
        "return [...document.querySelectorAll('#activity li')].map(l => l.textContent).join('\\n');",
        json!([]),
    );
    assert!(
        activity
            .as_str()
            .is_some_and(|t| t.contains("1 tx · fees 0 DOT")),
        "a connected block's fees in DOT: {activity}"
    );

    // A block, a transaction and an address.
    browser.goto(&format!("{base}#/block/{}", b8.block_hash()));
    browser.wait_text("block page", "#block-hash", |t| {
        t.contains(&b8.block_hash().to_string())
    });
    browser.wait_text("block status", "#block-status", |t| t.contains("active"));
    browser.screenshot("block");
    let txid = b8.txdata[0].txid();
    browser.goto(&format!("{base}#/tx/{txid}"));
    browser.wait_text("tx page", "#tx-id", |t| t.contains(&txid.to_string()));
    browser.screenshot("tx");
    browser.goto(&format!("{base}#/address/{addr}"));
    browser.wait_text("address page", "#address-id", |t| t.contains(&addr));
    browser.wait_text("address balance", "#address-balance", |t| !t.is_empty());
    browser.screenshot("address");

    let errors = browser.console_errors();
    assert!(errors.is_empty(), "console errors: {errors:?}");
}
