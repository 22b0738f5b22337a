//! The client and the whole command line against a tiny HTTP server in the test: what goes
//! over the wire (Basic auth, the JSON-RPC 1.0 request) and how each kind of answer comes
//! out (result, error object, 401, nothing listening, no answer in time).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use dotcoin_cli::auth::basic_auth_header;
use dotcoin_cli::{run_command_line, ConnectOptions, RpcClient, RpcError};
use dotcoin_common::params::Network;
use dotcoin_common::rpc_types::AddressUtxo;
use dotcoin_common::Txid;
use serde_json::{json, Value};

/// One request as the server saw it.
#[derive(Debug)]
struct Seen {
    request_line: String,
    /// Header names lower-cased.
    headers: Vec<(String, String)>,
    body: Value,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A server on 127.0.0.1:0 that answers each request with what `answer` returns (`None`:
/// never answer, keep the connection open). It runs until the test process ends.
struct TestServer {
    addr: SocketAddr,
    seen: mpsc::Receiver<Seen>,
}

impl TestServer {
    fn start(answer: impl Fn(&Seen) -> Option<String> + Send + 'static) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, seen) = mpsc::channel();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let Some(request) = read_request(&stream) else {
                    continue;
                };
                match answer(&request) {
                    Some(response) => {
                        let _ = stream.write_all(response.as_bytes());
                    }
                    None => held.push(stream),
                }
                let _ = tx.send(request);
            }
        });
        TestServer { addr, seen }
    }

    /// Answers every request with the same response.
    fn always(response: String) -> TestServer {
        TestServer::start(move |_| Some(response.clone()))
    }

    fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The next request the server saw (it has been answered by the time a call returns).
    fn next(&self) -> Seen {
        self.seen
            .recv_timeout(Duration::from_secs(10))
            .expect("the server saw a request")
    }
}

fn read_request(stream: &TcpStream) -> Option<Seen> {
    let mut reader = BufReader::new(stream);
    let mut request_line = String::new();
    reader.read_line(&mut request_line).ok()?;
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':')?;
        headers.push((name.to_ascii_lowercase(), value.trim().to_owned()));
    }
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Seen {
        request_line: request_line.trim_end().to_owned(),
        headers,
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    })
}

fn http(status: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    )
}

/// A JSON-RPC 2.0 success, as jsonrpsee answers.
fn ok(result: Value) -> String {
    http(
        "200 OK",
        &json!({"jsonrpc": "2.0", "result": result, "id": "dotcoin-cli"}).to_string(),
    )
}

/// A JSON-RPC 1.0 error, as Bitcoin Core answers (HTTP 500, both fields present).
fn rpc_error(code: i64, message: &str) -> String {
    http(
        "500 Internal Server Error",
        &json!({"result": null, "error": {"code": code, "message": message}, "id": "dotcoin-cli"})
            .to_string(),
    )
}

fn unauthorized() -> String {
    "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"jsonrpc\"\r\n\
     Content-Length: 0\r\nConnection: close\r\n\r\n"
        .to_owned()
}

fn options(port: u16) -> ConnectOptions {
    let mut opts = ConnectOptions::new(Network::Regtest);
    opts.rpcport = Some(port);
    opts.rpcuser = Some("alice".into());
    opts.rpcpassword = Some("secret".into());
    opts
}

/// A port with nothing listening: bound, then released.
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn cli(argv: &[&str], stdin: &str) -> dotcoin_cli::Output {
    run_command_line(argv.iter().copied(), stdin.as_bytes())
}

#[test]
fn sends_a_1_0_request_with_basic_auth() {
    let server = TestServer::always(ok(json!("00ab")));
    let client = RpcClient::new(&options(server.port())).unwrap();
    let result = rt()
        .block_on(client.call("getblockhash", json!([0])))
        .unwrap();
    assert_eq!(result, json!("00ab"));

    let seen = server.next();
    assert_eq!(seen.request_line, "POST / HTTP/1.1");
    assert_eq!(
        seen.header("authorization"),
        Some("Basic YWxpY2U6c2VjcmV0") // base64("alice:secret")
    );
    assert_eq!(seen.header("content-type"), Some("application/json"));
    assert_eq!(
        seen.body,
        json!({"jsonrpc": "1.0", "id": "dotcoin-cli", "method": "getblockhash", "params": [0]})
    );
}

