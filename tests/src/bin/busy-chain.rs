//! The busy benchmark chain's generator and loader (driven by `contrib/bench/sync.sh`).
//!
//! ```text
//! busy-chain generate <file> [spend-blocks] [inputs-per-block]   write the blocks, print stats
//! busy-chain submit <file> <rpc-port> <cookie-file>              hand them to a node
//! ```

use std::io::{BufReader, BufWriter, Write};
use std::process::ExitCode;

use base64::Engine;
use dotcoin_common::encode::serialize;
use dotcoin_functional_tests::busy_chain::{self, BusyChainSpec};
use dotcoin_functional_tests::http_request;
use serde_json::{json, Value};

/// Blocks per `submitblock` batch: a few MB of hex per request.
const SUBMIT_BATCH: usize = 50;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["generate", file, rest @ ..] if rest.len() <= 2 => {
            let number = |i: usize, default: u64| -> Result<u64, String> {
                rest.get(i)
                    .map_or(Ok(default), |s| s.parse().map_err(|e| format!("{s}: {e}")))
            };
            number(0, 2000).and_then(|blocks| {
                let inputs = number(1, 160)?;
                generate(file, blocks, inputs)
            })
        }
        ["submit", file, port, cookie] => port
            .parse()
            .map_err(|e| format!("rpc port {port}: {e}"))
            .and_then(|port| submit(file, port, cookie)),
        _ => Err(
            "usage: busy-chain generate <file> [spend-blocks] [inputs-per-block] | \
                  busy-chain submit <file> <rpc-port> <cookie-file>"
                .into(),
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // A program's own error report, not library logging.
            let _ = writeln!(std::io::stderr(), "busy-chain: {e}");
            ExitCode::FAILURE
        }
    }
}

fn generate(file: &str, spend_blocks: u64, inputs_per_block: u64) -> Result<(), String> {
    let spend_blocks = u32::try_from(spend_blocks).map_err(|e| e.to_string())?;
    if inputs_per_block > 4000 {
        return Err("at most 4000 inputs per block fit in 1 MB".into());
    }
    let tmp = format!("{file}.tmp");
    let mut out = BufWriter::new(std::fs::File::create(&tmp).map_err(|e| format!("{tmp}: {e}"))?);
    let mut error = None;
    let stats = busy_chain::generate(
        BusyChainSpec {
            spend_blocks,
            inputs_per_block: inputs_per_block as usize,
        },
        |block| {
            if error.is_none() {
                error = busy_chain::write_block(&mut out, block).err();
            }
        },
    );
    if let Some(e) = error {
        return Err(format!("{tmp}: {e}"));
    }
    out.flush().map_err(|e| format!("{tmp}: {e}"))?;
    drop(out);
    // Renamed only when complete: a cached file is never a partial chain.
    std::fs::rename(&tmp, file).map_err(|e| format!("{file}: {e}"))?;
    let line = json!({
        "blocks": stats.blocks,
        "transactions": stats.transactions,
        "inputs": stats.inputs,
        "bytes": stats.bytes,
    });
    writeln!(std::io::stdout(), "{line}").map_err(|e| e.to_string())
}

fn submit(file: &str, port: u16, cookie: &str) -> Result<(), String> {
    let cookie = std::fs::read_to_string(cookie).map_err(|e| format!("{cookie}: {e}"))?;
    let auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(cookie.trim())
    );
    let mut input = BufReader::new(std::fs::File::open(file).map_err(|e| format!("{file}: {e}"))?);
    let mut batch = Vec::new();
    let mut submitted = 0usize;
    loop {
        let block = busy_chain::read_block(&mut input).map_err(|e| format!("{file}: {e}"))?;
        if let Some(b) = &block {
            batch.push(json!({
                "jsonrpc": "2.0",
                "id": batch.len(),
                "method": "submitblock",
                "params": [hex::encode(serialize(b))],
            }));
        }
        if batch.len() == SUBMIT_BATCH || (block.is_none() && !batch.is_empty()) {
            let (status, text) = http_request(
                port,
                "POST",
                "/",
                &Value::Array(std::mem::take(&mut batch)).to_string(),
                Some(&auth),
            );
            if status != 200 {
                return Err(format!("submitblock batch: HTTP {status}: {text}"));
            }
            let replies: Vec<Value> = serde_json::from_str(&text).map_err(|e| e.to_string())?;
            // Core's submitblock answers null for an accepted block, else the reason.
            if let Some(bad) = replies
                .iter()
                .find(|r| !r["result"].is_null() || !r["error"].is_null())
            {
                return Err(format!("block refused after {submitted}: {bad}"));
            }
            submitted += replies.len();
        }
        if block.is_none() {
            return Ok(());
        }
    }
}
