//! Replays the committed corpus (`tests/fuzz/corpus/<target>/*`) through the targets on
//! stable, so `cargo test --workspace` catches a regression on any input the fuzzer ever
//! kept, and checks that the seeds, the targets and the fuzz crate agree.

use std::collections::BTreeSet;
use std::fs;
use std::future::Future as _;
use std::panic::catch_unwind;
use std::path::{Path, PathBuf};

use dotcoin_common::{deserialize, Block, Network, Transaction};
use dotcoin_fuzz_targets::seeds::{self, Seed};
use dotcoin_fuzz_targets::wire::{magic, COMMANDS};
use dotcoin_fuzz_targets::TARGETS;
use dotcoind::net::codec::{read_frame, MAX_HANDSHAKE_PAYLOAD};
use dotcoind::net::message::Message;

/// `tests/fuzz`. The crate's folder comes from the environment `cargo test` sets, not from
/// `env!`: a cached target directory may have been built by a clone at another path.
fn fuzz_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
        .parent()
        .expect("the targets crate lives in tests/fuzz")
        .to_path_buf()
}

fn corpus_dir(target: &str) -> PathBuf {
    fuzz_dir().join("corpus").join(target)
}

#[test]
fn corpus_replays_without_a_crash() {
    let mut crashes = Vec::new();
    for (name, target) in TARGETS {
        let dir = corpus_dir(name);
        let entries = fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("no corpus for target {name} at {}: {e}", dir.display()));
        let mut replayed = 0;
        for entry in entries {
            let path = entry.expect("readable corpus directory").path();
            let bytes = fs::read(&path)
                .unwrap_or_else(|e| panic!("cannot read corpus file {}: {e}", path.display()));
            if catch_unwind(|| target(&bytes)).is_err() {
                crashes.push(path.display().to_string());
            }
            replayed += 1;
        }
        assert!(
            replayed > 0,
            "the corpus of {name} ({}) is empty",
            dir.display()
        );
    }
    assert!(crashes.is_empty(), "corpus inputs that crash: {crashes:#?}");
}

/// The file names of `dir` that end in `.rs`, without it.
fn rust_files(dir: &Path) -> BTreeSet<String> {
    fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .filter_map(|e| {
            let name = e.expect("readable directory").file_name();
            name.to_str()?.strip_suffix(".rs").map(str::to_owned)
        })
        .collect()
}

#[test]
fn every_target_has_an_entry_point_and_a_bin() {
    let listed: BTreeSet<String> = TARGETS.iter().map(|(n, _)| n.to_string()).collect();
    assert_eq!(rust_files(&fuzz_dir().join("fuzz_targets")), listed);
    let manifest = fs::read_to_string(fuzz_dir().join("Cargo.toml")).expect("fuzz Cargo.toml");
    for name in &listed {
        assert!(
            manifest.contains(&format!(
                "name = \"{name}\"\npath = \"fuzz_targets/{name}.rs\""
            )),
            "tests/fuzz/Cargo.toml has no [[bin]] for {name}"
        );
        let entry = fs::read_to_string(fuzz_dir().join(format!("fuzz_targets/{name}.rs")))
            .expect("entry point");
        assert!(
            entry.contains(&format!("dotcoin_fuzz_targets::{name}(data)")),
            "fuzz_targets/{name}.rs does not call its function"
        );
    }
}

/// Whether a seed gets past its target's decoder: a seed that fails to decode would only
/// test the error path and start the fuzzer from nothing.
fn decodes(seed: &Seed) -> bool {
    let b = seed.bytes.as_slice();
    match seed.target {
        "block" => deserialize::<Block>(b).is_ok(),
        "transaction" => deserialize::<Transaction>(b).is_ok(),
        "headers" => matches!(Message::decode("headers", b), Ok(Some(_))),
        "getheaders" => matches!(Message::decode("getheaders", b), Ok(Some(_))),
        "message" => {
            let command = COMMANDS[usize::from(b[0]) % COMMANDS.len()];
            Message::decode(command, &b[1..]).is_ok()
        }
        "frame" => {
            let mut r = b;
            let frame = std::pin::pin!(read_frame(&mut r, magic(), MAX_HANDSHAKE_PAYLOAD));
            let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
            // The other network's frame is the one seed that must be refused.
            matches!(frame.poll(&mut cx), std::task::Poll::Ready(Ok(_)))
                != (seed.name == "other-network")
        }
        "rpc_params" | "cli_args" => std::str::from_utf8(b).is_ok(),
        "wallet_file" => Network::ALL
            .into_iter()
            .any(|n| dotcoin_wallet::persist::decode(b, n).is_ok()),
        "psbt" => dotcoin_common::psbt::Psbt::deserialize(b).is_ok(),
        other => panic!("seed for unknown target {other}"),
    }
}