#[test]
fn uses_the_cookie_in_the_network_datadir() {
    let server = TestServer::always(ok(json!(7)));
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("regtest")).unwrap();
    std::fs::write(dir.path().join("regtest/.cookie"), "__cookie__:c0ffee").unwrap();
    let mut opts = ConnectOptions::new(Network::Regtest);
    opts.rpcport = Some(server.port());
    opts.datadir = Some(dir.path().to_path_buf());

    let client = RpcClient::new(&opts).unwrap();
    let count: u64 = rt()
        .block_on(client.call_typed("getblockcount", Value::Null))
        .unwrap();
    assert_eq!(count, 7);
    let seen = server.next();
    let expected = basic_auth_header("__cookie__", "c0ffee");
    assert_eq!(seen.header("authorization"), Some(expected.as_str()));
    // `null` params go out as an empty array.
    assert_eq!(seen.body["params"], json!([]));
}

#[test]
fn an_error_object_is_an_rpc_error() {
    let server = TestServer::always(rpc_error(-8, "Block height out of range"));
    let client = RpcClient::new(&options(server.port())).unwrap();
    let err = rt()
        .block_on(client.call("getblockhash", json!([99])))
        .unwrap_err();
    assert!(
        matches!(&err, RpcError::Rpc { code: -8, message } if message == "Block height out of range"),
        "{err:?}"
    );

    // The 2.0 shape, on HTTP 200, as jsonrpsee sends it.
    let server = TestServer::always(http(
        "200 OK",
        r#"{"jsonrpc":"2.0","error":{"code":-32601,"message":"Method not found"},"id":"x"}"#,
    ));
    let client = RpcClient::new(&options(server.port())).unwrap();
    let err = rt().block_on(client.call("nosuch", json!([]))).unwrap_err();
    assert!(matches!(err, RpcError::Rpc { code: -32601, .. }), "{err:?}");
}

#[test]
fn http_401_is_unauthorized() {
    let server = TestServer::always(unauthorized());
    let client = RpcClient::new(&options(server.port())).unwrap();
    let err = rt()
        .block_on(client.call("getblockcount", json!([])))
        .unwrap_err();
    assert!(matches!(err, RpcError::Unauthorized), "{err:?}");
}

#[test]
fn a_typed_result_of_the_wrong_type_is_a_decode_error_naming_the_method() {
    let server = TestServer::always(ok(json!("not a number")));
    let client = RpcClient::new(&options(server.port())).unwrap();
    let err = rt()
        .block_on(client.call_typed::<u64>("getblockcount", json!([])))
        .unwrap_err();
    assert!(
        matches!(&err, RpcError::Decode { method, .. } if method == "getblockcount"),
        "{err:?}"
    );
    // The typed method says the same.
    let err = rt().block_on(client.getblockcount()).unwrap_err();
    assert!(
        matches!(&err, RpcError::Decode { method, .. } if method == "getblockcount"),
        "{err:?}"
    );
}

#[test]
fn typed_methods_send_core_params_and_decode_the_shared_types() {
    let txid: Txid = "00000000000000000000000000000000000000000000000000000000000000ab"
        .parse()
        .unwrap();
    let utxo = AddressUtxo {
        address: "dcrt1pexample".into(),
        txid,
        output_index: 1,
        satoshis: 5_000_000_000,
        height: 3,
        confirmations: 99,
        coinbase: true,
        immature: true,
        spent_in_mempool: false,
    };
    let server = TestServer::always(ok(serde_json::to_value(vec![utxo.clone()]).unwrap()));
    let client = RpcClient::new(&options(server.port())).unwrap();
    let got = rt()
        .block_on(client.getaddressutxos(&["dcrt1pexample".to_owned()]))
        .unwrap();
    assert_eq!(got, vec![utxo]);
    let seen = server.next();
    assert_eq!(seen.body["method"], "getaddressutxos");
    assert_eq!(
        seen.body["params"],
        json!([{ "addresses": ["dcrt1pexample"] }])
    );

    // gettxout answers null for a spent output: None, not an error.
    let server = TestServer::always(ok(Value::Null));
    let client = RpcClient::new(&options(server.port())).unwrap();
    assert_eq!(
        rt().block_on(client.gettxout(&txid, 0, true)).unwrap(),
        None
    );
    assert_eq!(
        server.next().body["params"],
        json!([txid.to_string(), 0, true])
    );

    let server = TestServer::always(ok(json!(txid.to_string())));
    let client = RpcClient::new(&options(server.port())).unwrap();
    assert_eq!(
        rt().block_on(client.sendrawtransaction("0100")).unwrap(),
        txid
    );
    assert_eq!(server.next().body["params"], json!(["0100"]));
}

