//! The wire in front of a real jsonrpsee server with a tiny module: dialects, statuses,
//! batches, named parameters, endpoints, authentication and every limit.

use std::net::SocketAddr;

use dotcoin_rpc_server::{CoreWireLayer, Credentials, Endpoint, MethodTable, WireConfig};
use jsonrpsee::server::{Server, ServerHandle};
use jsonrpsee::types::ErrorObjectOwned;
use jsonrpsee::RpcModule;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const USER: &str = "__cookie__";
const PASSWORD: &str = "c0ffee";

#[derive(Debug)]
struct Table;

impl MethodTable for Table {
    type Param = &'static str;
    fn params(&self, method: &str) -> Option<&[&'static str]> {
        match method {
            "echo" => Some(&["value", "other"]),
            "big" => Some(&["bytes"]),
            "amount" | "fail" | "whoami" => Some(&[]),
            _ => None,
        }
    }
    fn check_element(&self, method: &str, raw: &str) -> Result<(), (i32, String)> {
        match method == "echo" && raw.contains("forbidden") {
            true => Err((-8, "forbidden word".to_owned())),
            false => Ok(()),
        }
    }
}

fn module() -> RpcModule<()> {
    let mut m = RpcModule::new(());
    m.register_method("echo", |p, _, _| p.parse::<Value>())
        .expect("unique");
    m.register_method("big", |p, _, _| {
        let (n,): (usize,) = p.parse()?;
        Ok::<_, ErrorObjectOwned>("x".repeat(n))
    })
    .expect("unique");
    m.register_method("amount", |_, _, _| {
        serde_json::value::RawValue::from_string("1.50000000".to_owned())
            .map_err(|e| ErrorObjectOwned::owned(-1, e.to_string(), None::<()>))
    })
    .expect("unique");
    m.register_method("fail", |_, _, _| {
        Err::<(), _>(ErrorObjectOwned::owned(-8, "always fails", None::<()>))
    })
    .expect("unique");
    m.register_method("whoami", |_, _, ext| {
        Ok::<_, ErrorObjectOwned>(ext.get::<Endpoint>().and_then(|e| e.0.clone()))
    })
    .expect("unique");
    m
}

fn config() -> WireConfig {
    WireConfig {
        max_body: 16 * 1024 * 1024,
        max_batch: 1000,
        max_reply: 10_000,
        wallet_endpoints: true,
        pass_non_post: false,
        wallet_methods: &["getnewaddress"],
        core_wallet_methods: &["importmulti"],
    }
}

async fn serve(config: WireConfig) -> (SocketAddr, ServerHandle) {
    let layer = CoreWireLayer::new(Table, Credentials::new(USER, PASSWORD), config);
    let server = Server::builder()
        .set_http_middleware(tower::ServiceBuilder::new().layer(layer))
        .build("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = server.local_addr().expect("address");
    (addr, server.start(module()))
}

/// One HTTP/1.1 exchange: the status and the (de-chunked) body.
async fn http(addr: SocketAddr, method: &str, path: &str, body: &str, auth: bool) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    if auth {
        use base64::Engine;
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
        head.push_str(&format!("Authorization: Basic {token}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.expect("write head");
    // The server may answer (413) before it has read the whole body.
    let _ = stream.write_all(body.as_bytes()).await;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("read");
    let text = String::from_utf8(raw).expect("utf-8");
    let (head, body) = text.split_once("\r\n\r\n").expect("a head");
    let status = head[9..12].parse().expect("a status");
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        let mut out = String::new();
        let mut rest = body;
        while let Some((size, tail)) = rest.split_once("\r\n") {
            let n = usize::from_str_radix(size.trim(), 16).expect("a chunk size");
            if n == 0 {
                break;
            }
            out.push_str(&tail[..n]);
            rest = &tail[n + 2..];
        }
        out
    } else {
        body.to_owned()
    };
    (status, body)
}

async fn post(addr: SocketAddr, body: &str) -> (u16, Value) {
    let (status, text) = http(addr, "POST", "/", body, true).await;
    let value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("bad JSON ({e}): {text}"))
    };
    (status, value)
}

