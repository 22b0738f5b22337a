//! The descriptor RPCs of the wallet service, with Bitcoin Core's parameter names,
//! result fields and error texts: `getdescriptorinfo` and `deriveaddresses`. Neither
//! touches a wallet: they parse and derive ([`crate::descriptor`]).

use dotcoin_common::wallet_rpc_types::GetDescriptorInfoResult;
use dotcoin_common::Network;
use serde_json::Value;

use super::params::{Code, RpcFailure, RpcResult};
use crate::descriptor::{self, Descriptor, MAX_RANGE};

/// `getdescriptorinfo`: the public form with its checksum, the checksum of the text as
/// given, and whether it is ranged, solvable and holds private keys.
pub fn getdescriptorinfo(network: Network, text: &str) -> RpcResult<GetDescriptorInfoResult> {
    let desc = Descriptor::parse(text, network)?;
    let body = text.split('#').next().unwrap_or_default();
    Ok(GetDescriptorInfoResult {
        descriptor: desc.to_public_string(),
        checksum: descriptor::checksum(body).expect("parsed, so in the character set"),
        isrange: desc.is_range(),
        issolvable: true,
        hasprivatekeys: desc.has_private_keys(),
    })
}

/// A range parameter: `end` (from 0) or `[begin, end]`, both inclusive, Core's checks.
pub fn parse_range(value: &Value) -> RpcResult<(u32, u32)> {
    let bound = |v: &Value| -> RpcResult<u32> {
        let n = v.as_i64().ok_or_else(|| {
            RpcFailure::new(
                Code::InvalidParameter,
                "Range must be specified as end or as [begin,end]",
            )
        })?;
        if n < 0 {
            return Err(RpcFailure::new(
                Code::InvalidParameter,
                "Range should be greater or equal than 0",
            ));
        }
        u32::try_from(n)
            .ok()
            .filter(|n| *n < 0x8000_0000)
            .ok_or_else(|| RpcFailure::new(Code::InvalidParameter, "Range end is too high"))
    };
    let (begin, end) = match value {
        Value::Array(a) if a.len() == 2 => (bound(&a[0])?, bound(&a[1])?),
        Value::Number(_) => (0, bound(value)?),
        _ => {
            return Err(RpcFailure::new(
                Code::InvalidParameter,
                "Range must be specified as end or as [begin,end]",
            ))
        }
    };
    if begin > end {
        return Err(RpcFailure::new(
            Code::InvalidParameter,
            "Range specified as [begin,end] must not have begin after end",
        ));
    }
    if end - begin >= MAX_RANGE {
        return Err(RpcFailure::new(
            Code::InvalidParameter,
            "Range is too large",
        ));
    }
    Ok((begin, end))
}

/// `deriveaddresses`: the addresses of a descriptor, over `range` when it is ranged.
pub fn deriveaddresses(
    network: Network,
    text: &str,
    range: Option<Value>,
) -> RpcResult<Vec<String>> {
    let desc = Descriptor::parse(text, network)?;
    let range = range.filter(|r| !r.is_null());
    let (begin, end) = match (desc.is_range(), range) {
        (true, None) => {
            return Err(RpcFailure::new(
                Code::InvalidParameter,
                "Range must be specified for a ranged descriptor",
            ))
        }
        (false, Some(_)) => {
            return Err(RpcFailure::new(
                Code::InvalidParameter,
                "Range should not be specified for an un-ranged descriptor",
            ))
        }
        (true, Some(r)) => parse_range(&r)?,
        (false, None) => (0, 0),
    };
    Ok(desc
        .addresses(begin, end)?
        .into_iter()
        .map(|a| a.to_string())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn info_and_derivation_answer_as_core() {
        let xprv = bitcoin::bip32::Xpriv::new_master(bitcoin::NetworkKind::Test, &[1u8; 32])
            .expect("master");
        let text = format!("tr({xprv}/86'/1'/0'/0/*)");
        let info = getdescriptorinfo(Network::Regtest, &text).expect("info");
        assert!(info.isrange && info.issolvable && info.hasprivatekeys);
        assert_eq!(info.checksum, descriptor::checksum(&text).expect("sum"));
        assert!(
            info.descriptor.starts_with("tr(tpub"),
            "{}",
            info.descriptor
        );
        // Hardened steps below an xprv: the public form cannot derive them, so it is
        // refused when given back (as Core refuses it).
        assert!(getdescriptorinfo(Network::Regtest, &info.descriptor).is_err());
        let from_private =
            deriveaddresses(Network::Regtest, &text, Some(json!([0, 2]))).expect("derive");
        assert_eq!(from_private.len(), 3);
        assert!(from_private.iter().all(|a| a.starts_with("dcrt1p")));
        assert_eq!(
            deriveaddresses(Network::Regtest, &text, Some(json!(2))).expect("derive"),
            from_private
        );
        let e = |r: Option<Value>| {
            deriveaddresses(Network::Regtest, &text, r)
                .expect_err("bad")
                .message
        };
        assert_eq!(e(None), "Range must be specified for a ranged descriptor");
        assert_eq!(
            e(Some(json!([3, 1]))),
            "Range specified as [begin,end] must not have begin after end"
        );
        assert_eq!(
            e(Some(json!(-1))),
            "Range should be greater or equal than 0"
        );
        assert_eq!(e(Some(json!([0, 1_000_000]))), "Range is too large");
        let single = "rawtr(a34b99f22c790c4e36b2b3c2c35a36db06226e41c692fc82b8b56ac1c540c5bd)";
        assert_eq!(
            deriveaddresses(Network::Regtest, single, Some(json!(1)))
                .expect_err("unranged")
                .message,
            "Range should not be specified for an un-ranged descriptor"
        );
        let err =
            getdescriptorinfo(Network::Regtest, &format!("{single}#aaaaaaaa")).expect_err("sum");
        assert_eq!(err.code, Code::InvalidAddressOrKey as i32);
    }
}