#[test]
fn nothing_listening_is_a_connect_error_naming_the_address() {
    let port = closed_port();
    let client = RpcClient::new(&options(port)).unwrap();
    let err = rt()
        .block_on(client.call("getblockcount", json!([])))
        .unwrap_err();
    match &err {
        RpcError::Connect(message) => {
            assert!(message.contains(&format!("127.0.0.1:{port}")), "{message}");
            assert!(message.contains("dotcoind running"), "{message}");
        }
        other => panic!("expected Connect, got {other:?}"),
    }
}

#[test]
fn a_silent_server_times_out() {
    let server = TestServer::start(|_| None);
    let mut opts = options(server.port());
    opts.timeout = Duration::from_millis(200);
    let client = RpcClient::new(&opts).unwrap();
    let err = rt()
        .block_on(client.call("getblockcount", json!([])))
        .unwrap_err();
    assert!(matches!(err, RpcError::Timeout { .. }), "{err:?}");
}

#[test]
fn rpcwait_retries_while_warming_up() {
    let calls = std::sync::atomic::AtomicUsize::new(0);
    let server = TestServer::start(move |_| {
        Some(
            match calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) {
                0 | 1 => rpc_error(-28, "Loading block index..."),
                _ => ok(json!(0)),
            },
        )
    });
    let mut opts = options(server.port());
    opts.rpcwait = true;
    let client = RpcClient::new(&opts).unwrap();
    let result = rt()
        .block_on(client.call("getblockcount", json!([])))
        .unwrap();
    assert_eq!(result, json!(0));
    for _ in 0..3 {
        server.next();
    }
}

#[test]
fn rpcwait_gives_up_after_its_bound() {
    let mut opts = options(closed_port());
    opts.rpcwait = true;
    opts.rpcwait_timeout = Duration::from_millis(200);
    let client = RpcClient::new(&opts).unwrap();
    let err = rt()
        .block_on(client.call("getblockcount", json!([])))
        .unwrap_err();
    assert!(matches!(err, RpcError::Connect(_)), "{err:?}");
}

#[test]
fn rpcwait_does_not_retry_a_real_error() {
    let server = TestServer::always(rpc_error(-8, "bad"));
    let mut opts = options(server.port());
    opts.rpcwait = true;
    let client = RpcClient::new(&opts).unwrap();
    let err = rt()
        .block_on(client.call("getblockhash", json!([9])))
        .unwrap_err();
    assert!(matches!(err, RpcError::Rpc { code: -8, .. }), "{err:?}");
    server.next();
    assert!(server.seen.try_recv().is_err(), "asked only once");
}

// ---- the command line, end to end --------------------------------------------------------

fn port_arg(server: &TestServer) -> String {
    format!("-rpcport={}", server.port())
}

#[test]
fn cli_prints_a_bare_string_and_sends_json_arguments() {
    let server = TestServer::always(ok(json!("00ab")));
    let port = port_arg(&server);
    let out = cli(
        &[
            "-regtest",
            &port,
            "-rpcuser=alice",
            "-rpcpassword=secret",
            "getblockhash",
            "0",
        ],
        "",
    );
    assert_eq!(
        (out.stdout.as_str(), out.stderr.as_str(), out.exit_code),
        ("00ab\n", "", 0)
    );
    assert_eq!(server.next().body["params"], json!([0]));
}

#[test]
fn cli_prints_objects_as_pretty_json() {
    let hash = "00ab4f0c6e3d1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f70819200";
    let server = TestServer::always(ok(json!({"hash": hash, "height": 0})));
    let port = port_arg(&server);
    let out = cli(
        &[
            "--rpcport",
            &port[9..],
            "--rpcpassword",
            "pw",
            "getblock",
            hash,
            "2",
        ],
        "",
    );
    assert_eq!(
        out.stdout,
        format!("{{\n  \"hash\": \"{hash}\",\n  \"height\": 0\n}}\n")
    );
    assert_eq!(out.exit_code, 0);
    assert_eq!(server.next().body["params"], json!([hash, 2]));
}

#[test]
fn cli_named_arguments_from_stdin() {
    let server = TestServer::always(ok(Value::Null));
    let port = port_arg(&server);
    let out = cli(
        &[&port, "-rpcpassword=pw", "-named", "-stdin", "getblock"],
        "blockhash=00ab\nverbosity=1\n",
    );
    // A null result prints nothing.
    assert_eq!((out.stdout.as_str(), out.exit_code), ("", 0));
    let seen = server.next();
    assert_eq!(seen.body["method"], "getblock");
    assert_eq!(
        seen.body["params"],
        json!({"blockhash": "00ab", "verbosity": 1})
    );
}