#[test]
fn seeds_decode_and_pass_their_targets() {
    let seeds = seeds::all();
    for (name, target) in TARGETS {
        let mine: Vec<&Seed> = seeds.iter().filter(|s| s.target == *name).collect();
        assert!(!mine.is_empty(), "no seeds for {name}");
        for seed in mine {
            assert!(decodes(seed), "seed {name}/{} does not decode", seed.name);
            target(&seed.bytes);
        }
    }
}

/// Writes the seeds to the corpus (as `seed-<name>`, next to what the fuzzer found).
#[test]
#[ignore = "writes tests/fuzz/corpus; run by hand when the seeds change"]
fn write_seed_corpus() {
    for seed in seeds::all() {
        let dir = corpus_dir(seed.target);
        fs::create_dir_all(&dir).expect("corpus directory");
        fs::write(dir.join(format!("seed-{}", seed.name)), &seed.bytes).expect("seed written");
    }
}

/// The seeds get past the checks after the decoders, not only the decoders: otherwise the
/// fuzzer would rarely see the code behind them.
#[test]
fn seeds_reach_past_the_checks() {
    use dotcoin_common::consensus::block::check_block;
    use dotcoin_common::consensus::tx::check_signatures;
    use dotcoin_fuzz_targets::chain::{check_headers, serve_getheaders, spent_outputs};

    let seeds = seeds::all();
    let seed = |target: &str, name: &str| {
        seeds
            .iter()
            .find(|s| s.target == target && s.name == name)
            .unwrap_or_else(|| panic!("no seed {target}/{name}"))
            .bytes
            .clone()
    };
    let headers = |name: &str| match Message::decode("headers", &seed("headers", name)) {
        Ok(Some(Message::Headers(h))) => h,
        other => panic!("headers seed {name}: {other:?}"),
    };
    assert_eq!(check_headers(&headers("headers-extend-tip")), 4);
    assert_eq!(check_headers(&headers("headers-active")), 0, "all known");
    let getheaders = |name: &str| match Message::decode("getheaders", &seed("getheaders", name)) {
        Ok(Some(Message::GetHeaders(g))) => serve_getheaders(&g).len(),
        other => panic!("getheaders seed {name}: {other:?}"),
    };
    assert_eq!(
        getheaders("getheaders-from-tip"),
        0,
        "nothing after the tip"
    );
    assert_eq!(getheaders("getheaders-from-fork"), 20, "heights 21 to 40");
    assert_eq!(getheaders("getheaders-with-stop"), 5, "heights 11 to 15");
    assert_eq!(getheaders("getheaders-unknown"), 40, "all after genesis");

    for name in ["spend", "two-inputs"] {
        let tx: Transaction = deserialize(&seed("transaction", name)).expect("decodes");
        assert_eq!(check_signatures(&tx, &spent_outputs(&tx)), Ok(()), "{name}");
    }
    let block: Block = deserialize(&seed("block", "mined-regtest")).expect("decodes");
    assert_eq!(check_block(&block, Network::Regtest.params()), Ok(()));

    let mut wallet =
        dotcoin_wallet::persist::decode(&seed("wallet_file", "encrypted"), Network::Regtest)
            .expect("opens");
    wallet
        .unlock(dotcoin_fuzz_targets::wallet::PASSPHRASE)
        .expect("the seed passphrase unlocks");
}
