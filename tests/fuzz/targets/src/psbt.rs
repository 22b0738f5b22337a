//! The PSBT parser (`dotcoin_common::psbt`, what `decodepsbt`, `finalizepsbt` and
//! `dotcoin-wallet signpsbt` run on bytes they are given): any input is a PSBT or an
//! error, never a crash, and what parses survives the key-less roles.

use dotcoin_common::psbt::Psbt;
use dotcoin_common::psbt_rpc_types::{AnalyzePsbtResult, DecodePsbtResult};
use dotcoin_common::Network;

/// Fuzz target: `data` as a binary PSBT. One that parses must write and parse back to
/// the same value and bytes, and decode, analyze, combine and finalize without a panic.
pub fn psbt(data: &[u8]) {
    let p = match Psbt::deserialize(data) {
        Ok(p) => p,
        Err(e) => return drop(e.to_string()),
    };
    let bytes = p.serialize();
    let again = Psbt::deserialize(&bytes).expect("a written PSBT parses");
    assert_eq!(again, p, "PSBT changes through its encoding");
    assert_eq!(again.serialize(), bytes, "PSBT encoding is not stable");
    assert_eq!(
        Psbt::from_base64(&p.to_base64()).expect("base64 round trip"),
        p
    );
    drop(DecodePsbtResult::from_psbt(&p, Network::Regtest));
    drop(AnalyzePsbtResult::from_psbt(&p));
    let combined = Psbt::combine_all(&[p.clone(), p.clone()]).expect("same transaction");
    assert_eq!(combined, p, "combining a PSBT with itself changes it");
    let mut finalized = p;
    if finalized.finalize() {
        assert!(finalized.extract().is_some(), "a final PSBT extracts");
    }
}