#[tokio::test]
async fn both_dialects_with_cores_statuses() {
    let (addr, _server) = serve(config()).await;
    for body in [
        r#"{"jsonrpc":"1.0","id":"x","method":"amount","params":[]}"#,
        r#"{"version":"1.1","id":"x","method":"amount","params":[]}"#,
        r#"{"id":"x","method":"amount"}"#,
    ] {
        let (status, text) = http(addr, "POST", "/", body, true).await;
        assert_eq!(status, 200, "{text}");
        // The amount is copied as text: its 8 decimals stay.
        assert_eq!(text, r#"{"result":1.50000000,"error":null,"id":"x"}"#);
    }
    let (_, v) = post(addr, r#"{"method":"fail"}"#).await;
    assert_eq!(
        v,
        json!({"result": null, "error": {"code": -8, "message": "always fails"}, "id": null})
    );
    let (status, v) = post(addr, r#"{"id":{"n":[1]},"method":"fail"}"#).await;
    assert_eq!((status, v["id"].clone()), (500, json!({"n": [1]})));
    let (status, v) = post(addr, r#"{"id":1,"method":"nosuch"}"#).await;
    assert_eq!((status, v["error"]["code"].clone()), (404, json!(-32601)));
    let (status, v) = post(addr, r#"{"id":1,"jsonrpc":"3.0","method":"echo"}"#).await;
    assert_eq!((status, v["error"]["code"].clone()), (400, json!(-32600)));
    let (status, v) = post(addr, "{not json").await;
    assert_eq!((status, v["error"]["code"].clone()), (500, json!(-32700)));
    let (status, v) = post(addr, "5").await;
    assert_eq!((status, v["error"]["code"].clone()), (500, json!(-32700)));

    let (status, v) = post(addr, r#"{"jsonrpc":"2.0","id":7,"method":"fail"}"#).await;
    assert_eq!(status, 200);
    assert_eq!(
        v,
        json!({"jsonrpc": "2.0", "error": {"code": -8, "message": "always fails"}, "id": 7})
    );
    let (status, v) = post(addr, r#"{"jsonrpc":"2.0","id":null,"method":"echo"}"#).await;
    assert_eq!(
        (status, v["id"].clone(), v["result"].clone()),
        (200, Value::Null, json!([]))
    );
    let (status, v) = post(addr, r#"{"jsonrpc":"2.0","method":"echo"}"#).await;
    assert_eq!(
        (status, v),
        (204, Value::Null),
        "a notification gets no reply"
    );

    let (status, v) = post(
        addr,
        r#"[{"id":1,"method":"echo","params":[2]},
            {"jsonrpc":"2.0","id":2,"method":"fail"},
            {"jsonrpc":"2.0","method":"echo"},
            {"jsonrpc":"1.0","id":4,"method":"nosuch"},
            5,
            {"id":6,"method":7}]"#,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        v,
        json!([
            {"result": [2], "error": null, "id": 1},
            {"jsonrpc": "2.0", "error": {"code": -8, "message": "always fails"}, "id": 2},
            {"result": null, "error": {"code": -32601, "message": "Method not found"}, "id": 4},
            {"result": null, "error": {"code": -32600, "message": "Invalid Request object"}, "id": null},
            {"result": null, "error": {"code": -32600, "message": "Method must be a string"}, "id": 6},
        ])
    );
    let (status, _) = post(addr, r#"[{"jsonrpc":"2.0","method":"echo"}]"#).await;
    assert_eq!(status, 204);
    let (status, v) = post(addr, "[]").await;
    assert_eq!((status, v), (200, json!([])));
}

#[tokio::test]
async fn parameters_are_held_against_the_table() {
    let (addr, _server) = serve(config()).await;
    let (_, v) = post(addr, r#"{"id":1,"method":"echo","params":{"other":3}}"#).await;
    assert_eq!(v["result"], json!([null, 3]));
    let (_, v) = post(addr, r#"{"id":1,"method":"echo","params":{"bogus":3}}"#).await;
    assert_eq!(v["error"]["code"], -8);
    assert_eq!(
        v["error"]["message"],
        "Unknown named parameter bogus (echo takes value, other)"
    );
    let (_, v) = post(addr, r#"{"id":1,"method":"echo","params":[1,2,"surplus"]}"#).await;
    assert_eq!(v["error"]["code"], -8);
    let (_, v) = post(addr, r#"{"id":1,"method":"echo","params":5}"#).await;
    assert_eq!(v["error"]["code"], -32600);
    let (_, v) = post(addr, r#"{"id":1,"method":"echo","params":["forbidden"]}"#).await;
    assert_eq!(v["error"], json!({"code": -8, "message": "forbidden word"}));
}

#[tokio::test]
async fn a_batch_whose_replies_pass_the_limit_gets_one_clean_error() {
    let (addr, _server) = serve(config()).await;
    // Under the limit (10 000 bytes): every reply.
    let calls: Vec<Value> = (0..5)
        .map(|id| json!({"jsonrpc": "2.0", "id": id, "method": "big", "params": [1000]}))
        .collect();
    let (status, v) = post(addr, &Value::Array(calls).to_string()).await;
    assert_eq!(status, 200);
    assert_eq!(v.as_array().map(Vec::len), Some(5), "{v}");
    // Each reply is small, together they are over it.
    let calls: Vec<Value> = (0..40)
        .map(|id| json!({"jsonrpc": "2.0", "id": id, "method": "big", "params": [1000]}))
        .collect();
    let (status, text) = http(addr, "POST", "/", &Value::Array(calls).to_string(), true).await;
    assert_eq!(status, 200);
    assert!(text.len() < 1000, "no partial replies: {text}");
    let v: Value = serde_json::from_str(&text).expect("one JSON error");
    assert_eq!(v["error"]["code"], -32011, "{v}");
    assert_eq!(v["id"], Value::Null);
    // One reply over it alone, in a batch and on its own.
    let (_, v) = post(addr, r#"[{"id":1,"method":"big","params":[20000]}]"#).await;
    assert_eq!(v["error"]["code"], -32011, "{v}");
    let (status, v) = post(addr, r#"{"id":1,"method":"big","params":[20000]}"#).await;
    assert_eq!((status, v["error"]["code"].clone()), (500, json!(-32008)));
    assert_eq!(v["id"], 1);
    // The server answers normally afterwards.
    let (_, v) = post(addr, r#"{"id":1,"method":"big","params":[3]}"#).await;
    assert_eq!(v["result"], "xxx");
}

#[tokio::test]
async fn a_million_call_batch_is_refused_with_the_batch_limit_error() {
    let mut config = config();
    config.max_reply = 1 << 20;
    let (addr, _server) = serve(config).await;
    let body = format!("[{}{{}}]", "{},".repeat(999_999));
    let (status, v) = post(addr, &body).await;
    assert_eq!(status, 200);
    assert_eq!(v["error"]["code"], -32010, "{v}");
    assert_eq!(v["jsonrpc"], "2.0");
    // One call more than the limit is refused too, one fewer is answered.
    let batch = |n: usize| format!("[{}]", vec![r#"{"id":1,"method":"echo"}"#; n].join(","));
    let (_, v) = post(addr, &batch(1001)).await;
    assert_eq!(v["error"]["code"], -32010, "{v}");
    let (_, v) = post(addr, &batch(1000)).await;
    assert_eq!(v.as_array().map(Vec::len), Some(1000));
}

#[tokio::test]
async fn a_body_over_the_limit_is_not_read() {
    let mut config = config();
    config.max_body = 1000;
    let (addr, _server) = serve(config).await;
    let (status, _) = http(
        addr,
        "POST",
        "/",
        &format!("[{}1]", "1,".repeat(3000)),
        true,
    )
    .await;
    assert_eq!(status, 413);
    let (status, _) = http(addr, "POST", "/", r#"{"id":1,"method":"echo"}"#, true).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn credentials_endpoints_and_methods() {
    let (addr, _server) = serve(config()).await;
    let (status, _) = http(addr, "POST", "/", r#"{"id":1,"method":"echo"}"#, false).await;
    assert_eq!(status, 401);
    let (status, text) = http(addr, "GET", "/", "", true).await;
    assert_eq!(
        (status, text.as_str()),
        (405, "JSONRPC server handles only POST requests")
    );
    let whoami = |addr, path| http(addr, "POST", path, r#"{"id":1,"method":"whoami"}"#, true);
    let (status, text) = whoami(addr, "/wallet/a%20b").await;
    assert_eq!(status, 200);
    assert_eq!(text, r#"{"result":"a b","error":null,"id":1}"#);
    let (_, text) = whoami(addr, "/").await;
    assert_eq!(text, r#"{"result":null,"error":null,"id":1}"#);
    for path in ["/elsewhere", "/wallet/%zz"] {
        let (status, _) = whoami(addr, path).await;
        assert_eq!(status, 404, "{path}");
    }
    // A wallet call asked of a service without it points to the wallet service.
    for body in [
        r#"{"id":1,"method":"getnewaddress"}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":"getnewaddress"}"#,
    ] {
        let (_, v) = post(addr, body).await;
        assert_eq!(v["error"]["code"], -32601);
        let message = v["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains("dotcoin-wallet serve"), "{message}");
    }
    // One of Core's wallet calls the wallet service does not offer says so.
    let (_, v) = post(addr, r#"{"id":1,"method":"importmulti"}"#).await;
    assert_eq!(v["error"]["code"], -32601);
    let message = v["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("dotcoin-wallet serve") && message.contains("does not offer"),
        "{message}"
    );
    // Any path is served when the service has no wallet endpoints.
    let mut config = config();
    config.wallet_endpoints = false;
    let (addr, _server) = serve(config).await;
    let (_, text) = whoami(addr, "/wallet/x").await;
    assert_eq!(text, r#"{"result":null,"error":null,"id":1}"#);
}
