//! The build itself: `cargo build --bins` (make run, make devnet) and `cargo test` must
//! resolve every crate the programs use with the same features, or moving between them
//! rebuilds those crates, RocksDB's C++ among them (about 11 minutes of both cores). The
//! `common/workspace-hack` crate holds the union; this test notices when a dependency
//! change makes it drift.

use std::collections::{BTreeMap, BTreeSet};

/// `cargo tree` of the whole workspace over the edge kinds `edges`: each package (name and
/// version) with every feature set it is built with (a crate built for the host and for
/// the target may have two).
fn resolved(edges: &str) -> BTreeMap<String, BTreeSet<String>> {
    let tree = dotcoin_functional_tests::cargo_tree(&[
        "--workspace",
        "--prefix",
        "none",
        "-e",
        edges,
        "-f",
        "{p}|{f}",
    ]);
    let mut packages: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in tree.lines() {
        // `name vX (path)|features`, with ` (*)` after a package shown before.
        let line = line.trim_end().trim_end_matches("(*)").trim_end();
        let Some((package, features)) = line.split_once('|') else {
            continue;
        };
        let mut words = package.split_whitespace();
        let id = format!(
            "{} {}",
            words.next().unwrap_or_default(),
            words.next().unwrap_or_default()
        );
        packages
            .entry(id)
            .or_default()
            .insert(features.trim().to_owned());
    }
    packages
}

#[test]
fn programs_and_tests_build_shared_crates_with_the_same_features() {
    let programs = resolved("normal,build");
    let with_tests = resolved("normal,build,dev");
    assert!(
        programs.keys().any(|p| p.starts_with("librocksdb-sys ")),
        "the tree was read: {programs:?}"
    );
    let drift: Vec<String> = programs
        .iter()
        .filter_map(|(package, features)| {
            let tested = with_tests.get(package)?;
            // A feature set only the tests have is a copy only they build (a dev
            // dependency's build script or macro wants the crate for the host); what must
            // not happen is a copy the programs build resolving otherwise.
            (!features.is_subset(tested))
                .then(|| format!("{package}: programs {features:?}, with the tests {tested:?}"))
        })
        .collect();
    assert!(
        drift.is_empty(),
        "crates resolved differently with the tests' dev-dependencies; add the union of \
         their features to common/workspace-hack/Cargo.toml:\n{}",
        drift.join("\n")
    );
}