#[test]
fn cli_prints_node_errors_like_bitcoin_cli() {
    let server = TestServer::always(rpc_error(-8, "Block height out of range"));
    let port = port_arg(&server);
    let out = cli(&[&port, "-rpcpassword=pw", "getblockhash", "99"], "");
    assert_eq!(out.stdout, "");
    assert_eq!(
        out.stderr,
        "error code: -8\nerror message:\nBlock height out of range\n"
    );
    assert_eq!(out.exit_code, 8);
}

#[test]
fn cli_reports_auth_and_connection_failures() {
    let server = TestServer::always(unauthorized());
    let port = port_arg(&server);
    let out = cli(&[&port, "-rpcpassword=wrong", "getblockcount"], "");
    assert_eq!(
        out.stderr,
        "error: Authorization failed: Incorrect rpcuser or rpcpassword\n"
    );
    assert_eq!(out.exit_code, 1);

    let port = format!("-rpcport={}", closed_port());
    let out = cli(&[&port, "-rpcpassword=pw", "getblockcount"], "");
    assert!(
        out.stderr.starts_with("error: Could not connect"),
        "{}",
        out.stderr
    );
    assert_eq!(out.exit_code, 1);

    let dir = tempfile::tempdir().unwrap();
    let datadir = format!("-datadir={}", dir.path().display());
    let out = cli(&["-regtest", &datadir, "getblockcount"], "");
    let cookie = dir.path().join("regtest").join(".cookie");
    assert!(
        out.stderr
            .starts_with("error: could not read the RPC cookie")
            && out.stderr.contains(&cookie.display().to_string()),
        "{}",
        out.stderr
    );
    assert_eq!(out.exit_code, 1);
}

#[test]
fn cli_bad_arguments_fail_before_connecting() {
    let out = cli(&["-rpcpassword=pw", "-named", "getblock", "nokey"], "");
    assert_eq!(
        out.stderr,
        "error: named argument 'nokey' is not key=value\n"
    );
    assert_eq!(out.exit_code, 1);
    let out = cli(&["-bogus", "getblockcount"], "");
    assert_eq!(out.stderr, "error: Invalid parameter -bogus\n");
    assert_eq!(out.exit_code, 1);
    let out = cli(&[], "");
    assert_eq!(out.exit_code, 1);
}

#[test]
fn cli_getinfo_combines_and_tolerates_a_missing_method() {
    let server = TestServer::start(|seen| {
        Some(match seen.body["method"].as_str() {
            Some("getblockchaininfo") => ok(json!({"chain": "regtest", "blocks": 3})),
            Some("getnetworkinfo") => ok(json!({"version": 100, "connections": 0})),
            _ => http(
                "404 Not Found",
                r#"{"result":null,"error":{"code":-32601,"message":"Method not found"},"id":1}"#,
            ),
        })
    });
    let port = port_arg(&server);
    let out = cli(&["-regtest", &port, "-rpcpassword=pw", "-getinfo"], "");
    assert_eq!(out.exit_code, 0, "{}", out.stderr);
    // Core's human-readable summary; what the node did not report is left out.
    assert_eq!(
        out.stdout,
        "Chain: regtest\nBlocks: 3\n\nNetwork: total 0\nVersion: 100\n\nWarnings: (none)\n"
    );
}

#[test]
fn cli_help_and_version() {
    let out = cli(&["--help"], "");
    assert!(out.stdout.contains("-rpcport"), "{}", out.stdout);
    assert_eq!(out.exit_code, 0);
    let out = cli(&["-version"], "");
    assert!(
        out.stdout.starts_with("dotcoin-cli version "),
        "{}",
        out.stdout
    );
}

// ---- the real binary -----------------------------------------------------------------------

#[test]
fn the_binary_prints_and_exits_like_bitcoin_cli() {
    let server = TestServer::start(|seen| {
        Some(match seen.body["method"].as_str() {
            Some("getblockcount") => ok(json!(3)),
            _ => rpc_error(-32601, "Method not found"),
        })
    });
    let port = port_arg(&server);
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_dotcoin-cli"))
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };

    let out = run(&["-regtest", &port, "-rpcpassword=pw", "getblockcount"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "3\n");
    assert_eq!(out.status.code(), Some(0));

    let out = run(&["-regtest", &port, "-rpcpassword=pw", "nosuch"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error code: -32601\nerror message:\nMethod not found\n"
    );
    // |-32601| = 32601, of which the OS keeps the low byte: 89.
    assert_eq!(out.status.code(), Some(89));
}
